"""Text normalisation shared by the data reader and the study/instrument files.

One home below :mod:`psychometrics.io` and :mod:`psychometrics.scales` (both import
from here, neither imports the other for these helpers), so that a column name in a
study file and the same name in a data file's header are normalised by the same code.

* :func:`normalize_text` -- one cell or label: Persian (۰-۹) and Arabic-Indic (٠-٩)
  digits -> ASCII, Arabic ي/ى/ك -> Persian ی/ک, Arabic decimal/thousands separators and
  the minus sign -> ASCII, invisible direction marks removed, whitespace collapsed.
* :func:`normalize_lines` -- the same, line by line (model syntax keeps its lines).
* :func:`to_number` -- the number in a cell, or None.
* :data:`NAME_PATTERN` -- a variable/factor name: any Unicode letter or ``_`` (or ``.``)
  first, then letters, digits (any script, kept as written), ``_``, ``.``, the Persian
  zero-width non-joiner and Arabic diacritics.
* :func:`plain` / :func:`show` -- values as plain Python objects / short text for messages
  (never ``np.int64(1)``, never more than one cell).
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["normalize_text", "normalize_lines", "to_number", "is_missing", "code_key",
           "NAME_PATTERN", "is_name", "plain", "show", "file_problem"]

_DIGITS = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DIGITS.update({ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")})
_LETTERS = {ord("ي"): "ی", ord("ى"): "ی", ord("ك"): "ک", ord("ۀ"): "هٔ"}
_PUNCT = {ord("٫"): ".", ord("٬"): ",", ord("−"): "-", ord("–"): "-",
          ord("\u00a0"): " ", ord("\u202f"): " ", ord("\u2009"): " "}
# direction marks, BOM and other invisible format characters (not the ZWNJ, which
# is part of Persian spelling)
_INVISIBLE = {ord(c): None for c in "\ufeff\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
              "\u2066\u2067\u2068\u2069\u061c"}
_TABLE = {**_DIGITS, **_LETTERS, **_PUNCT, **_INVISIBLE}
_WS = re.compile(r"\s+")
_HWS = re.compile(r"[^\S\n]+")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

#: a name in model syntax and in study files (Unicode letters allowed; digits kept as written)
NAME_PATTERN = r"(?:[^\W\d]|\.)[\w.\u200c\u064b-\u065f\u0670]*"
_NAME_RE = re.compile(rf"^{NAME_PATTERN}$")


@functools.lru_cache(maxsize=65536)
def _normalize_str(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_TABLE)
    return _WS.sub(" ", text).strip()


@functools.lru_cache(maxsize=65536)
def _str_number(text: str) -> float | None:
    text = _normalize_str(text)
    if not text or not _NUM_RE.match(text):
        return None
    out = float(text)
    return out if math.isfinite(out) else None


def normalize_text(value: Any) -> str:
    """Normalise one text cell or label: Persian/Arabic-Indic digits -> ASCII,
    Arabic ي/ك -> Persian ی/ک, Arabic decimal/thousands separators and the minus
    sign -> ASCII, invisible direction marks removed, whitespace collapsed and
    stripped (NFC first).  Returns the normalised text."""
    return _normalize_str(str(value))


def normalize_lines(text: str) -> str:
    """:func:`normalize_text` applied to each line of ``text`` (runs of spaces inside a line
    collapsed, the line structure kept): used for model syntax written in a study file, so
    that its names match the normalised data header."""
    text = unicodedata.normalize("NFC", str(text)).translate(_TABLE)
    return "\n".join(_HWS.sub(" ", line).strip() for line in text.splitlines())


def to_number(value: Any) -> float | None:
    """The number in a cell (after :func:`normalize_text`), or None when it is not one.
    Missing cells (None, NaN, "") are None too; booleans are not numbers."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return float(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    return _str_number(value) if isinstance(value, str) else None


def is_missing(value: Any) -> bool:
    """True for an empty cell: None, NA, NaT, NaN or the empty text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    return isinstance(value, str) and value == ""


def code_key(value: Any) -> str:
    """A group/missing code as text: 1, 1.0, "۱" -> "1"; other text normalised."""
    if isinstance(value, str):
        num = to_number(value)
        if num is None:
            return normalize_text(value)
        value = num
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if math.isfinite(v) and v == int(v):
            return str(int(v))
        return repr(v)
    return normalize_text(str(value))


def is_name(text: Any) -> bool:
    """True when ``text`` is a valid variable/factor name (:data:`NAME_PATTERN`)."""
    return isinstance(text, str) and bool(_NAME_RE.match(text))


def plain(value: Any) -> Any:
    """``value`` as a plain Python object: numpy scalars -> int/float/bool/str; other
    values unchanged.  Used so that messages never show ``np.int64(1)``."""
    if isinstance(value, np.generic):
        return value.item()
    return value


MAX_SHOWN_CHARS = 40


def show(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """A short ``repr`` of one cell for messages: plain Python types, at most ``limit``
    characters (longer text is cut and ends in an ellipsis)."""
    v = plain(value)
    if isinstance(v, (bytes, bytearray)):
        v = bytes(v)
        text = repr(v[:limit])
    elif isinstance(v, str):
        text = repr(v if len(v) <= limit else v[:limit] + "…")
    else:
        text = repr(v)
        if len(text) > limit:
            text = text[:limit] + "…"
    return text


def file_problem(path, max_bytes: int | None = None) -> str | None:
    """Why ``path`` cannot be read as an input file, or None when it can: not found, a
    folder, not a regular file (a device such as /dev/zero, a pipe, a socket), or larger
    than ``max_bytes``.  Only the file system is asked; the file is not opened."""
    import os
    import stat
    from pathlib import Path

    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return "not found"
    except NotADirectoryError:
        return "not found (a part of the path is a file, not a folder)"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file (a device, pipe or socket); give a saved data file"
    if max_bytes is not None and st.st_size > max_bytes:
        return f"is too large ({st.st_size:,} bytes; the limit is {max_bytes:,})"
    if not os.access(p, os.R_OK):
        return "permission denied"
    return None
