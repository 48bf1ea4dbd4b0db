"""Bootstrap (psychometrics.sem.bootstrap) -- lavaan's se = "bootstrap" / parameterEstimates
boot.ci.type = "perc" | "bca.simple".

Exact agreement with R is impossible (different random numbers), so: the CI formulas are checked
against R (boot::norm.inter and lavaan's bca.simple code) on a fixed set of draws; the bootstrap
SEs against lavaan's bootstrap SEs (R = 1000, tests/reference/sem_robust.json) within Monte Carlo
error; plus determinism for a seed (also across n_jobs), reporting of failed draws, defined
parameters and basic coverage-type properties.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.errors import ModelError, PsychometricsWarning
from psychometrics.sem import bootstrap as bs
from psychometrics.sem import sem as sem_fit

from _engine_counting import _count_engine_evaluations
from _robust_cfa import REF, load

HS_MODEL = "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
MEDIATION = HS_MODEL + "\n textual ~ a*visual\n speed ~ b*textual + c*visual\n ab := a*b\n total := c + a*b"


@pytest.fixture(scope="module")
def hs():
    return load("hs1939.csv")


pytestmark = pytest.mark.filterwarnings("ignore::psychometrics.errors.PsychometricsWarning")


@pytest.fixture(scope="module")
def hs_fit(hs):
    return pm.cfa(HS_MODEL, hs)


@pytest.fixture(scope="module")
def hs_boot(hs_fit):
    # R = 300 keeps the test short; Monte Carlo error of an SE is about 1/sqrt(2R) = 4 %
    with warnings.catch_warnings():   # a few nonadmissible draws are reported as warnings
        warnings.simplefilter("ignore", PsychometricsWarning)
        return bs.bootstrap(hs_fit, R=300, seed=20261122)


# ------------------------------------------------------------------- CI formulas against R
def test_norm_inter_and_percentile_match_r():
    ref = REF["ci_formulas"]
    t = np.array(ref["t"])
    np.testing.assert_allclose(bs.percentile_ci(t, 0.95), ref["perc95"], rtol=1e-12)
    np.testing.assert_allclose(bs.percentile_ci(t, 0.90), ref["perc90"], rtol=1e-12)
    np.testing.assert_allclose(bs.percentile_ci(np.append(t, 7.0), 0.95), ref["perc95_200"], rtol=1e-12)


def test_bca_simple_matches_r():
    ref = REF["ci_formulas"]
    t = np.array(ref["t"])
    np.testing.assert_allclose(bs.bca_simple_ci(t, ref["t0"], 0.95), ref["bca95"], rtol=1e-12)
    np.testing.assert_allclose(bs.bca_simple_ci(t, ref["t0"], 0.90), ref["bca90"], rtol=1e-12)


def test_bca_equals_percentile_when_unbiased():
    t = np.linspace(-3, 3, 201)             # symmetric draws, half below t0 = 0
    t0 = 0.0
    np.testing.assert_allclose(bs.bca_simple_ci(t[t != 0], t0), bs.percentile_ci(t[t != 0]), rtol=1e-12)


def test_boot_se_divisor_r():
    t = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert bs.boot_se(t) == pytest.approx(np.sqrt(1.25))


# ------------------------------------------------------------------- against lavaan / theory
def test_bootstrap_se_agrees_with_lavaan_within_monte_carlo_error(hs_boot):
    ref = REF["hs_boot"]
    ours = hs_boot.to_frame()
    free = np.array(ref["se"]) > 0
    assert list(ours.lhs[: len(ref["lhs"])]) == list(ref["lhs"])
    ratio = ours.se.to_numpy()[: len(ref["se"])][free] / np.array(ref["se"])[free]
    # per parameter: MC sd of the ratio ~ sqrt(1/600 + 1/2000) = 4.7 % for normal-looking
    # sampling distributions, more for long-tailed ones (loadings near a Heywood case), so
    # each ratio is only required to be within 30 %
    assert np.all(np.abs(ratio - 1) < 0.30), ratio
    # on average over the 21 parameters the error is much smaller
    assert abs(np.mean(ratio) - 1) < 0.05


def test_bootstrap_se_close_to_robust_sandwich_se(hs, hs_boot):
    # the nonparametric bootstrap and the Huber-White SE estimate the same quantity
    mlr = pm.cfa(HS_MODEL, hs, estimator="MLR").parameters()
    ours = hs_boot.to_frame()
    free = mlr.se > 0
    ratio = ours.se[free].to_numpy() / mlr.se[free].to_numpy()
    assert abs(np.median(ratio) - 1) < 0.1


def test_percentile_interval_brackets_estimate_and_is_ordered(hs_boot):
    for ci_type in ("perc", "bca.simple"):
        fr = hs_boot.to_frame(ci_type=ci_type)
        free = fr.se > 0
        assert np.all(fr.ci_lower[free] < fr.est[free])
        assert np.all(fr.ci_upper[free] > fr.est[free])
        fixed = fr.se == 0
        assert np.all(fr.ci_lower[fixed] == fr.est[fixed])
    f95 = hs_boot.to_frame(level=0.95)
    f80 = hs_boot.to_frame(level=0.80)
    assert np.all(f80.ci_upper - f80.ci_lower <= f95.ci_upper - f95.ci_lower + 1e-12)


def test_coverage_of_percentile_intervals_for_a_mean():
    # coverage-type property on a case with a known answer: the mean of a normal sample,
    # estimated as the intercept of a one-indicator-per-factor-free model is awkward; use the
    # CI functions directly on bootstrap draws of sample means.
    rng = np.random.default_rng(7)
    hits = 0
    reps = 200
    for _ in range(reps):
        y = rng.normal(1.0, 2.0, size=60)
        idx = rng.integers(0, 60, size=(400, 60))
        draws = y[idx].mean(axis=1)
        lo, hi = bs.percentile_ci(draws, 0.90)
        hits += lo <= 1.0 <= hi
    # nominal 90 %; binomial sd with 200 reps is 2.1 %
    assert 0.82 <= hits / reps <= 0.96


# ------------------------------------------------------------------- mechanics
def test_seed_determinism_and_jobs(hs_fit):
    a = bs.bootstrap(hs_fit, R=12, seed=5)
    b = bs.bootstrap(hs_fit, R=12, seed=5, n_jobs=2)
    c = bs.bootstrap(hs_fit, R=12, seed=6)
    np.testing.assert_array_equal(a.draws, b.draws)
    assert not np.allclose(a.draws, c.draws)


def test_complete_data_fast_refits_equal_the_engine(hs_fit):
    # complete data (no mean structure): the casewise kernel without incomplete rows and the
    # matrix chain rule give the engine's ML optimum of every draw to 1e-8
    from psychometrics.sem.estimate import make_objective, optimize
    from psychometrics.sem.model import Model
    res = bs.bootstrap(hs_fit, R=4, seed=9)
    rng = np.random.default_rng(9)
    for i in range(4):
        ss = bs._resampled_sample(hs_fit.sample, [rng.integers(0, 301, 301)])
        model = Model(hs_fit.partable, ss)
        ref = optimize(model, make_objective(model, ss, "listwise"), res.draws[i], [1.0], tol=1e-12)
        np.testing.assert_allclose(res.draws[i], ref["x"], rtol=0, atol=1e-8)


def test_newton_and_quasi_newton_refits_agree(hs_fit):
    from psychometrics.sem.estimate import make_objective, optimize
    from psychometrics.sem.model import Model
    rng = np.random.default_rng(2)
    for _ in range(3):
        ss = bs._resampled_sample(hs_fit.sample, [rng.integers(0, 301, 301)])
        model = Model(hs_fit.partable, ss)
        obj = make_objective(model, ss, "listwise")
        xn, ok1 = bs._newton_refit(model, obj, ss, hs_fit.x)
        xq, ok2 = bs._scoring_refit(model, obj, hs_fit.x, [1.0])
        ref = optimize(model, obj, hs_fit.x, [1.0])
        assert ok1 and ok2 and ref["converged"]
        np.testing.assert_allclose(xn, ref["x"], atol=1e-6)
        np.testing.assert_allclose(xq, ref["x"], atol=1e-6)


def test_refit_is_a_real_minimum(hs_fit):
    # a draw equal to the original data (identity resample) reproduces the estimates
    payload = (hs_fit.partable, hs_fit.sample, hs_fit.missing, hs_fit.x + 0.01, None)
    est, ok, adm, _ = bs._refit_many(payload, [[np.arange(hs_fit.sample.groups[0].data.shape[0])]])
    assert ok[0] and adm[0]
    np.testing.assert_allclose(est[0], hs_fit.x, rtol=1e-6, atol=1e-7)


def test_failed_draws_are_reported(hs_fit, monkeypatch):
    # the per-draw path (models the lockstep path does not cover); the lockstep path's
    # failures: tests/test_bootstrap_batch.py
    monkeypatch.setattr(bs, "BATCHED", False)
    calls = {"n": 0}
    real = bs._fast_refit

    def flaky(*args, **kw):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise np.linalg.LinAlgError("singular")
        return real(*args, **kw)

    monkeypatch.setattr(bs, "_fast_refit", flaky)
    with pytest.warns(PsychometricsWarning, match="failed"):
        res = bs.bootstrap(hs_fit, R=9, seed=3)
    assert res.failed == [2, 5, 8]
    assert res.n_successful == 6
    assert np.all(np.isnan(res.draws[res.failed]))
    assert np.all(np.isfinite(res.to_frame().se))
    assert res.to_dict()["failed"] == [2, 5, 8]


def test_defined_parameters_mediation(hs):
    fit = sem_fit(MEDIATION, hs)
    res = bs.bootstrap(fit, R=60, seed=11)
    fr = res.to_frame(ci_type="bca.simple")
    ab = fr[fr.lhs == "ab"].iloc[0]
    pe = fit.parameters()
    assert ab.est == pytest.approx(pe[pe.lhs == "ab"].est.iloc[0])
    ok = np.isfinite(res.draws[:, 0])
    a_col = int(res.frame[(res.frame.label == "a")].col.iloc[0])
    b_col = int(res.frame[(res.frame.label == "b")].col.iloc[0])
    np.testing.assert_allclose(res.defined[ok, 0], res.draws[ok, a_col] * res.draws[ok, b_col])
    assert ab.ci_lower < ab.est < ab.ci_upper
    assert ab.se > 0


def test_bad_arguments(hs_fit):
    with pytest.raises(ModelError, match="R must be"):
        bs.bootstrap(hs_fit, R=1)
    with pytest.raises(ModelError, match="n_jobs"):
        bs.bootstrap(hs_fit, R=10, n_jobs=0)
    with pytest.raises(ModelError, match="fitted model"):
        bs.bootstrap("not a fit", R=10)
    res = bs.BootstrapResult(R=2, seed=None, draws=np.zeros((2, hs_fit.x.size)), defined=np.zeros((2, 0)),
                             failed=[], nonadmissible=[], x=hs_fit.x, defined_est=np.zeros(0),
                             frame=pd.DataFrame(columns=["lhs", "op", "rhs", "group", "label", "est", "kind", "col"]))
    with pytest.raises(ModelError, match="CI type"):
        res.to_frame(ci_type="bca")


# ------------------------------------------------------------------- FIML refits (fast path)
@pytest.fixture(scope="module")
def hs_missing(hs):
    """HolzingerSwineford1939 with 6 % of the item cells deleted at random (seeded)."""
    rng = np.random.default_rng(13)
    out = hs.copy()
    items = [f"x{i}" for i in range(1, 10)]
    y = out[items].to_numpy(float).copy()
    y[rng.random(y.shape) < 0.06] = np.nan
    out[items] = y
    return out


@pytest.fixture(scope="module")
def hs_fiml_fit(hs_missing):
    return sem_fit(MEDIATION, hs_missing, missing="fiml")


def test_casewise_fiml_kernel_equals_pattern_loglik(hs_fiml_fit):
    from psychometrics.sem.fiml import CaseDesign, MissingPatterns, vech_indices
    y = hs_fiml_fit.sample.groups[0].data
    rng = np.random.default_rng(4)
    idx = rng.integers(0, len(y), len(y))
    sigma, mu = hs_fiml_fit.model.implied(hs_fiml_fit.x)[0]
    sigma = sigma + 0.1 * np.eye(9)
    mu = mu + 0.05
    ll, gmu, G = CaseDesign(y).resample(idx).value_and_gradient(mu, sigma)
    ll_ref, g_ref = MissingPatterns(y[idx]).value_and_gradient(mu, sigma)
    r, c = vech_indices(9)
    assert ll == pytest.approx(ll_ref, rel=1e-12)
    np.testing.assert_allclose(gmu, g_ref[:9], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(G[r, c] * np.where(r == c, 1, 2), g_ref[9:], rtol=1e-10, atol=1e-10)


def test_matrix_chain_rule_gradient_equals_delta(hs_fiml_fit):
    from psychometrics.sem.fiml import CaseDesign, PatternDesign, ResampleFIMLObjective
    fit = hs_fiml_fit
    y = fit.sample.groups[0].data
    idx = np.random.default_rng(5).integers(0, len(y), len(y))
    x = fit.x + 0.01 * np.random.default_rng(6).standard_normal(fit.x.size)
    k = CaseDesign(y).resample(idx)
    f, g = bs._RAMChain(fit.model).fg(x, [k], 0.0, k.n)
    obj = ResampleFIMLObjective([PatternDesign(y).resample(idx)])
    f_ref, gm = obj.value_and_gradient(fit.model.implied(x))
    g_ref = sum(D.T @ gg for D, gg in zip(fit.model.delta(x), gm))
    assert f == pytest.approx(f_ref, rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-9, atol=1e-12)


def test_fiml_bootstrap_draws_are_the_exact_refits_and_independent_of_jobs(hs_fiml_fit):
    from psychometrics.sem.estimate import make_objective, optimize
    from psychometrics.sem.model import Model
    fit = hs_fiml_fit
    a = bs.bootstrap(fit, R=8, seed=21)
    b = bs.bootstrap(fit, R=8, seed=21, n_jobs=2)
    np.testing.assert_array_equal(a.draws, b.draws)
    np.testing.assert_array_equal(a.defined, b.defined)
    assert a.n_successful == 8
    # each draw is the FIML optimum of its resample: the engine's own objective (EM saturated
    # model, per-pattern inverses) and optimiser, converged tightly from the draw, agree to 1e-8
    rng = np.random.default_rng(21)
    n = fit.sample.groups[0].data.shape[0]
    for i in range(3):
        idx = rng.integers(0, n, size=n)
        ss = bs._resampled_sample(fit.sample, [idx])
        model = Model(fit.partable, ss)
        obj = make_objective(model, ss, "fiml")
        ref = optimize(model, obj, a.draws[i], [1.0], tol=1e-12)
        np.testing.assert_allclose(a.draws[i], ref["x"], rtol=0, atol=1e-8)


def test_quasi_newton_detects_divergence():
    # F = log(x) + x^2/100 has no minimum on x > 0: the iterates run to the boundary
    def fg(x):
        if x[0] <= 0:
            return np.inf, None
        return float(np.log(x[0]) + x[0] ** 2 / 100), np.array([1.0 / x[0] + x[0] / 50])
    x, status, it = bs._bfgs(fg, np.array([1.0]), np.eye(1))
    assert status == "diverged"
    x, status, it = bs._bfgs(lambda x: (float((x ** 2).sum()), 2 * x), np.array([1.0, 2.0]), np.eye(2))
    assert status == "converged" and np.allclose(x, 0, atol=1e-8)


def test_progress_callback_is_called_and_not_in_results(hs_fit, monkeypatch):
    seen = []
    res = bs.bootstrap(hs_fit, R=6, seed=2, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(6, 6)]             # one chunk of draws refitted in lockstep
    monkeypatch.setattr(bs, "BATCHED", False)
    seen = []
    bs.bootstrap(hs_fit, R=6, seed=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6) and len(seen) == 6   # the per-draw path: after every draw
    monkeypatch.setattr(bs, "BATCHED", True)
    seen2 = []
    res2 = bs.bootstrap(hs_fit, R=6, seed=2, n_jobs=2, progress=lambda d, t: seen2.append((d, t)))
    assert seen2[-1] == (6, 6)
    np.testing.assert_array_equal(res.draws, res2.draws)
    assert "progress" not in str(res.to_dict())


def test_usable_draws_reported(hs_fit, monkeypatch):
    monkeypatch.setattr(bs, "BATCHED", False)
    real = bs._fast_refit
    calls = {"n": 0}

    def flaky(*args, **kw):
        calls["n"] += 1
        if calls["n"] % 2 == 0:
            return args[3], "diverged"
        return real(*args, **kw)

    monkeypatch.setattr(bs, "_fast_refit", flaky)
    with pytest.warns(PsychometricsWarning, match="2 diverged.*the 2 usable draws"):
        res = bs.bootstrap(hs_fit, R=4, seed=3)
    assert res.n_successful == 2 and res.diverged == [1, 3]
    assert "2 of 4 usable" in res.summary()
    assert res.to_dict()["diverged"] == 2


# ------------------------------------------------------------------- the fit's own estimator
@pytest.mark.parametrize("estimator,likelihood", [("ULS", "normal"), ("GLS", "normal"),
                                                  ("ML", "wishart")])
def test_draws_are_refitted_with_the_fits_own_estimator(hs, estimator, likelihood):
    # each draw equals the engine's refit (its objective for the estimator / likelihood and
    # its optimiser, from the same warm start; for ML the exact optimum) of the resampled
    # data to 1e-8, and the
    # engine's whole fit of the resampled data to 1e-7 (ULS's optimum is flat to rounding:
    # engine fits from different starts differ by up to 3e-8); an ML fit of the draw differs
    # (the check that the estimator is really passed on)
    from psychometrics.sem.estimate import make_objective, optimize
    from psychometrics.sem.model import Model
    from psychometrics.sem.sample import sample_stats
    from psychometrics.sem.ls import use_least_squares
    from psychometrics.sem.wishart import use_wishart
    fit = pm.cfa(HS_MODEL, hs, estimator=estimator, likelihood=likelihood)
    res = bs.bootstrap(fit, R=3, seed=4)
    assert res.failed == []
    rng = np.random.default_rng(4)
    items = [f"x{i}" for i in range(1, 10)]
    for i in range(3):
        d = hs.iloc[rng.integers(0, len(hs), len(hs))].reset_index(drop=True)
        ss = sample_stats(d, items, missing="listwise")
        if estimator in ("GLS", "ULS"):
            use_least_squares(ss, estimator, "listwise")
        else:
            use_wishart(ss, likelihood, estimator, "listwise")
        model = Model(fit.partable, ss)
        obj = make_objective(model, ss, "listwise", estimator)
        # ML (Wishart): the exact optimum (Newton refit); GLS/ULS: the engine's refit
        ref = (optimize(model, obj, res.draws[i], [1.0], tol=1e-12) if estimator == "ML"
               else optimize(model, obj, fit.x, [1.0]))
        assert ref["converged"]
        np.testing.assert_allclose(res.draws[i], ref["x"], rtol=0, atol=1e-8)
        whole = pm.cfa(HS_MODEL, d, estimator=estimator, likelihood=likelihood)
        np.testing.assert_allclose(res.draws[i], whole.x, rtol=0, atol=1e-7)
        ml = pm.cfa(HS_MODEL, d)
        assert np.max(np.abs(res.draws[i] - ml.x)) > 1e-4


def test_estimators_that_cannot_be_bootstrapped_are_refused(hs_fit):
    import copy
    other = copy.copy(hs_fit)
    other.estimator = "DWLS"
    with pytest.raises(ModelError, match="cannot be bootstrapped"):
        bs.bootstrap(other, R=3, seed=1)


# ------------------------------------------------------------------- bounded engine refits
def test_unsettled_draws_get_a_bounded_engine_refit_per_draw_path(hs_fit, monkeypatch):
    # the per-draw path: draws whose quasi-Newton refit stops unsettled ("max_iter") get the
    # engine's refit within ENGINE_BUDGET * max_iter evaluations of F; beyond it they fail
    monkeypatch.setattr(bs, "BATCHED", False)
    ref = bs.bootstrap(hs_fit, R=6, seed=3)
    real = bs._fast_refit

    def unsettled(chain, designs, draw, x0, h_inv, max_iter):
        x, status = real(chain, designs, draw, x0, h_inv, max_iter)
        return x, ("max_iter" if unsettled.n in (2, 5) else status)

    def counting(*a, **k):
        out = unsettled(*a, **k)
        unsettled.n += 1
        return out
    unsettled.n = 0
    monkeypatch.setattr(bs, "_fast_refit", counting)
    counts = _count_engine_evaluations(monkeypatch)
    res = bs.bootstrap(hs_fit, R=6, seed=3)       # enough budget: the engine's optimum
    assert res.failed == [] and len(counts) == 2
    assert max(counts) <= bs.ENGINE_BUDGET * 200
    np.testing.assert_allclose(res.draws, ref.draws, rtol=0, atol=5e-8)

    counts.clear()
    unsettled.n = 0
    monkeypatch.setattr(bs, "ENGINE_BUDGET", 0.02)   # 4 evaluations: too few to converge
    with pytest.warns(PsychometricsWarning, match="2 of 6 bootstrap draws failed.*the 4 usable"):
        res = bs.bootstrap(hs_fit, R=6, seed=3)
    assert res.failed == [2, 5] and res.diverged == [] and res.n_successful == 4
    assert len(counts) == 2 and max(counts) <= 4
    np.testing.assert_array_equal(res.draws[[0, 1, 3, 4]], ref.draws[[0, 1, 3, 4]])
    assert "4 of 6 usable" in res.summary()
