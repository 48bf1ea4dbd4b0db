"""Score (Lagrange multiplier) tests of equality constraints.

Reproduces lavaan 0.6-14's ``lavTestScore(fit, univariate=TRUE, cumulative=TRUE,
epc=TRUE)`` for the equality constraints of a fitted model (shared labels and
``group_equal``).  References: Bentler (1990), "Fit indexes, Lagrange
multipliers, constraint changes and incomplete data in structural models",
Multivariate Behavioral Research 25, 163-172; Satorra (1989); lavaan's
``lavTestScore``.

The test works in the *full* parameter space (one entry per free row of the
parameter table, groups included).  With ``g`` the gradient of the
log-likelihood divided by N (``-dF/dx_full``), ``I`` the unit expected information
in the full space, ``R`` the Jacobian of the equality constraints ``R x_full = 0``
and ``N`` the total number of cases:

* the total test is ``N g' I^+ g`` with ``df = nrow(R)``;
* the univariate test of constraint ``r`` is ``N g' P_r g`` where ``P_r`` is the
  upper-left block of the Moore-Penrose inverse of the augmented matrix
  ``[[I, R_(-r)'], [R_(-r), 0]]`` (all other constraints kept), ``df = 1``;
* the cumulative test releases the ``k`` constraints with the largest univariate
  statistics together (``df = k``);
* a joint test of any set of constraints releases that set (``release=``);
* the expected parameter change of every free parameter when all constraints are
  released is ``I^+ g`` (lavaan's ``epc`` column).

Generalised inverses follow ``MASS::ginv`` (singular values below
``sqrt(eps) * max`` are dropped).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._results import jsonable

_TOL = np.sqrt(np.finfo(float).eps)


def _ginv(a: np.ndarray) -> np.ndarray:
    """Moore-Penrose inverse with MASS::ginv's tolerance."""
    u, s, vt = np.linalg.svd(a)
    keep = s > max(_TOL * (s[0] if s.size else 0.0), 0.0)
    return (vt[keep].T / s[keep]) @ u[:, keep].T


def _released_inverse(information: np.ndarray, R: np.ndarray, drop: Sequence[int]) -> np.ndarray:
    """Upper-left block of ginv([[I, R1'], [R1, 0]]) with R1 = R without rows ``drop``."""
    npar = information.shape[0]
    keep = np.setdiff1d(np.arange(R.shape[0]), np.asarray(drop, dtype=int))
    R1 = R[keep]
    if R1.shape[0] == 0:
        return _ginv(information)
    k = R1.shape[0]
    Z = np.block([[information, R1.T], [R1, np.zeros((k, k))]])
    return _ginv(Z)[:npar, :npar]


@dataclass
class ScoreTestResult:
    """Result of :func:`score_test`.

    ``total``: dict ``X2``, ``df``, ``pvalue`` (all constraints, or the released set);
    ``uni``: DataFrame, one row per constraint (``constraint`` description, the
    parameters involved, ``X2``, ``df`` = 1, ``pvalue``), in the model's constraint order;
    ``cumulative``: DataFrame in decreasing order of the univariate statistic with
    cumulative ``X2`` and ``df``; ``epc``: DataFrame of expected parameter changes
    for every free parameter of the full space (None unless requested).
    """

    total: dict
    uni: pd.DataFrame | None = None
    cumulative: pd.DataFrame | None = None
    epc: pd.DataFrame | None = None
    n: int = 0
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.uni if self.uni is not None else pd.DataFrame([self.total])

    def to_dict(self) -> dict:
        return jsonable({"total": self.total, "uni": self.uni, "cumulative": self.cumulative,
                         "epc": self.epc, "n": self.n, "warnings": self.warnings})


def score_statistics(score: np.ndarray, information: np.ndarray, R: np.ndarray, n: float,
                     release: Sequence[int] | None = None, univariate: bool = True,
                     cumulative: bool = False, epc: bool = False) -> dict:
    """Score-test statistics from the raw ingredients (the numerical core of :func:`score_test`).

    ``score``: gradient of logL / N in the full space (length npar); ``information``:
    unit expected information (npar x npar); ``R``: constraint Jacobian (ncon x npar);
    ``n``: total number of cases.  Returns a dict with ``total`` (X2, df), ``uni``
    (array of univariate X2 per constraint, NaN for constraints outside ``release``),
    ``order`` and ``cumulative`` (arrays), and ``epc`` (array over parameters).
    """
    score = np.asarray(score, dtype=float).ravel()
    information = np.asarray(information, dtype=float)
    R = np.atleast_2d(np.asarray(R, dtype=float))
    ncon = R.shape[0]
    if ncon == 0:
        raise ValueError("the model has no equality constraints to test")
    r_idx = np.arange(ncon) if release is None else np.asarray(release, dtype=int)
    fast = _FastReleases.build(score, information, R)

    def slow(drop):
        P = _released_inverse(information, R, drop)
        return float(n * score @ P @ score)

    if fast is not None:
        # guard: the closed form must agree with the generalised inverse on one release
        q = fast.quad([r_idx[0]])
        ref = slow([r_idx[0]])
        if q is None or abs(n * q - ref) > 1e-6 * max(1.0, abs(ref)):
            fast = None

    def quad(drop):  # N g' P g with the constraints in `drop` released
        if fast is not None:
            q = fast.quad(drop)
            if q is not None:
                return float(n * q)
        return slow(drop)
    if release is None:
        x2 = float(n * score @ _ginv(information) @ score)
    else:
        x2 = quad(r_idx)
    out = {"total": {"X2": x2, "df": int(len(r_idx))}}
    uni = np.full(ncon, np.nan)
    if univariate or cumulative:
        for r in r_idx:
            uni[r] = quad([r])
        out["uni"] = uni
    if cumulative:
        order = r_idx[np.argsort(-uni[r_idx], kind="stable")]
        cum = np.empty(len(order))
        for k in range(len(order)):
            cum[k] = quad(order[:k + 1])
        out["order"] = order
        out["cumulative"] = cum
    if epc:
        P = _ginv(information) if release is None else _released_inverse(information, R, r_idx)
        out["epc"] = score @ P
    return out


@dataclass
class _FastReleases:
    """``g' P_S g`` for many released sets S from one inverse of the augmented matrix.

    With ``W = Z^-1``, ``Z = [[I, R'], [R, 0]]`` (all constraints kept; non-singular when
    the constrained model is identified) and ``u = [g, 0]``, releasing the constraints S
    deletes their rows and columns from Z, and the inverse of that principal submatrix
    gives ``g' P_S g = u'Wu - (Wu)_S' (W_SS)^-1 (Wu)_S`` -- the number lavaan obtains by a
    generalised inverse of the reduced augmented matrix for every S.  ``quad`` returns
    None when W_SS is (near) singular, and the caller falls back to the generalised inverse.
    """

    base: float
    Wu: np.ndarray
    W: np.ndarray
    npar: int

    @classmethod
    def build(cls, g, information, R):
        npar, k = information.shape[0], R.shape[0]
        Z = np.block([[information, R.T], [R, np.zeros((k, k))]])
        if np.linalg.cond(Z) > 1e12:
            return None
        W = np.linalg.inv(Z)
        u = np.concatenate([g, np.zeros(k)])
        Wu = W @ u
        return cls(base=float(u @ Wu), Wu=Wu, W=W, npar=npar)

    def quad(self, drop):
        S = self.npar + np.asarray(drop, dtype=int)
        WSS = self.W[np.ix_(S, S)]
        if np.linalg.cond(WSS) > 1e12:
            return None
        v = self.Wu[S]
        return self.base - float(v @ np.linalg.solve(WSS, v))


def score_test(fit, release: Sequence[int] | None = None, univariate: bool = True,
               cumulative: bool = False, epc: bool = False) -> ScoreTestResult:
    """Score tests of the equality constraints of a fitted multi-group model.

    Returns a :class:`ScoreTestResult` whose numbers reproduce lavaan's
    ``lavTestScore(fit, release=, univariate=, cumulative=, epc=)`` (expected
    information, ``se = "standard"``).  ``release``: indices (0-based) of the
    constraints to test jointly; default all.  Each row of ``uni`` names the
    constraint as the engine describes it and the parameters on both sides
    (``lhs``, ``op``, ``rhs``, ``group`` of the left and right parameter).
    """
    R, descriptions = fit.equality_constraints()
    R = np.atleast_2d(np.asarray(R, dtype=float))
    score = -np.asarray(fit.gradient(full=True), dtype=float).ravel()
    information = None
    if getattr(fit, "missing", "listwise") in ("fiml", "ml"):
        information = fiml_expected_information(fit)
    if information is None:
        information = np.asarray(fit.information(kind="expected", full=True), dtype=float)
    n = n_total(fit)
    res = score_statistics(score, information, R, n, release=release,
                           univariate=univariate, cumulative=cumulative, epc=epc)
    total = dict(res["total"])
    total["pvalue"] = float(stats.chi2.sf(total["X2"], total["df"]))
    ctab = constraint_table(fit, R, descriptions)
    r_idx = np.arange(R.shape[0]) if release is None else np.asarray(release, dtype=int)
    uni = cum = epc_tab = None
    if "uni" in res:
        uni = ctab.iloc[r_idx].copy()
        uni["X2"] = res["uni"][r_idx]
        uni["df"] = 1
        uni["pvalue"] = stats.chi2.sf(uni["X2"], 1)
        uni = uni.reset_index(drop=True)
    if cumulative:
        cum = ctab.iloc[res["order"]].copy()
        cum["X2"] = res["cumulative"]
        cum["df"] = np.arange(1, len(cum) + 1)
        cum["pvalue"] = stats.chi2.sf(cum["X2"], cum["df"])
        cum = cum.reset_index(drop=True)
    if epc:
        epc_tab = full_parameter_table(fit).copy()
        epc_tab["epc"] = res["epc"]
        epc_tab["epv"] = epc_tab["est"] + epc_tab["epc"]
    return ScoreTestResult(total=total, uni=uni, cumulative=cum, epc=epc_tab, n=int(n))


# ------------------------------------------------------------------ reading a fit
def n_total(fit) -> int:
    """Total number of cases used by the fit (lavaan's ``ntotal``)."""
    return int(fit.sample.ntotal)


def _partable(fit):
    for name in ("partable", "pt", "par_table"):
        pt = getattr(fit, name, None)
        if pt is not None:
            return pt
    raise AttributeError("fit has no parameter table")


def full_parameter_table(fit) -> pd.DataFrame:
    """One row per free parameter of the full space: lhs, op, rhs, group (value), est."""
    pt = _partable(fit)
    rows = pt.free_rows()
    labels = list(fit.sample.group_labels)
    x_full = np.asarray(fit.K, dtype=float) @ np.asarray(fit.x, dtype=float)
    return pd.DataFrame({
        "lhs": [pt.lhs[i] for i in rows], "op": [pt.op[i] for i in rows],
        "rhs": [pt.rhs[i] for i in rows],
        "group": [labels[int(pt.group[i]) - 1] if int(pt.group[i]) > 0 else None for i in rows],
        "est": x_full})


def _pname(lhs: str, op: str, rhs: str) -> str:
    return f"{lhs}~1" if op == "~1" else f"{lhs}{op}{rhs}"


def constraint_table(fit, R: np.ndarray, descriptions) -> pd.DataFrame:
    """Describe each constraint row: the parameters on both sides and their groups.

    Columns: constraint (the engine's description), parameter (``lhs op rhs`` as in
    ``group_partial``), lhs, op, rhs, group_left, group_right, left, right (full indices).
    """
    full = full_parameter_table(fit)
    rows = []
    for k in range(R.shape[0]):
        nz = np.flatnonzero(R[k])
        pos = [j for j in nz if R[k, j] > 0]
        neg = [j for j in nz if R[k, j] < 0]
        left = pos[0] if pos else nz[0]
        right = neg[0] if neg else (nz[1] if len(nz) > 1 else nz[0])
        a, b = full.iloc[left], full.iloc[right]
        d = descriptions[k] if descriptions is not None else ""
        if isinstance(d, dict):
            d = f"{d.get('lhs', '')} {d.get('op', '==')} {d.get('rhs', '')}"
        rows.append({"constraint": str(d),
                     "parameter": _pname(a["lhs"], a["op"], a["rhs"]),
                     "lhs": a["lhs"], "op": a["op"], "rhs": a["rhs"],
                     "group_left": a["group"], "group_right": b["group"],
                     "left": int(left), "right": int(right)})
    return pd.DataFrame(rows)


def _vech_pair_trace(X: np.ndarray, Y: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Matrix of ``tr(X dS_i Y dS_j)`` over the symmetric unit perturbations of vech."""
    off_i = (r != c).astype(float)

    def T(a, b, cc, d):  # tr(X E_ab Y E_cd) = X[d, a] Y[b, cc]
        return X[d[None, :], a[:, None]] * Y[b[:, None], cc[None, :]]

    M = T(r, c, r, c)
    M = M + off_i[:, None] * T(c, r, r, c)
    M = M + off_i[None, :] * T(r, c, c, r)
    M = M + (off_i[:, None] * off_i[None, :]) * T(c, r, c, r)
    return M


def fiml_expected_information(fit) -> np.ndarray | None:
    """Unit expected information of an ML fit to incomplete data, in the full space.

    lavaan's ``lavTech(fit, "information.expected")`` with ``missing = "ml"``
    (``lav_mvnorm_missing_information_expected``, structured h1): per missing-data
    pattern with ``n_p`` cases and observed set ``o``, the moment information is
    ``n_p Sigma_oo^-1`` (means) and ``n_p/2 D'(Sigma_oo^-1 x Sigma_oo^-1)D`` (covariances),
    zero for moments of unobserved variables; summed over patterns and groups, chained
    with ``Delta_g`` and divided by N.  Returns None for complete data (the engine's
    complete-data information is then the same) or when the fit lacks raw data.
    """
    model = fit.model
    xf = np.asarray(fit.K, dtype=float) @ np.asarray(fit.x, dtype=float)
    try:
        implied = model.implied(xf, full=True)
        deltas = model.delta(xf, full=True)
        groups = fit.sample.groups
        r, c = np.asarray(model.vr), np.asarray(model.vc)
        meanstructure = bool(model.meanstructure)
    except AttributeError:
        return None
    if not any(np.isnan(np.asarray(gs.data, dtype=float)).any() for gs in groups):
        return None
    n = sum(gs.nobs for gs in groups)
    total = 0.0
    for gs, (Sigma, mu), D in zip(groups, implied, deltas):
        data = np.asarray(gs.data, dtype=float)
        p = Sigma.shape[0]
        obs = ~np.isnan(data)
        pats, counts = np.unique(obs, axis=0, return_counts=True)
        I11 = np.zeros((p, p))
        I22 = np.zeros((len(r), len(r)))
        for pat, k in zip(pats, counts):
            o = np.flatnonzero(pat)
            if o.size == 0:
                continue
            Sinv = np.zeros((p, p))
            Sinv[np.ix_(o, o)] = np.linalg.inv(Sigma[np.ix_(o, o)])
            I11 += k * Sinv
            I22 += 0.5 * k * _vech_pair_trace(Sinv, Sinv, r, c)
        if meanstructure:
            W = np.zeros((p + len(r), p + len(r)))
            W[:p, :p] = I11
            W[p:, p:] = I22
        else:
            W = I22
        total = total + D.T @ W @ D
    return np.asarray(total) / n
