"""Calibration against observed public data (issue #6).

A spec (``calibration/*.toml``) names an observed series, the model metric it is compared
with, the parameters to fit with bounds, the loss and the method; :func:`calibrate` fits it and
returns a :class:`CalibrationResult` (the ``fit.json`` content, a ``calibrated.toml`` overlay
and the fit chart's tables). The model is used only through its public API: parameters are
set by key path on a scenario and runs go through :func:`sim.experiments.run_ensemble`.
See docs/calibration.md.
"""

from __future__ import annotations

from sim.experiments.calibration.calibrate import CalibrationInterrupted, calibrate, read_series
from sim.experiments.calibration.objective import default_workers, log_likelihood, set_path
from sim.experiments.calibration.observed import ObservedSeries, parse_date, read_observed
from sim.experiments.calibration.report import CalibrationResult, goodness_of_fit
from sim.experiments.calibration.spec import (
    BUDGET_NAMES,
    CALIBRATION_PARAMETERS,
    CalibrationError,
    CalibrationSpec,
    LoadedSpec,
    load_spec,
    with_observed,
)

__all__ = [
    "BUDGET_NAMES",
    "CALIBRATION_PARAMETERS",
    "CalibrationError",
    "CalibrationInterrupted",
    "CalibrationResult",
    "CalibrationSpec",
    "LoadedSpec",
    "ObservedSeries",
    "calibrate",
    "default_workers",
    "goodness_of_fit",
    "load_spec",
    "log_likelihood",
    "parse_date",
    "read_observed",
    "read_series",
    "set_path",
    "with_observed",
]
