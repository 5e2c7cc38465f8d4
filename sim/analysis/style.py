"""Names, units and colours shared by every figure; matplotlib set-up (Agg, no network)."""

from __future__ import annotations

import contextlib
import functools
import io
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.analysis.outputs import FIGURE_FORMATS
from sim.files import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette (black last).
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Colour of each attack target, the same in every figure.
TARGET_COLOURS: dict[str, str] = {
    "chinese": "#D55E00",
    "security": "#0072B2",
    "infrastructure": "#E69F00",
}

#: Headline outcomes of a run: summary column -> (label, unit).
OUTCOMES: dict[str, tuple[str, str]] = {
    "chinese_killed": ("Chinese nationals killed", "people"),
    "attacks_total": ("Attacks in total", "attempts"),  # interdicted attempts count too
    "attacks_on_chinese": ("Attacks on Chinese targets", "attempts"),
    "security_killed": ("Security forces killed", "people"),
    "civilians_killed": ("Civilians killed", "people"),
    "militants_killed": ("Militants killed", "people"),
    "militants_captured": ("Militants captured", "people"),
    "fighters_final": ("Fighters at the end", "fighters"),
    "capital_deployed_final": ("Capital deployed at the end", "USD million"),
    "investors_withdrawn": ("Investors withdrawn", "firms"),  # each firm once, whatever its size
    # derived by the analysis from weeks_to_first_pause (sim.analysis.survival): not a column
    # of summary.parquet, so the run's own figures leave it out
    "pause_free_weeks": ("Weeks to the first investor pause", "weeks"),
    "grievance_final": ("Grievance at the end", "index 0-1"),
    "legitimacy_final": ("State legitimacy at the end", "index 0-1"),
}

#: Yes/no events of a run: name -> label. ``any_withdrawal`` is investors_withdrawn > 0.
EVENTS: dict[str, str] = {
    "investment_hold": "China's investment hold",
    "any_withdrawal": "At least one investor withdraws",
    "chinese_troops_deployed": "Chinese troops deployed",
}


def outcome_label(name: str, with_unit: bool = True) -> str:
    """``Chinese nationals killed (people)`` for a summary column."""
    label, unit = OUTCOMES.get(name, (name.replace("_", " ").capitalize(), ""))
    return f"{label} ({unit})" if with_unit and unit else label


def colours(n: int) -> list[str]:
    """``n`` colour-blind-safe colours: Okabe-Ito; beyond 8, its 7 non-yellow colours cycle
    (combine with :func:`line_style` to keep lines distinct)."""
    if n <= len(OKABE_ITO):
        return list(OKABE_ITO[:n])
    cycle = [c for c in OKABE_ITO if c != "#F0E442"]
    return [cycle[i % len(cycle)] for i in range(n)]


def line_style(i: int, n: int) -> str:
    """Line style of series ``i`` of ``n``: solid while colours are unique, then varied."""
    if n <= len(OKABE_ITO):
        return "-"
    return ("-", "--", ":", "-.")[(i // (len(OKABE_ITO) - 1)) % 4]


#: House style applied (via :func:`context`) while figures are built and rendered; the global
#: rcParams of the process (a notebook, the dashboard) are left alone.
HOUSE_STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.08,
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 9.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "svg.fonttype": "none",
    "svg.hashsalt": "cpec-sim",
    # Text is drawn as written: a run folder's name such as ``q$^$`` in a label is not
    # mathtext (which would fail, or render ``$\alpha$`` as α unlike the tables).
    "text.parse_math": False,
}


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def plain_power(text: str) -> str:
    """A log axis's mathtext tick label as plain text: ``$\\mathdefault{2\\times10^{-3}}$`` ->
    ``2×10⁻³`` (the house style draws text as written, without mathtext)."""
    match = re.fullmatch(r"\$\\mathdefault\{(?:(.+?)\\times)?10\^\{(-?\d+)\}\}\$", text)
    if match is None:
        return text
    mantissa, exponent = match.groups()
    return f"{mantissa + '×' if mantissa else ''}10{exponent.translate(_SUPERSCRIPT)}"


def log_axes(ax: Any) -> None:
    """Give ``ax`` logarithmic x and y axes whose tick labels are matplotlib's, as plain text."""
    from matplotlib.ticker import LogFormatterSciNotation

    class PlainLogFormatter(LogFormatterSciNotation):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return plain_power(super().__call__(x, pos))

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):  # as the log scale sets them, but in plain text
        axis.set_major_formatter(PlainLogFormatter())
        axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


def whole_number_ticks(axis: Any, values: Any) -> None:
    """Put ``axis``'s ticks at whole numbers only when every one of ``values`` is whole (a
    count of people, attacks or firms): matplotlib's own steps of 2.5 would label an axis
    of investors withdrawn 0, 2.5, 5, 7.5. Otherwise the ticks are matplotlib's automatic
    ones (its ``AutoLocator`` is this locator with these steps, without ``integer``)."""
    from matplotlib.ticker import MaxNLocator

    from sim.analysis.stats import finite, is_whole

    if finite(values).size and is_whole(values):
        axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))


@contextmanager
def context() -> Iterator[None]:
    """Apply :data:`HOUSE_STYLE` and the Okabe-Ito colour cycle for the duration, over
    Matplotlib's own defaults: not over the caller's settings (a notebook's style, a
    ``matplotlibrc``), so that a figure's bytes do not depend on which process draws it
    (helper-167: a notebook with a dark style drew other bytes at ``jobs=1`` than its drawing
    workers did, and recorded them as up to date). The caller's settings are back on exit.

    NumPy prints numbers as it does by default for the duration too: the SVG's clip-path ids
    hash transforms' text, so a notebook's ``np.set_printoptions(legacy="1.25")`` drew other
    SVG bytes in its own process (helper-170).

    Inside another, only the house style's own settings are applied again: a setting changed
    within the outer one (a test's font, say) holds for the whole render."""
    import matplotlib as mpl
    import numpy as np

    if getattr(_CONTEXTS, "inside", False):
        with mpl.rc_context(_house_style()):
            yield
        return
    params: Any = mpl.rcParams
    _CONTEXTS.inside = True
    try:
        with mpl.rc_context(), np.printoptions(**_numpy_print_defaults()):
            dict.update(params, _house_settings())  # validated once (_house_settings)
            yield
    finally:
        _CONTEXTS.inside = False


#: NumPy's default print options (as of 2.5), of which :func:`context` applies those this
#: NumPy knows.
_NUMPY_PRINT_DEFAULTS: dict[str, Any] = {
    "edgeitems": 3, "threshold": 1000, "floatmode": "maxprec", "precision": 8,
    "suppress": False, "linewidth": 75, "nanstr": "nan", "infstr": "inf", "sign": "-",
    "formatter": None, "legacy": False, "override_repr": None,
}  # fmt: skip


@functools.cache
def _numpy_print_defaults() -> dict[str, Any]:
    """:data:`_NUMPY_PRINT_DEFAULTS` that this NumPy's ``printoptions`` takes."""
    import numpy as np

    known = np.get_printoptions()
    return {k: v for k, v in _NUMPY_PRINT_DEFAULTS.items() if k in known}


#: Whether this thread is inside :func:`context` (``inside``).
_CONTEXTS = threading.local()


@functools.cache
def _house_style() -> Any:
    """:data:`HOUSE_STYLE` and the Okabe-Ito colour cycle, as settings."""
    from cycler import cycler

    return {**HOUSE_STYLE, "axes.prop_cycle": cycler(color=list(OKABE_ITO))}


@functools.cache
def _house_settings() -> dict[str, Any]:
    """Matplotlib's default settings (those a style may set) with :func:`_house_style`
    applied, validated as ``rcParams`` validates them."""
    import matplotlib as mpl

    params: Any = mpl.rcParams
    with mpl.rc_context():
        mpl.rcdefaults()  # leaves the backend and the other settings styles may not set
        params.update(_house_style())
        return {k: v for k, v in dict.items(params) if k not in _NOT_STYLE}


#: Settings a style leaves alone (Matplotlib's ``STYLE_BLACKLIST``, as of 3.11: tested): the
#: caller's stay.
_NOT_STYLE = frozenset(
    {
        "backend", "backend_fallback", "date.epoch", "docstring.hardcopy",
        "figure.max_open_warning", "figure.raise_window", "interactive", "savefig.directory",
        "timezone", "tk.window_focus", "toolbar", "webagg.address", "webagg.open_in_browser",
        "webagg.port", "webagg.port_retries",
    }
)  # fmt: skip


def new_figure(**kwargs: Any) -> Figure:
    """A Figure drawn by the Agg canvas, not registered with pyplot (no GUI, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kwargs.setdefault("layout", "constrained")
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _freeze(fig: Figure) -> Any:
    """Lay the figure out once (no rasterising), freeze it, and return its padded tight box.

    Saving with that box avoids the extra draw that ``bbox_inches="tight"`` costs per format.
    """
    with context():
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        return fig.get_tightbbox().padded(HOUSE_STYLE["savefig.pad_inches"])


def figure_bytes(fig: Figure, fmt: str, dpi: float | None = None, bbox: Any = None) -> bytes:
    """The figure rendered as PNG or SVG bytes (no timestamps, so output is reproducible)."""
    buf = io.BytesIO()
    meta = {"Date": None} if fmt == "svg" else {"Software": None}
    kwargs: dict[str, Any] = {} if dpi is None else {"dpi": dpi}
    with context():
        fig.savefig(buf, format=fmt, metadata=meta, bbox_inches=bbox or _freeze(fig), **kwargs)
    return buf.getvalue()


def cropped_png(fig: Figure, bbox: Any, dpi: float | None = None) -> bytes:
    """PNG of a frozen figure, cropped to ``bbox`` (inches): drawn once on the Agg canvas.

    The same picture as ``savefig(bbox_inches=bbox)`` (which draws the figure twice) for a box
    inside the figure; white where the box reaches past the figure's edge.
    """
    dpi = float(dpi or HOUSE_STYLE["savefig.dpi"])
    return _png(_drawn(fig, dpi), bbox, dpi)


def _drawn(fig: Figure, dpi: float) -> Any:
    """The figure drawn on its Agg canvas at ``dpi``: its RGBA pixels."""
    import numpy as np

    fig.set_dpi(dpi)
    with context():
        fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]


def _png(rgba: Any, bbox: Any, dpi: float) -> bytes:
    """PNG of the pixels inside ``bbox`` (inches), white beyond the canvas."""
    import numpy as np

    height, width = rgba.shape[:2]
    x0, x1 = round(bbox.x0 * dpi), round(bbox.x1 * dpi)
    top, bottom = round(height - bbox.y1 * dpi), round(height - bbox.y0 * dpi)
    out = np.full((bottom - top, x1 - x0, 4), 255, dtype=np.uint8)
    sy, sx = slice(max(top, 0), min(bottom, height)), slice(max(x0, 0), min(x1, width))
    out[sy.start - top : sy.stop - top, sx.start - x0 : sx.stop - x0] = rgba[sy, sx]
    return png_bytes(out)


def png_bytes(pixels: Any, level: int = 6) -> bytes:
    """PNG of an RGBA array (rows of ``uint8``): RGB when every pixel is opaque.

    Written here rather than by Pillow: its encoder filters each row (tries every PNG filter
    and keeps the best), which costs more than it saves on a figure's flat colours (twice the
    time, files 15% larger than these unfiltered rows at the same zlib level).
    """
    import struct
    import zlib

    import numpy as np

    height, width = pixels.shape[:2]
    opaque = bool((pixels[..., 3] == 255).all())
    channels = 3 if opaque else 4
    rows = np.zeros((height, width * channels + 1), dtype=np.uint8)  # each row: filter 0
    rows[:, 1:] = pixels[..., :channels].reshape(height, width * channels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2 if opaque else 6, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
            chunk(b"IEND", b""),
        )
    )


#: The formats every figure is written in.
FORMATS = FIGURE_FORMATS


def render(
    fig: Figure, formats: tuple[str, ...] = FORMATS, dpi: float | None = None
) -> dict[str, bytes]:
    """The figure rendered in each format (PNG at ``dpi``, by default the house style's):
    laid out once, then drawn once per format.

    A figure with a layout engine (constrained layout) is drawn at its own size, without
    measuring its tight box: that measurement costs as much as drawing it again. Constrained
    layout fits tick labels but, by design, not the width of titles and axis labels, so if
    any text reaches past the figure, or any pixel touches its edge, the figure is drawn
    again cropped to its tight box, as a figure without a layout engine always is.
    """
    dpi = float(dpi or HOUSE_STYLE["savefig.dpi"])
    engine = fig.get_layout_engine()
    if engine is None:
        return _render_tight(fig, formats, dpi)
    fig.set_dpi(dpi)  # laid out at the PNG's resolution: the draw reuses the text's measures
    with reused_ticks_and_font_metrics(fig, svg="svg" in formats):
        with context():
            engine.execute(fig)
        fig.set_layout_engine("none")
        rgba = _drawn(fig, dpi)
        if not (_text_overhangs(fig) or _touches_edge(rgba)):
            box = _figure_box(fig)
            return {
                fmt: _png(rgba, box, dpi) if fmt == "png" else figure_bytes(fig, fmt, bbox=box)
                for fmt in formats
            }
    return _render_tight(fig, formats, dpi)


#: Whether :func:`render` reuses each axis's ticks and each font's height metrics, and places
#: titles without measuring y axes that show no offset text, while it lays a figure out and
#: draws it (the same pixels and SVG; a test draws every run figure and six others both ways).
REUSE_TICKS_AND_FONT_METRICS = True


@contextmanager
def reused_ticks_and_font_metrics(fig: Figure, svg: bool = False) -> Iterator[None]:
    """While inside: ``fig``'s axes compute their ticks again only when what they depend on
    changed (:func:`_ticks_while_laid_out`) and place their titles without measuring y axes
    that show no offset text (:func:`_titles_placed_without_offset_texts`), and its Agg
    renderer (and, with ``svg``, the SVG renderer ``savefig`` makes) reads each font's height
    metrics once (:func:`_font_height_metrics`); matplotlib's own behaviour again on exit.

    Laying out and drawing a figure asks each axis for its ticks a dozen times or more and
    each text for its font's metrics each time: together about a fifth of the drawing's time.
    """
    if not REUSE_TICKS_AND_FONT_METRICS:
        yield
        return
    renderer: Any = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    axes: list[Any] = [axis for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)]
    metrics = functools.partial(_font_height_metrics, fig=fig, known={})
    renderer._get_font_height_metrics = metrics
    for axis in axes:
        axis._update_ticks = _ticks_while_laid_out(axis)
    for ax in fig.axes:
        ax._update_title_position = _titles_placed_without_offset_texts(ax)  # type: ignore[attr-defined]
    try:
        with _svg_font_height_metrics(metrics) if svg else contextlib.nullcontext():
            yield
    finally:
        for axis in axes:
            axis.__dict__.pop("_update_ticks", None)
        for ax in fig.axes:
            ax.__dict__.pop("_update_title_position", None)
        renderer.__dict__.pop("_get_font_height_metrics", None)


@contextmanager
def _svg_font_height_metrics(metrics: Callable[[Any], Any]) -> Iterator[None]:
    """While inside, SVG renderers drawing in this thread read font height metrics from
    ``metrics``; matplotlib's own behaviour in other threads, and everywhere once the last
    render has left.

    ``savefig`` makes its SVG renderer itself, so the hook goes on the class while any render
    is inside (:class:`_SvgHook`): without it every text's layout looks its font up again
    (~0.15 s of one core for the seven figures). ``metrics`` is this render's, keyed by
    resolution (an SVG is laid out at 72 dots per inch, the PNG at the house style's).
    """
    _SVG_HOOK.enter()
    outer = getattr(_SVG_HOOK.local, "metrics", None)
    _SVG_HOOK.local.metrics = metrics
    try:
        yield
    finally:
        _SVG_HOOK.local.metrics = outer
        _SVG_HOOK.leave()


class _SvgHook:
    """``RendererSVG._get_font_height_metrics`` while renders are inside
    :func:`_svg_font_height_metrics`: each thread's own render's metrics, else what matplotlib
    does without the hook. Installed by the first render to enter, removed (or matplotlib's
    own put back) by the last to leave, whatever order threads leave in."""

    def __init__(self) -> None:
        self.local = threading.local()
        self._lock = threading.Lock()
        self._inside = 0
        self._own: Any = None  # the class's own hook, if matplotlib gives it one
        self._found: Any = None  # the hook the class had, its own or a base class's

    def enter(self) -> None:
        from matplotlib.backends.backend_svg import RendererSVG

        with self._lock:
            if self._inside == 0:
                self._own = RendererSVG.__dict__.get("_get_font_height_metrics")
                self._found = getattr(RendererSVG, "_get_font_height_metrics", None)
                hook = self

                def metrics(renderer: Any, prop: Any) -> tuple[Any, Any, Any]:
                    ours = getattr(hook.local, "metrics", None)
                    if ours is not None:
                        return ours(prop)
                    if hook._found is not None:
                        return hook._found(renderer, prop)
                    return None, None, None  # matplotlib reads the font's tables itself

                RendererSVG._get_font_height_metrics = metrics  # type: ignore[attr-defined]
            self._inside += 1

    def leave(self) -> None:
        from matplotlib.backends.backend_svg import RendererSVG

        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                if self._own is None:
                    del RendererSVG._get_font_height_metrics  # type: ignore[attr-defined]
                else:
                    RendererSVG._get_font_height_metrics = self._own  # type: ignore[attr-defined]


_SVG_HOOK = _SvgHook()


def _font_height_metrics(
    prop: Any, fig: Figure, known: dict[tuple[Any, float], tuple[Any, Any, Any]]
) -> tuple[Any, Any, Any]:
    """The least ascent and descent of a line of text in ``prop``'s font, and its line gap, in
    pixels at ``fig``'s resolution: what matplotlib reads from the font's tables for every
    text each time it measures or draws it (``Text._get_layout``), read the same way once per
    font, size and resolution of one render (``known``: which file a font family means
    depends on settings that can change between renders, never during one).

    A renderer's ``_get_font_height_metrics`` is matplotlib's hook for these values (its PDF
    and PostScript renderers have one); (None, None, None) leaves them to matplotlib.
    """
    key = (prop.copy(), fig.dpi)  # a copy: a FontProperties can change
    if key not in known:
        known[key] = _font_table_heights(prop, fig.dpi)
    return known[key]


def _font_table_heights(prop: Any, dpi: float) -> tuple[Any, Any, Any]:
    """As matplotlib's ``Text._get_layout`` reads them from the font's OS/2 or hhea table."""
    from matplotlib.font_manager import fontManager, get_font

    font: Any = get_font(fontManager._find_fonts_by_props(prop))
    possible = [
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ]
    for table_name, linegap_key, ascent_key, descent_key in possible:
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        fontsize = prop.get_size_in_points()
        units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
        scale = 1 / units_per_em * fontsize * dpi / 72
        return table[ascent_key] * scale, -table[descent_key] * scale, table[linegap_key] * scale
    return None, None, None  # matplotlib measures the font itself


def _ticks_while_laid_out(axis: Any) -> Any:
    """``axis._update_ticks`` computing the ticks again only when what they depend on changed.

    Laying a figure out and drawing it asks each axis for its ticks a dozen times or more
    (each spine, each tight box, each label's placement), and each time its locator and
    formatter computed the same ticks: a quarter of the drawing's time. They depend on the
    axis's limits, scale, locator and formatter, and on the axes' size for how many ticks
    fit: for matplotlib's own locators (:func:`_locators_sized_by_tick_space`), only through the
    tick space of the axis each locator reads (its own, or for axes sharing an axis the first
    one's: :func:`_locating_axes`), which the layout's small moves and the SVG's resolution
    leave as it is (a third of the computations left).
    """
    update = axis._update_ticks
    last: list[Any] = [None, None, None]  # the axes' sizes, what the ticks depend on, the ticks

    def ticks() -> Any:
        owners = _locating_axes(axis)
        size = (tuple(a.axes.bbox.bounds for a in owners), axis.get_figure(root=True).dpi)
        depends = _tick_inputs(axis)
        if size == last[0] and last[1] is not None and last[1][0] == depends:
            return last[2]
        spaces = tuple(a.get_tick_space() for a in owners) if _sized_by_tick_space(axis) else size
        inputs = (depends, spaces)
        if inputs != last[1]:
            last[2] = update()
        last[0], last[1] = size, inputs
        return last[2]

    return ticks


def _locating_axes(axis: Any) -> tuple[Any, ...]:
    """``axis`` and the axes its locators read their sizes from: axes sharing an axis share
    its locators, which read the first axes' (helper-168)."""
    owners = [axis]
    for locator in (axis.major.locator, axis.minor.locator):
        other = getattr(locator, "axis", None)
        if other is not None and other is not axis and hasattr(other, "axes"):
            owners.append(other)
    return tuple(dict.fromkeys(owners))


def _tick_inputs(axis: Any) -> tuple[Any, ...]:
    """What an axis's ticks depend on besides the axes' size."""
    return (
        tuple(axis.get_view_interval()),
        axis.get_scale(),
        id(axis.major.locator),
        id(axis.major.formatter),
        id(axis.minor.locator),
        id(axis.minor.formatter),
    )


def _sized_by_tick_space(axis: Any) -> bool:
    """Whether both of ``axis``'s locators depend on the axes' size only through the tick
    space (``get_tick_space()``) of the axis they read, or not at all."""
    known = _locators_sized_by_tick_space()
    return type(axis.major.locator) in known and type(axis.minor.locator) in known


@functools.cache
def _locators_sized_by_tick_space() -> frozenset[type]:
    """Matplotlib's locators whose ticks depend on the view limits, the scale and at most the
    axis's tick space (``MaxNLocator`` and ``LogLocator``'s automatic counts); formatters
    read the limits and the ticks, never the axes' size."""
    from matplotlib import ticker

    return frozenset(
        {
            ticker.AutoLocator,
            ticker.MaxNLocator,
            ticker.LogLocator,
            ticker.FixedLocator,
            ticker.NullLocator,
            ticker.MultipleLocator,
            ticker.LinearLocator,
            ticker.AutoMinorLocator,
        }
    )


def _titles_placed_without_offset_texts(ax: Any) -> Callable[[Any], None]:
    """``ax._update_title_position`` measuring no y axis when none of those it looks at shows
    an offset text (such as ``1e6`` or ``+0.6``).

    Matplotlib places an axes' titles above whatever sits over it (and over its twins, its
    inset axes and the axes whose titles are aligned with its own); for a y axis's offset
    text, which it finds by measuring the axis (every tick label's box) only to update that
    text, once per title each time the axes is drawn or measured (~4% of ``cpec-sim plot``).
    Without an offset text that measure cannot move a title, so it is skipped; with one,
    matplotlib's placement runs as it is. So it does for an axes without a title (it returns
    at once), with inset or secondary axes (placed first, their ticks would be asked for too
    early), and for a y axis that is not drawn (its axes' axis is off: the measure is then
    what places its label, which the render's check for text past the edge reads).
    """
    place = ax._update_title_position
    fig = ax.get_figure(root=False)
    titles = (ax.title, ax._left_title, ax._right_title)

    def placed(renderer: Any) -> None:
        if ax.child_axes or not any(title.get_text() for title in titles):
            place(renderer)
            return
        looked_at = {
            ax,
            *ax._twinned_axes.get_siblings(ax),
            *fig._align_label_groups["title"].get_siblings(ax),
        }
        yaxes = [other.yaxis for other in looked_at if other.axison and not other.child_axes]
        if len(yaxes) < len(looked_at) or any(_offset_text(yaxis) for yaxis in yaxes):
            place(renderer)
            return
        for yaxis in yaxes:
            yaxis.get_tightbbox = _unmeasured
        try:
            place(renderer)
        finally:
            for yaxis in yaxes:
                yaxis.__dict__.pop("get_tightbbox", None)

    return placed


def _offset_text(axis: Any) -> str:
    """The offset text ``axis`` shows once measured (measuring it sets the text, unless the
    axis is hidden)."""
    if not axis.get_visible():
        return str(axis.offsetText.get_text()) if axis.offsetText.get_visible() else ""
    axis._update_ticks()  # the formatter's offset is that of the ticks: cached while laid out
    return str(axis.major.formatter.get_offset()) or str(axis.offsetText.get_text())


def _unmeasured(*args: Any, **kwargs: Any) -> None:
    """A y axis's ``get_tightbbox`` while titles are placed without an offset text."""
    return None


def _figure_box(fig: Figure) -> Any:
    from matplotlib.transforms import Bbox

    width, height = fig.get_size_inches()
    return Bbox.from_bounds(0, 0, width, height)


def _text_overhangs(fig: Figure) -> bool:
    """Whether any text other than a tick label reaches past the drawn figure's edge.

    Tick labels are left out: constrained layout fits them, and the axis keeps label
    objects for ticks it does not draw. Text extents come from the draw just made (cached).
    """
    from matplotlib.text import Text

    ticks = {
        id(label)
        for ax in fig.axes
        for axis in (ax.xaxis, ax.yaxis)
        for tick in (*axis.majorTicks, *axis.minorTicks)
        for label in (tick.label1, tick.label2)
    }
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.bbox.width, fig.bbox.height
    for text in fig.findobj(Text):
        if id(text) in ticks or not text.get_visible() or not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
            return True
    return False


def _touches_edge(rgba: Any, border: int = 2) -> bool:
    """Whether any pixel within ``border`` pixels of the picture's edge is not white."""
    import numpy as np

    rgb = rgba[..., :3]
    frame = np.ones(rgb.shape[:2], dtype=bool)
    frame[border:-border, border:-border] = False
    return bool((rgb[frame] < 255).any())


def _render_tight(fig: Figure, formats: tuple[str, ...], dpi: float) -> dict[str, bytes]:
    """Rendered cropped to the figure's padded tight box (one more pass to measure it)."""
    bbox = _freeze(fig)
    width, height = fig.get_size_inches()
    inside = bbox.x0 >= 0 and bbox.y0 >= 0 and bbox.x1 <= width and bbox.y1 <= height
    out: dict[str, bytes] = {}
    for fmt in formats:
        crop = fmt == "png" and inside  # else savefig widens the canvas to hold what overhangs
        png_dpi = dpi if fmt == "png" else None
        out[fmt] = (
            cropped_png(fig, bbox, dpi) if crop else figure_bytes(fig, fmt, png_dpi, bbox=bbox)
        )
    return out


def write_rendered(directory: Path, rendered: dict[str, dict[str, bytes]]) -> list[Path]:
    """Write ``{name: {fmt: bytes}}`` as ``directory/name.fmt``, each file atomically."""
    return [
        atomic_write_bytes(Path(directory) / f"{name}.{fmt}", data)
        for name, by_format in rendered.items()
        for fmt, data in by_format.items()
    ]
