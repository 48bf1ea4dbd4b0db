"""Reading, normalising and validating data files (psychometrics/io.py)."""
import hashlib
import string
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

import psychometrics as pm
from psychometrics.errors import DataError, PsychometricsError, PsychometricsWarning, StudyError
from psychometrics.io import normalize_text, to_number

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------ normalisation

def test_normalize_text_and_numbers():
    assert normalize_text("  ۱۲۳ ") == "123"
    assert normalize_text("٤٥") == "45"
    assert normalize_text("علي  كريمي") == "علی کریمی"
    assert normalize_text("\u200fزن\u200e") == "زن"
    assert to_number("۳٫۵") == 3.5
    assert to_number("−۹") == -9
    assert to_number("٩٩") == 99
    assert to_number("") is None and to_number("abc") is None and to_number("1 2") is None
    assert to_number(True) is None and to_number(float("nan")) is None
    assert to_number("1e999") is None


# ------------------------------------------------------------------ the example study

def test_example_dataset():
    before = digest(EXAMPLES / "data.csv")
    ds = pm.load_dataset(EXAMPLES / "study.yaml")
    assert digest(EXAMPLES / "data.csv") == before          # input never written
    assert ds.n == 324 and ds.data.index.name == "id"
    assert ds.group_sizes() == {"female": 225, "male": 99}
    assert ds.group_labels == ["female", "male"]
    raw = pd.read_csv(EXAMPLES / "data.csv")
    items = ds.study.item_columns()
    n_codes = int(raw[items].isin([-9, 99]).to_numpy().sum())
    assert n_codes > 0 and len(ds.changes) == n_codes
    assert {c.reason for c in ds.changes} == {"missing code"}
    c = ds.changes[0]
    assert raw.set_index("id").loc[c.row, c.column] == c.old and c.new is None
    assert np.isnan(ds.data.loc[c.row, c.column])
    assert ds.data[items].dtypes.eq(float).all()
    assert list(ds.items("wai_sr").columns) == [f"wai_{i}" for i in range(1, 13)]
    assert "age" in ds.other.columns
    d = ds.to_dict()
    assert d["n_cases"] == 324 and len(d["changes"]) == n_codes


def test_persian_file_equals_english_file():
    en = pm.load_dataset(EXAMPLES / "study.yaml")
    fa = pm.load_dataset(EXAMPLES / "study_fa.yaml")
    pd.testing.assert_frame_equal(en.data.drop(columns="gender"), fa.data.drop(columns="gender"))
    assert fa.group_sizes() == {"زن": 225, "مرد": 99}
    assert len(fa.changes) == len(en.changes)


# ------------------------------------------------------------------ small studies

def make_study(tmp, rows, header=("id", "sex", "q1", "q2", "q3"), *, encoding="utf-8",
               delimiter=",", fname="data.csv", labels=None, min_size=1, codes=(-9,),
               on_invalid="stop", bom=False, instrument=None):
    tmp = Path(tmp)
    if fname.endswith((".csv", ".txt")):
        text = "\n".join(delimiter.join(str(c) for c in r) for r in [list(header)] + rows) + "\n"
        data = text.encode(encoding)
        if bom:
            data = b"\xef\xbb\xbf" + data
        (tmp / fname).write_bytes(data)
    inst = instrument or {"id": "mini", "name": "Mini", "response": {"min": 1, "max": 5},
                          "items": [{"id": "1"}, {"id": "2", "reverse": True}, {"id": "3"}]}
    (tmp / "mini.yaml").write_text(yaml.safe_dump(inst), encoding="utf-8")
    doc = {"data": fname, "id": "id",
           "group": {"column": "sex", "labels": labels or {1: "female", 2: "male"},
                     "min_size": min_size},
           "missing_codes": list(codes), "on_invalid": on_invalid,
           "instruments": [{"file": "mini.yaml", "prefix": "q"}]}
    p = tmp / "study.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


GOOD = [[1, 1, 1, 2, 3], [2, 2, 2, 3, 4], [3, 1, 3, 4, 5], [4, 2, 4, 5, 1]]


@pytest.mark.parametrize("encoding,bom,delimiter", [
    ("utf-8", False, ","), ("utf-8", True, ";"), ("cp1256", False, "\t"), ("utf-16", False, ","),
    ("utf-8", False, "|")])
def test_encodings_and_delimiters(tmp_path, encoding, bom, delimiter):
    rows = [[r[0], "زن" if r[1] == 1 else "مرد"] + r[2:] for r in GOOD]
    p = make_study(tmp_path, rows, encoding=encoding, bom=bom, delimiter=delimiter,
                   labels={"زن": "زن", "مرد": "مرد"})
    ds = pm.load_dataset(p)
    assert ds.group_sizes() == {"زن": 2, "مرد": 2}
    assert ds.data.loc[3, "q3"] == 5


def test_persian_digits_and_arabic_letter_variants(tmp_path):
    rows = [["۱", "۱", "۱", "۲", "۳"], ["۲", "٢", "٢", "٣", "٤"], ["3", "1", "۳", "٤", "۵"],
            ["4", "2", "4", "5", "1"]]
    p = make_study(tmp_path, rows)
    ds = pm.load_dataset(p)
    assert list(ds.data.index) == [1, 2, 3, 4]
    assert ds.data["q2"].tolist() == [2, 3, 4, 5]
    assert ds.group.tolist() == ["female", "male", "female", "male"]
    assert ds.changes == []      # digit normalisation is not a recorded change
    # labels typed with the Arabic ي / ك match the Persian spelling in the study
    rows2 = [[1, "كودكي", 1, 2, 3], [2, "بزرگسال", 2, 3, 4], [3, "کودکی ", 3, 4, 5],
             [4, "بزرگسال", 4, 5, 1]]
    p2 = make_study(tmp_path, rows2, labels={"کودکی": "کودکی", "بزرگسال": "بزرگسال"})
    assert pm.load_dataset(p2).group_sizes() == {"کودکی": 2, "بزرگسال": 2}


def test_missing_codes_are_recorded(tmp_path):
    rows = [r[:] for r in GOOD]
    rows[1][3] = -9
    rows[2][4] = "۹۹"
    p = make_study(tmp_path, rows, codes=(-9, 99))
    ds = pm.load_dataset(p)
    assert [(c.row, c.column, c.old, c.reason) for c in ds.changes] == [
        (2, "q2", -9, "missing code"), (3, "q3", 99, "missing code")]
    assert ds.data[["q2", "q3"]].isna().sum().sum() == 2


def test_xlsx_and_sav(tmp_path):
    df = pd.DataFrame(GOOD, columns=["id", "sex", "q1", "q2", "q3"])
    df.to_excel(tmp_path / "data.xlsx", index=False)
    p = make_study(tmp_path, [], fname="data.xlsx")
    assert pm.load_dataset(p).group_sizes() == {"female": 2, "male": 2}
    pyreadstat = pytest.importorskip("pyreadstat")
    pyreadstat.write_sav(df.astype(float), str(tmp_path / "data.sav"),
                         variable_value_labels={"sex": {1.0: "زن", 2.0: "مرد"}})
    p = make_study(tmp_path, [], fname="data.sav")
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    doc["group"].pop("labels")                 # value labels come from the .sav file
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    ds = pm.load_dataset(p)
    assert ds.group_sizes() == {"زن": 2, "مرد": 2}
    assert ds.data.loc[4, "q3"] == 1


def problems_of(exc):
    return [(p.row, p.column, p.value) for p in exc.value.problems]


def test_out_of_range_and_non_numeric_stop_with_cells(tmp_path):
    rows = [r[:] for r in GOOD]
    rows[0][2] = 7
    rows[2][3] = "abc"
    rows[3][4] = "۰"
    p = make_study(tmp_path, rows)
    with pytest.raises(DataError) as exc:
        pm.load_dataset(p)
    assert set(problems_of(exc)) == {(1, "q1", 7), (3, "q2", "abc"), (4, "q3", 0)}
    msg = str(exc.value)
    assert "data.csv: row 1, column 'q1', value 7" in msg and "set_missing" in msg


def test_set_missing_records_every_change(tmp_path):
    rows = [r[:] for r in GOOD]
    rows[0][2] = 7
    rows[2][3] = "abc"
    before = digest(tmp_path / "data.csv") if (tmp_path / "data.csv").exists() else None
    p = make_study(tmp_path, rows, on_invalid="set_missing")
    before = digest(tmp_path / "data.csv")
    with pytest.warns(PsychometricsWarning):
        ds = pm.load_dataset(p)
    assert digest(tmp_path / "data.csv") == before
    assert [(c.row, c.column, c.old, c.new) for c in ds.changes] == [(1, "q1", 7, None),
                                                                      (3, "q2", "abc", None)]
    assert np.isnan(ds.data.loc[1, "q1"]) and np.isnan(ds.data.loc[3, "q2"])
    # the study's setting can be overridden per call
    with pytest.raises(DataError):
        pm.load_dataset(p, on_invalid="stop")


def test_duplicate_and_missing_ids(tmp_path):
    rows = [r[:] for r in GOOD] + [[2, 1, 5, 5, 5], ["", 1, 1, 1, 1]]
    p = make_study(tmp_path, rows)
    with pytest.raises(DataError) as exc:
        pm.load_dataset(p)
    assert "duplicate id" in str(exc.value) and "missing id" in str(exc.value)
    with pytest.warns(PsychometricsWarning):
        ds = pm.load_dataset(p, on_invalid="set_missing")
    assert ds.n == 4 and ds.data.loc[2, "q1"] == 2          # the first copy is kept
    assert [d["line"] for d in ds.dropped] == ["line 6", "line 7"]


def test_missing_columns_listed(tmp_path):
    p = make_study(tmp_path, [r[:4] for r in GOOD], header=("id", "sex", "q1", "q_2"))
    with pytest.raises(DataError) as exc:
        pm.load_dataset(p)
    assert [(q.column, q.problem) for q in exc.value.problems] == [
        ("q2", "column not in the file (did you mean 'q_2'?)"),
        ("q3", "column not in the file")]


def test_constant_item_always_stops(tmp_path):
    rows = [r[:] for r in GOOD]
    for r in rows:
        r[3] = 3
    p = make_study(tmp_path, rows, on_invalid="set_missing")
    with pytest.raises(DataError, match="constant item"):
        pm.load_dataset(p)


def test_group_problems(tmp_path):
    rows = [[r[0], 1] + r[2:] for r in GOOD]
    with pytest.raises(DataError, match="fewer than two groups"):
        pm.load_dataset(make_study(tmp_path, rows))
    with pytest.raises(DataError, match="has only 2 case"):
        pm.load_dataset(make_study(tmp_path, GOOD, min_size=3))
    with pytest.warns(PsychometricsWarning, match="group comparisons disabled"):
        ds = pm.load_dataset(make_study(tmp_path, GOOD, min_size=3, on_invalid="set_missing"))
    assert ds.group is None
    bad = [r[:] for r in GOOD]
    bad[0][1] = 3
    with pytest.raises(DataError) as exc:
        pm.load_dataset(make_study(tmp_path, bad))
    assert problems_of(exc) == [(1, "sex", 3)]


def test_many_problems_show_twenty_and_a_count(tmp_path):
    rows = [[i, 1 + i % 2, 9, 1 + i % 5, 1 + i % 3] for i in range(1, 31)]
    rows += [[31, 1, 1, 2, 3], [32, 2, 2, 3, 4]]
    with pytest.raises(DataError) as exc:
        pm.load_dataset(make_study(tmp_path, rows))
    assert len(exc.value.problems) == 30
    assert "... and 10 more" in str(exc.value)


def test_wrong_encoding_and_broken_files(tmp_path):
    rows = [[r[0], "زن"] + r[2:] for r in GOOD]
    p = make_study(tmp_path, rows, encoding="cp1256")
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    doc["data"] = {"file": "data.csv", "encoding": "utf-8"}
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(DataError, match="not valid utf-8"):
        pm.load_dataset(p)
    f = tmp_path / "ragged.csv"
    f.write_text("id,a\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 3"):
        pm.read_data(f)
    f.write_bytes(b"id,a\x00\x00b\n")
    with pytest.raises(DataError, match="NUL"):
        pm.read_data(f)
    f.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        pm.read_data(f)
    (tmp_path / "x.xlsx").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="xlsx"):
        pm.read_data(tmp_path / "x.xlsx")
    (tmp_path / "x.sav").write_bytes(b"not spss")
    with pytest.raises(DataError, match="sav"):
        pm.read_data(tmp_path / "x.sav")
    with pytest.raises(DataError, match="not found"):
        pm.read_data(tmp_path / "none.csv")
    (tmp_path / "dup.csv").write_text("id,a,a\n1,2,3\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate column"):
        pm.read_data(tmp_path / "dup.csv")


def test_read_data_types_and_trailing_delimiter(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("id;name;x;\n۱;علي;۲٫۵;\n2; b ;;\n", encoding="utf-8")
    df = pm.read_data(f)
    assert list(df.columns) == ["id", "name", "x"]
    assert df["id"].dtype == np.int64 and df["x"].tolist()[0] == 2.5 and np.isnan(df["x"][1])
    assert df["name"].tolist() == ["علی", "b"]


# ------------------------------------------------------------------ property-based

CELL = st.one_of(
    st.integers(-20, 120).map(str),
    st.sampled_from(["", " ", "۳", "٤", "-9", "99", "NA", "abc", "3.5", "1e999", "ي", "\u200f2",
                     '"', ",", ";", "\t", "1,5", "٫", "nan", "inf", "True", "1 2"]),
    st.text(alphabet=string.printable + "۰۱۲۳۴۵۶٠١٢٣يكیک", max_size=5),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(st.sampled_from(["id", "sex", "q1", "q2", "q3", "x", "", "q1"]),
                       min_size=1, max_size=7),
       rows=st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=12),
       delimiter=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "cp1256", "utf-16"]),
       mode=st.sampled_from(["stop", "set_missing"]))
def test_random_tables_never_crash(tmp_path_factory, header, rows, delimiter, encoding, mode):
    tmp = tmp_path_factory.mktemp("h")
    text = "\n".join(delimiter.join(r) for r in [header] + rows)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    (tmp / "data.csv").write_bytes(data)
    p = make_study(tmp, [], fname="data.txt", on_invalid=mode)
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    doc["data"] = "data.csv"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        try:
            ds = pm.load_dataset(p)
        except PsychometricsError:
            return
    assert ds.data.index.is_unique
    items = ds.items("mini")
    assert ((items >= 1) & (items <= 5) | items.isna()).all().all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300), ext=st.sampled_from([".csv", ".xlsx", ".sav", ".txt"]))
def test_random_bytes_never_crash_read_data(tmp_path_factory, raw, ext):
    f = tmp_path_factory.mktemp("b") / f"d{ext}"
    f.write_bytes(raw)
    try:
        df = pm.read_data(f)
    except PsychometricsError:
        return
    assert isinstance(df, pd.DataFrame)


def test_broken_utf8_is_not_read_as_cp1256(tmp_path):
    f = tmp_path / "b.csv"
    f.write_bytes("id,g\n1,زن\n2,مرد\n".encode("utf-8") + b"3,\xff\n")
    with pytest.raises(DataError, match="invalid byte.*line 4"):
        pm.read_data(f)
    f.write_bytes("id,g\n1,زن\n2,مرد\n".encode("cp1256"))
    assert pm.read_data(f)["g"].tolist() == ["زن", "مرد"]


def test_real_bfi_study(tmp_path):
    subs = {"agree": "A", "conscientious": "C", "extraversion": "E", "neuroticism": "N",
            "openness": "O"}
    rev = {"A1", "C4", "C5", "E1", "E2", "O2", "O5"}
    inst = {"id": "bfi", "name": "BFI", "response": {"min": 1, "max": 6}, "scoring": "mean",
            "max_missing_share": 0.4, "subscales": list(subs),
            "items": [{"id": f"{l}{i}", "subscale": s, "reverse": f"{l}{i}" in rev}
                      for s, l in subs.items() for i in range(1, 6)]}
    (tmp_path / "bfi.yaml").write_text(yaml.safe_dump(inst), encoding="utf-8")
    # a data file outside the study's folder is read only when named by the user
    # (the command line's --data), not through an absolute path in the study file
    study = {"id": "id",
             "group": {"column": "gender", "labels": {1: "male", 2: "female"},
                       "reference": "female"},
             "instruments": [{"file": "bfi.yaml"}]}
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(study), encoding="utf-8")
    ds = pm.load_dataset(pm.load_study(p, data=HERE / "data" / "bfi.csv"))
    raw = pd.read_csv(HERE / "data" / "bfi.csv").set_index("id")
    assert ds.n == 2800 and ds.group_labels == ["female", "male"]
    assert ds.group_sizes() == {"female": int((raw.gender == 2).sum()),
                                "male": int((raw.gender == 1).sum())}
    pd.testing.assert_frame_equal(ds.items("bfi"), raw.iloc[:, :25].astype(float),
                                  check_names=False)
    assert ds.changes == [] and ds.dropped == []
    assert {"education", "age"} <= set(ds.other.columns)


def test_blank_lines_keep_file_line_numbers_and_dataframe_input(tmp_path):
    p = make_study(tmp_path, GOOD)
    f = tmp_path / "data.csv"
    f.write_text(f.read_text().replace("\n3,", "\n\n\n3,") + "2,1,1,1,1\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        pm.load_dataset(p)
    assert "line 8; first on line 3" in str(exc.value)
    # a DataFrame indexed by id instead of the file
    df = pd.DataFrame(GOOD, columns=["id", "sex", "q1", "q2", "q3"]).set_index("id")
    ds = pm.load_dataset(p, data=df)
    assert list(ds.data.index) == [1, 2, 3, 4] and ds.data.loc[4, "q1"] == 4


def test_sav_user_missing_values_are_recorded(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    rows = [r[:] for r in GOOD]
    rows[1][2] = 99
    rows[2][3] = 97
    df = pd.DataFrame(rows, columns=["id", "sex", "q1", "q2", "q3"], dtype=float)
    pyreadstat.write_sav(df, str(tmp_path / "data.sav"),
                         missing_ranges={"q1": [99], "q2": [{"lo": 97, "hi": 98}]})
    before = digest(tmp_path / "data.sav")
    ds = pm.load_dataset(make_study(tmp_path, [], fname="data.sav", codes=()))
    assert digest(tmp_path / "data.sav") == before
    assert [(c.row, c.column, c.old, c.reason) for c in ds.changes] == [
        (2, "q1", 99, "SPSS user-missing value"), (3, "q2", 97, "SPSS user-missing value")]
    assert ds.data[["q1", "q2"]].isna().sum().sum() == 2


XCELL = st.one_of(st.none(), st.integers(-3, 120), st.floats(allow_nan=False, allow_infinity=False),
                  st.booleans(), st.sampled_from(["۳", "٤", "abc", " 2 ", "", "-9", "ي"]),
                  st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 1),
                               max_value=__import__("datetime").datetime(2030, 1, 1)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(XCELL, min_size=5, max_size=5), max_size=8),
       mode=st.sampled_from(["stop", "set_missing"]))
def test_random_xlsx_never_crash(tmp_path_factory, rows, mode):
    tmp = tmp_path_factory.mktemp("x")
    pd.DataFrame(rows, columns=["id", "sex", "q1", "q2", "q3"], dtype=object).to_excel(
        tmp / "data.xlsx", index=False)
    p = make_study(tmp, [], fname="data.xlsx", on_invalid=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsychometricsWarning)
        try:
            ds = pm.load_dataset(p)
        except PsychometricsError:
            return
    assert ds.data.index.is_unique


def test_blank_sheet_rows_are_not_cases(tmp_path):
    df = pd.DataFrame(GOOD[:2] + [[None] * 5] + GOOD[2:] + [[None] * 5],
                      columns=["id", "sex", "q1", "q2", "q3"])
    df.to_excel(tmp_path / "data.xlsx", index=False)
    raw = pm.read_data(tmp_path / "data.xlsx")
    assert len(raw) == 4 and raw.attrs["row_labels"] == ["row 2", "row 3", "row 5", "row 6"]
    ds = pm.load_dataset(make_study(tmp_path, [], fname="data.xlsx"))
    assert ds.n == 4
