"""Figures of the report: PNG at 300 dpi plus vector PDF and SVG, path diagrams whose labels
fit their boxes, invariance plots on fixed axes with the Chen (2007) cut-offs, histograms
for continuous items and capped figure sizes."""
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from psychometrics.report import figures as F

matplotlib.use("Agg")

WAI = {"goal": [("wai_4", .80), ("wai_6", .75), ("wai_8", .70), ("wai_11", .81)],
       "task": [("wai_1", .60), ("wai_2", .65), ("wai_10", .70), ("wai_12", -.20)],
       "bond": [("a_very_long_item_name_with_underscores_3", .80), ("wai_5", .80),
                ("wai_7", .80), ("wai_9", .80)]}
CORS = {("goal", "task"): .85, ("goal", "bond"): .60, ("task", "bond"): .70}
EDGES = ([{"from": "alliance", "op": "=~", "to": t, "std": .8} for t in ("goal", "task", "bond")]
         + [{"from": "engagement", "op": "~", "to": "alliance", "std": .47},
            {"from": "outcome", "op": "~", "to": "engagement", "std": .43},
            {"from": "outcome", "op": "~", "to": "alliance", "std": .18},
            {"from": "outcome", "op": "~~", "to": "engagement", "std": .10}])


def _check_files(png: Path, max_px=(F.MAX_SIZE[0] * 300 + 200, F.MAX_SIZE[1] * 300 + 200)):
    assert png.suffix == ".png" and png.exists()
    for ext in ("pdf", "svg"):
        p = png.with_suffix("." + ext)
        assert p.stat().st_size > 1000, p
    assert png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    svg = png.with_suffix(".svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "<image" not in svg          # vector, no embedded bitmap
    with Image.open(png) as im:
        dpi = im.info.get("dpi")
        assert dpi is not None and dpi[0] == pytest.approx(300, abs=0.5)
        w, h = im.size
    assert 300 <= w <= max_px[0] and 200 <= h <= max_px[1], (w, h)
    return w, h


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_every_figure_is_written_as_png_pdf_svg_at_300_dpi(tmp_path, lang):
    rng = np.random.default_rng(1)
    import pandas as pd
    pngs = [
        F.scree_plot([3.0, 1.2, 0.7, 0.5], [1.3, 1.1, 1.0, 0.9], tmp_path / "scree.png", lang=lang),
        F.loading_heatmap(pd.DataFrame({"MR1": [.8, .1], "MR2": [.05, .7]}, index=["x_1", "x_2"]),
                          tmp_path / "heat.png", lang=lang),
        F.path_diagram(WAI, tmp_path / "path.png", lang=lang, correlations=CORS),
        F.structural_diagram(EDGES, tmp_path / "structural.png", lang=lang),
        F.item_distributions({"x_1": {"a": {1: .2, 2: .3, 3: .5}, "b": {1: .1, 2: .4, 3: .5}}},
                             tmp_path / "dist.png", lang=lang),
        F.item_histograms({"x_1": {"a": rng.normal(size=50), "b": rng.normal(size=40)}},
                          tmp_path / "hist.png", lang=lang),
        F.invariance_plot(["configural", "metric", "scalar"], [None, -.004, -.012],
                          [None, .002, .01], tmp_path / "inv.png", lang=lang)]
    for png in pngs:
        _check_files(png)


def _inside(inner, outer, tol=0.5):
    return (inner.x0 >= outer.x0 - tol and inner.x1 <= outer.x1 + tol
            and inner.y0 >= outer.y0 - tol and inner.y1 <= outer.y1 + tol)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_path_diagram_labels_fit_their_boxes_and_the_figure(lang):
    fig = F.path_diagram_figure(WAI, lang=lang, correlations=CORS)
    fig.canvas.draw()
    ren = fig.canvas.get_renderer()
    fig_box = fig.bbox
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_text()]
    labels = [t for t in texts if t.get_gid() == "item_label"]
    assert len(labels) == 12
    boxes = [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]
    for t in texts:
        assert _inside(t.get_window_extent(ren), fig_box), t.get_text()
    for t in labels:
        ext = t.get_window_extent(ren)
        assert any(_inside(ext, b.get_window_extent(ren), tol=0.0) for b in boxes), t.get_text()
        # underscores are text, never mathtext subscripts: the names are shown as written
        assert "_" in t.get_text() and not t.get_text().startswith("$")
    # every loading and correlation is on the diagram as APA decimals
    est = sorted(t.get_text() for t in texts if t.get_gid() == "estimate")
    if lang == "en":
        assert "\u2212.20" in est and ".85" in est and len(est) == 12 + 3
    # item names keep their ASCII digits in Persian (they name data columns)
    assert {t.get_text() for t in labels} >= {"wai_4", "wai_12"}
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_structural_diagram_puts_predictors_left_and_shows_std_estimates():
    fig = F.structural_diagram_figure(EDGES, labels={"alliance": "Working alliance"})
    fig.canvas.draw()
    ren = fig.canvas.get_renderer()
    ax = fig.axes[0]
    pos = {t.get_text(): t.get_position()[0] for t in ax.texts if t.get_gid() == "factor_label"}
    assert pos["goal"] < pos["Working alliance"] < pos["engagement"] < pos["outcome"]
    est = sorted(t.get_text() for t in ax.texts if t.get_gid() == "estimate")
    assert est == sorted([".80", ".80", ".80", ".47", ".43", ".18", ".10"])
    for t in ax.texts:
        assert _inside(t.get_window_extent(ren), fig.bbox), t.get_text()
    w, h = fig.get_size_inches()
    assert w <= F.MAX_SIZE[0] + 1e-9 and h <= F.MAX_SIZE[1] + 1e-9
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_invariance_axes_are_fixed_with_the_cutoffs_drawn():
    import matplotlib.pyplot as plt
    fig = F.invariance_plot_figure(["configural", "metric", "scalar", "strict"],
                                   [None, -.004, .001, -.002], [None, .002, -.001, .003])
    a_cfi, a_rmsea = fig.axes[:2]
    assert a_cfi.get_ylim() == pytest.approx(F.DELTA_CFI_RANGE)      # a .004 change looks small
    assert a_rmsea.get_ylim() == pytest.approx(F.DELTA_RMSEA_RANGE)
    cut = lambda ax: sorted(round(l.get_ydata()[0], 6) for l in ax.get_lines()  # noqa: E731
                            if l.get_linestyle() == "--")
    assert cut(a_cfi) == [-0.01] and cut(a_rmsea) == [0.015]
    # the configural baseline has no change and is not drawn
    assert [t.get_text() for t in a_cfi.get_xticklabels()] == ["metric", "scalar", "strict"]
    ticks = [t.get_text() for t in a_cfi.get_yticklabels()]
    assert "\u2212.010" in ticks and "0" in ticks                # APA decimals, real minus
    plt.close(fig)
    # a change beyond the range widens the axis so that it is still shown
    fig = F.invariance_plot_figure(["configural", "metric"], [None, -.05], [None, .04])
    assert fig.axes[0].get_ylim()[0] <= -.05 and fig.axes[1].get_ylim()[1] >= .04
    plt.close(fig)


def test_categorical_or_continuous():
    assert F.is_categorical([1, 2, 3, 4, 5, np.nan, 3])
    assert F.is_categorical(np.arange(1, 11))
    assert not F.is_categorical(np.arange(1, 12))            # 11 distinct values
    assert not F.is_categorical([1.5, 2.0, 3.25])            # not integers
    assert not F.is_categorical(np.random.default_rng(0).normal(size=300))


def test_histograms_are_capped_and_never_one_bar_per_value(tmp_path):
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(2)
    values = {f"item_{i}": {"f": rng.normal(size=3000), "m": rng.normal(size=2000)}
              for i in range(40)}
    fig = F.item_histograms_figure(values, max_bins=30)     # drawn, not saved (slow)
    w, h = fig.get_size_inches()
    assert w <= F.MAX_SIZE[0] and h <= F.MAX_SIZE[1]
    for ax in fig.axes:
        for patch in ax.patches:          # step outlines: one polygon per group
            assert len(patch.get_xy()) <= 2 * 31 + 3
    plt.close(fig)
    few = {k: values[k] for k in list(values)[:6]}
    w_px, h_px = _check_files(F.item_histograms(few, tmp_path / "h.png"))
    assert w_px <= 9 * 300 + 200 and h_px <= 10 * 300 + 200
    with pytest.raises(ValueError, match="histograms"):
        F.item_distributions({"x": {"g": {v: 0.001 for v in range(50)}}}, tmp_path / "d.png")


def test_distribution_figure_height_is_capped(tmp_path):
    props = {f"x_{i}": {g: {1: .2, 2: .3, 3: .5} for g in "abc"} for i in range(60)}
    w, h = _check_files(F.item_distributions(props, tmp_path / "d.png"))
    assert h <= F.MAX_SIZE[1] * 300 + 100


# -- the cheaper saving gives the same figures (issue 13) ---------------------------------------
def test_arrow_clipping_is_matplotlibs():
    """The arrows of a path diagram end where matplotlib's own arc3 clipping ends them."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import ConnectionStyle, Ellipse, Rectangle
    fig, ax = F._inch_axes(4.0, 3.0)
    ell = ax.add_patch(Ellipse((0.8, 1.5), 1.1, 0.5, fill=False, lw=1.0))
    box = ax.add_patch(Rectangle((2.8, 2.2), 0.9, 0.27, fill=False, lw=0.8))
    box2 = ax.add_patch(Rectangle((2.8, 0.3), 0.9, 0.27, fill=False, lw=0.8))
    fig.canvas.draw()
    to_px = ax.transData.transform
    for target, rad in ((box, 0.0), (box2, 0.3), (box, -0.6)):
        end = to_px((3.25, target.get_y() + 0.135))
        ours = F._Arc3(rad=rad)(to_px((0.8, 1.5)), end, shrinkA=0, shrinkB=1.5,
                                patchA=ell, patchB=target)
        theirs = ConnectionStyle.Arc3(rad=rad)(to_px((0.8, 1.5)), end, shrinkA=0, shrinkB=1.5,
                                               patchA=ell, patchB=target)
        assert ours.vertices.shape == theirs.vertices.shape
        np.testing.assert_allclose(ours.vertices, theirs.vertices, atol=1e-6)
    plt.close(fig)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_files_are_those_of_savefig(tmp_path, lang):
    """PNG pixels as matplotlib's savefig writes them (tight box, 300 dpi), and every PDF with
    embedded TrueType (Type 42) fonts, never Type 3, whose subsets draw the same glyphs."""
    import io

    from fontTools.ttLib import TTFont
    fig = F.path_diagram_figure(WAI, lang=lang, correlations=CORS, title="Path")
    ref = io.BytesIO()
    with matplotlib.pyplot.rc_context(F.SAVE_RC):
        fig.savefig(ref, format="png", dpi=F.PNG_DPI, bbox_inches="tight", pad_inches=0.08)
    png = F._save(fig, tmp_path / "p.png", lang)
    with Image.open(png) as a, Image.open(ref) as b:
        assert a.size == b.size
        np.testing.assert_array_equal(np.asarray(a.convert("RGBA")), np.asarray(b.convert("RGBA")))
    pdf = png.with_suffix(".pdf").read_bytes()
    assert b"/Type3" not in pdf and b"/CIDFontType2" in pdf and b"/FontFile2" in pdf
    # the embedded subset has outlines for the glyphs used and no OpenType layout tables
    import re
    import zlib
    fonts = []
    for m in re.finditer(rb"/Length1 \d+.*?stream\n(.*?)\nendstream", pdf, re.S):
        data = m.group(1)
        try:
            data = zlib.decompress(data)
        except zlib.error:
            pass
        fonts.append(TTFont(io.BytesIO(data)))
    assert fonts
    for font in fonts:
        assert "glyf" in font and "GSUB" not in font and "GPOS" not in font
    assert sum(len(font.getGlyphOrder()) for font in fonts) > 15


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_pdf_fonts_without_the_lean_subset_draw_the_same(tmp_path, lang):
    """The lean subset (made from the base font where it has the glyphs) changes only the
    font tables, not a single drawn glyph: the PDF rendered to pixels equals the one with
    matplotlib's full subset, in English and Persian."""
    import shutil
    import subprocess
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed")
    fig = F.path_diagram_figure(WAI, lang=lang, correlations=CORS)
    with matplotlib.pyplot.rc_context(F.SAVE_RC):
        fig.savefig(tmp_path / "full.pdf")
        with F._lean_pdf_fonts():
            fig.savefig(tmp_path / "lean.pdf")
    matplotlib.pyplot.close(fig)
    assert (tmp_path / "lean.pdf").stat().st_size < (tmp_path / "full.pdf").stat().st_size
    pix = []
    for name in ("full", "lean"):
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(tmp_path / f"{name}.pdf"),
                       str(tmp_path / name)], check=True)
        with Image.open(tmp_path / f"{name}.png") as im:
            pix.append(np.asarray(im.convert("L")))
    np.testing.assert_array_equal(pix[0], pix[1])


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_pdf_from_the_base_font_is_the_pdf_from_the_font_file(tmp_path, monkeypatch, lang):
    """Every PDF is byte for byte the one whose font subsets are made from the font files
    (no base fonts), in English and Persian; in English the base font is used."""
    from matplotlib.backends import _backend_pdf_ps as pdf_ps
    used = []
    base_font = F._base_font

    def spy(fontfile):
        base = base_font(fontfile)
        used.append(base is not None)
        return base

    monkeypatch.setattr(F, "_base_font", spy)
    figs = [F.path_diagram_figure(WAI, lang=lang, correlations=CORS, title="Path"),
            F.path_diagram_figure(WAI, lang=lang, correlations=CORS,
                                  title="\u03c7\u00b2 \u2264 \u03b1 \u2212 \u03c9 (N = 300)")]
    for i, fig in enumerate(figs):
        with matplotlib.pyplot.rc_context(F.SAVE_RC):
            with F._lean_pdf_fonts():
                fig.savefig(tmp_path / f"base{i}.pdf", metadata={"CreationDate": None})
            with F._lean_pdf_fonts():
                monkeypatch.setattr(F, "_base_font", lambda fontfile: None)
                fig.savefig(tmp_path / f"file{i}.pdf", metadata={"CreationDate": None})
                monkeypatch.setattr(F, "_base_font", spy)
        matplotlib.pyplot.close(fig)
        assert (tmp_path / f"base{i}.pdf").read_bytes() == (tmp_path / f"file{i}.pdf").read_bytes()
    assert pdf_ps.get_glyphs_subset.__module__ != F.__name__   # restored
    if lang == "en":
        assert used and all(used)


def test_subset_from_the_base_font_is_the_subset_from_the_font_file():
    """A subset made from the base font is the same font file (bytes) with the same glyph
    map as the one made from the font file; glyphs outside the base font fall back to the
    font file; the base font of a small font (Vazirmatn) has all its glyphs, in Persian
    the same bytes too."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager
    from matplotlib.backends import _backend_pdf_ps as pdf_ps
    dejavu = font_manager.findfont("DejaVu Sans")
    fontfile = font_manager.FontPath(str(dejavu), 0) if hasattr(font_manager, "FontPath") \
        else str(dejavu)
    base = F._base_font(fontfile)
    assert base is not None and 500 < len(base[1]) < 3000
    small = F._base_font(str(F.FONT_FILE))   # Vazirmatn: every glyph, no layout tables
    assert small is not None and small[1] == {g: g for g in range(len(small[1]))}
    assert b"GSUB" not in small[0][:400] and b"GSUB" in F.FONT_FILE.read_bytes()[:400]
    font = TTFont(str(dejavu))
    cmap = font.getBestCmap()
    inside = {font.getGlyphID(cmap[ord(c)]) for c in "Loadings \u03c7\u00b2 \u03b1 \u2212 0.85"}
    outside = inside | {font.getGlyphID(cmap[0x0416])}          # Cyrillic: not in the base
    assert inside <= base[1].keys() and not outside <= base[1].keys()
    for gids in (inside, outside):
        with F._lean_pdf_fonts():
            with pdf_ps.get_glyphs_subset(fontfile, gids) as res:
                fast, fast_map = pdf_ps.font_as_file(res.font).getvalue(), res.glyph_index_map
        with F._lean_pdf_fonts():
            F._BASE_FONTS[(str(fontfile), 0)] = None
            try:
                with pdf_ps.get_glyphs_subset(fontfile, gids) as res:
                    full, full_map = pdf_ps.font_as_file(res.font).getvalue(), res.glyph_index_map
            finally:
                F._BASE_FONTS[(str(fontfile), 0)] = base
        assert fast == full
        assert {g: fast_map[g] for g in gids} == {g: full_map[g] for g in gids}
    vazir = font_manager.FontPath(str(F.FONT_FILE), 0) if hasattr(font_manager, "FontPath") \
        else str(F.FONT_FILE)
    font = TTFont(str(F.FONT_FILE))
    cmap = font.getBestCmap()
    gids = {font.getGlyphID(cmap[ord(c)]) for c in "\u0628\u0627\u0631 \u06f1\u06f2 WAI"}
    gids |= set(range(300, 340))                                 # letter forms (GSUB)
    subsets = []
    for base in (small, None):
        F._BASE_FONTS[(str(F.FONT_FILE), 0)] = base
        with F._lean_pdf_fonts():
            with pdf_ps.get_glyphs_subset(vazir, gids) as res:
                subsets.append((pdf_ps.font_as_file(res.font).getvalue(),
                                {g: res.glyph_index_map[g] for g in gids}))
    F._BASE_FONTS[(str(F.FONT_FILE), 0)] = small
    assert subsets[0] == subsets[1]
