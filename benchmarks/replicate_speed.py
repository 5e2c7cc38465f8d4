"""Time one 104-week baseline replicate, compiled engine and Mesa model side by side.

.venv/bin/python benchmarks/replicate_speed.py [--repeats 40] [--profile] [--phases]

Medians of many replicates on one core (imports and Numba compilation excluded: both paths are
warmed first); the ratio is measured in the same run. ``--phases`` estimates where the engine's
time goes: the cell process switched off in turn (weekly micro-events, burn-in; rounds
interleaved, so the machine's load falls on every variant alike) and the Python-side split.
These variants are other models (no cells, other attacks): read them as shares, not as
exact costs.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

from sim.engine import run_replicate
from sim.model import CrisisModel
from sim.params import ModelParams
from sim.refcounts import count_plainly, how_counted
from sim.world import compiled_params


def mesa(params: ModelParams, weeks: int, seed: int) -> object:
    """One replicate through the Mesa model (the reference path)."""
    return CrisisModel(params, weeks=weeks, seed=seed).run()


def time_replicates(
    run: Callable[[ModelParams, int, int], object], repeats: int, weeks: int = 104
) -> list[float]:
    """Seconds per replicate (construction included), CPU time of this process."""
    params = ModelParams()
    run(params, weeks, 0)  # warm caches
    out = []
    for seed in range(repeats):
        t = time.process_time()
        run(params, weeks, seed)
        out.append(time.process_time() - t)
    return out


def cell_variants() -> dict[str, ModelParams]:
    """The baseline, and the baseline with parts of the cell process switched off."""
    base = ModelParams()
    cells = base.cells

    def with_cells(events: int, burn_in: float) -> ModelParams:
        changed = replace(cells, events_per_week=events, burn_in_per_fighter=burn_in)
        return replace(base, cells=changed)

    return {
        "baseline": base,
        "no weekly cell events": with_cells(0, cells.burn_in_per_fighter),
        "no cell burn-in": with_cells(cells.events_per_week, 0.0),
        "neither": with_cells(0, 0.0),
    }


def phases(rounds: int = 8, per_round: int = 25) -> None:
    """Print the engine's time per replicate with parts of the cell process off, and the
    Python-side split of a baseline replicate."""
    variants = {name: (p, compiled_params(p), []) for name, p in cell_variants().items()}
    for p, compiled, _ in variants.values():
        run_replicate(p, 104, 0, compiled)
    for _ in range(rounds):
        for p, compiled, times in variants.values():
            t = time.process_time()
            for seed in range(per_round):
                run_replicate(p, 104, seed, compiled)
            times.append((time.process_time() - t) / per_round)
    print(f"engine, ms per replicate (median of {rounds} interleaved rounds of {per_round}):")
    for name, (_, _, times) in variants.items():
        print(f"  {name:24s} {statistics.median(times) * 1e3:6.2f}  (min {min(times) * 1e3:.2f})")
    p = ModelParams()
    compiled = compiled_params(p)
    prof = cProfile.Profile()
    prof.enable()
    for seed in range(300):
        run_replicate(p, 104, seed, compiled)
    prof.disable()
    stats = pstats.Stats(prof)
    print("Python-side split of 300 baseline replicates (cProfile, ms per replicate):")
    rows = stats.stats.items()  # type: ignore[attr-defined]
    wanted = ("run_replicate", "run_weeks", "start", "new_groups", "replicate_result")
    for (_, _, func), row in sorted(rows, key=lambda kv: -kv[1][3]):
        name = func.removeprefix("<built-in method ").removesuffix(">").rsplit(".", 1)[-1]
        if name in wanted:  # run_weeks is the compiled loop; start includes new_groups
            print(f"  {name:18s} {row[3] / 300 * 1e3:6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--phases", action="store_true", help="where the engine's time goes")
    ap.add_argument(
        "--atomic", action="store_true", help="Numba's atomic reference counts (a notebook's)"
    )
    args = ap.parse_args()
    if not args.atomic:
        count_plainly()  # as cpec-sim's processes run the engine
    if args.phases:
        phases()
        return
    t0 = time.perf_counter()
    CrisisModel(ModelParams(), weeks=104, seed=0).run()
    first = time.perf_counter() - t0
    engine = statistics.median(time_replicates(run_replicate, args.repeats))
    model = statistics.median(time_replicates(mesa, max(10, args.repeats // 4)))
    print("one 104-week baseline replicate, median CPU time on one core:")
    print(f"  ({how_counted()})")
    print(f"  compiled engine: {engine * 1e3:7.2f} ms")
    print(f"  Mesa model:      {model * 1e3:7.2f} ms  (same rules, same results)")
    print(f"  ratio Mesa / engine: {model / engine:.1f}x")
    print(f"  first Mesa replicate in this process, with its Network: {first * 1e3:.0f} ms")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        time_replicates(mesa, 10)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
