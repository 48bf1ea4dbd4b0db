"""Scale scores: reverse keying, subscale and total scores, prorating.

``score(dataset_or_items, instrument)`` returns a :class:`ScoreResult` whose
``scores`` DataFrame (indexed by case id) has one column per subscale plus
``total`` (see :meth:`Instrument.score_names`).

Rules (the usual manual-scoring rules of questionnaires; with ``scoring: mean``
and ``max_missing_share`` close to 1 the scores equal psych::scoreItems(keys,
items, totals = FALSE, impute = "none"), which the tests check on bfi):

* reverse-keyed items are recoded ``min + max - x`` first;
* a (sub)scale score is computed when the share of its items that are missing is
  at most the instrument's ``max_missing_share``; otherwise it is missing;
* with missing items it is *prorated*: ``mean`` scoring takes the mean of the
  answered items, ``sum`` scoring the mean of the answered items times the number
  of items (the sum the case would have had);
* the total uses all items under the same rule (not the sum of subscales).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ._results import jsonable
from .errors import DataError, CellProblem, StudyError
from .scales import Instrument, load_instrument

__all__ = ["score", "ScoreResult", "reverse_key", "scale_descriptives", "ScaleDescriptivesResult"]


@dataclass
class ScoreResult:
    """Scores of one instrument.

    ``scores``: DataFrame indexed by case id, one column per score (subscales, total);
    ``prorated``: boolean DataFrame, True where a score was prorated (items missing);
    ``n_prorated``: ``{score: number of cases prorated}``;
    ``n_missing``: ``{score: number of cases without a score (too many items missing)}``;
    ``items``: the reverse-keyed item responses used (DataFrame, data column names).
    """

    instrument: str
    scoring: str
    max_missing_share: float
    scores: pd.DataFrame
    prorated: pd.DataFrame
    n_prorated: dict = field(default_factory=dict)
    n_missing: dict = field(default_factory=dict)
    items: pd.DataFrame | None = None
    score_items: dict = field(default_factory=dict)   # score -> data columns

    def to_frame(self) -> pd.DataFrame:
        return self.scores.copy()

    def summary_frame(self) -> pd.DataFrame:
        """Per score: n items, n scored, n prorated, n missing, mean, sd, min, max."""
        rows = {}
        for s in self.scores.columns:
            v = self.scores[s]
            rows[s] = {"n_items": len(self.score_items.get(s, [])), "n": int(v.notna().sum()),
                       "n_prorated": self.n_prorated[s], "n_missing": self.n_missing[s],
                       "mean": v.mean(), "sd": v.std(ddof=1), "min": v.min(), "max": v.max()}
        return pd.DataFrame.from_dict(rows, orient="index")

    def summary(self) -> str:
        """Plain-text score summary (for the console)."""
        return f"Scores of {self.instrument} ({self.scoring}):\n" + \
            self.summary_frame().round(3).to_string()

    def to_dict(self) -> dict:
        return jsonable({"instrument": self.instrument, "scoring": self.scoring,
                         "max_missing_share": self.max_missing_share,
                         "n_prorated": self.n_prorated, "n_missing": self.n_missing,
                         "summary": self.summary_frame(), "scores": self.scores})


def reverse_key(items: pd.DataFrame, instrument: Instrument, columns: Mapping[str, str]
                ) -> pd.DataFrame:
    """Copy of ``items`` with the instrument's reverse-keyed items recoded ``min + max - x``."""
    out = items.astype(float).copy()
    for it in instrument.items:
        if it.reverse:
            col = columns[it.id]
            out[col] = instrument.min + instrument.max - out[col]
    return out


def _resolve_items(data: Any, instrument: Instrument, columns) -> tuple[pd.DataFrame, dict]:
    from .io import Dataset

    if isinstance(data, Dataset):
        cols = dict(data.study.instrument(instrument.id).columns) if columns is None else \
            instrument.columns_for(columns)
        frame = data.data
    elif isinstance(data, pd.DataFrame):
        frame = data
        if columns is not None:
            cols = instrument.columns_for(columns)
        elif all(i in frame.columns for i in instrument.item_ids):
            cols = {i: i for i in instrument.item_ids}
        elif frame.shape[1] == instrument.n_items:
            cols = dict(zip(instrument.item_ids, [str(c) for c in frame.columns]))
            frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        else:
            raise StudyError(
                f"score: cannot match the {frame.shape[1]} columns {list(frame.columns)[:12]} to "
                f"the {instrument.n_items} items of {instrument.id!r}; pass columns= (item id -> "
                "column, or a prefix)")
    else:
        raise StudyError(f"score: expected a Dataset or a DataFrame, got {type(data).__name__}")
    missing = [c for c in cols.values() if c not in frame.columns]
    if missing:
        raise DataError(f"score: item column(s) {missing} of {instrument.id!r} are not in the data",
                        [CellProblem("<data>", "header", c, None, "column missing") for c in missing])
    items = frame[[cols[i] for i in instrument.item_ids]]
    bad = []
    for c in items.columns:
        if not pd.api.types.is_numeric_dtype(items[c]):
            conv = pd.to_numeric(items[c], errors="coerce")
            for idx in items.index[conv.isna() & items[c].notna()][:50]:
                bad.append(CellProblem("<data>", idx, c, items.at[idx, c], "not a number"))
    if bad:
        raise DataError(f"score: non-numeric item values in {instrument.id!r}", bad)
    items = items.apply(pd.to_numeric, errors="coerce").astype(float)
    if instrument.min is not None:
        vals = items.to_numpy()
        out = (vals < instrument.min) | (vals > instrument.max)
        if out.any():
            r, c = np.nonzero(out)
            probs = [CellProblem("<data>", items.index[i], items.columns[j], vals[i, j],
                                 f"outside the response range {instrument.min}-{instrument.max}")
                     for i, j in zip(r, c)]
            raise DataError(f"score: item values outside the response range of {instrument.id!r}",
                            probs)
    return items, cols


def score(data: Any, instrument: Instrument | str, columns=None) -> ScoreResult:
    """Subscale and total scores of ``instrument``.

    ``data``: a :class:`~psychometrics.io.Dataset` (its column mapping is used) or a
    DataFrame of item responses (columns named by item id, or in item order, or mapped
    with ``columns``: item id -> column or a prefix).  ``instrument``: an
    :class:`Instrument` or its id/YAML path.

    Returns a :class:`ScoreResult`: ``scores`` (DataFrame keyed by case id, one column
    per subscale plus ``total``), ``prorated`` (which scores were prorated),
    ``n_prorated`` and ``n_missing`` per score.  Reverse keying ``min + max - x``;
    prorating as described in the module docstring (the usual rule, e.g. the WAI-SR
    and CSQ-8 manuals; equals psych::scoreItems(impute = "none") for mean scoring).
    """
    from .io import Dataset

    if not isinstance(instrument, Instrument):
        if isinstance(data, Dataset) and isinstance(instrument, str) \
                and instrument in data.study.instrument_ids:
            instrument = data.instrument(instrument)
        else:
            instrument = load_instrument(instrument)
    items, cols = _resolve_items(data, instrument, columns)
    keyed = reverse_key(items, instrument, cols)

    groups: dict[str, list[str]] = {}
    for name in instrument.score_names():
        if name == "total":
            ids = instrument.item_ids
        else:
            ids = instrument.subscale_items(name)
        groups[name] = [cols[i] for i in ids]

    scores, prorated, n_pro, n_miss = {}, {}, {}, {}
    for name, cs in groups.items():
        block = keyed[cs].to_numpy()
        k = block.shape[1]
        n_missing = np.isnan(block).sum(axis=1)
        allowed = n_missing <= instrument.max_missing_share * k + 1e-9
        allowed &= n_missing < k
        answered = k - n_missing
        totals = np.nansum(block, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(answered > 0, totals / np.maximum(answered, 1), np.nan)
        value = means * k if instrument.scoring == "sum" else means
        value = np.where(allowed, value, np.nan)
        scores[name] = value
        pro = allowed & (n_missing > 0)
        prorated[name] = pro
        n_pro[name] = int(pro.sum())
        n_miss[name] = int((~allowed).sum())
    idx = items.index
    return ScoreResult(instrument=instrument.id, scoring=instrument.scoring,
                       max_missing_share=instrument.max_missing_share,
                       scores=pd.DataFrame(scores, index=idx),
                       prorated=pd.DataFrame(prorated, index=idx),
                       n_prorated=n_pro, n_missing=n_miss, items=keyed, score_items=groups)


# ---------------------------------------------------------------- scale-level descriptives
@dataclass
class ScaleDescriptivesResult:
    """Scale-level descriptive statistics and intercorrelations (the numbers of
    apaTables' ``apa.cor.table`` plus reliabilities on the diagonal).

    ``descriptives``: DataFrame indexed by scale with ``n`` (cases with a score),
    ``mean``, ``sd`` (n - 1), ``min``, ``max`` (observed range), ``alpha`` (Cronbach's
    alpha, psych::alpha) and ``omega`` (McDonald's omega total, psych::omega) of the
    scale's items (NaN without items); ``cor``: Pearson correlations of the scores
    (pairwise complete cases, as ``cor(use = "pairwise")``); ``cor_n``: the pairwise n;
    ``cor_p``: two-sided p of ``cor.test`` (t = r sqrt(n - 2) / sqrt(1 - r^2)) and
    ``cor_ci_lower``/``cor_ci_upper``: its Fisher-z interval at ``level``;
    ``by_group``: group value -> the same statistics within that group (empty within a
    group); ``warnings``: reliabilities that could not be computed.
    """

    descriptives: pd.DataFrame
    cor: pd.DataFrame
    cor_n: pd.DataFrame
    cor_p: pd.DataFrame
    cor_ci_lower: pd.DataFrame
    cor_ci_upper: pd.DataFrame
    level: float = 0.95
    by_group: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """``descriptives`` with one column of correlations per scale (lower triangle as
        in apa.cor.table; the upper triangle and the diagonal are NaN)."""
        out = self.descriptives.copy()
        lower = self.cor.where(np.tril(np.ones(self.cor.shape, dtype=bool), k=-1))
        for c in lower.columns:
            out[f"r_{c}"] = lower[c]
        return out

    def pairs(self) -> pd.DataFrame:
        """One row per pair of scales: scale1, scale2, r, n, pvalue, ci_lower, ci_upper."""
        rows = []
        names = list(self.cor.columns)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                rows.append({"scale1": a, "scale2": b, "r": self.cor.at[a, b],
                             "n": self.cor_n.at[a, b], "pvalue": self.cor_p.at[a, b],
                             "ci_lower": self.cor_ci_lower.at[a, b],
                             "ci_upper": self.cor_ci_upper.at[a, b]})
        return pd.DataFrame(rows, columns=["scale1", "scale2", "r", "n", "pvalue", "ci_lower",
                                           "ci_upper"])

    def to_dict(self) -> dict:
        return jsonable({"level": self.level, "descriptives": self.descriptives,
                         "correlations": self.pairs(),
                         "by_group": {str(g): r.to_dict() for g, r in self.by_group.items()},
                         "warnings": self.warnings})


def _pairwise_cor(scores: pd.DataFrame, level: float):
    from scipy import stats
    names = list(scores.columns)
    k = len(names)
    x = scores.to_numpy(dtype=float)
    ok = ~np.isnan(x)
    r = np.full((k, k), np.nan)
    n = np.zeros((k, k), dtype=int)
    for i in range(k):
        for j in range(k):
            both = ok[:, i] & ok[:, j]
            n[i, j] = int(both.sum())
            if n[i, j] > 2 and i != j:
                a, b = x[both, i], x[both, j]
                if a.std() > 0 and b.std() > 0:
                    r[i, j] = float(np.corrcoef(a, b)[0, 1])
            elif i == j and n[i, j] > 1:
                r[i, j] = 1.0
    np.fill_diagonal(r, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.clip(r, -1 + 1e-15, 1 - 1e-15)
        t = rr * np.sqrt(n - 2) / np.sqrt(1 - rr ** 2)
        p = 2 * stats.t.sf(np.abs(t), n - 2)
        z = np.arctanh(rr)
        half = stats.norm.ppf(0.5 + level / 2) / np.sqrt(n - 3)
        lo, hi = np.tanh(z - half), np.tanh(z + half)
    bad = n <= 3
    lo[bad], hi[bad] = np.nan, np.nan
    for m in (p, lo, hi):
        np.fill_diagonal(m, np.nan)
    frame = lambda m: pd.DataFrame(m, index=names, columns=names)  # noqa: E731
    return frame(r), frame(n), frame(p), frame(lo), frame(hi)


def _scale_moments(x: pd.DataFrame):
    """The items of a scale as :mod:`.reliability` prepares them for ``alpha`` and ``omega``,
    with their pairwise covariance and correlation matrices (one pass for both), or None
    when ``_prepare`` rejects them (the callers then call the function itself, for its
    error)."""
    from . import reliability as rel
    try:
        xp, _ = rel._prepare(x, None)
    except Exception:  # noqa: BLE001 - alpha()/omega() raise it again, with their message
        return None
    arr = xp.to_numpy()
    with _single_thread():
        cov, cor = rel._weighted_pairwise_moments(arr, np.ones((1, arr.shape[0])))
    return xp, cov[0], cor[0]


def _alpha_point(x: pd.DataFrame, pre) -> float:
    """``reliability.alpha(x).estimate`` (psych's raw alpha, the same number, with alpha()'s
    warnings) without the item table, CIs and result object that the scale table does not
    show (issue 13); ``pre``: :func:`_scale_moments` of ``x``.  Where any check of alpha()
    would fail, alpha() itself is called (its error)."""
    from . import reliability as rel
    if pre is None or not np.all(np.isfinite(pre[1])):
        return float(rel.alpha(x).estimate)
    xp, c, _ = pre
    with _single_thread():
        r = rel._cov2cor(c)
        a = float(rel._alpha_stats(c, r)["raw_alpha"])
        msgs = rel._alpha_checks(c, r, xp.columns)       # alpha()'s warnings
    import warnings as _w
    from .errors import PsychometricsWarning
    for m in msgs:
        _w.warn(m, PsychometricsWarning, stacklevel=3)
    return a


def _omega_point(x: pd.DataFrame, pre, nf: int) -> float:
    """``reliability.omega(x, n_groups=nf).omega_total`` (psych's omega total, the same
    number) without its loadings tables and result object (issue 13); ``pre``:
    :func:`_scale_moments` of ``x``.  Where any check of omega() would fail, omega() itself
    is called (its error).  Its warnings are not emitted (the scale table ignores them)."""
    from . import reliability as rel
    if pre is None or nf < 1 or pre[0].shape[1] < (3 if nf == 1 else 2) \
            or nf * 2 > pre[0].shape[1] or not np.all(np.isfinite(pre[2])):
        return float(rel.omega(x, n_groups=nf).omega_total)
    with _single_thread():
        return float(rel._omega_core(pre[2], nf, flip=True)["omega_tot"])


def _single_thread():
    from ._blas import blas_threads
    return blas_threads(1)


def _describe_scales(scores, items, n_groups, level, warn, where, tick=None):
    rows = {}
    for name in scores.columns:
        if tick is not None:
            tick(name)
        v = scores[name].dropna()
        row = {"n": int(v.size), "mean": float(v.mean()) if v.size else np.nan,
               "sd": float(v.std(ddof=1)) if v.size > 1 else np.nan,
               "min": float(v.min()) if v.size else np.nan,
               "max": float(v.max()) if v.size else np.nan, "alpha": np.nan, "omega": np.nan}
        x = (items or {}).get(name)
        if x is not None and x.shape[1] >= 2:
            if not x.index.equals(scores.index):    # (a copy of the items only when needed)
                x = x.loc[x.index.intersection(scores.index)]
            pre = _scale_moments(x)
            try:
                row["alpha"] = _alpha_point(x, pre)
            except Exception as exc:  # recorded, shown by the report
                warn.append(f"{where}alpha of {name} not computed ({exc})")
            if x.shape[1] >= 3:
                try:
                    import warnings as _w
                    with _w.catch_warnings():
                        _w.simplefilter("ignore")
                        row["omega"] = _omega_point(x, pre, int((n_groups or {}).get(name, 1)))
                except Exception as exc:
                    warn.append(f"{where}omega of {name} not computed ({exc})")
        rows[name] = row
    if tick is not None:
        tick(None)
    desc = pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["n", "mean", "sd", "min", "max", "alpha", "omega"])
    desc.index.name = "scale"
    return desc


def scale_descriptives(scores: pd.DataFrame, items: Mapping[str, pd.DataFrame] | None = None,
                       group: pd.Series | None = None, *, n_groups: Mapping[str, int] | None = None,
                       level: float = 0.95, progress=None) -> ScaleDescriptivesResult:
    """Descriptive statistics and intercorrelations of scale scores, overall and by group.

    ``scores``: DataFrame of scale scores (one column per scale, rows = cases; e.g. the
    ``scores`` of :func:`score` for every instrument side by side); ``items``: optional
    scale -> DataFrame of its (reverse-keyed) item responses, rows aligned with
    ``scores`` by index, for alpha (``psych::alpha``) and omega total (``psych::omega``
    with ``n_groups[scale]`` group factors, default 1; omega needs three items or more);
    ``group``: optional Series (same index) -- the statistics are then also given for
    each group, in order of first appearance.

    M, SD (n - 1), observed minimum and maximum use the available scores of each scale;
    correlations are Pearson's r on pairwise complete cases with cor.test's p-value and
    Fisher-z CI (the numbers of ``apaTables::apa.cor.table``, Stanley 2021).  ``progress``:
    optional callback ``progress(done, total)``, called as each scale of each sample (all
    cases, then every group) is done, in units of cases x (items of the scale + 1) (alpha and
    omega read the items; the rest the scores); counts only, the result is the same.  Returns a
    :class:`ScaleDescriptivesResult`.
    """
    if not isinstance(scores, pd.DataFrame) or scores.shape[1] == 0:
        raise StudyError("scale_descriptives: scores must be a DataFrame with one column per "
                         "scale")
    bad = [c for c in scores.columns if not pd.api.types.is_numeric_dtype(scores[c])]
    if bad:
        raise DataError(f"scale_descriptives: scale score column(s) {bad} are not numeric",
                        [CellProblem("<scores>", "header", c, str(scores[c].dtype),
                                     "not numeric") for c in bad])
    if not 0 < level < 1:
        raise StudyError(f"scale_descriptives: level={level!r} must lie between 0 and 1")
    scores = scores.astype(float)
    warn: list = []
    g = pd.Series(group).reindex(scores.index) if group is not None else None
    # progress units: per scale and sample, cases x (items + 1); the samples are all cases
    # and then each group, so the total is twice the all-cases' units when every case has a
    # group (group sizes are counted, not assumed)
    width = {name: 1 + (items[name].shape[1] if items and name in items
                        and items[name] is not None else 0) for name in scores.columns}
    n_rows = scores.shape[0] + (int(g.notna().sum()) if g is not None else 0)
    total = float(n_rows) * sum(width.values())
    state = {"done": 0.0, "rows": 0, "prev": None}

    def tick(name):
        # called when the scale ``name`` starts (None: the sample's scales are done): counts
        # the scale before it as done
        if progress is None:
            return
        if state["prev"] is not None:
            state["done"] += state["rows"] * width[state["prev"]]
            progress(state["done"], total)
        state["prev"] = name

    def one(sub, where=""):
        state["rows"], state["prev"] = sub.shape[0], None
        desc = _describe_scales(sub, items, n_groups, level, warn, where, tick)
        r, n, p, lo, hi = _pairwise_cor(sub, level)
        return ScaleDescriptivesResult(desc, r, n, p, lo, hi, level)

    res = one(scores)
    if g is not None:
        for value in pd.unique(g.dropna()):
            res.by_group[value] = one(scores.loc[(g == value).to_numpy()],
                                      where=f"group {value}: ")
    res.warnings = warn
    return res
