"""Screening against psych 2.2.9 / base R / robustbase (tests/reference/make_screening.R)."""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.errors import DataError, PsychometricsError, PsychometricsWarning
from psychometrics.screening import describe, missingness, em_mvn

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "screening.json").read_text())
BFI = pd.read_csv(HERE / "data" / "bfi.csv").set_index("id")
HS = pd.read_csv(HERE / "data" / "hs1939.csv").set_index("id")
ITEMS = BFI.iloc[:, :25]
HSX = HS[[f"x{i}" for i in range(1, 10)]]
A = ["A1", "A2", "A3", "A4", "A5"]


def close(a, b, rtol=1e-4, atol=1e-10):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


@pytest.mark.parametrize("key,data", [("describe_bfi", ITEMS), ("describe_hs", HSX)])
def test_describe_matches_psych(key, data):
    ref = REF[key]
    d = describe(data)
    assert list(d.index) == ref["items"]
    for col in ("n", "mean", "sd", "median", "trimmed", "mad", "skew", "kurtosis", "se"):
        close(d[col], ref[col])
    if "range" in ref:
        close(d["range"], ref["range"])
        close(d["min"], ref["min"])


def test_floor_ceiling_use_response_range():
    d = describe(ITEMS[A], min=1, max=6)
    for c in A:
        x = ITEMS[c].dropna()
        assert d.loc[c, "floor_pct"] == pytest.approx(100 * (x == 1).mean())
        assert d.loc[c, "ceiling_pct"] == pytest.approx(100 * (x == 6).mean())
    # a range wider than the data: nobody at the floor
    assert (describe(ITEMS[A], min=0, max=7)[["floor_pct", "ceiling_pct"]] == 0).all().all()


@pytest.mark.parametrize("key,cols", [("mardia_bfi", list(ITEMS.columns)), ("mardia_bfi_A", A),
                                      ("mardia_hs", list(HSX.columns))])
def test_mardia_matches_psych(key, cols):
    ref = REF[key]
    data = HSX if key == "mardia_hs" else ITEMS[cols]
    m = pm.mardia(data)
    assert (m.n_obs, m.n_var) == (ref["n_obs"], ref["n_var"])
    for f in ("b1p", "b2p", "skew", "small_skew", "kurtosis"):
        close(getattr(m, f), ref[f])
    # psych computes p_kurt as 2 * (1 - pnorm(|z|)), which underflows to 0 below ~1e-16;
    # the suite uses the upper tail directly, hence the absolute tolerance 1e-15.
    for f in ("p_skew", "p_small", "p_kurt"):
        close(getattr(m, f), ref[f], rtol=1e-4, atol=1e-15)
    close(m.d.iloc[:20], ref["d_head"])


@pytest.mark.parametrize("key,cols", [("little_bfi", list(ITEMS.columns)), ("little_bfi_A", A),
                                      ("little_bfi_NO", [f"N{i}" for i in range(1, 6)]
                                       + [f"O{i}" for i in range(1, 6)])])
def test_little_mcar_matches_reference(key, cols):
    ref = REF[key]
    r = pm.little_mcar(ITEMS[cols])
    assert r.df == ref["df"] and r.n_patterns == ref["n_patterns"] and r.n == ref["n"]
    close(r.statistic, ref["statistic"])
    close(r.pvalue, ref["pvalue"], atol=1e-300)
    close(r.mean, ref["mu"], rtol=1e-8)
    close(np.diag(r.cov), ref["cov_diag"], rtol=1e-8)
    assert r.em_converged


def test_em_complete_data_is_ml_moments():
    x = HSX.to_numpy()
    mu, sigma, _, conv = em_mvn(x)
    assert conv
    close(mu, x.mean(axis=0), rtol=1e-12)
    close(sigma, np.cov(x, rowvar=False, ddof=0), rtol=1e-12)


def test_little_without_missing_data_is_undefined_and_warns():
    with pytest.warns(PsychometricsWarning, match="undefined"):
        r = pm.little_mcar(HSX)
    assert r.df == 0 and np.isnan(r.pvalue) and r.warnings


def test_little_detects_mar_missingness():
    rng = np.random.default_rng(3)
    x = rng.multivariate_normal([0, 0, 0], [[1, .6, .5], [.6, 1, .4], [.5, .4, 1]], size=600)
    x[x[:, 0] > 0.5, 1] = np.nan     # missingness of item 2 depends on item 1: not MCAR
    r = pm.little_mcar(pd.DataFrame(x))
    assert r.pvalue < 1e-6
    y = rng.multivariate_normal([0, 0, 0], np.eye(3), size=600)
    y[rng.random(600) < 0.2, 1] = np.nan   # completely at random
    assert pm.little_mcar(pd.DataFrame(y)).pvalue > 1e-4


@pytest.mark.parametrize("key,data", [("mahal_hs", HSX), ("mahal_bfi_A", ITEMS[A])])
def test_classical_mahalanobis_matches_r(key, data):
    ref = REF[key]
    o = pm.mahalanobis_outliers(data, alpha=0.001)
    assert list(o.distances.index) == ref["ids"]
    close(o.distances, ref["d2"], rtol=1e-8)
    close(o.cutoff, ref["cutoff"], rtol=1e-10)
    expected = {i for i, d in zip(ref["ids"], ref["d2"]) if d > ref["cutoff"]}
    assert set(o.outliers) == expected
    assert list(o.distances.loc[o.outliers]) == sorted(o.distances.loc[o.outliers], reverse=True)


def test_mcd_close_to_robustbase_and_seeded():
    ref = REF["mcd_hs"]
    o = pm.mahalanobis_outliers(HSX, method="mcd", seed=7)
    # FastMCD draws random subsets (scikit-learn and robustbase differ in the draws and in
    # the small-sample correction), so only the robust centre and the ordering of the
    # distances are compared, loosely.
    close(o.center, ref["center"], rtol=0.05)
    rho = pd.Series(o.distances.to_numpy()).corr(pd.Series(ref["d2"]), method="spearman")
    assert rho > 0.95
    again = pm.mahalanobis_outliers(HSX, method="mcd", seed=7)
    pd.testing.assert_series_equal(o.distances, again.distances)
    assert o.seed == 7


def test_mcd_finds_planted_outliers_that_mask_the_classical_one():
    rng = np.random.default_rng(11)
    x = rng.multivariate_normal(np.zeros(4), np.eye(4) * 0.5 + 0.5, size=300)
    x[:15] = rng.normal(6, 0.3, size=(15, 4)) * np.array([1, -1, 1, -1])
    df = pd.DataFrame(x, index=[f"c{i}" for i in range(300)])
    mcd = pm.mahalanobis_outliers(df, method="mcd", seed=1)
    assert {f"c{i}" for i in range(15)} <= set(mcd.outliers)


def test_singular_covariance_is_recorded_not_raised():
    df = ITEMS[A].dropna().copy()
    df["A6"] = df["A1"] + df["A2"]
    with pytest.warns(PsychometricsWarning):
        m = pm.mardia(df)
    assert np.isnan(m.b1p) and m.warnings
    with pytest.warns(PsychometricsWarning):
        o = pm.mahalanobis_outliers(df)
    assert o.outliers == [] and o.warnings


def test_screen_bundles_everything_and_serialises():
    inst = pm.load_instrument("csq8")
    rng = np.random.default_rng(5)
    data = pd.DataFrame(rng.integers(1, 5, size=(120, 8)).astype(float),
                        columns=[f"csq_{i}" for i in range(1, 9)])
    data.iloc[3, 2] = np.nan
    data.iloc[7, 5] = np.nan
    r = pm.screen(data, inst, seed=3)
    assert r.instrument == "csq8"
    assert r.item_missing.loc["csq_3", "n_missing"] == 1
    assert r.case_missing["n_missing"].sum() == 2
    assert r.missing.n_complete == 118
    assert set(r.outliers) == {"classical", "mcd"}
    t = r.to_frame()
    assert {"mean", "skew", "floor_pct", "pct_missing"} <= set(t.columns)
    json.dumps(r.to_dict())
    assert "Little's MCAR" in r.summary()


def test_screen_on_dataset():
    ds = pm.load_dataset(HERE.parent / "examples" / "study.yaml")
    r = pm.screen(ds, "wai_sr", robust=False)
    assert list(r.descriptives.index) == ds.study.item_columns("wai_sr")
    assert r.descriptives["max"].max() <= 5
    json.dumps(r.to_dict())


def test_missingness_patterns():
    m = missingness(ITEMS[A])
    assert m.patterns["n_cases"].sum() == len(ITEMS)
    assert m.n_complete == int(ITEMS[A].notna().all(axis=1).sum())
    assert m.case_distribution.sum() == len(ITEMS)


def test_non_numeric_items_raise_suite_error():
    bad = ITEMS[A].head(10).astype(object)
    bad.iloc[2, 1] = "abc"
    with pytest.raises(DataError, match="abc"):
        pm.screen(bad)
    with pytest.raises(PsychometricsError):
        pm.mahalanobis_outliers(ITEMS[A], method="robust")


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=3, max_size=3),
                min_size=0, max_size=25))
def test_random_item_tables_never_crash(rows):
    df = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=float) if rows else \
        pd.DataFrame(columns=["a", "b", "c"], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        r = pm.screen(df, min=1, max=5, robust=False)   # MCD: see the degenerate-data test
    json.dumps(r.to_dict())
    for o in r.outliers.values():
        assert set(o.outliers) <= set(df.index)


def test_little_mcar_airquality_matches_naniar():
    aq = REF["airquality"]
    df = pd.DataFrame({k: [np.nan if v is None else v for v in vals]
                       for k, vals in aq["data"].items()})
    r = pm.little_mcar(df)
    ref = aq["little"]
    assert (r.df, r.n_patterns, r.n) == (ref["df"], ref["n_patterns"], ref["n"])
    close(r.statistic, ref["statistic"])
    close(r.pvalue, ref["pvalue"])
    # naniar::mcar_test (norm::em.norm, stopped at its default convergence criterion) reports
    # 35.1061288689702 and p = 0.00141778113856683 in its own tests: agreement to ~1e-6.
    close(r.statistic, 35.1061288689702, rtol=1e-5)
    close(r.pvalue, 0.00141778113856683, rtol=1e-4)   # p is more sensitive than d2


@pytest.mark.parametrize("rows", [[[1, 2, 3]] * 30 + [[2, 3, 4], [5, 1, 2]],   # mostly identical
                                  [[1, 2, 3], [2, 3, 1], [3, 1, 2]],            # too few cases
                                  [[1, 1, 2], [2, 2, 3], [3, 3, 1], [4, 4, 5], [5, 5, 4]] * 3])
def test_mcd_degenerate_data_is_recorded_not_raised(rows):
    df = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        o = pm.mahalanobis_outliers(df, method="mcd", seed=1)
    if o.warnings:
        assert any(issubclass(w.category, PsychometricsWarning) for w in caught)
    else:
        assert np.isfinite(o.distances).all()
    json.dumps(o.to_dict())
