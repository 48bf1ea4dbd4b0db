"""Pieces shared by :mod:`psychometrics.reliability` and :mod:`psychometrics.validity`.

Both modules need pairwise (bootstrap-weighted) moments of item data and the loadings, factor
covariances and observed / implied covariance matrices of a fitted CFA.  They live here, below
both, so that imports run one way (``validity`` -> ``reliability`` -> this module; issue 12).

* :func:`_weighted_pairwise_moments` -- pairwise-complete covariances and correlations for a
  batch of case weights (R's ``cov``/``cor(use = "pairwise")``);
* :func:`_boot_weights`, :func:`_batches` -- seeded bootstrap case counts, in batches;
* :func:`_fit_matrices` -- lambda, cov.lv, sample and implied covariances of a fitted CFA
  (what ``semTools::AVE`` / ``compRelSEM`` read from a lavaan fit).
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable

import numpy as np
import pandas as pd

from psychometrics.errors import ModelError, PsychometricsError


class ValidityInputError(PsychometricsError):
    """Inputs to a validity analysis are unusable (unknown items, bad mapping, ...)."""


def _weighted_pairwise_moments(x: np.ndarray, w: np.ndarray):
    """Pairwise covariances and correlations for a batch of case weights.

    ``w`` is (B, n): the number of times each case is drawn (a bootstrap
    sample is a row of counts; the plain data is a row of ones).  Returns
    (cov, cor), each (B, p, p), computed with pairwise-complete cases and the
    n - 1 denominator, like R's cov/cor(use = "pairwise").
    """
    n, p = x.shape
    m = (~np.isnan(x)).astype(float)
    # centre first (covariances are shift-invariant) so the one-pass sums do
    # not lose digits when item means are large relative to their SDs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(x, axis=0)
    x0 = np.where(m > 0, x - np.nan_to_num(centre), 0.0)
    mm = (m[:, :, None] * m[:, None, :]).reshape(n, p * p)
    xm = (x0[:, :, None] * m[:, None, :]).reshape(n, p * p)      # x_j where k observed
    xx = (x0[:, :, None] * x0[:, None, :]).reshape(n, p * p)
    x2m = (x0[:, :, None] ** 2 * m[:, None, :]).reshape(n, p * p)  # x_j^2 where k observed
    N = (w @ mm).reshape(-1, p, p)
    Sj = (w @ xm).reshape(-1, p, p)          # sum x_j over pairs (j,k)
    Sk = np.swapaxes(Sj, 1, 2)               # sum x_k over pairs (j,k)
    Sjk = (w @ xx).reshape(-1, p, p)
    Sjj = (w @ x2m).reshape(-1, p, p)
    Skk = np.swapaxes(Sjj, 1, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cxy = Sjk - Sj * Sk / N
        cov = cxy / (N - 1)
        vx = Sjj - Sj ** 2 / N
        vy = Skk - Sk ** 2 / N
        cor = cxy / np.sqrt(vx * vy)
    idx = np.arange(p)
    cor[:, idx, idx] = 1.0
    return cov, cor


def _boot_weights(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Case counts (size, n) of ``size`` bootstrap samples drawn with ``rng``.

    Each bootstrap sample is ``rng.integers(0, n, n)`` (the resampled row
    positions); it is returned as counts so that moments are weighted sums.
    """
    idx = rng.integers(0, n, size=(size, n))
    w = np.zeros((size, n))
    rows = np.repeat(np.arange(size), n)
    np.add.at(w, (rows, idx.ravel()), 1.0)
    return w


def _batches(n_boot: int, n: int, p: int) -> Iterable[int]:
    # keep each batch's (B x p^2) moment arrays and (B x n) weights modest
    per = max(1, min(n_boot, int(2e6 // (n + p * p))))
    done = 0
    while done < n_boot:
        b = min(per, n_boot - done)
        yield b
        done += b


def _first(obj, names):
    for n in names:
        if hasattr(obj, n):
            v = getattr(obj, n)
            v = v() if callable(v) else v
            if v is not None:
                return v
    return None


def _as_matrix(v, names: list[str]) -> np.ndarray:
    """A p x p matrix for ``names`` from a DataFrame / ndarray / per-group list or dict."""
    for _ in range(3):
        if isinstance(v, dict) and "cov" in v:
            v = v["cov"]
        elif isinstance(v, (list, tuple)):
            if len(v) != 1:
                raise ModelError("validity statistics are computed for single-group fits; fit "
                                 "each group separately")
            v = v[0]
        elif isinstance(v, dict):
            if len(v) != 1:
                raise ModelError("validity statistics are computed for single-group fits")
            v = next(iter(v.values()))
    if isinstance(v, pd.DataFrame):
        return v.loc[names, names].to_numpy(dtype=float)
    return np.asarray(v, dtype=float)


def _group_index(fit, pt: pd.DataFrame, group) -> tuple[int, Any]:
    """Position and label of the requested group of a (possibly multi-group) fit."""
    labels = list(getattr(fit, "group_labels", None) or [])
    if not labels and "group" in pt.columns:
        labels = list(dict.fromkeys(pt["group"].dropna()))
    if len(labels) <= 1:
        if group is not None and labels and group != labels[0]:
            raise ValidityInputError(f"group {group!r} is not in this fit (groups: {labels})")
        return 0, (labels[0] if labels else None)
    if group is None:
        raise ValidityInputError(
            f"this is a multi-group fit (groups: {labels}); say which group with group=")
    matches = [i for i, l in enumerate(labels) if l == group or str(l) == str(group)]
    if not matches:
        raise ValidityInputError(f"group {group!r} is not in this fit (groups: {labels})")
    return matches[0], labels[matches[0]]


def _fit_matrices(fit, group=None) -> dict:
    """Loadings, factor covariances and observed / implied covariances of a fitted CFA.

    Reads ``fit.parameters()`` (lhs, op, rhs, group, est) for lambda, the
    model-implied factor covariances (lavaan's cov.lv) and the fit's sample
    and model-implied covariance matrices, for one group (``group``: its
    label; needed when the fit has several).
    """
    if not hasattr(fit, "parameters"):
        raise ValidityInputError(f"expected a fitted CFA (pm.cfa), got {type(fit).__name__}")
    pt = fit.parameters()
    gi, glabel = _group_index(fit, pt, group)
    if "group" in pt.columns and pt["group"].nunique() > 1:
        pt = pt[(pt["group"] == glabel) | (pt["group"].astype(str) == str(glabel))]
    load = pt[pt["op"] == "=~"]
    all_lv = set(load["lhs"].astype(str))
    model = getattr(fit, "model", None)
    ov = _first(fit, ["ov_names", "observed", "observed_names", "ov"])
    # first-order factors: those measured by observed variables (as the rows of
    # lavaan's LAMBDA); higher-order factors are left out, as semTools does
    first = load[~load["rhs"].astype(str).isin(all_lv)]
    factors = list(dict.fromkeys(first["lhs"].astype(str)))
    higher = [f for f in dict.fromkeys(load["lhs"].astype(str)) if f not in factors]
    indicators = list(dict.fromkeys(first["rhs"].astype(str)))
    p, k = len(indicators), len(factors)
    lam = np.zeros((p, k))
    for lhs, rhs, est in zip(first["lhs"].astype(str), first["rhs"].astype(str), first["est"]):
        lam[indicators.index(rhs), factors.index(lhs)] = est
    psi = None
    if model is not None and hasattr(model, "implied") and hasattr(model, "lv") and hasattr(fit, "x"):
        # the engine's model-implied covariances of all variables (observed first, then
        # latent): the latent block is lavaan's cov.lv, which semTools uses as PHI
        c_all = np.asarray(model.implied(fit.x, all_vars=True)[gi][0], dtype=float)
        n_ov = len(model.ov)
        pos = [n_ov + list(model.lv).index(f) for f in factors]
        psi = c_all[np.ix_(pos, pos)]
        higher_var = np.array([c_all[n_ov + list(model.lv).index(h), n_ov + list(model.lv).index(h)]
                               for h in higher])
    elif higher:
        raise ModelError(f"higher-order factor(s) {higher}: this fit does not expose the latent "
                         "covariance matrix needed for the first-order factors")
    if psi is None:
        psi = np.zeros((k, k))
        cov = pt[(pt["op"] == "~~") & pt["lhs"].astype(str).isin(factors)
                 & pt["rhs"].astype(str).isin(factors)]
        for lhs, rhs, est in zip(cov["lhs"].astype(str), cov["rhs"].astype(str), cov["est"]):
            i, j = factors.index(lhs), factors.index(rhs)
            psi[i, j] = psi[j, i] = est
    # loadings of first-order factors on higher-order ones (lavaan's BETA[first, higher])
    beta = np.zeros((k, len(higher)))
    hrows = load[load["lhs"].astype(str).isin(higher) & load["rhs"].astype(str).isin(factors)]
    for lhs, rhs, est in zip(hrows["lhs"].astype(str), hrows["rhs"].astype(str), hrows["est"]):
        beta[factors.index(rhs), higher.index(lhs)] = est
    if not higher:
        higher_var = np.zeros(0)
    s = sig = None
    sample = getattr(fit, "sample", None)
    if sample is not None and hasattr(sample, "groups") and hasattr(sample, "ov_names"):
        # the engine's CFAFit: per-group SampleStats (N-denominator cov; with FIML the
        # saturated-model EM estimates h1_cov, which is what lavaan's "sampstat" returns)
        g0 = sample.groups[gi]
        ov = [str(o) for o in sample.ov_names]
        s = pd.DataFrame(g0.h1_cov if getattr(g0, "h1_cov", None) is not None else g0.cov,
                         index=ov, columns=ov)
        if hasattr(fit, "implied") and callable(fit.implied):
            sig = fit.implied()[gi]
    if s is None:
        s = _first(fit, ["sample_cov", "sample_covariance", "sampstat", "S"])
    if sig is None:
        sig = _first(fit, ["implied_cov", "implied_covariance", "fitted_cov", "Sigma", "sigma"])
    if s is None:
        raise ModelError("the fitted model does not expose its sample covariance matrix")
    if ov is not None and not isinstance(s, pd.DataFrame):
        ov = [str(o) for o in ov]
        sel = [ov.index(i) for i in indicators]
        s = pd.DataFrame(_as_matrix(s, ov)[np.ix_(sel, sel)], index=indicators, columns=indicators)
        if sig is not None:
            sig = pd.DataFrame(_as_matrix(sig, ov)[np.ix_(sel, sel)], index=indicators, columns=indicators)
    fit_data = None
    if sample is not None and hasattr(sample, "groups") and hasattr(sample, "ov_names"):
        gd = getattr(sample.groups[gi], "data", None)
        if gd is not None:
            fit_data = pd.DataFrame(np.asarray(gd, dtype=float),
                                    columns=[str(o) for o in sample.ov_names])
    out = {"fit_data": fit_data,
           "group": glabel, "group_var": getattr(sample, "group_var", None),
           "factors": factors, "indicators": indicators, "lambda": lam, "psi": psi,
           "higher": higher, "beta": beta, "higher_var": higher_var,
           "sample_cov": _as_matrix(s, indicators),
           "implied_cov": _as_matrix(sig, indicators) if sig is not None else None,
           "warnings": ([f"higher-order factor(s) {higher} left out: AVE, composite reliability "
                         f"and HTMT are reported for the first-order factors"] if higher else [])}
    if out["implied_cov"] is None:
        out["implied_cov"] = lam @ psi @ lam.T + _theta(pt, indicators)
    return out


def _theta(pt: pd.DataFrame, indicators: list[str]) -> np.ndarray:
    p = len(indicators)
    th = np.zeros((p, p))
    rows = pt[(pt["op"] == "~~") & pt["lhs"].astype(str).isin(indicators)
              & pt["rhs"].astype(str).isin(indicators)]
    for lhs, rhs, est in zip(rows["lhs"].astype(str), rows["rhs"].astype(str), rows["est"]):
        i, j = indicators.index(lhs), indicators.index(rhs)
        th[i, j] = th[j, i] = est
    return th


def _em_batch(x: np.ndarray, w: np.ndarray, start: tuple, max_iter: int = 500,
              tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray, bool]:
    """EM estimates of the saturated normal model for a batch of case weightings of ``x``.

    ``x`` (n x p, NaN = missing, no all-missing rows); ``w`` (B x n) the case counts of B
    bootstrap resamples; ``start`` ``(mu, Sigma)`` where every resample starts (the full-data
    estimate).  The EM steps of Little & Rubin (2002, ch. 8) -- the same as
    :meth:`psychometrics.sem.fiml.MissingPatterns.em` and lavaan's
    ``lav_mvnorm_missing_h1_estimate_moments`` -- run on all resamples at once: a resample
    only reweights the rows, so the missing-data patterns are shared and each pattern's
    weighted sums are matrix products.  Returns ``(mu (B x p), Sigma (B x p x p),
    converged)``; iteration stops when the largest change over all resamples is below ``tol``.
    """
    x = np.asarray(x, dtype=float)
    n, p = x.shape
    B = w.shape[0]
    obs = ~np.isnan(x)
    x0 = np.where(obs, x, 0.0)
    keys, inverse = np.unique(obs, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    pats = []
    t1_obs = np.zeros((B, p))            # sums over the observed cells: fixed across iterations
    t2_obs = np.zeros((B, p, p))
    for k in range(len(keys)):
        rows = np.flatnonzero(inverse == k)
        o = np.flatnonzero(keys[k])
        m = np.flatnonzero(~keys[k])
        yo = x0[np.ix_(rows, o)]
        wk = w[:, rows]                                   # B x n_k
        s0 = wk.sum(axis=1)                               # B
        s1 = wk @ yo                                      # B x po
        s2 = np.einsum("bi,ij,ik->bjk", wk, yo, yo, optimize=True)   # B x po x po
        t1_obs[:, o] += s1
        t2_obs[:, o[:, None], o[None, :]] += s2
        if m.size:
            pats.append((o, m, s0, s1, s2))
    N = w.sum(axis=1)
    mu = np.repeat(np.asarray(start[0], dtype=float)[None], B, axis=0)
    sigma = np.repeat(np.asarray(start[1], dtype=float)[None], B, axis=0)
    active = np.arange(B)            # resamples not yet converged (each stops on its own)
    for _ in range(max_iter):
        mu_a, sig_a = mu[active], sigma[active]
        # regressions of the missing on the observed variables from the precision matrix
        # K = Sigma^-1: beta = Sigma_mo Sigma_oo^-1 = -K_mm^-1 K_mo, cond. cov = K_mm^-1
        K = np.linalg.inv(sig_a)
        t1 = t1_obs[active].copy()
        t2 = t2_obs[active].copy()
        for o, m, s0, s1, s2 in pats:
            s0, s1, s2 = s0[active], s1[active], s2[active]
            cond = np.linalg.inv(K[:, m[:, None], m[None, :]])                 # B x pm x pm
            beta = -cond @ K[:, m[:, None], o[None, :]]                          # B x pm x po
            a = mu_a[:, m] - np.einsum("bij,bj->bi", beta, mu_a[:, o])
            bs1 = np.einsum("bij,bj->bi", beta, s1)
            t1[:, m] += s0[:, None] * a + bs1
            bs2 = beta @ s2
            cross_mo = a[:, :, None] * s1[:, None, :] + bs2
            as1b = a[:, :, None] * bs1[:, None, :]
            cross_mm = (s0[:, None, None] * (a[:, :, None] * a[:, None, :] + cond)
                        + as1b + np.swapaxes(as1b, 1, 2) + bs2 @ np.swapaxes(beta, 1, 2))
            t2[:, m[:, None], o[None, :]] += cross_mo
            t2[:, o[:, None], m[None, :]] += np.swapaxes(cross_mo, 1, 2)
            t2[:, m[:, None], m[None, :]] += cross_mm
        mu_new = t1 / N[active, None]
        sig_new = t2 / N[active, None, None] - mu_new[:, :, None] * mu_new[:, None, :]
        sig_new = 0.5 * (sig_new + np.swapaxes(sig_new, 1, 2))
        delta = np.maximum(np.abs(mu_new - mu_a).max(axis=1),
                           np.abs(sig_new - sig_a).max(axis=(1, 2)))
        mu[active], sigma[active] = mu_new, sig_new
        active = active[delta >= tol]
        if active.size == 0:
            break
    return mu, sigma, bool(active.size == 0)
