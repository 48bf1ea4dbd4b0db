"""Validation of item tables shared by the analyses (EFA, reliability).

``numeric_items`` turns a DataFrame of item columns into floats and raises a
:class:`~psychometrics.errors.DataError` naming source, row, column and value
for every non-numeric or infinite cell, and for columns that are (almost)
empty or constant.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._text import show
from .errors import CellProblem, DataError


def numeric_items(df: pd.DataFrame, source: str, min_nonmissing: int = 2) -> pd.DataFrame:
    """Return ``df`` as a float DataFrame (same index and column names).

    Raises DataError listing every cell that is not a finite number, and for a column with
    fewer than ``min_nonmissing`` values or no variance (values shown as plain numbers,
    never ``np.float64(3.0)``).
    """
    problems = []
    out = {}
    if len(df.columns) and all(dt == np.float64 for dt in df.dtypes) \
            and not np.isinf(df.to_numpy()).any():
        # already finite floats (the validated data of a study): no conversion, no copy
        return _check_columns(df.copy(deep=False), source, min_nonmissing)   # copy on write
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            s = s.astype(float)
        num = pd.to_numeric(s, errors="coerce")
        for row in s.index[(num.isna() & s.notna()).to_numpy()]:
            problems.append(CellProblem(source, row, str(col), s.loc[row], "not a number"))
        num = num.astype(float)
        inf = np.isinf(num.to_numpy(dtype=float, na_value=np.nan))
        for row in s.index[inf]:
            problems.append(CellProblem(source, row, str(col), s.loc[row], "not a finite number"))
        out[col] = num.where(~np.isinf(num))
    if problems:
        raise DataError(f"{source}: {len(problems)} non-numeric item value(s)", problems)
    return _check_columns(pd.DataFrame(out, index=df.index), source, min_nonmissing)


def _check_columns(res: pd.DataFrame, source: str, min_nonmissing: int) -> pd.DataFrame:
    """``res`` after checking that no column is (almost) empty or constant (the columns in
    order, the first failing one raises; counts, largest and smallest values of all columns
    at once)."""
    arr = res.to_numpy(dtype=float)
    count = (~np.isnan(arr)).sum(axis=0)
    ok = count >= max(min_nonmissing, 1)
    hi = np.full(arr.shape[1], np.nan)
    lo = np.full(arr.shape[1], np.nan)
    if ok.any():
        hi[ok] = np.nanmax(arr[:, ok], axis=0)
        lo[ok] = np.nanmin(arr[:, ok], axis=0)
    for j in np.flatnonzero(~ok | (hi == lo)):
        col = res.columns[j]
        v = res[col].dropna()
        if len(v) < min_nonmissing:
            raise DataError(
                f"{source}: item column {col!r} has {len(v)} non-missing value(s); "
                f"at least {min_nonmissing} are needed",
                [CellProblem(source, "all rows", str(col), None, "empty or almost empty column")])
        if float(v.max()) == float(v.min()):
            raise DataError(
                f"{source}: item column {col!r} is constant (every value is {show(v.iloc[0])}): "
                "an item with no variance cannot be analysed; remove it",
                [CellProblem(source, "all rows", str(col), v.iloc[0], "zero variance")])
    return res
