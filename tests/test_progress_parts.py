"""Time left for steps that are one call of an analysis (issue 13): screening reports its
parts (the MCD's last stage candidate by candidate), scale descriptives their scales, the
structural step's fit measures are timed by the measurement model's, and the structural
bootstrap's bar measures its rate after the workers' set-up.  A fake clock moved by the
callbacks themselves: no test depends on the machine's speed.  The callbacks change no
number, and off a terminal nothing of them is written."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from psychometrics import screening
from psychometrics.scoring import scale_descriptives

from _progress_helpers import Clock as _Clock, Terminal as _Terminal, make_progress as _progress


def _items(n=3000, p=6, seed=3, missing=0.05):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.clip(np.rint(3 + f @ np.full((1, p), 0.8) + rng.normal(size=(n, p))), 1, 5)
    x[rng.random(x.shape) < missing] = np.nan
    return pd.DataFrame(x, columns=[f"i{k}" for k in range(p)],
                        index=pd.Index([f"c{k}" for k in range(n)], name="id"))


def _recorder(clock, pr=None, seconds=1.0):
    """A progress callback that moves the fake clock by ``seconds`` per call (the work done
    since the last call) and passes the call to ``pr.part``; returns (callback, calls)."""
    calls = []

    def cb(done, total):
        clock.t += seconds
        calls.append((done, total))
        if pr is not None:
            calls[-1] += (pr._status(clock()) if pr.part(done, total) is None else None,)

    return cb, calls


def test_screen_reports_its_parts_and_the_same_result():
    x = _items()          # above 1,800 complete cases: the capped FAST-MCD with ten finalists
    clock = _Clock()
    cb, calls = _recorder(clock)
    with_cb = screening.screen(x, min=1, max=5, seed=2, progress=cb)
    without = screening.screen(x, min=1, max=5, seed=2)
    assert with_cb.to_dict() == without.to_dict()
    done = [c[0] for c in calls]
    total = sum(screening.SCREEN_PART_COSTS.values())
    assert all(c[1] == total for c in calls)
    assert done == sorted(done) and done[-1] == pytest.approx(total)
    # five parts before the MCD, the MCD's first stages, its ten finalists, the MCD done
    assert len(calls) == 5 + 1 + 10 + 1
    assert done[4] == pytest.approx(total - screening.SCREEN_PART_COSTS["mcd"])
    cb, calls = _recorder(clock)
    screening.screen(x, min=1, max=5, robust=False, progress=cb)
    assert len(calls) == 5 and calls[-1][0] == calls[-1][1] == total \
        - screening.SCREEN_PART_COSTS["mcd"]


def test_mcd_finalists_one_by_one_are_the_one_call_result(monkeypatch):
    import sklearn.covariance._robust_covariance as rc
    x = _items(n=3000, p=5, seed=7, missing=0.0).to_numpy()
    seen = []
    real = rc.select_candidates

    def spy(*a, **k):
        out = real(*a, **k)
        seen.append((a, k, out))
        return out

    monkeypatch.setattr(rc, "select_candidates", spy)
    mcd = screening._min_cov_det(x, 11)
    monkeypatch.setattr(rc, "select_candidates", real)
    merged = seen[screening.MCD_MAX_SUBSETS]     # the ten best on the merged 1,500 cases
    loc_m, cov_m = merged[2][0], merged[2][1]
    assert loc_m.shape[0] == 10
    n_support = seen[-1][0][1]
    # the last stage as it was: one call for the ten (no random draws from initial estimates)
    loc, cov, supp, _ = real(x, n_support, n_trials=(loc_m, cov_m), select=1,
                             cov_computation_method=merged[1]["cov_computation_method"],
                             random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(mcd.raw_location_, loc[0])
    np.testing.assert_array_equal(mcd.raw_covariance_, cov[0])
    np.testing.assert_array_equal(mcd.raw_support_, supp[0])


def test_first_screening_step_shows_a_time_left_from_its_parts(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=2)
    with pr.group("screening", 2, costs=[1.0, 1.0], kind="screening"):
        with pr.step("screening: a"):
            assert "left" not in pr._status(clock())      # nothing done yet, no rate
            cb, calls = _recorder(clock, pr, seconds=2.0)
            screening.screen(_items(), min=1, max=5, progress=cb)
    lines = [c[2] for c in calls]
    # the first part (descriptives, 5 of 100) took 2 s: about 38 s left
    assert lines[0].startswith("[1/2] screening: a ... 2 s, about 38 s left")
    assert all("about" in s and " s left" in s for s in lines[:-1])
    # the last MCD finalist done: the estimate has come down to the time still to run
    lefts = [int(s.split("about ")[1].split(" s left")[0]) for s in lines[:-1]]
    assert lefts[-1] < lefts[0]


def test_scale_descriptives_reports_scales_and_the_same_result(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    x, y = _items(n=400, p=4, seed=1), _items(n=400, p=6, seed=2)
    y.index = x.index
    scores = pd.DataFrame({"a": x.mean(axis=1), "b": y.mean(axis=1), "c": y.sum(axis=1)})
    items = {"a": x, "b": y}
    group = pd.Series(np.where(np.arange(400) % 3, "f", "m"), index=x.index)
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=1)
    with pr.step("scale descriptives"):
        cb, calls = _recorder(clock, pr, seconds=1.0)
        res = scale_descriptives(scores, items, group, progress=cb)
    ref = scale_descriptives(scores, items, group)
    pd.testing.assert_frame_equal(res.descriptives, ref.descriptives)
    for g in ref.by_group:
        pd.testing.assert_frame_equal(res.by_group[g].descriptives, ref.by_group[g].descriptives)
    assert len(calls) == 3 * 3        # three scales, all cases and two groups
    # units: cases x (items + 1), all cases and then each group (800 rows in all)
    assert calls[-1][0] == calls[-1][1] == 800 * (5 + 7 + 1)
    assert calls[0][0] == 400 * 5
    # the first scale: 2,000 of 10,400 units in 1 s -> 5.2 s in all, about 4 s left
    assert calls[0][2].startswith("[1/1] scale descriptives ... 1 s, about 4 s left")
    assert all("left" in c[2] for c in calls[:-1])


def test_structural_fit_measures_timed_by_the_measurement_models():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=2)
    with pr.step("full measurement model"):
        with pr.measure("fit measures", 10.0):
            clock.t += 4.0
    with pr.step("structural model"):
        clock.t += 2.0
        with pr.step("fit measures of the structural model", kind="fit measures", cost=10.0):
            clock.t += 1.0
            assert pr._status(clock()).endswith(
                "| fit measures of the structural model, about 3 s left")


def test_bootstrap_bar_rate_excludes_the_set_up(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=1)
    with pr.step("structural model"):
        update = pr.bar("bootstrap draws", 1000, min_seconds=0.0, interval=0.0, setup=True)
        clock.t += 30.0           # workers started, the first chunk done
        update(128)
        assert "left" not in pr._status(clock())      # one update: no rate yet
        clock.t += 4.0
        update(256)               # 128 draws in 4 s: 744 left, about 23 s
        assert "256/1000, about 23 s left" in pr._status(clock())
        update(1000)
    # without the set-up's exclusion the same calls say about 99 s
    pr = _progress(_Terminal(), clock, total_steps=1)
    with pr.step("structural model"):
        update = pr.bar("bootstrap draws", 1000, min_seconds=0.0, interval=0.0)
        clock.t += 30.0
        update(128)
        clock.t += 4.0
        update(256)
        assert "256/1000, about 99 s left" in pr._status(clock())


def test_off_a_terminal_nothing_of_the_parts_is_written():
    for stream, enabled in ((io.StringIO(), True), (_Terminal(), False)):
        clock = _Clock()
        pr = _progress(stream, clock, total_steps=2, enabled=enabled)
        with pr.step("screening: a"):
            screening.screen(_items(), min=1, max=5,
                             progress=_recorder(clock, pr)[0])
        with pr.step("structural model"):
            with pr.step("fit measures", kind="fit measures", cost=1.0):
                pass
            update = pr.bar("bootstrap draws", 10, min_seconds=0.0, interval=0.0, setup=True)
            for k in range(1, 11):
                clock.t += 1.0
                update(k)
        text = stream.getvalue()
        assert "left" not in text and "\r" not in text and "#" not in text
        if enabled:
            assert text.splitlines() == ["[1/2] screening: a ...", f"    done in {17.0:.1f} s",
                                         "[2/2] structural model ...",
                                         "    fit measures ...", "        done in 0.0 s",
                                         "    done in 10.0 s"]
        else:
            assert text == ""
