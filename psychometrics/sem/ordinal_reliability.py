"""Categorical omega of a WLSMV fit (Green & Yang 2009), as ``semTools::compRelSEM`` (0.5-6)
computes it for ordinal indicators.

For factor f with indicators j (loadings ``lambda``, factor variance ``phi``, scale factors
``delta`` and thresholds ``tau``):

* ``ord_scale=True`` (default): reliability of the sum of the *observed ordinal* item scores,
  ``omega = sum_jj' [sum_cc' Phi2(t_jc, t_j'c'; rho*_jj') - sum_c Phi(t_jc) sum_c' Phi(t_j'c')]
  / sum_jj' [sum_cc' Phi2(t_jc, t_j'c'; r_jj') - sum_c Phi(t_jc) sum_c' Phi(t_j'c')]`` with
  ``t = delta tau``, ``rho* = delta lambda phi lambda' delta`` (the common part) and ``r`` the
  polychoric correlations (``obs_var=True``, semTools' default) or the model-implied ones;
  the diagonal terms use ``r_jj = 1`` (Green & Yang 2009, Psychological Methods 14, 130-146);
* ``ord_scale=False``: reliability on the latent-response scale,
  ``sum(lambda phi lambda') / sum(R)`` with ``R`` rescaled by ``1/delta`` (semTools).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr


def _omega_cat(common: np.ndarray, denom: np.ndarray, thresholds: list, scales: np.ndarray) -> float:
    from ..polychoric import _pbvn
    R = common * np.outer(scales, scales)
    d = np.sqrt(np.diag(denom))
    D = denom / np.outer(d, d)
    n = len(thresholds)
    num = den = 0.0
    t = [np.asarray(th, float) * s for th, s in zip(thresholds, scales)]
    p1 = [float(ndtr(x).sum()) for x in t]
    for j in range(n):
        for k in range(n):
            a, b = np.meshgrid(t[j], t[k], indexing="ij")
            num += float(_pbvn(a, b, np.full(a.shape, R[j, k])).sum()) - p1[j] * p1[k]
            den += float(_pbvn(a, b, np.full(a.shape, min(D[j, k], 1.0))).sum()) - p1[j] * p1[k]
    return num / den


def categorical_omega(fit, obs_var: bool = True, ord_scale: bool = True, group=None) -> dict:
    """Per factor of an ordinal (WLSMV) fit: ``{factor: omega}`` (see module docstring).
    ``group``: the group's value for a multi-group fit (default: the first group)."""
    g = 0 if group is None else list(fit.group_labels).index(group)
    pe = fit.parameters()
    if fit.ngroups > 1:
        pe = pe[pe["group"] == fit.group_labels[g]]
    ov = fit.model.ov
    A, P, M = fit.model.matrices(fit.x)[g]
    p = fit.model.p
    lam = A[:p, p:]
    B = np.linalg.inv(np.eye(fit.model.m) - A)
    C = B @ P @ B.T
    phi = C[p:, p:]
    Sr, mr, scales = fit.model.latent_response(fit.x)[g]
    if obs_var:
        S = np.asarray(fit.sample.groups[g].cor, float)
    else:
        S = fit.model.implied(fit.x)[g][0]
    S = S / np.outer(scales, scales)
    th = pe[pe["op"] == "|"]
    out = {}
    for fi, f in enumerate(fit.model.lv):
        idx = [j for j in range(p) if lam[j, fi] != 0]
        if len(idx) < 2:
            continue
        L = lam[idx, fi][:, None]
        common = L @ L.T * phi[fi, fi]
        total = S[np.ix_(idx, idx)]
        if ord_scale:
            thr = [th.loc[th["lhs"] == ov[j], "est"].to_numpy() for j in idx]
            out[f] = _omega_cat(common, total, thr, scales[idx])
        else:
            out[f] = float(common.sum() / total.sum())
    return out
