"""Nonparametric bootstrap of a fitted CFA/SEM (lavaan's ``se = "bootstrap"`` /
``bootstrapLavaan(type = "ordinary")``) with percentile and bias-corrected CIs.

* Cases are resampled with replacement *within each group* (group sizes fixed), the model is
  refitted to every draw with the fit's own estimator and missing-data treatment (FIML
  re-estimates the EM saturated model per draw), starting from the original estimates (warm
  start).  Draws are generated in the parent process from ``numpy.random.default_rng(seed)``
  before any refitting, so the result is identical for any ``n_jobs``.
* ML/MLR fits of complete data and FIML fits (single or multiple groups, equality
  constraints, ``:=`` parameters) are refitted in lockstep: fixed chunks of draws
  (:data:`CHUNK`) go through the same quasi-Newton iterations at once, with F and its gradient
  evaluated for all draws of a chunk as stacked arrays (:mod:`._boot_batch`); a draw's
  estimates do not depend on its chunk.  Other fits (exogenous covariates with fixed moments,
  no warm start, listwise deletion of incomplete data, GLS/ULS and ``likelihood = "wishart"``,
  refitted by the engine with the fit's own objective) are refitted draw by draw.  Ordinal
  (WLSMV/DWLS/ULS of polychorics) fits are refused.
* A draw whose quasi-Newton refit neither converges nor diverges gets the engine's refit
  within a budget of evaluations of F (:data:`ENGINE_BUDGET`): small samples (N = 20) have
  many draws that cannot converge, which are counted as failed instead of searched for long.
* Failed draws (the optimiser did not converge or the model could not be evaluated) are
  dropped, counted and reported (lavaan's ``error.idx``); nonadmissible draws (negative
  variances) are kept and counted, as lavaan does.
* Bootstrap SE: the standard deviation of the successful draws with divisor R
  (lavaan: ``cov(COEF) * (R - 1) / R``).
* CIs follow ``lavaan::parameterEstimates``: ``"perc"`` uses the boot package's
  ``norm.inter`` interpolation of the order statistics at ``(1 +- level) / 2``;
  ``"bca.simple"`` (bias-corrected, no acceleration) uses ``z0 = qnorm(mean(t < t0))`` and the
  adjusted levels ``pnorm(2 z0 + qnorm(alpha))``.  Both apply to free and defined (``:=``)
  parameters (indirect effects of a mediation model).

References: Efron & Tibshirani (1993), An introduction to the bootstrap, ch. 13-14; Davison &
Hinkley (1997) (``boot::norm.inter``); lavaan 0.6-14 ``lav_bootstrap.R`` and
``parameterEstimates``.
"""
from __future__ import annotations

import copy
import os
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import ndtri

from .._blas import single_blas_thread
from .._results import jsonable
from ..errors import ModelError

# ---------------------------------------------------------------------------------------------
# CI formulas (usable on any fixed set of draws)
# ---------------------------------------------------------------------------------------------


def norm_inter(t, alpha) -> np.ndarray:
    """``boot:::norm.inter``: interpolated quantiles of ``t`` at probabilities ``alpha``
    (order statistic ``(R + 1) alpha``, interpolated on the normal-quantile scale)."""
    t = np.sort(np.asarray(t, dtype=float)[np.isfinite(t)])
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    R = len(t)
    if R == 0:
        return np.full(alpha.shape, np.nan)
    rk = (R + 1) * alpha
    k = np.trunc(rk).astype(int)
    out = np.empty(alpha.shape)
    for i in range(len(alpha)):
        if k[i] == rk[i] and 1 <= k[i] <= R:
            out[i] = t[k[i] - 1]
        elif k[i] <= 0:
            out[i] = t[0]
        elif k[i] >= R:
            out[i] = t[R - 1]
        else:
            # the standard normal quantile (scipy's ``stats.norm.ppf`` is ``special.ndtri``
            # behind argument checks that cost about 0.1 ms a call: 3 calls per parameter)
            z = ndtri(alpha[i])
            z1 = ndtri(k[i] / (R + 1))
            z2 = ndtri((k[i] + 1) / (R + 1))
            tk, tk1 = t[k[i] - 1], t[k[i]]
            out[i] = tk + (z - z1) / (z2 - z1) * (tk1 - tk)
    return out


def percentile_ci(t, level: float = 0.95) -> tuple[float, float]:
    """lavaan's ``boot.ci.type = "perc"`` interval of one parameter's draws."""
    a = (1 + np.array([-level, level])) / 2
    lo, hi = norm_inter(t, a)
    return float(lo), float(hi)


def bca_simple_ci(t, t0: float, level: float = 0.95) -> tuple[float, float]:
    """lavaan's ``boot.ci.type = "bca.simple"`` (bias-corrected percentile) interval."""
    t = np.asarray(t, dtype=float)
    t = t[np.isfinite(t)]
    if len(t) < 2 or np.var(t) == 0:
        return float(t0), float(t0)
    a = (1 + np.array([-level, level])) / 2
    w = stats.norm.ppf(np.sum(t < t0) / len(t))
    adj = stats.norm.cdf(w + (w + stats.norm.ppf(a)))
    lo, hi = norm_inter(t, adj)
    return float(lo), float(hi)


def boot_se(t) -> float:
    """Bootstrap SE as lavaan: SD of the successful draws with divisor R."""
    t = np.asarray(t, dtype=float)
    t = t[np.isfinite(t)]
    return float(np.sqrt(np.mean((t - t.mean()) ** 2))) if len(t) else float("nan")


# ---------------------------------------------------------------------------------------------
# refitting
# ---------------------------------------------------------------------------------------------
def _resampled_sample(template, draws_g, estimator="ML", likelihood="normal"):
    """A copy of the fit's SampleStats with each group's rows replaced by ``data[idx]``, with
    the fit's moment conventions (unbiased covariances for GLS/ULS and
    ``likelihood = "wishart"``)."""
    from .sample import GroupStats, complete_case_moments, saturated_logl

    ss = copy.copy(template)
    ss.groups = []
    ss.warnings = []
    for gs, idx in zip(template.groups, draws_g):
        y = gs.data[idx]
        n = y.shape[0]
        mean, cov = complete_case_moments(y)
        g = GroupStats(label=gs.label, nobs=n, cov=cov, mean=mean, data=y, case_ids=gs.case_ids[idx])
        if template.missing == "listwise":
            g.h1_cov, g.h1_mean = cov, mean
            g.h1_logl = saturated_logl(n, cov)
        ss.groups.append(g)
    if estimator in ("GLS", "ULS"):   # unbiased covariances (sem/ls.py), as the fit
        from .ls import use_least_squares
        use_least_squares(ss, estimator, template.missing)
    elif likelihood == "wishart":     # sem/wishart.py
        from .wishart import use_wishart
        use_wishart(ss, likelihood, estimator, template.missing)
    return ss


def _admissible(model, x) -> bool:
    """No negative variances and positive semi-definite covariance blocks (lavaan's
    ``lav_object_post_check`` in spirit)."""
    for A, P, M in model.matrices(x):
        if np.any(np.diag(P) < 0):
            return False
        try:
            if np.linalg.eigvalsh(P).min() < -1e-8:
                return False
        except np.linalg.LinAlgError:
            return False
    return True


def _scoring_refit(model, obj, x0, weights, h_inv=None, tol=1e-8, max_iter=100, stall_exit=False):
    """Quasi-Newton refit from a warm start: BFGS updates of the inverse Hessian started at the
    inverse expected information (of the original fit when given), Armijo backtracking.
    ``stall_exit``: stop (converged) once F no longer decreases in floating point and the
    largest gradient entry is below 1e-6 (the point cannot be improved at this precision).
    Returns ``(x, converged)``; the engine's own optimiser is the fallback."""
    from .estimate import expected_information

    def fg(xx):
        try:
            implied = model.implied(xx)
        except np.linalg.LinAlgError:
            return np.inf, None
        f, gm = obj.value_and_gradient(implied)
        if not np.isfinite(f) or gm is None:
            return np.inf, None
        deltas = model.delta(xx)
        return f, sum(D.T @ gg for D, gg in zip(deltas, gm))

    x = np.asarray(x0, dtype=float).copy()
    f, g = fg(x)
    if g is None:
        return x, False
    if h_inv is None:
        h_inv = np.linalg.inv(expected_information(model, x, weights))
    H = np.array(h_inv, dtype=float)
    for _ in range(max_iter):
        if np.max(np.abs(g)) < tol:
            return x, True
        step = -H @ g
        slope = g @ step
        if slope >= 0:
            H = np.linalg.inv(expected_information(model, x, weights))
            step = -H @ g
            slope = g @ step
        t = 1.0
        for _ in range(30):
            xn = x + t * step
            fn, gn = fg(xn)
            if gn is not None and fn <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            return x, bool(np.max(np.abs(g)) < 1e-6)
        if stall_exit and fn >= f and np.max(np.abs(gn)) < 1e-6:
            return xn, True
        s_ = xn - x
        y_ = gn - g
        sy = s_ @ y_
        if sy > 1e-16:
            rho = 1.0 / sy
            Hy = H @ y_
            H = H - rho * (np.outer(s_, Hy) + np.outer(Hy, s_)) + (rho * rho * (y_ @ Hy) + rho) * np.outer(s_, s_)
        x, f, g = xn, fn, gn
    return x, bool(np.max(np.abs(g)) < 1e-6)


# ---------------------------------------------------------------------------------------------
# FIML refits of a draw: casewise kernel, matrix chain rule, quasi-Newton from the original
# fit's inverse Hessian
# ---------------------------------------------------------------------------------------------
class _RAMChain:
    """``F`` and ``dF/dx`` of a RAM model for objectives that give ``dF/dmu`` and the matrix
    gradient ``dF/dSigma``, by the matrix chain rule (``Sigma = G P G'``, ``mu = G M``,
    ``B = (I - A)^-1``, ``G`` its observed rows):
    ``dF/dA = 2 G' (dF/dSigma) H' + (G' dF/dmu) eta'`` (``H = B P G'``),
    ``dF/dP = G' (dF/dSigma) G`` (doubled off the diagonal), ``dF/dM = G' dF/dmu``; no
    ``Delta`` matrix is formed (O(m^3) per group instead of O(p^2 k))."""

    def __init__(self, model):
        self.model = model
        self.p = model.p
        self.K = np.asarray(model.K, dtype=float)
        self.eye = np.eye(model.m)
        self.pmult = []
        for a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k in model.idx:
            self.pmult.append(np.where(p_i == p_j, 1.0, 2.0))

    def moments(self, x):
        """Per group ``(Sigma, mu, G, H, eta)`` at reduced ``x`` (raises LinAlgError; ``mu``
        and ``eta`` are None without a mean structure)."""
        out = []
        ms = self.model.meanstructure
        for A, P, M in self.model.matrices(x):
            B = np.linalg.inv(self.eye - A)
            G = B[: self.p]
            H = B @ (P @ G.T)                    # m x p
            Sigma = H[: self.p]                  # G P G'
            Sigma = 0.5 * (Sigma + Sigma.T)
            eta = B @ M if ms else None
            out.append((Sigma, eta[: self.p] if ms else None, G, H, eta))
        return out

    def fg(self, x, groups, const, ntotal, gradient=True):
        """``F = -(sum_g logl_g - const) / N`` and ``dF/dx`` (None without ``gradient``)."""
        try:
            mom = self.moments(x)
            total = 0.0
            gf = np.zeros(self.K.shape[0]) if gradient else None
            for g, (Sigma, mu, G, H, eta) in enumerate(mom):
                if not self.model.meanstructure:   # saturated mean: the draw's sample mean
                    mu = groups[g].mean
                ll, gmu, gS = groups[g].value_and_gradient(mu, Sigma, gradient)
                total += ll
                if not gradient:
                    continue
                a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k = self.model.idx[g]
                GtS = G.T @ gS                   # m x p
                Gtm = G.T @ gmu if self.model.meanstructure else None
                if len(a_k):
                    dA = 2.0 * GtS @ H.T
                    if Gtm is not None:
                        dA += np.outer(Gtm, eta)
                    gf[a_k] += dA[a_i, a_j]
                if len(p_k):
                    dP = GtS @ G
                    gf[p_k] += dP[p_i, p_j] * self.pmult[g]
                if len(m_k) and Gtm is not None:
                    gf[m_k] += Gtm[m_i]
        except np.linalg.LinAlgError:
            return np.inf, None
        f = -(total - const) / ntotal
        if not np.isfinite(f):
            return np.inf, None
        return f, (None if not gradient else -(gf @ self.K) / ntotal)


def _bfgs(fg, x0, H0, tol=1e-8, max_iter=100, diverge=1e3, max_eval=None):
    """Quasi-Newton minimisation of ``fg`` (returning ``(F, dF/dx)``, gradient None where F
    cannot be evaluated) from ``x0`` with inverse-Hessian start ``H0`` (BFGS updates, Armijo
    backtracking).  Returns ``(x, status, n_iter)``; ``status`` is

    * ``"converged"``: the largest gradient entry fell below ``tol`` (near the optimum, where
      F is flat to rounding, a step is accepted by its gradient:
      :func:`._boot_batch._endgame_bound`);
    * ``"diverged"``: the iterates run away -- the largest gradient entry grew to ``diverge``
      times its start (and above 1), the signature of a likelihood without a maximum (a
      covariance matrix tending to singularity, e.g. more variables than distinct cases);
    * ``"max_iter"`` or ``"line_search"``: no convergence within ``max_iter`` iterations (or
      ``max_eval`` evaluations of F, default ``3 max_iter``) or no step decreases F.
    """
    from ._boot_batch import _endgame_bound

    n_eval = [0]
    budget = 3 * max_iter if max_eval is None else max_eval
    fg0 = fg

    def fg(xx):
        n_eval[0] += 1
        return fg0(xx)

    x = np.asarray(x0, dtype=float).copy()
    f, g = fg(x)
    if g is None:
        return x, "line_search", 0
    shift = f                 # F relative to the start keeps the Armijo comparisons exact
    f = 0.0
    g_start = max(1.0, float(np.max(np.abs(g))))
    H = np.array(H0, dtype=float)
    for it in range(1, max_iter + 1):
        gmax = float(np.max(np.abs(g)))
        if gmax < tol:
            return x, "converged", it
        if gmax > diverge * g_start:
            return x, "diverged", it
        if n_eval[0] > budget:
            return x, "max_iter", it
        step = -H @ g
        slope = g @ step
        if slope >= 0:          # the metric lost positive definiteness: restart from H0
            H = np.array(H0, dtype=float)
            step = -H @ g
            slope = g @ step
            if slope >= 0:
                return x, "line_search", it
        t = 1.0
        endgame = gmax < 1e-5    # F is flat to rounding here: judge steps by the gradient
        for _ in range(30):
            xn = x + t * step
            fn, gn = fg(xn)
            fn -= shift
            if gn is not None and (fn <= f + 1e-4 * t * slope
                                   or (endgame and np.max(np.abs(gn)) < _endgame_bound(gmax, tol))):
                break
            t *= 0.5
        else:
            return x, ("converged" if gmax < 1e-6 else "line_search"), it
        s_ = xn - x
        y_ = gn - g
        sy = s_ @ y_
        if sy > 1e-16:
            rho = 1.0 / sy
            Hy = H @ y_
            u = (0.5 * (rho * rho * (y_ @ Hy) + rho)) * s_ - rho * Hy
            H += np.multiply.outer(s_, u)
            H += np.multiply.outer(u, s_)
        x, f, g = xn, fn, gn
    return x, ("converged" if np.max(np.abs(g)) < 1e-6 else "max_iter"), max_iter


def _complete_info(W, S, d, meanstructure):
    """Observed information per case of the complete-data normal log-likelihood in
    ``[mu, vech(Sigma)]`` at implied ``Sigma^-1 = W`` for sample ``S`` and ``d = ybar - mu``."""
    from .fiml import _sym_pair_matrix, vech_indices

    p = W.shape[0]
    Wd = W @ d
    B = W @ (S + np.outer(d, d)) @ W
    ss = _sym_pair_matrix(W, B - 0.5 * W)
    if not meanstructure:
        return ss
    r, c = vech_indices(p)
    off = (r != c).astype(float)
    cross = W[:, r] * Wd[c][None, :] + W[:, c] * Wd[r][None, :] * off[None, :]
    q = len(r)
    out = np.zeros((p + q, p + q))
    out[:p, :p] = W
    out[:p, p:] = cross
    out[p:, :p] = cross.T
    out[p:, p:] = ss
    return out


def _newton_refit(model, obj, sample, x0, tol=1e-8, max_iter=30):
    """Newton-Raphson refit for complete data (exact observed Hessian: Delta' I Delta plus the
    analytic curvature of the RAM moments), with step halving.  Returns ``(x, converged)``."""
    from .robust import ram_curvature

    w = [g.nobs / sample.ntotal for g in sample.groups]
    x = np.asarray(x0, dtype=float).copy()
    f = None
    for it in range(max_iter):
        implied = model.implied(x)
        fx, gm = obj.value_and_gradient(implied)
        if not np.isfinite(fx) or gm is None:
            return x, False
        deltas = model.delta(x)
        g = sum(D.T @ gg for D, gg in zip(deltas, gm))
        if np.max(np.abs(g)) < tol:
            return x, True
        if it == 0:   # far from the draw's optimum: one Fisher-scoring step first
            from .estimate import expected_information
            H = expected_information(model, x, w, implied=implied, deltas=deltas)
        else:
            H = ram_curvature(model, x, gm)
            for wg, gs, (Sig, mu), D in zip(w, sample.groups, implied, deltas):
                W = np.linalg.inv(Sig)
                d = gs.mean - mu if model.meanstructure else np.zeros(len(mu))
                H += wg * D.T @ _complete_info(W, gs.cov, d, model.meanstructure) @ D
        try:
            L = np.linalg.cholesky(H)
        except np.linalg.LinAlgError:   # not convex here: a Fisher-scoring step instead
            from .estimate import expected_information
            try:
                L = np.linalg.cholesky(expected_information(model, x, w, implied=implied, deltas=deltas))
            except np.linalg.LinAlgError:
                return x, False
        step = np.linalg.solve(L.T, np.linalg.solve(L, g))
        if it > 0 and np.max(np.abs(step)) < 1e-6 and np.max(np.abs(g)) < 1e-5:
            # quadratic convergence: the remaining error after this step is O(step^2)
            return x - step, True
        t = 1.0
        f = fx
        for _ in range(20):
            xn = x - t * step
            try:
                fn = obj.value(model.implied(xn))
            except np.linalg.LinAlgError:
                fn = np.inf
            if np.isfinite(fn) and fn <= f + 1e-12 * max(1.0, abs(f)):
                break
            t *= 0.5
        else:
            return x, bool(np.max(np.abs(g)) < 1e-6)
        x = xn
    return x, False


def _initial_inverse_hessian(fit):
    """Inverse observed Hessian of F at the original estimates (a near-exact metric for the
    quasi-Newton refits of every draw); the inverse expected information if that fails."""
    from .fiml import patterns_for
    from .robust import _engine_curvature, observed_hessian

    try:
        pats = [patterns_for(g.data) for g in fit.sample.groups]
        h1 = [(g.h1_mean if g.h1_mean is not None else g.mean,
               g.h1_cov if g.h1_cov is not None else g.cov) for g in fit.sample.groups]
        H = observed_hessian(fit.model.implied, fit.model.delta, fit.x, pats, h1,
                             bool(fit.model.meanstructure), curvature=_engine_curvature(fit.model))
        Hi = np.linalg.inv(H)
        if np.all(np.isfinite(Hi)) and np.all(np.linalg.eigvalsh(0.5 * (Hi + Hi.T)) > 0):
            return Hi
    except (np.linalg.LinAlgError, ValueError, AttributeError, TypeError):
        pass
    try:
        return np.linalg.inv(fit.information("expected"))
    except np.linalg.LinAlgError:
        return None


def _fast_refit(chain, designs, draw, x0, h_inv, max_iter):
    """Refit of one draw by :func:`_bfgs` on the casewise kernels of the draw (tolerance
    1e-9 on the gradient: the estimates are within about 1e-9 of the exact optimum).
    Returns ``(x, status)``."""
    groups = [d.resample(idx) for d, idx in zip(designs, draw)]
    ntot = sum(g.n for g in groups)
    xb, status, _ = _bfgs(lambda xx: chain.fg(xx, groups, 0.0, ntot), x0, h_inv,
                          tol=1e-9, max_iter=max_iter)
    return xb, status


#: evaluations of F (times ``max_iter``) allowed to the engine's refit of a draw that the
#: quasi-Newton refit left unsettled (neither converged nor diverged); a draw that needs more
#: is counted as failed (not converged).  At N = 20 such draws took 3,000-4,000 evaluations
#: (about 5 s) and did not converge; the ones that converged needed about 300.
ENGINE_BUDGET = 2
#: the same where the engine's refit is the first refit of a draw (no quasi-Newton refit
#: before it: exogenous covariates, no warm start, GLS/ULS, listwise deletion of incomplete
#: data); the engine normally converges in a few dozen evaluations
ENGINE_BUDGET_FIRST = 10


class _OutOfBudget(Exception):
    """The engine's refit of a draw used up its evaluations of F."""


class _BudgetObjective:
    """The engine objective ``obj`` counting its evaluations (``n``); raises
    :class:`_OutOfBudget` at evaluation ``budget + 1``.  Every other attribute is ``obj``'s."""

    def __init__(self, obj, budget):
        self._obj = obj
        self.budget = budget
        self.n = 0

    def _count(self):
        self.n += 1
        if self.n > self.budget:
            raise _OutOfBudget

    def value(self, implied, *args, **kwargs):
        self._count()
        return self._obj.value(implied, *args, **kwargs)

    def value_and_gradient(self, implied, *args, **kwargs):
        self._count()
        return self._obj.value_and_gradient(implied, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._obj, name)


def _engine_refit(pt, template, missing, x0, h_inv, max_iter, draw, model=None, ss=None,
                  fast=False, estimator="ML", likelihood="normal", budget=None):
    """The engine's refit of one draw (its EM for FIML, its objective and optimiser): Newton
    steps for complete data, else :func:`_scoring_refit` (when the casewise quasi-Newton
    refit was not tried, ``fast`` False) and :func:`estimate.optimize`; GLS/ULS fits (and
    ``likelihood = "wishart"``) by :func:`estimate.optimize` on the fit's own objective
    (:func:`objective.make_objective` with ``estimator``) of the draw's moments.  ``budget``
    caps the evaluations of F (all stages together; None: no cap): a refit that needs more is
    given up, not converged.  Returns ``(x, converged, model)``."""
    from .estimate import make_objective, optimize
    from .model import Model

    if ss is None:
        ss = _resampled_sample(template, draw, estimator, likelihood)
    if model is None:
        model = Model(pt, ss)
    else:   # a reused model (no exogenous rows): only the saturated means depend on the data
        model._sample_mean = [g.mean for g in ss.groups]
    obj = make_objective(model, ss, missing, "ML" if estimator == "MLR" else estimator)
    if budget is not None:
        obj = _BudgetObjective(obj, int(budget))
    weights = [g.nobs / ss.ntotal for g in ss.groups]
    conv = False
    xb = x0
    ml = estimator in ("ML", "MLR")
    try:
        if ml and missing == "listwise" and hasattr(model, "idx"):
            xb, conv = _newton_refit(model, obj, ss, x0)
        if ml and not conv and not fast:
            xb, conv = _scoring_refit(model, obj, x0, weights, h_inv)
        if not conv:
            opt = optimize(model, obj, x0, weights, max_iter=max_iter)
            xb, conv = opt["x"], opt["converged"]
    except _OutOfBudget:
        return x0, False, model
    return xb, conv, model


def _refit_many(payload, draws, progress=None, designs=None):
    """Refit the model to each draw, one draw at a time; returns (estimates R x k, converged,
    admissible, diverged).  (The lockstep path, :func:`_refit_chunk`, refits many draws at
    once; this path serves the models it does not cover: exogenous covariates, no warm start,
    listwise deletion of incomplete data.)

    With FIML, and with complete data, the refit first uses
    :class:`~psychometrics.sem.fiml.CasewiseFIML` (the draw's complete cases as sufficient
    statistics, its incomplete cases one row each; complete-data ML is the case without
    incomplete rows; no EM
    saturated model, whose log-likelihood is a constant that does not move the estimates)
    with the gradient by the matrix chain rule (:class:`_RAMChain`) and quasi-Newton steps
    from the original fit's inverse Hessian; a draw on which it neither converges nor
    diverges is refitted the engine's way (EM, its objective and optimiser) within
    :data:`ENGINE_BUDGET` ``max_iter`` evaluations of F: a draw that cannot converge is given
    up (counted as failed) instead of searched for long.  GLS/ULS fits and
    ``likelihood = "wishart"`` are refitted by the engine with the fit's own objective
    (:data:`ENGINE_BUDGET_FIRST` ``max_iter`` evaluations).
    ``progress(k)`` is called after every draw.  ``draws`` may be any iterable of draws (a
    list, or ``(count, iterator)`` to refit draws made one at a time); ``designs`` are the
    groups' :class:`~psychometrics.sem.fiml.CaseDesign` (:func:`_case_designs`; made here
    when not given).
    """
    from .model import Model

    pt, template, missing, x0, h_inv = payload[:5]
    max_iter = payload[5] if len(payload) > 5 else 200
    estimator, likelihood = payload[6:8] if len(payload) > 7 else ("ML", "normal")
    ml = estimator in ("ML", "MLR") and likelihood == "normal"   # the casewise ML kernels
    k = len(x0)
    if isinstance(draws, tuple) and len(draws) == 2 and isinstance(draws[0], (int, np.integer)):
        count, draws = int(draws[0]), draws[1]
    else:
        count = len(draws)
    est = np.full((count, k), np.nan)
    ok = np.zeros(count, dtype=bool)
    adm = np.ones(count, dtype=bool)
    diverged = np.zeros(count, dtype=bool)
    import warnings as _w
    reuse = None
    chain = None
    if designs is None:
        designs = _case_designs(template, missing)
    if not np.any(np.asarray(pt.exo)):
        # the model matrices do not depend on the data: one model for every draw, made from
        # the fit's own sample (the draws were refitted with a model made from the first
        # draw's copy of the data, the same matrices: 0.3 GB more at 10^6 cases)
        try:
            with _w.catch_warnings():
                _w.simplefilter("ignore")
                model = Model(pt, template)
            if hasattr(model, "_sample_mean"):
                reuse = model
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, ModelError):
            reuse = None
    for i, draw in enumerate(draws):
        try:
            with _w.catch_warnings():
                _w.simplefilter("ignore")
                ss = None
                if reuse is not None:   # the model matrices do not depend on the data
                    model = reuse
                else:
                    ss = _resampled_sample(template, draw, estimator, likelihood)
                    model = Model(pt, ss)
                    chain = None
                conv = False
                fast = (ml and designs is not None and h_inv is not None
                        and (model.meanstructure or missing == "listwise"))
                if fast:
                    if chain is None:
                        chain = _RAMChain(model)
                    xb, status = _fast_refit(chain, designs, draw, x0, h_inv, max_iter)
                    conv = status == "converged"
                    if status == "diverged":   # no maximum: give the draw up at once
                        diverged[i] = True
                        raise FloatingPointError("diverged")
                if not conv:
                    budget = (ENGINE_BUDGET if fast else ENGINE_BUDGET_FIRST) * max_iter
                    xb, conv, model = _engine_refit(pt, template, missing, x0, h_inv, max_iter,
                                                    draw, model=model, ss=ss, fast=fast,
                                                    estimator=estimator, likelihood=likelihood,
                                                    budget=budget)
            if conv and np.all(np.isfinite(xb)):
                est[i] = xb
                ok[i] = True
                adm[i] = _admissible(model, xb)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, ModelError):
            pass
        if progress is not None:
            progress(1)
    return est, ok, adm, diverged


def _case_designs(template, missing):
    """The groups' :class:`~psychometrics.sem.fiml.CaseDesign` for the casewise refits of
    :func:`_refit_many` (FIML, or complete data under listwise deletion), else None."""
    from .fiml import CaseDesign
    complete = missing == "listwise" and all(not np.isnan(g.data).any() for g in template.groups)
    return ([CaseDesign(g.data) for g in template.groups]
            if missing == "fiml" or complete else None)


#: memory the per-draw refits may take together (bytes, all worker processes): the number of
#: worker processes of the per-draw path is the largest within this and half of the memory
#: the system reports available, at :func:`_refit_bytes` a refit (at least one: a single
#: "worker" refits in the calling process, no fork).  At 10^6 cases of the 34-item example a
#: refit takes about 0.6 GB, so the draws are refitted in the calling process and the
#: structural step stays within the 2 GB of issue 13; the example study's draws fit many
#: times over.
REFIT_MEMORY = 2 ** 30


def _refit_bytes(template) -> int:
    """Estimated memory (bytes) of one per-draw FIML refit of ``template``'s data
    (:class:`~psychometrics.sem.fiml.CaseDesign` and :class:`~psychometrics.sem.fiml.CasewiseFIML`):
    a draw's incomplete rows are held as values and as centred values and worked on in
    about five arrays of ``(p + J)`` columns (J <= p the padded missing count), its complete
    rows twice, plus the draw's row counts; with a copy of the data for the engine's refit
    of a draw the quasi-Newton refit leaves unsettled (its EM and patterns)."""
    total = 0
    for g in template.groups:
        n, p = g.data.shape
        total += 8 * n * (3 + 7 * p)
    return int(total)


def _available_memory() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (None where it cannot be read)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _refit_workers(template, n_jobs: int) -> int:
    """Worker processes for the per-draw refits: ``n_jobs``, at most as many as
    :data:`REFIT_MEMORY` (and half of the available memory) holds at :func:`_refit_bytes`
    each, at least one (1: the calling process refits the draws itself)."""
    per = max(1, _refit_bytes(template))
    budget = REFIT_MEMORY
    avail = _available_memory()
    if avail is not None:
        budget = min(budget, avail // 2)
    return int(max(1, min(n_jobs, budget // per)))


#: (payload, designs) of the per-draw refits, set before the worker processes are forked so
#: that they inherit the data instead of a pickled copy of it with every chunk of draws
_FORKED_DRAWS = None


def _worker_forked(draws):
    """:func:`_worker` in a forked worker: payload and designs inherited (``_FORKED_DRAWS``)."""
    from .._blas import blas_threads
    payload, designs = _FORKED_DRAWS
    with blas_threads(1):
        return _refit_many(payload, draws, None, designs)


# ---------------------------------------------------------------------------------------------
# lockstep refits of a chunk of draws (sem/_boot_batch.py)
# ---------------------------------------------------------------------------------------------
#: draws refitted together by the lockstep path; the chunks are fixed by the draw numbers
#: (0..CHUNK-1, CHUNK..2 CHUNK-1, ...) whatever ``n_jobs`` (fewer per chunk on large data
#: sets, :data:`CHUNK_BYTES`).  A draw's estimates do not depend on the chunk it is in
#: (tests refit with other chunk sizes).
CHUNK = 128
#: memory for the stacked arrays of one chunk's evaluation (large data sets get smaller
#: chunks: at most this many bytes, at least one draw)
CHUNK_BYTES = 64 * 2 ** 20
#: the lockstep path is used where it applies (tests switch it off to compare)
BATCHED = True


def _batch_plan(fit, template, x0, h_inv, max_iter):
    """A :class:`~psychometrics.sem._boot_batch.BatchRAM` for the lockstep refits of ``fit``'s
    draws, or None where the lockstep path does not apply (then every draw is refitted on its
    own, :func:`_refit_many`): it covers exactly the draws :func:`_fast_refit` refits --
    FIML, or complete data under listwise deletion, a warm start with the original inverse
    Hessian -- for ML/MLR fits (normal likelihood) of RAM models without exogenous
    covariates (whose fixed moments change with every draw)."""
    from ._boot_batch import BatchRAM, GroupDesign
    from .model import Model

    if not BATCHED or h_inv is None or np.any(np.asarray(fit.partable.exo)):
        return None
    if _estimator(fit) not in ("ML", "MLR") or _likelihood(fit) != "normal":
        return None     # the lockstep kernels are normal-theory ML of the raw data
    missing = fit.missing
    complete = missing == "listwise" and all(not np.isnan(g.data).any() for g in template.groups)
    if not (missing == "fiml" or complete):
        return None
    try:
        model = Model(fit.partable, template)
    except Exception:   # noqa: BLE001 -- anything unusual: the per-draw path
        return None
    if not (hasattr(model, "idx") and hasattr(model, "base")):
        return None
    if not (model.meanstructure or missing == "listwise"):
        return None
    if _plan_entries(template) > PLAN_MAX_ENTRIES:
        return None     # the scatter matrices would take gigabytes: the per-draw path
    designs = [GroupDesign(g.data) for g in template.groups]
    if not model.meanstructure and any(d.has_missing for d in designs):
        return None
    return BatchRAM(model, designs)


#: largest lockstep plan (entries of its sparse scatter matrices of the incomplete cases,
#: about p per missing cell plus the squares of the cases' missing counts) built for a
#: bootstrap; above it the draws are refitted one by one (the per-draw path).  At 10^6 cases
#: of the 34-item example (3 % missing) the plan took 6.6 GB (issue 13); 2^23 entries are
#: a few hundred MB and admit about 250,000 such cases.
PLAN_MAX_ENTRIES = 2 ** 23


def _plan_entries(template) -> int:
    """Entries of the sparse matrices :class:`_boot_batch.GroupDesign` would build for the
    data of ``template`` (``sum_i m_i (2 p + 1) + m_i^2`` over the incomplete cases, m_i
    missing variables), without building them."""
    total = 0
    for g in template.groups:
        m = np.isnan(np.asarray(g.data, dtype=float)).sum(axis=1)
        m = m[(m > 0) & (m < g.data.shape[1])]
        total += int((m * (2 * g.data.shape[1] + 1) + m * m).sum())
    return total


def _refit_chunk(args):
    """Refit one chunk of draws in lockstep (:func:`_boot_batch.lockstep_bfgs`, the
    iterations of :func:`_fast_refit` for every draw); a draw that does not converge there
    and did not diverge is refitted the engine's way (:func:`_engine_refit`) within
    :data:`ENGINE_BUDGET` ``max_iter`` evaluations of F, as the per-draw path does.  Returns (estimates, converged, admissible, diverged)."""
    import warnings as _w
    from .._blas import blas_threads
    from ._boot_batch import CONVERGED, DIVERGED, lockstep_bfgs

    plan, payload, draws = args
    pt, template, missing, x0, h_inv, max_iter = payload[:6]
    k = len(x0)
    nb = len(draws)
    est = np.full((nb, k), np.nan)
    ok = np.zeros(nb, dtype=bool)
    adm = np.ones(nb, dtype=bool)
    diverged = np.zeros(nb, dtype=bool)
    with blas_threads(1), _w.catch_warnings():
        _w.simplefilter("ignore")
        plan.set_chunk(draws)
        X, status, _ = lockstep_bfgs(plan.fg, np.repeat(np.asarray(x0, float)[None], nb, axis=0),
                                     h_inv, tol=1e-9, max_iter=max_iter)
        plan.stats = None
        conv = (status == CONVERGED) & np.all(np.isfinite(X), axis=1)
        diverged[:] = status == DIVERGED
        est[conv] = X[conv]
        ok[conv] = True
        if np.any(conv):
            adm[conv] = plan.admissible(X[conv])
        for i in np.flatnonzero(~conv & ~diverged):
            try:
                xb, c, model = _engine_refit(pt, template, missing, x0, h_inv, max_iter,
                                             draws[i], fast=True,
                                             budget=ENGINE_BUDGET * max_iter)
                if c and np.all(np.isfinite(xb)):
                    est[i] = xb
                    ok[i] = True
                    adm[i] = _admissible(model, xb)
            except (np.linalg.LinAlgError, ValueError, FloatingPointError, ModelError):
                pass
    return est, ok, adm, diverged


#: (plan, payload) of the lockstep refits, set before the worker processes are forked so that
#: they inherit it instead of receiving a pickled copy (the data) with every chunk
_FORKED = None


def _refit_chunk_forked(draws):
    """:func:`_refit_chunk` in a forked worker: the plan and payload inherited (``_FORKED``)."""
    plan, payload = _FORKED
    return _refit_chunk((plan, payload, draws))


def _draw_stream(rng, sizes, R):
    """The draws' row indices (per draw, one array per group), generated one draw at a time in
    draw order: the same numbers as a list made up front, without holding R x n indices
    (8 GB for 1,000 draws of 1,000,000 cases)."""
    for _ in range(R):
        yield [rng.integers(0, n, size=n) for n in sizes]


def _worker(args):
    from .._blas import blas_threads
    payload, draws = args[:2]
    progress = args[2] if len(args) > 2 else None
    designs = args[3] if len(args) > 3 else None
    with blas_threads(1):   # one BLAS thread per process: the matrices are tiny
        return _refit_many(payload, draws, progress, designs)


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------
@dataclass
class BootstrapResult:
    """Bootstrap draws of a fitted model.

    ``draws``: R x k estimates of the free (reduced) parameters, NaN rows for failed draws;
    ``defined``: R x d values of the ``:=`` parameters; ``failed``: indices of failed draws
    (``diverged``: those among them whose refit ran away);
    ``nonadmissible``: indices of successful draws with negative variances; ``frame``: the
    parameter rows (lhs, op, rhs, group, label, est) with their column in ``draws``/``defined``.
    """

    R: int
    seed: int | None
    draws: np.ndarray
    defined: np.ndarray
    failed: list
    nonadmissible: list
    x: np.ndarray
    defined_est: np.ndarray
    frame: pd.DataFrame
    warnings: list = field(default_factory=list)
    diverged: list = field(default_factory=list)
    #: processes that refitted the draws (1: the calling process; the per-draw path uses
    #: fewer than ``n_jobs`` where the memory of a refit asks for it, :func:`_refit_workers`)
    n_workers: int = 1

    @property
    def n_successful(self) -> int:
        """Usable draws: the ``R`` requested minus the failed ones."""
        return self.R - len(self.failed)

    def _column(self, i) -> tuple[np.ndarray, float]:
        """(the draws, the estimate) of parameter row ``i`` (:meth:`_draws_of`)."""
        row = self.frame.iloc[i]
        return self._draws_of(row["kind"], row["col"], row["est"])

    def _draws_of(self, kind, col, est) -> tuple[np.ndarray, float]:
        """(the draws, the estimate) of a parameter row of ``kind`` with draw column ``col``
        and estimate ``est``: a free parameter's or a defined one's column of draws, none for
        a fixed one."""
        if kind == "free":
            j = int(col)
            return self.draws[:, j], float(self.x[j])
        if kind == "defined":
            j = int(col)
            return self.defined[:, j], float(self.defined_est[j])
        return np.array([]), float(est)

    def to_frame(self, level: float = 0.95, ci_type: str = "perc") -> pd.DataFrame:
        """Parameter rows with ``est``, bootstrap ``se`` and the ``ci_type`` CI
        (``"perc"`` or ``"bca.simple"``); fixed rows get se 0 and CI (est, est)."""
        if ci_type not in ("perc", "bca.simple"):
            raise ModelError(f"unknown bootstrap CI type {ci_type!r}; use 'perc' or 'bca.simple'")
        se, lo, hi = [], [], []
        # the rows' kind, column and estimate read once (``_column`` reads one row's)
        for kind, col, est in zip(self.frame["kind"].tolist(), self.frame["col"].tolist(),
                                  self.frame["est"].tolist()):
            t, t0 = self._draws_of(kind, col, est)
            t = t[np.isfinite(t)]
            if len(t) == 0:
                se.append(0.0 if kind == "fixed" else np.nan)
                lo.append(t0 if kind == "fixed" else np.nan)
                hi.append(t0 if kind == "fixed" else np.nan)
                continue
            se.append(boot_se(t))
            a, b = percentile_ci(t, level) if ci_type == "perc" else bca_simple_ci(t, t0, level)
            lo.append(a)
            hi.append(b)
        out = self.frame[["lhs", "op", "rhs", "group", "label", "est"]].copy()
        out["se"] = se
        out["ci_lower"] = lo
        out["ci_upper"] = hi
        return out

    def to_dict(self) -> dict:
        return jsonable({"R": self.R, "seed": self.seed, "successful": self.n_successful,
                         "failed": self.failed, "diverged": len(self.diverged),
                         "nonadmissible": len(self.nonadmissible),
                         "parameters": self.to_frame(), "warnings": self.warnings})

    def summary(self) -> str:
        return (f"Bootstrap (nonparametric, R = {self.R}, seed = {self.seed}): "
                f"{self.n_successful} of {self.R} usable, {len(self.failed)} failed "
                f"({len(self.diverged)} diverged), "
                f"{len(self.nonadmissible)} nonadmissible draws")


def _share_chunks(pool_workers: int, chunks, stream, parts: list, tick, submit, local) -> None:
    """Refit the chunks of draws in ``pool_workers`` worker processes and in this process:
    the chunks are taken in order, each chunk's draws from ``stream`` when it is taken; a
    chunk goes to the pool (``submit(draws)``, a future) while fewer than ``pool_workers``
    of its chunks are pending, else this process refits it (``local(draws)``).  ``parts``
    receives the chunks' results in chunk order, so the draws and their order are the same
    as :func:`_refit_chunk` over the chunks one after the other; ``tick`` the number of
    draws of each chunk done, in chunk order (as :func:`_pool_chunks`: the same calls
    whoever refits a chunk).  At most ``pool_workers`` + 1 chunks' draws are held."""
    results = [None] * len(chunks)
    pending = deque()
    ticked = [0]                    # chunks reported to ``tick`` so far (in chunk order)

    def report() -> None:
        while ticked[0] < len(chunks) and results[ticked[0]] is not None:
            if tick is not None:
                tick(len(chunks[ticked[0]]))
            ticked[0] += 1

    def collect(block: bool) -> None:
        while pending and (block or pending[0][1].done()):
            k, fu = pending.popleft()
            results[k] = fu.result()
        report()

    for k, c in enumerate(chunks):
        draws = [next(stream) for _ in c]
        collect(False)
        if len(pending) < pool_workers:
            pending.append((k, submit(draws)))
        else:
            results[k] = local(draws)
            report()
    collect(True)
    parts.extend(results)


def _pool_chunks(ex, workers: int, chunks, stream, parts: list, tick, submit) -> None:
    """Hand the chunks of draws to the pool ``ex`` in order, each chunk's draws taken from
    ``stream`` only when it is submitted, at most ``workers`` + 1 chunks ahead of the results;
    ``parts`` receives the chunks' results in draw order (so the draws and their order are the
    same whatever the number of workers) and ``tick`` the number of draws of each chunk done.
    ``submit(draws)`` returns the future of one chunk."""
    pending = deque()
    for k, c in enumerate(chunks):
        pending.append((c, submit([next(stream) for _ in c])))
        while pending and (len(pending) > workers or k == len(chunks) - 1):
            c0, fu = pending.popleft()
            parts.append(fu.result())
            if tick is not None:
                tick(len(c0))


@single_blas_thread
def bootstrap(fit, R: int = 1000, seed: int | None = None, n_jobs: int = 1,
              warm_start: bool = True, progress=None, max_iter: int = 200,
              setup=None) -> BootstrapResult:
    """Nonparametric bootstrap of ``fit`` (a :class:`~psychometrics.sem.results.CFAFit`).

    ``R`` draws resampling cases within groups; ``seed`` for ``numpy.random.default_rng``;
    ``n_jobs`` worker processes (``-1``: all cores; the draws refitted one by one -- above
    :data:`PLAN_MAX_ENTRIES` -- use fewer where a refit's memory asks for it,
    :func:`_refit_workers`, and the result's ``n_workers`` says how many); ``warm_start``
    starts each refit at the original estimates (else at the engine's start values); ``progress(done, total)`` is
    called as draws finish -- after each chunk of draws refitted in lockstep, or after each
    draw on the per-draw path (a console display; never part of the result); ``max_iter`` caps
    the iterations of a refit.  A draw whose refit diverges or does not converge within the
    caps is dropped and counted (``failed``, ``diverged``; the warning says how many of the
    ``R`` draws were usable).  ``setup(part)``: called with the name of each part of the
    set-up as it begins ("inverse Hessian", "lockstep plan", then "first draws" or, without
    a lockstep plan, "first draws, one by one"; a console display, never part of the result).  Returns :class:`BootstrapResult`
    (``to_frame(ci_type="perc" | "bca.simple")``), as ``lavaan::parameterEstimates`` of a fit
    with ``se = "bootstrap"``.
    """
    from .model import Model

    if not all(hasattr(fit, a) for a in ("partable", "model", "sample", "x", "missing")):
        raise ModelError("bootstrap: fit must be a fitted model from psychometrics.cfa()/sem() "
                         f"(got {type(fit).__name__})")
    estimator, likelihood = _estimator(fit), _likelihood(fit)
    if getattr(fit, "ordinal", False) or estimator not in ("ML", "MLR", "GLS", "ULS"):
        raise ModelError(f"bootstrap: fits with estimator {estimator!r}"
                         f"{' of ordinal indicators' if getattr(fit, 'ordinal', False) else ''} "
                         "cannot be bootstrapped here; the bootstrap refits ML, MLR, GLS and ULS "
                         "fits of continuous data")
    if not isinstance(n_jobs, (int, np.integer)) or (n_jobs < 1 and n_jobs != -1):
        raise ModelError(f"bootstrap: n_jobs must be a positive integer or -1 (got {n_jobs!r})")
    if not isinstance(R, (int, np.integer)) or R < 2:
        raise ModelError(f"bootstrap: R must be an integer of at least 2 (got {R!r})")
    rng = np.random.default_rng(seed)
    sizes = [g.data.shape[0] for g in fit.sample.groups]
    stream = _draw_stream(rng, sizes, R)    # the lockstep path reads it chunk by chunk
    if warm_start:
        x0 = np.asarray(fit.x, dtype=float)
    else:
        xf = fit.model.start_values(fit.sample)
        x0 = np.zeros(fit.x.size)
        seen = set()
        for k, red in enumerate(fit.partable.eq_map):
            if red not in seen:
                x0[red] = xf[k]
                seen.add(red)
    template = copy.copy(fit.sample)
    template.groups = [copy.copy(g) for g in fit.sample.groups]
    for g in template.groups:   # drop cached FIML objects before pickling
        for attr in ("_fiml_patterns", "_fiml_em"):
            g.__dict__.pop(attr, None)
    if setup is not None:
        setup("inverse Hessian")
    h_inv = _initial_inverse_hessian(fit) if warm_start and estimator in ("ML", "MLR") else None
    payload = (fit.partable, template, fit.missing, x0, h_inv, int(max_iter), estimator,
               likelihood)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    n_jobs = max(1, min(int(n_jobs), R))
    tick = _progress_ticker(progress, R)
    if setup is not None:
        setup("lockstep plan")
    plan = _batch_plan(fit, template, x0, h_inv, int(max_iter))
    if setup is not None:
        setup("first draws" if plan is not None else "first draws, one by one")
    if plan is not None:
        # lockstep refits of fixed chunks of draws (the same chunks for any n_jobs)
        size = int(max(1, min(CHUNK, CHUNK_BYTES // max(1, plan.bytes_per_draw()))))
        chunks = [np.arange(a, min(a + size, R)) for a in range(0, R, size)]
        parts = []
        n_workers = 1 if n_jobs == 1 or len(chunks) == 1 else min(n_jobs, len(chunks))
        if n_jobs == 1 or len(chunks) == 1:
            for c in chunks:
                parts.append(_refit_chunk((plan, payload, [next(stream) for _ in c])))
                if tick is not None:
                    tick(len(c))
        else:
            # issue 13 (1,000,000 cases): a chunk's draws are made when it is submitted, at most
            # n_jobs + 1 chunks ahead of the results, and forked workers inherit the plan and
            # the data instead of a pickled copy per chunk; the draws are the same stream
            import gc
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            global _FORKED
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            forked = ctx is not None
            _FORKED = (plan, payload) if forked else None
            # objects that exist now are never collected in the workers: a collection there
            # would walk (and so copy, page by page) the whole inherited heap
            gc.freeze()
            try:
                # the calling process refits chunks too, so n_workers - 1 are forked (one
                # process less to start, warm up and end; the parent no longer only waits)
                workers = min(n_jobs, len(chunks))
                with ProcessPoolExecutor(max_workers=workers - 1, mp_context=ctx) as ex:
                    _share_chunks(workers - 1, chunks, stream, parts, tick,
                                  lambda dr: ex.submit(_refit_chunk_forked, dr) if forked
                                  else ex.submit(_refit_chunk, (plan, payload, dr)),
                                  lambda dr: _refit_chunk((plan, payload, dr)))
            finally:
                gc.unfreeze()
                _FORKED = None
    else:
        # the per-draw path: as many worker processes as n_jobs and the memory of a refit
        # allow (_refit_workers; one: this process, no fork); the draws are made as they are
        # handed out, never all at once (R x n row numbers: 8 GB for 1,000 draws of 10^6
        # cases), and the groups' designs are made once, here, and inherited by forked workers
        workers = _refit_workers(template, n_jobs) if n_jobs > 1 else 1
        designs = _case_designs(template, fit.missing)
        if workers == 1:
            parts = [_worker((payload, (R, stream), tick, designs))]
        else:
            # chunks of about 25 draws (every draw is refitted on its own from the same start,
            # so the results do not depend on the chunking or the number of processes)
            import gc
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            global _FORKED_DRAWS
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            forked = ctx is not None
            _FORKED_DRAWS = (payload, designs) if forked else None
            chunks = np.array_split(np.arange(R), max(workers * 4, -(-R // 25)))
            parts = []
            gc.freeze()       # (as above: no collection in the workers walks the inherited heap)
            try:
                with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
                    _pool_chunks(ex, workers, chunks, stream, parts, tick,
                                 lambda dr: ex.submit(_worker_forked, dr) if forked
                                 else ex.submit(_worker, (payload, dr)))
            finally:
                gc.unfreeze()
                _FORKED_DRAWS = None
        n_workers = workers
    est = np.vstack([p[0] for p in parts])
    ok = np.concatenate([p[1] for p in parts])
    adm = np.concatenate([p[2] for p in parts])
    div = np.concatenate([p[3] for p in parts])
    failed = [int(i) for i in np.flatnonzero(~ok)]
    nonadm = [int(i) for i in np.flatnonzero(ok & ~adm)]
    ndef = len(fit.partable.defined)
    defined = _defined_draws(fit, est, ok) if ndef else np.full((R, 0), np.nan)
    defined_est = np.asarray(fit._defined_values(fit.x), dtype=float) if ndef else np.zeros(0)
    # parameter rows
    pt = fit.partable
    est_rows = fit._est_rows()
    gl = fit.group_labels
    rows = []
    for i in range(pt.nrow):
        free = pt.free[i] > 0
        rows.append({"lhs": pt.lhs[i], "op": pt.op[i], "rhs": pt.rhs[i],
                     "group": gl[pt.group[i] - 1] if fit.ngroups > 1 else None,
                     "label": pt.eq_label[i], "est": est_rows[i],
                     "kind": "free" if free else "fixed",
                     "col": int(pt.eq_map[pt.free[i] - 1]) if free else -1})
    for j, f in enumerate(pt.defined):
        rows.append({"lhs": f.lhs, "op": ":=", "rhs": f.rhs, "group": None, "label": f.lhs,
                     "est": defined_est[j], "kind": "defined", "col": j})
    frame = pd.DataFrame(rows)
    warn = []
    n_div = int(np.sum(div & ~ok))
    if failed:
        why = (f"{n_div} diverged (the resample's likelihood has no maximum, e.g. fewer "
               f"distinct cases than the model needs), {len(failed) - n_div} did not converge"
               if n_div else "did not converge")
        u = R - len(failed)
        warn.append(f"{len(failed)} of {R} bootstrap draws failed ({why}); the bootstrap results "
                    f"use the {u} usable draw{'s' if u != 1 else ''}, the failed "
                    f"{'one was' if len(failed) == 1 else 'ones were'} dropped")
    if nonadm:
        n = len(nonadm)
        warn.append(f"{n} bootstrap draw{'s' if n != 1 else ''} gave nonadmissible solution"
                    f"{'s' if n != 1 else ''} (negative variances)")
    if warn:
        import warnings as _w
        from ..errors import PsychometricsWarning
        for w in warn:
            _w.warn(w, PsychometricsWarning, stacklevel=2)
    del Model
    return BootstrapResult(R=int(R), seed=seed, draws=est, defined=defined, failed=failed,
                           nonadmissible=nonadm, x=np.asarray(fit.x, float), defined_est=defined_est,
                           frame=frame, warnings=warn,
                           diverged=[int(i) for i in np.flatnonzero(div & ~ok)],
                           n_workers=int(n_workers))


def _defined_draws(fit, est, ok) -> np.ndarray:
    """The ``:=`` parameters of every successful draw (rows of ``est`` where ``ok``; NaN rows
    elsewhere): :func:`defined.evaluate`'s expressions, labels and order, evaluated once on
    the columns of the draws instead of draw by draw."""
    from . import defined as _defined

    pt = fit.partable
    defs = fit._defs()
    out = np.full((len(est), len(defs)), np.nan)
    rows = np.flatnonzero(ok)
    if len(rows) == 0:
        return out
    xf = np.asarray(est[rows], dtype=float)[:, np.asarray(fit.model.eq_map, dtype=int)]
    env = {}
    for i in range(pt.nrow):                      # as CFAFit._label_values
        lb = pt.label[i]
        if lb and lb not in env:
            env[lb] = xf[:, pt.free[i] - 1] if pt.free[i] > 0 else np.full(len(rows), pt.ustart[i], dtype=float)
    for j, (name, code) in enumerate(defs):
        with np.errstate(all="ignore"):
            v = eval(code, {"__builtins__": {}}, {**_defined._FUNCS, **env})  # noqa: S307 (checked AST)
        v = np.broadcast_to(np.asarray(v, dtype=float), (len(rows),))
        env[name] = v
        out[rows, j] = v
    return out


def _estimator(fit) -> str:
    """The fit's estimator (upper case; "ML" when the fit does not say)."""
    return str(getattr(fit, "estimator", "ML") or "ML").upper()


def _likelihood(fit) -> str:
    """The fit's ``likelihood`` option ("normal" or "wishart")."""
    opts = getattr(fit, "options", None) or {}
    return str(opts.get("likelihood", "normal") or "normal").lower()


def _progress_ticker(progress, total):
    """``progress(done, total)`` as a per-draw ``tick(k)`` (None without a callback)."""
    if progress is None:
        return None
    state = [0]

    def tick(k=1):
        state[0] += k
        progress(state[0], total)
    return tick
