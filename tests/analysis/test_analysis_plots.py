"""Run figures: files written, what they show, and the data behind them."""

from __future__ import annotations

import functools
import html
import io
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import figures, plots
from sim.analysis.runs import ResultsError, load_run

FIGURES = set(plots.RUN_FIGURES)


def test_plot_run_writes_png_and_svg_of_every_figure(tmp_path: Path, make_run) -> None:
    run_dir = make_run(tmp_path / "run", scenario="full_pressure", n=9, weeks=6)
    paths = plots.plot_run(run_dir)
    names = {(p.stem, p.suffix) for p in paths}
    assert names == {(f, s) for f in FIGURES for s in (".png", ".svg")}
    for p in paths:
        assert p.parent == run_dir / "plots"
        data = p.read_bytes()
        if p.suffix == ".png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            text = data.decode()
            assert "<svg" in text
            # readable scenario name and the number of replicates in every title
            assert "Full pressure" in text and "9 replicates" in text
    assert not [p for p in (run_dir / "plots").iterdir() if p.name.startswith(".")]
    svg = (run_dir / "plots" / "severity_ccdf.svg").read_text()
    # the fit and the published reference, as validate states it (2.4 +/- 0.2)
    assert "power-law fit" in svg and "2.4 ± 0.2" in svg


def _collector() -> tuple[tuple[int, int, int], int]:
    import gc

    return gc.get_threshold(), gc.get_freeze_count()


def test_a_drawing_worker_collects_garbage_less_often_and_a_notebook_is_left_alone(
    tmp_path: Path, make_run
) -> None:
    """A drawing worker freezes what it imported and raises its collector's threshold before
    its first figure; drawing in the caller's own process (``jobs=1``) changes neither."""
    import gc
    from concurrent.futures import ProcessPoolExecutor

    from sim.analysis import drawing
    from sim.workers import DRAWING_PRELOAD, worker_context, worker_init

    task = drawing.RunFigure(make_run(tmp_path / "run", n=6, weeks=5), "a run", "target_mix")
    before = _collector()
    with ProcessPoolExecutor(1, worker_context(DRAWING_PRELOAD), worker_init) as pool:
        untouched = pool.submit(_collector).result()
        rendered = pool.submit(drawing._render, task, ("png",), None).result()
        threshold, frozen = pool.submit(_collector).result()
    assert rendered is not None and rendered["png"].startswith(b"\x89PNG")
    assert threshold == (drawing.DRAWING_GC_THRESHOLD, *untouched[0][1:]) != untouched[0]
    assert untouched[1] > 10_000  # the fork server froze what it imported (sim.workers)
    assert frozen > untouched[1]  # and the worker what it has imported and loaded since
    assert drawing.draw_figures([task], ("png",), jobs=1)[0] == rendered
    assert _collector() == before and gc.isenabled()


def test_figure_files_do_not_depend_on_the_number_of_drawing_processes(
    tmp_path: Path, make_run
) -> None:
    run_dir = make_run(tmp_path / "run", n=6, weeks=5)
    serial = {p.name: p.read_bytes() for p in plots.plot_run(run_dir, jobs=1)}
    parallel = {p.name: p.read_bytes() for p in plots.plot_run(run_dir, jobs=2)}
    assert serial == parallel and len(serial) == 2 * len(FIGURES)


_DRAWN_FROM_INPUTS = """
import json, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sim.analysis.drawing import RunFigure, _render
from sim.workers import DRAWING_PRELOAD, worker_context, worker_init


def imported():
    return sorted(m for m in ("pandas", "pyarrow", "sim.analysis.runs") if m in sys.modules)


if __name__ == "__main__":  # the fork server imports this script: pandas only down here
    from sim.analysis import plots

    run = plots.load_run(Path(sys.argv[1]))
    run.label = plots.run_label(run)
    names = list(plots.RUN_FIGURES)
    tasks = list(plots.figure_tasks((run, name) for name in names))
    with ProcessPoolExecutor(1, worker_context(DRAWING_PRELOAD), worker_init) as pool:
        before = pool.submit(imported).result()
        drawn = [pool.submit(_render, task, ("png", "svg"), None).result() for task in tasks]
        after = pool.submit(imported).result()
        from_run = pool.submit(_render, RunFigure(run.path, run.label, names[0]), ("svg",), None)
        loaded = pool.submit(imported).result()
        same_from_run = from_run.result()["svg"] == drawn[0]["svg"]
    here = [plots.render_run_figure(run, name) for name in names]
    missing = sum(d is None for d in drawn)
    print(json.dumps([before, after, loaded, drawn == here, same_from_run, missing]))
"""


def test_a_drawing_worker_draws_from_the_inputs_it_is_given_without_pandas(
    tmp_path: Path, make_run
) -> None:
    """``plot_run`` reads each figure's inputs in its own process: a drawing worker given them
    imports neither pandas nor pyarrow nor the results' loader, and draws every figure's PNG
    and SVG byte for byte as this process draws them from the run; a task without inputs
    loads the run in the worker (the report's) and draws the same."""
    run_dir = make_run(tmp_path / "run", n=12, weeks=8)
    script = tmp_path / "drawn.py"
    script.write_text(_DRAWN_FROM_INPUTS)
    root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (root, os.getenv("PYTHONPATH")))),
    }
    out = subprocess.run(
        [sys.executable, str(script), str(run_dir)],
        capture_output=True, text=True, check=True, cwd=root, env=env,
    )  # fmt: skip
    before, after, loaded, same, same_from_run, missing = json.loads(out.stdout.splitlines()[-1])
    assert before == after == []
    assert loaded == ["pandas", "pyarrow", "sim.analysis.runs"]  # the placebo: they show
    assert same and same_from_run and missing == 0


def test_a_figure_does_not_depend_on_the_callers_matplotlib_settings(
    tmp_path: Path, make_run
) -> None:
    """A notebook's own style (or a ``matplotlibrc``) does not reach the figures: drawn in
    its process (``jobs=1``) they are the bytes the drawing workers draw (helper-167: a dark
    style drew other bytes at ``jobs=1``, recorded as up to date; helper-170: NumPy's print
    options, its SVGs), and its settings are back afterwards. The settings kept are the ones
    Matplotlib's styles never set."""
    import matplotlib as mpl
    import matplotlib.style as mstyle

    from sim.analysis import style

    run = load_run(make_run(tmp_path / "run", n=6, weeks=5))
    run.label = plots.run_label(run)
    plain = {name: plots.render_run_figure(run, name) for name in ("target_mix", "severity_ccdf")}
    with mpl.rc_context():
        mstyle.use("dark_background")
        mpl.rcParams["font.size"] = 14
        theirs = dict(mpl.rcParams)
        styled = {name: plots.render_run_figure(run, name) for name in plain}
        assert dict(mpl.rcParams) == theirs
    assert styled == plain
    assert set(mstyle._STYLE_BLACKLIST) == style._NOT_STYLE
    # NumPy's print options: the SVG's clip-path ids hash transforms' text (helper-170)
    with np.printoptions(legacy="1.25", precision=3):
        printed = {name: plots.render_run_figure(run, name) for name in plain}
        assert np.get_printoptions()["legacy"] == "1.25"
    assert printed == plain
    assert np.get_printoptions()["legacy"] is False


def test_reusing_ticks_and_font_metrics_draws_what_matplotlib_draws(
    tmp_path: Path, make_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The render reuses each axis's ticks and each font's metrics, and places titles without
    measuring y axes that show no offset text, only as a shortcut: every run figure's PNG
    pixels and SVG, a figure drawn again cropped (a title wider than the figure), and figures
    whose titles an offset text moves up (on the axes, on its twin), are what matplotlib draws
    without it; and the shortcut is taken."""
    from matplotlib.axis import Axis, YAxis
    from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
    from matplotlib.font_manager import FontManager
    from PIL import Image

    from sim.analysis import style

    run = load_run(make_run(tmp_path / "run", n=30, weeks=20))
    run.label = plots.run_label(run)
    computed = {"ticks": 0, "SVG font lookups": 0, "y axes measured": 0}
    own_update_ticks = Axis._update_ticks
    own_measure = YAxis.get_tightbbox
    own_print_svg = FigureCanvasSVG.print_svg
    own_lookup = FontManager._find_fonts_by_props
    in_svg = [False]

    def counted(axis: Axis) -> object:
        computed["ticks"] += 1
        return own_update_ticks(axis)

    @functools.wraps(own_print_svg)  # savefig passes what its signature takes
    def printing_svg(canvas: FigureCanvasSVG, *args: object, **kwargs: object) -> object:
        in_svg[0] = True
        try:
            return own_print_svg(canvas, *args, **kwargs)
        finally:
            in_svg[0] = False

    def looked_up(manager: FontManager, *args: object, **kwargs: object) -> object:
        computed["SVG font lookups"] += in_svg[0]
        return own_lookup(manager, *args, **kwargs)

    def measured(axis: YAxis, *args: object, **kwargs: object) -> object:
        computed["y axes measured"] += 1
        return own_measure(axis, *args, **kwargs)

    monkeypatch.setattr(Axis, "_update_ticks", counted)
    monkeypatch.setattr(YAxis, "get_tightbbox", measured)
    monkeypatch.setattr(FigureCanvasSVG, "print_svg", printing_svg)
    monkeypatch.setattr(FontManager, "_find_fonts_by_props", looked_up)

    def overhanging() -> object:
        fig = style.new_figure(figsize=(3, 2))
        fig.subplots(1, 2)[0].set_title("a title much wider than its narrow little panel")
        return fig

    moved: dict[str, float] = {}

    def offset_under_title(twin: bool) -> object:
        """A long title over a y axis (or its twin's) whose ticks need an offset text."""
        fig = style.new_figure(figsize=(3, 2.4))
        ax = fig.subplots()
        (ax.twinx() if twin else ax).plot([0, 1, 2], [1e6, 1e6 + 1, 1e6 + 2])
        ax.set_title("a title as wide as the panel it is over")
        moved["twin" if twin else "axes"] = ax.title  # type: ignore[assignment]
        return fig

    def axis_off() -> object:
        """helper-168: a titled panel whose axis is off; its y label is placed only by the
        measure the titles' placement makes."""
        fig = style.new_figure(figsize=(4, 2))
        for ax in fig.subplots(1, 2):
            ax.plot([0, 1], [0, 1])
            ax.set_title("title")
            ax.set_ylabel("y label")
        ax.axis("off")
        return fig

    def secondary_offset() -> object:
        """helper-168: a secondary y axis (placed by the titles' placement) with an offset."""
        fig = style.new_figure(figsize=(3, 2.4))
        ax = fig.subplots()
        ax.plot([1, 2], [0, 1])
        ax.secondary_yaxis("right", functions=(lambda y: y + 1e6, lambda y: y - 1e6))
        ax.set_title("secondary y offset text wide")
        return fig

    def shared_locator() -> object:
        """helper-168: axes sharing x share the first axes' locator, sized by its tick space."""
        fig = style.new_figure(figsize=(4.25, 2.8))
        a, c = fig.subplots(1, 2, sharey=True, sharex=True)
        a.plot([0, 1000], [0, 1000])
        image = c.imshow(np.arange(16.0).reshape(4, 4), extent=(0, 1000, 0, 1000), aspect="auto")
        fig.colorbar(image, ax=c, label="colour")
        a.set_title("a")
        c.set_title("c")
        return fig

    def drawn(reuse: bool) -> dict[str, tuple[np.ndarray, bytes]]:
        monkeypatch.setattr(style, "REUSE_TICKS_AND_FONT_METRICS", reuse)
        computed.update(dict.fromkeys(computed, 0))
        out = {name: plots.render_run_figure(run, name) for name in plots.RUN_FIGURES}
        with style.context():
            out["overhanging"] = style.render(overhanging())  # type: ignore[arg-type]
            for twin in (False, True):
                out[f"offset, twin={twin}"] = style.render(offset_under_title(twin))  # type: ignore[arg-type]
            for build in (axis_off, secondary_offset, shared_locator):
                out[build.__name__] = style.render(build())  # type: ignore[arg-type]
        for where, title in moved.items():  # the offset text did move the title up
            assert title.get_position()[1] > 1.01, where  # type: ignore[attr-defined]
        pixels = {
            name: (np.asarray(Image.open(io.BytesIO(r["png"])).convert("RGBA")), r["svg"])
            for name, r in out.items()
            if r is not None
        }
        return pixels | {what: (np.array(n), b"") for what, n in computed.items()}

    fast, plain = drawn(True), drawn(False)
    assert fast.keys() == plain.keys() and set(plots.RUN_FIGURES) <= fast.keys()
    for what in computed:  # the layout measures each y axis too: a third of them is left
        assert fast[what][0] < plain[what][0] / (2 if what == "y axes measured" else 3), what
    assert "_get_font_height_metrics" not in vars(RendererSVG)  # matplotlib's own again
    for name in set(fast) - set(computed):
        assert np.array_equal(fast[name][0], plain[name][0]), name
        assert fast[name][1] == plain[name][1], name


@pytest.mark.parametrize("locator", ["auto", "log", "a user's"])
def test_reused_ticks_follow_the_axes_size_through_the_tick_space(
    locator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An axis's reused ticks are computed again when the axes grows enough for more ticks to
    fit (matplotlib's locators: its tick space changes; any other locator: any change of
    size), and only then: a few pixels more, as the layout moves an axes, reuse them."""
    from matplotlib.axis import Axis
    from matplotlib.ticker import AutoLocator, MaxNLocator

    from sim.analysis import style

    class UsersLocator(MaxNLocator):  # not known to depend on the size only via tick space
        pass

    computed = [0]
    own = Axis._update_ticks

    def counted(axis: Axis) -> object:
        computed[0] += 1
        return own(axis)

    monkeypatch.setattr(Axis, "_update_ticks", counted)
    fig = style.new_figure(figsize=(1.5, 1.5), layout=None)
    ax = fig.add_axes((0.2, 0.2, 0.7, 0.7))
    if locator == "log":
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 1e5)
    else:
        ax.set_ylim(0, 97)
        ax.yaxis.set_major_locator(UsersLocator("auto") if locator != "auto" else AutoLocator())
    ticks = style._ticks_while_laid_out(ax.yaxis)

    def locations() -> list[float]:
        return [float(t.get_loc()) for t in ticks()]

    small = locations()
    assert computed[0] == 1 and locations() == small and computed[0] == 1
    fig.set_size_inches(1.5, 1.52)  # a few pixels taller: as many ticks fit
    assert locations() == small
    assert computed[0] == (2 if locator == "a user's" else 1)
    fig.set_size_inches(1.5, 6)  # four times as tall: more ticks fit
    tall = locations()
    assert tall == [float(t.get_loc()) for t in own(ax.yaxis)]  # what matplotlib computes
    assert len(tall) > len(small)


def test_svg_font_metrics_hook_is_each_threads_own_and_leaves_with_the_last_render() -> None:
    """Renders in two threads, leaving in the order they did not enter (a reviewer's case:
    the hook of the first was left on the class and laid out every later SVG at its
    resolution): inside, each thread's SVG renderers read its own render's metrics and the
    other threads matplotlib's own; after, the class is as matplotlib made it and a plain
    SVG is drawn as before."""
    import threading

    from matplotlib.backends.backend_svg import RendererSVG

    from sim.analysis import style

    def plain_svg() -> bytes:
        fig = style.new_figure(figsize=(3, 2))
        fig.subplots().set_title("Title\nsecond line")
        buf = io.BytesIO()
        with style.context():  # the house style's fixed salt for the SVG's ids
            fig.savefig(buf, format="svg", metadata={"Date": None})
        return buf.getvalue()

    before = plain_svg()
    inside, left, seen = threading.Event(), threading.Event(), {}

    def first() -> None:
        with style._svg_font_height_metrics(lambda prop: ("first", 0, 0)):
            inside.set()
            left.wait(10)  # the second thread enters meanwhile
        seen["first left"] = RendererSVG._get_font_height_metrics(None, None)  # type: ignore[attr-defined]

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(10)
    with style._svg_font_height_metrics(lambda prop: ("second", 0, 0)):
        seen["second"] = RendererSVG._get_font_height_metrics(None, None)  # type: ignore[attr-defined]
        left.set()
        thread.join(10)
        seen["after first left"] = RendererSVG._get_font_height_metrics(None, None)  # type: ignore[attr-defined]
    assert seen == {
        "second": ("second", 0, 0),
        "first left": (None, None, None),  # matplotlib's own: another thread's render is inside
        "after first left": ("second", 0, 0),
    }
    assert "_get_font_height_metrics" not in vars(RendererSVG)
    assert plain_svg() == before


def test_font_metrics_follow_a_font_setting_changed_between_renders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Which file "sans-serif" means is a setting: a render after it changed draws what
    matplotlib draws (a review found heights kept from the render before)."""
    import matplotlib as mpl
    from PIL import Image

    from sim.analysis import style

    def titled() -> object:
        fig = style.new_figure(figsize=(4, 3))
        fig.subplots().set_title("Title\nsecond line")
        return fig

    with style.context():
        style.render(titled())  # type: ignore[arg-type]
    pixels = {}
    for reuse in (True, False):
        monkeypatch.setattr(style, "REUSE_TICKS_AND_FONT_METRICS", reuse)
        with style.context(), mpl.rc_context({"font.sans-serif": ["STIXGeneral"]}):
            png = style.render(titled())["png"]  # type: ignore[arg-type]
        pixels[reuse] = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    assert np.array_equal(pixels[True], pixels[False])


@pytest.mark.parametrize("alpha", [255, 128])
def test_png_bytes_hold_the_pixels(alpha: int) -> None:
    from PIL import Image

    from sim.analysis import style

    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    image = Image.open(io.BytesIO(style.png_bytes(rgba)))
    assert image.mode == ("RGB" if alpha == 255 else "RGBA")
    assert np.array_equal(np.asarray(image.convert("RGBA")), rgba)


def test_cropped_png_is_the_figure_inside_its_tight_box() -> None:
    from PIL import Image

    from sim.analysis import style

    fig = style.new_figure(figsize=(4, 3), layout=None)
    fig.add_axes((0.3, 0.3, 0.4, 0.4)).plot([0, 1], [0, 1])
    png = style.render(fig, ("png",))["png"]
    with style.context():
        bbox = fig.get_tightbbox().padded(style.HOUSE_STYLE["savefig.pad_inches"])
    image = Image.open(io.BytesIO(png))
    dpi = style.HOUSE_STYLE["savefig.dpi"]
    assert abs(image.width - bbox.width * dpi) <= 2 and abs(image.height - bbox.height * dpi) <= 2
    assert image.width < 4 * dpi and image.height < 3 * dpi  # cropped, not the whole canvas


def test_titles_that_overhang_are_caught_even_where_the_edge_falls_between_letters() -> None:
    """Constrained layout ignores a title's width; whatever pixels sit at the edge, a title
    running past it sends the figure to its tight box, in PNG and SVG alike."""
    from PIL import Image

    from sim.analysis import style

    dpi = style.HOUSE_STYLE["savefig.dpi"]
    widened = 0
    for n in range(8, 40, 3):  # title lengths around the edge, as a reviewer found clipped
        fig = style.new_figure(figsize=(8, 3))
        fig.subplots(1, 4)[3].set_title("median 1,234,567 [90% interval 1–2]"[:n] + " in" * 3)
        with style.context():  # Matplotlib's own measure of what the figure holds
            fig.get_layout_engine().execute(fig)
            fig.set_layout_engine("none")
            overhangs = fig.get_tightbbox().x1 > 8
        fig = style.new_figure(figsize=(8, 3))
        fig.subplots(1, 4)[3].set_title("median 1,234,567 [90% interval 1–2]"[:n] + " in" * 3)
        out = style.render(fig)
        width = Image.open(io.BytesIO(out["png"])).width
        assert (width > 8 * dpi) == overhangs  # widened exactly when the title overhangs
        svg_width = float(out["svg"].decode().split('width="', 1)[1].split("pt", 1)[0])
        assert (svg_width > 8 * 72) == overhangs
        widened += overhangs
    assert widened > 0


def test_a_laid_out_figure_is_drawn_whole_and_one_that_overhangs_is_widened() -> None:
    """Constrained layout keeps a figure inside its canvas, which is then drawn as it is; a
    title the layout cannot fit reaches the edge, and the figure is drawn to its tight box."""
    from PIL import Image

    from sim.analysis import style

    dpi = style.HOUSE_STYLE["savefig.dpi"]
    sizes = {}
    for title in ("short", "a title far wider than its narrow axes " * 3):
        fig = style.new_figure(figsize=(4, 3))
        ax = fig.subplots(1, 2)[1]
        ax.set_title(title)
        image = Image.open(io.BytesIO(style.render(fig, ("png",))["png"]))
        sizes[title] = image.size
        assert not style._touches_edge(np.asarray(image))  # nothing clipped at the edge
    assert sizes["short"] == (4 * dpi, 3 * dpi)  # the canvas as laid out
    wide = sizes["a title far wider than its narrow axes " * 3]
    assert wide[0] > 4 * dpi  # widened to hold the title


def test_figures_cope_with_constant_outcomes_and_no_attacks(
    tmp_path: Path, make_frames, save_run
) -> None:
    summary, ts, events = make_frames(n=5, weeks=4)
    summary["chinese_killed"] = 0  # constant: no density estimate, still a histogram
    run = load_run(save_run(tmp_path / "quiet", summary, ts, events.iloc[0:0]))
    hist = plots.figure_outcome_histograms(run)
    assert hist is not None
    chinese = next(ax for ax in hist.axes if ax.get_title().startswith("Chinese nationals"))
    assert chinese.get_xlabel().endswith("\n(one value: no density curve)")
    assert list(chinese.get_xticks()) == [0]  # a reviewer saw ticks from -0.45 to 0.45
    severity = plots.figure_severity(run)
    assert severity is not None
    assert "no attack killed anyone" in [t.get_text() for t in severity.axes[0].texts]
    assert plots.figure_target_mix(run) is None  # no attacks: nothing to split by target
    assert plots.figure_districts(run) is not None  # every place drawn, all at zero
    names = [name for name, _ in plots.run_figures(run)]
    assert "target_mix" not in names and "fan_violence" in names


def test_plot_run_and_the_report_draw_with_the_installed_code_unless_asked_to_draw_here(
    tmp_path: Path, make_run, monkeypatch
) -> None:
    """``plots/drawn.json`` says the figures are this code's, and a report reuses them: by
    default workers draw them, which a notebook's change to a module (here the renderer
    itself) does not reach (helper-170: drawn in the caller's process, a patched figure was
    recorded as up to date and embedded by a later report). ``jobs=1`` draws here, as its
    docstring says."""
    import base64

    from sim import workers
    from sim.analysis import report
    from sim.analysis.runs import load_runs

    monkeypatch.setattr(workers, "usable_cpus", lambda: 2)  # as on the two-core machines
    fake = {"png": b"\x89PNG fake", "svg": b"<svg>fake</svg>"}
    monkeypatch.setattr(figures, "render_figure", lambda *args: fake)
    run_dir = make_run(tmp_path / "run", n=4, weeks=3)
    paths = plots.plot_run(run_dir)
    assert len(paths) == 2 * len(FIGURES)
    assert not {p.read_bytes() for p in paths} & set(fake.values())
    assert plots.figures_up_to_date(run_dir)
    cheap = ("target_mix", "attacks_by_place")
    monkeypatch.setattr(plots, "RUN_FIGURES", {k: plots.RUN_FIGURES[k] for k in cheap})
    for p in paths:  # the report draws them again, in workers
        p.unlink()
    text = report.build_report(load_runs([run_dir]))
    assert text.count("data:image/png;base64,") >= len(cheap)
    assert base64.b64encode(fake["png"]).decode() not in text
    here = plots.plot_run(run_dir, jobs=1)
    assert {p.read_bytes() for p in here} == set(fake.values())


_UNGUARDED = """
import sys
from pathlib import Path

from sim.analysis.plots import plot_run
from sim.workers import DrawingWorkerDied

try:
    plot_run(Path(sys.argv[1]), jobs=2)
except DrawingWorkerDied as exc:
    print("died:", exc)

from sim.analysis.compare import write_comparison
from sim.analysis.runs import load_runs

try:
    write_comparison(load_runs([sys.argv[1]]), Path("compared"), jobs=2)
except DrawingWorkerDied as exc:
    print("died:", exc)
"""

_FROM_STDIN = """
import sys
from pathlib import Path

from sim.analysis.drawing import RunFigure, draw_figures

task = RunFigure(Path(sys.argv[1]), "a run", "target_mix")
drawn = draw_figures([task, task], ("png",), jobs=2)
print(len(drawn), all(d["png"].startswith(b"\\x89PNG") for d in drawn))
"""


def test_drawing_workers_from_a_script_say_what_is_wrong_or_are_not_needed(
    tmp_path: Path, make_run
) -> None:
    """Asked for workers, a script without ``if __name__ == "__main__":`` met its call again in
    each of them (a line saying so, then a bare ``BrokenProcessPool``); one read from
    standard input could not start them at all. Now: one clear exception, and the figures
    drawn in the script's own process."""
    from sim.workers import drawing_worker_died

    run_dir = make_run(tmp_path / "run", n=4, weeks=3)
    root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (root, os.getenv("PYTHONPATH")))),
    }
    (tmp_path / "unguarded.py").write_text(_UNGUARDED)
    out = subprocess.run(
        [sys.executable, "unguarded.py", str(run_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    died = [line for line in out.stdout.splitlines() if line.startswith("died: ")]
    assert died == [f"died: {drawing_worker_died()}"] * 2, out.stdout + out.stderr
    assert 'put the call under `if __name__ == "__main__":`' in out.stderr, out.stderr
    assert "BrokenProcessPool" not in out.stderr, out.stderr
    assert not (run_dir / "plots").exists() and not (tmp_path / "compared").exists()
    out = subprocess.run(
        [sys.executable, "-", str(run_dir)],
        input=_FROM_STDIN, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.stdout.split() == ["2", "True"], out.stdout + out.stderr
    assert "Traceback" not in out.stderr, out.stderr


def test_plot_run_rejects_a_directory_without_summary(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"no summary\.parquet"):
        plots.plot_run(tmp_path)
    assert not (tmp_path / "plots").exists()


def test_weekly_matrix_and_fan_bands() -> None:
    ts = pd.DataFrame(
        {
            "replicate": [0, 0, 1, 1, 2, 2],
            "week": [1, 2, 1, 2, 1, 2],
            "attacks": [1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
        }
    )
    weeks, m = plots.weekly_matrix(ts, "attacks")
    np.testing.assert_array_equal(weeks, [1, 2])
    np.testing.assert_array_equal(m, [[1, 4], [2, 5], [3, 6]])


def test_weekly_matrices_are_the_pivot_tables_of_each_metric() -> None:
    """Each replicate's and week's first value that is not NaN (a repeated row, rows out of
    order, missing weeks, NaN, integer and boolean metrics, no rows): what pandas' pivot
    table gives, on 200 random frames, and a small one worked out by hand."""
    ts = pd.DataFrame(
        {
            "replicate": [2, 0, 0, 2, 0],
            "week": [3, 1, 1, 1, 3],
            "killed": [7.0, np.nan, 4.0, 1.0, 9.0],
        }
    )
    weeks, m = plots.weekly_matrices(ts, ["killed"])["killed"]
    np.testing.assert_array_equal(weeks, [1, 3])
    np.testing.assert_array_equal(m, [[4, 9], [1, 7]])  # row 0, week 1: NaN first, then 4
    assert plots.weekly_matrices(pd.DataFrame(), []) == {}  # a run without a timeseries
    for odd in (  # helper-168: categories out of order; pandas' own missing value
        ts.assign(replicate=pd.Categorical(ts["replicate"], categories=[2, 0])),
        ts.assign(killed=pd.Series([7.0, pd.NA, 4.0, 1.0, 9.0], dtype=object)),
    ):
        weeks, m = plots.weekly_matrices(odd, ["killed"])["killed"]
        wide = odd.pivot_table(
            index="replicate", columns="week", values="killed", aggfunc="first", dropna=False
        )
        np.testing.assert_array_equal(m, wide.to_numpy(float))  # in the categories' order
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(0, 40))
        frame = pd.DataFrame(
            {
                "replicate": rng.integers(0, 5, n),
                "week": rng.integers(1, 8, n),
                "real": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
                "count": rng.integers(0, 3, n),
                "flag": rng.random(n) < 0.5,
            }
        )
        got = plots.weekly_matrices(frame, ["real", "count", "flag"])
        for metric, (weeks, matrix) in got.items():
            wide = frame.pivot_table(
                index="replicate", columns="week", values=metric, aggfunc="first", dropna=False
            )
            np.testing.assert_array_equal(weeks, sorted(wide.columns))
            np.testing.assert_array_equal(matrix, wide[sorted(wide.columns)].to_numpy(float))


def test_target_counts_are_means_per_replicate() -> None:
    events = pd.DataFrame(
        {
            "replicate": [0, 0, 1, 1, 1],
            "week": [1, 1, 1, 3, 3],
            "target": ["chinese", "security", "security", "infrastructure", "infrastructure"],
        }
    )
    counts = plots.target_counts(events, weeks=3, replicates=2)
    assert list(counts.columns) == ["chinese", "security", "infrastructure"]
    assert counts.loc[1].tolist() == [0.5, 1.0, 0.0]
    assert counts.loc[2].tolist() == [0.0, 0.0, 0.0]
    assert counts.loc[3].tolist() == [0.0, 0.0, 1.0]


def test_district_attacks_count_zero_for_quiet_replicates() -> None:
    events = pd.DataFrame(
        {"replicate": [0, 0, 0, 2], "district": ["kech", "kech", "quetta", "kech"]}
    )
    table = plots.district_attacks(events, replicate_ids=[0, 1, 2, 3])
    assert table.loc["kech", "mean"] == pytest.approx(3 / 4)
    assert table.loc["quetta", "mean"] == pytest.approx(1 / 4)
    assert table.loc["gwadar", "mean"] == 0
    # counts: each end of the interval is a count some replicate had (not 1.85 attacks)
    assert (table.loc["kech", "q05"], table.loc["kech", "q95"]) == (0, 2)


def test_a_place_attacked_in_few_replicates_is_drawn(tmp_path: Path, make_frames, save_run) -> None:
    """A reviewer's weeks=1 run: a place attacked in fewer than 5% of replicates has its
    95th percentile (0) below its mean, and the bar from mean to percentiles failed to draw
    ('xerr' must not contain negative values) in the run, in plot and in report."""
    summary, ts, events = make_frames(n=40, weeks=1)
    rare = events.iloc[:1].assign(replicate=0, district="karachi")
    run = load_run(save_run(tmp_path / "rare", summary, ts, rare))
    table = plots.district_attacks(run.events, list(range(40)))
    assert table.loc["karachi", "q95"] < table.loc["karachi", "mean"]
    fig = plots.figure_districts(run)
    assert fig is not None
    bars = next(ax for ax in fig.axes if ax.get_title().startswith("Mean with 90% interval"))
    lines = next(c for c in bars.collections if hasattr(c, "get_segments"))
    drawn = sorted((float(a[0]), float(b[0])) for a, b in lines.get_segments())
    expected = sorted(zip(table["q05"], table["q95"], strict=True))
    assert np.allclose(drawn, expected)  # each place's interval, from 5th to 95th


def test_figures_report_the_numbers_they_plot(tmp_path: Path, make_frames, save_run) -> None:
    summary, ts, events = make_frames(n=21, weeks=3)
    summary["attacks_total"] = np.arange(100, 121)  # median 110, 5%: 101, 95%: 119
    run = load_run(save_run(tmp_path / "r", summary, ts, events))
    fig = plots.figure_outcome_histograms(run)
    assert fig is not None
    titles = [ax.get_title() for ax in fig.axes]
    assert "Attacks in total\nmedian 110, 90% interval 101–119" in titles


def test_analysis_does_not_import_the_model_and_the_model_not_matplotlib() -> None:
    code = (
        "import sys\n"
        "import sim.analysis.plots, sim.analysis.compare, sim.analysis.report, sim.analysis.cli\n"
        "assert 'sim.model' not in sys.modules, 'analysis imported the model'\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported at module level'\n"
        "import sim.model\n"
        "assert 'matplotlib' not in sys.modules, 'the model imported matplotlib'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_histograms_draw_no_density_below_zero_nor_over_a_few_whole_numbers(
    tmp_path: Path, make_frames, save_run
) -> None:
    summary, ts, events = make_frames(n=60, weeks=4)
    rng = np.random.default_rng(3)
    summary["investors_withdrawn"] = rng.integers(0, 4, size=len(summary))  # 4 values
    summary["chinese_killed"] = rng.geometric(0.2, size=len(summary)) - 1  # piled up at 0
    spread = np.array([1, 3, 4, 5, 6, 7, 8, 11, 16, 17])  # helper-171's labels read "1617"
    summary["attacks_on_chinese"] = spread[np.arange(len(summary)) % spread.size]
    close = np.array([3304, 3306, 3306, 3307, 3312])  # helper-172's: 3306 and 3307 overlapped
    summary["fighters_final"] = close[np.arange(len(summary)) % close.size]
    run = load_run(save_run(tmp_path / "counts", summary, ts, events))
    hist = plots.figure_outcome_histograms(run)
    assert hist is not None
    axes = {ax.get_title().split("\n")[0]: ax for ax in hist.axes}
    investors = axes["Investors withdrawn"]
    assert not [line for line in investors.lines if len(line.get_xdata()) == 200]  # no curve
    # said under the axis (inside, it ran over the bars and the median line)
    assert investors.get_xlabel().endswith("\n(4 distinct values: no density curve)")
    assert not investors.texts
    ticks = [t for t in investors.get_xticks() if -0.5 <= t <= 3.5]
    assert ticks == [0, 1, 2, 3]  # a stranger saw 0.5, 1.5 ...
    hist.canvas.draw()  # the labels' boxes: no two overlap, and each count's are whole
    for title in ("Attacks on Chinese targets", "Fighters at the end", "Investors withdrawn"):
        ax = axes[title]
        lo, hi = ax.get_xlim()
        shown = [t for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
        assert len(shown) >= 2 and all(float(t.get_position()[0]).is_integer() for t in shown)
        boxes = sorted((t.get_window_extent().x0, t.get_window_extent().x1) for t in shown)
        assert all(right < left for (_, right), (left, _) in itertools.pairwise(boxes)), boxes
    chinese = axes["Chinese nationals killed"]
    curves = [line for line in chinese.lines if len(line.get_xdata()) == 200]
    assert len(curves) == 1 and min(curves[0].get_xdata()) >= 0  # reflected at zero
    assert max(curves[0].get_ydata()) > 0 and not chinese.texts
    assert max(curves[0].get_xdata()) > summary["chinese_killed"].max()  # no ceiling here


def test_a_density_piled_against_a_ceiling_is_reflected_there(
    tmp_path: Path, make_frames, save_run
) -> None:
    """A reviewer found 13% of capital's density curve past the largest replicate; cutting it
    there left the curve at 40% of the bar where the replicates pile up."""
    summary, ts, events = make_frames(n=200, weeks=4)
    rng = np.random.default_rng(5)
    capital = np.where(rng.random(200) < 0.3, 7000.0, rng.uniform(2500.0, 7000.0, 200))
    summary["capital_deployed_final"] = capital
    run = load_run(save_run(tmp_path / "capital", summary, ts, events))
    hist = plots.figure_outcome_histograms(run)
    assert hist is not None
    ax = next(a for a in hist.axes if a.get_title().startswith("Capital deployed"))
    (curve,) = [line for line in ax.lines if len(line.get_xdata()) == 200]
    x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    assert x.max() == 7000.0  # nothing past the ceiling
    assert np.trapezoid(y, x) > 0.95  # the mass stays under the curve
    heights, _ = np.histogram(capital, bins=figures._bins(capital), density=True)
    assert y[-1] > 0.6 * heights[-1]  # no sag where the replicates pile up (the last bar)


def test_policy_lines_that_coincide_are_named_as_one_line(
    tmp_path: Path, make_frames, save_run
) -> None:
    summary, ts, events = make_frames(n=6, weeks=8)
    rng = np.random.default_rng(4)
    ts["sites_guarded_by_troops"] = rng.integers(0, 2, size=len(ts))
    ts["joint_operations"] = ts["sites_guarded_by_troops"]
    ts["investment_hold"] = rng.integers(0, 2, size=len(ts))
    ts["chinese_troops"] = 1  # let in every week; whether any guard is another matter
    run = load_run(save_run(tmp_path / "policies", summary, ts, events))
    fig = plots.figure_fan_politics(run)
    assert fig is not None
    ax = next(ax for ax in fig.axes if ax.get_title().startswith("Policies in force"))
    labels = [line.get_label() for line in ax.lines]
    assert "Chinese troops on guard" in labels and "China's investment hold" in labels
    assert "joint operations (same as Chinese troops on guard every week)" in labels
    guard = next(line for line in ax.lines if line.get_label() == "Chinese troops on guard")
    expected = ts.groupby("week")["sites_guarded_by_troops"].apply(lambda v: (v > 0).mean())
    # a reviewer found the line plotting troops let in (1.0 every week with none to send)
    assert np.allclose(guard.get_ydata(), expected.to_numpy())


def test_figure_numbers_keep_a_median_between_two_counts() -> None:
    """A reviewer found titles reading 'median 578' where the table says 578.5, and an
    interval '0.319–0.34' where 0.340 was meant."""
    from sim.analysis.stats import Summary

    assert [figures.fmt(v) for v in (578.5, 412.0, 0.3401, 1234.56, 6.0)] == [
        "578.5", "412", "0.34", "1,235", "6",
    ]  # fmt: skip
    text = figures._interval_text(Summary(n=9, mean=0.33, median=0.338, q05=0.319, q95=0.34))
    assert text == "median 0.338, 90% interval 0.319–0.340"
    # a stranger: 'median 3,819.5' in the title where the summary and the tables say 3,820;
    # the title shows what compare's table (and the report's beside the figure) shows
    from sim.analysis.numbers import fmt_number, fmt_numbers

    for m, lo, hi in ((3819.5, 3700.0, 3950.0), (578.5, 450.0, 700.0), (2.5, 0.0, 7.0)):
        text = figures._interval_text(Summary(n=9, mean=m, median=m, q05=lo, q95=hi))
        assert text == f"median {fmt_number(m)}, 90% interval {'–'.join(fmt_numbers(lo, hi))}"
    big = Summary(n=9, mean=3800.0, median=3819.5, q05=3700.0, q95=3950.0)
    assert figures._interval_text(big) == "median 3,820, 90% interval 3,700–3,950"


def test_place_markers_have_areas_in_proportion_to_attacks() -> None:
    from sim.analysis.figures import _marker_area, _size_references

    area = _marker_area(np.array([51.0, 25.5, 3.0, 0.0]), 51.0)
    assert area[0] / area[1] == pytest.approx(2.0)  # a square root drew 1.41
    assert area[0] / area[2] == pytest.approx(17.0)  # a square root drew 3.6 (with its offset)
    assert area[3] == 12.0  # a place without attacks keeps a dot
    assert _size_references(51.0) == [12.5, 25.0, 50.0]
    assert _size_references(0.7) == [0.175, 0.35, 0.7]


def test_a_cutoff_is_claimed_only_below_its_level() -> None:
    """The cutoff test's p runs small on heavy tails (6-9% below 0.05 on pure power laws):
    p = 0.03 is not read as a bending tail, p = 0.002 is."""
    from dataclasses import replace

    from sim.analysis import stats
    from sim.analysis.figures import _cutoff_verdict

    fit = stats.PowerLawFit(2.8, 0.03, 5.0, 4000, 20000, True, -1.0, 0.3)
    assert "no clear sign" in _cutoff_verdict(replace(fit, cutoff_p=0.03, cutoff_rate=0.006))
    assert "bends down" in _cutoff_verdict(replace(fit, cutoff_p=0.002, cutoff_rate=0.006))
    assert "not tested" in _cutoff_verdict(fit)


@pytest.mark.parametrize("folder", ["q$^$", "$\\alpha$"])
def test_dollars_in_a_run_label_are_drawn_as_written(tmp_path: Path, make_run, folder: str) -> None:
    """A run folder's name in a label is text, not mathtext: it neither crashes the drawing
    (``q$^$``) nor turns into another symbol than the tables show (``$\\alpha$`` as α)."""
    from sim.analysis import compare, style
    from sim.analysis.runs import load_runs

    a = make_run(tmp_path / folder / "run", n=4, weeks=3)
    b = make_run(tmp_path / "other" / "run", n=4, weeks=3, seed=1)
    runs = load_runs([a, b])
    assert any(folder in label for label in runs.labels)
    table = compare.compare_runs(runs, runs.labels[1])
    for name, fig in compare.comparison_figures(runs, table):
        svg = style.render(fig, ("svg", "png"))["svg"].decode()
        drawn = html.unescape(" ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg)))
        assert folder in drawn, name


def test_log_axes_label_their_ticks_as_plain_text(tmp_path: Path, make_run) -> None:
    from sim.analysis import style

    run = load_run(make_run(tmp_path / "run", n=6, weeks=4))
    svg = style.render(plots.figure_severity(run), ("svg",))["svg"].decode()  # type: ignore[arg-type]
    assert "mathdefault" not in svg and "$" not in svg
    assert "10⁰" in svg
    assert style.plain_power(r"$\mathdefault{2\times10^{-3}}$") == "2×10⁻³"


def test_runs_of_one_or_few_replicates_draw_and_say_only_what_they_have(
    tmp_path: Path, make_frames, save_run
) -> None:
    """A stranger's review: one replicate's figures were titled "90% interval 31–31" under a
    legend of bands and a mean not drawn, and two replicates got density curves (two bumps)
    and a "90% interval" that held neither of them, with nothing on the figure to say so."""
    from matplotlib.collections import PolyCollection

    summary, ts, events = make_frames(n=1, weeks=6)
    one = load_run(save_run(tmp_path / "one", summary, ts, events))
    hist = plots.figure_outcome_histograms(one)
    assert hist is not None and "1 replicate (one history: no spread)" in hist.get_suptitle()
    titled = [ax for ax in hist.axes if ax.get_visible() and ax.get_title()]
    assert titled and all("one replicate: " in ax.get_title() for ax in titled)
    assert not any("interval" in ax.get_title() for ax in titled)
    labels = [t.get_text() for t in hist.legends[0].get_texts()]
    assert labels == ["the one replicate's value"]  # no bar: one value has no spread
    assert not any(ax.patches for ax in titled)
    ecdf = plots.figure_outcome_ecdfs(one)
    assert ecdf is not None and not any(ax.get_lines()[2:] for ax in ecdf.axes)  # no levels
    fan = plots.figure_fan_violence(one)
    assert fan is not None
    assert not any(isinstance(c, PolyCollection) for ax in fan.axes for c in ax.collections)
    assert [t.get_text() for t in fan.legends[0].get_texts()] == ["the one replicate's path"]
    places = plots.figure_districts(one)
    assert places is not None and "The one replicate" in [ax.get_title() for ax in places.axes]

    summary, ts, events = make_frames(n=2, weeks=6)
    two = load_run(save_run(tmp_path / "two", summary, ts, events))
    hist = plots.figure_outcome_histograms(two)
    assert (
        hist is not None and "2 replicates (fewer than 20: rough intervals)" in hist.get_suptitle()
    )
    grievance = next(ax for ax in hist.axes if ax.get_title().startswith("Grievance"))
    assert not grievance.get_lines()[1:]  # the median only: no density curve
    assert grievance.get_xlabel().endswith("(2 replicates: too few for a density curve)")
    assert "kernel density estimate" not in [t.get_text() for t in hist.legends[0].get_texts()]


def test_the_target_mix_names_each_targets_share_of_attacks(
    tmp_path: Path, make_frames, save_run
) -> None:
    """A stranger's review: attacks on Chinese nationals, 1.5% of the baseline's stack, were
    an unreadable sliver; the legend now gives each target's share of the run's attacks."""
    summary, ts, events = make_frames(n=6, weeks=5)
    fig = plots.figure_target_mix(load_run(save_run(tmp_path / "r", summary, ts, events)))
    assert fig is not None
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    share = events["target"].value_counts(normalize=True)
    assert labels == [
        f"Chinese nationals ({share['chinese']:.1%})",
        f"security forces ({share['security']:.1%})",
        f"CPEC infrastructure ({share['infrastructure']:.1%})",
    ]
