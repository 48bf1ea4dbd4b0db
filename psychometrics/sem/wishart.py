"""``likelihood = "wishart"`` (lavaan's option; the convention of AMOS and LISREL).

The sample covariance matrices are the unbiased ones (N_g - 1 in the denominator) instead of
lavaan's default N, and the test statistic, RMSEA and standard errors use N - G instead of N
(chi-square = 2 (N - G) F_ML).  The log-likelihoods are evaluated at the unbiased S with N
cases, AIC and BIC follow from them (BIC with N), as lavaan reports them.
"""
from __future__ import annotations

from ..errors import ModelError
from .sample import SampleStats, saturated_logl


def use_wishart(sample: SampleStats, likelihood: str, estimator: str, missing: str) -> None:
    """Switch ``sample`` to the Wishart convention in place (see the module docstring)."""
    lik = str(likelihood).lower()
    if lik not in ("normal", "wishart"):
        raise ModelError(f"likelihood must be 'normal' or 'wishart', got {likelihood!r}")
    if lik == "normal":
        return
    if estimator != "ML" or missing != "listwise":
        raise ModelError("likelihood='wishart' is for ML with complete data (estimator='ML', "
                         "missing='listwise'), as in lavaan")
    for g in sample.groups:
        f = g.nobs / (g.nobs - 1)
        g.cov = g.cov * f
        g.h1_cov = g.cov
        g.h1_logl = saturated_logl(g.nobs, g.cov)


def test_n_minus_one(fit) -> float:
    """The test statistic 2 sum_g (N_g - 1) F_g, each group's discrepancy F_g weighted by its
    N_g - 1: lavaan's statistic with ``likelihood = "wishart"`` and for GLS and ULS."""
    obj = fit.objective
    implied = fit.model.implied(fit.x)
    w0 = list(obj.w)
    total = 0.0
    try:
        for k, gs in enumerate(fit.sample.groups):
            obj.w = [1.0 if j == k else 0.0 for j in range(len(w0))]
            total += 2 * (gs.nobs - 1) * obj.value(implied)
    finally:
        obj.w = w0
    return float(total)
