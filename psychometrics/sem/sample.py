"""Sample statistics per group for the SEM engine.

:func:`sample_stats` validates the data (numeric columns, known variables, the group column)
and returns :class:`SampleStats`: per group the number of cases, the N-denominator covariance
matrix and mean vector of the complete cases (``missing="listwise"``), the data array (NaN for
missing cells, all rows of the group, for FIML), and the h1 (saturated) moments and
log-likelihood (lavaan's ``unrestricted.logl``; ``lav_samplestats_from_data`` with
``likelihood = "normal"``).  Groups are kept in order of first appearance, as lavaan does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import weakref

import numpy as np
import pandas as pd

from ..errors import CellProblem, DataError, ModelError

LOG2PI = np.log(2 * np.pi)


@dataclass
class GroupStats:
    """One group's statistics (``cov`` has N in the denominator)."""

    label: object
    nobs: int
    cov: np.ndarray
    mean: np.ndarray
    data: np.ndarray            # all rows of the group used by the estimator (NaN = missing)
    case_ids: np.ndarray
    h1_cov: np.ndarray = None   # saturated-model moments (complete data: cov/mean)
    h1_mean: np.ndarray = None
    h1_logl: float = np.nan

    @property
    def p(self) -> int:
        return self.cov.shape[0]

    def start_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """``(cov, mean)`` for start values and sample checks: the saturated (h1) moments when
        known (EM estimates under FIML), else the complete-case moments."""
        if self.h1_cov is not None and self.h1_mean is not None:
            return self.h1_cov, self.h1_mean
        return self.cov, self.mean


@dataclass
class SampleStats:
    """Per-group sample statistics; ``ov_names`` is the variable order of every matrix."""

    ov_names: list
    groups: list
    group_var: str | None = None
    missing: str = "listwise"
    warnings: list = field(default_factory=list)

    @property
    def ngroups(self) -> int:
        return len(self.groups)

    @property
    def ntotal(self) -> int:
        return int(sum(g.nobs for g in self.groups))

    @property
    def nobs(self) -> list:
        return [g.nobs for g in self.groups]

    @property
    def group_labels(self) -> list:
        return [g.label for g in self.groups]

    @property
    def h1_logl(self) -> float:
        return float(sum(g.h1_logl for g in self.groups))


def saturated_logl(n: int, cov: np.ndarray) -> float:
    """Log-likelihood of the saturated normal model (N-denominator ``cov``)."""
    p = cov.shape[0]
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return np.nan
    return float(-n / 2 * (p * LOG2PI + logdet + p))


def complete_case_moments(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (N denominator, as lavaan's ML sample statistics) of the rows of
    ``arr`` without NaN; with fewer than two such rows, per-variable available-case means and a
    diagonal covariance (only a start for FIML, whose h1 moments come from EM)."""
    cc = arr[~np.isnan(arr).any(axis=1)]
    if cc.shape[0] >= 2:
        mean = cc.mean(axis=0)
        dev = cc - mean
        return mean, dev.T @ dev / cc.shape[0]
    return np.nanmean(arr, axis=0), np.diag(np.nanvar(arr, axis=0))


def _numeric(data: pd.DataFrame, cols: list, source: str) -> pd.DataFrame:
    problems = []
    out = {}
    for c in cols:
        s = data[c]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            conv = pd.to_numeric(s, errors="coerce")
            bad = conv.isna() & s.notna()
            for idx in list(s.index[bad]):
                problems.append(CellProblem(source, idx, c, s.loc[idx], "not a number"))
            out[c] = conv.astype(float)
        else:
            out[c] = s.astype(float)
    if problems:
        raise DataError(f"{len(problems)} non-numeric value(s) in model variables", problems)
    df = pd.DataFrame(out, index=data.index)
    inf = ~np.isfinite(df.to_numpy(dtype=float)) & df.notna().to_numpy()
    if inf.any():
        rr, cc = np.nonzero(inf)
        raise DataError("infinite values in model variables",
                        [CellProblem(source, df.index[r], cols[c], df.iat[r, c], "infinite")
                         for r, c in zip(rr, cc)])
    return df


def _float_columns(data: pd.DataFrame, cols: list) -> list | None:
    """The columns ``cols`` of ``data`` as float arrays (views of float64 columns, converted
    integer columns) when every one is numeric, not boolean, and has no infinite value; else
    None (then :func:`_numeric` converts the columns or reports the offending cells)."""
    out = []
    for c in cols:
        s = data[c]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s) \
                or isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            return None
        arr = np.asarray(s.to_numpy(), dtype=float)
        if np.isinf(arr).any():
            return None
        out.append(arr)
    return out


#: the groups' data arrays made by :func:`sample_stats`, by content (shape and SHA-1 of the
#: values, column by column): a fit of the same variables of the same cases takes the array an
#: earlier fit still holds instead of a copy of its own (issue 13: the structural model's 34
#: columns of 10^6 cases were a second 272 MB copy of the measurement model's, and every level
#: of an invariance sequence had its own).  Weak references: an array is shared while a fit
#: holds it.  Shared arrays are read-only.  Tests switch it off to compare.
SHARE_DATA = True
_SHARED: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()


def _gather(columns: list, pos: np.ndarray) -> np.ndarray:
    """The rows ``pos`` of the float ``columns`` as one new len(pos) x p array, filled column
    by column (no copy of the whole data set first)."""
    arr = np.empty((len(pos), len(columns)))
    for j, col in enumerate(columns):
        arr[:, j] = col[pos]
    return arr


def _group_array(columns: list, rows: np.ndarray, missing: str) -> tuple[np.ndarray, np.ndarray]:
    """``(arr, ok)``: the rows ``rows`` (boolean) of the float ``columns`` as one n x p array
    without the rows :func:`sample_stats` drops (``ok``, over the rows of ``rows``: with a
    missing value under listwise deletion, else missing on every variable).

    The array is gathered column by column (no copy of the whole data set first).  With
    :data:`SHARE_DATA` the rows are read column by column first, for ``ok`` and a digest of
    the values; an array with the same values that a fit still holds (:data:`_SHARED`,
    compared bit for bit) is returned instead of a new one, so no second n x p array exists
    even for a moment; a new array is made read-only and entered there."""
    pos = np.flatnonzero(rows)
    p = len(columns)
    listwise = missing == "listwise"
    if not SHARE_DATA:
        arr = _gather(columns, pos)
        ok = ~np.isnan(arr).any(axis=1) if listwise else ~np.isnan(arr).all(axis=1)
        return (arr if ok.all() else arr[ok]), ok
    flag = None                  # listwise: a value is missing; else: every value is missing
    for col in columns:
        nan = np.isnan(col[pos])
        flag = nan if flag is None else (flag | nan if listwise else flag & nan)
    ok = ~flag if flag is not None else np.ones(len(pos), dtype=bool)
    del flag
    if not ok.all():
        pos = pos[ok]
    digest = hashlib.sha1()
    for col in columns:
        digest.update(col[pos].view(np.uint8))
    key = (len(pos), p, digest.hexdigest())
    arr = _SHARED.get(key)
    if arr is not None and all(np.array_equal(arr[:, j].view(np.uint64), col[pos].view(np.uint64))
                               for j, col in enumerate(columns)):
        return arr, ok
    arr = _gather(columns, pos)
    arr.flags.writeable = False
    _SHARED[key] = arr
    return arr, ok


def sample_stats(data: pd.DataFrame, ov_names: list, group: str | None = None,
                 missing: str = "listwise", source: str = "data") -> SampleStats:
    """Validate ``data`` and compute the per-group statistics used by the engine.

    ``missing="listwise"`` drops cases with any missing model variable (lavaan's default);
    ``missing="fiml"``/``"ml"`` keeps them (rows missing on every variable are dropped) and
    the h1 moments are left for the FIML code to fill in.  Returns :class:`SampleStats`; each
    group's ``data`` is read-only and shared with other fits of the same values
    (:func:`_group_array`).
    """
    if not isinstance(data, pd.DataFrame):
        raise ModelError("data must be a pandas DataFrame")
    unknown = [v for v in ov_names if v not in data.columns]
    if unknown:
        raise ModelError(f"variable(s) not found in {source}: {', '.join(map(str, unknown))} "
                         f"(available columns: {', '.join(map(str, data.columns[:30]))}"
                         f"{' ...' if len(data.columns) > 30 else ''})")
    if group is not None and group not in data.columns:
        raise ModelError(f"group variable {group!r} not found in {source}")
    columns = _float_columns(data, ov_names)
    if columns is None:         # text, booleans or infinite values: converted, or reported
        X = _numeric(data, ov_names, source)
        columns = [X[c].to_numpy(dtype=float) for c in ov_names]
    if group is not None:
        gcol = data[group]
        keep = gcol.notna()
        labels = [v.item() if hasattr(v, "item") else v for v in pd.unique(gcol[keep])]
        # a numeric group column with missing values is float: show 1.0 as 1 (as R does)
        labels_out = [int(v) if isinstance(v, float) and v.is_integer() else v for v in labels]
    else:
        gcol = None
        keep = pd.Series(True, index=data.index)
        labels = [None]
    ss = SampleStats(ov_names=list(ov_names), groups=[], group_var=group, missing=missing)
    for lab, lab_out in zip(labels, labels_out if group is not None else labels):
        rows = (keep if gcol is None else (keep & (gcol == lab))).to_numpy()
        # the group's rows of the model's columns in one array, shared with the fits of the
        # same values (issue 13)
        arr, ok = _group_array(columns, rows, missing)
        ids = np.asarray(data.index[rows])[ok]
        n = arr.shape[0]
        if n < 2:
            raise ModelError(f"group {lab!r} has {n} complete case(s); at least 2 are needed")
        mean, cov = complete_case_moments(arr)
        zero = [ov_names[j] for j in range(len(ov_names)) if not cov[j, j] > 0]
        if zero:
            where = f" in group {lab!r}" if group is not None else ""
            raise ModelError(f"variable(s) with zero variance{where} in {source}: {', '.join(zero)} "
                             "(every case has the same value); remove them from the model")
        gs = GroupStats(label=lab_out, nobs=n, cov=cov, mean=mean, data=arr, case_ids=ids)
        if missing == "listwise":
            gs.h1_cov, gs.h1_mean = cov, mean
            gs.h1_logl = saturated_logl(n, cov)
        ss.groups.append(gs)
    return ss
