"""The ``cpec-sim`` console script: a Ctrl-C while the command line's modules load is one line
too (importing ``sim.cli`` takes ~0.1 s; a traceback is the interpreter's default)."""

from __future__ import annotations

import os
import signal
import sys

from sim.refcounts import ENV as PLAIN_REFCOUNTS

#: What ``cpec-sim`` says after a Ctrl-C that reached no command's own message.
INTERRUPTED = "interrupted (re-run the same command to resume)"


def entry() -> None:
    """Exit with :func:`sim.cli.main`'s code. The command line's own process (not a notebook
    that calls ``main``) counts compiled arrays' references plainly (:mod:`sim.refcounts`)."""
    os.environ.setdefault(PLAIN_REFCOUNTS, "1")
    try:
        from sim.cli import main

        code = main()
    except KeyboardInterrupt:  # main() reports its own: this is before it could
        print(f"cpec-sim: {INTERRUPTED}", file=sys.stderr)
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the work is over: a Ctrl-C while the
    # interpreter shuts down (workers' servers, atexit) killed a finished command by signal
    sys.exit(code)
