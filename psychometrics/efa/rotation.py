"""Factor rotation: GPArotation's gradient projection algorithms (Jennrich 2001, 2002;
Bernaards & Jennrich 2005), stats::varimax and psych's promax.

Every gradient-projection criterion is a function ``vgq(L) -> (dQ/dL, Q)`` as GPArotation's
``vgQ.<name>``; :func:`_gpf_orth` / :func:`_gpf_oblq` are GPForth / GPFoblq with the same
steps, start (the identity, psych's start with ``n.rotations = 1``) and stopping rule
(``eps = 1e-5``, 1000 iterations), so they reach GPArotation's solution, local optimum
included.  Criteria: quartimax (Carroll 1953), Crawford-Ferguson / equamax (Crawford &
Ferguson 1970; psych's equamax is cfT with kappa = k / 2p), oblimin with gamma (Jennrich 1979;
gamma 0 = quartimin), geomin with delta (Yates 1987; Browne 2001), Bentler's invariant pattern
simplicity (Bentler 1977), oblimax (Saunders 1961), simplimax (Kiers 1994), target and
partially specified target rotation (Browne 1972a, 1972b; GPArotation's targetT/targetQ and
pstT/pstQ).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import PsychometricsError
from .correlation import _warn

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


ORTHOGONAL = ("varimax", "quartimax", "equamax", "bentlerT", "geominT", "targetT", "pstT")
OBLIQUE = ("oblimin", "quartimin", "geomin", "geominQ", "promax", "bentlerQ", "oblimax",
           "simplimax", "targetQ", "pstQ")
ROTATIONS = ("none",) + ORTHOGONAL + OBLIQUE
TARGET_ROTATIONS = ("targetT", "targetQ", "pstT", "pstQ")


def _vgq_quartimax(L: np.ndarray):
    return -L ** 3, float(-np.sum(L ** 4) / 4)


def _vgq_cf(L: np.ndarray, kappa: float = 0.0):
    """Crawford-Ferguson family (GPArotation's vgQ.cf)."""
    p, k = L.shape
    L2 = L * L
    rows = L2 @ (np.ones((k, k)) - np.eye(k))      # L2 N
    cols = (np.ones((p, p)) - np.eye(p)) @ L2      # M L2
    f1 = (1 - kappa) * float(np.sum(L2 * rows)) / 4
    f2 = kappa * float(np.sum(L2 * cols)) / 4
    return (1 - kappa) * L * rows + kappa * L * cols, f1 + f2


def _vgq_bentler(L: np.ndarray):
    L2 = L * L
    M = L2.T @ L2
    D = np.diag(np.diag(M))
    Gq = -L * (L2 @ (np.linalg.inv(M) - np.linalg.inv(D)))
    f = -(np.linalg.slogdet(M)[1] - np.linalg.slogdet(D)[1]) / 4
    return Gq, float(f)


def _vgq_oblimax(L: np.ndarray):
    s4, s2 = float(np.sum(L ** 4)), float(np.sum(L ** 2))
    return -(4 * L ** 3 / s4 - 4 * L / s2), -(math.log(s4) - 2 * math.log(s2))


def _vgq_simplimax(L: np.ndarray, k: int):
    L2 = L * L
    I = (L2 <= np.sort(L2, axis=None)[k - 1]).astype(float)
    return 2 * I * L, float(np.sum(I * L2))


def _vgq_target(L: np.ndarray, target: np.ndarray):
    """Target rotation; NaN cells of ``target`` are left out (GPArotation's NA)."""
    d = L - target
    d = np.where(np.isnan(d), 0.0, d)
    return 2 * d, float(np.sum(d * d))


def _vgq_pst(L: np.ndarray, weights: np.ndarray, target: np.ndarray):
    d = weights * L - weights * target
    return 2 * d, float(np.sum(d * d))


def _criterion(rotation: str, L: np.ndarray, gamma: float, delta: float, k: int | None,
               target, weights):
    p, m = L.shape
    if rotation in ("oblimin", "quartimin"):
        g = 0.0 if rotation == "quartimin" else float(gamma)
        return lambda x: _vgq_oblimin(x, g)
    if rotation in ("geomin", "geominQ", "geominT"):
        return lambda x: _vgq_geomin(x, float(delta))
    if rotation == "quartimax":
        return _vgq_quartimax
    if rotation == "equamax":
        return lambda x: _vgq_cf(x, m / (2 * p))
    if rotation in ("bentlerT", "bentlerQ"):
        return _vgq_bentler
    if rotation == "oblimax":
        return _vgq_oblimax
    if rotation == "simplimax":
        kk = p if k is None else int(k)
        return lambda x: _vgq_simplimax(x, kk)
    if rotation in ("targetT", "targetQ"):
        return lambda x: _vgq_target(x, target)
    if rotation in ("pstT", "pstQ"):
        w = (~np.isnan(target)).astype(float) if weights is None else weights
        t = np.where(np.isnan(target), 0.0, target)
        return lambda x: _vgq_pst(x, w, t)
    raise PsychometricsError(f"unknown rotation {rotation!r}")  # pragma: no cover - validated earlier


def check_target(target, weights, p: int, m: int, items=None):
    """Validate a target matrix (items x factors; NaN = unspecified) and pst weights.

    Returns (target array, weights array or None, factor names or None).  A DataFrame target
    is aligned to ``items`` by its index.
    """
    import pandas as pd

    names = None
    if target is None:
        raise PsychometricsError("target rotation needs a target matrix (items x factors; "
                                 "NaN for unspecified cells): pass target=")
    if isinstance(target, pd.DataFrame):
        if items is not None:
            idx = [str(i) for i in target.index]
            missing = [i for i in items if i not in idx]
            if missing:
                raise PsychometricsError("the target matrix has no row for item(s) "
                                         + ", ".join(map(repr, missing)))
            target = target.set_axis(idx, axis=0).loc[list(items)]
        names = [str(c) for c in target.columns]
        target = target.to_numpy(dtype=float)
    t = np.asarray(target, dtype=float)
    if t.shape != (p, m):
        raise PsychometricsError(f"the target matrix must be {p} items x {m} factors, got {t.shape}")
    if np.all(np.isnan(t)):
        raise PsychometricsError("the target matrix has no specified cell")
    w = None
    if weights is not None:
        w = np.asarray(weights.to_numpy() if hasattr(weights, "to_numpy") else weights, dtype=float)
        if w.shape != (p, m):
            raise PsychometricsError(f"the target weights must be {p} x {m}, got {w.shape}")
    return t, w, names


def rotate(L: np.ndarray, rotation: str, record: list | None = None, *, gamma: float = 0.0,
           delta: float = 0.01, k: int | None = None, target=None, weights=None):
    """Rotate the loadings ``L`` (p x m).  Returns (rotated loadings, Phi or None, converged).

    ``gamma``: oblimin's gamma (0 = quartimin, GPArotation's ``gam``); ``delta``: geomin's
    delta (.01); ``k``: simplimax's number of near-zero loadings (GPArotation's default p);
    ``target`` (p x m, NaN = unspecified) for targetT/targetQ/pstT/pstQ; ``weights``: pst's W
    (default: 1 where the target is specified).  Same algorithms and starting point as
    GPArotation (see the module docstring).
    """
    record = [] if record is None else record
    m = L.shape[1]
    if rotation == "none" or m < 2:
        return L, None, True
    if rotation == "varimax":
        z, _T, conv, it = _varimax(L)
        phi = None
    elif rotation == "promax":
        z, phi, conv, it = _promax(L)
    else:
        vgq = _criterion(rotation, L, gamma, delta, k, target, weights)
        if rotation in OBLIQUE:
            z, phi, _T, conv, it = _gpf_oblq(L, vgq)
        else:
            z, _T, conv, it = _gpf_orth(L, vgq)
            phi = None
    if not conv:
        _warn(record, f"The {rotation} rotation did not converge in {it} iterations.")
    return z, phi, conv


def stats_promax(L: np.ndarray, m: float = 4):
    """R's ``stats::promax`` (Hendrickson & White 1964), which ``psych::principal`` uses: varimax
    (Kaiser-normalised), target x|x|^(m-1), column-rescaled least-squares transformation;
    Phi = cov2cor(U^-1 U^-T) as psych::principal computes it.  Returns (loadings, Phi, converged)."""
    xv, rot, conv, _it = _varimax(L)
    Q = xv * np.abs(xv) ** (m - 1)
    U = np.linalg.lstsq(xv, Q, rcond=None)[0]
    d = np.diag(np.linalg.inv(U.T @ U))
    U = U * np.sqrt(d)[None, :]
    z = xv @ U
    ui = np.linalg.inv(rot @ U)
    phi = ui @ ui.T
    s = np.sqrt(np.diag(phi))
    return z, phi / np.outer(s, s), conv
