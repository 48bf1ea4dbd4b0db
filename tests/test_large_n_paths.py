"""Fast paths for large studies (issue 13) give the numbers of the general paths."""
import importlib

import numpy as np
import pandas as pd

from psychometrics._validate import numeric_items
from psychometrics.screening import _as_frame

corr = importlib.import_module("psychometrics.efa.correlation")


def _frame(n=500, p=6, seed=0):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(3, 1, (n, p)))
    x[rng.random(x.shape) < 0.05] = np.nan
    return pd.DataFrame(x, columns=[f"i{j}" for j in range(p)])


def test_numeric_items_float_frame_as_general_path():
    df = _frame()
    fast = numeric_items(df, "x")
    slow = numeric_items(df.astype(object), "x")       # cell conversion path
    pd.testing.assert_frame_equal(fast, slow)
    fast.iloc[0, 0] = 99.0                              # the caller's frame is not written
    assert df.iloc[0, 0] != 99.0


def test_screening_frame_is_not_an_alias():
    df = _frame()
    out = _as_frame(df, "x")
    pd.testing.assert_frame_equal(out, df)
    out.iloc[0, 0] = 99.0
    assert df.iloc[0, 0] != 99.0


def test_pairwise_correlation_in_blocks(monkeypatch):
    x = _frame(n=1000).to_numpy()
    r0, n0 = corr._pairwise_cor(x)
    monkeypatch.setattr(corr, "PAIRWISE_BLOCK_ROWS", 97)
    r1, n1 = corr._pairwise_cor(x)
    assert np.array_equal(n0, n1)
    assert np.abs(r1 - r0).max() < 1e-12
