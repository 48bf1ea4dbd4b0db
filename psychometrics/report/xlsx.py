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


def _text(ws, row: int, col: int, text: str):
    """Write ``text`` as a text cell (never a formula, even when it starts with = + - @)."""
    c = ws.cell(row, col)
    c.value = text
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):
        c.data_type = "s"
        c.quotePrefix = True
    return c


def _plain(text: str) -> str:
    return fmt.strip_isolates(fmt.unmark(text))


def render_xlsx(report: Report, path: str | Path) -> Path:
    """Write a contents sheet and one sheet per table of ``report`` to ``path``; return it."""
    report.number()
    lang = report.language
    wb = Workbook()
    contents = wb.active
    contents.title = CONTENTS.get(lang, "contents")
    heads = [tr("table", lang), tr("c_sheet", lang), tr("c_title", lang), tr("note", lang)]
    for j, h in enumerate(heads, start=1):
        _text(contents, 1, j, h).font = Font(bold=True)
    if report.rtl:
        contents.sheet_view.rightToLeft = True
    used: set = {contents.title}
    thin = Side(style="thin")
    for k, t in enumerate(report.tables(), start=2):
        name = sheet_name(t, used, lang)
        ws = wb.create_sheet(name)
        if report.rtl:
            ws.sheet_view.rightToLeft = True
        contents.cell(k, 1, t.number)
        _text(contents, k, 2, name)
        _text(contents, k, 3, _plain(t.title))
        if t.note:
            _text(contents, k, 4, _plain(t.note))
        header = ([_plain(index_header(t, lang)) or tr("c_row", lang)] if t.show_index else []) \
            + [_plain(header_text(t, c, lang)) for c in t.data.columns]
        for j, h in enumerate(header, start=1):
            c = _text(ws, 1, j, h)
            c.font = Font(bold=True)
            c.border = Border(top=thin, bottom=thin)
            c.alignment = Alignment(horizontal="center", wrap_text=True)
        label = f"{tr('table', lang)} {t.number}. {_plain(t.title)}"
        if t.note:
            label += f"\n{tr('note', lang)}. {_plain(t.note)}"
        ws.cell(1, 1).comment = Comment(label, "psychometrics", width=400, height=160)
        off = 1 if t.show_index else 0
        specs = {c: t.spec(c) for c in t.data.columns}
        for i, (idx, row) in enumerate(t.data.iterrows(), start=2):
            if t.show_index:
                _text(ws, i, 1, readable(str(idx), lang))
            for j, col in enumerate(t.data.columns, start=1 + off):
                v = _value(row[col])
                spec = specs[col]
                if isinstance(v, bool):
                    v = fmt.bool_word(v, lang)
                if spec == "s" and v is not None:
                    v = readable(str(v), lang) if not isinstance(v, str) or v not in ("True", "False") \
                        else fmt.bool_word(v == "True", lang)
                    _text(ws, i, j, v)
                    continue
                c = ws.cell(i, j, v)
                if isinstance(v, str):
                    _text(ws, i, j, v)
                elif spec in _EXCEL_FORMATS:
                    c.number_format = _EXCEL_FORMATS[spec]
        last = 1 + len(t.data)
        for j in range(1, len(header) + 1):
            ws.cell(last, j).border = Border(bottom=thin)
        ws.column_dimensions["A"].width = 28
        ws.freeze_panes = "B2" if t.show_index else "A2"
    contents.column_dimensions["B"].width = 32
    contents.column_dimensions["C"].width = 60
    path = Path(path)
    wb.save(path)
    return path
