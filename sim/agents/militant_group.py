"""A militant group: BLA, its Majeed Brigade, BLF, Jaish al-Adl or the TTP.

The rules are compiled functions in :mod:`sim.rules.militant_group`, shared with the engine; this
module holds the Mesa agent that calls them (and re-exports the rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from mesa import Agent

from sim.attacks import CHINESE, TARGETS, AttackOutcome
from sim.cells import CellPool
from sim.rules.militant_group import (
    attack_payoff,
    choice_probabilities,
    forget,
    group_week,
    initial_propensities,
    next_excitation,
    reinforce,
)

if TYPE_CHECKING:
    from sim.model import CrisisModel

__all__ = [
    "CHINESE",
    "TARGETS",
    "AttackOutcome",
    "MilitantGroup",
    "attack_payoff",
    "choice_probabilities",
    "forget",
    "group_week",
    "initial_propensities",
    "next_excitation",
    "reinforce",
]


class MilitantGroup(Agent):
    """One armed group: a row of the model's group arrays, stepped by the compiled rules."""

    def __init__(self, model: CrisisModel, row: int, key: str, name: str, params: Any) -> None:
        super().__init__(model)
        self.row, self.key, self.name, self.params = row, key, name, params
        self.baloch = bool(model.group_arrays.baloch[row])

    # The group's state is its row of the model's arrays, looked up at each use: a view kept
    # here would stay behind in a copy of the model (a fork, a duplicated tab), where
    # ``copy.deepcopy`` makes every view an array of its own.
    @property
    def fighters_at(self) -> np.ndarray:
        """Fighters by place (a view of the model's group arrays)."""
        return self.model.group_arrays.fighters_at[self.row]

    @property
    def propensities(self) -> np.ndarray:
        """Target-choice propensities (a view of the model's group arrays)."""
        return self.model.group_arrays.propensities[self.row]

    @property
    def cells(self) -> CellPool:
        """The group's attack cells (views of the model's group arrays)."""
        g, row = self.model.group_arrays, self.row
        return CellPool(0, self.model.stream, (g.sizes[row], g.counts[row], g.meta[row]))

    @property
    def fighters(self) -> int:
        """Fighters in the group (equals the sum of its cell sizes)."""
        return self.cells.fighters

    @property
    def excitation(self) -> float:
        """Self-excited attempts a week owed to recent attacks and harm."""
        return float(self.model.group_arrays.excitation[self.row])

    def step(self) -> None:
        """One week: forget, reorganise cells, then attack and learn (:func:`group_week`)."""
        m = self.model
        r = m.recorder
        r.buffer, r.n_events = m.call(
            group_week,
            m.stream,
            self.row,
            m.group_arrays,
            m.world,
            m.place_arrays,
            m.compiled,
            r.buffer,
            r.n_events,
        )

    def target_shares(self) -> np.ndarray:
        """Current probability of choosing each target."""
        return choice_probabilities(self.propensities, self.model.compiled.targeting)
