"""Numba's cache: every rule in the folder named by the rules' hash, and saves one at a time."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from numba.core.caching import IndexDataCacheFile

from sim import fingerprint, numba_cache

#: Run in a fresh process: imports the draws first (as a model's first compiled call may),
#: then every rule module, and prints each compiled function's cache folder.
_CACHE_FOLDERS = """
import importlib, json, sys
from pathlib import Path
import sim.draws
import sim.jit
sim.jit.load_numba()
import numba
from numba.core.dispatcher import Dispatcher
from sim import fingerprint
package = Path(sim.draws.__file__).resolve().parent
folders = {}
for source in fingerprint.RULE_SOURCES:
    name = ".".join(("sim", *source.resolve().relative_to(package).with_suffix("").parts))
    module = importlib.import_module(name)
    for attr, fn in vars(module).items():
        if isinstance(fn, Dispatcher) and fn.__module__ == name:
            folders[name + "." + attr] = fn._cache._cache_path
json.dump({"folder": numba.config.CACHE_DIR, "rules": folders}, sys.stdout)
"""


def test_every_rule_caches_in_the_folder_named_by_the_rules_hash(tmp_path: Path) -> None:
    """The draws were decorated before the folder was set and cached in sim/__pycache__, where
    a changed rule elsewhere would not have renamed their folder."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["CPEC_NUMBA_CACHE"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", _CACHE_FOLDERS], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    folder = Path(found["folder"])
    assert folder == tmp_path / fingerprint.rules_fingerprint()
    paths = {name: Path(path) for name, path in found["rules"].items()}
    assert any(name.startswith("sim.draws.") for name in paths) and len(paths) > 50
    outside = [name for name, path in paths.items() if not path.is_relative_to(folder)]
    assert not outside


class _Meeting(IndexDataCacheFile):
    """A cache file whose save waits, after reading the index, for the other process to have
    read it too (at most ``wait`` seconds: under the lock the other cannot read it until this
    one has saved): the race of two first compilations, made certain."""

    barrier: Any = None
    wait = 1.0

    def _load_index(self) -> dict:
        overloads = super()._load_index()
        if self.barrier is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.barrier.wait(timeout=self.wait)
        return overloads


class _Unlocked(_Meeting):
    """The same, saving as Numba does without the lock (both reach the meeting, however late
    the second process starts)."""

    wait = 60.0

    save = getattr(IndexDataCacheFile.save, "unlocked", IndexDataCacheFile.save)


def _save_one(kind: type[_Meeting], folder: str, key: str, barrier: Any) -> None:
    kind.barrier = barrier
    kind(folder, "rule", ("stamp", 1)).save(key, f"code for {key}")


def _two_processes_save(folder: Path, kind: type[_Meeting]) -> dict[str, Any]:
    """Two processes save different keys of one function at once; what each key loads."""
    folder.mkdir()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=_save_one, args=(kind, str(folder), key, barrier))
        for key in ("a", "b")
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert all(w.exitcode == 0 for w in workers)
    reader = IndexDataCacheFile(str(folder), "rule", ("stamp", 1))
    return {key: reader.load(key) for key in ("a", "b")}


@pytest.mark.skipif(os.name != "posix", reason="flock is POSIX's")
def test_two_processes_saving_one_functions_signatures_keep_each_its_own_code(
    tmp_path: Path,
) -> None:
    """Numba saves a signature by reading the index, taking the first free file name and
    writing both back: two first compilations at once took the same name, and one signature
    then loaded the other's code. Held by the folder's lock, each keeps its own."""
    expected = {"a": "code for a", "b": "code for b"}
    assert _two_processes_save(tmp_path / "locked", _Meeting) == expected
    assert _two_processes_save(tmp_path / "unlocked", _Unlocked) != expected  # it can fail


def test_a_lock_that_cannot_be_taken_leaves_numba_saving_as_before(tmp_path: Path) -> None:
    """A reviewer: another user's lock file turned a cache Numba could write into a failed
    run. Where the lock cannot be taken (here its name is a folder) the save goes ahead."""
    (tmp_path / numba_cache.LOCK_NAME).mkdir()
    cache = IndexDataCacheFile(str(tmp_path), "rule", ("stamp", 1))
    cache.save("a", "code for a")
    assert IndexDataCacheFile(str(tmp_path), "rule", ("stamp", 1)).load("a") == "code for a"
