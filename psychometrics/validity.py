"""Convergent and discriminant validity of a measurement model.

Functions
---------
``htmt(data, model_or_mapping, n_boot=0, seed=None, ...)``
    Heterotrait-monotrait ratio of correlations (Henseler, Ringle & Sarstedt
    2015), as ``semTools::htmt`` (semTools 0.5-6: absolute correlations and,
    by default, the geometric-mean HTMT2 of Roemer, Schuberth & Henseler
    2021), with seeded percentile bootstrap CIs.
``validity(fit, data=None, ...)``
    AVE (``semTools::AVE``), composite reliability (``semTools::compRelSEM``),
    the Fornell & Larcker (1981) table (sqrt AVE on the diagonal, factor
    correlations below and above) and, when item data are available, HTMT.
``validity_from_estimates(lambda_, psi, sample_cov, ...)``
    The same from estimated matrices (used by ``validity``; handy for
    estimates from elsewhere, e.g. lavaan).

Denominators (as semTools): with ``obs_var=True`` (default) AVE and
composite reliability divide by the *observed* sample (co)variances of the
indicators; with ``obs_var=False`` by the *model-implied* ones.  Both are
reported in the table (``AVE``/``CR`` observed, ``AVE_model``/``CR_model``).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from psychometrics._results import jsonable
from psychometrics._measurement import (ValidityInputError, _EMCases, _batches, _boot_weights,
                                        _em_batch, _first, _fit_matrices, _weighted_pairwise_moments)
from psychometrics.errors import CellProblem, DataError, PsychometricsWarning
from psychometrics.reliability import composite_reliability
from ._blas import single_blas_thread

__all__ = ["htmt", "validity", "validity_from_estimates", "HTMTResult", "ValidityResult",
           "ValidityInputError"]


# --------------------------------------------------------------------------
# model -> factor/items mapping
# --------------------------------------------------------------------------

from ._text import NAME_PATTERN  # noqa: E402  Unicode names (issue 12)
_TERM = re.compile(rf"^(?:[^*]+\*)?\s*({NAME_PATTERN})\s*$")


def _mapping(model_or_mapping: Any) -> dict[str, list[str]]:
    """Factor -> indicator names from a dict, lavaan syntax, or a fitted model."""
    m = model_or_mapping
    if isinstance(m, Mapping):
        out = {}
        for f, items in m.items():
            if isinstance(items, str):
                items = [items]
            items = [str(i) for i in items]
            if not items:
                raise ValidityInputError(f"factor {f!r} has no items in the mapping")
            out[str(f)] = items
        if not out:
            raise ValidityInputError("the factor -> items mapping is empty")
        return out
    if isinstance(m, str):
        out: dict[str, list[str]] = {}
        lines = re.split(r"[\n;]", m)
        for lineno, line in enumerate(lines, start=1):
            line = line.split("#", 1)[0].strip()
            if "=~" not in line:
                continue
            lhs, rhs = line.split("=~", 1)
            f = lhs.strip()
            for term in rhs.split("+"):
                term = term.strip()
                mt = _TERM.match(term)
                if not f or not mt:
                    raise ValidityInputError(
                        f"model syntax line {lineno}: cannot read {term or line!r} in {line!r}")
                out.setdefault(f, []).append(mt.group(1))
        if not out:
            raise ValidityInputError("the model has no measurement ('=~') lines")
        return out
    if hasattr(m, "parameters"):
        pt = m.parameters()
        rows = pt[pt["op"] == "=~"]
        if "group" in rows and rows["group"].nunique() > 1:
            rows = rows[rows["group"] == rows["group"].iloc[0]]
        out = {}
        for lhs, rhs in zip(rows["lhs"], rows["rhs"]):
            out.setdefault(str(lhs), []).append(str(rhs))
        return out
    raise ValidityInputError(
        f"give a dict factor -> items, lavaan model syntax or a fitted model, not "
        f"{type(m).__name__}")


def _numeric_columns(data: pd.DataFrame, names: list[str]) -> dict:
    """``name -> float Series`` of the item columns of ``data`` (unknown columns and
    non-numeric cells raise :class:`ValidityInputError` / :class:`DataError`).  A float column
    is not copied (pandas' copy-on-write)."""
    if not isinstance(data, pd.DataFrame):
        raise ValidityInputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    src = str(data.attrs.get("source", data.attrs.get("file", "<data frame>")))
    absent = [n for n in names if n not in data.columns]
    if absent:
        raise ValidityInputError(f"{src}: item column(s) {absent} not in the data "
                                 f"(columns: {list(map(str, data.columns))})")
    problems = []
    cols = {}
    for c in dict.fromkeys(names):
        s = data[c]
        if s.dtype == np.float64:           # numbers already (to_numeric would copy them)
            cols[c] = s
            continue
        num = pd.to_numeric(s, errors="coerce").astype(float)
        bad = num.isna() & s.notna()
        for row in s.index[bad.to_numpy()]:
            problems.append(CellProblem(src, row, str(c), s.loc[row], "not a number"))
        cols[c] = num
    if problems:
        raise DataError(f"{src}: {len(problems)} non-numeric item value(s)", problems)
    return cols


def _check_rows_and_variance(src: str, n: int, names: list[str], sd) -> None:
    if n < 3:
        raise ValidityInputError(f"{src}: only {n} usable rows for HTMT")
    for nm, v in zip(names, sd):
        if not v > 0:
            raise ValidityInputError(f"{src}: item column {nm!r} has no variance")


def _item_matrix(data: pd.DataFrame, names: list[str], missing: str) -> np.ndarray:
    """The items ``names`` of ``data`` as an n x p float array (NaN = missing) with the rows
    HTMT uses: complete rows (``missing="listwise"``), rows with at least one item ("fiml"),
    all rows ("pairwise")."""
    cols = _numeric_columns(data, names)
    src = str(data.attrs.get("source", data.attrs.get("file", "<data frame>")))
    x = pd.DataFrame(cols)[names].to_numpy()
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    elif missing in ("fiml", "ml"):
        x = x[~np.isnan(x).all(axis=1)]     # rows with every item missing carry nothing
    elif missing != "pairwise":
        raise ValidityInputError(f"missing must be 'listwise', 'pairwise' or 'fiml', got {missing!r}")
    _check_rows_and_variance(src, x.shape[0], names, np.nanstd(x, axis=0) if len(x) else [])
    return x


def _item_columns(data: pd.DataFrame, names: list[str]) -> tuple[list, np.ndarray | None]:
    """The items ``names`` of ``data`` for HTMT with ``missing="fiml"``, without an n x p copy
    (issue 13: 272 MB at 1,000,000 cases of 34 items): ``(columns, rows)``, the p float
    columns (views of ``data``'s where they are float already) and the positions of the rows
    with at least one item (None: every row), the rows :func:`_item_matrix` keeps; the same
    checks (numbers, at least three rows, every item with variance)."""
    cols = _numeric_columns(data, names)
    src = str(data.attrs.get("source", data.attrs.get("file", "<data frame>")))
    arrs = [np.asarray(cols[c].to_numpy(dtype=float)) for c in names]
    keep = np.zeros(len(data), dtype=bool)
    for a in arrs:
        keep |= ~np.isnan(a)
    rows = None if keep.all() else np.flatnonzero(keep)
    n = int(keep.sum())
    del keep
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = [np.nanstd(a) if n else np.nan for a in arrs]
    _check_rows_and_variance(src, n, names, sd)
    return arrs, rows


# --------------------------------------------------------------------------
# HTMT
# --------------------------------------------------------------------------

def _htmt_from_cor(r: np.ndarray, blocks: list[np.ndarray], htmt2: bool, absolute: bool) -> np.ndarray:
    """HTMT matrices for a batch of correlation matrices r (B, p, p)."""
    if absolute or htmt2:
        r = np.abs(r)
    k = len(blocks)
    B = r.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(r) if htmt2 else r
    mean = (lambda a: np.exp(np.mean(a, axis=(1, 2)))) if htmt2 else (lambda a: np.mean(a, axis=(1, 2)))
    within = np.full((B, k), np.nan)
    for i, bi in enumerate(blocks):
        if bi.size > 1:
            iu = np.triu_indices(bi.size, 1)
            sub = lr[:, bi[:, None], bi[None, :]][:, iu[0], iu[1]]
            within[:, i] = np.exp(sub.mean(axis=1)) if htmt2 else sub.mean(axis=1)
    out = np.ones((B, k, k))
    with np.errstate(invalid="ignore", divide="ignore"):
        # as semTools: the diagonal is mean_within / |mean_within| (-1 when the
        # signed within-factor mean correlation is negative, NaN for one item)
        idx = np.arange(k)
        out[:, idx, idx] = within / np.abs(within)
    for i in range(k):
        for j in range(i + 1, k):
            het = mean(lr[:, blocks[i][:, None], blocks[j][None, :]])
            with np.errstate(invalid="ignore", divide="ignore"):
                v = het / np.sqrt(within[:, i] * within[:, j])
            out[:, i, j] = out[:, j, i] = v
    return out


def _em_cor(x, start=None) -> tuple[np.ndarray, bool, tuple]:
    """Correlation matrix of the EM (saturated-model ML) covariance estimate of ``x`` (an n x p
    array, NaN = missing, or its :class:`_EMCases`), as lavaan's ``lavCor(missing = "ml")``;
    whether EM converged; and the EM ``(mu, Sigma)`` (the start for bootstrap resamples).
    ``start``: where EM starts (default: the available-case moments, as lavaan).  The EM is
    :meth:`_EMCases.em`, the algorithm of ``sem.fiml.MissingPatterns.em`` on the structure
    the bootstrap reads anyway (issue 13: no second copy of the data and its patterns)."""
    cases = x if isinstance(x, _EMCases) else _EMCases(x)
    mu, sigma, _, ok = cases.em(start=start)
    d = 1.0 / np.sqrt(np.diag(sigma))
    r = sigma * d[:, None] * d[None, :]
    np.fill_diagonal(r, 1.0)
    return r, bool(ok), (mu, sigma)


@dataclass
class HTMTResult:
    """HTMT matrix (factors x factors, 1 on the diagonal) with optional bootstrap CIs.

    ``matrix``, ``ci_lower``, ``ci_upper``: DataFrames (CIs None without
    bootstrap); ``to_frame()``: one row per pair of factors with ``htmt``,
    ``ci_lower``, ``ci_upper`` and ``below_threshold`` (HTMT and, if
    available, the CI's upper bound below ``threshold``, 0.85 by default:
    Henseler et al. 2015).
    """

    matrix: pd.DataFrame
    ci_lower: pd.DataFrame | None
    ci_upper: pd.DataFrame | None
    htmt2: bool
    absolute: bool
    missing: str
    n_obs: int
    n_boot: int
    seed: int | None
    level: float
    threshold: float
    mapping: dict
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        f = list(self.matrix.index)
        rows = []
        for i in range(len(f)):
            for j in range(i + 1, len(f)):
                v = self.matrix.iloc[i, j]
                lo = self.ci_lower.iloc[i, j] if self.ci_lower is not None else np.nan
                hi = self.ci_upper.iloc[i, j] if self.ci_upper is not None else np.nan
                ok = bool(v < self.threshold) and (bool(hi < self.threshold) if self.ci_upper is not None else True)
                rows.append({"factor1": f[i], "factor2": f[j], "htmt": v, "ci_lower": lo,
                             "ci_upper": hi, "below_threshold": ok})
        return pd.DataFrame(rows, columns=["factor1", "factor2", "htmt", "ci_lower", "ci_upper",
                                           "below_threshold"])

    def to_dict(self) -> dict:
        return jsonable({"matrix": self.matrix, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
                         "pairs": self.to_frame(), "htmt2": self.htmt2, "absolute": self.absolute,
                         "missing": self.missing, "n_obs": self.n_obs, "n_boot": self.n_boot,
                         "seed": self.seed, "level": self.level, "threshold": self.threshold,
                         "mapping": self.mapping, "warnings": self.warnings})


@single_blas_thread
def htmt(data: pd.DataFrame, model_or_mapping: Any, n_boot: int = 0, seed: int | None = None,
         level: float = 0.95, htmt2: bool = True, absolute: bool = True, missing: str = "listwise",
         threshold: float = 0.85, progress=None) -> HTMTResult:
    """Heterotrait-monotrait ratio of correlations, as ``semTools::htmt`` (0.5-6).

    HTMT_ij = mean heterotrait correlation between the items of factors i and
    j / sqrt(mean monotrait correlation within i x mean within j) (Henseler,
    Ringle & Sarstedt 2015).  ``htmt2=True`` (semTools 0.5-6 default) uses
    geometric instead of arithmetic means (Roemer et al. 2021); correlations
    are taken in absolute value when ``absolute`` or ``htmt2``.  Correlations
    are Pearson correlations of the items after ``missing="listwise"``
    deletion (semTools' default via ``lavCor``), pairwise, or (``missing="fiml"``,
    alias ``"ml"``) the correlations of the EM estimate of the saturated normal
    model from every row with at least one item (``semTools::htmt(missing = "ml")``,
    lavaan's ``lavCor(missing = "ml")``).  ``n_obs`` of the result is the number of rows
    used (complete rows for listwise, rows with any item otherwise).

    ``model_or_mapping``: dict factor -> item names, lavaan model syntax
    (only ``=~`` lines are read) or a fitted CFA.  Factors with a single item
    get NaN.  ``n_boot > 0`` adds percentile bootstrap CIs (rows resampled,
    seeded with ``numpy.random.default_rng(seed)``, vectorised in batches).
    ``progress``: optional callback ``progress(done, total)`` (a progress display) called
    with the number of bootstrap draws done; it only reports counts, the result does not
    depend on it.  Returns an :class:`HTMTResult`.
    """
    if n_boot < 0:
        raise ValidityInputError(f"n_boot must be >= 0, got {n_boot!r}")
    if not (0 < level < 1):
        raise ValidityInputError(f"level must be between 0 and 1, got {level!r}")
    mp = _mapping(model_or_mapping)
    factors = list(mp)
    if len(factors) < 2:
        raise ValidityInputError(f"HTMT needs at least two factors, got {factors}")
    names = list(dict.fromkeys(n for items in mp.values() for n in items))
    missing = {"ml": "fiml"}.get(missing, missing)
    blocks = [np.array([names.index(n) for n in mp[f]]) for f in factors]
    warn = []
    em_cases = x = None
    if missing == "fiml":
        # the missing-data structure read once from the data frame's columns (no n x p copy
        # of the data: issue 13), for the full-sample EM and every resample's
        cols, rows = _item_columns(data, names)
        em_cases = _EMCases(cols, rows=rows)
        del cols, rows
        n, p = em_cases.n, em_cases.p
        r, em_ok, em_start = _em_cor(em_cases)
        r = r[None]
        if not em_ok:
            warn.append("EM for the saturated model (HTMT correlations) did not converge")
    else:
        x = _item_matrix(data, names, missing)
        n, p = x.shape
        _, r = _weighted_pairwise_moments(x, np.ones((1, n)))
    est = _htmt_from_cor(r, blocks, htmt2, absolute)[0]
    single = [f for f, b in zip(factors, blocks) if b.size < 2]
    if single:
        warn.append(f"factor(s) {single} have a single item: HTMT is undefined (NaN)")
    if not absolute and not htmt2 and np.any(r < 0):
        warn.append("some item correlations are negative; HTMT with signed correlations can "
                    "understate discriminant-validity problems (reverse-key items first)")
    lo = hi = None
    if n_boot:
        rng = np.random.default_rng(seed)
        reps = []
        done = 0
        if progress is not None:    # the draws begin (after the full-sample estimate)
            progress(0, n_boot)
        for b in _batches(n_boot, n, p):
            w = _boot_weights(rng, n, b)
            if missing == "fiml":
                # EM on every resample (the rows reweighted by their bootstrap counts), a
                # chunk of resamples at once, warm-started at the full-data estimate; the
                # missing-data structure is read once (each resample converges on its own,
                # so the chunking does not change a draw)
                # a step holds a few (missing cells + pairs of them + p^2) x resamples arrays
                # (and the per-pattern sums, p^2 per pattern read through them)
                step = max(1, min(200, int(4e6 // max(1, em_cases.ci.size + em_cases.pc1.size
                                                      + p * p * (1 + em_cases.fill_index.size)))))
                parts = []
                for i in range(0, len(w), step):
                    parts.append(_em_batch(x, w[i:i + step], em_start, cases=em_cases))
                    if progress is not None:
                        progress(done + min(i + step, len(w)), n_boot)
                sb = np.concatenate([pt[1] for pt in parts])
                ok_b = all(pt[2] for pt in parts)
                d = 1.0 / np.sqrt(np.einsum("bii->bi", sb))
                rb = sb * d[:, :, None] * d[:, None, :]
                if not ok_b:
                    warn.append("EM did not converge in some bootstrap resamples (HTMT CIs)")
            else:
                _, rb = _weighted_pairwise_moments(x, w)
            reps.append(_htmt_from_cor(rb, blocks, htmt2, absolute))
            done += b
            if progress is not None and missing != "fiml":
                progress(done, n_boot)
        reps = np.concatenate(reps)
        q = (1 - level) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = pd.DataFrame(np.nanquantile(reps, q, axis=0), index=factors, columns=factors)
            hi = pd.DataFrame(np.nanquantile(reps, 1 - q, axis=0), index=factors, columns=factors)
    for w in warn:
        warnings.warn(w, PsychometricsWarning, stacklevel=2)
    return HTMTResult(matrix=pd.DataFrame(est, index=factors, columns=factors), ci_lower=lo,
                      ci_upper=hi, htmt2=htmt2, absolute=absolute, missing=missing, n_obs=int(n),
                      n_boot=int(n_boot), seed=seed, level=level, threshold=threshold, mapping=mp,
                      warnings=warn)


# --------------------------------------------------------------------------
# AVE, CR, Fornell-Larcker
# --------------------------------------------------------------------------

def _ave(lambda_: np.ndarray, psi: np.ndarray, sigma: np.ndarray, drop_single: bool = True) -> np.ndarray:
    """semTools::AVE: sum(lambda_f^2) psi_ff / sum(diag(Sigma)) over f's indicators.

    NaN for factors with one indicator (``drop_single``) or with an indicator
    that loads on another factor too (as semTools).
    """
    k = lambda_.shape[1]
    cross = (np.round(lambda_, 5) != 0).sum(axis=1) > 1
    out = np.full(k, np.nan)
    for j in range(k):
        idx = np.where(lambda_[:, j] != 0)[0]
        if idx.size == 0 or (drop_single and idx.size == 1) or cross[idx].any():
            continue
        out[j] = np.sum(lambda_[idx, j] ** 2) * psi[j, j] / np.sum(np.diag(sigma)[idx])
    return out


@dataclass
class ValidityResult:
    """Convergent and discriminant validity of a measurement model.

    ``table`` (``to_frame()``): one row per factor with ``n_items``, ``AVE``,
    ``sqrt_AVE``, ``CR`` (composite reliability, omega), ``AVE_model`` and
    ``CR_model`` (model-implied denominators), ``AVE_std_mean`` (mean squared
    standardised loading, std_all, as AVE is often computed by hand; it is
    not semTools' AVE, which divides summed common variance by summed
    indicator variance), ``MSV`` (largest squared
    correlation with another factor), ``max_r`` (largest absolute correlation),
    ``fornell_larcker_ok`` (sqrt AVE > max_r), ``ave_ok`` (AVE >= .50),
    ``cr_ok`` (CR >= .70).
    ``fornell_larcker``: DataFrame, sqrt(AVE) on the diagonal and factor
    correlations off it.  ``factor_correlations``: DataFrame.
    ``htmt``: :class:`HTMTResult` or None.  ``obs_var`` says which
    denominator ``AVE``/``CR`` use (True: observed, semTools' default).
    """

    table: pd.DataFrame
    fornell_larcker: pd.DataFrame
    factor_correlations: pd.DataFrame
    htmt: HTMTResult | None
    obs_var: bool = True
    warnings: list = field(default_factory=list)
    group: Any = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return jsonable({"table": self.table, "fornell_larcker": self.fornell_larcker,
                         "factor_correlations": self.factor_correlations,
                         "htmt": self.htmt.to_dict() if self.htmt is not None else None,
                         "obs_var": self.obs_var, "group": self.group,
                         "denominator": "observed" if self.obs_var else "model-implied",
                         "warnings": self.warnings})

    def summary(self) -> str:
        lines = []
        for f, row in self.table.iterrows():
            lines.append(f"{f}: AVE = {row['AVE']:.3f}, CR = {row['CR']:.3f}, "
                         f"sqrt(AVE) {'>' if row['fornell_larcker_ok'] else '<='} max |r| = {row['max_r']:.3f}")
        return "\n".join(lines)


def validity_from_estimates(lambda_: np.ndarray, psi: np.ndarray, sample_cov: np.ndarray,
                            implied_cov: np.ndarray | None = None,
                            factors: Sequence[str] | None = None,
                            indicators: Sequence[str] | None = None,
                            obs_var: bool = True, htmt_result: HTMTResult | None = None,
                            warnings_: Sequence[str] = ()) -> ValidityResult:
    """AVE, composite reliability and the Fornell-Larcker table from estimates.

    ``lambda_`` (p x k unstandardised loadings, 0 where fixed at zero), ``psi``
    (k x k factor covariance matrix), ``sample_cov`` (p x p observed,
    N-denominator as lavaan's ``sampstat``) and ``implied_cov`` (p x p
    model-implied; if None the model-implied columns are NaN).  Formulas of
    semTools 0.5-6 ``AVE`` and ``compRelSEM`` (single group, continuous
    indicators); Fornell & Larcker (1981).
    """
    lam = np.asarray(lambda_, dtype=float)
    if lam.ndim == 1:
        lam = lam[:, None]
    psi = np.atleast_2d(np.asarray(psi, dtype=float))
    s = np.asarray(sample_cov, dtype=float)
    p, k = lam.shape
    if psi.shape != (k, k) or s.shape != (p, p):
        raise ValidityInputError(
            f"shapes do not match: lambda {lam.shape}, psi {psi.shape}, sample_cov {s.shape}")
    factors = list(factors) if factors is not None else [f"F{j + 1}" for j in range(k)]
    warn = list(warnings_)
    ave = _ave(lam, psi, s)
    cr = composite_reliability(lam, psi, s, factors)
    if implied_cov is not None:
        sig = np.asarray(implied_cov, dtype=float)
        ave_m, cr_m = _ave(lam, psi, sig), composite_reliability(lam, psi, sig, factors)
        std = lam * np.sqrt(np.clip(np.diag(psi), 0, None))[None, :] / np.sqrt(np.diag(sig))[:, None]
        ave_std = np.array([np.mean(std[lam[:, j] != 0, j] ** 2) if np.any(lam[:, j] != 0) else np.nan
                            for j in range(k)])
    else:
        ave_m = cr_m = ave_std = np.full(k, np.nan)
    d = np.sqrt(np.diag(psi))
    with np.errstate(invalid="ignore", divide="ignore"):
        cor = psi / d[:, None] / d[None, :]
    if np.any(np.diag(psi) <= 0):
        warn.append("a factor variance is not positive (Heywood case); correlations are undefined")
    if np.any(np.abs(cor[~np.eye(k, dtype=bool)]) > 1):
        warn.append("a factor correlation exceeds 1 in absolute value (Heywood case)")
    use_ave = ave if obs_var else ave_m
    use_cr = cr if obs_var else cr_m
    off = np.abs(cor.copy())
    np.fill_diagonal(off, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        max_r = np.nanmax(off, axis=1) if k > 1 else np.full(k, np.nan)
    sq = np.sqrt(use_ave)
    fl = cor.copy()
    np.fill_diagonal(fl, sq)
    n_items = (lam != 0).sum(axis=0)
    table = pd.DataFrame({
        "n_items": n_items, "AVE": use_ave, "sqrt_AVE": sq, "CR": use_cr,
        "AVE_observed": ave, "CR_observed": cr, "AVE_model": ave_m, "CR_model": cr_m,
        "AVE_std_mean": ave_std,
        "MSV": max_r ** 2, "max_r": max_r,
        "fornell_larcker_ok": sq > max_r, "ave_ok": use_ave >= 0.5, "cr_ok": use_cr >= 0.7,
    }, index=pd.Index(factors, name="factor"))
    for w in warn:
        warnings.warn(w, PsychometricsWarning, stacklevel=3)
    return ValidityResult(table=table,
                          fornell_larcker=pd.DataFrame(fl, index=factors, columns=factors),
                          factor_correlations=pd.DataFrame(cor, index=factors, columns=factors),
                          htmt=htmt_result, obs_var=bool(obs_var), warnings=warn)


@single_blas_thread
def validity(fit, data: pd.DataFrame | None = None, obs_var: bool = True, n_boot: int = 0,
             seed: int | None = None, level: float = 0.95, htmt2: bool = True,
             threshold: float = 0.85, group=None, missing: str | None = None,
             progress=None) -> ValidityResult:
    """Convergent and discriminant validity of a fitted CFA (one group at a time).

    AVE (``semTools::AVE``), composite reliability (``semTools::compRelSEM``),
    both with the observed (``obs_var=True``, semTools' default) or
    model-implied denominators (both are in the table); the Fornell-Larcker
    table (Fornell & Larcker 1981); and HTMT (:func:`htmt`) from
    ``data`` or, by default, from the rows the fit used, with seeded
    bootstrap CIs when ``n_boot > 0``.  For a multi-group fit, ``group`` names
    the group (its label); HTMT then uses that group's rows of ``data``.
    First-order factors of higher-order models are analysed (with lavaan's
    cov.lv as factor covariances), higher-order factors are left out (see
    ``comp_rel_sem(fit, higher=...)``).  ``missing`` (HTMT correlations):
    "listwise", "pairwise" or "fiml" (EM, ``semTools::htmt(missing = "ml")``); by default
    the fit's own treatment ("fiml" for a FIML fit, else "listwise").  The number of rows
    used is ``htmt.n_obs``.  ``progress``: optional callback ``progress(done, total)`` for
    the HTMT bootstrap draws (counts only, see :func:`htmt`).  Returns a :class:`ValidityResult`.
    """
    mats = _fit_matrices(fit, group)
    h = None
    gv = mats.get("group_var")
    if data is None:
        data = _first(fit, ["data"])
        if not isinstance(data, pd.DataFrame):
            data = None
    if data is None and mats.get("fit_data") is not None:
        # the rows the estimator used (already this group's rows)
        data, gv = mats["fit_data"], None
    if data is not None and gv is not None and mats["group"] is not None:
        if gv not in data.columns:
            raise ValidityInputError(f"data has no group column {gv!r} to select group "
                                     f"{mats['group']!r} for HTMT")
        col = data[gv]
        data = data[(col == mats["group"]) | (col.astype(str) == str(mats["group"]))]
    if data is not None and len(mats["factors"]) > 1:
        mapping = {f: [mats["indicators"][i] for i in np.where(mats["lambda"][:, j] != 0)[0]]
                   for j, f in enumerate(mats["factors"])}
        if missing is None:
            missing = "fiml" if str(getattr(fit, "missing", "")).lower() in ("fiml", "ml") \
                else "listwise"
        h = htmt(data, mapping, n_boot=n_boot, seed=seed, level=level, htmt2=htmt2,
                 threshold=threshold, missing=missing, progress=progress)
    res = validity_from_estimates(mats["lambda"], mats["psi"], mats["sample_cov"],
                                  mats["implied_cov"], mats["factors"], mats["indicators"],
                                  obs_var=obs_var, htmt_result=h, warnings_=mats["warnings"])
    res.group = mats["group"] if mats.get("group_var") is not None else None
    return res
