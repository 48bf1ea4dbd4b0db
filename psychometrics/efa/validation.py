"""Split-sample validation: EFA on one random half, the matching CFA on the other."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import CellProblem, DataError, PsychometricsError
from .analysis import EFAResult, efa
from .correlation import _SOURCE, _warn
from .retention import _resolve_seed, parallel_analysis
from .._blas import single_blas_thread

# --------------------------------------------------------------------------- split-sample validation

@dataclass
class SplitHalfResult:
    """Split-sample validation (:func:`split_half_validation`).

    ``efa_index`` / ``cfa_index``: row labels of the two halves; ``group_counts``:
    cases per group in each half (stratification check); ``efa``: the
    :class:`EFAResult` of the first half; ``assignment``: item -> factor with
    its loading (items without a loading >= ``cut`` are listed in
    ``dropped_items``, empty when a ``model`` was given); ``model``: the lavaan syntax
    fitted to the second half;
    ``cfa``: the fitted ``pm.cfa`` object (None when the SEM engine is not
    available or the fit failed -- see ``warnings``); ``fit_measures``: its
    fit measures (dict); ``seed``: reproduces the split.
    """

    efa_index: list
    cfa_index: list
    group_counts: pd.DataFrame | None
    efa: EFAResult
    assignment: pd.DataFrame
    dropped_items: list
    model: str
    cfa: Any
    fit_measures: dict | None
    seed: Any
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.assignment

    def to_dict(self) -> dict:
        params = None
        if self.cfa is not None:
            try:
                params = self.cfa.parameters()
            except Exception:  # pragma: no cover - reported elsewhere
                params = None
        return jsonable({"efa_index": self.efa_index, "cfa_index": self.cfa_index,
                         "group_counts": self.group_counts, "efa": self.efa.to_dict(),
                         "assignment": self.assignment, "dropped_items": self.dropped_items,
                         "model": self.model, "fit_measures": self.fit_measures,
                         "cfa_parameters": params, "seed": self.seed, "warnings": self.warnings})

    def summary(self) -> str:
        s = (f"Split-sample validation: EFA on {len(self.efa_index)} cases ({self.efa.n_factors} factors), "
             f"CFA on {len(self.cfa_index)} cases")
        fm = self.fit_measures
        if fm:
            s += (f": chi2({fm.get('df'):g}) = {fm.get('chisq'):.2f}, CFI = {fm.get('cfi'):.3f}, "
                  f"RMSEA = {fm.get('rmsea'):.3f}, SRMR = {fm.get('srmr'):.3f}")
        else:
            s += ": CFA not available"
        return s


def _safe_name(name: str) -> str:
    from .._text import is_name  # Unicode names (issue 12)
    return name if is_name(name) and not name.startswith(".") else None


@single_blas_thread
def split_half_validation(data: pd.DataFrame, items: Sequence[str] | None = None,
                          n_factors: int | None = None, group: str | None = None, seed: Any = None,
                          method: str = "minres", rotation: str = "oblimin", cut: float = 0.3,
                          missing: str = "pairwise", model: str | None = None,
                          estimator: str = "ML", cfa_missing: str = "listwise",
                          efa_fraction: float = 0.5, n_iter: int = 100,
                          progress=None) -> SplitHalfResult:
    """Split-sample cross-validation: EFA on one random half, the matching CFA on the other.

    The rows are split at random (``sklearn.model_selection.train_test_split``,
    ``random_state=seed``), stratified by ``group`` (e.g. gender) when given.
    The EFA (:func:`efa`) is run on the first half; when ``n_factors`` is None
    it is chosen on that half by parallel analysis (factors, 95th percentile).
    Each item is assigned to the factor of its largest absolute pattern
    loading when that loading reaches ``cut`` (others are dropped, and a
    factor left with fewer than two items is dropped); the resulting
    independent-clusters model -- or ``model`` when given -- is fitted with
    ``pm.cfa`` to the second half.  Returns a :class:`SplitHalfResult`.
    Reference: the EFA-then-CFA cross-validation practice of Fabrigar et al.
    (1999) and Worthington & Whittaker (2006).

    ``progress``: optional callback ``progress(done, total)`` (a progress display); the units
    are the parallel analysis' ``n_iter`` random data sets (when it runs), then one for the EFA
    and one for the CFA.  It only reports counts; the result does not depend on it.
    """
    from sklearn.model_selection import train_test_split

    rec: list = []
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{_SOURCE}: split_half_validation needs a pandas DataFrame, got {type(data).__name__}")
    if items is None:
        items = [c for c in data.columns if c != group]
    items = [str(i) for i in items]
    missing_cols = [c for c in list(items) + ([group] if group is not None else []) if c not in data.columns]
    if missing_cols:
        raise DataError(f"{_SOURCE}: column(s) not in the data: {', '.join(map(repr, missing_cols))}")
    if not (0 < efa_fraction < 1):
        raise PsychometricsError(f"efa_fraction must be between 0 and 1, got {efa_fraction!r}")
    seed = _resolve_seed(seed)
    split_seed = seed if isinstance(seed, (int, np.integer)) else int(np.random.default_rng(seed).integers(2 ** 31))
    strat = None
    counts = None
    if group is not None:
        g = data[group]
        bad = g.isna()
        if bad.any():
            raise DataError(f"{_SOURCE}: the group column {group!r} is missing for {int(bad.sum())} row(s)",
                            [CellProblem(_SOURCE, i, group, None, "missing group") for i in data.index[bad]])
        small = g.value_counts()
        small = small[small < 2]
        if len(small):
            raise DataError(f"{_SOURCE}: group(s) with fewer than 2 cases cannot be split: "
                            + ", ".join(f"{k!r} ({v})" for k, v in small.items()))
        strat = g.to_numpy()
    pos = np.arange(len(data))
    try:
        a, b = train_test_split(pos, train_size=efa_fraction, random_state=split_seed, shuffle=True,
                                stratify=strat)
    except ValueError as exc:
        raise DataError(f"{_SOURCE}: the sample cannot be split ({exc})") from None
    a, b = np.sort(a), np.sort(b)
    half_a = data.iloc[a]
    half_b = data.iloc[b]
    if group is not None:
        counts = pd.DataFrame({"efa": half_a[group].value_counts(sort=False),
                               "cfa": half_b[group].value_counts(sort=False)}).fillna(0).astype(int)
    n_pa = n_iter if n_factors is None else 0
    total = n_pa + 2
    if n_factors is None:
        pa = parallel_analysis(half_a[items], n_iter=n_iter, seed=split_seed, kind="fa", missing=missing,
                               progress=None if progress is None else
                               (lambda done, _n: progress(done, total)))
        n_factors = max(1, int(pa.n_factors))
        rec.append(f"Number of factors chosen by parallel analysis on the EFA half: {n_factors}.")
    e = efa(half_a[items], n_factors, method=method, rotation=rotation, missing=missing)
    if progress is not None:
        progress(n_pa + 1, total)
    for w in e.warnings:
        rec.append(f"EFA half: {w}")
    L = e.loadings
    absL = L.abs()
    main = absL.idxmax(axis=1)
    best = absL.max(axis=1)
    assignment = pd.DataFrame({"factor": main, "loading": [L.loc[i, main[i]] for i in L.index],
                               "cross_loading": (absL >= 0.32).sum(axis=1) >= 2})
    user_model = model is not None
    dropped = [] if user_model else [i for i in L.index if best[i] < cut]
    if dropped:
        rec.append(f"Item(s) without a loading >= {cut:g} on the EFA half, left out of the CFA: "
                   + ", ".join(dropped))
    keep = assignment.drop(index=dropped)
    if model is None:
        lines = []
        for f in L.columns:
            its = list(keep.index[keep["factor"] == f])
            if len(its) < 2:
                if its:
                    rec.append(f"Factor {f} has a single salient item ({its[0]}); it is left out of the CFA.")
                    dropped.append(its[0])
                continue
            unsafe = [i for i in its if _safe_name(i) is None]
            if unsafe:
                raise DataError(f"{_SOURCE}: item name(s) cannot be used in model syntax: "
                                + ", ".join(map(repr, unsafe)))
            lines.append(f"{f} =~ " + " + ".join(its))
        model = "\n".join(lines)
    cfa_fit = None
    fm = None
    if not model:
        _warn(rec, "No factor has two or more salient items; no CFA model could be formed.")
    else:
        try:
            from ..sem import cfa as _cfa
        except ImportError:  # pragma: no cover - the engine is part of the package
            _cfa = None
            _warn(rec, "The CFA half needs the SEM engine (psychometrics.sem), which is not available.")
        if _cfa is not None:
            try:
                cfa_fit = _cfa(model, half_b, estimator=estimator, missing=cfa_missing)
                fm = dict(cfa_fit.fit_measures())
            except PsychometricsError as exc:
                _warn(rec, f"The CFA on the validation half failed: {exc}")
                cfa_fit = None
    if progress is not None:
        progress(total, total)
    return SplitHalfResult(efa_index=list(data.index[a]), cfa_index=list(data.index[b]),
                           group_counts=counts, efa=e, assignment=assignment, dropped_items=dropped,
                           model=model, cfa=cfa_fit, fit_measures=fm, seed=seed, warnings=rec)
