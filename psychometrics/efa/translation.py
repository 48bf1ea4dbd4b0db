"""Translation studies: compare a translated version's factor solution with the original's.

An instrument file may carry the original version's published loadings (``original:`` in the
instrument YAML, see scales/README.md).  :func:`compare_to_original` fits the EFA of the
translated version with the original's number of factors, rotates it to the original loadings
by Procrustes target rotation (Browne 1972a; GPArotation's ``targetQ``, or ``targetT`` when the
original solution is orthogonal) and gives Tucker's (1951) congruence coefficient per factor
(``psych::factor.congruence``) and per item (the same coefficient over an item's row of
loadings), judged by Lorenzo-Seva & ten Berge's (2006) cut-offs: >= .95 the factors can be
considered equal, .85-.94 fair similarity, below .85 not similar.

References: Tucker, L. R. (1951). A method for synthesis of factor analysis studies (Personnel
Research Section Report No. 984). Department of the Army.  Lorenzo-Seva, U., & ten Berge,
J. M. F. (2006). Tucker's congruence coefficient as a meaningful index of factor similarity.
Methodology, 2(2), 57-64.  Browne, M. W. (1972). Orthogonal rotation to a partially specified
target. British Journal of Mathematical and Statistical Psychology, 25, 115-120.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import PsychometricsError
from .analysis import EFAResult, efa

EQUAL, FAIR = 0.95, 0.85
CUTOFFS_REFERENCE = "Lorenzo-Seva & ten Berge (2006)"


def similarity(value: float) -> str:
    """Lorenzo-Seva & ten Berge's (2006) reading of a congruence coefficient: ``"equal"``
    (>= .95), ``"fair"`` (.85 to .95) or ``"not similar"`` (< .85); NaN gives ``""``."""
    if value is None or not np.isfinite(value):
        return ""
    v = abs(float(value))
    return "equal" if v >= EQUAL else "fair" if v >= FAIR else "not similar"


def congruence(x: Any, y: Any) -> pd.DataFrame:
    """Tucker's (1951) congruence coefficients between the columns of two loading matrices,
    sum(a b) / sqrt(sum(a^2) sum(b^2)), as ``psych::factor.congruence(x, y, digits = 16)``.

    ``x`` and ``y``: items x factors (DataFrames are aligned on their common items, in
    ``x``'s order; arrays must have the same rows).  Returns a DataFrame (x's factors as rows,
    y's as columns).
    """
    if isinstance(x, pd.DataFrame) and isinstance(y, pd.DataFrame):
        common = [i for i in x.index if i in set(y.index)]
        if len(common) < 2:
            raise PsychometricsError("the two loading matrices share fewer than 2 items")
        a, b = x.loc[common].to_numpy(float), y.loc[common].to_numpy(float)
        rows, cols = [str(c) for c in x.columns], [str(c) for c in y.columns]
    else:
        a, b = np.asarray(x, float), np.asarray(y, float)
        if a.ndim == 1:
            a = a[:, None]
        if b.ndim == 1:
            b = b[:, None]
        if a.shape[0] != b.shape[0]:
            raise PsychometricsError(f"the loading matrices have {a.shape[0]} and {b.shape[0]} rows")
        rows = list(x.columns) if isinstance(x, pd.DataFrame) else [f"F{j + 1}" for j in range(a.shape[1])]
        cols = list(y.columns) if isinstance(y, pd.DataFrame) else [f"F{j + 1}" for j in range(b.shape[1])]
    num = a.T @ b
    den = np.sqrt(np.outer(np.sum(a * a, axis=0), np.sum(b * b, axis=0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = num / den
    return pd.DataFrame(c, index=rows, columns=cols)


def item_congruence(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Tucker's coefficient over each item's row of loadings (the item's profile)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(x * y, axis=1) / np.sqrt(np.sum(x * x, axis=1) * np.sum(y * y, axis=1))


def original_solution(instrument: Any, columns: dict | None = None):
    """The original version's loadings of an :class:`~psychometrics.scales.Instrument`
    (``instrument.original``) as (loadings DataFrame indexed by data column -- or item id when
    ``columns`` is None --, factor correlations DataFrame or None, the ``original`` dict).
    Returns None when the instrument carries no original solution."""
    orig = getattr(instrument, "original", None)
    if not orig:
        return None
    factors = list(orig["factors"])
    rows = list(orig["loadings"].keys())
    L = pd.DataFrame([orig["loadings"][i] for i in rows], index=rows, columns=factors, dtype=float)
    if columns is not None:
        L.index = [columns[i] for i in rows]
    phi = orig.get("phi")
    phi = None if phi is None else pd.DataFrame(phi, index=factors, columns=factors, dtype=float)
    return L, phi, orig


@dataclass
class CongruenceResult:
    """Comparison of a translated version with the original (:func:`compare_to_original`).

    ``table``: one row per item: the original loadings (``orig_<factor>``), the translated
    version's target-rotated loadings (``<factor>``), ``congruence`` (the item's Tucker
    coefficient) and ``similarity`` (Lorenzo-Seva & ten Berge reading); ``factors``: one row
    per factor with ``congruence`` and ``similarity``; ``overall``: Tucker's coefficient over
    all loadings; ``matrix``: every translated factor against every original factor;
    ``efa``: the translated EFA (target-rotated); ``rotation``: targetQ or targetT;
    ``items_not_in_original``: items of the translation without published loadings;
    ``warnings``; ``reference``: the cut-offs' source.
    """

    table: pd.DataFrame
    factors: pd.DataFrame
    overall: float
    matrix: pd.DataFrame
    efa: EFAResult
    rotation: str
    items_not_in_original: list
    reference: str = CUTOFFS_REFERENCE
    warnings: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return jsonable({"table": self.table, "factors": self.factors, "overall": self.overall,
                         "matrix": self.matrix, "rotation": self.rotation,
                         "items_not_in_original": self.items_not_in_original,
                         "reference": self.reference, "cutoffs": {"equal": EQUAL, "fair": FAIR},
                         "efa": self.efa.to_dict(), "warnings": self.warnings})

    def summary(self) -> str:
        parts = ", ".join(f"{f} {v:.2f}" for f, v in self.factors["congruence"].items())
        return f"Congruence with the original ({self.rotation}): {parts}; overall {self.overall:.2f}"


def compare_to_original(items: Any, original: Any, phi: Any = None, *, method: str = "minres",
                        rotation: str = "auto", missing: str = "pairwise",
                        n_obs: int | None = None) -> CongruenceResult:
    """Compare the translated version (``items``: responses, cases x items, or a correlation
    matrix with ``n_obs``) with the original version's published loadings.

    ``original``: items x factors DataFrame indexed by the item columns of ``items`` (NaN or
    missing rows for loadings the original did not report are taken as 0, with a warning),
    or an :class:`~psychometrics.scales.Instrument` with an ``original`` block whose item ids
    are the columns; ``phi``: the original factor correlations (None: orthogonal).
    The EFA (``method``, the original's number of factors) is rotated to the original
    loadings with ``targetQ`` (``rotation="auto"`` and an oblique original, or any ``phi``
    given) or ``targetT`` (orthogonal original); the congruence coefficients follow.
    Returns a :class:`CongruenceResult`.  Reproduces GPArotation::targetQ/targetT of the
    unrotated psych::fa loadings and psych::factor.congruence.
    """
    rec: list = []
    if hasattr(original, "original") and hasattr(original, "item_ids"):
        sol = original_solution(original)
        if sol is None:
            raise PsychometricsError(f"instrument {original.id!r} has no original solution "
                                     "(`original:` in its file)")
        original, phi, _ = sol
    if not isinstance(original, pd.DataFrame):
        raise PsychometricsError("original must be a DataFrame of loadings (items x factors) "
                                 "indexed by item column, or an instrument with `original:`")
    orig = original.copy()
    orig.index = [str(i) for i in orig.index]
    orig.columns = [str(c) for c in orig.columns]
    names = [str(c) for c in (items.columns if isinstance(items, pd.DataFrame) else [])]
    if not names:
        raise PsychometricsError("items must be a DataFrame whose columns are the items")
    unknown = [i for i in orig.index if i not in names]
    if unknown:
        raise PsychometricsError("the original loadings name item(s) not in the data: "
                                 + ", ".join(map(repr, unknown)))
    extra = [i for i in names if i not in orig.index]
    if extra:
        rec.append(f"{len(extra)} item(s) have no original loadings and are compared with 0: "
                   + ", ".join(extra))
    target = orig.reindex(names)
    n_blank = int(target.isna().to_numpy().sum()) - len(extra) * target.shape[1]
    if n_blank:
        rec.append(f"{n_blank} original loading(s) not reported (blank) are taken as 0.")
    target = target.fillna(0.0)
    k = target.shape[1]
    if k < 1 or k >= len(names):
        raise PsychometricsError(f"the original solution has {k} factor(s) for {len(names)} items")
    if rotation == "auto":
        oblique = phi is not None and not np.allclose(np.asarray(phi, float), np.eye(k))
        rotation = "targetQ" if oblique else "targetT"
    if rotation not in ("targetQ", "targetT"):
        raise PsychometricsError(f"rotation must be 'auto', 'targetQ' or 'targetT', got {rotation!r}")
    if k == 1:
        e = efa(items, 1, method=method, rotation="none", missing=missing, n_obs=n_obs)
        sign = 1.0 if float(e.loadings.to_numpy()[:, 0] @ target.to_numpy()[:, 0]) >= 0 else -1.0
    else:
        e = efa(items, k, method=method, rotation=rotation, missing=missing, n_obs=n_obs,
                target=target)
        sign = 1.0
    rec.extend(w for w in e.warnings if w not in rec)
    Lt = sign * e.loadings.to_numpy()
    T = target.to_numpy()
    mat = congruence(pd.DataFrame(Lt, index=names, columns=target.columns), target)
    fac = np.diag(mat.to_numpy())
    itc = item_congruence(Lt, T)
    overall = float(np.sum(Lt * T) / np.sqrt(np.sum(Lt * Lt) * np.sum(T * T)))
    table = pd.DataFrame(index=names)
    for f in target.columns:
        table[f"orig_{f}"] = target[f]
    for j, f in enumerate(target.columns):
        table[f] = Lt[:, j]
    table["congruence"] = itc
    table["similarity"] = [similarity(v) for v in itc]
    factors = pd.DataFrame({"congruence": fac, "similarity": [similarity(v) for v in fac]},
                           index=list(target.columns))
    low = [f for f, v in zip(target.columns, fac) if abs(v) < FAIR]
    if low:
        rec.append(f"Factor(s) {', '.join(low)} of the translation are not similar to the original "
                   f"(congruence < .85, {CUTOFFS_REFERENCE}).")
    return CongruenceResult(table=table, factors=factors, overall=overall, matrix=mat, efa=e,
                            rotation=rotation, items_not_in_original=extra, warnings=rec)
