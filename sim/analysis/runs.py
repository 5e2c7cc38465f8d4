"""Reading stored results: run directories and sweep directories.

Analysis only ever reads the Parquet files and ``manifest.json`` that a run wrote (see
``docs/results.md``); it never imports the model. Problems with the input raise
:class:`ResultsError` carrying one line that names what is wrong and what is allowed.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis import survival
from sim.analysis.outputs import not_started_jobs
from sim.config import RUN_KEYS, shown_value
from sim.files import being_written, damaged_files, read_json_object
from sim.params import flatten
from sim.posterior import (
    NOT_COMPARABLE,
    draws_used,
    manifest_parameters,
    source_key,
    uncertainty_text,
)
from sim.provenance import model_differences

SUMMARY_FILE = "summary.parquet"
TIMESERIES_FILE = "timeseries.parquet"
EVENTS_FILE = "events.parquet"
MANIFEST_FILE = "manifest.json"
SWEEP_FILE = "sweep.json"

#: Run keys that are not model parameters; they never label a scenario variant.
_RUN_KEYS = (*RUN_KEYS, "experiment")


#: The week of an investor's first monthly decision: before it no firm has paused.
FIRST_DECISION_WEEK = 4


@dataclass(frozen=True)
class Claim:
    """Outcomes that some parameter values set by the model's own rule, in every replicate:
    a run with the values differs there from one without them by construction, not as a
    finding (compare and report mark such rows; ``tests/test_configs.py`` checks each claim
    in every replicate, and that it fails without its values).

    ``holds`` reads a run's flattened config (a missing key reads as None). The note names
    the values of ``shown``. No claim is made where a posterior draws any of ``keys``: the
    run's ``config.yaml`` then shows a value its replicates did not use.
    """

    name: str
    keys: tuple[str, ...]
    shown: tuple[str, ...]
    holds: Callable[[Mapping[str, Any]], bool]
    outcomes: dict[str, str]

    def cause(self, values: Mapping[str, Any]) -> str:
        """``(key=value, ...)``: the values the claim's note names."""
        return "(" + ", ".join(f"{k}={shown_value(values.get(k))}" for k in self.shown) + ")"


def _number(values: Mapping[str, Any], key: str) -> float | None:
    """A numeric config value (None if missing or not a number)."""
    value = values.get(key)
    return None if isinstance(value, bool) or not isinstance(value, int | float) else value


def _never_yields(values: Mapping[str, Any]) -> bool:
    """Pakistan does not accept Chinese troops from the start, and its weekly chance of
    yielding to China's demand, acceptance_rate x (1 - officer_resistance), is 0."""
    rate = _number(values, "pakistan.acceptance_rate")
    resistance = _number(values, "pakistan.officer_resistance")
    if rate is None or resistance is None:
        return False
    chance = rate * (1.0 - resistance)  # as the rule computes it: a tiny rate can round to 0
    return values.get("pakistan.accept_chinese_troops") is False and chance == 0


#: The config keys :func:`_step_kept` reads, with the step's threshold.
_LADDER_KEYS = tuple(
    f"china.{key}" for key in ("initial_patience", "hysteresis", "patience_recovery")
)


def _step_kept(values: Mapping[str, Any], threshold: str, weeks: int | None) -> bool:
    """China's ladder starts at the step of ``threshold`` or above (patience starts below
    it) and is still there after ``weeks`` weeks (None: for ever), whatever happens.

    Patience rises fastest in quiet weeks, by ``patience_recovery`` to at most 1 (rule 1 of
    sim.rules.china), and the ladder steps down only once patience passes the threshold plus
    the hysteresis (rule 3): the quiet path, computed as the rule computes it (a closed form
    rounds otherwise at equality), bounds every replicate's.
    """
    start, gap, recovery = (_number(values, key) for key in _LADDER_KEYS)
    below = _number(values, threshold)
    if start is None or below is None or gap is None or recovery is None or start >= below:
        return False
    top = below + gap  # the rule's sum: the step down is patience > threshold + hysteresis
    if weeks is None:
        return top >= 1.0 or recovery == 0  # patience never passes 1, or never rises
    patience = start
    for _ in range(weeks):
        patience = min(1.0, patience + recovery)
        if patience > top:
            return False
    return True


def _hold_kept(weeks: int | None) -> Callable[[Mapping[str, Any]], bool]:
    """Without an imposed freeze (its own claim), the hold kept for ``weeks`` weeks."""
    return lambda v: v.get(_FORCED) is False and _step_kept(v, "china.hold_below", weeks)


def _out_of_reach(values: Mapping[str, Any], threshold: str) -> bool:
    """China's patience can never fall below ``threshold`` (a ladder step's): the threshold
    is 0, or patience cannot fall (no loss per death) and starts at or above it."""
    below = _number(values, threshold)
    loss = _number(values, "china.patience_loss_per_death")
    start = _number(values, "china.initial_patience")
    if below is None:
        return False
    return below == 0 or (loss == 0 and start is not None and start >= below)


def _yields_in_week_one(values: Mapping[str, Any]) -> bool:
    """China demands from the start and still does in week 1 (:func:`_step_kept`), and
    Pakistan's weekly chance of yielding is 1: troops guard from week 1 (if any exist)."""
    rate = _number(values, "pakistan.acceptance_rate")
    resistance = _number(values, "pakistan.officer_resistance")
    return (
        values.get("pakistan.accept_chinese_troops") is False
        and values.get("china.troops_available") not in (0, None)
        and rate == 1
        and resistance == 0
        and _step_kept(values, "china.demand_below", 1)
    )


_ACCEPT, _AVAILABLE = "pakistan.accept_chinese_troops", "china.troops_available"
_FORCED = "china.force_investment_hold"
_PATIENCE_KEYS = ("china.initial_patience", "china.patience_loss_per_death")
_HOLD_SHOWN = (
    "china.initial_patience",
    "china.hold_below",
    "china.hysteresis",
    "china.patience_recovery",
)
#: The keys the claims of a hold kept by China's patience read.
_HOLD_KEYS = (_FORCED, "china.hold_below", *_LADDER_KEYS)
_CAPPED = (
    "only the private firm's capital can grow (at most USD 3,250 million, up from the 3,080 "
    "at the start)"
)
_FIRST_PAUSE = (
    f"the first pause comes in week {FIRST_DECISION_WEEK}, in every replicate: state firms "
    "pause at their first monthly decision while Beijing holds"
)

#: Every :class:`Claim` the analysis makes.
FIXED_BY: tuple[Claim, ...] = (
    Claim(
        "imposed freeze",
        keys=(_FORCED,),
        shown=(_FORCED,),
        holds=lambda v: v.get(_FORCED) is True,
        outcomes={
            "investment_hold": "Beijing holds new state investment from the first week, in "
            "every replicate",
            "capital_deployed_final": "state firms cannot invest while Beijing holds, so "
            + _CAPPED,
            "pause_free_weeks": _FIRST_PAUSE,
        },
    ),
    Claim(
        "hold from the start",
        keys=_HOLD_KEYS,
        shown=_HOLD_SHOWN,
        holds=_hold_kept(1),
        outcomes={
            "investment_hold": "China's patience starts below the hold's threshold and cannot "
            "recover past it plus the hysteresis in a week, so Beijing holds new state "
            "investment from the first week, in every replicate",
        },
    ),
    Claim(
        "hold to the first decision",
        keys=_HOLD_KEYS,
        shown=_HOLD_SHOWN,
        holds=_hold_kept(FIRST_DECISION_WEEK),
        outcomes={"pause_free_weeks": _FIRST_PAUSE},
    ),
    Claim(
        "hold that never lifts",
        keys=_HOLD_KEYS,
        shown=_HOLD_SHOWN,
        holds=_hold_kept(None),
        outcomes={
            "capital_deployed_final": "China's patience starts below the hold's threshold and "
            "patience can never pass the threshold plus the hysteresis (it is 1 or more, or "
            f"patience does not recover), so Beijing holds for good: {_CAPPED}",
        },
    ),
    Claim(
        "hold through the run",
        keys=_HOLD_KEYS,
        shown=(*_HOLD_SHOWN, "weeks"),
        holds=lambda v: isinstance(v.get("weeks"), int) and _hold_kept(int(v["weeks"]))(v),
        outcomes={
            "capital_deployed_final": "China's patience starts below the hold's threshold and "
            "cannot pass the threshold plus the hysteresis within the run's weeks, so Beijing "
            f"holds throughout: {_CAPPED}",
        },
    ),
    Claim(
        "troops accepted",
        keys=(_ACCEPT, _AVAILABLE),
        shown=(_ACCEPT, _AVAILABLE),
        holds=lambda v: v.get(_ACCEPT) is True and v.get(_AVAILABLE) != 0,
        outcomes={
            "chinese_troops_deployed": "Chinese troops guard the sites with the most nationals "
            "from week 1, in every replicate",
        },
    ),
    Claim(
        "no troops available",
        keys=(_AVAILABLE,),
        shown=(_AVAILABLE,),
        holds=lambda v: v.get(_AVAILABLE) == 0,
        outcomes={
            "chinese_troops_deployed": "with no Chinese troops available none deploy, in "
            "every replicate",
        },
    ),
    Claim(
        "Pakistan never yields",
        keys=(_ACCEPT, "pakistan.acceptance_rate", "pakistan.officer_resistance"),
        shown=(_ACCEPT, "pakistan.acceptance_rate", "pakistan.officer_resistance"),
        holds=_never_yields,
        outcomes={
            "chinese_troops_deployed": "Pakistan's weekly chance of yielding to China's demand "
            "(acceptance_rate x (1 - officer_resistance)) is 0, so no Chinese troops deploy, "
            "in every replicate",
        },
    ),
    Claim(
        "hold out of reach",
        keys=(_FORCED, "china.hold_below", *_PATIENCE_KEYS),
        shown=("china.hold_below", *_PATIENCE_KEYS),
        holds=lambda v: v.get(_FORCED) is False and _out_of_reach(v, "china.hold_below"),
        outcomes={
            "investment_hold": "China's patience can never fall below the hold's threshold, so "
            "Beijing never holds, in any replicate",
        },
    ),
    Claim(
        "demand out of reach",
        keys=(_ACCEPT, "china.demand_below", *_PATIENCE_KEYS),
        shown=(_ACCEPT, "china.demand_below", *_PATIENCE_KEYS),
        holds=lambda v: v.get(_ACCEPT) is False and _out_of_reach(v, "china.demand_below"),
        outcomes={
            "chinese_troops_deployed": "China's patience can never fall below the demand's "
            "threshold, so China never asks for its troops and none deploy, in any replicate",
        },
    ),
    Claim(
        "Pakistan yields at once",
        keys=(
            _ACCEPT,
            _AVAILABLE,
            "pakistan.acceptance_rate",
            "pakistan.officer_resistance",
            "china.initial_patience",
            "china.demand_below",
            "china.hysteresis",
            "china.patience_recovery",
        ),
        shown=(
            _ACCEPT,
            _AVAILABLE,
            "china.initial_patience",
            "china.demand_below",
            "china.hysteresis",
            "china.patience_recovery",
            "pakistan.acceptance_rate",
            "pakistan.officer_resistance",
        ),
        holds=_yields_in_week_one,
        outcomes={
            "chinese_troops_deployed": "China demands its troops from the start and Pakistan "
            "yields with certainty, so they guard from week 1, in every replicate",
        },
    ),
)

#: The horizon a claim on an outcome needs: investors first decide in week 4, so before it
#: no firm has paused, with the hold or without.
FIXED_FROM_WEEK: dict[str, int] = {"pause_free_weeks": FIRST_DECISION_WEEK}


def claim(name: str) -> Claim:
    """The :data:`FIXED_BY` claim called ``name``."""
    return next(c for c in FIXED_BY if c.name == name)


class ResultsError(ValueError):
    """Bad analysis input; the message is one line naming the problem and what is allowed."""


@dataclass
class Run:
    """One run directory, read lazily (the summary is always needed, the rest not)."""

    path: Path
    manifest: dict[str, Any]
    #: ``key -> value`` overrides that define this run (sweep job or command-line overrides).
    overrides: dict[str, str] = field(default_factory=dict)
    #: Unique display label, set by :func:`load_runs`.
    label: str = ""
    #: Label of the sweep this run belongs to, if any.
    sweep: str | None = None
    #: Why the sweep's latest command refused this job ('' if it did not): the folder holds
    #: the results of an earlier command, not of that one.
    refused: str = ""

    @property
    def scenario(self) -> str:
        """Scenario name from the manifest (the directory name if the manifest lacks it)."""
        name = self.manifest.get("scenario")
        return str(name) if name else self.path.name

    @property
    def parameters(self) -> dict[str, Any]:
        """The manifest's ``parameters`` entry: ``{"source": "defaults"}`` or the posterior's
        path, sha256, draws and columns (runs stored before the key: defaults)."""
        return manifest_parameters(self.manifest)

    @property
    def uncertainty(self) -> str:
        """What the run's intervals include: model randomness only, or parameter uncertainty
        too (runs over a posterior)."""
        return uncertainty_text(self.parameters, draws_used(self.summary))

    @cached_property
    def config(self) -> dict[str, Any]:
        """The run's resolved ``config.yaml`` ({} if missing or unreadable), read once."""
        import yaml

        try:
            config = safe_yaml((self.path / "config.yaml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return {}
        return config if isinstance(config, dict) else {}

    @cached_property
    def rests_on(self) -> dict[str, Any]:
        """The values, set and not calibrated, that the run's scenario says its effect rests
        on (``scenario.rests_on`` in ``config.yaml``), with the run's values; {} if none."""
        config = self.config
        if not isinstance(config.get("scenario"), dict):
            return {}
        values = flatten(config)
        return {str(key): values.get(str(key)) for key in config["scenario"].get("rests_on") or []}

    @cached_property
    def by_construction(self) -> dict[str, str]:
        """The outcomes some parameter values of the run set by the model's own rule, each with
        why (:data:`FIXED_BY`, read from the run's resolved ``config.yaml``; none that needs a
        longer horizon than the run's, :data:`FIXED_FROM_WEEK`, or that rests on a key a
        posterior draws); {} if none."""
        values = flatten(self.config)
        weeks = self.weeks
        entry = self.parameters
        drawn = set(entry.get("columns") or []) if entry.get("source") == "posterior" else set()
        out: dict[str, str] = {}
        for c in FIXED_BY:
            if drawn.intersection(c.keys) or not c.holds(values):
                continue
            out.update(
                {
                    o: f"{why} {c.cause(values)}"
                    for o, why in c.outcomes.items()
                    if weeks is None or weeks >= FIXED_FROM_WEEK.get(o, 0)
                }
            )
        return out

    @property
    def replicates(self) -> int:
        """Number of replicates actually stored in the summary."""
        return len(self.summary)

    @property
    def weeks(self) -> int | None:
        """Horizon in weeks (manifest, else the timeseries)."""
        weeks = self.manifest.get("weeks")
        if weeks is not None:
            return int(weeks)
        if (self.path / TIMESERIES_FILE).exists() and len(self.timeseries):
            return int(self.timeseries["week"].max())
        return None

    @cached_property
    def summary(self) -> pd.DataFrame:
        """``summary.parquet``: one row per replicate."""
        return _read_parquet(self.path / SUMMARY_FILE)

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """The summary with the outcomes the analysis derives from it (weeks to the first
        pause, :mod:`sim.analysis.survival`): what tables and comparisons read."""
        return survival.with_derived(self.summary, self.weeks)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """``timeseries.parquet`` (empty frame if the run has none)."""
        return _read_parquet(self.path / TIMESERIES_FILE, optional=True)

    @cached_property
    def events(self) -> pd.DataFrame:
        """``events.parquet`` (empty frame if the run has none)."""
        return _read_parquet(self.path / EVENTS_FILE, optional=True)

    @property
    def has_timeseries(self) -> bool:
        """Whether weekly metrics are stored."""
        return not self.timeseries.empty

    @property
    def has_events(self) -> bool:
        """Whether an events file is stored (it may hold zero attacks)."""
        return (self.path / EVENTS_FILE).exists()

    def title(self) -> str:
        """Readable heading: label and replicate count, plus status if not complete."""
        name = self.label or readable_scenario(self.scenario)
        text = f"{name} — {replicates_text(self.replicates)}"
        if self.weeks:
            text += f", {self.weeks} weeks"
        status = self.manifest.get("status")
        if status and status != "complete":
            text += f" (status: {status})"
        return text


def replicates_text(n: int) -> str:
    """``100 replicates``, with a caution where intervals are rough (fewer than compare tests)
    or absent (one replicate), so that a figure shown on its own says so."""
    from sim.analysis.numbers import MIN_REPLICATES_TO_TEST

    if n == 1:
        return "1 replicate (one history: no spread)"
    if n < MIN_REPLICATES_TO_TEST:
        return f"{n} replicates (fewer than {MIN_REPLICATES_TO_TEST}: rough intervals)"
    return f"{n} replicates"


def readable_scenario(name: str) -> str:
    """``full_pressure`` -> ``Full pressure``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else name


def _read_parquet(path: Path, optional: bool = False) -> pd.DataFrame:
    if not path.exists():
        if optional:
            return pd.DataFrame()
        raise ResultsError(f"{path.parent}: no {path.name} (expected a run directory, see docs)")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types; report one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsError(f"{path}: not a readable Parquet file ({first})") from exc


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object")
    return data


def parse_overrides(items: Any) -> dict[str, str]:
    """Overrides as ``{key: value}`` from a list of ``key=value`` strings or a dict.

    Run keys such as ``scenario=`` or ``replicates=`` are dropped: they are not parameters.
    """
    out: dict[str, str] = {}
    if isinstance(items, dict):
        pairs = [(str(k), _fmt_value(v)) for k, v in items.items()]
    elif isinstance(items, list | tuple):
        pairs = []
        for item in items:
            key, sep, value = str(item).partition("=")
            if sep:
                pairs.append((key.lstrip("+~"), value))
    else:
        pairs = []
    for key, value in pairs:
        if is_parameter_key(key):
            out[key] = value
    return out


def is_parameter_key(key: str) -> bool:
    """Whether an override's key is a model parameter's, not a run key's (``scenario=``,
    ``replicates=``) or Hydra's."""
    return key.split(".")[0] not in _RUN_KEYS and not key.startswith("hydra")


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def is_run_dir(path: Path) -> bool:
    """A directory holding ``summary.parquet``."""
    return (path / SUMMARY_FILE).is_file()


def is_sweep_dir(path: Path) -> bool:
    """A directory, not a run's, with ``sweep.json``, or with Hydra's ``multirun.yaml`` beside
    a job folder whose manifest is cpec-sim's (a sweep stopped before it wrote its index): how
    the run command knows a sweep folder too. Any folder holding runs is not one."""
    if not path.is_dir() or is_run_dir(path):
        return False
    if (path / SWEEP_FILE).is_file():
        return True
    return (path / "multirun.yaml").is_file() and any(
        is_our_manifest(p / MANIFEST_FILE) for p in path.iterdir() if p.is_dir()
    )


def is_our_manifest(manifest: Path) -> bool:
    """Whether ``manifest`` is a manifest cpec-sim wrote."""
    if not manifest.is_file():
        return False
    try:
        return _read_json(manifest).get("package") == "cpec-sim"
    except ResultsError:
        return False


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


@dataclass(frozen=True)
class SkippedJob:
    """A sweep job without results: its folder, what happened to it and why, as
    ``sweep.json`` or the job's ``manifest.json`` say."""

    path: Path
    #: ``failed``, ``refused``, ``interrupted``, ``running`` …, or ``no results``.
    status: str
    message: str = ""
    scenario: str | None = None
    #: The parameters its command changed, as for :attr:`Run.overrides`.
    overrides: dict[str, str] = field(default_factory=dict)

    def why(self) -> str:
        """``failed: No space left on device``, the status alone if nothing says why, the
        message alone if nothing says more than that it has no results."""
        if self.status == NO_RESULTS:
            return self.message
        return f"{self.status}: {self.message}" if self.message else self.status

    def line(self) -> str:
        """``Not included: sweep job 3 has no results (failed: …).``"""
        why = self.why()
        return f"Not included: sweep job {self.path.name} has no results" + (
            f" ({why})." if why else "."
        )


#: The status of a job without results that nothing explains (its records say complete, or
#: nothing).
NO_RESULTS = "no results"


@dataclass
class Sweep:
    """A sweep directory: its job runs, the jobs without results, and the swept keys (from
    ``sweep.json``)."""

    path: Path
    name: str
    swept: list[str]
    runs: list[Run]
    #: Every job, with results or not, in the sweep's order.
    jobs: list[Run | SkippedJob] = field(default_factory=list)
    #: The values that name each job the sweep's commands define but that never started (the
    #: sweep stopped before it), as ``sweep.json`` lists them.
    not_started: list[dict[str, str]] = field(default_factory=list)

    @property
    def skipped(self) -> list[SkippedJob]:
        """The jobs without results."""
        return [job for job in self.jobs if isinstance(job, SkippedJob)]

    @property
    def planned(self) -> int:
        """How many jobs the sweep folder has: those in it and those never started."""
        return len(self.jobs) + len(self.not_started)

    def not_started_line(self) -> str | None:
        """``Not included: 2 jobs of sweep S never started (a=3; a=4): ...``; None if every
        job started."""
        if not self.not_started:
            return None
        first = {key: n for n, key in enumerate(self.swept)}  # the swept keys, then the rest
        shown = [
            ", ".join(f"{k}={job[k]}" for k in sorted(job, key=lambda k: first.get(k, len(first))))
            for job in self.not_started
        ]
        listed = "; ".join(shown[:4]) + ("; ..." if len(shown) > 4 else "")
        jobs, them = ("1 job", "it") if len(shown) == 1 else (f"{len(shown)} jobs", "them")
        return (
            f"Not included: {jobs} of sweep {self.name} never started ({listed}): the sweep "
            f"stopped before {them}; re-run the command that started it to run {them}."
        )


def load_run(path: Path) -> Run:
    """Open one run directory (checks that ``summary.parquet`` exists and is readable)."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"{path}: no such directory (give a run or sweep directory)")
    if not path.is_dir():
        raise ResultsError(f"{path}: not a directory (give a run or sweep directory)")
    if not is_run_dir(path):
        raise ResultsError(_no_summary(path))
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ResultsError(
            f"{path}: no {MANIFEST_FILE} beside its {SUMMARY_FILE}, so nothing says what ran "
            "or lets its files be checked: re-run the command that wrote it to rebuild it"
        )
    manifest = _read_json(manifest_path)
    _check_intact(path, manifest)
    run = Run(path=path, manifest=manifest, overrides=parse_overrides(manifest.get("overrides")))
    _ = run.summary  # fail early on unreadable files
    return run


_RESULT_FILES = (SUMMARY_FILE, TIMESERIES_FILE, EVENTS_FILE)


def _no_summary(path: Path) -> str:
    """Why a folder without ``summary.parquet`` is not a run: unfinished, finished but its
    summary removed since, or not one at all."""
    return (
        _unfinished(path)
        or _summary_removed(path)
        or (
            f"{path}: no {SUMMARY_FILE} here (give a run directory, or a sweep directory "
            "whose job subdirectories hold one)"
        )
    )


def _summary_removed(path: Path) -> str | None:
    """For a finished run whose manifest records ``summary.parquet`` and which no longer has
    it, that it is damaged and how to repair it (helper-189: it read "no summary.parquet
    here (give a run directory...)" in a run directory)."""
    manifest = read_json_object(path / MANIFEST_FILE) or {}
    records = manifest.get("files")
    if manifest.get("status") != "complete" or not isinstance(records, dict):
        return None
    if SUMMARY_FILE not in records:
        return None
    return (
        f"{path}: {SUMMARY_FILE} is damaged (missing): re-run the command that wrote it to "
        "repair it from its chunks"
    )


def _final_files_unrecorded(path: Path, manifest: dict[str, Any]) -> bool:
    """Whether a run of this version (its manifest has a ``config_hash``) holds final files
    its manifest does not record: a run still being written, or stopped while they were."""
    return bool(
        manifest.get("files") is None
        and manifest.get("config_hash")
        and any((path / f).exists() for f in _RESULT_FILES)
    )


def _unfinished(path: Path) -> str | None:
    """What its manifest says of a run folder without ``summary.parquet``, or with final
    files its manifest does not record (None if nothing)."""
    status = (read_json_object(path / MANIFEST_FILE) or {}).get("status")
    results = "finished results" if (path / SUMMARY_FILE).exists() else SUMMARY_FILE
    if status == "running" and being_written(path):
        return (
            f"{path}: another cpec-sim process is writing this run now, and it has no "
            f"{results} yet: wait for it to finish"
        )
    if status in ("interrupted", "running"):
        return (
            f"{path}: this run did not finish (manifest.json: {status}), so it has no "
            f"{results} yet: re-run the command that started it to resume it"
        )
    if status == "failed":
        return f"{path}: this run failed and has no {results} (its manifest.json says why)"
    return None


def _check_intact(path: Path, manifest: dict[str, Any]) -> None:
    """Raise :class:`ResultsError` if a result file differs from the manifest's checksum."""
    records = manifest.get("files")
    if records is None and manifest.get("config_hash") and manifest.get("status") == "complete":
        raise ResultsError(
            f"{path}: manifest.json records no checksums (stored before they existed, or "
            "edited): re-run the command that wrote it to rebuild and record them"
        )
    if _final_files_unrecorded(path, manifest):  # helper-189: a stop while the final files
        # were renamed into place left them unchecked, and compare read them
        raise ResultsError(
            f"{path}: its final files are not recorded in manifest.json (status "
            f"{manifest.get('status', 'unknown')}: still being written, or stopped while they "
            "were): re-run the command that wrote it to finish them from its chunks"
        )
    damaged = damaged_files(path, records)
    if isinstance(records, dict):
        damaged.update(
            {
                f: "not recorded in manifest.json"
                for f in _RESULT_FILES
                if f not in records and (path / f).exists()
            }
        )
    if damaged:
        name, why = next(iter(damaged.items()))
        more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
        source = " from its chunks" if name.endswith(".parquet") else ""
        raise ResultsError(
            f"{path}: {name} is damaged ({why}){more}: re-run the command that wrote it to "
            f"repair it{source}"
        )


def load_sweep(path: Path) -> Sweep:
    """Open a sweep directory; jobs without a summary are skipped with a warning."""
    path = Path(path)
    meta = _read_json(path / SWEEP_FILE) if (path / SWEEP_FILE).is_file() else {}
    jobs = meta.get("jobs")
    job_overrides: dict[str, dict[str, str]] = {}
    entries: dict[str, dict[str, Any]] = {}
    if isinstance(jobs, list):
        dirs = []
        for job in jobs:
            if isinstance(job, dict) and "dir" in job:
                name = str(job["dir"])
                if Path(name).name != name or name in (".", ".."):
                    raise ResultsError(f"{path / SWEEP_FILE}: job folder {name!r} is not in it")
                if path / name in dirs:
                    raise ResultsError(f"{path / SWEEP_FILE}: job folder {name!r} listed twice")
                dirs.append(path / name)
                job_overrides[name] = parse_overrides(job.get("overrides"))
                entries[name] = job
    else:
        dirs = sorted((p for p in path.iterdir() if p.is_dir()), key=_natural_key)
        dirs = [d for d in dirs if (d / MANIFEST_FILE).is_file() or is_run_dir(d)]
    found: list[Run | SkippedJob] = []
    for d in dirs:
        if not is_run_dir(d) or _unfinished_with_files(d):
            why = _unfinished(d) or f"{d}: no {SUMMARY_FILE}"
            print(f"warning: skipping sweep job {why}", file=sys.stderr)
            found.append(_skipped_job(d, entries.get(d.name, {})))
            continue
        run = load_run(d)
        if not run.overrides and d.name in job_overrides:
            run.overrides = job_overrides[d.name]
        entry = entries.get(d.name, {})
        if entry.get("status") == "refused":
            run.refused = str(entry.get("message") or "refused").strip().splitlines()[0]
        found.append(run)
    runs = [job for job in found if isinstance(job, Run)]
    not_started = not_started_jobs(meta.get("not_started"))
    if not runs:
        never = (
            f" ({len(not_started)} of its {len(found) + len(not_started)} jobs never started:"
            " re-run the command that started it to run them)"
            if not_started
            else ""
        )
        raise ResultsError(f"{path}: sweep directory without any job holding {SUMMARY_FILE}{never}")
    swept = [str(k) for k in meta.get("swept", [])] if isinstance(meta.get("swept"), list) else []
    if not swept:  # infer: keys whose value differs between jobs
        keys = sorted({k for r in runs for k in r.overrides})
        swept = [k for k in keys if len({r.overrides.get(k) for r in runs}) > 1]
    scenarios = {run.scenario for run in runs}
    if "scenario" not in swept and len(scenarios) == 1:  # every job runs the one scenario
        found = [
            replace(job, scenario=next(iter(scenarios)))
            if isinstance(job, SkippedJob) and job.scenario is None
            else job
            for job in found
        ]
    name = str(meta.get("experiment") or path.name)
    for run in runs:
        run.sweep = name
    return Sweep(path=path, name=name, swept=swept, runs=runs, jobs=found, not_started=not_started)


def _unfinished_with_files(folder: Path) -> bool:
    """A sweep job whose final files a stop left unrecorded (or that another process is
    writing): skipped as an unfinished job is, not a reason to compare nothing
    (helper-191)."""
    manifest = read_json_object(folder / MANIFEST_FILE) or {}
    return manifest.get("status") != "complete" and _final_files_unrecorded(folder, manifest)


def _skipped_job(folder: Path, entry: dict[str, Any]) -> SkippedJob:
    """What ``sweep.json``'s entry (``entry``), else the job's manifest, says of a job
    without results."""
    manifest = read_json_object(folder / MANIFEST_FILE) or {}
    overrides = entry.get("overrides")
    scenario = manifest.get("scenario") or (
        overrides.get("scenario") if isinstance(overrides, dict) else None
    )
    # A job without results is not complete: where sweep.json says so (written before the
    # job ran again, say), its manifest's status and message tell what happened.
    status, message = NO_RESULTS, ""
    for record in (entry, manifest):
        if record.get("status") and record.get("status") != "complete":
            status, message = str(record["status"]), str(record.get("message") or "")
            break
    else:
        message = str(entry.get("message") or manifest.get("message") or "")
    message = message.strip()
    return SkippedJob(
        path=folder,
        status=status,
        message=message.splitlines()[0] if message else "",
        scenario=str(scenario) if scenario else None,
        overrides=parse_overrides(manifest.get("overrides") or overrides),
    )


def refused_run_line(run: Run) -> str:
    """``Included as stored: sweep job 3 …`` for a job the sweep's latest command refused
    whose folder holds an earlier command's results (a stranger: compare showed them as the
    sweep's without a word), else ''."""
    if not run.refused:
        return ""
    return (
        f"Included as stored: sweep job {run.path.name} holds the results of an earlier "
        f"command; the sweep's latest command refused it ({run.refused}), so its settings may "
        "not be the ones that command gave (its config.yaml says what it ran)."
    )


def failed_run_line(run: Run) -> str:
    """``Included although failed: sweep job 3 (7 of 8 replicates; 1 raised: see …).`` for a
    run whose manifest says it failed, else ''."""
    if run.manifest.get("status") != "failed":
        return ""
    what = f"sweep job {run.path.name}" if run.sweep else f"run {run.label}"
    requested = run.manifest.get("replicates")
    counts = f"{run.replicates} of {requested}" if requested is not None else f"{run.replicates}"
    raised = run.manifest.get("failed_replicates") or []
    if raised:
        why = f"{len(raised)} raised: see {run.path / 'failures'}"
    else:
        lines = str(run.manifest.get("message") or "").strip().splitlines()
        why = lines[0] if lines else "its manifest says failed"
    return f"Included although failed: {what} ({counts} replicates; {why})."


def safe_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed by libyaml where PyYAML has it, ~10x faster than the
    pure-Python parser (``compare`` read eight runs' ``config.yaml`` in ~0.19 s): the same
    safe constructor builds the same values from what OmegaConf writes. Hand-edited text can
    parse otherwise (helper-169): libyaml accepts a tab after a value or a colon, which the
    pure parser refuses, and refuses a ``%YAML 1.0`` directive, which it accepts."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@dataclass
class RunSet:
    """The runs to analyse, with unique labels, and the sweep if exactly one was given."""

    runs: list[Run]
    sweep: Sweep | None = None
    #: Every run and job without results, in input order (default: the runs).
    jobs: list[Run | SkippedJob] = field(default_factory=list)
    #: The sweeps given, in input order.
    sweeps: list[Sweep] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.jobs:
            self.jobs = list(self.runs)

    @property
    def skipped(self) -> list[SkippedJob]:
        """Jobs of the sweeps given that have no results (a failed job, say), in input order."""
        return [job for job in self.jobs if isinstance(job, SkippedJob)]

    def job_notes(self) -> list[str]:
        """One line per sweep job without results, naming it and why, then one per run that
        failed but holds results (the replicates that did not raise: not a fair sample of
        the run asked for); [] if none."""
        return (
            [job.line() for job in self.skipped]
            + [line for sweep in self.sweeps if (line := sweep.not_started_line())]
            + [line for run in self.runs if (line := refused_run_line(run))]
            + [line for run in self.runs if (line := failed_run_line(run))]
        )

    def model_notes(self) -> list[str]:
        """One line per way the runs' models or libraries differ (their manifests'
        ``model`` and ``packages``: :func:`sim.provenance.model_differences`); [] if none."""
        return model_differences({r.label: r.manifest for r in self.runs})

    def notes(self) -> list[str]:
        """:meth:`job_notes`, then :meth:`model_notes`."""
        return self.job_notes() + self.model_notes()

    @property
    def labels(self) -> list[str]:
        """Unique display labels, in input order."""
        return [r.label for r in self.runs]

    def uncertainty_mixed(self) -> bool:
        """Whether the runs' intervals include different uncertainty (not comparable)."""
        return len({source_key(r.parameters) for r in self.runs}) > 1

    def uncertainty_warning(self) -> str:
        """One line when the runs' intervals are not comparable, else ''."""
        return f"warning: {NOT_COMPARABLE}" if self.uncertainty_mixed() else ""

    def names(self) -> list[str]:
        """Short names for a default output path (scenario names, or the sweep name)."""
        if self.sweep is not None:
            return [self.sweep.name]
        return [r.scenario for r in self.runs]


def _short_keys(keys: Iterable[str]) -> dict[str, str]:
    """Dotted keys shortened to their last part where that stays unambiguous."""
    keys = list(dict.fromkeys(keys))
    leaves = [k.rsplit(".", 1)[-1] for k in keys]
    return {
        k: (leaf if leaves.count(leaf) == 1 else k) for k, leaf in zip(keys, leaves, strict=True)
    }


def run_label(
    run: Run, keys: Sequence[str] | None = None, short: dict[str, str] | None = None
) -> str:
    """``Full pressure [patience_loss_per_death=0.05]``: readable scenario plus overrides."""
    keys = list(run.overrides) if keys is None else keys
    short = short or _short_keys(keys)
    parts = [f"{short.get(k, k)}={run.overrides[k]}" for k in keys if k in run.overrides]
    label = readable_scenario(run.scenario)
    return f"{label} [{', '.join(parts)}]" if parts else label


#: Run keys that tell runs of one label apart (``Baseline [seed=1]``) before their folders do
#: (not the backend: both give the same results).
LABELLING_RUN_KEYS = ("seed", "weeks", "streams", "replicates")


def _assign_labels(runs: Sequence[Run], sweeps: Sequence[Sweep]) -> None:
    swept_keys = {k for s in sweeps for k in s.swept}
    short = _short_keys(k for r in runs for k in r.overrides)
    for run in runs:
        keys = [k for k in run.overrides if run.sweep is None or not swept_keys or k in swept_keys]
        run.label = run_label(run, keys, short)
    _tell_apart_by_run_keys(runs)
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.label] = counts.get(run.label, 0) + 1
    for run in runs:
        if counts[run.label] > 1:
            run.label = f"{run.label} ({run.path.parent.name}/{run.path.name})"
    seen: dict[str, int] = {}
    for run in runs:  # still duplicated (same parent names): number them
        n = seen.get(run.label, 0)
        seen[run.label] = n + 1
        if n:
            run.label = f"{run.label} #{n + 1}"


#: What a workshop room's saved runs are (their manifest's ``kind``), in a label's words; a
#: run without a kind beside them is the model's alone.
KIND_WORDS = {"played": "played in the room", "replayed": "the room's decisions replayed"}
MODEL_ONLY = "model only"


def _kind_words(group: Sequence[Run]) -> list[str]:
    """For runs sharing a label that are different kinds of run (a workshop debrief's played
    run, its decisions replayed, and the model's own replicates): what each is; else none."""
    kinds = [run.manifest.get("kind") for run in group]
    if not any(k in KIND_WORDS for k in kinds) or len(set(kinds)) < 2:
        return [""] * len(group)
    return [KIND_WORDS.get(str(k), MODEL_ONLY) for k in kinds]


def _tell_apart_by_run_keys(runs: Sequence[Run]) -> None:
    """Runs sharing a label get the run keys in which they differ (a sweep over seeds:
    ``Baseline [seed=0]``, ``Baseline [seed=1]``), as their overrides would be shown, and,
    where they are different kinds of run, what each is (:func:`_kind_words`)."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.label, []).append(run)
    for label, group in groups.items():
        if len(group) < 2:
            continue
        values = [{k: run_key(r, k) for k in LABELLING_RUN_KEYS} for r in group]
        keys = [
            k
            for k in LABELLING_RUN_KEYS
            if None not in (v[k] for v in values) and len({v[k] for v in values}) > 1
        ]
        for run, value, words in zip(group, values, _kind_words(group), strict=True):
            parts = ", ".join([words] * bool(words) + [f"{k}={value[k]}" for k in keys])
            if parts:
                run.label = (
                    f"{label[:-1]}, {parts}]" if label.endswith("]") else f"{label} [{parts}]"
                )


def streams_of(run: Run) -> str:
    """What a run's rules drew from (``streams`` in its manifest; runs stored before the key
    drew from a single stream)."""
    return str(run.manifest.get("streams") or "single")


def run_key(run: Run, key: str) -> str | None:
    """A run key's value as its manifest gives it (:func:`streams_of` for the streams); None
    where the manifest does not say."""
    value = streams_of(run) if key == "streams" else run.manifest.get(key)
    return None if value is None else str(value)


def _refuse_repeats(runs: Sequence[Run]) -> None:
    """One run given twice (two spellings of its folder, or a sweep and one of its jobs)
    would be compared with itself: refused."""
    seen: dict[Path, Path] = {}
    for run in runs:
        key = run.path.resolve()
        if key in seen:
            raise ResultsError(
                f"{run.path}: the same run is given twice (also as {seen[key]}): give each once"
            )
        seen[key] = run.path


def load_runs(dirs: Sequence[Path | str] | Path | str) -> RunSet:
    """Open run directories and/or sweep directories (each sweep expands into its jobs); one
    directory may be given alone."""
    if isinstance(dirs, str | Path):  # a notebook's compare("results/sweeps/x")
        dirs = [dirs]
    if not dirs:
        raise ResultsError("no directory given (give one or more run directories or a sweep)")
    runs: list[Run] = []
    sweeps: list[Sweep] = []
    jobs: list[Run | SkippedJob] = []
    for d in dirs:
        path = Path(d)
        if path.is_dir() and is_sweep_dir(path):
            sweep = load_sweep(path)
            sweeps.append(sweep)
            runs.extend(sweep.runs)
            jobs.extend(sweep.jobs)
        else:
            runs.append(load_run(path))
            jobs.append(runs[-1])
    _refuse_repeats(runs)
    _assign_labels(runs, sweeps)
    only_sweep = sweeps[0] if len(sweeps) == 1 and len(dirs) == 1 else None
    return RunSet(runs=runs, sweep=only_sweep, jobs=jobs, sweeps=sweeps)
