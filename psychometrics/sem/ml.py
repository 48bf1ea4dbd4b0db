"""lavaan's normal-theory ML discrepancy for complete data (objective layer; re-exported by
:mod:`.objective` and :mod:`.estimate`).  See :mod:`.objective` for the formula."""
from __future__ import annotations

import numpy as np

from .model import vech_indices
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
