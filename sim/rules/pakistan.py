"""Pakistan: operations against the militants and protection of Chinese nationals.

Each week Pakistan
1. sets an operation intensity from its routine tempo, China's pressure, recent attacks
   and, once ordered, a decisive operation in Balochistan (Apex Committee, 19 November
   2024; elsewhere in Pakistan the tempo stays routine);
2. allocates the Special Security Division's guards across sites in proportion to the
   Chinese nationals there, weighted up where Chinese targets were recently attacked;
3. decides whether to let Chinese troops guard their nationals: only when China demands
   it (the top step of its ladder), with a weekly chance that shrinks with its senior
   officers' resistance (seed); the troops China has available cover the sites with the
   most nationals, ``troops_per_site`` to a full detachment, the last site partly;
4. conducts operations: each fighter is removed (killed or captured) with a probability
   that grows with intensity (and joint intelligence), harming civilians as collateral,
   which costs legitimacy, feeds grievance and provokes revenge attacks. In Iran the
   intensity is Iran's own tempo (``iran.own_operation_intensity``), counted here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim import cells, draws
from sim.attacks import guard_protection
from sim.compiled import PlaceValues, inlined_rule, rule
from sim.rules.china import DEMAND
from sim.world import (
    HISTORY,
    INTENSITY,
    IRAN_SCORE,
    JOINT,
    LEVEL,
    ROUTINE,
    T_CIVILIANS_KILLED,
    T_MILITANTS_CAPTURED,
    T_MILITANTS_KILLED,
    TROOPS,
    WEEK,
)


@inlined_rule
def recent_attacks(world: Any, weeks: int) -> int:
    """Attacks in the last ``weeks`` weeks (at most :data:`HISTORY`)."""
    return int(world.history[HISTORY - weeks :].sum())


@rule
def decisive_boost(week: int, p: Any) -> float:
    """The intensity a decisive operation adds in Balochistan this week (0 before it starts)."""
    return p.decisive_boost if 0 <= p.decisive_operation_week <= week else 0.0


@rule
def tempo(china_level: int, recent_attacks: int, p: Any) -> float:
    """Routine tempo, plus China's pressure and the reaction to recent attacks (uncapped)."""
    i = p.base_intensity + p.intensity_per_china_level * china_level
    return i + p.intensity_per_attack * recent_attacks


@rule
def operation_intensity(week: int, china_level: int, recent_attacks: int, p: Any) -> float:
    """This week's intensity in Balochistan, in [0, 1]."""
    return min(1.0, tempo(china_level, recent_attacks, p) + decisive_boost(week, p))


@rule
def routine_intensity(china_level: int, recent_attacks: int, p: Any) -> float:
    """This week's intensity elsewhere in Pakistan: no decisive operation there."""
    return min(1.0, tempo(china_level, recent_attacks, p))


@rule
def intensity_at(balochistan: bool, intensity: float, routine: float) -> float:
    """Pakistan's intensity at a place: this week's in Balochistan, routine elsewhere."""
    return intensity if balochistan else routine


@inlined_rule
def intensity_by_place(world: Any, places: Any) -> np.ndarray:
    """Pakistan's intensity at each place (:func:`intensity_at`)."""
    out = np.empty(places.balochistan.size)
    for i in range(out.size):
        out[i] = intensity_at(places.balochistan[i], world.s[INTENSITY], world.s[ROUTINE])
    return out


@rule
def allocate_guards(
    troops: float, nationals: np.ndarray, recent_chinese_attacks: np.ndarray
) -> np.ndarray:
    """Split the guards over sites with Chinese nationals, more where recently attacked."""
    out = np.empty(nationals.size)
    allocate_guards_into(out, troops, nationals, recent_chinese_attacks)
    return out


@inlined_rule
def allocate_guards_into(
    out: np.ndarray, troops: float, nationals: np.ndarray, recent_chinese_attacks: np.ndarray
) -> None:
    """:func:`allocate_guards`, written into ``out`` (no array is made)."""
    total = 0.0  # sum of the weights, in index order
    for i in range(nationals.size):
        total += nationals[i] * (1.0 + recent_chinese_attacks[i])
    for i in range(nationals.size):
        weight = nationals[i] * (1.0 + recent_chinese_attacks[i])
        out[i] = troops * weight / total if total > 0 else 0.0


@rule
def troop_coverage(nationals: np.ndarray, p: Any) -> np.ndarray:
    """Share of full troop protection at each site (0-1).

    Troops go to the sites with the most nationals, ``troops_per_site`` each, while they
    last; the last site gets the remainder (partial cover), so every troop counts.
    """
    cover = np.zeros(nationals.size)
    left = float(p.troops_available)
    for i in np.argsort(-nationals, kind="mergesort"):
        if left <= 0 or nationals[i] <= 0:
            break
        cover[i] = min(1.0, left / p.troops_per_site)
        left -= p.troops_per_site
    return cover


@rule
def acceptance_probability(p: Any) -> float:
    """Weekly chance Pakistan yields to China's demand for its troops (China only demands
    at the top step of its ladder, so the chance does not vary with China's pressure)."""
    return p.acceptance_rate * (1.0 - p.officer_resistance)


@inlined_rule
def removal_probability(intensity: PlaceValues, joint: bool, p: Any) -> PlaceValues:
    """Weekly chance that a fighter at each place is killed or captured."""
    bonus = 1.0 + (p.joint_attrition_bonus if joint else 0.0)
    return np.minimum(np.maximum(p.attrition_at_full_intensity * intensity * bonus, 0.0), 1.0)


@inlined_rule
def denies_sanctuary(iran_score: float) -> bool:
    """Iran cooperates (joint border operations deny sanctuary) above a score of 1/3."""
    return iran_score > 1.0 / 3.0


@inlined_rule
def joint_operations(yielded: bool, p: Any) -> bool:
    """Joint China-Pakistan operations: ordered by the scenario, or once Pakistan has yielded
    to China's demand (step 3 demands both protection by its troops and joint operations)."""
    return p.joint_operations or yielded


@rule
def operation_at(
    intensity: float, in_iran: bool, border_or_iran: bool, cooperative: bool, iran: Any
) -> float:
    """Intensity at a place: Pakistan's ``intensity`` in Pakistan, Iran's own tempo in Iran,
    plus joint border operations where Iran cooperates (``cooperative``)."""
    own = iran.own_operation_intensity if in_iran else intensity
    if cooperative:
        own = own + border_or_iran * iran.joint_border_intensity
    return np.minimum(own, 1.0)


@inlined_rule
def consider_chinese_troops(rng: np.random.Generator, world: Any, params: Any) -> None:
    """Yield to China's demand, with a chance set against its officers' resistance: its troops
    guard (if they do not already) and join operations. No draw when nothing is left to
    yield: Pakistan has yielded, China has not demanded, or troops already guard while the
    scenario orders joint operations."""
    s = world.s
    if s[JOINT] > 0 or s[LEVEL] < DEMAND:
        return
    if s[TROOPS] > 0 and params.china.joint_operations:
        return
    if draws.uniform(rng) < acceptance_probability(params.pakistan):
        s[JOINT] = 1.0
        s[TROOPS] = 1.0


@inlined_rule
def update_troop_sites(world: Any, params: Any) -> None:
    """Where Chinese troops guard this week (none until Pakistan accepts them)."""
    if world.s[TROOPS] > 0:
        world.troop_sites[:] = troop_coverage(world.chinese_nationals, params.china)
    else:
        world.troop_sites[:] = 0.0


@inlined_rule
def conduct_operations(
    rng: np.random.Generator, world: Any, places: Any, groups: Any, params: Any
) -> None:
    """Remove fighters everywhere by the removal probability; record collateral harm."""
    p = params.pakistan
    joint = joint_operations(world.s[JOINT] > 0, params.china)
    n_groups, n = groups.fighters_at.shape
    this_week, routine = world.s[INTENSITY], world.s[ROUTINE]
    cooperative = denies_sanctuary(world.s[IRAN_SCORE])
    p_remove = np.empty(n)
    for i in range(n):
        pakistan = intensity_at(places.balochistan[i], this_week, routine)
        where = operation_at(
            pakistan, places.in_iran[i], places.border_or_iran[i], cooperative, params.iran
        )
        p_remove[i] = removal_probability(where, joint, p)
    removed_total = np.zeros(n, dtype=np.int64)
    removed_by_group = np.zeros(n_groups, dtype=np.int64)
    for g in range(n_groups):
        for i in range(n):
            r = draws.binomial(rng, groups.fighters_at[g, i], p_remove[i])
            groups.fighters_at[g, i] -= r
            removed_total[i] += r
            removed_by_group[g] += r
    for g in range(n_groups):
        if removed_by_group[g]:
            cells.remove_fighters(
                rng, groups.sizes[g], groups.counts[g], groups.meta[g], removed_by_group[g]
            )
    captured = 0
    for i in range(n):
        captured += draws.binomial(rng, removed_total[i], p.capture_share)
    world.tally[T_MILITANTS_KILLED] += removed_total.sum() - captured
    world.tally[T_MILITANTS_CAPTURED] += captured
    for i in range(n):
        harm = draws.poisson(rng, p.collateral_per_militant * removed_total[i])
        world.civilian_harm[i] = harm if places.pakistan[i] else 0.0
        world.tally[T_CIVILIANS_KILLED] += draws.binomial(rng, harm, p.collateral_killed_share)


@inlined_rule
def pakistan_week(
    rng: np.random.Generator,
    world: Any,
    places: Any,
    groups: Any,
    params: Any,
) -> None:
    """Steps 1-4 (called by :meth:`PakistanState.step` and by the engine)."""
    s, p = world.s, params.pakistan
    level, recent = int(s[LEVEL]), recent_attacks(world, p.reaction_weeks)
    s[INTENSITY] = operation_intensity(int(s[WEEK]), level, recent, p)
    s[ROUTINE] = routine_intensity(level, recent, p)
    allocate_guards_into(
        world.guards, p.ssd_troops, world.chinese_nationals, world.recent_chinese_attacks
    )
    for i in range(world.guards.size):
        world.protection[i] = guard_protection(
            world.guards[i], world.chinese_nationals[i], params.attacks
        )
    consider_chinese_troops(rng, world, params)
    update_troop_sites(world, params)
    conduct_operations(rng, world, places, groups, params)
