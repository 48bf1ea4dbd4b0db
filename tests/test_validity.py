"""Validity (AVE, CR, Fornell-Larcker, HTMT) checked against semTools 0.5-6
(tests/reference/make_validity.R)."""
from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.errors import DataError, PsychometricsError, PsychometricsWarning

V = importlib.import_module("psychometrics.validity")  # pm.validity is the function

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "validity.json").read_text())
BFI = pd.read_csv(HERE / "data" / "bfi.csv")
HS = pd.read_csv(HERE / "data" / "hs1939.csv")
BFI_REV = BFI.copy()
for _k in ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]:
    BFI_REV[_k] = 7 - BFI_REV[_k]
DATA = {"hs_3f": HS, "bfi_5f": BFI_REV, "bfi_5f_raw": BFI}
CASES = sorted(DATA)


def _arr(v):
    return np.array(v, dtype=float)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("variant, kw", [("htmt2", {}), ("htmt_mean", {"htmt2": False}),
                                         ("htmt_mean_signed", {"htmt2": False, "absolute": False})])
def test_htmt_matches_semtools(case, variant, kw):
    c = REF[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        h = pm.htmt(DATA[case], c["model"], **kw)
    assert list(h.matrix.index) == c["factors"]
    # same correlations (listwise Pearson), closed form: agreement to rounding
    np.testing.assert_allclose(h.matrix.to_numpy(), _arr(c[variant]), rtol=1e-10)
    assert h.n_obs == c["n_obs"]


def test_htmt_mapping_forms_agree():
    c = REF["hs_3f"]
    a = pm.htmt(HS, c["mapping"]).matrix
    b = pm.htmt(HS, "visual =~ 1*x1 + x2 + x3\ntextual =~ x4 + x5 + x6  # comment\n"
                    "speed =~ x7 + x8 + x9\nvisual ~~ speed").matrix
    pd.testing.assert_frame_equal(a, b)


def test_htmt_bootstrap_matches_naive_loop_and_is_seeded():
    c = REF["hs_3f"]
    n_boot = 30
    h = pm.htmt(HS, c["mapping"], n_boot=n_boot, seed=5, level=0.9)
    idx = np.random.default_rng(5).integers(0, len(HS), size=(n_boot, len(HS)))
    reps = np.array([pm.htmt(HS.iloc[row], c["mapping"]).matrix.to_numpy() for row in idx])
    np.testing.assert_allclose(h.ci_lower.to_numpy(), np.quantile(reps, 0.05, axis=0), rtol=1e-10)
    np.testing.assert_allclose(h.ci_upper.to_numpy(), np.quantile(reps, 0.95, axis=0), rtol=1e-10)
    again = pm.htmt(HS, c["mapping"], n_boot=n_boot, seed=5, level=0.9)
    pd.testing.assert_frame_equal(h.ci_upper, again.ci_upper)
    tab = h.to_frame()
    assert len(tab) == 3 and (tab["ci_lower"] <= tab["htmt"]).all() and (tab["htmt"] <= tab["ci_upper"]).all()
    json.dumps(h.to_dict())


@pytest.mark.parametrize("case", CASES)
def test_ave_cr_fornell_larcker_from_lavaan_estimates(case):
    """semTools' AVE / compRelSEM formulas applied to lavaan's own estimates."""
    c = REF[case]
    v = V.validity_from_estimates(c["lambda"], c["psi"], c["sample_cov"], c["implied_cov"],
                                  factors=c["factors"], indicators=c["indicators"])
    t = v.table
    np.testing.assert_allclose(t["AVE"], c["ave_obs"], rtol=1e-10)
    np.testing.assert_allclose(t["AVE_model"], c["ave_model"], rtol=1e-10)
    np.testing.assert_allclose(t["CR"], c["cr_obs"], rtol=1e-10)
    np.testing.assert_allclose(t["CR_model"], c["cr_model"], rtol=1e-10)
    np.testing.assert_allclose(t["AVE_std_mean"], c["ave_std_mean"], rtol=1e-10)
    np.testing.assert_allclose(v.factor_correlations.to_numpy(), _arr(c["cor_lv"]), rtol=1e-10)
    fl = v.fornell_larcker.to_numpy()
    np.testing.assert_allclose(np.diag(fl), np.sqrt(c["ave_obs"]), rtol=1e-10)
    off = np.abs(_arr(c["cor_lv"])) - np.eye(len(c["factors"]))
    assert list(t["fornell_larcker_ok"]) == list(np.sqrt(c["ave_obs"]) > off.max(axis=1))
    mv = V.validity_from_estimates(c["lambda"], c["psi"], c["sample_cov"], c["implied_cov"],
                                   factors=c["factors"], obs_var=False)
    np.testing.assert_allclose(mv.table["CR"], c["cr_model"], rtol=1e-10)


class _LavaanLikeFit:
    """A fitted model with the public surface of pm.cfa's result, built from
    lavaan's estimates in the fixture (tests the adapter, not the engine)."""

    def __init__(self, c, data):
        self.c = c
        self.data = data

    def parameters(self):
        c = self.c
        lam, psi = _arr(c["lambda"]), _arr(c["psi"])
        rows = []
        for j, f in enumerate(c["factors"]):
            for i, ind in enumerate(c["indicators"]):
                if lam[i, j] != 0:
                    rows.append((f, "=~", ind, lam[i, j]))
        for i, f in enumerate(c["factors"]):
            for j in range(i, len(c["factors"])):
                rows.append((f, "~~", c["factors"][j], psi[i, j]))
        df = pd.DataFrame(rows, columns=["lhs", "op", "rhs", "est"])
        df["group"] = 1
        return df

    @property
    def sample_cov(self):
        ind = self.c["indicators"]
        return pd.DataFrame(_arr(self.c["sample_cov"]), index=ind, columns=ind)

    @property
    def implied_cov(self):
        ind = self.c["indicators"]
        return pd.DataFrame(_arr(self.c["implied_cov"]), index=ind, columns=ind)


@pytest.mark.parametrize("case", ["hs_3f", "bfi_5f"])
def test_validity_of_a_fit(case):
    c = REF[case]
    fit = _LavaanLikeFit(c, DATA[case])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        v = pm.validity(fit)
    np.testing.assert_allclose(v.to_frame()["AVE"], c["ave_obs"], rtol=1e-10)
    np.testing.assert_allclose(v.to_frame()["CR"], c["cr_obs"], rtol=1e-10)
    np.testing.assert_allclose(v.htmt.matrix.to_numpy(), _arr(c["htmt2"]), rtol=1e-10)
    d = json.loads(json.dumps(v.to_dict()))
    assert d["denominator"] == "observed"
    assert d["table"]["index"] == c["factors"]
    cr = pm.comp_rel_sem(fit, obs_var=False)
    np.testing.assert_allclose(cr.estimates, c["cr_model"], rtol=1e-10)
    assert cr.denominator == "model-implied"


def _engine():
    try:
        return pm.cfa
    except (AttributeError, ImportError) as e:  # the SEM engine is developed in parallel
        pytest.skip(f"SEM engine not available: {e}")


@pytest.mark.parametrize("case", ["hs_3f", "bfi_5f", "hs_second_order"])
def test_validity_of_engine_fit_matches_semtools(case):
    """End to end: pm.cfa (ML, listwise) then semTools' AVE / compRelSEM / htmt numbers."""
    cfa = _engine()
    c = REF[case]
    data = HS if case.startswith("hs") else BFI_REV
    fit = cfa(c["model"], data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        v = pm.validity(fit, data=data)
    assert list(v.table.index) == c["factors"]
    # ML estimates agree with lavaan to ~1e-6 relative; AVE/CR inherit that: 1e-4
    np.testing.assert_allclose(v.table["AVE"], c["ave_obs"], rtol=1e-4)
    np.testing.assert_allclose(v.table["CR"], c["cr_obs"], rtol=1e-4)
    np.testing.assert_allclose(v.table["CR_model"], c["cr_model"], rtol=1e-4)
    np.testing.assert_allclose(v.factor_correlations.to_numpy(), _arr(c["cor_lv"]), rtol=1e-4)
    # HTMT uses only the data: exact
    np.testing.assert_allclose(v.htmt.matrix.to_numpy(), _arr(c["htmt2"]), rtol=1e-10)
    if case == "hs_second_order":
        assert any("higher-order" in w and "'g'" in w for w in v.warnings)
    # without data=, HTMT comes from the rows the fit used (listwise, as semTools)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        v2 = pm.validity(fit)
    np.testing.assert_allclose(v2.htmt.matrix.to_numpy(), _arr(c["htmt2"]), rtol=1e-10)


def test_validity_per_group_of_a_multigroup_fit():
    cfa = _engine()
    c = REF["hs_by_school"]
    fit = cfa(c["model"], HS, group=c["group"])
    with pytest.raises(PsychometricsError, match="group="):
        pm.validity(fit)
    with pytest.raises(PsychometricsError, match="Nowhere"):
        pm.validity(fit, group="Nowhere")
    for g in c["groups"]:
        v = pm.validity(fit, data=HS, group=g["label"])
        assert v.group == g["label"]
        # ML estimates vs lavaan ~1e-5: 1e-4 relative
        np.testing.assert_allclose(v.table["AVE"], g["ave_obs"], rtol=1e-4)
        np.testing.assert_allclose(v.table["CR"], g["cr_obs"], rtol=1e-4)
        np.testing.assert_allclose(v.table["CR_model"], g["cr_model"], rtol=1e-4)
        np.testing.assert_allclose(v.factor_correlations.to_numpy(), _arr(g["cor_lv"]), rtol=1e-4)
        np.testing.assert_allclose(v.htmt.matrix.to_numpy(), _arr(g["htmt2"]), rtol=1e-10)
        np.testing.assert_allclose(pm.comp_rel_sem(fit, group=g["label"]).estimates,
                                   g["cr_obs"], rtol=1e-4)
        v2 = pm.validity(fit, group=g["label"])  # HTMT from the group's rows in the fit
        np.testing.assert_allclose(v2.htmt.matrix.to_numpy(), _arr(g["htmt2"]), rtol=1e-10)
        assert v2.group == g["label"]


# ---------------------------------------------------------------- bad input

def test_htmt_bad_inputs():
    m = REF["hs_3f"]["mapping"]
    with pytest.raises(PsychometricsError, match="x99"):
        pm.htmt(HS, {"a": ["x1", "x2"], "b": ["x3", "x99"]})
    with pytest.raises(PsychometricsError, match="two factors"):
        pm.htmt(HS, {"a": ["x1", "x2", "x3"]})
    with pytest.raises(PsychometricsError, match="=~"):
        pm.htmt(HS, "x1 ~ x2")
    bad = HS.copy().astype({"x5": object})
    bad.loc[4, "x5"] = "n/a?"
    with pytest.raises(DataError) as e:
        pm.htmt(bad, m)
    assert "x5" in str(e.value) and "n/a?" in str(e.value) and "row 4" in str(e.value)
    with pytest.raises(PsychometricsError, match="fitted CFA"):
        pm.validity(object())


def test_single_item_factor_is_nan_with_warning():
    with pytest.warns(PsychometricsWarning, match="single item"):
        h = pm.htmt(HS, {"a": ["x1", "x2", "x3"], "b": ["x4"]})
    assert np.isnan(h.matrix.loc["a", "b"])


def test_em_cases_cross_products_without_n_by_p2_array():
    """The HTMT FIML bootstrap's weighted sums of x_i x_i' are products per resample; no
    n x p^2 array of the cases' outer products is kept (issue 13: 0.46 GB at 50,000 x 34)."""
    from psychometrics._measurement import _EMCases
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 6))
    x[rng.random(x.shape) < 0.1] = np.nan
    cs = _EMCases(x)
    w = rng.integers(0, 3, size=(4, 300)).astype(float)
    x0 = np.nan_to_num(x)
    np.testing.assert_allclose(cs.weighted_cross_products(w),
                               np.einsum("bi,ij,ik->bjk", w, x0, x0), rtol=1e-12, atol=1e-12)
    big = [v for v in vars(cs).values() if isinstance(v, np.ndarray) and v.ndim == 2
           and v.shape[0] == 300 and v.shape[1] >= 36]
    assert not big
