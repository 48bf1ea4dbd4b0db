"""Input validation and the correlation matrix every EFA function analyses.

Pairwise-complete Pearson correlations (psych's default), listwise as an option, and
smoothing of a non-positive-definite matrix as ``psych::cor.smooth`` does.
"""
from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validate import numeric_items
from ..errors import CellProblem, DataError, PsychometricsError, PsychometricsWarning
from .._blas import single_blas_thread

_EPS = np.finfo(float).eps
_SOURCE = "<items>"


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


#: a single data matrix with more rows is summed block by block in :func:`_pairwise_cor`
PAIRWISE_BLOCK_ROWS = 65_536


def _pairwise_sums(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two products ``x'[x, m]`` and ``[x^2, m]'m`` (m: observed indicator, missing x as 0)
    of one matrix (n x p) or a stack (B x n x p)."""
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
    return a, b


def _pairwise_cor(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations from pairwise-complete cases (R's ``cor(use="pairwise")``).

    Returns (R, n_pairs).  Works for one matrix (n x p) or a stack (B x n x p); the pairwise
    sums come from two matrix products, x'[x, m] and [x^2, m]'m (m: observed indicator),
    summed over blocks of :data:`PAIRWISE_BLOCK_ROWS` rows for a large single matrix.
    """
    p = x.shape[-1]
    if x.ndim == 2 and len(x) > PAIRWISE_BLOCK_ROWS:
        # large n: the sums of blocks of rows (the temporaries are a few arrays of the block's
        # size, not of the data's: about 60 bytes a cell); equal to the one product to rounding
        a = np.zeros((p, 2 * p))
        b = np.zeros((2 * p, p))
        for start in range(0, len(x), PAIRWISE_BLOCK_ROWS):
            ab, bb = _pairwise_sums(x[start:start + PAIRWISE_BLOCK_ROWS])
            a += ab
            b += bb
    else:
        a, b = _pairwise_sums(x)
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


@single_blas_thread
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


def _cor_from_matrix(matrix: Any, n_obs: Any, record: list | None = None,
                     source: str = "<correlation matrix>") -> _Cor:
    """A correlation (or covariance) matrix with its number of cases, as ``psych::fa(r, n.obs=)``.

    Checks that the matrix is square, finite and symmetric with a positive diagonal; a
    covariance matrix is rescaled to correlations (``cov2cor``); a matrix that is not positive
    definite is smoothed as for raw data.  Every pairwise count is ``n_obs``.
    """
    record = [] if record is None else record
    if isinstance(n_obs, bool) or not isinstance(n_obs, (int, np.integer)) or n_obs < 3:
        raise PsychometricsError(f"n_obs must be the number of cases (a whole number >= 3), got {n_obs!r}")
    if isinstance(matrix, pd.DataFrame):
        names = [str(c) for c in matrix.columns]
        rows = [str(i) for i in matrix.index]
        if rows != names and not all(isinstance(i, (int, np.integer)) for i in matrix.index):
            raise DataError(f"{source}: the row names ({', '.join(rows[:5])}...) do not match the "
                            f"column names ({', '.join(names[:5])}...)")
        try:
            r = matrix.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"{source}: the matrix has non-numeric cells") from None
    else:
        r = np.asarray(matrix, dtype=float) if isinstance(matrix, np.ndarray) else None
        if r is None or r.ndim != 2:
            raise DataError(f"{source}: expected a square correlation matrix (DataFrame or 2-D array), "
                            f"got {type(matrix).__name__}")
        names = [f"V{i + 1}" for i in range(r.shape[1])]
    p = r.shape[1]
    if r.shape[0] != p or p < 2:
        raise DataError(f"{source}: a correlation matrix must be square (items x items), got "
                        f"{r.shape[0]} x {p}")
    if not np.all(np.isfinite(r)):
        i, j = np.argwhere(~np.isfinite(r))[0]
        raise DataError(f"{source}: the cell ({names[i]}, {names[j]}) is not a number",
                        [CellProblem(source, names[i], names[j], float(r[i, j]), "not a finite number")])
    asym = np.abs(r - r.T)
    if asym.max() > 1e-8 * max(1.0, np.abs(r).max()):
        i, j = np.unravel_index(np.argmax(asym), asym.shape)
        raise DataError(f"{source}: the matrix is not symmetric: ({names[i]}, {names[j]}) = "
                        f"{r[i, j]:g} but ({names[j]}, {names[i]}) = {r[j, i]:g}",
                        [CellProblem(source, names[i], names[j], float(r[i, j]), "not symmetric")])
    d = np.diag(r)
    if np.any(d <= 0):
        i = int(np.argmin(d))
        raise DataError(f"{source}: the diagonal cell of {names[i]!r} is {d[i]:g}; variances must be positive",
                        [CellProblem(source, names[i], names[i], float(d[i]), "non-positive variance")])
    if not np.allclose(d, 1.0, atol=1e-8):
        record.append("A covariance matrix was given; it was rescaled to correlations.")
        s = np.sqrt(d)
        r = r / np.outer(s, s)
    r = (r + r.T) / 2
    np.fill_diagonal(r, 1.0)
    off = np.abs(r[~np.eye(p, dtype=bool)])
    if off.size and off.max() > 1 + 1e-8:
        i, j = np.argwhere((np.abs(r) > 1 + 1e-8) & ~np.eye(p, dtype=bool))[0]
        raise DataError(f"{source}: the correlation of {names[i]!r} and {names[j]!r} is {r[i, j]:g} "
                        "(beyond -1..1)", [CellProblem(source, names[i], names[j], float(r[i, j]),
                                                       "correlation beyond -1..1")])
    smoothed = False
    minev = float(np.linalg.eigvalsh(r)[0])
    if minev < 1e-12:
        r = _smooth(r)
        smoothed = True
        _warn(record, f"The correlation matrix is not positive definite (smallest eigenvalue "
                      f"{minev:.3g}); it was smoothed as psych::cor.smooth does.")
    n = int(n_obs)
    return _Cor(r=r, names=names, n_obs=n, n_complete=n, n_pairs=np.full((p, p), float(n)),
                smoothed=smoothed, warnings=record)
