"""Pakistan's and Iran's rules, each against scripted inputs."""

from __future__ import annotations

import numpy as np

from sim.agents.iran import next_posture, posture_name
from sim.agents.pakistan import allocate_guards, operation_intensity, removal_probability
from sim.params import IranParams, PakistanParams


def test_intensity_rises_with_pressure_attacks_and_a_decisive_operation() -> None:
    p = PakistanParams(decisive_operation_week=10)
    calm = operation_intensity(5, 0, 0, p)
    assert calm == p.base_intensity
    assert operation_intensity(5, 2, 0, p) > calm
    assert operation_intensity(5, 0, 10, p) > calm
    assert operation_intensity(10, 0, 0, p) == calm + p.decisive_boost
    assert operation_intensity(10, 3, 1000, p) == 1.0  # capped


def test_guards_follow_nationals_and_recent_attacks() -> None:
    nationals = np.array([100.0, 100.0, 0.0])
    even = allocate_guards(1000, nationals, np.zeros(3))
    assert np.allclose(even, [500, 500, 0])
    tilted = allocate_guards(1000, nationals, np.array([1.0, 0.0, 0.0]))
    assert tilted[0] > tilted[1] and tilted.sum() == 1000 and tilted[2] == 0


def test_removal_probability_grows_with_intensity_joint_ops_and_sanctuary_denial() -> None:
    p = PakistanParams()
    i = np.array([0.0, 0.5, 1.0])
    base = removal_probability(i, np.zeros(3), False, p)
    assert base[0] == 0 and base[1] < base[2]
    assert np.all(removal_probability(i, np.zeros(3), True, p)[1:] > base[1:])
    assert np.all(removal_probability(i, np.full(3, 0.02), False, p) > base)


def test_jaish_attacks_move_iran_toward_cooperation_then_it_drifts_back() -> None:
    p = IranParams()
    score = 0.0
    for _ in range(10):
        score = next_posture(score, 2, p)
    assert posture_name(score) == "cooperative"
    for _ in range(100):
        score = next_posture(score, 0, p)
    assert score == 0.0 and posture_name(score) == "neutral"


def test_fixed_posture_never_moves() -> None:
    p = IranParams(posture_fixed=True)
    assert next_posture(-1.0, 50, p) == -1.0
