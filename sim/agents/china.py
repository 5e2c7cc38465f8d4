"""China: patience that wears out with each national killed, and an escalation ladder.

The rules are compiled functions in :mod:`sim.rules.china`, shared with the engine; this
module holds the Mesa agent that calls them (and re-exports the rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesa import Agent

from sim.params import ChinaParams
from sim.rules.china import (
    DEMAND,
    HOLD,
    LADDER,
    NORMAL,
    PRESSURE,
    china_week,
    investment_hold,
    next_level,
    next_patience,
)
from sim.world import LEVEL, PATIENCE

if TYPE_CHECKING:
    from sim.model import CrisisModel

__all__ = [
    "DEMAND",
    "HOLD",
    "LADDER",
    "NORMAL",
    "PRESSURE",
    "ChinaState",
    "china_week",
    "investment_hold",
    "ladder_thresholds",
    "next_level",
    "next_patience",
]


def ladder_thresholds(p: ChinaParams) -> tuple[float, float, float]:
    """Patience below which China climbs to pressure, hold and demand (``next_level``'s
    thresholds; it steps back down only above each plus ``p.hysteresis``)."""
    return p.pressure_below, p.hold_below, p.demand_below


class ChinaState(Agent):
    """China as a state agent with a patience level and an escalation ladder."""

    #: A participant's seat (:mod:`sim.workshop.seats`): once active, called instead of the rule.
    policy: Any = None

    def __init__(self, model: CrisisModel, params: ChinaParams) -> None:
        super().__init__(model)
        self.params = params

    @property
    def patience(self) -> float:
        """Patience left, 1 (full) to 0."""
        return float(self.model.world.s[PATIENCE])

    @property
    def level(self) -> int:
        """Step on the escalation ladder (0-3)."""
        return int(self.model.world.s[LEVEL])

    @property
    def investment_hold(self) -> bool:
        """State firms may not invest (ladder step 2 or an imposed freeze)."""
        return bool(investment_hold(self.level, self.model.compiled.china))

    @property
    def demands_protection(self) -> bool:
        """China demands its troops guard its nationals and joint operations."""
        return self.level >= DEMAND

    def step(self) -> None:
        """React to last week's Chinese deaths (:func:`china_week`), or a participant decides
        (``policy``)."""
        if self.policy is not None and self.policy.active:  # a participant decides
            self.policy(self)
            return
        self.model.call(china_week, self.model.world, self.model.compiled)
