"""Peak memory and CPU of each step of the ``validate`` run (issue 13), at a given N.

    python benchmarks/bench_validate_memory.py --n 50000                 # simulate, then measure
    python benchmarks/bench_validate_memory.py --n 200000 --bootstrap 100
    python benchmarks/bench_validate_memory.py --n 1000000 --steps screening items reliability

The simulated example study (``simulate_example_study``: 4 instruments, 34 items, MLR + FIML,
3 % missing) is written by a separate process first, so the figures are those of the
``validate`` run alone (study + data loading included).  Then, in this process, every pipeline
step is wrapped and each line prints the step's CPU seconds, its peak resident memory (the
kernel's high-water mark ``VmHWM``, reset before each step through ``/proc/self/clear_refs``,
so no transient is missed; a sampling thread missed peaks shorter than its period), the
largest proportional set size of the process with its worker processes (``Pss`` of
``/proc/PID/smaps_rollup`` summed over the process tree, sampled every 20 ms: forked workers
share the data copy-on-write, so their summed resident sizes would count it several times),
the resident memory left after it and the load average.  ``--steps`` runs only the named steps (the others are
skipped), to measure the cheap steps at sizes where the whole run is too long.
``--outputs`` also writes the output files (``write_outputs``, every format), each file a
step measured the same way (their CPU is in the whole run's).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from _memory import hwm_mb, reset_hwm, rss_mb  # noqa: E402

STEPS = ["screening", "items", "reliability", "scale_scores", "efa", "cfa", "invariance",
         "measurement", "validity", "structural"]


def _tree(pid: int) -> list:
    out = [pid]
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as fh:
                for c in fh.read().split():
                    out += _tree(int(c))
    except OSError:
        pass
    return out


def _tree_pss_mb() -> float:
    total = 0.0
    for pid in _tree(os.getpid()):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) / 1024
                        break
        except OSError:
            pass
    return total


class Sampler(threading.Thread):
    """Samples the resident memory every 10 ms; with ``where``, also keeps the main thread's
    stack (the project's frames) at the moment of each step's peak."""

    def __init__(self, where: bool = False):
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self.pss = 0.0
        self.stop = False
        self.where = where
        self.stack: list = []
        self.main_id = threading.main_thread().ident

    def run(self):
        while not self.stop:
            rss = rss_mb()
            if rss > self.peak:
                if self.where and rss > self.peak + 1:
                    self.stack = _project_stack(sys._current_frames().get(self.main_id))
                self.peak = rss
            self.pss = max(self.pss, _tree_pss_mb())
            time.sleep(0.02)

    def reset(self):
        self.peak = rss_mb()
        self.pss = 0.0
        self.stack = []


def _project_stack(frame) -> list:
    """``file:line function`` of the frames of ``psychometrics`` in ``frame``'s stack."""
    out = []
    while frame is not None:
        code = frame.f_code
        if "psychometrics" in code.co_filename and "benchmarks" not in code.co_filename:
            name = code.co_filename.split("psychometrics", 1)[1].lstrip("/\\")
            out.append(f"{name}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return out[::-1]


def _load() -> str:
    return "%.1f" % os.getloadavg()[0]


def simulate(n: int, folder: Path) -> Path:
    code = ("import sys; from pathlib import Path; from psychometrics.simulate import "
            "simulate_example_study as s; n = int(sys.argv[1]); nf = int(round(n * 225 / 324)); "
            "print(s(Path(sys.argv[2]), n_female=nf, n_male=n - nf).files['study'])")
    out = subprocess.run([sys.executable, "-c", code, str(n), str(folder)], check=True,
                         capture_output=True, text=True, cwd=str(HERE.parent))
    return Path(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--bootstrap", type=int, default=100)
    ap.add_argument("--steps", nargs="*", default=None, help="run only these steps")
    ap.add_argument("--study", default=None, help="an existing study file (no simulation)")
    ap.add_argument("--where", action="store_true",
                    help="print where (the project's call stack) each step reached its peak")
    ap.add_argument("--outputs", action="store_true",
                    help="also write the outputs (results.json, report.html, appendix.docx, "
                         "appendix.tex, tables.xlsx, data-changes.csv; write_outputs), each "
                         "file measured as a step")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    from psychometrics.report import steps as st
    from psychometrics.report.pipeline import run_validation
    import psychometrics.io as pio

    sampler = Sampler(args.where)
    sampler.start()
    rows = []

    def wrap(name, fn):
        def inner(*a, **k):
            sampler.reset()
            exact = reset_hwm()
            c0, t0 = time.process_time(), time.perf_counter()
            out = fn(*a, **k)
            cpu, wall = time.process_time() - c0, time.perf_counter() - t0
            sampler.peak = max(sampler.peak, rss_mb())
            peak = hwm_mb() if exact else None
            peak = sampler.peak if peak is None else peak
            pss = max(sampler.pss, _tree_pss_mb())
            rows.append((name, cpu, wall, peak, rss_mb(), _load()))
            print(f"  {name:14s} {cpu:8.2f} s CPU {wall:8.2f} s wall  peak {peak:7.0f} MB"
                  f"{'' if exact else ' (sampled)'}  tree PSS {pss:7.0f} MB"
                  f"  after {rss_mb():7.0f} MB  load {_load()}", flush=True)
            if args.where and sampler.stack:
                print("      peak at: " + "\n               ".join(sampler.stack[-8:]),
                      flush=True)
            return out
        return inner

    pio.load_dataset = wrap("load data", pio.load_dataset)
    for s in STEPS:
        fn = getattr(st, "step_" + s)
        if args.steps is not None and s not in args.steps:
            setattr(st, "step_" + s, lambda r: None)
        else:
            setattr(st, "step_" + s, wrap(s, fn))

    if args.outputs:
        import psychometrics.report.docx as rdocx
        import psychometrics.report.html as rhtml
        import psychometrics.report.jsonfile as rjson
        import psychometrics.report.latex as rlatex
        import psychometrics.report.pipeline as rpipe
        import psychometrics.report.xlsx as rxlsx
        for name, mod, attr in (("write json", rjson, "write_json"),
                                ("write html", rhtml, "render_html"),
                                ("write docx", rdocx, "render_docx"),
                                ("write tex", rlatex, "render_latex"),
                                ("write xlsx", rxlsx, "render_xlsx"),
                                ("write changes", rpipe, "write_changes_csv")):
            setattr(mod, attr, wrap(name, getattr(mod, attr)))

    with tempfile.TemporaryDirectory() as tmp:
        if args.study:
            study = Path(args.study)
        else:
            t0 = time.perf_counter()
            study = simulate(args.n, Path(tmp) / "ex")
            print(f"simulated N = {args.n} in {time.perf_counter() - t0:.1f} s (separate process)",
                  flush=True)
        print(f"validate N = {args.n}, {args.bootstrap} bootstrap draws, no figures; "
              f"load average {_load()}; resident before: {rss_mb():.0f} MB", flush=True)
        c0, t0 = time.process_time(), time.perf_counter()
        run = run_validation(study, Path(tmp) / "out", bootstrap=args.bootstrap, figures=False)
        if args.outputs:
            from psychometrics.report.pipeline import write_outputs
            paths = write_outputs(run, Path(tmp) / "out")
            print("  written: " + ", ".join(f"{k} {Path(v).stat().st_size / 2 ** 20:.1f} MB"
                                           for k, v in paths.items()), flush=True)
        del run
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss is the kernel's VmHWM, which every step resets: the run's peak is the largest
    # step peak (or ru_maxrss where the high-water mark could not be reset)
    peak = max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0]
               + [r[3] for r in rows])
    top = max(rows, key=lambda r: r[3])[0] if rows else "-"
    print(f"whole run: {cpu:.1f} s CPU (+ {ch.ru_utime + ch.ru_stime:.1f} s in worker and "
          f"simulation processes), {wall:.1f} s wall, peak {peak:.0f} MB (step {top}) = "
          f"{peak * 1024 / args.n:.1f} KB a case; load average {_load()}", flush=True)


if __name__ == "__main__":
    main()
