"""Helpers shared by the pipeline (:mod:`psychometrics.report.pipeline`) and its steps
(:mod:`psychometrics.report.steps`): the pipeline imports the steps, the steps import only
this module, so imports run one way."""
from __future__ import annotations

import datetime as _dt
import importlib
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .._results import jsonable
from .model import Report


class AnalysisUnavailable(Exception):
    """An analysis module or function of the package is not available."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name
        super().__init__(f"psychometrics.{module}.{name}")


def need(module: str, name: str) -> Callable:
    """Return ``psychometrics.<module>.<name>`` or raise :class:`AnalysisUnavailable`."""
    try:
        mod = importlib.import_module(f"psychometrics.{module}")
    except ImportError as exc:
        if f"psychometrics.{module}" in str(exc) or module in str(exc):
            raise AnalysisUnavailable(module, name) from None
        raise
    obj = getattr(mod, name, None)
    if obj is None:
        raise AnalysisUnavailable(module, name)
    return obj


def has(module: str, name: str) -> bool:
    try:
        need(module, name)
        return True
    except AnalysisUnavailable:
        return False
    except Exception:
        return False


def _get(obj: Any, *names, default=None):
    """First attribute / key of ``obj`` among ``names`` that exists and is not None."""
    for n in names:
        if isinstance(obj, dict) and obj.get(n) is not None:
            return obj[n]
        v = getattr(obj, n, None)
        if v is not None:
            return v
    return default


@dataclass
class ValidationRun:
    """What :func:`run_validation` returns: the document model, results and warnings."""

    report: Report
    results: dict
    warnings: list = field(default_factory=list)
    figures_dir: Path | None = None
    timings: dict = field(default_factory=dict)


#: the libraries whose versions results.json records: key (the import name) -> the name of
#: the installed distribution whose metadata holds the version
VERSIONED = {"numpy": "numpy", "scipy": "scipy", "pandas": "pandas",
             "matplotlib": "matplotlib", "factor_analyzer": "factor_analyzer",
             "sklearn": "scikit-learn", "docx": "python-docx", "openpyxl": "openpyxl",
             "yaml": "PyYAML"}


def versions() -> dict:
    """The Python version, the platform and the installed version of psychometrics and of each
    library in :data:`VERSIONED` (None when it is not installed), as results.json records them.

    The versions are read from the installed distributions' metadata
    (:func:`importlib.metadata.version`), not from the imported modules: importing a
    library only to read its ``__version__`` cost the demo the import of factor_analyzer
    (which has no ``__version__``, so its entry was always None)."""
    from importlib import metadata
    out = {"python": platform.python_version(), "platform": platform.platform()}
    import psychometrics
    out["psychometrics"] = psychometrics.__version__
    for name, dist in VERSIONED.items():
        try:
            out[name] = metadata.version(dist)
        except Exception:      # not installed, or metadata unreadable
            out[name] = None
    return jsonable(out)


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def command_line() -> str:
    return " ".join(Path(sys.argv[0]).name if i == 0 else a for i, a in enumerate(sys.argv))
