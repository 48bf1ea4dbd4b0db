"""Measurement invariance of ordinal indicators (WLSMV): configural -> thresholds -> metric ->
scalar, with Wu & Estabrook's (2016) identification in the delta parameterization.

The models are those of ``semTools::measEq.syntax(ID.fac = "std.lv", ID.cat =
"Wu.Estabrook.2016", parameterization = "delta", group.equal = ...)`` fitted by
``lavaan::cfa(..., ordered = , estimator = "WLSMV")``:

* configural: thresholds, loadings free in every group; intercepts 0, scale factors 1, latent
  means 0 and variances 1 in every group;
* thresholds (Wu & Estabrook 2016, Psychometrika 81, 1014-1045): thresholds equal; the
  intercepts and scale factors of groups 2.. become free (the model is equivalent to the
  configural one when every item has three categories or fewer);
* metric: + loadings equal; latent variances of groups 2.. free;
* scalar: + intercepts equal (0); latent means of groups 2.. free.

Each step is compared with the previous accepted one by lavaan's ``lavTestLRT`` default for
WLSMV, the scaled-shifted difference test of Satorra (2000) and Asparouhov & Muthén (2010)
(:func:`psychometrics.sem.wlsmv_inference.satorra2000_difference`), and by the decision rule
(Chen 2007 by default) on the changes of the scaled CFI and RMSEA and of the SRMR.  A failing
step can be repaired by a partial-invariance search on score tests, as for ML/MLR
(:mod:`psychometrics.invariance`); latent means are compared in the (partial) scalar model.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError, ModelError

ORDINAL_LEVELS = ("configural", "thresholds", "metric", "scalar")
ORDINAL_EQUAL = {"configural": (), "thresholds": ("thresholds",),
                 "metric": ("thresholds", "loadings"),
                 "scalar": ("thresholds", "loadings", "intercepts")}
ORDINAL_LEVEL_OP = {"thresholds": "|", "metric": "=~", "scalar": "~1"}

ROW_KEYS = ("npar", "chisq", "df", "pvalue", "chisq_scaled", "df_scaled", "pvalue_scaled",
            "chisq_scaling_factor", "cfi", "tli", "rmsea", "cfi_scaled", "tli_scaled",
            "rmsea_scaled", "rmsea_ci_lower_scaled", "rmsea_ci_upper_scaled", "cfi_robust",
            "rmsea_robust", "srmr", "wrmr")


def _blank_indices(row: dict) -> None:
    """Remove the fit statistics of a fit that is not a result (they stay in ``fits``)."""
    for k in ROW_KEYS:
        if k not in ("npar", "df") and k in row:
            row[k] = float("nan")


def _row(fit) -> tuple[dict, dict]:
    fm = dict(fit.fit_measures())
    return {k: fm.get(k, float("nan")) for k in ROW_KEYS}, fm


def _ranked(sel: pd.DataFrame, op: str, df_per_parameter: int | None) -> pd.DataFrame:
    """This level's constraints grouped by parameter, largest score statistic first, in the
    layout :func:`psychometrics.invariance._next_release` takes (``parameter, lhs, op, rhs, X2,
    df, pvalue``).  The statistic of a parameter is the sum of its univariate score tests (one
    per group constraint, ``df`` their number) or, when ``df_per_parameter`` is given, the one
    score test of releasing it (``sel`` has one row per parameter)."""
    rows = []
    for name, sub in sel.groupby("parameter", sort=False):
        x2 = float(sub["X2"].sum())
        dfp = int(df_per_parameter) if df_per_parameter is not None else int(len(sub))
        rows.append({"parameter": name, "lhs": sub["lhs"].iloc[0], "op": op,
                     "rhs": "" if op == "~1" else sub["rhs"].iloc[0], "X2": x2, "df": dfp,
                     "pvalue": float(stats.chi2.sf(x2, dfp))})
    ranked = pd.DataFrame(rows, columns=["parameter", "lhs", "op", "rhs", "X2", "df", "pvalue"])
    return ranked.sort_values("X2", ascending=False, kind="stable").reset_index(drop=True)


def ordinal_invariance(*args, **kwargs):
    """Ordinal measurement invariance (see :func:`_ordinal_invariance`), run on one BLAS thread
    (the matrices are small; threads only contend)."""
    from .sem.estimate import single_thread_blas
    with single_thread_blas():
        return _ordinal_invariance(*args, **kwargs)


def _ordinal_invariance(model: str, data: pd.DataFrame | None, group: str, ordered=True,
                        estimator: str = "WLSMV", missing: str = "listwise",
                        levels: Sequence[str] = ORDINAL_LEVELS, rule="chen2007",
                        partial: str = "search", group_partial: Sequence[str] = (),
                        max_release: int = 20, data_name: str = "data", sample_stats=None,
                        progress=None):
    """Ordinal measurement invariance (see module docstring); returns an
    :class:`~psychometrics.invariance.InvarianceResult` whose ``table`` has, per level, the
    standard and scaled statistics, ``cfi_scaled``/``tli_scaled``/``rmsea_scaled`` (used by the
    decision rule), ``srmr``, the scaled-shifted ``chisq_diff``/``df_diff``/``p_diff``,
    ``delta_cfi``/``delta_rmsea``/``delta_srmr``, ``decision`` and ``freed``.
    ``sample_stats``: precomputed ordinal statistics (lavaan's layout) instead of ``data``.
    ``progress``: optional ``progress(done, total)`` callback counting model fits and the
    score-test rounds of the partial search (as :func:`psychometrics.invariance.invariance`).
    """
    from .invariance import (InvarianceResult, _Progress, _fit_problem, _get_rule,
                             _latent_comparison, _next_release, _untested_levels)
    from .sem.ordinal_fit import fit_ordinal, ordinal_stats_from_data
    from .sem.score_test import score_test
    from .sem.syntax import parse_model
    from .sem.partable import var_roles
    from .sem.wlsmv_inference import satorra2000_difference

    rule = _get_rule(rule)
    est = str(estimator).upper()
    if est not in ("WLSMV", "WLSM", "ULSMV", "ULSM"):
        raise ModelError(f"invariance with ordered items: estimator {estimator!r} not supported; "
                         "use 'WLSMV' (also 'WLSM', 'ULSMV', 'ULSM')")
    levels = list(levels)
    bad = [lv for lv in levels if lv not in ORDINAL_LEVELS]
    if bad or not levels or levels[0] != "configural" or \
            [ORDINAL_LEVELS.index(lv) for lv in levels] != sorted(ORDINAL_LEVELS.index(lv) for lv in levels):
        raise ModelError(f"invariance with ordered items: levels must be a sequence of "
                         f"{list(ORDINAL_LEVELS)} in that order, starting with 'configural'")
    if partial not in ("search", "none"):
        raise ModelError(f"invariance: partial={partial!r}; use 'search' or 'none'")
    roles = var_roles(parse_model(model))
    ov = list(roles.ov)
    if not roles.lv:
        raise ModelError("invariance: the model defines no latent factor (=~)")
    n_dropped = 0
    if sample_stats is None:
        if not isinstance(data, pd.DataFrame):
            raise ModelError("invariance() needs the data as a pandas DataFrame")
        if group not in data.columns:
            raise DataError(f"{data_name}: grouping column {group!r} not found")
        gmiss = data[group].isna()
        n_dropped = int(gmiss.sum())
        df = data.loc[~gmiss]
        gcol = df[group]
        if pd.api.types.is_float_dtype(gcol) and len(gcol) and (gcol == np.round(gcol)).all():
            df = df.assign(**{group: gcol.astype("int64")})
        if df[group].nunique() < 2:
            raise DataError(f"{data_name}: grouping column {group!r} has fewer than two groups")
        ordered_l = ov if ordered is True else list(ordered)
        stats_ = ordinal_stats_from_data(df, ov, ordered_l, group=group, missing=missing)
    else:
        from .sem.ordinal_fit import _adapt_stats
        stats_ = _adapt_stats(sample_stats, ov)
    labels = list(stats_.group_labels)
    n_per_group = {g: int(s.nobs) for g, s in zip(labels, stats_.groups)}

    counter = _Progress(progress, len(list(levels)))   # fits and score-test rounds

    def fit_level(level, released):
        fit_ = fit_ordinal(model, None, sample_stats=stats_, estimator=est, std_lv=True,
                           group_equal=ORDINAL_EQUAL[level], group_partial=tuple(released),
                           ordinal_id="wu_estabrook_2016")
        counter.step()
        return fit_

    def _intercept_score_tests(fit_r, released_now, ov_names):
        from .sem.ordinal_fit import release_score_test
        rows_ = []
        for v in ov_names:
            name = f"{v}~1"
            if name in released_now:
                continue
            pt_e, mdl_e, obj_e = fit_ordinal(
                model, None, sample_stats=stats_, estimator=est, std_lv=True,
                group_equal=ORDINAL_EQUAL["scalar"], group_partial=tuple(released_now + [name]),
                ordinal_id="wu_estabrook_2016", _build_only=True)
            rows_.append({"parameter": name, "lhs": v, "op": "~1", "rhs": "",
                          "X2": release_score_test(fit_r, pt_e, mdl_e, obj_e)})
        return pd.DataFrame(rows_, columns=["parameter", "lhs", "op", "rhs", "X2"])

    def compare(row, fit, prev_fit, fm, prev_fm):
        d = satorra2000_difference(prev_fit, fit, scaled_shifted=est.endswith("MV"))
        row.update({"chisq_diff": d["chisq_diff"], "df_diff": d["df_diff"], "p_diff": d["p_diff"],
                    "delta_cfi": fm["cfi_scaled"] - prev_fm["cfi_scaled"],
                    "delta_rmsea": fm["rmsea_scaled"] - prev_fm["rmsea_scaled"],
                    "delta_srmr": fm["srmr"] - prev_fm["srmr"]})

    indicators: dict = {}
    user_partial = list(group_partial)
    search = partial == "search" and not user_partial
    released = list(user_partial)
    notes: list[str] = []
    if n_dropped:
        notes.append(f"{n_dropped} case(s) with a missing value of {group!r} were dropped.")
    fits, rows, freed_rows, score_tests = {}, {}, [], {}
    prev_fit = prev_fm = None
    scalar_model = None
    alpha = rule.alpha if rule.alpha is not None else 0.05

    def n_release_df(level):
        # releasing an intercept (fixed at 0 in every group, Wu & Estabrook 2016) frees it in
        # groups 2..G; the other levels' score tests are per group constraint
        return len(labels) - 1 if level == "scalar" else None
    for level in levels:
        fit = fit_level(level, released)
        fits[level] = fit
        if not indicators:
            pe = fit.parameters()
            load = pe[(pe.op == "=~") & (pe.group == pe.group.iloc[0])]
            for f, v in zip(load.lhs, load.rhs):
                indicators.setdefault(f, []).append(v)
        row, fm = _row(fit)
        row["freed"] = ", ".join(released)
        problem = _fit_problem(fit)
        if problem:
            # no fit indices and no decision from a fit that is not a result (issue 12), as the
            # ML/MLR sequence in invariance.py
            _blank_indices(row)
            row["decision"] = f"not evaluated: {problem}"
            rows[level] = row
            notes.append(f"{level}: not evaluated ({problem}).")
            notes += _untested_levels(levels, level, f"the {level} model could not be evaluated")
            break
        if prev_fit is None:
            row["decision"] = "baseline"
            rows[level] = row
            prev_fit, prev_fm = fit, fm
            continue
        compare(row, fit, prev_fit, fm, prev_fm)
        ok, reasons = rule.decide(row, level)
        row["decision"] = {True: "invariant", False: "not invariant", None: "undecided"}[ok]
        if reasons:
            notes.append(f"{level}: {'; '.join(reasons)}.")
        rows[level] = row
        if ok is False and search:
            accepted, fit_p, fm_p, row_p = False, fit, fm, None
            stopped = None
            op = ORDINAL_LEVEL_OP[level]
            for _ in range(max_release):
                counter.expect(2)             # a score-test round and a refit
                if level == "scalar":
                    # Wu & Estabrook: the intercepts are fixed at 0 in every group, so releasing
                    # one frees it in groups 2..: a score test of the extended model
                    sel = _intercept_score_tests(fit_p, released, ov)
                else:
                    st = score_test(fit_p, univariate=True)
                    score_tests.setdefault(level, st)
                    uni = st.uni
                    sel = uni[uni["op"] == op]
                    if op != "=~":
                        sel = sel[sel["lhs"].isin(ov)]
                ranked = _ranked(sel, op, n_release_df(level))
                counter.step()
                release, stopped = _next_release(ranked, indicators, released, level, alpha)
                if release is None:
                    break
                released.append(release["parameter"])
                freed_rows.append({"level": level, "order": len(freed_rows) + 1, **release})
                fit_p = fit_level(level, released)
                row_p, fm_p = _row(fit_p)
                problem_p = _fit_problem(fit_p)
                if problem_p:
                    _blank_indices(row_p)
                    row_p["decision"] = f"not evaluated: {problem_p}"
                    stopped = f"{level} (partial): not evaluated ({problem_p})."
                    break
                compare(row_p, fit_p, prev_fit, fm_p, prev_fm)
                ok_p, _ = rule.decide(row_p, level)
                if ok_p:
                    accepted = True
                    break
            else:
                stopped = f"{level}: no partial solution within {max_release} released parameters."
            if row_p is not None:
                key = f"{level} (partial)"
                row_p["freed"] = ", ".join(released)
                if not str(row_p.get("decision", "")).startswith("not evaluated"):
                    row_p["decision"] = "partially invariant" if accepted else "not invariant"
                rows[key] = row_p
                fits[key] = fit_p
                if accepted:
                    fit, fm = fit_p, fm_p
                    if level == "scalar":
                        scalar_model = key
            if not accepted:
                if stopped:
                    notes.append(stopped)
                notes += _untested_levels(levels, level, f"{level} invariance failed")
                break
        elif level == "scalar":
            scalar_model = level
        prev_fit, prev_fm = fit, fm
    if scalar_model is None and "scalar" in rows and partial == "none" \
            and not str(rows["scalar"]["decision"]).startswith("not evaluated"):
        scalar_model = "scalar"
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "level"
    order = list(ROW_KEYS) + ["chisq_diff", "df_diff", "p_diff", "delta_cfi", "delta_rmsea",
                              "delta_srmr", "decision", "freed"]
    table = table[[c for c in order if c in table.columns]]
    freed = pd.DataFrame(freed_rows, columns=["level", "order", "parameter", "lhs", "op", "rhs",
                                              "X2", "df", "pvalue", "reason"])
    cols = ["factor", "group", "reference", "mean_diff", "se", "z", "pvalue", "d", "var_ref",
            "var_group", "var_ratio", "var_diff", "var_diff_se", "var_diff_z",
            "var_diff_pvalue", "model"]
    if scalar_model is not None:
        latent = _latent_comparison(fits[scalar_model], labels, n_per_group, scalar_model)
    else:
        latent = pd.DataFrame(columns=cols)
        if "scalar" in levels:
            notes.append("Latent means not compared: scalar invariance (full or partial) "
                         "was not established.")
    warn_list = []
    for key, fit in fits.items():
        for w in getattr(fit, "warnings", []) or []:
            warn_list.append(f"{key}: {w}")
    note = {
        "rule": rule.name, "sentence": rule.sentence(), "references": [
            rule.reference, "Wu & Estabrook (2016), Psychometrika 81, 1014-1045",
            "Satorra (2000); Asparouhov & Muthen (2010): scaled-shifted difference test"],
        "difference_test": ("scaled-shifted chi-square difference (Satorra 2000; Asparouhov & "
                            "Muthen 2010; lavaan lavTestLRT for WLSMV)"),
        "fit_indices": "scaled CFI/TLI/RMSEA of the WLSMV test statistic; SRMR of the "
                       "polychoric correlations",
        "identification": "Wu & Estabrook (2016), delta parameterization, factor variances "
                          "fixed at 1 in the reference group (semTools measEq.syntax)",
        "partial": ("score tests (lavaan lavTestScore, expected information Delta' W Delta); "
                    "at least two invariant indicators per factor and parameter type (Byrne, "
                    "Shavelson & Muthen 1989); the search stops when the largest score test "
                    f"that may be released is not significant at {alpha} (misfit not "
                    "localised)" if search else
                    ("released by hand: " + ", ".join(user_partial) if user_partial else "none")),
        "group": group, "groups": labels, "reference_group": labels[0],
        "latent_means": ("means fixed at 0 and variances at 1 in the reference group; d uses "
                         "the size-weighted pooled latent variance of the two groups "
                         "(Hancock 2001)"),
        "estimator": est, "missing": missing, "ordered": True,
        "n_dropped_missing_group": n_dropped, "messages": notes,
    }
    counter.finish()
    return InvarianceResult(table=table, fits=fits, freed=freed, latent_means=latent, note=note,
                            groups=labels, reference_group=labels[0], n_per_group=n_per_group,
                            n_dropped=n_dropped, rule=rule, score_tests=score_tests,
                            warnings=warn_list)
