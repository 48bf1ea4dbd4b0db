"""Dimensionality and exploratory factor analysis (EFA).

Public functions (all pure; each returns a result dataclass with ``to_dict()``
and ``to_frame()``):

* :func:`kmo` -- Kaiser-Meyer-Olkin sampling adequacy, overall and per item
  (Kaiser 1970, 1974; ``psych::KMO``).
* :func:`bartlett` -- Bartlett's (1951) test of sphericity
  (``psych::cortest.bartlett``).
* :func:`parallel_analysis` -- Horn's (1965) parallel analysis for components
  and factors, simulated normal or resampled data (``psych::fa.parallel``).
* :func:`map_test` -- Velicer's (1976) minimum average partial test and its
  fourth-power revision (Velicer, Eaton & Fava 2000); the squared version is
  ``psych::VSS``'s ``map``.
* :func:`dimensionality` -- every retention criterion side by side.
* :func:`efa` -- extraction (minres, ML, principal axis) and rotation
  (oblimin, quartimin, geomin, promax, varimax, ...) following ``psych::fa``
  with GPArotation (Bernaards & Jennrich 2005) rotations.
* :func:`split_half_validation` -- EFA on one random half (stratified by a
  group column), the matching CFA on the other half.

Missing data: like psych, correlations are *pairwise complete* by default
(``use = "pairwise"``); ``missing="listwise"`` uses complete cases only.
A correlation matrix that is not positive definite is smoothed as
``psych::cor.smooth`` does (eigenvalues below 1e-12 set to 1e-10, rescaled,
back to a correlation matrix) and the smoothing is reported in ``warnings``.
"""
from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._results import jsonable
from ._validate import numeric_items
from .errors import CellProblem, DataError, ModelError, PsychometricsError, PsychometricsWarning

__all__ = ["kmo", "bartlett", "parallel_analysis", "map_test", "efa", "dimensionality",
           "split_half_validation", "correlation_matrix", "scree_criteria",
           "KMOResult", "BartlettResult", "ParallelAnalysisResult", "MAPResult", "EFAResult",
           "DimensionalityResult", "SplitHalfResult"]

_EPS = np.finfo(float).eps
_SOURCE = "<items>"

EXTRACTION_METHODS = ("minres", "ml", "pa")
ROTATIONS = ("none", "oblimin", "quartimin", "geomin", "geominQ", "geominT", "promax", "varimax")
_OBLIQUE = {"oblimin", "quartimin", "geomin", "geominQ", "promax"}
_PREFIX = {"minres": "MR", "ml": "ML", "pa": "PA"}


# --------------------------------------------------------------------------- input handling

def _warn(record: list, text: str) -> None:
    record.append(text)
    _warnings.warn(text, PsychometricsWarning, stacklevel=3)


def _items_frame(items: Any, source: str = _SOURCE, min_items: int = 2) -> pd.DataFrame:
    """Validate ``items`` (DataFrame or 2-D array) and return a float DataFrame.

    Raises :class:`DataError` naming row, column and value for non-numeric
    cells, and for columns that are empty or constant.
    """
    if isinstance(items, pd.DataFrame):
        df = items.copy()
    elif isinstance(items, np.ndarray) and items.ndim == 2:
        df = pd.DataFrame(items, columns=[f"V{i + 1}" for i in range(items.shape[1])])
    else:
        raise DataError(f"{source}: expected a pandas DataFrame (cases x items) or a 2-D array, "
                        f"got {type(items).__name__}")
    df.columns = [str(c) for c in df.columns]
    if df.shape[1] < min_items:
        raise DataError(f"{source}: at least {min_items} item columns are needed, got {df.shape[1]} "
                        f"({', '.join(df.columns) or 'none'})")
    if df.shape[0] < 3:
        raise DataError(f"{source}: at least 3 rows (cases) are needed, got {df.shape[0]}")
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise DataError(f"{source}: duplicated item column(s): {', '.join(map(str, dup))}")
    return numeric_items(df, source, min_nonmissing=3)


def _pairwise_cor(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations from pairwise-complete cases (R's ``cor(use="pairwise")``).

    Returns (R, n_pairs).  Works for one matrix (n x p) or a stack (B x n x p); the pairwise
    sums come from two matrix products, x'[x, m] and [x^2, m]'m (m: observed indicator).
    """
    p = x.shape[-1]
    m = ~np.isnan(x)
    xz = np.where(m, x, 0.0)
    mf = m.astype(float)
    with np.errstate(over="ignore", invalid="ignore"):   # absurd values end as non-finite r
        if x.ndim == 2:
            a = xz.T @ np.concatenate([xz, mf], axis=1)
            b = np.concatenate([xz * xz, mf], axis=1).T @ mf
        else:   # one 2-D product per matrix: faster than numpy's stacked matmul here
            a = np.stack([xz[k].T @ np.concatenate([xz[k], mf[k]], axis=1) for k in range(len(x))])
            b = np.stack([np.concatenate([xz[k] * xz[k], mf[k]], axis=1).T @ mf[k]
                          for k in range(len(x))])
    sxy = a[..., :, :p]
    sx = a[..., :, p:]                           # sum of x_i over rows where j observed
    sxx = b[..., :p, :]
    n = b[..., p:, :]
    sw = np.swapaxes
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mi = sx / n                              # mean of i on the pair (i, j)
        mj = sw(sx, -1, -2) / n
        cov = sxy - n * mi * mj
        vi = sxx - n * mi * mi
        vj = sw(vi, -1, -2)
        r = cov / np.sqrt(vi * vj)
    idx = np.arange(p)
    r[..., idx, idx] = 1.0
    return r, np.array(n)


def _complete_cor(x: np.ndarray) -> np.ndarray:
    """Pearson correlations of complete data; one matrix or a stack (B x n x p)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        xc = x - x.mean(axis=-2, keepdims=True)
        c = np.ascontiguousarray(np.swapaxes(xc, -1, -2)) @ xc
        d = np.sqrt(np.diagonal(c, axis1=-2, axis2=-1))
        r = c / (d[..., :, None] * d[..., None, :])
    p = x.shape[-1]
    r[..., np.arange(p), np.arange(p)] = 1.0
    return r


def _smooth(r: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """psych::cor.smooth: lift eigenvalues below ``tol`` to 100*tol, rescale, cov2cor."""
    vals, vecs = np.linalg.eigh(r)
    vals = np.where(vals < tol, 100 * tol, vals)
    vals = vals * r.shape[0] / vals.sum()
    s = (vecs * vals) @ vecs.T
    d = np.sqrt(np.diag(s))
    s = s / np.outer(d, d)
    np.fill_diagonal(s, 1.0)
    return s


@dataclass
class _Cor:
    r: np.ndarray
    names: list
    n_obs: int            # rows (as psych's n.obs)
    n_complete: int
    n_pairs: np.ndarray
    smoothed: bool
    warnings: list


def correlation_matrix(items: Any, missing: str = "pairwise", smooth: bool = True) -> pd.DataFrame:
    """Pearson correlation matrix used by every EFA function (pairwise complete by default).

    Returns a DataFrame; matches R's ``cor(x, use = "pairwise")`` (psych's default).
    """
    c = _correlate(items, missing=missing, smooth=smooth, record=[])
    return pd.DataFrame(c.r, index=c.names, columns=c.names)


def _correlate(items: Any, missing: str = "pairwise", smooth: bool = True,
               record: list | None = None, source: str = _SOURCE) -> _Cor:
    record = [] if record is None else record
    if missing not in ("pairwise", "listwise"):
        raise PsychometricsError(f"missing must be 'pairwise' or 'listwise', got {missing!r}")
    df = _items_frame(items, source)
    x = df.to_numpy(dtype=float)
    complete = ~np.isnan(x).any(axis=1)
    n_complete = int(complete.sum())
    if missing == "listwise":
        if n_complete < 3:
            raise DataError(f"{source}: only {n_complete} complete case(s); listwise deletion needs at least 3")
        x = x[complete]
        r = _complete_cor(x)
        npairs = np.full(r.shape, float(x.shape[0]))
    else:
        r, npairs = _pairwise_cor(x)
    names = list(df.columns)
    if not np.all(np.isfinite(r)):
        bad = np.argwhere(~np.isfinite(r))
        i, j = bad[0]
        raise DataError(f"{source}: the correlation of {names[i]!r} and {names[j]!r} cannot be computed "
                        f"({int(npairs[i, j])} case(s) answered both, or no variance among them)",
                        [CellProblem(source, "pairwise", f"{names[i]} x {names[j]}", int(npairs[i, j]),
                                     "too few jointly observed cases")])
    r = (r + r.T) / 2
    smoothed = False
    minev = float(np.linalg.eigvalsh(r)[0])
    # psych tests min eigenvalue < .Machine$double.eps; a computed eigenvalue of an exactly
    # singular matrix can come out a little above it, so psych's eig.tol (1e-12) is used here
    if minev < 1e-12:
        if smooth:
            r = _smooth(r)
            smoothed = True
            _warn(record, f"The correlation matrix is not positive definite (smallest eigenvalue "
                          f"{minev:.3g}); it was smoothed as psych::cor.smooth does.")
        else:
            _warn(record, f"The correlation matrix is not positive definite (smallest eigenvalue {minev:.3g}).")
    n_obs = int(df.shape[0]) if missing == "pairwise" else n_complete
    return _Cor(r=r, names=names, n_obs=n_obs, n_complete=n_complete, n_pairs=npairs,
                smoothed=smoothed, warnings=record)


def _check_cases(c: _Cor, record: list) -> None:
    p = len(c.names)
    n = int(np.min(c.n_pairs))
    if n < 5 * p or n < 100:
        _warn(record, f"Few cases for a factor analysis: {n} (smallest pairwise count) for {p} items "
                      f"({n / p:.1f} per item; at least 5 per item and 100 in all are usually advised).")


def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations, 1 - 1/diag(R^-1), clipped to [0, 1] (psych::smc)."""
    try:
        inv = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(r)
    s = 1 - 1 / np.diag(inv)
    return np.clip(s, 0.0, 1.0)


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


def kmo(items: Any, missing: str = "pairwise") -> KMOResult:
    """Kaiser-Meyer-Olkin sampling adequacy (Kaiser 1970; Kaiser & Rice 1974).

    Returns a :class:`KMOResult`: overall MSA = sum r^2 / (sum r^2 + sum q^2)
    over off-diagonal correlations r and anti-image (partial) correlations q,
    and the same per item.  Reproduces ``psych::KMO`` (pairwise correlations).
    """
    rec: list = []
    c = _correlate(items, missing=missing, record=rec)
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


def bartlett(items: Any, missing: str = "pairwise", n_obs: int | None = None) -> BartlettResult:
    """Bartlett's (1951) test that the correlation matrix is an identity matrix.

    chi2 = -ln|R| (n - 1 - (2p + 5)/6), df = p(p - 1)/2.  Returns a
    :class:`BartlettResult`.  As ``psych::cortest.bartlett`` does with raw data,
    ``n`` is the number of rows (cases with some missing values included) unless
    ``n_obs`` is given; R is the pairwise correlation matrix.
    """
    rec: list = []
    c = _correlate(items, missing=missing, record=rec)
    n = c.n_obs if n_obs is None else int(n_obs)
    p = len(c.names)
    sign, logdet = np.linalg.slogdet(c.r)
    chisq = float(-logdet * (n - 1 - (2 * p + 5) / 6))
    df = p * (p - 1) // 2
    from scipy.special import chdtrc

    return BartlettResult(chisq=chisq, df=df, p_value=float(chdtrc(df, chisq)), n_obs=n,
                          warnings=rec)


# --------------------------------------------------------------------------- extraction

@dataclass
class _Extraction:
    loadings: np.ndarray
    psi: np.ndarray | None
    converged: bool
    iterations: int
    objective: float
    message: str


def _top_loadings(s: np.ndarray, nf: int) -> np.ndarray:
    vals, vecs = np.linalg.eigh(s)
    vals, vecs = vals[::-1][:nf], vecs[:, ::-1][:, :nf]
    return vecs * np.sqrt(np.maximum(vals, 0.0))


def _lbfgsb_converged(res, lower: float, upper: float, tol: float = 1e-6) -> bool:
    """L-BFGS-B with a tight ftol often ends with 'ABNORMAL' at machine precision; judge
    convergence by the projected gradient instead."""
    if res.success:
        return True
    x, g = res.x, np.asarray(res.jac, dtype=float)
    pg = np.where((x <= lower + 1e-10) & (g > 0), 0.0, g)
    pg = np.where((x >= upper - 1e-10) & (pg < 0), 0.0, pg)
    return bool(np.all(np.isfinite(pg)) and np.max(np.abs(pg)) < tol)


def _minres(r: np.ndarray, nf: int, lower: float = 0.005, ftol: float = 1e-15,
            gtol: float = 1e-10) -> _Extraction:
    """Minimum residual (unweighted least squares) extraction as ``psych::fa(fm="minres")``.

    psych minimises the off-diagonal residuals over the uniquenesses (optim,
    L-BFGS-B, bounds [.005, max(smc, 1)], start 1 - smc) with the ULS gradient;
    its optimum is the ULS optimum.  Here the concentrated ULS function
    0.5 * sum_{k > nf} lambda_k(R - Psi)^2 is minimised with its exact gradient
    -diag(R - Psi - L L') under the same bounds, to a tight tolerance.
    """
    from scipy import optimize

    p = r.shape[0]
    upper = max(1.0, float(_smc(r).max()))
    start = np.clip(np.diag(r) - _smc(r), lower, upper)

    def fg(psi):
        s = r - np.diag(psi)
        vals, vecs = np.linalg.eigh(s)
        lam = vals[: p - nf]                      # the p - nf smallest eigenvalues
        v = vecs[:, : p - nf]
        f = 0.5 * float(lam @ lam)
        g = -(v * v) @ lam
        return f, g

    res = optimize.minimize(fg, start, jac=True, method="L-BFGS-B", bounds=[(lower, upper)] * p,
                            options={"ftol": ftol, "gtol": gtol, "maxiter": 5000, "maxcor": 20})
    psi = res.x
    L = _top_loadings(r - np.diag(psi), nf)
    return _Extraction(L, psi, _lbfgsb_converged(res, lower, upper), int(res.nit), float(res.fun),
                       str(res.message))


def _ml(r: np.ndarray, nf: int, lower: float = 0.005) -> _Extraction:
    """Maximum likelihood extraction as ``psych::fa(fm="ml")`` (Joreskog 1967 concentrated ML).

    Minimises F(Psi) = -sum_{k > nf} (ln e_k - e_k) - nf + p over the
    uniquenesses, e the eigenvalues of Psi^-1/2 R Psi^-1/2, bounds
    [.005, max(smc, 1)], start 1 - smc; loadings Psi^1/2 V (E - I)^1/2.
    """
    from scipy import optimize

    p = r.shape[0]
    upper = max(1.0, float(_smc(r).max()))
    start = np.clip(np.diag(r) - _smc(r), lower, upper)

    def parts(psi):
        sc = 1 / np.sqrt(psi)
        sstar = r * np.outer(sc, sc)
        vals, vecs = np.linalg.eigh(sstar)
        return vals[::-1], vecs[:, ::-1]

    def fg(psi):
        vals, vecs = parts(psi)
        e = vals[nf:]
        f = -(float(np.sum(np.log(e) - e)) - nf + p)
        load = vecs[:, :nf] * np.sqrt(np.maximum(vals[:nf] - 1, 0.0))
        load = np.sqrt(psi)[:, None] * load
        g = (np.sum(load * load, axis=1) + psi - np.diag(r)) / psi ** 2
        return f, g

    res = optimize.minimize(fg, start, jac=True, method="L-BFGS-B", bounds=[(lower, upper)] * p,
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000, "maxcor": 20})
    psi = res.x
    vals, vecs = parts(psi)
    L = np.sqrt(psi)[:, None] * (vecs[:, :nf] * np.sqrt(np.maximum(vals[:nf] - 1, 0.0)))
    return _Extraction(L, psi, _lbfgsb_converged(res, lower, upper), int(res.nit), float(res.fun),
                       str(res.message))


def _pa(r: np.ndarray, nf: int, min_err: float = 0.001, max_iter: int = 50) -> _Extraction:
    """Iterated principal axis as ``psych::fa(fm="pa")``: SMC start, stop when the sum of
    communalities changes by less than ``min_err`` or after ``max_iter`` iterations."""
    s = r.copy()
    np.fill_diagonal(s, _smc(r))
    comm = float(np.trace(s))
    err, it = comm, 0
    L = None
    converged = True
    while err > min_err:
        L = _top_loadings(s, nf)
        new = np.sum(L * L, axis=1)
        comm1 = float(new.sum())
        np.fill_diagonal(s, new)
        err = abs(comm - comm1)
        comm = comm1
        it += 1
        if it >= max_iter:
            converged = err <= min_err
            break
    return _Extraction(L, None, converged, it, float(err),
                       "converged" if converged else f"maximum of {max_iter} iterations reached")


# --------------------------------------------------------------------------- rotation

def _vgq_oblimin(L: np.ndarray, gam: float = 0.0):
    k = L.shape[1]
    X = (L * L) @ (1 - np.eye(k))
    if gam != 0:
        p = L.shape[0]
        X = (np.eye(p) - gam / p) @ X
    return L * X, float(np.sum(L * L * X) / 4)


def _vgq_geomin(L: np.ndarray, delta: float = 0.01):
    k = L.shape[1]
    L2 = L * L + delta
    pro = np.exp(np.sum(np.log(L2), axis=1) / k)
    return (2 / k) * (L / L2) * pro[:, None], float(pro.sum())


def _gpf_oblq(A: np.ndarray, vgq, eps: float = 1e-5, maxit: int = 1000):
    """Oblique gradient projection (Jennrich 2002; GPArotation::GPFoblq, same steps and stopping)."""
    k = A.shape[1]
    T = np.eye(k)
    al = 1.0
    L = A @ np.linalg.inv(T).T
    Gq, f = vgq(L)
    G = -(L.T @ Gq @ np.linalg.inv(T)).T
    s = np.inf
    it = 0
    for it in range(maxit + 1):
        Gp = G - T * np.sum(T * G, axis=0)[None, :]
        s = math.sqrt(float(np.sum(Gp * Gp)))
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            X = T - al * Gp
            Tt = X / np.sqrt(np.sum(X * X, axis=0))[None, :]
            L = A @ np.linalg.inv(Tt).T
            Gqt, ft = vgq(L)
            if f - ft > 0.5 * s * s * al:
                break
            al /= 2
        T, f = Tt, ft
        G = -(L.T @ Gqt @ np.linalg.inv(Tt)).T
    return L, T.T @ T, T, bool(s < eps), it


def _gpf_orth(A: np.ndarray, vgq, eps: float = 1e-5, maxit: int = 1000):
    """Orthogonal gradient projection (GPArotation::GPForth, same steps and stopping)."""
    k = A.shape[1]
    T = np.eye(k)
    al = 1.0
    L = A @ T
    Gq, f = vgq(L)
    G = A.T @ Gq
    s = np.inf
    it = 0
    for it in range(maxit + 1):
        M = T.T @ G
        S = (M + M.T) / 2
        Gp = G - T @ S
        s = math.sqrt(float(np.sum(Gp * Gp)))
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            X = T - al * Gp
            u, _d, vt = np.linalg.svd(X)
            Tt = u @ vt
            L = A @ Tt
            Gqt, ft = vgq(L)
            if ft < f - 0.5 * s * s * al:
                break
            al /= 2
        T, f = Tt, ft
        G = A.T @ Gqt
    return L, T, bool(s < eps), it


def _varimax(x: np.ndarray, normalize: bool = True, eps: float = 1e-5):
    """Kaiser's varimax exactly as R's ``stats::varimax`` (row normalisation, its stopping rule)."""
    p, k = x.shape
    sc = np.sqrt(np.sum(x * x, axis=1)) if normalize else np.ones(p)
    x = x / sc[:, None]
    TT = np.eye(k)
    d = 0.0
    converged = False
    it = 0
    for it in range(1, 1001):
        z = x @ TT
        B = x.T @ (z ** 3 - z * (np.sum(z * z, axis=0) / p)[None, :])
        u, sv, vt = np.linalg.svd(B)
        TT = u @ vt
        dpast, d = d, float(sv.sum())
        if d < dpast * (1 + eps):
            converged = True
            break
    z = (x @ TT) * sc[:, None]
    return z, TT, converged, it


def _promax(L: np.ndarray, m: float = 4):
    """psych's promax: Kaiser-normalised rows, varimax, target x|x|^(m-1), column-rescaled
    least-squares transformation (``psych::kaiser(..., rotate="Promax")``, Hendrickson & White 1964)."""
    h2 = np.sum(L * L, axis=1)
    x = L / np.sqrt(h2)[:, None]
    xv, rot, conv, it = _varimax(x)
    Q = xv * np.abs(xv) ** (m - 1)
    U = np.linalg.lstsq(xv, Q, rcond=None)[0]
    d = np.diag(np.linalg.inv(U.T @ U))
    U = U * np.sqrt(d)[None, :]
    z = xv @ U
    U = rot @ U
    ui = np.linalg.inv(U)
    phi = ui @ ui.T
    return z * np.sqrt(h2)[:, None], phi, conv, it


def _rotate(L: np.ndarray, rotation: str, record: list):
    """Return (rotated loadings, Phi or None)."""
    k = L.shape[1]
    if rotation == "none" or k < 2:
        return L, None
    if rotation == "varimax":
        z, _T, conv, it = _varimax(L)
        phi = None
    elif rotation == "promax":
        z, phi, conv, it = _promax(L)
    elif rotation in ("oblimin", "quartimin"):
        z, phi, _T, conv, it = _gpf_oblq(L, _vgq_oblimin)
    elif rotation in ("geomin", "geominQ"):
        z, phi, _T, conv, it = _gpf_oblq(L, _vgq_geomin)
    elif rotation == "geominT":
        z, _T, conv, it = _gpf_orth(L, _vgq_geomin)
        phi = None
    else:  # pragma: no cover - validated earlier
        raise PsychometricsError(f"unknown rotation {rotation!r}")
    if not conv:
        _warn(record, f"The {rotation} rotation did not converge in {it} iterations.")
    return z, phi


# --------------------------------------------------------------------------- EFA

@dataclass
class EFAResult:
    """Result of :func:`efa`.

    ``loadings``: pattern loadings (items x factors DataFrame; factors ordered
    by variance accounted for, largest first, each signed so that its loadings
    sum to a positive number -- as psych does); ``structure``: structure
    loadings (pattern @ Phi; equal to the pattern for orthogonal solutions);
    ``phi``: factor correlations (DataFrame; identity for orthogonal or
    unrotated solutions); ``communalities`` (h2) and ``uniquenesses`` (u2 = 1 - h2)
    as Series; ``variance``: psych's ``Vaccounted`` table (SS loadings,
    Proportion Var, Cumulative Var, Proportion Explained, Cumulative
    Proportion); ``eigenvalues``: of the correlation matrix; ``common_eigenvalues``:
    of the reduced matrix (communalities on the diagonal, psych's ``values``);
    ``correlation``: the correlation matrix analysed; ``warnings``: numerical
    trouble (Heywood cases, non-convergence, smoothing, few cases); ``fit``: psych's
    goodness-of-fit statistics (chi-square, TLI, RMSEA with 90% interval, BIC, RMSR; see
    :func:`_fit_statistics`).
    """

    loadings: pd.DataFrame
    structure: pd.DataFrame
    phi: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    variance: pd.DataFrame
    eigenvalues: np.ndarray
    common_eigenvalues: np.ndarray
    correlation: pd.DataFrame
    n_factors: int
    method: str
    rotation: str
    oblique: bool
    n_obs: int
    missing: str
    converged: bool
    iterations: int
    objective: float
    fit: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def complexity(self) -> pd.Series:
        """Hofmann's (1978) item complexity (sum a^2)^2 / sum a^4, as psych's ``com``."""
        a2 = self.loadings.to_numpy() ** 2
        return pd.Series(a2.sum(1) ** 2 / np.sum(a2 * a2, axis=1), index=self.loadings.index, name="com")

    def loading_table(self, cut: float = 0.3, cross: float = 0.32, sort: bool = True) -> pd.DataFrame:
        """Pattern loadings for reporting, as ``print(fa, cut=, sort=TRUE)`` shows them.

        Loadings with |a| < ``cut`` become NaN (blank in reports).  Columns: the
        factors, then ``h2``, ``u2``, ``com``, ``factor`` (the item's main
        factor), ``cross_loading`` (True when two or more |loadings| >= ``cross``,
        .32 after Tabachnick & Fidell) and ``no_salient`` (no |loading| >= cut).
        Sorted (psych's ``fa.sort``) by main factor, then by |loading| within it.
        """
        L = self.loadings
        a = L.to_numpy()
        absa = np.abs(a)
        main = absa.argmax(axis=1)
        tab = L.where(np.abs(L) >= cut)
        tab["h2"] = self.communalities
        tab["u2"] = self.uniquenesses
        tab["com"] = self.complexity
        tab["factor"] = [L.columns[j] for j in main]
        tab["cross_loading"] = (absa >= cross).sum(axis=1) >= 2
        tab["no_salient"] = absa.max(axis=1) < cut
        if sort:
            order = sorted(range(len(a)), key=lambda i: (main[i], -absa[i, main[i]]))
            tab = tab.iloc[order]
        return tab

    def to_frame(self) -> pd.DataFrame:
        """Loadings (unsuppressed) with h2, u2 and com."""
        out = self.loadings.copy()
        out["h2"] = self.communalities
        out["u2"] = self.uniquenesses
        out["com"] = self.complexity
        return out

    def to_dict(self) -> dict:
        return jsonable({
            "n_factors": self.n_factors, "method": self.method, "rotation": self.rotation,
            "oblique": self.oblique, "n_obs": self.n_obs, "missing": self.missing,
            "loadings": self.loadings, "structure": self.structure, "phi": self.phi,
            "communalities": self.communalities, "uniquenesses": self.uniquenesses,
            "variance": self.variance, "eigenvalues": self.eigenvalues,
            "common_eigenvalues": self.common_eigenvalues, "converged": self.converged,
            "iterations": self.iterations, "objective": self.objective, "fit": self.fit,
            "warnings": self.warnings})

    def summary(self) -> str:
        v = self.variance
        return (f"EFA {self.method}/{self.rotation}, {self.n_factors} factor(s), n = {self.n_obs}: "
                f"cumulative variance {v.loc['Cumulative Var'].iloc[-1]:.2f}"
                + (f"; {len(self.warnings)} warning(s)" if self.warnings else ""))


def _fit_statistics(r: np.ndarray, L: np.ndarray, phi: np.ndarray, n_obs: int,
                    n_pairs: np.ndarray | None, alpha: float = 0.1) -> dict:
    """Goodness of fit of an EFA solution as ``psych::fa`` reports it (psych's ``fa.stats``).

    Keys (psych's names in brackets): ``dof``; ``objective`` (ML discrepancy of the model
    R^-1 R, after smoothing); ``chisq`` [STATISTIC] = objective * (n - 1 - (2p + 5)/6 - 2k/3)
    with its ``pvalue`` [PVAL]; ``null_chisq``, ``null_dof``; ``tli`` [TLI]; ``rmsea`` with its
    ``1 - alpha`` interval ``rmsea_lower`` / ``rmsea_upper``; ``bic`` [BIC], ``sabic`` [SABIC];
    ``rms`` (root mean square off-diagonal residual) and ``crms`` (corrected for df); ``fit``,
    ``fit_off``; the empirical chi-square ``echisq`` [chi] with ``epvalue`` [EPVAL] and ``ebic``
    [EBIC], weighted by the pairwise counts (``nh``: their harmonic mean) as psych does.
    """
    from scipy import optimize, stats

    p, k = L.shape
    model = L @ phi @ L.T
    residual = r - model
    r2 = float(np.sum(r * r))
    rstar2 = float(np.sum(residual * residual))
    dof = p * (p - 1) / 2 - p * k + k * (k - 1) / 2
    off = residual.copy()
    np.fill_diagonal(off, 0.0)
    out: dict = {"dof": dof, "n_obs": n_obs}
    if n_pairs is None:
        n_pairs = np.full(r.shape, float(n_obs))
    npo = np.asarray(n_pairs, dtype=float)
    rstar_off = float(np.sum(off ** 2 * npo))
    r2o = r * r * npo
    r2_off = float(np.sum(r2o) - np.trace(r2o))
    nh = float(len(npo.ravel()) / np.sum(1.0 / npo))
    out["nh"] = nh
    out["echisq"] = rstar_off
    out["rms"] = math.sqrt(rstar_off / (nh * p * (p - 1)))
    if dof > 0:
        out["epvalue"] = float(stats.chi2.sf(rstar_off, dof))
        out["crms"] = math.sqrt(rstar_off / (2 * nh * dof))
        out["ebic"] = rstar_off - dof * math.log(nh)
    else:
        out["epvalue"] = out["crms"] = out["ebic"] = None
    out["fit"] = 1 - rstar2 / r2
    out["fit_off"] = 1 - rstar_off / r2_off
    m = model.copy()
    np.fill_diagonal(m, np.diag(r))
    if np.linalg.eigvalsh(m)[0] < _EPS:
        m = _smooth(m)
    rs = _smooth(r) if np.linalg.eigvalsh(r)[0] < _EPS else r
    mir = np.linalg.solve(m, rs)
    sign, logdet = np.linalg.slogdet(mir)
    objective = float(np.trace(mir) - logdet - p)
    out["objective"] = objective
    nm = (n_obs - 1) - (2 * p + 5) / 6 - 2 * k / 3
    chisq = max(objective * nm, 0.0)
    out["chisq"] = chisq
    out["pvalue"] = float(stats.chi2.sf(chisq, dof)) if dof > 0 else None
    f0 = float(np.trace(rs) - np.linalg.slogdet(rs)[1] - p)
    out["null_dof"] = p * (p - 1) / 2
    out["null_chisq"] = f0 * ((n_obs - 1) - (2 * p + 5) / 6)
    mm = objective / dof if dof != 0 else np.nan
    m0 = f0 * 2 / (p * (p - 1))
    out["tli"] = (m0 - mm) / (m0 - 1 / nm)
    out["rmsea"] = out["rmsea_lower"] = out["rmsea_upper"] = out["bic"] = out["sabic"] = None
    if dof > 0:
        rmsea = math.sqrt(max(chisq / (dof * n_obs) - 1 / (n_obs - 1), 0.0))
        tail = alpha / 2
        hi = max(n_obs, chisq) + 2 * n_obs

        def ncp_for(target):
            return optimize.brentq(lambda x: stats.ncx2.cdf(chisq, dof, x) - target if x > 0
                                   else stats.chi2.cdf(chisq, dof) - target, 0.0, hi)

        upper = 0.0
        if stats.chi2.cdf(chisq, dof) > tail:
            try:
                upper = math.sqrt(ncp_for(tail) / (n_obs - 1) / dof)
            except ValueError:
                upper = 0.0 if rmsea <= 0 else None
        lower = 0.0
        if stats.chi2.cdf(chisq, dof) > 1 - tail:
            try:
                lower = math.sqrt(ncp_for(1 - tail) / (n_obs - 1) / dof)
            except ValueError:
                lower = None
        if upper is not None and upper < rmsea:
            upper = None
        if lower is not None and lower > rmsea:
            lower = None
        out.update(rmsea=rmsea, rmsea_lower=lower, rmsea_upper=upper,
                   bic=chisq - dof * math.log(n_obs), sabic=chisq - dof * math.log((n_obs + 2) / 24))
    return out


def _norm_rotation(rotation: str | None) -> str:
    rot = "none" if rotation is None else str(rotation)
    low = {r.lower(): r for r in ROTATIONS}
    if rot.lower() not in low:
        raise PsychometricsError(f"rotation {rotation!r} is not supported; choose one of {', '.join(ROTATIONS)}")
    return low[rot.lower()]


def _norm_method(method: str) -> str:
    m = str(method).lower()
    m = {"mle": "ml", "uls": "minres", "paf": "pa", "principal_axis": "pa"}.get(m, m)
    if m not in EXTRACTION_METHODS:
        raise PsychometricsError(f"method {method!r} is not supported; choose one of {', '.join(EXTRACTION_METHODS)}")
    return m


def _efa_from_cor(c: _Cor, n_factors: int, method: str, rotation: str, rec: list,
                  missing: str) -> EFAResult:
    r, names = c.r, c.names
    p = len(names)
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise PsychometricsError(f"n_factors must be a positive whole number, got {n_factors!r}")
    n_factors = int(n_factors)
    if n_factors >= p:
        raise PsychometricsError(f"n_factors = {n_factors} is too many for {p} items")
    dof = ((p - n_factors) ** 2 - (p + n_factors)) / 2
    if dof < 0:
        _warn(rec, f"{n_factors} factors for {p} items leave negative degrees of freedom ({dof:g}); "
                   "the solution is not identified.")
    if method == "minres":
        ex = _minres(r, n_factors)
    elif method == "ml":
        ex = _ml(r, n_factors)
    else:
        ex = _pa(r, n_factors)
    if not ex.converged:
        _warn(rec, f"The {method} extraction did not converge ({ex.message}).")
    L = ex.loadings
    if not np.all(np.isfinite(L)):
        raise ModelError(f"The {method} extraction produced non-finite loadings; try another method "
                         "or fewer factors.")
    sgn = np.sign(L.sum(axis=0))
    sgn[sgn == 0] = 1
    L = L * sgn
    h2 = np.sum(L * L, axis=1)
    model = L @ L.T
    common = np.linalg.eigvalsh(r - np.diag(np.diag(r)) + np.diag(np.diag(model)))[::-1]
    Lr, phi = _rotate(L, rotation, rec)
    sgn = np.sign(Lr.sum(axis=0))
    sgn[sgn == 0] = 1
    Lr = Lr * sgn
    if phi is not None:
        phi = phi * np.outer(sgn, sgn)
        ev = np.diag(phi @ Lr.T @ Lr)
    else:
        ev = np.sum(Lr * Lr, axis=0)
    order = np.argsort(-ev, kind="stable")
    Lr = Lr[:, order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]
    oblique = phi is not None
    phi_m = phi if oblique else np.eye(n_factors)
    structure = Lr @ phi_m
    fnames = [f"{_PREFIX[method]}{j + 1}" for j in range(n_factors)]
    vx = np.diag(phi_m @ Lr.T @ Lr)
    vtotal = p  # sum(communality + uniqueness) of a correlation matrix
    var = pd.DataFrame([vx, vx / vtotal, np.cumsum(vx / vtotal), vx / vx.sum(), np.cumsum(vx / vx.sum())],
                       index=["SS loadings", "Proportion Var", "Cumulative Var", "Proportion Explained",
                              "Cumulative Proportion"], columns=fnames)
    if n_factors == 1:
        var = var.iloc[:2]
    for i, name in enumerate(names):
        if h2[i] >= 1:
            _warn(rec, f"Heywood case: the communality of {name!r} is {h2[i]:.3f} (>= 1); "
                       "examine the solution carefully.")
        elif ex.psi is not None and ex.psi[i] <= 0.005 + 1e-8:
            _warn(rec, f"Heywood case: the uniqueness of {name!r} is at its lower bound .005 "
                       f"(communality {h2[i]:.3f}).")
    return EFAResult(
        loadings=pd.DataFrame(Lr, index=names, columns=fnames),
        structure=pd.DataFrame(structure, index=names, columns=fnames),
        phi=pd.DataFrame(phi_m, index=fnames, columns=fnames),
        communalities=pd.Series(h2, index=names, name="h2"),
        uniquenesses=pd.Series(1 - h2, index=names, name="u2"),
        variance=var, eigenvalues=np.linalg.eigvalsh(r)[::-1], common_eigenvalues=common,
        correlation=pd.DataFrame(r, index=names, columns=names), n_factors=n_factors,
        method=method, rotation=rotation if n_factors > 1 else "none", oblique=oblique,
        n_obs=c.n_obs, missing=missing, converged=ex.converged, iterations=ex.iterations,
        objective=ex.objective, fit=_fit_statistics(r, Lr, phi_m, c.n_obs, c.n_pairs), warnings=rec)


def efa(items: Any, n_factors: int, method: str = "minres", rotation: str = "oblimin",
        missing: str = "pairwise") -> EFAResult:
    """Exploratory factor analysis, reproducing ``psych::fa(x, nfactors, fm=, rotate=)``.

    Extraction ``method``: ``"minres"`` (minimum residual / ULS), ``"ml"``
    (maximum likelihood) or ``"pa"`` (iterated principal axis, psych's
    stopping rule).  ``rotation``: ``"oblimin"`` (GPArotation::oblimin, gamma 0,
    no Kaiser normalisation -- psych's default), ``"quartimin"``,
    ``"geomin"`` (= ``"geominQ"``, delta .01), ``"geominT"``, ``"promax"``
    (psych's Kaiser-normalised Promax, m = 4), ``"varimax"`` (stats::varimax,
    Kaiser-normalised) or ``"none"``.  Correlations are pairwise complete
    (psych's default) unless ``missing="listwise"``.

    Returns an :class:`EFAResult`; factors are ordered by variance accounted
    for and signed so that loadings sum positive, as psych does.
    References: Harman (1976) minres; Joreskog (1967) ML; Bernaards & Jennrich
    (2005) gradient projection rotations; Revelle, psych::fa.
    """
    rec: list = []
    method = _norm_method(method)
    rotation = _norm_rotation(rotation)
    c = _correlate(items, missing=missing, record=rec)
    _check_cases(c, rec)
    return _efa_from_cor(c, n_factors, method, rotation, rec, missing)



# --------------------------------------------------------------------------- parallel analysis

_H2_MAX = 0.995   # psych's bound: uniquenesses >= .005


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
        t = np.ones(len(active))
        new = la - step
        fn = fval(new, active)
        for _h in range(40):
            worse = ~(fn <= fa_)
            if not worse.any():
                break
            t[worse] /= 2
            new[worse] = la[worse] - t[worse, None] * step[worse]
            fn[worse] = fval(new[worse], active[worse])
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


def _simulate(rng, x, n, p, n_iter, data, do_fa, fa_method, batch_size):
    """Random eigenvalues for parallel analysis: (pc, fa) arrays of shape (n_iter, p)."""
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
    pc = np.concatenate(pcs)
    fa = np.concatenate(fas) if do_fa else None
    return pc, fa


def parallel_analysis(items: Any, n_iter: int = 100, seed: Any = None, kind: str = "both",
                      data: str = "normal", quantile: float = 0.95, fa_method: str = "minres",
                      missing: str = "pairwise") -> ParallelAnalysisResult:
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
    numpy's random streams differ).
    """
    rec: list = []
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
    df = _items_frame(items)
    c = _correlate(df, missing=missing, record=rec)
    x = df.to_numpy(dtype=float)
    if missing == "listwise":
        x = x[~np.isnan(x).any(axis=1)]
    n, p = x.shape
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
        pc, fa = _simulate(rng, x, n, p, n_iter, data, do_fa, fa_method, batch_size)
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


def _map_from_cor(r: np.ndarray, rec: list) -> MAPResult:
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
    table = pd.DataFrame({"map_squared": sq, "map_fourth": fo},
                         index=pd.RangeIndex(0, p, name="components"))
    return MAPResult(table=table, suggested_original=int(np.nanargmin(sq)),
                     suggested_revised=int(np.nanargmin(fo)), warnings=rec)


def map_test(items: Any, missing: str = "pairwise") -> MAPResult:
    """Velicer's (1976) MAP test and the Velicer, Eaton & Fava (2000) fourth-power revision.

    After partialling out the first m principal components of R (m = 0 ..
    p-1), the average squared (or fourth-power) partial correlation is
    computed; the m with the smallest average is suggested.  The squared
    values for m >= 1 are those of ``psych::VSS(x)$map``.  Returns a
    :class:`MAPResult`.
    """
    rec: list = []
    c = _correlate(items, missing=missing, record=rec)
    return _map_from_cor(c.r, rec)


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


def dimensionality(items: Any, seed: Any = None, n_iter: int = 100, data: str = "normal",
                   quantile: float = 0.95, missing: str = "pairwise") -> DimensionalityResult:
    """Every retention criterion side by side: Kaiser's eigenvalue > 1, parallel analysis
    (components and factors, :func:`parallel_analysis`), Velicer's MAP (original and 2000
    revision, :func:`map_test`), the non-graphical scree tests (optimal coordinates and
    acceleration factor, :func:`scree_criteria`); with KMO and Bartlett's test for the report.

    Returns a :class:`DimensionalityResult` whose ``table`` has one row per criterion.
    """
    rec: list = []
    df = _items_frame(items)
    k = kmo(df, missing=missing)
    b = bartlett(df, missing=missing)
    pa = parallel_analysis(df, n_iter=n_iter, seed=seed, kind="both", data=data, quantile=quantile,
                           missing=missing)
    c = _correlate(df, missing=missing, record=[])
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



# --------------------------------------------------------------------------- split-sample validation

@dataclass
class SplitHalfResult:
    """Split-sample validation (:func:`split_half_validation`).

    ``efa_index`` / ``cfa_index``: row labels of the two halves; ``group_counts``:
    cases per group in each half (stratification check); ``efa``: the
    :class:`EFAResult` of the first half; ``assignment``: item -> factor with
    its loading (items without a loading >= ``cut`` are listed in
    ``dropped_items``, empty when a ``model`` was given); ``model``: the lavaan syntax
    fitted to the second half;
    ``cfa``: the fitted ``pm.cfa`` object (None when the SEM engine is not
    available or the fit failed -- see ``warnings``); ``fit_measures``: its
    fit measures (dict); ``seed``: reproduces the split.
    """

    efa_index: list
    cfa_index: list
    group_counts: pd.DataFrame | None
    efa: EFAResult
    assignment: pd.DataFrame
    dropped_items: list
    model: str
    cfa: Any
    fit_measures: dict | None
    seed: Any
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.assignment

    def to_dict(self) -> dict:
        params = None
        if self.cfa is not None:
            try:
                params = self.cfa.parameters()
            except Exception:  # pragma: no cover - reported elsewhere
                params = None
        return jsonable({"efa_index": self.efa_index, "cfa_index": self.cfa_index,
                         "group_counts": self.group_counts, "efa": self.efa.to_dict(),
                         "assignment": self.assignment, "dropped_items": self.dropped_items,
                         "model": self.model, "fit_measures": self.fit_measures,
                         "cfa_parameters": params, "seed": self.seed, "warnings": self.warnings})

    def summary(self) -> str:
        s = (f"Split-sample validation: EFA on {len(self.efa_index)} cases ({self.efa.n_factors} factors), "
             f"CFA on {len(self.cfa_index)} cases")
        fm = self.fit_measures
        if fm:
            s += (f": chi2({fm.get('df'):g}) = {fm.get('chisq'):.2f}, CFI = {fm.get('cfi'):.3f}, "
                  f"RMSEA = {fm.get('rmsea'):.3f}, SRMR = {fm.get('srmr'):.3f}")
        else:
            s += ": CFA not available"
        return s


def _safe_name(name: str) -> str:
    import re
    from ._text import is_name  # Unicode names (issue 12)
    return name if is_name(name) and not name.startswith(".") else None


def split_half_validation(data: pd.DataFrame, items: Sequence[str] | None = None,
                          n_factors: int | None = None, group: str | None = None, seed: Any = None,
                          method: str = "minres", rotation: str = "oblimin", cut: float = 0.3,
                          missing: str = "pairwise", model: str | None = None,
                          estimator: str = "ML", cfa_missing: str = "listwise",
                          efa_fraction: float = 0.5, n_iter: int = 100) -> SplitHalfResult:
    """Split-sample cross-validation: EFA on one random half, the matching CFA on the other.

    The rows are split at random (``sklearn.model_selection.train_test_split``,
    ``random_state=seed``), stratified by ``group`` (e.g. gender) when given.
    The EFA (:func:`efa`) is run on the first half; when ``n_factors`` is None
    it is chosen on that half by parallel analysis (factors, 95th percentile).
    Each item is assigned to the factor of its largest absolute pattern
    loading when that loading reaches ``cut`` (others are dropped, and a
    factor left with fewer than two items is dropped); the resulting
    independent-clusters model -- or ``model`` when given -- is fitted with
    ``pm.cfa`` to the second half.  Returns a :class:`SplitHalfResult`.
    Reference: the EFA-then-CFA cross-validation practice of Fabrigar et al.
    (1999) and Worthington & Whittaker (2006).
    """
    from sklearn.model_selection import train_test_split

    rec: list = []
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{_SOURCE}: split_half_validation needs a pandas DataFrame, got {type(data).__name__}")
    if items is None:
        items = [c for c in data.columns if c != group]
    items = [str(i) for i in items]
    missing_cols = [c for c in list(items) + ([group] if group is not None else []) if c not in data.columns]
    if missing_cols:
        raise DataError(f"{_SOURCE}: column(s) not in the data: {', '.join(map(repr, missing_cols))}")
    if not (0 < efa_fraction < 1):
        raise PsychometricsError(f"efa_fraction must be between 0 and 1, got {efa_fraction!r}")
    seed = _resolve_seed(seed)
    split_seed = seed if isinstance(seed, (int, np.integer)) else int(np.random.default_rng(seed).integers(2 ** 31))
    strat = None
    counts = None
    if group is not None:
        g = data[group]
        bad = g.isna()
        if bad.any():
            raise DataError(f"{_SOURCE}: the group column {group!r} is missing for {int(bad.sum())} row(s)",
                            [CellProblem(_SOURCE, i, group, None, "missing group") for i in data.index[bad]])
        small = g.value_counts()
        small = small[small < 2]
        if len(small):
            raise DataError(f"{_SOURCE}: group(s) with fewer than 2 cases cannot be split: "
                            + ", ".join(f"{k!r} ({v})" for k, v in small.items()))
        strat = g.to_numpy()
    pos = np.arange(len(data))
    try:
        a, b = train_test_split(pos, train_size=efa_fraction, random_state=split_seed, shuffle=True,
                                stratify=strat)
    except ValueError as exc:
        raise DataError(f"{_SOURCE}: the sample cannot be split ({exc})") from None
    a, b = np.sort(a), np.sort(b)
    half_a = data.iloc[a]
    half_b = data.iloc[b]
    if group is not None:
        counts = pd.DataFrame({"efa": half_a[group].value_counts(sort=False),
                               "cfa": half_b[group].value_counts(sort=False)}).fillna(0).astype(int)
    if n_factors is None:
        pa = parallel_analysis(half_a[items], n_iter=n_iter, seed=split_seed, kind="fa", missing=missing)
        n_factors = max(1, int(pa.n_factors))
        rec.append(f"Number of factors chosen by parallel analysis on the EFA half: {n_factors}.")
    e = efa(half_a[items], n_factors, method=method, rotation=rotation, missing=missing)
    for w in e.warnings:
        rec.append(f"EFA half: {w}")
    L = e.loadings
    absL = L.abs()
    main = absL.idxmax(axis=1)
    best = absL.max(axis=1)
    assignment = pd.DataFrame({"factor": main, "loading": [L.loc[i, main[i]] for i in L.index],
                               "cross_loading": (absL >= 0.32).sum(axis=1) >= 2})
    user_model = model is not None
    dropped = [] if user_model else [i for i in L.index if best[i] < cut]
    if dropped:
        rec.append(f"Item(s) without a loading >= {cut:g} on the EFA half, left out of the CFA: "
                   + ", ".join(dropped))
    keep = assignment.drop(index=dropped)
    if model is None:
        lines = []
        for f in L.columns:
            its = list(keep.index[keep["factor"] == f])
            if len(its) < 2:
                if its:
                    rec.append(f"Factor {f} has a single salient item ({its[0]}); it is left out of the CFA.")
                    dropped.append(its[0])
                continue
            unsafe = [i for i in its if _safe_name(i) is None]
            if unsafe:
                raise DataError(f"{_SOURCE}: item name(s) cannot be used in model syntax: "
                                + ", ".join(map(repr, unsafe)))
            lines.append(f"{f} =~ " + " + ".join(its))
        model = "\n".join(lines)
    cfa_fit = None
    fm = None
    if not model:
        _warn(rec, "No factor has two or more salient items; no CFA model could be formed.")
    else:
        try:
            from .sem import cfa as _cfa
        except ImportError:  # pragma: no cover - the engine is part of the package
            _cfa = None
            _warn(rec, "The CFA half needs the SEM engine (psychometrics.sem), which is not available.")
        if _cfa is not None:
            try:
                cfa_fit = _cfa(model, half_b, estimator=estimator, missing=cfa_missing)
                fm = dict(cfa_fit.fit_measures())
            except PsychometricsError as exc:
                _warn(rec, f"The CFA on the validation half failed: {exc}")
                cfa_fit = None
    return SplitHalfResult(efa_index=list(data.index[a]), cfa_index=list(data.index[b]),
                           group_counts=counts, efa=e, assignment=assignment, dropped_items=dropped,
                           model=model, cfa=cfa_fit, fit_measures=fm, seed=seed, warnings=rec)
