"""Instrument YAML schema, built-in instruments and the study file."""
from pathlib import Path

import pytest
import yaml

import psychometrics as pm
from psychometrics.errors import StudyError
from psychometrics.scales import instrument_from_dict

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"


def test_builtin_wai_sr_structure():
    w = pm.builtin_instruments()["wai_sr"]
    assert w.n_items == 12 and (w.min, w.max) == (1, 5)
    assert w.subscale_items("goal") == ["4", "6", "8", "11"]
    assert w.subscale_items("task") == ["1", "2", "10", "12"]
    assert w.subscale_items("bond") == ["3", "5", "7", "9"]
    assert w.reverse_items == []
    assert all(not it.text for it in w.items)      # no copyrighted wording shipped
    assert w.cfa_syntax("wai_").splitlines() == [
        "goal =~ wai_4 + wai_6 + wai_8 + wai_11",
        "task =~ wai_1 + wai_2 + wai_10 + wai_12",
        "bond =~ wai_3 + wai_5 + wai_7 + wai_9"]
    assert w.score_names() == ["goal", "task", "bond", "total"]


def test_builtin_csq8_one_factor():
    c = pm.load_instrument("csq8")
    assert c.n_items == 8 and (c.min, c.max) == (1, 4)
    assert list(c.factors()) == ["satisfaction"]
    cols = {str(i): f"q{i}" for i in range(1, 9)}
    assert c.cfa_syntax(cols) == "satisfaction =~ " + " + ".join(f"q{i}" for i in range(1, 9))


def test_no_subscales_gives_one_factor_named_after_instrument():
    inst = instrument_from_dict({"id": "mini", "name": "Mini", "items": ["a", "b", "c"]})
    assert inst.cfa_syntax() == "mini =~ a + b + c"
    assert inst.score_names() == ["total"]
    assert inst.min is None


def test_simulator_style_instrument_file_loads():
    inst = pm.load_instrument(EXAMPLES / "engagement.yaml")
    assert inst.id == "client_engagement"
    assert inst.reverse_items == ["3", "6"]
    assert inst.subscales == ["engagement"]
    assert inst.items[0].text["en"].startswith("I come")
    assert "fa" in inst.items[0].text
    assert inst.subscale_label("engagement", "fa") == "درگیری"


BASE = {"id": "t", "name": "T", "response": {"min": 1, "max": 5}, "subscales": ["s1", "s2"],
        "items": [{"id": "1", "subscale": "s1"}, {"id": "2", "subscale": "s2"}]}


def mutate(**changes):
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    for k, v in changes.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    return doc


@pytest.mark.parametrize("doc,match", [
    (mutate(colour="red"), "unknown key 'colour'"),
    (mutate(items=[{"id": "1", "subscale": "s1"}, {"id": "1", "subscale": "s2"}]),
     "duplicate item id '1'"),
    (mutate(items=[{"id": "1", "subscale": "s1"}, {"id": "2", "subscale": "s3"}]),
     "subscale 's3' is not defined"),
    (mutate(response=None, items=[{"id": "1", "subscale": "s1", "reverse": True},
                                  {"id": "2", "subscale": "s2"}]),
     "reverse keyed but the instrument has no response range"),
    (mutate(items=[{"id": "1", "subscale": "s1", "revrse": True}, {"id": "2", "subscale": "s2"}]),
     "unknown key 'revrse'.*did you mean 'reverse'"),
    (mutate(scoring="median"), "scoring must be 'sum' or 'mean'"),
    (mutate(max_missing_share=1.5), "max_missing_share"),
    (mutate(response={"min": 5, "max": 1}), "must be smaller"),
    (mutate(response={"min": 1, "max": 5, "step": 1}), "unknown key 'step'"),
    (mutate(items=[{"id": "1", "subscale": "s1"}, {"id": "2"}]), "belong to no subscale"),
    (mutate(items=[]), "non-empty list"),
    (mutate(id="bad id"), "instrument id"),
    (mutate(items=[{"id": "1", "subscale": "s1", "reverse": "yes"}, {"id": "2", "subscale": "s2"}]),
     "reverse must be true or false"),
    ([1, 2], "must be a YAML mapping"),
])
def test_instrument_schema_errors(doc, match):
    with pytest.raises(StudyError, match=match):
        instrument_from_dict(doc, source="x.yaml")


def test_instrument_file_errors(tmp_path):
    with pytest.raises(StudyError, match="not found"):
        pm.load_instrument(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nitems: [a, b\n", encoding="utf-8")
    with pytest.raises(StudyError, match="invalid YAML"):
        pm.load_instrument(bad)
    with pytest.raises(StudyError, match="unknown instrument 'wai'.*did you mean 'wai_sr'"):
        pm.load_instrument("wai")


# ------------------------------------------------------------------ study file

def write_study(tmp_path, **changes):
    (tmp_path / "data.csv").write_text("id,g,q1\n1,1,2\n", encoding="utf-8")
    doc = {"title": "T", "data": "data.csv", "id": "id",
           "group": {"column": "g", "labels": {1: "a", 2: "b"}},
           "instruments": [{"scale": "csq8", "prefix": "csq_"}]}
    for k, v in changes.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def test_example_study_loads():
    s = pm.load_study(EXAMPLES / "study.yaml")
    assert s.instrument_ids == ["wai_sr", "client_engagement", "csq8", "client_outcome"]
    assert s.item_columns("wai_sr")[:3] == ["wai_1", "wai_2", "wai_3"]
    assert s.group.column == "gender" and s.group.labels == {"1": "female", "2": "male"}
    assert s.group.reference == "female"
    assert (s.estimator, s.missing, s.seed) == ("MLR", "fiml", 20261122)
    assert s.options == {"bootstrap": 1000, "split_half": True}
    assert s.data.is_file() and s.structural["model"].startswith("alliance")
    assert "bond =~ wai_3 + wai_5 + wai_7 + wai_9" in s.cfa_syntax("wai_sr")
    s_fa = pm.load_study(EXAMPLES / "study_fa.yaml")
    assert s_fa.group.reference == "زن" and s_fa.language == "fa"


def test_study_columns_mapping(tmp_path):
    cols = {str(i): f"s{i}" for i in range(1, 9)}
    s = pm.load_study(write_study(tmp_path, instruments=[{"scale": "csq8", "columns": cols}]))
    assert s.item_columns("csq8") == [f"s{i}" for i in range(1, 9)]


@pytest.mark.parametrize("changes,match", [
    ({"colour": 1}, "unknown key 'colour'"),
    ({"instruments": [{"scale": "nope"}]}, "unknown instrument 'nope'"),
    ({"data": "missing.csv"}, "data file not found"),
    ({"instruments": [{"scale": "csq8", "prefix": "x"}, {"scale": "wai_sr", "prefix": "x"}]},
     "mapped twice"),
    ({"instruments": [{"scale": "csq8", "columns": {**{str(i): f"c{i}" for i in range(1, 8)},
                                                   "8": "c1"}}]}, "mapped twice"),
    ({"instruments": [{"scale": "csq8", "columns": {"1": "a"}}]}, "no data column given"),
    ({"instruments": [{"scale": "csq8", "columns": {"99": "a"}}]}, "unknown item"),
    ({"options": {"bootstrp": 10}}, "unknown option 'bootstrp'.*did you mean 'bootstrap'"),
    ({"options": {"bootstrap": -1}}, "option 'bootstrap' must be"),
    ({"estimator": "WLSMV"}, "estimator must be ML or MLR"),
    ({"missing": "pairwise"}, "missing must be listwise or fiml"),
    ({"on_invalid": "ignore"}, "on_invalid"),
    ({"id": None}, "required key `id`"),
    ({"group": {"column": "g", "colour": 1}}, "unknown key 'colour'"),
    ({"group": {"column": "g", "labels": {1: "a", 2: "b"}, "reference": "c"}}, "reference"),
    ({"instruments": [{"scale": "csq8", "file": "x.yaml"}]}, "exactly one of"),
    ({"instruments": [{"scale": "csq8"}, {"scale": "csq8", "prefix": "b"}]}, "listed twice"),
    ({"instruments": [{"file": "none.yaml"}]}, "not found"),
    ({"seed": "abc"}, "seed"),
    ({"instruments": [{"scale": "csq8", "prefix": "g"}], "group": {"column": "g1"}},
     "group column 'g1' is also mapped"),
])
def test_study_errors(tmp_path, changes, match):
    with pytest.raises(StudyError, match=match):
        pm.load_study(write_study(tmp_path, **changes))


def test_study_not_yaml_mapping(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(StudyError, match="must be a YAML mapping"):
        pm.load_study(p)
    with pytest.raises(StudyError, match="not found"):
        pm.load_study(tmp_path / "absent.yaml")


def test_user_instrument_relative_to_study(tmp_path):
    (tmp_path / "scales").mkdir()
    (tmp_path / "scales" / "mine.yaml").write_text(yaml.safe_dump(
        {"id": "mine", "name": "Mine", "response": {"min": 0, "max": 3},
         "items": [{"id": "a"}, {"id": "b", "reverse": True}]}), encoding="utf-8")
    s = pm.load_study(write_study(tmp_path, instruments=[{"file": "scales/mine.yaml",
                                                          "prefix": "m_"}]))
    assert s.item_columns("mine") == ["m_a", "m_b"]
    assert s.instrument("mine").instrument.reverse_items == ["b"]
    d = s.to_dict()
    assert d["instruments"][0]["columns"] == {"a": "m_a", "b": "m_b"}


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from psychometrics.errors import PsychometricsError  # noqa: E402

ANY = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(),
                             st.text(max_size=6), st.sampled_from(["csq8", "wai_sr", "g", "x"])),
                   lambda inner: st.one_of(st.lists(inner, max_size=3),
                                           st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                   max_leaves=6)
KEYS = ["title", "data", "id", "group", "missing_codes", "on_invalid", "language", "seed",
        "estimator", "missing", "instruments", "structural", "options"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(KEYS), ANY, max_size=3),
       item=st.dictionaries(st.sampled_from(["id", "subscale", "reverse", "text", "fa", "x"]),
                            ANY, max_size=3))
def test_random_study_and_instrument_values_only_raise_study_errors(tmp_path, changes, item):
    try:
        pm.load_study(write_study(tmp_path, **changes))
    except PsychometricsError:
        pass
    doc = mutate(items=[{"id": "1", "subscale": "s1"}, {"subscale": "s2", **item}])
    try:
        instrument_from_dict(doc)
    except PsychometricsError:
        pass
