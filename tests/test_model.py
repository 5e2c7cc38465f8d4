"""The whole model: invariants over random parameters, the golden seed, reproducibility."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.compiled import dot
from sim.config import scenario_params
from sim.model import CrisisModel
from sim.params import ModelParams, iter_params

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from refresh_golden import GOLDEN, golden_summary  # noqa: E402

FLOAT_PARAMS = [
    i
    for i in iter_params(ModelParams())
    if (
        i.type == "float"
        and i.bounds is not None
        and not i.path.startswith(
            ("china.pressure_below", "china.hold_below", "china.demand_below")
        )
        and not i.path.startswith("investors.")
    )
    or i.path in ("investors.risk_aversion",)
]


def _set(params: ModelParams, path: str, value: float) -> None:
    *parents, leaf = path.split(".")
    node = params
    for part in parents:
        node = getattr(node, part)
    setattr(node, leaf, value)


@st.composite
def random_params(draw: st.DrawFn) -> ModelParams:
    params = ModelParams()
    for info in draw(
        st.lists(st.sampled_from(FLOAT_PARAMS), min_size=3, max_size=12, unique_by=lambda i: i.path)
    ):
        lo, hi = info.bounds  # type: ignore[misc]
        hi = min(hi, lo + 10 * max(abs(info.value), 0.1))  # keep runs short and meaningful
        _set(params, info.path, draw(st.floats(lo, hi, allow_nan=False)))
    params.pakistan.accept_chinese_troops = draw(st.booleans())
    params.iran.initial_posture = draw(st.sampled_from(["hostile", "neutral", "cooperative"]))
    return params


@given(params=random_params(), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_invariants_hold_for_random_parameters(params: ModelParams, seed: int) -> None:
    model = CrisisModel(params, weeks=30, seed=seed)
    for _ in range(30):
        model.step()
        assert (model.fighters_at >= 0).all()
        assert all(g.cells.fighters == g.fighters_at.sum() for g in model.groups)
        assert (model.chinese_nationals >= 0).all()
        assert ((model.legitimacy >= 0) & (model.legitimacy <= 1)).all()
        assert ((model.grievance >= 0) & (model.grievance <= 1)).all()
        assert 0 <= model.china.patience <= 1 and 0 <= model.pakistan.intensity <= 1
        assert all(0 <= inv.deployed <= inv.committed + 1e-9 for inv in model.investors)
        for g in model.groups:
            shares = np.array(g.target_shares())
            assert np.all(shares >= 0) and shares.sum() == pytest.approx(1.0)
    result = model.recorder.result(model.week, model.first_pause_week)
    ev, s = result.events, result.summary
    assert s["attacks_total"] == len(ev["week"])
    assert s["attacks_on_chinese"] == ev["target"].count("chinese")
    assert s["chinese_killed"] == sum(ev["chinese_killed"])
    assert s["security_killed"] == sum(ev["security_killed"])
    assert s["civilians_killed"] >= sum(ev["civilians_killed"])  # plus collateral and strikes
    assert s["fighters_final"] == int(model.fighters_at.sum())


def test_golden_seed_baseline_matches_the_stored_summary() -> None:
    """Refresh on purpose only: `python scripts/refresh_golden.py`."""
    stored = json.loads(GOLDEN.read_text())
    assert golden_summary() == stored


def test_the_place_rule_before_4_december_2026_is_one_setting_away() -> None:
    """Figures measured before Chinese targets weighed by their nationals reproduce with
    ``targeting.exposure_weight=0``: the golden replicate of that rule (commit 873dec9), the
    Mesa path and the engine, to the last digit; at the default weight they differ."""
    from sim.engine import run_replicate

    earlier = json.loads((GOLDEN.parent / "baseline_seed42_exposure_weight_0.json").read_text())
    p = scenario_params("baseline", {"targeting.exposure_weight": 0.0})
    for summary in (
        CrisisModel(p, weeks=104, seed=42).run().summary,
        run_replicate(p, 104, 42).summary,
    ):
        # the columns of that day (an output added since has no value to compare: helper-187)
        assert {k: (None if summary[k] != summary[k] else summary[k]) for k in earlier} == earlier
    assert golden_summary() != earlier


def _summary_in_subprocess(seed: int) -> str:
    code = (
        "import json; from sim.model import CrisisModel; "
        f"r = CrisisModel(weeks=52, seed={seed}).run(); "
        "print(json.dumps(r.summary, sort_keys=True, default=str)); "
        "print(json.dumps({k: v.tolist() for k, v in r.weekly.items()}, sort_keys=True))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout


def test_same_seed_same_outputs_in_separate_processes() -> None:
    a, b = _summary_in_subprocess(7), _summary_in_subprocess(7)
    assert a == b
    assert a != _summary_in_subprocess(8)


#: OpenBLAS kernels (``OPENBLAS_CORETYPE``) and the processor flags each needs to run.
BLAS_KERNELS = {
    "Prescott": {"pni"},  # SSE3, as Linux names it
    "Sandybridge": {"avx"},
    "Haswell": {"avx2", "fma"},
    "SkylakeX": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"},
}


def _cpu_flags() -> set[str]:
    """The processor's feature flags (Linux), empty where they cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return next((set(line.split(":", 1)[1].split()) for line in text.splitlines()
                 if line.startswith("flags")), set())  # fmt: skip


def _outputs_with_blas_kernel(kernel: str) -> str:
    """The weekly outputs and summaries of four compiled replicates, in a process whose
    OpenBLAS runs ``kernel`` (its choice for another processor)."""
    code = (
        "import json, numpy as np; from sim.engine import run_replicate; "
        "from sim.params import ModelParams; "
        "rs = [run_replicate(ModelParams(), 104, s) for s in range(4)]; "
        "print(json.dumps([[{k: np.asarray(v).tolist() for k, v in r.weekly.items()}, "
        "r.summary] for r in rs], sort_keys=True, default=str))"
    )
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return out.stdout


def test_dot_sums_in_index_order() -> None:
    rng = np.random.default_rng(5)
    for n in (0, 1, 5, 16, 18, 33):
        a, b = rng.random(n), rng.random(n) * 10.0 ** rng.uniform(-8, 8, n)
        expected = 0.0
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            expected += x * y
        assert dot(a, b) == expected


def test_results_do_not_depend_on_the_processors_blas_kernel() -> None:
    """A BLAS call sums in its kernel's order (OpenBLAS picks the kernel for the processor):
    the same seed must give the same bits whatever the kernel (the shipped posterior's
    fingerprint and the golden seed depend on it)."""
    flags = _cpu_flags()
    kernels = [k for k, needs in BLAS_KERNELS.items() if needs <= flags]
    if platform.machine() != "x86_64" or len(kernels) < 2:
        pytest.skip("needs an x86-64 processor that runs two of OpenBLAS's kernels")
    outputs = {kernel: _outputs_with_blas_kernel(kernel) for kernel in kernels}
    assert len(set(outputs.values())) == 1, f"results differ between kernels {kernels}"


def test_scenarios_do_what_they_say() -> None:
    def run(name: str, seed: int = 3) -> CrisisModel:
        m = CrisisModel(scenario_params(name), weeks=26, seed=seed)
        m.run()
        return m

    assert run("investment_freeze").china.investment_hold
    assert run("chinese_troops").pakistan.chinese_troops
    # Guarding only: joint operations come, as in the baseline, only if China's ladder demands
    # them and Pakistan yields (a seed's luck decides whether by week 26), never from week 1.
    first_week = CrisisModel(scenario_params("chinese_troops"), weeks=1, seed=3)
    first_week.run()
    assert first_week.pakistan.chinese_troops and not first_week.pakistan.joint_operations
    assert run("joint_operation").pakistan.joint_operations
    assert run("iran_border").iran.posture == "cooperative"
    decisive = run("decisive_operation")
    assert decisive.pakistan.intensity > run("baseline").pakistan.intensity

    def steel(name: str, seed: int) -> str:
        return next(i.state for i in run(name, seed).investors if i.key == "century_steel")

    # Less friction keeps Century Steel investing in most replicates, and in more than the
    # baseline (TTP attacks near Rashakai can still make it pause); in the baseline its
    # friction is drawn from 0.5-1.0, so it leaves in some replicates and stays in others:
    # a result, not an input.
    seeds = range(3, 13)
    reform = [steel("reform_and_development", s) for s in seeds]
    baseline = [steel("baseline", s) for s in seeds]
    assert reform.count("investing") > len(seeds) / 2
    assert reform.count("investing") > baseline.count("investing")
    assert 0 < baseline.count("withdrawn") < len(seeds)


def test_withdrawal_takes_staff_off_the_map() -> None:
    p = ModelParams()
    p.investors.friction_scale = 2.0  # Century Steel's friction (>= 0.5) now forces it out
    m = CrisisModel(p, weeks=26, seed=1)
    m.run()
    steel = next(i for i in m.investors if i.key == "century_steel")
    site = steel.site
    assert steel.state == "withdrawn" and steel.staff == 0 and steel.deployed == 0
    assert m.chinese_nationals[site] == m.places.chinese_nationals[site] - 40


def test_the_model_reads_where_groups_reach_from_its_network() -> None:
    from sim.space import load_places, reach_adjacency
    from sim.world import place_arrays

    model = CrisisModel(ModelParams(), weeks=1, seed=0)
    engine_links = place_arrays(load_places()).adjacency
    network_links = reach_adjacency(model.space)
    assert network_links.sum() > 0
    assert np.array_equal(network_links, engine_links)
    assert np.array_equal(model.place_arrays.adjacency, network_links)


def test_a_replicate_whose_attacks_grow_without_bound_stops_with_an_error() -> None:
    """A reviewer's point drawn within the declared bounds (backlash and collateral feeding
    recruitment) grew attacks until the event buffer took 20 GB. The buffer now stops at
    MAX_EVENTS rows; here it starts full (zeros: the memory is not touched) so that the next
    attack meets the limit."""
    from sim.world import EVENT_WIDTH, MAX_EVENTS

    model = CrisisModel(ModelParams(), weeks=10, seed=0)
    model.recorder.buffer = np.zeros((MAX_EVENTS, EVENT_WIDTH), dtype=np.int64)
    model.recorder.n_events = MAX_EVENTS
    with pytest.raises(ValueError, match="grow without bound"):
        for _ in range(10):
            model.step()
