"""Tests of psychometrics/efa/ against psych 2.2.9 / GPArotation (tests/reference/efa.json,
written by tests/reference/make_efa.R on the bfi and HS1939 data)."""
from __future__ import annotations

import importlib
import json
import warnings
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.errors import DataError, PsychometricsError, PsychometricsWarning

E = importlib.import_module("psychometrics.efa")   # the module (``pm.efa`` is the function)

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "efa.json").read_text())
BFI = pd.read_csv(HERE / "data" / "bfi.csv")
ITEMS = BFI[REF["meta"]["items"]]
HS = pd.read_csv(HERE / "data" / "hs1939.csv")[[f"x{i}" for i in range(1, 10)]]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        yield


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


# ------------------------------------------------------------------ correlations, KMO, Bartlett

def test_pairwise_correlations_match_r():
    r = E.correlation_matrix(ITEMS)
    assert np.max(np.abs(r.to_numpy() - np.array(REF["cor_pairwise"]))) < 1e-12
    assert list(r.columns) == REF["meta"]["items"]


def test_kmo_matches_psych():
    k = pm.kmo(ITEMS)
    assert rel(k.msa, REF["kmo"]["msa"]) < 1e-6
    assert rel(k.msai.to_numpy(), REF["kmo"]["msai"]) < 1e-6
    assert list(k.msai.index) == REF["meta"]["items"]
    assert k.label == "meritorious"          # .846
    json.dumps(k.to_dict())
    assert k.to_frame().shape == (25, 2)


def test_bartlett_matches_psych():
    b = pm.bartlett(ITEMS)
    assert rel(b.chisq, REF["bartlett"]["chisq"]) < 1e-6
    assert b.df == REF["bartlett"]["df"] == 300
    assert b.n_obs == REF["bartlett"]["n"] == 2800
    assert b.p_value == pytest.approx(REF["bartlett"]["p_value"], abs=1e-12)
    # an explicit n changes only the multiplier
    b2 = pm.bartlett(ITEMS, n_obs=1000)
    p = 25
    assert b2.chisq / b.chisq == pytest.approx((1000 - 1 - (2 * p + 5) / 6) / (2800 - 1 - (2 * p + 5) / 6))


def test_smc_matches_psych():
    assert rel(E._smc(np.array(REF["cor_pairwise"])), REF["smc"]) < 1e-10


# ------------------------------------------------------------------ EFA against psych::fa

def _align(ours: np.ndarray, theirs: np.ndarray):
    """Column permutation and signs of ``ours`` that best match ``theirs``."""
    k = ours.shape[1]
    best = None
    for perm in permutations(range(k)):
        o = ours[:, perm]
        sg = np.sign(np.sum(o * theirs, axis=0))
        sg[sg == 0] = 1
        d = np.max(np.abs(o * sg - theirs))
        if best is None or d < best[0]:
            best = (d, list(perm), sg)
    return best[1], best[2]


@pytest.mark.parametrize("key", list(REF["fits"]))
def test_efa_matches_psych_fa(key):
    f = REF["fits"][key]
    data = HS if key.startswith("hs") else ITEMS
    rot = {"geominQ": "geomin"}.get(f["rotate"], f["rotate"])
    res = pm.efa(data, f["nfactors"], method=f["fm"], rotation=rot)
    k = f["nfactors"]
    L = res.loadings.to_numpy()
    R = np.array(f["loadings"]).reshape(L.shape)
    perm, sg = _align(L, R)
    # psych orders factors by variance and signs them positive, as we do: alignment is identity
    assert perm == list(range(k)) and np.all(sg == 1)
    # 1e-3 is the tolerance for loadings after alignment; observed agreement ~1e-5
    # (psych stops its optim/GPA iterations at looser tolerances than ours)
    assert np.max(np.abs(L - R)) < 1e-3
    assert np.max(np.abs(res.communalities.to_numpy() - f["communality"])) < 1e-3
    assert np.max(np.abs(res.uniquenesses.to_numpy() - f["uniquenesses"])) < 1e-3
    S = np.array(f["structure"]).reshape(L.shape)
    assert np.max(np.abs(res.structure.to_numpy() - S)) < 1e-3
    if "phi" in f:
        assert res.oblique
        assert np.max(np.abs(res.phi.to_numpy() - np.array(f["phi"]))) < 1e-3
    else:
        assert not res.oblique
        assert np.allclose(res.phi.to_numpy(), np.eye(k))
    V = np.array(f["vaccounted"]).reshape(-1, k)
    assert np.max(np.abs(res.variance.to_numpy() - V)) < 1e-3
    assert np.max(np.abs(res.eigenvalues - f["e_values"])) < 1e-10
    assert np.max(np.abs(res.common_eigenvalues - f["values"])) < 1e-3
    assert res.converged
    assert list(res.loadings.index) == f["items"]
    prefix = {"minres": "MR", "ml": "ML", "pa": "PA"}[f["fm"]]
    assert list(res.loadings.columns) == [f"{prefix}{j + 1}" for j in range(k)]
    json.dumps(res.to_dict())


@pytest.mark.parametrize("key", list(REF["fits"]))
def test_efa_fit_statistics_match_psych(key):
    f = REF["fits"][key]
    data = HS if key.startswith("hs") else ITEMS
    rot = {"geominQ": "geomin"}.get(f["rotate"], f["rotate"])
    fit = pm.efa(data, f["nfactors"], method=f["fm"], rotation=rot).fit
    for name, want in f["stats"].items():
        got = fit[name]
        if want is None:
            assert got is None, name
            continue
        if name in ("pvalue", "epvalue"):
            # p-values as small as 1e-264 follow from chi-squares agreeing to ~1e-6
            assert got == pytest.approx(want, rel=1e-2, abs=1e-12), name
        elif name in ("bic", "sabic", "ebic"):
            # differences of two large numbers: absolute tolerance .05 on values in the 100s-1000s
            assert got == pytest.approx(want, abs=0.05), name
        else:
            assert got == pytest.approx(want, rel=1e-4), name


def test_efa_principal_axis_is_psych_exactly():
    # psych's PA iterations (SMC start, stop at |change in sum h2| < .001) are replicated step by step
    f = REF["fits"]["pa_oblimin"]
    res = pm.efa(ITEMS, 5, method="pa", rotation="oblimin")
    assert np.max(np.abs(res.loadings.to_numpy() - np.array(f["loadings"]))) < 1e-8


def test_efa_ordering_and_signs():
    res = pm.efa(ITEMS, 5, method="minres", rotation="oblimin")
    v = res.variance.loc["SS loadings"].to_numpy()
    assert np.all(np.diff(v) <= 1e-12)
    assert np.all(res.loadings.sum(axis=0) > 0)
    assert np.allclose(res.communalities + res.uniquenesses, 1)
    assert np.allclose(np.diag(res.phi), 1)


def test_efa_listwise_differs_from_pairwise():
    a = pm.efa(ITEMS, 5, missing="listwise")
    b = pm.efa(ITEMS, 5)
    assert a.n_obs == int(ITEMS.notna().all(axis=1).sum()) < b.n_obs == 2800
    assert np.max(np.abs(a.loadings.to_numpy() - b.loadings.to_numpy())) > 1e-4


def test_loading_table_cut_sort_and_cross_loadings():
    res = pm.efa(ITEMS, 5)
    tab = res.loading_table(cut=0.3)
    fac = list(res.loadings.columns)
    shown = tab[fac]
    assert np.all((shown.abs() >= 0.3) | shown.isna())
    # sorted by main factor, |loading| decreasing within it
    main = [fac.index(f) for f in tab["factor"]]
    assert main == sorted(main)
    for f in fac:
        block = tab[tab["factor"] == f]
        vals = res.loadings.loc[block.index, f].abs().to_numpy()
        assert np.all(np.diff(vals) <= 1e-12)
    cross = (res.loadings.abs() >= 0.32).sum(axis=1) >= 2
    assert (tab["cross_loading"] == cross.loc[tab.index]).all()
    assert cross.any()                                 # bfi has cross-loading items (e.g. E5)
    assert np.allclose(tab["com"], res.complexity.loc[tab.index])
    nosal = res.loadings.abs().max(axis=1) < 0.3
    assert (tab["no_salient"] == nosal.loc[tab.index]).all()
    unsorted = res.loading_table(cut=0.5, sort=False)
    assert list(unsorted.index) == list(res.loadings.index)
    assert unsorted[fac].notna().sum().sum() < shown.notna().sum().sum()


def test_one_factor_has_no_rotation():
    res = pm.efa(ITEMS, 1, rotation="oblimin")
    assert res.rotation == "none" and res.loadings.shape == (25, 1)
    assert list(res.variance.index) == ["SS loadings", "Proportion Var"]


def test_rotations_differ_and_geomin_orthogonal():
    a = pm.efa(HS, 3, rotation="geominT")
    assert not a.oblique
    L = a.loadings.to_numpy()
    u = pm.efa(HS, 3, rotation="none").loadings.to_numpy()
    # an orthogonal rotation keeps the communalities
    assert np.allclose((L ** 2).sum(1), (u ** 2).sum(1), atol=1e-10)


# ------------------------------------------------------------------ warnings

def test_heywood_case_is_reported():
    # x2 duplicated with tiny noise: its communality hits the bound (Heywood), reported
    rng = np.random.default_rng(3)
    d = HS.copy()
    d["x2b"] = d["x2"] + rng.normal(0, 0.01, len(d))
    with pytest.warns(PsychometricsWarning):
        warnings.simplefilter("always", PsychometricsWarning)
        res = pm.efa(d, 3, method="ml")
    assert any("Heywood" in w for w in res.warnings)


def test_non_positive_definite_is_smoothed_and_reported():
    d = HS.copy()
    d["sum12"] = d["x1"] + d["x2"]          # exact linear dependency -> singular R
    res = pm.efa(d, 3)
    assert any("not positive definite" in w and "smoothed" in w for w in res.warnings)
    assert np.linalg.eigvalsh(res.correlation.to_numpy())[0] > 0
    k = pm.kmo(d)
    assert any("smoothed" in w for w in k.warnings)


def test_few_cases_warning():
    res = pm.efa(HS.iloc[:60], 1)
    assert any("Few cases" in w for w in res.warnings)
    big = pm.efa(HS, 1)
    assert not any("Few cases" in w for w in big.warnings)


# ------------------------------------------------------------------ bad input

def test_non_numeric_cell_names_row_column_value():
    d = HS.copy().astype(object)
    d.loc[5, "x3"] = "abc"
    with pytest.raises(DataError) as ei:
        pm.efa(d, 2)
    msg = str(ei.value)
    assert "row 5" in msg and "'x3'" in msg and "'abc'" in msg


def test_constant_and_empty_columns():
    d = HS.copy()
    d["x4"] = 3.0
    with pytest.raises(DataError, match="x4.*constant"):
        pm.kmo(d)
    d = HS.copy()
    d["x5"] = np.nan
    with pytest.raises(DataError, match="x5"):
        pm.bartlett(d)


def test_bad_options():
    with pytest.raises(PsychometricsError, match="rotation"):
        pm.efa(HS, 2, rotation="wobble")
    with pytest.raises(PsychometricsError, match="method"):
        pm.efa(HS, 2, method="alpha")
    with pytest.raises(PsychometricsError, match="too many"):
        pm.efa(HS, 9)
    with pytest.raises(PsychometricsError, match="n_factors"):
        pm.efa(HS, 0)
    with pytest.raises(DataError):
        pm.efa([1, 2, 3], 1)
    with pytest.raises(PsychometricsError, match="kind"):
        pm.parallel_analysis(HS, kind="x", seed=1)


def test_pairwise_too_few_joint_cases():
    d = HS.iloc[:40].copy()
    d.loc[d.index[:20], "x1"] = np.nan
    d.loc[d.index[18:], "x2"] = np.nan      # x1 and x2 are both answered in 2 rows only
    with pytest.raises(DataError, match="x1.*x2|x2.*x1"):
        pm.kmo(d)


def test_pm_efa_callable_whatever_the_import_order():
    import psychometrics
    assert callable(psychometrics.efa)
    assert psychometrics.efa(HS, 3).n_factors == 3


# ------------------------------------------------------------------ MAP

def test_map_matches_psych_vss():
    m = pm.map_test(ITEMS)
    sq = m.table["map_squared"].to_numpy()
    assert rel(sq[1:9], REF["map"]["vss_map"]) < 1e-8
    # full m = 0..p-1 series of Velicer's formulas written out in R; the last few partial
    # correlations (m near p) are ill-conditioned, hence 1e-6
    assert rel(sq, REF["map"]["map_squared"]) < 1e-6
    assert rel(m.table["map_fourth"].to_numpy(), REF["map"]["map_fourth"]) < 1e-6
    assert m.suggested_original == REF["map"]["suggested_squared"] == REF["map"]["vss_suggested"] == 5
    assert m.suggested_revised == REF["map"]["suggested_fourth"]


# ------------------------------------------------------------------ parallel analysis

# Simulated eigenvalues cannot equal psych's (R's and numpy's random streams differ); they are
# compared in distribution.  With 50 (psych) and 100 (ours) replications the standard error of a
# mean eigenvalue is below .005, hence .03; the first reduced ("fa") eigenvalue is heavy-tailed
# (now and then a random matrix has a one-factor solution with a communality near .5, e.g. 0.58
# instead of 0.20), so its mean gets .08.
def _check_sim(ours, theirs, first_tol=0.03):
    d = np.abs(np.asarray(ours) - np.asarray(theirs))
    assert d[0] < first_tol and np.max(d[1:]) < 0.03


def test_parallel_analysis_observed_values_match_psych():
    P = REF["parallel"]
    pa = pm.parallel_analysis(ITEMS, n_iter=100, seed=11)
    assert np.max(np.abs(pa.observed_pc - P["pc_values"])) < 1e-10
    # psych's fa.values: reduced-matrix eigenvalues of its 1-factor minres (optim) solution
    assert np.max(np.abs(pa.observed_fa - P["fa_values"])) < 1e-5
    assert pa.n_components == P["ncomp"] and pa.n_factors == P["nfact"]
    _check_sim(pa.sim_pc_mean, P["pc_sim_mean"])
    _check_sim(pa.sim_fa_mean, P["fa_sim_mean"], first_tol=0.08)
    fr = pa.to_frame()
    assert list(fr.columns) == ["observed_pc", "sim_pc_mean", "sim_pc_quantile", "observed_fa",
                                "sim_fa_mean", "sim_fa_quantile"]
    assert np.all(fr["sim_pc_quantile"] >= fr["sim_pc_mean"])
    json.dumps(pa.to_dict())


def test_parallel_analysis_resample_matches_psych_in_distribution():
    P = REF["parallel"]
    pa = pm.parallel_analysis(ITEMS, n_iter=30, seed=5, data="resample")
    _check_sim(pa.sim_pc_mean, P["pc_resample_mean"])
    _check_sim(pa.sim_fa_mean, P["fa_resample_mean"], first_tol=0.08)
    assert pa.n_components == P["ncomp"] and pa.n_factors == P["nfact"]


def test_random_matrix_fa_values_match_psych_on_the_same_matrices():
    # psych::fa(r, 1, fm="minres")$values on 20 random correlation matrices made in R
    rs = np.array([np.array(o["r"]) for o in REF["random_fa"]])
    v = E._batched_one_factor_values(rs)
    ref = np.array([o["values"] for o in REF["random_fa"]])
    # psych's optim (L-BFGS-B, factr 1e7, an approximate gradient) stops at a looser tolerance
    # than our Newton iterations: typical differences are 1e-6, the worst (a matrix with a
    # communality of .38, where the objective is flat) 1.4e-4, hence 5e-4
    assert np.max(np.abs(v - ref)) < 5e-4
    assert np.median(np.abs(v - ref)) < 1e-5


def test_parallel_analysis_reproducible_for_a_seed():
    a = pm.parallel_analysis(HS, n_iter=40, seed=123)
    b = pm.parallel_analysis(HS, n_iter=40, seed=123)
    c = pm.parallel_analysis(HS, n_iter=40, seed=124)
    assert np.array_equal(a.sim_pc_mean, b.sim_pc_mean)
    assert np.allclose(a.sim_fa_quantile, b.sim_fa_quantile, atol=1e-9)
    assert not np.allclose(a.sim_pc_mean, c.sim_pc_mean)
    d = pm.parallel_analysis(HS, n_iter=40)
    e = pm.parallel_analysis(HS, n_iter=40, seed=d.seed)
    assert np.array_equal(d.sim_pc_mean, e.sim_pc_mean)


def test_wishart_correlations_have_the_normal_data_distribution():
    # mean and variance of an off-diagonal r of n normal cases: 0 and 1/(n-1)
    rng = np.random.default_rng(0)
    rs = E._wishart_cor(rng, 4000, 50, 4)
    r12 = rs[:, 0, 1]
    assert abs(r12.mean()) < 0.01
    assert r12.var() == pytest.approx(1 / 49, rel=0.08)
    x = np.random.default_rng(1).standard_normal((4000, 50, 4))
    direct = E._complete_cor(x)
    ev_w = np.linalg.eigvalsh(rs).mean(0)
    ev_d = np.linalg.eigvalsh(direct).mean(0)
    assert np.max(np.abs(ev_w - ev_d)) < 0.02


def test_batched_one_factor_matches_minres():
    rng = np.random.default_rng(2)
    rs = E._wishart_cor(rng, 30, 200, 8)
    rs = np.concatenate([rs, np.array(REF["cor_pairwise"])[None, :8, :8]])
    v = E._batched_one_factor_values(rs)
    for i in range(len(rs)):
        ex = E._minres(rs[i], 1)
        s = rs[i].copy()
        np.fill_diagonal(s, (ex.loadings ** 2).sum(1))
        # random matrices without structure can have two local minima; the one found from
        # psych's start is reported in (almost) all cases
        assert np.max(np.abs(np.linalg.eigvalsh(s)[::-1] - v[i])) < 1e-5 or i < 30


def test_parallel_analysis_smc_and_pc_only():
    pa = pm.parallel_analysis(HS, n_iter=20, seed=1, kind="pc")
    assert pa.observed_fa is None and pa.n_factors is None
    assert "observed_fa" not in pa.to_frame()
    pb = pm.parallel_analysis(HS, n_iter=20, seed=1, fa_method="smc")
    r = E.correlation_matrix(HS).to_numpy()
    s = r.copy()
    np.fill_diagonal(s, E._smc(r))
    assert np.allclose(pb.observed_fa, np.linalg.eigvalsh(s)[::-1])


# ------------------------------------------------------------------ dimensionality summary

def test_dimensionality_side_by_side():
    d = pm.dimensionality(ITEMS, seed=3, n_iter=30)
    t = d.table.set_index("criterion")["suggested"]
    assert t["Kaiser: eigenvalues > 1"] == int(np.sum(np.array(REF["parallel"]["pc_values"]) > 1))
    assert t["MAP, squared partials"] == 5
    assert t["Parallel analysis, factors"] == REF["parallel"]["nfact"]
    assert t["Parallel analysis, components"] == REF["parallel"]["ncomp"]
    assert d.kmo.msa == pytest.approx(REF["kmo"]["msa"], rel=1e-10)
    assert len(d.eigenvalues) == 25
    json.dumps(d.to_dict())
    assert "MAP" in d.summary()


# ------------------------------------------------------------------ split-half validation

def test_split_half_stratified_and_reproducible():
    data = BFI[REF["meta"]["items"] + ["gender"]]
    r1 = pm.split_half_validation(data, REF["meta"]["items"], 5, group="gender", seed=7)
    r2 = pm.split_half_validation(data, REF["meta"]["items"], 5, group="gender", seed=7)
    assert r1.efa_index == r2.efa_index
    assert set(r1.efa_index).isdisjoint(r1.cfa_index)
    assert len(r1.efa_index) + len(r1.cfa_index) == len(data)
    gc = r1.group_counts
    assert (abs(gc["efa"] - gc["cfa"]) <= 1).all()           # stratified by gender
    assert r1.model.count("=~") == 5
    for line in r1.model.splitlines():
        assert len(set(i[0] for i in line.split("=~")[1].replace(" ", "").split("+"))) == 1
    if r1.cfa is None:
        pytest.skip("CFA half awaits the SEM engine: " + "; ".join(r1.warnings))
    fm = r1.fit_measures
    assert fm["df"] == 265
    assert 0 < fm["cfi"] < 1
    json.dumps(r1.to_dict())


def test_split_half_bad_group():
    data = HS.copy()
    data["g"] = ["a"] * (len(data) - 1) + ["b"]
    with pytest.raises(DataError, match="fewer than 2"):
        pm.split_half_validation(data, [f"x{i}" for i in range(1, 10)], 3, group="g", seed=1)
    with pytest.raises(DataError, match="not in the data"):
        pm.split_half_validation(data, ["x1", "nope"], 1, seed=1)


def test_split_half_with_hypothesised_model():
    data = pd.read_csv(HERE / "data" / "hs1939.csv")
    items = [f"x{i}" for i in range(1, 10)]
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    res = pm.split_half_validation(data[items + ["sex"]], items, 3, group="sex", seed=3, model=model)
    assert res.model == model and res.dropped_items == []
    assert sorted(res.efa_index + res.cfa_index) == list(data.index)
    assert res.efa.n_obs == len(res.efa_index)
    # the EFA half recovers the three HS factors
    assert set(res.assignment.loc[["x1", "x2", "x3"], "factor"]).isdisjoint(
        res.assignment.loc[["x4", "x5", "x6"], "factor"])
    if res.cfa is None:
        pytest.skip("CFA half awaits the SEM engine: " + "; ".join(res.warnings))
    assert res.fit_measures["df"] == 24
    assert res.fit_measures["ntotal"] == len(res.cfa_index)
    assert "CFI" in res.summary()


def test_malformed_tables_raise_only_psychometrics_errors():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    cell = st.one_of(st.none(), st.integers(-3, 9), st.floats(allow_nan=True, allow_infinity=True),
                     st.sampled_from(["", "x", "3", "۳", " "]))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 12), st.integers(0, 5), st.data())
    def run(n, p, data):
        rows = [[data.draw(cell) for _ in range(p)] for _ in range(n)]
        df = pd.DataFrame(rows, columns=[f"i{j}" for j in range(p)])
        for fn in (pm.kmo, pm.bartlett, lambda d: pm.efa(d, 1), pm.map_test,
                   lambda d: pm.parallel_analysis(d, n_iter=3, seed=1)):
            try:
                fn(df)
            except PsychometricsError:
                pass

    run()


# ------------------------------------------------------------------ non-graphical scree tests

@pytest.mark.parametrize("key", list(REF["scree"]))
def test_scree_criteria_match_nfactors(key):
    ref = REF["scree"][key]
    ap = None if ref["aparallel"] is None or not isinstance(ref["aparallel"], list) else ref["aparallel"]
    out = E.scree_criteria(ref["eig"], ap)
    assert out["noc"] == ref["noc"] and out["naf"] == ref["naf"]
    # jsonlite writes R's NA in these columns as the string "NA"
    want_pred = np.array([np.nan if v in (None, "NA") else v for v in ref["pred_eig"]], dtype=float)
    want_af = np.array([np.nan if v in (None, "NA") else v for v in ref["af"]], dtype=float)
    assert np.array_equal(np.isnan(out["pred_eig"]), np.isnan(want_pred))
    assert np.allclose(out["pred_eig"], want_pred, rtol=1e-10, equal_nan=True)
    assert np.allclose(out["af"], want_af, rtol=1e-10, equal_nan=True)


def test_dimensionality_includes_scree_rows():
    d = pm.dimensionality(HS, seed=1, n_iter=20)
    t = d.table.set_index("criterion")["suggested"]
    assert t["Scree, optimal coordinates"] == E.scree_criteria(d.eigenvalues, d.parallel.sim_pc_quantile)["noc"]
    assert "Scree, acceleration factor" in t.index
