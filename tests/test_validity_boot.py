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


# --------------------------------------------------------------------------------------------
# issue 13, 1,000,000 cases: the EM structure reads the data without copying them
# --------------------------------------------------------------------------------------------

def _mixed(n=3000, p=8, seed=11):
    """Data with common patterns (read through their sums), rare ones (cell by cell) and
    a few all-missing rows."""
    x = _data(n, p, 0.08, seed, block=(40, 3))
    x = np.vstack([x, np.full((3, p), np.nan)])
    return x


def test_pattern_codes_give_the_patterns_of_np_unique():
    """The 64-bit pattern codes give the patterns, order, case labels and counts of
    ``np.unique(~isnan(x), axis=0)`` (so the sums run in the order of before); above 64
    variables the boolean rows are used."""
    for p in (8, 64, 70):
        x = _data(400, p, 0.05, 3)
        x[:30, :2] = np.nan
        keys, inv, counts = np.unique(~np.isnan(x), axis=0, return_inverse=True,
                                      return_counts=True)
        k2, inv2, c2 = _EMCases(x)._pattern_keys()
        np.testing.assert_array_equal(k2, keys)
        np.testing.assert_array_equal(inv2, np.asarray(inv).ravel())
        np.testing.assert_array_equal(c2, counts)


@pytest.mark.parametrize("pattern_from,dense", [(None, None), (None, True), (np.inf, False)])
def test_em_cases_from_columns_equal_the_array_path(pattern_from, dense):
    """``_EMCases`` built from a data frame's columns and the positions of the rows with an
    item (what ``htmt(missing="fiml")`` passes) is the one built from the n x p array of those
    rows: the same sums and EM steps, bit for bit."""
    x = _mixed()
    keep = ~np.isnan(x).all(axis=1)
    rows = np.flatnonzero(keep)
    cols = [x[:, j].copy() for j in range(x.shape[1])]
    a = _EMCases(x[keep], pattern_from=pattern_from, dense=dense)
    b = _EMCases(cols, pattern_from=pattern_from, dense=dense, rows=rows)
    assert b.n == keep.sum() and b.x0 is not None
    np.testing.assert_array_equal(a.x_rare, b.x_rare)
    w = _boot_weights(np.random.default_rng(2), b.n, 3)
    sa, sb = a.weighted_sums(w), b.weighted_sums(w)
    for u, v in zip(sa[:3], sb[:3]):
        np.testing.assert_array_equal(u, v)
    start = MissingPatterns(x[keep]).em()[:2]
    np.testing.assert_array_equal(_em_batch(None, w, start, cases=a)[1],
                                  _em_batch(None, w, start, cases=b)[1])


@pytest.mark.parametrize("source", ["array", "columns"])
def test_em_cases_read_in_blocks_equal_the_kept_copy(monkeypatch, source):
    """Above ``EM_KEEP_CELLS`` cells no zero-filled copy of the data is kept: each resample's
    sums gather blocks of rows (lowered block and threshold here, so the small data take that
    path); the sums and the bootstrap EM equal those of the kept copy to rounding."""
    import psychometrics._measurement as meas
    x = _mixed()
    keep = ~np.isnan(x).all(axis=1)
    xs = x[keep]
    src = xs if source == "array" else [x[:, j] for j in range(x.shape[1])]
    rows = None if source == "array" else np.flatnonzero(keep)
    w = _boot_weights(np.random.default_rng(5), len(xs), 4)
    start = MissingPatterns(xs).em()[:2]
    for pattern_from in (None, np.inf):
        kept = _EMCases(xs, pattern_from=pattern_from)
        assert kept.x0 is not None
        with monkeypatch.context() as m:
            m.setattr(meas, "EM_KEEP_CELLS", 0)
            m.setattr(meas, "PAIRWISE_BLOCK", 8 * 97)        # blocks of 97 rows
            read = _EMCases(src, pattern_from=pattern_from, rows=rows)
            assert read.x0 is None
            for u, v in zip(kept.weighted_sums(w)[:3], read.weighted_sums(w)[:3]):
                np.testing.assert_allclose(v, u, rtol=1e-13, atol=1e-10)
            np.testing.assert_allclose(read.weighted_cross_products(w),
                                       kept.weighted_cross_products(w), rtol=1e-13, atol=1e-10)
            b = _em_batch(None, w, start, cases=read)[1]
        a = _em_batch(None, w, start, cases=kept)[1]
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=0)


def test_em_of_em_cases_is_the_missing_patterns_em():
    """The full-sample EM on the bootstrap's structure (``_EMCases.em``) is
    ``MissingPatterns.em`` (lavaan's algorithm, start and stopping rule): the same estimates,
    iterations and convergence, also when the data are read in blocks (available-case start
    summed over blocks of rows)."""
    import importlib
    meas = importlib.import_module("psychometrics._measurement")
    fiml = importlib.import_module("psychometrics.sem.fiml")
    x = _mixed()
    x = x[~np.isnan(x).all(axis=1)]
    mu0, s0, it0, ok0 = MissingPatterns(x)._em()
    mu1, s1, it1, ok1 = _EMCases(x).em()
    assert ok0 and ok1 and it0 == it1
    np.testing.assert_allclose(mu1, mu0, rtol=1e-12)
    np.testing.assert_allclose(s1, s0, rtol=1e-11, atol=1e-12 * np.abs(s0).max())
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(fiml, "MOMENT_BLOCK_ROWS", 500)
        mp.setattr(meas, "EM_KEEP_CELLS", 0)
        mu2, s2, it2, ok2 = _EMCases(x).em()
        m_blk, v_blk = fiml.available_case_moments(x)
        m_c, v_c = _EMCases(x).available_case_moments()
    finally:
        mp.undo()
    np.testing.assert_array_equal(m_c, m_blk)
    np.testing.assert_array_equal(v_c, v_blk)
    assert ok2 and it2 == it0
    np.testing.assert_allclose(s2, s0, rtol=1e-11, atol=1e-12 * np.abs(s0).max())


def test_htmt_fiml_from_columns_equals_the_matrix_path():
    """``htmt(missing="fiml")`` reads the data frame's columns (no n x p copy): the same HTMT
    and bootstrap CIs as the EM of the n x p matrix of its rows (the path before: matrix,
    ``MissingPatterns.em``, ``_EMCases`` of the array), with all-missing rows and an integer
    column in the frame."""
    from psychometrics.validity import _htmt_from_cor, _item_matrix
    x = _mixed(n=600, p=6, seed=4)
    df = pd.DataFrame(x, columns=[f"i{j}" for j in range(6)])
    df["i5"] = np.where(np.isnan(x[:, 5]), np.nan, np.round(x[:, 5]))
    df["i0"] = df["i0"].astype("float32").astype(float)
    mapping = {"F1": ["i0", "i1", "i2"], "F2": ["i3", "i4", "i5"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = pm.htmt(df, mapping, missing="fiml", n_boot=30, seed=3)
    xm = _item_matrix(df, [f"i{j}" for j in range(6)], "fiml")
    assert h.n_obs == len(xm) < len(df)
    mu, sig, _, ok = MissingPatterns(xm).em()
    blocks = [np.arange(3), np.arange(3, 6)]

    def cor(s):
        d = 1 / np.sqrt(np.einsum("...ii->...i", s))
        return s * d[..., :, None] * d[..., None, :]
    est = _htmt_from_cor(cor(sig)[None], blocks, True, True)[0]
    np.testing.assert_allclose(h.matrix.to_numpy(), est, rtol=1e-10)
    rng = np.random.default_rng(3)
    w = _boot_weights(rng, len(xm), 30)
    sb = _em_batch(xm, w, (mu, sig))[1]
    reps = _htmt_from_cor(cor(sb), blocks, True, True)
    np.testing.assert_allclose(h.ci_upper.iloc[0, 1], np.nanquantile(reps, 0.975, axis=0)[0, 1],
                               rtol=1e-9)
    np.testing.assert_allclose(h.ci_lower.iloc[0, 1], np.nanquantile(reps, 0.025, axis=0)[0, 1],
                               rtol=1e-9)
