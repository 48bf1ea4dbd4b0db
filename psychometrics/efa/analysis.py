"""The EFA itself: :func:`efa` (extraction, rotation, ordering, fit statistics) and
:class:`EFAResult`, as ``psych::fa``."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import ModelError, PsychometricsError
from .correlation import _EPS, _Cor, _check_cases, _cor_from_matrix, _correlate, _smooth, _warn
from .extraction import _Extraction, _minres, _ml, _pa, _top_loadings
from .rotation import ROTATIONS, TARGET_ROTATIONS, check_target, rotate, stats_promax
from .._blas import single_blas_thread

EXTRACTION_METHODS = ("minres", "ml", "pa")
_PREFIX = {"minres": "MR", "ml": "ML", "pa": "PA", "pc": "PC"}


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
    :func:`_fit_statistics`); ``rotation_converged``: whether the rotation met GPArotation's
    stopping rule; ``rotation_options``: gamma / delta / k / target as given.  Factor scores:
    :func:`psychometrics.efa.factor_scores`.
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
    rotation_converged: bool = True
    rotation_options: dict = field(default_factory=dict)

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
            "rotation_converged": self.rotation_converged,
            "rotation_options": self.rotation_options,
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
    from scipy import optimize, special, stats

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
            # scipy.special.chndtr is what stats.ncx2.cdf evaluates for x > 0 (same numbers),
            # without the distribution machinery's overhead on each of brentq's evaluations
            return optimize.brentq(lambda x: special.chndtr(chisq, dof, x) - target if x > 0
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
                  missing: str, rotation_options: dict | None = None) -> EFAResult:
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
    elif method == "pc":
        vals = np.linalg.eigvalsh(r)[::-1]
        L = _top_loadings(r, n_factors)
        ex = _Extraction(L, None, True, 0, float(np.sum(vals[:n_factors])), "principal components")
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
    opts = dict(rotation_options or {})
    target_names = None
    if rotation in TARGET_ROTATIONS and n_factors > 1:
        t, w, target_names = check_target(opts.get("target"), opts.get("weights"), p, n_factors, names)
        opts["target"], opts["weights"] = t, w
    if method == "pc" and rotation == "promax" and n_factors > 1:   # psych::principal uses stats::promax
        Lr, phi, rot_conv = stats_promax(L)
    else:
        Lr, phi, rot_conv = rotate(L, rotation, rec, **opts)
    if phi is not None and np.linalg.eigvalsh(phi)[0] < 1e-6:
        _warn(rec, f"The {rotation} rotation is degenerate: the factor correlations are singular "
                   f"(smallest eigenvalue {np.linalg.eigvalsh(phi)[0]:.2g}) and the loadings "
                   f"unbounded (largest |loading| {np.abs(Lr).max():.3g}).")
    base = _PREFIX[method]
    if method == "pc" and rotation != "none" and n_factors > 1:
        base = "TC" if phi is not None and rotation != "promax" else "RC"
    fnames = [f"{base}{j + 1}" for j in range(n_factors)]
    if rotation in TARGET_ROTATIONS and n_factors > 1:
        # the target fixes each factor's column and direction: no re-signing, no re-ordering
        if target_names is not None:
            fnames = target_names
    else:
        if method == "pc":   # psych::principal: order by SS loadings of the pattern, then sign
            order = np.argsort(-np.sum(Lr * Lr, axis=0), kind="stable")
            Lr = Lr[:, order]
            if phi is not None:
                phi = phi[np.ix_(order, order)]
            if rotation != "none":   # psych keeps each column's pre-sort name
                fnames = [fnames[j] for j in order]
            sgn = np.sign(Lr.sum(axis=0))
            sgn[sgn == 0] = 1
            Lr = Lr * sgn
            if phi is not None:
                phi = phi * np.outer(sgn, sgn)
        else:
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
        objective=ex.objective, fit=_fit_statistics(r, Lr, phi_m, c.n_obs, c.n_pairs), warnings=rec,
        rotation_converged=rot_conv, rotation_options={k: v for k, v in (rotation_options or {}).items()
                                                       if v is not None})


def _rotation_options(rotation, gamma, delta, k, target, target_weights) -> dict:
    opts: dict = {}
    if rotation == "oblimin":
        opts["gamma"] = float(gamma)
    elif gamma not in (0, 0.0, None):
        raise PsychometricsError(f"gamma applies to the oblimin rotation only (rotation is {rotation!r})")
    if rotation in ("geomin", "geominQ", "geominT"):
        if not float(delta) > 0:
            raise PsychometricsError(f"geomin's delta must be positive, got {delta!r}")
        opts["delta"] = float(delta)
    if rotation == "simplimax" and k is not None:
        opts["k"] = int(k)
    if rotation in TARGET_ROTATIONS:
        opts["target"] = target
        opts["weights"] = target_weights
    elif target is not None:
        raise PsychometricsError(f"a target matrix needs rotation='targetQ', 'targetT', 'pstQ' or "
                                 f"'pstT' (rotation is {rotation!r})")
    return opts


def _cor_input(items: Any, missing: str, n_obs, rec: list) -> _Cor:
    """Raw data, or a correlation / covariance matrix when ``n_obs`` is given."""
    if n_obs is not None:
        return _cor_from_matrix(items, n_obs, rec)
    return _correlate(items, missing=missing, record=rec)


@single_blas_thread
def efa(items: Any, n_factors: int, method: str = "minres", rotation: str = "oblimin",
        missing: str = "pairwise", *, n_obs: int | None = None, gamma: float = 0.0,
        delta: float = 0.01, k: int | None = None, target: Any = None,
        target_weights: Any = None) -> EFAResult:
    """Exploratory factor analysis, reproducing ``psych::fa(x, nfactors, fm=, rotate=)``.

    ``items``: the item responses (cases x items), or -- with ``n_obs``, the number of cases --
    a correlation or covariance matrix (items x items, as ``psych::fa(r, n.obs=)``; a
    covariance matrix is rescaled to correlations).

    Extraction ``method``: ``"minres"`` (minimum residual / ULS), ``"ml"``
    (maximum likelihood) or ``"pa"`` (iterated principal axis, psych's
    stopping rule).  ``rotation`` (GPArotation's algorithms and start, no Kaiser
    normalisation -- psych's defaults): orthogonal ``"varimax"`` (stats::varimax,
    Kaiser-normalised), ``"quartimax"``, ``"equamax"`` (psych::equamax: Crawford-Ferguson with
    kappa = k / 2p), ``"bentlerT"``, ``"geominT"``, ``"targetT"``, ``"pstT"``; oblique
    ``"oblimin"`` (``gamma``, default 0 = quartimin), ``"quartimin"``, ``"geomin"`` (=
    ``"geominQ"``; ``delta``, default .01), ``"promax"`` (psych's Kaiser-normalised Promax,
    m = 4), ``"bentlerQ"``, ``"oblimax"``, ``"simplimax"`` (``k`` near-zero loadings, default
    the number of items), ``"targetQ"``, ``"pstQ"``; or ``"none"``.  Target rotations
    (Browne 1972a, b) need ``target`` (items x factors, a DataFrame indexed by item or an
    array; NaN marks an unspecified cell); ``pstT``/``pstQ`` use ``target_weights`` (default
    1 where the target is specified).  Target solutions keep the target's column order, names
    and signs.  Correlations are pairwise complete (psych's default) unless
    ``missing="listwise"``.

    Returns an :class:`EFAResult`; factors are ordered by variance accounted
    for and signed so that loadings sum positive, as psych does.
    References: Harman (1976) minres; Joreskog (1967) ML; Bernaards & Jennrich
    (2005) gradient projection rotations; Revelle, psych::fa.
    """
    rec: list = []
    method = _norm_method(method)
    rotation = _norm_rotation(rotation)
    opts = _rotation_options(rotation, gamma, delta, k, target, target_weights)
    c = _cor_input(items, missing, n_obs, rec)
    _check_cases(c, rec)
    return _efa_from_cor(c, n_factors, method, rotation, rec, missing, opts)


def principal(items: Any, n_components: int = 1, rotation: str = "varimax",
              missing: str = "pairwise", *, n_obs: int | None = None, gamma: float = 0.0,
              delta: float = 0.01, k: int | None = None, target: Any = None,
              target_weights: Any = None) -> EFAResult:
    """Principal components analysis as ``psych::principal(x, nfactors, rotate=)``.

    Loadings are the first ``n_components`` eigenvectors of the correlation matrix scaled by
    the square roots of their eigenvalues, signed to sum positive, then rotated (any rotation
    of :func:`efa`; psych's default varimax), ordered by their sums of squared loadings and
    signed again, as psych does; psych's names: PC (unrotated), RC (orthogonal rotation), TC
    (oblique), each rotated column keeping its pre-sort number.  ``items`` may be a
    correlation matrix with ``n_obs``.  Returns an :class:`EFAResult` with ``method="pc"``
    (``fit`` holds psych's factor.stats of the components).
    Reference: Hotelling (1933); Revelle, psych::principal.
    """
    rec: list = []
    rotation = _norm_rotation(rotation)
    opts = _rotation_options(rotation, gamma, delta, k, target, target_weights)
    c = _cor_input(items, missing, n_obs, rec)
    return _efa_from_cor(c, n_components, "pc", rotation, rec, missing, opts)
