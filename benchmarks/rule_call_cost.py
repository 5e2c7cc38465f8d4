"""What one compiled call of a rule with the model's named tuples costs, inside compiled code.

.venv/bin/python benchmarks/rule_call_cost.py [--calls 52000] [--rounds 9]

A compiled loop calls a rule that takes the arguments ``group_week`` takes (the generator,
the groups', world's and places' tuples of arrays, the parameter tuples, the event buffer)
and does almost nothing with them; a second loop does the same work with the rule written
out. The difference is the cost of the call itself: Numba passes a named tuple as its
flattened fields and counts a reference to every array in it. The engine makes ~520 such
calls to ``group_week`` a replicate, and a few dozen a week to the other weekly rules.

The loops here are compiled in this process (not cached): that takes ~15 s before the timing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
from numba import njit

from sim.compiled import Calls
from sim.params import ModelParams, validate
from sim.rules.militant_group import group_week
from sim.week import start
from sim.world import new_event_buffer


@njit
def _touch(rng: Any, g: int, groups: Any, world: Any, places: Any, params: Any, events: Any,
           n_events: int) -> tuple[np.ndarray, int]:  # fmt: skip
    """Almost nothing: one addition on the world's state (a rule's smallest real work).

    The branch is never taken; the size of ``group_week`` behind it keeps LLVM from inlining
    this rule into its caller, as ``group_week``'s own size does in the engine.
    """
    if n_events < 0:
        return group_week(rng, g, groups, world, places, params, events, n_events)
    world.s[0] += groups.excitation[g] * params.cells.shatter_probability
    return events, n_events + 1


@njit
def _calling(rng: Any, groups: Any, world: Any, places: Any, params: Any, events: Any,
             calls: int) -> int:  # fmt: skip
    """``calls`` calls of :func:`_touch`, as ``run_weeks`` calls ``group_week``."""
    n_events = 0
    for i in range(calls):
        events, n_events = _touch(rng, i % 5, groups, world, places, params, events, n_events)
    return n_events


@njit
def _written_out(rng: Any, groups: Any, world: Any, places: Any, params: Any, events: Any,
                 calls: int) -> int:  # fmt: skip
    """The same work as :func:`_calling` without the call."""
    n_events = 0
    for i in range(calls):
        world.s[0] += groups.excitation[i % 5] * params.cells.shatter_probability
        n_events += 1
    return n_events


def time_loop(loop: Any, calls: int, rounds: int) -> float:
    """Median seconds of ``rounds`` runs of ``loop`` making ``calls`` calls (warmed first)."""
    s = start(validate(ModelParams()), seed=1)
    events = new_event_buffer()
    run = Calls()
    args = (s.rng, s.groups, s.world, s.places, s.params, events)
    run(loop, *args, 10)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        run(loop, *args, calls)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=52_000, help="calls per timed run")
    ap.add_argument("--rounds", type=int, default=9, help="timed runs of each loop")
    a = ap.parse_args()
    called = time_loop(_calling, a.calls, a.rounds) / a.calls
    written = time_loop(_written_out, a.calls, a.rounds) / a.calls
    cost = called - written
    print(f"a rule called with the model's tuples: {called * 1e9:.0f} ns a call")
    print(f"the same work written out:             {written * 1e9:.0f} ns")
    print(f"the call itself: {cost * 1e9:.0f} ns; x 520 group-weeks = {cost * 520 * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
