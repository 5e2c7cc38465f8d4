"""Study files and uncertainty spaces: keys, ranges and values are checked against sim/params.py."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sim.config import scenario_params
from sim.explore.evaluate import CrisisOutcomes
from sim.explore.space import (
    Space,
    StudyError,
    Uncertainty,
    check_points,
    default_study_path,
    load_study,
    parameter_uncertainty,
)


def _study(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("name", ["sensitivity", "discovery"])
def test_shipped_study_files_load(name: str) -> None:
    study = load_study(default_study_path(name))
    assert len(study.space) >= 5 and study.scenario == "baseline"
    assert study.replicates >= 1 and study.description
    if name == "sensitivity":
        assert all(u.numeric for u in study.space.uncertainties) and study.outcomes
    else:
        assert study.where and study.samples
        assert any(not u.numeric for u in study.space.uncertainties)


def test_range_outside_declared_bounds_is_one_line() -> None:
    with pytest.raises(StudyError) as err:
        parameter_uncertainty("china.initial_patience", [0.3, 1.5])
    msg = str(err.value)
    assert "\n" not in msg
    assert "china.initial_patience" in msg and "outside its bounds 0 to 1" in msg


@pytest.mark.parametrize(
    ("key", "declared", "needle"),
    [
        ("china.initial_patienc", [0.1, 0.2], "did you mean 'china.initial_patience'"),
        ("china.initial_patience", [0.5, 0.2], "needs low < high"),
        ("china.initial_patience", [0.1, "x"], "expected a range"),
        ("china.initial_patience", 0.3, "expected a list"),
        ("pakistan.ssd_troops", [100.5, 2000], "whole-number"),
        ("pakistan.accept_chinese_troops", [False, "yes"], "not allowed"),
        ("pakistan.accept_chinese_troops", [True, True], "two different values"),
        ("iran.initial_posture", ["neutral", "friendly"], "choose from hostile"),
    ],
)
def test_bad_declarations_name_the_problem(key: str, declared: object, needle: str) -> None:
    with pytest.raises(StudyError, match=needle):
        parameter_uncertainty(key, declared)


def test_switches_and_choices_become_categorical() -> None:
    u = parameter_uncertainty("pakistan.accept_chinese_troops", [False, True])
    assert u.kind == "categorical" and u.values == (False, True)
    v = parameter_uncertainty("iran.initial_posture", ["hostile", "cooperative"])
    assert v.from_unit(np.array([0.0, 0.49, 0.5, 1.0])) == [
        "hostile",
        "hostile",
        "cooperative",
        "cooperative",
    ]


def test_whole_number_ranges_cover_every_value_evenly() -> None:
    u = Uncertainty("k", "int", 2, 5)
    values = u.from_unit(np.linspace(0, 1, 4000, endpoint=False))
    assert sorted(set(values)) == [2, 3, 4, 5]
    assert all(isinstance(v, int) for v in values)
    assert max(values.count(k) for k in range(2, 6)) == 1000


def test_study_file_errors(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="unknown setting 'replicate'"):
        load_study(_study(tmp_path, "replicate: 3\nuncertainties: {china.hold_below: [0.3, 0.4]}"))
    with pytest.raises(StudyError, match="unknown scenario 'nope'"):
        load_study(_study(tmp_path, "scenario: nope\nuncertainties: {a.b: [0, 1]}"))
    # a stranger: a bad count did not name the file it came from
    bad = _study(tmp_path, "weeks: many\nuncertainties: {china.hold_below: [0.3, 0.4]}")
    with pytest.raises(StudyError, match=f"^{re.escape(str(bad))}: weeks: 'many' is not allowed"):
        load_study(bad)
    with pytest.raises(StudyError, match="no uncertainties"):
        load_study(_study(tmp_path, "scenario: baseline\n"))
    with pytest.raises(StudyError, match="both an uncertainty and an override"):
        load_study(
            _study(
                tmp_path,
                "overrides: {china.hold_below: 0.3}\n"
                "uncertainties: {china.hold_below: [0.25, 0.3]}\n",
            )
        )
    with pytest.raises(StudyError, match="not found"):
        load_study(tmp_path / "missing.yaml")


def test_nested_uncertainties_and_overrides(tmp_path: Path) -> None:
    study = load_study(
        _study(
            tmp_path,
            "scenario: iran_border\noverrides: {china: {joint_operations: true}}\n"
            "uncertainties:\n  china:\n    initial_patience: [0.3, 0.6]\n",
        )
    )
    assert study.space.names == ["china.initial_patience"]
    assert study.overrides == {"china.joint_operations": True}


def test_point_parameters_equal_scenario_params_with_overrides() -> None:
    fn = CrisisOutcomes("chinese_troops", 4, (("china.joint_operations", True),))
    point = {"china.initial_patience": np.float64(0.33), "cells.events_per_week": np.int64(9)}
    expected = scenario_params(
        "chinese_troops",
        {
            "china.joint_operations": True,
            "china.initial_patience": 0.33,
            "cells.events_per_week": 9,
        },
    )
    assert fn.params(point) == expected


def test_points_that_break_an_ordering_are_reported_before_running() -> None:
    space = Space(
        (
            parameter_uncertainty("china.hold_below", [0.1, 0.4]),
            parameter_uncertainty("china.demand_below", [0.1, 0.3]),
        )
    )
    fn = CrisisOutcomes("baseline", 4)
    with pytest.raises(
        StudyError, match=r"sample point \d+ is not a valid model: china thresholds"
    ):
        check_points(space.table(np.array([[0.9, 0.1], [0.0, 1.0]])), fn.params)
