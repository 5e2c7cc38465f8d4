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

from typing import TYPE_CHECKING, Any

from mesa import Agent

from sim.compiled import rule
from sim.params import ChinaParams
from sim.world import LAST_CHINESE_KILLED, LEVEL, PATIENCE

if TYPE_CHECKING:
    from sim.model import CrisisModel

NORMAL, PRESSURE, HOLD, DEMAND = 0, 1, 2, 3
LADDER = ("normal", "diplomatic pressure", "investment hold", "demand protection")


@rule
def next_patience(patience: float, chinese_killed: int, p: Any) -> float:
    """Patience after a week in which ``chinese_killed`` nationals died."""
    if chinese_killed > 0:
        return max(0.0, patience - p.patience_loss_per_death * chinese_killed)
    return min(1.0, patience + p.patience_recovery)


@rule
def next_level(level: int, patience: float, p: Any) -> int:
    """Ladder step after a patience update, with hysteresis on the way down."""
    thresholds = (p.pressure_below, p.hold_below, p.demand_below)  # to reach steps 1, 2, 3
    while level < DEMAND and patience < thresholds[level]:
        level += 1
    while level > NORMAL and patience > thresholds[level - 1] + p.hysteresis:
        level -= 1
    return level


@rule
def investment_hold(level: float, p: Any) -> bool:
    """State firms may not invest (ladder step 2 or an imposed freeze)."""
    return p.force_investment_hold or level >= HOLD


@rule
def china_week(world: Any, params: Any) -> None:
    """Rules 1-3: patience, then the ladder."""
    s = world.s
    s[PATIENCE] = next_patience(s[PATIENCE], int(s[LAST_CHINESE_KILLED]), params.china)
    s[LEVEL] = next_level(int(s[LEVEL]), s[PATIENCE], params.china)


class ChinaState(Agent):
    """China as a state agent with a patience level and an escalation ladder."""

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

    @property
    def pressure(self) -> float:
        """Pressure on Pakistan, 0 (none) to 1 (top of the ladder)."""
        return self.level / DEMAND

    def step(self) -> None:
        """React to last week's Chinese deaths (:func:`china_week`)."""
        self.model.call(china_week, self.model.world, self.model.compiled)
