"""Console progress (psychometrics.report.progress): bars with an estimate of the time left on a
terminal, nothing on a pipe or log, never anything in results."""
from __future__ import annotations

import io

from psychometrics.report.progress import Progress, eta


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_eta_constant_rate():
    assert eta(0, 10, 5.0) is None
    assert eta(2, 10, 4.0) == 8 * 2.0
    assert eta(10, 10, 7.0) == 0.0


def test_bar_on_a_terminal_shows_time_left():
    out = _Terminal()
    pr = Progress(stream=out)
    update = pr.bar("draws", 100, min_seconds=0.0, interval=0.0)
    for k in range(1, 101):
        update(k)
    text = out.getvalue()
    assert "draws [" in text and "left" in text and "100/100" in text
    assert text.endswith("\n")


def test_bar_is_silent_on_a_pipe_and_when_disabled():
    for pr in (Progress(stream=io.StringIO()), Progress(stream=_Terminal(), enabled=False)):
        update = pr.bar("draws", 10, min_seconds=0.0, interval=0.0)
        for k in range(1, 11):
            update(k)
        assert pr.stream.getvalue() == ""


def test_short_loops_print_nothing():
    out = _Terminal()
    update = Progress(stream=out).bar("draws", 10, min_seconds=60.0)
    for k in range(1, 11):
        update(k)
    assert out.getvalue() == ""


# -- the live status line (terminal), the plain log (pipe) ------------------------------------
import json
import shutil
import sys
import threading
import time
from pathlib import Path

import yaml


def _fast(stream, **kw):
    """A Progress that redraws at once (no one-second wait), for tests."""
    return Progress(stream=stream, tick=0.02, min_seconds=0.0, **kw)


def _wait_for(pred, seconds=10.0):
    t0 = time.perf_counter()
    while not pred() and time.perf_counter() - t0 < seconds:
        time.sleep(0.01)
    return pred()


def test_terminal_step_ticks_and_leaves_one_line():
    out = _Terminal()
    pr = _fast(out, total_steps=2)
    with pr.step("CFA: wai_sr"):
        # the ticker thread redraws the live line while the main thread is busy
        assert _wait_for(lambda: out.getvalue().count("\r") >= 3)
        assert "[1/2] CFA: wai_sr ... 0 s" in out.getvalue()
    text = out.getvalue()
    assert text.endswith("\n") and "done in" not in text
    assert text.rstrip(" \n").split("\r")[-1].startswith("[1/2] CFA: wai_sr ... ")
    assert text.count("\n") == 1                        # one permanent line per step
    assert text.count("[1/2] CFA: wai_sr ... 0 s") < 20  # redrawn when the text changes only
    assert not any(t.name == "progress" for t in threading.enumerate())    # ticker stopped


def test_terminal_nested_step_and_bar_share_the_live_line():
    out = _Terminal()
    pr = _fast(out, total_steps=1)
    with pr.step("validity"):
        with pr.step("HTMT bootstrap (100 draws)"):
            update = pr.bar("HTMT draws", 100, min_seconds=0.0, interval=0.0)
            for k in range(1, 60):
                update(k)
            live = out.getvalue().split("\r")[-1]
            assert live.startswith("[1/1] validity ...") and "HTMT draws [" in live
            assert "59/100" in live and "left" in live
            for k in range(60, 101):
                update(k)
    text = out.getvalue()
    assert text.count("\n") == 1 and "done in" not in text
    assert "HTMT draws" not in text.split("\r")[-1]       # the bar is gone from the final line


def test_terminal_group_estimates_the_time_left_for_all_instruments():
    out = _Terminal()
    pr = _fast(out, total_steps=3)
    with pr.group("EFA", 3):
        for name in ("a", "b", "c"):
            with pr.step(f"EFA: {name}"):
                time.sleep(0.01)
                pr._draw()
    text = out.getvalue()
    assert "(EFA 2/3, about" in text and "(EFA 3/3, about" in text
    assert "(EFA 1/3" not in text                       # no estimate before one is done


def test_terminal_line_fits_the_width(monkeypatch):
    out = _Terminal()
    pr = _fast(out)
    monkeypatch.setattr(pr, "_width", lambda: 60)
    with pr.step("validity (AVE, CR, Fornell-Larcker, HTMT) with a very long label"):
        with pr.step("HTMT bootstrap with a long label too (1000 draws)"):
            update = pr.bar("HTMT bootstrap draws", 1000, min_seconds=0.0, interval=0.0)
            update(400)
            live = out.getvalue().split("\r")[-1].rstrip()
            assert len(live) <= 60
            assert "400/1000" in live and "left" in live   # the numbers are kept, labels cut
            update(1000)


def test_pipe_gets_a_plain_log_without_redraws():
    out = io.StringIO()
    pr = Progress(stream=out, total_steps=2, tick=0.01, min_seconds=0.0)
    with pr.group("CFA", 2):
        for name in ("a", "b"):
            with pr.step(f"CFA: {name}"):
                with pr.step("inner"):
                    update = pr.bar("draws", 10, min_seconds=0.0, interval=0.0)
                    for k in range(1, 11):
                        update(k)
                time.sleep(0.05)
    text = out.getvalue()
    assert "\r" not in text and "[" + "#" not in text and "about" not in text
    assert text.splitlines() == ["[1/2] CFA: a ...", "    inner ...", "        done in 0.0 s",
                                 text.splitlines()[3], "[2/2] CFA: b ...", "    inner ...",
                                 "        done in 0.0 s", text.splitlines()[7]]
    assert text.splitlines()[3].startswith("    done in ")
    assert not any(t.name == "progress" for t in threading.enumerate())


def test_disabled_progress_writes_nothing_even_on_a_terminal():
    out = _Terminal()
    pr = Progress(stream=out, enabled=False, tick=0.01, min_seconds=0.0)
    with pr.group("EFA", 1), pr.step("EFA: a"):
        pr.bar("draws", 2, min_seconds=0.0)(2)
        time.sleep(0.05)
    pr.info("text")
    assert out.getvalue() == ""
    assert pr.times["EFA: a"] > 0


# -- the pipeline and the command line --------------------------------------------------------
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _small_study(tmp_path):
    for name in ("data.csv", "engagement.yaml", "outcome.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    doc = yaml.safe_load((EXAMPLES / "study.yaml").read_text(encoding="utf-8"))
    doc["instruments"] = [doc["instruments"][1]]
    doc.pop("structural")
    doc["options"] = {"bootstrap": 10, "split_half": True}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_pipeline_on_a_terminal_shows_every_step_and_keeps_results_clean(tmp_path):
    from psychometrics.report.pipeline import run_validation

    out = _Terminal()
    run = run_validation(_small_study(tmp_path), None, figures=False, parallel_iterations=5,
                         progress=Progress(stream=out, tick=0.01, min_seconds=0.0))
    text = out.getvalue()
    lines = [ln.split("\r")[-1].rstrip() for ln in text.split("\n")]
    assert lines.pop() == ""
    # 1 instrument with groups, no structural model: load, screening, items, reliability,
    # scale descriptives, EFA, CFA, invariance, measurement model, validity (the number of
    # steps is known once the study file is read)
    assert len(lines) == 10 and lines[0].startswith("[1] load study and data ... ")
    assert lines[1].startswith("[2/10] screening: client_engagement ... ")
    assert lines[-1].startswith("[10/10] validity")
    assert "done in" not in text
    blob = json.dumps(run.results, default=str)
    assert "\\r" not in blob and " s left" not in blob and "/10]" not in blob


def test_cli_validate_progress_on_stderr_only(tmp_path, capsys, monkeypatch):
    from psychometrics.cli import main

    path = _small_study(tmp_path)
    # a pipe: the plain step log on stderr, nothing redrawn, nothing on stdout
    assert main(["validate", str(path), "--out", str(tmp_path / "a"), "--no-figures",
                 "--parallel-iterations", "5"]) == 0
    cap = capsys.readouterr()
    assert "[1/11] load study and data ..." in cap.err and "[11/11] write the report" in cap.err
    assert "\r" not in cap.err and "[1/" not in cap.out and "done in" not in cap.out
    # a terminal on stderr: the live line there, stdout and results.json untouched
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["validate", str(path), "--out", str(tmp_path / "b"), "--no-figures",
                 "--parallel-iterations", "5"]) == 0
    monkeypatch.undo()
    cap = capsys.readouterr()
    text = term.getvalue()
    assert "\r[11/11] write the report" in text and "done in" not in text
    assert "\r" not in cap.out and "[1/" not in cap.out
    for d in ("a", "b"):
        raw = (tmp_path / d / "results.json").read_text(encoding="utf-8")
        assert "\\r" not in raw and "write the report" not in raw and "done in" not in raw
    # --quiet: nothing at all
    assert main(["validate", str(path), "--out", str(tmp_path / "c"), "--no-figures",
                 "--parallel-iterations", "5", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and cap.out == ""


def test_a_message_during_a_live_step_gets_its_own_line():
    out = _Terminal()
    pr = _fast(out, total_steps=1)
    with pr.step("CFA: a"):
        pr._draw()
        pr.info("psychometrics: warning: something")
        assert out.getvalue().split("\n")[-1].lstrip("\r").startswith("[1/1] CFA: a ...")
    lines = [ln.split("\r")[-1].rstrip() for ln in out.getvalue().split("\n")]
    assert lines[0] == "psychometrics: warning: something"
    assert lines[1].startswith("[1/1] CFA: a ... ") and lines[2] == ""


def test_cli_warnings_go_through_the_progress_display(monkeypatch):
    from psychometrics import cli
    from psychometrics.errors import PsychometricsWarning

    term = _Terminal()
    pr = _fast(term, total_steps=1)
    monkeypatch.setitem(cli._ACTIVE, "progress", pr)
    with pr.step("EFA: a"):
        pr._draw()
        cli._plain_warnings()(PsychometricsWarning("odd item"), PsychometricsWarning, "f", 1)
    lines = [ln.split("\r")[-1].rstrip() for ln in term.getvalue().split("\n")]
    assert lines[0] == "psychometrics: warning: odd item" and lines[1].startswith("[1/1] EFA: a")


def test_bar_estimate_counts_down_between_updates_and_weighted_bars_hide_counts():
    from psychometrics.report.progress import _bar_text

    b = {"done": 25, "total": 100, "at": 10.0, "elapsed": 5.0, "left": 15.0, "width": 10,
         "own_line": False, "counts": True}
    assert _bar_text(b, 10.0) == ("[##........] 25/100, about 15 s left", "25/100, about 15 s left")
    assert _bar_text(b, 14.0)[1] == "25/100, about 11 s left"
    assert _bar_text(b, 25.5)[1] == "25/100, about 0 s left"
    assert _bar_text(b, 40.0)[1] == "25/100, longer than estimated"
    b["counts"] = False
    assert _bar_text(b, 10.0)[0] == "[##........] about 15 s left"
    out = _Terminal()
    pr = _fast(out, total_steps=1)
    with pr.step("write the report"):
        update = pr.bar("", 20, min_seconds=0.0, interval=0.0, counts=False)
        with pr.step("appendix.docx"):
            update(2, 20)
            live = out.getvalue().split("\r")[-1]
            assert "| appendix.docx [" in live and "/20" not in live and "left" in live
        update(20, 20)


def test_width_of_a_terminal_that_reports_no_size(monkeypatch):
    # a pseudo-terminal without a size (``script``, some CI consoles) reports 0 columns: the
    # live line must not be cut to the 30-column minimum but use COLUMNS / the 100 default
    import os
    from psychometrics.report.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

        def fileno(self):
            return 99

    monkeypatch.setattr(os, "get_terminal_size", lambda fd=None: os.terminal_size((0, 0)))
    monkeypatch.setenv("COLUMNS", "120")
    assert Progress(stream=Tty())._width() == 119
