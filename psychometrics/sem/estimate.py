"""Estimation: the ML objective, the optimiser, and the fitting pipeline.

* :class:`MLObjective` is lavaan's normal-theory ML discrepancy (``likelihood = "normal"``,
  N in the denominator of S): ``F = sum_g (N_g/N) F_g`` with
  ``F_g = 0.5 (log|Sigma| + tr(S Sigma^-1) - log|S| - p + (ybar - mu)' Sigma^-1 (ybar - mu))``;
  ``chisq = 2 N F`` (lavaan's ``fmin`` and ``test="standard"``).
* :func:`expected_information` is lavaan's expected (structured) information per case:
  ``I = sum_g (N_g/N) Delta_g' W_g Delta_g`` with ``W_g = blockdiag(Sigma^-1,
  0.5 D'(Sigma^-1 (x) Sigma^-1) D)`` (``lav_model_information_expected``).
* :func:`optimize` minimises F by Fisher scoring (Gauss-Newton with the expected information
  and a backtracking line search), switching to BFGS updates of the inverse information near
  the optimum (superlinear convergence), falling back to scipy's L-BFGS-B; gradients are analytic
  (``dF/dx = sum_g Delta_g' dF/dm_g``).
* :func:`make_objective` and :func:`robust_post` are the two integration points for FIML and
  MLR (see CONTRIBUTING.md).
"""
from __future__ import annotations

import contextlib

import numpy as np
from scipy import optimize as spo

from ..errors import ModelError
from .model import Model, vech_indices
from .sample import LOG2PI, SampleStats


class MLObjective:
    """lavaan's ML discrepancy for complete data (see module docstring)."""

    def __init__(self, sample: SampleStats, meanstructure: bool):
        self.sample = sample
        self.meanstructure = meanstructure
        self.ntotal = sample.ntotal
        self.w = [g.nobs / self.ntotal for g in sample.groups]
        p = len(sample.ov_names)
        self.p = p
        self.vr, self.vc = vech_indices(p)
        self.mult = np.where(self.vr == self.vc, 1.0, 2.0)
        self.logdetS = []
        for g in sample.groups:
            s, ld = np.linalg.slogdet(g.cov)
            self.logdetS.append(ld if s > 0 else np.nan)

    def _inv(self, Sigma):
        try:
            L = np.linalg.cholesky(Sigma)
        except np.linalg.LinAlgError:
            return None, None
        Li = np.linalg.inv(L)
        return Li.T @ Li, 2.0 * np.log(np.diag(L)).sum()

    def value(self, implied) -> float:
        return self.value_and_gradient(implied, gradient=False)[0]

    def value_and_gradient(self, implied, gradient: bool = True):
        """Return ``(F, [dF/dm_g])`` with ``m_g = [mu_g, vech(Sigma_g)]`` (means only with a mean structure)."""
        f = 0.0
        grads = []
        for g, (Sigma, mu) in enumerate(implied):
            gs = self.sample.groups[g]
            Si, logdet = self._inv(Sigma)
            if Si is None:
                return np.inf, None
            S = gs.cov
            fg = logdet + np.einsum("ij,ji->", S, Si) - self.logdetS[g] - self.p
            if self.meanstructure:
                d = gs.mean - mu
                Sid = Si @ d
                fg += d @ Sid
            f += self.w[g] * 0.5 * fg
            if gradient:
                if self.meanstructure:
                    Sm = S + np.outer(d, d)
                else:
                    Sm = S
                Gm = 0.5 * (Si - Si @ Sm @ Si)
                gv = Gm[self.vr, self.vc] * self.mult
                if self.meanstructure:
                    gv = np.concatenate([-Sid, gv])
                grads.append(self.w[g] * gv)
        return f, grads

    def loglik(self, implied) -> float:
        """Total log-likelihood at the implied moments (lavaan's ``logl``)."""
        ll = 0.0
        for g, (Sigma, mu) in enumerate(implied):
            gs = self.sample.groups[g]
            Si, logdet = self._inv(Sigma)
            if Si is None:
                return np.nan
            tr = np.einsum("ij,ji->", gs.cov, Si)
            q = 0.0
            if self.meanstructure:
                d = gs.mean - mu
                q = d @ Si @ d
            ll += -gs.nobs / 2 * (self.p * LOG2PI + logdet + tr + q)
        return float(ll)

    def loglik_h1(self) -> float:
        """Log-likelihood of the saturated model (lavaan's ``unrestricted.logl``)."""
        return self.sample.h1_logl


def make_objective(model: Model, sample: SampleStats, missing: str, estimator: str = "ML"):
    """Return the objective for ``missing`` ("listwise": :class:`MLObjective`).

    Integration point for FIML (CONTRIBUTING.md): the "fiml" branch belongs to
    ``psychometrics/sem/fiml.py``.
    """
    if estimator in ("GLS", "ULS"):            # least squares (psychometrics/sem/ls.py)
        from .ls import LSObjective
        return LSObjective(sample, model.meanstructure, estimator)
    if missing == "listwise":
        return MLObjective(sample, model.meanstructure)
    if missing in ("fiml", "ml"):
        from .fiml import objective_for_sample  # FIML (psychometrics/sem/fiml.py)
        return objective_for_sample(sample)
    raise ModelError(f"unknown missing={missing!r}; use 'listwise' or 'fiml'")


def robust_post(fit) -> None:
    """Hook run after estimation: a no-op for ML; MLR adds robust SEs and scaled tests.

    Integration point for ``psychometrics/sem/robust.py`` (which sets ``fit._robust_se`` and
    ``fit._robust_measures``).
    """
    if fit.estimator == "MLR":
        try:
            from . import robust  # written by the MLR engineer
        except ImportError as exc:
            raise ModelError("estimator='MLR' is not available in this build; use 'ML'") from exc
        robust.mlr(fit)


@contextlib.contextmanager
def single_thread_blas():
    """Run small dense linear algebra on one BLAS thread (:mod:`psychometrics._blas`).

    The engine's matrices are tiny (p < 100); multi-threaded OpenBLAS on a loaded machine
    spends ~100x longer spinning than computing, so estimation runs single-threaded.
    """
    from .._blas import blas_threads
    with blas_threads(1):
        yield


# ---------------------------------------------------------------------------- information
def weight_matrices(model: Model, implied) -> list:
    """Per group ``W_g`` (normal-theory expected information of the moments, per case)."""
    r, c = model.vr, model.vc
    mult = np.where(r == c, 1.0, 2.0)
    out = []
    for Sigma, mu in implied:
        Si = np.linalg.inv(Sigma)
        base = Si[np.ix_(r, r)] * Si[np.ix_(c, c)] + Si[np.ix_(r, c)] * Si[np.ix_(c, r)]
        Wc = 0.25 * base * np.outer(mult, mult)
        if model.meanstructure:
            p = model.p
            W = np.zeros((model.n_moments, model.n_moments))
            W[:p, :p] = Si
            W[p:, p:] = Wc
        else:
            W = Wc
        out.append(W)
    return out


def expected_information(model: Model, x, weights, full: bool = False, implied=None, deltas=None):
    """Unit expected information ``sum_g w_g Delta_g' W_g Delta_g`` (lavaan's "information").

    Computed without forming ``W_g``: the covariance part is
    ``0.5 tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l)`` and the mean part
    ``dmu_k' Sigma^-1 dmu_l`` (identical to ``Delta' W Delta``).
    """
    if implied is None:
        implied = model.implied(x, full=full)
    if deltas is None:
        deltas = model.delta(x, full=full)
    p = model.p
    r, c = model.vr, model.vc
    off = p if model.meanstructure else 0
    info = 0.0
    for w, D, (Sigma, mu) in zip(weights, deltas, implied):
        n = D.shape[1]
        Si = np.linalg.inv(Sigma)
        Dn = np.zeros((n, p, p))
        Dc = D[off:, :].T
        Dn[:, r, c] = Dc
        Dn[:, c, r] = Dc
        T = Si @ Dn @ Si
        Ig = 0.5 * (Dn.reshape(n, p * p) @ T.reshape(n, p * p).T)
        if off:
            Dm = D[:p, :]
            Ig = Ig + Dm.T @ Si @ Dm
        info = info + w * Ig
    return info


# ---------------------------------------------------------------------------- optimiser
class _Evaluator:
    def __init__(self, model: Model, objective):
        self.model = model
        self.objective = objective
        self.nfev = 0

    def f(self, x):
        self.nfev += 1
        try:
            implied = self.model.implied(x)
        except np.linalg.LinAlgError:
            return np.inf
        if any(not np.all(np.isfinite(S)) for S, _ in implied):
            return np.inf
        return self.objective.value(implied)

    def fg(self, x):
        self.nfev += 1
        try:
            implied = self.model.implied(x)
        except np.linalg.LinAlgError:
            return np.inf, None, None
        f, gm = self.objective.value_and_gradient(implied)
        if not np.isfinite(f) or gm is None:
            return np.inf, None, None
        deltas = self.model.delta(x)
        grad = sum(D.T @ gmg for D, gmg in zip(deltas, gm))
        return f, grad, (implied, deltas)


def optimize(model: Model, objective, x0: np.ndarray, weights, max_iter: int = 200,
             tol: float = 1e-10) -> dict:
    """Minimise the objective from ``x0`` (reduced space).

    Returns a dict: ``x``, ``f``, ``grad``, ``iterations``, ``converged``, ``message``.
    """
    ev = _Evaluator(model, objective)
    x = np.asarray(x0, dtype=float).copy()
    f, grad, cache = ev.fg(x)
    if not np.isfinite(f):
        # start not admissible: shrink towards a diagonal-ish start via L-BFGS-B penalty
        return _fallback(ev, x, weights, tol, "start values give a non-positive-definite Sigma")
    converged = False
    message = ""
    it = 0
    Hinv = None          # quasi-Newton inverse Hessian (BFGS), started from inv(information)
    for it in range(1, max_iter + 1):
        gmax = np.max(np.abs(grad))
        if Hinv is None:
            implied, deltas = cache
            try:
                info = expected_information(model, x, weights, implied=implied, deltas=deltas)
                info_inv = np.linalg.inv(info + 1e-12 * np.eye(len(x)))
            except np.linalg.LinAlgError:
                info_inv = np.linalg.pinv(info)
            step = info_inv @ grad
            if gmax < 1e-3:
                # close to the optimum: switch from Fisher scoring to BFGS updates
                Hinv = info_inv
        else:
            step = Hinv @ grad
        slope = grad @ step
        if not np.isfinite(slope) or slope <= 0:
            Hinv = None
            step = grad
            slope = grad @ grad
        t = 1.0
        accepted = False
        for _ in range(40):
            xn = x - t * step
            fn = ev.f(xn)
            if np.isfinite(fn) and fn <= f - 1e-4 * t * slope:
                accepted = True
                break
            if np.isfinite(fn) and fn <= f and t < 1e-3:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            if Hinv is not None:
                Hinv = None  # restart from a Fisher-scoring step
                continue
            break
        fn, gn, cache = ev.fg(xn)
        if Hinv is not None:
            sv = xn - x
            yv = gn - grad
            sy = sv @ yv
            if sy > 1e-300:
                rho = 1.0 / sy
                Hy = Hinv @ yv
                Hinv = (Hinv - rho * (np.outer(sv, Hy) + np.outer(Hy, sv))
                        + (rho * rho * (yv @ Hy) + rho) * np.outer(sv, sv))
        df = f - fn
        x, f, grad = xn, fn, gn
        if np.max(np.abs(grad)) < tol or (df >= 0 and df < 1e-16 * max(1.0, abs(f)) and np.max(np.abs(grad)) < 1e-6):
            converged = True
            break
    if not converged:
        res = _fallback(ev, x, weights, tol, "Fisher scoring did not converge")
        if res["converged"]:
            return res
        message = res["message"]
        x, f, grad = res["x"], res["f"], res["grad"]
        converged = bool(np.max(np.abs(grad)) < 1e-6) if grad is not None else False
    return {"x": x, "f": f, "grad": grad, "iterations": it, "converged": converged,
            "message": message, "nfev": ev.nfev}


def _fallback(ev: _Evaluator, x, weights, tol, why) -> dict:
    def fun(z):
        f, g, _ = ev.fg(z)
        if not np.isfinite(f):
            return 1e10, np.zeros_like(z)
        return f, g
    res = spo.minimize(fun, x, jac=True, method="L-BFGS-B",
                       options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 30})
    x = res.x
    f, grad, cache = ev.fg(x)
    # polish with Fisher scoring steps
    for _ in range(50):
        if grad is None or np.max(np.abs(grad)) < tol:
            break
        implied, deltas = cache
        info = expected_information(ev.model, x, weights, implied=implied, deltas=deltas)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        ok = False
        for _ in range(30):
            fn = ev.f(x - t * step)
            if np.isfinite(fn) and fn <= f:
                ok = True
                break
            t *= 0.5
        if not ok:
            break
        x = x - t * step
        f, grad, cache = ev.fg(x)
    conv = grad is not None and np.isfinite(f) and np.max(np.abs(grad)) < 1e-6
    return {"x": x, "f": f, "grad": grad, "iterations": int(res.nit), "converged": bool(conv),
            "message": f"{why}; L-BFGS-B: {res.message}", "nfev": ev.nfev}
