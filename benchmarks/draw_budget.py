"""What the random draws of a baseline replicate cost alone: a floor under the engine's time.

    .venv/bin/python benchmarks/draw_budget.py [--replicates 5] [--repeats 7]

Every rule draws through ``sim.draws`` (``uniform``, ``integer``, ``binomial``, ``poisson``);
the one exception, one uniform per investor for its friction at week 0 (``sim.world``, in
Python: a handful a replicate), is left out.
A child process runs baseline replicates with Numba switched off (``NUMBA_DISABLE_JIT=1``),
so those functions are plain Python and can be wrapped: it records every draw, its kind, the
rule that made it and its arguments. This process then checks that those replicates are the
compiled engine's (same summary, same number of events: the count is of the real run), replays
every recorded draw in compiled code, in order, from a NumPy generator (the engine's
``single`` stream, NumPy's algorithms), and times that replay against the engine on the same
seeds; and, for comparison, from the ``keyed`` stream's generator. The replay does nothing
but draw, so its time is a floor: no faster engine of this model, drawing with these
algorithms, can take less. A draw made around ``sim.draws`` would be missed: the check of
equal replicates does not catch that, so keep every rule drawing through it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from numba import njit

from sim import draws
from sim.engine import run_replicate
from sim.params import ModelParams

KINDS = ("uniform", "integer", "binomial", "poisson")

_CHILD = r"""
import collections, json, sys
import numpy as np
from sim import draws
calls = {k: [] for k in ("uniform", "integer", "binomial", "poisson")}
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
out = {"summaries": [], "events": []}
for seed in range(int(sys.argv[2])):
    r = run_replicate(ModelParams(), seed=seed)
    out["summaries"].append({k: float(v) for k, v in r.summary.items()})
    out["events"].append(int(len(r.events)))
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
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
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
        if not same or len(r.events) != recorded["events"][seed]:
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


def engine_seconds(replicates: int) -> float:
    """Seconds for the engine's replicates of the same seeds, one after another."""
    params = ModelParams()
    t = time.perf_counter()
    for seed in range(replicates):
        run_replicate(params, seed=seed)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    opts = parser.parse_args()
    n = opts.replicates
    with tempfile.TemporaryDirectory() as tmp:
        args, recorded = record(n, Path(tmp))
    check_same_replicates(recorded, n)
    small = {k: v[: min(len(v), 10)] for k, v in args.items()}
    for streams in ("single", "keyed"):
        replay_seconds(small, streams)  # compile the replays
    engine_seconds(1)  # warm the engine
    rounds = [(replay_seconds(args), engine_seconds(n)) for _ in range(opts.repeats)]
    keyed = statistics.median(
        sum(replay_seconds(args, "keyed").values()) for _ in range(opts.repeats)
    )
    per_kind = {k: statistics.median(r[0][k] for r in rounds) / n * 1e3 for k in KINDS}
    floor = statistics.median(sum(r[0].values()) for r in rounds) / n * 1e3
    engine = statistics.median(r[1] for r in rounds) / n * 1e3
    print(f"{n} baseline replicates of 104 weeks (seeds 0-{n - 1}), medians of {opts.repeats}:")
    print("  draws a replicate, by kind and rule (Numba off; the same replicates as compiled):")
    callers = Counter(recorded["callers"])
    for what, count in callers.most_common():
        print(f"    {what:40s} {count / n:9.0f}")
    print("  compiled, each recorded draw made once, ms a replicate:")
    for kind in KINDS:
        calls = len(args[kind]) / n
        ns = per_kind[kind] * 1e6 / calls if calls else 0.0
        print(f"    {kind:9s} {calls:9.0f} draws  {per_kind[kind]:6.3f} ms  ({ns:.1f} ns each)")
    print(f"  the draws alone: {floor:.3f} ms a replicate")
    print(f"  the engine:      {engine:.3f} ms a replicate (draws {floor / engine:.0%} of it)")
    print(f"  left for everything else within a 1 ms replicate: {1.0 - floor:.3f} ms")
    print(
        f"  the same draws from the keyed stream (streams=keyed: SplitMix64, counts by "
        f"inversion): {keyed / n * 1e3:.3f} ms a replicate"
    )


if __name__ == "__main__":
    main()
