"""Preloaded by the runner's fork server: the compiled engine is loaded once, and every worker
forked from the server starts with it ready (instead of each loading Numba's cache)."""

from sim.engine import warm

warm()
