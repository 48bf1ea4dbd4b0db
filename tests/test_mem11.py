"""Branch mem11 (issue 13, a 10^6-case study within 2 GB):

* :class:`fiml.CaseDesign` / :class:`fiml.CasewiseFIML` take a draw's rows in fixed blocks of
  the design's rows (:data:`fiml.CASE_BLOCK`) and read the incomplete rows from the data at
  each evaluation: with one block the numbers are those of the former kernel (held centred
  rows), bit for bit; with many tiny blocks they agree to 1e-10 relative.
* :func:`jsonfile.write_json` writes results.json in pieces, the same bytes as
  :func:`jsonfile.render_json`.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.report.jsonfile import render_json, write_json
from psychometrics.sem import fiml
from psychometrics.sem.fiml import CaseDesign, CasewiseFIML, MissingPatterns


def _data(n=800, p=8, seed=3):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + 2.0
    for i, k in enumerate(rng.integers(0, 6, size=n)):          # 0-5 missing a row
        y[i, rng.choice(p, size=k, replace=False)] = np.nan
    y[5] = np.nan                                                # an empty row
    return y


def _point(y):
    mu = np.nanmean(y, axis=0) + 0.05
    sigma = np.cov(np.where(np.isnan(y), mu, y).T) + 0.3 * np.eye(y.shape[1])
    return mu, sigma


def _held(cd, rows):
    """The former kernel: the draw's incomplete rows held centred with their mask."""
    counts = np.bincount(rows, minlength=cd.n).astype(float)
    cc = counts[cd.complete]
    sel = cc > 0
    yc, obs = cd._centred(cd.complete[sel])
    wc = cc[sel]
    ci = counts[cd.incomplete]
    use = ci > 0
    yi, oi = cd._centred(cd.incomplete[use])
    return CasewiseFIML(cd.p, float(wc.sum()), wc @ yc, (yc * wc[:, None]).T @ yc, yi, oi,
                        ci[use], cd.pattern_of[use], cd.masks, cd.center)


def test_one_block_same_bits_as_held_rows():
    y = _data()
    cd = CaseDesign(y)
    mu, sigma = _point(y)
    rng = np.random.default_rng(1)
    for _ in range(3):
        rows = rng.integers(0, len(y), len(y))
        new = cd.resample(rows)
        assert len(new.blocks) == 1
        for grad in (True, False):
            for a, b in zip(new.value_and_gradient(mu, sigma, grad),
                            _held(cd, rows).value_and_gradient(mu, sigma, grad)):
                if a is None:
                    assert b is None
                else:
                    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("block", [1, 3, 50, 257])
def test_blocks_agree_with_one_block(monkeypatch, block):
    y = _data()
    cd = CaseDesign(y)
    mu, sigma = _point(y)
    rows = np.random.default_rng(2).integers(0, len(y), len(y))
    ref = cd.resample(rows)
    monkeypatch.setattr(fiml, "CASE_BLOCK", block)
    new = cd.resample(rows)
    assert len(new.blocks) > 1
    assert new.nc == ref.nc
    np.testing.assert_allclose(new.s1c, ref.s1c, rtol=1e-12, atol=1e-12 * np.abs(ref.s1c).max())
    np.testing.assert_allclose(new.s2c, ref.s2c, rtol=1e-12)
    for a, b in zip(new.value_and_gradient(mu, sigma), ref.value_and_gradient(mu, sigma)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.max(np.abs(b)))
    # and the pattern-wise log-likelihood of the resample
    ll = MissingPatterns(y[rows][~np.isnan(y[rows]).all(axis=1)]).value_and_gradient(mu, sigma)[0]
    assert new.value_and_gradient(mu, sigma)[0] == pytest.approx(ll, rel=1e-10)


def test_blocks_follow_the_design_rows_not_the_draw(monkeypatch):
    """A block holds the draw's cases among the design's rows b*B .. (b+1)*B - 1."""
    monkeypatch.setattr(fiml, "CASE_BLOCK", 40)
    y = _data()
    cd = CaseDesign(y)
    rows = np.random.default_rng(3).integers(0, len(y), len(y))
    k = cd.resample(rows)
    for s, e, _ in k.blocks:
        pos = np.searchsorted(cd.incomplete, k.rows[s:e])
        assert len(set((pos // 40).tolist())) == 1
    assert k.blocks[-1][1] == len(k.ci)


def test_blocked_bootstrap_close_and_same_whatever_the_workers(monkeypatch):
    """A FIML structural bootstrap with tiny blocks: draws within 1e-8 of one block's, and
    the same draws in one and in two processes."""
    from _robust_cfa import load
    from psychometrics.sem import bootstrap as bs
    from psychometrics.sem import sem as sem_fit
    hs = load("hs1939.csv")
    items = [f"x{i}" for i in range(1, 10)]
    rng = np.random.default_rng(13)
    y = hs[items].to_numpy(float).copy()
    y[rng.random(y.shape) < 0.06] = np.nan
    hs = hs.copy()
    hs[items] = y
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    fit = sem_fit(model, hs, missing="fiml")
    monkeypatch.setattr(bs, "BATCHED", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = bs.bootstrap(fit, R=4, seed=5, n_jobs=1)
        monkeypatch.setattr(fiml, "CASE_BLOCK", 16)
        one = bs.bootstrap(fit, R=4, seed=5, n_jobs=1)
        monkeypatch.setattr(bs, "REFIT_MEMORY", 10 * bs._refit_bytes(fit.sample))
        monkeypatch.setattr(bs, "_available_memory", lambda: None)
        two = bs.bootstrap(fit, R=4, seed=5, n_jobs=2)
    np.testing.assert_array_equal(two.draws, one.draws)
    np.testing.assert_allclose(one.draws, ref.draws, rtol=1e-8, atol=1e-8)


def _results():
    return {"meta": {"n": np.int64(5), "x": np.float64(np.nan), "empty": {}, "l": []},
            "tables": {"t": {"frame": pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "ü"]}),
                             "series": pd.Series([1.5, 2.5], index=["p", "q"])}},
            "efa": {"s": {"split_half": {"efa_index": list(range(500)),
                                         "arr": np.arange(6.0).reshape(2, 3)}}},
            "deep": {"a": {"b": {"c": {"d": {"e": [1, {"f": None}]}}}}},
            "odd": {1: "int key", "k": True},
            "data": {"changes": [{"file": "d.csv", "row": i, "column": "q1", "old": "9",
                                  "new": None, "reason": "out of range"} for i in range(300)]}}


def test_write_json_same_bytes_as_render_json(tmp_path):
    res = _results()
    text = render_json(res, tmp_path / "old.json")
    write_json(res, tmp_path / "new.json")
    assert (tmp_path / "new.json").read_bytes() == (tmp_path / "old.json").read_bytes()
    assert json.loads((tmp_path / "new.json").read_text(encoding="utf-8")) == json.loads(text)


def test_write_json_small_and_empty(tmp_path):
    res = {"a": {"b": 1}, "c": [1, 2]}
    write_json(res, tmp_path / "new.json")
    assert (tmp_path / "new.json").read_text(encoding="utf-8") == render_json(res) + "\n"
    write_json({}, tmp_path / "empty.json")
    assert (tmp_path / "empty.json").read_text(encoding="utf-8") == "{}\n"


@pytest.mark.parametrize("block", [7, 100, 65_536])
def test_case_design_read_in_blocks_same_bits(monkeypatch, block):
    """The design's centre, row lists and patterns read in blocks of rows equal those of
    the whole array at once (np.nanmean, np.unique of the masks), bit for bit."""
    monkeypatch.setattr(fiml, "CASE_BLOCK", block)
    y = _data(n=900, p=7, seed=9)
    y[:, 3] = np.nan                                            # an empty column
    cd = CaseDesign(y)
    miss = np.isnan(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        center = np.where(~miss.all(axis=0), np.nanmean(y, axis=0), 0.0)
    np.testing.assert_array_equal(cd.center, center)
    nmiss = miss.sum(axis=1)
    np.testing.assert_array_equal(cd.complete, np.flatnonzero(nmiss == 0))
    inc = np.flatnonzero((nmiss > 0) & (nmiss < 7))
    np.testing.assert_array_equal(cd.incomplete, inc)
    keys, inverse = np.unique(~miss[inc], axis=0, return_inverse=True)
    np.testing.assert_array_equal(cd.masks, keys)
    np.testing.assert_array_equal(cd.pattern_of, np.asarray(inverse).ravel())
