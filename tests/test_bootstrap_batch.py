"""Lockstep bootstrap refits (psychometrics.sem._boot_batch, issue 13).

The lockstep path refits a chunk of draws at once; each draw must be the same as the draw
refitted on its own (the per-draw path, ``bootstrap.BATCHED = False``) to 1e-8, the exact
optimum of its resample (the engine's own objective and optimiser at tolerance 1e-12) to
1e-8, and must not depend on the chunk it is refitted in or on the number of processes.
Failed and diverged draws are counted as before.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import psychometrics as pm
from psychometrics.errors import PsychometricsWarning
from psychometrics.sem import _boot_batch as bb
from psychometrics.sem import bootstrap as bs
from psychometrics.sem import sem as sem_fit

from _engine_counting import _count_engine_evaluations
from _robust_cfa import load

HS_MODEL = "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
MEDIATION = HS_MODEL + "\n textual ~ a*visual\n speed ~ b*textual + c*visual\n ab := a*b\n total := c + a*b"
ITEMS = [f"x{i}" for i in range(1, 10)]

pytestmark = pytest.mark.filterwarnings("ignore::psychometrics.errors.PsychometricsWarning")


@pytest.fixture(scope="module")
def hs():
    return load("hs1939.csv")


def _with_missing(df, rate=0.08, seed=13, max_missing=4):
    """``df`` with item cells deleted at random; some rows lose up to ``max_missing`` items so
    that every pattern width of the lockstep kernel (1, 2, 3 and >= 4) occurs."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    y = out[ITEMS].to_numpy(float).copy()
    y[rng.random(y.shape) < rate] = np.nan
    for i, w in zip(range(0, 40, 4), [2, 3, 4, 2, 3, 4, 3, 4, 2, 3]):
        y[i] = out[ITEMS].to_numpy(float)[i]
        y[i, rng.choice(9, size=min(w, max_missing), replace=False)] = np.nan
    out[ITEMS] = y
    return out


@pytest.fixture(scope="module")
def hs_missing(hs):
    return _with_missing(hs)


def _per_draw(fit, **kw):
    old = bs.BATCHED
    bs.BATCHED = False
    try:
        return bs.bootstrap(fit, **kw)
    finally:
        bs.BATCHED = old


def _uses_lockstep(fit):
    template = fit.sample
    return bs._batch_plan(fit, template, fit.x, np.eye(fit.x.size), 200) is not None


def _same_as_per_draw(fit, R, seed, atol=1e-8):
    a = bs.bootstrap(fit, R=R, seed=seed)
    b = _per_draw(fit, R=R, seed=seed)
    assert a.failed == b.failed and a.diverged == b.diverged
    assert a.nonadmissible == b.nonadmissible
    ok = np.isfinite(a.draws[:, 0])
    np.testing.assert_allclose(a.draws[ok], b.draws[ok], rtol=0, atol=atol)
    if a.defined.size:
        np.testing.assert_allclose(a.defined[ok], b.defined[ok], rtol=0, atol=atol)
    return a


# ------------------------------------------------------------------- the objective itself
def test_lockstep_objective_equals_casewise_kernel(hs_missing):
    # F and dF/dx of the stacked kernel equal the per-draw kernel (CasewiseFIML + _RAMChain)
    from psychometrics.sem.fiml import CaseDesign
    fit = sem_fit(MEDIATION, hs_missing, missing="fiml")
    y = fit.sample.groups[0].data
    design = bb.GroupDesign(y)
    assert sorted(c["w"] for c in design.classes)[:4] == [1, 2, 3, 4]
    ram = bb.BatchRAM(fit.model, [design])
    rng = np.random.default_rng(3)
    draws = [[rng.integers(0, len(y), len(y))] for _ in range(5)]
    ram.set_chunk(draws)
    X = fit.x + 0.02 * rng.standard_normal((5, fit.x.size))
    f, g, ok = ram.fg(X, np.arange(5))
    assert ok.all()
    chain = bs._RAMChain(fit.model)
    cd = CaseDesign(y)
    for i in range(5):
        k = cd.resample(draws[i][0])
        f_ref, g_ref = chain.fg(X[i], [k], 0.0, k.n)
        assert f[i] == pytest.approx(f_ref, rel=1e-12)
        np.testing.assert_allclose(g[i], g_ref, rtol=1e-9, atol=1e-12)
    # a draw whose covariance matrix is not positive definite gets F = inf, the others not
    Xbad = X.copy()
    j = int(np.flatnonzero([r == "x1" and o == "~~" for r, o in zip(fit.partable.lhs, fit.partable.op)])[0])
    Xbad[2, fit.partable.eq_map[fit.partable.free[j] - 1]] = -50.0
    f2, g2, ok2 = ram.fg(Xbad, np.arange(5))
    assert not ok2[2] and np.isinf(f2[2])
    np.testing.assert_array_equal(f2[[0, 1, 3, 4]], f[[0, 1, 3, 4]])


def _free_index(fit, lhs, op, rhs):
    pt = fit.partable
    j = int(np.flatnonzero([(a, o, b) == (lhs, op, rhs) for a, o, b in zip(pt.lhs, pt.op, pt.rhs)])[0])
    return int(pt.eq_map[pt.free[j] - 1])


@pytest.mark.parametrize("syntax", [HS_MODEL, MEDIATION])
def test_woodbury_inverse_equals_the_cholesky_path(hs_missing, syntax):
    # the Woodbury form of Sigma^-1 (diagonal Theta) against the Cholesky path, draw by draw,
    # including draws it hands to the Cholesky path (a tiny or negative residual variance, a
    # negative latent variance) and one whose Sigma is not positive definite
    fit = sem_fit(syntax, hs_missing, missing="fiml")
    y = fit.sample.groups[0].data
    ram = bb.BatchRAM(fit.model, [bb.GroupDesign(y)])
    assert ram.woodbury == [True]
    rng = np.random.default_rng(4)
    draws = [[rng.integers(0, len(y), len(y))] for _ in range(8)]
    ram.set_chunk(draws)
    X = fit.x + 0.02 * rng.standard_normal((8, fit.x.size))
    X[1, _free_index(fit, "x2", "~~", "x2")] = 1e-4
    X[3, _free_index(fit, "x5", "~~", "x5")] = -0.05
    X[4, _free_index(fit, "visual", "~~", "visual")] = -0.02
    X[6, _free_index(fit, "x1", "~~", "x1")] = -50.0
    sel = np.arange(8)
    f, g, ok = ram.fg(X, sel)
    ram.woodbury = [False]
    f0, g0, ok0 = ram.fg(X, sel)
    np.testing.assert_array_equal(ok, ok0)
    assert not ok[6] and ok[[0, 1, 2, 3, 5, 7]].all()
    np.testing.assert_allclose(f[ok], f0[ok], rtol=1e-12)
    np.testing.assert_allclose(g[ok], g0[ok], rtol=0, atol=1e-11 * np.abs(g0[ok]).max())
    # a draw's numbers do not depend on the other draws evaluated with it
    ram.woodbury = [True]
    f3, g3, _ = ram.fg(X[2:6], sel[2:6])
    np.testing.assert_array_equal(f3, f[2:6])
    np.testing.assert_array_equal(g3, g[2:6])


def test_defined_draws_equal_the_per_draw_evaluation(hs_missing):
    # the := parameters of all draws at once (columns) against defined.evaluate draw by draw
    from psychometrics.sem import defined as _defined
    fit = sem_fit(MEDIATION, hs_missing, missing="fiml")
    res = bs.bootstrap(fit, R=6, seed=8)
    est = res.draws.copy()
    ok = np.ones(6, dtype=bool)
    ok[2] = False
    est[2] = np.nan
    got = bs._defined_draws(fit, est, ok)
    assert np.isnan(got[2]).all()
    defs = fit._defs()
    for i in np.flatnonzero(ok):
        np.testing.assert_allclose(got[i], _defined.evaluate(defs, fit._label_values(est[i])),
                                   rtol=1e-15, atol=0)


def test_residual_covariances_use_the_cholesky_path(hs_missing):
    fit = sem_fit(HS_MODEL + "\n x1 ~~ x4", hs_missing, missing="fiml")
    ram = bb.BatchRAM(fit.model, [bb.GroupDesign(fit.sample.groups[0].data)])
    assert ram.woodbury == [False]


# ------------------------------------------------------------------- same draws as before
def test_complete_data_draws_equal_the_per_draw_path(hs):
    fit = pm.cfa(HS_MODEL, hs)
    assert _uses_lockstep(fit)
    _same_as_per_draw(fit, R=40, seed=4)


def test_fiml_draws_and_defined_parameters_equal_the_per_draw_path(hs_missing):
    fit = sem_fit(MEDIATION, hs_missing, missing="fiml")
    assert _uses_lockstep(fit)
    res = _same_as_per_draw(fit, R=30, seed=8)
    assert res.defined.shape == (30, 2)


def test_multigroup_constrained_draws_equal_the_per_draw_path_and_the_engine(hs, hs_missing):
    from psychometrics.sem.estimate import make_objective, optimize
    from psychometrics.sem.model import Model
    for data, missing in ((hs, "listwise"), (hs_missing, "fiml")):
        fit = pm.cfa(HS_MODEL, data, group="school", group_equal=("loadings", "intercepts"),
                     missing=missing)
        assert _uses_lockstep(fit)
        res = _same_as_per_draw(fit, R=16, seed=6)
        # the draws are the exact optimum of their resamples (engine objective, EM for FIML)
        rng = np.random.default_rng(6)
        sizes = [g.data.shape[0] for g in fit.sample.groups]
        for i in range(2):
            draw = [rng.integers(0, n, size=n) for n in sizes]
            ss = bs._resampled_sample(fit.sample, draw)
            model = Model(fit.partable, ss)
            w = [g.nobs / ss.ntotal for g in ss.groups]
            ref = optimize(model, make_objective(model, ss, missing), res.draws[i], w, tol=1e-12)
            np.testing.assert_allclose(res.draws[i], ref["x"], rtol=0, atol=1e-8)


def test_paths_from_observed_variables_equal_the_per_draw_path(hs, hs_missing):
    # a regression on an indicator puts an entry of A in an observed column: the general
    # (I - A)^-1 of the lockstep kernel instead of its latent-block form
    model = "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n x7 ~ textual + x3\n x8 ~ x7"
    for data, missing in ((hs, "listwise"), (hs_missing, "fiml")):
        fit = sem_fit(model, data, missing=missing)
        assert _uses_lockstep(fit)
        plan = bs._batch_plan(fit, fit.sample, fit.x, np.eye(fit.x.size), 200)
        assert not plan.latent_only[0]
        _same_as_per_draw(fit, R=10, seed=2)


def test_exogenous_covariates_use_the_per_draw_path(hs):
    fit = sem_fit(HS_MODEL + "\n visual ~ ageyr", hs)
    if not np.any(np.asarray(fit.partable.exo)):
        pytest.skip("no fixed exogenous rows in this build")
    assert not _uses_lockstep(fit)
    res = bs.bootstrap(fit, R=4, seed=1)
    assert res.n_successful == 4


# ------------------------------------------------------------------- determinism
def test_draws_do_not_depend_on_chunks_or_processes(hs_missing, monkeypatch):
    fit = sem_fit(MEDIATION, hs_missing, missing="fiml")
    ref = bs.bootstrap(fit, R=12, seed=21)               # one chunk of 12
    for chunk in (1, 5):
        monkeypatch.setattr(bs, "CHUNK", chunk)
        np.testing.assert_array_equal(bs.bootstrap(fit, R=12, seed=21).draws, ref.draws)
    monkeypatch.setattr(bs, "CHUNK", 4)
    two = bs.bootstrap(fit, R=12, seed=21, n_jobs=2)
    np.testing.assert_array_equal(two.draws, ref.draws)
    np.testing.assert_array_equal(two.defined, ref.defined)


def test_progress_is_reported_per_chunk(hs, monkeypatch):
    fit = pm.cfa(HS_MODEL, hs)
    monkeypatch.setattr(bs, "CHUNK", 4)
    seen = []
    bs.bootstrap(fit, R=10, seed=2, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(4, 10), (8, 10), (10, 10)]
    seen2 = []
    bs.bootstrap(fit, R=10, seed=2, n_jobs=2, progress=lambda d, t: seen2.append((d, t)))
    assert seen2 == [(4, 10), (8, 10), (10, 10)]


# ------------------------------------------------------------------- failed / diverged draws
def _inject(monkeypatch, code, rows):
    real = bb.lockstep_bfgs

    def fake(fg, X0, H0, **kw):
        X, status, n_iter = real(fg, X0, H0, **kw)
        status = status.copy()
        status[[r for r in rows if r < len(status)]] = code
        return X, status, n_iter

    monkeypatch.setattr(bb, "lockstep_bfgs", fake)


def test_diverged_draws_are_dropped_and_counted(hs, monkeypatch):
    fit = pm.cfa(HS_MODEL, hs)
    _inject(monkeypatch, bb.DIVERGED, [1, 3])
    with pytest.warns(PsychometricsWarning, match="2 diverged.*the 2 usable draws"):
        res = bs.bootstrap(fit, R=4, seed=3)
    assert res.n_successful == 2 and res.diverged == [1, 3] and res.failed == [1, 3]
    assert np.all(np.isnan(res.draws[[1, 3]]))


def test_unconverged_draws_go_to_the_engine_and_fail_there(hs, monkeypatch):
    fit = pm.cfa(HS_MODEL, hs)
    ref = bs.bootstrap(fit, R=6, seed=3)
    _inject(monkeypatch, bb.LINE_SEARCH, [2, 5])
    res = bs.bootstrap(fit, R=6, seed=3)          # the engine refits them: same estimates
    assert res.failed == []
    # (draw 2 lies near a Heywood case: there two tight engine refits from different starts
    # differ by up to 1e-8 themselves, so the routing is checked to 5e-8)
    np.testing.assert_allclose(res.draws, ref.draws, rtol=0, atol=5e-8)
    np.testing.assert_array_equal(res.draws[[0, 1, 3, 4]], ref.draws[[0, 1, 3, 4]])

    def broken(*a, **k):
        raise np.linalg.LinAlgError("singular")
    monkeypatch.setattr(bs, "_engine_refit", broken)
    with pytest.warns(PsychometricsWarning, match="2 of 6 bootstrap draws failed"):
        res = bs.bootstrap(fit, R=6, seed=3)
    assert res.failed == [2, 5] and res.diverged == []


def test_small_sample_draws_diverge_as_in_the_per_draw_path(hs):
    # 15 cases, 9 variables: many resamples have fewer distinct cases than variables, so
    # their likelihood has no maximum; both paths must detect and count the same draws.
    # The original fit must itself have converged: both paths start every draw from its
    # estimates, and from a non-converged start (e.g. the first 12 cases) the borderline
    # draws' fate depends on the last digits of that start, not on the bootstrap.
    small = hs.iloc[24:39]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pm.cfa(HS_MODEL, small)
    assert fit.converged and not getattr(fit, "problem", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = bs.bootstrap(fit, R=12, seed=5)
        b = _per_draw(fit, R=12, seed=5)
    assert a.failed == b.failed and a.diverged == b.diverged
    assert len(a.diverged) > 0
    ok = np.isfinite(a.draws[:, 0])
    assert 0 < ok.sum() < len(ok)
    np.testing.assert_allclose(a.draws[ok], b.draws[ok], rtol=0, atol=1e-6)


# ------------------------------------------------------------------- the optimiser
def test_lockstep_bfgs_runs_bfgs_per_problem():
    # independent quadratics with different curvature: every problem reaches its own optimum;
    # a problem without a minimum is reported as diverged without disturbing the others
    rng = np.random.default_rng(0)
    A = [np.diag(rng.uniform(0.5, 3, 4)) for _ in range(3)]
    b = rng.standard_normal((3, 4))

    def fg(X, sel):
        f = np.empty(len(sel))
        g = np.empty_like(X)
        ok = np.ones(len(sel), bool)
        for r, s in enumerate(sel):
            if s == 2:     # log(x0) + x0^2 / 100 in the first coordinate: no minimum on x0 > 0
                if X[r, 0] <= 0:
                    f[r], g[r], ok[r] = np.inf, 0.0, False
                    continue
                f[r] = np.log(X[r, 0]) + X[r, 0] ** 2 / 100 + 0.5 * X[r, 1:] @ X[r, 1:]
                g[r] = np.r_[1 / X[r, 0] + X[r, 0] / 50, X[r, 1:]]
                continue
            f[r] = 0.5 * X[r] @ A[s] @ X[r] - b[s] @ X[r]
            g[r] = A[s] @ X[r] - b[s]
        return f, g, ok

    X0 = np.ones((3, 4))
    X, status, _ = bb.lockstep_bfgs(fg, X0, np.eye(4), tol=1e-10)
    assert list(status) == [bb.CONVERGED, bb.CONVERGED, bb.DIVERGED]
    for s in range(2):
        np.testing.assert_allclose(X[s], np.linalg.solve(A[s], b[s]), atol=1e-9)
        x1, st1, _ = bs._bfgs(lambda x: (fg(x[None], [s])[0][0], fg(x[None], [s])[1][0]),
                              X0[s], np.eye(4), tol=1e-10)
        assert st1 == "converged"
        np.testing.assert_allclose(X[s], x1, atol=1e-12)


def test_endgame_accepts_steps_by_the_gradient_where_f_is_flat():
    # F flat (rounding level) near the optimum: only the gradient can judge a step.  With a
    # metric that reduces the gradient by 30 % a step (not halving it), the refit must still
    # reach tol -- the halving rule alone rejected every step and spent 30 halvings an
    # iteration; the per-draw optimiser follows the same rule
    A = np.diag([1.0, 2.0, 4.0])
    x_star = np.array([0.3, -0.2, 0.1])

    def fg(X, sel):
        g = (X - x_star) @ A
        return np.zeros(len(sel)), g, np.ones(len(sel), bool)

    H0 = 0.3 * np.linalg.inv(A)
    X0 = x_star + np.array([[2e-8, -1e-8, 1e-8]]) / np.diag(A)
    calls = []

    def counted(X, sel):
        calls.append(len(sel))
        return fg(X, sel)

    X, status, _ = bb.lockstep_bfgs(counted, X0, H0, tol=1e-9)
    assert status[0] == bb.CONVERGED
    assert np.max(np.abs(fg(X, [0])[1])) < 1e-9
    assert len(calls) < 30
    x1, st1, _ = bs._bfgs(lambda x: (0.0, (x - x_star) @ A), X0[0], H0, tol=1e-9)
    assert st1 == "converged"
    np.testing.assert_array_equal(x1, X[0])
    assert bb._endgame_bound(np.array([4e-6, 3e-7, 5e-8]), 1e-9).tolist() == [2e-6, 1.5e-7, 5e-8]


# ------------------------------------------------------------------- bounded engine refits
def test_unsettled_draws_get_a_bounded_engine_refit(hs, monkeypatch):
    # draws the lockstep refit leaves unsettled (max_iter: neither converged nor diverged) get
    # the engine's refit within ENGINE_BUDGET * max_iter evaluations of F (at N = 20 such
    # draws took thousands of evaluations and did not converge); beyond it they are failed
    fit = pm.cfa(HS_MODEL, hs)
    ref = bs.bootstrap(fit, R=6, seed=3)
    _inject(monkeypatch, bb.MAX_ITER, [2, 5])
    counts = _count_engine_evaluations(monkeypatch)
    res = bs.bootstrap(fit, R=6, seed=3)          # enough budget: the engine's optimum
    assert res.failed == [] and len(counts) == 2
    assert max(counts) <= bs.ENGINE_BUDGET * 200
    np.testing.assert_allclose(res.draws, ref.draws, rtol=0, atol=5e-8)

    counts.clear()
    monkeypatch.setattr(bs, "ENGINE_BUDGET", 0.02)   # 4 evaluations: too few to converge
    with pytest.warns(PsychometricsWarning, match="2 of 6 bootstrap draws failed.*the 4 usable"):
        res = bs.bootstrap(fit, R=6, seed=3)
    assert res.failed == [2, 5] and res.diverged == [] and res.n_successful == 4
    assert len(counts) == 2 and max(counts) <= 4
    np.testing.assert_array_equal(res.draws[[0, 1, 3, 4]], ref.draws[[0, 1, 3, 4]])


def test_small_sample_unsettled_draws_are_bounded_and_counted_alike(hs, monkeypatch):
    # 60 cases: some resamples have no proper optimum the refits can reach (neither converged
    # nor diverged); both paths give them the same bounded engine refit (at most
    # ENGINE_BUDGET * max_iter evaluations of F each; unbounded, these refits took thousands)
    # and count the same draws as failed; the usable draws agree
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pm.cfa(HS_MODEL, hs.iloc[:60])
        counts = _count_engine_evaluations(monkeypatch)
        a = bs.bootstrap(fit, R=12, seed=7)
        b = _per_draw(fit, R=12, seed=7)
    assert a.failed == b.failed and a.diverged == b.diverged == []
    assert 0 < len(a.failed) < 12
    assert len(counts) >= 2 * len(a.failed)
    assert max(counts) <= bs.ENGINE_BUDGET * 200
    ok = np.isfinite(a.draws[:, 0])
    np.testing.assert_allclose(a.draws[ok], b.draws[ok], rtol=0, atol=1e-8)
    assert f"{12 - len(a.failed)} of 12 usable" in a.summary()


def test_plan_too_large_for_memory_falls_back_to_the_per_draw_path(hs_missing, monkeypatch):
    """Above PLAN_MAX_ENTRIES (the lockstep plan's sparse scatters of the incomplete cases:
    6.6 GB at 10^6 cases of the example study) the draws are refitted one by one, exactly as
    the per-draw path does."""
    fit = sem_fit(MEDIATION, hs_missing, missing="fiml")
    want = bs._plan_entries(fit.sample)
    m = np.isnan(np.asarray(fit.sample.groups[0].data, float)).sum(axis=1)
    assert want == int((m * (2 * 9 + 1) + m * m).sum()) > 0
    assert _uses_lockstep(fit)
    monkeypatch.setattr(bs, "PLAN_MAX_ENTRIES", want - 1)
    assert not _uses_lockstep(fit)
    a = bs.bootstrap(fit, R=12, seed=3)
    b = _per_draw(fit, R=12, seed=3)
    np.testing.assert_array_equal(a.draws, b.draws)


@pytest.mark.parametrize("extra", ["", "\n x1 ~~ x4"])
def test_admissible_equals_the_per_draw_check(hs_missing, extra):
    # BatchRAM.admissible (stacked; only Psi's eigenvalues when P is diag(theta) + Psi)
    # against bootstrap._admissible draw by draw: a negative residual variance, a negative
    # latent variance, an indefinite Psi (a latent covariance above the variances' product)
    fit = sem_fit(MEDIATION.replace("speed ~ b*textual + c*visual", "speed ~~ visual")
                  .replace("\n ab := a*b\n total := c + a*b", "").replace("a*visual", "visual")
                  + extra, hs_missing, missing="fiml")
    ram = bb.BatchRAM(fit.model, [bb.GroupDesign(fit.sample.groups[0].data)])
    assert ram.p_blockdiag == [extra == ""]
    rng = np.random.default_rng(6)
    X = fit.x + 0.01 * rng.standard_normal((7, fit.x.size))
    X[1, _free_index(fit, "x5", "~~", "x5")] = -0.05
    X[2, _free_index(fit, "visual", "~~", "visual")] = -0.02
    X[4, _free_index(fit, "speed", "~~", "visual")] = 5.0
    got = ram.admissible(X)
    want = np.array([bs._admissible(fit.model, x) for x in X])
    np.testing.assert_array_equal(got, want)
    assert not want[[1, 2, 4]].any() and want[[0, 3, 5, 6]].all()


@pytest.mark.parametrize("extra", ["\n x1 ~~ speed", "\n speed ~~ x1", "\n x1 ~~ x4"])
def test_latent_only_gradient_blocks_equal_casewise_kernel(hs_missing, extra):
    # dF/dA and dF/dP gathered block by block (observed/latent rows of A; oo, ol, lo, ll
    # entries of P) against the per-draw kernel (CasewiseFIML + _RAMChain)
    from psychometrics.sem.fiml import CaseDesign
    fit = sem_fit(MEDIATION + extra, hs_missing, missing="fiml")
    y = fit.sample.groups[0].data
    ram = bb.BatchRAM(fit.model, [bb.GroupDesign(y)])
    assert ram.latent_only == [True]
    assert any(b.any() for b in ram.p_blocks[0][1:3]) or extra == "\n x1 ~~ x4"
    rng = np.random.default_rng(9)
    draws = [[rng.integers(0, len(y), len(y))] for _ in range(4)]
    ram.set_chunk(draws)
    X = fit.x + 0.01 * rng.standard_normal((4, fit.x.size))
    f, g, ok = ram.fg(X, np.arange(4))
    assert ok.all()
    chain = bs._RAMChain(fit.model)
    cd = CaseDesign(y)
    for i in range(4):
        k = cd.resample(draws[i][0])
        f_ref, g_ref = chain.fg(X[i], [k], 0.0, k.n)
        assert f[i] == pytest.approx(f_ref, rel=1e-12)
        np.testing.assert_allclose(g[i], g_ref, rtol=1e-9, atol=1e-12)
