"""Scale-level descriptives and intercorrelations (psychometrics.scoring.scale_descriptives)
against base R / psych on the example study (tests/reference/make_descriptives.R)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.errors import DataError, StudyError
from psychometrics.io import load_dataset
from psychometrics.scales import load_study
from psychometrics.scoring import scale_descriptives, score

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REF = json.loads((HERE / "reference" / "descriptives.json").read_text(encoding="utf-8"))
TOL = 1e-4


@pytest.fixture(scope="module")
def example():
    study = load_study(ROOT / "examples" / "study.yaml")
    ds = load_dataset(study)
    scores, items, n_groups = {}, {}, {}
    for si in study.instruments:
        res = score(ds, si.id)
        k = len(si.instrument.factors())
        for name in res.scores.columns:
            key = f"{si.id}.{name}"
            scores[key] = res.scores[name]
            items[key] = res.items[res.score_items[name]]
            n_groups[key] = k if name == "total" and k > 1 else 1
    res = scale_descriptives(pd.DataFrame(scores), items, ds.group, n_groups=n_groups)
    return res


def _check(res, ref):
    desc = res.descriptives
    assert list(desc.index) == [d["scale"] for d in ref["descriptives"]]
    for d in ref["descriptives"]:
        row = desc.loc[d["scale"]]
        assert row["n"] == d["n"], d["scale"]
        for k in ("mean", "sd", "min", "max", "alpha", "omega"):
            assert row[k] == pytest.approx(d[k], rel=TOL), (d["scale"], k)
    pairs = res.pairs().set_index(["scale1", "scale2"])
    assert len(pairs) == len(ref["correlations"])
    for c in ref["correlations"]:
        row = pairs.loc[(c["scale1"], c["scale2"])]
        assert row["n"] == c["n"]
        for k in ("r", "ci_lower", "ci_upper"):
            assert row[k] == pytest.approx(c[k], rel=TOL), (c["scale1"], c["scale2"], k)
        assert row["pvalue"] == pytest.approx(c["pvalue"], rel=TOL, abs=1e-300)


def test_overall_matches_r(example):
    _check(example, REF["overall"])


@pytest.mark.parametrize("group", ["female", "male"])
def test_by_group_matches_r(example, group):
    assert list(example.by_group) == ["male", "female"]     # order of first appearance
    _check(example.by_group[group], REF[group])


def test_frame_and_dict(example):
    fr = example.to_frame()
    names = list(example.cor.columns)
    assert fr.loc[names[1], f"r_{names[0]}"] == pytest.approx(example.cor.iat[1, 0])
    assert np.isnan(fr.loc[names[0], f"r_{names[1]}"])      # lower triangle only
    d = example.to_dict()
    assert set(d["by_group"]) == {"female", "male"}
    assert len(d["correlations"]["data"]) == len(names) * (len(names) - 1) // 2
    json.dumps(d)


def test_bad_input():
    with pytest.raises(StudyError):
        scale_descriptives(pd.DataFrame())
    with pytest.raises(DataError, match="not numeric"):
        scale_descriptives(pd.DataFrame({"a": ["x", "y", "z"]}))
