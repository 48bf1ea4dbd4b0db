"""Growth of the cost with the size of the problem, with fitted exponents (log-log slopes).

    python benchmarks/bench_growth.py                      # every series, lavaan beside where R is present
    python benchmarks/bench_growth.py --series cfa_n fiml_n --no-r
    python benchmarks/bench_growth.py --quick              # small sizes only (a smoke run)

Series (simulated data, normal factor model, seed 1; each size measured once -- the machine is
shared, big sizes are expensive):

* ``cfa_n``:  CFA, ML, complete data, 12 items / 3 factors, N = 300 ... 1,000,000
* ``fiml_n``: the same with 5 % of the cells missing (FIML), N = 300 ... 1,000,000
* ``cfa_p``:  CFA, ML, N = 1,000, p = 9 ... 200 items (factors of 6 items)
* ``efa_p``:  EFA (minres, oblimin), N = 1,000, p = 9 ... 200 items, 3 factors
* ``inv_g``:  invariance (configural ... strict), 12 items, 200 cases per group, 2 ... 50 groups
  (lavaan: the four ``cfa(group.equal=)`` fits with ``fitMeasures``, up to ``--r-max-groups``)
* ``poly_p``: polychoric correlation matrix (``pm.polychoric``, psych's defaults), N = 1,000,
  5 categories, p = 5 ... 100 items
* ``validate_n``: the whole ``validate`` run of the simulated example study (4 instruments,
  34 items, 100 bootstrap draws) for N = 300 ... 200,000

Each line: size, CPU seconds of this process (plus worker processes where there are any),
wall seconds, the peak resident memory of the process so far, the load average at the time,
and lavaan's CPU seconds for the same fit where Rscript is present (``lavaan::cfa`` timed
inside R, start-up and data reading excluded; skipped above ``--r-max-n`` cases / ``--r-max-p``
items).  Each series ends with the fitted exponent b of ``time ~ a size^b`` (least squares on
the log-log points of the sizes whose time is at least 0.01 s).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import psychometrics as pm  # noqa: E402


def _load() -> str:
    return "%.1f" % os.getloadavg()[0]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def simulate(n, p, n_factors, missing=0.0, seed=1, loading=0.7):
    """n x p normal factor-model data (items named y1..yp, factors of p / n_factors items)."""
    rng = np.random.default_rng(seed)
    per = p // n_factors
    phi = 0.3 + 0.7 * np.eye(n_factors)
    f = rng.standard_normal((n, n_factors)) @ np.linalg.cholesky(phi).T
    lam = np.zeros((p, n_factors))
    for k in range(n_factors):
        lam[k * per:(k + 1) * per if k < n_factors - 1 else p, k] = loading
    y = f @ lam.T + rng.standard_normal((n, p)) * np.sqrt(1 - loading ** 2)
    if missing:
        y[rng.random(y.shape) < missing] = np.nan
    return pd.DataFrame(y, columns=[f"y{i + 1}" for i in range(p)])


def syntax(p, n_factors):
    per = p // n_factors
    lines = []
    for k in range(n_factors):
        items = range(k * per, (k + 1) * per if k < n_factors - 1 else p)
        lines.append(f"f{k + 1} =~ " + " + ".join(f"y{i + 1}" for i in items))
    return "\n".join(lines)


def timed(fn):
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    return time.process_time() - c0 + child, time.perf_counter() - t0


R_FIT = r"""
suppressPackageStartupMessages(library(lavaan))
a <- commandArgs(TRUE); d <- read.csv(a[1]); m <- readLines(a[2])
miss <- if (a[3] == "fiml") "ml" else "listwise"
t <- system.time(f <- cfa(paste(m, collapse = "\n"), data = d, missing = miss))
t <- t[["user.self"]] + t[["sys.self"]]   # CPU seconds, comparable with ours on a busy machine
cat(sprintf("%.3f\n", t))
"""


def _r_cpu_seconds(script, data, model, *args):
    """Run the R ``script`` on ``data`` (CSV) and ``model`` (text file) with ``args``; return
    the CPU seconds it prints last, or None without Rscript or when R fails."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        dp, mp, sp = Path(tmp, "d.csv"), Path(tmp, "m.txt"), Path(tmp, "run.R")
        data.to_csv(dp, index=False)
        mp.write_text(model)
        sp.write_text(script)
        res = subprocess.run(["Rscript", str(sp), str(dp), str(mp), *args],
                             capture_output=True, text=True)
    if res.returncode != 0:
        return None
    try:
        return float(res.stdout.split()[-1])
    except (ValueError, IndexError):
        return None


def lavaan_seconds(data, model, missing):
    return _r_cpu_seconds(R_FIT, data, model, missing)


R_INV = r"""
suppressPackageStartupMessages(library(lavaan))
a <- commandArgs(TRUE); d <- read.csv(a[1]); m <- paste(readLines(a[2]), collapse = "\n")
eq <- list("none", "loadings", c("loadings", "intercepts"),
           c("loadings", "intercepts", "residuals"))
t <- system.time(for (e in eq) {
  f <- cfa(m, data = d, group = "grp", group.equal = e); fitMeasures(f) })
cat(sprintf("%.3f\n", t[["user.self"]] + t[["sys.self"]]))
"""


def lavaan_invariance_seconds(data, model):
    """CPU seconds of lavaan for the four invariance models (configural ... strict) with
    ``fitMeasures`` (no difference tests, no partial search: the data are invariant)."""
    return _r_cpu_seconds(R_INV, data, model)


def slope(points):
    pts = [(s, t) for s, t in points if t >= 0.01]
    if len(pts) < 2:
        return float("nan")
    x = np.log([s for s, _ in pts])
    y = np.log([t for _, t in pts])
    return float(np.polyfit(x, y, 1)[0])


def report(series, size_name, rows):
    print(f"\n{series}: {size_name:>9s} {'CPU s':>8s} {'wall s':>8s} {'peak MB':>8s} {'load':>5s} "
          f"{'lavaan s':>9s}")
    for size, cpu, wall, mb, load, lav in rows:
        lv = f"{lav:9.2f}" if lav is not None else f"{'-':>9s}"
        print(f"{series}: {size:9d} {cpu:8.2f} {wall:8.2f} {mb:8.0f} {load:>5s} {lv}", flush=True)
    b = slope([(r[0], r[1]) for r in rows])
    lav = [(r[0], r[5]) for r in rows if r[5] is not None]
    bl = slope(lav) if len(lav) >= 2 else float("nan")
    print(f"{series}: fitted exponent (CPU time ~ {size_name}^b): b = {b:.2f}"
          + (f"; lavaan b = {bl:.2f}" if np.isfinite(bl) else ""), flush=True)


def series_fit_n(ns, missing, args):
    model = syntax(12, 3)
    rows = []
    for n in ns:
        d = simulate(n, 12, 3, missing=0.05 if missing == "fiml" else 0.0)
        cpu, wall = timed(lambda: pm.cfa(model, d, missing=missing).fit_measures())
        lav = lavaan_seconds(d, model, missing) if not args.no_r and n <= args.r_max_n else None
        rows.append((n, cpu, wall, _rss_mb(), _load(), lav))
        print(f"  ({missing}) N = {n}: {cpu:.2f} s CPU", flush=True)
        del d
    report("cfa_n" if missing == "listwise" else "fiml_n", "N", rows)


def series_cfa_p(ps, args):
    rows = []
    for p in ps:
        k = max(1, p // 6)
        d = simulate(1000, p, k)
        model = syntax(p, k)
        cpu, wall = timed(lambda: pm.cfa(model, d).fit_measures())
        lav = lavaan_seconds(d, model, "listwise") if not args.no_r and p <= args.r_max_p else None
        rows.append((p, cpu, wall, _rss_mb(), _load(), lav))
        print(f"  CFA p = {p}: {cpu:.2f} s CPU", flush=True)
    report("cfa_p", "p", rows)


def series_efa_p(ps, args):
    rows = []
    for p in ps:
        d = simulate(1000, p, 3)
        cpu, wall = timed(lambda: pm.efa(d, 3))
        rows.append((p, cpu, wall, _rss_mb(), _load(), None))
        print(f"  EFA p = {p}: {cpu:.2f} s CPU", flush=True)
    report("efa_p", "p", rows)


def series_inv_g(gs, args):
    model = syntax(12, 3)
    rows = []
    for g in gs:
        parts = []
        for j in range(g):
            dj = simulate(200, 12, 3, seed=100 + j)
            dj["grp"] = f"g{j + 1}"
            parts.append(dj)
        d = pd.concat(parts, ignore_index=True)
        cpu, wall = timed(lambda: pm.invariance(model, d, "grp", max_groups=g))
        lav = (lavaan_invariance_seconds(d, model)
               if not args.no_r and g <= args.r_max_groups else None)
        rows.append((g, cpu, wall, _rss_mb(), _load(), lav))
        print(f"  invariance, {g} groups: {cpu:.2f} s CPU", flush=True)
    report("inv_g", "groups", rows)


def series_poly_p(ps, args):
    rows = []
    for p in ps:
        d = simulate(1000, p, max(1, p // 5))
        d = d.apply(lambda col: pd.Series(np.digitize(col, [-1.5, -0.5, 0.5, 1.5]) + 1, index=col.index))
        cpu, wall = timed(lambda: pm.polychoric(d))
        rows.append((p, cpu, wall, _rss_mb(), _load(), None))
        print(f"  polychoric p = {p}: {cpu:.2f} s CPU", flush=True)
    report("poly_p", "p", rows)


def series_validate_n(ns, args):
    """The whole validate run; the study is simulated by a separate process (its memory is not
    the run's), so the peak column is the validate run's own (the largest so far: N grows)."""
    from psychometrics.report.pipeline import run_validation
    code = ("import sys; from pathlib import Path; from psychometrics.simulate import "
            "simulate_example_study as s; n = int(sys.argv[1]); nf = int(round(n * 225 / 324)); "
            "print(s(Path(sys.argv[2]), n_female=nf, n_male=n - nf).files['study'])")
    rows = []
    for n in ns:
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", code, str(n), str(Path(tmp) / "ex")],
                                 check=True, capture_output=True, text=True, cwd=str(HERE.parent))
            study = Path(out.stdout.strip().splitlines()[-1])
            cpu, wall = timed(lambda: run_validation(study, Path(tmp) / "out",
                                                     bootstrap=100, figures=False))
        rows.append((n, cpu, wall, _rss_mb(), _load(), None))
        print(f"  validate N = {n}: {cpu:.2f} s CPU", flush=True)
    report("validate_n", "N", rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", nargs="*", default=["cfa_n", "fiml_n", "cfa_p", "efa_p", "inv_g",
                                                     "validate_n"])
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--r-max-n", type=int, default=100_000)
    ap.add_argument("--r-max-p", type=int, default=72)
    ap.add_argument("--r-max-groups", type=int, default=20)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    q = args.quick
    sizes = {
        "cfa_n": [300, 3000] if q else [300, 3000, 30_000, 300_000, 1_000_000],
        "fiml_n": [300, 3000] if q else [300, 3000, 30_000, 300_000, 1_000_000],
        "cfa_p": [9, 18] if q else [9, 18, 36, 72, 144, 200],
        "efa_p": [9, 18] if q else [9, 18, 36, 72, 144, 200],
        "inv_g": [2, 5] if q else [2, 5, 10, 20, 50],
        "validate_n": [300] if q else [300, 3000, 30_000, 200_000],
        "poly_p": [5, 10] if q else [5, 10, 20, 50, 100],
    }
    print(f"load average at start: {_load()}; Rscript: {shutil.which('Rscript') or 'absent'}")
    for s in args.series:
        if s in ("cfa_n", "fiml_n"):
            series_fit_n(sizes[s], "listwise" if s == "cfa_n" else "fiml", args)
        elif s == "cfa_p":
            series_cfa_p(sizes[s], args)
        elif s == "efa_p":
            series_efa_p(sizes[s], args)
        elif s == "inv_g":
            series_inv_g(sizes[s], args)
        elif s == "validate_n":
            series_validate_n(sizes[s], args)
        elif s == "poly_p":
            series_poly_p(sizes[s], args)
        else:
            raise SystemExit(f"unknown series {s!r}")


if __name__ == "__main__":
    main()
