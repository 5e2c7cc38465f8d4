"""Pakistan's and Iran's rules, each against scripted inputs."""

from __future__ import annotations

import itertools

import numpy as np

from sim.agents.iran import after_exchange, next_posture, posture_name
from sim.agents.pakistan import (
    acceptance_probability,
    allocate_guards,
    operation_intensity,
    pakistan_week,
    removal_probability,
    troop_coverage,
)
from sim.rules.pakistan import intensity_by_place, routine_intensity
from tests.compiled_params import ChinaParams, IranParams, PakistanParams


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


def test_removal_probability_grows_with_intensity_and_joint_ops() -> None:
    p = PakistanParams()
    i = np.array([0.0, 0.5, 1.0])
    base = removal_probability(i, False, p)
    assert base[0] == 0 and base[1] < base[2]
    assert np.all(removal_probability(i, True, p)[1:] > base[1:])


def test_officer_resistance_lowers_acceptance_on_a_continuous_scale() -> None:
    chances = [
        acceptance_probability(PakistanParams(officer_resistance=r))
        for r in (0.0, 0.3, 0.7, 0.95, 1.0)
    ]
    assert all(a > b for a, b in itertools.pairwise(chances))
    assert chances[-1] == 0.0


def test_troops_cover_the_sites_with_most_nationals_while_they_last() -> None:
    nationals = np.array([50.0, 4000.0, 0.0, 500.0, 1000.0])
    cover = [troop_coverage(nationals, ChinaParams(troops_available=t)) for t in (0, 100, 300)]
    assert not cover[0].any()
    assert cover[1].tolist() == [False, True, False, False, False]
    assert cover[2].tolist() == [False, True, False, True, True]
    everyone = troop_coverage(nationals, ChinaParams(troops_available=100000))
    assert everyone.tolist() == [True, True, False, True, True]  # no troops where no Chinese


def test_jaish_attacks_move_iran_toward_cooperation_when_pakistan_acts() -> None:
    p = IranParams()
    score = 0.0
    for _ in range(10):
        score = next_posture(score, 2, 1.0, 0.0, p)
    assert posture_name(score) == "cooperative"
    for _ in range(100):
        score = next_posture(score, 0, 1.0, 0.0, p)
    assert score == 0.0 and posture_name(score) == "neutral"


def test_jaish_attacks_from_pakistani_sanctuaries_push_iran_to_hostility() -> None:
    """January 2024: attacks in Iran from Pakistani soil -> Iranian strike -> exchange."""
    p = IranParams()
    score = 0.0
    for _ in range(4):
        score = next_posture(score, 2, 0.3, 0.8, p)
    assert posture_name(score) == "hostile"
    assert after_exchange(score, p) > score  # a strike and a counter-strike, then a step back


def test_fixed_posture_never_moves() -> None:
    p = IranParams(posture_fixed=True)
    assert next_posture(-1.0, 50, 1.0, 1.0, p) == -1.0
    assert after_exchange(-1.0, p) == -1.0


def test_routine_intensity_is_the_intensity_without_a_decisive_operation() -> None:
    p = PakistanParams(decisive_operation_week=1)
    assert routine_intensity(2, 5, p) == operation_intensity(0, 2, 5, p)
    assert operation_intensity(1, 2, 5, p) == routine_intensity(2, 5, p) + p.decisive_boost


def test_a_decisive_operation_steps_up_the_tempo_in_balochistan_only() -> None:
    """The Apex Committee ordered it in Balochistan: Karachi and the KP project sites keep
    the routine tempo (a review found the whole of Pakistan stepped up, the TTP included)."""
    from sim.config import scenario_params
    from sim.space import load_places
    from sim.week import start
    from sim.world import INTENSITY, ROUTINE, WEEK

    s = start(scenario_params("decisive_operation"), seed=1)
    s.world.s[WEEK] = 1
    pakistan_week(s.rng, s.world, s.places, s.groups, s.params)
    level = dict(zip(load_places().ids, intensity_by_place(s.world, s.places), strict=True))
    boost = s.params.pakistan.decisive_boost
    assert s.world.s[INTENSITY] == s.world.s[ROUTINE] + boost
    assert level["quetta"] == level["gwadar"] == s.world.s[INTENSITY]
    assert level["karachi"] == level["dasu"] == level["rashakai"] == s.world.s[ROUTINE]


def _replicates(scenario: str, overrides: dict[str, object]) -> list[object]:
    from sim.config import scenario_params
    from sim.engine import run_replicate

    params = scenario_params(scenario, overrides)
    return [run_replicate(params, 104, seed).summary for seed in range(12)]


def test_pakistan_draws_whether_to_yield_only_while_something_is_left_to_yield() -> None:
    """With troops and joint operations both imposed (full_pressure) yielding would bring
    nothing, so how readily Pakistan yields changes no run (its draw used to reshuffle the
    run's luck); with only joint operations imposed it still brings troops, and changes runs."""
    never, always = {"pakistan.acceptance_rate": 0.0}, {"pakistan.acceptance_rate": 1.0}
    assert _replicates("full_pressure", never) == _replicates("full_pressure", always)
    assert _replicates("joint_operation", never) != _replicates("joint_operation", always)


def test_pakistan_s_tempo_answers_the_attacks_of_its_reaction_window() -> None:
    """``pakistan.reaction_weeks`` (the rule had 4 written in, helper-174): each week's
    intensity in Balochistan is the routine tempo, China's pressure and the attacks of the
    last ``reaction_weeks`` weeks (capped at 1), in the engine and the Mesa model alike."""
    from sim.config import with_overrides
    from sim.engine import run_replicate
    from sim.model import CrisisModel
    from sim.params import ModelParams, iter_params
    from sim.world import HISTORY

    info = {i.path: i for i in iter_params(ModelParams())}["pakistan.reaction_weeks"]
    bounds = info.bounds
    assert bounds is not None and bounds[1] <= HISTORY  # never past the weeks remembered
    tempi = {}
    for k in (1, 4, 8):
        p = with_overrides(ModelParams(), {"pakistan.reaction_weeks": k})
        w = run_replicate(p, 40, 3).weekly
        attacks = np.asarray(w["attacks"], dtype=float)
        earlier = np.array([attacks[max(0, i - k) : i].sum() for i in range(attacks.size)])
        pk = p.pakistan
        expected = np.minimum(
            1.0,
            pk.base_intensity
            + pk.intensity_per_china_level * np.asarray(w["china_level"])
            + pk.intensity_per_attack * earlier,
        )
        np.testing.assert_allclose(w["operation_intensity"], expected, rtol=0, atol=1e-12)
        mesa = CrisisModel(p, weeks=40, seed=3).run().weekly["operation_intensity"]
        np.testing.assert_array_equal(mesa, w["operation_intensity"])
        tempi[k] = float(np.mean(w["operation_intensity"]))
    assert tempi[1] < tempi[4] < tempi[8]
