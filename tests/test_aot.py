"""The engine's entry points compiled ahead of time (``sim.aot``): the same results as the
rules from Numba's cache, used only where they may be."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from sim import aot

ROOT = Path(__file__).resolve().parents[1]

#: Every output of two seeds of every scenario as one hash; and where each entry point the
#: engine and week 0 called came from.
REPLICATES = """
import hashlib, json, sys
from sim import engine, week, world
from sim.config import scenario_names, scenario_params
h = hashlib.sha256()
for name in scenario_names():
    for seed in (0, 1):
        r = engine.run_replicate(scenario_params(name), 104, seed)
        for key, value in sorted(vars(r).items()):
            h.update(key.encode())
            h.update(value.tobytes() if hasattr(value, "tobytes") else repr(value).encode())
calls = {"run_weeks": engine._CALLS, "week": {"w": week._CALLS}, "world": {"w": world._CALLS}}
origin = {
    f"{fn.__name__}/{kind}": getattr(entry, "__module__", None)
    for group in calls.values() for kind, c in group.items() for fn, entry in c._entries.items()
}
print(json.dumps({"hash": h.hexdigest(), "origin": origin, "numba": "numba" in sys.modules}))
"""


def _printed(script: str, cwd: Path = ROOT, **env: str) -> Any:
    """The JSON that ``script`` prints last, run in ``cwd`` by a fresh interpreter of this
    checkout that counts references plainly, as the command line's processes do."""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CPEC_PLAIN_REFCOUNTS": "1", **env},
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_engine_compiled_ahead_of_time_gives_the_cached_rules_results() -> None:
    """``make``'s set-up built the module; a command-line process uses it for the four entry
    points of a replicate with single streams, without importing Numba, and every output of
    every scenario is the same bit for bit as with the rules from Numba's cache
    (``CPEC_AOT=0``). Keyed streams, whose type it was not built for, run from the cache
    (their engine is compiled by the first keyed run, ~45 s: the keys are compared here
    instead)."""
    if not aot.module_file(aot.folder()).exists():  # a checkout without make's set-up
        subprocess.run([sys.executable, "-m", "sim.aot"], cwd=ROOT, check=True)
    ahead = _printed(REPLICATES)
    cached = _printed(REPLICATES, CPEC_AOT="0")
    assert ahead["hash"] == cached["hash"]
    built = {name: origin for name, origin in ahead["origin"].items() if origin == aot.MODULE}
    assert sorted(built) == [
        "burn_in/w",
        "first_week_state/w",
        "ladder_step/w",
        "run_weeks/single",
    ]
    assert not ahead["numba"]
    assert aot.MODULE not in cached["origin"].values()
    assert cached["numba"]
    from sim.draws import stream_for

    keys = pickle.loads((aot.folder() / aot.KEYS).read_bytes())
    rng = np.random.default_rng(0)
    assert keys["run_weeks"][0] == aot.arguments_key((stream_for(rng, 0, "single"),))[0]
    assert keys["run_weeks"][0] != aot.arguments_key((stream_for(rng, 0, "keyed"),))[0]


def _argument_variants() -> list[Any]:
    """Arguments of every kind :func:`sim.aot.arguments_key` reads, in the variants that give
    Numba other types, and some it does not read."""
    from collections import namedtuple

    pair = namedtuple("pair", "a b")
    other = namedtuple("other", "a b")
    grid = np.zeros((3, 4))
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    unaligned = np.frombuffer(bytes(25), dtype=np.float64, offset=1, count=3)
    arrays = [
        np.zeros(3),
        np.zeros(3, dtype=np.float32),
        np.zeros(3, dtype=np.int64),
        np.zeros(3, dtype=np.uint64),
        np.zeros(3, dtype=np.bool_),
        grid,
        grid.T,
        grid[:, ::2],
        np.zeros((3, 1)),
        np.zeros(()),
        frozen,
        unaligned,
        np.zeros(4)[::2],
    ]
    scalars = [1.0, 1, 2**62, True, False, np.random.default_rng(0)]
    tuples = [
        pair(1.0, 2),
        pair(1.0, 2.0),
        pair(np.zeros(2), 1),
        other(1.0, 2),
        (1.0, 2),
        (1.0, (2, 3.0)),
        (grid, grid.T),
    ]
    unread = [np.float64(1.0), np.int64(1), 2**64 - 1, "text", None, np.zeros(2, "f8,i8")]
    return arrays + scalars + tuples + unread


def test_equal_argument_keys_mean_equal_numba_types() -> None:
    """The module is used where the arguments' keys match those it was built for: a key must
    never be coarser than Numba's type (else code compiled for, say, a C-ordered array would
    read another layout). Every pair of variants with equal keys has equal types (the
    variants Numba tells apart get other keys); a key may be finer (alignment, which Numba's
    type leaves out)."""
    from numba import typeof

    variants = _argument_variants()
    keyed = [(v, aot.arguments_key((v,))) for v in variants]
    read = [(v, k) for v, k in keyed if k is not None]
    assert len(read) == len(variants) - 6  # the unread ones give no key
    apart = 0
    for i, (a, key_a) in enumerate(read):
        for b, key_b in read[i + 1 :]:
            if key_a == key_b:
                assert typeof(a) == typeof(b), (a, b)
            else:
                apart += typeof(a) != typeof(b)
    assert apart > 300  # the variants differ in what Numba types (of 300 pairs or more)


class _Module:
    def run_weeks(self) -> str:
        return "compiled ahead of time"


class _Dispatcher:
    def __init__(self, name: str) -> None:
        self.py_func = SimpleNamespace(__name__=name)


def test_an_entry_point_is_used_only_for_the_types_it_was_built_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = _Module()
    built = {"run_weeks": aot.arguments_key((1, 2.0))}
    monkeypatch.setitem(aot._LOADED, "module", (module, built))
    run_weeks = _Dispatcher("run_weeks")
    assert aot.entry(run_weeks, (3, 4.5)) == module.run_weeks
    assert aot.entry(run_weeks, (3, 4)) is None  # other types: Numba's cache
    assert aot.entry(run_weeks, (3, np.float64(4.5))) is None  # a key not read: Numba's
    assert aot.entry(_Dispatcher("burn_in"), (3, 4.5)) is None  # not built


def test_no_module_in_a_process_with_atomic_counts_or_when_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The module counts references plainly: a notebook's own process (atomic counts) and
    ``CPEC_AOT=0`` run the rules from Numba's cache."""
    from sim import refcounts

    monkeypatch.setattr(refcounts, "will_count_plainly", lambda: False)
    assert aot._load() is None
    monkeypatch.setattr(refcounts, "will_count_plainly", lambda: True)
    monkeypatch.setenv(aot.ENV, "0")
    assert aot._load() is None
    monkeypatch.delenv(aot.ENV)
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # read from the environment
    assert aot._load() is None


def test_numba_s_switch_is_read_as_numba_reads_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``NUMBA_DISABLE_JIT`` is an integer to Numba (anything else is 0): the module is left
    out exactly when Numba would run the rules as Python. A settings file in the working
    directory is read by Numba itself (tested in a fresh process: the rules run as Python,
    as they did before the module)."""
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # the environment is read
    for value, disabled in (("1", True), ("2", True), ("0", False), ("00", False)):
        monkeypatch.setenv("NUMBA_DISABLE_JIT", value)
        assert aot._jit_disabled() is disabled, value
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "false")  # Numba warns and takes 0
    assert aot._jit_disabled() is False
    monkeypatch.delenv("NUMBA_DISABLE_JIT")
    monkeypatch.undo()
    (tmp_path / aot.NUMBA_CONFIG_FILE).write_text("disable_jit: 1\n")
    script = (
        "import json, sys\n"
        "from sim.engine import _CALLS, run_replicate\n"
        "from sim.params import ModelParams\n"
        "run_replicate(ModelParams(), weeks=2)\n"
        "kinds = [type(e).__name__ for e in _CALLS['single']._entries.values()]\n"
        "print(json.dumps(kinds))\n"
    )
    assert _printed(script, cwd=tmp_path) == ["function"]  # plain Python


def test_the_module_s_folder_changes_with_the_rules_and_with_its_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A module built for other rule sources (or by another version of ``sim.aot``) is never
    loaded: its folder is named by both."""
    from sim import fingerprint

    here = aot.folder()
    monkeypatch.setattr(fingerprint, "rules_fingerprint", lambda: "other-rules")
    assert aot.folder() != here
    assert aot.folder().parent.name == "other-rules"
    monkeypatch.undo()
    copy = tmp_path / "aot.py"
    copy.write_bytes(Path(aot.__file__).read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(aot, "__file__", str(copy))
    assert aot.folder() != here


def test_the_module_lives_beside_numba_s_cache_where_a_user_chose_its_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``NUMBA_CACHE_DIR`` puts Numba's cache where the user chose (a cluster's scratch, a
    home that is read-only): the module is built there too, not in ``~/.cache``."""
    from sim import fingerprint

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert aot.folder().is_relative_to(tmp_path / "numba")
    assert aot.folder().parent.name == fingerprint.rules_fingerprint()
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setenv("CPEC_NUMBA_CACHE", str(tmp_path / "ours"))
    assert aot.folder().is_relative_to(tmp_path / "ours")


def test_the_parameter_classes_are_part_of_the_compiled_rules_key() -> None:
    """Compiled code reads the parameter tuples' fields by position: a field added to or moved
    in ``sim/params.py`` alone must compile afresh (Numba's cache and this module), or cached
    code reads another parameter (a reviewer's reordered ``ChinaParams`` gave other results)."""
    from sim import fingerprint, params

    assert Path(params.__file__).resolve() in fingerprint.RULE_SOURCES


def test_a_folder_without_its_module_or_signatures_is_not_taken_as_built(tmp_path: Path) -> None:
    where = tmp_path / "engine-x"
    where.mkdir()
    (where / aot.SIGNATURES).write_bytes(b"junk")
    (where / aot.KEYS).write_bytes(pickle.dumps({"run_weeks": ()}))
    assert not aot._complete(where)
    (where / aot.SIGNATURES).write_bytes(pickle.dumps({"run_weeks": ()}))
    (where / aot.KEYS).unlink()
    assert not aot._complete(where)  # no keys
    (where / aot.KEYS).write_bytes(pickle.dumps({"run_weeks": ()}))
    assert not aot._complete(where)  # no module
    aot.module_file(where).write_bytes(b"")
    assert aot._complete(where)


def test_a_failed_build_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_compiler() -> Path:
        raise RuntimeError("error: command 'cc' failed\nsecond line\nthird line")

    monkeypatch.setattr(aot, "build", no_compiler)
    assert aot.main() == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "command 'cc' failed" in err and "Numba's cache" in err


#: Memory kept across 2,000 replicates through the module, and across 2,000 arrays of 512
#: bytes kept on purpose (the measure's own check).
GROWTH = """
import json, os
import numpy as np
from sim.engine import _CALLS, run_replicate
from sim.params import ModelParams
from sim.world import compiled_params

def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

p = ModelParams()
c = compiled_params(p)
for seed in range(300):
    run_replicate(p, 104, seed, c)
a = rss()
for seed in range(300, 2300):
    run_replicate(p, 104, seed, c)
b = rss()
kept = [np.ones(64) for _ in range(2000)]
d = rss()
origin = [getattr(e, "__module__", None) for e in _CALLS["single"]._entries.values()]
print(json.dumps({"replicates": b - a, "kept": d - b, "origin": origin}))
"""


def test_the_module_frees_what_its_replicates_allocate() -> None:
    """The module has Numba's runtime compiled in, counting plainly: 2,000 replicates keep less
    than 256 bytes each (a leaked array a week would keep ~100 kB a replicate), where keeping
    2,000 arrays of 512 bytes on purpose shows in the same measure."""
    grown = _printed(GROWTH)
    assert grown["origin"] == [aot.MODULE]
    assert grown["replicates"] < 2000 * 256
    assert grown["kept"] > 2000 * 256


#: In a process whose replicate ran through the module (so no overload of Numba's is in
#: memory) and whose first burn-in had other argument types: the types the build records, whether
#: ``Calls`` is itself again after it, and what it would export (the C compiler skipped).
BUILD_AFTER_REPLICATES = """
import json, tempfile
from pathlib import Path
import numpy as np
import numba.pycc
from sim import aot, cells
from sim.compiled import Calls
from sim.engine import _CALLS, run_replicate
from sim.params import ModelParams

run_replicate(ModelParams(), 4, 0)
origin = [getattr(e, "__module__", None) for e in _CALLS["single"]._entries.values()]
sizes, counts, meta = cells.new_pool_arrays(1)
zeros = np.zeros((1, 3), dtype=np.int64)
Calls()(cells.burn_in, np.random.default_rng(0), zeros, sizes, counts, meta, 2, 0)
original = Calls.__call__
calls = aot._replicate_calls()
restored = Calls.__call__ is original
numba.pycc.CC.compile = lambda self: None
signatures = {fn: signature for fn, (signature, _) in calls.items()}
exported = aot._compile(signatures, Path(tempfile.mkdtemp()))
print(json.dumps({
    "origin": origin,
    "restored": restored,
    "burn_in": [str(t) for t in signatures[cells.burn_in]][-2:],
    "exported": sorted(exported),
}))
"""


def test_the_build_reads_its_own_replicate_s_types_in_a_process_that_ran_others() -> None:
    """The build records the types of its own replicate's calls, not those a process's
    ``Calls`` met first (here a burn-in given integers), puts ``Calls`` back, and finds each
    export's return type even where the replicates ran through the module."""
    built = _printed(BUILD_AFTER_REPLICATES)
    assert built["origin"] == [aot.MODULE]
    assert built["restored"]
    assert built["burn_in"] == ["float64", "float64"]
    assert built["exported"] == sorted(name.split(":")[1] for name in aot.ENTRY_POINTS)


def test_the_recording_is_undone_when_the_replicate_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from sim import engine
    from sim.compiled import Calls

    def fails(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    original = Calls.__call__
    monkeypatch.setattr(engine, "run_replicate", fails)
    with pytest.raises(KeyboardInterrupt):
        aot._replicate_calls()
    assert Calls.__call__ is original
