"""Modification indices (score tests for single added/freed parameters) as lavaan's modindices().

Follows ``lavaan::modindices`` (lavaan 0.6-14, defaults ``standardized = TRUE``,
``information = "expected"``, ``free.remove = TRUE``, ``na.remove = TRUE``): the candidate
parameters are every fixed row of the parameter table plus the rows of
``lav_partable_full`` that the model does not have (all ``=~`` from latent to observed
variables not used in regressions, all observed and latent ``~~`` pairs, regressions among the
variables of the structural part, intercepts with a mean structure).  With ``g_c`` the gradient
of F for the candidates and ``I`` the unit expected information of the extended model,

    V = I_cc - I_cf  K (K' I_ff K)^-1 K'  I_fc,      mi = N g_c^2 / diag(V),
    epc = -g_c / diag(V),

so equality constraints of the model stay in force (Sorbom, 1989, Psychometrika 54;
Saris, Satorra & Sorbom, 1987 for the EPC).  Not reproduced: rows of exogenous (fixed.x)
covariates -- their variances/covariances and their regressions on other variables
(``x ~ f``) -- are left out; lavaan drops them (NA) in models without equality constraints but
lists them in constrained multi-group models (mi ~ 0 for the variances).  Candidates with ``diag(V) < eps^(1/3)`` (not
identified when freed) are dropped.  ``sepc_lv``/``sepc_all``/``sepc_nox`` standardise the EPC
as lavaan does (``cov.std = TRUE``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .objective import expected_information
from .model import Model
from .partable import ParTable
from .standardize import standardize


def _candidates(fit) -> list[tuple]:
    pt = fit.partable
    roles = pt.roles
    lv = roles.lv
    ov = roles.ov
    ov_x = roles.ov_x if fit.options.get("fixed_x", True) else []
    ov_nox = [v for v in ov if v not in ov_x]
    eqs = list(dict.fromkeys(roles.eqs_y + roles.eqs_x))
    existing = set()
    for i in range(pt.nrow):
        g = int(pt.group[i])
        existing.add((pt.lhs[i], pt.op[i], pt.rhs[i], g))
        if pt.op[i] == "~~":
            existing.add((pt.rhs[i], "~~", pt.lhs[i], g))
    out = []
    # Exogenous (fixed.x) rows and regressions of exogenous covariates are left out: lavaan
    # reports them as NA (dropped) in unconstrained models and with mi ~ 0 (variances) or
    # values we do not reproduce (x ~ f) in models with equality constraints.
    # 1. every fixed row of the model
    for i in range(pt.nrow):
        if (pt.free[i] == 0 and pt.op[i] in ("=~", "~~", "~", "~1") and pt.group[i] > 0
                and not pt.exo[i]):
            out.append((pt.lhs[i], pt.op[i], pt.rhs[i], int(pt.group[i]), i))
    # 2. lav_partable_full rows not in the model
    ov_ind = set(roles.ov_ind)
    ov_other = [v for v in ov if v not in ov_ind]
    for g in range(1, pt.ngroups + 1):
        new = []
        for f in lv:
            for v in ov_nox:
                if v not in eqs:
                    new.append((f, "=~", v))
        n = len(ov_nox)
        for j in range(n):
            for i in range(j, n):
                a, b = ov_nox[j], ov_nox[i]
                if ov_other and (a in ov_other or b in ov_other):
                    continue
                new.append((a, "~~", b))
        for j in range(len(lv)):
            for i in range(j, len(lv)):
                new.append((lv[j], "~~", lv[i]))
        for y in eqs:
            for x in eqs:
                if y == x or (y in ov_ind and x in lv) or y in ov_x:
                    continue
                new.append((y, "~", x))
        if pt.meanstructure:
            for v in ov + lv:
                new.append((v, "~1", ""))
        seen = set()
        for (a, o, b) in new:
            key = (a, o, b, g)
            if key in existing or key in seen or (o == "~~" and (b, o, a, g) in seen):
                continue
            seen.add(key)
            out.append((a, o, b, g, None))
    return out


def modindices(fit, sort: bool = False, minimum_value: float = 0.0) -> pd.DataFrame:
    """Modification indices of a fitted model (see module docstring).

    Returns a DataFrame with lhs, op, rhs, group (the group's value, None for one group), mi,
    epc, sepc_lv, sepc_all, sepc_nox, in lavaan's order (fixed rows of the model first, then
    new parameters group by group) unless ``sort=True`` (decreasing mi).
    """
    pt = fit.partable
    cands = _candidates(fit)
    cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all", "sepc_nox"]
    if not cands:
        return pd.DataFrame(columns=cols)
    est = fit._est_rows()
    n_full = pt.n_full
    nc = len(cands)
    # extended parameter table: the model's rows (fixed candidates made free) + new rows
    lhs, op, rhs = list(pt.lhs), list(pt.op), list(pt.rhs)
    group = list(pt.group)
    free = list(pt.free)
    ustart = list(pt.ustart)
    exo = list(pt.exo)
    x_ext = list(fit.x_full)
    cand_cols = []
    for c, (a, o, b, g, row) in enumerate(cands):
        k = n_full + c
        if row is not None:
            free[row] = k + 1
            exo[row] = 0
            x_ext.append(est[row])
        else:
            lhs.append(a); op.append(o); rhs.append(b); group.append(g)
            free.append(k + 1); ustart.append(np.nan); exo.append(0)
            x_ext.append(0.0)
        cand_cols.append(k)
    n_ext = n_full + nc
    ext = ParTable(lhs=lhs, op=op, rhs=rhs, user=np.zeros(len(lhs), dtype=int),
                   group=np.array(group), free=np.array(free), ustart=np.array(ustart, dtype=float),
                   exo=np.array(exo), label=[""] * len(lhs), start=np.full(len(lhs), np.nan),
                   ngroups=pt.ngroups, roles=pt.roles, meanstructure=pt.meanstructure,
                   eq_map=np.arange(n_ext), eq_label=[""] * len(lhs))
    emodel = Model(ext, fit.sample)
    x_ext = np.asarray(x_ext)
    implied = emodel.implied(x_ext, full=True)
    deltas = emodel.delta(x_ext, full=True)
    _, gm = fit.objective.value_and_gradient(implied)
    if gm is None:  # implied covariance matrix not positive definite at the estimates
        return pd.DataFrame(columns=cols)
    grad = sum(D.T @ g for D, g in zip(deltas, gm))
    info = expected_information(emodel, x_ext, fit.weights, full=True, implied=implied, deltas=deltas)
    K = fit.K
    I_red = K.T @ info[:n_full, :n_full] @ K
    I_cf = info[n_full:, :n_full] @ K
    I_cc = info[n_full:, n_full:]
    try:
        inv = np.linalg.inv(I_red)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(I_red)
    V = np.diag(I_cc) - np.einsum("ij,jk,ik->i", I_cf, inv, I_cf)
    V = np.where(V < np.finfo(float).eps ** (1 / 3), np.nan, V)
    g_c = grad[n_full:]
    N = fit.ntotal
    mi = N * g_c ** 2 / V
    epc = -g_c / V
    # standardised EPCs (lavaan: EPC of variance rows replaced by their estimates)
    c_lhs = [c[0] for c in cands]
    c_op = [c[1] for c in cands]
    c_rhs = [c[2] for c in cands]
    c_grp = [c[3] for c in cands]
    rv = {(int(pt.group[i]), pt.lhs[i]): est[i] for i in range(pt.nrow)
          if pt.op[i] == "~~" and pt.lhs[i] == pt.rhs[i]}
    EPC = epc.copy()
    is_var = np.array([o == "~~" and a == b for a, o, b in zip(c_lhs, c_op, c_rhs)])
    for k, (a, o, b, g, row) in enumerate(cands):
        if is_var[k] and not (row is not None and pt.exo[row]):
            EPC[k] = est[row] if row is not None else 0.0
    allc = [C for C, _ in fit.model.implied(fit.x, all_vars=True)]
    with np.errstate(all="ignore"):
        s_lv, s_all = standardize(c_lhs, c_op, c_rhs, c_grp, np.abs(EPC), rv, fit.model, allc)
    sign = np.sign(epc)
    sepc_lv = sign * s_lv
    sepc_all = sign * s_all
    small = is_var & (np.abs(EPC) < np.sqrt(np.finfo(float).eps))
    sepc_lv[small] = 0.0
    sepc_all[small] = 0.0
    sepc_nox = sepc_all.copy()
    ov_x = set(pt.roles.ov_x)
    if ov_x:
        pos = fit.model.pos
        for k in range(nc):
            if c_op[k] == "~" and c_rhs[k] in ov_x:
                d = np.diag(allc[c_grp[k] - 1])
                sepc_nox[k] = sepc_all[k] / np.sqrt(d[pos[c_rhs[k]]])
    gl = fit.group_labels
    out = pd.DataFrame({"lhs": c_lhs, "op": c_op, "rhs": c_rhs,
                        "group": [gl[g - 1] if fit.ngroups > 1 else None for g in c_grp],
                        "mi": mi, "epc": epc, "sepc_lv": sepc_lv, "sepc_all": sepc_all,
                        "sepc_nox": sepc_nox})
    out = out[out["mi"].notna()].reset_index(drop=True)
    if minimum_value > 0:
        out = out[out["mi"] > minimum_value].reset_index(drop=True)
    if sort:
        out = out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
    return out
