"""The compiled engine and the Mesa model give identical results for the same seed.

Both call the same compiled rules on the same arrays and draw from one NumPy generator, so
equality is exact: every summary value, every weekly metric, every event row. A model whose
step deviates in one place (a perturbed rule) must be caught by the same comparison.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from sim.compiled import Calls, shuffled
from sim.config import STREAMS, scenario_names, scenario_params
from sim.engine import run_replicate, simulate
from sim.model import CrisisModel
from sim.record import ReplicateResult
from sim.runner import replicate_seed

WEEKS = 60


def differences(a: ReplicateResult, b: ReplicateResult) -> list[str]:
    """What differs between two replicates' outputs (empty when identical)."""
    out = [f"summary {k}" for k in a.summary if not _same(a.summary[k], b.summary[k])]
    out += [
        f"weekly {k}"
        for k in a.weekly
        if not np.array_equal(a.weekly[k], b.weekly[k], equal_nan=True)
    ]
    out += [f"events {k}" for k in a.events if list(a.events[k]) != list(b.events[k])]
    return out


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and np.isnan(x):
        return isinstance(y, float) and bool(np.isnan(y))
    return bool(x == y)


@pytest.mark.parametrize("streams", STREAMS)
@pytest.mark.parametrize("scenario", scenario_names())
def test_engine_equals_the_mesa_model_in_every_scenario(scenario: str, streams: str) -> None:
    params = scenario_params(scenario)
    for i in range(2):
        seed = replicate_seed(0, i)
        mesa = CrisisModel(params, weeks=WEEKS, seed=seed, streams=streams).run()
        engine = run_replicate(params, WEEKS, seed, streams=streams)
        assert differences(mesa, engine) == [], (scenario, i)
        assert mesa.summary["attacks_total"] > 0  # not a vacuous equality


def test_simulate_names_both_backends_and_rejects_others() -> None:
    params = scenario_params("baseline")
    a, b = simulate(params, 8, 3, "compiled"), simulate(params, 8, 3, "mesa")
    assert differences(a, b) == []
    with pytest.raises(ValueError, match="choose one of compiled, mesa"):
        simulate(params, 8, 3, "fortran")


class _FixedOrderCalls(Calls):
    """A deliberately perturbed rule in the Mesa path only: groups act in table order."""

    def __call__(self, fn: Any, *args: Any) -> Any:
        if fn is shuffled:
            return np.arange(args[1])
        return super().__call__(fn, *args)


def test_the_comparison_catches_a_rule_perturbed_in_one_path() -> None:
    params = scenario_params("baseline")
    seed = replicate_seed(0, 0)
    model = CrisisModel(params, weeks=WEEKS, seed=seed)
    model.call = _FixedOrderCalls()
    perturbed = model.run()
    found = differences(perturbed, run_replicate(params, WEEKS, seed))
    assert "events group" in found and any(f.startswith("summary") for f in found)


def test_different_seeds_differ_and_the_same_seed_repeats() -> None:
    params = scenario_params("baseline")
    a, b, c = (run_replicate(params, WEEKS, s) for s in (5, 5, 6))
    assert differences(a, b) == []
    assert differences(a, c) != []


#: A decorator that compiles a function: sim.compiled's rule and inlined_rule, Numba's own.
_COMPILING = re.compile(r"^\s*@(?:\w+\.)?(?:rule|inlined_rule|njit|jit|vectorize)\b", re.MULTILINE)


def compiles(source: str) -> bool:
    """Whether a module's source compiles a function with Numba."""
    return _COMPILING.search(source) is not None


def test_the_compiled_rule_check_sees_every_decorator() -> None:
    """A stranger (helper-140): an unlisted file with one ``@inlined_rule`` passed the check
    below (it looked for the text "@rule"), and the model then ran stale compiled code."""
    for decorator in ("@rule", "@inlined_rule", "@njit", "@numba.njit(cache=True)", "@jit"):
        assert compiles(f"import x\n\n{decorator}\ndef f():\n    pass\n")
    assert not compiles("# a @rule in a comment mid-line\ndef f():\n    return '@rule'\n")


def test_every_file_with_compiled_rules_is_part_of_the_cache_key(tmp_path: Any) -> None:
    """Numba keys a function's cache on its own file; a changed callee elsewhere must
    invalidate it, so every file that defines a rule is hashed into the cache directory."""
    import sim.fingerprint as fingerprint

    package = fingerprint._PACKAGE
    with_rules = {p for p in package.rglob("*.py") if compiles(p.read_text())}
    assert with_rules <= set(fingerprint.RULE_SOURCES)
    before = fingerprint.rules_fingerprint()
    copies = []
    for p in fingerprint.RULE_SOURCES:
        copy = tmp_path / p.relative_to(package)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(p.read_bytes())
        copies.append(copy)
    original = fingerprint.RULE_SOURCES
    try:
        fingerprint.RULE_SOURCES = copies
        assert fingerprint.rules_fingerprint() == before
        rule_file = next(c for c in copies if c.parent.name == "rules")
        rule_file.write_text(rule_file.read_text() + "\n# a changed rule\n")
        assert fingerprint.rules_fingerprint() != before
    finally:
        fingerprint.RULE_SOURCES = original


def _sim_modules_imported_by(path: Any) -> set[str]:
    """The ``sim`` modules a file imports (``from sim import x``: ``sim.x``), at any depth."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sim":
                found |= {f"sim.{a.name}" for a in node.names}
            elif node.module.startswith("sim."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sim.")}
    return found


def test_every_module_the_rules_import_is_a_rule_source_or_declared_unread() -> None:
    """helper-187: a constant moved to a new module the rules import (not a rule file) was
    outside the cache's key and the model's fingerprint: changing it left the engine and the
    Mesa model running the old value, and a run into the old folder said 'already
    complete'."""
    import sim.fingerprint as fingerprint

    package = fingerprint._PACKAGE
    module_of = {
        p: "sim." + ".".join(p.relative_to(package).with_suffix("").parts).removesuffix(".__init__")
        for p in fingerprint.RULE_SOURCES
    }
    sources = set(module_of.values())
    for path in fingerprint.RULE_SOURCES:
        for module in _sim_modules_imported_by(path):
            if module in sources or module in fingerprint.NOT_READ_BY_COMPILED_RULES:
                continue
            target = package / (module.removeprefix("sim.").replace(".", "/") + ".py")
            assert not target.exists(), (
                f"{path.name} imports {module}: add it to RULE_SOURCES (or, if no compiled "
                "rule reads it, to NOT_READ_BY_COMPILED_RULES) in sim/fingerprint.py"
            )
    assert _sim_modules_imported_by(package / "world.py") >= {"sim.space"}  # the check reads


def test_numba_without_installed_metadata_still_keys_the_cache(monkeypatch: Any) -> None:
    """The fingerprint reads Numba's version from its metadata (without importing it); a
    Numba without any (a source tree on PYTHONPATH) gives its module's version instead."""
    from importlib.metadata import PackageNotFoundError

    import numba

    import sim.fingerprint as fingerprint

    before = fingerprint.rules_fingerprint()

    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(fingerprint, "version", missing)
    assert fingerprint._numba_version() == numba.__version__
    assert fingerprint.rules_fingerprint() == before


def test_numpy_integer_seeds_work_in_both_paths() -> None:
    params = scenario_params("baseline")
    a = CrisisModel(params, weeks=6, seed=np.int64(7)).run()
    assert differences(a, run_replicate(params, 6, np.int64(7))) == []


def test_place_arrays_shared_by_replicates_are_read_only() -> None:
    model = CrisisModel(scenario_params("baseline"), weeks=2, seed=1)
    with pytest.raises(ValueError, match="read-only"):
        model.place_arrays.security[:] *= 0.1


@pytest.mark.parametrize("backend", ["compiled", "mesa"])
@pytest.mark.parametrize("weeks", [0, -3, 2.5, True, "10"])
def test_a_horizon_that_is_not_a_whole_number_of_weeks_is_refused_in_one_line(
    backend: str, weeks: Any
) -> None:
    from sim.params import ModelParams, ParameterError

    shown = repr(weeks) if isinstance(weeks, str) else weeks
    with pytest.raises(ParameterError, match=f"weeks={shown} is not allowed: need a whole"):
        simulate(ModelParams(), weeks, 1, backend)


def test_numpy_integers_are_whole_numbers_of_weeks() -> None:
    from sim.params import ModelParams

    a = simulate(ModelParams(), np.int64(6), 3, "mesa")
    b = run_replicate(ModelParams(), 6, 3)
    assert a.summary == b.summary and len(a.weekly["attacks"]) == 6


def test_a_float_parameter_given_as_an_int_reaches_compiled_code_as_a_float() -> None:
    """A review found that one replicate with ``backlash_attacks_per_harmed=3`` (an int, from
    Python) typed the process's compiled rules for an int, after which 0.1 was read as 0."""
    import subprocess
    import sys

    from sim.compiled import as_tuple
    from sim.params import RecruitmentParams

    assert isinstance(
        as_tuple(RecruitmentParams(backlash_attacks_per_harmed=3)).backlash_attacks_per_harmed,
        float,
    )
    script = (
        "from sim.config import scenario_params; from sim.engine import run_replicate\n"
        "run_replicate(scenario_params('decisive_operation',"
        " {'recruitment.backlash_attacks_per_harmed': 3}), 26, 5)\n"
        "r = run_replicate(scenario_params('decisive_operation'), 26, 5)\n"
        "print(r.summary['attacks_total'])"
    )
    after_an_int = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    fresh = run_replicate(scenario_params("decisive_operation"), 26, 5).summary["attacks_total"]
    assert int(after_an_int) == fresh


def test_the_worker_server_loads_the_engine_without_scipy_and_gives_the_same_results() -> None:
    """The fork server's preload skips Numba's BLAS probe (``sim.engine_warm``): SciPy's linear
    algebra is not imported, replicates are unchanged, and BLAS works afterwards."""
    script = """
import sys
import numba
import numpy as np
import sim.engine_warm
from sim.engine import run_replicate
from sim.params import ModelParams
print("scipy.linalg" in sys.modules)
print(repr(sorted(run_replicate(ModelParams(), weeks=30, seed=3).summary.items())))
print(numba.njit(lambda a: np.dot(a, a))(np.arange(3.0)))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    from sim.params import ModelParams

    here = run_replicate(ModelParams(), weeks=30, seed=3).summary
    assert out == ["False", repr(sorted(here.items())), "5.0"]


def test_loading_the_engine_says_when_it_is_compiling(capsys: pytest.CaptureFixture[str]) -> None:
    """A stranger's first run after a rule change sat at 0% for 40 s without a word: a load
    that takes longer than a cached one says it is compiling; a quick one says nothing."""
    import time

    from sim.engine_warm import COMPILING, saying_when_it_compiles

    with saying_when_it_compiles(after=0.05):
        time.sleep(0.3)
    assert capsys.readouterr().err == COMPILING
    with saying_when_it_compiles(after=0.5):
        pass
    time.sleep(0.6)
    assert capsys.readouterr().err == ""


def test_hidden_files_beside_the_rules_are_not_rule_sources(tmp_path: Any) -> None:
    """A stranger's editor left `.#militant_group.py` (a dangling link) in sim/rules, and
    every run failed hashing it: the rule sources are the folder's visible Python files."""
    from sim.fingerprint import _sources

    (tmp_path / "rule.py").write_text("a = 1\n")
    (tmp_path / ".#rule.py").symlink_to(tmp_path / "gone")
    (tmp_path / "notes.txt").write_text("")
    assert _sources(tmp_path) == [tmp_path / "rule.py"]
