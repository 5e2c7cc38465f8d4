"""The dashboard's pictures, drawn with Matplotlib on the server (no JavaScript, no CDN).

Two views, each a Matplotlib figure built once per model and updated in place every week
(building axes, ticks and labels is most of Matplotlib's cost, so a class can press play
without waiting): :class:`MapView`, the places at their longitude/latitude coloured by
grievance with the last weeks' attacks, and :class:`ChartsView`, small multiples of the
weekly metrics on a fixed horizon. Both are plain Python, testable without a browser.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import patheffects
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.agents.china import LADDER, ladder_thresholds

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sim.dashboard.model import DashboardModel

DPI = 100
RECENT_WEEKS = 4  # attacks drawn on the map
GRIEVANCE_MAX = 0.7  # fixed colour scale, so colours compare across weeks and scenarios
TARGET_STYLE = {  # marker, colour, legend label, base marker area
    "chinese": ("*", "#c1121f", "on Chinese nationals", 170.0),
    "security": ("^", "#1d3557", "on security forces", 45.0),
    "infrastructure": ("D", "#5c5c5c", "on infrastructure (CPEC, state)", 40.0),
}
EDGE_STYLE = {  # kind: linestyle, alpha
    "road": ("-", 0.55),
    "coastal highway": ("-", 0.55),
    "border": ("--", 0.7),
    "national transport": (":", 0.45),
}
# Label offsets (points) where the default (up-right) would collide.
LABEL_OFFSET = {
    "kalat": (-10, -12, "right"),
    "noshki": (-8, 6, "right"),
    "mastung": (-9, -11, "right"),
    "chagai": (-8, 7, "right"),
    "saravan": (-8, 7, "right"),
    "kohlu": (8, 2, "left"),
    "dasu": (-10, 7, "right"),
}
# Sketch of the coast and of the Pakistan-Iran border (lon, lat), for orientation only.
COAST = (
    (61.55, 25.15),
    (62.3, 25.1),
    (63.0, 25.25),
    (64.2, 25.3),
    (64.6, 25.2),
    (65.3, 25.4),
    (66.0, 25.45),
    (66.6, 25.4),
    (66.7, 25.0),
    (67.0, 24.85),
    (67.3, 24.5),
    (67.6, 23.8),
)
IRAN_BORDER = (
    (61.6, 25.2),
    (61.8, 26.2),
    (63.2, 26.6),
    (63.3, 27.1),
    (62.8, 27.3),
    (62.8, 28.25),
    (61.9, 28.6),
    (61.5, 29.0),
    (60.9, 29.85),
)
COLOURS = {
    "attacks": "#f4a582",
    "attacks_mean": "#9c2f10",
    "chinese": "#c1121f",
    "fighters": "#6a4c93",
    "capital": "#2a9d8f",
    "patience": "#264653",
    "grievance": "#bc6c25",
    "legitimacy": "#457b9d",
}
LADDER_SHADES = ("#eef6ec", "#fde2c4", "#f9c0a0", "#f28482")


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _halo(width: float = 3.0) -> list[Any]:
    return [patheffects.withStroke(linewidth=width, foreground="white")]


def current_grievance(model: DashboardModel) -> np.ndarray:
    """Grievance by place (computed from the initial state before the first week)."""
    if model.week and hasattr(model, "grievance"):
        return np.asarray(model.grievance)
    return np.asarray(model.hardship * (1.0 - model.legitimacy))


class MapView:
    """The map of one model: static geography drawn once, places and attacks updated."""

    def __init__(self, model: DashboardModel, width: float = 6.0) -> None:
        places = model.places
        self.fig = Figure(figsize=(width, width * 0.95), dpi=DPI)
        self.fig.subplots_adjust(left=0.07, right=0.98, top=0.98, bottom=0.06)
        ax = self.ax = self.fig.add_subplot()
        ax.set_facecolor("#f7f4ea")
        _draw_geography(ax)
        index = {pid: i for i, pid in enumerate(places.ids)}
        lon, lat = places.lon, places.lat
        for a, b, kind in places.edges:
            style, alpha = EDGE_STYLE.get(kind, ("-", 0.5))
            i, j = index[a], index[b]
            ax.plot([lon[i], lon[j]], [lat[i], lat[j]], style, color="#6b705c", lw=1.2, alpha=alpha)
        self.nodes = ax.scatter(
            lon,
            lat,
            s=90 + 650 * np.sqrt(places.population / places.population.max()),
            c=np.zeros(len(lon)),
            cmap="YlOrBr",
            norm=Normalize(0.0, GRIEVANCE_MAX),
            edgecolors="#444444",
            zorder=3,
        )
        for i, (pid, name) in enumerate(zip(places.ids, places.names, strict=True)):
            dx, dy, ha = LABEL_OFFSET.get(pid, (7, 6, "left"))
            ax.annotate(
                name,
                (lon[i], lat[i]),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                fontsize=9.5,
                zorder=6,
                path_effects=_halo(),
            )
        self.attacks = {
            target: ax.scatter(
                [], [], marker=m, color=c, edgecolors="white", linewidths=0.6, zorder=4 + (m == "*")
            )
            for target, (m, c, _, _) in TARGET_STYLE.items()
        }
        cax = ax.inset_axes((0.64, 0.06, 0.33, 0.022))
        cbar = self.fig.colorbar(self.nodes, cax=cax, orientation="horizontal")
        cbar.ax.set_title("grievance = hardship × (1 − legitimacy)", fontsize=8.5)
        cbar.ax.tick_params(labelsize=7.5)
        ax.legend(
            handles=_legend_handles(),
            loc="upper left",
            fontsize=8,
            title=f"Attacks, last {RECENT_WEEKS} weeks",
            title_fontsize=8.5,
            framealpha=0.9,
        )
        ax.set_xlim(60.6, 74.6)
        ax.set_ylim(23.4, 36.2)
        ax.set_aspect(1.0 / np.cos(np.deg2rad(30.0)))
        ax.tick_params(labelsize=7, colors="#888888")
        for spine in ax.spines.values():
            spine.set_color("#bbbbbb")
        self._jitter = np.random.default_rng(7).normal(0.0, 0.12, (4096, 2))
        self.update(model)

    def update(self, model: DashboardModel) -> Figure:
        """Colour the places and mark the attacks of the last weeks."""
        self.nodes.set_array(current_grievance(model))
        nationals = np.asarray(model.chinese_nationals)
        on_site = nationals > 0
        self.nodes.set_edgecolor(np.where(on_site, "#0077b6", "#444444").tolist())
        self.nodes.set_linewidth(
            np.where(on_site, 1.0 + 0.8 * np.log10(np.maximum(nationals, 1)), 0.8).tolist()
        )
        ev = model.recorder.events
        places = model.places
        first = model.week - RECENT_WEEKS + 1
        rows: dict[str, list[tuple[float, float, float, float]]] = {t: [] for t in self.attacks}
        for i in range(len(ev["week"]) - 1, -1, -1):
            week = ev["week"][i]
            if week < first:
                break
            if ev["interdicted"][i]:
                continue
            p = places.index(ev["district"][i])
            dx, dy = self._jitter[i % len(self._jitter)]
            base = TARGET_STYLE[ev["target"][i]][3]
            size = base + 12.0 * min(ev["killed"][i], 20)
            alpha = 1.0 - 0.2 * (model.week - week)
            rows[ev["target"][i]].append((places.lon[p] + dx, places.lat[p] + dy, size, alpha))
        for target, artist in self.attacks.items():
            data = np.array(rows[target]).reshape(-1, 4)
            artist.set_offsets(data[:, :2])
            artist.set_sizes(data[:, 2])
            artist.set_alpha(None)
            colour = TARGET_STYLE[target][1]
            artist.set_facecolor([(*_rgb(colour), a) for a in data[:, 3]])
        return self.fig


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


def _legend_handles() -> list[Line2D]:
    handles = [
        Line2D([], [], marker=m, color=c, ls="", ms=10 if m == "*" else 7, label=lab)
        for m, c, lab, _ in TARGET_STYLE.values()
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            ms=9,
            mfc="white",
            mec="#0077b6",
            mew=2,
            label="Chinese nationals on site",
        )
    )
    return handles


def _draw_geography(ax: Axes) -> None:
    coast = np.array(COAST)
    sea = np.vstack([coast, [[67.6, 23.0], [60.0, 23.0], [60.0, coast[0, 1]]]])
    ax.fill(sea[:, 0], sea[:, 1], color="#dbe9f4", zorder=0, lw=0)
    ax.plot(coast[:, 0], coast[:, 1], color="#8fb3d1", lw=1.0, zorder=1)
    border = np.array(IRAN_BORDER)
    ax.plot(border[:, 0], border[:, 1], color="#9a8c98", lw=1.5, ls=(0, (6, 3)), zorder=1)
    faint: dict[str, Any] = {"fontsize": 11, "color": "#9a8c98", "style": "italic", "zorder": 1}
    ax.text(61.0, 28.0, "IRAN", **faint)
    ax.text(65.3, 31.4, "PAKISTAN", **faint)
    ax.text(64.3, 24.2, "Arabian Sea", fontsize=10, color="#6f9ccf", style="italic", zorder=1)
    ax.text(67.5, 27.0, "Balochistan", fontsize=10, color="#b08968", style="italic", zorder=1)


class ChartsView:
    """Six small charts of the weekly metrics, weeks 1..now on the model's horizon."""

    def __init__(self, model: DashboardModel, width: float = 8.0) -> None:
        horizon = model.weeks
        self.fig = Figure(figsize=(width, width * 0.56), dpi=DPI)
        self.fig.subplots_adjust(
            left=0.06, right=0.985, top=0.94, bottom=0.09, wspace=0.26, hspace=0.42
        )
        axes = self.fig.subplots(2, 3)
        self.axes = axes
        x = np.arange(1, horizon + 1)
        self.x = x
        zero = np.zeros(horizon)
        ticks = np.linspace(0, horizon, 5).round()

        ax = axes[0, 0]
        edges = np.arange(0.5, horizon + 1.0)
        self.bars_all = ax.stairs(zero, edges, fill=True, color=COLOURS["attacks"], label="all")
        self.bars_cn = ax.stairs(
            zero, edges, fill=True, color=COLOURS["chinese"], label="on Chinese"
        )
        (self.attacks_mean,) = ax.plot([], [], color=COLOURS["attacks_mean"], lw=1.6)
        self.attacks_mean.set_label("4-week mean")
        ax.legend(fontsize=7, loc="upper left", framealpha=0.8)
        (self.chinese,) = axes[0, 1].plot([], [], color=COLOURS["chinese"], lw=2.2)
        (self.fighters,) = axes[0, 2].plot([], [], color=COLOURS["fighters"], lw=2.2)
        (self.capital,) = axes[1, 0].plot([], [], color=COLOURS["capital"], lw=2.2)
        self._ladder(axes[1, 1], model)
        (self.patience,) = axes[1, 1].plot([], [], color=COLOURS["patience"], lw=2.2)
        ax = axes[1, 2]
        (self.grievance,) = ax.plot([], [], color=COLOURS["grievance"], lw=2.2, label="grievance")
        (self.legitimacy,) = ax.plot(
            [], [], color=COLOURS["legitimacy"], lw=2.2, label="legitimacy"
        )
        ax.legend(fontsize=7, loc="upper left", framealpha=0.8)
        ax.set_ylim(0, 1)
        axes[1, 1].set_ylim(0, 1)
        for a in axes.flat:
            a.set_xlim(0, horizon + 1)
            a.set_xticks(ticks)
            a.tick_params(labelsize=8.5)
            a.grid(alpha=0.25, lw=0.6)
            for side in ("top", "right"):
                a.spines[side].set_visible(False)
        for a in axes[1]:
            a.set_xlabel("week", fontsize=8.5, color="#666666")
        self.update(model)

    @staticmethod
    def _ladder(ax: Axes, model: DashboardModel) -> None:
        p = model.params.china
        edges = (1.0, p.pressure_below, p.hold_below, p.demand_below, 0.0)
        # China steps back down only above a threshold plus its hysteresis: between the two
        # the tile keeps the higher step while the line is in the lower band
        for k, threshold in enumerate(ladder_thresholds(p)):
            down = min(1.0, threshold + p.hysteresis)
            ax.axhline(down, color="#888888", lw=0.8, ls="--")
            if k == 0:
                ax.text(1, down + 0.01, "- - a step is left only above", fontsize=6.5,
                        va="bottom", color="#666666")  # fmt: skip
        for k, (name, shade) in enumerate(zip(LADDER, LADDER_SHADES, strict=True)):
            hi, lo = edges[k], edges[k + 1]
            ax.axhspan(lo, hi, color=shade, lw=0)
            if hi - lo > 0.06:
                ax.text(
                    model.weeks * 0.985,
                    (lo + hi) / 2,
                    name,
                    fontsize=6.5,
                    ha="right",
                    va="center",
                    color="#666666",
                )

    def update(self, model: DashboardModel) -> Figure:
        """Draw weeks 1..model.week."""
        n = model.week  # read once: with Mesa's "Use Threads" the model may step meanwhile
        x = self.x[:n]
        weekly = model.recorder.weekly

        def w(metric: str) -> np.ndarray:
            return np.asarray(weekly[metric][:n])

        attacks = w("attacks")
        self.bars_all.set_data(np.pad(attacks, (0, model.weeks - n)))
        self.bars_cn.set_data(np.pad(w("attacks_on_chinese"), (0, model.weeks - n)))
        self.attacks_mean.set_data(x, rolling_mean(attacks, 4))
        chinese = np.cumsum(w("chinese_killed"))
        self.chinese.set_data(x, chinese)
        self.fighters.set_data(x, w("fighters"))
        self.capital.set_data(x, w("capital_deployed"))
        self.patience.set_data(x, w("china_patience"))
        self.grievance.set_data(x, w("grievance"))
        self.legitimacy.set_data(x, w("legitimacy"))

        a = self.axes
        last = lambda v: v[-1] if len(v) else 0.0  # noqa: E731
        a[0, 0].set_ylim(0, max(8.0, 1.15 * float(attacks.max(initial=0))))
        a[0, 1].set_ylim(0, max(5.0, 1.2 * float(last(chinese))))
        fighters = w("fighters")
        a[0, 2].set_ylim(0, max(100.0, 1.2 * float(fighters.max(initial=0))))
        capital = w("capital_deployed")
        a[1, 0].set_ylim(0, max(100.0, 1.2 * float(capital.max(initial=0))))
        total = int(attacks.sum())
        titles = (
            (a[0, 0], f"Attacks per week (total {total})"),
            (a[0, 1], f"Chinese nationals killed: {int(last(chinese))}"),
            (a[0, 2], f"Militant fighters: {int(last(fighters)):,}"),
            (a[1, 0], f"Capital deployed: ${last(capital):,.0f}m"),
            (a[1, 1], f"China's patience: {last(w('china_patience')):.2f}"),
            (a[1, 2], "Grievance and legitimacy"),
        )
        for ax, title in titles:
            ax.set_title(title, fontsize=10.5, loc="left", fontweight="bold", color="#222222")
        return self.fig


def rolling_mean(values: np.ndarray, n: int) -> np.ndarray:
    """Trailing mean over up to ``n`` values (fewer at the start)."""
    if len(values) == 0:
        return np.zeros(0)
    full = np.convolve(values, np.ones(n), mode="full")[: len(values)]
    counts = np.minimum(np.arange(1, len(values) + 1), n)
    return np.asarray(full / counts)


def map_figure(model: DashboardModel) -> Figure:
    """A one-off map of the model as it is now."""
    return MapView(model).fig


def charts_figure(model: DashboardModel) -> Figure:
    """One-off charts of the model as it is now."""
    return ChartsView(model).fig
