"""Pakistan: operations against the militants and protection of Chinese nationals.

Each week Pakistan
1. sets an operation intensity from its routine tempo, China's pressure, recent attacks
   and, once ordered, a decisive operation (Apex Committee, 19 November 2024);
2. allocates the Special Security Division's guards across sites in proportion to the
   Chinese nationals there, weighted up where Chinese targets were recently attacked;
3. decides whether to let Chinese troops guard their nationals: only when China demands
   it, with a weekly chance that grows with China's pressure and shrinks with its senior
   officers' resistance (seed); the troops China has available cover the sites with the
   most nationals, one site per ``troops_per_site``;
4. conducts operations: each fighter in Pakistan is removed (killed or captured) with a
   probability that grows with intensity (and joint intelligence), harming civilians
   as collateral, which costs legitimacy, feeds grievance and provokes revenge attacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.params import ChinaParams, PakistanParams

if TYPE_CHECKING:
    from sim.model import CrisisModel


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


def troop_coverage(nationals: np.ndarray, p: ChinaParams) -> np.ndarray:
    """Sites Chinese troops guard: those with the most nationals, while troops last."""
    covered = np.zeros(nationals.size, dtype=bool)
    sites = int(p.troops_available // p.troops_per_site)
    order = [i for i in np.argsort(-nationals, kind="stable") if nationals[i] > 0]
    covered[order[:sites]] = True
    return covered


def acceptance_probability(pressure: float, p: PakistanParams) -> float:
    """Weekly chance Pakistan yields to China's demand for its troops."""
    return p.acceptance_rate * pressure * (1.0 - p.officer_resistance)


def removal_probability(intensity: np.ndarray, joint: bool, p: PakistanParams) -> np.ndarray:
    """Weekly chance that a fighter at each place is killed or captured."""
    bonus = 1.0 + (p.joint_attrition_bonus if joint else 0.0)
    return np.clip(p.attrition_at_full_intensity * intensity * bonus, 0.0, 1.0)


class PakistanState(Agent):
    """Pakistan as a state agent."""

    def __init__(self, model: CrisisModel, params: PakistanParams) -> None:
        super().__init__(model)
        self.params = params
        n = len(model.places.ids)
        self.intensity = params.base_intensity
        self.guards = np.zeros(n)
        self.chinese_troops = params.accept_chinese_troops
        self.troop_sites = np.zeros(n, dtype=bool)
        self.civilian_harm = np.zeros(n)
        self._update_troop_sites()

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
        self._update_troop_sites()
        self.conduct_operations()

    def consider_chinese_troops(self) -> None:
        """Yield to China's demand with a chance set by pressure against resistance."""
        china = self.model.china
        if self.chinese_troops or not china.demands_protection:
            return
        if self.model.random.random() < acceptance_probability(china.pressure, self.params):
            self.chinese_troops = True

    def _update_troop_sites(self) -> None:
        if self.chinese_troops:
            self.troop_sites = troop_coverage(self.model.chinese_nationals, self.model.china.params)
        else:
            self.troop_sites[:] = False

    def operation_map(self) -> np.ndarray:
        """Intensity by place: Pakistan's in Pakistan, Iran's own tempo in Iran, plus joint
        border operations where Iran cooperates."""
        m = self.model
        iran = m.iran.params
        own = np.where(m.places.in_iran, iran.own_operation_intensity, self.intensity)
        if m.iran.denies_sanctuary:
            own = own + m._border_or_iran * iran.joint_border_intensity
        return np.minimum(own, 1.0)

    def conduct_operations(self) -> None:
        """Remove fighters everywhere by the removal probability; record collateral harm."""
        m = self.model
        p_remove = removal_probability(self.operation_map(), self.joint_operations, self.params)
        removed = m.rng.binomial(m.fighters_at, p_remove)  # group x place
        m.fighters_at -= removed
        for group, n in zip(m.groups, removed.sum(axis=1).tolist(), strict=True):
            group.lose_fighters(n)
        removed_total = removed.sum(axis=0)
        captured = m.rng.binomial(removed_total, self.params.capture_share)
        m.record_militants_removed(int(removed_total.sum() - captured.sum()), int(captured.sum()))
        harm = m.rng.poisson(self.params.collateral_per_militant * removed_total)
        self.civilian_harm = harm.astype(float) * m._pakistan_mask
        deaths = m.rng.binomial(harm, self.params.collateral_killed_share)
        m.record_collateral_deaths(deaths)
