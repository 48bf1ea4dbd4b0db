"""Item analysis and reliability: Cronbach's alpha, Guttman's lambda-6, omega.

Functions
---------
``item_analysis(items, keys=None)``
    Item statistics (n, mean, sd, raw/standardised item-total correlations,
    corrected item-total correlation ``r_drop``, alpha if item deleted), as
    ``psych::alpha``'s ``item.stats`` and ``alpha.drop``.
``alpha(items, keys=None, n_boot=0, seed=None, level=0.95)``
    Cronbach's alpha (raw and standardised), Guttman's lambda-6, Feldt and
    Duhachek (asymptotic) confidence intervals and, on request, a seeded
    percentile bootstrap CI -- ``psych::alpha`` (Cronbach 1951; Feldt, Woodruff
    & Salih 1987; Duhachek & Iacobucci 2004; Guttman 1945).
``omega(items, n_groups=1, ...)``
    McDonald's omega total (and, for ``n_groups >= 2``, omega hierarchical,
    omega limit, ECV and omega per group factor) from a minres factor analysis
    of the correlation matrix with an oblimin rotation and a Schmid-Leiman
    transformation -- ``psych::omega`` (McDonald 1999; Zinbarg, Revelle, Yovel
    & Li 2005; Schmid & Leiman 1957).
``comp_rel_sem(fit_or_items, obs_var=True)``
    Composite reliability (omega) of each factor of a CFA fitted by ML --
    ``semTools::compRelSEM`` (Bentler 2009; Raykov 1997).

Missing data
------------
Like psych, everything here uses *pairwise* deletion: alpha works on the
pairwise covariance matrix (``cov(x, use = "pairwise")``), omega on the
pairwise correlation matrix (``cor(x, use = "pairwise")``).  Item means and
SDs use every available value of the item; the total score of a row is the
mean of its available items (psych's ``cumulative = FALSE``).
``comp_rel_sem`` uses whatever missing-data treatment the CFA used (listwise
by default, as lavaan).

Which denominator each omega uses
---------------------------------
* ``omega(...)`` (psych::omega): items are standardised; numerator and
  denominator come from the *observed* (pairwise) correlation matrix R:
  omega_total = 1 - sum(u2) / sum(R), omega_h = (sum g)^2 / sum(R).
* ``comp_rel_sem(fit, obs_var=True)`` (semTools default): unstandardised;
  (sum lambda)^2 psi / sum(S) with S the *observed* sample covariance
  matrix of the factor's indicators.
* ``comp_rel_sem(fit, obs_var=False)``: the same numerator over the sum of
  the *model-implied* covariance matrix Sigma (Bentler 2009's omega).

Reverse-keyed items are reversed only if the caller asks (``keys=``), as in
psych: a reversed value is ``min + max - x`` with ``min``/``max`` the
smallest and largest value among all the items.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from psychometrics._measurement import _batches, _boot_weights, _fit_matrices, _weighted_pairwise_moments
from psychometrics._results import jsonable
from psychometrics._validate import numeric_items
from psychometrics.errors import PsychometricsError, PsychometricsWarning
from ._blas import single_blas_thread

__all__ = ["alpha", "omega", "comp_rel_sem", "item_analysis", "AlphaResult", "OmegaResult",
           "CompRelResult", "ReliabilityInputError"]


class ReliabilityInputError(PsychometricsError):
    """The items given to a reliability function cannot be analysed."""


# --------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------

def _source_name(items: pd.DataFrame) -> str:
    return str(items.attrs.get("source", items.attrs.get("file", "<items data frame>")))


def _prepare(items: Any, keys: Any = None, min_items: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    """Validate ``items`` and apply reverse keys.

    Returns the numeric (float) DataFrame -- reversed items already reversed,
    column names unchanged -- and the key vector (+1 / -1).
    """
    if isinstance(items, np.ndarray):
        items = pd.DataFrame(items, columns=[f"V{i + 1}" for i in range(items.shape[1])])
    if not isinstance(items, pd.DataFrame):
        raise ReliabilityInputError(
            f"items must be a pandas DataFrame of item columns, got {type(items).__name__}")
    src = _source_name(items)
    if items.shape[1] < min_items:
        raise ReliabilityInputError(
            f"{src}: need at least {min_items} item columns, got {items.shape[1]} "
            f"({', '.join(map(str, items.columns))})")
    if items.columns.duplicated().any():
        dup = items.columns[items.columns.duplicated()].tolist()
        raise ReliabilityInputError(f"{src}: duplicated item column(s) {dup}")
    x = numeric_items(items, src, min_nonmissing=2)
    key = _keys_vector(keys, list(x.columns), src)
    if (key < 0).any():
        arr = x.to_numpy()
        adjust = np.nanmax(arr) + np.nanmin(arr)
        for j in np.where(key < 0)[0]:
            x.iloc[:, j] = adjust - x.iloc[:, j]
    return x, key


def _keys_vector(keys: Any, names: list, src: str) -> np.ndarray:
    p = len(names)
    if keys is None:
        return np.ones(p)
    if isinstance(keys, str):
        keys = [keys]
    if isinstance(keys, dict):
        out = np.ones(p)
        for k, v in keys.items():
            if k not in names:
                raise ReliabilityInputError(f"{src}: keys names unknown item {k!r}; items are {names}")
            if v not in (1, -1):
                raise ReliabilityInputError(f"{src}: key of item {k!r} must be 1 or -1, got {v!r}")
            out[names.index(k)] = v
        return out
    keys = list(keys)
    if keys and all(isinstance(k, (int, float, np.integer, np.floating)) and not isinstance(k, bool)
                    for k in keys) and len(keys) == p and set(np.unique(keys)) <= {1, -1}:
        return np.asarray(keys, dtype=float)
    out = np.ones(p)
    for k in keys:
        if k not in names:
            raise ReliabilityInputError(
                f"{src}: keys names unknown item {k!r}; items are {names} "
                f"(give the names of the items to reverse, or one 1/-1 per item)")
        out[names.index(k)] = -1
    return out


def _row_means(x: np.ndarray) -> np.ndarray:
    """Mean of each row's available items (NaN for an all-missing row), as rowMeans(na.rm=TRUE)."""
    cnt = (~np.isnan(x)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, np.nansum(x, axis=1) / cnt, np.nan)


def _pairwise_cov(x: np.ndarray) -> np.ndarray:
    """Pairwise-complete covariance (n - 1 denominator), as R's cov(use="pairwise")."""
    return _weighted_pairwise_moments(x, np.ones((1, x.shape[0])))[0][0]


def _pairwise_cor(x: np.ndarray) -> np.ndarray:
    """Pairwise-complete Pearson correlation, as R's cor(use="pairwise")."""
    return _weighted_pairwise_moments(x, np.ones((1, x.shape[0])))[1][0]


def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations 1 - 1/diag(R^-1) (psych::smc)."""
    try:
        inv = np.linalg.inv(r)
        if not np.all(np.isfinite(inv)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(r)
    s = 1.0 - 1.0 / np.diag(inv)
    return np.clip(s, 0.0, 1.0)


def _cov2cor(c: np.ndarray) -> np.ndarray:
    d = 1.0 / np.sqrt(np.diag(c))
    return c * d[:, None] * d[None, :]


def _alpha_stats(c: np.ndarray, r: np.ndarray) -> dict:
    """psych's internal alpha.1: alpha (raw, std), G6, mean r, S/N, Q, var/median r."""
    n = c.shape[0]
    tr, sc = np.trace(c), c.sum()
    raw = (1 - tr / sc) * n / (n - 1)
    sum_r = r.sum()
    std = (1 - n / sum_r) * n / (n - 1)
    g6 = 1 - (n - _smc(r).sum()) / sum_r
    av_r = (sum_r - n) / (n * (n - 1))
    low = r[np.tril_indices(n, -1)]
    var_r = float(np.var(low, ddof=1)) if low.size > 1 else np.nan
    med_r = float(np.median(low))
    sn = n * av_r / (1 - av_r)
    cc = c @ c
    q = (2 * n ** 2 / ((n - 1) ** 2 * sc ** 3)) * (sc * (np.trace(cc) + tr ** 2) - 2 * tr * cc.sum())
    return dict(raw_alpha=raw, std_alpha=std, G6=g6, average_r=av_r, s_n=sn, Q=q,
                var_r=var_r, median_r=med_r)


def _alpha_raw_batch(cov: np.ndarray) -> np.ndarray:
    """Raw alpha for a batch of covariance matrices (B, p, p)."""
    p = cov.shape[1]
    tr = np.trace(cov, axis1=1, axis2=2)
    sc = cov.sum(axis=(1, 2))
    return (1 - tr / sc) * p / (p - 1)


# --------------------------------------------------------------------------
# alpha and item analysis
# --------------------------------------------------------------------------

@dataclass
class AlphaResult:
    """Cronbach's alpha and item statistics (psych::alpha).

    Attributes
    ----------
    estimate : raw alpha (from the pairwise covariance matrix).
    std_alpha : standardised alpha (from the correlation matrix cov2cor(C)).
    G6 : Guttman's lambda-6 from squared multiple correlations of R.
    average_r, median_r, s_n : mean / median inter-item correlation and
        signal/noise ratio.
    ase : Duhachek & Iacobucci's asymptotic standard error of alpha.
    ci : (lower, upper) -- the Feldt CI (psych's ``feldt``), or the bootstrap
        percentile CI when ``n_boot > 0`` (see ``ci_method``).
    ci_feldt, ci_duhachek, ci_boot : every CI computed.
    items : DataFrame, one row per item: n, raw_r, std_r, r_cor, r_drop
        (corrected item-total correlation), mean, sd, alpha_if_deleted (raw),
        std_alpha_if_deleted, G6_if_deleted, average_r_if_deleted,
        alpha_se_if_deleted, var_r_if_deleted, med_r_if_deleted, key.
    """

    estimate: float
    std_alpha: float
    G6: float
    average_r: float
    median_r: float
    s_n: float
    ase: float
    mean: float
    sd: float
    n_obs: int
    n_items: int
    ci: tuple
    ci_method: str
    level: float
    ci_feldt: tuple
    ci_duhachek: tuple
    ci_boot: tuple | None
    n_boot: int
    seed: int | None
    items: pd.DataFrame
    missing: str = "pairwise"
    warnings: list = field(default_factory=list)
    ordinal: bool = False

    @property
    def raw_alpha(self) -> float:
        return self.estimate

    def to_frame(self) -> pd.DataFrame:
        return self.items.copy()

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in (
            "estimate", "std_alpha", "G6", "average_r", "median_r", "s_n", "ase", "mean", "sd",
            "n_obs", "n_items", "ci", "ci_method", "level", "ci_feldt", "ci_duhachek", "ci_boot",
            "n_boot", "seed", "missing", "warnings", "ordinal")}
        d["items"] = self.items
        return jsonable(d)

    def summary(self) -> str:
        lo, hi = self.ci
        return (f"Cronbach's alpha = {self.estimate:.3f} ({self.level:.0%} CI {lo:.3f}-{hi:.3f}, "
                f"{self.ci_method}); standardised = {self.std_alpha:.3f}; lambda-6 = {self.G6:.3f}; "
                f"{self.n_items} items, n = {self.n_obs}")


def _item_table(x: pd.DataFrame, c: np.ndarray, r: np.ndarray, key: np.ndarray) -> pd.DataFrame:
    arr = x.to_numpy()
    p = arr.shape[1]
    names = list(x.columns)
    total = _row_means(arr)  # all-missing rows give NaN -> excluded pairwise
    raw_r = np.empty(p)
    for j in range(p):
        ok = ~np.isnan(arr[:, j]) & ~np.isnan(total)
        raw_r[j] = np.corrcoef(total[ok], arr[ok, j])[0, 1]
    vt = r.sum()
    std_r = r.sum(axis=0) / np.sqrt(vt)
    rc = r.copy()
    np.fill_diagonal(rc, _smc(r))
    r_cor = rc.sum(axis=0) / np.sqrt(rc.sum())
    r_drop = np.empty(p)
    for j in range(p):
        keep = np.arange(p) != j
        r_drop[j] = (c[:, j].sum() - c[j, j]) / np.sqrt(c[j, j] * c[np.ix_(keep, keep)].sum())
    drop = {k: np.full(p, np.nan) for k in ("raw_alpha", "std_alpha", "G6", "average_r",
                                             "alpha_se", "var_r", "med_r")}
    n_sub = arr.shape[0]
    if p > 2:
        for j in range(p):
            keep = np.arange(p) != j
            s = _alpha_stats(c[np.ix_(keep, keep)], r[np.ix_(keep, keep)])
            drop["raw_alpha"][j] = s["raw_alpha"]
            drop["std_alpha"][j] = s["std_alpha"]
            drop["G6"][j] = s["G6"]
            drop["average_r"][j] = s["average_r"]
            drop["alpha_se"][j] = np.sqrt(s["Q"] / n_sub)
            drop["var_r"][j] = s["var_r"]
            drop["med_r"][j] = s["median_r"]
    else:  # psych: with two items, "alpha if deleted" is the slope / the correlation
        drop["raw_alpha"][:] = [c[0, 1] / c[1, 1], c[0, 1] / c[0, 0]]
        drop["std_alpha"][:] = r[0, 1]
        drop["G6"][:] = _smc(r)[0]
        drop["average_r"][:] = r[0, 1]
        drop["var_r"][:] = 0.0
        drop["med_r"][:] = r[0, 1]
    tab = pd.DataFrame({
        "n": (~np.isnan(arr)).sum(axis=0),
        "mean": np.nanmean(arr, axis=0),
        "sd": np.nanstd(arr, axis=0, ddof=1),
        "raw_r": raw_r, "std_r": std_r, "r_cor": r_cor, "r_drop": r_drop,
        "alpha_if_deleted": drop["raw_alpha"],
        "std_alpha_if_deleted": drop["std_alpha"],
        "G6_if_deleted": drop["G6"],
        "average_r_if_deleted": drop["average_r"],
        "alpha_se_if_deleted": drop["alpha_se"],
        "var_r_if_deleted": drop["var_r"],
        "med_r_if_deleted": drop["med_r"],
        "key": key.astype(int),
    }, index=pd.Index([str(n) for n in names], name="item"))
    return tab


@single_blas_thread
def item_analysis(items: pd.DataFrame, keys: Any = None) -> pd.DataFrame:
    """Item statistics of one scale, as ``psych::alpha``'s item.stats and alpha.drop.

    Returns a DataFrame indexed by item with columns ``n``, ``mean``, ``sd``
    (available values; reversed items already reversed), ``raw_r``
    (item-total correlation), ``std_r`` (from the correlation matrix),
    ``r_cor`` (corrected for item overlap and reliability), ``r_drop``
    (corrected item-total correlation: the item against the sum of the other
    items), ``alpha_if_deleted`` (raw alpha of the other items) and the other
    "if deleted" statistics of psych (``std_alpha_if_deleted``,
    ``G6_if_deleted``, ...), and ``key`` (1 or -1).  Pairwise deletion, as
    psych.  ``keys``: names of items to reverse (or one 1/-1 per item).
    """
    x, key = _prepare(items, keys)
    arr = x.to_numpy()
    c = _pairwise_cov(arr)
    r = _cov2cor(c)
    return _item_table(x, c, r, key)


def _alpha_checks(c: np.ndarray, r: np.ndarray, columns) -> list[str]:
    """psych::alpha's warnings for covariance ``c`` / correlation ``r`` of the items
    ``columns``: items loading negatively on the first principal component (psych checks
    the sign of each item's loading; "probably should be reversed"), a pairwise covariance
    matrix that is not positive definite.  Returns the messages (empty: none)."""
    warn = []
    ev, evec = np.linalg.eigh(r)
    pc1 = evec[:, -1] * np.sqrt(max(ev[-1], 0))
    if pc1.sum() < 0:
        pc1 = -pc1
    neg = [str(n) for n, v in zip(columns, pc1) if v < 0]
    if neg:
        warn.append(f"items {neg} correlate negatively with the total scale and probably "
                    f"should be reversed (keys=)")
    if np.linalg.eigvalsh(c)[0] <= 0:
        warn.append("the pairwise covariance matrix is not positive definite")
    return warn


@single_blas_thread
def alpha(items: pd.DataFrame, keys: Any = None, n_boot: int = 0, seed: int | None = None,
          level: float = 0.95, ordinal: bool = False) -> AlphaResult:
    """Cronbach's alpha of one scale, reproducing ``psych::alpha`` (psych 2.2.9).

    Returns an :class:`AlphaResult`: ``.estimate`` (raw alpha from the
    pairwise covariance matrix C: (1 - tr C / sum C) p / (p - 1), Cronbach
    1951), ``.std_alpha`` (from R = cov2cor(C)), ``.G6`` (Guttman's lambda-6
    with squared multiple correlations), ``.ase`` (Duhachek & Iacobucci 2004),
    ``.ci`` and ``.items`` (see :func:`item_analysis`).

    Confidence intervals: Feldt, Woodruff & Salih (1987) F-based interval
    (``psych::alpha.ci``, with n = number of rows); Duhachek's
    ``alpha +/- z * ase``; and, when ``n_boot > 0``, the percentile interval
    of ``n_boot`` bootstrap resamples of the rows (each resample recomputes
    the pairwise covariance matrix; seeded with ``numpy.random.default_rng(seed)``).
    ``.ci`` is the bootstrap interval when it was computed, otherwise Feldt's.

    Missing values: pairwise deletion, as psych's default ``use = "pairwise"``.
    ``keys``: item names to reverse (min + max - x), as psych's ``keys=``; by
    default nothing is reversed (scoring reverses items upstream).  Items with a
    negative loading on the first principal component are reported in
    ``.warnings`` (psych warns likewise).

    ``ordinal=True``: ordinal alpha (Zumbo, Gadermann & Zeisser 2007), alpha
    of the polychoric correlation matrix, as ``psych::alpha(polychoric(x)$rho)``
    (:func:`psychometrics.polychoric`, psych's method, smoothed when not
    positive definite).  Every statistic then comes from that matrix (raw =
    standardised alpha, ``raw_r`` = ``std_r``); ``mean``/``sd`` and the item
    means describe the observed scores; the Feldt CI uses n = number of rows;
    no bootstrap (``n_boot`` must be 0).
    """
    if not (0 < level < 1):
        raise ReliabilityInputError(f"level must be between 0 and 1, got {level!r}")
    if n_boot < 0:
        raise ReliabilityInputError(f"n_boot must be >= 0, got {n_boot!r}")
    x, key = _prepare(items, keys)
    arr = x.to_numpy()
    n_sub, p = arr.shape
    if ordinal:
        return _ordinal_alpha(x, key, n_boot, level)
    c = _pairwise_cov(arr)
    if not np.all(np.isfinite(c)):
        raise ReliabilityInputError(
            f"{_source_name(items)}: some pairs of items have fewer than 2 cases observed together; "
            f"the pairwise covariance matrix cannot be computed")
    r = _cov2cor(c)
    s = _alpha_stats(c, r)
    warn = _alpha_checks(c, r, x.columns)
    for w in warn:
        warnings.warn(w, PsychometricsWarning, stacklevel=2)
    total = _row_means(arr)
    ase = float(np.sqrt(s["Q"] / n_sub))
    a = s["raw_alpha"]
    alpha_p = 1 - level
    df1, df2 = n_sub - 1, (n_sub - 1) * (p - 1)
    feldt = (1 - (1 - a) * stats.f.ppf(1 - alpha_p / 2, df1, df2),
             1 - (1 - a) * stats.f.ppf(alpha_p / 2, df1, df2))
    z = stats.norm.ppf(1 - alpha_p / 2)
    duh = (a - z * ase, a + z * ase)
    boot_ci = None
    if n_boot:
        rng = np.random.default_rng(seed)
        reps = []
        for b in _batches(n_boot, n_sub, p):
            w = _boot_weights(rng, n_sub, b)
            cov, _ = _weighted_pairwise_moments(arr, w)
            reps.append(_alpha_raw_batch(cov))
        reps = np.concatenate(reps)
        bad = ~np.isfinite(reps)
        if bad.any():
            warn.append(f"{int(bad.sum())} of {n_boot} bootstrap samples gave no alpha and were dropped")
        reps = reps[~bad]
        boot_ci = (float(np.quantile(reps, alpha_p / 2)), float(np.quantile(reps, 1 - alpha_p / 2)))
    return AlphaResult(
        estimate=float(a), std_alpha=float(s["std_alpha"]), G6=float(s["G6"]),
        average_r=float(s["average_r"]), median_r=float(s["median_r"]), s_n=float(s["s_n"]),
        ase=ase, mean=float(np.nanmean(total)), sd=float(np.nanstd(total, ddof=1)),
        n_obs=int(n_sub), n_items=int(p),
        ci=boot_ci if boot_ci is not None else tuple(map(float, feldt)),
        ci_method="bootstrap percentile" if boot_ci is not None else "Feldt",
        level=level, ci_feldt=tuple(map(float, feldt)), ci_duhachek=tuple(map(float, duh)),
        ci_boot=boot_ci, n_boot=int(n_boot), seed=seed,
        items=_item_table(x, c, r, key), warnings=warn)


def _ordinal_alpha(x: pd.DataFrame, key: np.ndarray, n_boot: int, level: float) -> AlphaResult:
    """alpha(..., ordinal=True): psych::alpha of the polychoric matrix (Zumbo et al. 2007)."""
    from .polychoric import polychoric
    if n_boot:
        raise ReliabilityInputError("n_boot is not available with ordinal=True (ordinal alpha has "
                                    "no bootstrap here); use n_boot=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # re-issued below, prefixed
        poly = polychoric(x, method="psych")
    warn = [f"polychoric: {w}" for w in poly.warnings]
    r = poly.rho.to_numpy()
    if np.isnan(r).any():
        raise ReliabilityInputError(f"{_source_name(x)}: some polychoric correlations could not be "
                                    f"estimated ({poly.diagnostics['missing_pairs']}); no ordinal alpha")
    n_sub, p = x.shape
    s = _alpha_stats(r, r)
    tab = _item_table(x, r, r, key)
    tab["raw_r"] = tab["std_r"]
    total = _row_means(x.to_numpy())
    a = s["raw_alpha"]
    alpha_p = 1 - level
    df1, df2 = n_sub - 1, (n_sub - 1) * (p - 1)
    feldt = (1 - (1 - a) * stats.f.ppf(1 - alpha_p / 2, df1, df2),
             1 - (1 - a) * stats.f.ppf(alpha_p / 2, df1, df2))
    ase = float(np.sqrt(s["Q"] / n_sub))
    z = stats.norm.ppf(1 - alpha_p / 2)
    for w in warn:
        warnings.warn(w, PsychometricsWarning, stacklevel=3)
    return AlphaResult(
        estimate=float(a), std_alpha=float(s["std_alpha"]), G6=float(s["G6"]),
        average_r=float(s["average_r"]), median_r=float(s["median_r"]), s_n=float(s["s_n"]),
        ase=ase, mean=float(np.nanmean(total)), sd=float(np.nanstd(total, ddof=1)),
        n_obs=int(n_sub), n_items=int(p), ci=tuple(map(float, feldt)), ci_method="Feldt",
        level=level, ci_feldt=tuple(map(float, feldt)),
        ci_duhachek=(float(a - z * ase), float(a + z * ase)), ci_boot=None, n_boot=0, seed=None,
        items=tab, warnings=warn, ordinal=True)


# --------------------------------------------------------------------------
# factor analysis pieces for omega (psych::fa minres, varimax, GPArotation oblimin)
# --------------------------------------------------------------------------

def _minres_newton(r, nf, start, lo, hi, tol=1e-12, maxit=100):
    """Projected Newton for min_psi F(psi) = 0.5 ||R - diag(psi) - L L'||^2 (L: top-nf part).

    Gradient g = psi + diag(LL') - diag(R); Hessian I - (P o P) - 2 sum_{k<=nf<l}
    lambda_k/(lambda_k - lambda_l) (v_k o v_l)(v_k o v_l)' (eigen-perturbation).
    Returns (psi, converged) -- converged False means: use the quasi-Newton fallback.
    """
    p = r.shape[0]

    def evalf(psi, hess):
        ev, vec = np.linalg.eigh(r - np.diag(psi))
        ev, vec = ev[::-1], vec[:, ::-1]
        if ev[nf - 1] <= 0 or (nf < p and ev[nf - 1] - ev[nf] < 1e-10):
            return None
        lam = vec[:, :nf] * np.sqrt(ev[:nf])
        resid = r - np.diag(psi) - lam @ lam.T
        f = 0.5 * np.sum(resid ** 2)
        g = -np.diag(resid)
        if not hess:
            return f, g, None
        vt, vr = vec[:, :nf], vec[:, nf:]
        P = vt @ vt.T
        H = np.eye(p) - P ** 2
        c = ev[:nf, None] / (ev[:nf, None] - ev[None, nf:])          # (nf, p - nf)
        W = vt[:, :, None] * vr[:, None, :]                           # (p, nf, p - nf)
        H -= 2 * np.einsum("ikl,kl,jkl->ij", W, c, W)
        return f, g, H

    psi = np.clip(start, lo, hi)
    out = evalf(psi, True)
    if out is None:
        return psi, False
    f, g, H = out
    for _ in range(maxit):
        at_lo = (psi <= lo + 1e-12) & (g > 0)
        at_hi = (psi >= hi - 1e-12) & (g < 0)
        free = ~(at_lo | at_hi)
        pg = np.where(free, g, 0.0)
        if np.max(np.abs(pg)) < tol:
            return psi, True
        Hf = H[np.ix_(free, free)]
        try:
            step_f = np.linalg.solve(Hf, g[free])
        except np.linalg.LinAlgError:
            return psi, False
        if step_f @ g[free] <= 0:      # not a descent direction: Hessian not PD here
            step_f = g[free]
        step = np.zeros(p)
        step[free] = step_f
        t = 1.0
        near = np.max(np.abs(pg)) < 1e-6   # quadratic convergence region: take full steps
        for _ in range(30):
            cand = np.clip(psi - t * step, lo, hi)
            o = evalf(cand, False)
            if o is not None and (near or o[0] <= f - 1e-4 * t * (step @ g)):
                break
            t /= 2
        else:
            return psi, False
        psi = cand
        out = evalf(psi, True)
        if out is None:
            return psi, False
        f, g, H = out
    return psi, False


def _minres(r: np.ndarray, nf: int) -> tuple[np.ndarray, dict]:
    """Minimum-residual (ULS) factor analysis of a correlation matrix, as psych::fa(fm="minres").

    Minimises the residual sum of squares over the uniquenesses psi (bounds
    [0.005, max(smc, 1)], start 1 - smc as psych), with loadings from the top
    ``nf`` eigenvectors of R - diag(psi): a projected Newton method with the
    analytic Hessian (to 1e-12 in the gradient), falling back on L-BFGS-B (the
    optimiser psych uses) if Newton fails.  Returns unrotated loadings (p, nf)
    with psych's sign convention (positive column sums) and diagnostics.
    """
    p = r.shape[0]
    s_smc = _smc(r)
    upper = max(float(np.max(s_smc)), 1.0)
    start = np.diag(r) - s_smc

    def load(psi):
        ev, vec = np.linalg.eigh(r - np.diag(psi))
        ev, vec = ev[::-1][:nf], vec[:, ::-1][:, :nf]
        return vec * np.sqrt(np.maximum(ev, 0.0))

    def fun(psi):
        ev, vec = np.linalg.eigh(r - np.diag(psi))
        ev, vec = ev[::-1], vec[:, ::-1]
        top = np.maximum(ev[:nf], 0.0)
        lam = vec[:, :nf] * np.sqrt(top)
        resid = r - np.diag(psi) - lam @ lam.T
        f = 0.5 * np.sum(resid ** 2)
        g = -np.diag(resid)
        return f, g

    psi, ok = _minres_newton(r, nf, start, 0.005, upper)
    if ok:
        msg = "projected Newton converged"
    else:  # fall back on the quasi-Newton method psych itself uses
        res = optimize.minimize(fun, start, jac=True, method="L-BFGS-B",
                                bounds=[(0.005, upper)] * p,
                                options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 5000})
        psi, ok, msg = res.x, bool(res.success), f"L-BFGS-B: {res.message}"
    lam = load(psi)
    sgn = np.sign(lam.sum(axis=0))
    sgn[sgn == 0] = 1
    lam = lam * sgn
    diag = {"converged": bool(ok), "message": msg, "psi": psi,
            "heywood": bool(np.any(psi <= 0.005 + 1e-8))}
    return lam, diag


def _varimax(a: np.ndarray, eps: float = 1e-10, maxit: int = 1000) -> np.ndarray:
    """Kaiser-normalised varimax (stats::varimax); only a starting point for oblimin."""
    p, k = a.shape
    if k < 2:
        return a
    h = np.sqrt((a ** 2).sum(axis=1))
    h[h == 0] = 1
    x = a / h[:, None]
    t = np.eye(k)
    d = 0.0
    for _ in range(maxit):
        z = x @ t
        b = x.T @ (z ** 3 - z @ np.diag((z ** 2).sum(axis=0)) / p)
        u, s, vt = np.linalg.svd(b)
        t = u @ vt
        dpast, d = d, s.sum()
        if d < dpast * (1 + eps):
            break
    return (x @ t) * h[:, None]


def _oblimin(a: np.ndarray, eps: float = 1e-6, maxit: int = 5000) -> tuple[np.ndarray, np.ndarray, bool]:
    """Direct quartimin (oblimin, gamma = 0) by gradient projection (Jennrich 2002),
    the algorithm of GPArotation::GPFoblq with normalize = FALSE (stopping when
    the projected gradient's norm is below ``eps``; GPArotation uses 1e-5).

    Returns pattern loadings, factor correlations Phi and a convergence flag.
    """
    k = a.shape[1]
    nmat = np.ones((k, k)) - np.eye(k)

    def vgq(l):
        l2 = l ** 2
        gq = l * (l2 @ nmat)
        return gq, np.sum(l2 * (l2 @ nmat)) / 4

    t = np.eye(k)
    l = a @ np.linalg.inv(t).T
    gq, f = vgq(l)
    g = -(l.T @ gq @ np.linalg.inv(t)).T
    al = 1.0
    converged = False
    for _ in range(maxit):
        gp = g - t @ np.diag(np.sum(t * g, axis=0))
        s = np.sqrt(np.sum(gp ** 2))
        if s < eps:
            converged = True
            break
        al *= 2
        for _ in range(11):
            xm = t - al * gp
            v = 1 / np.sqrt(np.sum(xm ** 2, axis=0))
            tt = xm * v
            lt = a @ np.linalg.inv(tt).T
            gqt, ft = vgq(lt)
            if f - ft > 0.5 * s ** 2 * al:
                break
            al /= 2
        t, l, gq, f = tt, lt, gqt, ft
        g = -(l.T @ gq @ np.linalg.inv(t)).T
    phi = t.T @ t
    return l, phi, converged


# --------------------------------------------------------------------------
# the same algorithms for a stack of correlation matrices (the omega bootstrap)
# --------------------------------------------------------------------------
# Each function below runs the algorithm of its single-matrix counterpart above on B matrices at
# once, in lockstep: the same start, the same steps, the same line searches and stopping rules
# for every matrix, which stops on its own; only the linear algebra is batched (LAPACK over the
# stack).  So a draw's result does not depend on the other draws of its batch, and it is the
# single-matrix result (tests/test_reliability_boot.py compares them draw by draw).  Where the
# single-matrix algorithm would leave its fast path (a Newton failure, a singular matrix), that
# draw is handed to the single-matrix function.

def _smc_batch(r: np.ndarray) -> np.ndarray:
    """:func:`_smc` of each matrix of a stack (B, p, p); a matrix whose inverse fails takes
    :func:`_smc`'s own path (pseudo-inverse)."""
    p = r.shape[1]
    try:
        inv = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        return np.array([_smc(a) for a in r]).reshape(len(r), p)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.clip(1.0 - 1.0 / inv[:, np.arange(p), np.arange(p)], 0.0, 1.0)
    for b in np.flatnonzero(~np.isfinite(inv).reshape(len(r), -1).all(axis=1)):
        out[b] = _smc(r[b])
    return out


def _minres_eval_batch(r, psi, nf, hess):
    """The objective of :func:`_minres_newton` (its ``evalf``) for a stack: (valid, f, g, H, ev,
    vec) with eigenvalues in decreasing order; ``H`` only when ``hess``."""
    B, p, _ = r.shape
    ar = np.arange(p)
    m = r.copy()
    m[:, ar, ar] -= psi                              # r - diag(psi)
    ev, vec = np.linalg.eigh(m)
    ev, vec = ev[:, ::-1], vec[:, :, ::-1]
    valid = ~(ev[:, nf - 1] <= 0)
    if nf < p:
        valid &= ~(ev[:, nf - 1] - ev[:, nf] < 1e-10)
    with np.errstate(invalid="ignore"):
        lam = vec[:, :, :nf] * np.sqrt(ev[:, None, :nf])
    resid = m - lam @ np.swapaxes(lam, 1, 2)
    f = 0.5 * (resid ** 2).reshape(B, -1).sum(axis=1)
    g = -resid[:, ar, ar]
    H = _minres_hessian_batch(ev, vec, nf) if hess else None
    return valid, f, g, H, ev, vec


def _minres_hessian_batch(ev, vec, nf):
    """The analytic Hessian of :func:`_minres_newton` from the eigen-decomposition (stack)."""
    p = vec.shape[1]
    vt, vr = vec[:, :, :nf], vec[:, :, nf:]
    P = vt @ np.swapaxes(vt, 1, 2)
    H = np.eye(p) - P ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        c = ev[:, :nf, None] / (ev[:, :nf, None] - ev[:, None, nf:])
    W = vt[:, :, :, None] * vr[:, :, None, :]
    H -= 2 * np.einsum("bikl,bkl,bjkl->bij", W, c, W)
    return H


def _minres_batch(r: np.ndarray, nf: int) -> np.ndarray:
    """:func:`_minres` of each matrix of a stack (B, p, p): the unrotated loadings (B, p, nf).

    The projected Newton method of :func:`_minres_newton` in lockstep (same start 1 - smc, bounds,
    line search and tolerance); a matrix on which it fails (psych's L-BFGS-B fallback) is solved by
    :func:`_minres` itself.  The objective evaluated at an accepted line-search point is reused
    for the next Newton step and for the loadings (the single-matrix code recomputes the same
    eigen-decomposition)."""
    B, p, _ = r.shape
    lo, tol, maxit = 0.005, 1e-12, 100
    s_smc = _smc_batch(r)
    hi = np.maximum(s_smc.max(axis=1), 1.0)[:, None]          # upper bound per matrix
    psi = np.clip(r[:, np.arange(p), np.arange(p)] - s_smc, lo, hi)
    valid, f, g, _, ev, vec = _minres_eval_batch(r, psi, nf, False)
    H = np.zeros((B, p, p))
    if valid.any():
        H[valid] = _minres_hessian_batch(ev[valid], vec[valid], nf)
    status = np.where(valid, 0, 2)                             # 0 running, 1 converged, 2 failed
    active = np.flatnonzero(valid)
    ar = np.arange(p)
    for _ in range(maxit):
        if active.size == 0:
            break
        ps, gs, Hs, hs = psi[active], g[active], H[active], hi[active]
        free = ~(((ps <= lo + 1e-12) & (gs > 0)) | ((ps >= hs - 1e-12) & (gs < 0)))
        pg = np.where(free, gs, 0.0)
        pgmax = np.max(np.abs(pg), axis=1)
        conv = pgmax < tol
        status[active[conv]] = 1
        keep = ~conv
        active, ps, gs, Hs, hs, free, pgmax = (a[keep] for a in (active, ps, gs, Hs, hs, free, pgmax))
        if active.size == 0:
            break
        # the Newton system on the free variables: fixed ones get an identity row and a 0 step
        both = free[:, :, None] & free[:, None, :]
        Hm = np.where(both, Hs, 0.0)
        Hm[:, ar, ar] = np.where(free, Hs[:, ar, ar], 1.0)
        rhs = np.where(free, gs, 0.0)
        try:
            step = np.linalg.solve(Hm, rhs[:, :, None])[:, :, 0]
            sing = np.zeros(active.size, dtype=bool)
        except np.linalg.LinAlgError:
            step = np.zeros_like(rhs)
            sing = np.zeros(active.size, dtype=bool)
            for i in range(active.size):
                try:
                    step[i] = np.linalg.solve(Hm[i], rhs[i])
                except np.linalg.LinAlgError:
                    sing[i] = True
        status[active[sing]] = 2
        notdesc = (step * rhs).sum(axis=1) <= 0           # not a descent direction
        step[notdesc] = rhs[notdesc]
        dg = (step * gs).sum(axis=1)
        near = pgmax < 1e-6
        t = np.ones(active.size)
        pending = np.flatnonzero(~sing)
        for _ in range(30):
            if pending.size == 0:
                break
            cand = np.clip(ps[pending] - t[pending, None] * step[pending], lo, hs[pending])
            rows = active[pending]
            ok, fo, go, _, evo, veco = _minres_eval_batch(r[rows], cand, nf, False)
            acc = ok & (near[pending] | (fo <= f[rows] - 1e-4 * t[pending] * dg[pending]))
            if acc.any():
                a_rows = rows[acc]
                psi[a_rows], f[a_rows], g[a_rows] = cand[acc], fo[acc], go[acc]
                ev[a_rows], vec[a_rows] = evo[acc], veco[acc]
                H[a_rows] = _minres_hessian_batch(evo[acc], veco[acc], nf)
            pending = pending[~acc]
            t[pending] /= 2
        status[active[pending]] = 2                        # line search failed
        active = active[status[active] == 0]
    status[active] = 2                                     # maxit reached
    lam = vec[:, :, :nf] * np.sqrt(np.maximum(ev[:, None, :nf], 0.0))
    sgn = np.sign(lam.sum(axis=1))
    sgn[sgn == 0] = 1
    lam = lam * sgn[:, None, :]
    for b in np.flatnonzero(status != 1):
        lam[b] = _minres(r[b], nf)[0]
    return lam


def _varimax_batch(a: np.ndarray, eps: float = 1e-10, maxit: int = 1000) -> np.ndarray:
    """:func:`_varimax` of each loading matrix of a stack (B, p, k), in lockstep."""
    B, p, k = a.shape
    if k < 2:
        return a
    h = np.sqrt((a ** 2).sum(axis=2))
    h[h == 0] = 1
    x = a / h[:, :, None]
    t = np.repeat(np.eye(k)[None], B, axis=0)
    d = np.zeros(B)
    active = np.arange(B)
    for _ in range(maxit):
        if active.size == 0:
            break
        xa = x[active]
        z = xa @ t[active]
        zz = (z ** 2).sum(axis=1)
        dg = np.zeros((active.size, k, k))
        dg[:, np.arange(k), np.arange(k)] = zz
        b = np.swapaxes(xa, 1, 2) @ (z ** 3 - z @ dg / p)
        u, s, vt = np.linalg.svd(b)
        t[active] = u @ vt
        dpast, dnew = d[active], s.sum(axis=1)
        d[active] = dnew
        active = active[~(dnew < dpast * (1 + eps))]
    return (x @ t) * h[:, :, None]


def _inv_small(t: np.ndarray) -> np.ndarray:
    """Inverses of a stack of k x k matrices (the oblimin rotations): the adjugate formula for
    k = 2 and 3 (``numpy.linalg.inv`` costs mostly its per-call overhead at this size; the
    two agree to rounding, tests/test_reliability_boot.py), ``numpy.linalg.inv`` otherwise.
    Raises ``LinAlgError`` for a singular matrix, as ``numpy.linalg.inv``."""
    k = t.shape[-1]
    if k == 2:
        a, b, c, d = t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1]
        det = a * d - b * c
        adj = np.stack([np.stack([d, -b], axis=1), np.stack([-c, a], axis=1)], axis=1)
    elif k == 3:
        c = np.empty_like(t)                  # transposed cofactors (adjugate)
        c[:, 0, 0] = t[:, 1, 1] * t[:, 2, 2] - t[:, 1, 2] * t[:, 2, 1]
        c[:, 0, 1] = t[:, 0, 2] * t[:, 2, 1] - t[:, 0, 1] * t[:, 2, 2]
        c[:, 0, 2] = t[:, 0, 1] * t[:, 1, 2] - t[:, 0, 2] * t[:, 1, 1]
        c[:, 1, 0] = t[:, 1, 2] * t[:, 2, 0] - t[:, 1, 0] * t[:, 2, 2]
        c[:, 1, 1] = t[:, 0, 0] * t[:, 2, 2] - t[:, 0, 2] * t[:, 2, 0]
        c[:, 1, 2] = t[:, 0, 2] * t[:, 1, 0] - t[:, 0, 0] * t[:, 1, 2]
        c[:, 2, 0] = t[:, 1, 0] * t[:, 2, 1] - t[:, 1, 1] * t[:, 2, 0]
        c[:, 2, 1] = t[:, 0, 1] * t[:, 2, 0] - t[:, 0, 0] * t[:, 2, 1]
        c[:, 2, 2] = t[:, 0, 0] * t[:, 1, 1] - t[:, 0, 1] * t[:, 1, 0]
        det = t[:, 0, 0] * c[:, 0, 0] + t[:, 0, 1] * c[:, 1, 0] + t[:, 0, 2] * c[:, 2, 0]
        adj = c
    else:
        return np.linalg.inv(t)
    if np.any(det == 0):
        raise np.linalg.LinAlgError("Singular matrix")
    return adj / det[:, None, None]


def _oblimin_batch(a: np.ndarray, eps: float = 1e-6, maxit: int = 5000):
    """:func:`_oblimin` (GPArotation's GPFoblq, quartimin) of each loading matrix of a stack
    (B, p, k), in lockstep: each matrix has its own step size, line search and stopping rule.
    Returns pattern loadings (B, p, k) and factor correlations (B, k, k)."""
    B, p, k = a.shape
    nmat = np.ones((k, k)) - np.eye(k)
    ak = np.arange(k)

    def vgq(l):
        l2 = l ** 2
        l2n = l2 @ nmat
        return l * l2n, (l2 * l2n).reshape(len(l), -1).sum(axis=1) / 4

    def grad(l, gq, tinv):
        return -np.swapaxes(np.swapaxes(l, 1, 2) @ gq @ tinv, 1, 2)

    t = np.repeat(np.eye(k)[None], B, axis=0)
    tinv0 = _inv_small(t)
    l = a @ np.swapaxes(tinv0, 1, 2)
    gq, f = vgq(l)
    g = grad(l, gq, tinv0)
    al = np.ones(B)
    active = np.arange(B)
    for _ in range(maxit):
        if active.size == 0:
            break
        ta, ga = t[active], g[active]
        dg = np.zeros((active.size, k, k))
        dg[:, ak, ak] = (ta * ga).sum(axis=1)
        gp = ga - ta @ dg
        s = np.sqrt((gp ** 2).reshape(active.size, -1).sum(axis=1))
        stop = s < eps
        lost = ~np.isfinite(s)          # the single-matrix loop would run on NaN to maxit
        if lost.any():
            t[active[lost]] = np.nan
            l[active[lost]] = np.nan
        keep = ~(stop | lost)
        active, ta, gp, s = active[keep], ta[keep], gp[keep], s[keep]
        if active.size == 0:
            break
        al[active] *= 2
        aa = a[active]
        fa = f[active]
        tt = np.empty_like(ta)
        ti = np.empty_like(ta)                # T^-1 of the trial rotations (reused by grad)
        lt = np.empty((active.size, p, k))
        gqt = np.empty((active.size, p, k))
        ft = np.empty(active.size)
        pending = np.arange(active.size)
        for _ in range(11):
            alp = al[active[pending]]
            xm = ta[pending] - alp[:, None, None] * gp[pending]
            v = 1 / np.sqrt((xm ** 2).sum(axis=1))
            ttp = xm * v[:, None, :]
            tip = _inv_small(ttp)
            ltp = aa[pending] @ np.swapaxes(tip, 1, 2)
            gqp, fp = vgq(ltp)
            tt[pending], ti[pending], lt[pending], gqt[pending], ft[pending] = ttp, tip, ltp, gqp, fp
            ok = fa[pending] - fp > 0.5 * s[pending] ** 2 * alp
            pending = pending[~ok]
            al[active[pending]] /= 2
            if pending.size == 0:
                break
        t[active], l[active], gq[active], f[active] = tt, lt, gqt, ft
        g[active] = grad(lt, gqt, ti)
    phi = np.swapaxes(t, 1, 2) @ t
    return l, phi


def _omega_boot_batch(r: np.ndarray, nf: int, flip: bool = True):
    """omega total, omega hierarchical, alpha and G6 of :func:`_omega_core` for a stack of
    correlation matrices (B, p, p), as arrays (B, 4); NaN rows for matrices that cannot be
    analysed (returned as a boolean mask ``failed``).  Same algorithm as :func:`_omega_core`
    (minres, varimax start, oblimin, Schmid-Leiman), each step batched."""
    B, p, _ = r.shape
    ar = np.arange(p)
    orth = _minres_batch(r, nf)
    if nf == 1:
        fload = orth
        gload = np.ones((B, 1))
    else:
        fload, phi = _oblimin_batch(_varimax_batch(orth))
        if nf > 2:
            gload = _minres_batch(phi, 1)[:, :, 0]
        else:
            v = np.sqrt(np.abs(phi[:, 0, 1]))
            gload = np.stack([v, np.sign(phi[:, 0, 1]) * v], axis=1)
    g = (fload @ gload[:, :, None])[:, :, 0]
    h2 = (orth ** 2).sum(axis=2)
    u2 = r[:, ar, ar] - h2
    key = np.sign(g)
    key[key == 0] = 1
    if not flip:
        key = np.ones((B, p))
    m = r * key[:, :, None] * key[:, None, :]
    g = g * key
    vt = m.reshape(B, -1).sum(axis=1)
    vitem = m[:, ar, ar].sum(axis=1)
    gsq = g.sum(axis=1) ** 2
    uniq = u2.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.stack([(vt - uniq) / vt, gsq / vt, ((vt - vitem) / vt) * (p / (p - 1)),
                        (vt + _smc_batch(m).sum(axis=1) - vitem) / vt], axis=1)
    return out


# --------------------------------------------------------------------------
# omega
# --------------------------------------------------------------------------

@dataclass
class OmegaResult:
    """McDonald's omega (psych::omega).

    Denominator: every coefficient here divides by the sum of the *observed*
    (pairwise) correlation matrix R (standardised items, after psych's sign
    flip of items loading negatively on g), not by a model-implied variance.
    omega_total = (sum R - sum u2) / sum R with u2 = 1 - communality of the
    minres solution; omega_hierarchical = (sum of g loadings)^2 / sum R.

    Attributes: ``omega_total``, ``omega_hierarchical`` (None when
    ``n_groups == 1``: not meaningful), ``omega_limit`` (omega_h / omega_total
    numerator share, psych's omega.lim), ``alpha`` (standardised, on R),
    ``G6``, ``ECV``, ``ci`` (dict of bootstrap percentile CIs, or None),
    ``loadings`` (Schmid-Leiman table: g, F1*..Fk*, h2, u2, p2),
    ``group_omega`` (psych's omega.group: total/general/group per factor),
    ``key`` (+1/-1 sign flips applied), ``diagnostics`` / ``warnings``.
    """

    omega_total: float
    omega_hierarchical: float | None
    omega_limit: float | None
    alpha: float
    G6: float
    ECV: float | None
    n_groups: int
    n_obs: int
    n_items: int
    ci: dict | None
    n_boot: int
    seed: int | None
    level: float
    loadings: pd.DataFrame
    group_omega: pd.DataFrame | None
    key: pd.Series
    oblique_loadings: pd.DataFrame | None = None
    phi: pd.DataFrame | None = None
    denominator: str = "observed correlation matrix (pairwise), standardised items"
    missing: str = "pairwise"
    warnings: list = field(default_factory=list)

    @property
    def estimate(self) -> float:
        return self.omega_total

    @property
    def omega_h(self) -> float | None:
        return self.omega_hierarchical

    @property
    def omega_total_ci(self) -> tuple | None:
        """Bootstrap percentile CI of omega_total (None without bootstrap)."""
        return self.ci.get("omega_total") if self.ci else None

    @property
    def omega_hierarchical_ci(self) -> tuple | None:
        return self.ci.get("omega_hierarchical") if self.ci else None

    def to_frame(self) -> pd.DataFrame:
        return self.loadings.copy()

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in (
            "omega_total", "omega_hierarchical", "omega_limit", "alpha", "G6", "ECV", "n_groups",
            "n_obs", "n_items", "ci", "n_boot", "seed", "level", "loadings", "group_omega", "key",
            "phi", "denominator", "missing", "warnings")}
        return jsonable(d)

    def summary(self) -> str:
        s = f"omega total = {self.omega_total:.3f}"
        if self.omega_hierarchical is not None:
            s += f", omega hierarchical = {self.omega_hierarchical:.3f} ({self.n_groups} group factors)"
        return s + f"; alpha = {self.alpha:.3f}; {self.n_items} items, n = {self.n_obs}"


def _omega_core(r: np.ndarray, nf: int, option: str = "equal", flip: bool = True) -> dict:
    """Schmid-Leiman omega from a correlation matrix (psych::schmid + psych:::omegah)."""
    p = r.shape[0]
    orth, fdiag = _minres(r, nf)
    warn = []
    if not fdiag["converged"]:
        warn.append(f"minres factor analysis did not converge: {fdiag['message']}")
    if fdiag["heywood"]:
        warn.append("Heywood case: a uniqueness reached its lower bound 0.005 in the minres solution")
    phi = None
    if nf == 1:
        fload = orth
        gload = np.array([1.0])
    else:
        fload, phi, conv = _oblimin(_varimax(orth))
        if not conv:
            warn.append("oblimin rotation did not converge")
        if nf > 2:
            g2, gdiag = _minres(phi, 1)
            gload = g2[:, 0]
            if gdiag["heywood"]:
                warn.append("Heywood case in the second-order factor analysis of the factor correlations")
        else:
            if option != "equal":
                raise ReliabilityInputError(f"option must be 'equal', got {option!r}")
            v = np.sqrt(abs(phi[0, 1]))
            gload = np.array([v, np.sign(phi[0, 1]) * v])
            warn.append("with two group factors the general factor loadings are set equal "
                        "(psych option='equal'); omega_h is weakly identified")
    g = fload @ gload
    h2 = (orth ** 2).sum(axis=1)
    u2 = np.diag(r) - h2
    uniq2 = np.diag(r)[:, None] - (np.diag(r)[:, None] - fload ** 2) - (fload * gload) ** 2
    uniq2[uniq2 < 0] = 0
    sm = np.sign(fload) * np.sqrt(uniq2)
    key = np.sign(g)
    key[key == 0] = 1
    if not flip:  # psych: flip = FALSE once the caller gave keys
        key = np.ones(p)
    m = r * key[:, None] * key[None, :]
    g = g * key
    sm = sm * key[:, None]
    vt = m.sum()
    vitem = np.trace(m)
    gsq = g.sum() ** 2
    uniq = u2.sum()
    om_tot = (vt - uniq) / vt
    ev = np.concatenate([[np.sum(g ** 2)], (sm ** 2).sum(axis=0)]) if nf > 1 else np.array([np.sum(g ** 2)])
    out = dict(
        omega_h=gsq / vt, omega_tot=om_tot, omega_lim=gsq / (vt - uniq),
        alpha=((vt - vitem) / vt) * (p / (p - 1)),
        G6=(vt + _smc(m).sum() - vitem) / vt,
        ECV=ev[0] / ev.sum(), g=g, sm=sm, h2=h2, u2=u2, key=key, fload=fload, phi=phi,
        warnings=warn)
    if nf > 1:
        sub = np.argmax(np.abs(sm), axis=1)
        tot, gen, grp = [om_tot], [gsq / vt], [np.nan]
        grs = 0.0
        for j in range(nf):
            gi = np.where(sub == j)[0]
            if gi.size == 0:
                tot.append(np.nan); gen.append(np.nan); grp.append(np.nan)
                continue
            vgr = m[np.ix_(gi, gi)].sum()
            gr = sm[gi, j].sum()
            grs += gr ** 2
            tot.append((gr ** 2 + g[gi].sum() ** 2) / vgr)
            gen.append(g[gi].sum() ** 2 / vgr)
            grp.append(gr ** 2 / vgr)
        grp[0] = grs / vt
        out["group"] = (np.array(tot), np.array(gen), np.array(grp))
    return out


#: bootstrap draws whose factor models are fitted together (lockstep); any value gives the same
#: draws (each draw stops on its own), it only bounds memory and sets how often progress is told
OMEGA_BOOT_CHUNK = 1000


def _omega_boot_chunk(rc: np.ndarray, nf: int, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """(omega_total, omega_h, alpha, G6) of each correlation matrix of ``rc`` (B, p, p) as a
    (B, 4) array, and the mask of the matrices that cannot be analysed (non-finite, or the
    single-matrix :func:`_omega_core` raises).  The batched path (:func:`_omega_boot_batch`);
    if any of its linear algebra fails, the chunk is done draw by draw with :func:`_omega_core`."""
    B = len(rc)
    vals = np.full((B, 4), np.nan)
    failed = ~np.isfinite(rc).reshape(B, -1).all(axis=1)
    idx = np.flatnonzero(~failed)
    if idx.size == 0:
        return vals, failed
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vals[idx] = _omega_boot_batch(rc[idx], nf, flip)
    except (np.linalg.LinAlgError, ValueError):
        for i in idx:
            try:
                cb = _omega_core(rc[i], nf, flip=flip)
            except (np.linalg.LinAlgError, ValueError):
                failed[i] = True
                continue
            vals[i] = [cb["omega_tot"], cb["omega_h"], cb["alpha"], cb["G6"]]
    return vals, failed


def _omega_boot(arr: np.ndarray, nf: int, flip: bool, n_boot: int, seed, progress=None,
                chunk: int | None = None) -> tuple[np.ndarray, int]:
    """The omega bootstrap: ``n_boot`` resamples of the rows of ``arr`` (seeded
    ``numpy.random.default_rng(seed)``, drawn in the batches of :func:`_batches`), the pairwise
    correlations of each (one weights-by-data product per batch), and the factor model of every
    resample fitted in lockstep chunks of ``chunk`` draws (:data:`OMEGA_BOOT_CHUNK`; the draws do
    not depend on it).  Returns the (usable draws, 4) array of omega_total, omega_h, alpha, G6
    and the number of resamples that could not be analysed."""
    n_sub, p = arr.shape
    chunk = max(1, int(chunk or OMEGA_BOOT_CHUNK))
    rng = np.random.default_rng(seed)
    parts, bad = [], []
    done = 0
    for b in _batches(n_boot, n_sub, p):
        w = _boot_weights(rng, n_sub, b)
        _, cors = _weighted_pairwise_moments(arr, w)
        for i in range(0, b, chunk):
            vals, failed = _omega_boot_chunk(cors[i:i + chunk], nf, flip)
            parts.append(vals)
            bad.append(failed)
            done += len(vals)
            if progress is not None:
                progress(done, n_boot)
    vals, failed = np.concatenate(parts), np.concatenate(bad)
    return vals[~failed], int(failed.sum())


@single_blas_thread
def omega(items: pd.DataFrame, n_groups: int = 1, keys: Any = None, n_boot: int = 0,
          seed: int | None = None, level: float = 0.95, progress=None) -> OmegaResult:
    """McDonald's omega, reproducing ``psych::omega`` (psych 2.2.9, fm = "minres", rotate = "oblimin").

    Steps (as psych): pairwise correlation matrix R of the items; minres
    factor analysis with ``n_groups`` factors; oblimin (direct quartimin)
    rotation; Schmid-Leiman transformation (general factor loadings from a
    one-factor minres analysis of the factor correlations when n_groups > 2;
    set equal, psych's ``option = "equal"``, when n_groups == 2); items whose
    general loading is negative are sign-flipped (psych's ``flip = TRUE``)
    unless ``keys`` is given -- with a warning naming them (as :func:`alpha` warns),
    and ``key`` of the result is -1 for them.

    Returns an :class:`OmegaResult` with ``.omega_total``; for ``n_groups >= 2``
    also ``.omega_hierarchical``, ``.omega_limit``, ``.ECV`` and ``.group_omega``.
    With ``n_groups = 1`` omega_total is the one-factor (congeneric) omega of
    the minres solution, as ``psych::omega(x, nfactors = 1)``.

    Denominator: the *observed* correlation matrix (standardised items) --
    unlike ``semTools::compRelSEM(obs.var = FALSE)``, which divides by the
    model-implied variance of the unstandardised total (see :func:`comp_rel_sem`).

    Bootstrap (``n_boot > 0``): percentile CIs for omega_total (and omega_h,
    alpha, G6) from ``n_boot`` resamples of the rows, seeded with
    ``numpy.random.default_rng(seed)``; each resample refits the factor model
    (the resamples' fits run together, each with the single-fit algorithm and its own
    stopping rule: :func:`_omega_boot`).  (psych's ``n.iter`` instead reports a normal interval on Fisher's z; its
    random numbers cannot be reproduced, so only the method is comparable.)
    ``progress``: optional callback ``progress(done, total)`` (a progress display) called with
    the number of resamples done; it only reports counts, the result does not depend on it.
    """
    if not isinstance(n_groups, (int, np.integer)) or n_groups < 1:
        raise ReliabilityInputError(f"n_groups must be a positive integer, got {n_groups!r}")
    if not (0 < level < 1):
        raise ReliabilityInputError(f"level must be between 0 and 1, got {level!r}")
    x, key_in = _prepare(items, keys, min_items=3 if n_groups == 1 else 2)
    arr = x.to_numpy()
    n_sub, p = arr.shape
    if n_groups * 2 > p:
        raise ReliabilityInputError(
            f"{_source_name(items)}: {n_groups} group factors need at least {2 * n_groups} items, "
            f"got {p}")
    r = _pairwise_cor(arr)
    if not np.all(np.isfinite(r)):
        raise ReliabilityInputError(
            f"{_source_name(items)}: some pairs of items have too few cases observed together; "
            f"the pairwise correlation matrix cannot be computed")
    warn = []
    if np.linalg.eigvalsh(r)[0] <= 0:
        warn.append("the pairwise correlation matrix is not positive definite")
    core = _omega_core(r, n_groups, flip=keys is None)
    warn += core["warnings"]
    names = [str(c) for c in x.columns]
    if keys is not None:
        flipped = key_in
    else:
        flipped = core["key"]
        neg = [nm for nm, k in zip(names, flipped) if k < 0]
        if neg:
            # psych's flip = TRUE reverses them silently; say so, as alpha() does (issue 12)
            warn.append(f"items {neg} load negatively on the general factor and were reversed "
                        f"for omega (psych's flip = TRUE); they probably should be reversed "
                        f"(keys=)")
    sl = {"g": core["g"]}
    if n_groups > 1:
        for j in range(n_groups):
            sl[f"F{j + 1}*"] = core["sm"][:, j]
    sl["h2"] = core["h2"]
    sl["u2"] = core["u2"]
    sl["p2"] = core["g"] ** 2 / core["h2"]
    loadings = pd.DataFrame(sl, index=pd.Index(names, name="item"))
    group = None
    if n_groups > 1:
        tot, gen, grp = core["group"]
        group = pd.DataFrame({"total": tot, "general": gen, "group": grp},
                             index=["g"] + [f"F{j + 1}*" for j in range(n_groups)])
    ci = None
    if n_boot:
        reps, failed = _omega_boot(arr, n_groups, keys is None, n_boot, seed, progress)
        if failed:
            warn.append(f"{failed} of {n_boot} bootstrap samples could not be analysed and were dropped")
        q = ((1 - level) / 2, 1 - (1 - level) / 2)
        ci = {k: (tuple(float(v) for v in np.quantile(reps[:, j], q)) if len(reps) else None)
              for j, k in enumerate(("omega_total", "omega_hierarchical", "alpha", "G6"))}
        if n_groups == 1:
            ci.pop("omega_hierarchical")
    for w in warn:
        warnings.warn(w, PsychometricsWarning, stacklevel=2)
    obl = phi = None
    if n_groups > 1:
        cols = [f"F{j + 1}" for j in range(n_groups)]
        obl = pd.DataFrame(core["fload"], index=names, columns=cols)
        phi = pd.DataFrame(core["phi"], index=cols, columns=cols)
    return OmegaResult(
        omega_total=float(core["omega_tot"]),
        omega_hierarchical=float(core["omega_h"]) if n_groups > 1 else None,
        omega_limit=float(core["omega_lim"]) if n_groups > 1 else None,
        alpha=float(core["alpha"]), G6=float(core["G6"]),
        ECV=float(core["ECV"]) if n_groups > 1 else None,
        n_groups=int(n_groups), n_obs=int(n_sub), n_items=int(p), ci=ci, n_boot=int(n_boot),
        seed=seed, level=level, loadings=loadings, group_omega=group,
        key=pd.Series(np.asarray(flipped, dtype=int), index=names, name="key"),
        oblique_loadings=obl, phi=phi, warnings=warn)


# --------------------------------------------------------------------------
# compRelSEM
# --------------------------------------------------------------------------

@dataclass
class CompRelResult:
    """Composite reliability (omega) per factor, as semTools::compRelSEM.

    ``estimates``: Series factor -> omega; ``denominator``: "observed"
    (sample covariance matrix, ``obs.var = TRUE``) or "model-implied"
    (``obs.var = FALSE``); ``table``: DataFrame with both.
    """

    estimates: pd.Series
    obs_var: bool
    table: pd.DataFrame
    warnings: list = field(default_factory=list)
    tau_eq: bool = False

    @property
    def denominator(self) -> str:
        return "observed" if self.obs_var else "model-implied"

    @property
    def omega_total(self) -> float:
        """omega of the only factor (one-factor models)."""
        if len(self.estimates) != 1:
            raise ReliabilityInputError(
                f"omega_total is defined for one-factor models; this model has factors "
                f"{list(self.estimates.index)} -- use .estimates")
        return float(self.estimates.iloc[0])

    def __getitem__(self, factor):
        return self.estimates[factor]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return jsonable({"estimates": self.estimates, "obs_var": self.obs_var,
                         "tau_eq": self.tau_eq,
                         "denominator": self.denominator, "table": self.table,
                         "warnings": self.warnings})


def composite_reliability(lambda_: np.ndarray, psi: np.ndarray, sigma: np.ndarray,
                          factors: Sequence[str], drop_single: bool = True) -> np.ndarray:
    """omega_f = (sum_i lambda_if)^2 psi_ff / sum(Sigma[f-items, f-items]) for each factor f.

    ``lambda_`` (p x k unstandardised loadings), ``psi`` (k x k factor
    covariances), ``sigma`` (p x p: the sample covariance matrix for
    semTools' ``obs.var = TRUE``, the model-implied one for ``FALSE``).  The
    formula of ``semTools::compRelSEM`` (continuous indicators, single group);
    factors with one indicator give NaN when ``drop_single``.
    """
    out = np.full(len(factors), np.nan)
    for j in range(len(factors)):
        idx = np.where(lambda_[:, j] != 0)[0]
        if idx.size == 0 or (drop_single and idx.size == 1):
            continue
        lf = lambda_[idx, j]
        out[j] = lf.sum() ** 2 * psi[j, j] / sigma[np.ix_(idx, idx)].sum()
    return out


def _alpha_from_cov(lambda_: np.ndarray, sigma: np.ndarray, drop_single: bool = True) -> np.ndarray:
    """semTools' computeAlpha per factor: p/(p-1) (1 - tr S_f / sum S_f) (``tau.eq = TRUE``)."""
    out = np.full(lambda_.shape[1], np.nan)
    for j in range(lambda_.shape[1]):
        idx = np.where(lambda_[:, j] != 0)[0]
        if idx.size == 0 or (drop_single and idx.size == 1):
            continue
        sf = sigma[np.ix_(idx, idx)]
        out[j] = idx.size / (idx.size - 1) * (1 - np.trace(sf) / sf.sum())
    return out


def _total_and_higher(m: dict, sigma: np.ndarray, return_total: bool, higher: Sequence[str]) -> dict:
    """semTools' return.total and higher= composites (continuous indicators, one group)."""
    lam, psi = m["lambda"], m["psi"]
    out = {}
    if return_total and len(m["factors"]) > 1:
        idx = np.where((lam != 0).any(axis=1))[0]
        out["total"] = (lam[idx] @ psi @ lam[idx].T).sum() / sigma[np.ix_(idx, idx)].sum()
    for h in higher:
        if h not in m["higher"]:
            raise ReliabilityInputError(
                f"{h!r} is not a higher-order factor of this model (higher-order factors: "
                f"{m['higher']})")
        j = m["higher"].index(h)
        b = m["beta"][:, j]
        idx = np.where((lam[:, b != 0] != 0).any(axis=1))[0]
        a = lam[idx] @ b                     # each indicator's loading on the higher factor
        out[h] = a.sum() ** 2 * m["higher_var"][j] / sigma[np.ix_(idx, idx)].sum()
    return out


@single_blas_thread
def comp_rel_sem(fit_or_items: Any, obs_var: bool = True, tau_eq: bool = False,
                 return_total: bool = False, higher: Sequence[str] = (), group=None,
                 ord_scale: bool = True, **cfa_kwargs) -> CompRelResult:
    """Composite reliability of each factor of an ML CFA, as ``semTools::compRelSEM``.

    ``fit_or_items``: a fitted CFA (``pm.cfa``) or a DataFrame of items, in
    which case a one-factor CFA of all its columns is fitted first
    (``pm.cfa``, ML, listwise; extra keyword arguments go to ``pm.cfa``).

    omega_f = (sum lambda_f)^2 psi_ff / 1' Sigma_f 1 (Raykov 1997; Bentler
    2009).  Denominator: ``obs_var=True`` (semTools' default) the *observed*
    sample covariance matrix of the factor's indicators; ``obs_var=False`` the
    *model-implied* one.  ``tau_eq=True`` gives coefficient alpha of each
    factor's indicators from that matrix instead (semTools' ``tau.eq = TRUE``).
    ``return_total=True`` adds ``"total"``: the reliability of the sum of all
    indicators of a multidimensional model, sum(Lambda Phi Lambda') / 1'Sigma 1.
    ``higher=("g",)`` adds each named higher-order factor: the share of the
    total score's variance due to it (omega_L1 / omega hierarchical of a
    second-order CFA), (sum_i sum_k lambda_ik beta_k)^2 var(g) / 1'Sigma 1 over
    the indicators of its first-order factors.  Phi is the model-implied
    covariance matrix of the factors (lavaan's cov.lv), as semTools.
    For a multi-group fit, ``group`` names the group (semTools reports each).
    Returns a :class:`CompRelResult`; its ``table`` holds both denominators.

    On an ordinal (WLSMV) fit: categorical omega (Green & Yang 2009) on the observed ordinal
    scale (``ord_scale=True``, semTools' default) or on the latent-response scale
    (``ord_scale=False``); see :mod:`psychometrics.sem.ordinal_reliability`.
    """
    if not isinstance(fit_or_items, pd.DataFrame) and getattr(fit_or_items, "ordinal", False) \
            and not tau_eq:
        from psychometrics.sem.ordinal_reliability import categorical_omega
        obs = categorical_omega(fit_or_items, True, ord_scale, group)
        mod = categorical_omega(fit_or_items, False, ord_scale, group)
        est = pd.Series(obs if obs_var else mod, name="omega")
        table = pd.DataFrame({"omega_observed": pd.Series(obs), "omega_model_implied": pd.Series(mod)})
        table.index.name = "factor"
        return CompRelResult(estimates=est, obs_var=bool(obs_var), table=table,
                             warnings=[] if ord_scale else
                             ["latent-response scale (ord.scale = FALSE)"])
    if isinstance(fit_or_items, pd.DataFrame):
        x, _ = _prepare(fit_or_items, None, min_items=3)
        import psychometrics as pm
        try:
            cfa = pm.cfa
        except (AttributeError, ImportError) as e:
            raise ReliabilityInputError(
                "comp_rel_sem(items) fits a one-factor CFA with the SEM engine (pm.cfa), which is "
                f"not available in this installation ({e}); use pm.omega(items) for psych's "
                "one-factor omega total instead") from None
        names = [str(c) for c in x.columns]
        bad = [n for n in names if not n.replace("_", "a").replace(".", "a").isalnum()]
        if bad:
            raise ReliabilityInputError(f"item names {bad} cannot be used in model syntax")
        model = "f =~ " + " + ".join(names)
        fit = cfa(model, x, **cfa_kwargs)
    else:
        fit = fit_or_items
    mats = _fit_matrices(fit, group)
    warn = list(mats.get("warnings", []))
    if tau_eq:
        obs = _alpha_from_cov(mats["lambda"], mats["sample_cov"])
        mod = _alpha_from_cov(mats["lambda"], mats["implied_cov"])
        name, cols = "alpha", ("alpha_observed", "alpha_model_implied")
    else:
        obs = composite_reliability(mats["lambda"], mats["psi"], mats["sample_cov"], mats["factors"])
        mod = composite_reliability(mats["lambda"], mats["psi"], mats["implied_cov"], mats["factors"])
        name, cols = "omega", ("omega_observed", "omega_model_implied")
    index = list(mats["factors"])
    if (return_total or higher) and not tau_eq:
        ext_o = _total_and_higher(mats, mats["sample_cov"], return_total, list(higher))
        ext_m = _total_and_higher(mats, mats["implied_cov"], return_total, list(higher))
        index += list(ext_o)
        obs = np.concatenate([obs, list(ext_o.values())])
        mod = np.concatenate([mod, list(ext_m.values())])
    elif tau_eq and (return_total or higher):
        raise ReliabilityInputError("return_total / higher are available for omega (tau_eq=False) only")
    est = pd.Series(obs if obs_var else mod, index=index, name=name)
    table = pd.DataFrame({cols[0]: obs, cols[1]: mod}, index=pd.Index(index, name="factor"))
    return CompRelResult(estimates=est, obs_var=bool(obs_var), table=table, warnings=warn,
                         tau_eq=bool(tau_eq))
