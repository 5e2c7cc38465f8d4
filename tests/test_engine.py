"""The compiled engine and the Mesa model give identical results for the same seed.

Both call the same compiled rules on the same arrays and draw from one NumPy generator, so
equality is exact: every summary value, every weekly metric, every event row. A model whose
step deviates in one place (a perturbed rule) must be caught by the same comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.compiled import Calls, shuffled
from sim.config import scenario_names, scenario_params
from sim.engine import run_replicate, simulate
from sim.model import CrisisModel
from sim.record import ReplicateResult
from sim.runner import replicate_seed

WEEKS = 60


def differences(a: ReplicateResult, b: ReplicateResult) -> list[str]:
    """What differs between two replicates' outputs (empty when identical)."""
    out = [f"summary {k}" for k in a.summary if not _same(a.summary[k], b.summary[k])]
    out += [f"weekly {k}" for k in a.weekly if not np.array_equal(a.weekly[k], b.weekly[k])]
    out += [f"events {k}" for k in a.events if list(a.events[k]) != list(b.events[k])]
    return out


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and np.isnan(x):
        return isinstance(y, float) and bool(np.isnan(y))
    return bool(x == y)


@pytest.mark.parametrize("scenario", scenario_names())
def test_engine_equals_the_mesa_model_in_every_scenario(scenario: str) -> None:
    params = scenario_params(scenario)
    for i in range(2):
        seed = replicate_seed(0, i)
        mesa = CrisisModel(params, weeks=WEEKS, seed=seed, network=False).run()
        engine = run_replicate(params, WEEKS, seed)
        assert differences(mesa, engine) == [], (scenario, i)
        assert mesa.summary["attacks_total"] > 0  # not a vacuous equality


def test_simulate_names_both_backends_and_rejects_others() -> None:
    params = scenario_params("baseline")
    a, b = simulate(params, 8, 3, "compiled"), simulate(params, 8, 3, "mesa")
    assert differences(a, b) == []
    with pytest.raises(ValueError, match="choose one of compiled, mesa"):
        simulate(params, 8, 3, "fortran")


class _FixedOrderCalls(Calls):
    """A deliberately perturbed rule in the Mesa path only: groups act in table order."""

    def __call__(self, fn: Any, *args: Any) -> Any:
        if fn is shuffled:
            return np.arange(args[1])
        return super().__call__(fn, *args)


def test_the_comparison_catches_a_rule_perturbed_in_one_path() -> None:
    params = scenario_params("baseline")
    seed = replicate_seed(0, 0)
    model = CrisisModel(params, weeks=WEEKS, seed=seed, network=False)
    model.call = _FixedOrderCalls()
    perturbed = model.run()
    found = differences(perturbed, run_replicate(params, WEEKS, seed))
    assert "events group" in found and any(f.startswith("summary") for f in found)


def test_different_seeds_differ_and_the_same_seed_repeats() -> None:
    params = scenario_params("baseline")
    a, b, c = (run_replicate(params, WEEKS, s) for s in (5, 5, 6))
    assert differences(a, b) == []
    assert differences(a, c) != []
