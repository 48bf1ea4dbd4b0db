"""Estimates of the time left for steps made of one long computation (psychometrics.report.
progress): runs of steps weighted by their expected cost, steps of a kind timed by the
seconds per unit of cost of the earlier ones, a measured share of a step (bytes of the data
file read).  A fake clock, fake units: no test depends on the machine's speed."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from psychometrics.report.progress import Progress

from _progress_helpers import Clock as _Clock, Terminal as _Terminal, make_progress as _progress


def test_weighted_run_of_steps_estimates_from_the_cost_done():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=3)
    with pr.group("CFA", 3, costs=[1.0, 3.0, 2.0]):
        with pr.step("CFA: a"):
            # nothing measured yet: no estimate for the run
            assert "left" not in pr._status(clock())
            clock.t += 2.0                  # 2 s for a cost of 1
        with pr.step("CFA: b"):
            clock.t += 1.0
            # 3 + 2 units left at 2 s a unit, less the 1 s the running step has had
            assert "(CFA 2/3, about 9 s left)" in pr._status(clock())
            clock.t += 20.0
            # the running step is over its share: at least what the steps after it need
            assert "(CFA 2/3, more than 4 s left)" in pr._status(clock())
        with pr.step("CFA: c"):
            # rate now (2 + 21) s / 4 units; 2 units left
            assert "(CFA 3/3, about 12 s left)" in pr._status(clock())
            clock.t += 30.0
            # the last step over its share: no estimate rather than a stuck "0 s left"
            assert pr._status(clock()).endswith("  (CFA 3/3)")


def test_unweighted_run_uses_the_mean_time_of_the_steps_done():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=2)
    with pr.group("EFA", 2):
        with pr.step("EFA: a"):
            clock.t += 4.0
        with pr.step("EFA: b"):
            clock.t += 1.0
            assert "(EFA 2/2, about 3 s left)" in pr._status(clock())


def test_a_step_of_a_known_kind_is_timed_by_the_earlier_ones():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=3)
    assert pr.expected("fit", 10.0) is None          # nothing of the kind has run
    with pr.group("CFA", 2, costs=[10.0, 30.0], kind="fit"):
        with pr.step("CFA: a"):
            assert "left" not in pr._status(clock())
            clock.t += 5.0                           # 0.5 s per unit of cost
        with pr.step("CFA: b"):
            # its own estimate (30 units = 15 s) right from the start
            line = pr._status(clock())
            assert "CFA: b ... 0 s, about 15 s left" in line
            clock.t += 15.0
    assert pr.expected("fit", 40.0) == pytest.approx(20.0)   # (5 + 15) s / 40 units x 40
    with pr.step("full measurement model", kind="fit", cost=40.0):
        clock.t += 5.0
        assert "full measurement model ... 5 s, about 15 s left" in pr._status(clock())
        clock.t += 25.0
        # over the estimate: said so, never a negative or stuck "0 s left"
        line = pr._status(clock())
        assert "longer than the 20 s expected" in line and "0 s left" not in line
    assert pr.expected("fit", 10.0) == pytest.approx((20.0 + 30.0) / 80.0 * 10.0)


def test_a_nested_step_of_a_known_kind_shows_its_estimate_after_its_label():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=1)
    pr._rates["fit"] = [10.0, 10.0]                  # 1 s a unit measured earlier
    with pr.step("structural model"):
        clock.t += 2.0
        with pr.step("fit of the structural model", kind="fit", cost=8.0):
            clock.t += 3.0
            line = pr._status(clock())
            assert line.startswith("[1/1] structural model ... 5 s | ")
            assert line.endswith("fit of the structural model, about 5 s left")
        assert "left" not in pr._status(clock())     # after the fit: no estimate


def test_share_of_a_step_from_bytes_read():
    clock = _Clock()
    out = _Terminal()
    pr = _progress(out, clock, total_steps=1)
    with pr.step("load study and data"):
        part = pr.share("data.csv", 0.5, min_seconds=0.0, interval=0.0)
        clock.t += 3.0
        part(250, 1000)     # a quarter of the file in 3 s: the read about 12 s, the step
        line = out.getvalue().split("\r")[-1]     # (the read is half of it) about 24 s
        assert "data.csv [" in line and "about 21 s left" in line
        part(1000, 1000)          # the file read: the rest at the rate the read ran
        line = out.getvalue().split("\r")[-1]
        assert "left" in line and "1000/1000" not in line   # no counts of a weight
        clock.t += 1.0
        pr._draw()
    assert out.getvalue().endswith("\n") and "data.csv" not in out.getvalue().split("\r")[-1]


def test_off_a_terminal_nothing_of_the_estimates_is_written():
    for stream, enabled in ((io.StringIO(), True), (_Terminal(), False)):
        clock = _Clock()
        pr = _progress(stream, clock, total_steps=3, enabled=enabled)
        with pr.group("CFA", 2, costs=[1.0, 2.0], kind="fit"):
            for name in ("a", "b"):
                with pr.step(f"CFA: {name}"):
                    part = pr.share("data.csv", 0.5, min_seconds=0.0, interval=0.0)
                    part(1, 2)
                    clock.t += 2.0
        with pr.step("measurement", kind="fit", cost=3.0):
            clock.t += 1.0
        text = stream.getvalue()
        assert "left" not in text and "\r" not in text and "[" + "#" not in text
        if enabled:     # the plain log of a pipe
            assert text.splitlines() == ["[1/3] CFA: a ...", "    done in 2.0 s",
                                         "[2/3] CFA: b ...", "    done in 2.0 s",
                                         "[3/3] measurement ...", "    done in 1.0 s"]
        else:
            assert text == ""


def test_csv_reader_reports_bytes_read(tmp_path, monkeypatch):
    import psychometrics.io as pio

    monkeypatch.setattr(pio, "CSV_CHUNK_ROWS", 50)
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.integers(1, 6, size=(1000, 5)), columns=list("abcde"))
    df.insert(0, "id", np.arange(1000))
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    calls = []
    got = pio.read_data(path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert len(calls) >= 2 and all(t == size for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == size and done[0] < size
    # the same data as without the callback
    pd.testing.assert_frame_equal(got, pio.read_data(path))


def test_estimate_before_the_time_is_shown_reads_well():
    clock = _Clock()
    pr = Progress(stream=_Terminal(), clock=clock, tick=3600.0, min_seconds=1.0, total_steps=1)
    pr._rates["fit"] = [4.0, 2.0]
    with pr.step("CFA: b", kind="fit", cost=5.0):
        clock.t += 0.5          # under min_seconds: no elapsed time yet, the estimate is shown
        assert pr._status(clock()) == "[1/1] CFA: b ... about 10 s left"
        clock.t += 1.5
        assert pr._status(clock()) == "[1/1] CFA: b ... 2 s, about 8 s left"


def test_part_of_a_step_done_gives_its_time_left_beside_an_inner_bar(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    clock = _Clock()
    out = _Terminal()
    pr = _progress(out, clock, total_steps=1)
    with pr.step("reliability"):
        pr.part(0, 10)                          # nothing done: no estimate
        assert "left" not in pr._status(clock())
        clock.t += 4.0
        pr.part(2, 10)                          # a fifth in 4 s: 20 s in all
        with pr.step("reliability a/total"):
            update = pr.bar("omega bootstrap", 10, min_seconds=0.0, interval=0.0)
            clock.t += 1.0
            update(5)
            line = pr._status(clock())
            assert line.startswith("[1/1] reliability ... 5 s, about 15 s left | ")
            assert "omega bootstrap [" in line and "5/10, about 1 s left" in line
            update(10)
    pr.part(5, 10)                              # no step running: nothing happens
    assert "\r" in out.getvalue() and out.getvalue().endswith("\n")
    off = io.StringIO()
    pr = _progress(off, clock, total_steps=1)
    with pr.step("reliability"):
        clock.t += 4.0
        pr.part(2, 10)
    assert "left" not in off.getvalue()


def test_a_measured_part_times_later_steps_of_its_kind_and_shows_nothing():
    clock = _Clock()
    out = _Terminal()
    pr = _progress(out, clock, total_steps=2)
    with pr.step("CFA: a"):
        with pr.measure("model fit", 10.0):
            clock.t += 3.0
        clock.t += 7.0                        # the rest of the step: tables, figure
    shown = out.getvalue()
    assert pr.expected("model fit", 20.0) == pytest.approx(6.0)
    with pr.step("structural model"):
        with pr.step("fit", kind="model fit", cost=20.0):
            clock.t += 2.0
            assert pr._status(clock()).endswith("| fit, about 4 s left")
    assert "model fit" not in shown
