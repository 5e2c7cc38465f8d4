"""Preloaded by the runner's fork server for runs with keyed streams: the engine's keyed
variant loaded too (compiled the first time, and said: :mod:`sim.engine_warm`)."""

from __future__ import annotations

from sim.engine import run_replicate
from sim.engine_warm import saying_when_it_compiles, without_blas_probe
from sim.params import ModelParams

with without_blas_probe(), saying_when_it_compiles():
    run_replicate(ModelParams(), weeks=4, seed=0, streams="keyed")
