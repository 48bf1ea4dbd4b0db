"""Fast paths of the demo's last second (issue 13), each against the path it replaces."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def hs_missing():
    d = pd.read_csv(DATA / "hs1939.csv")
    cols = [f"x{i}" for i in range(1, 10)]
    rng = np.random.default_rng(5)
    return d[cols].mask(rng.random((len(d), 9)) < 0.1).to_numpy(dtype=float)


@pytest.mark.parametrize("f", [1.0, 0.37])
def test_fiml_h1_pieces_shortened_products_equal_the_products_as_written(hs_missing, f):
    """``w x w = f Wc`` and ``x w Gamma = Wmi Wc Gamma``: the five-product path gives the
    eight-product path's matrices and trace term."""
    from psychometrics.sem.fiml import MissingPatterns
    from psychometrics.sem.robust import GroupMoments, _fiml_h1_pieces
    pats = MissingPatterns(hs_missing)
    mu, sigma, _, ok = pats.em()
    assert ok
    p = hs_missing.shape[1]
    g = GroupMoments(pats, sigma, mu, sigma, mu, np.eye(p + p * (p + 1) // 2))
    new, old = _fiml_h1_pieces(g, f), _fiml_h1_pieces(g, f, fast=False)
    for k in ("Wc", "Wmi", "X", "G", "Wm_g", "XWG"):
        np.testing.assert_allclose(new[k], old[k], rtol=0, atol=1e-10 * np.abs(old[k]).max())
    assert new["t1"] == pytest.approx(old["t1"], rel=1e-10)


def _em_data(n, p, rate, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    x = rng.multivariate_normal(rng.normal(size=p), a @ a.T + p * np.eye(p), size=n)
    x[rng.random(x.shape) < rate] = np.nan
    return x[~np.isnan(x).all(axis=1)]


def test_spd_inverse_equals_the_lu_inverse_and_flags_indefinite_matrices():
    from psychometrics._measurement import _spd_inverse
    rng = np.random.default_rng(2)
    a = rng.normal(size=(6, 40, 9))
    s = a.transpose(0, 2, 1) @ a / 40
    s[2] -= 2 * np.eye(9) * np.linalg.eigvalsh(s[2])[0]        # indefinite (still invertible)
    s[2] = s[2] - 1.5 * np.linalg.eigvalsh(s[2])[-1] * np.outer(np.eye(9)[0], np.eye(9)[0])
    k, pd = _spd_inverse(s)
    k0, pd0 = _spd_inverse(s, exact=True)
    assert pd.tolist() == pd0.tolist() == [True, True, False, True, True, True]
    np.testing.assert_array_equal(k0, np.linalg.inv(s))
    np.testing.assert_allclose(k, k0, rtol=0, atol=1e-12 * np.abs(k0).max())


@pytest.mark.parametrize("rate", [0.05, 0.15])
def test_em_batch_cholesky_inverses_give_the_lu_path_estimates(rate):
    """The EM of the HTMT bootstrap with Cholesky inverses (and the extrapolation check's
    factors reused) converges to the estimates of the ``np.linalg.inv`` path."""
    from psychometrics._measurement import _EMCases, _boot_weights, _em_batch
    from psychometrics.sem.fiml import MissingPatterns
    x = _em_data(150, 12, rate, 4)
    mu0, s0, _, ok = MissingPatterns(x).em()
    assert ok
    w = _boot_weights(np.random.default_rng(1), len(x), 30)
    cs = _EMCases(x)
    mu, sig, ok1 = _em_batch(x, w, (mu0, s0), cases=cs)
    mu_o, sig_o, ok0 = _em_batch(x, w, (mu0, s0), cases=cs, exact_inverse=True)
    assert ok1 and ok0
    np.testing.assert_allclose(mu, mu_o, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sig, sig_o, rtol=1e-8, atol=1e-10 * np.abs(sig_o).max())
