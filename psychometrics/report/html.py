"""Render a :class:`~psychometrics.report.model.Report` as one self-contained HTML page.

Figures are embedded as base64 PNG, the style sheet is inline, and a Persian
report (``language: fa``) is right-to-left with the bundled Vazirmatn font
embedded as a base64 ``@font-face``.  No statistic is computed here.
"""
from __future__ import annotations

import base64
import html as _html
from pathlib import Path

from . import fmt
from .i18n import tr
from .model import Code, Figure, Notice, Paragraph, Report, Table, WarningList

ASSETS = Path(__file__).resolve().parent / "assets"

CSS = """
body { font-family: %(font)s; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1a1a1a; line-height: 1.5; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-bottom: 1px solid #bbb; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; }
table { border-collapse: collapse; margin: .4rem 0 .2rem 0; font-size: .9rem; }
div.tbl { margin: 1.2rem 0; overflow-x: auto; }
p.tcap { margin: 0 0 .3rem 0; }
p.tcap .num { font-weight: bold; display: block; }
p.tcap .ttl { font-style: italic; }
thead th { border-top: 2px solid #000; border-bottom: 1px solid #000; padding: .2rem .6rem;
           font-weight: normal; }
tbody td { padding: .15rem .6rem; text-align: end; white-space: nowrap; }
tbody td.txt, tbody th { text-align: start; font-weight: normal; padding: .15rem .6rem; }
tbody th { white-space: nowrap; }
tbody tr:last-child td, tbody tr:last-child th { border-bottom: 2px solid #000; }
p.note { font-size: .85rem; margin-top: .2rem; }
p.note em { font-style: italic; }
figure { margin: 1rem 0; } figure img { max-width: 100%%; }
figcaption .num { font-weight: bold; }
.warnings { background: #fff6e0; border-inline-start: 4px solid #e0a000; padding: .4rem 1rem; }
.notice { background: #eef2f7; border-inline-start: 4px solid #6a88b0; padding: .4rem 1rem; }
.notice.failed { background: #fdecec; border-color: #c03030; }
pre { background: #f4f4f4; padding: .6rem; overflow-x: auto; direction: ltr; text-align: left; }
nav ol { columns: 2; }
"""


def _font_face() -> str:
    out = []
    for weight, name in (("normal", "Vazirmatn-Regular.ttf"), ("bold", "Vazirmatn-Bold.ttf")):
        data = base64.b64encode((ASSETS / name).read_bytes()).decode("ascii")
        out.append("@font-face { font-family: 'Vazirmatn'; font-weight: %s; "
                   "src: url(data:font/ttf;base64,%s) format('truetype'); }" % (weight, data))
    return "\n".join(out)


def _esc(s) -> str:
    return _html.escape(str(s))


def render_table(t: Table, lang: str) -> str:
    rows = []
    head = []
    if t.show_index:
        head.append(f"<th scope='col'>{_esc(t.index_label or '')}</th>")
    head += [f"<th scope='col'>{_esc(t.header(c))}</th>" for c in t.data.columns]
    specs = {c: t.spec(c) for c in t.data.columns}
    for idx, row in t.data.iterrows():
        cells = []
        if t.show_index:
            cells.append(f"<th scope='row'>{_esc(idx)}</th>")
        for c in t.data.columns:
            spec = specs[c]
            text = _esc(fmt.fmt_number(row[c], spec, lang))
            if spec == "s":
                cells.append(f"<td class='txt'>{text}</td>")
            elif lang == "fa":   # keep minus signs and "<" on the left of the number
                cells.append(f"<td><span dir='ltr'>{text}</span></td>")
            else:
                cells.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    label = tr("table", lang)
    num = fmt.localise(str(t.number), lang) if t.number is not None else ""
    note = ""
    if t.note:
        note = f"<p class='note'><em>{_esc(tr('note', lang))}.</em> {_esc(t.note)}</p>"
    # APA: number and title above the table, as a block as wide as the text (a <caption>
    # would wrap to the width of a narrow table); aria-labelledby ties it to the table
    tid = f"table-{_esc(t.key)}"
    return (f"<div class='tbl'><p class='tcap' id='{tid}-cap'><span class='num'>{_esc(label)} {num}"
            f"</span><span class='ttl'>{_esc(t.title)}</span></p>"
            f"<table id='{tid}' aria-labelledby='{tid}-cap'>"
            f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}</div>")


def render_figure(f: Figure, lang: str) -> str:
    data = base64.b64encode(Path(f.path).read_bytes()).decode("ascii")
    num = fmt.localise(str(f.number), lang) if f.number is not None else ""
    return (f"<figure id='figure-{_esc(f.key)}'><img alt='{_esc(f.caption)}' "
            f"src='data:image/png;base64,{data}'><figcaption><span class='num'>"
            f"{_esc(tr('figure', lang))} {num}.</span> {_esc(f.caption)}</figcaption></figure>")


def render_block(b, lang: str) -> str:
    if isinstance(b, Paragraph):
        return f"<p>{_esc(fmt.fill(b.template, b.values, lang))}</p>"
    if isinstance(b, Table):
        return render_table(b, lang)
    if isinstance(b, Figure):
        return render_figure(b, lang)
    if isinstance(b, WarningList):
        if not b.items:
            return ""
        items = "".join(f"<li>{_esc(w)}</li>" for w in b.items)
        return f"<div class='warnings'><strong>{_esc(tr('warnings', lang))}</strong><ul>{items}</ul></div>"
    if isinstance(b, Code):
        return f"<pre><code>{_esc(b.text)}</code></pre>"
    if isinstance(b, Notice):
        return f"<div class='notice {_esc(b.kind)}'>{_esc(b.text)}</div>"
    raise TypeError(f"unknown block {type(b).__name__}")


def render_html(report: Report, path: str | Path | None = None) -> str:
    """Return the report as an HTML string; write it to ``path`` when given."""
    report.number()
    lang = report.language
    font = "'Vazirmatn', Tahoma, sans-serif" if report.rtl else "Georgia, 'Times New Roman', serif"
    css = (_font_face() + "\nol { list-style-type: persian; }\n" if report.rtl else "") \
        + CSS % {"font": font}
    toc = "".join(f"<li><a href='#sec-{_esc(s.key)}'>{_esc(s.title)}</a></li>"
                  for s in report.sections if s.level == 1)
    body = []
    for s in report.sections:
        h = "h2" if s.level == 1 else "h3"
        body.append(f"<section id='sec-{_esc(s.key)}'><{h}>{_esc(s.title)}</{h}>")
        body.extend(render_block(b, lang) for b in s.blocks)
        body.append("</section>")
    direction = "rtl" if report.rtl else "ltr"
    doc = (f"<!DOCTYPE html>\n<html lang='{_esc(lang)}' dir='{direction}'><head><meta charset='utf-8'>"
           f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
           f"<title>{_esc(report.title)}</title><style>{css}</style></head><body>"
           f"<h1>{_esc(report.title)}</h1><nav><h2>{_esc(tr('contents', lang))}</h2><ol>{toc}</ol></nav>"
           + "\n".join(body) + "</body></html>\n")
    if path is not None:
        Path(path).write_text(doc, encoding="utf-8")
    return doc
