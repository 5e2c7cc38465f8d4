"""The batch engine: whole replicates in compiled code, with the Mesa model's rules.

:func:`run_weeks` is the weekly loop of :meth:`sim.model.CrisisModel.step` as one compiled
function calling the same rule functions in the same order on the same arrays, from the
same start (:func:`sim.week.start`), so for one seed it returns exactly what the Mesa model
returns (``tests/test_engine.py`` checks every output of every scenario)::

    from sim.engine import run_replicate
    result = run_replicate(ModelParams(), weeks=104, seed=1)   # same as CrisisModel(...).run()
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim import draws
from sim.compiled import Calls, rule, shuffled
from sim.config import BACKENDS, STREAMS, checked_seed, checked_weeks
from sim.params import ModelParams, validate
from sim.record import WEEKLY_METRICS, ReplicateResult, replicate_result
from sim.rules.china import china_week
from sim.rules.investor import investor_month
from sim.rules.iran import iran_week
from sim.rules.militant_group import group_week
from sim.rules.pakistan import pakistan_week
from sim.society import society_week
from sim.week import begin_week, end_week, start
from sim.world import FIRST_PAUSE, HARDSHIP_STALE, new_event_buffer


@rule
def run_weeks(
    rng: Any,
    world: Any,
    places: Any,
    groups: Any,
    investors: Any,
    params: Any,
    weeks: int,
    metrics: np.ndarray,
    events: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Weeks 1..``weeks`` of one replicate; returns the event buffer and its row count.

    ``rng`` is the replicate's stream (:mod:`sim.draws`): its NumPy generator, or a keyed
    stream, which each step of each week turns to its own substream.
    """
    n_events = 0
    for week in range(1, weeks + 1):
        begin_week(world, week)
        draws.enter(rng, week, draws.IRAN)
        iran_week(rng, world, places, groups, params)
        china_week(world, params)
        draws.enter(rng, week, draws.PAKISTAN)
        pakistan_week(rng, world, places, groups, params)
        draws.enter(rng, week, draws.SOCIETY)
        society_week(rng, world, places, groups, investors, params)
        draws.enter(rng, week, draws.ORDER)
        for g in shuffled(rng, groups.baloch.size):
            draws.enter(rng, week, draws.GROUP, g)
            events, n_events = group_week(rng, g, groups, world, places, params, events, n_events)
        if week % 4 == 0:
            for k in range(investors.site.size):
                investor_month(k, investors, world, params)
            world.s[HARDSHIP_STALE] = 1.0
            world.month_incidents[:] = 0.0
        end_week(world, places, groups, investors, params, metrics[week - 1])
    return events, n_events


#: The weekly loop's compiled overload for each kind of stream, resolved at the first
#: replicate of a process: Numba's dispatcher would type the named tuples again at every
#: call (~0.1 ms).
_CALLS = {kind: Calls() for kind in STREAMS}


def run_replicate(
    params: ModelParams,
    weeks: int = 104,
    seed: int = 0,
    compiled: Any = None,
    streams: str = "single",
) -> ReplicateResult:
    """One replicate in compiled code: the same result as ``CrisisModel(...).run()``.

    ``compiled`` (``sim.world.compiled_params(params)``) saves rebuilding the parameter
    tuples when many replicates share ``params``. ``streams`` (:mod:`sim.draws`): "single"
    or "keyed" (common random numbers across scenarios).
    """
    weeks = checked_weeks(weeks)
    seed = checked_seed(seed)
    s = start(params if compiled is not None else validate(params), seed, compiled, streams)
    metrics = np.zeros((weeks, len(WEEKLY_METRICS)))
    events, n = _CALLS[streams](
        run_weeks,
        s.stream,
        s.world,
        s.places,
        s.groups,
        s.investors,
        s.params,
        weeks,
        metrics,
        new_event_buffer(),
    )
    return replicate_result(metrics, events, n, weeks, float(s.world.s[FIRST_PAUSE]))


def simulate(
    params: ModelParams,
    weeks: int = 104,
    seed: int = 0,
    backend: str = "compiled",
    compiled: Any = None,
    streams: str = "single",
) -> ReplicateResult:
    """One replicate by ``backend``: "compiled" (this engine) or "mesa" (:class:`CrisisModel`).

    Both give identical results for the same seed and ``streams``; the Mesa model is slower
    and inspectable. ``compiled`` is passed on to :func:`run_replicate` (the engine only).
    """
    if backend == "compiled":
        return run_replicate(params, weeks, seed, compiled, streams)
    if backend == "mesa":
        from sim.model import CrisisModel

        return CrisisModel(params, weeks=weeks, seed=seed, streams=streams).run()
    raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")


def warm(mesa: bool = False) -> None:
    """Load the compiled rules (compiling and caching them the first time on a machine) by
    running one short replicate; ``mesa=True`` also through the Mesa model."""
    run_replicate(ModelParams(), weeks=4, seed=0)
    if mesa:
        simulate(ModelParams(), 4, 0, "mesa")
