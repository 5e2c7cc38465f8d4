"""A militant group: BLA, its Majeed Brigade, BLF or Jaish al-Adl.

Each week a group
1. reorganises its cells: coalescence and shattering (Johnson et al. 2006);
2. draws a number of attack attempts in proportion to its fighters;
3. for each attempt picks a target by its learned propensities (Roth-Erev), a place
   where it can reach that target, and an attacking cell uniformly among its cells
   (Clauset & Wiegel 2010), whose size (up to the group's largest squad) sets the severity;
4. learns: success and publicity (Chinese victims) reinforce a target, failure punishes it;
   through BRAS, the other Baloch groups feel part of that lesson.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.attacks import CHINESE, TARGETS, AttackOutcome, resolve_attack
from sim.cells import CellPool
from sim.params import GroupParams, TargetingParams

if TYPE_CHECKING:
    from sim.model import CrisisModel


def reinforce(
    propensities: list[float], target: int, reward: float, p: TargetingParams
) -> list[float]:
    """Roth-Erev update: all propensities decay, the chosen one gains ``reward`` (floored)."""
    keep, floor = 1.0 - p.forgetting, p.min_propensity
    q = [x * keep for x in propensities]
    q[target] += reward
    return [x if x > floor else floor for x in q]


def attack_reward(outcome: AttackOutcome, chinese_publicity: float, p: TargetingParams) -> float:
    """Reward of an outcome: success plus publicity of Chinese victims, or a penalty."""
    if not outcome.success:
        return -p.failure_penalty
    return p.success_reward + chinese_publicity * outcome.chinese_killed


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
        self.propensities = [t.initial_chinese, t.initial_security, t.initial_infrastructure]
        cp = model.params.cells
        self.cells.run(int(cp.burn_in_per_fighter * self.cells.fighters), cp.shatter_probability)

    @property
    def fighters(self) -> int:
        """Fighters in the group (equals the sum of its cell sizes)."""
        return self.cells.fighters

    def step(self) -> None:
        """One week: reorganise cells, then attack and learn."""
        cp = self.model.params.cells
        self.cells.run(cp.events_per_week, cp.shatter_probability)
        for _ in range(self.draw_attempts()):
            self.attack_once()

    def draw_attempts(self) -> int:
        """Attack attempts this week ~ Poisson(rate x fighters / 1000)."""
        return int(self.model.rng.poisson(self.params.attack_rate * self.fighters / 1000.0))

    def choose_target(self) -> int:
        """Pick a target type with probability proportional to its propensity."""
        q = self.propensities
        x = self.model.random.random() * (q[0] + q[1] + q[2])
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
            target = 1  # security forces are everywhere
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
            m.chinese_nationals[place],
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
        t = self.model.params.targeting
        reward = attack_reward(outcome, self.params.chinese_publicity, t)
        self.propensities = reinforce(self.propensities, target, reward, t)
        if self.baloch and t.bras_coordination > 0:
            for other in self.model.groups:
                if other is not self and other.baloch:
                    other.hear_of(target, t.bras_coordination * reward)

    def hear_of(self, target: int, reward: float) -> None:
        """A lesson shared through BRAS: the reward moves the target, nothing decays."""
        t = self.model.params.targeting
        self.propensities[target] = max(t.min_propensity, self.propensities[target] + reward)

    def target_shares(self) -> list[float]:
        """Current probability of choosing each target."""
        total = sum(self.propensities)
        return [x / total for x in self.propensities]


__all__ = ["CHINESE", "TARGETS", "MilitantGroup", "attack_reward", "reinforce"]
