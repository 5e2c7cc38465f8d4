"""``cpec-sim``: a thin command-line face over functions a notebook can call too.

``cpec-sim run [overrides]`` is a Hydra app with the whole override grammar; the other
subcommands (scenarios, compare, plot, report, validate, dashboard) are plain argparse.
Bad input is reported in one line on stderr with exit code 2, before anything is written.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.commands import (
    a_command,
    interrupt_noted,
    noting_interrupts,
    output_closed,
    report_internal_error,
    report_interrupt,
    reraise_interrupt,
)
from sim.config import MAX_SWEEP_JOBS, other_suffix, resolved_jobs, scenario_names, shown_value
from sim.console import INTERRUPTED
from sim.files import is_system_folder, unwritable
from sim.folders import (
    ANALYSIS_FILES,
    HYDRA_RECORD,
    named_few,
    not_of_a_run,
    not_of_a_sweep,
    telling_entries,
)

USAGE = """usage: cpec-sim COMMAND [ARGS]

commands:
  run [overrides]       run a scenario or a sweep (Hydra: scenario=NAME replicates=N seed=S
                        weeks=W jobs=J key=value ..., -m for sweeps, +experiment=NAME, --cfg job)
  scenarios             list the scenarios
  compare DIR...        compare runs or a sweep (medians, intervals, differences)
  plot DIR              draw the plots of a run
  report DIR...         write a self-contained HTML report
  precision DIR...      how precisely the replicates pin each outcome down, and how many would
  validate              check the baseline against the observed record
  dashboard             start the teaching dashboard in the browser
  workshop              start a workshop room: role-play seats, shared clock, debrief
  sensitivity           global sensitivity analysis (Sobol, Morris)
  discover              scenario discovery (Latin hypercube + PRIM)
  calibrate             Bayesian calibration against the record (ABC-SMC), hindcast scores

`cpec-sim run --help` shows every parameter group; `cpec-sim run --cfg job` the resolved config.
"""

PASS_THROUGH_FLAGS = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "--version")
_EXIT_CODES: list[int] = []


def fail(message: str, code: int = 2) -> int:
    """Print one clear line on stderr and return the exit code (control characters escaped)."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)
    print(f"cpec-sim: error: {shown}", file=sys.stderr)
    return code


# --- Hydra set-up ---------------------------------------------------------------------
def _register() -> None:
    """Register the structured config schema and the run-directory resolvers (once)."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    from sim.config import RunConfig, load_scenario, user_scenarios

    ConfigStore.instance().store(name="run_schema", node=RunConfig)
    # one's own scenarios ($CPEC_SCENARIO_PATH) beside the shipped: every file read and
    # checked, not only the one chosen (a sweep may choose any)
    for name in user_scenarios():
        node = OmegaConf.create(load_scenario(name))
        ConfigStore.instance().store(group="scenario", name=name, node=node, package="_global_")
    if not OmegaConf.has_resolver("cpec_run_name"):
        OmegaConf.register_new_resolver("cpec_run_name", _run_name)
        OmegaConf.register_new_resolver("cpec_job_name", _job_name)


NOT_IN_DIR_NAME = ("scenario", "jobs", "plots", "hydra", "+experiment", "experiment")
#: Override keys that do not define a sweep's job (how it runs, not what it runs): they are
#: not in its folder's name, nor compared when a sweep looks for runs of other commands.
NOT_JOB_KEYS = ("jobs", "plots", "hydra", "experiment")


_UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+-]+")
_MAX_DIR_NAME = 150


def _dir_part(overrides: Any, skip: tuple[str, ...]) -> str:
    kept = []
    for item in overrides:
        if not _named(str(item).split("=", 1)[0].lstrip("+~"), skip):
            continue
        kept.append(_UNSAFE.sub("_", _canonical(str(item)).lstrip("+")).replace("..", "_"))
    return ",".join(sorted(kept))


def _canonical(item: str) -> str:
    """An override with its number or truth value in one spelling, so that equal values name
    one folder (``1_000`` and ``+1000`` as ``1000``, ``0.50`` as ``0.5``, ``True`` as
    ``true``); any other override as given."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    key, sep, _ = item.partition("=")
    try:
        value = OverridesParser.create().parse_override(item).value()
    except Exception:  # not Hydra's grammar: Hydra itself reports it
        return item
    if not sep or not isinstance(value, bool | int | float):
        return item
    if isinstance(value, float):
        value += 0.0  # -0.0 as 0.0
    return f"{key}={_override_text(value)}"


def labels_of(overrides: list[str], params: Any) -> list[str]:
    """A run's label from its command line's overrides, in the form a run made from Python
    stores (:func:`sim.runner.checked_labels`): a parameter's value as the run holds it
    (``0.20`` as ``0.2``, ``3`` for a real-valued one as ``3.0``, ``TRUE`` as ``true``), any
    other setting as :func:`_canonical` writes it. One configuration is then labelled alike
    however its command was typed, and alike from Python."""
    from sim.params import flatten, to_dict
    from sim.runner import shown_label

    values = flatten(to_dict(params))
    out = []
    for item in overrides:
        key = item.partition("=")[0].strip().lstrip("+")
        out.append(f"{key}={shown_label(values[key])}" if key in values else _canonical(item))
    return out


def _named(key: str, skip: tuple[str, ...]) -> bool:
    """Whether an override of ``key`` goes into a folder's name (hydra settings never do)."""
    return key.split(".")[0].split("/")[0] not in skip and not key.startswith("hydra")


def _folder_name(text: str) -> str:
    """``text`` as one folder name: long names keep their start and a hash of the whole."""
    if len(text) <= _MAX_DIR_NAME:
        return text
    import hashlib

    return f"{text[:_MAX_DIR_NAME]}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _run_name(scenario: str, overrides: Any) -> str:
    """Run directory name: the scenario, then any overrides that change the results."""
    part = _dir_part(overrides, NOT_IN_DIR_NAME)
    return _folder_name(f"{scenario},{part}" if part else scenario)


def _job_name(overrides: Any) -> str:
    """Sweep job directory name: the overrides that define the job."""
    return _folder_name(_dir_part(overrides, NOT_JOB_KEYS) or "default")


# --- pre-validation (before Hydra creates any directory) -------------------------------
def _friendly(exc: BaseException) -> str:
    """One line from a Hydra/OmegaConf composition error (the cause has the detail)."""
    from sim.config import scenario_names

    text = "\n".join(str(e) for e in (exc, exc.__cause__) if e is not None)
    full_key = ""
    for line in text.splitlines():
        if line.strip().startswith("full_key:"):
            full_key = line.split(":", 1)[1].strip()
    for group, names in (("scenario", scenario_names), ("experiment", experiment_names)):
        for verb in ("Could not find", "Could not load"):
            marker = f"{verb} '{group}/"
            if marker in text:
                name = text.split(marker, 1)[1].split("'", 1)[0]
                return f"unknown {group} {name!r}: choose one of {', '.join(names())}"
    if "not in" in text and "Key '" in text:
        key = full_key or text.split("Key '", 1)[1].split("'", 1)[0]
        return f"unknown key {key!r}: see `cpec-sim run --cfg job` for every key"
    if "could not be converted to" in text:
        value = text.split("Value '", 1)[1].split("'", 1)[0] if "Value '" in text else "?"
        kind = text.split("could not be converted to ", 1)[1].split()[0].lower()
        kind = {"float": "a number", "integer": "a whole number", "boolean": "true or false"}.get(
            kind, kind
        )
        return f"{full_key}={value!r} is not allowed: expected {kind}"
    if "is not a valid bool" in text:
        value = text.split("Value '", 1)[1].split("'", 1)[0] if "Value '" in text else "?"
        return f"{full_key}={value!r} is not allowed: expected true or false"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def experiment_names() -> list[str]:
    """Names of the shipped experiments."""
    from sim.config import config_dir

    return sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


def _compose(overrides: list[str]) -> Any:
    from hydra import compose

    return compose(config_name="config", overrides=overrides, return_hydra_config=True)


@dataclass
class Plan:
    """What a command will run, found by composing it before Hydra runs it."""

    error: str | None = None
    swept: dict[str, list[str]] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)  # keys given one value, as text
    sweep_dir: Path | None = None
    experiment: str | None = None
    jobs: int = 1  # Hydra jobs (1 unless a sweep)
    replicates: int = 0  # replicates per job
    weeks: int = 0
    composed: bool = False  # every job was composed and validated
    mode: Any = None  # the configuration's hydra.mode (RUN, MULTIRUN or None)
    #: A run's (not a sweep's) configuration, composed from ``overrides`` as Hydra composes
    #: the job it runs (:func:`_composed_once` hands it to Hydra).
    config: Any = None
    overrides: list[str] = field(default_factory=list)
    launcher: str = ""  # the composed hydra.launcher._target_ (command line or experiment)
    out_dir: Path | None = None  # the run's folder, or the sweep's


class Refused(Exception):
    """A command line that must not run (the message is the one line to print)."""


#: Hydra settings a user may change: where results go, and the cluster launcher.
HYDRA_KEYS = ("hydra.run.dir", "hydra.sweep.dir")
HYDRA_PREFIXES = ("hydra/launcher", "hydra.launcher.")


def _check_override(o: Any, types: dict[str, str]) -> None:
    """Refuse grammar that adds, deletes or force-adds keys, and unknown or hydra keys."""
    line, key = str(o.input_line), str(o.key_or_group)
    if o.is_delete():
        raise Refused(f"{line!r}: removing a setting (~) is not allowed: set the value instead")
    if o.is_force_add() or (o.is_add() and key != "experiment"):
        raise Refused(
            f"{line!r}: adding a key is not allowed (only +experiment=NAME); "
            "see `cpec-sim run --cfg job` for every key"
        )
    if o.package:
        raise Refused(f"{line!r}: @package is not allowed")
    if key == "experiment" and not o.is_add():
        raise Refused(f"{line!r}: choose an experiment with +experiment=NAME")
    if key.startswith("hydra"):
        if key.endswith("_folder") or key.endswith("_dir"):
            raise Refused(f"{line!r}: the launcher's folders stay inside the sweep folder")
        if key not in HYDRA_KEYS and not key.startswith(HYDRA_PREFIXES):
            raise Refused(
                f"{line!r}: {key} cannot be set (allowed hydra keys: "
                f"{', '.join(HYDRA_KEYS)}, hydra/launcher, hydra.launcher.*)"
            )
        return
    if key not in types and key not in ("scenario", "experiment"):
        raise Refused(f"unknown key {key!r}: {_nearest_keys(key, types)}")


#: Words of a key that asks where results go (``out=``, ``output_dir=``, ``results=``).
_OUTPUT_WORDS = frozenset({"out", "output", "outdir", "dir", "folder", "path", "results"})


def _nearest_keys(key: str, types: dict[str, str]) -> str:
    """Up to three known keys spelt like ``key``, and where to see them all."""
    from sim.params import close_keys

    near = close_keys(key, [*types, "scenario", "+experiment=NAME"])
    every = "see `cpec-sim run --cfg job` for every key"
    if not near and _OUTPUT_WORDS.intersection(key.lower().replace("-", "_").split("_")):
        return (
            "the run's folder follows from the command; choose another with "
            f"hydra.run.dir=PATH (a sweep's: sweep_name=NAME or hydra.sweep.dir=PATH) ({every})"
        )
    if not near:
        return every
    more = f" (and {len(near) - 3} more)" if len(near) > 3 else ""
    return f"did you mean {' or '.join(near[:3])}{more}? ({every})"


def _sweep_values(o: Any, names: list[str] | None) -> list[Any]:
    """The values a swept override takes (checked for size before they are listed)."""
    from hydra.core.override_parser.types import (
        ChoiceSweep,
        Glob,
        IntervalSweep,
        QuotedString,
        RangeSweep,
    )

    value, line = o.value(), str(o.input_line)
    if isinstance(value, IntervalSweep):
        raise Refused(f"{line!r}: interval() needs an optimising sweeper; use a list or range()")
    if isinstance(value, Glob):
        if names is None:
            raise Refused(f"{line!r}: glob() only chooses scenario or experiment names")
        return list(value.filter(names))
    if isinstance(value, RangeSweep):
        bounds = [float(x) if x is not None else math.nan for x in (value.start, value.stop)]
        step = float(value.step or 0)
        if not step or not all(math.isfinite(x) for x in (*bounds, step)):
            raise Refused(f"{line!r}: range() needs finite numbers and a non-zero step")
        count = max(0, math.ceil((bounds[1] - bounds[0]) / step))
        if count > MAX_SWEEP_JOBS:
            raise Refused(
                f"{line!r} sweeps {count:,} values: a sweep runs at most {MAX_SWEEP_JOBS:,} jobs"
            )
    if isinstance(value, ChoiceSweep | RangeSweep):  # quoted choices as their text
        values = [v.text if isinstance(v, QuotedString) else v for v in o.sweep_iterator()]
        repeated = next((v for i, v in enumerate(values) if v in values[:i]), None)
        if repeated is not None:  # two jobs of one configuration would share a folder
            raise Refused(f"{line!r} gives {_override_text(repeated)} twice: give each value once")
        return values
    raise Refused(f"{line!r}: this sweep is not supported: use a list or range()")


def _check_value(key: str, value: Any, types: dict[str, str]) -> None:
    """Refuse a value of the wrong type for ``key`` (booleans are booleans, numbers finite)."""
    if isinstance(value, str) and "${" in value:
        raise Refused(f"{key}={shown_value(value)} is not allowed: no ${{...}} interpolations")
    if key in HYDRA_KEYS and (not isinstance(value, str) or not value.strip()):
        raise Refused(f"{key}={shown_value(value)} is not allowed: give a folder")
    if key in HYDRA_KEYS and value.startswith("~"):
        raise Refused(f"{key}={shown_value(value)} is not allowed: write the home folder out")
    if key.startswith("hydra"):
        return
    if key in ("scenario", "experiment"):
        names = scenario_names() if key == "scenario" else experiment_names()
        if isinstance(value, list | dict):
            raise Refused(f"{key} takes one name; to run several, sweep: -m {key}=a,b")
        if value not in names:
            hint = other_suffix(str(value)) if key == "scenario" else ""
            raise Refused(f"unknown {key} {value!r}: choose one of {', '.join(names)}{hint}")
        return
    kind = types[key]
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value),
        "str": isinstance(value, str | int | float) and not isinstance(value, bool),
    }.get(kind, True)
    if value is None and key in ("jobs", "chunk_size"):
        ok = True
    if not ok:
        expected = {
            "bool": "true or false",
            "int": "a whole number",
            "float": "a finite number",
            "str": "one word",
        }[kind]
        raise Refused(f"{key}={shown_value(value)} is not allowed: expected {expected}")


def _swept_before(folder: Path) -> list[str] | None:
    import json

    try:
        data = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
        return sorted(str(k) for k in data["swept"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_output_dir(
    path: Path, key: str, swept: list[str] | None = None, typed: bool = True
) -> None:
    """Refuse an output folder outside ``results/`` (unless absolute), in a system folder,
    that is a file, that holds anything but a cpec-sim run (``swept`` None) or a sweep of
    the same keys, or that cannot be written. ``typed``: the command line gave ``key``
    (else the folder is the default one, named after the overrides)."""
    cwd = Path.cwd()
    literal = Path(os.path.normpath(cwd / path))
    if not path.is_absolute() and not literal.is_relative_to(os.path.normpath(cwd / "results")):
        raise Refused(
            f"{key}={path} is not allowed: a relative output folder stays inside results/ "
            "(give an absolute path to write elsewhere)"
        )
    where = literal.resolve()
    if is_system_folder(where):
        raise Refused(f"{key}={path} is not allowed: {where} is a system or home folder")
    if where.exists() and not where.is_dir():
        raise Refused(f"{key}={path} is a file: choose another folder")
    if where.is_dir():
        foreign = not_of_a_run(where) if swept is None else not_of_a_sweep(where)
        if foreign:
            what = "a run" if swept is None else "a sweep"
            named = named_few(foreign)
            subject = f"{key}={path} is not allowed: {where}" if typed else f"the folder {where}"
            other = f"{key}=PATH" if typed or swept is None else "sweep_name=NAME"
            raise Refused(
                f"{subject} holds what is not {what} of cpec-sim ({named}); move it out, or "
                f"choose another folder with {other}"
            )
        before = _swept_before(where) if swept is not None else None
        if before is not None and before != sorted(swept or []):
            raise Refused(
                f"{where} holds another sweep (of {', '.join(before) or 'nothing'}): "
                "choose another sweep_name"
            )
    problem = unwritable(where)
    if problem:
        raise Refused(f"{key}={path} is not allowed: {problem}")


def prevalidate(args: list[str]) -> Plan:
    """Compose and validate every job the command would run (errors in ``Plan.error``)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.config import config_dir
    from sim.params import ParameterError

    plan = Plan()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(
            config_dir=str(config_dir()), version_base="1.3", job_name=_hydra_job_name()
        ):
            _plan(args, plan)
    except Exception as exc:
        reraise_interrupt(exc)  # Ctrl-C, turned into another error by a library
        if isinstance(exc, Refused | ParameterError):
            plan.error = str(exc)
        elif isinstance(exc, RecursionError):
            plan.error = "the overrides nest too deeply"
        else:  # Hydra's and OmegaConf's composition errors
            plan.error = _friendly(exc)
    finally:
        GlobalHydra.instance().clear()
    return plan


def _hydra_job_name() -> str:
    """The job's name as ``hydra.main`` names it for :func:`_task` (``hydra.job.name``), so
    that a configuration composed here is the one Hydra composes for the job."""
    from hydra._internal.utils import (
        detect_calling_file_or_module_from_task_function,
        detect_task_name,
    )

    calling_file, calling_module = detect_calling_file_or_module_from_task_function(_task)
    return str(detect_task_name(calling_file, calling_module))


def _parse(args: list[str]) -> list[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    bare = [a for a in _overrides_of(args) if "=" not in a and not a.startswith("~")]
    if bare:
        raise Refused(_bare_word(bare[0]))
    try:
        return list(OverridesParser.create().parse_overrides(_overrides_of(args)))
    except Exception as exc:
        reraise_interrupt(exc)
        first = str(exc).splitlines()[0]
        hint = (
            " (a value with quotes, brackets or letters beyond ASCII goes in quotes Hydra "
            "reads: 'key=\"value\"', the whole override in single quotes for the shell)"
            if "LexerNoViableAlt" in first or "mismatched input" in first
            else ""
        )
        raise Refused(f"cannot parse the overrides: {first}{hint}") from None


def _bare_word(word: str) -> str:
    """The refusal of an override without ``=``: what was probably meant."""
    if word in scenario_names():
        return f"{word!r} is a scenario: write scenario={word}"
    if word in experiment_names():
        return f"{word!r} is an experiment: write +experiment={word}"
    return (
        f"{word!r} is not an override: write key=value (scenario=NAME, replicates=N, ...; "
        "`cpec-sim scenarios` lists the scenarios)"
    )


def _is_group(key: str) -> bool:
    """Keys that choose config files (composed by Hydra), not values set on a config."""
    return key in ("scenario", "experiment") or key.startswith("hydra")


def _group_line(key: str, value: Any) -> str:
    return f"{'+' if key == 'experiment' else ''}{key}={_override_text(value)}"


#: Whether a run (not a sweep) hands Hydra the configuration :func:`prevalidate` composed
#: and checked, instead of Hydra composing it again (a test runs both ways).
REUSE_COMPOSED_RUN = True


@functools.lru_cache(maxsize=32)
def _composed(group_lines: tuple[str, ...], where: str) -> Any:
    """The config Hydra composes from the config files chosen by ``group_lines`` (cached)."""
    return _compose(list(group_lines))


def _configured(
    group_lines: list[str], updates: dict[str, Any], task: list[str], where: str
) -> Any:
    """A composed config with values set on it, as Hydra would record the job's ``task``.

    Composing is the slow part of validation (~0.15 s); it depends only on the files chosen,
    so it is done once per choice and the values are set on a copy (~0.02 s).
    """
    from omegaconf import OmegaConf, open_dict

    cfg = copy.deepcopy(_composed(tuple(group_lines), where))
    for key, value in updates.items():
        OmegaConf.update(cfg, key, value, merge=False)
    with open_dict(cfg.hydra):
        cfg.hydra.overrides.task = task
    return cfg


def _plan(args: list[str], plan: Plan) -> None:
    """Fill ``plan`` for ``args``; raise :class:`Refused` or ParameterError."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.config import check_run_keys, config_dir, key_types

    types, where = key_types(), str(config_dir())
    multirun = any(a in ("-m", "--multirun") for a in args)
    parsed = _parse(args)
    groups: list[str] = []  # override lines that choose files
    values: dict[str, Any] = {}  # keys set to one value
    swept: dict[str, list[Any]] = {}
    for o in parsed:
        _check_override(o, types)
        key = str(o.key_or_group)
        if key in values or key in swept or any(g.split("=")[0].lstrip("+") == key for g in groups):
            raise Refused(f"{key} is given twice: give each key once")
        if o.is_sweep_override():
            if not multirun:
                raise Refused(f"{o.input_line!r} sweeps several values: add -m (multirun)")
            if key in ("experiment", "sweep_name") or key.startswith("hydra"):
                raise Refused(f"{key} cannot be swept: one command, one sweep folder")
            swept[key] = _sweep_values(o, _group_names(key))
            for value in swept[key]:
                _check_value(key, value, types)
        else:
            _check_value(key, o.value(), types)
            if _is_group(key):
                groups.append(str(o.input_line))
            else:
                values[key] = o.value()
    _check_sweep_size(swept)

    def job(choice: dict[str, Any]) -> Any:
        """The config of the job that takes ``choice`` for the swept keys."""
        lines = groups + [_group_line(k, v) for k, v in choice.items() if _is_group(k)]
        updates = {**values, **{k: v for k, v in choice.items() if not _is_group(k)}}
        task = [str(o.input_line) for o in parsed if not o.is_sweep_override()]
        task += [f"{k}={_override_text(v)}" for k, v in choice.items()]
        task = [t for t in task if not t.lstrip("+").startswith("hydra")]
        return _configured(lines, updates, task, where)

    first = {k: v[0] for k, v in swept.items()}
    experiment = any(str(o.key_or_group) == "experiment" for o in parsed)
    served = REUSE_COMPOSED_RUN and not (multirun or swept or experiment)
    # a run is composed as Hydra composes its job (and Hydra then uses it: _composed_once);
    # a sweep's jobs share the composition of each choice of config files (job)
    overrides = _overrides_of(args)
    base = _compose(overrides) if served else job(first)
    sweeper = base.hydra.get("sweeper", {}).get("params") or {}
    given = {*values, *(g.split("=")[0].lstrip("+") for g in groups)}
    # an experiment's sweep of a key the command line sets is no sweep: Hydra keeps the value
    added = [key for key in sweeper if key not in swept and key not in given]
    for key in added:  # an experiment's own sweeps
        o = OverridesParser.create().parse_overrides([f"{key}={sweeper[key]}"])[0]
        swept[str(key)] = _sweep_values(o, _group_names(str(key)))
    if added:
        _check_sweep_size(swept)
        first = {k: v[0] for k, v in swept.items()}
        base = job(first)
        served = False
    HydraConfig.instance().set_config(base)
    check_run_keys(base)
    model_keys = {*values, *(k for k in swept if not _is_group(k))}
    _check_job(base, model_keys)
    sweeping = multirun or bool(sweeper)
    out_key = "hydra.sweep.dir" if sweeping else "hydra.run.dir"
    out = Path(str(base.hydra.sweep.dir if sweeping else base.hydra.run.dir))
    for key, options in swept.items():
        for value in options[1:]:
            if _is_group(key):
                cfg = job({**first, key: value})
                check_run_keys(cfg)
                _check_job(cfg, model_keys)
            else:
                _check_value_in(base, key, value, model_keys)
    # the values first: a bad value is the thing to fix, whatever the folder holds
    check_output_dir(out, out_key, sorted(swept) if sweeping else None, out_key in given)
    plan.swept = {k: [_override_text(v) for v in vs] for k, vs in swept.items()}
    plan.sweep_dir = out if sweeping else None
    plan.out_dir = out
    plan.jobs = math.prod(len(v) for v in swept.values()) if swept else 1
    plan.replicates, plan.weeks = int(base.replicates), int(base.weeks)
    plan.composed, plan.mode = True, base.hydra.get("mode")
    if served and not sweeping:
        plan.config, plan.overrides = base, list(overrides)
    plan.launcher = str(base.hydra.launcher.get("_target_", ""))
    plan.experiment = next(
        (str(o.value()) for o in parsed if str(o.key_or_group) == "experiment"), None
    )
    plan.fixed = {
        str(o.key_or_group).lstrip("+~"): _override_text(o.value())
        for o in parsed
        if not o.is_sweep_override()
    }


def _group_names(key: str) -> list[str] | None:
    if key == "scenario":
        return scenario_names()
    if key == "experiment":
        return experiment_names()
    return None


def _override_text(value: Any) -> str:
    """A parsed value written back as override text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value if re.fullmatch(r"[\w./-]*", value) and value else repr(value)
    return str(value)


def _check_sweep_size(swept: dict[str, list[Any]]) -> None:
    jobs = math.prod(len(v) for v in swept.values()) if swept else 1
    if jobs > MAX_SWEEP_JOBS:
        raise Refused(
            f"the sweep has {jobs:,} jobs: at most {MAX_SWEEP_JOBS:,} (split it, "
            "or sweep fewer values)"
        )
    empty = [k for k, v in swept.items() if not v]
    if empty:
        raise Refused(f"the sweep of {empty[0]} has no values")


def _check_scenario_name(cfg: Any) -> None:
    """Refuse ``scenario.name`` set to another shipped scenario's name, or holding a comma or
    ``=``: the run of this scenario's parameters took that scenario's folder (or one named as
    if by other overrides) and label, and the real run was then refused there as "another
    configuration"."""
    chosen = str(cfg.hydra.runtime.choices.get("scenario", ""))
    name = str(cfg.scenario.name)
    if name != chosen and ("," in name or "=" in name):  # 'iran_border,replicates=3'
        raise Refused(
            f"scenario.name={name!r} is not allowed: it begins the run folder's name, where "
            "commas and = separate the overrides (use letters, digits and _ . + -)"
        )
    if chosen and name != chosen and name in scenario_names():
        raise Refused(
            f"scenario.name={name} is another scenario's name: run it with scenario={name} "
            f"(scenario.name relabels a run of the scenario chosen, here {chosen})"
        )


def _check_job(cfg: Any, given: Collection[str] = ()) -> None:
    """Validate one composed job: the data, its parameters and its posterior, which must not
    draw a parameter the command line sets (``given``: the keys it sets or sweeps)."""
    from sim.config import model_params_from_config, posterior_for_run
    from sim.posterior import refuse_drawn_keys
    from sim.space import load_places

    load_places()  # the data's own checks (read once)
    _check_scenario_name(cfg)
    posterior = posterior_for_run(cfg, model_params_from_config(cfg))
    if posterior is not None:
        refuse_drawn_keys(posterior, given, str(cfg.parameters))


def _check_value_in(base: Any, key: str, value: Any, given: Collection[str] = ()) -> None:
    """Validate ``base`` with ``key`` set to ``value`` (restored afterwards; ``given``: as
    :func:`_check_job`'s)."""
    from omegaconf import OmegaConf

    from sim.config import RUN_KEYS, check_run_keys

    old = OmegaConf.select(base, key)
    OmegaConf.update(base, key, value, merge=False)
    try:
        check_run_keys(base)
        if key not in RUN_KEYS or key in ("replicates", "parameters"):  # else: same parameters
            _check_job(base, given)
    finally:
        OmegaConf.update(base, key, old, merge=False)


# --- the Hydra task --------------------------------------------------------------------
def _task(cfg: Any) -> int:
    """One Hydra job; whatever goes wrong is reported in one line (Hydra would print a
    traceback) and recorded as the job's exit code."""
    from hydra.core.hydra_config import HydraConfig

    try:
        return _job(cfg)
    except Exception as exc:
        reraise_interrupt(exc)  # Ctrl-C, turned into another error by a library
        if isinstance(exc, BrokenPipeError) and output_closed():  # `cpec-sim run | head`
            return 0  # the reader left; the results stand
        if isinstance(exc, OSError):
            message = f"cannot write {exc.filename or 'the results'}: {exc.strerror or exc}"
            code = fail(message, 1)
        else:
            message = f"internal error: {type(exc).__name__}: {exc}"
            code = report_internal_error("cpec-sim", exc)
    _note_job(Path(HydraConfig.get().runtime.output_dir), "failed", message)
    _EXIT_CODES.append(code)
    return code


#: Where a sweep's jobs leave word of a refusal or failure that their manifest cannot hold
#: (the job may run in another process, under a launcher); :func:`write_sweep_index` reads it.
JOB_NOTES = ".jobs"


def _note_job(run_dir: Path, status: str | None, message: str = "") -> None:
    """In a sweep, record (or with ``status`` None clear) what happened to this job."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from sim.files import atomic_write_json

    if HydraConfig.get().mode != RunMode.MULTIRUN:
        return
    note = run_dir.parent / JOB_NOTES / f"{run_dir.name}.json"
    if status is None:
        note.unlink(missing_ok=True)
    else:
        given = [str(o) for o in HydraConfig.get().overrides.task]
        line = message.splitlines()[0]
        atomic_write_json(note, {"status": status, "message": line, "overrides": given})


@functools.cache
def _note_jobs_above_cpus(jobs: int | None) -> None:
    """A note (once per process: a sweep's jobs share it) when ``jobs`` asks for more workers
    than the CPUs this process may use (a laptop's cores, or a SLURM job's ``cpus_per_task``):
    they would take turns on them."""
    from sim.workers import usable_cpus

    cpus = usable_cpus()
    if jobs and jobs > cpus:
        print(
            f"note: jobs={jobs} is more than the {cpus} CPU(s) this process may use: the "
            "workers take turns on them, which is slower, not faster (leave jobs out to use "
            "every CPU it may use)",
            file=sys.stderr,
        )


def _job(cfg: Any) -> int:
    """One Hydra job: validate, run the replicates, print the summary, plot."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sim.config import (
        check_run_keys,
        model_params_from_config,
        posterior_for_run,
        resolved_chunk_size,
        resolved_jobs,
    )
    from sim.params import ParameterError
    from sim.posterior import shadowed_keys
    from sim.results import summary_table
    from sim.runner import RunSpec, earlier_chunk_size, run

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    try:
        check_run_keys(cfg)
        params = model_params_from_config(cfg)
        posterior = posterior_for_run(cfg, params)
    except ParameterError as exc:
        _remove_hydra_leftovers(run_dir)
        code = fail(str(exc))
        _note_job(run_dir, "refused", str(exc))
        _EXIT_CODES.append(code)
        return code
    overrides = labels_of(
        [o for o in hc.overrides.task if not o.split("=")[0].lstrip("+").startswith("hydra")],
        params,
    )
    spec = RunSpec(
        params=params,
        scenario=cfg.scenario.name,
        description=" ".join(str(cfg.scenario.description).split()),
        replicates=cfg.replicates,
        seed=cfg.seed,
        weeks=cfg.weeks,
        jobs=resolved_jobs(cfg.jobs),
        chunk_size=resolved_chunk_size(
            cfg.chunk_size or earlier_chunk_size(run_dir, cfg.replicates), cfg.replicates
        ),
        overrides=list(overrides),
        config_yaml=OmegaConf.to_yaml(cfg, resolve=True),
        backend=cfg.backend,
        streams=cfg.streams,
        posterior=posterior,
        records=_hydra_record(cfg),
    )
    sweeping = hc.mode == RunMode.MULTIRUN
    given = [*hc.overrides.task, *hc.overrides.hydra]
    named = any(str(o).lstrip("+~").startswith("hydra.run.dir=") for o in given)
    twin = (
        None
        if sweeping or named  # a folder asked for is the folder used (helper-192)
        else _same_run_spelt_otherwise(
            run_dir, spec.config_hash, list(spec.overrides), spec.replicates, spec.backend
        )
    )
    if twin is not None:
        run_dir = twin
        spec.chunk_size = resolved_chunk_size(
            cfg.chunk_size or earlier_chunk_size(run_dir, cfg.replicates), cfg.replicates
        )
    _note_jobs_above_cpus(cfg.jobs)
    if posterior is not None:
        if posterior.note:
            print(f"note: {posterior.note}", file=sys.stderr)
        if spec.replicates < posterior.draws:
            print(
                f"note: {spec.replicates} replicates use {spec.replicates} of the posterior's "
                f"{posterior.draws_said()}, replicate i running draw i mod "
                f"{posterior.draws:,}: give replicates={posterior.draws} or more to use them all",
                file=sys.stderr,
            )
        shadowed = shadowed_keys(posterior, spec.scenario, spec.overrides)
        if shadowed:
            print(
                f"note: the posterior sets {', '.join(shadowed)} in every replicate "
                "(the scenario's or command line's value is not used)",
                file=sys.stderr,
            )
    before = _result_files(run_dir)
    try:
        outcome = run(spec, run_dir, progress=None if sweeping else sys.stderr)
    except ParameterError as exc:
        code = fail(str(exc))
        _note_job(run_dir, "refused", str(exc))
        _EXIT_CODES.append(code)
        return code
    _note_job(run_dir, None)
    if outcome.new and (before is None or _result_files(run_dir) != before):
        _forget_earlier_analysis(run_dir)
    if sweeping:
        done = outcome.done_replicates
        noun = "replicate " if done == 1 else "replicates"
        if done != spec.replicates:  # helper-172: as a run's line says it
            noun = f"of {spec.replicates} replicates"
        print(f"{outcome.status:11s} {done:6d} {noun}  {run_dir.name}")
        if outcome.status == "failed" and outcome.message:
            print(f"            {outcome.message}")
        _EXIT_CODES.append(outcome.exit_code)
        in_process = str(hc.launcher.get("_target_", "")).endswith(".BasicLauncher")
        if outcome.status == "interrupted" and in_process:
            raise KeyboardInterrupt  # Ctrl-C stops the sweep (in a launcher's worker: its job)
        return outcome.exit_code
    done = outcome.done_replicates
    of = "" if done == spec.replicates else f" of {spec.replicates}"  # helper-171
    plural = "s" if done != 1 or of else ""
    print(f"\n{spec.scenario}: {outcome.status} ({done}{of} replicate{plural})")
    if outcome.done_replicates and (run_dir / "summary.parquet").exists():
        print(summary_table(run_dir))
        stale = outcome.new or not _figures_up_to_date(run_dir)
        if cfg.plots and outcome.status != "interrupted" and stale:
            _plot(run_dir)
    if outcome.message:
        print(f"note: {outcome.message}", file=sys.stderr)
    if outcome.status == "interrupted":
        print("re-run the same command to resume", file=sys.stderr)
    print(f"run directory: {run_dir}")
    _EXIT_CODES.append(outcome.exit_code)
    return outcome.exit_code


def _figures_up_to_date(run_dir: Path) -> bool:
    """Whether the run's ``plots/`` holds the figures cpec-sim would draw now (a user's file
    there does not count, nor figures drawn by another version or of other results)."""
    from sim.analysis.plots import figures_up_to_date

    return figures_up_to_date(run_dir)


def _result_files(run_dir: Path) -> dict[str, Any] | None:
    """The result files' checksums in the run's manifest (None without a complete run): a
    repair that rebuilt a damaged file with the same bytes leaves the analysis of it valid."""
    from sim.runner import read_manifest

    manifest = read_manifest(run_dir)
    files = manifest.get("files") if manifest and manifest.get("status") == "complete" else None
    if not isinstance(files, dict):
        return None
    results = {k: v for k, v in files.items() if k.endswith(".parquet")}  # not config.yaml
    return results or None


def _forget_earlier_analysis(run_dir: Path) -> None:
    """A run that has new results: remove the figures of its earlier results, and say which
    analysis files beside it (``report.html``, a comparison) describe them."""
    if (run_dir / "plots").is_dir():  # else nothing to remove, and pandas not imported
        from sim.analysis.plots import remove_run_figures

        remove_run_figures(run_dir)
    kept = [e.name for e in telling_entries(run_dir) if e.name in ANALYSIS_FILES]
    if kept:
        print(
            f"note: {', '.join(sorted(kept)[:3])}{' and more' if len(kept) > 3 else ''} in "
            f"{run_dir} describe{'s' if len(kept) == 1 else ''} its earlier results: "
            "write them again",
            file=sys.stderr,
        )


def _plot(run_dir: Path) -> None:
    """Draw a finished run's figures, holding its folder's lock as `cpec-sim plot` does."""
    try:
        from sim.analysis.cli import plot_locked
        from sim.analysis.runs import ResultsError
    except ImportError as exc:
        reraise_interrupt(exc)
        return
    print("drawing the figures ...", file=sys.stderr, flush=True)
    try:
        paths = plot_locked(run_dir)
    except ResultsError as exc:  # another command took the folder once the run let it go
        print(
            f"warning: figures not drawn: {exc}; draw them with `cpec-sim plot {run_dir}`",
            file=sys.stderr,
        )
        return
    except Exception as exc:  # the results are safe on disk; a figure must not fail the run
        reraise_interrupt(exc)
        print(
            f"warning: plotting failed ({exc!r}); retry with `cpec-sim plot {run_dir}`",
            file=sys.stderr,
        )
        return
    if paths:
        print(f"plots: {run_dir / 'plots'} ({len(paths)} files)")


def _same_run_spelt_otherwise(
    run_dir: Path, config_hash: str, overrides: list[str], replicates: int, backend: str
) -> Path | None:
    """The folder beside ``run_dir`` that holds this configuration (``config_hash``), made by
    a command whose settings differ from this one's (``overrides``) only in how their values
    are spelt (``china.initial_patience=1`` where this command says ``=1.0``, ``'hostile'``
    for ``hostile``: a folder is named as the command is typed), which the run then resumes,
    grows or reads (helper-186: the second spelling had run every replicate again into a
    second folder, labelled alike); None if there is none, or ``run_dir`` holds anything.

    Only folders the command line made (they hold its ``.hydra`` record), with the same
    number of replicates and the same backend, count: helper-192 found a run made from Python, with
    no run keys in its overrides, taken and grown by a command of other replicates."""
    from sim.folders import HYDRA_RECORD
    from sim.runner import read_manifest

    if (run_dir.is_dir() and any(run_dir.iterdir())) or not run_dir.parent.is_dir():
        return None
    wanted = _folder_settings(overrides)
    for other in sorted(run_dir.parent.iterdir()):
        if other == run_dir or not (other / HYDRA_RECORD).is_dir():
            continue
        manifest = read_manifest(other) or {}
        given = manifest.get("overrides")
        if manifest.get("config_hash") != config_hash or not isinstance(given, list):
            continue
        same_run = (manifest.get("replicates"), manifest.get("backend")) == (replicates, backend)
        if same_run and _folder_settings([str(o) for o in given]) == wanted:
            _remove_hydra_leftovers(run_dir)
            print(
                f"note: {other} holds this configuration, its values spelt otherwise: "
                "this run uses it",
                file=sys.stderr,
            )
            return other
    return None


def _folder_settings(overrides: list[str]) -> dict[str, Any]:
    """The settings that name a run's folder, each value in one spelling (:func:`_value_key`)."""
    out = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("+~")
        if sep and _named(key, NOT_IN_DIR_NAME):
            out[key] = _value_key(value.strip())
    return out


def _remove_hydra_leftovers(run_dir: Path) -> None:
    """Remove the folder Hydra made for a job that never started, if it is empty."""
    with contextlib.suppress(OSError):
        run_dir.rmdir()


def _hydra_record(cfg: Any) -> dict[str, str]:
    """The files Hydra writes into a job's ``.hydra/`` (its composed configuration, Hydra's
    own, the overrides), for the runner to write once the folder is accepted.

    ``hydra.output_subdir`` is null in ``configs/config.yaml``: Hydra would write them before
    the job starts, over the record of another run that the job then refuses to touch.
    """
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    hydra_cfg: Any = HydraConfig.instance().cfg
    return {
        f"{HYDRA_RECORD}/config.yaml": OmegaConf.to_yaml(cfg),
        f"{HYDRA_RECORD}/hydra.yaml": OmegaConf.to_yaml(hydra_cfg),
        f"{HYDRA_RECORD}/overrides.yaml": OmegaConf.to_yaml(hydra_cfg.hydra.overrides.task),
    }


#: Options of ``cpec-sim run`` (Hydra's): those that take a value, and the values allowed.
FLAG_VALUES = {"--cfg": ("job", "hydra", "all"), "-c": ("job", "hydra", "all")}
INFO_TOPICS = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")
FLAGS = ("-m", "--multirun", "--resolve", "--help", "-h", "--hydra-help", "--info", "-i",
         "--version", "--cfg", "-c")  # fmt: skip
#: Options after which nothing is run (so nothing needs validating).
INFO_FLAGS = ("--help", "-h", "--hydra-help", "--info", "-i", "--version")


def _as_a_setting(name: str, eq: str, value: str, rest: list[str]) -> str:
    """`` (a setting is key=value: replicates=5)`` when an unknown option ``--replicates 5``
    names a setting of ``cpec-sim run`` (helper-171: the error listed Hydra's options only)."""
    from sim.config import key_types

    key = name.lstrip("-").replace("-", "_")
    if not name.startswith("--") or (key not in key_types() and key != "scenario"):
        return ""
    if not eq and rest and not rest[0].startswith("-") and "=" not in rest[0]:
        value = rest[0]
    shown = value or ("NAME" if key == "scenario" else "VALUE")
    return f" (a setting is given as key=value: {key}={shown})"


def split_args(args: list[str]) -> tuple[list[str], list[str]]:
    """Options and overrides, in any order on the command line (options first for Hydra)."""
    flags: list[str] = []
    overrides: list[str] = []
    items = list(args)
    while items:
        item = items.pop(0)
        if not item.startswith("-"):
            overrides.append(item)
            continue
        name, eq, value = item.partition("=")
        if name not in FLAGS:
            raise Refused(f"unknown option {name!r}{_as_a_setting(name, eq, value, items)}: "
                          f"choose from {', '.join(FLAGS)}")  # fmt: skip
        if name in FLAG_VALUES:
            if not eq:
                value = items.pop(0) if items else ""
            if value not in FLAG_VALUES[name]:
                allowed = ", ".join(FLAG_VALUES[name])
                raise Refused(f"{name} needs one of {allowed} (got {value!r})")
            flags += [name, value]
        elif name in ("--info", "-i"):
            topic = value if eq else (items.pop(0) if items and items[0] in INFO_TOPICS else "")
            flags += [name, topic] if topic else [name]
        elif eq:
            raise Refused(f"option {name} takes no value (got {item!r})")
        else:
            flags.append(name)
    _check_flag_combination(flags)
    return flags, overrides


def _check_flag_combination(flags: list[str]) -> None:
    """Hydra's rules: one mode at most; --resolve only with --cfg or --help."""
    modes = {"-m": "-m", "--multirun": "-m", "--cfg": "--cfg", "-c": "--cfg", "--info": "--info"}
    modes["-i"] = "--info"
    chosen = sorted({modes[f] for f in flags if f in modes})
    if len(chosen) > 1:
        raise Refused(f"{' and '.join(chosen)} cannot be combined: choose one")
    if "--resolve" in flags and not {"--cfg", "-c", "--help", "-h"} & set(flags):
        raise Refused("--resolve only goes with --cfg or --help")


def _overrides_of(args: list[str]) -> list[str]:
    return split_args(args)[1]


def _start_workers_early(overrides: list[str]) -> None:
    """Start the run's worker server now, so that it loads the compiled engine (~1.5 s) while
    this process composes and validates the configuration; the runner's pool forks from it.

    A guess from the command line, and only a head start: nothing depends on it.
    """
    from sim.workers import run_preload, start_worker_server

    given = dict(o.split("=", 1) for o in overrides if "=" in o and not o.startswith("+"))
    if given.get("jobs") == "1" or ("jobs" not in given and resolved_jobs(None) <= 1):
        return
    if "hydra/launcher" in given:  # the jobs run in other processes (a cluster, joblib)
        return
    start_worker_server(run_preload(given.get("backend", "compiled"), given.get("streams", "")))


@contextlib.contextmanager
def _composed_once(plan: Plan) -> Iterator[None]:
    """Spare Hydra the compositions that :func:`prevalidate` has already made.

    * Hydra composes the whole configuration an extra time only to read ``hydra.mode``
      (``Hydra.get_mode``); the plan knows it (a user cannot set ``hydra.mode``:
      :func:`_check_override`).
    * A run's job: the plan composed it from the same overrides, as Hydra does (the same
      config folder, job name and call), and validated it; Hydra runs that configuration
      (:func:`_served_run_config`) instead of composing it again.
    * Its sweeper composes every job of a sweep before launching any, to find a job that
      cannot be composed (``Sweeper.validate_batch_is_legal``); the launcher then composes
      each again to run it. The plan composed every choice of config files and checked
      every value, so no job can fail that check.

    Each composition costs ~40-100 ms: a run saves one, a sweep of 8 jobs ~0.3 s.
    """
    from hydra._internal.hydra import Hydra
    from hydra.plugins.sweeper import Sweeper

    if not plan.composed:
        yield
        return
    shortcuts: dict[tuple[Any, str], Any] = {
        (Hydra, "get_mode"): lambda self, config_name, overrides: plan.mode,
        (Sweeper, "validate_batch_is_legal"): lambda self, batch: None,
    }
    if plan.config is not None:
        shortcuts[Hydra, "compose_config"] = _served_run_config(plan, Hydra.compose_config)
    originals = {where: getattr(*where) for where in shortcuts if hasattr(*where)}
    for cls, name in originals:
        setattr(cls, name, shortcuts[cls, name])
    try:
        yield
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)


def _served_run_config(plan: Plan, compose_config: Callable[..., Any]) -> Callable[..., Any]:
    """``Hydra.compose_config`` returning the plan's configuration for the run's own call
    (once: Hydra's run fills in its runtime fields), else composing as Hydra does.

    Where the configuration leaves ``hydra.mode`` unset (as the shipped ones do), Hydra's
    ``_run_app`` composes the run with ``hydra.mode=RUN`` added to the overrides: the plan's
    configuration gets that override as Hydra applies and records it."""
    from hydra.types import RunMode
    from omegaconf import open_dict, read_write

    served: list[bool] = []
    mode_added = plan.mode is None
    expected = plan.overrides + (["hydra.mode=RUN"] if mode_added else [])

    def compose(
        self: Any,
        config_name: str | None,
        overrides: list[str],
        run_mode: Any,
        with_log_configuration: bool = False,
        from_shell: bool = True,
        validate_sweep_overrides: bool = True,
    ) -> Any:
        ours = config_name == "config" and run_mode == RunMode.RUN
        if not ours or served or list(overrides) != expected:
            return compose_config(
                self,
                config_name,
                overrides,
                run_mode,
                with_log_configuration,
                from_shell,
                validate_sweep_overrides,
            )
        served.append(True)
        cfg = plan.config
        if mode_added:
            with read_write(cfg.hydra), open_dict(cfg.hydra):
                cfg.hydra.mode = RunMode.RUN
                cfg.hydra.overrides.hydra.append("hydra.mode=RUN")
        if with_log_configuration:  # what compose_config does besides composing
            import logging

            import hydra._internal.hydra as hydra_internal
            from hydra.core.utils import configure_log

            configure_log(cfg.hydra.hydra_logging, cfg.hydra.verbose)
            hydra_internal.log = logging.getLogger(hydra_internal.__name__)
            self._print_debug_info(config_name, overrides, run_mode)
        return cfg

    return compose


class UnfinishedJobs(BaseException):
    """Jobs of a sweep that a submitit launcher ran and that did not finish (a SLURM time
    limit, ``scancel``, out of memory, a killed process): ``(job folder, one line)`` each
    (no folder: the jobs could not be submitted).

    Not an Exception: Hydra prints a traceback for any Exception a launcher raises."""

    def __init__(
        self, jobs: list[tuple[str, str]], overrides: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(jobs)
        self.jobs = jobs
        #: Each job folder's overrides, as its manifest would list them.
        self.overrides = overrides or {}


@contextlib.contextmanager
def _submitit_waits_for_every_job(plan: Plan) -> Iterator[None]:
    """Make the submitit launchers (hydra-submitit-launcher) wait for every job of a sweep and
    report the jobs that did not finish as :class:`UnfinishedJobs`.

    Their ``launch`` collects the jobs' results in order and raises submitit's
    ``UncompletedJobError`` at the first job that died, with the rest still running: Hydra
    printed its traceback and the command ended with no ``sweep.json``. Here every job has
    ended (finished or died) before the results are collected, then the command reports the
    ones that died. Only when the composed configuration's launcher is the plugin's (chosen on
    the command line or in an experiment; the import costs ~0.2 s).
    """
    if "hydra_submitit_launcher" not in plan.launcher:
        yield
        return
    try:
        import submitit
        from hydra_plugins.hydra_submitit_launcher.submitit_launcher import (
            BaseSubmititLauncher,
        )
    except ImportError:  # the plugin is not installed: no submitit launcher can run
        yield
        return
    from submitit.core.utils import FailedSubmissionError, UncompletedJobError

    executor_cls = submitit.AutoExecutor
    original_launch = BaseSubmititLauncher.launch
    own_map_array = executor_cls.__dict__.get("map_array")

    def launch(self: Any, job_overrides: Any, initial_job_idx: int) -> Any:
        made: list[Any] = []
        map_array = executor_cls.map_array

        def keep_jobs(executor: Any, *args: Any, **kwargs: Any) -> Any:
            jobs = map_array(executor, *args, **kwargs)
            made.extend(jobs)
            for job in jobs:
                job.wait()  # until its result is written or its state says it ended
            return jobs

        setattr(executor_cls, "map_array", keep_jobs)  # noqa: B010 - a method, replaced
        try:
            return original_launch(self, job_overrides, initial_job_idx)
        except KeyboardInterrupt:  # local jobs got the signal too: let them record it
            _until_ended(made, seconds=15)
            raise
        except UncompletedJobError as exc:  # a RuntimeError too: before the clause below
            if not made:  # FailedJobError: sbatch refused them (a partition, a QOS limit)
                raise UnfinishedJobs([("", _not_submitted(exc))]) from None
        except (FailedSubmissionError, RuntimeError) as exc:  # RuntimeError: e.g. no srun
            if made:
                raise
            raise UnfinishedJobs([("", _not_submitted(exc))]) from None
        finally:
            if own_map_array is None:
                del executor_cls.map_array
            else:
                setattr(executor_cls, "map_array", own_map_array)  # noqa: B010
        unfinished = []  # every job has ended; submitit waited for late result files above
        overrides = {}
        for number, (job, given) in enumerate(zip(made, job_overrides, strict=False)):
            folder = _job_name(list(given))
            overrides[folder] = [str(o) for o in given]
            try:
                job.results()  # waits a while for a late result file (a network disk)
                continue
            except UncompletedJobError:
                state = str(job.state)
                why = (
                    f"failed (its log: {job.paths.stderr})"  # its function raised
                    if job.paths.result_pickle.exists()
                    else "ended without a result (its process ended: killed?)"
                    if state in ("FINISHED", "UNKNOWN")  # a local job's controller saw no error
                    else f"ended without a result (state {state})"
                )
            unfinished.append((folder, f"job {initial_job_idx + number} ({folder}) {why}"))
        raise UnfinishedJobs(unfinished, overrides)

    setattr(BaseSubmititLauncher, "launch", launch)  # noqa: B010
    try:
        yield
    finally:
        setattr(BaseSubmititLauncher, "launch", original_launch)  # noqa: B010


def _not_submitted(exc: BaseException) -> str:
    """One line for jobs the cluster did not take: the last line of its answer."""
    last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
    return f"could not submit the sweep's jobs: {last}"


#: What Hydra and submitit write in a sweep folder before any job runs.
_SWEEP_RECORDS = frozenset({"multirun.yaml", ".submitit"})


def _remove_unused_sweep_folder(folder: Path) -> None:
    """Remove a sweep folder that holds only the records of a sweep whose jobs were never
    submitted; a folder holding anything else (a job's run, another sweep's files) stays."""
    try:
        if not {p.name for p in folder.iterdir()} <= _SWEEP_RECORDS:
            return
        (folder / "multirun.yaml").unlink(missing_ok=True)
        shutil.rmtree(folder / ".submitit", ignore_errors=True)
        folder.rmdir()  # fails if anything arrived meanwhile: it stays
    except OSError:
        pass


def _until_ended(jobs: list[Any], seconds: float) -> None:
    """Wait up to ``seconds`` for submitit ``jobs`` to end (an interrupted job writes its
    manifest as it stops, and ``sweep.json`` is written from the manifests)."""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not all(job.done() for job in jobs):
            time.sleep(0.2)
    except Exception:  # a job's state unreadable: index what is there
        pass


def _say_unfinished_jobs(plan: Plan) -> None:
    """One line for each job of a sweep run under a launcher (in other processes, whose errors
    reach only their logs) that did not complete, from ``sweep.json``."""
    import json

    assert plan.sweep_dir is not None
    try:
        jobs = json.loads((plan.sweep_dir / "sweep.json").read_text())["jobs"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    for job in jobs:
        if isinstance(job, dict) and job.get("status") not in ("complete", "interrupted"):
            why = f": {job['message']}" if job.get("message") else ""
            print(f"cpec-sim: job {job.get('dir')} {job.get('status')}{why}", file=sys.stderr)


def _record_unfinished(
    plan: Plan, jobs: list[tuple[str, str]], overrides: dict[str, list[str]]
) -> None:
    """Note in the sweep folder the jobs that did not finish, with their ``overrides`` by
    folder (``sweep.json`` shows them failed; a job that runs again clears its note)."""
    from sim.files import atomic_write_json

    assert plan.sweep_dir is not None
    for folder, line in jobs:
        if folder:
            note = plan.sweep_dir / JOB_NOTES / f"{folder}.json"
            told = {"status": "failed", "message": line, "overrides": overrides.get(folder, [])}
            atomic_write_json(note, told)


def run_command(args: list[str]) -> int:
    """``cpec-sim run``: validate everything first, then hand over to Hydra."""
    try:
        flags, overrides = split_args(args)
    except Refused as exc:
        return fail(str(exc))
    informing = any(f in INFO_FLAGS for f in flags)
    if not (informing or "--cfg" in flags or "-c" in flags):
        _start_workers_early(overrides)  # before the slow imports below
    import hydra

    from sim.config import config_dir
    from sim.params import ParameterError

    try:
        _register()
    except ParameterError as exc:  # a scenario file of $CPEC_SCENARIO_PATH
        return fail(str(exc))
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    plan = Plan()
    if not informing:
        plan = prevalidate(flags + overrides)
        if plan.error:
            return fail(plan.error)
        if "--cfg" not in flags and "-c" not in flags:
            _announce_big_run(plan)
    _EXIT_CODES.clear()
    started = time.time()  # a sweep job whose manifest is newer ran in this command
    main_fn = hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")(
        _task
    )
    saved = sys.argv
    existed = plan.sweep_dir is not None and plan.sweep_dir.exists()
    # Hydra's parser wants options first, except --info whose topic is optional
    sys.argv = ["cpec-sim run", *((*overrides, *flags) if informing else (*flags, *overrides))]
    try:  # a sweep's folder may exist on any way out: its sweep.json says what finished
        with _composed_once(plan), _submitit_waits_for_every_job(plan):
            main_fn()
    except SystemExit as exc:
        _index_if_made(plan)
        return int(exc.code or 0)
    except KeyboardInterrupt:
        _index_if_made(plan)  # what finished, and what to resume
        raise
    except UnfinishedJobs as exc:
        submitted = not exc.jobs or any(folder for folder, _ in exc.jobs)
        if plan.sweep_dir is not None and not submitted and not existed:
            _remove_unused_sweep_folder(plan.sweep_dir)  # Hydra's record of nothing
        if plan.sweep_dir is not None and plan.sweep_dir.is_dir():
            _record_unfinished(plan, exc.jobs, exc.overrides)
            _index_if_made(plan)
        partly = plan.sweep_dir is not None and plan.sweep_dir.is_dir()  # some jobs ran
        for folder, line in exc.jobs or [("?", "a job of the sweep did not finish")]:
            fail(f"{line}: re-run the same command to resume" if folder or partly else line, 1)
        return 1
    except OSError as exc:  # Hydra could not create the output folder
        _index_if_made(plan)
        if isinstance(exc, BrokenPipeError) and output_closed():  # `run --help | head`
            return 0
        return fail(f"cannot write {exc.filename or 'the output folder'}: {exc.strerror or exc}", 1)
    except Exception as exc:
        _index_if_made(plan)
        if not informing:  # a run validated above: anything else is a bug (reported by main)
            raise
        return fail(_friendly(exc))
    finally:
        sys.argv = saved
    if plan.sweep_dir is not None and plan.sweep_dir.is_dir():
        statuses = write_sweep_index(plan)  # jobs may have run in other processes (launchers)
        earlier = jobs_of_other_commands(plan)
        codes = {"complete": 0, "interrupted": 130}
        # only this command's jobs (helper-189: a sweep whose own jobs all completed exited
        # 130 for another command's interrupted job in its folder)
        ours = [status for name, status in statuses.items() if name not in earlier]
        _EXIT_CODES.extend(codes.get(s, 1) for s in ours)
        if not plan.launcher.endswith(".BasicLauncher") and max(_EXIT_CODES, default=0) == 1:
            _say_unfinished_jobs(plan)
        print(
            f"sweep directory: {plan.sweep_dir}  (compare with: cpec-sim compare {plan.sweep_dir})"
        )
        stale = older_analysis(plan.sweep_dir, since=started)
        if stale:
            more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
            print(
                f"note: {stale[0]}{more} in the sweep folder predate jobs that have run since:"
                f" re-run `cpec-sim compare {plan.sweep_dir}` (and `report`) to update them"
            )
        if earlier:
            shown = ", ".join(earlier[:3]) + (", ..." if len(earlier) > 3 else "")
            print(
                f"note: the folder also holds {len(earlier)} run(s) of other commands ({shown}),"
                " and `cpec-sim compare` shows every run in it; a sweep_name that no other"
                " sweep uses (sweep_name=NAME) keeps a sweep in a folder of its own"
            )
    return max(_EXIT_CODES, default=0)


#: Measured with the compiled engine (2,000 baseline replicates x 104 weeks, jobs=1: 12.7 s
#: of which ~1.1 s start-up, 25.6 MB; 1 December 2026): seconds of one worker per
#: replicate-week, and bytes on disk per replicate-week (the three tables and their chunks).
#: See docs/reliability.md.
SECONDS_PER_REPLICATE_WEEK = 5.6e-5
BYTES_PER_REPLICATE_WEEK = 123.0
#: A run is announced (time and disk) when it would take longer or write more than this.
ANNOUNCE_SECONDS = 60.0
ANNOUNCE_BYTES = 1e9


def estimate(plan: Plan, workers: int | None = None) -> tuple[float, float]:
    """Rough wall seconds and bytes on disk of the whole command (all sweep jobs)."""
    workers = resolved_jobs(workers)
    work = plan.jobs * plan.replicates * plan.weeks
    return work * SECONDS_PER_REPLICATE_WEEK / workers, work * BYTES_PER_REPLICATE_WEEK


def _announce_big_run(plan: Plan) -> None:
    seconds, size = estimate(plan)
    if seconds < ANNOUNCE_SECONDS and size < ANNOUNCE_BYTES:
        return
    jobs = f"{plan.jobs:,} jobs x " if plan.jobs > 1 else ""
    print(
        f"note: {jobs}{plan.replicates:,} replicates x {plan.weeks:,} weeks: roughly "
        f"{_duration(seconds)} on {resolved_jobs(None)} cores and {size / 1e9:.1f} GB on "
        "disk (Ctrl-C stops it; the same command resumes)",
        file=sys.stderr,
    )
    out = plan.out_dir if plan.out_dir is not None else Path.cwd()
    if out.exists() and any(out.iterdir()):  # resumed or grown: the estimate counts it all
        return
    free = _free_bytes(out)
    if free is not None and size > free:  # helper-189: 640 GB began on a disk with 59 GB free
        print(
            f"note: the disk that {out} is on has {free / 1e9:.1f} GB free, less than the "
            f"roughly {size / 1e9:.1f} GB this writes: it will stop when the disk is full "
            "(its finished replicates kept), so free space or give fewer replicates",
            file=sys.stderr,
        )


def _free_bytes(folder: Path) -> int | None:
    """Free bytes on the file system that will hold ``folder`` (its nearest existing
    ancestor's); None if it cannot be told."""
    for place in (folder, *folder.absolute().parents):
        if place.exists():
            try:
                return shutil.disk_usage(place).free
            except OSError:
                return None
    return None


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _index_if_made(plan: Plan) -> None:
    """Write ``sweep.json`` if the sweep's folder exists (a command that stops early keeps
    its record of what finished); a failure to write it does not hide why the command
    stopped."""
    if plan.sweep_dir is not None and plan.sweep_dir.is_dir():
        with contextlib.suppress(OSError):
            write_sweep_index(plan)


def write_sweep_index(plan: Plan) -> dict[str, str]:
    """Write ``sweep.json`` (experiment, swept keys, each job's directory, overrides, status).

    Returns each job's status, by its directory's name.
    """
    import json

    from sim.files import atomic_write_json

    assert plan.sweep_dir is not None
    jobs = {}
    given: dict[str, Any] = {}  # each job's overrides as its manifest or note lists them
    for manifest in sorted(plan.sweep_dir.glob("*/manifest.json")):
        try:
            data = json.loads(manifest.read_text())
            data = data if isinstance(data, dict) and "status" in data else {"status": "damaged"}
        except (OSError, ValueError):
            data = {"status": "damaged"}
        given[manifest.parent.name] = data.get("overrides")
        values = dict(o.lstrip("+").split("=", 1) for o in data.get("overrides", []) if "=" in o)
        name = manifest.parent.name
        jobs[name] = {"dir": name, "overrides": values, "status": data["status"]}
        if data.get("message"):  # why a job failed (a full disk, say), as its manifest says
            jobs[name]["message"] = str(data["message"])
    for note in sorted((plan.sweep_dir / JOB_NOTES).glob("*.json")):
        try:
            told = json.loads(note.read_text())
        except (OSError, ValueError):
            continue
        job = jobs.setdefault(note.stem, {"dir": note.stem, "overrides": {}})
        if given.get(note.stem) is None:  # a job that stopped before its manifest
            given[note.stem] = told.get("overrides") if isinstance(told, dict) else None
        job.update(status=str(told.get("status")), message=str(told.get("message", "")))
    index: dict[str, Any] = {
        "experiment": plan.experiment,
        "swept": sorted(plan.swept),
        "jobs": list(jobs.values()),
    }
    started = [given.get(name) for name in jobs]
    index["not_started"] = jobs_not_started(plan, started, _earlier_not_started(plan.sweep_dir))
    atomic_write_json(plan.sweep_dir / "sweep.json", index)
    return {name: str(job["status"]) for name, job in jobs.items()}


def jobs_not_started(
    plan: Plan,
    started: list[Any],
    earlier: Sequence[dict[str, str]] = (),
) -> list[dict[str, str]]:
    """The jobs, by the values of the keys that name their folders, that the command (or an
    earlier command's stopped sweep: ``earlier``) defines and that no job in the folder runs,
    given the overrides each job there ran with (``started``, as its manifest lists them): the
    jobs a stopped sweep never reached. Keys that name no folder (``jobs``, ``plots``) are
    left out: their values share a folder. When a job's overrides are unknown (it might be any
    of the command's jobs) only the earlier ones are kept."""
    import itertools

    ran = [_job_values(overrides) for overrides in started]
    ran_keys = {_job_key(job) for job in ran if job is not None}
    wanted = _wanted_job_values(plan)
    planned = (
        [dict(zip(wanted, values, strict=True)) for values in itertools.product(*wanted.values())]
        if plan.swept and all(job is not None for job in ran)
        else []
    )
    not_started, seen = [], set(ran_keys)
    for choice in [*earlier, *planned]:
        key = _job_key(choice)
        if key not in seen:
            seen.add(key)
            not_started.append(choice)
    return not_started


def _job_key(values: dict[str, str]) -> frozenset[tuple[str, Any]]:
    """A job's folder values in one spelling each (``0.10`` and ``0.1``, ``True`` and
    ``true``, ``nan`` and ``NaN`` alike), to find equal jobs by hashing."""
    return frozenset((key, _value_key(value)) for key, value in values.items())


def _value_key(text: str) -> Any:
    """An override value in one spelling, as :func:`_same_value` compares them."""
    text = text.strip("'\"")
    if text.lower() in ("true", "false"):
        return ("bool", text.lower())
    try:
        number = float(text)
    except ValueError:
        return ("text", text)
    return ("nan",) if math.isnan(number) else ("number", number)


def _earlier_not_started(folder: Path) -> list[dict[str, str]]:
    """The jobs the folder's ``sweep.json`` lists as never started (a stopped sweep that a
    later command in the same folder must not forget)."""
    import json

    from sim.analysis.outputs import not_started_jobs

    try:
        return not_started_jobs(json.loads((folder / "sweep.json").read_text()).get("not_started"))
    except (OSError, ValueError, AttributeError):
        return []


def older_analysis(folder: Path, since: float = 0.0) -> list[str]:
    """What ``compare`` and ``report`` wrote into a sweep folder before one of its jobs last
    changed (a sweep compared while unfinished, then resumed), by name; nothing unless a job
    changed after ``since`` (this command's start: a copied folder's file times mean nothing)."""
    newest = max((m.stat().st_mtime for m in folder.glob("*/manifest.json")), default=0.0)
    if newest < since:
        return []
    names = [
        e.name
        for e in telling_entries(folder)
        if e.name in ANALYSIS_FILES and e.stat().st_mtime < newest
    ]
    return sorted(names, key=lambda n: (n not in ("comparison.csv", "report.html"), n))


def jobs_of_other_commands(plan: Plan) -> list[str]:
    """The sweep folder's job folders that this command's sweep does not define.

    A job is this command's when its manifest's overrides give the same keys as the command,
    each at the command's value or at one of its swept values.
    """
    import json

    assert plan.sweep_dir is not None
    wanted = _wanted_job_values(plan)
    others = []
    records = {m.parent.name: m for m in sorted(plan.sweep_dir.glob("*/manifest.json"))}
    for note in sorted((plan.sweep_dir / JOB_NOTES).glob("*.json")):  # a job refused or
        records.setdefault(note.stem, note)  # stopped before its manifest (helper-192)
    for name, record in sorted(records.items()):
        try:
            job = _job_values(json.loads(record.read_text())["overrides"])
        except (OSError, ValueError, KeyError, TypeError):
            job = None
        if job is None:  # unreadable, or not Hydra's grammar: not ours to judge
            continue
        if job.keys() != wanted.keys() or not all(
            any(_same_value(job[k], v) for v in wanted[k]) for k in job
        ):
            others.append(name)
    return others


def _wanted_job_values(plan: Plan) -> dict[str, list[str]]:
    """The values the command's jobs take for each key that names their folders (a key given
    on the command line replaces an experiment's sweep of it)."""
    wanted = plan.swept | {k: [v] for k, v in plan.fixed.items()}
    return {k: v for k, v in wanted.items() if _named(k, NOT_JOB_KEYS)}


def _job_values(overrides: Any) -> dict[str, str] | None:
    """A job's values for the keys that name its folder, from the overrides its manifest
    lists; None if they are not a list in Hydra's grammar."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if not isinstance(overrides, list):
        return None
    try:
        parsed = OverridesParser.create().parse_overrides([str(o) for o in overrides])
    except Exception:  # not Hydra's grammar
        return None
    return {
        str(o.key_or_group).lstrip("+~"): _override_text(o.value())
        for o in parsed
        if _named(str(o.key_or_group).lstrip("+~"), NOT_JOB_KEYS)
    }


def _same_value(a: str, b: str) -> bool:
    """Two override values that mean the same (``0.5`` and ``0.50``, ``True`` and ``true``,
    ``nan`` and ``NaN``)."""
    return bool(_value_key(a) == _value_key(b))


def scenarios_command(args: list[str]) -> int:
    """``cpec-sim scenarios``: one line per scenario, and an indented line naming the values
    set, not calibrated, that its effect rests on."""
    if args in (["--help"], ["-h"]):
        print(
            "usage: cpec-sim scenarios\n\nList the scenarios (run one with `cpec-sim run "
            "scenario=NAME`), each with the values, set and not calibrated, it rests on."
        )
        return 0
    if args:
        return fail(f"scenarios takes no arguments (got {' '.join(args)})")
    from sim.config import check_scenarios, load_scenario, scenario_names, scenario_params
    from sim.params import iter_params

    check_scenarios()  # a bad file refused before any line is printed
    names = scenario_names()
    width = max(map(len, names))
    for name in names:
        info = load_scenario(name)["scenario"]
        print(f"{name:{width}s}  {' '.join(str(info['description']).split())}")
        keys = list(info.get("rests_on") or [])
        if keys:
            values = {i.path: i.value for i in iter_params(scenario_params(name))}
            shown = ", ".join(f"{k}={values[k]}" for k in keys)
            print(f"{'':{width}s}  rests on values set, not calibrated: {shown}")
    return 0


def _lazy(module: str, func: str) -> Callable[[list[str]], int]:
    def call(args: list[str]) -> int:
        import importlib

        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError) as exc:
            reraise_interrupt(exc)
            return fail(f"this command is not available in this installation ({exc})")
        return int(fn(args))

    return call


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": run_command,
    "scenarios": scenarios_command,
    "compare": _lazy("sim.analysis.cli", "compare_command"),
    "plot": _lazy("sim.analysis.cli", "plot_command"),
    "report": _lazy("sim.analysis.cli", "report_command"),
    "precision": _lazy("sim.analysis.cli", "precision_command"),
    "validate": _lazy("sim.validation", "validate_command"),
    "dashboard": _lazy("sim.dashboard.cli", "dashboard_command"),
    "workshop": _lazy("sim.workshop.cli", "workshop_command"),
    "sensitivity": _lazy("sim.explore.cli", "sensitivity_command"),
    "discover": _lazy("sim.explore.cli", "discover_command"),
    "calibrate": _lazy("sim.calibration.cli", "calibrate_command"),
}


#: Commands whose figures are drawn by worker processes (``sim.analysis.drawing``).
_DRAWING_COMMANDS = ("plot", "report", "compare")


def _start_drawing_workers_early(command: str, args: list[str]) -> None:
    """Start the fork server of the drawing workers now, so that it imports Matplotlib while
    this process imports the analysis and loads the runs. Only a head start: nothing depends
    on it (a worker forked from another server imports what it needs itself)."""
    if resolved_jobs(None) > 1 and not {"-h", "--help", "--no-plots"} & set(args):
        from sim.workers import COMPARISON_PRELOAD, DRAWING_PRELOAD, start_worker_server

        start_worker_server(COMPARISON_PRELOAD if command == "compare" else DRAWING_PRELOAD)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cpec-sim``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv[0] in ("--version", "-V"):
        from sim import __version__

        print(f"cpec-sim {__version__}")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        return fail(f"unknown command {argv[0]!r}: choose one of {', '.join(COMMANDS)}")
    with noting_interrupts(), a_command():
        try:
            if argv[0] in _DRAWING_COMMANDS:
                _start_drawing_workers_early(argv[0], argv[1:])
            code = command(argv[1:])
        except KeyboardInterrupt:
            return report_interrupt("cpec-sim", INTERRUPTED)
        except Exception as exc:
            if interrupt_noted():  # Ctrl-C, turned into another error by a library
                return report_interrupt("cpec-sim", INTERRUPTED, exc)
            if isinstance(exc, MemoryError):
                return fail("out of memory: run fewer replicates or weeks at a time", 1)
            if isinstance(exc, BrokenPipeError) and output_closed():  # `... | head`
                return 0
            from sim.params import ParameterError

            if isinstance(exc, ParameterError):  # bad input a command did not catch itself,
                return fail(str(exc))  # e.g. a scenario file of $CPEC_SCENARIO_PATH
            return report_internal_error("cpec-sim", exc)  # a bug: one line
        if interrupt_noted() and code != 130:  # a Ctrl-C that a library dropped, or turned
            # into an exit of its own (Hydra prints the error it became and exits 1)
            return report_interrupt("cpec-sim", INTERRUPTED)
        return code


def entry() -> None:
    """The console script of installs made before ``sim.console`` (their ``cpec-sim`` file
    imports this): exit with :func:`main`'s code."""
    from sim.console import entry as console_entry

    console_entry()


if __name__ == "__main__":
    entry()  # as the console script: exit code, Ctrl-C, plain reference counts
