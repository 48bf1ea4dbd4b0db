"""Measurement invariance across groups: configural -> metric -> scalar -> strict.

``invariance(model, data, group, ...)`` fits the nested sequence of multi-group CFA
models of Meredith (1993) / Vandenberg & Lance (2000) with the SEM engine
(:func:`psychometrics.cfa` with ``group_equal`` / ``group_partial``, the
counterpart of lavaan's ``group.equal`` / ``group.partial``), compares every step
with the previous accepted one and decides with a named rule:

* ``"chen2007"`` (default): Chen (2007), Structural Equation Modeling 14, 464-504:
  DeltaCFI >= -.010 and DeltaRMSEA <= .015 and DeltaSRMR <= .030 (metric) or
  <= .015 (scalar, strict and the structural levels);
* ``"cheung_rensvold2002"``: Cheung & Rensvold (2002), SEM 9, 233-255: DeltaCFI >= -.010;
* ``"chisq"``: the chi-square difference test at ``alpha`` (.05).

The chi-square difference test reproduces lavaan's ``lavTestLRT``: the plain
difference for ML, and for MLR the Satorra & Bentler (2001) scaled difference
(Psychometrika 66, 507-514), ``T = (T0 - T1) / cd`` with
``cd = (d0 c0 - d1 c1) / (d0 - d1)`` from the unscaled statistics ``T``, the
dfs ``d`` and the scaling factors ``c`` (lavaan's default ``method =
"satorra.bentler.2001"``).  With MLR the fit-index differences use lavaan's robust
CFI/TLI/RMSEA (``cfi.robust``, ``rmsea.robust``; Brosseau-Liard & Savalei 2014).

When a measurement step fails, ``partial="search"`` ranks that step's equality
constraints by score tests (lavaan's ``lavTestScore``,
:mod:`psychometrics.sem.score_test`), releases the parameter with the largest
statistic (in all groups, as lavaan's ``group.partial``) and refits, until the
step holds.  A parameter may be released only if every factor keeps two invariant
indicators *of that parameter type* (Byrne, Shavelson & Muthen 1989,
Psychological Bulletin 105, 456-466): two equal loadings, and two indicators with
equal loading and intercept; residual variances are released freely.  A blocked
larger candidate is named in the reason of the one released.  The search stops
when the largest releasable score test is not significant ("misfit not
localised": releasing it would be capitalising on chance) or nothing may be
released, and says so.  Later levels keep the released parameters.  A level whose
fit did not converge (or has a singular information matrix) gets no fit indices
and the decision "not evaluated: <reason>", and the sequence stops there.  ``group_partial`` fixes the set by hand
(no search).

After (partial) scalar invariance the latent means of every group are compared
with the reference group (the first group in order of appearance, whose latent
means are fixed at zero, as in lavaan): difference, SE, z, p and the standardised
difference ``d = kappa_g / sqrt(pooled psi)`` with the latent variances pooled over
the two groups weighted by their sizes (Hancock 2001, Psychometrika 66, 373-388).
"""
from __future__ import annotations

import re
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._results import jsonable
from .errors import CellProblem, DataError, ModelError, PsychometricsWarning
from ._blas import single_blas_thread

LEVELS = ("configural", "metric", "scalar", "strict", "lv_variances", "lv_covariances", "means")
#: lavaan's group.equal token added at each level (levels are cumulative)
GROUP_EQUAL = {"metric": "loadings", "scalar": "intercepts", "strict": "residuals",
               "lv_variances": "lv.variances", "lv_covariances": "lv.covariances",
               "means": "means"}
#: parameter type released by the partial-invariance search at each measurement level
LEVEL_OP = {"metric": "=~", "scalar": "~1", "strict": "~~"}
MEASUREMENT_LEVELS = ("metric", "scalar", "strict")


# ---------------------------------------------------------------- decision rules
@dataclass(frozen=True)
class DecisionRule:
    """A rule deciding whether a constrained level holds against the previous one.

    ``min_delta_cfi``: smallest acceptable DeltaCFI (constrained minus previous);
    ``max_delta_rmsea``: largest acceptable DeltaRMSEA; ``max_delta_srmr``: largest
    acceptable DeltaSRMR, a number or a mapping level -> cut-off (key ``"default"``
    for the rest); ``alpha``: significance level of the chi-square difference test
    (the step fails when p < alpha).  ``None`` switches a criterion off.
    """

    name: str
    min_delta_cfi: float | None = None
    max_delta_rmsea: float | None = None
    max_delta_srmr: Any = None
    alpha: float | None = None
    reference: str = ""

    def srmr_cut(self, level: str) -> float | None:
        cut = self.max_delta_srmr
        if isinstance(cut, dict):
            return cut.get(level, cut.get("default"))
        return cut

    def decide(self, row: dict, level: str) -> tuple[bool | None, list[str]]:
        """(holds, reasons it fails); holds is None when a needed number is missing."""
        reasons: list[str] = []
        checks = []
        if self.min_delta_cfi is not None:
            checks.append(("delta_cfi", row.get("delta_cfi"), lambda v: v >= self.min_delta_cfi,
                           f"DeltaCFI < {self.min_delta_cfi:+.3f}"))
        if self.max_delta_rmsea is not None:
            checks.append(("delta_rmsea", row.get("delta_rmsea"), lambda v: v <= self.max_delta_rmsea,
                           f"DeltaRMSEA > {self.max_delta_rmsea:.3f}"))
        cut = self.srmr_cut(level)
        if cut is not None:
            checks.append(("delta_srmr", row.get("delta_srmr"), lambda v: v <= cut,
                           f"DeltaSRMR > {cut:.3f}"))
        if self.alpha is not None:
            checks.append(("p_diff", row.get("p_diff"), lambda v: v >= self.alpha,
                           f"chi-square difference p < {self.alpha}"))
        for _, value, ok, text in checks:
            if value is None or not np.isfinite(value):
                return None, [f"{text.split()[0]} not available"]
            if not ok(value):
                reasons.append(text)
        return (not reasons), reasons

    def sentence(self) -> str:
        parts = []
        if self.min_delta_cfi is not None:
            parts.append(f"DeltaCFI >= {self.min_delta_cfi:.3f}")
        if self.max_delta_rmsea is not None:
            parts.append(f"DeltaRMSEA <= {self.max_delta_rmsea:.3f}")
        cut = self.max_delta_srmr
        if isinstance(cut, dict):
            parts.append("DeltaSRMR <= " + ", ".join(
                f"{v:.3f} ({'other levels' if k == 'default' else k})" for k, v in cut.items()))
        elif cut is not None:
            parts.append(f"DeltaSRMR <= {cut:.3f}")
        if self.alpha is not None:
            parts.append(f"chi-square difference p >= {self.alpha}")
        return f"A level holds when " + " and ".join(parts) + f" ({self.reference})."

    def to_dict(self) -> dict:
        return jsonable({"name": self.name, "min_delta_cfi": self.min_delta_cfi,
                         "max_delta_rmsea": self.max_delta_rmsea,
                         "max_delta_srmr": self.max_delta_srmr, "alpha": self.alpha,
                         "reference": self.reference})


RULES = {
    "chen2007": DecisionRule(
        "chen2007", min_delta_cfi=-0.010, max_delta_rmsea=0.015,
        max_delta_srmr={"metric": 0.030, "default": 0.015},
        reference="Chen (2007), Structural Equation Modeling 14, 464-504"),
    "cheung_rensvold2002": DecisionRule(
        "cheung_rensvold2002", min_delta_cfi=-0.010,
        reference="Cheung & Rensvold (2002), Structural Equation Modeling 9, 233-255"),
    "chisq": DecisionRule(
        "chisq", alpha=0.05,
        reference="chi-square difference test; Satorra & Bentler (2001) scaled for MLR"),
}


def _get_rule(rule) -> DecisionRule:
    if isinstance(rule, DecisionRule):
        return rule
    if isinstance(rule, str) and rule in RULES:
        return RULES[rule]
    raise ModelError(f"unknown invariance decision rule {rule!r}; use one of {sorted(RULES)} "
                     "or a psychometrics.invariance.DecisionRule")


# ---------------------------------------------------------------- difference tests
def chisq_difference(fm1: dict, fm0: dict, robust: bool) -> dict:
    """Chi-square difference of nested model 0 (more constrained) against model 1.

    ML: ``T0 - T1`` on ``d0 - d1`` df (lavaan ``lavTestLRT``).  MLR: Satorra & Bentler
    (2001) scaled difference from the unscaled statistics and scaling factors
    (lavaan ``lav_test_diff_SatorraBentler2001``).  Returns chisq_diff, df_diff,
    p_diff and, when robust, the difference scaling factor ``cd`` (None if negative).
    """
    t1, d1 = fm1["chisq"], fm1["df"]
    t0, d0 = fm0["chisq"], fm0["df"]
    m = d0 - d1
    out: dict = {"df_diff": m}
    if not robust:
        out["chisq_diff"] = t0 - t1
    else:
        c1 = fm1["chisq_scaling_factor"] if d1 > 0 else 1.0
        c0 = fm0["chisq_scaling_factor"]
        if m == 0:
            out["chisq_diff"] = t0 - t1
            out["scaling_factor_diff"] = None
        else:
            cd = (d0 * c0 - d1 * c1) / m
            if cd < 0:
                out["chisq_diff"] = float("nan")
                out["scaling_factor_diff"] = None
                out["problem"] = ("Satorra-Bentler (2001) difference scaling factor is negative; "
                                  "scaled difference test not available")
            else:
                out["chisq_diff"] = (t0 - t1) / cd
                out["scaling_factor_diff"] = cd
    if m > 0 and np.isfinite(out["chisq_diff"]):
        out["p_diff"] = float(stats.chi2.sf(out["chisq_diff"], m))
    else:
        out["p_diff"] = float("nan")
    return out


# ---------------------------------------------------------------- model scanning
from ._text import NAME_PATTERN as _NAME  # Unicode names (issue 12)


def _scan_model(model: str) -> dict:
    """Factors, indicators and extra free parameters of lavaan-style CFA syntax.

    Used only for the pre-fit checks (items to check, parameters per group); the
    engine's parser fits the model.
    """
    factors: dict[str, list[str]] = {}
    extra = 0
    fixed_loadings = 0
    for raw in re.split(r"[\n;]", model):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=~" in line:
            lhs, rhs = line.split("=~", 1)
            inds = []
            for term in rhs.split("+"):
                term = term.strip()
                mult = None
                if "*" in term:
                    mult, term = term.rsplit("*", 1)
                    term = term.strip()
                    mult = mult.strip()
                    try:
                        float(mult)
                        fixed_loadings += 1
                    except ValueError:
                        pass
                if re.fullmatch(_NAME, term):
                    inds.append(term)
            factors.setdefault(lhs.strip(), []).extend(inds)
        elif "~~" in line:
            lhs, rhs = line.split("~~", 1)
            for term in rhs.split("+"):
                if "*" in term:
                    mult = term.rsplit("*", 1)[0].strip()
                    try:
                        float(mult)
                        continue
                    except ValueError:
                        pass
                extra += 1
    observed = []
    for inds in factors.values():
        for v in inds:
            if v not in factors and v not in observed:
                observed.append(v)
    return {"factors": factors, "observed": observed, "extra": extra,
            "fixed_loadings": fixed_loadings}


def _engine_scan(model: str, std_lv: bool) -> dict | None:
    """Observed variables and free parameters per group from the engine's own parser
    (``parse_model`` + ``build_partable``, one group, mean structure); None if unavailable.
    Syntax errors propagate as :class:`~psychometrics.errors.ModelSyntaxError`."""
    try:
        from .sem.partable import build_partable
        from .sem.syntax import parse_model
    except ImportError:
        return None
    pt = build_partable(parse_model(model), ngroups=1, meanstructure=True, std_lv=std_lv)
    ov = list(pt.roles.ov)
    factors: dict[str, list[str]] = {}
    for lhs, op, rhs in zip(pt.lhs, pt.op, pt.rhs):
        if op == "=~":
            factors.setdefault(lhs, []).append(rhs)
    return {"observed": ov, "factors": factors, "npar": int(np.sum(np.asarray(pt.free) > 0))}


def _free_per_group(scan: dict, std_lv: bool) -> int:
    """Free parameters of one group of the configural model (mean structure included)."""
    p = len(scan["observed"])
    m = len(scan["factors"])
    n_load = sum(len(v) for v in scan["factors"].values()) - scan["fixed_loadings"]
    if not std_lv:
        n_load -= m
        n_psi = m * (m + 1) // 2
    else:
        n_psi = m * (m - 1) // 2
    return n_load + p + p + n_psi + scan["extra"]


# ---------------------------------------------------------------- result
@dataclass
class InvarianceResult:
    """Result of :func:`invariance`.

    ``table``: DataFrame indexed by level (``"scalar (partial)"`` rows follow a level
    that needed released parameters) with npar, chisq, df, pvalue, cfi, tli, rmsea
    (+ 90% CI), srmr, aic, bic, the robust/scaled columns with MLR, chisq_diff,
    df_diff, p_diff, delta_cfi, delta_rmsea, delta_srmr, decision and ``freed``;
    ``fits``: level -> fitted model; ``freed``: DataFrame of the released constraints
    (level, order, parameter, lhs, op, rhs, X2, df, pvalue); ``latent_means``:
    DataFrame (factor, group, reference, mean_diff, se, z, pvalue, d, var_ref,
    var_group, var_ratio, var_diff, var_diff_se, var_diff_z, var_diff_pvalue, model;
    the variance difference's SE by the delta method from the estimates' covariance
    matrix, robust with MLR); ``note``: dict (rule, sentence, references,
    reference group, estimator, missing, dropped cases); ``score_tests``: level ->
    ScoreTestResult of every search iteration's first test.
    """

    table: pd.DataFrame
    fits: dict
    freed: pd.DataFrame
    latent_means: pd.DataFrame
    note: dict
    groups: list
    reference_group: Any
    n_per_group: dict
    n_dropped: int
    rule: DecisionRule
    score_tests: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return jsonable({
            "table": self.table.reset_index(names="level"), "freed": self.freed,
            "latent_means": self.latent_means, "note": self.note, "groups": self.groups,
            "reference_group": self.reference_group, "n_per_group": self.n_per_group,
            "n_dropped": self.n_dropped, "rule": self.rule.to_dict(),
            "score_tests": {k: v.to_dict() for k, v in self.score_tests.items()},
            "warnings": self.warnings})

    def summary(self) -> str:
        cols = [c for c in ("chisq", "df", "cfi", "rmsea", "srmr", "chisq_diff", "df_diff",
                            "p_diff", "delta_cfi", "delta_rmsea", "delta_srmr", "decision")
                if c in self.table.columns]
        return self.table[cols].to_string(float_format=lambda v: f"{v:.3f}") + "\n" + \
            self.note["sentence"]


# ---------------------------------------------------------------- data preparation
def _prepare(data: pd.DataFrame, group: str, scan: dict, missing: str, max_groups: int,
             std_lv: bool, data_name: str):
    if not isinstance(data, pd.DataFrame):
        raise ModelError("invariance() needs the data as a pandas DataFrame")
    if group not in data.columns:
        raise DataError(f"{data_name}: grouping column {group!r} not found "
                        f"(columns: {', '.join(map(str, data.columns))})")
    items = scan["observed"]
    absent = [v for v in items if v not in data.columns]
    if absent:
        raise ModelError(f"{data_name}: model variable(s) {', '.join(absent)} not in the data")
    gmiss = data[group].isna()
    n_dropped = int(gmiss.sum())
    df = data.loc[~gmiss]
    gcol = df[group]
    if pd.api.types.is_float_dtype(gcol) and len(gcol) and (gcol == np.round(gcol)).all():
        # a numeric code read as float because of missing values (3.0 -> 3)
        df = df.assign(**{group: gcol.astype("int64")})
    labels = list(pd.unique(df[group]))
    if len(labels) < 2:
        raise DataError(f"{data_name}: grouping column {group!r} has {len(labels)} group(s) "
                        f"({', '.join(map(repr, labels))}); invariance needs two or more")
    if len(labels) > max_groups:
        raise DataError(f"{data_name}: grouping column {group!r} has {len(labels)} groups, more "
                        f"than max_groups={max_groups} (values: "
                        f"{', '.join(map(repr, labels[:20]))}); recode it or raise max_groups")
    itemdata = df[items]
    nonnum = [c for c in items if not pd.api.types.is_numeric_dtype(itemdata[c])]
    if nonnum:
        probs = []
        for c in nonnum:
            bad = pd.to_numeric(itemdata[c], errors="coerce").isna() & itemdata[c].notna()
            for idx in list(itemdata.index[bad])[:5]:
                probs.append(CellProblem(data_name, idx, c, itemdata.at[idx, c], "not a number"))
        raise DataError(f"{data_name}: non-numeric values in model variables", probs)
    if missing == "listwise":
        used = itemdata.notna().all(axis=1)
    else:
        used = itemdata.notna().any(axis=1)
    df = df.loc[used]
    empty = [g for g in labels if not (df[group] == g).any()]
    if empty:
        what = "complete cases" if missing == "listwise" else "observed item values"
        raise DataError(f"{data_name}: group(s) {', '.join(map(repr, empty))} of {group!r} have "
                        f"no {what} on the model variables ({', '.join(items)})")
    # the groups (and their order: the first is the reference) of the rows actually fitted,
    # as the engine sees them -- not of all rows (issue 12: under listwise deletion the
    # first complete row may belong to another group than the first row)
    labels = list(pd.unique(df[group]))
    npar = scan["npar"] if "npar" in scan else _free_per_group(scan, std_lv)
    problems = []
    n_per_group = {}
    for g in labels:
        sub = df.loc[df[group] == g, items]
        n_per_group[g] = int(len(sub))
        for c in items:
            vals = sub[c].dropna().unique()
            if len(vals) <= 1:
                first = sub.index[sub[c].notna()][0] if sub[c].notna().any() else sub.index[0]
                value = vals[0] if len(vals) else None
                problems.append(CellProblem(
                    data_name, first, c, value,
                    f"item is constant in group {g!r} of {group!r} ({len(sub)} cases); "
                    "its variance cannot be estimated in that group"))
    if problems:
        raise DataError(f"{data_name}: constant item(s) within a group of {group!r}", problems)
    small = {g: n for g, n in n_per_group.items() if n < npar}
    if small:
        raise DataError(
            f"{data_name}: group(s) of {group!r} smaller than the {npar} free parameters per "
            "group of the configural model: "
            + ", ".join(f"{g!r} (n = {n})" for g, n in small.items())
            + "; merge groups or simplify the model")
    return df, labels, n_per_group, n_dropped


# ---------------------------------------------------------------- helpers on fits
def _fit(model, data, group, estimator, missing, group_equal, group_partial, std_lv):
    from .sem import cfa
    return cfa(model, data, group=group, estimator=estimator, missing=missing,
               group_equal=tuple(group_equal), group_partial=tuple(group_partial),
               std_lv=std_lv)


def _equal_tokens(level: str) -> list[str]:
    idx = LEVELS.index(level)
    return [GROUP_EQUAL[lv] for lv in LEVELS[1:idx + 1]]


def _param_name(lhs: str, op: str, rhs: str) -> str:
    if op == "~1":
        return f"{lhs}~1"
    return f"{lhs}{op}{rhs}"


def _fit_row(fit, robust: bool) -> dict:
    fm = dict(fit.fit_measures())
    keys = ["npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower",
            "rmsea_ci_upper", "srmr", "aic", "bic"]
    if robust:
        keys += ["chisq_scaled", "df_scaled", "pvalue_scaled", "chisq_scaling_factor",
                 "cfi_robust", "tli_robust", "rmsea_robust"]
    return {k: fm.get(k, float("nan")) for k in keys}, fm


def _compare(row: dict, fm: dict, prev_fm: dict, robust: bool) -> dict:
    diff = chisq_difference(prev_fm, fm, robust)
    cfi = "cfi_robust" if robust else "cfi"
    rmsea = "rmsea_robust" if robust else "rmsea"
    row.update({"chisq_diff": diff["chisq_diff"], "df_diff": diff["df_diff"],
                "p_diff": diff["p_diff"],
                "delta_cfi": fm[cfi] - prev_fm[cfi], "delta_rmsea": fm[rmsea] - prev_fm[rmsea],
                "delta_srmr": fm["srmr"] - prev_fm["srmr"]})
    return diff


def _indicators(fit) -> dict[str, list[str]]:
    pe = fit.parameters()
    first = pe["group"].iloc[0]
    load = pe[(pe["op"] == "=~") & (pe["group"] == first)]
    out: dict[str, list[str]] = {}
    for f, v in zip(load["lhs"], load["rhs"]):
        out.setdefault(f, []).append(v)
    return out


class _Progress:
    """``progress(done, total)`` in units of work of an invariance sequence: model fits and
    the score-test rounds of a partial-invariance search.  ``total`` starts at the number of
    levels and grows by two (a score-test round and a refit) with every search step; it is
    brought down to ``done`` at the end when the sequence stopped early.  Counts only."""

    def __init__(self, progress, total: int):
        self.progress = progress
        self.done = 0
        self.total = int(total)

    def expect(self, extra: int) -> None:
        self.total += int(extra)

    def step(self) -> None:
        self.done += 1
        self.total = max(self.total, self.done)
        if self.progress is not None:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        if self.progress is not None and self.total > self.done:
            self.progress(self.done, self.done)


def _fit_problem(fit) -> str | None:
    """Why a fit is not a result (did not converge, singular information, ...), or None."""
    prob = getattr(fit, "problem", None)
    if prob is None and not getattr(fit, "converged", True):
        prob = "the model did not converge"
    return prob


_INDEX_KEYS = ("chisq", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper",
               "srmr", "aic", "bic", "chisq_scaled", "df_scaled", "pvalue_scaled",
               "chisq_scaling_factor", "cfi_robust", "tli_robust", "rmsea_robust")


def _untested_levels(levels: Sequence[str], level: str, why: str) -> list[str]:
    """The note naming the levels after ``level`` that were not fitted, and why (both the
    ML/MLR and the ordinal sequence stop at a failed or unevaluable level)."""
    later = list(levels)[list(levels).index(level) + 1:]
    return [f"Levels not tested because {why}: {', '.join(later)}."] if later else []


def _blank_indices(row: dict) -> None:
    """Remove the fit statistics of a fit that is not a result (they stay in ``fits``)."""
    for k in _INDEX_KEYS:
        if k in row:
            row[k] = float("nan")


def _release_blocked(indicators: dict, released: Sequence[str], cand: dict, level: str):
    """The factor and parameter type that releasing ``cand`` would leave with fewer than two
    invariant indicators, or None.

    The rule of Byrne, Shavelson & Muthen (1989) is applied per parameter type: every factor
    keeps two equal loadings (metric) and two indicators whose loading *and* intercept are
    equal (scalar; the indicators that carry the latent-mean comparison, Steenkamp &
    Baumgartner 1998).  Residual variances (strict) may be released freely.  Only the
    factors the candidate belongs to are checked.
    """
    op = cand["op"]
    if op not in ("=~", "~1"):
        # residual variances (and, for ordinal items, thresholds) may be released freely
        return None
    freed = set(released) | {cand["parameter"]}
    for f, items in indicators.items():
        if op == "=~" and cand["lhs"] != f:
            continue
        if op == "~1" and cand["lhs"] not in items:
            continue
        n = 0
        for v in items:
            names = [f"{f}=~{v}"] + ([f"{v}~1"] if op == "~1" else [])
            if not any(nm in freed for nm in names):
                n += 1
        if n < 2:
            return f, ("loadings" if op == "=~" else "indicators with equal loading and intercept")
    return None


def _choose_release(ranked: pd.DataFrame, indicators: dict, released: Sequence[str], level: str):
    """The constraint with the largest score statistic that may be released, and the larger
    ones that were blocked (``[(candidate, factor, type)]``)."""
    blocked = []
    for _, cand in ranked.iterrows():
        why = _release_blocked(indicators, released, cand, level)
        if why is None:
            return cand, blocked
        blocked.append((cand, *why))
    return None, blocked


def _blocked_text(blocked) -> str:
    return "; ".join(f"{c['parameter']} (X2 = {c['X2']:.2f}) would leave factor {f} with fewer "
                     f"than two invariant {kind}" for c, f, kind in blocked)


def _next_release(ranked: pd.DataFrame, indicators: dict, released: Sequence[str], level: str,
                  alpha: float):
    """One step of the partial-invariance search (issue 12), shared by the ML/MLR sequence and
    the ordinal one (:mod:`psychometrics.invariance_ordinal`).

    ``ranked``: this level's constraints with columns ``parameter, lhs, op, rhs, X2, df,
    pvalue``, largest score statistic first.  The candidate is the largest one that keeps two
    invariant indicators per factor and parameter type (Byrne, Shavelson & Muthen 1989,
    :func:`_release_blocked`); the search stops when none may be released or when the
    candidate's score test is not significant at ``alpha`` ("misfit not localised").

    Returns ``(release, None)`` with ``release`` the row of the freed table (without ``level``
    and ``order``; its ``reason`` names larger blocked candidates and why), or ``(None,
    message)`` with the reason the search stopped.
    """
    choice, blocked = _choose_release(ranked, indicators, released, level)
    if choice is None and level not in ("metric", "scalar") and not blocked:
        return None, f"{level}: partial invariance not attained; no constraint left to release."
    if choice is None:
        return None, (f"{level}: partial invariance not attained; releasing any further "
                      "constraint would leave a factor with fewer than two invariant "
                      + ("loadings" if level == "metric" else "indicators (equal loading "
                         "and intercept)")
                      + " (Byrne, Shavelson & Muthen 1989)"
                      + (f"; blocked: {_blocked_text(blocked)}" if blocked else "") + ".")
    if not choice["pvalue"] < alpha:
        return None, (f"{level}: misfit not localised: the largest score test of a "
                      f"constraint that may be released ({choice['parameter']}, "
                      f"X2 = {choice['X2']:.2f}, df = {int(choice['df'])}, "
                      f"p = {choice['pvalue']:.3f}) is not significant at {alpha}"
                      + (f"; larger but blocked: {_blocked_text(blocked)}" if blocked
                         else "") + ".")
    reason = f"largest score statistic among the {level} constraints while the step failed"
    if blocked:
        reason += f" (larger but blocked: {_blocked_text(blocked)})"
    return ({**{k: choice[k] for k in ("parameter", "lhs", "op", "rhs", "X2", "df", "pvalue")},
             "reason": reason}, None)


def _rank_constraints(fit, level: str, observed: set):
    """Score tests of this level's constraints grouped by parameter, largest first."""
    from .sem.score_test import score_test
    st = score_test(fit, univariate=True)
    uni = st.uni
    op = LEVEL_OP[level]
    mask = (uni["op"] == op)
    if level == "strict":
        mask &= (uni["lhs"] == uni["rhs"]) & uni["lhs"].isin(observed)
    if level == "scalar":
        mask &= uni["lhs"].isin(observed)
    sel = uni[mask]
    rows = []
    for name, sub in sel.groupby("parameter", sort=False):
        idx = list(sub.index)
        if len(idx) == 1:
            x2, df = float(sub["X2"].iloc[0]), 1
        else:
            joint = score_test(fit, release=idx, univariate=False)
            x2, df = joint.total["X2"], joint.total["df"]
        rows.append({"parameter": name, "lhs": sub["lhs"].iloc[0], "op": op,
                     "rhs": "" if op == "~1" else sub["rhs"].iloc[0], "X2": x2, "df": df,
                     "pvalue": float(stats.chi2.sf(x2, df))})
    ranked = pd.DataFrame(rows, columns=["parameter", "lhs", "op", "rhs", "X2", "df", "pvalue"])
    ranked = ranked.sort_values("X2", ascending=False, kind="stable").reset_index(drop=True)
    return ranked, st


def _latent_comparison(fit, labels, n_per_group, model_name) -> pd.DataFrame:
    pe = fit.parameters()
    # the reference is the fit's first group (latent means fixed at 0 there): map by label
    fitted = [str(g) for g in fit.group_labels]
    ref = next(g for g in labels if str(g) == fitted[0])
    labels = [ref] + [g for g in labels if str(g) != fitted[0]]
    lvs = list(dict.fromkeys(pe.loc[pe["op"] == "=~", "lhs"]))
    rows = []
    pt = fit.partable
    gnum = {str(g): k + 1 for k, g in enumerate(fit.group_labels)}
    vfun = getattr(fit, "_vcov_for_defined", None) or fit.vcov
    V = np.asarray(vfun(), dtype=float)

    def red_index(f, g):
        i = pt.find(f, "~~", f, gnum[str(g)])
        if i is None or pt.free[i] <= 0:
            return None
        return int(pt.eq_map[pt.free[i] - 1])

    def var_diff(f, g):
        i, j = red_index(f, ref), red_index(f, g)
        if i is None or j is None:
            return float("nan")
        v = V[i, i] + V[j, j] - 2 * V[i, j]
        return float(np.sqrt(v)) if v >= 0 else float("nan")

    gstr = pe["group"].astype(str)        # once, not per factor and group

    def grp(g):
        return gstr == str(g)

    for f in lvs:
        var = pe[(pe["lhs"] == f) & (pe["op"] == "~~") & (pe["rhs"] == f)]
        psi_ref = float(var.loc[grp(ref), "est"].iloc[0])
        for g in labels[1:]:
            r = pe[(pe["lhs"] == f) & (pe["op"] == "~1") & grp(g)].iloc[0]
            psi_g = float(var.loc[grp(g), "est"].iloc[0])
            n1, n2 = n_per_group[ref], n_per_group[g]
            pooled = (n1 * psi_ref + n2 * psi_g) / (n1 + n2)
            d = float(r["est"]) / np.sqrt(pooled) if pooled > 0 else float("nan")
            vd = psi_g - psi_ref
            vd_se = var_diff(f, g)
            vd_z = vd / vd_se if vd_se > 0 else float("nan")
            rows.append({"factor": f, "group": g, "reference": ref, "mean_diff": float(r["est"]),
                         "se": float(r["se"]), "z": float(r["z"]), "pvalue": float(r["pvalue"]),
                         "d": d, "var_ref": psi_ref, "var_group": psi_g,
                         "var_ratio": psi_g / psi_ref if psi_ref != 0 else float("nan"),
                         "var_diff": vd, "var_diff_se": vd_se, "var_diff_z": vd_z,
                         "var_diff_pvalue": float(2 * stats.norm.sf(abs(vd_z)))
                         if np.isfinite(vd_z) else float("nan"),
                         "model": model_name})
    return pd.DataFrame(rows, columns=["factor", "group", "reference", "mean_diff", "se", "z",
                                       "pvalue", "d", "var_ref", "var_group", "var_ratio",
                                       "var_diff", "var_diff_se", "var_diff_z",
                                       "var_diff_pvalue", "model"])


# ---------------------------------------------------------------- main entry
@single_blas_thread
def invariance(model: str, data: pd.DataFrame, group: str, estimator: str = "ML",
               missing: str = "listwise",
               levels: Sequence[str] = ("configural", "metric", "scalar", "strict"),
               rule="chen2007", partial: str = "search", group_partial: Sequence[str] = (),
               max_groups: int = 10, max_release: int = 20, std_lv: bool = False,
               data_name: str = "data", ordered=None,
               progress=None) -> InvarianceResult:
    """Test measurement invariance of ``model`` across the groups in column ``group``.

    Returns an :class:`InvarianceResult` (``table``, ``fits``, ``freed``,
    ``latent_means``, ``note``, ``to_dict()``).  ``levels``: any of
    ``configural, metric, scalar, strict, lv_variances, lv_covariances, means`` in that
    order, starting with configural; each level adds lavaan's group.equal token
    (loadings, intercepts, residuals, lv.variances, lv.covariances, means) to the
    previous ones.  ``estimator``: "ML" or "MLR"; ``missing``: "listwise" or "fiml"
    (passed to :func:`psychometrics.cfa`).  ``rule``: a name in :data:`RULES` or a
    :class:`DecisionRule`.  ``partial``: "search" (release constraints of a failing
    measurement step by score tests) or "none" (fit and judge every level as is).
    ``group_partial``: parameters ("visual=~x2", "x3~1", "x1~~x1") released in every
    level by hand; when given, no search is made.  Cases with a missing group are
    dropped and counted (``n_dropped``).  Numbers reproduce lavaan 0.6-14
    (``cfa(group.equal=, group.partial=)``, ``fitMeasures``, ``lavTestLRT``,
    ``lavTestScore``) and semTools' ``compareFit`` differences.

    ``ordered`` (True or a list of columns): ordinal items, analysed by WLSMV with Wu &
    Estabrook's (2016) identification and the levels configural -> thresholds -> metric ->
    scalar; see :func:`psychometrics.invariance_ordinal.ordinal_invariance`.

    ``progress``: optional callback ``progress(done, total)`` (a progress display) called
    after each model fit and each score-test round of a partial-invariance search, with the
    units done and expected so far (the total grows by two with every search step); it only
    reports counts, the result does not depend on it (ordinal items too).
    """
    if ordered is not None and ordered is not False and not (
            isinstance(ordered, (list, tuple)) and not ordered):
        from .invariance_ordinal import ORDINAL_LEVELS, ordinal_invariance
        lv = tuple(levels)
        if lv == ("configural", "metric", "scalar", "strict"):
            lv = ORDINAL_LEVELS
        return ordinal_invariance(model, data, group, ordered=ordered,
                                  estimator="WLSMV" if str(estimator).upper() == "ML" else estimator,
                                  missing=missing, levels=lv, rule=rule, partial=partial,
                                  group_partial=group_partial, max_release=max_release,
                                  data_name=data_name, progress=progress)
    rule = _get_rule(rule)
    counter = _Progress(progress, len(list(levels)))   # fits and score-test rounds

    def _fit_counted(*args):
        fit_ = _fit(*args)
        counter.step()
        return fit_

    est = str(estimator).upper()
    if est not in ("ML", "MLR"):
        raise ModelError(f"invariance: estimator {estimator!r} not supported; use 'ML' or 'MLR'")
    robust = est == "MLR"
    if missing not in ("listwise", "fiml", "ml"):
        raise ModelError(f"invariance: missing={missing!r}; use 'listwise' or 'fiml'")
    if partial not in ("search", "none"):
        raise ModelError(f"invariance: partial={partial!r}; use 'search' or 'none'")
    levels = list(levels)
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown:
        raise ModelError(f"invariance: unknown level(s) {unknown}; levels are {list(LEVELS)}")
    if not levels or levels[0] != "configural":
        raise ModelError("invariance: levels must start with 'configural'")
    if [LEVELS.index(lv) for lv in levels] != sorted(LEVELS.index(lv) for lv in levels) or \
            len(set(levels)) != len(levels):
        raise ModelError(f"invariance: levels must follow the order {list(LEVELS)}")
    scan = _engine_scan(model, std_lv) or _scan_model(model)
    if not scan["factors"]:
        raise ModelError("invariance: the model defines no latent factor (=~)")
    df, labels, n_per_group, n_dropped = _prepare(data, group, scan, missing, max_groups,
                                                  std_lv, data_name)
    user_partial = list(group_partial)
    search = partial == "search" and not user_partial
    observed = set(scan["observed"])
    notes: list[str] = []
    warn_list: list[str] = []
    if n_dropped:
        notes.append(f"{n_dropped} case(s) with a missing value of {group!r} were dropped.")

    fits: dict = {}
    rows: dict = {}
    freed_rows: list[dict] = []
    score_tests: dict = {}
    released = list(user_partial)
    prev_fm = None
    indicators = None
    scalar_model = None
    stopped = None
    alpha = rule.alpha if rule.alpha is not None else 0.05
    for level in levels:
        fit = _fit_counted(model, df, group, est, missing, _equal_tokens(level), released, std_lv)
        fits[level] = fit
        if indicators is None:
            indicators = _indicators(fit)
        row, fm = _fit_row(fit, robust)
        row["freed"] = ", ".join(released)
        problem = _fit_problem(fit)
        if problem:
            # no fit indices and no decision from a fit that is not a result (issue 12)
            _blank_indices(row)
            row["decision"] = f"not evaluated: {problem}"
            rows[level] = row
            notes.append(f"{level}: not evaluated ({problem}).")
            notes += _untested_levels(levels, level, f"the {level} model could not be evaluated")
            break
        if prev_fm is None:
            row["decision"] = "baseline"
            rows[level] = row
            prev_fm = fm
            continue
        diff = _compare(row, fm, prev_fm, robust)
        if "problem" in diff:
            warn_list.append(f"{level}: {diff['problem']}")
        ok, reasons = rule.decide(row, level)
        row["decision"] = {True: "invariant", False: "not invariant", None: "undecided"}[ok]
        if reasons:
            notes.append(f"{level}: {'; '.join(reasons)}.")
        rows[level] = row
        if ok is False and search and level in MEASUREMENT_LEVELS:
            accepted, fit_p, fm_p, row_p = False, fit, fm, None
            for _ in range(max_release):
                counter.expect(2)             # a score-test round and a refit
                ranked, st = _rank_constraints(fit_p, level, observed)
                counter.step()
                score_tests.setdefault(level, st)
                release, stopped = _next_release(ranked, indicators, released, level, alpha)
                if release is None:
                    break
                released.append(release["parameter"])
                freed_rows.append({"level": level, "order": len(freed_rows) + 1, **release})
                fit_p = _fit_counted(model, df, group, est, missing, _equal_tokens(level),
                                     released, std_lv)
                row_p, fm_p = _fit_row(fit_p, robust)
                problem_p = _fit_problem(fit_p)
                if problem_p:
                    _blank_indices(row_p)
                    stopped = f"{level} (partial): not evaluated ({problem_p})."
                    break
                diff_p = _compare(row_p, fm_p, prev_fm, robust)
                if "problem" in diff_p:
                    warn_list.append(f"{level} (partial): {diff_p['problem']}")
                ok_p, _ = rule.decide(row_p, level)
                if ok_p:
                    accepted = True
                    break
            else:
                stopped = f"{level}: no partial solution within {max_release} released parameters."
            if row_p is not None:
                key = f"{level} (partial)"
                row_p["freed"] = ", ".join(released)
                problem_p = _fit_problem(fit_p)
                row_p["decision"] = ("partially invariant" if accepted else
                                     f"not evaluated: {problem_p}" if problem_p else
                                     "not invariant")
                rows[key] = row_p
                fits[key] = fit_p
                if accepted:
                    fm, fit = fm_p, fit_p
                    if level == "scalar":
                        scalar_model = key
            if not accepted:
                if stopped:
                    notes.append(stopped)
                notes += _untested_levels(levels, level, f"{level} invariance failed")
                break
        elif level == "scalar":
            scalar_model = level
        prev_fm = fm
    if scalar_model is None and "scalar" in rows and partial == "none" \
            and not str(rows["scalar"]["decision"]).startswith("not evaluated"):
        scalar_model = "scalar"

    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "level"
    order = ["npar", "chisq", "df", "pvalue", "chisq_scaled", "df_scaled", "pvalue_scaled",
             "chisq_scaling_factor", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper",
             "cfi_robust", "tli_robust", "rmsea_robust", "srmr", "aic", "bic", "chisq_diff",
             "df_diff", "p_diff", "delta_cfi", "delta_rmsea", "delta_srmr", "decision", "freed"]
    table = table[[c for c in order if c in table.columns]]
    freed = pd.DataFrame(freed_rows, columns=["level", "order", "parameter", "lhs", "op", "rhs",
                                              "X2", "df", "pvalue", "reason"])
    if scalar_model is not None:
        latent = _latent_comparison(fits[scalar_model], labels, n_per_group, scalar_model)
        if rows[scalar_model]["decision"] not in ("invariant", "partially invariant"):
            notes.append(f"Latent means are compared in the {scalar_model} model although it "
                         f"did not meet the decision rule ({rows[scalar_model]['decision']}).")
    else:
        latent = pd.DataFrame(
            columns=["factor", "group", "reference", "mean_diff", "se", "z", "pvalue", "d",
                     "var_ref", "var_group", "var_ratio", "var_diff", "var_diff_se",
                     "var_diff_z", "var_diff_pvalue", "model"])
        if "scalar" in levels:
            notes.append("Latent means not compared: scalar invariance (full or partial) "
                         "was not established.")
    for w in warn_list:  # our own findings; the engine has already warned about its own
        _warnings.warn(w, PsychometricsWarning, stacklevel=2)
    for key, fit in fits.items():
        for w in getattr(fit, "warnings", []) or []:
            warn_list.append(f"{key}: {w}")
    diff_test = ("Satorra-Bentler (2001) scaled chi-square difference (lavaan lavTestLRT)"
                 if robust else "chi-square difference test (lavaan lavTestLRT)")
    note = {
        "rule": rule.name, "sentence": rule.sentence(), "references": [rule.reference],
        "difference_test": diff_test,
        "fit_indices": ("robust CFI/TLI/RMSEA (Brosseau-Liard & Savalei 2014)" if robust
                        else "ML CFI/TLI/RMSEA"),
        "partial": ("score tests (lavaan lavTestScore"
                    + ("; ordinary, not robust, score tests as lavaan gives for MLR fits"
                       if robust else "")
                    + "); at least two invariant indicators per factor "
                    "(Byrne, Shavelson & Muthen 1989)" if search else
                    ("released by hand: " + ", ".join(user_partial) if user_partial else "none")),
        "group": group, "groups": labels, "reference_group": labels[0],
        "latent_means": ("means fixed at 0 in the reference group; d uses the size-weighted "
                         "pooled latent variance of the two groups (Hancock 2001)"),
        "estimator": est, "missing": missing, "n_dropped_missing_group": n_dropped,
        "messages": notes,
    }
    counter.finish()                     # fewer units than expected (the run stopped early)
    return InvarianceResult(table=table, fits=fits, freed=freed, latent_means=latent, note=note,
                            groups=labels, reference_group=labels[0], n_per_group=n_per_group,
                            n_dropped=n_dropped, rule=rule, score_tests=score_tests,
                            warnings=warn_list)
