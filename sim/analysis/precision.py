"""How precisely a run's replicates pin down each outcome, and how many would pin it down.

The number-of-runs question of simulation output analysis (Law 2015, *Simulation Modeling and
Analysis*, 5th ed., §9.4.1: the replications for a relative error; Lorscheid, Heine & Meyer
2012, *Comput. Math. Organ. Theory* 18:22; Lee et al. 2015, *JASSS* 18(4):4). Per headline
outcome of a run:

* the mean with Student's t interval, and its half-width as a share of the mean;
* the median with its distribution-free interval: the order statistics whose ranks a
  Binomial(n, 1/2) count brackets (Conover 1999, §3.2), covering the median with at least the
  level's probability whatever the distribution, counts with ties included;
* how many replicates would bring the mean's t half-width to a chosen share of the mean: the
  smallest ``i`` with ``t(i - 1) s / sqrt(i) <= share × |mean|``, from this run's mean and
  sd ``s`` (Law's approximate count of replications, with the half-width measured against the
  estimated mean);

and per yes/no event its share with Wilson's interval and the smallest number of replicates
whose Wilson interval, at the share seen, would be ``±`` a chosen number of points. A count
at or below the run's own replicates is exactly a half-width within the target. Everything
is read from the stored summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis import stats, style, survival

#: Default confidence level of every interval.
LEVEL = 0.95
#: Default target: the mean's half-width as a share of the mean (±5%).
MEAN_WITHIN = 0.05
#: Default target: a yes/no share's half-width, in probability (±0.05).
SHARE_WITHIN = 0.05
#: Counts beyond this are not computed (a target or a spread out of any reasonable range).
MAX_COUNT = 10**12


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def median_ranks(n: int, level: float = LEVEL) -> tuple[int, int] | None:
    """1-based ranks ``(j, n + 1 - j)`` of the order statistics bounding the median's
    distribution-free interval: the largest ``j`` whose interval still covers the median with
    probability at least ``level`` (:func:`median_coverage`); None if even the smallest and
    largest values do not (fewer than 6 values at 95%)."""
    from scipy.stats import binom

    if n < 1:
        return None
    below = np.arange(n // 2 + 1)  # j - 1 values below the interval
    covering = np.flatnonzero(1 - 2 * binom.cdf(below, n, 0.5) >= level - 1e-12)
    if covering.size == 0:
        return None
    j = int(below[covering[-1]]) + 1
    return j, n + 1 - j


def median_coverage(n: int, j: int) -> float:
    """Probability that ``[x_(j), x_(n+1-j)]`` covers the median of a continuous distribution:
    P(j <= B <= n - j) for B ~ Binomial(n, 1/2)."""
    from scipy.stats import binom

    return float(1 - 2 * binom.cdf(j - 1, n, 0.5))


def median_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The median's distribution-free interval (NaN, NaN with too few values)."""
    x = np.sort(stats.finite(values))
    ranks = median_ranks(x.size, level)
    if ranks is None:
        return (math.nan, math.nan)
    return float(x[ranks[0] - 1]), float(x[ranks[1] - 1])


def _t_half_width(sd: float, n: int, level: float) -> float:
    """``t(n - 1) sd / sqrt(n)``: the half-width of Student's t interval of ``n`` values."""
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n))


def _spread(x: np.ndarray) -> float:
    """The sample sd, exactly 0 where every value is the same (not a rounding error's 1e-17)."""
    if np.ptp(x) == 0:
        return 0.0
    with np.errstate(over="ignore"):  # values near the float limit: an infinite sd, no count
        return float(x.std(ddof=1))


def mean_half_width(values: np.ndarray, level: float = LEVEL) -> float:
    """Half-width of Student's t interval of the mean (NaN with fewer than 2 values)."""
    x = stats.finite(values)
    if x.size < 2:
        return math.nan
    return _t_half_width(_spread(x), x.size, level)


def _smallest(reached: Callable[[int], bool], low: int) -> int | None:
    """The smallest ``i >= low`` with ``reached(i)``, for a test that stays true once true;
    None beyond :data:`MAX_COUNT`."""
    if reached(low):
        return low
    high = low
    while not reached(high):
        low, high = high, high * 2
        if high > MAX_COUNT:
            return None
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if reached(mid) else (mid, high)
    return high


def replicates_for_mean(values: np.ndarray, within: float, level: float = LEVEL) -> int | None:
    """The smallest number of replicates ``i >= 2`` at which the mean's t half-width,
    ``t(i - 1) s / sqrt(i)`` with this sample's sd ``s``, would be at most ``within`` times
    the mean's size. None when that is undefined: fewer than 2 values, a mean of 0, the same
    value in every replicate, or a count beyond :data:`MAX_COUNT`."""
    x = stats.finite(values)
    if x.size < 2:
        return None
    mean, sd = float(x.mean()), _spread(x)
    target = within * abs(mean)
    if not (target > 0 and 0 < sd < math.inf):
        return None
    guess = (_z(level) * sd / target) ** 2  # the normal's count: t's is never smaller
    if not guess < MAX_COUNT:
        return None
    return _smallest(lambda i: _t_half_width(sd, i, level) <= target, max(2, math.floor(guess)))


def replicates_for_share(successes: int, n: int, within: float, level: float = LEVEL) -> int | None:
    """The smallest number of replicates whose Wilson interval, at the share seen
    (``successes / n``), would be at most ``±within``: 35 for a share seen in none of them at
    ±0.05 (the interval [0, 0.099]). None without replicates."""
    if n <= 0:
        return None
    share = successes / n
    return _smallest(lambda i: stats.wilson_half_width(share, i, level) <= within, 1)


@dataclass(frozen=True)
class OutcomePrecision:
    """How precisely a run's replicates pin down one outcome's mean and median."""

    name: str
    n: int
    mean: float
    half_width: float
    median: float
    median_low: float
    median_high: float
    needed: int | None

    @property
    def relative(self) -> float:
        """The mean's half-width as a share of the mean (NaN where the mean is 0)."""
        return abs(self.half_width / self.mean) if self.mean else math.nan


@dataclass(frozen=True)
class SharePrecision:
    """How precisely a run's replicates pin down one yes/no share."""

    name: str
    n: int
    successes: int
    low: float
    high: float
    needed: int | None

    @property
    def share(self) -> float:
        """The share of replicates in which the event happened."""
        return self.successes / self.n if self.n else math.nan


def outcome_precision(
    name: str, values: np.ndarray, within: float = MEAN_WITHIN, level: float = LEVEL
) -> OutcomePrecision:
    """Mean, median and their intervals, and the replicates for ``±within`` of the mean."""
    x = stats.finite(values)
    low, high = median_interval(x, level)
    return OutcomePrecision(
        name=name,
        n=int(x.size),
        mean=float(x.mean()) if x.size else math.nan,
        half_width=mean_half_width(x, level),
        median=float(np.median(x)) if x.size else math.nan,
        median_low=low,
        median_high=high,
        needed=replicates_for_mean(x, within, level),
    )


def share_precision(
    name: str, happened: np.ndarray, within: float = SHARE_WITHIN, level: float = LEVEL
) -> SharePrecision:
    """A yes/no share, its Wilson interval, and the replicates for ``±within``."""
    n, successes = int(happened.size), int(np.count_nonzero(happened))
    low, high = stats.wilson_interval(successes, n, level)
    return SharePrecision(
        name, n, successes, low, high, replicates_for_share(successes, n, within, level)
    )


def run_precision(
    summary: pd.DataFrame,
    mean_within: float = MEAN_WITHIN,
    share_within: float = SHARE_WITHIN,
    level: float = LEVEL,
) -> tuple[list[OutcomePrecision], list[SharePrecision]]:
    """The precision of every headline outcome and yes/no event a summary holds."""
    from sim.analysis.compare import event_values

    outcomes = [
        outcome_precision(name, summary[name].to_numpy(dtype=float), mean_within, level)
        for name in style.OUTCOMES
        if name in summary.columns
    ]
    shares = []
    for name in style.EVENTS:
        happened = event_values(summary, name)
        if happened is not None:
            shares.append(share_precision(name, happened, share_within, level))
    return outcomes, shares


# --- tables -----------------------------------------------------------------------------------

#: Columns of ``cpec-sim precision --csv``: one row per run (or difference) and outcome.
CSV_COLUMNS: tuple[str, ...] = (
    "run",
    "reference",
    "kind",
    "name",
    "replicates",
    "paired",
    "estimate",
    "low",
    "high",
    "half_width",
    "relative_half_width",
    "median",
    "median_low",
    "median_high",
    "target",
    "replicates_needed",
    "no_count",
    "level",
)


def _decimals_for(half_width: float) -> int:
    """Decimals that show a half-width to two significant digits (none for 10 and above): a
    mean is shown to the decimals of its uncertainty."""
    if not math.isfinite(half_width) or half_width <= 0:
        return 0
    return max(0, 1 - math.floor(math.log10(half_width)))


def _mean_text(p: OutcomePrecision) -> tuple[str, str]:
    """The mean and its half-width, the mean to the decimals of the half-width (alone, as
    compare's tables show a number, where there is no half-width)."""
    from sim.analysis.numbers import fmt_number

    if not math.isfinite(p.half_width):
        return (fmt_number(p.mean), "–")
    if p.half_width == 0:  # the same value in every replicate
        return (fmt_number(p.mean), "0")
    d = _decimals_for(p.half_width)
    return f"{p.mean:,.{d}f}", f"{p.half_width:,.{d}f}"


def _share_of_mean(relative: float) -> str:
    if not math.isfinite(relative):
        return "–"
    return f"{relative:.0%}" if relative >= 0.01 else f"{relative:.1%}"


def shown_count(needed: int) -> int:
    """A projected number of replicates rounded up to two significant digits (2,103 -> 2,200):
    it is an estimate, and its last digits would claim more than it knows."""
    if needed < 100:
        return needed
    step = 10 ** (len(str(needed)) - 2)
    return -(-needed // step) * step


def _needed_text(needed: int | None, n: int) -> str:
    if needed is None:
        return "–"
    return f"{shown_count(needed):,} (met)" if needed <= n else f"{shown_count(needed):,}"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


Table = tuple[list[str], list[list[str]]]


def _target_header(mean_within: float, share_within: float) -> str:
    return f"replicates for ±{_percent(mean_within)} (±{share_within:g})"


def precision_rows(
    summary: pd.DataFrame, mean_within: float = MEAN_WITHIN, share_within: float = SHARE_WITHIN
) -> Table:
    """One run's precision as a header and rows of text: each outcome's mean, its
    half-width and share of the mean, the median with its interval, the replicates for the
    target; then each yes/no share with its interval."""
    from sim.analysis.numbers import fmt_median_interval

    outcomes, shares = run_precision(summary, mean_within, share_within)
    header = [
        "outcome",
        "mean/share",
        "95% CI",
        "of mean",
        "median [95% CI]",
        _target_header(mean_within, share_within),
    ]
    rows = []
    for p in outcomes:
        mean, half = _mean_text(p)
        med, lo, hi = fmt_median_interval(p.median, p.median_low, p.median_high)
        median = f"{med} [{lo}, {hi}]" if math.isfinite(p.median_low) else f"{med} [–]"
        rows.append(
            [
                style.outcome_label(p.name),
                mean,
                f"± {half}" if half != "–" else half,
                _share_of_mean(p.relative),
                median,
                _needed_text(p.needed, p.n),
            ]
        )
    for s in shares:
        share, interval = (
            ("–", "–") if s.n == 0 else (f"{s.share:.2f}", f"[{s.low:.2f}, {s.high:.2f}]")
        )
        needed = _needed_text(s.needed, s.n)
        rows.append([style.EVENTS[s.name], share, interval, "", "", needed])
    return header, rows


def text_table(table: Table) -> str:
    """Header and rows as aligned text: the first column left, the others right."""
    from sim.analysis.compare import layout

    header, rows = table
    return "\n".join(layout(header, rows, set(range(1, len(header))), indent=""))


def precision_text(
    title: str,
    summary: pd.DataFrame,
    mean_within: float = MEAN_WITHIN,
    share_within: float = SHARE_WITHIN,
) -> str:
    """One run's precision as an aligned table under ``title``."""
    return f"{title}\n{text_table(precision_rows(summary, mean_within, share_within))}"


def precision_notes(
    mean_within: float = MEAN_WITHIN,
    share_within: float = SHARE_WITHIN,
    differences: bool = False,
    first_pause: bool = False,
) -> list[str]:
    """What the tables' intervals and replicate counts are (``first_pause``: and what the
    weeks to the first pause are, when a table shows them)."""
    notes = [
        "95% intervals: the mean's Student's t; the median's distribution-free (order "
        "statistics: it covers the median at least 95% of the time whatever the distribution, "
        "ties included); a share's Wilson's",
        f"replicates for ±{_percent(mean_within)} (±{share_within:g}): the fewest replicates "
        f"whose t interval would be ±{_percent(mean_within)} of the mean or less, at these "
        f"replicates' mean and sd (whose Wilson interval would be ±{share_within:g} or less, at "
        "the share seen), rounded up to two digits; (met): the interval already is; –: no "
        "spread, or a mean of 0; rough for a heavy-tailed outcome, whose sd is itself "
        "uncertain: run about that many and ask again",
    ]
    if differences:
        notes.append(
            "differences: of the means (the shares), with compare's 95% intervals; paired: "
            "compared replicate by replicate (runs with streams=keyed share their random "
            "numbers and usually need far fewer replicates); replicates per run for a "
            f"half-width of {_percent(mean_within)} of the reference's mean (±{share_within:g} "
            "for a share), as the half-width falls with 1/sqrt(replicates); –: no count, for "
            "the reason given (" + "; ".join(f"{k}: {v}" for k, v in NO_COUNT.items()) + ")"
        )
    if first_pause:
        notes.append(survival.MEANING)
    return notes


def precision_frame(
    label: str,
    summary: pd.DataFrame,
    mean_within: float = MEAN_WITHIN,
    share_within: float = SHARE_WITHIN,
    level: float = LEVEL,
) -> pd.DataFrame:
    """One run's precision as rows of :data:`CSV_COLUMNS` (full float precision; a column
    that does not apply to a row is empty), for CSV."""
    outcomes, shares = run_precision(summary, mean_within, share_within, level)
    rows = [
        {
            "run": label,
            "reference": "",
            "kind": "outcome",
            "name": p.name,
            "replicates": p.n,
            "estimate": p.mean,
            "low": p.mean - p.half_width,
            "high": p.mean + p.half_width,
            "half_width": p.half_width,
            "relative_half_width": p.relative,
            "median": p.median,
            "median_low": p.median_low,
            "median_high": p.median_high,
            "target": mean_within,
            "replicates_needed": p.needed,
            "level": level,
        }
        for p in outcomes
    ] + [
        {
            "run": label,
            "reference": "",
            "kind": "share",
            "name": s.name,
            "replicates": s.n,
            "estimate": s.share,
            "low": s.low,
            "high": s.high,
            "target": share_within,
            "replicates_needed": s.needed,
            "level": level,
        }
        for s in shares
    ]
    return _typed(pd.DataFrame(rows, columns=CSV_COLUMNS))


# --- differences from a reference --------------------------------------------------------------


@dataclass(frozen=True)
class DifferencePrecision:
    """How precisely a comparison pins down one difference of means (or of shares)."""

    label: str
    reference: str
    name: str
    kind: str  # "continuous" or "event", as in compare's table
    n: int
    paired: bool
    estimate: float
    low: float
    high: float
    reference_mean: float
    needed: int | None
    #: Why no count is given (:data:`NO_COUNT`), else "".
    why: str = ""

    @property
    def half_width(self) -> float:
        """Half the width of compare's 95% interval of the difference."""
        return (self.high - self.low) / 2

    @property
    def relative(self) -> float:
        """The half-width as a share of the reference's mean (NaN for a yes/no share)."""
        if self.kind == "event" or not self.reference_mean:
            return math.nan
        return abs(self.half_width / self.reference_mean)


#: Why a difference gets no count of replicates: its interval would not narrow as
#: 1/sqrt(replicates) from this one, or more replicates would not make it a test.
NO_COUNT: dict[str, str] = {
    "sizes": "the runs' sizes differ: the interval's parts would not narrow alike",
    "horizon": "another horizon than the reference's: the totals differ by construction",
    "by construction": "a parameter value of the run (or of the reference) sets this outcome "
    "by the model's own rule: more replicates restate the value, they find nothing",
    "source": "parameters from another source than the reference's: not comparable",
    "few pairs": "compare resampled it apart as only a few pairs differ: a conservative "
    "interval, not one that narrows as 1/sqrt(replicates)",
    "edge": "a share at 0 or 1: its interval does not narrow as 1/sqrt(replicates)",
}


def replicates_for_half_width(n: int, half_width: float, target: float) -> int | None:
    """Replicates (per run) at which an interval of ``half_width`` from ``n`` replicates
    would narrow to ``target``: ``ceil(n (half_width / target)^2)`` (a half-width falls as
    1/sqrt(n)), at least 2; 2 where the runs agree in every replicate (no width); None where
    the target is 0."""
    if not (n > 0 and math.isfinite(half_width) and half_width >= 0 and target > 0):
        return None
    return max(2, math.ceil(n * (half_width / target) ** 2))


def _no_count(
    row: dict,
    ref: dict,
    paired_runs: set[str],
    other_source: set[str],
    fixed: dict[str, dict[str, str]],
) -> str:
    """The key of :data:`NO_COUNT` that applies to a difference row of compare's table
    (``fixed``: compare's outcomes set by construction, per run label)."""
    if row["label"] in other_source:
        return "source"
    if row["weeks"] != ref.get("weeks"):
        return "horizon"
    if row["outcome"] in fixed.get(row["label"], {}):
        return "by construction"
    if row["n"] != ref.get("n"):
        return "sizes"
    if row["label"] in paired_runs and not row["paired"]:
        return "few pairs"
    if row["kind"] == "event" and {row["mean"], ref.get("mean")} & {0.0, 1.0}:
        return "edge"
    return ""


def difference_precision(
    table: pd.DataFrame, mean_within: float = MEAN_WITHIN, share_within: float = SHARE_WITHIN
) -> list[DifferencePrecision]:
    """Each difference in compare's ``table`` (:func:`sim.analysis.compare.compare_runs`) with
    the replicates per run that would bring its 95% interval's half-width to ``mean_within``
    of the reference's mean (a yes/no share's to ``share_within``); none, and why
    (:data:`NO_COUNT`), where that count would mislead."""
    refs = {
        (r["label"], r["outcome"]): r
        for r in table[table["label"] == table["reference"]].to_dict("records")
    }
    paired_runs = set(table.attrs.get("paired_runs", []))
    other_source = set(table.attrs.get("other_source", []))
    fixed = dict(table.attrs.get("by_construction") or {})
    out = []
    for row in table[table["diff_mean"].notna()].to_dict("records"):
        ref = refs.get((row["reference"], row["outcome"]), {})
        reference_mean = float(ref.get("mean", math.nan))
        event = row["kind"] == "event"
        target = share_within if event else mean_within * abs(reference_mean)
        low, high, n = float(row["diff_mean_lo"]), float(row["diff_mean_hi"]), int(row["n"])
        why = _no_count(row, ref, paired_runs, other_source, fixed)
        out.append(
            DifferencePrecision(
                label=str(row["label"]),
                reference=str(row["reference"]),
                name=str(row["outcome"]),
                kind=str(row["kind"]),
                n=n,
                paired=bool(row["paired"]),
                estimate=float(row["diff_mean"]),
                low=low,
                high=high,
                reference_mean=reference_mean,
                needed=None if why else replicates_for_half_width(n, (high - low) / 2, target),
                why=why,
            )
        )
    return out


def difference_tables(
    diffs: list[DifferencePrecision],
    mean_within: float = MEAN_WITHIN,
    share_within: float = SHARE_WITHIN,
) -> list[tuple[str, list[str], list[list[str]]]]:
    """The differences as one (title, header, rows) per compared run."""
    from sim.analysis.compare import fmt_ci

    header = [
        "outcome",
        "difference [95% CI]",
        "paired",
        "of ref. mean",
        _target_header(mean_within, share_within),
    ]
    out = []
    for label in dict.fromkeys(d.label for d in diffs):
        mine = [d for d in diffs if d.label == label]
        title = f"{label} minus {mine[0].reference} ({mine[0].n} replicates)"
        rows = [
            [
                style.EVENTS[d.name] if d.kind == "event" else style.outcome_label(d.name),
                fmt_ci(d.estimate, d.low, d.high),
                "yes" if d.paired else "no",
                _share_of_mean(d.relative) if d.kind != "event" else "",
                f"– ({d.why})" if d.why else _needed_text(d.needed, d.n),
            ]
            for d in mine
        ]
        out.append((title, header, rows))
    return out


def difference_text(
    diffs: list[DifferencePrecision],
    mean_within: float = MEAN_WITHIN,
    share_within: float = SHARE_WITHIN,
) -> str:
    """The differences as one aligned table per compared run."""
    return "\n\n".join(
        f"{title}\n{text_table((header, rows))}"
        for title, header, rows in difference_tables(diffs, mean_within, share_within)
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as integers and ``paired`` as a yes/no column, empty where it does not apply."""
    frame["replicates"] = frame["replicates"].astype("Int64")
    frame["replicates_needed"] = frame["replicates_needed"].astype("Int64")
    frame["paired"] = frame["paired"].astype("boolean")
    return frame


def difference_frame(
    diffs: list[DifferencePrecision],
    mean_within: float = MEAN_WITHIN,
    share_within: float = SHARE_WITHIN,
) -> pd.DataFrame:
    """The differences as rows of :func:`precision_frame`'s columns (full float precision)."""
    rows = [
        {
            "run": d.label,
            "reference": d.reference,
            "kind": "share_difference" if d.kind == "event" else "difference",
            "name": d.name,
            "replicates": d.n,
            "paired": d.paired,
            "estimate": d.estimate,
            "low": d.low,
            "high": d.high,
            "half_width": d.half_width,
            "relative_half_width": d.relative,
            "target": share_within if d.kind == "event" else mean_within,
            "replicates_needed": d.needed,
            "no_count": d.why,
            "level": LEVEL,
        }
        for d in diffs
    ]
    return _typed(pd.DataFrame(rows, columns=CSV_COLUMNS))
