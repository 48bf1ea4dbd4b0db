"""The tables papers expect and the figures, as the pipeline writes them: scale descriptives
(against R, tests/reference/make_descriptives.R), EFA variance and factor correlations with
salient loadings marked, modification indices and residual correlations (against the fitted
model), the partial-invariance table, "(R)" marks, the figures in three formats, histograms
for continuous items and no MCAR chi-square when nothing is missing."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from psychometrics.invariance import invariance
from psychometrics.report.pipeline import run_validation, write_outputs
from psychometrics.sem import cfa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "examples"
REF = json.loads((HERE / "reference" / "descriptives.json").read_text(encoding="utf-8"))
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


# ------------------------------------------------------------------ runs
@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example study cut to two instruments (WAI-SR: three factors; the engagement scale:
    reverse-keyed items) and a small structural model, ML for speed."""
    tmp = tmp_path_factory.mktemp("tables_example")
    for name in ("data.csv", "engagement.yaml"):
        shutil.copy(EXAMPLES / name, tmp / name)
    doc = yaml.safe_load((EXAMPLES / "study.yaml").read_text(encoding="utf-8"))
    doc["estimator"] = "ML"
    doc["instruments"] = doc["instruments"][:2]
    doc["structural"] = {"model": "alliance =~ goal + task + bond\nengagement ~ alliance\n"}
    doc["options"] = {"bootstrap": 10, "split_half": False}
    (tmp / "study.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    out = tmp / "out"
    run = run_validation(tmp / "study.yaml", out, parallel_iterations=10, omega_bootstrap=0,
                         sem_bootstrap=0)
    paths = write_outputs(run, out, formats=("json", "html"))
    return run, out, paths


@pytest.fixture(scope="module")
def hs(tmp_path_factory):
    """Holzinger & Swineford (1939): continuous test scores, nothing missing, scalar
    invariance across schools fails and holds partially (lavaan frees x3~1 and x7~1)."""
    tmp = tmp_path_factory.mktemp("tables_hs")
    shutil.copy(HERE / "data" / "hs1939.csv", tmp / "hs1939.csv")
    inst = {"name": "hs_abilities", "title": "Mental ability tests",
            "response_scale": {"min": 0, "max": 10, "integer": False},
            "items": [{"id": str(i), "text": f"test {i}"} for i in range(1, 10)],
            "factors": {"visual": ["1", "2", "3"], "textual": ["4", "5", "6"],
                        "speed": ["7", "8", "9"]}}
    (tmp / "hs.yaml").write_text(yaml.safe_dump(inst), encoding="utf-8")
    study = {"title": "HS1939", "data": "hs1939.csv", "id": "id", "group": {"column": "school"},
             "estimator": "ML", "missing": "listwise", "seed": 1,
             "instruments": [{"file": "hs.yaml", "prefix": "x"}], "options": {"bootstrap": 10}}
    (tmp / "study.yaml").write_text(yaml.safe_dump(study), encoding="utf-8")
    out = tmp / "out"
    run = run_validation(tmp / "study.yaml", out, parallel_iterations=10, omega_bootstrap=0)
    paths = write_outputs(run, out, formats=("json", "html"))
    return run, out, paths


def _frame(run, key):
    return run.report.table(key).data


# ------------------------------------------------------------------ figures
def test_every_figure_in_three_formats_at_300_dpi(example):
    run, out, _ = example
    figs = run.report.figures()
    keys = {f.key for f in figs}
    assert {"path_wai_sr", "path_client_engagement", "path_structural", "invariance_wai_sr",
            "distributions_wai_sr", "scree_wai_sr"} <= keys
    for f in figs:
        assert f.path.suffix == ".png" and f.caption
        for ext in (".pdf", ".svg"):
            assert f.path.with_suffix(ext).stat().st_size > 1000
        with Image.open(f.path) as im:
            assert im.info["dpi"][0] == pytest.approx(300, abs=0.5)
            assert max(im.size) <= 10 * 300 + 200


def test_continuous_items_get_histograms_and_sane_sizes(hs):
    run, out, _ = hs
    keys = {f.key for f in run.report.figures()}
    assert "histograms_hs_abilities" in keys and "distributions_hs_abilities" not in keys
    with Image.open(out / "figures" / "histograms_hs_abilities.png") as im:
        assert im.size[0] <= 9 * 300 + 200 and im.size[1] <= 10 * 300 + 200


def test_no_mcar_chisquare_when_nothing_is_missing(hs, example):
    run, out, paths = hs
    html = paths["html"].read_text(encoding="utf-8")
    assert "MCAR test does not apply" in html and "χ²(0)" not in html
    assert run.results["screening"]["hs_abilities"]["mcar"]["no_missing"] is True
    html = example[2]["html"].read_text(encoding="utf-8")
    assert "Little&#x27;s MCAR test: χ²(" in html            # with missing data: the test


# ------------------------------------------------------------------ scale descriptives
def test_scale_descriptives_table_matches_r(example):
    run, _, _ = example
    ref = {d["scale"]: d for d in REF["overall"]["descriptives"]}
    tab = _frame(run, "scale_descriptives")
    names = ["wai_sr.goal", "wai_sr.task", "wai_sr.bond", "wai_sr.total",
             "client_engagement.engagement"]
    assert len(tab) == len(names)
    for i, name in enumerate(names):
        row = tab.iloc[i]
        assert row["n"] == ref[name]["n"]
        for col in ("mean", "sd", "min", "max", "omega"):
            assert row[col] == pytest.approx(ref[name][col], rel=1e-4), (name, col)
        assert row[str(i + 1)] == pytest.approx(ref[name]["alpha"], rel=1e-4)   # diagonal
    pairs = {(c["scale1"], c["scale2"]): c for c in REF["overall"]["correlations"]}
    assert tab.iloc[4]["1"] == pytest.approx(pairs[(names[0], names[4])]["r"], rel=1e-4)
    assert np.isnan(tab.iloc[0]["2"])                                   # upper triangle empty
    cor = _frame(run, "scale_correlations")
    assert len(cor) == 10
    first = cor.iloc[0]
    ref_pair = pairs[(names[0], names[1])]
    for col in ("r", "ci_lower", "ci_upper"):
        assert first[col] == pytest.approx(ref_pair[col], rel=1e-4)
    for g in ("female", "male"):
        gt = _frame(run, f"scale_descriptives_{g}")
        gref = {d["scale"]: d for d in REF[g]["descriptives"]}
        assert gt.iloc[1]["mean"] == pytest.approx(gref["wai_sr.task"]["mean"], rel=1e-4)
        assert gt.iloc[1]["sd"] == pytest.approx(gref["wai_sr.task"]["sd"], rel=1e-4)
        gc = _frame(run, f"scale_correlations_{g}")
        gpair = {(c["scale1"], c["scale2"]): c for c in REF[g]["correlations"]}
        last = gpair[(names[3], names[4])]
        for col in ("r", "ci_lower", "ci_upper", "pvalue"):
            assert gc.iloc[-1][col] == pytest.approx(last[col], rel=1e-4)
    t = run.report.table("scale_descriptives")
    assert t.note and "α" in t.note and run.results["tables"]["scale_descriptives"]


# ------------------------------------------------------------------ EFA
def test_efa_variance_phi_and_salient_loadings(example):
    run, _, _ = example
    e = run.results["efa"]["wai_sr"]["efa"]
    var = pd.DataFrame(e["variance"]["data"], index=e["variance"]["index"],
                       columns=e["variance"]["columns"])
    vt = _frame(run, "efa_variance_wai_sr")
    assert list(vt.columns) == ["ss", "prop", "cum"]
    assert np.allclose(vt["ss"], var.loc["SS loadings"]) and \
        np.allclose(vt["cum"], var.loc["Cumulative Var"])
    phi = pd.DataFrame(e["phi"]["data"], index=e["phi"]["index"], columns=e["phi"]["columns"])
    pt = _frame(run, "efa_phi_wai_sr")
    assert pt.iloc[1, 0] == pytest.approx(phi.iloc[1, 0]) and np.isnan(pt.iloc[0, 1])
    t = run.report.table("efa_wai_sr")
    assert ".40" in t.note
    factors = list(phi.columns)
    mask = t.data[factors].abs() >= 0.40
    assert (t.bold[factors] == mask).all().all() and mask.any().any()
    for item, row in t.data.iterrows():
        listed = row["salient"].split(", ") if isinstance(row["salient"], str) else []
        assert listed == [f"Factor {f[2:]}" for f in factors if mask.at[item, f]]
    html = example[2]["html"].read_text(encoding="utf-8")
    assert "<strong>" in html


# ------------------------------------------------------------------ (R)
def test_reverse_keyed_items_are_marked(example):
    run, _, _ = example
    for key in ("descriptives_client_engagement", "items_client_engagement",
                "efa_client_engagement", "cfa_client_engagement"):
        t = run.report.table(key)
        marked = [i for i in t.data.index if str(i).endswith(" (R)")]
        assert marked == ["eng_3 (R)", "eng_6 (R)"], key
        assert "(R)" in t.note
    assert not any("(R)" in str(i) for i in _frame(run, "items_wai_sr").index)


# ------------------------------------------------------------------ local fit
def test_modification_indices_and_residuals_are_the_fitted_numbers(hs):
    run, _, _ = hs
    data = pd.read_csv(HERE / "data" / "hs1939.csv")
    fit = cfa(HS_MODEL, data[[f"x{i}" for i in range(1, 10)]])
    mi = fit.modindices(sort=True)
    big = mi[mi["mi"] >= 10]
    tab = _frame(run, "modindices_hs_abilities")
    assert len(tab) == len(big) == 4
    assert np.allclose(tab["mi"], big["mi"]) and np.allclose(tab["sepc_all"], big["sepc_all"])
    assert tab.index[0] == "visual → x9" and tab["mi"].iloc[0] == pytest.approx(36.411, abs=1e-3)
    assert "10" in run.report.table("modindices_hs_abilities").note
    res = fit.residuals(type="cor")[0]["cov"]
    rt = _frame(run, "residuals_hs_abilities")
    expect = sorted((abs(res.iat[i, j]) for i in range(9) for j in range(i) if
                     abs(res.iat[i, j]) >= 0.10), reverse=True)
    assert np.allclose(rt["res"].abs(), expect)
    a, b = rt.index[0].split(" ↔ ")
    assert rt["res"].iloc[0] == pytest.approx(res.at[b, a])


def test_partial_invariance_table_lists_the_released_constraints(hs):
    run, _, _ = hs
    data = pd.read_csv(HERE / "data" / "hs1939.csv")
    inv = invariance(HS_MODEL, data[[f"x{i}" for i in range(1, 10)] + ["school"]], "school")
    tab = _frame(run, "partial_invariance_hs_abilities")
    assert list(tab.index) == ["intercept of x3", "intercept of x7"]     # as lavaan's example
    assert np.allclose(tab["X2"], inv.freed["X2"]) and list(tab["df"]) == list(inv.freed["df"])
    assert np.allclose(tab["pvalue"], inv.freed["pvalue"])
    assert all("largest score test" in r for r in tab["reason"])
    assert "results.json" not in run.report.table("invariance_hs_abilities").note
    levels = list(_frame(run, "invariance_hs_abilities").index)
    assert "scalar, partial" in levels and not any("lv_" in lv for lv in levels)


def test_local_fit_without_modification_indices_is_a_notice():
    """GLS/ULS fits have no modification indices (as lavaan): the section says so and still
    lists the residual correlations."""
    from psychometrics.report import steps
    from psychometrics.report.i18n import tr, trf
    from psychometrics.report.model import Notice, Section

    class Stub:
        lang, options, tables = "en", {}, {}

        def t(self, key, **v):
            return trf(key, "en", **v) if v else tr(key, "en")

        def table(self, section, key, title, df, formats=None, note="", **kw):
            self.tables[key] = df

        def factor_labels(self):
            return {}

    data = pd.read_csv(HERE / "data" / "hs1939.csv")
    fit = cfa(HS_MODEL, data[[f"x{i}" for i in range(1, 10)]], estimator="ULS")
    s, r = Section("x", "x"), Stub()
    steps._local_fit_tables(r, s, fit, "hs", "HS")
    notes = [b for b in s.blocks if isinstance(b, Notice)]
    assert len(notes) == 1 and "ML/MLR" in notes[0].text
    assert "residuals_hs" in r.tables and "modindices_hs" not in r.tables
