"""Model matrices, model-implied moments and their derivatives (Delta).

The parameter table is mapped onto the RAM ("reticular action model"; McArdle & McDonald,
1984) matrices of every group: all variables (observed first, in the model's ``ov`` order, then
latent) in one vector ``v = A v + u`` with ``Cov(u) = P`` and intercepts/means ``M``:

* ``=~`` row ``f =~ x``: ``A[x, f]``; ``~`` row ``y ~ x``: ``A[y, x]``;
* ``~~`` rows: ``P`` (symmetric); ``~1`` rows: ``M``.

With ``B = (I - A)^-1`` and ``G`` the observed rows of ``B``:
``Sigma = G P G'`` and ``mu = G M``.  This is the same model as lavaan's LISREL matrices
(Lambda, Theta, Psi, Beta, nu, alpha), so estimates agree exactly.

Moments follow CONTRIBUTING.md: ``m_g = [mu_g, vech(Sigma_g)]`` (means first when there is a
mean structure; ``vech`` = lower triangle column by column, as ``lav_matrix_vech``), and
``Delta_g = d m_g / d x`` is built by vectorised index arithmetic (no Python loop over
parameters).  Parameters live in the full space ``x_full`` (one entry per free row) and the
reduced space ``x`` with ``x_full = K @ x``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .partable import ParTable
from .sample import SampleStats


@lru_cache(maxsize=64)
def _vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    c, r = np.triu_indices(p)  # (col, row) pairs of the lower triangle, column by column
    r.setflags(write=False)
    c.setflags(write=False)
    return r, c


def vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of ``vech`` (lower triangle, column by column)."""
    return _vech_indices(p)


def vech(a: np.ndarray) -> np.ndarray:
    r, c = vech_indices(a.shape[0])
    return a[r, c]


class Model:
    """The numerical model built from a :class:`ParTable` and the sample statistics.

    Public methods (the engine's internal contract): :meth:`implied`, :meth:`delta`,
    :meth:`x_full`, :meth:`matrices`.  ``self.K`` maps reduced to full parameters.
    """

    def __init__(self, pt: ParTable, sample: SampleStats):
        self.pt = pt
        self.ov = list(pt.roles.ov)
        self.lv = list(pt.roles.lv)
        self.vars = self.ov + self.lv
        self.p = len(self.ov)
        self.m = len(self.vars)
        self.ngroups = pt.ngroups
        self.meanstructure = pt.meanstructure
        self._K = None
        self.eq_map = np.asarray(pt.eq_map if pt.eq_map is not None else np.arange(pt.n_full),
                                 dtype=int)
        self.n_full = pt.n_full
        self.n_free = pt.n_reduced
        self.vr, self.vc = vech_indices(self.p)
        self.pstar = len(self.vr)
        self.n_moments = self.pstar + (self.p if self.meanstructure else 0)
        pos = {v: i for i, v in enumerate(self.vars)}
        self.pos = pos
        self._sample_mean = [g.mean for g in sample.groups]
        self._mcache = None
        m = self.m
        self.base = []
        self.idx = []
        for g in range(self.ngroups):
            gs = sample.groups[g]
            A = np.zeros((m, m))
            P = np.zeros((m, m))
            M = np.zeros(m)
            a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k = ([] for _ in range(8))
            rows = np.flatnonzero(pt.group == g + 1)
            for r in rows:
                op, lhs, rhs = pt.op[r], pt.lhs[r], pt.rhs[r]
                k = pt.free[r] - 1
                val = pt.ustart[r]
                if pt.exo[r]:
                    if op == "~~":
                        val = gs.cov[self.ov.index(lhs), self.ov.index(rhs)]
                    elif op == "~1":
                        val = gs.mean[self.ov.index(lhs)]
                if op == "=~":
                    i, j = pos[rhs], pos[lhs]
                    if k >= 0:
                        a_i.append(i); a_j.append(j); a_k.append(k)
                    else:
                        A[i, j] = val
                elif op == "~":
                    i, j = pos[lhs], pos[rhs]
                    if k >= 0:
                        a_i.append(i); a_j.append(j); a_k.append(k)
                    else:
                        A[i, j] = val
                elif op == "~~":
                    i, j = pos[lhs], pos[rhs]
                    if k >= 0:
                        p_i.append(i); p_j.append(j); p_k.append(k)
                    else:
                        P[i, j] = P[j, i] = val
                elif op == "~1":
                    i = pos[lhs]
                    if k >= 0:
                        m_i.append(i); m_k.append(k)
                    else:
                        M[i] = val
            self.base.append((A, P, M))
            self.idx.append(tuple(np.array(v, dtype=int) for v in (a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k)))
        self.local = [self._local_columns(ix) for ix in self.idx]
        # fixed values stored for exo rows (for output)
        self.exo_values = {}
        for r in np.flatnonzero(pt.exo > 0):
            g = pt.group[r] - 1
            A, P, M = self.base[g]
            if pt.op[r] == "~~":
                self.exo_values[r] = P[pos[pt.lhs[r]], pos[pt.rhs[r]]]
            else:
                self.exo_values[r] = M[pos[pt.lhs[r]]]

    def _local_columns(self, ix) -> dict:
        """A group's own parameters: its full indices (sorted), the positions of its A / P / M
        entries among them, and their reduced indices (``cols``, sorted unique) with the
        0/1 map ``S`` (local full -> ``cols``; None when it is a permutation, ``pos``)."""
        a_k, p_k, m_k = ix[2], ix[5], ix[7]
        loc = np.unique(np.concatenate([a_k, p_k, m_k])).astype(int)
        red = self.eq_map[loc]
        cols, pos = np.unique(red, return_inverse=True)
        S = None
        if len(cols) < len(loc):        # equality constraints inside the group
            S = np.zeros((len(loc), len(cols)))
            S[np.arange(len(loc)), pos] = 1.0
        return {"full": loc, "a": np.searchsorted(loc, a_k), "p": np.searchsorted(loc, p_k),
                "m": np.searchsorted(loc, m_k), "cols": cols.astype(int), "pos": pos.astype(int),
                "S": S}

    # ------------------------------------------------------------------ parameters
    @property
    def K(self) -> np.ndarray:
        """The dense 0/1 matrix with ``x_full = K @ x`` (built on first use; the engine
        itself maps parameters with ``eq_map``)."""
        if self._K is None:
            self._K = self.pt.K()
        return self._K

    def x_full(self, x: np.ndarray, full: bool = False) -> np.ndarray:
        """The full parameter vector (``K @ x``, taken as ``x[eq_map]``: the same numbers)."""
        x = np.asarray(x, dtype=float)
        return x if full else x[self.eq_map]

    def cols(self, g: int, full: bool = False) -> np.ndarray:
        """The parameters (reduced, or full with ``full``) that group ``g``'s moments depend on."""
        loc = self.local[g]
        return loc["full"] if full else loc["cols"]

    def to_cols(self, g: int, D: np.ndarray, full: bool = False, axis: int = 1) -> np.ndarray:
        """Map an array over group ``g``'s local full parameters (along ``axis``) onto
        :meth:`cols` (summing the members of an equality class)."""
        loc = self.local[g]
        if full:
            return D
        if loc["S"] is None:
            shape = list(D.shape)
            shape[axis] = len(loc["cols"])
            out = np.empty(shape)
            if axis == 0:
                out[loc["pos"]] = D
            else:
                out[:, loc["pos"]] = D
            return out
        return loc["S"].T @ D if axis == 0 else D @ loc["S"]

    def matrices(self, x, full: bool = False) -> list:
        """Per group ``(A, P, M)`` at parameter vector ``x`` (reduced unless ``full``)."""
        xf = self.x_full(x, full)
        out = []
        for g in range(self.ngroups):
            A, P, M = (a.copy() for a in self.base[g])
            a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k = self.idx[g]
            A[a_i, a_j] = xf[a_k]
            P[p_i, p_j] = xf[p_k]
            P[p_j, p_i] = xf[p_k]
            M[m_i] = xf[m_k]
            out.append((A, P, M))
        return out

    def _moments(self, A, P, M):
        try:
            B = np.linalg.inv(np.eye(self.m) - A)
        except np.linalg.LinAlgError:  # (I - A) singular: a non-recursive model at these values
            B = np.full((self.m, self.m), np.nan)
        G = B[: self.p]
        C = B @ P @ B.T
        Sigma = C[: self.p, : self.p]
        Sigma = (Sigma + Sigma.T) / 2
        eta = B @ M
        return B, G, C, Sigma, eta

    def _moments_all(self, xf) -> list:
        """Per group (B, G, C, Sigma, eta) at full vector ``xf`` (one-entry cache)."""
        key = xf.tobytes()
        if self._mcache is not None and self._mcache[0] == key:
            return self._mcache[1]
        out = [self._moments(A, P, M) for (A, P, M) in self.matrices(xf, full=True)]
        self._mcache = (key, out)
        return out

    def implied(self, x, full: bool = False, all_vars: bool = False) -> list:
        """Model-implied ``(Sigma_g, mu_g)`` per group.

        ``mu_g`` is the model mean with a mean structure, else the sample mean (saturated).
        With ``all_vars`` returns ``(C_g, eta_mean_g)`` for all (observed + latent) variables.
        """
        out = []
        xf = np.ascontiguousarray(self.x_full(x, full), dtype=float)
        for g, (B, G, C, Sigma, eta) in enumerate(self._moments_all(xf)):
            if all_vars:
                out.append((C, eta))
                continue
            mu = eta[: self.p] if self.meanstructure else self._sample_mean[g]
            out.append((Sigma, mu))
        return out

    def delta_blocks(self, x, full: bool = False) -> list:
        """Per group ``(cols, D_g)``: ``Delta_g`` restricted to the parameters the group's
        moments depend on (:meth:`cols`; every other column of ``Delta_g`` is zero)."""
        xf = np.ascontiguousarray(self.x_full(x, full), dtype=float)
        r, c = self.vr, self.vc
        p = self.p
        out = []
        for g, (B, G, C, Sigma, eta) in enumerate(self._moments_all(xf)):
            H = C[:, :p]  # B P G'
            a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k = self.idx[g]
            loc = self.local[g]
            D = np.zeros((self.n_moments, len(loc["full"])))
            off = p if self.meanstructure else 0
            if len(a_k):
                dS = G[r][:, a_i] * H[a_j][:, c].T + G[c][:, a_i] * H[a_j][:, r].T
                D[off:, loc["a"]] = dS
                if self.meanstructure:
                    D[:p, loc["a"]] = G[:, a_i] * eta[a_j]
            if len(p_k):
                dS = G[r][:, p_i] * G[c][:, p_j] + G[r][:, p_j] * G[c][:, p_i]
                diag = p_i == p_j
                dS[:, diag] *= 0.5
                D[off:, loc["p"]] = dS
            if len(m_k) and self.meanstructure:
                D[:p, loc["m"]] = G[:, m_i]
            out.append((self.cols(g, full), self.to_cols(g, D, full)))
        return out

    def delta(self, x, full: bool = False) -> list:
        """``Delta_g = d m_g / d x`` per group (rows: moments; columns: reduced or full params)."""
        n = self.n_full if full else self.n_free
        out = []
        for cols, Dc in self.delta_blocks(x, full):
            D = np.zeros((self.n_moments, n))
            D[:, cols] = Dc
            out.append(D)
        return out

    def rank2_factors(self, x, full: bool = False) -> list:
        """Per group ``(Sigma, U, V, Dm)`` over the group's local full parameters: every
        ``dSigma_k = u_k v_k' + v_k u_k'`` (columns of ``U``, ``V``: for ``A[i, j]``
        ``u = G e_i``, ``v = H' e_j``; for ``P[i, j]`` ``u = G e_i``, ``v = G e_j``, halved on
        the diagonal) and ``dmu_k`` the columns of ``Dm`` (None without a mean structure).
        The structured form of ``Delta`` (O(p k) numbers instead of O(p^2 k))."""
        xf = np.ascontiguousarray(self.x_full(x, full), dtype=float)
        p = self.p
        out = []
        for g, (B, G, C, Sigma, eta) in enumerate(self._moments_all(xf)):
            a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k = self.idx[g]
            loc = self.local[g]
            k = len(loc["full"])
            U = np.zeros((p, k))
            V = np.zeros((p, k))
            U[:, loc["a"]] = G[:, a_i]
            V[:, loc["a"]] = C[a_j, :p].T
            U[:, loc["p"]] = G[:, p_i]
            V[:, loc["p"]] = G[:, p_j] * np.where(p_i == p_j, 0.5, 1.0)
            Dm = None
            if self.meanstructure:
                Dm = np.zeros((p, k))
                Dm[:, loc["a"]] = G[:, a_i] * eta[a_j]
                Dm[:, loc["m"]] = G[:, m_i]
            out.append((Sigma, U, V, Dm))
        return out

    def gradient(self, x, gms, full: bool = False) -> np.ndarray:
        """``sum_g Delta_g' g_g`` for moment gradients ``g_g`` (``[dF/dmu, dF/dvech(Sigma)]``,
        means only with a mean structure) by the matrix chain rule: with ``T`` the symmetric
        matrix of ``dF/dSigma`` (``g`` holds ``dF/dSigma_rc`` once per pair below the
        diagonal), ``dF/dA = 2 G' T H' + (G' dF/dmu) eta'``, ``dF/dP = 2 G' T G`` (once on the
        diagonal), ``dF/dM = G' dF/dmu`` -- no ``Delta`` is formed."""
        xf = np.ascontiguousarray(self.x_full(x, full), dtype=float)
        r, c = self.vr, self.vc
        p = self.p
        off = p if self.meanstructure else 0
        half = np.where(r == c, 1.0, 0.5)
        gf = np.zeros(self.n_full)
        for g, (B, G, C, Sigma, eta) in enumerate(self._moments_all(xf)):
            gm = np.asarray(gms[g], dtype=float)
            a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k = self.idx[g]
            T = np.zeros((p, p))
            hv = half * gm[off:]
            T[r, c] = hv
            T[c, r] = hv
            GtT = G.T @ T                                  # m x p
            Gtm = G.T @ gm[:p] if off else None
            if len(a_k):
                dA = 2.0 * (GtT @ C[:, :p].T)
                if Gtm is not None:
                    dA += np.outer(Gtm, eta)
                gf[a_k] += dA[a_i, a_j]
            if len(p_k):
                dP = 2.0 * (GtT @ G)
                gf[p_k] += dP[p_i, p_j] * np.where(p_i == p_j, 0.5, 1.0)
            if len(m_k) and Gtm is not None:
                gf[m_k] += Gtm[m_i]
        if full:
            return gf
        return np.bincount(self.eq_map, weights=gf, minlength=self.n_free)

    # ------------------------------------------------------------------ start values
    def start_values(self, sample: SampleStats) -> np.ndarray:
        """Start values in the full space (a fabin-like principal-component start).

        Loadings and latent variances from the first principal component of each factor's
        indicators, residual variances half the observed variance, intercepts the sample
        means, everything else 0; user ``start()`` values win.  The sample moments are the
        saturated (h1) moments: complete-case moments for listwise deletion, the EM estimates
        for FIML (as lavaan's ``lav_start`` uses ``lavh1`` with ``missing = "ml"``).
        """
        pt = self.pt
        xf = np.zeros(self.n_full)
        for g in range(self.ngroups):
            # FIML: the EM saturated moments (filled in by the objective) -- the complete-case
            # moments of a few complete rows are singular and give a bad start (issue 12)
            S, mean = sample.groups[g].start_moments()
            rows = np.flatnonzero(pt.group == g + 1)
            lam = {}
            lvvar = {}
            nload = {}
            for r in rows:
                if pt.op[r] == "=~" and pt.rhs[r] in self.ov:
                    nload[pt.rhs[r]] = nload.get(pt.rhs[r], 0) + 1
            for f in self.lv:
                ind_rows = [r for r in rows if pt.op[r] == "=~" and pt.lhs[r] == f and pt.rhs[r] in self.ov]
                if not ind_rows:
                    continue
                ii = [self.ov.index(pt.rhs[r]) for r in ind_rows]
                Ss = S[np.ix_(ii, ii)]
                if len(ii) == 1:
                    l = np.array([np.sqrt(max(Ss[0, 0], 1e-8) * 0.7)])
                else:
                    w, v = np.linalg.eigh(Ss)
                    l = v[:, -1] * np.sqrt(max(w[-1], 1e-8))
                    if l.sum() < 0:
                        l = -l
                l = l / np.sqrt([nload[pt.rhs[r]] for r in ind_rows])
                fixed = [(k, r) for k, r in enumerate(ind_rows) if pt.free[r] == 0]
                var_row = next((r for r in rows if pt.op[r] == "~~" and pt.lhs[r] == f and pt.rhs[r] == f), None)
                var_fixed = var_row is not None and pt.free[var_row] == 0
                if fixed and abs(pt.ustart[fixed[0][1]]) > 1e-12 and abs(l[fixed[0][0]]) > 1e-8:
                    k0, r0 = fixed[0]
                    scale = l[k0] / pt.ustart[r0]
                elif var_fixed and pt.ustart[var_row] > 0:
                    scale = np.sqrt(pt.ustart[var_row])
                else:
                    scale = 1.0
                for k, r in enumerate(ind_rows):
                    lam[r] = l[k] / scale
                lvvar[f] = scale ** 2
            for r in rows:
                k = pt.free[r] - 1
                if k < 0:
                    continue
                op, lhs, rhs = pt.op[r], pt.lhs[r], pt.rhs[r]
                if not np.isnan(pt.start[r]):
                    xf[k] = pt.start[r]
                elif op == "=~":
                    xf[k] = lam.get(r, 1.0)
                elif op == "~~" and lhs == rhs:
                    if lhs in self.ov:
                        xf[k] = 0.5 * S[self.ov.index(lhs), self.ov.index(lhs)]
                    else:
                        v = lvvar.get(lhs)
                        if v is None:
                            sub = [lvvar[pt.rhs[q]] for q in rows if pt.op[q] == "=~" and pt.lhs[q] == lhs and pt.rhs[q] in lvvar]
                            v = 0.5 * np.mean(sub) if sub else 0.05
                        if lhs in pt.roles.eqs_y or any(pt.op[q] == "=~" and pt.rhs[q] == lhs for q in rows):
                            v = 0.5 * v
                        xf[k] = v
                elif op == "~1":
                    xf[k] = mean[self.ov.index(lhs)] if lhs in self.ov else 0.0
                else:
                    xf[k] = 0.0
        return xf
