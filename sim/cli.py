"""``cpec-sim``: a thin command-line face over functions a notebook can call too.

``cpec-sim run [overrides]`` is a Hydra app with the whole override grammar; the other
subcommands (scenarios, compare, plot, report, validate, dashboard) are plain argparse.
Bad input is reported in one line on stderr with exit code 2, before anything is written.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USAGE = """usage: cpec-sim COMMAND [ARGS]

commands:
  run [overrides]       run a scenario or a sweep (Hydra: scenario=NAME replicates=N seed=S
                        weeks=W jobs=J key=value ..., -m for sweeps, +experiment=NAME, --cfg job)
  scenarios             list the scenarios
  compare DIR...        compare runs or a sweep (medians, intervals, differences)
  plot DIR              draw the plots of a run
  report DIR...         write a self-contained HTML report
  validate              check the baseline against the observed record
  dashboard             start the teaching dashboard in the browser
  sensitivity           global sensitivity analysis (Sobol, Morris)
  discover              scenario discovery (Latin hypercube + PRIM)
  calibrate             Bayesian calibration against the record (ABC-SMC), hindcast scores

`cpec-sim run --help` shows every parameter group; `cpec-sim run --cfg job` the resolved config.
"""

PASS_THROUGH_FLAGS = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "--version")
_EXIT_CODES: list[int] = []


def fail(message: str, code: int = 2) -> int:
    """Print one clear line on stderr and return the exit code."""
    print(f"cpec-sim: error: {message}", file=sys.stderr)
    return code


# --- Hydra set-up ---------------------------------------------------------------------
def _register() -> None:
    """Register the structured config schema and the run-directory resolvers (once)."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    from sim.config import RunConfig

    ConfigStore.instance().store(name="run_schema", node=RunConfig)
    if not OmegaConf.has_resolver("cpec_run_name"):
        OmegaConf.register_new_resolver("cpec_run_name", _run_name)
        OmegaConf.register_new_resolver("cpec_job_name", _job_name)


NOT_IN_DIR_NAME = ("scenario", "jobs", "plots", "hydra", "+experiment", "experiment")


def _dir_part(overrides: Any, skip: tuple[str, ...]) -> str:
    kept = []
    for item in overrides:
        key = str(item).split("=", 1)[0].lstrip("+~")
        if key.split(".")[0].split("/")[0] in skip or key.startswith("hydra"):
            continue
        text = str(item).lstrip("+")
        if key == "parameters":  # a path: keep the directory name one level deep
            text = text.replace("/", "_")
        kept.append(text)
    return ",".join(sorted(kept))


def _run_name(scenario: str, overrides: Any) -> str:
    """Run directory name: the scenario, then any overrides that change the results."""
    part = _dir_part(overrides, NOT_IN_DIR_NAME)
    return f"{scenario},{part}" if part else scenario


def _job_name(overrides: Any) -> str:
    """Sweep job directory name: the overrides that define the job."""
    return _dir_part(overrides, ("jobs", "plots", "hydra", "experiment")) or "default"


# --- pre-validation (before Hydra creates any directory) -------------------------------
def _friendly(exc: BaseException) -> str:
    """One line from a Hydra/OmegaConf composition error (the cause has the detail)."""
    from sim.config import scenario_names

    text = "\n".join(str(e) for e in (exc, exc.__cause__) if e is not None)
    full_key = ""
    for line in text.splitlines():
        if line.strip().startswith("full_key:"):
            full_key = line.split(":", 1)[1].strip()
    for group, names in (("scenario", scenario_names), ("experiment", experiment_names)):
        for verb in ("Could not find", "Could not load"):
            marker = f"{verb} '{group}/"
            if marker in text:
                name = text.split(marker, 1)[1].split("'", 1)[0]
                return f"unknown {group} {name!r}: choose one of {', '.join(names())}"
    if "not in" in text and "Key '" in text:
        key = full_key or text.split("Key '", 1)[1].split("'", 1)[0]
        return f"unknown key {key!r}: see `cpec-sim run --cfg job` for every key"
    if "could not be converted to" in text:
        value = text.split("Value '", 1)[1].split("'", 1)[0] if "Value '" in text else "?"
        kind = text.split("could not be converted to ", 1)[1].split()[0].lower()
        kind = {"float": "a number", "integer": "a whole number", "boolean": "true or false"}.get(
            kind, kind
        )
        return f"{full_key}={value!r} is not allowed: expected {kind}"
    if "is not a valid bool" in text:
        value = text.split("Value '", 1)[1].split("'", 1)[0] if "Value '" in text else "?"
        return f"{full_key}={value!r} is not allowed: expected true or false"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def experiment_names() -> list[str]:
    """Names of the shipped experiments."""
    from sim.config import config_dir

    return sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


def _compose(overrides: list[str]) -> Any:
    from hydra import compose

    return compose(config_name="config", overrides=overrides, return_hydra_config=True)


@dataclass
class Plan:
    """What a command will run, found by composing it before Hydra runs it."""

    error: str | None = None
    swept: dict[str, list[str]] = field(default_factory=dict)
    sweep_dir: Path | None = None
    experiment: str | None = None


def prevalidate(args: list[str]) -> Plan:
    """Compose and validate every job the command would run (errors in ``Plan.error``)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.config import (
        check_run_keys,
        config_dir,
        model_params_from_config,
        posterior_for_run,
    )
    from sim.params import ParameterError

    overrides = [a for a in args if not a.startswith("-")]
    multirun = any(a in ("-m", "--multirun") for a in args)
    parser = OverridesParser.create()
    plan = Plan()
    try:
        parsed = parser.parse_overrides(overrides)
    except Exception as exc:
        plan.error = f"cannot parse the overrides: {str(exc).splitlines()[0]}"
        return plan
    fixed = [str(o.input_line) for o in parsed if not o.is_sweep_override()]
    swept: dict[str, list[str]] = {}
    for o in parsed:
        if o.is_sweep_override():
            if not multirun:
                plan.error = f"{o.input_line!r} sweeps several values: add -m (multirun)"
                return plan
            swept[o.get_key_element()] = [str(v) for v in o.sweep_string_iterator()]
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            base = _compose(fixed + [f"{k}={v[0]}" for k, v in swept.items()])
            sweeper = base.hydra.get("sweeper", {}).get("params") or {}
            for key, value in sweeper.items():
                if key not in swept:
                    sweep = parser.parse_overrides([f"{key}={value}"])[0]
                    swept[key] = [str(v) for v in sweep.sweep_string_iterator()]
            variants = [fixed + [f"{k}={v[0]}" for k, v in swept.items()]]
            for key, values in swept.items():
                for value in values[1:]:
                    variants.append(
                        fixed + [f"{k}={value if k == key else v[0]}" for k, v in swept.items()]
                    )
            for variant in variants:
                cfg = _compose(variant)
                HydraConfig.instance().set_config(cfg)
                check_run_keys(cfg)
                posterior_for_run(cfg, model_params_from_config(cfg))
                if multirun or sweeper:
                    plan.sweep_dir = Path(str(cfg.hydra.sweep.dir))
                    out, what = plan.sweep_dir, "sweep directory"
                else:
                    out, what = Path(str(cfg.hydra.run.dir)), "output directory"
                if out.exists() and not out.is_dir():
                    plan.error = f"{what} {out} is a file: choose another hydra.run.dir"
                    return plan
            plan.swept = swept
            plan.experiment = next(
                (str(o.value()) for o in parsed if o.get_key_element().lstrip("+") == "experiment"),
                None,
            )
    except ParameterError as exc:
        plan.error = str(exc)
    except Exception as exc:
        plan.error = _friendly(exc)
    finally:
        GlobalHydra.instance().clear()
    return plan


# --- the Hydra task --------------------------------------------------------------------
def _task(cfg: Any) -> int:
    """One Hydra job: validate, run the replicates, print the summary, plot."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sim.config import (
        check_run_keys,
        model_params_from_config,
        posterior_for_run,
        resolved_chunk_size,
        resolved_jobs,
    )
    from sim.params import ParameterError
    from sim.posterior import shadowed_keys
    from sim.results import summary_table
    from sim.runner import RunSpec, run

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    try:
        check_run_keys(cfg)
        params = model_params_from_config(cfg)
        posterior = posterior_for_run(cfg, params)
    except ParameterError as exc:
        _remove_hydra_leftovers(run_dir)
        code = fail(str(exc))
        _EXIT_CODES.append(code)
        return code
    overrides = [
        o for o in hc.overrides.task if not o.split("=")[0].lstrip("+").startswith("hydra")
    ]
    spec = RunSpec(
        params=params,
        scenario=cfg.scenario.name,
        description=" ".join(str(cfg.scenario.description).split()),
        replicates=cfg.replicates,
        seed=cfg.seed,
        weeks=cfg.weeks,
        jobs=resolved_jobs(cfg.jobs),
        chunk_size=resolved_chunk_size(cfg.chunk_size, cfg.replicates),
        overrides=list(overrides),
        config_yaml=OmegaConf.to_yaml(cfg, resolve=True),
        backend=cfg.backend,
        posterior=posterior,
    )
    sweeping = hc.mode == RunMode.MULTIRUN
    if posterior is not None:
        shadowed = shadowed_keys(posterior, spec.scenario, spec.overrides)
        if shadowed:
            print(
                f"note: the posterior sets {', '.join(shadowed)} in every replicate "
                "(the scenario's or command line's value is not used)",
                file=sys.stderr,
            )
    try:
        outcome = run(spec, run_dir, progress=None if sweeping else sys.stderr)
    except ParameterError as exc:
        code = fail(str(exc))
        _EXIT_CODES.append(code)
        return code
    if sweeping:
        print(f"{outcome.status:11s} {outcome.done_replicates:6d} replicates  {run_dir.name}")
        _EXIT_CODES.append(outcome.exit_code)
        return outcome.exit_code
    print(f"\n{spec.scenario}: {outcome.status} ({outcome.done_replicates} replicates)")
    if outcome.done_replicates and (run_dir / "summary.parquet").exists():
        print(summary_table(run_dir))
        stale = outcome.new or not (run_dir / "plots").is_dir()
        if cfg.plots and outcome.status != "interrupted" and stale:
            _plot(run_dir)
    if outcome.message:
        print(f"note: {outcome.message}", file=sys.stderr)
    if outcome.status == "interrupted":
        print("re-run the same command to resume", file=sys.stderr)
    print(f"run directory: {run_dir}")
    _EXIT_CODES.append(outcome.exit_code)
    return outcome.exit_code


def _plot(run_dir: Path) -> None:
    try:
        from sim.analysis.plots import plot_run
    except ImportError:
        return
    try:
        paths = plot_run(run_dir)
    except Exception as exc:  # the results are safe on disk; a figure must not fail the run
        print(
            f"warning: plotting failed ({exc!r}); retry with `cpec-sim plot {run_dir}`",
            file=sys.stderr,
        )
        return
    if paths:
        print(f"plots: {run_dir / 'plots'} ({len(paths)} files)")


def _remove_hydra_leftovers(run_dir: Path) -> None:
    """Remove what Hydra wrote for a job that never started (no manifest: nothing lost)."""
    if run_dir.is_dir() and not (run_dir / "manifest.json").exists():
        shutil.rmtree(run_dir, ignore_errors=True)


def run_command(args: list[str]) -> int:
    """``cpec-sim run``: validate everything first, then hand over to Hydra."""
    import hydra

    from sim.config import config_dir

    _register()
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    plan = Plan()
    if not any(a.split("=")[0] in PASS_THROUGH_FLAGS for a in args):
        plan = prevalidate(args)
        if plan.error:
            return fail(plan.error)
    _EXIT_CODES.clear()
    main_fn = hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")(
        _task
    )
    saved = sys.argv
    sys.argv = ["cpec-sim run", *args]
    try:
        main_fn()
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:  # Hydra's own argument errors, e.g. -m together with --cfg
        return fail(_friendly(exc))
    finally:
        sys.argv = saved
    if plan.sweep_dir is not None and plan.sweep_dir.is_dir():
        statuses = write_sweep_index(plan)  # jobs may have run in other processes (launchers)
        codes = {"complete": 0, "failed": 1, "interrupted": 130, "running": 1}
        _EXIT_CODES.extend(codes.get(s, 1) for s in statuses)
        print(
            f"sweep directory: {plan.sweep_dir}  (compare with: cpec-sim compare {plan.sweep_dir})"
        )
    return max(_EXIT_CODES, default=0)


def write_sweep_index(plan: Plan) -> list[str]:
    """Write ``sweep.json`` (experiment, swept keys, each job's directory, overrides, status).

    Returns the jobs' statuses.
    """
    import json

    from sim.files import atomic_write_json

    assert plan.sweep_dir is not None
    jobs = []
    for manifest in sorted(plan.sweep_dir.glob("*/manifest.json")):
        data = json.loads(manifest.read_text())
        values = dict(o.lstrip("+").split("=", 1) for o in data.get("overrides", []) if "=" in o)
        jobs.append({"dir": manifest.parent.name, "overrides": values, "status": data["status"]})
    atomic_write_json(
        plan.sweep_dir / "sweep.json",
        {"experiment": plan.experiment, "swept": sorted(plan.swept), "jobs": jobs},
    )
    return [job["status"] for job in jobs]


def scenarios_command(args: list[str]) -> int:
    """``cpec-sim scenarios``: one line per scenario."""
    if args:
        return fail(f"scenarios takes no arguments (got {' '.join(args)})")
    from sim.config import load_scenario, scenario_names

    names = scenario_names()
    width = max(map(len, names))
    for name in names:
        desc = " ".join(str(load_scenario(name)["scenario"]["description"]).split())
        print(f"{name:{width}s}  {desc}")
    return 0


def _lazy(module: str, func: str) -> Callable[[list[str]], int]:
    def call(args: list[str]) -> int:
        import importlib

        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError) as exc:
            return fail(f"this command is not available in this installation ({exc})")
        return int(fn(args))

    return call


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": run_command,
    "scenarios": scenarios_command,
    "compare": _lazy("sim.analysis.cli", "compare_command"),
    "plot": _lazy("sim.analysis.cli", "plot_command"),
    "report": _lazy("sim.analysis.cli", "report_command"),
    "validate": _lazy("sim.validation", "validate_command"),
    "dashboard": _lazy("sim.dashboard.cli", "dashboard_command"),
    "sensitivity": _lazy("sim.explore.cli", "sensitivity_command"),
    "discover": _lazy("sim.explore.cli", "discover_command"),
    "calibrate": _lazy("sim.calibration.cli", "calibrate_command"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cpec-sim``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv[0] in ("--version", "-V"):
        from sim import __version__

        print(f"cpec-sim {__version__}")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        return fail(f"unknown command {argv[0]!r}: choose one of {', '.join(COMMANDS)}")
    return command(argv[1:])


def entry() -> None:
    """Console-script wrapper: exit with main()'s code."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
