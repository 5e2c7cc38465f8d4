"""The ABC distance: a module of its own, so that checking a stored calibration (its
behaviour fingerprint) does not import pyabc (~1.7 s)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ScaledDistance:
    """L1 distance over the observed statistics, each divided by its scale.

    A statistic with a half-width ``h`` (an observation known only as a range, such as an
    estimate) counts ``max(0, |x - y| - h)``: zero anywhere inside the range.
    """

    scales: Mapping[str, float]
    half_widths: Mapping[str, float] = field(default_factory=dict)

    def __call__(self, x: Mapping[str, Any], y: Mapping[str, Any]) -> float:
        total = 0.0
        for k, s in self.scales.items():
            gap = abs(float(x[k]) - float(y[k])) - self.half_widths.get(k, 0.0)
            total += max(gap, 0.0) / s
        return total
