"""The loader judges each distinct cell of a column once (issue 13: large studies); it must give
exactly what judging every cell on its own gives (``io._CELL_BY_CELL``, the original path):
the same cleaned data, changes (in the same order), dropped cases, warnings and error lists."""
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

import psychometrics as pm
import psychometrics.io as pio
from psychometrics.errors import DataError

INSTRUMENT = {"id": "inst", "name": "Instrument", "response": {"min": 1, "max": 5},
              "items": [{"id": str(i)} for i in range(1, 5)]}


def _messy_csv(path, n=400, seed=3):
    """A CSV with every kind of cell the loader recodes or rejects, in random places."""
    rng = np.random.default_rng(seed)
    item_cells = ["1", "2", "3", "4", "5", " 3 ", "۴", "٢", "-9", "99", "NA", "", "abc", "7",
                  "2.5", "0", "3.0", "\u200f5"]
    group_cells = ["1", "2", "۱", "2.0", "3", "-9", "NA", "", "male", "1 "]
    lines = ["id,gender,age," + ",".join(f"q{i}" for i in range(1, 5))]
    for k in range(n):
        rid = str(k + 1)
        u = rng.random()
        if u < 0.02:
            rid = ""
        elif u < 0.05:
            rid = str(int(rng.integers(1, k + 2)))      # a duplicate (or itself)
        elif u < 0.07:
            rid = "۱" + str(k)                           # Persian digit
        p = [0.12] * 5 + [0.4 / 13] * 13
        items = rng.choice(item_cells, size=4, p=np.array(p) / np.sum(p))
        g = rng.choice(group_cells, p=[0.4, 0.4] + [0.2 / 8] * 8)
        lines.append(",".join([rid, g, str(int(rng.integers(18, 70)))] + list(items)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _study(tmp_path, labels=True, codes=(-9, 99)):
    (tmp_path / "inst.yaml").write_text(yaml.safe_dump(INSTRUMENT), encoding="utf-8")
    group = {"column": "gender"}
    if labels:
        group["labels"] = {1: "female", 2: "male"}
    study = {"id": "id", "data": "data.csv", "group": group, "missing_codes": list(codes),
             "instruments": [{"file": "inst.yaml", "prefix": "q"}]}
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(study), encoding="utf-8")
    return p


def _load(study, mode, cell_by_cell, monkeypatch):
    monkeypatch.setattr(pio, "_CELL_BY_CELL", cell_by_cell)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pm.load_dataset(study, on_invalid=mode)
        except DataError as exc:
            return exc


@pytest.mark.parametrize("labels", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_distinct_cells_equal_cell_by_cell(tmp_path, monkeypatch, labels, seed):
    _messy_csv(tmp_path / "data.csv", seed=seed)
    study = _study(tmp_path, labels=labels)
    for mode in ("set_missing", "stop"):
        fast = _load(study, mode, False, monkeypatch)
        ref = _load(study, mode, True, monkeypatch)
        assert type(fast) is type(ref)
        if isinstance(ref, DataError):
            assert str(fast) == str(ref)
            assert [str(p) for p in fast.problems] == [str(p) for p in ref.problems]
            continue
        pd.testing.assert_frame_equal(fast.data, ref.data)
        pd.testing.assert_frame_equal(fast.other, ref.other)
        assert fast.changes == ref.changes and len(fast.changes) > 20
        assert fast.dropped == ref.dropped and len(fast.dropped) > 0
        assert fast.warnings == ref.warnings
        assert fast.group_labels == ref.group_labels
        assert fast.to_dict() == ref.to_dict()


def test_distinct_cells_equal_cell_by_cell_data_frame(monkeypatch, tmp_path):
    """``data=`` (a DataFrame of text and numbers, as a caller may pass) through both paths."""
    study = _study(tmp_path)
    (tmp_path / "data.csv").write_text("id\n", encoding="utf-8")   # the study names a file
    rng = np.random.default_rng(5)
    n = 300
    data = pd.DataFrame({"id": np.arange(1, n + 1), "gender": rng.choice([1, 2, 3], n),
                         "age": rng.integers(18, 70, n)})
    for i in range(1, 5):
        v = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0, -9.0, 99.0, 2.5, 8.0, np.nan], n)
        data[f"q{i}"] = v
    data["q4"] = data["q4"].map(lambda v: "NA" if v == 8.0 else ("" if np.isnan(v) else str(v)))
    for mode in ("set_missing", "stop"):
        monkeypatch.setattr(pio, "_CELL_BY_CELL", False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fast = pm.load_dataset(pm.load_study(study), on_invalid=mode, data=data)
            except DataError as exc:
                fast = exc
            monkeypatch.setattr(pio, "_CELL_BY_CELL", True)
            try:
                ref = pm.load_dataset(pm.load_study(study), on_invalid=mode, data=data)
            except DataError as exc:
                ref = exc
        if isinstance(ref, DataError):
            assert str(fast) == str(ref)
            continue
        pd.testing.assert_frame_equal(fast.data, ref.data)
        assert fast.changes == ref.changes and fast.dropped == ref.dropped


def test_csv_read_in_chunks(tmp_path, monkeypatch):
    """Reading in chunks of rows gives the same frame as reading at once."""
    _messy_csv(tmp_path / "data.csv", n=500, seed=4)
    whole = pio.read_data(tmp_path / "data.csv", text_columns=["id"])
    monkeypatch.setattr(pio, "CSV_CHUNK_ROWS", 7)
    chunked = pio.read_data(tmp_path / "data.csv", text_columns=["id"])
    pd.testing.assert_frame_equal(whole, chunked)
    assert list(chunked.attrs["row_labels"]) == list(whole.attrs["row_labels"])
    assert whole.attrs["row_labels"][0] == "line 2" and len(whole.attrs["row_labels"]) == 500


def test_freed_memory_given_back_after_a_large_load(tmp_path, monkeypatch):
    """A data set of at least ``TRIM_MIN_CELLS`` cells gives the heap's free pages back after
    loading (issue 13); the data set, changes and warnings are those of a load without it, and
    the loader's warnings still point at the caller."""
    _messy_csv(tmp_path / "data.csv", n=300, seed=6)
    study = pm.load_study(_study(tmp_path))
    calls = []
    real = pio.release_free_memory
    monkeypatch.setattr(pio, "release_free_memory", lambda **k: calls.append(k) or real())
    monkeypatch.setattr(pio, "TRIM_MIN_CELLS", 10 ** 12)
    ref = pm.load_dataset(study, on_invalid="set_missing")
    assert calls == []
    monkeypatch.setattr(pio, "TRIM_MIN_CELLS", 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new = pm.load_dataset(study, on_invalid="set_missing")
    assert calls == [{"large_blocks": True}]
    assert caught and all(w.filename == __file__ for w in caught)
    pd.testing.assert_frame_equal(new.data, ref.data)
    assert new.changes == ref.changes and new.dropped == ref.dropped
    assert new.warnings == ref.warnings
    assert isinstance(real(), bool)
