"""Worker processes: one way to start them, for runs, explorations, calibrations and plots.

On POSIX a fork server that has already imported the heavy modules forks each worker (it
starts in milliseconds, and none is forked from a multi-threaded parent); elsewhere spawn.
Workers leave Ctrl-C to the parent, which stops them cleanly.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from collections.abc import Sequence
from typing import Any


def worker_init() -> None:
    """Initialise a worker: SIGINT is the parent's business, SIGTERM ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def worker_context(preload: Sequence[str]) -> Any:
    """The multiprocessing context for a worker pool whose workers import ``preload``."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    return ctx
