"""The crisis model: states, militant groups and investors on a network of places.

One step is one week from the week of 18 November 2024. Each week, in order:
Iran sets its posture; China reacts to last week's deaths; Pakistan operates and
protects; grievance, legitimacy and recruitment move in every place; the groups
reorganise and attack (in random order); every fourth week the investors decide.

The model knows nothing of Hydra, files or the command line::

    from sim import CrisisModel, ModelParams
    result = CrisisModel(ModelParams(), weeks=104, seed=1).run()
    result.summary["chinese_killed"]
"""

from __future__ import annotations

from collections import deque

import numpy as np
from mesa import Model

from sim import society
from sim.agents.china import ChinaState
from sim.agents.investor import PAUSED, WITHDRAWN, Investor
from sim.agents.iran import IranState
from sim.agents.militant_group import MilitantGroup
from sim.agents.pakistan import PakistanState
from sim.attacks import (
    CHINESE,
    INFRASTRUCTURE,
    SECURITY,
    TARGETS,
    AttackOutcome,
    guard_protection,
    success_probability,
)
from sim.params import GroupParams, ModelParams, validate
from sim.record import WEEKLY_COUNTS, Recorder, ReplicateResult
from sim.space import build_network, load_groups, load_investors, load_places

START_DATE = "2024-11-18"


class CrisisModel(Model):
    """The Balochistan-CPEC crisis as a Mesa model."""

    def __init__(
        self,
        params: ModelParams | None = None,
        weeks: int = 104,
        seed: int = 0,
        network: bool = True,
    ) -> None:
        super().__init__(rng=seed)
        self.params = validate(params or ModelParams())
        self.weeks = weeks
        self.week = 0
        self.places = load_places()
        self.space = build_network(self.places, self.random) if network else None
        n = len(self.places.ids)
        self._adjacency = self._adjacency_matrix()
        self._baloch_mask = self.places.balochistan
        self._pakistan_mask = ~self.places.in_iran
        self._border_or_iran = self.places.borders_iran | self.places.in_iran
        self._hardship_stale = True
        self._pop_weights = self.places.population * self._baloch_mask
        self._pop_weights = self._pop_weights / self._pop_weights.sum()

        # Place state the model changes (copies of the data file's values).
        self.legitimacy = self.places.legitimacy.copy()
        self.hardship = self.places.hardship.copy()
        self.chinese_nationals = self.places.chinese_nationals.copy()
        self.target_availability = np.ones((len(TARGETS), n))
        self.recent_chinese_attacks_by_place = np.zeros(n)
        self.month_incidents_by_place = np.zeros(n)

        # Agents: states, groups, investors.
        self.iran = IranState(self, self.params.iran)
        self.china = ChinaState(self, self.params.china)
        self.pakistan = PakistanState(self, self.params.pakistan)
        specs = load_groups()
        self.fighters_at = np.zeros((len(specs), n), dtype=np.int64)  # group x place
        self.groups = [
            self._make_group(i, key, spec) for i, (key, spec) in enumerate(specs.items())
        ]
        self.investors = [Investor(self, rec, self.params.investors) for rec in load_investors()]

        # Weekly tallies and memory.
        self.recorder = Recorder(weeks)
        self._attack_history: deque[int] = deque(maxlen=8)
        self._tally: dict[str, float] = {}
        self._chinese_attacks_this_week = np.zeros(n)
        self.last_week_chinese_killed = 0
        self.last_week_jaa_attacks_in_iran = 0
        self.first_pause_week: int | None = None
        self._update_targets()

    # --- construction -------------------------------------------------------------
    def _adjacency_matrix(self) -> np.ndarray:
        n = len(self.places.ids)
        a = np.zeros((n, n))
        for i, nbrs in enumerate(self.places.neighbours()):
            a[i, nbrs] = 1.0
        return a

    def _make_group(self, row: int, key: str, spec: dict) -> MilitantGroup:
        fighters = self.fighters_at[row]  # a view: the group updates the model's matrix
        for place, count in spec["fighters"].items():
            fighters[self.places.index(place)] = count
        gp: GroupParams = getattr(self.params.groups, key)
        return MilitantGroup(self, key, spec["name"], spec["baloch"], fighters, gp)

    # --- queries used by agents ---------------------------------------------------
    def spread(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over each place's network neighbours."""
        return self._adjacency @ values

    def recent_attacks(self, weeks: int) -> int:
        """Attacks in the last ``weeks`` weeks."""
        return sum(list(self._attack_history)[-weeks:])

    def attack_success_probability(self, target: int, place: int) -> float:
        """Chance an attempt on ``target`` at ``place`` succeeds if not interdicted."""
        protection = 0.0
        if target == CHINESE:
            protection = float(self._protection[place])
        return success_probability(
            target, protection, self.pakistan.chinese_troops, self.params.attacks
        )

    def interdiction_probability(self) -> float:
        """Chance an attempt is stopped before it starts."""
        a = self.params.attacks
        joint = a.joint_intel_interdiction if self.pakistan.joint_operations else 0.0
        return min(1.0, a.interdiction_base + joint)

    # --- recording hooks ----------------------------------------------------------
    def record_attack(
        self, group: MilitantGroup, place: int, target: int, size: int, o: AttackOutcome
    ) -> None:
        """Count one attack in this week's tallies and the event table."""
        t = self._tally
        t["attacks"] += 1
        t[("attacks_on_chinese", "attacks_on_security", "attacks_on_infrastructure")[target]] += 1
        in_baloch = bool(self._baloch_mask[place])
        t["attacks_balochistan"] += in_baloch
        t["killed"] += o.killed
        t["killed_balochistan"] += o.killed * in_baloch
        t["chinese_killed"] += o.chinese_killed
        t["security_killed"] += o.security_killed
        t["civilians_killed"] += o.civilians_killed
        t["militants_killed"] += o.attackers_lost
        if target == CHINESE:
            self._chinese_attacks_this_week[place] += 1
        self.month_incidents_by_place[place] += (target == CHINESE) + 0.5 * o.chinese_killed
        if group.key == "jaish_al_adl" and self.places.in_iran[place]:
            self._jaa_in_iran += 1
        self.recorder.add_event(
            (
                self.week,
                group.key,
                self.places.ids[place],
                TARGETS[target],
                size,
                o.killed,
                o.chinese_killed,
                o.security_killed,
                o.civilians_killed,
                o.attackers_lost,
                o.success,
                o.interdicted,
            )
        )

    def record_militants_killed(self, n: int) -> None:
        """Militants killed by operations this week."""
        self._tally["militants_killed"] += n

    def record_collateral_deaths(self, deaths: np.ndarray) -> None:
        """Civilians killed by operations this week, by place."""
        self._tally["civilians_killed"] += int(deaths.sum())

    def record_civilian_deaths(self, place: int, n: int) -> None:
        """Civilians killed by a cross-border strike."""
        self._tally["civilians_killed"] += n

    def note_first_pause(self) -> None:
        """Remember the first week any investor paused."""
        if self.first_pause_week is None:
            self.first_pause_week = self.week

    # --- the week -----------------------------------------------------------------
    def step(self) -> None:
        """Advance one week."""
        self.week += 1
        self._begin_week()
        self.iran.step()
        self.china.step()
        self.pakistan.step()
        self._protection = guard_protection(
            self.pakistan.guards, self.chinese_nationals, self.params.attacks
        )
        self.update_society()
        order = list(self.groups)
        self.random.shuffle(order)
        for group in order:
            group.step()
        if self.week % 4 == 0:
            for investor in self.investors:
                investor.step()
            self._hardship_stale = True
            self.month_incidents_by_place[:] = 0.0
        self._end_week()

    def _begin_week(self) -> None:
        self._tally = dict.fromkeys(WEEKLY_COUNTS, 0.0)
        self._chinese_attacks_this_week[:] = 0.0
        self._jaa_in_iran = 0

    def update_society(self) -> None:
        """Legitimacy, hardship, grievance and recruitment in every place (Epstein 2002)."""
        p = self.params
        if self._hardship_stale:  # capital moves only at the monthly decisions
            deployed = np.zeros(len(self.places.ids))
            for inv in self.investors:
                deployed[inv.site] += inv.deployed
            self.hardship = society.relieved_hardship(
                self.places.hardship, deployed, self.places.population, p.legitimacy
            )
            self._hardship_stale = False
        foreign = self._foreign_troops_seen()
        self.legitimacy = society.update_legitimacy(
            self.legitimacy,
            self.places.legitimacy,
            self.pakistan.civilian_harm,
            self.places.population,
            foreign,
            self.iran.strikes,
            p.legitimacy,
        )
        self.grievance = society.grievance(self.hardship, self.legitimacy)
        fighters = self.fighters_at.sum(axis=0)
        security = self.places.security * (
            1.0 + p.pakistan.surge_security_per_intensity * self.pakistan.intensity
        )
        p_arrest = society.arrest_probability(security, fighters, p.recruitment)
        willing = society.willing_share(self.grievance, p_arrest, p.recruitment.threshold)
        if self.iran.denies_sanctuary:
            willing = willing * np.where(self._border_or_iran, 0.5, 1.0)
        expected = society.expected_recruits(willing, self.places.population, p.recruitment)
        self._recruit(self.rng.poisson(expected))

    def _foreign_troops_seen(self) -> np.ndarray:
        """Where Pakistanis see foreign troops: guarded sites, and joint operation areas."""
        seen = np.zeros(len(self.places.ids))
        if self.pakistan.chinese_troops:
            seen += (self.chinese_nationals > 0) * 1.0
        if self.pakistan.joint_operations:
            seen += 0.5 * self.pakistan.intensity
        return seen * self._pakistan_mask

    def _recruit(self, recruits: np.ndarray) -> None:
        """Share each place's recruits among the groups there, in proportion to presence.

        Recruits in a place where no group is present are not mobilised.
        """
        present = self.fighters_at.T.astype(float)  # place x group
        totals = present.sum(axis=1, keepdims=True)
        has_group = totals[:, 0] > 0
        shares = np.where(totals > 0, present / np.where(totals > 0, totals, 1.0), 0.0)
        shares[~has_group, 0] = 1.0  # placeholder row; its recruits are zeroed below
        recruits = np.where(has_group, recruits, 0)
        split = self.rng.multinomial(recruits, shares)  # place x group
        for i, group in enumerate(self.groups):
            group.recruit(split[:, i])
        self._tally["recruits"] = float(recruits.sum())

    def _update_targets(self) -> None:
        self.target_availability[CHINESE] = (self.chinese_nationals > 0) * 1.0
        self.target_availability[SECURITY] = 1.0
        self.target_availability[INFRASTRUCTURE] = 1.0

    def _end_week(self) -> None:
        t = self._tally
        self._attack_history.append(int(t["attacks"]))
        self.last_week_chinese_killed = int(t["chinese_killed"])
        self.last_week_jaa_attacks_in_iran = self._jaa_in_iran
        self.recent_chinese_attacks_by_place = (
            0.9 * self.recent_chinese_attacks_by_place + self._chinese_attacks_this_week
        )
        self._update_targets()
        states = [inv.state for inv in self.investors]
        baloch = [g.target_shares()[CHINESE] for g in self.groups if g.baloch]
        values = dict(t)
        values.update(
            fighters=sum(g.fighters for g in self.groups),
            grievance=float(self.grievance @ self._pop_weights),
            legitimacy=float(self.legitimacy @ self._pop_weights),
            china_patience=self.china.patience,
            china_level=self.china.level,
            investment_hold=float(self.china.investment_hold),
            chinese_troops=float(self.pakistan.chinese_troops),
            joint_operations=float(self.pakistan.joint_operations),
            operation_intensity=self.pakistan.intensity,
            iran_posture=self.iran.score,
            capital_deployed=sum(inv.deployed for inv in self.investors),
            investors_active=states.count("investing"),
            investors_paused=states.count(PAUSED),
            investors_withdrawn=states.count(WITHDRAWN),
            chinese_nationals=float(self.chinese_nationals.sum()),
            share_chinese_target=sum(baloch) / len(baloch),
        )
        self.recorder.set_week(self.week, values)

    def run(self) -> ReplicateResult:
        """Run to the horizon and return the replicate's outputs."""
        while self.week < self.weeks:
            self.step()
        return self.recorder.result(self.week, self.first_pause_week)
