"""Input checks of psychometrics/efa/ (issue 12) and of R's "NA" text cells in data files."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

import psychometrics as pm
from psychometrics.errors import DataError, PsychometricsWarning

HERE = Path(__file__).resolve().parent
BFI = pd.read_csv(HERE / "data" / "bfi.csv").iloc[:, 1:26]


@pytest.mark.parametrize("data", ["normal", "resample"])
def test_parallel_analysis_with_fewer_cases_than_items(data):
    # was a bare "ValueError: df <= 0" from numpy's chi-square draw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        with pytest.raises(DataError, match="needs more cases than items: 6 case"):
            pm.parallel_analysis(BFI.head(6), seed=1, data=data)
        with pytest.raises(DataError, match="needs more cases than items"):
            pm.dimensionality(BFI.head(25), seed=1)
        assert pm.parallel_analysis(BFI.head(40), seed=1, n_iter=5).n_obs == 40


def _study(tmp_path, rows, codes=()):
    text = "id,sex,q1,q2,q3\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n"
    (tmp_path / "data.csv").write_text(text, encoding="utf-8")
    inst = {"id": "mini", "name": "Mini", "response": {"min": 1, "max": 5},
            "items": [{"id": "1"}, {"id": "2"}, {"id": "3"}]}
    (tmp_path / "mini.yaml").write_text(yaml.safe_dump(inst), encoding="utf-8")
    doc = {"data": "data.csv", "id": "id", "group": {"column": "sex", "labels": {1: "f", 2: "m"},
                                                     "min_size": 1},
           "missing_codes": list(codes), "instruments": [{"file": "mini.yaml", "prefix": "q"}]}
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return p


GOOD = [[1, 1, 1, 2, 3], [2, 2, 2, 3, 4], [3, 1, 3, 4, 5], [4, 2, 4, 5, 1], [5, 1, 2, 2, 2]]


def test_r_na_is_missing_by_default_and_recorded(tmp_path):
    rows = [r[:] for r in GOOD]
    rows[1][3] = "NA"
    rows[4][1] = "NA"          # group column too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        ds = pm.load_dataset(_study(tmp_path, rows))
    got = sorted((c.row, c.column, c.old, c.reason) for c in ds.changes)
    assert got == [(2, "q2", "NA", "NA (R's missing value)"), (5, "sex", "NA", "NA (R's missing value)")]
    assert ds.data.loc[2, "q2"] != ds.data.loc[2, "q2"]      # NaN


def test_non_numeric_hint_names_missing_codes_first(tmp_path):
    rows = [r[:] for r in GOOD]
    rows[2][4] = "n/a"
    with pytest.raises(DataError) as exc:
        pm.load_dataset(_study(tmp_path, rows))
    msg = str(exc.value)
    assert "missing_codes" in msg and msg.index("missing_codes") < msg.index("set_missing")
    assert "'n/a'" in msg
    # listed as a code it is read as missing
    ds = pm.load_dataset(_study(tmp_path, rows, codes=["n/a"]))
    assert [c.reason for c in ds.changes] == ["missing code"]
