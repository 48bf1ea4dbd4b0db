"""The command line: bad study files give one clear message and exit status 2 (no traceback);
`simulate` writes the example study; `validate` writes every output of a small study."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from psychometrics.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _study(tmp_path: Path, edit) -> Path:
    for name in ("data.csv", "engagement.yaml", "outcome.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    doc = yaml.safe_load((EXAMPLES / "study.yaml").read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _unknown_instrument(doc):
    doc["instruments"][0] = {"scale": "wai_srr", "prefix": "wai_"}


def _missing_data_file(doc):
    doc["data"] = "no_such_file.csv"


def _item_mapped_twice(doc):
    doc["instruments"][2] = {"scale": "csq8", "columns": {str(i): f"csq_{i}" for i in range(1, 9)}}
    doc["instruments"][2]["columns"]["8"] = "csq_1"


def _unknown_option(doc):
    doc["options"]["bootstrapp"] = 10


@pytest.mark.parametrize("edit,expected", [
    (_unknown_instrument, "wai_srr"),
    (_missing_data_file, "no_such_file.csv"),
    (_item_mapped_twice, "csq_1"),
    (_unknown_option, "bootstrapp"),
])
def test_bad_study_file_exits_2_with_one_message(tmp_path, capsys, edit, expected):
    path = _study(tmp_path, edit)
    code = main(["validate", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("psychometrics: error: ") and expected in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3
    assert not (tmp_path / "out" / "report.html").exists()


def test_bad_data_value_exits_2_naming_row_column_value(tmp_path, capsys):
    path = _study(tmp_path, lambda d: None)
    lines = (tmp_path / "data.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[5].split(",")
    row[header.index("wai_3")] = "7"
    lines[5] = ",".join(row)
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["validate", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "wai_3" in err and "7" in err and "Traceback" not in err


def test_console_script_subprocess_no_traceback(tmp_path):
    path = _study(tmp_path, _unknown_instrument)
    res = subprocess.run([sys.executable, "-m", "psychometrics.cli", "validate", str(path),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2
    assert "psychometrics: error:" in res.stderr and "Traceback" not in res.stderr


def test_program_end_runs_exit_handlers_and_flushes(tmp_path):
    """Run as the program (console script or -m), the process ends without tearing down the
    interpreter: the exit status, everything printed (to a pipe) and the atexit handlers are
    kept; called with arguments, main() returns."""
    code = ("import atexit, sys\n"
            "class Kept:\n"
            "    def __del__(self):\n"
            "        sys.stdout.write('torn down\\n')\n"
            "kept = Kept()   # freed only by a full interpreter teardown\n"
            "atexit.register(lambda: print('atexit ran', flush=True))\n"
            "from psychometrics.cli import main\n"
            "sys.argv = ['psychometrics'] + sys.argv[1:]\n"
            "sys.exit(main())\n")
    res = subprocess.run([sys.executable, "-c", code, "simulate", "--out", str(tmp_path / "s")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[-1] == "atexit ran" and len(lines) > 2
    assert all(Path(line.split()[-1]).exists() for line in lines[:-1])
    res = subprocess.run([sys.executable, "-c", code, "validate", str(tmp_path / "nope.yaml"),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2 and "nope.yaml" in res.stderr
    assert res.stdout.strip() == "atexit ran"


def test_missing_study_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "validate" in capsys.readouterr().out


def test_version(capsys):
    import psychometrics
    assert main(["--version"]) == 0
    assert psychometrics.__version__ in capsys.readouterr().out


def test_simulate_writes_example(tmp_path, capsys):
    assert main(["simulate", "--out", str(tmp_path)]) == 0
    for name in ("study.yaml", "study_fa.yaml", "engagement.yaml", "outcome.yaml", "data.csv",
                 "data_fa.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes()


def test_validate_small_study_writes_everything(tmp_path, capsys):
    """One instrument, no structural model: every output file, a progress display, exit 0."""
    def edit(doc):
        doc["instruments"] = [doc["instruments"][1]]
        doc.pop("structural")
        doc["options"] = {"bootstrap": 10, "split_half": False}
    path = _study(tmp_path, edit)
    out = tmp_path / "out"
    code = main(["validate", str(path), "--out", str(out), "--no-figures",
                 "--parallel-iterations", "5"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "[1/" in cap.err and "done in" in cap.err            # progress display on stderr
    assert "Validation of" in cap.out
    for name in ("results.json", "report.html", "appendix.docx", "appendix.tex", "tables.xlsx"):
        assert (out / name).exists(), name
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert res["meta"]["options"]["bootstrap"] == 10
    assert list(res["study"]["instruments"][0]["columns"].values())[0] == "eng_1"


def test_demo_end_to_end_quick(tmp_path, capsys):
    """`psychometrics demo` writes the example study and validates it (few draws, no figures)."""
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--bootstrap", "5", "--sem-bootstrap", "0",
                 "--omega-bootstrap", "0", "--parallel-iterations", "5", "--no-figures"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert (out / "example" / "study.yaml").exists() and (out / "report.html").exists()
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert res["data"]["n_cases"] == 324
    assert res["meta"]["options"]["bootstrap"] == 5
    assert "Example study written to" in cap.out
