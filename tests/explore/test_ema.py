"""The crisis model as an EMA Workbench model, declared from sim/params.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sim.explore.ema import default_levers, default_uncertainties, ema_model, ema_name
from sim.explore.evaluate import CrisisOutcomes
from sim.explore.space import StudyError, parameter_infos
from sim.runner import replicate_seed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from ema_workbench import (
        BooleanParameter,
        CategoricalParameter,
        IntegerParameter,
        RealParameter,
        perform_experiments,
    )


def test_declarations_come_from_the_parameter_metadata() -> None:
    infos = parameter_infos()
    listed = {u.name: u for u in ema_model(uncertainties=["china.initial_patience"]).uncertainties}
    patience = listed["china__initial_patience"]  # a key alone: its declared bounds
    assert isinstance(patience, RealParameter)
    assert (patience.lower_bound, patience.upper_bound) == infos["china.initial_patience"].bounds
    ssd = ema_model(uncertainties={"pakistan.ssd_troops": [9000, 12000]}).uncertainties[0]
    assert isinstance(ssd, IntegerParameter)
    model = ema_model()
    levers = {lv.name: lv for lv in model.levers}
    assert set(levers) == {ema_name(k) for k in default_levers()}
    assert isinstance(levers["pakistan__accept_chinese_troops"], BooleanParameter)
    posture = levers["iran__initial_posture"]
    assert isinstance(posture, CategoricalParameter)
    assert [c.value for c in posture.categories] == ["hostile", "neutral", "cooperative"]
    assert "chinese_killed" in {o.name for o in model.outcomes}


def test_the_default_uncertainties_are_the_sensitivity_studys_ranges() -> None:
    """Not all 115 numeric parameters over their declared bounds (points that ran for minutes
    and took ~20 GB): the ten of experiments/uncertainty/sensitivity.yaml, as it says."""
    from sim.explore.space import default_study_path, load_study

    study = load_study(default_study_path("sensitivity")).space.uncertainties
    uncs = {u.name: u for u in ema_model().uncertainties}
    assert (
        set(uncs)
        == {ema_name(u.name) for u in study}
        == set(map(ema_name, default_uncertainties()))
    )
    assert len(uncs) == 10
    for u in study:
        declared = uncs[ema_name(u.name)]
        assert (declared.lower_bound, declared.upper_bound) == (u.low, u.high)
    assert (
        uncs["china__initial_patience"].lower_bound,
        uncs["china__initial_patience"].upper_bound,
    ) == (0.3, 0.6)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("replications", 0), ("replications", -2), ("replications", 1.5), ("replications", True),
     ("weeks", 0), ("weeks", -1), ("weeks", "52"), ("weeks", 2**70)],
)  # fmt: skip
def test_replications_and_weeks_out_of_range_are_refused(setting: str, value: object) -> None:
    with pytest.raises(
        StudyError, match=rf"^{setting}={value!r} is not allowed: (give|need) a whole"
    ):
        ema_model(uncertainties=[], **{setting: value})  # type: ignore[arg-type]


def test_bad_declarations_are_one_line() -> None:
    with pytest.raises(StudyError, match=r"did you mean 'china\.initial_patience'"):
        ema_model(uncertainties=["china.initial_patienc"])
    with pytest.raises(StudyError, match="outside its bounds"):
        ema_model(uncertainties={"china.initial_patience": [0.2, 2.0]})
    with pytest.raises(StudyError, match="unknown outcome 'deaths'"):
        ema_model(uncertainties=[], outcomes=["deaths"])


def test_ranges_that_break_a_relation_and_other_slips_are_one_line() -> None:
    """helper-185: a range of China's demand threshold across its hold threshold was built,
    and the workbench's second experiment died with a traceback; the command line refuses
    such a study before it runs."""
    with pytest.raises(StudyError, match=r"break a relation .*demand_below <= hold_below"):
        ema_model(uncertainties={"china.demand_below": [0.1, 0.9]}, levers=[], weeks=4)
    ema_model(uncertainties={"china.demand_below": [0.1, 0.35]}, levers=[], weeks=4)  # touches
    priors = {f"targeting.prior_{k}": [0.0, 1.0] for k in ("chinese", "security", "infrastructure")}
    ema_model(uncertainties=priors, levers=[], weeks=4)  # all 0 only on the edge: never drawn
    with pytest.raises(StudyError, match="choose from chinese_killed, "):
        ema_model(outcomes=["nosuch"])
    with pytest.raises(StudyError, match="a lever and one of the default uncertainties"):
        ema_model(levers=["china.initial_patience"])
    with pytest.raises(StudyError, match="seed=-1 is not allowed"):
        ema_model(seed=-1)


def test_perform_experiments_with_replications_matches_our_evaluator() -> None:
    model = ema_model(
        uncertainties={"china.initial_patience": [0.3, 0.6], "cells.events_per_week": [8, 14]},
        levers=["pakistan.accept_chinese_troops", "iran.initial_posture"],
        outcomes=["attacks_total", "investment_hold", "legitimacy_final"],
        scenario="iran_border",
        weeks=4,
        replications=2,
        seed=9,
    )
    experiments, outcomes = perform_experiments(model, scenarios=3, policies=2)
    assert len(experiments) == 6
    assert set(outcomes) == {"attacks_total", "investment_hold_share", "legitimacy_final"}
    row = experiments.iloc[4]
    point = {
        "china.initial_patience": row["china__initial_patience"],
        "cells.events_per_week": int(row["cells__events_per_week"]),
        "pakistan.accept_chinese_troops": bool(row["pakistan__accept_chinese_troops"]),
        "iran.initial_posture": str(row["iran__initial_posture"]),
    }
    fn = CrisisOutcomes("iran_border", weeks=4)
    runs = [fn(point, replicate_seed(9, r)) for r in range(2)]
    assert outcomes["attacks_total"][4] == pytest.approx(
        np.mean([r["attacks_total"] for r in runs])
    )
    assert outcomes["legitimacy_final"][4] == pytest.approx(
        np.mean([r["legitimacy_final"] for r in runs])
    )


def test_the_weeks_to_the_first_pause_replace_their_undefined_mean_when_averaged() -> None:
    """With replications the default outcomes hold pause_free_weeks, not weeks_to_first_pause
    (a mean over the replicates that paused); either may be asked for."""
    averaged = {o.name for o in ema_model(uncertainties=[], weeks=8, replications=2).outcomes}
    assert "pause_free_weeks" in averaged and "weeks_to_first_pause" not in averaged
    single = {o.name for o in ema_model(uncertainties=[], weeks=8).outcomes}
    assert {"pause_free_weeks", "weeks_to_first_pause"} <= single
    model = ema_model(
        uncertainties=["china.initial_patience"], levers=[], outcomes=["pause_free_weeks"],
        weeks=8, replications=2,
    )  # fmt: skip
    _, outcomes = perform_experiments(model, scenarios=2)
    assert set(outcomes) == {"pause_free_weeks"}
    assert np.all((outcomes["pause_free_weeks"] >= 4) & (outcomes["pause_free_weeks"] <= 8))


def test_single_replication_model() -> None:
    model = ema_model(uncertainties=["china.initial_patience"], levers=[], weeks=3)
    experiments, outcomes = perform_experiments(model, scenarios=2)
    assert len(experiments) == 2 and outcomes["chinese_killed"].shape == (2,)
    assert np.all(outcomes["capital_deployed_final"] > 0)
