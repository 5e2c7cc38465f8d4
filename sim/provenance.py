"""What made a result besides its settings: the model's code, the libraries, the commit.

A run's seed and parameters fix its replicates only together with the model's rules and data
(:func:`sim.fingerprint.model_fingerprint`) and the libraries that draw and compute: Numba
compiles the rules' random draws, NumPy's generator draws the Mesa model's, and NumPy allows
its generator's distributions to change between versions (NEP 19). Every manifest records
them, so that a reader can tell which model and which libraries made a result, and
``compare`` can say when it sets results of two models side by side.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

#: The libraries whose versions a manifest records: those that draw the random numbers or
#: compute and store the results.
PACKAGES = ("numpy", "numba", "mesa", "scipy", "pandas", "pyarrow", "hydra-core")

#: The libraries that draw random numbers (Numba compiles the rules' draws, NumPy draws the
#: Mesa model's and seeds both; Mesa orders the Mesa model's agents): another version may
#: give other replicates for one seed. ``compare`` cautions about these only: the others
#: store and compute what the runs made.
DRAWING = ("numpy", "numba", "mesa")
DRAWS = " (which draws the random numbers: one seed may give other replicates)"

_CHECKOUT = Path(__file__).resolve().parent.parent


def provenance(*extra: str) -> dict[str, Any]:
    """The entries a manifest records: ``model`` (the fingerprint of the rules, data and
    Mesa model's code) and :func:`environment`'s."""
    from sim.fingerprint import model_fingerprint

    return {"model": model_fingerprint(), **environment(*extra)}


def environment(*extra: str) -> dict[str, Any]:
    """``packages`` (the versions of :data:`PACKAGES` and of ``extra``) and, from a git
    checkout, ``commit`` (with ``-dirty`` when the code differs from it: :func:`code_commit`)."""
    entry: dict[str, Any] = {"packages": package_versions(PACKAGES + extra)}
    commit = code_commit()
    if commit:
        entry["commit"] = commit
    return entry


def scenario_files(**scenarios: str | None) -> dict[str, str]:
    """``{key: PATH}`` for each scenario given by keyword (``scenario_file="mine"``) that comes
    from a folder of ``$CPEC_SCENARIO_PATH``: the file its parameters were read from, for
    whoever re-runs the result. The shipped scenarios, and ``None``, are left out."""
    from sim.config import user_scenario_file

    found = {}
    for key, name in scenarios.items():
        path = user_scenario_file(name) if name else None
        if path is not None:
            found[key] = str(path.resolve())
    return found


@cache
def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each package named (``"absent"`` if one is not)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


@cache
def code_commit() -> str:
    """The commit of the git checkout this package runs from, ``-dirty`` if its code differs
    from it (:func:`_changes_the_code`); empty when the package is not a checkout's (an
    installed copy) or git is missing. Read once a process."""
    if not (_CHECKOUT / ".git").exists():
        return ""
    try:
        head = _git("rev-parse", "HEAD")
        changes = _git("status", "--porcelain", "--untracked-files=all").splitlines()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{head}-dirty" if any(_changes_the_code(line) for line in changes) else head


def _changes_the_code(line: str) -> bool:
    """Whether a line of ``git status --porcelain`` is a change of the checkout's code: any
    tracked file changed, or a new file under ``sim/`` or ``configs/`` (a new rule file, a
    new scenario) not yet added."""
    if not line.startswith("??"):
        return bool(line.strip())
    return line[3:].strip('"').startswith(("sim/", "configs/"))


def _git(*args: str) -> str:
    """``git ARGS`` in the checkout, whatever repository ``GIT_DIR`` and the like point at
    (a git hook sets them) and whoever owns it (git refuses a checkout of another user's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        ["git", "-c", "safe.directory=*", "-C", str(_CHECKOUT), *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
        env=env,
    )
    return done.stdout.strip()


def model_differences(manifests: dict[str, dict[str, Any]]) -> list[str]:
    """Lines naming where results made by different models or libraries are set side by
    side: per label its manifest. Empty when all agree or none recorded them (results
    written before manifests did)."""
    lines = []
    models = {label: m["model"] for label, m in manifests.items() if m.get("model")}
    if len(set(models.values())) > 1:
        groups = _grouped(models)
        lines.append(
            "Caution: these runs were made by different versions of the model (its rules, "
            "data or Mesa code; `model` in each manifest): "
            + "; ".join(f"{v} for {', '.join(k)}" for v, k in groups.items())
            + ". A difference between them includes what the code change did, not only what "
            "the settings did."
        )
    unrecorded = [label for label, m in manifests.items() if not m.get("model")]
    if models and unrecorded:
        lines.append(
            f"Note: {', '.join(unrecorded)} record{'s' if len(unrecorded) == 1 else ''} no "
            "model version (made before manifests recorded it): whether "
            f"{'it was' if len(unrecorded) == 1 else 'they were'} made by the same model as "
            "the others cannot be told."
        )
    for name in DRAWING:
        found = {
            label: str(m["packages"][name])
            for label, m in manifests.items()
            if isinstance(m.get("packages"), dict) and name in m["packages"]
        }
        if len(set(found.values())) > 1:
            groups = _grouped(found)
            lines.append(
                f"Caution: these runs were made with different versions of {name}{DRAWS}: "
                + "; ".join(f"{v} for {', '.join(k)}" for v, k in groups.items())
                + "."
            )
    return lines


def _grouped(values: dict[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for label, value in values.items():
        groups.setdefault(value, []).append(label)
    return groups
