"""The calibrated parameters: names, the dotted model keys each sets, uniform priors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, product
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import MAX_WEEKS
from sim.explore.space import (
    StudyError,
    default_study_path,
    parameter_uncertainty,
    read_text_file,
)

DEFAULT_FILE = "calibration"


@dataclass(frozen=True)
class Prior:
    """One calibrated quantity: a uniform prior on [low, high] for the keys it sets (tied)."""

    name: str
    keys: tuple[str, ...]
    low: float
    high: float
    source: str = ""
    #: A placebo: calibrated only to check the identifiability table (the record cannot
    #: inform it); its draws stay out of runs over the posterior.
    placebo: bool = False

    @property
    def width(self) -> float:
        """high - low."""
        return self.high - self.low

    @property
    def sd(self) -> float:
        """Standard deviation of the uniform prior."""
        return self.width / np.sqrt(12.0)


@dataclass(frozen=True)
class CalibrationSpace:
    """Every calibrated quantity, the scenario it is calibrated in and the run length."""

    priors: tuple[Prior, ...]
    scenario: str = "baseline"
    weeks: int = 104
    description: str = ""
    path: str = ""

    @property
    def placebo_keys(self) -> list[str]:
        """The keys of the placebo quantities (runs over the posterior leave them out)."""
        return [key for p in self.priors if p.placebo for key in p.keys]

    @property
    def names(self) -> list[str]:
        """Names of the calibrated quantities, in file order."""
        return [p.name for p in self.priors]

    def overrides(self, values: Mapping[str, float]) -> dict[str, float]:
        """Dotted model overrides of one point (tied keys expanded)."""
        return {key: float(values[p.name]) for p in self.priors for key in p.keys}

    def defaults(self) -> dict[str, float]:
        """The shipped defaults of the calibrated quantities (first key of each)."""
        from sim.config import scenario_params
        from sim.params import flatten, to_dict

        flat = flatten(to_dict(scenario_params(self.scenario)))
        return {p.name: float(flat[p.keys[0]]) for p in self.priors}

    def as_dict(self) -> dict[str, Any]:
        """Plain data for a manifest and a hash."""
        return {
            "scenario": self.scenario,
            "weeks": self.weeks,
            "priors": [
                {"name": p.name, "keys": list(p.keys), "low": p.low, "high": p.high}
                for p in self.priors
            ],
        }


def _prior(name: str, entry: Any, where: str) -> Prior:
    if not isinstance(entry, Mapping) or "keys" not in entry or "range" not in entry:
        raise StudyError(f"{where}: {name}: expected a mapping with 'keys' and 'range'")
    keys = entry["keys"]
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise StudyError(f"{where}: {name}: 'keys' must list dotted model parameters")
    ranges = [parameter_uncertainty(k, entry["range"], where) for k in keys]
    if any(not u.numeric or u.kind != "float" for u in ranges):
        raise StudyError(f"{where}: {name}: only real-valued parameters can be calibrated")
    placebo = entry.get("placebo", False)
    if not isinstance(placebo, bool):
        raise StudyError(f"{where}: {name}: 'placebo' must be true or false")
    source = str(entry.get("source", ""))
    return Prior(name, tuple(keys), ranges[0].low, ranges[0].high, source, placebo)


def load_space(path: Path | str | None = None) -> CalibrationSpace:
    """Read and validate a calibration file (default ``experiments/uncertainty/calibration``)."""
    import yaml

    file = Path(path) if path is not None else default_study_path(DEFAULT_FILE)
    if not file.is_file():
        raise StudyError(f"no calibration file {file}")
    try:
        data = yaml.safe_load(read_text_file(file))
    except yaml.YAMLError as exc:
        raise StudyError(f"{file}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("parameters"), Mapping):
        raise StudyError(f"{file}: expected a mapping with a 'parameters' mapping")
    priors = tuple(_prior(str(n), e, str(file)) for n, e in data["parameters"].items())
    if not priors:
        raise StudyError(f"{file}: 'parameters' is empty")
    keys = [k for p in priors for k in p.keys]
    if len(set(keys)) != len(keys):
        raise StudyError(f"{file}: a model parameter is set by two calibrated quantities")
    from sim.config import load_scenario
    from sim.params import ParameterError

    scenario = str(data.get("scenario", "baseline"))
    try:
        load_scenario(scenario)
    except ParameterError as exc:  # an unknown name, or a damaged scenario file, says which
        raise StudyError(f"{file}: {exc}") from None
    weeks = data.get("weeks", 104)
    if not isinstance(weeks, int) or isinstance(weeks, bool) or not 104 <= weeks <= MAX_WEEKS:
        raise StudyError(
            f"{file}: weeks must be a whole number from 104 (two model years) to {MAX_WEEKS:,}"
        )
    check_relations(priors, scenario, str(file))
    return CalibrationSpace(
        priors, scenario, weeks, str(data.get("description", "")).strip(), str(file)
    )


#: How many parameters each relation between parameters ties at most
#: (:func:`sim.params.check_relations`).
RELATION_SIZE = 3


def check_relations(priors: Sequence[Prior], scenario: str, where: str) -> None:
    """Refuse ranges that let the sampler draw an invalid model (a broken ordering such as
    ``china.hold_below`` above ``pressure_below``), in one line naming the quantities.

    The relations are linear in each parameter, so a box of ranges breaks one if and only if
    one of its corners does; a relation ties at most :data:`RELATION_SIZE` quantities, so
    the corners of every such set of quantities that set a parameter a relation reads, the
    others at their midpoints, are every case.
    """
    from sim.config import scenario_params
    from sim.params import RELATION_PARAMETERS, replaced

    middle = {p.name: (p.low + p.high) / 2 for p in priors}
    at_middle = replaced(scenario_params(scenario), _overrides(priors, middle))
    problem = _broken(at_middle, [], {})
    if problem:
        raise StudyError(
            f"{where}: the ranges can give an invalid model (at their midpoints: {problem}): "
            "narrow them so that every value keeps the model's relations"
        )
    for chosen, ends in _corners([p for p in priors if RELATION_PARAMETERS & set(p.keys)]):
        if _broken(at_middle, chosen, ends):
            raise StudyError(_relation_message(where, at_middle, chosen, ends))


def _corners(priors: Sequence[Prior]) -> Iterator[tuple[list[Prior], dict[str, float]]]:
    """Every corner (the quantities and their values) of every :data:`RELATION_SIZE`
    quantities."""
    for chosen in combinations(priors, min(RELATION_SIZE, len(priors))):
        for ends in product(*((p.low, p.high) for p in chosen)):
            yield list(chosen), {p.name: v for p, v in zip(chosen, ends, strict=True)}


def _overrides(priors: Sequence[Prior], values: Mapping[str, float]) -> dict[str, float]:
    return {key: float(values[p.name]) for p in priors for key in p.keys}


def _broken(model: Any, priors: Sequence[Prior], values: Mapping[str, float]) -> str:
    """Which relation ``model`` breaks with ``priors`` set to ``values`` ('' if none)."""
    from sim.params import ParameterError, replaced
    from sim.params import check_relations as check_model

    try:
        check_model(replaced(model, _overrides(priors, values)))
    except ParameterError as exc:
        return str(exc)
    return ""


def _relation_message(
    where: str, at_middle: Any, chosen: Sequence[Prior], ends: Mapping[str, float]
) -> str:
    """One line: the quantities whose ranges break a relation, where, and which relation."""
    named = _needed(at_middle, chosen, ends)
    ranges = ", ".join(f"{p.name} [{p.low:g}, {p.high:g}]" for p in named)
    at = ", ".join(f"{key}={ends[p.name]:g}" for p in named for key in p.keys)
    one = len(named) == 1
    return (
        f"{where}: the {'range' if one else 'ranges'} of {ranges} can give an invalid model "
        f"(at {at}: {_broken(at_middle, chosen, ends)}): narrow {'it' if one else 'them'} "
        "so that every value keeps the model's relations"
    )


def _needed(at_middle: Any, chosen: Sequence[Prior], ends: Mapping[str, float]) -> list[Prior]:
    """The quantities of an invalid corner that make it invalid: moving one alone, to its
    midpoint or its other end, gives a valid model (all of them if none does)."""

    def mends(p: Prior) -> bool:
        elsewhere = ((p.low + p.high) / 2, p.low + p.high - ends[p.name])
        return any(not _broken(at_middle, chosen, {**ends, p.name: v}) for v in elsewhere)

    return [p for p in chosen if mends(p)] or list(chosen)
