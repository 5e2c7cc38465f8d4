"""Test functions with known answers, usable wherever the crisis model is (point functions).

They take ``(point, seed)`` like :class:`sim.explore.evaluate.CrisisOutcomes`, so the tests
of the sensitivity analysis and of scenario discovery run through the very code the model
uses, and compare what comes out with what is known analytically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sim.explore.space import Space, Uncertainty

ISHIGAMI_A = 7.0
ISHIGAMI_B = 0.1


def ishigami(point: Mapping[str, Any], seed: int = 0) -> dict[str, float]:
    """Ishigami & Homma (1990): ``sin x1 + a sin^2 x2 + b x3^4 sin x1`` on ``[-pi, pi]^3``."""
    x1, x2, x3 = (float(point[k]) for k in ("x1", "x2", "x3"))
    y = math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)
    return {"y": y}


def ishigami_space() -> Space:
    """The Ishigami function's inputs: three uniform variables on ``[-pi, pi]``."""
    return Space(tuple(Uncertainty(f"x{i}", "float", -math.pi, math.pi) for i in (1, 2, 3)))


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, dict[str, float]]:
    """Analytic first-order (S1) and total (ST) Sobol indices of the Ishigami function."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return {
        "S1": {"x1": v1 / var, "x2": v2 / var, "x3": 0.0},
        "ST": {"x1": (v1 + v13) / var, "x2": v2 / var, "x3": v13 / var},
    }


#: The box of :func:`box_indicator`: ``y = 1`` where ``0.2 <= x1 <= 0.5`` and ``x2 > 0.7``.
KNOWN_BOX = {"x1": (0.2, 0.5), "x2": (0.7, 1.0)}


def box_indicator(point: Mapping[str, Any], seed: int = 0) -> dict[str, float]:
    """``y = 1`` inside :data:`KNOWN_BOX` (any ``x3``), else 0: a known answer for PRIM."""
    x1, x2 = float(point["x1"]), float(point["x2"])
    inside = 0.2 <= x1 <= 0.5 and x2 > 0.7
    return {"y": 1.0 if inside else 0.0}


def box_space() -> Space:
    """Three uniform inputs on ``[0, 1]`` (``x3`` is irrelevant to :func:`box_indicator`)."""
    return Space(tuple(Uncertainty(f"x{i}", "float", 0.0, 1.0) for i in (1, 2, 3)))


def constant(point: Mapping[str, Any], seed: int = 0) -> dict[str, float]:
    """``y = 1`` everywhere: an outcome with no variance to share out."""
    return {"y": 1.0}
