"""What keyed streams buy a scenario comparison: the paired differences' spread, both kinds.

    .venv/bin/python benchmarks/common_random_numbers.py [--replicates 400] [--scenario NAME]

Runs the baseline and the scenario with the same replicate seeds, once with a single NumPy
stream a replicate and once with keyed streams (``sim/draws.py``), and prints, per outcome,
the mean and standard deviation of the per-replicate difference and the pairs' correlation.
An interval on the mean difference is as wide as that sd over the square root of the
replicates: the ratio of the two sds, squared, is how many more replicates a single stream
needs for the same interval (docs/model.md quotes a run of this script).
"""

from __future__ import annotations

import argparse

import numpy as np

from sim.config import STREAMS, scenario_names, scenario_params
from sim.engine import run_replicate
from sim.runner import replicate_seed

OUTCOMES = (
    "attacks_total",
    "killed_balochistan",
    "security_killed",
    "fighters_final",
    "chinese_killed",
    "capital_deployed_final",
)


def outcomes(scenario: str, streams: str, replicates: int) -> dict[str, np.ndarray]:
    """Each outcome over the replicates of ``scenario`` (seed 0's replicate seeds)."""
    params = scenario_params(scenario)
    rows = [
        run_replicate(params, 104, replicate_seed(0, i), streams=streams).summary
        for i in range(replicates)
    ]
    return {c: np.array([r[c] for r in rows], dtype=float) for c in OUTCOMES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=400)
    parser.add_argument("--scenario", default="joint_operation", choices=scenario_names())
    args = parser.parse_args()
    runs = {
        s: (outcomes("baseline", s, args.replicates), outcomes(args.scenario, s, args.replicates))
        for s in STREAMS
    }
    print(f"{args.scenario} minus baseline, {args.replicates} replicates of 104 weeks each")
    print(f"{'outcome':24s} {'streams':8s} {'mean diff':>10s} {'sd diff':>9s} {'r':>6s}")
    for c in OUTCOMES:
        sds = []
        for s in STREAMS:
            a, b = runs[s][0][c], runs[s][1][c]
            d = b - a
            sds.append(d.std(ddof=1))
            r = np.corrcoef(a, b)[0, 1]
            print(f"{c:24s} {s:8s} {d.mean():+10.2f} {sds[-1]:9.2f} {r:+6.2f}")
        print(f"{'':24s} a single stream needs {(sds[0] / sds[1]) ** 2:.1f}x the replicates")


if __name__ == "__main__":
    main()
