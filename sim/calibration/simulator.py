"""One replicate's summary statistics, and the simulator that ABC calls.

The statistics are computed from the arrays of one replicate (no tables): the model's year 1
is weeks 1-52, year 2 weeks 53-104 (``sim/calibration/record.py`` says which calendar years
they stand for).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.calibration.space import CalibrationSpace

WEEKS_PER_YEAR = 52

#: Every statistic :func:`replicate_statistics` returns.
STATISTICS: tuple[str, ...] = (
    "attacks_balochistan_y1",
    "attacks_balochistan_y2",
    "killed_balochistan_y1",
    "killed_balochistan_y2",
    "largest_attack_y1",
    "largest_attack_y2",
    "attacks_on_chinese_per_year",
    "chinese_killed_per_year",
    "attacks_on_chinese_y1",
    "attacks_on_chinese_y2",
    "chinese_killed_y1",
    "chinese_killed_y2",
    "militants_killed_per_year",
)


def replicate_statistics(
    weekly: Mapping[str, np.ndarray], weeks: Any, killed: Any, in_balochistan: Any = None
) -> dict:
    """The statistics of one replicate from its weekly counts and its attacks' weeks and deaths.

    ``weekly`` maps a weekly count (``sim.record.WEEKLY_COUNTS``) to its array over the weeks
    run (at least 104); ``weeks`` and ``killed`` are the attacks' weeks (1-based) and deaths,
    and ``in_balochistan`` whether each attack was in Balochistan (the deadliest attack is
    Balochistan's, like the record's; all attacks if not given).
    """
    y1, y2 = slice(0, WEEKS_PER_YEAR), slice(WEEKS_PER_YEAR, 2 * WEEKS_PER_YEAR)
    years = len(weekly["attacks"]) / WEEKS_PER_YEAR
    week = np.asarray(weeks, dtype=np.int64)
    dead = np.asarray(killed, dtype=float)
    if in_balochistan is not None:
        keep = np.asarray(in_balochistan, dtype=bool)
        week, dead = week[keep], dead[keep]

    def total(metric: str, span: slice) -> float:
        return float(np.sum(weekly[metric][span]))

    def largest(first: int, last: int) -> float:
        inside = dead[(week >= first) & (week <= last)]
        return float(inside.max()) if inside.size else 0.0

    return {
        "attacks_balochistan_y1": total("attacks_balochistan", y1),
        "attacks_balochistan_y2": total("attacks_balochistan", y2),
        "killed_balochistan_y1": total("killed_balochistan", y1),
        "killed_balochistan_y2": total("killed_balochistan", y2),
        "largest_attack_y1": largest(1, WEEKS_PER_YEAR),
        "largest_attack_y2": largest(WEEKS_PER_YEAR + 1, 2 * WEEKS_PER_YEAR),
        "attacks_on_chinese_per_year": float(np.sum(weekly["attacks_on_chinese"])) / years,
        "chinese_killed_per_year": float(np.sum(weekly["chinese_killed"])) / years,
        "attacks_on_chinese_y1": total("attacks_on_chinese", y1),
        "attacks_on_chinese_y2": total("attacks_on_chinese", y2),
        "chinese_killed_y1": total("chinese_killed", y1),
        "chinese_killed_y2": total("chinese_killed", y2),
        "militants_killed_per_year": float(np.sum(weekly["militants_killed"])) / years,
    }


@dataclass(frozen=True)
class CrisisSimulator:
    """``simulator(values, seed) -> statistics``: one replicate of the calibration's scenario
    with the calibrated quantities set to ``values`` (the compiled engine)."""

    space: CalibrationSpace

    def params(self, values: Mapping[str, float]) -> Any:
        """Validated model parameters of one point."""
        from sim.config import scenario_params

        return scenario_params(self.space.scenario, self.space.overrides(values))

    def __call__(self, values: Mapping[str, float], seed: int) -> dict[str, float]:
        from sim.engine import run_replicate

        result = run_replicate(self.params(values), self.space.weeks, int(seed))
        return statistics_of(result)


def statistics_of(result: Any) -> dict[str, float]:
    """:func:`replicate_statistics` of a ``sim.record.ReplicateResult``."""
    return replicate_statistics(
        result.weekly,
        result.event_column("week"),
        result.event_column("killed"),
        place_in_balochistan()[result.event_column("district")],
    )


def place_in_balochistan() -> np.ndarray:
    """Whether each place (by code, ``sim/data/places.csv`` order) is in Balochistan."""
    from sim.space import load_places

    return np.asarray(load_places().balochistan, dtype=bool)
