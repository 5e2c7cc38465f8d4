"""How hard a calibration tries: its settings, and the documented and fast ones.

A module of its own, light to import: checking whether a stored calibration is at the documented
settings (``sim.calibration.shipped``) needs these, not pyabc.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    """How hard to try: particles per generation, generations, pilot size, seed, workers."""

    population: int = 400
    generations: int = 8
    min_acceptance: float = 0.01
    pilot: int = 400
    draws: int = 1000
    seed: int = 0
    jobs: int = 1
    transition: str = "normal*3"

    def identity(self) -> dict[str, Any]:
        """What determines the result (``jobs`` does not; ``generations`` may grow)."""
        return {
            "population": self.population,
            "min_acceptance": self.min_acceptance,
            "pilot": self.pilot,
            "draws": self.draws,
            "seed": self.seed,
            "transition": self.transition,
        }


#: The documented calibration and the small one for workshops and CI.
FULL = Settings(population=400, generations=6, pilot=400, draws=1000)
FAST = Settings(population=60, generations=3, pilot=100, draws=200)


#: The shipped calibration file as a manifest records it (``pipeline.space_file_name``).
SHIPPED_FILE = "experiments/uncertainty/calibration.yaml"


def resume_command(manifest: dict[str, Any], folder: Path) -> str | None:
    """The ``cpec-sim calibrate`` line that resumes the calibration a manifest describes:
    its window, its settings (``--fast`` and what differs from it) and its file; None for a
    calibration no command line makes (one called from Python with other settings)."""
    settings = manifest.get("settings") or {}
    sizes = (settings.get("pilot"), settings.get("draws"))
    if sizes not in ((FAST.pilot, FAST.draws), (FULL.pilot, FULL.draws)):
        return None
    fast = sizes == (FAST.pilot, FAST.draws)
    base = FAST if fast else FULL
    words = ["cpec-sim calibrate"]
    if manifest.get("window") == "hindcast":
        words.append("--hindcast")
    if fast:
        words.append("--fast")
    for option, name in (("--population", "population"), ("--generations", "generations")):
        if settings.get(name, getattr(base, name)) != getattr(base, name):
            words.append(f"{option} {settings[name]}")
    if settings.get("seed", 0) != 0:
        words.append(f"--seed {settings['seed']}")
    space_file = str(manifest.get("space_file") or "")
    if space_file and space_file != SHIPPED_FILE:
        words.append(f"--file {space_file}")
    words.append(f"--out {folder}")
    return " ".join(words)


__all__ = ["FAST", "FULL", "Settings", "resume_command"]
