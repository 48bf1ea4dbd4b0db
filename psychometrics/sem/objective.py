"""Objectives (the layer above the model): lavaan's fit functions and the normal-theory information.

Layering of ``psychometrics/sem`` (one way; a module imports only from layers to its left):
model (syntax, partable, sample, model, defined) -> objective (objective, fiml, dwls) -> estimate
(the optimiser) -> inference (fitindices, standardize, robust, wlsmv_inference, modindices,
score_test, bootstrap) -> results (CFAFit and the fitting pipeline).

* :class:`MLObjective` is lavaan's normal-theory ML discrepancy (``likelihood = "normal"``,
  N in the denominator of S): ``F = sum_g (N_g/N) F_g`` with
  ``F_g = 0.5 (log|Sigma| + tr(S Sigma^-1) - log|S| - p + (ybar - mu)' Sigma^-1 (ybar - mu))``;
  ``chisq = 2 N F`` (lavaan's ``fmin`` and ``test="standard"``).
* :func:`expected_information` is lavaan's expected (structured) information per case:
  ``I = sum_g (N_g/N) Delta_g' W_g Delta_g`` with ``W_g = blockdiag(Sigma^-1,
  0.5 D'(Sigma^-1 (x) Sigma^-1) D)`` (``lav_model_information_expected``).
* :func:`make_objective` picks the objective for the estimator / missing-data method.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .ml import MLObjective  # noqa: F401  (the ML objective; re-exported)
from .model import Model
from .sample import SampleStats


def make_objective(model: Model, sample: SampleStats, missing: str, estimator: str = "ML"):
    """Return the objective for ``missing`` ("listwise": :class:`MLObjective`).

    Integration point for FIML (CONTRIBUTING.md): the "fiml" branch belongs to
    ``psychometrics/sem/fiml.py``.
    """
    if estimator in ("GLS", "ULS"):            # least squares (psychometrics/sem/ls.py)
        from .ls import LSObjective
        return LSObjective(sample, model.meanstructure, estimator)
    if missing == "listwise":
        return MLObjective(sample, model.meanstructure)
    if missing in ("fiml", "ml"):
        from .fiml import objective_for_sample  # FIML (psychometrics/sem/fiml.py)
        return objective_for_sample(sample)
    raise ModelError(f"unknown missing={missing!r}; use 'listwise' or 'fiml'")


# ---------------------------------------------------------------------------- information
def weight_matrices(model: Model, implied) -> list:
    """Per group ``W_g`` (normal-theory expected information of the moments, per case)."""
    r, c = model.vr, model.vc
    mult = np.where(r == c, 1.0, 2.0)
    out = []
    for Sigma, mu in implied:
        Si = np.linalg.inv(Sigma)
        base = Si[np.ix_(r, r)] * Si[np.ix_(c, c)] + Si[np.ix_(r, c)] * Si[np.ix_(c, r)]
        Wc = 0.25 * base * np.outer(mult, mult)
        if model.meanstructure:
            p = model.p
            W = np.zeros((model.n_moments, model.n_moments))
            W[:p, :p] = Si
            W[p:, p:] = Wc
        else:
            W = Wc
        out.append(W)
    return out


def information_blocks(model: Model, x, weights, full: bool = False) -> list:
    """Per group ``(cols_g, w_g Delta_g' W_g Delta_g)`` on the parameters the group depends on.

    From the rank-2 form of ``Delta`` (:meth:`Model.rank2_factors`): with ``dSigma_k = u_k v_k'
    + v_k u_k'``, ``0.5 tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l) = (U'S^-1U)_kl (V'S^-1V)_kl +
    (V'S^-1U)_kl (V'S^-1U)_lk``, plus ``Dm' Sigma^-1 Dm`` for the means: O(p^2 k + p k^2)
    operations and O(p k + k^2) memory per group instead of O(p^3 k + p^2 k^2) and
    ``p^2 x k`` arrays.
    """
    out = []
    for g, (w, (Sigma, U, V, Dm)) in enumerate(zip(weights, model.rank2_factors(x, full))):
        Si = np.linalg.inv(Sigma)
        SU = Si @ U
        Ig = (U.T @ SU) * (V.T @ (Si @ V))
        Mvu = V.T @ SU
        Ig += Mvu * Mvu.T
        if Dm is not None:
            Ig += Dm.T @ (Si @ Dm)
        Ig = model.to_cols(g, model.to_cols(g, Ig, full, axis=0), full, axis=1)
        out.append((model.cols(g, full), w * Ig))
    return out


def information_system(model: Model, x, weights, full: bool = False):
    """The expected information as a :class:`~psychometrics.sem.blocks.BlockSystem` (its
    per-group blocks; dense or arrowhead solves)."""
    from .blocks import BlockSystem
    return BlockSystem(information_blocks(model, x, weights, full),
                       model.n_full if full else model.n_free)


def expected_information(model: Model, x, weights, full: bool = False, implied=None, deltas=None):
    """Unit expected information ``sum_g w_g Delta_g' W_g Delta_g`` (lavaan's "information").

    For the engine's RAM :class:`Model` assembled from :func:`information_blocks` (``implied``
    and ``deltas`` are not needed: the model's moments at ``x`` are used); other models
    (with ``delta`` only) use :func:`expected_information_dense`.
    """
    if hasattr(model, "rank2_factors"):
        return information_system(model, x, weights, full).dense()
    return expected_information_dense(model, x, weights, full, implied, deltas)


def expected_information_dense(model: Model, x, weights, full: bool = False, implied=None, deltas=None):
    """Unit expected information ``sum_g w_g Delta_g' W_g Delta_g`` from the dense ``Delta``
    (the reference computation for :func:`expected_information`; any model with ``delta``).

    Computed without forming ``W_g``: the covariance part is
    ``0.5 tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l)`` and the mean part
    ``dmu_k' Sigma^-1 dmu_l`` (identical to ``Delta' W Delta``).
    """
    if implied is None:
        implied = model.implied(x, full=full)
    if deltas is None:
        deltas = model.delta(x, full=full)
    p = model.p
    r, c = model.vr, model.vc
    off = p if model.meanstructure else 0
    info = 0.0
    for w, D, (Sigma, mu) in zip(weights, deltas, implied):
        n = D.shape[1]
        Si = np.linalg.inv(Sigma)
        Dn = np.zeros((n, p, p))
        Dc = D[off:, :].T
        Dn[:, r, c] = Dc
        Dn[:, c, r] = Dc
        T = Si @ Dn @ Si
        Ig = 0.5 * (Dn.reshape(n, p * p) @ T.reshape(n, p * p).T)
        if off:
            Dm = D[:p, :]
            Ig = Ig + Dm.T @ Si @ Dm
        info = info + w * Ig
    return info


