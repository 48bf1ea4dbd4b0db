"""A terminal, a clock moved by hand and a Progress on both, for the progress tests."""
from __future__ import annotations

import io

from psychometrics.report.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def make_progress(stream, clock, **kw):
    # a long tick: the ticker thread never redraws during a test; the tests read the line
    return Progress(stream=stream, clock=clock, tick=3600.0, min_seconds=0.0, **kw)
