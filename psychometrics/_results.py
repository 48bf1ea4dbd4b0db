"""Small shared helpers for result objects.

Every analysis returns a result object (a dataclass) that offers
``to_dict()`` -- plain JSON-serialisable data for results.json -- and, where
the result is tabular, ``to_frame()`` -- a pandas DataFrame.  ``jsonable``
turns numpy / pandas values into plain Python (NaN and inf become None).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd


def jsonable(obj: Any) -> Any:
    """Return ``obj`` as plain JSON-serialisable Python data."""
    t = type(obj)       # the plain types first (most values of a result), same outputs
    if t is float:
        return obj if math.isfinite(obj) else None
    if t is str or t is int or t is bool or obj is None:
        return obj
    if t is dict:
        return {str(k): jsonable(v) for k, v in obj.items()}
    if t is list:
        return [jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, pd.DataFrame):
        return {"columns": [str(c) for c in obj.columns],
                "index": [jsonable(i) for i in obj.index],
                # the rows' values as itertuples gives them (each column iterated once)
                "data": [[jsonable(v) for v in row]
                         for row in zip(*(list(col) for _, col in obj.items()))]
                if obj.shape[1] else [[] for _ in range(len(obj))]}
    if isinstance(obj, pd.Series):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "to_dict") and not isinstance(obj, type):
        return jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, float) or obj != obj:  # pragma: no cover
        return None
    return str(obj)
