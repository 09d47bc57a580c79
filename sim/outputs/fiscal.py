"""Fiscal-year (April–March) figures of one scenario, from the monthly table.

Flows (income, costs) are the sums over the months of the year of the monthly means over runs;
because means add up, a year's total income is the sum of its sources and the change in mean
reserves over a year equals its surplus. Stocks (reserves, staff, members) are taken at the
year's last month in the run. Sources, cost types and staff roles are discovered from the
metric names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.outputs.rundata import RunData
from sim.outputs.style import humanise

__all__ = ["FiscalLine", "FiscalTable", "fiscal_table"]


@dataclass(frozen=True)
class FiscalLine:
    """One line of a fiscal-year table.

    Attributes
    ----------
    section : heading the line sits under (``Income``, ``Costs``, ...).
    label : plain words.
    source : the metric and statistic it comes from, or how it is computed.
    kind : number format: ``gbp``, ``fte``, ``count``, ``share`` or ``months``.
    values : one value per fiscal year.
    total : the sum over all years for flows; ``None`` for stocks.
    is_total : a total line (the sum of the lines above it in its section).
    """

    section: str
    label: str
    source: str
    kind: str
    values: list[float]
    total: float | None
    is_total: bool = False


@dataclass(frozen=True)
class FiscalTable:
    """A scenario's fiscal years (labels like ``2027/28``) and its lines, in display order;
    ``prices`` the basis of its money lines (``nominal`` or ``2026/27 prices``)."""

    scenario: str
    years: list[str]
    lines: list[FiscalLine]
    prices: str = "nominal"

    def line(self, label: str) -> FiscalLine:
        """The line with this label."""
        return next(x for x in self.lines if x.label == label)


def _flow(section: str, label: str, metric: str, sums: pd.DataFrame) -> FiscalLine:
    values = [float(v) for v in sums[metric]]
    return FiscalLine(section, label, f"{metric}: sum of monthly means", "gbp", values,
                      float(np.sum(values)))


def _summed(section: str, label: str, parts: list[FiscalLine], source: str, kind: str,
            flow: bool, years: int) -> FiscalLine:
    values = [float(sum(p.values[i] for p in parts)) for i in range(years)]
    return FiscalLine(section, label, source, kind, values, float(np.sum(values)) if flow else None,
                      is_total=True)


def fiscal_table(data: RunData, scenario: str) -> FiscalTable:
    """Income by source, costs by type, surplus, reserves, staff and members by fiscal year."""
    mean = data.wide(scenario, "mean")
    calendar = data.calendar(scenario).set_index("month")
    years = list(dict.fromkeys(calendar["fiscal_year"]))
    year_of = calendar["fiscal_year"].reindex(mean.index)
    sums = mean.groupby(year_of, sort=False).sum().reindex(years)
    ends = mean.index.to_series().groupby(year_of, sort=False).max().reindex(years)
    starts = mean.index.to_series().groupby(year_of, sort=False).min().reindex(years)

    def at_end(metric: str, stat: str = "mean") -> list[float]:
        table = mean if stat == "mean" else data.wide(scenario, stat)
        return [float(table.loc[m, metric]) for m in ends]

    income = [_flow("Income", humanise(s), f"income_{s}_gbp", sums) for s in data.income_sources()]
    costs = [_flow("Costs", humanise(c), f"costs_{c}_gbp", sums) for c in data.cost_types()]
    n = len(years)
    lines = [*income, _summed("Income", "Total income", income, "sum of the lines above", "gbp",
                              True, n),
             *costs, _summed("Costs", "Total costs", costs, "sum of the lines above", "gbp", True,
                             n)]
    total_in, total_out = lines[len(income)], lines[-1]
    if "subscriptions_invoiced_gbp" in sums and "bad_debts_gbp" in sums:
        # Beside the cash line: what was invoiced and what will never be paid (memo lines,
        # not income: subscriptions come in as the invoices are paid, docs/model.md §5.6).
        at = len(income) + 1
        lines[at:at] = [_flow("Subscriptions (memo)", "Subscriptions invoiced",
                              "subscriptions_invoiced_gbp", sums),
                        _flow("Subscriptions (memo)", "Bad debts written off", "bad_debts_gbp",
                              sums)]
    surplus = [a - b for a, b in zip(total_in.values, total_out.values, strict=True)]
    lines.append(FiscalLine("Surplus", "Surplus (deficit)", "total income − total costs", "gbp",
                            surplus, float(np.sum(surplus)), is_total=True))
    first = int(starts.iloc[0])
    opening = float(mean.loc[first, "reserves_gbp"] - mean.loc[first, "income_total_gbp"]
                    + mean.loc[first, "costs_total_gbp"])
    closing = at_end("reserves_gbp")
    lines += [
        FiscalLine("Reserves", "Reserves at start of year (mean)", "reserves_gbp: mean at the end "
                   "of the month before the year", "gbp", [opening, *closing[:-1]], None),
        FiscalLine("Reserves", "Reserves at end of year (mean)", "reserves_gbp: mean at the "
                   "year's last month", "gbp", closing, None),
        FiscalLine("Reserves", "Reserves at end of year, median run", "reserves_gbp: p50", "gbp",
                   at_end("reserves_gbp", "p50"), None),
        FiscalLine("Reserves", "Reserves at end of year, 10th percentile", "reserves_gbp: p10",
                   "gbp", at_end("reserves_gbp", "p10"), None),
        FiscalLine("Reserves", "Reserves at end of year, 90th percentile", "reserves_gbp: p90",
                   "gbp", at_end("reserves_gbp", "p90"), None),
    ]
    roles = [FiscalLine("Headcount", f"{humanise(r)} staff (FTE)",
                        f"staff_{r}_fte: mean at year end",
                        "fte", at_end(f"staff_{r}_fte"), None) for r in data.staff_roles()]
    lines += roles
    if roles:
        lines.append(_summed("Headcount", "Total staff (FTE)", roles, "sum of the lines above",
                             "fte", False, n))
    else:
        lines.append(FiscalLine("Headcount", "Total staff (FTE)", "staff_fte: mean at year end",
                                "fte", at_end("staff_fte"), None, is_total=True))
    members = data.members_metric()
    lines += [
        FiscalLine("Members", "Member LAs at year end (mean)", f"{members}: mean", "count",
                   at_end(members), None),
        FiscalLine("Members", "Member LAs at year end, median run", f"{members}: p50", "count",
                   at_end(members, "p50"), None),
        FiscalLine("Operating", "Share of runs still operating at year end", "operating: mean",
                   "share", at_end("operating"), None),
        FiscalLine("Calendar", "Months of this year inside the run", "count of months", "months",
                   [float(e - s + 1) for s, e in zip(starts, ends, strict=True)],
                   float(len(mean.index))),
    ]
    return FiscalTable(scenario, years, lines, data.prices)
