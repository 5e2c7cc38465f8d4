"""What a pool's fork server and workers find in their environment (``sim.workers``).

Each case runs in a fresh interpreter, so that its fork server is launched by the case itself
(a server already running in the test process would keep the environment it was born with).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from sim.refcounts import ENV as PLAIN_REFCOUNTS
from sim.workers import THREAD_VARIABLES, WORKER_ENVIRONMENT, _lent_to_workers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout's sim

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


def _last_json_line(tmp_path: object, name: str, source: str, env: dict[str, str]) -> list[Any]:
    """Run ``source`` as a script in a fresh interpreter, with no worker variable inherited
    and ``env`` added; the JSON list on its last line of output."""
    script = os.path.join(str(tmp_path), name)
    with open(script, "w") as f:
        f.write(source)
    base = {k: v for k, v in os.environ.items() if k not in WORKER_ENVIRONMENT}
    path = os.pathsep.join(p for p in (ROOT, base.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, script],
        env={**base, "PYTHONPATH": path, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def _pool(tmp_path: object, **env: str) -> list[Any]:
    return _last_json_line(tmp_path, "pool.py", _POOL, env)


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


@pytest.mark.parametrize("variable", ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"])
def test_a_users_own_thread_setting_reaches_the_workers(tmp_path: object, variable: str) -> None:
    """The user's threads are the user's choice: none of the thread variables is lent then
    (OpenBLAS reads its own before ``OMP_NUM_THREADS``, so lending it would override a
    user's ``OMP_NUM_THREADS``: a reviewer's case)."""
    env, threads, unchanged = _pool(tmp_path, **{variable: "2"})
    unset = dict.fromkeys(set(THREAD_VARIABLES) - {variable})
    assert env == {**WORKER_ENVIRONMENT, **unset, variable: "2"}
    assert threads > 0  # OpenBLAS's
    assert unchanged


def test_what_is_lent_to_the_workers() -> None:
    assert _lent_to_workers({}) == WORKER_ENVIRONMENT
    assert _lent_to_workers({PLAIN_REFCOUNTS: "0"}) == {
        k: v for k, v in WORKER_ENVIRONMENT.items() if k != PLAIN_REFCOUNTS
    }
    assert _lent_to_workers({"MKL_NUM_THREADS": "4"}) == {PLAIN_REFCOUNTS: "1"}


_COMMAND = """
import json, os, threading
import sim.cli


def main():  # in place of the command: what the command's own process finds
    import numpy

    numpy.ones((300, 300)) @ numpy.ones((300, 300))
    native = len(os.listdir("/proc/self/task")) - threading.active_count()
    print(json.dumps([{name: os.environ.get(name) for name in THREAD_VARIABLES}, native]))
    return 0


sim.cli.main = main
from sim.console import entry
from sim.workers import THREAD_VARIABLES

entry()
"""


@pytest.mark.parametrize("given", [{}, {"OPENBLAS_NUM_THREADS": "2"}, {"MKL_NUM_THREADS": "3"}])
def test_the_command_s_own_process_starts_no_numerical_threads_unless_asked(
    tmp_path: object, given: dict[str, str]
) -> None:
    """``cpec-sim``'s own process runs beside one worker per CPU: like the workers, its
    numerical libraries start no threads (OpenBLAS's, started as NumPy was imported, took
    ~0.1 s of CPU in a 200-replicate run), unless the user set any thread variable."""
    env, native = _last_json_line(tmp_path, "command.py", _COMMAND, given)
    if given:
        assert env == {**dict.fromkeys(THREAD_VARIABLES), **given}
    else:
        assert env == dict.fromkeys(THREAD_VARIABLES, "1")
        assert native == 0
    if "OPENBLAS_NUM_THREADS" in given and (os.cpu_count() or 1) > 1:
        assert native > 0  # the check sees OpenBLAS's threads when there are some


_COLLECTOR = """
import gc, json, sys
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor


def seen():
    import sim.workers  # a user's task may import it: not preloaded then
    import collector_probe  # imported by the fork server before the worker was forked, if preloaded
    return collector_probe.enabled_while_imported, gc.isenabled(), gc.get_freeze_count()


if __name__ == "__main__":
    frozen_at_start = gc.get_freeze_count()  # the interpreter's own
    init = None
    if sys.argv[1] == "ours":
        from sim.workers import worker_context, worker_init

        ctx, init = worker_context(["collector_probe"]), worker_init
    else:  # a user's own pool: its own preload list, or none
        ctx = mp.get_context("forkserver")
        if sys.argv[1] == "preload":
            ctx.set_forkserver_preload(["sim.workers", "collector_probe"])
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=init) as pool:
        worker = pool.submit(seen).result()
    frozen = gc.get_freeze_count() - frozen_at_start
    print(json.dumps([worker, gc.isenabled(), frozen, "collector_probe" in sys.modules]))
"""


@pytest.mark.parametrize("pool", ["ours", "preload", "task"])
def test_the_fork_server_collects_no_garbage_while_it_imports_and_its_workers_do(
    tmp_path: object, pool: str
) -> None:
    """cpec-sim's fork server pauses its collector while it imports (what it imports lives
    as long as it does), then freezes what it imported and resumes: its workers collect
    garbage and never visit the frozen imports. A user's own forkserver pool that preloads
    ``sim.workers``, or whose task imports it, keeps its collector running (helper-167: it
    was paused there for good). The launching process's collector is left alone."""
    folder = str(tmp_path)
    with open(os.path.join(folder, "collector_probe.py"), "w") as f:
        f.write("import gc\nenabled_while_imported = gc.isenabled()\n")
    script = os.path.join(folder, "collector.py")
    with open(script, "w") as f:
        f.write(_COLLECTOR)
    path = os.pathsep.join(p for p in (ROOT, folder, os.environ.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, script, pool],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    (probe_enabled, enabled, frozen), main_enabled, main_frozen, main_imported = json.loads(
        out.stdout.strip().splitlines()[-1]
    )
    assert probe_enabled is (pool != "ours")  # paused only while cpec-sim's server imported
    assert enabled is True
    if pool == "ours":
        assert frozen > 10_000  # the server's imports, frozen
    assert main_enabled is True and main_frozen == 0 and main_imported is False
