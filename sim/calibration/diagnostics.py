"""What a reviewer asks of a calibration: posterior predictive checks against every observed
statistic, which parameters the data identify, the scored hindcast, and their figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pyabc import effective_sample_size

from sim.analysis.stats import percentile_of
from sim.calibration import scoring
from sim.calibration.abc import _simulate
from sim.calibration.record import HeldOut, Observed
from sim.calibration.space import CalibrationSpace

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Posterior sd over prior sd below which an identified parameter's posterior must lie, on top
#: of beating the null (below).
IDENTIFIED_BELOW = 0.5
#: Two-sided level of the null test of each parameter's shrinkage and shift; small, because ten
#: parameters are tested twice each (Bonferroni: 0.05 / 20).
NULL_LEVEL = 0.0025
NULL_DRAWS = 4000
LEVEL = 0.9
#: Resamples of the final population for the Monte Carlo spread of each sd ratio and shift.
SPREAD_RESAMPLES = 1000
#: The chance of another calibration reaching the other verdict at or above which a verdict is
#: called borderline.
FLIP_CHANCE = 0.25


def weighted_quantile(x: Any, w: Any, q: Sequence[float]) -> np.ndarray:
    """Quantiles ``q`` of values ``x`` with weights ``w`` (inverse of the weighted CDF)."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    order = np.argsort(x)
    x, w = x[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / np.sum(w)
    return np.interp(q, cdf, x)


@dataclass(frozen=True)
class NullShrinkage:
    """What an uninformative record would give with these weights: the lower ``NULL_LEVEL``
    quantile of the sd ratio and the upper one of the mean's shift (in prior sds), over
    populations of i.i.d. prior draws carrying the calibration's own importance weights."""

    sd_ratio_low: float
    shift_high: float


def null_shrinkage(w: Any, seed: int = 0) -> NullShrinkage:
    """:class:`NullShrinkage` of weights ``w`` (prior uniform on [0, 1], sd 1/sqrt(12))."""
    w = np.asarray(w, dtype=float) / np.sum(w)
    u = np.random.default_rng([seed, 4]).random((NULL_DRAWS, w.size))
    mean = u @ w
    sd = np.sqrt(((u - mean[:, None]) ** 2) @ w)
    prior_sd = 1 / np.sqrt(12)
    return NullShrinkage(
        float(np.quantile(sd / prior_sd, NULL_LEVEL)),
        float(np.quantile(np.abs(mean - 0.5) / prior_sd, 1 - NULL_LEVEL)),
    )


@dataclass(frozen=True)
class Spread:
    """The Monte Carlo error of a parameter's sd ratio and shift (:func:`spread`): each one's
    90% range and standard error over resamples of the final population."""

    sd_ratio_low: float
    sd_ratio_high: float
    shift_low: float
    shift_high: float
    sd_ratio_se: float
    shift_se: float


def spread(x: Any, w: Any, prior_mid: float, prior_sd: float, seed: int = 0) -> Spread:
    """:class:`Spread` of the weighted values ``x``: the population's particles resampled
    with replacement (each keeping its weight) :data:`SPREAD_RESAMPLES` times.

    A rough proxy for how far another calibration (another seed, the same settings) would
    move the estimates: on this model a reviewer's three seeds differed by about this much
    (pairwise differences over their standard errors: root mean square 1.04 for the sd ratio,
    0.82 for the shift); on a toy, by 1.6-1.8 times as much (the final tolerance varies with
    the seed, which resampling one population cannot see).
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    idx = np.random.default_rng([seed, 5]).integers(0, x.size, size=(SPREAD_RESAMPLES, x.size))
    xs, ws = x[idx], w[idx]
    total = ws.sum(axis=1)
    mean = (ws * xs).sum(axis=1) / total
    sd = np.sqrt((ws * (xs - mean[:, None]) ** 2).sum(axis=1) / total)
    ratios, shifts = sd / prior_sd, np.abs(mean - prior_mid) / prior_sd
    tail = (1 - LEVEL) / 2
    ratio = np.quantile(ratios, [tail, 1 - tail])
    shift = np.quantile(shifts, [tail, 1 - tail])
    return Spread(
        float(ratio[0]),
        float(ratio[1]),
        float(shift[0]),
        float(shift[1]),
        float(ratios.std()),
        float(shifts.std()),
    )


def flip_chance(estimate: float, threshold: float, se: float) -> float:
    """The chance that another calibration's estimate lies on the other side of
    ``threshold`` from ``estimate``: both carry a normal Monte Carlo error ``se``, so their
    difference has sd sqrt(2) se."""
    if se <= 0:
        return 0.0
    return float(0.5 * math.erfc(abs(estimate - threshold) / (2.0 * se)))


def point_verdict(sd_ratio: float, shift: float, null: NullShrinkage) -> str:
    """Identified (narrower than the null and under half the prior's sd), partly identified
    (narrower or shifted beyond the null), or not identified (indistinguishable from the
    prior with this many effective particles)."""
    narrower = sd_ratio < null.sd_ratio_low
    if narrower and sd_ratio < IDENTIFIED_BELOW:
        return "identified"
    if narrower or shift > null.shift_high:
        return "partly identified"
    return "not identified (indistinguishable from its prior)"


def verdict(sd_ratio: float, shift: float, null: NullShrinkage, noise: Spread | None = None) -> str:
    """:func:`point_verdict`; with the calibration's Monte Carlo ``noise``, "borderline (V
    here; another calibration would say W: chance p)" when another calibration of the same
    settings would reach another verdict W with a chance p of at least :data:`FLIP_CHANCE`,
    across any of the thresholds (the null's, or half the prior's sd between identified and
    partly identified). A flag for the reader: the defaults' rule follows V, the verdict of
    this calibration (:func:`sim.calibration.defaults.rule_of`)."""
    point = point_verdict(sd_ratio, shift, null)
    if noise is None:
        return point
    p_narrow = flip_chance(sd_ratio, null.sd_ratio_low, noise.sd_ratio_se)
    p_shift = flip_chance(shift, null.shift_high, noise.shift_se)
    p_half = flip_chance(sd_ratio, IDENTIFIED_BELOW, noise.sd_ratio_se)
    narrower, shifted = sd_ratio < null.sd_ratio_low, shift > null.shift_high
    held = [p for p, on in ((p_narrow, narrower), (p_shift, shifted)) if on]
    if point.startswith("not"):  # either test may come to hold
        others = [(1 - (1 - p_narrow) * (1 - p_shift), "partly identified")]
    elif point == "identified":
        others = [(p_half, "partly identified"), (math.prod(held), "not identified")]
    else:  # every test that holds must fail for "not identified"; narrower may go below half
        others = [(math.prod(held), "not identified")]
        if narrower:
            others.append((p_half, "identified"))
    chance, other = max(others)
    if chance < FLIP_CHANCE:
        return point
    short = point.split(" (")[0]
    return f"borderline ({short} here; another calibration would say {other}: chance {chance:.0%})"


def identifiability(
    space: CalibrationSpace, population: pd.DataFrame, seed: int = 0
) -> pd.DataFrame:
    """Per calibrated quantity: prior, posterior summary, shrinkage, shift and a verdict.

    ``sd_ratio`` is the posterior sd over the prior sd (1 for a posterior spread like the
    prior: the data say nothing); ``shift`` the posterior mean's distance from the prior's in
    prior sds. Both are judged against :func:`null_shrinkage` of the same importance weights,
    because a few effective particles give small ratios by chance; ``ess`` says how many.
    ``*_low``, ``*_high`` and ``*_se`` are their Monte Carlo ranges and errors
    (:func:`spread`), from which :func:`verdict` says when another calibration could differ.
    ``default_percentile`` places the shipped default in the posterior.
    """
    w = population["weight"].to_numpy(dtype=float)
    null = null_shrinkage(w, seed)  # the calibration's seed reaches the null too
    ess = float(effective_sample_size(w))
    defaults = space.defaults()
    rows = []
    for p in space.priors:
        x = population[p.name].to_numpy(dtype=float)
        mean = float(np.sum(w * x) / np.sum(w))
        sd = math.sqrt(float(np.sum(w * (x - mean) ** 2) / np.sum(w)))
        q05, q50, q95 = weighted_quantile(x, w, [0.05, 0.5, 0.95])
        ratio = sd / p.sd
        shift = abs(mean - (p.low + p.high) / 2) / p.sd
        noise = spread(x, w, (p.low + p.high) / 2, p.sd, seed)
        rows.append(
            {
                "parameter": p.name,
                "keys": " ".join(p.keys),
                "prior_low": p.low,
                "prior_high": p.high,
                "default": defaults[p.name],
                "posterior_median": float(q50),
                "posterior_q05": float(q05),
                "posterior_q95": float(q95),
                "posterior_mean": mean,
                "sd_ratio": ratio,
                "sd_ratio_low": noise.sd_ratio_low,
                "sd_ratio_high": noise.sd_ratio_high,
                "sd_ratio_se": noise.sd_ratio_se,
                "shift": shift,
                "shift_low": noise.shift_low,
                "shift_high": noise.shift_high,
                "shift_se": noise.shift_se,
                "null_sd_ratio_low": null.sd_ratio_low,
                "null_shift_high": null.shift_high,
                "ess": ess,
                "default_percentile": float(np.sum(w * (x <= defaults[p.name])) / np.sum(w)),
                "verdict": verdict(ratio, shift, null, noise),
                "source": p.source,
            }
        )
    return pd.DataFrame(rows)


def predictive_sample(
    simulator: Callable[..., Any],
    draws: pd.DataFrame,
    n: int,
    seed: int,
    map_: Callable[..., Any] = map,
) -> pd.DataFrame:
    """Statistics of ``n`` replicates, replicate ``i`` at posterior draw ``i mod len(draws)``."""
    rng = np.random.default_rng([seed, 3])
    seeds = rng.integers(0, 2**31 - 1, size=n).tolist()
    rows_at = [i % len(draws) for i in range(n)]
    points = [{k: float(v) for k, v in draws.iloc[r].items()} for r in rows_at]
    results = list(map_(_simulate, [(simulator, p, s) for p, s in zip(points, seeds, strict=True)]))
    out = pd.DataFrame([dict(r) for r in results])
    out.insert(0, "draw", np.asarray(rows_at, dtype=np.int64))
    return out


def prior_draws(space: CalibrationSpace, n: int, seed: int) -> pd.DataFrame:
    """``n`` draws of the calibrated quantities from their uniform priors (seeded)."""
    rng = np.random.default_rng([seed, 7])
    return pd.DataFrame({p.name: rng.uniform(p.low, p.high, n) for p in space.priors})


def predictive_check(predictive: pd.DataFrame, observed: Sequence[Observed]) -> pd.DataFrame:
    """Each observed statistic against the posterior predictive: median, 90% interval, the
    observed value's percentile, and whether the interval holds it (for a range observation,
    ``value +/- observed_half_width``: whether they overlap; the percentile is the midpoint's).
    ``attrs["joint_p"]`` is :func:`joint_record_p`, all statistics at once."""
    rows = []
    for o in observed:
        x = predictive[o.name].to_numpy(dtype=float)
        q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
        rows.append(
            {
                "statistic": o.name,
                "label": o.label,
                "unit": o.unit,
                "observed": o.value,
                "predictive_median": float(q50),
                "predictive_q05": float(q05),
                "predictive_q95": float(q95),
                "observed_percentile": percentile_of(x, o.value),
                "inside_90": bool(q05 <= o.value + o.half_width and o.value - o.half_width <= q95),
                "observed_half_width": o.half_width,
                "source": o.source,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["joint_p"] = joint_record_p(predictive, observed)
    return table


def _poisson_sample(mean: float, n: int = 20_000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng([seed, 5]).poisson(max(mean, 0.0), n).astype(float)


#: The model's forecasts in a hindcast table, then the naive baselines, in column order.
HINDCAST_FORECASTS = (
    "model", "model_year1", "prior", "defaults", "persistence", "poisson", "poisson_recent",
    "random_walk", "random_walk_drift", "climatology",
)  # fmt: skip


def _ensemble(x: np.ndarray, value: float, alpha: float) -> tuple[float, float]:
    return scoring.crps_ensemble(x, value), scoring.ensemble_interval_score(x, value, alpha)


def _normal(mean: float, sd: float, value: float, alpha: float) -> tuple[float, float]:
    return scoring.crps_normal(mean, sd, value), scoring.normal_interval_score(
        mean, sd, value, alpha
    )


def naive_forecasts(h: HeldOut, alpha: float) -> dict[str, tuple[float, float]]:
    """(CRPS, interval score) of each naive baseline of ``h``, all from the years before:

    * ``persistence``: last year's value (2023) as a point forecast;
    * ``poisson``: a Poisson count around last year's value (persistence with count noise);
    * ``poisson_recent``: a Poisson count at the mean of the last three years (2021-23, the
      rate the Chinese targets are calibrated to);
    * ``random_walk``: a normal around last year's value with the sd of the yearly changes;
    * ``random_walk_drift``: the same, moved by the mean yearly change;
    * ``climatology``: a normal with the mean and sd of 2019-23 (mixed monitors).
    """
    years = sorted(h.history)
    past = np.array([h.history[y] for y in years])
    last, recent = float(past[-1]), float(past[-3:].mean())
    mean, sd = float(past.mean()), float(past.std(ddof=1))
    steps = [h.history[b] - h.history[a] for a, b in pairwise(years) if b == a + 1]
    step_sd = float(np.std(steps, ddof=1)) if len(steps) > 1 else sd
    drift = float(np.mean(steps)) if steps else 0.0
    return {
        "persistence": (abs(h.value - last), scoring.interval_score(last, last, h.value, alpha)),
        "poisson": _ensemble(_poisson_sample(last), h.value, alpha),
        "poisson_recent": _ensemble(_poisson_sample(recent), h.value, alpha),
        "random_walk": _normal(last, step_sd, h.value, alpha),
        "random_walk_drift": _normal(last + drift, step_sd, h.value, alpha),
        "climatology": _normal(mean, sd, h.value, alpha),
    }


#: Level of the bootstrap intervals of the model's CRPS and of its differences.
NOISE_LEVEL = 0.95


def _model_noise(
    x: np.ndarray, h: HeldOut, predictive: pd.DataFrame, references: Mapping[str, pd.DataFrame]
) -> dict[str, float]:
    """The model's CRPS and its differences from the model's own references, each with a
    bootstrap interval over the replicates (``crps_model_low``/``_high``; ``crps_model_minus_
    NAME`` and its ``_low``/``_high``). Year 1 and year 2 come from the same replicates
    (paired); the priors' and defaults' replicates are other runs (resampled apart)."""
    out: dict[str, float] = {}
    low, high = scoring.crps_difference_interval(x, [], h.value, paired=False, level=NOISE_LEVEL)
    out["crps_model_low"], out["crps_model_high"] = low, high
    others: dict[str, tuple[np.ndarray, bool]] = {}
    if h.year1 and h.year1 in predictive.columns:
        others["model_year1"] = (predictive[h.year1].to_numpy(dtype=float), True)
    for name, table in references.items():
        others[name] = (table[h.statistic].to_numpy(dtype=float), False)
    for name, (y, paired) in others.items():
        key = f"crps_model_minus_{name}"
        out[key] = scoring.crps_ensemble(x, h.value) - scoring.crps_ensemble(y, h.value)
        low, high = scoring.crps_difference_interval(
            x, y, h.value, paired=paired, level=NOISE_LEVEL
        )
        out[f"{key}_low"], out[f"{key}_high"] = low, high
    return out


def hindcast_scores(
    predictive: pd.DataFrame,
    targets: Sequence[HeldOut],
    alpha: float = 1 - LEVEL,
    references: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The model's year-2 forecast of each held-out 2024 quantity against naive baselines
    (:func:`naive_forecasts`) and reference forecasts of the model itself, by CRPS and the
    90% interval score (lower is better; skill = 1 - model / baseline, > 0 when the model is
    better). The model's own references:

    * ``model_year1``: its year-1 distribution reused for 2024, which says what the model's
      year-2 dynamics add beyond its calibrated level and spread;
    * ``references`` (the same statistics simulated otherwise), e.g. ``prior``: from the
      priors without any fitting, and ``defaults``: at the shipped defaults. If fitting to
      2023 does not beat them, the forecast's skill is not the fit's.

    The model's CRPS and its differences from these references come with 95% bootstrap
    intervals over the replicates (:func:`_model_noise`): Monte Carlo noise only, since each
    quantity has one observed year.
    """
    rows = []
    for h in targets:
        x = predictive[h.statistic].to_numpy(dtype=float)
        forecasts: dict[str, tuple[float, float]] = {"model": _ensemble(x, h.value, alpha)}
        if h.year1 and h.year1 in predictive.columns:
            y1 = predictive[h.year1].to_numpy(dtype=float)
            forecasts["model_year1"] = _ensemble(y1, h.value, alpha)
        for name, table in (references or {}).items():
            forecasts[name] = _ensemble(table[h.statistic].to_numpy(dtype=float), h.value, alpha)
        forecasts.update(naive_forecasts(h, alpha))
        years = sorted(h.history)
        q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
        row: dict[str, Any] = {
            "quantity": h.name,
            "label": h.label,
            "observed_2024": h.value,
            "forecast_median": float(q50),
            "forecast_q05": float(q05),
            "forecast_q95": float(q95),
            "observed_percentile": percentile_of(x, h.value),
        }
        for name, (crps, interval) in forecasts.items():
            row[f"crps_{name}"] = crps
            row[f"interval_score_{name}"] = interval
        for name, (crps, _) in forecasts.items():
            if name != "model":
                row[f"crps_skill_vs_{name}"] = scoring.skill(forecasts["model"][0], crps)
        row.update(_model_noise(x, h, predictive, references or {}))
        row["baseline_years"] = f"{years[0]}-{years[-1]} ({len(years)} values)"
        rows.append(row)
    return pd.DataFrame(rows)


# --- figures ---------------------------------------------------------------------------------


def figure_marginals(
    space: CalibrationSpace, population: pd.DataFrame, table: pd.DataFrame
) -> Figure:
    """Each quantity's posterior (weighted histogram) over its prior's range, default marked."""
    from sim.analysis import style

    n = len(space.priors)
    ncols = 4
    nrows = math.ceil(n / ncols)
    fig = style.new_figure(figsize=(13, 2.6 * nrows + 0.8))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    w = population["weight"].to_numpy(dtype=float)
    for ax, p, row in zip(axes.ravel(), space.priors, table.itertuples(), strict=False):
        x = population[p.name].to_numpy(dtype=float)
        bins = np.linspace(p.low, p.high, 21)
        ax.hist(x, bins=bins, weights=w, density=True, color=style.OKABE_ITO[0], alpha=0.7)
        ax.axhline(1 / p.width, color="0.4", ls="--", lw=1)
        ax.axvline(float(row.default), color=style.OKABE_ITO[3], lw=1.6)  # type: ignore[arg-type]
        ax.set_xlim(p.low, p.high)
        short = str(row.verdict).split(" (")[0]
        ax.set_title(f"{p.name}\n{short} (sd ratio {row.sd_ratio:.2f})", fontsize=9)
        ax.set_xlabel(p.keys[0] + (" (tied)" if len(p.keys) > 1 else ""), fontsize=8)
        ax.set_yticks([])
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Patch(color=style.OKABE_ITO[0], alpha=0.7, label="posterior (last ABC generation)"),
        Line2D([], [], color="0.4", ls="--", label="uniform prior"),
        Line2D([], [], color=style.OKABE_ITO[3], lw=1.6, label="shipped default"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle("Calibrated parameters: posterior against prior", fontsize=12)
    return fig


def figure_pairs(space: CalibrationSpace, population: pd.DataFrame) -> Figure:
    """Pairwise scatter of the posterior particles (weight as marker size), lower triangle."""
    from sim.analysis import style

    names = space.names
    n = len(names) - 1  # rows: the 2nd..last quantity; columns: the 1st..last but one
    fig = style.new_figure(figsize=(1.5 * n + 1.5, 1.5 * n + 1), layout=None)
    fig.subplots_adjust(left=0.1, bottom=0.09, right=0.98, top=0.95, wspace=0.08, hspace=0.08)
    axes = fig.subplots(n, n, squeeze=False)
    w = population["weight"].to_numpy(dtype=float)
    size = 2 + 30 * w / w.max()
    by = {p.name: p for p in space.priors}
    for i, yi in enumerate(names[1:]):
        for j, xj in enumerate(names[:-1]):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            ax.scatter(population[xj], population[yi], s=size, color=style.OKABE_ITO[0],
                       alpha=0.35, lw=0)  # fmt: skip
            ax.set_xlim(by[xj].low, by[xj].high)
            ax.set_ylim(by[yi].low, by[yi].high)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if i == n - 1:  # the outer axes carry each prior's two ends
                ends = (by[xj].low, by[xj].high)
                ax.set_xticks(ends, [f"{v:.3g}" for v in ends], fontsize=6)
                for label, ha in zip(ax.get_xticklabels(), ("left", "right"), strict=True):
                    label.set_ha(ha)  # inside the panel: neighbours' ends do not touch
                ax.set_xlabel(xj, fontsize=7, rotation=30, ha="right")
            if j == 0:
                ends = (by[yi].low, by[yi].high)
                ax.set_yticks(ends, [f"{v:.3g}" for v in ends], fontsize=6)
                for label, va in zip(ax.get_yticklabels(), ("bottom", "top"), strict=True):
                    label.set_va(va)
                ax.set_ylabel(yi, fontsize=7, rotation=0, ha="right", va="center", labelpad=12)
    fig.suptitle(
        "Posterior particles, pairwise (a dot's size is its weight; axes span each prior's "
        "range, its ends marked)",
        fontsize=11,
    )
    return fig


def figure_predictive(predictive: pd.DataFrame, observed: Sequence[Observed]) -> Figure:
    """Posterior predictive distribution of each observed statistic, the record marked."""
    from sim.analysis import style

    n = len(observed)
    ncols = 3
    nrows = math.ceil(n / ncols)
    fig = style.new_figure(figsize=(12, 2.7 * nrows + 0.8))
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    for ax, o in zip(axes.ravel(), observed, strict=False):
        x = predictive[o.name].to_numpy(dtype=float)
        q05, q95 = np.quantile(x, [0.05, 0.95])
        ax.axvspan(q05, q95, color=style.OKABE_ITO[5], alpha=0.25, lw=0)
        ax.hist(x, bins=25, color=style.OKABE_ITO[0], alpha=0.7)
        if o.half_width > 0:  # known only as a range
            low, high = o.value - o.half_width, o.value + o.half_width
            ax.axvspan(low, high, color=style.OKABE_ITO[3], alpha=0.15, lw=0)
            for edge in (low, high):
                ax.axvline(edge, color=style.OKABE_ITO[3], lw=1.2, ls="--")
            inside = float(np.mean((x >= low) & (x <= high)))
            title = f"observed {low:g}-{high:g} (range): {inside:.0%} of replicates inside"
        else:
            ax.axvline(o.value, color=style.OKABE_ITO[3], lw=2)
            title = f"observed {o.value:g}: percentile {percentile_of(x, o.value):.0%}"
        ax.set_title(f"{o.label}\n{title}", fontsize=9)
        ax.set_xlabel(o.unit)
        ax.set_yticks([])
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Patch(color=style.OKABE_ITO[0], alpha=0.7, label="posterior predictive replicates"),
        Patch(color=style.OKABE_ITO[5], alpha=0.4, label="90% predictive interval"),
        Line2D([], [], color=style.OKABE_ITO[3], lw=2, label="observed record"),
    ]
    if any(o.half_width > 0 for o in observed):
        handles.append(
            Patch(
                facecolor=style.OKABE_ITO[3],
                alpha=0.3,
                edgecolor=style.OKABE_ITO[3],
                ls="--",
                label="observed record known as a range",
            )
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    fig.suptitle("Posterior predictive checks", fontsize=12)
    return fig


def write_figures(
    out_dir: Path,
    space: CalibrationSpace,
    population: pd.DataFrame,
    table: pd.DataFrame,
    predictive: pd.DataFrame,
    observed: Sequence[Observed],
) -> list[Path]:
    """Write the calibration's figures (PNG and SVG) into ``out_dir/plots``; ``table`` is
    :func:`identifiability` of ``population``. One calibrated quantity has no pairs."""
    from sim.analysis import style

    with style.context():
        figures = {"posterior_marginals": figure_marginals(space, population, table)}
        if len(space.names) > 1:
            figures["posterior_pairs"] = figure_pairs(space, population)
        figures["predictive_checks"] = figure_predictive(predictive, observed)
    rendered = {name: style.render(fig) for name, fig in figures.items()}
    return style.write_rendered(Path(out_dir) / "plots", rendered)


# --- does a parameter set reproduce the record? ----------------------------------------------


def record_check(
    overrides: dict[str, Any] | None = None,
    replicates: int = 200,
    seed: int = 0,
    scenario: str = "baseline",
    level: float = 0.98,
) -> pd.DataFrame:
    """Each observed statistic (window ``full``) against the predictive distribution of
    ``replicates`` replicates at fixed parameters (the shipped defaults plus ``overrides``):
    ``inside`` when the record lies in the central ``level`` interval (a range: overlaps it);
    ``table.attrs["joint_p"]`` is :func:`joint_record_p`, all statistics at once.

    The tolerance is the model's own spread: it tells parameters that cannot produce the record
    from those that can, not the best of those that can (that is the posterior's job).
    """
    from sim.calibration.record import observed
    from sim.calibration.simulator import statistics_of
    from sim.config import scenario_params
    from sim.engine import run_replicate
    from sim.runner import replicate_seed
    from sim.world import compiled_params

    params = scenario_params(scenario, overrides or {})
    compiled = compiled_params(params)
    rows = []
    for r in range(replicates):
        res = run_replicate(params, 104, replicate_seed(seed, r), compiled)
        rows.append(statistics_of(res))
    sample = pd.DataFrame(rows)
    obs = observed("full")
    table = predictive_check(sample, obs)
    tail = (1 - level) / 2
    lo = [float(np.quantile(sample[s], tail)) for s in table["statistic"]]
    hi = [float(np.quantile(sample[s], 1 - tail)) for s in table["statistic"]]
    half = np.array([o.half_width for o in obs])
    table["low"], table["high"] = lo, hi
    table["inside"] = (table["observed"] + half >= table["low"]) & (
        table["observed"] - half <= table["high"]
    )
    return table


#: Fewer replicates than this give no joint p-value (:func:`joint_record_p`).
MIN_JOINT_REPLICATES = 50


def joint_record_p(sample: pd.DataFrame, observations: Sequence[Observed]) -> float:
    """How typical the record is of the replicates, all statistics at once: the share of
    replicates whose mean scaled L1 distance to the others is at least the record's, the
    record counted among them (``(1 + k) / (n + 1)``, never 0; a data-depth p-value; small:
    the record lies outside the cloud of replicates).

    Each statistic is scaled by its median absolute deviation over the sample (1 where it is
    zero). A statistic known only as a range (half-width ``h``) takes the value within the
    range that gives the largest p, so that a small p holds whatever the true value inside the
    range is (p at the true value is uniform for a record like the replicates; this one is at
    least as large). Only the record's distance depends on that value, and its L1 distance to
    the replicates is smallest at the replicates' median clipped to the range: that is the
    largest p, exactly. (Counting zero distance inside the range instead, between replicates
    too, is uniform only when the range is centred on the truth: P(p < 0.1) was 0.12-0.21.)

    NaN (not a p-value) with fewer than :data:`MIN_JOINT_REPLICATES` replicates, where the
    record's distance, taken to all of them, is not like a replicate's to the others (twelve
    heavy-tailed statistics: P(p < 0.05) 0.34 at 5 replicates, 0.14 at 10, 0.064 at 20, 0.055
    at 60), and when a statistic is not finite in some replicate.
    """
    names = [o.name for o in observations]
    x = sample[names].to_numpy(dtype=float)
    if len(x) < MIN_JOINT_REPLICATES or not np.isfinite(x).all():
        return float("nan")
    mad = np.median(np.abs(x - np.median(x, axis=0)), axis=0)
    scale = np.where(mad > 0, mad, 1.0)
    record = most_typical_record(x, observations)
    d_rep = (np.abs(x[:, None, :] - x[None, :, :]) / scale).sum(axis=(1, 2)) / (len(x) - 1)
    d_obs = (np.abs(x - record) / scale).sum(axis=1).mean()
    return float((1 + np.sum(d_rep >= d_obs)) / (len(x) + 1))  # the record counts: never 0


def most_typical_record(x: np.ndarray, observations: Sequence[Observed]) -> np.ndarray:
    """The record's values, each statistic known as a range at the value within it nearest
    the median of the replicates ``x`` (statistics in columns)."""
    value = np.array([o.value for o in observations])
    half = np.array([o.half_width for o in observations])
    return np.clip(np.median(x, axis=0), value - half, value + half)
