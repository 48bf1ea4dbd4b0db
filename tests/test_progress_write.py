"""Gaps of the progress display at large N (issue 13): results.json written without Python's
generator-per-level indented encoder (the same text as ``json.dumps(indent=1)``), and the
HTMT bootstrap's bar estimating from its first update (the draws' start is reported).  A fake
clock: no test depends on the machine's speed."""
from __future__ import annotations

import enum
import json
import math
import types

import numpy as np
import pytest

from psychometrics._results import jsonable
from psychometrics.report import steps
from psychometrics.report.jsonfile import dumps_indented, render_json

from _progress_helpers import Clock as _Clock, Terminal as _Terminal, make_progress as _progress


def _json(obj) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False)


class _Level(enum.IntEnum):
    LOW = 1


def _random_data(rng, depth=0):
    """Nested dicts and lists of every kind of value results.json holds, plus lists and
    records of plain values (the fast paths) and mixed ones (the general path)."""
    scalars = [lambda: float(rng.normal()) * 10.0 ** int(rng.integers(-300, 300)),
               lambda: int(rng.integers(-10**12, 10**12)), lambda: None, lambda: True,
               lambda: False, lambda: -0.0, lambda: 0.1 + 0.2, lambda: 2 ** 70,
               lambda: "tab\t \"quote\" \\ ß فارسی \u2028 \x01 é" + str(rng.integers(9)),
               lambda: np.float64(rng.normal()), lambda: _Level.LOW, lambda: ""]
    kind = int(rng.integers(0, 7 if depth < 4 else 1))
    if kind == 0:
        return scalars[int(rng.integers(len(scalars)))]()
    n = int(rng.integers(0, 6))
    if kind in (1, 2):       # a list of one plain type / of mixed plain types
        pick = [int(rng.integers(len(scalars)))] if kind == 1 else None
        return [scalars[pick[0] if pick else int(rng.integers(len(scalars)))]()
                for _ in range(n)]
    if kind == 3:            # a record of plain values
        return {f"k{i}é": scalars[int(rng.integers(len(scalars)))]() for i in range(n)}
    if kind == 4:
        return tuple(_random_data(rng, depth + 1) for _ in range(n))
    if kind == 5:
        return [_random_data(rng, depth + 1) for _ in range(n)]
    return {f"key {i}": _random_data(rng, depth + 1) for i in range(n)}


def test_dumps_indented_is_json_dumps_with_indent_one():
    rng = np.random.default_rng(13)
    for _ in range(300):
        obj = {"top": _random_data(rng), "list": [_random_data(rng) for _ in range(3)]}
        assert dumps_indented(obj) == _json(obj)
    for obj in ({}, [], [[]], [{}], {"a": {}}, "x", 1, 1.5, None, True, [1, "a", None, 2.5],
                {"a": [1, 2, 3], "b": {"c": True}}, list(range(1000))):
        assert dumps_indented(obj) == _json(obj)


def test_dumps_indented_refuses_what_json_refuses_and_falls_back_for_other_keys():
    for bad in (math.nan, [1.0, math.inf], {"a": -math.inf}, {"a": [1, {"b": math.nan}]}):
        with pytest.raises(ValueError):
            dumps_indented(bad)
    with pytest.raises(TypeError):
        dumps_indented({"a": object()})
    odd = {1: "int key", 2.5: [1, 2], None: {"x": 1}}    # json.dumps turns keys into text
    assert dumps_indented(odd) == _json(odd)


def test_render_json_writes_the_same_file(tmp_path):
    import pandas as pd
    results = {"meta": {"n": np.int64(5), "x": np.float64(np.nan)},
               "tables": {"t": {"frame": pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "y"]})}},
               "efa": {"s": {"split_half": {"efa_index": list(range(500))}}},
               "data": {"changes": [{"file": "d.csv", "row": i, "column": "q1", "old": "9",
                                     "new": None, "reason": "out of range"}
                                    for i in range(300)]}}
    text = render_json(results, tmp_path / "results.json")
    assert text == _json(jsonable(results))
    assert (tmp_path / "results.json").read_text(encoding="utf-8") == text + "\n"


def _runner(pr):
    return types.SimpleNamespace(progress=pr)


def test_htmt_bar_estimates_at_its_first_update():
    clock = _Clock()
    pr = _progress(_Terminal(), clock, total_steps=1)
    with pr.step("validity"):
        with pr.step("HTMT bootstrap (20 draws)"):
            pr.phase("HTMT: full sample and first draws")
            cb = steps._htmt_progress(_runner(pr), 20)
            clock.t += 30.0          # the full-sample EM
            cb(0, 20)                # the draws begin
            assert "HTMT: full sample and first draws" in pr._status(clock())
            clock.t += 2.0
            cb(1, 20)                # one draw in 2 s: 19 left, about 38 s
            line = pr._status(clock())
            assert "HTMT bootstrap draws" in line and "1/20, about 38 s left" in line
            assert "full sample" not in line
            clock.t += 2.0
            cb(2, 20)
            assert "2/20, about 36 s left" in pr._status(clock())
            cb(20, 20)
    # without the start (an analysis that does not report it): no estimate at the first update
    pr = _progress(_Terminal(), clock, total_steps=1)
    with pr.step("validity"):
        cb = steps._htmt_progress(_runner(pr), 20)
        clock.t += 30.0
        cb(1, 20)
        assert "left" not in pr._status(clock())


def test_htmt_progress_is_silent_off_a_terminal():
    import io
    for stream, enabled in ((io.StringIO(), True), (_Terminal(), False)):
        clock = _Clock()
        pr = _progress(stream, clock, total_steps=1, enabled=enabled)
        with pr.step("validity"):
            pr.phase("HTMT: full sample and first draws")
            cb = steps._htmt_progress(_runner(pr), 5)
            for k in range(6):
                clock.t += 1.0
                cb(k, 5)
        text = stream.getvalue()
        assert "HTMT" not in text and "left" not in text and "\r" not in text
