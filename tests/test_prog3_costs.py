"""The progress display's cost model (issue 13, fifth pass): the invariance step's cost grows
with the number of groups and is smaller for an ordinal (WLSMV) instrument; the structural
fit is timed at the measurement model's fit speed; the CLI's write step says its time left
from its start.  Fake clocks and made-up data: no test depends on the machine's speed."""
from __future__ import annotations

import types

import pandas as pd
import pytest

from _progress_helpers import Clock, Terminal, make_progress
from psychometrics import cli
from psychometrics.report import steps


class _Dataset:
    def __init__(self, n, groups):
        self.n = n
        self.group = pd.Series(["x"] * n) if groups else None
        self._sizes = {f"g{k}": n // max(1, groups) for k in range(groups)}

    def group_sizes(self):
        return dict(self._sizes)


def _run(n=1000, groups=2, ordinal=None):
    return types.SimpleNamespace(dataset=_Dataset(n, groups),
                                 results={"ordinal": dict(ordinal or {})})


def test_invariance_cost_grows_with_the_groups():
    base = 1000 * 8 ** steps.COST_EXPONENTS["invariance"]
    assert steps._cost(_run(groups=2), 8, "invariance") == pytest.approx(base)
    assert steps._cost(_run(groups=8), 8, "invariance") == pytest.approx(
        base * 4 ** steps.GROUP_EXPONENT)
    # a group with no cases does not count; other steps have no group factor
    r = _run(groups=8)
    r.dataset._sizes = {"a": 500, "b": 500, "c": 0}
    assert steps._cost(r, 8, "invariance") == pytest.approx(base)
    assert steps._cost(_run(groups=8), 8, "CFA") == pytest.approx(
        1000 * 8 ** steps.COST_EXPONENTS["CFA"])


def test_ordinal_instrument_costs_less_in_invariance_and_nothing_is_recorded():
    si_o, si_c = types.SimpleNamespace(id="csq8"), types.SimpleNamespace(id="eng")
    r = _run(groups=2, ordinal={"csq8": True, "eng": False})
    before = {k: dict(v) for k, v in r.results.items()}
    c_o = steps._cost(r, 8, "invariance", si_o)
    c_c = steps._cost(r, 8, "invariance", si_c)
    assert c_o == pytest.approx(c_c * steps.ORDINAL_SHARE["invariance"])
    assert steps._cost(r, 8, "CFA", si_o) == steps._cost(r, 8, "CFA", si_c)
    # an instrument not yet decided: no factor, and the results are left as they were
    assert steps._cost(r, 8, "invariance", types.SimpleNamespace(id="new")) == c_c
    assert r.results == before


def test_structural_fit_timed_at_the_measurement_fits_speed():
    clock = Clock()
    pr = make_progress(Terminal(), clock, total_steps=3)
    # the CFAs' small fits are 10 x their reference (a fixed part it has not), the
    # measurement model's fit 2 x its own: the structural fit follows the latter
    pr.calibrate({"model fit": (0.0, 1.0), "measurement fit": (1.0, 1.0),
                  "structural fit": (0.5, 0.5)})
    with pr.step("CFA"):
        with pr.measure("model fit", 0.1):       # reference 0.1 s, took 1 s
            clock.t += 1.0
    with pr.step("measurement model"):
        with pr.measure("measurement fit", 4.0):  # reference 5 s, took 10 s
            clock.t += 10.0
    assert pr.expected("structural fit", 4.0, like="measurement fit") == pytest.approx(5.0)
    with pr.step("structural model"):
        with pr.step("fit of the structural model", kind="structural fit", cost=4.0,
                     like="measurement fit"):
            assert pr._status(clock()).endswith("about 5 s left")


def test_write_cost_from_the_results_and_the_files_asked_for():
    run = types.SimpleNamespace(results={"data": {"n_cases": 100, "instruments": {
        "a": ["a1", "a2"], "b": ["b1", "b2", "b3"]}}})
    full = [cli._WRITE_WEIGHT[f] for f in cli._WRITE_WEIGHT]
    assert cli._write_cost(run, full) == pytest.approx(500 + cli._WRITE_FIXED)
    half = cli._write_cost(run, [cli._WRITE_WEIGHT["docx"]])
    assert half == pytest.approx((500 + cli._WRITE_FIXED) * cli._WRITE_WEIGHT["docx"]
                                 / sum(full))
    assert cli._write_cost(types.SimpleNamespace(results={}), full) is None


def test_write_step_says_its_time_left_before_the_first_file_is_written(tmp_path, monkeypatch):
    clock = Clock()
    pr = make_progress(Terminal(), clock, total_steps=1)
    pr.calibrate({"load": (0.0, 1.0), "write": (0.0, 2.4e-7)})
    with pr.step("load"):
        with pr.measure("load", 1.0):            # reference 1 s, took 20 s: 20 x slower
            clock.t += 20.0
    run = types.SimpleNamespace(results={"data": {"n_cases": 0, "instruments": {}}})
    seen = []

    def fake_write(run_, out, formats=()):
        seen.append(pr._status(clock()))
        clock.t += 0.1
        return {}

    import psychometrics.report.pipeline as pipeline
    monkeypatch.setattr(pipeline, "write_outputs", fake_write)
    # (0 + 5e6) x 3/18 of the files x 2.4e-7 s = 0.2 s at the reference, 4 s at this speed
    expect = cli._WRITE_FIXED * 3 / sum(cli._WRITE_WEIGHT.values()) * 2.4e-7 * 20
    assert pr.expected("write", cli._write_cost(run, [2, 1])) == pytest.approx(expect)
    cli._write_report(run, tmp_path, ("json", "html"), pr)
    assert "results.json" in seen[0] and "about 4 s left" in seen[0]


def test_first_chunk_of_draws_scaled_to_the_reference_runs():
    from psychometrics.sem.bootstrap import CHUNK

    def run(n):
        return types.SimpleNamespace(dataset=types.SimpleNamespace(n=n))

    cost = 324 * 34 ** steps.COST_EXPONENTS["CFA"]
    # small data: 1,000 draws start with a full chunk, the reference's 20 draws were one chunk
    assert steps._first_chunk_share(run(324), 1000, cost) == pytest.approx(
        CHUNK / steps.REFERENCE_DRAWS)
    assert steps._first_chunk_share(run(324), 20, cost) == 1.0
    assert steps._first_chunk_share(run(324), 5, cost) == pytest.approx(
        5 / steps.REFERENCE_DRAWS)
    # large data: chunks of a few draws in both runs
    big = 200_000 * 34 ** steps.COST_EXPONENTS["CFA"]
    assert steps._first_chunk_share(run(200_000), 1000, big) == 1.0
    assert steps._first_chunk_share(types.SimpleNamespace(), 1000, cost) == 1.0


def test_phase_scale_multiplies_the_estimate_and_keeps_the_speed():
    clock = Clock()
    pr = make_progress(Terminal(), clock, total_steps=2)
    pr.calibrate({"measurement fit": (0.0, 1.0), "bootstrap first draws": (1.0, 0.0)})
    with pr.step("measurement model"):
        with pr.measure("measurement fit", 2.0):     # reference 2 s, took 4 s: 2 x slower
            clock.t += 4.0
    with pr.step("structural model"):
        pr.phase("bootstrap set-up: first draws", kind="bootstrap first draws", cost=1.0,
                 like="measurement fit", scale=6.0)
        # six of the reference's 1 s parts at twice its time
        assert pr._status(clock()).endswith("first draws, about 12 s left")
        clock.t += 12.0
        pr.phase(None)
    # the part ran at the same speed as the fit: this run's speed is still 2 x the reference
    assert pr._speed == pytest.approx([16.0, 8.0])
    assert pr.expected("bootstrap first draws", 1.0, scale=3.0) == pytest.approx(6.0)
