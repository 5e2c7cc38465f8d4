"""The posterior predictive check's joint p-value on synthetic replicates with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.calibration.cli import _joint_text
from sim.calibration.diagnostics import MIN_JOINT_REPLICATES, joint_record_p
from sim.calibration.record import Observed

NAMES = ("attacks", "deaths", "militants_killed")
TRIALS = 500
REPLICATES = 80


def synthetic_replicates(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` exchangeable replicates of three statistics: two counts and a continuous one."""
    return np.column_stack(
        [rng.poisson(170, n), rng.poisson(280, n), rng.normal(300, 80, n)]
    ).astype(float)


def record_from(row: np.ndarray, half_width: float, centre_shift: float = 0.0) -> list[Observed]:
    """A record that is itself a replicate, its last statistic known as a range of half-width
    ``half_width`` centred ``centre_shift`` away from the replicate's value."""
    return [
        Observed(name, name, "", float(v), "test")
        if name != NAMES[-1]
        else Observed(name, name, "", float(v) + centre_shift, "test", half_width)
        for name, v in zip(NAMES, row, strict=True)
    ]


def leave_one_out_p(half_width: float, seed: int = 0, off_centre: bool = False) -> np.ndarray:
    """Joint p-values of records drawn like the replicates (one left out of each sample); with
    ``off_centre``, the range's centre anywhere within its half-width of the true value."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(TRIALS):
        x = synthetic_replicates(rng, REPLICATES + 1)
        sample = pd.DataFrame(x[1:], columns=list(NAMES))
        shift = rng.uniform(-half_width, half_width) if off_centre else 0.0
        out.append(joint_record_p(sample, record_from(x[0], half_width, shift)))
    return np.array(out)


def test_the_joint_p_with_a_range_statistic_keeps_its_level_wherever_the_truth_lies() -> None:
    """A record drawn like the replicates, one statistic known as a range (+/- 1 sd) that holds
    the true value anywhere: P(p < 0.1) must not exceed 0.1. Counting zero distance inside the
    range (from the record and between replicates) gave 0.12-0.21 off centre; discounting it
    from the record's distances only, mean p 0.80. Monte Carlo sd of P(p < 0.1) over 500
    trials at 0.1: about 0.013."""
    p = leave_one_out_p(half_width=80.0, off_centre=True)
    assert np.mean(p < 0.1) <= 0.1 + 0.02, np.mean(p < 0.1)
    assert np.mean(p < 0.05) <= 0.05 + 0.015, np.mean(p < 0.05)


def test_the_range_takes_the_value_with_the_largest_p() -> None:
    """The p of a range is the largest p of the values inside it (on a grid of 201 values, to
    one replicate's step), and at least the p at the true value when the range holds it."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = synthetic_replicates(rng, REPLICATES + 1)
        sample = pd.DataFrame(x[1:], columns=list(NAMES))
        shift = rng.uniform(-200, 200)
        p = joint_record_p(sample, record_from(x[0], 80.0, shift))
        grid = x[0, -1] + shift + np.linspace(-80.0, 80.0, 201)
        on_grid = [joint_record_p(sample, record_from(np.r_[x[0, :-1], v], 0.0)) for v in grid]
        assert max(on_grid) <= p <= max(on_grid) + 1 / REPLICATES
        if abs(shift) <= 80.0:
            assert p >= joint_record_p(sample, record_from(x[0], 0.0))


def test_the_joint_p_without_a_range_is_uniform_and_a_far_record_gets_a_small_p() -> None:
    p = leave_one_out_p(half_width=0.0, seed=1)
    assert abs(p.mean() - 0.5) < 0.05 and abs(np.mean(p < 0.1) - 0.1) < 0.04
    rng = np.random.default_rng(2)
    sample = pd.DataFrame(synthetic_replicates(rng, REPLICATES), columns=list(NAMES))
    far = record_from(np.array([260.0, 400.0, 650.0]), half_width=80.0)  # 7, 7 and 3.4 sd off
    assert joint_record_p(sample, far) < 0.02


def test_no_joint_p_with_too_few_replicates_or_a_missing_statistic() -> None:
    """Below MIN_JOINT_REPLICATES the record's distance is not like a replicate's (P(p < 0.05)
    was 0.34 at 5 replicates); a NaN statistic made p = 0 (NaN compares as False)."""
    rng = np.random.default_rng(4)
    x = synthetic_replicates(rng, REPLICATES + 1)
    record = record_from(x[0], 0.0)
    few = pd.DataFrame(x[1:MIN_JOINT_REPLICATES], columns=list(NAMES))
    assert np.isnan(joint_record_p(few, record))
    enough = pd.DataFrame(x[1 : MIN_JOINT_REPLICATES + 1], columns=list(NAMES))
    assert 0.0 < joint_record_p(enough, record) <= 1.0
    missing = pd.DataFrame(x[1:], columns=list(NAMES))
    missing.iloc[7, 1] = np.nan
    assert np.isnan(joint_record_p(missing, record))
    assert "no p" in _joint_text(float("nan")) and "p = 0.42" in _joint_text(0.42)
