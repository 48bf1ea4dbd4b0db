"""Console progress for long steps (bootstraps, parallel analysis, model fits).

:class:`Progress` prints one line per pipeline step (``[3/12] CFA: WAI-SR ... 0.4 s``)
and, for steps with a known number of draws, a bar that redraws itself in
place on a terminal (``\\r``) and prints only start and end on a pipe or log.
It writes to ``stderr`` so ``results.json`` piped to stdout stays clean.
A ``Progress(enabled=False)`` is silent (tests, library use).
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager


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

    def bar(self, label: str, total: int):
        """Return a callback ``update(k)`` that draws a bar for ``total`` draws."""
        state = {"last": -1, "t0": time.perf_counter()}
        width = 30

        def update(k: int, total_: int | None = None) -> None:
            tot = total_ or total
            if tot <= 0:
                return
            pct = int(100 * k / tot)
            if self.tty:
                if pct != state["last"]:
                    fill = int(width * k / tot)
                    self._write(f"\r    {label} [{'#' * fill}{'.' * (width - fill)}] {k}/{tot}")
                    state["last"] = pct
                if k >= tot:
                    self._write(f" {time.perf_counter() - state['t0']:.1f} s\n")
            else:
                if state["last"] < 0:
                    self._write(f"    {label}: {tot} draws\n")
                    state["last"] = 0
                if k >= tot and state["last"] != 100:
                    self._write(f"    {label}: {tot}/{tot} in {time.perf_counter() - state['t0']:.1f} s\n")
                    state["last"] = 100

        return update

    def info(self, text: str) -> None:
        self._write(text + "\n")
