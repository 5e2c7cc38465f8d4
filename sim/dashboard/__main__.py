"""``python -m sim.dashboard [--port N] [--host H] [--open]`` (same as ``cpec-sim dashboard``)."""

from sim.dashboard.cli import main

main()
