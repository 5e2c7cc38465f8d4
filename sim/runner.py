"""Run many replicates of one configuration into a run directory, resumably.

* Replicate ``i`` gets its own seed from ``SeedSequence(seed, spawn_key=(i,))``, so results
  do not depend on the number of workers or the order in which chunks finish.
* Replicates are grouped in fixed-size chunks; a pool of worker processes (forked once,
  model already imported) runs chunks and writes each chunk's files atomically.
* Re-running the same command skips finished chunks; Ctrl-C or SIGTERM stops the workers,
  marks the run ``interrupted`` and leaves no partial file.
* A replicate that raises is recorded (seed, traceback) under ``failures/``; the others
  finish, and the run's status says ``failed``.
* With a posterior (:mod:`sim.posterior`), replicate ``i`` runs with draw ``i % n`` applied on
  top of the run's parameters, built in the worker from the draw: the results depend only on
  ``(seed, i)`` and the posterior file, never on the workers.

Usable from a notebook::

    from sim.runner import RunSpec, run
    outcome = run(RunSpec(params, scenario="baseline", replicates=50), Path("results/nb"))
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from sim import __version__
from sim.config import (
    MAX_JOBS,
    MAX_REPLICATES,
    MAX_SEED,
    check_backend,
    check_name,
    check_streams,
    checked_weeks,
    config_hash,
    load_scenario,
    python_scalar,
    resolved_chunk_size,
    resolved_jobs,
    whole_number,
    with_overrides,
)
from sim.files import (
    atomic_write_json,
    atomic_write_text,
    damaged_files,
    is_system_folder,
    read_json_object,
    sha256_of,
    unwritable,
)
from sim.folders import named_few, not_of_a_run
from sim.params import ModelParams, ParameterError, validate
from sim.posterior import Posterior, check_posterior, parameters_entry
from sim.provenance import code_commit, provenance, scenario_files
from sim.results import (
    NO_DRAW,
    TABLES,
    ChunkStore,
    run_store,
    tables_from_replicates,
)
from sim.space import load_places
from sim.workers import (
    main_importable,
    refuse_in_a_starting_worker,
    run_preload,
    stop_pool,
    worker_context,
    worker_init,
    worker_server_running,
)

#: How :func:`replicate_seed` makes replicate ``i``'s seed, as manifests record it (``cpec-sim
#: compare`` pairs runs whose seed and scheme agree).
REPLICATE_SEEDS = "numpy SeedSequence(seed, spawn_key=(i,)).generate_state(1, uint64)"


def replicate_seed(seed: int, index: int) -> int:
    """The seed of replicate ``index``: independent streams from one root seed."""
    state = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(1, np.uint64)
    return int(state[0])


@dataclass
class RunSpec:
    """What to run: one configuration, many replicates."""

    params: ModelParams
    scenario: str = "baseline"
    replicates: int = 100
    seed: int = 0
    weeks: int = 104
    jobs: int | None = 1  # None: every CPU the process may use
    #: Replicates per chunk; None: as ``cpec-sim run`` chooses (the folder's earlier chunking,
    #: else :func:`sim.config.resolved_chunk_size`), so both write the same bytes.
    chunk_size: int | None = None
    description: str = ""  # "": the scenario file's
    #: The run's label (``key=value``, as ``compare`` and ``report`` show it): set by the
    #: command line; from Python, what ``params`` change from the scenario's file, unless
    #: given (then each must say what ``params`` hold: :func:`checked_labels`).
    overrides: list[str] = field(default_factory=list)
    config_yaml: str = ""
    backend: str = "compiled"  # "compiled" engine or "mesa" reference model: same results
    streams: str = "single"  # what the rules draw from (sim.draws): "single" or "keyed"
    #: Posterior draws (replicate i runs with draw i % n on top of ``params``); None: defaults.
    posterior: Posterior | None = None
    #: The command that made the run, when it manages the folder itself (``cpec-sim validate``
    #: replaces or extends only runs it made); written to the manifest as ``made_by`` if set.
    made_by: str = ""
    #: Text files the calling command keeps beside the run (path in the folder -> content),
    #: such as a Hydra job's record: written with ``config.yaml`` once the folder is accepted,
    #: so that a refused command leaves the records of the run already there as they were.
    records: dict[str, str] = field(default_factory=dict)

    def chunks(self) -> list[list[int]]:
        """Replicate indices grouped in chunks of ``chunk_size``."""
        r = range(self.replicates)
        size = resolved_chunk_size(self.chunk_size, self.replicates)
        return [list(r[i : i + size]) for i in range(0, self.replicates, size)]

    @property
    def config_hash(self) -> str:
        """Hash of what determines each replicate's result."""
        sha = self.posterior.key if self.posterior is not None else None
        return config_hash(self.params, self.seed, self.weeks, self.scenario, sha, self.streams)


@dataclass
class RunOutcome:
    """How a run ended."""

    status: str  # complete, failed, interrupted
    run_dir: Path
    done_replicates: int
    failed_replicates: list[int]
    timings: dict[str, float]
    message: str = ""
    new: bool = True  # False when the run was already complete and nothing was done

    @property
    def exit_code(self) -> int:
        """0 complete, 1 failed, 130 interrupted."""
        return {"complete": 0, "failed": 1, "interrupted": 130}[self.status]


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""


def raise_if_interrupted(exc: BaseException) -> None:
    """Re-raise a stop request that surfaced as another error.

    A signal that arrives while compiled (Numba) code runs is raised when control returns to
    Python, and Numba reports it as a ``SystemError`` whose cause is the :class:`Interrupted`.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Interrupted | KeyboardInterrupt):
            raise seen
        seen = seen.__cause__ or seen.__context__


#: A stop request that arrived inside a :func:`stops_deferred` block (raised when it ends),
#: and how deep in such blocks the process is.
_STOP: dict[str, Any] = {"requested": None, "depth": 0}


@contextmanager
def stops_deferred() -> Iterator[None]:
    """A stop request (SIGINT, SIGTERM) that arrives inside the block is raised when it ends.

    For work that an exception must not cut in two: compiled (Numba) code, which an exception
    can crash, and appending a chunk to the final files, whose helper threads an exception
    raised while one starts would leave running after the clean-up (and writing a file).
    """
    _STOP["depth"] += 1
    try:
        yield
    finally:
        _STOP["depth"] -= 1
        if _STOP["depth"] == 0 and _STOP["requested"]:
            name, _STOP["requested"] = _STOP["requested"], None
            raise Interrupted(name)


#: One replicate runs with stop requests deferred to its end.
one_replicate = stops_deferred


@contextmanager
def stop_signals() -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM raise :class:`Interrupted` (so cleanup runs);
    inside a :func:`stops_deferred` block (a replicate, an append) at its end.

    A process started in the background inherits an ignored SIGINT; explicit handlers make
    Ctrl-C and ``kill`` stop it cleanly. The previous handlers are restored afterwards. Off
    the main thread (a server's worker thread) signals are the main thread's business, and
    the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def _stop(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if _STOP["depth"]:
            _STOP["requested"] = name
            return
        raise Interrupted(name)

    for s in previous:
        signal.signal(s, _stop)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# --- the work of one chunk (runs in a worker) ------------------------------------------
def run_chunk(
    store: ChunkStore,
    chunk: int,
    indices: list[int],
    params: ModelParams,
    seed: int,
    weeks: int,
    backend: str = "compiled",
    posterior: Posterior | None = None,
    streams: str = "single",
) -> tuple[int, list[dict[str, Any]], float]:
    """Run the replicates of one chunk and write its files; return failures and seconds.

    With ``posterior``, replicate ``i`` runs with draw ``i % n`` applied on top of ``params``.
    """
    from sim.engine import simulate
    from sim.world import compiled_params

    start = time.perf_counter()
    results, failures = [], []
    draws: dict[int, int] = {}
    # Parameters (and their compiled form) per draw, shared by the chunk's replicates.
    built: dict[int, tuple[ModelParams, Any]] = {}
    if posterior is None:
        built[NO_DRAW] = (params, compiled_params(validate(params)))
    for i in indices:
        s = replicate_seed(seed, i)
        draw = NO_DRAW if posterior is None else posterior.draw_of(i)
        draws[i] = draw
        try:
            if draw not in built:
                assert posterior is not None
                p = with_overrides(params, posterior.overrides(draw))
                built[draw] = (p, compiled_params(p))
            p, compiled = built[draw]
            with one_replicate():
                result = simulate(p, weeks, s, backend, compiled, streams)
            results.append((i, s, result))
        except Exception as exc:  # one replicate's failure must not sink the others
            raise_if_interrupted(exc)
            tb = traceback.format_exc()
            failures.append({"replicate": i, "seed": s, "error": repr(exc)})
            atomic_write_text(
                store.root / "failures" / f"replicate-{i:06d}.txt",
                f"replicate {i}\nseed {s}\n\n{tb}",
            )
    store.write(chunk, indices, tables_from_replicates(results, draws), failures=failures)
    return chunk, failures, time.perf_counter() - start


# --- the run ---------------------------------------------------------------------------
def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    """The run's manifest; None if there is none or it is damaged (then chunks decide)."""
    data = read_json_object(run_dir / "manifest.json")
    if data is None or not isinstance(data.get("failed_replicates", []), list):
        return None
    return data


def prepare_run_dir(run_dir: Path, spec: RunSpec) -> dict[str, Any] | None:
    """Check the directory can hold this run; return an earlier manifest to resume, if any.

    A directory holding a run of another configuration is refused, whether its manifest
    says so or (manifest lost or damaged) its chunks do.
    """
    problem = _unusable(run_dir)
    if problem:
        raise ParameterError(f"output directory {problem}{_WHERE_ON_THE_COMMAND}")
    old = read_manifest(run_dir)
    other = old.get("config_hash") if old else run_store(run_dir, spec.config_hash).foreign_key()
    if other is not None and other != spec.config_hash:
        raise ParameterError(
            f"{run_dir} holds {_what_differs(old, spec)} (hash {other}, now "
            f"{spec.config_hash}): remove it or choose another folder{_WHERE_ON_THE_COMMAND}"
        )
    return old


def _unusable(run_dir: Path) -> str:
    """Why ``run_dir`` cannot hold a run ("PATH is a file: ...", "PATH cannot be used: ..."),
    or ''; a path the system refuses (too long, a loop of links, a NUL byte) says so too."""
    text = str(run_dir).replace("\0", "\\0")
    shown = text if len(text) <= 200 else f"{text[:200]}..."
    try:
        if run_dir.exists() and not run_dir.is_dir():
            return f"{shown} is a file: choose another folder"
        for link in (run_dir, *run_dir.parents):
            if link.is_symlink() and not link.exists():
                return f"{link} is a link to nothing: remove it or choose another folder"
        problem = unwritable(run_dir)  # an existing folder too (immutable, read-only)
    except (OSError, RuntimeError, ValueError) as exc:  # ELOOP, ENAMETOOLONG, NUL
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"{shown} cannot be used: {reason}"
    return f"{shown} cannot be used: {problem}" if problem else ""


def _not_ours(run_dir: Path, spec: RunSpec) -> str:
    """Why a run made from Python may not write into ``run_dir``, as the command line
    refuses it (a system or home folder, a folder holding files that are not a run's: a
    notebook's run had written its files among them), or ''. The files the spec's own
    ``records`` name are the run's. Not asked for a finished run found there (it is only
    read); a command that manages its own folder (``made_by``: ``validate`` grows its run
    beside a user's notes, helper-184) is refused only a system or home folder. The command
    line refuses such folders before it composes the run."""
    if is_system_folder(run_dir):
        return f"{run_dir} is a system or home folder: choose another folder"
    if spec.made_by:  # its command checks the folder's other files itself
        return ""
    own = {Path(name).parts[0] for name in spec.records if Path(name).parts}
    foreign = [n for n in not_of_a_run(run_dir) if n not in own] if run_dir.is_dir() else []
    if not foreign:
        return ""
    return (
        f"{run_dir} holds what is not a run of cpec-sim ({named_few(foreign)}): move it out, "
        "or choose another folder"
    )


def _what_differs(old: dict[str, Any] | None, spec: RunSpec) -> str:
    """``a run of another configuration``; or, when the earlier run's manifest records it,
    what made it besides its settings: other versions of the libraries that draw
    (:func:`other_libraries`), another model fingerprint than this code's (its rules,
    data or Mesa code changed since: the same command makes other results), or another
    posterior file (``parameters=posterior`` reads a calibration of the user's once there is
    one: helper-171)."""
    from sim.fingerprint import model_fingerprint

    posterior = other_posterior(old, spec.posterior)
    if posterior:
        return posterior
    libraries = other_libraries(old)
    if libraries:
        return f"a run made with {libraries}"
    made_by = (old or {}).get("model")
    if made_by and made_by != model_fingerprint():
        return (
            f"a run of another version of the model (its rules, data or Mesa code changed "
            f"since: model {made_by}, now {model_fingerprint()})"
        )
    return "a run of another configuration"


def other_posterior(old: dict[str, Any] | None, posterior: Posterior | None) -> str:
    """``a run over the posterior in A (now B)`` when the earlier run's manifest records
    another posterior file (or its contents changed), or a posterior where there is none now
    or the other way round; '' otherwise."""
    then = (old or {}).get("parameters")
    if not isinstance(then, dict) or then.get("source") not in ("posterior", "defaults"):
        return ""
    if then["source"] == "defaults":
        return "" if posterior is None else f"a run without a posterior (now {posterior.path})"
    if posterior is None:
        return f"a run over the posterior in {then.get('path')} (now none)"
    if then.get("sha256") == posterior.sha256:  # the same draws, wherever the file is
        return ""
    if then.get("path") == posterior.path:
        return f"a run over an earlier version of the posterior in {posterior.path}"
    return f"a run over the posterior in {then.get('path')} (now {posterior.path})"


def other_libraries(old: dict[str, Any] | None) -> str:
    """``numpy 1.26.4 (now 2.5.5)``: the libraries that draw a run's random numbers
    (:data:`sim.provenance.DRAWING`) whose versions the earlier run's manifest records as
    others than these; '' if none (or it records none)."""
    from sim.provenance import DRAWING, package_versions

    then = (old or {}).get("packages")
    if not isinstance(then, dict):
        return ""
    now = package_versions()
    changed = [f"{n} {then[n]} (now {now[n]})" for n in DRAWING if n in then and then[n] != now[n]]
    return ", ".join(changed)


def _refuse_other_libraries(old: dict[str, Any] | None, run_dir: Path) -> None:
    """A run left unfinished under other versions of the libraries that draw is not resumed:
    one seed may give other replicates (NumPy may change a distribution between versions),
    and the manifest would name only the new versions for all of them."""
    libraries = other_libraries(old)
    if libraries:
        raise ParameterError(
            f"{run_dir} holds a run made with {libraries}, which may draw other random numbers "
            "for one seed: resuming it would mix replicates of both; remove it or choose "
            f"another folder{_WHERE_ON_THE_COMMAND}"
        )


#: How a command-line user chooses the folder (a notebook passes it to :func:`run`).
_WHERE_ON_THE_COMMAND = (
    " (hydra.run.dir=PATH on cpec-sim run's command line; a sweep's: sweep_name=NAME)"
)


#: The most chunks a run keeps an earlier run's chunk size for (each costs ~30 ms to write
#: and assemble): beyond, it is chunked afresh and the earlier replicates are recomputed.
MAX_REUSED_CHUNKS = 400


def earlier_chunk_size(run_dir: Path, replicates: int) -> int | None:
    """The chunk size of an earlier run in ``run_dir``, if any, unless ``replicates`` would
    then need more than :data:`MAX_REUSED_CHUNKS` chunks.

    Resuming, re-running, growing or shrinking it in its own chunks keeps its finished
    chunks, even if the automatic chunk size for the new number of replicates differs: a run
    of 1,500 grown to 3,000 recomputed every replicate (and an interruption lost the 1,500 as
    well). A run resumed at its own number of replicates keeps its size whatever the count of
    chunks (and so its files' bytes). Of another configuration, the folder is refused anyway
    (:func:`prepare_run_dir`).
    """
    old = read_manifest(run_dir)
    size = old.get("chunk_size") if old else _first_chunk_size(run_dir)
    if not isinstance(size, int) or size <= 0:
        return None
    same = old is not None and old.get("replicates") == replicates
    if same or -(-replicates // size) <= MAX_REUSED_CHUNKS:  # resumed as it was, always
        return size
    return None


def _first_chunk_size(run_dir: Path) -> int | None:
    """The size of the first finished chunk in ``run_dir/chunks`` (a run whose manifest was
    lost or damaged: a grown run's size is in no other record)."""
    marker = read_json_object(run_dir / "chunks" / "00000.done.json")
    members = marker.get("replicates") if marker else None
    if isinstance(members, list) and members and members == list(range(len(members))):
        return len(members)
    return None


ALREADY_COMPLETE = "already complete: nothing to run"
#: The run's resolved configuration, as the command line gave it (RunSpec.config_yaml).
CONFIG_FILE = "config.yaml"


def _already_complete(old: dict[str, Any], spec: RunSpec, run_dir: Path) -> bool:
    """The directory holds this very run, finished, with all its files intact."""
    same = old.get("replicates") == spec.replicates and old.get("chunk_size") == spec.chunk_size
    if not (same and old.get("status") == "complete"):
        return False
    files = old.get("files")
    if not isinstance(files, dict) or any(f"{t}.parquet" not in files for t in TABLES):
        return False  # no checksums (stored before them, or edited): rebuild from the chunks
    return not damaged_files(run_dir, files)


def _config_record(spec: RunSpec, run_dir: Path) -> dict[str, Any]:
    """The manifest's record of ``config.yaml`` (when the run has one): its checksum, so that
    a hand edit, which ``report`` would show as the run's configuration, is found as damage
    and repaired by the same command, as for the result files."""
    if not spec.config_yaml:
        return {}
    return {CONFIG_FILE: {"sha256": sha256_of(run_dir / CONFIG_FILE)}}


def _damaged_finals(old: dict[str, Any] | None, run_dir: Path) -> list[str]:
    """What a resume finds wrong with the manifest and the final files of an earlier run."""
    notes = []
    if old is not None and old.get("unreadable"):
        notes.append("manifest.json was unreadable: rewritten")
    if old is not None and old.get("status") == "complete":
        broken = damaged_files(run_dir, old.get("files"))
        notes += [
            f"{name} was damaged ({why}): {'written again' if name == CONFIG_FILE else 'rebuilt'}"
            for name, why in broken.items()
        ]
    return notes


def finished_earlier(old: dict[str, Any] | None) -> tuple[int, int] | None:
    """The folder's last finished run, as (replicates, chunk size): the earlier run itself if
    it finished, else the one its manifest carried over (``finished_earlier``: a grown run
    stopped twice forgot it)."""
    if old is None:
        return None
    record = old if old.get("status") == "complete" else old.get("finished_earlier")
    if not isinstance(record, dict):
        return None
    n, size = record.get("replicates"), record.get("chunk_size")
    if type(n) is int and type(size) is int and size > 0 and 0 < n <= MAX_REPLICATES:
        return n, min(size, n)  # a hand-edited record beyond any run's size is ignored
    return None


def _carried(old: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest entry that keeps the folder's last finished run known while this run
    has not finished (a restore of it that is stopped too)."""
    held = finished_earlier(old)
    if held is None:
        return {}
    return {"finished_earlier": {"replicates": held[0], "chunk_size": held[1]}}


def _on_disk(store: ChunkStore, replicates: int, chunk_size: int) -> bool:
    """Whether every chunk of a run of ``replicates`` in chunks of ``chunk_size`` is here."""
    spans = range(0, replicates, chunk_size)
    return all(
        store.holds(c, list(range(i, min(i + chunk_size, replicates)))) for c, i in enumerate(spans)
    )


def _earlier_run_note(
    old: dict[str, Any] | None,
    spec: RunSpec,
    status: str,
    store: ChunkStore,
    resumed: int = 0,
) -> str:
    """What became of the folder's earlier runs: the last one's chunks not reused (chunked
    otherwise: a ``chunk_size`` given on the command line, or a run grown past
    ``MAX_REUSED_CHUNKS``), and, if the last finished one had another number of replicates,
    how to get it back (its final files were removed when a later run started)."""
    size = old.get("chunk_size") if old is not None else None
    rechunked = isinstance(size, int) and size != spec.chunk_size and not resumed
    finished = finished_earlier(old)
    notes = []
    if rechunked:
        fits = isinstance(size, int) and spec.replicates >= size  # a whole old chunk fits
        keeps = f"; chunk_size={size} keeps them" if fits else ""
        again = f": computed again (the same values{keeps})" if status == "complete" else ""
        notes.append(
            f"the folder's run was chunked by {size} replicates and this one by "
            f"{spec.chunk_size}, so its finished chunks were not reused{again}"
        )
    if finished is not None and finished[0] != spec.replicates:
        held, held_size = finished
        if status == "complete":
            if held > spec.replicates:
                notes.append(
                    f"the folder held {held} replicates; its files now hold the first "
                    f"{spec.replicates} (replicates={held} brings the others back)"
                )
        elif _on_disk(store, held, held_size):
            notes.append(
                f"the folder's finished run of {held} replicates is kept: "
                f"replicates={held} in this folder restores it"
            )
        else:
            notes.append(
                f"replicates={held} chunk_size={held_size} in this folder computes its "
                f"finished run of {held} replicates again (the same values)"
            )
    return "; ".join(notes)


#: The manifest's list of the commits (``code_commit``) other than its own whose replicates a
#: resumed or grown run's files hold.
OTHER_CODE = "replicates_of_other_commits"


def _other_code(old: dict[str, Any] | None, resumed: int) -> dict[str, list[str]]:
    """``{OTHER_CODE: [...]}`` when replicates kept from the folder's earlier run were made
    by another commit than this run's, or by the same one with other uncommitted changes
    said (``-dirty`` against clean), else {}. The model's fingerprint covers the rules and
    data, not the runner's code: a resume across a change there had recorded only the last
    commit (helper-187). Two different sets of uncommitted changes on one commit both read
    ``-dirty`` and are not told apart."""
    if old is None or not resumed:
        return {}
    earlier = old.get(OTHER_CODE)
    before = {old.get("commit"), *(earlier if isinstance(earlier, list) else [])}
    others = sorted(c for c in before if isinstance(c, str) and c and c != code_commit())
    return {OTHER_CODE: others} if others else {}


def _damage_note(finals: list[str], store: ChunkStore) -> str:
    """What a resume found damaged and repaired (empty when nothing was)."""
    return "; ".join(n for n in (*finals, store.damage_report()) if n)


def _manifest(spec: RunSpec, status: str, started: str, **extra: Any) -> dict[str, Any]:
    return {
        "package": "cpec-sim",
        "version": __version__,
        "scenario": spec.scenario,
        "description": spec.description,
        "overrides": spec.overrides,
        "seed": spec.seed,
        "replicates": spec.replicates,
        "weeks": spec.weeks,
        "jobs": spec.jobs,
        "chunk_size": spec.chunk_size,
        "backend": spec.backend,
        "streams": spec.streams,
        "config_hash": spec.config_hash,
        "parameters": parameters_entry(spec.posterior),
        "replicate_seeds": REPLICATE_SEEDS,
        "status": status,
        "started": started,
        "python": sys.version.split()[0],
        **provenance(),
        **scenario_files(scenario_file=spec.scenario),
        **({"made_by": spec.made_by} if spec.made_by else {}),
        **extra,
    }


def _load_engine_here(spec: RunSpec) -> None:
    """Load the compiled engine in this process, as the worker server does, saying so if it
    compiles (a run with ``jobs=1`` sat at 0% for ~45 s after a rule change without a word)."""
    import importlib

    for module in run_preload(spec.backend, spec.streams)[1:]:
        if module != "sim.model":
            importlib.import_module(module)


def run(
    spec: RunSpec,
    run_dir: Path,
    progress: TextIO | None = sys.stderr,
    held: RunLock | None = None,
) -> RunOutcome:
    """Run (or resume) ``spec`` into ``run_dir``.

    The run holds the folder's lock (:func:`exclusive`) while it writes, unless the caller
    passes the lock of this folder it already holds as ``held``.

    Raises :class:`ParameterError` (one line, nothing written) for invalid parameters. A
    resume verifies every finished chunk and final file against its checksum, recomputes
    damaged chunks and rebuilds damaged files; the outcome's message says what it repaired.
    If the disk fills up (or any write fails) the run ends ``failed`` with a one-line message
    and no partial file.
    """
    refuse_in_a_starting_worker()  # a script calling this at its top level, in its workers
    if not str(run_dir).strip():
        raise ParameterError("the run's folder is empty: give a folder (a path) for its files")
    run_dir = Path(run_dir).expanduser()  # "~/runs/x", as the files' readers take it
    spec = checked_spec(spec, run_dir)
    if spec.posterior is not None:
        check_posterior(spec.posterior, spec.params, spec.replicates)
    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    old = prepare_run_dir(run_dir, spec)
    if old and _already_complete(old, spec, run_dir):
        return RunOutcome(
            "complete",
            run_dir,
            spec.replicates - len(old.get("failed_replicates", [])),
            old.get("failed_replicates", []),
            {},
            ALREADY_COMPLETE,
            new=False,
        )
    problem = _not_ours(run_dir, spec)
    if problem:
        raise ParameterError(f"output directory {problem}")
    _refuse_other_libraries(old, run_dir)
    store = run_store(run_dir, spec.config_hash)
    if old is None and (run_dir / "manifest.json").exists():
        old = {"unreadable": True}
    ours = held is not None and held.path == os.path.realpath(run_dir)
    with nullcontext() if ours else exclusive(run_dir):
        try:
            return _run_into(spec, run_dir, store, old, started, t0, progress)
        except OSError as exc:
            return _failed_write(spec, run_dir, store, started, exc, old)


def checked_spec(spec: RunSpec, run_dir: Path | None = None) -> RunSpec:
    """``spec`` checked as the command line checks its keys, its counts made ints (NumPy
    integers too), an unset ``chunk_size`` resolved as the command line resolves it (the
    chunking of an earlier run in ``run_dir``, else automatic), and its parameters' record
    filled in for a run made from Python (:func:`recorded`).

    Raises :class:`ParameterError` (one line) for a bad value: from a notebook, ``run`` must
    refuse what ``cpec-sim run`` refuses, before it touches the folder."""
    replicates = whole_number("replicates", spec.replicates, 1, MAX_REPLICATES)
    chunk_size = whole_number("chunk_size", spec.chunk_size, 1, MAX_REPLICATES, unset_ok=True)
    if chunk_size is None and run_dir is not None:
        chunk_size = earlier_chunk_size(run_dir, replicates)
    checked = replace(
        spec,
        replicates=replicates,
        seed=whole_number("seed", spec.seed, 0, MAX_SEED),
        weeks=checked_weeks(spec.weeks),
        jobs=resolved_jobs(whole_number("jobs", spec.jobs, 1, MAX_JOBS, unset_ok=True)),
        chunk_size=resolved_chunk_size(chunk_size, replicates),
    )
    check_name("scenario", spec.scenario)
    load_scenario(spec.scenario)  # a misspelt name is refused, as on the command line
    if not isinstance(spec.overrides, list | tuple) or not all(
        isinstance(o, str) for o in spec.overrides
    ):
        raise ParameterError("overrides must be a list of 'key=value' strings")
    if not isinstance(spec.made_by, str) or not isinstance(spec.description, str):
        raise ParameterError("made_by and description must be text")
    if not isinstance(spec.records, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _inside(k) for k, v in spec.records.items()
    ):
        raise ParameterError("records must map relative paths inside the run folder to text")
    validate(checked.params)
    load_places()  # the data's own checks (sim.space), before the folder is touched
    check_backend(checked.backend)
    check_streams(checked.streams)
    return recorded(checked)


def _inside(relative: str) -> bool:
    """Whether ``relative`` names a file inside a folder (not absolute, no '..')."""
    path = Path(relative)
    return bool(relative) and not path.is_absolute() and ".." not in path.parts


def recorded(spec: RunSpec) -> RunSpec:
    """A spec made in Python records what it runs, as a command's does: its parameters that
    differ from its scenario's file as ``overrides`` (when it names none; so ``compare``
    and ``report`` label it by them), and the resolved configuration as ``config.yaml``.
    A command that manages its folder (``made_by``) keeps its own records."""
    if spec.config_yaml or spec.made_by:
        return spec
    import yaml

    from sim.config import scenario_params
    from sim.params import flatten, to_dict

    params = _plain(to_dict(spec.params))
    mine = flatten(params)
    theirs = flatten(_plain(to_dict(scenario_params(spec.scenario))))  # a known scenario
    differing = [f"{k}={shown_label(v)}" for k, v in mine.items() if theirs.get(k) != v]
    overrides = checked_labels(spec, mine, differing)
    info = dict(load_scenario(spec.scenario)["scenario"])
    description = spec.description or " ".join(str(info.get("description", "")).split())
    info.update(name=spec.scenario, description=description)
    config = {
        "scenario": info,
        **params,
        "replicates": spec.replicates,
        "seed": spec.seed,
        "weeks": spec.weeks,
        "backend": spec.backend,
        "streams": spec.streams,
    }
    text = "# made by sim.runner.run from Python\n" + yaml.safe_dump(config, sort_keys=False)
    return replace(spec, overrides=overrides, config_yaml=text, description=description)


def checked_labels(spec: RunSpec, values: dict[str, Any], differing: list[str]) -> list[str]:
    """The run's label from the ``overrides`` given to a :class:`RunSpec` made in Python: each
    ``key=value`` checked against what the run uses, written in one form (``0.2``, ``true``),
    and completed with the parameters that differ from the scenario's file and were left out.

    A run's overrides label it (``compare`` and ``report`` show them); on the command line
    they also set the parameters, but a :class:`RunSpec` holds its parameters in ``params``:
    overrides given beside them only label the run, and a label that says another value than
    the run uses, or leaves out a value it changed, would mislabel every comparison of it
    (helper-178, helper-180). Raises :class:`ParameterError` (one line) for a label that is
    not ``key=value``, names no parameter or run setting, or says another value.
    """
    from sim.params import close_keys

    labels: dict[str, str] = {}
    seen: set[str] = set()
    for item in spec.overrides:
        key, sep, text = item.partition("=")
        key, text = key.strip().lstrip("+"), text.strip()
        if not sep or not key:
            raise ParameterError(f"overrides: {item!r} is not key=value")
        if key in seen:
            raise ParameterError(f"overrides: {key} is given twice: give each key once")
        seen.add(key)
        if key in RUN_LABELS:
            held = getattr(spec, key)
            if not _says(text, held):
                raise ParameterError(
                    f"overrides label a run and do not set it: {item!r}, but the run's "
                    f"{key} is {shown_label(held)}; set RunSpec.{key} instead"
                )
            continue  # a run setting labels no scenario variant (sim.analysis.runs)
        if _labels_nothing(key):
            continue  # jobs=, chunk_size=, hydra...: how the run ran, dropped from labels
        if key not in values:
            near = close_keys(key, [*values, *RUN_LABELS])
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise ParameterError(f"overrides: {key!r} is not a parameter{hint}")
        if not _says(text, values[key]):
            raise ParameterError(
                f"overrides label a run and do not set it: {item!r}, but the run's parameters "
                f"hold {key}={shown_label(values[key])}; set it in the parameters "
                f"(sim.config.with_overrides(params, {{{key!r}: ...}})), or give no overrides "
                "and the run records what differs from its scenario"
            )
        labels[key] = f"{key}={shown_label(values[key])}"
    for line in differing:  # what the run changes and the label left out
        labels.setdefault(line.partition("=")[0], line)
    return list(labels.values())


#: Run settings a label may name: each must say what the :class:`RunSpec`'s field of that
#: name holds.
RUN_LABELS = ("scenario", "replicates", "seed", "weeks", "backend", "streams")


def _labels_nothing(key: str) -> bool:
    """A command-line key that says how a run ran, not what it is (``jobs=``, ``plots=``,
    ``+experiment=``, ``hydra.run.dir=`` ...): a label copied from a command may hold it."""
    from sim.config import RUN_KEYS

    return key in RUN_KEYS or key == "experiment" or key.startswith("hydra")


def _says(text: str, value: Any) -> bool:
    """Whether an override's value ``text`` says ``value``, as the command line reads it: a
    switch ``true`` or ``false``, a whole number for a count, a number for a number (``1e-3``
    too), text for text (quotes optional)."""
    if isinstance(value, bool):
        return text.lower() == str(value).lower()
    if isinstance(value, int):
        if re.fullmatch(r"[+-]?[0-9]{1,30}", text) is None:  # ASCII digits, no 4,300 of them
            return False
        return int(text) == value
    if isinstance(value, float):
        try:
            return float(text) == value
        except ValueError:
            return False
    if isinstance(value, str):
        quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""
        return (text[1:-1] if quoted else text) == value
    import yaml

    try:
        return bool(yaml.safe_load(text) == value)
    except yaml.YAMLError:
        return False


def _plain(value: Any) -> Any:
    """``value`` with NumPy scalars as Python's (a notebook's np.linspace values), nested."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return python_scalar(value)


def shown_label(value: Any) -> str:
    """A value as a run's label writes it (``true``, not ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


class FolderBusy(ParameterError):
    """Another process holds the folder's lock (:func:`exclusive`)."""


@dataclass(frozen=True)
class RunLock:
    """A run folder's lock, held by :func:`exclusive` (what it yields)."""

    path: str  # the run folder's real path


@contextmanager
def exclusive(run_dir: Path) -> Iterator[RunLock]:
    """Hold the run folder's lock: a second process writing the same run is refused.

    A command that locks the folder around a run (``cpec-sim validate``, which also empties
    and reads it) passes the lock it holds to :func:`run`, which then does not lock again.
    """
    import fcntl

    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / ".lock"
    if lock.exists() and not lock.is_file():  # a FIFO would block the open for ever
        raise ParameterError(f"{lock} is not a lock file of cpec-sim: remove it")
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(
                f"another cpec-sim process is writing {run_dir}: wait for it to finish "
                "or choose another folder"
            ) from None
        yield RunLock(os.path.realpath(run_dir))


def _failed_write(
    spec: RunSpec,
    run_dir: Path,
    store: ChunkStore,
    started: str,
    exc: OSError,
    old: dict[str, Any] | None,
) -> RunOutcome:
    """End a run whose write failed: one line, manifest ``failed``, nothing half-written."""
    message = f"cannot write the results: {exc.strerror or exc} ({exc.filename or run_dir})"
    earlier = _earlier_run_note(old, spec, "failed", store)
    message = f"{message}; {earlier}" if earlier else message
    store.clean()
    for table in TABLES:  # a final file without the others is not a result: the chunks are
        (run_dir / f"{table}.parquet").unlink(missing_ok=True)
    with suppress(OSError):  # freeing the temporary files usually makes room for this
        atomic_write_json(
            run_dir / "manifest.json",
            _manifest(spec, "failed", started, message=message, **_carried(old)),
        )
    return RunOutcome("failed", run_dir, _kept_replicates(store, spec.chunks()), [], {}, message)


def _kept_replicates(store: ChunkStore, chunks: list[list[int]]) -> int:
    """Replicates in the run's finished chunks on disk: what a resume keeps (a stopped run's
    workers may have finished chunks that the main process had not yet been told of)."""
    return sum(len(members) for c, members in enumerate(chunks) if store.path(c, "done").exists())


def _run_into(
    spec: RunSpec,
    run_dir: Path,
    store: ChunkStore,
    old: dict[str, Any] | None,
    started: str,
    t0: float,
    progress: TextIO | None,
) -> RunOutcome:
    run_dir.mkdir(parents=True, exist_ok=True)
    finals = _damaged_finals(old, run_dir)  # before config.yaml is written again
    if spec.config_yaml:
        atomic_write_text(run_dir / CONFIG_FILE, spec.config_yaml)
    for name, text in spec.records.items():
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / name, text)
    held = finished_earlier(old)
    store.rechunked = old is not None and (
        old.get("chunk_size") != spec.chunk_size
        or old.get("replicates") != spec.replicates
        or (held is not None and held[1] != spec.chunk_size)  # an earlier run's chunks
    )
    atomic_write_json(
        run_dir / "manifest.json", _manifest(spec, "running", started, **_carried(old))
    )
    for table in TABLES:  # final files of an earlier run are rebuilt from the chunks at the end
        (run_dir / f"{table}.parquet").unlink(missing_ok=True)

    store.clean()
    chunks = spec.chunks()
    failures: dict[int, list[dict[str, Any]]] = {}
    todo = []
    for c, indices in enumerate(chunks):
        done = store.done(c, indices)
        if done is None:
            todo.append(c)
        else:
            failures[c] = done.get("failures", [])
    repaired = _damage_note(finals, store)
    resumed = spec.replicates - sum(len(chunks[c]) for c in todo)
    bar = ProgressBar(spec.replicates, resumed, progress)

    status, message = "complete", ""
    t_sim = time.perf_counter()
    # The final files are streamed from the chunks, in order, as they finish.
    finished = {c for c in range(len(chunks)) if c not in todo}
    assembly = store.assembly(range(len(chunks)), guard=stops_deferred)

    def chunk_done(c: int, f: list[dict[str, Any]]) -> None:
        failures[c] = f
        bar.advance(len(chunks[c]))
        finished.add(c)
        assembly.add_ready(finished)

    files: dict[str, Any] = {}
    error: Exception | None = None
    try:
        with stop_signals():
            assembly.add_ready(finished)
            pool = in_pool(resolved_jobs(spec.jobs), len(todo))
            if pool and not main_importable():
                pool = False
                if progress is not None:
                    bar.note(STDIN_NOTE)
            if pool:
                _run_pool(spec, store, chunks, todo, chunk_done)
            else:
                _load_engine_here(spec)
                for c in todo:
                    _, f, _ = run_chunk(*_chunk_args(spec, store, c, chunks[c]))
                    chunk_done(c, f)
        sim_s = time.perf_counter() - t_sim
        t_write = time.perf_counter()
        final = {**assembly.finish(), **_config_record(spec, run_dir)}
        files = {"files": final, "chunks": store.records(range(len(chunks)))}
    except Interrupted as exc:
        status, message = "interrupted", f"interrupted by {exc}"
    except BrokenProcessPool:
        from sim.commands import worker_died

        status, message = "failed", worker_died("a worker process", RESUME)
    except OSError:  # a failed write: run() ends the run with one line (_failed_write)
        raise
    except Exception as exc:  # a bug: recorded as the run's end, then reported by the caller
        status, message, error = "failed", f"{type(exc).__name__}: {exc}", exc
    finally:
        assembly.abort()  # removes the unfinished files of a run that did not complete
        bar.close()
        store.clean()
    if status != "complete":
        sim_s, t_write = time.perf_counter() - t_sim, time.perf_counter()

    failed = sorted(f["replicate"] for fs in failures.values() for f in fs)
    if status == "complete" and failed:
        status, message = "failed", f"{len(failed)} replicate(s) raised: see {run_dir / 'failures'}"
    earlier = _earlier_run_note(old, spec, status, store, resumed)
    other_code = _other_code(old, resumed)
    code_note = (
        f"{resumed} replicates kept from the folder's earlier run were made by other code "
        f"({', '.join(other_code[OTHER_CODE])}; this run: {code_commit() or 'not a checkout'}): "
        "run into a new folder for replicates of this code alone"
        if other_code
        else ""
    )
    message = "; ".join(m for m in (repaired, earlier, code_note, message) if m)
    if status == "complete":
        done_reps = sum(len(chunks[c]) for c in failures) - len(failed)
    else:  # what is on disk: workers may have finished chunks not yet reported
        done_reps = _kept_replicates(store, chunks) - len(failed)
    timings = {
        "simulate_s": round(sim_s, 3),
        "write_s": round(time.perf_counter() - t_write, 3),
        "total_s": round(time.perf_counter() - t0, 3),
    }
    atomic_write_json(
        run_dir / "manifest.json",
        _manifest(
            spec,
            status,
            started,
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            failed_replicates=failed,
            resumed_replicates=resumed,
            timings=timings,
            message=message,
            **files,
            **other_code,
            **({} if status == "complete" else _carried(old)),
        ),
    )
    if error is not None:  # the manifest says "failed" (it had stayed "running": helper-187)
        raise error
    return RunOutcome(status, run_dir, done_reps, failed, timings, message)


#: What to do after a worker died.
RESUME = "re-run the same command to resume"
STDIN_NOTE = (
    "note: a script read from standard input cannot start worker processes (each would "
    "import the script's file): running the replicates in this process; save the script "
    "to a file for jobs > 1"
)


def in_pool(jobs: int, todo: int) -> bool:
    """Whether ``todo`` chunks run in a pool of worker processes (else in this process).

    One chunk runs in a pool only if the worker server is already up (started early by the
    command line, with the engine loaded); nothing to do needs no pool.
    """
    return jobs > 1 and (todo > 1 or (todo == 1 and worker_server_running()))


def _chunk_args(spec: RunSpec, store: ChunkStore, chunk: int, replicates: list[int]) -> tuple:
    """The arguments of :func:`run_chunk` for one chunk of a run."""
    return (
        store, chunk, replicates, spec.params, spec.seed, spec.weeks, spec.backend,
        spec.posterior, spec.streams,
    )  # fmt: skip


def _run_pool(
    spec: RunSpec,
    store: ChunkStore,
    chunks: list[list[int]],
    todo: list[int],
    chunk_done: Callable[[int, list[dict[str, Any]]], None],
) -> None:
    """Run chunks in a pool of worker processes; ``chunk_done(chunk, failures)`` as each ends.

    On POSIX a fork server that has already imported the model forks the workers: each
    starts in milliseconds, and no worker is forked from a multi-threaded parent.
    """
    ctx = worker_context(run_preload(spec.backend, spec.streams))
    pool = ProcessPoolExecutor(
        max_workers=min(resolved_jobs(spec.jobs), len(todo)),
        mp_context=ctx,
        initializer=worker_init,
    )
    pending: set[Future[Any]] = set()
    try:
        for c in todo:
            pending.add(pool.submit(run_chunk, *_chunk_args(spec, store, c, chunks[c])))
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                c, f, _ = fut.result()
                chunk_done(c, f)
    except BaseException:
        stop_pool(pool, pending)
        raise
    pool.shutdown(wait=True)


class ProgressBar:
    """Replicates done, rate and time left on ``stream`` (tqdm; None: silent).

    On a terminal the bar redraws in place; in a log file tqdm writes at most one update
    every 10 seconds.
    """

    def __init__(self, total: int, done: int, stream: TextIO | None) -> None:
        from tqdm import tqdm

        tty = bool(stream is not None and stream.isatty())
        self._bar = tqdm(
            total=total,
            initial=done,
            file=stream,
            disable=stream is None,
            unit="replicate",
            dynamic_ncols=tty,
            mininterval=0.1 if tty else 10.0,
            ascii=not tty,
            smoothing=0.1,
        )

    def note(self, text: str) -> None:
        """A line above the bar (printed into the bar's own line, it broke it in two)."""
        if not self._bar.disable:
            self._bar.write(text, file=self._bar.fp)

    def advance(self, n: int) -> None:
        """``n`` more replicates finished."""
        self._bar.update(n)

    def close(self) -> None:
        """Draw the final state and end the bar's line."""
        self._bar.close()
