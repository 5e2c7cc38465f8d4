"""Shared runs for the mechanism tests: paired seeds, in-process, cached per module."""

from __future__ import annotations

from typing import Any

from sim.config import scenario_params
from sim.model import CrisisModel
from sim.record import ReplicateResult
from sim.runner import replicate_seed


def runs(
    scenario: str, overrides: dict[str, Any] | None, n: int, weeks: int
) -> list[ReplicateResult]:
    """``n`` replicates with the runner's seeds (0, i): paired across configurations."""
    params = scenario_params(scenario, overrides or {})
    return [
        CrisisModel(params, weeks=weeks, seed=replicate_seed(0, i), network=False).run()
        for i in range(n)
    ]
