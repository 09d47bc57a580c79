"""Parameter uncertainty in ensembles: replicates drawn from calibrated parameter distributions.

``run --parameter-uncertainty FILE`` (and ``compare``) runs the replicates in fixed groups of
:data:`PARAMETER_GROUP_SIZE` (25). Each group gets one parameter set, drawn from the calibrated
distribution in FILE (a calibration's ``fit.json``: joint posterior or bootstrap samples, so
correlated parameters such as Bass p and q stay together), and runs with its own seed. Group
``g``'s draw and seed depend only on the run seed and ``g``:

* the numbers do not depend on how work is split, and a run is reproduced by its seed;
* scenarios compared with the same seed get the same parameter set in the same group, so
  comparisons keep common random numbers for the parameters as well as for the mechanisms;
* the fan charts then show parameter uncertainty as well as stochastic noise: 1,000 replicates
  cover 40 parameter sets, each with 25 stochastic replicates.

Why groups, not one draw per replicate: each group runs with its own seed, so that a run is
reproduced by its seed and its groups alone, and not every parameter a calibration can fit
may differ between the replicates of one batch (only those of
:data:`sim.model.PER_REPLICATE_PATHS`). Groups of 25 give 40 parameter sets per 1,000
replicates, enough for the 10th–90th percentile bands the charts draw. Within a group the
spread is stochastic noise only; across groups it is parameter uncertainty too. The drawn
values are checked by the scenario schema, then written into the compiled parameters of the
group's replicates (never into the scenario).

Several files may be given (say, uptake and workforce fits); each is sampled independently, and
two files must not set the same parameter. Calibration-layer parameters (``calibration.*``) are
not model parameters and are ignored, except the market ceiling ``calibration.market_share``
(issue #16): a drawn plateau m becomes the median willingness to pay at which a share m of LAs
would pay the reference scenario's prices (:func:`market_median`, docs/model.md §2.10), so the
draw sets ``market.wtp_median_gbp_per_year``.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim.data import LAPopulation
from sim.engine import DEFAULT_BLOCK_SIZE
from sim.experiments.ensemble import EnsembleResult, run_ensemble
from sim.scenario import Scenario, ScenarioError, scenario_from_dict
from sim.scenario.load import set_path

__all__ = [
    "MARKET_SHARE",
    "PARAMETER_GROUP_SIZE",
    "WTP_MEDIAN",
    "ParameterDistribution",
    "check_parameters",
    "draw_parameter_sets",
    "group_seed",
    "load_parameter_distribution",
    "market_median",
    "model_values",
    "reference_prices",
    "run_with_parameter_uncertainty",
]

PARAMETER_GROUP_SIZE = 25
"""Replicates that share one parameter draw (see the module docstring)."""

MARKET_SHARE = "calibration.market_share"
"""The calibration's market ceiling m (share of LAs), drawn as :data:`WTP_MEDIAN`."""
WTP_MEDIAN = "market.wtp_median_gbp_per_year"
"""The model parameter a drawn market ceiling sets (see :func:`market_median`)."""


@dataclass(frozen=True)
class ParameterDistribution:
    """Joint samples of model parameters from a calibration.

    Attributes
    ----------
    source : the file read.
    name : the calibration's name.
    kind : how the samples were made (posterior samples, bootstrap refits …).
    paths : model parameter key paths (calibration-layer parameters dropped, except the market
        ceiling :data:`MARKET_SHARE`, drawn as :data:`WTP_MEDIAN`).
    samples : float[S, k], one joint draw per row.
    """

    source: str
    name: str
    kind: str
    paths: tuple[str, ...]
    samples: np.ndarray

    @property
    def model_paths(self) -> tuple[str, ...]:
        """The model parameters a draw sets (the market ceiling sets :data:`WTP_MEDIAN`)."""
        return tuple(WTP_MEDIAN if p == MARKET_SHARE else p for p in self.paths)


def load_parameter_distribution(path: str | Path) -> ParameterDistribution:
    """Read the calibrated distribution in a ``fit.json`` (or a calibration folder holding one).

    Raises
    ------
    ScenarioError
        if the file is missing, is not a calibration's fit.json, or fits no model parameter.
    """
    path = Path(path)
    file = path / "fit.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(str(file), "", "file not found (--parameter-uncertainty wants a "
                            "calibration's fit.json or its folder)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScenarioError(str(file), "", f"cannot be read as JSON: {exc}") from None
    block = data.get("distribution") if isinstance(data, dict) else None
    if not isinstance(block, dict):
        raise ScenarioError(str(file), "distribution", "is missing: this file holds no calibrated "
                            "parameter distribution (a trend fit informs no model parameter)")
    paths, samples = block.get("parameters"), block.get("samples")
    if not isinstance(paths, list) or not isinstance(samples, list) or not samples:
        raise ScenarioError(str(file), "distribution", "must give 'parameters' and a non-empty "
                            "list of 'samples'")
    try:
        table = np.array(samples, dtype=float)
    except ValueError:
        raise ScenarioError(str(file), "distribution.samples", "must be rows of numbers") from None
    if table.ndim != 2 or table.shape[1] != len(paths) or not np.isfinite(table).all():
        raise ScenarioError(str(file), "distribution.samples",
                            f"must be rows of {len(paths)} finite numbers, one per parameter")
    keep = [i for i, p in enumerate(paths)
            if not str(p).startswith("calibration.") or p == MARKET_SHARE]
    at = paths.index(MARKET_SHARE) if MARKET_SHARE in paths else None
    if at is not None and not ((table[:, at] >= 0) & (table[:, at] <= 1)).all():
        raise ScenarioError(str(file), "distribution.samples",
                            f"{MARKET_SHARE} must be a share between 0 and 1")
    if not keep:
        raise ScenarioError(str(file), "distribution.parameters",
                            f"names no model parameter, got {paths}")
    return ParameterDistribution(source=str(file), name=str(data.get("name", file.stem)),
                                 kind=str(block.get("kind", "samples")),
                                 paths=tuple(str(paths[i]) for i in keep),
                                 samples=table[:, keep])


def _check_disjoint(distributions: Sequence[ParameterDistribution]) -> None:
    seen: dict[str, str] = {}
    for dist in distributions:
        for p in dist.model_paths:
            if p in seen:
                raise ScenarioError(dist.source, p, f"is also drawn from {seen[p]}: give each "
                                    "parameter's distribution once")
            seen[p] = dist.source


def group_seed(seed: int, group: int) -> int:
    """The ensemble seed of replicate group ``group`` of a run with ``seed``."""
    state = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(b"parameter-group"), group))
    return int(state.generate_state(1, np.uint64)[0])


def draw_parameter_sets(distributions: Sequence[ParameterDistribution], seed: int,
                        groups: int) -> list[dict[str, float]]:
    """One parameter set per group: a joint sample from each distribution.

    Group ``g``'s draw from a distribution depends only on ``seed``, ``g`` and the
    distribution's parameter names, never on the scenario or on the other distributions.
    """
    _check_disjoint(distributions)
    sets: list[dict[str, float]] = []
    for g in range(groups):
        values: dict[str, float] = {}
        for dist in distributions:
            key = zlib.crc32(",".join(dist.paths).encode())
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
                seed, spawn_key=(zlib.crc32(b"parameter-draw"), key, g))))
            row = dist.samples[int(rng.integers(len(dist.samples)))]
            values.update({p: float(v) for p, v in zip(dist.paths, row, strict=True)})
        sets.append(values)
    return sets


def reference_prices(las: LAPopulation) -> np.ndarray:
    """Each LA's price in the reference scenario (``scenarios/base.toml``), float[N]: the
    prices at which a drawn market ceiling is read (:func:`market_median`)."""
    from sim.model import compile_parameters
    from sim.scenario.drivers import REFERENCE_FILE, reference_scenario

    scenario = reference_scenario()
    if scenario is None:
        raise ScenarioError(str(REFERENCE_FILE), "", "cannot be read: a drawn market ceiling "
                            "is read at the reference scenario's prices")
    return np.asarray(compile_parameters(scenario, las, 1).prices_gbp_per_year[0], dtype=float)


def market_median(share: float, sigma: float, prices: np.ndarray) -> float:
    """The median willingness to pay (£/year) at which a ``share`` of LAs would pay
    ``prices`` (float[N], :func:`reference_prices`) with log-scale spread ``sigma``: the
    calibrated plateau m read as the model's market ceiling (docs/model.md §2.10)."""
    from sim.model.uptake import wtp_median_for_share

    return wtp_median_for_share(share, prices, sigma)


def model_values(values: dict[str, float], scenario: Scenario,
                 prices: np.ndarray | None) -> dict[str, float]:
    """A drawn parameter set as model parameters: a drawn :data:`MARKET_SHARE` is replaced by
    the :data:`WTP_MEDIAN` it implies at ``prices`` with the scenario's ``market.wtp_sigma``."""
    if MARKET_SHARE not in values:
        return dict(values)
    assert prices is not None
    out = {k: v for k, v in values.items() if k != MARKET_SHARE}
    out[WTP_MEDIAN] = market_median(values[MARKET_SHARE], scenario.market.wtp_sigma, prices)
    return out


def check_parameters(scenario: Scenario, values: dict[str, float]) -> None:
    """Check drawn values through the schema, as a ``--set`` would be (ScenarioError if a
    value is outside its field's range or the scenario's rules)."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    for path, value in values.items():
        set_path(data, path, value, create=True)
    scenario_from_dict(data, f"{scenario.meta.name} with drawn parameters")


def run_with_parameter_uncertainty(
        scenario: Scenario, las: LAPopulation, replicates: int, seed: int,
        distributions: Sequence[ParameterDistribution],
        group_size: int = PARAMETER_GROUP_SIZE, *,
        block_size: int = DEFAULT_BLOCK_SIZE) -> tuple[EnsembleResult, list[dict[str, Any]]]:
    """Run ``replicates`` replicates in groups, each with its own parameter draw.

    Returns the ensemble (replicates in group order, as one :class:`EnsembleResult` of the
    undrawn scenario) and one row per group: group, first replicate, replicates, seed and the
    drawn values (a drawn market ceiling with the willingness-to-pay median it sets).
    ``block_size`` splits each group's replicates into random-stream blocks (no effect while it
    is at least ``group_size``).
    """
    groups = math.ceil(replicates / group_size)
    sets = draw_parameter_sets(distributions, seed, groups)
    prices = (reference_prices(las) if any(MARKET_SHARE in d.paths for d in distributions)
              else None)
    metrics: dict[str, np.ndarray] = {}
    kpis: dict[str, np.ndarray] = {}
    first: EnsembleResult | None = None
    rows: list[dict[str, Any]] = []
    for g, drawn in enumerate(sets):
        start = g * group_size
        size = min(group_size, replicates - start)
        values = model_values(drawn, scenario, prices)
        check_parameters(scenario, values)
        part = run_ensemble(scenario, las, size, group_seed(seed, g), block_size, values=values)
        if first is None:
            first = part
            metrics = {k: np.empty((replicates, *v.shape[1:])) for k, v in part.metrics.items()}
            kpis = {k: np.empty(replicates) for k in part.kpis}
        for k, v in part.metrics.items():
            metrics[k][start:start + size] = v
        for k, v in part.kpis.items():
            kpis[k][start:start + size] = v
        rows.append({"group": g, "first_replicate": start, "replicates": size,
                     "seed": group_seed(seed, g), **drawn, **values})
    assert first is not None
    result = replace(first, scenario=scenario, seed=seed, replicates=replicates, metrics=metrics,
                     kpis=kpis)
    return result, rows
