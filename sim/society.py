"""Grievance, legitimacy and recruitment in the places (Epstein 2002, PNAS 99 suppl. 3).

Epstein's rule for one resident: active if ``G - R * P > T`` with grievance
``G = H (1 - L)`` and estimated arrest probability ``P = 1 - exp(-k C/A)``. With risk
aversion ``R ~ U(0, 1)`` across residents, the share of a place willing to join is
``clip((G - T) / P, 0, 1)``; a small, calibrated rate of them actually joins each week.
"""

from __future__ import annotations

import numpy as np

from sim.params import LegitimacyParams, RecruitmentParams


def grievance(hardship: np.ndarray, legitimacy: np.ndarray) -> np.ndarray:
    """Epstein's grievance G = H (1 - L)."""
    return hardship * (1.0 - legitimacy)


def arrest_probability(
    security: np.ndarray, fighters: np.ndarray, p: RecruitmentParams
) -> np.ndarray:
    """Perceived arrest risk P = 1 - exp(-k C / (A c_ref)): C security, A active fighters."""
    ratio = security / ((fighters + 1.0) * p.security_per_fighter_ref)
    return 1.0 - np.exp(-p.arrest_constant * ratio)


def willing_share(g: np.ndarray, p_arrest: np.ndarray, threshold: float) -> np.ndarray:
    """Share of residents with G - R P > T when R ~ U(0,1): clip((G - T)/P, 0, 1)."""
    excess = g - threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(p_arrest > 0, excess / np.maximum(p_arrest, 1e-12), np.inf)
    return np.clip(np.where(excess > 0, share, 0.0), 0.0, 1.0)


def expected_recruits(
    willing: np.ndarray, population: np.ndarray, p: RecruitmentParams
) -> np.ndarray:
    """Expected recruits per week by place: rate x willing residents (millions)."""
    return p.recruits_per_million_willing * willing * population / 1e6


def update_legitimacy(
    legitimacy: np.ndarray,
    baseline: np.ndarray,
    civilian_harm: np.ndarray,
    population: np.ndarray,
    foreign_troops_seen: np.ndarray,
    strikes: np.ndarray,
    p: LegitimacyParams,
) -> np.ndarray:
    """One week of legitimacy: slow recovery, losses to harm, foreign troops and strikes.

    Harm costs ``harm_sensitivity`` per civilian harmed per 100k residents while small,
    saturating at ``max_harm_loss`` a week, so a few incidents cannot wipe out a small
    district's legitimacy. Foreign troops cost legitimacy in proportion to distrust of the
    foreign power (the seed's contrast: China is trusted where the US was not).
    """
    recovered = legitimacy + p.recovery_rate * (baseline - legitimacy)
    harm_loss = harm_legitimacy_loss(civilian_harm, population, p)
    troop_loss = p.foreign_troop_cost * (1.0 - p.public_trust_in_china) * foreign_troops_seen
    strike_loss = p.iran_strike_cost * strikes
    return np.clip(recovered - harm_loss - troop_loss - strike_loss, 0.0, 1.0)


def harm_legitimacy_loss(
    civilian_harm: np.ndarray, population: np.ndarray, p: LegitimacyParams
) -> np.ndarray:
    """Legitimacy lost to civilian harm: linear when small, saturating at ``max_harm_loss``."""
    per_100k = civilian_harm / (population / 1e5)
    return p.max_harm_loss * (1.0 - np.exp(-p.harm_sensitivity * per_100k / p.max_harm_loss))


def relieved_hardship(
    base_hardship: np.ndarray,
    deployed_usd_m: np.ndarray,
    population: np.ndarray,
    p: LegitimacyParams,
) -> np.ndarray:
    """Hardship lowered by the local benefit of deployed capital (per resident, capped)."""
    per_capita_k = deployed_usd_m * 1e3 / population  # USD thousand per resident
    relief = np.minimum(p.max_hardship_relief, p.local_benefit_share * per_capita_k)
    return base_hardship * (1.0 - relief)
