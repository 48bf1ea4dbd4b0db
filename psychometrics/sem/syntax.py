"""lavaan model syntax -> a list of formulas.

:func:`parse_model` reads the model syntax of lavaan (Rosseel, 2012, *lavaan: An R package for
structural equation modeling*, JSS 48(2); R function ``lavaan::lavParseModelString``) and returns
one :class:`Formula` per ``lhs op rhs`` element:

* operators ``=~`` (loadings), ``~~`` (variances/covariances), ``~`` (regressions), ``~ 1``
  (intercepts / means, op ``"~1"``), ``:=`` (defined parameters) and ``==`` between two labels
  (an equality constraint);
* modifiers before a variable, joined by ``*``: a number fixes the parameter (``1*x1``), ``NA``
  frees it (``NA*x1``), a name labels it (``a*x1``; equal labels mean equal parameters),
  ``start(0.5)`` gives a start value, and ``c(...)`` gives one modifier per group
  (``c(a, b)*x1``, ``c(1, NA)*x1``);
* several left-hand sides (``y1 + y2 ~ x``), ``#`` and ``!`` comments, statements separated by
  new lines or ``;``, a statement continued on the next line when it ends in an operator or
  ``+`` / ``*`` or the next line starts with ``+`` / ``*``.

Names may be written in any script (``سوال_۱ =~ ...``): a letter or ``_`` first, then letters,
digits, ``_`` and ``.``; digits inside a name are kept as written.

Errors raise :class:`psychometrics.errors.ModelSyntaxError` naming the line and the token.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .._text import NAME_PATTERN
from ..errors import ModelSyntaxError

# variable names and labels: any Unicode letter (Persian ``سوال_۱``, ``engagement``) or ``_``
# or ``.`` first, then letters, digits of any script (kept as written, never converted), ``_``,
# ``.``, the zero-width non-joiner of Persian spelling and Arabic diacritics
_NAME = re.compile(rf"^{NAME_PATTERN}$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_OPS = ("=~", "~~", ":=", "==", "<~", "~", "<", ">")


@dataclass
class Modifier:
    """One modifier value: ``kind`` is "fixed", "free" (NA), "label" or "start"."""

    kind: str
    value: object


@dataclass
class Formula:
    """One ``lhs op rhs`` element of the model with its modifiers.

    ``fixed``/``label``/``start``/``free`` are either None, a single value (applies to every
    group) or a list (one value per group, from ``c(...)``; None where not given).
    """

    lhs: str
    op: str
    rhs: str
    line: int
    fixed: object = None
    label: object = None
    start: object = None
    free: object = None
    expression: str | None = None
    modifiers: list = field(default_factory=list)


def _strip_comment(line: str) -> str:
    out = []
    in_quote = None
    for ch in line:
        if in_quote:
            if ch == in_quote:
                in_quote = None
            out.append(ch)
            continue
        if ch in "\"'":
            in_quote = ch
        elif ch in "#!":
            break
        out.append(ch)
    return "".join(out)


def _statements(text: str) -> list[tuple[int, str]]:
    """Split the model text into (first line number, statement) pairs."""
    raw = []
    for i, line in enumerate(text.splitlines(), start=1):
        line = _strip_comment(line)
        for part in line.split(";"):
            if part.strip():
                raw.append((i, part.strip()))
    stmts: list[tuple[int, str]] = []
    for ln, part in raw:
        if stmts:
            prev_ln, prev = stmts[-1]
            prev_s = prev.rstrip()
            opens = prev_s.count("(") > prev_s.count(")")
            if (prev_s.endswith(("+", "*", "=~", "~~", "~", ":=", "==", ",", "("))
                    or part.startswith(("+", "*")) or opens):
                stmts[-1] = (prev_ln, prev_s + " " + part)
                continue
        stmts.append((ln, part))
    return stmts


def _find_op(stmt: str, line: int) -> tuple[str, int]:
    best = None
    for op in _OPS:
        pos = stmt.find(op)
        if pos >= 0 and (best is None or pos < best[1] or (pos == best[1] and len(op) > len(best[0]))):
            best = (op, pos)
    if best is None:
        tok = stmt.split()[0] if stmt.split() else stmt
        raise ModelSyntaxError("no operator (=~, ~~, ~, :=, ==) found in model syntax", line, tok)
    return best


def _split_top(s: str, sep: str) -> list[str]:
    """Split ``s`` on ``sep`` outside parentheses."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _parse_value(tok: str, line: int) -> Modifier:
    t = tok.strip()
    if t in ("NA", "na"):
        return Modifier("free", None)
    if _NUMBER.match(t):
        return Modifier("fixed", float(t))
    m = re.match(r"^start\((.*)\)$", t)
    if m:
        v = _parse_value(m.group(1), line)
        if v.kind != "fixed":
            raise ModelSyntaxError("start() needs a number", line, t)
        return Modifier("start", v.value)
    m = re.match(r"^(?:label|equal)\((.*)\)$", t)
    if m:
        return Modifier("label", m.group(1).strip().strip("\"'"))
    if (t.startswith('"') and t.endswith('"')) or (t.startswith("'") and t.endswith("'")):
        t = t[1:-1]
    if _NAME.match(t):
        return Modifier("label", t)
    raise ModelSyntaxError("invalid modifier", line, tok.strip())


def _parse_modifier(tok: str, line: int) -> list[Modifier] | Modifier:
    t = tok.strip()
    m = re.match(r"^c\((.*)\)$", t)
    if m:
        parts = _split_top(m.group(1), ",")
        if any(not p.strip() for p in parts):
            raise ModelSyntaxError("empty element in c(...)", line, t)
        return [_parse_value(p, line) for p in parts]
    m = re.match(r"^(start|label|equal)\(c\((.*)\)\)$", t)
    if m:
        kind = "start" if m.group(1) == "start" else "label"
        vals = [_parse_value(p, line) for p in _split_top(m.group(2), ",")]
        out = []
        for v in vals:
            if kind == "start":
                out.append(Modifier("start", v.value) if v.kind == "fixed" else Modifier("none", None))
            else:
                out.append(Modifier("label", v.value))
        return out
    return _parse_value(t, line)


def _apply(f: Formula, mod, line: int, tok: str) -> None:
    if isinstance(mod, list):
        kinds = {m.kind for m in mod} - {"none"}
        # a vector mixing numbers and NA is a per-group fixed/free vector
        if kinds <= {"fixed", "free"}:
            f.fixed = [m.value if m.kind == "fixed" else None for m in mod]
            f.free = [m.kind == "free" for m in mod]
        elif kinds == {"label"}:
            f.label = [m.value for m in mod]
        elif kinds == {"start"}:
            f.start = [m.value if m.kind == "start" else None for m in mod]
        else:
            raise ModelSyntaxError("c(...) mixes labels with numbers; use separate modifiers", line, tok)
        return
    if mod.kind == "fixed":
        f.fixed = mod.value
    elif mod.kind == "free":
        f.free = True
    elif mod.kind == "label":
        f.label = mod.value
    elif mod.kind == "start":
        f.start = mod.value


def parse_model(text: str) -> list[Formula]:
    """Parse lavaan model syntax.

    Returns a list of :class:`Formula` objects (lhs, op, rhs, line and modifiers), in the order
    of the syntax, following ``lavaan::lavParseModelString``.  Raises
    :class:`~psychometrics.errors.ModelSyntaxError` (with line and token) on bad syntax.
    """
    if not isinstance(text, str):
        raise ModelSyntaxError("model syntax must be a string")
    out: list[Formula] = []
    stmts = _statements(text)
    if not stmts:
        raise ModelSyntaxError("model syntax is empty")
    for line, stmt in stmts:
        op, pos = _find_op(stmt, line)
        lhs_s = stmt[:pos].strip()
        rhs_s = stmt[pos + len(op):].strip()
        if op in ("<~",):
            raise ModelSyntaxError("formative indicators (<~) are not supported", line, op)
        if op in ("<", ">"):
            raise ModelSyntaxError("inequality constraints are not supported", line, op)
        if not lhs_s:
            raise ModelSyntaxError(f"missing left-hand side of {op!r}", line, op)
        if not rhs_s:
            raise ModelSyntaxError(f"missing right-hand side of {op!r}", line, op)
        if op == ":=":
            if not _NAME.match(lhs_s):
                raise ModelSyntaxError("invalid name of a defined parameter", line, lhs_s)
            expr = re.sub(r"\s+", "", rhs_s)
            out.append(Formula(lhs_s, ":=", expr, line, expression=rhs_s))
            continue
        if op == "==":
            a, b = lhs_s.strip(), rhs_s.strip()
            if not _NAME.match(a) or not _NAME.match(b):
                raise ModelSyntaxError("only 'label == label' equality constraints are supported",
                                       line, stmt)
            out.append(Formula(a, "==", b, line))
            continue
        for bad in ("=~", "~~", "~", ":="):
            if bad in rhs_s:
                raise ModelSyntaxError("two operators in one statement (missing new line?)", line, bad)
        lhss = [s.strip() for s in lhs_s.split("+")]
        for l in lhss:
            if not _NAME.match(l):
                raise ModelSyntaxError("invalid variable name on the left-hand side", line, l)
        terms = _split_top(rhs_s, "+")
        for lhs in lhss:
            for term in terms:
                term = term.strip()
                if not term:
                    raise ModelSyntaxError("empty term (two '+' in a row?)", line, rhs_s)
                pieces = _split_top(term, "*")
                var = pieces[-1].strip()
                mods = pieces[:-1]
                this_op = op
                if var == "1" or (op == "~" and _NUMBER.match(var) and float(var) == 1.0 and not mods):
                    if op != "~":
                        raise ModelSyntaxError("an intercept ('1') is only allowed after '~'", line, var)
                    this_op, var = "~1", ""
                elif var == "0" and op == "~" and not mods:
                    continue
                elif not _NAME.match(var):
                    raise ModelSyntaxError("invalid variable name", line, var)
                if op == "=~" and var == lhs:
                    raise ModelSyntaxError("a latent variable cannot be its own indicator", line, var)
                if op == "~" and var == lhs:
                    raise ModelSyntaxError("a variable cannot be regressed on itself", line, var)
                f = Formula(lhs, this_op, var, line)
                for mtok in mods:
                    if not mtok.strip():
                        raise ModelSyntaxError("empty modifier before '*'", line, term)
                    mod = _parse_modifier(mtok, line)
                    _apply(f, mod, line, mtok.strip())
                    f.modifiers.append(mod)
                out.append(f)
    return out
