"""Configuration: the run keys, the scenarios, and the bridge from a config to ModelParams.

Scenarios live in ``configs/scenario/<name>.yaml`` (package data ``sim.configs``); each lists
only the parameters it changes. This module reads them without Hydra, so notebooks and the
dashboard can use scenarios too; the Hydra app (:mod:`sim.cli`) registers the same dataclasses.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import glob
import hashlib
import json
import operator
import os
import re
from contextlib import suppress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.params import (
    ModelParams,
    ParameterError,
    close_keys,
    flatten,
    from_dict,
    set_dotted,
    to_dict,
)

if TYPE_CHECKING:
    from sim.posterior import Posterior


@dataclass
class ScenarioInfo:
    """A scenario's name, a description of the situation, the seed passage behind it, and the
    parameters its effect rests on: values set, not calibrated (the record cannot measure a
    counterfactual), so its differences from the baseline are only as good as they are."""

    name: str = "baseline"
    description: str = ""
    seed_passage: str = ""
    rests_on: list[str] = field(default_factory=list)


@dataclass
class RunConfig(ModelParams):
    """Everything ``cpec-sim run`` takes: the model parameters plus the run keys."""

    scenario: ScenarioInfo = field(default_factory=ScenarioInfo)
    replicates: int = 100
    seed: int = 0
    weeks: int = 104
    jobs: int | None = None  # worker processes; None: every CPU the process may use
    chunk_size: int | None = None  # replicates per unit of work and resumption; None: auto
    sweep_name: str = "multirun"
    plots: bool = True
    backend: str = "compiled"  # compiled engine, or "mesa": the reference model (same results)
    # "single": one NumPy stream a replicate; "keyed": common random numbers across scenarios
    # (sim/draws.py): runs of one seed share their draws wherever their steps do
    streams: str = "single"
    # "defaults": every replicate runs with the scenario's parameters; else a posterior.parquet
    # (or its directory; "posterior": results/calibration/full/): replicate r runs with draw r % n
    parameters: str = "defaults"


#: Ways to run a replicate: the compiled engine (default) or the Mesa model (the reference).
BACKENDS = ("compiled", "mesa")
#: What the rules draw from (the run key ``streams``; :mod:`sim.draws` says what each means).
STREAMS = ("single", "keyed")

RUN_KEYS = (
    "scenario",
    "replicates",
    "seed",
    "weeks",
    "jobs",
    "chunk_size",
    "sweep_name",
    "plots",
    "backend",
    "streams",
    "parameters",
)
MODEL_KEYS = tuple(f.name for f in dataclasses.fields(ModelParams))


def key_types() -> dict[str, str]:
    """The declared type (bool, int, float, str) of every key ``cpec-sim run`` takes."""
    from sim.params import iter_params

    types = {info.path: info.type for info in iter_params(ModelParams())}
    for f in dataclasses.fields(RunConfig):
        if f.name in RUN_KEYS and f.name != "scenario":
            types[f.name] = str(f.type).split(" |")[0]
    types.update({f"scenario.{f.name}": "str" for f in dataclasses.fields(ScenarioInfo)})
    return types


def config_dir() -> Path:
    """Directory of the shipped Hydra configs (works from a clone and from a wheel)."""
    return Path(str(resources.files("sim.configs")))


#: Folders of one's own scenario files besides the shipped ones, separated as in PATH.
SCENARIO_PATH_VAR = "CPEC_SCENARIO_PATH"


def scenario_dirs() -> list[Path]:
    """The shipped scenarios' folder, then each folder of ``$CPEC_SCENARIO_PATH``."""
    extra = os.environ.get(SCENARIO_PATH_VAR, "")
    return [config_dir() / "scenario", *(Path(p) for p in extra.split(os.pathsep) if p)]


def scenario_files() -> dict[str, Path]:
    """Every scenario's file by name: the shipped ones and those of ``$CPEC_SCENARIO_PATH``.
    A folder that is not one, or a name in two folders, is refused in one line."""
    dirs = scenario_dirs()
    stamps = []
    for d in dirs:
        try:
            stamps.append(d.stat().st_mtime_ns)
        except OSError:
            stamps.append(-1)
    return dict(_scenario_files(tuple(dirs), tuple(stamps)))


@functools.lru_cache(maxsize=16)
def _scenario_files(
    dirs: tuple[Path, ...], stamps: tuple[int, ...]
) -> tuple[tuple[str, Path], ...]:
    found: dict[str, Path] = {}
    seen: set[Path] = set()
    for i, folder in enumerate(dirs):
        if i and not folder.is_dir():
            raise ParameterError(
                f"{SCENARIO_PATH_VAR} names {folder}, which is not a folder: give folders of "
                f"scenario files (NAME.yaml), separated by {os.pathsep!r}"
            )
        if folder.resolve() in seen:  # named twice
            continue
        seen.add(folder.resolve())
        for path in sorted(folder.glob("*.yaml")):
            if path.name.startswith("."):  # an editor's lock file, macOS's ._ files
                continue
            if not path.is_file():
                raise ParameterError(f"{path}: not a file (a broken link?): a scenario is a file")
            # one name, whatever its case: a case-insensitive file system would mix them
            twin = next((f for n, f in found.items() if n.lower() == path.stem.lower()), None)
            if twin is not None:
                raise ParameterError(
                    f"scenario {path.stem!r} is in two files, {twin} and {path}: rename one "
                    f"(a scenario of {SCENARIO_PATH_VAR} cannot replace another, whatever "
                    "the case of its letters)"
                )
            found[path.stem] = path
    return tuple(sorted(found.items()))


def check_scenarios() -> None:
    """Read and check every scenario file of ``$CPEC_SCENARIO_PATH``
    (:func:`check_scenario_file`): a command that lists or offers the scenarios refuses a bad
    one before it starts. The shipped ones are checked by the tests (and when read): reading
    all eight would add ~65 ms to every command's start."""
    for name in user_scenarios():
        load_scenario(name)


def scenario_names() -> list[str]:
    """Names of the scenarios: the shipped ones and those of ``$CPEC_SCENARIO_PATH``."""
    return list(scenario_files())


def user_scenarios() -> dict[str, Path]:
    """The scenarios of ``$CPEC_SCENARIO_PATH`` (not the shipped ones), each with its file."""
    if not os.environ.get(SCENARIO_PATH_VAR):
        return {}
    shipped = config_dir() / "scenario"
    return {name: path for name, path in scenario_files().items() if path.parent != shipped}


def user_scenario_file(name: str) -> Path | None:
    """The file of scenario ``name`` if it comes from ``$CPEC_SCENARIO_PATH`` (else None)."""
    return user_scenarios().get(name)


def other_suffix(name: str) -> str:
    """A hint when a folder of scenarios holds ``name`` under another ending (``.yml``):
    only ``NAME.yaml`` files are read."""
    for folder in scenario_dirs():
        for path in sorted(folder.glob(f"{glob.escape(name)}.*")) if folder.is_dir() else []:
            if path.suffix != ".yaml":
                return f" ({path} is not read: scenario files end in .yaml)"
    return ""


def load_scenario(name: str) -> dict[str, Any]:
    """The scenario file as a dict (``scenario`` info plus parameter overrides): a fresh copy,
    parsed and checked once per version of the file (a calibration builds parameters ~10^5
    times)."""
    shipped = config_dir() / "scenario" / f"{name}.yaml"
    path = scenario_files().get(name) if os.environ.get(SCENARIO_PATH_VAR) else shipped
    stamp = None
    if path is not None:
        with suppress(OSError):
            stamp = path.stat()
    if path is None or stamp is None:
        raise ParameterError(
            f"unknown scenario {name!r}: choose one of {', '.join(scenario_names())}"
            + other_suffix(name)
        )
    return copy.deepcopy(_parsed_scenario(path, stamp.st_mtime_ns, stamp.st_size))


@functools.lru_cache(maxsize=64)
def _parsed_scenario(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    try:
        data = OmegaConf.to_container(OmegaConf.load(path))
    except (OSError, ValueError, YAMLError, OmegaConfBaseException) as err:  # not UTF-8 too
        mark = getattr(err, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        why = getattr(err, "problem", None) or _first_line(err)
        raise ParameterError(f"{path}: not a scenario file ({at}{why})") from None
    check_scenario_file(path, data)
    return data  # type: ignore[return-value]


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def check_scenario_file(path: Path, data: Any) -> None:
    """A scenario file's content, checked: a ``scenario`` block whose ``name`` is the file's
    and which describes the situation, ``rests_on`` naming parameters, and parameters that
    exist and are allowed. Errors name the file."""
    from sim.params import iter_params

    where = f"{path}:"
    if not isinstance(data, dict) or not isinstance(data.get("scenario"), dict):
        raise ParameterError(
            f"{where} a scenario file begins with a `scenario:` block (name, description, "
            "seed_passage, rests_on), then the parameters it changes"
        )
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.+-]{0,63}", path.stem) or path.stem.lower() in (
        "true",
        "false",
        "null",
        "nan",
        "inf",
    ):
        raise ParameterError(
            f"{where} a scenario's file name is its name, which begins run folders' names and "
            "is given as scenario=NAME: begin it with a letter, then up to 63 letters, digits "
            "and _ . + - (no commas, = or spaces; not true, false, null, nan or inf)"
        )
    info = data["scenario"]
    unknown = sorted(set(info) - {f.name for f in dataclasses.fields(ScenarioInfo)})
    if unknown:
        raise ParameterError(
            f"{where} scenario.{unknown[0]} is not a scenario entry: allowed name, description, "
            "seed_passage, rests_on"
        )
    if info.get("name") != path.stem:
        raise ParameterError(
            f"{where} scenario.name is {info.get('name')!r}: it must be the file's name, "
            f"{path.stem!r} (runs, sweeps and compare label the scenario by it)"
        )
    if not isinstance(info.get("description"), str) or not info["description"].strip():
        raise ParameterError(
            f"{where} scenario.description is missing: say in a sentence or two what "
            "situation the scenario sets (`cpec-sim scenarios` lists it)"
        )
    if not isinstance(info.get("seed_passage", ""), str):
        raise ParameterError(f"{where} scenario.seed_passage must be text (a quotation)")
    rests_on = info.get("rests_on") or []
    keys = {i.path for i in iter_params(ModelParams())}
    if not isinstance(rests_on, list) or not all(isinstance(k, str) for k in rests_on):
        raise ParameterError(f"{where} scenario.rests_on must be a list of parameter keys")
    for key in rests_on:
        if key not in keys:
            raise ParameterError(
                f"{where} scenario.rests_on names {key!r}, {_no_such_key(key, keys)}"
            )
    params = {k: v for k, v in data.items() if k != "scenario"}
    for key in flatten(params):
        if key not in keys and not any(k.startswith(f"{key}.") for k in keys):
            raise ParameterError(f"{where} {key!r} is {_no_such_key(key, keys)}")
    try:
        from_dict(params)
    except ParameterError as err:
        raise ParameterError(f"{where} {err}") from None


def _no_such_key(key: str, keys: set[str]) -> str:
    near = close_keys(key, sorted(keys))[:3]
    said = f": did you mean {' or '.join(near)}?" if near else ""
    return f"not a parameter{said} (`cpec-sim run --cfg job` lists every key)"


def scenario_params(name: str = "baseline", overrides: dict[str, Any] | None = None) -> ModelParams:
    """ModelParams of a scenario, with optional dotted-key overrides, validated."""
    data = {k: v for k, v in load_scenario(name).items() if k != "scenario"}
    set_dotted(data, _python_scalars(overrides or {}))
    return from_dict(data)


def with_overrides(params: ModelParams, overrides: dict[str, Any]) -> ModelParams:
    """``params`` with dotted-key overrides applied on top, validated (a new object)."""
    data = to_dict(params)
    set_dotted(data, _python_scalars(overrides))
    return from_dict(data)


def _python_scalars(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as the parameters' checks take them and the command line gives them:
    NumPy scalars (a notebook's ``np.int64(41)``, ``np.bool_(True)``, ``np.float32(0.3)``)
    as Python's (helper-180), and a whole float for a whole-number parameter (``41.0``, from
    ``np.linspace``) as an int, so that the run is the command line's ``key=41``, with its
    configuration hash (helper-181). Arrays are left to the checks, which refuse them."""
    types = key_types()
    out = {}
    for key, value in values.items():
        value = python_scalar(value)
        if types.get(key) == "int" and isinstance(value, float) and value.is_integer():
            value = int(value)
        out[key] = value
    return out


def python_scalar(value: Any) -> Any:
    """A NumPy scalar (or 0-d array) as Python's number or bool; anything else as it is."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def model_params_from_config(cfg: Any) -> ModelParams:
    """ModelParams from a composed config (OmegaConf node or dict), validated."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        data = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in MODEL_KEYS if k in cfg}
    else:
        data = {k: cfg[k] for k in MODEL_KEYS if k in cfg}
    return from_dict(data)


#: Declared upper limits of the run keys (larger is a typing mistake, or a cluster's job:
#: split it into several runs or a sweep). Sweeps: at most MAX_SWEEP_JOBS jobs.
MAX_REPLICATES = 1_000_000
MAX_WEEKS = 5_200  # a century
MAX_JOBS = 256
MAX_SEED = 2**63 - 1
#: A replicate's own seed (derived from the run's seed and its number) is a 64-bit word.
MAX_REPLICATE_SEED = 2**64 - 1
MAX_SWEEP_JOBS = 10_000

#: Names that become folder names (``scenario.name``, ``sweep_name``): no separators, no "..".
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,=+-]{0,99}")


def shown_value(value: Any) -> str:
    """A value as a one-line refusal shows it: text quoted, a bool as YAML writes it, one
    line, at most 60 characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value) if isinstance(value, str) else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def check_name(key: str, value: Any) -> None:
    """Raise :class:`ParameterError` unless ``value`` is safe as a folder name."""
    if not isinstance(value, str) or not _SAFE_NAME.fullmatch(value) or ".." in value:
        raise ParameterError(
            f"{key}={value!r} is not allowed: it names a folder, so use up to 100 letters, "
            "digits and _ . , = + - (starting with a letter or digit, no '..')"
        )


def check_count(key: str, value: Any, low: int, high: int, unset_ok: bool = False) -> None:
    if value is None and unset_ok:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = repr(value) if isinstance(value, str) else value
        raise ParameterError(
            f"{key}={shown} is not allowed: need a whole number from {low} to {high:,}"
            + (" (or leave unset)" if unset_ok else "")
        )


def checked_weeks(weeks: Any) -> int:
    """``weeks`` as an int (NumPy integers too); :class:`ParameterError` unless 1-MAX_WEEKS.

    For the model and the engine called from a notebook, which the command line's checks do
    not guard."""
    return whole_number("weeks", weeks, 1, MAX_WEEKS)


def whole_number(key: str, value: Any, low: int, high: int, unset_ok: bool = False) -> Any:
    """``value`` as an int (NumPy integers too; None if ``unset_ok`` and unset), or
    :class:`ParameterError` (:func:`check_count`) naming ``key``, for Python callers."""
    if value is None and unset_ok:
        return None
    with suppress(TypeError):
        value = value if isinstance(value, bool) else operator.index(value)
    check_count(key, value, low, high)
    return int(value)


def checked_seed(seed: Any) -> int:
    """A replicate's ``seed`` as an int (NumPy integers too); :class:`ParameterError` unless
    0-MAX_REPLICATE_SEED (replicate seeds are 64-bit words: ``sim.runner.replicate_seed``).

    ``None`` is refused: NumPy would draw a fresh seed, and the replicate could not be
    repeated."""
    return int(whole_number("seed", seed, 0, MAX_REPLICATE_SEED))


def check_run_keys(cfg: Any) -> None:
    """Validate the run keys; raise :class:`ParameterError` with one clear line."""
    check_count("replicates", cfg.replicates, 1, MAX_REPLICATES)
    check_count("weeks", cfg.weeks, 1, MAX_WEEKS)
    check_count("jobs", cfg.jobs, 1, MAX_JOBS, unset_ok=True)
    check_count("chunk_size", cfg.chunk_size, 1, MAX_REPLICATES, unset_ok=True)
    check_count("seed", cfg.seed, 0, MAX_SEED)
    check_backend(cfg.backend)
    check_streams(cfg.streams)
    check_name("sweep_name", cfg.sweep_name)
    check_name("scenario.name", cfg.scenario.name)


def posterior_for_run(cfg: Any, params: ModelParams) -> Posterior | None:
    """The posterior the ``parameters`` key names (None for ``defaults``), read and checked
    against ``params`` for the draws the run uses; :class:`ParameterError` (one line) if bad."""
    from sim.posterior import DEFAULTS, check_posterior, load_posterior

    posterior = load_posterior(str(cfg.get("parameters", DEFAULTS)))
    if posterior is not None:
        check_posterior(posterior, params, int(cfg.replicates))
    return posterior


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise :class:`ParameterError` (one line) unless ``value`` is one of ``choices``, the
    first of which is the default."""
    if value not in choices:
        raise ParameterError(
            f"{key}={value} is not allowed: choose {' or '.join(choices)} (default {choices[0]})"
        )


def check_backend(backend: str) -> None:
    """Raise :class:`ParameterError` (one line) unless ``backend`` is one of :data:`BACKENDS`."""
    _check_choice("backend", backend, BACKENDS)


def check_streams(streams: str) -> None:
    """Raise :class:`ParameterError` (one line) unless ``streams`` is one of :data:`STREAMS`."""
    _check_choice("streams", streams, STREAMS)


def resolved_chunk_size(chunk_size: int | None, replicates: int) -> int:
    """Replicates per chunk: as given, or about 50 chunks of 25 to 250 replicates (never from
    ``jobs``, so that the chunk files are the same for any number of workers).

    A chunk costs ~30 ms to write and assemble whatever its size, so fewer, larger chunks
    are cheaper; 25 replicates are ~0.15 s of one core's work, 250 about two seconds.
    """
    if chunk_size:
        return chunk_size
    return max(min(25, replicates), min(250, -(-replicates // 50)))


def resolved_jobs(jobs: int | None) -> int:
    """Worker processes to use: the given number, or every CPU this process may use."""
    from sim.workers import usable_cpus

    return jobs or usable_cpus()


def config_hash(
    params: ModelParams,
    seed: int,
    weeks: int,
    scenario: str,
    posterior_sha256: str | None = None,
    streams: str = "single",
) -> str:
    """Hash of everything that determines the replicates' results (not their number): the
    parameters, seed, horizon, scenario and the model's rules and data files
    (:func:`sim.fingerprint.model_fingerprint`: a run resumed after either changed would mix
    replicates of two models)

    With a posterior, its file's SHA-256 is part of the hash: another posterior is another run.
    """
    from sim.fingerprint import model_fingerprint

    data: dict[str, Any] = {
        "params": to_dict(params),
        "seed": seed,
        "weeks": weeks,
        "scenario": scenario,
        "model": model_fingerprint(),
    }
    if posterior_sha256 is not None:
        data["posterior_sha256"] = posterior_sha256
    if streams != "single":  # keyed draws: other replicates for the same seed
        data["streams"] = streams
    blob = json.dumps(data, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
