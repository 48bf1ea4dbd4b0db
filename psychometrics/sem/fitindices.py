"""Fit indices from test statistics (inference layer): RMSEA confidence limits and the
incremental indices as lavaan 0.6-14's ``lav_fit_*`` functions compute them.

Pure functions of chi-square statistics; used by :mod:`.results`, :mod:`.robust` and
:mod:`.wlsmv_inference`.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize as spo


def rmsea_ci(X2, df, N, G=1, level=0.90):
    """Lower/upper RMSEA confidence limits by the non-central chi-square (lav_fit_rmsea_ci)."""
    if not (np.isfinite(X2) and np.isfinite(df)) or df < 1:
        return 0.0, 0.0

    from scipy.special import chdtr, chndtr

    def cdf(lam):  # non-central chi-square cdf (scipy.special ufuncs: fast inside brentq)
        return chdtr(df, X2) if lam <= 0 else chndtr(X2, df, lam)

    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2
    if cdf(0.0) - upper_p < 0:
        lo = 0.0
    else:
        try:
            lam = spo.brentq(lambda l: cdf(l) - upper_p, 0.0, X2, xtol=1e-12)
            lo = np.sqrt(lam / (N * df)) * np.sqrt(G)
        except ValueError:
            lo = np.nan
    nr = max(N, X2 * 4)
    if cdf(nr) - lower_p > 0 or cdf(0.0) - lower_p < 0:
        hi = 0.0
    else:
        try:
            lam = spo.brentq(lambda l: cdf(l) - lower_p, 0.0, nr, xtol=1e-12)
            hi = np.sqrt(lam / (N * df)) * np.sqrt(G)
        except ValueError:
            hi = np.nan
    return float(lo), float(hi)


def incremental_indices(X2, df, X2b, dfb) -> dict:
    """CFI, TLI/NNFI, RFI, NFI, PNFI, IFI, RNI as lavaan 0.6-14 computes them."""
    out = {}
    t1 = max(X2 - df, 0.0)
    t2 = max(X2 - df, X2b - dfb, 0.0)
    out["cfi"] = 1.0 if (np.isclose(t1, 0) and np.isclose(t2, 0)) else 1 - t1 / t2
    a = (X2 - df) * dfb
    b = (X2b - dfb) * df
    out["tli"] = 1 - a / b if (df > 0 and abs(b) > 0) else 1.0
    out["nnfi"] = out["tli"]
    if df > dfb:
        out["rfi"] = np.nan
    elif df > 0 and dfb > 0:
        u1 = X2b / dfb - X2 / df
        u2 = X2b / dfb
        out["rfi"] = 1.0 if (u1 < 0 or u2 < 0) else u1 / u2
    else:
        out["rfi"] = 1.0
    if df > dfb or np.isclose(X2b, 0):
        out["nfi"] = np.nan
    elif df > 0:
        out["nfi"] = (X2b - X2) / X2b
    else:
        out["nfi"] = 1.0
    out["pnfi"] = (df / dfb) * ((X2b - X2) / X2b) if (dfb > 0 and X2b > 0) else np.nan
    u1, u2 = X2b - X2, X2b - df
    out["ifi"] = 1.0 if u2 < 0 else (np.nan if np.isclose(u2, 0) else u1 / u2)
    v2 = X2b - dfb
    out["rni"] = np.nan if np.isclose(v2, 0) else 1 - (X2 - df) / v2
    return out


