"""China: patience that wears out with each national killed, and an escalation ladder.

Rules (from the seed, November 2024):
1. patience falls by a fixed amount for each Chinese national killed, and recovers a
   little in each week with no Chinese killed;
2. the ladder climbs when patience falls below a step's threshold:
   0 normal -> 1 diplomatic pressure -> 2 investment hold for state firms ->
   3 demand for direct protection and joint operations;
3. with hysteresis, it steps down only when patience is back above threshold + gap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa import Agent

from sim.params import ChinaParams

if TYPE_CHECKING:
    from sim.model import CrisisModel

NORMAL, PRESSURE, HOLD, DEMAND = 0, 1, 2, 3
LADDER = ("normal", "diplomatic pressure", "investment hold", "demand protection")


def next_patience(patience: float, chinese_killed: int, p: ChinaParams) -> float:
    """Patience after a week in which ``chinese_killed`` nationals died."""
    if chinese_killed > 0:
        return max(0.0, patience - p.patience_loss_per_death * chinese_killed)
    return min(1.0, patience + p.patience_recovery)


def next_level(level: int, patience: float, p: ChinaParams) -> int:
    """Ladder step after a patience update, with hysteresis on the way down."""
    thresholds = (p.pressure_below, p.hold_below, p.demand_below)  # to reach steps 1, 2, 3
    while level < DEMAND and patience < thresholds[level]:
        level += 1
    while level > NORMAL and patience > thresholds[level - 1] + p.hysteresis:
        level -= 1
    return level


class ChinaState(Agent):
    """China as a state agent with a patience level and an escalation ladder."""

    def __init__(self, model: CrisisModel, params: ChinaParams) -> None:
        super().__init__(model)
        self.params = params
        self.patience = params.initial_patience
        self.level = next_level(NORMAL, self.patience, params)

    @property
    def investment_hold(self) -> bool:
        """State firms may not invest (ladder step 2 or an imposed freeze)."""
        return self.params.force_investment_hold or self.level >= HOLD

    @property
    def demands_protection(self) -> bool:
        """China demands its troops guard its nationals and joint operations."""
        return self.level >= DEMAND

    @property
    def pressure(self) -> float:
        """Pressure on Pakistan, 0 (none) to 1 (top of the ladder)."""
        return self.level / DEMAND

    def step(self) -> None:
        """React to last week's Chinese deaths."""
        killed = self.model.last_week_chinese_killed
        self.patience = next_patience(self.patience, killed, self.params)
        self.level = next_level(self.level, self.patience, self.params)
