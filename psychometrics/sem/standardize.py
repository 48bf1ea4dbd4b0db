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
    """
    n = len(values)
    out_lv = np.array(values, dtype=float).copy()
    lvs = set(model.lv)
    pos = model.pos
    p = model.p
    for i in range(n):
        g = group[i]
        if g < 1:
            continue
        C = all_cov[g - 1]
        d = np.diag(C)
        def ETA(v):
            x = d[pos[v]]
            return np.sqrt(x) if x >= 0 else np.nan
        def RV(v):
            x = rv.get((g, v))
            return np.sqrt(abs(x)) if x is not None else np.nan
        o, a, b = op[i], lhs[i], rhs[i]
        if o == "=~":
            out_lv[i] *= ETA(a)
            if b in lvs:
                out_lv[i] /= ETA(b)
        elif o == "~":
            if a in lvs:
                out_lv[i] /= ETA(a)
            if b in lvs:
                out_lv[i] *= ETA(b)
        elif o == "~~":
            if a == b and a in lvs:
                out_lv[i] /= ETA(a) ** 2
            elif a != b:
                if a in lvs:
                    out_lv[i] /= RV(a)
                if b in lvs:
                    out_lv[i] /= RV(b)
        elif o == "~1" and a in lvs:
            out_lv[i] /= ETA(a)

    def to_all(ov_x):
        out = out_lv.copy()
        for i in range(n):
            g = group[i]
            if g < 1:
                continue
            d = np.diag(all_cov[g - 1])

            def OV(v):
                x = d[pos[v]]
                return np.sqrt(x) if x > np.finfo(float).eps else np.nan

            def RV(v):
                x = rv.get((g, v))
                return np.sqrt(abs(x)) if x is not None else np.nan
            o, a, b = op[i], lhs[i], rhs[i]
            if o == "=~" and b not in lvs:
                out[i] /= OV(b)
            elif o == "~":
                if a not in lvs:
                    out[i] /= OV(a)
                if b not in lvs and b not in ov_x:
                    out[i] *= OV(b)
            elif o == "~~":
                if a == b and a not in lvs and a not in ov_x:
                    out[i] /= OV(a) ** 2
                elif a != b:
                    if a not in lvs and a not in ov_x:
                        out[i] /= RV(a)
                    if b not in lvs and b not in ov_x:
                        out[i] /= RV(b)
            elif o == "~1" and a not in lvs and a not in ov_x:
                out[i] /= OV(a)
        return out

    out_all = to_all(set())
    if ov_x_names is None:
        return out_lv, out_all
    return out_lv, out_all, to_all(set(ov_x_names))


