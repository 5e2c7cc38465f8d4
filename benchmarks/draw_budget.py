"""What a baseline replicate's random draws and cell events cost alone, beside the engine.

    .venv/bin/python benchmarks/draw_budget.py [--replicates 10] [--repeats 7]

Every rule draws through ``sim.draws`` (``uniform``, ``integer``, ``binomial``, ``poisson``);
one uniform per investor for its friction at week 0 (``sim.world``, in Python: a handful a
replicate) is left out, since ``sim.world`` binds ``uniform`` as it is imported, before the
child wraps it. A child process runs baseline replicates with
Numba switched off (``NUMBA_DISABLE_JIT=1``), so those functions are plain Python and can be
wrapped: it records every draw, its kind, the rule that made it and its arguments. This
process checks that those replicates are the compiled engine's (a hash of every weekly metric
and event row, and the summary, seed by seed), then replays every recorded draw in compiled
code, in order, from a NumPy generator (the engine's ``single`` stream, NumPy's algorithms),
and times that replay beside the engine on the same seeds; again without the empty draws
(no trials, a mean of 0: NumPy answers them without touching the generator); and from the
``keyed`` stream's generator. It also times the cells' process by itself (burn-in, then 40
coalesce/shatter events per group a week for 104 weeks, on week 0's pools) and the uniforms
it draws, so that the difference is its bookkeeping.

Read the replay as what the draws cost *alone*: inside the engine they overlap other work, so
they cost less there (a reviewer's inlined xoshiro256++ generator, which replays the draws in
~0.3 ms against ~0.7, saved only ~0.17 ms of the engine's ~3.6: docs/performance.md). A draw
made around ``sim.draws`` would go uncounted: keep every rule drawing through it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from sim import cells, draws
from sim.engine import run_replicate
from sim.params import ModelParams
from sim.record import ReplicateResult
from sim.week import start

KINDS = ("uniform", "integer", "binomial", "poisson")
HERE = Path(__file__).resolve().parent


def outputs_hash(result: ReplicateResult) -> str:
    """A hash of a replicate's weekly metrics and event rows."""
    h = hashlib.sha256()
    for name in sorted(result.weekly):
        h.update(name.encode())
        h.update(np.ascontiguousarray(result.weekly[name], dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(result.event_rows, dtype=np.int64).tobytes())
    return h.hexdigest()


_CHILD = r"""
import collections, json, sys
import numpy as np
from sim import draws
from draw_budget import KINDS, outputs_hash
calls = {k: [] for k in KINDS}
callers = collections.Counter()

def wrapped(kind, original):
    def draw(stream, *args):
        callers[kind + " in " + sys._getframe(1).f_code.co_name] += 1
        calls[kind].append(args)
        return original(stream, *args)
    return draw

for kind in calls:
    setattr(draws, kind, wrapped(kind, getattr(draws, kind)))
from sim.engine import run_replicate
from sim.params import ModelParams
out = {"summaries": [], "hashes": []}
for seed in range(int(sys.argv[2])):
    r = run_replicate(ModelParams(), seed=seed)
    out["summaries"].append({k: float(v) for k, v in r.summary.items()})
    out["hashes"].append(outputs_hash(r))
np.savez(sys.argv[1] + ".npz", **{k: np.array(v, dtype=float).reshape(len(v), -1)
                                   for k, v in calls.items()})
out["callers"] = dict(callers)
json.dump(out, open(sys.argv[1] + ".json", "w"))
"""


@njit(cache=False)
def _replay_uniform(rng: np.random.Generator, n: int) -> float:
    s = 0.0
    for _ in range(n):
        s += draws.uniform(rng)
    return s


@njit(cache=False)
def _replay_integer(rng: np.random.Generator, args: np.ndarray) -> int:
    s = 0
    for i in range(args.shape[0]):
        s += draws.integer(rng, int(args[i, 0]), int(args[i, 1]))
    return s


@njit(cache=False)
def _replay_binomial(rng: np.random.Generator, args: np.ndarray) -> int:
    s = 0
    for i in range(args.shape[0]):
        s += draws.binomial(rng, int(args[i, 0]), args[i, 1])
    return s


@njit(cache=False)
def _replay_poisson(rng: np.random.Generator, args: np.ndarray) -> int:
    s = 0
    for i in range(args.shape[0]):
        s += draws.poisson(rng, args[i, 0])
    return s


def record(replicates: int, folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The draws of ``replicates`` baseline replicates (seeds 0..), Numba off, in a child."""
    stem = folder / "draws"
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=path)
    subprocess.run([sys.executable, "-c", _CHILD, str(stem), str(replicates)], env=env, check=True)
    with np.load(str(stem) + ".npz") as data:
        args = {k: data[k] for k in KINDS}
    return args, json.loads(Path(str(stem) + ".json").read_text())


def check_same_replicates(recorded: dict, replicates: int) -> None:
    """Stop unless the recorded replicates are the compiled engine's, value for value."""
    for seed in range(replicates):
        r = run_replicate(ModelParams(), seed=seed)
        compiled = {k: float(v) for k, v in r.summary.items()}
        same = all(
            (np.isnan(a) and np.isnan(b)) or a == b
            for a, b in zip(compiled.values(), recorded["summaries"][seed].values(), strict=True)
        )
        if not same or outputs_hash(r) != recorded["hashes"][seed]:
            sys.exit(f"seed {seed}: the run without Numba is not the engine's; counts invalid")


def replay_seconds(args: dict[str, np.ndarray], streams: str = "single") -> dict[str, float]:
    """Seconds to make every recorded draw of each kind once, in compiled code, from a
    stream of the kind ``streams`` names (:mod:`sim.draws`)."""
    out = {}
    for kind in KINDS:
        rng = draws.stream_for(np.random.default_rng(12345), 12345, streams)
        t = time.perf_counter()
        if kind == "uniform":
            _replay_uniform(rng, len(args[kind]))
        else:
            {"integer": _replay_integer, "binomial": _replay_binomial, "poisson": _replay_poisson}[
                kind
            ](rng, args[kind])
        out[kind] = time.perf_counter() - t
    return out


def without_empty_draws(args: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The recorded draws less those NumPy answers without the generator (no trials, p of
    0, a mean of 0)."""
    out = dict(args)
    b, p = args["binomial"], args["poisson"]
    out["binomial"] = b[(b[:, 0] != 0) & (b[:, 1] != 0.0)] if len(b) else b
    out["poisson"] = p[p[:, 0] != 0.0] if len(p) else p
    return out


@njit(cache=False)
def _cell_process(
    rng: np.random.Generator,
    fighters_at: np.ndarray,
    pools: tuple[np.ndarray, np.ndarray, np.ndarray],
    burn_in: float,
    events: int,
    shatter: float,
    weeks: int,
) -> int:
    sizes, counts, meta = pools
    cells.burn_in(rng, fighters_at, sizes, counts, meta, burn_in, shatter)
    for _ in range(weeks):
        for g in range(fighters_at.shape[0]):
            cells.micro_events(rng, sizes[g], counts[g], meta[g], events, shatter)
    return int(meta[:, cells.DISTINCT].sum())


def cell_process_seconds(replicates: int, uniforms: int) -> tuple[float, float]:
    """Seconds for the cells' process alone over ``replicates`` seeds (on each seed's week-0
    fighters, not changed by recruits or removals), and for ``uniforms`` uniforms a seed."""
    c = ModelParams().cells
    process = drawing = 0.0
    for seed in range(replicates):
        fighters_at = start(ModelParams(), seed).groups.fighters_at.copy()
        pools = cells.new_pool_arrays(fighters_at.shape[0])
        t = time.perf_counter()
        _cell_process(
            np.random.default_rng(seed),
            fighters_at,
            pools,
            c.burn_in_per_fighter,
            c.events_per_week,
            c.shatter_probability,
            104,
        )
        process += time.perf_counter() - t
        t = time.perf_counter()
        _replay_uniform(np.random.default_rng(seed), uniforms)
        drawing += time.perf_counter() - t
    return process, drawing


def engine_seconds(replicates: int) -> float:
    """Seconds for the engine's replicates of the same seeds, one after another."""
    params = ModelParams()
    t = time.perf_counter()
    for seed in range(replicates):
        run_replicate(params, seed=seed)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    opts = parser.parse_args()
    n = opts.replicates
    with tempfile.TemporaryDirectory() as tmp:
        args, recorded = record(n, Path(tmp))
    check_same_replicates(recorded, n)
    full, nonempty = args, without_empty_draws(args)
    callers = Counter(recorded["callers"])
    cell_uniforms = (
        callers["uniform in size_biased_slot"] + callers["uniform in micro_events"]
    ) // n
    small = {k: v[: min(len(v), 10)] for k, v in args.items()}
    for streams in ("single", "keyed"):
        replay_seconds(small, streams)  # compile the replays
    cell_process_seconds(1, 10)  # and the cells' process
    engine_seconds(1)  # warm the engine
    rounds: list[dict[str, Any]] = []
    for _ in range(opts.repeats):  # each round times every variant, so load falls on all alike
        rounds.append(
            {
                "full": replay_seconds(full),
                "nonempty": sum(replay_seconds(nonempty).values()),
                "keyed": sum(replay_seconds(full, "keyed").values()),
                "cells": cell_process_seconds(n, cell_uniforms),
                "engine": engine_seconds(n),
            }
        )

    def ms(values: list[float]) -> float:
        return statistics.median(values) / n * 1e3

    per_kind = {k: ms([r["full"][k] for r in rounds]) for k in KINDS}
    floor = ms([sum(r["full"].values()) for r in rounds])
    engine = ms([r["engine"] for r in rounds])
    cells_all = ms([r["cells"][0] for r in rounds])
    cells_draws = ms([r["cells"][1] for r in rounds])
    print(f"{n} baseline replicates of 104 weeks (seeds 0-{n - 1}), medians of {opts.repeats}:")
    print("  draws a replicate, by kind and rule (Numba off; the same replicates as compiled):")
    for what, count in callers.most_common():
        print(f"    {what:40s} {count / n:9.0f}")
    print("  compiled, each recorded draw made once, ms a replicate:")
    for kind in KINDS:
        calls = len(args[kind]) / n
        each = per_kind[kind] * 1e6 / calls if calls else 0.0
        print(f"    {kind:9s} {calls:9.0f} draws  {per_kind[kind]:6.3f} ms  ({each:.1f} ns each)")
    empties = (len(full["binomial"]) - len(nonempty["binomial"])) / n
    zero_means = (len(full["poisson"]) - len(nonempty["poisson"])) / n
    print(f"  the draws alone:                      {floor:.3f} ms a replicate")
    print(
        f"    without the {empties:.0f} empty binomials and {zero_means:.0f} Poisson draws of "
        f"mean 0: {ms([r['nonempty'] for r in rounds]):.3f} ms"
    )
    print(f"    from the keyed stream's generator:  {ms([r['keyed'] for r in rounds]):.3f} ms")
    print(
        f"  the cells' process alone (burn-in, then {ModelParams().cells.events_per_week} events "
        f"per group a week, on week 0's pools): {cells_all:.3f} ms; the {cell_uniforms} "
        f"uniforms it draws in the engine, alone: {cells_draws:.3f} ms; the rest, its "
        f"bookkeeping: {cells_all - cells_draws:.3f} ms"
    )
    print(f"  the engine:                           {engine:.3f} ms a replicate")


if __name__ == "__main__":
    main()
