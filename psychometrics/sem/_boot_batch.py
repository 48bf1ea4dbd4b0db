"""Bootstrap refits in lockstep: many draws of one RAM model refitted at once (issue 13).

A chunk of draws is refitted by the quasi-Newton method of :func:`bootstrap._bfgs` -- the
same iterations, draw by draw, from the same start (the original estimates) and metric (the
inverse observed Hessian of the original fit) -- but every evaluation of F and dF/dx is done
for all draws of the chunk that still iterate as stacked arrays, so the Python overhead of an
evaluation is paid once per chunk instead of once per draw.

* **Sufficient statistics of a draw** (per group, read once per draw from its case counts
  ``c_i``): ``N = sum c_i``, ``S1 = sum c_i y_i``, ``S2 = sum c_i y_i y_i'``, and for
  incomplete data ``YO = sum c_i y_i o_i'`` and ``OO = sum c_i o_i o_i'`` (``o_i`` the 0/1
  observation mask, ``y_i`` zero where missing; centred at the full data's means).  With
  ``d_i = y_i - mu o_i`` the weighted scatter about ``mu`` is
  ``T = S2 - YO (1 mu') - (YO (1 mu'))' + (mu mu') * OO`` (elementwise products).
* **Missing data** (Little & Rubin 2002, ch. 6-8; the partitioned inverse as in
  :class:`~psychometrics.sem.fiml.CasewiseFIML`): a case missing the set ``m`` has
  ``Sigma_oo^-1`` (zero padded) ``= W - W_.m Q W_m.`` with ``W = Sigma^-1``,
  ``Q = W_mm^-1`` and ``log|Sigma_oo| = log|Sigma| + log|W_mm|``.  With ``t_i = W_m. d_i``
  and ``z_i = Q t_i`` (scattered to ``zhat_i``):
  ``logl = -1/2 [N log|Sigma| + tr(W T) - sum c_i t_i'z_i + sum_k n_k log|W_mm,k|]``,
  ``dlogl/dmu = W (S1 - mu diag(OO) - sum c_i zhat_i)`` and
  ``dlogl/dSigma = 1/2 [W (T - Z - Z' + Y + C) W - N W]`` with ``Z = sum c_i d_i zhat_i'``,
  ``Y = sum c_i zhat_i zhat_i'`` and ``C = sum_k n_k Q_k`` (scattered): one ``p x p`` sandwich
  per draw, and only O(p |m|) work per incomplete case (the scatters are fixed sparse
  matrices, built once per data set).
* **Chain rule** to the parameters on the RAM matrices, as :class:`bootstrap._RAMChain`.

Every quantity of a draw is computed from that draw's own arrays (stacked products call BLAS
per matrix, reductions run along each draw's own axes, scatters are sparse products whose
columns are the draws), so a draw's estimates do not depend on the chunk it is refitted in,
on the other draws of the chunk or on the number of processes.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

# lockstep status codes (bootstrap._bfgs's statuses)
RUNNING, CONVERGED, DIVERGED, MAX_ITER, LINE_SEARCH = 0, 1, 2, 3, 4
STATUS = {CONVERGED: "converged", DIVERGED: "diverged", MAX_ITER: "max_iter",
          LINE_SEARCH: "line_search"}


class GroupDesign:
    """One group's data prepared once for the lockstep refits: centred rows, observation
    masks, incomplete rows by number of missing variables, and the sparse scatter matrices
    of the incomplete cases' terms.  Rows with every variable missing are ignored (as
    :class:`~psychometrics.sem.fiml.CaseDesign` and lavaan)."""

    def __init__(self, data: np.ndarray):
        y = np.asarray(data, dtype=float)
        obs = ~np.isnan(y)
        self.n, self.p = y.shape
        p = self.p
        self.center = (np.where(obs.any(axis=0), np.nanmean(np.where(obs, y, np.nan), axis=0), 0.0)
                       if obs.any() else np.zeros(p))
        y0 = np.where(obs, y - self.center, 0.0)
        nmiss = (~obs).sum(axis=1)
        keep = obs.any(axis=1)
        self.complete = np.flatnonzero(keep & (nmiss == 0))
        self.incomplete = np.flatnonzero(keep & (nmiss > 0))
        self.yc = np.ascontiguousarray(y0[self.complete])
        self.yi = np.ascontiguousarray(y0[self.incomplete])
        self.oi = np.ascontiguousarray(obs[self.incomplete].astype(float))
        self.has_missing = len(self.incomplete) > 0
        self.classes = []
        if not self.has_missing:
            return
        keys, inv = np.unique(obs[self.incomplete], axis=0, return_inverse=True)
        inv = np.asarray(inv).ravel()
        width = (~keys).sum(axis=1)
        # per class of width w: the patterns' missing sets and the cases
        parts = {"y": [], "o": [], "e": [], "zz": [], "q": []}
        off_pairs = off_ww = off_q = 0
        for w in np.unique(width):
            w = int(w)
            ks = np.flatnonzero(width == w)
            pm = np.array([np.flatnonzero(~keys[k]) for k in ks], dtype=int).reshape(len(ks), w)
            local = np.full(len(keys), -1)
            local[ks] = np.arange(len(ks))
            cases = np.flatnonzero(width[inv] == w)              # into the incomplete rows
            pat = local[inv[cases]]
            miss = pm[pat]                                        # n_c x w
            nc = len(cases)
            # pattern membership (n_c x npat) to sum the case counts per pattern
            member = sparse.csr_matrix((np.ones(nc), (np.arange(nc), pat)), shape=(nc, len(ks)))
            self.classes.append(dict(w=w, pm=pm, cases=cases, pat=pat, miss=miss,
                                     member=member, pr=pm[:, :, None], pc=pm[:, None, :],
                                     off_pairs=off_pairs, off_ww=off_ww, off_q=off_q))
            # the pairs (case c, slot s) -> input column off_pairs + c w + s, variable j
            jq = miss.ravel()
            yq = np.repeat(self.yi[cases], w, axis=0)
            oq = np.repeat(self.oi[cases], w, axis=0)
            qq, ll = np.nonzero(yq)
            parts["y"].append((ll * p + jq[qq], off_pairs + qq, yq[qq, ll]))
            qq, ll = np.nonzero(oq)
            parts["o"].append((ll * p + jq[qq], off_pairs + qq, np.ones(len(qq))))
            parts["e"].append((jq, off_pairs + np.arange(nc * w), np.ones(nc * w)))
            # (case c, s, s2) -> column off_ww + (c w + s) w + s2, output miss[c,s] p + miss[c,s2]
            rz = (miss[:, :, None] * p + miss[:, None, :]).ravel()
            parts["zz"].append((rz, off_ww + np.arange(nc * w * w), np.ones(nc * w * w)))
            rq = (pm[:, :, None] * p + pm[:, None, :]).ravel()
            parts["q"].append((rq, off_q + np.arange(len(ks) * w * w), np.ones(len(ks) * w * w)))
            off_pairs += nc * w
            off_ww += nc * w * w
            off_q += len(ks) * w * w
        self.n_pairs, self.n_ww, self.n_q = off_pairs, off_ww, off_q
        # every (incomplete case, missing variable) pair in the order of the classes
        self.pair_var = np.concatenate([cl["miss"].ravel() for cl in self.classes])
        self.pair_case = np.concatenate([np.repeat(cl["cases"], cl["w"]) for cl in self.classes])
        # W_m. y_i of every pair (i, j): row q of Mwy holds y_i at the columns j p + l
        yq = self.yi[self.pair_case]
        qq, ll = np.nonzero(yq)
        self.Mwy = sparse.csr_matrix((yq[qq, ll], (qq, self.pair_var[qq] * p + ll)),
                                     shape=(self.n_pairs, p * p))
        self.Mwy.sort_indices()

        def assemble(key, nrows, ncols):
            r = np.concatenate([a for a, _, _ in parts[key]])
            c = np.concatenate([b for _, b, _ in parts[key]])
            v = np.concatenate([x for _, _, x in parts[key]])
            out = sparse.csr_matrix((v, (r, c)), shape=(nrows, ncols))
            out.sort_indices()                    # a fixed order of the sums
            return out
        pp = p * p
        # transposed scatters (outputs x inputs): out = M @ v' with one column per draw
        self.My = assemble("y", pp, off_pairs)    # Yz[l, j] = sum_q v_q y_{i_q, l}
        self.Mo = assemble("o", pp, off_pairs)    # Oz[l, j] = sum_q v_q o_{i_q, l}
        self.Me = assemble("e", p, off_pairs)     # zsum[j] = sum_q v_q
        self.Mzz = assemble("zz", pp, off_ww)     # Y = sum c zhat zhat'
        self.Mq = assemble("q", pp, off_q)        # C = sum_k n_k Q_k
        # one product each in the kernel: [Yz; Oz; zsum] from v, Y + C from [v z', n_k Q_k]
        self.Myoe = sparse.vstack([self.My, self.Mo, self.Me], format="csr")
        self.Myoe.sort_indices()
        self.Myc = sparse.hstack([self.Mzz, self.Mq], format="csr")
        self.Myc.sort_indices()

    def stats(self, counts: np.ndarray) -> dict:
        """Sufficient statistics of one draw from its case counts (length n)."""
        p = self.p
        cc = counts[self.complete]
        nc = float(cc.sum())
        s1 = cc @ self.yc
        s2 = (self.yc.T * cc) @ self.yc
        out = {"N": nc, "S1": s1, "S2": s2}
        if self.has_missing:
            ci = counts[self.incomplete]
            yw = self.yi.T * ci
            out["S1"] = s1 + ci @ self.yi
            out["S2"] = s2 + yw @ self.yi
            out["YO"] = np.add.outer(s1, np.zeros(p)) + yw @ self.oi
            out["OO"] = np.full((p, p), nc) + (self.oi.T * ci) @ self.oi
            out["N"] = nc + float(ci.sum())
            out["ci"] = ci
        return out


class ChunkStats:
    """Stacked sufficient statistics of a chunk of draws for one group."""

    def __init__(self, design: GroupDesign, idx_list: list):
        self.d = design
        st = [design.stats(np.bincount(np.asarray(ix), minlength=design.n).astype(float))
              for ix in idx_list]
        self.N = np.array([s["N"] for s in st])
        self.S1 = np.stack([s["S1"] for s in st])
        self.S2 = np.stack([s["S2"] for s in st])
        if design.has_missing:
            self.YO = np.stack([s["YO"] for s in st])
            self.OO = np.stack([s["OO"] for s in st])
            ci = np.stack([s["ci"] for s in st])                       # B x n_inc
            # per class B x n_c and B x npat, C-ordered as a gathered copy of them is: a
            # reduction along a draw's row must add in the same order whether the kernel
            # reads them whole or gathered
            self.cc = [np.ascontiguousarray(ci[:, cl["cases"]]) for cl in design.classes]
            self.nk = [np.ascontiguousarray((cl["member"].T @ c.T).T)
                       for cl, c in zip(design.classes, self.cc)]


class BatchRAM:
    """``F`` and ``dF/dx`` of a RAM :class:`~psychometrics.sem.model.Model` for a stack of
    parameter vectors and draws (the objective of :func:`bootstrap._fast_refit`:
    ``F = -sum_g logl_g / N``, logl without the 2 pi constant)."""

    def __init__(self, model, designs):
        self.model = model
        self.designs = designs
        self.p, self.m = model.p, model.m
        self.ms = bool(model.meanstructure)
        eq = np.asarray(model.pt.eq_map, dtype=int)
        self.eq_map = eq
        k = int(eq.max()) + 1 if len(eq) else 0
        self.k = k
        self.Kt = sparse.csr_matrix((np.ones(len(eq)), (eq, np.arange(len(eq)))), shape=(k, len(eq)))
        self.eye = np.eye(model.m)
        self.pmult = [np.where(ix[3] == ix[4], 1.0, 2.0) for ix in model.idx]
        # paths only from latent variables (no A entry in an observed column): B = (I - A)^-1
        # is [[I, A_ol B_ll], [0, B_ll]] with B_ll = (I - A_ll)^-1 (no m x m inverse)
        p = self.p
        self.latent_only, self.ll_zero = [], []
        for (A0, _, _), (a_i, a_j, *_rest) in zip(model.base, model.idx):
            lat = not np.any(A0[:, :p]) and not np.any(a_j < p)
            self.latent_only.append(lat)
            self.ll_zero.append(lat and not np.any(A0[p:, p:]) and not np.any(a_i >= p))
        self.eye_l = np.eye(self.m - p)
        # the free entries of A by row block (observed, latent) and of P by block (oo, ol,
        # lo, ll), for the latent-only gradient
        self.a_blocks = [(ix[0] < p, ix[0] >= p) for ix in model.idx]
        self.p_blocks = [((ix[3] < p) & (ix[4] < p), (ix[3] < p) & (ix[4] >= p),
                          (ix[3] >= p) & (ix[4] < p), (ix[3] >= p) & (ix[4] >= p))
                         for ix in model.idx]
        # Sigma = Theta + Lam Psi Lam' with a diagonal Theta (no residual covariances, no
        # observed-latent covariances): Sigma^-1 and log|Sigma| by the Woodbury identity
        # (:func:`_woodbury_rows`; tests switch it off to compare with the general path)
        self.woodbury = []
        self.p_blockdiag = []   # P = diag(theta) + Psi: admissible() needs Psi's eigenvalues only
        for (A0, P0, _), (a_i, a_j, a_k, p_i, p_j, *_rest), lat in zip(model.base, model.idx,
                                                                      self.latent_only):
            po = P0[:p, :p]
            diag = (not np.any(po - np.diag(np.diag(po))) and not np.any(P0[:p, p:])
                    and not np.any((p_i < p) & (p_j < p) & (p_i != p_j))
                    and not np.any((p_i < p) != (p_j < p)))
            self.woodbury.append(bool(lat and diag and self.m > p))
            self.p_blockdiag.append(bool(diag))
        self.stats = None
        self._mats = None       # buffers of matrices()

    def bytes_per_draw(self) -> int:
        """About the memory one draw of a chunk takes in an evaluation (the largest stacked
        arrays: the model matrices, ``W y_i`` of the incomplete cases and the gathers of the
        missing-variable pairs), to bound the chunk size on large data sets."""
        p, m = self.p, self.m
        b = 12 * m * m + 12 * p * p + 2 * 64 * self.k   # + BFGS pairs of ~64 iterations
        for d in self.designs:
            if d.has_missing:
                b += p * len(d.incomplete) + 6 * d.n_pairs + 3 * d.n_ww + 2 * d.n_q
                b += sum(len(cl["cases"]) + len(cl["pm"]) for cl in d.classes)
        return 8 * b

    def set_chunk(self, draws: list) -> None:
        """The draws of the chunk (per draw: a list of per-group row indices)."""
        self.stats = [ChunkStats(d, [dr[g] for dr in draws]) for g, d in enumerate(self.designs)]
        self.Ntot = sum(s.N for s in self.stats)

    def matrices(self, X):
        """Per group stacked ``(A, P, M)`` at the reduced parameter rows ``X`` (B x k).  The
        arrays are views of buffers kept between calls (the fixed entries are written once,
        the free ones at every call): valid until the next call."""
        XF = X[:, self.eq_map]
        B = X.shape[0]
        out = []
        if self._mats is None or self._mats[0][0].shape[0] < B:
            self._mats = [tuple(np.repeat(Z0[None], B, axis=0) for Z0 in base)
                          for base in self.model.base]
        for (A, P, M), (a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k) in zip(self._mats, self.model.idx):
            A, P, M = A[:B], P[:B], M[:B]
            A[:, a_i, a_j] = XF[:, a_k]
            P[:, p_i, p_j] = XF[:, p_k]
            P[:, p_j, p_i] = XF[:, p_k]
            M[:, m_i] = XF[:, m_k]
            out.append((A, P, M))
        return out

    def fg(self, X, sel):
        """``(F, dF/dx, ok)`` at parameter rows ``X`` for the chunk's draws ``sel``; ``ok``
        False where F cannot be evaluated (a singular ``I - A`` or a covariance matrix that is
        not positive definite): such rows get F = inf."""
        try:
            return self._fg(X, sel)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            pass
        # some draw cannot be evaluated: one by one (rare), each draw's numbers unchanged
        f = np.full(len(sel), np.inf)
        g = np.zeros_like(X)
        ok = np.zeros(len(sel), dtype=bool)
        for r in range(len(sel)):
            try:
                fr, gr, okr = self._fg(X[r:r + 1], sel[r:r + 1])
                f[r], g[r], ok[r] = fr[0], gr[0], okr[0]
            except (np.linalg.LinAlgError, FloatingPointError, ValueError):
                pass
        return f, g, ok

    def _fg(self, X, sel):
        p = self.p
        B = X.shape[0]
        total = np.zeros(B)
        gf = np.zeros((B, len(self.eq_map)))
        badrows = None
        # every draw of the chunk (the first evaluations of a chunk, most of its work): the
        # stacked statistics as they are, without gathering copies of them
        full = sel if len(sel) < len(self.Ntot) else slice(None)
        with np.errstate(all="raise"):
            mats = self.matrices(X)
        for gi, ((A, P, M), st) in enumerate(zip(mats, self.stats)):
            d = st.d
            lat = self.latent_only[gi]
            if lat:
                # B = [[I, Lam], [0, B_ll]] with Lam = A_ol B_ll: G = [I, Lam] and
                # H = B P G' by blocks (O(m l p) instead of O(m^2 p))
                if self.ll_zero[gi]:
                    Bll = None
                    Lam = A[:, :p, p:]
                else:
                    Bll = np.linalg.inv(self.eye_l - A[:, p:, p:])
                    Lam = A[:, :p, p:] @ Bll
                LamT = np.swapaxes(Lam, 1, 2)
                # P G' (B x m x p) by its latent rows (always needed) and observed rows
                # (only for Sigma without Woodbury, :func:`_pg_observed`)
                PGl = P[:, p:, :p] + P[:, p:, p:] @ LamT
                H = np.empty((B, self.m, p))
                # H[:p] = Sigma is needed only without Woodbury (no path starts at an
                # observed variable, so dF/dA uses the latent rows of H only)
                H[:, p:] = PGl if Bll is None else Bll @ PGl
            else:
                Bm = np.linalg.inv(self.eye - A)              # B x m x m
                G = Bm[:, :p]                                  # B x p x m
                GT = np.swapaxes(G, 1, 2)
                H = Bm @ (P @ GT)                              # B x m x p
            if lat and self.woodbury[gi]:
                logdet, W, rest = _woodbury_rows(Lam, P, p)
                bad = None
                if rest is not None:     # those draws by the general path
                    Sr = _pg_observed(P[rest], LamT[rest], p) + Lam[rest] @ PGl[rest]
                    Sr = 0.5 * (Sr + np.swapaxes(Sr, 1, 2))
                    ld_r, W_r, bad_r = _inverse_rows(Sr)
                    logdet[rest], W[rest] = ld_r, W_r
                    if bad_r is not None:
                        bad = np.zeros(B, dtype=bool)
                        bad[rest[bad_r]] = True
            else:
                if lat:
                    H[:, :p] = _pg_observed(P, LamT, p) + Lam @ PGl
                Sigma = H[:, :p]
                Sigma = 0.5 * (Sigma + np.swapaxes(Sigma, 1, 2))
                logdet, W, bad = _inverse_rows(Sigma)
            if bad is not None:          # those draws' F is inf; the others are unchanged
                badrows = bad if badrows is None else badrows | bad
            N = st.N[full]
            S1 = st.S1[full]
            S2 = st.S2[full]
            if self.ms:
                if lat:
                    eta = np.empty((B, self.m, 1))
                    eta[:, :p] = M[:, :p, None] + Lam @ M[:, p:, None]
                    eta[:, p:] = M[:, p:, None] if Bll is None else Bll @ M[:, p:, None]
                else:
                    eta = Bm @ M[:, :, None]                   # B x m x 1
                mu = eta[:, :p, 0] - d.center
            else:
                eta = None
                mu = S1 / N[:, None]                           # the draw's sample mean
            if d.has_missing:
                YO = st.YO[full]
                OO = st.OO[full]
                m1 = YO * mu[:, None, :]
                # T = S2 - m1 - m1' + (mu mu') * OO, the same operations in place
                T = S2 - m1
                T -= np.swapaxes(m1, 1, 2)
                m1 = np.multiply(mu[:, :, None], mu[:, None, :], out=m1)
                m1 *= OO
                T += m1
                nobs = np.diagonal(OO, axis1=1, axis2=2)
            else:
                m1 = S1[:, :, None] * mu[:, None, :]
                T = S2 - m1
                T -= np.swapaxes(m1, 1, 2)
                m1 = np.multiply(mu[:, :, None], mu[:, None, :], out=m1)
                m1 *= N[:, None, None]
                T += m1
                nobs = N[:, None]
            ll = N * logdet + (W * T).sum(axis=(1, 2))
            R = T
            zsum = None
            if d.has_missing:
                ll2, R, zsum = self._missing_terms(d, st, full, W, mu, T)
                ll = ll + ll2
            total += -0.5 * ll
            # dlogl/dSigma and dlogl/dmu
            # gS = (G + G') / 2 with G = (W R W - N W) / 2, the same operations in place
            G = W @ R @ W
            G -= N[:, None, None] * W
            G *= 0.5
            gS = G + np.swapaxes(G, 1, 2)
            gS *= 0.5
            a_i, a_j, a_k, p_i, p_j, p_k, m_i, m_k = self.model.idx[gi]
            if not lat:
                GtS = GT @ gS                                  # B x m x p
            Gtm = None
            if self.ms:
                r = S1 - mu * nobs
                if zsum is not None:
                    r = r - zsum
                gmu = (W @ r[:, :, None])[:, :, 0]
                if lat:
                    Gtm = np.empty((B, self.m))
                    Gtm[:, :p] = gmu
                    Gtm[:, p:] = (LamT @ gmu[:, :, None])[:, :, 0]
                else:
                    Gtm = (GT @ gmu[:, :, None])[:, :, 0]     # B x m
            if lat:
                # G = [I, Lam] and paths start at latent variables only (a_j >= p): the
                # free entries of G' gS H' lie in its latent columns, [Q; Lam' Q] with
                # Q = gS H_l' (H_l = H[p:]), and G' gS G = [[gS, gS Lam], [Lam' gS, Lam' gS Lam]]
                # (the entries gathered from the blocks themselves, not from an assembled copy)
                ob, lb = self.a_blocks[gi]
                pb = self.p_blocks[gi]
                if len(a_k):
                    Q = gS @ np.swapaxes(H[:, p:], 1, 2)       # B x p x l
                    dA = np.empty((B, len(a_k)))
                    dA[:, ob] = Q[:, a_i[ob], a_j[ob] - p]
                    if np.any(lb):
                        dA[:, lb] = (LamT @ Q)[:, a_i[lb] - p, a_j[lb] - p]
                    dA *= 2.0
                    if Gtm is not None:
                        dA += Gtm[:, a_i] * eta[:, a_j, 0]
                    gf[:, a_k] += dA
                if len(p_k):
                    Q2 = gS @ Lam                              # B x p x l
                    dP = np.empty((B, len(p_k)))
                    oo, ol, lo, ll_ = pb
                    dP[:, oo] = gS[:, p_i[oo], p_j[oo]]
                    dP[:, ol] = Q2[:, p_i[ol], p_j[ol] - p]
                    dP[:, lo] = Q2[:, p_j[lo], p_i[lo] - p]
                    if np.any(ll_):
                        dP[:, ll_] = (LamT @ Q2)[:, p_i[ll_] - p, p_j[ll_] - p]
                    gf[:, p_k] += dP * self.pmult[gi]
            else:
                if len(a_k):    # dF/dA = 2 G' gS H' + (G' gmu) eta', at the free entries only
                    dA = 2.0 * (GtS[:, a_i, :] * H[:, a_j, :]).sum(axis=2)
                    if Gtm is not None:
                        dA += Gtm[:, a_i] * eta[:, a_j, 0]
                    gf[:, a_k] += dA
                if len(p_k):    # dF/dP = G' gS G
                    dP = (GtS[:, p_i, :] * GT[:, p_j, :]).sum(axis=2)
                    gf[:, p_k] += dP * self.pmult[gi]
            if len(m_k) and Gtm is not None:
                gf[:, m_k] += Gtm[:, m_i]
        Ntot = self.Ntot[full]
        f = -total / Ntot
        g = -np.asarray((self.Kt @ gf.T).T) / Ntot[:, None]
        ok = np.isfinite(f) & np.all(np.isfinite(g), axis=1)
        if badrows is not None:
            ok &= ~badrows
        f = np.where(ok, f, np.inf)
        return f, g, ok

    @staticmethod
    def _missing_terms(d, st, sel, W, mu, T):
        """The incomplete cases' terms: ``(-sum c t'z + sum n_k log|W_mm|, R = T - Z - Z' + Y
        + C, sum c zhat)`` (see the module docstring)."""
        B, p = mu.shape
        ll = np.zeros(B)
        V = np.empty((B, d.n_pairs))
        VQ = np.empty((B, d.n_ww + d.n_q))       # the inputs of Y (z z') and of C (n_k Q_k)
        VV, QN = VQ[:, :d.n_ww], VQ[:, d.n_ww:]
        # W_m. y_i of every (case, missing variable) pair
        WY = np.asarray(d.Mwy @ np.ascontiguousarray(W.reshape(B, p * p).T)).T
        Wmu = (W @ mu[:, :, None])[:, :, 0]
        for cl, cc, nk in zip(d.classes, st.cc, st.nk):
            w = cl["w"]
            c = cc[sel]                                        # B x n_c
            nkb = nk[sel]                                      # B x npat
            pm, pat, miss = cl["pm"], cl["pat"], cl["miss"]
            Wmm = W[:, cl["pr"], cl["pc"]]                     # B x npat x w x w
            mum = mu[:, pm]                                    # B x npat x w
            if w == 1:
                wmm = Wmm[:, :, 0, 0]
                if np.any(wmm <= 0):
                    raise np.linalg.LinAlgError("W_mm not positive definite")
                ll += (nkb * np.log(wmm)).sum(axis=1)
                q = 1.0 / wmm
                Q = q[:, :, None, None]
                wm = wmm * mum[:, :, 0]
                a = cl["off_pairs"]
                t = WY[:, a:a + len(pat)] - Wmu[:, miss[:, 0]] + wm[:, pat]
                z = (q[:, pat] * t)[:, :, None]
                t = t[:, :, None]
            else:
                if w == 2:
                    a_, b_, c_ = Wmm[:, :, 0, 0], Wmm[:, :, 0, 1], Wmm[:, :, 1, 1]
                    det = a_ * c_ - b_ * b_
                    if np.any(a_ <= 0) or np.any(det <= 0):
                        raise np.linalg.LinAlgError("W_mm not positive definite")
                    ll += (nkb * np.log(det)).sum(axis=1)
                    Q = np.empty_like(Wmm)
                    Q[:, :, 0, 0] = c_ / det
                    Q[:, :, 1, 1] = a_ / det
                    Q[:, :, 0, 1] = Q[:, :, 1, 0] = -b_ / det
                elif w == 3:
                    a_, b_, c_ = Wmm[:, :, 0, 0], Wmm[:, :, 0, 1], Wmm[:, :, 0, 2]
                    d_, e_, f_ = Wmm[:, :, 1, 1], Wmm[:, :, 1, 2], Wmm[:, :, 2, 2]
                    A00 = d_ * f_ - e_ * e_
                    A01 = c_ * e_ - b_ * f_
                    A02 = b_ * e_ - c_ * d_
                    det = a_ * A00 + b_ * A01 + c_ * A02
                    if np.any(a_ <= 0) or np.any(a_ * d_ - b_ * b_ <= 0) or np.any(det <= 0):
                        raise np.linalg.LinAlgError("W_mm not positive definite")
                    ll += (nkb * np.log(det)).sum(axis=1)
                    Q = np.empty_like(Wmm)
                    Q[:, :, 0, 0] = A00 / det
                    Q[:, :, 0, 1] = Q[:, :, 1, 0] = A01 / det
                    Q[:, :, 0, 2] = Q[:, :, 2, 0] = A02 / det
                    Q[:, :, 1, 1] = (a_ * f_ - c_ * c_) / det
                    Q[:, :, 1, 2] = Q[:, :, 2, 1] = (b_ * c_ - a_ * e_) / det
                    Q[:, :, 2, 2] = (a_ * d_ - b_ * b_) / det
                else:
                    Lm = np.linalg.cholesky(Wmm)
                    ll += (nkb * (2.0 * np.log(np.diagonal(Lm, axis1=2, axis2=3)).sum(axis=2))).sum(axis=1)
                    Q = np.linalg.inv(Wmm)
                wm = (Wmm * mum[:, :, None, :]).sum(axis=3)    # W_mm mu_m, B x npat x w
                a = cl["off_pairs"]
                t = WY[:, a:a + len(pat) * w].reshape(B, len(pat), w) - Wmu[:, miss] + wm[:, pat]
                z = (Q[:, pat] * t[:, :, None, :]).sum(axis=3)
            ll -= (c * (t * z).sum(axis=2)).sum(axis=1)
            v = c[:, :, None] * z                              # B x n_c x w
            a, nc = cl["off_pairs"], len(pat)
            V[:, a:a + nc * w] = v.reshape(B, -1)
            a = cl["off_ww"]
            VV[:, a:a + nc * w * w] = (v[:, :, :, None] * z[:, :, None, :]).reshape(B, -1)
            a = cl["off_q"]
            QN[:, a:a + Q.shape[1] * w * w] = (nkb[:, :, None, None] * Q).reshape(B, -1)
        # the scatters give (outputs x draws); combined in that layout (contiguous per draw
        # column), turned to (draws x p x p) once
        pp = p * p
        out = np.asarray(d.Myoe @ np.ascontiguousarray(V.T))
        # Z = Yz - mu * Oz, in place in ``out`` (a product's factors commute exactly)
        Z = out[:pp].reshape(p, p, B)
        Oz = out[pp:2 * pp].reshape(p, p, B)
        Oz *= mu.T[:, None, :]
        Z -= Oz
        C = np.asarray(d.Myc @ np.ascontiguousarray(VQ.T)).reshape(p, p, B)
        C -= Z
        C -= Z.transpose(1, 0, 2)
        R = T + C.transpose(2, 0, 1)
        zsum = out[2 * pp:].T
        return ll, R, zsum

    def admissible(self, X) -> np.ndarray:
        """Per row of ``X``: no negative variance and positive semi-definite ``P`` blocks
        (:func:`bootstrap._admissible`)."""
        ok = np.ones(X.shape[0], dtype=bool)
        p = self.p
        for (A, P, M), blockdiag in zip(self.matrices(X), self.p_blockdiag):
            ok &= ~np.any(np.diagonal(P, axis1=1, axis2=2) < 0, axis=1)
            rows = np.flatnonzero(ok)
            if len(rows) and blockdiag:
                # P = diag(theta) + Psi (no residual or observed-latent covariances): its
                # eigenvalues are theta (checked above) and those of Psi
                if self.m == p:
                    continue
                try:    # one stacked call: LAPACK per matrix
                    ok[rows] = np.linalg.eigvalsh(P[rows][:, p:, p:]).min(axis=1) >= -1e-8
                    continue
                except np.linalg.LinAlgError:
                    pass
            for r in rows:
                try:
                    ok[r] = np.linalg.eigvalsh(P[r]).min() >= -1e-8
                except np.linalg.LinAlgError:
                    ok[r] = False
        return ok


def _pg_observed(P, LamT, p):
    """The observed rows of ``P G'`` (``G = [I, Lam]``): ``P_oo + P_ol Lam'``."""
    return P[:, :p, :p] + P[:, :p, p:] @ LamT


#: the Woodbury form of Sigma^-1 is used for a draw when every residual variance is at least
#: this share of its item's variance (else the cancellation in ``D - V V'`` could lose more
#: than about two digits; such draws take the Cholesky path)
WOODBURY_MIN_SHARE = 1e-2


def _stack_cholesky(S):
    """Cholesky factors of a stack and the mask of the matrices that have one (the others'
    factor is the identity); each matrix factored on its own (LAPACK per matrix)."""
    try:
        return np.linalg.cholesky(S), np.ones(S.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        pass
    L = np.empty_like(S)
    ok = np.ones(S.shape[0], dtype=bool)
    for r in range(S.shape[0]):
        try:
            L[r] = np.linalg.cholesky(S[r])
        except np.linalg.LinAlgError:
            ok[r] = False
            L[r] = np.eye(S.shape[1])
    return L, ok


def _woodbury_rows(Lam, P, p):
    """``(log|Sigma|, Sigma^-1, rest)`` of ``Sigma = Theta + Lam Psi Lam'`` (``Theta`` the
    diagonal of ``P[:p, :p]``, ``Psi = P[p:, p:]``) for a stack, by the Woodbury identity:
    with ``Psi = C C'``, ``U = Lam C``, ``D = Theta^-1`` and ``M = I + U' D U = L_M L_M'``,
    ``Sigma^-1 = D - V V'`` with ``V = D U L_M^-T`` and ``log|Sigma| = log|Theta| + log|M|``
    (O(p l^2 + p^2 l) instead of a p x p factorisation and inverse; l latent variables).
    ``rest`` (None when empty) holds the draws it does not serve -- a residual variance
    below :data:`WOODBURY_MIN_SHARE` of its item's variance or not positive, or ``Psi`` not
    positive definite -- which the caller computes by :func:`_inverse_rows` (their rows here
    are placeholders).  Every draw's numbers come from its own matrices only."""
    ar = np.arange(p)
    theta = np.array(P[:, ar, ar])
    C, ok = _stack_cholesky(P[:, p:, p:])
    U = Lam @ C
    comm = (U * U).sum(axis=2)
    ok &= np.all(theta >= WOODBURY_MIN_SHARE * (theta + comm), axis=1) & np.all(theta > 0, axis=1)
    theta[~ok] = 1.0
    DU = U / theta[:, :, None]
    Mm = np.swapaxes(U, 1, 2) @ DU
    Mm[:, range(Mm.shape[1]), range(Mm.shape[1])] += 1.0
    Lm, okm = _stack_cholesky(Mm)
    ok &= okm
    V = DU @ np.swapaxes(np.linalg.inv(Lm), 1, 2)
    W = -(V @ np.swapaxes(V, 1, 2))
    W[:, ar, ar] += 1.0 / theta
    logdet = np.log(theta).sum(axis=1) + 2.0 * np.log(np.diagonal(Lm, axis1=1, axis2=2)).sum(axis=1)
    rest = np.flatnonzero(~ok)
    return logdet, W, (rest if len(rest) else None)


def _inverse_rows(S):
    """``(log|S|, S^-1, bad)`` of a stack of symmetric matrices, each by LAPACK ``dpotrf``
    (Cholesky factor ``L``) and ``dtrtri`` (``L^-1``), ``S^-1 = L^-T L^-1``: about half the
    work of ``numpy.linalg.inv`` (an LU solve against the identity) and of the Cholesky
    factor it needs anyway for the log-determinant; OpenBLAS' ``dpotri`` was measured much
    slower for these small matrices (``fiml``).  ``bad`` (None when every matrix is positive
    definite) marks the matrices that are not: their inverse is the identity and their
    log-determinant 0 (the caller sets their F to inf).  Each matrix is factored on its own,
    so its numbers do not depend on the others."""
    from scipy.linalg.lapack import dpotrf, dtrtri

    nb, p = S.shape[0], S.shape[1]
    U = np.array(S, dtype=float, order="C")     # per matrix: L^-T, in place (below)
    bad = None
    for r in range(nb):
        # U[r].T is Fortran-ordered (no copy): LAPACK's lower triangle of it is the upper
        # triangle of U[r]; dpotrf then dtrtri leave L^-1 there, i.e. U[r] = L^-T
        c, info = dpotrf(U[r].T, lower=1, clean=1, overwrite_a=1)
        if info == 0:
            c, info = dtrtri(c, lower=1, overwrite_c=1)
        if info != 0:
            if bad is None:
                bad = np.zeros(nb, dtype=bool)
            bad[r] = True
            U[r] = np.eye(p)
    logdet = -2.0 * np.log(np.diagonal(U, axis1=1, axis2=2)).sum(axis=1)
    W = U @ np.swapaxes(U, 1, 2)
    fin = np.isfinite(logdet)
    if not np.all(fin):
        bad = ~fin if bad is None else bad | ~fin
        W[~fin] = np.eye(p)
        logdet[~fin] = 0.0
    return logdet, W, bad


#: below this largest gradient entry a refit whose gradient stops decreasing (F and dF/dx are
#: at the rounding level of their sums) is converged: see :func:`lockstep_bfgs`
STALL_GRADIENT = 1e-7
#: iterations without a new smallest gradient that make a stall
STALL_ITERATIONS = 4


def _endgame_bound(gmax, tol):
    """Near the optimum (largest gradient entry ``gmax`` below 1e-5, where F is flat to
    rounding) a trial step is accepted when its largest gradient entry is below this bound:
    half of ``gmax``; or ``tol`` (the step converges); or, below :data:`STALL_GRADIENT`, where
    F carries no information and the gradient is at its rounding level, any decrease of
    ``gmax``.  Without the last two a refit just above ``tol`` spent up to 30 halvings an
    iteration on trial steps that neither F nor the halving rule could judge (seen for about
    1 draw in 100 of the example study's structural model: up to 250 evaluations instead of
    about 20, each a call of the whole chunk's kernel)."""
    return np.where(gmax < STALL_GRADIENT, gmax, np.maximum(0.5 * gmax, tol))


def lockstep_bfgs(fg, X0, H0, tol=1e-8, max_iter=100, diverge=1e3, max_eval=None):
    """:func:`bootstrap._bfgs` for a stack of problems at once: ``fg(X, sel)`` returns
    ``(F, dF/dx, ok)`` for the problems ``sel`` at the rows of ``X``.  Every problem runs
    :func:`bootstrap._bfgs`'s iterations (its own step lengths, line search, BFGS updates and
    stopping rules); one call of ``fg`` evaluates the current trial point of every problem
    still running.  The inverse-Hessian approximation of a problem is kept in product form,
    ``H = H0 + sum_r (s_r u_r' + u_r s_r')`` (the BFGS update is this rank-two sum), so an
    iteration costs O(k^2 + r k) per problem, not the O(k^2) memory traffic of updating a
    k x k matrix.  One rule more than ``_bfgs``: a problem whose largest gradient entry is
    below :data:`STALL_GRADIENT` and has not reached a new minimum for
    :data:`STALL_ITERATIONS` iterations is converged (its F and gradient are at the rounding
    level of their sums, where ``_bfgs`` would spend its evaluation budget on steps accepted
    by rounding; its estimates are then within about 1e-9 of the optimum).  Returns
    ``(X, status, n_iter)`` (status codes of :data:`STATUS`)."""
    X0 = np.atleast_2d(np.asarray(X0, dtype=float))
    nb, k = X0.shape
    budget = 3 * max_iter if max_eval is None else max_eval
    X = X0.copy()
    status = np.full(nb, RUNNING)
    n_iter = np.zeros(nb, dtype=int)
    sel_all = np.arange(nb)
    f, g, ok = fg(X, sel_all)
    n_eval = np.ones(nb, dtype=int)
    status[~ok] = LINE_SEARCH
    shift = f.copy()
    f = np.zeros(nb)
    g_start = np.maximum(1.0, np.max(np.abs(g), axis=1))
    H0 = np.asarray(H0, dtype=float)
    cap = 8
    hs = np.zeros((nb, cap, k))        # BFGS pairs (s_r, u_r) per problem
    hu = np.zeros((nb, cap, k))
    cnt = np.zeros(nb, dtype=int)
    it = np.ones(nb, dtype=int)
    step = np.zeros((nb, k))
    slope = np.zeros(nb)
    t = np.ones(nb)
    nls = np.zeros(nb, dtype=int)
    gmax = np.zeros(nb)
    best = np.full(nb, np.inf)
    stall = np.zeros(nb, dtype=int)
    endgame = np.zeros(nb, dtype=bool)

    def hvec(rows, V):
        """``H V`` for the problems ``rows`` (one vector each)."""
        out = (H0 @ V[:, :, None])[:, :, 0]
        r = int(cnt[rows].max()) if len(rows) else 0
        if r:
            # every problem (rows is sorted): views instead of gathered copies, same numbers
            take = slice(None) if len(rows) == nb else rows
            S, U = hs[take, :r], hu[take, :r]
            cu = (U * V[:, None, :]).sum(axis=2)
            cs = (S * V[:, None, :]).sum(axis=2)
            out += (cu[:, :, None] * S).sum(axis=1)
            out += (cs[:, :, None] * U).sum(axis=1)
        return out

    def begin(idx):
        """Top of an iteration of ``_bfgs`` for the problems ``idx``: stopping rules, the
        quasi-Newton step; sets status for the problems that stop."""
        if len(idx) == 0:
            return
        gm = np.max(np.abs(g[idx]), axis=1)
        gmax[idx] = gm
        n_iter[idx] = it[idx]
        low = gm < STALL_GRADIENT
        new_best = gm < best[idx]
        stall[idx] = np.where(low & ~new_best, stall[idx] + 1, 0)
        best[idx] = np.minimum(best[idx], gm)
        conv = (gm < tol) | (low & (stall[idx] >= STALL_ITERATIONS))
        div = ~conv & (gm > diverge * g_start[idx])
        over = ~conv & ~div & (n_eval[idx] > budget)
        status[idx[conv]] = CONVERGED
        status[idx[div]] = DIVERGED
        status[idx[over]] = MAX_ITER
        go = idx[~(conv | div | over)]
        if len(go) == 0:
            return
        st = -hvec(go, g[go])
        sl = (g[go] * st).sum(axis=1)
        bad = sl >= 0
        if np.any(bad):      # the metric lost positive definiteness: restart from H0
            gb = go[bad]
            cnt[gb] = 0
            hs[gb] = 0.0
            hu[gb] = 0.0
            st[bad] = -hvec(gb, g[gb])
            sl[bad] = (g[gb] * st[bad]).sum(axis=1)
            still = bad & (sl >= 0)
            status[go[still]] = LINE_SEARCH
        step[go] = st
        slope[go] = sl
        t[go] = 1.0
        nls[go] = 0
        endgame[go] = gmax[go] < 1e-5

    begin(sel_all[status == RUNNING])
    while True:
        act = np.flatnonzero(status == RUNNING)
        if len(act) == 0:
            break
        Xn = X[act] + t[act, None] * step[act]
        fn, gn, okn = fg(Xn, act)
        n_eval[act] += 1
        fn = fn - shift[act]
        gnmax = np.max(np.abs(gn), axis=1)
        acc = okn & ((fn <= f[act] + 1e-4 * t[act] * slope[act])
                     | (endgame[act] & (gnmax < _endgame_bound(gmax[act], tol))))
        # rejected: halve the step (30 tries, as _bfgs)
        rej = act[~acc]
        if len(rej):
            nls[rej] += 1
            t[rej] *= 0.5
            out = rej[nls[rej] >= 30]
            if len(out):
                status[out] = np.where(gmax[out] < 1e-6, CONVERGED, LINE_SEARCH)
                n_iter[out] = it[out]
        a = act[acc]
        if len(a):
            xn, gna, fna = Xn[acc], gn[acc], fn[acc]
            s_ = xn - X[a]
            y_ = gna - g[a]
            sy = (s_ * y_).sum(axis=1)
            upd = sy > 1e-16
            if np.any(upd):
                u_idx = a[upd]
                su, yu = s_[upd], y_[upd]
                rho = 1.0 / sy[upd]
                Hy = hvec(u_idx, yu)
                yHy = (yu * Hy).sum(axis=1)
                u = (0.5 * (rho * rho * yHy + rho))[:, None] * su - rho[:, None] * Hy
                if int(cnt[u_idx].max()) >= cap:
                    grow = cap
                    hs = np.concatenate([hs, np.zeros((nb, grow, k))], axis=1)
                    hu = np.concatenate([hu, np.zeros((nb, grow, k))], axis=1)
                    cap += grow
                hs[u_idx, cnt[u_idx]] = su
                hu[u_idx, cnt[u_idx]] = u
                cnt[u_idx] += 1
            X[a], f[a], g[a] = xn, fna, gna
            it[a] += 1
            done = a[it[a] > max_iter]
            if len(done):
                status[done] = np.where(np.max(np.abs(g[done]), axis=1) < 1e-6, CONVERGED, MAX_ITER)
                n_iter[done] = max_iter
            begin(a[it[a] <= max_iter])
    return X, status, n_iter
