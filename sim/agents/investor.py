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

from typing import TYPE_CHECKING, Any

import numpy as np
from mesa import Agent

from sim.params import InvestorParams

if TYPE_CHECKING:
    from sim.model import CrisisModel

INVESTING, PAUSED, WITHDRAWN = "investing", "paused", "withdrawn"


def updated_hazard(belief: float, incidents: np.ndarray, site: int, p: InvestorParams) -> float:
    """New hazard belief from last month's incidents by place."""
    own = incidents[site]
    other = incidents.sum() - own
    observed = p.own_site_weight * own + p.other_site_weight * other
    return (1.0 - p.hazard_memory) * belief + p.hazard_memory * observed


def staying_value(hazard: float, friction: float, p: InvestorParams) -> float:
    """Utility of staying invested."""
    return p.expected_return - p.risk_aversion * hazard - p.friction_scale * friction


def decide(
    state: str, value: float, bad_months: int, on_hold: bool, p: InvestorParams
) -> tuple[str, int]:
    """Next state and count of consecutive bad months (hysteresis; withdrawal final)."""
    if state == WITHDRAWN:
        return WITHDRAWN, bad_months
    bad_months = bad_months + 1 if value < p.withdraw_below else 0
    if state == PAUSED and bad_months >= p.months_to_withdraw:
        return WITHDRAWN, bad_months
    if on_hold or value < p.pause_below:
        return PAUSED, bad_months
    if value > p.invest_above:
        return INVESTING, bad_months
    return state, bad_months


class Investor(Agent):
    """A firm with committed and deployed capital (USD million) and Chinese staff."""

    def __init__(self, model: CrisisModel, record: dict[str, Any], params: InvestorParams) -> None:
        super().__init__(model)
        self.key: str = record["id"]
        self.name: str = record["name"]
        self.state_firm: bool = record["state_firm"]
        self.site: int = model.places.index(record["place"])
        self.committed: float = record["committed"]
        self.deployed: float = record["deployed"]
        self.staff: int = record["staff"]
        # Drawn per replicate from the firm's declared range.
        self.friction: float = model.random.uniform(record["friction_low"], record["friction_high"])
        self.params = params
        self.state = INVESTING if self.deployed > 0 else PAUSED
        self.hazard = 0.0
        self.bad_months = 0

    def step(self) -> None:
        """The monthly decision."""
        m = self.model
        self.hazard = updated_hazard(
            self.hazard, m.month_incidents_by_place, self.site, self.params
        )
        value = staying_value(self.hazard, self.friction, self.params)
        on_hold = self.state_firm and m.china.investment_hold
        before = self.state
        self.state, self.bad_months = decide(
            self.state, value, self.bad_months, on_hold, self.params
        )
        if self.state == INVESTING:
            self.deployed += self.params.deployment_rate * (self.committed - self.deployed)
        elif self.state == WITHDRAWN and before != WITHDRAWN:
            self.withdraw()
        if before == INVESTING and self.state == PAUSED:
            m.note_first_pause()

    def withdraw(self) -> None:
        """Leave: capital is retracted and the Chinese staff go home."""
        self.model.chinese_nationals[self.site] -= self.staff
        self.staff = 0
        self.deployed = 0.0
