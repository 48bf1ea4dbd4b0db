"""How many factors: KMO and Bartlett (factorability), Horn's parallel analysis, Velicer's
MAP, non-graphical scree tests, and all of them side by side (:func:`dimensionality`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import DataError, PsychometricsError
from .correlation import _SOURCE, _complete_cor, _correlate, _items_frame, _pairwise_cor, _warn
from .extraction import _minres
from .._blas import single_blas_thread

# --------------------------------------------------------------------------- KMO and Bartlett

_KAISER_LABELS = ((0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"), (0.6, "mediocre"),
                  (0.5, "miserable"), (-np.inf, "unacceptable"))


def _kaiser_label(v: float) -> str:
    for lo, lab in _KAISER_LABELS:
        if v >= lo:
            return lab
    return "unacceptable"  # pragma: no cover


@dataclass
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy.

    ``msa``: overall KMO; ``msai``: per-item MSA (Series); ``label``: Kaiser's
    (1974) verbal label of the overall value; ``n_obs``; ``warnings``.
    """

    msa: float
    msai: pd.Series
    label: str
    n_obs: int
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"msa": self.msai, "label": [_kaiser_label(v) for v in self.msai]})

    def to_dict(self) -> dict:
        return jsonable({"msa": self.msa, "label": self.label, "msai": self.msai,
                         "n_obs": self.n_obs, "warnings": self.warnings})

    def summary(self) -> str:
        return f"KMO = {self.msa:.3f} ({self.label}); item MSA {self.msai.min():.2f}-{self.msai.max():.2f}"


@single_blas_thread
def kmo(items: Any, missing: str = "pairwise") -> KMOResult:
    """Kaiser-Meyer-Olkin sampling adequacy (Kaiser 1970; Kaiser & Rice 1974).

    Returns a :class:`KMOResult`: overall MSA = sum r^2 / (sum r^2 + sum q^2)
    over off-diagonal correlations r and anti-image (partial) correlations q,
    and the same per item.  Reproduces ``psych::KMO`` (pairwise correlations).
    """
    rec: list = []
    c = _correlate(items, missing=missing, record=rec)
    return _kmo_from_cor(c, rec)


def _kmo_from_cor(c, rec: list) -> KMOResult:
    """:func:`kmo` of a correlation already computed (``c``: the ``_Cor``; ``rec``: its
    warnings so far, extended in place)."""
    r = c.r
    try:
        q = np.linalg.inv(r)
    except np.linalg.LinAlgError:  # pragma: no cover - smoothing makes r invertible
        _warn(rec, "The correlation matrix is singular; the anti-image could not be found.")
        q = r.copy()
    d = 1 / np.sqrt(np.diag(q))
    q = q * np.outer(d, d)
    np.fill_diagonal(q, 0.0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0.0)
    r2, q2 = r0 ** 2, q ** 2
    msa = float(r2.sum() / (r2.sum() + q2.sum()))
    msai = pd.Series(r2.sum(0) / (r2.sum(0) + q2.sum(0)), index=c.names, name="msa")
    for name, v in msai.items():
        if v < 0.5:
            _warn(rec, f"Item {name!r} has MSA {v:.2f} < .50 (unacceptable sampling adequacy).")
    return KMOResult(msa=msa, msai=msai, label=_kaiser_label(msa), n_obs=c.n_obs, warnings=rec)


@dataclass
class BartlettResult:
    """Bartlett's test of sphericity: ``chisq``, ``df``, ``p_value``, ``n_obs``."""

    chisq: float
    df: int
    p_value: float
    n_obs: int
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return jsonable(self.__dict__)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"chisq": self.chisq, "df": self.df, "p_value": self.p_value,
                              "n_obs": self.n_obs}])

    def summary(self) -> str:
        return f"Bartlett chi2({self.df}) = {self.chisq:.2f}, p = {self.p_value:.3g}"


@single_blas_thread
def bartlett(items: Any, missing: str = "pairwise", n_obs: int | None = None) -> BartlettResult:
    """Bartlett's (1951) test that the correlation matrix is an identity matrix.

    chi2 = -ln|R| (n - 1 - (2p + 5)/6), df = p(p - 1)/2.  Returns a
    :class:`BartlettResult`.  As ``psych::cortest.bartlett`` does with raw data,
    ``n`` is the number of rows (cases with some missing values included) unless
    ``n_obs`` is given; R is the pairwise correlation matrix.
    """
    rec: list = []
    c = _correlate(items, missing=missing, record=rec)
    return _bartlett_from_cor(c, rec, n_obs)


def _bartlett_from_cor(c, rec: list, n_obs: int | None = None) -> BartlettResult:
    """:func:`bartlett` of a correlation already computed (``c``: the ``_Cor``)."""
    n = c.n_obs if n_obs is None else int(n_obs)
    p = len(c.names)
    sign, logdet = np.linalg.slogdet(c.r)
    chisq = float(-logdet * (n - 1 - (2 * p + 5) / 6))
    df = p * (p - 1) // 2
    from scipy.special import chdtrc

    return BartlettResult(chisq=chisq, df=df, p_value=float(chdtrc(df, chisq)), n_obs=n,
                          warnings=rec)


# --------------------------------------------------------------------------- parallel analysis

_H2_MAX = 0.995   # psych's bound: uniquenesses >= .005


_HALVINGS = 40     # step halvings before a Newton step counts as failed
_HALVING_CHUNK = 8


def _halve_steps(fval, la, step, fa_, active, new, fn) -> None:
    """Step halving of :func:`_one_factor_newton`, in place: for every row whose full step did
    not descend (``fn > fa_``), the first ``t = 1/2, 1/4, ... 2^-40`` with
    ``fval(la - t step) <= fa_`` and its value go into ``new`` / ``fn`` (rows where none
    descends keep a value above ``fa_``).  The candidates are tried ``_HALVING_CHUNK`` at a time
    in one call of ``fval``: the same steps and values as halving one at a time, without a
    Python round per halving (near the optimum rounding makes many rows try all 40)."""
    worse = np.flatnonzero(~(fn <= fa_))
    k0 = 0
    p = la.shape[1]
    while len(worse) and k0 < _HALVINGS:
        kk = min(_HALVING_CHUNK, _HALVINGS - k0)
        t = 0.5 ** np.arange(k0 + 1, k0 + kk + 1)                     # exact powers of two
        cand = la[worse][None, :, :] - t[:, None, None] * step[worse][None, :, :]
        fc = fval(cand.reshape(-1, p), np.tile(active[worse], kk)).reshape(kk, len(worse))
        good = fc <= fa_[worse][None, :]
        hit = good.any(axis=0)
        first = np.argmax(good, axis=0)[hit]
        rows = worse[hit]
        new[rows] = cand[first, np.flatnonzero(hit)]
        fn[rows] = fc[first, np.flatnonzero(hit)]
        worse = worse[~hit]
        k0 += kk


def _one_factor_newton(r0: np.ndarray, l: np.ndarray, bound: np.ndarray, tol: float = 1e-10,
                       max_iter: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method, batched, for F(l) = sum_{i != j} (r_ij - l_i l_j)^2
    + sum_{j in bound} (.995 - l_j^2)^2: the one-factor ULS problem with the uniquenesses of
    the ``bound`` items fixed at psych's lower bound .005.  Returns (l, converged)."""
    b, p = l.shape
    idx = np.arange(p)
    c = _H2_MAX
    bf = bound.astype(float)

    def fval(l, sel):
        res = r0[sel] - l[:, :, None] * l[:, None, :]
        res[:, idx, idx] = 0.0
        return np.sum(res * res, axis=(1, 2)) + np.sum(bf[sel] * (c - l * l) ** 2, axis=1)

    l = l.copy()
    f = fval(l, np.arange(b))
    active = np.arange(b)
    for _ in range(max_iter):
        la, ra, ba = l[active], r0[active], bf[active]
        a = np.einsum("bij,bj->bi", ra, la)
        ss = np.sum(la * la, axis=1)[:, None] - la * la
        g = -4 * (a - la * ss) - 4 * ba * (c - la * la) * la
        # converged, or running away to a Heywood solution (a free communality beyond 1.2):
        # the caller then fixes that uniqueness at its bound
        done = (np.max(np.abs(g), axis=1) < tol) | np.any((la * la > 1.2) & (ba == 0), axis=1)
        if done.all():
            active = active[:0]
            break
        active, la, ra, ba, g, ss = active[~done], la[~done], ra[~done], ba[~done], g[~done], ss[~done]
        H = -4 * (ra - 2 * la[:, :, None] * la[:, None, :])
        H[:, idx, idx] = 4 * ss + ba * (-4 * c + 12 * la * la)
        # Levenberg shift where the Hessian is not positive definite, so the step descends
        mu = np.maximum(0.0, 1e-8 - np.linalg.eigvalsh(H)[:, 0])
        H[:, idx, idx] += mu[:, None]
        step = np.linalg.solve(H, g[:, :, None])[:, :, 0]
        fa_ = f[active]
        new = la - step
        fn = fval(new, active)
        _halve_steps(fval, la, step, fa_, active, new, fn)
        ok = fn <= fa_
        l[active[ok]] = new[ok]
        f[active[ok]] = fn[ok]
        active = active[ok]
        if not len(active):
            break
    conv = np.ones(b, dtype=bool)
    conv[active] = False
    return l, conv


def _batched_one_factor_values(rs: np.ndarray) -> np.ndarray:
    """Eigenvalues of each R (stack B x p x p) with its one-factor minres communalities on the
    diagonal -- psych::fa(R, 1, fm="minres")$values, batched.

    The one-factor minres (ULS) solution minimises sum_{i != j} (r_ij - l_i l_j)^2 over l,
    subject to psych's bounds (uniquenesses >= .005).  It is found for the whole stack at once
    by Newton's method (exact gradient and Hessian, batched solves, step halving) after 10
    principal-axis steps from psych's start (SMCs); Heywood solutions are handled by an
    active set: items whose uniqueness would fall below .005 get it fixed there (their
    diagonal residual then enters the criterion) until the Kuhn-Tucker conditions hold.
    Matrices where this fails are refitted one by one with :func:`_minres`.  A random matrix
    can have several local minima: on 100 random matrices made by psych (tests/reference and
    checks during development) the solution reached is psych's, except where psych stopped
    early; about 2 in 100 small (301 x 9) random matrices end in another local minimum than
    scipy's L-BFGS-B from psych's start, which moves a mean random eigenvalue by ~.001.
    """
    b, p, _ = rs.shape
    idx = np.arange(p)
    r0 = rs.copy()
    r0[:, idx, idx] = 0.0
    s = rs.copy()
    s[:, idx, idx] = np.clip(1 - 1 / np.diagonal(np.linalg.inv(rs), axis1=1, axis2=2), 0.0, _H2_MAX)
    vals, vecs = np.linalg.eigh(s)
    l = vecs[:, :, -1] * np.sqrt(np.maximum(vals[:, -1], 0.0))[:, None]
    # a few principal-axis steps first: like psych's descent on the uniquenesses they head for
    # the basin psych's optim reaches when a random matrix has several local minima
    for _k in range(10):
        s[:, idx, idx] = np.clip(l * l, 0.0, _H2_MAX)
        vals, vecs = np.linalg.eigh(s)
        l = vecs[:, :, -1] * np.sqrt(np.maximum(vals[:, -1], 0.0))[:, None]
    bound = np.zeros((b, p), dtype=bool)
    l, conv = _one_factor_newton(r0, l, bound)
    failed = ~conv
    C, eps = _H2_MAX, 1e-10
    for _round in range(p + 1):
        l2 = l * l
        viol = ((l2 > C + eps) & ~bound) | ((l2 < C - eps) & bound)   # Kuhn-Tucker violated
        rows = np.flatnonzero(viol.any(axis=1) & ~failed)
        if not len(rows):
            break
        bnd, l2r = bound[rows], l2[rows]
        bound[rows] = (bnd | (l2r > C + eps)) & ~(bnd & (l2r < C - eps))
        lt = l[rows].copy()
        fix = bound[rows]
        lt[fix] = np.where(lt[fix] < 0, -1.0, 1.0) * math.sqrt(C)
        lt, cv = _one_factor_newton(r0[rows], lt, bound[rows])
        l[rows] = lt
        failed[rows] |= ~cv
    else:
        l2 = l * l
        failed |= (((l2 > C + eps) & ~bound) | ((l2 < C - eps) & bound)).any(axis=1)
    h = l * l
    for i in np.flatnonzero(failed):
        h[i] = np.sum(_minres(rs[i], 1, ftol=1e-12, gtol=1e-8).loadings ** 2, axis=1)
    s[:, idx, idx] = h
    return np.linalg.eigvalsh(s)[:, ::-1]


def _wishart_cor(rng: np.random.Generator, b: int, n: int, p: int) -> np.ndarray:
    """``b`` correlation matrices distributed exactly as those of n x p independent N(0, 1)
    data (what psych::fa.parallel simulates), drawn through Bartlett's decomposition of the
    Wishart(n - 1, I) scatter matrix (Odell & Feiveson 1966): O(p^2) instead of O(n p^2)."""
    A = np.tril(rng.standard_normal((b, p, p)), -1)
    df = n - 1 - np.arange(p)
    idx = np.arange(p)
    A[:, idx, idx] = np.sqrt(rng.chisquare(df, size=(b, p)))
    w = A @ np.swapaxes(A, 1, 2)
    d = np.sqrt(np.diagonal(w, axis1=1, axis2=2))
    r = w / (d[:, :, None] * d[:, None, :])
    r[:, idx, idx] = 1.0
    return r


def _smc_values(rs: np.ndarray) -> np.ndarray:
    p = rs.shape[-1]
    idx = np.arange(p)
    s = rs.copy()
    s[..., idx, idx] = np.clip(1 - 1 / np.diagonal(np.linalg.inv(rs), axis1=-2, axis2=-1), 0.0, 1.0)
    return np.linalg.eigvalsh(s)[..., ::-1]


@dataclass
class ParallelAnalysisResult:
    """Horn's parallel analysis (``psych::fa.parallel``).

    ``observed_pc``: eigenvalues of R; ``observed_fa``: eigenvalues of the
    reduced R (communalities from a one-factor minres solution, psych's
    default, or SMCs with ``fa_method="smc"``); ``sim_pc_mean`` /
    ``sim_pc_quantile`` and ``sim_fa_mean`` / ``sim_fa_quantile``: mean and
    ``quantile`` (default 95th percentile) of the same eigenvalues over
    ``n_iter`` random data sets (``data="normal"``: N(0, 1) data of the same
    size; ``data="resample"``: each column resampled independently).
    ``n_components`` / ``n_factors``: leading observed eigenvalues above the
    random quantile (psych's rule); ``n_components_mean`` / ``n_factors_mean``:
    the same against the mean (Horn 1965).  ``seed`` reproduces the run.
    """

    observed_pc: np.ndarray
    observed_fa: np.ndarray | None
    sim_pc_mean: np.ndarray
    sim_pc_quantile: np.ndarray
    sim_fa_mean: np.ndarray | None
    sim_fa_quantile: np.ndarray | None
    n_components: int
    n_factors: int | None
    n_components_mean: int
    n_factors_mean: int | None
    n_iter: int
    quantile: float
    data: str
    fa_method: str
    seed: Any
    n_obs: int
    items: list
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        k = len(self.observed_pc)
        cols = {"observed_pc": self.observed_pc, "sim_pc_mean": self.sim_pc_mean,
                "sim_pc_quantile": self.sim_pc_quantile}
        if self.observed_fa is not None:
            cols.update({"observed_fa": self.observed_fa, "sim_fa_mean": self.sim_fa_mean,
                         "sim_fa_quantile": self.sim_fa_quantile})
        return pd.DataFrame(cols, index=pd.RangeIndex(1, k + 1, name="number"))

    def to_dict(self) -> dict:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        return jsonable(d)

    def summary(self) -> str:
        s = f"Parallel analysis ({self.n_iter} {self.data} data sets): {self.n_components} component(s)"
        if self.n_factors is not None:
            s += f", {self.n_factors} factor(s)"
        return s


def _count_above(observed: np.ndarray, ref: np.ndarray) -> int:
    above = observed > ref
    return int(len(above) if above.all() else np.argmin(above))


def _resolve_seed(seed: Any):
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2 ** 63))
    return seed


def _one_blas_thread():
    """Small matrix products and decompositions run far faster on one BLAS thread (threads
    contend with each other on a busy machine: 40x slower measured on 2 shared cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _simulate(rng, x, n, p, n_iter, data, do_fa, fa_method, batch_size, progress=None):
    """Random eigenvalues for parallel analysis: (pc, fa) arrays of shape (n_iter, p);
    ``progress(done, n_iter)`` (if given) after each batch."""
    pcs, fas = [], []
    done = failures = 0
    while done < n_iter:
        b = min(batch_size, n_iter - done)
        if data == "normal":
            rs = _wishart_cor(rng, b, n, p)
        else:
            rows = rng.integers(0, n, size=(b, n, p))
            sample = x[rows, np.arange(p)[None, None, :]]
            if np.isnan(sample).any():
                rs, _ = _pairwise_cor(sample)
            else:
                rs = _complete_cor(sample)
            ok = np.all(np.isfinite(rs), axis=(1, 2))
            rs = rs[ok]
            if not len(rs):
                failures += 1
                if failures > 20:
                    raise DataError(f"{_SOURCE}: resampled data keep giving undefined correlations "
                                    "(items with very few answers); use data='normal'")
                continue
            b = len(rs)
        pcs.append(np.linalg.eigvalsh(rs)[:, ::-1])
        if do_fa:
            fas.append(_batched_one_factor_values(rs) if fa_method == "minres" else _smc_values(rs))
        done += b
        if progress is not None:
            progress(min(done, n_iter), n_iter)
    pc = np.concatenate(pcs)
    fa = np.concatenate(fas) if do_fa else None
    return pc, fa


def _check_parallel_args(kind, data, fa_method, quantile, n_iter) -> None:
    if kind not in ("pc", "fa", "both"):
        raise PsychometricsError(f"kind must be 'pc', 'fa' or 'both', got {kind!r}")
    if data not in ("normal", "resample"):
        raise PsychometricsError(f"data must be 'normal' or 'resample', got {data!r}")
    if fa_method not in ("minres", "smc"):
        raise PsychometricsError(f"fa_method must be 'minres' or 'smc', got {fa_method!r}")
    if not (0 < float(quantile) < 1):
        raise PsychometricsError(f"quantile must be between 0 and 1, got {quantile!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 2:
        raise PsychometricsError(f"n_iter must be a whole number >= 2, got {n_iter!r}")


@single_blas_thread
def parallel_analysis(items: Any, n_iter: int = 100, seed: Any = None, kind: str = "both",
                      data: str = "normal", quantile: float = 0.95, fa_method: str = "minres",
                      missing: str = "pairwise", progress=None) -> ParallelAnalysisResult:
    """Horn's (1965) parallel analysis for components and factors, as ``psych::fa.parallel``.

    ``kind``: ``"pc"``, ``"fa"`` or ``"both"``; ``data``: ``"normal"`` (random
    N(0, 1) data with as many rows as ``items``, psych's ``sim=TRUE``) or
    ``"resample"`` (each column bootstrapped independently, missing values
    kept, pairwise correlations -- psych's resampling); ``fa_method``:
    ``"minres"`` (psych's default: reduced-matrix eigenvalues from a one-factor
    minres solution, found for all random matrices at once by Newton's method) or ``"smc"`` (SMCs on the diagonal, psych's ``SMC=TRUE``).
    Random numbers come from ``numpy.random.default_rng(seed)``; with
    ``seed=None`` a seed is drawn and recorded in the result.  The random
    eigenvalue problems are solved in batches (stacked ``eigh``); random normal
    correlation matrices are drawn directly from their Wishart distribution
    (Bartlett decomposition), which is the distribution of the correlations of
    n x p normal data that psych simulates, without making the data.

    Returns a :class:`ParallelAnalysisResult`.  The observed eigenvalues equal
    psych's; the simulated ones agree with psych's in distribution (R's and
    numpy's random streams differ).  ``progress``: optional callback ``progress(done, total)``
    (a progress display) called with the number of random data sets done; it only reports
    counts, the result does not depend on it.
    """
    rec: list = []
    _check_parallel_args(kind, data, fa_method, quantile, n_iter)
    df = _items_frame(items)
    c = _correlate(df, missing=missing, record=rec)
    return _parallel_from_cor(df, c, rec, n_iter, seed, kind, data, quantile, fa_method, missing,
                              progress)


def _parallel_from_cor(df, c, rec, n_iter, seed, kind, data, quantile, fa_method, missing,
                       progress) -> ParallelAnalysisResult:
    """:func:`parallel_analysis` (arguments checked) of the validated items ``df`` and their
    correlation ``c`` (``rec``: its warnings so far)."""
    x = df.to_numpy(dtype=float)
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    n, p = x.shape
    if n <= p:
        # random correlation matrices of n <= p cases are singular (the Wishart draw has
        # n - 1 - j <= 0 degrees of freedom): no reference eigenvalues exist
        raise DataError(f"{_SOURCE}: parallel analysis needs more cases than items: {n} "
                        f"{'complete ' if missing == 'listwise' else ''}case(s) for {p} items "
                        f"({', '.join(df.columns[:5])}{', ...' if p > 5 else ''})")
    do_fa = kind in ("fa", "both")
    observed_pc = np.linalg.eigvalsh(c.r)[::-1]
    observed_fa = None
    if do_fa:
        if fa_method == "minres":
            ex = _minres(c.r, 1)
            h2 = np.sum(ex.loadings ** 2, axis=1)
            s = c.r.copy()
            np.fill_diagonal(s, h2)
            observed_fa = np.linalg.eigvalsh(s)[::-1]
        else:
            observed_fa = _smc_values(c.r)
    seed = _resolve_seed(seed)
    rng = np.random.default_rng(seed)
    # fixed batch size (not depending on n_iter), so a seed gives the same draws for any n_iter
    per = 8 * p * p * 4 if data == "normal" else 8 * n * p * 6
    batch_size = max(1, min(256, int(64e6 // per)))
    with _one_blas_thread():
        pc, fa = _simulate(rng, x, n, p, n_iter, data, do_fa, fa_method, batch_size, progress)
    q = float(quantile)
    sim_pc_mean, sim_pc_q = pc.mean(0), np.quantile(pc, q, axis=0)
    sim_fa_mean = sim_fa_q = None
    nf = nf_mean = None
    if do_fa:
        sim_fa_mean, sim_fa_q = fa.mean(0), np.quantile(fa, q, axis=0)
        nf, nf_mean = _count_above(observed_fa, sim_fa_q), _count_above(observed_fa, sim_fa_mean)
    return ParallelAnalysisResult(
        observed_pc=observed_pc, observed_fa=observed_fa, sim_pc_mean=sim_pc_mean, sim_pc_quantile=sim_pc_q,
        sim_fa_mean=sim_fa_mean, sim_fa_quantile=sim_fa_q,
        n_components=_count_above(observed_pc, sim_pc_q), n_factors=nf,
        n_components_mean=_count_above(observed_pc, sim_pc_mean), n_factors_mean=nf_mean,
        n_iter=int(n_iter), quantile=q, data=data, fa_method=fa_method if do_fa else "none",
        seed=seed, n_obs=n, items=list(df.columns), warnings=rec)


# --------------------------------------------------------------------------- MAP

@dataclass
class MAPResult:
    """Velicer's minimum average partial test.

    ``table``: DataFrame indexed by the number of components partialled out
    (m = 0 .. p-1) with ``map_squared`` (Velicer 1976; psych::VSS's ``map``
    for m >= 1) and ``map_fourth`` (Velicer, Eaton & Fava 2000);
    ``suggested_original`` / ``suggested_revised``: the m with the smallest
    average.
    """

    table: pd.DataFrame
    suggested_original: int
    suggested_revised: int
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return jsonable({"table": self.table, "suggested_original": self.suggested_original,
                         "suggested_revised": self.suggested_revised, "warnings": self.warnings})

    def summary(self) -> str:
        return (f"MAP suggests {self.suggested_original} component(s) (squared partials), "
                f"{self.suggested_revised} (fourth powers)")


def _map_from_cor(r: np.ndarray, rec: list, progress=None) -> MAPResult:
    p = r.shape[0]
    vals, vecs = np.linalg.eigh(r)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    a = vecs * np.sqrt(np.maximum(vals, 0.0))
    sq, fo = np.empty(p), np.empty(p)
    off = ~np.eye(p, dtype=bool)
    sq[0] = np.sum(r[off] ** 2) / (p * (p - 1))
    fo[0] = np.sum(r[off] ** 4) / (p * (p - 1))
    for m in range(1, p):
        cstar = r - a[:, :m] @ a[:, :m].T
        d = np.diag(cstar)
        if np.any(d <= 0):
            sq[m:] = fo[m:] = np.nan
            _warn(rec, f"MAP stopped after {m - 1} components: a partial variance is not positive.")
            break
        dd = 1 / np.sqrt(d)
        part = cstar * np.outer(dd, dd)
        sq[m] = np.sum(part[off] ** 2) / (p * (p - 1))
        fo[m] = np.sum(part[off] ** 4) / (p * (p - 1))
        if progress is not None and m % 10 == 0 and m < p - 1:
            progress(m, p - 1)
    if progress is not None:
        progress(p - 1, p - 1)          # also when MAP stopped early
    table = pd.DataFrame({"map_squared": sq, "map_fourth": fo},
                         index=pd.RangeIndex(0, p, name="components"))
    return MAPResult(table=table, suggested_original=int(np.nanargmin(sq)),
                     suggested_revised=int(np.nanargmin(fo)), warnings=rec)


@single_blas_thread
def map_test(items: Any, missing: str = "pairwise", progress=None) -> MAPResult:
    """Velicer's (1976) MAP test and the Velicer, Eaton & Fava (2000) fourth-power revision.

    After partialling out the first m principal components of R (m = 0 ..
    p-1), the average squared (or fourth-power) partial correlation is
    computed; the m with the smallest average is suggested.  The squared
    values for m >= 1 are those of ``psych::VSS(x)$map``.  Returns a
    :class:`MAPResult`.  ``progress``: optional callback ``progress(done, total)`` called with
    the number of components partialled out (total p - 1); it only reports counts.
    """
    rec: list = []
    c = _correlate(items, missing=missing, record=rec)
    return _map_from_cor(c.r, rec, progress)


# --------------------------------------------------------------------------- dimensionality

@dataclass
class DimensionalityResult:
    """All factor-retention criteria side by side (:func:`dimensionality`).

    ``table``: DataFrame, one row per criterion (``criterion``, ``suggested``,
    ``reference``); ``eigenvalues`` (for the scree plot), ``parallel``
    (:class:`ParallelAnalysisResult`, with the simulated mean / quantile curves),
    ``map`` (:class:`MAPResult`), ``kmo``, ``bartlett`` and ``scree`` (:func:`scree_criteria`
    against the parallel-analysis percentile).
    """

    table: pd.DataFrame
    eigenvalues: np.ndarray
    parallel: ParallelAnalysisResult
    map: MAPResult
    kmo: KMOResult
    bartlett: BartlettResult
    scree: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return jsonable({"table": self.table, "eigenvalues": self.eigenvalues, "scree": self.scree,
                         "parallel": self.parallel.to_dict(), "map": self.map.to_dict(),
                         "kmo": self.kmo.to_dict(), "bartlett": self.bartlett.to_dict(),
                         "warnings": self.warnings})

    def summary(self) -> str:
        return "; ".join(f"{c}: {s}" for c, s in zip(self.table["criterion"], self.table["suggested"]))


def scree_criteria(eigenvalues: Sequence[float], aparallel: Sequence[float] | None = None) -> dict:
    """Non-graphical scree tests of Raiche, Walls, Magis, Riopel & Blais (2013), as
    ``nFactors::nScree(x = eigenvalues, aparallel = aparallel)``.

    Returns a dict: ``noc`` (optimal coordinates: leading eigenvalues above both the line
    through the next and the last eigenvalue and ``aparallel``), ``naf`` (acceleration factor:
    the component before the largest second difference, among those whose predecessor is
    above ``aparallel``), ``pred_eig`` and ``af`` (the per-position values, NaN where nScree
    leaves NA).  ``aparallel`` defaults to 1 for every position (nScree's default).
    """
    eig = np.asarray(eigenvalues, dtype=float)
    nk = len(eig)
    ap = np.ones(nk) if aparallel is None else np.asarray(aparallel, dtype=float)
    if nk < 3 or len(ap) != nk:
        raise PsychometricsError("scree_criteria needs at least 3 eigenvalues and one aparallel value each")

    def pred(i):   # 1-based i: line through (i+1, eig[i+1]) and (nk, eig[nk]), evaluated at i
        x1, y1, y2 = i + 1, eig[i], eig[nk - 1]
        if x1 == nk:
            return np.nan
        return y1 + (y2 - y1) / (nk - x1) * (i - x1)

    pred_eig = np.full(nk, np.nan)
    i, nc = 0, 0
    while i < nk:
        i += 1
        pe = pred(i)
        pred_eig[i - 1] = pe
        nc = i - 1
        if not (eig[i - 1] >= pe and eig[i - 1] >= ap[i - 1]):   # NaN (last position) stops too
            break
    af = np.full(nk, np.nan)
    for j in range(2, nk):
        if eig[j - 2] >= ap[j - 2]:
            af[j - 1] = eig[j] - 2 * eig[j - 1] + eig[j - 2]
    naf = int(np.nanargmax(af)) if np.any(np.isfinite(af)) else 0   # position j (1-based) - 1
    for k in range(nc + 1, nk - 1):
        pred_eig[k - 1] = pred(k)
    for j in range(2, nk):
        af[j - 1] = eig[j] - 2 * eig[j - 1] + eig[j - 2]
    return {"noc": int(nc), "naf": naf, "pred_eig": pred_eig, "af": af}


@single_blas_thread
def dimensionality(items: Any, seed: Any = None, n_iter: int = 100, data: str = "normal",
                   quantile: float = 0.95, missing: str = "pairwise",
                   progress=None) -> DimensionalityResult:
    """Every retention criterion side by side: Kaiser's eigenvalue > 1, parallel analysis
    (components and factors, :func:`parallel_analysis`), Velicer's MAP (original and 2000
    revision, :func:`map_test`), the non-graphical scree tests (optimal coordinates and
    acceleration factor, :func:`scree_criteria`); with KMO and Bartlett's test for the report.

    ``progress``: optional callback for the parallel analysis' random data sets (see
    :func:`parallel_analysis`).  Returns a :class:`DimensionalityResult` whose ``table`` has
    one row per criterion.
    """
    rec: list = []
    _check_parallel_args("both", data, "minres", quantile, n_iter)
    df = _items_frame(items)
    # one validation and one correlation matrix for every criterion (each result lists the
    # correlation's warnings, as when computed on its own)
    crec: list = []
    c = _correlate(df, missing=missing, record=crec)
    k = _kmo_from_cor(c, list(crec))
    b = _bartlett_from_cor(c, list(crec))
    pa = _parallel_from_cor(df, c, list(crec), n_iter, seed, "both", data, quantile, "minres",
                            missing, progress)
    mp = _map_from_cor(c.r, [])
    ev = pa.observed_pc
    scree = scree_criteria(ev, pa.sim_pc_quantile)
    rows = [
        ("Kaiser: eigenvalues > 1", int(np.sum(ev > 1)), "Kaiser (1960)"),
        ("Parallel analysis, components", pa.n_components,
         f"Horn (1965); psych::fa.parallel, {int(quantile * 100)}th percentile"),
        ("Parallel analysis, factors", pa.n_factors,
         f"Horn (1965); psych::fa.parallel, {int(quantile * 100)}th percentile"),
        ("MAP, squared partials", mp.suggested_original, "Velicer (1976); psych::VSS"),
        ("MAP, fourth powers", mp.suggested_revised, "Velicer, Eaton & Fava (2000)"),
        ("Scree, optimal coordinates", scree["noc"],
         "Raiche et al. (2013); nFactors::nScree against the parallel-analysis percentile"),
        ("Scree, acceleration factor", scree["naf"], "Raiche et al. (2013); nFactors::nScree"),
    ]
    table = pd.DataFrame(rows, columns=["criterion", "suggested", "reference"])
    for w in k.warnings + b.warnings + pa.warnings + mp.warnings:
        if w not in rec:
            rec.append(w)
    return DimensionalityResult(table=table, eigenvalues=ev, parallel=pa, map=mp, kmo=k, bartlett=b,
                                scree=scree, warnings=rec)
