"""The MCD of large samples (issue 13): at most five first-stage subsets of 300 cases, as
Rousseeuw & Van Driessen (1999) and robustbase::covMcd, instead of scikit-learn's n / 300."""
import numpy as np
import pytest
from sklearn.covariance import MinCovDet

import psychometrics.screening as sc


def _data(n, p=8, seed=1):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 2))
    lam = np.zeros((p, 2))
    lam[:p // 2, 0] = lam[p // 2:, 1] = 0.7
    x = f @ lam.T + rng.standard_normal((n, p)) * 0.71
    x[:n // 50] += 4                                   # 2 % contamination
    return np.round(x * 1.2 + 3)


def test_small_samples_are_scikit_learn():
    x = _data(1200)
    a, b = sc._min_cov_det(x, 3), MinCovDet(random_state=3).fit(x)
    assert np.array_equal(a.covariance_, b.covariance_)
    assert np.array_equal(a.support_, b.support_)


def test_capped_algorithm_is_scikit_learns_with_as_many_subsets(monkeypatch):
    """With n = 2,100 scikit-learn uses seven subsets of exactly 300 cases: allowed seven, the
    capped code must reproduce it bit for bit (the same random numbers, C-steps, correction
    and reweighting)."""
    x = _data(2100)
    monkeypatch.setattr(sc, "MCD_MAX_SUBSETS", 7)
    a, b = sc._min_cov_det(x, 0), MinCovDet(random_state=0).fit(x)
    assert np.array_equal(a.location_, b.location_)
    assert np.array_equal(a.covariance_, b.covariance_)
    assert np.array_equal(a.raw_covariance_, b.raw_covariance_)
    assert np.array_equal(a.support_, b.support_)
    assert np.array_equal(a.dist_, b.dist_)


def test_capped_close_to_scikit_learn():
    x = _data(6000)
    a, b = sc._min_cov_det(x, 0), MinCovDet(random_state=0).fit(x)
    # the same minimum (the MCD objective: log det of the raw covariance) up to 1 %
    la, lb = np.linalg.slogdet(a.raw_covariance_)[1], np.linalg.slogdet(b.raw_covariance_)[1]
    assert abs(la - lb) < 0.01
    assert np.abs(a.location_ - b.location_).max() < 0.02
    assert np.abs(a.covariance_ - b.covariance_).max() < 0.02
    res = sc.mahalanobis_outliers(x, method="mcd")
    assert res.n_outliers >= len(x) // 50 * 0.9         # the contaminated cases are found
