"""Scoring: reverse keying, prorating, sum/mean scores; checked against psych::scoreItems
(tests/reference/make_scoring.R)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.errors import DataError, PsychometricsError, StudyError
from psychometrics.scales import instrument_from_dict

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "scoring.json").read_text())
BFI = pd.read_csv(HERE / "data" / "bfi.csv").set_index("id")
REVERSED = {"A1", "C4", "C5", "E1", "E2", "O2", "O5"}


def bfi_instrument(scoring, share):
    subs = {"agree": "A", "conscientious": "C", "extraversion": "E", "neuroticism": "N",
            "openness": "O"}
    items = [{"id": f"{letter}{i}", "subscale": s, "reverse": f"{letter}{i}" in REVERSED}
             for s, letter in subs.items() for i in range(1, 6)]
    return instrument_from_dict({"id": "bfi", "name": "BFI", "response": {"min": 1, "max": 6},
                                 "scoring": scoring, "max_missing_share": share,
                                 "subscales": list(subs), "items": items})


def test_mean_scores_match_psych_scoreitems():
    inst = bfi_instrument("mean", 0.99)
    res = pm.score(BFI.iloc[:, :25], inst)
    assert list(res.scores.index) == REF["ids"]
    for s in REF["scales"]:
        ref = np.array([np.nan if v is None else v for v in REF["mean_scores"][s]])
        np.testing.assert_allclose(res.scores[s].to_numpy(), ref, rtol=1e-10)
    # the total (all 25 items) is also a mean of the answered keyed items
    keyed = res.items
    np.testing.assert_allclose(res.scores["total"], keyed.mean(axis=1), rtol=1e-12)


def test_sum_scores_of_complete_cases_match_psych():
    inst = bfi_instrument("sum", 0.0)
    res = pm.score(BFI.iloc[:, :25], inst)
    comp = res.scores.loc[REF["complete_ids"]]
    for s in REF["scales"]:
        np.testing.assert_allclose(comp[s].to_numpy(), REF["sum_scores"][s], rtol=1e-10)
    # incomplete cases get no score when no prorating is allowed
    incomplete = BFI.iloc[:, :25].isna().any(axis=1)
    assert res.scores.loc[incomplete, "total"].isna().all()
    assert res.n_prorated["total"] == 0
    assert res.n_missing["total"] == int(incomplete.sum())


def test_prorating_rule_and_counts():
    inst = pm.load_instrument("wai_sr")         # sum scoring, 25 % of items may be missing
    cols = {i: f"w{i}" for i in inst.item_ids}
    data = pd.DataFrame([[4] * 12, [4] * 12, [4] * 12], index=["a", "b", "c"],
                        columns=[cols[i] for i in inst.item_ids], dtype=float)
    data.loc["b", "w4"] = np.nan                # one goal item missing -> prorated
    data.loc["c", ["w4", "w6"]] = np.nan        # two of four goal items -> no goal score
    res = pm.score(data, inst, columns=cols)
    s = res.scores
    assert list(s.columns) == ["goal", "task", "bond", "total"]
    assert s.loc["a", "goal"] == 16 and s.loc["b", "goal"] == 16
    assert np.isnan(s.loc["c", "goal"])
    assert s.loc["c", "total"] == 48            # 2 of 12 missing (17 %) is allowed for the total
    assert res.n_prorated == {"goal": 1, "task": 0, "bond": 0, "total": 2}
    assert res.n_missing == {"goal": 1, "task": 0, "bond": 0, "total": 0}
    assert bool(res.prorated.loc["b", "goal"]) and not res.prorated.loc["a", "goal"]
    # prorated sum = mean of the answered items times the number of items
    data.loc["b", ["w6", "w8", "w11"]] = [3, 2, 5]
    assert pm.score(data, inst, columns=cols).scores.loc["b", "goal"] == pytest.approx(40 / 3)


def test_reverse_keying_and_single_factor_names():
    inst = instrument_from_dict({"id": "x", "name": "X", "response": {"min": 0, "max": 4},
                                 "scoring": "mean", "items": [
                                     {"id": "1"}, {"id": "2", "reverse": True}, {"id": "3"}]})
    data = pd.DataFrame({"1": [0, 4], "2": [0, 4], "3": [1, 1]}, index=[10, 20], dtype=float)
    res = pm.score(data, inst)
    assert list(res.scores.columns) == ["total"]
    assert res.scores.loc[10, "total"] == pytest.approx((0 + 4 + 1) / 3)
    assert res.scores.loc[20, "total"] == pytest.approx((4 + 0 + 1) / 3)
    assert res.items.loc[10, "2"] == 4
    csq = pm.load_instrument("csq8")
    assert csq.score_names() == ["satisfaction"]


def test_score_dataset_with_user_instrument_reverse_items():
    ds = pm.load_dataset(HERE.parent / "examples" / "study.yaml")
    res = pm.score(ds, "client_engagement")
    inst = ds.instrument("client_engagement")
    raw = ds.items("client_engagement")
    complete = raw.notna().all(axis=1)
    expected = raw.copy()
    for it in inst.items:
        if it.reverse:
            expected[f"eng_{it.id}"] = inst.min + inst.max - expected[f"eng_{it.id}"]
    np.testing.assert_allclose(res.scores.loc[complete, "engagement"],
                               expected[complete].sum(axis=1))
    assert res.scores.index.equals(ds.data.index)
    json.dumps(res.to_dict())


def test_bad_input_to_score():
    inst = pm.load_instrument("csq8")
    data = pd.DataFrame(np.full((3, 8), 2.0), columns=[str(i) for i in range(1, 9)])
    data.iloc[1, 3] = 7
    with pytest.raises(DataError, match="outside the response range"):
        pm.score(data, inst)
    data = data.astype(object)
    data.iloc[1, 3] = "x"
    with pytest.raises(DataError, match="not a number"):
        pm.score(data, inst)
    with pytest.raises(PsychometricsError):
        pm.score(data.iloc[:, :5], inst)
    with pytest.raises(StudyError):
        pm.score(data, "no_such_scale")
