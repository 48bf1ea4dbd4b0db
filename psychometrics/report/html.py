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
from .i18n import tr, warning_text
from .layout import layout
from .model import Code, Figure, Notice, Paragraph, Report, Table, WarningList

ASSETS = Path(__file__).resolve().parent / "assets"

CSS = """
body { font-family: %(font)s; max-width: 80rem; margin: 2rem auto; padding: 0 1rem;
       color: #1a1a1a; line-height: 1.5; }
p, ul, ol, pre, figure, .warnings, .notice, h1, h2, h3, nav { max-width: 60rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-bottom: 1px solid #bbb; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; }
div.tbl { margin: 1.2rem 0; max-width: 100%%; overflow-x: auto; }
div.tbl > p { max-width: none; }
table { border-collapse: collapse; margin: .4rem 0 .2rem 0; font-size: .9rem; }
p.tcap { margin: 0 0 .3rem 0; text-align: start; }
p.tcap .num { font-weight: bold; display: block; }
p.tcap .ttl { font-style: italic; }
thead th { border-top: 2px solid #000; border-bottom: 1px solid #000; padding: .2rem .5rem;
           font-weight: normal; vertical-align: bottom; text-align: center; }
thead th.txt { text-align: start; }
tbody td { padding: .15rem .5rem; text-align: end; white-space: nowrap; }
tbody td.txt, tbody th { text-align: start; font-weight: normal; padding: .15rem .5rem;
                         white-space: normal; }
tbody td.long { min-width: 16rem; }
tbody tr:last-child td, tbody tr:last-child th { border-bottom: 2px solid #000; }
p.note { font-size: .85rem; margin-top: .2rem; }
p.note .lead { font-style: italic; }
p.ref { padding-inline-start: 2em; text-indent: -2em; }
figure { margin: 1rem 0; } figure img { max-width: 100%%; height: auto; }
figcaption .num { font-weight: bold; display: block; } figcaption .ttl { font-style: italic; }
.warnings { background: #fff6e0; border-inline-start: 4px solid #e0a000; padding: .4rem 1rem; }
.notice { background: #eef2f7; border-inline-start: 4px solid #6a88b0; padding: .4rem 1rem; }
.notice.failed { background: #fdecec; border-color: #c03030; }
pre { background: #f4f4f4; padding: .6rem; overflow-x: auto; direction: ltr; text-align: left; }
nav ol { columns: 2; }
@page { size: A4; margin: 2cm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  nav { display: none; }
  div.tbl { overflow: visible; break-inside: auto; }
  table { font-size: 8pt; }
  table.wide { font-size: 7pt; }
  thead { display: table-header-group; }
  tr, figure, p.tcap { break-inside: avoid; }
  p.tcap, h2, h3 { break-after: avoid; }
  pre { white-space: pre-wrap; }
}
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


def runs_html(runs) -> str:
    """Styled runs (:class:`psychometrics.report.fmt.Run`) as HTML: <i> italics, <sub>."""
    out = []
    for r in runs:
        t = _esc(r.text)
        if r.sub:
            t = f"<sub>{t}</sub>"
        if r.italic:
            t = f"<i>{t}</i>"
        out.append(t)
    return "".join(out)


def rich_html(text: str, lang: str) -> str:
    return runs_html(fmt.rich(text, lang))


def render_table(t: Table, lang: str) -> str:
    lay = layout(t, lang)
    head = []
    for j in range(lay.n_cols):
        cls = "" if lay.numeric[j] else " class='txt'"
        head.append(f"<th scope='col'{cls}>{runs_html(lay.header_runs(j))}</th>")
    rows = []
    for i, cells in enumerate(lay.body):
        out = []
        for j, text in enumerate(cells):
            if j == 0 and t.show_index:
                out.append(f"<th scope='row'>{_esc(text)}</th>")
            elif lay.numeric[j]:
                cell = f"<strong>{_esc(text)}</strong>" if lay.is_bold(i, j) else _esc(text)
                out.append(f"<td>{cell}</td>")
            else:
                cls = "txt long" if len(text) > 60 else "txt"
                out.append(f"<td class='{cls}'>{_esc(text)}</td>")
        rows.append("<tr>" + "".join(out) + "</tr>")
    label = tr("table", lang)
    num = fmt.localise(str(t.number), lang) if t.number is not None else ""
    note = ""
    if t.note:
        note = (f"<p class='note'><span class='lead'>{_esc(tr('note', lang))}.</span> "
                f"{rich_html(t.note, lang)}</p>")
    # APA: number and title above the table, as a block as wide as the text (a <caption>
    # would wrap to the width of a narrow table); aria-labelledby ties it to the table
    tid = f"table-{_esc(t.key)}"
    wide = " class='wide'" if lay.n_cols > 10 else ""
    return (f"<div class='tbl'><p class='tcap' id='{tid}-cap'><span class='num'>{_esc(label)} {num}"
            f"</span><span class='ttl'>{rich_html(t.title, lang)}</span></p>"
            f"<table id='{tid}'{wide} aria-labelledby='{tid}-cap'>"
            f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}</div>")


def render_figure(f: Figure, lang: str) -> str:
    data = base64.b64encode(Path(f.path).read_bytes()).decode("ascii")
    num = fmt.localise(str(f.number), lang) if f.number is not None else ""
    note = (f"<p class='note'><span class='lead'>{_esc(tr('note', lang))}.</span> "
            f"{rich_html(f.note, lang)}</p>") if getattr(f, "note", "") else ""
    return (f"<figure id='figure-{_esc(f.key)}'><figcaption><span class='num'>"
            f"{_esc(tr('figure', lang))} {num}</span><span class='ttl'>{rich_html(f.caption, lang)}"
            f"</span></figcaption><img alt='{_esc(fmt.strip_isolates(fmt.unmark(f.caption)))}' "
            f"src='data:image/png;base64,{data}'>{note}</figure>")


def render_block(b, lang: str) -> str:
    if isinstance(b, Paragraph):
        if b.direction == "ltr":
            return (f"<p class='ref' dir='ltr'>{runs_html(fmt.fill_runs(b.template, b.values, 'en'))}"
                    "</p>")
        return f"<p>{runs_html(fmt.fill_runs(b.template, b.values, lang))}</p>"
    if isinstance(b, Table):
        return render_table(b, lang)
    if isinstance(b, Figure):
        return render_figure(b, lang)
    if isinstance(b, WarningList):
        if not b.items:
            return ""
        items = "".join(f"<li>{_esc(fmt.isolate(warning_text(w, lang), lang))}</li>" for w in b.items)
        return f"<div class='warnings'><strong>{_esc(tr('warnings', lang))}</strong><ul>{items}</ul></div>"
    if isinstance(b, Code):
        return f"<pre><code>{_esc(b.text)}</code></pre>"
    if isinstance(b, Notice):
        return f"<div class='notice {_esc(b.kind)}'>{_esc(fmt.isolate(b.text, lang))}</div>"
    raise TypeError(f"unknown block {type(b).__name__}")


def render_html(report: Report, path: str | Path | None = None) -> str:
    """Return the report as an HTML string; write it to ``path`` when given."""
    report.number()
    lang = report.language
    font = "'Vazirmatn', Tahoma, sans-serif" if report.rtl else "Georgia, 'Times New Roman', serif"
    css = (_font_face() + "\nol { list-style-type: persian; }\n" if report.rtl else "") \
        + CSS % {"font": font}
    toc = "".join(f"<li><a href='#sec-{_esc(s.key)}'>{rich_html(s.title, lang)}</a></li>"
                  for s in report.sections if s.level == 1)
    body = []
    for s in report.sections:
        h = "h2" if s.level == 1 else "h3"
        body.append(f"<section id='sec-{_esc(s.key)}'><{h}>{rich_html(s.title, lang)}</{h}>")
        body.extend(render_block(b, lang) for b in s.blocks)
        body.append("</section>")
    direction = "rtl" if report.rtl else "ltr"
    doc = (f"<!DOCTYPE html>\n<html lang='{_esc(lang)}' dir='{direction}'><head><meta charset='utf-8'>"
           f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
           f"<title>{_esc(fmt.strip_isolates(report.title))}</title><style>{css}</style></head><body>"
           f"<h1>{rich_html(report.title, lang)}</h1><nav><h2>{_esc(tr('contents', lang))}</h2><ol>{toc}</ol></nav>"
           + "\n".join(body) + "</body></html>\n")
    if path is not None:
        Path(path).write_text(doc, encoding="utf-8")
    return doc
