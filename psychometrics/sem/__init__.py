"""The CFA/SEM engine (lavaan-compatible ML estimation; see CONTRIBUTING.md for the contract).

Public functions: :func:`cfa`, :func:`sem`, :func:`parse_model`; the fitted object is
:class:`CFAFit`.  Numbers follow lavaan 0.6-14 (``cfa()``, ``sem()``, ``parameterEstimates``,
``fitMeasures``, ``modindices``).
"""
from __future__ import annotations

from .results import CFAFit, fit_model
from .syntax import parse_model
from .._blas import single_blas_thread

__all__ = ["cfa", "sem", "parse_model", "CFAFit"]


def _ordinal(ordered, estimator) -> bool:
    if ordered is None or ordered is False:
        return False
    if isinstance(ordered, (list, tuple)) and not ordered:
        return False
    return True


@single_blas_thread
def cfa(model, data=None, group=None, estimator="ML", missing="listwise", group_equal=(),
        group_partial=(), std_lv=False, orthogonal=False, meanstructure=None, *,
        sample_cov=None, sample_mean=None, sample_nobs=None, sample_sd=None, likelihood="normal",
        ordered=None, parameterization="delta"):
    """Fit a confirmatory factor model as ``lavaan::cfa()``.

    ``model``: lavaan model syntax; ``data``: a DataFrame; ``group``: column defining groups
    (order of first appearance); ``group_equal``: any of "loadings", "intercepts", "means",
    "residuals", "residual.covariances", "lv.variances", "lv.covariances", "regressions";
    ``group_partial``: parameters exempt from them (e.g. "x3~1", "f1=~x2"); ``std_lv``: fix
    latent variances to 1 instead of the first loading; ``orthogonal``: uncorrelated factors.
    Returns a :class:`CFAFit` (``parameters()``, ``fit_measures()``, ``modindices()``, ...).
    Numerical trouble is recorded in ``fit.diagnostics`` (and warned), never raised.
    Without raw data: ``sample_cov`` (a covariance matrix, or correlations with
    ``sample_sd``; a dict {group: matrix} for several groups), ``sample_mean``,
    ``sample_nobs``, as lavaan's ``sample.cov``/``sample.mean``/``sample.nobs`` (ML only;
    psychometrics/sem/moments.py).  ``likelihood="wishart"``: S with N - 1 in the denominator
    and N - G in the test statistic and standard errors, as AMOS/LISREL and lavaan's
    ``likelihood = "wishart"`` (ML, complete data; psychometrics/sem/wishart.py).
    ``estimator="GLS"`` or ``"ULS"``: lavaan's least-squares estimators for complete
    continuous data (psychometrics/sem/ls.py).

    ``ordered``: True (every indicator) or a list of ordinal columns, as lavaan's
    ``ordered=``: the model is fitted to polychoric correlations and thresholds by
    ``estimator`` "WLSMV" (the default for ordered data; also "WLSM", "WLSMVS", "DWLS",
    "ULSMV", "ULSM", "ULSMVS", "ULS"), ``parameterization`` "delta" or "theta",
    ``missing`` "listwise" or "pairwise"; ``group_equal`` may include "thresholds".  Returns an
    :class:`~psychometrics.sem.ordinal_fit.OrdinalCFAFit`.
    """
    if _ordinal(ordered, estimator):
        from .ordinal_fit import fit_ordinal
        est = "WLSMV" if str(estimator).upper() == "ML" else estimator
        return fit_ordinal(model, data, ordered=ordered, group=group, estimator=est,
                           missing=missing, group_equal=group_equal, group_partial=group_partial,
                           std_lv=std_lv, orthogonal=orthogonal, parameterization=parameterization)
    return fit_model(model, data, group=group, estimator=estimator, missing=missing,
                     group_equal=group_equal, group_partial=group_partial, std_lv=std_lv,
                     orthogonal=orthogonal, meanstructure=meanstructure, model_type="cfa",
                     moments=_moments(sample_cov, sample_mean, sample_nobs, sample_sd),
                     likelihood=likelihood)


@single_blas_thread
def sem(model, data=None, group=None, estimator="ML", missing="listwise", group_equal=(),
        group_partial=(), std_lv=False, orthogonal=False, meanstructure=None, *,
        sample_cov=None, sample_mean=None, sample_nobs=None, sample_sd=None, likelihood="normal",
        ordered=None, parameterization="delta"):
    """Fit a structural equation model as ``lavaan::sem()`` (same defaults as :func:`cfa` in
    lavaan 0.6-14; exogenous observed covariates are fixed.x).  Returns a :class:`CFAFit`
    (with ``ordered=``: WLSMV on ordinal indicators, as :func:`cfa`)."""
    if _ordinal(ordered, estimator):
        from .ordinal_fit import fit_ordinal
        est = "WLSMV" if str(estimator).upper() == "ML" else estimator
        return fit_ordinal(model, data, ordered=ordered, group=group, estimator=est,
                           missing=missing, group_equal=group_equal, group_partial=group_partial,
                           std_lv=std_lv, orthogonal=orthogonal, parameterization=parameterization,
                           model_type="sem")
    return fit_model(model, data, group=group, estimator=estimator, missing=missing,
                     group_equal=group_equal, group_partial=group_partial, std_lv=std_lv,
                     orthogonal=orthogonal, meanstructure=meanstructure, model_type="sem",
                     moments=_moments(sample_cov, sample_mean, sample_nobs, sample_sd),
                     likelihood=likelihood)


def _moments(sample_cov, sample_mean, sample_nobs, sample_sd):
    if sample_cov is None:
        return None
    return {"sample_cov": sample_cov, "sample_mean": sample_mean, "sample_nobs": sample_nobs,
            "sample_sd": sample_sd}
