"""Validation of the baseline against the observed record (``cpec-sim validate``).

The baseline is run through the runner into a run directory; everything after that reads
the stored Parquet files only (like the rest of the analysis, this module never imports the
model). Each *target* pairs an observed value or range, with its source, with a statistic
computed per replicate (or per replicate-year, or per replicate and group), and the table
reports the model's median and 90% interval against the observed range:

* attacks on Chinese nationals or Chinese-owned targets per year, Chinese nationals killed
  per year (``sim/data/attacks_on_chinese_in_pakistan.csv``; NACTA);
* militant attacks and deaths per year in Balochistan, 2023-2024 monitors
  (``sim/data/balochistan_annual_violence.csv``);
* the deadliest single attack of a year (``sim/data/deadliest_attacks_balochistan.csv``);
* the severity tail exponent alpha: a Clauset-Shalizi-Newman power-law fit (``powerlaw``)
  to the deaths of fatal attacks, one fit per replicate (the distribution) and one pooled;
* burstiness: the dispersion index of weekly attack counts (variance / mean, 1 for Poisson)
  and the Goh-Barabasi burstiness B of inter-attack times (-1 periodic, 0 Poisson);
* escalation: Johnson et al. (2011) progress curves tau_n = tau_1 n^-b of each group's
  fatal attacks, fitted by log-log least squares.

The model's clock is the week, so attack times within a week are not recorded. Inter-event
statistics (burstiness, escalation) place each week's attacks at independent uniform times
inside that week, from a generator seeded by ``(seed, replicate)``: a Poisson process stays a
Poisson process under this, so it adds no burstiness of its own.

Usable from a notebook::

    from sim.validation import validate
    table = validate(replicates=200, jobs=2)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pandas as pd

from sim.analysis.stats import fit_power_law

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Weeks per year when converting horizon totals to yearly rates (104 weeks = 2 years).
WEEKS_PER_YEAR = 52
#: The militant groups, in the order the model lists them.
GROUPS: tuple[str, ...] = ("bla", "majeed", "blf", "jaish_al_adl")
#: The Baloch separatist groups (BRAS); Jaish al-Adl is not one of them.
BALOCH_GROUPS: tuple[str, ...] = ("bla", "majeed", "blf")
GROUP_NAMES: dict[str, str] = {
    "bla": "BLA",
    "majeed": "Majeed Brigade",
    "blf": "BLF",
    "jaish_al_adl": "Jaish al-Adl",
}
#: Fewest inter-event gaps for an escalation fit.
MIN_ESCALATION_GAPS = 5
#: Fewest fatal attacks in the tail for a power-law fit (as in ``fit_power_law``).
MIN_TAIL = 10
#: Replicates in ``--fast`` mode.
FAST_REPLICATES = 20
DEFAULT_OUT = Path("results/validation")
RUN_SUBDIR = "baseline"
TABLE_FILE = "validation.csv"
FIGURE_NAME = "validation"


class ValidationError(ValueError):
    """Bad input to :func:`validate`; the message is one user-facing line."""


# --- the statistics --------------------------------------------------------------------------


def dispersion_index(counts: Any) -> float:
    """Variance-to-mean ratio of counts (sample variance): 1 for Poisson, > 1 overdispersed.

    NaN for fewer than two counts or a zero mean.
    """
    x = np.asarray(counts, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size < 2 or x.mean() <= 0:
        return math.nan
    return float(x.var(ddof=1) / x.mean())


def burstiness(times: Any) -> float:
    """Goh & Barabasi (2008) burstiness B = (sigma - mu) / (sigma + mu) of inter-event times.

    -1 for a periodic sequence, about 0 for a Poisson process, towards 1 for bursts.
    ``times`` need not be sorted; NaN for fewer than three events.
    """
    t = np.sort(np.asarray(times, dtype=float).ravel())
    if t.size < 3:
        return math.nan
    gaps = np.diff(t)
    mu, sigma = float(gaps.mean()), float(gaps.std())
    if mu + sigma <= 0:
        return math.nan
    return (sigma - mu) / (sigma + mu)


def jittered_times(weeks: Any, rng: np.random.Generator) -> np.ndarray:
    """Event times in weeks: each event of week ``w`` (1-based) at ``w - 1 + U(0, 1)``.

    Returned in the input order (not sorted), so a mask over the events still applies.
    """
    w = np.asarray(weeks, dtype=float).ravel()
    return w - 1.0 + rng.random(w.size)


@dataclass(frozen=True)
class EscalationFit:
    """Johnson et al. (2011) progress curve tau_n = tau_1 n^-b fitted in log-log space."""

    b: float
    low: float  # 95% confidence interval of b (t distribution, OLS standard error)
    high: float
    tau1: float  # fitted tau_1 (units of the times given)
    gaps: int  # number of intervals tau_1 .. tau_{N-1} used


def _ols_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Slope, intercept and slope standard error of y on x."""
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - ym)).sum() / sxx)
    intercept = float(ym - slope * xm)
    resid = y - intercept - slope * x
    dof = x.size - 2
    se = math.sqrt(float((resid**2).sum()) / dof / sxx) if dof > 0 else math.nan
    return slope, intercept, se


def escalation_from_gaps(n: Any, gaps: Any, level: float = 0.95) -> EscalationFit | None:
    """Fit log10 tau_n = log10 tau_1 - b log10 n to intervals ``gaps`` at indices ``n``.

    ``n`` may repeat (several replicates' curves stacked). Non-positive gaps are dropped.
    None if fewer than :data:`MIN_ESCALATION_GAPS` usable gaps or only one distinct ``n``.
    """
    from scipy.stats import t as student_t

    n_arr = np.asarray(n, dtype=float).ravel()
    g = np.asarray(gaps, dtype=float).ravel()
    ok = (g > 0) & np.isfinite(g) & (n_arr >= 1)
    n_arr, g = n_arr[ok], g[ok]
    if g.size < MIN_ESCALATION_GAPS or np.unique(n_arr).size < 2:
        return None
    x, y = np.log10(n_arr), np.log10(g)
    slope, intercept, se = _ols_slope(x, y)
    half = float(student_t.ppf(0.5 + level / 2, g.size - 2)) * se
    b = -slope
    return EscalationFit(b=b, low=b - half, high=b + half, tau1=10**intercept, gaps=int(g.size))


def escalation_fit(times: Any, level: float = 0.95) -> EscalationFit | None:
    """Progress curve of one sequence of event times: tau_n is the gap after the n-th event."""
    t = np.sort(np.asarray(times, dtype=float).ravel())
    gaps = np.diff(t)
    return escalation_from_gaps(np.arange(1, gaps.size + 1), gaps, level)


# --- the observed record ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """An observed value or range and the model statistic compared with it."""

    key: str
    label: str
    unit: str
    low: float  # observed range, inclusive; -inf / inf for an open side
    high: float
    observed: str  # how the observed value reads in the table
    source: str
    #: Whether ``scripts/calibrate.py`` tunes parameters towards this target.
    calibrated: bool = True

    @property
    def scale(self) -> float:
        """Unit of distance from the range: its half-width, at least 10% of its midpoint."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return max(abs(self.low if math.isfinite(self.low) else self.high), 1.0)
        mid = (self.low + self.high) / 2
        return max((self.high - self.low) / 2, 0.1 * abs(mid), 1e-12)

    def distance(self, value: float) -> float:
        """Signed distance of ``value`` outside the range in units of :attr:`scale` (0 inside)."""
        if not math.isfinite(value):
            return math.nan
        if value < self.low:
            return (value - self.low) / self.scale
        if value > self.high:
            return (value - self.high) / self.scale
        return 0.0


def _claimed_by_baloch(row: dict[str, str]) -> bool:
    return row["claimed_by"].startswith(("BLA", "BLF", "BRAS"))


def _data_rows(name: str) -> list[dict[str, str]]:
    with resources.files("sim.data").joinpath(name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


#: NACTA's count of attacks on Chinese nationals in Pakistan, 2021-2024 (OBSERVED.md).
NACTA_ATTACKS_2021_2024 = 14
#: Severity exponent of terrorist attacks: Clauset & Wiegel (2010) 2.4 +/- 0.2.
ALPHA_RANGE = (2.2, 2.6)


def observed_targets() -> list[Target]:
    """The validation targets, their observed ranges computed from ``sim/data``."""
    chinese = _data_rows("attacks_on_chinese_in_pakistan.csv")
    by_year: dict[int, list[dict[str, str]]] = {}
    for row in chinese:
        by_year.setdefault(int(row["date"][:4]), []).append(row)
    years = range(2021, 2025)
    n_attacks = sum(len(by_year.get(y, [])) for y in years)
    killed = {y: sum(int(r["chinese_killed"]) for r in by_year.get(y, [])) for y in years}
    windows = [(killed[y] + killed[y + 1]) / 2 for y in (2021, 2023)]
    total_killed = sum(killed.values())
    baloch = {y: [r for r in by_year.get(y, []) if _claimed_by_baloch(r)] for y in years}
    b_attack_windows = [(len(baloch[y]) + len(baloch[y + 1])) / 2 for y in (2021, 2023)]
    b_killed_windows = [
        sum(int(r["chinese_killed"]) for r in baloch[y] + baloch[y + 1]) / 2 for y in (2021, 2023)
    ]

    violence = [
        r for r in _data_rows("balochistan_annual_violence.csv") if r["year"] in ("2023", "2024")
    ]
    b_attacks = [float(r["attacks"]) for r in violence if r["attacks"]]
    b_killed = [float(r["killed"]) for r in violence if r["killed"]]
    monitors = ", ".join(f"{r['source']} {r['year']}" for r in violence)

    deadliest = _data_rows("deadliest_attacks_balochistan.csv")
    worst_low = min(float(r["killed_low"]) for r in deadliest)
    worst_high = max(float(r["killed_high"]) for r in deadliest)
    worst_text = "; ".join(
        f"{r['year']} {r['place']} {r['killed_low']}-{r['killed_high']}" for r in deadliest
    )

    targets = [
        Target(
            "attacks_on_chinese_per_year",
            "Attacks on Chinese targets",
            "attacks/yr",
            n_attacks / len(years),
            NACTA_ATTACKS_2021_2024 / len(years),
            f"{n_attacks / 4:g}-{NACTA_ATTACKS_2021_2024 / 4:g} "
            f"({n_attacks}-{NACTA_ATTACKS_2021_2024} in 2021-24)",
            "attacks_on_chinese_in_pakistan.csv (2021-24 rows); NACTA via OBSERVED.md",
        ),
        Target(
            "chinese_killed_per_year",
            "Chinese nationals killed",
            "killed/yr",
            min(windows),
            max(windows),
            f"{total_killed / 4:g} ({total_killed} in 2021-24; "
            f"{min(windows):g}-{max(windows):g} by 2-yr window)",
            "attacks_on_chinese_in_pakistan.csv; NACTA (20 killed 2021-24)",
        ),
        Target(
            "baloch_attacks_on_chinese_per_year",
            "  of which by Baloch groups (context)",
            "attacks/yr",
            min(b_attack_windows),
            max(b_attack_windows),
            f"{min(b_attack_windows):g}-{max(b_attack_windows):g} (claimed by BLA/BLF)",
            "attacks_on_chinese_in_pakistan.csv, claimed_by BLA or BLF, by 2-yr window",
            calibrated=False,
        ),
        Target(
            "baloch_chinese_killed_per_year",
            "  Chinese killed by Baloch groups (context)",
            "killed/yr",
            min(b_killed_windows),
            max(b_killed_windows),
            f"{min(b_killed_windows):g}-{max(b_killed_windows):g} (claimed by BLA/BLF)",
            "attacks_on_chinese_in_pakistan.csv, claimed_by BLA or BLF, by 2-yr window",
            calibrated=False,
        ),
        Target(
            "attacks_balochistan_per_year",
            "Militant attacks in Balochistan",
            "attacks/yr",
            min(b_attacks),
            max(b_attacks),
            f"{min(b_attacks):g}-{max(b_attacks):g}",
            f"balochistan_annual_violence.csv ({monitors})",
        ),
        Target(
            "killed_balochistan_per_year",
            "Deaths in militant attacks, Balochistan",
            "killed/yr",
            min(b_killed),
            max(b_killed),
            f"{min(b_killed):g}-{max(b_killed):g}",
            f"balochistan_annual_violence.csv ({monitors})",
        ),
        Target(
            "largest_attack_per_year",
            "Deadliest attack of a year",
            "killed",
            worst_low,
            worst_high,
            f"{worst_low:g}-{worst_high:g}",
            f"deadliest_attacks_balochistan.csv ({worst_text})",
        ),
        Target(
            "severity_alpha",
            "Severity tail exponent alpha (per replicate)",
            "exponent alpha",
            ALPHA_RANGE[0],
            ALPHA_RANGE[1],
            "2.4 +/- 0.2 (2.5 insurgencies)",
            "Clauset & Wiegel 2010; Bohorquez et al. 2009 (OBSERVED.md)",
        ),
        Target(
            "weekly_dispersion",
            "Dispersion of weekly attack counts",
            "variance/mean",
            1.0,
            math.inf,
            "> 1 (overdispersed)",
            "real event series cluster in time (Clauset, Young & Gleditsch 2007)",
            calibrated=False,
        ),
        Target(
            "burstiness",
            "Burstiness B of inter-attack times",
            "B (-1 periodic, 0 Poisson)",
            0.0,
            math.inf,
            "> 0 (bursty)",
            "Goh & Barabasi 2008; Poisson gives 0",
            calibrated=False,
        ),
    ]
    for g in GROUPS:
        targets.append(
            Target(
                f"escalation_b_{g}",
                f"Escalation b, {GROUP_NAMES[g]}",
                "exponent b",
                0.0,
                math.inf,
                "> 0 (escalation)",
                "Johnson et al. 2011 (Science 333:81): tau_n = tau_1 n^-b; no Balochistan fit",
                calibrated=False,
            )
        )
    return targets


# --- model statistics from stored results ----------------------------------------------------


def _rng(seed: int, replicate: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(replicate)])


def _year_maxima(events: pd.DataFrame, replicates: np.ndarray, weeks: int) -> np.ndarray:
    """Deaths in the deadliest attack of each complete year of each replicate (0 if none)."""
    years = max(weeks // WEEKS_PER_YEAR, 1)
    span = WEEKS_PER_YEAR if weeks >= WEEKS_PER_YEAR else weeks
    out = np.zeros((replicates.size, years))
    if not events.empty:
        year = (events["week"].to_numpy() - 1) // span
        keep = year < years
        rows = np.searchsorted(replicates, events["replicate"].to_numpy()[keep])
        np.maximum.at(out, (rows, year[keep]), events["killed"].to_numpy()[keep])
    return out.ravel()


@dataclass
class ModelStatistics:
    """The model's samples for every target, and pooled fits for the notes."""

    samples: dict[str, np.ndarray]
    notes: dict[str, str]
    replicates: int
    weeks: int


def replicate_statistics(
    summary: pd.DataFrame,
    timeseries: pd.DataFrame,
    events: pd.DataFrame,
    weeks: int,
    seed: int = 0,
    pooled: bool = True,
) -> ModelStatistics:
    """Every target's model samples from a run's three tables (any number of replicates).

    ``pooled=False`` skips the pooled fits behind the notes (calibration needs samples only).
    """
    summary = summary.sort_values("replicate")
    reps = summary["replicate"].to_numpy()
    per_year = WEEKS_PER_YEAR / weeks
    s: dict[str, np.ndarray] = {
        "attacks_on_chinese_per_year": summary["attacks_on_chinese"].to_numpy() * per_year,
        "chinese_killed_per_year": summary["chinese_killed"].to_numpy() * per_year,
        "attacks_balochistan_per_year": summary["attacks_balochistan"].to_numpy() * per_year,
        "killed_balochistan_per_year": summary["killed_balochistan"].to_numpy() * per_year,
        "largest_attack_per_year": _year_maxima(events, reps, weeks),
    }
    if events.empty:
        s["baloch_attacks_on_chinese_per_year"] = np.zeros(reps.size)
        s["baloch_chinese_killed_per_year"] = np.zeros(reps.size)
    else:
        baloch = events[events["group"].isin(BALOCH_GROUPS)]
        on_chinese = baloch[baloch["target"] == "chinese"].groupby("replicate")
        s["baloch_attacks_on_chinese_per_year"] = (
            on_chinese.size().reindex(reps, fill_value=0).to_numpy() * per_year
        )
        s["baloch_chinese_killed_per_year"] = (
            baloch.groupby("replicate")["chinese_killed"].sum().reindex(reps, fill_value=0)
        ).to_numpy() * per_year
    weekly = timeseries.pivot(index="replicate", columns="week", values="attacks")
    weekly = weekly.reindex(reps)
    s["weekly_dispersion"] = np.array([dispersion_index(row) for row in weekly.to_numpy()])

    alpha = np.full(reps.size, np.nan)
    bursts = np.full(reps.size, np.nan)
    esc = {g: np.full(reps.size, np.nan) for g in GROUPS}
    stacked: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {g: ([], []) for g in GROUPS}
    by_rep = dict(tuple(events.groupby("replicate", sort=True))) if not events.empty else {}
    for i, r in enumerate(reps):
        ev = by_rep.get(r)
        if ev is None or ev.empty:
            continue
        killed = ev["killed"].to_numpy()
        fit = fit_power_law(killed[killed >= 1], discrete=True, min_tail=MIN_TAIL)
        alpha[i] = fit.alpha if fit else np.nan
        times = jittered_times(ev["week"].to_numpy(), _rng(seed, int(r)))
        bursts[i] = burstiness(times)
        groups = ev["group"].to_numpy()
        for g in GROUPS:
            t = np.sort(times[(groups == g) & (killed >= 1)])
            gaps = np.diff(t)
            n = np.arange(1, gaps.size + 1)
            stacked[g][0].append(n)
            stacked[g][1].append(gaps)
            e = escalation_from_gaps(n, gaps)
            esc[g][i] = e.b if e else np.nan
    s["severity_alpha"] = alpha
    s["burstiness"] = bursts
    for g in GROUPS:
        s[f"escalation_b_{g}"] = esc[g]

    notes: dict[str, str] = {}
    if not pooled:
        return ModelStatistics(s, notes, int(reps.size), weeks)
    fatal = events["killed"].to_numpy() if not events.empty else np.zeros(0)
    pl = fit_power_law(fatal[fatal >= 1], discrete=True, min_tail=MIN_TAIL)
    if pl:
        notes["severity_alpha"] = (
            f"pooled fit: alpha {pl.alpha:.2f} +/- {pl.sigma:.2f}, xmin {pl.xmin:g}, "
            f"{pl.n_tail} of {pl.n} fatal attacks in the tail"
        )
    for g in GROUPS:
        ns, gs = stacked[g]
        e = escalation_from_gaps(np.concatenate(ns), np.concatenate(gs)) if ns else None
        if e:
            notes[f"escalation_b_{g}"] = (
                f"pooled fit: b {e.b:.3f} (95% CI {e.low:.3f} to {e.high:.3f}), {e.gaps} gaps"
            )
    notes["weekly_dispersion"] = "weekly attacks of each replicate"
    notes["largest_attack_per_year"] = (
        f"one value per replicate-year ({max(weeks // WEEKS_PER_YEAR, 1)} per replicate)"
    )
    return ModelStatistics(s, notes, int(reps.size), weeks)


# --- the table -------------------------------------------------------------------------------

TABLE_COLUMNS: tuple[str, ...] = (
    "target",
    "label",
    "unit",
    "observed",
    "observed_low",
    "observed_high",
    "source",
    "model_median",
    "model_q05",
    "model_q95",
    "n",
    "verdict",
    "distance",
    "interval_overlaps",
    "observed_percentile",
    "calibrated",
    "note",
)


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 0.1 or x == 0:
        return f"{x:.2f}"
    return f"{x:.2g}"


def verdict(median: float, target: Target) -> str:
    """``inside``, or ``above``/``below`` the observed range and by how much."""
    if not math.isfinite(median):
        return "no estimate"
    if target.low <= median <= target.high:
        return "inside"
    bound = target.high if median > target.high else target.low
    word = "above" if median > target.high else "below"
    text = f"{word} by {_fmt(abs(median - bound))}"
    if bound != 0:
        text += f" ({abs(median - bound) / abs(bound):.0%})"
    return text


def _percentile_of(samples: np.ndarray, target: Target) -> float:
    """Share of model samples at or below the observed midpoint (NaN for an open range)."""
    if samples.size == 0 or not (math.isfinite(target.low) and math.isfinite(target.high)):
        return math.nan
    mid = (target.low + target.high) / 2
    return float((samples < mid).mean() + 0.5 * (samples == mid).mean())


def compare(stats: ModelStatistics, targets: Sequence[Target] | None = None) -> pd.DataFrame:
    """One row per target: observed range and source, model median and 90% interval, verdict."""
    rows = []
    for t in targets if targets is not None else observed_targets():
        x = np.asarray(stats.samples.get(t.key, np.zeros(0)), dtype=float)
        x = x[np.isfinite(x)]
        if x.size:
            q05, med, q95 = (float(v) for v in np.quantile(x, [0.05, 0.5, 0.95]))
        else:
            q05 = med = q95 = math.nan
        rows.append(
            {
                "target": t.key,
                "label": t.label,
                "unit": t.unit,
                "observed": t.observed,
                "observed_low": t.low,
                "observed_high": t.high,
                "source": t.source,
                "model_median": med,
                "model_q05": q05,
                "model_q95": q95,
                "n": int(x.size),
                "verdict": verdict(med, t),
                "distance": t.distance(med),
                "interval_overlaps": bool(x.size and q05 <= t.high and q95 >= t.low),
                "observed_percentile": _percentile_of(x, t),
                "calibrated": t.calibrated,
                "note": stats.notes.get(t.key, ""),
            }
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in table.to_dict("records")]


def format_table(table: pd.DataFrame, title: str = "") -> str:
    """The table as aligned text, sources and notes listed below it."""
    head = ("target", "unit", "observed", "model median [90%]", "obs. at", "n", "verdict", "src")
    lines = []
    rows = []
    records = _records(table)
    for i, r in enumerate(records, start=1):
        interval = f"{_fmt(r['model_median'])} [{_fmt(r['model_q05'])}, {_fmt(r['model_q95'])}]"
        pct = r["observed_percentile"]
        at = f"{pct:.0%}" if math.isfinite(pct) else ""
        rows.append(
            (
                r["label"],
                r["unit"],
                r["observed"],
                interval,
                at,
                str(r["n"]),
                r["verdict"],
                f"[{i}]",
            )
        )
    widths = [max(len(h), *(len(row[j]) for row in rows)) for j, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    if title:
        lines.append(title)
    lines.append(fmt.format(*head).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(fmt.format(*row).rstrip() for row in rows)
    lines.append("")
    for i, r in enumerate(records, start=1):
        extra = f"; {r['note']}" if r["note"] else ""
        lines.append(f"[{i}] {r['source']}{extra}")
    return "\n".join(lines)


# --- the figure ------------------------------------------------------------------------------


def plot_validation(
    stats: ModelStatistics, table: pd.DataFrame, title: str
) -> Figure:  # pragma: no cover - drawing is exercised through validate()
    """One panel per target: the model's distribution, the observed range shaded."""
    from sim.analysis.style import OKABE_ITO, context, new_figure

    n = len(table)
    cols = 4
    rows = -(-n // cols)
    with context():
        fig = new_figure(figsize=(3.3 * cols, 2.5 * rows))
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        records = _records(table)
        for ax, r in zip(axes, records, strict=False):
            x = np.asarray(stats.samples.get(r["target"], []), dtype=float)
            x = x[np.isfinite(x)]
            if x.size:
                ax.hist(
                    x,
                    bins=min(40, max(8, int(np.sqrt(x.size)) + 1)),
                    color=OKABE_ITO[0],
                    alpha=0.75,
                    label="model",
                )
            lo, hi = float(r["observed_low"]), float(r["observed_high"])
            med, q05, q95 = (float(r[k]) for k in ("model_median", "model_q05", "model_q95"))
            left, right = ax.get_xlim()
            span_lo = lo if math.isfinite(lo) else min(left, q05)
            span_hi = hi if math.isfinite(hi) else max(right, q95, lo + 1e-9)
            ax.axvspan(
                span_lo, span_hi, color=OKABE_ITO[1], alpha=0.35, lw=0, zorder=0, label="observed"
            )
            if math.isfinite(med):
                ax.axvline(med, color=OKABE_ITO[7], lw=1.2, label="model median")
                ax.axvline(q05, color=OKABE_ITO[7], lw=0.8, ls="--", label="model 5% and 95%")
                ax.axvline(q95, color=OKABE_ITO[7], lw=0.8, ls="--")
            if not math.isfinite(hi) or not math.isfinite(lo):
                ax.set_xlim(min(left, span_lo), max(right, q95))
            ax.set_title(str(r["label"]).strip(), fontsize=9)
            ax.set_xlabel(str(r["unit"]))
            per_rep = int(r["n"]) <= stats.replicates
            ax.set_ylabel("replicates" if per_rep else "replicate-years")
        for ax in axes[n:]:
            ax.set_visible(False)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=4)
        fig.suptitle(title)
    return fig


# --- the run and the command -----------------------------------------------------------------


def _prepare_run_dir(run_dir: Path, config_hash: str) -> None:
    """Remove a stale validation run of another configuration (ours to replace)."""
    manifest = run_dir / "manifest.json"
    if not manifest.is_file():
        return
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    if old.get("config_hash") == config_hash:
        return
    if old.get("package") != "cpec-sim":
        raise ValidationError(f"{run_dir} holds something else: choose another --out")
    print(
        f"cpec-sim validate: replacing {run_dir} (a run of another configuration)",
        file=sys.stderr,
    )
    shutil.rmtree(run_dir)


def _read_run(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    from sim.analysis.results import load_run

    run = load_run(run_dir)
    return run.summary, run.timeseries, run.events, run.manifest


def validate(
    replicates: int = 200,
    seed: int = 0,
    jobs: int | None = None,
    weeks: int = 104,
    out_dir: Path = DEFAULT_OUT,
    progress: Any = None,
    plots: bool = True,
) -> pd.DataFrame:
    """Run the baseline into ``out_dir/baseline``, compare it with the record, write the table.

    Writes ``out_dir/validation.csv`` and ``out_dir/validation.png|svg``; returns the table.
    Re-running with the same seed and weeks reuses finished replicates.
    """
    from sim.config import resolved_jobs, scenario_params
    from sim.runner import RunSpec, run

    for name, value, least in (("replicates", replicates, 1), ("weeks", weeks, 1)):
        if not isinstance(value, int) or value < least:
            raise ValidationError(f"{name}={value!r} is not allowed: need an integer >= {least}")
    if not isinstance(seed, int) or seed < 0:
        raise ValidationError(f"seed={seed!r} is not allowed: need a non-negative integer")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValidationError(f"jobs={jobs!r} is not allowed: need at least 1 (or leave unset)")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError(f"--out {out_dir} is a file: give a directory")

    spec = RunSpec(
        scenario_params("baseline"),
        scenario="baseline",
        replicates=replicates,
        seed=seed,
        weeks=weeks,
        jobs=min(resolved_jobs(jobs), replicates),
        chunk_size=10,
        description="validation of the baseline against the observed record",
    )
    run_dir = out_dir / RUN_SUBDIR
    _prepare_run_dir(run_dir, spec.config_hash)
    outcome = run(spec, run_dir, progress=progress)
    if outcome.status != "complete":
        raise ValidationError(f"the baseline run did not complete ({outcome.status}): {run_dir}")

    # From here on, only the stored results.
    summary, timeseries, events, manifest = _read_run(run_dir)
    stored_weeks = int(manifest.get("weeks", weeks))
    stats = replicate_statistics(summary, timeseries, events, stored_weeks, seed)
    table = compare(stats)

    from sim.analysis.results import atomic_write_text

    atomic_write_text(out_dir / TABLE_FILE, table.to_csv(index=False, float_format="%.6g"))
    if plots:
        from sim.analysis.style import render, write_rendered

        title = (
            f"Baseline against the observed record: {stats.replicates} replicates "
            f"x {stored_weeks} weeks (seed {seed})"
        )
        fig = plot_validation(stats, table, title)
        write_rendered(out_dir, {FIGURE_NAME: render(fig)})
    return table


class _UsageError(Exception):
    """Bad command-line arguments (message is one line)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def validate_command(argv: list[str]) -> int:
    """``cpec-sim validate``: run the baseline, compare it with the record, print the table."""
    prog = "cpec-sim validate"
    parser = _Parser(
        prog=prog,
        description=(
            "Run the baseline and compare it with the observed record (attacks on Chinese "
            "targets, Balochistan's attacks and deaths, severity tail, burstiness, escalation). "
            "Writes OUT/validation.csv, OUT/validation.png|svg and the run in OUT/baseline/."
        ),
    )
    parser.add_argument(
        "--replicates", type=_positive_int, default=None, help="replicates (default 200)"
    )
    parser.add_argument("--seed", type=_seed, default=0, help="root seed (default 0)")
    parser.add_argument(
        "--jobs", type=_positive_int, default=None, help="worker processes (default all cores)"
    )
    parser.add_argument("--weeks", type=_positive_int, default=104, help="horizon (default 104)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--fast", action="store_true", help=f"{FAST_REPLICATES} replicates: a quick look"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the figure")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except _UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.fast and args.replicates is not None:
        print(f"{prog}: error: give --fast or --replicates, not both", file=sys.stderr)
        return 2
    replicates = args.replicates or (FAST_REPLICATES if args.fast else 200)
    from sim.analysis.results import ResultsError
    from sim.params import ParameterError

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = validate(
                replicates=replicates,
                seed=args.seed,
                jobs=args.jobs,
                weeks=args.weeks,
                out_dir=args.out,
                progress=sys.stderr,
                plots=not args.no_plots,
            )
    except (ValidationError, ParameterError, ResultsError) as exc:
        print(f"{prog}: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    title = (
        f"Baseline vs the observed record: {replicates} replicates x {args.weeks} weeks, "
        f"seed {args.seed} (model: median [5%, 95%])"
    )
    print(format_table(table, title))
    inside = int((table["verdict"] == "inside").sum())
    print(f"\n{inside} of {len(table)} targets inside the observed range.")
    written = [args.out / TABLE_FILE]
    if not args.no_plots:
        written += [args.out / f"{FIGURE_NAME}.png", args.out / f"{FIGURE_NAME}.svg"]
    print("Wrote " + ", ".join(str(p) for p in written), f"({time.perf_counter() - t0:.1f} s)")
    return 0


__all__ = [
    "EscalationFit",
    "ModelStatistics",
    "Target",
    "burstiness",
    "compare",
    "dispersion_index",
    "escalation_fit",
    "escalation_from_gaps",
    "format_table",
    "jittered_times",
    "observed_targets",
    "replicate_statistics",
    "validate",
    "validate_command",
]
