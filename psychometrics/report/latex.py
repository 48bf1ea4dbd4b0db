"""Render the report's tables as a LaTeX appendix (``appendix.tex``, booktabs).

One ``table`` environment per table: a heading (bold ``Table n``, italic title), a tabular
with ``\\toprule``/``\\midrule``/``\\bottomrule`` and numbers right-aligned,
and the note in a ``threeparttable``-free minipage-like paragraph.  English
reports compile with pdflatex; a Persian report uses ``xepersian`` and the
Vazirmatn font (xelatex).  No statistic is computed here.
"""
from __future__ import annotations

from pathlib import Path

from .docx import table_cells
from .fmt import localise
from .i18n import tr
from .model import Report, Table

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
            "<": r"\textless{}", ">": r"\textgreater{}", "\u2212": r"$-$", "\u2014": "---",
            "\u0394": r"$\Delta$", "\u03c7": r"$\chi$", "\u00b2": r"\textsuperscript{2}",
            "\u03c9": r"$\omega$", "\u03b1": r"$\alpha$", "\u2264": r"$\le$", "\u2265": r"$\ge$",
            "\u03bb": r"$\lambda$", "\u2013": "--", "\u2066": "", "\u2069": ""}


_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "η": "eta",
          "θ": "theta", "λ": "lambda", "μ": "mu", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau",
          "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "Δ": "Delta", "Σ": "Sigma",
          "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega"}
_SPECIAL.update({ch: "$\\%s$" % name for ch, name in _GREEK.items()})
_SPECIAL.update({"\u221a": r"$\surd$", "\u00d7": r"$\times$", "\u2009": " ", "\u00a0": "~",
                 "\u2026": r"\ldots{}", "\u00b3": r"\textsuperscript{3}"})


def tex_escape(s: str) -> str:
    return "".join(_SPECIAL.get(ch, ch) for ch in str(s))


def render_table(t: Table, lang: str) -> str:
    cells = table_cells(t, lang)
    specs = (["s"] if t.show_index else []) + [t.spec(c) for c in t.data.columns]
    widths = [max(len(str(row[j])) for row in cells) for j in range(len(specs))]
    # long text (item wording) wraps in a paragraph column; numbers are right-aligned
    cols = "".join(("p{5cm}" if w > 40 else "l") if s == "s" else "r"
                   for s, w in zip(specs, widths))
    wide = len(specs) > 8
    lines = [r"\begin{table}[htbp]", r"\centering", r"\small",
             r"{\raggedright\textbf{%s %s}\par\textit{%s}\par\smallskip}" % (
                 tr("table", lang), localise(str(t.number or ""), lang), tex_escape(t.title)),
             r"\label{tab:%s}" % t.key.replace("_", "-"),
             (r"\resizebox{\textwidth}{!}{" if wide else "") + r"\begin{tabular}{%s}" % cols,
             r"\toprule",
             " & ".join(tex_escape(c) for c in cells[0]) + r" \\", r"\midrule"]
    for row in cells[1:]:
        lines.append(" & ".join(tex_escape(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}" + ("}" if wide else "")]
    if t.note:
        lines.append(r"\par\smallskip\parbox{\linewidth}{\footnotesize\textit{%s.} %s}"
                     % (tr("note", lang), tex_escape(t.note)))
    lines.append(r"\end{table}")
    return "\n".join(lines)


def render_latex(report: Report, path: str | Path | None = None) -> str:
    """Return the LaTeX appendix as a string; write it to ``path`` when given."""
    report.number()
    lang = report.language
    pre = [r"\documentclass[11pt]{article}", r"\usepackage{booktabs}", r"\usepackage{graphicx}",
           r"\usepackage[margin=2cm]{geometry}"]
    if report.rtl:
        pre += [r"\usepackage{xepersian}", r"\settextfont{Vazirmatn}",
                r"% compile with xelatex; the font is in psychometrics/report/assets"]
    else:
        pre += [r"\usepackage[T1]{fontenc}", r"\usepackage[utf8]{inputenc}"]
    body = [r"\begin{document}", r"\section*{%s}" % tex_escape(report.title)]
    for section in report.sections:
        tables = [b for b in section.blocks if isinstance(b, Table)]
        if not tables:
            continue
        body.append(r"\subsection*{%s}" % tex_escape(section.title))
        body.extend(render_table(t, lang) for t in tables)
        body.append(r"\clearpage")
    body.append(r"\end{document}")
    text = "\n".join(pre + body) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
