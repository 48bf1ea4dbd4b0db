"""Simulator of the example study (the data bundled in ``examples/``).

``simulate_example_study()`` draws data like the reference study of the
package (324 clients of counselling centres, 225 women and 99 men, who answered
the WAI-SR, a client engagement scale, the CSQ-8 and a client outcome measure)
from a documented population model with a fixed seed, and can write the whole
example study (study file, the two user-defined instrument files, the data as
CSV and a copy with Persian digits and labels) to a folder.

Population model (all latent variables standardised in the population)
--------------------------------------------------------------------------
Structural part (a mediation model, as in the reference study)::

    alliance      ~ N(0, 1)                   (second-order factor of the WAI-SR)
    engagement    = .50 alliance + e_eng       var(e_eng) = 1 - .50^2
    outcome       = .35 engagement + .20 alliance + e_out
    satisfaction  = .40 engagement + .25 alliance + e_sat

(the residual variances make every latent variance 1; e_out and e_sat are
correlated .20).  Indirect effects alliance -> engagement -> outcome = .175,
-> satisfaction = .200.

WAI-SR first-order factors: ``goal, task, bond = .85, .90, .80 * alliance +
residual`` (variances 1).  Women have a latent mean of bond .20 higher than
men; every other latent mean is 0 in both groups, and the measurement model is
the same in both groups (full invariance holds in the population).

Items: a continuous response ``y = lambda * factor + sqrt(1 - lambda^2) * e``
(standardised loadings below) is cut into the instrument's categories at fixed
thresholds (the higher categories are more frequent, as in clinical samples
of alliance and satisfaction ratings).  Reverse-keyed items are stored as
answered, i.e. ``min + max - response``; scoring must reverse them back.

=================  ==========================================  =========  ==========
instrument         items (factor: items)                        range      loadings
=================  ==========================================  =========  ==========
WAI-SR (built in)  goal 4,6,8,11; task 1,2,10,12; bond 3,5,7,9  1-5        .65-.85
engagement (user)  engagement 1-8; items 3 and 6 reverse keyed  1-5        .55-.80
CSQ-8 (built in)   satisfaction 1-8                             1-4        .65-.85
outcome (user)     outcome 1-6                                  0-4        .60-.80
=================  ==========================================  =========  ==========

About 3% of item responses are missing completely at random; one missing
response in five is written with the study's missing code -9 instead of an
empty cell, so that the loader's recoding is exercised.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_SEED = 20261122
N_FEMALE = 225
N_MALE = 99
MISSING_RATE = 0.03
MISSING_CODE = -9

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

# structural coefficients of the population model
PATHS = {
    ("engagement", "alliance"): 0.50,
    ("outcome", "engagement"): 0.35,
    ("outcome", "alliance"): 0.20,
    ("satisfaction", "engagement"): 0.40,
    ("satisfaction", "alliance"): 0.25,
}
SECOND_ORDER = {"goal": 0.85, "task": 0.90, "bond": 0.80}
RESIDUAL_COR_OUT_SAT = 0.20
BOND_MEAN_FEMALE = 0.20

# item -> (factor, standardised loading); WAI-SR item numbers follow Hatcher & Gillaspy (2006)
WAI_ITEMS = {
    1: ("task", 0.72), 2: ("task", 0.78), 10: ("task", 0.70), 12: ("task", 0.80),
    4: ("goal", 0.75), 6: ("goal", 0.80), 8: ("goal", 0.70), 11: ("goal", 0.82),
    3: ("bond", 0.78), 5: ("bond", 0.85), 7: ("bond", 0.72), 9: ("bond", 0.66),
}
ENG_LOADINGS = [0.72, 0.78, 0.60, 0.75, 0.80, 0.55, 0.70, 0.68]
ENG_REVERSED = (3, 6)
CSQ_LOADINGS = [0.80, 0.72, 0.85, 0.70, 0.78, 0.82, 0.75, 0.65]
OUT_LOADINGS = [0.70, 0.75, 0.80, 0.62, 0.68, 0.72]

# thresholds on the standard normal scale; skewed towards the top of the scale
THRESHOLDS = {
    5: [-1.9, -1.1, -0.2, 0.8],
    4: [-1.5, -0.6, 0.5],
}

ENGAGEMENT_ITEMS = [
    ("I come to my sessions ready to work on my problems.",
     "با آمادگی برای کار روی مشکلاتم به جلسه‌ها می‌آیم."),
    ("I talk openly with my counsellor about what troubles me.",
     "درباره‌ی آنچه آزارم می‌دهد آزادانه با مشاورم صحبت می‌کنم."),
    ("I often think about skipping my sessions.",
     "اغلب به غیبت در جلسه‌ها فکر می‌کنم."),
    ("I try out between sessions what we discuss in counselling.",
     "آنچه را در جلسه‌ها بحث می‌کنیم، بین جلسه‌ها امتحان می‌کنم."),
    ("I take an active part in deciding what we work on.",
     "در تصمیم‌گیری درباره‌ی موضوع کار فعالانه شرکت می‌کنم."),
    ("I hold back important things from my counsellor.",
     "چیزهای مهم را از مشاورم پنهان می‌کنم."),
    ("I complete the tasks my counsellor suggests.",
     "کارهایی را که مشاورم پیشنهاد می‌کند انجام می‌دهم."),
    ("I feel committed to the counselling process.",
     "به فرایند مشاوره متعهد هستم."),
]

OUTCOME_ITEMS = [
    ("I feel able to cope when things go wrong.",
     "وقتی اوضاع بد پیش می‌رود، احساس می‌کنم از پس آن برمی‌آیم."),
    ("I have felt calm and relaxed.",
     "احساس آرامش داشته‌ام."),
    ("I have been able to do the things I need to do.",
     "توانسته‌ام کارهایی را که لازم است انجام دهم."),
    ("I have felt close to the people around me.",
     "به اطرافیانم احساس نزدیکی کرده‌ام."),
    ("I have felt hopeful about the future.",
     "به آینده امیدوار بوده‌ام."),
    ("I have been satisfied with how I handle my problems.",
     "از نحوه‌ی کنار آمدنم با مشکلات راضی بوده‌ام."),
]


@dataclass
class SimulatedStudy:
    """The simulated example study.

    ``data`` holds the responses as answered (reverse-keyed items not yet
    reversed; missing responses as NaN, or as ``MISSING_CODE`` where the file
    uses the code), ``latent`` the true factor scores, ``population`` the
    population model (coefficients, loadings, thresholds, seed) and ``files``
    the paths written (empty unless ``out_dir`` was given).
    """

    data: pd.DataFrame
    latent: pd.DataFrame
    population: dict
    files: dict = field(default_factory=dict)

    @property
    def study_path(self) -> Path | None:
        return self.files.get("study")

    def to_dict(self) -> dict:
        return {"population": self.population,
                "files": {k: str(v) for k, v in self.files.items()},
                "n": int(len(self.data))}


def _mvn_zero_mean(rng, cov: np.ndarray, n: int) -> np.ndarray:
    """Draws as ``rng.multivariate_normal(0, cov, n)`` (same random numbers, same SVD
    factor) but with the signs of the singular vectors fixed, so the data do not depend
    on the LAPACK build (numpy leaves those signs to LAPACK)."""
    z = rng.standard_normal((n, cov.shape[0]))
    _, sv, v = np.linalg.svd(cov)
    for i in range(v.shape[0]):
        j = int(np.flatnonzero(np.abs(v[i]) > 1e-12)[0])
        if v[i, j] > 0:
            v[i] = -v[i]
    return z @ (np.sqrt(sv)[:, None] * v)


def _categorise(y: np.ndarray, n_cat: int, low: int) -> np.ndarray:
    cuts = np.asarray(THRESHOLDS[n_cat])
    return low + np.searchsorted(cuts, y)


def _items(rng, factor: np.ndarray, loadings, n_cat: int, low: int) -> np.ndarray:
    n = factor.shape[0]
    lam = np.asarray(loadings, dtype=float)
    y = factor[:, None] * lam[None, :] + rng.standard_normal((n, lam.size)) * np.sqrt(1 - lam ** 2)[None, :]
    return _categorise(y, n_cat, low)


def simulate_example_study(out_dir: str | os.PathLike | None = None, *, seed: int = DEFAULT_SEED,
                           n_female: int = N_FEMALE, n_male: int = N_MALE,
                           missing_rate: float = MISSING_RATE) -> SimulatedStudy:
    """Simulate the example study from the population model in this module's docstring.

    Returns a :class:`SimulatedStudy` (data, true latent scores, population
    model).  With ``out_dir`` it also writes the example study there:
    ``study.yaml`` (English report), ``study_fa.yaml`` (Persian report reading
    ``data_fa.csv``, the same data with Persian digits), ``engagement.yaml`` and
    ``outcome.yaml`` (the user-defined instruments), ``data.csv`` and
    ``data_fa.csv``.  The same ``seed`` always gives the same files.
    """
    if n_female < 0 or n_male < 0 or n_female + n_male < 10:
        raise ValueError("simulate_example_study needs at least 10 cases")
    if not 0 <= missing_rate < 0.5:
        raise ValueError(f"missing_rate must be in [0, 0.5), got {missing_rate!r}")
    rng = np.random.default_rng(seed)
    n = n_female + n_male
    gender = np.array([1] * n_female + [2] * n_male)
    gender = rng.permutation(gender)
    female = gender == 1

    alliance = rng.standard_normal(n)
    first = {}
    for name, lam in SECOND_ORDER.items():
        first[name] = lam * alliance + np.sqrt(1 - lam ** 2) * rng.standard_normal(n)
    # bond: group mean difference (women higher), shifted so the pooled mean is 0
    shift = BOND_MEAN_FEMALE * (female.astype(float) - female.mean())
    first["bond"] = first["bond"] + shift
    b = PATHS
    engagement = b[("engagement", "alliance")] * alliance + np.sqrt(1 - b[("engagement", "alliance")] ** 2) * rng.standard_normal(n)
    cov_ae = b[("engagement", "alliance")]  # cov(alliance, engagement)

    def resid_var(be, ba):
        return 1 - (be ** 2 + ba ** 2 + 2 * be * ba * cov_ae)

    vo = resid_var(b[("outcome", "engagement")], b[("outcome", "alliance")])
    vs = resid_var(b[("satisfaction", "engagement")], b[("satisfaction", "alliance")])
    c = RESIDUAL_COR_OUT_SAT * np.sqrt(vo * vs)
    e = _mvn_zero_mean(rng, np.array([[vo, c], [c, vs]]), n)
    outcome = b[("outcome", "engagement")] * engagement + b[("outcome", "alliance")] * alliance + e[:, 0]
    satisfaction = b[("satisfaction", "engagement")] * engagement + b[("satisfaction", "alliance")] * alliance + e[:, 1]

    cols: dict[str, Any] = {"id": np.arange(1, n + 1), "gender": gender,
                            "age": np.clip(np.round(rng.normal(31, 8.5, n)), 18, 70).astype(int)}
    for item in range(1, 13):
        fac, lam = WAI_ITEMS[item]
        cols[f"wai_{item}"] = _items(rng, first[fac], [lam], 5, 1)[:, 0]
    eng = _items(rng, engagement, ENG_LOADINGS, 5, 1)
    for j in range(eng.shape[1]):
        v = eng[:, j]
        if (j + 1) in ENG_REVERSED:
            v = 1 + 5 - v  # stored as answered: reverse-keyed
        cols[f"eng_{j + 1}"] = v
    csq = _items(rng, satisfaction, CSQ_LOADINGS, 4, 1)
    for j in range(csq.shape[1]):
        cols[f"csq_{j + 1}"] = csq[:, j]
    out = _items(rng, outcome, OUT_LOADINGS, 5, 0)
    for j in range(out.shape[1]):
        cols[f"out_{j + 1}"] = out[:, j]
    data = pd.DataFrame(cols)
    item_cols = [c for c in data.columns if c not in ("id", "gender", "age")]
    values = data[item_cols].to_numpy(dtype=float, copy=True)
    miss = rng.random(values.shape) < missing_rate
    coded = miss & (rng.random(values.shape) < 0.2)
    values[miss] = np.nan
    values[coded] = MISSING_CODE
    data[item_cols] = values
    data = data.astype({c: "Int64" for c in item_cols})

    latent = pd.DataFrame({"alliance": alliance, **first, "engagement": engagement,
                           "outcome": outcome, "satisfaction": satisfaction})
    population = {
        "seed": seed, "n_female": n_female, "n_male": n_male, "missing_rate": missing_rate,
        "missing_code": MISSING_CODE,
        "paths": {f"{lhs} ~ {rhs}": v for (lhs, rhs), v in PATHS.items()},
        "second_order": dict(SECOND_ORDER),
        "residual_cor_outcome_satisfaction": RESIDUAL_COR_OUT_SAT,
        "bond_mean_female_minus_male": BOND_MEAN_FEMALE,
        "indirect": {"outcome": PATHS[("engagement", "alliance")] * PATHS[("outcome", "engagement")],
                     "satisfaction": PATHS[("engagement", "alliance")] * PATHS[("satisfaction", "engagement")]},
        "loadings": {
            "wai_sr": {str(k): v for k, v in sorted(WAI_ITEMS.items())},
            "engagement": ENG_LOADINGS, "csq8": CSQ_LOADINGS, "outcome": OUT_LOADINGS},
        "reverse_keyed": {"engagement": list(ENG_REVERSED)},
        "thresholds": {str(k): v for k, v in THRESHOLDS.items()},
    }
    result = SimulatedStudy(data=data, latent=latent, population=population)
    if out_dir is not None:
        result.files = write_example_study(result, out_dir)
    return result


# ----------------------------------------------------------------------------------------------
# files of the example study

def _instrument_yaml(name: str, title: str, title_fa: str, factor: str, factor_fa: str,
                     items, low: int, high: int, reversed_items=(), citation: str = "",
                     labels=None) -> dict:
    doc = {
        "name": name,
        "title": title,
        "title_fa": title_fa,
        "citation": citation,
        "response_scale": {"min": low, "max": high},
        # one missing item in five may be prorated: without a rule, every case with a
        # single skipped item would get no scale score
        "max_missing_share": 0.2,
        "items": [],
        "factors": {factor: [str(i + 1) for i in range(len(items))]},
        "factor_labels": {factor: {"en": factor.capitalize(), "fa": factor_fa}},
    }
    if labels:
        doc["response_scale"]["labels"] = labels
    for i, (en, fa) in enumerate(items, start=1):
        doc["items"].append({"id": str(i), "text": en, "fa": fa, "reverse": i in reversed_items})
    return doc


def _study_yaml(language: str, data_file: str) -> dict:
    labels = {1: "female", 2: "male"} if language == "en" else {1: "زن", 2: "مرد"}
    title = ("Example study: alliance, engagement, satisfaction and outcome in counselling "
             "(simulated data)") if language == "en" else \
        "مطالعه‌ی نمونه: اتحاد درمانی، درگیری، رضایت و پیامد در مشاوره (داده‌های شبیه‌سازی‌شده)"
    return {
        "title": title,
        "data": data_file,
        "id": "id",
        "group": {"column": "gender", "labels": labels, "reference": labels[1]},
        "missing_codes": [MISSING_CODE, 99],
        "on_invalid": "stop",
        "language": language,
        "seed": DEFAULT_SEED,
        "estimator": "MLR",
        "missing": "fiml",
        "instruments": [
            {"scale": "wai_sr", "prefix": "wai_"},
            {"file": "engagement.yaml", "prefix": "eng_"},
            {"scale": "csq8", "prefix": "csq_", "ordered": "auto"},  # 4 categories: WLSMV
            {"file": "outcome.yaml", "prefix": "out_"},
        ],
        "structural": {"model": STRUCTURAL_MODEL},
        "options": {"bootstrap": 1000, "split_half": True},
    }


STRUCTURAL_MODEL = """alliance =~ goal + task + bond
engagement ~ a*alliance
outcome ~ b1*engagement + c1*alliance
satisfaction ~ b2*engagement + c2*alliance
outcome ~~ satisfaction
ind_outcome := a*b1
ind_satisfaction := a*b2
total_outcome := c1 + a*b1
total_satisfaction := c2 + a*b2
"""


def _persian_cell(v) -> str:
    return "" if pd.isna(v) else str(v).translate(PERSIAN_DIGITS)


def _persian_cells(col: pd.Series) -> np.ndarray:
    """The column's cells as text with Persian digits ("" for a missing cell): each distinct
    value is written once (a large study has few distinct item responses)."""
    codes, uniq = pd.factorize(col.astype(object), use_na_sentinel=True)
    table = np.array([_persian_cell(v) for v in uniq.tolist()] + [""], dtype=object)
    return table[np.where(codes < 0, len(table) - 1, codes)]


def write_example_study(study: SimulatedStudy, out_dir: str | os.PathLike) -> dict:
    """Write the example study's files into ``out_dir``; return {kind: path}."""
    import yaml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)

    def dump(obj, name):
        p = out / name
        with open(p, "w", encoding="utf-8", newline="\n") as fh:
            yaml.dump(obj, fh, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
        return p

    files["engagement"] = dump(_instrument_yaml(
        "client_engagement", "Client Engagement Scale (example, user-defined)",
        "مقیاس درگیری مراجع (نمونه، تعریف‌شده توسط کاربر)", "engagement", "درگیری",
        ENGAGEMENT_ITEMS, 1, 5, ENG_REVERSED,
        citation="Simulated example instrument of the psychometrics package"), "engagement.yaml")
    files["outcome"] = dump(_instrument_yaml(
        "client_outcome", "Client Outcome Measure (example, user-defined)",
        "سنجه‌ی پیامد مراجع (نمونه، تعریف‌شده توسط کاربر)", "outcome", "پیامد",
        OUTCOME_ITEMS, 0, 4,
        citation="Simulated example instrument of the psychometrics package"), "outcome.yaml")
    files["study"] = dump(_study_yaml("en", "data.csv"), "study.yaml")
    files["study_fa"] = dump(_study_yaml("fa", "data_fa.csv"), "study_fa.yaml")
    data_path = out / "data.csv"
    study.data.to_csv(data_path, index=False, lineterminator="\n")
    files["data"] = data_path
    fa = pd.DataFrame({c: _persian_cells(study.data[c]) for c in study.data.columns},
                      index=study.data.index)
    fa_path = out / "data_fa.csv"
    fa.to_csv(fa_path, index=False, lineterminator="\n", encoding="utf-8")
    files["data_fa"] = fa_path
    return files


__all__ = ["simulate_example_study", "write_example_study", "SimulatedStudy", "STRUCTURAL_MODEL"]
