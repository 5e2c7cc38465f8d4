"""Uncertainties: which parameters vary, over what, and the study files that declare them.

An *uncertainty* is a named input with a range (``float``/``int``) or a list of values
(``categorical``: switches and postures). A :class:`Space` is an ordered set of them; it maps
points of the unit hypercube to parameter values, so every sampler (Sobol, Morris, Latin
hypercube) works on ``[0, 1)^d`` and the space turns that into a table of points.

A *study file* (``experiments/uncertainty/*.yaml``) declares the uncertainties of the crisis
model by the dotted keys of :mod:`sim.params`; :func:`load_study` checks every key, range and
value against the declarations there (bounds, types, choices) and reports a problem in one
line. Test functions (Ishigami, a known box) build a :class:`Space` directly.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import STREAMS
from sim.params import ModelParams, ParameterError, ParamInfo, flatten, iter_params


class StudyError(ValueError):
    """A study cannot run as asked; the message is one user-facing line."""


@dataclass(frozen=True)
class Uncertainty:
    """One uncertain input: a range (``float``, ``int``) or a list of ``values``."""

    name: str
    kind: str = "float"  # float, int or categorical
    low: float = 0.0
    high: float = 1.0
    values: tuple[Any, ...] = ()
    unit: str = ""
    doc: str = ""

    @property
    def numeric(self) -> bool:
        """True for a range, False for a list of values."""
        return self.kind != "categorical"

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Values for unit-interval coordinates ``u`` (floats in [0, 1])."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.kind == "float":
            return [float(v) for v in self.low + u * (self.high - self.low)]
        if self.kind == "int":
            span = int(self.high) - int(self.low) + 1
            idx = np.minimum(np.floor(u * span), span - 1).astype(int)
            return [int(self.low) + int(i) for i in idx]
        k = len(self.values)
        idx = np.minimum(np.floor(u * k), k - 1).astype(int)
        return [self.values[int(i)] for i in idx]

    def describe(self) -> str:
        """``[0.3, 0.6]`` or ``{false, true}``."""
        if self.numeric:
            return f"[{self.low:g}, {self.high:g}]"
        return "{" + ", ".join(_yaml_scalar(v) for v in self.values) + "}"


def _yaml_scalar(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


@dataclass(frozen=True)
class Space:
    """An ordered set of uncertainties."""

    uncertainties: tuple[Uncertainty, ...]

    def __post_init__(self) -> None:
        if not self.uncertainties:
            raise StudyError("no uncertainties declared: list at least one")
        names = [u.name for u in self.uncertainties]
        if len(set(names)) != len(names):
            raise StudyError(f"an uncertainty is declared twice: {', '.join(names)}")

    @property
    def names(self) -> list[str]:
        """The uncertainties' names, in order."""
        return [u.name for u in self.uncertainties]

    def __len__(self) -> int:
        return len(self.uncertainties)

    def table(self, unit: np.ndarray) -> pd.DataFrame:
        """Points (one row each) from unit-hypercube coordinates (``n x d``)."""
        unit = np.asarray(unit, dtype=float)
        if unit.ndim != 2 or unit.shape[1] != len(self):
            raise ValueError(f"expected an n x {len(self)} array, got shape {unit.shape}")
        return pd.DataFrame(
            {u.name: u.from_unit(unit[:, j]) for j, u in enumerate(self.uncertainties)}
        )

    def salib_problem(self) -> dict[str, Any]:
        """SALib's problem dict on the unit hypercube (values are mapped by :meth:`table`)."""
        non_numeric = [u.name for u in self.uncertainties if not u.numeric]
        if non_numeric:
            raise StudyError(
                f"{non_numeric[0]} is a switch or a choice, not a range: sensitivity indices "
                "need numeric ranges (fix it with `overrides:` or use `cpec-sim discover`)"
            )
        return {"num_vars": len(self), "names": self.names, "bounds": [[0.0, 1.0]] * len(self)}

    def as_dict(self) -> list[dict[str, Any]]:
        """JSON-ready description (for manifests and hashes)."""
        return [
            {"name": u.name, "kind": u.kind, "low": u.low, "high": u.high, "values": list(u.values)}
            for u in self.uncertainties
        ]


# --- the crisis model's parameters ------------------------------------------------------------
def parameter_infos() -> dict[str, ParamInfo]:
    """Every declared model parameter by dotted key (defaults, types, bounds, choices)."""
    return {info.path: info for info in iter_params(ModelParams())}


def unknown_key_message(key: str, known: Iterable[str], what: str = "parameter") -> str:
    """``unknown parameter 'x.y': did you mean 'x.z'?`` (or where to look)."""
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see docs/parameters.md for every key"
    return f"unknown {what} {key!r}: {hint}"


def parameter_uncertainty(key: str, declared: Any, where: str = "") -> Uncertainty:
    """An :class:`Uncertainty` for model parameter ``key`` from a study file's entry.

    ``declared`` is ``[low, high]`` for a number, or a list of values for a switch (``bool``)
    or a choice (``str``). Ranges must lie within the parameter's declared bounds.
    """
    infos = parameter_infos()
    prefix = f"{where}: " if where else ""
    if key not in infos:
        raise StudyError(prefix + unknown_key_message(key, infos))
    info = infos[key]
    if not isinstance(declared, (list, tuple)) or not declared:
        raise StudyError(
            f"{prefix}{key}: expected a list ([low, high] or the values to try), got {declared!r}"
        )
    if info.type == "bool" or info.choices is not None:
        allowed: tuple[Any, ...] = (
            (False, True) if info.type == "bool" else tuple(info.choices or ())
        )
        values = tuple(declared)
        if info.type == "bool":
            bad = [v for v in values if not isinstance(v, bool)]
        else:
            bad = [v for v in values if not isinstance(v, str) or v not in allowed]
        if bad:
            shown = ", ".join(_yaml_scalar(a) for a in allowed)
            raise StudyError(f"{prefix}{key}: {bad[0]!r} is not allowed: choose from {shown}")
        if len(set(values)) < 2 or len(set(values)) != len(values):
            raise StudyError(f"{prefix}{key}: list at least two different values, once each")
        return Uncertainty(key, "categorical", values=values, unit=info.unit, doc=info.doc)
    if len(declared) != 2 or not all(_is_number(v) for v in declared):
        raise StudyError(f"{prefix}{key}: expected a range [low, high] of numbers ({info.unit})")
    low, high = (float(v) for v in declared)
    if not math.isfinite(low) or not math.isfinite(high) or not low < high:
        raise StudyError(f"{prefix}{key}: range [{low:g}, {high:g}] needs low < high")
    if info.type == "int" and not (low.is_integer() and high.is_integer()):
        raise StudyError(f"{prefix}{key}: a whole-number parameter needs whole-number limits")
    if info.bounds is not None:
        lo, hi = info.bounds
        if low < lo or high > hi:
            raise StudyError(
                f"{prefix}{key}: range [{low:g}, {high:g}] is outside its bounds "
                f"{lo:g} to {hi:g} ({info.unit})"
            )
    kind = "int" if info.type == "int" else "float"
    return Uncertainty(key, kind, low, high, unit=info.unit, doc=info.doc)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --- study files ------------------------------------------------------------------------------
STUDY_KEYS = (
    "description",
    "scenario",
    "weeks",
    "replicates",
    "seed",
    "samples",
    "outcomes",
    "overrides",
    "uncertainties",
    "where",
    "contrast",
    "streams",
)


@dataclass
class Study:
    """What a study file declares: the scenario, the uncertainties and the run settings."""

    space: Space
    scenario: str = "baseline"
    weeks: int = 104
    replicates: int = 10
    seed: int = 0
    samples: int | None = None
    outcomes: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    where: str | None = None
    description: str = ""
    path: Path | None = None
    #: Another scenario: each outcome is then its difference from ``scenario``.
    contrast: str | None = None
    #: What the rules draw from (sim.draws): "single" or "keyed".
    streams: str = "single"


def _int_setting(
    path: Path, data: Mapping[str, Any], key: str, default: int | None, minimum: int
) -> Any:
    value = data.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise StudyError(
            f"{path}: {key}: {value!r} is not allowed: expected a whole number >= {minimum}"
        )
    return value


def read_text_file(file: Path) -> str:
    """A study or calibration file's text; one that cannot be read, or is not UTF-8, is one
    line (:class:`StudyError`)."""
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise StudyError(f"{file}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise StudyError(f"{file}: cannot read it ({exc.strerror or type(exc).__name__})") from None


def load_study(path: Path | str) -> Study:
    """Read and check a study file; raise :class:`StudyError` (one line) if anything is off."""
    import yaml

    from sim.config import scenario_names, scenario_params

    path = Path(path)
    if path.is_dir():
        raise StudyError(f"study file {path} is a folder: give a YAML file")
    if not path.is_file():
        raise StudyError(f"study file {path} not found")
    try:
        data = yaml.safe_load(read_text_file(path))
    except yaml.YAMLError as exc:
        raise StudyError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise StudyError(f"{path}: expected a mapping of settings at the top level")
    unknown = sorted(set(data) - set(STUDY_KEYS))
    if unknown:
        raise StudyError(
            f"{path}: unknown setting {unknown[0]!r}: allowed are {', '.join(STUDY_KEYS)}"
        )
    scenario = str(data.get("scenario", "baseline"))
    if scenario not in scenario_names():
        raise StudyError(
            f"{path}: unknown scenario {scenario!r}: choose one of {', '.join(scenario_names())}"
        )
    declared = data.get("uncertainties") or {}
    if not isinstance(declared, dict):
        raise StudyError(f"{path}: `uncertainties` must map parameter keys to ranges or values")
    declared = (
        flatten(declared) if any(isinstance(v, dict) for v in declared.values()) else declared
    )
    space = Space(tuple(parameter_uncertainty(str(k), v, str(path)) for k, v in declared.items()))
    overrides = flatten(data.get("overrides") or {})
    infos = parameter_infos()
    for key in overrides:
        if key not in infos:
            raise StudyError(f"{path}: overrides: " + unknown_key_message(key, infos))
        if key in space.names:
            raise StudyError(f"{path}: {key} is both an uncertainty and an override: keep one")
    try:
        scenario_params(scenario, overrides)
    except ParameterError as exc:
        raise StudyError(f"{path}: overrides: {exc}") from None
    contrast = data.get("contrast")
    if contrast is not None:
        check_contrast(str(contrast), scenario, space, overrides, f"{path}: contrast")
    streams = str(data.get("streams", "single"))
    if streams not in STREAMS:
        raise StudyError(
            f"{path}: streams: {streams!r} is not allowed: choose {' or '.join(STREAMS)}"
        )
    outcomes = data.get("outcomes") or []
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    where = data.get("where")
    return Study(
        contrast=None if contrast is None else str(contrast),
        streams=streams,
        space=space,
        scenario=scenario,
        weeks=_int_setting(path, data, "weeks", 104, 1),
        replicates=_int_setting(path, data, "replicates", 10, 1),
        seed=_int_setting(path, data, "seed", 0, 0),
        samples=_int_setting(path, data, "samples", None, 1),
        outcomes=[str(o) for o in outcomes],
        overrides=overrides,
        where=None if where is None else " ".join(str(where).split()),
        description=" ".join(str(data.get("description", "")).split()),
        path=path,
    )


def scenario_differences(scenario: str, contrast: str) -> list[str]:
    """The dotted parameter keys whose values differ between two scenarios."""
    from sim.config import scenario_params
    from sim.params import to_dict

    a, b = flatten(to_dict(scenario_params(scenario))), flatten(to_dict(scenario_params(contrast)))
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def check_contrast(
    contrast: str, scenario: str, space: Space, overrides: Mapping[str, Any], where: str
) -> None:
    """StudyError unless ``contrast`` is another scenario whose settings the study's
    uncertainties and overrides leave alone (a point's value would replace them in both)."""
    from sim.config import scenario_names

    if contrast not in scenario_names():
        raise StudyError(
            f"{where}: unknown scenario {contrast!r}: choose one of {', '.join(scenario_names())}"
        )
    differ = scenario_differences(scenario, contrast)
    if not differ:
        raise StudyError(
            f"{where}: {contrast} sets every parameter as {scenario} does: nothing to contrast"
        )
    taken = [k for k in differ if k in space.names or k in overrides]
    if taken:
        raise StudyError(
            f"{where}: {taken[0]} is what {contrast} changes from {scenario}, and the study "
            "sets it at every point (an uncertainty or override): the two would not differ "
            "there; remove it from the study (a copy of the study file without it, with --spec)"
        )


def default_study_path(name: str) -> Path:
    """``experiments/uncertainty/NAME.yaml`` of the shipped configs (clone or wheel)."""
    from sim.config import config_dir

    return config_dir() / "experiment" / "uncertainty" / f"{name}.yaml"


def design_hash(parts: Mapping[str, Any]) -> str:
    """Short hash of everything that determines a study's points and their results."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check_points(points: pd.DataFrame, check: Any, label: str = "") -> None:
    """Call ``check(point_dict)`` on every point; re-raise the first failure with its index."""
    for i, row in enumerate(points.to_dict("records")):
        try:
            check(row)
        except ParameterError as exc:
            where = f"{label}: " if label else ""
            raise StudyError(
                f"{where}sample point {i} is not a valid model: {exc} (narrow the ranges)"
            ) from None
