"""Balochistan-CPEC scenario sandbox: an agent-based model of the 2024 security crisis."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sim.model import CrisisModel
    from sim.params import ModelParams

__all__ = ["CrisisModel", "ModelParams", "__version__"]


def __getattr__(name: str) -> object:
    """Import the model lazily so that ``import sim`` (e.g. by the CLI) stays cheap."""
    if name == "CrisisModel":
        from sim.model import CrisisModel

        return CrisisModel
    if name == "ModelParams":
        from sim.params import ModelParams

        return ModelParams
    raise AttributeError(name)
