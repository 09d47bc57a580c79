"""Several design points in one batch: a scenario whose swept parameters hold one value per
replicate (STYLE rule 3: parameters ride the replicate axis like the replicates themselves).

A sweep or a sensitivity analysis varies a few parameters over thousands of design points. Run
one at a time, every point pays the model's fixed cost per month; stacked, a batch of 2,000
rows can hold 2,000 points. :func:`stack_scenarios` builds the stacked scenario from one
validated point by putting float64[R] arrays in the swept fields (each point's own scenario is
validated first, by the caller). Only the parameters in :data:`PER_REPLICATE_PATHS` may be
stacked: the model reads each of them through broadcasting that works for a scalar and for an
array alike, and the tests run every one of them stacked and alone and compare the numbers to
the bit. Any other parameter makes the points run one at a time, as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel

from sim.scenario.load import split_key_path
from sim.scenario.schema import Scenario

__all__ = ["PER_REPLICATE_PATHS", "column", "is_per_replicate", "per_replicate", "stack_scenarios",
           "value_at"]

PER_REPLICATE_PATHS = frozenset({
    "uptake.p_per_year",
    "uptake.q_per_year",
    "uptake.initial_aware_share",
    "uptake.evaluation_start_months",
    "uptake.renewal_prob",
    "uptake.renewal_reputation_sensitivity",
    "uptake.renewal_budget_pressure_sensitivity",
    "uptake.approval_threshold_gbp",
    "uptake.orphan_lapse_prob",
    "uptake.lapsed_return_months",
    "uptake.champion_replacement_months",
    "uptake.contribution_rate_per_year",
    "uptake.championing_rate_per_year",
    "finance.opening_reserves_gbp",
    "finance.non_pay_gbp_per_fte_per_year",
    "finance.fixed_non_pay_gbp_per_year",
    "finance.grants[*].amount_gbp_per_year",
    "finance.grants[*].end_month",
    "finance.subscriptions_from_month",
    "finance.subscription_gbp_per_year",
    "finance.subscription_bands[*].price_gbp_per_year",
    "workforce.resignation_rate_per_year",
    "workforce.funding_uncertainty_uplift",
    "workforce.workload_sensitivity",
    "workforce.hiring_freeze_reserve_months",
    "hosting.recruitment_delay_months",
    "hosting.overhead_recharge_rate",
    "hosting.priced_approval_months",
    "portfolio.launch_failure_prob",
})
"""Parameters that may differ between the design points of one batch (``[*]`` = any index)."""


def is_per_replicate(path: str) -> bool:
    """Whether the parameter at ``path`` may hold one value per replicate."""
    return re.sub(r"\[\d+\]", "[*]", path) in PER_REPLICATE_PATHS


def column(value: Any) -> Any:
    """A parameter as a column for ``[R, …]`` arithmetic: ``[R, 1]`` for a per-replicate array,
    unchanged for a scalar."""
    return value[:, None] if np.ndim(value) == 1 else value


def value_at(model: Any, path: str) -> Any:
    """The value of the field at a key path (``finance.grants[0].end_month``)."""
    for part in split_key_path(path):
        model = model[part] if isinstance(part, int) else getattr(model, part)
    return model


def per_replicate(value: Any, replicates: int) -> np.ndarray:
    """A parameter as float64[R], one value per replicate (a read-only view when it is a
    scalar shared by all)."""
    return np.broadcast_to(np.asarray(value, dtype=float), (replicates,))


def _replace(model: Any, parts: list[str | int], value: Any) -> Any:
    """``model`` with the field at ``parts`` set to ``value`` (no validation: the value is an
    array standing for values validated one point at a time)."""
    head, rest = parts[0], parts[1:]
    if isinstance(model, BaseModel):
        assert isinstance(head, str)
        current = getattr(model, head)
        return model.model_copy(update={head: _replace(current, rest, value) if rest else value})
    if isinstance(model, tuple | list):
        assert isinstance(head, int)
        items = list(model)
        items[head] = _replace(items[head], rest, value) if rest else value
        return type(model)(items)
    raise TypeError(f"cannot set {head!r} in {type(model).__name__}")


def stack_scenarios(first: Scenario, values: Mapping[str, np.ndarray]) -> Scenario:
    """``first`` with each swept parameter replaced by its values per replicate.

    Parameters
    ----------
    first : a validated design point (every other field is shared by all points of the batch).
    values : path → float64[R], the value of the parameter in each row of the batch (each
        point's value repeated for its replicates).
    """
    stacked = first
    for path, array in values.items():
        if not is_per_replicate(path):
            raise ValueError(f"{path} cannot differ within a batch; allowed: "
                             f"{', '.join(sorted(PER_REPLICATE_PATHS))}")
        stacked = _replace(stacked, split_key_path(path), np.asarray(array, dtype=float))
    return stacked
