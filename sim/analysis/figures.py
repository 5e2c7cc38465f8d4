"""How a run's figures are drawn, from arrays: outcome distributions, fan charts, attack
severity, targets, places.

Each figure is drawn by a function ``inputs -> Figure`` from what :mod:`sim.analysis.plots`
reads from a run (one ``NamedTuple`` of arrays per figure). This module imports neither
pandas nor the results' loader, so the processes that draw figures start without them:
``cpec-sim plot``'s main process loads the run and reads each figure's inputs while its
drawing workers start (:mod:`sim.analysis.drawing`). Matplotlib is imported lazily, and
figures are drawn on the Agg canvas.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from sim.analysis import stats, style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_SINGULAR = {
    "people": "person",
    "attacks": "attack",
    "fighters": "fighter",
    "investors": "investor",
    "attempts": "attempt",
    "firms": "firm",
    "USD million": "USD million",
    "index 0-1": "index unit",
}


def fmt(x: float) -> str:
    """Compact number: integers as such, otherwise three significant digits."""
    if x is None or not math.isfinite(x):
        return "–"
    if abs(x - round(x)) < 1e-9 and abs(x) < 1e7:
        return f"{round(x):,}"
    if abs(x - round(x, 1)) < 1e-9 and abs(x) < 1e5:  # a median between two counts: 578.5
        return f"{x:,.1f}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _bins(x: np.ndarray) -> np.ndarray:
    """Histogram bins: numpy's 'auto' rule capped to 8-40 bins; for counts, whole-number
    widths with edges between integers (so no bin straddles two counts unevenly)."""
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:  # one value: a count's bin is one wide, an index's a hair (not -0.1 to 0.9)
        half = 0.5 if stats.is_whole(x) else max(0.05 * abs(lo), 1e-3)
        return np.array([lo - half, hi + half])
    n = int(np.clip(len(np.histogram_bin_edges(x, bins="auto")) - 1, 8, 40))
    if stats.is_whole(x):
        width = max(1.0, float(np.ceil((hi - lo + 1) / n)))
        return np.arange(lo - 0.5, hi + width, width)
    return np.linspace(lo, hi, n + 1)


#: A count taking at most this many distinct values is shown as a histogram only: a kernel
#: density would smooth a few whole numbers into waves between them.
FEW_COUNTS = 10


#: About how many digits fit side by side across an outcome histogram's axis (a quarter of
#: the figure's 14 inches, tick labels at 10 points).
DIGITS_ACROSS_A_PANEL = 40


def _count_ticks(ax: Axes, values: np.ndarray) -> None:
    """Ticks for a count's few values: one at each where their labels fit side by side, else
    at round whole numbers (helper-171: 16 and 17 ran together as "1617" on a panel of values
    1 to 17; helper-172: 3306 and 3307 on one of 3304 to 3312)."""
    from matplotlib.ticker import MaxNLocator

    gap = float(np.diff(values).min()) if values.size > 1 else 1.0
    digits = max(len(str(abs(int(v)))) + (v < 0) for v in values)
    if gap / (float(np.ptp(values)) + 1.0) * DIGITS_ACROSS_A_PANEL >= digits + 1:
        ax.set_xticks(values)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))


def _interval_text(s: stats.Summary) -> str:
    """The median and the 90% interval as compare's table (and the report's, and the run's
    summary) shows them: the median alone (3,820, not 3,819.5), the interval's ends with the
    same decimals ("0.319–0.340", not "0.319–0.34")."""
    from sim.analysis.numbers import fmt_median_interval

    med, lo, hi = fmt_median_interval(s.median, s.q05, s.q95)
    if s.n == 1:
        return f"one replicate: {med}"
    return f"median {med}, 90% interval {lo}–{hi}"


def _grid(n: int, ncols: int) -> tuple[int, int]:
    return math.ceil(n / ncols), ncols


def _hide_unused(axes: np.ndarray, used: int) -> None:
    for ax in axes.ravel()[used:]:
        ax.set_visible(False)


def _mark_interval(ax: Axes, s: stats.Summary, half: float = 0.0) -> None:
    """The median, and the 90% interval behind it (none for one replicate: it has no spread),
    ``half`` wider at each end: a count's value k stands for [k - 0.5, k + 0.5] (its bar, where
    bars are one wide), so a count's interval shades its end values whole, not half of each."""
    if s.n > 1:
        low, high = s.q05 - half, s.q95 + half
        ax.axvspan(low, high, color=style.OKABE_ITO[5], alpha=0.18, lw=0, zorder=0)
    ax.axvline(s.median, color="black", lw=1.4, zorder=3)


def _legend_handles(replicates: int) -> list[object]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if replicates == 1:
        return [Line2D([], [], color="black", lw=1.4, label="the one replicate's value")]
    return [
        Line2D([], [], color="black", lw=1.4, label="median"),
        Patch(color=style.OKABE_ITO[5], alpha=0.35, label="90% interval (5th–95th percentile)"),
    ]


#: Fewer replicates than this get no density curve: a kernel density of a handful of values
#: draws its bandwidth's bumps, not a distribution (a reviewer's run of 2 drew two).
MIN_REPLICATES_FOR_DENSITY = 10


#: Outcomes with a ceiling that replicates pile up against (capital cannot exceed what was
#: committed; legitimacy recovers towards its start): their density is reflected at the
#: largest replicate.
CEILING_OUTCOMES = ("capital_deployed_final", "legitimacy_final", "china_patience_final")


def _fan(
    ax: Axes,
    weeks: np.ndarray,
    matrix: np.ndarray,
    colour: str,
    label: str = "",
    counts: bool = True,
) -> None:
    """Median and 50%/90% bands of replicates week by week, and their mean (dashed): for a
    rare count, such as Chinese deaths in a week, every band can be 0 while the mean is not.
    Counts' band edges are values some replicate took."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # no week 1.5
    if matrix.shape[0] == 1:  # one replicate: its path, no bands and no mean to draw
        ax.plot(weeks, matrix[0], color=colour, lw=1.6, label=label or None)
        return
    finite = matrix[np.isfinite(matrix)]
    bands = stats.quantile_bands(matrix, whole=counts and stats.is_whole(finite))
    ax.fill_between(weeks, bands[0.05], bands[0.95], color=colour, alpha=0.18, lw=0)
    ax.fill_between(weeks, bands[0.25], bands[0.75], color=colour, alpha=0.38, lw=0)
    ax.plot(weeks, bands[0.5], color=colour, lw=1.6, label=label or None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # weeks no replicate reached
        mean = np.nanmean(matrix, axis=0)
    ax.plot(weeks, mean, color=_MEAN_COLOUR, lw=1.0, ls="--")


_MEAN_COLOUR = "0.15"


#: Fan-chart panels: (metric, title, y label, cumulative?)
_FAN_VIOLENCE: tuple[tuple[str, str, str, bool], ...] = (
    ("attacks", "Attacks per week", "attacks per week", False),
    ("attacks", "Attacks, cumulative", "attacks since start", True),
    ("chinese_killed", "Chinese nationals killed per week", "people per week", False),
    ("chinese_killed", "Chinese nationals killed, cumulative", "people since start", True),
    ("fighters", "Militant fighters", "fighters", False),
    ("killed", "All killed in attacks per week", "people per week", False),
)

_FAN_POLITICS: tuple[tuple[str, str, str, bool], ...] = (
    ("grievance", "Grievance (Balochistan, population-weighted)", "index 0-1", False),
    ("legitimacy", "State legitimacy (Balochistan, population-weighted)", "index 0-1", False),
    ("china_patience", "China's patience", "index 0-1 (1 = full patience)", False),
    ("capital_deployed", "Capital deployed by investors", "USD million", False),
    ("investors_active", "Investors active", "investors", False),
    ("investors_paused", "Investors paused or not yet started", "investors", False),
    ("investors_withdrawn", "Investors withdrawn (cumulative)", "investors", False),
)

_INDEX_METRICS = ("grievance", "legitimacy", "china_patience")


def _fan_legend(fig: Figure, colour: str, replicates: int) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if replicates == 1:
        line = Line2D([], [], color=colour, lw=1.6, label="the one replicate's path")
        fig.legend(handles=[line], loc="outside lower center", frameon=False)
        return
    handles = [
        Line2D([], [], color=colour, lw=1.6, label="median of replicates"),
        Patch(color=colour, alpha=0.45, label="50% band (25th–75th percentile)"),
        Patch(color=colour, alpha=0.2, label="90% band (5th–95th percentile)"),
        Line2D([], [], color=_MEAN_COLOUR, lw=1.0, ls="--", label="mean of replicates"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)


def _pl_verdict(fit: stats.PowerLawFit) -> str:
    if not math.isfinite(fit.p) or fit.p >= 0.1:
        return "no significant preference"
    return "power law favoured" if fit.R > 0 else "lognormal favoured"


def _cutoff_verdict(fit: stats.PowerLawFit) -> str:
    if not math.isfinite(fit.cutoff_p):
        return f"not tested: fewer than {stats.MIN_CUTOFF_TAIL:,} attacks in the tail"
    if fit.cutoff_p >= stats.CUTOFF_LEVEL:  # its p runs small: 6-9% below 0.05 on pure laws
        return f"no clear sign that the tail bends down (p ≥ {stats.CUTOFF_LEVEL})"
    return f"the tail bends down: cutoff favoured, scale ~{1 / fit.cutoff_rate:.0f} killed"


TARGETS = ("chinese", "security", "infrastructure")


def _marker_area(values: np.ndarray, vmax: float) -> np.ndarray:
    """Marker areas (points squared) in proportion to ``values``, the largest 500; a place
    without attacks keeps a dot of 12 so that it stays on the map."""
    return np.maximum(500.0 * values / vmax, 12.0)


def _size_references(vmax: float) -> list[float]:
    """Two or three round values up to ``vmax`` for the marker-size legend."""
    top = float(f"{vmax:.1g}")
    top = top if top <= vmax else float(f"{vmax * 0.5:.1g}")
    return [v for v in (top / 4, top / 2, top) if v > 0] if top > 0 else []


#: Side of its marker on which each place's name goes (chosen so that labels do not collide).
_LABEL_SIDE: dict[str, str | tuple[float, float]] = {
    "quetta": "n",
    "mastung": (-30.0, 22.0),
    "noshki": "w",
    "kalat": (-22.0, -20.0),
    "bolan": "e",
    "dera_bugti": "s",
    "kohlu": "n",
    "chagai": "n",
    "saravan": "w",
    "gwadar": "s",
    "dasu": "w",
    "rashakai": "w",
}

_DIRECTIONS: dict[str, tuple[float, float]] = {
    "n": (0.0, 1.0),
    "s": (0.0, -1.0),
    "e": (1.0, 0.0),
    "w": (-1.0, 0.0),
    "ne": (0.7, 0.7),
    "nw": (-0.7, 0.7),
    "se": (0.7, -0.7),
    "sw": (-0.7, -0.7),
}


# --- what each figure reads from a run -----------------------------------------------------
class Outcomes(NamedTuple):
    """The outcome figures' inputs: each headline outcome's finite values across replicates,
    by summary column in :data:`style.OUTCOMES` order (the run's columns only)."""

    title: str
    replicates: int
    values: dict[str, np.ndarray]


class Weekly(NamedTuple):
    """A fan chart's inputs: weeks and a replicates x weeks matrix of each weekly metric the
    run recorded (:func:`sim.analysis.plots.weekly_matrix`)."""

    title: str
    replicates: int
    metrics: dict[str, tuple[np.ndarray, np.ndarray]]


class Severity(NamedTuple):
    """The severity figure's inputs: the deaths of every attack that killed, pooled."""

    title: str
    killed: np.ndarray


class TargetMix(NamedTuple):
    """The target figure's inputs, by target in :data:`TARGETS` order: mean attacks per
    replicate by week, each target's share of all attacks, the highest weekly total, and the
    shares of the ``window``-week rolling sums (0 where there were none)."""

    title: str
    weeks: np.ndarray
    counts: tuple[np.ndarray, ...]
    share_of_all: tuple[float, ...]
    highest_week: float
    shares: tuple[np.ndarray, ...]
    window: int


class Places(NamedTuple):
    """The places figure's inputs: mean attacks per replicate at each place of
    ``load_places()``, in its order; and every place (any other that attacks name too), fewest
    attacks first, with the mean and the 5th and 95th percentiles across replicates
    (:func:`sim.analysis.plots.district_attacks`)."""

    title: str
    replicates: int
    at_places: np.ndarray
    ids: list[str]
    mean: np.ndarray
    q05: np.ndarray
    q95: np.ndarray


# --- drawing ---------------------------------------------------------------------------------
def draw_outcome_histograms(inputs: Outcomes) -> Figure | None:
    """Histogram and kernel density of each headline outcome across replicates."""
    cols = list(inputs.values)
    if not cols:
        return None
    replicates = inputs.replicates
    nrows, ncols = _grid(len(cols), 4)
    fig = style.new_figure(figsize=(14, 2.7 * nrows + 0.6))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    densities = 0
    for ax, col in zip(axes.ravel(), cols, strict=False):
        x = inputs.values[col]
        label, unit = style.OUTCOMES[col]
        if x.size == 0:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(label)
            continue
        counts = col not in stats.NOT_COUNTS
        s = stats.summarise(x, counts=counts)
        _mark_interval(ax, s, half=0.5 if counts and stats.is_whole(x) else 0.0)  # as s took it
        if x.size > 1:
            ax.hist(x, bins=_bins(x), density=True, color=style.OKABE_ITO[0], alpha=0.55, lw=0)
            ax.set_ylabel(f"density (per {_SINGULAR.get(unit, unit)})")
        else:  # one value alone: a bar of any width would read as a spread
            ax.set_xlim(*_bins(x))
            ax.set_yticks([])
        pad = 0.05 * (np.ptp(x) or 1.0)
        lower = 0.0 if x.min() >= 0 else None  # every headline outcome is >= 0 by nature
        # outcomes with a ceiling pile up below it: reflected at the largest replicate, as at
        # 0, the curve neither spills past it nor sags where the replicates pile up
        upper = float(x.max()) if col in CEILING_OUTCOMES else None
        grid = np.linspace(x.min() - pad if lower is None else max(x.min() - pad, lower),
                           x.max() + (0.0 if upper is not None else pad), 200)  # fmt: skip
        values = np.unique(x)
        distinct = values.size
        few_counts = stats.is_whole(x) and distinct <= FEW_COUNTS
        too_few = x.size < MIN_REPLICATES_FOR_DENSITY
        dens = None if few_counts or too_few else stats.kde_curve(x, grid, lower, upper)
        why = ""
        if dens is not None:
            ax.plot(grid, dens, color=style.OKABE_ITO[3], lw=1.6)
            densities += 1
        else:  # said under the axis: inside it, the note ran over the bars and the median
            why = (
                "\n(one value: no density curve)"
                if np.ptp(x) == 0
                else f"\n({x.size} replicates: too few for a density curve)"
                if too_few
                else f"\n({distinct} distinct values: no density curve)"
                if few_counts
                else "\n(too few values for a density curve)"
            )
        if few_counts:  # whole numbers (there were ticks at 0.5, 1.5 ... and -0.45)
            _count_ticks(ax, values)
        else:
            style.whole_number_ticks(ax.xaxis, x)
        ax.set_title(f"{label}\n{_interval_text(s)}", fontsize=9.5)
        ax.set_xlabel(f"{label} ({unit}){why}")
    _hide_unused(axes, len(cols))
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[object] = []
    if replicates > 1:
        handles.append(Patch(color=style.OKABE_ITO[0], alpha=0.55, label="histogram of replicates"))
    if densities:  # a legend names only what is drawn
        handles.append(
            Line2D([], [], color=style.OKABE_ITO[3], lw=1.6, label="kernel density estimate")
        )
    handles += _legend_handles(replicates)
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
    fig.suptitle(f"Outcome distributions at the end of the run — {inputs.title}", fontsize=12)
    return fig


def draw_outcome_ecdfs(inputs: Outcomes) -> Figure | None:
    """Empirical CDF of each headline outcome across replicates."""
    cols = list(inputs.values)
    if not cols:
        return None
    nrows, ncols = _grid(len(cols), 4)
    fig = style.new_figure(figsize=(13, 2.6 * nrows + 0.6))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    for ax, col in zip(axes.ravel(), cols, strict=False):
        x = inputs.values[col]
        label, unit = style.OUTCOMES[col]
        ax.set_title(label)
        ax.set_xlabel(f"{label} ({unit})")
        ax.set_ylabel("share of replicates ≤ x")
        ax.set_ylim(-0.02, 1.02)
        if x.size == 0:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            continue
        s = stats.summarise(x, counts=col not in stats.NOT_COUNTS)
        _mark_interval(ax, s)
        xs, ps = stats.ecdf(x)
        ax.step(np.r_[xs[0], xs], np.r_[0.0, ps], where="post", color=style.OKABE_ITO[0], lw=1.6)
        style.whole_number_ticks(ax.xaxis, x)
        for level in (0.05, 0.5, 0.95) if inputs.replicates > 1 else ():  # none for one value
            ax.axhline(level, color="0.5", lw=0.6, ls=":")
        ax.set_title(f"{label}\n{_interval_text(s)}", fontsize=9.5)
    _hide_unused(axes, len(cols))
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=style.OKABE_ITO[0], lw=1.6, label="empirical CDF"),
        *_legend_handles(inputs.replicates),
    ]
    if inputs.replicates > 1:
        handles.append(Line2D([], [], color="0.5", lw=0.6, ls=":", label="5%, 50%, 95% levels"))
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
    fig.suptitle(f"Outcome ECDFs at the end of the run — {inputs.title}", fontsize=12)
    return fig


def draw_fan_violence(inputs: Weekly) -> Figure | None:
    """Fan charts of attacks, Chinese deaths, fighters and all deaths by week."""
    panels = [p for p in _FAN_VIOLENCE if p[0] in inputs.metrics]
    if not panels:
        return None
    fig = style.new_figure(figsize=(12, 9.5))
    axes = fig.subplots(3, 2, squeeze=False, sharex=True)
    colour = style.OKABE_ITO[0]
    for ax, (metric, title, ylabel, cumulative) in zip(axes.ravel(), panels, strict=False):
        weeks, m = inputs.metrics[metric]
        if cumulative:
            m = np.nancumsum(m, axis=1)
        _fan(ax, weeks, m, colour, counts=metric not in stats.NOT_COUNTS)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if metric != "fighters":  # flows and totals from zero; the stock of fighters zoomed
            ax.set_ylim(bottom=0)
    _hide_unused(axes, len(panels))
    for ax in axes[-1]:
        ax.set_xlabel("week of simulation")
    _fan_legend(fig, colour, inputs.replicates)
    fig.suptitle(f"Violence over time — {inputs.title}", fontsize=12)
    return fig


def draw_fan_politics(inputs: Weekly) -> Figure:
    """Fan charts of grievance, legitimacy, China's patience, capital and investors."""
    fig = style.new_figure(figsize=(12, 12))
    axes = fig.subplots(4, 2, squeeze=False, sharex=True)
    colour = style.OKABE_ITO[0]
    flat = list(axes.ravel())
    for ax, (metric, title, ylabel, _) in zip(flat, _FAN_POLITICS, strict=False):
        if metric not in inputs.metrics:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(title)
            continue
        weeks, m = inputs.metrics[metric]
        _fan(ax, weeks, m, colour, counts=metric not in stats.NOT_COUNTS)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if metric in _INDEX_METRICS:  # zoom in, but stay within the index's 0-1 range
            lo, hi = float(np.nanmin(m)), float(np.nanmax(m))
            pad = max(0.1 * (hi - lo), 0.01)
            ax.set_ylim(max(0.0, lo - pad), min(1.0, hi + pad))
        else:
            ax.set_ylim(bottom=0)
        if metric.startswith("investors_"):  # whole investors only
            from matplotlib.ticker import MaxNLocator

            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax = flat[len(_FAN_POLITICS)]
    drawn: dict[str, np.ndarray] = {}
    for metric, name, c, ls in _POLICY_FLAGS:
        if metric in inputs.metrics:
            weeks, m = inputs.metrics[metric]
            share = np.nanmean(m > 0, axis=0)
            same = [n for n, other in drawn.items() if np.array_equal(share, other)]
            label = f"{name} (same as {same[0]} every week)" if same else name
            ax.plot(weeks, share, color=c, ls=ls, lw=1.8, label=label)
            drawn[name] = share
    ax.set_title("Policies in force (lines, not fans)")
    ax.set_ylabel("share of replicates")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best", frameon=False)
    for ax in axes[-1]:
        ax.set_xlabel("week of simulation")
    _fan_legend(fig, colour, inputs.replicates)
    fig.suptitle(f"Politics and investment over time — {inputs.title}", fontsize=12)
    return fig


#: The politics figure's last panel: metric, name, colour and line style of each policy, drawn
#: as the share of replicates with it in force (troops on guard at some site: let in but none
#: to send is not on guard).
_POLICY_FLAGS: tuple[tuple[str, str, str, str], ...] = (
    ("investment_hold", "China's investment hold", style.OKABE_ITO[1], "-"),
    ("sites_guarded_by_troops", "Chinese troops on guard", style.OKABE_ITO[3], "--"),
    ("joint_operations", "joint operations", style.OKABE_ITO[2], ":"),
)

#: The weekly metrics each fan-chart figure draws (what :mod:`sim.analysis.plots` reads for
#: it), each once.
VIOLENCE_METRICS: tuple[str, ...] = tuple(dict.fromkeys(p[0] for p in _FAN_VIOLENCE))
POLITICS_METRICS: tuple[str, ...] = tuple(
    dict.fromkeys([*(p[0] for p in _FAN_POLITICS), *(f[0] for f in _POLICY_FLAGS)])
)


def draw_severity(inputs: Severity) -> Figure:
    """CCDF of deaths per attack (killed >= 1) with a power-law fit and the published α."""
    killed = inputs.killed
    fig = style.new_figure(figsize=(8, 6))
    ax = fig.subplots()
    style.log_axes(ax)
    ax.set_xlabel("people killed in one attack, x (log scale)")
    ax.set_ylabel("P(killed ≥ x) among attacks that killed (log scale)")
    title = f"Attack severity — {inputs.title}\n{killed.size:,} attacks with at least one death"
    ax.set_title(title + " (pooled over replicates)")
    if killed.size == 0:
        ax.text(
            0.5, 0.5, "no attack killed anyone", ha="center", va="center", transform=ax.transAxes
        )
        return fig
    xs, ps = stats.ccdf(killed)
    ax.plot(xs, ps, "o", ms=3.5, color=style.OKABE_ITO[0], alpha=0.8, label="simulated attacks")
    fit = stats.fit_power_law(killed, discrete=True)
    if fit is None:
        ax.text(
            0.03, 0.03, "too few attacks for a power-law fit", transform=ax.transAxes, fontsize=9
        )
        ax.legend(loc="upper right", frameon=False)
        return fig
    tail = fit.n_tail / fit.n
    xline = np.geomspace(fit.xmin, max(xs.max(), fit.xmin * 1.5), 100)
    lo, hi = stats.PUBLISHED_ALPHA
    ax.fill_between(
        xline,
        stats.power_law_ccdf(xline, hi, fit.xmin, tail, fit.discrete),
        stats.power_law_ccdf(xline, lo, fit.xmin, tail, fit.discrete),
        color=style.OKABE_ITO[5],
        alpha=0.35,
        lw=0,
        label=f"published α = {(lo + hi) / 2:g} ± {(hi - lo) / 2:g} (Clauset & Wiegel 2010; "
        "2.5 in insurgencies, Bohorquez et al. 2009)",
    )
    ax.plot(
        xline,
        stats.power_law_ccdf(xline, fit.alpha, fit.xmin, tail, fit.discrete),
        color=style.OKABE_ITO[3],
        lw=2,
        label=f"power-law fit above x_min: α = {fit.alpha:.2f} ± {fit.sigma:.2f} (the pooled "
        "attacks' standard error)",
    )
    ax.axvline(
        fit.xmin, color="0.4", lw=0.8, ls="--", label=f"x_min = {fmt(fit.xmin)} (tail starts)"
    )
    ax.legend(loc="lower left", frameon=False, fontsize=8.5)
    note = (
        f"tail: {fit.n_tail:,} of {fit.n:,} attacks (x ≥ x_min)\n"
        f"power law vs lognormal: R = {fit.R:.2f}, p = {fit.p:.2g}\n"
        f"({_pl_verdict(fit)}; R > 0 favours the power law)\n"
        + (
            f"power law vs one with a cutoff: LR = {fit.cutoff_lr:.1f}, p = {fit.cutoff_p:.2g}\n"
            if math.isfinite(fit.cutoff_p)
            else "power law vs one with a cutoff: "
        )
        + f"({_cutoff_verdict(fit)})"
    )
    ax.text(
        0.98, 0.98, note, ha="right", va="top", transform=ax.transAxes, fontsize=8.5,
        bbox={"boxstyle": "round", "fc": "white", "ec": "0.8"},
    )  # fmt: skip
    return fig


def draw_target_mix(inputs: TargetMix) -> Figure:
    """What the groups attack, week by week: mean counts and shares of attacks."""
    x = inputs.weeks
    fig = style.new_figure(figsize=(10, 7.5))
    top, bottom = fig.subplots(2, 1, sharex=True)
    cols = [style.TARGET_COLOURS[t] for t in TARGETS]
    names = [  # each target's share of the run's attacks in its label: the Chinese band, the
        # one the seed asks about, is ~1% of the baseline's stack and too thin to read
        f"{name} ({share:.1%})"
        for share, name in zip(
            inputs.share_of_all,
            ("Chinese nationals", "security forces", "CPEC infrastructure"),
            strict=True,
        )
    ]
    top.stackplot(x, *inputs.counts, colors=cols, alpha=0.85, labels=names)
    top.set_ylabel("attacks per week (mean over replicates)")
    top.set_title("Attacks by target")
    top.legend(loc="upper right", frameon=True, framealpha=0.9, ncols=3)
    top.set_ylim(0, inputs.highest_week * 1.25 or 1)
    bottom.stackplot(x, *inputs.shares, colors=cols, alpha=0.85)
    bottom.set_ylim(0, 1)
    bottom.set_ylabel(f"share of attacks ({inputs.window}-week rolling)")
    bottom.set_xlabel("week of simulation")
    bottom.set_title("Target mix")
    fig.suptitle(f"What is attacked — {inputs.title}", fontsize=12)
    return fig


def draw_places(inputs: Places) -> Figure:
    """Attacks by place, drawn on the network laid out by longitude and latitude."""
    from sim.space import load_places

    places = load_places()
    fig = style.new_figure(figsize=(14, 8.5))
    gs = fig.add_gridspec(1, 2, width_ratios=[1.5, 1])
    ax = fig.add_subplot(gs[0])
    bars = fig.add_subplot(gs[1])
    pos = {pid: (places.lon[i], places.lat[i]) for i, pid in enumerate(places.ids)}
    edge_style = {
        "road": ("0.55", "-"),
        "border": (style.OKABE_ITO[4], "--"),
        "coastal highway": (style.OKABE_ITO[2], "-."),
        "national transport": ("0.25", ":"),
    }
    seen_kinds: set[str] = set()
    for a, b, kind in places.edges:
        colour, ls = edge_style.get(kind, ("0.3", (0, (5, 1, 1, 1))))
        label = None if kind in seen_kinds else f"{kind} link"
        seen_kinds.add(kind)
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.plot([xa, xb], [ya, yb], color=colour, ls=ls, lw=1.2, zorder=1, label=label)
    values = inputs.at_places
    vmax = max(values.max(), 1e-9)
    sizes = _marker_area(values, vmax)  # area in proportion to attacks (a square root
    # understated differences: 17 times the attacks drew 3.6 times the area)
    import matplotlib as mpl

    cmap = mpl.colormaps["cividis"]
    sc = ax.scatter(
        places.lon, places.lat, s=sizes, c=values, cmap=cmap, vmin=0, vmax=vmax,
        edgecolors="black", linewidths=0.6, zorder=3,
    )  # fmt: skip
    cb = fig.colorbar(sc, ax=ax, shrink=0.7, pad=0.01)
    cb.set_label("attacks per replicate over the run (mean)")
    for i, pid in enumerate(places.ids):
        side = _LABEL_SIDE.get(pid, "e")
        gap = math.sqrt(sizes[i]) / 2 + 3  # marker radius in points, plus a margin
        if isinstance(side, str):
            ux, uy = _DIRECTIONS[side]
            dx, dy, arrow = ux * gap, uy * gap, None
        else:  # explicit offset in points, with a leader line
            dx, dy = side
            arrow = {"arrowstyle": "-", "color": "0.4", "lw": 0.6, "shrinkB": gap}
        ax.annotate(
            places.names[i], (places.lon[i], places.lat[i]),
            xytext=(dx, dy), textcoords="offset points", fontsize=8,
            ha={-1: "right", 0: "center", 1: "left"}[int(np.sign(dx))],
            va={-1: "top", 0: "center", 1: "bottom"}[int(np.sign(dy))], zorder=4,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6},
            arrowprops=arrow,
        )  # fmt: skip
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_aspect(1 / math.cos(math.radians(float(np.mean(places.lat)))))
    ax.margins(0.12)
    links = ax.legend(loc="upper left", frameon=True, framealpha=0.9, fontsize=8)
    ax.add_artist(links)
    refs = _size_references(vmax)
    handles = [
        ax.scatter([], [], s=float(_marker_area(np.array([v]), vmax)[0]), c="white",
                   edgecolors="black", linewidths=0.6, label=f"{v:g}")
        for v in refs
    ]  # fmt: skip
    ax.legend(
        handles=handles, title="attacks per replicate", loc="lower right", frameon=True,
        framealpha=0.9, fontsize=8, title_fontsize=8, labelspacing=1.3, borderpad=0.9,
    )  # fmt: skip
    ax.set_title("Network of places (marker area and colour: attacks per replicate)")
    names = dict(zip(places.ids, places.names, strict=True))
    y = np.arange(len(inputs.ids))
    bars.barh(y, inputs.mean, color=style.OKABE_ITO[0], alpha=0.8)
    if inputs.replicates > 1:  # one replicate has no interval
        half = (inputs.q95 - inputs.q05) / 2  # the interval, drawn about its middle: a
        bars.errorbar(  # skewed count's mean may lie outside it (a rare place in a short run)
            inputs.q05 + half, y, xerr=half,
            fmt="none", ecolor="black", elinewidth=0.9, capsize=2,
        )  # fmt: skip
    bars.set_yticks(y, [names.get(str(p), str(p)) for p in inputs.ids])
    bars.set_xlabel("attacks per replicate over the run")
    bars.set_title(
        "Mean with 90% interval across replicates" if inputs.replicates > 1 else "The one replicate"
    )
    bars.grid(axis="y", visible=False)
    fig.suptitle(f"Attacks by place — {inputs.title}", fontsize=12)
    return fig


#: How each run figure is drawn from its inputs: file stem -> drawing function.
DRAWERS: dict[str, Callable[[Any], Figure | None]] = {
    "outcomes_histograms": draw_outcome_histograms,
    "outcomes_ecdf": draw_outcome_ecdfs,
    "fan_violence": draw_fan_violence,
    "fan_politics": draw_fan_politics,
    "severity_ccdf": draw_severity,
    "target_mix": draw_target_mix,
    "attacks_by_place": draw_places,
}


def render_figure(
    name: str, inputs: Any, formats: tuple[str, ...] = ("png", "svg"), dpi: float | None = None
) -> dict[str, bytes] | None:
    """Run figure ``name`` drawn from ``inputs`` and rendered in ``formats`` (None when it
    has nothing to draw)."""
    with style.context():
        fig = DRAWERS[name](inputs)
    return None if fig is None else style.render(fig, formats, dpi)
