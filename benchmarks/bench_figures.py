"""Time the report's figures and writers on the example study (CPU seconds).

    python benchmarks/bench_figures.py [--language en|fa|both] [--out DIR] [--keep]
                                       [--no-text-caches] [--no-glyph-caches]

Runs the validation of the example study with few bootstrap draws (the statistics are not
what is measured), timing the CPU of every figure call (PNG 300 dpi + PDF + SVG) and then
of every writer (report.html, appendix.docx, appendix.tex, tables.xlsx, results.json) with
the load average beside each figure.  Tests never time anything.
"""
from __future__ import annotations

import argparse
import collections
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def one(lang: str, out: Path) -> None:
    from psychometrics.report import pipeline
    from psychometrics.report.docx import render_docx
    from psychometrics.report.html import render_html
    from psychometrics.report.jsonfile import render_json
    from psychometrics.report.latex import render_latex
    from psychometrics.report.progress import Progress
    from psychometrics.report.xlsx import render_xlsx
    from psychometrics.simulate import simulate_example_study

    per_kind = collections.defaultdict(lambda: [0, 0.0])
    orig = pipeline._Runner.figure

    def timed(self, section, key, caption, draw, *args, **kw):
        c0 = time.process_time()
        try:
            return orig(self, section, key, caption, draw, *args, **kw)
        finally:
            k = per_kind[getattr(draw, "__name__", str(draw))]
            k[0] += 1
            k[1] += time.process_time() - c0

    from psychometrics.report import figures
    subsets = [0, 0.0]
    make_subsets = figures._subset_from_base

    def timed_subsets(get_glyphs_subset):
        inner = make_subsets(get_glyphs_subset)

        def subset_glyphs(*args):
            c0 = time.process_time()
            try:
                return inner(*args)
            finally:
                subsets[0] += 1
                subsets[1] += time.process_time() - c0
        return subset_glyphs

    # where a figure's CPU goes: building it, the files (by savefig format: "raw" is the
    # PNG's Agg drawing), the PNG encoding, the bounding box measured once
    import matplotlib.figure
    phases = collections.defaultdict(float)

    def timed_phase(name, fn):
        def wrapper(*args, **kw):
            c0 = time.process_time()
            try:
                return fn(*args, **kw)
            finally:
                phases[name(args, kw) if callable(name) else name] += time.process_time() - c0
        return wrapper

    patched = [(matplotlib.figure.Figure, "savefig", timed_phase(
                    lambda a, kw: "savefig " + (kw.get("format") or str(a[1]).rsplit(".", 1)[-1]),
                    matplotlib.figure.Figure.savefig)),
               (figures, "_write", timed_phase("_write (all files)", figures._write)),
               (figures, "_write_png", timed_phase("_write_png", figures._write_png))]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patched]

    sim = simulate_example_study(out / "example")
    study = sim.files["study_fa" if lang == "fa" else "study"]
    pipeline._Runner.figure = timed
    figures._subset_from_base = timed_subsets
    for obj, attr, fn in patched:
        setattr(obj, attr, fn)
    try:
        run = pipeline.run_validation(study, out, bootstrap=20, sem_bootstrap=0,
                                      omega_bootstrap=0, progress=Progress(stream=io.StringIO()))
    finally:
        pipeline._Runner.figure = orig
        figures._subset_from_base = make_subsets
        for obj, attr, fn in saved:
            setattr(obj, attr, fn)
    total = sum(v[1] for v in per_kind.values())
    n = sum(v[0] for v in per_kind.values())
    print(f"[{lang}] figures: {n} calls, {total:.2f} s CPU (load average "
          f"{os.getloadavg()[0]:.1f})")
    for name, (cnt, secs) in sorted(per_kind.items(), key=lambda kv: -kv[1][1]):
        print(f"    {secs:6.2f} s  {cnt:2d} x {name}")
    print(f"    of which {subsets[1]:.2f} s for {subsets[0]} PDF font subsets (base fonts "
          "included)")
    files = phases["_write (all files)"]
    saves = {k[8:]: v for k, v in phases.items() if k.startswith("savefig ")}
    print(f"    by phase: building {total - files:.2f} s, bounding box "
          f"{files - sum(saves.values()) - (phases['_write_png'] - saves.get('raw', 0.0)):.2f} s, "
          f"PNG drawing {saves.get('raw', 0.0):.2f} s, PNG encoding "
          f"{phases['_write_png'] - saves.get('raw', 0.0):.2f} s, PDF {saves.get('pdf', 0.0):.2f} s, "
          f"SVG {saves.get('svg', 0.0):.2f} s")
    sizes = collections.defaultdict(int)
    for p in (out / "figures").iterdir():
        sizes[p.suffix] += p.stat().st_size
    print("    files: " + ", ".join(f"{ext[1:].upper()} {n / 1e6:.2f} MB"
                                   for ext, n in sorted(sizes.items())))
    run.report.number()
    writers = (("json", lambda: render_json(run.results, out / "results.json")),
               ("html", lambda: render_html(run.report, out / "report.html")),
               ("docx", lambda: render_docx(run.report, out / "appendix.docx")),
               ("tex", lambda: render_latex(run.report, out / "appendix.tex")),
               ("xlsx", lambda: render_xlsx(run.report, out / "tables.xlsx")))
    tot_w = 0.0
    for name, fn in writers:
        c0 = time.process_time()
        fn()
        secs = time.process_time() - c0
        tot_w += secs
        print(f"[{lang}] {name:5s} {secs:6.2f} s CPU (load average {os.getloadavg()[0]:.1f})")
    print(f"[{lang}] figures + writers: {total + tot_w:.2f} s CPU")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--language", choices=["en", "fa", "both"], default="both")
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary output folder")
    ap.add_argument("--no-text-caches", action="store_true",
                    help="draw with figures.TEXT_CACHES = False (the path before the text "
                         "caches: only the text measurements shared), to compare")
    ap.add_argument("--no-glyph-caches", action="store_true",
                    help="draw with figures.GLYPH_CACHES = SUBSET_CACHE = False (every glyph "
                         "loaded, every PDF font subset made anew), to compare")
    args = ap.parse_args(argv)
    if args.no_glyph_caches:
        from psychometrics.report import figures
        figures.GLYPH_CACHES = figures.SUBSET_CACHE = False
    if args.no_text_caches:
        from psychometrics.report import figures
        figures.TEXT_CACHES = False
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="psychometrics-figs-"))
    langs = ("en", "fa") if args.language == "both" else (args.language,)
    for lang in langs:
        one(lang, out / lang)
    print(f"output: {out}")
    if not args.out and not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
