"""Least-squares estimators for continuous data: GLS and ULS, as lavaan's ``estimator = "GLS"``
and ``estimator = "ULS"``.

Both fit the moments m_g = [ybar_g, vech(S_g)] with S_g the unbiased covariance matrix (N_g - 1
in the denominator, as lavaan does for these estimators) by minimising
``F = sum_g (N_g / N) 0.5 (m_g - m_g(x))' W_g (m_g - m_g(x))``:

* GLS (Browne 1974): W_g = blockdiag(S^-1, 0.5 D'(S^-1 (x) S^-1) D), i.e. the covariance part is
  0.25 tr[((S - Sigma) S^-1)^2] -- the normal-theory weight evaluated at S;
* ULS: W_g = I (each distinct covariance once).

The test statistic is 2 sum_g (N_g - 1) F_g (lavaan's "standard" test for these estimators; for
ULS it has no chi-square distribution and lavaan gives no p-value).  Standard errors are lavaan's
``se = "standard"``: the inverse of sum_g (N_g - 1) Delta_g' W_g Delta_g -- for GLS the
normal-theory standard errors; for ULS (W = I) lavaan's naive values, which are not consistent
unless the data happen to have W = Gamma^-1 (use them with care; robust ULS is not offered).
No likelihood: logl, AIC and BIC are not defined.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .model import vech_indices

LS_ESTIMATORS = ("GLS", "ULS")


class LSObjective:
    """GLS or ULS discrepancy (see the module docstring); the engine's objective contract."""

    def __init__(self, sample, meanstructure: bool, kind: str):
        if kind not in LS_ESTIMATORS:
            raise ModelError(f"unknown least-squares estimator {kind!r}")
        self.kind = kind
        self.sample = sample
        self.meanstructure = meanstructure
        self.ntotal = sample.ntotal
        self.w = [g.nobs / self.ntotal for g in sample.groups]
        p = len(sample.ov_names)
        self.p = p
        self.vr, self.vc = vech_indices(p)
        self.mult = np.where(self.vr == self.vc, 1.0, 2.0)
        self.Sinv = [np.linalg.inv(g.cov) for g in sample.groups]

    def value(self, implied) -> float:
        return self.value_and_gradient(implied, gradient=False)[0]

    def value_and_gradient(self, implied, gradient: bool = True):
        f = 0.0
        grads = []
        for g, (Sigma, mu) in enumerate(implied):
            gs = self.sample.groups[g]
            R = gs.cov - Sigma
            d = gs.mean - mu if self.meanstructure else None
            if self.kind == "GLS":
                V = self.Sinv[g]
                RV = R @ V
                fg = 0.25 * float(np.einsum("ij,ji->", RV, RV))
                G = -0.5 * V @ R @ V                      # dF/dSigma (symmetric)
                gv = G[self.vr, self.vc] * self.mult
                if d is not None:
                    Vd = V @ d
                    fg += 0.5 * float(d @ Vd)
                    gv = np.concatenate([-Vd, gv])
            else:
                rv = R[self.vr, self.vc]
                fg = 0.5 * float(rv @ rv)
                gv = -rv
                if d is not None:
                    fg += 0.5 * float(d @ d)
                    gv = np.concatenate([-d, gv])
            f += self.w[g] * fg
            if gradient:
                grads.append(self.w[g] * gv)
        return f, (grads if gradient else None)

    def loglik(self, implied) -> float:
        return np.nan

    def loglik_h1(self) -> float:
        return np.nan

    # -- inference ---------------------------------------------------------------------------
    def _weights(self, g: int) -> np.ndarray:
        """W_g on m_g (means first with a mean structure)."""
        p, r, c = self.p, self.vr, self.vc
        ps = len(r)
        off = p if self.meanstructure else 0
        W = np.zeros((off + ps, off + ps))
        if self.kind == "GLS":
            V = self.Sinv[g]
            base = V[np.ix_(r, r)] * V[np.ix_(c, c)] + V[np.ix_(r, c)] * V[np.ix_(c, r)]
            W[off:, off:] = 0.25 * base * np.outer(self.mult, self.mult)
            if off:
                W[:p, :p] = V
        else:
            W[:] = np.eye(off + ps)
        return W

    def vcov(self, model, x) -> np.ndarray:
        """Covariance matrix of the reduced estimates: the inverse of
        sum_g (N_g - 1) Delta_g' W_g Delta_g (lavaan's ``se = "standard"``)."""
        A = 0.0
        for g, D in enumerate(model.delta(x)):
            A = A + (self.sample.groups[g].nobs - 1) * D.T @ self._weights(g) @ D
        return np.linalg.inv(A)


def use_least_squares(sample, estimator: str, missing: str) -> None:
    """Switch ``sample`` to the unbiased covariance matrices GLS and ULS use (in place)."""
    if missing != "listwise":
        raise ModelError(f"estimator {estimator!r} needs complete data (missing='listwise')")
    for g in sample.groups:
        # raw data: N-denominator moments -> unbiased; sample_cov (rescaled by (N - 1)/N in
        # sem/moments.py): back to the matrix given
        g.cov = g.cov * g.nobs / (g.nobs - 1)
        g.h1_cov = g.cov
        g.h1_logl = np.nan


def ml_start(model, sample, x0, weights, optimize):
    """Start values for GLS/ULS: the ML estimates on the same moments (the least-squares
    criteria are not convex; from the default start GLS can run to an improper solution with a
    higher criterion than lavaan's -- seen with two groups of HS1939)."""
    from .ml import MLObjective

    try:
        opt = optimize(model, MLObjective(sample, model.meanstructure), x0, weights)
    except Exception:   # pragma: no cover - then the default start
        return x0
    x = np.asarray(opt["x"], dtype=float)
    return x if np.all(np.isfinite(x)) else x0
