"""Parameters: declared once, validated at the edge with one clear line."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sim.params import ModelParams, ParameterError, from_dict, iter_params, validate


def test_every_parameter_has_unit_and_rationale_and_default_within_bounds() -> None:
    infos = list(iter_params(ModelParams()))
    assert len(infos) > 80
    for info in infos:
        assert info.unit, info.path
        assert info.doc, info.path
    validate(ModelParams())


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (
            {"china": {"patience_loss_per_death": 1.5}},
            "china.patience_loss_per_death=1.5 is out of bounds",
        ),
        ({"pakistan": {"ssd_troops": -5}}, "pakistan.ssd_troops=-5 is out of bounds"),
        ({"china": {"nope": 1}}, "unknown parameter china.nope"),
        ({"iran": {"initial_posture": "friendly"}}, "choose one of hostile, neutral, cooperative"),
        ({"china": {"patience_recovery": "abc"}}, "expected a number"),
        ({"pakistan": {"accept_chinese_troops": "yes"}}, "expected true or false"),
        ({"china": {"hold_below": 0.9}}, "demand_below <= hold_below <= pressure_below"),
    ],
)
def test_bad_values_are_rejected_with_the_key_and_what_is_allowed(
    data: dict, fragment: str
) -> None:
    with pytest.raises(ParameterError) as err:
        from_dict(data)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_nested_values_are_applied() -> None:
    p = from_dict({"groups": {"majeed": {"lethality": 3.0}}, "china": {"joint_operations": True}})
    assert p.groups.majeed.lethality == 3.0 and p.china.joint_operations
    assert p.groups.bla.lethality == ModelParams().groups.bla.lethality


def test_one_changed_key_keeps_the_rest_of_that_groups_own_defaults() -> None:
    """Changing one Majeed Brigade key must not reset its squad cap, suicide flag or lethality
    to the generic group defaults (a bug that once gave 769-killed attacks)."""
    default = ModelParams().groups.majeed
    p = from_dict({"groups": {"majeed": {"attack_rate": 2.5}}})
    assert p.groups.majeed.attack_rate == 2.5
    assert p.groups.majeed.max_attackers == default.max_attackers
    assert p.groups.majeed.lethality == default.lethality
    assert p.groups.majeed.suicide_attacks == default.suicide_attacks
    assert p.groups.ttp == ModelParams().groups.ttp


def test_the_parameter_table_in_the_docs_is_current() -> None:
    """Regenerate with `python scripts/param_table.py` after changing sim/params.py."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "scripts"))
    from param_table import OUT, render

    assert OUT.read_text() == render()


class _Reads:
    """A parameter object that records the dotted path of every parameter read from it."""

    def __init__(self, obj: Any, seen: set[str], prefix: str = "") -> None:
        self._obj, self._seen, self._prefix = obj, seen, prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._obj, name)
        path = self._prefix + name
        if dataclasses.is_dataclass(value):
            return _Reads(value, self._seen, path + ".")
        self._seen.add(path)
        return value


def test_relation_parameters_are_exactly_what_check_relations_reads() -> None:
    """A calibration checks its ranges against the relations only where they set one of
    ``RELATION_PARAMETERS``: a relation reading another parameter would go unchecked."""
    from sim.params import RELATION_PARAMETERS, check_relations

    seen: set[str] = set()
    check_relations(_Reads(ModelParams(), seen))  # type: ignore[arg-type]
    assert seen == RELATION_PARAMETERS
