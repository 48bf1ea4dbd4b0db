"""Progress callbacks of the EFA analyses (issue 13): MAP and the split-half validation report
``progress(done, total)`` counts, increasing and ending at the total, and the results are the
same with and without a callback."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import psychometrics as pm

DATA = Path(__file__).parent / "data"
BFI = pd.read_csv(DATA / "bfi.csv").head(500)
ITEMS = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, done, total=None):
        self.calls.append((done, total))


def _check(rec, total):
    done = [d for d, _ in rec.calls]
    assert done and all(b > a for a, b in zip(done, done[1:])), done
    assert all(isinstance(d, (int, np.integer)) and d > 0 for d in done)
    assert all(t == total for _, t in rec.calls)
    assert rec.calls[-1] == (total, total)


def _same(a, b):
    assert json.dumps(a.to_dict(), sort_keys=True, default=str) == \
        json.dumps(b.to_dict(), sort_keys=True, default=str)


def test_map_reports_components_partialled():
    rec = Recorder()
    m = pm.map_test(BFI[ITEMS], progress=rec)
    _check(rec, len(ITEMS) - 1)
    assert len(rec.calls) >= 3                          # along the way, not only at the end
    _same(m, pm.map_test(BFI[ITEMS]))


def test_split_half_reports_its_stages():
    x = BFI[ITEMS[:10]].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = Recorder()
        a = pm.split_half_validation(x, n_factors=2, seed=3, progress=rec)
        _check(rec, 2)                                  # the EFA, the CFA
        _same(a, pm.split_half_validation(x, n_factors=2, seed=3))
        rec = Recorder()
        b = pm.split_half_validation(x, seed=3, n_iter=30, progress=rec)
        _check(rec, 32)                                 # 30 random data sets, the EFA, the CFA
        assert len(rec.calls) >= 3
        _same(b, pm.split_half_validation(x, seed=3, n_iter=30))
