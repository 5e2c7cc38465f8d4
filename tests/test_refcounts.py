"""Plain reference counts (:mod:`sim.refcounts`): the same results, every array freed, and
only where no compiled code runs without the GIL."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import Any

import pytest

from sim import refcounts

#: Runs replicates in a fresh process and prints what the runtime counted and freed.
_REPLICATES = """
import gc, hashlib, json, pickle
from numba.core.runtime import rtsys
from sim.engine import warm, run_replicate
from sim.model import CrisisModel
from sim.params import ModelParams
from sim.refcounts import counts_plainly
from sim.world import compiled_params

warm()
params = ModelParams()
compiled = compiled_params(params)
gc.collect()
before = rtsys.get_allocation_stats()
digest = hashlib.sha256()
for seed in range(8):
    digest.update(pickle.dumps(run_replicate(params, 30, seed, compiled)))
    digest.update(pickle.dumps(CrisisModel(params, weeks=6, seed=seed).run()))
gc.collect()
after = rtsys.get_allocation_stats()
print(json.dumps({
    "plain": counts_plainly(),
    "digest": digest.hexdigest(),
    "allocated": after.mi_alloc - before.mi_alloc,
    "freed": after.mi_free - before.mi_free,
}))
"""


def _env(plain: str | None, **extra: str) -> dict[str, str]:
    """This process's environment with :data:`refcounts.ENV` set to ``plain`` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != refcounts.ENV}
    return {**env, **extra} if plain is None else {**env, refcounts.ENV: plain, **extra}


def _run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """Python with ``args`` in a fresh interpreter (its own Numba runtime): its last line of
    output, as JSON."""
    out = subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _replicates(plain: str) -> dict[str, Any]:
    """Numba's runtime's own counts (``CPEC_AOT=0``: the engine compiled ahead of time has a
    runtime of its own, whose arrays ``tests/test_aot.py`` checks)."""
    return _run(["-c", _REPLICATES], _env(plain, NUMBA_NRT_STATS="1", CPEC_AOT="0"))


def test_plain_counts_give_the_same_results_and_free_every_array() -> None:
    atomic, plain = _replicates("0"), _replicates("1")
    assert (atomic["plain"], plain["plain"]) == (False, True)
    assert plain["digest"] == atomic["digest"]
    assert plain["allocated"] > 1000  # the engine and the Mesa model made arrays ...
    assert plain["freed"] == plain["allocated"]  # ... and freed each (a count off by one leaks)
    assert (atomic["allocated"], atomic["freed"]) == (plain["allocated"], plain["freed"])


def _dispatchers() -> list[tuple[str, Any]]:
    """Every Numba function of the package's modules that run compiled code."""
    import importlib

    from numba.core.registry import CPUDispatcher

    from sim.jit import load_numba

    for name in ("sim.engine", "sim.model", "sim.draws", "sim.compiled"):
        importlib.import_module(name)
    load_numba()  # the rules' dispatchers in place of their declarations
    found = []
    for module_name, module in list(sys.modules.items()):
        if module_name == "sim" or module_name.startswith("sim."):
            for attr, value in vars(module).items():
                if isinstance(value, CPUDispatcher):
                    found.append((f"{module_name}.{attr}", value))
    return found


def test_no_compiled_rule_runs_without_the_gil() -> None:
    """Plain counts are safe only while compiled code holds the GIL."""
    found = _dispatchers()
    assert len(found) > 50  # the rules were found
    free = [
        name for name, d in found if d.targetoptions.get("nogil") or d.targetoptions.get("parallel")
    ]
    assert free == []


@pytest.mark.parametrize("option", ["nogil", "parallel"])
def test_the_gil_check_sees_a_rule_that_releases_it(option: str) -> None:
    from numba import njit

    released = njit(**{option: True})(lambda x: x)
    assert released.targetoptions.get(option)


def test_the_command_line_asks_for_plain_counts_and_main_alone_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The console script's process counts plainly; a notebook calling ``sim.cli.main`` keeps
    its own counts (a reviewer: ``main`` had set the variable for the rest of the process)."""
    from sim import cli, console

    monkeypatch.delenv(refcounts.ENV, raising=False)
    assert cli.main(["--version"]) == 0
    assert refcounts.ENV not in os.environ
    monkeypatch.setattr(sys, "argv", ["cpec-sim", "--version"])
    with pytest.raises(SystemExit) as exit_:
        console.entry()
    assert (exit_.value.code, os.environ[refcounts.ENV]) == (0, "1")
    monkeypatch.setenv(refcounts.ENV, "0")  # a user's choice stands
    with pytest.raises(SystemExit):
        console.entry()
    assert os.environ[refcounts.ENV] == "0"


#: Code constructs that run compiled code without the GIL, or in several threads at once.
_WITHOUT_THE_GIL = re.compile(
    r"nogil\s*=\s*True|parallel\s*=\s*True|\bprange\b|\bvectorize\b|\bguvectorize\b"
    r"|\bobjmode\b|\bcfunc\b"
)


def _code_without_strings_and_comments(path: Path) -> str:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return " ".join(t.string for t in tokens if t.type not in (tokenize.STRING, tokenize.COMMENT))


def test_no_code_of_the_package_releases_the_gil(tmp_path: Path) -> None:
    """Every module's code, not only the rules that are imported: a rule with ``nogil``, a
    ``parallel`` loop or a ``vectorize``d function (NumPy runs those loops without the GIL)
    would make plain counts unsafe."""
    package = Path(refcounts.__file__).parent
    found = [
        f"{path.relative_to(package.parent)}: {match.group(0)}"
        for path in sorted(package.rglob("*.py"))
        for match in _WITHOUT_THE_GIL.finditer(_code_without_strings_and_comments(path))
    ]
    assert found == []
    sample = tmp_path / "rule.py"
    sample.write_text("from numba import njit\n@njit(nogil=True)\ndef f(x):\n    return x\n")
    assert _WITHOUT_THE_GIL.search(_code_without_strings_and_comments(sample))  # seen


#: A cached compiled function, and a runtime whose every increment and decrement adds one to
#: a counter at a fixed address (so copies of the counting functions count too).
_CACHED = """
import numpy as np
from numba import njit


@njit(cache=True)
def work(n):
    total = 0.0
    kept = [np.empty(0)]
    for i in range(n):
        a = np.empty(2)
        a[:] = i
        kept.append(a)
        total += kept[-1][0]
    return total
"""
_COUNTED = """
import ctypes, json, sys
from llvmlite import ir
from numba.core.runtime import nrtdynmod

counters = (ctypes.c_int64 * 2)()
word = nrtdynmod._word_type


def counting(module, op, ordering):
    fn = ir.Function(module, ir.FunctionType(word, [word.as_pointer()]), name=f"nrt_atomic_{op}")
    [ptr] = fn.args
    b = ir.IRBuilder(fn.append_basic_block())
    at = ctypes.addressof(counters) + (0 if op == "add" else 8)
    slot = ir.Constant(word, at).inttoptr(word.as_pointer())
    b.store(b.add(b.load(slot), ir.Constant(word, 1)), slot)
    new = getattr(b, op)(b.load(ptr), ir.Constant(word, 1))
    b.store(new, ptr)
    b.ret(new)
    return fn


if sys.argv[1] == "counting":
    nrtdynmod._define_atomic_inc_dec = counting
else:
    from sim.refcounts import count_plainly
    count_plainly()
from cached import work
before = list(counters)
work(1000)
print(json.dumps({"counted": [c - b for c, b in zip(counters, before)],
                  "cache_hits": sum(work.stats.cache_hits.values())}))
"""


def _counted(mode: str, folder: Path, cache: Path) -> dict[str, Any]:
    path = f"{folder}{os.pathsep}" + os.environ.get("PYTHONPATH", "")
    return _run(
        ["-c", _COUNTED, mode], _env(None, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=path), folder
    )


def test_cached_code_counts_the_way_the_loading_process_does(tmp_path: Path) -> None:
    """The counting is not compiled into the cache: code compiled by a plain process calls the
    counting functions of whichever process loads it (the cache is shared by notebooks and the
    command line). A reviewer read the linked copies of Numba's counting functions in every
    cached object as counting compiled in; this shows the copies are never called."""
    (tmp_path / "cached.py").write_text(_CACHED)
    alone = _counted("counting", tmp_path, tmp_path / "cache-counting")  # compiled here
    _counted("plain", tmp_path, tmp_path / "cache-plain")  # compiled by a plain process ...
    loaded = _counted(
        "counting", tmp_path, tmp_path / "cache-plain"
    )  # ... loaded by a counting one
    assert (alone["cache_hits"], loaded["cache_hits"]) == (0, 1)
    assert loaded["counted"] == alone["counted"]
    assert alone["counted"][1] >= 1000  # an array freed a loop: a decrement each, at least


def _worker_counts() -> tuple[bool, str | None]:
    from sim.engine import warm
    from sim.jit import load_numba

    warm()  # through the module compiled ahead of time, if built: no Numba yet
    load_numba()  # the rules from Numba's cache, as a keyed stream or a Mesa model would
    return refcounts.counts_plainly(), os.environ.get(refcounts.ENV)


def test_a_notebooks_workers_count_plainly_and_its_own_process_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run from a notebook: its workers (which run only cpec-sim's rules) count plainly;
    the notebook's own environment is left as it was."""
    from concurrent.futures import ProcessPoolExecutor

    from sim.workers import run_preload, worker_context, worker_init

    monkeypatch.delenv(refcounts.ENV, raising=False)
    ctx = worker_context(run_preload("compiled"))
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=worker_init) as pool:
        assert pool.submit(_worker_counts).result() == (True, "1")
    assert refcounts.ENV not in os.environ


def test_plain_counts_are_reported_before_the_runtime_is_built() -> None:
    """A benchmark prints how it counts before its first compiled call."""
    seen = _run(
        [
            "-c",
            "import json\n"
            "from numba.core.runtime import rtsys\n"
            "from sim.refcounts import count_plainly, counts_plainly\n"
            "asked = count_plainly()\n"
            "print(json.dumps([asked, counts_plainly(), rtsys._init]))",
        ],
        _env(None),
    )
    assert seen == [True, True, False]


def test_the_calibration_counts_plainly_though_scoringrules_builds_the_runtime() -> None:
    """Importing scoringrules compiles its functions, which builds Numba's runtime: the
    calibration imports it after sim.numba_cache has chosen the counts."""
    seen = _run(
        [
            "-c",
            "import json\n"
            "from numba.core.runtime import rtsys\n"
            "from sim.calibration.scoring import crps_ensemble\n"
            "crps_ensemble([1.0, 2.0, 3.0], 2.0)\n"
            "from sim.refcounts import counts_plainly\n"
            "print(json.dumps([rtsys._init, counts_plainly()]))",
        ],
        _env("1"),
    )
    assert seen == [True, True]


_NOTEBOOK_POOL = """
import json, multiprocessing as mp, os, sys
from concurrent.futures import ProcessPoolExecutor

import numba  # as a script or notebook that imported Numba and the engine first
import sim.engine

from sim.refcounts import ENV, counts_plainly
from sim.workers import run_preload, worker_context, worker_init


def counts():
    from sim.engine import warm
    from sim.jit import load_numba

    warm()
    load_numba()  # the rules from Numba's cache, as a keyed stream or a Mesa model would
    return [counts_plainly(), os.environ.get(ENV)]


if __name__ == "__main__":
    spawn = sys.argv[1] == "spawn"
    ctx = mp.get_context("spawn") if spawn else worker_context(run_preload("compiled"))
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=worker_init) as pool:
        worker = pool.submit(counts).result()
    print(json.dumps({"worker": worker, "own": os.environ.get(ENV)}))
"""


@pytest.mark.parametrize(
    ("start", "chosen", "expected"),
    [
        ("forkserver", "0", {"worker": [False, "0"], "own": "0"}),  # the user's choice stands
        ("spawn", None, {"worker": [True, "1"], "own": None}),  # the script imported Numba first
    ],
)
def test_a_scripts_workers_count_as_chosen(
    start: str, chosen: str | None, expected: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "script.py").write_text(_NOTEBOOK_POOL)
    assert _run(["script.py", start], _env(chosen), tmp_path) == expected
