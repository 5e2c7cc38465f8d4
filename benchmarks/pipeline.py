"""Benchmarks of the run pipeline (wall time and peak memory of the whole process tree).

    .venv/bin/python benchmarks/pipeline.py speedup   [--replicates 1000]
    .venv/bin/python benchmarks/pipeline.py memory    [--replicates 10000]
    .venv/bin/python benchmarks/pipeline.py batch_run [--replicates 200] [--repeats 3]

Each command line runs in a fresh subprocess in a temporary folder; peak memory is the largest
sum of resident set sizes over the process and all its descendants, sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from memory import tree_rss_kib  # benchmarks/memory.py

BIN = Path(sys.executable).parent


def measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak tree RSS in MiB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kib(proc.pid))
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0  # before the sampler's join: it sleeps up to 50 ms
    done.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()}")
    return wall, peak / 1024


def cpec_run(replicates: int, jobs: int, cwd: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """The `cpec-sim run` command line of a benchmark."""
    return [
        str(BIN / "cpec-sim"),
        "run",
        f"replicates={replicates}",
        f"jobs={jobs}",
        "plots=false",
        f"hydra.run.dir={cwd / f'run-{replicates}-{jobs}-{time.time_ns()}'}",
        *extra,
    ]


def speedup(replicates: int, repeats: int) -> None:
    """Wall time of `cpec-sim run` with jobs=1 and jobs=2; the ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        one = [measure(cpec_run(replicates, 1, cwd), cwd)[0] for _ in range(repeats)]
        two = [measure(cpec_run(replicates, 2, cwd), cwd)[0] for _ in range(repeats)]
    m1, m2 = statistics.median(one), statistics.median(two)
    print(f"cpec-sim run replicates={replicates} weeks=104 (median of {repeats}):")
    print(f"  jobs=1: {m1:6.1f} s   jobs=2: {m2:6.1f} s   speed-up {m1 / m2:.2f}x")
    print(
        f"  targets: jobs=2 <= 60 s ({'met' if m2 <= 60 else 'NOT met'}), "
        f"speed-up >= 1.8x ({'met' if m1 / m2 >= 1.8 else 'NOT met'})"
    )


def memory(replicates: int) -> None:
    """Peak memory of a large run (chunks stream to disk)."""
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        small_wall, small_peak = measure(cpec_run(replicates // 10, 2, cwd), cwd)
        wall, peak = measure(cpec_run(replicates, 2, cwd), cwd)
    print(
        f"cpec-sim run replicates={replicates // 10} jobs=2: {small_wall:6.1f} s, "
        f"peak {small_peak:6.0f} MiB"
    )
    print(
        f"cpec-sim run replicates={replicates} jobs=2: {wall:6.1f} s, peak {peak:6.0f} MiB "
        f"(target < 1024 MiB: {'met' if peak < 1024 else 'NOT met'})"
    )


BATCH_SCRIPT = """
import sys, pandas as pd
from mesa import batch_run
from mesa.datacollection import DataCollector
from sim.model import CrisisModel
from sim.params import ModelParams
from sim.record import WEEKLY_METRICS
from sim.refcounts import count_plainly

count_plainly()  # as cpec-sim's processes count (the Mesa model runs ~16 ms a replicate either way)

class BatchCrisisModel(CrisisModel):
    def __init__(self, rng=None):
        super().__init__(ModelParams(), weeks=104, seed=rng)
        self.datacollector = DataCollector(model_reporters={
            k: (lambda m, k=k: m.recorder.weekly[k][m.week - 1]) for k in WEEKLY_METRICS})
    def step(self):
        super().step()
        self.datacollector.collect(self)

if __name__ == "__main__":  # batch_run forces the spawn start method
    n, jobs, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rows = batch_run(BatchCrisisModel, parameters={}, rng=list(range(n)), max_steps=104,
                     number_processes=jobs, data_collection_period=1, display_progress=False)
    pd.DataFrame(rows).to_parquet(out)
"""


def versus_batch_run(replicates: int, jobs: int, rounds: int = 1) -> None:
    """The same replicates through mesa.batch_run and through cpec-sim run; with ``rounds`` >
    1, the two interleaved that many times and each side's median (the same for both)."""
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (bw, bm), (cw, cm) = batch_run_and_ours(cwd, replicates, jobs, rounds)
    label = "" if rounds == 1 else f", medians of {rounds} interleaved rounds"
    print(f"{replicates} replicates x 104 weeks, {jobs} processes, weekly metrics stored{label}:")
    print(f"  mesa.batch_run: {bw:6.2f} s  peak {bm:6.0f} MiB")
    print(f"  cpec-sim run:   {cw:6.2f} s  peak {cm:6.0f} MiB")
    print(f"  ratios (batch_run / cpec-sim): time {bw / cw:.2f}x, memory {bm / cm:.2f}x")


def batch_run_and_ours(
    cwd: Path, replicates: int, jobs: int, rounds: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall s, peak MiB) of mesa.batch_run and of cpec-sim run on the same replicates: the
    medians of ``rounds`` interleaved runs of each."""
    script = cwd / "batch.py"
    script.write_text(BATCH_SCRIPT)
    batch, ours = [], []
    for r in range(rounds):
        out = cwd / f"b-{replicates}-{r}.parquet"
        batch.append(
            measure([sys.executable, str(script), str(replicates), str(jobs), str(out)], cwd)
        )
        ours.append(measure(cpec_run(replicates, jobs, cwd), cwd))

    def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(w for w, _ in runs), statistics.median(m for _, m in runs)

    return medians(batch), medians(ours)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("what", choices=["speedup", "memory", "batch_run"])
    ap.add_argument("--replicates", type=int)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    if a.what == "speedup":
        speedup(a.replicates or 1000, a.repeats)
    elif a.what == "memory":
        memory(a.replicates or 10000)
    else:
        versus_batch_run(a.replicates or 200, a.jobs, a.repeats)


if __name__ == "__main__":
    main()
