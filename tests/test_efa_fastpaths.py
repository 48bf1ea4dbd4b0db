"""Fast paths of the EFA retention criteria (issue 13) against the plain computations they
replace: the same numbers (to 1e-12 or exactly), never timed here (benchmarks/bench_efa.py)."""
from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

R = importlib.import_module("psychometrics.efa.retention")
DATA = Path(__file__).parent / "data"
BFI = pd.read_csv(DATA / "bfi.csv")
ITEMS = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]


def _halve_one_at_a_time(fval, la, step, fa_, active, new, fn, calls):
    """The step halving as first written: one halving (and one call of fval) at a time."""
    t = np.ones(len(active))
    for _h in range(40):
        worse = ~(fn <= fa_)
        if not worse.any():
            break
        calls.append(int(worse.sum()))
        t[worse] /= 2
        new[worse] = la[worse] - t[worse, None] * step[worse]
        fn[worse] = fval(new[worse], active[worse])


def test_chunked_step_halving_equals_one_at_a_time(monkeypatch):
    rng = np.random.default_rng(11)
    stacks = [R._wishart_cor(rng, 120, n, p) for p, n in ((6, 60), (8, 324), (12, 324), (20, 100))]
    fast = [R._batched_one_factor_values(rs) for rs in stacks]
    calls: list = []
    monkeypatch.setattr(R, "_halve_steps", lambda *a: _halve_one_at_a_time(*a, calls))
    slow = [R._batched_one_factor_values(rs) for rs in stacks]
    assert len(calls) > 20            # the halving was exercised, many rows many times
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def _same(a, b):
    assert json.dumps(a.to_dict(), sort_keys=True, default=str) == \
        json.dumps(b.to_dict(), sort_keys=True, default=str)


def test_dimensionality_equals_each_criterion_on_its_own():
    """dimensionality() validates the items and computes their correlations once; each part
    equals the public function run on its own (warnings included)."""
    x = BFI[ITEMS[:8]].head(200).copy()
    x["A1_again"] = x["A1"]            # singular: smoothed, with its warning in every part
    for data, missing in (("normal", "pairwise"), ("resample", "pairwise"), ("normal", "listwise")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = R.dimensionality(x, seed=5, n_iter=40, data=data, missing=missing)
            _same(d.kmo, R.kmo(x, missing=missing))
            _same(d.bartlett, R.bartlett(x, missing=missing))
            _same(d.parallel, R.parallel_analysis(x, n_iter=40, seed=5, data=data, missing=missing))
            m = R.map_test(x, missing=missing)
        pd.testing.assert_frame_equal(d.map.table, m.table)
        assert any("smoothed" in w for w in d.kmo.warnings)
        assert any("smoothed" in w for w in d.parallel.warnings)


def _rmsea_interval_via_ncx2(chisq, dof, n, alpha=0.1):
    """The RMSEA interval as first written: brentq on scipy.stats.ncx2.cdf."""
    import math

    from scipy import optimize, stats

    tail, hi = alpha / 2, max(n, chisq) + 2 * n

    def root(target):
        return optimize.brentq(lambda x: stats.ncx2.cdf(chisq, dof, x) - target if x > 0
                               else stats.chi2.cdf(chisq, dof) - target, 0.0, hi)
    upper = math.sqrt(root(tail) / (n - 1) / dof) if stats.chi2.cdf(chisq, dof) > tail else 0.0
    lower = math.sqrt(root(1 - tail) / (n - 1) / dof) if stats.chi2.cdf(chisq, dof) > 1 - tail \
        else 0.0
    return lower, upper


def test_rmsea_interval_equals_the_distribution_functions_root():
    """The RMSEA interval's noncentrality roots use scipy.special.chndtr, the function
    stats.ncx2.cdf evaluates: the same interval as through stats.ncx2."""
    import psychometrics as pm

    n_checked = 0
    for cols, k, n in ((ITEMS, 5, 400), (ITEMS[:10], 2, 400), (ITEMS[:6], 1, 150),
                       (ITEMS[:12], 3, 2000)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = pm.efa(BFI[cols].head(n), k).fit
        lower, upper = _rmsea_interval_via_ncx2(fit["chisq"], fit["dof"], fit["n_obs"])
        for got, want in ((fit["rmsea_lower"], lower), (fit["rmsea_upper"], upper)):
            if got is not None:
                assert abs(got - want) <= 1e-12
                n_checked += want > 0
    assert n_checked >= 4
