"""CPU of what `psychometrics demo` spends outside the statistics and figures: starting the
process (imports) and writing the documents.

    python benchmarks/bench_documents.py [--language en|fa|both] [--repeat 3] [--demo]

1. Imports, each in a fresh interpreter (CPU seconds of that child process): the interpreter
   alone (``python -c pass``), ``import psychometrics.cli`` (what every command pays first),
   and every module a demo run imports, in the order it imports them (the list is recorded by
   a small demo run in another child first).
2. Documents: the example study is validated once (20 bootstrap draws, figures drawn: the
   HTML page and the Word appendix embed them), then results.json, report.html,
   appendix.docx, appendix.tex and tables.xlsx are written one after the other as the
   command line writes them (one ``write_outputs`` call per file, tables laid out once for
   all), and each file's CPU is printed; ``--repeat`` writes them again (later rounds find
   the text measurements cached).
3. ``--demo``: the whole ``psychometrics demo --quiet`` as a child process (1,000 draws),
   user + system CPU of it and of its worker processes.

Every figure is printed with the load average (the machine is shared).  Tests never time
anything.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

FORMATS = ("json", "html", "docx", "tex", "xlsx")


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def _child_cpu(code: str) -> float:
    """CPU seconds (user + system) of a fresh interpreter running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


_RECORD = """
import sys, json
from psychometrics.cli import main
main(["demo", "--out", {out!r}, "--quiet", "--bootstrap", "20", "--parallel-iterations", "10"])
json.dump(list(sys.modules), open({path!r}, "w"))
"""

_IMPORT_ALL = """
import importlib, json, sys, time
names = json.load(open({path!r}))
c0 = time.process_time()
n = 0
for name in names:
    if name in sys.modules or name == "__main__":
        continue
    try:
        importlib.import_module(name)
        n += 1
    except Exception:
        pass
print(json.dumps({{"cpu": time.process_time() - c0, "modules": len(sys.modules)}}))
"""


def imports(tmp: Path, reps: int) -> None:
    from_cache = not sys.dont_write_bytecode
    print(f"bytecode cache written: {'yes' if from_cache else 'no (PYTHONDONTWRITEBYTECODE)'}; "
          "without it the package's own sources are compiled in every process")
    start = [_child_cpu("pass") for _ in range(reps)]
    cli = [_child_cpu("import psychometrics.cli") for _ in range(reps)]
    print(f"interpreter start (python -c pass): {_fmt(start)} s CPU ({_load()})")
    print(f"import psychometrics.cli (process): {_fmt(cli)} s CPU ({_load()})")
    names = tmp / "modules.json"
    subprocess.run([sys.executable, "-c", _RECORD.format(out=str(tmp / "record"),
                                                          path=str(names))], check=True)
    runs = []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([sys.executable, "-c", _IMPORT_ALL.format(path=str(names))],
                             check=True, capture_output=True, text=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append(((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
                     json.loads(out)))
    n = runs[0][1]["modules"]
    print(f"every module a demo imports ({n} modules; process incl. start): "
          f"{_fmt([r[0] for r in runs])} s CPU ({_load()})")


def _fmt(xs) -> str:
    return " / ".join(f"{x:.2f}" for x in xs)


def documents(lang: str, out: Path, repeat: int) -> None:
    from psychometrics.report.pipeline import run_validation, write_outputs
    from psychometrics.report.progress import Progress
    from psychometrics.simulate import simulate_example_study
    try:
        from psychometrics.report.layout import shared_layouts
    except ImportError:         # code before shared layouts (for before/after runs)
        shared_layouts = nullcontext

    sim = simulate_example_study(out / "example")
    study = sim.files["study_fa" if lang == "fa" else "study"]
    run = run_validation(study, out, bootstrap=20, sem_bootstrap=20, omega_bootstrap=20,
                         progress=Progress(stream=io.StringIO()))
    for k in range(repeat):
        cpu = {}
        with shared_layouts():          # as the command line writes the report
            for fmt in FORMATS:
                c0 = time.process_time()
                write_outputs(run, out, formats=(fmt,))
                cpu[fmt] = time.process_time() - c0
        print(f"[{lang}] documents, round {k + 1}: "
              + ", ".join(f"{f} {s:.3f}" for f, s in cpu.items())
              + f" = {sum(cpu.values()):.2f} s CPU ({_load()})")


def demo(tmp: Path) -> None:
    exe = Path(sys.executable).with_name("psychometrics")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "psychometrics.cli"]
    load0 = _load()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd + ["demo", "--out", str(tmp / "demo"), "--quiet"], check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, sys_ = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    print(f"psychometrics demo: {user + sys_:.1f} s CPU (user {user:.1f} + system {sys_:.1f}, "
          f"worker processes included), wall {wall:.1f} s ({load0} before, {_load()} after)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--language", choices=["en", "fa", "both"], default="both")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of writing the documents")
    ap.add_argument("--import-reps", type=int, default=3, help="fresh interpreters per import figure")
    ap.add_argument("--no-imports", action="store_true")
    ap.add_argument("--no-documents", action="store_true")
    ap.add_argument("--demo", action="store_true", help="also time the whole demo (child process)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="psychometrics-docs-"))
    try:
        if not args.no_imports:
            imports(tmp, args.import_reps)
        if not args.no_documents:
            for lang in (("en", "fa") if args.language == "both" else (args.language,)):
                documents(lang, tmp / lang, args.repeat)
        if args.demo:
            demo(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
