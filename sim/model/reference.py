"""Plain reference versions of the compiled kernels, written for reading, not for speed.

Each function takes the same arguments as its kernel (:mod:`sim.model._kernels`,
:mod:`sim.model._portfolio_kernel`) and does the same thing in ordinary Python, one replicate
and one LA (or service) at a time, following docs/model.md §2.2–2.10 and §4.1–4.9 step by step,
with none of the kernels' shortcuts (the ladder kernel's skip of LAs that cannot move, the
tally's interleaved histograms). The passes over the invoice book
(:mod:`sim.model._invoice_kernels`, docs/model.md §5.6) have whole-array numpy references
instead, the rules as finance.py once ran them. The tests check, on random states, that every
kernel gives exactly these numbers, to the bit: so the kernels can be made faster without
changing the model, and the model can be read here without reading compiled code.

Floating-point sums are taken in the same order as the kernels (addition is not associative);
that order is part of the specification.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model._invoice_kernels import NO_DUE, NOT_BILLED
from sim.model._kernels import LadderRates, TallyLayout
from sim.model._portfolio_kernel import PortfolioRates
from sim.model.codes import Ladder, ServiceStatus, Tally

__all__ = ["accrue", "collect", "ladder_step", "ladder_step_tallied", "ladder_tally",
           "portfolio_step", "raise_invoices", "recognise", "write_off"]


def _chance(hazard: float, dt: float) -> float:
    """P(an event with constant hazard happens within dt) = 1 − exp(−hazard · dt)."""
    return -math.expm1(hazard * -dt)


def _draw(u: float, p: float) -> tuple[bool, float]:
    """One Bernoulli test with uniform ``u``: (fired, ``u`` rescaled to be uniform again given
    the outcome) — ``u / p`` if it fired, ``(u − p) / (1 − p)`` if not (docs/model.md §2.2)."""
    if u < p:
        return True, u / p
    if p < 1.0:
        return False, (u - p) / (1.0 - p)
    return False, u


def _is_member(state: int) -> bool:
    return Ladder.MEMBER <= state <= Ladder.CHAMPION


def ladder_step(ladder: np.ndarray, champions: np.ndarray, u: np.ndarray, live: np.ndarray,
                region: np.ndarray, neighbours: np.ndarray, rates: LadderRates,
                out: np.ndarray) -> None:
    """One sub-step of the engagement ladder (docs/model.md §2.2–2.8), in place.

    Arguments as :func:`sim.model._kernels.ladder_step`.
    """
    R, N = ladder.shape
    dt = rates.dt
    out[:] = 0.0
    for r in range(R):
        if not live[r]:
            continue  # in a closed replicate nothing moves
        # §2.3: adopters at the start of the sub-step (a member or contributor counts 1, a
        # champion champion_peer_weight).
        adopters = [float(_is_member(ladder[r, j])) + (rates.champion_weight - 1.0)
                    * float(ladder[r, j] == Ladder.CHAMPION) for j in range(N)]
        in_region: dict[int, float] = {}
        for j in range(N):
            in_region[int(region[j])] = in_region.get(int(region[j]), 0.0) + adopters[j]
        national = sum(adopters) * rates.w_nation_per_la
        for i in range(N):
            state = int(ladder[r, i])
            ui = float(u[r, i])
            # §2.3 unaware → aware: hazard p + q · peer share.
            if state == Ladder.UNAWARE:
                share = national
                share = share + in_region[int(region[i])] * rates.region_scale[region[i]]
                near = 0.0
                for k in range(neighbours.shape[1]):
                    near += adopters[neighbours[i, k]]
                share = share + near * rates.neighbour_scale
                fired, ui = _draw(ui, _chance(rates.aware_p[r] + rates.q[r] * share, dt))
                if not fired:
                    u[r, i] = ui
                    continue
                state = Ladder.AWARE
            # §2.4 lapsed → aware after a mean delay.
            elif state == Ladder.LAPSED:
                fired, ui = _draw(ui, rates.lapsed_return_prob[r])
                if fired:
                    state = Ladder.AWARE
            # §2.5 aware → evaluating, faster with capacity and demand.
            if state == Ladder.AWARE:
                start = _chance(rates.start_rate[r] * rates.capacity[i] * rates.demand[r], dt)
                fired, ui = _draw(ui, start)
                if fired:
                    state = Ladder.EVALUATING
            # §2.6 evaluating → a decision; passed: member with one champion; else aware.
            # §2.10 while members pay, an LA whose willingness to pay is below its price never
            # passes.
            if state == Ladder.EVALUATING:
                decided, ui = _draw(ui, rates.decide_prob[r, i])
                if decided:
                    # §2.6 at a price, the pass rate is scaled by value for money:
                    # 1 − exp(−((value + goodwill) ÷ price) ÷ scale).
                    if rates.charging[r] and rates.refuses[r, i]:
                        passing = 0.0
                    else:
                        passing = rates.pass_prob[r, i]
                        if rates.price[r, i] > 0.0:
                            worth = (rates.service_value[r] * rates.value_multiplier[i]
                                     + rates.goodwill[r])
                            passing = passing * -math.expm1(
                                -(worth / rates.price[r, i]) / rates.value_scale)
                    passed, ui = _draw(ui, passing)
                    if passed:
                        state = Ladder.MEMBER
                        champions[r, i] = 1
                        out[r, 0] += 1.0
                    else:
                        state = Ladder.AWARE
            # §2.8 a member may lose a champion; with none left it lapses or is picked up.
            if _is_member(state) and champions[r, i] > 0:
                lost, ui = _draw(ui, rates.leave_prob[champions[r, i] - 1, i])
                if lost:
                    champions[r, i] -= 1
                    out[r, 1] += 1.0
                    if champions[r, i] == 0:
                        lapsing, ui = _draw(ui, rates.orphan_lapse_prob[r])
                        if lapsing:
                            state = Ladder.LAPSED
                            out[r, 2] += 1.0
                        else:
                            state = Ladder.MEMBER
                            champions[r, i] = 1
            # §2.8 a contributor or champion down to one champion finds a second.
            if state in (Ladder.CONTRIBUTOR, Ladder.CHAMPION) and champions[r, i] == 1:
                found, ui = _draw(ui, rates.refill_prob[r])
                if found:
                    champions[r, i] = 2
            # §2.8 member → contributor (a second champion), contributor → champion.
            if state == Ladder.MEMBER:
                fired, ui = _draw(ui, rates.contribute_prob[r, i])
                if fired:
                    state = Ladder.CONTRIBUTOR
                    champions[r, i] = 2
            if state == Ladder.CONTRIBUTOR:
                fired, ui = _draw(ui, rates.champion_prob[r])
                if fired:
                    state = Ladder.CHAMPION
            ladder[r, i] = state
            u[r, i] = ui


def ladder_step_tallied(ladder: np.ndarray, champions: np.ndarray, u: np.ndarray,
                        live: np.ndarray, region: np.ndarray, neighbours: np.ndarray,
                        rates: LadderRates, out: np.ndarray, layout: TallyLayout,
                        tally: np.ndarray) -> None:
    """:func:`ladder_step`, then ``tally`` counted afresh (:func:`ladder_tally`). Arguments as
    :func:`sim.model._kernels.ladder_step_tallied`."""
    ladder_step(ladder, champions, u, live, region, neighbours, rates, out)
    ladder_tally(ladder, champions, layout, tally)


def ladder_tally(ladder: np.ndarray, champions: np.ndarray, layout: TallyLayout,
                 out: np.ndarray) -> None:
    """The counts of the ladder per replicate (rows of :class:`~sim.model.codes.Tally`), by
    masks over the whole array. Arguments as :func:`sim.model._kernels.ladder_tally`."""
    member = (ladder >= Ladder.MEMBER) & (ladder <= Ladder.CHAMPION)
    low = layout.low_rated[None, :]
    out[:] = 0.0
    for state in Ladder:
        out[state] = (ladder == state).sum(axis=1)
    out[Tally.MEMBERS] = member.sum(axis=1)
    out[Tally.LOW_RATED_MEMBERS] = (member & low).sum(axis=1)
    out[Tally.LOW_RATED_REACHED] = ((ladder != Ladder.UNAWARE) & low).sum(axis=1)
    out[Tally.CHAMPIONS] = champions.astype(np.int64).sum(axis=1)
    out[Tally.ENGAGED] = (member & (ladder != Ladder.MEMBER)).sum(axis=1)
    out[Tally.MEMBER_PRICES] = np.where(member, layout.prices, 0.0).sum(axis=1)
    for grade in np.unique(layout.ofsted):
        out[Tally.GRADES + grade] = (member & (layout.ofsted == grade)[None, :]).sum(axis=1)
    for row in np.unique(layout.region_row):
        out[row] = (member & (layout.region_row == row)[None, :]).sum(axis=1)


def portfolio_step(status: np.ndarray, progress: np.ndarray, debt: np.ndarray,
                   low_months: np.ndarray, reputation: np.ndarray, u: np.ndarray,
                   delivery_fte: np.ndarray, operating: np.ndarray, rates: PortfolioRates,
                   out: np.ndarray) -> None:
    """One sub-step of the portfolio (docs/model.md §4.1–4.6, §4.9), in place.

    Arguments as :func:`sim.model._portfolio_kernel.portfolio_step`.
    """
    R, S = status.shape
    dt = rates.dt
    for r in range(R):
        F = float(delivery_fte[r])
        # §4.1 maintenance demand D of the live services; builds share what is left.
        D = 0.0
        building: list[int] = []
        for j in range(S):
            if status[r, j] == ServiceStatus.LIVE:
                D += rates.maintenance_fte[j]
            elif status[r, j] == ServiceStatus.BUILDING:
                building.append(j)
        complexity_building = 0.0
        for j in building:
            complexity_building += rates.complexity[j]
        if F > 0:
            utilisation = min(D / max(F, 1e-12), 2.0)
        else:
            utilisation = 2.0 if D > 0 else 0.0
        share = max(F - D, 0.0) / max(len(building), 1) if building else 0.0
        launches = failed = incidents = retired = 0.0
        reliabilities: list[float] = []
        # §4.1 maintenance is staffed in service order: each live service takes what it needs
        # of the delivery FTE the services before it left.
        unstaffed = F
        for j in range(S):
            was_live = status[r, j] == ServiceStatus.LIVE
            # §4.2 building.
            if status[r, j] == ServiceStatus.BUILDING:
                progress[r, j] += share * dt
            # §4.3 technical debt of live services, from the service's own cover.
            before = float(debt[r, j])
            if was_live:
                need = rates.maintenance_fte[j]
                if need > 0:
                    cover = min(1.0, unstaffed / need)
                    unstaffed = max(unstaffed - need, 0.0)
                else:
                    cover = 1.0
                change = (rates.debt_growth * (1 - cover)
                          - rates.debt_repayment * cover * before)
                debt[r, j] = max(before + change * dt, 0.0)
            # §4.4 a finished build launches, or fails and loses part of its progress.
            if (status[r, j] == ServiceStatus.BUILDING
                    and progress[r, j] >= rates.build_effort[r, j] and operating[r]):
                others = complexity_building - rates.complexity[j]
                chance = rates.complexity[j] * (rates.launch_failure_prob[r]
                                                + rates.strain * utilisation
                                                + rates.concurrency * others)
                if u[r, 0, j] < min(max(chance, 0.0), 0.95):
                    failed += 1.0
                    progress[r, j] *= 1 - rates.rework_share
                else:
                    launches += 1.0
                    status[r, j] = ServiceStatus.LIVE
                    debt[r, j] = 0.0
            reliability = math.exp(-debt[r, j])
            # §4.5 incidents on services that were live before this step's launches.
            if was_live and operating[r]:
                if u[r, 1, j] < 1.0 - (1.0 - rates.incident_prob * (1 - reliability)) ** dt:
                    incidents += 1.0
            # §4.9 a live service below the retirement floor (debt above retirement_debt =
            # −ln floor) for retirement_months is retired: planned again, its progress and debt
            # cleared. Time below counts from the crossing on the straight-line debt path.
            after = float(debt[r, j])
            if was_live and operating[r] and after > rates.retirement_debt:
                if before > rates.retirement_debt:
                    low_months[r, j] += dt
                else:
                    low_months[r, j] += dt * ((after - rates.retirement_debt) / (after - before))
                if low_months[r, j] >= rates.retirement_months:
                    retired += 1.0
                    status[r, j] = ServiceStatus.PLANNED
                    progress[r, j] = 0.0
                    debt[r, j] = 0.0
                    low_months[r, j] = 0.0
            else:
                low_months[r, j] = 0.0
            if status[r, j] == ServiceStatus.LIVE:
                reliabilities.append(reliability)
        # §4.6 reputation moves toward the mean reliability, minus the hits.
        total = 0.0
        for value in reliabilities:
            total += value
        target = total / len(reliabilities) if reliabilities else reputation[r]
        value = reputation[r] + (target - reputation[r]) * rates.reputation_step
        value -= (rates.hit_failed * failed + rates.hit_incident * incidents
                  + rates.hit_retired * retired)
        reputation[r] = min(max(value, 0.0), 1.0)
        out[r] = (launches, failed, incidents, D, utilisation, retired)


# ----------------------------------------------------------------------------- invoice book
# The rules of the subscription invoice book (docs/model.md §5.6) in whole-array numpy, as
# finance.py ran them before the passes of sim/model/_invoice_kernels.py; same arguments.


def _pennies(x: np.ndarray) -> np.ndarray:
    return np.round(x, 2)


def _members(ladder: np.ndarray) -> np.ndarray:
    return (ladder >= Ladder.MEMBER) & (ladder <= Ladder.CHAMPION)


def write_off(ladder: np.ndarray, operating: np.ndarray, amount: np.ndarray,
              billed_for: np.ndarray, paid: np.ndarray, recognised: np.ndarray,
              pending: np.ndarray, lost: np.ndarray, billed: np.ndarray) -> tuple[int, bool]:
    """Leavers' invoices written off. Arguments as :func:`sim.model._invoice_kernels.
    write_off`."""
    r, n = np.nonzero(billed_for != NOT_BILLED)
    gone = ~(_members(ladder[r, n]) & operating[r])
    r, n = r[gone], n[gone]
    np.subtract.at(billed, r, 1)
    owed = amount[r, n].sum(axis=1)
    np.add.at(lost, r, owed)
    amount[r, n] = 0.0
    billed_for[r, n] = NOT_BILLED
    np.add.at(pending, r, np.maximum(paid[r, n] - recognised[r, n], 0.0))
    paid[r, n] = 0.0
    recognised[r, n] = 0.0
    return int(gone.sum()), bool(owed.any())


def collect(ladder: np.ndarray, operating: np.ndarray, amount: np.ndarray, due: np.ndarray,
            paid: np.ndarray, month: int, bad_debt_share: np.ndarray, slot: int,
            unpaid: np.ndarray, received: np.ndarray, next_due: np.ndarray) -> int:
    """Members' invoices due by ``month`` collected. Arguments as :func:`sim.model.
    _invoice_kernels.collect`."""
    looked = operating & (next_due <= month)
    r, n, k = np.nonzero((amount > 0) & (due <= month))
    due_now = _members(ladder[r, n]) & looked[r]
    r, n, k = r[due_now], n[due_now], k[due_now]
    owed = amount[r, n, k]
    cash = _pennies(owed * (1.0 - bad_debt_share[r]))
    np.add.at(unpaid, r, owed - cash)
    amount[r, n, k] = 0.0
    this_year = k == slot
    paid[r[this_year], n[this_year]] += cash[this_year]
    np.add.at(received, r, cash)
    next_due[looked] = np.where(amount[looked] != 0.0, due[looked], NO_DUE).min(
        axis=(1, 2), initial=NO_DUE)
    return int(due_now.sum())


def raise_invoices(ladder: np.ndarray, charging: np.ndarray, first: int, left: int, slot: int,
                   due_month: int, prices: np.ndarray, price_factor: np.ndarray,
                   price_index: float, amount: np.ndarray, due: np.ndarray,
                   billed_for: np.ndarray, paid: np.ndarray, recognised: np.ndarray,
                   covers: np.ndarray, invoiced: np.ndarray, billed: np.ndarray,
                   next_due: np.ndarray) -> int:
    """Members not yet billed for the year invoiced. Arguments as :func:`sim.model.
    _invoice_kernels.raise_invoices`."""
    new = _members(ladder) & charging[:, None] & (billed_for != first)
    billed += (new & (billed_for == NOT_BILLED)).sum(axis=1)
    rows = new.any(axis=1)
    next_due[rows] = np.minimum(next_due[rows], due_month)
    price = prices * (price_factor[:, None] * price_index)
    value = np.where(new, _pennies(price * (left / 12.0)), 0.0)
    amount[:, :, slot] += value
    due[:, :, slot] = np.where(new, due_month, due[:, :, slot])
    billed_for[new] = first
    paid[new] = 0.0
    recognised[new] = 0.0
    covers[new] = left
    invoiced += value
    return int(new.sum())


def recognise(paid: np.ndarray, billed_for: np.ndarray, covers: np.ndarray,
              recognised: np.ndarray, first: int, now: float, steps: np.ndarray,
              billed: np.ndarray) -> None:
    """Payments for the year earned up to ``now``. Arguments as :func:`sim.model.
    _invoice_kernels.recognise` (``billed`` unused: the kernel's row skip)."""
    r, n = np.nonzero((paid > 0) & (billed_for == first))
    cover = covers[r, n]
    served = np.clip(now - (first + 12 - cover), 0.0, cover)
    step = np.maximum(_pennies(paid[r, n] * served / cover) - recognised[r, n], 0.0)
    recognised[r, n] += step
    np.add.at(steps, r, step)


def accrue(ladder: np.ndarray, operating: np.ndarray, amount: np.ndarray,
           billed_for: np.ndarray, first: int, prices: np.ndarray, price_factor: np.ndarray,
           price_index: float, owed: np.ndarray, unearned: np.ndarray, billed: np.ndarray,
           next_due: np.ndarray) -> None:
    """What members owe and the year's price of those billed for it. Arguments as
    :func:`sim.model._invoice_kernels.accrue` (``billed`` and ``next_due`` unused: the
    kernel's row skips)."""
    r, n = np.nonzero(billed_for != NOT_BILLED)
    member = _members(ladder[r, n]) & operating[r]
    r, n = r[member], n[member]
    np.add.at(owed, r, amount[r, n].sum(axis=1))
    billed = billed_for[r, n] == first
    rb, nb = r[billed], n[billed]
    np.add.at(unearned, rb, prices[rb, nb] * (price_factor[rb] * price_index))
