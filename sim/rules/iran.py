"""Iran: a posture toward Baloch militancy on the shared border, in both directions.

Rules (seed; the January 2024 exchange of strikes; joint raids near Saravan, Nov 2024):
1. the posture is a score in [-1, 1]: hostile below -1/3, cooperative above 1/3;
2. each Jaish al-Adl attack inside Iran moves it two ways: toward cooperation as far as
   Pakistan is seen acting (its operation intensity), toward hostility as far as the
   group operates from Pakistani soil (its share of fighters in Pakistan);
3. without attacks it drifts back toward neutral (unless the scenario fixes it);
4. when hostile, Iran may strike militant hideouts across the border (civilian deaths,
   lost legitimacy); Pakistan may strike back (18 January 2024), after which both step
   back toward cooperation; when cooperative, joint border operations deny sanctuary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim import draws
from sim.compiled import inlined_rule, rule
from sim.world import INTENSITY, IRAN_SCORE, JAA_ROW, LAST_JAA_IN_IRAN, T_CIVILIANS_KILLED


@rule
def next_posture(
    score: float,
    jaa_attacks_in_iran: int,
    pakistan_intensity: float,
    sanctuary_share: float,
    p: Any,
) -> float:
    """Posture score after a week with ``jaa_attacks_in_iran`` Jaish al-Adl attacks."""
    if p.posture_fixed:
        return score
    push = (
        p.cooperation_per_jaa_attack * pakistan_intensity
        - p.hostility_per_jaa_attack * sanctuary_share
    )
    score += push * jaa_attacks_in_iran
    score -= np.sign(score) * min(abs(score), p.posture_drift)
    return min(1.0, max(-1.0, score))


@rule
def after_exchange(score: float, p: Any) -> float:
    """A strike and a counter-strike: both sides step back (Jan 2024)."""
    if p.posture_fixed:
        return score
    return min(1.0, score + p.de_escalation_after_exchange)


def posture_name(score: float) -> str:
    """hostile, neutral or cooperative."""
    if score < -1 / 3:
        return "hostile"
    return "cooperative" if score > 1 / 3 else "neutral"


@rule
def hostile(score: float) -> bool:
    """Iran is hostile below a score of -1/3."""
    return score < -1.0 / 3.0


@inlined_rule
def jaa_sanctuary_share(groups: Any, places: Any) -> float:
    """Share of Jaish al-Adl's fighters on Pakistani soil (its sanctuaries)."""
    row = groups.fighters_at[JAA_ROW]
    total = row.sum()
    if total <= 0:
        return 0.0
    return (row * places.pakistan).sum() / total


@inlined_rule
def strike_across_border(rng: np.random.Generator, world: Any, places: Any, p: Any) -> None:
    """An Iranian strike on a Pakistani border district; Pakistan may strike back."""
    border = places.border_index
    place = border[draws.integer(rng, 0, border.size)]
    world.strikes[place] = 1.0
    world.tally[T_CIVILIANS_KILLED] += draws.poisson(rng, p.strike_civilians)
    if draws.uniform(rng) < p.retaliation_probability:
        world.tally[T_CIVILIANS_KILLED] += draws.poisson(rng, p.strike_civilians)
        world.s[IRAN_SCORE] = after_exchange(world.s[IRAN_SCORE], p)


@inlined_rule
def iran_week(rng: np.random.Generator, world: Any, places: Any, groups: Any, params: Any) -> None:
    """Update the posture, then strike across the border if hostile (rules 1-4)."""
    s, p = world.s, params.iran
    s[IRAN_SCORE] = next_posture(
        s[IRAN_SCORE],
        int(s[LAST_JAA_IN_IRAN]),
        s[INTENSITY],
        jaa_sanctuary_share(groups, places),
        p,
    )
    world.strikes[:] = 0.0
    if hostile(s[IRAN_SCORE]) and draws.uniform(rng) < p.strike_probability:
        strike_across_border(rng, world, places, p)
