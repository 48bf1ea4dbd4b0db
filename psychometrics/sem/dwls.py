"""The (diagonally) weighted least-squares objective for ordinal indicators: lavaan's DWLS
(``estimator = "WLSMV"``, ``"WLSM"``, ``"DWLS"``) and ULS (``"ULSMV"``, ``"ULSM"``, ``"ULS"``).

``F = sum_g (N_g/N) F_g`` with ``F_g = 0.5 (N_g - 1)/N_g sum_k w_k (s_k - m_k)^2`` over the
thresholds and the polychoric correlations (below the diagonal), ``w = 1/diag(Gamma_g)``
(lavaan's ``WLS.VD``) for DWLS and 1 for ULS; ``chisq = 2 N F`` (``lav_model_objective``,
``estimator.DWLS``).  Muthén, du Toit & Spisic (1997).  Follows the engine contract
(CONTRIBUTING.md): ``value_and_gradient(implied) -> (F, [dF/dm_g])`` with
``m_g = [thresholds, vech(Sigma_g)]`` (the diagonal's gradient is 0), plus
:meth:`DWLSObjective.information` (``sum_g (N_g/N) Delta_g' W_g Delta_g``, lavaan's expected
information for this estimator) used by the optimiser's scoring steps.
"""
from __future__ import annotations

import numpy as np

from .ordinal import OrdinalModel, OrdinalStats


class DWLSObjective:
    """DWLS / ULS fit function on the ordinal sample statistics (see module docstring)."""

    def __init__(self, stats: OrdinalStats, model: OrdinalModel, weights: str = "dwls"):
        self.stats = stats
        self.model = model
        self.ntotal = stats.ntotal
        self.fg = [g.nobs / self.ntotal for g in stats.groups]
        self.c = [0.5 * (g.nobs - 1) / g.nobs for g in stats.groups]
        self.obs = [g.wls_obs for g in stats.groups]
        if weights == "uls":
            self.wv = [np.ones_like(o) for o in self.obs]
        else:
            self.wv = [g.wls_v_diag for g in stats.groups]
        self.kind = weights

    def moments(self, implied) -> list:
        """Per group the model moments in ``WLS.obs`` order ``[thresholds, vech(Sigma, diag=FALSE)]``."""
        r, c = self.model.od_r, self.model.od_c
        return [np.concatenate([th, S[r, c]]) for S, th in implied]

    def value(self, implied) -> float:
        return self.value_and_gradient(implied, gradient=False)[0]

    def value_and_gradient(self, implied, gradient: bool = True):
        f = 0.0
        grads = []
        mdl = self.model
        for g, m in enumerate(self.moments(implied)):
            if not np.all(np.isfinite(m)):
                return np.inf, None
            d = self.obs[g] - m
            f += self.fg[g] * self.c[g] * float(np.sum(self.wv[g] * d * d))
            if gradient:
                nth = mdl.nth[g]
                gv = np.zeros(nth + mdl.pstar)
                gm = -2.0 * self.fg[g] * self.c[g] * self.wv[g] * d
                gv[:nth] = gm[:nth]
                gv[nth + mdl.od_in_vech] = gm[nth:]
                grads.append(gv)
        return f, grads

    def wls_rows(self, g: int) -> np.ndarray:
        """Rows of ``Delta_g`` (thresholds + full vech) that carry the WLS moments."""
        nth = self.model.nth[g]
        return np.concatenate([np.arange(nth), nth + self.model.od_in_vech])

    def information(self, model, x, implied, deltas) -> np.ndarray:
        """``sum_g (N_g/N) Delta_g' W_g Delta_g`` (unit expected information; the optimiser's
        scoring matrix, up to the constant (N_g-1)/N_g)."""
        info = 0.0
        for g, D in enumerate(deltas):
            Dw = D[self.wls_rows(g)]
            info = info + self.fg[g] * 2 * self.c[g] * (Dw.T * self.wv[g]) @ Dw
        return info

    def loglik(self, implied) -> float:
        return float("nan")

    def loglik_h1(self) -> float:
        return float("nan")
