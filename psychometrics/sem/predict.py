"""Factor scores of a fitted model, as ``lavaan::lavPredict(fit, method = ...)``.

For each case (rows of the fit's data; with FIML every case with an observed indicator, using
the indicators it has) the latent variables are predicted from the model-implied moments:

* ``"regression"`` (Thurstone 1935; lavaan's default): E(eta) + Cov(eta, y_o) Sigma_oo^-1
  (y_o - mu_o);
* ``"bartlett"`` (Bartlett 1937): E(eta) + (L_o' T_oo^-1 L_o)^-1 L_o' T_oo^-1 (y_o - mu_o), with
  L the loadings and T the residual covariances.

Without a mean structure mu is the sample mean and E(eta) = 0, as lavaan does.  A case whose
observed indicators do not identify a factor gets NaN for Bartlett scores (the matrix is
singular) for that factor -- lavaan gives NA too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ModelError


def lav_predict(fit, method: str = "regression") -> pd.DataFrame:
    """Factor scores of the cases the fit used (see the module docstring); returns a DataFrame
    indexed by case (the data's row labels) with one column per latent variable, and a
    ``group`` column for a multi-group fit.  Reproduces ``lavPredict(fit, method=)``
    ("regression" or "Bartlett") for complete data and for FIML fits."""
    m = str(method).lower()
    if m not in ("regression", "bartlett"):
        raise ModelError(f"method must be 'regression' or 'Bartlett', got {method!r}")
    model = fit.model
    lv = list(model.lv)
    if not lv:
        raise ModelError("the model has no latent variables to predict")
    p = model.p
    ilv = [model.pos[v] for v in lv]
    mats = model.matrices(fit.x)
    frames = []
    for g, ((C, eta), (A, P, M), gs) in enumerate(zip(model.implied(fit.x, all_vars=True), mats,
                                                     fit.sample.groups)):
        X = gs.data
        if X.shape[0] == 0:
            raise ModelError("factor scores need the cases: this fit was made from sample moments")
        Sigma = C[:p, :p]
        if model.meanstructure:
            mu, eeta = eta[:p], eta[ilv]
        else:
            mu, eeta = gs.mean, np.zeros(len(lv))
        cov_ly = C[np.ix_(ilv, range(p))]
        L = A[np.ix_(range(p), ilv)]
        T = P[:p, :p]
        out = np.full((X.shape[0], len(lv)), np.nan)
        obs = ~np.isnan(X)
        patterns, inv = np.unique(obs, axis=0, return_inverse=True)
        for k, pat in enumerate(patterns):
            rows = np.flatnonzero(inv.ravel() == k)
            o = np.flatnonzero(pat)
            if not len(o):
                continue
            yc = X[np.ix_(rows, o)] - mu[o]
            if m == "regression":
                W = np.linalg.solve(Sigma[np.ix_(o, o)], cov_ly[:, o].T)      # |o| x k
                out[rows] = eeta + yc @ W
            else:
                # factors without an observed indicator in this pattern are not identified
                # (NaN, as lavaan's NA); the others as lavaan (its generalised inverse of the
                # then block-singular L'T^-1 L gives the same values)
                keep = np.flatnonzero(np.any(L[o] != 0, axis=0))
                if not len(keep):
                    continue
                Lo = L[np.ix_(o, keep)]
                try:
                    Ti = np.linalg.inv(T[np.ix_(o, o)])
                    W = np.linalg.solve(Lo.T @ Ti @ Lo, Lo.T @ Ti)               # |keep| x |o|
                except np.linalg.LinAlgError:
                    continue
                out[np.ix_(rows, keep)] = eeta[keep] + yc @ W.T
        df = pd.DataFrame(out, index=gs.case_ids, columns=lv)
        if fit.sample.ngroups > 1:
            df["group"] = gs.label
        frames.append(df)
    return pd.concat(frames) if len(frames) > 1 else frames[0]
