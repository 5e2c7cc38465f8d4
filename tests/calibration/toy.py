"""A toy simulator with a known posterior: ten draws of N(theta, 1), summarised by their mean.

With a flat prior on theta (wide uniform) and observed mean m, the posterior is
N(m, 1/sqrt(10)) (truncation negligible).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

N_DRAWS = 10
POSTERIOR_SD = 1 / np.sqrt(N_DRAWS)


def toy(values: Mapping[str, float], seed: int) -> dict[str, float]:
    """Mean of ten N(theta, 1) draws."""
    rng = np.random.default_rng(seed)
    return {"mean": float(rng.normal(values["theta"], 1.0, size=N_DRAWS).mean())}


def constant(values: Mapping[str, float], seed: int) -> dict[str, float]:
    """A simulator blind to every parameter: the same noise whatever the values."""
    return toy({"theta": 0.0}, seed)


def nap(job: tuple[str, int]) -> int:
    """A slow task (0.2 s) that notes in the file ``job[0]`` that task ``job[1]`` started."""
    import time

    log, i = job
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{i}\n")
    time.sleep(0.2)
    return i
