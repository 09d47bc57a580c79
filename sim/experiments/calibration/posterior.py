"""Posterior sampling for stochastic fits ("abc"): adaptive importance sampling of
prior × synthetic likelihood, with the model run once per candidate.

The prior is uniform on each parameter (or on its logarithm), i.e. uniform on the unit cube
``z``. Sampling works in the unbounded space ``u = logit(z)``, where the prior density is
``Π z (1 − z)`` and proposals need no truncation. Round 0 is a Latin hypercube over the prior.
Each later round draws from a mixture of Gaussian kernels centred on the weighted points so far,
with the weighted covariance (so ridges such as the trade-off of Bass p and q are followed)
scaled by Silverman's factor, plus a 10% share from the prior, as in population Monte Carlo
(Cappé et al. 2004) and ABC-SMC (Beaumont et al. 2009). At the end every point is weighted by
prior × likelihood ÷ the average of all proposals used (the deterministic-mixture weights of
adaptive multiple importance sampling, Cornuet et al. 2012), so no round's points are wasted.
Posterior draws are resampled from the weights and jittered by the same kernel (a regularised,
kernel-smoothed resample), so that a small effective sample size widens the intervals rather
than collapsing them onto a few points. The likelihood is a synthetic likelihood (see
:mod:`.objective`): this is ABC with a Gaussian kernel on the standardised distance between
simulated and observed series.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from scipy.stats import qmc

__all__ = ["PosteriorSample", "polish", "resample", "sample_posterior", "weighted_quantiles"]

DEFENSIVE_SHARE = 0.1
"""Share of each round's draws taken from the prior, so the proposal never misses a region."""
EDGE = 1e-9


def _to_u(z: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(z, EDGE, 1 - EDGE))


def _to_z(u: np.ndarray) -> np.ndarray:
    return special.expit(u)


def _log_prior(u: np.ndarray) -> np.ndarray:
    """Log density of the uniform-cube prior in u = logit(z): Σ log z(1 − z)."""
    return (-np.logaddexp(0, -u) - np.logaddexp(0, u)).sum(axis=1)


@dataclass(frozen=True)
class PosteriorSample:
    """Every evaluated point with its importance weight, and regularised posterior draws.

    Attributes
    ----------
    z : float[N, k], evaluated points in the unit cube.
    log_likelihood : float[N].
    weights : float[N], normalised importance weights (prior × likelihood ÷ proposal).
    ess : effective sample size of the weights, (Σw)² ÷ Σw².
    draws : float[M, k], posterior draws in the unit cube (resampled and kernel-smoothed).
    """

    z: np.ndarray
    log_likelihood: np.ndarray
    weights: np.ndarray
    ess: float
    draws: np.ndarray


@dataclass(frozen=True)
class _Kernels:
    centres: np.ndarray  # float[m, k], in u
    mix: np.ndarray  # float[m], sums to 1
    chol: np.ndarray  # float[k, k], Cholesky factor of the kernel covariance

    def log_density(self, u: np.ndarray) -> np.ndarray:
        k = u.shape[1]
        log_det = np.log(np.diag(self.chol)).sum()
        out = np.empty(len(u))
        for start in range(0, len(u), 256):
            block = u[start:start + 256]
            diff = block[:, None, :] - self.centres[None, :, :]
            solved = np.linalg.solve(self.chol, diff.reshape(-1, k).T).T.reshape(diff.shape)
            log_k = -0.5 * (solved**2).sum(axis=2) - log_det - 0.5 * k * math.log(2 * math.pi)
            out[start:start + 256] = special.logsumexp(log_k, b=self.mix[None, :], axis=1)
        return out

    def draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        picks = rng.choice(len(self.centres), size=count, p=self.mix)
        noise = rng.standard_normal((count, self.centres.shape[1]))
        return self.centres[picks] + noise @ self.chol.T


def _normalise(log_weights: np.ndarray) -> np.ndarray:
    finite = np.isfinite(log_weights)
    if not finite.any():
        return np.full(len(log_weights), 1 / len(log_weights))
    w = np.where(finite, np.exp(log_weights - log_weights[finite].max()), 0.0)
    return w / w.sum()


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles of weighted samples (values float[N]; weights float[N] summing to 1)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = np.cumsum(w) - 0.5 * w
    return np.interp(qs, cdf / cdf[-1] if cdf[-1] > 0 else cdf, v)


def resample(weights: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: ``count`` indices drawn in proportion to ``weights``."""
    positions = (rng.random() + np.arange(count)) / count
    return np.minimum(np.searchsorted(np.cumsum(weights), positions), len(weights) - 1)


def _kernels(u: np.ndarray, weights: np.ndarray, inflation: float = 1.5) -> _Kernels:
    """Kernels on the points carrying 99.9% of the weight (at most 400), with the weighted
    covariance times Silverman's factor squared (times ``inflation`` squared)."""
    k = u.shape[1]
    order = np.argsort(weights)[::-1]
    cumulative = np.cumsum(weights[order])
    keep = order[: max(1, min(400, int(np.searchsorted(cumulative, 0.999)) + 1))]
    mix = weights[keep] / weights[keep].sum()
    mean = weights @ u
    centred = u - mean
    cov = (weights[:, None] * centred).T @ centred
    ess = 1 / np.sum(weights**2)
    factor = inflation * (4 / ((k + 2) * max(ess, 1.0))) ** (1 / (k + 4))
    cov = factor**2 * cov + 1e-4 * np.eye(k)
    return _Kernels(centres=u[keep], mix=mix, chol=np.linalg.cholesky(cov))


def _log_mixture(u: np.ndarray, proposals: list[tuple[int, _Kernels | None]]) -> np.ndarray:
    """Log of the average proposal density over all rounds (prior share + kernel share)."""
    total = sum(n for n, _ in proposals)
    log_prior = _log_prior(u)
    terms = []
    for n, kernels in proposals:
        if kernels is None:
            terms.append(math.log(n / total) + log_prior)
        else:
            terms.append(math.log(n / total) + np.logaddexp(
                math.log(DEFENSIVE_SHARE) + log_prior,
                math.log(1 - DEFENSIVE_SHARE) + kernels.log_density(u)))
    return special.logsumexp(np.vstack(terms), axis=0)


def sample_posterior(log_likelihood: Callable[[np.ndarray], np.ndarray], dimension: int,
                     per_round: int, rounds: int, rng: np.random.Generator,
                     draws: int = 1000) -> PosteriorSample:
    """Adaptive importance sampling with a uniform prior on the unit cube.

    Parameters
    ----------
    log_likelihood : maps points float[m, k] (unit cube) to log-likelihoods float[m].
    dimension : k, the number of parameters.
    per_round, rounds : candidates per round and number of rounds.
    rng : the random generator (seeded by the spec's method.seed).
    draws : posterior draws to return.
    """
    z = qmc.LatinHypercube(d=dimension, rng=rng).random(per_round)
    u = _to_u(z)
    ll = log_likelihood(z)
    proposals: list[tuple[int, _Kernels | None]] = [(per_round, None)]
    for _ in range(1, rounds):
        weights = _normalise(_log_prior(u) + ll - _log_mixture(u, proposals))
        kernels = _kernels(u, weights)
        n_prior = int(round(DEFENSIVE_SHARE * per_round))
        new_u = np.vstack([_to_u(rng.random((n_prior, dimension))),
                           kernels.draw(per_round - n_prior, rng)])
        ll = np.concatenate([ll, log_likelihood(_to_z(new_u))])
        u = np.vstack([u, new_u])
        proposals.append((per_round, kernels))
    weights = _normalise(_log_prior(u) + ll - _log_mixture(u, proposals))
    ess = float(1 / np.sum(weights**2))
    smooth = _kernels(u, weights, inflation=1.0)
    picks = resample(weights, draws, rng)
    jitter = rng.standard_normal((draws, dimension)) @ smooth.chol.T
    return PosteriorSample(z=_to_z(u), log_likelihood=ll, weights=weights, ess=ess,
                           draws=_to_z(u[picks] + jitter))


def polish(negative_log_likelihood: Callable[[np.ndarray], float], start: np.ndarray,
           evaluations: int) -> tuple[np.ndarray, float]:
    """Bounded Nelder–Mead from ``start`` in the unit cube; returns (best point, its value)."""
    value0 = negative_log_likelihood(start)
    if evaluations <= 0:
        return start, value0
    dimension = len(start)
    simplex = np.vstack([start] + [np.clip(start + 0.04 * np.eye(dimension)[i] *
                                           (1 if start[i] < 0.5 else -1), 0, 1)
                                   for i in range(dimension)])
    result = optimize.minimize(negative_log_likelihood, start, method="Nelder-Mead",
                               bounds=[(0, 1)] * dimension,
                               options={"maxfev": evaluations, "initial_simplex": simplex,
                                        "xatol": 1e-4, "fatol": 1e-3})
    if result.fun < value0:
        return np.clip(result.x, 0, 1), float(result.fun)
    return start, value0
