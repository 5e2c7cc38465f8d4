"""Targets, protection and the outcome of one attack.

Severity scales with the size of the attacking cell (Johnson et al. 2006; Clauset &
Wiegel 2010): deaths ~ Poisson(lethality x cell size) when the attack succeeds.
Success falls with protection at the site (Pakistani guards, Chinese troops) and with
interdiction from intelligence (raised by joint operations).
"""

from __future__ import annotations

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


def guard_protection(guards: np.ndarray, nationals: np.ndarray, p: AttackParams) -> np.ndarray:
    """Share of attack success removed by guards: saturating in guards per national."""
    per_national = guards / np.maximum(nationals, 1.0)
    return p.protection_max * per_national / (per_national + p.guards_half_saturation)


def success_probability(
    target: int, protection: float, chinese_troops: bool, p: AttackParams
) -> float:
    """Chance an attempt that was not interdicted succeeds."""
    base = (p.success_chinese, p.success_security, p.success_infrastructure)[target]
    if target != CHINESE:
        return base
    residual = base * (1.0 - protection)
    if chinese_troops:
        residual *= 1.0 - p.chinese_troop_protection
    return residual


def resolve_attack(
    rnd: Random,
    rng: np.random.Generator,
    target: int,
    cell_size: int,
    p_success: float,
    p_interdiction: float,
    lethality: float,
    suicide: bool,
    nationals_on_site: float,
    p: AttackParams,
) -> AttackOutcome:
    """Draw the outcome of one attack by a cell of ``cell_size`` fighters."""
    if rnd.random() < p_interdiction:
        lost = int(rng.binomial(cell_size, p.attacker_loss_interdicted))
        return AttackOutcome(False, True, 0, 0, 0, 0, lost)
    if rnd.random() >= p_success:
        lost = int(rng.binomial(cell_size, p.attacker_loss_failed))
        return AttackOutcome(False, False, 0, 0, 0, 0, lost)
    killed = int(rng.poisson(lethality * cell_size))
    chinese = security = 0
    if target == CHINESE:
        chinese = min(int(rng.binomial(killed, p.chinese_victim_share)), int(nationals_on_site))
        security = int(rng.binomial(killed - chinese, 0.5))
    elif target == SECURITY:
        security = int(rng.binomial(killed, p.security_victim_share))
    else:
        security = int(rng.binomial(killed, p.infrastructure_security_share))
    lost = cell_size if suicide else int(rng.binomial(cell_size, p.attacker_loss_succeeded))
    return AttackOutcome(True, False, killed, chinese, security, killed - chinese - security, lost)
