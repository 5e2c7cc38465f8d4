"""The compiled engine against the Mesa model: identical outputs, many seeds, every scenario.

    .venv/bin/python benchmarks/equivalence.py [--seeds 50] [--weeks 104]     (make equivalence)
    .venv/bin/python benchmarks/equivalence.py --scenario baseline --set groups.bla.my_rate=1.0

``make test`` checks two seeds per scenario (``tests/test_engine.py``); this checks many more
and prints, per scenario, how many replicates matched exactly and the time of each path.
``--scenario`` (repeatable) checks only those scenarios ($CPEC_SCENARIO_PATH's too), ``--set
KEY=VALUE`` (repeatable) changes a parameter in each, e.g. a new mechanism's, whose default
leaves it off in every shipped scenario, and ``--streams keyed`` draws from keyed streams.
Exit status 1 if any replicate differs.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import yaml

from sim.config import scenario_names, scenario_params
from sim.engine import run_replicate
from sim.model import CrisisModel
from sim.params import ParameterError
from sim.record import ReplicateResult
from sim.runner import replicate_seed


def identical(a: ReplicateResult, b: ReplicateResult) -> bool:
    """Every summary value, weekly metric and event column equal (NaN equals NaN)."""
    same_summary = all(
        a.summary[k] == b.summary[k]
        or (a.summary[k] != a.summary[k] and b.summary[k] != b.summary[k])
        for k in a.summary
    )
    same_weekly = all(np.array_equal(a.weekly[k], b.weekly[k], equal_nan=True) for k in a.weekly)
    same_events = all(list(a.events[k]) == list(b.events[k]) for k in a.events)
    return same_summary and same_weekly and same_events


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--streams", choices=("single", "keyed"), default="single")
    args = ap.parse_args()
    changes = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--set {item}: give KEY=VALUE")
        changes[key] = yaml.safe_load(value)
    failed = 0
    print(f"{'scenario':24s} {'identical':>10s} {'engine s':>9s} {'Mesa s':>8s}")
    for name in args.scenario or scenario_names():
        try:
            params = scenario_params(name, changes)
        except ParameterError as err:
            ap.error(str(err))
        same, t_engine, t_mesa = 0, 0.0, 0.0
        for i in range(args.seeds):
            seed = replicate_seed(0, i)
            t0 = time.perf_counter()
            a = run_replicate(params, args.weeks, seed, streams=args.streams)
            t1 = time.perf_counter()
            b = CrisisModel(params, weeks=args.weeks, seed=seed, streams=args.streams).run()
            t2 = time.perf_counter()
            same += identical(a, b)
            t_engine, t_mesa = t_engine + t1 - t0, t_mesa + t2 - t1
        failed += args.seeds - same
        print(f"{name:24s} {same:>4d} / {args.seeds:<4d} {t_engine:9.2f} {t_mesa:8.2f}")
    print("all identical" if failed == 0 else f"{failed} replicates differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
