"""Evaluate a design (a table of points) with replicates: chunked, resumable, parallel.

The model is injected as a *point function* ``fn(point, seed) -> {outcome: value}``: one
replicate of one point. :class:`CrisisOutcomes` is the crisis model's (its summary
outcomes); :func:`sim.explore.functions.ishigami` and friends are test functions with known
answers that go through exactly the same path.

* Replicate ``r`` of *every* point uses the seed ``replicate_seed(seed, r)`` of
  :mod:`sim.runner` (common random numbers): a point's replicates are those of
  ``cpec-sim run key=value ... seed=S replicates=R``, so any point can be re-run and checked.
  Points start from the same random numbers, which keeps their replicates paired only while
  they use them for the same purposes (each replicate draws from one stream).
* A point's replicates are averaged: numbers by their mean (NaN ignored), yes/no outcomes
  (``investment_hold``) by the share of replicates in which they happened (``*_share``).
* Points are grouped in chunks; each finished chunk is written at once (Parquet, atomically,
  its ``done`` marker last), so memory stays flat and an interrupted evaluation resumes where
  it stopped. The results do not depend on the chunking, the engine or the number of workers.
* Engines: ``local`` (a process pool of at most ``jobs`` workers; ``jobs=1`` in-process) or
  ``dask`` (a ``dask.distributed`` cluster: a scheduler address, or a local cluster).
"""

from __future__ import annotations

import asyncio
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

from sim.analysis import survival
from sim.explore.execution import DEFAULT_EXECUTION, Execution
from sim.explore.space import StudyError, design_hash
from sim.files import (
    atomic_write_text,
    not_a_folder_to_write,
    not_chunk_files,
    read_json_object,
    unwritable,
)
from sim.params import ModelParams, from_dict, set_dotted
from sim.provenance import environment
from sim.results import ChunkStore
from sim.runner import (
    RESUME,
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
NO_DASK = "the dask engine needs dask.distributed: pip install 'dask[distributed]'"


# --- the crisis model as a point function -----------------------------------------------------
@cache
def _scenario_data(name: str) -> dict[str, Any]:
    from sim.config import load_scenario

    return {k: v for k, v in load_scenario(name).items() if k != "scenario"}


def _plain(value: Any) -> Any:
    """NumPy scalars as Python scalars (parameter checks want int, float, bool, str)."""
    return value.item() if isinstance(value, np.generic) else value


def derived_fingerprint() -> str:
    """A hash of the outputs the point function derives from a replicate's summary (their
    names and the source that defines them): a study stored with other ones is another."""
    return hashlib.sha256(
        (survival.PAUSE_FREE + Path(survival.__file__).read_text(encoding="utf-8")).encode()
    ).hexdigest()[:16]


@dataclass(frozen=True)
class CrisisOutcomes:
    """One replicate of the crisis model at a point: its summary outcomes.

    ``point`` maps dotted parameter keys to values; they are applied on top of the scenario
    and the fixed ``overrides`` (exactly like ``scenario_params(scenario, overrides)``).
    """

    scenario: str = "baseline"
    weeks: int = 104
    overrides: tuple[tuple[str, Any], ...] = ()
    #: What the rules draw from (:mod:`sim.draws`): "single", or "keyed" streams.
    streams: str = "single"

    def params(self, point: Mapping[str, Any]) -> ModelParams:
        """The validated parameters of a point."""
        data = copy.deepcopy(_scenario_data(self.scenario))
        set_dotted(data, {k: _plain(v) for k, v in [*self.overrides, *point.items()]})
        return from_dict(data)

    def __call__(self, point: Mapping[str, Any], seed: int) -> dict[str, Any]:
        from sim.engine import run_replicate

        summary = run_replicate(self.params(point), self.weeks, seed, streams=self.streams).summary
        first_pause = summary[survival.FIRST_PAUSE]
        return {**summary, survival.PAUSE_FREE: float(survival.pause_free(first_pause, self.weeks))}

    def fingerprint(self) -> str:
        """A hash of the model this function runs: the scenario's resolved parameters (its
        file, the defaults and the overrides), the rules and the data files."""
        from sim.fingerprint import model_fingerprint
        from sim.params import to_dict

        blob = json.dumps(
            {
                "params": to_dict(self.params({})),
                "model": model_fingerprint(),
                "derived": derived_fingerprint(),  # outcomes added to the summary's
            }
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def constants(self) -> dict[str, float]:
        """Names usable in ``--where`` queries besides the outcomes."""
        from sim.space import load_investors

        initial = float(sum(inv["deployed"] for inv in load_investors()))
        return {"initial": initial, "initial_capital_deployed": initial}


@dataclass(frozen=True)
class ContrastOutcomes:
    """One replicate's difference between two scenarios at a point: ``contrast`` minus
    ``scenario``, outcome by outcome, both runs drawing from the same seed.

    The point's values and the fixed ``overrides`` apply to both scenarios alike, so each
    outcome is the effect of choosing ``contrast`` over ``scenario`` where the point's
    assumptions hold. Yes/no outcomes become differences of 0/1 under their share's name
    (``investment_hold_share``: the difference in the share of replicates).
    """

    scenario: str = "baseline"
    contrast: str = "joint_operation"
    weeks: int = 104
    overrides: tuple[tuple[str, Any], ...] = ()
    #: "keyed" streams (:mod:`sim.draws`) make the two runs of a replicate share their draws
    #: wherever their steps do: far less noise in each difference than "single" streams.
    streams: str = "single"

    def arms(self) -> tuple[CrisisOutcomes, CrisisOutcomes]:
        """The two scenarios as point functions: (reference, contrast)."""
        return (
            CrisisOutcomes(self.scenario, self.weeks, self.overrides, self.streams),
            CrisisOutcomes(self.contrast, self.weeks, self.overrides, self.streams),
        )

    def params(self, point: Mapping[str, Any]) -> ModelParams:
        """The contrast's parameters at a point (both arms are checked by ``check``)."""
        reference, contrast = self.arms()
        reference.params(point)
        return contrast.params(point)

    def __call__(self, point: Mapping[str, Any], seed: int) -> dict[str, Any]:
        reference, contrast = self.arms()
        base, other = reference(point, seed), contrast(point, seed)
        return {
            aggregate_name(key, value): float(value) - float(base[key])
            for key, value in other.items()
        }

    def fingerprint(self) -> str:
        """Both scenarios' fingerprints (:meth:`CrisisOutcomes.fingerprint`)."""
        reference, contrast = self.arms()
        return hashlib.sha256(
            (reference.fingerprint() + contrast.fingerprint()).encode()
        ).hexdigest()[:16]

    def constants(self) -> dict[str, float]:
        """As :meth:`CrisisOutcomes.constants`."""
        return self.arms()[0].constants()


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
        import distributed  # noqa: F401
    except ImportError:
        raise StudyError(NO_DASK) from None
    with _quiet_dask_logs():
        yield from _dask_executor(jobs, scheduler)


#: Loggers through which Dask reports what this module reports in one line (a worker that died,
#: a lost scheduler) with tracebacks: the scheduler and client (``distributed``), their event
#: loop (``tornado``, ``asyncio``).
DASK_LOGGERS = ("distributed", "tornado", "asyncio")


@contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Only critical messages from Dask's loggers while a Dask engine is in use (Dask's
    configuration gives some, ``distributed.client`` say, levels of their own)."""
    import logging

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in DASK_LOGGERS]
    loggers = [logging.getLogger(name) for name in {*DASK_LOGGERS, *names}]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _dask_executor(jobs: int, scheduler: str | None) -> Iterator[Executor]:
    """The executor of a Dask client: of the scheduler at ``scheduler``, or of a local cluster
    of ``jobs`` single-threaded worker processes, started and stopped here."""
    import logging

    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler)  # waits distributed.comm.timeouts.connect at most
        else:
            with _workers_ignore_ctrl_c():
                cluster = LocalCluster(
                    n_workers=max(1, jobs),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,
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


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start processes that ignore SIGINT (Ctrl-C reaches every process of the terminal's
    foreground group): a local cluster's workers printed a KeyboardInterrupt traceback each
    while this process stopped the study. An ignored signal stays ignored in a child process,
    and Python installs its handler only where SIGINT has its default action. This process
    ignores Ctrl-C meanwhile (the cluster's start, a few seconds); a worker the cluster
    restarts later does not ignore it."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # cannot set handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:  # None: a handler not set from Python
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)


class EngineLost(RuntimeError):
    """The Dask cluster lost a worker running a chunk, or the client lost the scheduler."""


def _lost_engine(exc: BaseException, chunk: int | None, engine: str) -> EngineLost | None:
    """What a Dask failure of ``chunk`` means, in one line, or None if ``exc`` is not one: a
    worker that died running it (``KilledWorker``: the scheduler gave up on the chunk), or a
    scheduler the client cannot reach any more (its futures are cancelled, its connection is
    closed or times out)."""
    if engine != "dask":
        return None
    import concurrent.futures

    try:
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError
    except ImportError:
        return None
    if isinstance(exc, KilledWorker):
        where = f" running chunk {chunk}" if chunk is not None else ""
        return EngineLost(f"a Dask worker died{where}: re-run the same command to resume")
    lost = (CommClosedError, concurrent.futures.CancelledError, asyncio.CancelledError)
    if isinstance(exc, (*lost, TimeoutError)):
        return EngineLost("lost the Dask scheduler: re-run the same command to resume")
    return None


def _run_chunks(
    executor: Executor,
    chunks: list[tuple[Any, ...]],
    finish: Callable[[int, dict[str, list[Any]], dict[str, list[Any]]], None],
    engine: str,
) -> None:
    """Evaluate ``chunks`` (:func:`evaluate_chunk`'s arguments) on ``executor``; ``finish``
    each as it comes back. A chunk lost with its Dask worker or the scheduler stops the
    evaluation (:class:`EngineLost`) once every chunk that has come back is finished."""
    chunk_of = {executor.submit(evaluate_chunk, *a): a[1] for a in chunks}
    pending: set[Future[Any]] = set(chunk_of)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            lost: list[EngineLost] = []
            for fut in sorted(done, key=chunk_of.__getitem__):
                try:
                    c, aggs, reps = fut.result()
                except (Exception, asyncio.CancelledError) as exc:
                    failure = _lost_engine(exc, chunk_of[fut], engine)
                    if failure is None:
                        raise
                    lost.append(failure)
                    continue
                finish(c, aggs, reps)
            if lost:
                for fut in sorted(pending, key=chunk_of.__getitem__):
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        finish(*fut.result())
                raise lost[0]
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


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


def _read_again(out_dir: Path, store: ChunkStore, chunks: list[list[int]], t0: float) -> Evaluation:
    """A finished study's points (its files assembled again from its checked chunks, as a
    hand may have changed them), its manifest left as its evaluation wrote it."""
    store.assemble(range(len(chunks)))
    points = pd.read_parquet(out_dir / "points.parquet")
    timings = {"evaluate_s": 0.0, "total_s": round(time.perf_counter() - t0, 3)}
    return Evaluation("complete", out_dir, points, len(points), timings, "")


def _finished(out_dir: Path, key: str) -> bool:
    """Whether ``out_dir`` holds the finished study ``key`` (nothing left to run)."""
    old = read_manifest(out_dir) or {}
    return old.get("design_hash") == key and old.get("status") == "complete"


def connect_timeout() -> float:
    """Dask's connect timeout in seconds: ``distributed.comm.timeouts.connect`` (30 s unless
    set, e.g. ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=10s``)."""
    import dask.config
    import distributed  # noqa: F401 - its configuration is loaded with it
    from dask.utils import parse_timedelta

    value = dask.config.get("distributed.comm.timeouts.connect")
    try:
        return float(parse_timedelta(value, "s"))
    except (KeyError, ValueError, TypeError):
        raise StudyError(
            f"distributed.comm.timeouts.connect={value!r} is not a duration (give e.g. 10s or "
            "2min, as in DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=10s)"
        ) from None


def check_scheduler(scheduler: str, timeout: float | None = None) -> None:
    """A Dask scheduler that answers at ``scheduler`` within ``timeout`` seconds (None: Dask's
    connect timeout, :func:`connect_timeout`), or one line before the study writes anything:
    calibrate's check, as a StudyError."""
    from sim.calibration.abc import SchedulerError
    from sim.calibration.abc import check_scheduler as check

    try:
        import distributed  # noqa: F401
    except ImportError:
        raise StudyError(NO_DASK) from None
    timeout = connect_timeout() if timeout is None else timeout
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
    if not names <= {"chunks"} or not_chunk_files(out_dir):
        return False
    return not names or (out_dir / "chunks").is_dir()


def refuse_foreign_out(out_dir: Path) -> None:
    """StudyError if ``out_dir`` could hold no study whatever its design: a file, a system
    folder, inside a run folder, or a folder of other files (checked before anything runs)."""
    problem = not_a_folder_to_write(out_dir)
    if problem:
        raise StudyError(f"--out {out_dir} {problem}: choose another folder")
    if out_dir.is_dir() and not _holds_a_study(out_dir, read_manifest(out_dir)):
        raise StudyError(
            f"--out {out_dir} holds files that are not a study of cpec-sim: choose a new folder"
        )


def prepare_out_dir(out_dir: Path, key: str) -> bool:
    """Check ``out_dir`` can hold the study with hash ``key``; True if it resumes one."""
    refuse_foreign_out(out_dir)
    old = read_manifest(out_dir)
    problem = unwritable(out_dir)
    if problem:
        raise StudyError(f"--out {out_dir}: {problem}; choose another folder")
    other = old.get("design_hash") if old else study_store(out_dir, key).foreign_key()
    if other is not None and other != key:
        raise StudyError(
            f"{out_dir} holds another study (hash {other}, now {key}: the design, seed, "
            "replicates, outcomes, contrast, seeding or model differ, e.g. a scenario file, "
            "default or rule changed, or a newer cpec-sim derives other outputs): remove it "
            "or choose another --out"
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
    finished_before = _finished(out_dir, key)
    if engine == "dask" and scheduler and not finished_before:
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
            **environment(),
            **extra,
        }

    out_dir.mkdir(parents=True, exist_ok=True)
    store.clean()
    todo = [c for c, idx in enumerate(chunks) if store.done(c, idx) is None]
    if finished_before and not todo:  # read again (another --outcome, --where): its
        # manifest keeps when and how long the evaluation ran (helper-185: a re-analysis had
        # rewritten them with its own 0.01 s)
        return _read_again(out_dir, store, chunks, t0)
    atomic_write_text(
        out_dir / "manifest.json", json.dumps(manifest("running"), indent=2, default=str) + "\n"
    )
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
                _run_chunks(executor, [args(c) for c in todo], finish, engine)
    except Interrupted as exc:
        status, message = "interrupted", f"interrupted by {exc}"
    except PointError as exc:
        status, message = "failed", str(exc)
    except BrokenProcessPool:
        from sim.commands import worker_died

        status, message = "failed", worker_died("a worker process", RESUME)
    except EngineLost as exc:
        status, message = "failed", str(exc)
    except (Exception, asyncio.CancelledError) as exc:  # the Dask client losing its scheduler
        # on the way out, say (asyncio's CancelledError is not an Exception)
        lost = _lost_engine(exc, None, engine)
        if lost is None:
            raise
        status, message = "failed", str(lost)
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
