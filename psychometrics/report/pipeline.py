"""The validation pipeline: study file -> analyses -> document model + results dict.

:func:`run_validation` runs, for every instrument of the study, data
screening, item analysis, reliability (alpha, omega, CIs), EFA (KMO,
Bartlett, parallel analysis, extraction/rotation, optional split half), the
CFA of the hypothesised structure and measurement invariance by group; then,
across instruments, convergent/discriminant validity (AVE, composite
reliability, Fornell-Larcker, HTMT with bootstrap CIs), the full measurement
model, and the structural model (its lavaan syntax always; the fitted model
with indirect effects and bootstrap CIs when the study gives structural
paths).  It returns a :class:`ValidationRun` holding the
:class:`~psychometrics.report.model.Report` (what the renderers format) and
``results`` (every number, for results.json).  :func:`write_outputs` renders
everything into a folder.

The pipeline computes nothing itself: each number comes from an analysis
function of the package.  An analysis that is not available (its module has
not been written yet) or that fails gives a plain notice in its section and a
warning -- never a placeholder number.
"""
from __future__ import annotations

import traceback
import warnings as _warnings
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..errors import PsychometricsError
# re-exported: the public API names ValidationRun; tests and callers use need/has
from .common import (AnalysisUnavailable, ValidationRun, _get, command_line, has, need,  # noqa: F401
                     now_utc, versions)
from .i18n import tr, trf
from .model import Figure, Notice, Section, Table
from .progress import Progress

DEFAULT_BOOTSTRAP = 1000


# ----------------------------------------------------------------------------------------------
def _release_memory(runner) -> None:
    """After each unit of a large study, give the C heap's free pages back to the operating
    system (:func:`psychometrics.io.release_free_memory`): the analyses' many small
    temporaries otherwise stay resident between steps (issue 13: 0.4 GB after the item
    analysis of 10^6 cases)."""
    ds = getattr(runner, "dataset", None)
    if ds is not None:
        from .. import io as _io
        if ds.data.size >= _io.TRIM_MIN_CELLS:
            _io.release_free_memory()


class _Runner:
    """Holds the state of one run; each ``step_*`` method fills one part of the report."""

    def __init__(self, study_path, out_dir, *, bootstrap=None, language=None, progress=None,
                 figures=True, parallel_iterations=None, omega_bootstrap=None,
                 sem_bootstrap=None):
        # a study file path, or a Study already loaded (the command line loads it first)
        self.study_path = study_path if hasattr(study_path, "instruments") else Path(study_path)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress or Progress(enabled=False)
        self.bootstrap_override = bootstrap
        self.language_override = language
        self.make_figures = figures
        self.parallel_override = parallel_iterations
        self.omega_bootstrap = omega_bootstrap
        self.sem_bootstrap = sem_bootstrap
        self.results: dict = {"instruments": {}, "tables": {}, "errors": []}
        self.warnings: list[str] = []
        # (key, label, fit-table row) of every model fitted: the row (lavaan fitMeasures) is
        # taken when the model is fitted, so the fits themselves (data, patterns, moments) are
        # not kept for the whole run (issue 13: memory at large N)
        self.fits: list[tuple[str, str, dict | None]] = []
        self.cfa_fits: dict = {}

    # -- helpers -------------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.report.language

    def t(self, key: str, **values) -> str:
        """Text of ``key`` in the report language; with ``values``, str.format placeholders
        filled (numbers localised).  Without values the raw template is returned, for
        :class:`Paragraph` blocks whose numbers are formatted by the renderers."""
        return trf(key, self.lang, **values) if values else tr(key, self.lang)

    def add_fit(self, key: str, label: str, fit) -> None:
        """Record a fitted model for the fit-indices table: its row (lavaan fitMeasures, see
        ``steps._fit_row``) is taken now and the fit is not kept (issue 13: every fit holds
        its data, patterns and moments; keeping them all for the table cost GBs at 10^6 cases)."""
        from .steps import _fit_row
        try:
            row = _fit_row(fit)
        except Exception as exc:  # noqa: BLE001 - a table row is not worth failing the run
            self.warn(label, f"fit measures unavailable ({exc})")
            row = None
        self.fits.append((key, label, row))

    def warn(self, where: str, message: str) -> str:
        msg = f"{where}: {message}" if where else message
        seen = getattr(self, "_seen_messages", None)
        if seen is None:
            seen = self._seen_messages = set()
        if str(message) not in seen:       # the same trouble reported twice is shown once
            seen.add(str(message))
            self.warnings.append(msg)
        return msg

    def collect_warnings(self, where: str, result: Any) -> list[str]:
        """Messages recorded in a result object (``warnings``, ``diagnostics``)."""
        out = []
        for name in ("warnings", "diagnostics"):
            v = getattr(result, name, None)
            if v is None and isinstance(result, dict):
                v = result.get(name)
            if v is None:
                continue
            if hasattr(v, "to_list"):
                v = v.to_list()
            if isinstance(v, (list, tuple)):
                for w in v:
                    if isinstance(w, dict):
                        w = w.get("message") or w.get("text") or str(w)
                    elif isinstance(w, (tuple, list)) and len(w) == 2:
                        w = w[1]
                    out.append(self.warn(where, str(w)))
        return out

    def guarded(self, section: Section, label: str, fn: Callable, *args, **kwargs):
        """Run ``fn``; on a missing analysis or a failure add a notice to ``section``."""
        with self.progress.step(label):
            try:
                with _warnings.catch_warnings(record=True) as caught:
                    _warnings.simplefilter("always")
                    out = fn(*args, **kwargs)
                _release_memory(self)
                for w in caught:
                    if w.category.__name__ == "PsychometricsWarning":
                        self.warn(label, str(w.message))
                return out
            except AnalysisUnavailable as exc:
                section.add(Notice(self.t("missing_module", module=f"psychometrics.{exc.module}",
                                          name=exc.name), kind="missing"))
                self.results["errors"].append({"step": label, "kind": "unavailable",
                                               "what": str(exc)})
                return None
            except ImportError as exc:  # an analysis depends on a module not written yet
                section.add(Notice(self.t("missing_module", module=getattr(exc, "name", None)
                                          or "psychometrics", name=str(exc)), kind="missing"))
                self.results["errors"].append({"step": label, "kind": "unavailable",
                                               "what": str(exc)})
                return None
            except Exception as exc:  # an analysis failed: say so, keep going
                msg = f"{type(exc).__name__}: {exc}" if not isinstance(exc, PsychometricsError) \
                    else str(exc)
                section.add(Notice(self.t("failed", error=msg), kind="failed"))
                self.warn(label, f"analysis failed ({msg})")
                self.results["errors"].append({"step": label, "kind": "failed", "what": msg,
                                               "traceback": traceback.format_exc(limit=8)})
                return None

    def table(self, section: Section, key: str, title: str, df: pd.DataFrame, formats=None,
              note="", **kw) -> Table:
        t = Table(key=key, title=title, data=df, formats=formats or {}, note=note, **kw)
        section.add(t)
        self.results["tables"][key] = {"title": title, "note": note, "formats": t.formats,
                                       "frame": df}
        return t

    def factor_labels(self) -> dict:
        """factor name -> label in the report language (subscale labels of the instruments)."""
        out = {}
        for si in self.study.instruments:
            for f in si.instrument.factors():
                lab = si.instrument.subscale_label(f, self.lang) if f in si.instrument.subscales \
                    else si.instrument.label(self.lang)
                out[f] = lab
        return out

    def figure(self, section: Section, key: str, caption: str, draw: Callable, *args, **kw):
        if not self.make_figures or self.figures_dir is None:
            return None
        path = self.figures_dir / f"{key}.png"
        # on a terminal the figure shows as the running part of its step, timed by the
        # figures drawn before it in this run
        self.progress.phase(f"figure {key}", kind="figure", cost=1.0)
        try:
            draw(*args, path=path, lang=self.lang, **kw)
        except Exception as exc:  # a figure must never stop the report
            self.warn("figure " + key, f"could not be drawn ({type(exc).__name__}: {exc})")
            return None
        finally:
            self.progress.phase(None)
        return section.add(Figure(key=key, path=path, caption=caption))

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> ValidationRun:
        from . import steps
        return steps.run_all(self)


def run_validation(study_path, out_dir=None, *, bootstrap: int | None = None,
                   language: str | None = None, progress: Progress | None = None,
                   figures: bool = True, parallel_iterations: int | None = None,
                   omega_bootstrap: int | None = None,
                   sem_bootstrap: int | None = None) -> ValidationRun:
    """Run the whole validation of a study file; return a :class:`ValidationRun`.

    ``bootstrap`` overrides the study's ``options.bootstrap`` (draws for the
    HTMT, omega and indirect-effect CIs), ``language`` its ``language``; figures are
    drawn into ``out_dir/figures`` (none without ``out_dir``).  Errors in the
    study or data file raise :class:`~psychometrics.errors.StudyError` /
    :class:`~psychometrics.errors.DataError`; failures of single analyses are
    reported in their sections instead.  ``parallel_iterations``: random data sets of the
    parallel analysis (default 100); ``omega_bootstrap``: bootstrap draws of the omega CIs
    (default ``bootstrap``; each draw refits the factor model);
    ``sem_bootstrap``: bootstrap draws of the structural model's CIs (indirect effects;
    default ``bootstrap``; each draw refits the whole model).
    """
    runner = _Runner(study_path, out_dir, bootstrap=bootstrap, language=language,
                     progress=progress, figures=figures, parallel_iterations=parallel_iterations,
                     omega_bootstrap=omega_bootstrap, sem_bootstrap=sem_bootstrap)
    return runner.run()


def write_outputs(run: ValidationRun, out_dir,
                  formats=("json", "html", "docx", "tex", "xlsx", "changes"),
                  page_size: str | None = None) -> dict:
    """Render ``run`` into ``out_dir``: results.json, report.html, appendix.docx, appendix.tex
    (with ``fonts/`` for a Persian report), tables.xlsx, data-changes.csv (every changed
    cell and dropped case, one row each; only a header when nothing changed; figures are
    already in ``out_dir/figures``).  ``page_size``: "a4" (default) or "letter" for the Word and LaTeX
    appendices (default: the study's ``options.page_size``).  Returns {format: path}."""
    from .docx import render_docx
    from .html import render_html
    from .jsonfile import write_json
    from .latex import render_latex
    from .layout import shared_layouts
    from .xlsx import render_xlsx

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    run.report.number()
    # table numbers into results so the JSON and the documents agree
    for t in run.report.tables():
        if t.key in run.results["tables"]:
            run.results["tables"][t.key]["number"] = t.number
    if "json" in formats:
        paths["json"] = out / "results.json"
        write_json(run.results, paths["json"])    # in pieces (issue 13, 10^6 cases)
    with shared_layouts():      # each table's cells are formatted once for all documents
        if "html" in formats:
            paths["html"] = out / "report.html"
            render_html(run.report, paths["html"])
        if "docx" in formats:
            paths["docx"] = render_docx(run.report, out / "appendix.docx", page_size=page_size)
        if "tex" in formats:
            paths["tex"] = out / "appendix.tex"
            render_latex(run.report, paths["tex"], page_size=page_size)
        if "xlsx" in formats:
            paths["xlsx"] = render_xlsx(run.report, out / "tables.xlsx")
    if "changes" in formats:
        paths["changes"] = out / "data-changes.csv"
        write_changes_csv(run.results.get("data") or {}, paths["changes"])
    return paths




_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(v) -> str:
    """A value for data-changes.csv: '' for None; text that a spreadsheet would take for a
    formula (``=2+1``, ``@SUM``, ``-x``) gets a leading apostrophe (OWASP's advice against
    CSV injection); numbers, negative ones included, are written as they are."""
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(v) if isinstance(v, float) else str(v)
    text = str(v)
    if text.startswith(_CSV_FORMULA):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def write_changes_csv(data: dict, path) -> Path:
    """Write data-changes.csv from ``results["data"]``: one row per changed cell (file, case,
    column, old value, new value -- empty = set missing --, reason), then one per dropped case
    (column empty, the file line in ``old``).  UTF-8 with a byte-order mark, so that
    spreadsheets read Persian text.  Returns ``path``."""
    import csv

    path = Path(path)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "case", "column", "old", "new", "reason"])
        fname = data.get("file", "")
        for c in data.get("changes") or []:
            w.writerow([_csv_cell(c.get("file", fname)), _csv_cell(c.get("row")),
                        _csv_cell(c.get("column")), _csv_cell(c.get("old")),
                        _csv_cell(c.get("new")), _csv_cell(c.get("reason"))])
        for d in data.get("dropped") or []:
            w.writerow([_csv_cell(fname), _csv_cell(d.get("row")), "",
                        _csv_cell(d.get("line")), "", _csv_cell(d.get("reason"))])
    return path
