"""Factor extraction: minres (ULS), maximum likelihood and iterated principal axis,
as ``psych::fa(fm=...)``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .correlation import _smc

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
