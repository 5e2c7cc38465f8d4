"""Preloaded by the runner's fork server: the compiled engine is loaded once, and every worker
forked from the server starts with it ready (instead of each loading Numba's cache).

The server also builds one replicate's result tables, so that workers find what that
imports (pyarrow's compute functions) already loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sim.engine import run_replicate, warm
from sim.params import ModelParams
from sim.results import tables_from_replicates

#: The module Numba imports to see whether SciPy's BLAS is there.
SCIPY_BLAS = "scipy.linalg.cython_blas"


@contextmanager
def without_blas_probe() -> Iterator[None]:
    """Skip Numba's probe for SciPy's BLAS while the engine loads.

    The first compiled call of a process loads Numba's array functions, which import
    ``scipy.linalg`` (~0.15-0.2 s here, a tenth of a run's start-up) only to learn whether
    ``np.correlate`` and ``np.convolve`` may use BLAS. The rules use no BLAS (``sim.compiled.dot``
    sums in index order), so inside this block that import fails at once, as Python's import
    does for a module set to ``None`` in ``sys.modules``, and those two functions would take
    Numba's plain loop in this process. After the block SciPy's BLAS imports as usual
    (``np.dot`` in code compiled later still finds it).
    """
    if SCIPY_BLAS in sys.modules:
        yield
        return
    sys.modules[SCIPY_BLAS] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get(SCIPY_BLAS, ...) is None:
            del sys.modules[SCIPY_BLAS]


with without_blas_probe():
    warm()
tables_from_replicates([(0, 0, run_replicate(ModelParams(), weeks=4, seed=0))])
