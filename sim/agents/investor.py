"""An investor: a Chinese state firm or a private firm with capital and staff at one site.

The rules are compiled functions in :mod:`sim.rules.investor`, shared with the engine; this
module holds the Mesa agent that calls them (and re-exports the rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesa import Agent

from sim.rules.investor import (
    INVESTING,
    PAUSED,
    WITHDRAWN,
    decide,
    investor_month,
    staying_value,
    updated_hazard,
)
from sim.world import STATE_NAMES

if TYPE_CHECKING:
    from sim.model import CrisisModel

__all__ = [
    "INVESTING",
    "PAUSED",
    "WITHDRAWN",
    "Investor",
    "decide",
    "investor_month",
    "staying_value",
    "updated_hazard",
]


class Investor(Agent):
    """A firm with committed and deployed capital (USD million) and Chinese staff.

    Its state lives in the model's investor arrays; the record gives its name and site.
    """

    #: A participant's seat (:mod:`sim.workshop.seats`): once active, called instead of the rule.
    policy: Any = None

    def __init__(self, model: CrisisModel, k: int, record: dict[str, Any]) -> None:
        super().__init__(model)
        self.k = k
        self.key: str = record["id"]
        self.name: str = record["name"]
        self.state_firm: bool = record["state_firm"]
        self.committed: float = record["committed"]
        self.site: int = int(model.investor_arrays.site[k])

    @property
    def state(self) -> str:
        """investing, paused or withdrawn."""
        return STATE_NAMES[int(self.model.investor_arrays.state[self.k])]

    @property
    def deployed(self) -> float:
        """Capital deployed (USD million)."""
        return float(self.model.investor_arrays.deployed[self.k])

    @property
    def staff(self) -> int:
        """Chinese staff on site."""
        return int(self.model.investor_arrays.staff[self.k])

    @property
    def friction(self) -> float:
        """This replicate's bureaucratic friction (drawn from the firm's range)."""
        return float(self.model.investor_arrays.friction[self.k])

    @property
    def hazard(self) -> float:
        """Believed hazard to Chinese staff."""
        return float(self.model.investor_arrays.hazard[self.k])

    def step(self) -> None:
        """The monthly decision (:func:`investor_month`), or a participant's (``policy``)."""
        if self.policy is not None and self.policy.active:  # a participant decides
            self.policy(self)
            return
        m = self.model
        m.call(investor_month, self.k, m.investor_arrays, m.world, m.compiled)
