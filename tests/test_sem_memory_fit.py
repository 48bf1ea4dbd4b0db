"""Memory of the FIML fits and of the structural bootstrap's per-draw refits at 10^6 cases
(issue 13, branch ``memfit``) against the paths they replace.

* :class:`fiml.MissingPatterns` keeps a pattern's covariance only where it is not zero (a
  pattern of one case has none, :data:`fiml.SPARSE_COVS`) and rebuilds the arrays of a block
  of patterns with the same numbers; the EM forms each pattern's cross products when used.
  Every number must be the same, bit for bit, as with every covariance kept.
* Blocks of patterns (:data:`fiml.PATTERN_BLOCK_CELLS`) leave the log-likelihood and its
  gradient bit-identical (each pattern's terms do not depend on its block).
* :class:`fiml.CaseDesign` keeps no centred copy of the data: a draw's kernel must equal the
  one made from the centred copy, bit for bit.
* The per-draw bootstrap path chooses its worker processes from a refit's memory
  (:func:`bootstrap._refit_workers`); the draws must not depend on that choice.
* Branch ``mem10``: :func:`sample.sample_stats` shares one read-only array among the fits of
  the same values (:data:`sample.SHARE_DATA`); arrays, ids, moments and fits must be the
  same, bit for bit, as with a copy for every fit.
"""
from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest

from psychometrics.sem import bootstrap as bs
from psychometrics.sem import fiml
from psychometrics.sem import sample as smp
from psychometrics.sem import sem as sem_fit
from psychometrics.sem.fiml import CaseDesign, CasewiseFIML, MissingPatterns

from _robust_cfa import load

MEDIATION = """
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
textual ~ a*visual
speed ~ b*textual + c*visual
ind := a*b
"""


def _data(n=400, p=8, miss=0.3, seed=11):
    """Many missing-data patterns, most of them with one case."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    y = rng.normal(size=(n, p)) @ a + rng.normal(size=p) + 2.0
    y[rng.random((n, p)) < miss] = np.nan
    y[3] = np.nan                                   # an empty row (dropped)
    y[10] = y[11]                                   # two identical cases of a pattern of
    y[10:12, 2:7] = np.nan                          # their own: a zero covariance
    return y


def _numbers(mp: MissingPatterns, mu, sigma):
    """Everything the fits take from the patterns, at ``(mu, sigma)``."""
    ll = mp.loglik(mu, sigma)
    val, grad = mp.value_and_gradient(mu, sigma)
    info = mp._information_observed(mu, sigma)
    sub = mp._information_observed(mu, sigma, np.array([0, 2, 5]))
    scores = mp.casewise_scores(mu, sigma)
    em = mp._em()
    return [np.asarray(ll), np.asarray(val), grad, info, sub, scores, em[0], em[1],
            np.asarray(em[2])]


def _with_all_covs(monkeypatch, y):
    monkeypatch.setattr(fiml, "SPARSE_COVS", False)
    mp = MissingPatterns(y)
    monkeypatch.setattr(fiml, "SPARSE_COVS", True)
    return mp


def test_digest_is_the_sha1_of_the_bytes():
    y = _data()
    assert fiml._digest(y) == hashlib.sha1(y.tobytes()).hexdigest()
    z = np.zeros((0, 4))
    assert fiml._digest(z) == hashlib.sha1(z.tobytes()).hexdigest()


def test_covariances_kept_only_where_not_zero_same_numbers(monkeypatch):
    y = _data()
    sparse = MissingPatterns(y)
    full = _with_all_covs(monkeypatch, y)
    ones = [pt for pt in sparse.patterns if pt.n == 1]
    assert len(ones) > 40                                  # many patterns of one case
    kept = sum(len(b["covs"]) for b in sparse.batches)
    assert kept == sum(1 for pt in sparse.patterns if pt.cov.any())
    pair = [pt for pt in sparse.patterns if 10 in pt.rows][0]
    assert pair.rows.tolist() == [10, 11] and pair._cov is None    # identical cases: none
    assert kept == len(sparse.patterns) - len(ones) - 1
    assert sum(len(b["covs"]) for b in full.batches) == len(full.patterns)
    for a, b in zip(sparse.patterns, full.patterns):
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.mean, b.mean)
        np.testing.assert_array_equal(a.cov, b.cov)        # zeros made when asked
    mu, sigma, _, ok = full._em()
    assert ok
    mu, sigma = mu + 0.03, sigma * 1.05
    for a, b in zip(_numbers(sparse, mu, sigma), _numbers(full, mu, sigma)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cells", [1, 64, 300])
def test_blocks_of_patterns_same_bits_with_and_without_kept_covariances(monkeypatch, cells):
    y = _data(seed=5)
    sparse = MissingPatterns(y)
    full = _with_all_covs(monkeypatch, y)
    mu, sigma, _, _ = full._em()
    mu, sigma = mu - 0.02, sigma * 0.97
    one = (sparse.loglik(mu, sigma), *sparse.value_and_gradient(mu, sigma))
    monkeypatch.setattr(fiml, "PATTERN_BLOCK_CELLS", cells)
    for mp in (sparse, full):
        blk = (mp.loglik(mu, sigma), *mp.value_and_gradient(mu, sigma))
        for a, b in zip(blk, one):          # log-likelihood and gradient: bit for bit
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sparse._information_observed(mu, sigma),
                                  full._information_observed(mu, sigma))


def test_mlr_fiml_fit_with_sparse_covariances_equals_all_kept(monkeypatch):
    """Estimates, robust SEs and fit measures of an MLR + FIML fit: the same bits."""
    import psychometrics as pm
    bfi = load("bfi.csv")
    model = "\n".join(f"{f} =~ " + " + ".join(f"{t}{i}" for i in range(1, 6))
                      for f, t in zip(["agree", "consc", "extra", "neuro", "open"], "ACENO"))

    def fit():
        fiml._PATTERN_CACHE.clear()
        fiml._PATTERN_WEAK.clear()
        fiml._EM_CACHE.clear()
        return pm.cfa(model, bfi, estimator="MLR", missing="fiml")
    new = fit()
    monkeypatch.setattr(fiml, "SPARSE_COVS", False)
    ref = fit()
    monkeypatch.setattr(fiml, "SPARSE_COVS", True)
    fiml._EM_CACHE.clear()
    np.testing.assert_array_equal(new.x, ref.x)
    np.testing.assert_array_equal(new._robust_se, ref._robust_se)
    fa, fb = new.fit_measures(), ref.fit_measures()
    for k in fb:
        if isinstance(fb[k], float) and np.isfinite(fb[k]):
            assert fa[k] == fb[k], k


def test_case_design_without_a_centred_copy_same_kernel():
    """The draw's kernel equals the one made from the centred copy of the data (the former
    ``CaseDesign``: ``y0 = where(obs, y - center, 0)``), bit for bit."""
    y = _data(n=900, p=7, miss=0.12, seed=2)
    cd = CaseDesign(y)
    obs = ~np.isnan(y)
    center = np.where(obs.any(axis=0), np.nanmean(np.where(obs, y, np.nan), axis=0), 0.0)
    np.testing.assert_array_equal(cd.center, center)
    y0 = np.where(obs, y - center, 0.0)
    rng = np.random.default_rng(8)
    sigma = np.cov(np.where(obs, y, center).T) + 0.2 * np.eye(7)
    mu = center + 0.1
    for _ in range(3):
        rows = rng.integers(0, len(y), len(y))
        counts = np.bincount(rows, minlength=len(y)).astype(float)
        cc = counts[cd.complete]
        sel = cc > 0
        yc, wc = y0[cd.complete[sel]], cc[sel]
        ci = counts[cd.incomplete]
        use = ci > 0
        ref = CasewiseFIML(7, float(wc.sum()), wc @ yc, (yc * wc[:, None]).T @ yc,
                           y0[cd.incomplete[use]], obs[cd.incomplete[use]], ci[use],
                           cd.pattern_of[use], cd.masks, center)
        new = cd.resample(rows)
        for a, b in zip(new.value_and_gradient(mu, sigma), ref.value_and_gradient(mu, sigma)):
            np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def hs_fiml_fit():
    hs = load("hs1939.csv")
    rng = np.random.default_rng(13)
    items = [f"x{i}" for i in range(1, 10)]
    y = hs[items].to_numpy(float).copy()
    y[rng.random(y.shape) < 0.06] = np.nan
    hs = hs.copy()
    hs[items] = y
    return sem_fit(MEDIATION, hs, missing="fiml")


def test_refit_workers_from_the_memory_of_a_refit(hs_fiml_fit, monkeypatch):
    tpl = hs_fiml_fit.sample
    per = bs._refit_bytes(tpl)
    n, p = tpl.groups[0].data.shape
    assert per >= 8 * n * p * 5                         # at least five copies of the rows
    monkeypatch.setattr(bs, "_available_memory", lambda: None)
    monkeypatch.setattr(bs, "REFIT_MEMORY", 3 * per)
    assert bs._refit_workers(tpl, 2) == 2
    assert bs._refit_workers(tpl, 8) == 3
    monkeypatch.setattr(bs, "REFIT_MEMORY", per // 2)
    assert bs._refit_workers(tpl, 8) == 1                # never fewer than one
    monkeypatch.setattr(bs, "REFIT_MEMORY", 100 * per)
    monkeypatch.setattr(bs, "_available_memory", lambda: 4 * per)   # half of it: two
    assert bs._refit_workers(tpl, 8) == 2


def test_per_draw_path_same_draws_in_process_and_in_workers(hs_fiml_fit, monkeypatch):
    """The per-draw path (the lockstep plan switched off, as above PLAN_MAX_ENTRIES): the
    draws in this process (workers limited by memory) equal those of two forked workers and
    of n_jobs = 1, bit for bit, and are the FIML optima of their resamples."""
    from psychometrics.sem.estimate import make_objective, optimize
    from psychometrics.sem.model import Model
    fit = hs_fiml_fit
    monkeypatch.setattr(bs, "BATCHED", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = bs.bootstrap(fit, R=6, seed=4, n_jobs=1)
        monkeypatch.setattr(bs, "REFIT_MEMORY", 10 * bs._refit_bytes(fit.sample))
        monkeypatch.setattr(bs, "_available_memory", lambda: None)
        two = bs.bootstrap(fit, R=6, seed=4, n_jobs=2)
        monkeypatch.setattr(bs, "REFIT_MEMORY", 1)
        limited = bs.bootstrap(fit, R=6, seed=4, n_jobs=2)
    assert (one.n_workers, two.n_workers, limited.n_workers) == (1, 2, 1)
    for b in (two, limited):
        np.testing.assert_array_equal(b.draws, one.draws)
        np.testing.assert_array_equal(b.defined, one.defined)
    assert one.n_successful == 6
    rng = np.random.default_rng(4)
    n = fit.sample.groups[0].data.shape[0]
    for i in range(2):
        idx = rng.integers(0, n, size=n)
        ss = bs._resampled_sample(fit.sample, [idx])
        model = Model(fit.partable, ss)
        ref = optimize(model, make_objective(model, ss, "fiml"), one.draws[i], [1.0], tol=1e-12)
        np.testing.assert_allclose(one.draws[i], ref["x"], rtol=0, atol=1e-8)


@pytest.mark.parametrize("rows", [1, 7, 100])
def test_casewise_kernel_in_blocks_of_cases_same_bits(monkeypatch, rows):
    """The adjustment of ``W d_i`` in blocks of cases (:data:`fiml.CASEWISE_BLOCK_ROWS`)
    gives the numbers of the whole batch at once, bit for bit (several widths of missing
    sets: patterns with 1 to 5 missing variables)."""
    rng = np.random.default_rng(6)
    y = rng.normal(size=(700, 9)) @ rng.normal(size=(9, 9)) + 1.0
    for i, k in enumerate(rng.integers(0, 6, size=700)):
        y[i, rng.choice(9, size=k, replace=False)] = np.nan
    cd = CaseDesign(y)
    idx = rng.integers(0, 700, 700)
    mu = np.nanmean(y, axis=0) + 0.05
    sigma = np.cov(np.where(np.isnan(y), mu, y).T) + 0.3 * np.eye(9)
    ref = cd.resample(idx).value_and_gradient(mu, sigma)
    assert len(cd.resample(idx).batches) >= 3
    monkeypatch.setattr(fiml, "CASEWISE_BLOCK_ROWS", rows)
    new = cd.resample(idx).value_and_gradient(mu, sigma)
    for a, b in zip(new, ref):
        np.testing.assert_array_equal(a, b)
    # and the same as the pattern-wise log-likelihood of the resample
    ll_ref = MissingPatterns(y[idx]).value_and_gradient(mu, sigma)[0]
    assert new[0] == pytest.approx(ll_ref, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# branch mem10: one data array for the fits of the same values (sample.sample_stats)
# ---------------------------------------------------------------------------------------------
def _frame(seed=3, n=300):
    """Items with missing cells, rows missing on every item, an integer item and a group
    column with a missing label."""
    import pandas as pd
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, 6)) @ rng.normal(size=(6, 6)) + 3.0
    y[rng.random(y.shape) < 0.15] = np.nan
    y[[5, 40, 41]] = np.nan                         # empty rows: dropped under FIML
    df = pd.DataFrame(y, columns=[f"v{i}" for i in range(6)],
                      index=[f"c{i}" for i in range(n)])
    df["k"] = rng.integers(1, 6, size=n)            # an integer column (converted)
    df["g"] = rng.choice([2.0, 1.0], size=n)
    df.loc[df.index[7], "g"] = np.nan
    return df


def _stats_pair(monkeypatch, df, ov, **kw):
    monkeypatch.setattr(smp, "SHARE_DATA", False)
    ref = smp.sample_stats(df, ov, **kw)
    monkeypatch.setattr(smp, "SHARE_DATA", True)
    return smp.sample_stats(df, ov, **kw), ref


@pytest.mark.parametrize("missing", ["fiml", "listwise"])
@pytest.mark.parametrize("group", [None, "g"])
@pytest.mark.parametrize("ov", [["v0", "v1", "v2", "v3", "v4", "v5"],
                                ["v0", "v1", "k", "v3", "v4", "v5"]])
def test_shared_sample_arrays_equal_the_copies(monkeypatch, missing, group, ov):
    """Each group's array, ids and moments equal those of the copy every fit made before,
    bit for bit; a second call with the same values gets the same (read-only) array."""
    df = _frame()
    new, ref = _stats_pair(monkeypatch, df, ov, group=group, missing=missing)
    again = smp.sample_stats(df.copy(), ov, group=group, missing=missing)
    assert new.group_labels == ref.group_labels
    assert len(new.groups) == (2 if group else 1)
    for a, b, c in zip(new.groups, ref.groups, again.groups):
        assert a.data.shape == b.data.shape and a.nobs == b.nobs
        np.testing.assert_array_equal(a.data.view(np.uint64), b.data.view(np.uint64))
        np.testing.assert_array_equal(a.case_ids, b.case_ids)
        np.testing.assert_array_equal(a.mean, b.mean)
        np.testing.assert_array_equal(a.cov, b.cov)
        assert a.h1_logl == b.h1_logl or (np.isnan(a.h1_logl) and np.isnan(b.h1_logl))
        assert not a.data.flags.writeable and b.data.flags.writeable
        assert c.data is a.data                        # one array for both
    if missing == "fiml" and "k" not in ov:            # the empty rows are gone, as before
        assert sum(g.nobs for g in new.groups) == len(df) - 3 - (1 if group else 0)
    if missing == "listwise":
        assert all(np.isfinite(g.data).all() for g in new.groups)


def test_shared_sample_arrays_only_for_the_same_values(monkeypatch):
    """Other columns, another order, other rows or one changed cell: another array."""
    df = _frame()
    ov = ["v0", "v1", "v3"]
    base = smp.sample_stats(df, ov, missing="fiml").groups[0].data
    assert smp.sample_stats(df, ["v1", "v0", "v3"], missing="fiml").groups[0].data is not base
    assert smp.sample_stats(df.iloc[1:], ov, missing="fiml").groups[0].data is not base
    assert smp.sample_stats(df, ov, missing="listwise").groups[0].data is not base
    changed = df.copy()
    changed.iloc[0, 0] = changed.iloc[0, 0] + 1e-12
    other = smp.sample_stats(changed, ov, missing="fiml").groups[0].data
    assert other is not base and other[0, 0] != base[0, 0]
    np.testing.assert_array_equal(other[1:], base[1:])
    assert smp.sample_stats(df, ov, missing="fiml").groups[0].data is base


def test_shared_array_freed_with_its_fits(monkeypatch):
    """The table holds the arrays weakly: when no fit holds one, it is gone."""
    import gc
    df = _frame(seed=9)
    before = set(smp._SHARED.keys())
    ss = smp.sample_stats(df, ["v0", "v2"], missing="fiml")
    added = set(smp._SHARED.keys()) - before
    assert len(added) == 1        # this fit's array (its values are new to the table)
    del ss
    gc.collect()
    # only this array is checked: other tests' arrays may be freed by the same collection
    assert not (added & set(smp._SHARED.keys()))


def test_measurement_and_structural_fits_share_one_array_same_numbers(monkeypatch):
    """A CFA and a structural model of the same items (the measurement and structural steps)
    hold one array; both fits' estimates, SEs and fit measures equal those of fits with a copy
    each, bit for bit (MLR, FIML)."""
    import psychometrics as pm
    hs = load("hs1939.csv")
    rng = np.random.default_rng(21)
    items = [f"x{i}" for i in range(1, 10)]
    y = hs[items].to_numpy(float).copy()
    y[rng.random(y.shape) < 0.05] = np.nan
    hs = hs.copy()
    hs[items] = y
    cfa_model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

    def fits():
        fiml._PATTERN_CACHE.clear()
        fiml._PATTERN_WEAK.clear()
        fiml._EM_CACHE.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = pm.cfa(cfa_model, hs, estimator="MLR", missing="fiml")
            s = pm.sem(MEDIATION, hs, estimator="MLR", missing="fiml")
        return m, s
    monkeypatch.setattr(smp, "SHARE_DATA", False)
    ref = fits()
    assert ref[0].sample.groups[0].data is not ref[1].sample.groups[0].data
    monkeypatch.setattr(smp, "SHARE_DATA", True)
    new = fits()
    assert new[0].sample.groups[0].data is new[1].sample.groups[0].data
    for a, b in zip(new, ref):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a._robust_se, b._robust_se)
        fa, fb = a.fit_measures(), b.fit_measures()
        for k in fb:
            if isinstance(fb[k], float) and np.isfinite(fb[k]):
                assert fa[k] == fb[k], k
