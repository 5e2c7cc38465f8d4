"""Iran: a posture toward Baloch militancy on the shared border, in both directions.

Rules (seed; the January 2024 exchange of strikes; joint raids near Saravan, Nov 2024):
1. the posture is a score in [-1, 1]: hostile below -1/3, cooperative above 1/3;
2. each Jaish al-Adl attack inside Iran moves it two ways: toward cooperation as far as
   Pakistan is seen acting (its operation intensity), toward hostility as far as the
   group operates from Pakistani soil (its share of fighters in Pakistan);
3. without attacks it drifts back toward neutral (unless the scenario fixes it);
4. when hostile, Iran may strike militant hideouts across the border (civilian deaths,
   lost legitimacy); Pakistan may strike back (18 January 2024), after which both step
   back toward cooperation; when cooperative, joint border operations deny sanctuary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from sim.params import IranParams

if TYPE_CHECKING:
    from sim.model import CrisisModel

POSTURE_SCORE = {"hostile": -1.0, "neutral": 0.0, "cooperative": 1.0}


def next_posture(
    score: float,
    jaa_attacks_in_iran: int,
    pakistan_intensity: float,
    sanctuary_share: float,
    p: IranParams,
) -> float:
    """Posture score after a week with ``jaa_attacks_in_iran`` Jaish al-Adl attacks."""
    if p.posture_fixed:
        return score
    push = (
        p.cooperation_per_jaa_attack * pakistan_intensity
        - p.hostility_per_jaa_attack * sanctuary_share
    )
    score += push * jaa_attacks_in_iran
    score -= np.sign(score) * min(abs(score), p.posture_drift)
    return float(np.clip(score, -1.0, 1.0))


def after_exchange(score: float, p: IranParams) -> float:
    """A strike and a counter-strike: both sides step back (Jan 2024)."""
    if p.posture_fixed:
        return score
    return float(min(1.0, score + p.de_escalation_after_exchange))


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
        m = self.model
        self.score = next_posture(
            self.score,
            m.last_week_jaa_attacks_in_iran,
            m.pakistan.intensity,
            m.jaa_sanctuary_share(),
            self.params,
        )
        self.strikes[:] = 0.0
        if self.posture == "hostile" and m.random.random() < self.params.strike_probability:
            self.strike_across_border()

    def strike_across_border(self) -> None:
        """An Iranian strike on a Pakistani border district; Pakistan may strike back."""
        m = self.model
        border = np.flatnonzero(m.places.borders_iran)
        place = int(border[m.random.randrange(len(border))])
        self.strikes[place] = 1.0
        m.record_civilian_deaths(place, int(m.rng.poisson(self.params.strike_civilians)))
        if m.random.random() < self.params.retaliation_probability:
            target = int(np.flatnonzero(m.places.in_iran)[0])
            m.record_civilian_deaths(target, int(m.rng.poisson(self.params.strike_civilians)))
            self.score = after_exchange(self.score, self.params)
