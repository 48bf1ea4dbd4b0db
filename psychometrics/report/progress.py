"""Console progress for long steps (bootstraps, parallel analysis, model fits).

On a terminal, :class:`Progress` keeps one live status line for the running pipeline step,
redrawn in place (``\\r``) by a small background thread, so that every step shows its time
ticking even while one long computation runs::

    [16/27] CFA: wai_sr ... 3 s  (CFA 1/4, about 9 s left)
    [26/27] structural model ... 21 s | bootstrap draws [#########.....] 325/1000, about 36 s left

A finished step leaves one line (``[16/27] CFA: wai_sr ... 4.2 s``).  Steps inside a step
(:meth:`Progress.step` nested) and loops with a known number of units (:meth:`Progress.bar`:
bootstrap draws, random data sets, model fits) appear in the step's live line, with the time
elapsed and an estimate of the time left; a run of steps of one kind (one per instrument,
:meth:`Progress.group`) adds the estimate of the time left for the whole run of them.

On a pipe or a log file nothing is redrawn: each step writes ``[k/n] label ...`` when it
starts and ``done in 1.2 s`` when it ends (a plain log, no ``\\r``), bars write nothing.
``Progress(enabled=False)`` is silent (tests, library use).  Everything goes to ``stderr``
(so ``results.json`` or other output piped to stdout stays clean); nothing of it enters a
result: the analyses only receive ``progress(done, total)`` callbacks and report counts.
"""
from __future__ import annotations

import io
import os
import shutil
import sys
import threading
import time
from contextlib import contextmanager

#: one lock for every Progress: the ticker thread and the main thread never write at the same
#: time, and a process forked by a worker pool (structural bootstrap) never inherits a lock or
#: a stream buffer held in the middle of a redraw
_LOCK = threading.RLock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_LOCK.acquire, after_in_parent=_LOCK.release,
                        after_in_child=_LOCK.release)


def eta(done: float, total: float, elapsed: float) -> float | None:
    """Seconds left for ``total`` units after ``done`` took ``elapsed`` seconds (constant
    rate); None before the first unit.  Units may be weights (bytes read, expected costs)."""
    if done <= 0 or total <= 0:
        return None
    return max(0.0, elapsed / done * (total - done))


def _cut(text: str, n: int) -> str:
    """``text`` in at most ``n`` characters (an ellipsis where it was cut)."""
    return text if len(text) <= n else text[:max(1, n - 1)] + "…"


def _bar_text(b: dict, now: float) -> tuple[str, str]:
    """(picture and counts, counts alone) of a bar's state at time ``now``, e.g.
    ``[####......] 310/1000, about 9 s left``; the estimate of the time left is the one made at
    the bar's last update, counted down since."""
    w = b["width"]
    fill = int(w * min(b["done"], b["total"]) / b["total"])
    parts = [f"{b['done']}/{b['total']}"] if b["counts"] else []
    if b["own_line"]:
        parts.append(_seconds(b["elapsed"]))
    text = "  ".join(parts)
    if b["left"] is not None:
        left = b["left"] - (now - b["at"])
        # counted down past zero by more than a second: the estimate was short; say so
        # rather than show "0 s left" for as long as the unit runs
        text += (", " if text else "") + (f"about {_seconds(max(0.0, left))} left"
                                          if left > -1.0 else "longer than estimated")
    return f"[{'#' * fill}{'.' * (w - fill)}] {text}".rstrip(), text


def _left_text(seconds: float, elapsed: float) -> str:
    """``, about 12 s left`` for a step expected to take ``seconds`` that has run
    ``elapsed``; once it runs longer, ``, longer than the 20 s expected``."""
    left = seconds - elapsed
    if left >= 0:
        return f", about {_seconds(left)} left"
    return f", longer than the {_seconds(seconds)} expected"


def _seconds(s: float) -> str:
    """A duration for the status line: ``42 s``, ``3 min 05 s``."""
    s = int(round(s))
    return f"{s} s" if s < 100 else f"{s // 60} min {s % 60:02d} s"


class Progress:
    """Step timings and a live status line on a terminal (see the module docstring).

    ``total_steps``: number of top-level steps, for ``[k/n]`` (the pipeline sets it once the
    study is read; ``extra_steps`` are steps the caller runs after the pipeline, e.g. writing
    the report).  ``stream``: default ``sys.stderr``; ``tick``: seconds between redraws of the
    live line; ``min_seconds``: a step (or bar) is redrawn only once it has run this long.
    ``times``: seconds of every step by label (``ValidationRun.timings``).  ``clock``: the
    clock of every duration and estimate (default ``time.perf_counter``; tests pass a fake).

    Estimates of the time left, each from what this run has measured (never a fixed guess):
    a bar of units (``done/total`` at a constant rate, :func:`eta`); a run of steps of one
    kind (:meth:`group`) from the seconds per unit of expected cost of the steps done; a step
    of a kind whose cost is known beforehand (``step(..., kind=, cost=)``, e.g. a model fit of
    ``cases x items^2.5``) from the seconds per unit of cost of the earlier steps of that kind
    in this run (:meth:`expected`); a step of which one measured part (e.g. reading the file,
    by bytes) takes a known share (:meth:`share`).
    """

    def __init__(self, total_steps: int = 0, *, stream=None, enabled: bool = True,
                 extra_steps: int = 0, tick: float = 0.5, min_seconds: float = 1.0,
                 clock=time.perf_counter):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.total = total_steps
        self.extra_steps = extra_steps
        self.done = 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.times: dict[str, float] = {}
        self.depth = 0
        self.tick = tick
        self.min_seconds = min_seconds
        self._clock = clock
        #: kind -> [seconds, cost] of the steps of that kind done (for :meth:`expected`)
        self._rates: dict[str, list[float]] = {}
        #: kind -> (fixed seconds, seconds per unit of cost) of a reference run (:meth:`calibrate`)
        self._reference: dict[str, tuple[float, float]] = {}
        #: [seconds taken, seconds the reference run took] of the steps and parts done whose
        #: kind has a reference: this run's speed relative to the reference run
        self._speed = [0.0, 0.0]
        self._speed_of: dict[str, list[float]] = {}     # the same per kind
        self._phase = None          # the running part of a step (:meth:`phase`)
        #: (label, kind, cost, seconds) of every step and measured part with a kind and a cost
        self.records: list[tuple[str, str, float, float]] = []
        # live line (terminal only)
        self._top = None            # (head + label, start time) of the running top-level step
        self._inner: list[str] = []  # labels of the nested steps running
        self._expect: list = []      # (start, expected seconds) of the running steps, outer first
        self._bars: list[dict] = []  # bars drawn in the live line
        self._group = None          # {"what", "total", "done", "t0"}
        self._drawn = 0             # characters of the live line now on the screen
        self._shown = ""            # and their text
        self._last = 0.0
        self._ticker = None
        self._stop = threading.Event()

    @property
    def live(self) -> bool:
        """Whether a live status line is drawn (enabled, on a terminal)."""
        return self.enabled and self.tty

    # -- output ----------------------------------------------------------------------------
    def _write(self, text: str) -> None:
        if self.enabled:
            with _LOCK:
                self.stream.write(text)
                self.stream.flush()

    def _width(self) -> int:
        """Columns of the terminal (of the stream itself, else of stdout), less one."""
        try:
            cols = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            cols = 0
        if cols <= 0:   # a pseudo-terminal without a size (script, some CI consoles) says 0
            cols = shutil.get_terminal_size((100, 24)).columns
        return max(30, cols - 1)

    def _status(self, now: float) -> str:
        """The live line: ``[k/n] step ... 12 s | what runs inside [bar] done/total, about
        8 s left  (EFA 2/4, about 20 s left)``, shortened to the terminal's width by cutting
        the labels, never the numbers."""
        step, elapsed, detail, bar, group = "", "", "", "", ""
        if self._top is not None:
            step, t0 = self._top
            if now - t0 >= self.min_seconds:
                elapsed = f" {_seconds(now - t0)}"
        counts = ""
        # the top-level step's estimate after its time, and that of the innermost nested step
        # or part expecting a duration after its label (only when no bar is drawn: a bar has
        # its own)
        own = inner_own = ""
        if self._bars:
            b = self._bars[-1]
            bar, counts = _bar_text(b, now)
            detail = b["label"] or (self._inner[-1] if self._inner else "")
        elif self._inner:
            detail = self._inner[-1]
        if self._expect and self._expect[0][1] is not None:
            own = _left_text(self._expect[0][1], now - self._expect[0][0])
        for k in range(len(self._expect) - 1, 0, -1):
            t0_k, seconds = self._expect[k]
            if seconds is not None and not self._bars:
                inner_own = _left_text(seconds, now - t0_k)
                break
        g = self._group
        if g is not None and self._top is not None and g["total"] > 1:
            left = self._group_left(g, now - self._top[1])
            group = f"  ({g['what']} {g['done'] + 1}/{g['total']}"
            if left is not None and left[1]:     # the running step is over its share
                group += f", more than {_seconds(left[0])} left)" if left[0] > 0 else ")"
            elif left is not None:
                group += f", about {_seconds(left[0])} left)"
            else:
                group = ""

        def line(step, detail, bar):
            out = f"{step} ...{elapsed}" if step else ""
            if own:
                out += own if elapsed or not out else " " + own[2:]
            if detail or bar:
                out += (" | " if out else "") + detail + (" " if detail and bar else "") + bar
            if inner_own:
                out += inner_own if detail or elapsed or own else " " + inner_own[2:]
            return out + group

        width = self._width()
        text = line(step, detail, bar)
        over = len(text) - width
        if over > 0 and len(step) > 16:          # cut the step's label first ...
            step = _cut(step, max(16, len(step) - over))
            text = line(step, detail, bar)
            over = len(text) - width
        if over > 0 and len(detail) > 12:        # ... then the inner label
            detail = _cut(detail, max(12, len(detail) - over))
            text = line(step, detail, bar)
            over = len(text) - width
        if over > 0 and bar:                     # ... then the bar's picture and label
            text = line(step, "", counts)
        return text

    def _draw(self, final: str | None = None) -> None:
        """Redraw the live line (or replace it by ``final`` and end the line)."""
        if not self.live:
            return
        with _LOCK:
            now = self._clock()
            text = final if final is not None else self._status(now)
            width = self._width()
            if len(text) > width:
                text = text[:width - 1] + "…"
            self._last = now
            if final is None and text == self._shown and self._drawn:
                return                  # nothing changed on the line
            pad = max(0, self._drawn - len(text))
            self.stream.write("\r" + text + " " * pad + ("\n" if final is not None else ""))
            self.stream.flush()
            self._drawn = 0 if final is not None else len(text)
            self._shown = "" if final is not None else text

    def _run_ticker(self) -> None:
        while not self._stop.wait(min(0.1, self.tick)):
            with _LOCK:
                top = self._top
                now = self._clock()
                if top is not None and now - top[1] >= self.min_seconds \
                        and now - self._last >= self.tick:
                    self._draw()

    def _start_ticker(self) -> None:
        if self.live and self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._run_ticker, name="progress",
                                            daemon=True)
            self._ticker.start()

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None

    # -- steps -----------------------------------------------------------------------------
    @contextmanager
    def step(self, label: str, *, kind: str | None = None, cost: float | None = None,
             like: str | None = None):
        """Time one step.  Top level: ``[k/n] label ...``, on a terminal a live line with the
        time ticking, then ``[k/n] label ... 1.2 s``; on a pipe ``[k/n] label ...`` and
        ``done in 1.2 s`` lines.  A step inside a step is not counted: on a terminal it shows
        in the live line, on a pipe as an indented pair of lines.

        ``kind``, ``cost``: the step is one of a kind whose duration grows with a cost known
        beforehand (e.g. ``"model fit"``, cases x items^2.5): once a step of that kind has run in
        this run, the live line shows ``about 12 s left`` at the seconds per unit of cost
        measured (:meth:`expected`), and this step's time joins the measurement.  A top-level
        step inside a :meth:`group` with costs takes its kind and cost from the group.
        ``like``: the kind whose speed relative to the reference run times the first step of
        ``kind`` (:meth:`expected`)."""
        nested = self.depth > 0
        g = self._group
        if not nested and kind is None and g is not None and g["kind"] is not None \
                and g["started"] < g["total"]:
            kind, cost = g["kind"], g["costs"][g["started"]]
            g["started"] += 1
        if nested:
            head = "    "
        else:
            self.done += 1
            total = self.total + self.extra_steps if self.total else 0
            head = f"[{self.done}/{max(total, self.done)}] " if total else f"[{self.done}] "
        t0 = self._clock()
        expect = (t0, self.expected(kind, cost, like))
        if self.live:
            with _LOCK:
                if nested:
                    self._inner.append(label)
                else:
                    if self._drawn:     # a live line left by a bar outside any step
                        self._write("\n")
                        self._drawn = 0
                    self._top = (f"{head}{label}", t0)
                    self._expect.clear()
                self._expect.append(expect)
                self._draw()
            if not nested:
                self._start_ticker()
        else:
            self._write(f"{head}{label} ...\n")
        self.depth += 1
        try:
            yield self
        finally:
            self.depth -= 1
            if self._phase is not None and self._phase["depth"] > self.depth:
                self.phase(None)        # a part left running ends with its step
            dt = self._clock() - t0
            self.times[label] = dt
            self._record(label, kind, cost, dt)
            if self.live:
                if nested:
                    with _LOCK:
                        if label in self._inner:
                            self._inner.remove(label)
                        if expect in self._expect:
                            self._expect.remove(expect)
                else:
                    self._stop_ticker()
                    with _LOCK:
                        self._top = None
                        self._inner.clear()
                        self._expect.clear()
                        self._bars.clear()
                        self._draw(final=f"{head}{label} ... {dt:.1f} s")
            else:
                self._write(f"{'    ' if nested else ''}    done in {dt:.1f} s\n")
            if not nested and g is not None and g is self._group:
                g["done"] += 1
                g["spent"] += dt
                g["spent_cost"] += g["costs"][g["done"] - 1] if g["done"] <= g["total"] else 0.0

    def part(self, done: float, total: float) -> None:
        """The running top-level step has done ``done`` of ``total`` units of its work (e.g. the
        expected costs of the scales done): its live line shows the time left at the rate of
        the part done (``about 12 s left``), until the next call.  Only on a terminal."""
        if not self.live or self._top is None or not self._expect or total <= 0 or done <= 0:
            return
        with _LOCK:
            t0 = self._expect[0][0]
            now = self._clock()
            self._expect[0] = (t0, (now - t0) * float(total) / min(float(done), float(total)))

    @contextmanager
    def measure(self, kind: str, cost: float):
        """Time a part of a step as one of ``kind`` with ``cost`` for :meth:`expected` (e.g.
        the model fit inside a CFA step, so that a later step's fit is timed by the fits, not
        by the whole CFA steps), showing nothing."""
        t0 = self._clock()
        try:
            yield self
        finally:
            self._record(kind, kind, cost, self._clock() - t0)

    def _record(self, label: str, kind: str | None, cost: float | None, dt: float,
                scale: float = 1.0) -> None:
        """A step or part of ``kind`` with ``cost`` took ``dt`` s: it joins the seconds per
        unit of cost of its kind and, when its kind has a reference, this run's speed
        (``scale``: it was that many reference steps, :meth:`expected`)."""
        if kind is None or not cost:
            return
        r = self._rates.setdefault(kind, [0.0, 0.0])
        r[0] += dt
        r[1] += float(cost) * float(scale)
        ref = self._reference_seconds(kind, cost)
        if ref is not None:
            ref *= float(scale)
            self._speed[0] += dt
            self._speed[1] += ref
            sk = self._speed_of.setdefault(kind, [0.0, 0.0])
            sk[0] += dt
            sk[1] += ref
        self.records.append((label, kind, float(cost), dt))

    def calibrate(self, reference: dict) -> None:
        """Reference durations ``{kind: (fixed seconds, seconds per unit of cost)}`` measured
        on a reference run of the same pipeline (see :meth:`expected`): a step of a kind that
        has not run yet in this run is expected to take what the reference run's fit says,
        scaled by this run's speed (seconds taken over the seconds the reference run took,
        over every step done whose kind has a reference: loading, screening, ...)."""
        self._reference = {k: (float(a), float(b)) for k, (a, b) in reference.items()}

    def _reference_seconds(self, kind: str | None, cost: float | None) -> float | None:
        ref = self._reference.get(kind) if kind is not None and cost else None
        return None if ref is None else ref[0] + ref[1] * float(cost)

    def expected(self, kind: str | None, cost: float | None,
                 like: str | None = None, scale: float = 1.0) -> float | None:
        """Expected seconds of a step of ``kind`` with ``cost``: once steps of that kind are done
        in this run, the reference run's seconds for ``cost`` (:meth:`calibrate`) times their
        seconds taken over their reference seconds, or without a reference ``cost`` times
        their seconds per unit of cost; before the first one,
        the reference run's seconds for that kind and cost (:meth:`calibrate`) times this
        run's speed relative to it (measured on the steps of kind ``like`` when given and
        done, e.g. the model fits for the structural model's fit; else on every step done
        with a reference), once a step with a reference has run; else None (also without a
        kind or cost).  ``scale``: the step is that many of the reference's steps of its kind
        and cost (e.g. a chunk of 128 bootstrap draws where the reference run's held 20)."""
        out = self._expected(kind, cost, like)
        return None if out is None else out * float(scale)

    def _expected(self, kind, cost, like):
        r = self._rates.get(kind) if kind is not None and cost else None
        ref = self._reference_seconds(kind, cost)
        if r and r[1] > 0:
            own = self._speed_of.get(kind)
            if ref is not None and own is not None and own[1] > 0:
                # the reference's a + b x cost at the speed of this kind's steps done: the
                # fixed part does not grow with the cost (at 324 cases the four CFAs' rate
                # said 8-10 s for the 0.7 s measurement model)
                return ref * own[0] / own[1]
            return r[0] / r[1] * float(cost)
        speed = self._speed_of.get(like) if like is not None else None
        if speed is None or speed[1] <= 0:
            speed = self._speed
        if ref is None or speed[1] <= 0:
            return None
        return ref * speed[0] / speed[1]

    def phase(self, label: str | None, *, kind: str | None = None, cost: float | None = None,
              like: str | None = None, scale: float = 1.0) -> None:
        """The running step has moved on to its part ``label`` (``None``: its parts are over),
        e.g. the parts of a bootstrap's set-up reported by a callback: on a terminal the
        part shows as the innermost label, with its time left when its ``kind`` and ``cost``
        give an estimate (:meth:`expected`, ``like`` and ``scale`` as there); the part before
        it is timed and joins its kind's rate and this run's speed.  Parts follow each other (a part ends
        when the next one starts, or with its step); nothing is written off a terminal."""
        now = self._clock()
        with _LOCK:
            ph = self._phase
            if ph is not None:
                self._phase = None
                self._record(ph["label"], ph["kind"], ph["cost"], now - ph["t0"],
                             ph["scale"])
                if ph["label"] in self._inner:
                    self._inner.remove(ph["label"])
                if ph["expect"] in self._expect:
                    self._expect.remove(ph["expect"])
            if label is not None:
                expect = (now, self.expected(kind, cost, like, scale))
                self._phase = {"label": label, "kind": kind, "cost": cost, "t0": now,
                               "expect": expect, "depth": self.depth, "scale": scale}
                if self.live:
                    self._inner.append(label)
                    self._expect.append(expect)
            if self.live and self._top is not None:
                self._draw()

    def _group_left(self, g: dict, running: float) -> tuple[float, bool] | None:
        """(seconds left, over) for a :meth:`group`, the running step having run ``running``
        s: the costs of the steps not done at the seconds per unit of cost of those done (of
        the earlier steps of the group's kind before the first is done), less the time the
        running step has already had; once the running step has had more than its share
        (``over``), what the steps after it need (the running one's rest is unknown)."""
        costs = g["costs"]
        k = min(g["done"], len(costs))
        own = self._speed_of.get(g["kind"]) if g["kind"] is not None else None
        if own is not None and own[1] > 0 and g["kind"] in self._reference:
            # steps of a kind with a reference: each on the reference's a + b x cost at the
            # kind's speed (as :meth:`expected` times each step)
            each = [self.expected(g["kind"], c) for c in costs[k:]]
            if each and all(e is not None for e in each):
                after, left = sum(each[1:]), sum(each) - running
                return (left, False) if left >= after else (after, True)
        if g["spent_cost"] > 0:
            rate = g["spent"] / g["spent_cost"]
        elif g["kind"] is not None and self._rates.get(g["kind"], [0, 0])[1] > 0:
            rate = self._rates[g["kind"]][0] / self._rates[g["kind"]][1]
        else:
            # nothing of the kind has run: each step's reference time at this run's speed
            each = [self.expected(g["kind"], c) for c in costs[k:]]
            if not each or any(e is None for e in each):
                return None
            after, left = sum(each[1:]), sum(each) - running
            return (left, False) if left >= after else (after, True)
        after = rate * sum(costs[k + 1:])
        left = rate * sum(costs[k:]) - running
        return (left, False) if left >= after else (after, True)

    @contextmanager
    def group(self, what: str, total: int, *, costs=None, kind: str | None = None):
        """A run of ``total`` top-level steps of one kind (e.g. the CFA of every instrument):
        the live line adds ``(CFA 2/4, about 9 s left)`` -- the time left for the run.
        ``costs``: the expected cost of each step (e.g. cases x items^2), so that the time left
        is the cost not done at the seconds per unit of cost of the steps done (without: each
        step costs the same, the mean time of those done); ``kind``: the steps' kind (see
        :meth:`step`): each step then shows its own time left once one step of the kind has
        run, and the run's from its first step if one ran earlier.  Only on a terminal."""
        outer = self._group
        costs = [float(c) for c in costs] if costs is not None else [1.0] * int(total)
        if len(costs) != int(total):
            raise ValueError("group: one cost per step")
        self._group = {"what": what, "total": int(total), "done": 0, "started": 0,
                       "costs": costs, "kind": kind, "spent": 0.0, "spent_cost": 0.0}
        try:
            yield self
        finally:
            self._group = outer

    def share(self, label: str, share: float, **kw):
        """A bar for a measured part of a step that takes ``share`` (0-1) of the step's time
        (e.g. reading a file by bytes, about half of loading the data): returns ``update(done,
        total)`` for the part; the bar shows the whole step, the part's fraction done times
        ``share``, and after the part the rest at the rate the part ran, counted down."""
        n = 1000
        update = self.bar(label, n, counts=False, **kw)

        def part(done: float, total: float) -> None:
            if total > 0:
                update(min(n - 1, int(n * share * min(done, total) / total)))

        return part

    def bar(self, label: str, total: int, *, min_seconds: float = 1.0, interval: float = 0.2,
            counts: bool = True, setup: bool = False, parallel: int = 1):
        """Return a callback ``update(done, total=None)`` for a loop of ``total`` units (draws,
        iterations, fits) that shows a bar with the time elapsed and an estimate of the time
        left (``label [####......] 310/1000  4 s, about 9 s left``), redrawn in place at most
        every ``interval`` seconds once the loop has run ``min_seconds``.  Inside a step it is
        part of the step's live line (and gone when the loop ends); outside any step it is a
        line of its own, ended when the loop ends.  Only on a terminal: on a pipe or log file
        (and with ``enabled=False``) the callback does nothing, so nothing of it reaches logs
        or results.  Pass it as the ``progress=`` argument of a long analysis (e.g.
        :func:`psychometrics.sem.bootstrap.bootstrap`).  Between two calls the estimate counts
        down with the clock.  ``counts=False``: no ``done/total`` (units that are not worth
        showing, e.g. weights); an empty ``label`` shows the running inner step's label.
        ``setup=True``: the loop spends a set-up of unknown length before its first units
        (e.g. starting worker processes): the rate is measured from the first update on (the
        units done after it over the time since); ``update.start()`` marks the end of the
        set-up (the units begin), so that the first update already gives an estimate (the
        units done over the time since; ``parallel``: the units are done by that many processes
        at once, so that at the first update as many more are under way), else the first
        estimate appears at the second update."""
        state = {"t0": self._clock(), "last": -1.0, "shown": False, "closed": False,
                 "label": label, "own_line": self.depth == 0, "counts": counts,
                 "first": None, "units": None}
        width = 30

        def update(done: int, total_: int | None = None) -> None:
            tot = total_ or total
            if not self.live or tot <= 0 or state["closed"]:
                return
            now = self._clock()
            elapsed = now - state["t0"]
            finished = done >= tot
            if setup and state["first"] is None:
                state["first"] = (now, done)
            if not finished and (elapsed < min_seconds or now - state["last"] < interval):
                return
            with _LOCK:
                if finished and not state["shown"]:
                    state["closed"] = True
                    return
                state["last"] = now
                if setup:       # the rate of the units after the first update
                    t1, d1 = state["first"]
                    if done > d1:
                        left = eta(done - d1, tot - d1, now - t1)
                    elif state["units"] is not None:    # at the first: since the units began
                        left = eta(min(tot, done * max(1, parallel)), tot,
                                   now - state["units"])
                    else:
                        left = None
                else:
                    left = eta(done, tot, elapsed)
                state.update(done=done, total=tot, at=now, elapsed=elapsed,
                             left=None if finished else left,
                             width=width if state["own_line"] else 20)
                text = _bar_text(state, now)[0]
                if not state["shown"]:
                    state["shown"] = True
                    if not state["own_line"]:
                        self._bars.append(state)
                if state["own_line"]:
                    if finished:
                        self._draw(final=f"    {label} {text}")
                    else:
                        self._draw_own(f"    {label} {text}")
                else:
                    if finished and state in self._bars:
                        self._bars.remove(state)
                    self._draw()
                if finished:
                    state["closed"] = True

        def start() -> None:
            state["units"] = self._clock()

        update.start = start
        return update

    def _draw_own(self, text: str) -> None:
        """A bar outside any step: its own live line."""
        with _LOCK:
            width = self._width()
            if len(text) > width:
                text = text[:width - 1] + "…"
            pad = max(0, self._drawn - len(text))
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            self._drawn = len(text)

    def info(self, text: str) -> None:
        """A line of text (on a terminal below the live line, which is then redrawn)."""
        if self.live and self._drawn:
            with _LOCK:
                self.stream.write("\r" + " " * self._drawn + "\r" + text + "\n")
                self._drawn = 0
                if self._top is not None:
                    self._draw()
        else:
            self._write(text + "\n")
