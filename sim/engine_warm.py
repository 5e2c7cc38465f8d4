"""Preloaded by the runner's fork server: the compiled engine is loaded once, and every worker
forked from the server starts with it ready (instead of each loading Numba's cache).

The server also builds one replicate's result tables, so that workers find what that
imports (pyarrow's compute functions) already loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

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


#: Seconds after which loading the engine is taken to be compiling it, and said.
COMPILING_AFTER_S = 3.0
COMPILING = (
    "\rcompiling the model's rules (the first run of these rules here: about a minute; "
    "later runs start in seconds)\n"
)


@contextmanager
def saying_when_it_compiles(after: float = COMPILING_AFTER_S) -> Iterator[None]:
    """Print :data:`COMPILING` on stderr if the block takes longer than ``after`` seconds:
    loading the cached engine takes a fraction of a second, compiling it ~40-60 s (after a
    change of any rule source, or a clone in a new folder), which a stranger saw as a
    progress bar stuck at 0% without a word."""
    import threading

    timer = threading.Timer(after, lambda: sys.stderr.write(COMPILING))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


with without_blas_probe(), saying_when_it_compiles():
    warm()
# The imports a chunk's tables need. A table that cannot be built (a float column not
# declared) is for the chunks to report in one line: raised here, it killed the server, and
# the command said "internal error: EOFError" (helper-187).
with suppress(TypeError, ValueError):
    tables_from_replicates([(0, 0, run_replicate(ModelParams(), weeks=4, seed=0))])
