"""Pakistan: operations against the militants and protection of Chinese nationals.

Each week Pakistan
1. sets an operation intensity from its routine tempo, China's pressure, recent attacks
   and, once ordered, a decisive operation (Apex Committee, 19 November 2024);
2. allocates the Special Security Division's guards across sites in proportion to the
   Chinese nationals there, weighted up where Chinese targets were recently attacked;
3. decides whether to let Chinese troops guard their nationals: only when China demands
   it, and only against its senior officers' resistance (seed);
4. conducts operations: each fighter in Pakistan is removed (killed or captured) with a
   probability that grows with intensity (and joint intelligence), harming civilians
   as collateral, which costs legitimacy and feeds grievance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.params import PakistanParams

if TYPE_CHECKING:
    from sim.model import CrisisModel

IRAN_OWN_INTENSITY = 0.3  # Iran's routine counter-insurgency tempo on its own side


def operation_intensity(
    week: int, china_level: int, recent_attacks: int, p: PakistanParams
) -> float:
    """This week's intensity in [0, 1]."""
    i = p.base_intensity + p.intensity_per_china_level * china_level
    i += p.intensity_per_attack * recent_attacks
    if 0 <= p.decisive_operation_week <= week:
        i += p.decisive_boost
    return min(1.0, i)


def allocate_guards(
    troops: int, nationals: np.ndarray, recent_chinese_attacks: np.ndarray
) -> np.ndarray:
    """Split the guards over sites with Chinese nationals, more where recently attacked."""
    weight = nationals * (1.0 + recent_chinese_attacks)
    total = weight.sum()
    return troops * weight / total if total > 0 else np.zeros_like(nationals)


def removal_probability(
    intensity: np.ndarray, sanctuary: np.ndarray, joint: bool, p: PakistanParams
) -> np.ndarray:
    """Weekly chance that a fighter at each place is killed or captured."""
    rate = (
        p.attrition_at_full_intensity
        * intensity
        * (1.0 + (p.joint_attrition_bonus if joint else 0.0))
    )
    return np.clip(rate + sanctuary, 0.0, 1.0)


class PakistanState(Agent):
    """Pakistan as a state agent."""

    def __init__(self, model: CrisisModel, params: PakistanParams) -> None:
        super().__init__(model)
        self.params = params
        n = len(model.places.ids)
        self.intensity = params.base_intensity
        self.guards = np.zeros(n)
        self.chinese_troops = params.accept_chinese_troops
        self.civilian_harm = np.zeros(n)

    @property
    def joint_operations(self) -> bool:
        """Joint China-Pakistan operations: ordered by the scenario or with Chinese troops."""
        return self.model.china.params.joint_operations or self.chinese_troops

    def step(self) -> None:
        """Decide and act for one week."""
        m = self.model
        self.intensity = operation_intensity(
            m.week, m.china.level, m.recent_attacks(4), self.params
        )
        self.guards = allocate_guards(
            self.params.ssd_troops, m.chinese_nationals, m.recent_chinese_attacks_by_place
        )
        self.consider_chinese_troops()
        self.conduct_operations()

    def consider_chinese_troops(self) -> None:
        """Yield to China's demand only if its pressure beats the officers' resistance."""
        if self.chinese_troops or not self.model.china.demands_protection:
            return
        pressed = self.model.china.pressure > self.params.officer_resistance
        if pressed and self.model.random.random() < self.params.acceptance_rate:
            self.chinese_troops = True

    def operation_map(self) -> np.ndarray:
        """Intensity by place: Pakistan's in Pakistan, Iran's own tempo in Iran."""
        places = self.model.places
        return np.where(places.in_iran, IRAN_OWN_INTENSITY, self.intensity)

    def conduct_operations(self) -> None:
        """Remove fighters everywhere by the removal probability; record collateral harm."""
        m = self.model
        iran = m.iran
        sanctuary = np.zeros(len(m.places.ids))
        if iran.denies_sanctuary:
            sanctuary = m._border_or_iran * iran.params.sanctuary_attrition
        p_remove = removal_probability(
            self.operation_map(), sanctuary, self.joint_operations, self.params
        )
        removed = m.rng.binomial(m.fighters_at, p_remove)  # group x place
        m.fighters_at -= removed
        for group, n in zip(m.groups, removed.sum(axis=1).tolist(), strict=True):
            group.lose_fighters(n)
        removed_total = removed.sum(axis=0)
        killed = m.rng.binomial(removed_total, 1.0 - self.params.capture_share)
        m.record_militants_killed(int(killed.sum()))
        harm = m.rng.poisson(self.params.collateral_per_militant * removed_total)
        self.civilian_harm = harm.astype(float)
        deaths = m.rng.binomial(harm, self.params.collateral_killed_share)
        m.record_collateral_deaths(deaths)
