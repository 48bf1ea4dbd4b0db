"""Speed of the estimation extensions (MLR, FIML, bootstrap), side by side with lavaan.

    python benchmarks/bench_robust.py            # lavaan too when Rscript is present
    python benchmarks/bench_robust.py --no-r --boot 1000 --jobs 2
    python benchmarks/bench_robust.py --boot-only      # only workload 3, one core each side
    python benchmarks/bench_robust.py --structural 1000   # the example study's structural model
    python benchmarks/bench_robust.py --structural 1000 --structural-jobs 2 --seed 20261122  # as the demo

Three workloads (as in issue 3):
1. the four-model MLR invariance sequence (configural, metric, scalar, strict) of the bfi
   five-factor model by gender, listwise (N = 2,236): fit + fit_measures() per model;
2. the same sequence with FIML (N = 2,800; 87 missing-data patterns overall);
3. 1,000 nonparametric bootstrap refits of the HolzingerSwineford1939 three-factor model, on
   one core each side by default (``--jobs``); ours is timed as CPU and wall seconds.
lavaan 0.6-14 is timed inside one R process (start-up and data reading excluded):
cfa(..., estimator = "MLR"[, missing = "ml"]) + fitMeasures(), and bootstrapLavaan(fit, R).
Prints seconds and the ratio lavaan / psychometrics.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
sys.path.insert(0, str(HERE.parent))

import psychometrics as pm  # noqa: E402
from psychometrics.sem.bootstrap import bootstrap  # noqa: E402

BFI_MODEL = "\n".join(f"{f} =~ " + " + ".join(f"{t}{i}" for i in range(1, 6))
                      for f, t in zip(["agree", "consc", "extra", "neuro", "open"], "ACENO"))
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
LEVELS = [(), ("loadings",), ("loadings", "intercepts"), ("loadings", "intercepts", "residuals")]


def run_sequence(bfi, missing):
    out = []
    for eq in LEVELS:
        fit = pm.cfa(BFI_MODEL, bfi, group="gender", estimator="MLR", missing=missing, group_equal=eq)
        fm = fit.fit_measures()
        fit.parameters()
        out.append((fm["chisq"], fm["chisq_scaled"], fm["cfi_robust"]))
    return out


R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(TRUE); data_dir <- args[1]; R <- as.integer(args[2])
bfi <- read.csv(file.path(data_dir, "bfi.csv")); hs <- read.csv(file.path(data_dir, "hs1939.csv"))
m <- paste("agree =~ A1 + A2 + A3 + A4 + A5", "consc =~ C1 + C2 + C3 + C4 + C5",
  "extra =~ E1 + E2 + E3 + E4 + E5", "neuro =~ N1 + N2 + N3 + N4 + N5",
  "open =~ O1 + O2 + O3 + O4 + O5", sep = "\n")
levels <- list("", "loadings", c("loadings", "intercepts"),
               c("loadings", "intercepts", "residuals"))
seq_time <- function(missing) system.time(for (eq in levels) {
  f <- cfa(m, data = bfi, group = "gender", estimator = "MLR", missing = missing, group.equal = eq)
  fitMeasures(f); parameterEstimates(f) })[["elapsed"]]
if (length(args) < 3 || args[3] != "boot") { t1 <- seq_time("listwise"); t2 <- seq_time("ml") }
hsm <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
if (length(args) > 2 && args[3] == "boot") { t1 <- NA; t2 <- NA }
fit <- cfa(hsm, data = hs); set.seed(1)
tb <- system.time(suppressWarnings(bootstrapLavaan(fit, R = R)))
t3 <- tb[["elapsed"]]; t3cpu <- tb[["user.self"]] + tb[["sys.self"]]
cat(sprintf("%.3f %.3f %.3f %.3f\n", t1, t2, t3, t3cpu))
"""


def lavaan_times(R, boot_only=False):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
    cmd = ["Rscript", fh.name, str(DATA), str(R)] + (["boot"] if boot_only else [])
    res = subprocess.run(cmd, capture_output=True, text=True)
    pathlib.Path(fh.name).unlink()
    if res.returncode != 0:
        print(res.stderr[-2000:])
        return None
    return [float(v) if v != "NA" else float("nan") for v in res.stdout.split()[-4:]]


def _cpu_all():
    """CPU seconds of this process and of its waited-for children (the worker processes)."""
    import resource
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, ch.ru_utime + ch.ru_stime


def structural(R, per_draw=0, jobs=(), seed=1):
    """CPU per draw of the FIML bootstrap of the example study's structural model (34 items,
    111 parameters; one process), lockstep path and, with ``per_draw``, the per-draw path on
    the first ``per_draw`` draws (the implementation before issue 13's lockstep refits).
    ``jobs``: also with these numbers of worker processes (the demo uses 2), CPU of the main
    process and of the workers."""
    from _example import example_structural_fit
    from psychometrics.sem import bootstrap as bs

    fit, _, _ = example_structural_fit()
    bootstrap(fit, R=3, seed=1)                                      # warm up
    c = time.process_time()
    res = bootstrap(fit, R=R, seed=seed)
    cpu = time.process_time() - c
    print(f"structural model bootstrap (lockstep), R = {R}, seed {seed}: {res.summary()}; CPU "
          f"{cpu:.2f} s = {1000 * cpu / R:.2f} ms a draw (goal <= 8 ms); load average "
          f"{os.getloadavg()[0]:.1f}")
    for nj in jobs:
        (m0, w0), load0 = _cpu_all(), os.getloadavg()[0]
        other = bootstrap(fit, R=R, seed=seed, n_jobs=nj)
        m1, w1 = _cpu_all()
        same = np.array_equal(other.draws, res.draws, equal_nan=True)
        print(f"  n_jobs = {nj}: CPU {m1 - m0:.2f} s main + {w1 - w0:.2f} s workers = "
              f"{m1 - m0 + w1 - w0:.2f} s; draws identical to one process: {same}; load average "
              f"{load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    if per_draw:
        bs.BATCHED = False
        try:
            c = time.process_time()
            old = bootstrap(fit, R=per_draw, seed=1)
            cpu_old = time.process_time() - c
        finally:
            bs.BATCHED = True
        ok = ~np.isnan(old.draws[:, 0]) & ~np.isnan(res.draws[:per_draw, 0])
        diff = float(np.max(np.abs(old.draws[ok] - res.draws[:per_draw][ok]))) if ok.any() else float("nan")
        print(f"structural model bootstrap (per draw), R = {per_draw}: CPU {cpu_old:.2f} s = "
              f"{1000 * cpu_old / per_draw:.2f} ms a draw; largest difference of the draws "
              f"{diff:.1e}; load average {os.getloadavg()[0]:.1f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--boot-only", action="store_true", help="only the HS bootstrap (workload 3)")
    ap.add_argument("--structural", type=int, default=0, metavar="R",
                    help="only the example study's structural-model bootstrap with R draws")
    ap.add_argument("--per-draw", type=int, default=0, metavar="R",
                    help="with --structural: also the per-draw path on the first R draws")
    ap.add_argument("--structural-jobs", type=int, nargs="*", default=[], metavar="N",
                    help="with --structural: also with N worker processes (the demo uses 2)")
    ap.add_argument("--seed", type=int, default=1,
                    help="with --structural: the seed of the draws (the demo's is 20261122)")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    if a.structural:
        structural(a.structural, a.per_draw, a.structural_jobs, a.seed)
        return
    bfi = pd.read_csv(DATA / "bfi.csv")
    hs = pd.read_csv(DATA / "hs1939.csv")
    pm.cfa(HS_MODEL, hs, estimator="MLR").fit_measures()          # warm up imports
    ours = []
    for missing in ("listwise", "fiml"):
        if a.boot_only:
            ours.append(float("nan"))
            continue
        t = time.perf_counter()
        run_sequence(bfi, missing)
        ours.append(time.perf_counter() - t)
    fit = pm.cfa(HS_MODEL, hs)
    bootstrap(fit, R=5, seed=1)                                      # warm up
    t, c = time.perf_counter(), time.process_time()
    res = bootstrap(fit, R=a.boot, seed=1, n_jobs=a.jobs)
    ours.append(time.perf_counter() - t)
    cpu = time.process_time() - c
    print(f"bootstrap: {res.summary()}; CPU {cpu:.2f} s ({1000 * cpu / a.boot:.2f} ms a draw), "
          f"load average {os.getloadavg()[0]:.1f}")
    lav = None if a.no_r else lavaan_times(a.boot, a.boot_only)
    if lav is not None:
        print(f"bootstrap CPU seconds: ours {cpu:.2f}, lavaan bootstrapLavaan {lav[3]:.2f} -> "
              f"{lav[3] / cpu:.1f}x (goal >= 20x on one core); load average "
              f"{os.getloadavg()[0]:.1f}")
    names = ["MLR invariance sequence, bfi by gender, listwise",
             "MLR invariance sequence, bfi by gender, FIML",
             f"bootstrap, HS model, R = {a.boot} (n_jobs = {a.jobs})"]
    print(f"{'workload':55s} {'ours (s)':>9s} {'lavaan (s)':>11s} {'ratio':>7s}")
    for i, name in enumerate(names):
        if a.boot_only and i < 2:
            continue
        lv = f"{lav[i]:11.2f}" if lav else f"{'-':>11s}"
        ratio = f"{lav[i] / ours[i]:7.1f}" if lav else f"{'-':>7s}"
        print(f"{name:55s} {ours[i]:9.2f} {lv} {ratio}")
    try:
        load = open("/proc/loadavg").read().split()[:3]
        print("load average:", " ".join(load))
    except OSError:
        pass


if __name__ == "__main__":
    main()
