"""Render the report's tables to an Excel workbook (``tables.xlsx``), one sheet a table.

Each sheet holds the table number and title (row 1), the header (row 3), the
values as *numbers* (not text, so they can be re-used; shown with the
table's number of decimals) and the note under the table.  A Persian report
gets right-to-left sheets.  Built with openpyxl; no statistic is computed here.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from .i18n import tr
from .model import Report, Table

_EXCEL_FORMATS = {"d": "0", "r": "0.00", "r3": "0.000", "f0": "0", "f1": "0.0", "f2": "0.00",
                  "f3": "0.000", "f4": "0.0000", "p": "0.000", "pct": "0.0%"}


def sheet_name(t: Table, used: set) -> str:
    base = re.sub(r"[\[\]\*\?/\\:]", "_", f"T{t.number} {t.key}")[:31]
    name, k = base, 2
    while name in used:
        suffix = f"~{k}"
        name = base[:31 - len(suffix)] + suffix
        k += 1
    used.add(name)
    return name


def _value(v):
    if v is None:
        return None
    try:
        if isinstance(v, float) and not math.isfinite(v):
            return None
    except TypeError:
        pass
    if hasattr(v, "item"):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if v is not None and v.__class__.__name__ == "NAType":
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def render_xlsx(report: Report, path: str | Path) -> Path:
    """Write one sheet per table of ``report`` to ``path``; return the path."""
    report.number()
    lang = report.language
    wb = Workbook()
    wb.remove(wb.active)
    used: set = set()
    thin = Side(style="thin")
    for t in report.tables():
        ws = wb.create_sheet(sheet_name(t, used))
        if report.rtl:
            ws.sheet_view.rightToLeft = True
        ws.cell(1, 1, f"{tr('table', lang)} {t.number}").font = Font(bold=True)
        ws.cell(2, 1, t.title).font = Font(italic=True)
        header = ([t.index_label or ""] if t.show_index else []) + [t.header(c) for c in t.data.columns]
        for j, h in enumerate(header, start=1):
            c = ws.cell(3, j, h)
            c.border = Border(top=thin, bottom=thin)
            c.alignment = Alignment(horizontal="center")
        off = 1 if t.show_index else 0
        for i, (idx, row) in enumerate(t.data.iterrows(), start=4):
            if t.show_index:
                ws.cell(i, 1, str(idx))
            for j, col in enumerate(t.data.columns, start=1 + off):
                v = _value(row[col])
                spec = t.spec(col)
                if spec == "s" and v is not None:
                    v = str(v)
                c = ws.cell(i, j, v)
                if spec in _EXCEL_FORMATS:
                    c.number_format = _EXCEL_FORMATS[spec]
        last = 3 + len(t.data)
        for j in range(1, len(header) + 1):
            ws.cell(last, j).border = Border(bottom=thin)
        if t.note:
            ws.cell(last + 2, 1, f"{tr('note', lang)}. {t.note}")
        ws.column_dimensions["A"].width = 28
    if not wb.sheetnames:
        ws = wb.create_sheet("no tables")
        ws.cell(1, 1, "The report has no tables.")
    path = Path(path)
    wb.save(path)
    return path
