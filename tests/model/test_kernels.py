"""Each compiled kernel gives exactly what its plain reference (sim/model/reference.py) gives,
to the bit, on random states: the references are the readable specification of the kernels."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import _kernels, _portfolio_kernel, reference
from sim.model._kernels import LadderRates, TallyLayout
from sim.model._portfolio_kernel import PortfolioRates
from sim.model.codes import Ladder, ServiceStatus, Tally

SETTINGS = settings(max_examples=150, deadline=None)


def _chances(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Probabilities in [0, 1] with the edges 0 and 1 well represented."""
    values = rng.random(shape)
    edge = rng.random(shape)
    values[edge < 0.15] = 0.0
    values[edge > 0.85] = 1.0
    return values


def _maybe_shared(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """Sometimes a read-only broadcast of the first row (as the model passes one value for
    every replicate), sometimes the array itself."""
    if rng.random() < 0.5:
        return np.broadcast_to(values[:1], values.shape)
    return values


@st.composite
def ladder_cases(draw: Any) -> tuple[Any, ...]:
    seed = draw(st.integers(0, 2**32 - 1))
    R, N = draw(st.integers(1, 4)), draw(st.integers(2, 14))
    regions, K = draw(st.integers(1, 3)), draw(st.integers(0, 4))
    dt = draw(st.sampled_from([1.0, 0.5, 0.25]))
    # Whole weights (the model's) and fractional ones, whose peer counts the kernel adds as
    # floats in LA order, as the reference does.
    champion_weight = draw(st.sampled_from([1.0, 2.0, 3.0, 1.5, 1.3, 2.7]))
    rng = np.random.default_rng(seed)
    ladder = rng.integers(0, len(Ladder), (R, N)).astype(np.int8)
    member = (ladder >= Ladder.MEMBER) & (ladder <= Ladder.CHAMPION)
    champions = np.where(member, rng.integers(0, 3, (R, N)), 0).astype(np.int8)
    region = rng.integers(0, regions, N).astype(np.int64)
    neighbours = rng.integers(0, N, (N, K)).astype(np.int64)
    size = np.bincount(region, minlength=regions).astype(float)
    w_region, w_neighbours = rng.random() * 0.5, rng.random() * 0.5
    rates = LadderRates(
        aware_p=rng.random(R) * 0.1, q=rng.random(R), dt=dt,
        w_nation_per_la=(1 - w_region - w_neighbours) / N,
        region_scale=np.where(size > 0, w_region / np.maximum(size, 1), 0.0),
        neighbour_scale=w_neighbours / max(K, 1), champion_weight=champion_weight,
        lapsed_return_prob=_chances(rng, (R,)),
        start_rate=np.where(rng.random(R) < 0.2, np.inf, rng.random(R)),
        capacity=np.where(rng.random(N) < 0.3, 0.6, 1.0), demand=1 + rng.random(R),
        decide_prob=_maybe_shared(rng, _chances(rng, (R, N))),
        pass_prob=_maybe_shared(rng, _chances(rng, (R, N))),
        leave_prob=_chances(rng, (2, N)) * 0.5, orphan_lapse_prob=_chances(rng, (R,)),
        refill_prob=_chances(rng, (R,)),
        contribute_prob=_maybe_shared(rng, _chances(rng, (R, N))),
        champion_prob=_chances(rng, (R,)),
        refuses=rng.random((R, N)) < 0.4, charging=rng.random(R) < 0.6,
        price=_maybe_shared(rng, np.where(rng.random((R, N)) < 0.3, 0.0,
                                          rng.random((R, N)) * 12_000)),
        service_value=np.where(rng.random(R) < 0.2, 0.0, rng.random(R) * 30_000),
        goodwill=rng.random(R) * 6_000, value_multiplier=np.where(rng.random(N) < 0.3, 1.3, 1.0),
        value_scale=0.5 + rng.random())
    u = rng.random((R, N))
    live = rng.random(R) < 0.8
    return ladder, champions, u, live, region, neighbours, rates


@SETTINGS
@given(ladder_cases())
def test_ladder_kernel_equals_its_reference(case: tuple[Any, ...]) -> None:
    """ladder_step moves every LA, champion and count exactly as the reference does."""
    ladder, champions, u, live, region, neighbours, rates = case
    fast = (ladder.copy(), champions.copy(), u.copy(), np.zeros((ladder.shape[0], 3)))
    slow = (ladder.copy(), champions.copy(), u.copy(), np.zeros((ladder.shape[0], 3)))
    _kernels.ladder_step(fast[0], fast[1], fast[2], live, region, neighbours, rates, fast[3])
    reference.ladder_step(slow[0], slow[1], slow[2], live, region, neighbours, rates, slow[3])
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    np.testing.assert_array_equal(fast[3], slow[3])  # joins, champion losses, orphan lapses


def _layout(rng: np.random.Generator, R: int, N: int, regions: int) -> TallyLayout:
    """A tally layout with whole-pound prices (the only kind the model lets a step keep)."""
    ofsted = rng.integers(0, 4, N).astype(np.int64)
    return TallyLayout(low_rated=ofsted >= 2,
                       prices=_maybe_shared(rng, rng.integers(0, 20_000, (R, N)).astype(float)),
                       ofsted=ofsted,
                       region_row=(Tally.GRADES + 4 + rng.integers(0, regions, N)).astype(
                           np.int64))


@SETTINGS
@given(ladder_cases(), st.integers(0, 2**32 - 1))
def test_tallied_ladder_step_equals_its_reference(case: tuple[Any, ...], seed: int) -> None:
    """ladder_step_tallied moves the ladder as ladder_step does, and the tally it keeps up to
    date is, to the bit, the tally counted afresh after the step."""
    ladder, champions, u, live, region, neighbours, rates = case
    R, N = ladder.shape
    layout = _layout(np.random.default_rng(seed), R, N, int(region.max()) + 1)
    rows = Tally.GRADES + 4 + int(region.max()) + 1
    tally = np.zeros((rows, R))
    _kernels.ladder_tally(ladder, champions, layout, tally)  # the counts before the step
    fast = (ladder.copy(), champions.copy(), np.zeros((R, 3)), tally.copy())
    slow = (ladder.copy(), champions.copy(), np.zeros((R, 3)), np.full_like(tally, np.nan))
    _kernels.ladder_step_tallied(fast[0], fast[1], u.copy(), live, region, neighbours, rates,
                                 fast[2], layout, fast[3])
    reference.ladder_step_tallied(slow[0], slow[1], u.copy(), live, region, neighbours, rates,
                                  slow[2], layout, slow[3])
    for a, b in zip(fast, slow, strict=True):  # ladder, champions, flows, tally
        np.testing.assert_array_equal(a, b)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 20), st.integers(1, 4))
def test_tally_kernel_equals_its_reference(seed: int, R: int, N: int, regions: int) -> None:
    """ladder_tally counts exactly what the reference's masks count."""
    rng = np.random.default_rng(seed)
    ladder = rng.integers(0, len(Ladder), (R, N)).astype(np.int8)
    champions = rng.integers(0, 3, (R, N)).astype(np.int8)
    ofsted = rng.integers(0, 4, N).astype(np.int64)
    layout = TallyLayout(low_rated=ofsted >= 2,
                         prices=_maybe_shared(rng, rng.integers(0, 20_000, (R, N)).astype(float)),
                         ofsted=ofsted,
                         region_row=(Tally.GRADES + 4 + rng.integers(0, regions, N)).astype(
                             np.int64))
    rows = Tally.GRADES + 4 + regions
    fast, slow = np.full((rows, R), np.nan), np.full((rows, R), np.nan)
    _kernels.ladder_tally(ladder, champions, layout, fast)
    reference.ladder_tally(ladder, champions, layout, slow)
    np.testing.assert_array_equal(fast, slow)


@st.composite
def portfolio_cases(draw: Any) -> tuple[Any, ...]:
    seed = draw(st.integers(0, 2**32 - 1))
    R, S = draw(st.integers(1, 4)), draw(st.integers(1, 8))
    dt = draw(st.sampled_from([1.0, 0.5, 0.25]))
    rng = np.random.default_rng(seed)
    status = rng.integers(0, len(ServiceStatus), (R, S)).astype(np.int8)
    effort = 1 + rng.random((R, S)) * 10  # per replicate: learning (§4.10)
    progress = np.where(rng.random((R, S)) < 0.5, effort * (0.5 + rng.random((R, S))), 0.0)
    delivery = np.where(rng.random(R) < 0.2, 0.0, rng.random(R) * 6)
    rates = PortfolioRates(
        maintenance_fte=rng.random(S), build_effort=effort, complexity=rng.random(S), dt=dt,
        debt_growth=rng.random() * 0.3, debt_repayment=rng.random() * 0.2,
        launch_failure_prob=_maybe_shared(rng, rng.random(R) * 0.2), strain=rng.random(),
        concurrency=rng.random() * 0.3, rework_share=rng.random(), incident_prob=rng.random(),
        reputation_step=float(-np.expm1(-dt / (1 + rng.random() * 10))),
        hit_failed=rng.random() * 0.2, hit_incident=rng.random() * 0.1,
        retirement_debt=float(draw(st.sampled_from([0.0, 0.3, 0.693, np.inf]))),
        retirement_months=float(draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))),
        hit_retired=rng.random() * 0.2)
    low_months = np.where(rng.random((R, S)) < 0.5, rng.random((R, S)) * 4, 0.0)
    return (status, progress, rng.random((R, S)) * 2, low_months, rng.random(R),
            rng.random((R, 2, S)), delivery, rng.random(R) < 0.8, rates)


@SETTINGS
@given(portfolio_cases())
def test_portfolio_kernel_equals_its_reference(case: tuple[Any, ...]) -> None:
    """portfolio_step builds, launches, accrues debt, retires and moves reputation exactly as
    the reference does."""
    status, progress, debt, low_months, reputation, u, delivery, operating, rates = case
    R = status.shape[0]
    fast = [status.copy(), progress.copy(), debt.copy(), low_months.copy(), reputation.copy(),
            np.zeros((R, 6))]
    slow = [status.copy(), progress.copy(), debt.copy(), low_months.copy(), reputation.copy(),
            np.zeros((R, 6))]
    _portfolio_kernel.portfolio_step(fast[0], fast[1], fast[2], fast[3], fast[4], u, delivery,
                                     operating, rates, fast[5])
    reference.portfolio_step(slow[0], slow[1], slow[2], slow[3], slow[4], u, delivery, operating,
                             rates, slow[5])
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_changed_kernel_rule_is_caught() -> None:
    """The comparison can fail: a reference with the champions' peer weight ignored differs
    from the kernel on a state where champions matter."""
    R, N = 1, 4
    ladder = np.array([[Ladder.UNAWARE, Ladder.CHAMPION, Ladder.CHAMPION, Ladder.UNAWARE]],
                      dtype=np.int8)
    champions = np.array([[0, 2, 2, 0]], dtype=np.int8)
    rates = LadderRates(
        aware_p=np.zeros(R), q=np.full(R, 1.0), dt=1.0, w_nation_per_la=1.0 / N,
        region_scale=np.zeros(1), neighbour_scale=0.0, champion_weight=3.0,
        lapsed_return_prob=np.zeros(R), start_rate=np.zeros(R), capacity=np.ones(N),
        demand=np.ones(R), decide_prob=np.zeros((R, N)), pass_prob=np.zeros((R, N)),
        leave_prob=np.zeros((2, N)), orphan_lapse_prob=np.zeros(R), refill_prob=np.zeros(R),
        contribute_prob=np.zeros((R, N)), champion_prob=np.zeros(R),
        refuses=np.zeros((R, N), dtype=bool), charging=np.zeros(R, dtype=bool),
        price=np.zeros((R, N)), service_value=np.zeros(R), goodwill=np.zeros(R),
        value_multiplier=np.ones(N), value_scale=1.0)
    # share = (3 + 3) / 4 = 1.5 → P(aware) = 1 − e^−1.5 ≈ 0.777; with weight 1 it is 0.393.
    u = np.full((R, N), 0.6)
    args = (np.ones(R, dtype=bool), np.zeros(N, dtype=np.int64), np.zeros((N, 0), dtype=np.int64))
    fast = ladder.copy()
    _kernels.ladder_step(fast, champions.copy(), u.copy(), *args, rates, np.zeros((R, 3)))
    broken = ladder.copy()
    reference.ladder_step(broken, champions.copy(), u.copy(), *args,
                          rates._replace(champion_weight=1.0), np.zeros((R, 3)))
    assert (fast[0] == Ladder.AWARE).sum() == 2
    assert not np.array_equal(fast, broken)
