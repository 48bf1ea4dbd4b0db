"""Instrument definitions (``scales/*.yaml``) and the study file.

An *instrument* is one questionnaire: its items, their subscales and keying,
the response range and the scoring rule.  A *study* names the data file, the
id and group columns, the instruments and which data columns hold their items,
missing-value codes and estimator options.  Both are YAML files checked
against a schema here: every mistake raises :class:`~psychometrics.errors.StudyError`
with a message naming the file, the entry and the offending value.

Instrument file (canonical keys; aliases in brackets are accepted so that
files written by :mod:`psychometrics.simulate` load as well)::

    id: wai_sr                       # [name, when `title` gives the display name]
    name: Working Alliance Inventory - Short Revised      # [title]
    name_fa: ...                     # optional translated names: name_<lang> [title_<lang>]
    citation: Hatcher & Gillaspy (2006) ...
    response: {min: 1, max: 5, labels: {1: Seldom, 5: Always}}   # [response_scale]
    scoring: sum                     # sum | mean
    max_missing_share: 0.25          # largest share of a (sub)scale's items that may be prorated
    total: true                      # report a total score over all items (when >1 subscale)
    subscales: [goal, task, bond]    # or {goal: {en: Goal, fa: ...}, ...}  [factors: {goal: [ids]}]
    subscale_labels: {goal: {en: Goal}}                   # [factor_labels]
    items:
      - {id: "4", subscale: goal, reverse: false, text: {en: "...", fa: "..."}}
      # item text may also be given as `text: "..."` (English) plus `fa: "..."`

Study file: see :func:`load_study`.
"""
from __future__ import annotations

import copy
import difflib
import importlib.resources
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from ._results import jsonable
from ._text import file_problem, is_name, normalize_lines, normalize_text, to_number
from .errors import ModelSyntaxError, StudyError

__all__ = ["Item", "Instrument", "load_instrument", "builtin_instruments", "GroupSpec",
           "StudyInstrument", "Study", "load_study", "KNOWN_OPTIONS"]

_LANG_RE = re.compile(r"^[a-z]{2}$")

#: largest study or instrument file read (bytes) and largest number of YAML nodes after
#: aliases are expanded (an "alias bomb" of a few hundred bytes expands to billions)
MAX_YAML_BYTES = 1_000_000
MAX_YAML_NODES = 200_000


# --------------------------------------------------------------------------- helpers

def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _key_str(value: Any) -> str:
    """A YAML key or item id as text: 1 -> "1", 1.0 -> "1", " 2 " -> "2"."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return normalize_text(str(value))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping (PyYAML keeps
    the last one silently) -- ``data:`` twice in a study file is a mistake, not a choice."""


def _construct_mapping(loader, node, deep=False):
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key",
                key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice (first on line {seen[key] + 1}); "
                "remove one of them", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _expanded_size(node, memo: dict, active: set) -> int:
    """Number of nodes of the document with every alias expanded (memoised, so the cost is
    linear in the file); raises ValueError on a recursive alias."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise ValueError("a recursive alias (a node that contains itself)")
    active.add(key)
    if isinstance(node, yaml.SequenceNode):
        n = 1 + sum(_expanded_size(c, memo, active) for c in node.value)
    elif isinstance(node, yaml.MappingNode):
        n = 1 + sum(_expanded_size(k, memo, active) + _expanded_size(v, memo, active)
                    for k, v in node.value)
    else:
        n = 1
    active.discard(key)
    memo[key] = n
    return n


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely: duplicate keys, recursive aliases and documents that
    expand to more than :data:`MAX_YAML_NODES` nodes raise :class:`StudyError` naming
    ``source`` (the line, never the file's content)."""
    if len(text) > MAX_YAML_BYTES:
        raise StudyError(f"{source}: the file is larger than {MAX_YAML_BYTES:,} characters; "
                         "a study or instrument file is a short text")
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            size = _expanded_size(node, {}, set())
        except ValueError as exc:
            raise StudyError(f"{source}: invalid YAML: {exc}") from None
        except RecursionError:
            raise StudyError(f"{source}: invalid YAML: nested too deeply") from None
        if size > MAX_YAML_NODES:
            raise StudyError(f"{source}: the YAML expands to {size:,} values through aliases "
                             f"(limit {MAX_YAML_NODES:,}); write the values out instead of "
                             "repeating aliases")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise StudyError(f"{source}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise StudyError(f"{source}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def _read_yaml(path: Path, what: str) -> Any:
    problem = file_problem(path, MAX_YAML_BYTES)
    if problem:
        raise StudyError(f"{what} file {path}: {problem}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise StudyError(f"{what} file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise StudyError(f"{path}: {what} file is not UTF-8 text (byte {exc.start}); "
                         "save it as UTF-8") from None
    except OSError as exc:
        raise StudyError(f"{path}: cannot read {what} file ({exc.strerror})") from None
    return parse_yaml(text, str(path))


def _check_keys(where: str, mapping: Mapping, allowed: Iterable[str], extra_ok=None) -> None:
    allowed = set(allowed)
    for key in mapping:
        k = str(key)
        if k in allowed or (extra_ok is not None and extra_ok(k)):
            continue
        raise StudyError(f"{where}: unknown key {k!r}{_suggest(k, allowed)}; "
                         f"allowed keys: {', '.join(sorted(allowed))}")


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            out = to_number(value)
        except Exception:  # pragma: no cover - defensive
            out = None
        if out is None:
            raise StudyError(f"{where}: expected a number, got {value!r}")
        return out
    if not math.isfinite(value):
        raise StudyError(f"{where}: expected a finite number, got {value!r}")
    return value


# --------------------------------------------------------------------------- instruments

@dataclass
class Item:
    """One item: its id (text), subscale (None when the instrument has none),
    reverse-keying flag and optional item text per language (``{"en": ..., "fa": ...}``)."""

    id: str
    subscale: str | None = None
    reverse: bool = False
    text: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"id": self.id, "subscale": self.subscale, "reverse": self.reverse,
                "text": dict(self.text)}


@dataclass
class Instrument:
    """A questionnaire definition, as read from ``scales/<id>.yaml``.

    ``min``/``max`` is the response range (None when not declared; then values
    are not range-checked and no item may be reverse keyed), ``integer`` whether
    responses must be whole numbers (a Likert scale: true by default when min and max
    are whole numbers; ``response: {..., integer: false}`` allows e.g. 2.5), ``labels`` the
    response labels ``{value: label}``, ``items`` the :class:`Item` list in
    questionnaire order, ``subscales`` the subscale names in order,
    ``scoring`` ``"sum"`` or ``"mean"`` and ``max_missing_share`` the largest
    share of a (sub)scale's items that may be missing for the score to be
    prorated (see :func:`psychometrics.scoring.score`).
    """

    id: str
    name: str
    citation: str = ""
    min: float | None = None
    max: float | None = None
    labels: dict = field(default_factory=dict)
    items: list = field(default_factory=list)
    subscales: list = field(default_factory=list)
    scoring: str = "sum"
    max_missing_share: float = 0.0
    total: bool = True
    names: dict = field(default_factory=dict)            # translated names {lang: name}
    subscale_labels: dict = field(default_factory=dict)  # {subscale: {lang: label}}
    source: str | None = None                            # file it was read from
    integer: bool = False                                # responses must be whole numbers
    # the original version's published solution (translation studies; scales/README.md):
    # {"factors": [...], "loadings": {item id: [loading per factor or None]}, "phi": [[...]]
    #  or None, "citation": str, "method": str}
    original: dict | None = None

    # -- helpers -----------------------------------------------------------------------
    @property
    def item_ids(self) -> list[str]:
        """Item ids in questionnaire order."""
        return [it.id for it in self.items]

    @property
    def reverse_items(self) -> list[str]:
        return [it.id for it in self.items if it.reverse]

    @property
    def n_items(self) -> int:
        return len(self.items)

    def item(self, item_id: Any) -> Item:
        key = _key_str(item_id)
        for it in self.items:
            if it.id == key:
                return it
        raise StudyError(f"instrument {self.id!r} has no item {key!r}"
                         f"{_suggest(key, self.item_ids)}")

    def subscale_items(self, name: str) -> list[str]:
        """Ids of the items of subscale ``name`` in questionnaire order."""
        if name not in self.subscales:
            raise StudyError(f"instrument {self.id!r} has no subscale {name!r}"
                             f"{_suggest(name, self.subscales)}; subscales: {self.subscales}")
        return [it.id for it in self.items if it.subscale == name]

    def factors(self) -> dict[str, list[str]]:
        """``{factor name: [item ids]}`` of the hypothesised structure: one factor per
        subscale, or one factor named after the instrument when it has no subscales."""
        if self.subscales:
            return {s: self.subscale_items(s) for s in self.subscales}
        return {self.id: self.item_ids}

    def score_names(self) -> list[str]:
        """Names of the scores :func:`psychometrics.scoring.score` returns."""
        if not self.subscales:
            return ["total"]
        if len(self.subscales) == 1:
            return list(self.subscales)
        return list(self.subscales) + (["total"] if self.total else [])

    def label(self, language: str = "en") -> str:
        return self.names.get(language) or self.name

    def subscale_label(self, name: str, language: str = "en") -> str:
        labels = self.subscale_labels.get(name, {})
        return labels.get(language) or labels.get("en") or name

    def columns_for(self, columns: Mapping | str | None = None) -> dict[str, str]:
        """Item id -> data column: from a mapping, a prefix string, or the item ids."""
        if columns is None:
            return {i: i for i in self.item_ids}
        if isinstance(columns, str):
            return {i: f"{columns}{i}" for i in self.item_ids}
        mapping = {_key_str(k): str(v) for k, v in dict(columns).items()}
        unknown = [k for k in mapping if k not in self.item_ids]
        if unknown:
            raise StudyError(f"instrument {self.id!r}: column mapping names unknown item(s) "
                             f"{unknown}; items are {self.item_ids}")
        missing = [i for i in self.item_ids if i not in mapping]
        if missing:
            raise StudyError(f"instrument {self.id!r}: no data column given for item(s) {missing}")
        return {i: mapping[i] for i in self.item_ids}

    def cfa_syntax(self, columns: Mapping | str | None = None) -> str:
        """lavaan model syntax of the hypothesised structure, one line per factor
        (``goal =~ wai_4 + wai_6 + wai_8 + wai_11``), using the data column names
        (``columns``: item id -> column mapping, or a prefix; default the item ids)."""
        cols = self.columns_for(columns)
        return "\n".join(f"{f} =~ " + " + ".join(cols[i] for i in ids)
                         for f, ids in self.factors().items())

    def to_dict(self) -> dict:
        return jsonable({
            "id": self.id, "name": self.name, "names": self.names, "citation": self.citation,
            "min": self.min, "max": self.max, "labels": {str(k): v for k, v in self.labels.items()},
            "items": [it.to_dict() for it in self.items], "subscales": list(self.subscales),
            "subscale_labels": self.subscale_labels, "scoring": self.scoring,
            "max_missing_share": self.max_missing_share, "total": self.total,
            "integer": self.integer,
            "original": self.original,
        })


_INSTRUMENT_KEYS = {"id", "name", "title", "citation", "response", "response_scale", "scoring",
                    "max_missing_share", "total", "subscales", "factors", "subscale_labels",
                    "factor_labels", "items", "description", "notes", "version", "license",
                    "original"}
_ITEM_KEYS = {"id", "subscale", "factor", "reverse", "text"}
_RESPONSE_KEYS = {"min", "max", "labels", "integer"}


def _lang_key(prefix: str):
    def ok(key: str) -> bool:
        return key.startswith(prefix) and bool(_LANG_RE.match(key[len(prefix):]))
    return ok


def instrument_from_dict(doc: Any, source: str = "<instrument>") -> Instrument:
    """Build and check an :class:`Instrument` from parsed YAML (``source`` names the
    file in messages).  Raises :class:`StudyError` on unknown keys, duplicate item
    ids, items in undefined subscales, reverse-keyed items without a response range,
    a bad scoring rule or missing-item share."""
    where = source
    if not isinstance(doc, Mapping):
        raise StudyError(f"{where}: an instrument file must be a YAML mapping "
                         f"(id, name, items, ...), got {type(doc).__name__}")
    _check_keys(where, doc, _INSTRUMENT_KEYS,
                extra_ok=lambda k: _lang_key("name_")(k) or _lang_key("title_")(k))

    # id and display name (`name` is the id when `id` is absent and `title` is given)
    if "id" in doc:
        iid = doc["id"]
        display = doc.get("name", doc.get("title"))
    elif "name" in doc and "title" in doc:
        iid, display = doc["name"], doc["title"]
    elif "name" in doc:
        iid = display = doc["name"]
    else:
        raise StudyError(f"{where}: instrument has no `id`")
    if isinstance(iid, str):
        iid = normalize_text(iid)
    if not isinstance(iid, str) or not is_name(iid):
        raise StudyError(f"{where}: instrument id {iid!r} must be a name made of letters, "
                         "digits and '_' (e.g. wai_sr)")
    display = str(display if display is not None else iid)
    names = {}
    for k, v in doc.items():
        k = str(k)
        for pre in ("name_", "title_"):
            if _lang_key(pre)(k):
                names[k[len(pre):]] = str(v)
    where = f"{source} (instrument {iid!r})"

    # response range
    resp = doc.get("response", doc.get("response_scale"))
    if "response" in doc and "response_scale" in doc:
        raise StudyError(f"{where}: give either `response` or `response_scale`, not both")
    lo = hi = None
    labels: dict = {}
    integer = False
    if resp is not None:
        if not isinstance(resp, Mapping):
            raise StudyError(f"{where}: `response` must be a mapping with min, max, labels")
        _check_keys(f"{where}, response", resp, _RESPONSE_KEYS)
        if "min" not in resp or "max" not in resp:
            raise StudyError(f"{where}: `response` needs both `min` and `max`")
        lo = _number(f"{where}, response min", resp["min"])
        hi = _number(f"{where}, response max", resp["max"])
        if not lo < hi:
            raise StudyError(f"{where}: response min ({lo}) must be smaller than max ({hi})")
        raw_labels = resp.get("labels") or {}
        if not isinstance(raw_labels, Mapping):
            raise StudyError(f"{where}: response labels must be a mapping value -> label")
        for k, v in raw_labels.items():
            val = _number(f"{where}, response label key", k)
            if not lo <= val <= hi:
                raise StudyError(f"{where}: response label for {k!r} is outside the range "
                                 f"{lo}-{hi}")
            labels[int(val) if val == int(val) else val] = v if isinstance(v, (str, Mapping)) else str(v)
        lo = int(lo) if lo == int(lo) else lo
        hi = int(hi) if hi == int(hi) else hi
        integer = resp.get("integer", isinstance(lo, int) and isinstance(hi, int))
        if not isinstance(integer, bool):
            raise StudyError(f"{where}: response integer must be true or false, got {integer!r}")
        if integer and not (isinstance(lo, int) and isinstance(hi, int)):
            raise StudyError(f"{where}: response integer: true needs whole-number min and max")

    scoring = doc.get("scoring", "sum")
    if scoring not in ("sum", "mean"):
        raise StudyError(f"{where}: scoring must be 'sum' or 'mean', got {scoring!r}")
    share = doc.get("max_missing_share", 0.0)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
        raise StudyError(f"{where}: max_missing_share must be a number in [0, 1), got {share!r}")
    total = doc.get("total", True)
    if not isinstance(total, bool):
        raise StudyError(f"{where}: total must be true or false, got {total!r}")

    # subscales: list, mapping name -> labels, or `factors` mapping name -> item ids
    subscales: list[str] = []
    sub_labels: dict = {}
    factor_members: dict[str, list[str]] = {}
    if "subscales" in doc and "factors" in doc:
        raise StudyError(f"{where}: give either `subscales` or `factors`, not both")
    raw_subs = doc.get("subscales", doc.get("factors"))
    if raw_subs is not None:
        if isinstance(raw_subs, (list, tuple)):
            entries = [(s, None) for s in raw_subs]
        elif isinstance(raw_subs, Mapping):
            entries = list(raw_subs.items())
        else:
            raise StudyError(f"{where}: subscales must be a list of names or a mapping")
        for name, spec in entries:
            if isinstance(name, str):
                name = normalize_text(name)
            if not isinstance(name, str) or not is_name(name):
                raise StudyError(f"{where}: subscale name {name!r} must be made of letters, "
                                 "digits and '_' (it becomes a factor name in lavaan syntax)")
            if name in subscales:
                raise StudyError(f"{where}: subscale {name!r} defined twice")
            subscales.append(name)
            if isinstance(spec, (list, tuple)):
                factor_members[name] = [_key_str(i) for i in spec]
            elif isinstance(spec, Mapping):
                sub_labels[name] = {str(k): str(v) for k, v in spec.items()}
            elif isinstance(spec, str):
                sub_labels[name] = {"en": spec}
            elif spec is not None:
                raise StudyError(f"{where}: subscale {name!r}: expected a list of item ids or "
                                 f"labels, got {spec!r}")
    if "subscale_labels" in doc and "factor_labels" in doc:
        raise StudyError(f"{where}: give either `subscale_labels` or `factor_labels`, not both")
    raw_sl = doc.get("subscale_labels", doc.get("factor_labels")) or {}
    if not isinstance(raw_sl, Mapping):
        raise StudyError(f"{where}: subscale_labels must be a mapping subscale -> {{lang: label}}")
    for name, lab in raw_sl.items():
        name = normalize_text(name)
        if name not in subscales:
            raise StudyError(f"{where}: label given for undefined subscale {name!r}"
                             f"{_suggest(name, subscales)}")
        sub_labels[name] = ({str(k): str(v) for k, v in lab.items()} if isinstance(lab, Mapping)
                            else {"en": str(lab)})

    # items
    raw_items = doc.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise StudyError(f"{where}: `items` must be a non-empty list of items")
    items: list[Item] = []
    seen: set[str] = set()
    for pos, raw in enumerate(raw_items, start=1):
        if isinstance(raw, (str, int)) and not isinstance(raw, bool):
            raw = {"id": raw}
        if not isinstance(raw, Mapping):
            raise StudyError(f"{where}: item #{pos} must be a mapping (id, subscale, reverse, "
                             f"text), got {raw!r}")
        iw = f"{where}, item #{pos}"
        _check_keys(iw, raw, _ITEM_KEYS, extra_ok=lambda k: bool(_LANG_RE.match(k)))
        if "id" not in raw or raw["id"] is None or _key_str(raw["id"]) == "":
            raise StudyError(f"{iw}: item has no `id`")
        item_id = _key_str(raw["id"])
        iw = f"{where}, item {item_id!r}"
        if item_id in seen:
            raise StudyError(f"{where}: duplicate item id {item_id!r} (item #{pos})")
        seen.add(item_id)
        sub = raw.get("subscale", raw.get("factor"))
        if sub is not None:
            sub = normalize_text(sub)
            if sub not in subscales:
                raise StudyError(f"{iw}: subscale {sub!r} is not defined{_suggest(sub, subscales)}"
                                 f"; defined subscales: {subscales or 'none'}")
        rev = raw.get("reverse", False)
        if not isinstance(rev, bool):
            raise StudyError(f"{iw}: reverse must be true or false, got {rev!r}")
        if rev and (lo is None or hi is None):
            raise StudyError(f"{iw}: item is reverse keyed but the instrument has no response "
                             "range (response: {min: ..., max: ...}) to reverse it with")
        text: dict = {}
        raw_text = raw.get("text")
        if isinstance(raw_text, Mapping):
            text.update({str(k): str(v) for k, v in raw_text.items()})
        elif raw_text is not None:
            text["en"] = str(raw_text)
        for k, v in raw.items():
            if k not in _ITEM_KEYS and _LANG_RE.match(str(k)):
                text[str(k)] = str(v)
        items.append(Item(item_id, sub, rev, text))

    # `factors` membership lists -> item subscales
    for name, members in factor_members.items():
        for m in members:
            if m not in seen:
                raise StudyError(f"{where}: subscale {name!r} lists unknown item {m!r}"
                                 f"{_suggest(m, seen)}")
            it = next(i for i in items if i.id == m)
            if it.subscale is not None and it.subscale != name:
                raise StudyError(f"{where}: item {m!r} is in subscale {it.subscale!r} and "
                                 f"{name!r}")
            it.subscale = name
    if subscales:
        unassigned = [it.id for it in items if it.subscale is None]
        if unassigned:
            raise StudyError(f"{where}: item(s) {unassigned} belong to no subscale "
                             f"(subscales: {subscales})")
        empty = [s for s in subscales if not any(it.subscale == s for it in items)]
        if empty:
            raise StudyError(f"{where}: subscale(s) {empty} have no items")
        clash = [s for s in subscales if s in seen]
        if clash:  # pragma: no cover - ids are rarely names
            raise StudyError(f"{where}: subscale name(s) {clash} equal item ids")

    original = None
    if doc.get("original") is not None:
        original = _original_from_dict(where, doc["original"], [it.id for it in items],
                                       subscales or [iid])
    return Instrument(id=iid, name=display, citation=str(doc.get("citation") or ""),
                      min=lo, max=hi, labels=labels, items=items, subscales=subscales,
                      scoring=scoring, max_missing_share=float(share), total=total,
                      names=names, subscale_labels=sub_labels, source=source, integer=integer,
                      original=original)


_ORIGINAL_KEYS = {"citation", "method", "n_obs", "factors", "loadings", "phi"}


def _original_from_dict(where: str, raw: Any, item_ids: list, default_factors: list) -> dict:
    """Check an instrument's ``original:`` block (the original version's published loadings,
    scales/README.md) and return it as a plain dict."""
    where = f"{where}, original"
    if not isinstance(raw, Mapping):
        raise StudyError(f"{where}: expected a mapping with `loadings` (item id -> one loading "
                         "per factor), optional `factors`, `phi`, `citation`, `method`")
    _check_keys(where, raw, _ORIGINAL_KEYS)
    factors = raw.get("factors", default_factors)
    if not isinstance(factors, list) or not factors or not all(
            isinstance(f, str) and is_name(f) for f in factors) or len(set(factors)) < len(factors):
        raise StudyError(f"{where}: `factors` must be a list of distinct names, got {factors!r}")
    k = len(factors)
    loads = raw.get("loadings")
    if not isinstance(loads, Mapping) or len(loads) < 2:
        raise StudyError(f"{where}: `loadings` must map at least 2 item ids to their loadings")
    out_l: dict = {}
    for key, row in loads.items():
        item = _key_str(key)
        if item not in item_ids:
            raise StudyError(f"{where}: loadings given for unknown item {item!r}"
                             f"{_suggest(item, item_ids)}")
        row = [row] if (k == 1 and not isinstance(row, list)) else row
        if not isinstance(row, list) or len(row) != k:
            raise StudyError(f"{where}, item {item!r}: expected {k} loading(s) (factors "
                             f"{', '.join(factors)}), got {row!r}")
        vals = [None if v is None else _number(f"{where}, item {item!r}", v) for v in row]
        bad = [v for v in vals if v is not None and abs(v) > 1.5]
        if bad:
            raise StudyError(f"{where}, item {item!r}: loading {bad[0]!r} is not a standardised "
                             "loading (|loading| <= 1.5 expected)")
        out_l[item] = vals
    phi = raw.get("phi")
    if phi is not None:
        ok = isinstance(phi, list) and len(phi) == k and all(isinstance(r, list) and len(r) == k
                                                             for r in phi)
        if not ok:
            raise StudyError(f"{where}: `phi` must be a {k} x {k} matrix of factor correlations")
        phi = [[_number(f"{where}, phi", v) for v in r] for r in phi]
        if any(abs(phi[i][i] - 1) > 1e-9 or abs(phi[i][j] - phi[j][i]) > 1e-9 or abs(phi[i][j]) > 1
               for i in range(k) for j in range(k)):
            raise StudyError(f"{where}: `phi` must be symmetric with 1 on the diagonal and "
                             "correlations within -1..1")
    n_obs = raw.get("n_obs")
    if n_obs is not None and (isinstance(n_obs, bool) or not isinstance(n_obs, int) or n_obs < 1):
        raise StudyError(f"{where}: n_obs must be a whole number, got {n_obs!r}")
    return {"factors": list(factors), "loadings": out_l, "phi": phi, "n_obs": n_obs,
            "citation": str(raw.get("citation") or ""), "method": str(raw.get("method") or "")}


def _builtin_dirs() -> list:
    dirs: list = []
    local = Path(__file__).resolve().parent.parent / "scales"
    if local.is_dir():
        dirs.append(local)
    try:
        res = importlib.resources.files("psychometrics.builtin_scales")
        if res.is_dir():
            dirs.append(res)
    except Exception:  # not installed as a package (a source checkout), or no resources
        pass
    return dirs


def _builtin_files() -> dict[str, Any]:
    """Built-in instrument id -> YAML file (the top-level scales/ folder first)."""
    out: dict[str, Any] = {}
    for d in _builtin_dirs():
        try:
            entries = sorted(d.iterdir(), key=lambda p: p.name)
        except (OSError, FileNotFoundError):  # pragma: no cover
            continue
        for f in entries:
            if f.name.endswith((".yaml", ".yml")) and f.is_file():
                out.setdefault(f.name.rsplit(".", 1)[0], f)
    return out


def builtin_instruments() -> dict[str, Instrument]:
    """All built-in instruments, ``{id: Instrument}`` (WAI-SR ``wai_sr``, CSQ-8 ``csq8``)."""
    out = {}
    for key, f in _builtin_files().items():
        inst = instrument_from_dict(parse_yaml(f.read_text(encoding="utf-8"), f.name),
                                    source=f"built-in scale {f.name}")
        out[inst.id] = inst
    return out


def load_instrument(path_or_id: str | Path, base: Path | None = None) -> Instrument:
    """Load an instrument from a YAML file, or a built-in one by id (``"wai_sr"``).

    ``base`` is the folder relative paths are resolved against (the study file's).
    Returns an :class:`Instrument`; raises :class:`StudyError` for an unknown id, a
    missing file or a schema violation."""
    if isinstance(path_or_id, Instrument):
        return path_or_id
    text = str(path_or_id)
    builtins = _builtin_files()
    looks_like_path = isinstance(path_or_id, Path) or text.endswith((".yaml", ".yml")) \
        or "/" in text or "\\" in text
    if not looks_like_path:
        if text in builtins:
            f = builtins[text]
            doc = parse_yaml(f.read_text(encoding="utf-8"), f.name)
            return instrument_from_dict(doc, source=f"built-in scale {f.name}")
        raise StudyError(f"unknown instrument {text!r}{_suggest(text, builtins)}; built-in "
                         f"instruments: {', '.join(sorted(builtins)) or 'none'} (or give a "
                         "YAML file)")
    path = Path(text)
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    doc = _read_yaml(path, "instrument")
    return instrument_from_dict(doc, source=str(path))


# --------------------------------------------------------------------------- study

def _opt_int(lo):
    def check(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= lo
    check.__doc__ = f"an integer >= {lo}"
    return check


def _opt_bool(v):
    """true or false"""
    return isinstance(v, bool)


def _opt_str_list(v):
    """a list of texts"""
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _opt_choice(name: str, choices_of, many: bool = False):
    """A validator accepting one of ``choices_of()`` (case-insensitive), or with ``many`` a
    non-empty list of them; ``choices_of`` is called lazily (the lists live in the analysis
    modules)."""
    def check(v):
        allowed = {c.lower() for c in choices_of()}
        vals = v if many else [v]
        if many and (not isinstance(v, list) or not v):
            return False
        return all(isinstance(x, str) and x.lower() in allowed for x in vals)
    kind = "a list of" if many else "one of"
    check.__doc__ = f"{kind} the {name}"
    check.choices = choices_of
    return check


def _rotations():
    from .efa import ROTATIONS
    return ROTATIONS


def _extractions():
    from .efa import EXTRACTION_METHODS
    return EXTRACTION_METHODS


def _levels():
    from .invariance import LEVELS
    return LEVELS


#: report files ``options.formats`` may name (the command line writes only these)
REPORT_FORMATS = ("json", "html", "docx", "tex", "xlsx", "changes")




#: options the report understands: name -> validator (a callable whose docstring
#: describes the accepted values).  Other modules may add entries.
#: Only options that really change the run are listed: an option the report would accept
#: and ignore (``ci_level: .90`` with every header still saying 95% CI) is refused instead.
KNOWN_OPTIONS: dict = {
    "bootstrap": _opt_int(0),            # bootstrap draws (0 = none)
    "split_half": _opt_bool,             # EFA on one half, CFA on the other
    "parallel_iterations": _opt_int(1),  # parallel analysis replications
    "n_factors": _opt_int(1),            # EFA factors (overrides the suggestion)
    "rotation": _opt_choice("EFA rotations", _rotations),            # EFA rotation
    "efa_method": _opt_choice("EFA extraction methods", _extractions),  # EFA extraction
    "invariance_levels": _opt_choice("invariance levels", _levels, many=True),
    "formats": _opt_choice("report formats", lambda: REPORT_FORMATS, many=True),  # cli.py
    "figures": _opt_bool,                # draw figures (cli.py; --no-figures also turns off)
    "page_size": _opt_choice("page sizes", lambda: ("a4", "letter")),  # appendix paper (a4)
}

_STUDY_KEYS = {"title", "data", "id", "group", "missing_codes", "on_invalid", "language", "seed",
               "estimator", "missing", "instruments", "structural", "options", "description",
               "authors", "encoding", "sheet", "delimiter"}
_GROUP_KEYS = {"column", "labels", "reference", "min_size"}
_DATA_KEYS = {"file", "path", "sheet", "encoding", "delimiter"}
_INSTR_ENTRY_KEYS = {"scale", "file", "columns", "prefix", "ordered", "estimator"}
#: ``ordered: auto`` treats an instrument as ordinal when every item has fewer than this many
#: observed response categories (four or fewer; Rhemtulla, Brosseau-Liard & Savalei 2012)
ORDINAL_AUTO_MAX_CATEGORIES = 5
_ORDINAL_ESTIMATORS = ("WLSMV", "WLSM", "ULSMV", "ULSM", "DWLS", "ULS", "ML", "MLR")
_STRUCTURAL_KEYS = {"model", "name", "description"}


@dataclass
class GroupSpec:
    """Grouping variable: data ``column``, ``labels`` {code text: label} (empty: use
    the file's value labels or the raw values), ``reference`` label and the smallest
    acceptable group size ``min_size``."""

    column: str
    labels: dict = field(default_factory=dict)
    reference: str | None = None
    min_size: int = 30

    def to_dict(self) -> dict:
        return {"column": self.column, "labels": dict(self.labels),
                "reference": self.reference, "min_size": self.min_size}


@dataclass
class StudyInstrument:
    """One instrument of a study and its item columns (item id -> data column)."""

    instrument: Instrument
    columns: dict
    ordered: Any = False        # True, False or "auto" (study file ``ordered:``)
    estimator: str | None = None  # per-instrument estimator (study file ``estimator:``)

    @property
    def id(self) -> str:
        return self.instrument.id

    def is_ordinal(self, data) -> bool:
        """Whether the items are analysed as ordinal: ``ordered: true``, or ``auto`` and every
        item has fewer than :data:`ORDINAL_AUTO_MAX_CATEGORIES` observed categories."""
        if self.ordered is True:
            return True
        if self.ordered != "auto":
            return False
        cols = [c for c in self.item_columns if c in data.columns]
        return bool(cols) and all(data[c].nunique(dropna=True) < ORDINAL_AUTO_MAX_CATEGORIES
                                  for c in cols)

    @property
    def item_columns(self) -> list[str]:
        """Data columns of the items, in item order."""
        return [self.columns[i] for i in self.instrument.item_ids]

    def cfa_syntax(self) -> str:
        return self.instrument.cfa_syntax(self.columns)

    def to_dict(self) -> dict:
        return {"instrument": self.instrument.to_dict(), "columns": dict(self.columns),
                "ordered": self.ordered, "estimator": self.estimator}


@dataclass
class Study:
    """A parsed, checked study file (see :func:`load_study`).  Paths are absolute."""

    title: str
    data: Path
    id: str
    instruments: list
    group: GroupSpec | None = None
    missing_codes: list = field(default_factory=list)
    on_invalid: str = "stop"
    language: str = "en"
    seed: int | None = None
    estimator: str = "ML"
    missing: str = "listwise"
    structural: dict | None = None
    options: dict = field(default_factory=dict)
    data_options: dict = field(default_factory=dict)   # sheet, encoding, delimiter
    path: Path | None = None

    def instrument(self, instrument_id: str) -> StudyInstrument:
        for si in self.instruments:
            if si.id == instrument_id:
                return si
        ids = [si.id for si in self.instruments]
        raise StudyError(f"the study has no instrument {instrument_id!r}"
                         f"{_suggest(instrument_id, ids)}; instruments: {ids}")

    @property
    def instrument_ids(self) -> list[str]:
        return [si.id for si in self.instruments]

    def item_columns(self, instrument_id: str | None = None) -> list[str]:
        """Item columns of one instrument (or of all, in study order)."""
        if instrument_id is not None:
            return self.instrument(instrument_id).item_columns
        return [c for si in self.instruments for c in si.item_columns]

    def cfa_syntax(self, instrument_id: str) -> str:
        return self.instrument(instrument_id).cfa_syntax()

    def to_dict(self) -> dict:
        return jsonable({
            "title": self.title, "data": str(self.data), "id": self.id,
            "group": self.group.to_dict() if self.group else None,
            "missing_codes": self.missing_codes, "on_invalid": self.on_invalid,
            "language": self.language, "seed": self.seed, "estimator": self.estimator,
            "missing": self.missing, "structural": self.structural, "options": self.options,
            "instruments": [si.to_dict() for si in self.instruments],
            "path": str(self.path) if self.path else None,
        })


def _inside(base: Path, name: str, where: str, what: str) -> Path:
    """``name`` (a path written in the study file) resolved against the study folder
    ``base``; an absolute path or one that leaves the folder (``../``, a symbolic link
    pointing elsewhere) raises :class:`StudyError`.  Files outside the study folder are
    read only when the user names them on the command line (``--data``)."""
    p = Path(name)
    folder = Path(base).resolve()
    hint = ("; put the file in the study's folder" +
            (", or name it on the command line: psychometrics validate STUDY --data FILE"
             if what == "data file" else ""))
    if p.is_absolute() or p.drive or p.root:
        raise StudyError(f"{where}: the {what} {name!r} is an absolute path; paths in a study "
                         f"file are relative to its folder{hint}")
    full = (folder / p).resolve()
    try:
        full.relative_to(folder)
    except ValueError:
        raise StudyError(f"{where}: the {what} {name!r} lies outside the study's folder"
                         f"{hint}") from None
    return full


def _check_structural(where: str, model: str, instruments: list) -> None:
    """Parse the structural model and check every variable name in it: a factor of one of
    the instruments, an item column, or a latent variable the model itself defines with
    ``=~``.  Raises :class:`StudyError` naming the valid factor names."""
    from .sem.syntax import parse_model
    try:
        formulas = parse_model(model)
    except ModelSyntaxError as exc:
        raise StudyError(f"{where}: the structural model has a syntax error: {exc}") from None
    factors = [f for si in instruments for f in si.instrument.factors()]
    columns = {c for si in instruments for c in si.item_columns}
    defined = {f.lhs for f in formulas if f.op == "=~"}
    known = set(factors) | columns | defined
    unknown = []
    for f in formulas:
        if f.op in (":=", "=="):
            continue
        for name in (f.lhs, f.rhs):
            if name and name not in known and name not in unknown:
                unknown.append(name)
    if unknown:
        sugg = "".join(_suggest(u, factors) for u in unknown[:1])
        raise StudyError(f"{where}: the structural model names {len(unknown)} unknown "
                         f"variable(s): {', '.join(repr(u) for u in unknown)}{sugg}; the "
                         f"factors the study defines are: {', '.join(factors)} (or use an "
                         "item column, or define a new factor with =~)")


def study_from_dict(doc: Any, base: Path, source: str = "<study>", *,
                    data: str | Path | None = None) -> Study:
    """Build a :class:`Study` from parsed YAML; relative paths are resolved against ``base``
    and must stay inside it (see :func:`load_study`).  ``data``: a data file given by the
    user outside the study file (the command line's ``--data``), used instead of the
    study's ``data:`` and read from wherever it is."""
    data_override = data
    where = source
    if not isinstance(doc, Mapping):
        raise StudyError(f"{where}: a study file must be a YAML mapping (title, data, id, "
                         f"instruments, ...), got {type(doc).__name__}")
    _check_keys(where, doc, _STUDY_KEYS)
    for key in ("data", "id", "instruments"):
        if data_override is not None and key == "data":
            continue
        if key not in doc or doc[key] in (None, "", []):
            raise StudyError(f"{where}: required key `{key}` is missing or empty")

    # data file
    data = doc.get("data")
    data_opts: dict = {k: doc[k] for k in ("sheet", "encoding", "delimiter") if k in doc}
    if isinstance(data, Mapping):
        _check_keys(f"{where}, data", data, _DATA_KEYS)
        both = [k for k in ("sheet", "encoding", "delimiter") if k in data and k in data_opts]
        if both:
            raise StudyError(f"{where}: `{both[0]}` is given both under `data` and at the top")
        data_opts.update({k: data[k] for k in ("sheet", "encoding", "delimiter") if k in data})
        data = data.get("file", data.get("path"))
    if "encoding" in data_opts:
        enc = data_opts["encoding"]
        try:
            import codecs
            if not isinstance(enc, str):
                raise LookupError
            codecs.lookup(enc)
        except LookupError:
            raise StudyError(f"{where}: unknown text encoding {enc!r} (e.g. utf-8, cp1256 for "
                             "Persian/Arabic Windows, cp1252 for Western European Windows, "
                             "latin-1)") from None
    if "sheet" in data_opts and (isinstance(data_opts["sheet"], bool) or not isinstance(
            data_opts["sheet"], (str, int))):
        raise StudyError(f"{where}: sheet must be a sheet name or number, "
                         f"got {data_opts['sheet']!r}")
    if "delimiter" in data_opts and (not isinstance(data_opts["delimiter"], str)
                                     or len(data_opts["delimiter"]) != 1):
        raise StudyError(f"{where}: delimiter must be one character, "
                         f"got {data_opts['delimiter']!r}")
    if data_override is not None:
        data_path = Path(data_override).absolute()
    else:
        if not isinstance(data, str) or not data.strip():
            raise StudyError(f"{where}: `data` must name the data file, got {data!r}")
        data_path = _inside(base, data, where, "data file")
    problem = file_problem(data_path)
    if problem == "not found":
        raise StudyError(f"{where}: data file not found: {data_path}")
    if problem:
        raise StudyError(f"{where}: the data file {data_path} {problem}")

    id_col = doc["id"]
    if not isinstance(id_col, str):
        raise StudyError(f"{where}: `id` must be the name of the id column, got {id_col!r}")
    id_col = normalize_text(id_col)   # as the data file's header is

    # group
    group = None
    raw_group = doc.get("group")
    if isinstance(raw_group, str):
        raw_group = {"column": raw_group}
    if raw_group is not None:
        if not isinstance(raw_group, Mapping):
            raise StudyError(f"{where}: `group` must be a column name or a mapping "
                             "(column, labels, reference, min_size)")
        _check_keys(f"{where}, group", raw_group, _GROUP_KEYS)
        if not isinstance(raw_group.get("column"), str) or not raw_group["column"].strip():
            raise StudyError(f"{where}: group needs `column` (the name of the group column)")
        labels = raw_group.get("labels") or {}
        if not isinstance(labels, Mapping):
            raise StudyError(f"{where}: group labels must be a mapping code -> label")
        labels = {_key_str(k): _key_str(v) for k, v in labels.items()}
        if len(set(labels.values())) != len(labels):
            raise StudyError(f"{where}: two group codes have the same label: {labels}")
        ref = raw_group.get("reference")
        if ref is not None:
            ref = _key_str(ref)
            if labels and ref not in labels.values():
                if ref in labels:
                    ref = labels[ref]
                else:
                    raise StudyError(f"{where}: group reference {ref!r} is not one of the labels "
                                     f"{list(labels.values())}")
        min_size = raw_group.get("min_size", 30)
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
            raise StudyError(f"{where}: group min_size must be a positive integer, "
                             f"got {min_size!r}")
        group = GroupSpec(normalize_text(raw_group["column"]), labels, ref, min_size)

    codes = doc.get("missing_codes") or []
    if not isinstance(codes, list):
        codes = [codes]
    for c in codes:
        if isinstance(c, bool) or not isinstance(c, (int, float, str)):
            raise StudyError(f"{where}: missing code {c!r} must be a number or a text")

    def choice(key, allowed, default):
        v = doc.get(key, default)
        if v not in allowed:
            raise StudyError(f"{where}: {key} must be one of {list(allowed)}, got {v!r}")
        return v

    on_invalid = choice("on_invalid", ("stop", "set_missing"), "stop")
    estimator = doc.get("estimator", "ML")
    estimator = estimator.upper() if isinstance(estimator, str) else estimator
    if estimator not in ("ML", "MLR"):
        raise StudyError(f"{where}: estimator must be ML or MLR, got {doc.get('estimator')!r}")
    missing = doc.get("missing", "listwise")
    missing = missing.lower() if isinstance(missing, str) else missing
    if missing not in ("listwise", "fiml", "ml"):
        raise StudyError(f"{where}: missing must be listwise or fiml, got {doc.get('missing')!r}")
    missing = "fiml" if missing == "ml" else missing
    language = doc.get("language", "en")
    if not isinstance(language, str) or not _LANG_RE.match(language):
        raise StudyError(f"{where}: language must be a two-letter code (en, fa), got {language!r}")
    seed = doc.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise StudyError(f"{where}: seed must be a non-negative integer, got {seed!r}")

    # instruments
    raw_instr = doc["instruments"]
    if not isinstance(raw_instr, list):
        raise StudyError(f"{where}: `instruments` must be a list")
    instruments: list[StudyInstrument] = []
    used: dict[str, str] = {}
    for pos, entry in enumerate(raw_instr, start=1):
        ew = f"{where}, instrument #{pos}"
        if isinstance(entry, str):
            entry = {"scale": entry}
        if not isinstance(entry, Mapping):
            raise StudyError(f"{ew}: expected a mapping with `scale` or `file`, got {entry!r}")
        _check_keys(ew, entry, _INSTR_ENTRY_KEYS)
        if ("scale" in entry) == ("file" in entry):
            raise StudyError(f"{ew}: give exactly one of `scale` (a built-in id) or `file`")
        if "scale" in entry:
            inst = load_instrument(str(entry["scale"]))
        else:
            inst = load_instrument(_inside(base, str(entry["file"]), ew, "instrument file"))
        ew = f"{where}, instrument {inst.id!r}"
        if any(si.id == inst.id for si in instruments):
            raise StudyError(f"{ew}: instrument listed twice")
        if "columns" in entry and "prefix" in entry:
            raise StudyError(f"{ew}: give either `columns` or `prefix`, not both")
        if "columns" in entry:
            if not isinstance(entry["columns"], Mapping):
                raise StudyError(f"{ew}: columns must map item id -> data column")
            try:
                cols = inst.columns_for({k: normalize_text(v) if isinstance(v, str) else v
                                         for k, v in entry["columns"].items()})
            except StudyError as exc:
                raise StudyError(f"{where}: {exc}") from None
        elif "prefix" in entry:
            if not isinstance(entry["prefix"], str):
                raise StudyError(f"{ew}: prefix must be a text, got {entry['prefix']!r}")
            cols = inst.columns_for(normalize_text(entry["prefix"]))
        else:
            cols = inst.columns_for(None)
        seen_here: set = set()
        for item_id, col in cols.items():
            if col in seen_here or col in used:
                other = used.get(col, f"instrument {inst.id!r}")
                raise StudyError(f"{ew}: data column {col!r} is mapped twice (item {item_id!r} "
                                 f"and {other})")
            seen_here.add(col)
        for item_id, col in cols.items():
            used[col] = f"item {item_id!r} of instrument {inst.id!r}"
        for special, label in ((id_col, "id"), (group.column if group else None, "group")):
            if special is not None and special in cols.values():
                raise StudyError(f"{ew}: the {label} column {special!r} is also mapped to an item")
        ordered = entry.get("ordered", False)
        if isinstance(ordered, str) and ordered.strip().lower() in ("true", "false", "auto"):
            ordered = {"true": True, "false": False, "auto": "auto"}[ordered.strip().lower()]
        if ordered not in (True, False, "auto"):
            raise StudyError(f"{ew}: ordered must be true, false or auto, got {entry['ordered']!r}")
        est_i = entry.get("estimator")
        if est_i is not None:
            est_i = str(est_i).upper()
            if est_i not in _ORDINAL_ESTIMATORS:
                raise StudyError(f"{ew}: estimator must be one of {', '.join(_ORDINAL_ESTIMATORS)}, "
                                 f"got {entry['estimator']!r}")
        instruments.append(StudyInstrument(inst, cols, ordered=ordered, estimator=est_i))

    # factor names must be unique across instruments: the measurement model joins them
    owner: dict = {}
    for si in instruments:
        for f in si.instrument.factors():
            if f in owner:
                raise StudyError(f"{where}: instruments {owner[f]!r} and {si.id!r} both define a "
                                 f"factor named {f!r}; rename a subscale in one of them")
            owner[f] = si.id

    structural = doc.get("structural")
    if structural is not None:
        if isinstance(structural, str):
            structural = {"model": structural}
        if not isinstance(structural, Mapping):
            raise StudyError(f"{where}: structural must be a mapping with `model`")
        _check_keys(f"{where}, structural", structural, _STRUCTURAL_KEYS)
        if not isinstance(structural.get("model"), str) or not structural["model"].strip():
            raise StudyError(f"{where}: structural needs `model` (lavaan syntax)")
        structural = dict(structural)
        # names written with Arabic letter variants or digits match the normalised header
        structural["model"] = normalize_lines(structural["model"])
        _check_structural(where, structural["model"], instruments)

    options = doc.get("options") or {}
    if not isinstance(options, Mapping):
        raise StudyError(f"{where}: options must be a mapping")
    for k, v in options.items():
        check = KNOWN_OPTIONS.get(str(k))
        if check is None:
            raise StudyError(f"{where}: unknown option {k!r}{_suggest(k, KNOWN_OPTIONS)}; known "
                             f"options: {', '.join(sorted(KNOWN_OPTIONS))}")
        if not check(v):
            choices = getattr(check, "choices", None)
            listed = f" ({', '.join(choices())})" if choices else ""
            raise StudyError(f"{where}: option {k!r} must be {check.__doc__}{listed}, "
                             f"got {v!r}")

    title = doc.get("title") or (Path(source).stem if source else "study")
    return Study(title=str(title), data=data_path.resolve(), id=id_col, instruments=instruments,
                 group=group, missing_codes=list(codes), on_invalid=on_invalid,
                 language=language, seed=seed, estimator=estimator, missing=missing,
                 structural=structural, options=copy.deepcopy(dict(options)),
                 data_options=data_opts)


def load_study(path: str | Path, *, data: str | Path | None = None) -> Study:
    """Read and check a study file (YAML).  Returns a :class:`Study`.

    Format (paths relative to the study file, and inside its folder)::

        title: "Persian WAI-SR validation"
        data: data.csv                 # or {file: data.xlsx, sheet: 1, encoding: cp1256}
        encoding: cp1252               # optional (also sheet:, delimiter:): how to read `data`
        id: id
        group: {column: gender, labels: {1: female, 2: male}, reference: female, min_size: 30}
        missing_codes: [-9, 99]
        on_invalid: stop               # or set_missing
        language: en                   # or fa
        seed: 20261122
        estimator: MLR                 # ML or MLR
        missing: fiml                  # listwise or fiml
        instruments:
          - scale: wai_sr              # a built-in id, or `file: scales/engagement.yaml`
            prefix: wai_               # or columns: {"1": wai_1, ...}
        structural: {model: "..."}     # optional lavaan syntax for the report
        options: {bootstrap: 1000, split_half: true}   # see KNOWN_OPTIONS

    Unknown keys, a key given twice, an unknown instrument, a missing data file, a data
    or instrument path that is absolute or leaves the study's folder, an item column
    mapped twice, an unknown option or option value (rotation, extraction, invariance
    level, report format), a structural model with a syntax error or an unknown factor:
    one clear :class:`StudyError` each, before any analysis runs.  Column names, the
    prefix and the structural model are normalised like the data file's header
    (Arabic ي/ك -> Persian ی/ک, Persian digits -> ASCII).  ``data``: a data file named by
    the user outside the study file (``psychometrics validate STUDY --data FILE``), used
    instead of ``data:``; it may lie anywhere.
    """
    if isinstance(path, Study):      # already loaded (e.g. by the command line, with --data)
        return path
    path = Path(path)
    doc = _read_yaml(path, "study")
    study = study_from_dict(doc, base=path.resolve().parent, source=str(path), data=data)
    study.path = path.resolve()
    return study
