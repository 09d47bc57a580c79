"""Each pass over the subscription invoice book (sim/model/_invoice_kernels.py) changes the book
and sums money exactly as its whole-array numpy reference (sim/model/reference.py) does, to
the bit, on random books: the passes are a faster way of running the same rules (docs/model.md
§5.6), not new rules."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import _invoice_kernels, reference
from sim.model._invoice_kernels import NO_DUE, NOT_BILLED
from sim.model.codes import Ladder

SETTINGS = settings(max_examples=120, deadline=None)


@st.composite
def books(draw: Any) -> dict[str, Any]:
    """A random invoice book of R replicates and N LAs in a random fiscal year, with whole-penny
    amounts, some LAs never billed, some billed for last year, and payments part recognised;
    some replicates with nothing billed, and ``next_due`` at times earlier than it need be."""
    seed = draw(st.integers(0, 2**32 - 1))
    R, N = draw(st.integers(1, 5)), draw(st.integers(1, 160))
    rng = np.random.default_rng(seed)
    first = int(rng.choice([0, 12, 24]))
    month = first + int(rng.integers(0, 12))
    billed = rng.random((R, N))
    billed_for = np.where(billed < 0.3, NOT_BILLED,
                          np.where(billed < 0.5, first - 12, first)).astype(np.int32)
    amount = np.round(rng.random((R, N, 2)) * rng.choice([0, 1, 6_000, 25_000], (R, N, 2)), 2)
    billed_for[rng.random(R) < 0.3] = NOT_BILLED
    amount[billed_for == NOT_BILLED] = 0.0
    due = (month + rng.integers(-3, 4, (R, N, 2))).astype(np.int32)
    next_due = _next_due(amount, due) - rng.choice([0, 0, 1, 5], R)
    covers = rng.integers(1, 13, (R, N)).astype(np.int32)
    paid = np.where(rng.random((R, N)) < 0.5, 0.0, np.round(rng.random((R, N)) * 9_000, 2))
    paid[billed_for == NOT_BILLED] = 0.0
    recognised = np.round(paid * rng.random((R, N)), 2)
    prices = np.round(rng.choice([0.0, 3_300.0, 7_500.0, 11_700.0], (R, N))
                      * (1 + rng.random((R, N))), 2)
    if rng.random() < 0.5:  # one price list for every replicate, as the model passes it
        prices = np.broadcast_to(prices[:1], (R, N))
    return dict(
        ladder=rng.integers(0, len(Ladder), (R, N)).astype(np.int8),
        operating=rng.random(R) < 0.8, amount=amount,
        due=due, billed_for=billed_for, billed=(billed_for != NOT_BILLED).sum(axis=1),
        next_due=next_due, paid=paid, recognised=recognised, covers=covers,
        pending=np.round(rng.random(R) * 100, 2), first=first, month=month,
        prices=prices, price_factor=np.where(rng.random(R) < 0.5, 1.0, 0.8 + rng.random(R) * 0.4),
        price_index=float(1 + rng.random() * 0.2),
        share=np.broadcast_to(rng.random(1) * 0.1, (R,)) if rng.random() < 0.5
        else rng.random(R) * 0.1,
        substep_end=month + float(rng.choice([0.25, 0.5, 1.0])))


def _next_due(amount: np.ndarray, due: np.ndarray) -> np.ndarray:
    """The earliest due month of each replicate's non-zero invoices (NO_DUE: none)."""
    return np.where(amount != 0.0, due, NO_DUE).min(axis=(1, 2), initial=NO_DUE)


def _kept(book: dict[str, Any]) -> None:
    """The row numbers the passes keep hold: the LAs billed, and a month no later than any
    non-zero invoice falls due (NO_DUE only when every amount is 0)."""
    np.testing.assert_array_equal(book["billed"], (book["billed_for"] != NOT_BILLED).sum(axis=1))
    assert (book["next_due"] <= _next_due(book["amount"], book["due"])).all()


def _twin(book: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) and v.flags.writeable else v
            for k, v in book.items()}


def _same(fast: dict[str, Any], slow: dict[str, Any]) -> None:
    for key in ("amount", "due", "billed_for", "paid", "recognised", "covers", "pending",
                "billed", "next_due"):
        np.testing.assert_array_equal(fast[key], slow[key], err_msg=key)
    _kept(fast)


@SETTINGS
@given(books())
def test_write_off_equals_its_reference(book: dict[str, Any]) -> None:
    fast, slow = _twin(book), _twin(book)
    R = book["ladder"].shape[0]
    outs = []
    for b, module in ((fast, _invoice_kernels), (slow, reference)):
        lost = np.zeros(R)
        outs.append((module.write_off(b["ladder"], b["operating"], b["amount"], b["billed_for"],
                                      b["paid"], b["recognised"], b["pending"], lost,
                                      b["billed"]), lost))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    _same(fast, slow)


@SETTINGS
@given(books())
def test_collect_equals_its_reference(book: dict[str, Any]) -> None:
    fast, slow = _twin(book), _twin(book)
    R = book["ladder"].shape[0]
    slot = int(book["month"] // 12) % 2
    outs = []
    for b, module in ((fast, _invoice_kernels), (slow, reference)):
        unpaid, received = np.zeros(R), np.zeros(R)
        n = module.collect(b["ladder"], b["operating"], b["amount"], b["due"], b["paid"],
                           b["month"], b["share"], slot, unpaid, received, b["next_due"])
        outs.append((n, unpaid, received))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_array_equal(outs[0][2], outs[1][2])
    _same(fast, slow)


@SETTINGS
@given(books())
def test_raise_invoices_equals_its_reference(book: dict[str, Any]) -> None:
    fast, slow = _twin(book), _twin(book)
    charging = book["operating"] & (np.arange(book["ladder"].shape[0]) % 3 != 2)
    left = 12 - (book["month"] - book["first"])
    slot = int(book["month"] // 12) % 2
    outs = []
    for b, module in ((fast, _invoice_kernels), (slow, reference)):
        invoiced = np.zeros(b["ladder"].shape)
        n = module.raise_invoices(b["ladder"], charging, b["first"], left, slot, b["month"] + 1,
                                  b["prices"], b["price_factor"], b["price_index"], b["amount"],
                                  b["due"], b["billed_for"], b["paid"], b["recognised"],
                                  b["covers"], invoiced, b["billed"], b["next_due"])
        outs.append((n, invoiced.sum(axis=1)))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    _same(fast, slow)


@SETTINGS
@given(books())
def test_recognise_equals_its_reference(book: dict[str, Any]) -> None:
    fast, slow = _twin(book), _twin(book)
    steps = []
    for b, module in ((fast, _invoice_kernels), (slow, reference)):
        out = np.zeros(b["ladder"].shape[0])
        module.recognise(b["paid"], b["billed_for"], b["covers"], b["recognised"], b["first"],
                         b["substep_end"], out, b["billed"])
        steps.append(out)
    np.testing.assert_array_equal(steps[0], steps[1])
    _same(fast, slow)


@SETTINGS
@given(books())
def test_accrue_equals_its_reference(book: dict[str, Any]) -> None:
    outs = []
    for module in (_invoice_kernels, reference):
        R = book["ladder"].shape[0]
        owed, unearned = np.zeros(R), np.zeros(R)
        module.accrue(book["ladder"], book["operating"], book["amount"], book["billed_for"],
                      book["first"], book["prices"], book["price_factor"], book["price_index"],
                      owed, unearned, book["billed"], book["next_due"])
        outs.append((owed, unearned))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_the_passes_keep_whole_pennies_and_conserve_money() -> None:
    """Independent of the reference: a year's invoices raised, collected with no bad debt and
    then written off as the LAs leave moves every penny from invoiced to received, and what is
    received is recognised in full by the end of the year."""
    R, N = 2, 153
    ladder = np.full((R, N), Ladder.MEMBER, dtype=np.int8)
    operating = np.ones(R, dtype=bool)
    amount, due = np.zeros((R, N, 2)), np.zeros((R, N, 2), dtype=np.int32)
    billed_for = np.full((R, N), NOT_BILLED, dtype=np.int32)
    paid, recognised = np.zeros((R, N)), np.zeros((R, N))
    covers = np.ones((R, N), dtype=np.int32)
    billed, next_due = np.zeros(R, dtype=np.int64), np.full(R, NO_DUE, dtype=np.int64)
    prices = np.full((R, N), 5_000.0)
    invoiced = np.zeros((R, N))
    raised = _invoice_kernels.raise_invoices(ladder, operating, 0, 12, 0, 1, prices,
                                             np.ones(R), 1.0, amount, due, billed_for, paid,
                                             recognised, covers, invoiced, billed, next_due)
    assert raised == R * N
    assert invoiced.sum() == 5_000.0 * R * N
    unpaid, received = np.zeros(R), np.zeros(R)
    _invoice_kernels.collect(ladder, operating, amount, due, paid, 1, np.zeros(R), 0, unpaid,
                             received, next_due)
    np.testing.assert_array_equal(received, 5_000.0 * N)
    np.testing.assert_array_equal(unpaid, 0.0)
    assert not amount.any()
    np.testing.assert_array_equal(billed, N)
    np.testing.assert_array_equal(next_due, NO_DUE)  # nothing left outstanding
    steps = np.zeros(R)
    _invoice_kernels.recognise(paid, billed_for, covers, recognised, 0, 12.0, steps, billed)
    np.testing.assert_array_equal(steps, 5_000.0 * N)
