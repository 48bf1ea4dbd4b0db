"""``psychometrics init DATA --out study.yaml``: propose a study file from a data file.

:func:`propose_study` reads the data file (CSV, XLSX or SPSS .sav with its value labels, via
:func:`psychometrics.io.read_data`) and proposes

* the **instruments**: columns whose names end in a number are grouped by the text before it
  (``wai_1 ... wai_12`` -> prefix ``wai_``); each group with three or more columns is an
  instrument.  Its response range is the smallest and largest answer that is not a missing
  code.  A built-in instrument (``wai_sr``, ``csq8``, ...) or an instrument file found next to
  the data (or in ``scale_dirs``) is used when its number of items equals the group's and its
  response range holds the observed answers (ties broken by an equal range, then by the name);
  otherwise a new instrument file (all items in one factor, none reverse keyed -- to be
  checked) is proposed;
* the **id column** (a column named like id/code/case/... whose values are unique, else the
  first column with a unique value per row) and the **group column** (named like
  gender/sex/group/..., two to six values, else a column with exactly two values), with the
  .sav file's value labels as group labels and the largest group as reference;
* the **missing codes**: values such as -9, -99, 99, 999 that lie outside the response range
  of the items they occur in, and texts such as ``NA``, ``N/A``, ``.`` in numeric item
  columns (SPSS user-missing values need no code: the .sav file declares them);
* ``missing: fiml`` when any item answer is missing (else ``listwise``), ``estimator: MLR``
  (robust to the non-normality of Likert items), a seed.

:func:`write_study` writes the proposal as a commented YAML study file (every guess is marked
``CHECK``) plus any new instrument files, never over an existing file unless asked.  The study
file is validated by loading it (:func:`psychometrics.scales.load_study`) before it is
reported as written.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .errors import PsychometricsError, StudyError
from .io import normalize_text, read_data, to_number

__all__ = ["propose_study", "write_study", "init_study", "StudyProposal", "ProposedInstrument"]

#: numeric values commonly used as missing-value codes; one is proposed as a code only when
#: it lies outside the response range of the item columns it occurs in
CODE_CANDIDATES = (-1, -7, -8, -9, -77, -88, -97, -98, -99, -999, 9, 77, 88, 97, 98, 99, 999, 9999)
#: texts commonly used for a missing answer (compared case-insensitively)
TEXT_CODES = ("NA", "N/A", "NaN", ".", "-", "?", "missing", "#NULL!", "NULL", "na", "n/a")
_ID_RE = re.compile(r"^(id|code|case|caseid|case_id|subject|participant|respondent|record|"
                    r"kod|کد|شناسه|ردیف|شماره)$", re.IGNORECASE)
_GROUP_RE = re.compile(r"^(gender|sex|group|grp|condition|arm|جنسیت|جنس|گروه)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_NAME_RE = re.compile(r"[^0-9A-Za-z_]+")


@dataclass
class ProposedInstrument:
    """One proposed instrument: ``prefix``, ``columns`` (item id -> column, in order),
    ``kind`` (``"builtin"``, ``"file"`` or ``"new"``), ``scale`` (built-in id) or ``file``
    (path of the instrument file), the observed response range ``lo``-``hi``, ``note``
    (why it was chosen) and, for a new instrument, its YAML ``definition``."""

    prefix: str
    columns: dict
    kind: str
    lo: float | None
    hi: float | None
    scale: str | None = None
    file: Path | None = None
    note: str = ""
    definition: dict | None = None


@dataclass
class StudyProposal:
    """What :func:`propose_study` found; :func:`write_study` writes it."""

    data_path: Path
    n_rows: int
    id_column: str
    id_note: str
    group_column: str | None
    group_counts: dict
    group_labels: dict
    reference: str | None
    group_note: str
    missing_codes: list
    code_counts: dict
    instruments: list
    n_missing: int
    seed: int
    sheet: Any = None
    unused_columns: list = field(default_factory=list)
    notes: list = field(default_factory=list)


# --------------------------------------------------------------------------- detection

def _num(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return to_number(v)


def _is_text_code(v: Any) -> bool:
    return isinstance(v, str) and v.strip().lower() in {t.lower() for t in TEXT_CODES}


def _column_values(series: pd.Series):
    """(numbers, text codes, other texts, n missing) of one column."""
    nums, codes, other, n_missing = [], [], [], 0
    for v in series.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            n_missing += 1
            continue
        n = _num(v)
        if n is not None:
            nums.append(n)
        elif _is_text_code(v):
            codes.append(v.strip())
        else:
            other.append(v)
    return nums, codes, other, n_missing


def _numbered_groups(columns: list) -> dict:
    groups: dict = {}
    for c in columns:
        m = _NUMBERED.match(str(c))
        if m and m.group(1) and not m.group(1)[-1].isdigit():
            groups.setdefault(m.group(1), []).append((int(m.group(2)), str(c)))
    return {p: sorted(v) for p, v in groups.items() if len(v) >= 3}


def _stem(prefix: str) -> str:
    s = _NAME_RE.sub("_", normalize_text(prefix)).strip("_").lower()
    if not s or not s[0].isalpha():
        s = f"scale_{s}" if s else "scale"
    return s


def _name_score(prefix: str, *names: str) -> int:
    p = re.sub(r"[^a-z0-9]", "", prefix.lower())
    for n in names:
        n = re.sub(r"[^a-z0-9]", "", str(n).lower())
        if p and n and (p in n or n in p or n.startswith(p[:3])):
            return 1
    return 0


def _local_instruments(dirs: list) -> list:
    """(path, Instrument) of every instrument YAML file in ``dirs`` (others are skipped)."""
    from .scales import instrument_from_dict

    out = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.y*ml")):
            try:
                doc = yaml.safe_load(f.read_text(encoding="utf-8"))
                if not isinstance(doc, dict) or "items" not in doc:
                    continue
                out.append((f.resolve(), instrument_from_dict(doc, source=str(f))))
            except (StudyError, yaml.YAMLError, OSError, UnicodeDecodeError):
                continue
    return out


def _fits(inst, k: int, lo: float, hi: float) -> bool:
    if inst.n_items != k:
        return False
    if inst.min is None or inst.max is None:
        return True
    return inst.min <= lo and hi <= inst.max


def propose_study(data: str | Path, *, sheet: Any = None, scale_dirs: tuple = (),
                  seed: int | None = None) -> StudyProposal:
    """Read ``data`` and propose a study (see the module docstring).  Returns a
    :class:`StudyProposal`; raises :class:`~psychometrics.errors.DataError` for an unreadable
    file and :class:`~psychometrics.errors.PsychometricsError` when no instrument or no id
    column can be found."""
    from .scales import builtin_instruments

    path = Path(data)
    df = read_data(path, sheet=sheet)
    file = path.name
    notes: list = []
    n = len(df)
    cols = [str(c) for c in df.columns]
    value_labels = df.attrs.get("value_labels") or {}
    user_missing = df.attrs.get("user_missing") or {}

    groups = _numbered_groups(cols)
    info = {c: _column_values(df[c]) for c in cols}
    item_groups = {}
    for prefix, members in groups.items():
        names = [c for _, c in members]
        if any(info[c][2] for c in names):      # real text in a column: not an item group
            bad = next(c for c in names if info[c][2])
            notes.append(f"columns {prefix}* hold text (e.g. {bad}: {info[bad][2][0]!r}); "
                         "not proposed as an instrument")
            continue
        nums = [v for c in names for v in info[c][0]]
        if not nums:
            continue
        item_groups[prefix] = members
    if not item_groups:
        raise PsychometricsError(f"{file}: no instrument found: item columns are expected to be "
                                 "numbered with a common prefix (wai_1, wai_2, ...), at least 3 of them")

    # missing codes: candidates outside the response range of the items they occur in
    code_counts: dict = {}
    in_range_somewhere: set = set()
    ranges: dict = {}
    for prefix, members in item_groups.items():
        names = [c for _, c in members]
        um = [(lo_, hi_) for c in names for lo_, hi_ in user_missing.get(c, ())]
        vals = [v for c in names for v in info[c][0]
                if not any(lo_ <= v <= hi_ for lo_, hi_ in um)]
        regular = [v for v in vals if v not in CODE_CANDIDATES]
        if not regular:
            regular = vals
        lo, hi = min(regular), max(regular)
        for v in sorted(set(vals) & set(CODE_CANDIDATES)):
            if v < lo or v > hi + 1:
                code_counts[v] = code_counts.get(v, 0) + sum(1 for x in vals if x == v)
            else:
                in_range_somewhere.add(v)
        ranges[prefix] = (lo, hi)
        for c in names:
            for t in info[c][1]:
                code_counts[t] = code_counts.get(t, 0) + 1
    for v in list(code_counts):
        if v in in_range_somewhere:
            notes.append(f"{v:g} is a missing code in some instruments but a valid answer in "
                         "others; it is not listed as a missing code (CHECK)")
            del code_counts[v]
    codes = sorted((c for c in code_counts if not isinstance(c, str)), key=lambda v: (v > 0, abs(v))) \
        + sorted(c for c in code_counts if isinstance(c, str))
    final = {c: (int(c) if isinstance(c, float) and c == int(c) else c) for c in codes}
    codes = list(final.values())
    code_counts = {final[c]: code_counts[c] for c in final}

    # instruments
    builtins = builtin_instruments()
    local = _local_instruments([path.resolve().parent, *scale_dirs])
    instruments = []
    used_files: set = set()
    for prefix, members in item_groups.items():
        names = [c for _, c in members]
        k = len(names)
        lo, hi = ranges[prefix]
        whole = all(float(v).is_integer() for c in names for v in info[c][0] if v not in code_counts)
        cands = []
        for iid, inst in builtins.items():
            if _fits(inst, k, lo, hi):
                exact = inst.min == lo and inst.max == hi
                cands.append((2 * exact + _name_score(prefix, iid, inst.name), "builtin", iid, None, inst))
        for f, inst in local:
            if f in used_files or not _fits(inst, k, lo, hi):
                continue
            exact = inst.min == lo and inst.max == hi
            cands.append((2 * exact + _name_score(prefix, f.stem, inst.id), "file", inst.id, f, inst))
        cands.sort(key=lambda c: -c[0])
        rng = f"{lo:g}-{hi:g}"
        if cands and (len(cands) == 1 or cands[0][0] > cands[1][0] or cands[0][0] >= 2):
            score, kind, iid, f, inst = cands[0]
            ids = inst.item_ids
            note = (f"{'built in' if kind == 'builtin' else 'instrument file'}: {inst.name}; "
                    f"{k} items {names[0]}..{names[-1]}, answers {rng}"
                    + (f" (the instrument allows {inst.min:g}-{inst.max:g}; CHECK)"
                       if (inst.min, inst.max) != (lo, hi) and inst.min is not None else ""))
            if len(cands) > 1:
                note += "; also fits: " + ", ".join(str(c[2]) for c in cands[1:]) + " (CHECK)"
            if f is not None:
                used_files.add(f)
            instruments.append(ProposedInstrument(prefix, dict(zip(ids, names)), kind, lo, hi,
                                                  scale=iid if kind == "builtin" else None,
                                                  file=f, note=note))
        else:
            stem = _stem(prefix)
            ids = [str(num) for num, _ in members]
            definition = {"id": stem, "name": f"{stem} (CHECK: the instrument's name)",
                          "items": [{"id": i, "reverse": False} for i in ids]}
            if whole:
                definition["response"] = {"min": int(lo) if float(lo).is_integer() else lo,
                                          "max": int(hi) if float(hi).is_integer() else hi}
            note = (f"new instrument: {k} items {names[0]}..{names[-1]}, answers {rng}; CHECK "
                    "its name, subscales and reverse-keyed items in the instrument file")
            if cands:
                note += "; several instruments fit: " + ", ".join(str(c[2]) for c in cands)
            instruments.append(ProposedInstrument(prefix, dict(zip(ids, names)), "new", lo, hi,
                                                  file=Path(f"{stem}.yaml"), note=note,
                                                  definition=definition))

    item_cols = {c for p in item_groups for _, c in item_groups[p]}
    others = [c for c in cols if c not in item_cols]

    # id column
    def unique(c):
        s = df[c]
        return s.notna().all() and s.astype(str).nunique() == n
    named = [c for c in others if _ID_RE.match(normalize_text(c).replace(" ", "_")) and unique(c)]
    if named:
        id_col, id_note = named[0], f"unique for all {n} rows"
    else:
        anyu = [c for c in others if unique(c)]
        if not anyu:
            raise PsychometricsError(f"{file}: no column has a different value in every row; add an "
                                     "id column (a case number) to the data")
        id_col, id_note = anyu[0], f"CHECK: the first column with a unique value in all {n} rows"

    # group column
    def levels(c):
        s = df[c].dropna()
        s = s[~s.map(lambda v: v in code_counts or _is_text_code(v))]
        vc = s.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).value_counts()
        order = sorted(vc.index, key=lambda k: (to_number(k) is None, to_number(k) or 0, k))
        return vc.reindex(order)
    gcol, gnote, counts = None, "", {}
    cands = [c for c in others if c != id_col and _GROUP_RE.match(normalize_text(c))
             and 2 <= len(levels(c)) <= 6]
    if cands:
        gcol = cands[0]
        gnote = "CHECK the group labels"
    else:
        two = [c for c in others if c != id_col and len(levels(c)) == 2]
        if two:
            gcol = two[0]
            gnote = "CHECK: a column with two values, taken as the group column"
    labels: dict = {}
    reference = None
    if gcol is not None:
        vc = levels(gcol)
        counts = {k: int(v) for k, v in vc.items()}
        vl = value_labels.get(gcol) or {}
        if vl:
            labels = {k: str(vl.get(k, k)) for k in counts}
            gnote = "labels from the file's value labels"
        big = max(counts, key=counts.get)
        reference = labels.get(big, big)
    else:
        notes.append("no group column found: measurement invariance will not be tested")

    n_missing = int(sum(info[c][3] for c in item_cols)) + sum(
        count for c, count in code_counts.items())
    unused = [c for c in others if c not in (id_col, gcol)]
    return StudyProposal(
        data_path=path.resolve(), n_rows=n, id_column=id_col, id_note=id_note, group_column=gcol,
        group_counts=counts, group_labels=labels, reference=reference, group_note=gnote,
        missing_codes=codes, code_counts=code_counts, instruments=instruments,
        n_missing=n_missing, seed=int(seed) if seed is not None else secrets.randbelow(10 ** 8),
        sheet=sheet, unused_columns=unused, notes=notes)


# --------------------------------------------------------------------------- writing

def _y(value: Any) -> str:
    """One YAML value in flow style (quoted when needed)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10 ** 6)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[:-4].strip()
    if text.endswith("..."):
        text = text[:-3].strip()
    return text


def _line(key: str, value: Any, comment: str = "", indent: int = 0) -> str:
    s = " " * indent + f"{key}: {_y(value)}"
    if comment:
        s = f"{s:<40s} # {comment}"
    return s


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:   # another drive (Windows)
        return str(path)


def study_text(p: StudyProposal, study_path: Path) -> str:
    """The commented YAML study file of a proposal (paths relative to ``study_path``)."""
    base = Path(study_path).resolve().parent
    from . import __version__
    lines = [f"# Study file proposed by `psychometrics init` (psychometrics {__version__}) from "
             f"{p.data_path.name}.",
             "# Check every line marked CHECK, then run:",
             f"#   psychometrics validate {Path(study_path).name} --out report",
             _line("title", f"Validation study ({p.data_path.stem})", "CHECK: your study's title")]
    data = _rel(p.data_path, base)
    if p.sheet is not None:
        lines.append("data:")
        lines.append(_line("file", data, f"{p.n_rows} rows", 2))
        lines.append(_line("sheet", p.sheet, "", 2))
    else:
        lines.append(_line("data", data, f"{p.n_rows} rows"))
    lines.append(_line("id", p.id_column, p.id_note))
    if p.group_column is not None:
        sizes = ", ".join(f"{k}: {v}" for k, v in p.group_counts.items())
        lines.append(f"{'group:':<40s} # {len(p.group_counts)} groups ({sizes})")
        lines.append(_line("column", p.group_column, p.group_note, 2))
        if p.group_labels:
            lab = {(int(k) if re.fullmatch(r"-?\d+", k) else k): v for k, v in p.group_labels.items()}
            lines.append(_line("labels", lab, "", 2))
        else:
            lines.append("  # labels: {" + ", ".join(f"{k}: ..." for k in p.group_counts)
                         + "}   # CHECK: name the groups (e.g. 1: female)")
        lines.append(_line("reference", p.reference, "the largest group; CHECK", 2))
    else:
        lines.append("# group: {column: ..., labels: {...}}   # no group column found (CHECK)")
    if p.missing_codes:
        found = "; ".join(f"{c!s} in {p.code_counts.get(c, 0)} cell(s)" for c in p.missing_codes)
        lines.append(_line("missing_codes", p.missing_codes, f"found in the item columns: {found}"))
    else:
        lines.append(_line("missing_codes", [], "none found; blank cells (and NA) are missing"))
    lines.append(_line("on_invalid", "stop", "or set_missing: invalid cells become missing, each recorded"))
    lines.append(_line("language", "en", "or fa"))
    lines.append(_line("seed", p.seed, "reproduces the random parts (bootstrap, parallel analysis)"))
    lines.append(_line("estimator", "MLR", "robust to non-normal (Likert) items; or ML"))
    if p.n_missing:
        lines.append(_line("missing", "fiml", f"{p.n_missing} item answer(s) missing; or listwise"))
    else:
        lines.append(_line("missing", "listwise", "no item answer is missing"))
    lines.append("instruments:")
    for inst in p.instruments:
        ids = list(inst.columns)
        as_prefix = all(inst.columns[i] == f"{inst.prefix}{i}" for i in ids)
        if inst.kind == "builtin":
            lines.append(_line("- scale", inst.scale, inst.note, 2))
        else:
            lines.append(_line("- file", _rel(Path(inst.file) if Path(inst.file).is_absolute()
                                              else base / inst.file, base), inst.note, 2))
        if as_prefix:
            lines.append(_line("prefix", inst.prefix, "", 4))
        else:
            lines.append(_line("columns", {i: inst.columns[i] for i in ids}, "", 4))
        if inst.lo is not None and inst.hi is not None and float(inst.hi) - float(inst.lo) < 4:
            # fewer than five response options: the ordinal (WLSMV) analyses, decided per data
            lines.append(_line("ordered", "auto", "fewer than five categories: ordinal (WLSMV)", 4))
    lines.append("# structural: {model: \"...\"}          # optional: a structural model in lavaan syntax")
    lines.append("options:")
    lines.append(_line("bootstrap", 1000, "bootstrap draws for the HTMT and indirect-effect CIs", 2))
    lines.append(_line("split_half", False, "true: EFA on one random half, CFA on the other", 2))
    if p.unused_columns:
        lines.append("# Columns not used: " + ", ".join(p.unused_columns))
    for note in p.notes:
        lines.append(f"# NOTE: {note}")
    return "\n".join(lines) + "\n"


def _instrument_text(inst: ProposedInstrument) -> str:
    d = dict(inst.definition)
    head = (f"# Instrument proposed by `psychometrics init` for the columns {inst.prefix}*.\n"
            "# CHECK: the name, the citation, subscales (see scales/README.md), and mark\n"
            "# reverse-keyed items with `reverse: true`.\n")
    return head + yaml.safe_dump(d, allow_unicode=True, sort_keys=False)


def write_study(p: StudyProposal, out: str | Path, *, overwrite: bool = False) -> list:
    """Write the study file ``out`` (and new instrument files next to it); return the written
    paths.  Refuses to overwrite an existing file (or the data file) unless ``overwrite``;
    the written study file is checked by loading it."""
    from .scales import load_study

    out = Path(out)
    if out.resolve() == p.data_path:
        raise PsychometricsError(f"{out}: that is the data file; choose another name for the study file")
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise PsychometricsError(f"{out}: the study file should end in .yaml")
    if out.exists() and not overwrite:
        raise PsychometricsError(f"{out} exists; use --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for inst in p.instruments:
        if inst.kind == "new":
            f = out.parent / inst.file
            if f.exists() and not overwrite:
                inst.note += f" ({f.name} exists and was kept)"
                continue
            f.write_text(_instrument_text(inst), encoding="utf-8")
            written.append(f)
    out.write_text(study_text(p, out), encoding="utf-8")
    written.insert(0, out)
    load_study(out)     # the file it wrote must be a valid study
    return written


def init_study(data: str | Path, out: str | Path, *, sheet: Any = None, seed: int | None = None,
               scale_dirs: tuple = (), overwrite: bool = False) -> tuple[StudyProposal, list]:
    """:func:`propose_study` then :func:`write_study`; returns (proposal, written paths)."""
    p = propose_study(data, sheet=sheet, scale_dirs=scale_dirs, seed=seed)
    return p, write_study(p, out, overwrite=overwrite)


def main(args) -> int:
    """The ``psychometrics init`` command (called by :mod:`psychometrics.cli`)."""
    sheet = args.sheet
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)
    p, written = init_study(args.data, args.out, sheet=sheet, seed=args.seed,
                            scale_dirs=tuple(args.scales or ()), overwrite=args.force)
    print(f"Study file written: {written[0]}")
    for f in written[1:]:
        print(f"  new instrument file (CHECK it): {f}")
    for inst in p.instruments:
        print(f"  {inst.prefix}*: {inst.note}")
    print(f"  id: {p.id_column}; group: {p.group_column or 'none'}; missing codes: "
          f"{', '.join(map(str, p.missing_codes)) or 'none'}")
    print(f"Check the lines marked CHECK, then: psychometrics validate {written[0]} --out report")
    return 0
