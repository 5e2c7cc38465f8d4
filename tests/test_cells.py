"""The coalescence-fragmentation cell process (Johnson et al. 2006; Clauset & Wiegel 2010)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cells import DISTINCT, CellPool, put


def _consistent(pool: CellPool) -> bool:
    sizes = pool.sizes()
    return sum(sizes) == pool.fighters and len(sizes) == pool.cells and min(sizes, default=1) > 0


@given(
    fighters=st.integers(0, 300),
    ops=st.lists(
        st.tuples(st.sampled_from(["event", "recruit", "remove", "shrink"]), st.integers(0, 20)),
        max_size=60,
    ),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=80, deadline=None)
def test_every_operation_conserves_fighters(fighters: int, ops: list, seed: int) -> None:
    pool = CellPool(fighters, np.random.default_rng(seed))
    expected = fighters
    for op, n in ops:
        if op == "event":
            pool.run(n, 0.2)
        elif op == "recruit":
            pool.add_recruits(n)
            expected += n
        elif op == "remove":
            expected -= pool.remove_fighters(n)
        elif op == "shrink" and pool.cells:
            size = pool.pick_uniform()
            lost = min(n, size)
            pool.shrink_cell(size, lost)
            expected -= lost
        assert _consistent(pool)
        assert pool.fighters == expected >= 0


def test_certain_shattering_leaves_only_single_fighters() -> None:
    pool = CellPool(200, np.random.default_rng(1))
    pool.run(3000, 0.0)
    assert pool.cells < 20  # coalescence alone builds big cells
    pool.run(3000, 1.0)
    assert set(pool.counts) == {1} and pool.cells == 200


def test_uniform_pick_is_uniform_over_cells_and_size_biased_pick_over_fighters() -> None:
    pool = CellPool(30, np.random.default_rng(7))
    pool.add_recruits(0)
    put(pool.sizes_, pool.counts_, pool.meta, 10, 1)
    assert pool.counts == {1: 30, 10: 1} and pool.fighters == 40 and pool.cells == 31
    uniform = [pool.pick_uniform() for _ in range(20000)]
    biased = [pool.pick_size_biased() for _ in range(20000)]
    assert abs(np.mean(np.array(uniform) == 10) - 1 / 31) < 0.006
    assert abs(np.mean(np.array(biased) == 10) - 10 / 40) < 0.015


def test_steady_state_sizes_are_heavy_tailed_near_five_halves() -> None:
    """Sizes of uniformly picked cells: discrete power-law MLE alpha in the 2-3 band."""
    pool = CellPool(1000, np.random.default_rng(3))
    pool.run(5000, 0.1)
    sample = []
    for _ in range(300):
        pool.run(40, 0.1)
        sample.extend(pool.sizes())
    x = np.array(sample, dtype=float)
    xmin = 2.0
    tail = x[x >= xmin]
    alpha = 1 + len(tail) / np.sum(np.log(tail / (xmin - 0.5)))  # Clauset et al. 2009, eq. 3.7
    assert 2.0 < alpha < 3.0, alpha
    assert x.max() >= 30  # big cells exist: severities are not thin-tailed


def test_histogram_stays_compact_and_the_same_seed_gives_the_same_pool() -> None:
    a, b = CellPool(500, np.random.default_rng(11)), CellPool(500, np.random.default_rng(11))
    a.run(4000, 0.1)
    b.run(4000, 0.1)
    n = int(a.meta[DISTINCT])
    assert (a.counts_[:n] > 0).all() and (a.counts_[n:] == 0).all()
    assert len(set(a.sizes_[:n].tolist())) == n  # each size once
    assert a.counts == b.counts and a.cells == b.cells and a.fighters == b.fighters == 500
