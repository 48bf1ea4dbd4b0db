"""Ordinal items: the 25-item bfi polychoric matrix, psychometrics against psych and lavaan.

    python benchmarks/bench_ordinal.py              # 5 repetitions; R too when Rscript is present
    python benchmarks/bench_ordinal.py --reps 10 --no-r

Times, on bfi (25 six-category items, N = 2,800, with its missing values):

* pm.polychoric(x)                           vs psych::polychoric(x)  (pairwise, smoothing)
* pm.polychoric(x, method="lavaan", missing="listwise")  vs lavaan::lavCor(x, ordered = names(x))
* pm.ordinal_sample_stats(x, names)          vs lavaan's WLSMV sample statistics with Gamma
  (muthen1984, the step of lavaan(..., estimator = "WLSMV") that computes them)

R is timed inside R (system.time, start-up and data reading excluded); psych::polychoric with
its default mclapply cores (options mc.cores, 2 here) and on one core.  Prints the median of
``--reps`` runs for each side (R: one run each -- psych takes seconds) and the machine's load
average, since the development machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
suppressPackageStartupMessages({library(psych); library(lavaan)})
args <- commandArgs(TRUE)
x <- read.csv(args[1])[, strsplit(args[2], ",")[[1]]]
options(mc.cores = 2)
t2 <- system.time(p2 <- suppressWarnings(psych::polychoric(x)))[["elapsed"]]
options(mc.cores = 1)
t1 <- system.time(p1 <- suppressWarnings(psych::polychoric(x)))[["elapsed"]]
tl <- system.time(lc <- lavCor(x, ordered = names(x)))[["elapsed"]]
xl <- x[complete.cases(x), ]
tg <- system.time(m <- lavaan:::muthen1984(Data = as.matrix(data.frame(lapply(xl, function(v) as.integer(ordered(v))))),
       ov.names = names(x), ov.types = rep("ordered", ncol(x)),
       ov.levels = sapply(xl, function(v) length(unique(v))), WLS.W = TRUE))[["elapsed"]]
cat(sprintf('{"psych_2cores": %.4f, "psych_1core": %.4f, "lavcor": %.4f, "muthen1984": %.4f}\n',
            t2, t1, tl, tg))
"""


def time_r() -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
        path = fh.name
    try:
        out = subprocess.run([rscript, path, str(DATA), ",".join(ITEMS)],
                             capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"R could not be timed: {exc}", file=sys.stderr)
        return None
    finally:
        Path(path).unlink(missing_ok=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_ours(reps: int) -> dict:
    import psychometrics as pm

    x = pd.read_csv(DATA)[ITEMS]
    runs = {"psych": lambda: pm.polychoric(x),
            "lavcor": lambda: pm.polychoric(x, method="lavaan", missing="listwise"),
            "sample_stats": lambda: pm.ordinal_sample_stats(x, ITEMS)}
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm.polychoric(x.iloc[:300, :4])          # import and warm-up
        for name, f in runs.items():
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
            out[name] = statistics.median(ts)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-r", action="store_true", help="do not time R")
    ap.add_argument("--wlsmv-only", action="store_true",
                    help="only the WLSMV CFA and ordinal invariance timings")
    args = ap.parse_args(argv)
    if args.wlsmv_only:
        report_wlsmv(args.reps, not args.no_r)
        return 0
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    ours = time_ours(args.reps)
    r = None if args.no_r else time_r()
    print(f"load average after:  {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"bfi, 25 items, N = 2,800 (median of {args.reps} runs here; one run in R)")
    rows = [("polychoric matrix, psych method (pairwise)", ours["psych"],
             r and r["psych_2cores"], "psych::polychoric, mc.cores = 2"),
            ("polychoric matrix, psych method (pairwise)", ours["psych"],
             r and r["psych_1core"], "psych::polychoric, mc.cores = 1"),
            ("polychoric matrix, lavaan method (listwise)", ours["lavcor"],
             r and r["lavcor"], "lavaan::lavCor(ordered = )"),
            ("WLSMV sample statistics with Gamma (listwise)", ours["sample_stats"],
             r and r["muthen1984"], "lavaan:::muthen1984")]
    for label, mine, theirs, rname in rows:
        line = f"  {label:48s} {mine:8.3f} s"
        if theirs:
            line += f"   {rname}: {theirs:8.3f} s   ratio {theirs / mine:6.1f}x"
        print(line)
    report_wlsmv(args.reps, not args.no_r)
    return 0


# ---------------------------------------------------------------------------- WLSMV (SEM side)
# The bfi five-factor WLSMV CFA (25 items, listwise N = 2,436) and the four-model ordinal
# invariance sequence (configural -> thresholds -> metric -> scalar, Wu & Estabrook 2016) of
# the two-factor A + C model by gender: pm.cfa / pm.invariance against lavaan::cfa fits of the
# same models (semTools::measEq.syntax syntax; the syntax is built before timing).  Both sides
# compute everything from the raw data: sample statistics, estimates, robust SEs and the
# fit measures (fitMeasures / lavTestLRT in R).
BIG5 = "\n".join(f"{f} =~ " + " + ".join(f"{t}{i}" for i in range(1, 6))
                 for f, t in zip(["agree", "consc", "extra", "neuro", "open"], "ACENO"))
AC = "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"
AC_ITEMS = [f"{t}{i}" for t in "AC" for i in range(1, 6)]

R_WLSMV = r"""
suppressPackageStartupMessages({library(lavaan); library(semTools)})
args <- commandArgs(TRUE)
bfi <- read.csv(args[1])
big5 <- paste(sapply(c("A","C","E","N","O"), function(t)
  paste0(tolower(t), "f =~ ", paste0(t, 1:5, collapse = " + "))), collapse = "\n")
items <- as.vector(outer(c("A","C","E","N","O"), 1:5, paste0))
ac <- "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"
aci <- c(paste0("A", 1:5), paste0("C", 1:5))
tc <- system.time({f <- cfa(big5, data = bfi, ordered = items, estimator = "WLSMV"); fm <- fitMeasures(f)})[["elapsed"]]
lv <- list(configural = "", thresholds = "thresholds", metric = c("thresholds", "loadings"),
           scalar = c("thresholds", "loadings", "intercepts"))
syn <- lapply(lv, function(ge) as.character(measEq.syntax(configural.model = ac, data = bfi,
  ordered = aci, parameterization = "delta", ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
  group = "gender", group.equal = ge)))
ti <- system.time({
  fits <- lapply(syn, function(s) cfa(s, data = bfi, group = "gender", ordered = aci,
                                      estimator = "WLSMV", parameterization = "delta"))
  fms <- lapply(fits, fitMeasures)
  tests <- lavTestLRT(fits[[1]], fits[[2]], fits[[3]], fits[[4]])
})[["elapsed"]]
cat(sprintf('{"cfa": %.4f, "invariance": %.4f}\n', tc, ti))
"""


def time_r_wlsmv() -> dict | None:
    """lavaan's times (seconds) for the bfi WLSMV CFA and the ordinal invariance sequence."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_WLSMV)
        path = fh.name
    try:
        out = subprocess.run([rscript, path, str(DATA)], capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"R could not be timed: {exc}", file=sys.stderr)
        return None
    finally:
        Path(path).unlink(missing_ok=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_ours_wlsmv(reps: int) -> dict:
    """Our median times (seconds) for the same two jobs, from the raw data."""
    import psychometrics as pm

    bfi = pd.read_csv(DATA)
    runs = {"cfa": lambda: pm.cfa(BIG5, bfi, ordered=True, estimator="WLSMV").fit_measures(),
            "invariance": lambda: pm.invariance(AC, bfi, "gender", ordered=True,
                                                estimator="WLSMV", partial="none")}
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm.cfa(AC, bfi.iloc[:400], ordered=True).fit_measures()   # import and warm-up
        for name, f in runs.items():
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
            out[name] = statistics.median(ts)
    return out


def report_wlsmv(reps: int, with_r: bool) -> None:
    ours = time_ours_wlsmv(reps)
    r = time_r_wlsmv() if with_r else None
    print(f"WLSMV, bfi (median of {reps} runs here; one run in R)")
    for key, label in (("cfa", "five-factor WLSMV CFA, 25 items (+ fit measures)"),
                       ("invariance", "ordinal invariance, 4 models + difference tests")):
        line = f"  {label:48s} {ours[key]:8.3f} s"
        if r:
            line += f"   lavaan: {r[key]:8.3f} s   ratio {r[key] / ours[key]:6.1f}x"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
