"""Which parameters a scenario leaves idle: a one-at-a-time scan for placebos.

    .venv/bin/python benchmarks/idle_parameters.py [--scenario baseline] [--replicates 200]
        [--only SUBSTRING ...] [--set KEY=VALUE ...]

Runs the scenario at its values, then with each settable parameter moved to each of its
bounds (or the other choice, the other switch), with keyed streams and the same replicate
seeds, and compares every summary column, weekly metric and attack event replicate by
replicate. A parameter that changes none of them in any replicate is **idle** in that
scenario: a participant who moves it learns "it made no difference" from the model's gates,
not from its mechanisms. A bound that breaks a relation between parameters (a threshold's
order) or a run-away model is moved halfway towards the value until it runs. ``--set``
changes the scenario first (``--set iran.initial_posture=hostile``). About two minutes a
scenario at 200 replicates (docs/parameters.md quotes a run of this script).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from sim.config import scenario_names, scenario_params, with_overrides
from sim.engine import run_replicate
from sim.params import ModelParams, ParameterError, iter_params
from sim.record import SUMMARY_COLUMNS, WEEKLY_METRICS
from sim.runner import replicate_seed
from sim.world import compiled_params

WEEKS = 104


def outcomes(params: ModelParams, seeds: list[int]) -> list[tuple[Any, ...]]:
    """Each replicate's summary, weekly metrics and attack events, as comparable values."""
    compiled = compiled_params(params)
    out = []
    for seed in seeds:
        r = run_replicate(params, WEEKS, seed, compiled, "keyed")
        summary = tuple(float(r.summary[c]) for c in SUMMARY_COLUMNS)
        weekly = tuple(np.asarray(r.weekly[k]).tobytes() for k in WEEKLY_METRICS)
        out.append((summary, weekly, np.asarray(r.event_rows).tobytes()))
    return out


def moved_values(info: Any) -> list[Any]:
    """The values a parameter is moved to: each bound, the other choices, the other switch."""
    if info.type == "bool":
        return [not info.value]
    if info.choices:
        return [c for c in info.choices if c != info.value]
    return [v for v in info.bounds if v != info.value]


def runnable(base: ModelParams, info: Any, target: Any) -> tuple[Any, ModelParams] | None:
    """``target``, or the first value halfway towards the default that is allowed and runs."""
    value = target
    for _ in range(12):
        if info.type == "int":
            value = round(value)
        try:
            params = with_overrides(base, {info.path: value})
            outcomes(params, [0])
            return value, params
        except (ParameterError, ValueError, MemoryError):
            pass
        if isinstance(value, bool | str) or value == info.value:
            return None
        value = info.value + (value - info.value) / 2
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="baseline", choices=scenario_names())
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--only", nargs="*", default=[], help="parameters whose key contains these")
    ap.add_argument("--set", nargs="*", default=[], help="KEY=VALUE changes of the scenario")
    args = ap.parse_args()
    changes = dict(item.split("=", 1) for item in args.set)
    base = scenario_params(args.scenario, changes)
    seeds = [replicate_seed(0, i) for i in range(args.replicates)]
    reference = outcomes(base, seeds)
    idle, partly = [], []
    infos = [i for i in iter_params(base) if not args.only or any(s in i.path for s in args.only)]
    for info in infos:
        for target in moved_values(info):
            found = runnable(base, info, target)
            if found is None:
                continue
            value, params = found
            moved = outcomes(params, seeds)
            changed = sum(a != b for a, b in zip(reference, moved, strict=True))
            shown = f"{value:.4g}" if isinstance(value, float) else value
            label = f"{info.path}={shown} (from {info.value})"
            if changed == 0:
                idle.append(label)
            elif changed < math.ceil(0.05 * len(seeds)):
                partly.append(f"{label}: {changed} of {len(seeds)} replicates changed")
    where = f"{args.scenario}" + (f" with {', '.join(args.set)}" if args.set else "")
    print(f"{where}: {len(infos)} parameters, {args.replicates} keyed replicates each")
    print(f"idle (no replicate changed in any output): {len(idle)}")
    for line in idle:
        print(f"  {line}")
    print(f"nearly idle (fewer than 5% of replicates changed): {len(partly)}")
    for line in partly:
        print(f"  {line}")


if __name__ == "__main__":
    main()
