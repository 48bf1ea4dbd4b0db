"""Parallel analysis speed: psychometrics against psych::fa.parallel, side by side.

    python benchmarks/bench_efa.py                 # 1,000 iterations, bfi (25 items, N = 2,800)
    python benchmarks/bench_efa.py --n-iter 200 --no-r
    python benchmarks/bench_efa.py --demo          # the EFA step of `psychometrics demo`, CPU

psych::fa.parallel(x, fa = "both", n.iter = k) makes, per iteration, one simulated normal data
set *and* one resampled data set, and for each the principal-component eigenvalues and the
eigenvalues of a one-factor minres solution.  The same work here is
parallel_analysis(data="normal") + parallel_analysis(data="resample"), both kind="both".
psych is timed inside R (system.time, R start-up excluded) with its default mclapply cores
(options mc.cores; 2 on this machine unless set) and again on one core.

``--demo`` times the statistics of the EFA step of ``psychometrics demo`` instead: the report
pipeline's own ``step_efa`` on the simulated example study (4 instruments: dimensionality with
100 random data sets, the EFA, the split-half validation), without figures, every other step
skipped; CPU seconds of the step and of the analyses inside it (the split half's CFA is the
SEM engine's), repeated ``--reps`` times, with the load average.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data" / "bfi.csv"
ITEMS = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(psych))
args <- commandArgs(TRUE)
x <- read.csv(args[1])[, strsplit(args[2], ",")[[1]]]
k <- as.integer(args[3]); cores <- as.integer(args[4])
options(mc.cores = cores)
set.seed(1)
t <- system.time(pa <- fa.parallel(x, fa = "both", n.iter = k, plot = FALSE))
cat(sprintf('{"elapsed": %.4f, "ncomp": %d, "nfact": %d}\n', t[["elapsed"]], pa$ncomp, pa$nfact))
"""


def time_psych(n_iter: int, cores: int) -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
        path = fh.name
    try:
        out = subprocess.run([rscript, path, str(DATA), ",".join(ITEMS), str(n_iter), str(cores)],
                             capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, OSError) as exc:  # psych missing, etc.
        print(f"psych could not be timed: {exc}", file=sys.stderr)
        return None
    finally:
        Path(path).unlink(missing_ok=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_ours(n_iter: int) -> dict:
    import psychometrics as pm

    x = pd.read_csv(DATA)[ITEMS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm.parallel_analysis(x.iloc[:200], n_iter=2, seed=0)          # import and warm-up
        t0 = time.perf_counter()
        a = pm.parallel_analysis(x, n_iter=n_iter, seed=1, kind="both", data="normal")
        t1 = time.perf_counter()
        b = pm.parallel_analysis(x, n_iter=n_iter, seed=1, kind="both", data="resample")
        t2 = time.perf_counter()
    return {"normal": t1 - t0, "resample": t2 - t1, "elapsed": t2 - t0,
            "ncomp": a.n_components, "nfact": a.n_factors}


def time_demo_efa(reps: int) -> None:
    """CPU of the pipeline's EFA step on the example study (figures off, other steps skipped)."""
    import importlib
    import os
    import statistics
    from collections import defaultdict

    import psychometrics.report.steps as S
    from psychometrics.report.pipeline import run_validation
    from psychometrics.simulate import simulate_example_study

    sim = simulate_example_study(Path(tempfile.mkdtemp(prefix="psychometrics-bench-")) / "example")
    for name in dir(S):       # only the overview (the report needs it) and the EFA step run
        if name.startswith("step_") and name not in ("step_overview", "step_efa", "step_methods"):
            setattr(S, name, lambda *a, **k: None)
    cpu: dict = defaultdict(float)
    E = importlib.import_module("psychometrics.efa")      # pm.efa is the function
    SEM = importlib.import_module("psychometrics.sem")

    def timed(mod, name, key):
        fn = getattr(mod, name)

        def wrapper(*a, **k):
            c0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                cpu[key] += time.process_time() - c0
        setattr(mod, name, wrapper)

    order = ["EFA step", "dimensionality", "efa", "split_half_validation",
             "of which its CFA (SEM engine)"]
    timed(S, "step_efa", order[0])
    timed(E, "dimensionality", order[1])
    timed(E, "efa", order[2])
    timed(E, "split_half_validation", order[3])
    timed(SEM, "cfa", order[4])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_validation(sim.files["study"], None, figures=False)     # imports, warm-up
        print(f"EFA step of the demo (example study, 4 instruments, 100 random data sets, split "
              f"half), no figures, {reps} runs, CPU seconds per run:")
        runs = []
        for k in range(reps):
            cpu.clear()
            load = os.getloadavg()[0]
            run = run_validation(sim.files["study"], None, figures=False)
            assert not run.results["errors"], run.results["errors"]
            runs.append(dict(cpu))
            print(f"  run {k + 1} (load average {load:.1f}): "
                  + "; ".join(f"{name} {runs[-1][name]:.3f}" for name in order))
        print(f"  median of {reps} (load average {os.getloadavg()[0]:.1f} after): "
              + "; ".join(f"{name} {statistics.median(r[name] for r in runs):.3f}"
                          for name in order))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", action="store_true",
                    help="time the EFA step of the demo (example study) instead")
    ap.add_argument("--reps", type=int, default=5, help="runs of --demo")
    ap.add_argument("--n-iter", type=int, default=1000)
    ap.add_argument("--no-r", action="store_true", help="do not time psych")
    ap.add_argument("--r-cores", type=int, nargs="*", default=[2, 1],
                    help="mclapply cores for psych runs (default: 2 and 1)")
    args = ap.parse_args(argv)
    if args.demo:
        time_demo_efa(args.reps)
        return 0
    print(f"Parallel analysis, bfi: 25 items, N = 2800, {args.n_iter} iterations "
          "(simulated + resampled data, components + factors)")
    ours = time_ours(args.n_iter)
    print(f"  psychometrics: {ours['elapsed']:8.2f} s  (normal {ours['normal']:.2f} s, resample "
          f"{ours['resample']:.2f} s; one process)  -> {ours['ncomp']} components, {ours['nfact']} factors")
    if args.no_r:
        return 0
    for cores in args.r_cores:
        r = time_psych(args.n_iter, cores)
        if r is None:
            print("  psych: Rscript/psych not available; no comparison")
            return 0
        print(f"  psych::fa.parallel (mc.cores = {cores}): {r['elapsed']:8.2f} s  -> {r['ncomp']} components, "
              f"{r['nfact']} factors;  ratio psych / ours = {r['elapsed'] / ours['elapsed']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
