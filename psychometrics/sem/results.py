"""The fitted model: :class:`CFAFit`, and the pipeline :func:`fit_model` behind cfa()/sem().

Output follows lavaan 0.6-14: ``parameterEstimates(fit, standardized=TRUE)`` (est, se, z,
pvalue, 95% CI, std.lv, std.all; ``lav_standardize_lv`` / ``lav_standardize_all`` with
``cov.std=TRUE``), ``fitMeasures(fit)`` (``lav_fit_measures``: chisq, baseline model, CFI, TLI,
RMSEA with its 90% CI and close-fit p value, SRMR (Bentler, with means when there is a mean
structure), logl, AIC, BIC, ...), ``fitted()``, ``residuals(fit, type="cor")``,
``lavInspect(fit, "rsquare")`` and ``modindices()`` (see :mod:`.modindices`).
"""
from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._results import jsonable
from ..errors import Diagnostics, ModelError, PsychometricsWarning
from . import defined as _defined
from .estimate import optimize, single_thread_blas
from .fiml import available_case_moments
from .fitindices import incremental_indices, rmsea_ci  # noqa: F401  (re-exported)
from .wishart import test_n_minus_one
from .model import Model
from .objective import expected_information, information_system, make_objective
from .partable import ParTable, VarRoles, build_partable
from .sample import SampleStats, sample_stats
from .standardize import standardize  # noqa: F401  (re-exported)
from .syntax import parse_model

Z975 = stats.norm.ppf(0.975)


# ---------------------------------------------------------------------------- the fit object
@dataclass
class _Opt:
    x: np.ndarray
    f: float
    converged: bool
    iterations: int
    message: str


class CFAFit:
    """A fitted CFA/SEM model (ML).

    Attributes of the engine contract (CONTRIBUTING.md): ``model`` (``implied(x)``,
    ``delta(x, full=False)``), ``x`` (reduced estimates), ``K`` (``x_full = K @ x``),
    ``sample`` (per group nobs, cov, mean, data), ``partable``, ``objective``, ``estimator``,
    ``converged``, ``diagnostics``; methods :meth:`information`, :meth:`gradient`,
    :meth:`equality_constraints`, :meth:`parameters`, :meth:`fit_measures`,
    :meth:`modindices`, :meth:`residuals`, :meth:`implied`, :meth:`r2`, :meth:`summary`,
    :meth:`to_dict`.
    """

    def __init__(self, partable: ParTable, model: Model, sample: SampleStats, objective, opt: dict,
                 estimator: str = "ML", missing: str = "listwise", model_type: str = "cfa",
                 options: dict | None = None):
        self.partable = partable
        self.model = model
        self.sample = sample
        self.objective = objective
        self.estimator = estimator
        self.missing = missing
        self.model_type = model_type
        self.options = options or {}
        self.x = np.asarray(opt["x"], dtype=float)
        self.fmin = float(opt["f"])
        self.converged = bool(opt["converged"])
        self.iterations = int(opt.get("iterations", 0))
        self.optimizer_message = opt.get("message", "")
        self.diagnostics = Diagnostics()
        self.warnings: list = []
        self._robust_se = None
        self._robust_measures = None
        self._baseline = None
        self._cache = {}
        self._check()

    # ------------------------------------------------------------------ basics
    @property
    def K(self) -> np.ndarray:
        """The 0/1 matrix with ``x_full = K @ x`` (the model's, built on first use)."""
        k = self.__dict__.get("_K")
        return self.model.K if k is None else k

    @K.setter
    def K(self, value) -> None:
        self.__dict__["_K"] = value

    @property
    def x_full(self) -> np.ndarray:
        return self.model.x_full(self.x)

    @property
    def ntotal(self) -> int:
        return self.sample.ntotal

    @property
    def ngroups(self) -> int:
        return self.sample.ngroups

    @property
    def group_labels(self) -> list:
        return self.sample.group_labels

    @property
    def weights(self) -> list:
        return [g.nobs / self.ntotal for g in self.sample.groups]

    def _warn(self, code: str, text: str) -> None:
        self.diagnostics.add(code, text)
        self.warnings.append(text)
        warnings.warn(text, PsychometricsWarning, stacklevel=3)

    def information(self, kind: str = "expected", full: bool = False) -> np.ndarray:
        """Unit information matrix (per case), as ``lavInspect(fit, "information")``.

        ``kind="expected"``: ``sum_g (N_g/N) Delta_g' W_g Delta_g`` at the estimates;
        ``kind="observed"``: the Hessian of F (central differences of the analytic gradient).
        ``full=True`` gives it in the full (unconstrained) parameter space.
        """
        key = ("info", kind, full)
        if key in self._cache:
            return self._cache[key]
        xx = self.x_full if full else self.x
        if kind == "expected":
            sysm = self._info_system(full)
            info = sysm.dense() if sysm is not None else \
                expected_information(self.model, xx, self.weights, full=full)
        elif kind == "observed" and not full and self._fiml_hessian_ok():
            # FIML: analytic Hessian of F (moment information vectorised over the missing-data
            # patterns, analytic RAM curvature); equals the central differences below (lavaan's
            # lav_model_hessian) up to their truncation error, at a small fraction of the cost
            from .robust import _engine_curvature, observed_hessian
            obj = self.objective
            info = observed_hessian(self.model.implied, self.model.delta, xx, list(obj.groups),
                                    [(h[0], h[1]) for h in obj.h1], bool(self.model.meanstructure),
                                    curvature=_engine_curvature(self.model))
        elif kind == "observed":
            n = len(xx)
            info = np.zeros((n, n))
            for k in range(n):
                h = 1e-5 * max(1.0, abs(xx[k]))
                xp = xx.copy(); xp[k] += h
                xm = xx.copy(); xm[k] -= h
                info[:, k] = (self._grad_at(xp, full) - self._grad_at(xm, full)) / (2 * h)
            info = (info + info.T) / 2
        else:
            raise ModelError(f"unknown information kind {kind!r}; use 'expected' or 'observed'")
        self._cache[key] = info
        return info

    def _info_system(self, full: bool = False):
        """The expected information as a :class:`~psychometrics.sem.blocks.BlockSystem`
        (per-group blocks) for the engine's RAM model, else None (cached)."""
        key = ("info_system", full)
        if key not in self._cache:
            sysm = None
            if isinstance(self.model, Model):
                xx = self.x_full if full else self.x
                sysm = information_system(self.model, xx, self.weights, full=full)
            self._cache[key] = sysm
        return self._cache[key]

    def _fiml_hessian_ok(self) -> bool:
        from .fiml import FIMLObjective
        return (self.missing == "fiml" and isinstance(self.objective, FIMLObjective)
                and bool(self.model.meanstructure) and hasattr(self.model, "idx"))

    def _grad_at(self, xx, full):
        implied = self.model.implied(xx, full=full)
        f, gm = self.objective.value_and_gradient(implied)
        if isinstance(self.model, Model):
            return self.model.gradient(xx, gm, full=full)
        deltas = self.model.delta(xx, full=full)
        return sum(D.T @ g for D, g in zip(deltas, gm))

    def gradient(self, full: bool = False) -> np.ndarray:
        """Gradient of F (lavaan's fmin scale) at the estimates, reduced or full space."""
        return self._grad_at(self.x_full if full else self.x, full)

    def equality_constraints(self):
        """Equality constraints in the full space.

        Returns ``(R, descriptions)``: ``R @ x_full = 0`` (one row per constraint) and, per row,
        a dict with ``lhs``/``op``/``rhs`` as lavaan's ``lavTestScore`` prints them
        (``.p2. == .p38.``) plus ``lhs_row``/``rhs_row`` (0-based parameter-table rows) and
        ``lhs_full``/``rhs_full`` (indices into ``x_full``).
        """
        pt = self.partable
        rows_of_full = pt.free_rows()
        members = {}
        for k, red in enumerate(pt.eq_map):
            members.setdefault(int(red), []).append(k)
        cons = []
        for red, ks in members.items():
            for kj in ks[1:]:
                cons.append((ks[0], kj))
        cons.sort(key=lambda t: (rows_of_full[t[1]], rows_of_full[t[0]]))
        R = np.zeros((len(cons), pt.n_full))
        desc = []
        for i, (k0, kj) in enumerate(cons):
            R[i, k0] = 1.0
            R[i, kj] = -1.0
            r0, rj = int(rows_of_full[k0]), int(rows_of_full[kj])
            desc.append({"lhs": f".p{r0 + 1}.", "op": "==", "rhs": f".p{rj + 1}.",
                         "lhs_row": r0, "rhs_row": rj, "lhs_full": int(k0), "rhs_full": int(kj)})
        return R, desc

    # ------------------------------------------------------------------ checks
    def _check(self) -> None:
        pt = self.partable
        if not self.converged:
            self._warn("nonconvergence", f"the optimiser did not converge ({self.optimizer_message})")
        for g, gs in enumerate(self.sample.groups):
            # the saturated moments the fit uses (EM estimates under FIML: the complete-case
            # matrix of a few complete rows is rank-deficient without being a problem), judged
            # relative to the largest eigenvalue
            S, _ = gs.start_moments()
            w = np.linalg.eigvalsh(S)
            if w.min() <= 1e-10 * max(w.max(), 1e-300):
                what = "EM-estimated (saturated) covariance" if self.missing == "fiml" else "sample covariance"
                self._warn("npd_sample", f"{what} matrix of group {self._gname(g)} is not "
                           f"positive definite (smallest eigenvalue {w.min():.3g}, largest {w.max():.3g})")
        try:
            bad_implied = []
            for g, (Sigma, mu) in enumerate(self.model.implied(self.x)):
                if not np.all(np.isfinite(Sigma)) or np.linalg.eigvalsh(Sigma).min() <= 0:
                    bad_implied.append(g)
        except np.linalg.LinAlgError:
            bad_implied = list(range(self.ngroups))
        for g in bad_implied:
            self._warn("npd_implied", f"model-implied covariance matrix of group {self._gname(g)} "
                       "is not positive definite at the estimates")
        npar = self.x.size
        if self.ntotal < npar:
            self._warn("small_n", f"{self.ntotal} cases for {npar} free parameters: too few cases")
        if self.df < 0:
            self._warn("underidentified", f"the model has negative degrees of freedom ({self.df})")
        est = self._est_rows()
        for i in range(pt.nrow):
            if pt.op[i] == "~~" and pt.lhs[i] == pt.rhs[i] and est[i] < 0:
                self._warn("heywood", f"negative variance of {pt.lhs[i]} in group "
                           f"{self._gname(pt.group[i] - 1)} ({est[i]:.4g}) (Heywood case)")
        if self.model.lv:
            nlv = len(self.model.lv)
            for g, (A, P, M) in enumerate(self.model.matrices(self.x)):
                psi = P[self.model.p:, self.model.p:]
                w = np.linalg.eigvalsh(psi) if nlv else np.array([1.0])
                if w.min() < -1e-10:
                    self._warn("npd_lv", f"latent (residual) covariance matrix of group {self._gname(g)} "
                               f"is not positive definite (smallest eigenvalue {w.min():.3g})")
        try:
            sysm = self._info_system()
            w = None
            if sysm is not None and sysm.structured:
                # a large multi-group model: Lanczos on the block structure (no n^3 work)
                try:
                    w = np.array(sysm.min_max_eigenvalues())
                except (np.linalg.LinAlgError, ArithmeticError, ValueError):
                    w = None
            if w is None:
                info = self.information("expected")
                w = np.linalg.eigvalsh(info) if info.size else np.array([1.0])
            if self.x.size and w.min() <= 1e-10 * max(abs(w).max(), 1e-300):
                self._singular = True
                self._warn("singular_information", "the information matrix is singular: the model "
                           "may not be identified (standard errors are not available)")
            else:
                self._singular = False
        except np.linalg.LinAlgError:
            self._singular = True
            self._warn("singular_information", "the information matrix could not be computed")

    #: diagnostics that make the estimates and fit statistics unusable as results (issue 12)
    PROBLEM_CODES = {"nonconvergence": "the model did not converge",
                     "singular_information": "the information matrix is singular (the model may "
                                             "not be identified)",
                     "npd_sample": "the sample covariance matrix is not positive definite"}

    @property
    def problem(self) -> str | None:
        """Why this fit must not be reported as a result (None when it may): the optimiser did
        not converge, the information matrix is singular, or the sample (EM under FIML)
        covariance matrix is not positive definite.  lavaan warns in the same cases; the
        report shows no fit indices for such a fit and invariance draws no decision from it."""
        diag = getattr(self, "diagnostics", None)
        codes = diag.codes() if diag is not None else []
        if not getattr(self, "converged", True) and "nonconvergence" not in codes:
            codes = ["nonconvergence"] + codes
        reasons = [text for code, text in self.PROBLEM_CODES.items() if code in codes]
        return "; ".join(reasons) or None

    def _gname(self, g):
        lab = self.group_labels[g]
        return repr(lab) if lab is not None else "1"

    # ------------------------------------------------------------------ estimates
    def _est_rows(self) -> np.ndarray:
        pt = self.partable
        xf = self.x_full
        est = np.where(pt.free > 0, 0.0, pt.ustart)
        est = np.array(est, dtype=float)
        fr = pt.free > 0
        est[fr] = xf[pt.free[fr] - 1]
        for r, v in self.model.exo_values.items():
            est[r] = v
        return est

    def vcov(self) -> np.ndarray:
        """Covariance matrix of the reduced estimates: ``inv(N * I_expected)``."""
        if "vcov" not in self._cache:
            if getattr(self, "_singular", False):
                v = np.full((self.x.size, self.x.size), np.nan)
            else:
                # lavaan: observed (Hessian) information with missing="ml", expected otherwise
                kind = "observed" if self.missing == "fiml" else "expected"
                if hasattr(self.objective, "vcov"):      # GLS / ULS (sem/ls.py)
                    v = self.objective.vcov(self.model, self.x)
                elif kind == "expected" and self._structured_inverse() is not None:
                    v = self._structured_inverse() / self._n_test()
                else:
                    v = np.linalg.inv(self._n_test() * self.information(kind))
            self._cache["vcov"] = v
        return self._cache["vcov"]

    def _structured_inverse(self):
        """inv(expected information) through the block (arrowhead) structure of a large
        multi-group model, or None (then the dense inverse is used)."""
        key = "info_inv_structured"
        if key not in self._cache:
            sysm = self._info_system()
            inv = None
            if sysm is not None and sysm.structured:
                try:
                    inv = sysm.factor(0.0).inverse()
                except np.linalg.LinAlgError:
                    inv = None
            self._cache[key] = inv
        return self._cache[key]

    def _se_rows(self) -> np.ndarray:
        pt = self.partable
        if self._robust_se is not None:
            se_red = np.asarray(self._robust_se, dtype=float)
        else:
            se_red = np.sqrt(np.clip(np.diag(self.vcov()), 0, None))
            se_red[np.isnan(np.diag(self.vcov()))] = np.nan
        se = np.zeros(pt.nrow)
        fr = pt.free > 0
        se[fr] = se_red[pt.eq_map[pt.free[fr] - 1]]
        return se

    def _vcov_for_defined(self) -> np.ndarray:
        if self._robust_se is not None and hasattr(self, "_robust_vcov"):
            return self._robust_vcov
        return self.vcov()

    def _label_rows(self) -> list:
        """(label, full-parameter index or -1, fixed value) of the first row of every label,
        in the order of the parameter table (built once per fit)."""
        rows = self.__dict__.get("_label_rows_cache")
        if rows is None:
            pt = self.partable
            rows, seen = [], set()
            for i in range(pt.nrow):
                lb = pt.label[i]
                if lb and lb not in seen:
                    seen.add(lb)
                    rows.append((lb, int(pt.free[i]) - 1 if pt.free[i] > 0 else -1, pt.ustart[i]))
            self._label_rows_cache = rows
        return rows

    def _label_values(self, xred) -> dict:
        """label -> value at the reduced parameters ``xred`` (fixed labels: their value)."""
        xf = self.model.x_full(xred)
        return {lb: (xf[k] if k >= 0 else u) for lb, k, u in self._label_rows()}

    def _defs(self):
        """The ``:=`` expressions as (name, code object), compiled once per fit."""
        defs = self.__dict__.get("_defs_cache")
        if defs is None:
            defs = [(f.lhs, _defined.compile_expression(f.rhs, f.line)[0])
                    for f in self.partable.defined]
            self._defs_cache = defs
        return list(defs)

    def _label_columns(self):
        """The reduced parameters the labels depend on (the columns of the defined
        parameters' Jacobian that can be non-zero), or None when not known."""
        K = getattr(self.model, "K", None)
        if K is None:
            return None
        K = np.asarray(K)
        idx = [k for _, k, _ in self._label_rows() if k >= 0]
        if K.ndim != 2 or K.shape[1] != np.asarray(self.x).size:
            return None
        return np.flatnonzero(np.any(K[idx, :] != 0, axis=0)) if idx else np.zeros(0, dtype=int)

    def _defined_values(self, xred) -> list:
        return _defined.evaluate(self._defs(), self._label_values(xred))

    def _all_cov(self) -> list:
        return [C for C, _ in self.model.implied(self.x, all_vars=True)]

    def parameters(self, rsquare: bool = False) -> pd.DataFrame:
        """Parameter estimates as ``lavaan::parameterEstimates(fit, standardized=TRUE)``.

        Columns: lhs, op, rhs, group (the group's value; None for a single group and for
        defined parameters), label, est, se, z, pvalue, ci_lower, ci_upper (95%), std_lv,
        std_all, std_nox.  Fixed parameters have se 0 and NaN z/pvalue; ``rsquare=True`` appends
        lavaan's ``r2`` rows.  Computed once per fit (the report asks for the table several
        times: tables, figures, results.json); every call returns a copy of its own.
        """
        key = ("parameters", bool(rsquare))
        df = self._cache.get(key) if isinstance(getattr(self, "_cache", None), dict) else None
        if df is None:
            df = self._parameters(rsquare)
            if isinstance(getattr(self, "_cache", None), dict):
                self._cache[key] = df
        return df.copy()

    def _parameters(self, rsquare: bool) -> pd.DataFrame:
        """:meth:`parameters` computed (no cache)."""
        pt = self.partable
        est = self._est_rows()
        se = self._se_rows()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, est / se, np.nan)
        pval = 2 * stats.norm.sf(np.abs(z))
        lo = est - Z975 * se
        hi = est + Z975 * se
        rv = {(int(pt.group[i]), pt.lhs[i]): est[i] for i in range(pt.nrow)
              if pt.op[i] == "~~" and pt.lhs[i] == pt.rhs[i]}
        ov_x = pt.roles.ov_x if self.options.get("fixed_x", True) else []
        std_lv, std_all, std_nox = standardize(pt.lhs, pt.op, pt.rhs, pt.group, est, rv, self.model,
                                               self._all_cov(), ov_x_names=ov_x)
        labels = [pt.eq_label[i] for i in range(pt.nrow)]
        gl = self.group_labels
        grp = [gl[g - 1] if self.ngroups > 1 else None for g in pt.group]
        df = pd.DataFrame({"lhs": pt.lhs, "op": pt.op, "rhs": pt.rhs, "group": grp, "label": labels,
                           "est": est, "se": se, "z": z, "pvalue": pval, "ci_lower": lo, "ci_upper": hi,
                           "std_lv": std_lv, "std_all": std_all, "std_nox": std_nox})
        if pt.defined:
            df = pd.concat([df, self._defined_frame(std_lv, std_all, std_nox)], ignore_index=True)
        if rsquare:
            r2 = self.r2()
            rows = [{"lhs": r.variable, "op": "r2", "rhs": r.variable,
                     "group": r.group, "label": "", "est": r.r2}
                    for r in r2.itertuples()]
            df = pd.concat([df, pd.DataFrame(rows)], ignore_index=True)
        return df

    def _defined_frame(self, std_lv, std_all, std_nox) -> pd.DataFrame:
        pt = self.partable
        defs = self._defs()
        vals = self._defined_values(self.x)
        J = _defined.jacobian(lambda xr: self._defined_values(xr), self.x,
                              cols=self._label_columns())
        V = self._vcov_for_defined()
        se = np.sqrt(np.clip(np.diag(J @ V @ J.T), 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, np.asarray(vals) / se, np.nan)

        def std_vals(stdv):
            lab = {}
            for i in range(pt.nrow):
                if pt.label[i] and pt.label[i] not in lab:
                    lab[pt.label[i]] = stdv[i]
            return _defined.evaluate(defs, lab)

        slv, sall, snox = std_vals(std_lv), std_vals(std_all), std_vals(std_nox)
        vals = np.asarray(vals)
        return pd.DataFrame({"lhs": [f.lhs for f in pt.defined], "op": ":=",
                             "rhs": [f.rhs for f in pt.defined], "group": None,
                             "label": [f.lhs for f in pt.defined], "est": vals, "se": se, "z": z,
                             "pvalue": 2 * stats.norm.sf(np.abs(z)), "ci_lower": vals - Z975 * se,
                             "ci_upper": vals + Z975 * se, "std_lv": slv, "std_all": sall,
                             "std_nox": snox})

    def r2(self) -> pd.DataFrame:
        """R-squared of endogenous variables (``lavInspect(fit, "rsquare")``): group, variable, r2."""
        pt = self.partable
        roles = pt.roles
        est = self._est_rows()
        endo_lv = [v for v in roles.lv if v in roles.eqs_y or v in [pt.rhs[i] for i in range(pt.nrow) if pt.op[i] == "=~"]]
        endo = [v for v in roles.ov if v in roles.ov_ind or v in roles.ov_y] + endo_lv
        rows = []
        allc = self._all_cov()
        for g in range(self.ngroups):
            d = np.diag(allc[g])
            for v in endo:
                i = next((k for k in range(pt.nrow) if pt.group[k] == g + 1 and pt.op[k] == "~~"
                          and pt.lhs[k] == v and pt.rhs[k] == v), None)
                if i is None:
                    continue
                tot = d[self.model.pos[v]]
                rows.append({"group": self.group_labels[g] if self.ngroups > 1 else None,
                             "variable": v, "r2": 1 - est[i] / tot if tot != 0 else np.nan})
        out = pd.DataFrame(rows, columns=["group", "variable", "r2"])
        # lavaan reports NA for an R-squared outside [0, 1] (negative residual variance)
        out.loc[(out.r2 < 0) | (out.r2 > 1), "r2"] = np.nan
        return out

    # ------------------------------------------------------------------ fit measures
    @property
    def ndat(self) -> int:
        """Number of sample moments (minus the fixed.x moments), as lavaan counts them."""
        p = self.model.p
        nx = len(self.partable.roles.ov_x) if self.options.get("fixed_x", True) else 0
        per = p * (p + 1) // 2 + (p if self.model.meanstructure else 0)
        per -= nx * (nx + 1) // 2 + (nx if self.model.meanstructure else 0)
        return per * self.ngroups

    @property
    def npar(self) -> int:
        return int(self.x.size)

    @property
    def df(self) -> int:
        return self.ndat - self.npar

    def baseline(self):
        """The independence (baseline) model fitted through the same engine and objective."""
        if self._baseline is None:
            key = _baseline_key(self)
            base = _BASELINE_CACHE.get(key) if key is not None else None
            if base is None:
                base = fit_baseline(self)
                if key is not None:
                    _BASELINE_CACHE[key] = base
            self._baseline = base
        return self._baseline

    def fit_measures(self) -> dict:
        """Fit measures as ``lavaan::fitMeasures(fit)`` (names with ``_`` for ``.``)."""
        with single_thread_blas():
            return self._fit_measures()

    def _fit_measures(self) -> dict:
        if "fm" in self._cache:
            return dict(self._cache["fm"])
        N = self.ntotal
        G = self.ngroups
        Nt = self._n_test()     # N, or N - G with likelihood="wishart" or GLS/ULS
        X2 = 2 * Nt * self.fmin if Nt == N else test_n_minus_one(self)   # sem/wishart.py
        df = self.df
        fm = {"npar": self.npar, "fmin": self.fmin, "chisq": X2, "df": df,
              # ULS: no chi-square reference distribution (lavaan: NA)
              "pvalue": float(stats.chi2.sf(X2, df)) if df > 0 and self.estimator != "ULS" else np.nan}
        base = self.baseline()
        X2b = 2 * Nt * base.fmin if Nt == N else test_n_minus_one(base)
        dfb = base.df
        fm["baseline_chisq"] = X2b
        fm["baseline_df"] = dfb
        fm["baseline_pvalue"] = float(stats.chi2.sf(X2b, dfb)) if dfb > 0 else np.nan
        fm.update(incremental_indices(X2, df, X2b, dfb))
        implied = self.model.implied(self.x)
        logl = self.objective.loglik(implied)
        logl_h1 = self.objective.loglik_h1()
        # fixed.x: lavaan's logl is conditional on the exogenous covariates
        lx = self._logl_x()
        logl -= lx
        logl_h1 -= lx
        npar = self.npar
        fm["logl"] = logl
        fm["unrestricted_logl"] = logl_h1
        fm["aic"] = -2 * logl + 2 * npar
        fm["bic"] = -2 * logl + npar * np.log(N)
        fm["ntotal"] = N
        fm["bic2"] = -2 * logl + npar * np.log((N + 2) / 24)
        fm["rmsea"] = (np.sqrt(max((X2 - df) / (Nt * df), 0.0)) * np.sqrt(G)) if df > 0 else 0.0
        lo, hi = rmsea_ci(X2, df, Nt, G)
        fm["rmsea_ci_lower"], fm["rmsea_ci_upper"] = lo, hi
        fm["rmsea_ci_level"] = 0.90
        if df > 0:
            fm["rmsea_pvalue"] = float(stats.ncx2.sf(X2, df, Nt * df * 0.05 ** 2 / G))
            fm["rmsea_notclose_pvalue"] = float(stats.ncx2.cdf(X2, df, Nt * df * 0.08 ** 2 / G))
        else:
            fm["rmsea_pvalue"] = np.nan
            fm["rmsea_notclose_pvalue"] = np.nan
        fm["rmsea_close_h0"] = 0.05
        fm["rmsea_notclose_h0"] = 0.08
        fm.update(self._srmr(implied))
        ints = ("npar", "df", "baseline_df", "ntotal")
        fm = {k: (int(v) if k in ints else float(v)) for k, v in fm.items()}
        if self._robust_measures:
            fm.update(self._robust_measures)
        # flagged, not hidden: a fit with a problem (see ``problem``) still has its numbers
        fm["converged"] = bool(self.converged)
        fm["problem"] = self.problem
        self._cache["fm"] = fm
        return dict(fm)

    def _n_test(self) -> int:
        """N in the test statistic, RMSEA and information: N, or N - G with likelihood="wishart"
        and for GLS/ULS (the statistic then weights each group by N_g - 1: test_n_minus_one)."""
        ls = self.estimator in ("GLS", "ULS")     # lavaan: N - G for these (sem/ls.py)
        return self.ntotal - (self.ngroups if ls or self.options.get("likelihood") == "wishart" else 0)

    def _logl_x(self) -> float:
        ov_x = self.partable.roles.ov_x if self.options.get("fixed_x", True) else []
        if not ov_x:
            return 0.0
        idx = [self.model.ov.index(v) for v in ov_x]
        from .sample import saturated_logl
        total = 0.0
        for gs in self.sample.groups:
            S = gs.h1_cov if gs.h1_cov is not None else gs.cov
            total += saturated_logl(gs.nobs, S[np.ix_(idx, idx)])
        return total

    def _srmr(self, implied) -> dict:
        w = self.weights
        srmr = srmr_nm = rmr = rmr_nm = 0.0
        for g, (Sigma, mu) in enumerate(implied):
            gs = self.sample.groups[g]
            S = gs.h1_cov if gs.h1_cov is not None else gs.cov
            ybar = gs.h1_mean if gs.h1_mean is not None else gs.mean
            sd = np.sqrt(np.diag(S))
            r, c = self.model.vr, self.model.vc
            R = (S - Sigma)
            cres = R[r, c] / (sd[r] * sd[c])
            raw = R[r, c]
            if self.model.meanstructure:
                mres = (ybar - mu) / sd
                tot = np.concatenate([mres, cres])
                traw = np.concatenate([ybar - mu, raw])
            else:
                tot, traw = cres, raw
            srmr += w[g] * np.sqrt(np.mean(tot ** 2))
            srmr_nm += w[g] * np.sqrt(np.mean(cres ** 2))
            rmr += w[g] * np.sqrt(np.mean(traw ** 2))
            rmr_nm += w[g] * np.sqrt(np.mean(raw ** 2))
        return {"rmr": rmr, "rmr_nomean": rmr_nm, "srmr": srmr, "srmr_bentler": srmr,
                "srmr_bentler_nomean": srmr_nm}

    # ------------------------------------------------------------------ moments
    def implied(self) -> list:
        """Model-implied moments per group: dicts with ``group``, ``cov`` (DataFrame), ``mean`` (Series or None)."""
        out = []
        ov = self.model.ov
        for g, (Sigma, mu) in enumerate(self.model.implied(self.x)):
            out.append({"group": self.group_labels[g],
                        "cov": pd.DataFrame(Sigma, index=ov, columns=ov),
                        "mean": pd.Series(mu, index=ov) if self.model.meanstructure else None})
        return out

    def residuals(self, type: str = "cor") -> list:
        """Residuals per group (``residuals(fit, type=)``): "cor" (lavaan's cor.bollen:
        cor(S) - cor(Sigma), mean residuals divided by the sample SDs) or "raw" (S - Sigma)."""
        out = []
        ov = self.model.ov
        for g, (Sigma, mu) in enumerate(self.model.implied(self.x)):
            gs = self.sample.groups[g]
            S = gs.h1_cov if gs.h1_cov is not None else gs.cov
            ybar = gs.h1_mean if gs.h1_mean is not None else gs.mean
            if type == "raw":
                R = S - Sigma
                m = ybar - mu
            elif type == "cor":
                ss = np.sqrt(np.diag(S))
                sm = np.sqrt(np.diag(Sigma))
                R = S / np.outer(ss, ss) - Sigma / np.outer(sm, sm)
                m = (ybar - mu) / ss
            else:
                raise ModelError(f"unknown residual type {type!r}; use 'cor' or 'raw'")
            out.append({"group": self.group_labels[g], "cov": pd.DataFrame(R, index=ov, columns=ov),
                        "mean": pd.Series(m, index=ov) if self.model.meanstructure else None})
        return out

    def modindices(self, sort: bool = False, minimum_value: float = 0.0) -> pd.DataFrame:
        """Modification indices as ``lavaan::modindices(fit)``; see :mod:`.modindices`."""
        from .modindices import modindices
        if self.estimator in ("GLS", "ULS"):
            raise ModelError("modification indices are computed for ML/MLR fits only")
        with single_thread_blas():
            return modindices(self, sort=sort, minimum_value=minimum_value)

    # ------------------------------------------------------------------ reporting
    def summary(self) -> str:
        fm = self.fit_measures()
        lines = [f"{self.model_type}() fit, estimator {self.estimator}, N = {self.ntotal}"
                 + (f", groups: {', '.join(map(str, self.group_labels))}" if self.ngroups > 1 else ""),
                 f"converged: {self.converged} ({self.iterations} iterations)",
                 f"chisq = {fm['chisq']:.3f}, df = {fm['df']}, p = {fm['pvalue']:.4f}",
                 f"CFI = {fm['cfi']:.3f}, TLI = {fm['tli']:.3f}, RMSEA = {fm['rmsea']:.3f} "
                 f"[{fm['rmsea_ci_lower']:.3f}, {fm['rmsea_ci_upper']:.3f}], SRMR = {fm['srmr']:.3f}"]
        for code, text in self.diagnostics.messages:
            lines.append(f"warning ({code}): {text}")
        pe = self.parameters()
        lines.append(pe.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The parameter table with R-squared rows (``parameters(rsquare=True)``)."""
        return self.parameters(rsquare=True)

    def to_dict(self) -> dict:
        """Plain JSON data: estimator, convergence, N, groups, fit measures, parameters, diagnostics."""
        return jsonable({"estimator": self.estimator, "missing": self.missing,
                         "converged": self.converged, "problem": self.problem,
                         "ntotal": self.ntotal,
                         "groups": self.group_labels, "nobs": self.sample.nobs,
                         "fit_measures": self.fit_measures(), "parameters": self.parameters(rsquare=True),
                         "diagnostics": self.diagnostics.to_list()})

    def __repr__(self) -> str:
        return (f"<CFAFit {self.model_type} N={self.ntotal} groups={self.ngroups} "
                f"npar={self.npar} df={self.df} converged={self.converged}>")


# ---------------------------------------------------------------------------- pipeline
def robust_post(fit) -> None:
    """Hook run after estimation: a no-op for ML; MLR adds robust SEs and scaled tests.

    Integration point for ``psychometrics/sem/robust.py`` (which sets ``fit._robust_se`` and
    ``fit._robust_measures``).
    """
    if fit.estimator == "MLR":
        try:
            from . import robust  # written by the MLR engineer
        except ImportError as exc:
            raise ModelError("estimator='MLR' is not available in this build; use 'ML'") from exc
        robust.mlr(fit)


def _independence_partable(pt: ParTable, fixed_x: bool) -> ParTable:
    roles = pt.roles
    ov = roles.ov
    ov_x = roles.ov_x if fixed_x else []
    lhs, op, rhs, user, group, free, ustart, exo, label, start = ([] for _ in range(10))
    for g in range(pt.ngroups):
        items = [(v, "~~", v, v not in ov_x) for v in ov if v not in ov_x]
        nx = len(ov_x)
        for j in range(nx):
            for i in range(j, nx):
                items.append((ov_x[j], "~~", ov_x[i], False))
        if pt.meanstructure:
            items += [(v, "~1", "", v not in ov_x) for v in ov]
        for a, o, b, isfree in items:
            lhs.append(a); op.append(o); rhs.append(b); user.append(0); group.append(g + 1)
            free.append(1 if isfree else 0); ustart.append(np.nan); exo.append(0 if isfree else 1)
            label.append(""); start.append(np.nan)
    free_a = np.array(free)
    idx = np.cumsum(free_a) * free_a
    new_roles = VarRoles(lv=[], ov=list(ov), ov_ind=[], ov_y=[], ov_x=list(ov_x),
                         ov_nox=[v for v in ov if v not in ov_x], lv_x=[], lv_y=[], eqs_y=[],
                         eqs_x=[], cov_y=[])
    n_full = int(free_a.sum())
    return ParTable(lhs=lhs, op=op, rhs=rhs, user=np.array(user), group=np.array(group),
                    free=idx.astype(int), ustart=np.array(ustart, dtype=float), exo=np.array(exo),
                    label=label, start=np.array(start, dtype=float), ngroups=pt.ngroups,
                    roles=new_roles, meanstructure=pt.meanstructure, eq_map=np.arange(n_full),
                    eq_label=list(label))


#: the independence (baseline) models of the fits alive, by what they depend on: the data,
#: the observed variables, the groups, the estimator and missing-data treatment only, so the
#: four levels of an invariance sequence, or a measurement and a structural model, share one
#: (issue 13: it was fitted once per model).  Weak references: a baseline lives as long as a
#: fit holds it, the module keeps no data set (memory at 10^6 cases).
_BASELINE_CACHE: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()


def _baseline_key(fit) -> tuple | None:
    """What :func:`fit_baseline` depends on, as a hashable key (the groups' data and moments
    by their SHA-1, read in place), or None when they cannot be read."""
    import hashlib
    h = hashlib.sha1()
    try:
        for gs in fit.sample.groups:
            h.update(repr((gs.label, int(gs.nobs))).encode())
            for a in (gs.data, gs.mean, gs.cov, gs.h1_mean, gs.h1_cov):
                if a is None:
                    h.update(b"-")
                    continue
                a = np.ascontiguousarray(np.asarray(a, dtype=float))
                h.update(repr(a.shape).encode())
                h.update(a)
        pt = fit.partable
        return (h.hexdigest(), type(fit).__name__, str(fit.estimator), str(fit.missing),
                bool(fit.options.get("fixed_x", True)), fit.options.get("likelihood"),
                tuple(fit.sample.ov_names), tuple(pt.roles.ov), tuple(pt.roles.ov_x),
                int(pt.ngroups), bool(pt.meanstructure))
    except (AttributeError, TypeError, ValueError, BufferError):
        return None


def fit_baseline(fit: CFAFit) -> CFAFit:
    """Fit lavaan's independence model (variances, and means with a mean structure, free per
    group; fixed.x covariances kept) with the fit's own objective type."""
    fixed_x = fit.options.get("fixed_x", True)
    pt0 = _independence_partable(fit.partable, fixed_x)
    model = Model(pt0, fit.sample)
    obj = make_objective(model, fit.sample, fit.missing, fit.estimator)
    x0 = model.start_values(fit.sample)
    # start at the optimum: the sample (h1) variances and means for complete data; with FIML
    # the available-case means and variances (N_j denominators; the independence likelihood
    # factorises over the variables), as sem/robust.py's baseline_model
    avail = {}
    if fit.missing == "fiml":
        for g, gs in enumerate(fit.sample.groups):
            y = np.asarray(gs.data, dtype=float)    # (rows missing everywhere add nothing)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m_, v_ = available_case_moments(y)    # no copies of a large data set
            if np.all(np.isfinite(m_)) and np.all(v_ > 0):
                avail[g] = (m_, v_)
    for i in np.flatnonzero(pt0.free > 0):
        g = pt0.group[i] - 1
        gs = fit.sample.groups[g]
        S = gs.h1_cov if gs.h1_cov is not None else gs.cov
        mu = gs.h1_mean if gs.h1_mean is not None else gs.mean
        j = model.ov.index(pt0.lhs[i])
        if g in avail:
            x0[pt0.free[i] - 1] = avail[g][1][j] if pt0.op[i] == "~~" else avail[g][0][j]
        else:
            x0[pt0.free[i] - 1] = S[j, j] if pt0.op[i] == "~~" else mu[j]
    opt = optimize(model, obj, x0, [g.nobs / fit.sample.ntotal for g in fit.sample.groups])
    b = CFAFit.__new__(CFAFit)
    b.partable, b.model, b.sample, b.objective = pt0, model, fit.sample, obj
    b.estimator, b.missing, b.model_type, b.options = fit.estimator, fit.missing, "baseline", fit.options
    b.x = opt["x"]; b.fmin = float(opt["f"]); b.converged = opt["converged"]
    b._cache = {}; b._robust_se = None; b._robust_measures = None
    b.diagnostics = Diagnostics(); b.warnings = []
    return b


def fit_model(*args, **kwargs) -> "CFAFit":
    """Parse, build, estimate; returns a :class:`CFAFit` (see :func:`psychometrics.sem.cfa`)."""
    with single_thread_blas():
        return _fit_model(*args, **kwargs)


def _fit_model(model: str, data: pd.DataFrame, group: str | None = None, estimator: str = "ML",
              missing: str = "listwise", group_equal=(), group_partial=(), std_lv: bool = False,
              orthogonal: bool = False, meanstructure: bool | None = None, model_type: str = "cfa",
              fixed_x: bool = True, moments: dict | None = None,
              likelihood: str = "normal") -> CFAFit:
    """Parse, build, estimate; returns a :class:`CFAFit` (see :func:`psychometrics.sem.cfa`)."""
    estimator = str(estimator).upper()
    if estimator not in ("ML", "MLR", "GLS", "ULS"):
        raise ModelError(f"unknown estimator {estimator!r}; use 'ML', 'MLR', 'GLS' or 'ULS'")
    missing = {"ml": "fiml", "fiml": "fiml", "listwise": "listwise"}.get(str(missing).lower())
    if missing is None:
        raise ModelError("missing must be 'listwise' or 'fiml'")
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    if isinstance(group_partial, str):
        group_partial = (group_partial,)
    formulas = parse_model(model)
    from .partable import var_roles
    roles = var_roles(formulas)
    if not roles.ov:
        raise ModelError("the model has no observed variables")
    if moments is not None:      # sample_cov/sample_mean/sample_nobs (psychometrics/sem/moments.py)
        from .moments import check_moment_fit, moment_sample_stats
        check_moment_fit(data, estimator, missing)
        sample = moment_sample_stats(roles.ov, **moments)
    else:
        sample = sample_stats(data, roles.ov, group=group, missing=missing)
    if likelihood != "normal":
        from .wishart import use_wishart   # psychometrics/sem/wishart.py
        use_wishart(sample, likelihood, estimator, missing)
    if estimator in ("GLS", "ULS"):         # psychometrics/sem/ls.py
        from .ls import use_least_squares
        use_least_squares(sample, estimator, missing)
    ngroups = sample.ngroups
    if meanstructure is None:
        # lavaan: a mean structure with groups, with missing = "ml", or when the syntax has ~ 1
        meanstructure = ngroups > 1 or missing == "fiml" or any(f.op == "~1" for f in formulas)
    if moments is not None and meanstructure and any(np.isnan(g.mean).any() for g in sample.groups):
        raise ModelError("a mean structure (several groups, or ~ 1 in the model) needs sample_mean")
    if group_equal and ngroups < 2:
        group_equal = ()
    if not meanstructure and any(f.op == "~1" for f in formulas):
        raise ModelError("the model syntax has intercepts (~ 1) but meanstructure=False")
    pt = build_partable(formulas, ngroups=ngroups, meanstructure=meanstructure, std_lv=std_lv,
                        orthogonal=orthogonal, fixed_x=fixed_x, group_equal=group_equal,
                        group_partial=group_partial)
    known = {lb for lb in pt.label if lb}
    _defined.check_names(pt.defined, known)
    mdl = Model(pt, sample)
    objective = make_objective(mdl, sample, missing, estimator)
    xf0 = mdl.start_values(sample)
    # reduced start: first member of each equality class
    x0 = np.zeros(pt.n_reduced)
    seen = set()
    for k, red in enumerate(pt.eq_map):
        if red not in seen:
            x0[red] = xf0[k]
            seen.add(red)
    weights = [g.nobs / sample.ntotal for g in sample.groups]
    if estimator in ("GLS", "ULS"):      # start at the ML estimates (sem/ls.py)
        from .ls import ml_start
        x0 = ml_start(mdl, sample, x0, weights, optimize)
    opt = optimize(mdl, objective, x0, weights)
    fit = CFAFit(pt, mdl, sample, objective, opt, estimator=estimator, missing=missing,
                 model_type=model_type,
                 options={"fixed_x": fixed_x, "std_lv": std_lv, "orthogonal": orthogonal,
                          "group": group, "group_equal": tuple(group_equal),
                          "group_partial": tuple(group_partial), "meanstructure": meanstructure,
                          "likelihood": likelihood})
    robust_post(fit)
    return fit
