"""Grievance, legitimacy and recruitment in the places (Epstein 2002, PNAS 99 suppl. 3).

Epstein's rule for one resident: active if ``G - R * P > T`` with grievance
``G = H (1 - L)`` and estimated arrest probability ``P = 1 - exp(-k C/A)``. With risk
aversion ``R ~ U(0, 1)`` across residents, the share of a place willing to join is
``clip((G - T) / P, 0, 1)``; a small, calibrated rate of them actually joins each week.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim import cells, draws
from sim.compiled import PlaceValues, inlined_rule, matmat_row, multinomial_row, rule
from sim.rules.pakistan import denies_sanctuary, intensity_at, joint_operations
from sim.world import HARDSHIP_STALE, INTENSITY, IRAN_SCORE, JOINT, ROUTINE, T_RECRUITS


@inlined_rule
def grievance(hardship: PlaceValues, legitimacy: PlaceValues) -> PlaceValues:
    """Epstein's grievance G = H (1 - L)."""
    return hardship * (1.0 - legitimacy)


@inlined_rule
def arrest_probability(security: PlaceValues, fighters: PlaceValues, p: Any) -> PlaceValues:
    """Perceived arrest risk P = 1 - exp(-k C / (A c_ref)): C security, A active fighters."""
    ratio = security / ((fighters + 1.0) * p.security_per_fighter_ref)
    return 1.0 - np.exp(-p.arrest_constant * ratio)


@inlined_rule
def willing(g: float, p_arrest: float, threshold: float) -> float:
    """Share of a place's residents with G - R P > T when R ~ U(0,1): clip((G - T)/P, 0, 1)."""
    excess = g - threshold
    if excess > 0:
        return 1.0 if p_arrest <= 0 else min(1.0, excess / p_arrest)
    return 0.0


@rule
def willing_share(g: np.ndarray, p_arrest: np.ndarray, threshold: float) -> np.ndarray:
    """:func:`willing` in every place."""
    out = np.zeros(g.size)
    for i in range(g.size):
        out[i] = willing(g[i], p_arrest[i], threshold)
    return out


@inlined_rule
def expected_recruits(willing: PlaceValues, population: PlaceValues, p: Any) -> PlaceValues:
    """Expected recruits per week by place: rate x willing residents (millions)."""
    return p.recruits_per_million_willing * willing * population / 1e6


@inlined_rule
def update_legitimacy(
    legitimacy: PlaceValues,
    baseline: PlaceValues,
    civilian_harm: PlaceValues,
    population: PlaceValues,
    foreign_troops_seen: PlaceValues,
    strikes: PlaceValues,
    p: Any,
) -> PlaceValues:
    """One week of legitimacy: slow recovery, losses to harm, foreign troops and strikes.

    Harm costs ``harm_sensitivity`` per civilian harmed per 100k residents while small,
    saturating at ``max_harm_loss`` a week, so a few incidents cannot wipe out a small
    district's legitimacy. Foreign troops cost legitimacy in proportion to distrust of the
    foreign power (the seed's contrast: China is trusted where the US was not).
    """
    recovered = legitimacy + p.recovery_rate * (baseline - legitimacy)
    harm_loss = harm_legitimacy_loss(civilian_harm, population, p)
    troop_loss = p.foreign_troop_cost * (1.0 - p.public_trust_in_china) * foreign_troops_seen
    strike_loss = p.iran_strike_cost * strikes
    return np.minimum(np.maximum(recovered - harm_loss - troop_loss - strike_loss, 0.0), 1.0)


@inlined_rule
def harm_legitimacy_loss(
    civilian_harm: PlaceValues, population: PlaceValues, p: Any
) -> PlaceValues:
    """Legitimacy lost to civilian harm: linear when small, saturating at ``max_harm_loss``."""
    per_100k = civilian_harm / (population / 1e5)
    return p.max_harm_loss * (1.0 - np.exp(-p.harm_sensitivity * per_100k / p.max_harm_loss))


@rule
def relieved_hardship(
    base_hardship: np.ndarray,
    deployed_usd_m: np.ndarray,
    population: np.ndarray,
    p: Any,
) -> np.ndarray:
    """Hardship lowered by the local benefit of deployed capital (per resident, capped)."""
    per_capita_k = deployed_usd_m * 1e3 / population  # USD thousand per resident
    relief = np.minimum(p.max_hardship_relief, p.local_benefit_share * per_capita_k)
    return base_hardship * (1.0 - relief)


@rule
def row_shares(weights: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; rows summing to 0 stay 0 (place x group presence)."""
    out = np.zeros_like(weights)
    for i in range(weights.shape[0]):
        total = weights[i].sum()
        if total > 0:
            out[i] = weights[i] / total
    return out


@inlined_rule
def troops_seen(
    troop_cover: float, in_pakistan: bool, joint: bool, intensity: float, p: Any
) -> float:
    """Whether Pakistanis at a place see foreign troops: a guarded site (``troop_cover``), or
    joint operations at Pakistan's ``intensity`` there (not both); none outside Pakistan."""
    seen = troop_cover * 1.0
    if joint:
        seen = np.maximum(seen, p.joint_operation_visibility * intensity)
    return seen * in_pakistan


@inlined_rule
def recruit(
    rng: np.random.Generator, recruits: np.ndarray, groups: Any, places: Any, p: Any
) -> int:
    """Share each place's recruits among the groups there, in proportion to presence.

    Where no group is present, a share ``neighbour_mobilisation`` of the recruits joins
    the groups of the neighbouring places (in proportion to their presence there) and
    stays at home, re-seeding the district; the rest are not mobilised. Returns the total.
    """
    present = groups.fighters_at.T.astype(np.float64)  # place x group, before any joins
    n_places, n_groups = present.shape
    split = np.zeros(n_groups, dtype=np.int64)
    total = 0
    for i in range(n_places):
        n = recruits[i]
        if n <= 0:
            continue
        weights = present[i]
        if weights.sum() <= 0:  # presence in the neighbouring places
            weights = matmat_row(places.adjacency, present, i)
            n = draws.binomial(rng, n, p.neighbour_mobilisation)
        if n <= 0 or weights.sum() <= 0:
            continue
        multinomial_row(rng, n, weights, split)
        for g in range(n_groups):
            if split[g]:
                groups.fighters_at[g, i] += split[g]
                cells.put(groups.sizes[g], groups.counts[g], groups.meta[g], 1, split[g])
        total += n
    return total


@inlined_rule
def revenge(harm: np.ndarray, groups: Any, p: Any) -> None:
    """Civilian harm raises the attack tempo of the groups where it happened.

    Each civilian harmed adds ``backlash_attacks_per_harmed`` attempts, spread over the
    following weeks by the escalation kernel, shared by presence (Condra & Shapiro 2012:
    state-caused civilian casualties are followed by more insurgent attacks).
    """
    k = p.backlash_attacks_per_harmed
    if k <= 0 or harm.sum() <= 0:
        return
    for i in range(harm.size):
        if harm[i] > 0:
            column = groups.fighters_at[:, i]
            for g in range(column.size):
                groups.backlash[g] += harm[i] * k * presence_share(column, g)


@rule
def presence_share(fighters: np.ndarray, g: int) -> float:
    """Group ``g``'s share of the fighters at one place (0 where there are none): one entry
    of a row of :func:`row_shares`, computed only where needed."""
    total = 0.0  # in index order, as a sum of the row would
    for j in range(fighters.size):
        total += float(fighters[j])
    return fighters[g] / total if total > 0 else 0.0


@inlined_rule
def society_week(
    rng: np.random.Generator,
    world: Any,
    places: Any,
    groups: Any,
    investors: Any,
    params: Any,
) -> None:
    """Legitimacy, hardship, grievance, recruitment and backlash (Epstein 2002)."""
    lp, rp = params.legitimacy, params.recruitment
    if world.s[HARDSHIP_STALE] > 0:  # capital moves only at the monthly decisions
        deployed = np.zeros(places.population.size)
        for k in range(investors.site.size):
            deployed[investors.site[k]] += investors.deployed[k]
        world.hardship[:] = relieved_hardship(places.hardship, deployed, places.population, lp)
        world.s[HARDSHIP_STALE] = 0.0
    harm = world.civilian_harm
    joint = joint_operations(world.s[JOINT] > 0, params.china)
    surge_per_intensity = params.pakistan.surge_security_per_intensity
    denied, denial = denies_sanctuary(world.s[IRAN_SCORE]), params.iran.sanctuary_recruit_denial
    n_groups = groups.fighters_at.shape[0]
    recruits = np.zeros(harm.size, dtype=np.int64)
    this_week, routine = world.s[INTENSITY], world.s[ROUTINE]
    for i in range(harm.size):  # place by place: the same formulas on each place's numbers
        intensity = intensity_at(places.balochistan[i], this_week, routine)
        seen = troops_seen(world.troop_sites[i], places.pakistan[i], joint, intensity, lp)
        world.legitimacy[i] = update_legitimacy(
            world.legitimacy[i],
            places.legitimacy[i],
            harm[i],
            places.population[i],
            seen,
            world.strikes[i],
            lp,
        )
        world.grievance[i] = grievance(world.hardship[i], world.legitimacy[i])
        fighters = 0
        for g in range(n_groups):
            fighters += groups.fighters_at[g, i]
        security = places.security[i] * (1.0 + surge_per_intensity * intensity)
        p_arrest = arrest_probability(security, float(fighters), rp)
        share = willing(world.grievance[i], p_arrest, rp.threshold)
        if denied:
            share = share * (1.0 - denial if places.border_or_iran[i] else 1.0)
        expected = expected_recruits(share, places.population[i], rp)
        expected = expected + rp.backlash_recruits_per_harmed * harm[i]
        recruits[i] = draws.poisson(rng, expected)
    world.tally[T_RECRUITS] = recruit(rng, recruits, groups, places, rp)
    revenge(harm, groups, rp)
