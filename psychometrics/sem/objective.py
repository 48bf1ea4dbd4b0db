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
from .model import Model, vech_indices
from .sample import LOG2PI, SampleStats


class MLObjective:
    """lavaan's ML discrepancy for complete data (see module docstring)."""

    def __init__(self, sample: SampleStats, meanstructure: bool):
        self.sample = sample
        self.meanstructure = meanstructure
        self.ntotal = sample.ntotal
        self.w = [g.nobs / self.ntotal for g in sample.groups]
        p = len(sample.ov_names)
        self.p = p
        self.vr, self.vc = vech_indices(p)
        self.mult = np.where(self.vr == self.vc, 1.0, 2.0)
        self.logdetS = []
        for g in sample.groups:
            s, ld = np.linalg.slogdet(g.cov)
            self.logdetS.append(ld if s > 0 else np.nan)

    def _inv(self, Sigma):
        try:
            L = np.linalg.cholesky(Sigma)
        except np.linalg.LinAlgError:
            return None, None
        Li = np.linalg.inv(L)
        return Li.T @ Li, 2.0 * np.log(np.diag(L)).sum()

    def value(self, implied) -> float:
        return self.value_and_gradient(implied, gradient=False)[0]

    def value_and_gradient(self, implied, gradient: bool = True):
        """Return ``(F, [dF/dm_g])`` with ``m_g = [mu_g, vech(Sigma_g)]`` (means only with a mean structure)."""
        f = 0.0
        grads = []
        for g, (Sigma, mu) in enumerate(implied):
            gs = self.sample.groups[g]
            Si, logdet = self._inv(Sigma)
            if Si is None:
                return np.inf, None
            S = gs.cov
            fg = logdet + np.einsum("ij,ji->", S, Si) - self.logdetS[g] - self.p
            if self.meanstructure:
                d = gs.mean - mu
                Sid = Si @ d
                fg += d @ Sid
            f += self.w[g] * 0.5 * fg
            if gradient:
                if self.meanstructure:
                    Sm = S + np.outer(d, d)
                else:
                    Sm = S
                Gm = 0.5 * (Si - Si @ Sm @ Si)
                gv = Gm[self.vr, self.vc] * self.mult
                if self.meanstructure:
                    gv = np.concatenate([-Sid, gv])
                grads.append(self.w[g] * gv)
        return f, grads

    def loglik(self, implied) -> float:
        """Total log-likelihood at the implied moments (lavaan's ``logl``)."""
        ll = 0.0
        for g, (Sigma, mu) in enumerate(implied):
            gs = self.sample.groups[g]
            Si, logdet = self._inv(Sigma)
            if Si is None:
                return np.nan
            tr = np.einsum("ij,ji->", gs.cov, Si)
            q = 0.0
            if self.meanstructure:
                d = gs.mean - mu
                q = d @ Si @ d
            ll += -gs.nobs / 2 * (self.p * LOG2PI + logdet + tr + q)
        return float(ll)

    def loglik_h1(self) -> float:
        """Log-likelihood of the saturated model (lavaan's ``unrestricted.logl``)."""
        return self.sample.h1_logl


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


def expected_information(model: Model, x, weights, full: bool = False, implied=None, deltas=None):
    """Unit expected information ``sum_g w_g Delta_g' W_g Delta_g`` (lavaan's "information").

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


