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


def row_shares(weights: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; rows summing to 0 stay 0 (place x group presence)."""
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


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
        self._adjacency = self._adjacency_matrix()  # edges a group can reach across
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
        self._jaa_row = list(specs).index("jaish_al_adl")
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
        for i, nbrs in enumerate(self.places.neighbours(reach_only=True)):
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

    def jaa_sanctuary_share(self) -> float:
        """Share of Jaish al-Adl's fighters on Pakistani soil (its sanctuaries)."""
        row = self.fighters_at[self._jaa_row]
        total = row.sum()
        return float(row[self._pakistan_mask].sum() / total) if total > 0 else 0.0

    def recent_attacks(self, weeks: int) -> int:
        """Attacks in the last ``weeks`` weeks."""
        return sum(list(self._attack_history)[-weeks:])

    def attack_success_probability(self, target: int, place: int) -> float:
        """Chance an attempt on ``target`` at ``place`` succeeds if not interdicted."""
        protection = 0.0
        troops = False
        if target == CHINESE:
            protection = float(self._protection[place])
            troops = bool(self.pakistan.troop_sites[place])
        return success_probability(target, protection, troops, self.params.attacks)

    def chinese_exposed(self, place: int) -> float:
        """Chinese nationals in the vehicle or compound an attack at ``place`` hits."""
        return min(float(self.places.chinese_per_vehicle[place]), self.chinese_nationals[place])

    def average_payoff(self) -> float:
        """Erev & Roth's X: the average payoff of an attempt over the targets, at the start.

        Initial propensities scale with it, so a cost common to every target (interdiction)
        rescales payoffs and initial propensities alike and leaves the learned mix alone.
        """
        a = self.params.attacks
        success = (a.success_chinese + a.success_security + a.success_infrastructure) / 3
        return (
            (1.0 - self.interdiction_probability()) * success * self.params.targeting.success_reward
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
        t["militants_killed"] += o.attackers_lost - o.attackers_captured
        t["militants_captured"] += o.attackers_captured
        if target == CHINESE:
            self._chinese_attacks_this_week[place] += 1
        per_death = self.params.investors.incident_weight_per_death
        self.month_incidents_by_place[place] += (target == CHINESE) + per_death * o.chinese_killed
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

    def record_militants_removed(self, killed: int, captured: int) -> None:
        """Militants killed and captured by operations this week."""
        self._tally["militants_killed"] += killed
        self._tally["militants_captured"] += captured

    def record_collateral_deaths(self, deaths: np.ndarray) -> None:
        """Civilians killed by operations this week, by place."""
        self._tally["civilians_killed"] += int(deaths.sum())

    def record_civilian_deaths(self, place: int, n: int) -> None:
        """Civilians killed by a cross-border strike (either side's)."""
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
        """Legitimacy, hardship, grievance, recruitment and backlash (Epstein 2002)."""
        p = self.params
        if self._hardship_stale:  # capital moves only at the monthly decisions
            deployed = np.zeros(len(self.places.ids))
            for inv in self.investors:
                deployed[inv.site] += inv.deployed
            self.hardship = society.relieved_hardship(
                self.places.hardship, deployed, self.places.population, p.legitimacy
            )
            self._hardship_stale = False
        harm = self.pakistan.civilian_harm
        self.legitimacy = society.update_legitimacy(
            self.legitimacy,
            self.places.legitimacy,
            harm,
            self.places.population,
            self._foreign_troops_seen(),
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
            denial = p.iran.sanctuary_recruit_denial
            willing = willing * np.where(self._border_or_iran, 1.0 - denial, 1.0)
        expected = society.expected_recruits(willing, self.places.population, p.recruitment)
        expected = expected + p.recruitment.backlash_recruits_per_harmed * harm
        self._recruit(self.rng.poisson(expected))
        self._revenge(harm)

    def _foreign_troops_seen(self) -> np.ndarray:
        """Where Pakistanis see foreign troops: guarded sites, or joint operations (not both)."""
        guarded = self.pakistan.troop_sites * 1.0
        joint = np.zeros(len(self.places.ids))
        if self.pakistan.joint_operations:
            joint[:] = self.params.legitimacy.joint_operation_visibility * self.pakistan.intensity
        return np.maximum(guarded, joint) * self._pakistan_mask

    def _recruit(self, recruits: np.ndarray) -> None:
        """Share each place's recruits among the groups there, in proportion to presence.

        Where no group is present, a share ``neighbour_mobilisation`` of the recruits joins
        the groups of the neighbouring places (in proportion to their presence there) and
        stays at home, re-seeding the district; the rest are not mobilised.
        """
        present = self.fighters_at.T.astype(float)  # place x group
        local = present.sum(axis=1) > 0
        weights = np.where(local[:, None], present, self._adjacency @ present)
        has = weights.sum(axis=1) > 0
        reseed = self.params.recruitment.neighbour_mobilisation
        recruits = np.where(local, recruits, self.rng.binomial(recruits, reseed))
        recruits = np.where(has, recruits, 0)
        shares = row_shares(weights)
        shares[~has, 0] = 1.0  # placeholder rows; their recruits are zero
        split = self.rng.multinomial(recruits, shares)  # place x group
        for i, group in enumerate(self.groups):
            group.recruit(split[:, i])
        self._tally["recruits"] = float(recruits.sum())

    def _revenge(self, harm: np.ndarray) -> None:
        """Civilian harm raises the attack tempo of the groups where it happened.

        Each civilian harmed adds ``backlash_attacks_per_harmed`` attempts, spread over
        the following weeks by the escalation kernel, shared by presence (Condra & Shapiro
        2012: state-caused civilian casualties are followed by more insurgent attacks).
        """
        k = self.params.recruitment.backlash_attacks_per_harmed
        if k <= 0 or harm.sum() <= 0:
            return
        owed = harm @ row_shares(self.fighters_at.T.astype(float)) * k  # by group
        for group, extra in zip(self.groups, owed.tolist(), strict=True):
            group.backlash += extra

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
            self.params.pakistan.guard_memory * self.recent_chinese_attacks_by_place
            + self._chinese_attacks_this_week
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
            sites_guarded_by_troops=float(self.pakistan.troop_sites.sum()),
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
