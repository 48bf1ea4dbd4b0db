"""Polychoric correlations and the WLSMV sample statistics of ordinal items.

Two public analyses:

* :func:`polychoric` -- the polychoric correlation matrix of ordinal items with
  its thresholds, reproducing either ``psych::polychoric`` (``method="psych"``)
  or ``lavaan::lavCor(ordered = TRUE)`` (``method="lavaan"``).
  With ``continuous=`` columns (lavaan method) it gives polyserial
  correlations for mixed items, as ``lavCor`` does.
* :func:`ordinal_sample_stats` -- per group, the thresholds, the polychoric
  (and polyserial / Pearson, for continuous columns) correlations and their
  asymptotic covariance matrix Gamma (lavaan's ``NACOV``), the sample
  statistics a WLSMV / DWLS / ULSMV fit works from (Muthen 1984; lavaan's
  ``muthen1984``, ``lav_samplestats_step1/step2``).

Both use the two-step estimator: each item's thresholds come from its own
marginal proportions (``qnorm`` of the cumulative proportions), and each
correlation maximises the bivariate likelihood of the pair's contingency table
with those thresholds fixed (Olsson 1979).  The bivariate normal CDF is Genz's
(2004) algorithm (as in R's ``pbivnorm`` / ``mnormt``), evaluated for every
cell of every pair at once.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ._results import jsonable
from .errors import CellProblem, DataError, PsychometricsError, PsychometricsWarning
from ._blas import single_blas_thread

__all__ = ["polychoric", "PolychoricResult", "ordinal_sample_stats", "OrdinalStats",
           "OrdinalGroupStats", "OrdinalDataError", "MAX_CATEGORIES"]

MAX_CATEGORIES = 10
_SQRT_EPS = math.sqrt(np.finfo(float).eps)
_BIG = 38.0          # stands in for +-Inf thresholds: Phi(-38) underflows to 0
_TWO_PI = 2.0 * math.pi


class OrdinalDataError(PsychometricsError):
    """Ordinal items that cannot be analysed (one category, too many, empty in a group...)."""


# --------------------------------------------------------------------------
# bivariate normal distribution (Genz 2004, "Numerical computation of
# rectangular bivariate and trivariate normal and t probabilities")
# --------------------------------------------------------------------------

_GL_W = np.array([.01761400713915212, .04060142980038694, .06267204833410906,
                  .08327674157670475, 0.1019301198172404, 0.1181945319615184,
                  0.1316886384491766, 0.1420961093183821, 0.1491729864726037,
                  0.1527533871307259])
_GL_X = np.array([0.9931285991850949, 0.9639719272779138, 0.9122344282513259,
                  0.8391169718222188, 0.7463319064601508, 0.6360536807265150,
                  0.5108670019508271, 0.3737060887154196, 0.2277858511416451,
                  0.07652652113349733])
_W20 = np.concatenate([_GL_W, _GL_W])
_X20 = np.concatenate([1 - _GL_X, 1 + _GL_X])


def _bvnu(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """P(X > h, Y > k) for a standard bivariate normal with correlation r (finite h, k).

    Genz's BVNU (20-point Gauss-Legendre rule throughout), vectorised; the
    arrays broadcast against each other.
    """
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float),
                                  np.asarray(r, float))
    shape = h.shape
    h, k, r = h.ravel(), k.ravel(), r.ravel()
    out = np.empty(h.shape)
    small = np.abs(r) < 0.925
    if small.any():
        hs_, ks_, rs_ = h[small], k[small], r[small]
        hk = hs_ * ks_
        hs = (hs_ * hs_ + ks_ * ks_) / 2
        asr = np.arcsin(rs_) / 2
        sn = np.sin(asr[:, None] * _X20)
        bvn = np.exp((sn * hk[:, None] - hs[:, None]) / (1 - sn * sn)) @ _W20
        out[small] = bvn * asr / _TWO_PI + ndtr(-hs_) * ndtr(-ks_)
    big = ~small
    if big.any():
        hb, kb, rb = h[big], k[big].copy(), r[big]
        neg = rb < 0
        kb[neg] = -kb[neg]
        hk = hb * kb
        bvn = np.zeros(hb.shape)
        inner = np.abs(rb) < 1
        if inner.any():
            hi, ki, ri, hki = hb[inner], kb[inner], rb[inner], hk[inner]
            as_ = 1 - ri * ri
            a = np.sqrt(as_)
            bs = (hi - ki) ** 2
            asr = -(bs / as_ + hki) / 2
            c = (4 - hki) / 8
            d = (12 - hki) / 80
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                v = np.where(asr > -100,
                             a * np.exp(asr) * (1 - c * (bs - as_) * (1 - d * bs) / 3
                                                + c * d * as_ * as_), 0.0)
                b = np.sqrt(bs)
                sp = math.sqrt(_TWO_PI) * ndtr(-b / a)
                v = np.where(hki > -100,
                             v - np.exp(-hki / 2) * sp * b * (1 - c * bs * (1 - d * bs) / 3), v)
                a2 = a / 2
                xs = (a2[:, None] * _X20) ** 2
                asr2 = -(bs[:, None] / xs + hki[:, None]) / 2
                sp2 = 1 + c[:, None] * xs * (1 + 5 * d[:, None] * xs)
                rs = np.sqrt(1 - xs)
                ep = np.exp(-(hki[:, None] / 2) * xs / (1 + rs) ** 2) / rs
                term = np.where(asr2 > -100, np.exp(asr2) * (sp2 - ep), 0.0)
            bvn[inner] = (a2 * (term @ _W20) - v) / _TWO_PI
        res = np.where(rb > 0, bvn + ndtr(-np.maximum(hb, kb)),
                       -bvn + np.maximum(0.0, ndtr(-hb) - ndtr(-kb)))
        out[big] = res
    return np.clip(out, 0.0, 1.0).reshape(shape)


def _pbvn(x, y, r):
    """Phi_2(x, y; r) = P(X < x, Y < y)."""
    return _bvnu(-np.asarray(x, float), -np.asarray(y, float), r)


def _dbvn(x, y, r):
    """Standard bivariate normal density with correlation r."""
    s = 1 - r * r
    with np.errstate(under="ignore", over="ignore"):
        return np.exp(-(x * x - 2 * r * x * y + y * y) / (2 * s)) / (_TWO_PI * np.sqrt(s))


# --------------------------------------------------------------------------
# cell probabilities of a batch of pairs with the same table shape
# --------------------------------------------------------------------------

def _cell_probs(t1: np.ndarray, t2: np.ndarray, rho: np.ndarray, derivs: int = 0):
    """Cell probabilities PI (P x K1 x K2) of P pairs, and optionally d PI / d rho.

    t1: (P, K1-1) and t2: (P, K2-1) finite or infinite thresholds; rho: (P,).
    derivs=1 adds phi = d PI / d rho, derivs=2 also d2 PI / d rho2.
    """
    P = rho.shape[0]
    a = np.clip(t1, -_BIG, _BIG)[:, :, None]
    b = np.clip(t2, -_BIG, _BIG)[:, None, :]
    r = rho[:, None, None]
    K1, K2 = t1.shape[1] + 1, t2.shape[1] + 1
    bi = np.zeros((P, K1 + 1, K2 + 1))
    bi[:, 1:K1, 1:K2] = _pbvn(a, b, r)
    bi[:, K1, 1:K2] = ndtr(np.clip(t2, -_BIG, _BIG))
    bi[:, 1:K1, K2] = ndtr(np.clip(t1, -_BIG, _BIG))
    bi[:, K1, K2] = 1.0
    pi = bi[:, 1:, 1:] - bi[:, 1:, :-1] - bi[:, :-1, 1:] + bi[:, :-1, :-1]
    if not derivs:
        return pi
    den = np.zeros((P, K1 + 1, K2 + 1))
    d = _dbvn(a, b, r)
    den[:, 1:K1, 1:K2] = d
    phi = den[:, 1:, 1:] - den[:, 1:, :-1] - den[:, :-1, 1:] + den[:, :-1, :-1]
    if derivs == 1:
        return pi, phi
    s = 1 - r * r
    q = a * a - 2 * r * a * b + b * b
    dd = np.zeros((P, K1 + 1, K2 + 1))
    dd[:, 1:K1, 1:K2] = d * (r / s + a * b / s - r * q / (s * s))
    dphi = dd[:, 1:, 1:] - dd[:, 1:, :-1] - dd[:, :-1, 1:] + dd[:, :-1, :-1]
    return pi, phi, dphi


# --------------------------------------------------------------------------
# the two optimisers: lavaan's (Newton to convergence on the bounded ML
# problem) and psych's (R's optimize(), Brent's fmin, run in lock step)
# --------------------------------------------------------------------------

def _loglik_lavaan(freq, pi):
    pi = np.maximum(pi, _SQRT_EPS)
    return np.sum(freq * np.log(pi), axis=(1, 2))


def _newton_rho(freq, t1, t2, start, lower=-0.999, upper=0.999, tol=1e-10, maxit=100):
    """ML rho of each table with fixed thresholds, as lavaan's lav_bvord_cor_twostep_fit.

    lavaan minimises -logl/N with nlminb (gradient and Hessian) in [-0.999, 0.999],
    cell probabilities floored at sqrt(eps).  Here: safeguarded Newton steps
    (Fisher scoring when the Hessian is not negative, step halving when the
    likelihood drops).  Returns (rho, converged).
    """
    rho = np.clip(start.astype(float), lower, upper)
    n = freq.sum(axis=(1, 2))
    conv = np.zeros(rho.shape, bool)
    active = np.ones(rho.shape, bool)
    ll = _loglik_lavaan(freq, _cell_probs(t1, t2, rho))
    for _ in range(maxit):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        f, a, b, r = freq[idx], t1[idx], t2[idx], rho[idx]
        pi, phi, dphi = _cell_probs(a, b, r, derivs=2)
        ok = pi > _SQRT_EPS
        pis = np.where(ok, pi, 1.0)
        g = np.sum(np.where(ok, f * phi / pis, 0.0), axis=(1, 2))
        h = np.sum(np.where(ok, f * (dphi / pis - phi * phi / (pis * pis)), 0.0), axis=(1, 2))
        fisher = np.sum(np.where(ok, phi * phi / pis, 0.0), axis=(1, 2)) * n[idx]
        step = np.where(h < 0, -g / np.where(h < 0, h, -1.0), g / np.maximum(fisher, 1e-300))
        done = np.abs(g) / np.maximum(n[idx], 1) < tol
        new = np.clip(r + step, lower, upper)
        ll_old = ll[idx]
        for _half in range(30):
            ll_new = _loglik_lavaan(f, _cell_probs(a, b, new))
            worse = (ll_new < ll_old - 1e-12 * np.abs(ll_old)) & ~done
            if not worse.any():
                break
            new = np.where(worse, (new + r) / 2, new)
        moved = np.abs(new - r)
        rho[idx] = np.where(done, r, new)
        ll[idx] = np.where(done, ll_old, ll_new)
        fin = done | (moved < 1e-13)
        conv[idx[fin]] = True
        active[idx[fin]] = False
    return rho, conv


_GOLD = (3.0 - math.sqrt(5.0)) * 0.5


def _psych_objective(tab, t1, t2, rho):
    """psych's polyF: -sum(tab * log P) over cells with P > 0."""
    p = _cell_probs(t1, t2, rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -np.sum(tab * lp, axis=(1, 2))


def _brent_rho(tab, t1, t2, tol=np.finfo(float).eps ** 0.25, ax=-1.0, bx=1.0, maxit=200):
    """R's optimize(polyF, c(-1, 1)) -- Brent's fmin (R's Brent_fmin) -- for every table at once.

    Each table runs its own Brent iteration; the iterations advance in lock
    step so every objective evaluation covers all unfinished tables.
    Returns (rho, converged).
    """
    P = tab.shape[0]
    eps = math.sqrt(np.finfo(float).eps)
    a = np.full(P, ax)
    b = np.full(P, bx)
    v = a + _GOLD * (b - a)
    w = v.copy()
    x = v.copy()
    d = np.zeros(P)
    e = np.zeros(P)
    fx = _psych_objective(tab, t1, t2, x)
    fv = fx.copy()
    fw = fx.copy()
    tol3 = tol / 3.0
    active = np.ones(P, bool)
    for _ in range(maxit):
        xm = (a + b) * 0.5
        tol1 = eps * np.abs(x) + tol3
        t2_ = tol1 * 2.0
        stop = np.abs(x - xm) <= t2_ - (b - a) * 0.5
        active &= ~stop
        if not active.any():
            break
        idx = np.flatnonzero(active)
        xa, wa, va, fxa, fwa, fva = x[idx], w[idx], v[idx], fx[idx], fw[idx], fv[idx]
        aa, ba, da, ea, xma, tol1a, t2a = a[idx], b[idx], d[idx], e[idx], xm[idx], tol1[idx], t2_[idx]
        p = np.zeros(idx.size)
        q = np.zeros(idx.size)
        r = np.zeros(idx.size)
        fit = np.abs(ea) > tol1a
        r_ = (xa - wa) * (fxa - fva)
        q_ = (xa - va) * (fxa - fwa)
        p_ = (xa - va) * q_ - (xa - wa) * r_
        q_ = (q_ - r_) * 2.0
        p_ = np.where(q_ > 0, -p_, p_)
        q_ = np.abs(q_)
        p = np.where(fit, p_, p)
        q = np.where(fit, q_, q)
        r = np.where(fit, ea, r)
        ea = np.where(fit, da, ea)
        golden = (np.abs(p) >= np.abs(q * 0.5 * r)) | (p <= q * (aa - xa)) | (p >= q * (ba - xa))
        e_gold = np.where(xa < xma, ba - xa, aa - xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_par = p / q
        u_par = xa + d_par
        near = (u_par - aa < t2a) | (ba - u_par < t2a)
        d_par = np.where(near, np.where(xa >= xma, -tol1a, tol1a), d_par)
        ea = np.where(golden, e_gold, ea)
        da = np.where(golden, _GOLD * e_gold, d_par)
        u = np.where(np.abs(da) >= tol1a, xa + da, np.where(da > 0, xa + tol1a, xa - tol1a))
        fu = _psych_objective(tab[idx], t1[idx], t2[idx], u)
        better = fu <= fx[idx]
        # fu <= fx
        nb = np.where(better, np.where(u < xa, aa, xa), np.where(u < xa, u, aa))
        nbb = np.where(better, np.where(u < xa, xa, ba), np.where(u < xa, ba, u))
        aa, ba = nb, nbb
        c1 = ~better & ((fu <= fwa) | (wa == xa))
        c2 = ~better & ~c1 & ((fu <= fva) | (va == xa) | (va == wa))
        nv = np.where(better, wa, np.where(c1, wa, np.where(c2, u, va)))
        nfv = np.where(better, fwa, np.where(c1, fwa, np.where(c2, fu, fva)))
        nw = np.where(better, xa, np.where(c1, u, wa))
        nfw = np.where(better, fxa, np.where(c1, fu, fwa))
        nx = np.where(better, u, xa)
        nfx = np.where(better, fu, fxa)
        a[idx], b[idx], d[idx], e[idx] = aa, ba, da, ea
        v[idx], fv[idx], w[idx], fw[idx], x[idx], fx[idx] = nv, nfv, nw, nfw, nx, nfx
    return x, ~active


# --------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------

def _source(items) -> str:
    return str(getattr(items, "attrs", {}).get("source", "items"))


def _as_frame(items: Any, columns: Sequence | None = None) -> pd.DataFrame:
    if not isinstance(items, pd.DataFrame):
        items = pd.DataFrame(np.asarray(items))
    if columns is not None:
        missing = [c for c in columns if c not in items.columns]
        if missing:
            raise OrdinalDataError(f"{_source(items)}: column(s) {missing} not found in the data")
        items = items[list(columns)]
    return items


def _numeric(df: pd.DataFrame, src: str) -> pd.DataFrame:
    problems = []
    out = {}
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype) and s.cat.ordered:
            codes = s.cat.codes.astype(float).where(s.notna())
            out[col] = codes + 1
            continue
        num = pd.to_numeric(s, errors="coerce").astype(float)
        bad = (num.isna() & s.notna()) | np.isinf(num.fillna(0))
        for row in s.index[bad.to_numpy()]:
            problems.append(CellProblem(src, row, str(col), s.loc[row], "not a number"))
        out[col] = num
    if problems:
        raise DataError(f"{src}: {len(problems)} non-numeric ordinal item value(s)", problems)
    return pd.DataFrame(out, index=df.index)


def _check_categories(df: pd.DataFrame, src: str, max_categories: int) -> list:
    """Observed (sorted) values of each column; errors for one category or too many."""
    levels = []
    for col in df.columns:
        vals = np.unique(df[col].dropna().to_numpy())
        if vals.size < 2:
            shown = vals[0] if vals.size else "no observed value"
            raise OrdinalDataError(
                f"{src}: column {col!r} has only one observed category ({shown!r}); an ordinal "
                f"item needs at least two -- drop it from the ordinal analysis")
        if vals.size > max_categories:
            raise OrdinalDataError(
                f"{src}: column {col!r} has {vals.size} distinct values "
                f"(from {vals[0]!r} to {vals[-1]!r}); at most {max_categories} categories are "
                f"allowed for an ordered item -- treat it as continuous")
        levels.append(vals)
    return levels


def _codes(df: pd.DataFrame, levels: list) -> np.ndarray:
    """0-based category codes (int), -1 for missing."""
    out = np.full(df.shape, -1, dtype=np.int64)
    for j, col in enumerate(df.columns):
        v = df[col].to_numpy(dtype=float)
        ok = ~np.isnan(v)
        out[ok, j] = np.searchsorted(levels[j], v[ok])
    return out


def _tables(codes: np.ndarray, ncat: np.ndarray, pairs: np.ndarray) -> list:
    """Contingency table of every pair (complete cases of the pair), by np.bincount."""
    out = []
    for i, j in pairs:
        ci, cj = codes[:, i], codes[:, j]
        ok = (ci >= 0) & (cj >= 0)
        k1, k2 = int(ncat[i]), int(ncat[j])
        out.append(np.bincount(ci[ok] * k2 + cj[ok], minlength=k1 * k2).reshape(k1, k2)
                   .astype(float))
    return out


def _marginal_thresholds(counts: np.ndarray) -> np.ndarray:
    """qnorm of the cumulative proportions (without the last), as lav_uvord_th / psych."""
    prop = counts / counts.sum()
    return ndtri(np.cumsum(prop)[:-1])


def _lower_pairs(p: int) -> np.ndarray:
    """Pairs (i, j), i > j, in lavaan's vech order (column by column of the lower triangle)."""
    return np.array([(i, j) for j in range(p - 1) for i in range(j + 1, p)], dtype=int).reshape(-1, 2)


def _solve_groups(shapes_key, items_list, solver):
    """Run ``solver`` on pairs grouped by table shape; items_list: list of (tab, t1, t2, start)."""
    res = np.full(len(items_list), np.nan)
    conv = np.zeros(len(items_list), bool)
    groups: dict = {}
    for k, key in enumerate(shapes_key):
        groups.setdefault(key, []).append(k)
    for key, idx in groups.items():
        tab = np.stack([items_list[k][0] for k in idx])
        t1 = np.stack([items_list[k][1] for k in idx])
        t2 = np.stack([items_list[k][2] for k in idx])
        start = np.array([items_list[k][3] for k in idx], dtype=float)
        r, c = solver(tab, t1, t2, start)
        res[idx] = r
        conv[idx] = c
    return res, conv


def _pearson_start(codes, i, j):
    ci, cj = codes[:, i], codes[:, j]
    ok = (ci >= 0) & (cj >= 0)
    if ok.sum() < 2:
        return 0.0
    x, y = ci[ok].astype(float), cj[ok].astype(float)
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return 0.0
    r = float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))
    return r if abs(r) < 1 else 0.0


def _lavaan_pair_rho(freqs, t1s, t2s, starts, zero_add=(0.5, 0.0)):
    """lavaan's lav_bvord_cor_twostep_fit for a list of pairs (thresholds fixed).

    2 x 2 tables: one empty cell -> zero_add[0] moved into it keeping the
    margins; two empty cells -> rho = +-1; a zero odds-ratio numerator ->
    rho = 0; both thresholds 0 -> -cos(2 pi p11).  Larger tables: zero_add[1]
    added to empty cells (lavaan's default 0).  Returns (rho, converged, empty).
    """
    m = len(freqs)
    rho = np.full(m, np.nan)
    conv = np.ones(m, bool)
    empty = np.zeros(m, bool)
    todo = []
    for k in range(m):
        f = freqs[k].copy()
        empty[k] = bool((f == 0).any())
        if f.shape == (2, 2):
            z = np.flatnonzero(f.ravel() == 0)
            if z.size == 2:
                rho[k] = 1.0 if f[0, 0] > 0 else -1.0
                continue
            if z.size == 1 and zero_add[0] > 0:
                s = 1 if z[0] in (0, 3) else -1
                f[0, 0] += s * zero_add[0]
                f[1, 1] += s * zero_add[0]
                f[1, 0] -= s * zero_add[0]
                f[0, 1] -= s * zero_add[0]
            if f[0, 0] * f[1, 1] == f[0, 1] * f[1, 0]:
                rho[k] = 0.0
                continue
            if t1s[k][0] == 0 and t2s[k][0] == 0:
                rho[k] = -math.cos(2 * math.pi * f[0, 0] / f.sum())
                continue
        elif zero_add[1] > 0 and empty[k]:
            f[f == 0] = zero_add[1]
        todo.append((k, f))
    if todo:
        ks = [k for k, _ in todo]
        keys = [freqs[k].shape for k in ks]
        r, c = _solve_groups(keys, [(f, t1s[k], t2s[k], starts[k]) for k, f in todo],
                             lambda tab, a, b, s: _newton_rho(tab, a, b, s))
        rho[ks] = r
        conv[ks] = c
    return rho, conv, empty


# --------------------------------------------------------------------------
# polychoric()
# --------------------------------------------------------------------------

@dataclass
class PolychoricResult:
    """Polychoric correlations of ordinal items.

    Attributes
    ----------
    rho : DataFrame (items x items), the polychoric correlation matrix (after
        smoothing, when it was applied).
    thresholds : DataFrame (items x t1..tk): the thresholds; items with fewer
        categories have NaN in the last columns.  psych's global thresholds
        can be -Inf / +Inf for unused end categories.
    n : DataFrame (items x items) of the cases used for each pair (pairwise),
        or an int (listwise).
    method, missing, correct : the options used.
    smoothed : True when the matrix was not positive definite and was smoothed
        (psych's ``cor.smooth``); ``rho_unsmoothed`` then holds the original.
    diagnostics : dict -- ``min_eigenvalue`` (before smoothing), ``empty_cells``
        (list of [item, item, number of empty cells]), ``unused_categories``,
        ``corrected_cells`` (cells given ``correct``), ``not_converged``
        (pairs), ``missing_pairs`` (pairs without a correlation), ``global``.
    warnings : human-readable list of everything in diagnostics that needs care.
    """

    rho: pd.DataFrame
    thresholds: pd.DataFrame
    n: Any
    method: str
    missing: str
    correct: float
    smoothed: bool
    diagnostics: dict
    warnings: list = field(default_factory=list)
    rho_unsmoothed: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The polychoric correlation matrix."""
        return self.rho.copy()

    def pairs(self) -> pd.DataFrame:
        """One row per pair: item1, item2, rho, n."""
        cols = list(self.rho.columns)
        rows = []
        for j in range(len(cols)):
            for i in range(j + 1, len(cols)):
                n = self.n.iloc[i, j] if isinstance(self.n, pd.DataFrame) else self.n
                rows.append((cols[j], cols[i], self.rho.iloc[i, j], n))
        return pd.DataFrame(rows, columns=["item1", "item2", "rho", "n"])

    def to_dict(self) -> dict:
        return jsonable({"rho": self.rho, "thresholds": self.thresholds, "n": self.n,
                         "method": self.method, "missing": self.missing,
                         "correct": self.correct, "smoothed": self.smoothed,
                         "diagnostics": self.diagnostics, "warnings": self.warnings})

    def summary(self) -> str:
        p = self.rho.shape[0]
        off = self.rho.to_numpy()[np.tril_indices(p, -1)]
        return (f"Polychoric correlations ({self.method}, {self.missing}) of {p} items: "
                f"mean r = {np.nanmean(off):.3f}, range {np.nanmin(off):.3f} to "
                f"{np.nanmax(off):.3f}" + ("; smoothed (not positive definite)" if self.smoothed else ""))


def _cor_smooth(r: np.ndarray, eig_tol: float = 1e-12):
    """psych::cor.smooth: eigenvalues < eig_tol set to 100 * eig_tol, rescaled to sum p."""
    ev, vec = np.linalg.eigh(r)
    ev = ev.copy()
    ev[ev < eig_tol] = 100 * eig_tol
    ev = ev * r.shape[0] / ev.sum()
    x = (vec * ev) @ vec.T
    d = np.sqrt(np.diag(x))
    x = x / np.outer(d, d)
    np.fill_diagonal(x, 1.0)
    return x


@single_blas_thread
def polychoric(items: Any, missing: str = "pairwise", correct: float | None = None,
               method: str = "psych", smooth: bool | None = None, global_thresholds: bool = True,
               max_categories: int = MAX_CATEGORIES, columns: Sequence | None = None,
               continuous: Sequence = ()) -> PolychoricResult:
    """Polychoric correlation matrix and thresholds of ordinal items.

    Returns a :class:`PolychoricResult` (``.rho``, ``.thresholds``, ``.n``,
    ``.diagnostics``, ``.warnings``).  Two-step estimator (Olsson 1979):
    thresholds from each item's margins, then the ML correlation of each pair
    with thresholds fixed.

    ``method="psych"`` reproduces ``psych::polychoric`` (psych 2.2.9) with its
    defaults: values shifted by the smallest value over all items; when every
    item has the same largest value (psych's ``global = TRUE``) the thresholds
    are each item's own (all its observed cases) and no correction is applied;
    otherwise (``global = FALSE``, as psych switches) each pair's table drops
    empty rows and columns, adds ``correct`` (default 0.5) counts to every
    empty cell, and takes its thresholds from its own margins.  rho maximises
    the likelihood with R's ``optimize`` (Brent's fmin, tolerance
    ``.Machine$double.eps^0.25``, replicated step by step); a matrix that is not
    positive definite is smoothed as ``psych::cor.smooth`` (``smooth=True``).
    Only ``missing="pairwise"`` is psych's own (``"listwise"`` first drops
    incomplete rows).  One limit: in a table whose likelihood keeps falling
    towards rho = +-1 (an empty cell with global thresholds), where R's
    optimize stops depends on mnormt's integration error, so such values agree
    with psych only roughly (both near +-1).

    ``method="lavaan"`` reproduces ``lavaan::lavCor(x, ordered = names(x))``
    (lavaan 0.6-14): categories are the observed values of each item,
    ``missing="listwise"`` (lavaan's default; pass it explicitly) or
    ``"pairwise"`` (thresholds from each item's available cases, correlations
    from each pair's complete cases); rho is the exact ML estimate in
    [-0.999, 0.999] with cell probabilities floored at sqrt(machine eps), 2 x 2
    tables follow lavaan's ``zero.add = c(0.5, 0)`` rules and ``correct``
    (default 0) counts are added to empty cells of larger tables.  lavaan does
    not smooth (``smooth=False``); a non-positive-definite matrix is reported.

    ``continuous``: columns of ``items`` to treat as continuous (lavaan method
    only): their correlations with ordered items are polyserial and among
    themselves Pearson (pairwise: ML with fixed means and variances), as
    ``lavCor(x, ordered = <the others>)`` (lavaan's ``lav_bvmix_cor_twostep_fit``,
    Olsson, Drasgow & Dorans 1982); their rows of ``.thresholds`` are NaN.

    Bad input (a column with one observed category, more than
    ``max_categories`` categories, non-numeric values) raises
    :class:`OrdinalDataError` / :class:`~psychometrics.errors.DataError`;
    psych's own cap is 8 categories.
    """
    if method not in ("psych", "lavaan"):
        raise OrdinalDataError(f"method must be 'psych' or 'lavaan', got {method!r}")
    if missing not in ("pairwise", "listwise"):
        raise OrdinalDataError(f"missing must be 'pairwise' or 'listwise', got {missing!r}")
    df = _as_frame(items, columns)
    src = _source(df)
    if df.shape[1] < 2:
        raise OrdinalDataError(f"{src}: polychoric correlations need at least two items, "
                               f"got {df.shape[1]}")
    df = _numeric(df, src)
    warn: list = []
    diag: dict = {"empty_cells": [], "unused_categories": [], "corrected_cells": 0,
                  "not_converged": [], "missing_pairs": [], "min_eigenvalue": None}
    if missing == "listwise":
        keep = df.notna().all(axis=1)
        df = df[keep]
        if len(df) < 2:
            raise OrdinalDataError(f"{src}: fewer than two complete cases for listwise deletion")
    if correct is None:
        correct = 0.5 if method == "psych" else 0.0
    if smooth is None:
        smooth = method == "psych"
    names = [str(c) for c in df.columns]
    cont = [str(c) for c in continuous]
    if cont and method != "lavaan":
        raise OrdinalDataError("continuous columns (polyserial correlations) follow lavaan: use "
                               "method='lavaan'")
    unknown = [c for c in cont if c not in names]
    if unknown:
        raise OrdinalDataError(f"{src}: continuous column(s) {unknown} not among the items")
    if method == "psych":
        rho, tau, diag = _psych_matrix(df, src, correct, global_thresholds, max_categories, diag, warn)
    elif cont:
        rho, tau, diag = _lavaan_mixed(df, names, cont, missing, max_categories, diag, warn)
    else:
        rho, tau, diag = _lavaan_matrix(df, src, correct, max_categories, diag, warn)
    p = rho.shape[0]
    present = ~np.isnan(df.to_numpy(float))
    cnt = present.T.astype(float) @ present.astype(float)
    n_out: Any = int(len(df)) if missing == "listwise" else pd.DataFrame(
        cnt.astype(int), index=names, columns=names)
    unsmoothed = None
    smoothed = False
    if not np.isnan(rho).any():
        ev = np.linalg.eigvalsh(rho)
        diag["min_eigenvalue"] = float(ev[0])
        if ev[0] < np.finfo(float).eps:
            if smooth:
                unsmoothed = pd.DataFrame(rho.copy(), index=names, columns=names)
                rho = _cor_smooth(rho)
                smoothed = True
                warn.append(f"the polychoric matrix was not positive definite (smallest eigenvalue "
                            f"{ev[0]:.4g}) and was smoothed (psych::cor.smooth)")
            else:
                warn.append(f"the polychoric matrix is not positive definite (smallest eigenvalue "
                            f"{ev[0]:.4g})")
    elif smooth:
        warn.append("some correlations are missing, smoothing turned off")
    k = tau.shape[1]
    res = PolychoricResult(
        rho=pd.DataFrame(rho, index=names, columns=names),
        thresholds=pd.DataFrame(tau, index=names, columns=[f"t{i + 1}" for i in range(k)]),
        n=n_out, method=method, missing=missing, correct=float(correct), smoothed=smoothed,
        diagnostics=diag, warnings=warn, rho_unsmoothed=unsmoothed)
    for w in warn:
        warnings.warn(w, PsychometricsWarning, stacklevel=2)
    return res


def _psych_matrix(df, src, correct, global_thr, max_categories, diag, warn):
    x = df.to_numpy(float)
    obs = x[~np.isnan(x)]
    if obs.size == 0:
        raise OrdinalDataError(f"{src}: no observed values")
    nonint = ~np.isnan(x) & (x != np.round(x))
    if nonint.any():
        r, c = np.argwhere(nonint)[0]
        raise DataError(f"{src}: psych's polychoric needs whole-number categories",
                        [CellProblem(src, df.index[r], str(df.columns[c]), x[r, c],
                                     "not a whole number")])
    # items without variance: psych deletes them with a message
    keep = []
    for j, col in enumerate(df.columns):
        v = x[:, j][~np.isnan(x[:, j])]
        if v.size < 2 or np.all(v == v[0]):
            raise OrdinalDataError(
                f"{src}: column {col!r} has only one observed category "
                f"({v[0] if v.size else 'no observed value'!r}); an ordinal item needs at least "
                f"two -- drop it (psych::polychoric deletes such items)")
        keep.append(j)
    xmin = np.nanmin(x)
    nvalues = int(np.nanmax(x) - xmin + 1)
    if nvalues > max_categories:
        raise OrdinalDataError(
            f"{src}: the items take {nvalues} different values from {np.nanmin(x):g} to "
            f"{np.nanmax(x):g}; at most {max_categories} categories are allowed for ordered "
            f"items -- treat them as continuous")
    codes = np.where(np.isnan(x), -1, x - xmin).astype(np.int64)   # 0-based
    p = x.shape[1]
    xmax = np.array([codes[:, j].max() for j in range(p)])
    if xmax.min() != xmax.max() and global_thr:
        global_thr = False
        warn.append("the items do not have an equal number of response alternatives; "
                    "thresholds are estimated pair by pair (psych's global = FALSE)")
    diag["global"] = bool(global_thr)
    freq = np.stack([np.bincount(codes[:, j][codes[:, j] >= 0], minlength=nvalues)
                     for j in range(p)])
    for j in range(p):
        lo, hi = 0, int(xmax[j])
        unused = [float(v + xmin) for v in range(lo, hi + 1) if freq[j, v] == 0]
        if unused:
            diag["unused_categories"].append([str(df.columns[j]), unused])
            warn.append(f"column {df.columns[j]!r}: categories {unused} are never used")
    with np.errstate(divide="ignore"):
        tau = ndtri(np.cumsum(freq / freq.sum(axis=1, keepdims=True), axis=1)[:, :-1])
    pairs = np.array([(i, j) for i in range(1, p) for j in range(i)], dtype=int)
    tabs = _tables(codes, np.full(p, nvalues), pairs)
    jobs, keys, where = [], [], []
    rho = np.eye(p)
    for k, (i, j) in enumerate(pairs):
        tab = tabs[k]
        tot = tab.sum()
        if tot == 0:
            rho[i, j] = rho[j, i] = np.nan
            diag["missing_pairs"].append([str(df.columns[i]), str(df.columns[j])])
            continue
        nz = int((tab[tab.any(axis=1)][:, tab.any(axis=0)] == 0).sum())
        if nz:
            diag["empty_cells"].append([str(df.columns[i]), str(df.columns[j]), nz])
        tab = tab / tot
        if global_thr:
            t1, t2 = tau[i], tau[j]
        else:
            tab = tab[tab.any(axis=1)][:, tab.any(axis=0)]
            if correct > 0 and (tab == 0).any():
                diag["corrected_cells"] += int((tab == 0).sum())
                tab = np.where(tab == 0, correct / tot, tab)
            if min(tab.shape) < 2:
                rho[i, j] = rho[j, i] = np.nan
                diag["missing_pairs"].append([str(df.columns[i]), str(df.columns[j])])
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                t1 = ndtri(np.cumsum(tab.sum(axis=1))[:-1])
                t2 = ndtri(np.cumsum(tab.sum(axis=0))[:-1])
            if np.isnan(t1).any() or np.isnan(t2).any():
                # the added cells push a cumulative proportion above 1: psych::polychoric
                # stops with an error ("lower>upper integration limits") on such a table
                rho[i, j] = rho[j, i] = np.nan
                diag["missing_pairs"].append([str(df.columns[i]), str(df.columns[j])])
                continue
        jobs.append((tab, t1, t2, 0.0))
        keys.append(tab.shape)
        where.append((i, j))
    if jobs:
        r, conv = _solve_groups(keys, jobs, lambda tab, a, b, s: _brent_rho(tab, a, b))
        for (i, j), v, c in zip(where, r, conv):
            rho[i, j] = rho[j, i] = v
            if not c:
                diag["not_converged"].append([str(df.columns[i]), str(df.columns[j])])
    if diag["corrected_cells"] and correct > 0:
        warn.append(f"{diag['corrected_cells']} cells were adjusted for 0 values using the "
                    f"correction for continuity ({correct})")
    if diag["missing_pairs"]:
        warn.append(f"no polychoric correlation for {len(diag['missing_pairs'])} pair(s) "
                    f"(a table with fewer than two non-empty rows or columns, or whose continuity "
                    f"correction pushes a cumulative proportion above 1 -- psych stops there): "
                    f"{diag['missing_pairs'][:5]}")
    if diag["not_converged"]:
        warn.append(f"the estimation did not converge for pairs {diag['not_converged']}")
    return rho, tau, diag


def _lavaan_mixed(df, names, cont, missing, max_categories, diag, warn):
    ordered = [c for c in names if c not in cont]
    d = df.copy()
    d.columns = names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = ordinal_sample_stats(d, ordered, continuous_columns=cont, order=names,
                                  missing=missing, max_categories=max_categories)
    g = st[0]
    diag["global"] = True
    diag["empty_cells"] = [list(z) for z in g.zero_cell_tables]
    diag["continuous"] = cont
    warn.extend(g.warnings)
    k = max([n - 1 for n in g.n_categories] + [1])
    tau = np.full((len(names), k), np.nan)
    for j in range(len(names)):
        if g.types[j] == "ordered":
            t = g.thresholds[g.th_idx == j]
            tau[j, :t.size] = t
    return g.cor.copy(), tau, diag


def _lavaan_matrix(df, src, correct, max_categories, diag, warn):
    levels = _check_categories(df, src, max_categories)
    codes = _codes(df, levels)
    ncat = np.array([lv.size for lv in levels])
    p = len(levels)
    diag["global"] = True
    th = []
    for j in range(p):
        c = codes[:, j]
        th.append(_marginal_thresholds(np.bincount(c[c >= 0], minlength=ncat[j]).astype(float)))
    pairs = _lower_pairs(p)
    tabs = _tables(codes, ncat, pairs)
    starts = [_pearson_start(codes, i, j) for i, j in pairs]
    # lavaan calls the bivariate fit with y1 = the earlier variable (j), y2 = the later (i)
    rho_v, conv, empty = _lavaan_pair_rho([t.T for t in tabs], [th[j] for i, j in pairs],
                                          [th[i] for i, j in pairs], starts,
                                          zero_add=(0.5, float(correct)))
    rho = np.eye(p)
    for k, (i, j) in enumerate(pairs):
        rho[i, j] = rho[j, i] = rho_v[k]
        if empty[k]:
            diag["empty_cells"].append([str(df.columns[j]), str(df.columns[i]),
                                        int((tabs[k] == 0).sum())])
        if not conv[k]:
            diag["not_converged"].append([str(df.columns[j]), str(df.columns[i])])
    if diag["not_converged"]:
        warn.append(f"the estimation did not converge for pairs {diag['not_converged']}")
    k = int(ncat.max()) - 1
    tau = np.full((p, k), np.nan)
    for j in range(p):
        tau[j, :th[j].size] = th[j]
    return rho, tau, diag


# --------------------------------------------------------------------------
# WLSMV sample statistics: thresholds, polychoric correlations and Gamma
# --------------------------------------------------------------------------

@dataclass
class OrdinalGroupStats:
    """The ordinal sample statistics of one group, in lavaan's order.

    Attributes
    ----------
    group : the group's value (None without groups).
    nobs : number of cases used (lavaan's ``nobs``).
    columns : the variables, in lavaan's order (see ``order``).
    types : per variable, ``"ordered"`` or ``"numeric"`` (continuous).
    levels : per ordered variable, the observed values that define its
        categories (category k is its k-th smallest value, over all groups);
        None for a continuous variable.
    n_categories : per variable (0 for continuous).
    thresholds : 1-D array, variable by variable, t1..tk; a continuous
        variable contributes one entry, minus its mean (lavaan's ``WLS.obs``).
    threshold_names : ``"x|t1"``, ...; a continuous variable's name alone
        (lavaan's ``TH.NAMES``).
    th_idx : 1-D int array, the (0-based) variable of each threshold; -1 for
        a continuous variable's mean entry (lavaan's ``TH.IDX`` uses 0).
    means, variances : per variable; a continuous variable's ML mean and
        variance (divisor N), NaN and 1 for ordered variables.
    cor : the correlation matrix (p x p): polychoric, polyserial, Pearson.
    cov : ``cor`` rescaled by the continuous variables' standard deviations.
    cor_vech : the correlations below the diagonal, column by column (lavaan's
        ``lav_matrix_vech(COR, diagonal = FALSE)``).
    wls_obs : ``[thresholds, variances of the continuous variables, vech of cov
        without diagonal]`` (lavaan's ``WLS.obs``); ``[thresholds, cor_vech]``
        with ordered variables only.
    gamma : asymptotic covariance matrix of ``wls_obs`` (lavaan's ``NACOV``,
        ``lavInspect(fit, "gamma")``): N times the sandwich of Muthen (1984).
    wls_v_diag : ``1 / diag(gamma)``, the DWLS weights (lavaan's ``WLS.VD``;
        ``lavInspect(fit, "wls.v")`` is ``diag(wls_v_diag)``).
    n_pairs : p x p matrix of cases observed on both variables (pairwise).
    zero_cell_tables : pairs [var1, var2] whose table has empty cells.
    warnings : list of strings.
    """

    group: Any
    nobs: int
    columns: list
    types: list
    levels: list
    n_categories: np.ndarray
    thresholds: np.ndarray
    threshold_names: list
    th_idx: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    cor: np.ndarray
    cov: np.ndarray
    cor_vech: np.ndarray
    wls_obs: np.ndarray
    gamma: np.ndarray
    wls_v_diag: np.ndarray
    n_pairs: np.ndarray
    zero_cell_tables: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def wls_obs_names(self) -> list:
        """A name for each entry of ``wls_obs``: ``x|t1`` (thresholds), ``x`` (minus the mean
        of a continuous x), ``x~~x`` (its variance), ``y~~x`` (correlations, vech order)."""
        num = [c for c, t in zip(self.columns, self.types) if t == "numeric"]
        p = len(self.columns)
        pairs = [f"{self.columns[i]}~~{self.columns[j]}" for i, j in _lower_pairs(p)]
        return list(self.threshold_names) + [f"{v}~~{v}" for v in num] + pairs

    def to_dict(self) -> dict:
        return jsonable({k: getattr(self, k) for k in (
            "group", "nobs", "columns", "types", "levels", "n_categories", "thresholds",
            "threshold_names", "th_idx", "means", "variances", "cor", "cov", "wls_obs", "gamma",
            "wls_v_diag", "zero_cell_tables", "warnings")})


@dataclass
class OrdinalStats:
    """Ordinal sample statistics of every group (see :func:`ordinal_sample_stats`).

    ``groups`` is a list of :class:`OrdinalGroupStats` in the order of
    ``group_labels`` (order of first appearance in the data, as lavaan).
    """

    groups: list
    group_labels: list
    columns: list
    missing: str
    warnings: list = field(default_factory=list)

    @property
    def nobs(self) -> list:
        return [g.nobs for g in self.groups]

    def __getitem__(self, i) -> OrdinalGroupStats:
        return self.groups[i]

    def __len__(self) -> int:
        return len(self.groups)

    def to_frame(self) -> pd.DataFrame:
        """Thresholds, one row per group x threshold: group, name, threshold, se (sqrt(gamma/N))."""
        rows = []
        for g in self.groups:
            nth = g.thresholds.size
            se = np.sqrt(np.diag(g.gamma)[:nth] / g.nobs)
            for name, t, s in zip(g.threshold_names, g.thresholds, se):
                rows.append((g.group, name, t, s))
        return pd.DataFrame(rows, columns=["group", "name", "threshold", "se"])

    def to_dict(self) -> dict:
        return jsonable({"group_labels": self.group_labels, "columns": self.columns,
                         "missing": self.missing, "warnings": self.warnings,
                         "groups": [g.to_dict() for g in self.groups]})


def _uv_scores(c: np.ndarray, th: np.ndarray) -> np.ndarray:
    """Case-wise scores of the univariate probit log-likelihood w.r.t. the thresholds.

    lavaan's lav_uvord_scores (no covariates): (1[y=k] phi(z1) - 1[y-1=k] phi(z2)) / pi;
    0 for missing cases.  c: 0-based codes (-1 missing).
    """
    K = th.size + 1
    n = c.size
    ok = c >= 0
    cc = np.where(ok, c, 0)
    up = np.concatenate([th, [100.0]])
    lo = np.concatenate([[-100.0], th])
    z1, z2 = up[cc], lo[cc]
    pi = ndtr(z1) - ndtr(z2)
    d1 = np.exp(-0.5 * z1 * z1) / math.sqrt(_TWO_PI)
    d2 = np.exp(-0.5 * z2 * z2) / math.sqrt(_TWO_PI)
    sc = np.zeros((n, K - 1))
    rows = np.arange(n)
    m1 = ok & (cc <= K - 2)
    sc[rows[m1], cc[m1]] += d1[m1] / pi[m1]
    m2 = ok & (cc >= 1)
    sc[rows[m2], cc[m2] - 1] -= d2[m2] / pi[m2]
    return sc


def _bv_cell_scores(th1: np.ndarray, th2: np.ndarray, rho: float):
    """Cell-level scores of the bivariate probit likelihood (lavaan's lav_bvord_cor_scores).

    Returns (dx_rho (K1 x K2), dth1 (K1 x K2 x K1-1), dth2 (K1 x K2 x K2-1)), with
    zeros in cells whose probability is <= sqrt(eps) (lavaan sets them NA and
    sums with na.rm).
    """
    K1, K2 = th1.size + 1, th2.size + 1
    pi, phi = _cell_probs(th1[None], th2[None], np.array([rho]), derivs=1)
    pi, phi = np.maximum(pi[0], _SQRT_EPS), phi[0]
    bad = pi <= _SQRT_EPS
    lik = np.where(bad, 1.0, pi)
    up1 = np.concatenate([th1, [100.0]])[:, None]
    lo1 = np.concatenate([[-100.0], th1])[:, None]
    up2 = np.concatenate([th2, [100.0]])[None, :]
    lo2 = np.concatenate([[-100.0], th2])[None, :]
    R = math.sqrt(1 - rho * rho)
    dn = lambda z: np.exp(-0.5 * z * z) / math.sqrt(_TWO_PI)   # noqa: E731
    if R == 0:
        y1z1 = np.broadcast_to(dn(up1) * 0.5, (K1, K2))
        y1z2 = np.broadcast_to(dn(lo1) * 0.5, (K1, K2))
        y2z1 = np.broadcast_to(dn(up2) * 0.5, (K1, K2))
        y2z2 = np.broadcast_to(dn(lo2) * 0.5, (K1, K2))
    else:
        y1z1 = dn(up1) * (ndtr((up2 - rho * up1) / R) - ndtr((lo2 - rho * up1) / R))
        y1z2 = dn(lo1) * (ndtr((up2 - rho * lo1) / R) - ndtr((lo2 - rho * lo1) / R))
        y2z1 = dn(up2) * (ndtr((up1 - rho * up2) / R) - ndtr((lo1 - rho * up2) / R))
        y2z2 = dn(lo2) * (ndtr((up1 - rho * lo2) / R) - ndtr((lo1 - rho * lo2) / R))
    dth1 = np.zeros((K1, K2, K1 - 1))
    a = np.arange(K1)
    dth1[a[:-1], :, a[:-1]] += y1z1[:-1, :]
    dth1[a[1:], :, a[1:] - 1] -= y1z2[1:, :]
    dth2 = np.zeros((K1, K2, K2 - 1))
    b = np.arange(K2)
    dth2[:, b[:-1], b[:-1]] += y2z1[:, :-1]
    dth2[:, b[1:], b[1:] - 1] -= y2z2[:, 1:]
    keep = ~bad
    dx = np.where(keep, phi / lik, 0.0)
    dth1 = np.where(keep[:, :, None], dth1 / lik[:, :, None], 0.0)
    dth2 = np.where(keep[:, :, None], dth2 / lik[:, :, None], 0.0)
    return dx, dth1, dth2


def _empty_category_error(src, name, levels, cnt, group):
    empty = [_py(levels[k]) for k in np.flatnonzero(cnt == 0)]
    where = "" if group is None else f" in group {group!r}"
    freqs = dict(zip([_py(v) for v in levels], cnt.tolist()))
    return OrdinalDataError(
        f"{src}: column {name!r}: categor{'y' if len(empty) == 1 else 'ies'} {empty} "
        f"{'is' if len(empty) == 1 else 'are'} empty{where} (frequencies {freqs}); thresholds "
        f"cannot be estimated -- collapse the category with a neighbour for all groups, or "
        f"analyse the item as continuous")


def _py(v):
    return v.item() if hasattr(v, "item") else v


def _bounded_max(negll, lo, hi):
    """Minimise a smooth 1-D function on [lo, hi] (bounded Brent, tight tolerance)."""
    from scipy.optimize import minimize_scalar
    r = minimize_scalar(negll, bounds=(lo, hi), method="bounded",
                        options={"xatol": 1e-11, "maxiter": 500})
    return float(r.x), bool(r.success)


def _polyserial(y, mu, var, c, th):
    """Two-step ML polyserial correlation (lavaan's lav_bvmix_cor_twostep_fit), its scores.

    y: continuous values, c: 0-based categories of the ordered variable (both observed);
    mu, var: the continuous variable's ML mean and variance; th: the thresholds.
    Returns (rho, converged, score function of rho).
    """
    sd = math.sqrt(var)
    z = (y - mu) / sd
    up = np.concatenate([th, [100.0]])[c]
    lo = np.concatenate([[-100.0], th])[c]
    logpy1 = -0.5 * z * z - 0.5 * math.log(_TWO_PI) - math.log(sd)
    dbl_eps = np.finfo(float).eps

    def negll(rho):
        R = math.sqrt(1 - rho * rho)
        pr = np.maximum(ndtr((up - rho * z) / R) - ndtr((lo - rho * z) / R), dbl_eps)
        ll = logpy1 + np.log(pr)
        keep = ll >= math.log(_SQRT_EPS)
        return -np.sum(ll[keep]) / y.size

    rho, ok = _bounded_max(negll, -0.995, 0.995)
    return rho, ok


def _polyserial_scores(y, mu, var, c, th, rho):
    """Case-wise scores of the polyserial likelihood (lavaan's lav_bvmix_cor_scores)."""
    sd = math.sqrt(var)
    z = (y - mu) / sd
    up = np.concatenate([th, [100.0]])[c]
    lo = np.concatenate([[-100.0], th])[c]
    R = math.sqrt(1 - rho * rho)
    t1, t0 = (up - rho * z) / R, (lo - rho * z) / R
    d1 = np.exp(-0.5 * t1 * t1) / math.sqrt(_TWO_PI)
    d0 = np.exp(-0.5 * t0 * t0) / math.sqrt(_TWO_PI)
    pinv = 1.0 / np.maximum(ndtr(t1) - ndtr(t0), np.finfo(float).eps)
    dd = d1 - d0
    dx_mu = (z + pinv * (rho / R) * dd) / sd
    dx_var = ((z * z - 1) + (pinv * rho * z / R) * dd) / (2 * var)
    K = th.size + 1
    dth = np.zeros((y.size, K - 1))
    rows = np.arange(y.size)
    m1 = c <= K - 2
    dth[rows[m1], c[m1]] += d1[m1]
    m2 = c >= 1
    dth[rows[m2], c[m2] - 1] -= d0[m2]
    dth *= (pinv / R)[:, None]
    dx_rho = pinv / R ** 3 * (d1 * (up * rho - z) - d0 * (lo * rho - z))
    return dx_rho, dx_mu, dx_var, dth


def _pearson_ml(y1, y2, m1, v1, m2, v2, complete):
    """lavaan's lav_bvreg_cor_twostep_fit: Pearson r without missing values, else the ML
    correlation of the pair's complete cases with means and variances fixed."""
    if complete:
        return float(np.corrcoef(y1, y2)[0, 1]), True
    a, b = (y1 - m1) / math.sqrt(v1), (y2 - m2) / math.sqrt(v2)

    def negll(rho):
        s = 1 - rho * rho
        return -np.mean(-0.5 * math.log(s) - (a * a - 2 * rho * a * b + b * b) / (2 * s))

    return _bounded_max(negll, -0.999, 0.999)


#: above this many cases of all-ordinal data the case-wise scores are summed in blocks of
#: this many rows (:func:`_blocked_score_sums`)
_SCORE_ROWS = 65536


def _blocked_score_sums(codes, th, start, pairs, dx_tabs, m, nth):
    """``(sum_i s_i s_i', sum_i s_i[pair]^2)`` of the case-wise scores of all-ordinal data
    (Muthen 1984; lavaan's muthen1984), built block by block: a case's threshold scores are
    row ``code + 1`` of a per-variable table (:func:`_uv_scores` of every code, -1 = missing
    giving zeros) and its pair scores ``dx[c_i, c_j]`` (0 where either is missing), the same
    values as the n x m array of the unblocked path."""
    n, p = codes.shape
    uv = [_uv_scores(np.arange(-1, t.size + 1), t) for t in th]
    inner = np.zeros((m, m))
    a22 = np.zeros(m - nth)
    for b0 in range(0, n, _SCORE_ROWS):
        cb = codes[b0:b0 + _SCORE_ROWS]
        sb = np.zeros((cb.shape[0], m))
        for j in range(p):
            sb[:, start[j]:start[j + 1]] = uv[j][cb[:, j] + 1]
        for k, (i, j) in enumerate(pairs):
            ci, cj = cb[:, i], cb[:, j]
            ok = (ci >= 0) & (cj >= 0)
            sb[ok, nth + k] = dx_tabs[k][ci[ok], cj[ok]]
        inner += sb.T @ sb
        a22 += np.einsum("ij,ij->j", sb[:, nth:], sb[:, nth:])
    return inner, a22


def _group_stats(codes: np.ndarray, yraw: np.ndarray, types: list, levels: list, names: list,
                 group: Any, src: str) -> OrdinalGroupStats:
    """One group's statistics (lavaan's muthen1984 without covariates)."""
    n, p = codes.shape
    nobs = n
    ordv = [t == "ordered" for t in types]
    num_idx = [v for v in range(p) if not ordv[v]]
    nnum = len(num_idx)
    warn = []
    th, th_names, th_idx = [], [], []
    means = np.full(p, np.nan)
    variances = np.ones(p)
    ncat = np.zeros(p, int)
    for j in range(p):
        if ordv[j]:
            ncat[j] = levels[j].size
            c = codes[:, j]
            cnt = np.bincount(c[c >= 0], minlength=ncat[j])
            if (cnt == 0).any():
                raise _empty_category_error(src, names[j], levels[j], cnt, group)
            t = _marginal_thresholds(cnt.astype(float))
            th.append(t)
            th_names += [f"{names[j]}|t{k + 1}" for k in range(t.size)]
            th_idx += [j] * t.size
        else:
            y = yraw[:, j]
            ok = ~np.isnan(y)
            if ok.sum() < 2 or np.var(y[ok]) == 0:
                raise OrdinalDataError(f"{src}: continuous column {names[j]!r} has no variance"
                                       + ("" if group is None else f" in group {group!r}"))
            means[j] = y[ok].mean()
            variances[j] = np.mean((y[ok] - means[j]) ** 2)
            th.append(np.array([means[j]]))
            th_names.append(names[j])
            th_idx.append(-1)
    sizes = np.array([t.size for t in th])
    start = np.concatenate([[0], np.cumsum(sizes)])
    nth = int(start[-1])
    var_col = {v: nth + k for k, v in enumerate(num_idx)}
    pairs = _lower_pairs(p)
    npair = pairs.shape[0]
    cor = np.eye(p)
    zero_tables = []
    # ordered x ordered pairs: all at once
    oo = [k for k, (i, j) in enumerate(pairs) if ordv[i] and ordv[j]]
    tabs = {}
    if oo:
        pp = pairs[oo]
        tl = _tables(codes, np.maximum(ncat, 1), pp)
        starts = [_pearson_start(codes, i, j) for i, j in pp]
        rho_v, conv, empty = _lavaan_pair_rho([t.T for t in tl], [th[j] for i, j in pp],
                                              [th[i] for i, j in pp], starts)
        for k, (i, j), r, cv, em, t in zip(oo, pp, rho_v, conv, empty, tl):
            cor[i, j] = cor[j, i] = r
            tabs[k] = t
            if em:
                zero_tables.append([names[j], names[i]])
            if not cv:
                warn.append(f"the polychoric correlation of {names[j]} and {names[i]} did not "
                            f"converge")
    # scores (Muthen 1984; lavaan's muthen1984): one n x (nth + nnum + npair) array, filled
    # through three column views (no second copy of the scores when they are joined: at 10^6
    # cases the copy was about 0.5 GB for an 8-item scale, issue 13)
    a11n = nth + nnum
    # all-ordinal data: a case's scores depend on its codes only, so above _SCORE_ROWS cases
    # they are built and summed (inner = sum s_i s_i', a22) in blocks of rows from per-code
    # tables instead of one n x m array (0.4 GB for an 8-item scale at 10^6 cases, the peak
    # of the CFA and invariance steps there: issue 13)
    blocked = nnum == 0 and n > _SCORE_ROWS
    dx_tabs = {}
    sc = np.zeros((0 if blocked else n, a11n + npair))
    sc_th = sc[:, :nth]
    sc_var = sc[:, nth:a11n]
    for j in range(0 if blocked else p):
        if ordv[j]:
            sc_th[:, start[j]:start[j + 1]] = _uv_scores(codes[:, j], th[j])
        else:
            y = yraw[:, j]
            ok = ~np.isnan(y)
            res = y[ok] - means[j]
            sc_th[ok, start[j]] = res / variances[j]
            sc_var[ok, var_col[j] - nth] = -1 / (2 * variances[j]) + res * res / (
                2 * variances[j] ** 2)
    sc_cor = sc[:, a11n:]
    a21 = np.zeros((npair, a11n))
    h21 = np.zeros((npair, a11n))
    h22 = np.ones(npair)
    for k, (i, j) in enumerate(pairs):
        if ordv[i] and ordv[j]:
            dx, d1, d2 = _bv_cell_scores(th[i], th[j], float(cor[i, j]))
            if blocked:
                dx_tabs[k] = dx
            else:
                ci, cj = codes[:, i], codes[:, j]
                ok = (ci >= 0) & (cj >= 0)
                sc_cor[ok, k] = dx[ci[ok], cj[ok]]
            w = tabs[k] * dx
            a21[k, start[i]:start[i + 1]] = np.einsum("ab,abk->k", w, d1)
            a21[k, start[j]:start[j + 1]] = np.einsum("ab,abk->k", w, d2)
        elif not ordv[i] and not ordv[j]:
            y1, y2 = yraw[:, i], yraw[:, j]
            ok = ~np.isnan(y1) & ~np.isnan(y2)
            complete = not (np.isnan(y1).any() or np.isnan(y2).any())
            r, cv = _pearson_ml(y1[ok], y2[ok], means[i], variances[i], means[j], variances[j],
                                complete)
            cor[i, j] = cor[j, i] = r
            if not cv:
                warn.append(f"the correlation of {names[j]} and {names[i]} did not converge")
            v1, v2 = variances[i], variances[j]
            s1, s2 = math.sqrt(v1), math.sqrt(v2)
            e1, e2 = y1[ok] - means[i], y2[ok] - means[j]
            R = 1 - r * r
            dmu1 = (2 * e1 / v1 - 2 * r * e2 / (s1 * s2)) / (2 * R)
            dmu2 = -(2 * r * e1 / (s1 * s2) - 2 * e2 / v2) / (2 * R)
            dv1 = -(0.5 / v1 - (e1 * e1 / (v1 * v1) - r * e1 * e2 / (v1 * s1 * s2)) / (2 * R))
            dv2 = -(0.5 / v2 + (r * e1 * e2 / (v2 * s1 * s2) - e2 * e2 / (v2 * v2)) / (2 * R))
            zq = e1 * e1 / v1 - 2 * r * e1 * e2 / (s1 * s2) + e2 * e2 / v2
            drho = r / R + (e1 * e2 / (s1 * s2 * R) - zq * r / (R * R))
            sc_cor[ok, k] = drho
            a21[k, start[i]] = drho @ dmu1
            a21[k, start[j]] = drho @ dmu2
            a21[k, var_col[i]] = drho @ dv1
            a21[k, var_col[j]] = drho @ dv2
            h21[k, var_col[i]] = s2 * r / (2 * s1)
            h21[k, var_col[j]] = s1 * r / (2 * s2)
            h22[k] = s1 * s2
        else:
            num, ordn = (i, j) if not ordv[i] else (j, i)
            y, c = yraw[:, num], codes[:, ordn]
            ok = ~np.isnan(y) & (c >= 0)
            r, cv = _polyserial(y[ok], means[num], variances[num], c[ok], th[ordn])
            cor[i, j] = cor[j, i] = r
            if not cv:
                warn.append(f"the polyserial correlation of {names[j]} and {names[i]} did not "
                            f"converge")
            drho, dmu, dvar, dth = _polyserial_scores(y[ok], means[num], variances[num], c[ok],
                                                      th[ordn], r)
            sc_cor[ok, k] = drho
            a21[k, start[num]] = drho @ dmu
            a21[k, start[ordn]:start[ordn + 1]] = drho @ dth
            a21[k, var_col[num]] = drho @ dvar
            s1 = math.sqrt(variances[num])
            h21[k, var_col[num]] = r / (2 * s1)
            h22[k] = s1
        if abs(cor[i, j]) > 0.99:
            warn.append(f"the correlation of {names[i]} and {names[j]} is (nearly) 1.0")
    if blocked:
        inner, a22 = _blocked_score_sums(codes, th, start, pairs, dx_tabs, a11n + npair, nth)
    else:
        inner = sc.T @ sc
        a22 = np.einsum("ij,ij->j", sc_cor, sc_cor)
    a11_inv = np.zeros((a11n, a11n))
    for j in range(p):
        idx = list(range(start[j], start[j + 1])) + ([var_col[j]] if j in var_col else [])
        blk = inner[np.ix_(idx, idx)]
        try:
            a11_inv[np.ix_(idx, idx)] = np.linalg.inv(blk)
        except np.linalg.LinAlgError:
            a11_inv[np.ix_(idx, idx)] = np.linalg.pinv(blk)
            warn.append("trouble constructing the weight matrix; generalized inverse used for A11")
    del sc, sc_th, sc_var, sc_cor       # the n x m scores are not needed any more
    if (a22 == 0).any():
        warn.append("trouble constructing the weight matrix; generalized inverse used for A22")
    a22_inv = np.where(a22 == 0, 0.0, 1.0 / np.where(a22 == 0, 1.0, a22))
    m = a11n + npair
    b_inv = np.zeros((m, m))
    b_inv[:a11n, :a11n] = a11_inv
    b_inv[a11n:, :a11n] = -a22_inv[:, None] * (a21 @ a11_inv)
    b_inv[a11n:, a11n:] = np.diag(a22_inv)
    w = b_inv @ inner @ b_inv.T
    if nnum:
        h = np.eye(m)
        h[a11n:, :a11n] = h21
        h[a11n:, a11n:] = np.diag(h22)
        w = h @ w @ h.T
    flip = np.ones(m)
    flip[start[num_idx]] = -1.0
    gamma = nobs * (w * np.outer(flip, flip))
    gamma = (gamma + gamma.T) / 2
    if not np.isfinite(gamma).all():
        warn.append("the asymptotic covariance matrix (Gamma) has non-finite entries -- a "
                    "correlation of +-1 (e.g. a 2 x 2 table with two empty cells); WLSMV "
                    "standard errors and tests cannot be computed from these data")
    d = np.diag(gamma)
    sds = np.sqrt(variances)
    cov = cor * np.outer(sds, sds)
    thr = np.concatenate(th)
    thr_obs = thr * flip[:nth]
    cor_vech = cor[pairs[:, 0], pairs[:, 1]]
    cov_vech = cov[pairs[:, 0], pairs[:, 1]]
    present = ((codes >= 0) | ~np.isnan(yraw)).astype(float)
    with np.errstate(divide="ignore"):
        wv = np.where(d > 0, 1.0 / d, 0.0)
    return OrdinalGroupStats(
        group=group, nobs=int(nobs), columns=list(names), types=list(types),
        levels=[None if lv is None else [_py(v) for v in lv] for lv in levels],
        n_categories=ncat, thresholds=thr_obs, threshold_names=th_names,
        th_idx=np.array(th_idx), means=means, variances=variances, cor=cor, cov=cov,
        cor_vech=cor_vech, wls_obs=np.concatenate([thr_obs, variances[num_idx], cov_vech]),
        gamma=gamma, wls_v_diag=wv, n_pairs=(present.T @ present).astype(int),
        zero_cell_tables=zero_tables, warnings=warn)


@single_blas_thread
def ordinal_sample_stats(data: pd.DataFrame, ordered_columns: Sequence,
                         continuous_columns: Sequence = (), group: str | None = None,
                         missing: str = "listwise", order: Sequence | None = None,
                         max_categories: int = MAX_CATEGORIES) -> OrdinalStats:
    """Sample statistics for WLSMV / DWLS / ULSMV estimation from ordinal (and continuous) items.

    Returns an :class:`OrdinalStats` with, per group (:class:`OrdinalGroupStats`),
    the thresholds (variable by variable, t1..tk), the polychoric (polyserial,
    Pearson) correlations (``cor``; ``cor_vech``: below the diagonal, column by
    column), ``wls_obs`` (lavaan's ``WLS.obs``: thresholds -- minus the mean for
    a continuous variable --, the continuous variables' variances, then the
    vech of ``cov``, the correlations rescaled by the continuous variables'
    standard deviations) and its asymptotic covariance matrix ``gamma`` (N x the
    sandwich A^-1 B A^-T of Muthen (1984), built from the case-wise scores of
    the univariate and bivariate likelihoods, rescaled from correlations to
    covariances for continuous variables), and ``wls_v_diag = 1 / diag(gamma)``,
    the DWLS weights.  With ordered variables only, ``wls_obs`` is
    ``[thresholds, cor_vech]``.  This reproduces lavaan 0.6-14 (``muthen1984``,
    ``lav_samplestats_step1/step2``, polyserial correlations by
    ``lav_bvmix_cor_twostep_fit``; ``lavInspect(fit, "sampstat")``,
    ``"wls.obs"``, ``"gamma"``, ``"wls.v"`` of a ``cfa(..., ordered = ...,
    estimator = "WLSMV")`` fit without covariates).

    Variables come in the order ``order`` (lavaan: the order of the observed
    variables in the model), by default ``ordered_columns`` then
    ``continuous_columns``.  ``group``: column whose values define the groups,
    in order of first appearance (rows with a missing group are dropped).
    Categories of each ordered variable are its observed values over all
    groups; a category that is empty in one group raises
    :class:`OrdinalDataError` (lavaan stops likewise), as does a variable with
    one category or more than ``max_categories``.  ``missing``: ``"listwise"``
    (lavaan's default for ordered data: a case missing any of the variables is
    dropped) or ``"pairwise"`` (cases missing every variable are dropped;
    univariate statistics use each variable's available cases, correlations
    each pair's complete cases, missing scores count as 0, as lavaan).
    """
    if missing not in ("listwise", "pairwise"):
        raise OrdinalDataError(f"missing must be 'listwise' or 'pairwise', got {missing!r}")
    if not isinstance(data, pd.DataFrame):
        raise OrdinalDataError("data must be a pandas DataFrame")
    src = _source(data)
    ordered = [str(c) for c in ordered_columns]
    cont = [str(c) for c in continuous_columns]
    both = set(ordered) & set(cont)
    if both:
        raise OrdinalDataError(f"{src}: column(s) {sorted(both)} declared both ordered and continuous")
    cols = list(order) if order is not None else ordered + cont
    if sorted(map(str, cols)) != sorted(ordered + cont):
        raise OrdinalDataError(f"{src}: order {list(cols)} must list exactly the ordered and "
                               f"continuous columns")
    if not ordered:
        raise OrdinalDataError(f"{src}: no ordered variables; WLSMV sample statistics need at "
                               f"least one")
    if len(cols) < 2:
        raise OrdinalDataError(f"{src}: WLSMV needs at least two variables, got {cols}")
    if group is not None and group not in data.columns:
        raise OrdinalDataError(f"{src}: group column {group!r} not found in the data")
    df = _numeric(_as_frame(data, cols), src)
    gcol = None
    if group is not None:
        gcol = data[group]
        keep = gcol.notna().to_numpy()
        df, gcol = df[keep], gcol[keep]
    types = ["ordered" if c in ordered else "numeric" for c in map(str, cols)]
    ord_pos = [k for k, t in enumerate(types) if t == "ordered"]
    lv_ord = _check_categories(df.iloc[:, ord_pos], src, max_categories)
    levels: list = [None] * len(cols)
    for k, lv in zip(ord_pos, lv_ord):
        levels[k] = lv
    yraw_all = df.to_numpy(float)
    codes_all = np.full(yraw_all.shape, -1, dtype=np.int64)
    codes_all[:, ord_pos] = _codes(df.iloc[:, ord_pos], lv_ord)
    names = [str(c) for c in cols]
    if gcol is None:
        labels, members = [None], [np.ones(len(df), bool)]
    else:
        uniq = pd.unique(gcol)
        labels = [_py(g) for g in uniq]
        gv = gcol.to_numpy()
        members = [gv == g for g in uniq]
    out = []
    seen = ~np.isnan(yraw_all)
    usable = seen.all(axis=1) if missing == "listwise" else seen.any(axis=1)
    del seen
    for lab, m in zip(labels, members):
        sel = m & usable        # the group's usable rows, taken in one copy
        c, y = codes_all[sel], yraw_all[sel]
        if c.shape[0] < 2:
            where = "" if lab is None else f" in group {lab!r}"
            raise OrdinalDataError(f"{src}: fewer than two usable cases{where} "
                                   f"({missing} deletion)")
        out.append(_group_stats(c, y, types, levels, names, lab, src))
    warn = [w if g.group is None else f"group {g.group!r}: {w}" for g in out for w in g.warnings]
    for w in warn:
        warnings.warn(w, PsychometricsWarning, stacklevel=2)
    return OrdinalStats(groups=out, group_labels=labels, columns=names, missing=missing,
                        warnings=warn)
