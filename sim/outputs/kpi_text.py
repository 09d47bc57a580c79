"""KPIs in plain words, with their kind (how to format them) and which direction is better:
the one table every report, chart, rule and command-line summary takes KPI names from.

The words are presentation, kept here beside the charts; the KPI names and definitions are the
model's (``docs/outputs.md`` §3.2). A KPI not listed here is still shown, under its technical
name turned into words, and is never marked best.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.outputs.style import gbp
from sim.outputs.tables import fiscal_year_of_key

__all__ = ["KpiText", "KPI_TEXT", "METRIC_WORDS", "column_words", "format_kpi", "kpi_text",
           "short_name"]


@dataclass(frozen=True)
class KpiText:
    """How one KPI is shown.

    Attributes
    ----------
    words : plain-words name for board members; ``{end}`` becomes the length of the run
        ("10 years").
    kind : ``chance`` (0/1 per run; the mean is a probability), ``month`` (month index, shown as
        a date), ``gbp``, ``share``, ``months``, ``ratio`` or ``count``.
    better : ``"high"``, ``"low"`` or ``None`` when no side is plainly better: a date fixed by
        policy, a fall in £ that depends on the size of the income, or counts (leavers, failed
        launches) that also fall when the Centre closes early.
    short : a short name for table rows, chart axes and rules (``survival to year 10``); no
        unit, as the values shown beside it carry theirs (``£12k``, ``90%``).
    event : for a ``chance`` KPI, what happens in a run where it is 1, as a clause
        (``survives to year 10``); empty otherwise.
    """

    words: str
    kind: str
    better: str | None
    short: str = ""
    event: str = ""


KPI_TEXT: dict[str, KpiText] = {
    "viable_prob_y5": KpiText("Chance the Centre is working after 5 years (open, with its "
                              "minimum team, a reliable service and enough members)", "chance",
                              "high", "working at year 5", "is working at year 5"),
    "viable_prob_y10": KpiText("Chance the Centre is working after 10 years", "chance", "high",
                               "working at year 10", "is working at year 10"),
    "viable_months": KpiText("Months in which the Centre was working, over {end}", "count",
                             "high", "months working"),
    "survival_prob_y5": KpiText("Chance the Centre is still running after 5 years", "chance",
                                "high", "survival to year 5", "survives to year 5"),
    "survival_prob_y10": KpiText("Chance the Centre is still running after 10 years", "chance",
                                 "high", "survival to year 10", "survives to year 10"),
    "closure_month": KpiText("When the Centre closes, in runs where it closes", "month", None,
                             "closure month"),
    "cliff_month": KpiText("When the funding cliff comes (the largest fall in grant or core "
                           "funding)", "month", None, "cliff month"),
    "cliff_drop_gbp_per_month": KpiText("How far monthly income falls at the cliff", "gbp", None,
                                        "fall in monthly income at the cliff"),
    "cliff_drop_share": KpiText("Share of monthly income lost at the cliff", "share", "low",
                                "share of income lost at the cliff"),
    "runway_months_at_cliff": KpiText("How many months reserves last at the cliff (120 = not "
                                      "running down)", "months", "high",
                                      "runway at the cliff (months)"),
    "breakeven_month": KpiText("When earned income (subscriptions, commissions) first pays all "
                               "costs", "month", "low", "break-even month"),
    "members_y10": KpiText("Member LAs after {end}", "count", "high", "member LAs in year 10"),
    "live_services_y10": KpiText("Services running after {end}", "count", "high",
                                 "live services in year 10"),
    "min_reserves_gbp": KpiText("Lowest cash reserves at any point", "gbp", "high",
                                "lowest reserves"),
    "reserves_exhausted_month": KpiText("When reserves first run out (fall below £0), in runs "
                                        "where they do", "month", None,
                                        "reserves run out"),
    "failed_launches_total": KpiText("Service launches that failed over {end}", "count", None,
                                     "failed launches"),
    "retirements_total": KpiText("Live services retired for want of staff over {end}", "count",
                                 None, "services retired"),
    "leavers_total": KpiText("Staff who resigned over {end}", "count", None, "staff leavers"),
    "value_delivered_total_gbp": KpiText("Value delivered to member LAs over {end}", "gbp", "high",
                                         "value delivered"),
    "value_delivered_total_hours": KpiText("LA analyst hours saved over {end}", "count", "high",
                                           "analyst hours saved"),
    "benefit_cost_ratio": KpiText("Value to LAs for each £1 the Centre spends", "ratio", "high",
                                  "benefit-cost ratio"),
    "cost_per_member_gbp_y10": KpiText("Cost per member LA per year, in the last year", "gbp",
                                       "low", "cost per member LA"),
    "bad_debts_total_gbp": KpiText("Subscriptions invoiced and never paid over {end}", "gbp",
                                   "low", "bad debts"),
    "commissions_won_total": KpiText("Commissioned projects won over {end}", "count", "high",
                                     "commissions won"),
    "grant_renewals_total": KpiText("Grant renewals won over {end}", "count", "high",
                                    "grant renewals won"),
    "policy_change": KpiText("Chance a general election changes policy on the Centre", "chance",
                             None, "policy change"),
    "host_cut_month": KpiText("When the host first imposes a cut, in runs where it does", "month",
                              None, "host cut month"),
    "policy_first_action_month": KpiText(
        "When an adaptive rule first acts, in runs where one does", "month", None,
        "first rule action"),
}
"""Every KPI the model reports, in plain words: the one table of KPI names for people."""

METRIC_WORDS: dict[str, str] = {
    "reserves_gbp": "reserves",
    "members": "member LAs",
    "las_member": "member LAs",
}
"""Short names of the time series a sweep reports at each fiscal year end."""


def _technical_words(name: str) -> str:
    """A technical name as words: ``cliff_drop_gbp`` → ``cliff drop (£)``."""
    return name.replace("_gbp", " (£)").replace("_", " ")


def kpi_text(name: str, end: str = "10 years") -> KpiText:
    """The plain-words description of ``name`` (``{end}`` filled in); unknown KPIs get their
    name as words, kind ``count`` and no better side."""
    known = KPI_TEXT.get(name)
    if known is None:
        kind = "gbp" if name.endswith("_gbp") else "count"
        return KpiText(name.replace("_", " ").capitalize(), kind, None, _technical_words(name))
    return KpiText(known.words.replace("{end}", end), known.kind, known.better, known.short,
                   known.event)


def short_name(name: str) -> str:
    """The short name of a KPI or of a time-series metric (``min_reserves_gbp`` → ``lowest
    reserves``, ``members`` → ``member LAs``); other names turned into words."""
    if name in KPI_TEXT:
        return KPI_TEXT[name].short
    return METRIC_WORDS.get(name, _technical_words(name))


_FY_COLUMN = re.compile(r"(.+)_(fy\d{4}_\d{2})")


def column_words(column: str) -> str:
    """A sweep result column in words: a KPI or metric by :func:`short_name`, and a metric at a
    fiscal year end as ``member LAs at the end of 2028/29`` (``members_fy2028_29``)."""
    match = _FY_COLUMN.fullmatch(column)
    if match is None:
        return short_name(column)
    metric, key = match.groups()
    return f"{short_name(metric)} at the end of {fiscal_year_of_key(key)}"


def format_kpi(value: float, kind: str, month_label: object = None) -> str:
    """One KPI value as text for a reader: ``£1.2m``, ``90%``, ``Apr 2029``, ``67``.

    Parameters
    ----------
    month_label : callable turning a month index into a date label, for ``month`` KPIs.
    """
    if value != value:
        return "—"
    if kind in ("chance", "share"):
        return f"{100 * value:.0f}%"
    if kind == "gbp":
        return gbp(value)
    if kind == "ratio":
        return f"£{value:.2f}" if value < 10 else f"£{value:,.0f}"
    if kind == "month" and callable(month_label):
        return str(month_label(round(value)))
    return f"{value:,.0f}"
