"""The ``cpec-sim`` console script: a Ctrl-C while the command line's modules load is one line
too (importing ``sim.cli`` takes ~0.1 s; a traceback is the interpreter's default)."""

from __future__ import annotations

import sys


def entry() -> None:
    """Exit with :func:`sim.cli.main`'s code."""
    try:
        from sim.cli import main

        code = main()
    except KeyboardInterrupt:  # main() reports its own: this is before it could
        print("cpec-sim: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
