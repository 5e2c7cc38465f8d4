"""The crisis model as an EMA Workbench model (Kwakkel 2017), declared from ``sim/params.py``.

:func:`ema_model` returns an ``ema_workbench.Model`` (one replicate per experiment) or a
``ReplicatorModel`` (``replications`` replicates, averaged per outcome) whose

* **uncertainties** are numeric parameters: ``RealParameter`` / ``IntegerParameter`` over the
  ranges you give (checked against the bounds declared in :mod:`sim.params`); by default the
  ten of ``cpec-sim sensitivity``'s study file (``experiments/uncertainty/sensitivity.yaml``),
  over its plausible ranges;
* **levers** are the switches and choices: ``BooleanParameter`` for a ``bool`` parameter,
  ``CategoricalParameter`` for one with ``choices`` (Iran's posture);
* **outcomes** are the summary columns and ``pause_free_weeks`` (the week of the first
  investor pause, the horizon where none came) (``ScalarOutcome``; with replications the
  mean, so a yes/no outcome becomes ``*_share``, the share of replicates; by default without
  ``weeks_to_first_pause``, whose mean would be over the replicates that paused).

EMA names must be Python identifiers, so ``china.initial_patience`` is called
``china__initial_patience`` there (:func:`ema_name`). Replicate ``r`` runs with the seed
``replicate_seed(seed, r)`` of :mod:`sim.runner`, as ``cpec-sim run`` does::

    from ema_workbench import perform_experiments
    from sim.explore.ema import ema_model

    model = ema_model(uncertainties={"china.initial_patience": [0.3, 0.6]}, weeks=52,
                      replications=10)
    experiments, outcomes = perform_experiments(model, scenarios=50, policies=2)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.explore.evaluate import CrisisOutcomes
from sim.explore.space import (
    StudyError,
    Uncertainty,
    parameter_infos,
    parameter_uncertainty,
    unknown_key_message,
)
from sim.runner import replicate_seed


def ema_name(key: str) -> str:
    """EMA Workbench name of a dotted parameter key (``a.b`` -> ``a__b``)."""
    return key.replace(".", "__")


def param_key(name: str) -> str:
    """Dotted parameter key of an EMA name (``a__b`` -> ``a.b``)."""
    return name.replace("__", ".")


def mean_over_replications(values: Sequence[Any]) -> float:
    """Mean of a replicated outcome, NaN ignored (NaN if every replicate is NaN)."""
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else math.nan


@dataclass(frozen=True)
class EMAFunction:
    """The callable EMA runs: keyword arguments in, summary outcomes out (picklable)."""

    scenario: str = "baseline"
    weeks: int = 104
    overrides: tuple[tuple[str, Any], ...] = ()

    def __call__(self, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
        point = {param_key(k): v for k, v in kwargs.items()}
        return CrisisOutcomes(self.scenario, self.weeks, self.overrides)(point, int(seed))


#: The study file whose uncertainties are the default ones.
DEFAULT_STUDY = "sensitivity"


def default_uncertainties() -> dict[str, list[Any]]:
    """The uncertainties of ``cpec-sim sensitivity``'s study file
    (``experiments/uncertainty/sensitivity.yaml``), key -> ``[low, high]`` (or values).

    Not every parameter over its declared bounds: those are what the model accepts, not what
    is plausible, and points near their tops (``cells.events_per_week`` 977 with
    ``recruitment.recruits_per_million_willing`` 949) ran for minutes and took ~20 GB.
    """
    from sim.explore.space import default_study_path, load_study

    space = load_study(default_study_path(DEFAULT_STUDY)).space
    return {u.name: [u.low, u.high] if u.numeric else list(u.values) for u in space.uncertainties}


def default_levers() -> list[str]:
    """Every switch (``bool``) and choice (``str`` with choices) parameter."""
    return [
        key
        for key, info in parameter_infos().items()
        if info.type == "bool" or info.choices is not None
    ]


def _declared(
    items: Sequence[str] | Mapping[str, Any] | None, default: Sequence[str] | Mapping[str, Any]
) -> list[Uncertainty]:
    infos = parameter_infos()
    if items is None:
        items = default
    entries = items.items() if isinstance(items, Mapping) else ((k, None) for k in items)
    out = []
    for key, declared in entries:
        if key not in infos:
            raise StudyError(unknown_key_message(key, infos))
        info = infos[key]
        if declared is None:
            if info.type == "bool":
                declared = [False, True]
            elif info.choices is not None:
                declared = list(info.choices)
            elif info.bounds is not None:
                declared = list(info.bounds)
            else:
                raise StudyError(f"{key} has no declared bounds: give it a range")
        out.append(parameter_uncertainty(key, declared))
    return out


def _parameter(u: Uncertainty, default: Any) -> Any:
    from ema_workbench import (
        BooleanParameter,
        CategoricalParameter,
        IntegerParameter,
        RealParameter,
    )

    name = ema_name(u.name)
    if u.kind == "float":
        return RealParameter(name, u.low, u.high)
    if u.kind == "int":
        return IntegerParameter(name, int(u.low), int(u.high))
    if set(u.values) == {False, True}:
        return BooleanParameter(name, default=default)
    return CategoricalParameter(name, list(u.values), default=default)


def ema_model(
    uncertainties: Sequence[str] | Mapping[str, Any] | None = None,
    levers: Sequence[str] | Mapping[str, Any] | None = None,
    outcomes: Sequence[str] | None = None,
    scenario: str = "baseline",
    weeks: int = 104,
    replications: int | None = None,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
    name: str = "cpec",
) -> Any:
    """An EMA Workbench ``Model`` (or ``ReplicatorModel`` if ``replications``) of the crisis.

    ``uncertainties`` / ``levers``: a mapping key -> ``[low, high]`` or list of values, or
    dotted keys (ranges: the declared bounds, what the model accepts rather than what is
    plausible); None takes the sensitivity study's uncertainties
    (:func:`default_uncertainties`) / every switch and choice (:func:`default_levers`).
    ``outcomes``: summary columns and ``pause_free_weeks`` (None: all, with replications all
    but ``weeks_to_first_pause``). Parameters not listed keep the scenario's
    values, plus ``overrides``. ``weeks`` >= 1; ``replications`` None (one run per
    experiment, a ``Model``) or >= 1 (a ``ReplicatorModel``).
    """
    from sim.analysis import survival
    from sim.config import checked_seed, checked_weeks, scenario_params
    from sim.params import ParameterError
    from sim.record import SUMMARY_COLUMNS, UNDEFINED_WHEN

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import Constant, Model, ReplicatorModel, ScalarOutcome

    try:
        weeks = checked_weeks(weeks)  # 1 to MAX_WEEKS, as cpec-sim run allows
    except ParameterError as exc:
        raise StudyError(str(exc)) from None
    if replications is not None:
        _check_count("replications", replications, ", or None for one run per experiment")
    try:
        seed = checked_seed(seed)  # seed=-1 was NumPy's bare ValueError
    except ParameterError as exc:
        raise StudyError(str(exc)) from None
    try:
        base = scenario_params(scenario, dict(overrides or {}))
    except ParameterError as exc:
        raise StudyError(str(exc)) from None
    uncs = _declared(uncertainties, default_uncertainties())
    levs = _declared(levers, default_levers())
    both = {u.name for u in uncs} & {u.name for u in levs}
    if both:
        key = sorted(both)[0]
        if uncertainties is None:  # the user named it once (helper-185)
            raise StudyError(
                f"{key} is a lever and one of the default uncertainties: give uncertainties= "
                "without it"
            )
        raise StudyError(f"{key} is both an uncertainty and a lever: keep one")
    known = (*SUMMARY_COLUMNS, survival.PAUSE_FREE)  # what CrisisOutcomes returns
    # averaged over replications, an outcome undefined in some (weeks_to_first_pause) would be
    # a mean over those where it is: by default its stand-in, pause_free_weeks, instead
    averaged = replications is not None
    chosen = list(outcomes or [o for o in known if not (averaged and o in UNDEFINED_WHEN)])
    unknown = [o for o in chosen if o not in known]
    if unknown:
        raise StudyError(f"unknown outcome {unknown[0]!r}: choose from {', '.join(known)}")
    fn = EMAFunction(scenario, weeks, tuple(sorted((overrides or {}).items())))
    seeds = [replicate_seed(seed, r) for r in range(replications or 1)]
    if replications is not None:
        model: Any = ReplicatorModel(name, function=fn)
        model.replications = [{"seed": s} for s in seeds]
    else:
        model = Model(name, function=fn)
        model.constants = [Constant("seed", seeds[0])]
    defaults = _defaults(base)
    _check_relations_over_ranges(base, [*uncs, *levs])
    model.uncertainties = [_parameter(u, defaults.get(u.name)) for u in uncs]
    model.levers = [_parameter(u, defaults.get(u.name)) for u in levs]
    bools = {"investment_hold", "chinese_troops_deployed"}
    model.outcomes = [
        ScalarOutcome(
            f"{o}_share" if replications is not None and o in bools else o,
            variable_name=o,
            function=mean_over_replications if replications is not None else None,
        )
        for o in chosen
    ]
    return model


#: How far inside its range each corner :func:`_check_relations_over_ranges` tries lies (a
#: relation broken only on a range's edge, all three target priors at 0, is never sampled).
_INSIDE = 1e-9


def _check_relations_over_ranges(base: Any, declared: Sequence[Uncertainty]) -> None:
    """Refuse ranges under which an experiment would break a relation between parameters
    (China's or the investors' threshold ordering: :func:`sim.params.check_relations`), before
    anything runs, as the command line refuses such a study (helper-185: the workbench's
    second experiment died with a traceback). The relations are linear in each parameter, so
    one that holds at every corner of the ranges holds inside them."""
    from itertools import product

    from sim.params import RELATION_PARAMETERS, ParameterError, check_relations, replaced

    ranged = [u for u in declared if u.numeric and u.name in RELATION_PARAMETERS]
    ends = [
        (u.low + _INSIDE * (u.high - u.low), u.high - _INSIDE * (u.high - u.low)) for u in ranged
    ]
    for corner in product(*ends):
        values = dict(zip((u.name for u in ranged), corner, strict=True))
        try:
            check_relations(replaced(base, values))
        except ParameterError as exc:
            at = ", ".join(f"{k}={v:.6g}" for k, v in values.items())
            raise StudyError(
                f"these ranges break a relation between parameters (at {at}): {exc}; narrow "
                "the ranges"
            ) from None


def _check_count(name: str, value: Any, alternative: str) -> None:
    """A whole number >= 1, or a StudyError naming ``name``."""
    import numbers

    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise StudyError(f"{name}={value!r} is not allowed: give a whole number >= 1{alternative}")


def _defaults(params: Any) -> dict[str, Any]:
    from sim.params import iter_params

    return {info.path: info.value for info in iter_params(params)}
