"""An error or Ctrl-C stops a pool of workers at once, not after every queued task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from sim.workers import starting_workers, stop_pool, worker_context, worker_init


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


def _sleep_then(action: Callable[[], object]) -> None:
    time.sleep(0.05)
    action()


@pytest.mark.parametrize("sender", ["this thread", "another thread"])
def test_ctrl_c_while_workers_start_takes_effect_when_the_block_ends(sender: str) -> None:
    """A pool stopped while it starts a worker would not know that worker: Ctrl-C is held back
    until the workers have started, whichever thread the signal reaches, then raised."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), starting_workers():
            if sender == "this thread":
                signal.raise_signal(signal.SIGINT)
            else:
                kill = threading.Thread(
                    target=_sleep_then, args=(lambda: os.kill(os.getpid(), signal.SIGINT),)
                )
                kill.start()
                kill.join()
            time.sleep(0.2)  # a handler would have run by now
            reached_the_end = True
        assert reached_the_end
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_the_fork_server_is_born_with_ctrl_c_blocked() -> None:
    """A Ctrl-C during the fork server's interpreter start-up printed a fatal error."""
    code = (
        "import multiprocessing.forkserver as fs, pathlib\n"
        "from sim.workers import start_worker_server\n"
        "start_worker_server([])\n"
        "status = pathlib.Path(f'/proc/{fs._forkserver._forkserver_pid}/status').read_text()\n"
        "print(next(l for l in status.splitlines() if l.startswith('SigBlk:')).split()[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip(), 16) & (1 << (signal.SIGINT - 1))
