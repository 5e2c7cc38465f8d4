"""The model's own weekly rules and its starting state, shared by the Mesa model and the engine.

One step is one week from the week of 18 November 2024. Each week, in order:
Iran sets its posture; China reacts to last week's deaths; Pakistan operates and protects;
grievance, legitimacy and recruitment move in every place; the groups reorganise and attack
(in random order); every fourth week the investors decide. :func:`begin_week` and
:func:`end_week` frame that order; :func:`start` builds week 0 from the data and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.attacks import CHINESE, INFRASTRUCTURE, SECURITY, interdiction_probability
from sim.cells import FIGHTERS
from sim.compiled import POSTURE_SCORE, Calls, count_above, count_equal, dot, inlined_rule, rule
from sim.draws import friction_stream, stream_for
from sim.params import ModelParams
from sim.rules.china import NORMAL, investment_hold, ladder_step
from sim.rules.militant_group import choice_probability, initial_propensities, long_run_rate
from sim.rules.pakistan import joint_operations, update_troop_sites
from sim.space import load_places
from sim.world import (
    INTENSITY,
    IRAN_SCORE,
    JAA_IN_IRAN,
    JOINT,
    LAST_CHINESE_KILLED,
    LAST_JAA_IN_IRAN,
    LEVEL,
    PATIENCE,
    ROUTINE,
    T_ATTACKS,
    T_CHINESE_KILLED,
    TROOPS,
    WEEK,
    compiled_params,
    new_groups,
    new_investors,
    new_world,
    place_arrays,
)
from sim.world import INVESTING as S_INVESTING
from sim.world import PAUSED as S_PAUSED
from sim.world import WITHDRAWN as S_WITHDRAWN


@rule
def interdiction_now(world: Any, params: Any) -> float:
    """This week's chance an attempt is stopped before it starts."""
    joint = joint_operations(world.s[JOINT] > 0, params.china)
    return interdiction_probability(joint, params.attacks)


@rule
def average_payoff(world: Any, params: Any) -> float:
    """Erev & Roth's X: the average payoff of an attempt over the targets, at the start.

    Initial propensities scale with it, so a cost common to every target (interdiction)
    rescales payoffs and initial propensities alike and leaves the learned mix alone.
    """
    a = params.attacks
    success = (a.success_chinese + a.success_security + a.success_infrastructure) / 3
    reward = params.targeting.success_reward
    return (1.0 - interdiction_now(world, params)) * success * reward


@rule
def exposure(nationals: float, weight: float) -> float:
    """How much a place's Chinese nationals draw an attack on a Chinese target: nationals ^
    ``weight`` (1: in proportion; 0: any presence alike), nothing where there are none."""
    if nationals <= 0.0:
        return 0.0
    if weight == 1.0:
        return nationals
    return nationals**weight


@inlined_rule
def update_targets(world: Any, t: Any) -> None:
    """Chinese targets by the Chinese nationals at a place (:func:`exposure`); others everywhere.

    A target is chosen for being near (the group's reach, in ``attack_once``) and occupied (the
    people to strike there): Clarke & Newman's "EVIL DONE" (Outsmarting the Terrorists, 2006).
    """
    for i in range(world.chinese_nationals.size):
        world.availability[CHINESE, i] = exposure(world.chinese_nationals[i], t.exposure_weight)
    world.availability[SECURITY] = 1.0
    world.availability[INFRASTRUCTURE] = 1.0


@inlined_rule
def begin_week(world: Any, week: int) -> None:
    """A new week: its counts start at zero."""
    world.s[WEEK] = week
    world.tally[:] = 0.0
    world.chinese_attacks_week[:] = 0.0
    world.s[JAA_IN_IRAN] = 0.0


@inlined_rule
def end_week(
    world: Any, places: Any, groups: Any, investors: Any, params: Any, metrics: np.ndarray
) -> None:
    """Remember the week (attacks, deaths, attacked sites) and write its weekly metrics."""
    s, t = world.s, world.tally
    world.history[:-1] = world.history[1:]
    world.history[-1] = int(t[T_ATTACKS])
    s[LAST_CHINESE_KILLED] = t[T_CHINESE_KILLED]
    s[LAST_JAA_IN_IRAN] = s[JAA_IN_IRAN]
    world.recent_chinese_attacks[:] = (
        params.pakistan.guard_memory * world.recent_chinese_attacks + world.chinese_attacks_week
    )
    update_targets(world, params.targeting)
    n = t.size
    metrics[:n] = t
    metrics[n] = groups.meta[:, FIGHTERS].sum()
    metrics[n + 1] = dot(world.grievance, places.pop_weights)
    metrics[n + 2] = dot(world.legitimacy, places.pop_weights)
    metrics[n + 3] = s[PATIENCE]
    metrics[n + 4] = s[LEVEL]
    metrics[n + 5] = investment_hold(s[LEVEL], params.china)
    metrics[n + 6] = s[TROOPS]
    metrics[n + 7] = count_above(world.troop_sites, 0.0)
    metrics[n + 8] = joint_operations(s[JOINT] > 0, params.china)
    metrics[n + 9] = s[INTENSITY]
    metrics[n + 10] = s[IRAN_SCORE]
    metrics[n + 11] = investors.deployed.sum()
    metrics[n + 12] = count_equal(investors.state, S_INVESTING)
    metrics[n + 13] = count_equal(investors.state, S_PAUSED)
    metrics[n + 14] = count_equal(investors.state, S_WITHDRAWN)
    metrics[n + 15] = world.chinese_nationals.sum()
    share, baloch = 0.0, 0
    for g in range(groups.baloch.size):
        if groups.baloch[g]:
            share += choice_probability(groups.propensities[g], CHINESE, params.targeting)
            baloch += 1
    metrics[n + 16] = share / baloch


@dataclass
class Start:
    """Week 0 of a replicate: the generator and every array the rules change."""

    rng: np.random.Generator
    params: Any  # compiled parameter tuples
    places: Any
    world: Any
    groups: Any
    investors: Any
    #: What the rules draw from in weeks 1..: ``rng`` itself, or a keyed stream (sim.draws),
    #: from which week 0's frictions drew too.
    stream: Any = None


_PLACES: dict[int, Any] = {}


def _places() -> Any:
    """The static place arrays (built once per process)."""
    if not _PLACES:
        _PLACES[0] = place_arrays(load_places())
    return _PLACES[0]


@rule
def first_week_state(world: Any, groups: Any, params: Any) -> None:
    """Troop cover, initial propensities (Erev & Roth's s(1) X), stationary excitation."""
    update_troop_sites(world, params)
    x = average_payoff(world, params)
    for g in range(groups.baloch.size):
        groups.propensities[g] = initial_propensities(x, params.targeting, groups.focus[g])
        rate = long_run_rate(groups.attack_rate[g], groups.meta[g, FIGHTERS])
        groups.excitation[g] = params.escalation.branching_ratio * rate
    update_targets(world, params.targeting)


#: Week 0's compiled overloads, resolved at the first replicate of a process (Numba's
#: dispatcher would type the named tuples again at every call).
_CALLS = Calls()


def start(p: ModelParams, seed: int, compiled: Any = None, streams: str = "single") -> Start:
    """Week 0 from the data files and the seed: cells burnt in, frictions drawn, states set.

    ``compiled`` (``compiled_params(p)``) may be passed in when many replicates share ``p``.
    ``streams`` says what weeks 1.. draw from (:func:`sim.draws.stream_for`); week 0's
    burn-in draws from the seed's NumPy generator either way, the frictions from it or from
    the keyed stream (:func:`sim.draws.friction_stream`).
    """
    rng = np.random.default_rng(seed)
    stream = stream_for(rng, seed, streams)  # refuses an unknown kind before any work
    table = load_places()
    compiled = compiled_params(p) if compiled is None else compiled
    groups = new_groups(p, table, rng)
    investors = new_investors(p, table, friction_stream(rng, stream))
    world = new_world(table)
    s = world.s
    s[IRAN_SCORE] = POSTURE_SCORE[p.iran.initial_posture]
    s[PATIENCE] = p.china.initial_patience
    s[LEVEL] = _CALLS(ladder_step, NORMAL, float(p.china.initial_patience), compiled.china)
    s[TROOPS] = float(p.pakistan.accept_chinese_troops)
    s[INTENSITY] = s[ROUTINE] = p.pakistan.base_intensity
    _CALLS(first_week_state, world, groups, compiled)
    return Start(rng, compiled, _places(), world, groups, investors, stream)
