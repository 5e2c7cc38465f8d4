"""Compiled rules: the one definition of every rule, shared by the Mesa model and the engine.

Every rule is a Numba function (:func:`rule`: ``njit(cache=True)``, compiled once per machine
and cached in the folder :mod:`sim.numba_cache` names; made when the process first needs
Numba, :mod:`sim.jit`). The Mesa agents call these functions
on their model's arrays; the batch engine (:mod:`sim.engine`) calls the same functions in a
compiled weekly loop.
Random numbers come from the model's :class:`numpy.random.Generator`, which Numba draws from
with NumPy's own algorithms and state, so both paths give identical results for one seed.

Parameters reach compiled code as named tuples built from the parameter dataclasses
(:func:`as_tuple`): one declaration in :mod:`sim.params`, read as ``p.forgetting`` in both.
"""

from __future__ import annotations

import dataclasses
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import numpy as np

from sim import draws
from sim import params as parameters
from sim.jit import compiled, jit

#: What an elementwise rule takes and returns: one place's value (a float) or every place's
#: (an array). The engine calls such rules place by place, making no arrays.
type PlaceValues = Any


def rule[F: Callable[..., Any]](fn: F) -> F:
    """Compile a rule with Numba (cached on disk, no compile on every run)."""
    declared: Any = jit(cache=True)(fn)
    return declared


def inlined_rule[F: Callable[..., Any]](fn: F) -> F:
    """A :func:`rule` that compiled callers inline (in Numba's IR) instead of calling.

    For rules that compiled code calls with the model's named tuples (a week's steps, the
    per-attack rules): a compiled call copies every array and parameter of those tuples
    (hundreds of words), which can cost more than the rule's work. Inlining the week's steps
    made the engine 12-14% faster, results identical (``docs/performance.md``). Called from
    Python (the Mesa model, tests), it is an ordinary compiled rule.
    """
    declared: Any = jit(cache=True, inline="always")(fn)
    return declared


#: Parameter dataclasses compiled code reads, and the named tuple type of each.
_COMPILED_GROUPS = (
    parameters.RecruitmentParams,
    parameters.LegitimacyParams,
    parameters.CellParams,
    parameters.EscalationParams,
    parameters.TargetingParams,
    parameters.AttackParams,
    parameters.PakistanParams,
    parameters.ChinaParams,
    parameters.IranParams,
    parameters.InvestorParams,
)
TUPLE_TYPES: dict[type, Any] = {
    cls: namedtuple(
        cls.__name__ + "Tuple", [f.name for f in dataclasses.fields(cls)], module=__name__
    )
    for cls in _COMPILED_GROUPS
}
globals().update({t.__name__: t for t in TUPLE_TYPES.values()})  # picklable for the cache

#: Text parameters become numbers in compiled code.
POSTURE_SCORE = {"hostile": -1.0, "neutral": 0.0, "cooperative": 1.0}
_AS_NUMBER: dict[str, Callable[[Any], float]] = {"initial_posture": POSTURE_SCORE.__getitem__}
#: Each field's declared type, applied before compiled code sees a value: a float parameter
#: given as an int (``backlash_attacks_per_harmed=3`` from Python) would otherwise be typed
#: int64, and a process's rules, compiled for the first types they met (:class:`Calls`), then
#: truncated every later float (0.1 read as 0: found by a review).
_DECLARED: dict[type, dict[str, type]] = {
    cls: {
        f.name: {"float": float, "int": int, "bool": bool}[str(f.type)]
        for f in dataclasses.fields(cls)
        if str(f.type) in ("float", "int", "bool")
    }
    for cls in _COMPILED_GROUPS
}


def as_tuple(params: Any) -> Any:
    """The named tuple of one parameter dataclass (floats, ints and bools as declared)."""
    tuple_type = TUPLE_TYPES[type(params)]
    declared = _DECLARED[type(params)]
    values = []
    for name in tuple_type._fields:
        v = getattr(params, name)
        if name in _AS_NUMBER:
            v = _AS_NUMBER[name](v)
        elif name in declared:
            v = declared[name](v)
        values.append(v)
    return tuple_type(*values)


# --- small linear algebra (loops beat a BLAS call at 18 places) -------------------------
@rule
def dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a @ b`` for 1-D ``a`` and ``b``, summed in index order: the same bits whatever BLAS
    kernel the processor would get.

    Not BLAS: OpenBLAS picks its kernel for the processor at run time, and kernels sum in
    different orders, so ``a @ b`` differed in its last bit between machines (AVX-512 and
    AVX2), and with it the results of a seed.
    """
    acc = 0.0
    for i in range(a.size):
        acc += a[i] * b[i]
    return acc


@rule
def count_above(values: np.ndarray, level: float) -> int:
    """``(values > level).sum()`` without an array."""
    n = 0
    for i in range(values.size):
        n += values[i] > level
    return n


@rule
def count_equal(values: np.ndarray, value: int) -> int:
    """``(values == value).sum()`` without an array."""
    n = 0
    for i in range(values.size):
        n += values[i] == value
    return n


@rule
def matmat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D ``a`` and ``b``."""
    out = np.zeros((a.shape[0], b.shape[1]))
    for i in range(a.shape[0]):
        out[i] = matmat_row(a, b, i)
    return out


@rule
def matmat_row(a: np.ndarray, b: np.ndarray, i: int) -> np.ndarray:
    """Row ``i`` of ``a @ b`` (of :func:`matmat`), for when only some rows are needed."""
    out = np.zeros(b.shape[1])
    for j in range(a.shape[1]):
        x = a[i, j]
        if x != 0.0:
            for c in range(b.shape[1]):
                out[c] += x * b[j, c]
    return out


# --- random draws used by several rules ----------------------------------------------
@rule
def weighted_index(rng: np.random.Generator, weights: np.ndarray, scale: np.ndarray) -> int:
    """An index drawn with probability proportional to ``weights * scale`` (not all zero),
    without making that product's array."""
    x = draws.uniform(rng) * dot(weights, scale)
    last = 0
    for i in range(weights.size):
        w = weights[i] * scale[i]
        if w > 0:
            last = i
            x -= w
            if x < 0:
                return i
    return last


@rule
def shuffled(rng: np.random.Generator, n: int) -> np.ndarray:
    """0..n-1 in a random order (Fisher-Yates)."""
    order = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = draws.integer(rng, 0, i + 1)
        order[i], order[j] = order[j], order[i]
    return order


@rule
def multinomial_row(rng: np.random.Generator, n: int, weights: np.ndarray, out: np.ndarray) -> None:
    """Split ``n`` over categories in proportion to ``weights`` (not all zero) as conditional
    binomials; each category's share is ``weights / weights.sum()``."""
    total = weights.sum()
    left = n
    rest = 1.0
    k = weights.size
    for j in range(k - 1):
        if left <= 0 or rest <= 0:
            out[j] = 0
            continue
        share = weights[j] / total
        p = min(1.0, max(0.0, share / rest))
        x = draws.binomial(rng, left, p)
        out[j] = x
        left -= x
        rest -= share
    out[k - 1] = left


class Calls:
    """Compiled rules called from Python by one model, without Numba's per-call dispatch.

    Numba types every argument on every call (tens of microseconds for the named tuples);
    one model passes the same objects every week, so each rule's compiled overload is
    resolved once, at its first call, and called directly afterwards.
    """

    def __init__(self) -> None:
        self._entries: dict[Any, Callable[..., Any]] = {}

    def __call__(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)``; the argument types must be those of this model's first call."""
        entry = self._entries.get(fn)
        if entry is None:
            entry = self._entries[fn] = _entry_point(fn, args)
        return entry(*args)


def _entry_point(fn: Any, args: tuple[Any, ...]) -> Callable[..., Any]:
    """What calls ``fn`` compiled for the types of ``args``: the rule compiled ahead of time
    (:mod:`sim.aot`) where it was built for them (without loading Numba), else its overload
    from Numba's cache."""
    from sim import aot

    entry = aot.entry(fn, args)
    if entry is not None:
        return entry
    dispatcher = compiled(fn)
    if not hasattr(dispatcher, "overloads"):  # NUMBA_DISABLE_JIT=1: plain Python functions
        return dispatcher
    from numba import typeof

    signature = tuple(typeof(a) for a in args)
    dispatcher.compile(signature)
    return dispatcher.overloads[signature].entry_point
