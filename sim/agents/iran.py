"""Iran: a posture toward Baloch militancy on the shared border.

Rules (seed; January 2024 strikes; reported joint raids near Saravan, November 2024):
1. the posture is a score in [-1, 1]: hostile below -1/3, cooperative above 1/3;
2. each Jaish al-Adl attack inside Iran moves it toward cooperation with Pakistan;
3. without attacks it drifts back toward neutral (unless the scenario fixes it);
4. when hostile, Iran may strike militant hideouts across the border (civilian deaths,
   lost legitimacy); when cooperative, joint border operations deny sanctuary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.params import IranParams

if TYPE_CHECKING:
    from sim.model import CrisisModel

POSTURE_SCORE = {"hostile": -1.0, "neutral": 0.0, "cooperative": 1.0}


def next_posture(score: float, jaa_attacks_in_iran: int, p: IranParams) -> float:
    """Posture score after a week with ``jaa_attacks_in_iran`` Jaish al-Adl attacks."""
    if p.posture_fixed:
        return score
    score += p.cooperation_per_jaa_attack * jaa_attacks_in_iran
    score -= np.sign(score) * min(abs(score), p.posture_drift)
    return float(np.clip(score, -1.0, 1.0))


def posture_name(score: float) -> str:
    """hostile, neutral or cooperative."""
    if score < -1 / 3:
        return "hostile"
    return "cooperative" if score > 1 / 3 else "neutral"


class IranState(Agent):
    """Iran as a state agent."""

    def __init__(self, model: CrisisModel, params: IranParams) -> None:
        super().__init__(model)
        self.params = params
        self.score = POSTURE_SCORE[params.initial_posture]
        self.strikes = np.zeros(len(model.places.ids))

    @property
    def posture(self) -> str:
        """Current posture name."""
        return posture_name(self.score)

    @property
    def denies_sanctuary(self) -> bool:
        """Joint border operations deny militants their sanctuary."""
        return self.posture == "cooperative"

    def step(self) -> None:
        """Update the posture, then strike across the border if hostile."""
        self.score = next_posture(self.score, self.model.last_week_jaa_attacks_in_iran, self.params)
        self.strikes[:] = 0.0
        if (
            self.posture == "hostile"
            and self.model.random.random() < self.params.strike_probability
        ):
            self.strike_across_border()

    def strike_across_border(self) -> None:
        """An air strike on a Pakistani border district: deaths and lost legitimacy."""
        m = self.model
        border = np.flatnonzero(m.places.borders_iran)
        place = int(border[m.random.randrange(len(border))])
        self.strikes[place] = 1.0
        m.record_civilian_deaths(place, int(m.rng.poisson(self.params.strike_civilians)))
