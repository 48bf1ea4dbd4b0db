"""The progress display's estimates of the time left, measured (issue 13).

    python benchmarks/bench_progress.py calibrate --n 324 200000     # reference seconds per kind
    python benchmarks/bench_progress.py live --n 200000 --bootstrap 20 # validate on a terminal
    python benchmarks/bench_progress.py fits --n 324 200000             # structural / measurement fit
    python benchmarks/bench_progress.py writers --n 200000              # each report file, timed

``calibrate``: runs the whole pipeline (``run_validation``, figures on, progress display off)
on the simulated example study (``simulate_example_study``: 4 instruments, 34 items, MLR +
FIML) at each N, takes every step's and measured part's (kind, cost, seconds) from
``Progress.records`` and fits, per kind, seconds = a + b x cost by least squares over all
sizes (a, b >= 0); prints the points and the dict for ``steps.REFERENCE_SECONDS``.

``live``: runs ``psychometrics validate`` on a pseudo-terminal (120 columns), logs every
redraw of the live line with its time, and prints (1) every stretch of more than 2 s in
which the live line shows no estimate of the time left (no ``about N s left``, ``longer
than``, ``more than N s left``), (2) for each step and nested step the first estimate
shown (the time elapsed plus the time said to be left) against the time it took.  The log
is kept (``--log``).  Every figure is printed with the load average.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def _study(n: int, folder: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    from bench_validate_memory import simulate
    return simulate(n, folder / f"ex{n}")


# -- calibrate -------------------------------------------------------------------------------
def calibrate(args) -> None:
    import numpy as np

    from psychometrics.report.pipeline import run_validation
    from psychometrics.report.progress import Progress

    points: dict[str, list[tuple[float, float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            study = _study(n, Path(tmp), None)
            pr = Progress(enabled=False)
            t0 = time.perf_counter()
            run_validation(study, Path(tmp) / f"out{n}", bootstrap=args.bootstrap, progress=pr)
            print(f"N = {n}: whole run {time.perf_counter() - t0:.1f} s ({_load()})", flush=True)
            for label, kind, cost, sec in pr.records:
                print(f"  {label:32s} {kind:14s} cost {cost:12.4g}  {sec:7.2f} s")
                points.setdefault(kind, []).append((cost, sec, n))
    print("\nseconds = a + b x cost, least squares over all sizes (a, b >= 0):")
    out = {}
    for kind, pts in points.items():
        c = np.array([p[0] for p in pts])
        t = np.array([p[1] for p in pts])
        A = np.column_stack([np.ones_like(c), c])
        (a, b), *_ = np.linalg.lstsq(A, t, rcond=None)
        if np.ptp(c) == 0 or b < 0:      # one cost (e.g. a figure): the mean time
            a, b = float(t.mean()), 0.0
        elif a < 0:
            a, b = 0.0, float(c @ t / (c @ c))
        out[kind] = (round(float(a), 3), float(f"{b:.4g}"))
        print(f"  {kind:14s} a = {a:7.3f} s  b = {b:.4g} s per unit  ({len(pts)} points)")
    print("\nREFERENCE_SECONDS =", out, f"  ({_load()})")


# -- fits ------------------------------------------------------------------------------------
def fits(args) -> None:
    """The full measurement model's ``cfa()`` and the structural model's ``sem()`` on the same
    data, one after the other in one process as in the pipeline: their ratio is what the
    structural fit's reference is (``steps.REFERENCE_SECONDS``)."""
    import pandas as pd

    from psychometrics import io as pio
    from psychometrics import scales
    from psychometrics.report.steps import keyed_items
    from psychometrics.sem import cfa, sem

    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            study = scales.load_study(_study(n, Path(tmp), args.study))
            ds = pio.load_dataset(study)
            r = type("R", (), {"study": study, "dataset": ds})()
            data = pd.concat([keyed_items(r, si) for si in study.instruments], axis=1)
            meas = "\n".join(si.cfa_syntax() for si in study.instruments)
            model = meas + "\n" + study.structural["model"].strip()
            kw = dict(estimator=study.estimator, missing=study.missing)
            took = []
            for name, fn, m in (("measurement cfa()", cfa, meas), ("structural sem()", sem, model)):
                t, c = time.perf_counter(), time.process_time()
                fn(m, data, **kw)
                took.append(time.perf_counter() - t)
                print(f"N = {len(data)} {name}: {took[-1]:.1f} s wall, "
                      f"{time.process_time() - c:.1f} s CPU ({_load()})", flush=True)
            print(f"N = {len(data)} structural / measurement: {took[1] / took[0]:.2f}")


# -- writers ---------------------------------------------------------------------------------
def writers(args) -> None:
    """Run the pipeline at N (progress off), then time ``write_outputs`` of each file format
    (``--repeat`` times, as the CLI writes them: one at a time) and results.json's encoding:
    ``json.dumps(indent=1)`` against ``jsonfile.dumps_indented`` (the same text, checked)."""
    import json
    import warnings

    from psychometrics._results import jsonable
    from psychometrics.report.jsonfile import dumps_indented
    from psychometrics.report.layout import shared_layouts
    from psychometrics.report.pipeline import run_validation, write_outputs

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            study = _study(n, Path(tmp), args.study)
            out = Path(tmp) / f"out{n}"
            run = run_validation(study, out, bootstrap=args.bootstrap)
            print(f"N = {n}: pipeline done ({_load()})", flush=True)
            for rep in range(args.repeat):
                with shared_layouts():
                    for fmt in ("json", "html", "docx", "tex", "xlsx", "changes"):
                        t, c = time.perf_counter(), time.process_time()
                        write_outputs(run, out, formats=(fmt,))
                        print(f"  {fmt:8s} {time.perf_counter() - t:6.2f} s wall "
                              f"{time.process_time() - c:6.2f} s CPU ({_load()})", flush=True)
            data = jsonable(run.results)
            for rep in range(args.repeat):
                c = time.process_time()
                old = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
                c_old = time.process_time() - c
                c = time.process_time()
                new = dumps_indented(data)
                c_new = time.process_time() - c
                print(f"  results.json text ({len(new):,} characters): json.dumps {c_old:.2f} s "
                      f"CPU, dumps_indented {c_new:.2f} s CPU, same text: {old == new} "
                      f"({_load()})", flush=True)


# -- live ------------------------------------------------------------------------------------
def _run_on_pty(cmd, log_path: Path, cols: int = 120) -> float:
    """Run ``cmd`` on a pseudo-terminal; write '<seconds>\\t<text>' for every redraw of the
    live line (segments between carriage returns / line ends, timed by their first byte)."""
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["COLUMNS"] = str(cols)
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    buf, start = "", 0.0
    with open(log_path, "w") as log:
        while True:
            try:
                ready, _, _ = select.select([fd], [], [], 1.0)
                if not ready:
                    continue
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            t = time.monotonic() - t0
            if not buf:
                start = t
            buf += data.decode("utf-8", "replace")
            while True:
                ends = [k for k in (buf.find("\r"), buf.find("\n")) if k >= 0]
                if not ends:
                    break
                i = min(ends)
                seg, buf = buf[:i], buf[i + 1:]
                if seg.strip():
                    log.write(f"{start:.2f}\t{seg.rstrip()}\n")
                start = t
    os.waitpid(pid, 0)
    return time.monotonic() - t0


_EST = re.compile(r"about .* left|longer than|more than .* left")
_FINAL = re.compile(r"^(\[\d+/\d+\] .*?) \.\.\. (\d+\.\d) s$")
_STEP = re.compile(r"^(\[\d+/\d+\] )")


def _secs(text: str) -> float:
    m = re.fullmatch(r"(\d+) min (\d+) s|(\d+) s", text.strip())
    if not m:
        return float("nan")
    return int(m.group(1)) * 60 + int(m.group(2)) if m.group(1) else float(m.group(3))


def analyse(log_path: Path, gap: float = 2.0) -> None:
    rows = []
    for line in open(log_path):
        t, _, text = line.rstrip("\n").partition("\t")
        rows.append((float(t), text))
    print(f"\nstretches over {gap:.0f} s without an estimate of the time left:")
    cur, g0, gline, n_gaps = None, None, "", 0

    def close(t):
        nonlocal g0, n_gaps
        if g0 is not None and t - g0 > gap:
            print(f"  {g0:7.1f}-{t:7.1f} s  {t - g0:5.1f} s  {gline}")
            n_gaps += 1
        g0 = None

    for t, text in rows:
        m = _STEP.match(text)
        step = m.group(1) if m else None
        if _FINAL.match(text):
            close(t)
            cur = None
            continue
        if step != cur:
            close(t)
            cur = step
        if _EST.search(text):
            close(t)
        elif g0 is None:
            g0, gline = t, text
        else:
            gline = text
    if not n_gaps:
        print("  none")
    # first estimate of each step (own, top level) and nested step against its time taken
    print("\nfirst estimate of each step (elapsed + left when first shown) against the time taken:")
    first: dict[str, tuple[float, float]] = {}
    nested_first: dict[str, tuple[float, float, str]] = {}
    starts: dict[str, float] = {}
    for t, text in rows:
        m = re.match(r"^(\[\d+/\d+\]) ", text)
        if not m:
            continue
        key = m.group(1)
        starts.setdefault(key, t)
        f = _FINAL.match(text)
        if f:
            said = first.get(key)
            taken = float(f.group(2))
            if said is not None:
                print(f"  {f.group(1)[:60]:60s} said {said[1]:6.1f} s at {said[0]:5.1f} s, took {taken:6.1f} s")
            elif taken > gap:
                print(f"  {f.group(1)[:60]:60s} no estimate of its own,        took {taken:6.1f} s")
            for lab, (at, tot, _) in nested_first.items():
                if lab.startswith(key):
                    print(f"      {lab[len(key):][:56]:56s} said {tot:6.1f} s at {at:5.1f} s (nested)")
            continue
        own = re.match(r"^\[\d+/\d+\] .*? \.\.\.(?: ((?:\d+ min )?\d+ s))?,? about ((?:\d+ min )?\d+ s) left", text)
        if own and key not in first:
            el = t - starts[key]
            first[key] = (el, el + _secs(own.group(2)))
        nest = re.search(r"\| ([A-Za-z][^|\[(]*?), about ((?:\d+ min )?\d+ s) left", text)
        if nest:
            lab = key + " " + nest.group(1).strip()
            if lab not in nested_first:
                el = t - starts[key]
                nested_first[lab] = (el, el + _secs(nest.group(2)), text)


def live(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        study = _study(args.n, Path(tmp), args.study)
        log = Path(args.log)
        cmd = [str(Path(sys.executable).parent / "psychometrics"), "validate", str(study), "--out",
               str(Path(tmp) / "out"), "--bootstrap", str(args.bootstrap)]
        print(f"psychometrics {' '.join(cmd[1:])}  (start: {_load()})", flush=True)
        wall = _run_on_pty(cmd, log)
        print(f"whole run {wall:.1f} s wall ({_load()} at the end); log: {log}")
    analyse(log)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("calibrate")
    c.add_argument("--n", type=int, nargs="+", default=[324, 200_000])
    c.add_argument("--bootstrap", type=int, default=20)
    lv = sub.add_parser("live")
    lv.add_argument("--n", type=int, default=200_000)
    lv.add_argument("--study", default=None, help="an existing study file (no simulation)")
    lv.add_argument("--bootstrap", type=int, default=20)
    lv.add_argument("--log", default="bench_progress_live.log")
    fi = sub.add_parser("fits", help="the measurement and structural fits, timed")
    fi.add_argument("--n", type=int, nargs="+", default=[200_000])
    fi.add_argument("--study", default=None)
    wr = sub.add_parser("writers", help="each report file's writer, timed")
    wr.add_argument("--n", type=int, nargs="+", default=[200_000])
    wr.add_argument("--study", default=None)
    wr.add_argument("--bootstrap", type=int, default=20)
    wr.add_argument("--repeat", type=int, default=2)
    an = sub.add_parser("analyse", help="analyse a log written by 'live'")
    an.add_argument("log")
    args = ap.parse_args(argv)
    {"calibrate": calibrate, "live": live, "fits": fits, "writers": writers,
     "analyse": lambda a: analyse(Path(a.log))}[args.cmd](args)


if __name__ == "__main__":
    main()
