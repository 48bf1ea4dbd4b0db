"""CFA/SEM speed: psychometrics against lavaan 0.6-14, side by side, in one run.

    python benchmarks/bench_sem.py              # 20 repetitions per model, lavaan too if Rscript
    python benchmarks/bench_sem.py --reps 50 --no-r

Times the same fits in Python (psychometrics.sem.cfa) and, when Rscript with lavaan is on the
PATH, in lavaan (timed inside R, R start-up and data reading excluded), and prints the median
time per fit and the ratio lavaan / psychometrics.  Both sides time the fit call only
(estimation, standard errors, the object); fit measures (with the baseline model) are timed
separately for psychometrics.  Models: HolzingerSwineford1939 three-factor ML (N = 301), the
same by school with equal loadings and intercepts, and bfi five-factor ML (listwise, N = 2,436).
Reference (lavaan 0.6-14, two-core machine): HS 45 ms, bfi 82 ms; goal >= 3x faster.
"""
from __future__ import annotations

import argparse
import json
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
DATA = HERE.parent / "tests" / "data"

HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI_MODEL = "\n".join(f"{name} =~ " + " + ".join(f"{t}{i}" for i in range(1, 6))
                      for name, t in zip(["agree", "consc", "extra", "neuro", "open"], "ACENO"))
ITEMS = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]

CASES = [
    ("HS three-factor", "hs1939.csv", HS_MODEL, {}, ""),
    ("HS by school, loadings+intercepts equal", "hs1939.csv", HS_MODEL,
     {"group": "school", "group_equal": ["loadings", "intercepts"]},
     ', group = "school", group.equal = c("loadings", "intercepts")'),
    ("bfi five-factor (N = 2,436)", "bfi.csv", BFI_MODEL, {}, ""),
]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(TRUE)
d <- read.csv(args[1]); reps <- as.integer(args[3])
model <- gsub("\\\\n", "\n", args[2])
extra <- args[4]
if (grepl("bfi", args[1])) d <- d[complete.cases(d[, 2:26]), ]
call <- paste0("cfa(model, d", extra, ")")
invisible(eval(parse(text = call)))
ts <- numeric(reps)
for (i in seq_len(reps)) ts[i] <- system.time(eval(parse(text = call)))[["elapsed"]]
cat(sprintf('{"median": %.5f}\n', median(ts)))
"""


def time_lavaan(data: Path, model: str, extra: str, reps: int) -> float | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
        path = fh.name
    try:
        out = subprocess.run([rscript, path, str(data), model.replace("\n", "\\n"), str(reps), extra],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["median"]
    except (subprocess.CalledProcessError, OSError, ValueError, KeyError) as exc:
        print(f"lavaan could not be timed: {exc}", file=sys.stderr)
        return None
    finally:
        Path(path).unlink(missing_ok=True)


def time_python(data: pd.DataFrame, model: str, kwargs: dict, reps: int) -> tuple[float, float]:
    from psychometrics.sem import cfa
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfa(model, data, **kwargs)  # warm-up (imports, caches)
        fits, fms = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            fit = cfa(model, data, **kwargs)
            t1 = time.perf_counter()
            fit.fit_measures()
            t2 = time.perf_counter()
            fits.append(t1 - t0)
            fms.append(t2 - t1)
    return statistics.median(fits), statistics.median(fms)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--no-r", action="store_true", help="do not time lavaan")
    args = ap.parse_args(argv)
    print(f"{'model':44s} {'python fit':>11s} {'+fit_measures':>14s} {'lavaan':>9s} {'ratio':>7s}")
    for label, fname, model, kwargs, extra in CASES:
        data = pd.read_csv(DATA / fname)
        if fname == "bfi.csv":
            data = data.dropna(subset=ITEMS)
        py, fm = time_python(data, model, kwargs, args.reps)
        lav = None if args.no_r else time_lavaan(DATA / fname, model, extra, args.reps)
        ratio = f"{lav / py:6.1f}x" if lav else "   n/a"
        lav_s = f"{lav * 1000:7.1f}ms" if lav else "      n/a"
        print(f"{label:44s} {py * 1000:9.1f}ms {fm * 1000:12.1f}ms {lav_s} {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
