"""``psychometrics init``: a study file proposed from a data file (psychometrics/init.py), tested
on the example study as CSV (with 99 and R's NA among its missing cells), XLSX and an SPSS .sav
with value labels written here with pyreadstat."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import psychometrics as pm
from psychometrics.cli import main
from psychometrics.errors import PsychometricsError, PsychometricsWarning
from psychometrics.init import init_study, propose_study

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        yield


def _example_copy(tmp: Path, codes=True) -> Path:
    """The example data (+ its two user-defined instrument files) in ``tmp``; some blank cells
    hold 99 or R's NA instead (both mean missing, so the data are the same)."""
    tmp.mkdir(parents=True, exist_ok=True)
    for f in ("engagement.yaml", "outcome.yaml"):
        shutil.copy(EXAMPLES / f, tmp / f)
    raw = pd.read_csv(EXAMPLES / "data.csv", dtype=str, keep_default_na=False)
    if codes:
        blank = [(i, c) for c in raw.columns if c.startswith(("wai_", "csq_")) for i in raw.index
                 if raw.at[i, c] == ""]
        for k, (i, c) in enumerate(blank[:12]):
            raw.at[i, c] = "99" if k % 2 else "NA"
    raw.to_csv(tmp / "data.csv", index=False)
    return tmp / "data.csv"


def _items_equal(a, b):
    cols = [c for c in a.data.columns if c != "gender"]
    assert list(a.data.columns) == list(b.data.columns)
    pd.testing.assert_frame_equal(a.data[cols], b.data[cols])
    ga, gb = a.group.to_numpy(), b.group.to_numpy()
    # the same partition of the cases into groups
    assert pd.crosstab(ga, gb).to_numpy().astype(bool).sum() == 2


def test_csv_study_validates_and_reproduces_the_example_report(tmp_path):
    from psychometrics.report.pipeline import run_validation

    data = _example_copy(tmp_path / "csv")
    p, written = init_study(data, tmp_path / "csv" / "study.yaml", seed=20261122)
    assert written == [tmp_path / "csv" / "study.yaml"]
    text = written[0].read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["id"] == "id" and doc["group"]["column"] == "gender"
    assert doc["missing_codes"] == [-9, 99, "NA"]
    assert [(i.get("scale") or i.get("file"), i["prefix"]) for i in doc["instruments"]] == [
        ("wai_sr", "wai_"), ("engagement.yaml", "eng_"), ("csq8", "csq_"), ("outcome.yaml", "out_")]
    assert doc["missing"] == "fiml" and doc["estimator"] == "MLR" and doc["seed"] == 20261122
    assert "CHECK" in text and "age" in text                  # unused column named
    ds = pm.load_dataset(written[0])
    ex = pm.load_dataset(EXAMPLES / "study.yaml")
    _items_equal(ds, ex)
    reasons = {c.reason for c in ds.changes}
    assert reasons == {"missing code", "NA (R's missing value)"}

    # the report's numbers: every table both reports have (the example adds a structural
    # model and split halves; group labels differ: 1/2 here, female/male there)
    kw = dict(bootstrap=0, parallel_iterations=5, figures=False, sem_bootstrap=0)
    mine = run_validation(written[0], None, **kw).results["tables"]
    theirs = run_validation(EXAMPLES / "study.yaml", None, **kw).results["tables"]
    # data_changes lists the recoded cells, which differ by design (99 and "NA" codes here)
    common = [k for k in mine if k in theirs and k not in ("fit_indices", "data_changes")
              and not k.startswith("split_half")]
    assert len(common) >= 30
    for key in common:
        a, b = mine[key]["frame"], theirs[key]["frame"]
        assert a.shape == b.shape, key
        na = a.select_dtypes("number").to_numpy(float)
        nb = b.select_dtypes("number").to_numpy(float)
        assert np.allclose(na, nb, rtol=1e-12, atol=1e-12, equal_nan=True), key


def test_xlsx_gives_the_same_study(tmp_path):
    csv = _example_copy(tmp_path / "csv", codes=False)
    d = pd.read_csv(csv)
    d.to_excel(tmp_path / "csv" / "data.xlsx", index=False)
    p, written = init_study(tmp_path / "csv" / "data.xlsx", tmp_path / "csv" / "study_x.yaml",
                            seed=1)
    doc = yaml.safe_load(written[0].read_text(encoding="utf-8"))
    assert doc["data"] == "data.xlsx" and doc["missing_codes"] == [-9]
    assert len(doc["instruments"]) == 4
    _items_equal(pm.load_dataset(written[0]), pm.load_dataset(EXAMPLES / "study.yaml"))


def test_sav_with_value_labels(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    folder = tmp_path / "sav"
    csv = _example_copy(folder, codes=False)
    d = pd.read_csv(csv).astype(float)
    pyreadstat.write_sav(d, str(folder / "data.sav"),
                         variable_value_labels={"gender": {1.0: "female", 2.0: "male"}})
    p, written = init_study(folder / "data.sav", folder / "study.yaml", seed=20261122)
    doc = yaml.safe_load(written[0].read_text(encoding="utf-8"))
    assert doc["group"] == {"column": "gender", "labels": {1: "female", 2: "male"},
                            "reference": "female"}
    assert "value labels" in written[0].read_text(encoding="utf-8")
    ds, ex = pm.load_dataset(written[0]), pm.load_dataset(EXAMPLES / "study.yaml")
    _items_equal(ds, ex)
    assert ds.group_sizes() == ex.group_sizes() == {"female": 225, "male": 99}


def test_unknown_items_get_a_new_instrument_file(tmp_path):
    csv = _example_copy(tmp_path / "new", codes=False)
    (tmp_path / "new" / "engagement.yaml").unlink()
    d = pd.read_csv(csv).rename(columns={f"eng_{i}": f"Q{i:02d}" for i in range(1, 9)})
    d.to_csv(csv, index=False)
    out = tmp_path / "new" / "study.yaml"
    assert main(["init", str(csv), "--out", str(out), "--seed", "5"]) == 0
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    entry = [i for i in doc["instruments"] if i.get("file") == "q.yaml"][0]
    assert entry["columns"] == {str(i): f"Q{i:02d}" for i in range(1, 9)}    # not a plain prefix
    inst = pm.load_instrument(tmp_path / "new" / "q.yaml")
    assert (inst.min, inst.max, inst.n_items) == (1, 5, 8)
    assert pm.load_dataset(out).items("q").shape == (324, 8)
    # nothing is overwritten without --force
    assert main(["init", str(csv), "--out", str(out)]) == 2
    assert main(["init", str(csv), "--out", str(csv)]) == 2


def test_files_without_instruments_or_ids_are_refused(tmp_path):
    f = tmp_path / "d.csv"
    pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 4]}).to_csv(f, index=False)
    with pytest.raises(PsychometricsError, match="no instrument found"):
        propose_study(f)
    pd.DataFrame({"g": [1, 1, 2, 2], **{f"x{i}": [1, 2, 3, 4] for i in range(1, 4)}}).to_csv(f, index=False)
    with pytest.raises(PsychometricsError, match="no column has a different value in every row"):
        propose_study(f)
