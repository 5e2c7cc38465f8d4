"""Process hygiene (issue 15): a pool's processes die with the main process, even by kill -9.

Each case starts a real command with a pool of two workers, waits until the workers are
busy, SIGKILLs the main process and checks that the fork server, the workers and the
resource tracker are all gone within 5 s, and that nothing is written afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import psutil
import pytest

from tests.conftest import CPEC

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="death signals are Linux-only"
)

# the command, and the folder whose finished chunks show the workers at work (else: CPU time)
CASES: dict[str, tuple[list[str], str | None]] = {
    "run": (
        ["run", "scenario=baseline", "replicates=400", "jobs=2", "plots=false", "chunk_size=5"],
        "chunks",
    ),
    "sensitivity": (
        ["sensitivity", "--fast", "--weeks", "104", "--jobs", "2", "--quiet"],
        "chunks",
    ),
    "calibrate": (["calibrate", "--fast", "--jobs", "2"], None),
}


def _start(name: str, out: Path, cwd: Path) -> subprocess.Popen[bytes]:
    args, _ = CASES[name]
    args = [*args, f"hydra.run.dir={out}"] if name == "run" else [*args, "--out", str(out)]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with (cwd / "stderr.txt").open("wb") as err:
        return subprocess.Popen(
            [CPEC, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True,
        )  # fmt: skip


def _wait_for(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _dead(proc: psutil.Process) -> bool:
    """Gone, or a zombie (dead, waiting for its parent to reap it)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _pool(pid: int) -> dict[str, list[psutil.Process]]:
    """The main process's descendants by kind (empty lists until they exist)."""
    kinds: dict[str, list[psutil.Process]] = {"fork server": [], "tracker": [], "workers": []}
    try:
        for child in psutil.Process(pid).children():
            command = " ".join(child.cmdline())
            if "multiprocessing.forkserver" in command:
                kinds["fork server"].append(child)
                kinds["workers"] += child.children()
            elif "multiprocessing.resource_tracker" in command:
                kinds["tracker"].append(child)
    except psutil.NoSuchProcess:
        pass
    return kinds


def _cpu_seconds(proc: psutil.Process) -> float:
    try:
        return float(proc.cpu_times().user)
    except psutil.NoSuchProcess:
        return 0.0


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", list(CASES))
def test_kill_9_of_the_main_process_leaves_no_process_alive(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    main = _start(name, out, tmp_path)
    try:
        _, chunks = CASES[name]
        pool: dict[str, list[psutil.Process]] = {}

        def working() -> bool:
            if chunks:
                return any((out / chunks).glob("*.done.json"))
            return all(_cpu_seconds(w) > 1 for w in pool["workers"])

        def busy() -> bool:
            if main.poll() is not None:
                err = (tmp_path / "stderr.txt").read_text()[-2000:]
                raise AssertionError(f"{name} ended early ({main.returncode}): {err}")
            pool.update(_pool(main.pid))
            return len(pool["workers"]) >= 2 and bool(pool["tracker"]) and working()

        _wait_for(busy, 120, f"{name}: two busy workers")
        recorded = [p for kind in pool.values() for p in kind]

        os.kill(main.pid, signal.SIGKILL)
        main.wait()
        try:
            _wait_for(lambda: all(map(_dead, recorded)), 5, "the pool to die")
        except AssertionError:
            alive = [f"{k} {p.pid}" for k, ps in pool.items() for p in ps if not _dead(p)]
            raise AssertionError(f"{name}: alive 5 s after kill -9: {alive}") from None
        written = _files(out)
        time.sleep(2)
        assert _files(out) == written, f"{name}: files written after the main process died"
    finally:
        with suppress(ProcessLookupError):  # leftovers, should the test fail
            os.killpg(main.pid, signal.SIGKILL)
        main.wait()


def test_ctrl_c_while_the_worker_server_loads_does_not_kill_it() -> None:
    """The server ignores SIGINT from its first import: Ctrl-C is the main process's."""
    code = (
        "import multiprocessing.forkserver as fs, os, signal, time\n"
        "from sim.workers import run_preload, start_worker_server\n"
        "start_worker_server(run_preload('compiled'))\n"
        "time.sleep(0.5)\n"
        "os.kill(fs._forkserver._forkserver_pid, signal.SIGINT)\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from sim.workers import worker_context\n"
        "with ProcessPoolExecutor(1, mp_context=worker_context(run_preload('compiled'))) as p:\n"
        "    print(p.submit(sum, [1, 2]).result())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "3", out.stderr
    assert "KeyboardInterrupt" not in out.stderr


def test_the_fork_server_is_born_with_ctrl_c_blocked() -> None:
    """A Ctrl-C during the fork server's interpreter start-up printed "Fatal Python error"."""
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


def test_a_fork_server_whose_launcher_is_gone_leaves_at_once() -> None:
    """Born with Ctrl-C blocked, a server whose main process died (Ctrl-C) before the server
    armed its death signal ran its whole preload alone: it checks its launcher instead."""
    code = (
        "import multiprocessing as mp, multiprocessing.forkserver as fs, os, time\n"
        "os.environ['CPEC_SIM_FORK_SERVER_PARENT'] = '1'  # as if launched by a process now gone\n"
        "mp.set_forkserver_preload(['sim.workers'])\n"
        "fs.ensure_running()\n"
        "pid = fs._forkserver._forkserver_pid\n"
        "for _ in range(100):\n"
        "    if os.waitpid(pid, os.WNOHANG)[0] == pid:\n"
        "        print('left'); break\n"
        "    time.sleep(0.1)\n"
        "else:\n"
        "    print('still there')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "left", out.stderr


def test_a_worker_whose_pool_is_gone_as_it_starts_leaves_without_a_traceback() -> None:
    """A pool stopped by Ctrl-C while the fork server started one of its workers: the worker
    finds the pool's semaphore gone (FileNotFoundError in multiprocessing.synchronize) and
    printed a traceback. Other errors are still reported."""
    from multiprocessing.synchronize import SemLock

    from sim.workers import _quiet_when_the_pool_is_gone

    reported: list[type[BaseException]] = []
    hook = _quiet_when_the_pool_is_gone(lambda kind, exc, tb: reported.append(kind))
    try:  # what a worker meets: its pool's semaphore unlinked
        SemLock.__new__(SemLock).__setstate__((0, 1, 1, "/cpec-sim-test-no-such-semaphore"))
    except FileNotFoundError as exc:
        hook(type(exc), exc, exc.__traceback__)
    try:
        Path("/no/such/file/here").read_text()  # a FileNotFoundError elsewhere
    except FileNotFoundError as exc:
        hook(type(exc), exc, exc.__traceback__)
    assert reported == [FileNotFoundError]


SCRIPT_WITHOUT_GUARD = """
from pathlib import Path
from sim.runner import RunSpec, run
from sim.params import ModelParams

outcome = run(RunSpec(ModelParams(), replicates=8, weeks=4, chunk_size=2, jobs=2),
              Path("out"), progress=None)
print("status:", outcome.status)
"""


def test_a_script_that_runs_at_its_top_level_gets_a_line_saying_to_guard_it(
    tmp_path: Path,
) -> None:
    """The README's notebook code saved as a script: every worker imported the script, ran it
    again and failed on the folder's lock, leaving "a worker process died" and no clue."""
    (tmp_path / "script.py").write_text(SCRIPT_WITHOUT_GUARD)
    out = subprocess.run(
        [sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert "status: failed" in out.stdout, out.stdout + out.stderr
    assert 'put the call under `if __name__ == "__main__":`' in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "FolderBusy" not in out.stderr, out.stderr
    guarded = "if __name__ == '__main__':\n" + "".join(
        f"    {line}\n" for line in SCRIPT_WITHOUT_GUARD.strip().splitlines()
    )
    (tmp_path / "script.py").write_text(guarded)
    out = subprocess.run(
        [sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert "status: complete" in out.stdout, out.stdout + out.stderr
