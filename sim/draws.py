"""The rules' random draws: one NumPy stream, or keyed streams that scenarios share.

Every rule draws through the functions here (``uniform``, ``integer``, ``binomial``,
``poisson``), given the replicate's *stream*, which is one of two kinds (the run key
``streams``):

* ``single`` (the default): the replicate's :class:`numpy.random.Generator`, drawn in the
  order the rules run, with NumPy's own algorithms. One extra or missing draw anywhere shifts
  every later draw, so two scenarios run with one seed share almost nothing after their first
  difference: their outcomes are about uncorrelated (r ~ 0), and pairing them by seed buys no
  precision.
* ``keyed``: common random numbers. Each step of each week draws from its own substream,
  keyed by the replicate's seed, the week, the step and the group (:func:`enter`; a group's
  cells' events and its attacks are two steps); a draw is
  a hash of that key and the draw's position in its substream (SplitMix64's mixing function,
  Steele, Lea & Flood 2014), and counts are drawn by inversion (one uniform, monotone in it).
  So where two scenarios take the same steps they take the same draws, and a difference in
  one step of one week does not reshuffle every later draw (within a step, a changed number of
  draws still shifts the step's later ones: docs/model.md). Week 0's cells' burn-in draws
  from the seed's NumPy generator in both kinds; the investors' frictions draw from that
  generator after the burn-in (single) or from week 0's substream :data:`FRICTIONS` (keyed),
  so that keyed runs whose burn-ins differ still share them.

Both kinds give the same distributions (``tests/test_draws.py``: known answers, and the
model's outcomes under both); they do not give the same replicate for one seed.

The functions work on either kind, compiled or not: Numba picks the implementation by the
stream's type (:func:`numba.extending.overload`, registered when the process loads Numba:
:mod:`sim.jit`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.config import check_streams
from sim.jit import jit, overload

#: The steps of a week that draw, as keyed streams name them (:func:`enter`): a group's
#: week is two, its cells' events (GROUP) and its attempts and attacks (ATTACKS), since the
#: cells' parameters change how many draws its events take.
IRAN, PAKISTAN, SOCIETY, ORDER, GROUP, ATTACKS = 0, 1, 2, 3, 4, 6
#: Week 0's step that draws the investors' frictions from a keyed stream.
FRICTIONS = 5

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_KEY, _SUBSTREAM, _COUNTER = 0, 1, 2
#: Inversion sums probabilities from 0: a Poisson mean beyond this, or a binomial whose
#: P(X = 0) is below exp(-this), is drawn as a sum of smaller parts.
_MAX_INVERSION_MEAN = 500.0


def keyed_stream(seed: int) -> np.ndarray:
    """A keyed stream for the replicate of ``seed``: its key, substream and position."""
    key = np.random.SeedSequence([int(seed), 0x6B657965]).generate_state(1, np.uint64)[0]
    return np.array([key, 0, 0], dtype=np.uint64)


def stream_for(rng: np.random.Generator, seed: int, streams: str) -> Any:
    """The stream the rules draw from in weeks 1.. of a replicate: ``rng`` itself (single)
    or the seed's keyed stream (from which week 0's frictions draw too:
    :func:`friction_stream`)."""
    check_streams(streams)
    return rng if streams == "single" else keyed_stream(seed)


def friction_stream(rng: np.random.Generator, stream: Any) -> Any:
    """What week 0 draws the investors' frictions from: ``rng`` (a single stream, after the
    cells' burn-in) or the keyed ``stream`` turned to week 0's :data:`FRICTIONS` substream,
    which no parameter of the burn-in moves."""
    if isinstance(stream, np.random.Generator):
        return rng
    enter(stream, 0, FRICTIONS)
    return stream


# --- the keyed generator ----------------------------------------------------------------
@jit(cache=True)
def _mix(z: np.uint64) -> np.uint64:
    """SplitMix64's finaliser: a bijection of 64-bit words with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit(cache=True)
def _keyed_enter(state: np.ndarray, week: int, step: int, group: int) -> None:
    context = (np.uint64(week) << np.uint64(16)) | (np.uint64(step) << np.uint64(8))
    state[_SUBSTREAM] = _mix(state[_KEY] ^ _mix(context | np.uint64(group)))
    state[_COUNTER] = np.uint64(0)


@jit(cache=True)
def _keyed_uniform(state: np.ndarray) -> float:
    state[_COUNTER] += np.uint64(1)
    z = _mix(state[_SUBSTREAM] + _mix(state[_COUNTER] * _GOLDEN))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)  # 53 bits in [0, 1)


@jit(cache=True)
def _poisson_inverse(u: float, mean: float) -> int:
    """The smallest k with P(X <= k) > u for X ~ Poisson(mean)."""
    p = math.exp(-mean)
    total = p
    k = 0
    while u >= total:
        k += 1
        p *= mean / k
        total += p
        if p == 0.0 and k > mean:  # rounding left the sum short of u: the tail is empty
            break
    return k


@jit(cache=True)
def _keyed_poisson(state: np.ndarray, mean: float) -> int:
    if not mean >= 0.0:  # NaN too: NumPy refuses these
        raise ValueError("poisson: the mean must be a number >= 0")
    if mean == 0.0:
        return 0
    parts = math.ceil(mean / _MAX_INVERSION_MEAN)
    k = 0
    for _ in range(parts):  # a sum of Poissons is Poisson
        k += _poisson_inverse(_keyed_uniform(state), mean / parts)
    return k


@jit(cache=True)
def _binomial_inverse(u: float, n: int, p: float) -> int:
    """The smallest k with P(X <= k) > u for X ~ Binomial(n, p), p <= 1/2."""
    q = 1.0 - p
    ratio = p / q
    pk = math.exp(n * math.log1p(-p))
    total = pk
    k = 0
    while u >= total and k < n:
        pk *= ratio * (n - k) / (k + 1)
        k += 1
        total += pk
    return k


@jit(cache=True)
def _keyed_binomial(state: np.ndarray, n: int, p: float) -> int:
    if n < 0 or not 0.0 <= p <= 1.0:  # NaN too: NumPy refuses these
        raise ValueError("binomial: need n >= 0 and 0 <= p <= 1")
    if n == 0 or p == 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5  # count failures, keeping the draw increasing in the uniform
    small = 1.0 - p if flip else p
    neglog = -math.log1p(-small)  # P(X = 0) = exp(-n * neglog) must not underflow
    per_part = n if neglog * n <= _MAX_INVERSION_MEAN else max(1, int(_MAX_INVERSION_MEAN / neglog))
    k = 0
    left = n
    while left > 0:  # a sum of binomials with one p is binomial
        m = min(left, per_part)
        u = _keyed_uniform(state)
        k += _binomial_inverse(1.0 - u if flip else u, m, small)
        left -= m
    return n - k if flip else k


# --- the draws the rules call -------------------------------------------------------------
def _is_generator(stream: Any) -> bool:
    """Whether a Numba type is NumPy's generator's (asked while Numba types a rule)."""
    from numba import types

    return isinstance(stream, types.NumPyRandomGeneratorType)


def uniform(stream: Any) -> float:
    """A uniform number in [0, 1)."""
    if isinstance(stream, np.random.Generator):
        return float(stream.random())
    return float(_keyed_uniform(stream))


def integer(stream: Any, low: int, high: int) -> int:
    """An integer in [low, high), each equally likely."""
    if isinstance(stream, np.random.Generator):
        return int(stream.integers(low, high))
    return low + int(_keyed_uniform(stream) * (high - low))


def binomial(stream: Any, n: int, p: float) -> int:
    """Successes in ``n`` trials of probability ``p``."""
    if isinstance(stream, np.random.Generator):
        return int(stream.binomial(n, p))
    return int(_keyed_binomial(stream, n, p))


def poisson(stream: Any, mean: float) -> int:
    """A Poisson count of mean ``mean``."""
    if isinstance(stream, np.random.Generator):
        return int(stream.poisson(mean))
    return int(_keyed_poisson(stream, mean))


def enter(stream: Any, week: int, step: int, group: int = 0) -> None:
    """Begin ``step`` (of ``group``) in ``week``: a keyed stream turns to that substream; a
    single stream goes on as it is."""
    if not isinstance(stream, np.random.Generator):
        _keyed_enter(stream, week, step, group)


@overload(uniform)
def _uniform_compiled(stream):  # typed by Numba: no annotations
    if _is_generator(stream):
        return lambda stream: stream.random()
    return lambda stream: _keyed_uniform(stream)


@overload(integer)
def _integer_compiled(stream, low, high):
    if _is_generator(stream):
        return lambda stream, low, high: stream.integers(low, high)
    return lambda stream, low, high: low + int(_keyed_uniform(stream) * (high - low))


@overload(binomial)
def _binomial_compiled(stream, n, p):
    if _is_generator(stream):
        return lambda stream, n, p: stream.binomial(n, p)
    return lambda stream, n, p: _keyed_binomial(stream, n, p)


@overload(poisson)
def _poisson_compiled(stream, mean):
    if _is_generator(stream):
        return lambda stream, mean: stream.poisson(mean)
    return lambda stream, mean: _keyed_poisson(stream, mean)


@overload(enter)
def _enter_compiled(stream, week, step, group=0):
    if _is_generator(stream):
        return lambda stream, week, step, group=0: None
    return lambda stream, week, step, group=0: _keyed_enter(stream, week, step, group)
