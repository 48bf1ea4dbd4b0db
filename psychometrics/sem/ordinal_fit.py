"""The fitted model for ordinal indicators (:class:`OrdinalCFAFit`) and its pipeline
:func:`fit_ordinal` behind ``pm.cfa(..., ordered=..., estimator="WLSMV")``.

Estimators as lavaan 0.6-14 defines them for categorical data: ``"WLSMV"`` (DWLS, robust
SEs, scaled-shifted test), ``"WLSM"`` (DWLS, robust SEs, mean-adjusted test), ``"WLSMVS"``
(mean-and-variance adjusted, Satterthwaite df), ``"DWLS"`` (standard SEs and test), and the
same with unweighted least squares (``"ULSMV"``, ``"ULSM"``, ``"ULSMVS"``, ``"ULS"``).
Sample statistics: two-step polychoric correlations and their asymptotic covariance
(Muthén 1984; Muthén, du Toit & Spisic 1997) from :mod:`psychometrics.polychoric`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import CellProblem, DataError, ModelError
from . import defined as _defined
from .dwls import DWLSObjective
from .estimate import optimize, single_thread_blas
from .model import Model
from .ordinal import OrdinalGroupStats, OrdinalModel, OrdinalStats
from .partable import build_partable, var_roles
from .results import CFAFit
from .syntax import parse_model
from . import wlsmv_inference as _wi

ORDINAL_ESTIMATORS = ("WLSMV", "WLSM", "WLSMVS", "DWLS", "ULSMV", "ULSM", "ULSMVS", "ULS")
MAX_CATEGORIES = 10


class OrdinalCFAFit(CFAFit):
    """A CFA fitted to ordinal indicators by (D)WLS / ULS (see module docstring).

    Same methods as :class:`CFAFit`; ``parameters()`` has threshold rows (op ``"|"``, rhs
    ``t1``, ``t2``, ...), scale rows (``"~*~"``, delta parameterization) and the computed
    residual variances; ``fit_measures()`` is lavaan's list for the estimator (no likelihood
    measures).
    """

    ordinal = True

    def _check(self) -> None:
        if not self.converged:
            self._warn("nonconvergence", f"the optimiser did not converge ({self.optimizer_message})")
        for g, gs in enumerate(self.sample.groups):
            w = np.linalg.eigvalsh(gs.cor)
            if w.min() <= 0:
                self._warn("npd_sample", f"polychoric correlation matrix of group {self._gname(g)} "
                           f"is not positive definite (smallest eigenvalue {w.min():.3g})")
        if self.df < 0:
            self._warn("underidentified", f"the model has negative degrees of freedom ({self.df})")
        for (g, v), val in self.model.residual_variances(self.x).items():
            if val < 0:
                self._warn("heywood", f"negative residual variance of {v} in group "
                           f"{self._gname(g - 1)} ({val:.4g}) (Heywood case)")
        try:
            info = self.information()
            w = np.linalg.eigvalsh(info)
            self._singular = bool(w.min() <= 1e-10 * max(abs(w).max(), 1e-300))
        except np.linalg.LinAlgError:
            self._singular = True
        if self._singular:
            self._warn("singular_information", "the information matrix is singular: the model "
                       "may not be identified (standard errors are not available)")

    @property
    def ndat(self) -> int:
        return int(sum(len(g.wls_obs) for g in self.sample.groups))

    def information(self, kind: str = "expected", full: bool = False) -> np.ndarray:
        """Unit expected information ``sum_g (N_g/N) Delta_g' W_g Delta_g`` (lavaan's for (D)WLS)."""
        key = ("info", "wls", full)
        if key not in self._cache:
            deltas = self.model.delta(self.x_full if full else self.x, full=full)
            obj = self.objective
            self._cache[key] = sum(obj.fg[g] * (D[obj.wls_rows(g)].T * obj.wv[g]) @ D[obj.wls_rows(g)]
                                   for g, D in enumerate(deltas))
        return self._cache[key]

    def _robust(self):
        if "wlsmv" not in self._cache:
            if getattr(self, "_singular", False):
                n = self.x.size
                self._cache["wlsmv"] = (np.full((n, n), np.nan), {}, {})
            else:
                self._cache["wlsmv"] = _wi.wlsmv_measures(self)
        return self._cache["wlsmv"]

    def vcov(self) -> np.ndarray:
        """Covariance of the reduced estimates: robust sandwich for WLSMV/WLSM/ULSMV/...
        (``se = "robust.sem"``), ``inv(N E)`` for plain DWLS/ULS."""
        if "vcov" not in self._cache:
            if self.estimator in ("DWLS", "ULS"):
                self._cache["vcov"] = np.linalg.inv((self.ntotal - self.ngroups) * self.information())
            else:
                self._cache["vcov"] = self._robust()[0]
        return self._cache["vcov"]

    def _est_rows(self) -> np.ndarray:
        est = super()._est_rows()
        pt = self.partable
        rv = self.model.residual_variances(self.x)
        scales = [d for _, _, d in self.model.latent_response(self.x)]
        for i in range(pt.nrow):
            if pt.op[i] == "~~" and pt.lhs[i] == pt.rhs[i] and (int(pt.group[i]), pt.lhs[i]) in rv:
                est[i] = rv[(int(pt.group[i]), pt.lhs[i])]
            elif pt.op[i] == "~*~" and pt.free[i] == 0:
                est[i] = scales[pt.group[i] - 1][self.model.pos[pt.lhs[i]]]
        return est

    def _all_cov(self) -> list:
        """Covariances of latent responses and factors with the residual variances filled in."""
        out = []
        rv = self.model.residual_variances(self.x)
        for g, (A, P, M) in enumerate(self.model.matrices(self.x)):
            P = P.copy()
            for j, v in enumerate(self.model.ov):
                if (g + 1, v) in rv:
                    P[j, j] = rv[(g + 1, v)]
            B = np.linalg.inv(np.eye(self.model.m) - A)
            out.append(B @ P @ B.T)
        return out

    def _parameters(self, rsquare: bool) -> pd.DataFrame:
        """``parameterEstimates(fit, standardized=TRUE)`` with threshold and scale rows
        (computed once per fit: :meth:`CFAFit.parameters` keeps it and returns copies).  A
        threshold's standardised value is ``est / sd`` and a scale's ``est * sd``, with ``sd``
        the latent response's model-implied standard deviation (lavaan's ``std.all``)."""
        df = super()._parameters(rsquare)
        rows = np.flatnonzero(df["op"].isin(["|", "~*~"]).to_numpy())
        if not len(rows):
            return df
        allc = self._all_cov()
        pos = self.model.pos
        gl = self.group_labels
        sub = df.iloc[rows]
        gi = ([gl.index(g) for g in sub["group"]] if self.ngroups > 1 else [0] * len(rows))
        sd = np.sqrt(np.array([allc[g][pos[v], pos[v]] for g, v in zip(gi, sub["lhs"])]))
        est = sub["est"].to_numpy(dtype=float)
        std = np.where(sub["op"].to_numpy() == "|", est / sd, est * sd)
        cols = [df.columns.get_loc(c) for c in ("std_lv", "std_all", "std_nox")]
        df.iloc[rows, cols[0]] = est
        df.iloc[rows, cols[1]] = std
        df.iloc[rows, cols[2]] = std
        return df

    def fit_measures(self) -> dict:
        """``fitMeasures(fit)`` for the estimator (see :mod:`.wlsmv_inference`)."""
        with single_thread_blas():
            fm = dict(self._robust()[1]) if self.x.size else {}
            if not fm:
                fm = {"npar": self.npar, "chisq": 2 * self.ntotal * self.fmin, "df": self.df}
            fm["ntotal"] = self.ntotal
            # flagged, not hidden (as CFAFit): why the fit must not be reported as a result
            fm["converged"] = bool(self.converged)
            fm["problem"] = self.problem
            return fm

    def test_details(self) -> dict:
        """Traces of ``U Gamma``, the shift parameter and the catML pieces (for difference tests)."""
        return dict(self._robust()[2])

    def residuals(self, type: str = "cor") -> list:
        """Residual polychoric correlations and thresholds per group (sample - implied)."""
        out = []
        ov = self.model.ov
        for g, (S, th) in enumerate(self.model.implied(self.x)):
            gs = self.sample.groups[g]
            out.append({"group": self.group_labels[g],
                        "cov": pd.DataFrame(np.asarray(gs.cor) - S, index=ov, columns=ov),
                        "th": pd.Series(gs.th - th, index=self.threshold_names(g))})
        return out

    def threshold_names(self, g: int = 0) -> list:
        names, count = [], {}
        for j in self.model.th_item[g]:
            v = self.model.ov[j]
            count[v] = count.get(v, 0) + 1
            names.append(f"{v}|t{count[v]}")
        return names

    def thresholds(self) -> pd.DataFrame:
        """Estimated thresholds: rows (group, item), columns t1, t2, ..."""
        pe = self.parameters()
        th = pe[pe.op == "|"]
        return th.pivot_table(index=["group", "lhs"] if self.ngroups > 1 else ["lhs"],
                              columns="rhs", values="est", sort=False)

    def r2(self) -> pd.DataFrame:
        pt = self.partable
        est = self._est_rows()
        allc = self._all_cov()
        rows = []
        for g in range(self.ngroups):
            for i in range(pt.nrow):
                if pt.group[i] == g + 1 and pt.op[i] == "~~" and pt.lhs[i] == pt.rhs[i] \
                        and pt.lhs[i] in pt.roles.ov_ind:
                    v = pt.lhs[i]
                    tot = allc[g][self.model.pos[v], self.model.pos[v]]
                    rows.append({"group": self.group_labels[g] if self.ngroups > 1 else None,
                                 "variable": v, "r2": 1 - est[i] / tot})
        return pd.DataFrame(rows, columns=["group", "variable", "r2"])

    def summary(self) -> str:
        fm = self.fit_measures()
        lines = [f"{self.model_type}() fit, estimator {self.estimator} (ordinal), N = {self.ntotal}",
                 f"chisq = {fm['chisq']:.3f}, df = {fm['df']}"]
        if "chisq_scaled" in fm:
            lines.append(f"scaled chisq = {fm['chisq_scaled']:.3f}, p = {fm['pvalue_scaled']:.4f}; "
                         f"CFI = {fm.get('cfi_scaled', np.nan):.3f}, RMSEA = {fm.get('rmsea_scaled', np.nan):.3f}")
        for code, text in self.diagnostics.messages:
            lines.append(f"warning ({code}): {text}")
        lines.append(self.parameters().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return "\n".join(lines)

    def modindices(self, sort: bool = False, minimum_value: float = 0.0) -> pd.DataFrame:
        """Modification indices for (D)WLS (lavaan: score tests with the expected information
        ``Delta' W Delta`` of the extended model); see :func:`ordinal_modindices`."""
        return ordinal_modindices(self, sort=sort, minimum_value=minimum_value)


# ---------------------------------------------------------------------------- sample statistics
def ordinal_stats_from_data(data: pd.DataFrame, ov: list, ordered: list, group=None,
                            missing: str = "listwise") -> OrdinalStats:
    """Per-group thresholds, polychoric correlations and Gamma from the data through
    :func:`psychometrics.polychoric.ordinal_sample_stats` (lavaan-compatible; it raises
    :class:`~psychometrics.polychoric.OrdinalDataError` for a column with one observed
    category, more than 10 categories, or a category empty in one group)."""
    if set(ov) - set(ordered):
        raise ModelError("mixing ordinal and continuous indicators is not supported; "
                         f"declare {sorted(set(ov) - set(ordered))} ordered or analyse them by ML")
    from ..polychoric import ordinal_sample_stats
    res = ordinal_sample_stats(data, ov, group=group, missing=missing)
    return _adapt_stats(res, ov)


def _adapt_stats(res, ov) -> OrdinalStats:
    """Turn the polychoric module's result (or a dict in lavaan's layout) into :class:`OrdinalStats`."""
    if isinstance(res, OrdinalStats):
        return res
    groups_in = res["groups"] if isinstance(res, dict) else res.groups
    labels = res["group_labels"] if isinstance(res, dict) else res.group_labels
    groups = []
    warnings_ = list(getattr(res, "warnings", []) or [])
    # dicts use lavaan's names (tests/reference/wlsmv.json), objects the polychoric module's
    alias = {"th": "thresholds", "th_names": "threshold_names"}
    for g, gr in enumerate(groups_in):
        if isinstance(gr, dict):
            get = gr.__getitem__
        else:
            get = (lambda k, gr=gr: getattr(gr, alias.get(k, k)))
            for w in getattr(gr, "warnings", []) or []:
                if w not in warnings_:
                    warnings_.append(w)
        th = np.asarray(get("th"), float)
        names = list(get("th_names"))
        th_item = np.array([ov.index(n.split("|")[0]) for n in names], dtype=int)
        groups.append(OrdinalGroupStats(nobs=int(get("nobs")), th=th, th_item=th_item,
                                        cor=np.asarray(get("cor"), float),
                                        gamma=np.asarray(get("gamma"), float),
                                        label=labels[g] if labels else None))
    nth = {}
    for j in groups[0].th_item:
        nth[ov[j]] = nth.get(ov[j], 0) + 1
    return OrdinalStats(ov_names=list(ov), groups=groups, group_labels=list(labels or [None]),
                        n_thresholds=nth, warnings=warnings_,
                        missing=getattr(res, "missing", "listwise") if not isinstance(res, dict) else "listwise")


def _check_thresholds_match(stats: OrdinalStats, group) -> None:
    """Every group must have the same categories per item (lavaan refuses otherwise)."""
    ref = stats.groups[0].th_item
    for g, gs in enumerate(stats.groups[1:], start=2):
        if len(gs.th_item) != len(ref) or np.any(gs.th_item != ref):
            counts0 = np.bincount(ref, minlength=len(stats.ov_names))
            counts = np.bincount(gs.th_item, minlength=len(stats.ov_names))
            bad = [stats.ov_names[j] for j in range(len(counts)) if counts[j] != counts0[j]]
            raise DataError("ordinal items cannot be compared across groups", [
                CellProblem(file="data", row=None, column=v, value=stats.group_labels[g - 1],
                            problem=f"a response category of this item is empty in group "
                                    f"{stats.group_labels[g - 1]!r} of {group!r} (lavaan refuses "
                                    "such data); collapse the sparse categories first")
                for v in bad])


# ---------------------------------------------------------------------------- pipeline
def fit_ordinal(model: str, data: pd.DataFrame | None, ordered=True, group=None,
                estimator: str = "WLSMV", missing: str = "listwise", group_equal=(),
                group_partial=(), std_lv: bool = False, orthogonal: bool = False,
                parameterization: str = "delta", ordinal_id: str = "lavaan",
                sample_stats=None, model_type: str = "cfa", _build_only: bool = False):
    """Fit a CFA to ordinal indicators, as ``lavaan::cfa(..., ordered=, estimator=)``.

    ``ordered``: True (every indicator) or a list of columns; ``parameterization``: "delta"
    (default) or "theta"; ``missing``: "listwise" (lavaan's default for ordered data) or
    "pairwise"; ``sample_stats``: precomputed ordinal statistics (lavaan's layout) instead of
    ``data``.  Returns an :class:`OrdinalCFAFit`.
    """
    with single_thread_blas():
        return _fit_ordinal(model, data, ordered, group, estimator, missing, group_equal,
                            group_partial, std_lv, orthogonal, parameterization, ordinal_id,
                            sample_stats, model_type, _build_only)


def _fit_ordinal(model, data, ordered, group, estimator, missing, group_equal, group_partial,
                 std_lv, orthogonal, parameterization, ordinal_id, sample_stats, model_type,
                 build_only=False):
    estimator = str(estimator).upper()
    if estimator == "ML" or estimator == "MLR":
        raise ModelError(f"estimator={estimator!r} with ordered indicators is not supported; "
                         f"use one of {', '.join(ORDINAL_ESTIMATORS)}")
    if estimator not in ORDINAL_ESTIMATORS:
        raise ModelError(f"unknown estimator {estimator!r} for ordered indicators; use one of "
                         f"{', '.join(ORDINAL_ESTIMATORS)}")
    if parameterization not in ("delta", "theta"):
        raise ModelError("parameterization must be 'delta' or 'theta'")
    missing = str(missing).lower()
    if missing not in ("listwise", "pairwise"):
        raise ModelError("missing must be 'listwise' or 'pairwise' for ordered indicators")
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    if isinstance(group_partial, str):
        group_partial = (group_partial,)
    formulas = parse_model(model)
    roles = var_roles(formulas)
    ov = list(roles.ov)
    if ordered is True:
        ordered_l = list(ov)
    else:
        ordered_l = [v for v in ov if v in set(ordered)]
    if sample_stats is not None:
        stats = _adapt_stats(sample_stats, ov)
    else:
        if data is None:
            raise ModelError("give data or sample_stats")
        missing_cols = [v for v in ov if v not in data.columns]
        if missing_cols:
            raise ModelError(f"variables not in the data: {', '.join(missing_cols)}")
        stats = ordinal_stats_from_data(data, ov, ordered_l, group=group, missing=missing)
    if stats.ngroups > 1:
        _check_thresholds_match(stats, group)
    if group_equal and stats.ngroups < 2:
        group_equal = ()
    pt = build_partable(formulas, ngroups=stats.ngroups, meanstructure=True, std_lv=std_lv,
                        orthogonal=orthogonal, group_equal=group_equal, group_partial=group_partial,
                        ordered=stats.n_thresholds, parameterization=parameterization,
                        ordinal_id=ordinal_id)
    _defined.check_names(pt.defined, {lb for lb in pt.label if lb})
    cont = stats.as_continuous()
    ram = Model(pt, cont)
    mdl = OrdinalModel(pt, ram, [g.th_item for g in stats.groups], parameterization)
    obj = DWLSObjective(stats, mdl, weights="uls" if estimator.startswith("ULS") else "dwls")
    xf0 = mdl.start_values(stats)
    x0 = np.zeros(pt.n_reduced)
    seen = set()
    for k, red in enumerate(pt.eq_map):
        if red not in seen:
            x0[red] = xf0[k]
            seen.add(red)
    if build_only:
        return pt, mdl, obj
    opt = optimize(mdl, obj, x0, obj.fg)
    fit = OrdinalCFAFit(pt, mdl, stats, obj, opt, estimator=estimator, missing=missing,
                        model_type=model_type,
                        options={"fixed_x": True, "std_lv": std_lv, "orthogonal": orthogonal,
                                 "group": group, "group_equal": tuple(group_equal),
                                 "group_partial": tuple(group_partial), "meanstructure": True,
                                 "ordered": ordered_l, "parameterization": parameterization,
                                 "ordinal_id": ordinal_id})
    for w in stats.warnings:
        fit._warn("ordinal_data", w)
    return fit


def release_score_test(fit, pt_ext, mdl_ext, obj_ext) -> float:
    """Univariate score (Lagrange multiplier) statistic for freeing what ``pt_ext`` frees
    beyond ``fit``'s table, at ``fit``'s estimates: ``N g' H^-1 g`` with ``g`` the gradient of
    the (D)WLS F of the extended model and ``H`` its Gauss-Newton Hessian (on the scale of
    ``chisq = 2 N F``).  Parameters new in the extended table start at their restricted values."""
    pt = fit.partable
    est = fit._est_rows()
    key = {(pt.lhs[i], pt.op[i], pt.rhs[i], int(pt.group[i])): est[i] for i in range(pt.nrow)}
    xf = np.zeros(pt_ext.n_full)
    for i in range(pt_ext.nrow):
        if pt_ext.free[i] > 0:
            v = key.get((pt_ext.lhs[i], pt_ext.op[i], pt_ext.rhs[i], int(pt_ext.group[i])))
            xf[pt_ext.free[i] - 1] = v if v is not None and np.isfinite(v) else 0.0
    x = np.zeros(pt_ext.n_reduced)
    x[pt_ext.eq_map] = xf
    implied = mdl_ext.implied(x)
    _, gm = obj_ext.value_and_gradient(implied)
    deltas = mdl_ext.delta(x)
    g = sum(D.T @ gg for D, gg in zip(deltas, gm))
    H = obj_ext.information(mdl_ext, x, implied, deltas)
    try:
        return float(fit.ntotal * g @ np.linalg.solve(H, g))
    except np.linalg.LinAlgError:
        return float("nan")


def ordinal_modindices(fit, sort: bool = False, minimum_value: float = 0.0) -> pd.DataFrame:
    """Modification indices of an ordinal (D)WLS fit as ``lavaan::modindices()``: every
    cross-loading and residual covariance of the indicators not in the model, per group.

    ``mi = N g_c^2 / V_c`` with ``g`` the gradient of F of the extended model at the estimates
    (new parameters 0) and ``V_c = E_cc - E_cx E_xx^-1 E_xc`` from the expected information
    ``E = sum_g f_g Delta_g' W_g Delta_g``; ``epc = -g_c / V_c``; sepc as lavaan (std.lv /
    std.all of the EPC, residual covariances standardised by the residual variances).
    Returns lhs, op, rhs, group, mi, epc, sepc_lv, sepc_all, sepc_nox.
    """
    from .partable import ParTable
    from .standardize import standardize
    pt = fit.partable
    ov, lv = list(fit.model.ov), list(fit.model.lv)
    existing = set()
    for i in range(pt.nrow):
        existing.add((pt.lhs[i], pt.op[i], pt.rhs[i], int(pt.group[i])))
        if pt.op[i] == "~~":
            existing.add((pt.rhs[i], "~~", pt.lhs[i], int(pt.group[i])))
    cands = []
    fixed_rows = [i for i in range(pt.nrow) if pt.free[i] == 0 and pt.group[i] > 0 and (
        pt.op[i] == "=~" or (pt.op[i] == "~1" and pt.lhs[i] in ov))]
    for g in range(1, pt.ngroups + 1):
        for f in lv:
            for v in ov:
                if (f, "=~", v, g) not in existing:
                    cands.append((f, "=~", v, g))
        for j in range(len(ov)):
            for i in range(j + 1, len(ov)):
                if (ov[j], "~~", ov[i], g) not in existing:
                    cands.append((ov[j], "~~", ov[i], g))
    cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all", "sepc_nox"]
    if not cands and not fixed_rows:
        return pd.DataFrame(columns=cols)
    nf = len(fixed_rows)
    est = fit._est_rows()
    n_full, n_red = pt.n_full, pt.n_reduced
    lhs, op, rhs = list(pt.lhs) + [c[0] for c in cands], list(pt.op) + [c[1] for c in cands], \
        list(pt.rhs) + [c[2] for c in cands]
    nrow = len(lhs)
    # fixed rows of the model first (freed), then the new rows
    free = np.concatenate([pt.free, np.zeros(len(cands), dtype=int)])
    for k, i in enumerate(fixed_rows):
        free[i] = n_full + 1 + k
    free[pt.nrow:] = n_full + 1 + nf + np.arange(len(cands))
    new = cands
    cands = [(pt.lhs[i], pt.op[i], pt.rhs[i], int(pt.group[i])) for i in fixed_rows] + new
    nc = len(cands)
    ext = ParTable(lhs=lhs, op=op, rhs=rhs, user=np.zeros(nrow, dtype=int),
                   group=np.concatenate([pt.group, [c[3] for c in new]]).astype(int),
                   free=free.astype(int), ustart=np.concatenate([pt.ustart, np.full(len(new), np.nan)]),
                   exo=np.concatenate([pt.exo, np.zeros(len(new), dtype=int)]),
                   label=list(pt.label) + [""] * len(new), start=np.full(nrow, np.nan),
                   ngroups=pt.ngroups, roles=pt.roles, meanstructure=True,
                   eq_map=np.concatenate([pt.eq_map, n_red + np.arange(nc)]).astype(int),
                   eq_label=[""] * nrow)
    stats = fit.sample
    ram = Model(ext, stats.as_continuous())
    mdl = OrdinalModel(ext, ram, [g.th_item for g in stats.groups], fit.model.parameterization)
    obj = DWLSObjective(stats, mdl, weights=fit.objective.kind)
    x = np.concatenate([fit.x, [est[i] for i in fixed_rows], np.zeros(nc - nf)])
    implied = mdl.implied(x)
    _, gm = obj.value_and_gradient(implied)
    deltas = mdl.delta(x)
    grad = sum(D.T @ gg for D, gg in zip(deltas, gm))
    E = sum(obj.fg[g] * (D[obj.wls_rows(g)].T * obj.wv[g]) @ D[obj.wls_rows(g)]
            for g, D in enumerate(deltas))
    Exx, Ecx, Ecc = E[:n_red, :n_red], E[n_red:, :n_red], E[n_red:, n_red:]
    try:
        inv = np.linalg.inv(Exx)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(Exx)
    V = np.diag(Ecc) - np.einsum("ij,jk,ik->i", Ecx, inv, Ecx)
    V = np.where(V < np.finfo(float).eps ** (1 / 3), np.nan, V)
    gc = grad[n_red:]
    N = fit.ntotal
    mi = N * gc ** 2 / V
    epc = -gc / V
    rv = {(int(pt.group[i]), pt.lhs[i]): est[i] for i in range(pt.nrow)
          if pt.op[i] == "~~" and pt.lhs[i] == pt.rhs[i]}
    s_lv, s_all = standardize([c[0] for c in cands], [c[1] for c in cands], [c[2] for c in cands],
                              [c[3] for c in cands], np.abs(epc), rv, fit.model, fit._all_cov())
    sign = np.sign(epc)
    gl = fit.group_labels
    out = pd.DataFrame({"lhs": [c[0] for c in cands], "op": [c[1] for c in cands],
                        "rhs": [c[2] for c in cands],
                        "group": [gl[c[3] - 1] if fit.ngroups > 1 else None for c in cands],
                        "mi": mi, "epc": epc, "sepc_lv": sign * s_lv, "sepc_all": sign * s_all,
                        "sepc_nox": sign * s_all})
    out = out[out["mi"].notna()].reset_index(drop=True)
    if minimum_value > 0:
        out = out[out["mi"] > minimum_value].reset_index(drop=True)
    if sort:
        out = out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
    return out
