"""Host rules: what the host does when money is short (docs/model.md §3.3–3.4, §5.4).

The hiring freeze (recruit only what reserves and contracted income can pay for), redundancies
when even the current team is unaffordable, posts restored once the team is affordable again,
a host-imposed cut below the deficit tolerance, and closure by the host's failure rule:
insolvency for a company, a deficit beyond the tolerance for too long (or too deep) for a
council, a stopped core budget or a sustained overspend for a department. Every rule acts on
each replicate under its own current host (``state.hosting``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import BatchGenerator, MonthStreams, row_counts
from sim.model.codes import FailureRule, Ladder, ServiceStatus, is_member
from sim.model.finance import (
    HALF_PENNY,
    refund_unexpired,
    running_cost_rates,
    subscriptions_accrued,
    write_off_leavers,
)
from sim.model.parameters import HostMove, Parameters
from sim.model.pensions import (
    enrol,
    members_leaving,
    mixed_membership,
    strain_cost_gbp,
)
from sim.model.viability import viable
from sim.model.workforce import binomial_draw, redundancies_needed

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["affordable", "apply_failure_rule", "close", "close_if_not_viable", "free_reserves",
           "freeze_hiring", "impose_cut", "month_end_failure_rule", "move_host", "restore_posts",
           "serve_notices", "serve_redundancies"]


def _income_now(state: BatchState) -> np.ndarray:
    """Income contracted now, £/month float[R]: the external income due this month plus the
    host's support (subscriptions at their run rate)."""
    return sum(state.income_due.values()) + state.hosting.in_kind_support_gbp_per_year / 12.0


def free_reserves(state: BatchState, params: Parameters, month: int) -> np.ndarray:
    """Reserves free to spend, £ float[R]: the cash reserves plus what members owe for months
    served, less the subscriptions they paid or were invoiced for months still to come
    (:func:`~sim.model.finance.subscriptions_accrued`). The money rules that plan (the hiring
    freeze, redundancies, restored posts, the team's budget) read these with income at its run
    rate; the failure rules read the cash (docs/model.md §5.6)."""
    return state.reserves + subscriptions_accrued(state, params, month)


def affordable(state: BatchState, params: Parameters, month: int = 0) -> np.ndarray:
    """Replicates that can afford a full team for the freeze horizon, bool[R].

    Recruitment goes ahead only if the free reserves (:func:`free_reserves`) plus the income
    now contracted (grants paying, core budget, members' subscriptions at their run rate,
    running commissions, charitable and host support) over the next
    ``hiring_freeze_reserve_months`` cover the running costs of a fully staffed CoE over the
    same months (with what an admission agreement adds, §6.1). One-off costs are not running
    costs and do not count.
    """
    fixed, per_head = running_cost_rates(state, params)
    full_team = fixed + (state.establishment * per_head).sum(axis=1)
    horizon = params.workforce.hiring_freeze_reserve_months
    return (free_reserves(state, params, month) + horizon * (_income_now(state) - full_team)
            >= 0.0)


def freeze_hiring(state: BatchState, params: Parameters, streams: MonthStreams,
                  month: int) -> None:
    """Sub-step: recruitment is frozen where a full team is unaffordable, a host cut is in
    force (docs/model.md §3.3) or an adaptive policy has frozen it (§12)."""
    state.flows.hiring_frozen = (~affordable(state, params, month) | state.host_cut
                                 | state.policy.frozen)


def serve_notices(state: BatchState, counts: np.ndarray, month: int) -> None:
    """Give redundancy notice to ``counts`` people (int64[R, 3]) and delete their posts
    (and any vacant posts in those replicates): nobody is hired back into them."""
    state.notices.serve(month, counts)
    cutting = counts.sum(axis=1) > 0
    state.establishment[cutting] = np.minimum(state.establishment[cutting],
                                              state.staff[cutting])
    state.establishment[:] -= counts


def serve_redundancies(state: BatchState, params: Parameters, streams: MonthStreams,
                       month: int) -> None:
    """Month start: cash-shortage redundancies, then departures whose notice ends this month.

    A replicate that cannot pay ``redundancy_trigger_months`` of its current team's running
    costs from its free reserves (:func:`free_reserves`) plus that many months of contracted
    income serves notice on enough people to close the gap (docs/model.md §3.4). People leave
    when their notice ends, and their redundancy pay falls due then, with the pension strain
    cost of the LGPS members among them aged 55+ (§6.1).
    """
    workforce = params.workforce
    k = workforce.redundancy_trigger_months
    if k > 0 and state.operating.any():  # a closed Centre has nobody to make redundant
        fixed, per_head = running_cost_rates(state, params)
        costs_now = fixed + (state.staff * per_head).sum(axis=1)
        under_notice = state.notices.under_notice
        leaving_anyway = (under_notice * per_head).sum(axis=1)
        shortfall = (costs_now - leaving_anyway - _income_now(state)
                     - free_reserves(state, params, month) / k)
        shortfall[~state.operating] = 0.0
        if (shortfall > 0).any():
            counts = redundancies_needed(shortfall, state.staff, under_notice, per_head,
                                         workforce)
            serve_notices(state, counts, month)
            state.flows.redundancy_notices += row_counts(counts)
    leaving = np.minimum(state.notices.leaving(month), state.staff)
    leaving[~state.operating] = 0
    if not leaving.any():
        # Nobody's notice ends this month: no one leaves, nothing is drawn, and the pay and
        # strain are 0 (0 leavers × a salary and weeks, both >= 0 by the schema, is +0.0).
        state.redundancy_pay_gbp = np.zeros(state.replicates)
        state.pension_strain_gbp = np.zeros(state.replicates)
        return
    from_novices = np.minimum(leaving, state.novices)
    members = members_leaving(leaving, state.staff, state.lgps_members,
                              streams("pension_redundancy") if mixed_membership(params)
                              else None)
    state.staff[:] -= leaving
    state.novices[:] -= from_novices
    state.lgps_members[:] -= members
    weekly_pay = workforce.salary_gbp_per_year / 52.0 * state.pay_index
    state.redundancy_pay_gbp = (leaving * weekly_pay * workforce.redundancy_pay_weeks).sum(axis=1)
    state.pension_strain_gbp = (strain_cost_gbp(members, params, streams("pension_strain"),
                                                state.pay_index)
                                if members.any() else np.zeros(state.replicates))
    state.flows.redundancies += row_counts(leaving)


def restore_posts(state: BatchState, params: Parameters, streams: MonthStreams,
                  month: int) -> None:
    """Month start: re-fund posts deleted by cuts or redundancies once the full scenario team
    is affordable again (the hiring-freeze test of docs/model.md §3.3 for the original
    establishment), no host cut is in force and nobody is under notice: a recovered CoE
    rebuilds its team. Under the secured-income policy the team reviews do this instead
    (docs/model.md §3.6)."""
    if params.workforce.team_policy == "secured_income":
        return
    # a team rule's cut is the ceiling posts come back to (docs/model.md §12)
    funded_posts = np.minimum(params.workforce.establishment_fte, state.policy.cap)
    short = ((state.establishment < funded_posts).any(axis=1) & state.operating
             & ~state.host_cut)
    if not short.any():
        return
    fixed, per_head = running_cost_rates(state, params)
    full = fixed + (funded_posts * per_head).sum(axis=1)
    k = params.workforce.hiring_freeze_reserve_months
    able = (short & (free_reserves(state, params, month) + k * (_income_now(state) - full) >= 0)
            & (state.notices.under_notice.sum(axis=1) == 0))
    state.establishment[able] = funded_posts[able]


def impose_cut(state: BatchState, rows: np.ndarray, month: int) -> None:
    """A host-imposed cut in ``rows`` (bool[R]): each role's establishment falls by
    ``cut_share``; staff above the cut establishment are given redundancy notice (they leave
    when it ends, docs/model.md §3.4) and hiring is frozen until reserves are back above £0."""
    state.host_cut[rows] = True
    target = np.floor(state.establishment
                      * (1.0 - state.hosting.cut_share[:, None])).astype(np.int64)
    cut = np.where(rows[:, None],
                   np.maximum(state.staff - state.notices.under_notice - target, 0), 0)
    state.establishment[rows] = np.minimum(state.establishment[rows], target[rows])
    state.notices.serve(month, cut)
    state.flows.cut_redundancies += cut.sum(axis=1)
    state.flows.redundancy_notices += cut.sum(axis=1)


def close(state: BatchState, rows: np.ndarray) -> None:
    """The host closes the CoE in ``rows`` (bool[R]): everything stops. Staff leave, notices
    and commissions lapse, member LAs lapse (refunded what they paid for the rest of the year,
    as far as cash allows; what they still owe is written off), evaluations end, the services
    stop."""
    refund_unexpired(state, rows)
    state.operating[rows] = False
    state.staff[rows] = 0
    state.novices[rows] = 0
    state.lgps_members[rows] = 0
    state.notices.clear(rows)
    state.commissions.clear(rows)
    state.host_cut[rows] = False
    sub = state.ladder[rows]
    sub[is_member(sub)] = Ladder.LAPSED
    sub[(sub == Ladder.EVALUATING)] = Ladder.AWARE
    state.ladder[rows] = sub
    state.champions[rows] = 0
    state.counts.changed(rows)
    write_off_leavers(state)  # the members' unpaid invoices are never paid (§5.6)
    state.portfolio.status[rows] = ServiceStatus.PLANNED
    state.portfolio.progress[rows] = 0.0


def apply_failure_rule(state: BatchState, params: Parameters, streams: MonthStreams,
                       month: int) -> None:
    """Sub-step, after the cash flow: below the deficit tolerance a company closes
    (insolvency) and any other host imposes a cut; a council closes beyond its closure
    deficit (docs/model.md §5.4)."""
    hosting, rule = state.hosting, state.hosting.failure_rule
    below = state.operating & (state.reserves < -hosting.deficit_tolerance_gbp - HALF_PENNY)
    insolvent = below & (rule == FailureRule.INSOLVENCY)
    if insolvent.any():
        close(state, insolvent)
    newly = below & ~state.host_cut & (rule != FailureRule.INSOLVENCY)
    if newly.any():
        impose_cut(state, newly, month)
    failing = (state.operating & (rule == FailureRule.DEFICIT_TOLERANCE)
               & (state.reserves < -hosting.closure_deficit_gbp - HALF_PENNY))
    if failing.any():
        close(state, failing)


def month_end_failure_rule(state: BatchState, params: Parameters, streams: MonthStreams,
                           month: int) -> None:
    """Month end: count month ends beyond the tolerance, lift cuts once reserves are back
    above £0, and close a council-hosted CoE, or a department's unit in sustained overspend,
    after ``max_deficit_months`` in a row."""
    hosting = state.hosting
    beyond = state.operating & (state.reserves < -hosting.deficit_tolerance_gbp - HALF_PENNY)
    state.deficit_months[:] = np.where(beyond, state.deficit_months + 1, 0)
    state.host_cut[state.reserves >= -HALF_PENNY] = False
    sustained = ((hosting.failure_rule == FailureRule.DEFICIT_TOLERANCE)
                 | (hosting.failure_rule == FailureRule.SPENDING_REVIEW))
    failing = (state.operating & sustained
               & (state.deficit_months >= hosting.max_deficit_months))
    if failing.any():
        close(state, failing)


def close_if_not_viable(state: BatchState, params: Parameters, streams: MonthStreams,
                        month: int) -> None:
    """Month end: count month ends in a row a running Centre is not viable (from the end of
    the start-up grace period), and close it after the host's ``nonviable_closure_months``:
    no host keeps paying for a service that does not work (docs/model.md §5.10)."""
    counting = state.operating & ~viable(state, params) & (
        month >= params.viability.grace_months)
    state.nonviable_months[:] = np.where(counting, state.nonviable_months + 1, 0)
    failing = state.operating & (state.nonviable_months >= state.hosting.nonviable_closure_months)
    if failing.any():
        close(state, failing)


def move_host(state: BatchState, params: Parameters, rows: np.ndarray, index: int,
              move: HostMove, loss: BatchGenerator, pension: BatchGenerator | None,
              month: int) -> None:
    """Host ``index`` of the HostTable takes over in ``rows`` (bool[R]): a share of staff
    leave rather than transfer (one binomial draw each from ``loss``), the transition cost
    falls due and the transition runs from this month (docs/model.md §6, §6.1). LGPS members
    who transfer to a host whose own scheme is not the LGPS stay members through an admission
    agreement unless ``move.lgps_admission`` is false; a council enrols everyone. ``pension``
    draws which leavers are LGPS members when the membership is mixed. A dated change moves
    every row (:func:`sim.model.events.host_change`), a ``change_host`` rule the rows where it
    acts (§12)."""
    state.host[rows] = index
    state.hosting = params.hosting.select(state.host)
    lost = binomial_draw(loss, state.staff, move.staff_loss_share)
    lost[~(state.operating & rows)] = 0
    members = members_leaving(lost, state.staff, state.lgps_members, pension)
    state.staff[:] -= lost
    state.lgps_members[:] -= members
    if not move.lgps_admission:
        state.lgps_members[rows & ~state.hosting.lgps] = 0  # they join the new host's scheme
    enrol(state)
    np.minimum(state.novices, state.staff, out=state.novices)  # new starters may go too
    state.backfill += lost  # their posts are vacated like any leaver's
    state.flows.leavers += lost.sum(axis=1)
    paying = state.operating & rows
    state.one_off_gbp[paying] += move.transition_cost_gbp * state.cpi_index
    state.transition_end[rows] = month + move.transition_months
    state.transition_loss[rows] = move.productivity_loss
    # Priced at this year's prices, fixed for the transition (a contract).
    state.transition_double_running[rows] = move.double_running_gbp_per_month * state.cpi_index
