"""Calibration specs: which observed series is compared with which model metric, and how.

A spec is a TOML file (``calibration/*.toml``) validated once, at load, into a frozen
:class:`CalibrationSpec`. It says

* ``[observed]``: the data file (relative to the spec), its date and value columns, what the
  value is (a count of LAs, a share, or a rate), filters and documented exclusions;
* ``[model]``: the scenario the model runs (an "uptake only" or "workforce only" configuration
  under ``calibration/models/``), extra ``--set`` overrides, the metric compared, and how a
  month's metric becomes an observed value (window, aggregation, denominator);
* ``[[parameters]]``: what is fitted, by key path (``uptake.q_per_year``) with bounds and a
  linear or log scale; ``calibration.market_share`` is a calibration-layer parameter (a scale
  on the simulated curve, see :data:`CALIBRATION_PARAMETERS`), not a model parameter;
* ``[loss]``: weighted least squares, or a Poisson- or binomial-variance likelihood for counts
  and shares, with the model's own stochastic covariance added (a synthetic likelihood);
* ``[method]``: ``abc`` (adaptive importance sampling of the posterior), ``least_squares`` or
  ``differential_evolution`` (with a parametric bootstrap), ``closed_form`` (a rate is a rate)
  or ``trend`` (a descriptive trend that informs no model parameter), with ``small`` and
  ``full`` budgets;
* ``[quality]``: the documented fit quality the fit must meet (checked in CI).

Every problem is a :class:`CalibrationError` naming the file, the key path, the value and the
rule, in the style of :class:`sim.scenario.ScenarioError` (which it subclasses).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.scenario import ScenarioError, load_scenario
from sim.scenario.errors import explain_validation_error
from sim.scenario.load import get_path, parse_toml, read_input_text

__all__ = [
    "BUDGET_NAMES",
    "CALIBRATION_PARAMETERS",
    "Budget",
    "CalibrationError",
    "CalibrationSpec",
    "LoadedSpec",
    "load_spec",
    "with_observed",
]

CALIBRATION_PARAMETERS = {
    "calibration.market_share": (
        "Market potential m of the Bass model as a share of LAs: the simulated member share is "
        "scaled by m before it is compared with the data (observed ≈ m × simulated share × "
        "population). Equivalent to Bass with market m when imitation acts on adopters as a "
        "share of the market. Not a model parameter itself: the model bounds paying members "
        "by willingness to pay, and --parameter-uncertainty turns a drawn m into the median "
        "willingness to pay at which a share m of LAs pays (docs/calibration.md §7)."
    ),
    "calibration.initial_share": (
        "Adopters at the model's start as a share of the population, estimated with the other "
        "parameters (model.initial_adopters = \"estimated\"): the first observation is data "
        "with its own error, not a seed. Sets uptake.initial_aware_count = N × initial_share "
        "÷ m (an exact seed of LAs)."
    ),
}
"""Parameters that live in the calibration layer, not in the scenario schema."""
MARKET_SHARE, INITIAL_SHARE = "calibration.market_share", "calibration.initial_share"

BUDGET_NAMES = ("small", "full")

_YEAR_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class CalibrationError(ScenarioError):
    """A bad spec or observed file: names the file, the key path (or row), the value, the rule."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Meta(_Strict):
    name: str = Field(min_length=1, max_length=60, description="Short name of the fit.")
    description: str = ""

    @field_validator("name")
    @classmethod
    def _safe(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("must use only letters, digits, '_', '.' and '-'")
        return value


class Exclusion(_Strict):
    date: str = Field(min_length=1, description="The row's date exactly as written in the file.")
    reason: str = Field(min_length=1, description="Why the point is left out (shown in fit.json).")


class Observed(_Strict):
    file: str = Field(min_length=1)
    date_column: str = Field(min_length=1)
    value_column: str = Field(min_length=1)
    kind: Literal["count", "share", "rate"] = "count"
    population: float | None = Field(default=None, gt=0,
                                     description="LAs a count or share is out of.")
    population_column: str | None = None
    value_scale: float = Field(default=1.0, gt=0,
                               description="Multiplier on values (0.01 for percent).")
    year_only_month: int = Field(default=7, ge=1, le=12,
                                 description="Month given to a date 'YYYY'.")
    filter: dict[str, str | int | float] = Field(default_factory=dict)
    exclude: tuple[Exclusion, ...] = ()
    weight_column: str | None = None


class Model(_Strict):
    scenario: str = Field(min_length=1)
    overrides: tuple[str, ...] = ()
    start: str | None = None
    metric: str = Field(min_length=1)
    denominator: str | None = None
    window_months: int = Field(default=1, ge=1, le=120)
    aggregate: Literal["end", "sum", "mean"] = "end"
    scale: float = Field(default=1.0, gt=0)
    initial_adopters: Literal["none", "first_observation", "estimated"] = "none"
    seed: int = Field(default=20260401, ge=0)

    @field_validator("start")
    @classmethod
    def _year_month(cls, value: str | None) -> str | None:
        if value is not None and not _YEAR_MONTH.fullmatch(value):
            raise ValueError("must be a year and month written YYYY-MM, e.g. 2008-01")
        return value


class Parameter(_Strict):
    path: str = Field(min_length=1)
    lower: float
    upper: float
    scale: Literal["linear", "log"] = "linear"
    description: str = ""

    @model_validator(mode="after")
    def _bounds(self) -> Parameter:
        if not self.upper > self.lower:
            raise ValueError(f"upper must be greater than lower ({self.lower}), got {self.upper}")
        if self.scale == "log" and self.lower <= 0:
            raise ValueError(f"lower must be positive on a log scale, got {self.lower}")
        return self


class Loss(_Strict):
    kind: Literal["wls", "poisson", "binomial"] = "poisson"
    dispersion: float | Literal["estimated"] = "estimated"
    dispersion_prior_dof: float | None = Field(
        default=None, ge=0, le=1000, description="Degrees of freedom of the dispersion's prior "
        "(default 2 for poisson and binomial, 0 for wls).")
    dispersion_prior_value: float = Field(
        default=1.0, gt=0, description="Centre of the dispersion's prior (1: Poisson or binomial "
        "variance).")
    model_variance: bool = False

    @property
    def prior_dof(self) -> float:
        if self.dispersion_prior_dof is not None:
            return self.dispersion_prior_dof
        return 0.0 if self.kind == "wls" else 2.0

    @field_validator("dispersion")
    @classmethod
    def _positive(cls, value: float | str) -> float | str:
        if not isinstance(value, str) and value <= 0:
            raise ValueError("must be positive or \"estimated\"")
        return value


class Budget(_Strict):
    replicates: int = Field(default=40, ge=2, le=10_000,
                            description="Model replicates per evaluation.")
    evaluations: int = Field(default=64, ge=4, le=100_000,
                             description="Evaluations per round (abc) or in all (optimisers).")
    rounds: int = Field(default=3, ge=1, le=20, description="abc: importance-sampling rounds.")
    polish: int = Field(default=20, ge=0, le=10_000,
                        description="Evaluations for a local polish of the best point.")
    bootstrap: int = Field(default=200, ge=2, le=100_000,
                           description="Bootstrap refits or resamples.")
    posterior_samples: int = Field(default=1000, ge=10, le=100_000)
    band_draws: int = Field(default=20, ge=0, le=1000,
                            description="Parameter draws simulated for the fit chart's band.")


SMALL = Budget(replicates=20, evaluations=32, rounds=3, polish=10, bootstrap=16,
               posterior_samples=400, band_draws=8)
FULL = Budget(replicates=50, evaluations=128, rounds=5, polish=30, bootstrap=100,
              posterior_samples=1000, band_draws=30)


class Method(_Strict):
    kind: Literal["abc", "bass", "least_squares", "differential_evolution", "closed_form",
                  "trend"]
    seed: int = Field(default=1, ge=0)
    interval: float = Field(default=0.9, gt=0, lt=1, description="Central interval reported.")
    rate_to_hazard: bool = False
    group_column: str | None = None
    spread_filter: dict[str, str | int | float] = Field(default_factory=dict)
    describe_columns: tuple[str, ...] = ()
    small: Budget = SMALL
    full: Budget = FULL

    @field_validator("small", "full", mode="before")
    @classmethod
    def _over_preset(cls, value: Any, info: Any) -> Any:
        """A partial budget table changes only the values it names."""
        if isinstance(value, Mapping):
            preset = SMALL if info.field_name == "small" else FULL
            return {**preset.model_dump(), **value}
        return value


class Quality(_Strict):
    min_r2: float | None = Field(default=None, le=1)
    max_rmse: float | None = Field(default=None, gt=0)


class CalibrationSpec(_Strict):
    meta: Meta
    observed: Observed
    model: Model | None = None
    parameters: tuple[Parameter, ...] = ()
    loss: Loss = Loss()
    method: Method
    quality: Quality = Quality()

    @model_validator(mode="before")
    @classmethod
    def _initial_share(cls, data: Any) -> Any:
        """``initial_adopters = "estimated"`` fits ``calibration.initial_share`` (bounds 0–1
        unless the spec lists it with its own)."""
        if not isinstance(data, Mapping):
            return data
        model = data.get("model")
        params = data.get("parameters", ())
        if (isinstance(model, Mapping) and model.get("initial_adopters") == "estimated"
                and isinstance(params, list | tuple)
                and not any(isinstance(p, Mapping) and p.get("path") == INITIAL_SHARE
                            for p in params)):
            return {**data, "parameters": [*params, {"path": INITIAL_SHARE, "lower": 0.0,
                                                     "upper": 1.0}]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> CalibrationSpec:
        kind = self.method.kind
        paths = [p.path for p in self.parameters]
        repeated = sorted({p for p in paths if paths.count(p) > 1})
        if repeated:
            raise ValueError(f"parameters must be distinct; repeated: {', '.join(repeated)}")
        layer = [p for p in paths if p.startswith("calibration.")]
        unknown = [p for p in layer if p not in CALIBRATION_PARAMETERS]
        if unknown:
            raise ValueError(f"parameters {unknown[0]!r} is not a calibration-layer parameter; "
                             f"allowed: {', '.join(CALIBRATION_PARAMETERS)}")
        seeding = self.model.initial_adopters if self.model else "none"
        if INITIAL_SHARE in paths and seeding != "estimated":
            raise ValueError(f"parameters {INITIAL_SHARE!r} needs model.initial_adopters = "
                             f"\"estimated\", got {seeding!r}")
        if kind == "bass":
            allowed = {"uptake.p_per_year", "uptake.q_per_year", MARKET_SHARE, INITIAL_SHARE}
            other = [p for p in paths if p not in allowed]
            if other or self.observed.kind != "count" or self.model is None:
                raise ValueError("method.kind 'bass' (the closed-form Bass curve) fits counts "
                                 "with a [model] and only the parameters "
                                 f"{', '.join(sorted(allowed))}; got {other or self.observed.kind}")
        if kind in ("abc", "bass", "least_squares", "differential_evolution"):
            if self.model is None:
                raise ValueError(f"model is required by method.kind = {kind!r}")
            if not self.parameters:
                raise ValueError(f"parameters must name at least one parameter for {kind!r}")
            if len(layer) == len(paths):
                raise ValueError("parameters must include at least one model parameter")
        if kind == "closed_form" and (len(paths) != 1 or layer):
            raise ValueError("parameters must name exactly one model parameter for closed_form")
        if kind == "trend" and (paths or self.model is not None):
            raise ValueError("method.kind 'trend' fits no model parameter: give no parameters "
                             "and no [model]")
        if layer and self.observed.kind == "rate":
            raise ValueError("calibration.market_share applies to counts and shares, not rates")
        if self.model and self.model.initial_adopters != "none" and self.observed.kind == "rate":
            raise ValueError("model.initial_adopters applies to counts and shares, not rates")
        return self

    def budget(self, name: str) -> Budget:
        """The ``small`` or ``full`` budget."""
        if name not in BUDGET_NAMES:
            raise ValueError(f"budget must be one of {BUDGET_NAMES}, got {name!r}")
        return self.method.small if name == "small" else self.method.full


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with its resolved files.

    Attributes
    ----------
    spec : the validated spec.
    path : the spec file.
    text : the spec file's text (copied beside the results).
    observed_path : the observed data file, resolved against the spec's folder.
    scenario_path : the model's scenario file, resolved likewise (None without ``[model]``).
    """

    spec: CalibrationSpec
    path: Path
    text: str
    observed_path: Path
    scenario_path: Path | None

    @property
    def source(self) -> str:
        return str(self.path)


# --------------------------------------------------------------------------- loading


def _check_model(loaded: LoadedSpec) -> None:
    """The scenario loads with the overrides, the metrics exist, each bound is allowed."""
    from sim.model import METRICS

    spec, source = loaded.spec, loaded.source
    model = spec.model
    if model is None or loaded.scenario_path is None:
        return
    for key in ("metric", "denominator"):
        name = getattr(model, key)
        if name is not None and name not in METRICS:
            close = difflib.get_close_matches(name, list(METRICS), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise CalibrationError(source, f"model.{key}",
                                   f"is not a model metric{hint}, got {name!r}; see "
                                   "docs/outputs.md")
    try:
        load_scenario(loaded.scenario_path, model.overrides)
    except ScenarioError as exc:
        raise CalibrationError(source, "model",
                               f"scenario or overrides do not load: {exc}") from None
    for i, parameter in enumerate(spec.parameters):
        if parameter.path.startswith("calibration."):
            continue
        for bound in ("lower", "upper"):
            value = getattr(parameter, bound)
            try:
                scenario = load_scenario(loaded.scenario_path,
                                         [*model.overrides, f"{parameter.path}={value!r}"])
            except ScenarioError as exc:
                raise CalibrationError(source, f"parameters[{i}].{bound}",
                                       f"{value!r} is not allowed for {parameter.path}: "
                                       f"{exc.path} {exc.message}") from None
            if not isinstance(get_path(scenario.model_dump(), parameter.path), int | float):
                raise CalibrationError(source, f"parameters[{i}].path",
                                       "must name a number in the scenario, got "
                                       f"{parameter.path!r}")


def load_spec(path: str | Path) -> LoadedSpec:
    """Read and validate a calibration spec (and check it against the model's schema).

    Raises
    ------
    CalibrationError
        naming the spec file, the key path, the value and the rule.
    """
    path = Path(path)
    try:  # bounded: a regular .toml file, at most 1 MiB, nested at most 16 deep
        text = read_input_text(path, kind="calibration")
        data = parse_toml(text, str(path))
    except ScenarioError as exc:
        raise CalibrationError(exc.source, exc.path, exc.message) from None
    try:
        spec = CalibrationSpec.model_validate(data)
    except ValidationError as exc:
        raise CalibrationError(str(path), *explain_validation_error(exc, CalibrationSpec)) from None
    folder = path.parent
    loaded = LoadedSpec(
        spec=spec, path=path, text=text,
        observed_path=folder / spec.observed.file,
        scenario_path=(folder / spec.model.scenario) if spec.model else None,
    )
    if loaded.scenario_path is not None and not loaded.scenario_path.is_file():
        raise CalibrationError(str(path), "model.scenario",
                               f"file not found: {loaded.scenario_path}")
    _check_model(loaded)
    return loaded


def with_observed(loaded: LoadedSpec, file: str | Path, date_column: str, value_column: str,
                  *, population: float | None = None, initial_adopters: str | None = None,
                  loss: str | None = None, model_variance: bool | None = None) -> LoadedSpec:
    """The same spec fitted to another observed series (``calibrate --observed``).

    The file's own columns replace the spec's; filters, exclusions, the population column and
    a fixed ``model.start`` are dropped (they describe the spec's file), so the model starts at
    the new series' first date. Kind, population, value scale, model, parameters, loss and
    method are kept unless given here: ``population`` (LAs a count is out of),
    ``initial_adopters`` (``none``, ``first_observation`` or ``estimated``), ``loss`` (its
    kind) and ``model_variance``. The name and description become the file's, so labels,
    titles and ``fit.json`` describe the file actually fitted.

    Raises
    ------
    CalibrationError
        when an option breaks a rule of the spec (named as the option, with its value).
    """
    spec = loaded.spec
    data = spec.model_dump(mode="python")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(file).stem)[:60] or "observed"
    data["meta"] = {"name": stem, "description": (
        f"{Path(file).name} (column {value_column}), fitted with the model, parameters and "
        f"method of the spec {spec.meta.name}")}
    data["observed"].update({
        "file": str(file), "date_column": date_column, "value_column": value_column,
        "population_column": None, "filter": {}, "exclude": (), "weight_column": None,
    })
    if population is not None:
        data["observed"]["population"] = population
    if data.get("model"):
        data["model"]["start"] = None
        if initial_adopters is not None:
            data["model"]["initial_adopters"] = initial_adopters
            if initial_adopters != "estimated":
                data["parameters"] = [p for p in data["parameters"]
                                      if p["path"] != INITIAL_SHARE]
    elif initial_adopters is not None:
        raise CalibrationError(str(loaded.path), "--initial-adopters",
                               f"needs a spec with a [model], got {initial_adopters!r}")
    if loss is not None:
        data["loss"]["kind"] = loss
    if model_variance is not None:
        data["loss"]["model_variance"] = model_variance
    try:
        new = CalibrationSpec.model_validate(data)
    except ValidationError as exc:
        raise CalibrationError(str(loaded.path), *explain_validation_error(
            exc, CalibrationSpec)) from None
    return replace(loaded, spec=new, observed_path=Path(file))
