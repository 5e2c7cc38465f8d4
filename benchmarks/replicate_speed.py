"""Time one 104-week baseline replicate, compiled engine and Mesa model side by side.

.venv/bin/python benchmarks/replicate_speed.py [--repeats 40] [--profile]

Medians of many replicates on one core (imports and Numba compilation excluded: both paths are
warmed first); the ratio is measured in the same run.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable

from sim.engine import run_replicate
from sim.model import CrisisModel
from sim.params import ModelParams


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    CrisisModel(ModelParams(), weeks=104, seed=0).run()
    first = time.perf_counter() - t0
    engine = statistics.median(time_replicates(run_replicate, args.repeats))
    model = statistics.median(time_replicates(mesa, max(10, args.repeats // 4)))
    print("one 104-week baseline replicate, median CPU time on one core:")
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
