"""Bayesian calibration of the model against the observed record (``cpec-sim calibrate``).

* :mod:`sim.calibration.space` – the calibrated parameters and their priors (an
  ``experiments/uncertainty/`` file);
* :mod:`sim.calibration.record` – the observed statistics, from ``sim/data``;
* :mod:`sim.calibration.simulator` – one replicate's summary statistics and the simulator
  that ABC calls;
* :mod:`sim.calibration.abc` – ABC-SMC (pyabc) with a reproducible, resumable sampler;
* :mod:`sim.calibration.diagnostics` – posterior predictive checks, identifiability, plots;
* :mod:`sim.calibration.scoring` – proper scoring rules and the scored hindcast;
* :mod:`sim.calibration.cli` – the command.

Analysis modules read the stored calibration; only the simulator imports the model.
"""
