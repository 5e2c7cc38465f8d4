"""Where a compiled replicate's time goes, step by step, from the processor's cycle counter.

    .venv/bin/python benchmarks/engine_steps.py [--replicates 300]

Sampling profilers mislead here: ``perf`` on this virtual machine attributes ~38% of the
engine's samples to Numba's reference counting (the atomic instruction absorbs the timer's
samples), yet making those operations free changed nothing measurable (docs/performance.md).
This script instead runs the engine's weekly loop (``sim.engine.run_weeks`` and
``sim.rules.militant_group.group_week``) with a cycle-counter read between its steps and
sums the cycles of each step over many baseline replicates (elapsed time: the counter runs at
a constant rate, calibrated against the wall clock), and times the engine itself in turn on
the same seeds. The timed loop writes ``group_week`` out, so it does not pay for calling it
as a function: the engine's time minus this loop's is that call's cost. It first checks that
the timed loop gives exactly the engine's results for several seeds, so it cannot drift from
the real loop unnoticed: if the engine's loop changes, it stops and says so.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from sim import cells
from sim.compiled import shuffled
from sim.engine import run_replicate
from sim.params import ModelParams
from sim.record import WEEKLY_METRICS, replicate_result
from sim.refcounts import count_plainly
from sim.rules.china import china_week
from sim.rules.investor import investor_month
from sim.rules.iran import iran_week
from sim.rules.militant_group import (
    attack_once,
    draw_attempts,
    forget,
    interdiction_probability,
    joint_operations,
    next_excitation,
    reach_into,
)
from sim.rules.pakistan import pakistan_week
from sim.society import society_week
from sim.week import begin_week, end_week, start
from sim.world import FIRST_PAUSE, HARDSHIP_STALE, JOINT, compiled_params, new_event_buffer

STEPS = (
    "Iran and China (and the week's start)",
    "Pakistan: guards, troops, operations",
    "society: legitimacy, grievance, recruits",
    "groups: forget, cell micro-events",
    "groups: attempts, reach",
    "groups: the attacks",
    "investors (monthly), end of the week",
)


@intrinsic
def cycles(typingctx: Any) -> Any:
    """The processor's cycle counter (``llvm.readcyclecounter``)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(fn, [])

    return types.int64(), codegen


@njit
def now() -> int:
    """The cycle counter, from Python."""
    return cycles()


@njit
def timed_weeks(
    rng: Any,
    world: Any,
    places: Any,
    groups: Any,
    investors: Any,
    params: Any,
    weeks: int,
    metrics: np.ndarray,
    events: np.ndarray,
    acc: np.ndarray,
) -> tuple[np.ndarray, int]:
    """``sim.engine.run_weeks`` with ``group_week`` written out, summing each step's cycles
    into ``acc`` (indices as in :data:`STEPS`)."""
    n_events = 0
    for week in range(1, weeks + 1):
        t = cycles()
        begin_week(world, week)
        iran_week(rng, world, places, groups, params)
        china_week(world, params)
        u = cycles()
        acc[0] += u - t
        pakistan_week(rng, world, places, groups, params)
        t = cycles()
        acc[1] += t - u
        society_week(rng, world, places, groups, investors, params)
        u = cycles()
        acc[2] += u - t
        for g in shuffled(rng, groups.baloch.size):
            t = cycles()
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
            u = cycles()
            acc[3] += u - t
            attempts = draw_attempts(rng, g, groups, params.escalation)
            joint = joint_operations(world.s[JOINT] > 0, params.china)
            interdiction = interdiction_probability(joint, params.attacks)
            if attempts > 0:
                where = np.empty(places.adjacency.shape[0])
                reach_into(
                    where, groups.fighters_at[g], places.adjacency, params.attacks.neighbour_reach
                )
                t = cycles()
                acc[4] += t - u
                for _ in range(attempts):
                    events, n_events = attack_once(
                        rng, g, groups, world, places, params, interdiction, where, events, n_events
                    )
                u = cycles()
                acc[5] += u - t
            groups.excitation[g] = next_excitation(
                groups.excitation[g], attempts, groups.backlash[g], params.escalation
            )
            groups.backlash[g] = 0.0
            t = cycles()
            acc[4] += t - u
        u = cycles()
        if week % 4 == 0:
            for k in range(investors.site.size):
                investor_month(k, investors, world, params)
            world.s[HARDSHIP_STALE] = 1.0
            world.month_incidents[:] = 0.0
        end_week(world, places, groups, investors, params, metrics[week - 1])
        acc[6] += cycles() - u
    return events, n_events


def timed_replicate(params: ModelParams, compiled: Any, seed: int, acc: np.ndarray) -> Any:
    """One replicate through :func:`timed_weeks`; (result, start seconds, result seconds)."""
    t0 = time.perf_counter()
    s = start(params, seed, compiled)
    t1 = time.perf_counter()
    metrics = np.zeros((104, len(WEEKLY_METRICS)))
    events, n = timed_weeks(
        s.rng, s.world, s.places, s.groups, s.investors, s.params, 104, metrics,
        new_event_buffer(), acc,
    )  # fmt: skip
    t2 = time.perf_counter()
    result = replicate_result(metrics, events, n, 104, float(s.world.s[FIRST_PAUSE]))
    return result, t1 - t0, time.perf_counter() - t2


def same(a: Any, b: Any) -> bool:
    """Whether two replicate results are identical (weekly metrics, attacks, summary)."""
    weekly = all(np.array_equal(a.weekly[k], b.weekly[k], equal_nan=True) for k in a.weekly)
    summary = {k: repr(v) for k, v in a.summary.items()} == {
        k: repr(v) for k, v in b.summary.items()
    }
    return weekly and np.array_equal(a.event_rows, b.event_rows) and summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--replicates", type=int, default=300)
    args = ap.parse_args()
    count_plainly()  # as cpec-sim's processes run the engine
    params = ModelParams()
    compiled = compiled_params(params)
    acc = np.zeros(len(STEPS), dtype=np.int64)
    for seed in range(5):
        timed = timed_replicate(params, compiled, seed, acc)[0]
        if not same(timed, run_replicate(params, 104, seed)):
            print("the timed loop no longer matches sim.engine.run_weeks: update this script")
            return 1
    acc[:] = 0
    n, rounds = args.replicates, 5
    engine_wall = wall = setup = tables = 0.0
    c0 = now()
    for r in range(rounds):  # the engine and this loop in turn, on the same seeds
        seeds = range(r * n // rounds, (r + 1) * n // rounds)
        t = time.perf_counter()
        for seed in seeds:
            run_replicate(params, 104, seed, compiled)
        engine_wall += time.perf_counter() - t
        t = time.perf_counter()
        for seed in seeds:
            _, s, r_ = timed_replicate(params, compiled, seed, acc)
            setup, tables = setup + s, tables + r_
        wall += time.perf_counter() - t
    per_ms = (now() - c0) / (wall + engine_wall) / 1e3  # cycles per millisecond
    print(f"{n} baseline replicates of 104 weeks; ms per replicate, elapsed time on one core:")
    rows = [(name, acc[i] / n / per_ms) for i, name in enumerate(STEPS)]
    rows += [("week 0 (sim.week.start, Python and compiled)", setup / n * 1e3)]
    rows += [("the result arrays (replicate_result)", tables / n * 1e3)]
    total = wall / n * 1e3
    rows += [("the rest: calls from Python, group order, timers", total - sum(r[1] for r in rows))]
    for name, ms in rows:
        print(f"  {name:50s} {ms:6.3f}  {ms / total:5.1%}")
    print(f"  {'whole replicate, this loop':50s} {total:6.3f}")
    print(f"  {'whole replicate, the engine (run_replicate)':50s} {engine_wall / n * 1e3:6.3f}")
    print(
        "This loop has group_week written out; the engine calls it as a compiled function,\n"
        "passing the model's named tuples (520 calls a replicate): the difference is that cost."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
