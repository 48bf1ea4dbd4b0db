"""The ``psychometrics`` command line.

Commands::

    psychometrics validate STUDY.yaml --out DIR [--bootstrap N] [--language en|fa] [--quiet]
    psychometrics demo [--out DIR] [--language en|fa] [--bootstrap N] [--quiet]
    psychometrics simulate --out DIR [--seed S]

``validate`` runs the whole validation of a study file and writes results.json,
report.html, appendix.docx, appendix.tex, tables.xlsx and figures/ into DIR.
``demo`` writes the bundled example study (simulated with a fixed seed, see
:mod:`psychometrics.simulate`) into DIR/example/ and validates it.
``simulate`` only writes the example study.

Exit status: 0 on success, 2 when the study or data file is wrong (the
message names the file, row, column and value; no traceback), 1 on an
unexpected internal error (``--debug`` shows its traceback).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2
DEMO_SEM_BOOTSTRAP = 1000


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="psychometrics",
                                description="Psychometric validation of (translated) questionnaires, "
                                            "with numbers that agree with lavaan and psych.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command")

    def common(sp):
        sp.add_argument("--bootstrap", type=int, default=None, metavar="N",
                        help="bootstrap draws for the HTMT and indirect-effect CIs "
                             "(default: the study file's options.bootstrap, else 1000)")
        sp.add_argument("--omega-bootstrap", type=int, default=None, metavar="N",
                        help="bootstrap draws for the omega CIs (default min(bootstrap, 50); each "
                             "draw refits a factor model)")
        sp.add_argument("--sem-bootstrap", type=int, default=None, metavar="N",
                        help="bootstrap draws for the structural model's CIs (indirect effects; "
                             "default: --bootstrap, 1000 for demo; each draw refits "
                             "the whole model)")
        sp.add_argument("--parallel-iterations", type=int, default=None, metavar="N",
                        help="random data sets of the parallel analysis (default 100)")
        sp.add_argument("--language", choices=["en", "fa"], default=None,
                        help="report language (default: the study file's `language`)")
        sp.add_argument("--no-figures", action="store_true", help="do not draw figures")
        sp.add_argument("--quiet", "-q", action="store_true", help="no progress display")
        sp.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")

    v = sub.add_parser("validate", help="validate every instrument of a study file")
    v.add_argument("study", help="the study file (YAML)")
    v.add_argument("--out", "-o", required=True, help="output folder")
    common(v)
    d = sub.add_parser("demo", help="run the validation on the bundled example study")
    d.add_argument("--out", "-o", default="demo-report", help="output folder (default demo-report)")
    common(d)
    s = sub.add_parser("simulate", help="write the example study (data + study files)")
    s.add_argument("--out", "-o", required=True, help="output folder")
    s.add_argument("--seed", type=int, default=None, help="random seed (default 20261122)")
    s.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def _validate(study: Path, out: Path, args) -> int:
    from .report.pipeline import run_validation, write_outputs
    from .report.progress import Progress

    progress = Progress(enabled=not args.quiet)
    t0 = time.perf_counter()
    run = run_validation(study, out, bootstrap=args.bootstrap, language=args.language,
                         progress=progress, figures=not args.no_figures,
                         omega_bootstrap=args.omega_bootstrap, sem_bootstrap=args.sem_bootstrap,
                         parallel_iterations=args.parallel_iterations)
    paths = write_outputs(run, out)
    dt = time.perf_counter() - t0
    if not args.quiet:
        print(f"Validation of {study} finished in {dt:.1f} s.")
        for kind, path in paths.items():
            print(f"  {kind:5s} {path}")
        if run.figures_dir is not None and run.figures_dir.exists():
            print(f"  figs  {run.figures_dir}/ ({len(list(run.figures_dir.glob('*.png')))} figures)")
        n_missing = sum(1 for e in run.results.get("errors", []) if e["kind"] == "unavailable")
        n_failed = sum(1 for e in run.results.get("errors", []) if e["kind"] == "failed")
        print(f"  {len(run.warnings)} warning(s); {n_failed} analysis step(s) failed; "
              f"{n_missing} not available in this version (see report.html).")
    return EXIT_OK


def main(argv=None) -> int:
    from .errors import PsychometricsError

    args = _parser().parse_args(argv)
    if args.version:
        from . import __version__
        print(f"psychometrics {__version__}")
        return EXIT_OK
    if args.command is None:
        _parser().print_help()
        return EXIT_USER
    try:
        if args.command == "validate":
            return _validate(Path(args.study), Path(args.out), args)
        if args.command == "demo":
            from .simulate import simulate_example_study
            out = Path(args.out)
            sim = simulate_example_study(out / "example")
            if not args.quiet:
                print(f"Example study written to {out / 'example'} (simulated, seed "
                      f"{sim.population['seed']}).")
            if args.sem_bootstrap is None and args.bootstrap is None:
                # the demo's structural model uses DEMO_SEM_BOOTSTRAP draws (1,000 refits of the
                # 34-item FIML model fit the one-minute target; benchmarks/bench_demo.py)
                args.sem_bootstrap = DEMO_SEM_BOOTSTRAP
            # the Persian demo reads the copy with Persian digits and labels
            study = sim.files["study_fa"] if args.language == "fa" else sim.files["study"]
            return _validate(study, out, args)
        if args.command == "simulate":
            from .simulate import DEFAULT_SEED, simulate_example_study
            sim = simulate_example_study(Path(args.out), seed=args.seed if args.seed is not None
                                         else DEFAULT_SEED)
            for kind, path in sim.files.items():
                print(f"  {kind:10s} {path}")
            return EXIT_OK
    except PsychometricsError as exc:
        print(f"psychometrics: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("psychometrics: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: say what, offer --debug
        if getattr(args, "debug", False):
            raise
        print(f"psychometrics: internal error: {type(exc).__name__}: {exc}\n"
              "Run again with --debug for the traceback and please report it.", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_USER


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
