"""The parameter table: one row per model parameter, the single description of the model.

:func:`build_partable` turns parsed syntax (:func:`psychometrics.sem.syntax.parse_model`) into a
:class:`ParTable` with lavaan's columns (``id, lhs, op, rhs, user, group, free, ustart, exo,
label, plabel``) and lavaan's automatic parameters (``lavaan::lavaanify`` with the ``cfa()`` /
``sem()`` defaults of lavaan 0.6-14: ``auto.fix.first``, ``auto.fix.single``, ``auto.var``,
``auto.cov.lv.x``, ``auto.cov.y``, ``int.ov.free``, ``fixed.x``, ``group.equal`` /
``group.partial``).  Variable roles follow ``lavaan:::lav_partable_vnames``.

Every free row gets its own index in the *full* parameter vector (``free`` = 1..n_full, 0 when
fixed).  Equality constraints (shared labels, ``group_equal``, ``a == b``) are recorded as a
0-based reduced index per full parameter (``ParTable.eq_map``), from which the engine builds
``x_full = K @ x``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ModelError, ModelSyntaxError
from .syntax import Formula

GROUP_EQUAL_TYPES = ("loadings", "intercepts", "means", "residuals", "residual.covariances",
                     "lv.variances", "lv.covariances", "regressions", "thresholds")


def _unique(seq):
    seen, out = set(), []
    for s in seq:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


@dataclass
class VarRoles:
    """Variable roles as ``lav_partable_vnames``: lv, ov (model order), ov.x, ov.nox, ..."""

    lv: list
    ov: list
    ov_ind: list
    ov_y: list
    ov_x: list
    ov_nox: list
    lv_x: list
    lv_y: list
    eqs_y: list
    eqs_x: list
    cov_y: list  # lavaan's ov.y/lv.y used by auto.cov.y


def var_roles(formulas: list[Formula]) -> VarRoles:
    """Classify the variables of a model as lavaan does (``lav_partable_vnames``)."""
    fs = [f for f in formulas if f.op not in (":=", "==")]
    lv = _unique(f.lhs for f in fs if f.op == "=~")
    eqs_y = _unique(f.lhs for f in fs if f.op == "~")
    eqs_x = _unique(f.rhs for f in fs if f.op == "~")
    v_ind = _unique(f.rhs for f in fs if f.op == "=~")
    ov_ind = [v for v in v_ind if v not in lv]
    ov_y = [v for v in eqs_y if v not in lv and v not in ov_ind]
    ov_x = [v for v in eqs_x if v not in lv and v not in ov_ind and v not in ov_y]
    extra = _unique([f.lhs for f in fs if f.op in ("~~", "~1") and f.lhs not in lv]
                    + [f.rhs for f in fs if f.op == "~~" and f.rhs not in lv])
    ov = ov_ind + ov_y + ov_x
    ov += [v for v in extra if v not in ov]
    # exogenous x that appear in user ~~ / ~1 formulas become random (not fixed.x)
    user_vars = {f.lhs for f in fs if f.op in ("~~", "~1")} | {f.rhs for f in fs if f.op == "~~"}
    ov_x = [v for v in ov_x if v not in user_vars]
    ov_nox = [v for v in ov if v not in ov_x]
    lv_x = [v for v in lv if v not in v_ind and v not in eqs_y]
    pure_y = [v for v in eqs_y if v not in v_ind and v not in eqs_x]
    ovy_auto = [v for v in ov if v in pure_y and v not in lv]
    lvy_auto = [v for v in lv if v in pure_y]
    return VarRoles(lv=lv, ov=ov, ov_ind=ov_ind, ov_y=ov_y, ov_x=ov_x, ov_nox=ov_nox, lv_x=lv_x,
                    lv_y=[v for v in lv if v in eqs_y], eqs_y=eqs_y, eqs_x=eqs_x,
                    cov_y=lvy_auto + ovy_auto)


@dataclass
class ParTable:
    """lavaan's parameter table (columns as lists / numpy arrays, one entry per row).

    ``group`` is 1-based (0 for ``:=`` rows); ``free`` is 0 (fixed) or the 1-based index of the
    row in the full parameter vector; ``eq_map[k]`` is the 0-based reduced index of full
    parameter ``k``.  ``roles`` are the variable roles; ``defined`` the ``:=`` formulas.
    """

    lhs: list
    op: list
    rhs: list
    user: np.ndarray
    group: np.ndarray
    free: np.ndarray
    ustart: np.ndarray
    exo: np.ndarray
    label: list
    start: np.ndarray
    ngroups: int
    roles: VarRoles
    meanstructure: bool
    eq_map: np.ndarray = None
    eq_label: list = None  # output label per row (user label or group-1 plabel when tied)
    defined: list = field(default_factory=list)
    group_equal: tuple = ()
    group_partial: tuple = ()

    @property
    def nrow(self) -> int:
        return len(self.lhs)

    @property
    def plabel(self) -> list:
        return [f".p{i + 1}." for i in range(self.nrow)]

    @property
    def n_full(self) -> int:
        return int(self.free.max()) if self.nrow else 0

    @property
    def n_reduced(self) -> int:
        return int(self.eq_map.max()) + 1 if self.eq_map is not None and len(self.eq_map) else 0

    def K(self) -> np.ndarray:
        """0/1 matrix with ``x_full = K @ x``."""
        K = np.zeros((self.n_full, self.n_reduced))
        K[np.arange(self.n_full), self.eq_map] = 1.0
        return K

    def free_rows(self) -> np.ndarray:
        """Row index (0-based) of each full parameter, in full-vector order."""
        idx = np.flatnonzero(self.free > 0)
        return idx[np.argsort(self.free[idx])]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"id": np.arange(1, self.nrow + 1), "lhs": self.lhs, "op": self.op,
                             "rhs": self.rhs, "user": self.user, "group": self.group,
                             "free": self.free, "ustart": self.ustart, "exo": self.exo,
                             "label": self.label, "plabel": self.plabel})

    def find(self, lhs, op, rhs, group) -> int | None:
        for i in range(self.nrow):
            if self.op[i] == op and self.group[i] == group and (
                    (self.lhs[i] == lhs and self.rhs[i] == rhs)
                    or (op == "~~" and self.lhs[i] == rhs and self.rhs[i] == lhs)):
                return i
        return None


def _per_group(value, g: int, ngroups: int, line: int, what: str):
    if isinstance(value, list):
        if len(value) != ngroups:
            raise ModelSyntaxError(
                f"c(...) has {len(value)} element(s) but the model has {ngroups} group(s) ({what})",
                line)
        return value[g]
    return value


def _parse_partial(spec: str) -> tuple[str, str, str]:
    s = spec.replace(" ", "")
    for op in ("=~", "~~", "~1", "|", "~"):
        if op == "~1" and s.endswith("~1"):
            return s[:-2], "~1", ""
        if op != "~1" and op in s:
            a, b = s.split(op, 1)
            return a, op, b
    raise ModelSyntaxError("group_partial element is not 'lhs op rhs'", None, spec)


def build_partable(formulas: list[Formula], ngroups: int = 1, meanstructure: bool = False,
                   std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
                   group_equal=(), group_partial=(), auto_cov_y: bool = True,
                   ordered: dict | None = None, parameterization: str = "delta",
                   ordinal_id: str = "lavaan") -> ParTable:
    """Build the parameter table with lavaan's cfa()/sem() defaults.

    Returns a :class:`ParTable`; rows are ordered as ``lavaanify`` orders them (user formulas
    first, then automatic variances, covariances and intercepts), repeated per group, with
    ``:=`` rows last.  Reference: lavaan 0.6-14 ``lavaanify`` / ``lav_partable_flat``.

    ``ordered``: ``{variable: number of thresholds}`` for ordinal indicators (lavaan's
    ``ordered=``): thresholds rows ``v | t1, t2, ...`` (free), intercepts fixed at 0, and per
    ``parameterization`` either scale factors ``v ~*~ v`` fixed at 1 with residual variances
    computed (not free; "delta") or residual variances fixed at 1 ("theta").  Across groups,
    ``ordinal_id="lavaan"`` frees the scales (delta) / residual variances (theta) and latent
    means in groups 2.. when thresholds are equal (lavaanify); ``"wu_estabrook_2016"`` follows
    Wu & Estabrook (2016) as ``semTools::measEq.syntax(ID.cat = "Wu.Estabrook.2016")``: with
    equal thresholds the scales and the item intercepts of groups 2.. are free, the latent
    means only once the intercepts are equal too.
    """
    ordered = dict(ordered or {})
    if ordered:
        meanstructure = True
    for ge in group_equal:
        if ge not in GROUP_EQUAL_TYPES:
            raise ModelError(f"unknown group_equal type {ge!r}; use one of {', '.join(GROUP_EQUAL_TYPES)}")
    partial = [_parse_partial(p) for p in group_partial]
    user_fs = [f for f in formulas if f.op not in (":=", "==")]
    defined = [f for f in formulas if f.op == ":="]
    eq_fs = [f for f in formulas if f.op == "=="]
    roles = var_roles(formulas)
    lv = roles.lv

    # de-duplicate user formulas (lavaan ignores duplicates with a warning)
    seen = {}
    uniq = []
    for f in user_fs:
        key = (f.lhs, f.op, f.rhs) if f.op != "~~" else (f.lhs, "~~", f.rhs)
        alt = (f.rhs, "~~", f.lhs) if f.op == "~~" else None
        if key in seen or (alt and alt in seen):
            continue
        seen[key] = f
        uniq.append(f)
    user_fs = uniq

    # default (automatic) elements of one group: (lhs, op, rhs)
    defaults = []
    for v in roles.ov:
        for k in range(ordered.get(v, 0)):
            defaults.append((v, "|", f"t{k + 1}"))
    for v in roles.ov_nox + lv:
        defaults.append((v, "~~", v))
    if len(roles.lv_x) > 1:
        for i in range(len(roles.lv_x)):
            for j in range(i + 1, len(roles.lv_x)):
                defaults.append((roles.lv_x[i], "~~", roles.lv_x[j]))
    if auto_cov_y and len(roles.cov_y) > 1:
        for i in range(len(roles.cov_y)):
            for j in range(i + 1, len(roles.cov_y)):
                defaults.append((roles.cov_y[i], "~~", roles.cov_y[j]))
    nx = len(roles.ov_x)
    for j in range(nx):
        for i in range(j, nx):
            defaults.append((roles.ov_x[j], "~~", roles.ov_x[i]))
    if ordered:
        for v in roles.ov:
            if v in ordered:
                defaults.append((v, "~*~", v))
    if meanstructure:
        for v in roles.ov + lv:
            defaults.append((v, "~1", ""))
    user_keys = set()
    for f in user_fs:
        user_keys.add((f.lhs, f.op, f.rhs))
        if f.op == "~~":
            user_keys.add((f.rhs, f.op, f.lhs))
    defaults = [d for d in _unique(defaults) if d not in user_keys]

    lhs, op, rhs, user, group, free, ustart, exo, label, start = ([] for _ in range(10))
    fixed_by_user = []
    freed_by_user = []
    for g in range(ngroups):
        first_seen = set()
        loading_count = {}
        for f in user_fs:
            if f.op == "=~":
                loading_count[f.lhs] = loading_count.get(f.lhs, 0) + 1
        for f in user_fs:
            lhs.append(f.lhs); op.append(f.op); rhs.append(f.rhs); user.append(1); group.append(g + 1)
            fx = _per_group(f.fixed, g, ngroups, f.line, "fixed values")
            fr = _per_group(f.free, g, ngroups, f.line, "NA")
            lb = _per_group(f.label, g, ngroups, f.line, "labels")
            st = _per_group(f.start, g, ngroups, f.line, "start values")
            isfree, us = True, np.nan
            is_exo = 0
            if f.op == "=~" and not std_lv and f.lhs not in first_seen:
                isfree, us = False, 1.0
            if f.op == "=~":
                first_seen.add(f.lhs)
            if f.op == "~~" and f.lhs == f.rhs and std_lv and f.lhs in lv:
                isfree, us = False, 1.0
            if f.op == "~1" and f.lhs in lv:
                # user-specified latent means are free (lavaan: user rows are not auto-fixed)
                isfree = True
            if fx is not None:
                isfree, us = False, float(fx)
            if fr is True:
                isfree, us = True, np.nan
            fixed_by_user.append(fx is not None)
            freed_by_user.append(fr is True)
            free.append(1 if isfree else 0); ustart.append(us); exo.append(is_exo)
            label.append(lb if lb is not None else ""); start.append(np.nan if st is None else float(st))
        for (a, o, b) in defaults:
            lhs.append(a); op.append(o); rhs.append(b); user.append(0); group.append(g + 1)
            isfree, us, is_exo = True, np.nan, 0
            if o == "~~" and a == b and a in lv and std_lv:
                isfree, us = False, 1.0
            if o == "~~" and a != b and a in lv and b in lv and orthogonal:
                isfree, us = False, 0.0
            if o == "~1" and a in lv:
                isfree, us = False, 0.0
            if a in ordered and o == "~1":
                isfree, us = False, 0.0
            if a in ordered and o == "~*~":
                # delta: the scale factor (fixed at 1); theta: computed 1/sd(y*) (reported)
                isfree, us = False, (1.0 if parameterization == "delta" else np.nan)
            if a in ordered and o == "~~" and a == b:
                # delta: computed from the scale (1/delta^2 - explained variance), stored as 0
                # in the RAM matrices; theta: fixed at 1
                isfree, us = False, (0.0 if parameterization == "delta" else 1.0)
            if fixed_x and a in roles.ov_x and (o == "~1" or (o == "~~" and b in roles.ov_x)):
                isfree, us, is_exo = False, np.nan, 1
            free.append(1 if isfree else 0); ustart.append(us); exo.append(is_exo)
            label.append(""); start.append(np.nan)
            fixed_by_user.append(False); freed_by_user.append(False)
    # auto.fix.single: single-indicator latent -> residual variance of the indicator fixed 0
    ind_count = {}
    for f in user_fs:
        if f.op == "=~":
            ind_count.setdefault(f.lhs, []).append(f.rhs)
    all_ind = [f.rhs for f in user_fs if f.op == "=~"]
    single = [inds[0] for l, inds in ind_count.items() if len(inds) == 1 and all_ind.count(inds[0]) == 1
              and inds[0] not in lv]
    for i in range(len(lhs)):
        if user[i] == 0 and op[i] == "~~" and lhs[i] == rhs[i] and lhs[i] in single:
            free[i], ustart[i] = 0, 0.0

    n = len(lhs)
    user_a = np.array(user, dtype=int)
    group_a = np.array(group, dtype=int)
    free_a = np.array(free, dtype=int)
    ustart_a = np.array(ustart, dtype=float)
    exo_a = np.array(exo, dtype=int)
    start_a = np.array(start, dtype=float)

    def is_partial(i):
        for (a, o, b) in partial:
            if op[i] == o and ((lhs[i] == a and rhs[i] == b) or (o == "~~" and lhs[i] == b and rhs[i] == a)):
                return True
        return False

    def eq_type(i):
        o, a, b = op[i], lhs[i], rhs[i]
        if o == "|":
            return "thresholds"
        if o == "=~":
            return "loadings"
        if o == "~":
            return "regressions"
        if o == "~1":
            return "means" if a in lv else "intercepts"
        if o == "~~":
            if a in lv and b in lv:
                return "lv.variances" if a == b else "lv.covariances"
            if a not in lv and b not in lv:
                return "residuals" if a == b else "residual.covariances"
        return None

    # freeing rules that go with group.equal (lavaanify): latent means when intercepts are
    # equal, latent variances when loadings are equal under std.lv
    if ngroups > 1:
        for i in range(n):
            if group_a[i] < 2 or user_a[i] != 0:
                continue
            if ("intercepts" in group_equal and "means" not in group_equal and op[i] == "~1"
                    and lhs[i] in lv):
                free_a[i], ustart_a[i] = 1, np.nan
            if (std_lv and "loadings" in group_equal and "lv.variances" not in group_equal
                    and op[i] == "~~" and lhs[i] == rhs[i] and lhs[i] in lv):
                free_a[i], ustart_a[i] = 1, np.nan
            if ordered and "thresholds" in group_equal and lhs[i] in ordered:
                if parameterization == "delta" and op[i] == "~*~":
                    free_a[i], ustart_a[i] = 1, np.nan
                if parameterization == "theta" and op[i] == "~~" and lhs[i] == rhs[i]:
                    free_a[i], ustart_a[i] = 1, np.nan
                if (ordinal_id == "wu_estabrook_2016" and op[i] == "~1"
                        and ("intercepts" not in group_equal or is_partial(i))):
                    free_a[i], ustart_a[i] = 1, np.nan
            if (ordered and ordinal_id == "lavaan" and "thresholds" in group_equal
                    and "means" not in group_equal and op[i] == "~1" and lhs[i] in lv):
                free_a[i], ustart_a[i] = 1, np.nan

    # full index
    free_idx = np.zeros(n, dtype=int)
    k = 0
    for i in range(n):
        if free_a[i]:
            k += 1
            free_idx[i] = k
    n_full = k
    parent = list(range(n_full))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    out_label = list(label)
    # shared labels
    by_label = {}
    for i in range(n):
        if label[i]:
            by_label.setdefault(label[i], []).append(i)
    for lb, rows in by_label.items():
        frees = [r for r in rows if free_idx[r] > 0]
        fixed = [r for r in rows if free_idx[r] == 0]
        if frees and fixed:
            # a label shared with a fixed row fixes every row carrying it
            val = ustart_a[fixed[0]]
            for r in frees:
                free_idx[r] = 0
                ustart_a[r] = val
        for r in frees[1:]:
            union(free_idx[frees[0]] - 1, free_idx[r] - 1)
    # group.equal
    if ngroups > 1 and group_equal:
        key_rows = {}
        for i in range(n):
            key_rows.setdefault((lhs[i], op[i], rhs[i]), []).append(i)
        for key, rows in key_rows.items():
            rows = sorted(rows, key=lambda r: group_a[r])
            r1 = rows[0]
            if group_a[r1] != 1 or eq_type(r1) not in group_equal or is_partial(r1):
                continue
            if exo_a[r1]:
                continue
            if free_idx[r1] == 0:
                # fixed in group 1 (a marker, a zero latent mean): nothing to tie
                continue
            tied = False
            for r in rows[1:]:
                if free_idx[r] > 0 and not label[r] and not label[r1]:
                    union(free_idx[r1] - 1, free_idx[r] - 1)
                    tied = True
                    out_label[r] = f".p{r1 + 1}."
            if tied:
                out_label[r1] = f".p{r1 + 1}."
    # explicit label == label constraints
    for f in eq_fs:
        if f.lhs not in by_label or f.rhs not in by_label:
            missing = f.lhs if f.lhs not in by_label else f.rhs
            raise ModelSyntaxError("unknown label in equality constraint", f.line, missing)
        a = [r for r in by_label[f.lhs] if free_idx[r] > 0]
        b = [r for r in by_label[f.rhs] if free_idx[r] > 0]
        if a and b:
            union(free_idx[a[0]] - 1, free_idx[b[0]] - 1)

    # renumber free after label-fixing
    k = 0
    old_to_new = {}
    for i in range(n):
        if free_idx[i] > 0:
            old_to_new[free_idx[i] - 1] = k
            k += 1
    new_free = np.zeros(n, dtype=int)
    for i in range(n):
        if free_idx[i] > 0:
            new_free[i] = old_to_new[free_idx[i] - 1] + 1
    roots = {}
    eq_map = np.zeros(k, dtype=int)
    for i in np.flatnonzero(new_free > 0):
        root = find(free_idx[i] - 1)
        if root not in roots:
            roots[root] = len(roots)
        eq_map[new_free[i] - 1] = roots[root]
    # reduced indices in order of first appearance
    pt = ParTable(lhs=lhs, op=op, rhs=rhs, user=user_a, group=group_a, free=new_free,
                  ustart=ustart_a, exo=exo_a, label=label, start=start_a, ngroups=ngroups,
                  roles=roles, meanstructure=meanstructure, eq_map=eq_map, eq_label=out_label,
                  defined=defined, group_equal=tuple(group_equal), group_partial=tuple(group_partial))
    return pt
