"""The calendar's events: what happens on which month boundary, in what order, as typed records.

Every organisational event is a :class:`EventKind` with a rank: events of one month fire by
rank (:data:`EVENT_ORDER`), then in the order they were put on the calendar, before that month's
stock-flow step (docs/model.md §1.4). Each event acts on all replicates at once through masks,
each replicate by its own state. The run's log is a list of :class:`Event` records (kind,
subject, detail); outputs read kinds and subjects, never the English description.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from sim.engine import Calendar, MonthStreams, RandomStreams
from sim.model import charity, cic, partnership, teckal
from sim.model.codes import FailureRule, ServiceStatus
from sim.model.contract import move_service, retender_bid
from sim.model.external import general_election, spending_review
from sim.model.finance import (
    decide_renewals,
    lognormal_factor,
    renewal_decision_months,
    write_off_leavers,
)
from sim.model.host import close, move_host
from sim.model.membership import review_levy
from sim.model.parameters import HostMove, Parameters
from sim.model.pensions import mixed_membership
from sim.model.performance import case_multiplier, with_odds_scaled
from sim.model.portfolio import decide_launches, member_value_per_year
from sim.model.reorganisation import merge_las
from sim.model.reserves import set_prices
from sim.model.uptake import charged_prices, real_price_scale, refresh_market, renew

if TYPE_CHECKING:
    from collections.abc import Callable

    from sim.model.state import BatchState

__all__ = ["EVENT_ORDER", "Event", "EventKind", "events_from_log", "first_april",
           "schedule_events"]


class EventKind(StrEnum):
    """What an event is (its value is what the outputs' ``kind`` column holds)."""

    HOST_SET_UP = "host_set_up"
    # --- delivery models part 1 (issue #13) ---
    TECKAL_ACTIVITY_TEST = "teckal_activity_test"
    PARTNERSHIP_YEAR_END = "partnership_year_end"
    PARTNERSHIP_TERM_END = "partnership_term_end"
    CIC_YEAR_END = "cic_year_end"
    CHARITY_YEAR_END = "charity_year_end"
    GRANT_START = "grant_start"
    RETENDER_BID = "retender_bid"  # issue #13: the incumbent bids before the decision (§7.11)
    GRANT_RENEWAL_DECISION = "grant_renewal_decision"
    GRANT_MILESTONE = "grant_milestone"
    GRANT_END = "grant_end"
    SPENDING_REVIEW = "spending_review"
    ELECTION = "election"
    SERVICE_MOVE = "service_move"  # issue #13: a lost re-tender moves the service (§7.11)
    HOST_CHANGE = "host_change"
    REORGANISATION = "reorganisation"
    MEMBERSHIP_REVIEW = "membership_review"  # issue #13: a body's board reviews its levy (§7.9)
    FISCAL_YEAR_START = "fiscal_year_start"
    CHARITABLE_INCOME_YEAR = "charitable_income_year"
    LAUNCH_DECISIONS = "launch_decisions"


EVENT_ORDER: dict[EventKind, int] = {kind: rank for rank, kind in enumerate(EventKind)}
"""Rank of each kind within a month, lower first, and why in that order: a renewal decision
reads the grant's renewal chance before an election in the same month changes it; a funder's
milestone is checked after a renewal decision of the same month (a milestone missed ends the
grant, renewed or not); the new
host is in place (its staff lost) before the reorganisation, the April renewals, the year's
charitable income and the launch decisions of its first month; LAs merge before they renew;
launch decisions come last, with the month's staff and capacity as the other events left
them. A Teckal company's activity test comes before any grant renewal decision of its month
(a contract's renewal is a direct award only while the company is exempt); a partnership's
partners meet the year's deficit before the April renewals and prices read the reserves, and
before any partner leaves at a term's end (a leaver pays its share of the year it was in); a
community interest company pays its dividend from the reserves at 31 March, before the April
prices read them."""


@dataclass(frozen=True)
class Event:
    """One event the calendar fired.

    Attributes
    ----------
    month : the month at whose start it fired.
    kind : what it was.
    subject : what it concerns: the grant's name, the host model, or "" when nothing more.
    detail : a qualifier in words ("unless renewed", "if renewed again", "2 mergers"), or "".
    """

    month: int
    kind: EventKind
    subject: str = ""
    detail: str = ""

    @property
    def description(self) -> str:
        """The event in words, for people (tables and logs); code reads kind and subject."""
        words = {
            EventKind.HOST_SET_UP: "host set-up",
            EventKind.TECKAL_ACTIVITY_TEST: "activity test of a council-owned company",
            EventKind.PARTNERSHIP_YEAR_END: "partners meet the year's deficit",
            EventKind.PARTNERSHIP_TERM_END: "partnership term ends: partners may leave or join",
            EventKind.CIC_YEAR_END: "community interest company's year end: capped dividend",
            EventKind.CHARITY_YEAR_END: "charity's year end: VAT recovery share",
            EventKind.GRANT_START: "grant starts",
            EventKind.GRANT_RENEWAL_DECISION: "grant renewal decision",
            EventKind.RETENDER_BID: "re-procurement: the incumbent bids",
            EventKind.SERVICE_MOVE: "service moves to the successor if the re-tender was lost",
            EventKind.MEMBERSHIP_REVIEW: "membership body's budget: levy review",
            EventKind.GRANT_MILESTONE: "grant milestone",
            EventKind.GRANT_END: "grant ends",
            EventKind.SPENDING_REVIEW: "spending review",
            EventKind.ELECTION: "general election",
            EventKind.HOST_CHANGE: "host change",
            EventKind.REORGANISATION: "local government reorganisation",
            EventKind.FISCAL_YEAR_START: "fiscal year start: renewals",
            EventKind.CHARITABLE_INCOME_YEAR: "fiscal year start: charitable income",
            EventKind.LAUNCH_DECISIONS: "launch decisions",
        }[self.kind]
        if self.subject:
            return f"{words}: {self.subject}" + (f" ({self.detail})" if self.detail else "")
        return f"{words}: {self.detail}" if self.detail else words


@dataclass(frozen=True)
class _Label:
    """What the calendar logs for an event (the month is added when it fires)."""

    kind: EventKind
    subject: str = ""
    detail: str = ""


def first_april(start: str) -> int:
    """Month index of the first April on or after the scenario start (``YYYY-MM``)."""
    month = int(start[5:7])
    return (4 - month) % 12


def events_from_log(log: list[tuple[int, _Label]]) -> list[Event]:
    """The calendar's log as event records."""
    return [Event(month, label.kind, label.subject, label.detail) for month, label in log]


# --------------------------------------------------------------------------- actions


def fiscal_year_start(state: BatchState, params: Parameters, streams: MonthStreams,
                      month: int) -> None:
    """April: pay, prices and the subscription list prices step up by the year's rates, and
    the core budget by its uplift (docs/model.md §5.13); the host's reserves rule sets the
    year's price (§5.11), then members renew or lapse at that price (§2.7), and none renews
    at a price above its willingness to pay (§2.10), both read in 2026/27 prices (nominal ÷
    the CPI index); nothing to renew at month 0."""
    if month == 0:
        return
    before = state.price_factor.copy()
    scale_before = real_price_scale(state)
    step_indices(state, params, month)
    set_prices(state, params, month)
    if (not np.array_equal(before, state.price_factor)
            or real_price_scale(state) != scale_before):
        refresh_market(state, params)  # the price moved: who would pay it moved with it
    lapses = renew(state.ladder, state.champions, params.las, params.uptake,
                   state.portfolio.reputation, member_value_per_year(state, params),
                   charged_prices(state, params, month), state.operating, streams("renewal"),
                   state.refuses_price)
    lapsed = lapses.sum(axis=1)
    state.counts.changed(lapsed > 0)  # only replicates with a lapse changed
    state.flows.renewal_lapses[:] = lapsed
    write_off_leavers(state)  # an LA that does not renew never pays what it still owes


def step_indices(state: BatchState, params: Parameters, month: int) -> None:
    """April: the pay, CPI and subscription list-price indices rise by the year's rates
    (:meth:`~sim.model.parameters.FinanceParameters.uplifts`), and the core budget by
    ``finance.core_budget_uplift`` (flat cash by default) (docs/model.md §5.13)."""
    year = (month - params.time.fiscal_year_start(0)) // 12
    pay, cpi, price = params.finance.uplifts(year)
    state.pay_index *= 1.0 + pay
    state.cpi_index *= 1.0 + cpi
    state.price_index *= 1.0 + price
    uplift = params.finance.core_budget_uplift
    if uplift:
        state.core_budget *= 1.0 + uplift


def grant_milestone(state: BatchState, params: Parameters, streams: MonthStreams,
                    month: int) -> None:
    """A grant starts or ends: payments follow from the grant book (logged for the record)."""


def grant_renewal(index: int, state: BatchState, params: Parameters, streams: MonthStreams,
                  month: int) -> None:
    """The funder decides whether grant ``index`` is renewed, where a decision is due
    (docs/model.md §5.5); a grant judged on performance (a re-tender) weighs the Centre's case
    (§7.4)."""
    factor = (case_multiplier(state, params) if params.finance.grants[index].renewal_on_performance
              else None)
    renewed = decide_renewals(state.grants, index, month, streams("grant_renewal").random(),
                              factor)
    state.flows.grant_renewals += renewed & state.operating


def check_milestone(index: int, state: BatchState, params: Parameters, streams: MonthStreams,
                    month: int) -> None:
    """The funder's milestone for grant ``index``: where fewer services are live than it asks
    for, the grant ends this month, with no renewal (docs/model.md §4.10)."""
    grant = params.finance.grants[index]
    book = state.grants
    live = (state.portfolio.status == ServiceStatus.LIVE).sum(axis=1)
    missed = (state.operating & (live < grant.milestone_live_services)
              & (book.end[:, index] > month))
    book.end[missed, index] = month
    book.renewals_left[missed, index] = 0
    state.flows.grant_milestones_missed += missed


def review(state: BatchState, params: Parameters, streams: MonthStreams, month: int) -> None:
    """A spending review sets the core budget; a department closes a unit whose budget stops
    (docs/model.md §7.1). The chances of a stop and a cut move with the Centre's case: its
    value for money and reach (§7.4)."""
    terms = params.events.spending_review
    factor = case_multiplier(state, params)  # a strong case makes stopping and cutting rarer
    stop = with_odds_scaled(terms.stop_prob, 1.0 / factor)
    cut = with_odds_scaled(terms.cut_prob, 1.0 / factor)
    over = stop + cut > 1.0  # both scaled: keep them a partition of the outcomes
    cut = np.where(over, 1.0 - stop, cut)
    new, _, stopped = spending_review(state.core_budget, terms,
                                      streams("spending_review").random(), stop, cut)
    state.core_budget[:] = new
    ended = stopped & state.operating & (state.hosting.failure_rule
                                         == FailureRule.SPENDING_REVIEW)
    if ended.any():
        close(state, ended)


def election(state: BatchState, params: Parameters, streams: MonthStreams, month: int) -> None:
    """The general election may change policy: core budget, programme rate and the renewal
    chance of government-funded grants move (docs/model.md §7.2)."""
    terms = params.events.election
    changed = general_election(terms, streams("election").random())
    state.policy_changed[changed] = True
    state.core_budget[changed] *= terms.core_budget_multiplier
    state.programme_rate_factor[changed] *= terms.programme_rate_multiplier
    for g, grant in enumerate(params.finance.grants):
        if grant.government_funded:
            state.grants.renewal_prob[changed, g] = np.minimum(
                state.grants.renewal_prob[changed, g] * terms.grant_renewal_multiplier, 1.0)


def charity_year(state: BatchState, params: Parameters, streams: MonthStreams,
                 month: int) -> None:
    """April: this year's charitable income relative to its mean (month 0's draw is made with
    the initial state)."""
    if month > 0:
        state.charity_factor = lognormal_factor(streams("charity").random(),
                                                state.hosting.charitable_income_sigma)


def host_set_up(state: BatchState, params: Parameters, streams: MonthStreams,
                month: int) -> None:
    """Month 0: the first host's set-up cost falls due."""
    setup = params.hosting.hosts[0].setup_cost_gbp
    state.one_off_gbp[state.operating] += setup[state.operating] * state.cpi_index


def host_change(index: int, state: BatchState, params: Parameters, streams: MonthStreams,
                month: int) -> None:
    """Host ``index + 1`` takes over: a share of staff leave rather than transfer, and the
    transition cost falls due (docs/model.md §6). LGPS members who transfer to a host whose
    own scheme is not the LGPS stay members through an admission agreement unless the change
    says otherwise; a council enrols everyone (§6.1). The transition runs from this month for
    ``transition_months`` (:func:`sim.model.pensions.transition`)."""
    table = params.hosting
    move = HostMove(table.change_transition_cost_gbp[index],
                    table.change_staff_loss_share[index], table.change_lgps_admission[index],
                    table.change_transition_months[index],
                    table.change_double_running_gbp_per_month[index],
                    table.change_productivity_loss[index])
    move_host(state, params, np.ones(state.replicates, dtype=bool), index + 1, move,
              streams("host_change"),
              streams("pension_transfer") if mixed_membership(params) else None, month)


def reorganise(index: int, state: BatchState, params: Parameters, streams: MonthStreams,
               month: int) -> None:
    """Local government reorganisation ``index``: LAs merge (docs/model.md §2.9)."""
    merge_las(state.ladder, state.champions, params.events.reorganisations[index][1])
    state.counts.changed()
    write_off_leavers(state)  # a merged LA's unpaid invoices are written off (§5.6)
    refresh_market(state, params)


# --------------------------------------------------------------------------- the calendar


def schedule_events(calendar: Calendar, state: BatchState, params: Parameters,
                    streams: RandomStreams) -> None:
    """Put every organisational event of the scenario on ``calendar``, acting on ``state``.

    Each action runs with that month's streams (:meth:`~sim.engine.RandomStreams.at`), so an
    event's draws come from its own named stream and month, whatever else happens.
    """

    def on(kind: EventKind, action: Callable[..., None], subject: str = "",
           detail: str = "") -> tuple[_Label, Callable[[int], None], int]:
        def fire(month: int) -> None:
            action(state, params, streams.at(month), month)
        return _Label(kind, subject, detail), fire, EVENT_ORDER[kind]

    def at(month: int, kind: EventKind, action: Callable[..., None], subject: str = "",
           detail: str = "") -> None:
        label, fire, rank = on(kind, action, subject, detail)
        calendar.at(month, label, fire, rank)

    def every(first: int, period: int, kind: EventKind, action: Callable[..., None]) -> None:
        label, fire, rank = on(kind, action)
        calendar.every(first, period, label, fire, rank)

    april = first_april(params.time.start)
    every(april, 12, EventKind.FISCAL_YEAR_START, fiscal_year_start)
    for i, grant in enumerate(params.finance.grants):
        at(grant.start_month, EventKind.GRANT_START, grant_milestone, grant.name)
        if grant.milestone_month is not None:
            at(grant.milestone_month, EventKind.GRANT_MILESTONE, partial(check_milestone, i),
               grant.name, f"{grant.milestone_live_services} live services")
        decisions = renewal_decision_months(grant)
        for k, decision in enumerate(decisions):
            at(decision, EventKind.GRANT_RENEWAL_DECISION, partial(grant_renewal, i), grant.name)
            at(decision + grant.taper_months + grant.renewal_months, EventKind.GRANT_END,
               grant_milestone, grant.name, "if renewed" + " again" * k)
        for end in np.unique(grant.end_month):  # one per distinct end when design points stack
            at(int(end), EventKind.GRANT_END, grant_milestone, grant.name,
               "unless renewed" if decisions else "")
    reviews = params.events.spending_review
    if params.finance.core_budget_gbp_per_year > 0:
        every(reviews.first_month, reviews.period_months, EventKind.SPENDING_REVIEW, review)
    at(params.events.election.month, EventKind.ELECTION, election)
    hosts = params.hosting
    if any((h.charitable_income_gbp_per_year > 0).any() for h in hosts.hosts):
        every(april, 12, EventKind.CHARITABLE_INCOME_YEAR, charity_year)
    every(0, 1, EventKind.LAUNCH_DECISIONS, decide_launches)
    at(0, EventKind.HOST_SET_UP, host_set_up, hosts.models[0])
    for i, month in enumerate(hosts.change_month):
        at(month, EventKind.HOST_CHANGE, partial(host_change, i), hosts.models[i + 1])
    # --- delivery models part 1 (issue #13) ---
    year_end = april if april > 0 else 12  # the first April after a fiscal year has run
    if any(rules is not None for rules in params.forms.teckal):
        every(year_end, 12, EventKind.TECKAL_ACTIVITY_TEST, teckal.activity_test)
    partnerships = [rules for rules in params.forms.partnership if rules is not None]
    if partnerships:
        every(year_end, 12, EventKind.PARTNERSHIP_YEAR_END, partnership.meet_deficit)
        for term in sorted({rules.term_months for rules in partnerships}):
            every(term, term, EventKind.PARTNERSHIP_TERM_END, partnership.term_end)
    if any(rules is not None for rules in params.forms.cic):
        every(year_end, 12, EventKind.CIC_YEAR_END, cic.pay_dividend)
    if any(rules is not None for rules in params.forms.charity):
        every(year_end, 12, EventKind.CHARITY_YEAR_END, charity.set_vat_share)
    # --- delivery models part 2 (issue #13) ---
    if params.membership_body.enabled:
        every(params.membership_body.first_review_month, 12, EventKind.MEMBERSHIP_REVIEW,
              review_levy)
    terms = params.contract
    if terms.enabled:
        grant = params.finance.grants[terms.contract_grant]
        for decision in renewal_decision_months(grant):
            at(decision, EventKind.RETENDER_BID, retender_bid, grant.name)
            if terms.on_loss == "move":
                at(decision + grant.taper_months, EventKind.SERVICE_MOVE, move_service,
                   hosts.models[terms.successor_host])
    for j, (month, groups) in enumerate(params.events.reorganisations):
        at(month, EventKind.REORGANISATION, partial(reorganise, j),
           detail=f"{len(groups)} merger(s)")
