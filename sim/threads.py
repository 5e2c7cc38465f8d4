"""The numerical libraries' own threads in cpec-sim's processes.

A run's workers are one per CPU, and the ``cpec-sim`` command's own process runs beside them:
OpenBLAS's threads (one per further core, started as NumPy is imported, and spinning) would
only compete with them. So those processes start the libraries with one thread each, unless
the user set any of the variables (then the threads are the user's choice). A small module
of its own: :func:`sim.console.entry` applies the rule before anything heavier is imported.
"""

from __future__ import annotations

from collections.abc import Mapping

#: The variables that set the numerical libraries' threads (OpenBLAS reads its own before
#: ``OMP_NUM_THREADS``, so all three are set, or none).
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_numerical_thread(environ: Mapping[str, str]) -> dict[str, str]:
    """What ``environ`` needs so that the numerical libraries start no threads of their own:
    each of :data:`THREAD_VARIABLES` set to 1, unless ``environ`` sets any of them (the
    user's choice). For a worker (:mod:`sim.workers`), and for the ``cpec-sim`` command's own
    process (:func:`sim.console.entry`)."""
    if any(name in environ for name in THREAD_VARIABLES):
        return {}
    return dict.fromkeys(THREAD_VARIABLES, "1")
