"""Targets, protection and the outcome of one attack, by target class.

Severity scales with the size of the attacking cell (Johnson et al. 2006; Clauset &
Wiegel 2010), and depends on what is attacked:

* security forces and infrastructure: killed ~ Poisson(lethality of the class x the
  group's multiplier x attackers) -- the heavy tail comes from the cell sizes;
* Chinese nationals: the attack hits one vehicle or compound with a bounded number of
  Chinese and Pakistani escorts on board (``chinese_per_vehicle`` of the place, from the
  record); each is killed with probability ``1 - exp(-lethality x attackers)``.

Success falls with protection at Chinese sites only (Pakistani guards, Chinese troops:
hardening one target class, Enders & Sandler 1993) and with interdiction from
intelligence, a cost common to every target (raised by joint operations).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from sim import draws
from sim.compiled import PlaceValues, inlined_rule, rule
from sim.record import TARGET_NAMES

TARGETS: tuple[str, ...] = TARGET_NAMES
CHINESE, SECURITY, INFRASTRUCTURE = 0, 1, 2


class Attack(NamedTuple):
    """One attack as it is launched: what is attacked, by how many, and its odds."""

    target: int  # CHINESE, SECURITY or INFRASTRUCTURE
    attackers: int  # the squad: the attacking cell, capped at the group's largest squad
    p_success: float  # chance it succeeds if not interdicted
    p_interdiction: float  # chance it is stopped before it starts
    lethality: float  # the group's multiplier of the target class's lethality
    suicide: bool  # do the attackers die when it succeeds
    chinese_exposed: float  # Chinese nationals in the attacked vehicle (Chinese targets)


class AttackOutcome(NamedTuple):
    """What one attack did (every field is given: compiled code does not fill defaults)."""

    success: bool
    interdicted: bool
    killed: int
    chinese_killed: int
    security_killed: int
    civilians_killed: int
    attackers_lost: int
    attackers_captured: int


@inlined_rule
def guard_protection(guards: PlaceValues, nationals: PlaceValues, p: Any) -> PlaceValues:
    """Share of attack success removed by guards: saturating in guards per national."""
    per_national = guards / np.maximum(nationals, 1.0)
    return p.protection_max * per_national / (per_national + p.guards_half_saturation)


@rule
def success_probability(target: int, protection: float, troop_cover: float, p: Any) -> float:
    """Chance an attempt that was not interdicted succeeds.

    ``protection`` (guards) and ``troop_cover`` (share of a full troop detachment at this
    site, 0-1) apply to Chinese targets only.
    """
    if target == SECURITY:
        return p.success_security
    if target == INFRASTRUCTURE:
        return p.success_infrastructure
    residual = p.success_chinese * (1.0 - protection)
    return residual * (1.0 - p.chinese_troop_protection * troop_cover)


@rule
def interdiction_probability(joint_operations: bool, p: Any) -> float:
    """Chance an attempt is stopped before it starts: a cost common to every target,
    raised by joint intelligence while joint operations run."""
    joint = p.joint_intel_interdiction if joint_operations else 0.0
    return min(1.0, p.interdiction_base + joint)


@rule
def vehicle_kill_probability(attackers: int, lethality: float) -> float:
    """Chance each person in the attacked vehicle dies: 1 - exp(-lethality x attackers)."""
    return 1.0 - math.exp(-lethality * attackers)


@rule
def lost_attackers(
    rng: np.random.Generator, size: int, share: float, suicide_success: bool, p: Any
) -> tuple[int, int]:
    """(lost, captured): suicide attackers die; others are lost with ``share``."""
    if suicide_success:
        return size, 0
    lost = draws.binomial(rng, size, share)
    return lost, draws.binomial(rng, lost, p.attacker_captured_share)


@rule
def resolve_attack(rng: np.random.Generator, attack: Attack, p: Any) -> AttackOutcome:
    """Draw the outcome of one attack: interdicted, failed, or its victims by class."""
    n = attack.attackers
    if draws.uniform(rng) < attack.p_interdiction:
        lost, captured = lost_attackers(rng, n, p.attacker_loss_interdicted, False, p)
        return AttackOutcome(False, True, 0, 0, 0, 0, lost, captured)
    if draws.uniform(rng) >= attack.p_success:
        lost, captured = lost_attackers(rng, n, p.attacker_loss_failed, False, p)
        return AttackOutcome(False, False, 0, 0, 0, 0, lost, captured)
    chinese = security = civilians = 0
    if attack.target == CHINESE:
        kill = vehicle_kill_probability(n, p.lethality_chinese * attack.lethality)
        chinese = draws.binomial(rng, int(attack.chinese_exposed), kill)
        escorts = draws.binomial(rng, p.escorts_per_vehicle, kill)
        security = draws.binomial(rng, escorts, p.escort_security_share)
        civilians = escorts - security
    else:
        if attack.target == SECURITY:
            per_attacker, share = p.lethality_security, p.security_victim_share
        else:
            per_attacker, share = p.lethality_infrastructure, p.infrastructure_security_share
        killed = draws.poisson(rng, per_attacker * attack.lethality * n)
        security = draws.binomial(rng, killed, share)
        civilians = killed - security
    lost, captured = lost_attackers(rng, n, p.attacker_loss_succeeded, attack.suicide, p)
    killed = chinese + security + civilians
    return AttackOutcome(True, False, killed, chinese, security, civilians, lost, captured)
