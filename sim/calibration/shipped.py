"""Whether a stored calibration belongs to this model and record; the posterior that ships.

A posterior is conditional on the simulator, its summary statistics, the distance, the
calibration file, the record and the settings. :func:`calibration_problems` checks a stored
calibration against all of them: the files it records by value (the space, the observed record,
the settings), and the code by its **behaviour fingerprint** -- a hash of what the engine
returns at the calibrated quantities' prior midpoints (seeds 0-2) and at posterior draws 0-2
(seed 0), of the summary statistics of those replicates and of their distances to the record.
A change of the rules, the statistics or the distance that changes any of these changes the
fingerprint; a refactoring that leaves them identical does not, nor does an output added to
the model (:data:`FINGERPRINT_OUTPUTS`), nor moving a calibrated parameter's default (the
calibration sets it).

``cpec-sim calibrate --jobs 2`` takes ~5 minutes on two cores, so the documented
calibration's result ships in ``sim/data/posterior/`` (:func:`ship`, via
``scripts/ship_posterior.py``): ``parameters=posterior`` reads it unless
``results/calibration/full/`` holds a calibration without problems, and
``tests/calibration/test_defaults.py`` fails while the shipped one has any.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.space import CalibrationSpace, load_space
from sim.files import (
    atomic_write_json,
    damaged_files,
    read_json_object,
    sha256_of,
    user_cache_dir,
)
from sim.posterior import SHIPPED_POSTERIOR_DIR as SHIPPED_DIR
from sim.posterior import parquet_table

FILES = ("posterior.parquet", "parameters.csv", "manifest.json")
RECORD = "shipped.json"
#: What the fingerprint runs: prior midpoints at these seeds, and these draws at seed 0.
SEEDS = (0, 1, 2)
DRAWS = (0, 1, 2)


#: The outputs the fingerprint hashes: those a replicate recorded when the shipped calibration
#: was made. An output added since changes none of these, so it leaves the fingerprint as it was
#: (a stranger's new summary column had the shipped posterior refused as "not a calibration of
#: this model"); a rule that changes behaviour changes them, and one removed or renamed changes
#: the fingerprint too.
FINGERPRINT_OUTPUTS: dict[str, frozenset[str]] = {
    "weekly": frozenset(
        (
            "attacks",
            "attacks_balochistan",
            "attacks_on_chinese",
            "attacks_on_infrastructure",
            "attacks_on_security",
            "capital_deployed",
            "china_level",
            "china_patience",
            "chinese_killed",
            "chinese_nationals",
            "chinese_troops",
            "civilians_killed",
            "fighters",
            "grievance",
            "investment_hold",
            "investors_active",
            "investors_paused",
            "investors_withdrawn",
            "iran_posture",
            "joint_operations",
            "killed",
            "killed_balochistan",
            "legitimacy",
            "militants_captured",
            "militants_killed",
            "operation_intensity",
            "recruits",
            "security_killed",
            "share_chinese_target",
            "sites_guarded_by_troops",
        )
    ),
    "events": frozenset(
        (
            "attackers",
            "attackers_lost",
            "chinese_killed",
            "civilians_killed",
            "district",
            "group",
            "interdicted",
            "killed",
            "security_killed",
            "success",
            "target",
            "week",
        )
    ),
    "summary": frozenset(
        (
            "attacks_balochistan",
            "attacks_on_chinese",
            "attacks_total",
            "capital_deployed_final",
            "china_patience_final",
            "chinese_killed",
            "chinese_troops_deployed",
            "civilians_killed",
            "fighters_final",
            "grievance_final",
            "investment_hold",
            "investors_paused_final",
            "investors_withdrawn",
            "killed_balochistan",
            "legitimacy_final",
            "max_attack_killed",
            "militants_captured",
            "militants_killed",
            "security_killed",
            "weeks_to_first_pause",
        )
    ),
}


def _canonical(result: Any) -> bytes:
    """A replicate's three outputs (those of :data:`FINGERPRINT_OUTPUTS`) as canonical bytes."""
    parts = {
        name: {
            k: np.asarray(v).tolist()
            for k, v in sorted(getattr(result, name).items())
            if k in FINGERPRINT_OUTPUTS[name]
        }
        for name in ("weekly", "events", "summary")
    }
    return json.dumps(parts, sort_keys=True).encode()


def behaviour_fingerprint(
    space: CalibrationSpace,
    posterior: pd.DataFrame,
    scales: Mapping[str, float],
    observed: Mapping[str, Mapping[str, float]],
) -> str:
    """Hash of the replicates, statistics and distances described in the module's docstring,
    computed through the simulator ABC calls (:class:`CrisisSimulator`).

    ``observed`` maps each statistic to ``{"value", "half_width"}`` (a manifest's entry). The
    statistics are taken in sorted order, as a manifest stores them: the distance sums in that
    order, and another order changes its last bits (every new calibration failed its own check).
    """
    from sim.calibration.distance import ScaledDistance
    from sim.calibration.simulator import CrisisSimulator
    from sim.engine import run_replicate

    observed = {k: observed[k] for k in sorted(observed)}

    distance = ScaledDistance(
        {k: float(scales[k]) for k in observed},
        {k: float(v.get("half_width", 0.0)) for k, v in observed.items()},
    )
    record = {k: float(v["value"]) for k, v in observed.items()}
    simulator = CrisisSimulator(space)
    middle = {p.name: (p.low + p.high) / 2 for p in space.priors}
    points = [(middle, seed) for seed in SEEDS] + [
        ({p.name: float(posterior.iloc[d][p.keys[0]]) for p in space.priors}, 0) for d in DRAWS
    ]
    h = hashlib.sha256()
    for values, seed in points:
        stats = simulator(values, seed)
        h.update(_canonical(run_replicate(simulator.params(values), space.weeks, seed)))
        h.update(json.dumps(stats, sort_keys=True).encode())
        h.update(repr(distance({k: stats[k] for k in record}, record)).encode())
    return h.hexdigest()[:16]


def calibration_problems(directory: Path, fingerprint: bool = True) -> list[str]:
    """Why the calibration in ``directory`` does not belong to this model, record and the
    documented settings (empty if it does). ``fingerprint=False`` skips the (~0.1 s) runs.
    A damaged manifest or posterior is a problem, not an error."""
    try:
        return _problems(directory, fingerprint)
    except (TypeError, KeyError, ValueError, IndexError, AttributeError, OSError) as err:
        return [f"its manifest or posterior is damaged ({type(err).__name__}: {err})"]


def checked_problems(directory: Path) -> list[str]:
    """:func:`calibration_problems` of ``directory``, remembered in the user's cache
    (``$XDG_CACHE_HOME/cpec-sim/checks/``) under a hash of everything the check reads, so
    that a run over a posterior pays the check (~1 s: its runs and imports) once per state of
    the code, configs, data and calibration, not every time."""
    try:
        key = _check_key(directory)
    except OSError:  # a file that cannot be read: check afresh, remember nothing
        return calibration_problems(directory)
    cache = user_cache_dir("checks") / f"{key}.json"
    stored = read_json_object(cache)
    if stored is not None and isinstance(stored.get("problems"), list):
        return [str(p) for p in stored["problems"]]
    problems = calibration_problems(directory)
    with contextlib.suppress(OSError):  # an unwritable cache only costs the next run time
        atomic_write_json(cache, {"directory": str(directory), "problems": problems})
    return problems


def _check_key(directory: Path) -> str:
    """A hash of what :func:`calibration_problems` reads: the package's code and data, the
    shipped configs, the calibration's own files, the libraries' versions and the machine (a
    cache shared between machines must not carry one's answer to another)."""
    from importlib.metadata import version

    import sim
    from sim.config import config_dir

    h = hashlib.sha256()
    h.update(f"{sys.version} {platform.platform()} {platform.processor()}".encode())
    for name in ("numpy", "numba", "pyabc", "pandas", "pyarrow", "hydra-core", "omegaconf"):
        h.update(f"{name} {version(name)}".encode())
    roots = (Path(sim.__file__).resolve().parent, config_dir().resolve())
    files = sorted({path for root in roots for path in _files_under(root)})
    listed = (read_json_object(directory / "manifest.json") or {}).get("files")
    listed = listed if isinstance(listed, dict) else {}
    names = sorted({*FILES, RECORD, *(str(name) for name in listed)})  # every table checked
    own = [directory / name for name in names if (directory / name).is_file()]
    for path in [*files, *own]:
        h.update(str(path).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:24]


def _files_under(root: Path) -> list[Path]:
    """Every file under ``root``, through symbolic links (a clone's configs/experiment links
    to experiments/, where the calibration file is: ``rglob`` would not enter it)."""
    return [
        path
        for folder, _, names in os.walk(root, followlinks=True)
        if "__pycache__" not in Path(folder).parts
        for path in (Path(folder) / name for name in names)
        if path.is_file()  # not a dangling link (an editor's lock file), a FIFO, ...
    ]


def _problems(directory: Path, fingerprint: bool) -> list[str]:
    from importlib.metadata import version

    from sim.calibration.record import WINDOWS, observed
    from sim.calibration.settings import FULL

    manifest = read_json_object(directory / "manifest.json")
    if manifest is None:
        return ["no readable manifest.json"]
    if manifest.get("status") != "complete":
        return ["the calibration is not complete"]
    problems = []
    if manifest.get("synthetic_record"):
        problems.append("it was calibrated on a synthetic record")
    if manifest.get("window") != "full":
        problems.append(f"it is a {manifest.get('window')!r} calibration, not 'full'")
    documented = {**FULL.identity(), "generations": FULL.generations}
    settings = manifest.get("settings")
    if not isinstance(settings, dict):
        problems.append("its manifest records no settings")
    else:
        # the seed is Monte Carlo noise, not another calibration: any seed will do
        differ = [
            f"{key} {settings.get(key)!r} (documented {value!r})"
            for key, value in documented.items()
            if key != "seed" and settings.get(key) != value
        ]
        differ += [
            f"{key} {settings[key]!r} (not documented)" for key in settings if key not in documented
        ]
        if differ:
            problems.append(f"its settings are not the documented ones: {', '.join(differ)}")
    held = _generations_held(manifest)
    if held is None:
        problems.append("its manifest does not record how many generations it holds")
    elif held > documented["generations"]:
        # a longer calibration resumed with fewer generations asked for keeps its last one
        problems.append(
            f"it holds {held} generations, not the documented {documented['generations']}"
        )
    # "packages" since manifests record provenance; "versions" before
    made_with = (manifest.get("packages") or manifest.get("versions") or {}).get("pyabc")
    if made_with is not None and made_with != version("pyabc"):
        problems.append(f"it was made with pyabc {made_with}, this is {version('pyabc')}")
    space = load_space()
    if manifest.get("space") != space.as_dict():
        problems.append("the calibration file has changed since")
    entries = manifest.get("observed") or {}
    stored = {k: (v["value"], v.get("half_width", 0.0)) for k, v in entries.items()}
    window = manifest.get("window")  # a hindcast's record is its own window's, not the full
    record = observed(window if window in WINDOWS else "full")
    if stored != {o.name: (o.value, o.half_width) for o in record}:
        problems.append("the observed record (a value or a range) has changed since")
    altered = _altered_files(directory, manifest)
    problems += [
        f"{name} is not the file the calibration wrote (its SHA-256 differs from the manifest's)"
        for name in altered
    ]
    recorded = manifest.get("behaviour_fingerprint") or (
        (read_json_object(directory / RECORD) or {}).get("behaviour_fingerprint")
    )
    # run even when other problems were found: a calibration of another model must say so,
    # whatever else is wrong with it (not when its posterior or manifest cannot be trusted)
    # (a manifest without its scales fails in the fingerprint: a damaged one)
    if fingerprint and manifest.get("space") == space.as_dict() and not altered:
        if recorded is None:
            problems.append("it records no behaviour fingerprint (made before they existed)")
        else:
            # on this thread: a command refused right after could abort on exit otherwise
            table = parquet_table((directory / "posterior.parquet").read_bytes())
            draws = table.to_pandas(use_threads=False)
            now = behaviour_fingerprint(space, draws, manifest["scales"], entries)
            if now != recorded:
                problems.append(
                    "the model's results, statistics or distance have changed since "
                    f"(fingerprint {now}, recorded {recorded})"
                )
    return problems


def _altered_files(directory: Path, manifest: Mapping[str, Any]) -> list[str]:
    """The files whose SHA-256 differs from the one the manifest recorded when they were
    written (a missing file is the caller's to find)."""
    checked = {
        str(name): entry
        for name, entry in (manifest.get("files") or {}).items()
        if isinstance(entry, dict) and "sha256" in entry and (directory / str(name)).is_file()
    }
    return list(damaged_files(directory, checked))


def _generations_held(manifest: Mapping[str, Any]) -> int | None:
    """The generations a calibration's posterior comes from: the most its manifest records
    (``generations_done``, the rows of ``generations.csv``); None if it records neither."""
    entry = ((manifest.get("files") or {}).get("generations.csv") or {}).get("rows")
    counts = [v for v in (manifest.get("generations_done"), entry) if v is not None]
    return max(int(v) for v in counts) if counts else None


def shipped_record(directory: Path = SHIPPED_DIR) -> dict[str, Any]:
    """The shipped posterior's ``shipped.json``."""
    data = read_json_object(directory / RECORD)
    if data is None:
        raise ValueError(f"{directory / RECORD} is missing or not a JSON object")
    return data


def ship(
    calibration: Path, directory: Path = SHIPPED_DIR, trust_current_model: bool = False
) -> dict[str, Any]:
    """Copy a calibration at the documented settings on the real record, of this model, into
    ``directory``.

    A calibration made before calibrations recorded their behaviour fingerprint cannot show
    which model it ran; ``trust_current_model`` stamps it with the current one (only for a
    calibration just re-run with this code).
    """
    manifest = read_json_object(calibration / "manifest.json") or {}
    if manifest.get("behaviour_fingerprint") is None and not trust_current_model:
        raise ValueError(
            f"{calibration} records no behaviour fingerprint, so which model it ran is unknown: "
            "re-run `cpec-sim calibrate --jobs 2`, or pass --trust-current-model if it was just "
            "run with this code"
        )
    problems = calibration_problems(calibration, fingerprint=not trust_current_model)
    if problems:
        raise ValueError(f"{calibration} cannot be shipped: {'; '.join(problems)}")
    fingerprint = manifest.get("behaviour_fingerprint") or behaviour_fingerprint(
        load_space(),
        pd.read_parquet(calibration / "posterior.parquet"),
        manifest["scales"],
        manifest["observed"],
    )
    directory.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(calibration / name, directory / name)
    record = {
        "from": str(calibration),
        "config_hash": manifest.get("config_hash"),
        "shipped": datetime.now(UTC).strftime("%Y-%m-%d"),
        "behaviour_fingerprint": fingerprint,
        "fingerprint_stamped_at_shipping": manifest.get("behaviour_fingerprint") is None,
        "fingerprint_runs": {"prior_midpoint_seeds": list(SEEDS), "posterior_draws": list(DRAWS)},
        "sha256": {name: sha256_of(directory / name) for name in FILES},
    }
    (directory / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


__all__ = [
    "SHIPPED_DIR",
    "behaviour_fingerprint",
    "calibration_problems",
    "ship",
    "shipped_record",
]
