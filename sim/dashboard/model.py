"""The dashboard's model: the crisis model built from a scenario name and flat slider values.

Mesa's SolaraViz re-creates a model by calling its class with keyword arguments.
:class:`DashboardModel` takes flat values (a scenario name, a seed, one value per knob of
:mod:`sim.dashboard.knobs`, or the dashboard's whole :class:`~sim.dashboard.knobs.Panel`),
turns them into dotted-key overrides of the scenario (:func:`sim.config.scenario_params`), and
keeps a log of what happened in words, for a class to read along.

The scenario keyword is ``scenario_name``, not ``scenario``: Mesa 3.5 reserves ``scenario``
for its own :class:`mesa.experimental.scenarios.Scenario` objects and would replace a string
there on reset.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sim.agents.china import LADDER
from sim.agents.investor import INVESTING, PAUSED, WITHDRAWN
from sim.config import MAX_SEED, scenario_names, scenario_params
from sim.dashboard.knobs import DEFAULT_SCENARIO, DEFAULT_WEEKS, KNOB_BY_NAME, Panel, tidy
from sim.model import START_DATE, CrisisModel
from sim.params import ParameterError

TARGET_WORDS = {
    "chinese": "Chinese nationals",
    "security": "security forces",
    "infrastructure": "infrastructure",
}
LOG_KEEP = 400  # lines kept in the session's log


@dataclass(frozen=True)
class LogLine:
    """One line of the event log."""

    week: int
    text: str
    kind: str  # "attack", "chinese" (attack that killed Chinese nationals), "state"


def short_group_name(name: str) -> str:
    """'Majeed Brigade (BLA)' -> 'Majeed Brigade'."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", name)


def describe_attack(
    week: int,
    group: str,
    target: str,
    place: str,
    killed: int,
    chinese_killed: int,
    success: bool,
    interdicted: bool,
) -> str:
    """One attack in words: 'week 12: Majeed Brigade attack on Chinese nationals in Karachi,
    3 killed (all Chinese)'."""
    head = f"week {week}: {group} attack on {TARGET_WORDS.get(target, target)} in {place}"
    if interdicted:
        return f"{head} foiled by intelligence"
    if not success:
        return f"{head} failed"
    tail = f", {killed} killed" if killed else ", no one killed"
    if chinese_killed and chinese_killed == killed:
        tail += " (all Chinese)"
    elif chinese_killed:
        tail += f" ({chinese_killed} Chinese)"
    return head + tail


def week_start(week: int) -> dt.date:
    """Monday of model week ``week`` (week 1 starts on START_DATE)."""
    return dt.date.fromisoformat(START_DATE) + dt.timedelta(weeks=max(week, 1) - 1)


def parse_seed(seed: Any) -> tuple[int, str]:
    """A seed from a number or the text box; (0, a notice) if it is not a whole number >= 0."""
    text = str(seed).strip()
    try:
        value = int(text)
    except ValueError:
        return 0, f"Seed {text!r} is not a whole number; using seed 0."
    if value < 0:
        return 0, f"Seed {value} is negative; using seed 0."
    if value > MAX_SEED:
        return 0, f"Seed {value} is above the largest, {MAX_SEED:,}; using seed 0."
    return value, ""


class DashboardModel(CrisisModel):
    """CrisisModel from a scenario name plus the dashboard's slider values.

    A knob left at ``None`` keeps the scenario's value. ``seed`` may be text (from the
    sidebar's box): anything that is not a whole number >= 0 falls back to 0 with a notice.
    ``panel`` (the dashboard's sidebar) supplies the scenario and every knob at once; knobs
    given by keyword still win.
    """

    def __init__(
        self,
        scenario_name: str = DEFAULT_SCENARIO,
        seed: int | str = 0,
        weeks: int = DEFAULT_WEEKS,
        accept_chinese_troops: bool | None = None,
        chinese_troop_protection: float | None = None,
        foreign_troop_provocation: float | None = None,
        public_trust_in_china: float | None = None,
        joint_operations: bool | None = None,
        base_intensity: float | None = None,
        collateral_per_militant: float | None = None,
        patience_loss_per_death: float | None = None,
        iran_posture: str | None = None,
        risk_aversion: float | None = None,
        friction_scale: float | None = None,
        local_benefit_share: float | None = None,
        panel: Panel | None = None,
    ) -> None:
        knobs = {
            "accept_chinese_troops": accept_chinese_troops,
            "chinese_troop_protection": chinese_troop_protection,
            "foreign_troop_provocation": foreign_troop_provocation,
            "public_trust_in_china": public_trust_in_china,
            "joint_operations": joint_operations,
            "base_intensity": base_intensity,
            "collateral_per_militant": collateral_per_militant,
            "patience_loss_per_death": patience_loss_per_death,
            "iran_posture": iran_posture,
            "risk_aversion": risk_aversion,
            "friction_scale": friction_scale,
            "local_benefit_share": local_benefit_share,
        }
        overrides = panel.overrides() if panel is not None else {}
        if panel is not None:
            scenario_name = panel.scenario
        overrides.update(
            {
                KNOB_BY_NAME[name].path: tidy(KNOB_BY_NAME[name].path, value)
                for name, value in knobs.items()
                if value is not None
            }
        )
        self.seed, self.notice = parse_seed(seed)
        self.scenario_name = scenario_name
        self.overrides = overrides
        try:
            params = scenario_params(scenario_name, overrides)
        except ParameterError as exc:  # only reachable from code, not from the sidebar
            if scenario_name not in scenario_names():
                scenario_name = DEFAULT_SCENARIO
            self.notice = f"{exc}; running the scenario {scenario_name} as it is."
            self.scenario_name, self.overrides = scenario_name, {}
            params = scenario_params(scenario_name)
        super().__init__(params, weeks=weeks, seed=self.seed)
        self.log: list[LogLine] = []
        self.last_lines: list[LogLine] = []  # the latest week's lines
        self._events_seen = 0
        self._snapshot = self._state_snapshot()
        self._invested = {inv.key for inv in self.investors if inv.state == INVESTING}

    # --- stepping -----------------------------------------------------------------
    def step(self) -> None:
        """One week, then the log; stops at the horizon."""
        if self.week >= self.weeks:
            self.running = False
            return
        super().step()
        self._log_week()
        if self.week >= self.weeks:
            self.running = False

    # --- the log --------------------------------------------------------------------
    def _state_snapshot(self) -> dict[str, Any]:
        return {
            "level": self.china.level,
            "troops": bool(self.pakistan.chinese_troops),
            "joint": bool(self.pakistan.joint_operations),
            "iran": self.iran.posture,
            "investors": {inv.key: inv.state for inv in self.investors},
        }

    def _log_week(self) -> None:
        lines = [*self._attack_lines(), *self._state_lines()]
        self.last_lines = lines
        self.log.extend(lines)
        del self.log[:-LOG_KEEP]

    def _attack_lines(self) -> list[LogLine]:
        ev = self.recorder.events
        names = {g.key: short_group_name(g.name) for g in self.groups}
        places = self.places
        out = []
        for i in range(self._events_seen, len(ev["week"])):
            text = describe_attack(
                int(ev["week"][i]),
                names.get(ev["group"][i], ev["group"][i]),
                ev["target"][i],
                places.names[places.index(ev["district"][i])],
                int(ev["killed"][i]),
                int(ev["chinese_killed"][i]),
                bool(ev["success"][i]),
                bool(ev["interdicted"][i]),
            )
            kind = "chinese" if ev["chinese_killed"][i] else "attack"
            out.append(LogLine(int(ev["week"][i]), text, kind))
        self._events_seen = len(ev["week"])
        return out

    def _state_lines(self) -> list[LogLine]:
        before, now = self._snapshot, self._state_snapshot()
        self._snapshot = now
        w = self.week
        out: list[str] = []
        if now["level"] != before["level"]:
            verb = "escalates to" if now["level"] > before["level"] else "steps back to"
            out.append(f"China {verb} {LADDER[now['level']]} (patience {self.china.patience:.2f})")
        if now["troops"] and not before["troops"]:
            out.append("Pakistan lets Chinese troops guard Chinese nationals")
        if now["joint"] and not before["joint"]:
            out.append("joint China-Pakistan operations begin")
        if now["iran"] != before["iran"]:
            out.append(f"Iran's posture turns {now['iran']}")
        for inv in self.investors:
            old, new = before["investors"][inv.key], now["investors"][inv.key]
            if old == new:
                continue
            if new == WITHDRAWN:
                out.append(f"{inv.name} withdraws for good")
            elif new == PAUSED:
                out.append(f"{inv.name} pauses investment")
            elif new == INVESTING:
                verb = "resumes" if inv.key in self._invested else "starts"
                self._invested.add(inv.key)
                out.append(f"{inv.name} {verb} investing")
        return [LogLine(w, f"week {w}: {text}", "state") for text in out]

    # --- what the panels show -----------------------------------------------------
    def weekly(self, metric: str) -> Any:
        """A weekly metric for weeks 1..week (NumPy array)."""
        return self.recorder.weekly[metric][: self.week]
