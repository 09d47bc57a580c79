"""One batch of replicates of one scenario: the month, as a sequence of rules.

:func:`simulate` compiles nothing and decides nothing itself: it builds the state
(:func:`~sim.model.state.initial_state`), puts the organisational events on a simpy calendar
(:func:`~sim.model.events.schedule_events`), and runs each month as the rules below, each a
module-level function ``rule(state, params, streams, month)`` (docs/model.md §1.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sim.engine import Calendar, RandomStreams
from sim.model import (
    charitable_funds,
    contract,
    external,
    finance,
    forms,
    host,
    pensions,
    performance,
    policies,
    portfolio,
    reserves,
    spokes,
    team,
    uptake,
    workforce,
)
from sim.model.events import Event, events_from_log, schedule_events
from sim.model.kpis import compute_kpis
from sim.model.parameters import Parameters
from sim.model.record import DIMENSIONS, METRICS, Record, record_month
from sim.model.state import BatchState, MonthFlows, initial_state

__all__ = ["BatchResult", "MONTH_END", "MONTH_START", "SUBSTEP", "simulate"]

MONTH_START = (policies.apply_policies, pensions.transition, forms.month_start,
               external.arrive_programmes,
               finance.arrive_commissions,
               # delivery models part 2 (issue #13): a hub's spokes come and go (§7.12)
               spokes.advance_spokes,
               finance.note_income_due, host.serve_redundancies, host.restore_posts,
               team.plan_team)
"""Rules at the start of each month's step, after the calendar's events, in this order: the
adaptive policies read the month just recorded and act (issue #14, docs/model.md §12); the
month's place in a transition after a change of host (productivity, double running); the legal
form's own rules (issue #13: owners and partners, contracts, a cap on outside sales) before
the income due is read; the cash-shortage redundancies come before the team review, which
plans on what is left."""

SUBSTEP = (host.freeze_hiring, workforce.advance_staff, uptake.advance_ladder,
           portfolio.advance_portfolio, finance.pay_and_collect,
           # delivery models part 2 (issue #13): a host charity's designated fund (§7.10)
           charitable_funds.draw_designated_fund,
           host.apply_failure_rule)
"""Rules of each sub-step, in this order: who can be hired, staff move, LAs move, services
are maintained and built, the money moves, a host charity's designated fund makes good a
deficit while it lasts, and the host acts on the result."""

MONTH_END = (
    # delivery models part 2 (issue #13): a provider's profit, tax and distribution (§7.11)
    contract.settle_year,
    reserves.surrender_balance, host.month_end_failure_rule, host.close_if_not_viable,
    performance.remember_month,
    forms.month_end)  # delivery models part 1 (issue #13): the legal form's tally (§7.5)
"""Rules after the last sub-step, before the month is recorded, in this order: a provider
under contract adds the month to its year's profit and, in a March, pays corporation tax and
distributes (the failure rules then read what is left); in a March, an annuality host takes
back a positive balance (nothing is carried across 31 March); the host's month-end failure rule
reads the balance that is carried; the host closes a Centre that has stayed not viable too
long; the month's value and costs are added to the record funders judge; last, the legal
form's own tally of the month (issue #13: a Teckal company's activity for its owners and for
others, a charity's VAT)."""


@dataclass
class BatchResult:
    """Results of one batch: per-month metrics float64[R, T], per-replicate KPIs float64[R],
    the calendar's events (the same for every batch of a run) and the declared lists behind
    the grouped metrics (:data:`~sim.model.record.DIMENSIONS`)."""

    metrics: dict[str, np.ndarray]
    kpis: dict[str, np.ndarray]
    events: list[Event] = field(default_factory=list)
    dimensions: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DIMENSIONS))


def step(state: BatchState, params: Parameters, streams: RandomStreams, month: int,
         record: Record) -> None:
    """One month: the month-start rules, the sub-steps, the month-end rules and the record."""
    draws = streams.at(month)
    for rule in MONTH_START:
        rule(state, params, draws, month)
    for sub in range(params.time.substeps_per_month):
        state.substep = sub
        for rule in SUBSTEP:
            rule(state, params, draws, month)
    for rule in MONTH_END:
        rule(state, params, draws, month)
    record_month(state, params, month, record)
    state.one_off_gbp = np.zeros(params.replicates)
    state.flows = MonthFlows.zeros(params.replicates)
    state.commissions.age()


def simulate(params: Parameters, streams: RandomStreams,
             out: Mapping[str, np.ndarray] | None = None) -> BatchResult:
    """Simulate every replicate of the batch described by ``streams``.

    Parameters
    ----------
    params : the compiled parameters (:func:`~sim.model.compile_parameters`) for
        ``streams.replicates`` replicates.
    streams : random streams for the batch's replicate blocks.
    out : optional storage for the metrics, name → float64[T, R] holding zeros (month-major;
        e.g. this batch's columns of an ensemble's arrays, or of a shared file): the model
        fills it in place, so nothing is copied afterwards.
    """
    if params.replicates != streams.replicates:
        raise ValueError(f"parameters are compiled for {params.replicates} replicates, the "
                         f"streams hold {streams.replicates}")
    T, R = params.time.horizon_months, params.replicates
    record = Record(metrics={name: out[name] for name in METRICS} if out is not None
                    else {name: np.zeros((T, R)) for name in METRICS},
                    funding_schedule=np.zeros((T, R)))
    state = initial_state(params, params.las, streams)
    state.history = record.metrics  # the adaptive policies read the months recorded
    calendar = Calendar(T)
    schedule_events(calendar, state, params, streams)
    calendar.monthly_step(lambda month: step(state, params, streams, month, record))
    calendar.run()
    by_replicate = {name: values.T for name, values in record.metrics.items()}  # [R, T] views
    return BatchResult(metrics=by_replicate,
                       kpis=compute_kpis(by_replicate, record.funding_schedule.T),
                       events=events_from_log(calendar.log))
