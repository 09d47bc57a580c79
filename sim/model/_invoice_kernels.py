"""Compiled passes over the subscription invoice book (numba), docs/model.md §5.6.

The invoice book holds a few numbers for every LA of every replicate (:class:`~sim.model.
finance.InvoiceBook`), and several rules read or change it every sub-step: leavers' invoices
written off, invoices that fall due collected, members not billed for the year invoiced,
payments recognised as earned, and what members owe or have paid ahead (the free reserves).
Done with whole-array numpy each costs several passes over ``[R, N]`` arrays; each kernel here
walks replicates and LAs once.

Two numbers per replicate keep the passes off the rows they would leave as they are (most rows,
once Centres close or between the months invoices fall due): ``billed[r]``, how many of its
LAs are billed for a year (``billed_for ≠ NOT_BILLED``; only those have anything outstanding,
paid or to recognise), and ``next_due[r]``, a month no later than the due month of any of
its non-zero invoices (:data:`NO_DUE` when every amount is exactly 0). The passes that change
the book keep both.

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

__all__ = ["NOT_BILLED", "NO_DUE", "accrue", "collect", "raise_invoices", "recognise",
           "write_off"]

NOT_BILLED = -(10**6)
""":attr:`InvoiceBook.billed_for` of an LA not invoiced for the fiscal year it is in."""
NO_DUE = 10**9
""":attr:`InvoiceBook.next_due` of a replicate with no invoice outstanding."""

_MEMBER, _CHAMPION = int(Ladder.MEMBER), int(Ladder.CHAMPION)


@njit(cache=True, nogil=True)
def _pennies(x: float) -> float:
    """``np.round(x, 2)`` of one number, as numpy computes it: ``rint(x × 100) ÷ 100``."""
    return np.rint(x * 100.0) / 100.0


@njit(cache=True, nogil=True)
def _member(state: np.int8) -> bool:
    return bool(_MEMBER <= state <= _CHAMPION)


@njit(cache=True, nogil=True)
def _leavers(ladder: np.ndarray, billed_for: np.ndarray, r: int) -> int:
    """How many LAs of row ``r`` of an operating Centre are billed but no longer members.

    Most rows have none: counting them in a loop without early exits (which the compiler
    vectorises) and walking only the rows that have some is cheaper than walking every row
    branch by branch."""
    count = 0
    for n in range(ladder.shape[1]):
        state = ladder[r, n]
        count += (billed_for[r, n] != NOT_BILLED) & ((state < _MEMBER) | (state > _CHAMPION))
    return count


@njit(cache=True, nogil=True)
def _unbilled_members(ladder: np.ndarray, billed_for: np.ndarray, r: int, first: int) -> int:
    """How many members of row ``r`` are not billed for the year beginning ``first`` (as
    :func:`_leavers`: most rows have none)."""
    count = 0
    for n in range(ladder.shape[1]):
        state = ladder[r, n]
        count += (billed_for[r, n] != first) & (state >= _MEMBER) & (state <= _CHAMPION)
    return count


@njit(cache=True, nogil=True)
def write_off(ladder: np.ndarray, operating: np.ndarray, amount: np.ndarray,
              billed_for: np.ndarray, paid: np.ndarray, recognised: np.ndarray,
              pending: np.ndarray, lost: np.ndarray, billed: np.ndarray) -> tuple[int, bool]:
    """LAs billed for a year that are no longer members of an operating Centre: their
    outstanding invoices added to ``lost[r]`` (£, float[R]), what they paid ahead of the
    months served added to ``pending[r]``, their row of the book cleared and ``billed[r]``
    counted down. Returns (how many LAs left, whether any owed anything)."""
    R, N = ladder.shape
    gone = 0
    owed_any = False
    for r in range(R):
        if billed[r] == 0 or (operating[r] and _leavers(ladder, billed_for, r) == 0):
            continue
        for n in range(N):
            if billed_for[r, n] == NOT_BILLED or (operating[r] and _member(ladder[r, n])):
                continue
            gone += 1
            billed[r] -= 1
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
            unpaid: np.ndarray, received: np.ndarray, next_due: np.ndarray) -> int:
    """Members' invoices due by ``month`` paid, less ``bad_debt_share[r]`` of each (added to
    ``unpaid[r]``); the cash added to ``received[r]``, and, for this year's invoices (slot
    ``slot``), to the LA's ``paid``; ``next_due[r]`` of each row looked at set to the earliest
    due month of the non-zero invoices left (:data:`NO_DUE`: none). Returns how many
    invoices were settled."""
    R, N = ladder.shape
    settled = 0
    for r in range(R):
        if not operating[r] or next_due[r] > month:
            continue
        keep = 1.0 - bad_debt_share[r]
        left = NO_DUE
        for n in range(N):
            member = _member(ladder[r, n])
            for k in range(2):
                a = amount[r, n, k]
                if a == 0.0:
                    continue
                if not (member and a > 0.0 and due[r, n, k] <= month):
                    left = min(left, due[r, n, k])
                    continue
                settled += 1
                cash = _pennies(a * keep)
                unpaid[r] += a - cash
                amount[r, n, k] = 0.0
                if k == slot:
                    paid[r, n] += cash
                received[r] += cash
        next_due[r] = left
    return settled


@njit(cache=True, nogil=True)
def raise_invoices(ladder: np.ndarray, charging: np.ndarray, first: int, left: int, slot: int,
                   due_month: int, prices: np.ndarray, price_factor: np.ndarray,
                   price_index: float, amount: np.ndarray, due: np.ndarray,
                   billed_for: np.ndarray, paid: np.ndarray, recognised: np.ndarray,
                   covers: np.ndarray, invoiced: np.ndarray, billed: np.ndarray,
                   next_due: np.ndarray) -> int:
    """Members of a charging Centre not billed for the year beginning ``first`` invoiced
    ``pennies(price × (price factor × price index) × (left ÷ 12))`` into slot ``slot``, due in
    ``due_month``; each new amount also written to ``invoiced[r, n]`` (float[R, N] of zeros),
    ``billed[r]`` counting the LAs billed afresh and ``next_due[r]`` brought forward to
    ``due_month``. Returns how many were invoiced."""
    R, N = ladder.shape
    share = left / 12.0
    raised = 0
    for r in range(R):
        if not charging[r] or _unbilled_members(ladder, billed_for, r, first) == 0:
            continue
        factor = price_factor[r] * price_index
        for n in range(N):
            if billed_for[r, n] == first or not _member(ladder[r, n]):
                continue
            value = _pennies(prices[r, n] * factor * share)
            invoiced[r, n] = value
            amount[r, n, slot] += value
            due[r, n, slot] = due_month
            if billed_for[r, n] == NOT_BILLED:
                billed[r] += 1
            next_due[r] = min(next_due[r], due_month)
            billed_for[r, n] = first
            paid[r, n] = 0.0
            recognised[r, n] = 0.0
            covers[r, n] = left
            raised += 1
    return raised


@njit(cache=True, nogil=True)
def recognise(paid: np.ndarray, billed_for: np.ndarray, covers: np.ndarray,
              recognised: np.ndarray, first: int, now: float, steps: np.ndarray,
              billed: np.ndarray) -> None:
    """Payments for the year beginning ``first`` earned up to ``now`` (months, the end of the
    sub-step): each LA's ``pennies(paid × served ÷ covers)`` less what is already recognised
    (never negative) added to its ``recognised`` and to ``steps[r]``."""
    R, N = paid.shape
    for r in range(R):
        if billed[r] == 0:  # only an LA billed for a year has paid for it
            continue
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
           price_index: float, owed: np.ndarray, unearned: np.ndarray, billed: np.ndarray,
           next_due: np.ndarray) -> None:
    """For members of an operating Centre billed for a year: their outstanding invoices added
    to ``owed[r]``, and, for those billed for the year beginning ``first``, the year's price
    ``price × (price factor × price index)`` added to ``unearned[r]``."""
    R, N = ladder.shape
    for r in range(R):
        if not operating[r] or billed[r] == 0:
            continue
        # No invoice outstanding: each member would add exactly 0.0 to an ``owed`` that is
        # +0.0 or positive, which leaves it as it is.
        owing = next_due[r] != NO_DUE
        factor = price_factor[r] * price_index
        for n in range(N):
            year = billed_for[r, n]
            if year == NOT_BILLED or not _member(ladder[r, n]):
                continue
            if owing:
                owed[r] += 0.0 + amount[r, n, 0] + amount[r, n, 1]
            if year == first:
                unearned[r] += prices[r, n] * factor
