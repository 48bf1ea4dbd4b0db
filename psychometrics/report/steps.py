"""The steps of the validation pipeline (see :mod:`psychometrics.report.pipeline`).

Each ``step_*`` function calls analysis functions of the package, stores their
``to_dict()`` in ``runner.results`` and adds sections, tables, figures and
paragraphs (templates + numbers) to ``runner.report``.  Nothing here computes
a statistic: the numbers in tables are copied from result objects.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._results import jsonable
from ..errors import PsychometricsError
from . import figures as F
from . import fmt
from .i18n import TEXT, tr
from .model import Code, Notice, Paragraph, Report, Section, WarningList
from .common import ValidationRun, _get, command_line, need, now_utc, versions

#: |loading| from which an EFA loading counts as salient (marked; stated in the table note)
SALIENT_LOADING = 0.40
#: modification indices shown from this value on (Brown, 2015: 3.84 is p < .05; 10 is the
#: usual threshold for a change worth reporting)
MI_THRESHOLD = 10.0
#: residual correlations shown from this absolute value on (Kline, 2016: |r| > .10)
RESIDUAL_THRESHOLD = 0.10
FIT_COLUMNS = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower",
               "rmsea_ci_upper", "srmr", "aic", "bic"]
FIT_FORMATS = {"chisq": "f2", "df": "d", "pvalue": "p", "cfi": "r3", "tli": "r3", "rmsea": "r3",
               "rmsea_ci_lower": "r3", "rmsea_ci_upper": "r3", "srmr": "r3", "aic": "f1",
               "bic": "f1"}


# ----------------------------------------------------------------------------------------------
# small helpers

def _label(r, si) -> str:
    return si.instrument.label(r.lang)


def _sub_label(r, si, name) -> str:
    return si.instrument.subscale_label(name, r.lang) if name in si.instrument.subscales else name


def _item_text(r, si, col) -> str:
    inv = {v: k for k, v in si.columns.items()}
    item = si.instrument.item(inv[col])
    return item.text.get(r.lang) or item.text.get("en") or ""


def _reversed_columns(si) -> set:
    """Data columns of the instrument's reverse-keyed items."""
    return {si.columns[i] for i in si.instrument.reverse_items}


def mark_reversed(r, si, index) -> list:
    """Item names of a table's rows with " (R)" after reverse-keyed items (the tables'
    notes say what it means)."""
    rev = _reversed_columns(si)
    return [f"{c} (R)" if c in rev else c for c in index]


def _reversed_note(r, si, note: str) -> str:
    """``note`` plus the sentence explaining "(R)" when the instrument has reversed items."""
    if not si.instrument.reverse_items:
        return note
    return (note + " " if note else "") + r.t("n_reversed_mark")


def keyed_items(r, si) -> pd.DataFrame:
    """The instrument's item columns with reverse-keyed items reversed (min + max - x)."""
    x = r.dataset.items(si.id)
    if not si.instrument.reverse_items:
        return x
    reverse_key = need("scoring", "reverse_key")
    return reverse_key(x, si.instrument, si.columns)


def reliability_scales(si, keyed: pd.DataFrame) -> list:
    """``(name, columns, n_groups)`` of every scale whose alpha and omega the report gives: each
    subscale (one group factor) and, for an instrument with subscales and a total score, the
    total (as many group factors as subscales)."""
    factors = si.instrument.factors()
    scales = [(f, [si.columns[i] for i in ids], 1) for f, ids in factors.items()]
    if len(scales) > 1 and si.instrument.total:
        scales.append(("total", list(keyed.columns), len(factors)))
    return scales


ROBUST_COLUMNS = ["chisq_scaled", "pvalue_scaled", "cfi_robust", "tli_robust", "rmsea_robust"]


def _fit_row(fit) -> dict:
    """lavaan fitMeasures of one model, in table order (robust versions after the ML ones);
    a fit that is not a result (``fit.problem``: not converged, singular information, ...)
    gets no indices and a ``status`` saying why."""
    fm = fit.fit_measures()
    problem = getattr(fit, "problem", None)
    if problem:
        return {k: None for k in FIT_COLUMNS} | {"status": problem}
    row = {}
    for k in FIT_COLUMNS:
        row[k] = fm.get(k)
        if k == "pvalue" and fm.get("chisq_scaled") is not None:
            row["chisq_scaled"] = fm.get("chisq_scaled")
            row["pvalue_scaled"] = fm.get("pvalue_scaled")
        if k == "rmsea_ci_upper" and fm.get("cfi_robust") is not None:
            for c in ("cfi_robust", "tli_robust", "rmsea_robust"):
                row[c] = fm.get(c)
    return row


def _short(r, si) -> str:
    """A short name of an instrument for wide tables: its abbreviation in parentheses
    (``... (WAI-SR)``), else its name without a parenthesis."""
    label = _label(r, si)
    if label.endswith(")") and "(" in label:
        head, _, inner = label[:-1].rpartition("(")
        if inner and " " not in inner:
            return inner
        return head.strip() or si.id
    return label


def _section_warnings(section, messages) -> None:
    """Show a result's numerical trouble (Heywood cases, non-convergence, ...) in its section."""
    if messages:
        section.add(WarningList(list(messages)))


def _fit_dict(fit, model: str) -> dict:
    """A fitted model for results.json: its own to_dict() (fit measures, parameters,
    diagnostics) plus the model syntax."""
    d = jsonable(fit.to_dict()) if hasattr(fit, "to_dict") else {
        "fit_measures": jsonable(fit.fit_measures()), "parameters": jsonable(fit.parameters())}
    d["model"] = model
    return d


def _fit_kwargs(r) -> dict:
    return {"estimator": r.study.estimator, "missing": r.study.missing}


def _is_ordinal(r, si) -> bool:
    """Whether instrument ``si`` is analysed as ordinal (study ``ordered: true | auto``); the
    decision is recorded in ``results["ordinal"]``."""
    rec = r.results.setdefault("ordinal", {})
    if si.id not in rec:
        ordinal = bool(getattr(si, "is_ordinal", None)) and si.is_ordinal(keyed_items(r, si))
        rec[si.id] = ordinal
    return rec[si.id]


def _si_fit_kwargs(r, si) -> dict:
    """Estimator options for one instrument: WLSMV on polychorics for ordinal items (missing
    data: listwise, or pairwise when the study asks for FIML), else the study's, with a
    per-instrument ``estimator:`` overriding."""
    kw = _fit_kwargs(r)
    est = getattr(si, "estimator", None)
    if _is_ordinal(r, si):
        kw = {"ordered": True, "estimator": est if est and est not in ("ML", "MLR") else "WLSMV",
              "missing": "pairwise" if r.study.missing == "fiml" else "listwise"}
    elif est:
        kw["estimator"] = est
    return kw


def _para(section, template, **values):
    section.add(Paragraph(template, values))


# ----------------------------------------------------------------------------------------------
def step_overview(r):
    s = r.report.add(Section("overview", tr("sec_overview", r.lang)))
    ds, st = r.dataset, r.study
    sizes = ds.group_sizes()
    groups = ", ".join(f"{g}: n = {fmt.localise(str(n), r.lang)}" for g, n in sizes.items())
    values = {"n": ds.n, "file": ds.file, "groups": groups or "—",
              "n_changes": len(ds.changes), "n_dropped": len(ds.dropped)}
    _para(s, r.t("p_overview"), **values)
    rows = []
    for si in st.instruments:
        inst = si.instrument
        rows.append({"instrument": _label(r, si), "items": inst.n_items,
                     "subscales": ", ".join(_sub_label(r, si, f) for f in inst.factors()),
                     "range": fmt.localise(f"{inst.min}–{inst.max}", r.lang)
                     if inst.min is not None else "—",
                     "reversed": ", ".join(si.columns[i] for i in inst.reverse_items) or "—"})
    df = pd.DataFrame(rows).set_index("instrument")
    r.table(s, "instruments", r.t("t_instruments"), df,
            {"subscales": "s", "range": "s", "reversed": "s"}, index_label=tr("instrument", r.lang),
            column_labels={"items": r.t("c_items"), "subscales": r.t("c_subscales"),
                           "range": r.t("c_range"), "reversed": r.t("c_reversed")})
    data_warn = []
    by_reason: dict = {}
    for c in ds.changes:
        by_reason.setdefault(c.reason, []).append(c)
    for reason, cs in by_reason.items():
        shown = ", ".join(f"{c.column}@{c.row}" for c in cs[:8])
        more = f" … (+{len(cs) - 8})" if len(cs) > 8 else ""
        data_warn.append(r.warn(ds.file, r.t("w_changes", n=len(cs), reason=reason,
                                                 cells=shown + more)))
    dropped_by: dict = {}
    for d in ds.dropped:
        dropped_by.setdefault(str(d.get("reason")), []).append(
            d.get("row") if d.get("row") is not None else d.get("line"))
    for reason, cases in dropped_by.items():
        if len(cases) == 1:
            data_warn.append(r.warn(ds.file, r.t("w_dropped", row=cases[0], reason=reason)))
        else:   # one line per reason, not one per case (a large file may drop thousands)
            data_warn.append(r.warn(ds.file, r.t("w_dropped_many", n=len(cases), reason=reason,
                                                 cases=_first_rows(cases, 8))))
    for w in ds.warnings:
        data_warn.append(r.warn(ds.file, str(w)))
    if data_warn:
        s.add(WarningList(data_warn))
    r.results["data"] = ds.to_dict()


#: above this many changed cells and dropped cases the documents show them by column and
#: reason (counts and the first cases); data-changes.csv and results.json list every one
CHANGES_LISTED = 500


def _first_rows(rows: list, k: int = 5) -> str:
    shown = ", ".join(str(x) for x in rows[:k])
    return shown + (f", … (+{len(rows) - k})" if len(rows) > k else "")


def step_data_changes(r):
    """Every cell the loader changed and every case it dropped, in a closing section of its
    own (the overview promises that every change is listed; results.json and
    data-changes.csv hold the same list).  Up to :data:`CHANGES_LISTED` of them are listed
    one row each; above that (a large study whose missing codes alone change tens of
    thousands of cells) the table counts them by column and reason with the first cases,
    and its note names data-changes.csv, so that the appendix stays a few pages whatever
    the number of cases.  Nothing changed: no section."""
    ds = r.dataset
    n = len(ds.changes) + len(ds.dropped)
    if not n:
        return
    s = r.report.add(Section("data_changes", tr("sec_data_changes", r.lang)))
    if n <= CHANGES_LISTED:
        rows = [{"row": str(c.row), "column": str(c.column),
                 "old": "" if c.old is None else str(c.old),
                 "new": "—" if c.new is None else str(c.new),
                 "reason": str(c.reason)} for c in ds.changes]
        rows += [{"row": str(d.get("row") if d.get("row") is not None else d.get("line")),
                  "column": "—", "old": str(d.get("line", "")), "new": "—",
                  "reason": str(d.get("reason"))} for d in ds.dropped]
        df = pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1))
        r.table(s, "data_changes", r.t("t_data_changes", n=len(rows)), df,
                {c: "s" for c in df.columns}, note=r.t("n_data_changes"), index_label="#",
                column_labels={"row": r.t("c_case"), "column": r.t("c_column"),
                               "old": r.t("c_old_value"), "new": r.t("c_new_value"),
                               "reason": r.t("c_reason")})
        return
    groups: dict = {}
    for c in ds.changes:
        groups.setdefault((str(c.column), str(c.reason)), []).append(c.row)
    for d in ds.dropped:
        groups.setdefault(("—", str(d.get("reason"))), []).append(
            d.get("row") if d.get("row") is not None else d.get("line"))
    # the first cases only, no "… (+k)": n says how many, and a list of ids alone stays one
    # left-to-right run in a Persian table
    rows = [{"column": col, "reason": reason, "n": len(cases),
             "cases": ", ".join(str(x) for x in cases[:5])}
            for (col, reason), cases in groups.items()]
    df = pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1))
    r.table(s, "data_changes", r.t("t_data_changes_summary", n=n), df,
            {"column": "s", "reason": "s", "n": "d", "cases": "s"},
            note=r.t("n_data_changes_summary", limit=CHANGES_LISTED), index_label="#",
            column_labels={"column": r.t("c_column"), "reason": r.t("c_reason"),
                           "n": r.t("c_n_cells"), "cases": r.t("c_first_cases")})


# ----------------------------------------------------------------------------------------------
#: growth of a step's time with the number of items (cost = cases x items^b), for the
#: progress display's estimates of the time left; b measured on the 200,000-case example
#: (instruments of 6-12 items, two runs): screening 0.5 (mostly the MCD), EFA 1.35; model
#: fits (FIML + MLR): 2.5, on which its 34-item measurement model (171 s) lies with the
#: four CFAs (cases x items^2 gave 96 s); invariance (four multi-group model fits) 2.5 like
#: the model fits (its 12-item instrument took 2.3-3.1 x the 8-item ones at 100,000 and
#: 200,000 cases, (12/8)^2.5 = 2.8); other steps (item analysis) 1
COST_EXPONENTS = {"screening": 0.5, "EFA": 1.35, "CFA": 2.5, "invariance": 2.5}


#: growth of the invariance step's time with the number of groups at a fixed number of cases:
#: its cost is multiplied by (groups / 2)^b (the references are of a two-group study);
#: b measured by ``benchmarks/bench_progress.py live`` on 20,000 cases in 8 groups against
#: 50,000 cases in 2 (load 8: the four instruments' invariance steps took 3.0-4.3x what
#: two groups would at 20,000 cases, (8 / 2)^0.8 = 3.0)
GROUP_EXPONENT = 0.8

#: share of the MLR + FIML time that an instrument analysed as ordinal (WLSMV on
#: polychorics) takes in the invariance step, for the progress display: the 8-item ordinal
#: CSQ-8 against the 8-item engagement scale, 0.54 at 50,000 cases, 0.70 at 20,000 cases in
#: 8 groups (load 8), 0.77 at 324 cases (figures included); its CFA 0.71-1.0 (no factor)
ORDINAL_SHARE = {"invariance": 0.6}


def _cost(r, n_items: int, what: str = "", si=None) -> float:
    """Expected cost of the step ``what`` on ``n_items`` items of every case, for the progress
    display's estimates of the time left: cases x items^b (:data:`COST_EXPONENTS`); for the
    invariance step times (groups / 2)^:data:`GROUP_EXPONENT`, and for instrument ``si``
    analysed as ordinal (as already recorded in ``results["ordinal"]``; nothing is computed
    or recorded here) times :data:`ORDINAL_SHARE` of ``what``."""
    cost = float(r.dataset.n) * float(n_items) ** COST_EXPONENTS.get(what, 1.0)
    if what == "invariance":
        sizes = r.dataset.group_sizes() if getattr(r.dataset, "group", None) is not None else {}
        groups = sum(1 for v in sizes.values() if v > 0)
        if groups > 2:
            cost *= (groups / 2.0) ** GROUP_EXPONENT
    if si is not None and what in ORDINAL_SHARE \
            and (r.results.get("ordinal") or {}).get(si.id):
        cost *= ORDINAL_SHARE[what]
    return cost


def _each_instrument(r, prefix, what, one, key):
    """Run ``one(r, si, section)`` for every instrument of the study, each in its own
    sub-section (a failure becomes a notice there); the results go to ``r.results[key]``."""
    out = {}
    # one step per instrument; on a terminal the progress display shows the time left for all
    # (the instruments' expected costs at the seconds per unit of cost of those done)
    costs = [_cost(r, len(si.item_columns), what, si) for si in r.study.instruments]
    with r.progress.group(what, len(r.study.instruments), costs=costs, kind=what):
        for si in r.study.instruments:
            s = r.report.add(Section(f"{prefix}_{si.id}", _label(r, si), level=2))
            tables = set(r.results["tables"])
            res = r.guarded(s, f"{what}: {si.id}", one, r, si, s)
            if res is not None:
                out[si.id] = res
            else:
                # failed part-way: the report keeps only the failure notice, so that
                # results.json holds exactly what the report shows (issue 12)
                s.blocks[:] = [b for b in s.blocks if isinstance(b, Notice)]
                for k in set(r.results["tables"]) - tables:
                    del r.results["tables"][k]
    r.results[key] = out


def step_screening(r):
    top = r.report.add(Section("screening", tr("sec_screening", r.lang)))
    _each_instrument(r, "screening", "screening", _screen_one, "screening")
    return top


def _screen_one(r, si, s):
    screen = need("screening", "screen")
    # screen() reports its parts (weighted by their usual shares of its time): the first
    # instrument of the run has a time left before any instrument is done
    kw = {"progress": r.progress.part} if _accepts(screen, "progress") else {}
    res = screen(r.dataset, instrument=si.id, seed=r.seed, **kw)
    r.collect_warnings(f"screening {si.id}", res)
    frame = res.to_frame()
    keep = [c for c in ("n", "pct_missing", "mean", "sd", "median", "min", "max", "skew",
                        "kurtosis", "floor_pct", "ceiling_pct") if c in frame.columns]
    df = frame[keep].copy()
    texts = [_item_text(r, si, c) for c in df.index]
    if any(texts):      # built-in instruments whose wording is copyrighted ship no text
        df.insert(0, "text", texts)
    df.index = mark_reversed(r, si, df.index)
    r.table(s, f"descriptives_{si.id}", r.t("t_descriptives", name=_label(r, si)), df,
            {"text": "s", "n": "d", "pct_missing": "f1", "min": "f0", "max": "f0", "median": "f1",
             "floor_pct": "f1", "ceiling_pct": "f1"},
            note=_reversed_note(r, si, r.t("n_descriptives")), index_label=tr("item", r.lang),
            column_labels={"text": r.t("c_text"), "pct_missing": r.t("c_pct_missing"), "mean": "M",
                           "sd": "SD", "median": "Mdn", "skew": r.t("c_skew"),
                           "kurtosis": r.t("c_kurtosis"), "floor_pct": r.t("c_floor"),
                           "ceiling_pct": r.t("c_ceiling")})
    mc, md = res.mcar, res.mardia
    cl = res.outliers.get("classical")
    mcd = res.outliers.get("mcd")
    # without any missing response Little's test does not apply: say so, print no chi-square
    no_missing = bool(getattr(mc, "no_missing", False))
    _para(s, r.t("p_screening_complete" if no_missing else "p_screening"),
          mcar_chisq=_get(mc, "statistic"), mcar_df=_get(mc, "df"),
          mcar_p=_get(mc, "pvalue"), b1p=_get(md, "b1p"), p_skew=_get(md, "p_skew"),
          b2p=_get(md, "b2p"), p_kurt=_get(md, "p_kurt"), n_mardia=_get(md, "n_obs"),
          out_cl=_get(cl, "n_outliers"), out_mcd=_get(mcd, "n_outliers", default=float("nan")),
          alpha=_get(cl, "alpha"))
    _distribution_figure(r, si, s)
    return jsonable(res.to_dict())


def _accepts(fn, name) -> bool:
    import inspect
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _distribution_figure(r, si, s):
    """Response distributions by group: stacked category bars for items with few
    categories (at most figures.MAX_CATEGORIES distinct integer values) and histogram
    panels for continuous or many-valued items (a count of the data; nothing estimated)."""
    ds = r.dataset
    x = ds.items(si.id)
    if ds.group is not None:
        groups = list(ds.group_labels)
        members = {g: (ds.group == g).to_numpy() for g in groups}
    else:
        groups = [r.t("l_all_cases")]
        members = {groups[0]: np.ones(len(x), dtype=bool)}
    categorical = [c for c in x.columns if F.is_categorical(x[c])]
    continuous = [c for c in x.columns if c not in categorical]
    by_group = r.t("f_by_group") if ds.group is not None else ""
    if categorical:
        props = {}
        for col in categorical:
            props[col] = {}
            for g in groups:
                v = x.loc[members[g], col].dropna()
                props[col][g] = v.value_counts(normalize=True).sort_index().to_dict() if len(v) else {}
        r.figure(s, f"distributions_{si.id}",
                 r.t("f_distributions2", name=_label(r, si), by_group=by_group),
                 F.item_distributions, props, title="", labels={"x": r.t("l_proportion")})
    if continuous:
        values = {col: {g: x.loc[members[g], col].dropna().to_numpy(dtype=float) for g in groups}
                  for col in continuous}
        r.figure(s, f"histograms_{si.id}",
                 r.t("f_histograms", name=_label(r, si), by_group=by_group),
                 F.item_histograms, values, labels={"y": r.t("l_density")})


# ----------------------------------------------------------------------------------------------
def step_items(r):
    r.report.add(Section("items", tr("sec_items", r.lang)))
    _each_instrument(r, "items", "item analysis", _items_one, "item_analysis")


def _items_one(r, si, s):
    item_analysis = need("reliability", "item_analysis")
    frames = {}
    for f, ids in si.instrument.factors().items():
        cols = [si.columns[i] for i in ids]
        x = keyed_items(r, si)[cols]
        frames[f] = item_analysis(x)
    rows = []
    for f, fr in frames.items():
        for col, row in fr.iterrows():
            rows.append({"item": col, "subscale": _sub_label(r, si, f),
                         "text": _item_text(r, si, col) or None, "n": row.get("n"), "mean": row.get("mean"),
                         "sd": row.get("sd"), "r_drop": row.get("r_drop"),
                         "alpha_if_deleted": row.get("alpha_if_deleted")})
    df = pd.DataFrame(rows).set_index("item")
    if df["text"].isna().all():
        df = df.drop(columns="text")
    low = df.index[df["r_drop"] < 0.30].tolist()
    df.index = mark_reversed(r, si, df.index)
    r.table(s, f"items_{si.id}", r.t("t_items", name=_label(r, si)), df,
            {"subscale": "s", "text": "s", "n": "d", "mean": "f2", "sd": "f2", "r_drop": "r",
             "alpha_if_deleted": "r"}, note=_reversed_note(r, si, r.t("n_items")),
            index_label=tr("item", r.lang),
            column_labels={"subscale": r.t("c_subscale"), "text": r.t("c_text"), "n": "n",
                           "mean": "M", "sd": "SD", "r_drop": "r_drop",
                           "alpha_if_deleted": r.t("c_alpha_del")})
    if low:
        s.add(WarningList([r.warn(f"item analysis {si.id}", r.t("w_low_rdrop", items=", ".join(low)))]))
    return {f: jsonable(fr) for f, fr in frames.items()}


# ----------------------------------------------------------------------------------------------
def step_reliability(r):
    s = r.report.add(Section("reliability", tr("sec_reliability", r.lang)))
    out = r.guarded(s, "reliability (alpha, omega)", _reliability, r, s)
    r.results["reliability"] = out or {}


def _reliability(r, s):
    alpha = need("reliability", "alpha")
    omega = need("reliability", "omega")
    # omega refits the factor model in every draw (all draws in lockstep, reliability._omega_boot);
    # its CIs use the study's bootstrap draws unless omega_bootstrap says otherwise (table note)
    nb = r.options["omega_bootstrap"]
    rows, out = [], {}
    seed = r.seed
    # the time left of the step, on a terminal: the scales done weighted by their items (at
    # 200,000 cases about 0.33 s an item for the 4-item subscales and the 12-item total alike;
    # only the columns' names are needed here)
    weights = {(si.id, name): len(cols) for si in r.study.instruments
               for name, cols, _ in reliability_scales(si, pd.DataFrame(columns=si.item_columns))}
    done = 0.0
    for si in r.study.instruments:
        keyed = keyed_items(r, si)
        out[si.id] = {}
        for name, cols, n_groups in reliability_scales(si, keyed):
            r.progress.part(done, sum(weights.values()))
            done += weights[(si.id, name)]
            # each scale succeeds or fails on its own (a degenerate item fails its scale only)
            ao = r.guarded(s, f"reliability {si.id}/{name}", _alpha_omega, alpha, omega,
                           keyed[cols], n_groups, nb, seed,
                           r.progress.bar(f"omega bootstrap {si.id}/{name}", nb) if nb else None)
            if ao is None:
                continue
            a, o = ao
            r.collect_warnings(f"reliability {si.id}/{name}", a)
            r.collect_warnings(f"reliability {si.id}/{name}", o)
            out[si.id][name] = {"alpha": a.to_dict(), "omega": o.to_dict()}
            oci = (o.ci or {}).get("omega_total") if isinstance(o.ci, dict) else None
            oci = list(oci) if oci is not None else [None, None]
            extra = {}
            if _is_ordinal(r, si):
                # ordinal alpha (polychoric matrix) and categorical omega of a one-factor WLSMV CFA
                oo = r.guarded(s, f"ordinal reliability {si.id}/{name}", _ordinal_reliability,
                               alpha, keyed[cols])
                if oo is not None:
                    ao2, oc = oo
                    extra = {"alpha_ordinal": ao2.estimate, "omega_categorical": oc.omega_total}
                    out[si.id][name].update({"alpha_ordinal": ao2.to_dict(),
                                             "omega_categorical": oc.to_dict()})
            rows.append({**extra,
                "scale": f"{_short(r, si)}: {_sub_label(r, si, name) if name != 'total' else r.t('c_total')}",
                "k": len(cols), "n": a.n_obs, "alpha": a.estimate,
                "alpha_lo": a.ci[0], "alpha_hi": a.ci[1],
                "omega": o.omega_total, "omega_lo": oci[0], "omega_hi": oci[1],
                "omega_h": o.omega_hierarchical})
    if not rows:
        raise RuntimeError("no scale could be analysed (see the notices above)")
    df = pd.DataFrame(rows).set_index("scale")
    if df["omega_h"].isna().all():
        df = df.drop(columns="omega_h")
    ordcols = [c for c in ("alpha_ordinal", "omega_categorical") if c in df.columns]
    df = df[[c for c in df.columns if c not in ordcols] + ordcols]
    r.table(s, "reliability", r.t("t_reliability"), df,
            {"k": "d", "n": "d", "alpha": "r", "alpha_lo": "r", "alpha_hi": "r", "omega": "r",
             "omega_lo": "r", "omega_hi": "r", "omega_h": "r", "alpha_ordinal": "r",
             "omega_categorical": "r"},
            note=(r.t("n_reliability", nb=nb) if nb else r.t("n_reliability_noboot"))
            + (" " + r.t("n_reliability_ordinal") if ordcols else ""),
            index_label=tr("scale", r.lang),
            column_labels={"alpha": "α", "alpha_lo": "α 95% CI lower", "alpha_hi": "α 95% CI upper",
                           "omega": "ω_t", "omega_lo": "ω_t 95% CI lower",
                           "omega_hi": "ω_t 95% CI upper", "omega_h": "ω_h", "k": "k",
                           "alpha_ordinal": "ordinal α", "omega_categorical": "categorical ω"})
    low = df.index[df["alpha"] < 0.70].tolist()
    if low:
        s.add(WarningList([r.warn("reliability", r.t("w_low_alpha", scales="; ".join(low)))]))
    return out


def _congruence_one(r, si, s, x, method):
    """Translated vs original loadings side by side, with Tucker's congruence (issue 11)."""
    compare, original_solution = need("efa", "compare_to_original"), need("efa", "original_solution")
    L, phi, orig = original_solution(si.instrument, si.columns)
    res = compare(x, L, phi, method=method)
    r.collect_warnings(f"EFA {si.id}", res)
    tab = res.table.copy()
    tab["similarity"] = [r.t(f"cong_{v.replace(' ', '_')}") if v else "" for v in tab["similarity"]]
    fac = list(res.factors.index)
    labels = {f"orig_{f}": f"{f} ({r.t('c_original')})" for f in fac}
    labels.update({f: f"{f} ({r.t('c_translation')})" for f in fac})
    labels.update({"congruence": r.t("c_congruence"), "similarity": r.t("c_similarity")})
    note = r.t("n_congruence", rotation=res.rotation, citation=orig.get("citation") or "-",
               factors="; ".join(f"{f} {fmt.fmt_number(v, 'r', r.lang)}"
                                 for f, v in res.factors["congruence"].items()),
               overall=fmt.fmt_number(res.overall, "r", r.lang))
    r.table(s, f"congruence_{si.id}", r.t("t_congruence", name=_label(r, si)), tab,
            {**{c: "r" for c in tab.columns if c != "similarity"}, "similarity": "s"},
            note=note, index_label=tr("item", r.lang), column_labels=labels)
    return jsonable(res.to_dict())


def _ordinal_reliability(alpha, x):
    """Ordinal alpha (Zumbo et al. 2007) and categorical omega (Green & Yang 2009) of a scale."""
    a = alpha(x, ordinal=True)
    fit = need("sem", "cfa")("f =~ " + " + ".join(map(str, x.columns)), x, ordered=True,
                             missing="pairwise")
    return a, need("reliability", "comp_rel_sem")(fit)


def _alpha_omega(alpha, omega, x, n_groups, nb, seed, progress=None):
    a = alpha(x)
    o = (omega(x, n_groups=n_groups, n_boot=nb, seed=seed, progress=progress) if nb
         else omega(x, n_groups=n_groups))
    return a, o


# ----------------------------------------------------------------------------------------------
def step_scale_scores(r):
    """Scale-level descriptives and intercorrelations (apaTables' apa.cor.table layout),
    overall and by group: M, SD, observed range, omega, and the correlations with Cronbach's
    alpha on the diagonal; a second table gives every correlation with its 95% CI."""
    s = r.report.add(Section("scales", r.t("sec_scales")))
    res = r.guarded(s, "scale descriptives", _scale_scores, r, s)
    r.results["scale_descriptives"] = res or {}


def _scale_scores(r, s):
    score, scale_descriptives = need("scoring", "score"), need("scoring", "scale_descriptives")
    scores, items, n_groups, labels = {}, {}, {}, {}
    for si in r.study.instruments:
        sr = score(r.dataset, si.id)
        k = len(si.instrument.factors())
        for name in sr.scores.columns:
            key = f"{si.id}.{name}"
            scores[key] = sr.scores[name]
            items[key] = sr.items[sr.score_items[name]]
            n_groups[key] = k if name == "total" and k > 1 else 1
            sub = r.t("c_total") if name == "total" else _sub_label(r, si, name)
            labels[key] = sub if len(sr.scores.columns) == 1 and name != "total" \
                else f"{_short(r, si)}: {sub}"
    # the scales done (cases x items, all cases and then each group) give the time left
    kw = {"progress": r.progress.part} if _accepts(scale_descriptives, "progress") else {}
    res = scale_descriptives(pd.DataFrame(scores), items, r.dataset.group, n_groups=n_groups,
                             **kw)
    _section_warnings(s, r.collect_warnings("scale descriptives", res))
    _scale_table(r, s, res, labels, "scale_descriptives", r.t("t_scale_descriptives"))
    _scale_correlations(r, s, res, labels, "scale_correlations", r.t("t_scale_correlations"),
                        r.t("n_scale_correlations"))
    for g, sub in res.by_group.items():
        _scale_table(r, s, sub, labels, f"scale_descriptives_{g}",
                     r.t("t_scale_descriptives_group", group=g))
        _scale_correlations(r, s, sub, labels, f"scale_correlations_{g}",
                            r.t("t_scale_correlations_group", group=g),
                            r.t("n_scale_correlations_group", group=g))
    return jsonable(res.to_dict())


def _scale_correlations(r, s, res, labels, key, title, note):
    """Every correlation of two scale scores with its 95% CI, p and pairwise n."""
    pairs = res.pairs()
    num = {k: i + 1 for i, k in enumerate(res.cor.columns)}
    ci = pairs[["r", "ci_lower", "ci_upper", "pvalue", "n"]].copy()
    loc = lambda k: fmt.localise(str(num[k]), r.lang)  # noqa: E731
    ci.index = [f"{loc(a)}–{loc(b)}: {labels[a]} – {labels[b]}"
                for a, b in zip(pairs["scale1"], pairs["scale2"])]
    r.table(s, key, title, ci, {"r": "r", "ci_lower": "r", "ci_upper": "r", "pvalue": "p",
                                "n": "d"},
            note=note, index_label=r.t("c_pair_scales"),
            column_labels={"r": "r", "ci_lower": "95% CI lower", "ci_upper": "95% CI upper",
                           "pvalue": "p", "n": "n"})


def _scale_table(r, s, res, labels, key, title):
    """One apa.cor.table-style table: numbered scales, n, M, SD, range, ω and the lower
    triangle of the correlations with α on the diagonal."""
    d = res.descriptives
    names = list(d.index)
    df = d[["n", "mean", "sd", "min", "max", "omega"]].copy()
    cols = {}
    for j, b in enumerate(names):
        col = []
        for i, a in enumerate(names):
            col.append(d.at[a, "alpha"] if i == j else (res.cor.at[a, b] if i > j else np.nan))
        cols[str(j + 1)] = col
    for c, v in cols.items():
        df[c] = v
    df.index = [f"{fmt.localise(str(i + 1), r.lang)}. {labels.get(n, n)}"
                for i, n in enumerate(names)]
    r.table(s, key, title, df,
            {"n": "d", "mean": "f2", "sd": "f2", "min": "f2", "max": "f2", "omega": "r"}
            | {c: "r" for c in cols}, note=r.t("n_scale_descriptives"),
            index_label=tr("scale", r.lang),
            column_labels={"n": "n", "mean": "M", "sd": "SD", "min": r.t("c_min"),
                           "max": r.t("c_max"), "omega": "ω"}
            | {c: fmt.localise(c, r.lang) for c in cols})


# ----------------------------------------------------------------------------------------------
def step_efa(r):
    r.report.add(Section("efa", tr("sec_efa", r.lang)))
    _each_instrument(r, "efa", "EFA", _efa_one, "efa")


def _efa_one(r, si, s):
    dimensionality, efa = need("efa", "dimensionality"), need("efa", "efa")
    x = keyed_items(r, si)
    out = {}
    n_iter = r.options["parallel_iterations"]
    with r.progress.step(f"parallel analysis and MAP ({n_iter} random data sets)"):
        dim = dimensionality(x, seed=r.seed, n_iter=n_iter,
                             progress=r.progress.bar("random data sets", n_iter))
    r.collect_warnings(f"EFA {si.id}", dim)
    out["dimensionality"] = jsonable(dim.to_dict() if hasattr(dim, "to_dict") else dim)
    k, b, pa = dim.kmo, dim.bartlett, dim.parallel
    n_hyp = len(si.instrument.factors())
    _para(s, r.t("p_efa"), kmo=k.msa, chisq=b.chisq, df=b.df, p=b.p_value,
          suggested=pa.n_factors, n_hyp=n_hyp, n_iter=n_iter)
    crit = dim.table.set_index("criterion")[["suggested"]].copy()
    crit["reference"] = dim.table.set_index("criterion")["reference"]
    r.table(s, f"dimensionality_{si.id}", r.t("t_dimensionality", name=_label(r, si)), crit,
            {"suggested": "d", "reference": "s"}, index_label=r.t("c_criterion"),
            column_labels={"suggested": r.t("c_suggested"), "reference": r.t("c_reference")})
    r.figure(s, f"scree_{si.id}", r.t("f_scree", name=_label(r, si)), F.scree_plot,
             np.asarray(pa.observed_pc, dtype=float), np.asarray(pa.sim_pc_quantile, dtype=float),
             observed_fa=pa.observed_fa, simulated_fa=pa.sim_fa_quantile,
             labels={"observed": r.t("l_observed"), "simulated": r.t("l_simulated"),
                     "observed_fa": r.t("l_observed_fa"), "simulated_fa": r.t("l_simulated_fa"),
                     "x": r.t("l_factor_number"), "y": r.t("l_eigenvalue")})
    n_fac = int(r.options.get("n_factors") or n_hyp)
    method = r.options.get("efa_method", "minres")
    rotation = r.options.get("rotation", "oblimin") if n_fac > 1 else "none"
    e = efa(x, n_fac, method=method, rotation=rotation)
    _section_warnings(s, r.collect_warnings(f"EFA {si.id}", e))
    out["efa"] = jsonable(e.to_dict())
    cut = float(r.options.get("salient_loading", SALIENT_LOADING))
    load = e.loadings.copy()
    factors = list(load.columns)
    salient = load.abs() >= cut
    load["h2"] = e.communalities.reindex(load.index)
    # factors named as the table's headers show them (psych's MR1 -> "Factor 1")
    import re
    fac_label = {}
    for f in factors:
        m = re.fullmatch(r"(?:MR|PA|ML|F|Factor)(\d+)", str(f))
        fac_label[f] = f"{tr('factor', r.lang)} {fmt.localise(m.group(1), r.lang)}" if m else f
    load["salient"] = [", ".join(fac_label[f] for f in factors if salient.at[i, f]) or None
                       for i in load.index]
    bold = pd.DataFrame(False, index=load.index, columns=load.columns)
    bold[factors] = salient.to_numpy()
    load.index = mark_reversed(r, si, load.index)
    bold.index = load.index
    r.table(s, f"efa_{si.id}", r.t("t_efa", name=_label(r, si), n=n_fac), load,
            {c: "r" for c in factors} | {"h2": "r", "salient": "s"},
            note=_reversed_note(r, si, r.t("n_efa", method=method, rotation=rotation) + " "
                                + r.t("n_salient", cut=fmt.fmt_number(cut, "r", r.lang))),
            index_label=tr("item", r.lang), bold=bold,
            column_labels={"h2": "h²", "salient": r.t("c_salient", cut=fmt.fmt_number(cut, "r", r.lang))})
    var = e.variance.loc[[i for i in ("SS loadings", "Proportion Var", "Cumulative Var")
                          if i in e.variance.index]].T
    var.columns = ["ss", "prop", "cum"][:len(var.columns)]
    r.table(s, f"efa_variance_{si.id}", r.t("t_efa_variance", name=_label(r, si)), var,
            {"ss": "f2", "prop": "r", "cum": "r"}, note=r.t("n_efa_variance"),
            index_label=tr("factor", r.lang),
            column_labels={"ss": r.t("c_ss_loadings"), "prop": r.t("c_prop_var"),
                           "cum": r.t("c_cum_var")})
    if n_fac > 1:
        out["phi"] = jsonable(e.phi)
        if e.oblique:
            phi = e.phi.copy()
            phi = phi.where(np.tril(np.ones(phi.shape, dtype=bool)))
            r.table(s, f"efa_phi_{si.id}", r.t("t_efa_phi", name=_label(r, si)), phi,
                    {c: "r" for c in phi.columns}, note=r.t("n_efa_phi", rotation=rotation),
                    index_label=tr("factor", r.lang))
    r.figure(s, f"loadings_{si.id}", r.t("f_heatmap", name=_label(r, si)), F.loading_heatmap,
             e.loadings)
    if getattr(si.instrument, "original", None):
        out["congruence"] = _congruence_one(r, si, s, x, method)
    if r.options["split_half"]:
        # its own step: a failure leaves the EFA above (and in results.json) intact
        sh_out = r.guarded(s, f"split-half validation: {si.id}", _split_half, r, si, s, x,
                           n_fac, n_iter)
        if sh_out is not None:
            out["split_half"] = sh_out
    return out


def _split_half(r, si, s, x, n_fac, n_iter):
    sh = need("efa", "split_half_validation")
    data = x.copy()
    gcol = r.dataset.group_column
    if gcol is not None:
        g = pd.Series(r.dataset.group, index=data.index).astype(object)
        # cases without a group (blank cell, missing code) form their own stratum: the halves
        # are stratified by group, not restricted to cases with one (issue 12)
        data[gcol] = g.where(g.notna(), "(no group)")
    res = sh(data, items=list(x.columns), n_factors=n_fac, group=gcol, seed=r.seed,
             model=si.cfa_syntax(), estimator=r.study.estimator, cfa_missing=r.study.missing,
             n_iter=n_iter, progress=r.progress.bar(f"split half {si.id} (EFA, CFA)", 2))
    r.collect_warnings(f"split half {si.id}", res)
    sh_dict = jsonable(res.to_dict())
    fr = res.to_frame()
    r.table(s, f"split_half_{si.id}", r.t("t_split_half", name=_label(r, si)), fr,
            {c: ("r" if pd.api.types.is_float_dtype(fr[c]) else "s") for c in fr.columns},
            note=r.t("n_split_half", n1=len(res.efa_index), n2=len(res.cfa_index)),
            index_label=tr("item", r.lang))
    if res.fit_measures:
        _fit_paragraph(r, s, res.fit_measures)
    return sh_dict


# ----------------------------------------------------------------------------------------------
def step_cfa(r):
    r.report.add(Section("cfa", tr("sec_cfa", r.lang)))
    _each_instrument(r, "cfa", "CFA", _cfa_one, "cfa")


def _cfa_one(r, si, s):
    cfa = need("sem", "cfa")
    model = si.cfa_syntax()
    data = keyed_items(r, si)
    kw = _si_fit_kwargs(r, si)
    with r.progress.measure("model fit", _cost(r, data.shape[1], "CFA")):
        fit = cfa(model, data, **kw)
    r.cfa_fits[si.id] = fit
    r.add_fit(f"cfa_{si.id}", f"CFA {_short(r, si)}", fit)
    _section_warnings(s, r.collect_warnings(f"CFA {si.id}", fit))
    s.add(Code(model))
    fm = fit.fit_measures()
    _fit_paragraph(r, s, fm)
    params = fit.parameters()
    lo = params[params["op"] == "=~"].copy()
    df = pd.DataFrame({
        "factor": [_sub_label(r, si, f) for f in lo["lhs"]],
        "est": lo["est"].to_numpy(), "se": lo["se"].to_numpy(), "z": lo["z"].to_numpy(),
        "std_all": lo["std_all"].to_numpy()},
        index=pd.Index(mark_reversed(r, si, lo["rhs"].to_numpy()), name="item"))
    r.table(s, f"cfa_{si.id}", r.t("t_cfa", name=_label(r, si)), df,
            {"factor": "s", "est": "f2", "se": "f2", "z": "f2", "std_all": "r"},
            note=_reversed_note(r, si, r.t("n_cfa_ordinal", estimator=kw["estimator"],
                                            missing=kw["missing"]) if kw.get("ordered") else
                                r.t("n_cfa", estimator=kw["estimator"], missing=kw["missing"])),
            index_label=tr("item", r.lang),
            column_labels={"factor": tr("factor", r.lang), "est": "B", "se": "SE", "z": "z",
                           "std_all": "β"})
    if kw.get("ordered"):
        th = params[params["op"] == "|"]
        tdf = th.pivot_table(index="lhs", columns="rhs", values="est", sort=False)
        tdf.index.name = "item"
        r.table(s, f"thresholds_{si.id}", r.t("t_thresholds", name=_label(r, si)), tdf,
                {c: "f2" for c in tdf.columns}, note=r.t("n_thresholds"),
                index_label=tr("item", r.lang))
    factors = {}
    for f, item, std in zip(lo["lhs"], lo["rhs"], lo["std_all"]):
        factors.setdefault(f, []).append((item, float(std) if std is not None else np.nan))
    cov = params[(params["op"] == "~~") & (params["lhs"] != params["rhs"])
                 & params["lhs"].isin(factors) & params["rhs"].isin(factors)]
    cors = {(a, b): float(v) for a, b, v in zip(cov["lhs"], cov["rhs"], cov["std_all"])}
    r.figure(s, f"path_{si.id}", r.t("f_path", name=_label(r, si)), F.path_diagram, factors,
             correlations=cors, factor_labels={f: _sub_label(r, si, f) for f in factors})
    _local_fit_tables(r, s, fit, si.id, _label(r, si))
    return _fit_dict(fit, model)


def _param_text(r, lhs, op, rhs) -> str:
    """A model parameter in words and arrows (never lavaan syntax): factor → item for a
    loading, a ↔ b for a (residual) covariance, predictor → outcome for a regression."""
    lab = r.factor_labels()
    a, b = lab.get(lhs, lhs), lab.get(rhs, rhs)
    if op == "=~":
        return f"{a} → {b}"
    if op == "~":
        return f"{b} → {a}"
    if op == "~~":
        return f"{a} ↔ {b}"
    if op == "~1":
        return r.t("c_intercept_of", name=a)
    return f"{a} {op} {b}"


def _op_text(r, op, lhs=None, rhs=None) -> str:
    if op == "~~" and lhs == rhs:
        return r.t("op_variance")
    return r.t({"=~": "op_loading", "~": "op_regression", "~~": "op_covariance",
                "~1": "op_intercept"}.get(op, "op_other"))


def _local_fit_tables(r, s, fit, key, name):
    """Modification indices at or above MI_THRESHOLD (lavaan::modindices) and residual
    correlations at or above RESIDUAL_THRESHOLD in absolute value (lavaan's
    residuals(type = "cor")) of a fitted model; a sentence when none reaches its threshold."""
    mi_cut = float(r.options.get("mi_threshold", MI_THRESHOLD))
    res_cut = float(r.options.get("residual_threshold", RESIDUAL_THRESHOLD))
    try:
        mi = fit.modindices(sort=True)
    except PsychometricsError as exc:     # e.g. GLS/ULS: lavaan has no modification indices
        mi = None
        s.add(Notice(r.t("no_modindices", reason=str(exc)), kind="missing"))
    big = mi[mi["mi"] >= mi_cut] if mi is not None else []
    multi = mi is not None and "group" in mi.columns and mi["group"].notna().any()
    if mi is None:
        pass
    elif len(big):
        df = pd.DataFrame({
            "type": [_op_text(r, o, a, b) for a, o, b in zip(big["lhs"], big["op"], big["rhs"])],
            "mi": big["mi"].to_numpy(), "epc": big["epc"].to_numpy(),
            "sepc_all": big["sepc_all"].to_numpy()},
            index=[_param_text(r, a, o, b) + (f" ({g})" if multi else "")
                   for a, o, b, g in zip(big["lhs"], big["op"], big["rhs"], big["group"])])
        r.table(s, f"modindices_{key}", r.t("t_modindices", name=name), df,
                {"type": "s", "mi": "f2", "epc": "f3", "sepc_all": "r"},
                note=r.t("n_modindices", cut=fmt.fmt_number(mi_cut, "f0", r.lang)),
                index_label=r.t("c_parameter"),
                column_labels={"type": r.t("c_type"), "mi": "MI", "epc": "EPC",
                               "sepc_all": r.t("c_sepc_all")})
    else:
        top = mi.iloc[0] if len(mi) else None
        _para(s, r.t("p_no_modindices"), cut=mi_cut, largest=None if top is None else top["mi"],
              param="—" if top is None else _param_text(r, top["lhs"], top["op"], top["rhs"]))
    rows = []
    for blk in fit.residuals(type="cor"):
        R = blk["cov"]
        ov = list(R.columns)
        for i in range(len(ov)):
            for j in range(i):
                rows.append({"a": ov[j], "b": ov[i], "group": blk.get("group"),
                             "res": float(R.iat[i, j])})
    rd = pd.DataFrame(rows, columns=["a", "b", "group", "res"])
    rd = rd.reindex(rd["res"].abs().sort_values(ascending=False, kind="stable").index)
    big = rd[rd["res"].abs() >= res_cut]
    multi = rd["group"].nunique(dropna=True) > 1
    if len(big):
        df = pd.DataFrame({"res": big["res"].to_numpy()},
                          index=[f"{a} ↔ {b}" + (f" ({g})" if multi else "")
                                 for a, b, g in zip(big["a"], big["b"], big["group"])])
        r.table(s, f"residuals_{key}", r.t("t_residuals", name=name), df, {"res": "r3"},
                note=r.t("n_residuals", cut=fmt.fmt_number(res_cut, "r", r.lang)),
                index_label=r.t("c_pair_items"), column_labels={"res": r.t("c_residual_r")})
    else:
        top = rd.iloc[0] if len(rd) else None
        _para(s, r.t("p_no_residuals"), cut=res_cut,
              largest=None if top is None else abs(top["res"]),
              pair="—" if top is None else f"{top['a']} ↔ {top['b']}")


def _fit_paragraph(r, s, fm):
    if fm.get("problem"):       # not a result: say why instead of printing its indices
        s.add(Notice(r.t("fit_problem", reason=fm["problem"]), kind="failed"))
        return
    robust = "cfi_robust" in fm and fm.get("cfi_robust") is not None
    chisq = fm.get("chisq_scaled") if robust else fm.get("chisq")
    p = fm.get("pvalue_scaled") if robust else fm.get("pvalue")
    _para(s, r.t("p_fit_robust" if robust else "p_fit"), chisq=chisq, df=fm.get("df"), p=p,
          cfi=fm.get("cfi_robust") if robust else fm.get("cfi"),
          tli=fm.get("tli_robust") if robust else fm.get("tli"),
          rmsea=fm.get("rmsea_robust") if robust else fm.get("rmsea"),
          lo=fm.get("rmsea_ci_lower_robust", fm.get("rmsea_ci_lower")) if robust else fm.get("rmsea_ci_lower"),
          hi=fm.get("rmsea_ci_upper_robust", fm.get("rmsea_ci_upper")) if robust else fm.get("rmsea_ci_upper"),
          srmr=fm.get("srmr"))


# ----------------------------------------------------------------------------------------------
def step_invariance(r):
    r.report.add(Section("invariance", tr("sec_invariance", r.lang)))
    if r.dataset.group is None:
        r.report.sections[-1].add(Notice(r.t("no_group")))
        r.results["invariance"] = {}
        return
    _each_instrument(r, "invariance", "invariance", _invariance_one, "invariance")


def _invariance_one(r, si, s):
    invariance = need("invariance", "invariance")
    data = keyed_items(r, si)
    gcol = r.dataset.group_column
    data[gcol] = r.dataset.group
    ref = r.study.group.reference if r.study.group is not None else None
    if ref is not None:
        # groups are taken in order of first appearance (lavaan): the study's reference
        # group goes first so that latent means are differences from it
        data = data.iloc[np.argsort((data[gcol] != ref).to_numpy(), kind="stable")]
    levels = tuple(r.options.get("invariance_levels") or ("configural", "metric", "scalar", "strict"))
    kw = _si_fit_kwargs(r, si)
    if kw.get("ordered"):
        # ordinal: configural -> thresholds -> metric -> scalar (Wu & Estabrook 2016)
        levels = tuple(lv for lv in ("configural", "thresholds", "metric", "scalar")
                       if lv in ("configural", "thresholds") or lv in levels)
    inv = invariance(si.cfa_syntax(), data, gcol, levels=levels, **kw,
                     progress=r.progress.bar(f"invariance fits {si.id}", len(levels)))
    _section_warnings(s, r.collect_warnings(f"invariance {si.id}", inv))
    tab = inv.table.copy()
    if kw.get("ordered"):
        # the scaled WLSMV indices drive the decisions; show them under the usual columns
        tab["chisq"], tab["cfi"], tab["rmsea"] = tab["chisq_scaled"], tab["cfi_scaled"], tab["rmsea_scaled"]
        tab = tab.drop(columns=[c for c in ("cfi_robust", "rmsea_robust") if c in tab.columns])
    robust = "cfi_robust" in tab.columns and tab["cfi_robust"].notna().any()
    # with MLR the robust indices replace the ML ones (all of them are in results.json)
    fit_cols = (["chisq_scaled", "df", "cfi_robust", "rmsea_robust", "srmr"] if robust
                else ["chisq", "df", "cfi", "rmsea", "srmr"])
    cols = [c for c in fit_cols + ["chisq_diff", "df_diff", "p_diff", "delta_cfi", "delta_rmsea",
                                   "delta_srmr", "decision"] if c in tab.columns]
    df = tab[cols].copy()
    if "decision" in df.columns:
        df["decision"] = df["decision"].map(
            lambda d: r.t("dec_" + str(d).replace(" ", "_")) if ("dec_" + str(d).replace(" ", "_"))
            in TEXT else d)
    df.index = [_level_text(r, lv) for lv in df.index]
    r.table(s, f"invariance_{si.id}", r.t("t_invariance", name=_label(r, si)), df,
            {"chisq": "f2", "chisq_scaled": "f2", "df": "d", "cfi": "r3", "tli": "r3",
             "rmsea": "r3", "srmr": "r3", "cfi_robust": "r3", "rmsea_robust": "r3",
             "chisq_diff": "f2", "df_diff": "d", "p_diff": "p", "delta_cfi": "r3",
             "delta_rmsea": "r3", "delta_srmr": "r3", "decision": "s"},
            column_labels={"chisq": "χ²", "chisq_scaled": "χ² scaled", "cfi": "CFI",
                           "cfi_robust": "CFI robust", "rmsea": "RMSEA", "rmsea_robust": "RMSEA robust",
                           "srmr": "SRMR", "chisq_diff": "Δχ²", "df_diff": "Δdf", "p_diff": "p",
                           "delta_cfi": "ΔCFI", "delta_rmsea": "ΔRMSEA", "delta_srmr": "ΔSRMR",
                           "decision": r.t("c_decision")},
            note=r.t("n_invariance_ordinal") if kw.get("ordered") else r.t("n_invariance_table"),
            index_label=tr("level", r.lang))
    freed = getattr(inv, "freed", None)
    if isinstance(freed, pd.DataFrame) and len(freed):
        _partial_table(r, s, si, freed)
    # the changes the decision rule judges (with MLR from the robust indices, as the table)
    level_labels = {lv: _level_text(r, lv) for lv in tab.index}
    r.figure(s, f"invariance_{si.id}", r.t("f_invariance_delta", name=_label(r, si)),
             F.invariance_plot, list(tab.index),
             list(tab["delta_cfi"]) if "delta_cfi" in tab.columns else [None] * len(tab),
             list(tab["delta_rmsea"]) if "delta_rmsea" in tab.columns else [None] * len(tab),
             level_labels=level_labels, labels={"cut": r.t("l_chen_cutoff")})
    lm = getattr(inv, "latent_means", None)
    if isinstance(lm, pd.DataFrame) and len(lm):
        keep = [c for c in ("mean_diff", "se", "z", "pvalue", "d") if c in lm.columns]
        lmf = lm[keep].copy()
        lmf.index = [f"{r.factor_labels().get(f, f)}: {g}" for f, g in zip(lm["factor"], lm["group"])]
        r.table(s, f"latent_means_{si.id}", r.t("t_latent_means", name=_label(r, si)), lmf,
                {"mean_diff": "f3", "se": "f3", "z": "f2", "pvalue": "p", "d": "f2"},
                note=r.t("n_latent_means", ref=str(getattr(inv, "reference_group", ""))),
                index_label=tr("factor", r.lang),
                column_labels={"mean_diff": r.t("c_mean_diff"), "se": "SE", "pvalue": "p"})
    for lv, fit in (_get(inv, "fits", default={}) or {}).items():
        r.add_fit(f"invariance_{si.id}_{lv}", f"{_short(r, si)}: {_level_text(r, lv)}", fit)
    return jsonable(inv.to_dict() if hasattr(inv, "to_dict") else {"table": tab})


def _level_text(r, level) -> str:
    """An invariance level in words: "scalar (partial)" -> the translated "scalar, partial"."""
    base, _, rest = str(level).partition(" (")
    name = r.t("lv_" + base) if ("lv_" + base) in TEXT else base
    return r.t("lv_partial_of", level=name) if rest.startswith("partial") else name


def _partial_table(r, s, si, freed):
    """The released constraints of the partial-invariance search: parameter, the level
    whose failure released it, its score test (lavTestScore: χ², df, p) and why."""
    rows = []
    for _, f in freed.iterrows():
        rows.append({"param": _param_text(r, f["lhs"], f["op"], f["rhs"]),
                     "type": _op_text(r, f["op"], f["lhs"], f["rhs"]),
                     "level": _level_text(r, f["level"]), "order": f["order"],
                     "X2": f["X2"], "df": f["df"], "pvalue": f["pvalue"],
                     "reason": r.t("reason_released", level=_level_text(r, f["level"]))})
    df = pd.DataFrame(rows).set_index("param")
    r.table(s, f"partial_invariance_{si.id}", r.t("t_partial", name=_label(r, si)), df,
            {"type": "s", "level": "s", "order": "d", "X2": "f2", "df": "d", "pvalue": "p",
             "reason": "s"}, note=r.t("n_partial"), index_label=r.t("c_parameter"),
            column_labels={"type": r.t("c_type"), "level": tr("level", r.lang),
                           "order": r.t("c_order"), "X2": "χ²", "df": "df", "pvalue": "p",
                           "reason": r.t("c_reason")})


# ----------------------------------------------------------------------------------------------
def measurement_syntax(r) -> str:
    return "\n".join(si.cfa_syntax() for si in r.study.instruments)


def all_items(r) -> pd.DataFrame:
    return pd.concat([keyed_items(r, si) for si in r.study.instruments], axis=1)


def step_measurement(r):
    s = r.report.add(Section("measurement", tr("sec_measurement", r.lang)))
    # a model fit like the CFAs: its time left from their seconds per unit of cost
    n_items = sum(len(si.item_columns) for si in r.study.instruments)
    with r.progress.group("model", 1, costs=[_cost(r, n_items, "CFA")], kind="CFA"):
        res = r.guarded(s, "full measurement model", _measurement, r, s)
    r.results["measurement_model"] = res or {}


def _measurement(r, s):
    cfa = need("sem", "cfa")
    model = measurement_syntax(r)
    data = all_items(r)
    # its own kind: the structural model's fit and its bootstrap's set-up (same items, same
    # cases) are timed at this fit's speed, not the CFAs' (at 324 cases the CFAs' fits are
    # mostly a fixed 0.03 s, which the model fits' reference has not, and said 7 s for the
    # structural fit's 0.8 s at load 6)
    with r.progress.measure("measurement fit", _cost(r, data.shape[1], "CFA")):
        fit = cfa(model, data, **_fit_kwargs(r))
    r.measurement_fit = fit
    # the fit measures (baseline and saturated models; the fit-table row computes them) time
    # the structural model's
    with r.progress.measure("fit measures", _cost(r, data.shape[1], "CFA")):
        r.add_fit("measurement", r.t("m_measurement"), fit)
        fm = fit.fit_measures()
    _section_warnings(s, r.collect_warnings("measurement model", fit))
    s.add(Code(model))
    _fit_paragraph(r, s, fm)
    _local_fit_tables(r, s, fit, "measurement", r.t("m_measurement"))
    return _fit_dict(fit, model)


def step_validity(r):
    s = r.report.add(Section("validity", tr("sec_validity", r.lang)))
    res = r.guarded(s, "validity (AVE, CR, Fornell-Larcker, HTMT)", _validity, r, s)
    r.results["validity"] = res or {}


def _validity(r, s):
    validity = need("validity", "validity")
    fit = getattr(r, "measurement_fit", None)
    if fit is None:
        raise RuntimeError("the full measurement model could not be fitted (see its section)")
    if getattr(fit, "problem", None):
        from ..errors import ModelError
        raise ModelError(f"the full measurement model is not a result ({fit.problem}); AVE, "
                         "composite reliability and HTMT are not computed from it")
    nb = r.options["bootstrap"]
    data = all_items(r)
    with r.progress.step(f"HTMT bootstrap ({nb} draws)"):
        # before its first draws are done (at large N mostly the full-sample EM of the
        # HTMT under FIML) the step is timed by the reference run at this run's speed
        r.progress.phase("HTMT: full sample and first draws", kind="HTMT set-up",
                         cost=_cost(r, data.shape[1]))
        v = validity(fit, data=data, n_boot=nb, seed=r.seed,
                     progress=_htmt_progress(r, nb) if nb else None)
    _section_warnings(s, r.collect_warnings("validity", v))
    labels = r.factor_labels()
    tab = v.to_frame()
    cols = [c for c in ("n_items", "AVE", "CR", "sqrt_AVE", "max_r", "MSV", "ave_ok", "cr_ok",
                        "fornell_larcker_ok") if c in tab.columns]
    tab = tab[cols].rename(index=labels)
    for c in ("ave_ok", "cr_ok", "fornell_larcker_ok"):
        if c in tab.columns:
            tab[c] = tab[c].map(lambda b: r.t("yes") if b else r.t("no"))
    r.table(s, "validity", r.t("t_validity"), tab,
            {"n_items": "d", "AVE": "r", "CR": "r", "sqrt_AVE": "r", "max_r": "r", "MSV": "r",
             "ave_ok": "s", "cr_ok": "s", "fornell_larcker_ok": "s"},
            note=r.t("n_validity"), index_label=tr("factor", r.lang),
            column_labels={"n_items": "k", "sqrt_AVE": "√AVE", "max_r": "max |r|",
                           "ave_ok": "AVE ≥ .50", "cr_ok": "CR ≥ .70",
                           "fornell_larcker_ok": "Fornell–Larcker"})
    fl = v.fornell_larcker.rename(index=labels, columns=labels)
    r.table(s, "fornell_larcker", r.t("t_fornell"), fl, {c: "r" for c in fl.columns},
            note=r.t("n_fornell_larcker"), index_label=tr("factor", r.lang))
    if v.htmt is not None:
        h = v.htmt.to_frame()
        h.index = [f"{labels.get(a, a)} – {labels.get(b, b)}" for a, b in zip(h["factor1"], h["factor2"])]
        h = h.drop(columns=["factor1", "factor2"])
        h["below_threshold"] = h["below_threshold"].map(lambda b: r.t("yes") if b else r.t("no"))
        r.table(s, "htmt", r.t("t_htmt"), h,
                {"htmt": "r", "ci_lower": "r", "ci_upper": "r", "below_threshold": "s"},
                note=r.t("n_htmt", nb=nb) + " " + r.t(
                    "n_htmt_n", n=v.htmt.n_obs, how=r.t("htmt_" + v.htmt.missing)),
                index_label=r.t("c_pair"),
                column_labels={"htmt": "HTMT", "ci_lower": "95% CI lower", "ci_upper": "95% CI upper",
                               "below_threshold": "< .85"})
    return jsonable(v.to_dict())


def _htmt_progress(r, nb: int):
    """The ``progress(done, total)`` callback of the HTMT bootstrap's ``nb`` draws, inside the
    running part "HTMT: full sample and first draws": a call with ``done = 0`` (the draws
    begin, after the full-sample estimate) starts the bar's clock, so that its first update
    already gives an estimate (the draws done over the time since), instead of waiting for
    the second update (2.3 s without an estimate at 200,000 cases, FIML: one draw at a
    time); the first draws done end the part and the bar takes over.  Counts only."""
    bar = r.progress.bar("HTMT bootstrap draws", nb, setup=True)
    first = [True]

    def progress(done, total=None):
        if done <= 0:
            bar.start()
            return
        if first[0]:
            first[0] = False
            r.progress.phase(None)
        bar(done, total)

    return progress


# ----------------------------------------------------------------------------------------------
def step_structural(r):
    s = r.report.add(Section("structural", tr("sec_structural", r.lang)))
    meas = measurement_syntax(r)
    st = r.study.structural
    model = meas + ("\n" + st["model"].strip() if st else "")
    _para(s, r.t("p_structural_syntax"))
    s.add(Code(model))
    out = {"syntax": model}
    if st:
        res = r.guarded(s, "structural model", _structural, r, s, model)
        if res:
            out.update(res)
    else:
        s.add(Notice(r.t("no_structural")))
    r.results["structural"] = out


def _structural(r, s, model):
    sem = need("sem", "sem")
    nb = r.options["sem_bootstrap"]
    data = all_items(r)
    cost = _cost(r, data.shape[1], "CFA")
    # timed by the reference run's structural fit at the speed of this run's measurement
    # model's fit (on the same data): it reuses the measurement
    # model's saturated-model EM and needs fewer evaluations, so the fits' own rate would
    # say several times too long
    with r.progress.step("fit of the structural model", kind="structural fit", cost=cost,
                         like="measurement fit"):
        fit = sem(model, data, **_fit_kwargs(r))
    # after the fit: its fit measures (the fit-table row takes them), timed by the
    # measurement model's (same items and cases), then the parameters with standardised
    # estimates
    with r.progress.step("fit measures of the structural model", kind="fit measures",
                         cost=cost):
        r.add_fit("structural", r.t("label_structural"), fit)
        fm = fit.fit_measures()
    _section_warnings(s, r.collect_warnings("structural model", fit))
    _fit_paragraph(r, s, fm)
    with r.progress.step("parameters and standardised estimates"):
        params = fit.parameters()
    reg = params[params["op"].isin(["~", ":="])].copy()
    boot = None
    if nb:
        try:
            bootstrap = need("sem.bootstrap", "bootstrap")
        except Exception:
            bootstrap = None
        if bootstrap is None:
            s.add(Notice(r.t("no_sem_bootstrap", nb=nb)))
            r.warn("structural model", r.t("no_sem_bootstrap", nb=nb))
        else:
            with r.progress.step(f"bootstrap of the structural model ({nb} draws)"):
                boot = bootstrap(fit, R=nb, seed=r.seed, n_jobs=-1,
                                 **_bootstrap_progress(r, bootstrap, nb, cost))
            _section_warnings(s, r.collect_warnings("structural model bootstrap", boot))
    df = pd.DataFrame({
        "path": [f"{a} {op} {b}" if op == "~" else f"{a}" for a, op, b in
                 zip(reg["lhs"], reg["op"], reg["rhs"])],
        "est": reg["est"].to_numpy(), "se": reg["se"].to_numpy(), "pvalue": reg["pvalue"].to_numpy(),
        "ci_lower": reg["ci_lower"].to_numpy(), "ci_upper": reg["ci_upper"].to_numpy(),
        "std_all": reg["std_all"].to_numpy()}).set_index("path")
    if boot is not None:
        bf = boot.to_frame(ci_type="perc")
        key = lambda fr: list(zip(fr["lhs"], fr["op"], fr["rhs"]))  # noqa: E731
        ci = {k: (lo, hi) for k, lo, hi in zip(key(bf), bf["ci_lower"], bf["ci_upper"])}
        df["ci_lower"] = [ci.get(k, (np.nan, np.nan))[0] for k in key(reg)]
        df["ci_upper"] = [ci.get(k, (np.nan, np.nan))[1] for k in key(reg)]
        note = r.t("n_structural", nb=boot.n_successful)
        if boot.R < 1000:
            note += " " + r.t("n_few_draws", R=boot.R)
    else:
        note = r.t("n_structural_delta")
    r.table(s, "structural", r.t("t_structural"), df,
            {"est": "f3", "se": "f3", "pvalue": "p", "ci_lower": "f3", "ci_upper": "f3",
             "std_all": "r"}, note=note, index_label=r.t("c_path"),
            column_labels={"est": "B", "se": "SE", "pvalue": "p", "ci_lower": "95% CI lower",
                           "ci_upper": "95% CI upper", "std_all": "β"})
    _structural_figure(r, s, params)
    out = _fit_dict(fit, model)
    out["bootstrap"] = jsonable(boot.to_dict()) if boot is not None else None
    return out


def _bootstrap_progress(r, bootstrap, nb, cost) -> dict:
    """Keywords for :func:`sem.bootstrap.bootstrap` that show its progress: its draws as a
    bar, and, before the first draws are done, the parts of its set-up it reports
    (``setup(part)``), each timed by the reference run's part at the speed of this run's
    model fits; the bar's first estimate comes with its first update (the draws done since
    the set-up).  Counts and labels only: the bootstrap's result does not depend on them."""
    import os
    # n_jobs=-1: a worker per core; at the first update the other workers' draws are under way
    bar = r.progress.bar("bootstrap draws", nb, setup=True, parallel=min(nb, os.cpu_count() or 1))
    if not _accepts(bootstrap, "setup"):
        return {"progress": bar}
    state = {"open": False}

    def setup(part):
        state["open"] = True
        if part.startswith(BOOT_DRAWS_PART):
            bar.start()
        # the first lockstep draws: a chunk of them, of which the reference run's (20 draws)
        # held fewer at small N (1,000 draws at 324 cases: 128, 0.55 s on a quiet machine,
        # where the reference said 0.1 s)
        k = _first_chunk_share(r, nb, cost) if part == BOOT_DRAWS_PART else 1.0
        r.progress.phase(f"bootstrap set-up: {part}", kind=f"bootstrap {part}", cost=cost,
                         like="measurement fit", scale=k)

    def progress(done, total=None):
        if state["open"]:
            state["open"] = False
            r.progress.phase(None)
        bar(done, total)

    return {"progress": progress, "setup": setup}


#: the part of the structural bootstrap's set-up that is its first draws (the bar's start)
BOOT_DRAWS_PART = "first draws"

#: draws of the reference run's structural bootstrap (``bench_progress.py calibrate``'s
#: ``--bootstrap``), whose first chunk of lockstep draws REFERENCE_SECONDS times
REFERENCE_DRAWS = 20


def _first_chunk_share(r, nb: int, cost: float) -> float:
    """The draws of this run's first chunk of lockstep draws (``nb`` draws) over those of the
    reference run's (:data:`REFERENCE_DRAWS`), for the progress display: a chunk holds at most
    ``sem.bootstrap.CHUNK`` draws and fewer on large data sets (``CHUNK_BYTES`` over about 8
    bytes per item and case a draw); 1 when the cases are not known.  Returns the part's
    ``scale`` (``Progress.expected``); nothing of the bootstrap depends on it."""
    n = getattr(getattr(r, "dataset", None), "n", None)
    if not n or not cost or nb <= 0:
        return 1.0
    from ..sem.bootstrap import CHUNK, CHUNK_BYTES
    items = (float(cost) / n) ** (1.0 / COST_EXPONENTS["CFA"])
    limit = max(1, int(CHUNK_BYTES // max(1.0, 8.0 * items * n)))

    def chunk(draws):
        return max(1, min(int(draws), CHUNK, limit))

    return chunk(nb) / chunk(REFERENCE_DRAWS)


def _structural_figure(r, s, params):
    """Path diagram of the latent variables: regressions, second-order loadings and the
    covariances among them, with lavaan's std.all estimates (copied from the fit)."""
    latent = set(params.loc[params["op"] == "=~", "lhs"])
    first = params.loc[params["op"] == "=~"]
    second = first[first["rhs"].isin(latent)]
    reg = params[(params["op"] == "~") & params["lhs"].isin(latent) & params["rhs"].isin(latent)]
    edges = [{"from": a, "op": "=~", "to": b, "std": float(v)}
             for a, b, v in zip(second["lhs"], second["rhs"], second["std_all"])]
    edges += [{"from": a, "op": "~", "to": b, "std": float(v)}
              for a, b, v in zip(reg["lhs"], reg["rhs"], reg["std_all"])]
    nodes = {n for e in edges for n in (e["from"], e["to"])}
    cov = params[(params["op"] == "~~") & (params["lhs"] != params["rhs"])
                 & params["lhs"].isin(nodes) & params["rhs"].isin(nodes)]
    edges += [{"from": a, "op": "~~", "to": b, "std": float(v)}
              for a, b, v in zip(cov["lhs"], cov["rhs"], cov["std_all"])]
    if not reg.empty:
        r.figure(s, "path_structural", r.t("f_structural"), F.structural_diagram, edges,
                 labels=r.factor_labels() | _structural_labels(r, nodes))


# ----------------------------------------------------------------------------------------------
def step_fit_table(r):
    s = r.report.add(Section("fit", r.t("sec_fit")))
    if not r.fits:
        s.add(Notice(r.t("no_fits")))
        return
    rows = {label: row for key, label, row in r.fits if row is not None}
    df = pd.DataFrame.from_dict(rows, orient="index")
    if "status" in df.columns:
        df = df[[c for c in df.columns if c != "status"] + ["status"]]
    r.table(s, "fit_indices", r.t("t_fit"), df, {c: FIT_FORMATS.get(c, "r3") for c in df.columns}
            | {"chisq_scaled": "f2", "pvalue_scaled": "p", "status": "s"},
            note=r.t("n_fit"), index_label=tr("model", r.lang),
            column_labels={"chisq": "χ²", "pvalue": "p", "chisq_scaled": "χ² scaled",
                           "pvalue_scaled": "p scaled", "rmsea_ci_lower": "RMSEA 90% CI lower",
                           "rmsea_ci_upper": "RMSEA 90% CI upper", "cfi": "CFI", "tli": "TLI",
                           "rmsea": "RMSEA", "srmr": "SRMR", "aic": "AIC", "bic": "BIC",
                           "cfi_robust": "CFI robust", "tli_robust": "TLI robust",
                           "rmsea_robust": "RMSEA robust", "status": r.t("c_status")})


def step_methods(r, section):
    """The methods paragraphs, written from what was actually run (and with what options)."""
    st, res, o = r.study, r.results, r.options
    ran = lambda key: bool(res.get(key))  # noqa: E731
    parts = []
    if ran("screening"):
        parts.append(("m_screening", {}))
    if ran("item_analysis") or ran("reliability"):
        parts.append(("m_reliability" if o["omega_bootstrap"] else "m_reliability_noboot",
                      {"nb": o["omega_bootstrap"]}))
    if ran("efa"):
        parts.append(("m_efa", {"n_iter": o["parallel_iterations"],
                                "method": o.get("efa_method", "minres"),
                                "rotation": o.get("rotation", "oblimin")}))
        if o["split_half"]:
            parts.append(("m_split_half", {}))
    if ran("cfa") or ran("measurement_model"):
        parts.append(("p_methods_" + st.estimator.lower() + "_" + st.missing, {}))
        parts.append(("m_fit", {}))
    if ran("invariance"):
        parts.append(("m_invariance", {"group": r.dataset.group_column or "—"}))
    ordinal = [si for si in st.instruments if res.get("ordinal", {}).get(si.id)]
    if ordinal:
        parts.append(("m_ordinal", {"names": ", ".join(_short(r, si) for si in ordinal)}))
    if ran("validity"):
        parts.append(("m_validity" if o["bootstrap"] else "m_validity_noboot",
                      {"nb": o["bootstrap"]}))
    if res.get("structural", {}).get("fit_measures"):
        boot = res["structural"].get("bootstrap")
        if boot:
            parts.append(("m_structural_boot", {"nb": boot.get("successful") or 0,
                                                "R": boot.get("R") or 0}))
        else:
            parts.append(("m_structural", {}))
    parts.append(("m_seed", {"seed": r.seed}))
    for key, values in parts:
        section.add(Paragraph(r.t(key), values))


def step_warnings(r):
    s = r.report.add(Section("warnings", tr("sec_warnings", r.lang)))
    if r.warnings:
        s.add(WarningList(list(r.warnings)))
    else:
        s.add(Paragraph(tr("no_warnings", r.lang)))


def step_software(r):
    s = r.report.add(Section("software", tr("sec_software", r.lang)))
    v = r.results["meta"]["versions"]
    s.add(Paragraph(r.t("p_software"), {"version": v.get("psychometrics"),
                                         "python": v.get("python"), "seed": r.seed,
                                         "nb": r.options["bootstrap"]}))
    s.add(WarningList([])) if False else None
    refs = tr("references", "en").split("\n")   # APA: references in their own language
    if any((r.results.get("ordinal") or {}).values()):
        refs = sorted(refs + tr("references_ordinal", "en").split("\n"))
    for ref in refs:
        s.add(Paragraph(ref.replace("{", "{{").replace("}", "}}"), {}, direction="ltr"))


# ----------------------------------------------------------------------------------------------
def run_all(r) -> ValidationRun:
    """Run every step of the validation on runner ``r``; returns the :class:`ValidationRun`.

    The objects that exist before the run (imported modules and libraries: about 10^5 of
    them) are set aside from Python's cyclic garbage collector for the run (``gc.freeze``;
    put back with ``gc.unfreeze`` at the end, so nothing is kept): each full collection
    during the run then scans only the run's own objects (issue 13: the full passes over
    the libraries cost about 0.6 s of CPU in the demo's run).  When the caller has frozen
    objects already (e.g. a command line that freezes once after its imports) nothing is
    changed.  No number depends on it.
    """
    import gc
    frozen = hasattr(gc, "freeze") and gc.isenabled() and gc.get_freeze_count() == 0
    if frozen:
        gc.freeze()
    try:
        return _run_all(r)
    finally:
        if frozen:
            gc.unfreeze()


def _run_all(r) -> ValidationRun:
    load_study = need("scales", "load_study")
    load_dataset = need("io", "load_dataset")
    if hasattr(r.study_path, "instruments"):      # a Study already loaded: steps known now
        r.progress.total = _planned_steps(r.study_path)
    # the first step of each kind (the first instrument's screening, item analysis, EFA, CFA,
    # invariance) is timed by a reference run at this run's speed (measured from loading on)
    r.progress.calibrate(REFERENCE_SECONDS)
    with r.progress.step("load study and data"):
        r.study = load_study(r.study_path)
        try:
            size = Path(str(r.study.data)).stat().st_size
        except (OSError, TypeError, ValueError):
            size = 0
        with r.progress.measure("load", size):     # bytes of the data file
            if _accepts(load_dataset, "progress"):
                # the CSV parse (bytes read) is about half of loading (the rest: cleaning and
                # checking the cells)
                r.dataset = load_dataset(r.study, progress=r.progress.share(
                    Path(str(r.study.data)).name, LOAD_READ_SHARE))
            else:
                r.dataset = load_dataset(r.study)
    st = r.study
    lang = r.language_override or st.language or "en"
    r.report = Report(title=st.title, language=lang)
    opts = dict(st.options or {})
    nb = r.bootstrap_override if r.bootstrap_override is not None else int(opts.get("bootstrap", 1000))
    r.options = {"bootstrap": nb, "split_half": bool(opts.get("split_half", False)),
                 "parallel_iterations": int(r.parallel_override or opts.get("parallel_iterations", 100)),
                 **{k: v for k, v in opts.items() if k not in ("bootstrap", "split_half",
                                                                 "parallel_iterations")}}
    r.options["sem_bootstrap"] = int(r.sem_bootstrap if r.sem_bootstrap is not None else nb)
    r.options["omega_bootstrap"] = int(r.omega_bootstrap if r.omega_bootstrap is not None
                                       else nb)
    r.seed = st.seed if st.seed is not None else 0
    r.figures_dir = (r.out_dir / "figures") if r.out_dir is not None else None
    r.make_figures = r.make_figures and opts.get("figures", True)   # options.figures: false
    if r.figures_dir is not None and r.make_figures:
        r.figures_dir.mkdir(parents=True, exist_ok=True)
    r.progress.total = _planned_steps(st)
    r.results["meta"] = {"study_file": _portable(st.path, r.out_dir), "created": now_utc(),
                         "command": command_line(), "versions": versions(),
                         "options": r.options, "seed": r.seed, "estimator": st.estimator,
                         "missing": st.missing, "language": lang}
    r.results["study"] = st.to_dict()
    # no machine paths in results.json: the data file relative to the study file
    r.results["study"]["data"] = _portable(st.data, Path(st.path).parent if st.path else None)
    r.results["study"]["path"] = _portable(st.path, r.out_dir)

    step_overview(r)
    methods = r.report.add(Section("methods", tr("sec_methods", r.lang)))
    step_screening(r)
    step_items(r)
    step_reliability(r)
    step_scale_scores(r)
    step_efa(r)
    step_cfa(r)
    step_invariance(r)
    step_measurement(r)
    step_validity(r)
    step_structural(r)
    step_fit_table(r)
    step_methods(r, methods)
    step_warnings(r)
    r.results["warnings"] = list(r.warnings)
    step_data_changes(r)
    step_software(r)
    r.report.meta = r.results["meta"]
    r.report.warnings = list(r.warnings)
    r.report.number()
    return ValidationRun(report=r.report, results=r.results, warnings=list(r.warnings),
                         figures_dir=r.figures_dir, timings=dict(r.progress.times))


#: seconds = a + b x cost of the steps and measured parts of each kind (cost as in
#: :func:`_cost`; loading: bytes of the data file) in a reference run, for the progress
#: display's estimate of the first step of a kind (``Progress.calibrate``: scaled by this
#: run's speed relative to the reference run); fitted by ``benchmarks/bench_progress.py
#: calibrate --n 324 100000`` on the simulated example study (34 items, MLR + FIML, figures
#: on, 20 bootstrap draws) with the code of 2026-12-02 (fourth stop) on a quiet machine (load
#: average 1.2-1.3; the earlier figures were measured at load 7-10 by older code, which made
#: every first step's estimate 0.4-0.7x of its time on a quiet machine)
REFERENCE_SECONDS: dict = {
    "load": (0.045, 1.828e-07), "figure": (0.244, 0.0), "screening": (0.513, 1.087e-05),
    "item analysis": (0.013, 6.437e-08), "EFA": (0.527, 2.879e-07),
    "model fit": (0.0, 3.416e-08), "CFA": (0.207, 3.687e-08),
    # the full measurement model's fit (34 items, MLR + FIML): the model fits' b, with the
    # fixed part of its fit at 324 cases (0.52 s, `calibrate --n 324`, branch prog3: the
    # model fits' reference says 0.075 s there; 0.45 s of it does not grow with the cases)
    "measurement fit": (0.45, 3.416e-08),
    "invariance": (0.505, 4.108e-08), "fit measures": (0.018, 1.482e-09),
    "HTMT set-up": (0.05, 4.938e-07),
    # the model fits' b x 0.4 (as before: the structural fit over the measurement model's fit
    # on the same data, `bench_progress.py fits`: 0.35 at 324, 0.30 at 50,000, 0.42 at
    # 200,000 cases); this calibration's own fit, (0.158, 2.138e-08), rests on its 100,000-case
    # point, 0.63 of the fit (14.6 / 23.1 s; 0.74 in the last calibration: that data set's fit
    # needs more iterations), and said 26 s for 12.8 s at 200,000 cases on a quiet machine
    "structural fit": (0.158, 1.366e-08),
    "bootstrap inverse Hessian": (0.178, 3.552e-10),
    "bootstrap lockstep plan": (0.029, 2.37e-09),
    "bootstrap first draws": (0.102, 7.168e-10),
    # the draws refitted one by one (no lockstep plan: above PLAN_MAX_ENTRIES, e.g. 200,000
    # cases; not reached at 100,000): 0.141 of the measurement model's fit in a 200,000-case
    # run of the pipeline (18.8 s against 132.8 s, load 5-6), times that fit's reference
    # rate above; one point, no fixed part
    "bootstrap first draws, one by one": (0.0, 4.82e-09),
    # writing the report in the CLI (`cli._write_cost`: (cases x items + 5e6) x the share
    # of the files): 0.55 s for every file at 324 cases (0.5 s on a quiet machine, branch
    # prog3), 1.3 s at 200,000 (the write step 1.4-2.4 s there at load about 1, fourth pass;
    # results.json 0.7 s of it)
    "write": (0.0, 1.1e-07)}

#: share of loading the data that is parsing the CSV file (the rest: normalising and checking
#: the cells), for the progress display: measured at 200,000 cases of the example study
LOAD_READ_SHARE = 0.5


def _planned_steps(st) -> int:
    """Top-level steps of a run (the ``[k/n]`` of the progress display): loading, screening,
    item analysis, EFA and CFA per instrument, invariance per instrument when the study has
    groups, reliability, scale descriptives, measurement model, validity, and the structural
    model when the study has one."""
    n = len(st.instruments)
    return 1 + 4 * n + (n if st.group is not None else 0) + 4 + (1 if st.structural else 0)


def _structural_labels(r, nodes) -> dict:
    """Labels of latent variables that are not subscales of an instrument (e.g. a
    second-order factor of the structural model): the instrument's label when the name is
    an instrument id, else the name itself."""
    out = {}
    for n in nodes:
        for si in r.study.instruments:
            if n == si.id:
                out[n] = _short(r, si)
    return out


def _portable(path, base) -> str | None:
    """``path`` relative to ``base`` (a folder) when possible, else its file name."""
    if path is None:
        return None
    import os
    try:
        if base is not None:
            return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()
    except ValueError:
        pass
    return Path(path).name


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
