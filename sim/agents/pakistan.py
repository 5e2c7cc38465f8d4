"""Pakistan: operations against the militants and protection of Chinese nationals.

The rules are compiled functions in :mod:`sim.rules.pakistan`, shared with the engine; this
module holds the Mesa agent that calls them (and re-exports the rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from mesa import Agent

from sim.rules.pakistan import (
    acceptance_probability,
    allocate_guards,
    conduct_operations,
    joint_operations,
    operation_intensity,
    pakistan_week,
    recent_attacks,
    removal_probability,
    troop_coverage,
)
from sim.world import INTENSITY, JOINT

if TYPE_CHECKING:
    from sim.model import CrisisModel

__all__ = [
    "PakistanState",
    "acceptance_probability",
    "allocate_guards",
    "conduct_operations",
    "operation_intensity",
    "pakistan_week",
    "recent_attacks",
    "removal_probability",
    "troop_coverage",
]


class PakistanState(Agent):
    """Pakistan as a state agent (its state lives in the model's world arrays)."""

    #: A participant's seat (:mod:`sim.workshop.seats`): once active, called instead of the rule.
    policy: Any = None

    def __init__(self, model: CrisisModel, params: Any) -> None:
        super().__init__(model)
        self.params = params

    @property
    def intensity(self) -> float:
        """This week's operation intensity."""
        return float(self.model.world.s[INTENSITY])

    @property
    def chinese_troops(self) -> bool:
        """Chinese troops guard their nationals at some site (let in, and some to send)."""
        return bool((self.model.world.troop_sites > 0).any())

    @property
    def troop_sites(self) -> np.ndarray:
        """Cover by Chinese troops at each site (0 none, 1 a full detachment)."""
        return self.model.world.troop_sites

    @property
    def guards(self) -> np.ndarray:
        """Guards by site."""
        return self.model.world.guards

    @property
    def civilian_harm(self) -> np.ndarray:
        """Civilians harmed by this week's operations, by place."""
        return self.model.world.civilian_harm

    @property
    def joint_operations(self) -> bool:
        """Joint China-Pakistan operations: ordered by the scenario, or since Pakistan yielded
        to China's demand."""
        return bool(joint_operations(self.model.world.s[JOINT] > 0, self.model.compiled.china))

    def step(self) -> None:
        """Decide and act for one week (:func:`pakistan_week`), or a participant decides
        (``policy``)."""
        if self.policy is not None and self.policy.active:  # a participant decides
            self.policy(self)
            return
        m = self.model
        m.call(pakistan_week, m.stream, m.world, m.place_arrays, m.group_arrays, m.compiled)
