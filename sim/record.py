"""What one replicate records: weekly metrics, one row per attack and one summary row.

Column names follow the user-facing contract (DESIGN §3). The recorder keeps plain
NumPy arrays and lists (no DataCollector): cheap in the replicate's hot path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Target classes in code order (0, 1, 2).
TARGET_NAMES: tuple[str, ...] = ("chinese", "security", "infrastructure")

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


#: Summary columns that are undefined (NaN) in some replicates, and when.
UNDEFINED_WHEN: dict[str, str] = {"weeks_to_first_pause": "no investor ever paused"}


@dataclass
class ReplicateResult:
    """The three outputs of one replicate.

    The attacks are kept as the engine wrote them, one row of integer codes per attack in
    :data:`EVENT_COLUMNS` order (``event_rows``); :attr:`events` decodes them into named
    columns when asked (results tables are built from the codes directly).
    """

    weekly: dict[str, np.ndarray]
    event_rows: np.ndarray
    summary: dict[str, Any]
    _events: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def events(self) -> dict[str, Any]:
        """The attacks by column, with group, place and target names (decoded once)."""
        if self._events is None:
            self._events = decode_events(self.event_rows, len(self.event_rows))
        return self._events

    def event_column(self, name: str) -> np.ndarray:
        """One event column as integer codes (``group``, ``district``, ``target`` are indices
        into :func:`event_names`)."""
        return self.event_rows[:, EVENT_COLUMNS.index(name)]


def event_names() -> dict[str, tuple[str, ...]]:
    """The names that the ``group``, ``district`` and ``target`` codes of an event index."""
    from sim.space import load_groups, load_places

    return {
        "group": tuple(load_groups()),
        "district": tuple(load_places().ids),
        "target": TARGET_NAMES,
    }


def decode_events(buffer: np.ndarray, n: int) -> dict[str, Any]:
    """Event rows (integer codes) as columns with group, place and target names."""
    rows = buffer[:n]
    names = {k: np.array(v, dtype=object) for k, v in event_names().items()}
    out: dict[str, Any] = {}
    for j, key in enumerate(EVENT_COLUMNS):
        col = rows[:, j]
        if key in names:
            out[key] = names[key][col].tolist()
        elif key in ("success", "interdicted"):
            out[key] = col.astype(bool).tolist()
        else:
            out[key] = col.tolist()
    return out


def replicate_result(
    weekly: np.ndarray, buffer: np.ndarray, n_events: int, weeks_run: int, first_pause: float
) -> ReplicateResult:
    """The outputs of a replicate from its weekly matrix (weeks x metrics) and event buffer.

    The summary row is derived from the weekly metrics, so totals always agree.
    """
    w = {k: weekly[:weeks_run, j].copy() for j, k in enumerate(WEEKLY_METRICS)}
    rows = buffer[:n_events].copy()
    killed = rows[:, EVENT_COLUMNS.index("killed")]
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
        "weeks_to_first_pause": float(first_pause) if first_pause > 0 else math.nan,
        "investment_hold": bool(w["investment_hold"].max() > 0),
        # troops on guard at some site, not only let in (none may be available to send)
        "chinese_troops_deployed": bool(w["sites_guarded_by_troops"].max() > 0),
        "grievance_final": float(w["grievance"][last]),
        "legitimacy_final": float(w["legitimacy"][last]),
        "china_patience_final": float(w["china_patience"][last]),
        "max_attack_killed": int(killed.max()) if killed.size else 0,
    }
    return ReplicateResult(w, rows, summary)


class Recorder:
    """A replicate's outputs as they accumulate: the weekly matrix and the event buffer.

    The compiled rules write into :attr:`matrix` and :attr:`buffer`; :attr:`weekly` and
    :attr:`events` give column views for the dashboard and notebooks.
    """

    def __init__(self, weeks: int) -> None:
        self.weeks = weeks
        self.matrix = np.zeros((weeks, len(WEEKLY_METRICS)))
        self.buffer = np.zeros((1024, len(EVENT_COLUMNS)), dtype=np.int64)
        self.n_events = 0

    @property
    def weekly(self) -> dict[str, np.ndarray]:
        """Each weekly metric as a view of its column (weeks not yet run are 0)."""
        return {k: self.matrix[:, j] for j, k in enumerate(WEEKLY_METRICS)}

    @property
    def events(self) -> dict[str, Any]:
        """The attacks so far, by column."""
        return decode_events(self.buffer, self.n_events)

    def result(self, weeks_run: int, first_pause_week: int | None) -> ReplicateResult:
        """The replicate's three outputs after ``weeks_run`` weeks."""
        first = float(first_pause_week) if first_pause_week else -1.0
        return replicate_result(self.matrix, self.buffer, self.n_events, weeks_run, first)
