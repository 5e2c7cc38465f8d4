"""What a folder of cpec-sim's holds: a run's files, a sweep's runs, and what the analysis
commands write beside them. The command line refuses an output folder holding anything else
(a user's files), and so does :func:`sim.runner.run` from a notebook. Light to import."""

from __future__ import annotations

from pathlib import Path

from sim.analysis.outputs import analysis_files
from sim.files import LITTER, holds_run_chunks, not_chunk_files, read_json_object

#: What a run folder of ours may hold, and what a sweep folder may hold besides run folders:
#: what the run writes (``.submitit``: the submitit launchers' pickles and logs, see
#: configs/hydra/launcher/), and (beside its manifest or sweep index) what ``compare`` and
#: ``report`` write.
ANALYSIS_FILES = analysis_files()
#: Where a run keeps its Hydra job's record, as Hydra's ``hydra.output_subdir`` would.
HYDRA_RECORD = ".hydra"
RUN_ENTRIES = (
    frozenset(
        {"manifest.json", "config.yaml", HYDRA_RECORD, ".lock", "chunks", "failures", "plots"}
        | {"summary.parquet", "timeseries.parquet", "events.parquet"}
    )
    | ANALYSIS_FILES
)
SWEEP_ENTRIES = frozenset(("sweep.json", "multirun.yaml", ".jobs", ".submitit")) | ANALYSIS_FILES


def named_few(names: list[str]) -> str:
    """The first three of ``names``, and how many more: how a refused folder names what is
    not ours."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if names[3:] else "")


def telling_entries(folder: Path) -> list[Path]:
    """The entries of a run or sweep folder that say what it holds (not our temporary files,
    nor a file browser's litter, which made a finished run impossible to re-run)."""
    return [
        e
        for e in folder.iterdir()
        if not (e.name.startswith(".") and e.name.endswith(".tmp")) and e.name not in LITTER
    ]


def _our_manifest(folder: Path) -> bool:
    """No manifest, a cpec-sim manifest, or an unreadable one next to our chunks."""
    path = folder / "manifest.json"
    if not path.exists():
        return True
    data = read_json_object(path)
    if data is None:
        return (folder / "chunks").is_dir()
    return data.get("package") == "cpec-sim"


def is_run_folder(folder: Path) -> bool:
    """Empty, or holding only what a cpec-sim run writes (its manifest or its chunks say so),
    and what ``compare`` and ``report`` write beside a run."""
    return not not_of_a_run(folder)


def not_of_a_run(folder: Path) -> list[str]:
    """The names in ``folder`` that keep it from being a run folder (:func:`is_run_folder`)."""
    # a run whose manifest was lost is still one by its chunks: re-running it rebuilds the
    # manifest, and its report or comparison may stay
    ran = (folder / "manifest.json").is_file() or holds_run_chunks(folder)
    ours = RUN_ENTRIES if ran else RUN_ENTRIES - ANALYSIS_FILES
    foreign = sorted(e.name for e in telling_entries(folder) if e.name not in ours)
    foreign += not_chunk_files(folder)
    return foreign or ([] if _our_manifest(folder) else ["manifest.json"])


def is_sweep_folder(folder: Path) -> bool:
    """Empty, or holding only a sweep index and run folders of cpec-sim, and what ``compare``
    and ``report`` write beside a sweep index, or beside Hydra's ``multirun.yaml`` and a run
    of cpec-sim (a sweep stopped before it wrote its index may have been compared)."""
    return not not_of_a_sweep(folder)


def not_of_a_sweep(folder: Path) -> list[str]:
    """The names in ``folder`` that keep it from being a sweep folder (:func:`is_sweep_folder`)."""
    inside_folder = telling_entries(folder)
    runs = {e for e in inside_folder if e.is_dir() and is_run_folder(e)}  # each manifest read once
    index = (folder / "sweep.json").is_file()
    killed = (folder / "multirun.yaml").is_file() and any(  # Hydra writes it first
        (e / "manifest.json").is_file() for e in runs
    )
    ours = SWEEP_ENTRIES if index or killed else SWEEP_ENTRIES - ANALYSIS_FILES
    foreign = []
    for e in sorted(inside_folder, key=lambda e: e.name):
        if e.name in ours or e in runs:
            continue
        inside = not_of_a_run(e) if e.is_dir() and (e / "manifest.json").is_file() else []
        # a job's folder with a file of the user's in it: name the file, not the job
        foreign += [f"{e.name}/{name}" for name in inside] or [e.name]
    return foreign
