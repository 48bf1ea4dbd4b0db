"""Factor scores and their determinacy, as ``psych::factor.scores``.

Score weights W (items x factors) are applied to the standardised items (R's ``scale(x)``:
column means and standard deviations of the available values); a case with a missing item
gets no score (NaN), as psych does without imputation.  Methods (S = L Phi the structure,
R the item correlations, U2 = diag(1 - h2)):

* ``"regression"`` (Thurstone 1935): W = R^-1 S.
* ``"bartlett"`` (Bartlett 1937): W = U2^-1 L (L' U2^-1 L)^-1 -- unbiased scores.
* ``"anderson"`` (Anderson & Rubin 1956): W = U2^-1 L (L' U2^-1 R U2^-1 L)^-1/2 --
  uncorrelated, unit-variance scores (meant for orthogonal solutions).
* ``"tenberge"`` (ten Berge, Krijnen, Wansbeek & Shapiro 1999): correlation-preserving
  scores, W = R^-1/2 C Phi^1/2 with C = R^-1/2 L* (L*' R^-1 L*)^-1/2, L* = L Phi^1/2.

Determinacy (Guttman 1955; Grice 2001): ``r2`` is psych's ``R2`` = diag(W' S); for regression
weights it is the squared multiple correlation of each factor with the items, its square root
the correlation of the regression scores with the factor (psych's "Correlation of (regression)
scores with factors") and 2 R2 - 1 the minimum correlation between two sets of equally valid
factor scores.  ``validity`` = diag(W' S) / sqrt(diag(W' R W)) is the correlation of the
method's scores with the factor; ``r_scores`` the correlations among the scores.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import DataError, PsychometricsError
from .correlation import _SOURCE, _items_frame, _smooth

SCORE_METHODS = ("regression", "bartlett", "anderson", "tenberge")
_ALIASES = {"thurstone": "regression", "regression": "regression", "bartlett": "bartlett",
            "anderson": "anderson", "anderson-rubin": "anderson", "anderson_rubin": "anderson",
            "tenberge": "tenberge", "ten_berge": "tenberge", "ten berge": "tenberge"}


def _sym_power(m: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power through the eigendecomposition (psych's matSqrt / invMatSqrt:
    eigenvalues below machine precision are lifted to it)."""
    m = (m + m.T) / 2
    vals, vecs = np.linalg.eigh(m)
    vals = np.maximum(vals, np.finfo(float).eps)
    return (vecs * vals ** power) @ vecs.T


@dataclass
class FactorScoresResult:
    """Factor scores (:func:`factor_scores`).

    ``scores``: DataFrame (cases x factors; NaN for a case with a missing item); ``weights``:
    items x factors; ``r2``, ``determinacy`` (sqrt of the regression R2), ``min_correlation``
    (2 R2 - 1 of the regression scores), ``validity`` (correlation of these scores with the
    factors), all Series by factor; ``r_scores``: correlations among the scores; ``method``;
    ``n_scored``: cases with a score; ``warnings``.
    """

    scores: pd.DataFrame
    weights: pd.DataFrame
    r2: pd.Series
    determinacy: pd.Series
    min_correlation: pd.Series
    validity: pd.Series
    r_scores: pd.DataFrame
    method: str
    n_scored: int
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.scores

    def determinacy_table(self) -> pd.DataFrame:
        return pd.DataFrame({"r2": self.r2, "determinacy": self.determinacy,
                             "min_correlation": self.min_correlation, "validity": self.validity})

    def to_dict(self) -> dict:
        return jsonable({"method": self.method, "weights": self.weights, "r2": self.r2,
                         "determinacy": self.determinacy, "min_correlation": self.min_correlation,
                         "validity": self.validity, "r_scores": self.r_scores,
                         "n_scored": self.n_scored, "scores": self.scores, "warnings": self.warnings})


def score_weights(loadings: np.ndarray, phi: np.ndarray, r: np.ndarray, method: str) -> np.ndarray:
    """Factor score weights (items x factors) for ``method`` (see the module docstring)."""
    S = loadings @ phi
    if method == "regression":
        return np.linalg.solve(r, S)
    if method == "tenberge":
        Ls = loadings @ _sym_power(phi, 0.5)
        r5 = _sym_power(r, -0.5)
        rs = _smooth(r) if np.linalg.eigvalsh(r)[0] < np.finfo(float).eps else r
        inv_r = np.linalg.inv(rs)
        C = r5 @ Ls @ _sym_power(Ls.T @ inv_r @ Ls, -0.5)
        return r5 @ C @ _sym_power(phi, 0.5)
    u2 = 1 - np.diag(loadings @ phi @ loadings.T)
    if np.any(u2 <= 0):
        raise PsychometricsError(f"{method} scores need positive uniquenesses; a communality is >= 1 "
                                 "(Heywood case)")
    ul = loadings / u2[:, None]
    if method == "bartlett":
        return ul @ np.linalg.inv(loadings.T @ ul)
    if method == "anderson":
        return ul @ _sym_power(ul.T @ r @ ul, -0.5)
    raise PsychometricsError(f"unknown factor score method {method!r}")  # pragma: no cover


def factor_scores(data: Any, fit: Any, method: str = "regression", *, phi: Any = None,
                  correlation: Any = None) -> FactorScoresResult:
    """Factor scores of ``data`` for an EFA solution, as ``psych::factor.scores(x, f, method=)``.

    ``fit``: an :class:`~psychometrics.efa.EFAResult` (its loadings, factor correlations and
    correlation matrix are used) or a loadings matrix (items x factors DataFrame, then ``phi``
    defaults to the identity and ``correlation`` to the pairwise correlations of ``data``).
    ``method``: ``"regression"`` (Thurstone), ``"bartlett"``, ``"anderson"`` (Anderson-Rubin)
    or ``"tenberge"`` (ten Berge et al. 1999).  ``data`` must hold the fit's item columns.
    Returns a :class:`FactorScoresResult` with the scores, the weights and their determinacy.
    """
    m = _ALIASES.get(str(method).lower().replace("ö", "o"))
    if m is None:
        raise PsychometricsError(f"method {method!r} is not a factor score method; choose one of "
                                 f"{', '.join(SCORE_METHODS)}")
    rec: list = []
    if hasattr(fit, "loadings") and hasattr(fit, "phi"):
        L = fit.loadings
        phi_m = fit.phi.to_numpy(dtype=float)
        r = fit.correlation.to_numpy(dtype=float)
    else:
        L = fit if isinstance(fit, pd.DataFrame) else pd.DataFrame(np.asarray(fit, dtype=float))
        phi_m = np.eye(L.shape[1]) if phi is None else np.asarray(phi, dtype=float)
        r = None if correlation is None else np.asarray(correlation, dtype=float)
    items = [str(i) for i in L.index]
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{_SOURCE}: factor scores need a DataFrame with the item columns, got "
                        f"{type(data).__name__}")
    absent = [i for i in items if i not in [str(c) for c in data.columns]]
    if absent:
        raise DataError(f"{_SOURCE}: item column(s) of the solution not in the data: "
                        + ", ".join(map(repr, absent)))
    df = data.copy()
    df.columns = [str(c) for c in df.columns]
    x = _items_frame(df[items]).to_numpy(dtype=float)
    if r is None:
        from .correlation import _pairwise_cor
        r = _pairwise_cor(x)[0]
    lo = L.to_numpy(dtype=float)
    fnames = [str(c) for c in L.columns]
    w = score_weights(lo, phi_m, r, m)
    S = lo @ phi_m
    r2 = np.diag(w.T @ S).astype(float)
    # psych blanks R2 > 1 or <= 0 (impossible values); Bartlett's diag(W'S) is 1 up to rounding
    r2 = np.where((r2 > 1 + 1e-8) | (r2 <= 0), np.nan, np.minimum(r2, 1.0))
    r2_reg = np.diag(np.linalg.solve(r, S).T @ S)
    wrw = w.T @ r @ w
    sd = np.sqrt(np.diag(wrw))
    validity = np.diag(w.T @ S) / sd
    r_scores = wrw / np.outer(sd, sd)
    mean = np.nanmean(x, axis=0)
    sdx = np.nanstd(x, axis=0, ddof=1)
    z = (x - mean) / sdx
    scores = z @ w          # NaN rows where an item is missing (psych without imputation)
    n_scored = int(np.sum(np.all(np.isfinite(scores), axis=1)))
    if n_scored < len(x):
        rec.append(f"{len(x) - n_scored} case(s) with a missing item have no factor score.")
    if m == "anderson" and not np.allclose(phi_m, np.eye(len(phi_m))):
        rec.append("Anderson-Rubin scores are uncorrelated by construction; the solution is oblique "
                   "(ten Berge scores keep the factor correlations).")
    idx = data.index
    ser = lambda v, n: pd.Series(v, index=fnames, name=n)  # noqa: E731
    return FactorScoresResult(
        scores=pd.DataFrame(scores, index=idx, columns=fnames),
        weights=pd.DataFrame(w, index=items, columns=fnames), r2=ser(r2, "r2"),
        determinacy=ser(np.sqrt(r2_reg), "determinacy"),
        min_correlation=ser(2 * r2_reg - 1, "min_correlation"), validity=ser(validity, "validity"),
        r_scores=pd.DataFrame(r_scores, index=fnames, columns=fnames), method=m,
        n_scored=n_scored, warnings=rec)
