"""CPU of the statistics of the demo, step by step (no figures or imports; bootstraps: --bootstrap).

    python benchmarks/bench_statistics.py [--repeat 3] [--imports] [--profile FILE] [--bootstrap N]

Runs the validation of the example study (as ``psychometrics demo``) with figures off and no
bootstrap draws (omega, HTMT and structural-model CIs: 0 draws), so what is timed is the
statistics alone: screening, item analysis, reliability point estimates, scale descriptives,
EFA (with parallel analysis and split half), CFA, invariance, measurement model, validity
point estimates, structural model fit, modification indices and residuals.

Each run is a fresh process, as the demo is: a run in a process that has already run the
pipeline would find the FIML patterns and EM estimates of the same data in the engine's
caches and look cheaper than the demo.  Before timing, the child imports every module the
pipeline imports (listed by an untimed first child), so imports are not counted (they are
the demo's "imports" part; ``--imports`` counts the ones made inside the steps).  Each of
``--repeat`` runs prints nothing; then the smallest CPU seconds (``time.process_time``) of
every top-level step over the runs are printed with the load average (the machine is
shared: the minimum over runs is the least disturbed figure).  The total of the demo adds
the figures, the documents, the imports and the three bootstraps (``bench_demo.py``).
``--profile FILE`` writes a cProfile (CPU clock) of one more run.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def _children_cpu() -> float:
    """CPU seconds (user + sys) of this process's ended and waited-for children (the
    structural bootstrap's worker processes)."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _progress_class():
    from psychometrics.report.progress import Progress

    class CPUProgress(Progress):
        """Progress that also records the CPU seconds of every top-level step."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.cpu: dict[str, float] = {}

        @contextmanager
        def step(self, label, **kw):
            top = self.depth == 0
            c0 = time.process_time() + _children_cpu()
            with super().step(label, **kw) as s:
                yield s
            if top:
                self.cpu[label] = (self.cpu.get(label, 0.0) + time.process_time()
                                   + _children_cpu() - c0)

    return CPUProgress


def _child(mode: str, modules: str | None, profile: str | None, draws: int = 0) -> None:
    """One run in this process; prints {"cpu": {step: s}, "total": s, "modules": [...]}."""
    import importlib

    import psychometrics.cli  # noqa: F401  (what the demo has imported before it runs)
    from psychometrics.report.pipeline import run_validation
    from psychometrics.simulate import simulate_example_study

    before = set(sys.modules)
    if modules:
        for m in json.loads(Path(modules).read_text()):
            try:
                importlib.import_module(m)
            except Exception:  # noqa: BLE001 - a module that imports only in context
                pass
    out = Path(tempfile.mkdtemp(prefix="psychometrics-stats-"))
    study = simulate_example_study(out / "example").files["study"]
    prog = _progress_class()(stream=io.StringIO())
    prof = None
    if profile:
        import cProfile
        prof = cProfile.Profile(time.process_time)
        prof.enable()
    c0 = time.process_time() + _children_cpu()
    run_validation(study, out, bootstrap=draws, sem_bootstrap=draws, omega_bootstrap=draws,
                   figures=False, progress=prog)
    total = time.process_time() + _children_cpu() - c0
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)
    print(json.dumps({"cpu": prog.cpu, "total": total,
                      "modules": sorted(set(sys.modules) - before)}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    ap.add_argument("--imports", action="store_true",
                    help="count the imports made inside the steps (not imported beforehand)")
    ap.add_argument("--profile", default=None, help="write a cProfile of one more run here")
    ap.add_argument("--bootstrap", type=int, default=0,
                    help="draws of every bootstrap (omega, HTMT, structural model; default 0, "
                         "the demo: 1000); CPU of the worker processes counted in the step")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--modules", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child, args.modules, args.profile, args.bootstrap)
        return 0

    here = Path(__file__).resolve()

    def child(modules=None, profile=None):
        cmd = [sys.executable, str(here), "--child", "run", "--bootstrap", str(args.bootstrap)]
        if modules:
            cmd += ["--modules", modules]
        if profile:
            cmd += ["--profile", profile]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(res.stdout.strip().splitlines()[-1])

    modules = None
    if not args.imports:
        first = child()                       # untimed: which modules does a run import?
        fd, modules = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        Path(modules).write_text(json.dumps(first["modules"]))
    best: dict[str, float] = {}
    totals = []
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeat):
        res = child(modules)
        loads.append(os.getloadavg()[0])
        totals.append(res["total"])
        for k, v in res["cpu"].items():
            best[k] = min(best.get(k, float("inf")), v)
    if args.profile:
        child(modules, args.profile)
    if modules:
        os.unlink(modules)
    print(f"statistics of the demo (figures off, {args.bootstrap} bootstrap draws, imports "
          f"{'counted' if args.imports else 'made beforehand'}): CPU {min(totals):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in totals)}; load average "
          f"{' / '.join(f'{x:.1f}' for x in loads)}); sum of the smallest per step "
          f"{sum(best.values()):.2f} s")
    print("CPU seconds per step (smallest of the runs):")
    groups: dict[str, float] = {}
    for label, secs in best.items():
        head = label.split(":")[0]
        groups[head] = groups.get(head, 0.0) + secs
    for label, secs in sorted(best.items(), key=lambda kv: -kv[1]):
        print(f"  {secs:6.3f}  {label}")
    print("by kind of step:")
    for head, secs in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {secs:6.3f}  {head}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
