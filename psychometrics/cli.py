"""The ``psychometrics`` command line.

Commands::

    psychometrics validate STUDY.yaml --out DIR [--data FILE] [--bootstrap N] [--language en|fa]
                           [--quiet]
    psychometrics demo [--out DIR] [--language en|fa] [--bootstrap N] [--quiet]
    psychometrics simulate --out DIR [--seed S]
    psychometrics init DATA --out STUDY.yaml [--sheet S] [--seed S] [--scales DIR] [--force]

``validate`` runs the whole validation of a study file and writes results.json,
report.html, appendix.docx, appendix.tex, tables.xlsx and figures/ into DIR.
``demo`` writes the bundled example study (simulated with a fixed seed, see
:mod:`psychometrics.simulate`) into DIR/example/ and validates it.
``simulate`` only writes the example study.  ``init`` proposes a commented study file
for a data file (:mod:`psychometrics.init`).

``--data FILE`` reads that data file instead of the study's ``data:`` (a file outside
the study's folder can only be named this way).

Before any analysis runs the output folder is checked: it must be (or become) a
writable folder, and no input file (study, data, instrument files) may be one of the
files the report writes.  Report files of an earlier run that this run does not
rewrite (a format left out, figures of an instrument no longer in the study) are
removed after the new report is written and listed (on the screen and in
results.json, ``meta.removed_stale_outputs``); other files in the folder are left alone.

Exit status: 0 on success; 2 when the study or data file is wrong (the
message names the file, row, column and value; no traceback) or the output folder
cannot be used; 3 when the report was written but an analysis the study asks for
could not run (each step and its reason are printed and listed in results.json
``errors``); 1 on an unexpected internal error (``--debug`` shows its traceback).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INCOMPLETE = 0, 1, 2, 3
#: the files a report consists of (pipeline.write_outputs), by format
REPORT_FILES = {"json": "results.json", "html": "report.html", "docx": "appendix.docx",
                "tex": "appendix.tex", "xlsx": "tables.xlsx", "changes": "data-changes.csv"}
DEMO_SEM_BOOTSTRAP = 1000
#: rough shares of the time it takes to write each report file, for the progress display's
#: estimate (bench_documents.py, example study: results.json about 0.1 s CPU, report.html
#: 0.05, appendix.docx 0.3-0.5, appendix.tex 0.03, tables.xlsx 0.25; data-changes.csv small)
_WRITE_WEIGHT = {"json": 2, "html": 1, "docx": 8, "tex": 1, "xlsx": 5, "changes": 1}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="psychometrics",
                                description="Psychometric validation of (translated) questionnaires, "
                                            "with numbers that agree with lavaan and psych.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command")

    def common(sp):
        sp.add_argument("--bootstrap", type=int, default=None, metavar="N",
                        help="bootstrap draws for the HTMT, omega and indirect-effect CIs "
                             "(default: the study file's options.bootstrap, else 1000)")
        sp.add_argument("--omega-bootstrap", type=int, default=None, metavar="N",
                        help="bootstrap draws for the omega CIs (default: --bootstrap; each draw "
                             "refits the factor model)")
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
    v.add_argument("--data", default=None, metavar="FILE",
                   help="the data file to read instead of the study file's `data:` (may lie "
                        "outside the study's folder)")
    common(v)
    d = sub.add_parser("demo", help="run the validation on the bundled example study")
    d.add_argument("--out", "-o", default="demo-report", help="output folder (default demo-report)")
    common(d)
    i = sub.add_parser("init", help="propose a study file from a data file (psychometrics.init)")
    i.add_argument("data", help="the data file (.csv, .xlsx or .sav)")
    i.add_argument("--out", "-o", required=True, help="the study file to write (.yaml)")
    i.add_argument("--sheet", default=None, help="xlsx sheet (name or number)")
    i.add_argument("--seed", type=int, default=None, help="the study's seed (default: random)")
    i.add_argument("--scales", action="append", metavar="DIR", help="more folders with instrument files")
    i.add_argument("--force", action="store_true", help="replace existing files")
    i.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    s = sub.add_parser("simulate", help="write the example study (data + study files)")
    s.add_argument("--out", "-o", required=True, help="output folder")
    s.add_argument("--seed", type=int, default=None, help="random seed (default 20261122)")
    s.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def _input_files(study) -> dict:
    """Every file the run reads, ``{resolved path: what it is}``: the study file, the data
    file and the instrument files."""
    files = [(study.path, "the study file"), (study.data, "the data file")]
    for si in study.instruments:
        src = getattr(si.instrument, "source", None)
        if src and not str(src).startswith("built-in") and Path(src).exists():
            files.append((Path(src), f"the instrument file of {si.id}"))
    out: dict = {}
    for f, what in files:
        if f is not None:
            out.setdefault(Path(f).resolve(), what)
    return out


def check_output_folder(out: Path, study, formats) -> dict:
    """Check, before any analysis runs, that ``out`` can take the report: it is a folder or
    can be made one, it is writable, and none of the files the report writes (nor the
    figures folder) is an input file of the study.  Creates the folder.  Returns the
    report files of an earlier run found there, ``{path: modification time in ns}``
    (removed after the new report is written when this run does not rewrite them).  Raises :class:`~psychometrics.errors.OutputError`."""
    from .errors import OutputError

    out = Path(out)
    inputs = _input_files(study)
    res = out.resolve()
    if res in inputs:
        raise OutputError(f"--out {out} is {inputs[res]}; choose a folder for the report")
    for parent in [res] + list(res.parents):
        if parent.exists():
            if not parent.is_dir():
                what = "is a file" if parent == res else f"cannot be made: {parent} is a file"
                raise OutputError(f"the output folder {out} {what}; choose another --out")
            break
    try:
        res.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"the output folder {out} cannot be created "
                          f"({exc.strerror or type(exc).__name__})") from None
    probe = res / f".psychometrics-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"the output folder {out} is not writable "
                          f"({exc.strerror or type(exc).__name__}); choose another --out") \
            from None
    targets = [res / name for name in REPORT_FILES.values()]
    for p, what in inputs.items():
        if p in targets or p.parent == res / "figures":
            raise OutputError(f"{what} ({p.name}) is in the output folder and has the name of a "
                              f"report file ({p.relative_to(res)}); the report would overwrite "
                              "it: choose another --out")
    for t in targets + [res / "figures"]:
        if t.exists() and t.is_dir() != (t.name == "figures"):
            raise OutputError(f"{t} is in the way of the report ({'a folder' if t.is_dir() else 'a file'}"
                              "); remove it or choose another --out")
    old = [t for t in targets if t.is_file()]
    if (res / "figures").is_dir():
        # every figure is written as PNG, PDF and SVG (psychometrics.report.figures)
        old += sorted(p for ext in ("png", "pdf", "svg") for p in (res / "figures").glob(f"*.{ext}"))
    return {p: p.stat().st_mtime_ns for p in old}


#: the progress display of the running command (warnings are written through it, so that on
#: a terminal they do not land in the middle of its live line)
_ACTIVE: dict = {}


def _plain_warnings():
    """Show warnings that reach the screen as one line each (``psychometrics: warning: ...``),
    without Python's file name and source line."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = f"psychometrics: warning: {message}"
        progress = _ACTIVE.get("progress")
        if progress is not None and file in (None, sys.stderr) and progress.enabled:
            progress.info(text)
        else:
            print(text, file=file or sys.stderr)
    return show


def _validate(study: Path, out: Path, args) -> int:
    from .report.progress import Progress
    from .scales import load_study

    data = getattr(args, "data", None)
    study_obj = load_study(study, data=Path(data) if data else None)
    opts = study_obj.options or {}
    formats = tuple(f.lower() for f in opts.get("formats") or REPORT_FILES)
    figures = not args.no_figures and opts.get("figures", True)
    old = check_output_folder(out, study_obj, formats)
    # progress on stderr: a live line per step on a terminal, a plain log otherwise; the last
    # step is writing the report (below)
    progress = Progress(enabled=not args.quiet, extra_steps=1)
    _ACTIVE["progress"] = progress
    try:
        return _validate_run(study, out, args, study_obj, formats, figures, old, progress)
    finally:
        _ACTIVE.pop("progress", None)


def _validate_run(study, out, args, study_obj, formats, figures, old, progress) -> int:
    from .report.pipeline import run_validation

    t0 = time.time()
    run = run_validation(study_obj, out, bootstrap=args.bootstrap, language=args.language,
                         progress=progress, figures=figures,
                         omega_bootstrap=args.omega_bootstrap, sem_bootstrap=args.sem_bootstrap,
                         parallel_iterations=args.parallel_iterations)
    res = Path(out).resolve()
    rewritten = {res / REPORT_FILES[f] for f in formats}
    # a figure of the earlier run that this run did not draw again keeps its old time stamp
    stale = [p for p, stamp in old.items() if p not in rewritten and p.exists()
             and (p.parent.name != "figures" or p.stat().st_mtime_ns == stamp)]
    run.results.setdefault("meta", {})["removed_stale_outputs"] = \
        [p.relative_to(res).as_posix() for p in stale]
    _freeze_again()
    paths = _write_report(run, out, formats, progress)
    for p in stale:
        try:
            p.unlink()
        except OSError:
            pass
    errors = run.results.get("errors", [])
    if not args.quiet:
        print(f"Validation of {study} finished in {time.time() - t0:.1f} s.")
        for kind, path in paths.items():
            print(f"  {kind:7s} {path}")
        if run.figures_dir is not None and run.figures_dir.exists():
            print(f"  figs    {run.figures_dir}/ ({len(list(run.figures_dir.glob('*.png')))} figures)")
        if stale:
            print(f"  removed {len(stale)} file(s) of an earlier report that this run does not "
                  f"rewrite: {', '.join(p.relative_to(res).as_posix() for p in stale[:10])}"
                  f"{' …' if len(stale) > 10 else ''}")
        n_missing = sum(1 for e in errors if e["kind"] == "unavailable")
        n_failed = sum(1 for e in errors if e["kind"] == "failed")
        print(f"  {len(run.warnings)} warning(s); {n_failed} analysis step(s) failed; "
              f"{n_missing} not available in this version (see report.html).")
    if errors:
        # the rest of the report is written; an analysis the study asks for that could not
        # run is still an error
        lines = [f"psychometrics: error: {len(errors)} analysis step(s) could not run (the rest "
                 f"of the report is in {out}):"]
        for e in errors[:10]:
            first = str(e.get("what", "")).strip().splitlines()
            lines.append(f"  - {e.get('step')}: {first[0] if first else e.get('kind')}")
        if len(errors) > 10:
            lines.append(f"  ... and {len(errors) - 10} more (results.json, `errors`).")
        print("\n".join(lines), file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


#: the cost of writing every report file for the progress display's estimate of the write
#: step (``steps.REFERENCE_SECONDS["write"]``: seconds = b x cost): cases x items plus this
#: constant (most of the time does not grow with the cases: the appendices' tables), times
#: the share of the files asked for in :data:`_WRITE_WEIGHT`
_WRITE_FIXED = 5e6


def _write_cost(run, weight) -> float | None:
    """The write step's cost (:data:`_WRITE_FIXED`) from results["data"] (cases, items);
    None when the results do not say them (no estimate)."""
    try:
        data = run.results["data"]
        cells = float(data["n_cases"]) * sum(len(v) for v in data["instruments"].values())
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return (cells + _WRITE_FIXED) * sum(weight) / sum(_WRITE_WEIGHT.values())


def _write_report(run, out, formats, progress) -> dict:
    """``write_outputs`` one format at a time, as a step of the progress display with a bar
    over the files (the Word and LaTeX appendices take several seconds).  The files are the
    same as from one call: every call numbers the tables and figures the same way."""
    from .report.layout import shared_layouts
    from .report.pipeline import write_outputs

    paths: dict = {}
    weight = [_WRITE_WEIGHT.get(f, 1) for f in formats]
    # shared_layouts: each table's cells are formatted once for all the documents; the step
    # says its time left from its start (the bar's first update comes after results.json)
    with progress.step(f"write the report ({', '.join(formats)})", kind="write",
                       cost=_write_cost(run, weight)), shared_layouts():
        # the bar's units are the files' usual shares of the time, for its estimate
        update = progress.bar("", sum(weight), min_seconds=0.0, counts=False)
        for k, fmt in enumerate(formats):
            with progress.step(REPORT_FILES.get(fmt, fmt)):
                paths.update(write_outputs(run, out, formats=(fmt,)))
            update(sum(weight[:k + 1]), sum(weight))
    return paths


def main(argv=None) -> int:
    """Run the command line (``argv``: the arguments; None: ``sys.argv``); return the exit
    status.  Run as the program itself (the ``psychometrics`` console script or ``python -m
    psychometrics.cli``), the process ends here (:func:`_end_process`)."""
    code = _main(argv)
    if argv is None and getattr(sys.modules.get("__main__"), "main", None) is main:
        _end_process(code)
    return code


def _end_process(code: int) -> None:
    """End the process with ``code`` after the work a normal interpreter exit does that
    matters -- the ``atexit`` handlers (logging, multiprocessing, temporary files) and
    flushing standard output and error -- without tearing down every module and object
    (about 0.7 s of CPU after a demo: two thousand modules and their objects freed one by
    one).  Only when no other thread is running (else the normal exit joins it); every
    report file is closed before this point."""
    import atexit
    import threading
    if threading.active_count() > 1 or not hasattr(atexit, "_run_exitfuncs"):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:      # a closed or broken stream: nothing left to write there
            pass
    os._exit(code if isinstance(code, int) else 1)


def _main(argv=None) -> int:
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
        with warnings.catch_warnings():
            warnings.showwarning = _plain_warnings()
            return _run(args)
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


#: modules a validation run imports on its way (``run_validation`` and its steps, the MCD of
#: the screening, every report writer), imported before it by
#: :func:`_import_run_modules`; a module left out here is imported where it is needed
RUN_MODULES = ("psychometrics.report.pipeline", "psychometrics.report.steps",
               "psychometrics.report.progress", "psychometrics.scales",
               "psychometrics.screening", "sklearn.covariance",
               "psychometrics.report.layout", "psychometrics.report.jsonfile",
               "psychometrics.report.html", "psychometrics.report.docx",
               "psychometrics.report.latex", "psychometrics.report.xlsx")
#: ... and those the figures' files import (matplotlib's PDF backend imports fontTools)
FIGURE_MODULES = ("psychometrics.report.figures", "matplotlib.backends.backend_agg",
                  "matplotlib.backends.backend_pdf", "matplotlib.backends.backend_svg")


def _import_run_modules(figures: bool = True) -> bool:
    """Import :data:`RUN_MODULES` (and :data:`FIGURE_MODULES` with ``figures``) with Python's
    cyclic garbage collector paused, then set every object that exists now aside from it
    (``gc.freeze``), once: imports make a few hundred thousand objects, nearly all of them
    kept for the process, and the collector's passes during the imports, each over every
    object made so far, were about a seventh of their CPU; after the freeze its full passes
    during the run skip the libraries (:func:`psychometrics.report.steps.run_all` then
    leaves the freeze alone).  A module that cannot be imported is left to the step that
    needs it.  Returns whether it froze (then :func:`_unfreeze` undoes it); nothing is
    done when objects are frozen already or the collector is off."""
    import gc
    import importlib
    if not hasattr(gc, "freeze") or not gc.isenabled() or gc.get_freeze_count():
        return False
    gc.disable()
    try:
        for name in RUN_MODULES + (FIGURE_MODULES if figures else ()):
            try:
                importlib.import_module(name)
            except Exception:     # pragma: no cover - an optional library missing or broken
                pass
    finally:
        gc.enable()
    gc.freeze()
    _GC_FROZEN[0] = True
    return True


#: whether the objects are set aside from the garbage collector by :func:`_import_run_modules`
_GC_FROZEN = [False]


def _freeze_again() -> None:
    """Before the report is written: set the objects that exist now aside from the garbage
    collector again, when :func:`_import_run_modules` froze them and something has handed
    them back since (the structural bootstrap freezes and unfreezes for its forked workers):
    the documents' writers make many objects, and each full pass of the collector would
    walk the libraries and the run's results again.  No file depends on it."""
    import gc
    if _GC_FROZEN[0] and gc.isenabled():
        gc.freeze()


def _unfreeze(frozen: bool) -> None:
    """Undo the freezes of :func:`_import_run_modules` and :func:`_freeze_again` (when it
    froze): the objects are handed back to the collector."""
    if frozen:
        import gc
        gc.unfreeze()
        _GC_FROZEN[0] = False


def _run(args) -> int:
    if args.command in ("validate", "demo"):
        frozen = _import_run_modules(figures=not args.no_figures)
        try:
            return _run_command(args)
        finally:
            _unfreeze(frozen)
    return _run_command(args)


def _run_command(args) -> int:
    if args.command == "validate":
        return _validate(Path(args.study), Path(args.out), args)
    if args.command == "demo":
        from .errors import OutputError
        from .simulate import simulate_example_study
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise OutputError(f"the output folder {out} is a file; choose another --out")
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
    if args.command == "init":
        from .init import main as init_main
        return init_main(args)
    if args.command == "simulate":
        from .simulate import DEFAULT_SEED, simulate_example_study
        sim = simulate_example_study(Path(args.out), seed=args.seed if args.seed is not None
                                     else DEFAULT_SEED)
        for kind, path in sim.files.items():
            print(f"  {kind:10s} {path}")
        return EXIT_OK
    return EXIT_USER


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
