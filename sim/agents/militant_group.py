"""A militant group: BLA, its Majeed Brigade, BLF, Jaish al-Adl or the TTP.

Each week a group
1. forgets: every target propensity decays by the forgetting rate (Erev & Roth 1998);
2. reorganises its cells: coalescence and shattering (Johnson et al. 2006);
3. draws attack attempts ~ Poisson(base rate x fighters + excitation): recent attacks,
   and civilians harmed by operations where it lives, raise the rate for a while
   (a Hawkes-type kernel: Johnson et al. 2011; Condra & Shapiro 2012);
4. for each attempt picks a target with probability (1 - eps) q_j / sum q + eps / 3,
   a place where it can reach that target, and an attacking cell uniformly among its
   cells (Clauset & Wiegel 2010), whose size (up to the group's largest squad) sets
   the severity;
5. learns: the payoff minus the minimum payoff (a failure pays 0) reinforces the
   target -- success, and publicity of Chinese victims; through BRAS, the other Baloch
   groups feel part of that lesson.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.attacks import CHINESE, SECURITY, TARGETS, AttackOutcome, resolve_attack
from sim.cells import CellPool
from sim.params import EscalationParams, GroupParams, TargetingParams

if TYPE_CHECKING:
    from sim.model import CrisisModel


def initial_propensities(
    average_payoff: float, p: TargetingParams, chinese_focus: float = 1.0
) -> list[float]:
    """Erev & Roth's q_j(1) = s(1) x average payoff x prior share of j.

    ``chinese_focus`` weights the prior share of Chinese targets for one group.
    """
    prior = [chinese_focus * p.prior_chinese, p.prior_security, p.prior_infrastructure]
    total = sum(prior)
    return [p.initial_strength * average_payoff * x / total for x in prior]


def forget(propensities: list[float], p: TargetingParams) -> list[float]:
    """One week of forgetting: every propensity decays by the same share."""
    keep = 1.0 - p.forgetting
    return [x * keep for x in propensities]


def reinforce(propensities: list[float], target: int, reinforcement: float) -> list[float]:
    """Add a non-negative reinforcement (payoff minus the minimum payoff) to one target."""
    q = list(propensities)
    q[target] += max(0.0, reinforcement)
    return q


def choice_probabilities(propensities: list[float], p: TargetingParams) -> list[float]:
    """(1 - eps) q_j / sum q + eps / n: experimentation mixed into the choice.

    Propensities are scaled by their largest first, so shares stay exact when strong
    forgetting has made them subnormal.
    """
    n = len(propensities)
    top = max(propensities)
    if top <= 0:
        return [1.0 / n] * n
    q = [x / top for x in propensities]
    total = sum(q)
    eps = p.experimentation
    return [(1.0 - eps) * x / total + eps / n for x in q]


def attack_payoff(
    outcome: AttackOutcome,
    target: int,
    chinese_publicity: float,
    provoked: bool,
    p: TargetingParams,
) -> float:
    """Payoff of an outcome minus the minimum payoff (a failure, 0): never negative.

    Success pays ``success_reward``; Chinese victims add publicity; while Chinese troops
    guard, a successful attack on a Chinese target adds the provocation payoff.
    """
    if not outcome.success:
        return 0.0
    payoff = p.success_reward + chinese_publicity * outcome.chinese_killed
    if provoked and target == CHINESE:
        payoff += p.foreign_troop_provocation
    return payoff


def next_excitation(excitation: float, attempts: float, shock: float, p: EscalationParams) -> float:
    """Hawkes-type kernel: each attempt adds ``branching_ratio`` attempts in total, decaying.

    E' = memory x E + (1 - memory) x (branching_ratio x attempts + (1 - branching) x shock):
    a shock of ``s`` attempts (backlash) adds ``s`` attempts in all, its offspring included.
    """
    n = p.branching_ratio
    return p.memory * excitation + (1.0 - p.memory) * (n * attempts + (1.0 - n) * shock)


class MilitantGroup(Agent):
    """One armed group with fighters placed by district, cells and target propensities."""

    def __init__(
        self,
        model: CrisisModel,
        key: str,
        name: str,
        baloch: bool,
        fighters_at: np.ndarray,
        params: GroupParams,
    ) -> None:
        super().__init__(model)
        self.key, self.name, self.baloch, self.params = key, name, baloch, params
        self.fighters_at = fighters_at  # this group's row of the model's group x place matrix
        self.cells = CellPool(int(fighters_at.sum()), model.random)
        t = model.params.targeting
        self.propensities = initial_propensities(model.average_payoff(), t, params.chinese_focus)
        cp = model.params.cells
        self.cells.run(int(cp.burn_in_per_fighter * self.cells.fighters), cp.shatter_probability)
        # Start at the stationary excitation: branching ratio x the long-run rate.
        self.excitation = model.params.escalation.branching_ratio * self.long_run_rate()
        self.backlash = 0.0  # attempts owed to this week's civilian harm (set by the model)

    @property
    def fighters(self) -> int:
        """Fighters in the group (equals the sum of its cell sizes)."""
        return self.cells.fighters

    def step(self) -> None:
        """One week: forget, reorganise cells, then attack and learn."""
        m = self.model
        self.propensities = forget(self.propensities, m.params.targeting)
        cp = m.params.cells
        self.cells.run(cp.events_per_week, cp.shatter_probability)
        attempts = self.draw_attempts()
        for _ in range(attempts):
            self.attack_once()
        self.excitation = next_excitation(
            self.excitation, attempts, self.backlash, m.params.escalation
        )
        self.backlash = 0.0

    def long_run_rate(self) -> float:
        """Mean attempts a week at the current strength: attack rate x fighters / 1000."""
        return self.params.attack_rate * self.fighters / 1000.0

    def base_rate(self) -> float:
        """Background attempts a week: the long-run rate less its self-excited share."""
        return (1.0 - self.model.params.escalation.branching_ratio) * self.long_run_rate()

    def draw_attempts(self) -> int:
        """Attack attempts this week ~ Poisson(background + excitation)."""
        if self.fighters == 0:
            return 0
        return int(self.model.rng.poisson(self.base_rate() + self.excitation))

    def choose_target(self) -> int:
        """Pick a target type by the choice probabilities."""
        q = choice_probabilities(self.propensities, self.model.params.targeting)
        x = self.model.random.random()
        return 0 if x < q[0] else (1 if x < q[0] + q[1] else 2)

    def reach(self) -> np.ndarray:
        """Where the group can strike: its own places, and weakly their neighbours."""
        own = self.fighters_at.astype(float)
        return own + self.model.params.attacks.neighbour_reach * self.model.spread(own)

    def attack_once(self) -> None:
        """Choose target, place and cell; resolve the attack; learn from it."""
        if self.fighters == 0:
            return
        m = self.model
        target = self.choose_target()
        weights = self.reach() * m.target_availability[target]
        if weights.sum() <= 0:
            target = SECURITY  # security forces are everywhere
            weights = self.reach() * m.target_availability[target]
        place = int(m.random.choices(range(len(weights)), weights=weights.tolist())[0])
        size = self.cells.pick_uniform()
        squad = min(size, self.params.max_attackers)
        outcome = resolve_attack(
            m.random,
            m.rng,
            target,
            squad,
            m.attack_success_probability(target, place),
            m.interdiction_probability(),
            self.params.lethality,
            self.params.suicide_attacks,
            m.chinese_exposed(place),
            m.params.attacks,
        )
        self.lose_attackers(size, outcome.attackers_lost, place)
        m.record_attack(self, place, target, squad, outcome)
        self.learn(target, outcome)

    def lose_attackers(self, cell_size: int, lost: int, place: int) -> None:
        """Remove killed or captured attackers from their cell and from the map."""
        self.cells.shrink_cell(cell_size, lost)
        self.remove_from_places(lost, prefer=place)

    def remove_from_places(self, n: int, prefer: int | None = None) -> None:
        """Take ``n`` fighters off the map, first at ``prefer``, then where most are."""
        if prefer is not None:
            take = min(n, int(self.fighters_at[prefer]))
            self.fighters_at[prefer] -= take
            n -= take
        while n > 0 and self.fighters_at.sum() > 0:
            i = int(np.argmax(self.fighters_at))
            take = min(n, int(self.fighters_at[i]))
            self.fighters_at[i] -= take
            n -= take

    def lose_fighters(self, total: int) -> None:
        """Operations removed ``total`` fighters (already taken off the map): thin the cells."""
        if total:
            self.cells.remove_fighters(total)

    def recruit(self, recruits: np.ndarray) -> None:
        """New fighters join at their places as single-fighter cells."""
        total = int(recruits.sum())
        if total:
            self.fighters_at += recruits
            self.cells.add_recruits(total)

    def learn(self, target: int, outcome: AttackOutcome) -> None:
        """Reinforce this group's propensities, and (via BRAS) the other Baloch groups'."""
        m = self.model
        t = m.params.targeting
        payoff = attack_payoff(
            outcome, target, self.params.chinese_publicity, m.pakistan.chinese_troops, t
        )
        self.propensities = reinforce(self.propensities, target, payoff)
        if self.baloch and t.bras_coordination > 0:
            for other in m.groups:
                if other is not self and other.baloch:
                    other.hear_of(target, t.bras_coordination * payoff)

    def hear_of(self, target: int, reinforcement: float) -> None:
        """A lesson shared through BRAS: a share of the payoff reinforces the target."""
        self.propensities = reinforce(self.propensities, target, reinforcement)

    def target_shares(self) -> list[float]:
        """Current probability of choosing each target."""
        return choice_probabilities(self.propensities, self.model.params.targeting)


__all__ = [
    "CHINESE",
    "TARGETS",
    "MilitantGroup",
    "attack_payoff",
    "choice_probabilities",
    "forget",
    "initial_propensities",
    "reinforce",
]
