"""The ``cpec-sim`` console script: a Ctrl-C while the command line's modules load is one line
too (importing ``sim.cli`` takes ~0.1 s; a traceback is the interpreter's default)."""

from __future__ import annotations

import os
import signal
import sys

from sim.refcounts import ENV as PLAIN_REFCOUNTS
from sim.threads import one_numerical_thread

#: What ``cpec-sim`` says after a Ctrl-C that reached no command's own message.
INTERRUPTED = "interrupted (re-run the same command to resume)"


def entry() -> None:
    """Exit with :func:`sim.cli.main`'s code. The command line's own process (not a notebook
    that calls ``main``) counts compiled arrays' references plainly (:mod:`sim.refcounts`),
    and its numerical libraries start no threads of their own unless the environment asks
    for them, as in its workers (:func:`sim.threads.one_numerical_thread`): the process
    runs beside one worker per CPU, and OpenBLAS's threads, started as NumPy is imported,
    spun for ~0.1 s of CPU there, a tenth of a 200-replicate run's (docs/performance.md)."""
    terminate_as_interrupt()
    os.environ.setdefault(PLAIN_REFCOUNTS, "1")
    os.environ.update(one_numerical_thread(os.environ))  # before NumPy is imported
    try:
        from sim.cli import main

        code = main()
    except KeyboardInterrupt:  # main() reports its own: this is before it could
        print(f"cpec-sim: {INTERRUPTED}", file=sys.stderr)
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the work is over: a Ctrl-C while the
    # interpreter shuts down (workers' servers, atexit) killed a finished command by signal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # ... a kill ends it as any process
    leave_garbage_to_the_system()
    sys.exit(code)


def terminate_as_interrupt() -> None:
    """SIGTERM (``kill``, a scheduler's stop) is a stop request, as Ctrl-C is: the command
    ends with its one line and exit code 130 wherever it is, not only while a run computes
    replicates (where :func:`sim.runner.stop_signals` already made it so). Without this it
    ended the process silently, with 143, while a run drew its figures or wrote its final
    files, and in `plot`, `compare` and `report` (docs/reliability.md)."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def leave_garbage_to_the_system() -> None:
    """Spare the interpreter's last garbage collection, as the command ends: it visited every
    object the command's modules made (~0.13 s of `cpec-sim plot`'s 0.17 s between its last
    line and its end). Everything else still happens: atexit handlers, threads joined, modules
    torn down, objects freed as their references go; only objects in reference cycles are
    left to the operating system, which Python allows at exit (`object.__del__`)."""
    import gc

    gc.freeze()


if __name__ == "__main__":  # python -m sim.console (a script's way in, as the console script's)
    entry()
