"""Symmetric matrices that are sums of per-group blocks (model layer; used by the objective,
estimate and results layers).

A multi-group model's information matrix is ``I = sum_g L_g' I_g L_g``: group ``g``'s block
``I_g`` lives on the parameters its moments depend on (``cols_g``).  Parameters that belong to
one group only make ``I`` block diagonal; the parameters shared by several groups
(``group_equal`` constraints) add a border: an "arrowhead" matrix.  :class:`BlockSystem`
keeps the blocks and, when the matrix is large and the border is small, solves with it and
inverts it through the Schur complement of the border (cost linear in the number of groups,
``O(sum_g k_g^3 + s^3)``, instead of ``O(n^3)`` for the dense matrix); otherwise it is an
ordinary dense matrix.
"""
from __future__ import annotations

import numpy as np
from scipy import linalg as sla

#: below this many parameters (or with one group) the dense matrix is used as before
DENSE_MAX = 300



def _cholesky(A):
    """``scipy.linalg.cho_factor(A, lower=True)``; a matrix that is not positive definite (or
    gives a non-finite factor) raises ``numpy.linalg.LinAlgError``, as the dense path does."""
    try:
        cf = sla.cho_factor(A, lower=True, check_finite=False)
    except sla.LinAlgError as exc:
        raise np.linalg.LinAlgError(str(exc)) from exc
    if not np.all(np.isfinite(cf[0])):
        raise np.linalg.LinAlgError("non-finite factor")
    return cf

class BlockSystem:
    """``sum_g`` of ``blocks[g] = (cols_g, M_g)`` (``M_g`` symmetric, ``len(cols_g)`` square)
    as an ``n x n`` matrix.

    :meth:`dense` assembles it; :attr:`structured` says whether the arrowhead solver applies
    (several groups, ``n > DENSE_MAX``, at most ``n / 2`` shared parameters).  :meth:`factor`
    (with a ridge added to the diagonal, as the optimiser's ``I + 1e-12 I``), :meth:`solve`,
    :meth:`inverse` and :meth:`min_max_eigenvalues` raise ``numpy.linalg.LinAlgError`` when a
    block or the Schur complement is not positive definite (callers then use the dense matrix).
    """

    def __init__(self, blocks: list, n: int, dense_max: int | None = None):
        if dense_max is None:
            dense_max = DENSE_MAX
        self.blocks = [(np.asarray(c, dtype=int), np.asarray(M, dtype=float)) for c, M in blocks]
        self.n = int(n)
        count = np.zeros(self.n, dtype=int)
        for c, _ in self.blocks:
            count[c] += 1
        self.shared = np.flatnonzero(count != 1)
        self.structured = (len(self.blocks) > 1 and self.n > dense_max
                           and len(self.shared) <= self.n // 2)
        self._dense = None
        self._fac = None

    # ------------------------------------------------------------------ dense form
    def dense(self) -> np.ndarray:
        """The ``n x n`` matrix (blocks added in group order)."""
        if self._dense is None:
            out = np.zeros((self.n, self.n))
            for c, M in self.blocks:
                out[np.ix_(c, c)] += M
            self._dense = out
        return self._dense

    def matvec(self, v: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n)
        for c, M in self.blocks:
            out[c] += M @ v[c]
        return out

    # ------------------------------------------------------------------ arrowhead solver
    def factor(self, ridge: float = 0.0) -> "BlockSystem":
        """Factor the blocks of the group-own parameters and the Schur complement of the
        shared ones (``ridge`` added to the diagonal)."""
        if self._fac is not None and self._fac["ridge"] == ridge:
            return self
        s_pos = np.full(self.n, -1, dtype=int)
        s_pos[self.shared] = np.arange(len(self.shared))
        s = len(self.shared)
        schur = np.zeros((s, s))
        schur[np.diag_indices(s)] += ridge
        groups = []
        for c, M in self.blocks:
            is_s = s_pos[c] >= 0
            li, si = np.flatnonzero(~is_s), np.flatnonzero(is_s)
            sg = s_pos[c[si]]
            Mss = M[np.ix_(si, si)]
            if len(li):
                A = M[np.ix_(li, li)].copy()
                A[np.diag_indices(len(li))] += ridge
                cf = _cholesky(A)
                Bm = M[np.ix_(li, si)]
                Z = sla.cho_solve(cf, Bm, check_finite=False) if len(si) else np.zeros((len(li), 0))
                Mss = Mss - Bm.T @ Z
            else:
                cf, Z = None, np.zeros((0, len(si)))
            schur[np.ix_(sg, sg)] += Mss
            groups.append({"L": c[li], "cf": cf, "Z": Z, "sg": sg})
        if s:
            scf = _cholesky(schur)
        else:
            scf = None
        self._fac = {"ridge": ridge, "groups": groups, "schur": scf, "s": s}
        return self

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``x`` with ``(I + ridge) x = b`` (after :meth:`factor`)."""
        fac = self._fac if self._fac is not None else self.factor()._fac
        b = np.asarray(b, dtype=float)
        x = np.zeros(self.n)
        rs = b[self.shared].copy()
        ys = []
        for gr in fac["groups"]:
            ys.append(None if gr["cf"] is None else
                      sla.cho_solve(gr["cf"], b[gr["L"]], check_finite=False))
        # the border: rs = b_S - sum_g B_g' A_g^-1 b_Lg  (B_g' A_g^-1 = Z_g')
        for gr, y in zip(fac["groups"], ys):
            if y is not None and len(gr["sg"]):
                Bt_y = gr["Z"].T @ b[gr["L"]]
                np.add.at(rs, gr["sg"], -Bt_y)
        xs = sla.cho_solve(fac["schur"], rs, check_finite=False) if fac["s"] else rs
        x[self.shared] = xs
        for gr, y in zip(fac["groups"], ys):
            if y is None:
                continue
            x[gr["L"]] = y - gr["Z"] @ xs[gr["sg"]] if len(gr["sg"]) else y
        return x

    def inverse(self) -> np.ndarray:
        """The dense inverse (after :meth:`factor`): ``[[A^-1 + Z S^-1 Z', -Z S^-1],
        [-S^-1 Z', S^-1]]`` with ``A`` the block-diagonal group-own part, ``Z = A^-1 B`` and
        ``S`` the Schur complement."""
        fac = self._fac if self._fac is not None else self.factor()._fac
        s = fac["s"]
        Sinv = sla.cho_solve(fac["schur"], np.eye(s), check_finite=False) if s else np.zeros((0, 0))
        out = np.zeros((self.n, self.n))
        sh = self.shared
        out[np.ix_(sh, sh)] = Sinv
        Ls, Zf = [], []
        for gr in fac["groups"]:
            if gr["cf"] is None:
                continue
            L = gr["L"]
            Ainv = sla.cho_solve(gr["cf"], np.eye(len(L)), check_finite=False)
            out[np.ix_(L, L)] = Ainv
            Z = np.zeros((len(L), s))
            if len(gr["sg"]):
                Z[:, gr["sg"]] = gr["Z"]
            Ls.append(L)
            Zf.append(Z)
        if s and Ls:
            L = np.concatenate(Ls)
            Z = np.vstack(Zf)
            ZS = Z @ Sinv
            out[np.ix_(L, L)] += ZS @ Z.T
            out[np.ix_(L, sh)] = -ZS
            out[np.ix_(sh, L)] = -ZS.T
        return out

    def min_max_eigenvalues(self) -> tuple[float, float]:
        """Smallest and largest eigenvalue (Lanczos: the largest from products with the
        matrix, the smallest by shift-invert with :meth:`solve`)."""
        from scipy.sparse.linalg import LinearOperator, eigsh
        self.factor(0.0)
        op = LinearOperator((self.n, self.n), matvec=self.matvec, dtype=float)
        inv = LinearOperator((self.n, self.n), matvec=self.solve, dtype=float)
        v0 = np.ones(self.n) / np.sqrt(self.n)
        wmax = eigsh(op, k=1, which="LA", v0=v0, return_eigenvectors=False)[0]
        wmin = eigsh(op, k=1, sigma=0.0, OPinv=inv, which="LM", v0=v0,
                     return_eigenvectors=False)[0]
        return float(wmin), float(wmax)
