"""The first step of a kind gets an estimate of the time left (issue 13): the reference run's
seconds for its kind and cost (``Progress.calibrate``), scaled by this run's speed measured
on the steps done (loading, screening, ...).  A fake clock: no test depends on the machine."""
from __future__ import annotations

import io

import pytest

from _progress_helpers import Clock as _Clock, Terminal as _Terminal, make_progress as _progress

#: a made-up reference run: loading 2 s + 1 s per unit; screening 0 + 2 s per unit; CFA
#: 1 s + 0.5 s per unit
REF = {"load": (2.0, 1.0), "screening": (0.0, 2.0), "CFA": (1.0, 0.5)}


def test_no_reference_no_estimate_for_the_first_step():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=2)
    with pr.step("load"):
        with pr.measure("load", 4.0):
            clock.t += 12.0
    with pr.group("CFA", 1, costs=[10.0], kind="CFA"):
        with pr.step("CFA: a"):
            assert "left" not in pr._status(clock())
            assert pr.expected("CFA", 10.0) is None


def test_first_step_of_a_kind_timed_by_the_reference_at_this_runs_speed():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=4)
    pr.calibrate(REF)
    assert pr.expected("CFA", 10.0) is None          # no speed measured yet
    with pr.step("load"):
        with pr.measure("load", 4.0):                # reference 2 + 4 = 6 s; took 12 s
            clock.t += 12.0
    # this run is twice as slow as the reference: CFA of cost 10 = 2 x (1 + 5) = 12 s
    assert pr.expected("CFA", 10.0) == pytest.approx(12.0)
    with pr.group("screening", 2, costs=[1.0, 2.0], kind="screening"):
        with pr.step("screening: a"):
            # 2 x 2 x 1 = 4 s for this one, 2 x 2 x 3 = 12 s for the run
            line = pr._status(clock())
            assert "screening: a ... 0 s, about 4 s left" in line
            assert "(screening 1/2, about 12 s left)" in line
            clock.t += 3.0
            assert "(screening 1/2, about 9 s left)" in pr._status(clock())
            clock.t += 3.0           # over its 4 s: what the step after it needs, at least
            assert "(screening 1/2, more than 8 s left)" in pr._status(clock())
        with pr.step("screening: b"):
            # its own kind has run now: 6 s per unit of cost (the first step's rate)
            assert "about 12 s left" in pr._status(clock())
            clock.t += 6.0
    # speed now (12 + 6 + 6) s taken / (6 + 2 + 4) s of the reference = 2: unchanged
    assert pr.expected("CFA", 10.0) == pytest.approx(24.0 / 12.0 * 6.0)
    with pr.group("CFA", 2, costs=[10.0, 2.0], kind="CFA"):
        with pr.step("CFA: a"):
            assert "CFA: a ... 0 s, about 12 s left  (CFA 1/2, about 16 s left)" in pr._status(clock())
            clock.t += 20.0
        with pr.step("CFA: b"):
            # the kind's own speed replaces the run's: its first step took 20 s for the
            # reference's 6 s, so 20 / 6 x (1 + 0.5 x 2) = 6.7 s -- not the rate per unit of
            # cost (2 s per unit: 4 s), which would scale the fixed second with the cost
            assert "CFA: b ... 0 s, about 7 s left" in pr._status(clock())
            # and the run's time left says the same (not 2 s per unit x 2 = 4 s)
            assert "(CFA 2/2, about 7 s left)" in pr._status(clock())
            assert pr.expected("CFA", 2.0) == pytest.approx(20.0 / 6.0 * 2.0)


def test_a_faster_run_scales_the_reference_down_and_kinds_without_one_stay_silent():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=2)
    pr.calibrate(REF)
    with pr.step("load"):
        with pr.measure("load", 4.0):
            clock.t += 3.0                           # half the reference's 6 s
    assert pr.expected("screening", 5.0) == pytest.approx(5.0)
    assert pr.expected("EFA", 5.0) is None           # no reference for EFA
    with pr.group("EFA", 2, costs=[1.0, 1.0], kind="EFA"):
        with pr.step("EFA: a"):
            assert "left" not in pr._status(clock())


def test_records_and_silence_off_a_terminal():
    for stream, enabled in ((io.StringIO(), True), (_Terminal(), False)):
        clock = _Clock()
        pr = _progress(stream, clock, total_steps=2, enabled=enabled)
        pr.calibrate(REF)
        with pr.step("load"):
            with pr.measure("load", 4.0):
                clock.t += 12.0
        with pr.group("CFA", 1, costs=[10.0], kind="CFA"):
            with pr.step("CFA: a"):
                clock.t += 5.0
        text = stream.getvalue()
        assert "left" not in text and "\r" not in text
        assert text == ("[1/2] load ...\n    done in 12.0 s\n[2/2] CFA: a ...\n"
                        "    done in 5.0 s\n" if enabled else "")
        # what the calibration of a reference run reads (benchmarks/bench_progress.py)
        assert pr.records == [("load", "load", 4.0, 12.0), ("CFA: a", "CFA", 10.0, 5.0)]


def test_parts_of_a_step_show_their_estimate_and_are_timed(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    clock = _Clock()
    out = _Terminal()
    pr = _progress(out, clock, total_steps=2)
    pr.calibrate({"model fit": (0.0, 1.0), "setup": (1.0, 0.5)})
    with pr.step("measurement"):
        with pr.measure("model fit", 4.0):          # reference 4 s, took 12 s: 3 x slower
            clock.t += 12.0
    with pr.step("structural model"):
        with pr.step("bootstrap"):
            pr.phase("set-up: plan", kind="setup", cost=2.0, like="model fit")
            clock.t += 1.0
            # reference 1 + 1 = 2 s at 3 x: 6 s, 5 s left
            assert pr._status(clock()).endswith("| set-up: plan, about 5 s left")
            pr.phase("set-up: draws")                # no kind: no estimate
            line = pr._status(clock())
            assert line.endswith("| set-up: draws") and "plan" not in line
            clock.t += 2.0
        # the part left running ended with its step; no part label any more
        assert "set-up" not in pr._status(clock())
    assert ("set-up: plan", "setup", 2.0, 1.0) in pr.records
    # the part's own kind has a speed now (1 s taken for the reference's 2 s): 0.5 x (1 + 2)
    assert pr.expected("setup", 4.0) == pytest.approx(1.5)
    # off a terminal: parts write nothing, and are timed all the same
    off = io.StringIO()
    pr = _progress(off, clock, total_steps=1)
    with pr.step("bootstrap"):
        pr.phase("set-up: plan", kind="setup", cost=2.0)
        clock.t += 3.0
        pr.phase(None)
    assert off.getvalue() == "[1/1] bootstrap ...\n    done in 3.0 s\n"
    assert pr.records == [("set-up: plan", "setup", 2.0, 3.0)]


def test_bar_started_after_a_set_up_estimates_from_its_first_update(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=1)
    with pr.step("structural model"):
        update = pr.bar("bootstrap draws", 100, min_seconds=0.0, interval=0.0, setup=True)
        clock.t += 30.0                  # the set-up
        update.start()
        clock.t += 5.0
        update(10)                       # 10 draws in 5 s since the start: 45 s left
        assert "10/100, about 45 s left" in pr._status(clock())
        clock.t += 2.0
        update(20)                       # then the rate after the first update: 10 in 2 s
        assert "20/100, about 16 s left" in pr._status(clock())
        # two processes: at the first update as many draws again are under way
        update = pr.bar("draws", 100, min_seconds=0.0, interval=0.0, setup=True, parallel=2)
        update.start()
        clock.t += 5.0
        update(10)                       # 20 draws' worth in 5 s: 80 left, about 20 s
        assert "10/100, about 20 s left" in pr._status(clock())


def test_structural_bootstrap_set_up_parts_on_the_live_line(monkeypatch):
    from psychometrics.report import steps

    import os

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)      # two worker processes
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=1)
    pr.calibrate({"measurement fit": (0.0, 1.0), "bootstrap inverse Hessian": (0.0, 0.5),
                  "bootstrap lockstep plan": (0.0, 0.25), "bootstrap first draws": (0.0, 1.0)})

    class R:
        progress = pr

    def fake_bootstrap(fit, R=0, seed=None, n_jobs=1, progress=None, setup=None):
        seen = []
        for part, seconds in (("inverse Hessian", 2.0), ("lockstep plan", 1.0),
                              ("first draws", 4.0)):
            setup(part)
            seen.append(pr._status(clock()))
            clock.t += seconds
        progress(4, 20)
        seen.append(pr._status(clock()))
        clock.t += 2.0
        progress(8, 20)
        seen.append(pr._status(clock()))
        progress(20, 20)
        return seen

    with pr.step("measurement model"):
        with pr.measure("measurement fit", 4.0):       # reference 4 s, took 8 s: 2 x slower
            clock.t += 8.0
    with pr.step("structural model"):
        with pr.step("bootstrap"):
            seen = fake_bootstrap(None, R=20, **steps._bootstrap_progress(
                R, fake_bootstrap, 20, 4.0))
    assert seen[0].endswith("| bootstrap set-up: inverse Hessian, about 4 s left")
    assert seen[1].endswith("| bootstrap set-up: lockstep plan, about 2 s left")
    assert seen[2].endswith("| bootstrap set-up: first draws, about 8 s left")
    # the first update ends the set-up; its estimate from the draws since they began, the
    # other worker's as many under way: 8 of 20 in 4 s
    assert "set-up" not in seen[3] and "4/20, about 6 s left" in seen[3]
    assert "8/20, about 6 s left" in seen[4]
    kinds = [k for _, k, _, _ in pr.records]
    assert kinds == ["measurement fit", "bootstrap inverse Hessian", "bootstrap lockstep plan",
                     "bootstrap first draws"]


def test_bootstrap_set_up_callback_changes_no_draw(monkeypatch):
    import warnings

    import numpy as np

    import psychometrics as pm
    from psychometrics.sem import bootstrap as bs
    from _robust_cfa import load

    hs = load("hs1939.csv")
    rng = np.random.default_rng(13)
    items = [f"x{i}" for i in range(1, 10)]
    y = hs[items].to_numpy(float).copy()
    y[rng.random(y.shape) < 0.06] = np.nan
    hs[items] = y
    model = ("visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9\n"
             " textual ~ visual\n speed ~ textual + visual")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pm.sem(model, hs, missing="fiml")
        parts, ticks = [], []
        a = bs.bootstrap(fit, R=12, seed=5, setup=parts.append,
                         progress=lambda d, t: ticks.append(d))
        b = bs.bootstrap(fit, R=12, seed=5)
    assert parts == ["inverse Hessian", "lockstep plan", "first draws"]
    assert ticks and ticks[-1] == 12
    np.testing.assert_array_equal(a.draws, b.draws)
    assert a.failed == b.failed
    # without a lockstep plan the draws are refitted one by one: the part says so
    monkeypatch.setattr(bs, "BATCHED", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = []
        c = bs.bootstrap(fit, R=4, seed=5, setup=parts.append)
        d = bs.bootstrap(fit, R=4, seed=5)
    assert parts == ["inverse Hessian", "lockstep plan", "first draws, one by one"]
    np.testing.assert_array_equal(c.draws, d.draws)


def test_step_estimate_and_a_part_estimate_share_the_line(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=3)
    with pr.step("figures"):
        for _ in range(2):
            pr.phase("figure a", kind="figure", cost=1.0)
            clock.t += 2.0
            pr.phase(None)
    pr._rates["EFA"] = [10.0, 1.0]
    with pr.step("EFA: b", kind="EFA", cost=1.0):
        clock.t += 3.0
        pr.phase("figure scree_b", kind="figure", cost=1.0)
        clock.t += 0.4
        line = pr._status(clock())
        # the step's own estimate after its time, the figure's after its label
        assert line == "[2/3] EFA: b ... 3 s, about 7 s left | figure scree_b, about 2 s left"
        pr.phase(None)
        assert pr._status(clock()) == "[2/3] EFA: b ... 3 s, about 7 s left"


def test_a_kinds_fixed_part_is_not_scaled_by_the_cost():
    """A small first step and a large second one: the second is timed by the reference's
    a + b x cost at the kind's measured speed, not by the first step's seconds per unit of
    cost (which carries its fixed part over to the large cost)."""
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=3)
    pr.calibrate({"load": (0.0, 1.0), "CFA": (2.0, 0.01)})
    with pr.step("load"):
        with pr.measure("load", 1.0):
            clock.t += 1.0
    with pr.step("CFA: small", kind="CFA", cost=100.0):     # reference 3 s; took 6 s
        clock.t += 6.0
    # speed 2: 2 x (2 + 0.01 x 10,000) = 204 s; the rate per unit would say 600 s
    assert pr.expected("CFA", 10_000.0) == pytest.approx(204.0)
    # a kind without a reference keeps the rate per unit of cost
    with pr.step("figure", kind="figure", cost=1.0):
        clock.t += 3.0
    assert pr.expected("figure", 2.0) == pytest.approx(6.0)
