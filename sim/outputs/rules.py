"""Scenario-discovery boxes (:mod:`sim.experiments.discover`) said as plain-language rules.

A rule names the outcome, how often it holds inside the box and the box's conditions, then its
density, coverage and support, e.g. "survives to year 10 in 91% of runs when grant end month ≥ 48
and subscription £/year ≤ £9,000 (density …)". Parameters are named by the sweep's labels, KPIs
and fiscal-year columns by :mod:`sim.outputs.kpi_text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sim.outputs.kpi_text import KPI_TEXT, column_words

if TYPE_CHECKING:
    from sim.experiments.discover import Box, Discovery, Restriction

__all__ = ["describe_box", "describe_restriction", "discovery_outcome", "discovery_rules"]


def _number(value: float, column: str) -> str:
    if "gbp" in column:
        return f"£{value:,.0f}"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")


def describe_restriction(r: Restriction, labels: Mapping[str, str]) -> str:
    """``grant end month ≥ 48``: one condition of a box, its column named by ``labels`` (else in
    words)."""
    name = labels.get(r.column) or column_words(r.column)
    if r.categories is not None:
        values = ", ".join(str(c) for c in r.categories)
        return f"{name} is {values}" if len(r.categories) == 1 else f"{name} is one of {values}"
    if r.low is not None and r.high is not None:
        return f"{name} is between {_number(r.low, r.column)} and {_number(r.high, r.column)}"
    if r.low is not None:
        return f"{name} ≥ {_number(r.low, r.column)}"
    if r.high is not None:
        return f"{name} ≤ {_number(r.high, r.column)}"
    return f"{name} is any value"


def describe_box(box: Box, outcome: str, unit: str, labels: Mapping[str, str]) -> str:
    """One plain-language rule with density, coverage and support."""
    if not box.restrictions:
        return (f"{outcome} in {100 * box.density:.0f}% of {unit} overall; no condition "
                "raises that share")
    conditions = " and ".join(describe_restriction(r, labels) for r in box.restrictions)
    return (f"{outcome} in {100 * box.density:.0f}% of {unit} when {conditions} "
            f"(density {100 * box.density:.0f}%: {box.cases:,} of the {box.rows:,} {unit} in "
            f"this box; coverage {100 * box.coverage:.0f}% of all {unit} where it holds; "
            f"support {100 * box.support:.0f}% of all {unit})")


def discovery_outcome(found: Discovery) -> str:
    """The outcome in words: ``survives to year 10`` for a 0/1 chance KPI over runs,
    ``P(survives to year 10) ≥ 80%`` over design points, else ``KPI ≥ threshold``."""
    event = KPI_TEXT[found.kpi].event if found.kpi in KPI_TEXT else ""
    chance = event and not found.below and 0 < found.threshold <= 1
    if chance and found.by == "run" and found.binary:
        return event
    if chance and found.by == "point":
        return f"P({event}) ≥ {100 * found.threshold:.0f}%"
    name = found.kpi if found.by == "run" else f"mean {found.kpi}"
    return f"{name} {'≤' if found.below else '≥'} {found.threshold:g}"


def discovery_rules(found: Discovery) -> list[str]:
    """Every box of ``found`` as a rule, the first found first."""
    outcome = discovery_outcome(found)
    return [describe_box(box, outcome, found.unit, found.labels) for box in found.boxes]
