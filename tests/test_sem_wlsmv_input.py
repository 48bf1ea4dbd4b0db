"""Bad ordinal input to pm.cfa / pm.invariance with ordered items: clear PsychometricsError
messages naming the column and the problem, never a traceback."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm

ROOT = Path(__file__).resolve().parents[1]
CSQ = "sat =~ " + " + ".join(f"csq_{i}" for i in range(1, 9))


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(ROOT / "examples" / "data.csv").replace(-9, np.nan)


def test_one_observed_category(data):
    with pytest.raises(pm.PsychometricsError, match=r"csq_3.*one observed category"):
        pm.cfa(CSQ, data.assign(csq_3=2), ordered=True)


def test_too_many_categories(data):
    with pytest.raises(pm.PsychometricsError, match=r"csq_3.*12 distinct values.*at most 10"):
        pm.cfa(CSQ, data.assign(csq_3=np.arange(len(data)) % 12), ordered=True)


def test_category_empty_in_one_group(data):
    bad = data.assign(csq_2=np.where((data.gender == 2) & (data.csq_2 == 1), 2, data.csq_2))
    with pytest.raises(pm.PsychometricsError, match=r"csq_2.*empty in group 2"):
        pm.cfa(CSQ, bad, ordered=True, group="gender")
    with pytest.raises(pm.PsychometricsError, match=r"csq_2.*empty in group 2"):
        pm.invariance(CSQ, bad, "gender", ordered=True)


def test_text_value_in_an_ordered_column(data):
    bad = data.assign(csq_2=data.csq_2.astype(object).where(data.index != 5, "x"))
    with pytest.raises(pm.PsychometricsError, match=r"row 5, column 'csq_2', value 'x'"):
        pm.cfa(CSQ, bad, ordered=True)


def test_mixed_ordinal_and_continuous_indicators_are_refused(data):
    with pytest.raises(pm.ModelError, match="mixing ordinal and continuous"):
        pm.cfa(CSQ, data, ordered=["csq_1", "csq_2"])


def test_unknown_estimator_or_missing(data):
    with pytest.raises(pm.ModelError, match="estimator"):
        pm.cfa(CSQ, data, ordered=True, estimator="GLS")
    with pytest.raises(pm.ModelError, match="missing"):
        pm.cfa(CSQ, data, ordered=True, missing="fiml")


# ---------------------------------------------------------------------------- study file
def test_study_instrument_ordered_auto_rule(tmp_path, data):
    from psychometrics.scales import load_study
    study = load_study(ROOT / "examples" / "study.yaml")
    csq = next(si for si in study.instruments if si.id == "csq8")
    wai = next(si for si in study.instruments if si.id == "wai_sr")
    assert csq.ordered == "auto" and wai.ordered is False
    assert csq.is_ordinal(data)             # four observed categories
    assert not wai.is_ordinal(data)         # ordered: false
    five = data.assign(csq_1=data.csq_1.where(data.index != 0, 5))
    assert not csq.is_ordinal(five)         # one item with five categories: not auto-ordinal


def test_study_rejects_bad_ordered_and_estimator(tmp_path):
    from psychometrics.errors import StudyError
    from psychometrics.scales import load_study
    text = (ROOT / "examples" / "study.yaml").read_text()
    for bad, msg in (("ordered: sometimes", "ordered must be true, false or auto"),
                     ("estimator: GLS", "estimator must be one of")):
        p = tmp_path / "study.yaml"
        p.write_text(text.replace("  ordered: auto", "  " + bad))
        (tmp_path / "data.csv").write_text((ROOT / "examples" / "data.csv").read_text())
        for f in ("engagement.yaml", "outcome.yaml"):
            (tmp_path / f).write_text((ROOT / "examples" / f).read_text())
        with pytest.raises(StudyError, match=msg):
            load_study(p)
