"""Grievance and recruitment (Epstein 2002), targeting and attack outcomes."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sim import society
from sim.agents.militant_group import attack_reward, reinforce
from sim.attacks import CHINESE, SECURITY, AttackOutcome, resolve_attack, success_probability
from sim.params import AttackParams, LegitimacyParams, RecruitmentParams, TargetingParams


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
    assert harmed[0] == pytest.approx(0.5 - trusted.harm_sensitivity * 10)


def test_local_benefit_lowers_hardship_up_to_a_cap() -> None:
    p = LegitimacyParams(local_benefit_share=0.1, max_hardship_relief=0.5)
    h = society.relieved_hardship(
        np.array([0.8, 0.8]), np.array([0.0, 1e6]), np.array([1e5, 1e5]), p
    )
    assert h[0] == 0.8 and h[1] == pytest.approx(0.4)


def test_success_reinforces_and_failure_punishes_a_target() -> None:
    t = TargetingParams()
    q = [1.0, 1.0, 1.0]
    win = AttackOutcome(True, False, 3, 2, 1, 0, 0)
    loss = AttackOutcome(False, False, 0, 0, 0, 0, 1)
    q_win = reinforce(q, CHINESE, attack_reward(win, 1.0, t), t)
    q_loss = reinforce(q, CHINESE, attack_reward(loss, 1.0, t), t)
    assert q_win[CHINESE] / sum(q_win) > 1 / 3 > q_loss[CHINESE] / sum(q_loss)
    assert attack_reward(win, 5.0, t) > attack_reward(win, 0.0, t)  # publicity of Chinese victims
    assert min(reinforce([0.01] * 3, 0, -100.0, t)) >= t.min_propensity


def test_protection_and_chinese_troops_lower_success_on_chinese_targets_only() -> None:
    a = AttackParams()
    open_site = success_probability(CHINESE, 0.0, False, a)
    guarded = success_probability(CHINESE, 0.5, False, a)
    with_troops = success_probability(CHINESE, 0.5, True, a)
    assert open_site > guarded > with_troops
    assert success_probability(SECURITY, 0.9, True, a) == a.success_security


def test_attack_outcomes_respect_interdiction_suicide_and_victim_counts() -> None:
    a = AttackParams()
    rnd, rng = random.Random(0), np.random.default_rng(0)
    stopped = [resolve_attack(rnd, rng, SECURITY, 5, 1.0, 1.0, 1.0, False, 0, a) for _ in range(50)]
    assert all(o.interdicted and not o.success and o.killed == 0 for o in stopped)
    suicide = resolve_attack(rnd, rng, SECURITY, 7, 1.0, 0.0, 1.0, True, 0, a)
    assert suicide.success and suicide.attackers_lost == 7
    for _ in range(200):
        o = resolve_attack(rnd, rng, CHINESE, 10, 1.0, 0.0, 2.0, False, 3, a)
        assert o.chinese_killed <= 3  # never more Chinese victims than Chinese on site
        assert o.chinese_killed + o.security_killed + o.civilians_killed == o.killed


def test_severity_grows_with_cell_size() -> None:
    a = AttackParams()
    rnd, rng = random.Random(1), np.random.default_rng(1)

    def mean_killed(size: int) -> float:
        runs = [
            resolve_attack(rnd, rng, SECURITY, size, 1.0, 0.0, 1.0, False, 0, a) for _ in range(400)
        ]
        return float(np.mean([o.killed for o in runs]))

    assert mean_killed(10) == pytest.approx(10.0, rel=0.1)
    assert mean_killed(1) == pytest.approx(1.0, rel=0.2)
