"""Real-terms results (docs/outputs.md §1.7): an ensemble's money in 2026/27 prices.

The model works in nominal pounds (docs/model.md §5.13). :func:`deflate` divides each money
metric (a name ending in ``_gbp`` or holding ``_gbp_``) of every replicate by that month's
``cpi_index`` and computes the KPIs again from the deflated metrics, at the nominal run's cliff
months (the cliff is a date, not an amount).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.experiments.ensemble import EnsembleResult
from sim.model.kpis import compute_kpis

__all__ = ["deflate", "is_money"]


def is_money(name: str) -> bool:
    """Whether a metric or KPI is an amount of money (£): its name ends in ``_gbp`` or holds
    ``_gbp_`` (``core_budget_gbp_per_year``, ``cliff_drop_gbp_per_month``)."""
    return name.endswith("_gbp") or "_gbp_" in name


def deflate(ensemble: EnsembleResult) -> EnsembleResult:
    """The ensemble in 2026/27 prices: each money metric ÷ ``cpi_index``, month by month and
    replicate by replicate (exactly), and the KPIs of the deflated metrics."""
    cpi = ensemble.metrics["cpi_index"]
    metrics = {name: (np.asarray(values) / cpi if is_money(name) else values)
               for name, values in ensemble.metrics.items()}
    kpis = compute_kpis(metrics, None, cliff=ensemble.kpis["cliff_month"])
    return replace(ensemble, metrics=metrics, kpis=kpis)
