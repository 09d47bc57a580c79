"""KPIs in plain words for board members, with their kind (how to format them) and which
direction is better.

The words are presentation, kept here beside the charts; the KPI names and definitions are the
model's (``docs/outputs.md`` §3.2). A KPI not listed here is still shown, under its technical
name turned into words, and is never marked best.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.outputs.style import gbp

__all__ = ["KpiText", "KPI_TEXT", "kpi_text", "format_kpi"]


@dataclass(frozen=True)
class KpiText:
    """How one KPI is shown.

    Attributes
    ----------
    words : plain-words name; ``{end}`` becomes the length of the run ("10 years").
    kind : ``chance`` (0/1 per run; the mean is a probability), ``month`` (month index, shown as
        a date), ``gbp``, ``share``, ``months``, ``ratio`` or ``count``.
    better : ``"high"``, ``"low"`` or ``None`` when no side is plainly better: a date fixed by
        policy, a fall in £ that depends on the size of the income, or counts (leavers, failed
        launches) that also fall when the Centre closes early.
    """

    words: str
    kind: str
    better: str | None


KPI_TEXT: dict[str, KpiText] = {
    "survival_prob_y5": KpiText("Chance the Centre is still running after 5 years", "chance",
                                "high"),
    "survival_prob_y10": KpiText("Chance the Centre is still running after 10 years", "chance",
                                 "high"),
    "closure_month": KpiText("When the Centre closes, in runs where it closes", "month", None),
    "cliff_month": KpiText("When the funding cliff comes (the largest fall in grant or core "
                           "funding)", "month", None),
    "cliff_drop_gbp_per_month": KpiText("How far monthly income falls at the cliff", "gbp", None),
    "cliff_drop_share": KpiText("Share of monthly income lost at the cliff", "share", "low"),
    "runway_months_at_cliff": KpiText("How many months reserves last at the cliff (120 = not "
                                      "running down)", "months", "high"),
    "breakeven_month": KpiText("When earned income (subscriptions, commissions) first pays all "
                               "costs", "month", "low"),
    "members_y10": KpiText("Member LAs after {end}", "count", "high"),
    "live_services_y10": KpiText("Services running after {end}", "count", "high"),
    "min_reserves_gbp": KpiText("Lowest cash reserves at any point", "gbp", "high"),
    "failed_launches_total": KpiText("Service launches that failed over {end}", "count", None),
    "leavers_total": KpiText("Staff who resigned over {end}", "count", None),
    "value_delivered_total_gbp": KpiText("Value delivered to member LAs over {end}", "gbp", "high"),
    "value_delivered_total_hours": KpiText("LA analyst hours saved over {end}", "count", "high"),
    "benefit_cost_ratio": KpiText("Value to LAs for each £1 the Centre spends", "ratio", "high"),
    "cost_per_member_gbp_y10": KpiText("Cost per member LA per year, in the last year", "gbp",
                                       "low"),
    "commissions_won_total": KpiText("Commissioned projects won over {end}", "count", "high"),
    "grant_renewals_total": KpiText("Grant renewals won over {end}", "count", "high"),
    "policy_change": KpiText("Chance a general election changes policy on the Centre", "chance",
                             None),
    "host_cut_month": KpiText("When the host first imposes a cut, in runs where it does", "month",
                              None),
}


def kpi_text(name: str, end: str = "10 years") -> KpiText:
    """The plain-words description of ``name`` (``{end}`` filled in); unknown KPIs get their
    name as words, kind ``count`` and no better side."""
    known = KPI_TEXT.get(name)
    if known is None:
        kind = "gbp" if name.endswith("_gbp") else "count"
        return KpiText(name.replace("_", " ").capitalize(), kind, None)
    return KpiText(known.words.replace("{end}", end), known.kind, known.better)


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
