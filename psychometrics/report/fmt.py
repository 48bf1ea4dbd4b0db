"""Number formatting for the renderers (APA 7 style), in English or Persian.

Format specs used by tables and paragraph templates:

======  =================================================================
``r``   bounded statistic (r, alpha, omega, CFI, loadings): 2 decimals, no
        leading zero (``.85``, ``-.12``); ``r3`` gives 3 decimals
``f1``  fixed decimals (``f0`` ... ``f4``), leading zero kept
``p``   p-value: 3 decimals without leading zero, ``< .001`` below .001
``d``   integer
``pct`` percentage with one decimal (``3.1%``)
``s``   text as is
======  =================================================================

Missing values (None, NaN) print as an em dash.  With ``lang="fa"`` digits
become Persian digits, the decimal point the Persian decimal separator and
``%`` the Persian percent sign (the statistics are unchanged).
"""
from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

PERSIAN_DIGITS = str.maketrans("0123456789.%", "۰۱۲۳۴۵۶۷۸۹٫٪")
DASH = "\u2014"
MINUS = "\u2212"


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(isinstance(v, (float, np.floating)) and not math.isfinite(float(v))) or v is np.nan \
            or (hasattr(v, "__class__") and v.__class__.__name__ == "NAType")
    except (TypeError, ValueError):
        return False


def localise(text: str, lang: str = "en") -> str:
    """Turn ASCII digits of an already formatted number into the language's digits."""
    if lang == "fa":
        return text.translate(PERSIAN_DIGITS)
    return text


def fmt_number(value: Any, spec: str = "f2", lang: str = "en") -> str:
    """Format one value according to ``spec`` (see module docstring)."""
    if spec == "s":
        if _is_missing(value):
            return DASH
        return str(value)
    if _is_missing(value):
        return DASH
    if isinstance(value, (bool, np.bool_)):
        return localise(str(value), lang) if lang == "en" else ("بله" if value else "خیر")
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
        if out in ("-." + "0" * dec,):
            out = out[1:]
    elif spec == "p":
        if v < 0.001:
            out = "< .001"
        else:
            out = f"{v:.3f}"
            if out.startswith("0."):
                out = out[1:]
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


LRI, PDI = "\u2066", "\u2069"


class _Formatter(string.Formatter):
    def __init__(self, lang: str):
        self.lang = lang

    def format_field(self, value, format_spec):
        out = fmt_number(value, format_spec or "s", self.lang)
        if self.lang == "fa" and (format_spec or "s") != "s":
            # a number inside right-to-left text keeps its sign and "<" on the left
            out = LRI + out + PDI
        return out


def fill(template: str, values: dict, lang: str = "en") -> str:
    """Fill a paragraph template: ``{name:spec}`` placeholders, numbers formatted by ``spec``
    (in Persian wrapped in left-to-right isolates, U+2066 ... U+2069)."""
    return _Formatter(lang).vformat(template, (), values)
