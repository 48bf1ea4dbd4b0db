"""The public names of ``import psychometrics as pm`` (DESIGN.md's contract)."""
import subprocess
import sys

import pytest

import psychometrics as pm


@pytest.mark.parametrize("name", sorted(pm._EXPORTS))
def test_every_export_resolves(name):
    assert getattr(pm, name) is not None


@pytest.mark.parametrize("first_import", ["psychometrics.efa", "psychometrics.validity",
                                          "psychometrics.sem.bootstrap", "psychometrics.reliability"])
def test_functions_named_like_their_module_stay_functions(first_import):
    # Importing a submodule binds it to the package attribute; efa, validity and sem
    # are both modules and public functions, and must stay the functions.
    code = (f"import importlib, inspect; importlib.import_module({first_import!r}); "
            "import psychometrics as pm; "
            "assert all(inspect.isfunction(f) for f in (pm.efa, pm.validity, pm.sem, pm.cfa)), "
            "(pm.efa, pm.validity, pm.sem)")
    subprocess.run([sys.executable, "-c", code], check=True)
