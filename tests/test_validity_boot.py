"""The HTMT FIML bootstrap's batched EM (issue 13) against direct computations.

``_EMCases.step`` is checked against a case-by-case E-step written from the textbook formulas
(Little & Rubin 2002, ch. 8), and the bootstrap's converged estimates against EM run to a much
tighter tolerance on the expanded resample (independent code: ``sem.fiml.MissingPatterns``).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics._measurement import _EMCases, _boot_weights, _em_batch, _inv_small
from psychometrics.sem.fiml import MissingPatterns

DATA = Path(__file__).parent / "data"


def _direct_step(x, w, mu, sigma):
    """One EM step, case by case: fill E[y_m | y_o], add cov(y_m | y_o) to the cross products."""
    n, p = x.shape
    t1, t2 = np.zeros(p), np.zeros((p, p))
    for i in range(n):
        if w[i] == 0:
            continue
        o = ~np.isnan(x[i])
        m = ~o
        y = np.where(o, x[i], 0.0)
        c = np.zeros((p, p))
        if m.any():
            soo_inv = np.linalg.inv(sigma[np.ix_(o, o)])
            reg = sigma[np.ix_(m, o)] @ soo_inv
            y[m] = mu[m] + reg @ (x[i, o] - mu[o])
            c[np.ix_(m, m)] = sigma[np.ix_(m, m)] - reg @ sigma[np.ix_(o, m)]
        t1 += w[i] * y
        t2 += w[i] * (np.outer(y, y) + c)
    N = w.sum()
    mu_new = t1 / N
    return mu_new, t2 / N - np.outer(mu_new, mu_new)


def _data(n, p, rate, seed, full_column=False, block=None):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    s = a @ a.T + p * np.eye(p)
    x = rng.multivariate_normal(rng.normal(size=p) * 3, s, size=n)
    x[rng.random(x.shape) < rate] = np.nan
    if block is not None:                       # some cases miss a block of r variables
        x[:block[0], :block[1]] = np.nan
    if full_column:
        x[:, -1] = rng.normal(size=n)
    return x[~np.isnan(x).all(axis=1)]


@pytest.mark.parametrize("kind", ["mixed patterns", "a variable never missing", "5 missing in a case"])
def test_em_step_equals_the_case_by_case_e_step(kind):
    x = {"mixed patterns": lambda: _data(120, 7, 0.25, 1),
         "a variable never missing": lambda: _data(90, 6, 0.2, 2, full_column=True),
         "5 missing in a case": lambda: _data(80, 8, 0.1, 3, block=(6, 5))}[kind]()
    n, p = x.shape
    cs = _EMCases(x)
    w = _boot_weights(np.random.default_rng(5), n, 4)
    mu = np.nanmean(x, axis=0) + 0.1
    sigma = np.cov(np.nan_to_num(x - np.nanmean(x, axis=0)), rowvar=False) + np.eye(p)
    B = len(w)
    mus, sigs = cs.step(w, np.repeat(mu[None], B, 0), np.repeat(sigma[None], B, 0),
                        *cs.weighted_sums(w))
    for b in range(B):
        m1, s1 = _direct_step(x, w[b], mu, sigma)
        np.testing.assert_allclose(mus[b], m1, rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(sigs[b], s1, rtol=1e-11, atol=1e-11 * np.abs(s1).max())


def test_inv_small_inverts_each_block():
    rng = np.random.default_rng(0)
    for r in (1, 2, 3, 4):
        a = rng.normal(size=(5, r, r + 2, 3))
        a = np.einsum("kijb,kljb->kilb", a, a) + 0.1 * np.eye(r)[None, :, :, None]
        inv = _inv_small(a)
        for k in range(5):
            for b in range(3):
                np.testing.assert_allclose(inv[k, :, :, b], np.linalg.inv(a[k, :, :, b]),
                                           rtol=1e-10, atol=1e-12)


def test_bootstrap_em_is_within_1e8_of_a_tightly_converged_em():
    """The draws stop at a relative change of 1e-10 (SQUAREM); EM run to 1e-14 from a cold start
    on the expanded resample gives the same correlations to 1e-8."""
    bfi = pd.read_csv(DATA / "bfi.csv").head(250)
    x = bfi[[f"{c}{i}" for c in "ACE" for i in range(1, 6)]].to_numpy(float)
    x = x[~np.isnan(x).all(axis=1)]
    start = MissingPatterns(x).em()[:2]
    w = _boot_weights(np.random.default_rng(8), len(x), 6)
    _, sig, ok = _em_batch(x, w, start)
    assert ok

    def cor(s):
        d = 1 / np.sqrt(np.diag(s))
        return s * np.outer(d, d)
    for b in range(len(w)):
        _, s1, _, ok1 = MissingPatterns(np.repeat(x, w[b].astype(int), axis=0))._em(
            max_iter=20000, tol=1e-14)
        np.testing.assert_allclose(cor(sig[b]), cor(s1), rtol=0, atol=1e-8)
        np.testing.assert_allclose(sig[b], s1, rtol=1e-8, atol=0)


def test_htmt_fiml_ci_same_whatever_the_em_chunk(monkeypatch):
    """Each resample's EM stops on its own: splitting the draws differently changes nothing."""
    bfi = pd.read_csv(DATA / "bfi.csv").head(200)
    mapping = {"agree": [f"A{i}" for i in range(1, 6)], "consc": [f"C{i}" for i in range(1, 6)]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = pm.htmt(bfi, mapping, missing="fiml", n_boot=12, seed=1)
        val = sys.modules["psychometrics.validity"]
        calls = []
        real = val._em_batch

        def small(x, w, start, **k):
            calls.append(len(w))
            return real(x, w[:5], start, **k) if len(w) <= 5 else _cat(
                [real(x, w[i:i + 5], start, **k) for i in range(0, len(w), 5)])

        def _cat(parts):
            return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                    all(p[2] for p in parts))
        monkeypatch.setattr(val, "_em_batch", small)
        b = pm.htmt(bfi, mapping, missing="fiml", n_boot=12, seed=1)
    assert calls
    pd.testing.assert_frame_equal(a.ci_lower, b.ci_lower, check_exact=False, rtol=0, atol=1e-13)
    pd.testing.assert_frame_equal(a.ci_upper, b.ci_upper, check_exact=False, rtol=0, atol=1e-13)


@pytest.mark.parametrize("pattern_from,dense", [(np.inf, False), (np.inf, True), (1, True),
                                                (4, True), (4, False), (None, True)])
def test_pattern_sums_and_dense_fills_equal_the_case_by_case_e_step(pattern_from, dense):
    """Patterns shared by ``pattern_from`` cases or more enter the E-step through their weighted
    sums, the others cell by cell (dense blocks or gathers): every split gives the textbook
    E-step (issue 13: the fast path at 1,000,000 cases against the exact one)."""
    x = _data(600, 6, 0.12, 4, block=(5, 4))
    n, p = x.shape
    cs = _EMCases(x, pattern_from=pattern_from, dense=dense)
    if pattern_from == 1:
        assert cs.ci.size == 0 and cs.pat_groups          # every pattern through its sums
    if pattern_from == np.inf:
        assert not cs.pat_groups
    w = _boot_weights(np.random.default_rng(6), n, 3)
    mu = np.nanmean(x, axis=0) - 0.2
    sigma = np.cov(np.nan_to_num(x - np.nanmean(x, axis=0)), rowvar=False) + 0.5 * np.eye(p)
    B = len(w)
    t1, t2, N, pst = cs.weighted_sums(w)
    x0 = np.nan_to_num(x)
    np.testing.assert_allclose(t1, w @ x0, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(t2, np.einsum("bi,ij,ik->bjk", w, x0, x0), rtol=1e-12, atol=1e-9)
    mus, sigs = cs.step(w, np.repeat(mu[None], B, 0), np.repeat(sigma[None], B, 0), t1, t2, N, pst)
    for b in range(B):
        m1, s1 = _direct_step(x, w[b], mu, sigma)
        np.testing.assert_allclose(mus[b], m1, rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(sigs[b], s1, rtol=1e-11, atol=1e-11 * np.abs(s1).max())


def test_bootstrap_em_fast_path_equals_the_cell_path():
    """The EM of the resamples with per-pattern sums and dense fills (the default) converges to
    the same estimates as with every incomplete case read cell by cell (the path before)."""
    x = _data(2000, 8, 0.06, 7)
    start = MissingPatterns(x).em()[:2]
    w = _boot_weights(np.random.default_rng(9), len(x), 4)
    fast = _EMCases(x)
    assert fast.pat_groups and not fast.dense      # 2,000 cases: gathers (DENSE_FILLS_FROM)
    _, a, ok_a = _em_batch(x, w, start, cases=fast)
    _, d, ok_d = _em_batch(x, w, start, cases=_EMCases(x, dense=True))
    _, b, ok_b = _em_batch(x, w, start, cases=_EMCases(x, pattern_from=np.inf, dense=False))
    assert ok_a and ok_b and ok_d
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=0)
    np.testing.assert_allclose(d, b, rtol=1e-9, atol=0)
