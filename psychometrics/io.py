"""Reading data files, cleaning them and validating them against a study.

``read_data(path)`` reads a CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM or
Windows-1256; the delimiter is sniffed), an Excel ``.xlsx`` or an SPSS ``.sav``
file into a DataFrame and normalises the text: Persian (۰-۹) and Arabic-Indic
(٠-٩) digits become ASCII digits, the Arabic letter variants ي and ك become
the Persian ی and ک, direction marks and stray whitespace are removed.  Columns
whose cells are all numbers become numeric.  The input file is never written.

``load_dataset(study)`` applies the study: it recodes the declared missing
codes, checks ids, item values (numeric, inside the response range), constant
items and the group column, and returns a :class:`Dataset`.  By default
(``on_invalid="stop"``) any problem raises one :class:`~psychometrics.errors.DataError`
listing the offending cells (file, row id, column, value); with
``on_invalid="set_missing"`` invalid cells are set missing instead and every
change is recorded in ``Dataset.changes``.
"""
from __future__ import annotations

import csv
import functools
import io as _io
import math
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ._results import jsonable
from .errors import CellProblem, DataError, PsychometricsError, PsychometricsWarning, StudyError

__all__ = ["normalize_text", "to_number", "read_data", "load_dataset", "Dataset", "Change"]

# --------------------------------------------------------------------------- normalisation

_DIGITS = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DIGITS.update({ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")})
_LETTERS = {ord("ي"): "ی", ord("ى"): "ی", ord("ك"): "ک", ord("ۀ"): "هٔ"}
_PUNCT = {ord("٫"): ".", ord("٬"): ",", ord("−"): "-", ord("–"): "-",
          ord("\u00a0"): " ", ord("\u202f"): " ", ord("\u2009"): " "}
# direction marks, BOM and other invisible format characters (not the ZWNJ, which
# is part of Persian spelling)
_INVISIBLE = {ord(c): None for c in "\ufeff\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
              "\u2066\u2067\u2068\u2069\u061c"}
_TABLE = {**_DIGITS, **_LETTERS, **_PUNCT, **_INVISIBLE}
_WS = re.compile(r"\s+")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@functools.lru_cache(maxsize=65536)
def _normalize_str(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_TABLE)
    return _WS.sub(" ", text).strip()


@functools.lru_cache(maxsize=65536)
def _str_number(text: str) -> float | None:
    text = _normalize_str(text)
    if not text or not _NUM_RE.match(text):
        return None
    out = float(text)
    return out if math.isfinite(out) else None


def normalize_text(value: str) -> str:
    """Normalise one text cell or label: Persian/Arabic-Indic digits -> ASCII,
    Arabic ي/ك -> Persian ی/ک, Arabic decimal/thousands separators and the minus
    sign -> ASCII, invisible direction marks removed, whitespace collapsed and
    stripped (NFC first)."""
    return _normalize_str(str(value))


def to_number(value: Any) -> float | None:
    """The number in a cell (after :func:`normalize_text`), or None when it is not one.
    Missing cells (None, NaN, "") are None too; booleans are not numbers."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return float(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    return _str_number(value) if isinstance(value, str) else None


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    return isinstance(value, str) and value == ""


def _numeric_or_none(series: pd.Series) -> pd.Series | None:
    """The column as numbers if every non-missing cell is one (int64 when all are
    whole and none missing), else None."""
    raw = series.to_numpy(dtype=object)
    vals = []
    for v in raw:
        if _is_missing(v):
            vals.append(None)
            continue
        n = to_number(v)
        if n is None:
            return None
        vals.append(n)
    arr = np.array([np.nan if v is None else v for v in vals], dtype=float)
    if len(arr) and not np.isnan(arr).any() and np.all(arr == np.round(arr)) \
            and np.all(np.abs(arr) < 2**53):
        return pd.Series(arr.astype(np.int64), index=series.index, name=series.name)
    return pd.Series(arr, index=series.index, name=series.name)


def _normalise_frame(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """Normalise header and text cells; convert all-numeric columns to numbers."""
    # columns without a header and without any value (a trailing delimiter) are dropped
    empty_cols = [j for j, c in enumerate(df.columns)
                  if (_is_missing(c) or str(c).strip() == "" or str(c).startswith("Unnamed:"))
                  and all(_is_missing(v) or (isinstance(v, str) and not v.strip())
                          for v in df.iloc[:, j])]
    if empty_cols:
        df = df.iloc[:, [j for j in range(df.shape[1]) if j not in empty_cols]]
    names = []
    for pos, c in enumerate(df.columns, start=1):
        name = normalize_text(c) if not _is_missing(c) else ""
        if isinstance(c, (int, float, np.integer, np.floating)) and not _is_missing(c):
            num = to_number(c)
            name = str(int(num)) if num is not None and num == int(num) else str(c)
        if not name or name.lower().startswith("unnamed:"):
            raise DataError(f"{file}: column {pos} has an empty header; every column needs a name",
                            [CellProblem(file, "header", f"#{pos}", c, "empty column name")])
        names.append(name)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"{file}: duplicate column name(s) in the header: {dup}",
                        [CellProblem(file, "header", n, n, "duplicate column name") for n in dup])
    out = {}
    for j, name in enumerate(names):
        cells = []
        for v in df.iloc[:, j].to_numpy(dtype=object):
            if isinstance(v, str):
                v = _normalize_str(v)
                cells.append(v if v else None)
            else:
                cells.append(None if _is_missing(v) else v)
        cleaned = pd.Series(cells, index=df.index, name=name, dtype=object)
        num = _numeric_or_none(cleaned)
        out[name] = num if num is not None else cleaned
    result = pd.DataFrame(out, index=pd.RangeIndex(len(df)))
    return result


# --------------------------------------------------------------------------- reading

def _decode(raw: bytes, file: str, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise DataError(f"{file}: unknown text encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{file}: the file is not valid {encoding} text (byte {exc.start}: "
                f"{raw[exc.start:exc.start + 4]!r}); save it as UTF-8 CSV or give the right "
                "encoding (utf-8, cp1256)",
                [CellProblem(file, f"byte {exc.start}", "-", raw[exc.start:exc.start + 4],
                             f"cannot be decoded as {encoding}")]) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise DataError(f"{file}: broken UTF-16 text at byte {exc.start}") from None
    if b"\x00" in raw[:4096]:
        raise DataError(f"{file}: the file contains NUL bytes: it is not a text (CSV) file, or "
                        "it is UTF-16 without a byte-order mark; save it as UTF-8 CSV, .xlsx or "
                        ".sav")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        # UTF-8 text with a few broken bytes must not be silently read as Windows-1256
        lenient = raw.decode("utf-8", errors="replace")
        if any(ord(ch) > 127 and ch != "\ufffd" for ch in lenient):
            line = raw[:exc.start].count(b"\n") + 1
            raise DataError(
                f"{file}: the file is UTF-8 text with invalid byte(s) (first at byte {exc.start}, "
                f"line {line}: {raw[exc.start:exc.start + 4]!r}); re-save it as UTF-8",
                [CellProblem(file, f"line {line}", "-", raw[exc.start:exc.start + 4],
                             "invalid UTF-8 byte")]) from None
    try:
        text = raw.decode("cp1256")
    except UnicodeDecodeError as exc:  # pragma: no cover - cp1256 maps nearly every byte
        raise DataError(f"{file}: the file is neither UTF-8 nor Windows-1256 text "
                        f"(byte {exc.start}); save it as UTF-8 CSV") from None
    return text, "cp1256"


_DELIMS = ",;\t|؛"


def _sniff(text: str, file: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMS).delimiter
    except csv.Error:
        header = text.splitlines()[0] if text.strip() else ""
        counts = {d: header.count(d) for d in _DELIMS}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else ","


def _read_csv(path: Path, file: str, encoding: str | None, delimiter: str | None) -> pd.DataFrame:
    raw = path.read_bytes()
    text, _enc = _decode(raw, file, encoding)
    if not text.strip():
        raise DataError(f"{file}: the file is empty")
    delim = delimiter or _sniff(text, file)
    try:
        rows = list(csv.reader(_io.StringIO(text, newline=""), delimiter=delim))
    except csv.Error as exc:
        raise DataError(f"{file}: cannot parse the CSV file ({exc})") from None
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise DataError(f"{file}: the file is empty")
    header, body = rows[0], rows[1:]
    problems = []
    fixed = []
    lines = []
    for line, r in enumerate(body, start=2):
        if not any(c.strip() for c in r):
            continue  # blank line
        if len(r) > len(header) and not any(c.strip() for c in r[len(header):]):
            r = r[:len(header)]  # trailing empty fields
        if len(r) != len(header):
            problems.append(CellProblem(file, f"line {line}", "-", delim.join(r)[:60],
                                        f"has {len(r)} fields, the header has {len(header)}"))
            continue
        fixed.append(r)
        lines.append(f"line {line}")
    if problems:
        raise DataError(f"{file}: {len(problems)} line(s) have a different number of fields than "
                        f"the header (delimiter {delim!r})", problems)
    df = pd.DataFrame(fixed, columns=header, dtype=object) if fixed else \
        pd.DataFrame({h: pd.Series([], dtype=object) for h in header}) if len(set(header)) == len(header) \
        else pd.DataFrame([[None] * len(header)], columns=header).iloc[:0]
    df.attrs["row_labels"] = lines
    return df


def _read_excel(path: Path, file: str, sheet) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401
    except ImportError:  # pragma: no cover
        raise DataError(f"{file}: reading .xlsx needs openpyxl (pip install openpyxl)") from None
    try:
        df = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object,
                           engine="openpyxl", header=0)
    except (ValueError, KeyError) as exc:
        raise DataError(f"{file}: cannot read sheet {sheet!r}: {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile, openpyxl errors
        raise DataError(f"{file}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") \
            from None
    return df


def _read_sav(path: Path, file: str) -> tuple[pd.DataFrame, dict]:
    try:
        import pyreadstat
    except ImportError:  # pragma: no cover
        raise DataError(f"{file}: reading .sav needs pyreadstat (pip install pyreadstat)") from None
    try:
        df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=True)
    except Exception as exc:
        raise DataError(f"{file}: not a readable SPSS .sav file ({type(exc).__name__}: {exc})") \
            from None
    labels = {}
    for col, mapping in (meta.variable_value_labels or {}).items():
        labels[normalize_text(col)] = {_code_key(k): normalize_text(str(v))
                                       for k, v in mapping.items()}
    user_missing = {}
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        user_missing[normalize_text(col)] = [(r.get("lo"), r.get("hi")) for r in ranges]
    df = df.astype(object)
    df.attrs["user_missing"] = user_missing
    return df, labels


def _code_key(value: Any) -> str:
    """A group/missing code as text: 1, 1.0, "۱" -> "1"; other text normalised."""
    if isinstance(value, str):
        num = to_number(value)
        if num is None:
            return normalize_text(value)
        value = num
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if math.isfinite(v) and v == int(v):
            return str(int(v))
        return repr(v)
    return normalize_text(str(value))


def read_data(path: str | Path, *, sheet: Any = None, encoding: str | None = None,
              delimiter: str | None = None) -> pd.DataFrame:
    """Read a data file into a DataFrame (one row per case, a RangeIndex) and normalise it.

    Formats by extension: ``.csv``/``.txt``/``.tsv`` (encoding detected: UTF-8 with or
    without BOM, UTF-16 with BOM, else Windows-1256; delimiter sniffed among
    ``, ; tab | ؛``), ``.xlsx`` (``sheet``: name or index, default the first) and
    ``.sav`` (SPSS; its value labels are returned in ``df.attrs["value_labels"]``
    as ``{column: {code text: label}}`` and become group labels; its user-missing
    values are kept as numbers and listed in ``df.attrs["user_missing"]`` as
    ``{column: [(lo, hi), ...]}`` so that :func:`load_dataset` sets them missing
    and records each one).

    Every text cell and column name is normalised with :func:`normalize_text`;
    empty cells become missing; columns whose every non-empty cell is a number
    become numeric (int64 when all are whole numbers and none is missing, else
    float64); other columns keep their (normalised) text.  ``df.attrs["file"]``
    names the file.  The file is only read, never written.  Raises
    :class:`DataError` for a missing/unreadable file, an undecodable encoding,
    rows with the wrong number of fields or an empty/duplicate header.
    """
    path = Path(path)
    file = path.name
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    ext = path.suffix.lower()
    value_labels: dict = {}
    try:
        if ext in (".csv", ".txt", ".tsv", ".dat", ""):
            raw = _read_csv(path, file, encoding, delimiter)
        elif ext in (".xlsx", ".xlsm"):
            raw = _read_excel(path, file, sheet)
        elif ext == ".sav":
            raw, value_labels = _read_sav(path, file)
        elif ext == ".xls":
            raise DataError(f"{file}: old Excel .xls files are not supported; save as .xlsx or CSV")
        else:
            raise DataError(f"{file}: unsupported file type {ext!r}; use .csv, .xlsx or .sav")
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None
    except IsADirectoryError:  # pragma: no cover
        raise DataError(f"{path}: not a file") from None
    row_labels = raw.attrs.get("row_labels") or (
        [f"row {i + 2}" for i in range(len(raw))] if ext in (".xlsx", ".xlsm")
        else [f"case {i + 1}" for i in range(len(raw))])
    user_missing = raw.attrs.get("user_missing", {})
    df = _normalise_frame(raw, file)
    blank = df.isna().all(axis=1).to_numpy() if df.shape[1] else np.zeros(len(df), bool)
    if blank.any():  # empty rows (common at the end of sheets) are not cases
        df = df[~blank].reset_index(drop=True)
        row_labels = [r for r, b in zip(row_labels, blank) if not b]
    df.attrs["row_labels"] = row_labels
    df.attrs["user_missing"] = user_missing
    df.attrs["file"] = file
    df.attrs["path"] = str(path)
    df.attrs["value_labels"] = value_labels
    return df


# --------------------------------------------------------------------------- dataset

@dataclass(frozen=True)
class Change:
    """One cell the suite changed: file, row (case id), column, old value, new value
    (None = set missing) and the reason."""

    file: str
    row: Any
    column: str
    old: Any
    new: Any
    reason: str

    def to_dict(self) -> dict:
        return jsonable({"file": self.file, "row": self.row, "column": self.column,
                         "old": self.old, "new": self.new, "reason": self.reason})


@dataclass
class Dataset:
    """A validated, cleaned data set of a study.

    ``data``: DataFrame indexed by case id (index name = the study's id column) with
    the item columns as float64 (NaN = missing) and the group column as text labels;
    ``group``: Series of group labels (None without a usable group column);
    ``changes``: every value the suite recoded or set missing (:class:`Change`);
    ``dropped``: cases removed, ``[{"row": ..., "line": ..., "reason": ...}]``;
    ``warnings``: problems that were repaired or that disabled a feature;
    ``other``: the file's remaining columns (e.g. age), as read, on the same index.
    """

    data: pd.DataFrame
    study: Any
    file: str
    group_column: str | None = None
    group_labels: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    other: pd.DataFrame | None = None   # the file's other columns (as read), same index

    @property
    def group(self) -> pd.Series | None:
        if self.group_column is None:
            return None
        return self.data[self.group_column]

    @property
    def n(self) -> int:
        return len(self.data)

    def columns(self, instrument_id: str) -> list[str]:
        return self.study.item_columns(instrument_id)

    def instrument(self, instrument_id: str):
        return self.study.instrument(instrument_id).instrument

    def items(self, instrument_id: str) -> pd.DataFrame:
        """That instrument's item columns (data column names) in item order, indexed by id."""
        return self.data[self.columns(instrument_id)].copy()

    def group_sizes(self) -> dict:
        if self.group is None:
            return {}
        counts = self.group.value_counts(dropna=True)
        return {g: int(counts.get(g, 0)) for g in self.group_labels}

    def to_dict(self) -> dict:
        miss = self.data[self.study.item_columns()].isna()
        return jsonable({
            "file": self.file, "n_cases": self.n, "id_column": self.data.index.name,
            "group_column": self.group_column, "group_sizes": self.group_sizes(),
            "instruments": {si.id: si.item_columns for si in self.study.instruments},
            "n_missing_cells": int(miss.to_numpy().sum()),
            "changes": [c.to_dict() for c in self.changes],
            "dropped": self.dropped, "warnings": self.warnings,
        })


def _fmt_value(v: Any) -> Any:
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and abs(v) < 2**53 \
            and v == int(v):
        return int(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def load_dataset(study, on_invalid: str | None = None, *, data: pd.DataFrame | None = None
                 ) -> Dataset:
    """Read the study's data file, clean it and validate it against the instruments.

    ``study``: a :class:`~psychometrics.scales.Study` or a study-file path.
    ``on_invalid``: ``"stop"`` (default: the study's setting) raises one
    :class:`DataError` listing every offending cell -- file, row id, column, value --
    (at most 20 shown plus a count); ``"set_missing"`` sets invalid item cells
    missing, drops cases without or with a duplicate id and records all of it.
    ``data``: an already read DataFrame to use instead of the file (for tests and
    simulations).

    Steps: declared missing codes -> missing (recorded as changes); ids present and
    unique; item cells numeric and inside the instrument's response range; group
    codes known, at least two groups each with ``min_size`` cases; no item constant
    or empty.  Constant/empty items and a missing column always stop.  Returns a
    :class:`Dataset`.
    """
    from .scales import Study, load_study

    if not isinstance(study, Study):
        study = load_study(study)
    mode = on_invalid or study.on_invalid
    if mode not in ("stop", "set_missing"):
        raise StudyError(f"on_invalid must be 'stop' or 'set_missing', got {mode!r}")
    if data is None:
        raw = read_data(study.data, **study.data_options)
    else:
        if study.id not in data.columns and data.index.name == study.id:
            data = data.reset_index()
        raw = _normalise_frame(data.reset_index(drop=True), data.attrs.get("file", "<data>"))
        raw.attrs.update({"file": data.attrs.get("file", "<data>"), "value_labels":
                          data.attrs.get("value_labels", {}),
                          "row_labels": [f"row {i + 1}" for i in range(len(data))]})
    file = raw.attrs.get("file", Path(study.data).name)
    value_labels = raw.attrs.get("value_labels", {})
    where = list(raw.attrs.get("row_labels") or [f"line {i + 2}" for i in range(len(raw))])

    # 1. columns
    needed = [study.id] + ([study.group.column] if study.group else []) + study.item_columns()
    missing_cols = [c for c in needed if c not in raw.columns]
    if missing_cols:
        import difflib
        probs = []
        for c in missing_cols:
            close = difflib.get_close_matches(c, list(raw.columns), n=1)
            hint = f"column not in the file (did you mean {close[0]!r}?)" if close else \
                "column not in the file"
            probs.append(CellProblem(file, "header", c, None, hint))
        raise DataError(f"{file}: {len(missing_cols)} column(s) named in the study are missing "
                        f"from the data file (columns in the file: {list(raw.columns)[:30]})", probs)
    if len(raw) == 0:
        raise DataError(f"{file}: the data file has no rows")

    changes: list[Change] = []
    dropped: list[dict] = []
    warn_msgs: list[str] = []
    problems: dict[str, list[CellProblem]] = {}

    def problem(kind: str, p: CellProblem) -> None:
        problems.setdefault(kind, []).append(p)

    # 2. ids
    ids = raw[study.id]
    id_vals = [_fmt_value(v) if not _is_missing(v) else None for v in ids]
    keep = np.ones(len(raw), dtype=bool)
    seen: dict = {}
    for pos, v in enumerate(id_vals):
        line = where[pos]
        if v is None:
            problem("missing id", CellProblem(file, line, study.id, None, "case has no id"))
            keep[pos] = False
            dropped.append({"row": None, "line": line, "reason": "missing id"})
        elif v in seen:
            problem("duplicate id", CellProblem(
                file, v, study.id, v, f"duplicate id ({line}; first on {seen[v]})"))
            keep[pos] = False
            dropped.append({"row": v, "line": line,
                            "reason": f"duplicate id (first on {seen[v]}; later copy dropped)"})
        else:
            seen[v] = line
    row_ids = id_vals

    # 3. missing codes, numeric, range
    codes_num = set()
    codes_txt = set()
    for c in study.missing_codes:
        n = to_number(c) if isinstance(c, str) else float(c)
        if n is not None:
            codes_num.add(n)
        else:
            codes_txt.add(normalize_text(c))
    items: dict[str, np.ndarray] = {}
    ranges = {}
    for si in study.instruments:
        for col in si.item_columns:
            ranges[col] = (si.instrument.min, si.instrument.max, si.id)

    user_missing = raw.attrs.get("user_missing") or {}

    def is_user_missing(col, v) -> bool:
        n = to_number(v)
        return n is not None and any(lo is not None and hi is not None and lo <= n <= hi
                                     for lo, hi in user_missing.get(col, ()))

    def is_code(v) -> bool:
        if _is_missing(v):
            return False
        if isinstance(v, str) and normalize_text(v) in codes_txt:
            return True
        n = to_number(v)
        return n is not None and n in codes_num

    for col in study.item_columns():
        lo, hi, iid = ranges[col]
        out = np.full(len(raw), np.nan)
        for pos, v in enumerate(raw[col]):
            if _is_missing(v):
                continue
            rid = row_ids[pos] if row_ids[pos] is not None else where[pos]
            if is_code(v):
                if keep[pos]:
                    changes.append(Change(file, rid, col, _fmt_value(v), None, "missing code"))
                continue
            if is_user_missing(col, v):
                if keep[pos]:
                    changes.append(Change(file, rid, col, _fmt_value(v), None,
                                          "SPSS user-missing value"))
                continue
            n = to_number(v)
            if n is None:
                if keep[pos]:
                    problem("non-numeric", CellProblem(file, rid, col, v, "not a number"))
                    changes.append(Change(file, rid, col, v, None, "not a number"))
                continue
            if (lo is not None and n < lo) or (hi is not None and n > hi):
                if keep[pos]:
                    problem("out of range", CellProblem(
                        file, rid, col, _fmt_value(n),
                        f"outside the response range {lo}-{hi} of {iid}"))
                    changes.append(Change(file, rid, col, _fmt_value(n), None,
                                          f"outside the response range {lo}-{hi}"))
                continue
            out[pos] = n
        items[col] = out

    # 4. group column
    group_col = None
    group_labels: list = []
    gvals = None
    if study.group is not None:
        gspec = study.group
        group_col = gspec.column
        labels = dict(gspec.labels) or dict(value_labels.get(group_col, {}))
        gvals = []
        for pos, v in enumerate(raw[group_col]):
            rid = row_ids[pos] if row_ids[pos] is not None else where[pos]
            if _is_missing(v):
                gvals.append(None)
                continue
            if is_code(v) or is_user_missing(group_col, v):
                if keep[pos]:
                    changes.append(Change(file, rid, group_col, _fmt_value(v), None,
                                          "missing code" if is_code(v)
                                          else "SPSS user-missing value"))
                gvals.append(None)
                continue
            key = _code_key(v)
            if labels:
                if key in labels:
                    gvals.append(labels[key])
                elif key in labels.values():  # already a label
                    gvals.append(key)
                else:
                    if keep[pos]:
                        problem("unknown group", CellProblem(
                            file, rid, group_col, _fmt_value(v),
                            f"group code not among the declared labels {labels}"))
                        changes.append(Change(file, rid, group_col, _fmt_value(v), None,
                                              "unknown group code"))
                    gvals.append(None)
            else:
                gvals.append(key)
        # order: reference first, then declared order, then order of appearance
        order = list(dict.fromkeys(labels.values())) if labels else []
        for g in gvals:
            if g is not None and g not in order:
                order.append(g)
        if gspec.reference is not None and gspec.reference in order:
            order.remove(gspec.reference)
            order.insert(0, gspec.reference)
        group_labels = order

    # 5. assemble the cleaned frame (without dropped cases)
    frame = pd.DataFrame(items, index=pd.RangeIndex(len(raw)))
    if group_col is not None:
        frame[group_col] = pd.Series(gvals, dtype=object)
    frame.index = pd.Index([r if r is not None else where[i] for i, r in enumerate(row_ids)],
                           name=study.id)
    frame = frame[keep]
    # keep pandas from inferring a float index from integer ids
    if len(frame) and all(isinstance(v, (int, np.integer)) and abs(int(v)) < 2**63
                          for v in frame.index):
        frame.index = pd.Index(np.array([int(v) for v in frame.index], dtype=np.int64),
                               name=study.id)

    # 6. structural checks (always stop): constant / empty items, group sizes
    fatal: list[CellProblem] = []
    for col in study.item_columns():
        vals = frame[col].dropna()
        if len(vals) == 0:
            fatal.append(CellProblem(file, "all rows", col, None,
                                     "item has no valid responses"))
        elif vals.nunique() == 1:
            fatal.append(CellProblem(file, "all rows", col, _fmt_value(vals.iloc[0]),
                                     f"constant item: every valid response is {_fmt_value(vals.iloc[0])}"))
    group_probs: list[CellProblem] = []
    if group_col is not None:
        counts = frame[group_col].value_counts(dropna=True)
        present = [g for g in group_labels if counts.get(g, 0) > 0]
        if len(present) < 2:
            group_probs.append(CellProblem(
                file, "all rows", group_col, present[0] if present else None,
                f"fewer than two groups ({len(present)}) in the group column"))
        for g in present:
            if counts[g] < study.group.min_size:
                group_probs.append(CellProblem(
                    file, "all rows", group_col, g,
                    f"group {g!r} has only {int(counts[g])} case(s), fewer than min_size "
                    f"{study.group.min_size}"))
        group_labels = [g for g in group_labels if counts.get(g, 0) > 0] or group_labels

    cell_kinds = [k for k in problems]
    if mode == "stop" and (problems or fatal or group_probs):
        allp = [p for k in cell_kinds for p in problems[k]] + fatal + group_probs
        parts = [f"{len(problems[k])} {k}" for k in cell_kinds]
        if fatal:
            parts.append(f"{len(fatal)} constant or empty item(s)")
        if group_probs:
            parts.append(f"{len(group_probs)} group problem(s)")
        hint = "" if not problems else \
            " (use on_invalid: set_missing to set invalid cells missing instead)"
        raise DataError(f"{file}: the data do not match the study: {', '.join(parts)}{hint}", allp)
    if fatal:
        raise DataError(f"{file}: {len(fatal)} item(s) are constant or empty and cannot be "
                        "analysed; remove them from the instrument or fix the data", fatal)
    if mode == "set_missing":
        # only cell changes of kept cases are recorded; dropped cases are in `dropped`
        for k in cell_kinds:
            if k in ("missing id", "duplicate id"):
                warn_msgs.append(f"{len(problems[k])} case(s) dropped: {k}")
            else:
                warn_msgs.append(f"{len(problems[k])} cell(s) set missing: {k}")
        if group_probs:
            warn_msgs.append("group comparisons disabled: " + "; ".join(p.problem for p in group_probs))
            group_col_keep = group_col
            group_col = None
            group_labels = []
            del group_col_keep
    for m in warn_msgs:
        warnings.warn(f"{file}: {m}", PsychometricsWarning, stacklevel=2)

    rest = [c for c in raw.columns if c not in set(needed)]
    other = raw[rest][keep].copy()
    other.index = frame.index
    ds = Dataset(data=frame, study=study, file=file, group_column=group_col,
                 group_labels=group_labels, changes=changes, dropped=dropped, warnings=warn_msgs,
                 other=other)
    return ds
