"""Render the report's tables and figures as a LaTeX appendix (``appendix.tex``).

Tables are ``longtable`` environments with booktabs rules: a bold "Table n" and the
italic title above, the header repeated on every page ("Table n (continued)"), numbers
right-aligned and formatted by :mod:`psychometrics.report.fmt` (statistical symbols in
``\\textit``, subscripts in ``\\textsubscript``), the note below.  Column widths are measured
(:mod:`psychometrics.report.layout`): a table that does not fit the text width at
``\\small`` is tried at ``\\footnotesize`` (the body size minus 2 pt, never smaller), then on
a landscape page (``pdflscape``); long text wraps in paragraph columns.  Nothing is scaled.
Figures are included from their PDF (vector) file, or the 300-dpi PNG when no PDF exists,
numbered and captioned as APA figures.  Figures are set where they stand (``float``'s
``[H]``), never floated: a float put at the top of a page that a ``longtable`` continues on is
not counted by longtable's page breaking, and the table ran off the page by up to half a page.
``needspace`` keeps a table's number and title with its first rows, and a section heading
with its first table or figure, on one page.

Compile twice (longtable aligns its pages from the widths of the previous run). English
reports compile with pdflatex.  A Persian report uses ``xepersian`` (xelatex) with
the bundled Vazirmatn font, copied next to the .tex file (``fonts/``) and loaded by
``Path=``, so no font has to be installed; left-to-right stretches (numbers, Latin symbols)
isolated by :func:`psychometrics.report.fmt.isolate` become ``\\LRE{...}`` so minus signs
stay on the left, as in the HTML and Word outputs.  No statistic is computed here.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from . import fmt
from .i18n import tr
from .layout import TableLayout, column_extent, fit_widths, layout
from .model import Figure, Report, Table

ASSETS = Path(__file__).resolve().parent / "assets"
FONT_FILES = ("Vazirmatn-Regular.ttf", "Vazirmatn-Bold.ttf", "Vazirmatn-OFL.txt")
PAGE = {"a4": (597.5, 845.0), "letter": (614.0, 794.0)}    # TeX points
MARGIN_PT = 72.27                                           # 1 in
SIZES = (("small", 10.0), ("footnotesize", 9.0))            # body 11 pt: never below 9 pt
TABCOLSEP = 4.0
MIN_TEXT_PT = 110.0             # item wording is not squeezed below this width (see _plan)

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
            "<": r"$<$", ">": r"$>$", "|": r"$|$", "\u2212": r"$-$", "\u2014": "---",
            "\u00b2": r"\textsuperscript{2}", "\u00b3": r"\textsuperscript{3}",
            "\u2264": r"$\le$", "\u2265": r"$\ge$", "\u2260": r"$\neq$", "\u2013": "--",
            "\u2192": r"$\rightarrow$", "\u2190": r"$\leftarrow$", "\u2194": r"$\leftrightarrow$",
            "\u221a": r"$\surd$", "\u00d7": r"$\times$", "\u00b1": r"$\pm$", "\u2009": r"\,",
            "\u00a0": "~", "\u2026": r"\ldots{}", "\u2019": "'", "\u2018": "`",
            "\u201c": "``", "\u201d": "''", "\u2022": r"$\bullet$"}
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "η": "eta",
          "θ": "theta", "λ": "lambda", "μ": "mu", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau",
          "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Δ": "Delta", "Σ": "Sigma",
          "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega"}
# Greek is upright in APA 7 (6.45): lower-case letters from upgreek (\upalpha ...), capitals
# are upright in math mode anyway
_SPECIAL.update({ch: ("$\\up%s$" if name.islower() else "$\\%s$") % name
                 for ch, name in _GREEK.items()})


# every character tex_escape replaces, with its replacement (one str.translate)
_TEX_TABLE = str.maketrans({**_SPECIAL, fmt.LRI: r"\lr{", fmt.FSI: r"\lr{", fmt.PDI: "}",
                            "\u2067": r"\rl{"})


def tex_escape(s: str) -> str:
    """``s`` as LaTeX text: special characters escaped, Greek and symbols in math mode and
    Unicode isolates (LRI ... PDI) as ``\\LRE{...}`` (left-to-right in a Persian document)."""
    return str(s).translate(_TEX_TABLE)


def _plain_isolates(s: str, rtl: bool) -> str:
    return s if rtl else fmt.strip_isolates(s)


def runs_tex(runs, rtl: bool) -> str:
    out = []
    for r in runs:
        t = tex_escape(_plain_isolates(r.text, rtl))
        if r.sub:
            t = r"\textsubscript{%s}" % t
        if r.italic:
            t = r"\textit{%s}" % t
        out.append(t)
    text = "".join(out)
    return _balance(text)


def _balance(text: str) -> str:
    """An isolate split across runs leaves braces unbalanced inside a command: close them."""
    depth = 0
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
    return text + "}" * depth if depth > 0 else text


def rich_tex(text: str, lang: str) -> str:
    return runs_tex(fmt.rich(text, lang), lang == "fa")


# ------------------------------------------------------------------------------------ tables
def _plan(lay: TableLayout, portrait: float, landscape: float):
    """(landscape?, size name, size, column widths in pt or None for natural widths): the
    first of portrait at \\small, portrait at \\footnotesize, landscape at \\small, landscape
    at \\footnotesize in which the table fits (text wrapping between words if needed); a
    table wider than that gets its minimum widths at \\footnotesize."""
    pad = 2 * TABCOLSEP
    # 3% slack: Greek and symbols are set in TeX's math fonts, a little wider than measured
    portrait, landscape = 0.97 * portrait, 0.97 * landscape
    for min_text in (MIN_TEXT_PT, 0.0):
        for land, avail in ((False, portrait), (True, landscape)):
            for name, size in SIZES:
                ext = [column_extent(lay, j, size) for j in range(lay.n_cols)]
                if sum(b for _, b in ext) + pad * lay.n_cols <= avail:
                    return land, name, size, None
                w = fit_widths(lay, avail, size, pad, min_text=min_text)
                if w is not None:
                    return land, name, size, [x - pad for x in w]
    name, size = SIZES[-1]
    ext = [column_extent(lay, j, size) for j in range(lay.n_cols)]
    return True, name, size, [a for a, _ in ext]


def _header_cell(lay: TableLayout, j: int, width: float | None, size: float, rtl: bool) -> str:
    """A header cell; broken into lines (at spaces) that fit ``width``."""
    from .layout import text_width
    text = lay.header[j]
    words = text.split(" ")
    limit = width if width is not None else column_extent(lay, j, size)[1]
    lines, cur = [], ""
    for w in words:
        cand = (cur + " " + w).strip()
        if cur and text_width(fmt.unmark(cand), size, lay.lang) > limit + 0.5:
            lines.append(cur)
            cur = w
        else:
            cur = cand
    if cur:
        lines.append(cur)
    cells = [rich_tex(ln, lay.lang) for ln in lines]
    align = "c" if lay.numeric[j] else ("r" if rtl else "l")
    if len(cells) == 1:
        return cells[0]
    return r"\begin{tabular}[b]{@{}%s@{}}%s\end{tabular}" % (align, r"\\".join(cells))


TABLE_KEEP_LINES = 5             # title lines + header + first rows kept with the number


def _table_need(lay: TableLayout) -> str:
    """The space a table's number, title, header and first (up to three) rows take, as a
    length expression for ``\\needspace``: they start a new page unless that much is left
    on this one."""
    return r"%d\baselineskip" % (TABLE_KEEP_LINES + min(len(lay.body), 3))


def _pdf_size(path: Path) -> tuple[float, float] | None:
    """(width, height) in points of a PDF's first ``/MediaBox``, or None (not a PDF, unreadable)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64_000)
    except OSError:
        return None
    m = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", head)
    if not m:
        return None
    x0, y0, x1, y1 = (float(v) for v in m.groups())
    return (x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def _figure_need(f: Figure, text_w: float, text_h: float) -> str:
    """The space a figure takes on the page (its caption and its drawing at the text width,
    at most 0.7 of the text height, as ``render_figure`` includes it), as a length
    expression for the ``\\needspace`` of the heading that comes before it; half the text
    height when the drawing's size cannot be read (a PNG)."""
    size = _pdf_size(f.file("pdf"))
    h = 0.5 * text_h if size is None else min(text_w * size[1] / size[0], 0.7 * text_h)
    return r"%.1fpt+4\baselineskip" % h


def render_table(t: Table, lang: str, text_width: float = 455.0,
                 landscape_width: float = 700.0, heading: str = "") -> str:
    """The table as a ``longtable`` (see the module docstring).  ``heading``: LaTeX of a
    section heading set just before the table's number, on the same page (inside the
    landscape page when the table needs one, so the heading is not left alone on a page)."""
    rtl = lang == "fa"
    lay = layout(t, lang)
    land, size_name, size, widths = _plan(lay, text_width, landscape_width)
    cols = []
    for j in range(lay.n_cols):
        if lay.numeric[j]:
            cols.append("r")
        elif widths is not None:
            ragged = r"\raggedright"  # bidi: ragged at the line end (flush right in RTL)
            cols.append(r">{%s\arraybackslash}p{%.1fpt}" % (ragged, widths[j]))
        else:
            cols.append("l")
    n = lay.n_cols
    header = " & ".join(_header_cell(lay, j, widths[j] if widths else None, size, rtl)
                        for j in range(n)) + r" \\"
    num = fmt.localise(str(t.number or ""), lang)
    label = f"{tr('table', lang)} {num}"
    start = r"\raggedright"  # bidi: ragged at the line end (flush right in RTL)
    lines = []
    if land:
        lines.append(r"\begin{landscape}")
    else:
        lines.append(r"\needspace{\dimexpr %s%s\relax}"
                     % (_table_need(lay), r"+3\baselineskip" if heading else ""))
    if heading:
        lines.append(heading)
    lines += [r"\begingroup\%s\setlength{\tabcolsep}{%gpt}\hyphenpenalty=10000\exhyphenpenalty=10000"
              % (size_name, TABCOLSEP),
              r"{%s\normalsize\textbf{%s}\par\textit{%s}\par}\nopagebreak\smallskip"
              % (start, tex_escape(label), rich_tex(t.title, lang)),
              r"\begin{longtable}{@{}%s@{}}" % "".join(cols),
              r"\toprule", header, r"\midrule", r"\endfirsthead",
              r"\multicolumn{%d}{@{}%s}{\textbf{%s} \textit{(%s)}}\\"
              % (n, "r" if rtl else "l", tex_escape(label), tex_escape(tr("continued", lang))),
              r"\toprule", header, r"\midrule", r"\endhead",
              r"\bottomrule", r"\endlastfoot"]
    for i, row in enumerate(lay.body):
        lines.append(" & ".join(
            (r"\textbf{%s}" if lay.is_bold(i, j) else "%s") % tex_escape(_plain_isolates(c, rtl))
            for j, c in enumerate(row)) + r" \\")
    lines.append(r"\end{longtable}")
    if t.note:
        lines.append(r"{%s\textit{%s.} %s\par}" % (
            start, tex_escape(tr("note", lang)), rich_tex(t.note, lang)))
    lines.append(r"\endgroup")
    if land:
        lines.append(r"\end{landscape}")
    lines.append(r"\label{tab:%s}\bigskip" % t.key.replace("_", "-"))
    return "\n".join(lines)


def render_figure(f: Figure, lang: str, base: Path | None) -> str:
    path = f.file("pdf")
    rel = Path(os.path.relpath(path, base)).as_posix() if base is not None else path.as_posix()
    num = fmt.localise(str(f.number or ""), lang)
    start = r"\raggedright"  # bidi: ragged at the line end (flush right in RTL)
    return "\n".join([
        r"\begin{figure}[H]",
        r"{%s\textbf{%s %s}\par\textit{%s}\par\smallskip}" % (
            start, tex_escape(tr("figure", lang)), num, rich_tex(f.caption, lang)),
        r"\centering\includegraphics[width=\linewidth,height=0.7\textheight,keepaspectratio]{%s}"
        % rel,
        r"\label{fig:%s}" % f.key.replace("_", "-"),
        r"\end{figure}"])


def render_latex(report: Report, path: str | Path | None = None, page_size: str | None = None) -> str:
    """Return the LaTeX appendix as a string; write it to ``path`` when given (a Persian
    report also gets the Vazirmatn font files in ``fonts/`` next to it).  ``page_size``:
    "a4" (default) or "letter"."""
    report.number()
    lang = report.language
    rtl = report.rtl
    size = (page_size or (report.meta.get("options") or {}).get("page_size") or "a4").lower()
    pw, ph = PAGE.get(size, PAGE["a4"])
    text_w, land_w = pw - 2 * MARGIN_PT, ph - 2 * MARGIN_PT
    text_h = ph - 2 * MARGIN_PT
    base = Path(path).resolve().parent if path is not None else None
    paper = "letterpaper" if size == "letter" else "a4paper"
    pre = [r"\documentclass[11pt]{article}",
           r"\usepackage[%s,margin=1in]{geometry}" % paper,
           r"\usepackage{booktabs,longtable,array,graphicx,pdflscape,upgreek,float,needspace}",
           r"\setlength{\LTpre}{0pt}\setlength{\LTpost}{2pt}\setlength{\LTleft}{0pt}",
           r"\setlength{\LTright}{0pt plus 1fill}"]
    if rtl:
        pre += [r"% compile with xelatex; the font files are in fonts/ next to this file",
                r"\usepackage{fontspec}",
                r"\usepackage{xepersian}",
                r"\settextfont[Path=fonts/, Extension=.ttf, BoldFont=Vazirmatn-Bold]{Vazirmatn-Regular}",
                r"\setlatintextfont[Path=fonts/, Extension=.ttf, BoldFont=Vazirmatn-Bold]{Vazirmatn-Regular}",
                r"\setlength{\LTleft}{0pt plus 1fill}\setlength{\LTright}{0pt}"]
    else:
        pre += [r"\usepackage[utf8]{inputenc}", r"\usepackage{textcomp}"]
    pre += [r"\setlength{\parindent}{0pt}"]
    start = r"\raggedright"  # bidi: ragged at the line end (flush right in RTL)
    # headings as paragraphs: xepersian's \section* does not break a long right-to-left title
    body = [r"\begin{document}", r"{%s\Large\bfseries %s\par}\bigskip" % (start, rich_tex(report.title, lang))]
    for section in report.sections:
        blocks = [b for b in section.blocks if isinstance(b, (Table, Figure))]
        if not blocks:
            continue
        heading = (r"{%s\large\bfseries %s\par}\nopagebreak\smallskip"
                   % (start, rich_tex(section.title, lang)))
        body.append(r"\par\medskip")
        first = blocks[0]
        if isinstance(first, Table):            # kept with the table's first rows
            body.append(render_table(first, lang, text_w, land_w, heading=heading))
            blocks = blocks[1:]
        else:                                   # kept with the figure
            body.append(r"\needspace{\dimexpr %s+3\baselineskip\relax}%s"
                        % (_figure_need(first, text_w, text_h), heading))
        for b in blocks:
            if isinstance(b, Table):
                body.append(render_table(b, lang, text_w, land_w))
            else:
                body.append(render_figure(b, lang, base))
        body.append(r"\bigskip")
    body.append(r"\end{document}")
    text = "\n".join(pre + body) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
        if rtl:
            fonts = Path(path).parent / "fonts"
            fonts.mkdir(exist_ok=True)
            for name in FONT_FILES:
                shutil.copy(ASSETS / name, fonts / name)
    return text


__all__ = ["render_latex", "render_table", "tex_escape"]
