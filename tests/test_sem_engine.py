"""The engine's internal contract (CONTRIBUTING.md) and numerical diagnostics."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.errors import PsychometricsWarning
from psychometrics.sem import cfa
from psychometrics.sem.estimate import MLObjective, make_objective
from psychometrics.sem.results import robust_post

from test_sem_lavaan import HS, M_HS, get_fit


def test_delta_matches_numerical_derivative():
    fit = get_fit("hs_school_part")
    x = fit.x
    D = fit.model.delta(x)

    def moments(z):
        out = []
        for S, mu in fit.model.implied(z):
            r, c = fit.model.vr, fit.model.vc
            out.append(np.concatenate([mu, S[r, c]]))
        return out

    h = 1e-6
    for k in range(0, x.size, 7):
        xp, xm = x.copy(), x.copy()
        xp[k] += h
        xm[k] -= h
        for g, (mp, mm) in enumerate(zip(moments(xp), moments(xm))):
            assert np.allclose((mp - mm) / (2 * h), D[g][:, k], atol=1e-6)
    Df = fit.model.delta(fit.x_full, full=True)
    assert np.allclose(Df[0] @ fit.K, D[0])


def test_gradient_information_and_constraints():
    fit = get_fit("hs_school_int")
    assert np.max(np.abs(fit.gradient())) < 1e-6
    I_red = fit.information()
    I_full = fit.information(full=True)
    assert np.allclose(fit.K.T @ I_full @ fit.K, I_red)
    R, desc = fit.equality_constraints()
    assert R.shape == (fit.K.shape[0] - fit.K.shape[1], fit.K.shape[0])
    assert np.allclose(R @ fit.x_full, 0) and np.allclose(R @ fit.K, 0)
    first = desc[0]
    assert first["op"] == "==" and first["lhs"] == ".p2." and first["rhs"] == ".p38."
    pt = fit.partable
    assert (pt.lhs[first["lhs_row"]], pt.rhs[first["rhs_row"]]) == ("visual", "x2")
    # the full-space gradient of a constrained model is not zero, its projection is
    assert np.allclose(fit.K.T @ fit.gradient(full=True), fit.gradient(), atol=1e-12)


def test_objective_contract():
    fit = get_fit("hs_school")
    obj = make_objective(fit.model, fit.sample, "listwise")
    assert isinstance(obj, MLObjective)
    implied = fit.model.implied(fit.x)
    f, grads = obj.value_and_gradient(implied)
    assert np.isclose(2 * fit.ntotal * f, fit.fit_measures()["chisq"])
    assert [g.shape[0] for g in grads] == [fit.model.n_moments] * 2
    # chain rule: sum_g Delta_g' dF/dm_g is the engine's gradient
    D = fit.model.delta(fit.x)
    assert np.allclose(sum(d.T @ g for d, g in zip(D, grads)), fit.gradient())
    # h1 statistics carried by the sample
    gs = fit.sample.groups[0]
    assert gs.h1_cov.shape == (9, 9) and np.isfinite(gs.h1_logl)
    assert np.isclose(obj.loglik_h1(), fit.fit_measures()["unrestricted_logl"])
    robust_post(fit)  # a no-op for ML
    assert fit._robust_se is None


def test_robust_hooks_are_used():
    fit = cfa(M_HS, HS)
    fit._robust_se = np.full(fit.x.size, 0.5)
    fit._robust_measures = {"chisq_scaled": 1.0}
    pe = fit.parameters()
    assert np.allclose(pe[pe.se > 0].se, 0.5)
    fit._cache.pop("fm", None)
    assert fit.fit_measures()["chisq_scaled"] == 1.0


def test_heywood_case_recorded_not_raised():
    fit = get_fit("hs_bifactor")
    assert "heywood" in fit.diagnostics.codes()
    assert any("x1" in m for m in fit.warnings)
    fit2 = get_fit("wai_hier")
    assert "heywood" in fit2.diagnostics.codes()


def test_underidentified_model_is_diagnosed():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fit = cfa("f =~ x1 + x2", HS)
    codes = fit.diagnostics.codes()
    assert "underidentified" in codes and "singular_information" in codes
    assert any(issubclass(x.category, PsychometricsWarning) for x in w)
    assert np.isnan(fit.parameters().se.iloc[1])


def test_singular_sample_covariance_is_diagnosed():
    d = HS.copy()
    d["x3"] = d["x1"] + d["x2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cfa(M_HS, d)
    assert "npd_sample" in fit.diagnostics.codes()


def test_result_objects():
    fit = get_fit("hs_med")
    d = fit.to_dict()
    assert d["fit_measures"]["df"] == 24 and d["converged"] is True
    assert "ind" in fit.summary()
    r2 = fit.r2()
    assert set(r2.variable) >= {"x1", "textual", "speed"}
    imp = fit.implied()[0]
    assert list(imp["cov"].index) == fit.model.ov


def test_improper_solution_is_recorded_not_raised():
    # WAI-SR bifactor on the example study: lavaan 0.6-14 does not converge; the likelihood
    # runs off along a ridge (a residual variance heads to -infinity)
    from test_sem_lavaan import WAI, M_WAI3
    model = M_WAI3 + "\n general =~ " + " + ".join(f"wai_{i}" for i in range(1, 13))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cfa(model, WAI, orthogonal=True)
    codes = fit.diagnostics.codes()
    assert "heywood" in codes and ("singular_information" in codes or "nonconvergence" in codes)
    assert np.isfinite(fit.fit_measures()["chisq"])


def test_label_equality_constraint_equals_shared_label():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = cfa("visual =~ x1 + a*x2 + b*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\na == b", HS)
        b = cfa("visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", HS)
    assert a.df == b.df == 25
    assert np.isclose(a.fit_measures()["chisq"], b.fit_measures()["chisq"], rtol=1e-8)


def test_too_few_cases_recorded():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cfa(M_HS, HS.iloc[:8])
    codes = fit.diagnostics.codes()
    assert "small_n" in codes and "npd_sample" in codes


def test_observed_information_equals_expected_when_saturated():
    fit = get_fit("hs_obsmed")
    assert np.allclose(fit.information("observed"), fit.information("expected"), rtol=1e-4, atol=1e-6)


def test_random_models_never_crash():
    """Random (often absurd) models either fit, with any trouble in diagnostics, or raise a
    PsychometricsError; no other exception escapes (seeded, 60 models)."""
    import random

    from psychometrics.errors import PsychometricsError
    from psychometrics.sem import sem

    rng = random.Random(20261122)
    names = ["f1", "f2", "x1", "x2", "x3", "x4", "x5", "x6", "1"]
    for _ in range(60):
        lines = []
        for _ in range(rng.randint(1, 4)):
            lhs = rng.choice(names[:-1])
            op = rng.choice(["=~", "~~", "~"])
            rhs = " + ".join(rng.choice(["", "a*", "0*", "NA*", "1*", "c(b,d)*", "start(2)*"])
                             + rng.choice(names) for _ in range(rng.randint(1, 3)))
            lines.append(f"{lhs} {op} {rhs}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = sem("\n".join(lines), HS, group=rng.choice([None, "school"]),
                          group_equal=rng.choice([(), ("loadings", "intercepts")]))
                fit.fit_measures()
                fit.parameters()
                fit.modindices()
                fit.to_dict()
            except PsychometricsError:
                pass
