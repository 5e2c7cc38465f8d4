"""The state of one replicate as arrays: what the compiled rules read and change.

The Mesa model (:mod:`sim.model`) and the batch engine (:mod:`sim.engine`) hold the same
state, built by :func:`new_world` from the same data and draws, so the two paths start from
identical worlds. Named tuples of arrays are Numba-friendly records: the tuple is fixed, the
arrays in it change in place.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from sim import cells
from sim.compiled import Calls, as_tuple
from sim.draws import uniform
from sim.params import ModelParams
from sim.record import EVENT_COLUMNS, WEEKLY_COUNTS
from sim.space import PlaceTable, load_groups, load_investors, load_places

#: Static arrays of the places (read-only in the rules).
Places = namedtuple(
    "Places",
    "population security legitimacy hardship balochistan in_iran pakistan borders_iran "
    "border_or_iran per_vehicle adjacency pop_weights border_index iran_index",
)
#: The militant groups: state (first line) and their parameters, one entry per group.
Groups = namedtuple(
    "Groups",
    "fighters_at propensities excitation backlash sizes counts meta "
    "baloch attack_rate lethality publicity focus suicide max_attackers",
)
#: The investors: state and records, one entry per firm.
Investors = namedtuple(
    "Investors", "site committed deployed staff friction state hazard bad_months state_firm"
)
#: Place and state arrays the weekly rules change.
World = namedtuple(
    "World",
    "legitimacy hardship grievance chinese_nationals availability recent_chinese_attacks "
    "month_incidents chinese_attacks_week protection guards troop_sites civilian_harm strikes "
    "tally history s",
)
#: Every parameter group as a named tuple (see :func:`sim.compiled.as_tuple`).
Params = namedtuple(
    "Params",
    "recruitment legitimacy cells escalation targeting attacks pakistan china iran investors",
)

# Slots of ``World.s`` (the scalar state).
WEEK, IRAN_SCORE, PATIENCE, LEVEL, INTENSITY, TROOPS = 0, 1, 2, 3, 4, 5
LAST_CHINESE_KILLED, LAST_JAA_IN_IRAN, JAA_IN_IRAN, FIRST_PAUSE, HARDSHIP_STALE = 6, 7, 8, 9, 10
#: Joint operations agreed: Pakistan yielded to China's demand (step 3: protection by its
#: troops and joint operations), or a workshop participant agreed to them.
JOINT = 11
#: Pakistan's intensity outside Balochistan this week (``INTENSITY`` without a decisive operation).
ROUTINE = 12
SCALARS = 13

# Positions in ``World.tally`` (this week's counts, in WEEKLY_COUNTS order).
T = {name: i for i, name in enumerate(WEEKLY_COUNTS)}
T_ATTACKS, T_ON_CHINESE, T_ON_SECURITY, T_ON_INFRA = 0, 1, 2, 3
T_BALOCHISTAN, T_KILLED, T_KILLED_BALOCHISTAN, T_CHINESE_KILLED = 4, 5, 6, 7
T_SECURITY_KILLED, T_CIVILIANS_KILLED, T_MILITANTS_KILLED, T_MILITANTS_CAPTURED = 8, 9, 10, 11
T_RECRUITS = 12
assert [T["attacks"], T["recruits"]] == [T_ATTACKS, T_RECRUITS]

# Investor states (``Investors.state``).
INVESTING, PAUSED, WITHDRAWN = 0, 1, 2
STATE_NAMES = ("investing", "paused", "withdrawn")

#: Columns of the event buffer (codes for group, place and target).
EVENT_WIDTH = len(EVENT_COLUMNS)
#: The most attacks one replicate may record (~440 in the baseline's 104 weeks; 470 MB of
#: buffer): parameter values that make fighters, and so attacks, grow without bound stop here
#: with an error instead of filling the machine's memory.
MAX_EVENTS = 2**22
#: Why a replicate stopped at :data:`MAX_EVENTS` (a constant: compiled code raises it).
TOO_MANY_EVENTS = (
    f"more than {MAX_EVENTS:,} attacks in one replicate (the baseline has ~440 in 104 weeks): "
    "these parameter values make the insurgency grow without bound, beyond what the model "
    "represents"
)
HISTORY = 8  # weeks of attack counts remembered
#: Row of Jaish al-Adl in ``groups.csv`` order (its attacks inside Iran move Iran's posture).
JAA_ROW = 3


def compiled_params(p: ModelParams) -> Any:
    """The parameter groups as named tuples for compiled code."""
    return Params(
        as_tuple(p.recruitment),
        as_tuple(p.legitimacy),
        as_tuple(p.cells),
        as_tuple(p.escalation),
        as_tuple(p.targeting),
        as_tuple(p.attacks),
        as_tuple(p.pakistan),
        as_tuple(p.china),
        as_tuple(p.iran),
        as_tuple(p.investors),
    )


def place_arrays(places: PlaceTable) -> Any:
    """The static place arrays, with the adjacency of the links a group can reach across."""
    n = len(places.ids)
    adjacency = np.zeros((n, n))
    for i, nbrs in enumerate(places.neighbours(reach_only=True)):
        adjacency[i, nbrs] = 1.0
    baloch = places.balochistan
    weights = places.population * baloch
    arrays = Places(
        population=places.population.astype(np.float64),
        security=places.security.astype(np.float64),
        legitimacy=places.legitimacy.astype(np.float64),
        hardship=places.hardship.astype(np.float64),
        balochistan=baloch,
        in_iran=places.in_iran.copy(),
        pakistan=~places.in_iran,
        borders_iran=places.borders_iran.copy(),
        border_or_iran=places.borders_iran | places.in_iran,
        per_vehicle=places.chinese_per_vehicle.astype(np.float64),
        adjacency=adjacency,
        pop_weights=weights / weights.sum(),
        border_index=np.flatnonzero(places.borders_iran).astype(np.int64),
        iran_index=np.flatnonzero(places.in_iran).astype(np.int64),
    )
    for array in arrays:  # shared by every replicate of a process: nobody may change them
        array.setflags(write=False)
    return arrays


#: The compiled rules this module calls from Python (the cells' burn-in), resolved once.
_CALLS = Calls()


def new_groups(p: ModelParams, places: PlaceTable, rng: np.random.Generator) -> Any:
    """Groups with fighters placed as in ``groups.csv``; cells burnt in; propensities unset."""
    specs = load_groups()
    if list(specs).index("jaish_al_adl") != JAA_ROW:
        raise ValueError(f"groups.csv must list jaish_al_adl as group {JAA_ROW + 1}")
    g, n = len(specs), len(places.ids)
    fighters_at = np.zeros((g, n), dtype=np.int64)
    sizes, counts, meta = cells.new_pool_arrays(g)
    gps = [getattr(p.groups, key) for key in specs]
    for row, spec in enumerate(specs.values()):
        for place, count in spec["fighters"].items():
            fighters_at[row, places.index(place)] = count
    groups = Groups(
        fighters_at=fighters_at,
        propensities=np.zeros((g, 3)),
        excitation=np.zeros(g),
        backlash=np.zeros(g),
        sizes=sizes,
        counts=counts,
        meta=meta,
        baloch=np.array([spec["baloch"] for spec in specs.values()]),
        attack_rate=np.array([x.attack_rate for x in gps], dtype=np.float64),
        lethality=np.array([x.lethality for x in gps], dtype=np.float64),
        publicity=np.array([x.chinese_publicity for x in gps], dtype=np.float64),
        focus=np.array([x.chinese_focus for x in gps], dtype=np.float64),
        suicide=np.array([x.suicide_attacks for x in gps]),
        max_attackers=np.array([x.max_attackers for x in gps], dtype=np.int64),
    )
    cp = p.cells
    _CALLS(
        cells.burn_in,
        rng,
        fighters_at,
        sizes,
        counts,
        meta,
        float(cp.burn_in_per_fighter),
        float(cp.shatter_probability),
    )
    return groups


def new_investors(p: ModelParams, places: PlaceTable, stream: Any) -> Any:
    """Investors from ``investors.csv``; each firm's friction drawn from its declared range,
    one uniform of ``stream`` each (:func:`sim.draws.friction_stream`)."""
    recs = load_investors()
    deployed = np.array([r["deployed"] for r in recs], dtype=np.float64)
    return Investors(
        site=np.array([places.index(r["place"]) for r in recs], dtype=np.int64),
        committed=np.array([r["committed"] for r in recs], dtype=np.float64),
        deployed=deployed,
        staff=np.array([r["staff"] for r in recs], dtype=np.int64),
        friction=np.array(
            [
                r["friction_low"] + (r["friction_high"] - r["friction_low"]) * uniform(stream)
                for r in recs
            ]
        ),
        state=np.where(deployed > 0, INVESTING, PAUSED).astype(np.int64),
        hazard=np.zeros(len(recs)),
        bad_months=np.zeros(len(recs), dtype=np.int64),
        state_firm=np.array([r["state_firm"] for r in recs]),
    )


def new_world(places: PlaceTable) -> Any:
    """Place and state arrays at week 0 (scalars set by the agents' initial rules)."""
    n = len(places.ids)
    s = np.zeros(SCALARS)
    s[HARDSHIP_STALE] = 1.0
    s[FIRST_PAUSE] = -1.0
    return World(
        legitimacy=places.legitimacy.astype(np.float64).copy(),
        hardship=places.hardship.astype(np.float64).copy(),
        grievance=np.zeros(n),
        chinese_nationals=places.chinese_nationals.astype(np.float64).copy(),
        availability=np.ones((3, n)),
        recent_chinese_attacks=np.zeros(n),
        month_incidents=np.zeros(n),
        chinese_attacks_week=np.zeros(n),
        protection=np.zeros(n),
        guards=np.zeros(n),
        troop_sites=np.zeros(n),
        civilian_harm=np.zeros(n),
        strikes=np.zeros(n),
        tally=np.zeros(len(WEEKLY_COUNTS)),
        history=np.zeros(HISTORY, dtype=np.int64),
        s=s,
    )


def new_event_buffer(capacity: int = 1024) -> np.ndarray:
    """An empty event buffer (rows of :data:`EVENT_WIDTH` integer codes)."""
    return np.zeros((capacity, EVENT_WIDTH), dtype=np.int64)


__all__ = ["Groups", "Investors", "Params", "Places", "World", "load_places"]
