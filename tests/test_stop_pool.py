"""An error or Ctrl-C stops a pool of workers at once, not after every queued task."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sim.workers import stop_pool, worker_context, worker_init


def note_and_wait(log: Path, i: int) -> int:
    """A slow task that leaves a trace when it starts."""
    with log.open("a") as f:
        f.write(f"{i}\n")
    time.sleep(0.3)
    return i


def test_stop_pool_runs_no_queued_task(tmp_path: Path) -> None:
    log = tmp_path / "started.txt"
    pool = ProcessPoolExecutor(2, mp_context=worker_context([]), initializer=worker_init)
    futures = [pool.submit(note_and_wait, log, i) for i in range(30)]
    futures[0].result()
    stop_pool(pool, futures)
    started = log.read_text().split()
    assert len(started) <= 8, f"{len(started)} of 30 tasks ran after the pool was stopped"
    assert all(f.cancelled() or f.done() for f in futures)
