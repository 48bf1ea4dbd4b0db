"""Reading data files, cleaning them and validating them against a study.

``read_data(path)`` reads a CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, or an 8-bit
code page told apart by its letters: Windows-1256 for Persian/Arabic, Windows-1252 for
Western European text -- the decision is recorded; the delimiter is sniffed), an Excel
``.xlsx`` (merged and formula cells are found and reported, a workbook with several
sheets of data needs ``sheet:``) or an SPSS ``.sav`` file into a DataFrame and
normalises the text: Persian (۰-۹) and Arabic-Indic (٠-٩) digits become ASCII digits,
the Arabic letter variants ي and ك become the Persian ی and ک, direction marks and
stray whitespace are removed (the same :mod:`psychometrics._text` code normalises the
names in study files).  Columns whose cells are all numbers become numeric; the id
column stays text.  Folders, devices and files larger than :data:`MAX_DATA_BYTES` are
refused.  The input file is never written.

``load_dataset(study)`` applies the study: it recodes the declared missing
codes, checks ids (as text), item values (numeric, inside the response range, whole
numbers on a Likert scale), constant items and the group column (known codes, group
sizes, spellings of one group without ``labels``), and returns a :class:`Dataset`.
By default (``on_invalid="stop"``) any problem raises one :class:`~psychometrics.errors.DataError`
listing the offending cells (file, row id, column, value -- one cell, never a file
line); with ``on_invalid="set_missing"`` invalid cells are set missing instead and every
change is recorded in ``Dataset.changes``.
"""
from __future__ import annotations

import csv
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Iterable

import numpy as np
import pandas as pd

from . import _text as _text_mod
from ._results import jsonable
from ._text import code_key, file_problem, is_missing, normalize_text, plain, show, to_number
from .errors import CellProblem, DataError, PsychometricsWarning, StudyError
from .scales import Study, load_study   # one way: scales.py never imports this module

__all__ = ["normalize_text", "to_number", "read_data", "load_dataset", "Dataset", "Change"]

# --------------------------------------------------------------------------- normalisation
# normalize_text / to_number live in psychometrics._text (shared with scales.py, which
# normalises the names in study files the same way); re-exported here.

_normalize_str = _text_mod._normalize_str
_is_missing = is_missing
_code_key = code_key

#: largest data file read (bytes); an .xlsx file may also not unpack to more than
#: MAX_XLSX_UNPACKED bytes (a "zip bomb" of a few kB can unpack to gigabytes)
MAX_DATA_BYTES = 200_000_000
MAX_XLSX_UNPACKED = 1_000_000_000


# R writes a missing value as the text NA (write.csv, write.table): such a cell is read as
# missing by default, in item and group columns, and each one is recorded as a change
# with this reason (README, "Missing values").
R_NA_REASON = "NA (R's missing value)"


def _is_r_na(value: Any) -> bool:
    return isinstance(value, str) and value.strip() == "NA"


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


def _id_text(v: Any) -> str | None:
    """A cell of the id column as text: text is only normalised ('007' stays '007', Persian
    digits become ASCII), whole numbers are written without a decimal point, and nothing
    passes through a float that could lose digits.  None for an empty cell."""
    if _is_missing(v):
        return None
    if isinstance(v, str):
        return _normalize_str(v) or None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isfinite(v) and v == int(v):
            return str(int(v))
        return repr(v)
    return normalize_text(str(v)) or None


#: True: clean and judge every cell on its own (the original path, kept as the reference the
#: tests compare the distinct-value path with); False: each distinct cell of a column once
_CELL_BY_CELL = False


def _take(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[codes]`` with code -1 (a missing cell) taking the last entry of ``table``."""
    return table[np.where(codes < 0, len(table) - 1, codes)]


def _distinct_cells(col: pd.Series):
    """``(codes, distinct cells)`` of a column whose cells are all text or missing (a CSV
    column, read as a categorical of its texts, or text in an object column), so that each
    distinct cell is cleaned once; code -1 marks a missing cell.  None for any other column
    (numbers, booleans, dates, mixed types: cleaned cell by cell, as ``1``, ``1.0`` and ``True``
    are different cells that a hash table would merge), and always with :data:`_CELL_BY_CELL`
    set (the reference path the tests compare with)."""
    if _CELL_BY_CELL:
        return None
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        if len(cats) and pd.api.types.infer_dtype(cats, skipna=False) != "string":
            return None
        return np.asarray(col.cat.codes.to_numpy(), dtype=np.int64), cats.to_numpy(dtype=object)
    values = col.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    codes, uniq = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniq, dtype=object)


def _distinct_values(col: pd.Series):
    """``(codes, distinct cells as plain Python values)`` of a cleaned column whose cells are
    all numbers (a float or integer column) or all text; code -1 marks a missing cell.  None
    for other columns (mixed types are judged cell by cell) and with :data:`_CELL_BY_CELL`."""
    if _CELL_BY_CELL:
        return None
    if col.dtype.kind in "fi":
        codes, uniq = pd.factorize(col.to_numpy())
        return np.asarray(codes, dtype=np.int64), np.array(uniq.tolist() + [None],
                                                           dtype=object)[:-1]
    if col.dtype == object or isinstance(col.dtype, pd.CategoricalDtype):
        return _distinct_cells(col)
    return None


def _normalise_coded(codes: np.ndarray, uniq: np.ndarray, index, name) -> pd.Series:
    """A column of text cells given as codes into its distinct cells, normalised as
    :func:`_normalise_frame` does cell by cell (each distinct cell once): numbers when every
    non-empty cell is one (int64 when all are whole and none is missing, as
    :func:`_numeric_or_none`), else the normalised text (None for an empty cell)."""
    cleaned = []
    for u in uniq.tolist():
        v = _normalize_str(u) if isinstance(u, str) else u
        cleaned.append(v if v else None)
    present = np.zeros(len(uniq), dtype=bool)
    present[codes[codes >= 0]] = True
    nums = np.full(len(uniq) + 1, np.nan)
    numeric = True
    for k, v in enumerate(cleaned):
        if v is None or not present[k]:
            continue
        n = to_number(v)
        if n is None:
            numeric = False
            break
        nums[k] = n
    if not numeric:
        return pd.Series(_take(np.array(cleaned + [None], dtype=object), codes), index=index,
                         name=name, dtype=object)
    arr = _take(nums, codes)
    if len(arr) and not np.isnan(arr).any() and np.all(arr == np.round(arr)) \
            and np.all(np.abs(arr) < 2**53):
        return pd.Series(arr.astype(np.int64), index=index, name=name)
    return pd.Series(arr, index=index, name=name)


def _normalise_frame(df: pd.DataFrame, file: str, text_columns=()) -> pd.DataFrame:
    """Normalise header and text cells; convert all-numeric columns to numbers, except
    ``text_columns`` (normalised names), which keep their cells as text (ids)."""
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
    keep_text = {normalize_text(c) for c in text_columns}
    imprecise: list = []        # text columns holding floats beyond 2^53 (digits may be lost)
    for j, name in enumerate(names):
        col = df.iloc[:, j]
        coded = _distinct_cells(col)
        if name in keep_text:
            if coded is None:
                cells = col.to_numpy(dtype=object)
                imprecise += [_id_text(v) for v in cells
                              if isinstance(v, (float, np.floating)) and math.isfinite(v)
                              and abs(v) >= 2**53]
                out[name] = pd.Series([_id_text(v) for v in cells], index=df.index, name=name,
                                      dtype=object)
            else:       # text cells only: no float beyond 2^53
                codes, uniq = coded
                out[name] = pd.Series(_take(np.array([_id_text(u) for u in uniq] + [None],
                                                     dtype=object), codes),
                                      index=df.index, name=name, dtype=object)
            continue
        if coded is None:
            cells = []
            for v in col.to_numpy(dtype=object):
                if isinstance(v, str):
                    v = _normalize_str(v)
                    cells.append(v if v else None)
                else:
                    cells.append(None if _is_missing(v) else v)
            cleaned = pd.Series(cells, index=df.index, name=name, dtype=object)
            num = _numeric_or_none(cleaned)
            out[name] = num if num is not None else cleaned
        else:
            out[name] = _normalise_coded(*coded, df.index, name)
    # copy=False: the columns are new arrays already; a consolidating copy would double them
    result = pd.DataFrame(out, index=pd.RangeIndex(len(df)), copy=False)
    result.attrs["imprecise_ids"] = imprecise
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
    return _guess_8bit(raw, file)


_ARABIC = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"\w+")


def _guess_8bit(raw: bytes, file: str) -> tuple[str, str]:
    """Decode a text that is not UTF-8: Windows-1256 (Persian/Arabic) or Windows-1252
    (Western European, a superset of the printable Latin-1).

    The same bytes are letters in both code pages, so the decision looks at words: read as
    Windows-1256, a Western file gives words that mix Arabic and Latin letters
    ('Mنnnlich' for 'Männlich'), a Persian file gives words of Arabic letters only.  Only
    Arabic-only words -> cp1256; no Arabic-only word -> cp1252; both kinds -> the file is
    refused with a request to name the encoding (``encoding:`` in the study file).
    Returns (text, encoding)."""
    text56 = raw.decode("cp1256", errors="replace")
    mixed = arabic = 0
    first_mixed = None
    for w in _WORD.findall(text56):
        if _ARABIC.search(w):
            if _LATIN.search(w):
                mixed += 1
                first_mixed = first_mixed or w
            else:
                arabic += 1
    if arabic and not mixed:
        return raw.decode("cp1256"), "cp1256"
    if not arabic:          # no Persian/Arabic word at all: a Western text
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:      # 5 bytes cp1252 leaves undefined: read as Latin-1
            return raw.decode("latin-1"), "latin-1"
    raise DataError(
        f"{file}: the file is not UTF-8, and its letters fit neither Windows-1256 (Persian/"
        f"Arabic) nor Windows-1252 (Western European) alone ({arabic} Arabic-script word(s), "
        f"{mixed} mixed word(s) such as {show(first_mixed, 20)}); give the encoding in the "
        "study file (encoding: cp1256, cp1252, latin-1, ...) or save the file as UTF-8")


_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-16": "UTF-16 (byte-order mark)",
                   "cp1256": "Windows-1256 (Persian/Arabic)",
                   "cp1252": "Windows-1252 (Western European)", "latin-1": "Latin-1"}


_DELIMS = ",;\t|؛"


def _first_lines(text: str, k: int) -> list:
    """``text.splitlines()[:k]`` without splitting the whole text (a large file has a million
    lines): a prefix holding more than ``k`` lines has the same first ``k`` lines."""
    size = 65_536
    while size < len(text):
        lines = text[:size].splitlines()
        if len(lines) > k + 1:
            return lines[:k]
        size *= 4
    return text.splitlines()[:k]


def _sniff(text: str, file: str) -> str:
    sample = "\n".join(_first_lines(text, 50))
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMS).delimiter
    except csv.Error:
        header = _first_lines(text, 1)[0] if text.strip() else ""
        counts = {d: header.count(d) for d in _DELIMS}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else ","


#: rows of a CSV file converted at a time: the parsed text of a chunk (one Python string per
#: field) is turned into integer codes of the distinct cells before the next chunk is parsed, so
#: the memory of reading grows with the distinct values, not with the number of fields
CSV_CHUNK_ROWS = 8_192


#: data sets of at least this many cells (cases x items) give the C heap's free memory back
#: to the operating system after loading (:func:`release_free_memory`)
TRIM_MIN_CELLS = 1_000_000
_LIBC = None


#: with ``large_blocks``, memory blocks of at least this size are mapped on their own and given
#: back to the operating system as soon as they are freed (glibc's ``M_MMAP_THRESHOLD``)
LARGE_BLOCK_BYTES = 4 * 2 ** 20


def release_free_memory(large_blocks: bool = False) -> bool:
    """Return the free pages of the C heap to the operating system (glibc ``malloc_trim(0)``).

    Arrays of a few MB (one column of 10^6 cases is 8 MB) are placed on the heap once glibc
    has raised its dynamic mmap threshold (up to 32 MB), and the heap keeps their pages
    resident after they are freed: after loading 10^6 cases about half of the resident
    memory was such free space, and each later step left its temporaries' pages behind.
    ``large_blocks=True`` also fixes the threshold at :data:`LARGE_BLOCK_BYTES` for the rest
    of the process (``mallopt(M_MMAP_THRESHOLD)``), so that blocks of that size are mapped
    on their own and unmapped when freed; smaller blocks are not affected.
    Returns True when the calls were made, False where there is no glibc (then nothing
    happens).  Releases only memory that is already free; no data changes."""
    import ctypes
    import ctypes.util
    global _LIBC
    if _LIBC is None:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC = lib if hasattr(lib, "malloc_trim") else False
        except (OSError, AttributeError):
            _LIBC = False
    if not _LIBC:
        return False
    if large_blocks and hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(-3, LARGE_BLOCK_BYTES)        # -3: M_MMAP_THRESHOLD (malloc.h)
    _LIBC.malloc_trim(0)
    return True


class RowLabels(Sequence):
    """Where each case is in the file (``"line 2"``, ``"row 5"``, ``"case 1"``), as a
    read-only sequence computed from an integer array instead of one string per case."""

    def __init__(self, prefix: str, numbers):
        self.prefix = prefix
        self.numbers = np.asarray(numbers, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return RowLabels(self.prefix, self.numbers[i])
        return f"{self.prefix} {int(self.numbers[i])}"

    def select(self, mask) -> "RowLabels":
        """The labels of the positions where ``mask`` is True."""
        return RowLabels(self.prefix, self.numbers[np.asarray(mask, dtype=bool)])

    def __eq__(self, other):
        return list(self) == list(other) if isinstance(other, (list, tuple, RowLabels)) \
            else NotImplemented

    def __repr__(self) -> str:
        return f"RowLabels({self.prefix!r}, n={len(self)})"


def _labels_select(labels, mask):
    if isinstance(labels, RowLabels):
        return labels.select(mask)
    return [r for r, b in zip(labels, mask) if b]


class _ColumnCodes:
    """One CSV column read chunk by chunk: integer codes into the list of its distinct raw
    texts (first appearance order)."""

    __slots__ = ("index", "texts", "chunks")

    def __init__(self):
        self.index: dict = {}
        self.texts: list = []
        self.chunks: list = []

    def add(self, values) -> None:
        codes, uniq = pd.factorize(np.array(values, dtype=object))
        index, texts = self.index, self.texts
        remap = np.empty(len(uniq), dtype=np.int64)
        for k, u in enumerate(uniq.tolist()):
            j = index.get(u)
            if j is None:
                j = index[u] = len(texts)
                texts.append(u)
            remap[k] = j
        self.chunks.append(remap.astype(np.int32)[codes])

    def categorical(self) -> pd.Categorical:
        k = len(self.texts)
        dt = np.int8 if k < 127 else np.int16 if k < 32_767 else np.int32
        codes = np.concatenate([c.astype(dt, copy=False) for c in self.chunks]) if self.chunks \
            else np.zeros(0, dt)
        self.chunks = []
        cats = pd.Index(np.array(self.texts, dtype=object), dtype=object)
        return pd.Categorical.from_codes(codes, categories=cats)


def _read_csv(path: Path, file: str, encoding: str | None, delimiter: str | None,
              progress=None) -> pd.DataFrame:
    """The CSV file as a DataFrame of text cells, one categorical column per header field
    (codes into the column's distinct texts; see :data:`CSV_CHUNK_ROWS`).  ``progress``:
    called ``progress(bytes read, bytes of the file)`` after each chunk of rows."""
    raw = path.read_bytes()
    text, enc = _decode(raw, file, encoding)        # checks the whole file decodes
    del raw
    if not text or text.isspace():      # (text.strip() would copy a large file)
        raise DataError(f"{file}: the file is empty")
    delim = delimiter or _sniff(text, file)
    del text
    # parsed from the file as a stream (a text in memory would be held again, four bytes a
    # character, by io.StringIO); the codec reads exactly what _decode decoded
    codec = encoding or {"utf-8": "utf-8-sig"}.get(enc, enc)
    header = None
    problems = []
    line_numbers = []
    chunk: list = []
    columns: list = []

    def flush():
        if chunk and not problems:
            for col, values in zip(columns, zip(*chunk)):
                col.add(values)
        chunk.clear()
        if progress is not None:
            progress(fh.buffer.tell(), size)

    try:
        fh = open(path, encoding=codec, newline="")
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{file}: cannot be read ({exc})") from None
    try:
        reader = csv.reader(fh, delimiter=delim)
        for line, r in enumerate(reader, start=1):
            if header is None:
                header = r
                columns = [_ColumnCodes() for _ in header]
                continue
            if not any(c.strip() for c in r):
                continue  # blank line
            if len(r) > len(header) and not any(c.strip() for c in r[len(header):]):
                r = r[:len(header)]  # trailing empty fields
            if len(r) != len(header):
                # the line itself is not quoted: it may be anything (an error message shows
                # at most one cell)
                problems.append(CellProblem(file, f"line {line}", "-", None,
                                            f"has {len(r)} fields, the header has {len(header)}"))
                continue
            chunk.append(r)
            line_numbers.append(line)
            if len(chunk) >= CSV_CHUNK_ROWS:
                flush()
        flush()
    except csv.Error as exc:
        raise DataError(f"{file}: cannot parse the CSV file ({exc})") from None
    finally:
        fh.close()
    if header is None or (not any(c.strip() for c in header) and not line_numbers
                          and not problems):
        raise DataError(f"{file}: the file is empty")
    if problems:
        raise DataError(f"{file}: {len(problems)} line(s) have a different number of fields than "
                        f"the header (delimiter {delim!r})", problems)
    lines = RowLabels("line", line_numbers)
    if line_numbers:
        df = pd.DataFrame({j: col.categorical() for j, col in enumerate(columns)})
        df.columns = pd.Index(header, dtype=object)
    else:
        df = pd.DataFrame({h: pd.Series([], dtype=object) for h in header}) \
            if len(set(header)) == len(header) \
            else pd.DataFrame([[None] * len(header)], columns=header).iloc[:0]
    df.attrs["row_labels"] = lines
    if encoding:
        how = f"read as {encoding} (the study file's `encoding`)"
    elif enc in ("utf-8", "utf-16"):
        how = f"read as {_ENCODING_NAMES[enc]}"
    else:
        how = (f"read as {_ENCODING_NAMES.get(enc, enc)}: the file is not UTF-8 and its "
               f"letters fit this code page; if the text looks wrong, set `encoding:` in the "
               "study file")
    df.attrs["encoding"] = {"encoding": encoding or enc, "note": how,
                            "guessed": not encoding and enc not in ("utf-8", "utf-16")}
    return df


def _sheet_has_data(ws) -> bool:
    for row in ws.iter_rows(max_row=5, values_only=True):
        if any(v is not None for v in row):
            return True
    return False


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Za-z]+[0-9]+):([A-Za-z]+[0-9]+)"')
_FORMULA_RE = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _read_excel(path: Path, file: str, sheet) -> pd.DataFrame:
    """Read one sheet of an .xlsx workbook with openpyxl (read-only, stored values, as
    pandas does): row 1 is the header.

    Merged cells and formula cells are found and listed in ``df.attrs`` (``merged``:
    the cells of merged ranges other than their top-left cell, which are blank in the
    file; ``formulas``: cells holding a formula, with whether the workbook stored its
    computed value) so that :func:`load_dataset` reports and counts them; nothing is
    filled in.  ``sheet``: a name or a number counted from 0; without it the workbook's
    only sheet with data is read, and several sheets with data are refused with their
    names."""
    import zipfile
    try:
        import openpyxl
        from openpyxl.utils import get_column_letter
        from openpyxl.utils.cell import coordinate_from_string, column_index_from_string
    except ImportError:  # pragma: no cover
        raise DataError(f"{file}: reading .xlsx needs openpyxl (pip install openpyxl)") from None
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except Exception as exc:
        raise DataError(f"{file}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise DataError(f"{file}: the workbook unpacks to {unpacked:,} bytes (limit "
                        f"{MAX_XLSX_UNPACKED:,}); save the data as CSV")
    wb_v = wb_f = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # openpyxl's notes on styles/extensions
            wb_v = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
            names = list(wb_v.sheetnames)
            listing = ", ".join(f"{k}: {n!r}" for k, n in enumerate(names))
            how = (f"name the sheet in the study file: data: {{file: {file}, sheet: NAME}} (or "
                   "a number counted from 0)")
            if sheet is None:
                with_data = [n for n in names if _sheet_has_data(wb_v[n])]
                if len(with_data) > 1:
                    raise DataError(f"{file}: the workbook has {len(with_data)} sheets with data "
                                    f"({', '.join(repr(n) for n in with_data)}); {how}")
                name = with_data[0] if with_data else names[0]
            elif isinstance(sheet, int) and not isinstance(sheet, bool):
                if not 0 <= sheet < len(names):
                    raise DataError(f"{file}: there is no sheet number {sheet} (sheets, counted "
                                    f"from 0: {listing})")
                name = names[sheet]
            else:
                wanted = normalize_text(str(sheet))
                match = [n for n in names if n == str(sheet)] or \
                    [n for n in names if normalize_text(n) == wanted]
                if not match:
                    raise DataError(f"{file}: there is no sheet named {str(sheet)!r} (sheets: "
                                    f"{listing}); {how}")
                name = match[0]
            ws_v = wb_v[name]
            rows = [list(r) for r in ws_v.iter_rows(values_only=True)]
            xml = wb_v._archive.read(ws_v._worksheet_path) \
                if getattr(ws_v, "_worksheet_path", None) else b""
            formula_text: dict = {}
            if _FORMULA_RE.search(xml):
                wb_f = openpyxl.load_workbook(path, read_only=True, data_only=False,
                                              keep_links=False)
                for r_idx, row in enumerate(wb_f[name].iter_rows(), start=1):
                    for c_idx, cell in enumerate(row, start=1):
                        v = getattr(cell, "value", None)
                        if getattr(cell, "data_type", None) == "f" or \
                                type(v).__name__ in ("ArrayFormula", "DataTableFormula"):
                            formula_text[(r_idx, c_idx)] = v if isinstance(v, str) else \
                                getattr(v, "text", None) or str(v)
    except DataError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, openpyxl errors
        raise DataError(f"{file}: not a readable .xlsx workbook ({type(exc).__name__}: "
                        f"{show(str(exc), 80)})") from None
    finally:
        for wb in (wb_v, wb_f):
            if wb is not None:
                wb.close()
    while rows and not any(v is not None for v in rows[-1]):
        rows.pop()                                  # trailing empty rows
    if not rows:
        raise DataError(f"{file}: sheet {name!r} is empty")
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    header = rows[0]
    header_names = [normalize_text(h) if not _is_missing(h) else "" for h in header]
    merged = []
    for a, b in _MERGE_RE.findall(xml):
        ca, ra = coordinate_from_string(a.decode())
        cb, rb = coordinate_from_string(b.decode())
        c0, c1 = sorted((column_index_from_string(ca), column_index_from_string(cb)))
        r0, r1 = sorted((ra, rb))
        top = f"{get_column_letter(c0)}{r0}"
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) == (r0, c0):
                    continue
                merged.append({"row": r, "column": header_names[c - 1] if c <= width else "",
                               "cell": f"{get_column_letter(c)}{r}",
                               "range": f"{top}:{get_column_letter(c1)}{r1}", "top_left": top})
    formulas = []
    for (r_idx, c_idx), text in sorted(formula_text.items()):
        if r_idx < 2:
            continue
        inside = r_idx <= len(rows) and c_idx <= width
        formulas.append({"row": r_idx, "column": header_names[c_idx - 1] if inside else "",
                         "cell": f"{get_column_letter(c_idx)}{r_idx}", "formula": text,
                         "has_value": inside and rows[r_idx - 1][c_idx - 1] is not None})
    body = rows[1:]
    df = pd.DataFrame(body, columns=range(width), dtype=object) if body else \
        pd.DataFrame({k: pd.Series([], dtype=object) for k in range(width)})
    df.columns = header
    df.attrs["row_labels"] = [f"row {i}" for i in range(2, len(body) + 2)]
    df.attrs["sheet"] = name
    df.attrs["merged"] = merged
    df.attrs["formulas"] = formulas
    df.attrs["encoding"] = {"encoding": None, "note": f"sheet {name!r} of an .xlsx workbook",
                            "guessed": False}
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


def read_data(path: str | Path, *, sheet: Any = None, encoding: str | None = None,
              delimiter: str | None = None, text_columns: Iterable[str] = (),
              progress=None) -> pd.DataFrame:
    """Read a data file into a DataFrame (one row per case, a RangeIndex) and normalise it.

    Formats by extension: ``.csv``/``.txt``/``.tsv`` (encoding detected: UTF-8 with or
    without BOM, UTF-16 with BOM, else Windows-1256 or Windows-1252 told apart by the
    letters, see :func:`_guess_8bit`; the decision is in ``df.attrs["encoding"]``;
    delimiter sniffed among ``, ; tab | ؛``), ``.xlsx`` (``sheet``: name or number from 0;
    default the only sheet with data; merged and formula cells are listed in
    ``df.attrs["merged"]`` / ``df.attrs["formulas"]``) and
    ``.sav`` (SPSS; its value labels are returned in ``df.attrs["value_labels"]``
    as ``{column: {code text: label}}`` and become group labels; its user-missing
    values are kept as numbers and listed in ``df.attrs["user_missing"]`` as
    ``{column: [(lo, hi), ...]}`` so that :func:`load_dataset` sets them missing
    and records each one).

    Every text cell and column name is normalised with :func:`normalize_text`;
    empty cells become missing; columns whose every non-empty cell is a number
    become numeric (int64 when all are whole numbers and none is missing, else
    float64); other columns keep their (normalised) text, and so do ``text_columns``
    (ids: '007' and '7' stay different).  ``df.attrs["file"]``
    names the file.  The file is only read, never written.  ``progress``: for a CSV file,
    called ``progress(bytes read, bytes of the file)`` while it is parsed (a progress
    display; nothing of it enters the data).  Raises
    :class:`DataError` for a missing/unreadable file, a folder or device instead of a
    file, a file larger than :data:`MAX_DATA_BYTES`, an undecodable encoding,
    rows with the wrong number of fields or an empty/duplicate header.
    """
    path = Path(path)
    file = path.name
    problem = file_problem(path, MAX_DATA_BYTES)
    if problem == "not found":
        raise DataError(f"data file not found: {path}")
    if problem:
        raise DataError(f"data file {path} {problem}")
    ext = path.suffix.lower()
    value_labels: dict = {}
    try:
        if ext in (".csv", ".txt", ".tsv", ".dat", ""):
            raw = _read_csv(path, file, encoding, delimiter, progress)
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
        RowLabels("row", np.arange(2, len(raw) + 2)) if ext in (".xlsx", ".xlsm")
        else RowLabels("case", np.arange(1, len(raw) + 1)))
    user_missing = raw.attrs.get("user_missing", {})
    extra = {k: raw.attrs.get(k) for k in ("merged", "formulas", "encoding", "sheet")}
    imprecise = None
    head = [m["cell"] for m in raw.attrs.get("merged") or () if m["row"] == 1]
    if head:
        raise DataError(f"{file}: header cell(s) {', '.join(head[:10])} are part of merged "
                        "cells; every column needs its own name in row 1: unmerge them")
    df = _normalise_frame(raw, file, text_columns)
    imprecise = df.attrs.get("imprecise_ids")
    blank = df.isna().all(axis=1).to_numpy() if df.shape[1] else np.zeros(len(df), bool)
    if blank.any():  # empty rows (common at the end of sheets) are not cases
        df = df[~blank].reset_index(drop=True)
        row_labels = _labels_select(row_labels, ~blank)
    df.attrs["row_labels"] = row_labels
    df.attrs["user_missing"] = user_missing
    df.attrs["file"] = file
    df.attrs["path"] = str(path)
    df.attrs["value_labels"] = value_labels
    for k, v in extra.items():
        if v is not None:
            df.attrs[k] = v
    df.attrs["imprecise_ids"] = imprecise or []
    if ext == ".sav":
        df.attrs["encoding"] = {"encoding": None, "note": "SPSS .sav file", "guessed": False}
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

    def __post_init__(self):
        for name in ("row", "old", "new"):
            object.__setattr__(self, name, plain(getattr(self, name)))

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
    ``warnings``: problems that were repaired or that disabled a feature (shown in the
    report);
    ``notes``: how the file was read (its encoding or sheet, formula cells whose stored
    values were used), also in ``to_dict()``;
    ``encoding``: the text encoding used (None for .xlsx / .sav);
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
    notes: list = field(default_factory=list)
    encoding: str | None = None

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
        return self.data[self.columns(instrument_id)]   # a new frame (a column selection)

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
            "encoding": self.encoding, "notes": self.notes,
            "n_changes": len(self.changes),
            "changes": [c.to_dict() for c in self.changes],
            "dropped": self.dropped, "warnings": self.warnings,
        })


def _fmt_value(v: Any) -> Any:
    """A cell value for messages and change records: plain Python, whole floats as int."""
    v = plain(v)
    if isinstance(v, float) and math.isfinite(v) and abs(v) < 2**53 and v == int(v):
        return int(v)
    return v


_INT_ID = re.compile(r"^-?(0|[1-9][0-9]*)$")


def _edit1(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one letter inserted, deleted, replaced or two
    neighbours swapped -- a letter, not a digit ('grade1' / 'grade2' are different groups)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        if len(diff) == 1:
            return not (a[diff[0]].isdigit() or b[diff[0]].isdigit())
        return (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                and a[diff[1]] == b[diff[0]] and not a[diff[0]].isdigit()
                and not a[diff[1]].isdigit())
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    for k in range(len(long_)):
        if long_[:k] + long_[k + 1:] == short:
            return not long_[k].isdigit()
    return False


def near_duplicate_groups(values: Iterable[str]) -> list[list[str]]:
    """Sets of group values that look like spellings of one group: equal apart from letter
    case, spaces and punctuation ('Female', 'female ', 'FEMALE'), or one letter apart in
    words of at least four letters ('femal', 'female').  Returns lists of two or more values
    (in the order given); used to ask for ``labels`` instead of analysing accidental groups."""
    vals = list(dict.fromkeys(values))
    key = {v: "".join(ch for ch in v.casefold() if ch.isalnum()) for v in vals}
    parent = {v: v for v in vals}

    def find(v):
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for x in range(len(vals)):
        for y in range(x + 1, len(vals)):
            a, b = vals[x], vals[y]
            ka, kb = key[a], key[b]
            if (ka and ka == kb) or (min(len(ka), len(kb)) >= 4 and _edit1(ka, kb)):
                parent[find(b)] = find(a)
    sets: dict = {}
    for v in vals:
        sets.setdefault(find(v), []).append(v)
    return [g for g in sets.values() if len(g) > 1]


def load_dataset(study, on_invalid: str | None = None, *, data: pd.DataFrame | None = None,
                 progress=None) -> Dataset:
    """Read the study's data file, clean it and validate it against the instruments.

    ``study``: a :class:`~psychometrics.scales.Study` or a study-file path.
    ``on_invalid``: ``"stop"`` (default: the study's setting) raises one
    :class:`DataError` listing every offending cell -- file, row id, column, value --
    (at most 20 shown plus a count); ``"set_missing"`` sets invalid item cells
    missing, drops cases without or with a duplicate id and records all of it.
    ``data``: an already read DataFrame to use instead of the file (for tests and
    simulations).  ``progress``: passed to :func:`read_data` (bytes of a CSV file read).

    Steps: declared missing codes -> missing (recorded as changes); ids present and
    unique, compared as text ('007' and '7' are two cases; long ids never pass through a
    float); item cells numeric, inside the instrument's response range and whole numbers
    when the instrument is a Likert scale (``Instrument.integer``); merged cells and
    formula cells without a stored value (.xlsx) in the columns the study uses are
    problems like invalid cells; group codes known, at least two groups each with
    ``min_size`` cases, and -- without ``labels`` -- no two values that look like one group
    spelled two ways ('female', 'Female', 'femal'); no item constant or empty.
    Constant/empty items and a missing column always stop; group problems in
    ``set_missing`` mode switch group comparisons off with a warning.  Returns a
    :class:`Dataset` (the ids are its index: integers when every id is a plain integer
    written without leading zeros, else text).
    """
    ds = _load_dataset(study, on_invalid, data, progress)
    if ds.data.size >= TRIM_MIN_CELLS:
        # the read columns are gone: give their memory back, and let the analyses' large
        # temporaries go back when freed (issue 13)
        release_free_memory(large_blocks=True)
    return ds


def _load_dataset(study, on_invalid, data, progress=None) -> Dataset:
    """The work of :func:`load_dataset` (whose locals, the read columns among them, are
    freed when it returns)."""
    if not isinstance(study, Study):
        study = load_study(study)
    mode = on_invalid or study.on_invalid
    if mode not in ("stop", "set_missing"):
        raise StudyError(f"on_invalid must be 'stop' or 'set_missing', got {mode!r}")
    if data is None:
        raw = read_data(study.data, text_columns=[study.id], progress=progress,
                        **study.data_options)
    else:
        if study.id not in data.columns and data.index.name == study.id:
            data = data.reset_index()
        raw = _normalise_frame(data.reset_index(drop=True), data.attrs.get("file", "<data>"),
                               text_columns=[study.id])
        raw.attrs.update({"file": data.attrs.get("file", "<data>"), "value_labels":
                          data.attrs.get("value_labels", {}),
                          "row_labels": RowLabels("row", np.arange(1, len(data) + 1))})
    file = raw.attrs.get("file", Path(study.data).name)
    value_labels = raw.attrs.get("value_labels", {})
    where = raw.attrs.get("row_labels") or RowLabels("line", np.arange(2, len(raw) + 2))
    enc = raw.attrs.get("encoding") or {}
    notes: list[str] = []
    warn_msgs: list[str] = []
    if enc.get("note"):
        notes.append(f"{file}: {enc['note']}")
        if enc.get("guessed"):
            warn_msgs.append(enc["note"])

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
        shown = ", ".join(show(c) for c in list(raw.columns)[:30])
        more = f" and {len(raw.columns) - 30} more" if len(raw.columns) > 30 else ""
        raise DataError(f"{file}: {len(missing_cols)} column(s) named in the study are missing "
                        f"from the data file (columns in the file: {shown}{more})", probs)
    if len(raw) == 0:
        raise DataError(f"{file}: the data file has no rows")

    changes: list[Change] = []
    dropped: list[dict] = []
    problems: dict[str, list[CellProblem]] = {}

    def problem(kind: str, p: CellProblem) -> None:
        problems.setdefault(kind, []).append(p)

    # 2. ids, compared as text
    id_text = [_id_text(v) for v in raw[study.id].to_numpy(dtype=object)]
    as_int = all(t is not None and _INT_ID.match(t) and abs(int(t)) < 2**63 for t in id_text
                 if t is not None)
    id_vals = [None if t is None else (int(t) if as_int else t) for t in id_text]
    del id_text
    keep = np.ones(len(raw), dtype=bool)
    # only the cases without an id or with an id seen before are looked at one by one
    ids = pd.Series(id_vals, dtype=object)
    no_id = ids.isna().to_numpy()
    again = ids.duplicated(keep="first").to_numpy() & ~no_id
    first_line: dict = {}
    if again.any():
        repeated = set(ids[again].tolist())
        for pos in np.flatnonzero(~no_id & ~again):
            if id_vals[pos] in repeated:
                first_line[id_vals[pos]] = where[pos]
    del ids
    for pos in np.flatnonzero(no_id | again).tolist():
        v = id_vals[pos]
        line = where[pos]
        if v is None:
            problem("missing id", CellProblem(file, line, study.id, None, "case has no id"))
            keep[pos] = False
            dropped.append({"row": None, "line": line, "reason": "missing id"})
        else:
            first = first_line[v]
            problem("duplicate id", CellProblem(
                file, v, study.id, v, f"duplicate id ({line}; first on {first})"))
            keep[pos] = False
            dropped.append({"row": v, "line": line,
                            "reason": f"duplicate id (first on {first}; later copy dropped)"})
    big = raw.attrs.get("imprecise_ids") or []
    if big:
        warn_msgs.append(f"{len(big)} id(s) such as {show(big[0])} are stored in the "
                         "file as floating-point numbers above 2^53, where digits can already "
                         "have been lost; store long ids as text")
    row_ids = id_vals

    def rid_of(pos):
        return row_ids[pos] if row_ids[pos] is not None else where[pos]

    # 3. cells of merged ranges and formulas without a stored value (.xlsx)
    pos_of = {w: k for k, w in enumerate(where)} if (raw.attrs.get("merged")
                                                     or raw.attrs.get("formulas")) else {}
    used = set(needed)
    broken: dict = {}          # (pos, column) -> reason (cell is blank in the file)
    other_merged = []
    for m in raw.attrs.get("merged") or ():
        pos = pos_of.get(f"row {m['row']}")
        reason = f"merged cell (in {m['range']} only {m['top_left']} holds a value)"
        if pos is not None and m["column"] in used and _is_missing(raw[m["column"]].iloc[pos]):
            broken[(pos, m["column"])] = (reason, m["cell"], None)
        else:
            other_merged.append(m["cell"])
    formula_values = []
    for fcell in raw.attrs.get("formulas") or ():
        pos = pos_of.get(f"row {fcell['row']}")
        if not fcell["has_value"]:
            reason = "formula cell without a stored result (open and save the file in a " \
                     "spreadsheet program, or paste values)"
            if pos is not None and fcell["column"] in used:
                broken[(pos, fcell["column"])] = (reason, fcell["cell"], fcell.get("formula"))
            else:
                other_merged.append(fcell["cell"])
        else:
            formula_values.append(fcell["cell"])
    if formula_values:
        notes.append(f"{file}: {len(formula_values)} formula cell(s); the values the workbook "
                     f"stored for them were used ({', '.join(formula_values[:20])}"
                     f"{' …' if len(formula_values) > 20 else ''})")
        warn_msgs.append(notes[-1].split(": ", 1)[1])
    if other_merged:
        warn_msgs.append(f"{len(other_merged)} merged or uncomputed formula cell(s) outside the "
                         f"cells the study uses were left blank ({', '.join(other_merged[:20])}"
                         f"{' …' if len(other_merged) > 20 else ''})")
    for (pos, col), (reason, cell, old) in broken.items():
        if keep[pos]:
            problem("merged or formula cell(s)", CellProblem(file, rid_of(pos), col, old,
                                                             f"{cell}: {reason}"))
            changes.append(Change(file, rid_of(pos), col, old, None, f"{cell}: {reason}"))

    # 4. missing codes, numeric, range, whole numbers
    codes_num = set()
    codes_txt = set()
    for c in study.missing_codes:
        n = to_number(c) if isinstance(c, str) else float(c)
        if n is not None:
            codes_num.add(n)
        else:
            codes_txt.add(normalize_text(c))
    # the cleaned items, one row per item column: the frame's float64 block (section 6)
    item_cols = list(dict.fromkeys(study.item_columns()))
    item_row = {c: j for j, c in enumerate(item_cols)}
    block = np.empty((len(item_cols), len(raw)))
    ranges = {}
    for si in study.instruments:
        for col in si.item_columns:
            ranges[col] = (si.instrument.min, si.instrument.max, si.id,
                           bool(getattr(si.instrument, "integer", False)))

    user_missing = raw.attrs.get("user_missing") or {}

    def is_user_missing(col, v) -> bool:
        n = to_number(v)
        return n is not None and any(lo is not None and hi is not None and lo <= n <= hi
                                     for lo, hi in user_missing.get(col, ()))

    def is_code(v) -> bool:
        if _is_missing(v):
            return False
        if _is_r_na(v):
            return True
        if isinstance(v, str) and normalize_text(v) in codes_txt:
            return True
        n = to_number(v)
        return n is not None and n in codes_num

    def cell_outcome(col, v, lo, hi, iid, whole):
        """What the item cell ``v`` becomes: ("ok", number) or (kind, details) of a change."""
        if is_code(v):
            return "code", None
        if is_user_missing(col, v):
            return "user", None
        n = to_number(v)
        if n is None:
            return "nonnum", None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            return "range", n
        if whole and n != math.floor(n):
            return "whole", n
        return "ok", n

    def record(col, pos, v, kind, n, lo, hi, iid):
        rid = rid_of(pos)
        if kind == "code":
            changes.append(Change(file, rid, col, _fmt_value(v), None,
                                  R_NA_REASON if _is_r_na(v) else "missing code"))
        elif kind == "user":
            changes.append(Change(file, rid, col, _fmt_value(v), None, "SPSS user-missing value"))
        elif kind == "nonnum":
            problem("non-numeric", CellProblem(file, rid, col, v, "not a number"))
            changes.append(Change(file, rid, col, v, None, "not a number"))
        elif kind == "range":
            problem("out of range", CellProblem(
                file, rid, col, _fmt_value(n), f"outside the response range {lo}-{hi} of {iid}"))
            changes.append(Change(file, rid, col, _fmt_value(n), None,
                                  f"outside the response range {lo}-{hi}"))
        elif kind == "whole":
            problem("not a whole number", CellProblem(
                file, rid, col, n, f"not a whole number; {iid} is answered on the "
                f"scale {lo}-{hi} (response integer: false in the instrument allows "
                "fractions)"))
            changes.append(Change(file, rid, col, n, None, f"not a whole number (scale {lo}-{hi})"))

    for col in study.item_columns():
        lo, hi, iid, whole = ranges[col]
        coded = _distinct_values(raw[col])
        if coded is None:       # mixed cell types: cell by cell
            out = np.full(len(raw), np.nan)
            for pos, v in enumerate(raw[col]):
                if _is_missing(v):
                    continue
                kind, n = cell_outcome(col, v, lo, hi, iid, whole)
                if kind == "ok":
                    out[pos] = n
                elif keep[pos]:
                    record(col, pos, v, kind, n, lo, hi, iid)
            block[item_row[col]] = out
            continue
        # each distinct cell is judged once; the cells to record are visited in row order
        codes, uniq = coded
        ok = np.zeros(len(uniq) + 1, dtype=bool)
        nums = np.full(len(uniq) + 1, np.nan)
        verdict = {}
        for k, v in enumerate(uniq):
            if _is_missing(v):
                continue
            kind, n = cell_outcome(col, v, lo, hi, iid, whole)
            if kind == "ok":
                ok[k], nums[k] = True, n
            else:
                verdict[k] = (kind, n)
        if raw[col].dtype.kind in "fi":     # numbers: the cells' own values (0.0 and -0.0)
            out = np.where(_take(ok, codes), raw[col].to_numpy(dtype=float), np.nan)
        else:
            out = _take(nums, codes)
        if verdict:
            bad = np.zeros(len(uniq) + 1, dtype=bool)
            bad[list(verdict)] = True
            flagged = np.flatnonzero(_take(bad, codes) & keep)
            cells = raw[col].iloc[flagged].tolist()
            for pos, v in zip(flagged.tolist(), cells):
                kind, n = verdict[int(codes[pos])]
                record(col, pos, v, kind, n, lo, hi, iid)
        block[item_row[col]] = out

    # 5. group column
    group_col = None
    group_labels: list = []
    gvals = None
    group_probs: list[CellProblem] = []
    if study.group is not None:
        gspec = study.group
        group_col = gspec.column
        labels = dict(gspec.labels) or dict(value_labels.get(group_col, {}))
        def group_outcome(v):
            """(label or None, blank?, change reason or None, problem?) of a group cell."""
            if _is_missing(v):
                return None, True, None, False
            if is_code(v) or is_user_missing(group_col, v):
                return None, False, ((R_NA_REASON if _is_r_na(v) else "missing code")
                                     if is_code(v) else "SPSS user-missing value"), False
            key = _code_key(v)
            if labels:
                if key in labels:
                    return labels[key], False, None, False
                if key in labels.values():  # already a label
                    return key, False, None, False
                return None, False, "unknown group code", True
            return key, False, None, False

        def group_record(pos, v, reason, is_problem):
            rid = rid_of(pos)
            if is_problem:
                problem("unknown group", CellProblem(
                    file, rid, group_col, _fmt_value(v),
                    f"group code not among the declared labels {labels}"))
            changes.append(Change(file, rid, group_col, _fmt_value(v), None, reason))

        broken_pos = np.zeros(len(raw), dtype=bool)
        for (bpos, bcol) in broken:
            if bcol == group_col:
                broken_pos[bpos] = True
        coded = _distinct_values(raw[group_col])
        if coded is None:       # mixed cell types: cell by cell
            gvals = []
            n_blank = 0
            for pos, v in enumerate(raw[group_col]):
                if broken_pos[pos]:
                    gvals.append(None)
                    continue
                label, blank_cell, reason, is_problem = group_outcome(v)
                n_blank += bool(blank_cell and keep[pos])
                if reason is not None and keep[pos]:
                    group_record(pos, v, reason, is_problem)
                gvals.append(label)
            gvals = np.array(gvals + [None], dtype=object)[:-1]
        else:       # each distinct cell once; the cells to record are visited in row order
            codes, uniq = coded
            outcomes = [group_outcome(v) for v in uniq] + [(None, True, None, False)]
            table = np.array([o[0] for o in outcomes] + [None], dtype=object)[:-1]
            gvals = _take(table, codes)
            gvals[broken_pos] = None
            blank_u = np.array([o[1] for o in outcomes])
            n_blank = int(np.sum(_take(blank_u, codes) & keep & ~broken_pos))
            rec_u = np.array([o[2] is not None for o in outcomes])
            flagged = np.flatnonzero(_take(rec_u, codes) & keep & ~broken_pos)
            cells = raw[group_col].iloc[flagged].tolist()
            for pos, v in zip(flagged.tolist(), cells):
                _, _, reason, is_problem = outcomes[int(codes[pos])]
                group_record(pos, v, reason, is_problem)
        if n_blank:
            warn_msgs.append(f"{n_blank} case(s) have an empty {group_col!r} cell and are left "
                             "out of the group comparisons")
        # order: reference first, then declared order, then order of appearance
        order = list(dict.fromkeys(labels.values())) if labels else []
        for g in pd.unique(gvals).tolist():      # order of first appearance
            if g is not None and g not in order:
                order.append(g)
        if gspec.reference is not None and gspec.reference in order:
            order.remove(gspec.reference)
            order.insert(0, gspec.reference)
        group_labels = order
        if not labels:
            kept_vals = gvals[keep]
            counts0 = pd.Series(kept_vals[pd.notna(kept_vals)], dtype=object).value_counts()
            for dup in near_duplicate_groups([g for g in order if counts0.get(g, 0) > 0]):
                listed = ", ".join(f"{g!r} ({int(counts0.get(g, 0))})" for g in dup)
                group_probs.append(CellProblem(
                    file, "all rows", group_col, dup[0],
                    f"group values that look like one group spelled differently: {listed}; "
                    f"map the codes to groups with `labels` in the study file (group: "
                    f"{{column: {group_col}, labels: {{...}}}})"))

    # 6. assemble the cleaned frame (without dropped cases): the items as one float64 block
    n_keep = int(keep.sum())
    if n_keep < len(raw):
        block = block[:, keep]
    if as_int and n_keep:
        index = pd.Index(np.array([v for v, k in zip(id_vals, keep) if k], dtype=np.int64),
                         name=study.id)
    else:
        index = pd.Index([v for v, k in zip(id_vals, keep) if k], name=study.id, dtype=object)
    del id_vals
    frame = pd.DataFrame(block.T, index=index, columns=pd.Index(item_cols),
                         copy=False)
    del block
    if group_col is not None:
        frame[group_col] = pd.Series(gvals[keep], index=index, dtype=object)

    # 7. structural checks (always stop): constant / empty items, group sizes
    fatal: list[CellProblem] = []
    for col in study.item_columns():
        vals = frame[col].dropna()
        if len(vals) == 0:
            fatal.append(CellProblem(file, "all rows", col, None,
                                     "item has no valid responses"))
        elif vals.nunique() == 1:
            fatal.append(CellProblem(file, "all rows", col, _fmt_value(vals.iloc[0]),
                                     f"constant item: every valid response is {_fmt_value(vals.iloc[0])}"))
    if group_col is not None:
        counts = frame[group_col].value_counts(dropna=True)
        present = [g for g in group_labels if counts.get(g, 0) > 0]
        if len(present) < 2:
            group_probs.append(CellProblem(
                file, "all rows", group_col, present[0] if present else None,
                f"fewer than two groups ({len(present)}) in the group column"))
        no_labels = not (study.group.labels or value_labels.get(group_col))
        for g in present:
            if counts[g] < study.group.min_size:
                group_probs.append(CellProblem(
                    file, "all rows", group_col, g,
                    f"group {g!r} has only {int(counts[g])} case(s), fewer than min_size "
                    f"{study.group.min_size}" + ("; if it is a misspelt or stray code, map the "
                                                 "codes to groups with `labels` in the study file"
                                                 if no_labels else "")))
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
            (" (if these are missing-value codes, list them under missing_codes in the study file; "
             "or use on_invalid: set_missing to set invalid cells missing)"
             if "non-numeric" in problems else
             " (use on_invalid: set_missing to set invalid cells missing instead)")
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
            group_col = None
            group_labels = []
    for m in warn_msgs:
        warnings.warn(f"{file}: {m}", PsychometricsWarning, stacklevel=3)

    rest = [c for c in raw.columns if c not in set(needed)]
    other = raw[rest][keep].copy()
    other.index = frame.index
    ds = Dataset(data=frame, study=study, file=file, group_column=group_col,
                 group_labels=group_labels, changes=changes, dropped=dropped, warnings=warn_msgs,
                 other=other, notes=notes, encoding=enc.get("encoding"))
    return ds
