"""China: patience that wears out with each national killed, and an escalation ladder.

Rules (from the seed, November 2024):
1. patience falls by a fixed amount for each Chinese national killed, and recovers a
   little in each week with no Chinese killed;
2. the ladder climbs when patience falls below a step's threshold:
   0 normal -> 1 diplomatic pressure -> 2 investment hold for state firms ->
   3 demand for direct protection and joint operations;
3. with hysteresis, it steps down only when patience is back above threshold + gap;
4. an imposed freeze (Beijing carries out its threat) holds the ladder at step 2 at least,
   so Pakistan feels the same pressure as when the ladder reaches the hold by itself.
"""

from __future__ import annotations

from typing import Any

from sim.compiled import inlined_rule, rule
from sim.world import LAST_CHINESE_KILLED, LEVEL, PATIENCE

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
def imposed_floor(level: int, p: Any) -> int:
    """Rule 4: the ladder step under an imposed freeze (at least the investment hold)."""
    return max(level, HOLD) if p.force_investment_hold else level


@rule
def ladder_step(level: int, patience: float, p: Any) -> int:
    """Rules 2-4: the step after a patience update, with an imposed freeze's floor."""
    return imposed_floor(next_level(level, patience, p), p)


@rule
def investment_hold(level: float, p: Any) -> bool:
    """State firms may not invest (ladder step 2 or an imposed freeze)."""
    return p.force_investment_hold or level >= HOLD


@inlined_rule
def china_week(world: Any, params: Any) -> None:
    """Rules 1-4: patience, then the ladder."""
    s = world.s
    s[PATIENCE] = next_patience(s[PATIENCE], int(s[LAST_CHINESE_KILLED]), params.china)
    s[LEVEL] = ladder_step(int(s[LEVEL]), s[PATIENCE], params.china)
