"""China's patience and escalation ladder, against scripted weeks of deaths."""

from __future__ import annotations

from itertools import pairwise

from sim.agents.china import DEMAND, HOLD, NORMAL, PRESSURE, next_level, next_patience
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
