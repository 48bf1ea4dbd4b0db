"""WLSMV and relatives for ordinal indicators (psychometrics.sem.ordinal_fit) against lavaan
0.6-14 (tests/reference/make_wlsmv.R -> wlsmv.json).

Moment level: the engine is fed lavaan's own sample statistics (thresholds, polychoric
correlations and Gamma = NACOV from lavInspect), so these tests check the estimation and
inference side (DWLS objective, delta/theta parameterization, thresholds in the parameter
table, robust SEs, scaled / scaled-shifted tests, every fitMeasures() value) independently of
the polychoric estimator.  Tolerance 1e-4 relative; estimates differ from lavaan's by at most
~2e-5 relative (lavaan's own convergence tolerance) -- absolute 1e-6 floors near-zero values.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.errors import ModelError
from psychometrics.sem.ordinal_fit import fit_ordinal

REF = json.loads((Path(__file__).parent / "reference" / "wlsmv.json").read_text())
CSQ = "sat =~ " + " + ".join(f"csq_{i}" for i in range(1, 9))
AC = "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"


def stats_of(section):
    sec = REF[section]
    if "moments" in sec:
        return {"groups": sec["moments"], "group_labels": sec["group_labels"] or [None]}
    inv = REF[section]["levels"]["configural"]
    return {"groups": inv["moments"], "group_labels": REF[section]["group_labels"]}


CASES = {
    "csq_wlsmv": (CSQ, "csq_wlsmv", dict(estimator="WLSMV")),
    "csq_dwls": (CSQ, "csq_wlsmv", dict(estimator="DWLS")),
    "csq_ulsmv": (CSQ, "csq_wlsmv", dict(estimator="ULSMV")),
    "csq_wlsm": (CSQ, "csq_wlsmv", dict(estimator="WLSM")),
    "csq_wlsmvs": (CSQ, "csq_wlsmv", dict(estimator="WLSMVS")),
    "csq_ulsm": (CSQ, "csq_wlsmv", dict(estimator="ULSM")),
    "csq_theta": (CSQ, "csq_wlsmv", dict(estimator="WLSMV", parameterization="theta")),
    "csq_stdlv": (CSQ, "csq_wlsmv", dict(estimator="WLSMV", std_lv=True)),
    "csq_pairwise": (CSQ, "csq_pairwise", dict(estimator="WLSMV", missing="pairwise")),
    "ac_wlsmv": (AC, "ac_wlsmv", dict(estimator="WLSMV")),
    "ac_mg_equal": (AC, "ac_invariance", dict(estimator="WLSMV",
                                              group_equal=("thresholds", "loadings"))),
}

_FITS = {}


def fitted(name):
    if name not in _FITS:
        model, moments, kw = CASES[name]
        _FITS[name] = fit_ordinal(model, None, sample_stats=stats_of(moments), **kw)
    return _FITS[name]


def merged(name):
    fit = fitted(name)
    sec = REF[name]
    pe = fit.parameters()
    ref = pd.DataFrame(sec["parameters"])
    keys = ["lhs", "op", "rhs"]
    if fit.ngroups > 1:
        gl = list(sec["group_labels"])
        pe["group"] = [gl.index(g) + 1 for g in pe["group"]]
        keys.append("group")
    m = pe.merge(ref, on=keys, suffixes=("", "_r"), how="outer", indicator=True)
    return fit, m


@pytest.mark.parametrize("name", list(CASES))
def test_parameters_match_lavaan(name):
    fit, m = merged(name)
    assert fit.converged
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs"]]
    for col in ("est", "se", "std_lv", "std_all"):
        np.testing.assert_allclose(m[col], m[col + "_r"], rtol=1e-4, atol=1e-6, err_msg=col)


@pytest.mark.parametrize("name", list(CASES))
def test_fit_measures_match_lavaan(name):
    fm = fitted(name).fit_measures()
    ref = REF[name]["fit_measures"]
    for key, val in ref.items():
        if val is None:
            assert key in fm and np.isnan(fm[key]), key
            continue
        assert key in fm, key
        np.testing.assert_allclose(fm[key], val, rtol=1e-4, atol=1e-7, err_msg=key)


def test_thresholds_in_the_parameter_table():
    fit = fitted("csq_wlsmv")
    pe = fit.parameters()
    th = pe[pe.op == "|"]
    assert list(th.rhs[:3]) == ["t1", "t2", "t3"] and len(th) == 24
    tab = fit.thresholds()
    assert tab.shape == (8, 3)
    assert np.all(np.diff(tab.to_numpy(), axis=1) > 0)


def test_delta_residual_variances_are_one_minus_communality():
    pe = fitted("csq_wlsmv").parameters()
    rv = pe[(pe.op == "~~") & (pe.lhs == pe.rhs) & pe.lhs.str.startswith("csq")]
    load = pe[pe.op == "=~"].set_index("rhs")["std_all"]
    np.testing.assert_allclose(rv.est.to_numpy(), 1 - load[rv.lhs].to_numpy() ** 2, atol=1e-10)
    assert (rv.se == 0).all()


def test_ml_estimator_with_ordered_data_is_refused():
    with pytest.raises(ModelError, match="ordered"):
        fit_ordinal(CSQ, None, sample_stats=stats_of("csq_wlsmv"), estimator="MLR")
    with pytest.raises(ModelError, match="parameterization"):
        fit_ordinal(CSQ, None, sample_stats=stats_of("csq_wlsmv"), parameterization="gamma")


# ---------------------------------------------------------------------------- from raw data
ROOT = Path(__file__).resolve().parents[1]
B5 = """agree =~ A1 + A2 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
extra =~ E1 + E2 + E3 + E4 + E5
neuro =~ N1 + N2 + N3 + N4 + N5
open =~ O1 + O2 + O3 + O4 + O5"""


def _example():
    return pd.read_csv(ROOT / "examples" / "data.csv").replace(-9, np.nan)


@pytest.mark.parametrize("name,model,kw", [
    ("csq_wlsmv", CSQ, {}),
    ("csq_pairwise", CSQ, {"missing": "pairwise"}),
    ("big5_wlsmv", B5, {}),
])
def test_cfa_from_data_matches_lavaan(name, model, kw):
    import psychometrics as pm
    data = pd.read_csv(ROOT / "tests" / "data" / "bfi.csv") if name.startswith("big5") else _example()
    fit = pm.cfa(model, data, ordered=True, estimator="WLSMV", **kw)
    pe = fit.parameters()
    ref = pd.DataFrame(REF[name]["parameters"])
    m = pe.merge(ref, on=["lhs", "op", "rhs"], suffixes=("", "_r"))
    assert len(m) == len(ref)
    # polychorics and Gamma agree with lavaan's to ~1e-8: estimates within 1e-4 relative
    for col in ("est", "se", "std_all"):
        np.testing.assert_allclose(m[col], m[col + "_r"], rtol=1e-4, atol=1e-6, err_msg=col)
    fm = fit.fit_measures()
    for key, val in REF[name]["fit_measures"].items():
        if val is not None:
            np.testing.assert_allclose(fm[key], val, rtol=1e-4, atol=1e-7, err_msg=key)


def test_multigroup_from_data_matches_lavaan():
    import psychometrics as pm
    bfi = pd.read_csv(ROOT / "tests" / "data" / "bfi.csv")
    fit = pm.cfa(AC, bfi, ordered=True, group="gender", group_equal=("thresholds", "loadings"))
    fm = fit.fit_measures()
    for key, val in REF["ac_mg_equal"]["fit_measures"].items():
        if val is None:
            assert np.isnan(fm[key]), key
        else:
            np.testing.assert_allclose(fm[key], val, rtol=1e-4, atol=1e-7, err_msg=key)
    pe = fit.parameters()
    assert set(pe.op) >= {"=~", "|", "~*~", "~~", "~1"}
    # scale factors are free in the second group once thresholds are equal (lavaan)
    sc = pe[pe.op == "~*~"]
    assert (sc[sc.group == 1].se == 0).all() and (sc[sc.group == 2].se > 0).all()


def test_ordered_list_of_columns_and_default_estimator():
    import psychometrics as pm
    fit = pm.cfa(CSQ, _example(), ordered=[f"csq_{i}" for i in range(1, 9)])
    assert fit.estimator == "WLSMV"
    np.testing.assert_allclose(fit.fit_measures()["chisq_scaled"],
                               REF["csq_wlsmv"]["fit_measures"]["chisq_scaled"], rtol=1e-4)


# ---------------------------------------------------------------------------- categorical omega
@pytest.mark.parametrize("name", ["csq_wlsmv", "ac_wlsmv"])
def test_categorical_omega_matches_compRelSEM(name):
    import psychometrics as pm
    fit = fitted(name)
    for ord_scale, key in ((True, "compRelSEM_ord"), (False, "compRelSEM_lat")):
        ref = REF[name][key]
        ref = ref if isinstance(ref, dict) else {"sat": ref}
        got = pm.comp_rel_sem(fit, ord_scale=ord_scale).estimates
        for f, v in ref.items():
            # consc of bfi is a near-zero composite (reversed items): 1e-4 relative still holds
            np.testing.assert_allclose(got[f], v, rtol=1e-4, err_msg=f"{f} ord_scale={ord_scale}")


# ---------------------------------------------------------------------------- modification indices
@pytest.mark.parametrize("name", ["csq_wlsmv", "ac_wlsmv", "ac_mg_equal"])
def test_modindices_match_lavaan(name):
    fit = fitted(name)
    mi = fit.modindices()
    ref = pd.DataFrame(REF[name]["modindices"])
    keys = ["lhs", "op", "rhs"]
    if fit.ngroups > 1:
        gl = list(REF[name]["group_labels"])
        mi["group"] = [gl.index(g) + 1 for g in mi["group"]]
        keys.append("group")
    m = mi.merge(ref, on=keys, suffixes=("", "_r"))
    assert len(m) == len(ref) == len(mi)
    # MIs and EPCs inherit the estimates' optimiser tolerance (~1e-6): 1e-4 relative, with an
    # absolute floor of 1e-4 for near-zero indices
    for col in ("mi", "epc", "sepc_lv", "sepc_all"):
        np.testing.assert_allclose(m[col], m[col + "_r"], rtol=1e-4, atol=1e-4, err_msg=col)
