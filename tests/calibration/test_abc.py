"""ABC-SMC on a toy with a known posterior: recovery, coverage, reproducibility, resumption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.calibration.abc import ABC, SchedulerError, Settings, dask_map, pilot_scales, worker_pool
from sim.calibration.diagnostics import identifiability, weighted_quantile
from sim.calibration.space import CalibrationSpace, Prior
from tests.calibration.toy import POSTERIOR_SD, constant, toy

PRIORS = [Prior("theta", ("toy.theta",), -5.0, 5.0)]


def run_toy(
    out: Path | None,
    observed: float,
    population: int,
    generations: int,
    seed: int = 0,
    jobs: int = 1,
    priors: list[Prior] = PRIORS,
    scheduler: str | None = None,
) -> pd.DataFrame:
    settings = Settings(population=population, generations=generations, pilot=100, seed=seed)
    with worker_pool(jobs, ("tests.calibration.toy",), scheduler) as map_:
        scales = pilot_scales(toy, priors, ["mean"], 100, seed, map_)
        abc = ABC(toy, priors, {"mean": observed}, scales, settings, out, map_)
        abc.start_or_resume(resume=False)
        for _ in range(generations):
            assert abc.run_generation() is not None
        return abc.population()


def weighted_moments(pop: pd.DataFrame) -> tuple[float, float]:
    w, x = pop["weight"].to_numpy(), pop["theta"].to_numpy()
    mean = float(np.sum(w * x))
    return mean, float(np.sqrt(np.sum(w * (x - mean) ** 2)))


def test_abc_recovers_the_known_normal_posterior(tmp_path: Path) -> None:
    pop = run_toy(tmp_path, observed=1.0, population=300, generations=6, seed=3)
    mean, sd = weighted_moments(pop)
    assert mean == pytest.approx(1.0, abs=0.1)
    # ABC with a positive tolerance is a little wider than the exact posterior, never narrower
    assert 0.85 * POSTERIOR_SD <= sd <= 1.3 * POSTERIOR_SD


def test_ninety_percent_intervals_cover_the_truth_about_ninety_percent_of_the_time() -> None:
    """Simulation-based calibration on the toy: truths drawn from the prior, a synthetic
    observation from each, the posterior's 90% interval checked for the truth. (The larger
    version, 200 truths, is ``benchmarks/calibration_coverage.py``.)"""
    priors = [Prior("theta", ("toy.theta",), -3.0, 3.0)]
    rng = np.random.default_rng(11)
    hits, widths = [], []
    for k in range(20):
        truth = float(rng.uniform(-2.5, 2.5))
        obs = toy({"theta": truth}, int(rng.integers(2**31)))["mean"]
        pop = run_toy(None, obs, population=60, generations=3, seed=k, priors=priors)
        lo, hi = weighted_quantile(pop["theta"], pop["weight"], [0.05, 0.95])
        hits.append(lo <= truth <= hi)
        widths.append(hi - lo)
    # 20 truths: the binomial 95% range around 0.9 is 0.75-1.0; and not bought by vagueness:
    # the exact 90% interval is 1.04 wide, the prior's 5.4 (these settings measured 1.28)
    assert 0.75 <= float(np.mean(hits)) <= 1.0
    assert float(np.median(widths)) < 1.5


def test_the_posterior_does_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    one = run_toy(tmp_path / "one", 0.5, population=40, generations=2, jobs=1)
    two = run_toy(tmp_path / "two", 0.5, population=40, generations=2, jobs=2)
    pd.testing.assert_frame_equal(one, two)


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A Dask cluster on this machine: two worker processes of two threads each (``dask
    worker``'s default is a thread per core, and threads of one process share the global
    random streams pyabc draws from)."""
    from distributed import LocalCluster

    root = str(Path(__file__).resolve().parents[2])  # workers import tests.calibration.toy
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, saved]))
    try:
        with LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster:
            yield cluster.scheduler_address
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def test_a_dask_cluster_gives_the_posterior_of_local_processes(
    tmp_path: Path, dask_scheduler: str
) -> None:
    local = run_toy(tmp_path / "local", 0.5, population=40, generations=2, jobs=1)
    dask = run_toy(tmp_path / "dask", 0.5, population=40, generations=2, scheduler=dask_scheduler)
    pd.testing.assert_frame_equal(local, dask)


def test_dask_workers_that_cannot_import_the_simulator_fail_before_any_simulation(
    dask_scheduler: str,
) -> None:
    needs = pytest.raises(SchedulerError, match="cannot import the simulator: no_such_simulator")
    with needs, dask_map(dask_scheduler, ("no_such_simulator",)):
        pass


@pytest.mark.parametrize("address", ["foo", "", "tcp://", "http://host:8786", "tcp://h:99999"])
def test_a_malformed_scheduler_address_is_refused_before_connecting(address: str) -> None:
    with pytest.raises(SchedulerError, match="is not a scheduler address"), dask_map(address):
        pass


def test_a_server_that_is_not_a_dask_scheduler_is_refused_within_the_timeout() -> None:
    """It accepts the connection and says nothing (an HTTP server, a stray port)."""
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        needs = pytest.raises(SchedulerError, match="did not answer as a Dask scheduler")
        with needs, dask_map(address, timeout=1):
            pass
        assert time.monotonic() - started < 10


def test_the_scheduler_check_works_from_inside_an_event_loop() -> None:
    """As in a notebook: the handshake runs in a thread of its own."""
    import asyncio
    import socket

    from sim.calibration.abc import _check_is_scheduler

    async def inside() -> None:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            _check_is_scheduler(f"tcp://127.0.0.1:{silent.getsockname()[1]}", 1)

    with pytest.raises(SchedulerError, match="within 1 s"):
        asyncio.run(inside())


def test_an_unreachable_scheduler_is_one_clear_error() -> None:
    needs = pytest.raises(SchedulerError, match=r"cannot reach the Dask scheduler at tcp://127\.0")
    with needs, dask_map("tcp://127.0.0.1:9", timeout=1):
        pass


def test_a_resumed_calibration_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    whole = run_toy(tmp_path / "whole", 0.5, population=40, generations=3)
    settings = Settings(population=40, generations=3, pilot=100, seed=0)
    scales = pilot_scales(toy, PRIORS, ["mean"], 100, 0)
    first = ABC(toy, PRIORS, {"mean": 0.5}, scales, settings, tmp_path / "parts")
    first.start_or_resume(resume=False)
    for _ in range(2):
        first.run_generation()
    # a new process would build a new ABC object and resume from the database
    again = ABC(toy, PRIORS, {"mean": 0.5}, scales, settings, tmp_path / "parts")
    again.start_or_resume(resume=True)
    assert again.generations_done == 2
    again.run_generation()
    pd.testing.assert_frame_equal(whole, again.population())


#: A process mapping 80 slow tasks (0.2 s each) over two workers; Ctrl-C exits 130. Ctrl-C
#: gets Python's handler, as in a terminal: a suite started in the background (``make test &``,
#: nohup) hands its children SIGINT ignored, and the map then ran all 80 tasks and exited 0.
_INTERRUPTED = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from sim.calibration.abc import worker_pool
from tests.calibration.toy import nap
try:
    with worker_pool(2) as map_:
        map_(nap, [(sys.argv[1], i) for i in range(80)])
except KeyboardInterrupt:
    sys.exit(130)
"""


def _wait_for_a_line(log: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not (log.exists() and log.read_text().strip()):
        assert proc.poll() is None and time.monotonic() < deadline, "no task started"
        time.sleep(0.05)


def test_ctrl_c_stops_the_workers_at_once_not_after_the_queued_tasks(tmp_path: Path) -> None:
    """Workers ignore Ctrl-C; the pool used to run the chunks already handed to it before the
    command could exit (three chunks of ten tasks here: 30 of 80 tasks ran; in a --fast
    calibration 5-13 s of a generation whose particles are lost anyway)."""
    log = tmp_path / "started.txt"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED, str(log)], cwd=root, start_new_session=True
    )
    try:
        _wait_for_a_line(log, proc)
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole group
        sent = time.monotonic()
        code = proc.wait(timeout=60)
        waited = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    started = log.read_text().split()
    assert code == 130
    assert len(started) <= 12, f"{len(started)} of 80 tasks ran after Ctrl-C"
    assert waited < 5.0, f"{waited:.1f} s from Ctrl-C to exit"


def test_a_range_observation_costs_nothing_inside_and_its_excess_outside() -> None:
    from sim.calibration.abc import ScaledDistance

    d = ScaledDistance({"a": 2.0, "m": 50.0}, {"m": 125.0})
    y = {"a": 1.0, "m": 275.0}  # m known only as 150-400
    assert d({"a": 1.0, "m": 160.0}, y) == 0.0
    assert d({"a": 1.0, "m": 400.0}, y) == 0.0
    assert d({"a": 1.0, "m": 450.0}, y) == pytest.approx(50.0 / 50.0)
    assert d({"a": 5.0, "m": 275.0}, y) == pytest.approx(4.0 / 2.0)


class _ToySpace(CalibrationSpace):
    """The toy's priors, with defaults at the prior's middle (the toy has no model keys)."""

    def defaults(self) -> dict[str, float]:
        return {p.name: (p.low + p.high) / 2 for p in self.priors}


def _calibrate(simulate: Any, priors: list[Prior], observed: float) -> pd.DataFrame:
    settings = Settings(population=150, generations=4, pilot=100, seed=5)
    scales = pilot_scales(simulate, priors, ["mean"], 100, 5, map)
    abc = ABC(simulate, priors, {"mean": observed}, scales, settings, None, map)
    abc.start_or_resume(resume=False)
    for _ in range(settings.generations):
        abc.run_generation()
    return identifiability(_ToySpace(tuple(priors)), abc.population()).set_index("parameter")


def test_negative_controls_a_blind_parameter_and_a_blind_simulator_stay_unidentified() -> None:
    """Placebos: a parameter the simulator never reads, and a simulator that reads none, must
    come out "not identified" (posterior spread like the prior), next to one that is read."""
    priors = [*PRIORS, Prior("blind", ("toy.blind",), -5.0, 5.0)]
    table = _calibrate(toy, priors, observed=1.0)
    assert table.loc["theta", "verdict"] == "identified"
    assert table.loc["blind", "verdict"].startswith("not identified")
    assert table.loc["blind", "sd_ratio"] > 0.8

    table = _calibrate(constant, priors, observed=1.0)
    assert all(v.startswith("not identified") for v in table["verdict"]), table["verdict"]


def test_a_verdict_another_calibration_could_flip_is_borderline_on_either_side() -> None:
    """Known answers: populations of 400 equally weighted particles squeezed to a known sd
    ratio. The Monte Carlo error covers the true ratio; far below the null's threshold the
    verdict holds (partly identified), at the threshold another calibration would flip it
    either way (borderline, from either side: a chance near a half), and the prior itself is
    not identified. ``flip_chance`` is the normal tail of the difference of two estimates."""
    import math

    from sim.calibration.diagnostics import flip_chance, null_shrinkage, spread, verdict

    assert flip_chance(1.0, 0.0, 0.5) == pytest.approx(0.5 * math.erfc(1.0))  # P(Z > 1.414)
    assert flip_chance(0.3, 0.3, 0.1) == 0.5 and flip_chance(0.3, 0.2, 0.0) == 0.0
    w = np.full(400, 1 / 400)
    null = null_shrinkage(w, 0)
    base = np.random.default_rng(11).random(400)
    prior_sd = 1 / np.sqrt(12)

    def population(ratio: float) -> np.ndarray:
        return 0.5 + (base - base.mean()) * ratio * prior_sd / base.std()

    far = spread(population(0.7), w, 0.5, prior_sd, 0)
    assert far.sd_ratio_low < 0.7 < far.sd_ratio_high
    assert verdict(0.7, 0.0, null, far) == "partly identified"
    near = spread(population(null.sd_ratio_low), w, 0.5, prior_sd, 0)
    assert near.sd_ratio_low < null.sd_ratio_low < near.sd_ratio_high
    inside = verdict(null.sd_ratio_low - 1e-3, 0.0, null, near)
    outside = verdict(null.sd_ratio_low + 1e-3, 0.0, null, near)
    assert inside.startswith("borderline (partly identified here; another calibration would")
    assert outside.startswith("borderline (not identified here; another calibration would")
    prior = spread(base, w, 0.5, prior_sd, 0)
    assert verdict(float(base.std() / prior_sd), 0.0, null, prior).startswith("not identified")
    # without the error, the point alone decides (as before)
    assert verdict(null.sd_ratio_low - 1e-3, 0.0, null) == "partly identified"
    # between identified and partly identified too, from either side of half the prior's sd
    half = spread(population(0.5), w, 0.5, prior_sd, 0)
    assert verdict(0.49, 0.0, null, half).startswith(
        "borderline (identified here; another calibration would say partly identified"
    )
    assert verdict(0.51, 0.0, null, half).startswith(
        "borderline (partly identified here; another calibration would say identified"
    )
    assert verdict(0.3, 0.0, null, spread(population(0.3), w, 0.5, prior_sd, 0)) == "identified"
