"""An investor fed a scripted run of attacks pauses, then withdraws, and never returns."""

from __future__ import annotations

import numpy as np

from sim.agents.investor import decide, staying_value, updated_hazard
from sim.world import INVESTING, PAUSED, WITHDRAWN
from tests.compiled_params import InvestorParams


def _months(incidents_at_site: list[float], p: object, friction: float = 0.0) -> list[int]:
    state, bad, hazard, states = INVESTING, 0, 0.0, []
    for x in incidents_at_site:
        incidents = np.zeros(5)
        incidents[2] = x
        hazard = updated_hazard(hazard, incidents, 2, p)
        state, bad = decide(state, staying_value(hazard, friction, p), bad, False, p)
        states.append(state)
    return states


def test_attacks_make_an_investor_pause_then_withdraw_for_good() -> None:
    p = InvestorParams()
    states = _months([0, 0, 1, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], p)
    assert states[:2] == [INVESTING, INVESTING]
    first_pause = states.index(PAUSED)
    first_withdraw = states.index(WITHDRAWN)
    assert first_pause < first_withdraw
    assert set(states[first_withdraw:]) == {WITHDRAWN}  # quiet months do not bring it back


def test_mild_trouble_pauses_then_resumes_with_hysteresis() -> None:
    p = InvestorParams()
    states = _months([0, 2.9, 0, 0, 0, 0, 0, 0, 0, 0], p)
    assert PAUSED in states and WITHDRAWN not in states
    assert states[-1] == INVESTING
    # hysteresis: months with a value between the pause and invest thresholds stay paused
    i = states.index(PAUSED)
    assert states[i : i + 3] == [PAUSED] * 3


def test_incidents_elsewhere_weigh_less_than_at_own_site() -> None:
    p = InvestorParams()
    own = np.array([0.0, 1.0, 0.0])
    other = np.array([1.0, 0.0, 0.0])
    assert updated_hazard(0.0, own, 1, p) > updated_hazard(0.0, other, 1, p) > 0


def test_a_hold_pauses_a_state_firm_but_not_into_withdrawal() -> None:
    p = InvestorParams()
    state, bad = INVESTING, 0
    for _ in range(12):
        state, bad = decide(state, 0.6, bad, True, p)
    assert state == PAUSED


def test_friction_alone_drives_out_a_private_firm() -> None:
    """Century Steel's case: bureaucratic friction, no attacks."""
    states = _months([0] * 6, InvestorParams(), friction=0.95)
    assert states[0] == PAUSED and states[-1] == WITHDRAWN
    assert _months([0] * 6, InvestorParams(friction_scale=0.3), friction=0.95)[-1] == INVESTING
