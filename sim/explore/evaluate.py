"""Evaluate a design (a table of points) with replicates: chunked, resumable, parallel.

The model is injected as a *point function* ``fn(point, seed) -> {outcome: value}``: one
replicate of one point. :class:`CrisisOutcomes` is the crisis model's (its summary
outcomes); :func:`sim.explore.functions.ishigami` and friends are test functions with known
answers that go through exactly the same path.

* Replicate ``r`` of *every* point uses the seed ``replicate_seed(seed, r)`` of
  :mod:`sim.runner` (common random numbers): a point's replicates are those of
  ``cpec-sim run key=value ... seed=S replicates=R``, so any point can be re-run and checked,
  and differences between points are not blurred by different random streams.
* A point's replicates are averaged: numbers by their mean (NaN ignored), yes/no outcomes
  (``investment_hold``) by the share of replicates in which they happened (``*_share``).
* Points are grouped in chunks; each finished chunk is written at once (Parquet, atomically,
  its ``done`` marker last), so memory stays flat and an interrupted evaluation resumes where
  it stopped. The results do not depend on the chunking, the engine or the number of workers.
* Engines: ``local`` (a process pool of at most ``jobs`` workers; ``jobs=1`` in-process) or
  ``dask`` (a ``dask.distributed`` cluster: a scheduler address, or a local cluster).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.explore.execution import DEFAULT_EXECUTION, Execution
from sim.explore.space import StudyError, design_hash
from sim.files import (
    atomic_write_text,
    not_a_folder_to_write,
    read_json_object,
    unwritable,
)
from sim.params import ModelParams, from_dict
from sim.results import ChunkStore
from sim.runner import (
    Interrupted,
    ProgressBar,
    one_replicate,
    raise_if_interrupted,
    replicate_seed,
    stop_signals,
)
from sim.workers import stop_pool, worker_context, worker_init

PointFunction = Callable[[dict[str, Any], int], Mapping[str, Any]]
ENGINES = ("local", "dask")


# --- the crisis model as a point function -----------------------------------------------------
@cache
def _scenario_data(name: str) -> dict[str, Any]:
    from sim.config import load_scenario

    return {k: v for k, v in load_scenario(name).items() if k != "scenario"}


def _plain(value: Any) -> Any:
    """NumPy scalars as Python scalars (parameter checks want int, float, bool, str)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class CrisisOutcomes:
    """One replicate of the crisis model at a point: its summary outcomes.

    ``point`` maps dotted parameter keys to values; they are applied on top of the scenario
    and the fixed ``overrides`` (exactly like ``scenario_params(scenario, overrides)``).
    """

    scenario: str = "baseline"
    weeks: int = 104
    overrides: tuple[tuple[str, Any], ...] = ()

    def params(self, point: Mapping[str, Any]) -> ModelParams:
        """The validated parameters of a point."""
        data = copy.deepcopy(_scenario_data(self.scenario))
        for key, value in [*self.overrides, *point.items()]:
            node = data
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = _plain(value)
        return from_dict(data)

    def __call__(self, point: Mapping[str, Any], seed: int) -> dict[str, Any]:
        from sim.engine import run_replicate

        return dict(run_replicate(self.params(point), self.weeks, seed).summary)

    def fingerprint(self) -> str:
        """A hash of the model this function runs: the scenario's resolved parameters (its
        file, the defaults and the overrides), the rules and the data files."""
        from sim.compiled import model_fingerprint
        from sim.params import to_dict

        blob = json.dumps({"params": to_dict(self.params({})), "model": model_fingerprint()})
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def constants(self) -> dict[str, float]:
        """Names usable in ``--where`` queries besides the outcomes."""
        from sim.space import load_investors

        initial = float(sum(inv["deployed"] for inv in load_investors()))
        return {"initial": initial, "initial_capital_deployed": initial}


def function_identity(fn: Any) -> str:
    """A stable description of a point function (part of a study's hash)."""
    if dataclasses.is_dataclass(fn):
        return repr(fn)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def model_fingerprint(fn: Any) -> str | None:
    """The point function's model fingerprint (None if it has none): a study of a changed
    scenario file, default or rule is another study, not one to resume."""
    fingerprint = getattr(fn, "fingerprint", None)
    return fingerprint() if callable(fingerprint) else None


# --- one chunk (runs in a worker) -------------------------------------------------------------
class PointError(RuntimeError):
    """A replicate of a point raised (the message names the point and the seed)."""


def aggregate_name(outcome: str, value: Any) -> str:
    """Name of a replicate outcome's per-point aggregate: ``x`` or ``x_share`` (yes/no)."""
    return f"{outcome}_share" if isinstance(value, (bool, np.bool_)) else outcome


def point_seeds(seed: int, index: int, replicates: int, common: bool = True) -> list[int]:
    """The replicate seeds of point ``index``: ``replicate_seed(seed, r)``, shared by every
    point (``common``), or ``replicate_seed(seed, index * replicates + r)``, its own."""
    first = 0 if common else index * replicates
    return [replicate_seed(seed, first + r) for r in range(replicates)]


def evaluate_chunk(
    fn: PointFunction,
    chunk: int,
    indices: list[int],
    points: list[dict[str, Any]],
    replicates: int,
    seed: int,
    common_seeds: bool = True,
) -> tuple[int, dict[str, list[Any]], dict[str, list[Any]]]:
    """Run every replicate of some points; return per-point aggregates and replicate rows."""
    reps: dict[str, list[Any]] = {"point": [], "replicate": [], "seed": []}
    aggs: dict[str, list[Any]] = {"point": []}
    for index, point in zip(indices, points, strict=True):
        values: dict[str, list[Any]] = {}
        for r, s in enumerate(point_seeds(seed, index, replicates, common_seeds)):
            try:
                with one_replicate():
                    out = fn(point, s)
            except Interrupted:
                raise
            except Exception as exc:
                raise_if_interrupted(exc)
                raise PointError(
                    f"point {index} {point} raised with replicate seed {s}: {exc!r}"
                ) from None
            reps["point"].append(index)
            reps["replicate"].append(r)
            reps["seed"].append(s)
            for key, value in out.items():
                values.setdefault(key, []).append(_plain(value))
                reps.setdefault(key, []).append(_plain(value))
        aggs["point"].append(index)
        for key, vals in values.items():
            arr = np.asarray(vals, dtype=float)
            finite = arr[~np.isnan(arr)]
            mean = float(finite.mean()) if finite.size else math.nan
            aggs.setdefault(aggregate_name(key, vals[0]), []).append(mean)
    return chunk, aggs, reps


# --- engines ----------------------------------------------------------------------------------
@contextmanager
def open_executor(
    engine: str = "local", jobs: int = 1, scheduler: str | None = None
) -> Iterator[Executor | None]:
    """An executor for chunks: None (in-process), a local process pool, or a Dask client's.

    ``dask`` with ``scheduler`` (``tcp://host:8786``) joins a running cluster; without it, a
    local cluster of ``jobs`` single-threaded worker processes is started and stopped here.
    """
    if engine == "local":
        if jobs <= 1:
            yield None
            return
        ctx = worker_context(["sim.explore.evaluate", "sim.engine_warm"])
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=worker_init)
        try:
            yield pool
        except BaseException:
            stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        return
    if engine != "dask":
        raise StudyError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise StudyError(
            "the dask engine needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    import logging

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler)  # timeout: distributed.comm.timeouts.connect (30 s)
        else:
            cluster = LocalCluster(
                n_workers=max(1, jobs),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise StudyError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --- evaluation -------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """The evaluated points and how the evaluation ended."""

    status: str  # complete, interrupted, failed
    out_dir: Path
    points: pd.DataFrame  # point, the design's columns, per-point aggregates (if complete)
    resumed_points: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def exit_code(self) -> int:
        """0 complete, 1 failed, 130 interrupted."""
        return {"complete": 0, "failed": 1, "interrupted": 130}[self.status]


def default_chunk_points(n_points: int, replicates: int) -> int:
    """Points per chunk: about 100 replicates of work, and at least ~20 chunks if possible."""
    return max(1, min(math.ceil(100 / replicates), math.ceil(n_points / 20)))


#: A study's tables: one row per point, one row per replicate.
STUDY_TABLES = ("points", "replicates")
_REP_KEYS = ("point", "replicate", "seed")


def study_store(out_dir: Path, key: str) -> ChunkStore:
    """The chunk store of a study directory (points; their aggregates and replicates)."""
    return ChunkStore(out_dir, STUDY_TABLES, key, members="points")


def _chunk_tables(
    indices: list[int],
    design: pd.DataFrame,
    aggs: dict[str, list[Any]],
    reps: dict[str, list[Any]],
) -> dict[str, pa.Table]:
    """A chunk's points (inputs and aggregates) and replicates as Arrow tables."""
    inputs = pa.Table.from_pandas(design.iloc[indices].reset_index(drop=True), preserve_index=False)
    table = pa.table({"point": pa.array(indices, pa.int64())})
    for name in inputs.column_names:
        table = table.append_column(name, inputs[name])
    for name, values in aggs.items():
        if name != "point":
            table = table.append_column(name, pa.array(values, pa.float64()))
    replicate_table = pa.table(
        {
            k: pa.array(v, pa.uint64() if k == "seed" else pa.int64()) if k in _REP_KEYS else v
            for k, v in reps.items()
        }
    )
    return {"points": table, "replicates": replicate_table}


def _finished(out_dir: Path, key: str) -> bool:
    """Whether ``out_dir`` holds the finished study ``key`` (nothing left to run)."""
    old = read_manifest(out_dir) or {}
    return old.get("design_hash") == key and old.get("status") == "complete"


def check_scheduler(scheduler: str, timeout: float = 5.0) -> None:
    """A Dask scheduler that answers at ``scheduler``, or one line (in seconds, not the
    client's 30 s, and before the study writes anything): calibrate's check, as a StudyError."""
    from sim.calibration.abc import SchedulerError
    from sim.calibration.abc import check_scheduler as check

    try:
        check(scheduler, timeout)
    except SchedulerError as exc:
        raise StudyError(str(exc)) from None


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """A study directory's ``manifest.json``, or None."""
    return read_json_object(out_dir / "manifest.json")


def _holds_a_study(out_dir: Path, manifest: dict[str, Any] | None) -> bool:
    """Empty, a study's manifest, or (manifest lost or unreadable) only its chunks."""
    if manifest is not None:
        return "design_hash" in manifest
    names = {p.name for p in out_dir.iterdir()} - {"manifest.json"}
    return names <= {"chunks"} and (not names or (out_dir / "chunks").is_dir())


def prepare_out_dir(out_dir: Path, key: str) -> bool:
    """Check ``out_dir`` can hold the study with hash ``key``; True if it resumes one."""
    problem = not_a_folder_to_write(out_dir)
    if problem:
        raise StudyError(f"--out {out_dir} {problem}: choose another folder")
    old = read_manifest(out_dir)
    if out_dir.is_dir() and not _holds_a_study(out_dir, old):
        raise StudyError(
            f"--out {out_dir} holds files that are not a study of cpec-sim: choose a new folder"
        )
    problem = unwritable(out_dir)
    if problem:
        raise StudyError(f"--out {out_dir}: {problem}; choose another folder")
    other = old.get("design_hash") if old else study_store(out_dir, key).foreign_key()
    if other is not None and other != key:
        raise StudyError(
            f"{out_dir} holds another study (hash {other}, now {key}: the design, seed, "
            "replicates, outcomes or model differ, e.g. a scenario file, default or rule "
            "changed): remove it or choose another --out"
        )
    return old is not None


def evaluate(
    design: pd.DataFrame,
    fn: PointFunction,
    out_dir: Path,
    execution: Execution = DEFAULT_EXECUTION,
) -> Evaluation:
    """Evaluate every point of ``design`` with its replicates (or resume doing so).

    ``out_dir`` receives ``manifest.json``, ``chunks/`` as points finish, then
    ``points.parquet`` (one row per point: ``point``, the design's columns, the aggregates)
    and ``replicates.parquet`` (one row per replicate: ``point``, ``replicate``, ``seed``,
    the point function's outcomes). ``execution.meta`` is stored in the manifest.
    """
    replicates, seed, jobs = execution.replicates, execution.seed, execution.jobs
    engine, scheduler, meta = execution.engine, execution.scheduler, execution.meta
    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    if replicates < 1:
        raise StudyError(f"replicates={replicates} is not allowed: need at least 1")
    if jobs < 1:
        raise StudyError(f"jobs={jobs} is not allowed: need at least 1")
    if engine not in ENGINES:
        raise StudyError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    design = design.reset_index(drop=True)
    model = model_fingerprint(fn)
    key = design_hash(
        {
            "design": design.to_json(orient="split", double_precision=15),
            "function": function_identity(fn),
            "model": model,
            "replicates": replicates,
            "seed": seed,
            **({} if execution.common_seeds else {"common_seeds": False}),
        }
    )
    prepare_out_dir(out_dir, key)
    if engine == "dask" and scheduler and not _finished(out_dir, key):
        check_scheduler(scheduler)  # before anything is written: a wrong address leaves nothing
    store = study_store(out_dir, key)
    n = len(design)
    size = execution.chunk_points or default_chunk_points(n, replicates)
    chunks = [list(range(i, min(i + size, n))) for i in range(0, n, size)]

    def manifest(status: str, **extra: Any) -> dict[str, Any]:
        return {
            **meta,
            "design_hash": key,
            "function": function_identity(fn),
            "model": model,
            "points": n,
            "replicates": replicates,
            "seed": seed,
            "replicate_seeds": "replicate r of every point: sim.runner.replicate_seed(seed, r)"
            if execution.common_seeds
            else "replicate r of point i: sim.runner.replicate_seed(seed, i * replicates + r)",
            "chunk_points": size,
            "engine": engine,
            "jobs": jobs,
            "status": status,
            "started": started,
            **extra,
        }

    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        out_dir / "manifest.json", json.dumps(manifest("running"), indent=2, default=str) + "\n"
    )
    store.clean()
    todo = [c for c, idx in enumerate(chunks) if store.done(c, idx) is None]
    resumed = n - sum(len(chunks[c]) for c in todo)
    bars: list[ProgressBar] = []  # drawn once the engine is up (a scheduler may be unreachable)
    rows = design.to_dict("records")

    def finish(c: int, aggs: dict[str, list[Any]], reps: dict[str, list[Any]]) -> None:
        store.write(c, chunks[c], _chunk_tables(chunks[c], design, aggs, reps))
        bars[0].advance(len(chunks[c]) * replicates)

    def args(c: int) -> tuple[Any, ...]:
        rows_c = [rows[i] for i in chunks[c]]
        return (fn, c, chunks[c], rows_c, replicates, seed, execution.common_seeds)

    status, message = "complete", ""
    t_sim = time.perf_counter()
    try:
        with (
            stop_signals(),
            open_executor(engine if todo else "local", jobs if todo else 1, scheduler) as executor,
        ):
            bars.append(ProgressBar(n * replicates, resumed * replicates, execution.progress))
            if executor is None:
                for c in todo:
                    _, aggs, reps = evaluate_chunk(*args(c))
                    finish(c, aggs, reps)
            else:
                pending: set[Future[Any]] = {
                    executor.submit(evaluate_chunk, *args(c)) for c in todo
                }
                try:
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in done:
                            c, aggs, reps = fut.result()
                            finish(c, aggs, reps)
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
    except Interrupted as exc:
        status, message = "interrupted", f"interrupted by {exc}"
    except PointError as exc:
        status, message = "failed", str(exc)
    except BrokenProcessPool:
        status, message = "failed", "a worker process died"
    finally:
        for bar in bars:
            bar.close()
        store.clean()
    sim_s = time.perf_counter() - t_sim
    points = pd.DataFrame()
    files: dict[str, Any] = {}
    if status == "complete":
        files = {
            "files": store.assemble(range(len(chunks))),
            "chunks": store.records(range(len(chunks))),
        }
        points = pd.read_parquet(out_dir / "points.parquet")
    message = "; ".join(m for m in (store.damage_report(), message) if m)
    timings = {"evaluate_s": round(sim_s, 3), "total_s": round(time.perf_counter() - t0, 3)}
    atomic_write_text(
        out_dir / "manifest.json",
        json.dumps(
            manifest(
                status,
                finished=datetime.now(UTC).isoformat(timespec="seconds"),
                resumed_points=resumed,
                timings=timings,
                message=message,
                **files,
            ),
            indent=2,
            default=str,
        )
        + "\n",
    )
    return Evaluation(status, out_dir, points, resumed, timings, message)
