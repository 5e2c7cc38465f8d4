"""An investor: a Chinese state firm or a private firm with capital and staff at one site.

Its bureaucratic friction is drawn once per replicate from the firm's declared range.
Every month (four weeks) an investor
1. updates its belief about the hazard to Chinese staff: an exponentially weighted
   average of incidents (attacks on Chinese targets and Chinese deaths), its own site
   weighted most;
2. values staying: expected return - risk aversion x hazard - bureaucratic friction
   (Abadie & Gardeazabal 2008: terrorism risk lowers the value of investing);
3. chooses with hysteresis: invest above one threshold, pause below a lower one,
   withdraw after several bad months while paused; state firms also pause while
   Beijing holds investment. Withdrawal is irreversible and takes its staff home.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.compiled import inlined_rule, rule
from sim.rules.china import investment_hold
from sim.world import FIRST_PAUSE, LEVEL, STATE_NAMES, WEEK
from sim.world import INVESTING as S_INVESTING
from sim.world import PAUSED as S_PAUSED
from sim.world import WITHDRAWN as S_WITHDRAWN

INVESTING, PAUSED, WITHDRAWN = STATE_NAMES  # names of the state codes 0, 1, 2


@rule
def updated_hazard(belief: float, incidents: np.ndarray, site: int, p: Any) -> float:
    """New hazard belief from last month's incidents by place."""
    own = incidents[site]
    other = incidents.sum() - own
    observed = p.own_site_weight * own + p.other_site_weight * other
    return (1.0 - p.hazard_memory) * belief + p.hazard_memory * observed


@rule
def staying_value(hazard: float, friction: float, p: Any) -> float:
    """Utility of staying invested."""
    return p.expected_return - p.risk_aversion * hazard - p.friction_scale * friction


@rule
def decide(state: int, value: float, bad_months: int, on_hold: bool, p: Any) -> tuple[int, int]:
    """Next state code and count of consecutive bad months (hysteresis; withdrawal final)."""
    if state == S_WITHDRAWN:
        return S_WITHDRAWN, bad_months
    bad_months = bad_months + 1 if value < p.withdraw_below else 0
    if state == S_PAUSED and bad_months >= p.months_to_withdraw:
        return S_WITHDRAWN, bad_months
    if on_hold or value < p.pause_below:
        return S_PAUSED, bad_months
    if value > p.invest_above:
        return S_INVESTING, bad_months
    return state, bad_months


@inlined_rule
def investor_month(k: int, investors: Any, world: Any, params: Any) -> None:
    """Rules 1-3 for firm ``k`` (:func:`settle_investor` carries the choice out)."""
    p, s = params.investors, world.s
    site = investors.site[k]
    investors.hazard[k] = updated_hazard(investors.hazard[k], world.month_incidents, site, p)
    value = staying_value(investors.hazard[k], investors.friction[k], p)
    on_hold = investors.state_firm[k] and investment_hold(s[LEVEL], params.china)
    state, bad = decide(investors.state[k], value, investors.bad_months[k], on_hold, p)
    settle_investor(k, state, bad, investors, world, params)


@inlined_rule
def settle_investor(
    k: int, state: int, bad_months: int, investors: Any, world: Any, params: Any
) -> None:
    """Carry out firm ``k``'s choice for the month: deploy capital while investing; a
    withdrawal takes its capital and staff home (and cannot be undone)."""
    p, s = params.investors, world.s
    before = investors.state[k]
    if before == S_WITHDRAWN:
        state = S_WITHDRAWN
    investors.state[k], investors.bad_months[k] = state, bad_months
    if state == S_INVESTING:
        investors.deployed[k] += p.deployment_rate * (
            investors.committed[k] - investors.deployed[k]
        )
    elif state == S_WITHDRAWN and before != S_WITHDRAWN:
        world.chinese_nationals[investors.site[k]] -= investors.staff[k]
        investors.staff[k] = 0
        investors.deployed[k] = 0.0
    if before == S_INVESTING and state == S_PAUSED and s[FIRST_PAUSE] < 0:
        s[FIRST_PAUSE] = s[WEEK]
