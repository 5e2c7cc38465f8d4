"""How well `cpec-sim precision`'s intervals and projections hold on the model's own outcomes.

    .venv/bin/python benchmarks/precision_coverage.py RUN_DIR [--n 100] [--trials 2000]

RUN_DIR is a large run (e.g. `cpec-sim run replicates=10000 plots=false`), taken as the
population: each trial draws ``n`` of its replicates without replacement, as a run of ``n``
replicates would, and checks whether the mean's t interval covers the population's mean and
the median's interval the population's median. It also prints, per outcome, how the projected
replicates for ±5% of the mean spread across trials against the projection from the whole
population. Figures, not assertions: docs/results.md quotes them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim.analysis import precision
from sim.analysis.runs import load_run
from sim.analysis.style import OUTCOMES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    summary = load_run(args.run).outcomes  # the summary and the outcomes derived from it
    rng = np.random.default_rng(args.seed)
    print(
        f"{len(summary)} replicates as the population; {args.trials} samples of {args.n}; "
        "95% intervals; projection: replicates for ±5% of the mean"
    )
    print(
        f"{'outcome':32s} {'mean covered':>12s} {'median covered':>14s} "
        f"{'projection: population':>22s} {'samples 10%-50%-90%':>22s}"
    )
    for name in OUTCOMES:
        population = summary[name].to_numpy(dtype=float)
        mean, median = population.mean(), np.median(population)
        whole = precision.replicates_for_mean(population, 0.05)
        mean_hits = median_hits = 0
        projections = []
        for _ in range(args.trials):
            x = rng.choice(population, size=args.n, replace=False)
            half = precision.mean_half_width(x)
            mean_hits += abs(x.mean() - mean) <= half
            low, high = precision.median_interval(x)
            median_hits += low <= median <= high
            projections.append(precision.replicates_for_mean(x, 0.05) or 0)
        q = np.percentile(projections, [10, 50, 90]).round().astype(int)
        print(
            f"{name:32s} {mean_hits / args.trials:12.3f} {median_hits / args.trials:14.3f} "
            f"{whole or 0:22,d} {f'{q[0]:,} - {q[1]:,} - {q[2]:,}':>22s}"
        )


if __name__ == "__main__":
    main()
