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
from dataclasses import dataclass, field
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
    "MAX_DESIGN_POINTS",
    "SCENARIO_FACTOR",
    "Candidate",
    "MapSettings",
    "OptimiseSettings",
    "Parameter",
    "Sensitivity",
    "Sweep",
    "SweepFile",
    "check_design_size",
    "default_metrics",
    "design_bytes",
    "design_points",
    "get_path",
    "load_sweep",
    "memory_text",
    "set_path",
    "split_path",
]

DESIGNS = ("grid", "random", "lhs", "sobol")
SCENARIO_FACTOR = "scenario"
"""Path of the factor whose values are whole scenario files (relative to the sweep file): each
design point starts from its own scenario, e.g. one delivery model each."""
DISTRIBUTIONS = ("uniform", "normal", "triangular", "choice")
_DEFAULT_METRICS = ("reserves_gbp", "members", "las_member")
"""Time series reported per fiscal year unless a sweep names its own: the first two that exist."""


def default_metrics() -> list[str]:
    """Reserves and member LAs, under whatever names the model now uses."""
    return [m for m in _DEFAULT_METRICS if m in METRICS][:2]


class _Strict(BaseModel):
    """Unknown keys are errors and no number is NaN or infinite (a bound of ``inf`` ran and
    gave NaN, issue #17)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
    role: Literal["uncertainty", "lever"] = Field(
        "uncertainty", description="lever: a choice the board makes (searched by optimise, crossed "
        "with futures by robust); uncertainty: what it does not control (sampled as futures).")

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


class MapSettings(_Strict):
    """Settings of the winners map of a sweep with a scenario factor (all optional)."""

    x: str | None = Field(default=None, description="Key path on the map's x axis (default: "
                          "the first parameter other than the scenario factor).")
    y: str | None = Field(default=None, description="Key path on the map's y axis (default: "
                          "the next one).")
    kpi: str | None = Field(default=None, description="KPI whose mean decides the winner "
                            "(default: the first in kpis).")


class Candidate(_Strict):
    """A candidate policy of ``run.py robust``: a name and how it differs from the base
    (docs/experiments.md §11)."""

    name: str = Field(..., min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                      description="Name in tables and charts.")
    label: str | None = Field(None, min_length=1, description="Plain words for the board page.")
    scenario: str | None = Field(None, min_length=1, description="Scenario file it starts from "
                                 "instead of base (relative to the sweep file).")
    set: tuple[str, ...] = Field((), description="KEY.PATH=VALUE overrides (as --set) after the "
                                 "sweep's own set; a test function's inputs for a test function.")
    policies: str | None = Field(None, min_length=1, description="A scenario file whose "
                                 "[[policies]] replace the starting scenario's (relative to the "
                                 "sweep file).")


class OptimiseSettings(_Strict):
    """Settings of ``run.py optimise`` (docs/experiments.md §12): what to optimise, under which
    constraints, with how many evaluations and replicates. The text of ``objective``,
    ``objectives`` and ``constraints`` is checked against the sweep's levers and KPIs by
    :func:`sim.experiments.optimise.optimise_problem`."""

    objective: str | None = Field(None, min_length=1, description="'minimise X' or 'maximise "
                                  "X', X a lever's key path or [STAT(]KPI[)] (one objective).")
    objectives: tuple[str, ...] | None = Field(None, min_length=2, max_length=6,
                                               description="Two or more objectives, as "
                                               "objective: a Pareto front (NSGA-II).")
    constraints: tuple[str, ...] = Field((), max_length=20, description="Targets that must "
                                         "hold, [STAT(]KPI[)] OP VALUE as threshold --target.")
    budget: int = Field(200, ge=4, le=1_000_000, description="Candidate evaluations of the "
                        "search (each: every future × replicates).")
    population: int | None = Field(None, ge=4, le=10_000, description="Candidates per "
                                   "generation (default: from the budget and the levers).")
    replicates: int | None = Field(None, ge=1, le=1_000_000, description="Replicates per future "
                                   "for every candidate (default: the sweep's replicates).")
    fresh_seeds: int | None = Field(None, ge=2, le=1_000_000, description="Replicates per future "
                                    "of the re-evaluation of the chosen policy on a fresh seed "
                                    "(default: twice replicates).")
    precision: float | None = Field(None, gt=0, description="Standard error wanted for each "
                                    "constrained statistic at the optimum (reported against).")
    confidence: float = Field(0.9, ge=0.5, lt=1, description="One-sided confidence with which "
                              "a candidate must meet each constraint on the search replicates "
                              "(0.5: the estimate alone).")
    method: Literal["auto", "differential_evolution", "nsga2"] = Field(
        "auto", description="auto: differential_evolution for one objective, nsga2 for several.")

    @model_validator(mode="after")
    def _one_kind(self) -> OptimiseSettings:
        if (self.objective is None) == (self.objectives is None):
            raise ValueError("objective [optimise] names exactly one of objective (one "
                             "objective) and objectives (two or more: a Pareto front)")
        if self.objective is not None and self.method == "nsga2":
            raise ValueError("method nsga2 searches a Pareto front of two or more objectives; "
                             "give objectives, or use differential_evolution, got 'nsga2'")
        if self.objectives is not None and self.method == "differential_evolution":
            raise ValueError("method differential_evolution optimises one objective; with "
                             "objectives use nsga2, got 'differential_evolution'")
        return self


class SweepFile(_Strict):
    """The top level of a sweep file."""

    name: str | None = Field(None, min_length=1, max_length=60,
                             pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="Name of the sweep (default: the file name).")
    description: str = ""
    base: str | None = Field(None, min_length=1, description="Base scenario file, relative to "
                             "the sweep file.")
    test_function: Literal["ishigami", "sobol_g", "linear", "quadratic", "zdt1"] | None = Field(
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
    candidates: tuple[Candidate, ...] = Field((), max_length=100, description="Candidate "
                                              "policies of run.py robust (default: a grid, or "
                                              "candidates_samples LHS points, over the levers).")
    candidates_samples: int | None = Field(None, ge=1, le=10_000, description="robust without "
                                           "[[candidates]]: LHS points over the levers (default: "
                                           "their grid).")
    threshold: str | None = Field(None, min_length=1, description="robust: the target a future "
                                  "must meet, e.g. 'viable_prob_y10>=0.8' (as --threshold).")
    map: MapSettings | None = Field(None, description="The winners map of a sweep with a "
                                    "scenario factor.")
    optimise: OptimiseSettings | None = Field(None, description="Settings of `run.py "
                                              "optimise` (docs/experiments.md §12).")

    @property
    def scenario_factor(self) -> int | None:
        """Index of the parameter whose values are scenario files, if there is one."""
        return next((i for i, p in enumerate(self.parameters) if p.path == SCENARIO_FACTOR),
                    None)

    @property
    def levers(self) -> tuple[Parameter, ...]:
        """The parameters the board chooses (role = "lever")."""
        return tuple(p for p in self.parameters if p.role == "lever")

    @property
    def uncertainties(self) -> tuple[Parameter, ...]:
        """The parameters the board does not control (role = "uncertainty", the default)."""
        return tuple(p for p in self.parameters if p.role == "uncertainty")

    @model_validator(mode="after")
    def _consistent(self) -> SweepFile:
        factor = self.scenario_factor
        if (self.base is not None) + (self.test_function is not None) + (factor is not None) != 1:
            raise ValueError("base a sweep names exactly one of base (a scenario file), "
                             "test_function and a scenario factor (a parameter with path "
                             f"{SCENARIO_FACTOR!r} whose values are scenario files)")
        if factor is not None:
            p = self.parameters[factor]
            if p.kind != "choice" or not all(isinstance(v, str) for v in p.values or ()):
                raise ValueError(f"parameters[{factor}].values a scenario factor lists scenario "
                                 f"files (text, relative to the sweep file), got "
                                 f"{list(p.values or ())!r}")
            if len(self.parameters) == 1 and self.map is not None:
                raise ValueError("map needs at least one parameter besides the scenario factor")
        elif self.map is not None:
            raise ValueError(f"map is drawn only for a sweep with a scenario factor (a parameter "
                             f"with path {SCENARIO_FACTOR!r}), got {self.map.model_dump()!r}")
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
        _check_candidates(self)
        return self


def _check_candidates(spec: SweepFile) -> None:
    """The [[candidates]] of a sweep file: distinct names; files only for a model sweep."""
    names = [c.name for c in spec.candidates]
    for i, c in enumerate(spec.candidates):
        if c.name in names[:i]:
            raise ValueError(f"candidates[{i}].name is repeated, got {c.name!r}")
        if spec.test_function is not None:
            for key in ("scenario", "policies"):
                if getattr(c, key) is not None:
                    raise ValueError(f"candidates[{i}].{key} a test function has no scenario, "
                                     f"got {getattr(c, key)!r}")
    if spec.candidates and spec.candidates_samples is not None:
        raise ValueError(f"candidates_samples is only used without [[candidates]], got "
                         f"{spec.candidates_samples}")


# --------------------------------------------------------------------------- design size

MAX_DESIGN_POINTS = 1_000_000
"""Most design points a sweep may have (docs/experiments.md §2): a grid is the product of its
levels and grows fast (3 parameters × 1,000 levels is 10⁹ points), so its size is checked from
the sweep file before the design is built, not by running out of memory while building it."""

BYTES_PER_POINT = 48
BYTES_PER_POINT_VALUE = 24
"""Memory to build a design, per point and per parameter value of a point: the row tuple of
the full factorial (a 40-byte header, 8 bytes a value, 8 for the list holding it), the
per-parameter value lists, and the typed columns of the design table."""


def design_points(spec: SweepFile) -> int:
    """The number of design points ``spec`` makes, counted without building them: the product
    of each parameter's levels for a grid (every ``values`` entry of a choice, ``levels`` —
    default 3 — of a range; integer rounding may merge a few), else ``samples`` (times the
    scenarios of a scenario factor)."""
    if spec.design == "grid":
        return math.prod(len(p.values or ()) if p.kind == "choice" else (p.levels or 3)
                         for p in spec.parameters)
    factor = spec.scenario_factor
    scenarios = len(spec.parameters[factor].values or ()) if factor is not None else 1
    return int(spec.samples or 0) * scenarios


def design_bytes(points: int, parameters: int) -> int:
    """Estimated memory, in bytes, to build a design of ``points`` points of ``parameters``
    values each (:data:`BYTES_PER_POINT`, :data:`BYTES_PER_POINT_VALUE`)."""
    return points * (BYTES_PER_POINT + BYTES_PER_POINT_VALUE * parameters)


def memory_text(count: float) -> str:
    """Bytes in words: ``1.2e11`` → ``120.0 GB``."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,.0f} bytes"


def check_design_size(spec: SweepFile, source: str) -> int:
    """The number of design points, or a :class:`ScenarioError` naming the count, the memory
    it would take to build and the limit, :data:`MAX_DESIGN_POINTS`, when it is above it."""
    points = design_points(spec)
    if points <= MAX_DESIGN_POINTS:
        return points
    if spec.design == "grid":
        key, how = "parameters", " × ".join(
            f"{len(p.values or ()) if p.kind == 'choice' else (p.levels or 3):,}"
            for p in spec.parameters) + " levels"
    else:
        key, how = "samples", f"{spec.samples:,} samples"
        if spec.scenario_factor is not None:
            how += f" × {points // max(int(spec.samples or 1), 1):,} scenarios"
    raise ScenarioError(source, key, f"makes a design of {points:,} points ({how}), about "
                        f"{memory_text(design_bytes(points, len(spec.parameters)))} of memory to "
                        f"build; the limit is {MAX_DESIGN_POINTS:,} points (docs/experiments.md "
                        "§2): use fewer levels or samples, or split the sweep")


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
    bases : with a scenario factor, each of its values (a file as written in the sweep file)
        → that scenario as plain data; ``base`` and ``base_data`` are then the first's.
    titles : with a scenario factor, each of its values → the scenario's ``meta.name``.
    """

    spec: SweepFile
    source: str
    text: str
    base: Scenario | None
    base_data: dict[str, Any]
    integer: tuple[bool, ...]
    kpis: tuple[str, ...]
    metrics: tuple[str, ...]
    bases: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    titles: Mapping[str, str] = field(default_factory=dict)

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
        for data in (self.bases.values() if self.bases else [self.base_data]):
            h.update(repr(sorted(_leaf_items(data))).encode("utf-8"))
        return h.hexdigest()

    def map_axes(self) -> tuple[str, str | None, str]:
        """The winners map's x and y key paths (y is None with only one other parameter) and
        the KPI that decides the winner."""
        others = [p for p in self.paths if p != SCENARIO_FACTOR]
        chosen = self.spec.map or MapSettings()
        x = chosen.x or others[0]
        y = chosen.y or next((p for p in others if p != x), None)
        return x, y, chosen.kpi or self.kpis[0]

    def scenario(self, values: Mapping[str, Any]) -> Scenario:
        """The base scenario — with a scenario factor, the point's own — with ``values`` (key
        path → value) applied, validated."""
        values = dict(values)
        start = (self.bases[str(values.pop(SCENARIO_FACTOR))] if SCENARIO_FACTOR in values
                 else self.base_data)
        data = copy.deepcopy(start)
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
    check_design_size(spec, source)  # before any scenario is loaded or point built

    bases: dict[str, dict[str, Any]] = {}
    titles: dict[str, str] = {}
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
        factor = spec.scenario_factor
        if factor is None:
            files = {str(spec.base): ("base", _resolve(path, "base", str(spec.base), source))}
        else:
            files = {str(v): (f"parameters[{factor}].values[{j}]",
                              _resolve(path, f"parameters[{factor}].values[{j}]", str(v), source))
                     for j, v in enumerate(spec.parameters[factor].values or ())}
        scenarios = {value: load_scenario(file, spec.set)  # their errors name the file
                     for value, (_, file) in files.items()}
        base = next(iter(scenarios.values()))
        for value, other in scenarios.items():
            if (other.time.start, other.time.horizon_months) != (base.time.start,
                                                                 base.time.horizon_months):
                raise ScenarioError(source, files[value][0],
                                    f"starts {other.time.start} with a horizon of "
                                    f"{other.time.horizon_months} months, but the first scenario "
                                    f"starts {base.time.start} with {base.time.horizon_months}: "
                                    f"a sweep's scenarios share one calendar, got {value!r}")
        base_data = base.model_dump(mode="json")
        integer_list = []
        for i, p in enumerate(spec.parameters):
            if i == factor:
                integer_list.append(False)
                continue
            kinds = {_value_kind(source, i, p.path, s, factor is not None)
                     for s in scenarios.values()}
            integer_list.append(kinds == {True})
        integer = tuple(integer_list)
        kpi_names, metric_names = list(KPIS), list(METRICS)
        if factor is not None:
            bases = {value: s.model_dump(mode="json") for value, s in scenarios.items()}
            titles = {value: s.meta.name or Path(files[value][1]).stem
                      for value, s in scenarios.items()}
            seen: dict[str, str] = {}
            for value, title in titles.items():
                if title in seen:
                    raise ScenarioError(source, files[value][0], f"is named {title!r} "
                                        f"(meta.name), as is {seen[title]!r}: the scenarios of a "
                                        f"sweep need different names, got {value!r}")
                seen[title] = value

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

    if spec.map is not None:
        others = [p.path for p in spec.parameters if p.path != SCENARIO_FACTOR]
        for key in ("x", "y"):
            chosen = getattr(spec.map, key)
            if chosen is not None and chosen not in others:
                raise _unknown_name(source, f"map.{key}", chosen, others,
                                    "parameter of this sweep besides the scenario factor")
        if spec.map.x is not None and spec.map.x == spec.map.y:
            raise ScenarioError(source, "map.y", f"must differ from map.x, got {spec.map.y!r}")
        if spec.map.kpi is not None and spec.map.kpi not in kpis:
            raise _unknown_name(source, "map.kpi", spec.map.kpi, kpis, "KPI of this sweep")

    sweep = Sweep(spec=spec, source=source, text=text, base=base, base_data=base_data,
                  integer=integer, kpis=kpis, metrics=metrics, bases=bases, titles=titles)
    if base is not None:
        _check_extremes(sweep)
    return sweep


def _resolve(sweep_file: Path, where: str, name: str, source: str) -> Path:
    """The scenario file a sweep file names, relative to the sweep file (it must exist)."""
    found = (sweep_file.parent / name).resolve()
    if not found.is_file():
        raise ScenarioError(source, where, f"names no scenario file (looked for {found}), "
                            f"got {name!r}")
    return found


def _value_kind(source: str, i: int, path: str, scenario: Scenario, several: bool) -> bool:
    """Whether the value at ``path`` of ``scenario`` is an integer (the path must name one
    value of it)."""
    what = f"of the scenario {scenario.meta.name!r}" if several else "of the base scenario"
    python_data = scenario.model_dump(mode="python")
    try:
        current = get_path(python_data, path)
    except (KeyError, IndexError, TypeError):
        leaves = _leaf_paths(scenario.model_dump(mode="json"))
        close = difflib.get_close_matches(path, leaves, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ScenarioError(source, f"parameters[{i}].path",
                            f"names no parameter {what}{hint}, got {path!r}") from None
    if isinstance(current, Mapping | list | tuple):
        raise ScenarioError(source, f"parameters[{i}].path", "names a table, not a "
                            f"single value, got {path!r}")
    return isinstance(current, int) and not isinstance(current, bool)


def _check_extremes(sweep: Sweep) -> None:
    """Apply each parameter's extreme values to the base — to each scenario of a scenario
    factor — one at a time: the schema's ranges and cross-field rules must accept them."""
    starts: list[dict[str, Any]] = ([{SCENARIO_FACTOR: v} for v in sweep.bases] if sweep.bases
                                    else [{}])
    for i, p in enumerate(sweep.parameters):
        if p.path == SCENARIO_FACTOR:
            continue
        for value in p.extremes():
            value = coerce(value, sweep.integer[i])
            for start in starts:
                try:
                    sweep.scenario({**start, p.path: value})
                except ScenarioError as exc:
                    what = (f"the value {_show(value)} is" if p.kind == "choice" else
                            f"the range reaches {_show(value)}, which is")
                    whose = (f"the scenario {sweep.titles[start[SCENARIO_FACTOR]]!r}" if start
                             else "the base scenario")
                    raise ScenarioError(sweep.source, f"parameters[{i}]",
                                        f"({p.path}): {what} rejected by {whose}: "
                                        f"{exc.path} {exc.message}") from None


def _show(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return repr(value)
