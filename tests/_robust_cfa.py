"""A tiny, independent CFA (Sigma = Lambda Psi Lambda' + Theta, mu = nu + Lambda alpha) built
from a lavaan parameter table, for testing the moment-level MLR / FIML code against lavaan
without the main SEM engine.  Free parameters are the rows lavaan reports with a non-zero SE;
``Delta`` is obtained by central differences, which are exact (up to rounding) because the
moments are quadratic in the parameters."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd

from psychometrics.sem.fiml import vech

HERE = pathlib.Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "sem_robust.json").read_text())

HS_VARS = [f"x{i}" for i in range(1, 10)]
BFI_VARS = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]


def load(name):
    return pd.read_csv(HERE / "data" / name)


def group_data(df, variables, group=None, listwise=True):
    """Per-group arrays in lavaan's group order (first appearance)."""
    if group is None:
        parts = [df]
    else:
        labels = list(dict.fromkeys(df[group].tolist()))
        parts = [df[df[group] == g] for g in labels]
    out = []
    for part in parts:
        y = part[variables].to_numpy(float)
        if listwise:
            y = y[~np.isnan(y).any(axis=1)]
        out.append(y)
    return out


class MiniCFA:
    def __init__(self, ref_fit, variables, meanstructure):
        pt = pd.DataFrame(ref_fit["parameters"])
        self.pt = pt
        self.variables = variables
        self.meanstructure = meanstructure
        self.factors = list(dict.fromkeys(pt.loc[pt.op == "=~", "lhs"]))
        self.groups = sorted(pt.group.unique())
        free = (pt.se.fillna(0) != 0) & pt.op.isin(["=~", "~~", "~1"])
        self.free_rows = np.flatnonzero(free.to_numpy())
        self.x0 = pt.est.to_numpy()[self.free_rows].astype(float)

        p, k = len(variables), len(self.factors)
        vi = {v: i for i, v in enumerate(variables)}
        fi = {f: i for i, f in enumerate(self.factors)}
        self._slots = []   # per group: list of (matrix name, i, j, row)
        for g in self.groups:
            slots = []
            for i in np.flatnonzero(pt.group.to_numpy() == g):
                lhs, op, rhs = pt.lhs[i], pt.op[i], pt.rhs[i]
                if op == "=~":
                    slots.append(("L", vi[rhs], fi[lhs], i))
                elif op == "~~" and lhs in vi:
                    slots.append(("T", vi[lhs], vi[rhs], i))
                elif op == "~~" and lhs in fi:
                    slots.append(("P", fi[lhs], fi[rhs], i))
                elif op == "~1" and lhs in vi:
                    slots.append(("n", vi[lhs], 0, i))
                elif op == "~1" and lhs in fi:
                    slots.append(("a", fi[lhs], 0, i))
            self._slots.append(slots)
        self._shape = (p, k)

    def implied(self, x):
        est = self.pt.est.to_numpy().astype(float).copy()
        est[self.free_rows] = x
        p, k = self._shape
        out = []
        for slots in self._slots:
            M = {"L": np.zeros((p, k)), "T": np.zeros((p, p)), "P": np.zeros((k, k)),
                 "n": np.zeros((p, 1)), "a": np.zeros((k, 1))}
            for name, i, j, row in slots:
                M[name][i, j] = est[row]
                if name in "TP":
                    M[name][j, i] = est[row]
            L = M["L"]
            sigma = L @ M["P"] @ L.T + M["T"]
            mu = (M["n"] + L @ M["a"]).ravel()
            out.append((sigma, mu if self.meanstructure else None))
        return out

    def moments(self, x):
        res = []
        for s, m in self.implied(x):
            res.append(np.concatenate([m, vech(s)]) if self.meanstructure else vech(s))
        return res

    def delta(self, x):
        """Analytic d m / d x (rows [mu, vech(Sigma)] or vech(Sigma))."""
        est = self.pt.est.to_numpy().astype(float).copy()
        est[self.free_rows] = x
        p, k = self._shape
        col_of = {row: c for c, row in enumerate(self.free_rows)}
        r, c = np.triu_indices(p)[1], np.triu_indices(p)[0]
        out = []
        for slots in self._slots:
            M = {"L": np.zeros((p, k)), "T": np.zeros((p, p)), "P": np.zeros((k, k)),
                 "n": np.zeros(p), "a": np.zeros(k)}
            for name, i, j, row in slots:
                if name in "na":
                    M[name][i] = est[row]
                else:
                    M[name][i, j] = est[row]
                    if name in "TP":
                        M[name][j, i] = est[row]
            L, P = M["L"], M["P"]
            LP = L @ P
            nm = p + len(r) if self.meanstructure else len(r)
            D = np.zeros((nm, len(x)))
            for name, i, j, row in slots:
                if row not in col_of:
                    continue
                dmu = np.zeros(p)
                dS = np.zeros((p, p))
                if name == "L":
                    dS[i, :] += LP[:, j]
                    dS[:, i] += LP[:, j]
                    dmu[i] = M["a"][j]
                elif name == "T":
                    dS[i, j] = dS[j, i] = 1.0
                elif name == "P":
                    dS = np.outer(L[:, i], L[:, j])
                    if i != j:
                        dS = dS + dS.T
                elif name == "n":
                    dmu[i] = 1.0
                elif name == "a":
                    dmu = L[:, i].copy()
                col = dS[r, c]
                D[:, col_of[row]] = np.concatenate([dmu, col]) if self.meanstructure else col
            out.append(D)
        return out


def ref_se(ref_fit, cfa):
    return pd.DataFrame(ref_fit["parameters"]).se.to_numpy()[cfa.free_rows].astype(float)
