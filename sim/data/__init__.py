"""The sourced data files the model is calibrated and validated against (sources: README.md)."""

from __future__ import annotations

import csv
from importlib import resources


def rows(name: str) -> list[dict[str, str]]:
    """The rows of the data file ``name`` (a CSV in this package), as dictionaries."""
    with resources.files(__name__).joinpath(name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
