"""Simulation-based calibration: do the posterior's 90% intervals cover the truth 90% of the time?

.venv/bin/python benchmarks/calibration_coverage.py toy    [--truths 200]
.venv/bin/python benchmarks/calibration_coverage.py crisis [--truths 20] [--jobs 2]
.venv/bin/python benchmarks/calibration_coverage.py crisis --full --scheduler tcp://HOST:8786

For each of ``--truths`` parameter sets drawn from the prior, one replicate simulated there is
the "observed" record; a calibration of it gives a posterior, and the script counts how often
each parameter's 90% interval holds its truth (with the binomial 95% range of that count),
the median interval width over the prior's width (coverage bought by vagueness shows here),
and the wall time.

* ``toy``: ten N(theta, 1) draws summarised by their mean, whose exact posterior is known
  (``tests/calibration/toy.py``); ABC-SMC with 200 particles and 5 generations.
* ``crisis``: the crisis model with the shipped calibration file, by default in ``--fast``
  settings (60 particles, 3 generations; ``--population``/``--generations`` to change): their
  few effective particles make intervals narrower by chance (82% coverage measured, 10 truths).
  ``--full``: the documented calibration's settings (400 particles, 6 generations, pilot 400;
  ~45,000 simulations, ~8 minutes a truth on 2 cores): run it on a Dask cluster
  (``--scheduler``, see ``docs/calibration.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def binomial_range(p: float, n: int) -> tuple[float, float]:
    """Central 95% range of the share of hits out of ``n`` at hit probability ``p``."""
    from scipy.stats import binom

    return binom.ppf(0.025, n, p) / n, binom.ppf(0.975, n, p) / n


def toy(truths: int, seed: int) -> None:
    from sim.calibration.abc import ABC, Settings, pilot_scales
    from sim.calibration.diagnostics import weighted_quantile
    from sim.calibration.space import Prior
    from tests.calibration.toy import POSTERIOR_SD
    from tests.calibration.toy import toy as simulate

    priors = [Prior("theta", ("toy.theta",), -3.0, 3.0)]
    rng = np.random.default_rng(seed)
    hits, widths = [], []
    start = time.perf_counter()
    for k in range(truths):
        truth = float(rng.uniform(-3.0, 3.0))
        obs = simulate({"theta": truth}, int(rng.integers(2**31)))["mean"]
        settings = Settings(population=200, generations=5, pilot=100, seed=k)
        scales = pilot_scales(simulate, priors, ["mean"], 100, k)
        abc = ABC(simulate, priors, {"mean": obs}, scales, settings, None)
        abc.start_or_resume(resume=False)
        for _ in range(settings.generations):
            abc.run_generation()
        pop = abc.population()
        lo, hi = weighted_quantile(pop["theta"], pop["weight"], [0.05, 0.95])
        hits.append(lo <= truth <= hi)
        widths.append(hi - lo)
    low, high = binomial_range(0.9, truths)
    print(f"toy: {truths} truths, {time.perf_counter() - start:.0f} s")
    exact = 2 * 1.645 * POSTERIOR_SD
    print(f"  90% interval coverage {np.mean(hits):.3f} (binomial 95% range: {low:.2f}-{high:.2f})")
    print(f"  median width {np.median(widths):.3f} (exact posterior: {exact:.3f})")


def crisis(
    truths: int,
    seed: int,
    jobs: int,
    population: int,
    generations: int,
    full: bool = False,
    scheduler: str | None = None,
) -> None:
    from sim.calibration.pipeline import FAST, FULL, calibrate
    from sim.calibration.record import observed
    from sim.calibration.simulator import CrisisSimulator
    from sim.calibration.space import load_space

    space = load_space()
    simulator = CrisisSimulator(space)
    rng = np.random.default_rng(seed)
    hits = {p.name: [] for p in space.priors}
    widths = {p.name: [] for p in space.priors}
    start = time.perf_counter()
    with TemporaryDirectory() as tmp:
        for k in range(truths):
            truth = {p.name: float(rng.uniform(p.low, p.high)) for p in space.priors}
            stats = simulator(truth, int(rng.integers(2**31)))
            record = {o.name: stats[o.name] for o in observed("full")}
            settings = (
                replace(FULL, seed=k)
                if full
                else replace(FAST, seed=k, population=population, generations=generations)
            )
            result = calibrate(
                settings=settings, jobs=jobs, out_dir=Path(tmp) / str(k), scheduler=scheduler,
                space=space, record=record, predictive=20, progress=lambda _: None,
            )  # fmt: skip
            table = result.parameters.set_index("parameter")
            for p in space.priors:
                lo, hi = table.loc[p.name, ["posterior_q05", "posterior_q95"]]
                hits[p.name].append(lo <= truth[p.name] <= hi)
                widths[p.name].append((hi - lo) / p.width)
            so_far = np.mean([np.mean(h) for h in hits.values()])
            print(
                f"  truth {k + 1}/{truths} done, {time.perf_counter() - start:.0f} s; "
                f"coverage so far {so_far:.2f} (mean over parameters); this truth: "
                + " ".join(f"{n}={'in' if h[-1] else 'OUT'}" for n, h in hits.items()),
                flush=True,
            )
    low, high = binomial_range(0.9, truths)
    if full:
        population, generations = FULL.population, FULL.generations
    print(
        f"crisis ({population} particles, {generations} generations): {truths} truths, "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(f"  binomial 95% range of the coverage at 0.9: {low:.2f}-{high:.2f}")
    for p in space.priors:
        print(
            f"  {p.name:22s} coverage {np.mean(hits[p.name]):.2f}  "
            f"median width / prior width {np.median(widths[p.name]):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=["toy", "crisis"])
    parser.add_argument("--truths", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--population", type=int, default=60, help="crisis: particles")
    parser.add_argument("--generations", type=int, default=3, help="crisis: generations")
    parser.add_argument("--full", action="store_true", help="crisis: the documented settings")
    parser.add_argument("--scheduler", help="crisis: a Dask scheduler's address")
    args = parser.parse_args()
    if args.model == "toy":
        toy(args.truths or 200, args.seed)
    else:
        crisis(
            args.truths or 20,
            args.seed,
            args.jobs,
            args.population,
            args.generations,
            args.full,
            args.scheduler,
        )


if __name__ == "__main__":
    main()
