"""The month-end record: every per-month metric of every replicate, read from the state.

:data:`METRICS` names and defines each metric; :func:`record_month` writes a month's values
into the batch's storage (month-major ``[T, R]`` arrays, filled in place). The lists the
outputs need to group metrics (income sources, cost types, roles, strands, ladder states,
regions, Ofsted grades) are declared in :data:`DIMENSIONS`, so nothing downstream has to
recover them from metric names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.data import OFSTED_GRADES, REGION_NAMES, region_slug
from sim.engine import row_counts
from sim.model.codes import LADDER_STATES, ROLES, Ladder, ServiceStatus, Tally
from sim.model.finance import COST_TYPES, INCOME_SOURCES, TRANSFERS
from sim.model.forms import FORM_METRICS, record_forms
from sim.model.parameters import Parameters
from sim.model.performance import value_delivered
from sim.model.portfolio import member_support_fte, volunteer_fte
from sim.model.viability import months_of_cover, viable
from sim.model.workforce import effective_fte
from sim.scenario.schema import STRANDS

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["DIMENSIONS", "METRICS", "Record", "record_month"]

METRICS: dict[str, str] = {
    **{f"las_{s}": f"LAs in ladder state '{s}' at month end (count)" for s in LADDER_STATES},
    "las_reached": "LAs no longer unaware (count; merged LAs excluded)",
    "members": "member LAs: members, contributors and champions (count)",
    "members_low_rated": "member LAs rated requires improvement or inadequate (count)",
    **{f"members_ofsted_{g.lower().replace(' ', '_')}": f"member LAs rated {g} by Ofsted (count)"
       for g in OFSTED_GRADES},
    **{f"members_region_{region_slug(r)}": f"member LAs in {r} (count)" for r in REGION_NAMES},
    "low_rated_reached": "share of LAs rated requires improvement or inadequate that are no longer "
                         "unaware (0–1)",
    "champions": "engaged champions across member LAs (people)",
    "champion_losses": "champions who left their LA in the month (people)",
    "orphan_lapses": "member LAs that lapsed because their last champion left (count)",
    "joins": "LAs that became members in the month (count)",
    "renewal_lapses": "member LAs that did not renew in April (count; 0 in other months)",
    "volunteer_fte": "delivery capacity volunteered by contributor and champion LAs (FTE; "
                     "the CoE can use at most uptake.volunteer_fte_per_staff_fte per productive "
                     "delivery FTE)",
    "market_las": "LAs whose willingness to pay is at least their subscription price: the "
                  "ceiling on paying members (count; merged LAs excluded; all LAs when the "
                  "offer is free)",
    "member_support_fte": "staff time the member LAs take at month end: delivery support plus "
                          "engagement (FTE)",
    "onboarding_fte": "delivery staff time spent onboarding new members, averaged over the "
                      "month (FTE)",
    "effective_fte": "productive staff: experienced staff plus new starters at their "
                     "productivity, less the share lost in a transition after a change of "
                     "host (FTE)",
    "lgps_members": "staff in the Local Government Pension Scheme at month end: all of a "
                    "council's staff, the admitted members a non-LGPS host took over "
                    "(people)",
    "experienced_share": "share of staff in post past their ramp-up (0–1; NaN with no staff)",
    "experienced_leavers": "resignations of staff past their ramp-up in the month (people)",
    "staff_fte": "staff in post, all roles (FTE)",
    **{f"staff_{r}_fte": f"{r} staff in post (FTE)" for r in ROLES},
    "vacancies": "funded posts not filled at month end (FTE; 0 while closed)",
    "funded_posts": "funded posts (the establishment, filled or not) at month end, all roles "
                    "(FTE; 0 while closed); under workforce.team_policy = secured_income it "
                    "grows and shrinks with secured income (docs/model.md §3.6)",
    "vacancy_cover_fte": "agency or contractor cover of posts vacated by leavers, at month end "
                         "(FTE; not counted in staff)",
    "leavers": "resignations in the month (people)",
    "hires": "hires completed in the month (people)",
    "hiring_frozen": "1 if recruitment was frozen at month end",
    "policy_actions": "adaptive policies that acted at the start of the month (issue #14, "
                      "docs/model.md §12; 0 without policies)",
    "policy_rules_acting": "which adaptive policies acted at the start of the month: rule k "
                           "(0 = the first in the file) adds 2**k (issue #14, docs/model.md "
                           "§12; 0 without policies; read per rule in policy_rules.csv)",
    "live_services": "services live at month end (count)",
    **{f"live_services_{s}": f"live services in strand {s} (count)" for s in STRANDS},
    "services_building": "services in build at month end (count)",
    "launches": "successful launches in the month (count)",
    "failed_launches": "failed launches in the month (count)",
    "incidents": "service incidents in the month (count)",
    "retirements": "live services retired in the month after too long below the retirement "
                   "reliability floor (count)",
    "reliability_mean": "mean reliability of live services (0–1; NaN when none is live)",
    "reputation": "CoE reputation (0–1)",
    **{f"income_{s}_gbp": f"income from {s.replace('_', ' ')} in the month (£)"
       for s in INCOME_SOURCES},
    "income_total_gbp": "all income in the month (£)",
    **{f"costs_{c}_gbp": f"{c.replace('_', ' ')} costs in the month (£)" for c in COST_TYPES},
    "costs_total_gbp": "all costs in the month (£)",
    "net_gbp": "income minus costs in the month (£)",
    "reserves_gbp": "cash reserves at month end (£)",
    "operating": "1 while the CoE operates, 0 after closure",
    "viable": "1 while the CoE works: operating, with the minimum team, reliable services and "
              "members of docs/model.md §5.10",
    "months_of_cover": "reserves ÷ running costs of the team in post (months; NaN once closed)",
    "below_reserves_policy": "1 while operating with reserves below finance."
                             "reserves_policy_months of running costs (its mean over runs is "
                             "the chance)",
    "value_delivered_gbp": "value of live services to member LAs in the month (£)",
    # Finance, hosting and external events.
    "value_delivered_hours": "value delivered to member LAs in LA analyst hours "
                             "(value_delivered_gbp ÷ finance.la_analyst_cost_gbp_per_hour)",
    "cost_per_member_gbp": "costs of provision in the month (all costs but transfers: a "
                           "surrender or a dividend) ÷ "
                           "member LAs at month end (£; NaN with no members)",
    "benefit_cost_ratio": "value delivered ÷ costs of provision in the month (all costs but a "
                          "surrender or a dividend; NaN when they are 0)",
    "core_budget_gbp_per_year": "core budget set by spending reviews and the election (£/year; "
                                "0 before it starts and after closure)",
    "grant_milestones_missed": "grants ended in the month because fewer services were live than "
                               "the funder's milestone asked for (count; docs/model.md §4.10)",
    "grant_renewals": "grant renewals granted in the month (count)",
    "commissions_won": "commissioned projects won in the month (count)",
    "commissions_active": "commissioned projects running in the month (count)",
    "commission_fte": "delivery FTE committed to running commissions (FTE)",
    "national_programmes": "new national programmes starting in the month (count)",
    "demand_multiplier": "LA demand for help relative to its baseline, raised by national "
                         "programmes (x)",
    "policy_changed": "1 once a general election has changed policy on the CoE",
    "host_cut": "1 while a host-imposed cut is in force",
    "cut_redundancies": "staff given redundancy notice by a host-imposed cut in the month (people)",
    "redundancies": "staff who left at the end of a redundancy notice in the month (people; not "
                    "in leavers)",
    "under_notice": "staff serving redundancy notice at month end (people; still in post)",
    "redundancy_notices": "redundancy notices served in the month, for lack of cash or by a "
                          "host-imposed cut (people)",
    "subscriptions_invoiced_gbp": "subscription invoices raised in the month: each April every "
                                  "member LA's year at the year's price, and a joiner's months "
                                  "left of the year when it joins (£; cash comes in as "
                                  "income_subscriptions_gbp when they are paid, docs/model.md "
                                  "§5.6)",
    "bad_debts_gbp": "subscription invoices written off in the month: those of LAs that left "
                     "(lapsed, orphaned, merged, or their Centre closed) before paying, and "
                     "finance.bad_debt_share of those paid (£; never received, not a cost line)",
    "subscription_refunds_gbp": "subscriptions paid back at a closure to members that had paid "
                                "for months after it, as far as the Centre's cash allows (£; "
                                "netted in income_subscriptions_gbp, docs/model.md §5.6)",
    "subscriptions_earned_gbp": "subscriptions received that are earned in the month: each "
                                "payment spread over the months it pays for (those already "
                                "served at once), and what a leaver paid ahead when it leaves "
                                "(£; what an offsetting grant deducts, docs/model.md §5.6)",
    # Delivery models part 2 (issue #13).
    "levy_stops": "1 in the month a membership body's board stopped the levy that funds the "
                  "Centre (docs/model.md §7.9)",
    "spokes_active": "a hub's spokes in place at month end, all kinds (count; docs/model.md "
                     "§7.12)",
    "spoke_fte": "delivery time the hub's spokes offer at month end, before coordination "
                 "(FTE; docs/model.md §7.12)",
    "spoke_exits": "spokes that withdrew in the month (count)",
    "spoke_joins": "spokes that replaced them in the month (count)",
    "service_moves": "1 in the month the service passed to the successor host after the "
                     "provider lost the re-tender, its members and services kept "
                     "(docs/model.md §7.11)",
    "price_factor": "this year's subscription price ÷ the list price, set each April by the "
                    "host's reserves rule (x; 1 at list price)",
    "pay_index": "nominal pay ÷ 2026/27 pay: 1 in the first fiscal year, then × (1 + the "
                 "year's finance.pay_awards) each April (x; docs/model.md §5.13)",
    "cpi_index": "consumer prices ÷ their 2026/27 level: 1 in the first fiscal year, then × "
                 "(1 + the year's finance.cpi_rates) each April (x); a £ series ÷ cpi_index is "
                 "in 2026/27 prices",
    "subscription_price_index": "subscription list prices ÷ their 2026/27 level, stepped each "
                                "April by finance.subscription_uplift (x)",
    **FORM_METRICS,  # delivery models part 1 (issue #13)
}
"""Every per-month metric, with its definition and unit (documented in docs/outputs.md)."""

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "income_sources": INCOME_SOURCES,
    "cost_types": COST_TYPES,
    "roles": ROLES,
    "strands": STRANDS,
    "ladder_states": LADDER_STATES,
    "regions": REGION_NAMES,
    "ofsted_grades": OFSTED_GRADES,
}
"""The declared lists behind the grouped metrics: ``income_<source>_gbp``, ``costs_<type>_gbp``,
``staff_<role>_fte``, ``live_services_<strand>``, ``las_<state>``, ``members_region_<region
slug>``, ``members_ofsted_<grade slug>``."""


def grade_slug(grade: str) -> str:
    """An Ofsted grade as a metric-name fragment, e.g. ``requires_improvement``."""
    return grade.lower().replace(" ", "_")


@dataclass
class Record:
    """Where a batch's results go: ``metrics`` name → float64[T, R] (month-major: each
    month's values of the batch contiguous; possibly views into an ensemble's or a shared
    file's arrays) and ``funding_schedule`` float64[T, R], the grants and core budget due in
    each month before any closure (for the cliff KPIs)."""

    metrics: dict[str, np.ndarray]
    funding_schedule: np.ndarray


_TALLY_METRICS: tuple[tuple[int, str], ...] = (
    *((int(state), f"las_{state.name.lower()}") for state in Ladder),
    (Tally.MEMBERS, "members"), (Tally.LOW_RATED_MEMBERS, "members_low_rated"),
    (Tally.CHAMPIONS, "champions"),
    *((Tally.GRADES + code, f"members_ofsted_{grade_slug(grade)}")
      for code, grade in enumerate(OFSTED_GRADES)),
    *((Tally.GRADES + len(OFSTED_GRADES) + code, f"members_region_{region_slug(region)}")
      for code, region in enumerate(REGION_NAMES)),
)
"""Which tally row each count metric is."""


def _write(row: np.ndarray, values: np.ndarray | float) -> None:
    """Write one month's values into ``row`` (a month's row of a metric, holding zeros),
    unless every value is +0.0: the row already says so, and a row never written is memory
    never touched (an ensemble's metrics are mostly zero rows; the first write to each page of
    them costs more than the values). Compared by bits, so -0.0 and NaN are written. Whole
    numbers (bool or integer arrays) are tested as they are, and converted only if written."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biu":
        if np.count_nonzero(values):
            row[...] = values
        return
    v = np.asarray(values, dtype=np.float64)
    if np.count_nonzero(v.view(np.uint64)):
        row[...] = v


def record_month(state: BatchState, params: Parameters, month: int, record: Record) -> None:
    """Write month ``month``'s metrics from the state at month end (into rows holding zeros:
    a row of zeros is left as it is)."""
    m = record.metrics
    las = params.las
    tally = state.tally()  # [rows, R]
    put: dict[str, np.ndarray | float] = {}
    for row, name in _TALLY_METRICS:
        put[name] = tally[row]
    members = tally[Tally.MEMBERS]
    put["las_reached"] = las.count - tally[Ladder.UNAWARE] - tally[Ladder.MERGED]
    put["low_rated_reached"] = (tally[Tally.LOW_RATED_REACHED]
                                / max(int(las.low_rated.sum()), 1))
    put["volunteer_fte"] = volunteer_fte(state, params)
    put["market_las"] = state.market_las
    put["member_support_fte"] = (
        member_support_fte(state, params)
        + params.market.support_engagement_fte_per_member * members)
    # People and posts are whole numbers: their totals are row_counts (exact in any order).
    put["vacancy_cover_fte"] = state.vacancy_cover_fte.sum(axis=1) * state.operating
    put["under_notice"] = row_counts(state.notices.under_notice)
    put["effective_fte"] = effective_fte(state.staff, state.novices,
                                         params.workforce).sum(axis=1) * state.productivity
    put["lgps_members"] = row_counts(state.lgps_members)
    staff, novices, operating = state.staff, state.novices, state.operating
    in_post = row_counts(staff)
    put["experienced_share"] = np.where(
        in_post > 0, 1 - row_counts(novices) / np.maximum(in_post, 1), np.nan)
    put["staff_fte"] = in_post
    for role, name in enumerate(ROLES):
        put[f"staff_{name}_fte"] = staff[:, role]
    put["vacancies"] = np.where(
        operating, row_counts(np.maximum(state.establishment - staff, 0)), 0)
    put["funded_posts"] = np.where(operating, row_counts(state.establishment), 0)
    flows = state.flows
    put.update(flows.counts())
    put["hiring_frozen"] = flows.hiring_frozen & operating
    put["policy_actions"] = state.policy.actions
    put["policy_rules_acting"] = state.policy.acting
    port, table = state.portfolio, params.portfolio.services
    live = port.status == ServiceStatus.LIVE
    n_live = row_counts(live)
    put["live_services"] = n_live
    for code, strand in enumerate(STRANDS):
        put[f"live_services_{strand}"] = row_counts(live[:, table.strand == code])
    put["services_building"] = row_counts(port.status == ServiceStatus.BUILDING)
    reliability = port.reliability
    with np.errstate(invalid="ignore", divide="ignore"):
        put["reliability_mean"] = np.where(
            n_live > 0, (live * reliability).sum(axis=1) / n_live, np.nan)
    put["reputation"] = port.reputation
    for source, values in flows.income.items():
        put[f"income_{source}_gbp"] = values
    for kind, values in flows.costs.items():
        put[f"costs_{kind}_gbp"] = values
    income = sum(flows.income[s] for s in INCOME_SOURCES)
    costs = sum(flows.costs[c] for c in COST_TYPES)
    put["income_total_gbp"] = income
    put["costs_total_gbp"] = costs
    put["net_gbp"] = income - costs
    put["reserves_gbp"] = state.reserves
    put["operating"] = operating
    put["viable"] = viable(state, params)
    cover = months_of_cover(state, params)
    put["months_of_cover"] = cover
    put["below_reserves_policy"] = operating & ~(
        cover >= params.finance.reserves_policy_months)  # NaN cover: no costs, no policy
    value = np.asarray(value_delivered(state, params), dtype=np.float64)
    put["value_delivered_gbp"] = value
    # Finance, hosting and external events.
    finance = params.finance
    put["core_budget_gbp_per_year"] = np.where(
        month >= finance.core_budget_from_month, state.core_budget, 0.0) * operating
    put["commissions_active"] = state.commissions.active * operating
    put["commission_fte"] = state.commissions.fte_demand() * operating
    put["demand_multiplier"] = state.demand_multiplier
    put["policy_changed"] = state.policy_changed
    put["host_cut"] = state.host_cut & operating
    put["price_factor"] = state.price_factor
    put["pay_index"] = state.pay_index
    put["cpi_index"] = state.cpi_index
    put["subscription_price_index"] = state.price_index
    if state.spokes.active.any():  # issue #13 (§7.12)
        spokes = state.spokes.active * operating[:, None]
        put["spokes_active"] = row_counts(spokes)
        put["spoke_fte"] = (spokes * params.spokes.fte_per_spoke).sum(axis=1)
    else:  # no spokes: 0 spokes of finite FTE (0–20 each, the schema's bounds) give +0.0
        put["spokes_active"] = put["spoke_fte"] = 0.0
    provision = (np.asarray(costs, dtype=np.float64)
                 - sum(np.asarray(flows.costs[t], dtype=np.float64)
                       for t in TRANSFERS))  # costs of provision
    put["value_delivered_hours"] = (value / state.cpi_index
                                    / finance.la_analyst_cost_gbp_per_hour)
    with np.errstate(invalid="ignore", divide="ignore"):
        put["cost_per_member_gbp"] = np.where(members > 0, provision / members, np.nan)
        put["benefit_cost_ratio"] = np.where(provision > 0, value / provision, np.nan)
    put.update(record_forms(state, params, month))  # delivery models part 1 (issue #13)
    for name, given in put.items():
        _write(m[name][month], given)
    record.funding_schedule[month] = state.funding_due_gbp_per_month
