"""Iran: a posture toward Baloch militancy on the shared border, in both directions.

The rules are compiled functions in :mod:`sim.rules.iran`, shared with the engine; this
module holds the Mesa agent that calls them (and re-exports the rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from mesa import Agent

from sim.params import IranParams
from sim.rules.iran import after_exchange, iran_week, next_posture, posture_name
from sim.world import IRAN_SCORE

if TYPE_CHECKING:
    from sim.model import CrisisModel

__all__ = ["IranState", "after_exchange", "iran_week", "next_posture", "posture_name"]


class IranState(Agent):
    """Iran as a state agent (its score lives in the model's world arrays)."""

    #: A participant's seat (:mod:`sim.workshop.seats`): once active, called instead of the rule.
    policy: Any = None

    def __init__(self, model: CrisisModel, params: IranParams) -> None:
        super().__init__(model)
        self.params = params

    @property
    def score(self) -> float:
        """Posture score in [-1, 1]."""
        return float(self.model.world.s[IRAN_SCORE])

    @property
    def posture(self) -> str:
        """Current posture name."""
        return posture_name(self.score)

    @property
    def denies_sanctuary(self) -> bool:
        """Joint border operations deny militants their sanctuary."""
        return self.posture == "cooperative"

    @property
    def strikes(self) -> np.ndarray:
        """Places struck this week."""
        return self.model.world.strikes

    def step(self) -> None:
        """Update the posture, then strike across the border if hostile (or a participant
        sets the posture: ``policy``)."""
        if self.policy is not None and self.policy.active:  # a participant decides
            self.policy(self)
            return
        m = self.model
        m.call(iran_week, m.stream, m.world, m.place_arrays, m.group_arrays, m.compiled)
