"""Scoring rules against their closed forms and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from sim.calibration import scoring


@pytest.mark.parametrize(("mean", "sd", "y"), [(0.0, 1.0, 0.0), (2.0, 3.0, 4.0), (10.0, 0.5, 7.0)])
def test_ensemble_crps_of_a_large_normal_sample_matches_the_closed_form(mean, sd, y) -> None:
    x = np.random.default_rng(0).normal(mean, sd, 100_000)
    assert scoring.crps_ensemble(x, y) == pytest.approx(scoring.crps_normal(mean, sd, y), rel=0.01)


def test_normal_crps_closed_form_known_value() -> None:
    # CRPS(N(0,1), 0) = 2 phi(0) - 1/sqrt(pi) = (sqrt(2) - 1) / sqrt(pi)
    assert scoring.crps_normal(0.0, 1.0, 0.0) == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi))


def test_crps_of_a_point_forecast_is_the_absolute_error_and_by_hand_for_three() -> None:
    assert scoring.crps_ensemble([5.0], 3.0) == pytest.approx(2.0)
    x, y = np.array([5.0, 1.0, 2.0]), 3.0
    by_hand = np.mean(abs(x - y)) - 0.5 * np.mean(abs(x[:, None] - x[None, :]))
    assert scoring.crps_ensemble(x, y) == pytest.approx(by_hand)


def test_interval_score_width_plus_penalty() -> None:
    assert scoring.interval_score(1.0, 3.0, 2.0, alpha=0.1) == pytest.approx(2.0)
    assert scoring.interval_score(1.0, 3.0, 4.0, alpha=0.1) == pytest.approx(2.0 + 20.0)
    assert scoring.interval_score(1.0, 3.0, 0.5, alpha=0.2) == pytest.approx(2.0 + 5.0)
    with pytest.raises(ValueError):
        scoring.interval_score(3.0, 1.0, 2.0)


def test_a_sharper_calibrated_forecast_scores_better_and_skill_says_so() -> None:
    rng = np.random.default_rng(1)
    ys = rng.normal(0.0, 1.0, 400)
    sharp = np.mean([scoring.crps_normal(0.0, 1.0, y) for y in ys])
    vague = np.mean([scoring.crps_normal(0.0, 4.0, y) for y in ys])
    assert sharp < vague
    assert scoring.skill(sharp, vague) > 0 > scoring.skill(vague, sharp)
