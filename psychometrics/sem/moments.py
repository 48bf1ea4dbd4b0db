"""Sample statistics from summary moments: fitting a model to a covariance (or correlation)
matrix with N, as ``lavaan::cfa(model, sample.cov =, sample.mean =, sample.nobs =)``.

Published papers report covariance or correlation matrices (with standard deviations) and N;
:func:`moment_sample_stats` turns them into the engine's :class:`SampleStats`.  As lavaan does
with ``likelihood = "normal"`` (``sample.cov.rescale = TRUE``), a given covariance matrix is
taken as the unbiased (N - 1) estimate and rescaled by (N - 1) / N, so the fit equals the fit to
the raw data.  A correlation matrix with ``sample_sd`` becomes D R D (``lavaan::cor2cov``).
There are no raw data: ML, GLS or ULS (MLR, FIML and the bootstrap need cases).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError
from .sample import GroupStats, SampleStats, saturated_logl


def _per_group(value, labels, what):
    if value is None:
        return [None] * len(labels)
    if isinstance(value, Mapping):
        missing = [g for g in labels if g not in value]
        if missing:
            raise ModelError(f"{what} has no entry for group(s) {', '.join(map(str, missing))}")
        return [value[g] for g in labels]
    if isinstance(value, (list, tuple)) and len(labels) > 1:
        if len(value) != len(labels):
            raise ModelError(f"{what} has {len(value)} entries for {len(labels)} groups")
        return list(value)
    return [value] * len(labels) if len(labels) == 1 else [value] * len(labels)


def moment_sample_stats(ov_names: list, sample_cov, sample_mean=None, sample_nobs=None,
                        sample_sd=None) -> SampleStats:
    """Per-group :class:`SampleStats` from covariance (or correlation + ``sample_sd``) matrices.

    ``sample_cov``: a DataFrame (variables as index and columns) for one group, or a dict
    {group label: DataFrame} (or a list, groups named 1, 2, ...) for several; ``sample_mean``:
    Series/dict of Series (needed for a mean structure); ``sample_nobs``: N (int, or per group);
    ``sample_sd``: standard deviations when ``sample_cov`` holds correlations.
    """
    if isinstance(sample_cov, Mapping):
        labels = list(sample_cov)
        covs = [sample_cov[g] for g in labels]
    elif isinstance(sample_cov, (list, tuple)):
        covs = list(sample_cov)
        labels = list(range(1, len(covs) + 1)) if len(covs) > 1 else [None]
    else:
        covs, labels = [sample_cov], [None]
    if sample_nobs is None:
        raise ModelError("sample_nobs (the number of cases) is needed with sample_cov")
    nobs = _per_group(sample_nobs, labels, "sample_nobs")
    means = _per_group(sample_mean, labels, "sample_mean")
    sds = _per_group(sample_sd, labels, "sample_sd")
    ss = SampleStats(ov_names=list(ov_names), groups=[], group_var=None if len(labels) == 1 else "group",
                     missing="listwise")
    for lab, S, n, m, sd in zip(labels, covs, nobs, means, sds):
        where = "sample_cov" + (f" of group {lab!r}" if lab is not None else "")
        if not isinstance(S, pd.DataFrame):
            raise DataError(f"{where}: give a DataFrame with the variable names as index and columns")
        S = S.copy()
        S.index, S.columns = [str(i) for i in S.index], [str(c) for c in S.columns]
        absent = [v for v in ov_names if v not in S.columns or v not in S.index]
        if absent:
            raise ModelError(f"variable(s) not in {where}: {', '.join(absent)}")
        S = S.loc[ov_names, ov_names].to_numpy(dtype=float)
        if not np.all(np.isfinite(S)):
            raise DataError(f"{where}: the matrix has missing or infinite cells")
        if np.max(np.abs(S - S.T)) > 1e-8 * max(1.0, np.max(np.abs(S))):
            raise DataError(f"{where}: the matrix is not symmetric")
        S = (S + S.T) / 2
        if sd is not None:
            sdv = pd.Series(sd, index=ov_names if not isinstance(sd, pd.Series) else None) \
                if not isinstance(sd, pd.Series) else sd
            sdv.index = [str(i) for i in sdv.index]
            sdv = sdv.loc[ov_names].to_numpy(dtype=float)
            if not np.allclose(np.diag(S), 1.0):
                raise DataError(f"{where}: with sample_sd the matrix must be a correlation matrix "
                                "(1 on the diagonal)")
            if np.any(~(sdv > 0)):
                raise DataError(f"{where}: standard deviations must be positive")
            S = S * np.outer(sdv, sdv)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise ModelError(f"sample_nobs{'' if lab is None else f' of group {lab!r}'} must be a "
                             f"whole number >= 2, got {n!r}")
        n = int(n)
        if np.linalg.eigvalsh(S)[0] <= 0:
            raise DataError(f"{where}: the matrix is not positive definite")
        S = S * (n - 1) / n            # lavaan's sample.cov.rescale (likelihood = "normal")
        if m is not None:
            mv = pd.Series(m) if not isinstance(m, pd.Series) else m
            if not isinstance(m, pd.Series):
                mv = pd.Series(np.asarray(m, dtype=float), index=ov_names[:len(np.asarray(m))])
            mv.index = [str(i) for i in mv.index]
            absent = [v for v in ov_names if v not in mv.index]
            if absent:
                raise ModelError(f"variable(s) not in sample_mean: {', '.join(absent)}")
            mean = mv.loc[ov_names].to_numpy(dtype=float)
        else:
            mean = np.full(len(ov_names), np.nan)
        p = len(ov_names)
        ss.groups.append(GroupStats(label=lab, nobs=n, cov=S, mean=mean, data=np.empty((0, p)),
                                    case_ids=np.array([]), h1_cov=S, h1_mean=mean,
                                    h1_logl=saturated_logl(n, S)))
    return ss


def check_moment_fit(data, estimator: str, missing: str) -> None:
    """Moments instead of data: no data, ML, complete data (lavaan refuses the same)."""
    if data is not None:
        raise ModelError("give either data or sample_cov, not both")
    if estimator not in ("ML", "GLS", "ULS"):
        raise ModelError(f"estimator {estimator!r} needs raw data; with sample_cov use 'ML', "
                         "'GLS' or 'ULS'")
    if missing != "listwise":
        raise ModelError("missing='fiml' needs raw data; sample_cov describes complete data")
