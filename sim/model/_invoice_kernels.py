"""Compiled passes over the subscription invoice book (numba), docs/model.md §5.6.

The invoice book holds a few numbers for every LA of every replicate (:class:`~sim.model.
finance.InvoiceBook`), and several rules read or change it every sub-step: leavers' invoices
written off, invoices that fall due collected, members not billed for the year invoiced,
payments recognised as earned, and what members owe or have paid ahead (the free reserves).
Done with whole-array numpy each costs several passes over ``[R, N]`` arrays; each kernel here
walks replicates and LAs once.

:mod:`sim.model.reference` holds the plain numpy version of each (the specification), and the
tests check that kernel and reference agree to the bit on random books. Sums are taken in the
order the reference takes them: sequentially by replicate then LA (what ``np.add.at`` does);
where the reference sums a row of LAs with ``ndarray.sum`` (pairwise), the kernel writes the
row and the caller sums it the same way.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model.codes import Ladder

__all__ = ["accrue", "collect", "raise_invoices", "recognise", "write_off"]

NOT_BILLED = -(10**6)
""":attr:`InvoiceBook.billed_for` of an LA not invoiced for the fiscal year it is in."""

_MEMBER, _CHAMPION = int(Ladder.MEMBER), int(Ladder.CHAMPION)


@njit(cache=True, nogil=True)
def _pennies(x: float) -> float:
    """``np.round(x, 2)`` of one number, as numpy computes it: ``rint(x × 100) ÷ 100``."""
    return np.rint(x * 100.0) / 100.0


@njit(cache=True, nogil=True)
def _member(state: np.int8) -> bool:
    return bool(_MEMBER <= state <= _CHAMPION)


@njit(cache=True, nogil=True)
def write_off(ladder: np.ndarray, operating: np.ndarray, amount: np.ndarray,
              billed_for: np.ndarray, paid: np.ndarray, recognised: np.ndarray,
              pending: np.ndarray, lost: np.ndarray) -> tuple[int, bool]:
    """LAs billed for a year that are no longer members of an operating Centre: their
    outstanding invoices added to ``lost[r]`` (£, float[R]), what they paid ahead of the
    months served added to ``pending[r]``, and their row of the book cleared. Returns (how
    many LAs left, whether any owed anything)."""
    R, N = ladder.shape
    gone = 0
    owed_any = False
    for r in range(R):
        for n in range(N):
            if billed_for[r, n] == NOT_BILLED or (operating[r] and _member(ladder[r, n])):
                continue
            gone += 1
            owed = 0.0 + amount[r, n, 0] + amount[r, n, 1]
            lost[r] += owed
            if owed != 0.0:
                owed_any = True
            amount[r, n, 0] = 0.0
            amount[r, n, 1] = 0.0
            billed_for[r, n] = NOT_BILLED
            pending[r] += max(paid[r, n] - recognised[r, n], 0.0)
            paid[r, n] = 0.0
            recognised[r, n] = 0.0
    return gone, owed_any


@njit(cache=True, nogil=True)
def collect(ladder: np.ndarray, operating: np.ndarray, amount: np.ndarray, due: np.ndarray,
            paid: np.ndarray, month: int, bad_debt_share: np.ndarray, slot: int,
            unpaid: np.ndarray, received: np.ndarray) -> int:
    """Members' invoices due by ``month`` paid, less ``bad_debt_share[r]`` of each (added to
    ``unpaid[r]``); the cash added to ``received[r]``, and, for this year's invoices (slot
    ``slot``), to the LA's ``paid``. Returns how many invoices were settled."""
    R, N = ladder.shape
    settled = 0
    for r in range(R):
        if not operating[r]:
            continue
        keep = 1.0 - bad_debt_share[r]
        for n in range(N):
            if not _member(ladder[r, n]):
                continue
            for k in range(2):
                a = amount[r, n, k]
                if not (a > 0.0 and due[r, n, k] <= month):
                    continue
                settled += 1
                cash = _pennies(a * keep)
                unpaid[r] += a - cash
                amount[r, n, k] = 0.0
                if k == slot:
                    paid[r, n] += cash
                received[r] += cash
    return settled


@njit(cache=True, nogil=True)
def raise_invoices(ladder: np.ndarray, charging: np.ndarray, first: int, left: int, slot: int,
                   due_month: int, prices: np.ndarray, price_factor: np.ndarray,
                   price_index: float, amount: np.ndarray, due: np.ndarray,
                   billed_for: np.ndarray, paid: np.ndarray, recognised: np.ndarray,
                   covers: np.ndarray, invoiced: np.ndarray) -> int:
    """Members of a charging Centre not billed for the year beginning ``first`` invoiced
    ``pennies(price × (price factor × price index) × (left ÷ 12))`` into slot ``slot``, due in
    ``due_month``; each new amount also written to ``invoiced[r, n]`` (float[R, N] of zeros).
    Returns how many were invoiced."""
    R, N = ladder.shape
    share = left / 12.0
    raised = 0
    for r in range(R):
        if not charging[r]:
            continue
        factor = price_factor[r] * price_index
        for n in range(N):
            if billed_for[r, n] == first or not _member(ladder[r, n]):
                continue
            value = _pennies(prices[r, n] * factor * share)
            invoiced[r, n] = value
            amount[r, n, slot] += value
            due[r, n, slot] = due_month
            billed_for[r, n] = first
            paid[r, n] = 0.0
            recognised[r, n] = 0.0
            covers[r, n] = left
            raised += 1
    return raised


@njit(cache=True, nogil=True)
def recognise(paid: np.ndarray, billed_for: np.ndarray, covers: np.ndarray,
              recognised: np.ndarray, first: int, now: float, steps: np.ndarray) -> None:
    """Payments for the year beginning ``first`` earned up to ``now`` (months, the end of the
    sub-step): each LA's ``pennies(paid × served ÷ covers)`` less what is already recognised
    (never negative) added to its ``recognised`` and to ``steps[r]``."""
    R, N = paid.shape
    for r in range(R):
        for n in range(N):
            p = paid[r, n]
            if not (p > 0.0 and billed_for[r, n] == first):
                continue
            cover = covers[r, n]
            served = min(max(now - (first + 12 - cover), 0.0), float(cover))
            step = max(_pennies(p * served / cover) - recognised[r, n], 0.0)
            recognised[r, n] += step
            steps[r] += step


@njit(cache=True, nogil=True)
def accrue(ladder: np.ndarray, operating: np.ndarray, amount: np.ndarray,
           billed_for: np.ndarray, first: int, prices: np.ndarray, price_factor: np.ndarray,
           price_index: float, owed: np.ndarray, unearned: np.ndarray) -> None:
    """For members of an operating Centre billed for a year: their outstanding invoices added
    to ``owed[r]``, and, for those billed for the year beginning ``first``, the year's price
    ``price × (price factor × price index)`` added to ``unearned[r]``."""
    R, N = ladder.shape
    for r in range(R):
        if not operating[r]:
            continue
        factor = price_factor[r] * price_index
        for n in range(N):
            billed = billed_for[r, n]
            if billed == NOT_BILLED or not _member(ladder[r, n]):
                continue
            owed[r] += 0.0 + amount[r, n, 0] + amount[r, n, 1]
            if billed == first:
                unearned[r] += prices[r, n] * factor
