"""Attack units that coalesce and shatter (Johnson et al. 2006; Clauset & Wiegel 2010).

A group's fighters are partitioned into cells. In each micro-event a cell is picked with
probability proportional to its size; with probability ``nu`` it shatters into single
fighters, otherwise it merges with a second size-biased cell. The steady state has cell
sizes n_k ~ k^-5/2, so attack severities that scale with the size of a uniformly picked
cell are heavy-tailed without sampling a power law anywhere.

Cells of equal size are exchangeable, so the pool is stored as a histogram
``{size: number of cells}``: every operation is O(number of distinct sizes) and
conservation of fighters is easy to check (``sum(k * n_k) == fighters``).
"""

from __future__ import annotations

from random import Random


class CellPool:
    """A histogram of cell sizes with the coalescence-fragmentation dynamics."""

    __slots__ = ("_random", "cells", "counts", "fighters")

    def __init__(self, fighters: int, rnd: Random) -> None:
        self.counts: dict[int, int] = {1: fighters} if fighters > 0 else {}
        self.fighters = fighters
        self.cells = fighters
        self._random = rnd

    # --- picking -----------------------------------------------------------------
    def pick_size_biased(self) -> int:
        """Size of a cell picked with probability proportional to its size."""
        x = self._random.random() * self.fighters
        k = 0
        for k, c in self.counts.items():
            x -= k * c
            if x < 0:
                return k
        return k

    def pick_uniform(self) -> int:
        """Size of a cell picked uniformly among cells (Clauset & Wiegel's attacking unit)."""
        x = self._random.random() * self.cells
        k = 0
        for k, c in self.counts.items():
            x -= c
            if x < 0:
                return k
        return k

    # --- bookkeeping -------------------------------------------------------------
    def _take(self, k: int) -> None:
        c = self.counts[k] - 1
        if c:
            self.counts[k] = c
        else:
            del self.counts[k]
        self.fighters -= k
        self.cells -= 1

    def _put(self, k: int, n: int = 1) -> None:
        if k > 0 and n > 0:
            self.counts[k] = self.counts.get(k, 0) + n
            self.fighters += k * n
            self.cells += n

    # --- dynamics ----------------------------------------------------------------
    def micro_event(self, shatter_probability: float) -> None:
        """One Johnson/Clauset-Wiegel event: a size-biased cell shatters or coalesces."""
        if self.fighters < 2:
            return
        k = self.pick_size_biased()
        if self._random.random() < shatter_probability:
            if k > 1:
                self._take(k)
                self._put(1, k)
            return
        self._take(k)
        if self.fighters == 0:
            self._put(k)
            return
        j = self.pick_size_biased()
        self._take(j)
        self._put(k + j)

    def run(self, events: int, shatter_probability: float) -> None:
        """Run ``events`` micro-events: :meth:`micro_event`, inlined for speed.

        This loop is the model's hot path; it does exactly what ``micro_event`` does
        (a test checks the two give the same pool from the same random stream).
        """
        counts, rand = self.counts, self._random.random
        n, cells = self.fighters, self.cells
        for _ in range(events):
            if n < 2:
                break
            x = rand() * n  # size-biased pick of k
            for k, c in counts.items():
                x -= k * c
                if x < 0:
                    break
            if rand() < shatter_probability:
                if k > 1:
                    c = counts[k] - 1
                    if c:
                        counts[k] = c
                    else:
                        del counts[k]
                    counts[1] = counts.get(1, 0) + k
                    cells += k - 1
                continue
            c = counts[k] - 1  # take k out, then pick j among the rest
            if c:
                counts[k] = c
            else:
                del counts[k]
            rest = n - k
            if rest == 0:
                counts[k] = counts.get(k, 0) + 1
                continue
            x = rand() * rest
            for j, c in counts.items():
                x -= j * c
                if x < 0:
                    break
            c = counts[j] - 1
            if c:
                counts[j] = c
            else:
                del counts[j]
            counts[k + j] = counts.get(k + j, 0) + 1
            cells -= 1
        self.cells = cells

    def add_recruits(self, n: int) -> None:
        """New fighters join as single-fighter cells."""
        self._put(1, n)

    def remove_fighters(self, n: int) -> int:
        """Remove ``n`` fighters picked uniformly (each from a size-biased cell); return removed."""
        removed = 0
        while removed < n and self.fighters > 0:
            k = self.pick_size_biased()
            self._take(k)
            self._put(k - 1)
            removed += 1
        return removed

    def shrink_cell(self, size: int, lost: int) -> None:
        """The cell of ``size`` that attacked loses ``lost`` members (killed or captured)."""
        lost = min(lost, size)
        if lost <= 0 or self.counts.get(size, 0) == 0:
            return
        self._take(size)
        self._put(size - lost)

    def sizes(self) -> list[int]:
        """All cell sizes, expanded (for tests and plots)."""
        return [k for k, c in sorted(self.counts.items()) for _ in range(c)]
