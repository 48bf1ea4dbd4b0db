"""The example-study simulator: design, reproducibility and the committed example files."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psychometrics as pm
from psychometrics.simulate import PERSIAN_DIGITS, STRUCTURAL_MODEL

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def study():
    return pm.simulate_example_study()


def test_design(study):
    d = study.data
    assert len(d) == 324
    assert d["gender"].value_counts().to_dict() == {1: 225, 2: 99}
    wai = [f"wai_{i}" for i in range(1, 13)]
    assert all(c in d.columns for c in wai)
    assert [c for c in d.columns if c.startswith("eng_")] == [f"eng_{i}" for i in range(1, 9)]
    assert [c for c in d.columns if c.startswith("csq_")] == [f"csq_{i}" for i in range(1, 9)]
    items = [c for c in d.columns if c not in ("id", "gender", "age")]
    x = d[items].astype(float)
    missing = (x.isna() | (x == -9)).to_numpy().mean()
    assert 0.02 < missing < 0.04            # about 3 % missing responses
    valid = x.where(x != -9)
    assert valid[wai].min().min() == 1 and valid[wai].max().max() == 5
    csq = valid[[f"csq_{i}" for i in range(1, 9)]]
    assert csq.min().min() == 1 and csq.max().max() == 4


def test_reverse_keyed_items_correlate_negatively(study):
    x = study.data.astype(float)
    x = x.where(x != -9)
    r = x[[f"eng_{i}" for i in range(1, 9)]].corr()
    assert r.loc["eng_3", "eng_1"] < 0 and r.loc["eng_6", "eng_1"] < 0
    assert r.loc["eng_2", "eng_1"] > 0.2


def test_population_mediation_recovered(study):
    lat = study.latent
    # engagement regressed on alliance recovers the population slope .50 (sampling error only)
    slope = np.polyfit(lat["alliance"], lat["engagement"], 1)[0]
    assert abs(slope - 0.50) < 0.12
    assert study.population["indirect"]["outcome"] == pytest.approx(0.5 * 0.35)


def test_seed_reproducible_and_changes():
    a = pm.simulate_example_study(seed=1).data
    b = pm.simulate_example_study(seed=1).data
    c = pm.simulate_example_study(seed=2).data
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_bad_arguments():
    with pytest.raises(ValueError):
        pm.simulate_example_study(n_female=3, n_male=2)
    with pytest.raises(ValueError):
        pm.simulate_example_study(missing_rate=0.9)


def test_committed_examples_are_the_simulator_output(tmp_path):
    s = pm.simulate_example_study(tmp_path)
    for name in ("data.csv", "data_fa.csv", "study.yaml", "study_fa.yaml",
                 "engagement.yaml", "outcome.yaml"):
        assert (EXAMPLES / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert s.study_path == tmp_path / "study.yaml"
    assert "alliance =~ goal + task + bond" in STRUCTURAL_MODEL


def test_persian_copy_has_same_values(tmp_path):
    s = pm.simulate_example_study(tmp_path)
    en = pd.read_csv(tmp_path / "data.csv", dtype=str, keep_default_na=False)
    fa = pd.read_csv(tmp_path / "data_fa.csv", dtype=str, keep_default_na=False)
    assert list(en.columns) == list(fa.columns)
    assert (en.map(lambda v: v.translate(PERSIAN_DIGITS)) == fa).all().all()
    assert any("۳" in v for v in fa["wai_1"])
