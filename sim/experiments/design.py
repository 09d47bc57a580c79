"""Designs: turn a sweep's parameters into a table of design points.

Every design first makes points in the unit cube [0, 1)^d — ``random`` (independent uniforms),
``lhs`` (Latin hypercube) and ``sobol`` (a scrambled Sobol' sequence, via
:mod:`scipy.stats.qmc`) — and then maps each column through its parameter's quantile function
(:func:`from_unit`). ``grid`` is the full factorial of each parameter's levels. The same
mapping serves the SALib samples of ``run.py sensitivity``.

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
from scipy import stats
from scipy.stats import qmc

from sim.experiments.sweepfile import Parameter, Sweep

__all__ = ["DESIGN_STREAM", "build_design", "coerce", "from_unit", "grid_levels", "quantile",
           "unit_design"]

DESIGN_STREAM = zlib.crc32(b"design")
"""Spawn key of the design's random numbers: separate from every simulation stream."""


def _continuous(param: Parameter) -> Any:
    """The scipy distribution of a numeric parameter."""
    if param.kind == "uniform":
        return stats.uniform(loc=param.low, scale=param.high - param.low)  # type: ignore[operator]
    if param.kind == "triangular":
        width = param.high - param.low  # type: ignore[operator]
        return stats.triang(c=(param.mode - param.low) / width, loc=param.low, scale=width)  # type: ignore[operator]
    if param.kind == "normal":
        if param.low is None and param.high is None:
            return stats.norm(loc=param.mean, scale=param.sd)
        a = -np.inf if param.low is None else (param.low - param.mean) / param.sd  # type: ignore[operator]
        b = np.inf if param.high is None else (param.high - param.mean) / param.sd  # type: ignore[operator]
        return stats.truncnorm(a, b, loc=param.mean, scale=param.sd)
    raise ValueError(f"{param.kind} is not a continuous distribution")


def quantile(param: Parameter, u: float | np.ndarray) -> Any:
    """The parameter's value at cumulative probability ``u`` (before integer rounding)."""
    u = np.asarray(u, dtype=float)
    if param.kind == "choice":
        values = list(param.values or ())
        index = np.minimum((u * len(values)).astype(int), len(values) - 1)
        out = np.array(values, dtype=object)[index]
        return out.item() if out.ndim == 0 else out
    if param.kind == "uniform":  # exact arithmetic at the ends, no scipy round trip
        out = param.low + u * (param.high - param.low)  # type: ignore[operator]
    else:
        out = _continuous(param).ppf(u)
    return float(out) if np.ndim(out) == 0 else out


def coerce(value: Any, integer: bool) -> Any:
    """A sampled value as the scenario stores it: Python int or float (or the choice itself)."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if integer and isinstance(value, float):
        return int(math.floor(value + 0.5))
    return value


def from_unit(param: Parameter, u: np.ndarray, integer: bool = False) -> list[Any]:
    """Map unit-cube coordinates ``u`` (float[n]) to ``n`` values of the parameter."""
    u = np.clip(np.asarray(u, dtype=float), 0.0, np.nextafter(1.0, 0.0))
    if integer and param.kind == "uniform":
        low, high = math.ceil(param.low), math.floor(param.high)  # type: ignore[arg-type]
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


def build_design(sweep: Sweep, unit: np.ndarray | None = None) -> pd.DataFrame:
    """The design points of a sweep: column ``point`` (0, 1, …) and one column per key path.

    ``unit`` (float[n, d]) overrides the sweep's own design, e.g. with a SALib sample.
    """
    params: Sequence[Parameter] = sweep.parameters
    if unit is None and sweep.spec.design == "grid":
        levels = [grid_levels(p, i) for p, i in zip(params, sweep.integer, strict=True)]
        rows = list(itertools.product(*levels))
        columns = {p.path: [row[j] for row in rows] for j, p in enumerate(params)}
    else:
        if unit is None:
            unit = unit_design(sweep.spec.design, len(params), int(sweep.spec.samples or 0),
                               sweep.spec.seed)
        columns = {p.path: from_unit(p, unit[:, j], i)
                   for j, (p, i) in enumerate(zip(params, sweep.integer, strict=True))}
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"point": np.arange(n, dtype=np.int64)})
    for path, values in columns.items():
        frame[path] = _column(values)
    return frame


def _column(values: list[Any]) -> pd.Series | np.ndarray:
    """A typed column: int64, float64, bool or string, never a mixed object column."""
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return pd.Series([str(v) for v in values], dtype="string")
