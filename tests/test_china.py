"""China's patience and escalation ladder, against scripted weeks of deaths."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from sim.agents.china import DEMAND, HOLD, NORMAL, PRESSURE, next_level, next_patience
from sim.rules.china import imposed_floor
from tests.compiled_params import ChinaParams


def _play(deaths: list[int], p: ChinaParams) -> tuple[list[float], list[int]]:
    patience, level = p.initial_patience, next_level(NORMAL, p.initial_patience, p)
    patiences, levels = [], []
    for killed in deaths:
        patience = next_patience(patience, killed, p)
        level = next_level(level, patience, p)
        patiences.append(patience)
        levels.append(level)
    return patiences, levels


def test_ladder_climbs_with_deaths_and_descends_only_after_quiet_weeks() -> None:
    p = ChinaParams(initial_patience=0.8, patience_loss_per_death=0.1, patience_recovery=0.01)
    deaths = [2, 0, 2, 0, 3] + [0] * 80
    patiences, levels = _play(deaths, p)
    assert levels[0] == PRESSURE  # 0.8 - 0.2 = 0.6 < 0.7
    assert levels[2] == PRESSURE  # 0.61 - 0.2 = 0.41: not yet below the hold threshold 0.35
    assert levels[4] == DEMAND  # 0.42 - 0.3 = 0.12 < 0.2: straight to the top
    assert HOLD in levels[5:]  # on the way down it passes through the hold
    assert levels[-1] == NORMAL
    # Hysteresis: back at 0.25 (> demand threshold 0.2) China still demands protection...
    week_back_over = next(i for i, x in enumerate(patiences) if i > 4 and x > p.demand_below)
    assert levels[week_back_over] == DEMAND
    # ...and steps down only once patience exceeds threshold + gap (0.3).
    step_down = next(i for i, lv in enumerate(levels) if i > 4 and lv < DEMAND)
    assert patiences[step_down] > p.demand_below + p.hysteresis
    assert patiences[step_down - 1] <= p.demand_below + p.hysteresis
    assert levels == sorted(levels[:5]) + levels[5:]  # climbs monotonically while attacked
    assert all(b <= a for a, b in pairwise(levels[5:]))  # then only descends


def test_patience_stays_in_unit_interval() -> None:
    p = ChinaParams(patience_loss_per_death=1.0, patience_recovery=1.0)
    assert next_patience(0.1, 50, p) == 0.0
    assert next_patience(0.9, 0, p) == 1.0


def test_no_deaths_no_escalation_from_normal() -> None:
    p = ChinaParams(initial_patience=0.9)
    _, levels = _play([0] * 50, p)
    assert set(levels) == {NORMAL}


def test_an_imposed_freeze_holds_the_ladder_at_the_investment_hold_at_least() -> None:
    """Beijing carrying out its threat presses Pakistan as the ladder's own hold does (a
    review found the imposed freeze left Pakistan's tempo untouched)."""
    forced = ChinaParams(force_investment_hold=True)
    assert [imposed_floor(level, forced) for level in (NORMAL, PRESSURE, HOLD, DEMAND)] == [
        HOLD,
        HOLD,
        HOLD,
        DEMAND,
    ]
    free = ChinaParams()
    assert [imposed_floor(level, free) for level in (NORMAL, DEMAND)] == [NORMAL, DEMAND]


def test_under_an_imposed_freeze_the_ladder_never_drops_below_the_hold_and_pakistan_presses() -> (
    None
):
    from sim.config import scenario_params
    from sim.engine import run_replicate

    def weekly(scenario: str, column: str) -> np.ndarray:
        params = scenario_params(scenario)
        return np.array([run_replicate(params, 104, seed).weekly[column] for seed in range(8)])

    assert weekly("investment_freeze", "china_level").min() >= HOLD
    freeze = weekly("investment_freeze", "operation_intensity").mean()
    assert freeze > weekly("baseline", "operation_intensity").mean() + 0.04
