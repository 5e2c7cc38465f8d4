"""Worker processes: one way to start them, for runs, explorations, calibrations and plots.

On POSIX a fork server that has already imported the heavy modules forks each worker (it
starts in milliseconds, and none is forked from a multi-threaded parent); elsewhere spawn.
Workers leave Ctrl-C to the parent, which stops them cleanly.

On Linux no process of a pool outlives the main process, whatever kills it (issue 15). The
fork server is a child of the main process, the workers are children of the fork server,
and each gets a death signal from its parent (``prctl(PR_SET_PDEATHSIG)``). The fork server
arms its own when it imports this module, which :func:`worker_context` preloads first; a
worker arms its own in :func:`worker_init`, and also watches the main process itself, in
case the fork server could not arm (then the fork server follows: it exits once the last
holder of its "alive" pipe, the main process or a worker, is gone). The resource tracker
needs nothing: it exits, unlinking what was leaked, once the main process and the workers
have closed its pipe.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing as mp
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sim.refcounts import ENV as PLAIN_REFCOUNTS
from sim.refcounts import count_plainly
from sim.threads import THREAD_VARIABLES, one_numerical_thread

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LINUX = sys.platform.startswith("linux")
_FORK_SERVER_COMMAND = "from multiprocessing.forkserver import main;"


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity (under SLURM, a container's cpuset or
    ``taskset``, fewer than the machine has), else all the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def main_importable() -> bool:
    """Whether worker processes can import the main module as multiprocessing does: not a
    script read from standard input (``python - < script.py``), whose ``__file__`` names no
    file."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or os.path.exists(path)


def drawing_processes(jobs: int | None, tasks: int) -> int:
    """How many worker processes draw ``tasks`` figures: ``jobs`` (None: one per CPU), at
    most one per figure; 1 (this process draws) for a script read from standard input."""
    return min(jobs or usable_cpus(), tasks) if main_importable() else 1


class DrawingWorkerDied(ChildProcessError):
    """A worker process that drew figures died (:func:`drawing_worker_died`); an
    ``OSError``, so that a command says it in one line (exit code 1)."""


def drawing_worker_died() -> DrawingWorkerDied:
    """The error for a drawing worker that died, saying what to do (``sim.commands``)."""
    from sim.commands import worker_died

    return DrawingWorkerDied(
        worker_died("a drawing worker process", "try again (nothing was written)")
    )


@contextmanager
def drawing_pool(
    preload: Sequence[str], workers: int
) -> Iterator[tuple[ProcessPoolExecutor, list[Future[Any]]]]:
    """A pool of ``workers`` drawing processes that import ``preload``, and a list for the
    caller to put each task's future in. On any error in the block (here or in a worker, or
    Ctrl-C) the pool is stopped at once with those tasks (:func:`stop_pool`); a worker that
    died raises :class:`DrawingWorkerDied` (a script's top-level call, met again by each
    worker, say). The pool is shut down when the block ends."""
    pool = ProcessPoolExecutor(workers, mp_context=worker_context(preload), initializer=worker_init)
    submitted: list[Future[Any]] = []
    try:
        yield pool, submitted
    except BrokenProcessPool:
        stop_pool(pool, submitted)
        raise drawing_worker_died() from None
    except BaseException:
        stop_pool(pool, submitted)
        raise
    pool.shutdown(wait=True)


def worker_init() -> None:
    """Initialise a worker: SIGINT is the parent's business, SIGTERM ends the worker, the
    worker does not outlive the main process (on Linux), and a spawned one counts compiled
    arrays' references plainly (:mod:`sim.refcounts`; forked ones have the server's counts)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    resume_collection()  # forked from a server whose preload did not reach SERVER_READY
    if os.environ.setdefault(PLAIN_REFCOUNTS, "1") == "1" and "numba" in sys.modules:
        # a spawned worker that imported Numba with the user's script: plain before its first
        # replicate (without Numba yet, sim.numba_cache reads the variable when it loads)
        count_plainly()
    if _LINUX:
        _die_with_fork_server()
        _die_with_main_process()


def refuse_in_a_starting_worker() -> None:
    """Stop a worker process that is importing the user's script when the script starts
    cpec-sim's work at its top level (one line, the worker exits).

    Worker processes import the main script before they start (Python's rule for the
    ``forkserver`` and ``spawn`` methods); a script that runs a pool at its top level without
    ``if __name__ == "__main__":`` ran it again in every worker, which failed with a folder
    lock's error and left the caller a run "failed: a worker process died".
    """
    if getattr(mp.current_process(), "_inheriting", False):
        print(
            "cpec-sim: a worker process imported the script that started it and met the call "
            'again: put the call under `if __name__ == "__main__":` (a notebook needs nothing)',
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(1)  # the fork server's child leaves without printing it


def worker_context(preload: Sequence[str]) -> Any:
    """The multiprocessing context for a worker pool whose workers import ``preload``; the
    fork server is launched now if it is not running (:func:`_launch_fork_server`).

    This module is preloaded first, so that the fork server arms its death signal before
    the slow imports (a main process killed while the server compiles takes it along), and
    :data:`SERVER_READY` last (:func:`_pause_collection_while_preloading`).
    """
    refuse_in_a_starting_worker()
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    middle = [m for m in preload if m not in (__name__, SERVER_READY)]
    ctx.set_forkserver_preload([__name__, *middle, SERVER_READY])
    _launch_fork_server()
    return ctx


#: What the fork server and its workers find in their environment unless the process that
#: launches the server set it. They run only cpec-sim's rules, so they count compiled arrays'
#: references plainly (:mod:`sim.refcounts`; a notebook's own process keeps Numba's atomic
#: counts). There is one worker per CPU, so the numerical libraries' own threads would only
#: compete with the other workers (OpenBLAS's, idle, took ~5% of a drawing worker's samples):
#: one each, unless the launching process set any of :data:`THREAD_VARIABLES` (then the
#: user's threads are the user's choice, and none is lent: OpenBLAS reads its own variable
#: before ``OMP_NUM_THREADS``).
WORKER_ENVIRONMENT = {PLAIN_REFCOUNTS: "1", **dict.fromkeys(THREAD_VARIABLES, "1")}


def _lent_to_workers(environ: Mapping[str, str]) -> dict[str, str]:
    """What :data:`WORKER_ENVIRONMENT` adds to ``environ`` for the fork server."""
    lent = {PLAIN_REFCOUNTS: "1"} if PLAIN_REFCOUNTS not in environ else {}
    return {**lent, **one_numerical_thread(environ)}


#: The process that launched the fork server, for the server to check (:func:`_arm_fork_server`).
_LAUNCHER_VARIABLE = "CPEC_SIM_FORK_SERVER_PARENT"


def _launch_fork_server() -> None:
    """Launch the fork server now (if it is not running), born with Ctrl-C blocked.

    A Ctrl-C during its interpreter's start-up printed "Fatal Python error" (it shares the
    terminal's process group); blocked, it never reaches the server or the workers it forks
    (which ignore it anyway). SIGINT is blocked in this thread for the launch alone, a few
    milliseconds, and one that arrives meanwhile takes effect right after. The resource
    tracker is launched first: launching it unblocks SIGINT (the standard library's own
    guard). The server learns which process launched it, to leave at once if that process
    died before the server could arm its death signal (:func:`_arm_fork_server`). The server
    and its workers get :data:`WORKER_ENVIRONMENT` where the launching process's environment
    does not say otherwise; the launching process's own environment is left as it was.
    """
    import multiprocessing.forkserver as forkserver
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    os.environ[_LAUNCHER_VARIABLE] = str(os.getpid())
    lent = _lent_to_workers(os.environ)
    os.environ.update(lent)
    blocking = hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if blocking else set()
    try:
        forkserver.ensure_running()
    finally:
        if blocking:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for name in (_LAUNCHER_VARIABLE, *lent):  # the server has its own copy
            os.environ.pop(name, None)


def stop_pool(pool: ProcessPoolExecutor, pending: Iterable[Future[Any]] = ()) -> None:
    """Stop a pool now (on an error or Ctrl-C): cancel the tasks not started, terminate the
    workers (they ignore Ctrl-C and would finish every queued task) and wait for them."""
    for future in pending:
        future.cancel()
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def run_preload(backend: str, streams: str = "single") -> list[str]:
    """What a run's workers preload for ``backend`` and ``streams``: the runner, and the
    engine loaded (compiling it the first time says so: :mod:`sim.engine_warm`)."""
    if backend != "compiled":
        return ["sim.runner", "sim.model"]
    keyed = ["sim.engine_warm_keyed"] if streams == "keyed" else []
    return ["sim.runner", "sim.engine_warm", *keyed]


#: What the workers drawing figures import before they start (``sim.analysis.drawing``):
#: neither pandas nor the results' loader, which a task given its inputs never needs
#: (``cpec-sim plot``'s main process reads them); a task without them imports both.
DRAWING_PRELOAD = (
    "sim.analysis.drawing",
    "sim.analysis.figures",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
)


#: What the workers drawing ``cpec-sim compare``'s figures import before they start: the
#: comparison's builders (with pandas: the runs they are handed are pandas tables).
COMPARISON_PRELOAD = (*DRAWING_PRELOAD, "sim.analysis.compare")


def start_worker_server(preload: Sequence[str]) -> bool:
    """Start the fork server now, importing ``preload``, while this process does other work.

    Its imports (the compiled engine's cache: ~1.5 s) then overlap with the caller's; a
    pool made later forks its workers from it. Returns whether a server was started (not on
    platforms without fork servers). The server imports what the first caller asked for: a
    later pool wanting other modules gets workers that import them themselves.
    """
    if "forkserver" not in mp.get_all_start_methods():
        return False
    worker_context(preload)
    return True


def worker_server_running() -> bool:
    """Whether this process's fork server is running (so a pool of workers starts at once)."""
    if "forkserver" not in mp.get_all_start_methods():
        return False
    import multiprocessing.forkserver as forkserver

    server: Any = forkserver._forkserver
    return server._forkserver_pid is not None


# --- death signals ------------------------------------------------------------------------
def _die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when ``parent``, its parent, dies.

    The signal is armed only if the parent is alive when it is set: one that died just
    before has re-parented this process, which the check afterwards catches.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def _started_by_main_thread(parent: int) -> bool:
    """Whether the main thread of ``parent`` started this process.

    The death signal follows the parent *thread*: armed under any other thread, it would
    kill the fork server (and its workers) when that thread ends, the process still alive.
    The main thread of a Python process ends with the process. False when unknown.
    """
    try:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    except OSError:
        return False
    return str(os.getpid()) in children


def _is_fork_server() -> bool:
    """Whether this interpreter runs a multiprocessing fork server (its command says so)."""
    return bool(sys.orig_argv) and sys.orig_argv[-1].startswith(_FORK_SERVER_COMMAND)


def _arm_fork_server() -> None:
    """In the fork server: die with the main process, if the death signal can follow it.

    Ctrl-C is the main process's business: the server ignores SIGINT from now on (the
    standard library does so only after the preloaded modules are imported, which can take
    a second or two, and a Ctrl-C meanwhile printed the server's traceback).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    if os.environ.get(_LAUNCHER_VARIABLE, str(parent)) != str(parent):
        os._exit(0)  # the process that launched it is gone: nothing to serve
    sys.excepthook = _quiet_when_the_pool_is_gone(sys.excepthook)
    if _started_by_main_thread(parent):
        _die_with(parent)


def _quiet_when_the_pool_is_gone(report: Any) -> Any:
    """The fork server's (and its children's) ``sys.excepthook``: a worker that finds its
    pool's semaphore gone as it starts (the pool was stopped, by Ctrl-C, while this worker was
    being started) leaves without a traceback; anything else is reported by ``report``."""

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        frames = traceback.extract_tb(tb) if tb is not None else []
        where = Path(frames[-1].filename).parts[-2:] if frames else ()
        if isinstance(exc, FileNotFoundError) and where == ("multiprocessing", "synchronize.py"):
            return
        report(kind, exc, tb)

    return hook


def _die_with_fork_server() -> None:
    """In a worker forked by the fork server (single-threaded, so no thread caveat): die
    with it. A worker started otherwise is left to :func:`_die_with_main_process`."""
    import multiprocessing.forkserver as forkserver

    if forkserver.get_inherited_fds() is not None:
        _die_with(os.getppid())


def _die_with_main_process() -> None:
    """SIGKILL this worker as soon as the main process is gone, by any death.

    The backstop for a fork server that could not arm its death signal. The main process
    holds the write end of the pipe behind the worker's parent sentinel until it ends, and
    the kernel closes it on any death; a daemon thread waits for that (a main process
    already dead returns the wait at once: no race).
    """
    parent = mp.parent_process()
    if parent is None:
        return
    watcher = threading.Thread(
        target=_kill_self_after, args=(parent,), name="die-with-main", daemon=True
    )
    watcher.start()


def _kill_self_after(parent: BaseProcess) -> None:
    parent.join()  # waits on the parent sentinel
    os.kill(os.getpid(), signal.SIGKILL)


#: The module a fork server imports last (:func:`worker_context`): it calls
#: :func:`resume_collection`.
SERVER_READY = "sim.worker_server_ready"

#: Whether this process paused its garbage collector (:func:`_pause_collection_while_preloading`).
_PAUSED = False


def _launched_by_cpec_sim() -> bool:
    """Whether this process is a fork server that :func:`_launch_fork_server` launched (its
    preload list ends with :data:`SERVER_READY`), not a worker it forked (those have a parent
    process) nor a server a user's own pool launched. Asked as the server imports this module,
    its first preloaded one."""
    return _is_fork_server() and _LAUNCHER_VARIABLE in os.environ and mp.parent_process() is None


def _pause_collection_while_preloading() -> None:
    """In cpec-sim's fork server, before its imports: the garbage collector pauses until
    :func:`resume_collection`.

    What a server imports lives as long as the server and its workers, so the collector's
    passes over it while it grows find nothing: without them the server's imports take ~14%
    less (a drawing server's 0.54 → 0.46 s, medians of seven fresh processes), and they are
    what every worker waits for. Nowhere else: a worker, or a server that a user's own pool
    launched, keeps its collector as it is (helper-167: paused there, it never resumed).
    """
    global _PAUSED
    if _launched_by_cpec_sim() and gc.isenabled():
        gc.disable()
        _PAUSED = True


def resume_collection() -> None:
    """After the server's last import: what it imported is frozen (the collector never
    visits it again, in the server nor in the workers forked from it, which need not freeze
    it themselves) and collection resumes. Only where :func:`_pause_collection_while_preloading`
    paused it; a worker calls it too (:func:`worker_init`), in case its server's preload list
    lost its last module."""
    global _PAUSED
    if _PAUSED:
        _PAUSED = False
        gc.freeze()
        gc.enable()


if _is_fork_server():
    _pause_collection_while_preloading()
    if _LINUX:
        _arm_fork_server()
