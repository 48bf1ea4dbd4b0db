"""Reliability checked against psych 2.2.9 / semTools 0.5-6 (tests/reference/make_reliability.R)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics import reliability as rel
from psychometrics.errors import DataError, PsychometricsError, PsychometricsWarning

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "reliability.json").read_text())
BFI = pd.read_csv(HERE / "data" / "bfi.csv")
HS = pd.read_csv(HERE / "data" / "hs1939.csv")


def _data(items):
    return (HS if items[0].startswith("x") else BFI)[items]


def _close(a, b, rtol, atol=0.0):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=atol)


# ---------------------------------------------------------------- alpha

ALPHA_CASES = sorted(REF["alpha"])


@pytest.mark.parametrize("case", ALPHA_CASES)
def test_alpha_matches_psych(case):
    c = REF["alpha"][case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = pm.alpha(_data(c["items"]), keys=c["keys"] or None)
    # closed-form statistics on the same pairwise matrices: agree to rounding
    tol = 1e-10
    _close(a.estimate, c["raw_alpha"], tol)
    _close(a.std_alpha, c["std_alpha"], tol)
    _close(a.G6, c["G6"], tol)
    _close(a.average_r, c["average_r"], tol)
    _close(a.s_n, c["s_n"], tol)
    _close(a.ase, c["ase"], tol)
    _close(a.mean, c["mean"], tol)
    _close(a.sd, c["sd"], tol)
    _close(a.median_r, c["median_r"], tol)
    _close(a.ci_feldt, [c["feldt_lower"], c["feldt_upper"]], 1e-8)
    assert a.ci == a.ci_feldt and a.ci_method == "Feldt"
    it = a.items
    assert list(it.index) == c["items"]
    for ours, theirs in [("n", "item_n"), ("raw_r", "raw_r"), ("std_r", "std_r"),
                         ("r_cor", "r_cor"), ("r_drop", "r_drop"), ("mean", "item_mean"),
                         ("sd", "item_sd"), ("alpha_if_deleted", "drop_raw_alpha"),
                         ("std_alpha_if_deleted", "drop_std_alpha"), ("G6_if_deleted", "drop_G6"),
                         ("average_r_if_deleted", "drop_average_r"),
                         ("alpha_se_if_deleted", "drop_alpha_se"),
                         ("var_r_if_deleted", "drop_var_r"), ("med_r_if_deleted", "drop_med_r")]:
        _close(it[ours], c[theirs], tol)


def test_item_analysis_is_alpha_item_table():
    items = BFI[[f"C{i}" for i in range(1, 6)]]
    tab = pm.item_analysis(items, keys=["C4", "C5"])
    pd.testing.assert_frame_equal(tab, pm.alpha(items, keys=["C4", "C5"]).items)
    assert list(tab["key"]) == [1, 1, 1, -1, -1]


def test_keys_forms_agree():
    items = BFI[[f"A{i}" for i in range(1, 6)]]
    a1 = pm.alpha(items, keys=["A1"]).estimate
    a2 = pm.alpha(items, keys=[-1, 1, 1, 1, 1]).estimate
    a3 = pm.alpha(items, keys={"A1": -1}).estimate
    a4 = pm.alpha(items.assign(A1=7 - items["A1"])).estimate  # observed range 1..6
    assert a1 == pytest.approx(a2, rel=1e-12) == pytest.approx(a3, rel=1e-12)
    assert a1 == pytest.approx(a4, rel=1e-12)


def test_negative_item_is_reported():
    items = BFI[[f"A{i}" for i in range(1, 6)]]
    with pytest.warns(PsychometricsWarning, match="A1"):
        a = pm.alpha(items)
    assert any("A1" in w for w in a.warnings)


def test_alpha_bootstrap_matches_naive_loop_and_is_seeded():
    items = HS[[f"x{i}" for i in range(1, 10)]].copy()
    items.iloc[::7, 2] = np.nan  # exercise the pairwise path
    n_boot = 40
    a = pm.alpha(items, n_boot=n_boot, seed=11, level=0.9)
    assert a.ci_method == "bootstrap percentile" and a.ci == a.ci_boot
    assert pm.alpha(items, n_boot=n_boot, seed=11, level=0.9).ci_boot == a.ci_boot
    assert pm.alpha(items, n_boot=n_boot, seed=12, level=0.9).ci_boot != a.ci_boot
    # the same resamples, one at a time, with pandas' pairwise covariance
    idx = np.random.default_rng(11).integers(0, len(items), size=(n_boot, len(items)))
    reps = []
    for row in idx:
        c = items.iloc[row].cov().to_numpy()
        p = c.shape[0]
        reps.append((1 - np.trace(c) / c.sum()) * p / (p - 1))
    _close(a.ci_boot, np.quantile(reps, [0.05, 0.95]), 1e-10)
    assert a.ci_boot[0] < a.estimate < a.ci_boot[1]


def test_alpha_to_dict_is_json():
    a = pm.alpha(BFI[[f"N{i}" for i in range(1, 6)]])
    d = json.loads(json.dumps(a.to_dict()))
    assert d["estimate"] == pytest.approx(a.estimate)
    assert d["items"]["index"] == [f"N{i}" for i in range(1, 6)]
    assert "alpha" in a.summary().lower()


# ---------------------------------------------------------------- omega

OMEGA_CASES = sorted(REF["omega"])


@pytest.mark.parametrize("case", OMEGA_CASES)
def test_omega_matches_psych(case):
    c = REF["omega"][case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = pm.omega(_data(c["items"]), n_groups=c["n_groups"], keys=c.get("keys") or None)
    # omega_total, alpha and G6 depend only on R and the minres communalities;
    # psych stops its optimiser (optim L-BFGS-B, factr 1e7) and GPArotation
    # its rotation (eps 1e-5) early, so quantities downstream of them agree
    # to ~1e-5 relative, not to rounding: tolerance 1e-4 relative as the issue asks.
    _close(o.omega_total, c["omega_tot"], 1e-4)
    _close(o.alpha, c["alpha"], 1e-10)
    _close(o.G6, c["G6"], 1e-10)
    _close(o.loadings["h2"], c["h2"], 1e-4)
    _close(o.loadings["u2"], c["u2"], 1e-4, atol=1e-5)
    assert list(o.key) == c["key"]
    # loadings (absolute, 1e-4: the optimisers' precision, see above)
    _close(o.loadings["g"], c["g_loadings"], 0, atol=1e-4)
    if c["n_groups"] == 1:
        assert o.omega_hierarchical is None
        return
    _close(o.omega_hierarchical, c["omega_h"], 1e-4)
    _close(o.omega_limit, c["omega_lim"], 1e-4)
    _close(o.ECV, c["ECV"], 1e-4)
    # psych's omega.group; group factors may come out in another order
    ours = o.group_omega.to_numpy()
    theirs = np.column_stack([c["group_total"], c["group_general"], c["group_group"]])
    _close(ours[0, :2], theirs[0, :2], 1e-4)
    _close(ours[0, 2], theirs[0, 2], 1e-4)
    order = lambda m: m[1:][np.argsort(m[1:, 0])]
    _close(order(ours), order(theirs), 1e-4)


def test_omega_hierarchical_not_above_total():
    o = pm.omega(BFI.iloc[:, 1:26], n_groups=5)
    assert 0 < o.omega_hierarchical < o.omega_total < 1
    assert o.loadings.shape == (25, 1 + 5 + 3)
    assert o.phi.shape == (5, 5) and np.allclose(np.diag(o.phi), 1)
    json.dumps(o.to_dict())
    assert "observed" in o.denominator


def test_omega_bootstrap_matches_naive_loop_and_is_seeded():
    items = BFI[[f"N{i}" for i in range(1, 6)]]
    n_boot = 8
    o = pm.omega(items, n_boot=n_boot, seed=3)
    assert set(o.ci) == {"omega_total", "alpha", "G6"}
    idx = np.random.default_rng(3).integers(0, len(items), size=(n_boot, len(items)))
    reps = [pm.omega(items.iloc[row]).omega_total for row in idx]
    _close(o.ci["omega_total"], np.quantile(reps, [0.025, 0.975]), 1e-6)
    assert pm.omega(items, n_boot=n_boot, seed=3).ci == o.ci


def test_omega_two_groups_bootstrap_has_omega_h():
    items = HS[[f"x{i}" for i in range(1, 10)]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = pm.omega(items, n_groups=3, n_boot=5, seed=1)
    lo, hi = o.ci["omega_hierarchical"]
    assert 0 < lo <= hi < 1


# ---------------------------------------------------------------- bad input

def test_non_numeric_cell_is_named():
    items = BFI[[f"C{i}" for i in range(1, 6)]].head(50).copy().astype(object)
    items.loc[items.index[3], "C2"] = "four"
    with pytest.raises(DataError) as e:
        pm.alpha(items)
    msg = str(e.value)
    assert "C2" in msg and "'four'" in msg and "row 3" in msg


@pytest.mark.parametrize("bad, text", [
    (lambda d: d.assign(C3=2.0), "no variance"),
    (lambda d: d[["C1"]], "at least 2"),
    (lambda d: d.assign(C3=np.nan), "non-missing"),
])
def test_bad_items_raise_clear_errors(bad, text):
    items = BFI[[f"C{i}" for i in range(1, 6)]]
    with pytest.raises(PsychometricsError, match=text):
        pm.alpha(bad(items))


def test_bad_arguments():
    items = BFI[[f"C{i}" for i in range(1, 6)]]
    with pytest.raises(PsychometricsError, match="C9"):
        pm.alpha(items, keys=["C9"])
    with pytest.raises(PsychometricsError, match="n_groups"):
        pm.omega(items, n_groups=0)
    with pytest.raises(PsychometricsError, match="items"):
        pm.omega(items, n_groups=3)
    with pytest.raises(PsychometricsError, match="DataFrame"):
        pm.alpha([[1, 2], [3, 4]])


# ---------------------------------------------------------------- compRelSEM

CRS_CASES = sorted(REF["comp_rel_sem"])


# (in the second-order model lavaan's psi is the residual factor covariance, not
# cov.lv, so that case is checked end to end only)
@pytest.mark.parametrize("case", [k for k in CRS_CASES if not REF["comp_rel_sem"][k]["higher"]])
def test_composite_reliability_formula_on_lavaan_estimates(case):
    """The compRelSEM formula applied to lavaan's own estimates reproduces semTools."""
    c = REF["comp_rel_sem"][case]
    lam, psi = np.array(c["lambda"], dtype=float), np.array(c["psi"], dtype=float)
    if lam.ndim == 1:
        lam = lam[:, None]
    psi = np.atleast_2d(psi)
    obs = rel.composite_reliability(lam, psi, np.array(c["sample_cov"]), c["factors"])
    mod = rel.composite_reliability(lam, psi, np.array(c["implied_cov"]), c["factors"])
    _close(obs, np.atleast_1d(c["omega_obs"]), 1e-10)
    _close(mod, np.atleast_1d(c["omega_model"]), 1e-10)


def _engine():
    try:
        return pm.cfa
    except (AttributeError, ImportError) as e:  # the SEM engine is developed in parallel
        pytest.skip(f"SEM engine not available: {e}")


@pytest.mark.parametrize("case", CRS_CASES)
def test_comp_rel_sem_with_engine_matches_semtools(case):
    cfa = _engine()
    c = REF["comp_rel_sem"][case]
    data = BFI.copy() if c["indicators"][0][0] != "x" else HS
    if case == "bfi_C_1f":
        for k in ("C4", "C5"):
            data[k] = 7 - data[k]
    try:
        fit = cfa(c["model"], data, missing=c["missing"])
    except pm.ModelError as e:
        if "not available" in str(e):  # e.g. FIML while the engine is being built
            pytest.skip(str(e))
        raise
    obs = pm.comp_rel_sem(fit)
    mod = pm.comp_rel_sem(fit, obs_var=False)
    # ML estimates agree with lavaan to ~1e-6; omega inherits that: 1e-4 relative
    _close(obs.estimates, np.atleast_1d(c["omega_obs"]), 1e-4)
    _close(mod.estimates, np.atleast_1d(c["omega_model"]), 1e-4)
    assert obs.denominator == "observed" and mod.denominator == "model-implied"
    _close(pm.comp_rel_sem(fit, tau_eq=True).estimates, np.atleast_1d(c["alpha_tau_eq"]), 1e-10)
    if len(c["factors"]) > 1:
        higher = [c["higher"]] if isinstance(c["higher"], str) else []
        tot = pm.comp_rel_sem(fit, return_total=True, higher=higher)
        _close(tot["total"], c["total_obs"], 1e-4)
        _close(pm.comp_rel_sem(fit, obs_var=False, return_total=True).estimates["total"],
               c["total_model"], 1e-4)
        for h in higher:
            _close(tot[h], c["higher_obs"], 1e-4)
            _close(pm.comp_rel_sem(fit, obs_var=False, higher=higher)[h], c["higher_model"], 1e-4)
    if len(c["factors"]) == 1:
        items = data[c["indicators"]]
        _close(pm.comp_rel_sem(items, missing=c["missing"]).omega_total, c["omega_obs"], 1e-4)


def test_minres_fallback_optimiser_gives_the_same_omega(monkeypatch):
    """The L-BFGS-B fallback (psych's optimiser) reaches the Newton solution."""
    c = REF["omega"]["hs_3"]
    items = _data(c["items"])
    newton = pm.omega(items, n_groups=3)
    monkeypatch.setattr(rel, "_minres_newton", lambda r, nf, start, lo, hi: (start, False))
    fallback = pm.omega(items, n_groups=3)
    _close(fallback.omega_total, newton.omega_total, 1e-7)
    _close(fallback.omega_hierarchical, newton.omega_hierarchical, 1e-6)
    _close(fallback.omega_total, c["omega_tot"], 1e-4)


def test_heywood_case_is_recorded_not_raised():
    # one factor, three items with r12 r13 / r23 = 1.28 > 1: the first loading
    # would exceed 1, so its uniqueness sits at psych's bound 0.005
    rng = np.random.default_rng(0)
    cor = np.array([[1, .8, .8], [.8, 1, .5], [.8, .5, 1]])
    items = pd.DataFrame(rng.multivariate_normal(np.zeros(3), cor, size=500), columns=["a", "b", "c"])
    with pytest.warns(PsychometricsWarning, match="Heywood"):
        o = pm.omega(items)
    assert any("Heywood" in w for w in o.warnings)
    assert 0 < o.omega_total <= 1


def test_pairwise_moments_match_pandas_with_missing_and_large_means():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 5)) * [1, 2, 3, 4, 5] + 1e5
    x[rng.random(x.shape) < 0.15] = np.nan
    df = pd.DataFrame(x)
    np.testing.assert_allclose(rel._pairwise_cov(x), df.cov().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(rel._pairwise_cor(x), df.corr().to_numpy(), rtol=1e-8)
