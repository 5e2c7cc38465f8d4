"""A militant group: BLA, its Majeed Brigade, BLF, Jaish al-Adl or the TTP.

Each week a group
1. forgets: every target propensity decays by the forgetting rate (Erev & Roth 1998);
2. reorganises its cells: coalescence and shattering (Johnson et al. 2006);
3. draws attack attempts ~ Poisson(base rate x fighters + excitation): recent attacks,
   and civilians harmed by operations where it lives, raise the rate for a while
   (a Hawkes-type kernel: Johnson et al. 2011; Condra & Shapiro 2012);
4. for each attempt picks a target with probability (1 - eps) q_j / sum q + eps / 3,
   a place where it can reach that target, and an attacking cell uniformly among its
   cells (Clauset & Wiegel 2010), whose size (up to the group's largest squad) sets
   the severity;
5. learns: the payoff minus the minimum payoff (a failure pays 0) reinforces the
   target -- success, and publicity of Chinese victims; through BRAS, the other Baloch
   groups feel part of that lesson.

The rules are compiled functions over the groups' arrays (:class:`sim.world.Groups`, one row
per group); :func:`group_week` is steps 1-5, called by :meth:`MilitantGroup.step` and by the
engine alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim import cells, draws
from sim.attacks import (
    CHINESE,
    SECURITY,
    Attack,
    AttackOutcome,
    interdiction_probability,
    resolve_attack,
    success_probability,
)
from sim.compiled import count_above, dot, inlined_rule, rule, weighted_index
from sim.rules.pakistan import joint_operations
from sim.world import (
    EVENT_WIDTH,
    JAA_IN_IRAN,
    JAA_ROW,
    JOINT,
    MAX_EVENTS,
    T_ATTACKS,
    T_BALOCHISTAN,
    T_CHINESE_KILLED,
    T_CIVILIANS_KILLED,
    T_KILLED,
    T_KILLED_BALOCHISTAN,
    T_MILITANTS_CAPTURED,
    T_MILITANTS_KILLED,
    T_ON_CHINESE,
    T_SECURITY_KILLED,
    TOO_MANY_EVENTS,
    WEEK,
)


# --- target choice (Erev & Roth 1998) ---------------------------------------------------
@rule
def initial_propensities(average_payoff: float, p: Any, chinese_focus: float) -> np.ndarray:
    """Erev & Roth's q_j(1) = s(1) x average payoff x prior share of j.

    ``chinese_focus`` weights the prior share of Chinese targets for one group.
    """
    prior = np.array([chinese_focus * p.prior_chinese, p.prior_security, p.prior_infrastructure])
    total = prior.sum()
    if total <= 0:  # no prior for any target this group can choose: start indifferent
        return np.zeros(3)
    return p.initial_strength * average_payoff * prior / total


@rule
def forget(propensities: np.ndarray, p: Any) -> None:
    """One week of forgetting: every propensity decays by the same share (in place)."""
    propensities *= 1.0 - p.forgetting


@rule
def reinforce(propensities: np.ndarray, target: int, reinforcement: float) -> None:
    """Add a non-negative reinforcement (payoff minus the minimum payoff) to one target."""
    propensities[target] += max(0.0, reinforcement)


@rule
def choice_probability(propensities: np.ndarray, target: int, p: Any) -> float:
    """(1 - eps) q_j / sum q + eps / n for one target ``j``: experimentation mixed into the
    choice (:func:`choice_probabilities` for all of them; no array is made).

    Propensities are scaled by their largest first, so shares stay exact when strong
    forgetting has made them subnormal.
    """
    n = propensities.size
    top = propensities.max()
    if top <= 0:
        return 1.0 / n
    total = 0.0  # sum q, in index order
    for j in range(n):
        total += propensities[j] / top
    eps = p.experimentation
    return (1.0 - eps) * (propensities[target] / top) / total + eps / n


@rule
def choice_probabilities(propensities: np.ndarray, p: Any) -> np.ndarray:
    """Every target's :func:`choice_probability`."""
    out = np.empty(propensities.size)
    for j in range(propensities.size):
        out[j] = choice_probability(propensities, j, p)
    return out


@rule
def choose_target(rng: np.random.Generator, propensities: np.ndarray, p: Any) -> int:
    """Pick a target class by the choice probabilities."""
    q0 = choice_probability(propensities, 0, p)
    q1 = choice_probability(propensities, 1, p)
    x = draws.uniform(rng)
    return 0 if x < q0 else (1 if x < q0 + q1 else 2)


@rule
def attack_payoff(
    success: bool,
    chinese_killed: int,
    target: int,
    chinese_publicity: float,
    provoked: bool,
    p: Any,
) -> float:
    """Payoff of an outcome minus the minimum payoff (a failure, 0): never negative.

    Success pays ``success_reward``; Chinese victims add publicity; while Chinese troops
    guard, a successful attack on a Chinese target adds the provocation payoff.
    """
    if not success:
        return 0.0
    payoff = p.success_reward + chinese_publicity * chinese_killed
    if provoked and target == CHINESE:
        payoff += p.foreign_troop_provocation
    return payoff


# --- tempo (Hawkes-type self-excitation) -------------------------------------------------
@rule
def next_excitation(excitation: float, attempts: float, shock: float, p: Any) -> float:
    """Hawkes-type kernel: each attempt adds ``branching_ratio`` attempts in total, decaying.

    E' = memory x E + (1 - memory) x (branching_ratio x attempts + (1 - branching) x shock):
    a shock of ``s`` attempts (backlash) adds ``s`` attempts in all, its offspring included.
    """
    n = p.branching_ratio
    return p.memory * excitation + (1.0 - p.memory) * (n * attempts + (1.0 - n) * shock)


@rule
def long_run_rate(attack_rate: float, fighters: int) -> float:
    """Mean attempts a week at the current strength: attack rate x fighters / 1000."""
    return attack_rate * fighters / 1000.0


@rule
def base_rate(attack_rate: float, fighters: int, p: Any) -> float:
    """Background attempts a week: the long-run rate less its self-excited share."""
    return (1.0 - p.branching_ratio) * long_run_rate(attack_rate, fighters)


@inlined_rule
def draw_attempts(rng: np.random.Generator, g: int, groups: Any, p: Any) -> int:
    """Attack attempts this week ~ Poisson(background + excitation)."""
    fighters = groups.meta[g, cells.FIGHTERS]
    if fighters == 0:
        return 0
    return draws.poisson(rng, base_rate(groups.attack_rate[g], fighters, p) + groups.excitation[g])


# --- one attack --------------------------------------------------------------------------
@rule
def reach_into(
    out: np.ndarray, fighters_at: np.ndarray, adjacency: np.ndarray, neighbour_reach: float
) -> None:
    """Where a group can strike, written into ``out``: its own places, and weakly their
    neighbours (own + neighbour_reach x adjacency @ own)."""
    for i in range(out.size):
        out[i] = float(fighters_at[i]) + neighbour_reach * dot(adjacency[i], fighters_at)


@rule
def remove_from_places(fighters_at: np.ndarray, n: int, prefer: int) -> None:
    """Take ``n`` fighters off the map, first at ``prefer``, then where most are."""
    take = min(n, fighters_at[prefer])
    fighters_at[prefer] -= take
    n -= take
    while n > 0 and fighters_at.sum() > 0:
        i = np.argmax(fighters_at)
        take = min(n, fighters_at[i])
        fighters_at[i] -= take
        n -= take


@inlined_rule
def attack_once(
    rng: np.random.Generator,
    g: int,
    groups: Any,
    world: Any,
    places: Any,
    params: Any,
    interdiction: float,
    where: np.ndarray,
    events: np.ndarray,
    n_events: int,
) -> tuple[np.ndarray, int]:
    """Choose target, place and cell; resolve the attack; record it; learn from it.

    ``where`` is the group's reach (:func:`reach_into`), updated here when the attack costs
    fighters.
    """
    if groups.meta[g, cells.FIGHTERS] == 0:
        return events, n_events
    a, t = params.attacks, params.targeting
    target = choose_target(rng, groups.propensities[g], t)
    if dot(where, world.availability[target]) <= 0:
        target = SECURITY  # security forces are everywhere
    place = weighted_index(rng, where, world.availability[target])
    sizes, counts, meta = groups.sizes[g], groups.counts[g], groups.meta[g]
    size = cells.pick_uniform(rng, sizes, counts, meta)
    protection, troops = world.protection[place], world.troop_sites[place]  # Chinese sites only
    attack = Attack(
        target=target,
        attackers=min(size, groups.max_attackers[g]),
        p_success=success_probability(target, protection, troops, a),
        p_interdiction=interdiction,
        lethality=groups.lethality[g],
        suicide=groups.suicide[g],
        chinese_exposed=min(places.per_vehicle[place], world.chinese_nationals[place]),
    )
    outcome = resolve_attack(rng, attack, a)
    cells.shrink_cell(sizes, counts, meta, size, outcome.attackers_lost)
    remove_from_places(groups.fighters_at[g], outcome.attackers_lost, place)
    if outcome.attackers_lost > 0:
        reach_into(where, groups.fighters_at[g], places.adjacency, a.neighbour_reach)
    events, n_events = record_attack(
        g, place, attack, outcome, world, places, params, events, n_events
    )
    provoked = count_above(world.troop_sites, 0.0) > 0  # foreign troops somewhere
    chinese = outcome.chinese_killed
    payoff = attack_payoff(outcome.success, chinese, target, groups.publicity[g], provoked, t)
    learn(g, target, payoff, groups, t)
    return events, n_events


@inlined_rule
def learn(g: int, target: int, payoff: float, groups: Any, t: Any) -> None:
    """Reinforce the group's target; through BRAS, the other Baloch groups feel a share."""
    reinforce(groups.propensities[g], target, payoff)
    if groups.baloch[g] and t.bras_coordination > 0:
        for other in range(groups.baloch.size):
            if other != g and groups.baloch[other]:
                reinforce(groups.propensities[other], target, t.bras_coordination * payoff)


@inlined_rule
def record_attack(
    g: int,
    place: int,
    attack: Attack,
    outcome: AttackOutcome,
    world: Any,
    places: Any,
    params: Any,
    events: np.ndarray,
    n_events: int,
) -> tuple[np.ndarray, int]:
    """Count one attack in this week's tallies and append it to the event buffer."""
    target = attack.target
    success, interdicted, killed, chinese, security, civilians, lost, captured = outcome
    tally = world.tally
    tally[T_ATTACKS] += 1
    tally[T_ON_CHINESE + target] += 1
    in_baloch = places.balochistan[place]
    tally[T_BALOCHISTAN] += in_baloch
    tally[T_KILLED] += killed
    tally[T_KILLED_BALOCHISTAN] += killed * in_baloch
    tally[T_CHINESE_KILLED] += chinese
    tally[T_SECURITY_KILLED] += security
    tally[T_CIVILIANS_KILLED] += civilians
    tally[T_MILITANTS_KILLED] += lost - captured
    tally[T_MILITANTS_CAPTURED] += captured
    if target == CHINESE:
        world.chinese_attacks_week[place] += 1
    weight = params.investors.incident_weight_per_death
    world.month_incidents[place] += (target == CHINESE) + weight * chinese
    if g == JAA_ROW and places.in_iran[place]:
        world.s[JAA_IN_IRAN] += 1
    if n_events == events.shape[0]:
        if n_events >= MAX_EVENTS:
            raise ValueError(TOO_MANY_EVENTS)
        bigger = np.zeros((2 * events.shape[0], EVENT_WIDTH), dtype=np.int64)
        bigger[:n_events] = events
        events = bigger
    row = events[n_events]
    row[0], row[1], row[2], row[3], row[4] = int(world.s[WEEK]), g, place, target, attack.attackers
    row[5], row[6], row[7], row[8] = killed, chinese, security, civilians
    row[9], row[10], row[11] = lost, success, interdicted
    return events, n_events + 1


# --- the week -------------------------------------------------------------------
@inlined_rule
def group_week(
    rng: np.random.Generator,
    g: int,
    groups: Any,
    world: Any,
    places: Any,
    params: Any,
    events: np.ndarray,
    n_events: int,
) -> tuple[np.ndarray, int]:
    """One week of one group: forget, reorganise, attack and learn, update the tempo."""
    forget(groups.propensities[g], params.targeting)
    c = params.cells
    cells.micro_events(
        rng,
        groups.sizes[g],
        groups.counts[g],
        groups.meta[g],
        c.events_per_week,
        c.shatter_probability,
    )
    # a keyed stream's attacks draw apart from the cells' events, whose number of draws
    # the cells' parameters change (a single stream goes on as it is)
    draws.enter(rng, int(world.s[WEEK]), draws.ATTACKS, g)
    attempts = draw_attempts(rng, g, groups, params.escalation)
    joint = joint_operations(world.s[JOINT] > 0, params.china)
    interdiction = interdiction_probability(joint, params.attacks)
    if attempts > 0:
        where = np.empty(places.adjacency.shape[0])
        reach_into(where, groups.fighters_at[g], places.adjacency, params.attacks.neighbour_reach)
        for _ in range(attempts):
            events, n_events = attack_once(
                rng, g, groups, world, places, params, interdiction, where, events, n_events
            )
    groups.excitation[g] = next_excitation(
        groups.excitation[g], attempts, groups.backlash[g], params.escalation
    )
    groups.backlash[g] = 0.0
    return events, n_events
