"""Candidate policies of ``run.py robust``: what the board may choose, resolved into scenarios.

A robust study (docs/experiments.md §11) crosses candidate policies (the board's choices) with
futures (what it does not control). This module reads the candidates of a sweep file — listed
``[[candidates]]``, each a base scenario (or its own ``scenario`` file) with ``set`` overrides
and an optional ``policies`` file whose ``[[policies]]`` replace the scenario's, or else a grid
or Latin hypercube over the parameters marked ``role = "lever"`` — and builds the
:class:`RobustSweep` the ordinary sweep machinery runs: its design column ``candidate`` names
the scenario a point starts from, the uncertainties are applied on top.

Kept free of pandas and scipy, like :mod:`sim.experiments.runner`: a worker process unpickles a
:class:`RobustSweep` and so imports this module.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.experiments.distributions import coerce
from sim.experiments.sweepfile import Parameter, Sweep, SweepFile, _resolve, load_sweep
from sim.experiments.testfunctions import TEST_FUNCTIONS
from sim.experiments.threshold import Target, ThresholdError, parse_target
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from sim.scenario.load import parse_override, set_path

__all__ = ["CANDIDATE", "CANDIDATE_STREAM", "DEFAULT_TARGET", "CandidatePolicy", "RobustStudy",
           "RobustSweep", "load_robust"]

CANDIDATE = "candidate"
"""Design column (and, for a model, swept key) naming the candidate a design point runs."""
CANDIDATE_STREAM = zlib.crc32(b"candidates")
"""Spawn key of a Latin hypercube over the levers: apart from the futures' design stream."""
DEFAULT_TARGET = "viable_prob_y10>=0.8"
"""The target of a model study that names none: viable at year 10 in at least 80% of runs."""


@dataclass(frozen=True)
class CandidatePolicy:
    """One candidate: its name, plain words, and what it sets.

    Attributes
    ----------
    name : short name (tables, the ``candidate`` column).
    label : plain words for the board page.
    values : for a test function or a lever design, the lever (input) values it sets.
    source : where it came from (``candidates[2]`` or ``levers``), for messages.
    """

    name: str
    label: str
    values: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class RobustSweep(Sweep):
    """A :class:`~sim.experiments.sweepfile.Sweep` whose ``candidate`` value picks the scenario
    a design point starts from (``bases``: candidate name → scenario data)."""

    def scenario(self, values: Mapping[str, Any]) -> Scenario:
        values = dict(values)
        data = copy.deepcopy(self.bases[str(values.pop(CANDIDATE))])
        for path, value in values.items():
            set_path(data, path, value)
        return scenario_from_dict(data, f"{self.source} (candidate × future)")


@dataclass(frozen=True)
class RobustStudy:
    """A validated robust study: the sweep to run, its candidates, futures and target.

    Attributes
    ----------
    sweep : what :func:`sim.experiments.sweep.run_design` runs (parameters: ``candidate`` for a
        model, or the candidates' inputs for a test function, then the uncertainties).
    source : the sweep file.
    candidates : in the order they are run.
    uncertainties : the parameters sampled as futures (the sweep's design, ``samples``).
    levers : the sweep file's levers (used only when no ``[[candidates]]`` are listed).
    target : what a candidate must reach in a future (its statistic over the replicates).
    """

    sweep: Sweep
    source: str
    candidates: tuple[CandidatePolicy, ...]
    uncertainties: tuple[Parameter, ...]
    uncertainty_integer: tuple[bool, ...]
    levers: tuple[Parameter, ...]
    target: Target

    @property
    def name(self) -> str:
        return self.sweep.name


def _lever_points(spec: SweepFile, levers: tuple[Parameter, ...],
                  integer: tuple[bool, ...]) -> list[dict[str, Any]]:
    """Lever values of the generated candidates: the grid of the levers' levels, or
    ``candidates_samples`` Latin-hypercube points (docs/experiments.md §11)."""
    from sim.experiments.design import design_columns

    if spec.candidates_samples is None:
        columns = design_columns(levers, integer, "grid", 0, spec.seed)
    else:
        seed = int(np.random.SeedSequence(spec.seed, spawn_key=(CANDIDATE_STREAM,))
                   .generate_state(1, np.uint64)[0])
        columns = design_columns(levers, integer, "lhs", spec.candidates_samples, seed)
    n = len(next(iter(columns.values())))
    return [{path: values[k] for path, values in columns.items()} for k in range(n)]


def _describe(values: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    return ", ".join(f"{labels.get(k, k)} = {v:g}" if isinstance(v, float) else
                     f"{labels.get(k, k)} = {v}" for k, v in values.items())


def _target(text: str | None, kpis: tuple[str, ...], test_function: bool, source: str,
            where: str) -> Target:
    if text is None:
        if test_function or DEFAULT_TARGET.partition(">")[0] not in kpis:
            raise ScenarioError(source, "threshold", "a robust study needs a target, e.g. "
                                f"threshold = '{kpis[0]}>=0' in the sweep file or --threshold")
        text = DEFAULT_TARGET
    try:
        target = parse_target(text, list(kpis))
    except ThresholdError as exc:
        raise ScenarioError(source, where, str(exc).replace("--target ", "")) from None
    return target


def load_robust(path: str | Path, threshold: str | None = None) -> RobustStudy:
    """Read a sweep file as a robust study: candidates × futures under common random numbers.

    Parameters
    ----------
    path : the sweep file.
    threshold : ``KPI>=VALUE`` (``--threshold``), else the file's ``threshold``, else
        :data:`DEFAULT_TARGET`.

    Raises
    ------
    ScenarioError
        One line naming the file, the key, the value and the rule.
    """
    sweep = load_sweep(path)
    spec, source = sweep.spec, sweep.source
    if spec.scenario_factor is not None:
        raise ScenarioError(source, "parameters", "robust takes a base scenario or a test "
                            "function, not a scenario factor: list each delivery model as a "
                            "[[candidates]] entry with scenario = 'file.toml'")
    if not spec.common_random_numbers:
        raise ScenarioError(source, "common_random_numbers", "must be true for robust (every "
                            "candidate meets the same draws in each future), got false")
    uncertainties = spec.uncertainties
    if not uncertainties:
        raise ScenarioError(source, "parameters", "robust needs at least one parameter with "
                            "role = 'uncertainty' (the default) to sample futures from")
    levers = spec.levers
    integer = dict(zip(sweep.paths, sweep.integer, strict=True))
    labels = {p.path: p.name for p in spec.parameters}
    target = _target(threshold if threshold is not None else spec.threshold, sweep.kpis,
                     spec.test_function is not None, source,
                     "--threshold" if threshold is not None else "threshold")
    if not spec.candidates and not levers:
        raise ScenarioError(source, "candidates", "robust needs candidates: list "
                            "[[candidates]], or mark parameters role = 'lever'")
    uncertain_paths = {p.path for p in uncertainties}
    if spec.candidates:
        candidates = tuple(_listed(sweep, i, uncertain_paths) for i in range(len(spec.candidates)))
    else:
        points = _lever_points(spec, levers, tuple(integer[p.path] for p in levers))
        width = len(str(len(points)))
        candidates = tuple(CandidatePolicy(f"c{k + 1:0{width}d}", _describe(v, labels), v,
                                           "levers") for k, v in enumerate(points))
    if spec.test_function is not None:
        run_sweep = _function_sweep(sweep, candidates)
    else:
        run_sweep = _model_sweep(sweep, candidates)
    return RobustStudy(sweep=run_sweep, source=source, candidates=candidates,
                       uncertainties=uncertainties,
                       uncertainty_integer=tuple(integer[p.path] for p in uncertainties),
                       levers=levers, target=target)


def _listed(sweep: Sweep, i: int, uncertain: set[str]) -> CandidatePolicy:
    """A listed candidate, its ``set`` parsed (for a test function: its input values)."""
    c = sweep.spec.candidates[i]
    values: dict[str, Any] = {}
    for j, text in enumerate(c.set):
        try:
            key, value = parse_override(text)
        except ScenarioError as exc:
            raise ScenarioError(sweep.source, f"candidates[{i}].set[{j}]", exc.message) from None
        if key in uncertain:
            raise ScenarioError(sweep.source, f"candidates[{i}].set[{j}]", f"sets {key}, an "
                                "uncertainty of this sweep: a candidate sets only what the board "
                                f"controls, got {text!r}")
        if sweep.spec.test_function is not None:
            function = TEST_FUNCTIONS[sweep.spec.test_function]
            if key not in function.inputs:
                raise ScenarioError(sweep.source, f"candidates[{i}].set[{j}]", f"{key!r} is not "
                                    f"an input of the {function.name} test function "
                                    f"({', '.join(function.inputs[:4])} …), got {text!r}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ScenarioError(sweep.source, f"candidates[{i}].set[{j}]", "a test "
                                    f"function's input is a number, got {text!r}")
            value = float(value)
        values[key] = value
    return CandidatePolicy(c.name, c.label or c.name, values, f"candidates[{i}]")


def _function_sweep(sweep: Sweep, candidates: tuple[CandidatePolicy, ...]) -> Sweep:
    """A test-function study: the candidates' inputs as swept parameters, then the futures'."""
    spec = sweep.spec
    inputs = list(dict.fromkeys(k for c in candidates for k in c.values))
    function = TEST_FUNCTIONS[str(spec.test_function)]
    choice = [Parameter.model_validate({"path": k, "role": "lever", "values": tuple(dict.fromkeys(
        float(c.values.get(k, function.defaults[k])) for c in candidates))}) for k in inputs]
    parameters = (*choice, *spec.uncertainties)
    integer = dict(zip(sweep.paths, sweep.integer, strict=True))
    return Sweep(spec=spec.model_copy(update={"parameters": parameters}), source=sweep.source,
                 text=sweep.text, base=None, base_data=sweep.base_data,
                 integer=tuple(integer.get(p.path, False) for p in parameters),
                 kpis=sweep.kpis, metrics=sweep.metrics)


def _model_sweep(sweep: Sweep, candidates: tuple[CandidatePolicy, ...]) -> RobustSweep:
    """A model study: each candidate resolved to a scenario; ``candidate`` picks it."""
    spec, source = sweep.spec, sweep.source
    assert sweep.base is not None
    bases: dict[str, dict[str, Any]] = {}
    for k, candidate in enumerate(candidates):
        data = _candidate_data(sweep, k, candidate)
        other = scenario_from_dict(data, f"{source} ({candidate.source})")
        if (other.time.start, other.time.horizon_months) != (sweep.base.time.start,
                                                             sweep.base.time.horizon_months):
            raise ScenarioError(source, f"{candidate.source}.scenario", f"starts "
                                f"{other.time.start} with a horizon of "
                                f"{other.time.horizon_months} months, but the base starts "
                                f"{sweep.base.time.start} with {sweep.base.time.horizon_months}: "
                                f"candidates share one calendar, got {candidate.name!r}")
        bases[candidate.name] = other.model_dump(mode="json")
    uncertainties = spec.uncertainties
    choice = Parameter.model_validate({"path": CANDIDATE, "label": "candidate policy",
                                       "values": tuple(c.name for c in candidates),
                                       "role": "lever"})
    integer = dict(zip(sweep.paths, sweep.integer, strict=True))
    _check_futures(sweep, bases)
    return RobustSweep(
        spec=spec.model_copy(update={"parameters": (choice, *uncertainties)}), source=source,
        text=sweep.text, base=sweep.base, base_data=sweep.base_data,
        integer=(False, *(integer[p.path] for p in uncertainties)), kpis=sweep.kpis,
        metrics=sweep.metrics, bases=bases, titles={c.name: c.name for c in candidates})


def _candidate_data(sweep: Sweep, k: int, candidate: CandidatePolicy) -> dict[str, Any]:
    """A candidate's scenario as plain data: its file (or the base) with the sweep's and its
    own overrides, and its policies file's rules in place of the scenario's."""
    spec, source = sweep.spec, sweep.source
    if candidate.source == "levers":
        data = copy.deepcopy(sweep.base_data)
        for path, value in candidate.values.items():
            set_path(data, path, value)
        return data
    c = spec.candidates[k]
    sweep_file = Path(source)
    start = _resolve(sweep_file, f"candidates[{k}].scenario", c.scenario,
                     source) if c.scenario else _resolve(sweep_file, "base", str(spec.base), source)
    try:
        scenario = load_scenario(start, [*spec.set, *c.set])
    except ScenarioError as exc:
        raise ScenarioError(source, f"candidates[{k}]", f"({c.name}): {exc.source}: {exc.path} "
                            f"{exc.message}") from None
    data = scenario.model_dump(mode="json")
    if c.policies is not None:
        rules_file = _resolve(sweep_file, f"candidates[{k}].policies", c.policies, source)
        try:
            rules = load_scenario(rules_file).policies
        except ScenarioError as exc:
            raise ScenarioError(source, f"candidates[{k}].policies", f"({c.name}): "
                                f"{exc.source}: {exc.path} {exc.message}") from None
        if not rules:
            raise ScenarioError(source, f"candidates[{k}].policies", f"names a file with no "
                                f"[[policies]], got {c.policies!r}")
        data["policies"] = [rule.model_dump(mode="json") for rule in rules]
    return data


def _check_futures(sweep: Sweep, bases: Mapping[str, dict[str, Any]]) -> None:
    """Every uncertainty's extreme values must be valid in every candidate's scenario."""
    for i, p in enumerate(sweep.parameters):
        if p.role != "uncertainty":
            continue
        for value in p.extremes():
            value = coerce(value, sweep.integer[i])
            for name, data in bases.items():
                trial = copy.deepcopy(data)
                try:
                    set_path(trial, p.path, value)
                    scenario_from_dict(trial, name)
                except (ScenarioError, KeyError, IndexError, TypeError) as exc:
                    why = (f"{exc.path} {exc.message}" if isinstance(exc, ScenarioError)
                           else "names no value of it")
                    raise ScenarioError(sweep.source, f"parameters[{i}]", f"({p.path}): the "
                                        f"range reaches {value!r}, which the candidate "
                                        f"{name!r} rejects: {why}") from None
