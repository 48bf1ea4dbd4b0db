"""The long analyses report their progress through an optional ``progress(done, total)``
callback (issue 13): counts only, increasing, ending at the total, and the results are the
same with and without it (the callback never enters a result)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import psychometrics as pm
from psychometrics.efa.retention import dimensionality, parallel_analysis
from psychometrics.invariance import invariance
from psychometrics.reliability import omega

DATA = Path(__file__).parent / "data"
BFI = pd.read_csv(DATA / "bfi.csv").head(400)
HS = pd.read_csv(DATA / "hs1939.csv")
AGREE_CONSC = {f: [f"{c}{i}" for i in range(1, 6)] for f, c in (("agree", "A"), ("consc", "C"))}


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, done, total=None):
        self.calls.append((done, total))


def _check_counts(rec, total=None, start=False):
    """Counts increasing, ending at the total; ``start``: the first call is ``(0, total)``,
    the units' start (the HTMT's draws, after its full-sample estimate)."""
    assert rec.calls, "the callback was never called"
    if start:
        assert rec.calls[0] == (0, total), rec.calls[:2]
        assert all(d != 0 for d, _ in rec.calls[1:])
        rest = Recorder()
        rest.calls = rec.calls[1:]
        rec = rest
    done = [d for d, _ in rec.calls]
    assert all(b > a for a, b in zip(done, done[1:])), done
    assert all(isinstance(d, (int, np.integer)) and d > 0 for d in done)
    last_done, last_total = rec.calls[-1]
    assert last_done == last_total
    if total is not None:
        assert last_total == total


def _same(a, b):
    assert json.dumps(a.to_dict(), sort_keys=True, default=str) == \
        json.dumps(b.to_dict(), sort_keys=True, default=str)


def test_parallel_analysis_reports_random_data_sets():
    x = BFI[[f"A{i}" for i in range(1, 6)] + [f"C{i}" for i in range(1, 6)]]
    rec = Recorder()
    with_cb = parallel_analysis(x, n_iter=600, seed=4, progress=rec)
    _check_counts(rec, 600)
    assert len(rec.calls) > 1            # batches, not one call at the end
    _same(with_cb, parallel_analysis(x, n_iter=600, seed=4))
    rec2 = Recorder()
    _same(dimensionality(x, seed=4, n_iter=50, progress=rec2), dimensionality(x, seed=4, n_iter=50))
    _check_counts(rec2, 50)


def test_omega_bootstrap_reports_draws():
    x = BFI[[f"C{i}" for i in range(1, 6)]]
    rec = Recorder()
    o = omega(x, n_boot=30, seed=2, progress=rec)
    _check_counts(rec, 30)
    _same(o, omega(x, n_boot=30, seed=2))


def test_htmt_bootstrap_reports_draws_listwise_and_fiml():
    for missing in ("listwise", "fiml"):
        rec = Recorder()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = pm.htmt(BFI, AGREE_CONSC, n_boot=20, seed=7, missing=missing, progress=rec)
            h0 = pm.htmt(BFI, AGREE_CONSC, n_boot=20, seed=7, missing=missing)
        _check_counts(rec, 20, start=True)
        _same(h, h0)


def test_validity_passes_progress_to_htmt():
    model = "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"
    fit = pm.cfa(model, BFI, missing="fiml")
    rec = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = pm.validity(fit, data=BFI, n_boot=10, seed=1, progress=rec)
        v0 = pm.validity(fit, data=BFI, n_boot=10, seed=1)
    _check_counts(rec, 10, start=True)
    _same(v, v0)


def test_invariance_reports_fits():
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6"
    rec = Recorder()
    inv = invariance(model, HS, "school", levels=("configural", "metric", "scalar"),
                     progress=rec)
    _check_counts(rec)
    # units: model fits (levels and partial refits) and score-test rounds of the search
    levels_fitted = len([k for k in inv.fits if "(partial)" not in k])
    searched = len({lv for lv in inv.freed["level"]}) if len(inv.freed) else 0
    assert rec.calls[-1][0] >= levels_fitted + 2 * len(inv.freed)
    assert rec.calls[-1][0] <= levels_fitted + 2 * len(inv.freed) + max(searched, 1)
    inv0 = invariance(model, HS, "school", levels=("configural", "metric", "scalar"))
    pd.testing.assert_frame_equal(inv.table, inv0.table)
