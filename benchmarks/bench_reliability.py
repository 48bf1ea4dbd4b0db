"""Time the omega and HTMT bootstraps of the example study (the demo's reliability and validity steps).

    python benchmarks/bench_reliability.py [--draws 1000] [--skip-htmt] [--skip-omega] [--profile]
    python benchmarks/bench_reliability.py --large 1000000 [--large-draws 2]

The omega CIs are computed as the report's reliability step computes them (every subscale and the
WAI-SR total, with its hierarchical omega, pairwise data, seed of the study); the HTMT bootstrap as
the validity step (the 34-item measurement model, FIML: EM per resample).  Prints CPU seconds of
each with the machine's load average; tests never time anything.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
import warnings


from _example import example_runner  # noqa: E402  (the same runner as the other scripts)


def omega_jobs(r):
    """(label, items, n_groups) of every omega the reliability step computes."""
    from psychometrics.report.steps import keyed_items, reliability_scales
    jobs = []
    for si in r.study.instruments:
        keyed = keyed_items(r, si)
        jobs += [(f"{si.id}/{name}", keyed[cols], n_groups)
                 for name, cols, n_groups in reliability_scales(si, keyed)]
    return jobs


def run_omegas(jobs, draws, seed):
    from psychometrics.reliability import omega
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, x, ng in jobs:
            out[label] = omega(x, n_groups=ng, n_boot=draws, seed=seed)
    return out


def run_htmt(r, draws):
    from psychometrics.report.steps import _fit_kwargs, all_items, measurement_syntax
    from psychometrics.sem import cfa
    from psychometrics.validity import validity
    data = all_items(r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cfa(measurement_syntax(r), data, **_fit_kwargs(r))
        c0 = time.process_time()
        v = validity(fit, data=data, n_boot=draws, seed=r.seed)
    return v, time.process_time() - c0


def large(n: int, draws: int) -> int:
    """Peak resident memory (ru_maxrss) and CPU of the two bootstraps on n simulated cases."""
    import resource

    import numpy as np
    import pandas as pd

    from psychometrics.reliability import omega
    rng = np.random.default_rng(1)
    k, per = 6, 6                                   # 6 factors of 6 items; omega on the first 12
    f = rng.normal(size=(n, k)) @ np.linalg.cholesky(0.4 + 0.6 * np.eye(k)).T
    x = np.repeat(f, per, axis=1) * 0.7 + rng.normal(size=(n, k * per)) * 0.7
    x[rng.random(x.shape) < 0.05] = np.nan
    x = x[:, :34]
    del f
    data = pd.DataFrame(x, columns=[f"i{j + 1}" for j in range(34)])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n:,} cases x 34 items (5% missing): data {data.memory_usage().sum() / 2**20:.0f} MB, "
          f"process peak so far {base:.0f} MB (load average {os.getloadavg()[0]:.1f})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c0 = time.process_time()
        omega(data.iloc[:, :12], n_groups=3, n_boot=draws, seed=1)
        c1 = time.process_time()
        print(f"  omega, {draws} draws: CPU {c1 - c0:.1f} s, peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        # the HTMT bootstrap's EM (the full-sample EM of htmt() is sem.fiml's per-pattern EM,
        # not measured here): resamples started at the pairwise moments
        from psychometrics._measurement import (_EMCases, _boot_weights, _em_batch,
                                                _weighted_pairwise_moments)
        cov = _weighted_pairwise_moments(x, np.ones((1, n)))[0][0]
        cs = _EMCases(x)
        w = _boot_weights(np.random.default_rng(1), n, draws)
        _em_batch(x, w, (np.nanmean(x, axis=0), cov), cases=cs)
        c2 = time.process_time()
        print(f"  HTMT bootstrap EM (FIML), {draws} draws: CPU {c2 - c1:.1f} s, peak "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
              f" (load average {os.getloadavg()[0]:.1f})")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--skip-omega", action="store_true")
    ap.add_argument("--skip-htmt", action="store_true")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of each part")
    ap.add_argument("--large", type=int, default=0, metavar="N",
                    help="instead: peak memory and CPU of the omega bootstrap (12 items, 3 group "
                         "factors) and the HTMT bootstrap's EM (34 items) on N simulated cases, "
                         "5%% missing")
    ap.add_argument("--large-draws", type=int, default=2)
    args = ap.parse_args(argv)
    if args.large:
        return large(args.large, args.large_draws)
    r = example_runner()
    if not args.skip_omega:
        jobs = omega_jobs(r)
        load0 = os.getloadavg()[0]
        prof = cProfile.Profile() if args.profile else None
        c0, t0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        res = run_omegas(jobs, args.draws, r.seed)
        if prof:
            prof.disable()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        print(f"omega CIs of the example study ({len(jobs)} scales, {args.draws} draws each): "
              f"CPU {cpu:.2f} s, wall {wall:.2f} s (load average {load0:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after)")
        for label, o in res.items():
            ci = o.ci or {}
            print(f"  {label:28s} omega_t {o.omega_total:.4f} CI {ci.get('omega_total')}"
                  + (f" omega_h CI {ci.get('omega_hierarchical')}" if o.n_groups > 1 else ""))
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    if not args.skip_htmt:
        load0 = os.getloadavg()[0]
        prof = cProfile.Profile() if args.profile else None
        if prof:
            prof.enable()
        v, cpu = run_htmt(r, args.draws)
        if prof:
            prof.disable()
        print(f"HTMT bootstrap of the measurement model (FIML, {args.draws} draws): CPU {cpu:.2f} s "
              f"(load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after)")
        if v.htmt is not None:
            print(v.htmt.to_frame().to_string())
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
