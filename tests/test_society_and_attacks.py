"""Grievance and recruitment (Epstein 2002), targeting and attack outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim import society
from sim.agents.militant_group import (
    attack_payoff,
    choice_probabilities,
    forget,
    initial_propensities,
    next_excitation,
    reinforce,
)
from sim.attacks import (
    CHINESE,
    INFRASTRUCTURE,
    SECURITY,
    Attack,
    AttackOutcome,
    resolve_attack,
    success_probability,
)
from tests.compiled_params import (
    AttackParams,
    EscalationParams,
    LegitimacyParams,
    RecruitmentParams,
    TargetingParams,
)


def test_grievance_is_hardship_times_illegitimacy() -> None:
    g = society.grievance(np.array([0.8, 0.5]), np.array([0.25, 1.0]))
    assert np.allclose(g, [0.6, 0.0])


def test_willing_share_matches_epstein_with_uniform_risk_aversion() -> None:
    # G - R P > T with R ~ U(0,1): share = (G - T) / P, clipped.
    share = society.willing_share(np.array([0.5, 0.05, 0.9]), np.array([0.8, 0.5, 0.1]), 0.1)
    assert np.allclose(share, [0.5, 0.0, 1.0])


def test_more_security_means_fewer_willing_recruits() -> None:
    p = RecruitmentParams()
    fighters = np.array([100.0, 100.0])
    p_arrest = society.arrest_probability(np.array([500.0, 5000.0]), fighters, p)
    assert p_arrest[1] > p_arrest[0]
    w = society.willing_share(np.array([0.4, 0.4]), p_arrest, p.threshold)
    assert w[1] < w[0]


def test_legitimacy_falls_with_harm_and_foreign_troops_scaled_by_distrust() -> None:
    base = np.array([0.5, 0.5])
    pop = np.array([1e5, 1e5])
    trusted = LegitimacyParams(public_trust_in_china=0.9)
    distrusted = LegitimacyParams(public_trust_in_china=0.1)
    troops = np.array([1.0, 0.0])
    a = society.update_legitimacy(base, base, np.zeros(2), pop, troops, np.zeros(2), trusted)
    b = society.update_legitimacy(base, base, np.zeros(2), pop, troops, np.zeros(2), distrusted)
    assert a[1] == b[1] == 0.5  # no troops, no change
    assert b[0] < a[0] < 0.5  # the US-like case costs more legitimacy than the China case
    harmed = society.update_legitimacy(
        base, base, np.array([10.0, 0]), pop, np.zeros(2), np.zeros(2), trusted
    )
    loss = society.harm_legitimacy_loss(np.array([10.0]), np.array([1e5]), trusted)[0]
    assert harmed[0] == pytest.approx(0.5 - loss) and loss > 0


def test_harm_costs_legitimacy_linearly_when_small_and_saturates_when_large() -> None:
    p = LegitimacyParams()
    pop = np.full(3, 1e5)
    small, big, huge = society.harm_legitimacy_loss(np.array([0.01, 100.0, 1e6]), pop, p)
    assert small == pytest.approx(p.harm_sensitivity * 0.01, rel=1e-2)
    assert small < big <= huge <= p.max_harm_loss
    # A small district is more sensitive per civilian, but one week can cost at most the cap.
    tiny = society.harm_legitimacy_loss(np.array([50.0]), np.array([1e3]), p)[0]
    assert tiny <= p.max_harm_loss


def test_local_benefit_lowers_hardship_up_to_a_cap() -> None:
    p = LegitimacyParams(local_benefit_share=0.1, max_hardship_relief=0.5)
    h = society.relieved_hardship(
        np.array([0.8, 0.8]), np.array([0.0, 1e6]), np.array([1e5, 1e5]), p
    )
    assert h[0] == 0.8 and h[1] == pytest.approx(0.4)


def _learn(payoffs: list[float], weeks: int, seed: int, t: object) -> np.ndarray:
    """A learner facing fixed per-target payoffs (scripted, Bernoulli success 0.5)."""
    rng = np.random.default_rng(seed)
    q = initial_propensities(1.0, t, 1.0)
    for _ in range(weeks):
        forget(q, t)
        for _ in range(3):
            probs = choice_probabilities(q, t)
            j = int(rng.choice(3, p=probs))
            reinforce(q, j, payoffs[j] if rng.random() < 0.5 else 0.0)
            assert q.min() >= 0.0  # no propensity is ever negative
    return choice_probabilities(q, t)


EVEN = {"prior_chinese": 1.0, "prior_security": 1.0, "prior_infrastructure": 1.0}


def test_a_target_that_always_pays_more_ends_up_preferred() -> None:
    t = TargetingParams(initial_strength=5.0, forgetting=0.05, **EVEN)
    shares = _learn([3.0, 1.0, 1.0], weeks=300, seed=1, t=t)
    assert shares[CHINESE] > max(shares[SECURITY], shares[INFRASTRUCTURE])
    assert shares[CHINESE] > 0.5  # from a third at the start


def test_a_constant_added_to_all_payoffs_keeps_the_ranking() -> None:
    t = TargetingParams(initial_strength=5.0, forgetting=0.05, experimentation=0.05, **EVEN)
    for shift in (0.0, 5.0):
        runs = [_learn([1.0 + shift, 2.0 + shift, 0.5 + shift], 300, s, t) for s in range(8)]
        shares = np.mean(runs, axis=0)
        assert shares[SECURITY] > shares[CHINESE] > shares[INFRASTRUCTURE]


def test_failure_pays_the_minimum_and_never_reinforces_negatively() -> None:
    t = TargetingParams()
    assert attack_payoff(False, 0, CHINESE, 5.0, False, t) == 0.0  # a failure
    assert attack_payoff(True, 2, CHINESE, 5.0, False, t) > attack_payoff(
        True, 2, CHINESE, 0.0, False, t
    )
    q = np.array([0.1, 0.2, 0.3])
    reinforce(q, 0, -100.0)
    assert q.tolist() == [0.1, 0.2, 0.3]  # a negative reinforcement is clipped, never subtracted


def test_experimentation_is_mixed_into_the_choice_not_a_floor() -> None:
    t = TargetingParams(experimentation=0.3)
    probs = choice_probabilities(np.array([0.0, 10.0, 0.0]), t)
    assert probs == pytest.approx([0.1, 0.8, 0.1])
    # Scaling every propensity (forgetting, a common cost) leaves the choice unchanged.
    assert choice_probabilities(np.array([2.0, 6.0, 2.0]), t) == pytest.approx(
        choice_probabilities(np.array([0.2, 0.6, 0.2]), t)
    )


def test_provocation_payoff_only_for_chinese_targets_while_troops_guard() -> None:
    t = TargetingParams(foreign_troop_provocation=2.0)
    base = attack_payoff(True, 0, CHINESE, 0.0, False, t)
    assert attack_payoff(True, 0, CHINESE, 0.0, True, t) == base + 2.0
    assert attack_payoff(True, 0, SECURITY, 0.0, True, t) == base


def test_excitation_kernel_has_the_declared_branching_ratio() -> None:
    p = EscalationParams(branching_ratio=0.6, memory=0.5)
    e, total = next_excitation(0.0, 1.0, 0.0, p), 0.0
    for _ in range(200):
        total += e
        e = next_excitation(e, 0.0, 0.0, p)
    assert total == pytest.approx(0.6)  # one attempt triggers 0.6 attempts in expectation


def test_protection_and_chinese_troops_lower_success_on_chinese_targets_only() -> None:
    a = AttackParams()
    open_site = success_probability(CHINESE, 0.0, 0.0, a)
    guarded = success_probability(CHINESE, 0.5, 0.0, a)
    part_troops = success_probability(CHINESE, 0.5, 0.4, a)
    with_troops = success_probability(CHINESE, 0.5, 1.0, a)
    assert open_site > guarded > part_troops > with_troops  # partial cover protects partly
    assert success_probability(SECURITY, 0.9, 1.0, a) == a.success_security


def test_attack_outcomes_respect_interdiction_suicide_and_victim_counts() -> None:
    a = AttackParams()
    rng = np.random.default_rng(0)

    def attack(*args: Any) -> AttackOutcome:
        return resolve_attack(rng, Attack(*args), a)

    stopped = [attack(SECURITY, 5, 1.0, 1.0, 1.0, False, 0.0) for _ in range(50)]
    assert all(o.interdicted and not o.success and o.killed == 0 for o in stopped)
    assert all(0 <= o.attackers_captured <= o.attackers_lost for o in stopped)
    suicide = attack(SECURITY, 7, 1.0, 0.0, 1.0, True, 0.0)
    assert suicide.success and suicide.attackers_lost == 7 and suicide.attackers_captured == 0
    for _ in range(200):
        o = attack(CHINESE, 10, 1.0, 0.0, 2.0, False, 3.0)
        assert o.chinese_killed <= 3  # never more Chinese victims than in the vehicle
        assert o.killed - o.chinese_killed <= a.escorts_per_vehicle
        assert o.chinese_killed + o.security_killed + o.civilians_killed == o.killed


def test_severity_grows_with_cell_size_and_depends_on_the_target() -> None:
    a = AttackParams()
    rng = np.random.default_rng(1)

    def mean_killed(target: int, size: int) -> float:
        attack = Attack(target, size, 1.0, 0.0, 1.0, False, 3.0)
        runs = [resolve_attack(rng, attack, a) for _ in range(400)]
        return float(np.mean([o.killed for o in runs]))

    assert mean_killed(SECURITY, 10) == pytest.approx(10 * a.lethality_security, rel=0.1)
    assert mean_killed(SECURITY, 1) == pytest.approx(a.lethality_security, rel=0.2)
    assert mean_killed(INFRASTRUCTURE, 10) < mean_killed(SECURITY, 10)
    # Chinese targets: bounded by the vehicle (3 Chinese + escorts), whatever the squad.
    assert mean_killed(CHINESE, 50) <= 3 + a.escorts_per_vehicle


def test_chinese_targets_weigh_by_the_nationals_at_a_place() -> None:
    """Where a group that chose a Chinese target may strike: in proportion to the Chinese
    nationals at each place (none where there are none), security and infrastructure targets
    everywhere; a withdrawal that empties a site takes it off the map."""
    from sim.params import ModelParams
    from sim.space import load_places
    from sim.week import start, update_targets

    s = start(ModelParams(), seed=1)
    nationals = load_places().chinese_nationals.astype(float)
    np.testing.assert_array_equal(s.world.availability[CHINESE], nationals)
    assert (s.world.availability[SECURITY] == 1).all()
    assert (s.world.availability[INFRASTRUCTURE] == 1).all()
    karachi = int(np.argmax(nationals))
    s.world.chinese_nationals[karachi] = 0.0
    update_targets(s.world, s.params.targeting)
    assert s.world.availability[CHINESE, karachi] == 0.0
    assert s.world.availability[CHINESE].sum() == nationals.sum() - nationals[karachi]


def test_attacks_on_chinese_targets_go_where_the_nationals_are() -> None:
    """Baseline, 100 replicates: Karachi (4,000 nationals) draws more attempts on Chinese
    targets than Quetta (50), though the Baloch groups are strong in Quetta and weak in
    Karachi; where any national counted alike, Quetta drew ten times Karachi's (helper-139:
    1.06 against 0.11 a replicate)."""
    from sim.engine import run_replicate
    from sim.params import ModelParams

    events = [run_replicate(ModelParams(), 104, seed).events for seed in range(100)]
    target = np.concatenate([np.asarray(e["target"]) for e in events])
    district = np.concatenate([np.asarray(e["district"]) for e in events])
    at = {p: int(((target == "chinese") & (district == p)).sum()) for p in ("karachi", "quetta")}
    assert at["karachi"] > 1.5 * at["quetta"], at
