"""Polychoric correlations, WLSMV sample statistics and ordinal alpha against R.

Reference values: tests/reference/polychoric.json, made by make_polychoric.R
(psych 2.2.9, lavaan 0.6-14) on bfi (25 six-category items, all cases and by
gender) and on the example study's CSQ-8 (four categories, -9 = missing).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.errors import DataError, PsychometricsError
from psychometrics.polychoric import OrdinalDataError, _pbvn

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "polychoric.json").read_text())
RTOL = 1e-4
ITEMS25 = [c + str(i) for c in "ACENO" for i in range(1, 6)]
AC = [f"A{i}" for i in range(1, 6)] + [f"C{i}" for i in range(1, 6)]
CSQ = [f"csq_{i}" for i in range(1, 9)]


def arr(x):
    """JSON -> float array (null -> nan, "Inf"/"-Inf" strings -> inf)."""
    return np.array([[np.nan if v is None else float(v) for v in row] for row in x]) \
        if x and isinstance(x[0], list) else np.array([np.nan if v is None else float(v) for v in x])


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(HERE / "data" / "bfi.csv")


@pytest.fixture(scope="module")
def study():
    d = pd.read_csv(HERE.parent / "examples" / "data.csv")
    d[CSQ] = d[CSQ].replace(-9, np.nan)
    return d


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def _psych_data(name, bfi, study):
    male = bfi[bfi.gender == 1]
    if name == "psych_bfi":
        return bfi[ITEMS25]
    if name == "psych_bfi_male":
        return male[ITEMS25]
    if name == "psych_bfi_female":
        return bfi[bfi.gender == 2][ITEMS25]
    if name == "psych_bfi_small":
        return bfi.iloc[:60][ITEMS25]
    if name.startswith("psych_bfi_collapsed"):
        x = male[[f"A{i}" for i in range(1, 6)]].copy()
        x["A1"] = x["A1"].clip(upper=4)
        return x
    return study[CSQ]


# --------------------------------------------------------------------------
# bivariate normal
# --------------------------------------------------------------------------

def test_bivariate_normal_cdf_matches_scipy():
    from scipy.stats import multivariate_normal as mvn
    for r in (-0.999, -0.95, -0.6, -0.1, 0.0, 0.3, 0.8, 0.93, 0.99):
        for h, k in ((0.3, -0.7), (-1.5, 2.0), (1.0, 1.0), (-2.0, -2.5), (0.0, 0.0)):
            exact = mvn(cov=[[1, r], [r, 1]]).cdf([h, k])
            assert abs(float(_pbvn(h, k, r)) - exact) < 1e-7
    # pbivnorm(0.3, -0.7, 0.43) in R
    assert float(_pbvn(0.3, -0.7, 0.43)) == pytest.approx(0.1988517085480387, rel=1e-12)


# --------------------------------------------------------------------------
# psych::polychoric
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["psych_bfi", "psych_bfi_male", "psych_bfi_female",
                                  "psych_bfi_small", "psych_bfi_collapsed", "psych_csq"])
def test_psych_polychoric(name, bfi, study):
    ref = REF[name]
    res = quiet(pm.polychoric, _psych_data(name, bfi, study))
    assert list(res.rho.columns) == ref["items"]
    np.testing.assert_allclose(res.rho.to_numpy(), arr(ref["rho"]), rtol=RTOL, atol=1e-10)
    np.testing.assert_allclose(res.thresholds.to_numpy(), arr(ref["tau"]), rtol=RTOL, atol=1e-10)


def test_psych_correction_and_global_switch(bfi, study):
    x = _psych_data("psych_bfi_collapsed", bfi, study)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = pm.polychoric(x)
    assert any("pair by pair" in str(w.message) for w in caught)
    assert res.diagnostics["global"] is False
    assert res.diagnostics["corrected_cells"] > 0
    assert any("correction for continuity" in w for w in res.warnings)
    none = quiet(pm.polychoric, x, correct=0)
    np.testing.assert_allclose(none.rho.to_numpy(), arr(REF["psych_bfi_collapsed_nocorrect"]["rho"]),
                               rtol=RTOL, atol=1e-10)
    assert not np.allclose(none.rho.to_numpy(), res.rho.to_numpy())


def test_psych_smoothing_recorded(bfi):
    res = quiet(pm.polychoric, bfi.iloc[:60][ITEMS25])
    assert res.smoothed
    assert res.diagnostics["min_eigenvalue"] < 0
    assert res.rho_unsmoothed is not None
    assert np.linalg.eigvalsh(res.rho.to_numpy())[0] > 0
    assert any("smoothed" in w for w in res.warnings)
    raw = quiet(pm.polychoric, bfi.iloc[:60][ITEMS25], smooth=False)
    assert not raw.smoothed and any("not positive definite" in w for w in raw.warnings)
    np.testing.assert_allclose(raw.rho.to_numpy(), res.rho_unsmoothed.to_numpy())


def test_pairs_without_a_correlation_are_reported_not_raised(bfi):
    # psych::polychoric stops on these 40 rows ("Something is wrong in polycor")
    res = quiet(pm.polychoric, bfi.iloc[:40][ITEMS25])
    assert res.diagnostics["missing_pairs"]
    assert np.isnan(res.rho.to_numpy()).any()
    assert not res.smoothed
    json.dumps(res.to_dict())


def test_result_objects(study):
    res = quiet(pm.polychoric, study[CSQ])
    d = res.to_dict()
    json.dumps(d)
    assert d["method"] == "psych" and d["missing"] == "pairwise"
    assert res.n.loc["csq_1", "csq_1"] == study["csq_1"].notna().sum()
    both = (study["csq_1"].notna() & study["csq_2"].notna()).sum()
    assert res.n.loc["csq_1", "csq_2"] == both
    assert res.to_frame().shape == (8, 8)
    pairs = res.pairs()
    assert len(pairs) == 28 and set(pairs.columns) == {"item1", "item2", "rho", "n"}
    assert list(res.thresholds.columns) == ["t1", "t2", "t3"]
    assert "Polychoric" in res.summary()


# --------------------------------------------------------------------------
# lavaan::lavCor(ordered = TRUE)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["lavcor_bfi_listwise", "lavcor_bfi_pairwise",
                                  "lavcor_csq_listwise", "lavcor_csq_pairwise"])
def test_lavcor(name, bfi, study):
    ref = REF[name]
    data = bfi[ITEMS25] if "bfi" in name else study[CSQ]
    res = quiet(pm.polychoric, data, method="lavaan", missing=ref["missing"])
    # lavaan's nlminb stops at |d rho| ~ 4e-8; our Newton iterates to 1e-10 in the gradient
    np.testing.assert_allclose(res.rho.to_numpy(), arr(ref["rho"]), rtol=RTOL, atol=1e-8)
    th = res.thresholds.to_numpy().ravel()
    np.testing.assert_allclose(th[np.isfinite(th)], arr(ref["th"]), rtol=RTOL)
    if ref["missing"] == "listwise":
        assert res.n == ref["nobs"]
    assert not res.smoothed


def _binary(bfi):
    d = bfi.iloc[:60]
    cuts = {"b1": ("A1", 5), "b2": ("A2", 6), "b3": ("C1", 6), "b4": ("E1", 6), "b5": ("N1", 6)}
    return pd.DataFrame({k: (d[c] >= v).astype(float).where(d[c].notna()) for k, (c, v) in cuts.items()})


def test_binary_items_with_empty_cells(bfi):
    """2 x 2 tables with one empty cell: lavaan moves 0.5 into it keeping the margins."""
    x = _binary(bfi)
    ref = REF["lavcor_binary_listwise"]
    res = quiet(pm.polychoric, x, method="lavaan", missing="listwise")
    assert len(res.diagnostics["empty_cells"]) == 3
    np.testing.assert_allclose(res.rho.to_numpy(), arr(ref["rho"]), rtol=RTOL, atol=1e-8)
    th = res.thresholds.to_numpy().ravel()
    np.testing.assert_allclose(th, arr(ref["th"]), rtol=RTOL)
    # psych (global thresholds, no correction) on the same items, unsmoothed.  In the three
    # tables with an empty cell the likelihood keeps falling towards rho = -1 and is almost
    # flat there: where optimize() stops depends on mnormt::sadmvn's integration error
    # (abseps 1e-6), so those three are only checked to lie near -1; the other 7 at 1e-4.
    ps = quiet(pm.polychoric, x, smooth=False)
    got, exp = ps.rho.to_numpy(), arr(REF["psych_binary"]["rho"])
    empty = np.zeros_like(got, bool)
    for a, b in [("b3", "b4"), ("b3", "b5"), ("b4", "b5")]:
        i, j = x.columns.get_loc(a), x.columns.get_loc(b)
        empty[i, j] = empty[j, i] = True
    np.testing.assert_allclose(got[~empty], exp[~empty], rtol=RTOL, atol=1e-10)
    assert np.all(got[empty] < -0.9) and np.all(exp[empty] < -0.9)
    assert np.all(np.abs(got[empty] - exp[empty]) < 0.05)


@pytest.mark.parametrize("name", ["lavcor_mixed_listwise", "lavcor_mixed_pairwise"])
def test_lavcor_mixed_polyserial(name, bfi):
    """lavCor with ordered A1-A5 and continuous C1-C5: polyserial and Pearson correlations."""
    ref = REF[name]
    cont = [c for c in ref["items"] if c not in ref["ordered"]]
    res = quiet(pm.polychoric, bfi[ref["items"]], method="lavaan", missing=ref["missing"],
                continuous=cont)
    # polyserial rho: lavaan's nlminb stops at ~1e-7 absolute
    np.testing.assert_allclose(res.rho.to_numpy(), arr(ref["rho"]), rtol=RTOL, atol=1e-6)
    th = res.thresholds.to_numpy().ravel()
    np.testing.assert_allclose(th[np.isfinite(th)], arr(ref["th"]), rtol=RTOL)
    assert res.thresholds.loc[cont].isna().all().all()
    with pytest.raises(OrdinalDataError, match="method='lavaan'"):
        pm.polychoric(bfi[ref["items"]], continuous=cont)


# --------------------------------------------------------------------------
# WLSMV sample statistics (lavInspect sampstat / gamma / wls.v)
# --------------------------------------------------------------------------

WLSMV_CASES = {
    "wlsmv_bfi": ("bfi", AC, None, "listwise"),
    "wlsmv_bfi_gender": ("bfi", AC, "gender", "listwise"),
    "wlsmv_bfi_pairwise": ("bfi", AC, None, "pairwise"),
    "wlsmv_bfi_gender_pairwise": ("bfi", AC, "gender", "pairwise"),
    "wlsmv_csq": ("study", CSQ, None, "listwise"),
    "wlsmv_csq_gender": ("study", CSQ, "gender", "listwise"),
}


@pytest.mark.parametrize("name", list(WLSMV_CASES))
def test_wlsmv_sample_stats(name, bfi, study):
    which, items, group, missing = WLSMV_CASES[name]
    data = bfi if which == "bfi" else study
    ref = REF[name]
    st = quiet(pm.ordinal_sample_stats, data, items, group=group, missing=missing)
    assert st.nobs == list(np.atleast_1d(ref["nobs"]))
    if group is not None:
        assert [str(g) for g in st.group_labels] == ref["group_labels"]
    for g, r in zip(st.groups, ref["groups"]):
        assert g.columns == r["ov_names"]
        assert g.threshold_names == r["th_names"]
        np.testing.assert_allclose(g.thresholds, arr(r["th"]), rtol=RTOL)
        np.testing.assert_allclose(g.cor, arr(r["cor"]), rtol=RTOL, atol=1e-8)
        nth = g.thresholds.size
        np.testing.assert_allclose(g.wls_obs[:nth], g.thresholds)
        np.testing.assert_allclose(g.wls_obs[nth:], g.cor_vech)
        gam = arr(r["gamma"])
        # Gamma inherits lavaan's rho tolerance (nlminb, ~4e-8 in rho): entries near zero
        # differ by up to ~1e-7 absolute, so an absolute floor of 1e-6 x max|Gamma| is added.
        np.testing.assert_allclose(g.gamma, gam, rtol=RTOL, atol=1e-6 * np.abs(gam).max())
        np.testing.assert_allclose(g.wls_v_diag, arr(r["wls_v_diag"]), rtol=RTOL)


@pytest.mark.parametrize("name,missing", [("wlsmv_mixed", "listwise"),
                                          ("wlsmv_mixed_pairwise", "pairwise")])
def test_wlsmv_sample_stats_mixed(name, missing, bfi):
    """Ordered A1-A5 with continuous C1-C5 (model order C first): polyserial and Pearson
    correlations, means and variances, lavaan's WLS.obs and Gamma for mixed data."""
    ref = REF[name]
    r = ref["groups"][0]
    a = [f"A{i}" for i in range(1, 6)]
    c = [f"C{i}" for i in range(1, 6)]
    st = quiet(pm.ordinal_sample_stats, bfi, a, continuous_columns=c, order=c + a,
               missing=missing)
    g = st[0]
    assert st.nobs == list(np.atleast_1d(ref["nobs"]))
    assert g.columns == r["ov_names"]
    assert g.types == ["numeric"] * 5 + ["ordered"] * 5
    assert [n for n in g.threshold_names if "|" in n] == r["th_names"]
    np.testing.assert_allclose(g.means[:5], r["mean"][:5], rtol=RTOL)
    np.testing.assert_allclose(g.thresholds[g.th_idx >= 0], arr(r["th"]), rtol=RTOL)
    # correlations: lavaan's nlminb tolerance again (~1e-7 absolute in the covariances)
    np.testing.assert_allclose(g.cov, arr(r["cor"]), rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(g.wls_obs, arr(r["wls_obs"]), rtol=RTOL, atol=1e-6)
    gam = arr(r["gamma"])
    np.testing.assert_allclose(g.gamma, gam, rtol=RTOL, atol=1e-6 * np.abs(gam).max())
    np.testing.assert_allclose(g.wls_v_diag, arr(r["wls_v_diag"]), rtol=RTOL)
    names = g.wls_obs_names
    assert names[:6] == ["C1", "C2", "C3", "C4", "C5", "A1|t1"]
    assert names[30:32] == ["C1~~C1", "C2~~C2"] and names[35] == "C2~~C1"


def test_mixed_bad_declarations(bfi):
    with pytest.raises(OrdinalDataError, match="both ordered and continuous"):
        pm.ordinal_sample_stats(bfi, ["A1", "A2"], continuous_columns=["A2"])
    with pytest.raises(OrdinalDataError, match="order"):
        pm.ordinal_sample_stats(bfi, ["A1", "A2"], continuous_columns=["C1"], order=["A1", "C1"])
    with pytest.raises(OrdinalDataError, match="no ordered"):
        pm.ordinal_sample_stats(bfi, [], continuous_columns=["C1", "C2"])


def test_cor_vech_is_lavaan_order(bfi):
    st = quiet(pm.ordinal_sample_stats, bfi, ["A1", "A2", "A3", "A4"])
    g = st[0]
    c = g.cor
    expect = [c[1, 0], c[2, 0], c[3, 0], c[2, 1], c[3, 1], c[3, 2]]
    np.testing.assert_allclose(g.cor_vech, expect)
    assert g.gamma.shape == (4 * 5 + 6, 4 * 5 + 6)
    assert list(g.th_idx[:6]) == [0] * 5 + [1]
    names = g.wls_obs_names
    assert len(names) == g.wls_obs.size
    assert names[:2] == ["A1|t1", "A1|t2"] and names[20:23] == ["A2~~A1", "A3~~A1", "A4~~A1"]
    f = st.to_frame()
    assert list(f.columns) == ["group", "name", "threshold", "se"] and len(f) == 20
    json.dumps(st.to_dict())


# --------------------------------------------------------------------------
# ordinal alpha
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name,which", [("ordinal_alpha_csq", "csq"), ("ordinal_alpha_bfi_n", "bfi")])
def test_ordinal_alpha(name, which, bfi, study):
    ref = REF[name]
    data = study[CSQ] if which == "csq" else bfi[ref["items"]]
    a = pm.alpha(data, ordinal=True)
    assert a.ordinal and a.to_dict()["ordinal"]
    assert a.estimate == pytest.approx(ref["raw_alpha"], rel=RTOL)
    assert a.std_alpha == pytest.approx(ref["std_alpha"], rel=RTOL)
    assert a.average_r == pytest.approx(ref["average_r"], rel=RTOL)
    np.testing.assert_allclose(a.items["alpha_if_deleted"], ref["alpha_if_deleted"], rtol=RTOL)
    np.testing.assert_allclose(a.items["r_drop"], ref["r_drop"], rtol=RTOL)
    # ordinal alpha exceeds Cronbach's alpha of the same items here
    assert a.estimate > pm.alpha(data).estimate
    with pytest.raises(PsychometricsError, match="n_boot"):
        pm.alpha(data, ordinal=True, n_boot=10)


# --------------------------------------------------------------------------
# bad input: clear messages, never a traceback from numpy
# --------------------------------------------------------------------------

def test_one_category_column(study):
    x = study[CSQ].copy()
    x["csq_3"] = 3.0
    for method in ("psych", "lavaan"):
        with pytest.raises(OrdinalDataError, match="csq_3.*only one observed category"):
            pm.polychoric(x, method=method)
    with pytest.raises(OrdinalDataError, match="csq_3.*only one observed category"):
        pm.ordinal_sample_stats(x, CSQ)


def test_too_many_categories(bfi):
    x = bfi[["A1", "A2", "A3"]].copy()
    x["A1"] = np.arange(len(x)) % 12
    with pytest.raises(OrdinalDataError, match="A1.*12 distinct values.*at most 10"):
        pm.ordinal_sample_stats(x, ["A1", "A2", "A3"])
    with pytest.raises(OrdinalDataError, match="12 different values.*at most 10"):
        pm.polychoric(x)
    with pytest.raises(OrdinalDataError, match="A1.*at most 10"):
        pm.polychoric(x, method="lavaan")


def test_empty_category_in_one_group(study):
    d = study.copy()
    d.loc[(d.gender == 1) & (d.csq_2 == 1), "csq_2"] = 2
    with pytest.raises(OrdinalDataError, match=r"csq_2.*\[1\.0\] is empty in group 1"):
        pm.ordinal_sample_stats(d, CSQ, group="gender")
    # without groups the category is still observed: fine
    quiet(pm.ordinal_sample_stats, d, CSQ)


def test_non_numeric_values_named(study):
    x = study[CSQ].astype(object).copy()
    x.iloc[3, 1] = "often"
    with pytest.raises(DataError, match="csq_2.*often"):
        pm.polychoric(x)
    y = study[CSQ].copy()
    y.iloc[5, 0] = 2.5
    with pytest.raises(DataError, match="csq_1.*whole number"):
        pm.polychoric(y)


def test_bad_options(study):
    with pytest.raises(OrdinalDataError, match="method"):
        pm.polychoric(study[CSQ], method="polycor")
    with pytest.raises(OrdinalDataError, match="missing"):
        pm.polychoric(study[CSQ], missing="fiml")
    with pytest.raises(OrdinalDataError, match="not found"):
        pm.ordinal_sample_stats(study, ["csq_1", "nope"])
    with pytest.raises(OrdinalDataError, match="group column"):
        pm.ordinal_sample_stats(study, CSQ, group="sex")


def test_empty_cells_reported_lavaan(bfi):
    male = bfi[bfi.gender == 1].iloc[:80]
    res = quiet(pm.polychoric, male[ITEMS25[:6]], method="lavaan", missing="listwise")
    assert res.diagnostics["empty_cells"]
    assert all(len(e) == 3 and e[2] > 0 for e in res.diagnostics["empty_cells"])


def test_perfect_2x2_table_is_reported(bfi):
    """Two empty cells in a 2 x 2 table: rho = 1 as lavaan, Gamma not finite -> a warning."""
    x = pd.DataFrame({"a": [1, 1, 1, 2, 2, 1, 2, 1], "b": [1, 1, 1, 2, 2, 1, 2, 1],
                      "c": [1, 2, 1, 2, 1, 1, 2, 2]}, dtype=float)
    st = quiet(pm.ordinal_sample_stats, x, ["a", "b", "c"])
    assert st[0].cor[1, 0] == 1.0
    assert any("nearly) 1.0" in w for w in st.warnings)
    assert any("non-finite" in w for w in st.warnings)


@pytest.mark.parametrize("name", list(WLSMV_CASES))
def test_wlsmv_gamma_summed_in_blocks_of_rows(name, bfi, study, monkeypatch):
    """Above ``_SCORE_ROWS`` cases of all-ordinal data the case-wise scores are summed block
    by block from per-code tables (issue 13: no n x m array at 10^6 cases); with tiny blocks
    Gamma, the weights and the correlations equal the one-array path to rounding, and the
    blocked path still meets lavaan's Gamma."""
    import importlib
    pc = importlib.import_module("psychometrics.polychoric")   # the package exports a function of that name
    which, items, group, missing = WLSMV_CASES[name]
    data = bfi if which == "bfi" else study
    whole = quiet(pm.ordinal_sample_stats, data, items, group=group, missing=missing)
    monkeypatch.setattr(pc, "_SCORE_ROWS", 37)      # blocks of 37 rows, a ragged last one
    calls = []
    real = pc._blocked_score_sums
    monkeypatch.setattr(pc, "_blocked_score_sums",
                        lambda *a: calls.append(1) or real(*a))
    blocks = quiet(pm.ordinal_sample_stats, data, items, group=group, missing=missing)
    assert calls                                    # the blocked path ran
    for g0, g1, r in zip(whole.groups, blocks.groups, REF[name]["groups"]):
        np.testing.assert_array_equal(g0.cor, g1.cor)
        np.testing.assert_allclose(g1.gamma, g0.gamma, rtol=1e-10, atol=1e-12 * np.abs(g0.gamma).max())
        np.testing.assert_allclose(g1.wls_v_diag, g0.wls_v_diag, rtol=1e-10)
        gam = arr(r["gamma"])
        np.testing.assert_allclose(g1.gamma, gam, rtol=RTOL, atol=1e-6 * np.abs(gam).max())
