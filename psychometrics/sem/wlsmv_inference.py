"""Inference for the (D)WLS / ULS estimators of ordinal indicators, as lavaan 0.6-14 reports it.

* **Robust standard errors** (``se = "robust.sem"``, ``lav_model_nvcov_robust_sem``):
  ``vcov = E^-1 (sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g) E^-1 / N`` with
  ``E = sum_g f_g Delta_g' W_g Delta_g`` and ``f_g = N_g/N`` (Muthén, du Toit & Spisic 1997).
* **Tests** (``lav_test_satorra_bentler``): ``U = V - V Delta E^-1 Delta' V`` with
  ``V = blockdiag(f_g W_g)`` and ``Gamma = blockdiag(Gamma_g / f_g)``;
  mean-adjusted (WLSM, ULSM; ``"satorra.bentler"``): ``T / c`` with ``c = tr(U Gamma) / df``;
  mean-and-variance adjusted, scaled-shifted (WLSMV, ULSMV; ``"scaled.shifted"``,
  Asparouhov & Muthén 2010): ``a T + b`` with ``a = sqrt(df / tr((U Gamma)^2))``,
  ``b = df - a tr(U Gamma)``, reported scaling factor ``1/a``; WLSMVS / ULSMVS
  (``"mean.var.adjusted"``, Satterthwaite): ``T / c`` on ``df = tr(UG)^2 / tr((UG)^2)``.
  The baseline (independence: thresholds free, correlations 0) gets the same corrections.
* **Robust CFI/TLI/RMSEA** for categorical data (``lav_fit_catml_dwls``; Savalei 2021): the
  normal-theory ML discrepancy of the implied correlation matrix against the polychoric matrix
  at the DWLS estimates ("catML", ``XX3``), corrected by
  ``c3 = tr(WiU' V_ml WiU Gamma) / df`` (correlation part of the moments).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .fitindices import incremental_indices, rmsea_ci


def _bdiag(blocks):
    n = sum(b.shape[0] for b in blocks)
    m = sum(b.shape[1] for b in blocks)
    out = np.zeros((n, m))
    i = j = 0
    for b in blocks:
        out[i:i + b.shape[0], j:j + b.shape[1]] = b
        i += b.shape[0]
        j += b.shape[1]
    return out


def wls_parts(fit):
    """Per group ``(Delta_g (WLS rows, reduced columns), w_g (DWLS weights), Gamma_g, f_g)``."""
    obj = fit.objective
    deltas = fit.model.delta(fit.x)
    out = []
    for g, gs in enumerate(fit.sample.groups):
        D = deltas[g][obj.wls_rows(g)]
        out.append((D, obj.wv[g], np.asarray(gs.gamma, float), obj.fg[g]))
    return out


def information(parts) -> np.ndarray:
    """``E = sum_g f_g Delta_g' W_g Delta_g`` (lavaan's expected information for (D)WLS)."""
    return sum(f * (D.T * w) @ D for D, w, G, f in parts)


def robust_vcov(parts, ntotal: int) -> np.ndarray:
    """Sandwich covariance of the (reduced) estimates (``se = "robust.sem"``)."""
    E_inv = np.linalg.inv(information(parts))
    meat = sum(f * (D.T * w) @ G @ (D * w[:, None]) for D, w, G, f in parts)
    return E_inv @ meat @ E_inv / ntotal


def ugamma_traces(parts, E_inv):
    """``tr(U Gamma)`` and ``tr((U Gamma)^2)`` (``lav_test_satorra_bentler_trace_original``)."""
    V = _bdiag([np.diag(f * w) for D, w, G, f in parts])
    Gm = _bdiag([G / f for D, w, G, f in parts])
    Dall = np.vstack([D for D, w, G, f in parts])
    U = V - V @ Dall @ E_inv @ Dall.T @ V
    UG = U @ Gm
    return float(np.sum(U * Gm)), float(np.sum(UG * UG.T))


def corrected_tests(T: float, df: int, tr1: float, tr2: float) -> dict:
    """The mean-adjusted, scaled-shifted and mean-and-variance adjusted statistics."""
    out = {}
    if df <= 0:
        nan = float("nan")
        return {"sb": (T, df, nan), "ss": (T, df, nan, nan), "mv": (T, df, nan)}
    c = tr1 / df
    out["sb"] = (T / c, df, c)
    a = np.sqrt(df / tr2)
    b = df - a * tr1
    out["ss"] = (T * a + b, df, 1.0 / a, b)
    dfm = tr1 ** 2 / tr2
    cm = tr1 / dfm
    out["mv"] = (T / cm, dfm, cm)
    return out


TEST_OF = {"WLSMV": "ss", "ULSMV": "ss", "WLSM": "sb", "ULSM": "sb", "WLSMVS": "mv",
           "ULSMVS": "mv", "DWLS": None, "ULS": None}


def baseline_parts(fit):
    """Baseline (independence) model of the ordinal data: thresholds free, correlations 0.
    Returns ``(T_b, df_b, parts_b)``."""
    obj = fit.objective
    mdl = fit.model
    T = 0.0
    parts = []
    nfree = sum(mdl.nth)
    col = 0
    for g, gs in enumerate(fit.sample.groups):
        nth = mdl.nth[g]
        nod = len(mdl.od_r)
        r = obj.obs[g][nth:]
        T += 2 * fit.ntotal * obj.fg[g] * obj.c[g] * float(np.sum(obj.wv[g][nth:] * r * r))
        D = np.zeros((nth + nod, nfree))
        D[np.arange(nth), col + np.arange(nth)] = 1.0
        col += nth
        parts.append((D, obj.wv[g], np.asarray(gs.gamma, float), obj.fg[g]))
    df = sum(len(mdl.od_r) for _ in fit.sample.groups)
    return T, df, parts


def catml(fit, E_inv) -> dict:
    """lavaan's ``lav_fit_catml_dwls``: ``XX3, df3, c_hat3, XX3_scaled, XX3_null, df3_null,
    c_hat3_null`` (NaN when a polychoric matrix is not positive definite)."""
    nan = float("nan")
    empty = dict(XX3=nan, df3=nan, c_hat3=nan, XX3_scaled=nan, XX3_null=nan, df3_null=nan,
                 c_hat3_null=nan)
    mdl = fit.model
    obj = fit.objective
    pt = fit.partable
    if any(pt.op[i] == "~*~" and pt.free[i] > 0 for i in range(pt.nrow)):
        # lavaan's continuous catML refit cannot carry free scale factors: NA there too
        return empty
    r, c = mdl.od_r, mdl.od_c
    XX3 = XX3n = 0.0
    Vg, Wg, Gg, Dg = [], [], [], []
    deltas = mdl.delta(fit.x)
    implied = mdl.implied(fit.x)
    for g, gs in enumerate(fit.sample.groups):
        R = np.asarray(gs.cor, float)
        if np.linalg.eigvalsh(R).min() < np.sqrt(np.finfo(float).eps):
            return empty
        # catML: the implied latent-response covariance (correlations in delta param.)
        Sr, mr, d = mdl.latent_response(fit.x)[g]
        S = implied[g][0]
        Si = np.linalg.inv(S)
        p = R.shape[0]
        _, ldS = np.linalg.slogdet(S)
        _, ldR = np.linalg.slogdet(R)
        Fg = ldS + np.trace(R @ Si) - ldR - p
        XX3 += gs.nobs * Fg
        XX3n += gs.nobs * (-ldR)
        fg = obj.fg[g]
        nth = mdl.nth[g]
        V = Si[np.ix_(r, r)] * Si[np.ix_(c, c)] + Si[np.ix_(r, c)] * Si[np.ix_(c, r)]
        Vg.append(fg * V)
        Wg.append(np.diag(fg * obj.wv[g][nth:]))
        Gg.append(np.asarray(gs.gamma, float)[nth:, nth:] / fg)
        Dg.append(deltas[g][nth + mdl.od_in_vech])
    npar_cor = int(fit.npar - sum(1 for k in range(fit.npar) if _is_threshold(fit, k)))
    df3 = sum(len(r) for _ in fit.sample.groups) - npar_cor
    Wall, Vall, Gall = _bdiag(Wg), _bdiag(Vg), _bdiag(Gg)
    Dall = np.vstack(Dg)
    WiU = np.eye(Wall.shape[0]) - Dall @ E_inv @ Dall.T @ Wall
    ks = float(np.trace(WiU.T @ Vall @ WiU @ Gall))
    c3 = ks / df3 if df3 > 0 else nan
    df3n = sum(len(r) for _ in fit.sample.groups)
    c3n = float(np.trace(Gall)) / df3n
    return dict(XX3=XX3, df3=df3, c_hat3=c3, XX3_scaled=XX3 / c3 if df3 > 0 else nan,
                XX3_null=XX3n, df3_null=df3n, c_hat3_null=c3n)


def _is_threshold(fit, k) -> bool:
    pt = fit.partable
    rows = [i for i in range(pt.nrow) if pt.free[i] > 0 and pt.eq_map[pt.free[i] - 1] == k]
    return bool(rows) and all(pt.op[i] == "|" for i in rows)


def _rmsea(x2, df, n, g, c=1.0):
    if not (np.isfinite(x2) and np.isfinite(df)) or df <= 0:
        return 0.0 if df == 0 else float("nan")
    return float(np.sqrt(max((x2 / n) / df - c / n, 0.0)) * np.sqrt(g))


def _rmsea_ci(x2, df, n, g, c=1.0):
    """lavaan's ``lav_fit_rmsea_ci`` with a c.hat: limits of the non-central chi-square on
    ``x2`` scaled back by ``c`` (``sqrt(c)`` multiplies the interval)."""
    if not (np.isfinite(x2) and np.isfinite(df) and np.isfinite(c)):
        return float("nan"), float("nan")
    lo, hi = rmsea_ci(x2, df, n, g)
    return lo * np.sqrt(c), hi * np.sqrt(c)


def _rmsea_close(x2, df, n, g, h0, c=1.0, notclose=False):
    if not (np.isfinite(x2) and np.isfinite(df)) or df <= 0:
        return float("nan")
    lam = n * df * h0 ** 2 / (g * c)
    return float(stats.ncx2.cdf(x2, df, lam) if notclose else stats.ncx2.sf(x2, df, lam))


def wlsmv_measures(fit) -> dict:
    """Every fit measure ``fitMeasures()`` gives for the fit's estimator (see module docstring);
    also sets the robust vcov.  Returns ``(vcov, measures, extra)``."""
    G = fit.ngroups
    # lavaan (lav_utils_get_ntotal, lav_model_vcov): N - G for the (D)WLS family
    N = fit.ntotal - G
    parts = wls_parts(fit)
    E = information(parts)
    E_inv = np.linalg.inv(E)
    vcov = robust_vcov(parts, N)
    T = 2 * fit.ntotal * fit.fmin
    df = fit.df
    fm = {"npar": fit.npar, "fmin": fit.fmin, "chisq": T, "df": df,
          "pvalue": float(stats.chi2.sf(T, df)) if df > 0 else float("nan")}
    Tb, dfb, bparts = baseline_parts(fit)
    fm.update({"baseline_chisq": Tb, "baseline_df": dfb,
               "baseline_pvalue": float(stats.chi2.sf(Tb, dfb)) if dfb > 0 else float("nan")})
    fm.update(incremental_indices(T, df, Tb, dfb))
    fm["rmsea"] = _rmsea(T, df, N, G)
    fm["rmsea_ci_lower"], fm["rmsea_ci_upper"] = rmsea_ci(T, df, N, G)
    fm["rmsea_ci_level"] = 0.90
    fm["rmsea_pvalue"] = _rmsea_close(T, df, N, G, 0.05)
    fm["rmsea_notclose_pvalue"] = _rmsea_close(T, df, N, G, 0.08, notclose=True)
    fm["rmsea_close_h0"], fm["rmsea_notclose_h0"] = 0.05, 0.08
    extra = {"E_inv": E_inv}
    kind = TEST_OF.get(fit.estimator)
    if kind is not None:
        tr1, tr2 = ugamma_traces(parts, E_inv)
        Eb_inv = np.linalg.inv(information(bparts))
        btr1, btr2 = ugamma_traces(bparts, Eb_inv)
        mt = corrected_tests(T, df, tr1, tr2)[kind]
        bt = corrected_tests(Tb, dfb, btr1, btr2)[kind]
        Ts, dfs, cs = mt[0], mt[1], mt[2]
        Tbs, dfbs, cbs = bt[0], bt[1], bt[2]
        extra.update(trace_UGamma=tr1, trace_UGamma2=tr2, test=kind,
                     shift_parameter=mt[3] if kind == "ss" else None)
        fm.update({"chisq_scaled": Ts, "df_scaled": dfs,
                   "pvalue_scaled": float(stats.chi2.sf(Ts, dfs)) if dfs > 0 else float("nan"),
                   "chisq_scaling_factor": cs,
                   "baseline_chisq_scaled": Tbs, "baseline_df_scaled": dfbs,
                   "baseline_pvalue_scaled": float(stats.chi2.sf(Tbs, dfbs)),
                   "baseline_chisq_scaling_factor": cbs})
        if kind == "ss":
            fm["chisq_shift_parameter"] = mt[3]
            fm["baseline_chisq_shift_parameter"] = bt[3]
        sc = incremental_indices(Ts, dfs, Tbs, dfbs)
        for k in ("cfi", "tli", "nnfi", "rfi", "nfi", "pnfi", "ifi", "rni"):
            fm[f"{k}_scaled"] = sc[k]
        # rmsea.scaled: scaled-shifted -> (T_ss, df); otherwise (T, tr(UG)) (lav_fit_rmsea_lavobject)
        if kind == "ss":
            X2s, df2 = Ts, df
        else:
            X2s, df2 = T, tr1
        fm["rmsea_scaled"] = _rmsea(X2s, df2, N, G)
        fm["rmsea_ci_lower_scaled"], fm["rmsea_ci_upper_scaled"] = rmsea_ci(X2s, df2, N, G)
        fm["rmsea_pvalue_scaled"] = _rmsea_close(X2s, df2, N, G, 0.05)
        fm["rmsea_notclose_pvalue_scaled"] = _rmsea_close(X2s, df2, N, G, 0.08, notclose=True)
        if kind in ("ss", "sb"):
            cm = catml(fit, E_inv)
            extra["catml"] = cm
            X3, df3, c3, X3s = cm["XX3"], cm["df3"], cm["c_hat3"], cm["XX3_scaled"]
            X3n, df3n, c3n = cm["XX3_null"], cm["df3_null"], cm["c_hat3_null"]
            fm["cfi_robust"] = _cfi_c(X3, df3, X3n, df3n, c3, c3n)
            fm["tli_robust"] = _tli_c(X3, df3, X3n, df3n, c3, c3n)
            fm["nnfi_robust"] = fm["tli_robust"]
            fm["rni_robust"] = _rni_c(X3, df3, X3n, df3n, c3, c3n)
            fm["rmsea_robust"] = _rmsea(X3, df3, N, G, c3)
            fm["rmsea_ci_lower_robust"], fm["rmsea_ci_upper_robust"] = _rmsea_ci_chat(X3s, df3, N, G, c3)
            fm["rmsea_pvalue_robust"] = _rmsea_close_chat(X3s, df3, N, G, 0.05, c3)
            fm["rmsea_notclose_pvalue_robust"] = _rmsea_close_chat(X3s, df3, N, G, 0.08, c3, True)
    fm.update(_srmr_wrmr(fit, T))
    fm.update(_other_indices(fit, T, df, N))
    if fit.estimator.startswith("ULS"):
        # the unweighted statistic is not chi-square distributed: lavaan gives no p value
        fm["pvalue"] = fm["baseline_pvalue"] = float("nan")
    return vcov, fm, extra


def _cfi_c(X2, df, X2n, dfn, c, cn):
    vals = [X2, df, X2n, dfn, c, cn]
    if any(not np.isfinite(v) for v in vals):
        return float("nan")
    if df > 0 and c != 1 and cn != 1:
        t1 = max(X2 - c * df, 0.0)
        t2 = max(X2 - c * df, X2n - cn * dfn, 0.0)
    else:
        t1 = max(X2 - df, 0.0)
        t2 = max(X2 - df, X2n - dfn, 0.0)
    if np.isclose(t1, 0, atol=1.5e-8) and np.isclose(t2, 0, atol=1.5e-8):
        return 1.0
    return 1 - t1 / t2


def _tli_c(X2, df, X2n, dfn, c, cn):
    """lavaan's ``lav_fit_tli`` with c.hat: ``1 - ((X2 - c df)/df) / ((X2n - cn dfn)/dfn)``."""
    if any(not np.isfinite(v) for v in [X2, df, X2n, dfn, c, cn]):
        return float("nan")
    if df > 0 and c != 1 and cn != 1:
        t1 = (X2 - c * df) * dfn
        t2 = (X2n - cn * dfn) * df
    else:
        t1 = (X2 - df) * dfn
        t2 = (X2n - dfn) * df
    if df > 0 and abs(t2) > 0:
        return 1 - t1 / t2
    return 1.0


def _rni_c(X2, df, X2n, dfn, c, cn):
    if any(not np.isfinite(v) for v in [X2, df, X2n, dfn, c, cn]):
        return float("nan")
    if df > 0 and c != 1 and cn != 1:
        t1 = X2 - c * df
        t2 = X2n - cn * dfn
    else:
        t1, t2 = X2 - df, X2n - dfn
    return float("nan") if np.isclose(t2, 0) else 1 - t1 / t2


def _rmsea_ci_chat(X2, df, N, G, c):
    """``lav_fit_rmsea_ci(X2, df, N, G, c.hat)``: non-central chi-square limits on ``X2``
    with ``sqrt(lambda / (N df)) * sqrt(c)``."""
    if not (np.isfinite(X2) and np.isfinite(df) and np.isfinite(c)):
        return float("nan"), float("nan")
    lo, hi = rmsea_ci(X2, df, N, G)
    return lo * np.sqrt(c), hi * np.sqrt(c)


def _rmsea_close_chat(X2, df, N, G, h0, c, notclose=False):
    if not (np.isfinite(X2) and np.isfinite(df) and np.isfinite(c)) or df <= 0:
        return float("nan")
    lam = N * df * h0 ** 2 / (G * c)
    return float(stats.ncx2.cdf(X2, df, lam) if notclose else stats.ncx2.sf(X2, df, lam))


def _other_indices(fit, T, df, N) -> dict:
    """Hoelter's critical N (cn_05, cn_01), McDonald's MFI and GFI/AGFI/PGFI on the weighted
    residuals of ``WLS.obs`` (``lav_fit_cn``, ``lav_fit_mfi``, ``lav_fit_gfi``)."""
    out = {}
    for a, key in ((0.05, "cn_05"), (0.01, "cn_01")):
        out[key] = (float("nan") if (df == 0 and T < np.finfo(float).eps)
                    else float(stats.chi2.ppf(1 - a, df) / (T / N) + 1))
    out["mfi"] = float(np.exp(-0.5 * (T - df) / N))
    obj = fit.objective
    gfis, nobs = [], []
    for g, m in enumerate(obj.moments(fit.model.implied(fit.x))):
        d = obj.obs[g] - m
        gfis.append(1 - np.sum(d * d * obj.wv[g]) / np.sum(obj.obs[g] ** 2 * obj.wv[g]))
        nobs.append(fit.sample.groups[g].nobs)
    gfi = float(np.dot(nobs, gfis) / np.sum(nobs))
    nel = sum(len(o) for o in obj.obs)
    out["gfi"] = gfi
    out["agfi"] = 1 - (nel / df) * (1 - gfi) if df > 0 else 1.0
    out["pgfi"] = (df / nel) * gfi if nel else float("nan")
    return out


def _srmr_wrmr(fit, T) -> dict:
    """SRMR family on the correlation residuals (lavaan: ``srmr`` = ``srmr_bentler_nomean``
    for categorical data) and WRMR = ``sqrt(chisq / number of sample statistics)``."""
    mdl = fit.model
    r, c = mdl.vr, mdl.vc
    od = r != c
    out = {"rmr": 0.0, "rmr_nomean": 0.0, "srmr_bentler": 0.0, "srmr_bentler_nomean": 0.0,
           "crmr": 0.0, "crmr_nomean": 0.0}
    nel = 0
    for g, (S, th) in enumerate(mdl.implied(fit.x)):
        gs = fit.sample.groups[g]
        w = gs.nobs / fit.ntotal
        R = np.asarray(gs.cor, float)
        res = (R - S)[r, c]
        tres = np.asarray(gs.th) - th
        nomean = np.sqrt(np.mean(res ** 2))
        cr = np.sqrt(np.mean(res[od] ** 2))
        # "total" adds the threshold residuals (lav_residuals_summary)
        tot = np.sqrt((np.sum(res ** 2) + np.sum(tres ** 2)) / (len(res) + len(tres)))
        ctot = np.sqrt((np.sum(res[od] ** 2) + np.sum(tres ** 2)) / (od.sum() + len(tres)))
        out["rmr"] += w * tot
        out["rmr_nomean"] += w * nomean
        out["srmr_bentler"] += w * tot
        out["srmr_bentler_nomean"] += w * nomean
        out["crmr"] += w * ctot
        out["crmr_nomean"] += w * cr
        nel += len(gs.wls_obs)
    out["srmr"] = out["srmr_bentler_nomean"]
    out["srmr_mplus"] = float("nan")
    out["srmr_mplus_nomean"] = float("nan")
    # lavaan divides by the number of sample statistics of one group (nel / G)
    nel = nel / len(fit.sample.groups)
    out["wrmr"] = float(np.sqrt(T / nel)) if nel else float("nan")
    return out


# ---------------------------------------------------------------------------- difference tests
def _orth_complement_rows(H: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Rows spanning the orthogonal complement of the column space of ``H``."""
    u, sv, _ = np.linalg.svd(H, full_matrices=True)
    rank = int(np.sum(sv > tol * max(sv.max() if sv.size else 0.0, 1.0)))
    return u[:, rank:].T


def satorra2000_difference(fit1, fit0, scaled_shifted: bool = True) -> dict:
    """Scaled difference test of nested (D)WLS fits as ``lavTestLRT(fit1, fit0)`` gives it for
    WLSMV: Satorra (2000) with the scaled-shifted correction (Asparouhov & Muthén 2010;
    ``lav_test_diff_Satorra2000(..., scaled.shifted = TRUE)``, ``A.method = "delta"``).

    ``fit1`` is the less constrained model.  With ``P = E(fit1)``, ``A`` the constraints that
    turn ``fit1`` into ``fit0`` (orthogonal complement of ``pinv(Delta1) Delta0``) and
    ``M = P^-1 A' (A P^-1 A')^+ A P^-1``: ``tr(UG) = sum_g f_g tr(W_g Gamma_g W_g Delta_g M
    Delta_g')``, ``tr(UG^2)`` on the stacked groups with ``f_g Gamma_g``;
    ``T = (T0 - T1) a + b`` with ``a = sqrt(m / tr(UG^2))``, ``b = m - a tr(UG)``, ``m`` the df
    difference.  Mean-adjusted (``scaled_shifted=False``, WLSM): ``(T0 - T1) / (tr(UG) / m)``.
    Returns ``chisq_diff, df_diff, p_diff, a, b, scaling_factor``.
    """
    T1, r1 = 2 * fit1.ntotal * fit1.fmin, fit1.df
    T0, r0 = 2 * fit0.ntotal * fit0.fmin, fit0.df
    m = r0 - r1
    if m == 0:
        return {"chisq_diff": T0 - T1, "df_diff": 0, "p_diff": float("nan"), "a": float("nan"),
                "b": float("nan"), "scaling_factor": float("nan")}
    p1 = wls_parts(fit1)
    p0 = wls_parts(fit0)
    D1 = np.vstack([D for D, w, G, f in p1])
    D0 = np.vstack([D for D, w, G, f in p0])
    H = np.linalg.pinv(D1) @ D0
    A = _orth_complement_rows(H)
    P_inv = np.linalg.inv(information(p1))
    APA = A @ P_inv @ A.T
    keep = ~((np.abs(APA.sum(axis=0)) < np.sqrt(np.finfo(float).eps))
             & (np.abs(APA.sum(axis=1)) < np.sqrt(np.finfo(float).eps)))
    A = A[keep]
    M = P_inv @ A.T @ np.linalg.pinv(A @ P_inv @ A.T) @ A @ P_inv
    tr1 = 0.0
    for D, w, G, f in p1:
        WGW = (w[:, None] * G) * w[None, :]
        tr1 += f * float(np.sum(WGW * (D @ M @ D.T).T))
    Gall = _bdiag([f * G for D, w, G, f in p1])
    Vall = np.concatenate([w for D, w, G, f in p1])
    U = (Vall[:, None] * (D1 @ M @ D1.T)) * Vall[None, :]
    UG = U @ Gall
    tr2 = float(np.sum(UG * UG.T))
    if scaled_shifted:
        a = np.sqrt(m / tr2)
        b = m - a * tr1
        T = (T0 - T1) * a + b
        cd = float("nan")
    else:
        cd = tr1 / m
        T = (T0 - T1) / cd
        a = b = float("nan")
    return {"chisq_diff": float(T), "df_diff": int(m),
            "p_diff": float(stats.chi2.sf(T, m)), "a": float(a), "b": float(b),
            "scaling_factor": float(cd), "trace_UGamma": tr1, "trace_UGamma2": tr2}
