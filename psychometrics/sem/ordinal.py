"""Ordinal (categorical) indicators in the engine's model layer: sample statistics and the
latent-response model, as lavaan 0.6-14 sets them up for ``ordered=`` with
``parameterization = "delta"`` (default) or ``"theta"`` (Muthén 1984; Muthén, du Toit &
Spisic 1997).

* :class:`OrdinalGroupStats` / :class:`OrdinalStats`: per group the thresholds, the
  polychoric correlation matrix and the asymptotic covariance ``Gamma`` (lavaan's ``NACOV``:
  ``acov(s) = Gamma / N_g``) of ``s = [thresholds, vech(R, diagonal = FALSE)]`` (lavaan's
  ``WLS.obs``: thresholds item by item, then the correlations below the diagonal column by
  column).  They come from :func:`psychometrics.polychoric.ordinal_sample_stats` (two-step
  polychorics, lavaan's ``lav_samplestats_from_data`` for categorical data) or, in the tests,
  from lavaan's own ``lavInspect(fit, "sampstat" / "wls.obs" / "gamma")``.
* :class:`OrdinalModel` wraps the RAM :class:`~psychometrics.sem.model.Model` (built with the
  ordinal residual variances fixed at 0 in delta parameterization) and gives the implied
  moments ``m_g = [thresholds, vech(Sigma)]`` and ``Delta_g = d m_g / d x``:
  ``Sigma = D Sigma* D`` (off-diagonal; the diagonal is 1) and
  ``tau_hat_jk = delta_j (tau_jk - mu*_j)`` with ``mu* = nu + Lambda alpha``, where
  ``delta_j`` is the free/fixed scale factor (delta) or ``1/sqrt(Sigma*_jj)`` (theta).
  The residual variances of the delta parameterization are ``1/delta_j^2 - diag(Lambda Psi
  Lambda')_jj`` (reported, not free), as lavaan.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ModelError
from .model import Model, vech_indices
from .partable import ParTable
from .sample import GroupStats, SampleStats


@dataclass
class OrdinalGroupStats:
    """One group's ordinal sample statistics (lavaan's ``sampstat`` / ``WLS.obs`` / ``NACOV``).

    ``th``: thresholds (item by item); ``th_item``: the item index (0-based, in ``ov`` order)
    of each threshold; ``cor``: polychoric correlations (p x p); ``gamma``: ``NACOV`` of
    ``[th, vech(cor, diagonal=False)]`` (N times the asymptotic covariance); ``nobs``.
    """

    nobs: int
    th: np.ndarray
    th_item: np.ndarray
    cor: np.ndarray
    gamma: np.ndarray
    label: object = None
    warnings: list = field(default_factory=list)

    @property
    def p(self) -> int:
        return self.cor.shape[0]

    @property
    def wls_obs(self) -> np.ndarray:
        r, c = np.tril_indices(self.p, -1)
        order = np.lexsort((r, c))  # column by column (lav_matrix_vech, diagonal = FALSE)
        return np.concatenate([self.th, self.cor[r[order], c[order]]])

    @property
    def wls_v_diag(self) -> np.ndarray:
        """DWLS weights: ``1 / diag(Gamma)`` (lavaan's ``WLS.VD``)."""
        return 1.0 / np.diag(self.gamma)


@dataclass
class OrdinalStats:
    """Per-group :class:`OrdinalGroupStats` plus the names (``ov``) and group labels."""

    ov_names: list
    groups: list
    group_labels: list
    n_thresholds: dict
    missing: str = "listwise"
    warnings: list = field(default_factory=list)

    @property
    def ngroups(self) -> int:
        return len(self.groups)

    @property
    def ntotal(self) -> int:
        return int(sum(g.nobs for g in self.groups))

    @property
    def nobs(self) -> list:
        return [int(g.nobs) for g in self.groups]

    def as_continuous(self) -> SampleStats:
        """The polychoric matrices as a :class:`SampleStats` (means 0), for the RAM model's
        construction and start values."""
        p = len(self.ov_names)
        groups = [GroupStats(label=g.label, nobs=int(g.nobs), cov=np.asarray(g.cor, float),
                             mean=np.zeros(p), data=np.zeros((0, p)), case_ids=np.zeros(0))
                  for g in self.groups]
        return SampleStats(ov_names=list(self.ov_names), groups=groups, missing=self.missing)


def offdiag_indices(p: int):
    """Row/column indices of ``vech(S, diagonal=FALSE)`` (lower triangle, column by column)."""
    r, c = np.tril_indices(p, -1)
    order = np.lexsort((r, c))
    return r[order], c[order]


class OrdinalModel:
    """The latent-response model for ordinal indicators (see module docstring).

    Same interface as :class:`Model` for the optimiser and inference: ``implied(x)`` returns per
    group ``(Sigma_hat, th_hat)``; ``delta(x)`` returns ``d [th_hat, vech(Sigma_hat)] / dx``
    (rows: thresholds then the full vech, diagonal rows zero).  ``ram`` is the wrapped RAM
    model (``matrices``, ``implied(all_vars=True)`` for standardisation).
    """

    def __init__(self, pt: ParTable, ram: Model, th_item: list, parameterization: str = "delta"):
        self.pt = pt
        self.ram = ram
        self.parameterization = parameterization
        self.ov = ram.ov
        self.lv = ram.lv
        self.vars = ram.vars
        self.p = ram.p
        self.m = ram.m
        self.pos = ram.pos
        self.ngroups = ram.ngroups
        self.meanstructure = True
        self.K = ram.K
        self.n_full = ram.n_full
        self.n_free = ram.n_free
        self.vr, self.vc = vech_indices(self.p)
        self.pstar = len(self.vr)
        self.exo_values = ram.exo_values
        self.od_r, self.od_c = offdiag_indices(self.p)
        # position of each off-diagonal element inside the full vech
        vpos = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(self.vr, self.vc))}
        self.od_in_vech = np.array([vpos[(int(a), int(b))] for a, b in zip(self.od_r, self.od_c)])
        self.th_item = [np.asarray(t, dtype=int) for t in th_item]
        self.nth = [len(t) for t in self.th_item]
        self.n_moments_g = [n + self.pstar for n in self.nth]
        ordered = set(self.ov[j] for t in self.th_item for j in t)
        self.ordered = [v in ordered for v in self.ov]
        # per group: threshold parameter index (full, -1 fixed) and value; scale index/value
        self.th_k, self.th_fixed, self.sc_k, self.sc_fixed = [], [], [], []
        for g in range(self.ngroups):
            rows = [i for i in range(pt.nrow) if pt.group[i] == g + 1 and pt.op[i] == "|"]
            want = [(self.ov[j], None) for j in self.th_item[g]]
            # thresholds rows in the table are item by item, t1, t2, ... in ov order
            rows.sort(key=lambda i: (self.ov.index(pt.lhs[i]), int(pt.rhs[i][1:])))
            if len(rows) != len(want):
                raise ModelError("the parameter table's thresholds do not match the data's "
                                 "categories")
            self.th_k.append(np.array([pt.free[i] - 1 for i in rows], dtype=int))
            self.th_fixed.append(np.array([pt.ustart[i] for i in rows], dtype=float))
            sk = np.full(self.p, -1, dtype=int)
            sv = np.ones(self.p)
            for i in range(pt.nrow):
                if pt.group[i] == g + 1 and pt.op[i] == "~*~":
                    j = self.ov.index(pt.lhs[i])
                    sk[j] = pt.free[i] - 1
                    sv[j] = pt.ustart[i] if pt.free[i] == 0 else np.nan
            self.sc_k.append(sk)
            self.sc_fixed.append(sv)
        self._cache = None

    # ------------------------------------------------------------------ parameters
    def x_full(self, x, full: bool = False) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return x if full else self.K @ x

    def matrices(self, x, full: bool = False) -> list:
        return self.ram.matrices(x, full=full)

    def _scales(self, g, xf, Sigma_r):
        """Scale factors delta_j of group g (all 1 for continuous indicators)."""
        if self.parameterization == "theta":
            d = np.ones(self.p)
            for j in range(self.p):
                if self.ordered[j]:
                    d[j] = 1.0 / np.sqrt(Sigma_r[j, j]) if Sigma_r[j, j] > 0 else np.nan
            return d
        d = self.sc_fixed[g].copy()
        k = self.sc_k[g]
        free = k >= 0
        d[free] = xf[k[free]]
        return d

    def _parts(self, xf):
        key = xf.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        out = []
        ram_imp = self.ram.implied(xf, full=True)
        for g, (Sigma_r, mu_r) in enumerate(ram_imp):
            d = self._scales(g, xf, Sigma_r)
            tau = self.th_fixed[g].copy()
            k = self.th_k[g]
            tau[k >= 0] = xf[k[k >= 0]]
            j = self.th_item[g]
            th_hat = d[j] * (tau - mu_r[j])
            S = Sigma_r * np.outer(d, d)
            np.fill_diagonal(S, 1.0)
            out.append((S, th_hat, Sigma_r, mu_r, d, tau))
        self._cache = (key, out)
        return out

    def implied(self, x, full: bool = False, all_vars: bool = False) -> list:
        """Per group ``(Sigma_hat, th_hat)`` (with ``all_vars``: the RAM model's
        ``(C, eta)`` of the latent responses and factors)."""
        xf = np.ascontiguousarray(self.x_full(x, full), dtype=float)
        if all_vars:
            return self.ram.implied(xf, full=True, all_vars=True)
        return [(S, th) for S, th, *_ in self._parts(xf)]

    def latent_response(self, x, full: bool = False) -> list:
        """Per group ``(Sigma*, mu*, delta)``: the latent-response moments and scales."""
        xf = np.ascontiguousarray(self.x_full(x, full), dtype=float)
        return [(Sr, mr, d) for _, _, Sr, mr, d, _ in self._parts(xf)]

    def delta(self, x, full: bool = False) -> list:
        """``d [th_hat, vech(Sigma_hat)] / dx`` per group (columns: reduced or full)."""
        xf = np.ascontiguousarray(self.x_full(x, full), dtype=float)
        D_ram = self.ram.delta(xf, full=True)   # rows: [mu (p), vech(Sigma*)]
        p = self.p
        out = []
        for g, (S, th_hat, Sr, mr, d, tau) in enumerate(self._parts(xf)):
            Dr = D_ram[g]
            Dmu = Dr[:p]
            Dsig = Dr[p:]
            n = self.n_full
            # d delta_j / dx
            dd = np.zeros((p, n))
            if self.parameterization == "theta":
                diag_rows = np.array([k for k, (a, b) in enumerate(zip(self.vr, self.vc)) if a == b])
                dsjj = Dsig[diag_rows]  # rows in variable order (vech diagonal order = 0..p-1)
                for j in range(p):
                    if self.ordered[j]:
                        dd[j] = -0.5 * d[j] ** 3 * dsjj[j]
            else:
                k = self.sc_k[g]
                for j in range(p):
                    if k[j] >= 0:
                        dd[j, k[j]] = 1.0
            jt = self.th_item[g]
            nth = len(jt)
            D = np.zeros((nth + self.pstar, n))
            # thresholds
            dtau = np.zeros((nth, n))
            kk = self.th_k[g]
            free = kk >= 0
            dtau[np.flatnonzero(free), kk[free]] = 1.0
            D[:nth] = d[jt][:, None] * (dtau - Dmu[jt]) + (tau - mr[jt])[:, None] * dd[jt]
            # correlations (off-diagonal only)
            r, c = self.od_r, self.od_c
            vo = self.od_in_vech
            D[nth + vo] = ((d[r] * d[c])[:, None] * Dsig[vo]
                           + (Sr[r, c] * d[c])[:, None] * dd[r] + (Sr[r, c] * d[r])[:, None] * dd[c])
            out.append(D if full else D @ self.K)
        return out

    def residual_variances(self, x, full: bool = False) -> dict:
        """Delta parameterization: ``{(group, name): 1/delta^2 - explained variance}`` of the
        ordinal indicators (lavaan's non-free ``~~`` rows)."""
        out = {}
        if self.parameterization != "delta":
            return out
        for g, (Sr, mr, d) in enumerate(self.latent_response(x, full)):
            for j, v in enumerate(self.ov):
                if self.ordered[j]:
                    out[(g + 1, v)] = 1.0 / d[j] ** 2 - Sr[j, j]
        return out

    def start_values(self, sample) -> np.ndarray:
        """Start values (full space): loadings/variances from the polychoric matrix through
        the RAM model's principal-component start, thresholds at their sample values, scales 1."""
        xf = self.ram.start_values(sample.as_continuous())
        pt = self.pt
        # reflect a factor whose first indicator starts negative (lavaan's start values make the
        # first loading positive; with std_lv this picks the same of the two mirror solutions)
        for g in range(self.ngroups):
            seen = set()
            for i in range(pt.nrow):
                if pt.group[i] != g + 1 or pt.op[i] != "=~" or pt.lhs[i] in seen:
                    continue
                seen.add(pt.lhs[i])
                if pt.free[i] > 0 and xf[pt.free[i] - 1] < 0:
                    for q in range(pt.nrow):
                        if pt.group[q] == g + 1 and pt.op[q] == "=~" and pt.lhs[q] == pt.lhs[i] \
                                and pt.free[q] > 0:
                            xf[pt.free[q] - 1] = -xf[pt.free[q] - 1]
        for g, gs in enumerate(sample.groups):
            k = self.th_k[g]
            xf[k[k >= 0]] = gs.th[k >= 0]
            sk = self.sc_k[g]
            xf[sk[sk >= 0]] = 1.0
        for i in range(pt.nrow):
            if pt.free[i] > 0 and pt.op[i] == "~~" and pt.lhs[i] == pt.rhs[i] and pt.lhs[i] in self.ov \
                    and self.ordered[self.ov.index(pt.lhs[i])]:
                xf[pt.free[i] - 1] = 1.0  # theta: free residual variances (groups 2..)
        return xf
