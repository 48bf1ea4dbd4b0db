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
    args = ap.parse_args(argv)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
