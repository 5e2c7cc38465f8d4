"""Result tables built from the engine's arrays: the same as Arrow's own conversion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import sim.results
from sim.config import resolved_chunk_size
from sim.engine import run_replicate
from sim.params import ModelParams
from sim.results import SCHEMAS, arrow_table, run_store, tables_from_replicates


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue())


def test_arrow_table_equals_arrows_conversion_of_the_same_values() -> None:
    schema = pa.schema(
        [
            ("i", pa.int64()),
            ("u", pa.uint64()),
            ("x", pa.float64()),
            ("b", pa.bool_()),
            ("s", pa.string()),
        ]
    )
    rng = np.random.default_rng(3)
    n = 37  # not a multiple of 8: the last byte of the boolean bitmap is partial
    x = rng.normal(size=n)
    x[[2, 5]] = np.nan  # NaN is a value, not a null, as pa.array keeps it
    columns = {
        "i": rng.integers(-5, 5, n),
        "u": rng.integers(0, 2**63, n, dtype=np.uint64),
        "x": x,
        "b": rng.random(n) < 0.5,
        "s": rng.integers(0, 3, n),
    }
    names = {"s": ("chinese", "security", "infrastructure")}
    built = arrow_table(columns, schema, names)
    expected = pa.table(
        {
            **{k: columns[k] for k in ("i", "u", "x", "b")},
            "s": [names["s"][c] for c in columns["s"]],
        },
        schema=schema,
    )
    assert parquet_bytes(built) == parquet_bytes(expected)  # what a run writes
    for name in ("i", "u", "b", "s"):
        assert built.column(name).equals(expected.column(name))
    assert np.array_equal(built.column("x").to_numpy(), x, equal_nan=True)
    assert built.column("x").null_count == 0


def test_the_tables_of_replicates_match_their_results() -> None:
    results = [(i, 100 + i, run_replicate(ModelParams(), 12, i)) for i in (4, 7)]
    tables = tables_from_replicates(results, {7: 3})
    summary = tables["summary"].to_pylist()
    assert [r["replicate"] for r in summary] == [4, 7]
    assert [r["seed"] for r in summary] == [104, 107]
    assert [r["posterior_draw"] for r in summary] == [-1, 3]
    assert summary[1]["attacks_total"] == results[1][2].summary["attacks_total"]
    events = tables["events"]
    for index, _, res in results:
        mine = events.filter(pc.equal(events["replicate"], index)).to_pydict()
        assert {k: mine[k] for k in res.events} == res.events
    weekly = tables["timeseries"]
    assert weekly.num_rows == 24 and weekly.schema == SCHEMAS["timeseries"]
    assert weekly["week"].to_pylist() == [*range(1, 13), *range(1, 13)]


def test_building_the_tables_does_not_import_pandas() -> None:
    """Workers build tables first thing; pyarrow's conversion would import pandas (~0.3 s)."""
    code = (
        "import sys\n"
        "from sim.engine import run_replicate\n"
        "from sim.params import ModelParams\n"
        "from sim.results import tables_from_replicates\n"
        "tables_from_replicates([(0, 0, run_replicate(ModelParams(), 4, 0))])\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_automatic_chunks_hold_25_to_250_replicates_and_ignore_jobs() -> None:
    assert resolved_chunk_size(None, 10) == 10  # one chunk
    assert resolved_chunk_size(None, 100) == 25  # 4 chunks, not 50 of 2
    assert resolved_chunk_size(None, 1000) == 25
    assert resolved_chunk_size(None, 5000) == 100  # about 50 chunks
    assert resolved_chunk_size(None, 100_000) == 250
    assert resolved_chunk_size(7, 100) == 7  # as given


def test_streaming_the_chunks_as_they_finish_writes_the_same_bytes(tmp_path: Path) -> None:
    """Chunks finishing out of order are appended in order: the files do not depend on it."""
    results = [(i, i, run_replicate(ModelParams(), 6, i)) for i in range(6)]
    paths = {}
    for how in ("at_once", "streamed"):
        store = run_store(tmp_path / how, "key")
        for c in range(3):
            store.write(c, [2 * c, 2 * c + 1], tables_from_replicates(results[2 * c : 2 * c + 2]))
        if how == "at_once":
            store.assemble(range(3))
        else:
            assembly, done = store.assembly(range(3)), set()
            for c in (2, 0, 1):  # the order the chunks finished in
                done.add(c)
                assembly.add_ready(done)
                assert assembly.appended == {2: 0, 0: 1, 1: 3}[c]
            assembly.finish()
        paths[how] = tmp_path / how
    for table in ("summary", "timeseries", "events"):
        a = (paths["at_once"] / f"{table}.parquet").read_bytes()
        assert a == (paths["streamed"] / f"{table}.parquet").read_bytes()
    assert pq.read_table(paths["streamed"] / "summary.parquet")["replicate"].to_pylist() == [
        *range(6)
    ]


def row_groups(path: Path) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_consecutive_chunks_are_gathered_into_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks make few, large row groups (counted in rows, for every table), in order."""
    results = [(i, i, run_replicate(ModelParams(), 3, i)) for i in range(6)]
    found, default = {}, sim.results.ROW_GROUP_ROWS
    for limit in (10, default):
        monkeypatch.setattr(sim.results, "ROW_GROUP_ROWS", limit)
        store = run_store(tmp_path / str(limit), "key")
        for c in range(3):  # two replicates a chunk: 2 summary rows, 6 weekly rows
            store.write(c, [2 * c, 2 * c + 1], tables_from_replicates(results[2 * c : 2 * c + 2]))
        store.assemble(range(3))
        run = tmp_path / str(limit)
        found[limit] = [row_groups(run / f"{t}.parquet") for t in ("summary", "timeseries")]
        assert pq.read_table(run / "summary.parquet")["replicate"].to_pylist() == [*range(6)]
        weeks = pq.read_table(run / "timeseries.parquet")
        assert weeks["replicate"].to_pylist() == [r for r in range(6) for _ in range(3)]
    assert found == {10: [[6], [12, 6]], default: [[6], [18]]}


def test_a_failed_final_write_leaves_no_final_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last table's last row group fails (a full disk): the tables finished before it
    are not moved into place either."""
    store = run_store(tmp_path, "key")
    for c in range(2):
        store.write(c, [c], tables_from_replicates([(c, c, run_replicate(ModelParams(), 3, c))]))
    real = sim.results.Assembly._write_pending

    def full_disk(self: sim.results.Assembly, name: str) -> None:
        if name == store.tables[-1]:
            raise OSError(28, "No space left on device")
        real(self, name)

    monkeypatch.setattr(sim.results.Assembly, "_write_pending", full_disk)
    with pytest.raises(OSError):
        store.assemble(range(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks"]


def test_an_aborted_assembly_leaves_no_file(tmp_path: Path) -> None:
    store = run_store(tmp_path, "key")
    store.write(0, [0], tables_from_replicates([(0, 0, run_replicate(ModelParams(), 4, 0))]))
    assembly = store.assembly(range(2))
    assembly.add_ready({0})
    assembly.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks"]


def test_a_fraction_in_an_integer_column_is_refused() -> None:
    """A stranger (helper-140): a new float summary column left out of _SUMMARY_TYPES was
    stored as int64 zeros (0.413 -> 0) without a word, and the golden file refreshed from
    the in-memory summary then hid it. Whole numbers held as floats still store."""
    schema = pa.schema([("count", pa.int64()), ("share", pa.float64())])
    table = arrow_table({"count": np.array([3.0, 4.0]), "share": np.array([0.4, 0.5])}, schema)
    assert table.column("count").to_pylist() == [3, 4]
    with pytest.raises(TypeError, match=r"column count holds 0\.413, not a whole number"):
        arrow_table({"count": np.array([3.0, 0.413]), "share": np.array([0.4, 0.5])}, schema)


def _column_cases() -> list[pa.Table]:
    ints = pa.chunked_array(
        [pa.array([1, 2, 3, 4], pa.int64()).slice(1), pa.array([7], pa.int64())]
    )
    bools = pa.chunked_array(
        [pa.array([True, False, True, True, False, True, False, True, True], pa.bool_()).slice(3),
         pa.array([], pa.bool_()), pa.array([False, True], pa.bool_())]
    )  # fmt: skip
    return [
        pa.table({"x": pa.chunked_array([ints.combine_chunks()])}),
        pa.table({"x": ints}),
        pa.table({"x": bools}),
        pa.table({"x": pa.chunked_array([pa.array([2**63 + 5, 1], pa.uint64())])}),
        pa.table({"x": pa.chunked_array([pa.array([1, -2], pa.int32())])}),
        pa.table({"x": pa.chunked_array([pa.array([0.5, float("nan")], pa.float64())])}),
        pa.table({"x": pa.chunked_array([], pa.float64())}),
        pa.table({"x": pa.chunked_array([pa.array([1, None, 3], pa.int64())])}),  # nulls
    ]


@pytest.mark.parametrize("case", range(8))
def test_numpy_column_reads_the_buffers_as_arrow_converts_them(case: int) -> None:
    """Sliced chunks, booleans at bit offsets, empty columns, every numeric type the tables
    use, and nulls (through Arrow's own conversion) give what ``to_numpy`` gives."""
    from sim.results import numpy_column

    table = _column_cases()[case]
    got, want = numpy_column(table, "x"), table.column("x").to_numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_a_runs_main_process_does_not_import_pandas(tmp_path: Path) -> None:
    """Its workers need the cores the ~0.35 s import would take (the summary is read from
    Arrow's buffers, the chunks without pyarrow's pandas-importing readers)."""
    code = (
        "import sys\n"
        "from sim.cli import main\n"
        f"code = main(['run', 'replicates=3', 'weeks=4', 'jobs=2', 'plots=false', "
        f"'hydra.run.dir={tmp_path / 'run'}'])\n"
        "print(code, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 False"
    assert "median" in out.stdout  # the summary was printed
