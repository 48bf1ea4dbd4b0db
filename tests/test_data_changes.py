"""The Data changes section stays a few pages whatever the number of changed cells; every
change is still listed, one row each, in data-changes.csv and results.json."""
from __future__ import annotations

import csv
import json

import numpy as np
import yaml

from psychometrics.cli import main
from psychometrics.report import steps
from psychometrics.report.pipeline import _csv_cell

from test_hostile import _persian_study


def _many_changes(tmp_path, n_codes):
    p = _persian_study(tmp_path, formats=["json", "html", "xlsx", "changes"], figures=False)
    f = tmp_path / "data.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    rng = np.random.default_rng(7)
    rows = rng.choice(np.arange(1, len(lines)), size=n_codes // 3, replace=False)
    for k in rows:                                   # three item cells per row: missing code
        cells = lines[k].split(",")
        for j in (2, 5, 8):
            cells[j] = "-9"
        lines[k] = ",".join(cells)
    cells = lines[-1].split(",")
    cells[4] = "=2+1"                                # text a spreadsheet takes for a formula
    lines[-1] = ",".join(cells)
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    doc["on_invalid"] = "set_missing"
    doc["missing"] = "fiml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["validate", str(p), "--out", str(out), "--quiet", "--parallel-iterations", "5",
                 "--omega-bootstrap", "0", "--sem-bootstrap", "0"])
    assert code == 0
    ids = sorted(int(lines[k].split(",")[0]) for k in rows)   # the case ids of those rows
    return out, ids


def test_many_changes_summarised_in_documents_and_listed_in_csv(tmp_path):
    n_codes = 3 * (steps.CHANGES_LISTED // 3 + 10)             # just above the limit
    out, ids = _many_changes(tmp_path, n_codes)
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    n = res["data"]["n_changes"]
    assert n == n_codes + 1 > steps.CHANGES_LISTED
    # the documents: one row per column and reason, counts adding up to every change
    table = res["tables"]["data_changes"]
    frame = table["frame"]
    data = frame["data"] if isinstance(frame, dict) else frame
    assert len(data) == 4                            # 3 columns x missing code, 1 x not a number
    counts = [row[frame["columns"].index("n")] if isinstance(frame, dict) else row["n"]
              for row in data]
    assert sum(counts) == n
    assert "data-changes.csv" in table["note"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data-changes.csv" in html and html.count("missing code") < 20
    # the CSV: every change, one row each, formula text defused
    with open(out / "data-changes.csv", encoding="utf-8-sig", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == n
    assert [g for g in got if g["reason"] == "missing code"][0]["old"] == "-9"
    assert sorted({int(g["case"]) for g in got if g["reason"] == "missing code"}) == ids
    bad = [g for g in got if g["reason"] != "missing code"]
    assert len(bad) == 1 and bad[0]["old"] == "'=2+1" and bad[0]["new"] == ""
    assert {g["file"] for g in got} == {"data.csv"}


def test_few_changes_listed_one_row_each_and_in_csv(tmp_path):
    out, _ = _many_changes(tmp_path, 30)
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    frame = res["tables"]["data_changes"]["frame"]
    data = frame["data"] if isinstance(frame, dict) else frame
    assert len(data) == res["data"]["n_changes"] == 31
    with open(out / "data-changes.csv", encoding="utf-8-sig", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 31


def test_csv_cell_defuses_formulas_but_keeps_numbers():
    assert _csv_cell(None) == "" and _csv_cell(-9) == "-9" and _csv_cell(2.5) == "2.5"
    assert _csv_cell("-9") == "-9" and _csv_cell("+1") == "+1"
    assert _csv_cell("=SUM(A1)") == "'=SUM(A1)" and _csv_cell("@x") == "'@x"
    assert _csv_cell("-x") == "'-x" and _csv_cell("متن") == "متن"
