"""Hostile and awkward input (issue 12): every case is refused with a clear message, or
warned about and counted -- never analysed silently.  The data are built in each test."""
from __future__ import annotations

import json
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

import psychometrics as pm
from psychometrics import io as pio
from psychometrics.cli import main
from psychometrics.errors import CellProblem, DataError, PsychometricsWarning, StudyError
from psychometrics.sem.syntax import parse_model

HERE = Path(__file__).resolve().parent
GOOD = [[1, 1, 1, 2, 3], [2, 2, 2, 3, 4], [3, 1, 3, 4, 5], [4, 2, 4, 5, 1]]
MINI = {"id": "mini", "name": "Mini", "response": {"min": 1, "max": 5},
        "items": [{"id": "1"}, {"id": "2"}, {"id": "3"}]}


def write_csv(path: Path, rows, header=("id", "sex", "q1", "q2", "q3"), encoding="utf-8"):
    text = "\n".join(",".join(str(c) for c in r) for r in [list(header)] + rows) + "\n"
    path.write_bytes(text.encode(encoding))


def study(tmp: Path, *, data="data.csv", labels=None, min_size=1, on_invalid="stop",
          instrument=None, prefix="q", id_col="id", group_col="sex", write=True, **extra):
    tmp = Path(tmp)
    (tmp / "mini.yaml").write_text(yaml.safe_dump(instrument or MINI, allow_unicode=True),
                                   encoding="utf-8")
    group = {"column": group_col, "min_size": min_size}
    if labels is not False:
        group["labels"] = labels or {1: "female", 2: "male"}
    doc = {"data": data, "id": id_col, "group": group, "on_invalid": on_invalid,
           "instruments": [{"file": "mini.yaml", "prefix": prefix}], **extra}
    p = tmp / "study.yaml"
    if write:
        p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def quiet_load(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        return pm.load_dataset(*args, **kw)


# ------------------------------------------------------------------ Likert responses

def test_fractional_likert_responses_are_refused_cell_by_cell(tmp_path):
    rows = [r[:] for r in GOOD]
    rows[0][2] = 3.5
    rows[2][4] = "2.0000001"
    write_csv(tmp_path / "data.csv", rows)
    with pytest.raises(DataError) as exc:
        pm.load_dataset(study(tmp_path))
    assert [(p.row, p.column, p.value) for p in exc.value.problems] == [
        (1, "q1", 3.5), (3, "q3", 2.0000001)]
    assert "not a whole number" in str(exc.value)
    ds = quiet_load(study(tmp_path, on_invalid="set_missing"))
    assert [(c.row, c.column, c.old) for c in ds.changes] == [(1, "q1", 3.5), (3, "q3", 2.0000001)]
    assert all("not a whole number" in c.reason for c in ds.changes)
    assert np.isnan(ds.data.loc[1, "q1"]) and np.isnan(ds.data.loc[3, "q3"])
    # an instrument that allows fractions says so
    frac = {**MINI, "response": {"min": 1, "max": 5, "integer": False}}
    ds = pm.load_dataset(study(tmp_path, instrument=frac))
    assert ds.data.loc[1, "q1"] == 3.5 and ds.changes == []


# ------------------------------------------------------------------ names in any script

FA = {"x1": "سوال_۱", "x2": "سوال_۲", "x3": "سوال_۳", "x4": "سوال_۴", "x5": "سوال_۵",
      "x6": "سوال_۶", "x7": "سوال_۷", "x8": "سوال_۸", "x9": "سوال_۹"}
FA_MODEL = """دیداری =~ سوال_۱ + سوال_۲ + سوال_۳
کلامی =~ سوال_۴ + سوال_۵ + سوال_۶
سرعت =~ سوال_۷ + سوال_۸ + سوال_۹"""
EN_MODEL = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"""


def test_model_syntax_accepts_unicode_names_and_keeps_their_digits():
    f = parse_model("عامل_یک =~ سوال_۱ + a*سوال_٣ + می‌خواهم\nعامل_یک ~~ 1*عامل_یک")
    assert [(x.lhs, x.op, x.rhs) for x in f[:3]] == [
        ("عامل_یک", "=~", "سوال_۱"), ("عامل_یک", "=~", "سوال_٣"), ("عامل_یک", "=~", "می‌خواهم")]
    assert f[1].label == "a"
    with pytest.raises(pm.errors.ModelSyntaxError):
        parse_model("f =~ ۱x + y")          # a name does not start with a digit


def test_persian_names_through_cfa_invariance_and_validity():
    hs = pd.read_csv(HERE / "data" / "hs1939.csv")
    fa = hs.rename(columns={**FA, "sex": "جنسیت"})
    en_fit = pm.cfa(EN_MODEL, hs)
    fa_fit = pm.cfa(FA_MODEL, fa)
    assert fa_fit.fit_measures()["chisq"] == pytest.approx(en_fit.fit_measures()["chisq"],
                                                          rel=1e-8)
    p = fa_fit.parameters()
    assert {"دیداری", "کلامی", "سرعت"} <= set(p["lhs"]) and "سوال_۹" in set(p["rhs"])
    en_inv = pm.invariance(EN_MODEL, hs, group="sex", levels=("configural", "metric"))
    fa_inv = pm.invariance(FA_MODEL, fa, group="جنسیت", levels=("configural", "metric"))
    np.testing.assert_allclose(fa_inv.table["chisq"].to_numpy(float),
                               en_inv.table["chisq"].to_numpy(float), rtol=1e-8)
    v_en = pm.validity(en_fit, data=hs, n_boot=0)
    v_fa = pm.validity(fa_fit, data=fa, n_boot=0)
    np.testing.assert_allclose(v_fa.to_frame()["AVE"].to_numpy(float),
                               v_en.to_frame()["AVE"].to_numpy(float), rtol=1e-8)


def _persian_study(tmp: Path, **options) -> Path:
    """HS1939 with Persian column names (Persian digits, the Arabic yeh ي in the group
    column's header, the Persian ی in the study file), a Persian instrument and structural
    model."""
    hs = pd.read_csv(HERE / "data" / "hs1939.csv")
    fa = hs[["id", "sex"] + list(FA)].rename(columns={"id": "شناسه", "sex": "جنسيت", **FA})
    fa.to_csv(tmp / "data.csv", index=False, encoding="utf-8")
    inst = {"id": "توانایی", "name": "آزمون توانایی", "response": {"min": 0, "max": 11,
                                                                   "integer": False},
            "subscales": ["دیداری", "کلامی", "سرعت"],
            "items": [{"id": str(i), "subscale": ["دیداری", "کلامی", "سرعت"][(i - 1) // 3]}
                      for i in range(1, 10)]}
    (tmp / "abilities.yaml").write_text(yaml.safe_dump(inst, allow_unicode=True), encoding="utf-8")
    doc = {"title": "hs", "data": "data.csv", "id": "شناسه",
           "group": {"column": "جنسیت", "labels": {1: "پسر", 2: "دختر"}},
           "estimator": "ML", "missing": "listwise", "missing_codes": [-9],
           "instruments": [{"file": "abilities.yaml", "prefix": "سوال_"}],
           "structural": {"model": "كلامي ~ دیداری\nسرعت ~ دیداری + کلامی"},
           "options": {"bootstrap": 0, **options}}
    p = tmp / "study.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def test_persian_study_loads_with_names_normalised_on_both_sides(tmp_path):
    s = pm.load_study(_persian_study(tmp_path))
    assert s.group.column == "جنسیت" and s.item_columns()[0] == "سوال_1"
    assert s.structural["model"].splitlines()[0] == "کلامی ~ دیداری"   # Arabic ك/ي -> Persian
    ds = pm.load_dataset(s)
    assert ds.n == 301 and ds.group_sizes() == {"پسر": 146, "دختر": 155}
    assert list(ds.items("توانایی").columns)[:2] == ["سوال_1", "سوال_2"]


def test_arabic_letters_in_study_names_match_persian_header(tmp_path):
    write_csv(tmp_path / "data.csv", GOOD, header=("کد", "جنسیت", "q1", "q2", "q3"))
    ds = pm.load_dataset(study(tmp_path, id_col="كد", group_col="جنسيت"))
    assert ds.data.index.name == "کد" and ds.group_sizes() == {"female": 2, "male": 2}
    # and the other way round: Arabic letters in the header, Persian in the study
    write_csv(tmp_path / "data.csv", GOOD, header=("كد", "جنسيت", "q1", "q2", "q3"))
    assert pm.load_dataset(study(tmp_path, id_col="کد", group_col="جنسیت")).n == 4


def test_persian_study_end_to_end_set_missing_all_changes_listed_stale_files(tmp_path, capsys):
    """The whole pipeline on Persian names (CFA, invariance, measurement model, validity,
    structural model); in set_missing mode every change is in results.json and in the
    appendix table; no raw Python warning on stderr; report files of an earlier run that
    this run does not write are removed and listed."""
    p = _persian_study(tmp_path, formats=["json", "html"], figures=False)
    f = tmp_path / "data.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    for k in range(1, 13):                          # 12 missing codes in one column
        cells = lines[k].split(",")
        cells[2] = "-9"
        lines[k] = ",".join(cells)
    cells = lines[20].split(",")
    cells[5] = "99"                                  # outside 0-11
    lines[20] = ",".join(cells)
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    doc["on_invalid"] = "set_missing"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "scree_old.png").write_bytes(b"old")
    (out / "appendix.docx").write_bytes(b"old")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    code = main(["validate", str(p), "--out", str(out), "--parallel-iterations", "5",
                 "--omega-bootstrap", "0", "--sem-bootstrap", "0"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "PsychometricsWarning" not in cap.err and "warnings.warn" not in cap.err
    assert "psychometrics: warning:" in cap.err
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert res["errors"] == []
    for key in ("cfa", "invariance", "measurement_model", "validity", "structural"):
        assert res[key], key
    assert res["data"]["n_changes"] == len(res["data"]["changes"]) == 13
    assert sum(c["reason"] == "missing code" for c in res["data"]["changes"]) == 12
    assert len(res["tables"]["data_changes"]["frame"]["data"]
               if isinstance(res["tables"]["data_changes"]["frame"], dict)
               else res["tables"]["data_changes"]["frame"]) == 13
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("missing code") >= 12
    assert not (out / "appendix.docx").exists() and not (out / "figures" / "scree_old.png").exists()
    assert sorted(res["meta"]["removed_stale_outputs"]) == ["appendix.docx",
                                                            "figures/scree_old.png"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert "removed 2 file(s) of an earlier report" in cap.out


def test_step_that_cannot_run_exits_3_after_writing_the_report(tmp_path, capsys):
    p = _persian_study(tmp_path, n_factors=20, formats=["json"], figures=False)
    out = tmp_path / "out"
    code = main(["validate", str(p), "--out", str(out), "--quiet", "--parallel-iterations", "5",
                 "--omega-bootstrap", "0", "--sem-bootstrap", "0"])
    err = capsys.readouterr().err
    assert code == 3
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert res["errors"] and "20" in err and "could not run" in err
    assert res["cfa"]                                   # the rest of the report is there


# ------------------------------------------------------------------ ids

def test_ids_are_text_leading_zeros_and_long_ids(tmp_path):
    rows = [["007", 1, 1, 2, 3], ["7", 2, 2, 3, 4], ["07", 1, 3, 4, 5], ["0", 2, 4, 5, 1]]
    write_csv(tmp_path / "data.csv", rows)
    ds = pm.load_dataset(study(tmp_path))
    assert list(ds.data.index) == ["007", "7", "07", "0"] and ds.dropped == []
    long_ids = [12345678901234567, 12345678901234568, 12345678901234569, 99999999999999999]
    write_csv(tmp_path / "data.csv", [[i] + r[1:] for i, r in zip(long_ids, GOOD)])
    ds = pm.load_dataset(study(tmp_path))
    assert ds.data.index.dtype == np.int64 and list(ds.data.index) == long_ids
    write_csv(tmp_path / "data.csv", [["۰۰۷"] + GOOD[0][1:], ["007"] + GOOD[1][1:]] + GOOD[2:])
    with pytest.raises(DataError, match="duplicate id"):     # Persian digits are the same id
        pm.load_dataset(study(tmp_path))
    # ids that reach us as floats beyond 2^53 (Excel, SPSS) may have lost digits: said so
    df = pd.DataFrame([[i * 1e17] + r[1:] for i, r in zip(range(1, 5), GOOD)],
                      columns=["id", "sex", "q1", "q2", "q3"])
    with pytest.warns(PsychometricsWarning, match="above 2\\^53"):
        ds = pm.load_dataset(study(tmp_path), data=df)
    assert list(ds.data.index) == [100000000000000000, 200000000000000000, 300000000000000000,
                                   400000000000000000]


# ------------------------------------------------------------------ group labels

def test_near_duplicate_group_spellings_without_labels(tmp_path):
    rows = [[i, g, 1 + i % 5, 1 + (i + 1) % 5, 1 + (i + 2) % 5] for i, g in enumerate(
        ["female"] * 6 + ["male"] * 6 + ["Female", "femal", "femal"], start=1)]
    write_csv(tmp_path / "data.csv", rows)
    with pytest.raises(DataError) as exc:
        pm.load_dataset(study(tmp_path, labels=False))
    msg = str(exc.value)
    assert "'femal' (2)" in msg and "'Female' (1)" in msg and "labels" in msg
    with pytest.warns(PsychometricsWarning, match="group comparisons disabled"):
        ds = pm.load_dataset(study(tmp_path, labels=False, on_invalid="set_missing"))
    assert ds.group is None and any("spelled differently" in w for w in ds.warnings)
    # blank group cells are counted
    blank = [r[:] for r in rows]
    blank[0][1] = ""
    write_csv(tmp_path / "data.csv", blank)
    ds = quiet_load(study(tmp_path, labels={"female": "f", "Female": "f2", "femal": "f3",
                                            "male": "m"}, on_invalid="set_missing"))
    assert any("1 case(s) have an empty 'sex' cell" in w for w in ds.warnings)
    write_csv(tmp_path / "data.csv", rows)
    # tiny groups ask for labels too
    with pytest.raises(DataError, match="has only 1 case.*labels"):
        pm.load_dataset(study(tmp_path, labels=False, min_size=2))
    # with labels the spellings are mapped
    ds = pm.load_dataset(study(tmp_path, labels={"female": "f", "Female": "f2", "femal": "f3",
                                                 "male": "m"}))
    assert ds.group_sizes()["m"] == 6


def test_near_duplicate_rule():
    nd = pio.near_duplicate_groups
    assert nd(["female", "Female", "femal", "male"]) == [["female", "Female", "femal"]]
    assert nd(["male", "female"]) == [] and nd(["grade1", "grade2"]) == []
    assert nd(["man", "men"]) == [] and nd(["زن", "مرد"]) == [] and nd(["زن", "زن."]) == [["زن", "زن."]]


# ------------------------------------------------------------------ the study file

def _doc(tmp):
    write_csv(tmp / "data.csv", GOOD)
    (tmp / "mini.yaml").write_text(yaml.safe_dump(MINI), encoding="utf-8")
    return {"data": "data.csv", "id": "id", "instruments": [{"file": "mini.yaml", "prefix": "q"}]}


def _write(tmp, doc):
    p = tmp / "study.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def test_duplicate_yaml_key_is_refused(tmp_path):
    _doc(tmp_path)
    p = tmp_path / "study.yaml"
    p.write_text("data: other.csv\nid: id\ndata: data.csv\ninstruments: [{file: mini.yaml, "
                 "prefix: q}]\n", encoding="utf-8")
    with pytest.raises(StudyError, match="'data' is given twice.*line 1"):
        pm.load_study(p)
    (tmp_path / "mini.yaml").write_text("id: mini\nname: a\nname: b\nitems: [1, 2]\n",
                                        encoding="utf-8")
    p.write_text("data: data.csv\nid: id\ninstruments: [{file: mini.yaml}]\n", encoding="utf-8")
    with pytest.raises(StudyError, match="'name' is given twice"):
        pm.load_study(p)


def test_yaml_alias_bomb_and_size_limits(tmp_path):
    _doc(tmp_path)
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 12):
        bomb.append(f"{chr(97 + k)}: &{chr(97 + k)} [" + ", ".join([f"*{chr(96 + k)}"] * 10) + "]")
    p = tmp_path / "study.yaml"
    p.write_text("\n".join(bomb) + "\ndata: data.csv\n", encoding="utf-8")
    with pytest.raises(StudyError, match="expands to .* values through aliases"):
        pm.load_study(p)
    p.write_text("a: &a [*a]\n", encoding="utf-8")
    with pytest.raises(StudyError, match="recursive alias"):
        pm.load_study(p)
    p.write_text("title: '" + "x" * 1_100_000 + "'\n", encoding="utf-8")
    with pytest.raises(StudyError, match="too large"):
        pm.load_study(p)


@pytest.mark.parametrize("options,match", [
    ({"ci_level": 0.9}, "unknown option 'ci_level'.*known options: bootstrap"),
    ({"alpha_level": 0.01}, "unknown option 'alpha_level'"),
    ({"rotation": "obliminn"}, "rotation.*oblimin, quartimin"),
    ({"efa_method": "uls"}, "efa_method.*minres, ml, pa"),
    ({"invariance_levels": ["configural", "weak"]}, "invariance_levels"),
    ({"formats": ["html", "pdf"]}, "formats.*json, html, docx, tex, xlsx"),
])
def test_options_that_would_be_ignored_or_fail_later_are_refused(tmp_path, options, match):
    doc = _doc(tmp_path)
    doc["options"] = options
    with pytest.raises(StudyError, match=match):
        pm.load_study(_write(tmp_path, doc))
    doc["options"] = {"rotation": "Varimax", "efa_method": "ml", "formats": ["html"],
                      "invariance_levels": ["configural", "metric"], "figures": False}
    assert pm.load_study(_write(tmp_path, doc)).options["rotation"] == "Varimax"


def test_structural_model_errors_at_load_time(tmp_path):
    doc = _doc(tmp_path)
    doc["structural"] = {"model": "mini ~ "}
    with pytest.raises(StudyError, match="structural model has a syntax error"):
        pm.load_study(_write(tmp_path, doc))
    doc["structural"] = {"model": "outcome ~ mini"}
    with pytest.raises(StudyError, match="unknown variable.*'outcome'.*factors the study "
                                         "defines are: mini"):
        pm.load_study(_write(tmp_path, doc))
    doc["structural"] = {"model": "extra =~ q1 + q2\nmini ~ extra"}
    assert pm.load_study(_write(tmp_path, doc)).structural["model"].endswith("mini ~ extra")


# ------------------------------------------------------------------ xlsx

def _xlsx_study(tmp, **kw):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for r in [["id", "sex", "q1", "q2", "q3", "note"]] + [r + ["x"] for r in GOOD] + \
            [[5, 2, "=2+1", 1, 2, "y"]]:
        ws.append(r)
    ws.merge_cells("B4:B5")     # the group of ids 3 and 4
    ws.merge_cells("F2:F3")     # a column the study does not use
    wb.save(tmp / "data.xlsx")
    return study(tmp, data="data.xlsx", **kw)


def test_xlsx_merged_and_formula_cells_are_reported(tmp_path):
    p = _xlsx_study(tmp_path)
    with pytest.raises(DataError) as exc:
        pm.load_dataset(p)
    got = {(q.row, q.column, q.problem.split(":")[0]) for q in exc.value.problems}
    assert got == {(4, "sex", "B5"), (5, "q1", "C6")}
    assert "B4:B5" in str(exc.value) and "formula" in str(exc.value)
    with pytest.warns(PsychometricsWarning) as rec:
        ds = pm.load_dataset(p, on_invalid="set_missing")
    assert [(c.row, c.column, c.old) for c in ds.changes] == [(4, "sex", None), (5, "q1", "=2+1")]
    assert ds.group.loc[4] is None and np.isnan(ds.data.loc[5, "q1"])
    assert any("F3" in str(w.message) for w in rec)      # unused column: warned, counted
    # a formula whose result the workbook stored: the value is used and the cell noted
    z = zipfile.ZipFile(tmp_path / "data.xlsx")
    parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    z.close()
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<f>2+1</f><v></v>", b"<f>2+1</f><v>3</v>")
    with zipfile.ZipFile(tmp_path / "data.xlsx", "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    ds = quiet_load(p, on_invalid="set_missing")
    assert ds.data.loc[5, "q1"] == 3 and any("C6" in n for n in ds.notes)


def test_xlsx_several_sheets_must_be_named(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Codebook"
    ws.append(["column", "meaning"])
    ws2 = wb.create_sheet("Responses")
    for r in [["id", "sex", "q1", "q2", "q3"]] + GOOD:
        ws2.append(r)
    wb.create_sheet("Empty")
    wb.save(tmp_path / "data.xlsx")
    with pytest.raises(DataError, match="2 sheets with data \\('Codebook', 'Responses'\\).*sheet"):
        pm.load_dataset(study(tmp_path, data="data.xlsx"))
    assert pm.load_dataset(study(tmp_path, data="data.xlsx", sheet="Responses")).n == 4
    with pytest.raises(DataError, match="no sheet named 'Answers'.*1: 'Responses'"):
        pm.load_dataset(study(tmp_path, data={"file": "data.xlsx", "sheet": "Answers"}))


# ------------------------------------------------------------------ encodings

def test_latin1_is_not_read_as_cp1256_and_the_decision_is_recorded(tmp_path):
    rows = [[1, "Männlich", 1, 2, 3], [2, "Weiblich", 2, 3, 4], [3, "Männlich", 3, 4, 5],
            [4, "Weiblich", 4, 5, 1]]
    write_csv(tmp_path / "data.csv", rows, encoding="cp1252")
    labels = {"Männlich": "m", "Weiblich": "w"}
    with pytest.warns(PsychometricsWarning, match="Windows-1252"):
        ds = pm.load_dataset(study(tmp_path, labels=labels))
    assert ds.group_sizes() == {"m": 2, "w": 2} and ds.encoding == "cp1252"
    assert any("Windows-1252" in n for n in ds.notes) and ds.to_dict()["encoding"] == "cp1252"
    # the study file can name the encoding: then nothing is guessed
    with warnings.catch_warnings():
        warnings.simplefilter("error", PsychometricsWarning)
        ds = pm.load_dataset(study(tmp_path, labels=labels, encoding="latin-1"))
    assert ds.encoding == "latin-1" and ds.group_sizes() == {"m": 2, "w": 2}
    # Persian and Western letters in one 8-bit file: the encoding must be named
    raw = "id,sex,q1,q2,q3\n1,زن,1,2,3\n".encode("cp1256") + "2,Männlich,2,3,4\n".encode("cp1252")
    (tmp_path / "data.csv").write_bytes(raw)
    with pytest.raises(DataError, match="encoding"):
        pm.load_dataset(study(tmp_path, labels={"زن": "f", "Männlich": "m"}))
    with pytest.raises(StudyError, match="unknown text encoding"):
        pm.load_study(study(tmp_path, encoding="klingon"))


# ------------------------------------------------------------------ paths

def test_paths_stay_inside_the_study_folder(tmp_path):
    inner = tmp_path / "study"
    inner.mkdir()
    write_csv(tmp_path / "outside.csv", GOOD)
    for data in ("../outside.csv", str(tmp_path / "outside.csv"), "../../etc/passwd",
                 "/etc/passwd"):
        with pytest.raises(StudyError, match="outside the study's folder|absolute path") as exc:
            pm.load_study(study(inner, data=data))
        assert "root:" not in str(exc.value) and "--data" in str(exc.value)
    os.symlink(tmp_path / "outside.csv", inner / "link.csv")
    with pytest.raises(StudyError, match="outside the study's folder"):
        pm.load_study(study(inner, data="link.csv"))
    (tmp_path / "mini_out.yaml").write_text(yaml.safe_dump(MINI), encoding="utf-8")
    p = study(inner, data="link.csv", write=False)
    doc = {"data": "x.csv", "id": "id", "instruments": [{"file": "../mini_out.yaml"}]}
    write_csv(inner / "x.csv", GOOD)
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(StudyError, match="instrument file '../mini_out.yaml' lies outside"):
        pm.load_study(p)
    # named by the user (the command line's --data), a file elsewhere is read
    s = pm.load_study(study(inner, data="../outside.csv"), data=tmp_path / "outside.csv")
    assert pm.load_dataset(s).n == 4


def test_folder_device_and_huge_data_files(tmp_path, monkeypatch):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(StudyError, match="is a folder, not a file"):
        pm.load_study(study(tmp_path, data="folder.csv"))
    with pytest.raises(pio.DataError, match="is a folder"):
        pm.read_data(tmp_path / "folder.csv")
    if Path("/dev/zero").exists():
        with pytest.raises(StudyError, match="not a regular file"):
            pm.load_study(study(tmp_path), data="/dev/zero")
        with pytest.raises(DataError, match="not a regular file"):
            pm.read_data("/dev/zero")
    write_csv(tmp_path / "data.csv", GOOD)
    monkeypatch.setattr(pio, "MAX_DATA_BYTES", 10)
    with pytest.raises(DataError, match="too large"):
        pm.read_data(tmp_path / "data.csv")
    pd.DataFrame(GOOD).to_excel(tmp_path / "data.xlsx", index=False)
    monkeypatch.setattr(pio, "MAX_DATA_BYTES", 10**9)
    monkeypatch.setattr(pio, "MAX_XLSX_UNPACKED", 100)      # a "zip bomb" unpacks far beyond
    with pytest.raises(DataError, match="unpacks to .* bytes"):
        pm.read_data(tmp_path / "data.xlsx")


def test_messages_quote_one_cell_never_lines_or_numpy_types(tmp_path):
    f = tmp_path / "data.csv"
    f.write_text("id,sex,q1,q2,q3\n1,1,1,2,3\n2,2,2,3,4,root:x:0:0:root:/root:/bin/bash,"
                 "secret\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        pm.read_data(f)
    assert "line 3" in str(exc.value) and "/bin/bash" not in str(exc.value)
    p = CellProblem("f.csv", np.int64(1), "q1", np.float64(3.0), "bad")
    assert str(p) == "f.csv: row 1, column 'q1', value 3.0: bad"
    assert "…" in str(CellProblem("f", 1, "c", "x" * 500, "long")) and \
        len(str(CellProblem("f", 1, "c", "x" * 500, "long"))) < 120
    from psychometrics._validate import numeric_items
    with pytest.raises(DataError) as exc:
        numeric_items(pd.DataFrame({"a": [1, "x", 3]}, index=np.array([5, 6, 7])), "src")
    assert "np." not in str(exc.value) and "row 6" in str(exc.value)
    with pytest.raises(DataError) as exc:
        numeric_items(pd.DataFrame({"a": np.array([3.0, 3.0, 3.0])}), "src")
    assert "every value is 3.0)" in str(exc.value) and "np." not in str(exc.value)


# ------------------------------------------------------------------ the output folder

def _small(tmp):
    write_csv(tmp / "data.csv", GOOD)
    return study(tmp)


def test_output_folder_problems_are_reported_before_the_analyses(tmp_path, capsys, monkeypatch):
    p = _small(tmp_path)
    before = (tmp_path / "data.csv").read_bytes()
    assert main(["validate", str(p), "--out", str(tmp_path / "data.csv"), "--quiet"]) == 2
    assert "is the data file" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert main(["validate", str(p), "--out", str(tmp_path / "afile"), "--quiet"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["validate", str(p), "--out", str(tmp_path / "afile" / "sub"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "internal error" not in err
    # an input named like a report file in the output folder
    shutil.copy(tmp_path / "data.csv", tmp_path / "results.json")
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    doc["data"] = "results.json"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert main(["validate", str(p), "--out", str(tmp_path), "--quiet"]) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert (tmp_path / "results.json").read_bytes() == before
    # a folder nobody may write into
    doc["data"] = "data.csv"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    real = Path.write_bytes

    def refuse(self, data):
        if ".psychometrics-write-test" in self.name:
            raise PermissionError(13, "Permission denied")
        return real(self, data)
    monkeypatch.setattr(Path, "write_bytes", refuse)
    assert main(["validate", str(p), "--out", str(tmp_path / "ro"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "not writable (Permission denied)" in err and "internal error" not in err


def test_cli_data_option_reads_a_file_outside_the_study_folder(tmp_path, capsys):
    inner = tmp_path / "s"
    inner.mkdir()
    write_csv(tmp_path / "elsewhere.csv", [r[:2] + [7] + r[3:] for r in GOOD])
    p = study(inner, data="missing.csv")
    code = main(["validate", str(p), "--data", str(tmp_path / "elsewhere.csv"),
                 "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "elsewhere.csv: row 1, column 'q1', value 7" in err


# ------------------------------------------------------------------ the import circle

def test_io_and_scales_import_one_way():
    import ast
    src = Path(pm.scales.__file__).read_text(encoding="utf-8")
    imported = {n.module for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)}
    assert "io" not in imported and "_text" in imported
    from psychometrics import _text
    assert pio.normalize_text is _text.normalize_text and pio.to_number is _text.to_number


# ------------------------------------------------------------------ property: nothing lost

CELLS = st.one_of(st.integers(-12, 12).map(str), st.sampled_from(
    ["", "3.5", "2.0000001", "-9", "۳", "٤", "abc", "NA", " 4 ", "1e1", "5.0", "99"]))
IDS = st.one_of(st.integers(0, 30).map(str), st.sampled_from(["007", "07", "۰۷", "", "x1",
                                                              "12345678901234567"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(IDS, st.sampled_from(["1", "2", ""]), CELLS, CELLS, CELLS),
                     min_size=1, max_size=15))
def test_loader_loses_or_changes_no_cell_without_a_record(tmp_path_factory, rows):
    """Every item cell of every case is in the loaded data unchanged (as the number it
    writes), or missing with a Change naming its case, column and old value; every case
    is kept or listed in `dropped`."""
    tmp = tmp_path_factory.mktemp("p")
    (tmp / "data.csv").write_text(
        "id,sex,q1,q2,q3\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    p = study(tmp, min_size=1, on_invalid="set_missing")
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    doc["missing_codes"] = [-9]
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    try:
        ds = quiet_load(p)
    except pm.errors.PsychometricsError:
        return                      # a refusal (e.g. a constant item) loses nothing silently
    body = [r for r in rows if any(c.strip() for c in r)]       # blank lines are no cases
    seen: set = set()
    n_dropped = 0
    for r in body:
        rid = pio._id_text(r[0])
        if rid is None or rid in seen:
            n_dropped += 1
        else:
            seen.add(rid)
    assert ds.n == len(seen) and len(ds.dropped) == n_dropped
    assert {str(i) for i in ds.data.index} == seen
    changed = {(c.row, c.column): c for c in ds.changes}
    for idx in ds.data.index:
        src = [r for r in body if pio._id_text(r[0]) == str(idx)][0]   # the first copy is kept
        for col, raw in zip(("q1", "q2", "q3"), src[2:]):
            got = ds.data.loc[idx, col]
            num = pio.to_number(raw)
            if raw.strip() == "":
                assert np.isnan(got) and (idx, col) not in changed
            elif num is not None and 1 <= num <= 5 and num == int(num):
                assert got == num and (idx, col) not in changed
            else:
                assert np.isnan(got)
                c = changed[(idx, col)]
                assert c.new is None
                assert c.old in (pio._fmt_value(num), pio.normalize_text(raw))
