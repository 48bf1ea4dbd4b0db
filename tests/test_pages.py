"""The report as a reader sees it: the pages of every output, English and Persian.

A report is produced once per language (module fixtures; the example study with few
bootstrap draws), then
(1) report.html is opened in headless Chromium at 1280 px: no table is wider than the
    viewport unless it scrolls inside its own box, and the console stays silent;
(2) LibreOffice converts appendix.docx to PDF: a sane page count, A4 pages, the figures
    present as images, and no word of a table cell broken across lines;
(3) appendix.tex compiles (pdflatex for English, xelatex for Persian with the bundled font);
(4) the text of every output (HTML, Word, LaTeX, Excel) follows the APA patterns: "p = .854"
    never "p .854", no Python booleans, no internal identifiers, Latin digits in names.
Each check skips, with the reason, only when its tool is not installed.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from psychometrics.report import fmt
from psychometrics.report.i18n import tr
from psychometrics.report.model import Report, Section, Table
from psychometrics.report.pipeline import run_validation, write_outputs
from psychometrics.report.xlsx import render_xlsx

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOOLS = all(shutil.which(t) for t in ("pdfinfo", "pdftotext", "pdfimages"))


def _study(tmp: Path, lang: str) -> Path:
    """The example study, quick: ML (the English run) or the two small instruments (Persian)."""
    if lang == "en":
        for name in ("data.csv", "engagement.yaml", "outcome.yaml"):
            shutil.copy(EXAMPLES / name, tmp / name)
        doc = yaml.safe_load((EXAMPLES / "study.yaml").read_text(encoding="utf-8"))
        doc["estimator"] = "ML"
    else:
        for name in ("data_fa.csv", "engagement.yaml", "outcome.yaml"):
            shutil.copy(EXAMPLES / name, tmp / name)
        doc = yaml.safe_load((EXAMPLES / "study_fa.yaml").read_text(encoding="utf-8"))
        doc["instruments"] = [i for i in doc["instruments"] if "file" in i]
        doc.pop("structural", None)
    doc["options"] = {**(doc.get("options") or {}), "bootstrap": 10, "split_half": True}
    path = tmp / f"study_{lang}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _produce(tmp_path_factory, lang):
    tmp = tmp_path_factory.mktemp(f"pages_{lang}")
    out = tmp / "out"
    run = run_validation(_study(tmp, lang), out, parallel_iterations=10,
                         omega_bootstrap=3 if lang == "en" else 0, sem_bootstrap=5)
    write_outputs(run, out)
    return run, out


@pytest.fixture(scope="module")
def pages_en(tmp_path_factory):
    return _produce(tmp_path_factory, "en")


@pytest.fixture(scope="module")
def pages_fa(tmp_path_factory):
    return _produce(tmp_path_factory, "fa")


@pytest.fixture(params=["en", "fa"])
def pages(request):
    return request.param, *request.getfixturevalue(f"pages_{request.param}")


# ------------------------------------------------------------------------ (1) the browser
LAYOUT_PROBE = """<script>
window.addEventListener('error', function (e) { console.error('page error: ' + e.message); });
window.addEventListener('load', function () {
  var vw = document.documentElement.clientWidth, bad = [];
  document.querySelectorAll('table').forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (r.right <= vw + 1 && r.left >= -1) return;           // fits the viewport
    var box = t.parentElement, cs = getComputedStyle(box), b = box.getBoundingClientRect();
    var scrolls = cs.overflowX === 'auto' || cs.overflowX === 'scroll';
    if (!(scrolls && b.right <= vw + 1 && b.left >= -1)) bad.push(t.id + ':' + Math.round(r.width));
  });
  if (document.documentElement.scrollWidth > vw + 1)
    bad.push('page scrolls sideways: ' + document.documentElement.scrollWidth);
  var pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = 'LAYOUT' + JSON.stringify({vw: vw, bad: bad,
    tables: document.querySelectorAll('table').length}) + 'END';
  document.body.appendChild(pre);
});
</script>"""


def _chromium(args, tmp_path):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chrome-profile'}", "--enable-logging=stderr", "--v=0",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def test_every_step_ran(pages):
    lang, run, out = pages
    assert [e["what"] for e in run.results["errors"]] == []


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_html_tables_fit_1280px_without_console_errors(pages, tmp_path):
    lang, run, out = pages
    page = tmp_path / "probe.html"
    html = (out / "report.html").read_text(encoding="utf-8")
    page.write_text(html.replace("</body>", LAYOUT_PROBE + "</body>"), encoding="utf-8")
    res = _chromium(["--window-size=1280,1000", "--virtual-time-budget=10000", "--dump-dom",
                     page.as_uri()], tmp_path)
    m = re.search(r"LAYOUT(\{.*?\})END", res.stdout)
    assert m, res.stderr[-2000:]
    probe = json.loads(m.group(1))
    assert probe["vw"] >= 1200, probe                       # the window really is ~1280 px
    assert probe["tables"] == len(run.report.tables())
    assert probe["bad"] == [], probe
    console = [ln for ln in res.stderr.splitlines() if ":CONSOLE" in ln]
    assert console == []


# ------------------------------------------------------------------------- (2) LibreOffice
def _docx_pdf(out: Path, tmp_path: Path) -> Path:
    res = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                          "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                          str(out / "appendix.docx")], capture_output=True, text=True, timeout=300)
    pdf = tmp_path / "appendix.pdf"
    assert pdf.exists(), res.stdout + res.stderr
    return pdf


def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "10000", str(pdf)], capture_output=True,
                          text=True).stdout
    return [(float(w), float(h)) for w, h in
            re.findall(r"Page\s+\d+\s+size:\s+([\d.]+) x ([\d.]+)", info)]


def _docx_words(path: Path) -> set[str]:
    import docx
    d = docx.Document(str(path))
    words = set()
    for t in d.tables:
        for row in t.rows:
            for c in row.cells:
                for w in fmt.strip_isolates(c.text).split():
                    w = w.strip(".,;:()[]")
                    if len(w) >= 4 and re.fullmatch(r"[A-Za-z][A-Za-z\-]*[a-z]", w):
                        words.add(w)
    return words


@pytest.mark.skipif(SOFFICE is None or not PDFTOOLS,
                    reason="LibreOffice or poppler-utils not installed (apt-get install "
                           "libreoffice-writer poppler-utils)")
def test_docx_pages_in_libreoffice(pages, tmp_path):
    lang, run, out = pages
    pdf = _docx_pdf(out, tmp_path)
    sizes = _page_sizes(pdf)
    n_tables, n_figures = len(run.report.tables()), len(run.report.figures())
    assert n_tables // 3 <= len(sizes) <= 3 * (n_tables + n_figures), len(sizes)
    for w, h in sizes:                                   # A4, portrait or landscape
        assert sorted((round(w), round(h))) == [595, 842], (w, h)
    assert any(w > h for w, h in sizes)                  # the wide fit table got a landscape page
    assert sum(h > w for w, h in sizes) > len(sizes) / 2  # portrait by default
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True,
                            text=True).stdout.splitlines()[2:]
    assert n_figures > 0 and len(images) >= n_figures
    if lang == "en":
        # no table cell breaks a word: every word of the Word tables is a word of the PDF
        text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True,
                              text=True).stdout
        pdf_words = {w.strip(".,;:()[]") for w in text.split()}
        broken = sorted(w for w in _docx_words(out / "appendix.docx") if w not in pdf_words)
        assert broken == []


def test_docx_table_structure(pages):
    """Grid and cell widths agree, header rows repeat, rows do not split, A4 by default."""
    import docx
    from docx.oxml.ns import qn
    lang, run, out = pages
    d = docx.Document(str(out / "appendix.docx"))
    for t in d.tables:
        grid = [int(g.get(qn("w:w"))) for g in t._tbl.tblGrid.findall(qn("w:gridCol"))]
        for row in t.rows:
            cells = [int(c._tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for c in row.cells]
            assert cells == grid
            assert row._tr.trPr.find(qn("w:cantSplit")) is not None
        assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
        assert t._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    sec = d.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)
    assert len(d.inline_shapes) == len(run.report.figures())


def test_letter_paper_on_request(pages_en, tmp_path):
    import docx
    from psychometrics.report.docx import render_docx
    from psychometrics.report.latex import render_latex
    run, _ = pages_en
    d = docx.Document(str(render_docx(run.report, tmp_path / "a.docx", page_size="letter")))
    assert (round(d.sections[0].page_width.inches, 1), round(d.sections[0].page_height.inches, 1)) \
        == (8.5, 11.0)
    assert "letterpaper" in render_latex(run.report, page_size="letter")
    # the study file's options.page_size reaches the renderers through the report's meta
    rep = Report("x", meta={"options": {"page_size": "letter"}})
    rep.add(Section("a", "A")).add(Table("t", "T", pd.DataFrame({"v": [1.0]})))
    d = docx.Document(str(render_docx(rep, tmp_path / "b.docx")))
    assert round(d.sections[0].page_width.inches, 1) == 8.5
    path = _study(tmp_path, "en")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["options"]["page_size"] = "letter"
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    from psychometrics.scales import load_study
    assert load_study(tmp_path / "s.yaml").options["page_size"] == "letter"


_BIDI = dict.fromkeys(map(ord, "\u200c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069()"))


def _page_feet(pdf, label: str, headings: list[str]) -> list:
    """Pages whose text (pdftotext, without the page number) ends with a table number within
    its last three lines, or with a section heading: a table's number and title or a heading
    parted from what they introduce.  Text compared after NFKC (Persian presentation forms),
    without bidi controls, ZWNJ, parentheses (mirrored) or spaces."""
    import unicodedata

    def norm(s):
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s).translate(_BIDI))
    n = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    heads = {norm(h) for h in headings}
    number = re.compile(re.escape(norm(label)) + r"[\d۰-۹]+")
    bad = []
    for k in range(1, n + 1):
        txt = subprocess.run(["pdftotext", "-f", str(k), "-l", str(k), str(pdf), "-"],
                             capture_output=True, text=True).stdout
        lines = [norm(ln) for ln in txt.splitlines() if ln.strip()]
        if lines and re.fullmatch(r"[\d۰-۹]+", lines[-1]):
            lines = lines[:-1]
        if lines and (lines[-1] in heads or any(number.fullmatch(ln) for ln in lines[-3:])):
            bad.append((k, lines[-3:]))
    return bad


# ------------------------------------------------------------------------------- (3) LaTeX
@pytest.mark.parametrize("lang,engine", [("en", "pdflatex"), ("fa", "xelatex")])
def test_latex_appendix_compiles(lang, engine, request, tmp_path):
    if shutil.which(engine) is None:
        pytest.skip(f"{engine} is not installed (apt-get install texlive-latex-recommended "
                    "texlive-latex-extra texlive-xetex texlive-lang-arabic)")
    run, out = request.getfixturevalue(f"pages_{lang}")
    work = tmp_path / "tex"
    shutil.copytree(out, work)                  # appendix.tex, figures/ and (Persian) fonts/
    for _ in range(2):                          # longtable settles its widths in a second run
        res = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "appendix.tex"],
                             cwd=work, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stdout[-3000:]
    log = (work / "appendix.log").read_text(errors="replace")
    assert "cannot be found" not in log
    assert not re.search(r"Overfull \\hbox \((\d{2,}|[3-9])\.", log)   # nothing sticks out > 3 pt
    # nothing runs off the bottom of a page (a figure floated onto a page a longtable went on
    # over made the table run 330-460 pt past the page's end)
    assert not re.search(r"Overfull \\vbox \((\d{2,}|[3-9])\.", log)
    pdf = work / "appendix.pdf"
    if PDFTOOLS:
        # no table number left at the foot of a page without its rows, no section heading
        # alone at the foot of a page (before a landscape table or a figure on the next)
        tex_titles = re.findall(r"\\large\\bfseries (.*?)\\par", (work / "appendix.tex").read_text(
            encoding="utf-8"))
        titles = [re.sub(r"\\[a-zA-Z]+\{|[{}]", "", t).replace("\\_", "_").replace("\\&", "&")
                  for t in tex_titles]
        assert _page_feet(pdf, tr("table", lang), titles) == []
    assert pdf.stat().st_size > 50_000
    tex = (out / "appendix.tex").read_text(encoding="utf-8")
    assert tex.count(r"\includegraphics") == len(run.report.figures())
    assert r"\resizebox" not in tex and r"\scalebox" not in tex
    if lang == "fa":
        assert (out / "fonts" / "Vazirmatn-Regular.ttf").exists() and "Path=fonts/" in tex
        # bidi's \raggedleft sets right-to-left text flush LEFT (titles, "جدول", item texts
        # all landed on the wrong margin); \raggedright is direction-aware (flush right in RTL)
        assert r"\raggedleft" not in tex
    if PDFTOOLS:
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
        if lang == "fa":
            assert "Vazirmatn" in fonts


# ---------------------------------------------------------------------- (4) APA text scans
def _detex(s: str) -> str:
    s = s.replace(r"\textsuperscript{2}", "²")
    s = re.sub(r"\\(?:textit|textbf|textsubscript|textsuperscript|lr|rl|LRE|RLE)\{", "{", s)
    s = s.replace(r"\textless{}", "<").replace(r"\textgreater{}", ">").replace("$<$", "<")
    s = re.sub(r"\$-\$", "\u2212", s)
    s = s.replace(r"\_", "_")
    return re.sub(r"[{}$]", "", s)


def _texts(out: Path) -> dict[str, str]:
    import docx
    html = (out / "report.html").read_text(encoding="utf-8")
    html = re.sub(r"<(style|script|pre)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(i|sub|sup|span|a|b|em|strong)\b[^>]*>", "", html)
    html = re.sub(r"<[^>]+>", "\n", html)
    d = docx.Document(str(out / "appendix.docx"))
    dtext = "\n".join([p.text for p in d.paragraphs]
                      + [c.text for t in d.tables for row in t.rows for c in row.cells])
    tex = (out / "appendix.tex").read_text(encoding="utf-8")
    tex = _detex(tex[tex.index(r"\begin{document}"):])
    frames = pd.read_excel(out / "tables.xlsx", sheet_name=None)
    xtext = "\n".join("\n".join(map(str, f.columns)) + "\n"
                      + "\n".join(str(v) for v in f.to_numpy().ravel()) for f in frames.values())
    return {k: fmt.strip_isolates(v) for k, v in
            {"html": html, "docx": dtext, "tex": tex, "xlsx": xtext}.items()}


BAD_PATTERNS = {
    "p-value without = or <": r"(?<![\w.])p[ \u00a0]+[.\u066b\d\u06f0-\u06f9]",
    "Python boolean": r"\b(True|False)\b",
    "internal identifier": r"\b(r_drop|cross_loading|alpha_if_deleted|std_all|h2|lv_\w+|"
                           r"pvalue|ci_lower|ci_upper|omega_h|MR\d)\b|ω_[th]\b",
    "lavaan path": r"\b\w+ ~ \w+",
    "Persian digit inside a name": r"[A-Za-z]_?[\u06f0-\u06f9]",
    "plural after 1": r"(?<![\d\u06f0-\u06f9.,])1 (factors|draws|cells|cases)\b",
}


def test_apa_patterns_in_every_output(pages):
    lang, run, out = pages
    problems = []
    for kind, text in _texts(out).items():
        for what, pat in BAD_PATTERNS.items():
            for m in re.finditer(pat, text):
                problems.append(f"{kind}: {what}: ...{text[max(0, m.start() - 40):m.end() + 20]!r}")
    assert problems == []
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<i>p</i> = " in fmt.strip_isolates(html) or "<i>p</i> &lt; " in html
    if lang == "fa":
        assert fmt.LRI in html and fmt.PDI in html


def test_references_complete_and_italic(pages_en):
    run, out = pages_en
    html = (out / "report.html").read_text(encoding="utf-8")
    for who in ("Kaiser, H. F. (1960)", "Velicer, W. F. (1976)", "Velicer, W. F., Eaton",
                "Raîche, G.", "Byrne, B. M.", "Little, R. J. A. (1988)", "Satorra, A."):
        assert who in html, who
    assert "<i>Psychometrika</i>, <i>30</i>(2)" in html
    body = re.sub(r"<(style|script|pre)[^>]*>.*?</\1>", " ", html, flags=re.S)
    refs = re.findall(r"<p class='ref' dir='ltr'>(.*?)</p>", body)
    first_authors = {re.match(r"[^,]+", re.sub(r"<[^>]+>", "", r)).group(0) for r in refs}
    # every author-year citation of the text has its entry
    text = re.sub(r"<[^>]+>", "", body.split("id='sec-software'")[0])
    cited = set(re.findall(r"(?<![A-Za-zîé])([A-Z][a-zîé]+)(?: et al\.)?,? \(?(?:19|20)\d\d", text))
    missing = {c for c in cited if c not in first_authors and c not in {
        "Larcker", "Rensvold", "Bentler", "Driessen", "Sarstedt", "Muthén", "Fava",
        "Estabrook", "Spisic", "Yang", "Zeisser"}}   # later authors of the ordinal references
    assert not missing, missing


def test_xlsx_reads_as_is_with_pandas(pages):
    lang, run, out = pages
    frames = pd.read_excel(out / "tables.xlsx", sheet_name=None)
    names = list(frames)
    assert len(names) == len(run.report.tables()) + 1 and all(len(n) <= 31 for n in names)
    contents = frames[names[0]]
    assert len(contents) == len(run.report.tables())
    for t, name in zip(run.report.tables(), names[1:]):
        f = frames[name]
        assert len(f) == len(t.data), name
        assert f.shape[1] == len(t.data.columns) + (1 if t.show_index else 0)
        assert not any(str(c).startswith("Unnamed") for c in f.columns), name


def test_xlsx_text_is_never_a_formula(tmp_path):
    import openpyxl
    rep = Report("x")
    s = rep.add(Section("a", "A"))
    s.add(Table("t", "Formulas", pd.DataFrame({"v": ["=SUM(A1:A2)", "+1", "-x", "@me", "ok"],
                                               "flag": [True, False, True, False, True]}),
                {"v": "s"}))
    path = render_xlsx(rep, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)["T1 Formulas"]
    assert [ws.cell(i, 2).value for i in range(2, 7)] == ["=SUM(A1:A2)", "+1", "-x", "@me", "ok"]
    assert all(ws.cell(i, 2).data_type == "s" for i in range(2, 7))
    assert [ws.cell(i, 3).value for i in range(2, 4)] == ["yes", "no"]
    f = pd.read_excel(path, sheet_name="T1 Formulas")
    assert f["v"].tolist()[0] == "=SUM(A1:A2)"


# --------------------------------------------------------------------- the formatter itself
def test_apa_formatter_runs_and_isolates():
    runs = fmt.fill_runs("Fit: χ²({df:d}) = {x:f2}, p {p:pe}; n = {n:d}.",
                         {"df": 270, "x": 245.571, "p": 0.854, "n": 12})
    assert fmt.plain(runs) == "Fit: χ²(270) = 245.57, p = .854; n = 12."
    assert [r.text for r in runs if r.italic] == ["p", "n"]
    fa = fmt.fill("برازش: χ²({df:d}) = {x:f2}، p {p:pe}.", {"df": 270, "x": 245.571, "p": 0.0001},
                  "fa")
    # the Latin expression and its number are one left-to-right unit each
    assert f"{fmt.LRI}χ²(۲۷۰) = ۲۴۵٫۵۷{fmt.PDI}" in fa and f"{fmt.LRI}p < ٫۰۰۱{fmt.PDI}" in fa
    assert fmt.fill("({n} {n|factor|factors})", {"n": 1}) == "(1 factor)"
    assert fmt.fill("({n} {n|factor|factors})", {"n": 3}) == "(3 factors)"
    assert fmt.cell_text(-0.12, "r", "fa") == f"{fmt.LRI}\u2212٫۱۲{fmt.PDI}"
    assert fmt.cell_text("wai_4", "s", "fa") == f"{fmt.LRI}wai_4{fmt.PDI}"   # Latin digits kept
    assert fmt.fmt_number(True, "s") == "yes" and fmt.fmt_number(False, "s", "fa") == "خیر"
