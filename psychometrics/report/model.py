"""The report's document model: Report -> Section -> blocks.

The pipeline (``psychometrics.report.pipeline``) runs the analyses and builds
this model; the renderers (html, docx, latex, xlsx, json) only format it.
Blocks hold numbers, never formatted strings of numbers:

* :class:`Paragraph` -- a text template with ``{name:spec}`` placeholders and
  the values that fill them at render time (``spec`` is a number format of
  :mod:`psychometrics.report.fmt`: ``r`` bounded statistic without a leading
  zero, ``f2``/``f3`` fixed decimals, ``p`` p-value, ``d`` integer, ``s`` text).
* :class:`Table` -- a numeric DataFrame plus a format per column, a title and
  a note; tables are numbered in document order by :meth:`Report.number`.
* :class:`Figure` -- a PNG file (300 dpi; PDF/SVG next to it) plus a caption; numbered
  separately from tables.
* :class:`WarningList` -- messages (dropped cases, recoded cells, Heywood
  cases, non-convergence) shown verbatim.
* :class:`Code` -- preformatted text (lavaan model syntax).
* :class:`Notice` -- a plain statement that an analysis is missing or failed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd


@dataclass
class Paragraph:
    template: str
    values: dict = field(default_factory=dict)
    direction: str | None = None    # "ltr" for a left-to-right paragraph in a Persian report


@dataclass
class Table:
    key: str
    title: str
    data: pd.DataFrame
    formats: dict = field(default_factory=dict)   # column -> spec; default by dtype
    note: str = ""
    index_label: str | None = None                # header of the index column; None hides index
    show_index: bool = True
    column_labels: dict = field(default_factory=dict)  # column -> header text
    number: int | None = None
    bold: pd.DataFrame | None = None   # optional boolean mask (same shape): cells set in bold

    def is_bold(self, row: int, col) -> bool:
        """Whether cell (row position, column) is to be set in bold (e.g. salient loadings)."""
        if self.bold is None or col not in self.bold.columns:
            return False
        return bool(self.bold[col].iat[row])

    def header(self, col) -> str:
        return str(self.column_labels.get(col, col))

    def spec(self, col) -> str:
        if col in self.formats:
            return self.formats[col]
        s = self.data[col]
        if pd.api.types.is_bool_dtype(s):
            return "s"
        if pd.api.types.is_integer_dtype(s):
            return "d"
        if pd.api.types.is_numeric_dtype(s):
            return "f2"
        return "s"


@dataclass
class Figure:
    """A figure: ``path`` is its PNG (300 dpi); the same drawing may exist as vector files
    next to it (``<name>.pdf``, ``<name>.svg``), see :meth:`file`."""
    key: str
    path: Path
    caption: str
    number: int | None = None
    note: str = ""

    def file(self, ext: str) -> Path:
        """The figure's file of type ``ext`` ("png", "pdf", "svg") when it exists, else the PNG."""
        p = Path(self.path).with_suffix("." + ext)
        return p if p.exists() else Path(self.path)


@dataclass
class WarningList:
    items: list = field(default_factory=list)


@dataclass
class Code:
    text: str
    language: str = "lavaan"


@dataclass
class Notice:
    text: str
    kind: str = "missing"   # "missing" (analysis not available) or "failed"


Block = Paragraph | Table | Figure | WarningList | Code | Notice


@dataclass
class Section:
    key: str
    title: str
    blocks: list = field(default_factory=list)
    level: int = 1

    def add(self, block) -> Any:
        self.blocks.append(block)
        return block


@dataclass
class Report:
    title: str
    language: str = "en"
    sections: list = field(default_factory=list)
    warnings: list = field(default_factory=list)     # every warning of the run, for the summary
    meta: dict = field(default_factory=dict)

    @property
    def rtl(self) -> bool:
        return self.language == "fa"

    def add(self, section: Section) -> Section:
        self.sections.append(section)
        return section

    def blocks(self) -> Iterator[tuple[Section, Any]]:
        for s in self.sections:
            for b in s.blocks:
                yield s, b

    def tables(self) -> list[Table]:
        return [b for _, b in self.blocks() if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for _, b in self.blocks() if isinstance(b, Figure)]

    def number(self) -> "Report":
        """Number tables and figures in document order (1, 2, ...)."""
        for i, t in enumerate(self.tables(), start=1):
            t.number = i
        for i, f in enumerate(self.figures(), start=1):
            f.number = i
        return self

    def table(self, key: str) -> Table:
        for t in self.tables():
            if t.key == key:
                return t
        raise KeyError(key)
