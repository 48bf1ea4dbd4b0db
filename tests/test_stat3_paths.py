"""Fast paths of branch ``stat3`` (issue 13) against the paths they replace.

* ``BootstrapResult.to_frame``: the rows' kind/column/estimate read once and the normal
  quantiles of ``norm_inter`` by ``scipy.special.ndtri`` instead of ``stats.norm.ppf`` row by
  row: the same numbers bit for bit as the old loop (kept here).
* The lockstep refits with ``n_jobs > 1``: the calling process refits chunks too
  (``bootstrap._share_chunks``); the draws, their order and the progress calls are the same
  as one process refitting every chunk.
"""
from __future__ import annotations

import itertools
from concurrent.futures import Future

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import psychometrics as pm
from psychometrics.sem import bootstrap as bs

from _robust_cfa import load

HS_MODEL = "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
MEDIATION = HS_MODEL + "\n textual ~ a*visual\n speed ~ b*textual + c*visual\n ab := a*b"
ITEMS = [f"x{i}" for i in range(1, 10)]

pytestmark = pytest.mark.filterwarnings("ignore::psychometrics.errors.PsychometricsWarning")


@pytest.fixture(scope="module")
def hs():
    return load("hs1939.csv")


@pytest.fixture(scope="module")
def hs_missing(hs):
    rng = np.random.default_rng(5)
    out = hs.copy()
    y = out[ITEMS].to_numpy(float).copy()
    y[rng.random(y.shape) < 0.06] = np.nan
    out[ITEMS] = y
    return out


# ------------------------------------------------------------------- to_frame
def _old_norm_inter(t, alpha):
    """``norm_inter`` as it was (``stats.norm.ppf``)."""
    t = np.sort(np.asarray(t, dtype=float)[np.isfinite(t)])
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    R = len(t)
    if R == 0:
        return np.full(alpha.shape, np.nan)
    rk = (R + 1) * alpha
    k = np.trunc(rk).astype(int)
    out = np.empty(alpha.shape)
    for i in range(len(alpha)):
        if k[i] == rk[i] and 1 <= k[i] <= R:
            out[i] = t[k[i] - 1]
        elif k[i] <= 0:
            out[i] = t[0]
        elif k[i] >= R:
            out[i] = t[R - 1]
        else:
            z = stats.norm.ppf(alpha[i])
            z1 = stats.norm.ppf(k[i] / (R + 1))
            z2 = stats.norm.ppf((k[i] + 1) / (R + 1))
            tk, tk1 = t[k[i] - 1], t[k[i]]
            out[i] = tk + (z - z1) / (z2 - z1) * (tk1 - tk)
    return out


def _old_to_frame(res, level=0.95):
    """``BootstrapResult.to_frame(ci_type="perc")`` as it was: row by row through ``iloc``."""
    se, lo, hi = [], [], []
    for i in range(len(res.frame)):
        t, t0 = res._column(i)
        t = t[np.isfinite(t)]
        if len(t) == 0:
            kind = res.frame.iloc[i]["kind"]
            se.append(0.0 if kind == "fixed" else np.nan)
            lo.append(t0 if kind == "fixed" else np.nan)
            hi.append(t0 if kind == "fixed" else np.nan)
            continue
        se.append(bs.boot_se(t))
        a, b = _old_norm_inter(t, (1 + np.array([-level, level])) / 2)
        lo.append(float(a))
        hi.append(float(b))
    out = res.frame[["lhs", "op", "rhs", "group", "label", "est"]].copy()
    out["se"], out["ci_lower"], out["ci_upper"] = se, lo, hi
    return out


@pytest.mark.parametrize("R", [2, 7, 39, 200, 999])
def test_norm_inter_matches_stats_norm_ppf(R):
    rng = np.random.default_rng(R)
    t = rng.standard_normal(R)
    t[rng.random(R) < 0.05] = np.nan
    for level in (0.5, 0.9, 0.95, 0.99):
        a = (1 + np.array([-level, level])) / 2
        np.testing.assert_array_equal(bs.norm_inter(t, a), _old_norm_inter(t, a))
    alphas = np.linspace(0.001, 0.999, 41)
    np.testing.assert_array_equal(bs.norm_inter(t, alphas), _old_norm_inter(t, alphas))


def test_to_frame_matches_the_row_by_row_loop(hs_missing):
    fit = pm.sem(MEDIATION, hs_missing, missing="fiml")
    res = bs.bootstrap(fit, R=60, seed=4)
    res.draws[[3, 17], :] = np.nan               # failed draws: NaN rows are skipped
    res.draws[5, 2] = np.nan
    for level in (0.9, 0.95):
        new, old = res.to_frame(level=level), _old_to_frame(res, level=level)
        pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert (res.to_frame()["se"] > 0).any()
    # a column with no finite draw: free rows NaN, fixed rows (est, est) and se 0
    res.draws[:, 0] = np.nan
    pd.testing.assert_frame_equal(res.to_frame(), _old_to_frame(res), check_exact=True)


# ------------------------------------------------------------------- chunks shared with the pool
class _FakePool:
    """Futures finished on demand: ``submit`` records the chunk; a future is done once
    ``finish_after`` more ``done()`` polls have been made (so the parent sees busy workers)."""

    def __init__(self, fn, finish_after):
        self.fn, self.finish_after, self.submitted = fn, finish_after, []

    def submit(self, draws):
        fu = Future()
        self.submitted.append(draws)
        polls = itertools.count()
        real_done, pool = fu.done, self

        def done():
            if not real_done() and next(polls) >= pool.finish_after:
                fu.set_result(pool.fn(draws))
            return real_done()

        def result(timeout=None):
            if not real_done():
                fu.set_result(pool.fn(draws))
            return Future.result(fu, timeout)
        fu.done, fu.result = done, result
        return fu


@pytest.mark.parametrize("pool_workers,finish_after", [(1, 0), (1, 3), (2, 1), (3, 0), (1, 99)])
def test_share_chunks_keeps_chunk_order_and_draws(pool_workers, finish_after):
    sizes = [4, 4, 4, 4, 4, 3]
    chunks, a = [], 0
    for n in sizes:
        chunks.append(np.arange(a, a + n))
        a += n
    stream = iter([[np.array([i])] for i in range(sum(sizes))])   # draw i = [array([i])]

    def refit(draws):
        return [int(d[0][0]) for d in draws]
    pool = _FakePool(refit, finish_after)
    local_calls = []

    def local(draws):
        local_calls.append(draws)
        return refit(draws)
    parts, ticks = [], []
    bs._share_chunks(pool_workers, chunks, stream, parts, ticks.append, pool.submit, local)
    assert parts == [list(c) for c in chunks]                # chunk order, each chunk's draws
    assert ticks == sizes                                    # progress in chunk order
    assert len(pool.submitted) + len(local_calls) == len(chunks)
    assert pool.submitted                                    # the pool got work
    if finish_after >= 3:
        assert local_calls                                   # busy workers: the parent refits


def test_lockstep_draws_same_with_the_parent_refitting(hs_missing, monkeypatch):
    fit = pm.sem(MEDIATION, hs_missing, missing="fiml")
    monkeypatch.setattr(bs, "CHUNK", 3)
    ref = bs.bootstrap(fit, R=25, seed=8)                    # one process, 9 chunks
    local = []
    real = bs._refit_chunk

    def spy(args):
        local.append(len(args[2]))
        return real(args)
    monkeypatch.setattr(bs, "_refit_chunk", spy)
    for jobs in (2, 3):
        local.clear()
        seen = []
        two = bs.bootstrap(fit, R=25, seed=8, n_jobs=jobs, progress=lambda d, t: seen.append(d))
        np.testing.assert_array_equal(two.draws, ref.draws)
        np.testing.assert_array_equal(two.defined, ref.defined)
        assert two.failed == ref.failed and two.nonadmissible == ref.nonadmissible
        assert two.n_workers == jobs
        assert seen == [3 * k for k in range(1, 9)] + [25]
        assert sum(local) < 25          # the forked workers refitted some chunks
