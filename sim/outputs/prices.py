"""Nominal or real-terms money in the outputs (docs/outputs.md §1.7).

A run's results are nominal unless it was run with ``--real-terms`` (then every money metric
and KPI is in 2026/27 prices: :func:`sim.experiments.prices.deflate`). Every output that shows
money says which basis it is in: the manifest's ``prices``, the time series' ``prices`` column,
chart labels and footers, the workbook and the board pack.
"""

from __future__ import annotations

__all__ = ["NOMINAL", "REAL", "is_money", "money_label"]

NOMINAL = "nominal"
"""Money as paid at the time (the model's own basis)."""
REAL = "2026/27 prices"
"""Money deflated by the CPI index to the prices of the first fiscal year."""


def is_money(name: str) -> bool:
    """Whether a metric or KPI is an amount of money (£): its name ends in ``_gbp`` or holds
    ``_gbp_`` (the same rule as :func:`sim.experiments.prices.is_money`, which deflates them;
    outputs read tables, not the experiments layer)."""
    return name.endswith("_gbp") or "_gbp_" in name


def money_label(prices: str) -> str:
    """How a chart or table says the basis: ``£, nominal`` or ``£, 2026/27 prices``."""
    return f"£, {prices}"
