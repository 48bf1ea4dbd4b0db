"""Memory-bounded paths of the FIML/MLR code (issue 13) against the one-piece paths.

At 10^6 cases the FIML code handled every missing-data pattern of a batch at once (K x p x p
temporaries for tens of thousands of patterns) and the available-case moments copied the
data three times; now blocks of patterns (:data:`fiml.PATTERN_BLOCK_CELLS`) and of rows
(:data:`fiml.MOMENT_BLOCK_ROWS`) bound the memory.  Small data sets take the one-piece path;
these tests force blocks of one pattern / a few rows and compare every number."""
from __future__ import annotations

import numpy as np
import pytest

import psychometrics as pm
from psychometrics.sem import fiml
from psychometrics.sem.fiml import MissingPatterns, available_case_moments

from _robust_cfa import load

BFI_MODEL = "\n".join(
    f"{f} =~ " + " + ".join(f"{t}{i}" for i in range(1, 6))
    for f, t in zip(["agree", "consc", "extra", "neuro", "open"], "ACENO"))


def _data(n=600, p=7, miss=0.25, seed=3):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    y = rng.normal(size=(n, p)) @ a + rng.normal(size=p)
    y[rng.random((n, p)) < miss] = np.nan
    y[5] = np.nan                                   # an empty row (dropped)
    return y


def _clear_caches():
    fiml._PATTERN_CACHE.clear()
    fiml._PATTERN_WEAK.clear()
    fiml._EM_CACHE.clear()


def _close(a, b, rtol=1e-10):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    scale = max(1.0, float(np.nanmax(np.abs(b))) if b.size else 1.0)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)


def test_pattern_rows_are_the_cases_of_each_pattern_in_data_order():
    y = _data()
    mp = MissingPatterns(y)
    obs = ~np.isnan(y)
    seen = []
    for pt in mp.patterns:
        mask = np.zeros(y.shape[1], bool)
        mask[pt.observed] = True
        expect = np.flatnonzero((obs == mask).all(axis=1) & obs.any(axis=1))
        np.testing.assert_array_equal(pt.rows, expect)
        seen.append(pt.rows)
        # the pattern's statistics (views of the batch arrays) are those of its cases
        yo = y[np.ix_(pt.rows, pt.observed)]
        _close(pt.mean, yo.mean(axis=0), 1e-13)
        _close(pt.cov, np.cov(yo.T, bias=True).reshape(pt.cov.shape), 1e-12)
    assert sorted(np.concatenate(seen).tolist()) == np.flatnonzero(obs.any(axis=1)).tolist()
    assert mp.empty_rows.tolist() == [5]


def test_blocks_of_patterns_give_the_same_likelihood_gradient_information(monkeypatch):
    y = _data()
    mp = MissingPatterns(y)
    assert len(mp.patterns) > 20
    mu, sigma, _, ok = mp._em()
    assert ok
    mu = mu + 0.05
    sigma = sigma * 1.1
    one = (mp.loglik(mu, sigma), *mp.value_and_gradient(mu, sigma),
           mp._information_observed(mu, sigma))
    for cells in (1, 50, 200):          # one pattern per block, then a few patterns
        monkeypatch.setattr(fiml, "PATTERN_BLOCK_CELLS", cells)
        blk = (mp.loglik(mu, sigma), *mp.value_and_gradient(mu, sigma),
               mp._information_observed(mu, sigma))
        for a, b in zip(blk, one):
            _close(a, b, 1e-12)


def test_available_case_moments_in_blocks_of_rows():
    y = _data(n=1003)
    y[:, 2] = np.nan
    y[7, 2] = 1.5                                   # a column with one value
    ref_m = np.nanmean(y, axis=0)
    ref_v = np.nanmean((y - ref_m) ** 2, axis=0)
    m, v = available_case_moments(y)                # one piece: the same expressions
    np.testing.assert_array_equal(m, ref_m)
    np.testing.assert_array_equal(v, ref_v)
    for rows in (1, 7, 100, 1002):
        m, v = available_case_moments(y, block_rows=rows)
        _close(m, ref_m, 1e-13)
        _close(v, ref_v, 1e-12)
    m, v = available_case_moments(np.full((10, 2), np.nan), block_rows=3)
    assert np.isnan(m).all() and np.isnan(v).all()


@pytest.mark.parametrize("group", [None, "gender"])
def test_mlr_fiml_fit_with_blocks_equals_one_piece(monkeypatch, group):
    """Estimates, robust SEs and every fit measure of an MLR + FIML fit with blocks of one
    pattern and of a few rows equal the one-piece fit (1e-8 relative, the issue's bar)."""
    bfi = load("bfi.csv")
    _clear_caches()
    ref = pm.cfa(BFI_MODEL, bfi, estimator="MLR", missing="fiml", group=group)
    monkeypatch.setattr(fiml, "PATTERN_BLOCK_CELLS", 1)
    monkeypatch.setattr(fiml, "MOMENT_BLOCK_ROWS", 37)
    _clear_caches()
    new = pm.cfa(BFI_MODEL, bfi, estimator="MLR", missing="fiml", group=group)
    _clear_caches()
    _close(new.x, ref.x, 1e-8)
    _close(new._robust_se, ref._robust_se, 1e-8)
    fa, fb = new.fit_measures(), ref.fit_measures()
    assert fa.keys() == fb.keys()
    for k in fb:
        if isinstance(fb[k], (int, float)) and np.isfinite(fb[k]):
            assert fa[k] == pytest.approx(fb[k], rel=1e-8, abs=1e-10), k


@pytest.mark.parametrize("missing", ["listwise", "fiml"])
def test_sample_stats_float_columns_equal_the_converted_path(missing):
    """The float path of ``sample_stats`` (columns gathered per group) gives the arrays, ids
    and moments of the converting path (``_numeric``, taken for text columns), bit for bit."""
    import pandas as pd
    from psychometrics.sem.sample import sample_stats
    rng = np.random.default_rng(5)
    y = _data(n=300, p=5, miss=0.1)
    df = pd.DataFrame(y, columns=list("abcde"), index=[f"c{i}" for i in range(300)])
    df["b"] = np.where(np.isnan(y[:, 1]), np.nan, np.round(y[:, 1]))
    df["e"] = rng.integers(1, 6, 300)                       # an integer column
    df["g"] = rng.choice(["x", "y"], 300)
    text = df.astype({c: object for c in "abcd"})            # same numbers, object columns
    for group in (None, "g"):
        fast = sample_stats(df, list("abcde"), group=group, missing=missing)
        slow = sample_stats(text, list("abcde"), group=group, missing=missing)
        assert [g.label for g in fast.groups] == [g.label for g in slow.groups]
        for a, b in zip(fast.groups, slow.groups):
            np.testing.assert_array_equal(a.data, b.data)
            np.testing.assert_array_equal(a.case_ids, b.case_ids)
            np.testing.assert_array_equal(a.cov, b.cov)
            np.testing.assert_array_equal(a.mean, b.mean)
            assert a.data.flags.c_contiguous and a.nobs == b.nobs
