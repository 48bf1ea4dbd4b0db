"""FIML (missing = "fiml", lavaan's missing = "ml") against lavaan 0.6-14.

Moment level (psychometrics.sem.fiml) against lavaan's lav_mvnorm_missing_* functions on the
25 bfi items, and against direct computation (finite differences); model level: the five-factor
bfi model with FIML (estimates, SEs from the observed information, every fit measure).
Reference values: tests/reference/make_sem_robust.R -> sem_robust.json.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.errors import ModelError
from psychometrics.sem.fiml import FIMLObjective, MissingPatterns, vech, vech_reverse

from _robust_cfa import BFI_VARS, REF, load

REL = 1e-4
BFI_MODEL = "\n".join(
    f"{f} =~ " + " + ".join(f"{t}{i}" for i in range(1, 6))
    for f, t in zip(["agree", "consc", "extra", "neuro", "open"], "ACENO"))


@pytest.fixture(scope="module")
def bfi():
    return load("bfi.csv")


@pytest.fixture(scope="module")
def patterns(bfi):
    return MissingPatterns(bfi[BFI_VARS].to_numpy(float))


def test_patterns_sufficient_statistics(bfi, patterns):
    y = bfi[BFI_VARS].to_numpy(float)
    assert patterns.n == len(y)
    assert sum(pt.n for pt in patterns.patterns) == len(y)
    # every case is in exactly one pattern and the pattern's observed set is its own
    seen = np.concatenate([pt.rows for pt in patterns.patterns])
    assert sorted(seen) == list(range(len(y)))
    for pt in patterns.patterns[:10]:
        obs = ~np.isnan(y[pt.rows])
        assert np.all(obs[:, pt.observed])
        assert obs.sum(axis=1).max() == len(pt.observed)
        np.testing.assert_allclose(pt.mean, y[np.ix_(pt.rows, pt.observed)].mean(axis=0))


def test_em_saturated_moments_match_lavaan(patterns):
    m = REF["moments"]
    mu, sigma, it, ok = patterns.em()
    assert ok
    np.testing.assert_allclose(mu, m["h1_mu"], rtol=1e-8)
    np.testing.assert_allclose(sigma, np.array(m["h1_sigma"]), rtol=1e-8, atol=1e-10)
    assert patterns.loglik(mu, sigma) == pytest.approx(m["h1_logl"], rel=1e-10)


def test_loglik_scores_information_match_lavaan(patterns):
    m = REF["moments"]
    mu0, s0 = np.array(m["mu0"]), np.array(m["sigma0"])
    assert patterns.loglik(mu0, s0) == pytest.approx(m["logl0"], rel=1e-10)
    sc = patterns.casewise_scores(mu0, s0)
    np.testing.assert_allclose(sc[[0, 1, 2, 99, 2799]], np.array(m["scores0_rows"]), rtol=1e-8, atol=1e-12)
    info = patterns.information_observed(mu0, s0)
    np.testing.assert_allclose(np.diag(info), m["info0_diag"], rtol=1e-8)
    np.testing.assert_allclose(info[:, 0], m["info0_first_col"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(info[:, 39], m["info0_col40"], rtol=1e-8, atol=1e-12)


def test_gradient_and_information_by_finite_differences(bfi):
    y = bfi[BFI_VARS[:6]].to_numpy(float)[:400]
    mp = MissingPatterns(y)
    p = 6
    mu = np.nanmean(y, axis=0) + 0.1
    s = np.cov(y[~np.isnan(y).any(axis=1)].T) * 0.9 + 0.1 * np.eye(p)
    m0 = np.concatenate([mu, vech(s)])

    def ll(m):
        return mp.loglik(m[:p], vech_reverse(m[p:], p))

    def gr(m):
        return mp.gradient(m[:p], vech_reverse(m[p:], p))

    g = gr(m0)
    h = 1e-5
    num = np.array([(ll(m0 + h * e) - ll(m0 - h * e)) / (2 * h) for e in np.eye(len(m0))])
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mp.casewise_scores(mu, s).sum(axis=0), g, rtol=1e-10, atol=1e-9)
    info = mp.information_observed(mu, s)
    numh = np.column_stack([-(gr(m0 + h * e) - gr(m0 - h * e)) / (2 * h) / mp.n for e in np.eye(len(m0))])
    np.testing.assert_allclose(info, numh, rtol=1e-5, atol=1e-7)


def test_complete_data_fiml_equals_ml(bfi):
    y = bfi[BFI_VARS].dropna().to_numpy(float)
    mp = MissingPatterns(y)
    assert mp.complete
    mu, s, _, _ = mp.em()
    np.testing.assert_allclose(mu, y.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s, np.cov(y.T, bias=True), rtol=1e-10, atol=1e-12)
    obj = FIMLObjective([mp])
    assert obj.value([(s, mu)]) == pytest.approx(0.0, abs=1e-12)


def test_empty_rows_are_dropped():
    y = np.array([[1.0, 2.0], [np.nan, np.nan], [2.0, np.nan], [3.0, 5.0], [0.0, 1.0]])
    mp = MissingPatterns(y)
    assert mp.n == 4 and list(mp.empty_rows) == [1]
    assert mp.casewise_scores(np.zeros(2), np.eye(2)).shape == (4, 5)


def _check_fit(fit, ref, est_rel=REL, se_rel=REL):
    pe = fit.parameters()
    rp = pd.DataFrame(ref["parameters"])
    assert len(pe) == len(rp)
    assert list(pe.lhs) == list(rp.lhs) and list(pe.op) == list(rp.op) and list(pe.rhs) == list(rp.rhs)
    np.testing.assert_allclose(pe.est.to_numpy(float), rp.est.to_numpy(float), rtol=est_rel, atol=1e-5)
    np.testing.assert_allclose(pe.se.to_numpy(float), rp.se.to_numpy(float), rtol=se_rel, atol=1e-6)
    fm = fit.fit_measures()
    keys = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper",
            "srmr", "aic", "bic", "logl", "unrestricted_logl", "baseline_chisq", "baseline_df"]
    for k in keys:
        rv = ref["fit_measures"][k]
        assert fm[k] == pytest.approx(rv, rel=REL, abs=1e-8), k
    return fm


def test_bfi_fiml_matches_lavaan(bfi):
    # lavaan: cfa(model, bfi, missing = "ml"); SEs from the observed (Hessian) information
    fit = pm.cfa(BFI_MODEL, bfi, missing="fiml")
    assert fit.converged
    _check_fit(fit, REF["bfi_ml_fiml"])


def test_fiml_on_complete_data_equals_listwise_ml():
    hs = load("hs1939.csv")
    model = "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
    a = pm.cfa(model, hs, missing="fiml")
    b = pm.cfa(model, hs, meanstructure=True)
    assert a.fit_measures()["chisq"] == pytest.approx(b.fit_measures()["chisq"], rel=1e-6)
    np.testing.assert_allclose(a.parameters().est, b.parameters().est, rtol=1e-5, atol=1e-6)


def test_bad_missing_option():
    hs = load("hs1939.csv")
    with pytest.raises(ModelError, match="missing"):
        pm.cfa("f =~ x1 + x2 + x3", hs, missing="pairwise")


def test_scores_summed_in_blocks_without_the_n_by_m_array(patterns, monkeypatch):
    """MLR's first-order information and meat are sums over blocks of cases (issue 13: the
    N x m score arrays were cached on the patterns and kept for the life of the fit)."""
    import sys
    from psychometrics.sem.robust import GroupMoments

    m = REF["moments"]
    mu0, s0 = np.array(m["mu0"]), np.array(m["sigma0"])
    full = patterns.casewise_scores(mu0, s0)
    seen = np.zeros(patterns.data.shape[0], dtype=int)
    for rows, block in patterns.casewise_score_chunks(mu0, s0, chunk_rows=7):
        assert block.shape[0] <= 7 and block.shape[0] == len(rows)
        seen[rows] += 1
        pos = np.searchsorted(np.setdiff1d(np.arange(len(seen)), patterns.empty_rows), rows)
        np.testing.assert_allclose(block, full[pos], rtol=1e-12, atol=1e-15)   # BLAS blocking
    assert seen.sum() == patterns.n and seen.max() == 1

    monkeypatch.setattr(sys.modules[MissingPatterns.__module__], "SCORE_CHUNK_ROWS", 50)      # many blocks, patterns split
    delta = np.random.default_rng(3).normal(size=(patterns.n_moments, 11))
    g = GroupMoments(patterns=patterns, sigma=s0, mu=mu0, h1_sigma=s0, h1_mu=mu0, delta=delta)
    np.testing.assert_allclose(g.first_order(), full.T @ full / patterns.n, rtol=1e-10, atol=1e-14)
    sd = full @ delta
    np.testing.assert_allclose(g.meat(), sd.T @ sd / patterns.n, rtol=1e-10, atol=1e-14)
    cached = [v for v in patterns.__dict__.get("_cache", {}).values() if isinstance(v, np.ndarray)]
    assert cached and all(v.shape[0] != patterns.n for v in cached)
