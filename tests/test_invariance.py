"""Measurement invariance (psychometrics.invariance, psychometrics.sem.score_test).

Reference values: tests/reference/invariance.json, written by make_invariance.R
(lavaan 0.6-14, semTools 0.5-6) on HolzingerSwineford1939 and bfi.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.errors import DataError, ModelError, PsychometricsError
from psychometrics.invariance import (RULES, DecisionRule, _free_per_group, _scan_model,
                                      chisq_difference, invariance)
from psychometrics.sem.score_test import score_statistics

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "invariance.json").read_text())
HS = pd.read_csv(HERE / "data" / "hs1939.csv")
BFI = pd.read_csv(HERE / "data" / "bfi.csv")
HS_MODEL = REF["hs_sex_ml"]["model"]
BFI_MODEL = REF["bfi_gender_ml"]["model"]

REL = 1e-4


def close(a, b, rel=REL, abs_=1e-8):
    return a == pytest.approx(b, rel=rel, abs=abs_)


# ------------------------------------------------------------------ engine-free parts
def test_score_statistics_core_matches_lavtestscore():
    c = REF["score_core"]
    res = score_statistics(np.array(c["score"]), np.array(c["information"]), np.array(c["R"]),
                           c["n"], univariate=True, cumulative=True, epc=True)
    assert close(res["total"]["X2"], c["total"])
    assert res["total"]["df"] == len(c["uni"])
    np.testing.assert_allclose(res["uni"], c["uni"], rtol=REL, atol=1e-8)
    np.testing.assert_allclose(res["cumulative"], c["cumulative"], rtol=REL, atol=1e-8)
    np.testing.assert_allclose(res["epc"], c["epc"], rtol=REL, atol=1e-7)
    joint = score_statistics(np.array(c["score"]), np.array(c["information"]), np.array(c["R"]),
                             c["n"], release=[0, 1], univariate=False)
    assert close(joint["total"]["X2"], c["release_1_2"])
    assert joint["total"]["df"] == 2


def test_score_statistics_needs_constraints():
    with pytest.raises(ValueError):
        score_statistics(np.zeros(3), np.eye(3), np.zeros((0, 3)), 100)


@pytest.mark.parametrize("case", ["hs_sex_mlr", "hs_school_mlr", "bfi_gender_mlr_fiml"])
def test_satorra_bentler_2001_difference_matches_lavtestlrt(case):
    levels = REF[case]["levels"]
    for prev, cur in zip(levels, levels[1:]):
        d = chisq_difference(prev["fit"], cur["fit"], robust=True)
        # scaled difference tests: 1e-3 (issue); here the inputs are R's own numbers
        assert close(d["chisq_diff"], cur["chisq_diff_sb2001"], rel=1e-6)
        assert close(d["chisq_diff"], cur["chisq_diff"], rel=1e-6)  # lavaan's default method
        assert d["df_diff"] == cur["df_diff"]
        assert close(d["p_diff"], cur["p_diff"], rel=1e-6, abs_=1e-12)


def test_plain_difference_matches_lavtestlrt():
    levels = REF["hs_sex_ml"]["levels"]
    for prev, cur in zip(levels, levels[1:]):
        d = chisq_difference(prev["fit"], cur["fit"], robust=False)
        assert close(d["chisq_diff"], cur["chisq_diff"], rel=1e-8)
        assert close(d["p_diff"], cur["p_diff"], rel=1e-6, abs_=1e-12)


def test_sb2001_negative_scaling_factor_is_reported_not_hidden():
    m1 = {"chisq": 100.0, "df": 40, "chisq_scaling_factor": 1.5}
    m0 = {"chisq": 101.0, "df": 41, "chisq_scaling_factor": 0.5}
    d = chisq_difference(m1, m0, robust=True)
    assert np.isnan(d["chisq_diff"]) and "negative" in d["problem"]


def test_chen_rule_thresholds():
    chen = RULES["chen2007"]
    ok, _ = chen.decide({"delta_cfi": -0.009, "delta_rmsea": 0.01, "delta_srmr": 0.025}, "metric")
    assert ok is True
    ok, why = chen.decide({"delta_cfi": -0.009, "delta_rmsea": 0.01, "delta_srmr": 0.025},
                          "scalar")
    assert ok is False and any("SRMR" in w for w in why)
    ok, why = chen.decide({"delta_cfi": -0.011, "delta_rmsea": 0.0, "delta_srmr": 0.0}, "strict")
    assert ok is False and any("CFI" in w for w in why)
    ok, _ = chen.decide({"delta_cfi": -0.011, "delta_rmsea": 0.0, "delta_srmr": 0.0}, "scalar")
    assert ok is False
    cr = RULES["cheung_rensvold2002"]
    assert cr.decide({"delta_cfi": -0.005, "delta_rmsea": 0.5, "delta_srmr": 0.5}, "scalar")[0]
    assert RULES["chisq"].decide({"p_diff": 0.01}, "metric")[0] is False
    assert RULES["chisq"].decide({"p_diff": float("nan")}, "metric")[0] is None
    assert "Chen (2007)" in chen.sentence()
    custom = DecisionRule("mine", min_delta_cfi=-0.002, reference="own")
    assert custom.decide({"delta_cfi": -0.005}, "metric")[0] is False


def test_chen_decisions_from_r_fit_measures():
    # the fixture's R-side search used the same rule: its 'holds' flags must agree
    for case in ("hs_school_ml", "bfi_gender_ml"):
        levels = {lv["level"]: lv["fit"] for lv in REF[case]["levels"]}
        prev = levels["configural"]
        for step in REF[case]["search"]:
            if "final" not in step:
                continue
            cur = step["final"]
            row = {"delta_cfi": cur["cfi"] - prev["cfi"], "delta_rmsea": cur["rmsea"] - prev["rmsea"],
                   "delta_srmr": cur["srmr"] - prev["srmr"]}
            assert RULES["chen2007"].decide(row, step["level"])[0] == step["holds"]
            prev = cur


def test_scan_model_and_parameter_count():
    scan = _scan_model(HS_MODEL)
    assert scan["observed"] == [f"x{i}" for i in range(1, 10)]
    assert list(scan["factors"]) == ["visual", "textual", "speed"]
    # lavaan: configural npar 60 over two groups
    assert 2 * _free_per_group(scan, std_lv=False) == REF["hs_sex_ml"]["levels"][0]["fit"]["npar"]
    assert _free_per_group(scan, std_lv=True) == 30


# ------------------------------------------------------------------ bad input (before fitting)
def test_missing_group_column():
    with pytest.raises(DataError, match="grouping column 'gender'"):
        invariance(HS_MODEL, HS, "gender")


def test_single_group():
    with pytest.raises(DataError, match="two or more"):
        invariance(HS_MODEL, HS.assign(one=1), "one")


def test_too_many_groups():
    with pytest.raises(DataError, match="max_groups=10"):
        invariance(HS_MODEL, HS, "id")
    with pytest.raises(DataError, match="max_groups=1"):
        invariance(HS_MODEL, HS, "school", max_groups=1)


def test_constant_item_in_a_group():
    d = HS.copy()
    d.loc[d["school"] == "Pasteur", "x5"] = 3.0
    with pytest.raises(DataError) as e:
        invariance(HS_MODEL, d, "school", data_name="hs.csv")
    msg = str(e.value)
    assert "hs.csv" in msg and "'x5'" in msg and "Pasteur" in msg and "3.0" in msg


def test_group_smaller_than_free_parameters():
    d = HS.copy()
    d.loc[d.index[:20], "school"] = "Tiny"
    with pytest.raises(DataError, match=r"'Tiny' \(n = 20\)"):
        invariance(HS_MODEL, d, "school")


def test_unknown_variable_and_levels():
    with pytest.raises(ModelError, match="x99"):
        invariance("f =~ x1 + x2 + x99", HS, "school")
    with pytest.raises(ModelError, match="start with 'configural'"):
        invariance(HS_MODEL, HS, "school", levels=("metric",))
    with pytest.raises(ModelError, match="order"):
        invariance(HS_MODEL, HS, "school", levels=("configural", "scalar", "metric"))
    with pytest.raises(ModelError, match="rule"):
        invariance(HS_MODEL, HS, "school", rule="nonsense")
    assert issubclass(DataError, PsychometricsError)
