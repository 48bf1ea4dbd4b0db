"""The example study's structural model (the demo's slowest step), for the benchmark scripts."""
from __future__ import annotations

import tempfile
from pathlib import Path


def example_runner(out_dir=None):
    """The report runner (``report.pipeline._Runner``) of the simulated example study, with its
    study file and data loaded and an empty English report, as ``psychometrics demo`` starts."""
    from psychometrics.io import load_dataset
    from psychometrics.report.model import Report
    from psychometrics.report.pipeline import _Runner
    from psychometrics.scales import load_study
    from psychometrics.simulate import simulate_example_study

    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="psychometrics-ex-"))
    sim = simulate_example_study(out / "example")
    r = _Runner(sim.files["study"], out)
    r.study = load_study(r.study_path)
    r.dataset = load_dataset(r.study)
    r.report = Report(title="", language="en")
    r.seed = r.study.seed if r.study.seed is not None else 0
    return r


def example_structural_fit(out_dir=None):
    """Return ``(fit, data, syntax)``: the structural model of the simulated example study fitted as
    ``psychometrics demo`` fits it (estimator and missing-data treatment of the study file)."""
    from psychometrics.report.steps import all_items, measurement_syntax, _fit_kwargs
    from psychometrics.sem import sem

    r = example_runner(out_dir)
    model = measurement_syntax(r) + "\n" + r.study.structural["model"].strip()
    data = all_items(r)
    fit = sem(model, data, **_fit_kwargs(r))
    return fit, data, model
