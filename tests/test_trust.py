"""Issue 12, "wrong numbers or failed fits": each case found by outside testing, against R.

Reference values: tests/reference/trust.json, made by tests/reference/make_trust.R (lavaan 0.6-14,
semTools 0.5-6).  Data: tests/data/cfa36_mcar.csv (simulated 36-item, 6-factor CFA data, 300
rows, 10% of cells deleted completely at random; made by tests/data/make_cfa36_mcar.py),
hs1939.csv, bfi.csv and the example study (examples/).
"""
from __future__ import annotations

import ast
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import psychometrics as pm
from psychometrics.errors import PsychometricsWarning
from psychometrics.invariance import DecisionRule, invariance

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "trust.json").read_text())
DATA = HERE / "data"
EXAMPLES = HERE.parent / "examples"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


def close(a, b, rel=1e-4, abs_=1e-8):
    return abs(a - b) <= max(abs_, rel * abs(b))


# ------------------------------------------------------------------ 1. FIML start values
def test_fiml_with_few_complete_rows_converges_to_lavaan():
    ref = REF["cfa36_fiml"]
    data = pd.read_csv(DATA / "cfa36_mcar.csv")
    items = [c for c in data.columns if c != "id"]
    assert len(items) == 36 and len(data) == 300
    # the case of the issue: 9 complete rows for 36 items -- the complete-case covariance
    # matrix is singular, so it must not be the start (or the sample check) of a FIML fit.
    # Started from it (the code before the fix) this fit ended "did not converge", "information
    # matrix is singular", a loading of 30,061 and logL -13092.72 after about a minute.
    assert int(data[items].notna().all(axis=1).sum()) == ref["complete_rows"] == 9
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = pm.cfa(ref["model"], data, missing="fiml")
    assert fit.converged and fit.problem is None
    # no false "sample covariance matrix is not positive definite" on a fit matching lavaan
    assert "npd_sample" not in fit.diagnostics.codes()
    assert not [w for w in caught if issubclass(w.category, PsychometricsWarning)]
    fm = fit.fit_measures()
    for k in ("chisq", "logl", "unrestricted.logl", "cfi", "rmsea", "srmr"):
        assert close(fm[k.replace(".", "_")], ref["fit"][k]), k
    assert fm["df"] == ref["fit"]["df"] and fm["npar"] == ref["fit"]["npar"]
    pe = fit.parameters()
    r = ref["est"]
    for lhs, op, rhs, est, se in zip(r["lhs"], r["op"], r["rhs"], r["est"], r["se"]):
        row = pe[(pe["lhs"] == lhs) & (pe["op"] == op) & (pe["rhs"] == rhs)].iloc[0]
        # estimates of lavaan's optimiser (its own convergence tolerance): 1e-3 relative
        assert close(row["est"], est, rel=1e-3, abs_=1e-4), (lhs, op, rhs)
        assert close(row["se"], se, rel=1e-3, abs_=1e-4), (lhs, op, rhs)
    # the start from the EM moments is far better than the one from the complete-case moments
    # (the old start; measured logL at the start -13329.6 against -15837.6)
    gs = fit.sample.groups[0]
    assert np.linalg.eigvalsh(gs.cov).min() < 1e-10       # complete-case covariance: singular

    def start_logl(complete_case: bool) -> float:
        saved = gs.h1_cov, gs.h1_mean
        if complete_case:                                   # start_moments() falls back to them
            gs.h1_cov = gs.h1_mean = None
        try:
            xf = fit.model.start_values(fit.sample)
        finally:
            gs.h1_cov, gs.h1_mean = saved
        return fit.objective.loglik(fit.model.implied(xf, full=True))

    em_start, cc_start = start_logl(False), start_logl(True)
    assert fm["logl"] > em_start > cc_start + 1000


def test_npd_sample_still_flagged_for_a_singular_sample():
    hs = pd.read_csv(DATA / "hs1939.csv")
    hs["x10"] = hs["x1"] + hs["x2"]           # exactly collinear with two other indicators
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pm.cfa(HS_MODEL + " + x10", hs)
    assert "npd_sample" in fit.diagnostics.codes()
    assert "not positive definite" in fit.problem
    assert fit.fit_measures()["problem"] == fit.problem


# ------------------------------------------------------------------ 2. group order
def test_group_order_comes_from_the_rows_fitted():
    ref = REF["group_order"]
    hs = pd.read_csv(DATA / "hs1939.csv")
    assert hs["sex"].iloc[0] == ref["row1_sex"] == 1
    hs.loc[0, "x1"] = np.nan                  # the first complete row is now a girl's (sex 2)
    inv = invariance(HS_MODEL, hs, "sex", levels=("configural", "metric", "scalar"),
                     partial="none")
    assert [str(g) for g in inv.fits["scalar"].group_labels] == ref["group_labels"]
    assert inv.reference_group == 2 and inv.groups[0] == 2
    assert close(inv.table.loc["scalar", "chisq"], ref["chisq"])
    lm = inv.latent_means.set_index("factor")
    assert (lm["reference"] == 2).all() and (lm["group"] == 1).all()
    for f, est, se, z, p in zip(ref["factor"], ref["est"], ref["se"], ref["z"], ref["pvalue"]):
        assert close(lm.loc[f, "mean_diff"], est, abs_=1e-5), f
        assert close(lm.loc[f, "se"], se), f
        assert close(lm.loc[f, "z"], z, rel=1e-3), f
        assert close(lm.loc[f, "pvalue"], p, rel=1e-3), f


# ------------------------------------------------------------------ 3. HTMT with missing data
BFI5 = {"agree": "A", "consc": "C", "extra": "E", "neuro": "N", "open": "O"}


def test_htmt_em_correlations_match_semtools():
    ref = REF["htmt_bfi"]
    bfi = pd.read_csv(DATA / "bfi.csv")
    mapping = {f: [f"{c}{i}" for i in range(1, 6)] for f, c in BFI5.items()}
    assert list(mapping) == ref["factors"]
    for missing, key, n in (("fiml", "ml", ref["n_any"]), ("listwise", "listwise", ref["n_listwise"])):
        h = pm.htmt(bfi, mapping, missing=missing)
        assert h.n_obs == n and h.missing == missing
        # EM stops at lavaan's tolerance (1e-5 on the moments): 1e-4 relative
        np.testing.assert_allclose(h.matrix.to_numpy(), np.array(ref[key]), rtol=1e-4)
    assert pm.htmt(bfi, mapping, missing="ml").n_obs == ref["n_any"]


def _bfi_em_items(n=200):
    bfi = pd.read_csv(DATA / "bfi.csv").head(n)
    x = bfi[[f"{c}{i}" for c in "ACE" for i in range(1, 6)]].to_numpy(float)
    return x[~np.isnan(x).all(axis=1)]


def test_htmt_em_bootstrap_equals_cold_em_per_resample():
    # the batched, warm-started, extrapolated EM of the bootstrap reaches the same ML
    # estimate as a plain EM from lavaan's start on the resampled rows (to 1e-6)
    from psychometrics._measurement import _boot_weights, _em_batch
    from psychometrics.sem.fiml import MissingPatterns
    x = _bfi_em_items()
    mu0, s0, _, _ = MissingPatterns(x).em()
    w = _boot_weights(np.random.default_rng(5), len(x), 4)
    mu, sig, ok = _em_batch(x, w, (mu0, s0))
    assert ok
    for b in range(4):
        m1, s1, _, ok1 = MissingPatterns(np.repeat(x, w[b].astype(int), axis=0))._em(
            max_iter=5000, tol=1e-12)
        assert ok1
        np.testing.assert_allclose(sig[b], s1, atol=1e-6 * np.abs(s1).max())
        np.testing.assert_allclose(mu[b], m1, atol=1e-6 * np.abs(m1).max())


def test_htmt_em_bootstrap_draw_does_not_depend_on_its_batch():
    # each resample stops on its own: alone or among others, the same estimate
    from psychometrics._measurement import _EMCases, _boot_weights, _em_batch
    from psychometrics.sem.fiml import MissingPatterns
    x = _bfi_em_items(150)
    start = MissingPatterns(x).em()[:2]
    w = _boot_weights(np.random.default_rng(11), len(x), 6)
    cs = _EMCases(x)
    _, sig, _ = _em_batch(x, w, start, cases=cs)
    for b in (0, 3, 5):
        _, one, _ = _em_batch(x, w[b:b + 1], start, cases=cs)
        np.testing.assert_allclose(one[0], sig[b], rtol=0, atol=1e-12)


def test_htmt_fiml_bootstrap_cis_equal_cold_em_draws():
    # end to end: the CIs of htmt(missing="fiml") are the quantiles of HTMT over resamples
    # each fitted by a cold-started EM (the same seeded case counts)
    from psychometrics._measurement import _boot_weights
    from psychometrics.sem.fiml import MissingPatterns
    from psychometrics.validity import _htmt_from_cor
    bfi = pd.read_csv(DATA / "bfi.csv").head(200)
    mapping = {f: [f"{c}{i}" for i in range(1, 6)] for f, c in list(BFI5.items())[:3]}
    names = [n for v in mapping.values() for n in v]
    h = pm.htmt(bfi, mapping, missing="fiml", n_boot=5, seed=3)
    x = bfi[names].to_numpy(float)
    x = x[~np.isnan(x).all(axis=1)]
    w = _boot_weights(np.random.default_rng(3), len(x), 5)
    blocks = [np.arange(5 * k, 5 * k + 5) for k in range(3)]
    reps = []
    for b in range(5):
        _, s, _, _ = MissingPatterns(np.repeat(x, w[b].astype(int), axis=0))._em(
            max_iter=5000, tol=1e-12)
        d = 1 / np.sqrt(np.diag(s))
        reps.append(_htmt_from_cor((s * np.outer(d, d))[None], blocks, True, True)[0])
    reps = np.array(reps)
    np.testing.assert_allclose(h.ci_lower.to_numpy(), np.quantile(reps, 0.025, axis=0), atol=1e-6)
    np.testing.assert_allclose(h.ci_upper.to_numpy(), np.quantile(reps, 0.975, axis=0), atol=1e-6)


def test_validity_htmt_follows_the_fit_and_states_n():
    bfi = pd.read_csv(DATA / "bfi.csv")
    model = "agree =~ A1 + A2 + A3 + A4 + A5\nconsc =~ C1 + C2 + C3 + C4 + C5"
    items = [f"{c}{i}" for c in "AC" for i in range(1, 6)]
    fit = pm.cfa(model, bfi, missing="fiml")
    v = pm.validity(fit, data=bfi)
    assert v.htmt.missing == "fiml"
    assert v.htmt.n_obs == int(bfi[items].notna().any(axis=1).sum())
    lw = pm.validity(pm.cfa(model, bfi), data=bfi)
    assert lw.htmt.missing == "listwise"
    assert lw.htmt.n_obs == int(bfi[items].notna().all(axis=1).sum())
    assert v.to_dict()["htmt"]["n_obs"] == v.htmt.n_obs


# ------------------------------------------------------------------ 4. partial invariance
@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(DATA / "hs1939.csv")


def _scores(step):
    return {p: (x2, pv) for p, x2, pv in zip(step["parameter"], step["X2"], step["pvalue"])}


def test_strict_search_frees_the_significant_residual_variances(hs):
    ref = REF["hs_sex_mlr_search"]
    # Chen's cut-offs, with a strict step that never holds: the search must free x7~~x7 and
    # x2~~x2 (significant) and then stop -- not free residual variances with X2 < 1
    never_strict = DecisionRule("test", min_delta_cfi=-0.010, max_delta_rmsea=0.015,
                                max_delta_srmr={"metric": 0.030, "strict": -1.0, "default": 0.015},
                                reference="test")
    inv = invariance(HS_MODEL, hs, "sex", estimator="MLR", rule=never_strict)
    freed = inv.freed.set_index("parameter")
    assert list(inv.freed["parameter"]) == ["speed=~x9", "x1~1", "x7~~x7", "x2~~x2"]
    assert close(freed.loc["speed=~x9", "X2"], _scores(ref["metric"])["speed=~x9"][0])
    assert close(freed.loc["x1~1", "X2"], _scores(ref["scalar"])["x1~1"][0])
    assert close(freed.loc["x7~~x7", "X2"], _scores(ref["strict"][0])["x7~~x7"][0])
    assert close(freed.loc["x2~~x2", "X2"], _scores(ref["strict"][1])["x2~~x2"][0])
    # after both, the largest residual-variance score test is not significant
    last = {p: v for p, v in _scores(ref["strict"][2]).items() if "~~" in p}
    best = max(last, key=lambda p: last[p][0])
    assert last[best][1] > 0.05
    msg = " ".join(inv.note["messages"])
    assert "misfit not localised" in msg and best in msg
    row = inv.table.loc["strict (partial)"]
    assert row["decision"] == "not invariant"
    fm = ref["strict"][2]["fit"]
    assert close(row["chisq"], fm["chisq"]) and close(row["cfi_robust"], fm["cfi.robust"])


def test_strict_search_default_rule_frees_x7_residual(hs):
    inv = invariance(HS_MODEL, hs, "sex", estimator="MLR")
    assert list(inv.freed["parameter"]) == ["speed=~x9", "x1~1", "x7~~x7"]
    assert inv.table.loc["strict (partial)", "decision"] == "partially invariant"
    ref = REF["hs_sex_mlr_search"]["strict"][1]["fit"]
    row = inv.table.loc["strict (partial)"]
    for k in ("chisq", "cfi.robust", "rmsea.robust", "srmr"):
        assert close(row[k.replace(".", "_")], ref[k]), k


def _planted_loadings(n=400, seed=7):
    """Two groups, two factors x four items; in group 'b' the loadings of y2, y3, y4 (factor
    f1) are much larger, so the metric step fails on f1's loadings."""
    rng = np.random.default_rng(seed)
    frames = []
    for g in ("a", "b"):
        lam = np.array([1.0, 0.8, 0.7, 0.9, 1.0, 0.8, 0.7, 0.9])
        if g == "b":
            lam[1:4] = [1.5, 1.4, 1.6]
        eta = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], size=n)
        L = np.zeros((8, 2))
        L[:4, 0], L[4:, 1] = lam[:4], lam[4:]
        y = 3 + eta @ L.T + rng.normal(0, 0.6, size=(n, 8))
        f = pd.DataFrame(y, columns=[f"y{i}" for i in range(1, 9)])
        f["grp"] = g
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def test_blocked_candidate_is_named_with_the_true_reason():
    data = _planted_loadings()
    never = DecisionRule("never", min_delta_cfi=1.0, reference="test")
    inv = invariance("f1 =~ y1 + y2 + y3 + y4\nf2 =~ y5 + y6 + y7 + y8", data, "grp",
                     rule=never, levels=("configural", "metric"))
    freed = list(inv.freed["parameter"])
    # two of f1's three free loadings may go; the third would leave f1 one invariant loading
    assert len([p for p in freed if p.startswith("f1=~")]) == 2
    blocked = {"f1=~y2", "f1=~y3", "f1=~y4"} - set(freed)
    assert len(blocked) == 1
    (b,) = blocked
    msg = " ".join(inv.note["messages"]) + " ".join(inv.freed["reason"])
    assert f"{b} (X2 = " in msg and "would leave factor f1 with fewer than two invariant loadings" in msg


# ------------------------------------------------------------------ 5. non-converged fits
def _example_items(prefix):
    d = pd.read_csv(EXAMPLES / "data.csv")
    return d[[c for c in d.columns if c.startswith(prefix)] + ["gender"]]


def test_two_identical_items_fit_is_not_a_result():
    d = _example_items("wai_")
    d["wai_2"] = d["wai_1"]
    model = ("goal =~ wai_1 + wai_2 + wai_3 + wai_4\ntask =~ wai_5 + wai_6 + wai_7 + wai_8\n"
             "bond =~ wai_9 + wai_10 + wai_11 + wai_12")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pm.cfa(model, d, missing="fiml")
        fm = fit.fit_measures()
        assert fit.problem and fm["problem"] == fit.problem
        inv = invariance(model, d, "gender", missing="fiml")
    dec = list(inv.table["decision"])
    assert dec[0].startswith("not evaluated: ")
    assert not any(x in ("invariant", "partially invariant") for x in dec)
    assert np.isnan(inv.table["cfi"].iloc[0]) and np.isnan(inv.table["chisq"].iloc[0])
    assert inv.latent_means.empty
    assert any("not evaluated" in m for m in inv.note["messages"])


# ------------------------------------------------------------------ 7. omega reflection
def test_omega_warns_when_it_reflects_items():
    bfi = pd.read_csv(DATA / "bfi.csv")
    items = bfi[["A1", "A2", "A3", "A4", "A5"]]       # A1 is negatively keyed
    with pytest.warns(PsychometricsWarning, match=r"\['A1'\].*reversed"):
        o = pm.omega(items)
    assert o.key["A1"] == -1 and any("A1" in w for w in o.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PsychometricsWarning)
        pm.omega(items, keys=["A1"])                  # keyed by the user: nothing to say


# ------------------------------------------------------------------ the import circle
def test_reliability_and_validity_import_one_way():
    pkg = HERE.parent / "psychometrics"

    def imported(name):
        tree = ast.parse((pkg / name).read_text(encoding="utf-8"))
        out = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                out.add(node.module.rsplit(".", 1)[-1])
            elif isinstance(node, ast.Import):
                out.update(a.name.rsplit(".", 1)[-1] for a in node.names)
        return out

    assert "validity" not in imported("reliability.py")
    assert not {"validity", "reliability"} & imported("_measurement.py")
    assert "_measurement" in imported("reliability.py") and "_measurement" in imported("validity.py")


# ------------------------------------------------------------------ 5 + 6 through the report
@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """The example study with two instruments, ML + FIML: wai_2 a copy of wai_1, seven blank
    group cells, and out_3 answered by only three cases."""
    from psychometrics.report.pipeline import run_validation
    tmp = tmp_path_factory.mktemp("broken")
    shutil.copy(EXAMPLES / "outcome.yaml", tmp / "outcome.yaml")
    d = pd.read_csv(EXAMPLES / "data.csv", dtype=str, keep_default_na=False)
    d["wai_2"] = d["wai_1"]
    d.loc[d.index[5:12], "gender"] = ""
    d.loc[d.index[3:], "out_3"] = ""
    d.to_csv(tmp / "data.csv", index=False)
    doc = yaml.safe_load((EXAMPLES / "study.yaml").read_text(encoding="utf-8"))
    doc["estimator"] = "ML"
    doc["instruments"] = [i for i in doc["instruments"]
                          if i.get("scale") == "wai_sr" or i.get("file") == "outcome.yaml"]
    doc.pop("structural", None)
    (tmp / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    # a degenerate item that omega cannot analyse (as an item answered by almost nobody can
    # be): simulated by an omega that refuses the outcome items, so that the test does not
    # depend on which input trips which check
    from psychometrics.errors import PsychometricsError
    from psychometrics.report import steps
    real_need = steps.need

    def need(module, name):
        fn = real_need(module, name)
        if name != "omega":
            return fn

        def omega(x, *a, **k):
            if "out_3" in x.columns:
                raise PsychometricsError("out_3: too few cases for a correlation")
            return fn(x, *a, **k)
        return omega

    mp = pytest.MonkeyPatch()
    mp.setattr(steps, "need", need)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run_validation(tmp / "study.yaml", None, bootstrap=5, parallel_iterations=5,
                                  omega_bootstrap=0, figures=False)
    finally:
        mp.undo()


def test_report_failures_are_per_instrument_and_consistent(broken_run):
    res = broken_run.results
    steps = [e["step"] for e in res["errors"]]
    # blank group cells do not make split-half validation fail
    assert not [s for s in steps if "split-half" in s or s.startswith("EFA: wai")]
    assert "split_half" in res["efa"]["wai_sr"]
    # results.json holds exactly the EFA the report shows
    for inst in ("wai_sr", "client_outcome"):
        shown = f"efa_{inst}" in res["tables"]
        assert shown == (inst in res["efa"]), inst
    # the degenerate item fails its own scale only
    assert set(res["reliability"]["wai_sr"]) == {"goal", "task", "bond", "total"}
    assert not res["reliability"]["client_outcome"]
    rel = res["tables"]["reliability"]["frame"]
    assert len(rel) == 4 and all(str(i).startswith("WAI") for i in rel.index)
    assert any(s.startswith("reliability client_outcome") for s in steps)
    # the measurement model with two identical items is not a result: no validity from it
    assert any(s.startswith("validity") for s in steps) and not res["validity"]


def test_report_shows_why_a_fit_is_not_a_result(broken_run):
    res = broken_run.results
    assert res["cfa"]["wai_sr"]["problem"]
    fit_tab = res["tables"]["fit_indices"]["frame"]
    row = fit_tab.loc[[i for i in fit_tab.index if "WAI" in str(i)][0]]
    assert row["status"] and pd.isna(row["cfi"]) and pd.isna(row["chisq"])
    inv = res["invariance"]["wai_sr"]
    decisions = [str(d) for d in pd.DataFrame(**{k: inv["table"][k] for k in
                                                 ("columns", "index", "data")})["decision"]]
    assert decisions[0].startswith("not evaluated")
    assert "invariant" not in decisions and "partially invariant" not in decisions
