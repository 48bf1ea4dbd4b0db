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
