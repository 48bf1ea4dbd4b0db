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
    """Add a paragraph by python-docx calls and return it: the reference for
    :meth:`_CellParts.para`, which writes the same XML as text (tests)."""
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


_W_DECL = ' xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_SECTPR = qn("w:sectPr")


def _fragment(el) -> str:
    """``el`` serialised as lxml writes it inside the document (no namespace declaration:
    the document's root declares ``w``)."""
    from lxml import etree
    s = etree.tostring(el, encoding="unicode")
    s = s.replace(_W_DECL, "", 1)
    if "xmlns" in s:      # pragma: no cover - every part made here is in the w namespace
        raise ValueError(f"unexpected namespace declaration in {s[:80]!r}")
    return s


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _CellParts:
    """The XML of table cells, made once per distinct style by the same python-docx calls as
    a single cell (:func:`_style_run`, paragraph format, ``_borders``, ``_row_flags``) and
    kept as text: a table's rows are then written as one XML string and parsed once, instead
    of hundreds of python-docx proxy objects and schema-ordered insertions per table (most of
    the Word appendix's cost).  The rows are the XML python-docx makes cell by cell
    (tests/test_report.py compares them)."""

    _CONTROL = frozenset("\t\n\r")

    def __init__(self, deferred: bool = False):
        self._runs, self._ppr, self._tcpr, self._trpr = {}, {}, {}, {}
        self._tblpr: dict = {}
        # deferred: body XML is kept as text behind a marker and parsed with the whole
        # document once (:meth:`finish`); moving parsed elements into the document costs
        # about ten times their parsing (lxml reconciles every node's namespace)
        self._pieces: list[str] | None = [] if deferred else None

    _MARK = "psychometrics-body-xml-"

    def insert(self, doc, xml: str) -> None:
        """Add body content ``xml`` (paragraphs, tables) at the end of the document's body,
        where ``doc.add_paragraph`` / ``doc.add_table`` put theirs (before the body's final
        ``w:sectPr``): at once, or, when deferred, as a marker replaced by :meth:`finish`."""
        if self._pieces is None:
            _insert_xml(doc, xml)
            return
        from lxml import etree
        _insert_elements(doc, [etree.Comment(f"{self._MARK}{len(self._pieces)}")])
        self._pieces.append(xml)

    def finish(self, doc) -> None:
        """Put the deferred body XML into the document: the document part's XML with every
        marker replaced by its text, parsed once (python-docx serialises the part's element
        when the document is saved; nothing else of ``doc`` is used after this)."""
        if not self._pieces:
            return
        import re

        from docx.opc.oxml import serialize_part_xml
        from docx.oxml.parser import parse_xml
        part = doc.part
        text = serialize_part_xml(part.element).decode("utf-8")
        pieces = self._pieces
        text, n = re.subn(f"<!--{self._MARK}(\\d+)-->", lambda m: pieces[int(m.group(1))], text)
        if n != len(pieces):   # pragma: no cover - every marker is in the body
            raise RuntimeError(f"{len(pieces) - n} deferred parts of the Word document were lost")
        part._element = parse_xml(text.encode("utf-8"))
        self._pieces = []

    def run(self, text: str, rtl_run: bool, bold, italic, size, sub, persian_font) -> str:
        """A ``w:r`` with ``text``, styled as ``_style_run`` styles a run (XML text)."""
        key = (rtl_run, bool(bold), bool(italic), size, bool(sub), persian_font)
        tpl = self._runs.get(key)
        if tpl is None:
            run = Paragraph(OxmlElement("w:p"), None).add_run()
            _style_run(run, rtl_run, bold=bold, italic=italic, size=size, sub=sub,
                       persian_font=persian_font)
            rpr = run._r.rPr
            tpl = self._runs[key] = (run._r, _fragment(rpr) if rpr is not None else "")
        r_el, rpr_xml = tpl
        if self._CONTROL.isdisjoint(text):
            # as python-docx's CT_R.add_t (run.text for text without tabs and breaks)
            space = ' xml:space="preserve"' if len(text.strip()) < len(text) else ""
            return f"<w:r>{rpr_xml}<w:t{space}>{_xml_text(text)}</w:t></w:r>"
        from docx.text.run import Run
        r = deepcopy(r_el)
        Run(r, None).text = text
        return _fragment(r)

    def ppr(self, rtl: bool, align, keep_next: bool) -> str:
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
            tpl = self._ppr[key] = _fragment(p._p.pPr)
        return tpl

    _WIDTH = 987654                  # a width (twips) no real cell has: replaced in the XML

    def tcpr(self, width_tw: int, top, bottom) -> str:
        """The ``w:tcPr`` of a cell: its width and rules."""
        key = (width_tw, top, bottom)
        xml = self._tcpr.get(key)
        if xml is None:
            tpl = self._tcpr.get((None, top, bottom))
            if tpl is None:
                from docx.oxml.table import CT_Tbl
                w = Emu(self._WIDTH * 635)
                cell = _Cell(CT_Tbl.new_tbl(1, 1, w).tr_lst[0].tc_lst[0], None)
                cell.width = w
                _borders(cell, top=top, bottom=bottom)
                tpl = self._tcpr[(None, top, bottom)] = _fragment(cell._tc.tcPr)
            xml = self._tcpr[key] = tpl.replace(f'w:w="{self._WIDTH}"', f'w:w="{int(width_tw)}"')
        return xml

    def para_ppr(self, rtl: bool, align, keep_next: bool) -> str:
        """The ``w:pPr`` :func:`_para` gives a paragraph ("" when it has none)."""
        key = ("para", rtl, align, keep_next)
        tpl = self._ppr.get(key)
        if tpl is None:
            p = Paragraph(OxmlElement("w:p"), None)
            if rtl:
                _set_rtl_paragraph(p)
            if align is not None:
                p.alignment = align
            if keep_next:
                p.paragraph_format.keep_with_next = True
            ppr = p._p.pPr
            tpl = self._ppr[key] = _fragment(ppr) if ppr is not None else ""
        return tpl

    def para(self, text: str | list, rtl: bool, bold=False, italic=False, size=None,
             align=None, keep_next=False) -> str:
        """The ``w:p`` :func:`_para` adds (XML text)."""
        runs = fmt.rich(text, "fa" if rtl else "en") if isinstance(text, str) else text
        body = _cell_runs(self, runs, rtl, size=size, bold=bold, italic=italic)
        return f"<w:p>{self.para_ppr(rtl, align, keep_next)}{body}</w:p>"

    def tbl_start(self, widths_tw: list[int], rtl: bool) -> str:
        """``<w:tbl>`` with the table properties and grid ``doc.add_table`` + alignment,
        autofit and :func:`_table_props` give."""
        key = (tuple(widths_tw), rtl)
        tpl = self._tblpr.get(key)
        if tpl is None:
            from docx.oxml.table import CT_Tbl
            from docx.table import Table as _DocxTable
            wt = _DocxTable(CT_Tbl.new_tbl(0, len(widths_tw), Emu(0)), None)
            wt.alignment = WD_TABLE_ALIGNMENT.CENTER
            wt.autofit = False
            _table_props(wt, widths_tw, rtl)
            tpl = self._tblpr[key] = (f"<w:tbl>{_fragment(wt._tbl.tblPr)}"
                                      f"{_fragment(wt._tbl.tblGrid)}")
        return tpl

    def trpr(self, header: bool) -> str:
        """The ``w:trPr`` of a row (:func:`_row_flags`)."""
        tpl = self._trpr.get(header)
        if tpl is None:
            from docx.oxml.table import CT_Tbl
            tr_el = CT_Tbl.new_tbl(1, 1, Emu(0)).tr_lst[0]
            _row_flags(tr_el, header)
            tpl = self._trpr[header] = _fragment(tr_el.trPr)
        return tpl


def _cell_runs(parts: _CellParts, runs, rtl: bool, size=None, bold=False,
               italic=False) -> str:
    """:func:`add_runs` as XML text (the same runs)."""
    out = []
    for r in runs:
        pieces = _split_isolates(r.text) if rtl else [(r.text, False)]
        for text, ltr in pieces:
            if text:
                out.append(parts.run(text, rtl and not ltr, bold, italic or r.italic, size,
                                     r.sub, rtl))
    return "".join(out)


def _insert_elements(doc, els) -> None:
    """Add elements at the end of the document's body, before its final ``w:sectPr`` (as
    python-docx's ``CT_Body._insert_p`` / ``_insert_tbl``)."""
    body = doc.element.body
    last = body[-1] if len(body) else None
    for el in els:
        if last is not None and last.tag == _SECTPR:
            last.addprevious(el)
        else:
            body.append(el)


def _insert_xml(doc, xml: str) -> list:
    """Parse ``xml`` (body content: paragraphs, tables) and add it at the end of the
    document's body (:func:`_insert_elements`); returns the elements."""
    from docx.oxml.parser import parse_xml
    els = list(parse_xml(f"<w:body{_W_DECL}>{xml}</w:body>".encode("utf-8")))
    _insert_elements(doc, els)
    return els


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
    xml = [parts.para(f"{tr('table', lang)} {num}", rtl, bold=True, keep_next=True, align=start),
           parts.para(t.title, rtl, italic=True, keep_next=True, align=start)]
    n_rows, n_cols = len(lay.body) + 1, lay.n_cols
    widths_tw = [int(round(w * 20)) for w in widths_pt]        # points -> twips
    xml.append(parts.tbl_start(widths_tw, rtl))
    for i in range(n_rows):
        keep = i < n_rows - 1 and n_rows <= 12
        top = 12 if i == 0 else None
        bottom = 8 if i == 0 else (12 if i == n_rows - 1 else None)
        xml.append("<w:tr>")
        xml.append(parts.trpr(i == 0))
        for j in range(n_cols):
            if i == 0:
                align = WD_ALIGN_PARAGRAPH.CENTER if lay.numeric[j] else start
                runs = _cell_runs(parts, lay.header_runs(j), rtl, size=size)
            else:
                align = end if lay.numeric[j] else start
                runs = _cell_runs(parts, [fmt.Run(lay.body[i - 1][j])], rtl, size=size,
                                  bold=lay.is_bold(i - 1, j))
            xml.append(f"<w:tc>{parts.tcpr(widths_tw[j], top, bottom)}"
                       f"<w:p>{parts.ppr(rtl, align, keep)}{runs}</w:p></w:tc>")
        xml.append("</w:tr>")
    xml.append("</w:tbl>")
    if t.note:
        note = [fmt.Run(f"{tr('note', lang)}.", italic=True)] + fmt.rich(" " + t.note, lang)
        xml.append(parts.para(note, rtl, size=size, align=start))
    xml.append(parts.para("", rtl))
    parts.insert(doc, "".join(xml))


class _ShapeIds:
    """The shape ids of the pictures: what python-docx's ``StoryPart.next_id`` gives (the
    largest ``id`` attribute of the document plus one; a picture's ``wp:docPr`` is the only
    element here with one), counted instead of searched for in the whole document per
    picture."""

    def __init__(self, doc):
        self._next = doc.part.next_id

    def take(self) -> int:
        n, self._next = self._next, self._next + 1
        return n


def _heading(doc, level: int, style_ids: dict | None):
    """``doc.add_heading(level=level)``; the style id is looked up once per level (python-docx
    searches the style definitions for every heading); ``style_ids`` None: python-docx's
    call every time."""
    if style_ids is None:
        return doc.add_heading(level=level)
    sid = style_ids.get(level, False)
    if sid is False:
        p = doc.add_heading(level=level)
        style_ids[level] = p._p.style
        return p
    p = doc.add_paragraph()
    p._p.style = sid
    return p


def add_figure(doc, f: Figure, lang: str, width_emu: int, height_emu: int,
               shape_ids: _ShapeIds | None = None, parts: _CellParts | None = None) -> None:
    """APA figure: bold number, italic title, the image (PNG, 300 dpi) scaled to the text
    block, kept on one page with its caption.  ``shape_ids``: the document's picture ids
    (:class:`_ShapeIds`; without it python-docx finds the next id)."""
    rtl = lang == "fa"
    start = WD_ALIGN_PARAGRAPH.RIGHT if rtl else WD_ALIGN_PARAGRAPH.LEFT
    num = fmt.localise(str(f.number), lang) if f.number is not None else ""
    parts = parts or _CellParts()
    parts.insert(doc, parts.para(f"{tr('figure', lang)} {num}", rtl, bold=True, keep_next=True,
                                 align=start)
                 + parts.para(f.caption, rtl, italic=True, keep_next=True, align=start))
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
    run = p.add_run()
    if shape_ids is None:
        run.add_picture(str(png), width=Emu(w))
    else:       # as python-docx's run.add_picture, with the id counted
        from docx.oxml.shape import CT_Inline
        r_id, image = doc.part.get_or_add_image(str(png))
        cx, cy = image.scaled_dimensions(Emu(w), None)
        run._r.add_drawing(CT_Inline.new_pic_inline(shape_ids.take(), r_id, image.filename,
                                                    cx, cy))
    parts.insert(doc, parts.para("", rtl))


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


def render_docx(report: Report, path: str | Path, page_size: str | None = None, *,
                _stepwise: bool = False) -> Path:
    """Write every table and figure of ``report`` to ``path`` as an APA 7 Word appendix;
    return the path.  ``page_size``: "a4" (default) or "letter"; without it the report's
    ``meta["options"]["page_size"]`` decides.  ``_stepwise`` (tests): every part put into the
    document as it is made, headings and picture ids found by python-docx, instead of the
    body parsed once, counted picture ids and cached heading styles (the same document)."""
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
    style_ids: dict | None = None if _stepwise else {}
    title = _heading(doc, 1, style_ids)
    if rtl:
        _set_rtl_paragraph(title)
        title.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    add_runs(title, fmt.rich(report.title, lang), rtl, bold=True)
    current = "portrait"
    parts = _CellParts(deferred=not _stepwise)
    shape_ids = None if _stepwise else _ShapeIds(doc)
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
                h = _heading(doc, 2, style_ids)
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
                add_figure(doc, b, lang, text_w, text_h, shape_ids, parts)
    parts.finish(doc)
    path = Path(path)
    doc.save(path)
    return path
