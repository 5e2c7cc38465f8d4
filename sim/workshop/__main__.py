"""``python -m sim.workshop``: the same as ``cpec-sim workshop``."""

from sim.workshop.cli import main

main()
