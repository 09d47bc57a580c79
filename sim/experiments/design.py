"""Designs: turn a sweep's parameters into a table of design points.

Every design first makes points in the unit cube [0, 1)^d — ``random`` (independent uniforms),
``lhs`` (Latin hypercube) and ``sobol`` (a scrambled Sobol' sequence, via
:mod:`scipy.stats.qmc`) — and then maps each column through its parameter's quantile function
(:func:`from_unit`, with :mod:`sim.experiments.distributions`). ``grid`` is the full factorial
of each parameter's levels. The same mapping serves the SALib samples of ``run.py
sensitivity``.

Parameters whose scenario value is an integer get integers: a uniform range gives each integer
from ``ceil(low)`` to ``floor(high)`` the same chance; other distributions are rounded.
"""

from __future__ import annotations

import inspect
import itertools
import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.experiments.distributions import coerce, quantile
from sim.experiments.sweepfile import Parameter, Sweep

__all__ = ["DESIGN_STREAM", "build_design", "design_column", "design_columns", "from_unit",
           "grid_levels", "unit_design"]

DESIGN_STREAM = zlib.crc32(b"design")
"""Spawn key of the design's random numbers: separate from every simulation stream."""


def from_unit(param: Parameter, u: np.ndarray, integer: bool = False) -> list[Any]:
    """Map unit-cube coordinates ``u`` (float[n]) to ``n`` values of the parameter."""
    u = np.clip(np.asarray(u, dtype=float), 0.0, np.nextafter(1.0, 0.0))
    if integer and param.kind == "uniform" and param.low is not None and param.high is not None:
        low, high = math.ceil(param.low), math.floor(param.high)
        if high < low:
            raise ValueError(f"{param.path}: no integer lies between low and high")
        ints = np.minimum(low + np.floor(u * (high - low + 1)), high).astype(int)
        return [int(v) for v in ints]
    values = quantile(param, u)
    if param.kind == "choice":
        return [coerce(v, False) for v in values]
    return [coerce(float(v), integer) for v in np.asarray(values, dtype=float)]


def _engine(kind: str, d: int, rng: np.random.Generator) -> Any:
    cls = qmc.LatinHypercube if kind == "lhs" else qmc.Sobol
    key = "rng" if "rng" in inspect.signature(cls).parameters else "seed"  # scipy < 1.15: seed
    return cls(d, scramble=True, **{key: rng})


def unit_design(kind: str, d: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` points in [0, 1)^d for the ``random``, ``lhs`` or ``sobol`` design."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed,
                                                                     spawn_key=(DESIGN_STREAM,))))
    if kind == "random":
        return rng.random((samples, d))
    if kind == "lhs":
        return _engine("lhs", d, rng).random(samples)
    if kind == "sobol":
        m = int(samples).bit_length() - 1
        if 1 << m != samples:
            raise ValueError(f"a sobol design needs a power of 2 samples, got {samples}")
        return _engine("sobol", d, rng).random_base2(m)
    raise ValueError(f"unknown design {kind!r}")


def grid_levels(param: Parameter, integer: bool) -> list[Any]:
    """The values a grid design takes for one parameter."""
    if param.kind == "choice":
        return list(param.values or ())
    levels = param.levels or 3
    if param.kind == "normal" and (param.low is None or param.high is None):
        u = (np.arange(levels) + 0.5) / levels  # an unbounded tail has no end point
    else:
        u = np.linspace(0.0, 1.0, levels)
    values = [coerce(float(v), integer) for v in np.atleast_1d(quantile(param, u))]
    return list(dict.fromkeys(values))  # integer rounding may repeat a level


def design_columns(params: Sequence[Parameter], integer: Sequence[bool], design: str,
                   samples: int, seed: int) -> dict[str, list[Any]]:
    """Each parameter's values (key path → list) at the points of a design over ``params``
    alone: every combination of their grid levels (``design = "grid"``), or ``samples`` points
    of the random, lhs or sobol design drawn from ``seed``. The sweep's own design, a robust
    study's futures and candidates, and optimise's futures are all made here."""
    pairs = list(zip(params, integer, strict=True))
    if design == "grid":
        rows = list(itertools.product(*[grid_levels(p, i) for p, i in pairs]))
        return {p.path: [row[j] for row in rows] for j, (p, _) in enumerate(pairs)}
    unit = unit_design(design, len(pairs), samples, seed)
    return {p.path: from_unit(p, unit[:, j], i) for j, (p, i) in enumerate(pairs)}


def build_design(sweep: Sweep, unit: np.ndarray | None = None) -> pd.DataFrame:
    """The design points of a sweep: column ``point`` (0, 1, …) and one column per key path.

    ``unit`` (float[n, d]) overrides the sweep's own design, e.g. with a SALib sample. With
    a scenario factor and a sampled design, the ``samples`` points of the other parameters are
    each run under every scenario (points = samples × scenarios).
    """
    params: Sequence[Parameter] = sweep.parameters
    if unit is None and sweep.spec.design == "grid":
        columns = design_columns(params, sweep.integer, "grid", 0, sweep.spec.seed)
    elif unit is None and sweep.spec.scenario_factor is not None:
        # Every scenario at every sampled point of the other parameters (scenario-major within
        # a point), so scenarios are compared at the same inputs.
        factor = sweep.spec.scenario_factor
        others = [(p, i) for j, (p, i) in enumerate(zip(params, sweep.integer, strict=True))
                  if j != factor]
        samples = int(sweep.spec.samples or 0)
        unit = unit_design(sweep.spec.design, max(len(others), 1), samples, sweep.spec.seed)
        sampled = {p.path: from_unit(p, unit[:, j], i) for j, (p, i) in enumerate(others)}
        files = list(params[factor].values or ())
        columns = {p.path: ([v for _ in range(samples) for v in files]
                            if j == factor else
                            [v for v in sampled[p.path] for _ in files])
                   for j, p in enumerate(params)}
    elif unit is None:
        columns = design_columns(params, sweep.integer, sweep.spec.design,
                                 int(sweep.spec.samples or 0), sweep.spec.seed)
    else:
        columns = {p.path: from_unit(p, unit[:, j], i)
                   for j, (p, i) in enumerate(zip(params, sweep.integer, strict=True))}
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"point": np.arange(n, dtype=np.int64)})
    for path, values in columns.items():
        frame[path] = design_column(values)
    return frame


def design_column(values: list[Any]) -> pd.Series | np.ndarray:
    """A typed column: int64, float64, bool or string, never a mixed object column."""
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return pd.Series([str(v) for v in values], dtype="string")
