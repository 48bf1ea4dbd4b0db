"""Data screening of one instrument's items: missingness, item distributions,
multivariate normality and outliers.

* :func:`describe` -- item descriptives as ``psych::describe`` (type 3 skewness and
  kurtosis, the defaults of psych 2.2.9) plus floor/ceiling percentages;
* :func:`missingness` -- missing responses per item and per case, missing-data patterns;
* :func:`little_mcar` -- Little's (1988) chi-square test that data are missing
  completely at random, with the EM (ML) estimates of mean and covariance
  (as ``naniar::mcar_test``, which uses ``norm::em.norm``);
* :func:`mardia` -- Mardia's (1970) multivariate skewness and kurtosis as
  ``psych::mardia`` (complete cases);
* :func:`mahalanobis_outliers` -- squared Mahalanobis distances against the
  chi-square cut-off, classical (R's ``mahalanobis(x, colMeans(x), cov(x))``) or
  robust (minimum covariance determinant, Rousseeuw & Van Driessen 1999, via
  scikit-learn's ``MinCovDet`` with an explicit seed; above 1,799 cases with at most five
  first-stage subsets of 300 cases, as published and in robustbase: :func:`_min_cov_det`);
* :func:`screen` -- all of the above in one :class:`ScreeningResult`.

Numerical trouble (a singular covariance matrix, too few complete cases, EM
not converging) is recorded in the result's ``warnings`` and emitted as a
:class:`~psychometrics.errors.PsychometricsWarning`; the affected statistics are NaN.
"""
from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._results import jsonable
from .errors import CellProblem, DataError, PsychometricsWarning, StudyError
from ._blas import blas_threads, single_blas_thread

__all__ = ["describe", "missingness", "little_mcar", "mardia", "mahalanobis_outliers", "screen",
           "em_mvn", "ScreeningResult", "MissingnessResult", "LittleMCARResult", "MardiaResult",
           "OutlierResult"]


def _warn(store: list, msg: str) -> None:
    store.append(msg)
    _warnings.warn(msg, PsychometricsWarning, stacklevel=3)


def _as_frame(items: Any, where: str) -> pd.DataFrame:
    """Items as a float DataFrame; non-numeric cells raise DataError naming them."""
    if isinstance(items, np.ndarray):
        if items.ndim != 2:
            raise DataError(f"{where}: expected a 2-d table of item responses")
        items = pd.DataFrame(items, columns=[f"V{i + 1}" for i in range(items.shape[1])])
    if not isinstance(items, pd.DataFrame):
        raise DataError(f"{where}: expected a DataFrame of item responses, got "
                        f"{type(items).__name__}")
    if items.shape[1] == 0:
        raise DataError(f"{where}: no item columns given")
    if all(dt == np.float64 for dt in items.dtypes) and all(isinstance(c, str) for c in items.columns):
        # already what this function returns (screen() passes its frame to every test):
        # no copy of the data (the analyses never write into it)
        if not np.isinf(items.to_numpy()).any():
            return items.copy(deep=False)      # a new frame; the data are copied on write
    bad = []
    out = {}
    for c in items.columns:
        col = items[c]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            conv = pd.to_numeric(col, errors="coerce")
            mask = conv.isna() & col.notna()
            for idx in col.index[mask]:
                bad.append(CellProblem("<data>", idx, str(c), col[idx], "not a number"))
            col = conv
        out[str(c)] = col.astype(float)
    if bad:
        raise DataError(f"{where}: {len(bad)} non-numeric item value(s)", bad)
    frame = pd.DataFrame(out, index=items.index)
    arr = frame.to_numpy()
    if np.isinf(arr).any():
        r, c = np.nonzero(np.isinf(arr))
        raise DataError(f"{where}: infinite item value(s)",
                        [CellProblem("<data>", frame.index[i], frame.columns[j], arr[i, j],
                                     "infinite") for i, j in zip(r, c)])
    return frame


# --------------------------------------------------------------------------- describe

@single_blas_thread
def describe(items: Any, min: float | None = None, max: float | None = None) -> pd.DataFrame:
    """Item descriptives, one row per item, as ``psych::describe(items)`` (type = 3):
    ``n, mean, sd, median, trimmed`` (10 % trimmed mean), ``mad`` (times 1.4826),
    ``min, max, range, skew, kurtosis, se`` -- plus ``floor_pct`` and ``ceiling_pct``,
    the percentage of answered responses at the scale's ``min`` / ``max`` (the
    observed minimum / maximum when not given).

    Skewness ``g1 * ((n-1)/n)^1.5`` and excess kurtosis ``(g2 + 3) * (1 - 1/n)^2 - 3``
    (Joanes & Gill 1998, type 3), with ``g1 = m3 / m2^1.5`` and ``g2 = m4 / m2^2 - 3``
    from moments about the mean divided by n; missing values are dropped per item.
    """
    frame = _as_frame(items, "describe")
    rows = {}
    for c in frame.columns:
        x = frame[c].dropna().to_numpy()
        n = len(x)
        row = {"n": n}
        if n == 0:
            rows[c] = {**row, **{k: np.nan for k in ("mean", "sd", "median", "trimmed", "mad",
                                                     "min", "max", "range", "skew", "kurtosis",
                                                     "se", "floor_pct", "ceiling_pct")}}
            continue
        mean = x.mean()
        sd = x.std(ddof=1) if n > 1 else np.nan
        dev = x - mean
        m2 = np.mean(dev ** 2)
        if n > 1 and m2 > 0:
            g1 = np.mean(dev ** 3) / m2 ** 1.5
            g2 = np.mean(dev ** 4) / m2 ** 2 - 3
            skew = g1 * ((n - 1) / n) ** 1.5
            kurt = (g2 + 3) * (1 - 1 / n) ** 2 - 3
        else:
            skew = kurt = np.nan
        med = np.median(x)
        lo = x.min() if min is None else min
        hi = x.max() if max is None else max
        row.update({
            "mean": mean, "sd": sd, "median": med,
            "trimmed": stats.trim_mean(x, 0.1),
            "mad": 1.4826 * np.median(np.abs(x - med)),
            "min": x.min(), "max": x.max(), "range": x.max() - x.min(),
            "skew": skew, "kurtosis": kurt, "se": sd / math.sqrt(n) if n > 1 else np.nan,
            "floor_pct": 100.0 * np.mean(x == lo), "ceiling_pct": 100.0 * np.mean(x == hi),
        })
        rows[c] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["n"] = out["n"].astype(int)
    return out


# --------------------------------------------------------------------------- missingness

@dataclass
class MissingnessResult:
    """``items``: per item n_missing and pct_missing; ``cases``: per case (id index)
    n_missing and pct_missing; ``patterns``: missing-data patterns (1 = observed) with
    their case counts, most frequent first; ``n_complete`` complete cases."""

    items: pd.DataFrame
    cases: pd.DataFrame
    patterns: pd.DataFrame
    n_complete: int
    n_cases: int

    @property
    def case_distribution(self) -> pd.Series:
        """Number of cases by number of missing items."""
        return self.cases["n_missing"].value_counts().sort_index()

    def to_frame(self) -> pd.DataFrame:
        return self.items.copy()

    def to_dict(self) -> dict:
        return jsonable({"items": self.items, "n_cases": self.n_cases,
                         "n_complete": self.n_complete,
                         "pct_cells_missing": float(self.cases["n_missing"].sum()
                                                    / max(1, self.n_cases * len(self.items)) * 100),
                         "cases_by_n_missing": {str(k): int(v) for k, v in
                                                self.case_distribution.items()},
                         "patterns": self.patterns})


@single_blas_thread
def missingness(items: Any) -> MissingnessResult:
    """Missing responses per item and per case, and the missing-data patterns."""
    frame = _as_frame(items, "missingness")
    na = frame.isna()
    p = frame.shape[1]
    item_tab = pd.DataFrame({"n_missing": na.sum().astype(int),
                             "pct_missing": 100.0 * na.mean()})
    case_tab = pd.DataFrame({"n_missing": na.sum(axis=1).astype(int),
                             "pct_missing": 100.0 * na.sum(axis=1) / p})
    obs = (~na).astype(int)
    if len(obs):
        pat = obs.value_counts(sort=True).rename("n_cases").reset_index()
        pat["n_missing"] = p - pat[list(frame.columns)].sum(axis=1)
    else:
        pat = pd.DataFrame(columns=list(frame.columns) + ["n_cases", "n_missing"])
    return MissingnessResult(item_tab, case_tab, pat, int((~na.any(axis=1)).sum()), len(frame))


# --------------------------------------------------------------------------- EM and Little

def _pattern_stats(x: np.ndarray):
    """Missing-data patterns of ``x`` (rows with at least one observed value) with their
    sufficient statistics, read once: ``(keys, inverse, counts, sums, cross)`` where ``sums[k]``
    and ``cross[k]`` are the sum and cross-product sum of the rows of pattern ``k`` (missing
    entries as 0).  O(n p^2) time; memory O(K p^2) for K patterns."""
    n, p = x.shape
    obs = ~np.isnan(x)
    keys, inverse = np.unique(obs, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    K = len(keys)
    x0 = np.where(obs, x, 0.0)
    counts = np.bincount(inverse, minlength=K).astype(float)
    order = np.argsort(inverse, kind="stable")
    starts = np.r_[0, np.cumsum(counts.astype(int))[:-1]]
    xs = x0[order]
    sums = np.add.reduceat(xs, starts, axis=0) if n else np.zeros((K, p))
    cross = np.empty((K, p, p))
    for k in range(K):
        blk = xs[starts[k]:starts[k] + int(counts[k])]
        cross[k] = blk.T @ blk
    return keys, inverse, counts, sums, cross


def em_mvn(x: np.ndarray, tol: float = 1e-10, max_iter: int = 5000, stats_=None):
    """ML estimates of mean and covariance (divisor n) of a multivariate normal from
    incomplete data by EM (Dempster, Laird & Rubin 1977; as ``norm::em.norm``).
    Rows must have at least one observed value.  Returns ``(mu, sigma, n_iter,
    converged)``; convergence when the largest change of a parameter is below ``tol``
    (relative to its size when above 1).  The data are read once (the patterns' sufficient
    statistics, :func:`_pattern_stats`); an iteration costs O(K p^3) for K patterns,
    whatever the number of cases."""
    x = np.asarray(x, float)
    n, p = x.shape
    keys, inverse, counts, sums, cross = stats_ if stats_ is not None else _pattern_stats(x)
    mu = np.nanmean(x, axis=0)
    var = np.nanvar(x, axis=0)
    var = np.where(np.isfinite(var) & (var > 0), var, 1.0)
    sigma = np.diag(var)
    converged = False
    it = 0
    complete = [k for k in range(len(keys)) if keys[k].all()]
    t1_c = sums[complete].sum(axis=0)
    t2_c = cross[complete].sum(axis=0)
    # per incomplete pattern: its index arrays and its sufficient statistics, taken once
    # (not in every iteration: issue 13); the arithmetic per iteration is unchanged
    partial = []
    for k in range(len(keys)):
        if keys[k].all():
            continue
        oi, mi = np.nonzero(keys[k])[0], np.nonzero(~keys[k])[0]
        ioo, imo, iom, imm = np.ix_(oi, oi), np.ix_(mi, oi), np.ix_(oi, mi), np.ix_(mi, mi)
        partial.append((counts[k], oi, mi, ioo, imo, iom, imm, sums[k][oi], cross[k][ioo]))
    for it in range(1, max_iter + 1):
        t1 = t1_c.copy()
        t2 = t2_c.copy()
        for nk, oi, mi, ioo, imo, iom, imm, so, coo in partial:
            # so: sum of x_o; coo: sum of x_o x_o'
            s_oo = sigma[ioo]
            s_mo = sigma[imo]
            beta = np.linalg.solve(s_oo, s_mo.T).T          # (m x o)
            a = mu[mi] - beta @ mu[oi]                       # xhat_m = a + beta x_o
            sm = nk * a + beta @ so
            cmo = np.outer(a, so) + beta @ coo               # sum xhat_m x_o'
            cmm = (nk * np.outer(a, a) + np.outer(a, so) @ beta.T + beta @ np.outer(so, a)
                   + beta @ coo @ beta.T)
            cond = sigma[imm] - beta @ s_mo.T
            t1[oi] += so
            t1[mi] += sm
            t2[ioo] += coo
            t2[imo] += cmo
            t2[iom] += cmo.T
            t2[imm] += cmm + nk * cond
        mu_new = t1 / n
        sigma_new = t2 / n - np.outer(mu_new, mu_new)
        change = max(np.max(np.abs(mu_new - mu) / np.maximum(1, np.abs(mu))),
                     np.max(np.abs(sigma_new - sigma) / np.maximum(1, np.abs(sigma))))
        mu, sigma = mu_new, sigma_new
        if change < tol:
            converged = True
            break
    return mu, sigma, it, converged


@dataclass
class LittleMCARResult:
    """Little's MCAR test: ``statistic`` (chi-square d^2), ``df``, ``pvalue``,
    ``n_patterns`` missing-data patterns, ``n`` cases used (all-missing cases are
    dropped), EM ``mean``/``cov`` estimates, ``warnings``; ``no_missing`` is True when
    no response is missing (the test does not apply: report that, not a chi-square)."""

    statistic: float
    df: int
    pvalue: float
    n_patterns: int
    n: int
    mean: pd.Series | None = None
    cov: pd.DataFrame | None = None
    em_iterations: int = 0
    em_converged: bool = True
    warnings: list = field(default_factory=list)
    no_missing: bool = False

    def to_dict(self) -> dict:
        return jsonable({"statistic": self.statistic, "df": self.df, "pvalue": self.pvalue,
                         "n_patterns": self.n_patterns, "n": self.n,
                         "no_missing": self.no_missing,
                         "em_iterations": self.em_iterations, "em_converged": self.em_converged,
                         "warnings": self.warnings})


@single_blas_thread
def little_mcar(items: Any, tol: float = 1e-10, max_iter: int = 5000) -> LittleMCARResult:
    """Little's (1988) test of missing completely at random.

    ``d2 = sum_j n_j (ybar_j - mu_j)' Sigma_jj^-1 (ybar_j - mu_j)`` over the missing-data
    patterns j, with ``mu``, ``Sigma`` the EM (ML) estimates from all cases and
    ``ybar_j`` the pattern's means of its observed items; ``df = sum_j p_j - p``.  As
    ``naniar::mcar_test`` (cases with every item missing are dropped).  With a single
    pattern (no missing data) the test is undefined: statistic 0, df 0, p NaN, with a
    warning.  Returns a :class:`LittleMCARResult`.
    """
    frame = _as_frame(items, "little_mcar")
    warn: list = []
    x = frame.to_numpy()
    x = x[~np.isnan(x).all(axis=1)]
    n, p = x.shape
    if n < 2:
        _warn(warn, "Little's MCAR test: fewer than two cases with any response")
        return LittleMCARResult(np.nan, 0, np.nan, 0, n, warnings=warn)
    obs = ~np.isnan(x)
    pstats = _pattern_stats(x)
    keys, inverse, counts, sums = pstats[:4]
    empty = [c for c, o in zip(frame.columns, obs.sum(axis=0)) if o < 2]
    if empty:
        _warn(warn, f"Little's MCAR test: item(s) {empty} have fewer than two responses; "
                    "not computed")
        return LittleMCARResult(np.nan, 0, np.nan, len(keys), n, warnings=warn)
    try:
        with np.errstate(all="ignore"):
            mu, sigma, n_iter, conv = em_mvn(x, tol=tol, max_iter=max_iter, stats_=pstats)
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
            raise np.linalg.LinAlgError("non-finite EM estimates")
        if np.linalg.eigvalsh(sigma).min() <= 1e-10 * max(1.0, np.abs(sigma).max()):
            raise np.linalg.LinAlgError("singular EM covariance")
    except np.linalg.LinAlgError:
        _warn(warn, "Little's MCAR test: the covariance matrix became singular during EM")
        return LittleMCARResult(np.nan, 0, np.nan, len(keys), n, warnings=warn)
    if not conv:
        _warn(warn, f"Little's MCAR test: EM did not converge in {max_iter} iterations")
    d2 = 0.0
    df = 0
    try:
        for g, o in enumerate(keys):
            oi = np.nonzero(o)[0]
            diff = sums[g][oi] / counts[g] - mu[oi]
            d2 += counts[g] * float(diff @ np.linalg.solve(sigma[np.ix_(oi, oi)], diff))
            df += len(oi)
    except np.linalg.LinAlgError:
        _warn(warn, "Little's MCAR test: singular EM covariance matrix (collinear items)")
        return LittleMCARResult(np.nan, 0, np.nan, len(keys), n, warnings=warn)
    df -= p
    no_missing = bool(obs.all())
    if df <= 0:
        _warn(warn, "Little's MCAR test is undefined without missing data (one pattern)")
        pval = np.nan
    else:
        pval = float(stats.chi2.sf(d2, df))
    cols = list(frame.columns)
    return LittleMCARResult(float(d2), int(df), pval, len(keys), n,
                            pd.Series(mu, index=cols), pd.DataFrame(sigma, cols, cols),
                            n_iter, conv, warn, no_missing=no_missing)


# --------------------------------------------------------------------------- Mardia

@dataclass
class MardiaResult:
    """Mardia's multivariate skewness ``b1p`` and kurtosis ``b2p`` (psych::mardia names):
    ``skew`` = n b1p / 6 (chi-square, ``df``), ``p_skew``; ``small_skew`` (small-sample
    corrected) and ``p_small``; ``kurtosis`` (the standard-normal statistic) and
    ``p_kurt``; ``n_obs``, ``n_var``; ``d`` the Mahalanobis distances (not squared)."""

    n_obs: int
    n_var: int
    b1p: float
    b2p: float
    skew: float
    small_skew: float
    p_skew: float
    p_small: float
    kurtosis: float
    p_kurt: float
    df: float
    d: pd.Series | None = None
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("n_obs", "n_var", "b1p", "b2p", "skew", "small_skew",
                                           "p_skew", "p_small", "kurtosis", "p_kurt", "df")}
        d["warnings"] = self.warnings
        return jsonable(d)


def _inv_cov(xc: np.ndarray, warn: list, what: str):
    s = np.cov(xc, rowvar=False, ddof=1)
    s = np.atleast_2d(s)
    try:
        cond = np.linalg.cond(s)
    except np.linalg.LinAlgError:  # pragma: no cover
        cond = np.inf
    if not np.isfinite(cond) or cond > 1e12:
        _warn(warn, f"{what}: the covariance matrix is singular or nearly so (condition number "
                    f"{cond:.3g}); items are collinear or constant")
        return None
    return np.linalg.inv(s)


def _mardia_b1(xc: np.ndarray, sinv: np.ndarray) -> float:
    """``sum_ij (xc_i' S^-1 xc_j)^3`` in O(n p^3) time and O(p^3) memory (instead of the
    n x n matrix of ``D = Xc S^-1 Xc'``): with whitened rows ``z_i = C' xc_i`` (``C C' = S^-1``)
    ``D_ij = z_i' z_j`` and ``sum_ij (z_i' z_j)^3 = sum_abc (sum_i z_ia z_ib z_ic)^2``, the
    squared entries of the third-moment tensor of ``z``; accumulated over blocks of rows."""
    n, p = xc.shape
    z = xc @ np.linalg.cholesky(sinv)
    m3 = np.zeros((p, p * p))
    block = max(1, int(2_000_000 // max(p * p, 1)))
    with blas_threads(for_work=float(n) * p ** 3):
        for start in range(0, n, block):
            zb = z[start:start + block]
            zz = (zb[:, :, None] * zb[:, None, :]).reshape(len(zb), p * p)
            m3 += zb.T @ zz
    return float(np.sum(m3 * m3))


@single_blas_thread
def mardia(items: Any) -> MardiaResult:
    """Mardia's (1970) tests of multivariate skewness and kurtosis, as ``psych::mardia``
    (complete cases; centred data, covariance with divisor n - 1):
    ``D = Xc S^-1 Xc'``, ``b1p = sum(D^3) / n^2`` (computed from the third-moment tensor of
    the whitened data, O(n p^3), without forming D), ``b2p = tr(D^2) / n``,
    ``skew = n b1p / 6 ~ chi2(p(p+1)(p+2)/6)``, small-sample ``skew * k`` with
    ``k = (p+1)(n+1)(n+3) / (n((n+1)(p+1) - 6))``, and
    ``kurtosis = (b2p - p(p+2)) sqrt(n / (8p(p+2))) ~ N(0, 1)`` (two-sided p).
    Returns a :class:`MardiaResult`."""
    frame = _as_frame(items, "mardia").dropna()
    n, p = frame.shape
    warn: list = []
    nan = float("nan")
    df = p * (p + 1) * (p + 2) / 6
    if n <= p:
        _warn(warn, f"Mardia's test: {n} complete case(s) for {p} items; not computed")
        return MardiaResult(n, p, nan, nan, nan, nan, nan, nan, nan, nan, df, None, warn)
    x = frame.to_numpy()
    xc = x - x.mean(axis=0)
    sinv = _inv_cov(xc, warn, "Mardia's test")
    if sinv is None:
        return MardiaResult(n, p, nan, nan, nan, nan, nan, nan, nan, nan, df, None, warn)
    diag = np.einsum("ij,jk,ik->i", xc, sinv, xc)
    b1p = _mardia_b1(xc, sinv) / n ** 2
    b2p = float(np.sum(diag ** 2)) / n
    k = (p + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (p + 1) - 6))
    skew = n * b1p / 6
    small = n * k * b1p / 6
    kurt = (b2p - p * (p + 2)) * math.sqrt(n / (8 * p * (p + 2)))
    return MardiaResult(n, p, b1p, b2p, skew, small, float(stats.chi2.sf(skew, df)),
                        float(stats.chi2.sf(small, df)), kurt,
                        float(2 * stats.norm.sf(abs(kurt))), df,
                        pd.Series(np.sqrt(np.maximum(diag, 0)), index=frame.index), warn)


# --------------------------------------------------------------------------- outliers

@dataclass
class OutlierResult:
    """Mahalanobis outliers: ``distances`` (squared, indexed by case id; complete cases),
    ``pvalues`` (chi-square upper tail, df = number of items), ``cutoff`` (chi-square
    quantile at 1 - alpha), ``outliers`` (ids above the cut-off, largest first),
    ``method`` ("classical" or "mcd"), ``center``/``cov`` used, ``seed``."""

    method: str
    alpha: float
    df: int
    cutoff: float
    distances: pd.Series
    pvalues: pd.Series
    outliers: list
    n_used: int
    center: pd.Series | None = None
    cov: pd.DataFrame | None = None
    seed: int | None = None
    warnings: list = field(default_factory=list)

    @property
    def n_outliers(self) -> int:
        return len(self.outliers)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"d2": self.distances, "pvalue": self.pvalues,
                             "outlier": self.distances > self.cutoff})

    def to_dict(self) -> dict:
        top = self.distances.loc[self.outliers] if self.outliers else pd.Series(dtype=float)
        return jsonable({"method": self.method, "alpha": self.alpha, "df": self.df,
                         "cutoff": self.cutoff, "n_used": self.n_used,
                         "n_outliers": self.n_outliers,
                         "outliers": [{"id": i, "d2": top[i], "pvalue": self.pvalues[i]}
                                      for i in self.outliers],
                         "seed": self.seed, "warnings": self.warnings})


@single_blas_thread
def mahalanobis_outliers(items: Any, alpha: float = 0.001, method: str = "classical",
                         seed: int = 0, progress=None) -> OutlierResult:
    """Multivariate outliers by squared Mahalanobis distance (complete cases).

    ``method="classical"``: distances from the mean with the sample covariance
    (divisor n - 1), as R's ``mahalanobis(x, colMeans(x), cov(x))``.
    ``method="mcd"``: robust distances from the reweighted minimum covariance
    determinant estimate (Rousseeuw & Van Driessen 1999; scikit-learn ``MinCovDet``,
    ``random_state=seed``; above 1,799 cases its first stage uses at most five subsets of 300
    cases, as the published FAST-MCD and ``robustbase::covMcd``, see :func:`_min_cov_det`).  scikit-learn corrects the MCD covariance for consistency
    by the median distance only, whereas ``robustbase::covMcd`` also applies
    small-sample factors (Pison et al. 2002): robust centres agree closely, but robust
    d^2 run about 15 % larger than robustbase's on HS1939, so counts of robust
    outliers can differ from R's.
    A case is an outlier when its d^2 exceeds the chi-square(p) quantile at
    ``1 - alpha`` (Tabachnick & Fidell: alpha = .001).  ``progress``: optional callback
    ``progress(done, total)`` of the MCD's work (see :func:`_min_cov_det`); counts only.
    Returns an :class:`OutlierResult`.
    """
    if method not in ("classical", "mcd"):
        raise StudyError(f"mahalanobis_outliers: method must be 'classical' or 'mcd', "
                         f"got {method!r}")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise StudyError(f"mahalanobis_outliers: alpha must be between 0 and 1, got {alpha!r}")
    frame = _as_frame(items, "mahalanobis_outliers").dropna()
    n, p = frame.shape
    warn: list = []
    cutoff = float(stats.chi2.ppf(1 - alpha, p))
    empty = pd.Series(np.nan, index=frame.index, dtype=float)
    if n <= p + 1:
        _warn(warn, f"Mahalanobis outliers ({method}): {n} complete case(s) for {p} items; "
                    "not computed")
        return OutlierResult(method, alpha, p, cutoff, empty, empty.copy(), [], n, seed=seed,
                             warnings=warn)
    x = frame.to_numpy()
    if method == "classical":
        center = x.mean(axis=0)
        xc = x - center
        sinv = _inv_cov(xc, warn, "Mahalanobis outliers")
        if sinv is None:
            return OutlierResult(method, alpha, p, cutoff, empty, empty.copy(), [], n,
                                 warnings=warn)
        d2 = np.einsum("ij,jk,ik->i", xc, sinv, xc)
        cov = np.linalg.inv(sinv)
    else:
        failure = None
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            try:
                mcd = _min_cov_det(x, seed, progress)
            except (ValueError, np.linalg.LinAlgError) as exc:
                failure = exc
        if failure is not None:
            _warn(warn, f"Mahalanobis outliers (mcd): the MCD estimate failed ({failure})")
            return OutlierResult(method, alpha, p, cutoff, empty, empty.copy(), [], n,
                                 seed=seed, warnings=warn)
        for w in caught:
            _warn(warn, f"Mahalanobis outliers (mcd): {w.message}")
        center, cov = mcd.location_, mcd.covariance_
        if not np.all(np.isfinite(cov)) or np.linalg.cond(cov) > 1e12:
            _warn(warn, "Mahalanobis outliers (mcd): the robust covariance matrix is singular "
                        "(more than half of the cases lie in a subspace, e.g. identical "
                        "response patterns); distances not computed")
            return OutlierResult(method, alpha, p, cutoff, empty, empty.copy(), [], n,
                                 seed=seed, warnings=warn)
        xc = x - center
        d2 = np.einsum("ij,jk,ik->i", xc, np.linalg.inv(cov), xc)
    dist = pd.Series(d2, index=frame.index, name="d2")
    pv = pd.Series(stats.chi2.sf(d2, p), index=frame.index, name="pvalue")
    out = dist[dist > cutoff].sort_values(ascending=False)
    cols = list(frame.columns)
    return OutlierResult(method, alpha, p, cutoff, dist, pv, list(out.index), n,
                         pd.Series(center, index=cols), pd.DataFrame(cov, cols, cols),
                         seed if method == "mcd" else None, warn)


#: at most this many subsets of MCD_SUBSET_SIZE cases in the first stage of FAST-MCD
#: (Rousseeuw & Van Driessen 1999, section 3.3: "up to five disjoint subsets" of 300 drawn from
#: a random 1,500 cases; robustbase::covMcd's ``kmini = 5``, ``nmini = 300``)
MCD_MAX_SUBSETS = 5
MCD_SUBSET_SIZE = 300


#: share of the MCD's time in its last stage (C-steps on all cases from the ten best
#: candidates) above 1,800 cases: 0.91-0.96 at 140,000-170,000 complete cases of 6-12 items
#: (the simulated example study at 200,000 cases); for ``_min_cov_det(progress=)``
MCD_FINAL_SHARE = 0.93


def _min_cov_det(x: np.ndarray, seed: int, progress=None):
    """A fitted scikit-learn ``MinCovDet(random_state=seed)`` of ``x``.

    Up to ``(MCD_MAX_SUBSETS + 1) * MCD_SUBSET_SIZE - 1`` cases (1,799) this *is*
    scikit-learn's FAST-MCD.  Above, scikit-learn splits the data into ``n // 300`` subsets
    (ten C-step trials each: linear in n, about 0.15 ms a case), whereas the algorithm as
    published (Rousseeuw & Van Driessen 1999, section 3.3) and robustbase's ``covMcd`` draw
    at most five subsets of 300 cases; this function does the same: five subsets of 300 from
    the random permutation, 100 trials each (scikit-learn's 500 trials in all), the ten best of
    each subset refined on a random 1,500 cases, the ten best of those iterated to convergence
    on all cases -- then scikit-learn's consistency correction and reweighting, unchanged.  Its
    cost above 1,800 cases is a few C-steps on the full data.  Falls back to scikit-learn's
    own algorithm when its internals are not available.

    ``progress``: optional callback ``progress(done, total)`` (total 1): the first two stages
    count as ``1 - MCD_FINAL_SHARE``, each of the ten candidates of the last stage as a tenth
    of the rest.  To report them, the last stage refines the candidates one by one (the same
    ``select_candidates`` per candidate, then the same choice of the smallest determinant:
    the result is that of one call for all ten, tested)."""
    from sklearn.covariance import MinCovDet
    n, p = x.shape
    if n < (MCD_MAX_SUBSETS + 1) * MCD_SUBSET_SIZE or p < 2:
        return MinCovDet(random_state=seed).fit(x)
    try:
        from scipy import linalg
        from sklearn.covariance._robust_covariance import select_candidates
        from sklearn.utils import check_random_state
        from sklearn.utils.extmath import fast_logdet
    except ImportError:  # pragma: no cover - scikit-learn's private module moved
        return MinCovDet(random_state=seed).fit(x)
    x = np.ascontiguousarray(x, dtype=float)
    mcd = MinCovDet(random_state=seed)
    rng = check_random_state(seed)
    if (linalg.svdvals(np.dot(x.T, x)) > 1e-8).sum() != p:     # scikit-learn's check
        _warnings.warn("The covariance matrix associated to your dataset is not full rank")
    cov_fn = mcd._nonrobust_covariance
    n_support = min(int(np.ceil(0.5 * (n + p + 1))), n)
    # 1. candidates on five subsets of 300 cases (scikit-learn's stage 1 with the cap)
    k, m = MCD_MAX_SUBSETS, MCD_SUBSET_SIZE
    shuffle = rng.permutation(n)
    h_subset = int(np.ceil(m * (n_support / float(n))))
    n_trials, n_best_sub = 500 // k, 10
    best_loc = np.zeros((k * n_best_sub, p))
    best_cov = np.zeros((k * n_best_sub, p, p))
    for i in range(k):
        sub = x[shuffle[i * m:(i + 1) * m]]
        loc_i, cov_i, _, _ = select_candidates(sub, h_subset, n_trials, select=n_best_sub,
                                               n_iter=2, cov_computation_method=cov_fn,
                                               random_state=rng)
        best_loc[i * n_best_sub:(i + 1) * n_best_sub] = loc_i
        best_cov[i * n_best_sub:(i + 1) * n_best_sub] = cov_i
    # 2. the ten best on a random 1,500 cases
    n_merged = 1500                 # scikit-learn's (and the paper's) merged set
    h_merged = int(np.ceil(n_merged * (n_support / float(n))))
    selection = rng.permutation(n)[:n_merged]
    loc_m, cov_m, _, _ = select_candidates(x[selection], h_merged,
                                           n_trials=(best_loc, best_cov), select=10,
                                           cov_computation_method=cov_fn, random_state=rng)
    if progress is not None:
        progress(1.0 - MCD_FINAL_SHARE, 1.0)
    # 3. the best on all cases (C-steps to convergence), one candidate at a time: a
    # candidate's C-steps do not draw random numbers (scikit-learn's _c_step from initial
    # estimates), so this is select_candidates(x, n_support, n_trials=(loc_m, cov_m),
    # select=1) with a progress report after each candidate
    found = []
    for j in range(loc_m.shape[0]):
        found.append(select_candidates(x, n_support, n_trials=(loc_m[j:j + 1],
                                                               cov_m[j:j + 1]),
                                       select=1, cov_computation_method=cov_fn,
                                       random_state=rng))
        if progress is not None:
            progress(1.0 - MCD_FINAL_SHARE * (1.0 - (j + 1) / loc_m.shape[0]), 1.0)
    dets = [fast_logdet(f[1][0]) for f in found]
    loc_f, cov_f, supp_f, d = found[int(np.argsort(dets)[0])]
    mcd.raw_location_ = mcd.location_ = loc_f[0]
    mcd.raw_covariance_ = cov_f[0]
    mcd.raw_support_ = mcd.support_ = supp_f[0]
    mcd.dist_ = d[0]
    mcd.correct_covariance(x)       # as MinCovDet.fit: consistency, then reweighting
    mcd.reweight_covariance(x)
    return mcd


# --------------------------------------------------------------------------- screen

@dataclass
class ScreeningResult:
    """Everything :func:`screen` computes for one instrument: ``descriptives``
    (:func:`describe`), ``missing`` (:class:`MissingnessResult`), ``mcar``
    (:class:`LittleMCARResult`), ``mardia`` (:class:`MardiaResult`), ``outliers``
    (``{"classical": OutlierResult, "mcd": OutlierResult}``) and all ``warnings``."""

    instrument: str | None
    descriptives: pd.DataFrame
    missing: MissingnessResult
    mcar: LittleMCARResult
    mardia: MardiaResult
    outliers: dict
    warnings: list = field(default_factory=list)

    @property
    def item_missing(self) -> pd.DataFrame:
        return self.missing.items

    @property
    def case_missing(self) -> pd.DataFrame:
        return self.missing.cases

    def to_frame(self) -> pd.DataFrame:
        """Item table: descriptives with missing count and percentage."""
        return self.descriptives.join(self.missing.items)

    def summary(self) -> str:
        """A few plain-text lines (for the console; the report formats its own)."""
        m, mc, md = self.missing, self.mcar, self.mardia
        lines = [f"Screening {self.instrument or ''}: {m.n_cases} cases, {m.n_complete} complete",
                 f"  Little's MCAR: chi2 = {mc.statistic:.2f}, df = {mc.df}, p = {mc.pvalue:.4g}",
                 f"  Mardia: b1p = {md.b1p:.3f} (p = {md.p_skew:.3g}), b2p = {md.b2p:.3f} "
                 f"(z = {md.kurtosis:.2f}, p = {md.p_kurt:.3g})"]
        for k, o in self.outliers.items():
            lines.append(f"  Outliers ({k}, alpha = {o.alpha}): {o.n_outliers} of {o.n_used}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return jsonable({"instrument": self.instrument, "items": self.to_frame(),
                         "missing": self.missing.to_dict(), "mcar": self.mcar.to_dict(),
                         "mardia": self.mardia.to_dict(),
                         "outliers": {k: v.to_dict() for k, v in self.outliers.items()},
                         "warnings": self.warnings})


#: relative cost of :func:`screen`'s parts, for a progress display's estimate of the time left
#: (``screen(progress=)``): CPU seconds of each part measured on the 200,000-case simulated
#: example study (``simulate_example_study``, 12-item instrument, 5% missing), normalised
#: (load average 4-5; shares of the four instruments of 6-12 items: describe 0.04-0.07,
#: missingness 0.00-0.02, Little's test 0.12-0.19, Mardia 0.01-0.02, classical distances
#: 0.01, MCD 0.70-0.83), in percent
SCREEN_PART_COSTS = {"describe": 5.0, "missingness": 1.0, "little_mcar": 15.0, "mardia": 1.0,
                     "mahalanobis": 1.0, "mcd": 77.0}


@single_blas_thread
def screen(items: Any, instrument: Any = None, *, min: float | None = None,
           max: float | None = None, alpha: float = 0.001, seed: int = 0,
           robust: bool = True, progress=None) -> ScreeningResult:
    """Screen one instrument's items.

    ``items``: DataFrame of item responses (rows = cases indexed by id), or a
    :class:`~psychometrics.io.Dataset` together with ``instrument`` (its id).
    ``instrument`` (an :class:`~psychometrics.scales.Instrument` or id) supplies the
    response range for floor/ceiling percentages unless ``min``/``max`` are given.
    ``alpha``: outlier cut-off level; ``seed``: MCD seed; ``robust``: also run MCD.
    ``progress``: optional callback ``progress(done, total)`` called after each part
    (descriptives, missingness, Little's test, Mardia's test, the classical and the robust
    distances) with the parts' shares of the usual time (:data:`SCREEN_PART_COSTS`) done and
    in all; it receives counts only and changes nothing of the result.
    Returns a :class:`ScreeningResult`.
    """
    from .io import Dataset
    from .scales import Instrument

    inst_id = None
    if isinstance(items, Dataset):
        if instrument is None:
            raise StudyError("screen(dataset, instrument): name the instrument to screen")
        inst_id = instrument.id if isinstance(instrument, Instrument) else str(instrument)
        instrument = items.instrument(inst_id)
        items = items.items(inst_id)
    elif isinstance(instrument, str):
        from .scales import load_instrument
        instrument = load_instrument(instrument)
    if isinstance(instrument, Instrument):
        inst_id = instrument.id
        min = instrument.min if min is None else min
        max = instrument.max if max is None else max
    frame = _as_frame(items, "screen")
    parts = [k for k in SCREEN_PART_COSTS if robust or k != "mcd"]
    total = sum(SCREEN_PART_COSTS[k] for k in parts)
    done = [0.0]

    def tick(part):
        if progress is not None:
            done[0] += SCREEN_PART_COSTS[part]
            progress(done[0], total)

    def mcd_part(d, t):     # the MCD's own progress, within its share
        progress(done[0] + SCREEN_PART_COSTS["mcd"] * d / t, total)

    res_desc = describe(frame, min=min, max=max)
    tick("describe")
    res_miss = missingness(frame)
    tick("missingness")
    res_mcar = little_mcar(frame)
    tick("little_mcar")
    res_mardia = mardia(frame)
    tick("mardia")
    outl = {"classical": mahalanobis_outliers(frame, alpha=alpha, method="classical")}
    tick("mahalanobis")
    if robust:
        outl["mcd"] = mahalanobis_outliers(frame, alpha=alpha, method="mcd", seed=seed,
                                           progress=mcd_part if progress is not None else None)
        tick("mcd")
    allw = list(res_mcar.warnings) + list(res_mardia.warnings)
    for o in outl.values():
        allw += o.warnings
    return ScreeningResult(inst_id, res_desc, res_miss, res_mcar, res_mardia, outl, allw)
