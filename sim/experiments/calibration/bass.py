"""The closed-form Bass curve as a fast, exact fit of uptake series (issue #16).

The uptake-only model (``calibration/models/uptake_only.toml``) follows Bass diffusion
(Bass 1969, *Management Science* 15:215; checked in ``tests/model/test_uptake_bass.py``), so the
expected member curve has a closed form and a fit needs no simulation. With an initial share
``F0`` of the market already adopting at ``t = 0``, ``dF/dt = (p + qF)(1 − F)`` gives

    1 − F(t) = s (1 − F0) e^{−st} / (q (1 − F0) e^{−st} + p + q F0),   s = p + q,

which is Bass's curve for ``F0 = 0`` and the logistic ``1 / (1 + ((1 − F0)/F0) e^{−qt})`` for
``p = 0``. The observed count is ``m · F(t) · population`` with market share ``m``.

The initial adopters are a parameter (``a0``, adopters at ``t = 0`` as a share of the
population, so ``F0 = a0 / m``), estimated with the others: the first observation is data with
its own error, never a seed that replaces ``p``.

The likelihood is that of :func:`sim.experiments.calibration.objective.log_likelihood` without
model variance: each point Gaussian around ``μ`` with variance ``φ · v(μ)`` (``v = max(μ, 0.5)``
for Poisson-like counts, ``n·π(1 − π)`` for binomial, ``1/w`` for ``wls``), the dispersion
``φ`` integrated out over a scaled-inverse-χ² prior with ``ν`` degrees of freedom centred on
``φ0``. For a diagonal covariance the integral is analytic (a Student-t marginal):

    log L = −½ Σ log(2π v) + (ν/2) log(νφ0/2) − log Γ(ν/2) + log Γ((n+ν)/2)
            − ((n+ν)/2) log((Q + νφ0)/2),   Q = Σ (y − μ)² / v

(with ``ν = 0`` the improper prior 1/φ, constants dropped). The posterior is sampled by the same
adaptive importance sampler as the model fits (:func:`.posterior.sample_posterior`), with a
uniform prior on each parameter or its logarithm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from sim.experiments.calibration.posterior import polish, sample_posterior

__all__ = ["BassFit", "BassPrior", "bass_share", "curve_counts", "fit_bass",
           "marginal_log_likelihood", "variance"]


def bass_share(t_years: np.ndarray, p: np.ndarray | float, q: np.ndarray | float,
               f0: np.ndarray | float = 0.0) -> np.ndarray:
    """Share of the market adopted at times ``t_years`` (float[n]) since ``t = 0``.

    ``p``, ``q`` and ``f0`` broadcast against ``t``: pass column vectors (float[m, 1]) for m
    parameter sets at once (result float[m, n]).
    """
    t = np.asarray(t_years, dtype=float)
    p, q, f0 = (np.asarray(x, dtype=float) for x in (p, q, f0))
    s = p + q
    decay = np.exp(-s * t)
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = s * (1 - f0) * decay / (q * (1 - f0) * decay + p + q * f0)
    rest = np.where(s > 0, rest, 1 - f0)
    return np.clip(1 - rest, 0.0, 1.0)


def variance(kind: str, mu: np.ndarray, population: np.ndarray,
             weights: np.ndarray | None = None) -> np.ndarray:
    """Observation variance per unit dispersion of counts (as the model fits use)."""
    if kind == "wls":
        return np.broadcast_to(1.0 / (np.ones_like(population) if weights is None else weights),
                               mu.shape)
    if kind == "poisson":
        return np.maximum(mu, 0.5)
    share = np.clip(mu / population, 0.5 / population, 1 - 0.5 / population)
    return share * (1 - share) * population


def marginal_log_likelihood(y: np.ndarray, mu: np.ndarray, v: np.ndarray, prior_dof: float,
                            prior_value: float) -> np.ndarray:
    """Log-likelihood of ``y`` (float[n]) for means ``mu`` and variances ``v`` (float[m, n]),
    the dispersion integrated out analytically (module docstring); float[m]."""
    n = y.shape[-1]
    q = ((y - mu) ** 2 / v).sum(axis=-1)
    base = -0.5 * np.log(2 * math.pi * v).sum(axis=-1)
    nu = prior_dof
    if nu > 0:
        const = (nu / 2) * math.log(nu * prior_value / 2) - special.gammaln(nu / 2)
        return base + const + special.gammaln((n + nu) / 2) - ((n + nu) / 2) * np.log(
            (q + nu * prior_value) / 2)
    return base + special.gammaln(n / 2) - (n / 2) * np.log(np.maximum(q, 1e-300) / 2)


Bound = tuple[float, float] | float | None


@dataclass(frozen=True)
class BassPrior:
    """Bounds of the uniform (or log-uniform) prior on each parameter, or its fixed value.

    ``p``: innovation per year (log scale); ``q``: imitation per year; ``m``: market share of
    the population (``None``: 1); ``a0``: adopters at ``t = 0`` as a share of the population
    (``None``: 0, the series starts at launch). A number fixes the parameter.
    """

    p: Bound = (1e-4, 1.0)
    q: Bound = (0.0, 3.0)
    m: Bound = (0.05, 1.0)
    a0: Bound = (0.0, 0.1)
    log: tuple[str, ...] = ("p",)

    @property
    def names(self) -> tuple[str, ...]:
        """The fitted parameters, in the order p, q, m, a0."""
        return tuple(n for n in ("p", "q", "m", "a0") if isinstance(getattr(self, n), tuple))

    @property
    def fixed(self) -> dict[str, float]:
        """Values of the parameters that are not fitted."""
        default = {"p": 0.0, "q": 0.0, "m": 1.0, "a0": 0.0}
        return {n: float(v) if isinstance(v := getattr(self, n), int | float) else default[n]
                for n in ("p", "q", "m", "a0") if not isinstance(getattr(self, n), tuple)}

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        names = self.names
        lower = np.array([getattr(self, n)[0] for n in names], dtype=float)
        upper = np.array([getattr(self, n)[1] for n in names], dtype=float)
        if len(names) == 0:
            raise ValueError("a Bass fit needs at least one parameter to fit")
        return lower, upper, np.array([n in self.log for n in names])


@dataclass(frozen=True)
class BassFit:
    """A closed-form Bass fit: best (posterior mode found by polishing), joint draws and the
    central interval of each parameter, in the order of :attr:`names`."""

    names: tuple[str, ...]
    best: np.ndarray
    samples: np.ndarray
    quantiles: np.ndarray
    ess: float
    evaluations: int
    extra: dict[str, float] = field(default_factory=dict)


def _theta(z: np.ndarray, lower: np.ndarray, upper: np.ndarray, log: np.ndarray) -> np.ndarray:
    z = np.clip(z, 0.0, 1.0)
    lo = np.where(log, np.log(np.where(log, lower, 1.0)), lower)
    hi = np.where(log, np.log(np.where(log, upper, 1.0)), upper)
    x = lo + z * (hi - lo)
    return np.where(log, np.exp(x), x)


def curve_counts(theta: np.ndarray, prior: BassPrior, t_years: np.ndarray,
                 population: np.ndarray | float) -> np.ndarray:
    """Expected counts float[m, n] for parameter rows ``theta`` float[m, k] (the fitted
    parameters of ``prior``, in its order; the others at their fixed values)."""
    theta = np.atleast_2d(theta)
    column = {n: np.full((len(theta), 1), v) for n, v in prior.fixed.items()}
    column.update({n: theta[:, i:i + 1] for i, n in enumerate(prior.names)})
    m, a0 = column["m"], column["a0"]
    f0 = np.minimum(a0 / m, 0.999)
    return m * bass_share(t_years, column["p"], column["q"], f0) * population


def fit_bass(t_years: np.ndarray, y: np.ndarray, population: np.ndarray | float,
             prior: BassPrior = BassPrior(), *, loss: str = "poisson", prior_dof: float = 2.0,
             prior_value: float = 1.0, interval: float = 0.9, per_round: int = 300,
             rounds: int = 5, polish_evaluations: int = 200, draws: int = 1000,
             seed: int = 1) -> BassFit:
    """Posterior of the closed-form Bass curve given counts ``y`` at ``t_years``.

    ``t_years`` are years since ``t = 0`` (the curve's start, where ``a0`` adopters are in);
    ``population`` the LAs each count is out of. Returns joint draws and central intervals.
    """
    t = np.asarray(t_years, dtype=float)
    y = np.asarray(y, dtype=float)
    pop = np.broadcast_to(np.asarray(population, dtype=float), y.shape)
    names = prior.names
    lower, upper, log = prior.bounds()
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 16])))

    def log_like(z: np.ndarray) -> np.ndarray:
        mu = curve_counts(_theta(z, lower, upper, log), prior, t, pop)
        return marginal_log_likelihood(y, mu, variance(loss, mu, pop), prior_dof, prior_value)

    post = sample_posterior(log_like, len(names), per_round, rounds, rng, draws=draws)
    start = post.z[int(np.argmax(post.log_likelihood))]
    best_z, _ = polish(lambda z: -float(log_like(np.atleast_2d(z))[0]), start,
                       polish_evaluations)
    samples = _theta(post.draws, lower, upper, log)
    alpha = (1 - interval) / 2
    quantiles = np.quantile(samples, [alpha, 0.5, 1 - alpha], axis=0).T
    return BassFit(names=names, best=_theta(best_z, lower, upper, log), samples=samples,
                   quantiles=quantiles, ess=post.ess,
                   evaluations=per_round * rounds + polish_evaluations)
