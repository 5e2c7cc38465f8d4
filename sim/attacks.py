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
from dataclasses import dataclass
from random import Random

import numpy as np

from sim.params import AttackParams

TARGETS: tuple[str, ...] = ("chinese", "security", "infrastructure")
CHINESE, SECURITY, INFRASTRUCTURE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class AttackOutcome:
    """What one attack did."""

    success: bool
    interdicted: bool
    killed: int
    chinese_killed: int
    security_killed: int
    civilians_killed: int
    attackers_lost: int
    attackers_captured: int = 0


def guard_protection(guards: np.ndarray, nationals: np.ndarray, p: AttackParams) -> np.ndarray:
    """Share of attack success removed by guards: saturating in guards per national."""
    per_national = guards / np.maximum(nationals, 1.0)
    return p.protection_max * per_national / (per_national + p.guards_half_saturation)


def success_probability(
    target: int, protection: float, chinese_troops: bool, p: AttackParams
) -> float:
    """Chance an attempt that was not interdicted succeeds.

    ``protection`` (guards) and ``chinese_troops`` (troops guard this site) apply to
    Chinese targets only.
    """
    base = (p.success_chinese, p.success_security, p.success_infrastructure)[target]
    if target != CHINESE:
        return base
    residual = base * (1.0 - protection)
    if chinese_troops:
        residual *= 1.0 - p.chinese_troop_protection
    return residual


def vehicle_kill_probability(attackers: int, lethality: float) -> float:
    """Chance each person in the attacked vehicle dies: 1 - exp(-lethality x attackers)."""
    return 1.0 - math.exp(-lethality * attackers)


def _lost_attackers(
    rng: np.random.Generator, size: int, share: float, suicide_success: bool, p: AttackParams
) -> tuple[int, int]:
    """(lost, captured): suicide attackers die; others are lost with ``share``."""
    if suicide_success:
        return size, 0
    lost = int(rng.binomial(size, share))
    return lost, int(rng.binomial(lost, p.attacker_captured_share))


def resolve_attack(
    rnd: Random,
    rng: np.random.Generator,
    target: int,
    cell_size: int,
    p_success: float,
    p_interdiction: float,
    lethality: float,
    suicide: bool,
    chinese_exposed: float,
    p: AttackParams,
) -> AttackOutcome:
    """Draw the outcome of one attack by a cell of ``cell_size`` fighters.

    ``lethality`` is the group's multiplier; ``chinese_exposed`` the Chinese nationals in
    the attacked vehicle or compound (used for Chinese targets only).
    """
    if rnd.random() < p_interdiction:
        lost, captured = _lost_attackers(rng, cell_size, p.attacker_loss_interdicted, False, p)
        return AttackOutcome(False, True, 0, 0, 0, 0, lost, captured)
    if rnd.random() >= p_success:
        lost, captured = _lost_attackers(rng, cell_size, p.attacker_loss_failed, False, p)
        return AttackOutcome(False, False, 0, 0, 0, 0, lost, captured)
    chinese = security = civilians = 0
    if target == CHINESE:
        kill = vehicle_kill_probability(cell_size, p.lethality_chinese * lethality)
        chinese = int(rng.binomial(int(chinese_exposed), kill))
        escorts = int(rng.binomial(p.escorts_per_vehicle, kill))
        security = int(rng.binomial(escorts, p.escort_security_share))
        civilians = escorts - security
    else:
        per_attacker = p.lethality_security if target == SECURITY else p.lethality_infrastructure
        killed = int(rng.poisson(per_attacker * lethality * cell_size))
        share = p.security_victim_share if target == SECURITY else p.infrastructure_security_share
        security = int(rng.binomial(killed, share))
        civilians = killed - security
    lost, captured = _lost_attackers(rng, cell_size, p.attacker_loss_succeeded, suicide, p)
    killed = chinese + security + civilians
    return AttackOutcome(True, False, killed, chinese, security, civilians, lost, captured)
