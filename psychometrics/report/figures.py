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
import io
import struct
import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.figure  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.path  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

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


def shape(text: str, lang: str = "en", digits: bool = True) -> str:
    """Return ``text`` ready for matplotlib: Persian digits (unless ``digits`` is False:
    variable names such as ``wai_4`` keep their ASCII digits so that they match the data
    columns), and -- unless matplotlib's text engine does it itself (see
    :func:`_engine_does_bidi`) -- Persian letters reshaped to their joined forms
    (arabic_reshaper) in visual order (python-bidi)."""
    text = str(text)
    if lang != "fa":
        return text
    if digits:
        text = localise(text, "fa")
    if _engine_does_bidi():
        return text
    import arabic_reshaper
    from bidi.algorithm import get_display
    return get_display(arabic_reshaper.reshape(text))


#: resolution of the PNG files (journals ask for 300 dpi); SVG and PDF are vector files
PNG_DPI = 300
#: the largest figure drawn, in inches (width, height): an A4 page's text block, landscape
MAX_SIZE = (9.0, 10.0)
#: formats written for every figure; the Figure block points to the PNG
FORMATS = ("png", "pdf", "svg")


#: settings of the files written (not of the drawing): TrueType fonts embedded in the PDF,
#: text kept as text (journals' checkers); SVG text as paths with reproducible ids
SAVE_RC = {"pdf.fonttype": 42, "svg.fonttype": "path", "svg.hashsalt": "psychometrics"}


@contextlib.contextmanager
def _style(lang: str):
    global _registered
    rc = {"figure.dpi": 100, "savefig.dpi": PNG_DPI, "axes.spines.top": False,
          "axes.spines.right": False, "font.size": 9,
          # item names such as wai_3 are text, never mathtext ("_" would subscript)
          "text.parse_math": False, "text.usetex": False,
          **SAVE_RC, "path.simplify": True}
    if lang == "fa":
        if not _registered:
            font_manager.fontManager.addfont(str(FONT_FILE))
            _registered = True
        name = font_manager.FontProperties(fname=str(FONT_FILE)).get_name()
        rc["font.family"] = [name, "DejaVu Sans"]
        rc["axes.unicode_minus"] = False
    with plt.rc_context(rc), (_text_caches() if TEXT_CACHES else contextlib.nullcontext()):
        yield


def apa_decimal(v: float, dec: int = 2, signed: bool = False) -> str:
    """A bounded statistic as APA writes it: no leading zero, a real minus sign
    (``.45``, ``−.010``, with ``signed`` also ``+.010``)."""
    if v is None or not np.isfinite(v):
        return "\u2014"
    out = f"{v:+.{dec}f}" if signed else f"{v:.{dec}f}"
    out = out.replace("0.", ".", 1) if out.lstrip("+-").startswith("0.") else out
    if float(out.replace("+", "")) == 0:
        out = "0" if signed else out.lstrip("+-")
    return out.replace("-", "\u2212")


def _num_axis(ax, lang: str, axis: str = "y", dec: int | None = None,
              apa: bool = False, signed: bool = False) -> None:
    """Tick labels: Persian digits in Persian; with ``apa`` no leading zero (bounded
    statistics such as CFI differences)."""
    if lang != "fa" and not apa:
        return

    def f(v, _pos):
        if apa:
            s = apa_decimal(v, dec if dec is not None else 2, signed)
        else:
            s = f"{v:.{dec}f}" if dec is not None else f"{v:g}"
        return shape(s, lang)
    getattr(ax, f"{axis}axis").set_major_formatter(FuncFormatter(f))


def _capped(width: float, height: float) -> tuple[float, float]:
    """The figure size within :data:`MAX_SIZE` (never the 46,587-px-wide figure)."""
    return min(float(width), MAX_SIZE[0]), min(float(height), MAX_SIZE[1])


def output_paths(path) -> dict:
    """The files a figure is written to: ``{"png": ..., "pdf": ..., "svg": ...}`` next to
    ``path`` (whose suffix is replaced)."""
    path = Path(path)
    return {ext: path.with_suffix("." + ext) for ext in FORMATS}


#: OpenType layout tables left out of the fonts embedded in the PDF files: matplotlib has
#: already shaped the text (the PDF addresses glyphs by number), and a PDF viewer draws a
#: TrueType (Type 42 / CIDFontType2) font from its outlines and metrics (glyf, loca, hmtx,
#: head, hhea, maxp; ISO 32000-1, 9.9) and never reads these tables.  Subsetting them (and
#: the glyph closure over their substitutions) was most of the cost of writing a PDF.
PDF_DROPPED_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern")


class _LeanSubset:
    """fontTools.subset as matplotlib's PDF backend uses it, except that its ``Options``
    also drop :data:`PDF_DROPPED_TABLES` (everything else is fontTools.subset itself)."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def Options(self, *args, **kw):  # noqa: N802 - stands in for fontTools' class
        options = self._module.Options(*args, **kw)
        options.drop_tables += [t for t in PDF_DROPPED_TABLES if t not in options.drop_tables]
        return options


#: Unicode ranges whose glyphs (with every glyph the font's OpenType substitutions and
#: composite glyphs make of them) make up the once-per-process base fonts of
#: :func:`_base_font`: Latin (ASCII, Latin-1, Latin Extended-A), combining marks, Greek,
#: punctuation, super/subscripts, currency, letter-like symbols, mathematical operators.
#: A PDF whose text needs any other glyph of the font gets its subset from the font file.
BASE_FONT_RANGES = ((0x0000, 0x017F), (0x0300, 0x036F), (0x0370, 0x03FF), (0x2000, 0x206F),
                    (0x2070, 0x209F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2200, 0x22FF))

#: the base font of a font with fewer glyphs (Vazirmatn: 1,333) keeps all of them: reduced
#: it would hold most of them and save little
BASE_FONT_MIN_GLYPHS = 2000

#: per (font file, face index): the base font (bytes of a TrueType file) and the map from
#: the font file's glyph numbers to the base font's, or None when it could not be made
_BASE_FONTS: dict = {}


class _FontBytes(io.BytesIO):
    """A font file in memory where matplotlib expects a ``FontPath`` (face 0)."""
    face_index = 0


def _reduce_font(font, subset, options) -> dict:
    """Subset ``font`` (in place) to the glyphs of :data:`BASE_FONT_RANGES` and their closure
    under composite glyphs and OpenType substitutions; return the map from the old glyph
    numbers to the new ones (the glyph order is kept)."""
    order = font.getGlyphOrder()
    cmap = font.getBestCmap() or {}
    unicodes = [u for u in cmap if any(lo <= u <= hi for lo, hi in BASE_FONT_RANGES)]
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=unicodes)
    # the name table is kept whole: the PDF's subset prunes it as from the font file
    # (pruning it here would visit every table for the names they use)
    if "name" in font:
        font["name"].prune_post_subset = lambda *_args: True
    subsetter.subset(font)
    if "name" in font:
        del font["name"].prune_post_subset
    gids = dict(subsetter.glyph_index_map)
    if [order[g] for g in sorted(gids)] != font.getGlyphOrder():
        raise ValueError("glyph order not kept")   # pragma: no cover
    return gids


def _base_font(fontfile):
    """``(data, gids)``: the base font of ``fontfile``, made once per process: the font
    without :data:`PDF_DROPPED_TABLES` (which fontTools would otherwise decompile for every
    PDF), and for a font of :data:`BASE_FONT_MIN_GLYPHS` glyphs or more also reduced to the
    glyphs of :data:`BASE_FONT_RANGES` (:func:`_reduce_font`; DejaVu Sans: 1,158 of 6,241),
    every other table, the glyph names and the glyph order kept (fontTools.subset); ``gids``
    maps the font file's glyph numbers to the base font's.  The fonts embedded in the PDFs
    are subsets of it, made in milliseconds.  ``None`` for a font fontTools cannot read or
    subset."""
    key = (str(fontfile), getattr(fontfile, "face_index", 0))
    if key not in _BASE_FONTS:
        try:
            from fontTools import subset
            options = subset.Options(glyph_names=True, recommended_glyphs=True,
                                     notdef_outline=True, layout_features=["*"],
                                     legacy_kern=True, passthrough_tables=True)
            options.font_number = key[1]
            font = subset.load_font(key[0], options)
            try:
                if font["maxp"].numGlyphs < BASE_FONT_MIN_GLYPHS:
                    gids = {g: g for g in range(len(font.getGlyphOrder()))}
                else:
                    gids = _reduce_font(font, subset, options)
                for tag in PDF_DROPPED_TABLES:   # never embedded
                    if tag in font:
                        del font[tag]
                buf = io.BytesIO()
                font.save(buf, reorderTables=False)
                _BASE_FONTS[key] = (buf.getvalue(), gids)
            finally:
                font.close()
        except Exception:   # pragma: no cover - fonts fontTools cannot subset
            _BASE_FONTS[key] = None
    return _BASE_FONTS[key]


#: font subsets of the PDF files made in this process, by font file, face and glyph set:
#: (the subset's TrueType bytes, its glyph map); see :func:`_subset_from_base`
_SUBSETS: dict = {}
#: subsets kept at most (10-60 kB each); the cache is emptied when it is full
SUBSETS_MAX = 300

#: whether a font subset already made in the process for the same font and glyphs is used
#: again (:data:`_SUBSETS`); False: every PDF makes its subsets, as before -- the same
#: files (test)
SUBSET_CACHE = True


class _SubsetFile:
    """A font subset already saved (TrueType bytes) where matplotlib expects the subset's
    fontTools font: ``font_as_file`` saves it (the same bytes), ``with`` closes it."""

    def __init__(self, data: bytes):
        self.data = data

    def save(self, file, reorderTables=True):  # noqa: N803 - fontTools' signature
        file.write(self.data)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _subset_from_base(get_glyphs_subset):
    """matplotlib's ``get_glyphs_subset(fontfile, glyphs)``, made from the font's base
    font (:func:`_base_font`) when it has every glyph asked for, from the font file itself
    otherwise; the returned glyph map is in the font file's glyph numbers either way.  The
    base font keeps the glyph order and every table, so the subset is the same font (the
    same bytes, test) as the one made from the font file.  With :data:`SUBSET_CACHE` a
    subset of the same font file, face and glyph set as one made before in the process
    (the figures' tick labels and titles repeat: 29 subsets of 19 glyph sets for the
    English demo) is that subset again, its bytes as fontTools saved them and its glyph
    map (:data:`_SUBSETS`); fontTools' subsetting is a function of the font file, the
    glyphs and the options, which are fixed (matplotlib's, with
    :data:`PDF_DROPPED_TABLES` dropped)."""
    from matplotlib.backends import _backend_pdf_ps as pdf_ps

    def made(fontfile, glyphs):
        base = _base_font(fontfile)
        if base is None or not glyphs <= base[1].keys():
            return get_glyphs_subset(fontfile, glyphs)
        data, gids = base
        inner = get_glyphs_subset(_FontBytes(data), {gids[g] for g in glyphs})

        @contextlib.contextmanager
        def remapped():
            with inner as res:
                yield res._replace(glyph_index_map={
                    old: res.glyph_index_map[new] for old, new in gids.items()
                    if new in res.glyph_index_map})
        return remapped()

    def subset_glyphs(fontfile, glyphs):
        glyphs = set(glyphs)
        if not SUBSET_CACHE:
            return made(fontfile, glyphs)
        key = (str(fontfile), getattr(fontfile, "face_index", 0), frozenset(glyphs),
               tuple(PDF_DROPPED_TABLES), id(get_glyphs_subset))
        hit = _SUBSETS.get(key)
        if hit is None:
            with made(fontfile, glyphs) as res:
                hit = (pdf_ps.font_as_file(res.font).getvalue(), dict(res.glyph_index_map))
            if len(_SUBSETS) >= SUBSETS_MAX:
                _SUBSETS.clear()
            _SUBSETS[key] = hit
        return contextlib.nullcontext(pdf_ps.SubsetResults(_SubsetFile(hit[0]), dict(hit[1])))

    return subset_glyphs


@contextlib.contextmanager
def _lean_pdf_fonts():
    """While writing a PDF: embedded TrueType subsets without OpenType layout tables (see
    :data:`PDF_DROPPED_TABLES`), made from the once-per-process base font
    (:func:`_subset_from_base`); the fonts stay Type 42 with every glyph drawn.  Without
    matplotlib's helper module (other matplotlib versions) nothing changes."""
    try:
        from matplotlib.backends import _backend_pdf_ps as pdf_ps
        module = pdf_ps.subset
        get_glyphs_subset = pdf_ps.get_glyphs_subset
    except (ImportError, AttributeError):   # pragma: no cover - other matplotlib versions
        yield
        return
    pdf_ps.subset = _LeanSubset(module)
    if hasattr(pdf_ps, "SubsetResults"):   # subsets by glyph number (matplotlib >= 3.11)
        pdf_ps.get_glyphs_subset = _subset_from_base(get_glyphs_subset)
    try:
        yield
    finally:
        pdf_ps.subset = module
        pdf_ps.get_glyphs_subset = get_glyphs_subset


#: text metrics (width, height, descent) measured while writing figures, for the process:
#: key -> the renderer's answer (see :func:`_shared_text_metrics`)
_TEXT_METRICS: dict = {}
#: entries kept at most (about 100 bytes each); the cache is emptied when it is full
TEXT_METRICS_MAX = 50_000


def _text_metrics_context() -> tuple:
    """What a renderer's text measurement depends on besides the text, its font properties
    and the renderer's kind and resolution: the font and text settings (generic families,
    hinting, mathtext fonts, PDF/PS core fonts) and the fonts known to matplotlib."""
    rc = matplotlib.rcParams
    keys = sorted(k for k in rc if k.startswith(("font.", "text.", "mathtext."))
                  or k in ("pdf.use14corefonts", "ps.useafm"))
    return (tuple((k, str(rc[k])) for k in keys), len(font_manager.fontManager.ttflist),
            len(font_manager.fontManager.afmlist))


def _measured(measure, renderer, text, fontprop, ismath, dpi, context):
    """``measure(renderer, text, fontprop, ismath, dpi)`` (matplotlib's text extent), kept in
    :data:`_TEXT_METRICS` by the renderer's kind and dpi, the text, the font properties' values
    and ``context`` (the font settings in force): returns the cached answer when there is one."""
    inner = getattr(renderer, "_renderer", renderer)   # MixedModeRenderer (PDF)
    key = (type(inner), getattr(renderer, "dpi", None), getattr(inner, "dpi", None),
           text, tuple(fontprop.get_family()), fontprop.get_style(),
           fontprop.get_variant(), fontprop.get_weight(), fontprop.get_stretch(),
           fontprop.get_size_in_points(), fontprop.get_file(),
           fontprop.get_math_fontfamily(), ismath, dpi, context)
    try:
        return _TEXT_METRICS[key]
    except KeyError:
        pass
    value = measure(renderer, text, fontprop, ismath, dpi)
    if len(_TEXT_METRICS) >= TEXT_METRICS_MAX:
        _TEXT_METRICS.clear()
    _TEXT_METRICS[key] = value
    return value


@contextlib.contextmanager
def _shared_text_metrics():
    """While writing figures: matplotlib's text measurements (``Text._get_layout``,
    legends, offset boxes) shared by every renderer of the same kind and resolution
    in the process, not only kept per renderer as matplotlib keeps them.  A renderer's
    ``get_text_width_height_descent`` is a function of the text, the font properties,
    whether it is mathtext, its dpi and the settings of :func:`_text_metrics_context`,
    so a value measured once for one figure's PDF is the value the next figure's PDF
    would measure (the same numbers, test); the tick labels, legends and axis labels
    repeat across the figures and across their bounding-box measurement.  Returns
    nothing; matplotlib's function is restored afterwards.  Like pyplot, for one thread:
    figures are written one after the other."""
    import matplotlib.text as mtext
    measure = mtext._get_text_metrics_with_cache
    context = _text_metrics_context()

    def shared(renderer, text, fontprop, ismath, dpi):
        return _measured(measure, renderer, text, fontprop, ismath, dpi, context)

    get_font = mtext.get_font
    fonts: dict = {}

    def font_with_tables(*args, **kw):
        # Text._get_layout reads the font's OS/2, hhea and head tables for the line
        # height of every text each time it is measured or drawn; a font's tables do not
        # change, so each is read once
        key = (tuple(args[0]) if isinstance(args[0], (list, tuple)) else args[0],
               *args[1:], tuple(sorted(kw.items())))
        if key not in fonts:
            fonts[key] = _FontTables(get_font(*args, **kw))
        return fonts[key]

    mtext._get_text_metrics_with_cache = shared
    mtext.get_font = font_with_tables
    try:
        yield
    finally:
        mtext._get_text_metrics_with_cache = measure
        mtext.get_font = get_font


class _FontTables:
    """A matplotlib FT2Font whose ``get_sfnt_table`` answers are read once (the same
    dictionaries); everything else is the font's."""

    def __init__(self, font):
        self._font = font
        self._tables: dict = {}

    def get_sfnt_table(self, name):
        if name not in self._tables:
            self._tables[name] = self._font.get_sfnt_table(name)
        return self._tables[name]

    def __getattr__(self, name):
        return getattr(self._font, name)


def _font_key(fontprop) -> tuple:
    """The properties of a FontProperties that select and size a font (what its hash is
    made of), as a tuple: a snapshot, unlike the object, which can change later."""
    return (tuple(fontprop.get_family()), fontprop.get_style(), fontprop.get_variant(),
            fontprop.get_weight(), fontprop.get_stretch(), fontprop.get_size_in_points(),
            fontprop.get_file(), fontprop.get_math_fontfamily())


#: glyph layouts (libraqm/HarfBuzz shaping of a string with a font at a size and
#: resolution) made while writing figures, for the process: key -> (font, LayoutItems)
_GLYPH_LAYOUTS: dict = {}
#: entries kept at most (a few hundred bytes each); the cache is emptied when it is full
GLYPH_LAYOUTS_MAX = 20_000


class _SizedFont:
    """A matplotlib FT2Font just sized by a renderer (``set_size(size, dpi)``), whose
    ``_layout`` answers are kept for the process (:data:`_GLYPH_LAYOUTS`); everything else
    (``set_text``, tables, ...) is the font's.  ``set_size`` through it is followed."""

    __slots__ = ("_font", "_size")

    def __init__(self, font, size, dpi):
        self._font = font
        self._size = (float(size), float(dpi))

    def set_size(self, size, dpi):
        self._font.set_size(size, dpi)
        self._size = (float(size), float(dpi))

    def _layout(self, text, flags, features=None, language=None):
        try:
            key = (id(self._font), self._size, text, flags,
                   None if features is None else tuple(features),
                   language if language is None or isinstance(language, str)
                   else tuple(tuple(x) for x in language))
            hash(key)
        except TypeError:     # pragma: no cover - arguments matplotlib does not pass
            return self._font._layout(text, flags, features=features, language=language)
        hit = _GLYPH_LAYOUTS.get(key)
        if hit is not None:
            return list(hit[1])
        items = self._font._layout(text, flags, features=features, language=language)
        if len(_GLYPH_LAYOUTS) >= GLYPH_LAYOUTS_MAX:
            _GLYPH_LAYOUTS.clear()
        # the font is kept with its layouts: its id stays its own while they are cached
        _GLYPH_LAYOUTS[key] = (self._font, tuple(items))
        return list(items)

    def __getattr__(self, name):
        return getattr(self._font, name)


class _TextScope:
    """The caches of one :func:`_text_caches` scope: the font and text settings it was
    opened with (``context``, see :func:`_text_metrics_context`), text layouts by renderer
    and text properties, font lookups by font properties, and the renderers seen (kept
    referenced, so that their ids are not reused while the scope lasts)."""

    def __init__(self, context):
        self.context = context
        self.layouts: dict = {}
        self.fonts: dict = {}
        self.renderers: dict = {}


#: the :func:`_text_caches` scopes open now, innermost last: the scope whose caches apply,
#: or None for an inner scope opened under other font or text settings (no caching there)
_TEXT_SCOPES: list = []


def _text_cache_patches(scope) -> list:
    """``(owner, attribute, replacement)`` for every function :func:`_text_caches` replaces
    while ``scope`` is open; empty for a matplotlib without them (then nothing is cached).
    Each replacement uses the scope's caches only while the scope is the innermost one
    (:data:`_TEXT_SCOPES`) and is matplotlib's own function otherwise."""
    import matplotlib.text as mtext
    from matplotlib import textpath
    from matplotlib.backends import _backend_pdf_ps, backend_agg
    from matplotlib.font_manager import FontManager, FontProperties

    originals = [(backend_agg.RendererAgg, "_prepare_font"),
                 (_backend_pdf_ps.RendererPDFPSBase, "_get_font_ttf"),
                 (textpath.TextToPath, "_get_font"), (FontManager, "_find_fonts_by_props"),
                 (mtext.Text, "_get_layout")]
    orig = {}
    for owner, name in originals:
        if name not in owner.__dict__:     # pragma: no cover - other matplotlib versions
            return []
        orig[name] = owner.__dict__[name]
    if not hasattr(mtext, "_get_text_metrics_with_cache") or not hasattr(mtext, "get_font"):
        return []                          # pragma: no cover - other matplotlib versions
    measure, get_font = mtext._get_text_metrics_with_cache, mtext.get_font

    def active() -> bool:
        return bool(_TEXT_SCOPES) and _TEXT_SCOPES[-1] is scope

    # -- glyph layouts: the renderers' helpers that size a font right before they lay text
    # out with it -- Agg (the PNG), PDF/PS, text as paths (the SVG) -- return it as a
    # _SizedFont, which knows its size (the layout does not depend on any setting)
    def _prepare_font(self, font_prop):
        return _SizedFont(orig["_prepare_font"](self, font_prop),
                          font_prop.get_size_in_points(), self.dpi)

    def _get_font_ttf(self, prop):
        return _SizedFont(orig["_get_font_ttf"](self, prop), prop.get_size_in_points(), 72)

    def _get_font(self, prop):
        return _SizedFont(orig["_get_font"](self, prop), self.FONT_SCALE, self.DPI)

    # -- font lookups: one per font properties (a function of them, the font settings and
    # the fonts known: fixed within the scope)
    def _find_fonts_by_props(self, prop, fontext="ttf", directory=None,
                             fallback_to_default=True, rebuild_if_missing=True):
        find = orig["_find_fonts_by_props"]
        if not active() or not isinstance(prop, FontProperties):
            return find(self, prop, fontext, directory, fallback_to_default,
                        rebuild_if_missing)
        key = (id(self), _font_key(prop), fontext, directory, fallback_to_default,
               rebuild_if_missing, len(self.ttflist), len(self.afmlist))
        hit = scope.fonts.get(key)
        if hit is None:
            hit = scope.fonts[key] = (self, tuple(find(self, prop, fontext, directory,
                                                       fallback_to_default,
                                                       rebuild_if_missing)))
        return list(hit[1])

    # -- text layouts: one per renderer, dpi and text properties
    def _get_layout(self, renderer):
        get_layout = orig["_get_layout"]
        fig = self.get_figure(root=True)
        if not active() or fig is None or self.get_wrap() or self.get_usetex():
            return get_layout(self, renderer)
        key = (id(renderer), fig.dpi, self.get_text(), _font_key(self._fontproperties),
               self.get_parse_math(), self._linespacing, self._get_multialignment(),
               self.get_rotation(), self.get_rotation_mode(), self._horizontalalignment,
               self._verticalalignment)
        hit = scope.layouts.get(key)
        if hit is None:
            bbox, info, corner = get_layout(self, renderer)
            scope.renderers[id(renderer)] = renderer
            hit = scope.layouts[key] = (bbox.frozen(), tuple(info), corner)
        return hit[0].frozen(), list(hit[1]), hit[2]

    # -- text measurements: shared by every renderer of one kind and resolution in the
    # process (see _shared_text_metrics), under the scope's settings
    def shared(renderer, text, fontprop, ismath, dpi):
        if not active():
            return measure(renderer, text, fontprop, ismath, dpi)
        return _measured(measure, renderer, text, fontprop, ismath, dpi, scope.context)

    fonts: dict = {}

    def font_with_tables(*args, **kw):
        # Text._get_layout reads the font's OS/2, hhea and head tables for the line height
        # of every text it lays out; a font's tables do not change, so each is read once
        if not active():
            return get_font(*args, **kw)
        key = (tuple(args[0]) if isinstance(args[0], (list, tuple)) else args[0],
               *args[1:], tuple(sorted(kw.items())))
        if key not in fonts:
            fonts[key] = _FontTables(get_font(*args, **kw))
        return fonts[key]

    return [(backend_agg.RendererAgg, "_prepare_font", _prepare_font),
            (_backend_pdf_ps.RendererPDFPSBase, "_get_font_ttf", _get_font_ttf),
            (textpath.TextToPath, "_get_font", _get_font),
            (FontManager, "_find_fonts_by_props", _find_fonts_by_props),
            (mtext.Text, "_get_layout", _get_layout),
            (mtext, "_get_text_metrics_with_cache", shared),
            (mtext, "get_font", font_with_tables)]


@contextlib.contextmanager
def _text_caches():
    """While building and writing a figure: matplotlib's work on text done once.

    * the glyph layout of a string (libraqm shaping through ``FT2Font._layout``, about
      0.05 ms a character) once per font, size, resolution and load flags for the process:
      the PNG's Agg renderer, the PDF and the SVG (text as paths) lay out every string each
      time they draw it, and tick labels, legends and item names repeat across renderings
      and figures (:class:`_SizedFont`);
    * ``Text._get_layout`` (a text's lines, their metrics, its rotated box) once per
      renderer, dpi and text properties -- string, font, rotation, alignment, line spacing,
      math setting (wrapped and TeX texts are not kept); matplotlib lays each tick label
      out three to four times per rendering (the tick label boxes, the axis label's
      position, the draw); a copy of the box each time;
    * the font lookup of a text's font properties (``FontManager._find_fonts_by_props``:
      a ``findfont`` per family, each building a key of eleven settings) once per font
      properties;
    * text measurements shared by every renderer of one kind and resolution in the process
      and the fonts' OS/2, hhea and head tables read once (see
      :func:`_shared_text_metrics`).

    Each of these is a function of what its key holds and of the font and text settings
    and the fonts known, which do not change within the scope.  Scopes nest: an inner one
    opened under the same settings (:func:`_text_metrics_context`; the files' settings of
    :data:`SAVE_RC` are none of them) uses the outer one's caches, one under other settings
    caches nothing.  The figures are the same (test against :data:`TEXT_CACHES` False).
    Returns nothing; matplotlib's functions are restored when the outermost scope ends."""
    context = _text_metrics_context()
    if _TEXT_SCOPES:
        outer = next((s for s in reversed(_TEXT_SCOPES) if s is not None), None)
        _TEXT_SCOPES.append(outer if outer is not None and outer.context == context
                            else None)
        try:
            yield
        finally:
            _TEXT_SCOPES.pop()
        return
    scope = _TextScope(context)
    patches = _text_cache_patches(scope)
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, fn in patches:
        setattr(owner, name, fn)
    _TEXT_SCOPES.append(scope)
    try:
        yield
    finally:
        _TEXT_SCOPES.pop()
        for owner, name, fn in saved:
            setattr(owner, name, fn)


@contextlib.contextmanager
def _ticks_once():
    """While writing one figure: each axis computes its ticks once (locator, formatter,
    the tick artists' positions and labels, the ticks within the view) and every later
    rendering draws that list of ticks.  matplotlib recomputes them several times per
    rendering (bounding boxes, tick label boxes, the draw itself) and once more for each
    file, though nothing the ticks depend on (limits, locators, formatters, rcParams)
    changes between the renderings of a finished figure; the files are the same (test).
    Returns nothing; matplotlib's method is restored afterwards."""
    from matplotlib.axis import Axis
    update = Axis._update_ticks
    done: dict = {}

    def once(axis):
        try:
            return list(done[axis])
        except KeyError:
            ticks = update(axis)
            done[axis] = list(ticks)
            return ticks

    Axis._update_ticks = once
    try:
        yield
    finally:
        Axis._update_ticks = update


#: glyph outlines (``FT2Font.get_path`` after ``load_glyph``) made while writing SVG files,
#: for the process: key -> (font, (vertices, codes)); see :func:`_glyph_outlines`
_GLYPH_PATHS: dict = {}
#: entries kept at most (a glyph outline is a few kB); the cache is emptied when it is full
GLYPH_PATHS_MAX = 5_000


def _unloaded_layout(string, font, *, features=None, language=None):
    """``matplotlib._text_helpers.layout`` without loading each glyph into its font: the
    same items (``font._layout`` with ``NO_HINTING``, the shaping of libraqm), in the same
    order.  matplotlib's version also calls ``load_glyph`` for every item, which its PDF
    renderer never uses (it reads the items' glyph numbers and positions; the PDF's widths
    come from the embedded subset) and which the SVG's text-as-paths needs only for a glyph
    it has not yet turned into a path (:func:`_glyph_outlines` loads those)."""
    from matplotlib.ft2font import LoadFlags
    yield from font._layout(string, LoadFlags.NO_HINTING, features=features,
                            language=language)


def _glyphs_with_font(get_glyphs_with_font):
    """``TextToPath.get_glyphs_with_font`` (the glyphs of a string as outlines, for the SVG
    files' text as paths) with each glyph's outline kept for the process
    (:data:`_GLYPH_PATHS`, by font object, size, resolution and glyph number) and a glyph
    loaded only when its outline is made: matplotlib loads every glyph of every string and
    makes the outline of each glyph new to the file.  The outline of a glyph loaded without
    hinting at a size is a function of the font, the size and the glyph; every call returns
    new arrays.  Used when the font knows its size (a :class:`_SizedFont`, from the text
    caches); otherwise matplotlib's own function."""
    from collections import OrderedDict

    from matplotlib.ft2font import LoadFlags

    def glyphs(self, font, s, glyph_map=None, return_new_glyphs_only=False, *,
               features=None, language=None):
        if not isinstance(font, _SizedFont):
            return get_glyphs_with_font(self, font, s, glyph_map, return_new_glyphs_only,
                                        features=features, language=language)
        if glyph_map is None:
            glyph_map = OrderedDict()
        glyph_map_new = OrderedDict() if return_new_glyphs_only else glyph_map
        xpositions, ypositions, glyph_reprs = [], [], []
        for item in _unloaded_layout(s, font, features=features, language=language):
            ft = item.ft_object
            glyph_repr = self._get_glyph_repr(ft, item.glyph_index)
            glyph_reprs.append(glyph_repr)
            xpositions.append(item.x)
            ypositions.append(item.y)
            if glyph_repr not in glyph_map:
                key = (id(ft), font._size, item.glyph_index)
                hit = _GLYPH_PATHS.get(key)
                if hit is None:
                    ft.load_glyph(item.glyph_index, flags=LoadFlags.NO_HINTING)
                    if len(_GLYPH_PATHS) >= GLYPH_PATHS_MAX:
                        _GLYPH_PATHS.clear()
                    # the font is kept with its outlines: its id stays its own meanwhile
                    hit = _GLYPH_PATHS[key] = (ft, ft.get_path())
                verts, codes = hit[1]
                glyph_map_new[glyph_repr] = (verts.copy(), codes.copy())
        sizes = [1.] * len(xpositions)
        return list(zip(glyph_reprs, xpositions, ypositions, sizes)), glyph_map_new, []

    return glyphs


@contextlib.contextmanager
def _glyph_outlines():
    """While writing a figure's SVG file: the text as paths takes each glyph's outline from
    a cache for the process and loads only the glyphs whose outline it makes
    (:func:`_glyphs_with_font`).  The files are the same (test against :data:`GLYPH_CACHES`
    False).  Returns nothing; matplotlib's function is restored afterwards; without it
    (other matplotlib versions) nothing changes."""
    from matplotlib import textpath
    get_glyphs = textpath.TextToPath.__dict__.get("get_glyphs_with_font")
    if get_glyphs is None:   # pragma: no cover - other matplotlib versions
        yield
        return
    textpath.TextToPath.get_glyphs_with_font = _glyphs_with_font(get_glyphs)
    try:
        yield
    finally:
        textpath.TextToPath.get_glyphs_with_font = get_glyphs


@contextlib.contextmanager
def _pdf_glyphs_unloaded():
    """While writing a PDF file: its text laid out without loading each glyph into its font
    (:func:`_unloaded_layout`); the PDF renderer reads only the glyph numbers and positions
    of the layout.  The files are the same (test against :data:`GLYPH_CACHES` False).
    Returns nothing; matplotlib's function is restored afterwards."""
    from matplotlib import _text_helpers
    layout = getattr(_text_helpers, "layout", None)
    if layout is None:   # pragma: no cover - other matplotlib versions
        yield
        return
    _text_helpers.layout = _unloaded_layout
    try:
        yield
    finally:
        _text_helpers.layout = layout


#: whether a figure's PDF is written inside :func:`_pdf_glyphs_unloaded` (no unused glyph
#: loads) and its SVG inside :func:`_glyph_outlines` (glyph outlines kept for the process);
#: False: matplotlib's own functions, as before -- the same files (test)
GLYPH_CACHES = True

#: whether figures are built and written inside :func:`_text_caches` (glyph layouts, text
#: layouts, font lookups, text measurements done once); False: only the text measurements
#: are shared, while the files are written (:func:`_shared_text_metrics`), as before --
#: the same files (test)
TEXT_CACHES = True


def _save(fig, path, lang: str = "en") -> Path:
    """Write ``fig`` as PNG (300 dpi), PDF and SVG next to ``path``; return the PNG path.

    The file settings of :data:`SAVE_RC` apply also to the figures built by a ``*_figure``
    function outside :func:`_style`: TrueType (Type 42) fonts in every PDF, reproducible SVG
    ids.  ``lang`` is kept for the callers (the figure is drawn as it was built)."""
    paths = output_paths(path)
    paths["png"].parent.mkdir(parents=True, exist_ok=True)
    try:
        with plt.rc_context(SAVE_RC), \
                (_text_caches() if TEXT_CACHES else _shared_text_metrics()), _ticks_once():
            _write(fig, paths)
    finally:
        plt.close(fig)
    return paths["png"]


class _Pixels:
    """A file for matplotlib's "raw" format that keeps the pixels (height x width x RGBA)."""
    rgba = None

    def write(self, data) -> None:
        # the renderer's buffer itself (height, width, 4): read before anything draws again
        self.rgba = np.asarray(data, dtype=np.uint8)

    def seek(self, *_args) -> None:  # marks it as a file for matplotlib
        pass


#: zlib level of the PNG files: 5 instead of zlib's default 6, about 20% less CPU for files 1.5%
#: larger (9: 9% smaller for four times the CPU; 3: about 20% larger)
PNG_ZLIB_LEVEL = 5


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + tag + data
            + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)) & 0xFFFFFFFF))


def png_bytes(pixels, dpi: float = PNG_DPI, software: str | None = None) -> bytes:
    """A PNG file (ISO/IEC 15948, 8 bits per sample, not interlaced) of ``pixels`` (height x
    width x 3 RGB or 4 RGBA, uint8) with the chunks matplotlib's ``savefig`` writes: tEXt
    ``Software``, pHYs (``dpi`` as pixels per metre, rounded as Pillow does), one zlib
    stream in IDAT chunks of 64 KiB.  Every scanline uses filter type 0 (None): on these
    figures (large areas of one colour) zlib alone compresses as well as libpng's or
    Pillow's adaptive per-line filter choice (about 5% smaller files), and the filter pass
    was about half of the encoding time.  Returns the bytes of the file."""
    a = np.asarray(pixels)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.dtype != np.uint8:
        raise ValueError(f"png_bytes: pixels of shape {a.shape} ({a.dtype}), expected "
                         "(h, w, 3 or 4) uint8")
    h, w, n = a.shape
    raw = np.empty((h, 1 + w * n), dtype=np.uint8)
    raw[:, 0] = 0                                    # each line's filter type: 0, None
    lines = raw[:, 1:].reshape(h, w, n)              # a view of raw (rows are contiguous)
    for c in range(n):
        # channel by channel: numpy copies the RGB of an RGBA buffer (a view with a pixel
        # stride of 4) about five times faster so than as one (h, w, 3) block
        lines[:, :, c] = a[:, :, c]
    data = zlib.compress(raw.data, PNG_ZLIB_LEVEL)
    ppm = int(dpi / 0.0254 + 0.5)
    out = [b"\x89PNG\r\n\x1a\n",
           _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2 if n == 3 else 6, 0, 0, 0))]
    if software is not None:
        out.append(_png_chunk(b"tEXt", b"Software\0" + software.encode("latin-1")))
    out.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)))
    out += [_png_chunk(b"IDAT", data[i:i + 65536]) for i in range(0, len(data), 65536)]
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out)


def _write_png(fig, path, bbox) -> None:
    """The PNG at :data:`PNG_DPI`: matplotlib's Agg pixels, the same metadata as
    ``savefig`` (Software, dpi), written by :func:`png_bytes`; an opaque figure (every
    pixel's alpha 255, the figures' white background) is stored without the alpha channel
    -- the same image, a quarter less to compress."""
    grab = _Pixels()
    fig.savefig(grab, format="raw", dpi=PNG_DPI, bbox_inches=bbox)
    rgba = grab.rgba
    if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:  # pragma: no cover
        fig.savefig(path, dpi=PNG_DPI, bbox_inches=bbox)
        return
    pixels = rgba[:, :, :3] if bool((rgba[:, :, 3] == 255).all()) else rgba
    Path(path).write_bytes(png_bytes(
        pixels, PNG_DPI, f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"))


def _write(fig, paths) -> None:
    """Draw ``fig`` into the files ``paths`` (see :func:`output_paths`): three renderings
    (Agg, PDF, SVG) and one measurement of the tight bounding box (no extra draw: nothing in
    these figures moves when drawn, unless a layout engine is set)."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine
    engine = fig.get_layout_engine()
    if isinstance(engine, PlaceHolderLayoutEngine):
        # left by tight_layout(): it does nothing, but savefig would draw the whole figure
        # once more for it before each file
        with plt.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)
    elif engine is not None:
        fig.draw_without_rendering()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.08)
    for ext, p in paths.items():
        if ext == "png":
            _write_png(fig, p, bbox)
        elif ext == "pdf":
            with _lean_pdf_fonts(), \
                    (_pdf_glyphs_unloaded() if GLYPH_CACHES else contextlib.nullcontext()):
                fig.savefig(p, bbox_inches=bbox,
                            metadata={"CreationDate": None, "Creator": "psychometrics"})
        else:
            with _glyph_outlines() if GLYPH_CACHES else contextlib.nullcontext():
                fig.savefig(p, bbox_inches=bbox,
                            metadata={"Date": None, "Creator": "psychometrics"})


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
        return _save(fig, path, lang)


def loading_heatmap(loadings, path, *, lang="en", title="", item_labels=None) -> Path:
    """Heat map of a loading matrix (pandas DataFrame, items x factors), values printed."""
    values = loadings.to_numpy(dtype=float)
    rows = [shape((item_labels or {}).get(i, i), lang, digits=False) for i in loadings.index]
    cols = [shape(c, lang, digits=False) for c in loadings.columns]
    with _style(lang):
        fig, ax = plt.subplots(figsize=_capped(1.2 + 1.0 * len(cols), 0.8 + 0.28 * len(rows)))
        # pcolormesh (vector quads), not imshow: the PDF and SVG stay free of bitmaps
        im = ax.pcolormesh(np.arange(values.shape[1] + 1) - 0.5,
                           np.arange(values.shape[0] + 1) - 0.5, np.ma.masked_invalid(values),
                           cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xlim(-0.5, values.shape[1] - 0.5)
        ax.set_ylim(values.shape[0] - 0.5, -0.5)
        ax.set_xticks(range(len(cols)), cols)
        ax.set_yticks(range(len(rows)), rows)
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                txt = f"{v:.2f}".replace("0.", ".")
                ax.text(j, i, shape(txt, lang), ha="center", va="center", fontsize=7,
                        color="white" if abs(v) > 0.6 else "black")
        ax.spines[:].set_visible(False)
        cb = fig.colorbar(im, ax=ax, shrink=0.6)
        if cb.solids is not None:
            cb.solids.set_rasterized(False)     # matplotlib rasterises long colour bars
        if title:
            ax.set_title(shape(title, lang))
        return _save(fig, path, lang)


def _text_size(text: str, size: float) -> tuple[float, float]:
    """Width and height (inches) of ``text`` drawn at ``size`` points with the current
    font (no mathtext), so that boxes can be made to fit their labels."""
    from matplotlib.textpath import TextToPath
    prop = font_manager.FontProperties(size=size)
    w, h, d = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return w / 72.0, (h + d) / 72.0


def _inch_axes(width: float, height: float):
    """A figure whose single axes spans it exactly, 1 data unit = 1 inch (so measured
    text widths can be used as coordinates)."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def _bezier_mid(p1, p2, rad):
    """Midpoint of matplotlib's ``arc3,rad=`` connection from ``p1`` to ``p2`` (inches)."""
    (x1, y1), (x2, y2) = p1, p2
    cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
    return 0.25 * x1 + 0.5 * cx + 0.25 * x2, 0.25 * y1 + 0.5 * cy + 0.25 * y2


_EDGE_LABEL = dict(fc="white", ec="none", pad=0.6)


class _Arc3(matplotlib.patches.ConnectionStyle.Arc3):
    """matplotlib's ``arc3`` connection, clipped at the node outlines with the same test
    (``Path.contains_point`` with the patch's line width as radius, as ``Patch.contains``)
    on the outline transformed once per clipping instead of once per bisection step:
    the arrow is the same, drawing it much cheaper."""

    def _in_patch(self, patch):
        try:
            radius = patch._process_radius(None)
        except AttributeError:  # pragma: no cover - other matplotlib versions
            return super()._in_patch(patch)
        path = patch.get_path()
        trans = patch.get_transform()
        codes = path.codes
        if codes is not None:
            idx = np.flatnonzero(codes == matplotlib.path.Path.MOVETO)[1:]
            subpaths = [matplotlib.path.Path(v, c)
                        for v, c in zip(np.split(path.vertices, idx), np.split(codes, idx))]
        else:
            subpaths = [path]
        # the same polygon test as Patch.contains, on the outline in display coordinates
        subpaths = [trans.transform_path(sp) for sp in subpaths]
        return lambda xy: any(sp.contains_point((xy[0], xy[1]), None, radius)
                              for sp in subpaths)


def _arrow(ax, a, b, patch_a, patch_b, *, style="-|>", rad=0.0, color="#333", lw=0.8):
    ax.annotate("", xy=b, xytext=a, annotation_clip=False,
                arrowprops=dict(arrowstyle=style, lw=lw, color=color, shrinkA=0, shrinkB=1.5,
                                patchA=patch_a, patchB=patch_b, mutation_scale=8,
                                connectionstyle=_Arc3(rad=rad)))


def path_diagram_figure(factors, *, lang="en", correlations=None, title="", factor_labels=None):
    """The matplotlib figure of :func:`path_diagram` (not saved; for tests and reuse)."""
    factor_labels = factor_labels or {}
    correlations = {k: v for k, v in (correlations or {}).items()
                    if k[0] in factors and k[1] in factors}
    names = list(factors)
    n_items = max(sum(len(v) for v in factors.values()), 1)
    fs_item, fs_fac, fs_num = 8.0, 9.0, 7.5
    step = min(0.36, (MAX_SIZE[1] - 0.8) / (n_items + 0.5 * (len(names) - 1)))
    if step < 0.36:
        scale = step / 0.36
        fs_item, fs_fac, fs_num = fs_item * max(scale, 0.7), fs_fac * max(scale, 0.7), \
            fs_num * max(scale, 0.7)
    item_txt = {it: shape(it, lang, digits=False) for v in factors.values() for it, _ in v}
    fac_txt = {f: shape(factor_labels.get(f, f), lang) for f in names}
    box_w = max(_text_size(t, fs_item)[0] for t in item_txt.values()) + 0.24
    box_h = min(0.27, step * 0.8)
    ell_w = max(_text_size(t, fs_fac)[0] for t in fac_txt.values()) + 0.5
    ell_h = max(0.46, min(0.55, step * 1.4))
    num_w = _text_size("\u2212.00", fs_num)[0] + 0.1
    # arcs of the factor correlations bulge to the left of the ellipses
    order = {f: i for i, f in enumerate(names)}
    bulge = {k: 0.25 + 0.3 * (abs(order[k[0]] - order[k[1]]) - 1) for k in correlations}
    left = 0.15 + (max(bulge.values()) * 1.0 + num_w / 2 + 0.1 if bulge else 0.0)
    x_fac = left + ell_w / 2
    x_box = x_fac + ell_w / 2 + 1.7
    width = x_box + box_w + 0.15
    height = n_items * step + (len(names) - 1) * 0.5 * step + 0.35
    with _style(lang):
        fig, ax = _inch_axes(width, height)
        y = height - 0.2 - step / 2
        centres, fac_patch = {}, {}
        for f in names:
            ys, boxes = [], []
            for item, lam in factors[f]:
                box = plt.Rectangle((x_box, y - box_h / 2), box_w, box_h, fill=False, lw=0.8)
                ax.add_patch(box)
                ax.text(x_box + box_w / 2, y, item_txt[item], ha="center", va="center",
                        fontsize=fs_item, gid="item_label")
                ys.append(y)
                boxes.append((box, lam))
                y -= step
            y -= 0.5 * step
            cy = float(np.mean(ys)) if ys else y
            centres[f] = cy
            ell = matplotlib.patches.Ellipse((x_fac, cy), ell_w, ell_h, fill=False, lw=1.0)
            ax.add_patch(ell)
            fac_patch[f] = ell
            ax.text(x_fac, cy, fac_txt[f], ha="center", va="center", fontsize=fs_fac,
                    gid="factor_label")
            for (box, lam), yi in zip(boxes, ys):
                _arrow(ax, (x_fac, cy), (x_box + box_w / 2, yi), ell, box)
                t = 0.62     # label on the arrow, nearer the item, clear of the fan's centre
                x0 = x_fac + ell_w / 2
                lx, ly = x0 + t * (x_box - x0), cy + t * (yi - cy)
                ax.text(lx, ly, shape(apa_decimal(lam), lang), fontsize=fs_num, ha="center",
                        va="center", bbox=_EDGE_LABEL, gid="estimate")
        for (a, b), r in correlations.items():
            ya, yb = centres[a], centres[b]
            if ya < yb:
                a, b, ya, yb = b, a, yb, ya
            xa = x_fac - ell_w / 2 + 0.05
            rad = 2 * bulge[(a, b) if (a, b) in bulge else (b, a)] / max(ya - yb, 1e-6)
            p1, p2 = (xa, ya), (xa, yb)
            ax.annotate("", xy=p2, xytext=p1, annotation_clip=False,
                        arrowprops=dict(arrowstyle="<|-|>", lw=0.7, color="#1f4e79",
                                        shrinkA=0, shrinkB=0, mutation_scale=7,
                                        connectionstyle=f"arc3,rad={rad}"))
            mx, my = _bezier_mid(p1, p2, rad)
            ax.text(mx, my, shape(apa_decimal(r), lang), fontsize=fs_num, color="#1f4e79",
                    ha="center", va="center", bbox=_EDGE_LABEL, gid="estimate")
        if title:
            fig.suptitle(shape(title, lang))
        return fig


def path_diagram(factors, path, *, lang="en", correlations=None, title="",
                 factor_labels=None) -> Path:
    """CFA path diagram with standardised estimates (lavaan's ``std.all``).

    ``factors`` maps factor -> list of (item, standardised loading); ``correlations``
    maps (factor_a, factor_b) -> standardised covariance (factor correlation), drawn as
    curved double-headed arrows left of the factors.  Boxes are sized to the measured
    width of the longest item name, so names such as ``wai_12`` are never clipped.
    Writes PNG (300 dpi), PDF and SVG; returns the PNG path.
    """
    return _save(path_diagram_figure(factors, lang=lang, correlations=correlations,
                                     title=title, factor_labels=factor_labels), path, lang)


def _layers(nodes, edges) -> dict:
    """Column of each node of a structural diagram: predictors left of their outcomes and
    the first-order factors of a second-order factor left of it (longest path)."""
    layer = {n: 0 for n in nodes}
    # outcome ~ predictor and factor =~ first-order factor: both put "to" left of "from"
    arcs = [(e["to"], e["from"]) for e in edges if e["op"] in ("~", "=~")]
    for _ in range(len(nodes) + 1):
        changed = False
        for a, b in arcs:
            if layer[b] < layer[a] + 1:
                layer[b] = layer[a] + 1
                changed = True
        if not changed:
            break
    return layer


def structural_diagram_figure(edges, *, lang="en", labels=None, title=""):
    """The matplotlib figure of :func:`structural_diagram` (not saved)."""
    labels = labels or {}
    nodes: list = []
    for e in edges:
        for n in (e["from"], e["to"]):
            if n not in nodes:
                nodes.append(n)
    layer = _layers(nodes, edges)
    n_layers = max(layer.values()) + 1 if layer else 1
    cols = [[n for n in nodes if layer[n] == k] for k in range(n_layers)]
    # order each column by the mean position of its neighbours in the previous column
    for k in range(1, n_layers):
        prev = {n: i for i, n in enumerate(cols[k - 1])}

        def key(n):
            nb = [prev[e["from"] if e["to"] == n else e["to"]] for e in edges
                  if n in (e["from"], e["to"]) and (e["to"] if e["from"] == n else e["from"]) in prev]
            return float(np.mean(nb)) if nb else len(prev)
        cols[k].sort(key=key)
    fs_node, fs_num = 9.0, 7.5
    txt = {n: shape(labels.get(n, n), lang) for n in nodes}
    ell_w = {n: _text_size(txt[n], fs_node)[0] + 0.5 for n in nodes}
    ell_h = 0.5
    col_w = [max(ell_w[n] for n in c) for c in cols]
    vstep = 1.0
    rows = max(len(c) for c in cols)
    height = max((rows - 1) * vstep + ell_h + 0.7, 1.6)
    has_cov_right = any(e["op"] == "~~" and layer[e["from"]] == n_layers - 1 for e in edges)
    extra = 0.8 + (0.6 if has_cov_right else 0.0)
    # gaps between the columns shrink (to 0.9 in) before the figure grows past MAX_SIZE
    gap = 1.5 if n_layers == 1 else \
        float(np.clip((MAX_SIZE[0] - sum(col_w) - extra) / (n_layers - 1), 0.9, 1.5))
    width = 0.3 + sum(col_w) + gap * (n_layers - 1) + extra - 0.3
    with _style(lang):
        fig, ax = _inch_axes(width, height)
        pos, patch = {}, {}
        x = 0.3
        for k, c in enumerate(cols):
            cx = x + col_w[k] / 2
            top = height / 2 + (len(c) - 1) * vstep / 2
            for i, n in enumerate(c):
                pos[n] = (cx, top - i * vstep)
                e = matplotlib.patches.Ellipse(pos[n], ell_w[n], ell_h, fill=False, lw=1.0)
                ax.add_patch(e)
                patch[n] = e
                ax.text(*pos[n], txt[n], ha="center", va="center", fontsize=fs_node,
                        gid="factor_label")
            x += col_w[k] + gap
        for e in edges:
            a, b, v = e["from"], e["to"], e.get("std")
            if e["op"] == "~":
                a, b = b, a        # outcome ~ predictor: the arrow runs predictor -> outcome
            pa, pb = pos[a], pos[b]
            span = abs(layer[a] - layer[b])
            if e["op"] == "~~":
                side = 1 if layer[a] == n_layers - 1 else -1
                rad = -0.6 * side if pa[1] > pb[1] else 0.6 * side
                style, color = "<|-|>", "#1f4e79"
            else:
                # an arrow passing over a column bends around the nodes in between
                rad = 0.0 if span <= 1 and abs(pa[1] - pb[1]) < 3 * vstep else \
                    (0.25 if pa[1] >= pb[1] else -0.25)
                style, color = "-|>", "#333"
            _arrow(ax, pa, pb, patch[a], patch[b], style=style, rad=rad, color=color)
            if rad:
                mx, my = _bezier_mid(pa, pb, rad)
            else:
                t = 0.5
                mx, my = pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1])
            ax.text(mx, my, shape(apa_decimal(v), lang), fontsize=fs_num, color=color,
                    ha="center", va="center", bbox=_EDGE_LABEL, gid="estimate")
        if title:
            fig.suptitle(shape(title, lang))
        return fig


def structural_diagram(edges, path, *, lang="en", labels=None, title="") -> Path:
    """Path diagram of a structural model between latent variables, with standardised
    estimates (lavaan's ``std.all``) on the arrows.

    ``edges``: dicts with ``from``, ``op``, ``to``, ``std`` as lavaan's parameter table
    rows (``lhs``, ``op``, ``rhs``, ``std.all``): ``"=~"`` a second-order loading (factor
    ``from`` -> first-order factor ``to``, drawn to the left), ``"~"`` a regression
    (``from`` is the outcome, ``to`` the predictor), ``"~~"`` a (residual) covariance.
    Predictors stand left of their outcomes (longest-path layering).  Writes PNG
    (300 dpi), PDF and SVG; returns the PNG path.
    """
    return _save(structural_diagram_figure(edges, lang=lang, labels=labels, title=title), path, lang)


#: items with at most this many distinct integer values get a category bar chart
MAX_CATEGORIES = 10


def is_categorical(values, max_categories: int = MAX_CATEGORIES) -> bool:
    """Whether a response column is categorical for the figures: every observed value an
    integer and at most ``max_categories`` distinct values (Likert-type items); anything
    else (continuous, many-valued) is drawn as a histogram."""
    v = np.asarray(pd.Series(values).dropna(), dtype=float)
    if v.size == 0:
        return True
    if not np.all(np.isfinite(v)) or not np.allclose(v, np.round(v)):
        return False
    return np.unique(v).size <= max_categories


def _bars(ax, y, width, left, *, color, label, height: float = 0.8):
    """Horizontal bars as ``ax.barh(y, width, left=left, height=height, color=color)`` draws
    them (filled rectangles without outline, centred on ``y``), as one PolyCollection;
    the legend shows it as barh's bars (a filled rectangle).  Returns the collection."""
    import matplotlib.collections
    x0, x1 = left, left + width
    y0, y1 = y - height / 2, y + height / 2
    verts = np.stack([np.column_stack(v) for v in
                      ((x0, y0), (x1, y0), (x1, y1), (x0, y1))], axis=1)
    bars = matplotlib.collections.PolyCollection(
        verts, closed=True, facecolors=[color], edgecolors="none",
        linewidths=matplotlib.rcParams["patch.linewidth"],
        antialiaseds=matplotlib.rcParams["patch.antialiased"], label=label)
    ax.add_collection(bars, autolim=True)
    return bars


def item_distributions(props, path, *, lang="en", title="", group_labels=None,
                       labels=None) -> Path:
    """Stacked bars of response proportions: ``props`` maps item -> {group: {category: p}}
    (items with few categories only, see :func:`is_categorical`; at most
    :data:`MAX_CATEGORIES` categories are drawn).  The figure's height is capped at
    :data:`MAX_SIZE`: with many items the bars get thinner.  Writes PNG (300 dpi), PDF
    and SVG; returns the PNG path."""
    items = list(props)
    groups, cats = [], []
    for v in props.values():
        for g, d in v.items():
            if g not in groups:
                groups.append(g)
            for c in d:
                if c not in cats:
                    cats.append(c)
    cats = sorted(cats)
    if len(cats) > 2 * MAX_CATEGORIES:
        raise ValueError(f"item_distributions: {len(cats)} response categories; draw "
                         "continuous items with item_histograms")
    group_labels = group_labels or {}
    labels = {"x": "Proportion of responses", **(labels or {})}
    cmap = plt.get_cmap("viridis", max(len(cats), 2))
    n_rows = len(items) * max(len(groups), 1) + 0.4 * len(items)
    row_h = min(0.2, (MAX_SIZE[1] - 1.0) / max(n_rows, 1))
    fs = float(np.clip(row_h * 40, 5.0, 7.5))
    with _style(lang):
        fig, ax = plt.subplots(figsize=_capped(6.4, 1.0 + row_h * n_rows))
        ylabels, ticks, rows = [], [], []
        ypos = 0.0
        for item in items:
            for g in groups:
                rows.append((item, g))
                glab = group_labels.get(g, g)
                item_txt = shape(item, lang, digits=False)
                ylabels.append(item_txt if len(groups) == 1 else
                               f"{item_txt} ({shape(glab, lang)})")
                ticks.append(ypos)
                ypos += 1
            ypos += 0.4
        # one collection of bars per category (the rectangles barh would draw, 0.8 high,
        # no outline): one artist instead of a patch per bar
        left = np.zeros(len(rows))
        y = np.asarray(ticks, dtype=float)
        for k, c in enumerate(cats):
            p = np.array([props[i].get(g, {}).get(c, 0.0) for i, g in rows], dtype=float)
            name = f"{c:g}" if isinstance(c, (int, float, np.floating, np.integer)) else str(c)
            _bars(ax, y, p, left, color=cmap(k), label=shape(name, lang))
            left += p
        ax.autoscale_view()
        ax.set_yticks(ticks, ylabels, fontsize=fs)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel(shape(labels["x"], lang))
        _num_axis(ax, lang, "x", dec=1)
        ax.legend(ncol=len(cats), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False,
                  fontsize=7)
        if title:
            ax.set_title(shape(title, lang), pad=22)
        return _save(fig, path, lang)


def item_histograms_figure(values, *, lang="en", title="", group_labels=None, labels=None,
                           max_bins: int = 30):
    """The matplotlib figure of :func:`item_histograms` (not saved)."""
    items = list(values)
    groups = []
    for v in values.values():
        for g in v:
            if g not in groups:
                groups.append(g)
    group_labels = group_labels or {}
    labels = {"y": "Density", **(labels or {})}
    n = max(len(items), 1)
    ncol = min(4, n) if n <= 16 else min(6, int(np.ceil(np.sqrt(n))))
    nrow = int(np.ceil(n / ncol))
    panel_h = min(1.5, (MAX_SIZE[1] - 0.6) / nrow)
    colors = ["#1f4e79", "#c55a11", "#2e7d32", "#8e24aa", "#6d4c41"]
    with _style(lang):
        fig, axes = plt.subplots(nrow, ncol, figsize=_capped(1.7 * ncol, 0.6 + panel_h * nrow),
                                 squeeze=False)
        for ax in axes.flat[n:]:
            ax.axis("off")
        for ax, item in zip(axes.flat, items):
            allv = np.concatenate([np.asarray(v, dtype=float) for v in values[item].values()]
                                  or [np.zeros(0)])
            allv = allv[np.isfinite(allv)]
            if allv.size == 0:
                ax.axis("off")
                continue
            edges = np.histogram_bin_edges(allv, bins="auto")
            if edges.size - 1 > max_bins:
                edges = np.linspace(allv.min(), allv.max(), max_bins + 1)
            for k, g in enumerate(groups):
                v = np.asarray(values[item].get(g, []), dtype=float)
                v = v[np.isfinite(v)]
                if v.size:
                    ax.hist(v, bins=edges, density=True, histtype="step", lw=1.0,
                            color=colors[k % len(colors)],
                            label=shape(group_labels.get(g, g), lang))
            ax.set_title(shape(item, lang, digits=False), fontsize=7.5, pad=2)
            # the density scale is only relative: no y tick labels; three x ticks
            ax.tick_params(labelsize=6, left=False, labelleft=False)
            ax.spines["left"].set_visible(False)
            ax.xaxis.set_major_locator(MaxNLocator(3))
            _num_axis(ax, lang, "x")
        if len(groups) > 1:
            handles, names = axes.flat[0].get_legend_handles_labels()
            fig.legend(handles, names, loc="upper center", ncol=len(groups), frameon=False,
                       fontsize=7, bbox_to_anchor=(0.5, 1.0))
        if title:
            fig.suptitle(shape(title, lang))
        w, h = fig.get_size_inches()
        # fixed margins (tight_layout would redraw the figure several times)
        fig.subplots_adjust(left=0.15 / w, right=1 - 0.15 / w, bottom=0.35 / h,
                            top=1 - (0.55 if len(groups) > 1 else 0.3) / h,
                            hspace=0.55 / panel_h * 1.2, wspace=0.15)
        return fig


def item_histograms(values, path, *, lang="en", title="", group_labels=None, labels=None,
                    max_bins: int = 30) -> Path:
    """Histograms (one small panel per item, groups as outlines, density scale) for
    continuous or many-valued items: ``values`` maps item -> {group: array of responses}.
    Bins follow numpy's "auto" rule, at most ``max_bins``; never one bar per distinct
    value.  Writes PNG (300 dpi), PDF and SVG; returns the PNG path."""
    return _save(item_histograms_figure(values, lang=lang, title=title,
                                        group_labels=group_labels, labels=labels,
                                        max_bins=max_bins), path, lang)


#: fixed axes of the invariance plot: a change of .004 in CFI must look small
DELTA_CFI_RANGE = (-0.030, 0.010)
DELTA_RMSEA_RANGE = (-0.010, 0.030)


def invariance_plot_figure(levels, delta_cfi, delta_rmsea, *, lang="en", level_labels=None,
                           title="", cfi_cut=-0.010, rmsea_cut=0.015, labels=None):
    """The matplotlib figure of :func:`invariance_plot` (not saved)."""
    level_labels = level_labels or {}
    labels = {"cut": "Cut-off (Chen, 2007)", **(labels or {})}
    keep = [i for i, lv in enumerate(levels)
            if not (_missing(delta_cfi[i]) and _missing(delta_rmsea[i]))]
    names = [levels[i] for i in keep]
    x = np.arange(len(names))
    ticks = [shape(level_labels.get(lv, lv), lang) for lv in names]
    width = _capped(6.5 + 0.8 * max(len(names) - 4, 0), 3.0)[0]
    with _style(lang):
        fig, axes = plt.subplots(1, 2, figsize=(width, 3.0))
        panels = ((axes[0], delta_cfi, "\u0394CFI", cfi_cut, DELTA_CFI_RANGE, -1),
                  (axes[1], delta_rmsea, "\u0394RMSEA", rmsea_cut, DELTA_RMSEA_RANGE, +1))
        for ax, vals, name, cut, (lo, hi), bad_side in panels:
            v = np.array([np.nan if _missing(vals[i]) else float(vals[i]) for i in keep])
            # the axis is fixed; it only widens when a value lies outside it
            finite = v[np.isfinite(v)]
            if finite.size:
                lo = min(lo, float(finite.min()) - 0.005)
                hi = max(hi, float(finite.max()) + 0.005)
            ax.set_ylim(lo, hi)
            ax.set_xlim(-0.6, len(names) - 0.4)
            ax.axhline(0.0, color="#888", lw=0.6)
            ax.axhline(cut, color="#c00000", lw=0.9, ls="--")
            ok = ~(bad_side * (v - cut) > 0)
            ax.vlines(x, 0, np.nan_to_num(v), color="#1f4e79", lw=1.4)
            ax.scatter(x[ok], v[ok], color="#1f4e79", zorder=3, s=22)
            ax.scatter(x[~ok & np.isfinite(v)], v[~ok & np.isfinite(v)], color="#c00000",
                       marker="X", zorder=3, s=30)
            ax.set_xticks(x, ticks, rotation=20, ha="right", rotation_mode="anchor")
            ax.set_title(name)
            ax.text(len(names) - 0.45, cut,
                    shape(f"{labels['cut']}: {apa_decimal(cut, 3, signed=True)}", lang),
                    color="#c00000", fontsize=7, ha="right", va="bottom")
            _num_axis(ax, lang, "y", dec=3, apa=True, signed=True)
        if title:
            fig.suptitle(shape(title, lang))
        fig.tight_layout()
        return fig


def _missing(v) -> bool:
    try:
        return v is None or not np.isfinite(float(v))
    except (TypeError, ValueError):
        return True


def invariance_plot(levels, delta_cfi, delta_rmsea, path, *, lang="en", level_labels=None,
                    title="", cfi_cut=-0.010, rmsea_cut=0.015, labels=None) -> Path:
    """Change in CFI and RMSEA at each invariance level against the previous level, on
    fixed axes (ΔCFI −.030 to +.010, ΔRMSEA −.010 to +.030, widened only when a value lies
    outside) with the cut-offs of Chen (2007) drawn (ΔCFI −.010, ΔRMSEA +.015); a change
    past its cut-off is marked with a red cross.  Levels without a change (the configural
    baseline) are left out.  Writes PNG (300 dpi), PDF and SVG; returns the PNG path."""
    return _save(invariance_plot_figure(levels, delta_cfi, delta_rmsea, lang=lang,
                                        level_labels=level_labels, title=title, cfi_cut=cfi_cut,
                                        rmsea_cut=rmsea_cut, labels=labels), path, lang)
