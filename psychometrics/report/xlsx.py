"""Render the report's tables to an Excel workbook (``tables.xlsx``), one sheet a table.

Every table sheet is a plain rectangle that ``pandas.read_excel(path, sheet_name=None)``
reads as it is: one header row on row 1 (the readable column headers of
:mod:`psychometrics.report.layout`, the first column the row labels), the values from row 2
on as *numbers* (not text, so they can be re-used; shown with the table's number of
decimals), flags as words.  The sheet name is "T<number> <title>" cut to Excel's 31
characters (unique); the full title and note are in a comment on cell A1 and in the first
sheet, "contents", which lists every table (sheet, number, title, note).  Text that starts
with ``=``, ``+``, ``-`` or ``@`` is stored as text, never as a formula.  A Persian report
gets right-to-left sheets.  Built with openpyxl; no statistic is computed here.
"""
from __future__ import annotations

import math
import re
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, Side

from . import fmt
from .i18n import tr
from .layout import header_text, index_header, readable
from .model import Report, Table

_EXCEL_FORMATS = {"d": "0", "r": "0.00", "r3": "0.000", "f0": "0", "f1": "0.0", "f2": "0.00",
                  "f3": "0.000", "f4": "0.0000", "p": "0.000", "pe": "0.000", "pct": "0.0%"}
_FORBIDDEN = re.compile(r"[\[\]\*\?/\\:]")
CONTENTS = {"en": "contents", "fa": "فهرست"}


def sheet_name(t: Table, used: set, lang: str = "en") -> str:
    """"T<n> <title>" without the characters Excel forbids, at most 31 characters, unique."""
    title = fmt.strip_isolates(fmt.unmark(t.title))
    base = _FORBIDDEN.sub(" ", f"T{t.number} {title}")
    base = re.sub(r"\s+", " ", base).strip()[:31].rstrip(" '")
    name, k = base, 2
    while name.lower() in {u.lower() for u in used}:
        suffix = f" ({k})"
        name = base[:31 - len(suffix)].rstrip() + suffix
        k += 1
    used.add(name)
    return name


def _value(v):
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if v is not None and v.__class__.__name__ == "NAType":
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


_THIN = Side(style="thin")
_BOLD = Font(bold=True)
#: the styles a cell gets here, by name (each assignment as openpyxl's attribute setters make it)
_STYLE_OPS = {
    "bold": (("font", _BOLD),),
    "header": (("font", _BOLD), ("border", Border(top=_THIN, bottom=_THIN)),
               ("alignment", Alignment(horizontal="center", wrap_text=True))),
    "bottom": (("border", Border(bottom=_THIN)),),
    "quote": (("quotePrefix", True),),
}
_STYLE_OPS.update({f"format {spec}": (("number_format", code),)
                   for spec, code in _EXCEL_FORMATS.items()})


class _Styles:
    """Cell styles of one workbook: the first cell that gets a style from a given style is
    styled through openpyxl's attribute setters (which look the font, border, ... up in the
    workbook's lists, hashing and comparing them: most of the workbook's cost when done per
    cell), and every later such cell gets a copy of that cell's resulting style indices.  The
    workbook's style lists and the cells' styles are those the setters give."""

    def __init__(self, memo: bool = True):
        self._memo: dict | None = {} if memo else None

    def apply(self, cell, name: str):
        if self._memo is None:          # every cell through the setters (tests)
            for attr, value in _STYLE_OPS[name]:
                setattr(cell, attr, value)
            return cell
        key = (tuple(cell._style) if cell._style else None, name)   # None: no style yet
        style = self._memo.get(key)
        if style is None:
            for attr, value in _STYLE_OPS[name]:
                setattr(cell, attr, value)
            self._memo[key] = copy(cell._style)
        else:
            cell._style = copy(style)
        return cell


def _text(ws, row: int, col: int, text: str, styles: _Styles | None = None):
    """Write ``text`` as a text cell (never a formula, even when it starts with = + - @)."""
    c = ws.cell(row, col)
    c.value = text
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):
        c.data_type = "s"
        if styles is None:
            c.quotePrefix = True
        else:
            styles.apply(c, "quote")
    return c


def _plain(text: str) -> str:
    return fmt.strip_isolates(fmt.unmark(text))


def _rows(t: Table, stepwise: bool = False):
    """(row label, values) of ``t.data`` as ``DataFrame.iterrows`` gives them: the rows of
    ``DataFrame.values`` (one dtype for a row of numbers); ``stepwise``: by iterrows."""
    if stepwise:
        cols = list(t.data.columns)
        return ((idx, [row[c] for c in cols]) for idx, row in t.data.iterrows())
    return zip(t.data.index, t.data.values)


def render_xlsx(report: Report, path: str | Path, *, _stepwise: bool = False) -> Path:
    """Write a contents sheet and one sheet per table of ``report`` to ``path``; return it.
    ``_stepwise`` (tests): every cell styled by openpyxl's setters and the rows read by
    ``iterrows`` (the same workbook)."""
    report.number()
    lang = report.language
    wb = Workbook()
    styles = _Styles(memo=not _stepwise)
    contents = wb.active
    contents.title = CONTENTS.get(lang, "contents")
    heads = [tr("table", lang), tr("c_sheet", lang), tr("c_title", lang), tr("note", lang)]
    for j, h in enumerate(heads, start=1):
        styles.apply(_text(contents, 1, j, h, styles), "bold")
    if report.rtl:
        contents.sheet_view.rightToLeft = True
    used: set = {contents.title}
    for k, t in enumerate(report.tables(), start=2):
        name = sheet_name(t, used, lang)
        ws = wb.create_sheet(name)
        if report.rtl:
            ws.sheet_view.rightToLeft = True
        contents.cell(k, 1, t.number)
        _text(contents, k, 2, name, styles)
        _text(contents, k, 3, _plain(t.title), styles)
        if t.note:
            _text(contents, k, 4, _plain(t.note), styles)
        header = ([_plain(index_header(t, lang)) or tr("c_row", lang)] if t.show_index else []) \
            + [_plain(header_text(t, c, lang)) for c in t.data.columns]
        for j, h in enumerate(header, start=1):
            styles.apply(_text(ws, 1, j, h, styles), "header")
        label = f"{tr('table', lang)} {t.number}. {_plain(t.title)}"
        if t.note:
            label += f"\n{tr('note', lang)}. {_plain(t.note)}"
        ws.cell(1, 1).comment = Comment(label, "psychometrics", width=400, height=160)
        off = 1 if t.show_index else 0
        specs = [t.spec(c) for c in t.data.columns]
        for i, (idx, row) in enumerate(_rows(t, _stepwise), start=2):
            if t.show_index:
                _text(ws, i, 1, readable(str(idx), lang), styles)
            for j, (raw, spec) in enumerate(zip(row, specs), start=1 + off):
                v = _value(raw)
                if isinstance(v, bool):
                    v = fmt.bool_word(v, lang)
                if spec == "s" and v is not None:
                    v = readable(str(v), lang) if not isinstance(v, str) or v not in ("True", "False") \
                        else fmt.bool_word(v == "True", lang)
                    _text(ws, i, j, v, styles)
                elif isinstance(v, str):
                    _text(ws, i, j, v, styles)
                else:
                    c = ws.cell(i, j, v)
                    if spec in _EXCEL_FORMATS:
                        styles.apply(c, f"format {spec}")
        last = 1 + len(t.data)
        for j in range(1, len(header) + 1):
            styles.apply(ws.cell(last, j), "bottom")
        ws.column_dimensions["A"].width = 28
        ws.freeze_panes = "B2" if t.show_index else "A2"
    contents.column_dimensions["B"].width = 32
    contents.column_dimensions["C"].width = 60
    path = Path(path)
    wb.save(path)
    return path
