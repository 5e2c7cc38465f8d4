"""Results on disk: Parquet schemas, atomic writes, chunk files and their assembly.

A run directory stores its replicates in fixed-size chunks (``chunks/00000.*``), each
written atomically and marked done last; the final ``summary.parquet``,
``timeseries.parquet`` and ``events.parquet`` are streamed from the chunks in order, so
memory stays flat and the bytes do not depend on how many workers ran them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.files import atomic_write_json, atomic_write_with
from sim.record import EVENT_COLUMNS, SUMMARY_COLUMNS, WEEKLY_METRICS, ReplicateResult

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


def _atomic_write_table(path: Path, table: pa.Table) -> None:
    atomic_write_with(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


# --- tables from replicates ------------------------------------------------------------
def tables_from_replicates(
    items: Sequence[tuple[int, int, ReplicateResult]],
    draws: Mapping[int, int] | None = None,
) -> dict[str, pa.Table]:
    """Arrow tables for a batch of (replicate index, seed, result).

    ``draws`` maps a replicate index to the posterior draw it ran with (``posterior_draw``;
    -1 for replicates not in it, and for all without a posterior).
    """
    summary: dict[str, list[Any]] = {c: [] for c in SCHEMAS["summary"].names}
    weekly: dict[str, list[np.ndarray]] = {c: [] for c in SCHEMAS["timeseries"].names}
    events: dict[str, list[Any]] = {c: [] for c in SCHEMAS["events"].names}
    for index, seed, res in items:
        summary["replicate"].append(index)
        summary["seed"].append(seed)
        summary["posterior_draw"].append(NO_DRAW if draws is None else draws.get(index, NO_DRAW))
        for c in SUMMARY_COLUMNS:
            summary[c].append(res.summary[c])
        weeks = len(res.weekly["attacks"])
        weekly["replicate"].append(np.full(weeks, index, dtype=np.int64))
        weekly["week"].append(np.arange(1, weeks + 1, dtype=np.int64))
        for c in WEEKLY_METRICS:
            weekly[c].append(res.weekly[c])
        n_events = len(res.events["week"])
        events["replicate"].extend([index] * n_events)
        for c in EVENT_COLUMNS:
            events[c].extend(res.events[c])
    return {
        "summary": pa.table(summary, schema=SCHEMAS["summary"]),
        "timeseries": pa.table(
            {c: np.concatenate(v) if v else np.array([]) for c, v in weekly.items()},
            schema=SCHEMAS["timeseries"],
        ),
        "events": pa.table(events, schema=SCHEMAS["events"]),
    }


# --- chunks ----------------------------------------------------------------------------
def chunk_path(run_dir: Path, chunk: int, table: str) -> Path:
    """Path of one chunk's table (``table`` may also be ``done``)."""
    suffix = "json" if table == "done" else "parquet"
    return run_dir / "chunks" / f"{chunk:05d}.{table}.{suffix}"


def write_chunk(
    run_dir: Path,
    chunk: int,
    replicates: list[int],
    tables: dict[str, pa.Table],
    failures: list[dict[str, Any]],
) -> None:
    """Write a chunk's three tables, then its ``done`` marker (so a chunk is all or nothing)."""
    (run_dir / "chunks").mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        _atomic_write_table(chunk_path(run_dir, chunk, name), tables[name])
    atomic_write_json(
        chunk_path(run_dir, chunk, "done"), {"replicates": replicates, "failures": failures}
    )


def chunk_done(run_dir: Path, chunk: int, replicates: list[int]) -> dict[str, Any] | None:
    """The done marker of a chunk if it holds exactly ``replicates``; otherwise None."""
    path = chunk_path(run_dir, chunk, "done")
    if not path.exists():
        return None
    try:
        done = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if done.get("replicates") != replicates:
        return None
    if not all(chunk_path(run_dir, chunk, t).exists() for t in TABLES):
        return None
    return dict(done)


def assemble(run_dir: Path, chunks: Iterable[int]) -> None:
    """Stream the chunks, in order, into the run's three Parquet files (atomically)."""
    chunks = list(chunks)
    for name in TABLES:
        final = run_dir / f"{name}.parquet"
        fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=f".{final.name}.", suffix=".tmp")
        os.close(fd)
        try:
            with pq.ParquetWriter(tmp, SCHEMAS[name], compression="zstd") as writer:
                for c in chunks:
                    table = pq.read_table(chunk_path(run_dir, c, name))
                    writer.write_table(_conform(table, SCHEMAS[name]))
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A chunk written before ``posterior_draw`` existed gets the column (-1: no posterior)."""
    if table.schema.equals(schema) or "posterior_draw" in table.column_names:
        return table
    if "posterior_draw" not in schema.names:
        return table
    column = pa.array([NO_DRAW] * table.num_rows, pa.int64())
    index = schema.get_field_index("posterior_draw")
    return table.add_column(index, schema.field("posterior_draw"), column)


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


def summary_table(run_dir: Path) -> str:
    """Medians and 90% intervals of the headline outcomes, as aligned text."""
    import pandas as pd

    from sim.posterior import manifest_parameters, uncertainty_text

    df = pd.read_parquet(run_dir / "summary.parquet")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    weeks = manifest.get("weeks", "?")
    lines = [
        f"totals over the {weeks}-week horizon, across replicates (90% interval: 5th-95th pct)",
        f"intervals include {uncertainty_text(manifest_parameters(manifest))}",
        f"{'outcome':40s} {'median':>10s} {'90% interval':>22s}",
    ]
    for col, label in HEADLINE:
        v = df[col].astype(float)
        lo, med, hi = np.nanquantile(v, [0.05, 0.5, 0.95])
        lines.append(f"{label:40s} {med:10.4g} {f'[{lo:.4g}, {hi:.4g}]':>22s}")
    for col, label in (
        ("investment_hold", "P(China's investment hold)"),
        ("chinese_troops_deployed", "P(Chinese troops deployed)"),
    ):
        lines.append(f"{label:40s} {df[col].mean():10.2f}")
    lines.append(f"replicates: {len(df)}")
    return "\n".join(lines)
