"""Rotations, principal components, factor scores and correlation-matrix input of
psychometrics/efa/ against GPArotation 2022.10-2 and psych 2.2.9 (tests/reference/efa2.json,
written by tests/reference/make_efa2.R on the HS1939 and bfi data).

Tolerances.  The rotation algorithms are GPArotation's (same start, steps and stopping rule),
so rotating R's own unrotated loadings reproduces GPArotation to ~1e-14; the tests use 1e-10.
Rotation criteria have local optima: the identity start, which psych::fa uses, reaches the
same optimum in both.  Through the whole ``pm.efa`` path the loadings also carry the minres
extraction's difference from psych (psych's optim stops earlier than ours: ~1e-5 relative,
see tests/test_efa.py), so those comparisons use 1e-4 relative to the largest loading.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.efa import rotate
from psychometrics.errors import DataError, PsychometricsError, PsychometricsWarning

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "efa2.json").read_text())
HS = pd.read_csv(HERE / "data" / "hs1939.csv")[[f"x{i}" for i in range(1, 10)]]
BFI = pd.read_csv(HERE / "data" / "bfi.csv")[REF["bfi"]["items"]]
DATA = {"hs1939": (HS, 3), "bfi": (BFI, 5)}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        yield


def arr(x):
    return np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)


def rel_max(a, b):
    """Largest absolute difference relative to the largest reference value."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


GPA_CASES = {
    "quartimax": ("quartimax", {}), "equamax": ("equamax", {}), "bentlerT": ("bentlerT", {}),
    "bentlerQ": ("bentlerQ", {}), "geominT": ("geominT", {}), "geominQ": ("geominQ", {}),
    "geominQ_delta05": ("geominQ", {"delta": 0.05}), "geominT_delta05": ("geominT", {"delta": 0.05}),
    "oblimin": ("oblimin", {}), "oblimin_gamma05": ("oblimin", {"gamma": 0.5}),
    "oblimin_gamma_m1": ("oblimin", {"gamma": -1.0}), "simplimax": ("simplimax", {}),
    "targetT": ("targetT", "full"), "targetQ": ("targetQ", "full"), "targetQ_na": ("targetQ", "na"),
    "pstT": ("pstT", "na"), "pstQ": ("pstQ", "na"),
}


@pytest.mark.parametrize("data", ["hs1939", "bfi"])
@pytest.mark.parametrize("case", sorted(GPA_CASES))
def test_rotation_matches_gparotation(data, case):
    g = REF[data]["gpa"]
    rot, kw = GPA_CASES[case]
    if kw == "full":
        kw = {"target": np.array(g["target"], float)}
    elif kw == "na":   # NaN = unspecified (pst: W = 1 where specified, GPArotation's W)
        kw = {"target": arr(g["pst_target"])}
    L0 = np.array(REF[data]["unrotated"])
    z, phi, conv = rotate(L0, rot, [], **kw)
    ref = g[case]
    phi = np.eye(L0.shape[1]) if phi is None else phi
    assert conv == ref["converged"]     # bfi simplimax: neither converges in 1000 iterations
    assert np.max(np.abs(z - np.array(ref["loadings"]))) < 1e-10
    assert np.max(np.abs(phi - np.array(ref["phi"]))) < 1e-10


def test_oblimax_matches_gparotation_and_is_flagged_degenerate():
    # oblique oblimax runs away on both data sets in GPArotation too: the factor correlations
    # become singular and the loadings unbounded (|a| ~ 1e4 for bfi, 7.5e5 for HS1939); the
    # matrices then differ by rounding amplified by cond(Phi) ~ 1e9 / 4e12, so the check is
    # relative to the largest loading: 1e-6 (bfi) and Phi to 1e-8.
    for data, tol in (("bfi", 1e-6), ("hs1939", 2e-3)):
        L0 = np.array(REF[data]["unrotated"])
        z, phi, _conv = rotate(L0, "oblimax", [])
        ref = REF[data]["gpa"]["oblimax"]
        assert rel_max(z, ref["loadings"]) < tol
        assert np.max(np.abs(phi - np.array(ref["phi"]))) < 1e-8
    res = pm.efa(HS, 3, rotation="oblimax")
    assert any("degenerate" in w for w in res.warnings)


@pytest.mark.parametrize("data", ["hs1939", "bfi"])
@pytest.mark.parametrize("rot", ["quartimax", "equamax", "bentlerT", "bentlerQ", "geominT",
                                 "geominQ", "simplimax"])
def test_efa_rotations_match_psych_fa(data, rot):
    x, k = DATA[data]
    ref = REF[data]["fa"][rot]
    res = pm.efa(x, k, rotation=rot)
    # psych's sign and order of the factors, and the whole result, within the extraction's 1e-4
    assert rel_max(res.loadings, ref["loadings"]) < 1e-4
    assert rel_max(res.phi, ref["phi"]) < 1e-4
    assert rel_max(res.variance.to_numpy(), ref["vaccounted"]) < 1e-4
    assert rel_max(res.communalities, ref["communality"]) < 1e-4
    assert res.oblique == (rot in ("bentlerQ", "geominQ", "simplimax"))
    assert res.rotation_converged == (not (data == "bfi" and rot == "simplimax"))
    json.dumps(res.to_dict())


def test_rotation_options_are_checked():
    with pytest.raises(PsychometricsError, match="target matrix"):
        pm.efa(HS, 3, rotation="targetQ")
    with pytest.raises(PsychometricsError, match="gamma applies"):
        pm.efa(HS, 3, rotation="varimax", gamma=0.5)
    with pytest.raises(PsychometricsError, match="needs rotation="):
        pm.efa(HS, 3, rotation="oblimin", target=np.zeros((9, 3)))
    with pytest.raises(PsychometricsError, match="9 items x 3 factors"):
        pm.efa(HS, 3, rotation="targetQ", target=np.zeros((9, 2)))
    with pytest.raises(PsychometricsError, match="delta"):
        pm.efa(HS, 3, rotation="geominQ", delta=0)
    with pytest.raises(PsychometricsError, match="no row for item"):
        pm.efa(HS, 3, rotation="targetQ", target=pd.DataFrame(np.zeros((8, 3)), index=HS.columns[:8]))
    with pytest.raises(PsychometricsError, match="not supported"):
        pm.efa(HS, 3, rotation="varimin")


def test_target_rotation_keeps_the_targets_columns():
    tgt = pd.DataFrame(np.array(REF["hs1939"]["gpa"]["target"], float), index=HS.columns,
                       columns=["visual", "textual", "speed"])
    res = pm.efa(HS, 3, rotation="targetQ", target=tgt.iloc[::-1])    # rows aligned by name
    assert list(res.loadings.columns) == ["visual", "textual", "speed"]
    # the loadings are GPArotation's targetQ of the (here our own) unrotated minres loadings
    L0 = pm.efa(HS, 3, rotation="none").loadings.to_numpy()
    z, _phi, _c = rotate(L0, "targetQ", [], target=tgt.to_numpy())
    assert np.max(np.abs(res.loadings.to_numpy() - z)) < 1e-12
    assert res.loadings.loc["x1", "visual"] > 0.5 and res.loadings.loc["x5", "textual"] > 0.7
    t = res.to_dict()["rotation_options"]["target"]
    assert t["columns"] == ["visual", "textual", "speed"] and t["index"][0] == "x9"


# ------------------------------------------------------------------ principal components

@pytest.mark.parametrize("data", ["hs1939", "bfi"])
@pytest.mark.parametrize("rot", ["none", "varimax", "quartimax", "oblimin", "promax"])
def test_principal_matches_psych(data, rot):
    x, k = DATA[data]
    ref = REF[data]["principal"][rot]
    res = pm.principal(x, k, rotation=rot)
    # components are eigenvectors and the rotations exact: 1e-10
    assert np.max(np.abs(res.loadings.to_numpy() - np.array(ref["loadings"]))) < 1e-10
    assert np.max(np.abs(res.phi.to_numpy() - np.array(ref["phi"]))) < 1e-10
    assert list(res.loadings.columns) == ref["names"]
    assert np.max(np.abs(res.variance.to_numpy() - np.array(ref["vaccounted"]))) < 1e-10
    assert np.max(np.abs(res.communalities.to_numpy() - ref["communality"])) < 1e-10
    assert np.max(np.abs(res.eigenvalues - ref["values"])) < 1e-10
    w = pm.factor_scores(x, res, "regression").weights      # psych::principal's weights
    assert np.max(np.abs(w.to_numpy() - np.array(ref["weights"]))) < 1e-10
    assert res.method == "pc"


# ------------------------------------------------------------------ factor scores

SCORE = {"Thurstone": "regression", "tenBerge": "tenberge", "Anderson": "anderson",
         "Bartlett": "bartlett"}


@pytest.mark.parametrize("data", ["hs1939", "bfi"])
@pytest.mark.parametrize("rot", ["oblimin", "varimax"])
@pytest.mark.parametrize("method", sorted(SCORE))
def test_factor_scores_match_psych(data, rot, method):
    x, k = DATA[data]
    ref = REF[data]["scores"][f"{rot}_{method}"]
    # psych's own loadings: the score formulas alone, to 1e-10
    L = pd.DataFrame(ref["loadings"], index=x.columns)
    s = pm.factor_scores(x, L, SCORE[method], phi=np.array(ref["phi"]),
                         correlation=pm.efa(x, k).correlation)
    assert np.max(np.abs(s.weights.to_numpy() - np.array(ref["weights"]))) < 1e-10
    r2 = np.array([np.nan if v is None else v for v in ref["R2"]], float)
    if method == "Bartlett":
        # diag(W'S) = diag(Phi) = 1 exactly for Bartlett weights; psych blanks the values that
        # rounding puts a hair above 1 (NA), we keep them
        assert np.allclose(s.r2.to_numpy(), 1.0, rtol=0, atol=1e-10)
        r2 = np.where(np.isnan(r2), 1.0, r2)
    assert np.allclose(s.r2.to_numpy(), r2, rtol=1e-10, atol=0, equal_nan=True)
    assert np.max(np.abs(s.r_scores.to_numpy() - np.array(ref["r_scores"]))) < 1e-10
    head = s.scores.to_numpy()[:20]
    assert np.allclose(head, arr(ref["scores_head"]), rtol=1e-9, atol=1e-10, equal_nan=True)
    assert len(x) - s.n_scored == ref["scores_na"]          # bfi: 364 cases with a missing item
    # through pm.efa: the extraction's ~1e-5 difference (module docstring)
    s2 = pm.factor_scores(x, pm.efa(x, k, rotation=rot), SCORE[method])
    assert rel_max(s2.weights, ref["weights"]) < 1e-4
    json.dumps(s2.to_dict())


def test_determinacy():
    res = pm.efa(HS, 3)
    s = pm.factor_scores(HS, res, "regression")
    assert np.allclose(s.determinacy ** 2, s.r2)                 # regression: R2 is the SMC
    assert np.allclose(s.min_correlation, 2 * s.r2 - 1)
    assert np.allclose(s.validity, s.determinacy)                # regression scores' validity
    b = pm.factor_scores(HS, res, "bartlett")
    assert np.all(b.validity < s.validity + 1e-12)               # regression scores are most valid
    assert np.allclose(b.determinacy, s.determinacy)
    ab = pm.factor_scores(HS, pm.efa(HS, 3, rotation="varimax"), "anderson")
    sc = ab.scores.to_numpy()
    assert np.allclose(np.corrcoef(sc.T), np.eye(3), atol=1e-10)   # uncorrelated, unit variance
    with pytest.raises(PsychometricsError, match="factor score method"):
        pm.factor_scores(HS, res, "ols")
    with pytest.raises(DataError, match="not in the data"):
        pm.factor_scores(HS.drop(columns="x1"), res)


# ------------------------------------------------------------------ correlation matrix input

@pytest.mark.parametrize("key", ["n301", "n500"])
def test_efa_of_a_correlation_matrix(key):
    ref = REF["cor_input"][key]
    R = pd.DataFrame(REF["cor_input"]["r"], index=HS.columns, columns=HS.columns)
    res = pm.efa(R, 3, n_obs=ref["n_obs"])
    assert res.n_obs == ref["n_obs"]
    assert rel_max(res.loadings, ref["loadings"]) < 1e-4
    for stat in ("chisq", "tli", "rmsea", "bic", "rms", "objective"):
        assert abs(res.fit[stat] - ref["stats"][stat]) / abs(ref["stats"][stat]) < 1e-4, stat
    # the same matrix as raw data gives the same solution when n_obs is the data's N
    if ref["n_obs"] == 301:
        raw = pm.efa(HS, 3)
        assert np.max(np.abs(raw.loadings.to_numpy() - res.loadings.to_numpy())) < 1e-10
    # a covariance matrix is rescaled
    cov = pd.DataFrame(HS.cov().to_numpy(), index=HS.columns, columns=HS.columns)
    rc = pm.efa(cov, 3, n_obs=ref["n_obs"])
    assert np.max(np.abs(rc.loadings.to_numpy() - res.loadings.to_numpy())) < 1e-8
    assert any("covariance" in w for w in rc.warnings)


def test_ml_efa_of_a_correlation_matrix():
    R = np.array(REF["cor_input"]["r"])
    res = pm.efa(R, 3, method="ml", rotation="varimax", n_obs=301)
    assert rel_max(res.loadings, REF["cor_input"]["ml_varimax"]["loadings"]) < 1e-4
    assert list(res.loadings.index) == [f"V{i}" for i in range(1, 10)]


def test_bad_correlation_matrices():
    R = np.array(REF["cor_input"]["r"])
    with pytest.raises(PsychometricsError, match="n_obs"):
        pm.efa(R, 3, n_obs=0)
    bad = R.copy()
    bad[0, 1] = 0.9
    with pytest.raises(DataError, match="not symmetric"):
        pm.efa(bad, 3, n_obs=301)
    with pytest.raises(DataError, match="square"):
        pm.efa(R[:, :8], 3, n_obs=301)
    bad = R.copy()
    bad[2, 2] = 0.0
    with pytest.raises(DataError, match="variances must be positive"):
        pm.efa(bad, 3, n_obs=301)
    bad = R * 1.0
    bad[0, 1] = bad[1, 0] = np.nan
    with pytest.raises(DataError, match="not a number"):
        pm.efa(bad, 3, n_obs=301)
