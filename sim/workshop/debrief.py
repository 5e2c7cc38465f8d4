"""The debrief: the room's played run against the model left to itself.

``played/`` is a normal run directory (``summary``, ``timeseries`` and ``events`` tables with
their checksums in ``manifest.json``) plus a ``decisions`` table: who decided what, when.
``model/`` holds model-only replicates from the same start (same scenario and settings, no
seats), run by the ordinary runner. ``decisions/`` holds as many replicates with the room's
decisions replayed at the weeks they were made (the same decisions in other histories: the
room decided in its own, so this is "the same moves", not "the same strategy").

One played run cannot say what the decisions did: a room that decides nothing lands
anywhere in the model's distribution. So :func:`debrief` gives, for each outcome, the
decisions' effect (the mean of ``decisions`` - ``model`` with a bootstrap 95% interval,
replicate ``i`` of both on one seed, marked where it holds after Holm's correction) and
where the room's run landed among the replayed runs (how lucky the room was with its own
decisions). All open with ``cpec-sim compare``
and ``cpec-sim plot``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim import __version__
from sim.analysis.stats import NOT_COUNTS
from sim.dashboard.knobs import KNOB_BY_NAME, format_value
from sim.files import atomic_write_json, atomic_write_with, file_record, read_json_object
from sim.provenance import provenance
from sim.record import ReplicateResult
from sim.results import tables_from_replicates
from sim.runner import REPLICATE_SEEDS, RunSpec, replicate_seed, run
from sim.workshop.play import (
    HEADLINE_OUTCOMES,
    differences,
    replayed_result,
    scenario_knobs,
    where_it_landed,
)
from sim.workshop.room import Room, RoomError

DECISION_COLUMNS = ("week", "seat", "participant", "control", "value", "time")


def overrides_of(knobs: dict[str, Any], scenario_knobs: dict[str, Any]) -> list[str]:
    """Knob values that differ from the scenario, as ``cpec-sim run`` overrides."""
    return [
        f"{KNOB_BY_NAME[n].path}={format_value(v)}"
        for n, v in sorted(knobs.items())
        if scenario_knobs.get(n) != v
    ]


def write_table(path: Path, table: pa.Table) -> dict[str, Any]:
    """Write one Parquet table atomically; its manifest record."""
    atomic_write_with(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    return file_record(path, table.num_rows)


def decisions_table(decisions: list[dict[str, Any]]) -> pa.Table:
    """The decision log as a table (week as a number, the rest as text)."""
    schema = pa.schema([("week", pa.int64())] + [(c, pa.string()) for c in DECISION_COLUMNS[1:]])
    columns = {c: [d[c] if c == "week" else str(d[c]) for d in decisions] for c in DECISION_COLUMNS}
    return pa.table(columns, schema=schema)


def save_room_run(
    room: Room,
    folder: Path,
    replicates: list[tuple[int, int, ReplicateResult]],
    kind: str,
    description: str,
    knobs: dict[str, Any],
    seeds: dict[str, str] | None = None,
) -> Path:
    """Write replicates of the room's world as a run directory with the ``decisions`` table;
    ``seeds`` (``{"replicate_seeds": scheme}``) where replicate ``i`` drew from
    ``replicate_seed(seed, i)``, so that ``cpec-sim compare`` pairs it with the model-only
    run as the debrief does."""
    play = room.play
    tables = tables_from_replicates(replicates)
    tables["decisions"] = decisions_table(room.decisions)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        f"{name}.parquet": write_table(folder / f"{name}.parquet", t) for name, t in tables.items()
    }
    manifest = {
        "package": "cpec-sim",
        "version": __version__,
        "kind": kind,
        "scenario": play.scenario,
        "description": description,
        "overrides": overrides_of(knobs, scenario_knobs(play.scenario)),
        "seed": play.seed,
        "replicates": len(replicates),
        "weeks": play.week,
        "horizon": play.weeks,
        "fork_week": play.fork_week,
        "seats": {h.seat: h.name for h in room.holders.values() if h.seat != "observer"},
        "seat_log": room.seat_log,
        "investor_seat": room.investor,
        "room": room.code,
        "session": room.session,
        "backend": "mesa",
        **(seeds or {}),
        "status": "complete",
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        **provenance(),
        "files": files,
    }
    atomic_write_json(folder / "manifest.json", manifest)
    return folder


def save_played_run(room: Room, folder: Path, branch: int = 0) -> Path:
    """Write one branch of the room's run as a run directory with a ``decisions`` table."""
    play = room.play
    b = play.branches[branch]
    result = b.model.recorder.result(b.model.week, b.model.first_pause_week)
    description = f"played in workshop room {room.code} ({b.label})"
    return save_room_run(room, folder, [(0, play.seed, result)], "played", description, b.knobs)


def replay_decisions(room: Room, folder: Path, replicates: int) -> Path:
    """The room's decisions replayed at their weeks in ``replicates`` other histories: the
    model-only runs' seeds and settings, for as many weeks as the room played."""
    play = room.play
    params = play.start_params()
    results = []
    for i in range(replicates):
        seed = replicate_seed(play.seed, i)
        results.append((i, seed, replayed_result(params, play.week, seed, room.actions)))
    description = f"the decisions of workshop room {room.code}, replayed in other histories"
    seeds = {"replicate_seeds": REPLICATE_SEEDS}
    return save_room_run(room, folder, results, "replayed", description, play.start_knobs, seeds)


def model_only_runs(room: Room, folder: Path, replicates: int, jobs: int = 1) -> Path:
    """Model-only replicates from the room's start (its scenario and starting settings)."""
    play = room.play
    knobs = play.start_knobs
    spec = RunSpec(
        params=play.start_params(),
        scenario=play.scenario,
        replicates=replicates,
        seed=play.seed,
        weeks=play.week,  # the weeks the room played: like against like
        jobs=jobs,
        description=f"model-only replicates for workshop room {room.code}",
        overrides=overrides_of(knobs, scenario_knobs(play.scenario)),
    )
    outcome = run(spec, folder, progress=None)
    if outcome.status != "complete":
        raise RuntimeError(f"the model-only run did not complete: {outcome.message}")
    return folder


def check_folder_is_ours(room: Room, folder: Path) -> None:
    """RoomError, before anything is written, if ``folder`` holds another session's files.

    An empty or missing folder is ours, and so is one whose played run this session saved
    (a second debrief at the same week replaces it with the same run).
    """
    if folder.exists() and not folder.is_dir():
        raise RoomError(f"{folder} is a file: nothing was saved; move it away and debrief again")
    if not folder.exists() or not any(folder.iterdir()):
        return
    manifest = read_json_object(folder / "played" / "manifest.json") or {}
    if manifest.get("room") != room.code or manifest.get("session") != room.session:
        raise RoomError(
            f"{folder} holds the files of another session: nothing was saved; move that "
            "folder away and debrief again"
        )


def debrief(room: Room, folder: Path, replicates: int = 100, jobs: int = 1) -> dict[str, Any]:
    """Save the room's run and its model-only comparison under ``folder``; the comparison.

    The model-only replicates run as many weeks as the room played. A folder holding
    another session's files is refused before anything is written.
    """
    if room.play.week == 0:
        raise RoomError("nothing to debrief yet: play at least one week")
    check_folder_is_ours(room, folder)
    played = save_played_run(room, folder / "played")
    if len(room.play.branches) > 1:  # the fork's branch B, for the record (not compared here)
        save_played_run(room, folder / "played-B", branch=1)
    model = model_only_runs(room, folder / "model", replicates, jobs)
    replayed = replay_decisions(room, folder / "decisions", replicates)
    p = pd.read_parquet(played / "summary.parquet").iloc[0]
    s = pd.read_parquet(model / "summary.parquet").sort_values("replicate")
    r = pd.read_parquet(replayed / "summary.parquet").sort_values("replicate")
    alone = {c: s[c].to_list() for c in HEADLINE_OUTCOMES}
    decided = {c: r[c].to_list() for c in HEADLINE_OUTCOMES}
    effects = differences(alone, decided, HEADLINE_OUTCOMES)
    outcomes = {
        c: {
            **where_it_landed(float(p[c]), np.asarray(alone[c], dtype=float), c not in NOT_COUNTS),
            "decisions": where_it_landed(
                float(p[c]), np.asarray(decided[c], dtype=float), c not in NOT_COUNTS
            ),
            "effect": effects[c],
        }
        for c in HEADLINE_OUTCOMES
    }
    return {
        "played": str(played),
        "model": str(model),
        "decisions": str(replayed),
        "week": room.play.week,
        "replicates": replicates,
        "decided": bool(room.actions),
        "outcomes": outcomes,
        "command": f"cpec-sim compare {model} {replayed} {played}",
    }
