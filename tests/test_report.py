"""The validation report: document model, number formatting, renderers, and the pipeline run
on the example study (once per test session, small bootstrap counts), with the Word appendix
re-opened and checked cell by cell against results.json, and the HTML page loaded in a real
headless Chromium when it is installed."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import psychometrics as pm
from psychometrics.report import fmt
from psychometrics.report.docx import render_docx, table_cells
from psychometrics.report.html import render_html
from psychometrics.report.layout import readable
from psychometrics.report.latex import render_latex
from psychometrics.report.model import (Code, Figure, Notice, Paragraph, Report, Section, Table,
                                        WarningList)
from psychometrics.report.pipeline import run_validation, write_outputs
from psychometrics.report.xlsx import render_xlsx

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# ------------------------------------------------------------------------------------ formats
@pytest.mark.parametrize("value,spec,expected", [
    (0.8512, "r", ".85"), (-0.1234, "r", "\u2212.12"), (0.9567, "r3", ".957"), (1.0, "r", "1.00"),
    (0.0004, "p", "< .001"), (0.0456, "p", ".046"), (0.5, "p", ".500"), (3.14159, "f2", "3.14"),
    (324, "d", "324"), (0.031, "pct", "3.1%"), (None, "f2", "\u2014"), (float("nan"), "r", "\u2014"),
    (-0.0001, "f2", "0.00"), (-0.001, "r", ".00"), ("text", "s", "text"), (pd.NA, "f2", "\u2014"),
])
def test_apa_number_formats(value, spec, expected):
    assert fmt.fmt_number(value, spec) == expected


def test_persian_digits_and_separator():
    assert fmt.fmt_number(0.85, "r", "fa") == "٫۸۵"
    assert fmt.fmt_number(324, "d", "fa") == "۳۲۴"
    assert fmt.fmt_number(12.5, "f1", "fa") == "۱۲٫۵"
    assert fmt.fmt_number(0.0001, "p", "fa") == "< ٫۰۰۱"


def test_template_fill():
    text = fmt.fill("alpha = {a:r}, N = {n:d}, p {p:pe}, {name:s}", {"a": 0.912, "n": 324, "p": 0.2,
                                                                    "name": "WAI"})
    assert text == "alpha = .91, N = 324, p = .200, WAI"
    assert fmt.fill("p {p:pe}", {"p": 0.0002}) == "p < .001"
    with pytest.raises(ValueError):
        fmt.fmt_number(1.0, "zz")


# ---------------------------------------------------------------------------- small document
def _small_report(tmp_path, lang="en"):
    rep = Report("Small report", language=lang)
    s = rep.add(Section("a", "Section A"))
    s.add(Paragraph("Alpha was {a:r}, N = {n:d}.", {"a": 0.8512, "n": 324}))
    df = pd.DataFrame({"M": [3.2, np.nan], "r_drop": [0.61, -0.05], "p": [0.2, 0.0004]},
                      index=["x1", "x2"])
    s.add(Table("t1", "Item Statistics", df, {"M": "f2", "r_drop": "r", "p": "p"}, note="A note.",
                index_label="Item"))
    from psychometrics.report import figures
    path = figures.scree_plot([3.0, 1.2, 0.7], [1.3, 1.1, 1.0], tmp_path / f"scree_{lang}.png",
                              lang=lang)
    s.add(Figure("scree", path, "Scree plot"))
    s2 = rep.add(Section("b", "Section B"))
    s2.add(Table("t2", "Second", pd.DataFrame({"v": [1, 2]}, index=["a", "b"])))
    s2.add(WarningList(["case 7 dropped"]))
    s2.add(Notice("EFA is not available"))
    s2.add(Code("f =~ x1 + x2"))
    return rep


def test_numbering_in_document_order(tmp_path):
    rep = _small_report(tmp_path).number()
    assert [t.number for t in rep.tables()] == [1, 2]
    assert [f.number for f in rep.figures()] == [1]
    assert rep.table("t2").title == "Second"


def test_html_small(tmp_path):
    rep = _small_report(tmp_path)
    html = render_html(rep, tmp_path / "r.html")
    assert "<p class='tcap' id='table-t1-cap'><span class='num'>Table 1</span>" in html
    assert "Figure 1</span>" in html and "data:image/png;base64," in html
    assert "\u2212.05" in html and "&lt; .001" in html and "\u2014" in html
    assert "dir='ltr'" in html and "@font-face" not in html
    assert "<i>N</i> = 324" in html                           # statistical symbols in italics
    assert "case 7 dropped" in html and "EFA is not available" in html


def test_html_persian_is_rtl_with_embedded_font(tmp_path):
    html = render_html(_small_report(tmp_path, "fa"))
    assert "dir='rtl'" in html and "lang='fa'" in html
    assert "@font-face { font-family: 'Vazirmatn'" in html
    assert "جدول ۱" in html and "٫۸۵" in html


def test_docx_small_roundtrip(tmp_path):
    import docx
    rep = _small_report(tmp_path)
    path = render_docx(rep, tmp_path / "a.docx")
    d = docx.Document(str(path))
    assert len(d.tables) == 2
    cells = [[c.text for c in row.cells] for row in d.tables[0].rows]
    assert cells == table_cells(rep.table("t1"), "en")
    assert cells[1] == ["x1", "3.20", ".61", ".200"]
    assert cells[0] == ["Item", "M", "Corrected item–total r", "p"]   # readable headers
    texts = [p.text for p in d.paragraphs]
    assert "Table 1" in texts and "Item Statistics" in texts and "Note. A note." in texts


def test_docx_persian_is_rtl(tmp_path):
    import docx
    from docx.oxml.ns import qn
    rep = _small_report(tmp_path, "fa")
    d = docx.Document(str(render_docx(rep, tmp_path / "fa.docx")))
    tbl = d.tables[0]._tbl
    assert tbl.tblPr.find(qn("w:bidiVisual")) is not None
    # numbers are left-to-right isolates (U+2066 ... U+2069) inside the RTL table
    assert d.tables[0].rows[1].cells[1].text == "\u2066۳٫۲۰\u2069"
    assert d.tables[0].rows[1].cells[0].text == "\u2066x1\u2069"   # Latin names too


def _add_table_cell_by_cell(doc, t, lang, size, widths_pt):
    """The Word table as python-docx makes it cell by cell (the code before issue 13's
    cached cell parts): the reference for :func:`psychometrics.report.docx.add_table`."""
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Emu, Pt

    from psychometrics.report import docx as D
    from psychometrics.report.layout import layout
    rtl = lang == "fa"
    lay = layout(t, lang)
    start = WD_ALIGN_PARAGRAPH.RIGHT if rtl else WD_ALIGN_PARAGRAPH.LEFT
    end = WD_ALIGN_PARAGRAPH.LEFT if rtl else WD_ALIGN_PARAGRAPH.RIGHT
    n_rows, n_cols = len(lay.body) + 1, lay.n_cols
    wt = doc.add_table(rows=n_rows, cols=n_cols)
    wt.alignment = WD_TABLE_ALIGNMENT.CENTER
    wt.autofit = False
    widths_tw = [int(round(w * 20)) for w in widths_pt]
    D._table_props(wt, widths_tw, rtl)
    for i in range(n_rows):
        row = wt.rows[i]
        D._row_flags(row._tr, header=i == 0)
        for j in range(n_cols):
            cell = row.cells[j]
            cell.width = Emu(widths_tw[j] * 635)
            p = cell.paragraphs[0]
            if rtl:
                D._set_rtl_paragraph(p)
            if i == 0:
                D.add_runs(p, lay.header_runs(j), rtl, size=size)
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER if lay.numeric[j] else start
            else:
                D.add_runs(p, [fmt.Run(lay.body[i - 1][j])], rtl, size=size,
                           bold=lay.is_bold(i - 1, j))
                p.alignment = end if lay.numeric[j] else start
            pf = p.paragraph_format
            pf.space_after = Pt(0)
            pf.space_before = Pt(0)
            pf.keep_with_next = i < n_rows - 1 and n_rows <= 12
            D._borders(cell, top=12 if i == 0 else None,
                       bottom=8 if i == 0 else (12 if i == n_rows - 1 else None))
    return wt._tbl


@pytest.mark.parametrize("lang", ["en", "fa"])
@pytest.mark.parametrize("n_rows", [3, 14])
def test_docx_table_xml_is_that_of_python_docx_cell_by_cell(lang, n_rows):
    """add_table's copied cell parts give the XML python-docx writes cell by cell: bold,
    italics and subscripts in headers, isolates in Persian, tabs, leading spaces."""
    import docx
    from lxml import etree

    from psychometrics.report import docx as D
    df = pd.DataFrame({"M": np.linspace(-1, 2, n_rows), "lambda": np.linspace(.1, .9, n_rows),
                       "p": np.linspace(0, .2, n_rows),
                       "note": [" lead", "tab\there", "x"] + ["plain"] * (n_rows - 3)},
                      index=[f"x{i}" for i in range(n_rows)])
    bold = pd.DataFrame(False, index=df.index, columns=df.columns)
    bold.iloc[1, 1] = True
    t = Table("t", "T", df, {"M": "f2", "lambda": "r", "p": "p", "note": "s"}, index_label="Item",
              column_labels={"lambda": "*λ*_{std}"}, bold=bold)
    widths = [60.0, 50.0, 55.0, 40.0, 70.0]
    d1, d2 = docx.Document(), docx.Document()
    D.add_table(d1, t, lang, 400.0, 10, widths)
    ours = d1.tables[0]._tbl
    theirs = _add_table_cell_by_cell(d2, t, lang, 10, widths)
    assert etree.tostring(ours) == etree.tostring(theirs)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_docx_paragraph_xml_is_that_of_python_docx(lang):
    """_CellParts.para writes the paragraph python-docx's calls (_para) make: rich text,
    bold, italics, sizes, alignment, keep-with-next, tabs and breaks, leading spaces."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from lxml import etree

    from psychometrics.report import docx as D
    rtl = lang == "fa"
    cases = [("Table 7", dict(bold=True, keep_next=True, align=WD_ALIGN_PARAGRAPH.LEFT)),
             ("*M* and *SD* of x_{1} (N = 324)", dict(italic=True, keep_next=True)),
             ("", {}),
             ("  two\tcells\nnew line & <tag>", dict(size=9, align=WD_ALIGN_PARAGRAPH.RIGHT)),
             ([fmt.Run("Note.", italic=True)] + fmt.rich(" A *p* value ۰٫۰۵.", lang), dict(size=10)),
             ("\u2066x1\u2069 \u0645\u062a\u0646", dict(align=WD_ALIGN_PARAGRAPH.CENTER))]
    parts = D._CellParts()
    for text, kw in cases:
        d1, d2 = docx.Document(), docx.Document()
        parts.insert(d1, parts.para(text, rtl, **kw))
        D._para(d2, text, rtl, **kw)
        assert etree.tostring(d1.element.body[-2]) == etree.tostring(d2.element.body[-2])


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_docx_document_is_that_of_python_docx_step_by_step(tmp_path, lang):
    """render_docx (body parsed once, counted picture ids, cached heading styles) writes the
    document python-docx makes element by element: tables, a landscape section, two figures."""
    import zipfile

    from psychometrics.report import figures
    rep = _small_report(tmp_path, lang)
    wide = pd.DataFrame({f"a long column name {k}": [0.123456 * k, 2.0] for k in range(14)},
                        index=["first row label", "second"])
    sec = rep.add(Section("c", "Section C"))
    sec.add(Table("wide", "A Wide Table", wide, {c: "f3" for c in wide.columns}))
    path = figures.scree_plot([2.0, 1.0, 0.5], [1.2, 1.0, 0.9], tmp_path / f"scree2_{lang}.png",
                              lang=lang)
    sec.add(Figure("scree2", path, "Another scree plot"))
    fast = render_docx(rep, tmp_path / "fast.docx")
    step = render_docx(rep, tmp_path / "step.docx", _stepwise=True)
    with zipfile.ZipFile(fast) as zf, zipfile.ZipFile(step) as zs:
        assert zf.namelist() == zs.namelist()
        xml = zf.read("word/document.xml")
        assert xml == zs.read("word/document.xml")
        assert xml.count(b"<wp:docPr ") == 2 and b"w:orient=\"landscape\"" in xml
        for name in zf.namelist():
            if name != "docProps/core.xml":
                assert zf.read(name) == zs.read(name), name


def _mixed_table(key="mixed"):
    """A table whose rows mix dtypes (ints with floats, text, flags, missing values)."""
    df = pd.DataFrame({"n": [324, 12, 7], "r": [0.5, np.nan, -0.25],
                       "k": pd.array([1, None, 3], dtype="Int64"),
                       "flag": [True, False, True], "what": ["=SUM(A1)", "-x", "MR1"],
                       "level": ["metric", "scalar (partial)", "outcome ~ engagement"]},
                      index=["a", "b", "c"])
    bold = pd.DataFrame(False, index=df.index, columns=df.columns)
    bold.iloc[2, 1] = True
    return Table(key, "Mixed Rows", df, {"r": "r", "what": "s"}, index_label="Row", bold=bold)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_layout_rows_are_those_of_iterrows(lang):
    """layout reads each row from DataFrame.values: the same cells as the row Series of
    iterrows (the code before), for rows that mix ints, floats, text, flags and NA."""
    from psychometrics.report.layout import layout, readable
    for t in (_mixed_table(), Table("plain", "Plain", pd.DataFrame({"a": [1, 2], "b": [3, 4]}))):
        lay = layout(t, lang)
        cols = list(t.data.columns)
        ref = []
        for idx, row in t.data.iterrows():
            cells = [fmt.isolate(readable(idx, lang), lang)] if t.show_index else []
            for c in cols:
                v, spec = row[c], t.spec(c)
                if spec == "s" and isinstance(v, str):
                    v = readable(v, lang)
                cells.append(fmt.cell_text(v, spec, lang))
            ref.append(cells)
        assert lay.body == ref
        flags = [[lay.is_bold(i, j) for j in range(lay.n_cols)] for i in range(len(ref))]
        off = 1 if t.show_index else 0
        assert flags == [[False] * off + [t.is_bold(i, c) for c in cols] for i in range(len(ref))]


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_xlsx_is_that_of_openpyxl_cell_by_cell(tmp_path, lang):
    """render_xlsx (styles copied from the first cell styled alike, rows from
    DataFrame.values) writes the workbook of openpyxl's setters on every cell and iterrows."""
    import zipfile
    rep = _small_report(tmp_path, lang)
    rep.sections[1].add(_mixed_table())
    fast = render_xlsx(rep, tmp_path / "fast.xlsx")
    step = render_xlsx(rep, tmp_path / "step.xlsx", _stepwise=True)
    with zipfile.ZipFile(fast) as zf, zipfile.ZipFile(step) as zs:
        assert zf.namelist() == zs.namelist()
        for name in zf.namelist():
            if name != "docProps/core.xml":        # its time stamps
                assert zf.read(name) == zs.read(name), name
        assert b"quotePrefix" in zf.read("xl/styles.xml")


def test_latex_and_xlsx_small(tmp_path):
    import openpyxl
    rep = _small_report(tmp_path)
    tex = render_latex(rep)
    assert r"\toprule" in tex and r"\bottomrule" in tex and "booktabs" in tex
    assert r"\begin{longtable}" in tex and r"\resizebox" not in tex
    assert r"x1 & 3.20 & .61 & .200 \\" in tex
    assert r"$<$ .001" in tex
    wb = openpyxl.load_workbook(render_xlsx(rep, tmp_path / "t.xlsx"))
    assert wb.sheetnames == ["contents", "T1 Item Statistics", "T2 Second"]
    ws = wb["T1 Item Statistics"]
    assert [c.value for c in ws[1]] == ["Item", "M", "Corrected item–total r", "p"]  # row 1
    assert "Item Statistics" in ws.cell(1, 1).comment.text
    assert ws.cell(2, 3).value == pytest.approx(0.61)          # numbers stay numbers
    assert ws.cell(3, 2).value is None                          # NaN -> empty cell
    frames = pd.read_excel(tmp_path / "t.xlsx", sheet_name=None)
    assert list(frames["T1 Item Statistics"].columns) == ["Item", "M", "Corrected item–total r", "p"]
    assert frames["contents"]["Title"].tolist() == ["Item Statistics", "Second"]


# ------------------------------------------------------------------ the pipeline, run once
def _en_study(tmp_path: Path) -> Path:
    """The example study with plain ML + FIML (MLR's robust corrections of the 34-item models
    take most of a minute; the Persian run below keeps MLR on two small instruments)."""
    for name in ("data.csv", "engagement.yaml", "outcome.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    doc = yaml.safe_load((EXAMPLES / "study.yaml").read_text(encoding="utf-8"))
    doc["estimator"] = "ML"
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_en(tmp_path_factory):
    out = tmp_path_factory.mktemp("report_en")
    run = run_validation(_en_study(out), out, bootstrap=30, parallel_iterations=20,
                         omega_bootstrap=5, sem_bootstrap=8)
    paths = write_outputs(run, out)
    return run, out, paths


def _fa_study(tmp_path: Path) -> Path:
    """The Persian-digit copy with two instruments (keeps the second run short)."""
    for name in ("data_fa.csv", "engagement.yaml", "outcome.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    doc = yaml.safe_load((EXAMPLES / "study_fa.yaml").read_text(encoding="utf-8"))
    doc["instruments"] = [i for i in doc["instruments"] if "file" in i]
    doc.pop("structural")
    doc["options"] = {"bootstrap": 20, "split_half": False}
    path = tmp_path / "study_fa.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_fa(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report_fa")
    out = tmp / "out"
    run = run_validation(_fa_study(tmp), out, parallel_iterations=10, omega_bootstrap=0)
    paths = write_outputs(run, out)
    return run, out, paths


def test_outputs_written(run_en):
    run, out, paths = run_en
    for name in ("results.json", "report.html", "appendix.docx", "appendix.tex", "tables.xlsx"):
        assert (out / name).stat().st_size > 1000, name
    figs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert "scree_wai_sr.png" in figs and "loadings_wai_sr.png" in figs
    assert "distributions_client_engagement.png" in figs


def test_results_json_has_versions_options_seed(run_en):
    _, out, _ = run_en
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    meta = res["meta"]
    assert meta["seed"] == 20261122 and meta["options"]["bootstrap"] == 30
    assert meta["versions"]["psychometrics"] == pm.__version__
    assert meta["versions"]["numpy"] == np.__version__
    # every library's version is recorded, read from the installed metadata (factor_analyzer
    # has no __version__: it was None while the versions were read from the modules)
    from importlib.metadata import version
    assert meta["versions"]["factor_analyzer"] == version("factor_analyzer")
    assert meta["versions"]["sklearn"] == version("scikit-learn")
    assert all(meta["versions"][k] for k in ("scipy", "pandas", "matplotlib", "docx",
                                             "openpyxl", "yaml"))
    assert meta["estimator"] == "ML" and meta["missing"] == "fiml"
    assert res["data"]["n_cases"] == 324
    assert res["study"]["title"].startswith("Example study")
    # no machine paths: the study and data files are given relative to the output / study folder
    assert res["meta"]["study_file"] == "study.yaml" and res["study"]["data"] == "data.csv"
    assert str(out) not in (out / "results.json").read_text(encoding="utf-8")
    # every number of every table is in the JSON, with the table's number
    assert all("number" in t for t in res["tables"].values())


def test_versions_do_not_import_the_libraries():
    """results.json's versions come from the installed metadata: reading them imports none of
    the libraries (a fresh interpreter, so nothing is imported before)."""
    import subprocess
    import sys
    code = ("import sys; from psychometrics.report.common import versions; before = set(sys.modules); "
            "v = versions(); new = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(sorted(new & {'factor_analyzer', 'docx', 'openpyxl', 'sklearn', 'matplotlib'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_every_docx_table_matches_results_json(run_en):
    """Re-open appendix.docx and check every cell against the numbers in results.json."""
    import docx
    run, out, _ = run_en
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    d = docx.Document(str(out / "appendix.docx"))
    tables = sorted(res["tables"].values(), key=lambda t: t["number"])
    assert len(d.tables) == len(tables) > 5
    captions = [p.text for p in d.paragraphs if p.text.startswith("Table ")]
    assert captions == [f"Table {t['number']}" for t in tables]
    for wt, t in zip(d.tables, tables):
        frame = t["frame"]
        cells = [[c.text for c in row.cells] for row in wt.rows]
        assert len(cells) == len(frame["data"]) + 1, t["title"]
        for i, row in enumerate(frame["data"], start=1):
            assert cells[i][0] == readable(str(frame["index"][i - 1]), "en")
            for j, (col, value) in enumerate(zip(frame["columns"], row), start=1):
                spec = t["formats"].get(col)
                if spec is None:
                    spec = "d" if isinstance(value, int) and not isinstance(value, bool) else (
                        "f2" if isinstance(value, float) else "s")
                if spec == "s" and isinstance(value, str):
                    value = readable(value, "en")
                assert cells[i][j] == fmt.fmt_number(value, spec), (t["title"], col, i)


def test_reliability_table_is_the_analysis_numbers(run_en):
    """The reliability table shows psych-style alpha and omega of the analysis results."""
    run, out, _ = run_en
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    rel = res["reliability"]
    if not rel:
        pytest.skip("reliability analysis not available")
    t = res["tables"]["reliability"]["frame"]
    alpha_col = t["columns"].index("alpha")
    omega_col = t["columns"].index("omega")
    row = t["index"].index(next(i for i in t["index"] if i.endswith(": Goal")))
    assert t["data"][row][alpha_col] == rel["wai_sr"]["goal"]["alpha"]["estimate"]
    assert t["data"][row][omega_col] == rel["wai_sr"]["goal"]["omega"]["omega_total"]
    # and that estimate is psych::alpha of the keyed items (recomputed directly)
    study = pm.load_study(EXAMPLES / "study.yaml")
    ds = pm.load_dataset(study)
    goal = ds.items("wai_sr")[["wai_4", "wai_6", "wai_8", "wai_11"]]
    assert pm.alpha(goal).estimate == pytest.approx(t["data"][row][alpha_col], rel=1e-12)


def test_reverse_keyed_items_are_reversed_before_analysis(run_en):
    run, out, _ = run_en
    items = run.results["item_analysis"].get("client_engagement")
    if not items:
        pytest.skip("item analysis not available")
    fr = items["engagement"]
    r_drop = dict(zip(fr["index"], [row[fr["columns"].index("r_drop")] for row in fr["data"]]))
    assert r_drop["eng_3"] > 0.2 and r_drop["eng_6"] > 0.2


def test_html_sections_and_methods(run_en):
    run, out, _ = run_en
    html = (out / "report.html").read_text(encoding="utf-8")
    for key in ("overview", "methods", "screening", "items", "reliability", "efa", "cfa",
                "invariance", "validity", "measurement", "structural", "warnings", "software"):
        assert f"id='sec-{key}'" in html, key
    assert "maximum likelihood with missing responses handled by full-information" in html
    assert "Hu &amp; Bentler, 1999" in html
    assert "74 cells changed (missing code)" in html         # recoded cells are listed
    assert "engagement ~ a*alliance" in html                   # structural syntax for the next step
    n_tables = len(run.report.tables())
    assert f"Table {n_tables}</span>" in html
    assert "<img" in html and "src='file:" not in html        # figures embedded


def test_unavailable_analysis_is_a_plain_notice(tmp_path, monkeypatch):
    """A missing analysis module gives a notice in its section and no table or number."""
    from psychometrics.report import pipeline, steps
    real = pipeline.need

    def fake_need(module, name):
        if module == "invariance":
            raise pipeline.AnalysisUnavailable(module, name)
        return real(module, name)

    monkeypatch.setattr(steps, "need", fake_need)
    study = _fa_study(tmp_path)
    run = run_validation(study, None, bootstrap=0, parallel_iterations=5, language="en",
                         figures=False)
    secs = [s for s in run.report.sections if s.key.startswith("invariance_")]
    assert secs
    for s in secs:
        assert [type(b) for b in s.blocks] == [Notice]
        assert "psychometrics.invariance" in s.blocks[0].text
    assert not [k for k in run.results["tables"] if k.startswith("invariance")]
    assert {e["kind"] for e in run.results["errors"] if e["step"].startswith("invariance")} == \
        {"unavailable"}


def test_persian_report(run_fa):
    import docx
    from docx.oxml.ns import qn
    run, out, _ = run_fa
    html = fmt.strip_isolates((out / "report.html").read_text(encoding="utf-8"))
    assert "dir='rtl'" in html and "Vazirmatn" in html
    assert "با آمادگی برای کار روی مشکلاتم به جلسه‌ها می‌آیم." in html   # item text from `fa`
    assert "جدول ۱" in html and "زن: n = ۲۲۵" in html
    assert "مقیاس درگیری مراجع" in html
    d = docx.Document(str(out / "appendix.docx"))
    assert d.tables and d.tables[0]._tbl.tblPr.find(qn("w:bidiVisual")) is not None
    digits = "".join(c.text for t in d.tables for row in t.rows for c in row.cells)
    assert any(ch in digits for ch in "۰۱۲۳۴۵۶۷۸۹")
    assert run.results["data"]["group_sizes"] == {"زن": 225, "مرد": 99}
    assert "بیشینه‌ی درست‌نمایی استوار (MLR" in html          # the study's MLR + FIML
    if run.results["cfa"]:
        fm = run.results["cfa"]["client_outcome"]["fit_measures"]
        assert fm["cfi_robust"] is not None
        assert "CFI استوار" in html


def test_persian_figure_text_is_shaped():
    """Figures get Persian digits and correctly joined right-to-left letters: matplotlib with
    complex text layout gets the logical text, an older engine the reshaped visual order."""
    from psychometrics.report import figures
    out = figures.shape("درگیری 12", "fa")
    assert "۱۲" in out
    if figures._engine_does_bidi():
        assert out == "درگیری ۱۲"
    else:
        assert any(0xFE70 <= ord(c) <= 0xFEFF for c in out)      # presentation forms
        assert out != "درگیری ۱۲"                                 # visual order
    assert figures.shape("abc", "en") == "abc"


def test_bidi_probe_matches_the_engine():
    """The probe's answer is right: drawing what shape() returns gives the same pixels as
    drawing the reshaped word in visual order with a plain left-to-right engine would not."""
    import arabic_reshaper
    from psychometrics.report import figures
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    import matplotlib.figure

    def pixels(txt):
        fig = matplotlib.figure.Figure(figsize=(1.2, 0.5), dpi=60)
        FigureCanvasAgg(fig)
        fig.text(0.1, 0.3, txt, fontproperties=figures.font_manager.FontProperties(
            fname=str(figures.FONT_FILE)), fontsize=14)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()

    word = "\u0628\u0628\u0646"
    same = np.array_equal(pixels(word), pixels(arabic_reshaper.reshape(word)))
    assert figures._engine_does_bidi() is same


def test_font_and_licence_are_shipped():
    assets = Path(pm.__file__).parent / "report" / "assets"
    assert (assets / "Vazirmatn-Regular.ttf").stat().st_size > 50_000
    assert "SIL Open Font License" in (assets / "Vazirmatn-OFL.txt").read_text(encoding="utf-8")


# -------------------------------------------------------------------------- real browser
def _chromium(args, tmp_path):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--no-first-run",
           f"--user-data-dir={tmp_path / 'chrome-profile'}", "--enable-logging=stderr", "--v=0",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)")
@pytest.mark.parametrize("which", ["run_en", "run_fa"])
def test_html_in_headless_chromium(which, request, tmp_path):
    run, out, _ = request.getfixturevalue(which)
    page = tmp_path / "checked.html"
    html = (out / "report.html").read_text(encoding="utf-8")
    # a probe, added only to the tested copy: logs an error for any image or font that did not load
    probe = ("<script>window.addEventListener('load', function () {"
             "var bad = Array.from(document.images).filter(function (i) {"
             " return !i.complete || i.naturalWidth === 0; });"
             "if (bad.length) console.error('broken images: ' + bad.length);"
             "document.fonts.ready.then(function () {"
             " if (document.documentElement.lang === 'fa' && !document.fonts.check(\"12px Vazirmatn\"))"
             "  console.error('font Vazirmatn not loaded');"
             " console.log('PROBE-DONE ' + document.images.length);});});</script>")
    page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    res = _chromium(["--virtual-time-budget=10000", "--dump-dom", page.as_uri()], tmp_path)
    console = [ln for ln in res.stderr.splitlines() if ":CONSOLE" in ln]
    assert any("PROBE-DONE" in ln for ln in console), res.stderr[-2000:]
    errors = [ln for ln in console if "PROBE-DONE" not in ln]
    assert errors == []
    assert f"<h1>{run.report.title}</h1>" in fmt.strip_isolates(res.stdout)
    shot = out / f"screenshot_{which}.png"
    res = _chromium(["--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()], tmp_path)
    assert shot.exists() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# the LaTeX appendix is compiled by tests/test_pages.py (pdflatex and xelatex)


def test_cfa_and_fit_tables_are_the_fitted_numbers(run_en):
    """Standardised loadings and fit indices in the tables are the fitted models' own numbers."""
    import docx
    run, out, _ = run_en
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    if not res["cfa"]:
        pytest.skip("the SEM engine is not available")
    par = res["cfa"]["csq8"]["parameters"]
    cols = par["columns"]
    loadings = {row[cols.index("rhs")]: row[cols.index("std_all")] for row in par["data"]
                if row[cols.index("op")] == "=~"}
    t = res["tables"]["cfa_csq8"]
    beta = t["frame"]["columns"].index("std_all")
    for item, row in zip(t["frame"]["index"], t["frame"]["data"]):
        assert row[beta] == loadings[item]
    # the Word cell shows that number, APA-formatted
    d = docx.Document(str(out / "appendix.docx"))
    wt = d.tables[t["number"] - 1]
    assert wt.rows[1].cells[1 + beta].text == fmt.fmt_number(loadings["csq_1"], "r")
    fit = res["tables"]["fit_indices"]["frame"]
    row = fit["data"][fit["index"].index("CFA CSQ-8")]
    assert row[fit["columns"].index("cfi")] == res["cfa"]["csq8"]["fit_measures"]["cfi"]
    assert row[fit["columns"].index("rmsea")] == res["cfa"]["csq8"]["fit_measures"]["rmsea"]


def test_structural_model_with_bootstrap_cis(run_en):
    run, out, _ = run_en
    st = run.results["structural"]
    if not st.get("fit_measures"):
        pytest.skip("the SEM engine is not available")
    assert "engagement ~ a*alliance" in st["syntax"] and "goal =~" in st["syntax"]
    t = run.report.table("structural")
    assert {"ind_outcome", "ind_satisfaction", "engagement ~ alliance"} <= set(t.data.index)
    if st["bootstrap"] is None:
        assert "delta-method" in t.note
        return
    assert st["bootstrap"]["R"] == 8 and st["bootstrap"]["seed"] == 20261122
    assert "percentile bootstrap" in t.note
    boot = st["bootstrap"]["parameters"]
    cols = boot["columns"]
    row = next(r for r in boot["data"] if r[cols.index("lhs")] == "ind_outcome")
    assert t.data.loc["ind_outcome", "ci_lower"] == row[cols.index("ci_lower")]
    assert t.data.loc["ind_outcome", "ci_upper"] == row[cols.index("ci_upper")]


def test_reasons_a_fit_is_not_a_result_are_translated():
    """The invariance decision "not evaluated: <reason>" and the fit table's reason are cells
    the analyses write in English; a Persian report shows them in Persian (every reason of
    CFAFit.PROBLEM_CODES)."""
    from psychometrics.report.layout import readable
    from psychometrics.sem.results import CFAFit
    reasons = list(CFAFit.PROBLEM_CODES.values())
    fa = readable("not evaluated: " + "; ".join(reasons), "fa")
    assert fa.startswith("ارزیابی نشد: ") and not any(r in fa for r in reasons)
    for r in reasons:
        assert readable(r, "fa") != r
    assert readable("not evaluated: " + reasons[0], "en") == "not evaluated: " + reasons[0]
