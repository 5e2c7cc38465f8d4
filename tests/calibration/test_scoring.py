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


def test_hindcast_scores_known_answers_and_orientation() -> None:
    """A reviewer found the hindcast untested. A history 10, 12, 14, 16, 18 (steps of 2)
    and a 2024 value of 20: the random walk with drift centres exactly on it, persistence
    misses by 2, a perfect model ensemble scores 0 and beats every baseline, and a model
    forecast far off loses to them (negative skill)."""
    import pandas as pd

    from sim.calibration.diagnostics import hindcast_scores
    from sim.calibration.record import HeldOut
    from sim.calibration.scoring import crps_normal

    history = {2019: 10.0, 2020: 12.0, 2021: 14.0, 2022: 16.0, 2023: 18.0}
    h = HeldOut("x", "x in 2024", "x_y2", 20.0, history, "x_y1")
    good = pd.DataFrame({"x_y2": np.full(50, 20.0), "x_y1": np.full(50, 18.0)})
    far = pd.DataFrame({"x_y2": np.full(50, 60.0), "x_y1": np.full(50, 18.0)})
    refs = {"prior": pd.DataFrame({"x_y2": np.linspace(0, 40, 101)})}
    row = hindcast_scores(good, [h], references=refs).iloc[0]
    assert row["crps_model"] == 0.0 and row["interval_score_model"] == 0.0
    assert row["crps_persistence"] == 2.0
    assert row["crps_model_year1"] == 2.0  # its year 1 reused: 18
    assert row["crps_random_walk_drift"] == pytest.approx(crps_normal(20.0, 0.0, 20.0))
    assert row["crps_random_walk"] == pytest.approx(crps_normal(18.0, 0.0, 20.0))
    assert row["crps_prior"] == pytest.approx(10 - 40 / 6, rel=0.02)  # E|X-y| - E|X-X'|/2
    skills = [c for c in row.index if c.startswith("crps_skill_vs_")]
    assert {"crps_skill_vs_prior", "crps_skill_vs_poisson_recent"} <= set(skills)
    assert all(row[c] == 1.0 for c in skills if row[c.replace("skill_vs_", "")] > 0)
    bad = hindcast_scores(far, [h]).iloc[0]
    assert bad["crps_model"] == 40.0 and bad["crps_skill_vs_climatology"] < 0
    # the model against its own references, with intervals: year 1 (paired), the priors
    assert row["crps_model_minus_model_year1"] == -2.0
    assert row["crps_model_minus_model_year1_low"] == row["crps_model_minus_model_year1_high"]
    assert row["crps_model_minus_prior"] == pytest.approx(-row["crps_prior"])
    assert row["crps_model_minus_prior_low"] < row["crps_model_minus_prior_high"] < 0
    assert "crps_model_minus_prior" not in bad.index  # no references given
    assert bad["crps_model_low"] == bad["crps_model_high"] == 40.0


def test_crps_difference_interval_known_answers_and_coverage() -> None:
    """Two ensembles from one distribution differ in CRPS by noise alone: the 95% bootstrap
    interval of the difference covers 0 about 95% of the time (unpaired and paired). An
    ensemble at the observation against one far from it: the interval excludes 0, on the
    right side. An ensemble against itself, paired: exactly 0."""
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 1.0, 40)
    assert scoring.crps_difference_interval(x, x, 0.5, paired=True) == (0.0, 0.0)
    near, far = rng.normal(0.0, 1.0, 40), rng.normal(5.0, 1.0, 40)
    low, high = scoring.crps_difference_interval(near, far, 0.0, paired=False)
    assert low < high < 0  # near scores lower (better)
    alone = scoring.crps_difference_interval(near, [], 0.0, paired=False)
    assert alone[0] < scoring.crps_ensemble(near, 0.0) < alone[1]
    for paired in (False, True):
        covered = 0
        for trial in range(200):
            a, b = rng.poisson(8.0, 50), rng.poisson(8.0, 50)
            lo, hi = scoring.crps_difference_interval(
                a, b, 11.0, paired=paired, draws=400, seed=trial
            )
            covered += lo <= 0.0 <= hi
        assert 0.88 <= covered / 200 <= 0.995, (paired, covered)
    with pytest.raises(ValueError, match="paired"):
        scoring.crps_difference_interval(x, x[:5], 0.0, paired=True)
