"""Write ``results.json``: every number of the run, with versions, options and seed.

The pipeline hands over a plain dict (analysis results via their ``to_dict()``)
and this module makes it JSON-safe with :func:`psychometrics._results.jsonable`
(NaN and inf become null) and writes it with sorted keys so runs diff cleanly.
"""
from __future__ import annotations

import json
from pathlib import Path

from .._results import jsonable


def render_json(results: dict, path: str | Path | None = None) -> str:
    """Return ``results`` as JSON text; write it to ``path`` when given."""
    text = json.dumps(jsonable(results), indent=1, ensure_ascii=False, allow_nan=False)
    if path is not None:
        Path(path).write_text(text + "\n", encoding="utf-8")
    return text
