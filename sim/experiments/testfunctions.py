"""Analytic test functions with known sensitivity indices, shipped to check the machinery.

A sweep file may name ``test_function = "ishigami"`` (or ``sobol_g``, ``linear``) instead of a
base scenario. The sweep then runs through exactly the same code — design, chunks, executors,
Parquet files, SALib analysis, charts — with the function in place of the model, so the tests
(and a user) can check that known indices come back out (SALib ships the same functions for the
same reason).

References
----------
Ishigami, T. & Homma, T. (1990). An importance quantification technique in uncertainty analysis
for computer models. ISUMA '90, 398–403. doi:10.1109/ISUMA.1990.151285
Saltelli, A. & Sobol', I. M. (1995). About the use of rank transformation in sensitivity
analysis of model output. Reliability Engineering & System Safety 50(3), 225–239.
doi:10.1016/0951-8320(95)00099-2 (the G function)
Zitzler, E., Deb, K. & Thiele, L. (2000). Comparison of multiobjective evolutionary algorithms:
empirical results. Evolutionary Computation 8(2), 173–195. doi:10.1162/106365600568202 (ZDT1)

Two functions check ``run.py optimise`` (docs/experiments.md §12) rather than sensitivity
analysis: ``quadratic``, a constrained quadratic whose optimum is a projection in closed form
(:func:`quadratic_optimum`), with Gaussian noise per replicate on both outputs when the
optimiser evaluates it; and ``zdt1``, two objectives whose Pareto front is known
(:func:`zdt1_front`). A sweep evaluates every test function without noise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TEST_FUNCTIONS", "TestFunction", "ishigami", "ishigami_indices", "sobol_g",
           "sobol_g_indices", "linear", "linear_indices", "quadratic", "quadratic_optimum", "zdt1",
           "zdt1_front"]

ISHIGAMI_A = 7.0
ISHIGAMI_B = 0.1
G_INPUTS = 20
LINEAR_INPUTS = 20


def ishigami(x1: np.ndarray, x2: np.ndarray, x3: np.ndarray, a: float = ISHIGAMI_A,
             b: float = ISHIGAMI_B) -> np.ndarray:
    """``sin x1 + a sin² x2 + b x3⁴ sin x1``, inputs uniform on [−π, π]."""
    return np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, dict[str, float]]:
    """Exact first-order (S1) and total (ST) indices of :func:`ishigami` for U(−π, π) inputs."""
    pi4, pi8 = np.pi**4, np.pi**8
    v1 = 0.5 * (1 + b * pi4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    return {"S1": {"x1": v1 / total, "x2": v2 / total, "x3": 0.0},
            "ST": {"x1": (v1 + v13) / total, "x2": v2 / total, "x3": v13 / total}}


def _g_coefficients(n: int = G_INPUTS) -> np.ndarray:
    return np.arange(n) / 2.0  # a_i = (i - 1) / 2: x1 matters most, x20 least


def sobol_g(**x: np.ndarray) -> np.ndarray:
    """Sobol' G function ``Π (|4 x_i − 2| + a_i) / (1 + a_i)``, inputs uniform on [0, 1].

    Inputs not given are held at 0.25, where each factor is exactly 1.
    """
    a = _g_coefficients()
    shape = np.shape(next(iter(x.values()))) if x else ()
    out = np.ones(shape)
    for i in range(G_INPUTS):
        xi = np.asarray(x.get(f"x{i + 1}", 0.25), dtype=float)
        out = out * (np.abs(4 * xi - 2) + a[i]) / (1 + a[i])
    return out


def sobol_g_indices(varied: list[str]) -> dict[str, dict[str, float]]:
    """Exact S1 and ST of :func:`sobol_g` when only ``varied`` inputs vary (others at 0.25)."""
    a = _g_coefficients()
    v = {name: 1.0 / (3.0 * (1.0 + a[int(name[1:]) - 1]) ** 2) for name in varied}
    total = float(np.prod([1 + vi for vi in v.values()]) - 1)
    s1 = {k: vi / total for k, vi in v.items()}
    st = {k: vi * np.prod([1 + vj for j, vj in v.items() if j != k]) / total for k, vi in v.items()}
    return {"S1": s1, "ST": {k: float(x) for k, x in st.items()}}


def linear(**x: np.ndarray) -> np.ndarray:
    """``Σ i · x_i`` over the given inputs (others count 0); indices ∝ i² Var(x_i)."""
    shape = np.shape(next(iter(x.values()))) if x else ()
    out = np.zeros(shape)
    for i in range(LINEAR_INPUTS):
        out = out + (i + 1) * np.asarray(x.get(f"x{i + 1}", 0.0), dtype=float)
    return out


def linear_indices(variances: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Exact S1 (= ST) of :func:`linear` for inputs with the given variances."""
    parts = {k: (int(k[1:])) ** 2 * v for k, v in variances.items()}
    total = sum(parts.values())
    s = {k: p / total for k, p in parts.items()}
    return {"S1": s, "ST": dict(s)}


QUADRATIC_CENTRE = (0.8, 0.6)
QUADRATIC_NOISE_SD = 0.05
ZDT1_INPUTS = 3


def quadratic(x1: np.ndarray, x2: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
    """``y = (x1 − 0.8)² + (x2 − 0.6)²`` (to minimise) and ``g = x1 + x2 + u`` (to bound), with
    ``u`` an uncertain shift (0 unless sampled)."""
    cx, cy = QUADRATIC_CENTRE
    return {"y": (x1 - cx) ** 2 + (x2 - cy) ** 2, "g": x1 + x2 + u}


def quadratic_optimum(bound: float) -> tuple[float, float]:
    """The minimum of ``y`` subject to ``x1 + x2 ≤ bound`` (with ``u`` = 0), ``x`` in the unit
    square: the centre if it is feasible, else its orthogonal projection on the line."""
    cx, cy = QUADRATIC_CENTRE
    excess = max(0.0, cx + cy - bound) / 2
    return cx - excess, cy - excess


def zdt1(**x: np.ndarray) -> dict[str, np.ndarray]:
    """ZDT1 on ``ZDT1_INPUTS`` inputs in [0, 1]: ``f1 = x1``, ``f2 = g (1 − sqrt(f1 / g))``,
    ``g = 1 + 9 Σ_{i≥2} x_i / (n − 1)``; both minimised (Zitzler, Deb & Thiele 2000)."""
    f1 = np.asarray(x["x1"], dtype=float)
    rest = sum(np.asarray(x[f"x{i}"], dtype=float) for i in range(2, ZDT1_INPUTS + 1))
    g = 1 + 9 * rest / (ZDT1_INPUTS - 1)
    return {"f1": f1, "f2": g * (1 - np.sqrt(f1 / g))}


def zdt1_front(f1: np.ndarray) -> np.ndarray:
    """The Pareto front of :func:`zdt1`: ``f2 = 1 − sqrt(f1)``, f1 in [0, 1] (all other
    inputs 0)."""
    return 1 - np.sqrt(np.asarray(f1, dtype=float))


@dataclass(frozen=True)
class TestFunction:
    """A function of named inputs with named outputs, evaluated on whole columns at once."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    function: Callable[..., np.ndarray | Mapping[str, np.ndarray]]
    defaults: Mapping[str, float]
    noise: Mapping[str, float] = field(default_factory=dict)
    """Standard deviation of the Gaussian noise the optimiser adds to each output, per
    replicate (outputs not named: none)."""

    __test__ = False  # not a pytest test class

    def evaluate(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for columns of input values (inputs not given take their defaults)."""
        given = [np.asarray(values.get(k, self.defaults[k]), dtype=float) for k in self.inputs]
        arguments = dict(zip(self.inputs, np.broadcast_arrays(*given), strict=True))
        out = self.function(**arguments)
        if isinstance(out, Mapping):
            return {k: np.asarray(v, dtype=float) for k, v in out.items()}
        return {self.outputs[0]: np.asarray(out, dtype=float)}


TEST_FUNCTIONS: dict[str, TestFunction] = {
    "ishigami": TestFunction("ishigami", ("x1", "x2", "x3"), ("y",), ishigami,
                             {"x1": 0.0, "x2": 0.0, "x3": 0.0}),
    "sobol_g": TestFunction("sobol_g", tuple(f"x{i + 1}" for i in range(G_INPUTS)), ("y",), sobol_g,
                            {f"x{i + 1}": 0.25 for i in range(G_INPUTS)}),
    "linear": TestFunction("linear", tuple(f"x{i + 1}" for i in range(LINEAR_INPUTS)), ("y",),
                           linear, {f"x{i + 1}": 0.0 for i in range(LINEAR_INPUTS)}),
    "quadratic": TestFunction("quadratic", ("x1", "x2", "u"), ("y", "g"), quadratic,
                              {"x1": 0.5, "x2": 0.5, "u": 0.0},
                              {"y": QUADRATIC_NOISE_SD, "g": QUADRATIC_NOISE_SD}),
    "zdt1": TestFunction("zdt1", tuple(f"x{i + 1}" for i in range(ZDT1_INPUTS)), ("f1", "f2"),
                         zdt1, {f"x{i + 1}": 0.0 for i in range(ZDT1_INPUTS)}),
}
"""The shipped test functions by the name a sweep file gives in ``test_function``."""
