"""Figures of the report (PNG, matplotlib Agg): they draw numbers handed to them.

* :func:`scree_plot` -- observed eigenvalues and parallel-analysis eigenvalues;
* :func:`loading_heatmap` -- a factor-loading matrix;
* :func:`path_diagram` -- a CFA path diagram with standardised estimates;
* :func:`item_distributions` -- response-category proportions by group;
* :func:`invariance_plot` -- CFI / RMSEA along the invariance sequence.

Persian labels are shaped with arabic_reshaper and reordered with python-bidi
(matplotlib draws neither by itself) and drawn with the bundled Vazirmatn
font; digits become Persian digits.  No statistic is computed here.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.figure  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from .fmt import localise  # noqa: E402

ASSETS = Path(__file__).resolve().parent / "assets"
FONT_FILE = ASSETS / "Vazirmatn-Regular.ttf"
_registered = False


_ENGINE_DOES_BIDI: bool | None = None


def _engine_does_bidi() -> bool:
    """Whether matplotlib's text engine shapes and orders right-to-left text itself.

    Older matplotlib draws characters one by one, left to right, so Persian must be
    reshaped (arabic_reshaper) and put in visual order (python-bidi) first; newer
    matplotlib (complex text layout) does both itself, and doing it again would reverse
    the text.  Probe once: with such an engine a raw Persian word renders exactly like
    its reshaped form."""
    global _ENGINE_DOES_BIDI
    if _ENGINE_DOES_BIDI is None:
        import arabic_reshaper
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        def pixels(txt):
            fig = matplotlib.figure.Figure(figsize=(1.2, 0.5), dpi=60)
            FigureCanvasAgg(fig)
            fig.text(0.1, 0.3, txt, fontproperties=font_manager.FontProperties(
                fname=str(FONT_FILE)), fontsize=14)
            fig.canvas.draw()
            return np.asarray(fig.canvas.buffer_rgba()).copy()

        word = "\u0628\u0628\u0646"   # three joining letters: shaping changes every glyph
        try:
            _ENGINE_DOES_BIDI = bool(np.array_equal(pixels(word),
                                                    pixels(arabic_reshaper.reshape(word))))
        except Exception:  # pragma: no cover - fall back to the classic recipe
            _ENGINE_DOES_BIDI = False
    return _ENGINE_DOES_BIDI


def shape(text: str, lang: str = "en") -> str:
    """Return ``text`` ready for matplotlib: Persian digits, and -- unless matplotlib's text
    engine does it itself (see :func:`_engine_does_bidi`) -- Persian letters reshaped to
    their joined forms (arabic_reshaper) in visual order (python-bidi)."""
    text = str(text)
    if lang != "fa":
        return text
    text = localise(text, "fa")
    if _engine_does_bidi():
        return text
    import arabic_reshaper
    from bidi.algorithm import get_display
    return get_display(arabic_reshaper.reshape(text))


@contextlib.contextmanager
def _style(lang: str):
    global _registered
    rc = {"figure.dpi": 100, "savefig.dpi": 150, "axes.spines.top": False,
          "axes.spines.right": False, "font.size": 9}
    if lang == "fa":
        if not _registered:
            font_manager.fontManager.addfont(str(FONT_FILE))
            _registered = True
        name = font_manager.FontProperties(fname=str(FONT_FILE)).get_name()
        rc["font.family"] = [name, "DejaVu Sans"]
        rc["axes.unicode_minus"] = False
    with plt.rc_context(rc):
        yield


def _num_axis(ax, lang: str, axis: str = "y", dec: int | None = None) -> None:
    if lang != "fa":
        return

    def f(v, _pos):
        s = f"{v:.{dec}f}" if dec is not None else f"{v:g}"
        return shape(s, lang)
    getattr(ax, f"{axis}axis").set_major_formatter(FuncFormatter(f))


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def scree_plot(observed, simulated, path, *, lang="en", labels=None, title="",
               observed_fa=None, simulated_fa=None) -> Path:
    """Observed eigenvalues against parallel-analysis eigenvalues (one line each); with
    ``observed_fa``/``simulated_fa`` also the reduced-matrix (factor) eigenvalues, as
    psych::fa.parallel draws them."""
    labels = labels or {"observed": "Observed data", "simulated": "Parallel analysis (random data)",
                        "x": "Factor number", "y": "Eigenvalue"}
    observed = np.asarray(observed, dtype=float)
    with _style(lang):
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
        k = np.arange(1, observed.size + 1)
        ax.plot(k, observed, "o-", color="#1f4e79", label=shape(labels["observed"], lang))
        if simulated is not None:
            sim = np.asarray(simulated, dtype=float)
            ax.plot(np.arange(1, sim.size + 1), sim, "s--", color="#c55a11", ms=4,
                    label=shape(labels["simulated"], lang))
        if observed_fa is not None:
            ofa = np.asarray(observed_fa, dtype=float)
            ax.plot(np.arange(1, ofa.size + 1), ofa, "^-", color="#2e7d32", ms=5,
                    label=shape(labels.get("observed_fa", "Observed (factors)"), lang))
        if simulated_fa is not None:
            sfa = np.asarray(simulated_fa, dtype=float)
            ax.plot(np.arange(1, sfa.size + 1), sfa, "v:", color="#8e24aa", ms=4,
                    label=shape(labels.get("simulated_fa", "Random (factors)"), lang))
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        ax.set_xticks(k)
        ax.set_xlabel(shape(labels["x"], lang))
        ax.set_ylabel(shape(labels["y"], lang))
        if title:
            ax.set_title(shape(title, lang))
        ax.legend(frameon=False)
        _num_axis(ax, lang, "y")
        _num_axis(ax, lang, "x")
        return _save(fig, path)


def loading_heatmap(loadings, path, *, lang="en", title="", item_labels=None) -> Path:
    """Heat map of a loading matrix (pandas DataFrame, items x factors), values printed."""
    values = loadings.to_numpy(dtype=float)
    rows = [shape((item_labels or {}).get(i, i), lang) for i in loadings.index]
    cols = [shape(c, lang) for c in loadings.columns]
    with _style(lang):
        fig, ax = plt.subplots(figsize=(1.2 + 1.0 * len(cols), 0.8 + 0.28 * len(rows)))
        im = ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.set_xticks(range(len(cols)), cols)
        ax.set_yticks(range(len(rows)), rows)
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                txt = f"{v:.2f}".replace("0.", ".")
                ax.text(j, i, shape(txt, lang), ha="center", va="center", fontsize=7,
                        color="white" if abs(v) > 0.6 else "black")
        ax.spines[:].set_visible(False)
        fig.colorbar(im, ax=ax, shrink=0.6)
        if title:
            ax.set_title(shape(title, lang))
        return _save(fig, path)


def path_diagram(factors, path, *, lang="en", correlations=None, title="",
                 factor_labels=None) -> Path:
    """CFA path diagram: ``factors`` maps factor -> list of (item, standardised loading).

    ``correlations`` maps (factor_a, factor_b) -> standardised covariance, drawn
    as curved double-headed arrows on the left.
    """
    factor_labels = factor_labels or {}
    names = list(factors)
    n_items = sum(len(v) for v in factors.values())
    height = max(2.5, 0.34 * n_items + 0.6)
    with _style(lang):
        fig, ax = plt.subplots(figsize=(6.4, height))
        ax.set_xlim(0, 10)
        ax.set_ylim(-0.5, n_items + 0.5)
        ax.axis("off")
        y = n_items - 0.5
        centres = {}
        for f in names:
            items = factors[f]
            ys = []
            for item, lam in items:
                ax.add_patch(plt.Rectangle((7.2, y - 0.17), 1.8, 0.34, fill=False, lw=0.8))
                ax.text(8.1, y, shape(item, lang), ha="center", va="center", fontsize=7)
                ys.append(y)
                y -= 1
            cy = float(np.mean(ys)) if ys else y
            centres[f] = cy
            ax.add_patch(matplotlib.patches.Ellipse((3.6, cy), 2.2, 0.8, fill=False, lw=1.0))
            ax.text(3.6, cy, shape(factor_labels.get(f, f), lang), ha="center", va="center",
                    fontsize=8)
            for (item, lam), yi in zip(items, ys):
                ax.annotate("", xy=(7.2, yi), xytext=(4.7, cy),
                            arrowprops=dict(arrowstyle="->", lw=0.7, color="#333"))
                t = 0.62
                lx, ly = 4.7 + t * (7.2 - 4.7), cy + t * (yi - cy)
                txt = "—" if lam is None or not np.isfinite(lam) else f"{lam:.2f}".replace("0.", ".")
                ax.text(lx, ly + 0.12, shape(txt, lang), fontsize=6.5, ha="center",
                        bbox=dict(fc="white", ec="none", pad=0.3))
        for k, ((a, b), r) in enumerate((correlations or {}).items()):
            if a not in centres or b not in centres:
                continue
            ya, yb = centres[a], centres[b]
            rad = 0.5 + 0.1 * (k % 3)
            ax.annotate("", xy=(2.5, yb), xytext=(2.5, ya),
                        arrowprops=dict(arrowstyle="<->", lw=0.6, color="#1f4e79",
                                        connectionstyle=f"arc3,rad={rad}"))
            off = 1.0 + 0.35 * (k % 3)
            txt = f"{r:.2f}".replace("0.", ".") if r is not None and np.isfinite(r) else "—"
            ax.text(2.5 - off * abs(ya - yb) / max(n_items, 1) * 2 - 0.2, (ya + yb) / 2,
                    shape(txt, lang), fontsize=6.5, color="#1f4e79", ha="center", va="center")
        if title:
            ax.set_title(shape(title, lang))
        return _save(fig, path)


def item_distributions(props, path, *, lang="en", title="", group_labels=None) -> Path:
    """Stacked bars of response proportions: ``props`` maps item -> {group: {category: p}}."""
    items = list(props)
    groups = []
    cats = []
    for v in props.values():
        for g, d in v.items():
            if g not in groups:
                groups.append(g)
            for c in d:
                if c not in cats:
                    cats.append(c)
    cats = sorted(cats)
    cmap = plt.get_cmap("viridis", max(len(cats), 2))
    group_labels = group_labels or {}
    with _style(lang):
        fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.16 * len(items) * max(len(groups), 1)))
        ylabels = []
        ypos = 0
        for item in items:
            for g in groups:
                left = 0.0
                for k, c in enumerate(cats):
                    p = props[item].get(g, {}).get(c, 0.0)
                    name = f"{c:g}" if isinstance(c, (int, float, np.floating)) else str(c)
                    ax.barh(ypos, p, left=left, color=cmap(k), height=0.8,
                            label=shape(name, lang) if ypos == 0 else None)
                    left += p
                ylabels.append(shape(f"{item} ({group_labels.get(g, g)})", lang))
                ypos += 1
            ypos += 0.4
        ticks = []
        y = 0
        for item in items:
            for g in groups:
                ticks.append(y)
                y += 1
            y += 0.4
        ax.set_yticks(ticks, ylabels, fontsize=6)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        _num_axis(ax, lang, "x", dec=1)
        ax.legend(ncol=len(cats), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False,
                  fontsize=7)
        if title:
            ax.set_title(shape(title, lang), pad=22)
        return _save(fig, path)


def invariance_plot(levels, cfi, rmsea, path, *, lang="en", level_labels=None, title="") -> Path:
    """CFI and RMSEA of each invariance level (two panels), a line each."""
    level_labels = level_labels or {}
    x = np.arange(len(levels))
    ticks = [shape(level_labels.get(lv, lv), lang) for lv in levels]
    with _style(lang):
        fig, axes = plt.subplots(1, 2, figsize=(6.4, 2.8))
        for ax, vals, name in ((axes[0], cfi, "CFI"), (axes[1], rmsea, "RMSEA")):
            v = np.array([np.nan if a is None else a for a in vals], dtype=float)
            ax.plot(x, v, "o-", color="#1f4e79")
            ax.set_xticks(x, ticks, rotation=20)
            ax.set_title(name)
            _num_axis(ax, lang, "y", dec=3)
        if title:
            fig.suptitle(shape(title, lang))
        fig.tight_layout()
        return _save(fig, path)
