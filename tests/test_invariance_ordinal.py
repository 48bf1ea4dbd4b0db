"""Ordinal measurement invariance (psychometrics.invariance_ordinal) against lavaan 0.6-14 /
semTools 0.5-6: measEq.syntax(ID.cat = "Wu.Estabrook.2016", parameterization = "delta",
ID.fac = "std.lv") fitted by cfa(estimator = "WLSMV"), lavTestLRT (scaled-shifted, Satorra
2000) -- tests/reference/make_wlsmv.R -> wlsmv.json.

Tolerances: fit measures and difference tests 1e-4 relative.  Estimates 1e-3 relative (plus
1e-4 absolute): in the thresholds model the intercepts and scale factors of the second group
are weakly determined and lavaan's optimiser stops earlier than ours (its F is larger by
~1e-10 relative); the fit measures still agree to 1e-4.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.invariance_ordinal import ordinal_invariance

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests" / "reference" / "wlsmv.json").read_text())
CSQ = "sat =~ " + " + ".join(f"csq_{i}" for i in range(1, 9))
AC = "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"
LEVELS = ["configural", "thresholds", "metric", "scalar"]
_RES = {}


def result(section):
    if section not in _RES:
        inv = REF[section]
        stats = {"groups": inv["levels"]["configural"]["moments"],
                 "group_labels": inv["group_labels"]}
        model = CSQ if section.startswith("csq") else AC
        _RES[section] = ordinal_invariance(model, None, "gender", sample_stats=stats,
                                           partial="none")
    return _RES[section]


@pytest.mark.parametrize("section", ["csq_invariance", "ac_invariance"])
@pytest.mark.parametrize("level", LEVELS)
def test_levels_match_lavaan(section, level):
    res = result(section)
    fit = res.fits[level]
    ref = REF[section]["levels"][level]
    fm = fit.fit_measures()
    for key, val in ref["fit_measures"].items():
        if val is None:
            assert np.isnan(fm.get(key, np.nan)), key
        else:
            np.testing.assert_allclose(fm[key], val, rtol=1e-4, atol=1e-7, err_msg=key)
    pe = fit.parameters()
    gl = REF[section]["group_labels"]
    pe["group"] = [gl.index(g) + 1 for g in pe["group"]]
    rp = pd.DataFrame(ref["parameters"])
    m = pe.merge(rp, on=["lhs", "op", "rhs", "group"], suffixes=("", "_r"))
    assert len(m) == len(rp)
    for col in ("est", "se", "std_all"):
        np.testing.assert_allclose(m[col], m[col + "_r"], rtol=1e-3, atol=1e-4, err_msg=col)


@pytest.mark.parametrize("section", ["csq_invariance", "ac_invariance"])
def test_difference_tests_match_lavTestLRT(section):
    tab = result(section).table
    for level, ref in REF[section]["tests"].items():
        np.testing.assert_allclose(tab.loc[level, "chisq_diff"], ref["chisq_diff"], rtol=1e-4)
        assert tab.loc[level, "df_diff"] == ref["df_diff"]
        np.testing.assert_allclose(tab.loc[level, "p_diff"], ref["p_diff"], rtol=1e-4, atol=1e-12)


def test_pm_invariance_from_data_with_ordered_items():
    data = pd.read_csv(ROOT / "examples" / "data.csv").replace(-9, np.nan)
    inv = pm.invariance(CSQ, data, "gender", ordered=True, estimator="WLSMV")
    assert list(inv.table.index) == LEVELS
    ref = REF["csq_invariance"]
    for level in LEVELS:
        np.testing.assert_allclose(inv.table.loc[level, "chisq_scaled"],
                                   ref["levels"][level]["fit_measures"]["chisq_scaled"], rtol=1e-4)
    assert inv.table.loc["scalar", "decision"] == "invariant"
    # latent means of the second group, from the scalar model (reference group fixed at 0)
    lm = inv.latent_means
    assert len(lm) == 1 and lm.loc[0, "model"] == "scalar"
    pe = inv.fits["scalar"].parameters()
    est = pe[(pe.lhs == "sat") & (pe.op == "~1")].est
    np.testing.assert_allclose(lm.loc[0, "mean_diff"], est.iloc[1])
    assert "Wu & Estabrook" in inv.note["identification"]
    inv.to_dict()


def test_partial_search_releases_by_score_tests():
    # the bfi A+C scalar step fails Chen's rule only with a strict chi-square rule: use it
    inv = ordinal_invariance(AC, None, "gender", rule="chisq", sample_stats={
        "groups": REF["ac_invariance"]["levels"]["configural"]["moments"],
        "group_labels": REF["ac_invariance"]["group_labels"]}, levels=LEVELS[:3])
    assert "metric (partial)" in inv.table.index
    assert (inv.freed["op"] == "=~").all() and len(inv.freed) >= 1
    assert inv.table.loc["metric (partial)", "df_diff"] < inv.table.loc["metric", "df_diff"]


def test_progress_counts_fits_and_score_test_rounds():
    calls = []
    inv = ordinal_invariance(AC, None, "gender", rule="chisq", sample_stats=_ac_stats(),
                             levels=LEVELS[:3], progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    assert done == list(range(1, len(done) + 1))
    assert calls[-1][0] == calls[-1][1]
    # every level and partial refit, and one score-test round per released parameter (plus
    # the round that stopped the search, if any)
    n_fits = 3 + len(inv.freed)
    assert n_fits + len(inv.freed) <= done[-1] <= n_fits + len(inv.freed) + 1
    ref = ordinal_invariance(AC, None, "gender", rule="chisq", sample_stats=_ac_stats(),
                             levels=LEVELS[:3])
    pd.testing.assert_frame_equal(inv.table, ref.table)


def test_partial_scalar_search_frees_intercepts_of_later_groups():
    inv = ordinal_invariance(AC, None, "gender", rule="chisq", sample_stats={
        "groups": REF["ac_invariance"]["levels"]["configural"]["moments"],
        "group_labels": REF["ac_invariance"]["group_labels"]})
    sc = inv.freed[inv.freed.level == "scalar"]
    assert len(sc) >= 1 and (sc.op == "~1").all()
    # the score statistics are positive and the first released is the largest of its round
    assert (sc.X2 > 0).all()
    fit = inv.fits["scalar (partial)"]
    pe = fit.parameters()
    first = sc.lhs.iloc[0]
    nu = pe[(pe.lhs == first) & (pe.op == "~1")]
    assert nu.se.iloc[0] == 0 and nu.se.iloc[1] > 0   # fixed in group 1, free in group 2
    assert not inv.latent_means.empty and inv.latent_means.model.iloc[0] == "scalar (partial)"


def test_a_level_that_is_not_a_result_gives_no_decision(monkeypatch):
    """Issue 12's rule for the ordinal sequence too: a fit that did not converge (here the
    metric model, forced) shows no fit indices, no decision is drawn from it and the later
    levels are not fitted."""
    import importlib
    of = importlib.import_module("psychometrics.sem.ordinal_fit")
    real = of.fit_ordinal

    def fit_ordinal(*args, **kwargs):
        fit = real(*args, **kwargs)
        if "loadings" in kwargs.get("group_equal", ()):
            fit.__class__ = type("NotConverged", (type(fit),),
                                 {"problem": property(lambda self: "the model did not converge")})
        return fit

    monkeypatch.setattr(of, "fit_ordinal", fit_ordinal)
    inv = ordinal_invariance(AC, None, "gender", sample_stats={
        "groups": REF["ac_invariance"]["levels"]["configural"]["moments"],
        "group_labels": REF["ac_invariance"]["group_labels"]}, levels=LEVELS)
    assert list(inv.table.index) == LEVELS[:3]          # scalar never fitted
    metric = inv.table.loc["metric"]
    assert metric["decision"] == "not evaluated: the model did not converge"
    assert np.isnan(metric["cfi_scaled"]) and np.isnan(metric["chisq_scaled"])
    assert inv.table.loc["thresholds", "decision"] in ("invariant", "not invariant")


def _ac_stats():
    return {"groups": REF["ac_invariance"]["levels"]["configural"]["moments"],
            "group_labels": REF["ac_invariance"]["group_labels"]}


def test_search_stops_when_misfit_is_not_localised():
    """Issue 12's search rules for the ordinal sequence too (shared with ML/MLR through
    invariance._next_release): a metric step that never holds (SRMR cut -1) frees only loadings
    with a significant score test, then stops with "misfit not localised" instead of releasing
    non-significant ones."""
    from psychometrics.invariance import DecisionRule, InvarianceResult
    never_metric = DecisionRule("test", min_delta_cfi=None, max_delta_rmsea=None,
                                max_delta_srmr={"metric": -1.0, "default": 1.0}, reference="test")
    inv = ordinal_invariance(AC, None, "gender", rule=never_metric, sample_stats=_ac_stats(),
                             levels=LEVELS[:3])
    assert isinstance(inv, InvarianceResult)
    assert len(inv.freed) >= 1 and (inv.freed["op"] == "=~").all()
    assert (inv.freed["pvalue"] < 0.05).all()
    assert list(inv.freed["parameter"]) == inv.table.loc["metric (partial)", "freed"].split(", ")
    assert inv.table.loc["metric (partial)", "decision"] == "not invariant"
    stop = [m for m in inv.note["messages"] if "misfit not localised" in m]
    assert len(stop) == 1 and stop[0].startswith("metric: ")
    # the message names the largest remaining loading, whose score test is not significant
    p = float(stop[0].split("p = ")[1].split(")")[0])
    assert p >= 0.05
    assert "not significant at 0.05" in stop[0]


def test_search_stops_at_the_thresholds_level_without_freeing():
    from psychometrics.invariance import DecisionRule
    never = DecisionRule("never", min_delta_cfi=1.0, reference="test")
    inv = ordinal_invariance(AC, None, "gender", rule=never, sample_stats=_ac_stats())
    assert inv.freed.empty and list(inv.table.index) == LEVELS[:2]
    msg = " ".join(inv.note["messages"])
    assert "thresholds: misfit not localised" in msg and "|t" in msg
    assert "Levels not tested because thresholds invariance failed: metric, scalar." in msg


def test_blocked_candidate_is_named_in_the_freed_table():
    """The freed table has the ML version's columns; a release made while a larger candidate
    was blocked says which and why (two indicators with equal loading and intercept per
    factor, Byrne, Shavelson & Muthen 1989)."""
    inv = ordinal_invariance(AC, None, "gender", rule="chisq", sample_stats=_ac_stats())
    assert list(inv.freed.columns) == ["level", "order", "parameter", "lhs", "op", "rhs",
                                       "X2", "df", "pvalue", "reason"]
    assert (inv.freed["pvalue"] < 0.05).all()
    assert inv.freed["reason"].str.startswith("largest score statistic among the").all()
    blocked = inv.freed[inv.freed["reason"].str.contains("larger but blocked")]
    assert len(blocked) >= 1
    row = blocked.iloc[0]
    assert row["level"] == "scalar"
    assert ("would leave factor agree with fewer than two invariant indicators with equal "
            "loading and intercept") in row["reason"]
    # the blocked candidate's statistic is larger than the released one's
    x2_blocked = float(row["reason"].split("(X2 = ")[1].split(")")[0])
    assert x2_blocked > row["X2"]


SCORE_REF = json.loads((ROOT / "tests" / "reference" / "wlsmv_score.json").read_text())


def _key(p):
    return (p["lhs"], p["op"], p["rhs"], str(p["group"]))


@pytest.mark.parametrize("case,section", [("ac", "ac_invariance"), ("csq", "csq_invariance")])
@pytest.mark.parametrize("level", ["metric", "scalar"])
def test_wlsmv_score_tests_match_lavtestscore(case, section, level):
    """Score tests of the ordinal levels' equality constraints against lavaan's lavTestScore
    (make_wlsmv_score.R: the ordinary score test with the DWLS fit's expected information,
    which is what lavaan falls back to for WLSMV).  Both fits start from lavaan's sample
    statistics (wlsmv.json), so the only difference is the two optimisers' stopping points:
    the statistics agree to 1e-4 relative, or 1e-4 absolute in chi-square units for
    constraints that hold (X2 near 0)."""
    from psychometrics.sem.score_test import score_test
    ref = SCORE_REF[case][level]
    fit = result(section).fits[level]
    st = score_test(fit, univariate=True, cumulative=True)
    assert st.total["df"] == ref["total"]["df"]
    np.testing.assert_allclose(st.total["X2"], ref["total"]["X2"], rtol=1e-4, atol=1e-4)
    ours = {(r.lhs, r.op, r.rhs, str(r.group_left), str(r.group_right)): r.X2
            for r in st.uni.itertuples()}
    theirs = {_key(p["left"]) + (str(p["right"]["group"]),): x
              for p, x in zip(ref["uni"]["params"], ref["uni"]["X2"])}
    assert ours.keys() == theirs.keys()
    for k, x in theirs.items():
        assert ours[k] == pytest.approx(x, rel=1e-4, abs=1e-4), k
    # the cumulative series releases the constraints in the same order with the same statistics
    top = min(5, len(ref["cumulative"]["X2"]))
    ref_order = [_key(p["left"]) + (str(p["right"]["group"]),)
                 for p in ref["cumulative"]["params"][:top]]
    our_order = [(r.lhs, r.op, r.rhs, str(r.group_left), str(r.group_right))
                 for r in st.cumulative.iloc[:top].itertuples()]
    assert our_order == ref_order
    np.testing.assert_allclose(st.cumulative["X2"].to_numpy()[:top],
                               ref["cumulative"]["X2"][:top], rtol=1e-4, atol=1e-4)
