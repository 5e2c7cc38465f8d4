"""Time one 104-week baseline replicate on one core (median of many) and profile it.

.venv/bin/python benchmarks/replicate_speed.py [--repeats 40] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

from sim.model import CrisisModel
from sim.params import ModelParams


def time_replicates(repeats: int, weeks: int = 104, clock: str = "wall") -> list[float]:
    """Seconds per replicate (model construction included, imports excluded).

    ``clock="cpu"`` counts this process's CPU time only: steadier on a shared machine.
    """
    now = time.perf_counter if clock == "wall" else time.process_time
    params = ModelParams()
    CrisisModel(params, weeks=weeks, seed=0, network=False).run()  # warm caches
    out = []
    for seed in range(repeats):
        t = now()
        CrisisModel(params, weeks=weeks, seed=seed, network=False).run()
        out.append(now() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    CrisisModel(ModelParams(), weeks=104, seed=0, network=True).run()
    with_network = time.perf_counter() - t0
    times = time_replicates(args.repeats)
    cpu = statistics.median(time_replicates(args.repeats, clock="cpu"))
    med = statistics.median(times)
    q = statistics.quantiles(times, n=10)
    print(f"replicates timed:            {len(times)} x 104 weeks, baseline")
    spread = f"p10 {q[0] * 1e3:.1f}, p90 {q[-1] * 1e3:.1f}"
    print(f"median per replicate:        {med * 1e3:.1f} ms  ({spread})")
    print(
        f"median CPU time per replicate: {cpu * 1e3:.1f} ms (steadier when the machine is shared)"
    )
    print(f"simulated weeks per second:  {104 / med:,.0f}")
    print(f"first replicate incl. Mesa Network + caches: {with_network * 1e3:.1f} ms")
    print(f"target <= 50 ms: {'met' if med <= 0.050 else 'NOT met'}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        time_replicates(10)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
