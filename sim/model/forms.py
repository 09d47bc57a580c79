"""The legal forms' own rules (issue #13), called from the month at one place each.

Each form's rules live in a module of their own — :mod:`sim.model.teckal` (a council-owned
company, docs/model.md §7.5), :mod:`sim.model.partnership` (a joint partnership of councils,
§7.6), :mod:`sim.model.cic` (a staff mutual as a community interest company, §7.7) and
:mod:`sim.model.charity` (a charity on a multi-year grant, §7.8) — and act only where the
current host has that form (``hosting.<form>.enabled``). This module gathers them:
:func:`month_start` and :func:`month_end` are the month's two entries in
:mod:`sim.model.simulation`, :data:`FORM_METRICS` and :func:`record_forms` the month-end
record's; the forms' yearly and term events are on the calendar (:mod:`sim.model.events`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import MonthStreams
from sim.model import charity, cic, partnership, teckal
from sim.model.parameters import Parameters

if TYPE_CHECKING:
    from sim.model.state import BatchState

__all__ = ["FORM_METRICS", "month_end", "month_start", "record_forms"]

FORM_METRICS: dict[str, str] = {
    "teckal_exempt": "1 while a council-owned (Teckal) company's owners may award it their "
                     "contract without tender (its last activity test passed; 0 for any other "
                     "host, docs/model.md §7.5)",
    "teckal_outside_share": "a Teckal company's share of activity for others than its owners "
                            "in the last fiscal year tested (0–1; NaN before the first test "
                            "and for any other host)",
    "partners": "councils in a joint partnership at month end (count; 0 for any other host, "
                "docs/model.md §7.6)",
    "partner_deficit_paid_gbp": "deficit the partners of a joint partnership paid in the month "
                                "by their agreed shares (£; also in income_host_support_gbp)",
    "charity_vat_share": "share of the VAT on non-pay costs a charity recovers this fiscal year: "
                         "last year's business income ÷ all income (0–1; 0 for any other host, "
                         "docs/model.md §7.8)",
}
"""The forms' per-month metrics, with their definitions (documented in docs/outputs.md)."""


def month_start(state: BatchState, params: Parameters, streams: MonthStreams,
                month: int) -> None:
    """Month start, before the income due is read: each form's book is made (owners and
    partners enrolled, contracts set) the first time it acts; a Teckal company at its cap on
    outside sales notes it (its outside joiners are declined at the month's end)."""
    teckal.cap_outside_sales(state, params, streams, month)
    partnership.set_up(state, params, streams, month)
    cic.set_up(state, params, streams, month)
    charity.set_up(state, params, streams, month)


def month_end(state: BatchState, params: Parameters, streams: MonthStreams,
              month: int) -> None:
    """Month end: a Teckal company at its cap declines the month's outside joiners, then adds
    the month's activity to the year's tally; a charity recovers its share of the month's VAT."""
    teckal.decline_outside_joins(state, params, streams, month)
    teckal.note_activity(state, params, streams, month)
    charity.recover_vat(state, params, streams, month)


def record_forms(state: BatchState, params: Parameters,
                 month: int) -> dict[str, np.ndarray | float]:
    """The forms' metrics of ``month`` by name (float[R], or one number for every
    replicate), for the month-end record to write."""
    metrics: dict[str, np.ndarray | float] = {}
    t = state.form_state.get("teckal")
    if teckal.current_rules(state, params) is not None and t is not None:
        metrics["teckal_exempt"] = t.exempt & state.operating
        metrics["teckal_outside_share"] = t.outside_share
    else:
        metrics["teckal_exempt"] = 0.0
        metrics["teckal_outside_share"] = np.nan
    j = state.form_state.get("partnership")
    if partnership.current_rules(state, params) is not None and j is not None:
        metrics["partners"] = j.seats.sum(axis=1) * state.operating
        metrics["partner_deficit_paid_gbp"] = (j.paid_month_gbp if j.paid_in == month
                                               else 0.0)
    else:
        metrics["partners"] = 0.0
        metrics["partner_deficit_paid_gbp"] = 0.0
    c = state.form_state.get("charity")
    metrics["charity_vat_share"] = (
        c.vat_share if charity.current_rules(state, params) is not None and c is not None
        else 0.0)
    return metrics
