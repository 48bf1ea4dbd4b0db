"""Defined parameters (``name := expression``) and their delta-method standard errors.

Expressions use parameter labels, earlier defined names, numbers, ``+ - * / ^`` and the
functions ``exp, log, sqrt, abs``.  Values follow lavaan's ``def.function``; standard errors
follow lavaan's delta method (``lav_model_vcov_se``: ``J V J'`` with ``J`` the Jacobian of the
defined parameters with respect to the free parameters, here by central differences).
"""
from __future__ import annotations

import ast

import numpy as np

from ..errors import ModelSyntaxError

_FUNCS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs}


def compile_expression(expr: str, line: int | None = None):
    """Parse a ``:=`` expression; returns (code object, names used)."""
    src = expr.replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as e:
        raise ModelSyntaxError("invalid expression of a defined parameter", line, expr) from e
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
                raise ModelSyntaxError("unsupported function in defined parameter", line, ast.unparse(node))
        elif not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Load,
                                   ast.operator, ast.unaryop)):
            raise ModelSyntaxError("unsupported element in defined parameter", line, expr)
    names -= set(_FUNCS)
    return compile(tree, "<defined>", "eval"), names


def evaluate(defs, values: dict) -> list[float]:
    """Evaluate defined parameters in order; ``values`` maps label -> value (updated)."""
    env = dict(values)
    out = []
    for name, code in defs:
        with np.errstate(all="ignore"):
            v = eval(code, {"__builtins__": {}}, {**_FUNCS, **env})  # noqa: S307 (checked AST)
        v = float(v)
        env[name] = v
        out.append(v)
    return out


def jacobian(fun, x: np.ndarray, cols=None) -> np.ndarray:
    """Central-difference Jacobian of ``fun`` (vector -> vector) at ``x``.

    ``cols``: the only coordinates ``fun`` can depend on (e.g. the parameters that carry a
    label used by a defined parameter); the other columns are exactly 0, as the central
    differences would give them (the same values on both sides).  When ``fun(x)`` is not
    finite every column is differenced (NaN stays NaN where it would have been).
    """
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(fun(x), dtype=float)
    J = np.zeros((f0.size, x.size))
    if cols is None or not np.all(np.isfinite(f0)):
        cols = range(x.size)
    for k in cols:
        h = 1e-6 * max(1.0, abs(x[k]))
        xp = x.copy(); xp[k] += h
        xm = x.copy(); xm[k] -= h
        J[:, k] = (np.asarray(fun(xp)) - np.asarray(fun(xm))) / (2 * h)
    return J


def check_names(defs_src, known: set) -> None:
    """Raise ModelSyntaxError when a defined parameter uses an unknown label."""
    seen = set(known)
    for f in defs_src:
        _, names = compile_expression(f.rhs, f.line)
        unknown = sorted(names - seen)
        if unknown:
            raise ModelSyntaxError(f"unknown label {unknown[0]!r} in defined parameter {f.lhs!r}",
                                   f.line, unknown[0])
        seen.add(f.lhs)

