"""Do keyed streams give the model the same distributions as a single stream?

    .venv/bin/python benchmarks/streams_distributions.py [--replicates 2000] [--scenario NAME]

Runs the scenario's replicates once with a single NumPy stream (replicate seeds 1000..) and
once with keyed streams on other seeds (5000..: no shared week 0), and prints for each summary
column the two means, their difference in standard errors and a two-sample KS p-value
(docs/model.md quotes a run of this script).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from sim.config import scenario_names, scenario_params
from sim.engine import run_replicate
from sim.runner import replicate_seed


def summaries(scenario: str, streams: str, n: int, first: int) -> dict[str, np.ndarray]:
    """Every numeric summary column over ``n`` replicates from replicate seed ``first``."""
    params = scenario_params(scenario)
    rows = [
        run_replicate(params, 104, replicate_seed(0, first + i), streams=streams).summary
        for i in range(n)
    ]
    return {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=2000)
    parser.add_argument("--scenario", default="baseline", choices=scenario_names())
    args = parser.parse_args()
    single = summaries(args.scenario, "single", args.replicates, 1000)
    keyed = summaries(args.scenario, "keyed", args.replicates, 5000)
    print(f"{args.scenario}, {args.replicates} replicates of each kind")
    print(f"{'column':26s} {'single':>10s} {'keyed':>10s} {'diff/se':>8s} {'KS p':>6s}")
    for c in single:
        a, b = single[c][np.isfinite(single[c])], keyed[c][np.isfinite(keyed[c])]
        if a.std() == 0 and b.std() == 0:
            continue
        z = (b.mean() - a.mean()) / np.sqrt(a.var() / a.size + b.var() / b.size)
        p = stats.ks_2samp(a, b).pvalue
        print(f"{c:26s} {a.mean():10.3f} {b.mean():10.3f} {z:+8.2f} {p:6.3f}")


if __name__ == "__main__":
    main()
