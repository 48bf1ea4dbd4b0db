"""CFA from sample moments (lavaan's sample.cov / sample.mean / sample.nobs) and factor scores
of fits (lavPredict), against lavaan 0.6-14 (tests/reference/sem_moments.json, written by
tests/reference/make_sem_moments.R on HS1939).

Tolerances: fit measures 1e-4 relative (observed ~1e-7); estimates and SEs 1e-4 absolute on
values of order 1 (observed ~1e-6: lavaan's optimizer stops earlier than ours); factor scores
1e-4 absolute (observed ~4e-6, the estimates' difference carried through).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.errors import DataError, ModelError, PsychometricsWarning
from psychometrics.sem.predict import lav_predict

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "sem_moments.json").read_text())
HS = pd.read_csv(HERE / "data" / "hs1939.csv")
OV = [f"x{i}" for i in range(1, 10)]
MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
KEYS = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "logl", "unrestricted_logl",
        "aic", "bic", "baseline_chisq"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        yield


def arr(x):
    return np.array([[np.nan if v is None else v for v in r] for r in x], dtype=float)


def check(fit, ref):
    fm = fit.fit_measures()
    for k in KEYS:
        r = ref["fm"][k.replace("unrestricted_logl", "unrestricted.logl").replace("baseline_chisq", "baseline.chisq")]
        assert abs(fm[k] - r) <= 1e-4 * max(abs(r), 1e-3), k
    pt = fit.parameters()
    pe = ref["pe"]
    assert list(pt["lhs"]) == pe["lhs"] and list(pt["op"]) == pe["op"] and list(pt["rhs"]) == pe["rhs"]
    assert np.nanmax(np.abs(pt["est"].to_numpy(float) - np.array(pe["est"], float))) < 1e-4
    assert np.nanmax(np.abs(pt["se"].to_numpy(float) - np.array([np.nan if v is None else v for v in pe["se"]], float))) < 1e-4
    assert np.nanmax(np.abs(pt["std_all"].to_numpy(float) - np.array(pe["std_all"], float))) < 1e-4


def cov_frame(m):
    return pd.DataFrame(m, index=OV, columns=OV)


def test_covariance_matrix_input():
    fit = pm.cfa(MODEL, sample_cov=cov_frame(REF["single"]["cov"]), sample_nobs=301)
    check(fit, REF["single"])
    # the same as the fit to the raw data
    check(fit, REF["raw"])
    raw = pm.cfa(MODEL, HS)
    assert abs(raw.fit_measures()["chisq"] - fit.fit_measures()["chisq"]) < 1e-6


def test_covariance_and_means():
    m = pd.Series(REF["single_means"]["mean"], index=OV)
    fit = pm.cfa(MODEL, sample_cov=cov_frame(REF["single"]["cov"]), sample_mean=m,
                 sample_nobs=301, meanstructure=True)
    check(fit, REF["single_means"])


def test_correlations_with_standard_deviations():
    fit = pm.cfa(MODEL, sample_cov=cov_frame(REF["cor_sd"]["cor"]),
                 sample_sd=pd.Series(REF["cor_sd"]["sd"], index=OV), sample_nobs=301)
    check(fit, REF["cor_sd"])


def test_multi_group_moments():
    g = REF["groups"]
    covs = {lab: cov_frame(c) for lab, c in zip(g["labels"], g["covs"].values())}
    means = {lab: pd.Series(m, index=OV) for lab, m in zip(g["labels"], g["means"].values())}
    nobs = {lab: int(n) for lab, n in zip(g["labels"], g["nobs"])}
    fit = pm.cfa(MODEL, sample_cov=covs, sample_mean=means, sample_nobs=nobs, group_equal="loadings")
    check(fit, g)
    assert fit.group_labels == ["Pasteur", "Grant-White"]
    # the same from correlations and standard deviations per group
    cors, sds = {}, {}
    for lab, c in covs.items():
        sd = np.sqrt(np.diag(c.to_numpy()))
        cors[lab] = c / np.outer(sd, sd)
        sds[lab] = pd.Series(sd, index=OV)
    f2 = pm.cfa(MODEL, sample_cov=cors, sample_sd=sds, sample_mean=means, sample_nobs=nobs,
                group_equal="loadings")
    assert abs(f2.fit_measures()["chisq"] - fit.fit_measures()["chisq"]) < 1e-8
    with pytest.raises(ModelError, match="needs sample_mean"):
        pm.cfa(MODEL, sample_cov=covs, sample_nobs=nobs)


def test_moment_input_errors():
    S = cov_frame(REF["single"]["cov"])
    with pytest.raises(ModelError, match="sample_nobs"):
        pm.cfa(MODEL, sample_cov=S)
    with pytest.raises(ModelError, match="needs raw data"):
        pm.cfa(MODEL, sample_cov=S, sample_nobs=301, estimator="MLR")
    with pytest.raises(ModelError, match="needs raw data"):
        pm.cfa(MODEL, sample_cov=S, sample_nobs=301, missing="fiml")
    with pytest.raises(ModelError, match="either data or sample_cov"):
        pm.cfa(MODEL, HS, sample_cov=S, sample_nobs=301)
    with pytest.raises(ModelError, match="not in sample_cov"):
        pm.cfa(MODEL, sample_cov=S.drop(index="x9", columns="x9"), sample_nobs=301)
    bad = S.copy()
    bad.iloc[0, 1] += 1
    with pytest.raises(DataError, match="not symmetric"):
        pm.cfa(MODEL, sample_cov=bad, sample_nobs=301)
    with pytest.raises(DataError, match="DataFrame"):
        pm.cfa(MODEL, sample_cov=S.to_numpy(), sample_nobs=301)
    with pytest.raises(ModelError, match="sample moments"):
        lav_predict(pm.cfa(MODEL, sample_cov=S, sample_nobs=301))


@pytest.mark.parametrize("method", ["regression", "bartlett"])
def test_lav_predict_complete_data(method):
    s = lav_predict(pm.cfa(MODEL, HS), method)
    assert list(s.columns) == ["visual", "textual", "speed"]
    assert np.max(np.abs(s.to_numpy() - np.array(REF["predict"][method]))) < 1e-4


@pytest.mark.parametrize("method", ["regression", "bartlett"])
def test_lav_predict_fiml(method):
    d = pd.DataFrame(arr(REF["predict_fiml"]["data"]), columns=OV)
    fit = pm.cfa(MODEL, d, missing="fiml")
    s = lav_predict(fit, method).to_numpy()
    ref = arr(REF["predict_fiml"][method])
    assert np.array_equal(np.isnan(s), np.isnan(ref))       # case 7 has no visual item: NA
    assert np.nanmax(np.abs(s - ref)) < 1e-4


def test_lav_predict_groups():
    fit = pm.cfa(MODEL, HS, group="school", group_equal=("loadings", "intercepts"))
    s = lav_predict(fit)
    refs = REF["predict_groups"]["regression"]
    refs = list(refs.values()) if isinstance(refs, dict) else refs
    for lab, ref in zip(REF["predict_groups"]["labels"], refs):
        mine = s[s["group"] == lab].drop(columns="group").to_numpy()
        assert np.max(np.abs(mine - np.array(ref))) < 1e-4


# ------------------------------------------------------------------ likelihood = "wishart"

def test_wishart_single_group():
    check(pm.cfa(MODEL, HS, likelihood="wishart"), REF["wishart"])
    S = cov_frame(REF["single"]["cov"])
    check(pm.cfa(MODEL, sample_cov=S, sample_nobs=301, likelihood="wishart"), REF["wishart_cov"])


def test_wishart_groups():
    # the test statistic weights each group's discrepancy by N_g - 1, as lavaan does; the
    # standard errors use (N - G) sum_g (N_g / N) I_g (lavaan: ~ sum_g (N_g - 1) I_g): ~1e-5
    check(pm.cfa(MODEL, HS, group="school", likelihood="wishart"), REF["wishart_groups"])


def test_wishart_needs_ml_and_complete_data():
    with pytest.raises(ModelError, match="wishart"):
        pm.cfa(MODEL, HS, likelihood="wishart", estimator="MLR")
    with pytest.raises(ModelError, match="wishart"):
        pm.cfa(MODEL, HS, likelihood="wishart", missing="fiml")
    with pytest.raises(ModelError, match="likelihood must be"):
        pm.cfa(MODEL, HS, likelihood="student")


# ------------------------------------------------------------------ GLS and ULS

LS_KEYS = ["chisq", "df", "cfi", "tli", "rmsea", "srmr", "baseline_chisq"]


def check_ls(fit, ref, estimator):
    fm = fit.fit_measures()
    for k in LS_KEYS:
        r = ref["fm"][k.replace("baseline_chisq", "baseline.chisq")]
        assert abs(fm[k] - r) <= 1e-4 * max(abs(r), 1e-3), k
    # lavaan's fmin is chisq / 2N; ours is the minimum of F (chisq = 2 sum (N_g - 1) F_g)
    assert abs(fm["chisq"] / (2 * fit.ntotal) - ref["fm"]["fmin"]) < 1e-6
    if estimator == "ULS":
        assert np.isnan(fm["pvalue"]) and ref["fm"]["pvalue"] is None
    else:
        assert abs(fm["pvalue"] - ref["fm"]["pvalue"]) <= 1e-4 * ref["fm"]["pvalue"]
    assert np.isnan(fm["logl"]) and np.isnan(fm["aic"])          # no likelihood
    pt = fit.parameters()
    pe = ref["pe"]
    assert list(pt["rhs"]) == pe["rhs"]
    assert np.nanmax(np.abs(pt["est"].to_numpy(float) - np.array(pe["est"], float))) < 1e-4
    se = np.array([np.nan if v is None else v for v in pe["se"]], float)
    assert np.nanmax(np.abs(pt["se"].to_numpy(float) - se)) < 1e-4


@pytest.mark.parametrize("estimator", ["GLS", "ULS"])
def test_least_squares(estimator):
    e = estimator.lower()
    check_ls(pm.cfa(MODEL, HS, estimator=estimator), REF[f"{e}_single"], estimator)
    check_ls(pm.cfa(MODEL, HS, group="school", estimator=estimator), REF[f"{e}_groups"], estimator)
    check_ls(pm.cfa(MODEL, sample_cov=cov_frame(REF["single"]["cov"]), sample_nobs=301,
                    estimator=estimator), REF[f"{e}_cov"], estimator)


def test_least_squares_refusals():
    with pytest.raises(ModelError, match="complete data"):
        pm.cfa(MODEL, HS, estimator="GLS", missing="fiml")
    with pytest.raises(ModelError, match="ML/MLR fits only"):
        pm.cfa(MODEL, HS, estimator="ULS").modindices()
    with pytest.raises(ModelError, match="unknown estimator"):
        pm.cfa(MODEL, HS, estimator="WLS")
