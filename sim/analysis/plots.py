"""Figures of one run: outcome distributions, fan charts, attack severity, targets, districts.

Every figure is built by a function ``Run -> Figure | None`` (None when the data it needs
are missing) and :func:`plot_run` writes them all as PNG and SVG into ``run_dir/plots/``.
matplotlib is imported lazily inside the analysis functions (never by the simulation's hot path)
and figures are drawn on the Agg canvas.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis import stats, style
from sim.analysis.runs import (
    EVENTS_FILE,
    SUMMARY_FILE,
    TIMESERIES_FILE,
    ResultsError,
    Run,
    load_run,
    run_label,
)
from sim.files import atomic_write_json, read_json_object, sha256_of

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
        half = 0.5 if _whole_numbers(x) else max(0.05 * abs(lo), 1e-3)
        return np.array([lo - half, hi + half])
    n = int(np.clip(len(np.histogram_bin_edges(x, bins="auto")) - 1, 8, 40))
    if _whole_numbers(x):
        width = max(1.0, float(np.ceil((hi - lo + 1) / n)))
        return np.arange(lo - 0.5, hi + width, width)
    return np.linspace(lo, hi, n + 1)


#: A count taking at most this many distinct values is shown as a histogram only: a kernel
#: density would smooth a few whole numbers into waves between them.
FEW_COUNTS = 10


def _whole_numbers(x: np.ndarray) -> bool:
    return bool(np.all(np.equal(np.mod(x, 1), 0)))


def _interval_text(s: stats.Summary) -> str:
    """The median and the 90% interval as compare's table (and the report's, and the run's
    summary) shows them: the median alone (3,820, not 3,819.5), the interval's ends with the
    same decimals ("0.319–0.340", not "0.319–0.34")."""
    from sim.analysis.numbers import fmt_median_interval

    med, lo, hi = fmt_median_interval(s.median, s.q05, s.q95)
    if s.n == 1:
        return f"one replicate: {med}"
    return f"median {med}, 90% interval {lo}–{hi}"


def replicate_ids(run: Run) -> list[int]:
    """Replicate numbers of a run (from the summary, else 0..n-1)."""
    if "replicate" in run.summary.columns:
        return [int(r) for r in run.summary["replicate"]]
    return list(range(run.replicates))


def _outcome_columns(run: Run) -> list[str]:
    return [c for c in style.OUTCOMES if c in run.summary.columns]


def _grid(n: int, ncols: int) -> tuple[int, int]:
    return math.ceil(n / ncols), ncols


def _hide_unused(axes: np.ndarray, used: int) -> None:
    for ax in axes.ravel()[used:]:
        ax.set_visible(False)


def _mark_interval(ax: Axes, s: stats.Summary) -> None:
    """The median, and the 90% interval behind it (none for one replicate: it has no spread)."""
    if s.n > 1:
        ax.axvspan(s.q05, s.q95, color=style.OKABE_ITO[5], alpha=0.18, lw=0, zorder=0)
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


def figure_outcome_histograms(run: Run) -> Figure | None:
    """Histogram and kernel density of each headline outcome across replicates."""
    cols = _outcome_columns(run)
    if not cols:
        return None
    nrows, ncols = _grid(len(cols), 4)
    fig = style.new_figure(figsize=(14, 2.7 * nrows + 0.6))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    densities = 0
    for ax, col in zip(axes.ravel(), cols, strict=False):
        x = stats.finite(run.summary[col])
        label, unit = style.OUTCOMES[col]
        if x.size == 0:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(label)
            continue
        s = stats.summarise(x)
        _mark_interval(ax, s)
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
        few_counts = _whole_numbers(x) and distinct <= FEW_COUNTS
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
        if few_counts:  # a tick at each value (there were ticks at 0.5, 1.5 ... and -0.45)
            ax.set_xticks(values)
        ax.set_title(f"{label}\n{_interval_text(s)}", fontsize=9.5)
        ax.set_xlabel(f"{label} ({unit}){why}")
    _hide_unused(axes, len(cols))
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[object] = []
    if run.replicates > 1:
        handles.append(Patch(color=style.OKABE_ITO[0], alpha=0.55, label="histogram of replicates"))
    if densities:  # a legend names only what is drawn
        handles.append(
            Line2D([], [], color=style.OKABE_ITO[3], lw=1.6, label="kernel density estimate")
        )
    handles += _legend_handles(run.replicates)
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
    fig.suptitle(f"Outcome distributions at the end of the run — {run.title()}", fontsize=12)
    return fig


def figure_outcome_ecdfs(run: Run) -> Figure | None:
    """Empirical CDF of each headline outcome across replicates."""
    cols = _outcome_columns(run)
    if not cols:
        return None
    nrows, ncols = _grid(len(cols), 4)
    fig = style.new_figure(figsize=(13, 2.6 * nrows + 0.6))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    for ax, col in zip(axes.ravel(), cols, strict=False):
        x = stats.finite(run.summary[col])
        label, unit = style.OUTCOMES[col]
        ax.set_title(label)
        ax.set_xlabel(f"{label} ({unit})")
        ax.set_ylabel("share of replicates ≤ x")
        ax.set_ylim(-0.02, 1.02)
        if x.size == 0:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            continue
        s = stats.summarise(x)
        _mark_interval(ax, s)
        xs, ps = stats.ecdf(x)
        ax.step(np.r_[xs[0], xs], np.r_[0.0, ps], where="post", color=style.OKABE_ITO[0], lw=1.6)
        for level in (0.05, 0.5, 0.95) if run.replicates > 1 else ():  # none for one value
            ax.axhline(level, color="0.5", lw=0.6, ls=":")
        ax.set_title(f"{label}\n{_interval_text(s)}", fontsize=9.5)
    _hide_unused(axes, len(cols))
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=style.OKABE_ITO[0], lw=1.6, label="empirical CDF"),
        *_legend_handles(run.replicates),
    ]
    if run.replicates > 1:
        handles.append(Line2D([], [], color="0.5", lw=0.6, ls=":", label="5%, 50%, 95% levels"))
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
    fig.suptitle(f"Outcome ECDFs at the end of the run — {run.title()}", fontsize=12)
    return fig


def weekly_matrix(timeseries: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Weeks and a replicates x weeks matrix of one weekly metric (NaN where missing)."""
    wide = timeseries.pivot_table(
        index="replicate", columns="week", values=metric, aggfunc="first", dropna=False
    )
    wide = wide.reindex(columns=sorted(wide.columns))
    return wide.columns.to_numpy(dtype=float), wide.to_numpy(dtype=float)


def _fan(ax: Axes, weeks: np.ndarray, matrix: np.ndarray, colour: str, label: str = "") -> None:
    """Median and 50%/90% bands of replicates week by week, and their mean (dashed): for a
    rare count, such as Chinese deaths in a week, every band can be 0 while the mean is not.
    Counts' band edges are values some replicate took."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # no week 1.5
    if matrix.shape[0] == 1:  # one replicate: its path, no bands and no mean to draw
        ax.plot(weeks, matrix[0], color=colour, lw=1.6, label=label or None)
        return
    finite = matrix[np.isfinite(matrix)]
    bands = stats.quantile_bands(matrix, whole=bool(np.all(finite == np.round(finite))))
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


def figure_fan_violence(run: Run) -> Figure | None:
    """Fan charts of attacks, Chinese deaths, fighters and all deaths by week."""
    ts = run.timeseries
    panels = [p for p in _FAN_VIOLENCE if p[0] in ts.columns]
    if not panels:
        return None
    fig = style.new_figure(figsize=(12, 9.5))
    axes = fig.subplots(3, 2, squeeze=False, sharex=True)
    colour = style.OKABE_ITO[0]
    for ax, (metric, title, ylabel, cumulative) in zip(axes.ravel(), panels, strict=False):
        weeks, m = weekly_matrix(ts, metric)
        if cumulative:
            m = np.nancumsum(m, axis=1)
        _fan(ax, weeks, m, colour)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if metric != "fighters":  # flows and totals from zero; the stock of fighters zoomed
            ax.set_ylim(bottom=0)
    _hide_unused(axes, len(panels))
    for ax in axes[-1]:
        ax.set_xlabel("week of simulation")
    _fan_legend(fig, colour, run.replicates)
    fig.suptitle(f"Violence over time — {run.title()}", fontsize=12)
    return fig


def figure_fan_politics(run: Run) -> Figure | None:
    """Fan charts of grievance, legitimacy, China's patience, capital and investors."""
    ts = run.timeseries
    if ts.empty:
        return None
    fig = style.new_figure(figsize=(12, 12))
    axes = fig.subplots(4, 2, squeeze=False, sharex=True)
    colour = style.OKABE_ITO[0]
    flat = list(axes.ravel())
    for ax, (metric, title, ylabel, _) in zip(flat, _FAN_POLITICS, strict=False):
        if metric not in ts.columns:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(title)
            continue
        weeks, m = weekly_matrix(ts, metric)
        _fan(ax, weeks, m, colour)
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
    flags = [  # troops on guard at some site (let in but none to send is not on guard)
        ("investment_hold", "China's investment hold", style.OKABE_ITO[1], "-"),
        ("sites_guarded_by_troops", "Chinese troops on guard", style.OKABE_ITO[3], "--"),
        ("joint_operations", "joint operations", style.OKABE_ITO[2], ":"),
    ]
    drawn: dict[str, np.ndarray] = {}
    for metric, name, c, ls in flags:
        if metric in ts.columns:
            weeks, m = weekly_matrix(ts, metric)
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
    _fan_legend(fig, colour, run.replicates)
    fig.suptitle(f"Politics and investment over time — {run.title()}", fontsize=12)
    return fig


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


def figure_severity(run: Run) -> Figure | None:
    """CCDF of deaths per attack (killed >= 1) with a power-law fit and the published α."""
    if not run.has_events or "killed" not in run.events.columns:
        return None
    killed = stats.finite(run.events["killed"])
    killed = killed[killed >= 1]
    fig = style.new_figure(figsize=(8, 6))
    ax = fig.subplots()
    style.log_axes(ax)
    ax.set_xlabel("people killed in one attack, x (log scale)")
    ax.set_ylabel("P(killed ≥ x) among attacks that killed (log scale)")
    title = f"Attack severity — {run.title()}\n{killed.size:,} attacks with at least one death"
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


_TARGETS = ("chinese", "security", "infrastructure")


def target_counts(events: pd.DataFrame, weeks: int, replicates: int) -> pd.DataFrame:
    """Mean attacks per replicate by week (rows 1..weeks) and target (columns)."""
    counts = events.groupby(["week", "target"]).size().unstack("target", fill_value=0)
    counts = counts.reindex(index=range(1, weeks + 1), columns=list(_TARGETS), fill_value=0)
    return counts.fillna(0).astype(float) / max(replicates, 1)


def figure_target_mix(run: Run, window: int = 4) -> Figure | None:
    """What the groups attack, week by week: mean counts and shares of attacks."""
    ev = run.events
    if not run.has_events or ev.empty or "target" not in ev.columns:
        return None
    weeks = run.weeks or int(ev["week"].max())
    counts = target_counts(ev, weeks, run.replicates)
    x = counts.index.to_numpy()
    fig = style.new_figure(figsize=(10, 7.5))
    top, bottom = fig.subplots(2, 1, sharex=True)
    cols = [style.TARGET_COLOURS[t] for t in _TARGETS]
    whole = counts.to_numpy().sum() or 1.0
    names = [  # each target's share of the run's attacks in its label: the Chinese band, the
        # one the seed asks about, is ~1% of the baseline's stack and too thin to read
        f"{name} ({counts[t].sum() / whole:.1%})"
        for t, name in zip(
            _TARGETS, ("Chinese nationals", "security forces", "CPEC infrastructure"), strict=True
        )
    ]
    top.stackplot(
        x, *(counts[t].to_numpy() for t in _TARGETS), colors=cols, alpha=0.85, labels=names
    )
    top.set_ylabel("attacks per week (mean over replicates)")
    top.set_title("Attacks by target")
    top.legend(loc="upper right", frameon=True, framealpha=0.9, ncols=3)
    top.set_ylim(0, counts.sum(axis=1).max() * 1.25 or 1)
    rolled = counts.rolling(window, min_periods=1).sum()
    total = rolled.sum(axis=1).replace(0, np.nan)
    shares = rolled.div(total, axis=0)
    bottom.stackplot(
        x, *(shares[t].fillna(0).to_numpy() for t in _TARGETS), colors=cols, alpha=0.85
    )
    bottom.set_ylim(0, 1)
    bottom.set_ylabel(f"share of attacks ({window}-week rolling)")
    bottom.set_xlabel("week of simulation")
    bottom.set_title("Target mix")
    fig.suptitle(f"What is attacked — {run.title()}", fontsize=12)
    return fig


def district_attacks(events: pd.DataFrame, replicate_ids: list[int]) -> pd.DataFrame:
    """Attacks per replicate by place: mean, 5th and 95th percentile across replicates.

    Rows are the places of ``sim/data/places.csv`` (plus any unknown id found in events);
    replicates without attacks in a place count as zero.
    """
    from sim.space import load_places

    ids = list(load_places().ids)
    if events.empty:
        per = pd.DataFrame(index=ids)
    else:
        per = events.groupby(["district", "replicate"]).size().unstack("replicate", fill_value=0)
        ids += sorted(set(per.index.astype(str)) - set(ids))
    per = per.reindex(index=ids, columns=replicate_ids or [0], fill_value=0)
    reps = per.to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "mean": reps.mean(axis=1),
            "q05": np.quantile(reps, 0.05, axis=1),
            "q95": np.quantile(reps, 0.95, axis=1),
        },
        index=per.index,
    )


def figure_districts(run: Run) -> Figure | None:
    """Attacks by place, drawn on the network laid out by longitude and latitude."""
    from sim.space import load_places

    ev = run.events
    if not run.has_events or "district" not in ev.columns:
        return None
    places = load_places()
    table = district_attacks(ev, replicate_ids(run))
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
    values = np.array([table["mean"].get(pid, 0.0) for pid in places.ids])
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
    order = table.sort_values("mean")
    y = np.arange(len(order))
    bars.barh(y, order["mean"], color=style.OKABE_ITO[0], alpha=0.8)
    if run.replicates > 1:  # one replicate has no interval
        half = (order["q95"] - order["q05"]) / 2  # the interval, drawn about its middle: a
        bars.errorbar(  # skewed count's mean may lie outside it (a rare place in a short run)
            order["q05"] + half, y, xerr=half,
            fmt="none", ecolor="black", elinewidth=0.9, capsize=2,
        )  # fmt: skip
    bars.set_yticks(y, [names.get(str(p), str(p)) for p in order.index])
    bars.set_xlabel("attacks per replicate over the run")
    bars.set_title(
        "Mean with 90% interval across replicates" if run.replicates > 1 else "The one replicate"
    )
    bars.grid(axis="y", visible=False)
    fig.suptitle(f"Attacks by place — {run.title()}", fontsize=12)
    return fig


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

#: Every run figure: file stem -> builder.
RUN_FIGURES: dict[str, Callable[[Run], Figure | None]] = {
    "outcomes_histograms": figure_outcome_histograms,
    "outcomes_ecdf": figure_outcome_ecdfs,
    "fan_violence": figure_fan_violence,
    "fan_politics": figure_fan_politics,
    "severity_ccdf": figure_severity,
    "target_mix": figure_target_mix,
    "attacks_by_place": figure_districts,
}


#: What drew the figures in a run's ``plots/`` (see :func:`drawn_figures`).
DRAWN_FILE = "drawn.json"

#: Resolution of every PNG of a run's figures, in ``plots/`` and in a report alike: a report
#: embeds the stored PNG or draws the same bytes.
FIGURE_DPI: float = float(style.HOUSE_STYLE["savefig.dpi"])

#: Beside ``sim/analysis/*.py``, the sources whose text reaches a figure (the places' names,
#: positions and links drawn by ``attacks_by_place``), relative to the ``sim`` package.
_OTHER_DRAWING_SOURCES = ("space.py", "data/places.csv", "data/edges.csv")

#: Packages whose code decides a figure's bytes (fonts and rendering, numbers, fits, PNG
#: encoding): distribution name -> the module that holds its ``__version__``.
_DRAWING_PACKAGES = {
    "matplotlib": "matplotlib",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "pillow": "PIL",
    "powerlaw": "powerlaw._version",
}


def _version(package: str) -> str:
    """The installed version of one of :data:`_DRAWING_PACKAGES`, from its distribution's
    record, without importing it (the module's ``__version__`` is the same: tested).
    Importing them cost ``cpec-sim plot``'s main process ~0.06 s as it finished (Matplotlib,
    which only its workers had imported); powerlaw's import costs half a second. A package
    without a record (a copy on the path) is imported and asked."""
    import importlib
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return str(importlib.import_module(_DRAWING_PACKAGES[package]).__version__)


def drawing_sources() -> list[Path]:
    """Every file whose text decides how results are drawn: all of ``sim/analysis``'s
    modules and :data:`_OTHER_DRAWING_SOURCES`."""
    package = Path(__file__).resolve().parent.parent
    analysis = sorted((package / "analysis").glob("*.py"))
    return analysis + [package / name for name in _OTHER_DRAWING_SOURCES]


@functools.cache
def drawing_fingerprint() -> str:
    """Hash of :func:`drawing_sources` and of the versions of Python, cpec-sim and
    :data:`_DRAWING_PACKAGES`: it changes whenever the same results might be drawn
    differently."""
    import sys

    from sim import __version__

    versions = [f"python {sys.version_info[0]}.{sys.version_info[1]}", f"cpec-sim {__version__}"]
    versions += [f"{name} {_version(name)}" for name in _DRAWING_PACKAGES]
    digest = hashlib.sha256("\n".join(versions).encode())
    package = Path(__file__).resolve().parent.parent
    for path in drawing_sources():
        digest.update(f"\n{path.relative_to(package).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def results_checksums(run: Run) -> dict[str, str]:
    """The SHA-256 of each of the run's result files: as its manifest records them (checked
    when the run was loaded), else computed."""
    records = run.manifest.get("files")
    records = records if isinstance(records, dict) else {}
    out = {}
    for name in (SUMMARY_FILE, TIMESERIES_FILE, EVENTS_FILE):
        path = run.path / name
        if path.is_file():
            record = records.get(name)
            known = record.get("sha256") if isinstance(record, dict) else None
            out[name] = str(known) if known else sha256_of(path)
    return out


def _drawn_record(run: Run, files: dict[str, dict[str, str]]) -> dict[str, object]:
    """What ``drawn.json`` says of figures of ``run`` drawn now by this code: what drew them,
    from which results, with which title (label, replicates, weeks, status), at which
    resolution, and the SHA-256 of each file (``{name: {fmt: sha256}}``)."""
    return {
        "fingerprint": drawing_fingerprint(),
        "results": results_checksums(run),
        "title": run.title(),
        "dpi": FIGURE_DPI,
        "figures": files,
    }


def drawn_figures(run: Run) -> dict[str, bytes] | None:
    """The PNG bytes of each figure in the run's ``plots/``, by name, if this code would draw
    them the same now (same results, same title) and every file is as drawn (its SHA-256 the
    recorded one: not replaced by another checkout's, a notebook's or a copied figure); None
    if the record is missing or differs, or a file differs or is gone."""
    folder = run.path / "plots"
    record = read_json_object(folder / DRAWN_FILE)
    if record is None or not isinstance(record.get("figures"), dict):
        return None
    files = record["figures"]
    if record != _drawn_record(run, files):
        return None
    pngs = {}
    for name, checksums in files.items():
        if not isinstance(checksums, dict) or set(checksums) != set(style.FORMATS):
            return None
        for fmt, checksum in checksums.items():
            try:
                data = (folder / f"{name}.{fmt}").read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != checksum:
                return None
            if fmt == "png":
                pngs[str(name)] = data
    return pngs


def figures_up_to_date(run_dir: Path) -> bool:
    """Whether ``run_dir/plots/`` holds the figures :func:`plot_run` would draw now."""
    try:
        run = load_run(Path(run_dir))
    except ResultsError:
        return False
    run.label = run_label(run)
    return drawn_figures(run) is not None


def remove_run_figures(run_dir: Path) -> None:
    """Delete the figures :func:`plot_run` writes and their record, and ``plots/`` if that
    empties it: after a run restarts they draw the earlier run. Any other file there is the
    user's, and kept."""
    folder = Path(run_dir) / "plots"
    (folder / DRAWN_FILE).unlink(missing_ok=True)
    _unlink_figures(folder, RUN_FIGURES)
    with contextlib.suppress(OSError):
        folder.rmdir()


def _unlink_figures(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        for fmt in style.FORMATS:
            (folder / f"{name}.{fmt}").unlink(missing_ok=True)


def run_figures(run: Run) -> Iterator[tuple[str, Figure]]:
    """Build the run's figures one at a time (skipping those without data)."""
    for name, build in RUN_FIGURES.items():
        with style.context():
            fig = build(run)
        if fig is not None:
            yield name, fig


#: The figures in order of drawing cost, largest first, so that workers finish together.
_BY_COST: tuple[str, ...] = (
    "outcomes_histograms",
    "outcomes_ecdf",
    "fan_politics",
    "fan_violence",
    "severity_ccdf",
    "attacks_by_place",
    "target_mix",
)


def by_cost(names: Iterable[str]) -> list[str]:
    """Figure names, the dearest to draw first (so that parallel workers finish together)."""
    names = list(names)
    return [n for n in _BY_COST if n in names] + [n for n in names if n not in _BY_COST]


def render_run_figure(
    run: Run, name: str, formats: tuple[str, ...] = ("png", "svg"), dpi: float | None = None
) -> dict[str, bytes] | None:
    """One of the run's figures rendered in ``formats`` (None when its data are missing)."""
    with style.context():
        fig = RUN_FIGURES[name](run)
    return None if fig is None else style.render(fig, formats, dpi)


def plot_run(run_dir: Path, jobs: int | None = None) -> list[Path]:
    """Write every figure of a run directory into ``run_dir/plots/`` (PNG and SVG), and what
    drew them into ``plots/drawn.json`` (:func:`drawn_figures`).

    Figures are drawn in ``jobs`` processes (default: one per CPU, at most one per figure);
    each is drawn whole by one process, so the files do not depend on ``jobs``.
    """
    from sim.analysis.drawing import RunFigure, draw_figures

    run = load_run(Path(run_dir))
    run.label = run_label(run)
    names = by_cost(RUN_FIGURES)
    tasks = [RunFigure(run.path, run.label, name) for name in names]
    drawn = draw_figures(tasks, style.FORMATS, FIGURE_DPI, jobs=jobs, loaded=[run])
    by_name = dict(zip(names, drawn, strict=True))
    rendered = {name: r for name in RUN_FIGURES if (r := by_name.get(name)) is not None}
    folder = run.path / "plots"
    (folder / DRAWN_FILE).unlink(missing_ok=True)  # until every figure is in place
    paths = style.write_rendered(folder, rendered)
    _unlink_figures(folder, set(RUN_FIGURES) - set(rendered))  # none from the last
    checksums = {
        name: {fmt: hashlib.sha256(data).hexdigest() for fmt, data in by_format.items()}
        for name, by_format in rendered.items()
    }
    atomic_write_json(folder / DRAWN_FILE, _drawn_record(run, checksums))
    return paths
