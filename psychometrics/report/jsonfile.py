"""Write ``results.json``: every number of the run, with versions, options and seed.

The pipeline hands over a plain dict (analysis results via their ``to_dict()``)
and this module makes it JSON-safe with :func:`psychometrics._results.jsonable`
(NaN and inf become null) and writes it in the keys' order of the results, indented by one
space, so runs diff cleanly.
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring
from pathlib import Path

from .._results import jsonable

_float_repr = float.__repr__
_int_repr = int.__repr__


def _float(o: float) -> str:
    """A float as ``json`` writes it (``float.__repr__``); NaN and infinity are errors
    (``allow_nan=False``)."""
    if o != o or o in (float("inf"), float("-inf")):
        raise ValueError("Out of range float values are not JSON compliant: " + repr(o))
    return _float_repr(o)


#: the text of a value of each plain type (exact types: subclasses take the general path)
_SCALAR = {str: encode_basestring, int: _int_repr, float: _float,
           bool: lambda b: "true" if b else "false", type(None): lambda _: "null"}


def _encode_indented(obj, level: int, out: list) -> None:
    """Append to ``out`` the text of ``obj`` exactly as ``json.dumps(obj, indent=1,
    ensure_ascii=False, allow_nan=False)`` writes it at nesting ``level`` (the same type
    checks in the same order as :mod:`json.encoder`'s ``_make_iterencode``; ``str`` keys).

    Python's ``json`` uses its C encoder only without ``indent``; with it, every value passes
    up through one generator per nesting level (1.5-1.7 s of CPU for the 200,000-case
    example's results.json at load 6, most of it per-case data: the split halves' case
    indices, 800,000 numbers, and the data changes' 40,926 rows of six fields); here a list
    or a dict of plain values is one ``join`` of its values' texts, and the rest a recursion
    appending to one list.  Raises ``ValueError`` for NaN or
    infinity and ``TypeError`` for a value JSON cannot hold, as ``json.dumps`` does."""
    if isinstance(obj, str):
        out.append(encode_basestring(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(_int_repr(obj))
    elif isinstance(obj, float):
        out.append(_float(obj))
    elif isinstance(obj, (list, tuple)):
        if not obj:
            out.append("[]")
            return
        nl = "\n" + " " * (level + 1)
        types = set(map(type, obj))
        if types.issubset(_SCALAR):     # a list of plain values (e.g. case indices)
            enc = [_SCALAR[t] for t in types]
            text = map(enc[0], obj) if len(enc) == 1 else (_SCALAR[type(v)](v) for v in obj)
            out.append("[" + nl + ("," + nl).join(text) + "\n" + " " * level + "]")
            return
        out.append("[" + nl)
        first = True
        for v in obj:
            if first:
                first = False
            else:
                out.append("," + nl)
            _encode_indented(v, level + 1, out)
        out.append("\n" + " " * level + "]")
    elif isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        nl = "\n" + " " * (level + 1)
        if all(type(k) is str and type(v) in _SCALAR for k, v in obj.items()):
            # a record of plain values (e.g. a data change)
            out.append("{" + nl + ("," + nl).join(
                [encode_basestring(k) + ": " + _SCALAR[type(v)](v) for k, v in obj.items()])
                + "\n" + " " * level + "}")
            return
        out.append("{" + nl)
        first = True
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError("results.json: keys must be str (jsonable makes them so)")
            if first:
                out.append(encode_basestring(k) + ": ")
                first = False
            else:
                out.append("," + nl + encode_basestring(k) + ": ")
            _encode_indented(v, level + 1, out)
        out.append("\n" + " " * level + "}")
    else:
        raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


def dumps_indented(obj) -> str:
    """Return the same text as ``json.dumps(obj, indent=1, ensure_ascii=False,
    allow_nan=False)`` for data of dicts with ``str`` keys, lists, tuples, strings, numbers,
    booleans and None (what :func:`~psychometrics._results.jsonable` returns), about 5x
    faster (see :func:`_encode_indented`); other data goes through ``json.dumps``."""
    out: list = []
    try:
        _encode_indented(obj, 0, out)
    except (TypeError, RecursionError):
        return json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False)
    return "".join(out)


def render_json(results: dict, path: str | Path | None = None) -> str:
    """Return ``results`` as JSON text (``json.dumps`` with ``indent=1``, not ASCII-escaped,
    no NaN: :func:`dumps_indented`); write it to ``path`` when given."""
    text = dumps_indented(jsonable(results))
    if path is not None:
        Path(path).write_text(text + "\n", encoding="utf-8")
    return text


#: nesting levels of plain ``str``-keyed dicts that :func:`write_json` writes key by key (below
#: them, each value is made JSON-safe and encoded whole)
STREAM_DEPTH = 4


def _stream(obj, level: int, write, depth: int) -> None:
    """Write the text of ``jsonable(obj)`` at nesting ``level`` (as :func:`_encode_indented`
    makes it) through ``write``: a plain dict with ``str`` keys, down to ``depth`` levels, key
    by key, each value made JSON-safe (:func:`~psychometrics._results.jsonable`) and encoded
    on its own, so neither the whole text nor a JSON-safe copy of the whole results exists
    at once; other values in one piece."""
    if depth > 0 and type(obj) is dict and obj and all(type(k) is str for k in obj):
        nl = "\n" + " " * (level + 1)
        write("{" + nl)
        first = True
        for k, v in obj.items():
            write(("" if first else "," + nl) + encode_basestring(k) + ": ")
            first = False
            _stream(v, level + 1, write, depth - 1)
        write("\n" + " " * level + "}")
        return
    out: list = []
    _encode_indented(jsonable(obj), level, out)
    write("".join(out))


def write_json(results: dict, path: str | Path) -> None:
    """Write ``results`` to ``path`` as :func:`render_json` does (the same bytes: its text and
    a newline), in pieces (:func:`_stream`): at 10^6 cases render_json held the whole text,
    78 MB, its pieces and a JSON-safe copy of the results at once (about +0.5 GB, issue 13).
    Where the encoder refuses a value (as :func:`dumps_indented` falls back to ``json.dumps``)
    the file is written again by :func:`render_json`.  Returns None."""
    try:
        with open(path, "w", encoding="utf-8") as fh:
            _stream(results, 0, fh.write, STREAM_DEPTH)
            fh.write("\n")
    except (TypeError, RecursionError):
        render_json(results, path)
