"""psychometrics: validation of translated questionnaires, agreeing with lavaan and psych.

Public API (see README and DESIGN.md):

    import psychometrics as pm
    fit = pm.cfa(model, data, group=None, estimator="ML", missing="listwise")
    inv = pm.invariance(model, data, group)
    pm.alpha(items); pm.omega(items); pm.kmo(items); pm.bartlett(items)
    pm.parallel_analysis(items, seed=1); pm.efa(items, n_factors=3)

Most names are imported lazily, on first use.
"""
from __future__ import annotations

import gc as _gc
import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # errors
    "PsychometricsError": "errors", "DataError": "errors", "StudyError": "errors",
    "ModelSyntaxError": "errors", "ModelError": "errors",
    # instruments, study, data
    "Instrument": "scales", "load_instrument": "scales", "builtin_instruments": "scales",
    "Study": "scales", "load_study": "scales",
    "read_data": "io", "load_dataset": "io", "Dataset": "io",
    # scoring and screening
    "score": "scoring", "screen": "screening", "little_mcar": "screening", "mardia": "screening",
    "mahalanobis_outliers": "screening", "item_analysis": "reliability",
    # reliability
    "alpha": "reliability", "omega": "reliability", "comp_rel_sem": "reliability",
    # ordinal items
    "polychoric": "polychoric", "PolychoricResult": "polychoric",
    "ordinal_sample_stats": "polychoric", "OrdinalStats": "polychoric",
    "OrdinalDataError": "polychoric",
    # EFA
    "kmo": "efa", "bartlett": "efa", "parallel_analysis": "efa", "map_test": "efa",
    "efa": "efa", "dimensionality": "efa", "split_half_validation": "efa",
    "principal": "efa", "factor_scores": "efa", "congruence": "efa", "compare_to_original": "efa",
    # SEM
    "cfa": "sem", "sem": "sem", "parse_model": "sem", "CFAFit": "sem",
    "lav_predict": "sem.predict",
    # invariance and validity
    "invariance": "invariance", "validity": "validity", "htmt": "validity",
    # example data
    "simulate_example_study": "simulate",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


# Some public functions share their name with the module that defines them
# (the efa/ package, invariance.py, validity.py, the sem/ package).  Importing such a
# module binds the *module* to the package attribute, which would shadow a lazy
# export, so these are imported eagerly: the package attribute is then the
# function, in every import order.  (Submodules stay importable:
# ``from psychometrics.sem import cfa``.)
#
# Python's cyclic garbage collector is paused while they are imported (numpy, scipy, pandas
# and the package: about 10^5 objects, nearly all kept for the process; the collector's
# passes over every object made so far cost about a seventh of the imports' CPU) and put
# back as it was; no object is frozen or collected here.
_gc_was_enabled = _gc.isenabled()
_gc.disable()
try:
    for _name, _module in _EXPORTS.items():
        if _name == _module:
            globals()[_name] = getattr(importlib.import_module(f"psychometrics.{_module}"),
                                       _name)
finally:
    if _gc_was_enabled:
        _gc.enable()
del _name, _module, _gc_was_enabled, _gc


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'psychometrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"psychometrics.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
