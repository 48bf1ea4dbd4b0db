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

__all__ = ["score", "ScoreResult", "reverse_key"]


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
