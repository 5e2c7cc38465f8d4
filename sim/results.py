"""Results on disk: Parquet schemas, atomic writes, chunk files and their assembly.

A run directory stores its replicates in fixed-size chunks (``chunks/00000.*``), each
written atomically and marked done last; the final ``summary.parquet``,
``timeseries.parquet`` and ``events.parquet`` are streamed from the chunks in order, so
memory stays flat and the bytes do not depend on how many workers ran them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.files import (
    atomic_write_json,
    atomic_write_with,
    check_file,
    file_record,
    move_into_place,
    read_json_object,
    remove_temporary_files,
    temporary_path,
)
from sim.record import (
    EVENT_COLUMNS,
    SUMMARY_COLUMNS,
    WEEKLY_METRICS,
    ReplicateResult,
    event_names,
)

TABLES = ("summary", "timeseries", "events")

_SUMMARY_TYPES: dict[str, pa.DataType] = {
    "weeks_to_first_pause": pa.float64(),
    "capital_deployed_final": pa.float64(),
    "grievance_final": pa.float64(),
    "legitimacy_final": pa.float64(),
    "china_patience_final": pa.float64(),
    "investment_hold": pa.bool_(),
    "chinese_troops_deployed": pa.bool_(),
}
_EVENT_TYPES: dict[str, pa.DataType] = {
    "group": pa.string(),
    "district": pa.string(),
    "target": pa.string(),
    "success": pa.bool_(),
    "interdicted": pa.bool_(),
}

#: Summary columns that say how a replicate was run (not outcomes of the model).
RUN_COLUMNS = ("replicate", "seed", "posterior_draw")
#: ``posterior_draw`` of a replicate run with the scenario's parameters (no posterior).
NO_DRAW = -1

SCHEMAS: dict[str, pa.Schema] = {
    "summary": pa.schema(
        [("replicate", pa.int64()), ("seed", pa.uint64()), ("posterior_draw", pa.int64())]
        + [(c, _SUMMARY_TYPES.get(c, pa.int64())) for c in SUMMARY_COLUMNS]
    ),
    "timeseries": pa.schema(
        [("replicate", pa.int64()), ("week", pa.int64())]
        + [(c, pa.float64()) for c in WEEKLY_METRICS]
    ),
    "events": pa.schema(
        [("replicate", pa.int64())] + [(c, _EVENT_TYPES.get(c, pa.int64())) for c in EVENT_COLUMNS]
    ),
}


# --- tables from replicates ------------------------------------------------------------
def tables_from_replicates(
    items: Sequence[tuple[int, int, ReplicateResult]],
    draws: Mapping[int, int] | None = None,
) -> dict[str, pa.Table]:
    """Arrow tables for a batch of (replicate index, seed, result).

    ``draws`` maps a replicate index to the posterior draw it ran with (``posterior_draw``;
    -1 for replicates not in it, and for all without a posterior). The columns are built
    from the replicates' arrays, not row by row.
    """
    indices = np.array([index for index, _, _ in items], dtype=np.int64)
    summary = {
        "replicate": indices,
        "seed": np.array([seed for _, seed, _ in items], dtype=np.uint64),
        "posterior_draw": np.array(
            [NO_DRAW if draws is None else draws.get(i, NO_DRAW) for i, _, _ in items], np.int64
        ),
        **{c: np.array([res.summary[c] for _, _, res in items]) for c in SUMMARY_COLUMNS},
    }
    weeks = [len(res.weekly["attacks"]) for _, _, res in items]
    timeseries = {
        "replicate": np.repeat(indices, weeks),
        "week": _joined([np.arange(1, n + 1, dtype=np.int64) for n in weeks]),
        **{c: _joined([r.weekly[c] for _, _, r in items]) for c in WEEKLY_METRICS},
    }
    rows = np.concatenate(
        [res.event_rows for _, _, res in items]
        or [np.zeros((0, len(EVENT_COLUMNS)), dtype=np.int64)]
    )
    events = {
        "replicate": np.repeat(indices, [len(res.event_rows) for _, _, res in items]),
        **dict(zip(EVENT_COLUMNS, np.ascontiguousarray(rows.T), strict=True)),
    }
    return {
        "summary": arrow_table(summary, SCHEMAS["summary"]),
        "timeseries": arrow_table(timeseries, SCHEMAS["timeseries"]),
        "events": arrow_table(events, SCHEMAS["events"], event_names()),
    }


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.array([])


def arrow_table(
    columns: Mapping[str, np.ndarray],
    schema: pa.Schema,
    names: Mapping[str, Sequence[str]] | None = None,
) -> pa.Table:
    """A table of ``schema`` from NumPy columns; a string column holds codes into ``names``.

    Built from the arrays' buffers: ``pa.array`` would import pandas (~0.3 s, once per
    process) to check what it was given, and this runs first in every worker.
    """
    arrays = []
    for field in schema:
        values = columns[field.name]
        if field.type == pa.string():
            assert names is not None
            arrays.append(_decoded(values, names[field.name]))
        else:
            _check_whole(field, values)
            arrays.append(_numeric_array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _check_whole(field: pa.Field, values: np.ndarray) -> None:
    """Refuse to store fractions in an integer column (the cast would truncate them to
    whole numbers, 0.41 to 0, without a word): a new float column must be declared."""
    values = np.asarray(values)
    if not pa.types.is_integer(field.type) or not np.issubdtype(values.dtype, np.floating):
        return
    whole = np.isfinite(values) & (values == np.trunc(values))
    if not whole.all():
        bad = float(values[~whole][0])
        raise TypeError(
            f"column {field.name} holds {bad!r}, not a whole number, but its type is "
            f"{field.type}: declare a float column in sim.results._SUMMARY_TYPES (or the "
            "table's schema)"
        )


#: The NumPy type of each numeric Arrow type of the tables.
_NUMPY_TYPES: dict[pa.DataType, type] = {
    pa.int64(): np.int64,
    pa.uint64(): np.uint64,
    pa.int32(): np.int32,
    pa.float64(): np.float64,
}


def _numeric_array(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """Numbers (NaN stays a value, as ``pa.array`` keeps it) or booleans, no nulls."""
    if kind == pa.bool_():
        bits = np.packbits(np.asarray(values).astype(bool), bitorder="little")
        return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(bits)])
    data: np.ndarray = np.ascontiguousarray(values, dtype=_NUMPY_TYPES[kind])
    return pa.Array.from_buffers(kind, len(data), [None, pa.py_buffer(data)])


def numpy_column(table: pa.Table, name: str) -> np.ndarray:
    """A numeric or boolean column of ``table`` as a NumPy array, read from its buffers
    (the inverse of :func:`_numeric_array`): ``to_numpy`` imports pandas (~0.35 s, once per
    process). A column with nulls, or of another type, goes through ``to_numpy``."""
    column = table.column(name)
    kind = column.type
    if column.null_count or not (kind == pa.bool_() or kind in _NUMPY_TYPES):
        return column.to_numpy()
    parts = [_numpy_chunk(chunk, kind) for chunk in column.chunks]
    return np.concatenate(parts) if parts else np.array([], dtype=_NUMPY_TYPES.get(kind, bool))


def _numpy_chunk(chunk: pa.Array, kind: pa.DataType) -> np.ndarray:
    data = chunk.buffers()[1]
    if not len(chunk) or data is None:
        return np.array([], dtype=bool if kind == pa.bool_() else _NUMPY_TYPES[kind])
    if kind == pa.bool_():
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        return bits[chunk.offset : chunk.offset + len(chunk)].astype(bool)
    dtype = np.dtype(_NUMPY_TYPES[kind])
    return np.frombuffer(data, dtype=dtype, count=len(chunk), offset=chunk.offset * dtype.itemsize)


def _decoded(codes: np.ndarray, names: Sequence[str]) -> pa.Array:
    """The strings ``names[codes]`` as an Arrow string array."""
    encoded = [n.encode() for n in names]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    dictionary = pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )
    indices = _numeric_array(np.asarray(codes, dtype=np.int32), pa.int32())
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


#: Why a chunk of another chunking (``chunk_size`` or ``replicates`` changed) is recomputed.
OTHER_MEMBERS = "holds other members"


# --- the chunk store -------------------------------------------------------------------
class ChunkStore:
    """Chunks of a resumable job (a run's replicates, a study's points) in ``root/chunks/``.

    A chunk is a few Parquet tables and a ``done`` marker written last; the marker names the
    chunk's members (replicate or point indices), the job's ``key`` (its configuration hash)
    and each table's row count and SHA-256. A chunk counts as done only if all of that still
    holds, so a truncated, swapped or foreign chunk is computed again, never used. The final
    files are streamed from the chunks in order (memory stays flat; the bytes do not depend
    on the number of workers) and their own rows and checksums go into the job's manifest.
    """

    def __init__(
        self,
        root: Path,
        tables: Sequence[str],
        key: str,
        members: str = "members",
        schemas: Mapping[str, pa.Schema] | None = None,
    ) -> None:
        self.root, self.tables, self.key, self.members = Path(root), tuple(tables), key, members
        self.schemas = dict(schemas or {})
        #: Chunks found damaged by :meth:`done` (chunk -> what was wrong), for the report.
        self.damaged: dict[int, str] = {}
        #: The job's chunking changed since the chunks were written (their members differ).
        self.rechunked = False

    def path(self, chunk: int, table: str) -> Path:
        """Path of one chunk's table (``table`` may also be ``done``)."""
        suffix = "json" if table == "done" else "parquet"
        return self.root / "chunks" / f"{chunk:05d}.{table}.{suffix}"

    def write(
        self, chunk: int, members: list[int], tables: Mapping[str, pa.Table], **extra: Any
    ) -> dict[str, Any]:
        """Write a chunk's tables, then its marker (so a chunk is all or nothing)."""
        files = {}
        for name in self.tables:
            path = self.path(chunk, name)
            atomic_write_with(path, _parquet_writer(tables[name]))
            files[name] = file_record(path, tables[name].num_rows)
        marker = {self.members: members, "key": self.key, "files": files, **extra}
        atomic_write_json(self.path(chunk, "done"), marker)
        return marker

    def done(self, chunk: int, members: list[int]) -> dict[str, Any] | None:
        """The chunk's marker if the chunk is whole, else None (a damaged chunk is removed)."""
        if not self.path(chunk, "done").exists():
            return None
        marker = read_json_object(self.path(chunk, "done"))
        problem = self._problem(chunk, members, marker)
        if problem is None:
            return marker
        if problem != OTHER_MEMBERS or not self.rechunked:  # re-chunking is not damage
            self.damaged[chunk] = problem
        self.remove(chunk)
        return None

    def holds(self, chunk: int, members: list[int]) -> bool:
        """Whether the chunk's marker names these members of this job (its files are checked
        when it is used); unlike :meth:`done`, nothing is removed."""
        marker = read_json_object(self.path(chunk, "done"))
        return marker is not None and (marker.get(self.members), marker.get("key")) == (
            members,
            self.key,
        )

    def _problem(self, chunk: int, members: list[int], marker: dict[str, Any] | None) -> str | None:
        if marker is None:
            return "unreadable marker"
        if marker.get(self.members) != members:
            return OTHER_MEMBERS
        if marker.get("key") != self.key:
            return "belongs to another configuration"
        records = marker.get("files")
        if not isinstance(records, dict):
            return "no checksums recorded"
        for name in self.tables:
            problem = check_file(self.path(chunk, name), records.get(name))
            if problem:
                return f"{name}: {problem}"
        return None

    def damage_report(self) -> str:
        """The damaged chunks :meth:`done` found and removed, in one line ('' if none)."""
        if not self.damaged:
            return ""
        listed = "; ".join(f"chunk {c} ({why})" for c, why in sorted(self.damaged.items()))
        return f"{len(self.damaged)} damaged chunk(s) recomputed: {listed}"

    def foreign_key(self) -> str | None:
        """The key of any chunk here that belongs to another configuration, else None."""
        for marker_path in sorted((self.root / "chunks").glob("*.done.json")):
            key = (read_json_object(marker_path) or {}).get("key")
            if key is not None and key != self.key:
                return str(key)
        return None

    def remove(self, chunk: int) -> None:
        """Delete a chunk (its marker first, so it never looks done half-deleted)."""
        for name in ("done", *self.tables):
            self.path(chunk, name).unlink(missing_ok=True)

    def clean(self) -> None:
        """Delete temporary files a stopped writer left (finished chunks are untouched)."""
        remove_temporary_files(self.root / "chunks")
        remove_temporary_files(self.root)

    def assemble(self, chunks: Iterable[int]) -> dict[str, dict[str, Any]]:
        """Stream the chunks, in order, into ``root/<table>.parquet``; return file records.

        If writing fails, no unfinished file is left.
        """
        assembly = self.assembly(chunks)
        try:
            return assembly.finish()
        finally:
            assembly.abort()  # nothing left to remove once finished

    def assembly(
        self, chunks: Iterable[int], guard: Callable[[], AbstractContextManager[Any]] = nullcontext
    ) -> Assembly:
        """The final files, streamed from ``chunks`` as they finish (:class:`Assembly`); each
        chunk is appended inside ``guard()`` (the runner defers stop requests there)."""
        return Assembly(self, list(chunks), guard)

    def records(self, chunks: Iterable[int]) -> list[dict[str, Any]]:
        """Per chunk, its members' range and its tables' rows and checksums (for a manifest)."""
        out = []
        for c in chunks:
            marker = json.loads(self.path(c, "done").read_text())
            members = marker[self.members]
            out.append(
                {
                    "chunk": c,
                    self.members: [members[0], members[-1]] if members else [],
                    "files": marker.get("files", {}),
                }
            )
        return out


#: Chunk files are written once and read once (then kept for repairs): a fast codec. The final
#: files are kept and read many times: a compact one.
CHUNK_COMPRESSION = "lz4"
FINAL_COMPRESSION = "zstd"

#: Rows a final file's row group gathers from consecutive chunks before it is written (a
#: gathered row group over Parquet's default limit of 1,048,576 rows is split by the writer,
#: the same way every time). 2**16 cost the main process ~40 MiB more at 10,000 replicates,
#: which the 100,000-replicate run's < 1 GB target cannot spare; 2**14 costs it ~10-30 MiB at
#: 2,000-3,000 replicates and nothing measurable at 10,000 and more.
ROW_GROUP_ROWS = 1 << 14


class Assembly:
    """The final tables of a job, streamed from its chunks in order while later chunks are
    still being computed (the main process of a run is otherwise idle).

    :meth:`add_ready` appends every chunk that is done and next in order; :meth:`finish`
    appends the rest and renames the files into place; :meth:`abort` removes them. The
    bytes do not depend on when chunks were appended: the same tables go in the same order.
    The three tables are appended side by side, one thread each (Parquet decoding, encoding
    and compression release the GIL). Consecutive chunks are gathered into row groups of at
    least :data:`ROW_GROUP_ROWS` rows: small row groups cost a compression context and
    statistics per column each, for the writer and for every later reader.
    """

    def __init__(
        self,
        store: ChunkStore,
        chunks: list[int],
        guard: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self.store, self.chunks, self.appended, self._guard = store, chunks, 0, guard
        self.rows = dict.fromkeys(store.tables, 0)
        self._pending: dict[str, list[pa.Table]] = {name: [] for name in store.tables}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._tmp: dict[str, Path] = {}
        self._pool: ThreadPoolExecutor | None = None

    def add_ready(self, done: Collection[int]) -> None:
        """Append the chunks that are in ``done`` and next in order."""
        while self.appended < len(self.chunks) and self.chunks[self.appended] in done:
            with self._guard():
                self._append(self.chunks[self.appended])
                self.appended += 1

    def finish(self) -> dict[str, dict[str, Any]]:
        """Append the remaining chunks, move the files into place; return their records.

        Every file is complete before the first is moved, so a failure (a full disk) leaves
        no final file.
        """
        self.add_ready(set(self.chunks))
        for name in self.store.tables:
            self._write_pending(name)
            tmp = self._start(name)
            if name not in self._writers:  # no chunks: an empty table of the schema
                pq.write_table(
                    self.store.schemas[name].empty_table(), tmp, compression=FINAL_COMPRESSION
                )
            else:
                self._writers.pop(name).close()
        records = {}
        for name in self.store.tables:
            tmp = self._tmp[name]
            final = self.store.root / f"{name}.parquet"
            move_into_place(tmp, final)
            del self._tmp[name]
            records[f"{name}.parquet"] = file_record(final, self.rows[name])
        self._close_pool()
        return records

    def abort(self) -> None:
        """Close and remove the unfinished files (nothing if :meth:`finish` completed)."""
        self._close_pool()  # no append still writing
        for writer in self._writers.values():
            with suppress(Exception):
                writer.close()
        self._writers.clear()
        for pending in self._pending.values():
            pending.clear()
        for tmp in self._tmp.values():
            tmp.unlink(missing_ok=True)
        self._tmp.clear()

    def _start(self, name: str) -> Path:
        if name not in self._tmp:
            self._tmp[name] = temporary_path(self.store.root / f"{name}.parquet")
        return self._tmp[name]

    def _append(self, chunk: int) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=len(self.store.tables))
        jobs = [self._pool.submit(self._append_table, n, chunk) for n in self.store.tables]
        try:
            for job in jobs:
                job.result()
        finally:
            wait(jobs)  # a stop request or a failed table: the others finish first

    def _append_table(self, name: str, chunk: int) -> None:
        table = pq.ParquetFile(self.store.path(chunk, name)).read()  # read_table imports pandas
        schema = self.store.schemas.get(name)
        if schema is not None:
            table = _conform(table, schema)
        if name not in self._writers:
            self._writers[name] = pq.ParquetWriter(
                self._start(name), schema or table.schema, compression=FINAL_COMPRESSION
            )
        pending = self._pending[name]
        pending.append(table.cast(self._writers[name].schema))
        self.rows[name] += table.num_rows
        if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS:
            self._write_pending(name)

    def _write_pending(self, name: str) -> None:
        """Write the gathered chunks of one table as one row group."""
        pending = self._pending[name]
        if pending:
            self._writers[name].write_table(pa.concat_tables(pending))
            pending.clear()

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A chunk written before ``posterior_draw`` existed gets the column (-1: no posterior)."""
    if "posterior_draw" in table.column_names or "posterior_draw" not in schema.names:
        return table
    column = pa.array([NO_DRAW] * table.num_rows, pa.int64())
    index = schema.get_field_index("posterior_draw")
    return table.add_column(index, schema.field("posterior_draw"), column)


def _parquet_writer(table: pa.Table) -> Any:
    return lambda tmp: pq.write_table(table, tmp, compression=CHUNK_COMPRESSION)


def run_store(run_dir: Path, key: str) -> ChunkStore:
    """The chunk store of a run directory (replicates; the three result tables)."""
    return ChunkStore(run_dir, TABLES, key, members="replicates", schemas=SCHEMAS)


# --- reading ---------------------------------------------------------------------------
HEADLINE = (
    ("chinese_killed", "Chinese nationals killed"),
    ("attacks_total", "attacks (all)"),
    ("attacks_on_chinese", "attacks on Chinese targets"),
    ("security_killed", "security forces killed"),
    ("civilians_killed", "civilians killed"),
    ("militants_killed", "militants killed"),
    ("militants_captured", "militants captured"),
    ("fighters_final", "fighters at the end"),
    ("capital_deployed_final", "capital deployed at the end (USD m)"),
    ("investors_withdrawn", "investors withdrawn"),
    ("legitimacy_final", "legitimacy at the end (0-1)"),
)


#: The summary table's columns that :func:`summary_table` reads.
_SUMMARY_COLUMNS = (
    *(col for col, _ in HEADLINE),
    "investment_hold",
    "chinese_troops_deployed",
    "posterior_draw",
)


def summary_table(run_dir: Path) -> str:
    """Medians and 90% intervals of the headline outcomes, as aligned text.

    Read with pyarrow and NumPy: a run's main process prints this without importing pandas
    (~0.35 s of a core that the workers use meanwhile)."""
    from sim.analysis.numbers import fmt_median_interval  # as compare's table shows them
    from sim.analysis.stats import NOT_COUNTS, median_and_interval
    from sim.posterior import draws_used, manifest_parameters, uncertainty_text

    table = pq.ParquetFile(run_dir / "summary.parquet").read()
    columns = {
        name: numpy_column(table, name) for name in _SUMMARY_COLUMNS if name in table.column_names
    }
    n = table.num_rows
    manifest = json.loads((run_dir / "manifest.json").read_text())
    weeks = manifest.get("weeks", "?")
    lines = [
        f"totals over the {weeks}-week horizon, across replicates (90% interval: 5th-95th pct)",
        f"intervals include {uncertainty_text(manifest_parameters(manifest), draws_used(columns))}",
        f"{'outcome':40s} {'median':>10s} {'90% interval':>22s}",
    ]
    for col, label in HEADLINE:
        v = columns[col].astype(float)
        q05, median, q95 = median_and_interval(v, counts=col not in NOT_COUNTS)
        med, lo, hi = fmt_median_interval(median, q05, q95)
        interval = f"[{lo}, {hi}]" if n > 1 else "(one replicate)"
        lines.append(f"{label:40s} {med:>10s} {interval:>22s}")
    for col, label in (
        ("investment_hold", "P(China's investment hold)"),
        ("chinese_troops_deployed", "P(Chinese troops deployed)"),
    ):
        lines.append(f"{label:40s} {np.nanmean(columns[col].astype(float)):10.2f}")
    lines.append(f"replicates: {n}{_few_replicates_note(n)}")
    return "\n".join(lines)


def _few_replicates_note(n: int) -> str:
    """A caution after the count when the intervals are rough (as compare and report say)."""
    from sim.analysis.numbers import MIN_REPLICATES_TO_TEST

    if n >= MIN_REPLICATES_TO_TEST or n < 2:
        return ""
    return (
        f" (fewer than {MIN_REPLICATES_TO_TEST}: each interval is rough; a count's runs from the "
        "lowest replicate to the highest, another's ends lie between the two lowest and between "
        "the two highest)"
    )
