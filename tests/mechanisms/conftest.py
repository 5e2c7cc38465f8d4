"""Shared runs for the mechanism tests: paired seeds, in-process, in the compiled engine
(identical to the Mesa model: ``tests/test_engine.py``)."""

from __future__ import annotations

from typing import Any

from sim.config import scenario_params
from sim.engine import run_replicate
from sim.record import ReplicateResult
from sim.runner import replicate_seed


def runs(
    scenario: str, overrides: dict[str, Any] | None, n: int, weeks: int
) -> list[ReplicateResult]:
    """``n`` replicates with the runner's seeds (0, i): paired across configurations."""
    params = scenario_params(scenario, overrides or {})
    return [run_replicate(params, weeks, replicate_seed(0, i)) for i in range(n)]
