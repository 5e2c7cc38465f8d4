"""What a pool's fork server and workers find in their environment (``sim.workers``).

Each case runs in a fresh interpreter, so that its fork server is launched by the case itself
(a server already running in the test process would keep the environment it was born with).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sim.workers import WORKER_ENVIRONMENT

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="fork servers and /proc: Linux"
)

_POOL = """
import json, os
from concurrent.futures import ProcessPoolExecutor
from sim.workers import WORKER_ENVIRONMENT, worker_context, worker_init


def seen():
    import threading
    import numpy, scipy.special  # each loads an OpenBLAS, which starts its threads
    numpy.ones((300, 300)) @ numpy.ones((300, 300))
    native = len(os.listdir("/proc/self/task")) - threading.active_count()
    return {name: os.environ.get(name) for name in WORKER_ENVIRONMENT}, native


if __name__ == "__main__":
    before = dict(os.environ)
    ctx = worker_context(["sim.analysis.plots"])
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=worker_init) as pool:
        env, threads = pool.submit(seen).result()
    print(json.dumps([env, threads, dict(os.environ) == before]))
"""


def _pool(tmp_path: object, **env: str) -> list[object]:
    script = os.path.join(str(tmp_path), "pool.py")
    with open(script, "w") as f:
        f.write(_POOL)
    base = {k: v for k, v in os.environ.items() if k not in WORKER_ENVIRONMENT}
    out = subprocess.run(
        [sys.executable, script], env={**base, **env}, capture_output=True, text=True, check=True
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_workers_get_one_thread_each_and_the_launching_process_keeps_its_environment(
    tmp_path: object,
) -> None:
    """One worker per CPU: the numerical libraries start no threads of their own (OpenBLAS
    had one idle per library and core, ~5% of a drawing worker's samples); the notebook or
    command that launched the pool keeps its environment."""
    env, threads, unchanged = _pool(tmp_path)
    assert env == WORKER_ENVIRONMENT
    assert threads == 0  # besides Python's own (the worker's watcher of the main process)
    assert unchanged


def test_a_users_own_setting_reaches_the_workers(tmp_path: object) -> None:
    env, threads, unchanged = _pool(tmp_path, OPENBLAS_NUM_THREADS="2")
    assert env == {**WORKER_ENVIRONMENT, "OPENBLAS_NUM_THREADS": "2"}
    assert threads > 0  # OpenBLAS's
    assert unchanged
