"""One layout model of a table for every renderer (HTML, Word, LaTeX, Excel).

:func:`layout` turns a :class:`~psychometrics.report.model.Table` into readable header
runs (column names of the code replaced by APA labels of the report language, symbols in
italics), body cells as formatted strings (APA numbers, yes/no for flags, isolated
left-to-right stretches in Persian) and, for the paged outputs, column widths measured from
the text with the metrics of a real font (:func:`fit_widths`), so that a column is never
narrower than its longest word and a table wider than the page is detected before it is
drawn.  Nothing here computes a statistic.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import fmt
from .i18n import CELL_TEXT_FA, HEADERS, tr
from .model import Table

ASSETS = Path(__file__).resolve().parent / "assets"
_FACTOR_COL = re.compile(r"^(?:MR|PA|ML|F|Factor)(\d+)$")
_PATH = re.compile(r"^\s*([\w.]+)\s*~\s*([\w.]+)\s*$")
_LEVEL = re.compile(r"^(?:lv_)?(configural|metric|scalar|strict)(?:\s*\((partial)\))?$")


# ------------------------------------------------------------------------------- readable text
def readable(text: str, lang: str) -> str:
    """A text cell (or row label) as a reader should see it: structural paths as arrows
    ("outcome ~ engagement" -> "engagement → outcome"), invariance levels and the analyses'
    fixed English phrases in the report language, psych's factor names (MR1) as "Factor 1"."""
    s = str(text)
    m = _PATH.match(s)
    if m:
        return f"{m.group(2)} \u2192 {m.group(1)}"
    m = _LEVEL.match(s)
    if m:
        out = tr("lv_" + m.group(1), lang)
        return f"{out} ({tr('partial', lang)})" if m.group(2) else out
    m = _FACTOR_COL.match(s)
    if m:
        return f"{tr('factor', lang)} {fmt.localise(m.group(1), lang)}"
    if s in ("True", "False"):
        return fmt.bool_word(s == "True", lang)
    s = s.replace("Raiche et al.", "Ra\u00eeche et al.")     # as in the reference list
    if lang == "fa":
        key = s.replace("Ra\u00eeche", "Raiche")
        if key in CELL_TEXT_FA:
            return CELL_TEXT_FA[key].replace("Raiche", "Ra\u00eeche")
    if lang == "fa" and s.startswith("not evaluated: "):    # a fit that is not a result
        reasons = s[len("not evaluated: "):].split("; ")
        return (CELL_TEXT_FA["not evaluated"] + ": "
                + "؛ ".join(CELL_TEXT_FA.get(r, r) for r in reasons))
    if ": " in s:   # "WAI-SR: total", "CSQ-8: lv_metric (partial)" and the like
        head, _, tail = s.rpartition(": ")
        new = readable(tail, lang)
        if new != tail:
            return f"{head}: {new}"
    return s


def header_text(t: Table, col, lang: str) -> str:
    """The header of column ``col`` as trusted rich text (``*x*`` italic, ``_{x}`` subscript)."""
    label = t.column_labels.get(col)
    for key in ((label, col) if label is not None else (col,)):
        if isinstance(key, str) and key in HEADERS:
            entry = HEADERS[key]
            return entry.get(lang) or entry["en"]
    text = str(label if label is not None else col)
    return readable(text, lang)


def index_header(t: Table, lang: str) -> str:
    return readable(t.index_label or "", lang)


# ----------------------------------------------------------------------------------- layout
@dataclass
class TableLayout:
    """What every renderer draws: header runs, body strings, which columns hold numbers."""
    table: Table
    lang: str
    header: list                      # list of header texts (trusted rich text)
    body: list                        # rows of cell strings (formatted, isolated in Persian)
    numeric: list                     # per column: True for a right-aligned number
    specs: list = field(default_factory=list)
    bold: list = field(default_factory=list)   # rows of per-cell flags (Table.bold)
    # column_extent's results by (column, size): the renderers try several sizes and pages
    _extents: dict = field(default_factory=dict, repr=False, compare=False)

    def is_bold(self, i: int, j: int) -> bool:
        """Whether body cell (row i, column j) is set in bold (e.g. a salient loading)."""
        return bool(self.bold) and bool(self.bold[i][j])

    @property
    def n_cols(self) -> int:
        return len(self.header)

    def header_runs(self, j: int) -> list:
        return fmt.rich(self.header[j], self.lang)

    def header_plain(self, j: int) -> str:
        return fmt.plain(self.header_runs(j))


def layout(t: Table, lang: str) -> TableLayout:
    """The table's cells as the reader sees them (see the module docstring).  Inside
    :func:`shared_layouts` a table's layout is made once for every renderer."""
    if _SHARED is not None:
        hit = _SHARED.get((id(t), lang))
        if hit is not None and hit[0] is t:
            return hit[1]
    lay = _make_layout(t, lang)
    if _SHARED is not None:
        _SHARED[(id(t), lang)] = (t, lay)       # the table is kept: its id stays its own
    return lay


def _make_layout(t: Table, lang: str) -> TableLayout:
    cols = list(t.data.columns)
    specs = [t.spec(c) for c in cols]
    header = ([index_header(t, lang)] if t.show_index else []) + [header_text(t, c, lang) for c in cols]
    numeric = ([False] if t.show_index else []) + [s != "s" for s in specs]
    # each row's values as DataFrame.iterrows gives them (the rows of ``DataFrame.values``,
    # so a row of numbers shares one dtype), without a Series per row
    values = t.data.values
    bold_cols = [t.bold[c].to_numpy() if t.bold is not None and c in t.bold.columns else None
                 for c in cols]
    body, bold = [], []
    for ri, (idx, row) in enumerate(zip(t.data.index, values)):
        bold.append(([False] if t.show_index else [])
                    + [bool(b[ri]) if b is not None else False for b in bold_cols])
        cells = [fmt.isolate(readable(idx, lang), lang)] if t.show_index else []
        for k, spec in enumerate(specs):
            v = row[k]
            if spec == "s" and isinstance(v, str):
                v = readable(v, lang)
            cells.append(fmt.cell_text(v, spec, lang))
        body.append(cells)
    return TableLayout(t, lang, header, body, numeric, ([None] if t.show_index else []) + specs,
                       bold if any(any(b) for b in bold) else [])


_SHARED: dict | None = None


@contextmanager
def shared_layouts():
    """Within this block :func:`layout` makes each table's layout once (per language) and
    hands the same :class:`TableLayout` to every renderer (the renderers only read it; the
    report must not change inside the block).  Nestable."""
    global _SHARED
    if _SHARED is not None:
        yield
        return
    _SHARED = {}
    try:
        yield
    finally:
        _SHARED = None


# ------------------------------------------------------------------------------- measuring
def _font_files(lang: str) -> list[Path]:
    """Fonts whose metrics bound a table's text: DejaVu Serif for English (wider than Times
    New Roman and Computer Modern); for Persian the bundled Vazirmatn and DejaVu Sans, which
    LibreOffice uses in its place when Vazirmatn is not installed."""
    out = []
    try:
        import matplotlib
        ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    except Exception:   # pragma: no cover - matplotlib is a dependency
        ttf = None
    if lang == "fa":
        out.append(ASSETS / "Vazirmatn-Regular.ttf")
        if ttf is not None and (ttf / "DejaVuSans.ttf").exists():
            out.append(ttf / "DejaVuSans.ttf")
    elif ttf is not None and (ttf / "DejaVuSerif.ttf").exists():
        out.append(ttf / "DejaVuSerif.ttf")
    return out


@lru_cache(maxsize=4)
def _fonts(lang: str) -> tuple:
    from PIL import ImageFont
    return tuple(ImageFont.truetype(str(f), 100) for f in _font_files(lang))


def text_width(text: str, size: float, lang: str = "en") -> float:
    """Width in points of ``text`` set at ``size`` points: the widest of the fonts of
    :func:`_font_files`, so that a column measured with it is wide enough in Word,
    LibreOffice and LaTeX."""
    unit = _unit_width(text, lang)
    if unit is None:
        return 0.6 * size * len(fmt.strip_isolates(text))
    return unit * size


@lru_cache(maxsize=20000)
def _unit_width(text: str, lang: str) -> float | None:
    """The widest of the fonts' widths of ``text`` at 100 pt, divided by 100 (what
    :func:`text_width` multiplies by the size: the same for every size); None without fonts."""
    fonts = _fonts(lang)
    if not fonts:
        return None
    text = fmt.strip_isolates(text)
    return max(f.getlength(text) for f in fonts) / 100.0


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"\s+", fmt.strip_isolates(text)) if w]


def column_extent(lay: TableLayout, j: int, size: float) -> tuple[float, float]:
    """(minimum, natural) width in points of column ``j`` (without padding): the minimum is
    its longest word (header and text cells may wrap between words; numbers never wrap), the
    natural width its longest line."""
    key = (j, size)
    hit = lay._extents.get(key)
    if hit is None:
        hit = lay._extents[key] = _column_extent(lay, j, size)
    return hit


def _column_extent(lay: TableLayout, j: int, size: float) -> tuple[float, float]:
    lang = lay.lang
    head = fmt.unmark(lay.header[j])
    words = _words(head)
    lo = max((text_width(w, size, lang) for w in words), default=0.0)
    hi = text_width(head, size, lang)
    for row in lay.body:
        cell = row[j]
        w = text_width(cell, size, lang)
        hi = max(hi, w)
        if lay.numeric[j]:
            lo = max(lo, w)
        else:
            lo = max(lo, max((text_width(x, size, lang) for x in _words(cell)), default=0.0))
    # long text (item wording) may wrap: its natural width is capped, not its longest word
    return lo, max(lo, hi)


def fit_widths(lay: TableLayout, available: float, size: float, padding: float,
               max_text: float | None = None, min_text: float = 0.0) -> list[float] | None:
    """Column widths in points (padding included) that fit ``available`` points, or None
    when even the minimum widths do not fit.  Columns get their natural width when the table
    fits; otherwise the room above the minima is shared in proportion to what each column
    would need for its natural width.  ``max_text`` caps the natural width of text columns
    (long item wording wraps instead of widening the table); ``min_text`` is the narrowest a
    text column may become (or its natural width, if smaller), so that item wording is not
    squeezed into a column a word wide."""
    ext = [column_extent(lay, j, size) for j in range(lay.n_cols)]
    lo = [(a if lay.numeric[j] else max(a, min(b, min_text))) + padding
          for j, (a, b) in enumerate(ext)]
    hi = []
    for j, (a, b) in enumerate(ext):
        if max_text is not None and not lay.numeric[j]:
            b = max(a, min(b, max_text))
        hi.append(max(b + padding, lo[j]))
    if sum(hi) <= available:
        return hi
    if sum(lo) > available:
        return None
    # the room above the minima is shared in proportion to what each column still wants
    extra = available - sum(lo)
    want = [h - low for h, low in zip(hi, lo)]
    tot = sum(want) or 1.0
    return [low + extra * wj / tot for low, wj in zip(lo, want)]
