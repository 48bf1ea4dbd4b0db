"""Estimation (the layer above the objectives): the optimiser.

* :func:`optimize` minimises F by Fisher scoring (Gauss-Newton with the expected information
  and a backtracking line search), switching to BFGS updates of the inverse information near
  the optimum (superlinear convergence), falling back to scipy's L-BFGS-B; gradients are analytic
  (``dF/dx = sum_g Delta_g' dF/dm_g``).  An objective may supply its own information
  (``objective.information(model, x, implied, deltas)``, e.g. DWLS's ``Delta' W Delta``);
  otherwise the normal-theory expected information is used.
* The objective layer's names (:class:`MLObjective`, :func:`make_objective`,
  :func:`expected_information`, :func:`weight_matrices`) are re-exported here for callers
  that import them from this module.
"""
from __future__ import annotations

import contextlib

import numpy as np
from scipy import optimize as spo

from ..errors import ModelError  # noqa: F401  (re-export for callers)
from .blocks import BlockSystem
from .model import Model
from .objective import (MLObjective, expected_information, information_system,  # noqa: F401
                        make_objective, weight_matrices)


@contextlib.contextmanager
def single_thread_blas():
    """Run small dense linear algebra on one BLAS thread (:mod:`psychometrics._blas`).

    The engine's matrices are tiny (p < 100); multi-threaded OpenBLAS on a loaded machine
    spends ~100x longer spinning than computing, so estimation runs single-threaded.
    """
    from .._blas import blas_threads
    with blas_threads(1):
        yield


# ---------------------------------------------------------------------------- optimiser
def _information(model: Model, objective, x, weights, implied, deltas):
    """The scoring matrix: the objective's own (``objective.information``) or the
    normal-theory expected information -- for the engine's :class:`Model` a
    :class:`~psychometrics.sem.blocks.BlockSystem` of per-group blocks."""
    own = getattr(objective, "information", None)
    if own is not None:
        if deltas is None:
            deltas = model.delta(x)
        return own(model, x, implied, deltas)
    if isinstance(model, Model):
        return information_system(model, x, weights)
    return expected_information(model, x, weights, implied=implied, deltas=deltas)


class _BlockInverse:
    """``(I + ridge)^-1`` of a structured :class:`BlockSystem` with BFGS updates kept as
    pairs ``(s, y)`` and applied by the two-loop recursion: the same matrix as the dense
    update ``H+ = (I - rho s y') H (I - rho y s') + rho s s'`` without forming it."""

    def __init__(self, system: BlockSystem):
        self.system = system
        self.pairs = []

    def __matmul__(self, v):
        q = np.array(v, dtype=float)
        alphas = []
        for s_, y_, rho in reversed(self.pairs):
            a = rho * (s_ @ q)
            q -= a * y_
            alphas.append(a)
        r = self.system.solve(q)
        for (s_, y_, rho), a in zip(self.pairs, reversed(alphas)):
            b = rho * (y_ @ r)
            r += s_ * (a - b)
        return r

    def update(self, sv, yv, rho):
        self.pairs.append((sv, yv, rho))


def _scoring_inverse(model, objective, x, weights, implied, deltas):
    """The inverse of the scoring matrix (plus ``1e-12 I``): a dense matrix, or a
    :class:`_BlockInverse` for a large multi-group model (solves through the arrowhead
    structure, linear in the number of groups)."""
    info = _information(model, objective, x, weights, implied, deltas)
    if isinstance(info, BlockSystem):
        if info.structured:
            try:
                return _BlockInverse(info.factor(1e-12))
            except np.linalg.LinAlgError:
                pass
        info = info.dense()
    try:
        return np.linalg.inv(info + 1e-12 * np.eye(len(x)))
    except np.linalg.LinAlgError:
        return np.linalg.pinv(info)


class _Evaluator:
    def __init__(self, model: Model, objective):
        self.model = model
        self.objective = objective
        self.nfev = 0
        # the engine's RAM model: gradient by the matrix chain rule (no Delta)
        self.chain = isinstance(model, Model)
        # objectives whose value() is value_and_gradient()'s F (same code): the line search
        # may evaluate its first trial with the gradient
        from .fiml import FIMLObjective
        self.fused = type(objective) in (MLObjective, FIMLObjective)

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
        if self.chain:
            return f, self.model.gradient(x, gm), (implied, None)
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
            info_inv = _scoring_inverse(model, ev.objective, x, weights, implied, deltas)
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
        trial = None
        for k_ls in range(40):
            xn = x - t * step
            if k_ls == 0 and ev.fused:
                # the full step is usually accepted: value and gradient in one pass (F is
                # computed by the same code as ev.f, so the decisions are unchanged)
                trial = ev.fg(xn)
                fn = trial[0]
            else:
                trial = None
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
        fn, gn, cache = trial if trial is not None else ev.fg(xn)
        if Hinv is not None:
            sv = xn - x
            yv = gn - grad
            sy = sv @ yv
            if sy > 1e-300:
                rho = 1.0 / sy
                if isinstance(Hinv, _BlockInverse):
                    Hinv.update(sv, yv, rho)
                else:
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
        info = _information(ev.model, ev.objective, x, weights, implied, deltas)
        try:
            if isinstance(info, BlockSystem):
                if info.structured:
                    try:
                        step = info.factor(0.0).solve(grad)
                    except np.linalg.LinAlgError:
                        step = np.linalg.solve(info.dense(), grad)
                else:
                    step = np.linalg.solve(info.dense(), grad)
            else:
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
