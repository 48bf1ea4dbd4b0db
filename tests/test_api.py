"""The public names of ``import psychometrics as pm`` (DESIGN.md's contract)."""
import subprocess
import sys

import pytest

import psychometrics as pm


@pytest.mark.parametrize("name", sorted(pm._EXPORTS))
def test_every_export_resolves(name):
    assert getattr(pm, name) is not None


@pytest.mark.parametrize("first_import", ["psychometrics.efa", "psychometrics.validity",
                                          "psychometrics.sem.bootstrap", "psychometrics.invariance"])
def test_functions_named_like_their_module_stay_functions(first_import):
    # Importing a submodule binds it to the package attribute; efa, validity and sem
    # are both modules and public functions, and must stay the functions.
    # Every submodule is imported first, then no public name may be a module.
    code = (f"import importlib, inspect, pkgutil, psychometrics as pm; "
            f"importlib.import_module({first_import!r}); "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(pm.__path__, 'psychometrics.')]; "
            "bad = [n for n in pm._EXPORTS if inspect.ismodule(getattr(pm, n))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
