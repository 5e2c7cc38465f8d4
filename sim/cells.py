"""Attack units that coalesce and shatter (Johnson et al. 2006; Clauset & Wiegel 2010).

A group's fighters are partitioned into cells. In each micro-event a cell is picked with
probability proportional to its size; with probability ``nu`` it shatters into single
fighters, otherwise it merges with a second size-biased cell. The steady state has cell
sizes n_k ~ k^-5/2, so attack severities that scale with the size of a uniformly picked
cell are heavy-tailed without sampling a power law anywhere.

Cells of equal size are exchangeable, so a pool is stored as a histogram over its distinct
sizes: ``sizes[i]`` fighters in each of ``counts[i]`` cells for ``i < meta[DISTINCT]``, with
``meta[FIGHTERS] == sum(sizes * counts)`` and ``meta[CELLS] == sum(counts)``. The rules are
compiled functions over these arrays; :class:`CellPool` wraps one pool for Python callers.
"""

from __future__ import annotations

import numpy as np

from sim import draws
from sim.compiled import rule

#: Slots of a pool's ``meta`` array.
DISTINCT, FIGHTERS, CELLS = 0, 1, 2
#: Distinct cell sizes a pool can hold (k distinct sizes need at least k(k+1)/2 fighters).
CAPACITY = 1024


# --- bookkeeping --------------------------------------------------------------------------
# The histogram rules take the number of distinct sizes and return it changed, so that loops
# of many events (micro_events) keep a pool's totals in registers and write ``meta`` once.
@rule
def slot_of(sizes: np.ndarray, distinct: int, k: int) -> int:
    """Slot of size ``k`` among the first ``distinct`` slots (``distinct`` if absent)."""
    i = 0
    while i < distinct and sizes[i] != k:
        i += 1
    return i


@rule
def add_cells(sizes: np.ndarray, counts: np.ndarray, distinct: int, k: int, n: int) -> int:
    """Add ``n`` cells of size ``k`` to the histogram; return the number of distinct sizes."""
    i = slot_of(sizes, distinct, k)
    if i < distinct:
        counts[i] += n
        return distinct
    if i >= sizes.size:
        raise ValueError("cell pool capacity exceeded")
    sizes[i], counts[i] = k, n
    return distinct + 1


@rule
def remove_cell_at(sizes: np.ndarray, counts: np.ndarray, distinct: int, i: int) -> int:
    """Remove one cell at slot ``i``; return the number of distinct sizes.

    The histogram stays compact: an emptied slot takes the last slot's size and count.
    """
    counts[i] -= 1
    if counts[i] > 0:
        return distinct
    last = distinct - 1
    sizes[i], counts[i] = sizes[last], counts[last]
    sizes[last], counts[last] = 0, 0
    return last


@rule
def put(sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray, k: int, n: int) -> None:
    """Add ``n`` cells of size ``k``."""
    if k <= 0 or n <= 0:
        return
    meta[DISTINCT] = add_cells(sizes, counts, meta[DISTINCT], k, n)
    meta[FIGHTERS] += k * n
    meta[CELLS] += n


@rule
def take_at(sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray, i: int) -> None:
    """Remove one cell of the size stored at slot ``i``."""
    k = sizes[i]
    meta[DISTINCT] = remove_cell_at(sizes, counts, meta[DISTINCT], i)
    meta[FIGHTERS] -= k
    meta[CELLS] -= 1


@rule
def take(sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray, k: int) -> None:
    """Remove one cell of size ``k`` (which must exist)."""
    i = slot_of(sizes, meta[DISTINCT], k)
    if i == meta[DISTINCT]:
        raise ValueError("no cell of that size")
    take_at(sizes, counts, meta, i)


@rule
def count_of(sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray, k: int) -> int:
    """Number of cells of size ``k``."""
    i = slot_of(sizes, meta[DISTINCT], k)
    return int(counts[i]) if i < meta[DISTINCT] else 0


# --- picking ------------------------------------------------------------------------------
@rule
def size_biased_slot(
    rng: np.random.Generator, sizes: np.ndarray, counts: np.ndarray, distinct: int, fighters: int
) -> int:
    """Slot of a cell picked with probability proportional to its size.

    With ``x = u * fighters`` (``u`` uniform in [0, 1)), the slot is the first whose running
    total of fighters exceeds ``x``, the last if none does. Running totals are integers, so
    comparing them with ``floor(x)`` picks the same slot as subtracting them from ``x`` one by
    one (exact below 2**53), in integer arithmetic.
    """
    x = int(draws.uniform(rng) * fighters)
    total = 0
    for i in range(distinct - 1):
        total += sizes[i] * counts[i]
        if x < total:
            return i
    return distinct - 1


@rule
def slot_size_biased(
    rng: np.random.Generator, sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray
) -> int:
    """Slot of a cell picked with probability proportional to its size."""
    return size_biased_slot(rng, sizes, counts, meta[DISTINCT], meta[FIGHTERS])


@rule
def pick_size_biased(
    rng: np.random.Generator, sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray
) -> int:
    """Size of a cell picked with probability proportional to its size."""
    return sizes[slot_size_biased(rng, sizes, counts, meta)]


@rule
def pick_uniform(
    rng: np.random.Generator, sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray
) -> int:
    """Size of a cell picked uniformly among cells (Clauset & Wiegel's attacking unit)."""
    x = draws.uniform(rng) * meta[CELLS]
    k = 0
    for i in range(meta[DISTINCT]):
        k = sizes[i]
        x -= counts[i]
        if x < 0:
            return k
    return k


# --- dynamics -----------------------------------------------------------------------------
@rule
def micro_events(
    rng: np.random.Generator,
    sizes: np.ndarray,
    counts: np.ndarray,
    meta: np.ndarray,
    events: int,
    shatter_probability: float,
) -> None:
    """``events`` Johnson/Clauset-Wiegel events: a size-biased cell shatters or coalesces.

    The pool's totals live in local variables during the events and go back to ``meta`` at
    the end.
    """
    distinct, fighters, n_cells = meta[DISTINCT], meta[FIGHTERS], meta[CELLS]
    for _ in range(events):
        if fighters < 2:
            break
        i = size_biased_slot(rng, sizes, counts, distinct, fighters)
        k = sizes[i]
        shatter = draws.uniform(rng) < shatter_probability
        if shatter and k <= 1:  # a single fighter has nothing to shatter
            continue
        distinct = remove_cell_at(sizes, counts, distinct, i)
        fighters -= k
        n_cells -= 1
        if shatter:  # k single fighters
            new, n = 1, k
        elif fighters == 0:  # nothing to merge with: the cell goes back
            new, n = k, 1
        else:  # merges with a second size-biased cell
            i = size_biased_slot(rng, sizes, counts, distinct, fighters)
            j = sizes[i]
            distinct = remove_cell_at(sizes, counts, distinct, i)
            fighters -= j
            n_cells -= 1
            new, n = k + j, 1
        distinct = add_cells(sizes, counts, distinct, new, n)
        fighters += new * n
        n_cells += n
    meta[DISTINCT], meta[FIGHTERS], meta[CELLS] = distinct, fighters, n_cells


@rule
def remove_fighters(
    rng: np.random.Generator, sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray, n: int
) -> int:
    """Remove ``n`` fighters picked uniformly (each from a size-biased cell); return removed."""
    distinct, fighters, n_cells = meta[DISTINCT], meta[FIGHTERS], meta[CELLS]
    removed = 0
    while removed < n and fighters > 0:
        i = size_biased_slot(rng, sizes, counts, distinct, fighters)
        k = sizes[i]
        distinct = remove_cell_at(sizes, counts, distinct, i)
        fighters -= 1
        n_cells -= 1
        if k > 1:  # the rest of the cell stays together
            distinct = add_cells(sizes, counts, distinct, k - 1, 1)
            n_cells += 1
        removed += 1
    meta[DISTINCT], meta[FIGHTERS], meta[CELLS] = distinct, fighters, n_cells
    return removed


@rule
def shrink_cell(
    sizes: np.ndarray, counts: np.ndarray, meta: np.ndarray, size: int, lost: int
) -> None:
    """The cell of ``size`` that attacked loses ``lost`` members (killed or captured)."""
    lost = min(lost, size)
    if lost <= 0 or count_of(sizes, counts, meta, size) == 0:
        return
    take(sizes, counts, meta, size)
    put(sizes, counts, meta, size - lost, 1)


@rule
def burn_in(
    rng: np.random.Generator,
    fighters_at: np.ndarray,
    sizes: np.ndarray,
    counts: np.ndarray,
    meta: np.ndarray,
    events_per_fighter: float,
    shatter_probability: float,
) -> None:
    """Each group's fighters as single cells, then ``events_per_fighter`` events each."""
    for g in range(fighters_at.shape[0]):
        put(sizes[g], counts[g], meta[g], 1, fighters_at[g].sum())
        events = int(events_per_fighter * meta[g, FIGHTERS])
        micro_events(rng, sizes[g], counts[g], meta[g], events, shatter_probability)


def new_pool_arrays(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty storage for ``rows`` pools: sizes, counts (rows x CAPACITY) and meta (rows x 3)."""
    return (
        np.zeros((rows, CAPACITY), dtype=np.int64),
        np.zeros((rows, CAPACITY), dtype=np.int64),
        np.zeros((rows, 3), dtype=np.int64),
    )


class CellPool:
    """One pool of cells for Python callers: views of its arrays and the compiled rules."""

    __slots__ = ("_rng", "counts_", "meta", "sizes_")

    def __init__(
        self,
        fighters: int,
        rng: np.random.Generator,
        arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        if arrays is None:
            s, c, m = new_pool_arrays(1)
            arrays = (s[0], c[0], m[0])
        self.sizes_, self.counts_, self.meta = arrays
        self._rng = rng
        put(self.sizes_, self.counts_, self.meta, 1, fighters)

    @property
    def fighters(self) -> int:
        """Fighters in the pool."""
        return int(self.meta[FIGHTERS])

    @property
    def cells(self) -> int:
        """Number of cells."""
        return int(self.meta[CELLS])

    @property
    def counts(self) -> dict[int, int]:
        """The histogram ``{size: number of cells}``."""
        n = int(self.meta[DISTINCT])
        return dict(zip(self.sizes_[:n].tolist(), self.counts_[:n].tolist(), strict=True))

    def pick_size_biased(self) -> int:
        """Size of a cell picked with probability proportional to its size."""
        return int(pick_size_biased(self._rng, self.sizes_, self.counts_, self.meta))

    def pick_uniform(self) -> int:
        """Size of a cell picked uniformly among cells."""
        return int(pick_uniform(self._rng, self.sizes_, self.counts_, self.meta))

    def run(self, events: int, shatter_probability: float) -> None:
        """Run ``events`` micro-events."""
        micro_events(self._rng, self.sizes_, self.counts_, self.meta, events, shatter_probability)

    def add_recruits(self, n: int) -> None:
        """New fighters join as single-fighter cells."""
        put(self.sizes_, self.counts_, self.meta, 1, n)

    def remove_fighters(self, n: int) -> int:
        """Remove ``n`` fighters picked uniformly; return how many were removed."""
        return int(remove_fighters(self._rng, self.sizes_, self.counts_, self.meta, n))

    def shrink_cell(self, size: int, lost: int) -> None:
        """The cell of ``size`` loses ``lost`` members."""
        shrink_cell(self.sizes_, self.counts_, self.meta, size, lost)

    def sizes(self) -> list[int]:
        """All cell sizes, expanded (for tests and plots)."""
        return [k for k, c in sorted(self.counts.items()) for _ in range(c)]
