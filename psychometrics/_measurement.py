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


#: numbers in each block of the cases' products in :func:`_weighted_pairwise_moments`
PAIRWISE_BLOCK = 1_000_000
#: from this many resamples in a batch, :func:`_weighted_pairwise_moments` forms the cases' p x p
#: products once (per block of cases) for all of them; below, it weights the data per resample
PAIRWISE_PRODUCTS_FROM = 16
#: :class:`_EMCases`: a missing-data pattern shared by at least this many cases enters the EM
#: steps of the HTMT bootstrap through its weighted sums (read once per resample) instead of
#: case by case; None: p (the number of variables), where the two cost about the same per step
PATTERN_SUMS_FROM: float | None = None
#: :class:`_EMCases`: from this many cases read cell by cell, their fills are dense blocks
#: (three matrix products per EM step) instead of gathers per missing cell; below, the Python
#: loop per resample of the dense blocks costs more (the demo's 324 cases: 1.8 against 3.8 ms
#: a draw)
DENSE_FILLS_FROM = 5000
#: :class:`_EMCases`: data of at most this many cells (n x p) are kept zero-filled in the
#: order they are read (8 MB); larger data are read in blocks of rows from the caller's array
#: or columns each time a resample's sums are formed, and only the cases with missing cells
#: read cell by cell are copied (issue 13: at 1,000,000 cases a copy of the data was 272 MB)
EM_KEEP_CELLS = 1_000_000


def _weighted_pairwise_moments(x: np.ndarray, w: np.ndarray, block: int | None = None):
    """Pairwise covariances and correlations for a batch of case weights.

    ``w`` is (B, n): the number of times each case is drawn (a bootstrap
    sample is a row of counts; the plain data is a row of ones).  Returns
    (cov, cor), each (B, p, p), computed with pairwise-complete cases and the
    n - 1 denominator, like R's cov/cor(use = "pairwise").

    The sums over the cases observed on both items of a pair (counts, sums, sums of
    squares and cross products) are products of the weights with the data: for a batch of
    at least :data:`PAIRWISE_PRODUCTS_FROM` resamples, the weights times the cases' p x p
    indicator and cross-product arrays, built for ``block`` cases at a time; for fewer
    resamples (large n), each resample's weighted data times the data (``M'WM``, ``X'WM``,
    ``(X o X)'WM``, ``X'WX``), ``block`` cases at a time.  Either way memory does not grow
    with n beyond the data itself (issue 13: a 1,000,000-case study; it was four n x p^2
    arrays), and the sums are the same to rounding.  Complete data need only the cross
    products.
    """
    n, p = x.shape
    w = np.asarray(w, dtype=float)
    B = w.shape[0]
    obs = ~np.isnan(x)
    complete = bool(obs.all())
    m = obs.astype(float)
    # centre first (covariances are shift-invariant) so the one-pass sums do
    # not lose digits when item means are large relative to their SDs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(x, axis=0)
    x0 = np.where(obs, x - np.nan_to_num(centre), 0.0)
    if B >= PAIRWISE_PRODUCTS_FROM:
        # many resamples: the cases' p x p products, a block of cases at a time, times the
        # weights of all resamples (one large matrix product per block)
        rows = max(1, int(block or PAIRWISE_BLOCK // (p * p)))
        Sjk = np.zeros((B, p * p))
        if not complete:
            N, Sj, Sjj = np.zeros((B, p * p)), np.zeros((B, p * p)), np.zeros((B, p * p))
        for r0 in range(0, n, rows):
            wb, mb, xb = w[:, r0:r0 + rows], m[r0:r0 + rows], x0[r0:r0 + rows]
            Sjk += wb @ (xb[:, :, None] * xb[:, None, :]).reshape(-1, p * p)
            if not complete:
                N += wb @ (mb[:, :, None] * mb[:, None, :]).reshape(-1, p * p)
                Sj += wb @ (xb[:, :, None] * mb[:, None, :]).reshape(-1, p * p)  # x_j, k observed
                Sjj += wb @ (xb[:, :, None] ** 2 * mb[:, None, :]).reshape(-1, p * p)
        Sjk = Sjk.reshape(B, p, p)
        if not complete:
            N, Sj, Sjj = N.reshape(B, p, p), Sj.reshape(B, p, p), Sjj.reshape(B, p, p)
    else:
        # few resamples (large n): per resample, the weighted data times the data,
        # N = M'WM, sum x_j = X'WM, sum x_j^2 = (X o X)'WM, sum x_j x_k = X'WX (W = diag(w))
        rows = max(1, int(block or PAIRWISE_BLOCK // p))
        Sjk = np.zeros((B, p, p))
        if not complete:
            N, Sj, Sjj = np.zeros((B, p, p)), np.zeros((B, p, p)), np.zeros((B, p, p))
        for b in range(B):
            for r0 in range(0, n, rows):
                wb, mb, xb = w[b, r0:r0 + rows, None], m[r0:r0 + rows], x0[r0:r0 + rows]
                xw = xb * wb
                Sjk[b] += xw.T @ xb
                if not complete:
                    N[b] += (mb * wb).T @ mb
                    Sj[b] += xw.T @ mb
                    Sjj[b] += (xw * xb).T @ mb
    if complete:
        N = np.broadcast_to(w.sum(axis=1)[:, None, None], (B, p, p))
        Sj = np.broadcast_to((w @ x0)[:, :, None], (B, p, p))         # sum x_j over pairs (j,k)
        Sjj = np.broadcast_to((w @ (x0 * x0))[:, :, None], (B, p, p))
    Sk = np.swapaxes(Sj, 1, 2)               # sum x_k over pairs (j,k)
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
    w = np.empty((size, n))
    for b in range(size):
        w[b] = np.bincount(idx[b], minlength=n)
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
            # the fit's own array, not a copy (pandas >= 3 copies an array by default: 272 MB
            # at 1,000,000 cases of 34 items, issue 13); nothing here writes to it
            fit_data = pd.DataFrame(np.asarray(gd, dtype=float),
                                    columns=[str(o) for o in sample.ov_names], copy=False)
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


class _EMCases:
    """The missing-data structure of ``x`` (n x p, NaN = missing, no all-missing rows), read
    once for the EM of many case weightings (bootstrap resamples) in :func:`_em_batch`.

    A resample only reweights the rows, so everything that does not depend on the current
    ``(mu, Sigma)`` is fixed here: the zero-filled data, the missing cells (case and
    variable, also sorted by variable), the patterns grouped by their number of missing
    variables, and the pairs of missing cells within a case (where the E-step adds
    ``E[y_j y_k | y_o]``), sorted by the p x p sum they go to.  Weighted sums for a batch of
    resamples are then matrix products of the case counts with these arrays.  Memory is
    O(n p) (the data) plus O(missing cells); nothing of size n x p^2 or cells x p is kept.

    Issue 13 (1,000,000 cases): a pattern shared by at least ``pattern_from`` cases (default
    :data:`PATTERN_SUMS_FROM`, i.e. p) enters the E-step through its weighted sums
    ``(N_g, sum w x, sum w x x')``, formed once per resample in the same pass over the data as
    the observed sums (:meth:`weighted_sums`); an EM step then costs O(r p^2) per such pattern
    whatever its number of cases (with 5 % MCAR on 34 items nearly all cases are in the 600 or
    so patterns with at most two missing items).  The cases of the rarer patterns are read
    cell by cell: with ``dense`` (default: from :data:`DENSE_FILLS_FROM` such cases) as one contiguous block of rows and three matrix
    products per step (:meth:`_dense_fills`), else by the gathers of the path before (kept to
    check against).  Every split is the same E-step (Little & Rubin 2002, ch. 8) up to
    rounding.  The rows of ``x0`` are reordered once so that each block is contiguous.
    """

    def __init__(self, x, pattern_from: float | None = None, dense: bool | None = None,
                 rows: np.ndarray | None = None):
        # the data are read, not copied: ``x`` an n x p array, or a sequence of p columns (1-d
        # arrays of equal length, e.g. a data frame's columns) with ``rows`` the positions of
        # the cases among them (None: all); blocks of cases are gathered from them when needed
        if isinstance(x, np.ndarray) and x.ndim == 2:
            self._x = np.asarray(x, dtype=float)
            self._cols, self._rows = None, None
            n, p = self._x.shape
        else:
            self._x = None
            self._cols = [np.asarray(c) for c in x]
            self._rows = None if rows is None else np.asarray(rows, dtype=np.intp)
            p = len(self._cols)
            n = len(self._cols[0]) if self._rows is None else self._rows.size
        self.n, self.p = n, p
        keys, inverse, counts = self._pattern_keys()
        # patterns shared by at least `pattern_from` cases (p by default) enter the E-step
        # through their weighted sums (N_g, sum w x, sum w x x'), read once per resample; the
        # cases of rarer patterns keep their missing cells (treated as complete in the cell
        # arrays below for the others)
        if pattern_from is None:
            pattern_from = PATTERN_SUMS_FROM
        thr = p if pattern_from is None else pattern_from
        stat = counts >= max(thr, 1)
        self._pattern_sums_init(keys, inverse, counts, stat)
        # missing variables of each case outside the patterns read through their sums
        n_mis = (np.where(stat, 0, (~keys).sum(axis=1)).astype(np.int32))[inverse]
        rare = np.flatnonzero(n_mis > 0)
        pat_rare = inverse[rare]                            # the pattern of each such case
        del inverse
        # the cases with missing cells as one zero-filled block of rows (``x_rare``: all the
        # EM steps read of the data), their missing cells by case then variable
        raw = self._gather(rare, fill=False)
        li, cj = np.nonzero(np.isnan(raw))
        np.nan_to_num(raw, copy=False, nan=0.0)
        self.x_rare = raw
        ci = rare[li]
        self.ci, self.cj = ci, cj
        self.cell_row = li                                  # a cell's row in ``x_rare``
        if dense is None:       # few such cases (small data): the gathers cost less per step
            dense = int(rare.size) >= DENSE_FILLS_FROM
        # the order in which the cases are read for the sums of a resample: the cases of the
        # patterns read through their sums (pattern by pattern), the other complete cases, then
        # the cases with missing cells (case counts stay in the order of the data)
        other = np.setdiff1d(self.rest_rows, rare, assume_unique=True)
        self.perm = np.concatenate([self.stat_rows, other, rare])
        self.stat_rows = self.perm[:self.stat_rows.size]
        self.rest_rows = self.perm[self.stat_rows.size:]
        del other
        # cells sorted by variable, for the sums x_l * E[y_j] over the cells of variable j
        self.by_j = np.argsort(cj, kind="stable")
        js = cj[self.by_j]
        self.j_starts = np.flatnonzero(np.r_[True, js[1:] != js[:-1]]) if js.size else js
        self.j_vars = js[self.j_starts] if js.size else js
        ends = np.r_[self.j_starts[1:], js.size] if js.size else js
        self.j_slices = [self.by_j[a:b] for a, b in zip(self.j_starts, ends)]
        self.ci_j = [li[sl] for sl in self.j_slices]   # rows (in x_rare) of each variable's cells
        # pattern groups by number of missing variables r: the missing sets (Pg x r), the
        # group's cells (case by case), each case's pattern row, and all pairs of cells of
        # the same case (ordered, with c1 == c2) with their position in the conditional cov
        self.groups = []
        pair_c1, pair_c2 = [], []
        rare_mis = n_mis[rare]
        del n_mis
        cell_mis = rare_mis[li]
        # the first cell (in ``ci``) of each case with missing cells
        first = np.concatenate([[0], np.cumsum(rare_mis)])[:-1]
        for r in np.unique(rare_mis):
            in_r = rare_mis == r
            cases = rare[in_r]
            pats = np.unique(pat_rare[in_r])
            M = np.array([np.flatnonzero(~keys[k]) for k in pats])
            cells = np.flatnonzero(cell_mis == r)
            kcase = np.searchsorted(pats, pat_rare[in_r])
            f = first[in_r]
            qa = np.arange(r if not dense else 0)
            c1 = (f[:, None, None] + qa[None, :, None] + 0 * qa[None, None, :]).ravel()
            c2 = (f[:, None, None] + 0 * qa[None, :, None] + qa[None, None, :]).ravel()
            pk = np.repeat(kcase, r * r)
            pq1 = np.tile(np.repeat(qa, r), cases.size)
            pq2 = np.tile(np.tile(qa, r), cases.size)
            start = sum(len(c) for c in pair_c1)
            self.groups.append({"M": M, "r": int(r), "cells": cells, "kcase": kcase,
                                "cases": cases, "mm": (M[:, :, None] * p + M[:, None, :]).ravel(),
                                "pairs": np.arange(start, start + c1.size), "pk": pk,
                                "pq1": pq1, "pq2": pq2})
            if not dense:
                pair_c1.append(c1)
                pair_c2.append(c2)
        del first
        pc1 = np.concatenate(pair_c1) if pair_c1 else np.zeros(0, int)
        pc2 = np.concatenate(pair_c2) if pair_c2 else np.zeros(0, int)
        # the pairs sorted by their target cell (j, k) of the p x p sums, so that one
        # reduceat adds them up; each group's pairs at their sorted positions
        tgt = cj[pc1] * p + cj[pc2]
        order = np.argsort(tgt, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        for g in self.groups:
            g["pairs"] = rank[g["pairs"]]
        self.pc1, self.pc2 = pc1[order], pc2[order]
        ts = tgt[order]
        self.p_starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]]) if ts.size else ts
        self.p_targets = ts[self.p_starts] if ts.size else ts
        # dense fills (default): the cases with missing cells are the rows of ``x_rare``
        self.dense = bool(dense)
        self.rare = rare
        # small data: the zero-filled cases in reading order, kept (the sums of a resample
        # are then single products, as before); larger data are read in blocks of rows from
        # the caller's data, so nothing of size n x p is held here (issue 13: 1,000,000 cases)
        self.x0 = self._gather(self.perm) if n * p <= EM_KEEP_CELLS else None

    def available_case_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, var)`` of every variable over its observed cells (``var`` with N in the
        denominator), as :func:`psychometrics.sem.fiml.available_case_moments` computes them
        for the n x p data (the same expressions, on the same blocks of rows), without an
        n x p copy beyond one block."""
        from psychometrics.sem.fiml import MOMENT_BLOCK_ROWS, available_case_moments
        n, p = self.n, self.p
        if n <= MOMENT_BLOCK_ROWS:
            return available_case_moments(self._gather(np.arange(n), fill=False))
        total, count, ss = np.zeros(p), np.zeros(p), np.zeros(p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for a in range(0, n, MOMENT_BLOCK_ROWS):
                blk = self._gather(np.arange(a, min(n, a + MOMENT_BLOCK_ROWS)), fill=False)
                total += np.nansum(blk, axis=0)
                count += np.sum(~np.isnan(blk), axis=0)
            mean = total / count
            for a in range(0, n, MOMENT_BLOCK_ROWS):
                blk = self._gather(np.arange(a, min(n, a + MOMENT_BLOCK_ROWS)), fill=False)
                ss += np.nansum((blk - mean) ** 2, axis=0)
        return mean, ss / count

    def em(self, max_iter: int = 500, tol: float = 1e-5, start=None):
        """EM estimates of the saturated normal model from all cases (each counted once):
        ``(mu, Sigma, n_iter, converged)``.  The algorithm, start and stopping rule of
        :meth:`psychometrics.sem.fiml.MissingPatterns._em` (lavaan's
        ``lav_mvnorm_missing_h1_estimate_moments``: start at the available-case means and
        variances, plain EM steps, stop when ``max |change of [mu, vech(Sigma)]| < tol``, a
        tiny ridge when Sigma is nearly singular), with the E-step of :meth:`step` (the same
        E-step, Little & Rubin 2002, ch. 8), so the same estimates to rounding; it reads the
        data through this object's pattern sums and blocks, so it needs no other copy of them
        (issue 13).  ``start`` ``(mu, Sigma)`` replaces the start."""
        p = self.p
        if start is not None:
            mu0, sigma0 = np.asarray(start[0], dtype=float), np.asarray(start[1], dtype=float)
        else:
            mu0, var0 = self.available_case_moments()
            var0 = np.where(~np.isfinite(var0) | (var0 == 0), 1.0, var0)
            mu0 = np.where(np.isfinite(mu0), mu0, 0.0)
            sigma0 = np.diag(var0)
        w = np.ones((1, self.n))
        t1_obs, t2_obs, N, pst = self.weighted_sums(w)
        mu, sigma = mu0, sigma0
        converged = False
        it = 0
        iu = np.triu_indices(p)
        for it in range(1, max_iter + 1):
            m, s = self.step(w, mu0[None], sigma0[None], t1_obs, t2_obs, N, pst)
            mu, sigma = m[0], s[0]
            if np.linalg.eigvalsh(sigma).min() < 1e-6:
                sigma[np.diag_indices(p)] += np.max(np.diag(sigma)) * 1e-8
            delta = max(np.max(np.abs(mu - mu0)), np.max(np.abs(sigma[iu] - sigma0[iu])))
            if delta < tol:
                converged = True
                break
            mu0, sigma0 = mu, sigma
        return mu, sigma, it, converged

    def _gather(self, idx: np.ndarray, fill: bool = True) -> np.ndarray:
        """The cases ``idx`` (positions 0..n-1) as a new C-ordered ``len(idx) x p`` array,
        missing cells as 0 (``fill``) or NaN."""
        if self._x is not None:
            b = self._x[idx]
        else:
            src = idx if self._rows is None else self._rows[idx]
            b = np.empty((len(idx), self.p))
            for j, c in enumerate(self._cols):
                b[:, j] = c[src]
        if fill:
            np.nan_to_num(b, copy=False, nan=0.0)
        return b

    def _pattern_keys(self):
        """``(keys, inverse, counts)`` of the missing-data patterns, as ``np.unique(~isnan(x),
        axis=0, return_inverse=True, return_counts=True)`` (the same patterns in the same
        order: rows of booleans sorted lexicographically).  Up to 64 variables the patterns are
        coded as one 64-bit integer a case (the first variable in the highest bit, so the
        integers sort as the rows do), built column by column: no n x p boolean array."""
        n, p = self.n, self.p
        if p > 64:
            obs = np.empty((n, p), dtype=bool)
            for j in range(p):
                obs[:, j] = ~np.isnan(self._column(j))
            keys, inverse, counts = np.unique(obs, axis=0, return_inverse=True,
                                              return_counts=True)
            return keys, np.asarray(inverse).ravel(), counts
        code = np.zeros(n, dtype=np.uint64)
        for j in range(p):
            bit = np.uint64(1) << np.uint64(63 - j)
            code |= np.where(np.isnan(self._column(j)), np.uint64(0), bit)
        ucode, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
        del code
        shifts = (np.uint64(63) - np.arange(p, dtype=np.uint64))
        keys = ((ucode[:, None] >> shifts[None, :]) & np.uint64(1)).astype(bool)
        return keys, np.asarray(inverse).ravel(), counts

    def _column(self, j: int) -> np.ndarray:
        """Variable ``j`` of every case (NaN = missing), a view where possible."""
        if self._x is not None:
            return self._x[:, j]
        c = self._cols[j]
        return c if self._rows is None else c[self._rows]

    def _pattern_sums_init(self, keys, inverse, counts, stat):
        """The cases of the patterns read through weighted sums (``stat``: one flag per
        pattern), sorted by pattern; the others' rows; and, for the incomplete patterns among
        them grouped by their number r of missing variables, the missing sets and the flat
        p x p positions their fills are added to."""
        p = self.p
        rows = np.flatnonzero(stat[inverse])
        order = np.argsort(inverse[rows], kind="stable")
        self.stat_rows = rows[order]                       # the cases, pattern by pattern
        pats = np.flatnonzero(stat)
        self.stat_starts = np.r_[0, np.cumsum(counts[pats])]
        self.rest_rows = np.flatnonzero(~stat[inverse])    # cases of the rarer patterns
        n_mis = (~keys[pats]).sum(axis=1)
        # positions among the stat patterns of the incomplete ones, grouped by r (stable), so
        # that each group's sums are a slice of the arrays of :meth:`weighted_sums` (no copy)
        inc = np.flatnonzero(n_mis > 0)
        self.fill_index = inc[np.argsort(n_mis[inc], kind="stable")]
        self.pat_groups = []
        for r in np.unique(n_mis[n_mis > 0]):
            at = np.flatnonzero(n_mis[self.fill_index] == r)   # positions among fill patterns
            sel = slice(int(at[0]), int(at[-1]) + 1)
            M = np.array([np.flatnonzero(~keys[pats[self.fill_index[t]]]) for t in at])
            self.pat_groups.append({
                "r": int(r), "sel": sel, "M": M,
                "t1": M.ravel(),
                "rows": (M[:, :, None] * p + np.arange(p)[None, None, :]).ravel(),
                "mm": (M[:, :, None] * p + M[:, None, :]).ravel()})

    def _reading_blocks(self, a: int, b: int, rows_per: int):
        """Consecutive blocks ``(r0, r1, xb)`` of the cases ``perm[a:b]`` (the reading order)
        with ``xb`` their zero-filled rows: slices of ``x0`` when the data are small enough
        to be kept (:data:`EM_KEEP_CELLS`), else gathered block by block from the data."""
        for r0 in range(a, b, rows_per):
            r1 = min(b, r0 + rows_per)
            yield r0, r1, (self.x0[r0:r1] if self.x0 is not None
                           else self._gather(self.perm[r0:r1]))

    def weighted_sums(self, w: np.ndarray):
        """The sums an EM step of the resamples ``w`` (case counts, B x n) starts from, in one
        pass over the cases: ``t1_obs`` (B x p) and ``t2_obs`` (B x p x p), ``sum_i w_bi x_i``
        and ``sum_i w_bi x_i x_i'`` over all cases (missing cells as 0), ``N`` (B), and for the
        patterns read through their sums (``pattern_from`` cases or more) the tuple
        ``(N_g (B x G), S1_g (B x G x p), S2_g (B x G x p x p))`` of the same sums over each
        pattern's cases (or None when there are none).  ``t2_obs`` is the sum of the patterns'
        ``S2_g`` and the other cases' cross products; for no such pattern it is
        :meth:`weighted_cross_products`.  Above :data:`EM_KEEP_CELLS` cells the cases are
        gathered from the data in blocks of rows (``t1_obs`` then summed block by block: the
        same sums in another order)."""
        w = np.asarray(w, dtype=float)
        B, p = w.shape[0], self.p
        kept = self.x0 is not None
        t1_obs = w[:, self.perm] @ self.x0 if kept else np.zeros((B, p))
        N = w.sum(axis=1)
        rows_per = max(1, PAIRWISE_BLOCK // p)
        if self.fill_index.size == 0:         # no incomplete pattern read through its sums
            if kept:
                return t1_obs, self.weighted_cross_products(w), N, None
            t2 = np.zeros((B, p, p))
            for r0, r1, xb in self._reading_blocks(0, self.n, rows_per):
                wb = w[:, self.perm[r0:r1]]
                t1_obs += wb @ xb
                for k in range(B):
                    t2[k] += (xb.T * wb[k]) @ xb
            return t1_obs, t2, N, None
        t2 = np.zeros((B, p, p))
        G = self.fill_index.size
        Ng, S1, S2 = np.zeros((B, G)), np.zeros((B, G, p)), np.zeros((B, G, p, p))
        fill_of = np.full(self.stat_starts.size - 1, -1)
        fill_of[self.fill_index] = np.arange(G)
        for g in range(self.stat_starts.size - 1):
            a, b = self.stat_starts[g], self.stat_starts[g + 1]
            t = fill_of[g]
            s2 = t2 if t < 0 else S2[:, t]
            for r0, r1, xb in self._reading_blocks(a, b, rows_per):
                wb = w[:, self.stat_rows[r0:r1]]
                for k in range(B):                   # one BLAS product per resample
                    s2[k] += (xb.T * wb[k]) @ xb
                if t >= 0:
                    S1[:, t] += wb @ xb
                if not kept:
                    t1_obs += wb @ xb
            if t >= 0:
                Ng[:, t] = w[:, self.stat_rows[a:b]].sum(axis=1)
        t2 += S2.sum(axis=1)
        rest, off = self.rest_rows, self.stat_rows.size
        for r0, r1, xb in self._reading_blocks(off, self.n, rows_per):
            wb = w[:, rest[r0 - off:r1 - off]]
            for k in range(B):
                t2[k] += (xb.T * wb[k]) @ xb
            if not kept:
                t1_obs += wb @ xb
        return t1_obs, t2, N, (Ng, S1, S2)

    def _pattern_fills(self, K, mu, pst, t1, t2):
        """Add the E-step's fills of the patterns read through their sums ``pst`` (from
        :meth:`weighted_sums`) to ``t1`` (B x p) and ``t2`` (B x p x p), in place.

        For a pattern with missing set m the fill is linear in the zero-filled case x:
        ``E[y_m | y_o] = a + A x`` with ``C = K_mm^-1`` (= cov(y_m | y_o)), ``A = -C K_m.``
        and ``a = C (K mu)_m``, so its weighted sums are ``N_g a + A S1``, the products with
        the observed values ``a S1' + A S2`` and ``sum E[y_m y_m'] = N_g (a a' + C) +
        a (A S1)' + (A S1) a' + A S2 A'`` (the same E-step as the case-wise one)."""
        Ng, S1, S2 = pst
        B, p = mu.shape
        Kmu = np.matmul(K, mu[:, :, None])[:, :, 0]
        f1 = np.zeros((B, p))
        rowsum = np.zeros((B, p * p))
        mmsum = np.zeros((B, p * p))
        for g in self.pat_groups:
            M, sel = g["M"], g["sel"]
            C = np.linalg.inv(K[:, M[:, :, None], M[:, None, :]])          # B x G x r x r
            A = -np.matmul(C, K[:, M, :])                                  # B x G x r x p
            a = np.matmul(C, Kmu[:, M][..., None])[..., 0]                # B x G x r
            n_g, s1, s2 = Ng[:, sel], S1[:, sel], S2[:, sel]
            AS1 = np.matmul(A, s1[..., None])[..., 0]
            AS2 = np.matmul(A, s2)
            sf = n_g[..., None] * a + AS1
            mo = a[..., None] * s1[:, :, None, :] + AS2
            aAS1 = a[..., :, None] * AS1[..., None, :]
            mm = (n_g[..., None, None] * (a[..., :, None] * a[..., None, :] + C) + aAS1
                  + np.swapaxes(aAS1, -1, -2) + np.matmul(AS2, np.swapaxes(A, -1, -2)))
            for b in range(B):
                f1[b] += np.bincount(g["t1"], sf[b].ravel(), minlength=p)
                rowsum[b] += np.bincount(g["rows"], mo[b].ravel(), minlength=p * p)
                mmsum[b] += np.bincount(g["mm"], mm[b].ravel(), minlength=p * p)
        t1 += f1
        rs = rowsum.reshape(B, p, p)
        t2 += rs
        t2 += np.swapaxes(rs, 1, 2)
        t2 += mmsum.reshape(B, p, p)

    def _dense_fills(self, w, K, mu, t1, t2):
        """Add the E-step's fills of the cases read cell by cell (the rarer patterns) to ``t1``
        and ``t2`` (B x p, B x p x p), in place, with products of the contiguous block of those
        cases (``x_rare``, zero-filled): ``U = X K - (K mu)'`` gives ``u`` at every missing cell,
        the fills ``f = -K_mm^-1 u_m`` go into a zero-filled block ``F`` of the same shape
        (weighted by the case counts: ``G``), and the sums are ``1'G``, ``G'X`` (+ its
        transpose: the products of fills with observed values) and ``G'F`` (products of fills
        within a case); the conditional covariances ``K_mm^-1`` are added once per pattern,
        times the pattern's summed case counts."""
        C = self.ci.size
        if C == 0:
            return
        B, p = mu.shape
        X = self.x_rare
        nr = X.shape[0]
        Kmu = np.matmul(K, mu[:, :, None])[:, :, 0]              # B x p
        rows = max(1, PAIRWISE_BLOCK // p)
        cr, cj = self.cell_row, self.cj
        u = np.empty((C, B))
        bounds = np.searchsorted(cr, np.arange(0, nr + rows, rows))
        for k in range(B):
            for t, r0 in enumerate(range(0, nr, rows)):
                a, b = bounds[t], bounds[t + 1]
                U = X[r0:r0 + rows] @ K[k]                     # K symmetric: row i is K x_i
                u[a:b, k] = U[cr[a:b] - r0, cj[a:b]]
            u[:, k] -= Kmu[k, cj]
        f = np.empty((C, B))
        mm = np.zeros((B, p * p))
        for g, cmm in self._conditional_means(K, u, f, B):
            M = g["M"]
            for k in range(B):
                nw = np.bincount(g["kcase"], w[k, g["cases"]], minlength=len(M))
                mm[k] += np.bincount(g["mm"], (cmm[..., k] * nw[:, None, None]).ravel(),
                                     minlength=p * p)
        wr = w[:, self.rare]
        for k in range(B):
            gx = np.zeros((p, p))
            gf = np.zeros((p, p))
            for t, r0 in enumerate(range(0, nr, rows)):
                a, b = bounds[t], bounds[t + 1]
                xb = X[r0:r0 + rows]
                F = np.zeros(xb.shape)
                F[cr[a:b] - r0, cj[a:b]] = f[a:b, k]
                G = F * wr[k, r0:r0 + rows, None]
                t1[k] += G.sum(axis=0)
                gx += G.T @ xb
                gf += G.T @ F
            t2[k] += gx
            t2[k] += gx.T
            t2[k] += gf
        t2 += mm.reshape(B, p, p)

    def weighted_cross_products(self, w: np.ndarray) -> np.ndarray:
        """``(B x p x p)``: ``sum_i w_bi x_i x_i'`` over the cases (missing cells as 0) for each
        row of the case counts ``w`` (B x n) -- one ``p x n`` by ``n x p`` product per resample,
        so no ``n x p^2`` array of the cases' cross products is built (issue 13: that array was
        0.46 GB at 50,000 cases of 34 items)."""
        w = np.asarray(w, dtype=float)
        if self.x0 is None:                   # large data: the cases in blocks of rows
            out = np.zeros((w.shape[0], self.p, self.p))
            for r0, r1, xb in self._reading_blocks(0, self.n, max(1, PAIRWISE_BLOCK // self.p)):
                for b in range(w.shape[0]):
                    out[b] += (xb.T * w[b, self.perm[r0:r1]]) @ xb
            return out
        out = np.empty((w.shape[0], self.p, self.p))
        for b in range(w.shape[0]):
            out[b] = (self.x0.T * w[b, self.perm]) @ self.x0
        return out

    def _conditional_means(self, K, u, f, B):
        """For each group of patterns with ``r`` missing variables: ``cov(y_m | y_o) =
        K_mm^-1`` of its patterns (Pg x r x r x B, yielded with the group) and, written into
        ``f`` at the group's missing cells, the conditional means ``-K_mm^-1 u_m`` (``u = K
        (x0 - mu)`` at the missing cells, see :meth:`step`)."""
        for g in self.groups:
            M, r, cells = g["M"], g["r"], g["cells"]
            kmm = np.moveaxis(K[:, M[:, :, None], M[:, None, :]], 0, -1)   # Pg x r x r x B
            cmm = _inv_small(kmm)                                        # cov(y_m | y_o)
            if r == 1:
                f[cells] = -u[cells] * cmm[g["kcase"], 0, 0]
            else:
                uc = u[cells].reshape(-1, 1, r, B)                      # cases x 1 x r x B
                f[cells] = -(cmm[g["kcase"]] * uc).sum(axis=2).reshape(-1, B)
            yield g, cmm

    def step(self, w, mu, sigma, t1_obs, t2_obs, N, pst=None, K=None):
        """One EM step for a batch of resamples (case counts ``w``, B x n) from ``(mu, Sigma)``
        (B x p, B x p x p); ``t1_obs``, ``t2_obs`` the weighted sums over the observed cells
        (zero-filled data); ``pst`` the sums of the patterns read through their sums (the last
        item of :meth:`weighted_sums`; computed from ``w`` when None and there are such
        patterns).  Returns the new ``(mu, Sigma)``.

        The conditional means come from the precision matrix K = Sigma^-1: for a case with
        missing set m, ``E[y_m | y_o] = mu_m - K_mm^-1 K_mo (y_o - mu_o) = -K_mm^-1 u_m`` with
        ``u = K (x0 - mu)`` (x0 the zero-filled case), and ``cov(y_m | y_o) = K_mm^-1``; ``u``
        is needed at the missing cells only, one product of the cells' cases with a row of K
        per variable.  ``K``: ``Sigma^-1`` when already known (else from :func:`_spd_inverse`)."""
        B, p = mu.shape
        if K is None:
            K = _spd_inverse(sigma)[0]
        if self.dense:
            t1, t2 = t1_obs.copy(), t2_obs.copy()
            self._dense_fills(w, K, mu, t1, t2)
            return self._moments(w, K, mu, pst, t1, t2, N)
        C = self.ci.size
        # per-cell arrays are cells x resamples (rows gathered by cell index are contiguous)
        # u at every missing cell (case i, variable j): x0_i . K_j - (mu K)_j; the cells' cases
        # are gathered variable by variable (not kept: C x p numbers at 1,000,000 cases)
        u = np.empty((C, B))
        for j, sl, cj in zip(self.j_vars, self.j_slices, self.ci_j):
            u[sl] = self.x_rare[cj] @ K[:, j, :].T
        u -= (mu[:, None, :] @ K)[:, 0, :].T[self.cj]
        f = np.empty((C, B))
        cond = np.empty((self.pc1.size, B))
        for g, cmm in self._conditional_means(K, u, f, B):
            cond[g["pairs"]] = cmm[g["pk"], g["pq1"], g["pq2"]]
        wc = w[:, self.ci].T                                  # C x B: the cells' case counts
        gf = wc * f                                           # weighted conditional means
        t1 = t1_obs.copy()
        if C:
            t1[:, self.j_vars] += np.add.reduceat(gf[self.by_j], self.j_starts, axis=0).T
            # sum_i w_i x_l E[y_j]: the observed values of the cell's case times its fill
            mx = np.empty((B, self.j_vars.size, p))
            for t, (sl, cj) in enumerate(zip(self.j_slices, self.ci_j)):
                mx[:, t, :] = gf[sl].T @ self.x_rare[cj]
            if self.j_vars.size == p:                     # every variable has missing cells
                t2 = t2_obs + mx
                t2 += np.swapaxes(mx, 1, 2)
            else:
                t2 = t2_obs.copy()
                t2[:, :, self.j_vars] += np.swapaxes(mx, 1, 2)
                t2[:, self.j_vars, :] += mx
            # sum_i w_i E[y_j y_k]: products of fills plus the conditional covariance
            h = wc[self.pc1] * (f[self.pc1] * f[self.pc2] + cond)
            t2.reshape(B, p * p)[:, self.p_targets] += np.add.reduceat(h, self.p_starts, axis=0).T
        else:
            t2 = t2_obs.copy()
        return self._moments(w, K, mu, pst, t1, t2, N)

    def _moments(self, w, K, mu, pst, t1, t2, N):
        """The E-step's end: the sums ``t1``, ``t2`` completed by the patterns read through
        their sums (:meth:`_pattern_fills`), then the new ``(mu, Sigma)`` (Sigma symmetrised)."""
        if self.pat_groups:
            if pst is None:
                pst = self.weighted_sums(w)[3]
            self._pattern_fills(K, mu, pst, t1, t2)
        mu_new = t1 / N[:, None]
        sig_new = t2 / N[:, None, None] - mu_new[:, :, None] * mu_new[:, None, :]
        return mu_new, 0.5 * (sig_new + np.swapaxes(sig_new, 1, 2))


def _spd_inverse(a: np.ndarray, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Inverses of a stack of symmetric matrices ``a`` (B x p x p) and, for each, whether it
    is positive definite (its Cholesky factorisation exists).  Positive-definite matrices
    are inverted through LAPACK ``dpotrf`` + ``dtrtri`` (``A^-1 = L^-T L^-1``, about a third
    cheaper than the LU inverse for the EM's 34 x 34 matrices; OpenBLAS' ``dpotri`` was
    slower still); the others (and every matrix with ``exact``) by ``np.linalg.inv``, the
    path before.  Returns ``(inverses, positive_definite)``."""
    from scipy.linalg.lapack import dpotrf, dtrtri
    a = np.asarray(a, dtype=float)
    B = a.shape[0]
    pd = np.zeros(B, dtype=bool)
    if exact or B == 0:
        for b in range(B):
            pd[b] = dpotrf(a[b], lower=1)[1] == 0
        return np.linalg.inv(a), pd
    linv = np.empty_like(a)
    for b in range(B):
        c, info = dpotrf(a[b], lower=1)
        if info == 0:
            linv[b], info = dtrtri(c, lower=1, overwrite_c=1)
        pd[b] = info == 0
    out = np.swapaxes(linv, 1, 2) @ linv
    if not pd.all():
        out[~pd] = np.linalg.inv(a[~pd])
    return out, pd


def _inv_small(a: np.ndarray) -> np.ndarray:
    """Inverses of small matrices stored as ``(..., r, r, B)`` (the matrix axes before the last
    axis): explicit formulas for r <= 3 (the adjugate over the determinant), LAPACK beyond."""
    r = a.shape[-2]
    if r == 1:
        return 1.0 / a
    if r == 2:
        a00, a01, a10, a11 = a[..., 0, 0, :], a[..., 0, 1, :], a[..., 1, 0, :], a[..., 1, 1, :]
        det = a00 * a11 - a01 * a10
        out = np.empty_like(a)
        out[..., 0, 0, :], out[..., 1, 1, :] = a11 / det, a00 / det
        out[..., 0, 1, :], out[..., 1, 0, :] = -a01 / det, -a10 / det
        return out
    if r == 3:
        (a0, b0, c0), (d0, e0, f0), (g0, h0, i0) = [[a[..., i, j, :] for j in range(3)]
                                                    for i in range(3)]
        co = np.stack([np.stack([e0 * i0 - f0 * h0, c0 * h0 - b0 * i0, b0 * f0 - c0 * e0], -2),
                       np.stack([f0 * g0 - d0 * i0, a0 * i0 - c0 * g0, c0 * d0 - a0 * f0], -2),
                       np.stack([d0 * h0 - e0 * g0, b0 * g0 - a0 * h0, a0 * e0 - b0 * d0], -2)],
                      -3)
        det = a0 * co[..., 0, 0, :] + b0 * co[..., 1, 0, :] + c0 * co[..., 2, 0, :]
        return co / det[..., None, None, :]
    return np.moveaxis(np.linalg.inv(np.moveaxis(a, -1, 0)), 0, -1)


def _em_batch(x: np.ndarray, w: np.ndarray, start: tuple, max_iter: int = 500,
              tol: float = 1e-10, cases: "_EMCases | None" = None,
              exact_inverse: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
    """EM estimates of the saturated normal model for a batch of case weightings of ``x``.

    ``x`` (n x p, NaN = missing, no all-missing rows; not read when ``cases`` is given, may
    be None then); ``w`` (B x n) the case counts of B
    bootstrap resamples; ``start`` ``(mu, Sigma)`` where every resample starts (the full-data
    estimate: a warm start, so a resample needs a few steps).  The EM steps of Little & Rubin
    (2002, ch. 8) -- the same as :meth:`psychometrics.sem.fiml.MissingPatterns.em` and
    lavaan's ``lav_mvnorm_missing_h1_estimate_moments`` -- run on all resamples at once: a
    resample only reweights the rows, so the missing-data structure (``cases``, an
    :class:`_EMCases`, computed once if not given) is shared and every weighted sum is a
    product with the case counts.  Each resample stops on its own when the largest change of
    its means and covariances, relative to its standard deviations (``|d mu_j| / s_j``,
    ``|d Sigma_jk| / (s_j s_k)``), is below ``tol``, so its result does not depend on the
    other resamples of the batch.  ``Sigma^-1`` comes from Cholesky factors
    (:func:`_spd_inverse`; those of the extrapolation's positive-definiteness check are
    reused), or with ``exact_inverse`` from ``np.linalg.inv`` as before (kept to test
    against).  Returns ``(mu (B x p), Sigma (B x p x p), converged)``.
    """
    cs = cases if cases is not None else _EMCases(np.asarray(x, dtype=float))
    w = np.asarray(w, dtype=float)
    B = w.shape[0]
    t1_obs, t2_obs, N, pst = cs.weighted_sums(w)
    mu = np.repeat(np.asarray(start[0], dtype=float)[None], B, axis=0)
    sigma = np.repeat(np.asarray(start[1], dtype=float)[None], B, axis=0)
    active = np.arange(B)            # resamples not yet converged (each stops on its own)
    failed = np.zeros(B, dtype=bool)

    def em_step(idx, m, sg, K=None):
        if K is None:
            K = _spd_inverse(sg, exact=exact_inverse)[0]
        if idx.size == B:                # every resample still running: no copies
            return cs.step(w, m, sg, t1_obs, t2_obs, N, pst, K=K)
        return cs.step(w[idx], m, sg, t1_obs[idx], t2_obs[idx], N[idx],
                       None if pst is None else tuple(a[idx] for a in pst), K=K)

    for _ in range(max_iter):
        # one SQUAREM cycle (Varadhan & Roland 2008, scheme S3): two EM steps, an
        # extrapolation along them, and an EM step from there; EM's fixed point (the ML
        # estimate) is unchanged, only fewer steps are needed to reach it
        m0, s0 = mu[active], sigma[active]
        m1, s1 = em_step(active, m0, s0)
        m2, s2 = em_step(active, m1, s1)
        rm, rs = m1 - m0, s1 - s0
        vm, vs = m2 - 2 * m1 + m0, s2 - 2 * s1 + s0
        nr = np.sqrt((rm ** 2).sum(axis=1) + (rs ** 2).sum(axis=(1, 2)))
        nv = np.sqrt((vm ** 2).sum(axis=1) + (vs ** 2).sum(axis=(1, 2)))
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(nv > 0, -nr / nv, -1.0)
        alpha = np.clip(np.nan_to_num(alpha, nan=-1.0), -50.0, -1.0)
        mx = m0 - 2 * alpha[:, None] * rm + alpha[:, None] ** 2 * vm
        sx = s0 - 2 * alpha[:, None, None] * rs + alpha[:, None, None] ** 2 * vs
        # an extrapolation that leaves the positive-definite matrices falls back to EM's;
        # the Cholesky factors of the check give the next step's inverses
        kx, ok = _spd_inverse(sx, exact=exact_inverse)
        if not ok.all():
            with np.errstate(invalid="ignore"):
                ok = np.array([np.all(np.isfinite(a)) and np.linalg.eigvalsh(a)[0] > 0 for a in sx])
            kx = None
        mx[~ok], sx[~ok] = m2[~ok], s2[~ok]
        m3, s3 = em_step(active, mx, sx, kx)
        sd = np.sqrt(np.abs(np.einsum("bii->bi", s3)))
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = np.maximum((np.abs(m3 - mx) / sd).max(axis=1),
                               (np.abs(s3 - sx) / (sd[:, :, None] * sd[:, None, :]))
                               .max(axis=(1, 2)))
        mu[active], sigma[active] = m3, s3
        bad = ~np.isfinite(delta)            # a resample whose Sigma broke down stops here
        failed[active[bad]] = True
        active = active[~((delta < tol) | bad)]
        if active.size == 0:
            break
    return mu, sigma, bool(active.size == 0 and not failed.any())
