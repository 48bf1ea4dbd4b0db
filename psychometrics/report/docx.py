"""Render the report's tables as an APA 7 appendix in Word (``appendix.docx``).

Each table is a real Word table (no images): the table number in bold, the
title in italics on the next line, horizontal rules only (above and below the
header row and below the last row), numbers right-aligned and formatted like
the other renderers, and a note paragraph starting with an italic *Note.*
A Persian report gets right-to-left paragraphs and tables (``w:bidi``,
``w:bidiVisual``) and the Vazirmatn font for complex script.  Built with
python-docx; no statistic is computed here.
"""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.enum.section import WD_ORIENT
from docx.shared import Emu, Inches, Pt

from . import fmt
from .i18n import tr
from .model import Report, Table

FONT_FA = "Vazirmatn"
LRE, PDF = "\u202a", "\u202c"
FONT_EN = "Times New Roman"


def _set_rtl_paragraph(p) -> None:
    pPr = p._p.get_or_add_pPr()
    bidi = OxmlElement("w:bidi")
    bidi.set(qn("w:val"), "1")
    pPr.append(bidi)


def _style_run(run, rtl: bool, bold=False, italic=False, size=None) -> None:
    run.bold = bold
    run.italic = italic
    if size:
        run.font.size = Pt(size)
    if rtl:
        rPr = run._r.get_or_add_rPr()
        fonts = rPr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rPr.insert(0, fonts)
        fonts.set(qn("w:cs"), FONT_FA)
        fonts.set(qn("w:ascii"), FONT_FA)
        fonts.set(qn("w:hAnsi"), FONT_FA)
        r = OxmlElement("w:rtl")
        r.set(qn("w:val"), "1")
        rPr.append(r)
        if bold:
            rPr.append(OxmlElement("w:bCs"))
        if italic:
            rPr.append(OxmlElement("w:iCs"))


def _para(doc_or_cell, text: str, rtl: bool, bold=False, italic=False, size=None, align=None):
    p = doc_or_cell.add_paragraph()
    if rtl:
        _set_rtl_paragraph(p)
    if text:
        _style_run(p.add_run(text), rtl, bold, italic, size)
    if align is not None:
        p.alignment = align
    return p


def _cell_text(cell, text: str, rtl: bool, align, number: bool = False) -> None:
    p = cell.paragraphs[0]
    if rtl:
        _set_rtl_paragraph(p)
    if rtl and number:
        # left-to-right embedding: Persian digits with the Arabic decimal separator would
        # otherwise be reordered in a right-to-left paragraph (minus sign on the right)
        text = LRE + text + PDF
    run = p.add_run(text)
    if rtl and number:
        # a number stays a left-to-right run (its minus sign and "<" on the left)
        _style_run(run, False, size=10)
        fonts = OxmlElement("w:rFonts")
        fonts.set(qn("w:cs"), FONT_FA)
        fonts.set(qn("w:ascii"), FONT_FA)
        fonts.set(qn("w:hAnsi"), FONT_FA)
        run._r.get_or_add_rPr().insert(0, fonts)
    else:
        _style_run(run, rtl, size=10)
    p.alignment = align
    pf = p.paragraph_format
    pf.space_after = Pt(0)
    pf.space_before = Pt(0)


def _borders(cell, top=None, bottom=None) -> None:
    tcPr = cell._tc.get_or_add_tcPr()
    b = OxmlElement("w:tcBorders")
    for side, size in (("top", top), ("bottom", bottom)):
        if size:
            e = OxmlElement(f"w:{side}")
            e.set(qn("w:val"), "single")
            e.set(qn("w:sz"), str(size))
            e.set(qn("w:space"), "0")
            e.set(qn("w:color"), "000000")
            b.append(e)
    for side in ("left", "right", "start", "end", "insideV"):
        e = OxmlElement(f"w:{side}")
        e.set(qn("w:val"), "nil")
        b.append(e)
    tcPr.append(b)


def table_cells(t: Table, lang: str) -> list[list[str]]:
    """The table as rows of formatted cell strings, header row first (used by tests too)."""
    header = ([t.index_label or ""] if t.show_index else []) + [t.header(c) for c in t.data.columns]
    rows = [header]
    specs = {c: t.spec(c) for c in t.data.columns}
    for idx, row in t.data.iterrows():
        cells = [str(idx)] if t.show_index else []
        cells += [fmt.fmt_number(row[c], specs[c], lang) for c in t.data.columns]
        rows.append(cells)
    return rows


def add_table(doc, t: Table, lang: str, usable_width: int) -> None:
    rtl = lang == "fa"
    num = fmt.localise(str(t.number), lang) if t.number is not None else ""
    _para(doc, f"{tr('table', lang)} {num}", rtl, bold=True)
    _para(doc, t.title, rtl, italic=True)
    cells = table_cells(t, lang)
    n_rows, n_cols = len(cells), len(cells[0])
    wt = doc.add_table(rows=n_rows, cols=n_cols)
    wt.alignment = WD_TABLE_ALIGNMENT.CENTER
    if rtl:
        tblPr = wt._tbl.tblPr
        bv = OxmlElement("w:bidiVisual")
        bv.set(qn("w:val"), "1")
        tblPr.append(bv)
    specs = ([None] if t.show_index else []) + [t.spec(c) for c in t.data.columns]
    # column widths from the longest entry (longest word of the header), so numbers do not
    # wrap and text columns get the room; scaled to the width between the margins
    need = []
    for j in range(n_cols):
        head = max((len(w) for w in str(cells[0][j]).split()), default=1)
        body = max((len(r[j]) for r in cells[1:]), default=1)
        need.append(min(max(head, body, 4), 45))
    scale = usable_width / sum(need)
    wt.autofit = False
    widths = [Emu(int(n * scale)) for n in need]
    start = WD_ALIGN_PARAGRAPH.RIGHT if rtl else WD_ALIGN_PARAGRAPH.LEFT
    end = WD_ALIGN_PARAGRAPH.LEFT if rtl else WD_ALIGN_PARAGRAPH.RIGHT
    for i, row in enumerate(cells):
        for j, text in enumerate(row):
            cell = wt.cell(i, j)
            cell.width = widths[j]
            if i == 0:
                align = WD_ALIGN_PARAGRAPH.CENTER
            else:
                align = start if specs[j] in (None, "s") else end
            _cell_text(cell, text, rtl, align, number=i > 0 and specs[j] not in (None, "s"))
            _borders(cell, top=12 if i == 0 else None,
                     bottom=8 if i == 0 else (12 if i == n_rows - 1 else None))
    if t.note:
        p = _para(doc, "", rtl)
        _style_run(p.add_run(f"{tr('note', lang)}."), rtl, italic=True, size=10)
        _style_run(p.add_run(" " + t.note), rtl, size=10)
    _para(doc, "", rtl)


def render_docx(report: Report, path: str | Path) -> Path:
    """Write every table of ``report`` to ``path`` as an APA 7 Word appendix; return the path."""
    report.number()
    lang = report.language
    rtl = report.rtl
    doc = Document()
    # landscape pages: the wide APA tables (fit indices, invariance) fit without wrapping numbers
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Inches(11), Inches(8.5)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, side, Inches(0.8))
    usable = int(sec.page_width - sec.left_margin - sec.right_margin)
    style = doc.styles["Normal"]
    style.font.name = FONT_FA if rtl else FONT_EN
    style.font.size = Pt(11)
    title = doc.add_heading(level=1)
    if rtl:
        _set_rtl_paragraph(title)
    _style_run(title.add_run(report.title), rtl, bold=True)
    for section in report.sections:
        tables = [b for b in section.blocks if isinstance(b, Table)]
        if not tables:
            continue
        h = doc.add_heading(level=2)
        if rtl:
            _set_rtl_paragraph(h)
        _style_run(h.add_run(section.title), rtl, bold=True)
        for t in tables:
            add_table(doc, t, lang, usable)
    path = Path(path)
    doc.save(path)
    return path
