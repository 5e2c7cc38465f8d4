"""What one replicate records: weekly metrics, one row per attack and one summary row.

Column names follow the user-facing contract (DESIGN §3). The recorder keeps plain
NumPy arrays and lists (no DataCollector): cheap in the replicate's hot path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Weekly counts, summed over the week's events (the model tallies these as they happen).
WEEKLY_COUNTS: tuple[str, ...] = (
    "attacks",
    "attacks_on_chinese",
    "attacks_on_security",
    "attacks_on_infrastructure",
    "attacks_balochistan",
    "killed",
    "killed_balochistan",
    "chinese_killed",
    "security_killed",
    "civilians_killed",
    "militants_killed",
    "militants_captured",
    "recruits",
)

# Weekly metrics, in column order (after ``replicate`` and ``week``): the counts, then states.
WEEKLY_METRICS: tuple[str, ...] = (
    *WEEKLY_COUNTS,
    "fighters",
    "grievance",
    "legitimacy",
    "china_patience",
    "china_level",
    "investment_hold",
    "chinese_troops",
    "sites_guarded_by_troops",
    "joint_operations",
    "operation_intensity",
    "iran_posture",
    "capital_deployed",
    "investors_active",
    "investors_paused",
    "investors_withdrawn",
    "chinese_nationals",
    "share_chinese_target",
)

EVENT_COLUMNS: tuple[str, ...] = (
    "week",
    "group",
    "district",
    "target",
    "attackers",
    "killed",
    "chinese_killed",
    "security_killed",
    "civilians_killed",
    "attackers_lost",
    "success",
    "interdicted",
)

SUMMARY_COLUMNS: tuple[str, ...] = (
    "chinese_killed",
    "attacks_total",
    "attacks_on_chinese",
    "attacks_balochistan",
    "killed_balochistan",
    "security_killed",
    "civilians_killed",
    "militants_killed",
    "militants_captured",
    "fighters_final",
    "capital_deployed_final",
    "investors_paused_final",
    "investors_withdrawn",
    "weeks_to_first_pause",
    "investment_hold",
    "chinese_troops_deployed",
    "grievance_final",
    "legitimacy_final",
    "china_patience_final",
    "max_attack_killed",
)


@dataclass
class ReplicateResult:
    """The three outputs of one replicate."""

    weekly: dict[str, np.ndarray]
    events: dict[str, list[Any]]
    summary: dict[str, Any]


@dataclass
class Recorder:
    """Accumulates a replicate's outputs week by week."""

    weeks: int
    weekly: dict[str, np.ndarray] = field(init=False)
    events: dict[str, list[Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.weekly = {k: np.zeros(self.weeks) for k in WEEKLY_METRICS}
        self.events = {k: [] for k in EVENT_COLUMNS}

    def add_event(self, row: tuple[Any, ...]) -> None:
        """Append one attack (values in :data:`EVENT_COLUMNS` order)."""
        for key, value in zip(EVENT_COLUMNS, row, strict=True):
            self.events[key].append(value)

    def set_week(self, week: int, values: dict[str, float]) -> None:
        """Store the metrics of week ``week`` (1-based)."""
        for key, value in values.items():
            self.weekly[key][week - 1] = value

    def result(self, weeks_run: int, first_pause_week: int | None) -> ReplicateResult:
        """Summary row derived from the weekly metrics (so totals always agree)."""
        w = {k: v[:weeks_run] for k, v in self.weekly.items()}
        last = weeks_run - 1
        summary: dict[str, Any] = {
            "chinese_killed": int(w["chinese_killed"].sum()),
            "attacks_total": int(w["attacks"].sum()),
            "attacks_on_chinese": int(w["attacks_on_chinese"].sum()),
            "attacks_balochistan": int(w["attacks_balochistan"].sum()),
            "killed_balochistan": int(w["killed_balochistan"].sum()),
            "security_killed": int(w["security_killed"].sum()),
            "civilians_killed": int(w["civilians_killed"].sum()),
            "militants_killed": int(w["militants_killed"].sum()),
            "militants_captured": int(w["militants_captured"].sum()),
            "fighters_final": int(w["fighters"][last]),
            "capital_deployed_final": float(w["capital_deployed"][last]),
            "investors_paused_final": int(w["investors_paused"][last]),
            "investors_withdrawn": int(w["investors_withdrawn"][last]),
            "weeks_to_first_pause": float(first_pause_week) if first_pause_week else math.nan,
            "investment_hold": bool(w["investment_hold"].max() > 0),
            "chinese_troops_deployed": bool(w["chinese_troops"].max() > 0),
            "grievance_final": float(w["grievance"][last]),
            "legitimacy_final": float(w["legitimacy"][last]),
            "china_patience_final": float(w["china_patience"][last]),
            "max_attack_killed": int(max(self.events["killed"], default=0)),
        }
        return ReplicateResult(w, self.events, summary)
