"""CPU and memory of the validity step's HTMT FIML bootstrap (issue 13), old path beside new.

    python benchmarks/bench_validity.py                      # the example study (324 cases), 1,000 draws
    python benchmarks/bench_validity.py --n 200000 --draws 5 --old-draws 1
    python benchmarks/bench_validity.py --n 1000000 --draws 5 --old-draws 1 --missing-rate 0.05

The example study is simulated at ``--n`` cases (``simulate_example_study``, 34 items; 3 % of
the responses missing unless ``--missing-rate``), its items keyed as the report keys them and
the 34-item measurement model's factors used for HTMT, as the validity step does.  Prints, with
the load average: the missing-data patterns, the CPU of reading them (``_EMCases``), the CPU per
bootstrap draw of the EM with the per-pattern sums (default) and with every incomplete case
read cell by cell (the path before, ``pattern_from=inf``), the largest relative difference of
the two paths' covariance matrices on the same draws, the whole ``htmt(missing="fiml")`` call
with its kernel peak (``VmHWM``, reset before the call) over the resident memory before it.
``--htmt-only`` runs only that call (``--n 1000000 --draws 20 --htmt-only``: the validity
step's HTMT at 10^6 cases).  Tests never time anything.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _memory import hwm_mb, reset_hwm, rss_mb  # noqa: E402


def _load() -> str:
    return "%.1f" % os.getloadavg()[0]


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def example_items(n: int, missing_rate: float | None, folder: Path, study: str | None = None):
    """The keyed items (DataFrame) and factor -> items mapping of the example study at n cases
    (or of the study file ``study``, e.g. one written by ``simulate_example_study``)."""
    from psychometrics.io import load_dataset
    from psychometrics.report.model import Report
    from psychometrics.report.pipeline import _Runner
    from psychometrics.report.steps import all_items, measurement_syntax
    from psychometrics.scales import load_study
    from psychometrics.simulate import MISSING_RATE, simulate_example_study
    from psychometrics.validity import _mapping

    if study is None:
        nf = int(round(n * 225 / 324))
        study = simulate_example_study(folder, n_female=nf, n_male=n - nf, missing_rate=MISSING_RATE
                                       if missing_rate is None else missing_rate).files["study"]
    r = _Runner(study, folder / "out")
    r.study = load_study(r.study_path)
    r.dataset = load_dataset(r.study)
    r.report = Report(title="", language="en")
    data = all_items(r)
    return data, _mapping(measurement_syntax(r)), (r.study.seed or 0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="cases (default: the example study, 324)")
    ap.add_argument("--draws", type=int, default=1000, help="draws of the new path and of htmt()")
    ap.add_argument("--old-draws", type=int, default=None,
                    help="draws of the path before (default: as --draws)")
    ap.add_argument("--missing-rate", type=float, default=None)
    ap.add_argument("--study", default=None, help="an existing study file (no simulation)")
    ap.add_argument("--skip-htmt", action="store_true", help="time the EM only")
    ap.add_argument("--htmt-only", action="store_true",
                    help="only the htmt() call (CPU, kernel peak over resident before)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.htmt_only:
        with tempfile.TemporaryDirectory() as tmp:
            data, mapping, seed = example_items(args.n or 324, args.missing_rate,
                                                Path(tmp) / "ex", args.study)
        print(f"{len(data):,} cases x {data.shape[1]} items; load average {_load()}", flush=True)
        htmt_call(data, mapping, args.draws, seed)
        return 0
    import numpy as np

    from psychometrics._blas import blas_threads
    from psychometrics._measurement import _EMCases, _batches, _boot_weights, _em_batch
    from psychometrics.validity import _em_cor, _item_matrix

    n_req = args.n or 324
    with tempfile.TemporaryDirectory() as tmp:
        data, mapping, seed = example_items(n_req, args.missing_rate, Path(tmp) / "ex", args.study)
    names = list(dict.fromkeys(i for items in mapping.values() for i in items))
    x = _item_matrix(data, names, "fiml")
    n, p = x.shape
    obs = ~np.isnan(x)
    keys, counts = np.unique(obs, axis=0, return_counts=True)
    n_mis = (~keys).sum(axis=1)
    print(f"{n:,} cases x {p} items, {np.isnan(x).mean():.1%} missing, {len(keys):,} patterns "
          f"({(counts >= p).sum():,} with >= {p} cases, holding {counts[counts >= p].sum():,} "
          f"cases; largest number missing {n_mis.max()}); load average {_load()}", flush=True)
    c0 = time.process_time()
    _, _, start = _em_cor(x)
    print(f"  full-sample EM (start of the draws): {time.process_time() - c0:.2f} s CPU",
          flush=True)

    def run(pattern_from, draws, label, dense=None):
        rng = np.random.default_rng(seed)
        c0 = time.process_time()
        cs = _EMCases(x, pattern_from=pattern_from, dense=dense)
        c1 = time.process_time()
        out = []
        done = 0
        for b in _batches(draws, n, p):
            w = _boot_weights(rng, n, b)
            out.append(_em_batch(x, w, start, cases=cs)[1])
            done += b
        c2 = time.process_time()
        print(f"  {label:34s} patterns read {c1 - c0:6.2f} s, {draws} draws "
              f"{(c2 - c1) / draws * 1000:9.1f} ms CPU a draw; peak {_peak():6.0f} MB; "
              f"load {_load()}", flush=True)
        del cs
        return np.concatenate(out)

    # one BLAS thread, as htmt() runs (single_blas_thread)
    with blas_threads(1):
        new = run(None, args.draws, "per-pattern sums (new)")
    old_draws = args.draws if args.old_draws is None else args.old_draws
    if old_draws:
        with blas_threads(1):
            old = run(np.inf, old_draws, "cell by cell (before)", dense=False)
        k = min(len(old), len(new))
        rel = np.abs(new[:k] - old[:k]).max() / np.abs(old[:k]).max()
        print(f"  largest relative difference of Sigma, first {k} draws: {rel:.2e}")
    if not args.skip_htmt:
        htmt_call(data, mapping, args.draws, seed)
    return 0


def htmt_call(data, mapping, draws, seed):
    """``htmt(missing="fiml")`` as the validity step calls it, with its CPU and its kernel
    peak (``VmHWM`` reset before the call) over the resident memory before it."""
    import gc

    from psychometrics.validity import htmt
    gc.collect()
    exact = reset_hwm()
    before = rss_mb()
    c0 = time.process_time()
    h = htmt(data, mapping, n_boot=draws, seed=seed, missing="fiml")
    cpu = time.process_time() - c0
    peak = hwm_mb() if exact else _peak()
    print(f"  htmt(missing='fiml', n_boot={draws}): {cpu:.2f} s CPU; resident before "
          f"{before:.0f} MB, peak {peak:.0f} MB{'' if exact else ' (ru_maxrss)'}: "
          f"{peak - before:.0f} MB added; load {_load()}; CI of the first pair "
          f"[{h.ci_lower.iloc[0, 1]:.4f}, {h.ci_upper.iloc[0, 1]:.4f}]", flush=True)
    return h


if __name__ == "__main__":
    sys.exit(main())
