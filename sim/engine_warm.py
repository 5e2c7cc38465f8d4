"""Preloaded by the runner's fork server: the compiled engine is loaded once, and every worker
forked from the server starts with it ready (instead of each loading Numba's cache).

The server also builds one replicate's result tables, so that workers find what that
imports (pyarrow's compute functions) already loaded.
"""

from sim.engine import run_replicate, warm
from sim.params import ModelParams
from sim.results import tables_from_replicates

warm()
tables_from_replicates([(0, 0, run_replicate(ModelParams(), weeks=4, seed=0))])
