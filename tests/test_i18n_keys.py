"""Report texts: every key of the translation tables is defined once (a repeated key silently
replaces the first text, as once happened to the structural model's table label)."""
import ast
from pathlib import Path

import psychometrics.report.i18n as i18n


def test_no_repeated_keys_in_report_texts():
    tree = ast.parse(Path(i18n.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            repeated = {k for k in keys if keys.count(k) > 1}
            assert not repeated, f"repeated keys in {i18n.__file__}: {sorted(repeated)}"
