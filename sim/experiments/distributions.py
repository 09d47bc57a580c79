"""A varied parameter's distribution: its quantile function, and sampled values as the scenario
stores them.

Used by the sweep-file loader (to check a range's extreme values against the schema) and by
the designs (to map unit-cube points to values). It knows a parameter only by the fields of
:class:`Distribution`, so it depends on neither of them.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
from scipy import stats

__all__ = ["Distribution", "coerce", "quantile"]


class Distribution(Protocol):
    """What a distribution is made of (a sweep file's ``[[parameters]]`` entry)."""

    @property
    def kind(self) -> str:
        """``uniform``, ``normal``, ``triangular`` or ``choice``."""

    @property
    def low(self) -> float | None: ...

    @property
    def high(self) -> float | None: ...

    @property
    def mode(self) -> float | None: ...

    @property
    def mean(self) -> float | None: ...

    @property
    def sd(self) -> float | None: ...

    @property
    def values(self) -> tuple[bool | int | float | str, ...] | None: ...


def _bounds(param: Distribution) -> tuple[float, float]:
    """``(low, high)`` of a distribution whose schema requires both."""
    if param.low is None or param.high is None:
        raise ValueError(f"a {param.kind} distribution needs low and high")
    return param.low, param.high


def _continuous(param: Distribution) -> Any:
    """The scipy distribution of a numeric parameter."""
    if param.kind == "uniform":
        low, high = _bounds(param)
        return stats.uniform(loc=low, scale=high - low)
    if param.kind == "triangular":
        low, high = _bounds(param)
        if param.mode is None:
            raise ValueError("a triangular distribution needs a mode")
        width = high - low
        return stats.triang(c=(param.mode - low) / width, loc=low, scale=width)
    if param.kind == "normal":
        if param.mean is None or param.sd is None:
            raise ValueError("a normal distribution needs mean and sd")
        if param.low is None and param.high is None:
            return stats.norm(loc=param.mean, scale=param.sd)
        a = -np.inf if param.low is None else (param.low - param.mean) / param.sd
        b = np.inf if param.high is None else (param.high - param.mean) / param.sd
        return stats.truncnorm(a, b, loc=param.mean, scale=param.sd)
    raise ValueError(f"{param.kind} is not a continuous distribution")


def quantile(param: Distribution, u: float | np.ndarray) -> Any:
    """The parameter's value at cumulative probability ``u`` (before integer rounding)."""
    u = np.asarray(u, dtype=float)
    if param.kind == "choice":
        values = list(param.values or ())
        index = np.minimum((u * len(values)).astype(int), len(values) - 1)
        chosen = np.array(values, dtype=object)[index]
        return chosen.item() if chosen.ndim == 0 else chosen
    if param.kind == "uniform":  # exact arithmetic at the ends, no scipy round trip
        low, high = _bounds(param)
        out = low + u * (high - low)
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
