"""Render the report's tables and figures as an APA 7 appendix in Word (``appendix.docx``).

Each table is a real Word table (no images): the table number in bold, the title in
italics on the next line, horizontal rules only (above and below the header row and below
the last row), numbers right-aligned and formatted by :mod:`psychometrics.report.fmt`
(statistical symbols in italic runs), and a note paragraph starting with an italic *Note.*
Column widths are measured from the text (:mod:`psychometrics.report.layout`): the grid
(``w:tblGrid``) and every cell (``w:tcW``) get the same widths, the layout is fixed, the
header row repeats on every page (``w:tblHeader``) and rows do not split across pages
(``w:cantSplit``).  Pages are A4 portrait by default (``page_size="letter"`` for US Letter);
a table too wide for a portrait page gets its own landscape section.  Figures (the PNG at
300 dpi) follow their section's tables, numbered and captioned as APA figures.

A Persian report gets right-to-left paragraphs and tables (``w:bidi``, ``w:bidiVisual``),
the Vazirmatn font, and left-to-right stretches (numbers, Latin symbols) in their own
left-to-right runs kept together by Unicode isolates.  Built with python-docx; no statistic
is computed here.
"""
from __future__ import annotations

from copy import deepcopy
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from . import fmt
from .i18n import tr
from .layout import TableLayout, fit_widths, layout
from .model import Figure, Report, Table

FONT_FA = "Vazirmatn"
ASSETS = Path(__file__).resolve().parent / "assets"
FONT_EN = "Times New Roman"
PAGE_SIZES = {"a4": (Mm(210), Mm(297)), "letter": (Emu(7772400), Emu(10058400))}
MARGIN = Mm(25.4)                  # APA: 1 inch on every side
BODY_PT = 11
TABLE_PT = (10, 9)                 # table font sizes tried; never below the body size minus 2 pt
CELL_MARGIN_TW = 60                # left and right cell margins: 3 pt (60 twips)
CELL_PAD_PT = 2 * CELL_MARGIN_TW / 20 + 1.5   # both margins + slack for rounding
MAX_TEXT_PT = 200                  # item wording wraps beyond this width
MIN_TEXT_PT = 110                  # ... and is not squeezed below it (else: landscape)


def _set_rtl_paragraph(p) -> None:
    pPr = p._p.get_or_add_pPr()
    bidi = OxmlElement("w:bidi")
    bidi.set(qn("w:val"), "1")
    pPr.append(bidi)


def _style_run(run, rtl: bool, bold=False, italic=False, size=None, sub=False,
               persian_font: bool | None = None) -> None:
    """Style a run; ``rtl``: a right-to-left run (``w:rtl``, complex-script bold/italic/size);
    ``persian_font``: Vazirmatn for every script (default: when ``rtl``)."""
    run.bold = bold or None
    run.italic = italic or None
    if sub:
        run.font.subscript = True
    if size:
        run.font.size = Pt(size)
    rPr = run._r.get_or_add_rPr()
    if rtl if persian_font is None else persian_font:
        fonts = rPr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rPr.insert(0, fonts)
        for a in ("w:cs", "w:ascii", "w:hAnsi"):
            fonts.set(qn(a), FONT_FA)
    # complex-script properties too: Persian letters and digits are complex script even in a
    # left-to-right run, and take their size from w:szCs
    if bold:
        rPr.append(OxmlElement("w:bCs"))
    if italic:
        rPr.append(OxmlElement("w:iCs"))
    if size:
        szcs = OxmlElement("w:szCs")
        szcs.set(qn("w:val"), str(int(size * 2)))
        rPr.append(szcs)
    if rtl:
        r = OxmlElement("w:rtl")
        r.set(qn("w:val"), "1")
        rPr.append(r)


def _split_isolates(text: str) -> list[tuple[str, bool]]:
    """(piece, left_to_right) pieces of ``text``: an LRI ... PDI stretch is one left-to-right
    piece (isolates kept in it), the rest right-to-left."""
    out, buf, depth = [], "", 0
    for ch in text:
        if ch in (fmt.LRI, fmt.FSI) and depth == 0:
            if buf:
                out.append((buf, False))
            buf, depth = ch, 1
            continue
        buf += ch
        if ch in (fmt.LRI, fmt.FSI, "\u2067"):
            depth += 1
        elif ch == fmt.PDI and depth:
            depth -= 1
            if depth == 0:
                out.append((buf, True))
                buf = ""
    if buf:
        out.append((buf, depth > 0))
    return out


def add_runs(p, runs, rtl: bool, size=None, bold=False, italic=False) -> None:
    """Add styled runs (:class:`psychometrics.report.fmt.Run`) to paragraph ``p``; in a
    right-to-left paragraph each isolated left-to-right stretch is a run without ``w:rtl``."""
    for r in runs:
        pieces = _split_isolates(r.text) if rtl else [(r.text, False)]
        for text, ltr in pieces:
            if not text:
                continue
            run = p.add_run(text)
            _style_run(run, rtl and not ltr, bold=bold, italic=italic or r.italic, size=size,
                       sub=r.sub, persian_font=rtl)


def _para(container, text: str | list, rtl: bool, bold=False, italic=False, size=None,
          align=None, keep_next=False, style=None):
    p = container.add_paragraph(style=style) if style else container.add_paragraph()
    if rtl:
        _set_rtl_paragraph(p)
    runs = fmt.rich(text, "fa" if rtl else "en") if isinstance(text, str) else text
    add_runs(p, runs, rtl, size=size, bold=bold, italic=italic)
    if align is not None:
        p.alignment = align
    if keep_next:
        p.paragraph_format.keep_with_next = True
    return p


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
    """The table as rows of cell strings as they appear in the document (header row first,
    without italics marks and bidi isolates); used by tests."""
    lay = layout(t, lang)
    rows = [[fmt.strip_isolates(lay.header_plain(j)) for j in range(lay.n_cols)]]
    rows += [[fmt.strip_isolates(c) for c in row] for row in lay.body]
    return rows


def _row_flags(tr, header: bool) -> None:
    trPr = tr.get_or_add_trPr()
    cs = OxmlElement("w:cantSplit")
    trPr.append(cs)
    if header:
        th = OxmlElement("w:tblHeader")
        trPr.append(th)


def _table_props(wt, widths_tw: list[int], rtl: bool) -> None:
    tblPr = wt._tbl.tblPr
    for tag in ("w:tblW", "w:tblLayout"):
        old = tblPr.find(qn(tag))
        if old is not None:
            tblPr.remove(old)
    w = OxmlElement("w:tblW")
    w.set(qn("w:w"), str(sum(widths_tw)))
    w.set(qn("w:type"), "dxa")
    tblPr.append(w)
    lay = OxmlElement("w:tblLayout")
    lay.set(qn("w:type"), "fixed")
    tblPr.append(lay)
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        e = OxmlElement(f"w:{side}")
        e.set(qn("w:w"), str(CELL_MARGIN_TW))
        e.set(qn("w:type"), "dxa")
        mar.append(e)
    tblPr.append(mar)
    if rtl:
        bv = OxmlElement("w:bidiVisual")
        bv.set(qn("w:val"), "1")
        tblPr.append(bv)
    grid = wt._tbl.tblGrid
    for gc, tw in zip(grid.findall(qn("w:gridCol")), widths_tw):
        gc.set(qn("w:w"), str(tw))


def plan_table(lay: TableLayout, portrait_pt: float, landscape_pt: float):
    """(orientation, font size, widths in pt) for a table: portrait at 10 pt when it fits
    (text columns at least ``MIN_TEXT_PT`` wide), else portrait at 9 pt, else landscape at
    10 and 9 pt; then the same with text columns down to their longest word; a table wider than that keeps 9 pt and
    its columns are shrunk in proportion (recorded as ``overflow``)."""
    for min_text in (MIN_TEXT_PT, 0.0):
        for orient, avail in (("portrait", portrait_pt), ("landscape", landscape_pt)):
            for size in TABLE_PT:
                w = fit_widths(lay, avail, size, CELL_PAD_PT, MAX_TEXT_PT, min_text)
                if w is not None:
                    return orient, size, w, False
    size = TABLE_PT[-1]
    from .layout import column_extent
    w = [column_extent(lay, j, size)[0] + CELL_PAD_PT for j in range(lay.n_cols)]
    scale = landscape_pt / sum(w)
    return "landscape", size, [x * scale for x in w], True


class _CellParts:
    """The property elements of table cells, made once per distinct style by the same
    python-docx calls as a single cell (:func:`_style_run`, paragraph format, ``_borders``)
    and then copied: a table's hundreds of cells get the same XML without hundreds of
    python-docx proxy objects and schema-ordered insertions (most of the Word appendix's
    cost)."""

    _CONTROL = frozenset("\t\n\r")

    def __init__(self):
        self._runs, self._ppr, self._tcpr = {}, {}, {}

    def run(self, text: str, rtl_run: bool, bold, italic, size, sub, persian_font):
        """A ``w:r`` with ``text``, styled as ``_style_run`` styles a run."""
        key = (rtl_run, bool(bold), bool(italic), size, bool(sub), persian_font)
        tpl = self._runs.get(key)
        if tpl is None:
            run = Paragraph(OxmlElement("w:p"), None).add_run()
            _style_run(run, rtl_run, bold=bold, italic=italic, size=size, sub=sub,
                       persian_font=persian_font)
            tpl = self._runs[key] = run._r
        r = deepcopy(tpl)
        if self._CONTROL.isdisjoint(text):
            r.add_t(text)           # as python-docx's run.text for text without tabs/breaks
        else:
            from docx.text.run import Run
            Run(r, None).text = text
        return r

    def ppr(self, rtl: bool, align, keep_next: bool):
        """The ``w:pPr`` of a cell paragraph (direction, alignment, no spacing, keep)."""
        key = (rtl, align, keep_next)
        tpl = self._ppr.get(key)
        if tpl is None:
            p = Paragraph(OxmlElement("w:p"), None)
            if rtl:
                _set_rtl_paragraph(p)
            p.alignment = align
            pf = p.paragraph_format
            pf.space_after = Pt(0)
            pf.space_before = Pt(0)
            pf.keep_with_next = keep_next
            tpl = self._ppr[key] = p._p.pPr
        return deepcopy(tpl)

    def tcpr(self, tc, parent, width_tw: int, top, bottom):
        """Give cell ``tc`` its width and rules (``w:tcPr``)."""
        key = (width_tw, top, bottom)
        tpl = self._tcpr.get(key)
        if tpl is None:
            cell = _Cell(tc, parent)
            cell.width = Emu(width_tw * 635)
            _borders(cell, top=top, bottom=bottom)
            self._tcpr[key] = deepcopy(tc.tcPr)
            return
        tc.replace(tc.tcPr, deepcopy(tpl))


def _cell_runs(parts: _CellParts, p_el, runs, rtl: bool, size=None, bold=False) -> None:
    """:func:`add_runs` for a cell paragraph element (the same runs)."""
    for r in runs:
        pieces = _split_isolates(r.text) if rtl else [(r.text, False)]
        for text, ltr in pieces:
            if text:
                p_el.append(parts.run(text, rtl and not ltr, bold, r.italic, size, r.sub, rtl))


def add_table(doc, t: Table, lang: str, width_pt: float, size: float, widths_pt: list,
              parts: _CellParts | None = None, lay: TableLayout | None = None) -> None:
    """Add table ``t`` (number, title, the Word table, note) to ``doc``; ``lay`` is its
    :func:`~psychometrics.report.layout.layout` when already made."""
    rtl = lang == "fa"
    parts = parts or _CellParts()
    lay = lay if lay is not None else layout(t, lang)
    num = fmt.localise(str(t.number), lang) if t.number is not None else ""
    start = WD_ALIGN_PARAGRAPH.RIGHT if rtl else WD_ALIGN_PARAGRAPH.LEFT
    end = WD_ALIGN_PARAGRAPH.LEFT if rtl else WD_ALIGN_PARAGRAPH.RIGHT
    _para(doc, f"{tr('table', lang)} {num}", rtl, bold=True, keep_next=True, align=start)
    _para(doc, t.title, rtl, italic=True, keep_next=True, align=start)
    n_rows, n_cols = len(lay.body) + 1, lay.n_cols
    wt = doc.add_table(rows=n_rows, cols=n_cols)
    wt.alignment = WD_TABLE_ALIGNMENT.CENTER
    wt.autofit = False
    widths_tw = [int(round(w * 20)) for w in widths_pt]        # points -> twips
    _table_props(wt, widths_tw, rtl)
    for i, tr_el in enumerate(wt._tbl.tr_lst):
        _row_flags(tr_el, header=i == 0)
        keep = i < n_rows - 1 and n_rows <= 12
        top = 12 if i == 0 else None
        bottom = 8 if i == 0 else (12 if i == n_rows - 1 else None)
        for j, tc in enumerate(tr_el.tc_lst):
            parts.tcpr(tc, wt, widths_tw[j], top, bottom)
            p_el = tc.p_lst[0]
            if i == 0:
                align = WD_ALIGN_PARAGRAPH.CENTER if lay.numeric[j] else start
                p_el.insert(0, parts.ppr(rtl, align, keep))
                _cell_runs(parts, p_el, lay.header_runs(j), rtl, size=size)
            else:
                align = end if lay.numeric[j] else start
                p_el.insert(0, parts.ppr(rtl, align, keep))
                _cell_runs(parts, p_el, [fmt.Run(lay.body[i - 1][j])], rtl, size=size,
                           bold=lay.is_bold(i - 1, j))
    if t.note:
        p = _para(doc, "", rtl, align=start)
        add_runs(p, [fmt.Run(f"{tr('note', lang)}.", italic=True)], rtl, size=size)
        add_runs(p, fmt.rich(" " + t.note, lang), rtl, size=size)
    _para(doc, "", rtl)


def add_figure(doc, f: Figure, lang: str, width_emu: int, height_emu: int) -> None:
    """APA figure: bold number, italic title, the image (PNG, 300 dpi) scaled to the text
    block, kept on one page with its caption."""
    rtl = lang == "fa"
    start = WD_ALIGN_PARAGRAPH.RIGHT if rtl else WD_ALIGN_PARAGRAPH.LEFT
    num = fmt.localise(str(f.number), lang) if f.number is not None else ""
    _para(doc, f"{tr('figure', lang)} {num}", rtl, bold=True, keep_next=True, align=start)
    _para(doc, f.caption, rtl, italic=True, keep_next=True, align=start)
    png = f.file("png")
    w, h = width_emu, None
    try:
        from PIL import Image
        with Image.open(png) as im:
            px_w, px_h = im.size
        h = int(w * px_h / px_w)
        if h > height_emu:
            w, h = int(height_emu * px_w / px_h), height_emu
    except Exception:
        pass
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run().add_picture(str(png), width=Emu(w))
    _para(doc, "", rtl)


def _obfuscate(font: bytes, guid: str) -> bytes:
    """ECMA-376 Part 1, 17.8.1: the first 32 bytes of an embedded font XOR-ed with the bytes
    of its GUID key (in reverse order)."""
    hexkey = guid.strip("{}").replace("-", "")
    key = bytes(int(hexkey[i:i + 2], 16) for i in range(0, 32, 2))[::-1]
    head = bytes(b ^ key[i % 16] for i, b in enumerate(font[:32]))
    return head + font[32:]


def embed_persian_font(doc) -> None:
    """Embed Vazirmatn (regular and bold; SIL OFL 1.1 allows it) in the document, so that Word
    and LibreOffice show the Persian appendix in the font it was laid out with even where
    Vazirmatn is not installed (``w:embedTrueTypeFonts``, obfuscated ``.odttf`` parts)."""
    import uuid
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from lxml import etree
    W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ft = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    root = etree.fromstring(ft.blob)
    font = etree.SubElement(root, f"{{{W}}}font")
    font.set(f"{{{W}}}name", FONT_FA)
    for n, (tag, fname) in enumerate((("embedRegular", "Vazirmatn-Regular.ttf"),
                                      ("embedBold", "Vazirmatn-Bold.ttf")), start=1):
        guid = "{%s}" % str(uuid.uuid5(uuid.NAMESPACE_URL, "psychometrics/" + fname)).upper()
        blob = _obfuscate((ASSETS / fname).read_bytes(), guid)
        part = Part(PackURI(f"/word/fonts/font{n}.odttf"),
                    "application/vnd.openxmlformats-officedocument.obfuscatedFont", blob,
                    doc.part.package)
        rid = ft.relate_to(part, "http://schemas.openxmlformats.org/officeDocument/2006/"
                                 "relationships/font")
        e = etree.SubElement(font, f"{{{W}}}{tag}")
        e.set(f"{{{R}}}id", rid)
        e.set(f"{{{W}}}fontKey", guid)
    ft._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    settings = doc.settings.element
    if settings.find(qn("w:embedTrueTypeFonts")) is None:
        settings.insert(0, OxmlElement("w:embedTrueTypeFonts"))


def _set_page(sec, size: str, orient: str) -> None:
    w, h = PAGE_SIZES[size]
    if orient == "landscape":
        sec.orientation = WD_ORIENT.LANDSCAPE
        sec.page_width, sec.page_height = h, w
    else:
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = w, h
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, side, MARGIN)


def render_docx(report: Report, path: str | Path, page_size: str | None = None) -> Path:
    """Write every table and figure of ``report`` to ``path`` as an APA 7 Word appendix;
    return the path.  ``page_size``: "a4" (default) or "letter"; without it the report's
    ``meta["options"]["page_size"]`` decides."""
    report.number()
    lang = report.language
    rtl = report.rtl
    size = (page_size or (report.meta.get("options") or {}).get("page_size") or "a4").lower()
    if size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES)}, not {size!r}")
    pw, ph = PAGE_SIZES[size]
    portrait_pt = (pw - 2 * MARGIN) / 12700
    landscape_pt = (ph - 2 * MARGIN) / 12700
    doc = Document()
    sec = doc.sections[0]
    _set_page(sec, size, "portrait")
    style = doc.styles["Normal"]
    style.font.name = FONT_FA if rtl else FONT_EN
    style.font.size = Pt(BODY_PT)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is not None:
        for a in ("w:cs", "w:eastAsia"):
            fonts.set(qn(a), FONT_FA if rtl else FONT_EN)
    for hs in ("Heading 1", "Heading 2"):
        doc.styles[hs].font.name = style.font.name
    if rtl:
        embed_persian_font(doc)
    title = doc.add_heading(level=1)
    if rtl:
        _set_rtl_paragraph(title)
        title.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    add_runs(title, fmt.rich(report.title, lang), rtl, bold=True)
    current = "portrait"
    parts = _CellParts()
    for section in report.sections:
        blocks = [b for b in section.blocks if isinstance(b, (Table, Figure))]
        if not blocks:
            continue
        heading_done = False
        for b in blocks:
            if isinstance(b, Table):
                lay = layout(b, lang)
                orient, tsize, widths, _overflow = plan_table(lay, portrait_pt, landscape_pt)
            else:
                orient = "portrait"
            if orient != current:
                new = doc.add_section(WD_SECTION.NEW_PAGE)
                _set_page(new, size, orient)
                current = orient
            if not heading_done:
                h = doc.add_heading(level=2)
                if rtl:
                    _set_rtl_paragraph(h)
                    h.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                add_runs(h, fmt.rich(section.title, lang), rtl, bold=True)
                h.paragraph_format.keep_with_next = True
                heading_done = True
            if isinstance(b, Table):
                add_table(doc, b, lang, portrait_pt if orient == "portrait" else landscape_pt,
                          tsize, widths, parts, lay)
            else:
                text_w = int(pw - 2 * MARGIN)
                text_h = int((ph - 2 * MARGIN) * 0.72)     # room for the caption lines
                add_figure(doc, b, lang, text_w, text_h)
    path = Path(path)
    doc.save(path)
    return path
