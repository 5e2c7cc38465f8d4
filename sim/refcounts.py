"""Plain reference counts for the arrays compiled code makes, in the processes cpec-sim runs.

Numba's runtime counts references to the arrays that compiled code holds with atomic
instructions (``lock inc`` / ``lock dec``), so that code running without the GIL in several
threads at once (``nogil=True``, ``parallel=True``) may share arrays safely. The engine's rules
hold the GIL while they run (none is compiled with ``nogil`` or ``parallel``; a test checks),
as CPython's own objects do, so those counts are never touched by two threads at once. In a
replicate the weekly loop counts ~275,000 times (every array taken out of a named tuple or
handed back from a rule), and the two atomic instructions took ~28% of its time (``perf``;
``benchmarks/replicate_speed.py`` with and without ``--atomic``: 2.9 and 2.1 ms).

:func:`count_plainly` makes the runtime count with a plain load, add and store. It must run
before the runtime is built (Numba builds it the first time a process runs or loads compiled
code) and it applies to all compiled code of the process, so it is used only in processes that
run cpec-sim's code alone: the ``cpec-sim`` command's own (:func:`sim.console.entry` sets
:data:`ENV`; a notebook calling ``sim.cli.main`` does not) and the worker processes of any run,
study or calibration that :mod:`sim.workers` starts, a notebook's included (Dask's workers,
``discover --engine dask``, follow the environment of the process that starts them). A
notebook's own process keeps Numba's atomic counts unless it calls :func:`count_plainly` before
its first replicate. ``CPEC_PLAIN_REFCOUNTS=0`` in the environment keeps atomic counts
everywhere, if set before the first run (the worker server keeps the counts it started with).
Not on a free-threaded Python, where threads run compiled code at once. Results are the same
either way (tested): only how the counts are kept differs.

The compiled cache is the same whichever way the process that compiled it counted: every
cached object carries a copy of Numba's counting functions, but its code calls the loading
process's own (tested: a counting runtime counts every increment of code compiled by a plain
process), so a notebook and the command line share one cache.
"""

from __future__ import annotations

import os
from typing import Any

#: Set to "1" in a process's environment: its compiled code counts references plainly (the
#: command line sets it for itself and its workers).
ENV = "CPEC_PLAIN_REFCOUNTS"


def count_plainly() -> bool:
    """Make this process's compiled code count array references without atomic
    instructions; return whether it does (False if Numba's runtime was built already)."""
    import sys

    from numba.core.runtime import nrt, nrtdynmod

    if nrtdynmod._define_atomic_inc_dec is _plain_inc_dec:
        return True
    if nrt.rtsys._init:  # built with atomic counts: they stay
        return False
    if not getattr(sys, "_is_gil_enabled", lambda: True)():  # free-threaded Python: threads
        return False  # run compiled code at once
    nrtdynmod._define_atomic_inc_dec = _plain_inc_dec
    return True


def counts_plainly() -> bool:
    """Whether this process's compiled code counts (or, once it runs, will count) array
    references plainly: :func:`count_plainly` changes Numba's runtime only before it is built."""
    from numba.core.runtime import nrtdynmod

    return nrtdynmod._define_atomic_inc_dec is _plain_inc_dec


def will_count_plainly() -> bool:
    """Whether this process's compiled code counts (or will count) references plainly,
    without importing Numba in a process that has not: there the counts will be plain if
    :data:`ENV` is "1" (:mod:`sim.numba_cache` applies it when the rules load Numba, before
    anything builds the runtime). Where Numba is imported, :data:`ENV` is applied now if the
    runtime is not built yet, as :mod:`sim.numba_cache` would."""
    import sys

    asked = os.environ.get(ENV) == "1"
    if not getattr(sys, "_is_gil_enabled", lambda: True)():  # free-threaded: never plain
        return False
    if "numba" not in sys.modules:
        return asked
    return count_plainly() if asked else counts_plainly()


def how_counted() -> str:
    """One line for a benchmark's output: how this process's compiled code counts."""
    if counts_plainly():
        return "reference counts: plain, as cpec-sim's processes count them (sim.refcounts)"
    return (
        "reference counts: Numba's atomic ones (a notebook's default, or Numba's runtime was "
        "built before sim.refcounts could change it)"
    )


def count_plainly_if_asked() -> None:
    """:func:`count_plainly` if :data:`ENV` is "1" in the environment."""
    if os.environ.get(ENV) == "1":
        count_plainly()


def _plain_inc_dec(module: Any, op: str, ordering: str) -> Any:
    """Numba's ``nrt_atomic_add`` / ``nrt_atomic_sub`` without the atomic instruction: load,
    add or subtract one, store, and return the new count (as the atomic version does; the
    runtime frees an array when a decrement returns 0). ``ordering`` is unused."""
    from llvmlite import ir
    from numba.core.runtime import nrtdynmod

    word = nrtdynmod._word_type
    function = ir.Function(
        module, ir.FunctionType(word, [word.as_pointer()]), name=f"nrt_atomic_{op}"
    )
    [pointer] = function.args
    builder = ir.IRBuilder(function.append_basic_block())
    new = getattr(builder, op)(builder.load(pointer), ir.Constant(word, 1))
    builder.store(new, pointer)
    builder.ret(new)
    return function
