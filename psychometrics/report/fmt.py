"""APA 7 formatting for every renderer (HTML, Word, LaTeX, Excel), in English or Persian.

All rules about how a number or a statistical symbol looks live here, so that
report.html, appendix.docx, appendix.tex and tables.xlsx agree.

Number formats (``spec``) used by tables and by ``{name:spec}`` placeholders of
paragraph templates:

======  =================================================================
``r``   statistic bounded by 1 (r, p, alpha, omega, CFI, TLI, RMSEA, SRMR,
        standardised loadings): 2 decimals, no leading zero (``.85``,
        ``−.12``); ``r3`` gives 3 decimals
``f1``  fixed decimals (``f0`` ... ``f4``), leading zero kept
``p``   p-value for a table cell: ``.854``, ``< .001`` (APA 7, 6.36)
``pe``  p-value in running text, with its relation: ``= .854``, ``< .001``;
        a template writes ``p {p:pe}`` and gets "p = .854" / "p < .001"
``d``   integer
``pct`` percentage with one decimal (``3.1%``)
``s``   text as is (``True``/``False`` become words)
======  =================================================================

Missing values (None, NaN) print as an em dash; the minus sign is U+2212.  With
``lang="fa"`` digits become Persian digits, the decimal point the Persian
decimal separator and ``%`` the Persian percent sign (never inside names such as
``wai_4``: only formatted numbers are localised).

Rich text.  Templates, column headers and notes are *trusted* text and may use
two marks: ``*x*`` for italics and ``_{x}`` for a subscript.  Besides, APA's
statistical symbols written in Latin letters (*p*, *n*, *N*, *M*, *SD*, *SE*,
*z*, *d*, *k*, *B*, *r*, *df*, ...) are set in italics when they stand alone
or before ``=``/``<``/``>``; Greek letters stay upright (APA 7, 6.45).
:func:`fill_runs` and :func:`rich` return a list of :class:`Run` (text, italic,
subscript) that each renderer turns into ``<i>``/``<sub>``, Word runs or
``\\textit``/``\\textsubscript``.

Bidirectional text.  In a Persian (right-to-left) report every stretch of
left-to-right material -- Latin symbols with their numbers ("χ²(270) =
245.57"), numbers with a minus sign or "<" -- is wrapped in the Unicode
isolates LRI ... PDI (U+2066, U+2069; Unicode Standard Annex #9), so it is
laid out as one left-to-right unit and nothing drifts across the sentence.
HTML and Word keep these characters; LaTeX turns them into ``\\lr{...}``.
"""
from __future__ import annotations

import math
import re
import string
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

PERSIAN_DIGITS = str.maketrans("0123456789.%", "۰۱۲۳۴۵۶۷۸۹٫٪")
DASH = "\u2014"
MINUS = "\u2212"
LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"
ISOLATES = (LRI, FSI, PDI, "\u2067")

BOOL_WORDS = {"en": ("yes", "no"), "fa": ("بله", "خیر")}

#: symbols set in italics (APA 7, Table 6.5); Greek letters are not italicised
SYMBOLS = frozenset({"p", "n", "N", "M", "SD", "SE", "Mdn", "z", "d", "k", "B", "r", "t", "F", "df"})


class Run(NamedTuple):
    """A piece of rich text: its characters, italic or not, subscript or not."""
    text: str
    italic: bool = False
    sub: bool = False


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if v.__class__.__name__ == "NAType":
        return True
    try:
        return isinstance(v, (float, np.floating)) and not math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def localise(text: str, lang: str = "en") -> str:
    """Turn ASCII digits of an already formatted number into the language's digits."""
    if lang == "fa":
        return text.translate(PERSIAN_DIGITS)
    return text


def bool_word(value: bool, lang: str = "en") -> str:
    yes, no = BOOL_WORDS.get(lang, BOOL_WORDS["en"])
    return yes if value else no


def fmt_number(value: Any, spec: str = "f2", lang: str = "en") -> str:
    """Format one value according to ``spec`` (see the module docstring)."""
    if _is_missing(value):
        return DASH
    if isinstance(value, (bool, np.bool_)):
        return bool_word(bool(value), lang)
    if spec == "s":
        s = str(value)
        if s in ("True", "False"):
            return bool_word(s == "True", lang)
        return s
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if spec == "d":
        out = f"{int(round(v)):d}"
    elif spec.startswith("r"):
        dec = int(spec[1:] or 2)
        out = f"{v:.{dec}f}"
        if out.startswith("0."):
            out = out[1:]
        elif out.startswith("-0."):
            out = "-" + out[2:]
        if out == "-." + "0" * dec:
            out = out[1:]
    elif spec in ("p", "pe"):
        if v < 0.001:
            out = "< .001"
        else:
            out = f"{v:.3f}"
            if out.startswith("0."):
                out = out[1:]
            if spec == "pe":
                out = "= " + out
    elif spec == "pct":
        out = f"{100 * v:.1f}%"
    elif spec.startswith("f"):
        dec = int(spec[1:] or 2)
        out = f"{v:.{dec}f}"
        if out.startswith("-") and float(out) == 0:
            out = out[1:]
    else:
        raise ValueError(f"unknown number format {spec!r}")
    out = out.replace("-", MINUS)
    return localise(out, lang)


# ------------------------------------------------------------------------------------ bidi
_LTR_START = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f0-9\u06f0-\u06f9\u0370-\u03ff\u00b2\u00b3\u221a<>\u2264\u2265\u2212\u00b1"
_LTR_BODY = _LTR_START + " =+\u00d7\\-\u2013\u2014\u066b\u066a%.,;/'\u2019&_()\\[\\]|@\u00a0\u2009*"
# a colon joins only without a space after it ("psych::VSS"); "x: y" in Persian prose separates
_LTR_RUN = re.compile(f"(?:[{_LTR_START}]|[.\u066b](?=[0-9\u06f0-\u06f9]))(?:[{_LTR_BODY}]|:(?!\\s))*")
# trailing characters left out of a left-to-right stretch: punctuation, and a relation sign
# followed by Persian words ("d = تفاوت ...": the sign stays between the two, read right to left)
_TRIM = " .,:;-\u2013\u2014*\u00a0\u2009=<>\u2264\u2265\u2260"


def _balanced_end(s: str) -> int:
    """Length of the longest prefix of ``s`` whose brackets do not close what they did not open
    and that leaves no bracket open."""
    stack: list[int] = []
    pairs = {")": "(", "]": "["}
    for i, ch in enumerate(s):
        if ch in "([":
            stack.append(i)
        elif ch in pairs:
            if not stack or s[stack[-1]] != pairs[ch]:
                return stack[0] if stack else i
            stack.pop()
    return stack[0] if stack else len(s)


def ltr_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every left-to-right stretch of ``text`` (Latin letters, digits, Greek,
    symbols and the spaces and operators between them) that a right-to-left paragraph
    must keep together."""
    spans = []
    for m in _LTR_RUN.finditer(text):
        a, b = m.start(), m.end()
        while True:
            seg = text[a:b]
            b = a + len(seg.rstrip(_TRIM))
            b = a + _balanced_end(text[a:b])
            if b == a + len(text[a:b].rstrip(_TRIM)):
                break
        if b > a:
            spans.append((a, b))
    return spans


def isolate(text: str, lang: str = "fa") -> str:
    """``text`` with every left-to-right stretch wrapped in LRI ... PDI (Persian only)."""
    if lang != "fa" or not text:
        return text
    out, last = [], 0
    for a, b in ltr_spans(text):
        out += [text[last:a], LRI, text[a:b], PDI]
        last = b
    out.append(text[last:])
    return "".join(out)


_NO_ISOLATES = str.maketrans(dict.fromkeys(ISOLATES))


def strip_isolates(text: str) -> str:
    """``text`` without the bidi isolate characters (LRI, RLI, FSI, PDI)."""
    return text.translate(_NO_ISOLATES)


def has_rtl(text: str) -> bool:
    return any("\u0590" <= ch <= "\u08ff" or "\ufb50" <= ch <= "\ufeff" for ch in str(text))


# ------------------------------------------------------------------------------- rich text
_MARK = re.compile(r"\*([^*\n]+)\*|_\{([^}]*)\}")
_SYM = "|".join(sorted((re.escape(s) for s in SYMBOLS), key=len, reverse=True))
_AUTO = re.compile(rf"(?<![\w.\-\u2212/])({_SYM})(?=\s*(?:[=<>\u2264\u2265\u2260]|$))")


def _markup(text: str, auto: bool = True, at_end: bool = False) -> list[Run]:
    """Split trusted text into runs: ``*x*`` italic, ``_{x}`` subscript, and (``auto``) a
    statistical symbol before a relation sign italic.  ``at_end``: the text is followed by a
    formatted relation (``p {p:pe}``), so a symbol at its end is italic too."""
    runs: list[Run] = []
    pos = 0
    for m in _MARK.finditer(text):
        runs += _auto(text[pos:m.start()], auto, False)
        if m.group(1) is not None:
            runs.append(Run(m.group(1), italic=True))
        else:
            runs.append(Run(m.group(2), sub=True))
        pos = m.end()
    runs += _auto(text[pos:], auto, at_end)
    return runs


def _auto(text: str, auto: bool, at_end: bool) -> list[Run]:
    if not text:
        return []
    if not auto:
        return [Run(text)]
    if text.strip() in SYMBOLS:
        return [Run(text, italic=True)]
    out, pos = [], 0
    for m in _AUTO.finditer(text):
        if m.end() == len(text.rstrip()) and not at_end and not re.match(r"\s*[=<>≤≥≠]",
                                                                          text[m.end():]):
            continue
        out.append(Run(text[pos:m.start()]))
        out.append(Run(m.group(1), italic=True))
        pos = m.end()
    out.append(Run(text[pos:]))
    return [r for r in out if r.text]


def merge(runs: list[Run]) -> list[Run]:
    out: list[Run] = []
    for r in runs:
        if not r.text:
            continue
        if out and out[-1].italic == r.italic and out[-1].sub == r.sub:
            out[-1] = Run(out[-1].text + r.text, r.italic, r.sub)
        else:
            out.append(r)
    return out


def _isolate_runs(runs: list[Run], lang: str) -> list[Run]:
    """Insert bidi isolates into ``runs`` (right-to-left languages), keeping the styles."""
    if lang != "fa":
        return merge(runs)
    text = "".join(r.text for r in runs)
    style = [(r.italic, r.sub) for r in runs for _ in r.text]
    inserts: dict[int, str] = {}
    for a, b in ltr_spans(text):
        inserts[a] = inserts.get(a, "") + LRI
        inserts[b] = PDI + inserts.get(b, "")
    out: list[Run] = []
    for i, ch in enumerate(text):
        if i in inserts:
            out.append(Run(inserts[i]))
        out.append(Run(ch, *style[i]))
    if len(text) in inserts:
        out.append(Run(inserts[len(text)]))
    return merge(out)


def rich(text: str, lang: str = "en", markup: bool = True) -> list[Run]:
    """Trusted text (a header, a note, a title) as styled runs, isolated for Persian."""
    text = "" if text is None else str(text)
    return list(_rich(text, lang, markup))


@lru_cache(maxsize=4096)
def _rich(text: str, lang: str, markup: bool) -> tuple:
    # the same headers, titles and notes are set by every renderer: made once (Runs are
    # immutable; rich() hands out a new list)
    runs = _markup(text) if markup else [Run(text)]
    return tuple(_isolate_runs(runs, lang))


def plain(runs: list[Run]) -> str:
    return "".join(r.text for r in runs)


def unmark(text: str) -> str:
    """Trusted text without its ``*x*`` / ``_{x}`` marks (for plain-text outputs)."""
    return _MARK.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), str(text))


# ------------------------------------------------------------------------------- templates
_PLURAL = re.compile(r"\{(\w+)\|([^|{}]*)\|([^{}]*)\}")


def plurals(template: str, values: dict) -> str:
    """Resolve ``{n|factor|factors}`` (singular when ``values[n] == 1``)."""
    def pick(m):
        v = values.get(m.group(1))
        try:
            one = v is not None and float(v) == 1
        except (TypeError, ValueError):
            one = False
        return m.group(2) if one else m.group(3)
    return _PLURAL.sub(pick, template)


def fill_runs(template: str, values: dict, lang: str = "en") -> list[Run]:
    """Fill a paragraph template (``{name:spec}`` placeholders; numbers formatted by
    ``spec``; ``{n|singular|plural}`` agrees with a number) and return styled runs: the
    template's symbols in italics, values as they are, Persian isolated for bidi."""
    template = plurals(template, values)
    runs: list[Run] = []
    parsed = list(string.Formatter().parse(template))
    for i, (literal, field, spec, _conv) in enumerate(parsed):
        if literal:
            runs += _markup(literal, at_end=field is not None and (spec or "") == "pe")
        if field is not None:
            runs.append(Run(fmt_number(values.get(field), spec or "s", lang)
                            if field in values else "{" + field + "}"))
    return _isolate_runs(runs, lang)


def fill(template: str, values: dict, lang: str = "en") -> str:
    """:func:`fill_runs` as plain text (in Persian with the bidi isolates)."""
    return plain(fill_runs(template, values, lang))


def cell_text(value: Any, spec: str, lang: str = "en") -> str:
    """A table cell: the formatted value; in Persian numbers and left-to-right stretches of
    text are isolated so that minus signs and "<" stay on the left of the number."""
    out = fmt_number(value, spec, lang)
    if lang != "fa":
        return out
    if spec != "s" and out != DASH:
        return LRI + out + PDI
    return isolate(out, lang)
