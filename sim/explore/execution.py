"""How a study's points are run: replicates and seed, workers and engine, progress and manifest.

:func:`sim.explore.evaluate.evaluate`, :func:`sim.explore.sensitivity.run_sensitivity` and
:func:`sim.explore.discovery.run_discovery` take one :class:`Execution` besides what is
particular to them (the design, the method, the case of interest)::

    run_sensitivity(space, fn, out, method="morris", samples=10,
                    execution=Execution(replicates=5, jobs=2, progress=None))
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass(frozen=True)
class Execution:
    """The settings shared by every evaluation of a design.

    ``seed`` is the root seed of the replicates (replicate ``r`` of every point uses
    ``sim.runner.replicate_seed(seed, r)``) and of the samplers. ``engine`` is ``local`` (a
    process pool of ``jobs`` workers; one runs in-process) or ``dask`` (``scheduler``: an
    address such as ``tcp://10.0.0.5:8786``, or none for a local cluster). ``chunk_points``
    is the number of points per stored chunk (None: chosen from the size of the design).
    ``progress`` receives the progress bar (None: no bar); ``meta`` is stored in the manifest.
    """

    replicates: int = 1
    seed: int = 0
    jobs: int = 1
    engine: str = "local"
    scheduler: str | None = None
    chunk_points: int | None = None
    #: Replicate r of every point shares its seed (common random numbers, the default);
    #: False gives every replicate of every point its own (points independent, as a test
    #: across points needs: a discovery's holdout).
    common_seeds: bool = True
    progress: TextIO | None = sys.stderr
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def with_meta(self, entries: Mapping[str, Any]) -> Execution:
        """A copy whose ``meta`` also holds ``entries`` (its own entries win on a clash)."""
        return dataclasses.replace(self, meta={**entries, **self.meta})


#: One replicate, seed 0, in this process, progress on stderr.
DEFAULT_EXECUTION = Execution()
