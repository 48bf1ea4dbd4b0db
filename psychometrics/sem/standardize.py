"""Standardised solutions (inference layer): lavaan's std.lv / std.all / std.nox.

Used by :mod:`.results` (``parameters()``) and :mod:`.modindices` (sepc); depends on the model
layer only.
"""
from __future__ import annotations

import numpy as np

from .model import Model


def standardize(lhs, op, rhs, group, values, rv, model: Model, all_cov: list, ov_x_names=None):
    """lavaan's std.lv and std.all (``cov.std = TRUE``) of arbitrary rows; with ``ov_x_names``
    also std.nox (exogenous covariates left unstandardised, ``lav_standardize_all_nox``).

    ``values``: the numbers to standardise; ``rv[(g, name)]``: the estimated (residual)
    variance parameter of ``name`` in group ``g`` (used for covariances); ``all_cov[g]``: the
    model-implied covariance matrix of all variables (observed then latent).
    Returns ``(std_lv, std_all)`` or, with ``ov_x_names``, ``(std_lv, std_all, std_nox)``
    (arrays over the rows).  One pass over the rows with the groups' implied variances read
    once (the scale factors are the same numbers as computed per row before: issue 13).
    """
    n = len(values)
    out_lv = np.array(values, dtype=float).copy()
    lvs = set(model.lv)
    pos = model.pos
    # implied variances of every variable per group, and the scale factors read from them
    diags = [np.diag(C) for C in all_cov]
    eps = np.finfo(float).eps

    def eta(g, v):      # sd of a latent variable (std.lv)
        x = diags[g - 1][pos[v]]
        return np.sqrt(x) if x >= 0 else np.nan

    def ov_sd(g, v):    # sd of an observed variable (std.all)
        x = diags[g - 1][pos[v]]
        return np.sqrt(x) if x > eps else np.nan

    def res_sd(g, v):   # sqrt of the (residual) variance parameter (covariances)
        x = rv.get((g, v))
        return np.sqrt(abs(x)) if x is not None else np.nan

    for i in range(n):
        g = group[i]
        if g < 1:
            continue
        o, a, b = op[i], lhs[i], rhs[i]
        if o == "=~":
            out_lv[i] *= eta(g, a)
            if b in lvs:
                out_lv[i] /= eta(g, b)
        elif o == "~":
            if a in lvs:
                out_lv[i] /= eta(g, a)
            if b in lvs:
                out_lv[i] *= eta(g, b)
        elif o == "~~":
            if a == b and a in lvs:
                out_lv[i] /= eta(g, a) ** 2
            elif a != b:
                if a in lvs:
                    out_lv[i] /= res_sd(g, a)
                if b in lvs:
                    out_lv[i] /= res_sd(g, b)
        elif o == "~1" and a in lvs:
            out_lv[i] /= eta(g, a)

    def to_all(ov_x):
        out = out_lv.copy()
        for i in range(n):
            g = group[i]
            if g < 1:
                continue
            o, a, b = op[i], lhs[i], rhs[i]
            if o == "=~" and b not in lvs:
                out[i] /= ov_sd(g, b)
            elif o == "~":
                if a not in lvs:
                    out[i] /= ov_sd(g, a)
                if b not in lvs and b not in ov_x:
                    out[i] *= ov_sd(g, b)
            elif o == "~~":
                if a == b and a not in lvs and a not in ov_x:
                    out[i] /= ov_sd(g, a) ** 2
                elif a != b:
                    if a not in lvs and a not in ov_x:
                        out[i] /= res_sd(g, a)
                    if b not in lvs and b not in ov_x:
                        out[i] /= res_sd(g, b)
            elif o == "~1" and a not in lvs and a not in ov_x:
                out[i] /= ov_sd(g, a)
        return out

    out_all = to_all(set())
    if ov_x_names is None:
        return out_lv, out_all
    return out_lv, out_all, to_all(set(ov_x_names))
