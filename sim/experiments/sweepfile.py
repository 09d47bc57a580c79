"""Sweep files: TOML naming a base scenario, the parameters to vary, a design, and what to collect.

A sweep file is validated like a scenario file: unknown keys are errors with a "did you mean",
every value is checked, and each parameter's key path is applied to the base scenario at its
extreme values, so a path that names no parameter, or a range the schema forbids, is caught
before anything runs. Problems are raised as :class:`~sim.scenario.ScenarioError`, whose text
names the file, the key path, the value and the rule::

    scenarios/sweeps/x.toml: parameters[1].high must be greater than low (0.5), got 0.2

The format (every key) is documented in ``docs/experiments.md``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.experiments.distributions import coerce, quantile
from sim.experiments.testfunctions import TEST_FUNCTIONS
from sim.model import KPIS, METRICS
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from sim.scenario.errors import explain_validation_error
from sim.scenario.load import get_path, parse_toml, read_input_text, set_path, split_key_path

__all__ = [
    "DESIGNS",
    "DISTRIBUTIONS",
    "Parameter",
    "Sensitivity",
    "Sweep",
    "SweepFile",
    "default_metrics",
    "get_path",
    "load_sweep",
    "set_path",
    "split_path",
]

DESIGNS = ("grid", "random", "lhs", "sobol")
DISTRIBUTIONS = ("uniform", "normal", "triangular", "choice")
_DEFAULT_METRICS = ("reserves_gbp", "members", "las_member")
"""Time series reported per fiscal year unless a sweep names its own: the first two that exist."""


def default_metrics() -> list[str]:
    """Reserves and member LAs, under whatever names the model now uses."""
    return [m for m in _DEFAULT_METRICS if m in METRICS][:2]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """One varied parameter: a key path and a distribution."""

    path: str = Field(..., min_length=1, description="Key path in the scenario, e.g. "
                      "finance.grants[0].end_month (or a test function's argument).")
    label: str | None = Field(None, min_length=1, description="Plain words for charts and rules.")
    distribution: Literal["uniform", "normal", "triangular", "choice"] | None = Field(
        None, description="uniform (low, high), normal (mean, sd, optional low/high), "
        "triangular (low, mode, high), choice (values). Default: choice when values is given, "
        "else uniform.")
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    values: tuple[bool | int | float | str, ...] | None = Field(None, min_length=1)
    levels: int | None = Field(None, ge=2, le=1000, description="Grid design: points along the "
                               "range (default 3).")

    @field_validator("path")
    @classmethod
    def _path_syntax(cls, value: str) -> str:
        split_path(value)  # raises ValueError with the rule
        return value

    @model_validator(mode="after")
    def _complete(self) -> Parameter:
        kind = self.kind
        given = {k for k in ("low", "high", "mode", "mean", "sd", "values")
                 if getattr(self, k) is not None}
        needs = {"uniform": {"low", "high"}, "normal": {"mean", "sd"},
                 "triangular": {"low", "mode", "high"}, "choice": {"values"}}[kind]
        allowed = needs | ({"low", "high"} if kind == "normal" else set())
        missing = sorted(needs - given)
        if missing:
            raise ValueError(f"{missing[0]} a {kind} distribution needs {', '.join(sorted(needs))}"
                             f"; missing {', '.join(missing)}")
        extra = sorted(given - allowed)
        if extra:
            raise ValueError(f"{extra[0]} is not used by a {kind} distribution (it takes "
                             f"{', '.join(sorted(allowed))}), got {getattr(self, extra[0])!r}")
        if self.low is not None and self.high is not None and not self.high > self.low:
            raise ValueError(f"high must be greater than low ({self.low:g}), got {self.high:g}")
        if (kind == "triangular" and self.low is not None and self.mode is not None
                and self.high is not None and not self.low <= self.mode <= self.high):
            raise ValueError(f"mode must lie between low ({self.low:g}) and high ({self.high:g}), "
                             f"got {self.mode:g}")
        if kind == "normal" and self.mean is not None:
            if self.low is not None and self.high is None and self.mean < self.low:
                raise ValueError(f"mean must not be below low ({self.low:g}), got {self.mean:g}")
            if self.high is not None and self.low is None and self.mean > self.high:
                raise ValueError(f"mean must not be above high ({self.high:g}), got {self.mean:g}")
            if self.low is not None and self.high is not None and not (
                    self.low <= self.mean <= self.high):
                raise ValueError(f"mean must lie between low ({self.low:g}) and high "
                                 f"({self.high:g}), got {self.mean:g}")
        if kind == "choice" and len(set(map(repr, self.values or ()))) != len(self.values or ()):
            raise ValueError(f"values must not repeat, got {list(self.values or ())!r}")
        return self

    @property
    def kind(self) -> str:
        if self.distribution is not None:
            return self.distribution
        return "choice" if self.values is not None else "uniform"

    @property
    def name(self) -> str:
        """Words for tables and rules: the label, else the key path."""
        return self.label or self.path

    def extremes(self) -> list[Any]:
        """Values that bound the parameter's range (checked against the schema at load)."""
        if self.kind == "choice":
            return list(self.values or ())
        if self.kind in ("uniform", "triangular"):
            return [self.low, self.high]
        return [quantile(self, 0.0005), quantile(self, 0.9995)]


class Sensitivity(_Strict):
    """Settings of ``run.py sensitivity`` (all optional)."""

    samples: int = Field(default=256, ge=2, le=1_048_576,
                         description="Base sample size N (Sobol: a power of 2; runs = "
                         "N (2D + 2), or N (D + 2) without second order).")
    second_order: bool = Field(default=True,
                               description="Sobol: estimate second-order indices too.")
    levels: int = Field(default=4, ge=2, le=100, description="Morris: grid levels (even).")
    trajectories: int | None = Field(default=None, ge=2, le=100_000,
                                     description="Morris: trajectories (default: samples).")
    bootstrap: int = Field(default=200, ge=10, le=100_000,
                           description="Bootstrap resamples for confidence intervals.")
    confidence: float = Field(default=0.95, gt=0.5, lt=1,
                              description="Confidence level of intervals.")
    tornado_kpi: str | None = Field(default=None, description="KPI of the tornado chart "
                                    "(default: the first in kpis).")

    @field_validator("levels")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"must be even (Morris grids are symmetric), got {value}")
        return value


class SweepFile(_Strict):
    """The top level of a sweep file."""

    name: str | None = Field(None, min_length=1, max_length=60,
                             pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="Name of the sweep (default: the file name).")
    description: str = ""
    base: str | None = Field(None, min_length=1, description="Base scenario file, relative to "
                             "the sweep file.")
    test_function: Literal["ishigami", "sobol_g", "linear"] | None = Field(
        None, description="Instead of a scenario: a shipped test function (checks the machinery).")
    set: tuple[str, ...] = Field((), description="KEY.PATH=VALUE overrides applied to the base "
                                 "scenario, as with --set.")
    design: Literal["grid", "random", "lhs", "sobol"] = "lhs"
    samples: int | None = Field(None, ge=1, le=10_000_000, description="Design points (not for "
                                "grid; a power of 2 for sobol).")
    replicates: int = Field(10, ge=1, le=1_000_000, description="Replicates per design point.")
    seed: int = Field(20260401, ge=0, le=2**63 - 1)
    common_random_numbers: bool = Field(True, description="Every design point uses the same random "
                                        "streams (replicate r sees the same draws everywhere).")
    kpis: tuple[str, ...] | None = Field(None, min_length=1, description="KPIs to collect "
                                         "(default: all).")
    metrics: tuple[str, ...] | None = Field(None, description="Time-series metrics collected at "
                                            "each fiscal year end (default: reserves and members).")
    chunk_size: int | None = Field(None, ge=1, le=1_000_000, description="Design points per chunk "
                                   "(default: about two seconds of work).")
    parameters: tuple[Parameter, ...] = Field(..., min_length=1, max_length=200)
    sensitivity: Sensitivity = Sensitivity()

    @model_validator(mode="after")
    def _consistent(self) -> SweepFile:
        if (self.base is None) == (self.test_function is None):
            raise ValueError("base a sweep names exactly one of base (a scenario file) and "
                             "test_function")
        if self.test_function is not None and self.set:
            raise ValueError(f"set applies to a base scenario, not to a test function, got "
                             f"{list(self.set)!r}")
        if self.design == "grid":
            if self.samples is not None:
                raise ValueError(f"samples a grid design takes no samples (set levels per "
                                 f"parameter instead), got {self.samples}")
        else:
            if self.samples is None:
                raise ValueError(f"samples is required for a {self.design} design")
            for i, p in enumerate(self.parameters):
                if p.levels is not None:
                    raise ValueError(f"parameters[{i}].levels is only used by a grid design, got "
                                     f"{p.levels}")
        if (self.design == "sobol" and self.samples is not None
                and self.samples & (self.samples - 1)):
            raise ValueError(f"samples must be a power of 2 for a sobol design (e.g. "
                             f"{1 << max(1, self.samples.bit_length() - 1)}), "
                             f"got {self.samples}")
        paths = [p.path for p in self.parameters]
        for i, path in enumerate(paths):
            if path in paths[:i]:
                raise ValueError(f"parameters[{i}].path is repeated, got {path!r}")
        return self


# --------------------------------------------------------------------------- key paths

split_path = split_key_path
"""``finance.grants[0].end_month`` → ``["finance", "grants", 0, "end_month"]`` (ValueError if
not a key path); the scenario loader's own parser, as are :func:`get_path` and
:func:`set_path`."""


def _leaf_paths(data: Any, prefix: str = "") -> list[str]:
    if isinstance(data, Mapping):
        return [p for k, v in data.items()
                for p in _leaf_paths(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _leaf_paths(v, f"{prefix}[{i}]")]
    return [prefix]


# --------------------------------------------------------------------------- the loaded sweep


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the file's settings, the resolved base, and what to collect.

    Attributes
    ----------
    spec : the validated file contents.
    source : the sweep file's path as given.
    text : the file's exact text (hashed to recognise the sweep on --resume).
    base : the validated base scenario (None for a test function).
    base_data : the base scenario as plain data, the starting point of every design point.
    integer : per parameter, whether its scenario value is an integer (samples are rounded).
    kpis, metrics : what each run reports.
    """

    spec: SweepFile
    source: str
    text: str
    base: Scenario | None
    base_data: dict[str, Any]
    integer: tuple[bool, ...]
    kpis: tuple[str, ...]
    metrics: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.spec.name or Path(self.source).stem

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return self.spec.parameters

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.spec.parameters]

    def digest(self) -> str:
        """SHA-256 of the sweep file and of the resolved base scenario."""
        h = hashlib.sha256(self.text.encode("utf-8"))
        h.update(repr(sorted(_leaf_items(self.base_data))).encode("utf-8"))
        return h.hexdigest()

    def scenario(self, values: Mapping[str, Any]) -> Scenario:
        """The base scenario with ``values`` (key path → value) applied, validated."""
        data = copy.deepcopy(self.base_data)
        for path, value in values.items():
            set_path(data, path, value)
        return scenario_from_dict(data, f"{self.source} (design point)")


def _leaf_items(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    return [(p, repr(get_path(data, p))) for p in _leaf_paths(data, prefix)]


def _unknown_name(source: str, where: str, name: str, known: Sequence[str],
                  what: str) -> ScenarioError:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ScenarioError(source, where, f"is not a known {what}{hint}, got {name!r}")


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (and its base scenario).

    Raises
    ------
    ScenarioError
        Naming the file, the key path, the value and the rule.
    """
    path = Path(path)
    source = str(path)
    text = read_input_text(path, kind="sweep")  # bounded: a regular .toml file, ≤ 1 MiB
    raw = parse_toml(text, source)
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(source, *explain_validation_error(exc, SweepFile)) from None

    if spec.test_function is not None:
        function = TEST_FUNCTIONS[spec.test_function]
        for i, p in enumerate(spec.parameters):
            if p.path not in function.inputs:
                raise _unknown_name(source, f"parameters[{i}].path", p.path, function.inputs,
                                    f"input of the {spec.test_function} test function")
        kpi_names: Sequence[str] = function.outputs
        metric_names: Sequence[str] = ()
        base = None
        base_data: dict[str, Any] = {p: None for p in function.inputs}
        integer = tuple(False for _ in spec.parameters)
    else:
        base_path = (path.parent / str(spec.base)).resolve()
        if not base_path.is_file():
            raise ScenarioError(source, "base", f"names no scenario file (looked for {base_path}), "
                                f"got {spec.base!r}")
        base = load_scenario(base_path, spec.set)  # its errors name the scenario file
        base_data = base.model_dump(mode="json")
        python_data = base.model_dump(mode="python")
        leaves = _leaf_paths(base_data)
        integer_list = []
        for i, p in enumerate(spec.parameters):
            try:
                current = get_path(python_data, p.path)
            except (KeyError, IndexError, TypeError):
                close = difflib.get_close_matches(p.path, leaves, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ScenarioError(source, f"parameters[{i}].path",
                                    f"names no parameter of the base scenario{hint}, "
                                    f"got {p.path!r}") from None
            if isinstance(current, Mapping | list | tuple):
                raise ScenarioError(source, f"parameters[{i}].path", "names a table, not a "
                                    f"single value, got {p.path!r}")
            integer_list.append(isinstance(current, int) and not isinstance(current, bool))
        integer = tuple(integer_list)
        kpi_names, metric_names = list(KPIS), list(METRICS)

    kpis = tuple(spec.kpis) if spec.kpis is not None else tuple(kpi_names)
    for i, k in enumerate(kpis):
        if k not in kpi_names:
            raise _unknown_name(source, f"kpis[{i}]", k, kpi_names, "KPI")
    if spec.test_function is not None:
        if spec.metrics:
            raise ScenarioError(source, "metrics", "a test function has no time series, got "
                                f"{list(spec.metrics)!r}")
        metrics: tuple[str, ...] = ()
    else:
        metrics = tuple(spec.metrics) if spec.metrics is not None else tuple(default_metrics())
        for i, m in enumerate(metrics):
            if m not in metric_names:
                raise _unknown_name(source, f"metrics[{i}]", m, metric_names, "metric")
    tornado = spec.sensitivity.tornado_kpi
    if tornado is not None and tornado not in kpis:
        raise _unknown_name(source, "sensitivity.tornado_kpi", tornado, kpis, "KPI of this sweep")

    sweep = Sweep(spec=spec, source=source, text=text, base=base, base_data=base_data,
                  integer=integer, kpis=kpis, metrics=metrics)
    if base is not None:
        _check_extremes(sweep)
    return sweep


def _check_extremes(sweep: Sweep) -> None:
    """Apply each parameter's extreme values to the base, one at a time: the schema's ranges
    and cross-field rules must accept them."""
    for i, p in enumerate(sweep.parameters):
        for value in p.extremes():
            value = coerce(value, sweep.integer[i])
            try:
                sweep.scenario({p.path: value})
            except ScenarioError as exc:
                what = (f"the value {_show(value)} is" if p.kind == "choice" else
                        f"the range reaches {_show(value)}, which is")
                raise ScenarioError(sweep.source, f"parameters[{i}]",
                                    f"({p.path}): {what} rejected by the base scenario: "
                                    f"{exc.path} {exc.message}") from None


def _show(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return repr(value)
