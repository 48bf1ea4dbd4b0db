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
