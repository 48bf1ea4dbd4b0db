"""Dimensionality and exploratory factor analysis (EFA).

Public functions (all pure; each returns a result dataclass with ``to_dict()``
and ``to_frame()``):

* :func:`kmo` -- Kaiser-Meyer-Olkin sampling adequacy, overall and per item
  (Kaiser 1970, 1974; ``psych::KMO``).
* :func:`bartlett` -- Bartlett's (1951) test of sphericity
  (``psych::cortest.bartlett``).
* :func:`parallel_analysis` -- Horn's (1965) parallel analysis for components
  and factors, simulated normal or resampled data (``psych::fa.parallel``).
* :func:`map_test` -- Velicer's (1976) minimum average partial test and its
  fourth-power revision (Velicer, Eaton & Fava 2000); the squared version is
  ``psych::VSS``'s ``map``.
* :func:`dimensionality` -- every retention criterion side by side.
* :func:`efa` -- extraction (minres, ML, principal axis) and rotation (varimax, quartimax,
  equamax, bentlerT/Q, geominT/Q with delta, oblimin with gamma, quartimin, promax, oblimax,
  simplimax, target and partially specified target) following ``psych::fa`` with
  GPArotation (Bernaards & Jennrich 2005) rotations; raw data or a correlation matrix with
  ``n_obs``.
* :func:`principal` -- principal components with any rotation (``psych::principal``).
* :func:`rotate` -- the rotations alone (GPArotation's algorithms and start).
* :func:`factor_scores` -- regression, Bartlett, Anderson-Rubin and ten Berge scores with
  their determinacy (``psych::factor.scores``).
* :func:`compare_to_original` -- a translation's EFA target-rotated to the original version's
  published loadings, with Tucker's congruence per factor and item (Lorenzo-Seva & ten Berge
  2006 cut-offs); :func:`congruence` is ``psych::factor.congruence``.
* :func:`split_half_validation` -- EFA on one random half (stratified by a
  group column), the matching CFA on the other half.

Missing data: like psych, correlations are *pairwise complete* by default
(``use = "pairwise"``); ``missing="listwise"`` uses complete cases only.
A correlation matrix that is not positive definite is smoothed as
``psych::cor.smooth`` does (eigenvalues below 1e-12 set to 1e-10, rescaled,
back to a correlation matrix) and the smoothing is reported in ``warnings``.

The package's files name the stages: ``correlation`` (input checks, the correlation matrix),
``retention`` (KMO, Bartlett, parallel analysis, MAP, scree), ``extraction``, ``rotation``,
``analysis`` (:func:`efa`, :func:`principal` and :class:`EFAResult`), ``scores`` (factor
scores and their determinacy), ``translation`` (congruence with the original version) and
``validation`` (split-half).
``pm.efa`` is the function; this package is ``importlib.import_module("psychometrics.efa")``.
No submodule is named like a public function (see psychometrics/__init__.py).
"""
from __future__ import annotations

from .analysis import EXTRACTION_METHODS, EFAResult, efa, principal
from .rotation import ROTATIONS, rotate
from .scores import SCORE_METHODS, FactorScoresResult, factor_scores
from .correlation import correlation_matrix
from .retention import (BartlettResult, DimensionalityResult, KMOResult, MAPResult,
                        ParallelAnalysisResult, bartlett, dimensionality, kmo, map_test,
                        parallel_analysis, scree_criteria)
from .translation import (CongruenceResult, compare_to_original, congruence, original_solution,
                          similarity)
from .validation import SplitHalfResult, split_half_validation
# internals the tests check directly against psych
from .correlation import _complete_cor, _pairwise_cor, _smc  # noqa: F401
from .extraction import _minres  # noqa: F401
from .retention import _batched_one_factor_values, _wishart_cor  # noqa: F401

__all__ = ["kmo", "bartlett", "parallel_analysis", "map_test", "efa", "dimensionality",
           "split_half_validation", "correlation_matrix", "scree_criteria",
           "KMOResult", "BartlettResult", "ParallelAnalysisResult", "MAPResult", "EFAResult",
           "DimensionalityResult", "SplitHalfResult", "EXTRACTION_METHODS", "ROTATIONS",
           "principal", "rotate", "factor_scores", "FactorScoresResult", "SCORE_METHODS",
           "congruence", "compare_to_original", "CongruenceResult", "original_solution", "similarity"]
