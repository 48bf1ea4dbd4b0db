"""The command line's handling of Python's garbage collector around a validation run (issue
13, imports): the run's modules imported with the collector paused and the objects frozen,
everything handed back when the command returns; the package import restores the collector."""
import gc
import importlib
import subprocess
import sys

from psychometrics import cli


def test_import_run_modules_freezes_once_and_unfreeze_gives_back(monkeypatch):
    assert gc.isenabled() and gc.get_freeze_count() == 0
    monkeypatch.setattr(cli, "RUN_MODULES", ("json", "psychometrics.no_such_module"))
    monkeypatch.setattr(cli, "FIGURE_MODULES", ("wave",))
    try:
        assert cli._import_run_modules(figures=True) is True
        assert gc.isenabled() and gc.get_freeze_count() > 0
        assert "wave" in sys.modules                      # figures' modules imported
        assert cli._import_run_modules() is False        # already frozen: nothing done
    finally:
        cli._unfreeze(True)
    assert gc.get_freeze_count() == 0 and not cli._GC_FROZEN[0]
    gc.disable()
    try:
        assert cli._import_run_modules() is False        # the collector off: left alone
    finally:
        gc.enable()


def test_validate_leaves_the_collector_as_it_found_it(tmp_path):
    from psychometrics.simulate import simulate_example_study
    sim = simulate_example_study(tmp_path / "ex")
    code = cli.main(["validate", str(sim.files["study"]), "--out", str(tmp_path / "out"),
                     "--quiet", "--no-figures", "--bootstrap", "0", "--sem-bootstrap", "0",
                     "--parallel-iterations", "5"])
    assert code in (0, 3)
    assert gc.isenabled() and gc.get_freeze_count() == 0 and not cli._GC_FROZEN[0]


def test_package_import_restores_the_collector_state():
    code = ("import gc; gc.disable(); import psychometrics; a = gc.isenabled(); "
            "print(a, psychometrics.cfa.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "cfa"]
    out = subprocess.run([sys.executable, "-c", "import gc, psychometrics; print(gc.isenabled(),"
                          " gc.get_freeze_count())"], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "0"]
    importlib.import_module("psychometrics")
