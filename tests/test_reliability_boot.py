"""The omega bootstrap's batched path against the single-matrix path it replaces (issue 13).

The batched factor fits (minres, varimax, oblimin, Schmid-Leiman over a stack of bootstrap
correlation matrices) must give each draw the numbers of ``_omega_core`` on that draw's matrix,
whatever the chunking; the pairwise moments must be the weighted sums they stand for, without
n x p^2 arrays.
"""
from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics import _measurement as meas
from psychometrics import reliability as rel
from psychometrics._measurement import _boot_weights, _weighted_pairwise_moments

HERE = Path(__file__).parent
BFI = pd.read_csv(HERE / "data" / "bfi.csv")
HS = pd.read_csv(HERE / "data" / "hs1939.csv")
STATS = ("omega_tot", "omega_h", "alpha", "G6")


def _single_path(cors, nf, flip):
    """The old bootstrap loop: ``_omega_core`` draw by draw (NaN row where it raises)."""
    out = np.full((len(cors), 4), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, rb in enumerate(cors):
            try:
                if not np.all(np.isfinite(rb)):
                    raise np.linalg.LinAlgError
                cb = rel._omega_core(rb, nf, flip=flip)
            except (np.linalg.LinAlgError, ValueError):
                continue
            out[i] = [cb[k] for k in STATS]
    return out


def _boot_cors(items, n_boot, seed):
    arr = rel._prepare(items)[0].to_numpy()
    w = _boot_weights(np.random.default_rng(seed), arr.shape[0], n_boot)
    return _weighted_pairwise_moments(arr, w)[1]


CASES = {
    "one factor, BFI N": (BFI[[f"N{i}" for i in range(1, 6)]], 1, True, 200),
    "one factor, two items reversed by flip": (BFI[[f"C{i}" for i in range(1, 6)]], 1, True, 200),
    "one factor, keys given (no flip)": (BFI[[f"C{i}" for i in range(1, 6)]], 1, False, 100),
    "HS, 2 group factors": (HS[[f"x{i}" for i in range(1, 10)]], 2, True, 150),
    "HS, 3 group factors": (HS[[f"x{i}" for i in range(1, 10)]], 3, True, 120),
    "BFI 25 items, 5 group factors": (BFI.iloc[:600, 1:26], 5, True, 40),
    "small n, Heywood-prone": (HS[[f"x{i}" for i in range(1, 10)]].head(40), 3, True, 120),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_batched_draws_equal_the_single_matrix_path(case):
    items, nf, flip, n_boot = CASES[case]
    cors = _boot_cors(items, n_boot, seed=11)
    vals, failed = rel._omega_boot_chunk(cors, nf, flip)
    ref = _single_path(cors, nf, flip)
    np.testing.assert_array_equal(failed, np.isnan(ref).all(axis=1))
    np.testing.assert_allclose(vals[~failed], ref[~failed], rtol=0, atol=1e-10)


def test_same_draws_whatever_the_chunk():
    arr = rel._prepare(HS[[f"x{i}" for i in range(1, 10)]])[0].to_numpy()
    runs = [rel._omega_boot(arr, 3, True, 40, seed=4, chunk=c) for c in (1, 7, 40, 1000)]
    for vals, failed in runs[1:]:
        assert failed == runs[0][1]
        np.testing.assert_allclose(vals, runs[0][0], rtol=0, atol=1e-13)


def test_omega_ci_is_the_quantile_of_the_single_path_draws():
    items = HS[[f"x{i}" for i in range(1, 10)]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = pm.omega(items, n_groups=3, n_boot=80, seed=9)
    ref = _single_path(_boot_cors(items, 80, seed=9), 3, True)
    for j, k in enumerate(("omega_total", "omega_hierarchical", "alpha", "G6")):
        np.testing.assert_allclose(o.ci[k], np.quantile(ref[:, j], [0.025, 0.975]), rtol=0,
                                   atol=1e-10)


def test_unusable_draws_and_failing_batches_take_the_single_path(monkeypatch):
    items = HS[[f"x{i}" for i in range(1, 10)]]
    cors = _boot_cors(items, 12, seed=2)
    cors[3, 0, 1] = cors[3, 1, 0] = np.nan                  # a draw that cannot be analysed
    vals, failed = rel._omega_boot_chunk(cors, 3, True)
    assert failed.tolist() == [i == 3 for i in range(12)]
    ref = _single_path(cors, 3, True)
    np.testing.assert_allclose(vals[~failed], ref[~failed], rtol=0, atol=1e-10)

    def broken(*a, **k):
        raise np.linalg.LinAlgError("singular")
    monkeypatch.setattr(rel, "_omega_boot_batch", broken)
    vals2, failed2 = rel._omega_boot_chunk(cors, 3, True)
    np.testing.assert_array_equal(failed2, failed)
    np.testing.assert_array_equal(vals2[~failed], ref[~failed])


def test_batched_minres_falls_back_like_the_single_path(monkeypatch):
    """A draw whose projected Newton fails goes to ``_minres`` (and its L-BFGS-B fallback)."""
    cors = _boot_cors(HS[[f"x{i}" for i in range(1, 10)]], 6, seed=3)
    newton = rel._minres_batch(cors, 3)
    monkeypatch.setattr(rel, "_minres_eval_batch", lambda r, psi, nf, hess: (
        np.zeros(len(r), dtype=bool), np.zeros(len(r)), np.zeros(psi.shape), None,
        np.zeros(psi.shape), np.zeros(r.shape)))
    monkeypatch.setattr(rel, "_minres_newton", lambda r, nf, start, lo, hi: (start, False))
    fallback = rel._minres_batch(cors, 3)
    expected = np.array([rel._minres(r, 3)[0] for r in cors])
    np.testing.assert_array_equal(fallback, expected)
    np.testing.assert_allclose(np.abs(fallback), np.abs(newton), atol=1e-5)


@pytest.mark.parametrize("missing", [0.0, 0.2])
@pytest.mark.parametrize("n_boot", [4, 20])     # per-resample products / the cases' p x p products
def test_weighted_pairwise_moments_are_the_weighted_sums(missing, n_boot, monkeypatch):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(90, 5)) * [1, 2, 3, 4, 5] + 1e4
    x[rng.random(x.shape) < missing] = np.nan
    w = _boot_weights(rng, 90, n_boot)
    cov, cor = _weighted_pairwise_moments(x, w)
    for b in range(0, n_boot, 3):
        df = pd.DataFrame(np.repeat(x, w[b].astype(int), axis=0))
        np.testing.assert_allclose(cov[b], df.cov().to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(cor[b], df.corr().to_numpy(), rtol=1e-9)
    for block in (1, 7, 89):
        c2, r2 = _weighted_pairwise_moments(x, w, block=block)
        np.testing.assert_allclose(c2, cov, rtol=1e-12)
        np.testing.assert_allclose(r2, cor, rtol=1e-12, atol=1e-14)
    monkeypatch.setattr(meas, "PAIRWISE_PRODUCTS_FROM", 1 if n_boot < 16 else 10_000)
    c3, r3 = _weighted_pairwise_moments(x, w)          # the other way of forming the sums
    np.testing.assert_allclose(c3, cov, rtol=1e-12)
    np.testing.assert_allclose(r3, cor, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n, n_boot", [(20_000, 2), (4_000, 20)])
def test_weighted_pairwise_moments_memory_does_not_grow_as_n_p2(n, n_boot):
    """n cases x 30 items: the old four n x p^2 arrays were 576 MB at 20,000 cases (and 9 GB a
    batch at 1,000,000 cases of 34 items); now at most about a million numbers at a time."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 30))
    x[rng.random(x.shape) < 0.05] = np.nan
    w = _boot_weights(rng, n, n_boot)
    tracemalloc.start()
    try:
        _weighted_pairwise_moments(x, w)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30e6 + 4 * x.nbytes, f"peak {peak / 1e6:.0f} MB"
