"""The example study's structural model (the demo's slowest step), for the benchmark scripts."""
from __future__ import annotations

import tempfile
from pathlib import Path


def example_structural_fit(out_dir=None):
    """Return ``(fit, data, syntax)``: the structural model of the simulated example study fitted as
    ``psychometrics demo`` fits it (estimator and missing-data treatment of the study file)."""
    from psychometrics.io import load_dataset
    from psychometrics.report.pipeline import _Runner
    from psychometrics.report.steps import all_items, measurement_syntax, _fit_kwargs
    from psychometrics.scales import load_study
    from psychometrics.sem import sem
    from psychometrics.simulate import simulate_example_study

    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="psychometrics-ex-"))
    sim = simulate_example_study(out / "example")
    r = _Runner(sim.files["study"], out)
    r.study = load_study(r.study_path)
    r.dataset = load_dataset(r.study)
    from psychometrics.report.model import Report
    r.report = Report(title="", language="en")
    model = measurement_syntax(r) + "\n" + r.study.structural["model"].strip()
    data = all_items(r)
    fit = sem(model, data, **_fit_kwargs(r))
    return fit, data, model
