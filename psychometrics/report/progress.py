"""Console progress for long steps (bootstraps, parallel analysis, model fits).

:class:`Progress` prints one line per pipeline step (``[3/12] CFA: WAI-SR ... 0.4 s``)
and, for loops with a known number of units (bootstrap draws, random data sets, fits),
a bar with the time elapsed and an estimate of the time left that redraws itself in
place on a terminal (``\\r``) and is silent on a pipe or log (:meth:`Progress.bar`).
It writes to ``stderr`` so ``results.json`` piped to stdout stays clean.
A ``Progress(enabled=False)`` is silent (tests, library use).
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager


def eta(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left for ``total`` units after ``done`` took ``elapsed`` seconds (constant
    rate); None before the first unit."""
    if done <= 0 or total <= 0:
        return None
    return max(0.0, elapsed / done * (total - done))


class Progress:
    def __init__(self, total_steps: int = 0, *, stream=None, enabled: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.total = total_steps
        self.done = 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.times: dict[str, float] = {}
        self.depth = 0

    def _write(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text)
            self.stream.flush()

    @contextmanager
    def step(self, label: str):
        """Time one step and print ``[k/n] label ... seconds``; a step inside a step is
        printed indented and not counted."""
        nested = self.depth > 0
        if nested:
            head = "    "
        else:
            self.done += 1
            head = f"[{self.done}/{max(self.total, self.done)}] " if self.total else ""
        self._write(f"{head}{label} ...")
        tty = self.tty and not nested
        if not tty:
            self._write("\n")
        elif nested:
            pass
        t0 = time.perf_counter()
        self.depth += 1
        try:
            yield self
        finally:
            self.depth -= 1
            dt = time.perf_counter() - t0
            self.times[label] = dt
            if tty:
                self._write(f"\r{head}{label} ... {dt:.1f} s\n")
            else:
                self._write(f"{'    ' if nested else ''}    done in {dt:.1f} s\n")

    def bar(self, label: str, total: int, *, min_seconds: float = 1.0, interval: float = 0.2):
        """Return a callback ``update(done, total=None)`` for a loop of ``total`` units (draws,
        iterations, fits) that draws a bar with the time elapsed and an estimate of the time
        left (``[####......] 310/1000  4 s, about 9 s left``), redrawn in place at most every
        ``interval`` seconds once the loop has run ``min_seconds``.  Only on a terminal: on a
        pipe or log file (and with ``enabled=False``) the callback does nothing, so nothing
        of it reaches logs or results.  Pass it as the ``progress=`` argument of a long
        analysis (e.g. :func:`psychometrics.sem.bootstrap.bootstrap`)."""
        state = {"t0": time.perf_counter(), "last": -1.0, "shown": False, "closed": False}
        width = 30
        live = self.enabled and self.tty

        def update(done: int, total_: int | None = None) -> None:
            tot = total_ or total
            if not live or tot <= 0 or state["closed"]:
                return
            now = time.perf_counter()
            elapsed = now - state["t0"]
            finished = done >= tot
            if not finished and (elapsed < min_seconds or now - state["last"] < interval):
                return
            if finished and not state["shown"]:
                state["closed"] = True
                return
            state["last"] = now
            if not state["shown"] and self.depth > 0:
                self._write("\n")      # below the pending "[k/n] step ..." line
            state["shown"] = True
            fill = int(width * min(done, tot) / tot)
            text = f"\r    {label} [{'#' * fill}{'.' * (width - fill)}] {done}/{tot}  {elapsed:.0f} s"
            if finished:
                self._write(text + " " * 16 + "\n")
                state["closed"] = True
                return
            left = eta(done, tot, elapsed)
            self._write(text + (f", about {left:.0f} s left   " if left is not None else "   "))

        return update

    def info(self, text: str) -> None:
        self._write(text + "\n")
