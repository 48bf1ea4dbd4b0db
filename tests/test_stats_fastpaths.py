"""Fast paths of the demo's statistics (issue 13) against the exact / old paths.

* scale descriptives: alpha and omega total from one preparation of the items
  (``scoring._alpha_point`` / ``_omega_point``) against ``reliability.alpha`` / ``omega``,
  bit for bit, on full data, subsets and failing inputs (same error text);
* the Jacobian of ``:=`` parameters differenced only in the labelled parameters against the
  Jacobian over every parameter; ``parameters()`` computed once per fit, every call a copy;
* Little's EM with its pattern indices taken once against the loop of the old code.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics import reliability as rel
from psychometrics import scoring
from psychometrics.sem import defined as _defined
from psychometrics.sem import sem

HERE = Path(__file__).parent
HS = pd.read_csv(HERE / "data" / "hs1939.csv")
WAI = pd.read_csv(HERE.parent / "examples" / "data.csv")
WAI_ITEMS = [f"wai_{i}" for i in range(1, 13)]


def _scales():
    x = WAI[WAI_ITEMS]
    yield x, 3
    yield x[["wai_1", "wai_2", "wai_10", "wai_12"]], 1
    yield x.iloc[:120], 2
    yield x.iloc[150:][["wai_3", "wai_5", "wai_7", "wai_9", "wai_4"]], 1


@pytest.mark.parametrize("k", range(4))
def test_scale_alpha_omega_same_numbers(k):
    x, nf = list(_scales())[k]
    pre = scoring._scale_moments(x)
    assert pre is not None
    assert scoring._alpha_point(x, pre) == rel.alpha(x).estimate
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # omega's notes (two group factors, Heywood)
        assert scoring._omega_point(x, pre, nf) == rel.omega(x, n_groups=nf).omega_total


def test_scale_alpha_warnings_as_alpha():
    x = WAI[WAI_ITEMS].copy()
    x["wai_3"] = 8 - x["wai_3"]           # one item reversed: alpha warns about it
    import warnings
    with warnings.catch_warnings(record=True) as fast:
        warnings.simplefilter("always")
        scoring._alpha_point(x, scoring._scale_moments(x))
    with warnings.catch_warnings(record=True) as ref:
        warnings.simplefilter("always")
        rel.alpha(x)
    assert [str(w.message) for w in fast] == [str(w.message) for w in ref]
    assert any("wai_3" in str(w.message) for w in fast)


def test_scale_alpha_omega_errors_as_the_functions():
    x = WAI[WAI_ITEMS[:4]].copy()
    x.loc[:, "wai_2"] = np.nan                      # an item without responses
    for fast, slow in ((lambda: scoring._alpha_point(x, scoring._scale_moments(x)),
                        lambda: rel.alpha(x)),
                       (lambda: scoring._omega_point(x, scoring._scale_moments(x), 1),
                        lambda: rel.omega(x))):
        with pytest.raises(Exception) as e1:
            fast()
        with pytest.raises(Exception) as e2:
            slow()
        assert type(e1.value) is type(e2.value) and str(e1.value) == str(e2.value)
    y = WAI[WAI_ITEMS[:4]]
    with pytest.raises(Exception) as e1:           # 3 group factors need 6 items
        scoring._omega_point(y, scoring._scale_moments(y), 3)
    with pytest.raises(Exception) as e2:
        rel.omega(y, n_groups=3)
    assert str(e1.value) == str(e2.value)


M_MED = """ visual  =~ x1 + x2 + x3
            textual =~ x4 + x5 + x6
            speed   =~ x7 + x8 + x9
            textual ~ a*visual
            speed ~ b*textual + c*visual
            ind := a*b
            total := c + a*b
            odd := exp(a) - sqrt(abs(b)) """


def test_defined_jacobian_only_labelled_columns():
    fit = sem(M_MED, HS)
    f = lambda xr: fit._defined_values(xr)  # noqa: E731
    full = _defined.jacobian(f, fit.x)
    cols = fit._label_columns()
    assert 0 < len(cols) < fit.x.size
    fast = _defined.jacobian(f, fit.x, cols=cols)
    assert np.array_equal(full, fast)
    # the columns left out are exactly zero in the full Jacobian
    rest = np.setdiff1d(np.arange(fit.x.size), cols)
    assert np.all(full[:, rest] == 0)
    # a non-finite value differences every column (NaN stays where it was)
    g = lambda xr: [np.nan] + list(f(xr))[1:]  # noqa: E731
    assert np.array_equal(_defined.jacobian(g, fit.x), _defined.jacobian(g, fit.x, cols=cols),
                          equal_nan=True)


def test_parameters_once_per_fit_each_call_a_copy():
    fit = sem(M_MED, HS)
    p1 = fit.parameters()
    p1.loc[0, "est"] = 123.0
    p2 = fit.parameters()
    assert p2.loc[0, "est"] != 123.0
    ref = fit._parameters(False)
    pd.testing.assert_frame_equal(p2, ref)
    pd.testing.assert_frame_equal(fit.parameters(rsquare=True), fit._parameters(True))
    d = fit.parameters().set_index("lhs").loc[["ind", "total", "odd"]]
    assert np.all(d["se"] > 0)


def _em_old(x, tol=1e-10, max_iter=5000):
    """The EM loop of screening.em_mvn before issue 13 (index arrays built per iteration)."""
    from psychometrics.screening import _pattern_stats
    n, p = x.shape
    keys, inverse, counts, sums, cross = _pattern_stats(x)
    mu = np.nanmean(x, axis=0)
    var = np.nanvar(x, axis=0)
    var = np.where(np.isfinite(var) & (var > 0), var, 1.0)
    sigma = np.diag(var)
    complete = [k for k in range(len(keys)) if keys[k].all()]
    t1_c = sums[complete].sum(axis=0)
    t2_c = cross[complete].sum(axis=0)
    partial = [(k, np.nonzero(keys[k])[0], np.nonzero(~keys[k])[0])
               for k in range(len(keys)) if not keys[k].all()]
    it = 0
    for it in range(1, max_iter + 1):
        t1 = t1_c.copy()
        t2 = t2_c.copy()
        for k, oi, mi in partial:
            nk = counts[k]
            so = sums[k][oi]
            coo = cross[k][np.ix_(oi, oi)]
            s_oo = sigma[np.ix_(oi, oi)]
            s_mo = sigma[np.ix_(mi, oi)]
            beta = np.linalg.solve(s_oo, s_mo.T).T
            a = mu[mi] - beta @ mu[oi]
            sm = nk * a + beta @ so
            cmo = np.outer(a, so) + beta @ coo
            cmm = (nk * np.outer(a, a) + np.outer(a, so) @ beta.T + beta @ np.outer(so, a)
                   + beta @ coo @ beta.T)
            cond = sigma[np.ix_(mi, mi)] - beta @ s_mo.T
            t1[oi] += so
            t1[mi] += sm
            t2[np.ix_(oi, oi)] += coo
            t2[np.ix_(mi, oi)] += cmo
            t2[np.ix_(oi, mi)] += cmo.T
            t2[np.ix_(mi, mi)] += cmm + nk * cond
        mu_new = t1 / n
        sigma_new = t2 / n - np.outer(mu_new, mu_new)
        change = max(np.max(np.abs(mu_new - mu) / np.maximum(1, np.abs(mu))),
                     np.max(np.abs(sigma_new - sigma) / np.maximum(1, np.abs(sigma))))
        mu, sigma = mu_new, sigma_new
        if change < tol:
            break
    return mu, sigma, it


def test_little_em_same_iterations_and_numbers():
    from psychometrics.screening import em_mvn
    x = WAI[WAI_ITEMS].to_numpy(dtype=float)
    x = x[~np.isnan(x).all(axis=1)]
    assert np.isnan(x).any()
    mu, sigma, it, conv = em_mvn(x)
    mu0, sigma0, it0 = _em_old(x)
    assert conv and it == it0
    assert np.array_equal(mu, mu0) and np.array_equal(sigma, sigma0)


def test_jsonable_frames_as_itertuples():
    """jsonable() reads a DataFrame column by column: the rows it gives are those of
    itertuples (the old path), for every kind of column, no columns, duplicate names."""
    import json

    from psychometrics._results import jsonable
    frames = [pd.DataFrame({"a": [1.0, np.nan, np.inf], "b": ["x", None, "z"], "c": [1, 2, 3],
                            "d": [True, False, True]}),
              pd.DataFrame({"s": pd.array(["a", "b", "c"], dtype="string"),
                            "i": pd.array([1, 2, 3], dtype="Int64")}),
              pd.DataFrame(np.zeros((0, 3))), pd.DataFrame(index=range(3)),
              pd.DataFrame([[1, 2], [3, 4]], columns=["x", "x"]),
              pd.DataFrame({"t": pd.to_datetime(["2020-01-01", None])}),
              pd.DataFrame({"cat": pd.Categorical(["a", "b", None])}),
              sem(M_MED, HS).parameters(rsquare=True)]
    for f in frames:
        old = [[jsonable(v) for v in row] for row in f.itertuples(index=False)]
        assert json.dumps(jsonable(f)["data"], default=str) == json.dumps(old, default=str)
    # plain values keep their types
    assert jsonable({"a": [1, 2.5, float("nan"), True, None, "s"]}) == \
        {"a": [1, 2.5, None, True, None, "s"]}


def test_baseline_shared_by_fits_of_the_same_data():
    """The independence model is fitted once per data set: an invariance-like pair of models
    of the same data shares it, and its numbers are those of a fresh fit_baseline."""
    from psychometrics.sem import cfa
    from psychometrics.sem.results import fit_baseline
    m = """ visual  =~ x1 + x2 + x3
            textual =~ x4 + x5 + x6 """
    a = cfa(m, HS, group="school")
    b = cfa(m, HS, group="school", group_equal=("loadings",))
    assert a.baseline() is b.baseline()
    fresh = fit_baseline(b)
    assert fresh.fmin == b.baseline().fmin and np.array_equal(fresh.x, b.baseline().x)
    assert a.fit_measures()["baseline_chisq"] == b.fit_measures()["baseline_chisq"]
    c = cfa(m, HS.iloc[:200], group="school")          # other data: its own baseline
    assert c.baseline() is not a.baseline()
    d = cfa(m, HS, group="school", estimator="MLR")    # other estimator: its own baseline
    assert d.baseline() is not a.baseline()


def test_run_sets_library_objects_aside_from_gc_and_puts_them_back(tmp_path, monkeypatch):
    """run_all freezes the objects that exist before the run (gc.freeze) and unfreezes them
    at the end; a caller's own freeze is left alone."""
    import gc

    from psychometrics.report import steps
    seen = []

    def fake_run(r):
        seen.append(gc.get_freeze_count())
        raise RuntimeError("stop")

    monkeypatch.setattr(steps, "_run_all", fake_run)
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError):
        steps.run_all(None)
    assert seen[-1] > 0 and gc.get_freeze_count() == 0      # frozen during, put back after
    gc.freeze()
    try:
        n = gc.get_freeze_count()
        with pytest.raises(RuntimeError):
            steps.run_all(None)
        assert seen[-1] == n and gc.get_freeze_count() == n  # the caller's freeze untouched
    finally:
        gc.unfreeze()


def _ordinal_parameters_old(fit):
    """OrdinalCFAFit.parameters before issue 13: the threshold and scale rows' standardised
    columns set row by row."""
    from psychometrics.sem.results import CFAFit
    df = CFAFit._parameters(fit, False)
    allc = fit._all_cov()
    pos = fit.model.pos
    gl = fit.group_labels
    for i in np.flatnonzero(df["op"].isin(["|", "~*~"]).to_numpy()):
        g = gl.index(df.at[i, "group"]) if fit.ngroups > 1 else 0
        sd = np.sqrt(allc[g][pos[df.at[i, "lhs"]], pos[df.at[i, "lhs"]]])
        df.at[i, "std_lv"] = df.at[i, "est"]
        if df.at[i, "op"] == "|":
            df.at[i, "std_all"] = df.at[i, "est"] / sd
            df.at[i, "std_nox"] = df.at[i, "est"] / sd
        else:
            df.at[i, "std_all"] = df.at[i, "est"] * sd
            df.at[i, "std_nox"] = df.at[i, "est"] * sd
    return df


@pytest.mark.parametrize("group", [None, "gender"])
def test_ordinal_parameters_as_the_row_by_row_loop(group):
    # WLSMV fits: threshold and scale rows standardised column-wise, once per fit (cached),
    # equal to the old row-by-row loop bit for bit (one and two groups, free scales in group 2)
    import psychometrics as pm
    bfi = pd.read_csv(HERE / "data" / "bfi.csv")
    model = "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"
    kw = {"group": group, "group_equal": ("thresholds", "loadings")} if group else {}
    fit = pm.cfa(model, bfi, ordered=True, **kw)
    got = fit.parameters()
    assert (got["op"] == "|").sum() > 0 and (got["op"] == "~*~").sum() > 0
    pd.testing.assert_frame_equal(got, _ordinal_parameters_old(fit), check_exact=True)
    got.loc[0, "est"] = 123.0
    assert fit.parameters().loc[0, "est"] != 123.0


def _check_columns_old(res, source, min_nonmissing):
    """_validate._check_columns before issue 13: one dropna, max and min per column."""
    from psychometrics._text import show
    from psychometrics.errors import CellProblem, DataError
    for col in res.columns:
        v = res[col].dropna()
        if len(v) < min_nonmissing:
            raise DataError(
                f"{source}: item column {col!r} has {len(v)} non-missing value(s); "
                f"at least {min_nonmissing} are needed",
                [CellProblem(source, "all rows", str(col), None, "empty or almost empty column")])
        if float(v.max()) == float(v.min()):
            raise DataError(
                f"{source}: item column {col!r} is constant (every value is {show(v.iloc[0])}): "
                "an item with no variance cannot be analysed; remove it",
                [CellProblem(source, "all rows", str(col), v.iloc[0], "zero variance")])
    return res


@pytest.mark.parametrize("case", range(6))
@pytest.mark.parametrize("min_nonmissing", [0, 1, 2, 3])
def test_check_columns_as_the_column_loop(case, min_nonmissing):
    # the same frame back, or the same error (message and problem cell) for the first column
    # that fails, as the per-column loop
    from psychometrics._validate import _check_columns
    from psychometrics.errors import DataError
    nan = np.nan
    frames = [
        {"a": [1.0, 2.0, nan], "b": [3.0, 1.0, 2.0]},
        {"a": [1.0, 2.0, 3.0], "b": [nan, 4.0, nan], "c": [5.0, 5.0, 5.0]},
        {"a": [1.0, 2.0, 3.0], "c": [5.0, nan, 5.0], "b": [nan, nan, nan]},
        {"a": [nan, nan, nan], "b": [2.5, 2.5, nan]},
        {"a": [-0.0, 0.0, nan], "b": [1.0, 2.0, 3.0]},
        {"a": [1.0, 2.0], "b": [7.0, 8.0]},
    ]
    df = pd.DataFrame(frames[case], index=list(range(10, 10 + len(frames[case]["a"]))))
    try:
        want = _check_columns_old(df, "src", min_nonmissing)
    except DataError as exc:
        with pytest.raises(DataError) as got:
            _check_columns(df, "src", min_nonmissing)
        assert str(got.value) == str(exc)
    else:
        assert _check_columns(df, "src", min_nonmissing) is want
