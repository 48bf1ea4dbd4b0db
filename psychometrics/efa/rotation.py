"""Factor rotation: GPArotation's gradient projection algorithms (Jennrich 2001, 2002;
Bernaards & Jennrich 2005), stats::varimax and psych's promax."""
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
