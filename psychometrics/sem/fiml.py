"""Full-information maximum likelihood (FIML) for incomplete multivariate-normal data.

The moment-level mathematics of lavaan's ``missing = "ml"``:

* :class:`MissingPatterns` groups the cases of one group by missing-data pattern and keeps the
  sufficient statistics of every pattern (case count, mean and N-denominator covariance of the
  observed variables), so that the log-likelihood, its gradient and its Hessian cost one small
  matrix inversion per *pattern*, not per case (lavaan's ``lav_samplestats_missing_patterns``).
* :meth:`MissingPatterns.loglik`, :meth:`~MissingPatterns.gradient`,
  :meth:`~MissingPatterns.casewise_scores` and :meth:`~MissingPatterns.information_observed`
  are the observed-data log-likelihood and its first and second derivatives with respect to
  the moment vector ``m = [mu, vech(Sigma)]`` (lavaan's ``lav_mvnorm_missing_loglik_samplestats``,
  ``lav_mvnorm_missing_scores_mu_vech_sigma``,
  ``lav_mvnorm_missing_information_observed_samplestats``).
* :meth:`MissingPatterns.em` is the EM estimate of the saturated (h1) model, started and
  stopped as lavaan's ``lav_mvnorm_missing_h1_estimate_moments`` does (start: available-case
  means and variances, zero covariances; stop when the largest change of ``[mu, vech(Sigma)]``
  is below ``tol = 1e-5`` or after 500 iterations).
* :class:`FIMLObjective` is the engine objective (CONTRIBUTING.md):
  ``F = -(logl - logl_h1) / N`` summed over groups, so that ``chisq = 2 N F =
  2 (logl_h1 - logl_h0)`` exactly as lavaan.

References: Arbuckle (1996), Full information estimation in the presence of incomplete data;
Little & Rubin (2002), Statistical analysis with missing data, ch. 8 (EM for the normal model);
lavaan 0.6-14 ``lav_mvnorm_missing.R`` / ``lav_mvnorm_missing_h1.R``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
import weakref

import numpy as np

LOG2PI = float(np.log(2.0 * np.pi))


def vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of ``vech`` (lower triangle, column by column, as lav_matrix_vech)."""
    iu_r, iu_c = np.triu_indices(p)
    return iu_c, iu_r


def vech(a: np.ndarray) -> np.ndarray:
    r, c = vech_indices(a.shape[0])
    return a[r, c]


def vech_reverse(v: np.ndarray, p: int) -> np.ndarray:
    r, c = vech_indices(p)
    out = np.zeros((p, p))
    out[r, c] = v
    out[c, r] = v
    return out


# cases per block of casewise scores (about 20 MB for 34 items): MLR sums over cases in blocks
SCORE_CHUNK_ROWS = 4096


@lru_cache(maxsize=16)
def _pair_index(p: int):
    r, c = vech_indices(p)
    off = (r != c).astype(float)
    cc = (c[:, None] * p + c[None, :]).ravel()
    rr = (r[:, None] * p + r[None, :]).ravel()
    cr = (c[:, None] * p + r[None, :]).ravel()
    rc = (r[:, None] * p + c[None, :]).ravel()
    return cc, rr, cr, rc, off[None, :], off[:, None], np.outer(off, off)


def _sym_pair_matrix(X: np.ndarray, Y: np.ndarray, r: np.ndarray | None = None,
                     c: np.ndarray | None = None) -> np.ndarray:
    """``D' (X kron Y) D`` for symmetric X, Y (D the duplication matrix), in vech coordinates.

    Entry ``[(a,b),(c,d)]`` is ``tr(X dS1 Y dS2)`` with ``dS1``/``dS2`` the symmetric unit
    perturbations of ``Sigma[a,b]`` and ``Sigma[c,d]``.
    """
    p = X.shape[0]
    cc, rr, cr, rc, off_c, off_r, off_rc = _pair_index(p)
    q = p * (p + 1) // 2
    xf, yf = X.ravel(), Y.ravel()
    t1 = xf.take(cc) * yf.take(rr)
    t2 = xf.take(cr) * yf.take(rc)
    t3 = xf.take(rc) * yf.take(cr)
    t4 = xf.take(rr) * yf.take(cc)
    t1 = t1.reshape(q, q); t2 = t2.reshape(q, q); t3 = t3.reshape(q, q); t4 = t4.reshape(q, q)
    return t1 + t2 * off_c + t3 * off_r + t4 * off_rc


def _sym_pair_sub(X, Y, r, c):
    """:func:`_sym_pair_matrix` for an arbitrary subset of vech positions ``(r, c)``."""
    off = (r != c).astype(float)
    t1 = X[np.ix_(c, c)] * Y[np.ix_(r, r)]
    t2 = X[np.ix_(c, r)] * Y[np.ix_(r, c)]
    t3 = X[np.ix_(r, c)] * Y[np.ix_(c, r)]
    t4 = X[np.ix_(r, r)] * Y[np.ix_(c, c)]
    return t1 + t2 * off[None, :] + t3 * off[:, None] + t4 * (off[:, None] * off[None, :])


#: largest number of entries (patterns x observed x observed) of one block of patterns handled
#: at once by the log-likelihood, its gradient and the observed information: a block's
#: temporaries are about 4 MB each whatever the number of patterns (a 34-item model of 10^6
#: cases with 3 % missing has tens of thousands of patterns; issue 13; 16 MB blocks, about ten
#: such arrays at once, were 0.15 GB of the measurement and structural steps' peaks).  A batch
#: within the limit is handled in one piece, exactly as before; each pattern's terms do not
#: depend on its block (the log-likelihood and gradient are the same, bit for bit).
PATTERN_BLOCK_CELLS = 2 ** 19
#: rows of one block of :func:`available_case_moments` (arrays with more rows are summed in
#: blocks instead of copied whole)
MOMENT_BLOCK_ROWS = 65_536


def available_case_moments(y: np.ndarray, block_rows: int | None = None):
    """``(mean, var)`` of every column of ``y`` over its non-missing cells (NaN = missing;
    ``var`` with N in the denominator, around the column's mean; NaN for an empty column):
    ``np.nanmean(y, axis=0)`` and ``np.nanmean((y - mean) ** 2, axis=0)``.  Arrays of at most
    ``block_rows`` rows (default :data:`MOMENT_BLOCK_ROWS`) are computed by exactly those
    expressions; larger ones are summed over blocks of rows (the same sums in another order,
    so equal to about 1e-15 relative) instead of holding three copies of ``y``."""
    block_rows = int(MOMENT_BLOCK_ROWS if block_rows is None else block_rows)
    import warnings as _w
    with _w.catch_warnings():
        _w.simplefilter("ignore", RuntimeWarning)       # an empty column: NaN, as nanmean
        if y.shape[0] <= block_rows:
            mean = np.nanmean(y, axis=0)
            return mean, np.nanmean((y - mean) ** 2, axis=0)
        p = y.shape[1]
        total = np.zeros(p)
        count = np.zeros(p)
        for a in range(0, y.shape[0], block_rows):
            blk = y[a:a + block_rows]
            total += np.nansum(blk, axis=0)
            count += np.sum(~np.isnan(blk), axis=0)
        mean = total / count
        ss = np.zeros(p)
        for a in range(0, y.shape[0], block_rows):
            ss += np.nansum((y[a:a + block_rows] - mean) ** 2, axis=0)
        return mean, ss / count


_PATTERN_CACHE: dict = {}
_PATTERN_WEAK: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()
_EM_CACHE: dict = {}
#: data sets up to this size (bytes) are also kept by the module cache after their fits are
#: gone (8 entries); larger ones are shared only while a fit still holds them, so a study of
#: 10^6 cases does not keep every instrument's data and patterns for the whole run (issue 13)
PATTERN_CACHE_MAX_BYTES = 16 * 2 ** 20


def _digest(y: np.ndarray) -> str:
    """SHA-1 of the bytes of the C-contiguous array ``y``: the same digest as
    ``hashlib.sha1(y.tobytes())``, read through the array's buffer instead of a copy of it
    (272 MB for 34 items of 10^6 cases; issue 13)."""
    import hashlib
    return hashlib.sha1(y.reshape(-1).view(np.uint8)).hexdigest()


def patterns_for(data: np.ndarray) -> "MissingPatterns":
    """A :class:`MissingPatterns` for ``data``, shared by every fit of the same data array
    (an invariance sequence or a model and its baseline reuse the patterns, the EM estimate
    and the saturated-model information).  Keyed by the data's bytes: shared while any fit
    holds it (weak references); small data sets are also kept in 8 strong entries."""
    y = np.ascontiguousarray(np.asarray(data, dtype=float))
    key = (y.shape, _digest(y))
    mp = _PATTERN_CACHE.get(key)
    if mp is None:
        mp = _PATTERN_WEAK.get(key)
    if mp is None:
        mp = MissingPatterns(y)
        _PATTERN_WEAK[key] = mp
    if y.nbytes <= PATTERN_CACHE_MAX_BYTES and key not in _PATTERN_CACHE:
        if len(_PATTERN_CACHE) >= 8:
            _PATTERN_CACHE.pop(next(iter(_PATTERN_CACHE)))
        _PATTERN_CACHE[key] = mp
    return mp


#: keep a pattern's covariance only where it is not exactly zero (a pattern of one case has
#: none): at 10^6 cases of 34 items most of the 22,667 patterns have one case, and their
#: covariances took about 0.1 GB (issue 13).  The arrays the objective works on are rebuilt
#: block by block with the same numbers (zeros where nothing is kept), so every result is
#: the same, bit for bit; tests switch it off to compare.
SPARSE_COVS = True


class Pattern:
    """One missing-data pattern: ``observed`` (int indices of the observed variables),
    ``rows`` (row indices into the group's data of its cases, in data order), ``n`` (their
    number), ``mean`` and ``cov`` (the observed variables' mean and N-denominator covariance
    over the pattern's cases).  ``cov`` is a zero matrix, made when asked, where none is kept
    (:data:`SPARSE_COVS`)."""

    __slots__ = ("observed", "rows", "n", "mean", "_cov", "grid")

    def __init__(self, observed, rows, n, mean, cov):
        self.observed = observed
        self.rows = rows
        self.n = n
        self.mean = mean
        self._cov = cov

    @property
    def cov(self) -> np.ndarray:
        if self._cov is None:
            k = len(self.observed)
            return np.zeros((k, k))
        return self._cov

    @cov.setter
    def cov(self, value):
        self._cov = value


@dataclass
class MissingPatterns:
    """Cases of one group grouped by missing-data pattern (with sufficient statistics).

    ``data`` is an ``n x p`` float array with ``NaN`` for missing values.  Cases with every
    variable missing are dropped (``empty_rows``), as lavaan does.
    """

    data: np.ndarray
    patterns: list = field(init=False)
    empty_rows: np.ndarray = field(init=False)
    n: int = field(init=False)
    p: int = field(init=False)

    def __post_init__(self):
        y = np.asarray(self.data, dtype=float)
        if y.ndim != 2:
            raise ValueError("data must be a 2-d array")
        self.data = y
        self.p = y.shape[1]
        obs = ~np.isnan(y)
        keep = obs.any(axis=1)
        self.empty_rows = np.flatnonzero(~keep)
        keys, inverse = np.unique(obs[keep], axis=0, return_inverse=True)
        inverse = np.asarray(inverse).ravel()
        kept_rows = np.flatnonzero(keep)
        # each pattern's rows in data order: one stable sort of the pattern numbers (not one
        # pass over all cases per pattern)
        by_pattern = kept_rows[np.argsort(inverse, kind="stable")]
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(keys)))])
        del obs, inverse
        pats = []
        # order: complete pattern first, then by number of observed variables (descending)
        order = sorted(range(len(keys)), key=lambda k: (-int(keys[k].sum()), tuple(~keys[k])))
        for k in order:
            rows = by_pattern[bounds[k]:bounds[k + 1]]
            idx = np.flatnonzero(keys[k])
            yo = y[np.ix_(rows, idx)]
            mean = yo.mean(axis=0)
            dev = yo - mean
            del yo
            cov = dev.T @ dev / len(rows)
            del dev
            if SPARSE_COVS and not cov.any():
                cov = None           # a zero matrix (one case): made when asked
            pt = Pattern(idx, rows, len(rows), mean, cov)
            pt.grid = np.ix_(idx, idx)
            pats.append(pt)
        self.patterns = pats
        self.n = int(keep.sum())
        # patterns with the same number of observed variables are processed as one batch;
        # a batch keeps the covariances that are not zero ("covs", at positions "cov_at"),
        # :meth:`_blocks` gives each block of patterns the whole K x k x k array
        self.batches = []
        for k in sorted({len(pt.observed) for pt in pats}, reverse=True):
            members = [pt for pt in pats if len(pt.observed) == k]
            idx = np.array([pt.observed for pt in members])
            at = np.array([j for j, pt in enumerate(members) if pt._cov is not None], dtype=int)
            b = {"idx": idx, "r": idx[:, :, None], "c": idx[:, None, :],
                 "n": np.array([pt.n for pt in members], dtype=float),
                 "mean": np.array([pt.mean for pt in members]),
                 "covs": (np.array([members[j]._cov for j in at]) if len(at)
                          else np.zeros((0, k, k))),
                 "cov_at": at}
            # each pattern's mean and covariance are views of the batch's arrays (the same
            # numbers, held once)
            for j, pt in enumerate(members):
                pt.mean = b["mean"][j]
            for i, j in enumerate(at):
                members[j]._cov = b["covs"][i]
            self.batches.append(b)

    def _blocks(self, b: dict):
        """The batch ``b`` in consecutive blocks of its patterns with at most
        :data:`PATTERN_BLOCK_CELLS` covariance entries each (one block unless there are
        many): dicts with the batch's keys for those patterns and ``"cov"``, the patterns'
        ``K x k x k`` covariances (zeros where none is kept), made for the block."""
        K, k = b["idx"].shape
        step = max(1, PATTERN_BLOCK_CELLS // max(1, k * k))
        at = b["cov_at"]
        for a in range(0, K, step):
            stop = min(K, a + step)
            blk = {key: (v if a == 0 and stop == K else v[a:stop]) for key, v in b.items()
                   if key not in ("covs", "cov_at")}
            lo, hi = np.searchsorted(at, [a, stop])
            if hi - lo == stop - a:                  # every covariance kept: a view
                blk["cov"] = b["covs"][lo:hi]
            else:
                cov = np.zeros((stop - a, k, k))
                cov[at[lo:hi] - a] = b["covs"][lo:hi]
                blk["cov"] = cov
            yield blk

    # -- basic quantities -------------------------------------------------------------
    @property
    def n_moments(self) -> int:
        return self.p + self.p * (self.p + 1) // 2

    @property
    def complete(self) -> bool:
        return len(self.patterns) == 1 and len(self.patterns[0].observed) == self.p

    def coverage(self) -> np.ndarray:
        """Proportion of cases observing each pair of variables (lavaan's coverage matrix)."""
        obs = (~np.isnan(self.data)).astype(float)
        return obs.T @ obs / self.data.shape[0]

    @staticmethod
    def _inv_logdet(s: np.ndarray) -> tuple[np.ndarray, float]:
        L = np.linalg.cholesky(s)      # raises LinAlgError when not positive definite
        logdet = 2.0 * float(np.log(np.diag(L)).sum())
        Li = np.linalg.inv(L)
        return Li.T @ Li, logdet

    def _batch_terms(self, b, mu, sigma, grad: bool):
        s = sigma[b["r"], b["c"]]
        L = np.linalg.cholesky(s)          # raises LinAlgError when not positive definite
        logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        Li = np.linalg.inv(L)
        w = np.swapaxes(Li, 1, 2) @ Li
        d = b["mean"] - mu[b["idx"]]
        wd = np.einsum("kij,kj->ki", w, d)
        tr = np.einsum("kij,kji->k", w, b["cov"]) + np.einsum("ki,ki->k", d, wd)
        ll = -0.5 * b["n"] * (logdet + tr)
        return ll, w, wd

    def loglik(self, mu: np.ndarray, sigma: np.ndarray, log2pi: bool = True) -> float:
        """Observed-data log-likelihood ``sum_i log f(y_i,obs; mu_obs, Sigma_obs)``.

        Returns ``-inf`` when some pattern's ``Sigma_obs`` is not positive definite.
        """
        mu = np.asarray(mu, float)
        sigma = np.asarray(sigma, float)
        total = 0.0
        try:
            for b in self.batches:
                # the patterns' terms of the blocks joined and summed as one vector: the same
                # sum, bit for bit, as the batch in one piece
                total += float(np.concatenate(
                    [self._batch_terms(blk, mu, sigma, False)[0] for blk in self._blocks(b)]).sum())
                if log2pi:
                    total -= 0.5 * float(b["n"].sum()) * b["idx"].shape[1] * LOG2PI
        except np.linalg.LinAlgError:
            return -np.inf
        return total

    def gradient(self, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """``d logl / d m`` with ``m = [mu, vech(Sigma)]`` (a vector of length p + p(p+1)/2)."""
        return self.value_and_gradient(mu, sigma)[1]

    def value_and_gradient(self, mu, sigma):
        """``(logl without the 2 pi constant, d logl / d m)`` in one pass over the patterns."""
        mu = np.asarray(mu, float)
        sigma = np.asarray(sigma, float)
        p = self.p
        gmu = np.zeros(p)
        gsig = np.zeros((p, p))
        total = 0.0
        for batch in self.batches:
            lls = []
            for b in self._blocks(batch):
                ll, w, wd = self._batch_terms(b, mu, sigma, True)
                lls.append(ll)
                n = b["n"]
                np.add.at(gmu, b["idx"], n[:, None] * wd)
                B = w @ b["cov"] @ w + wd[:, :, None] * wd[:, None, :]
                np.add.at(gsig, (b["r"], b["c"]), 0.5 * n[:, None, None] * (B - w))
            total += float(np.concatenate(lls).sum())      # as in loglik: the one-piece sum
        r, c = vech_indices(p)
        gv = gsig[r, c] * np.where(r == c, 1.0, 2.0)
        return total, np.concatenate([gmu, gv])

    def casewise_scores(self, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Casewise scores ``d log f(y_i) / d m`` (rows: the group's non-empty cases in data
        order; columns: ``[mu, vech(Sigma)]``), as lavaan's
        ``lav_mvnorm_missing_scores_mu_vech_sigma``.

        Returns a new N x (p + p(p+1)/2) array (not kept: sums over cases use
        :meth:`casewise_score_chunks`, which never holds it)."""
        keep = np.setdiff1d(np.arange(self.data.shape[0]), self.empty_rows)
        pos = np.empty(self.data.shape[0], dtype=int)
        pos[keep] = np.arange(len(keep))
        out = np.zeros((len(keep), self.n_moments))
        for rows, block in self.casewise_score_chunks(mu, sigma):
            out[pos[rows]] = block
        return out

    def casewise_score_chunks(self, mu: np.ndarray, sigma: np.ndarray,
                              chunk_rows: int | None = None):
        """Yield ``(rows, scores)``: the casewise scores of :meth:`casewise_scores` in blocks of
        at most ``chunk_rows`` cases (default :data:`SCORE_CHUNK_ROWS`; ``rows``: the cases' row numbers in ``data``, in pattern
        order), so that sums over cases (the first-order information of MLR) need
        O(chunk_rows x (p + p(p+1)/2)) memory instead of the N x (p + p(p+1)/2) array."""
        mu = np.asarray(mu, float)
        sigma = np.asarray(sigma, float)
        p = self.p
        chunk_rows = max(1, int(SCORE_CHUNK_ROWS if chunk_rows is None else chunk_rows))
        r, c = vech_indices(p)
        mult = np.where(r == c, 0.5, 1.0)
        buf = np.empty((chunk_rows, self.n_moments))
        idx = np.empty(chunk_rows, dtype=int)
        fill = 0
        for pt in self.patterns:
            o = pt.observed
            w, _ = self._inv_logdet(sigma[pt.grid])
            wf = np.zeros((p, p))
            wf[np.ix_(o, o)] = w
            wrc = wf[r, c][None, :]
            for start in range(0, len(pt.rows), chunk_rows):
                rows = pt.rows[start:start + chunk_rows]
                k = len(rows)
                if fill + k > chunk_rows:
                    yield idx[:fill], buf[:fill]
                    buf = np.empty((chunk_rows, self.n_moments))
                    idx = np.empty(chunk_rows, dtype=int)
                    fill = 0
                dev = self.data[np.ix_(rows, o)] - mu[o]
                a = dev @ w                                   # n_k x p_o: W d_i
                full_a = np.zeros((k, p))
                full_a[:, o] = a
                # d/dSigma_ab = (W d d' W - W)_ab, halved on the diagonal
                s = full_a[:, r] * full_a[:, c] - wrc
                buf[fill:fill + k, :p] = full_a
                buf[fill:fill + k, p:] = s * mult[None, :]
                idx[fill:fill + k] = rows
                fill += k
        if fill:
            yield idx[:fill], buf[:fill]

    def _memo(self, name, mu, sigma, compute):
        cache = self.__dict__.setdefault("_cache", {})
        key = (name, np.asarray(mu, float).tobytes(), np.asarray(sigma, float).tobytes())
        if key not in cache:
            if len(cache) > 16:
                cache.clear()
            cache[key] = compute(mu, sigma)
        return cache[key]

    def information_observed(self, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Observed information per case, ``-(1/N) d^2 logl / dm dm'`` at ``(mu, Sigma)``
        (lavaan's ``lav_mvnorm_missing_information_observed_samplestats``)."""
        return self._memo("info", mu, sigma, self._information_observed)

    def information_observed_subset(self, mu, sigma, vech_sel) -> np.ndarray:
        """:meth:`information_observed` restricted to ``[mu, vech(Sigma)[vech_sel]]`` (cheap
        when few covariance entries are needed, e.g. for the independence model)."""
        return self._information_observed(mu, sigma, np.asarray(vech_sel, dtype=int))

    def _information_observed(self, mu, sigma, vech_sel=None):
        if vech_sel is None:
            return self._information_observed_all(mu, sigma)
        p = self.p
        r, c = vech_indices(p)
        if vech_sel is not None:
            r, c = r[vech_sel], c[vech_sel]
        q = len(r)
        H = np.zeros((p + q, p + q))
        for pt in self.patterns:
            o = pt.observed
            w, _ = self._inv_logdet(sigma[pt.grid])
            d = pt.mean - mu[o]
            t = pt.cov + np.outer(d, d)
            wf = np.zeros((p, p))
            wf[np.ix_(o, o)] = w
            bf = np.zeros((p, p))
            bf[np.ix_(o, o)] = w @ t @ w
            wdf = np.zeros(p)
            wdf[o] = w @ d
            n = pt.n
            # mu, mu
            H[:p, :p] -= n * wf
            # mu, Sigma_ab: -n * (W dS W d)  -> column for (a,b)
            # (W dS W d)_k = W[k,a] (Wd)[b] + W[k,b] (Wd)[a] (a != b); W[k,a](Wd)[a] (a == b)
            off = (r != c).astype(float)
            cross = wf[:, r] * wdf[c][None, :] + wf[:, c] * wdf[r][None, :] * off[None, :]
            H[:p, p:] -= n * cross
            # Sigma, Sigma: n/2 tr(W dS1 W dS2) - n tr(W dS1 B dS2)
            if vech_sel is None:
                H[p:, p:] += n * _sym_pair_matrix(wf, 0.5 * wf - bf)
            else:
                H[p:, p:] += n * _sym_pair_sub(wf, 0.5 * wf - bf, r, c)
        H[p:, :p] = H[:p, p:].T
        return -H / self.n

    def _information_observed_all(self, mu, sigma):
        """:meth:`information_observed` with all patterns at once: the Sigma-Sigma block
        ``sum_k n_k D'(W_k kron Y_k)D`` is gathered from the single product
        ``M = sum_k n_k vec(W_k) vec(Y_k)'`` (one matrix multiplication instead of a
        Kronecker-type product per pattern)."""
        p = self.p
        r, c = vech_indices(p)
        # the patterns in blocks of at most PATTERN_BLOCK_CELLS entries per K x p x p array
        # (one block, i.e. the single product of the docstring, unless there are many)
        step = max(1, PATTERN_BLOCK_CELLS // (p * p))
        hmm = A = M = None
        for a in range(0, len(self.patterns), step):
            hb, ab, mb = self._information_block(self.patterns[a:a + step], mu, sigma)
            if hmm is None:
                hmm, A, M = hb, ab, mb
            else:
                hmm += hb
                A += ab
                M += mb
        q = len(r)
        H = np.zeros((p + q, p + q))
        H[:p, :p] = -hmm
        off = (r != c).astype(float)
        H[:p, p:] = -(A[:, r, c] + A[:, c, r] * off[None, :])
        cc, rr, cr, rc, off_c, off_r, off_rc = _pair_index(p)
        t1 = M[cc, rr].reshape(q, q)
        t2 = M[cr, rc].reshape(q, q)
        t3 = M[rc, cr].reshape(q, q)
        t4 = M[rr, cc].reshape(q, q)
        H[p:, p:] = t1 + t2 * off_c + t3 * off_r + t4 * off_rc
        H[p:, :p] = H[:p, p:].T
        return -H / self.n

    def _information_block(self, patterns: list, mu, sigma):
        """The sums over ``patterns`` of :meth:`_information_observed_all`:
        ``(sum_k n_k W_k, sum_k n_k W_k (x) W_k d_k, sum_k n_k vec(W_k) vec(Y_k)')``."""
        p = self.p
        K = len(patterns)
        wf = np.zeros((K, p, p))
        yf = np.zeros((K, p, p))
        wdf = np.zeros((K, p))
        n = np.empty(K)
        for k, pt in enumerate(patterns):
            o = pt.observed
            w, _ = self._inv_logdet(sigma[pt.grid])
            d = pt.mean - mu[o]
            t = pt.cov + np.outer(d, d)
            wf[k][pt.grid] = w
            yf[k][pt.grid] = 0.5 * w - w @ t @ w
            wdf[k, o] = w @ d
            n[k] = pt.n
        hmm = np.einsum("k,kij->ij", n, wf)
        wf *= n[:, None, None]
        A = np.einsum("kia,kb->iab", wf, wdf)
        M = wf.reshape(K, p * p).T @ yf.reshape(K, p * p)
        return hmm, A, M

    # -- EM for the saturated model ----------------------------------------------------
    def em(self, max_iter: int = 500, tol: float = 1e-5):
        """EM estimates of the saturated model (:meth:`_em`), computed once per data set: kept
        on this object and in a small module cache keyed by the data's bytes (a new
        ``MissingPatterns`` of the same data, e.g. HTMT's after the SEM fits, reuses them)."""
        key = ("em", max_iter, tol)
        cache = self.__dict__.setdefault("_em_cache", {})
        if key not in cache:
            y = np.ascontiguousarray(self.data)
            dkey = (y.shape, _digest(y), max_iter, tol)
            hit = _EM_CACHE.get(dkey)
            if hit is None:
                hit = self._em(max_iter, tol)
                if len(_EM_CACHE) >= 16:
                    _EM_CACHE.pop(next(iter(_EM_CACHE)))
                _EM_CACHE[dkey] = hit
            cache[key] = hit
        mu, sigma, it, ok = cache[key]
        return mu.copy(), sigma.copy(), it, ok

    def _em(self, max_iter: int = 500, tol: float = 1e-5, start=None):
        """EM estimates of the saturated model: returns ``(mu, Sigma, n_iter, converged)``.

        Follows lavaan's ``lav_mvnorm_missing_h1_estimate_moments``: start at the available-case
        means and variances (zero covariances), stop when ``max |change of [mu, vech(Sigma)]| <
        tol``; a tiny ridge is added when Sigma is nearly singular, as lavaan does.  ``start``
        ``(mu, Sigma)`` replaces the start (bootstrap resamples start at the full-data estimate).
        """
        y = self.data
        p = self.p
        n_full = y.shape[0]
        if start is not None:
            mu0, sigma0 = np.asarray(start[0], dtype=float), np.asarray(start[1], dtype=float)
        else:
            mu0, var0 = available_case_moments(y)
            var0 = np.where(~np.isfinite(var0) | (var0 == 0), 1.0, var0)
            mu0 = np.where(np.isfinite(mu0), mu0, 0.0)
            sigma0 = np.diag(var0)
        mu, sigma = mu0, sigma0
        N = self.n
        del n_full
        converged = False
        it = 0
        # per-pattern constants (index grids and the observed part's sum), built once; the
        # observed part's cross products ``sum y_o y_o'`` (a k x k matrix per pattern: 0.2 GB
        # for the 22,667 patterns of 10^6 cases, issue 13) are formed when used, by the same
        # expression, so every iteration adds the same numbers
        prep = []
        for pt in self.patterns:
            o = pt.observed
            n = pt.n
            sum_o = n * pt.mean
            if len(o) == p:
                prep.append((None, o, n, sum_o, pt))
                continue
            m = np.setdiff1d(np.arange(p), o)
            prep.append(((m, pt.grid, np.ix_(m, o), np.ix_(o, m), np.ix_(m, m)),
                         o, n, sum_o, pt))
        for it in range(1, max_iter + 1):
            t1 = np.zeros(p)
            t2 = np.zeros((p, p))
            for grids, o, n, sum_o, pt in prep:
                cross_oo = n * (pt.cov + np.outer(pt.mean, pt.mean))      # sum y_o y_o'
                if grids is None:
                    t1 += sum_o
                    t2 += cross_oo
                    continue
                m, g_oo, g_mo, g_om, g_mm = grids
                soo = sigma[g_oo]
                smo = sigma[g_mo]
                beta = np.linalg.solve(soo, smo.T).T        # p_m x p_o
                # conditional means of the missing part for the pattern's mean / each case:
                # E[y_m | y_o] = mu_m + beta (y_o - mu_o)  -> linear in y_o, so sums use stats
                a = mu[m] - beta @ mu[o]
                sum_m = n * a + beta @ sum_o
                cross_mo = np.outer(a, sum_o) + beta @ cross_oo           # sum E[y_m] y_o'
                cross_mm = (n * np.outer(a, a) + np.outer(a, sum_o) @ beta.T
                            + beta @ np.outer(sum_o, a) + beta @ cross_oo @ beta.T)
                cond = sigma[g_mm] - beta @ smo.T
                t1[o] += sum_o
                t1[m] += sum_m
                t2[g_oo] += cross_oo
                t2[g_mo] += cross_mo
                t2[g_om] += cross_mo.T
                t2[g_mm] += cross_mm + n * cond
            mu = t1 / N
            sigma = t2 / N - np.outer(mu, mu)
            sigma = 0.5 * (sigma + sigma.T)
            if np.linalg.eigvalsh(sigma).min() < 1e-6:
                sigma[np.diag_indices(p)] += np.max(np.diag(sigma)) * 1e-8
            delta = max(np.max(np.abs(mu - mu0)), np.max(np.abs(vech(sigma) - vech(sigma0))))
            if delta < tol:
                converged = True
                break
            mu0, sigma0 = mu, sigma
        return mu, sigma, it, converged


class FIMLObjective:
    """The FIML discrepancy for the engine (see CONTRIBUTING.md, "Objectives").

    ``F = sum_g -(logl_g(Sigma_g, mu_g) - logl_h1_g) / N``, so that ``2 N F`` is lavaan's
    likelihood-ratio chi-square against the EM-estimated saturated model.  ``groups`` is a list
    of :class:`MissingPatterns` (one per group); the saturated model is estimated on
    construction (``h1`` holds ``(mu, Sigma, n_iter, converged)`` per group).
    """

    def __init__(self, groups: list, h1: list | None = None):
        self.groups = list(groups)
        self.ntotal = sum(g.n for g in self.groups)
        self.h1 = h1 if h1 is not None else [g.em() for g in self.groups]
        self.h1_logl = [g.loglik(h[0], h[1], log2pi=False) for g, h in zip(self.groups, self.h1)]
        self.meanstructure = True

    @classmethod
    def from_data(cls, data_per_group: list) -> "FIMLObjective":
        return cls([MissingPatterns(np.asarray(d, dtype=float)) for d in data_per_group])

    def value(self, implied) -> float:
        f = 0.0
        for g, (sigma, mu), ll1 in zip(self.groups, implied, self.h1_logl):
            ll = g.loglik(np.asarray(mu), np.asarray(sigma), log2pi=False)
            if not np.isfinite(ll):
                return np.inf
            f += -(ll - ll1) / self.ntotal
        return f

    def value_and_gradient(self, implied, gradient: bool = True):
        """Return ``(F, [dF/dm_g])`` with ``m_g = [mu_g, vech(Sigma_g)]``."""
        if not gradient:
            return self.value(implied), None
        f = 0.0
        grads = []
        for g, (sigma, mu), ll1 in zip(self.groups, implied, self.h1_logl):
            try:
                ll, gr = g.value_and_gradient(np.asarray(mu), np.asarray(sigma))
            except np.linalg.LinAlgError:
                return np.inf, None
            f += -(ll - ll1) / self.ntotal
            grads.append(-gr / self.ntotal)
        return f, grads

    def loglik(self, implied) -> float:
        """Total log-likelihood (with the 2 pi constant) at the implied moments (lavaan's logl)."""
        return sum(g.loglik(np.asarray(mu), np.asarray(s)) for g, (s, mu) in zip(self.groups, implied))

    def loglik_h1(self) -> float:
        """Log-likelihood of the saturated model (lavaan's unrestricted.logl)."""
        return sum(g.loglik(h[0], h[1]) for g, h in zip(self.groups, self.h1))


def objective_for_sample(sample) -> FIMLObjective:
    """The FIML objective for the engine's :class:`~psychometrics.sem.sample.SampleStats`.

    Groups the cases of every group by pattern and estimates the saturated model by EM once
    per sample (cached on the group statistics); fills ``h1_mean``, ``h1_cov`` and
    ``h1_logl`` of every group (lavaan's ``lavh1`` with ``missing = "ml"``) so that SRMR and
    the baseline use the EM moments, and records EM non-convergence in ``sample.warnings``.
    """
    groups, h1 = [], []
    for gs in sample.groups:
        pats = getattr(gs, "_fiml_patterns", None)
        if pats is None:
            pats = patterns_for(gs.data)
            gs._fiml_patterns = pats
        em = getattr(gs, "_fiml_em", None)
        if em is None:
            em = pats.em()
            gs._fiml_em = em
            if not em[3]:
                msg = (f"EM for the saturated model of group {gs.label!r} did not converge in "
                       f"{em[2]} iterations")
                sample.warnings.append(msg)
                import warnings as _warnings
                from ..errors import PsychometricsWarning
                _warnings.warn(msg, PsychometricsWarning, stacklevel=3)
            gs.h1_mean, gs.h1_cov = em[0], em[1]
            gs.h1_logl = pats.loglik(em[0], em[1])
        groups.append(pats)
        h1.append(em)
    return FIMLObjective(groups, h1=h1)


# ---------------------------------------------------------------------------------------------
# bootstrap refits: the FIML objective of a resample, from the original data's patterns
# ---------------------------------------------------------------------------------------------
class PatternDesign:
    """The missing-data patterns of one group's data, prepared once so that the FIML objective
    of any resample of its rows (:meth:`resample`) costs two small matrix products instead of
    regrouping the cases.  Rows with every variable missing are ignored (as lavaan does)."""

    def __init__(self, data: np.ndarray):
        y = np.asarray(data, dtype=float)
        obs = ~np.isnan(y)
        self.n, self.p = y.shape
        keep = obs.any(axis=1)
        self.keep = keep
        keys, inverse = np.unique(obs[keep], axis=0, return_inverse=True)
        self.row_pattern = np.full(self.n, -1)
        self.row_pattern[keep] = np.asarray(inverse).ravel()
        self.masks = keys                                  # npat x p, True = observed
        # centred at the available-case means: sums of small numbers keep the gradient accurate
        self.center = np.where(obs.any(axis=0), np.nanmean(np.where(obs, y, np.nan), axis=0), 0.0) \
            if obs.any() else np.zeros(self.p)
        y0 = np.where(obs, y - self.center, 0.0)
        rows = np.flatnonzero(keep)
        self.order = rows[np.argsort(self.row_pattern[rows], kind="stable")]
        pats = self.row_pattern[self.order]
        self.starts = np.flatnonzero(np.r_[True, pats[1:] != pats[:-1]])
        self.y0 = y0[self.order]
        self.yy = (self.y0[:, :, None] * self.y0[:, None, :]).reshape(len(self.order), -1)

    def resample(self, rows: np.ndarray) -> "ResampleFIML":
        """Sufficient statistics (per pattern: case count, sum and cross-product sum of the
        observed values) of the cases ``data[rows]``."""
        counts = np.bincount(np.asarray(rows), minlength=self.n).astype(float)[self.order]
        nk = np.add.reduceat(counts, self.starts)
        s1 = np.add.reduceat(self.y0 * counts[:, None], self.starts)
        s2 = np.add.reduceat(self.yy * counts[:, None], self.starts)
        present = nk > 0
        return ResampleFIML(self.masks[present], nk[present], s1[present],
                            s2[present].reshape(-1, self.p, self.p), center=self.center)


class ResampleFIML:
    """Observed-data log-likelihood and gradient (``[mu, vech(Sigma)]``) of one group from
    pattern sufficient statistics, all patterns in one batch: ``Sigma_oo^-1`` of a pattern
    with missing set ``m`` is ``W - W_.m W_mm^-1 W_m.`` (``W = Sigma^-1``) and
    ``log|Sigma_oo| = log|Sigma| + log|W_mm|``.  The same mathematics as
    :meth:`MissingPatterns.value_and_gradient` (which inverts each pattern's block); used for
    the refits of the bootstrap, which need neither the EM saturated model nor case order."""

    def __init__(self, masks, nk, s1, s2, center=None):
        self.center = center      # the sums are of y - center
        self.masks = np.asarray(masks, dtype=bool)
        self.nk = np.asarray(nk, dtype=float)
        self.s1 = s1
        self.s2 = s2
        self.n = float(self.nk.sum())
        self.p = self.masks.shape[1]
        self.mask2 = (self.masks[:, :, None] & self.masks[:, None, :]).astype(float)
        r, c = vech_indices(self.p)
        self.vech = (r, c, np.where(r == c, 1.0, 2.0))
        nmiss = (~self.masks).sum(axis=1)
        self.batches = []
        for j in np.unique(nmiss):
            ks = np.flatnonzero(nmiss == j)
            miss = np.array([np.flatnonzero(~self.masks[k]) for k in ks]).reshape(len(ks), j)
            self.batches.append((ks, int(j), miss))

    def value_and_gradient(self, mu, sigma, gradient: bool = True):
        """``(logl without the 2 pi constant, d logl / d m)``; raises LinAlgError when
        Sigma is not positive definite.  With ``W_k = W - V_k' V_k`` (``V_k = L_m^-1 W_m.``,
        ``L_m`` the Cholesky factor of ``W_mm``) every sum over patterns is a sum over the
        complete-data terms minus low-rank corrections (cost O(K p^2 |m|), not O(K p^3))."""
        p = self.p
        if self.center is not None:
            mu = mu - self.center
        L = np.linalg.cholesky(sigma)
        logdet = 2.0 * float(np.log(np.diag(L)).sum())
        Li = np.linalg.inv(L)
        W = Li.T @ Li
        n = self.nk
        T = (self.s2 - self.s1[:, :, None] * mu[None, None, :] - mu[None, :, None] * self.s1[:, None, :]
             + n[:, None, None] * np.outer(mu, mu)[None]) * self.mask2
        dm = (self.s1 - n[:, None] * mu[None, :]) * self.masks
        Tsum = T.sum(axis=0)
        ldsum = float(n.sum()) * logdet
        trace = float(np.sum(W * Tsum))
        if gradient:
            gmu = W @ dm.sum(axis=0)
            WT = W @ Tsum
            G = WT @ W
            nW = float(n.sum()) * W
        for ks, j, miss in self.batches:
            if j == 0:
                continue
            k = len(ks)
            U = W[:, miss].transpose(1, 2, 0)                      # k x j x p  (W_m.)
            Wmm = W[miss[:, :, None], miss[:, None, :]]            # k x j x j
            Lm = np.linalg.cholesky(Wmm)
            ldsum += float(n[ks] @ (2.0 * np.log(np.diagonal(Lm, axis1=1, axis2=2)).sum(axis=1)))
            V = np.linalg.solve(Lm, U)                             # k x j x p
            TV = T[ks] @ V.transpose(0, 2, 1)                      # k x p x j
            VTV = V @ TV                                           # k x j x j
            trace -= float(np.trace(VTV, axis1=1, axis2=2).sum())
            if not gradient:
                continue
            Vf = V.reshape(k * j, p)
            gmu -= np.einsum("kjp,kj->p", V, np.einsum("kjp,kp->kj", V, dm[ks]))
            WTV = (W @ TV.transpose(1, 0, 2).reshape(p, k * j))     # p x (k j)
            S = WTV @ Vf
            G += Vf.T @ (VTV @ V).reshape(k * j, p) - S - S.T
            nW -= (V * n[ks, None, None]).reshape(k * j, p).T @ Vf
        ll = -0.5 * (ldsum + trace)
        if not gradient:
            return ll, None
        gs = 0.5 * (G - nW)
        r, c, mult = self.vech
        return ll, np.concatenate([gmu, gs[r, c] * mult])


class ResampleFIMLObjective:
    """The engine objective (CONTRIBUTING.md) of a bootstrap resample under FIML:
    ``F = -(logl - c) / N`` with ``c`` a constant (the log-likelihood at the start values,
    not the EM saturated model: a constant does not move the estimates)."""

    def __init__(self, groups: list):
        self.groups = groups
        self.ntotal = sum(g.n for g in groups)
        self.const = 0.0
        self.meanstructure = True

    def set_reference(self, implied) -> None:
        ll = 0.0
        for g, (sigma, mu) in zip(self.groups, implied):
            ll += g.value_and_gradient(np.asarray(mu), np.asarray(sigma), False)[0]
        self.const = ll

    def value_and_gradient(self, implied, gradient: bool = True):
        total, grads = 0.0, []
        for g, (sigma, mu) in zip(self.groups, implied):
            try:
                ll, gr = g.value_and_gradient(np.asarray(mu), np.asarray(sigma), gradient)
            except np.linalg.LinAlgError:
                return np.inf, None
            total += ll
            if gradient:
                grads.append(-gr / self.ntotal)
        f = -(total - self.const) / self.ntotal
        return (f, grads) if gradient else (f, None)

    def value(self, implied) -> float:
        return self.value_and_gradient(implied, gradient=False)[0]


# ---------------------------------------------------------------------------------------------
# bootstrap refits, casewise form: complete cases as sufficient statistics, incomplete cases
# one row each (a few hundred small vector operations batched into a handful of array calls)
# ---------------------------------------------------------------------------------------------
def _spd_inverse(a):
    """``(a^-1, log|a|)`` of a symmetric positive definite matrix: LAPACK ``dpotrf`` (Cholesky
    factor L) and ``dtrtri`` (L^-1), ``a^-1 = L^-T L^-1``, without Python-level checks (the
    bootstrap calls it thousands of times; ``dpotri`` was measured 10-50x slower than these
    two with OpenBLAS).  Raises LinAlgError when ``a`` is not positive definite."""
    from scipy.linalg import lapack
    c, info = lapack.dpotrf(a, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("matrix is not positive definite")
    logdet = 2.0 * float(np.log(np.diagonal(c)).sum())
    li, info = lapack.dtrtri(c, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError("matrix is singular")
    return li.T @ li, logdet


class CaseDesign:
    """The rows of one group's data prepared once for the FIML refits of bootstrap draws
    (:meth:`resample` -> :class:`CasewiseFIML`).  Complete rows enter a draw through their
    weighted sums and cross products; each incomplete row enters as one row of a small matrix,
    grouped by the number of missing variables, so the cost of an evaluation is
    O(p^3 + n_inc p^2) with no per-pattern ``p x p`` work.  Rows with every variable missing are
    ignored (as lavaan does).

    Holds the data array itself (no centred copy: a draw's rows are centred when they are
    taken, by the same expression, so the numbers are the same; issue 13: the copy and its
    mask were 0.3 GB at 10^6 cases of 34 items, in every worker process), the row numbers of
    the complete and incomplete rows and each incomplete row's pattern."""

    def __init__(self, data: np.ndarray):
        y = np.asarray(data, dtype=float)
        self.data = y
        self.n, self.p = y.shape
        # read in blocks of CASE_BLOCK rows (issue 13: np.nanmean made a zero-filled copy
        # of the data and masks, about 0.4 GB at 10^6 cases of 34 items): the missing count
        # of each row, and the available-case sums and counts of the columns; the sums
        # continue row by row from block to block (the running sum stacked before the block's
        # rows), as np.nanmean's sum over the rows of the zero-filled data adds them
        n, p = self.n, self.p
        B = CASE_BLOCK
        nmiss = np.empty(n, dtype=np.intp)
        tot, cnt = np.zeros(p), np.zeros(p, dtype=np.intp)
        for a in range(0, n, B):
            blk = y[a:a + B]
            m = np.isnan(blk)
            nmiss[a:a + B] = m.sum(axis=1)
            tot = np.sum(np.vstack([tot[None, :], np.where(m, 0.0, blk)]), axis=0)
            cnt += np.sum(~m, axis=0, dtype=np.intp)
            del blk, m
        keep = nmiss < p
        # centred at the available-case means: sums of small numbers keep the gradient
        # accurate (np.nanmean of the data)
        if keep.any():
            with np.errstate(invalid="ignore", divide="ignore"):   # an empty column
                self.center = np.where(cnt > 0, tot / cnt, 0.0)
        else:
            self.center = np.zeros(p)
        self.complete = np.flatnonzero(keep & (nmiss == 0))
        self.incomplete = np.flatnonzero(keep & (nmiss > 0))
        del nmiss, keep
        if len(self.incomplete):
            obs = np.empty((len(self.incomplete), p), dtype=bool)
            for a in range(0, len(obs), B):
                obs[a:a + B] = ~np.isnan(y[self.incomplete[a:a + B]])
            keys, inverse = np.unique(obs, axis=0, return_inverse=True)
            del obs
        else:
            keys, inverse = np.zeros((0, self.p), bool), np.zeros(0, int)
        self.pattern_of = np.asarray(inverse, dtype=int).ravel()   # per incomplete row
        self.masks = keys

    def _centred(self, rows: np.ndarray):
        """``(y0, obs)`` of ``data[rows]``: the values minus :attr:`center` with 0 where
        missing, and the observed mask."""
        yr = self.data[rows]
        obs = ~np.isnan(yr)
        np.subtract(yr, self.center, out=yr)
        yr[~obs] = 0.0
        return yr, obs

    def resample(self, rows: np.ndarray) -> "CasewiseFIML":
        """The draw ``data[rows]`` as a :class:`CasewiseFIML`.

        The complete and the incomplete rows are taken in blocks of :data:`CASE_BLOCK` rows of
        this design (block ``b``: the design's complete, or incomplete, rows number
        ``b * CASE_BLOCK`` to ``(b + 1) * CASE_BLOCK - 1``; fixed by the data alone, never by
        the worker count), so no array of all of a draw's rows is made: the complete rows'
        weighted sums and cross products are summed over the blocks, and the draw's
        incomplete rows are kept as row numbers, read from the data at each evaluation
        (issue 13: a draw's centred incomplete rows and their mask were about 0.13 GB at
        10^6 cases of 34 items).  With one block (up to :data:`CASE_BLOCK` complete and
        incomplete rows) the numbers are those of the whole draw at once, bit for bit."""
        block = CASE_BLOCK
        counts = np.bincount(np.asarray(rows), minlength=self.n).astype(float)
        nc, s1c, s2c = 0.0, None, None
        for a in range(0, max(len(self.complete), 1), block):
            cc = counts[self.complete[a:a + block]]
            sel = cc > 0
            yc = self._centred(self.complete[a:a + block][sel])[0]
            wc = cc[sel]
            del cc, sel
            b1, b2 = wc @ yc, (yc * wc[:, None]).T @ yc
            if s1c is None:
                nc, s1c, s2c = float(wc.sum()), b1, b2
            else:
                nc += float(wc.sum())
                s1c += b1
                s2c += b2
            del yc, wc, b1, b2
        ci = counts[self.incomplete]
        del counts
        pos = np.flatnonzero(ci > 0)               # the draw's incomplete rows (design order)
        blk = pos // block
        bounds = np.flatnonzero(np.diff(blk)) + 1 if len(pos) else np.zeros(0, int)
        bounds = [0, *bounds.tolist(), len(pos)]
        return CasewiseFIML(self.p, nc, s1c, s2c, self.data, None, ci[pos],
                            self.pattern_of[pos], self.masks, self.center,
                            rows=self.incomplete[pos], bounds=bounds)


#: rows per block of :meth:`CaseDesign.resample` and of :class:`CasewiseFIML`'s incomplete
#: cases (a block's arrays are about ``CASE_BLOCK x (p + J)`` numbers, 18 MB at 34 items;
#: blocks follow the design's rows, so a draw's numbers do not depend on the worker count)
CASE_BLOCK = 65_536


#: incomplete cases per block of :meth:`CasewiseFIML.value_and_gradient`'s adjustment of
#: ``W d_i`` (a block's temporaries are about ``rows x (p + J) x w`` numbers)
CASEWISE_BLOCK_ROWS = 16_384


class CasewiseFIML:
    """Observed-data log-likelihood of one group and its gradient with respect to ``mu`` and
    ``Sigma`` (matrix form, ``dlogl = g_mu' dmu + tr(G dSigma)``) for a bootstrap draw.

    The same mathematics as :meth:`MissingPatterns.value_and_gradient`: a case observing
    ``o`` (missing ``m``) has ``Sigma_oo^-1`` (zero-padded) ``= W - W_.m W_mm^-1 W_m.`` with
    ``W = Sigma^-1`` and ``log|Sigma_oo| = log|Sigma| + log|W_mm|`` (partitioned inverse), so
    every incomplete case costs a few length-p vector operations; complete cases are a
    weighted scatter matrix.  Patterns are batched by the number of missing variables rounded
    up (to 4, 8, 16, ...): a batch's missing sets are padded with dummy variables whose block
    of ``W`` is the identity, which changes neither ``W_mm^-1`` nor ``log|W_mm|``.
    Little & Rubin (2002), ch. 6-8; Arbuckle (1996)."""

    def __init__(self, p, nc, s1c, s2c, yi, oi, ci, pat, masks, center, rows=None,
                 bounds=None):
        """``yi``/``oi``: the incomplete cases centred (0 where missing) and their observed
        mask; or, with ``rows``, ``yi`` is the data array and ``rows`` the cases' row numbers
        in it (``oi`` unused), read and centred at each evaluation.  ``bounds``: the start
        of each block of cases and the end of the last (default: one block)."""
        self.p = p
        self.center = center
        self.nc, self.s1c, self.s2c = nc, s1c, s2c
        self.n = nc + float(ci.sum())
        present, inv = np.unique(pat, return_inverse=True)
        inv = np.asarray(inv).ravel()
        nk = np.bincount(inv, weights=ci, minlength=len(present))
        pm = masks[present]
        nmiss = (~pm).sum(axis=1)
        width = np.where(nmiss == 1, 1, np.where(
            nmiss <= 4, 4, 2 ** np.ceil(np.log2(np.maximum(nmiss, 1))).astype(int)))
        self.J = int(width.max()) if len(width) else 0
        J = self.J
        self.rows = None if rows is None else np.asarray(rows)
        if rows is None:
            self.yi, self.oi = yi, np.asarray(oi, dtype=bool)
        else:
            self.yi, self.oi = yi, None
        self.ci = ci
        if bounds is None:
            bounds = [0, len(ci)]
        # pattern level: each width's missing sets (padded) and case counts
        self.batches = []
        locals_ = []
        for w in np.unique(width):
            ks = np.flatnonzero(width == w)
            miss = np.empty((len(ks), w), dtype=int)
            for row, k in enumerate(ks):
                m = np.flatnonzero(~pm[k])
                miss[row, :len(m)] = m
                miss[row, len(m):] = p + np.arange(w - len(m))      # distinct dummies
            local = np.full(len(present), -1)
            local[ks] = np.arange(len(ks))
            locals_.append(local)
            self.batches.append((miss, nk[ks], miss[:, :, None], miss[:, None, :]))
        # case level, per block of cases: (start, end, [(batch, cases, loc, flat, mk, single)])
        self.blocks = []
        for s, e in zip(bounds[:-1], bounds[1:]):
            wb, ib, parts = width[inv[s:e]], inv[s:e], []
            for j, w in enumerate(np.unique(width)):
                cases = np.flatnonzero(wb == w)
                if not len(cases):
                    continue
                loc = locals_[j][ib[cases]]
                mk = self.batches[j][0][loc]                          # per case
                flat = (np.arange(len(cases))[:, None] * (p + J) + mk)  # into A_ext[cases]
                parts.append((j, cases, loc, flat, mk, len(cases) == e - s))
            self.blocks.append((s, e, parts))
        self._mean = None

    def _block_d(self, s: int, e: int, mu):
        """``D`` of the cases ``s:e``: their values minus :attr:`center` and ``mu``, 0 where
        missing (from the held centred rows, or read from the data)."""
        if self.rows is None:
            D = self.yi[s:e] - mu
            np.multiply(D, self.oi[s:e], out=D)
            return D
        D = self.yi[self.rows[s:e]]
        obs = ~np.isnan(D)
        np.subtract(D, self.center, out=D)
        D[~obs] = 0.0
        np.subtract(D, mu, out=D)
        np.multiply(D, obs, out=D)
        return D

    @property
    def mean(self) -> np.ndarray:
        """The draw's sample mean (complete data only: the saturated mean of a model without
        a mean structure); passing this very array as ``mu`` reuses the scatter matrix."""
        if getattr(self, "_mean", None) is None:
            self._mean = self.center + self.s1c / self.nc
            self._mean_token = self._mean - self.center
            d = self.s1c / self.nc
            self._scatter = self.s2c - self.nc * np.outer(d, d)
        return self._mean

    def value_and_gradient(self, mu, sigma, gradient: bool = True):
        """``(logl without the 2 pi constant, dlogl/dmu, dlogl/dSigma)``; raises LinAlgError
        when Sigma (or a pattern's block of ``W``) is not positive definite."""
        p, J = self.p, self.J
        saturated = J == 0 and mu is getattr(self, "_mean", None)
        mu = self._mean_token if saturated else mu - self.center
        W, logdet = _spd_inverse(sigma)
        s1c, nc = self.s1c, self.nc
        if saturated:                                       # saturated mean: the scatter matrix
            Tc = self._scatter
        else:
            m1 = np.outer(s1c, mu)
            Tc = self.s2c - m1 - m1.T + nc * np.outer(mu, mu)
        WTc = W @ Tc
        total = self.n * logdet + float(np.sum(W * Tc))
        corr = GA = None
        if J:
            Wx = np.zeros((p + J, p + J))                  # W with a J x J identity block
            Wx[:p, :p] = W
            Wx[range(p, p + J), range(p, p + J)] = 1.0
            corr = np.zeros((p + J, p + J)) if gradient else None
            Qs = []
            for miss, nk, mr, mc in self.batches:
                Wmm = Wx[mr, mc]                           # k x w x w
                if Wmm.shape[1] == 1:
                    if np.any(Wmm <= 0):
                        raise np.linalg.LinAlgError("W_mm not positive definite")
                    total += float(nk @ np.log(Wmm[:, 0, 0]))
                    Q = 1.0 / Wmm
                else:
                    Lm = np.linalg.cholesky(Wmm)
                    total += float(nk @ (2.0 * np.log(np.diagonal(Lm, axis1=1, axis2=2)).sum(axis=1)))
                    Q = np.linalg.inv(Wmm)
                Qs.append(Q)
                if gradient:
                    U = Wx[miss]                           # k x w x (p + J)
                    UQ = (Q * nk[:, None, None]) @ U
                    corr += U.reshape(-1, p + J).T @ UQ.reshape(-1, p + J)
            gmu_i = None
            for s, e, parts in self.blocks:               # blocks of cases (sums per block)
                D = self._block_d(s, e, mu)                # incomplete cases, 0 where missing
                A = D @ Wx[:p]                             # W d_i (dummy columns 0)
                for j, cases, loc, flat, mk, single in parts:
                    # W_m. d_i, gathered (no copy of the batch's rows of A)
                    t = A.ravel()[flat] if single else A[cases[:, None], mk]
                    z = (Qs[j][loc] @ t[:, :, None])[:, :, 0]   # W_mm^-1 W_m. d_i
                    # W_.m W_mm^-1 W_m. d_i for blocks of cases (each case's product on its
                    # own: the same numbers; Wx[mk] of all cases at once was 0.2 GB at 10^6)
                    step = CASEWISE_BLOCK_ROWS
                    for a in range(0, len(mk), step):
                        adj = (z[a:a + step, None, :] @ Wx[mk[a:a + step]])[:, 0, :]
                        if single:
                            A[a:a + step] -= adj
                        else:
                            A[cases[a:a + step]] -= adj
                    del adj
                A = A[:, :p]
                ci = self.ci[s:e]
                total += float(ci @ np.einsum("ip,ip->i", D, A))
                if gradient:
                    g = ci @ A
                    gmu_i = g if gmu_i is None else gmu_i + g
                    # (A.T * ci) written over D (no longer needed; the same layout, p x n
                    # with the cases contiguous, so the same product)
                    g = np.multiply(A.T, ci, out=D.T) @ A
                    GA = g if GA is None else GA + g
                del D, A
        ll = -0.5 * total
        if not gradient:
            return ll, None, None
        G = WTc @ W - self.n * W
        gmu = W @ (s1c - nc * mu)
        if J:
            if gmu_i is not None:
                gmu += gmu_i
                G += GA + corr[:p, :p]
            else:                                          # no incomplete case in the draw
                G += corr[:p, :p]
        G *= 0.5
        return ll, gmu, 0.5 * (G + G.T)
