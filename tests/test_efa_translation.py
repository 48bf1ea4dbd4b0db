"""Translation studies: target rotation to the original loadings and Tucker's congruence
(psychometrics/efa/translation.py) against GPArotation::targetQ/targetT and
psych::factor.congruence (tests/reference/efa2.json, make_efa2.R); the instrument's
`original:` block; the report's side-by-side table.

The "original" is the HS1939 girls' oblimin solution, the "translation" the boys' data.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import psychometrics as pm
from psychometrics.efa import original_solution, rotate
from psychometrics.efa.translation import item_congruence, similarity
from psychometrics.errors import PsychometricsError, PsychometricsWarning, StudyError
from psychometrics.scales import instrument_from_dict

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "efa2.json").read_text())["congruence"]
HS_ALL = pd.read_csv(HERE / "data" / "hs1939.csv")
ITEMS = [f"x{i}" for i in range(1, 10)]
BOYS = HS_ALL.loc[HS_ALL["sex"] == 1, ITEMS]
FAC = ["MR1", "MR2", "MR3"]
ORIG = pd.DataFrame(REF["original"], index=ITEMS, columns=FAC)
PHI = np.array(REF["original_phi"])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        yield


@pytest.mark.parametrize("rot", ["targetQ", "targetT"])
def test_target_rotation_and_congruence_match_r(rot):
    z, _phi, conv = rotate(np.array(REF["translated_unrotated"]), rot, [], target=ORIG.to_numpy())
    ref = REF[rot]
    assert conv
    assert np.max(np.abs(z - np.array(ref["loadings"]))) < 1e-10
    c = pm.congruence(pd.DataFrame(z, index=ITEMS, columns=FAC), ORIG)
    assert np.max(np.abs(np.diag(c.to_numpy()) - ref["factor"])) < 1e-12
    if rot == "targetQ":
        assert np.max(np.abs(c.to_numpy() - np.array(ref["matrix"]))) < 1e-12
    assert np.max(np.abs(item_congruence(z, ORIG.to_numpy()) - ref["item"])) < 1e-12


@pytest.mark.parametrize("phi,rot", [(PHI, "targetQ"), (None, "targetT")])
def test_compare_to_original_whole_path(phi, rot):
    res = pm.compare_to_original(BOYS, ORIG, phi)
    assert res.rotation == rot
    ref = REF[rot]
    # the boys' EFA is our minres (psych's stops ~1e-5 earlier, see test_efa_rotations.py)
    assert np.max(np.abs(res.efa.loadings.to_numpy() - np.array(ref["loadings"]))) < 1e-4
    assert np.max(np.abs(res.factors["congruence"].to_numpy() - ref["factor"])) < 1e-5
    assert np.max(np.abs(res.table["congruence"].to_numpy() - ref["item"])) < 1e-5
    assert list(res.table.columns) == [f"orig_{f}" for f in FAC] + FAC + ["congruence", "similarity"]
    assert np.allclose(res.table[[f"orig_{f}" for f in FAC]].to_numpy(), ORIG.to_numpy())
    assert list(res.factors["similarity"]) == [similarity(v) for v in ref["factor"]]
    json.dumps(res.to_dict())


def test_lorenzo_seva_ten_berge_cutoffs():
    assert [similarity(v) for v in (0.99, 0.95, 0.949, 0.85, 0.849, -0.97, np.nan)] == \
        ["equal", "equal", "fair", "fair", "not similar", "equal", ""]


def test_unreported_loadings_and_items():
    o = ORIG.copy()
    o.iloc[0, 1] = np.nan
    res = pm.compare_to_original(BOYS, o.drop(index="x9"), PHI)
    assert res.items_not_in_original == ["x9"]
    assert any("not reported" in w for w in res.warnings)
    assert res.table.loc["x9", "orig_MR1"] == 0.0
    with pytest.raises(PsychometricsError, match="not in the data"):
        pm.compare_to_original(BOYS.drop(columns="x1"), ORIG)


def _instrument(original):
    return {"id": "hs", "name": "HS", "subscales": ["visual", "textual", "speed"],
            "items": [{"id": str(i), "subscale": ["visual", "textual", "speed"][(i - 1) // 3]}
                      for i in range(1, 10)], "original": original}


def test_instrument_original_block():
    load = {str(i + 1): [float(v) for v in row] for i, row in enumerate(REF["original"])}
    inst = instrument_from_dict(_instrument({"citation": "Girls (1939)", "loadings": load,
                                             "phi": PHI.round(6).tolist(),
                                             "factors": ["textual", "speed", "visual"]}))
    assert inst.original["factors"] == ["textual", "speed", "visual"]
    assert inst.to_dict()["original"]["citation"] == "Girls (1939)"
    cols = {str(i): f"x{i}" for i in range(1, 10)}
    L, phi, _o = original_solution(inst, cols)
    assert list(L.index) == ITEMS and list(L.columns) == ["textual", "speed", "visual"]
    # the default factors are the subscales
    d = instrument_from_dict(_instrument({"loadings": {"1": [0.5, None, 0.1], "2": [0.4, 0, 0]}}))
    assert d.original["factors"] == ["visual", "textual", "speed"]
    assert d.original["loadings"]["1"] == [0.5, None, 0.1]
    bad = [({"loadings": {"1": [0.5, 0, 0], "99": [0.4, 0, 0]}}, "unknown item '99'"),
           ({"loadings": {"1": [0.5, 0], "2": [0.4, 0, 0]}}, "expected 3 loading"),
           ({"loadings": {"1": [5, 0, 0], "2": [0.4, 0, 0]}}, "not a standardised"),
           ({"loadings": {"1": [0.5, 0, 0], "2": [0.4, 0, 0]}, "phi": [[1, 2], [2, 1]]}, "3 x 3"),
           ({"loadings": {"1": [0.5, 0, 0], "2": [0.4, 0, 0]}, "oops": 1}, "unknown key 'oops'"),
           ({"loadings": {"1": [0.5, 0, 0]}}, "at least 2 item")]
    for block, msg in bad:
        with pytest.raises(StudyError, match=msg):
            instrument_from_dict(_instrument(block))


def test_report_shows_the_comparison(tmp_path):
    from psychometrics.report.pipeline import run_validation

    data = HS_ALL[["id", "sex"] + ITEMS]
    data.to_csv(tmp_path / "hs.csv", index=False)
    load = {str(i + 1): row for i, row in enumerate(REF["original"])}
    inst = _instrument({"citation": "HS1939 girls", "factors": ["visual", "textual", "speed"],
                        "loadings": {k: [v[2], v[0], v[1]] for k, v in load.items()},
                        "phi": np.eye(3).tolist()})
    (tmp_path / "hs.yaml").write_text(yaml.safe_dump(inst), encoding="utf-8")
    study = {"data": "hs.csv", "id": "id",
             "group": {"column": "sex", "labels": {1: "boys", 2: "girls"}},
             "instruments": [{"file": "hs.yaml", "prefix": "x"}], "estimator": "ML",
             "missing": "listwise", "options": {"bootstrap": 0, "split_half": False}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study), encoding="utf-8")
    run = run_validation(tmp_path / "study.yaml", None, bootstrap=0, parallel_iterations=5,
                         language="en", figures=False)
    tab = run.results["tables"]["congruence_hs"]
    frame = tab["frame"]
    direct = pm.compare_to_original(data[ITEMS], pd.DataFrame(
        [[v[2], v[0], v[1]] for v in REF["original"]], index=ITEMS,
        columns=["visual", "textual", "speed"]), np.eye(3))
    assert direct.rotation == "targetT"
    assert np.allclose(frame["congruence"].to_numpy(float), direct.table["congruence"].to_numpy())
    assert np.allclose(frame["orig_visual"].to_numpy(float), [v[2] for v in REF["original"]])
    assert "Lorenzo-Seva & ten Berge (2006)" in tab["note"] and "HS1939 girls" in tab["note"]
    assert "equal" in set(frame["similarity"])
