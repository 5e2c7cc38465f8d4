"""A whole calibration: pilot, ABC-SMC, posterior, predictive checks, hindcast; stored in a
directory with a manifest, resumable, usable from a notebook::

    from sim.calibration.pipeline import calibrate
    result = calibrate(fast=True, jobs=2)
    result.parameters          # identifiability table
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration import diagnostics
from sim.calibration.abc import ABC, DB_FILE, equal_weight_draws, pilot_scales, worker_pool
from sim.calibration.defaults import review_defaults
from sim.calibration.record import Observed, Window, held_out, observed
from sim.calibration.settings import FAST, FULL, SHIPPED_FILE, Settings
from sim.calibration.shipped import behaviour_fingerprint
from sim.calibration.simulator import STATISTICS, CrisisSimulator
from sim.calibration.space import CalibrationSpace, load_space
from sim.provenance import provenance, scenario_files

DEFAULT_OUT = Path("results/calibration")
FULL_PREDICTIVE, FAST_PREDICTIVE = 300, 60
PRELOAD = ("sim.calibration.simulator", "sim.engine_warm")


class CalibrationError(ValueError):
    """A calibration cannot run as asked; the message is one user-facing line."""


@dataclass
class CalibrationResult:
    """Where a calibration is stored and its main tables."""

    out_dir: Path
    posterior: pd.DataFrame  # equal-weight draws, dotted model keys
    parameters: pd.DataFrame  # identifiability
    defaults: pd.DataFrame  # the defaults reviewed against the posterior
    predictive: pd.DataFrame  # posterior predictive check
    hindcast: pd.DataFrame | None
    simulations: int  # the calibration's: pilot, every generation, the predictive sample
    seconds: float  # this session's
    session_simulations: int = 0  # run this session (a resumed calibration reuses the rest)
    #: ``simulations`` by part (:func:`simulations_by_part`), in the order they ran.
    parts: dict[str, int] = field(default_factory=dict)


def simulations_by_part(
    pilot: int, abc_total: int, generations: list[int], predictive: int, references: int
) -> dict[str, int]:
    """A calibration's simulations by part. pyabc's total counts the sample from the prior
    that sets the first generation's tolerance, which no generation counts as its own."""
    parts = {
        "pilot": pilot,
        "first tolerance": abc_total - sum(generations),
        "generations": sum(generations),
        "posterior predictive": predictive,
    }
    if references:
        parts["hindcast references"] = references
    return parts


def space_file_name(path: str) -> str:
    """The calibration file as a manifest records it: the shipped one by its place in the
    project (an absolute path names one machine's clone), any other as given."""
    from sim.calibration.space import DEFAULT_FILE
    from sim.explore.space import default_study_path

    shipped = default_study_path(DEFAULT_FILE)
    if path and Path(path).resolve() == shipped.resolve():
        return SHIPPED_FILE
    return path


def config_hash(
    space: CalibrationSpace,
    window: str,
    settings: Settings,
    record: Mapping[str, float],
    ranges: Mapping[str, float] | None = None,
) -> str:
    """Hash of everything that determines the calibration's result."""
    from importlib.metadata import version

    from sim.config import scenario_params
    from sim.fingerprint import model_fingerprint
    from sim.params import flatten, to_dict

    parts = {
        "space": space.as_dict(),
        "window": window,
        "observed": dict(record),
        # a statistic known only as a range: its half-width changes the distance
        "ranges": {k: v for k, v in sorted((ranges or {}).items()) if v > 0},
        "libraries": {name: version(name) for name in ("pyabc", "numpy")},
        "settings": settings.identity(),
        # the model: every parameter of the scenario (fixed or calibrated), its rules, data
        # and code; and the calibration's own code (statistics, distance, record, sampler)
        "scenario": flatten(to_dict(scenario_params(space.scenario))),
        "model": model_fingerprint(),
        "calibration_code": calibration_code_fingerprint(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


#: The calibration's own code that shapes its result: the simulator's statistics, the
#: distance, the record, the sampler and the space (the settings are hashed as values).
CALIBRATION_SOURCES = ("simulator.py", "distance.py", "record.py", "abc.py", "space.py")


def calibration_code_fingerprint() -> str:
    """A hash of :data:`CALIBRATION_SOURCES`, byte for byte."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in CALIBRATION_SOURCES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def check_out_dir(out_dir: Path) -> None:
    """Refuse ``out_dir`` (``--out``) before anything is written if it is a file, a system or
    home folder, a folder holding files that are not a calibration, or cannot be written."""
    from sim.files import not_a_folder_to_write, unwritable
    from sim.posterior import SHIPPED_POSTERIOR_DIR

    problem = not_a_folder_to_write(out_dir)
    if problem:
        raise CalibrationError(f"--out {out_dir} {problem}: choose another folder")
    if out_dir.resolve().is_relative_to(SHIPPED_POSTERIOR_DIR):
        raise CalibrationError(
            f"--out {out_dir} is the posterior shipped with cpec-sim: choose another folder"
        )
    try:
        foreign = out_dir.is_dir() and not _holds_a_calibration(out_dir)
    except OSError as err:
        raise CalibrationError(
            f"--out {out_dir}: cannot read it ({err.strerror or type(err).__name__}); "
            "choose another folder"
        ) from None
    if foreign:
        raise CalibrationError(
            f"--out {out_dir} holds files that are not a calibration of cpec-sim: "
            "choose a new folder"
        )
    problem = unwritable(out_dir)
    if problem:
        raise CalibrationError(f"--out {out_dir}: {problem}; choose another folder")


#: The lock a calibration holds on its folder while it runs (:func:`sim.runner.exclusive`).
LOCK_FILE = ".lock"
#: What a calibration writes besides its manifest (``abc.db-journal``: pyabc, interrupted).
OWN_FILES = frozenset(
    {
        LOCK_FILE,
        DB_FILE,
        f"{DB_FILE}-journal",
        "posterior.parquet",
        "population.parquet",
        "predictive.parquet",
        "generations.csv",
        "parameters.csv",
        "predictive_check.csv",
        "defaults.csv",
        "hindcast.csv",
        "plots",
    }
)


def _holds_a_calibration(out_dir: Path) -> bool:
    """Empty, a calibration's folder (its manifest; a damaged one with its ``abc.db``), or one
    whose manifest was lost holding only what a calibration writes."""
    names = {
        p.name
        for p in out_dir.iterdir()
        if not (p.name.startswith(".") and p.name.endswith(".tmp"))
    }
    if "manifest.json" not in names:
        return names <= OWN_FILES
    try:
        data = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DB_FILE in names  # ours, damaged: _read_manifest says so
    return isinstance(data, dict) and data.get("kind") == "calibration"


def stored_generations(out_dir: Path) -> int:
    """Finished generations in ``out_dir``'s pyabc database (0 if there is none).

    Only read (an interrupted write's journal is rolled back, as pyabc would on resuming).
    """
    import sqlite3

    path = out_dir / DB_FILE
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    query = "SELECT MAX(t) FROM populations WHERE abc_smc_id = (SELECT MAX(id) FROM abc_smc)"
    try:
        with closing(sqlite3.connect(path)) as db:
            (last,) = db.execute(query).fetchone()
    except sqlite3.Error:
        raise CalibrationError(f"{path} is damaged: delete {out_dir} to start again") from None
    return 0 if last is None else int(last) + 1


def _read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / "manifest.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise CalibrationError(f"{path} is damaged: delete {out_dir} to start again") from None
    return data if isinstance(data, dict) else None


def _write_manifest(out_dir: Path, data: dict[str, Any]) -> None:
    from sim.files import atomic_write_json

    atomic_write_json(out_dir / "manifest.json", data)


def _write_table(path: Path, table: pd.DataFrame) -> None:
    from sim.files import atomic_write_bytes

    if path.suffix == ".csv":
        atomic_write_bytes(path, table.to_csv(index=False).encode())
    else:
        import io

        buf = io.BytesIO()
        table.to_parquet(buf, index=False)
        atomic_write_bytes(path, buf.getvalue())


def posterior_draws(space: CalibrationSpace, draws: pd.DataFrame) -> pd.DataFrame:
    """Equal-weight draws of the named quantities as dotted model keys (tied keys repeated)."""
    out = pd.DataFrame({"draw": np.arange(len(draws), dtype=np.int64)})
    for p in space.priors:
        for key in p.keys:
            out[key] = draws[p.name].to_numpy(dtype=float)
    return out


def calibrate(
    *,
    window: Window = "full",
    fast: bool = False,
    settings: Settings | None = None,
    jobs: int = 1,
    out_dir: Path | None = None,
    space: CalibrationSpace | None = None,
    scheduler: str | None = None,
    predictive: int | None = None,
    record: Mapping[str, float] | None = None,
    progress: Callable[[str], None] = print,
) -> CalibrationResult:
    """Calibrate (or resume a calibration) and store it in ``out_dir``.

    ``record`` replaces the observed values of the window's statistics (same names), e.g. a
    synthetic record simulated at known parameters, to check that calibration recovers them.
    ``scheduler`` (a Dask scheduler's address) runs the simulations on its workers instead of
    ``jobs`` local processes; the result is the same. Before anything is written, ``out_dir``
    is checked (:func:`check_out_dir`), and a folder holding more generations than ``settings``
    asks for is refused (its posterior is not one of fewer generations).
    """
    space = space or load_space()
    settings = replace(settings or (FAST if fast else FULL), jobs=jobs)
    n_predictive = predictive or (FAST_PREDICTIVE if fast else FULL_PREDICTIVE)
    out_dir = Path(out_dir or DEFAULT_OUT / (window if not fast else f"{window}-fast"))
    check_out_dir(out_dir)
    with _holding(out_dir):
        return _calibrate_in(
            out_dir, window, settings, n_predictive, space, jobs, scheduler, record, progress
        )


@contextmanager
def _holding(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s lock (a second session writing it is refused in one line); a folder
    made only to hold the lock is removed again if the calibration stops before writing."""
    from sim.params import ParameterError
    from sim.runner import FolderBusy, exclusive

    made = not out_dir.exists()
    with ExitStack() as held:
        try:
            held.enter_context(exclusive(out_dir))
        except FolderBusy:
            _remove_if_only_the_lock(out_dir, made)
            raise CalibrationError(
                f"another cpec-sim process is calibrating into {out_dir}: wait for it to "
                "finish or choose another --out"
            ) from None
        except ParameterError as err:  # not a lock file
            _remove_if_only_the_lock(out_dir, made)
            raise CalibrationError(str(err)) from None
        try:
            yield
        except BaseException:  # refused, failed or interrupted before anything was written
            _remove_if_only_the_lock(out_dir, made)
            raise


def _remove_if_only_the_lock(out_dir: Path, made: bool) -> None:
    """Remove ``out_dir`` if this session made it and it holds nothing but the lock."""
    if made and out_dir.is_dir() and {p.name for p in out_dir.iterdir()} <= {LOCK_FILE}:
        shutil.rmtree(out_dir, ignore_errors=True)


def _without_generations(value: Any) -> Any:
    """Settings as the hash sees them (generations may grow on a resume)."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "generations"}
    return value


def _refuse_another(out_dir: Path, earlier: dict[str, Any], now: dict[str, Any]) -> None:
    """Refuse to resume the calibration in ``out_dir`` as another, saying what differs."""
    differ = [
        f"{name} ({what})"
        for name, what in (
            ("window", "full or hindcast"),
            ("settings", "seed, population, --fast"),
            ("space", "the calibration file"),
            ("observed", "the record"),
        )
        if _without_generations(earlier.get(name)) != _without_generations(now[name])
    ]
    if not differ:
        differ = [
            "the model's rules, data or code, the calibration's code or its libraries changed "
            "since, or an earlier version of cpec-sim made it"
        ]
    raise CalibrationError(
        f"{out_dir} holds a different calibration ({'; '.join(differ)}): give its settings "
        "to resume it, or choose another --out (move the folder away to start again there)"
    )


def _stored_scales(
    manifest: Mapping[str, Any], statistics: list[str], out_dir: Path
) -> dict[str, float] | None:
    """The distance's scales an earlier session stored (None if it stopped before its pilot
    finished); :class:`CalibrationError` if they are not one positive number per statistic."""
    if "scales" not in manifest:
        return None
    stored = manifest["scales"]
    try:
        scales = {str(k): float(v) for k, v in stored.items()}
    except (AttributeError, TypeError, ValueError):
        scales = {}
    if set(scales) != set(statistics) or not all(0 < v < np.inf for v in scales.values()):
        raise CalibrationError(
            f"{out_dir}/manifest.json: its distance scales are damaged (one positive number "
            "per statistic is needed): move the folder away to calibrate again there, or "
            "choose another --out"
        )
    return scales


def _calibrate_in(
    out_dir: Path,
    window: Window,
    settings: Settings,
    n_predictive: int,
    space: CalibrationSpace,
    jobs: int,
    scheduler: str | None,
    record: Mapping[str, float] | None,
    progress: Callable[[str], None],
) -> CalibrationResult:
    """:func:`calibrate`, in ``out_dir`` whose lock is held."""
    observations = _observations(window, record)
    obs = {o.name: o.value for o in observations}
    half = {o.name: o.half_width for o in observations if o.half_width > 0}
    key = config_hash(space, window, settings, obs, half)  # another model or record: anew
    manifest: dict[str, Any] = {
        "kind": "calibration",
        "status": "running",
        "config_hash": key,
        "window": window,
        "space": space.as_dict(),
        "space_file": space_file_name(space.path),
        **scenario_files(scenario_file=space.scenario),
        # keys runs over the posterior leave out (not in "space": its hash stays as it was)
        "placebo": space.placebo_keys,
        "observed": {
            o.name: {"value": o.value, "half_width": o.half_width, "source": o.source}
            for o in observations
        },
        "synthetic_record": record is not None,
        "settings": {**settings.identity(), "generations": settings.generations},
        "method": "ABC-SMC (pyabc), uniform priors, L1 distance scaled by prior-predictive MAD, "
        "median epsilon, seeded mapping sampler",
        **provenance("pyabc", "scoringrules"),
    }
    earlier = _read_manifest(out_dir)
    if earlier is None and stored_generations(out_dir):
        raise CalibrationError(
            f"{out_dir} holds a calibration's {DB_FILE} without its manifest.json: move it "
            "away (or restore its manifest), or choose another --out"
        )
    if earlier is not None and earlier.get("config_hash") != key:
        _refuse_another(out_dir, earlier, manifest)
    held = stored_generations(out_dir) if earlier is not None else 0
    if held > settings.generations:  # its posterior is not one of fewer generations
        raise CalibrationError(
            f"{out_dir} holds a calibration of {held} generations, more than the "
            f"{settings.generations} asked for: give --generations {held} or more to use it, "
            "or choose a new --out"
        )
    stored_scales = _stored_scales(earlier, list(obs), out_dir) if earlier is not None else None
    started = time.perf_counter()
    simulator = CrisisSimulator(space)
    with worker_pool(jobs, PRELOAD, scheduler) as map_:
        out_dir.mkdir(parents=True, exist_ok=True)  # once the workers are there
        session = n_predictive  # simulations run this session
        if stored_scales is not None:
            scales = stored_scales
        else:
            progress(f"pilot: {settings.pilot} prior-predictive simulations to scale the distance")
            scales = pilot_scales(
                simulator, space.priors, list(obs), settings.pilot, settings.seed, map_
            )
            session += settings.pilot
        manifest["scales"] = scales
        finished = earlier is not None and earlier.get("status") == "complete"
        if not (finished and held >= settings.generations):  # else: complete until rewritten
            _write_manifest(out_dir, manifest)
        abc = ABC(simulator, space.priors, obs, scales, settings, out_dir, map_, half)
        abc.start_or_resume(resume=earlier is not None)
        before = abc.total_simulations  # stored by earlier sessions (0 if none)
        if abc.generations_done:
            progress(f"resuming after generation {abc.generations_done} of {settings.generations}")
        while abc.generations_done < settings.generations:
            if abc.stalled():
                progress(f"stopped: acceptance below {settings.min_acceptance:.1%}")
                break
            gen = abc.run_generation()
            if gen is None:
                break
            progress(
                f"generation {gen.t + 1}/{settings.generations}: epsilon {gen.epsilon:.3g}, "
                f"accepted {gen.accepted}/{gen.simulations} ({gen.acceptance:.1%}), "
                f"ESS {gen.ess:.0f}, {gen.seconds:.0f} s"
            )
        population = abc.population()
        draws = equal_weight_draws(population, settings.draws, settings.seed)
        progress(f"posterior predictive: {n_predictive} simulations")
        pred = diagnostics.predictive_sample(simulator, draws, n_predictive, settings.seed, map_)
        references = {}
        if window == "hindcast":
            progress(
                f"references: {n_predictive} simulations from the priors, as many at the defaults"
            )
            starts = {
                "prior": diagnostics.prior_draws(space, n_predictive, settings.seed),
                "defaults": pd.DataFrame([space.defaults()]),
            }
            references = {
                name: diagnostics.predictive_sample(simulator, d, n_predictive, settings.seed, map_)
                for name, d in starts.items()
            }
    generations = pd.DataFrame([g.__dict__ for g in abc.generations()]).drop(columns="seconds")
    posterior = posterior_draws(space, draws)
    parameters = diagnostics.identifiability(space, population, settings.seed)
    review = review_defaults(posterior, parameters, space.defaults())
    check = diagnostics.predictive_check(pred, observations)
    hind = (
        diagnostics.hindcast_scores(pred, held_out(), references=references)
        if window == "hindcast"
        else None
    )
    files = {
        "posterior.parquet": posterior,
        "population.parquet": population,
        "predictive.parquet": pred,
        "generations.csv": generations,
        "parameters.csv": parameters,
        "predictive_check.csv": check,
        "defaults.csv": review,
    }
    if hind is not None:
        files["hindcast.csv"] = hind
    for name, table in files.items():
        _write_table(out_dir / name, table)
    figures = diagnostics.write_figures(out_dir, space, population, parameters, pred, observations)
    fingerprint = behaviour_fingerprint(space, posterior, scales, manifest["observed"])
    seconds = time.perf_counter() - started
    referenced = sum(len(t) for t in references.values())
    session += abc.total_simulations - before + referenced
    from sim.files import file_record

    parts = simulations_by_part(
        settings.pilot,
        abc.total_simulations,
        [g.simulations for g in abc.generations()],
        n_predictive,
        referenced,
    )
    manifest.update(
        status="complete",
        simulations=sum(parts.values()),
        simulations_by_part=parts,
        abc_simulations=abc.total_simulations,
        generations_done=abc.generations_done,
        simulations_this_session=session,
        seconds_this_session=round(seconds, 1),
        jobs=jobs,
        scheduler=scheduler,
        files={name: file_record(out_dir / name, len(t)) for name, t in files.items()},
        figures=[p.name for p in figures],
        behaviour_fingerprint=fingerprint,
    )
    _write_manifest(out_dir, manifest)
    return CalibrationResult(
        out_dir,
        posterior,
        parameters,
        review,
        check,
        hind,
        manifest["simulations"],
        seconds,
        session,
        parts,
    )


def _observations(window: Window, record: Mapping[str, float] | None) -> list[Observed]:
    """The window's observed statistics, with ``record``'s values if given."""
    real = list(observed(window))
    if record is None:
        return real
    names = {o.name for o in real}
    if set(record) != names:
        raise CalibrationError(
            f"a record for window {window!r} needs exactly: {', '.join(sorted(names))}"
        )
    return [replace(o, value=float(record[o.name]), source="synthetic") for o in real]


__all__ = [
    "FAST",
    "FULL",
    "STATISTICS",
    "CalibrationError",
    "CalibrationResult",
    "Settings",
    "calibrate",
    "check_out_dir",
    "config_hash",
    "stored_generations",
]
