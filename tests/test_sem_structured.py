"""The structured fast paths of the SEM engine (issue 13) against the exact dense computations:
expected information from the rank-2 form of Delta vs the dense ``Delta`` formula, the gradient
by the matrix chain rule vs ``Delta' g``, the per-group blocks and the arrowhead (Schur) solver
vs the dense matrix, and whole fits through the block solver vs the dense path."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.sem import blocks
from psychometrics.sem.blocks import BlockSystem
from psychometrics.sem.objective import (expected_information, expected_information_dense,
                                         information_blocks)

DATA = Path(__file__).resolve().parent / "data"
HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(DATA / "hs1939.csv")


def _fits(hs):
    rng = np.random.default_rng(3)
    hsm = hs.copy()
    cols = [f"x{i}" for i in range(1, 10)]
    hsm[cols] = hsm[cols].mask(rng.random((len(hs), 9)) < 0.08)
    return {
        "hs": pm.cfa(HS, hs),
        "two_groups_equal": pm.cfa(HS, hs, group="school", group_equal=("loadings", "intercepts")),
        "fiml": pm.cfa(HS, hsm, missing="fiml"),
        # labels shared inside one group (two full parameters -> one reduced parameter)
        "labels": pm.sem(HS + "\ntextual ~ a*visual\nspeed ~ a*visual + textual", hs),
        "no_means_std_lv": pm.cfa(HS, hs, std_lv=True, meanstructure=False),
    }


@pytest.fixture(scope="module")
def fits(hs):
    return _fits(hs)


def _dense_delta(model, x, full):
    """Delta built column by column from the model matrices (independent of model.delta)."""
    xf = model.x_full(x, full)
    p, m = model.p, model.m
    r, c = model.vr, model.vc
    out = []
    for g, (A, P, M) in enumerate(model.matrices(xf, full=True)):
        a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k = model.idx[g]
        D = np.zeros((model.n_moments, model.n_full))
        B = np.linalg.inv(np.eye(m) - A)
        for kind, ii, jj, kk in (("A", a_i, a_j, a_k), ("P", p_i, p_j, p_k), ("M", m_i, m_i, m_k)):
            for i, j, k in zip(ii, jj, kk):
                dA, dP, dM = np.zeros((m, m)), np.zeros((m, m)), np.zeros(m)
                if kind == "A":
                    dA[i, j] = 1.0
                elif kind == "P":
                    dP[i, j] = dP[j, i] = 1.0
                else:
                    dM[i] = 1.0
                dB = B @ dA @ B
                dC = dB @ P @ B.T + B @ dP @ B.T + B @ P @ dB.T
                dmu = (dB @ M + B @ dM)[:p]
                col = dC[:p, :p][r, c]
                D[:, k] = np.concatenate([dmu, col]) if model.meanstructure else col
        out.append(D if full else D @ model.K)
    return out


@pytest.mark.parametrize("name", ["hs", "two_groups_equal", "fiml", "labels", "no_means_std_lv"])
@pytest.mark.parametrize("full", [False, True])
def test_delta_information_gradient_match_dense(fits, name, full):
    fit = fits[name]
    model = fit.model
    x = fit.x_full if full else fit.x
    ref = _dense_delta(model, x, full)
    for D, R in zip(model.delta(x, full=full), ref):
        np.testing.assert_allclose(D, R, rtol=0, atol=1e-12 * max(1.0, np.abs(R).max()))
    fast = expected_information(model, x, fit.weights, full=full)
    slow = expected_information_dense(model, x, fit.weights, full=full, deltas=ref)
    assert np.max(np.abs(fast - slow)) <= 1e-10 * np.max(np.abs(slow))
    # a point away from the optimum: gradient by the chain rule vs Delta' g
    xx = x * 1.03 + 0.01
    _, gm = fit.objective.value_and_gradient(model.implied(xx, full=full))
    g_fast = model.gradient(xx, gm, full=full)
    g_slow = sum(D.T @ gg for D, gg in zip(_dense_delta(model, xx, full), gm))
    np.testing.assert_allclose(g_fast, g_slow, rtol=0, atol=1e-12 * np.abs(g_slow).max())


def test_blocks_sum_to_the_information(fits):
    fit = fits["two_groups_equal"]
    bl = information_blocks(fit.model, fit.x, fit.weights)
    assert len(bl) == 2
    # each group's block only covers its own parameters and the shared ones
    assert all(len(c) < fit.x.size for c, _ in bl)
    np.testing.assert_allclose(BlockSystem(bl, fit.x.size).dense(), fit.information(),
                               rtol=0, atol=1e-14)


def _many_groups(g=8, n=150, seed=5):
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_growth import simulate, syntax
    parts = []
    for j in range(g):
        d = simulate(n, 12, 3, seed=seed + j)
        d["grp"] = f"g{j + 1}"
        parts.append(d)
    return syntax(12, 3), pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("equal", [(), ("loadings",), ("loadings", "intercepts", "residuals")])
def test_arrowhead_solver_matches_dense(equal):
    model, data = _many_groups()
    fit = pm.cfa(model, data, group="grp", group_equal=equal)
    bl = information_blocks(fit.model, fit.x, fit.weights)
    sysm = BlockSystem(bl, fit.x.size, dense_max=0)
    assert sysm.structured
    dense = sysm.dense()
    rng = np.random.default_rng(1)
    b = rng.standard_normal(fit.x.size)
    for ridge in (0.0, 1e-12):
        ref = np.linalg.solve(dense + ridge * np.eye(len(b)), b)
        got = sysm.factor(ridge).solve(b)
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    inv = sysm.factor(0.0).inverse()
    ref = np.linalg.inv(dense)
    assert np.max(np.abs(inv - ref)) <= 1e-9 * np.max(np.abs(ref))
    w = np.linalg.eigvalsh(dense)
    lo, hi = sysm.min_max_eigenvalues()
    assert lo == pytest.approx(w[0], rel=1e-8)
    assert hi == pytest.approx(w[-1], rel=1e-8)


def test_singular_block_raises():
    M = np.array([[1.0, 1.0], [1.0, 1.0]])
    sysm = BlockSystem([(np.array([0, 1]), M), (np.array([2, 3]), np.eye(2))], 4, dense_max=0)
    with pytest.raises(np.linalg.LinAlgError):
        sysm.factor(0.0)


def test_fit_through_block_solver_equals_dense_path(monkeypatch):
    """A multi-group fit optimised and inverted through the arrowhead solver gives the
    estimates, SEs and fit measures of the dense path (to the optimiser's precision)."""
    model, data = _many_groups()
    res = {}
    for name, dense_max in (("blocks", 0), ("dense", 10 ** 9)):
        monkeypatch.setattr(blocks, "DENSE_MAX", dense_max)
        fit = pm.cfa(model, data, group="grp", group_equal=("loadings", "intercepts"))
        assert fit._info_system().structured == (name == "blocks")
        pe = fit.parameters()
        res[name] = (pe["est"].to_numpy(), pe["se"].to_numpy(), fit.fit_measures(), fit)
    (e1, s1, f1, fit1), (e0, s0, f0, fit0) = res["blocks"], res["dense"]
    assert not fit1.diagnostics.codes() and not fit0.diagnostics.codes()
    np.testing.assert_allclose(e1, e0, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(s1, s0, rtol=1e-7, atol=1e-9)
    for k in ("chisq", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
        assert f1[k] == pytest.approx(f0[k], rel=1e-9, abs=1e-12)
    # the structured vcov is the dense inverse at the same estimates
    v_dense = np.linalg.inv(fit1._n_test() * fit1.information())
    np.testing.assert_allclose(fit1.vcov(), v_dense, rtol=0, atol=1e-9 * np.abs(v_dense).max())


def test_memoised_saturated_pieces_give_the_same_mlr_numbers(hs):
    """MLR + FIML: the saturated-model pieces (EM, fiml_corrected's h1 matrices, the baseline
    model and its scaling) are memoised per data set; a second model on the same data reuses
    them and gets the numbers of a computation from scratch."""
    from psychometrics.sem import fiml
    rng = np.random.default_rng(11)
    d = hs.copy()
    cols = [f"x{i}" for i in range(1, 10)]
    d[cols] = d[cols].mask(rng.random((len(d), 9)) < 0.1)
    kw = dict(missing="fiml", estimator="MLR", group="school")
    fiml._PATTERN_CACHE.clear()
    fiml._PATTERN_WEAK.clear()
    fiml._EM_CACHE.clear()
    first = pm.cfa(HS, d, **kw).fit_measures()
    metric = pm.cfa(HS, d, group_equal="loadings", **kw)
    reused = metric.fit_measures()
    fiml._PATTERN_CACHE.clear()
    fiml._PATTERN_WEAK.clear()
    fiml._EM_CACHE.clear()
    fresh = pm.cfa(HS, d, group_equal="loadings", **kw).fit_measures()
    assert reused == fresh
    assert first["baseline_chisq_scaled"] == reused["baseline_chisq_scaled"]
    # a new MissingPatterns of the same data takes the EM estimate from the module cache
    y = metric.sample.groups[0].data
    mu, sigma, it, ok = fiml.MissingPatterns(y).em()
    ref = fiml.MissingPatterns(y)._em()
    np.testing.assert_array_equal(mu, ref[0])
    np.testing.assert_array_equal(sigma, ref[1])


def test_mlr_meat_over_group_columns_equals_dense(hs):
    """The MLR meat of each group, summed over its own parameters only, equals the dense
    ``Delta' (S'S / n) Delta`` over all parameters."""
    from psychometrics.sem.robust import GroupMoments
    fit = pm.cfa(HS, hs, group="school", group_equal="loadings", estimator="MLR")
    res = fit._robust_result
    sample = fit.sample
    from psychometrics.sem.fiml import patterns_for
    for g, (D, (S, mu)) in enumerate(zip(fit.model.delta(fit.x), fit.model.implied(fit.x))):
        pats = patterns_for(sample.groups[g].data)
        gm = GroupMoments(pats, S, mu, sample.groups[g].h1_cov, sample.groups[g].h1_mean, D)
        sc = gm.scores()
        dense = D.T @ (sc.T @ sc / gm.n) @ D
        assert np.count_nonzero(np.any(D != 0, axis=0)) < D.shape[1]
        np.testing.assert_allclose(gm.meat(), dense, rtol=0, atol=1e-12 * np.abs(dense).max())
        np.testing.assert_allclose(res.core.b0_groups[g], dense, rtol=0,
                                   atol=1e-12 * np.abs(dense).max())


def test_large_data_patterns_are_not_kept_after_their_fits(hs, monkeypatch):
    """issue 13 (memory at 10^6 cases): a data set above PATTERN_CACHE_MAX_BYTES is shared by
    the fits that hold it (a model and its baseline, invariance levels) but not kept by the
    module once they are gone; a small one stays in the strong cache."""
    import gc
    from psychometrics.sem import fiml
    rng = np.random.default_rng(3)
    d = hs.copy()
    cols = [f"x{i}" for i in range(1, 10)]
    d[cols] = d[cols].mask(rng.random((len(d), 9)) < 0.1)
    fiml._PATTERN_CACHE.clear()
    fiml._PATTERN_WEAK.clear()
    monkeypatch.setattr(fiml, "PATTERN_CACHE_MAX_BYTES", 0)
    fit = pm.cfa(HS, d, missing="fiml")
    fit.fit_measures()
    assert len(fiml._PATTERN_WEAK) == 1 and not fiml._PATTERN_CACHE
    again = pm.cfa(HS, d, missing="fiml", std_lv=True)
    assert fiml.patterns_for(again.sample.groups[0].data) is fiml.patterns_for(fit.sample.groups[0].data)
    del fit, again
    gc.collect()
    assert len(fiml._PATTERN_WEAK) == 0
    monkeypatch.setattr(fiml, "PATTERN_CACHE_MAX_BYTES", 16 * 2 ** 20)
    fit = pm.cfa(HS, d, missing="fiml")
    del fit
    gc.collect()
    assert len(fiml._PATTERN_CACHE) == 1
