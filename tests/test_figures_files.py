"""The cheaper drawing and writing of the report's figures (issue 13) gives the files of the
plain matplotlib path: the PNG writer against Pillow, the shared text measurements and the
ticks computed once against matplotlib's own per-renderer work, the bars of the distribution
plots against ``barh``."""
import contextlib
import io
import zlib

import matplotlib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from psychometrics.report import figures as F

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROPS = {f"x_{i}": {g: {1: .1 + .01 * i, 2: .3, 3: .6 - .01 * i} for g in ("a", "b")}
         for i in range(1, 6)}


def _pixels(data):
    with Image.open(io.BytesIO(data)) as im:
        return im.mode, im.size, im.info, np.asarray(im)


@pytest.mark.parametrize("channels", [3, 4])
def test_png_bytes_decode_to_the_pixels_with_savefigs_metadata(channels):
    rng = np.random.default_rng(3)
    px = rng.integers(0, 256, size=(37, 53, channels), dtype=np.uint8)
    px[5:20, 10:40] = 255                                   # runs, as in a figure
    data = F.png_bytes(px, 300, "Matplotlib version0, https://matplotlib.org/")
    mode, size, info, arr = _pixels(data)
    assert mode == ("RGB" if channels == 3 else "RGBA") and size == (53, 37)
    np.testing.assert_array_equal(arr, px)
    assert info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert info["Software"] == "Matplotlib version0, https://matplotlib.org/"
    # the same image Pillow writes (its own filters), and every chunk's CRC checked by zlib
    ref = io.BytesIO()
    Image.fromarray(px).save(ref, format="png", dpi=(300, 300))
    assert _pixels(ref.getvalue())[3].tobytes() == arr.tobytes()
    i = 8
    while i < len(data):
        n = int.from_bytes(data[i:i + 4], "big")
        chunk = data[i + 4:i + 8 + n]
        assert int.from_bytes(data[i + 8 + n:i + 12 + n], "big") == zlib.crc32(chunk)
        i += 12 + n
    with pytest.raises(ValueError):
        F.png_bytes(px[:, :, 0])


def test_png_of_an_opaque_figure_is_rgb_with_savefigs_pixels(tmp_path):
    fig = F.path_diagram_figure({"f": [("x_1", .7), ("x_2", .6)], "g": [("x_3", .5)]},
                                correlations={("f", "g"): .4})
    ref = io.BytesIO()
    with plt.rc_context(F.SAVE_RC):
        fig.savefig(ref, format="png", dpi=F.PNG_DPI, bbox_inches="tight", pad_inches=0.08)
    png = F._save(fig, tmp_path / "path.png")
    mode, size, _info, arr = _pixels(png.read_bytes())
    ref_mode, ref_size, _, ref_arr = _pixels(ref.getvalue())
    assert mode == "RGB" and size == ref_size
    np.testing.assert_array_equal(arr, ref_arr[:, :, :3])
    assert (ref_arr[:, :, 3] == 255).all()


def _draw_all(out, lang):
    """Every figure kind of the report, written to ``out``; returns the files' bytes."""
    F.scree_plot([3.0, 1.2, 0.7, 0.5], [1.3, 1.1, 1.0, 0.9], out / "scree.png", lang=lang,
                 title="Scree")
    F.loading_heatmap(pd.DataFrame({"MR1": [.8, .1, .3], "MR2": [.05, .7, -.4]},
                                   index=["x_1", "x_2", "x_3"]), out / "heat.png", lang=lang)
    F.item_distributions(PROPS, out / "dist.png", lang=lang, title="Items")
    F.item_histograms({"x_1": {"a": np.linspace(-2, 2, 40) ** 3, "b": np.linspace(-1, 3, 30)}},
                      out / "hist.png", lang=lang)
    F.invariance_plot(["configural", "metric", "scalar"], [None, -.004, -.012],
                      [None, .002, .01], out / "inv.png", lang=lang)
    F.path_diagram({"f": [("x_1", .7), ("x_2", .6)], "g": [("x_3", .5), ("x_4", .8)]},
                   out / "path.png", lang=lang, correlations={("f", "g"): .4})
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_shared_text_metrics_and_ticks_once_write_the_same_files(tmp_path, monkeypatch, lang):
    """The text measurements shared across renderers and figures (:func:`_shared_text_metrics`,
    with the fonts' tables read once) and the ticks computed once per figure
    (:func:`_ticks_once`) write byte for byte the PNG, PDF and SVG files of matplotlib's own
    per-renderer measurements -- also when every measurement comes from the cache."""
    (tmp_path / "fast").mkdir()
    (tmp_path / "again").mkdir()
    (tmp_path / "plain").mkdir()
    with monkeypatch.context() as m:
        m.setattr(F, "TEXT_CACHES", False)           # only the measurements shared (as before)
        fast = _draw_all(tmp_path / "fast", lang)
        again = _draw_all(tmp_path / "again", lang)     # the measurements now all cached
    with monkeypatch.context() as m:
        m.setattr(F, "TEXT_CACHES", False)
        m.setattr(F, "_shared_text_metrics", contextlib.nullcontext)
        m.setattr(F, "_ticks_once", contextlib.nullcontext)
        plain = _draw_all(tmp_path / "plain", lang)
    assert len(plain) == 18
    assert fast.keys() == plain.keys() == again.keys()
    for name in plain:
        assert fast[name] == plain[name], name
        assert again[name] == plain[name], name
    import matplotlib.axis
    import matplotlib.text
    assert matplotlib.axis.Axis._update_ticks.__name__ == "_update_ticks"
    assert matplotlib.text._get_text_metrics_with_cache.__name__ == \
        "_get_text_metrics_with_cache"


def test_text_metrics_depend_on_the_renderers_dpi(tmp_path):
    """The shared measurements keep a renderer's resolution apart: the same label measured
    for a 100-dpi and a 300-dpi Agg renderer has the answers of each."""
    from matplotlib.backends.backend_agg import RendererAgg
    fig = plt.figure()
    txt = fig.text(0.1, 0.1, "wai_12 (female)")
    with F._shared_text_metrics():
        sizes = {dpi: txt.get_window_extent(RendererAgg(100, 100, dpi)).size for dpi in (100, 300)}
    plain = {dpi: txt.get_window_extent(RendererAgg(100, 100, dpi)).size for dpi in (100, 300)}
    plt.close(fig)
    for dpi in (100, 300):
        np.testing.assert_array_equal(sizes[dpi], plain[dpi])
    assert sizes[300][0] > 2.5 * sizes[100][0]


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_distribution_bars_are_barhs(tmp_path, lang):
    """The bars of :func:`item_distributions` (one PolyCollection per category) give the
    pixels and axis limits of ``ax.barh`` (a Rectangle per bar), legend included."""
    y = np.array([0.0, 1.0, 2.4, 3.4])
    widths = [np.array([.2, .1, .3, .05]), np.array([.5, .6, .3, .0]), np.array([.3, .3, .4, .95])]

    def draw(bars):
        with F._style(lang):
            fig, ax = plt.subplots(figsize=(4, 2))
            left = np.zeros(y.size)
            for k, w in enumerate(widths):
                color = plt.get_cmap("viridis", 3)(k)
                if bars:
                    F._bars(ax, y, w, left, color=color, label=str(k + 1))
                else:
                    ax.barh(y, w, left=left, color=color, height=0.8, label=str(k + 1))
                left = left + w
            if bars:
                ax.autoscale_view()
            ax.invert_yaxis()
            ax.set_xlim(0, 1)
            ax.legend(ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=150)
            lim = ax.get_ylim()
            plt.close(fig)
            return lim, _pixels(buf.getvalue())[3]

    (lim_new, px_new), (lim_old, px_old) = draw(True), draw(False)
    assert lim_new == pytest.approx(lim_old, abs=1e-12)
    np.testing.assert_array_equal(px_new, px_old)


def _text_functions():
    """The functions :func:`F._text_caches` replaces, as matplotlib has them now."""
    import matplotlib.text as mtext
    from matplotlib import textpath
    from matplotlib.backends import _backend_pdf_ps, backend_agg
    from matplotlib.font_manager import FontManager
    return (backend_agg.RendererAgg._prepare_font, _backend_pdf_ps.RendererPDFPSBase._get_font_ttf,
            textpath.TextToPath._get_font, FontManager._find_fonts_by_props,
            mtext.Text._get_layout, mtext._get_text_metrics_with_cache, mtext.get_font)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_text_caches_write_the_files_of_matplotlibs_own_text_work(tmp_path, monkeypatch, lang):
    """Figures built and written inside :func:`F._text_caches` (glyph layouts kept for the
    process, text layouts and font lookups once per figure, measurements shared) are byte for
    byte the files of matplotlib's own per-call work, also when every glyph layout and
    measurement is already cached; matplotlib's functions are back afterwards."""
    before = _text_functions()
    for name in ("plain", "fast", "again"):
        (tmp_path / name).mkdir()
    with monkeypatch.context() as m:
        m.setattr(F, "TEXT_CACHES", False)
        m.setattr(F, "_shared_text_metrics", contextlib.nullcontext)
        plain = _draw_all(tmp_path / "plain", lang)
    F._GLYPH_LAYOUTS.clear()
    F._TEXT_METRICS.clear()
    fast = _draw_all(tmp_path / "fast", lang)
    assert F._GLYPH_LAYOUTS                              # the caches were used
    again = _draw_all(tmp_path / "again", lang)
    assert len(plain) == 18 and fast.keys() == plain.keys() == again.keys()
    for name in plain:
        assert fast[name] == plain[name], name
        assert again[name] == plain[name], name
    assert _text_functions() == before and not F._TEXT_SCOPES


def test_cached_glyph_layouts_are_the_fonts_layouts():
    """A :class:`F._SizedFont` answers ``_layout`` with the font's own items for its size:
    the same glyphs and positions at every size, resolution and load flag asked, in any
    order, and follows a ``set_size`` made through it."""
    from matplotlib.font_manager import FontProperties, fontManager, get_font
    from matplotlib.ft2font import LoadFlags
    font = get_font(fontManager._find_fonts_by_props(FontProperties(size=9)))

    def fields(items):
        return [(it.ft_object.fname, it.glyph_index, it.x, it.y, it.prev_kern, it.char)
                for it in items]

    texts = ["wai_12", "Proportion of responses", "\u2212.05", "AVATAR Wa"]
    sizes = [(9.0, 72.0), (9.0, 300.0), (7.5, 100.0), (100.0, 72.0)]
    flags = [LoadFlags.NO_HINTING, LoadFlags.FORCE_AUTOHINT]
    F._GLYPH_LAYOUTS.clear()
    for rep in range(2):                                 # the second round: all cached
        for size, dpi in (sizes if rep == 0 else sizes[::-1]):
            sized = F._SizedFont(font, 1.0, 1.0)
            sized.set_size(size, dpi)
            for text in texts:
                for fl in flags:
                    got = fields(sized._layout(text, fl))
                    font.set_size(size, dpi)
                    assert got == fields(font._layout(text, fl)), (text, size, dpi, fl)
    assert len(F._GLYPH_LAYOUTS) == len(texts) * len(sizes) * len(flags)
    F._GLYPH_LAYOUTS.clear()


def test_text_layouts_follow_the_text_properties():
    """Inside :func:`F._text_caches` a text laid out again after a change of its string,
    size, rotation or alignment gets the layout matplotlib makes for the new properties
    (the cache is keyed by them), and the same box as without the cache."""
    from matplotlib.backends.backend_agg import RendererAgg

    def boxes():
        fig = plt.figure(figsize=(3, 2))
        txt = fig.text(0.2, 0.3, "wai_3")
        r = RendererAgg(300, 200, 100)
        out = [txt.get_window_extent(r).bounds]
        for change in ({"text": "wai_12 (female)"}, {"fontsize": 14}, {"rotation": 30},
                       {"ha": "right"}, {"va": "top"}, {"text": "a\nb"}, {"linespacing": 2}):
            txt.set(**change)
            out.append(txt.get_window_extent(r).bounds)
            out.append(txt.get_window_extent(r, dpi=300).bounds)
        plt.close(fig)
        return out

    plain = boxes()
    with F._text_caches():
        cached = boxes()
    assert cached == plain
    assert len(set(plain)) > 10


def test_text_caches_nested_under_other_settings_cache_nothing():
    """A :func:`F._text_caches` scope opened inside another under other font settings uses
    matplotlib's own functions (a text measured there gets the size of those settings)."""
    from matplotlib.backends.backend_agg import RendererAgg

    def width():
        fig = plt.figure(figsize=(3, 2))
        w = fig.text(0.1, 0.1, "wai_12").get_window_extent(RendererAgg(300, 200, 100)).width
        plt.close(fig)
        return w

    with plt.rc_context({"font.size": 9}):
        small = width()
    with plt.rc_context({"font.size": 20}):
        large = width()
    with plt.rc_context({"font.size": 9}), F._text_caches():
        assert width() == small
        with plt.rc_context({"font.size": 20}), F._text_caches():
            assert F._TEXT_SCOPES[-1] is None
            assert width() == large
        assert width() == small
    assert large > 2 * small and not F._TEXT_SCOPES


def _glyph_functions():
    """The functions :func:`F._glyph_outlines` and :func:`F._pdf_glyphs_unloaded` replace."""
    from matplotlib import _text_helpers, textpath
    from matplotlib.backends import _backend_pdf_ps
    return (_text_helpers.layout, textpath.TextToPath.get_glyphs_with_font,
            _backend_pdf_ps.get_glyphs_subset)


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_glyph_and_subset_caches_write_the_files_of_the_uncached_path(tmp_path, monkeypatch,
                                                                       lang):
    """PDFs laid out without unused glyph loads, SVG glyph outlines kept for the process and
    PDF font subsets kept by glyph set (:data:`F.GLYPH_CACHES`, :data:`F.SUBSET_CACHE`) give
    byte for byte the files of the path without them, with the caches empty and with every
    outline and subset already cached; matplotlib's functions are back afterwards."""
    before = _glyph_functions()
    for name in ("plain", "fast", "again"):
        (tmp_path / name).mkdir()
    with monkeypatch.context() as m:
        m.setattr(F, "GLYPH_CACHES", False)
        m.setattr(F, "SUBSET_CACHE", False)
        F._SUBSETS.clear()
        plain = _draw_all(tmp_path / "plain", lang)
        assert not F._SUBSETS
    F._GLYPH_PATHS.clear()
    F._SUBSETS.clear()
    fast = _draw_all(tmp_path / "fast", lang)
    assert F._GLYPH_PATHS and F._SUBSETS                 # the caches were used
    n_subsets = len(F._SUBSETS)
    again = _draw_all(tmp_path / "again", lang)
    assert len(F._SUBSETS) == n_subsets                  # every subset came from the cache
    assert len(plain) == 18 and fast.keys() == plain.keys() == again.keys()
    for name in plain:
        assert fast[name] == plain[name], name
        assert again[name] == plain[name], name
    assert _glyph_functions() == before


def test_cached_glyph_outlines_are_the_fonts_outlines():
    """:func:`F._glyphs_with_font` gives matplotlib's glyph positions and outlines (new
    arrays each call), for a fresh and for a filled glyph map, Latin and Persian text."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath
    t2p = TextToPath()
    mine = F._glyphs_with_font(TextToPath.__dict__["get_glyphs_with_font"])
    props = (FontProperties(family="DejaVu Sans"), FontProperties(fname=str(F.FONT_FILE)))
    for prop, text in zip(props, ("wai_12 (Female) \u2212.45", "\u0628\u0628\u0646 \u06f1\u06f2")):
        font = t2p._get_font(prop)
        sized = F._SizedFont(font, t2p.FONT_SCALE, t2p.DPI)
        for only_new in (False, True):
            gm_ref, gm_new = {}, {}
            for _ in range(2):
                ref = t2p.get_glyphs_with_font(font, text, gm_ref, only_new)
                new = mine(t2p, sized, text, gm_new, only_new)
                assert ref[0] == new[0] and ref[2] == new[2]
                assert list(ref[1]) == list(new[1])
                for k in ref[1]:
                    np.testing.assert_array_equal(ref[1][k][0], new[1][k][0])
                    np.testing.assert_array_equal(ref[1][k][1], new[1][k][1])
                    if only_new:   # the caller's arrays, not the cache's: the next
                        new[1][k][0][:] = 0     # round (from the cache) is still matplotlib's
                if not only_new:
                    gm_ref, gm_new = ref[1], new[1]
