"""Design points stacked in one batch (their values written per replicate into the compiled
parameters) give the numbers of points run alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import BASE, write_sweep

from sim.data import LAPopulation
from sim.experiments.runner import Chunk, SweepContext, fiscal_year_columns, run_chunk, stackable
from sim.experiments.sweepfile import get_path, load_sweep
from sim.model import PER_REPLICATE_PATHS, compile_parameters, is_per_replicate
from sim.scenario import load_scenario


def _ranges() -> list[tuple[str, float, float]]:
    """Every per-replicate parameter, around its value in the base scenario (or its default);
    whole-number parameters get whole-number bounds; one the base leaves unset (None: the seed
    count of calibration) is set, from 2 to 8."""
    base = load_scenario(BASE).model_dump()
    out = []
    for pattern in sorted(PER_REPLICATE_PATHS):
        path = pattern.replace("[*]", "[0]")
        if get_path(base, path) is None:
            out.append((path, 2.0, 8.0))
            continue
        whole = isinstance(get_path(base, path), int)
        value = float(get_path(base, path))
        if value == 0:
            low, high = 0.0, 0.5
        elif path.endswith(("_prob", "_share")) or "renewal_" in path and "sensitivity" in path:
            low, high = 0.6 * value, min(1.0, 1.3 * value)
        else:
            low, high = 0.6 * value, 1.4 * value
        out.append((path, float(round(low)), float(round(high))) if whole else (path, low, high))
    return out


def _context(folder: Path, las: LAPopulation, replicates: int, stack: bool, extra: str = ""):
    text = [f'name = "stacked"\nbase = "{BASE}"\nset = ["time.horizon_months=48"{extra}]\n'
            f'design = "random"\nsamples = 9\nreplicates = {replicates}\nseed = 5\n'
            'metrics = ["reserves_gbp", "members"]\n'
            'kpis = ["survival_prob_y5", "min_reserves_gbp", "members_y10", "leavers_total"]\n']
    for path, low, high in _ranges():
        text.append(f'[[parameters]]\npath = "{path}"\nlow = {low!r}\nhigh = {high!r}\n')
    sweep = load_sweep(write_sweep(folder, "\n".join(text)))
    scenario = sweep.scenario({})
    fiscal = fiscal_year_columns(scenario.time.start, scenario.time.horizon_months)
    return sweep, SweepContext(sweep=sweep, las=las, replicates=replicates, seed=5,
                               common_random_numbers=True, fiscal_years=tuple(fiscal),
                               stack_points=stack)


RENEWALS = (', "finance.grants[0].renewal_prob=0.5", "finance.grants[0].max_renewals=2", '
            '"finance.grants[0].renewal_months=12"')


@pytest.mark.parametrize(("replicates", "extra"), [(1, ""), (3, ""), (2, RENEWALS)])
def test_stacked_points_give_the_numbers_of_points_run_alone(
    tmp_path: Path, las: LAPopulation, replicates: int, extra: str
) -> None:
    """Every parameter the model takes per replicate, varied at once over nine design points
    (also with grant renewals, whose decision months follow each point's grant end): the
    chunk's table is the same to the bit whether the points share batches or not."""
    sweep, stacked = _context(tmp_path, las, replicates, stack=True, extra=extra)
    _, alone = _context(tmp_path, las, replicates, stack=False, extra=extra)
    assert stackable(sweep, True, False) and not stackable(sweep, False, False)
    assert stacked.stack_points and not alone.stack_points
    rng = np.random.default_rng(3)
    base = load_scenario(BASE).model_dump()
    whole = [isinstance(get_path(base, path), int) for path, _, _ in _ranges()]
    values = tuple(tuple(round(low + (high - low) * rng.random()) if w
                         else low + (high - low) * rng.random()
                         for (_, low, high), w in zip(_ranges(), whole, strict=True))
                   for _ in range(9))
    chunk = Chunk(index=0, points=tuple(range(9)), values=values)
    a, b = run_chunk(stacked, chunk), run_chunk(alone, chunk)
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert np.unique(a["min_reserves_gbp"]).size > 1  # the points do differ


def test_a_flat_subscription_price_stacks_too(tmp_path: Path, las: LAPopulation) -> None:
    """Without size bands every LA pays finance.subscription_gbp_per_year: five prices in one
    batch give the numbers of five points run alone, and each point's subscription income is
    its own price times a whole number of members (so each row used its own price; the host's
    reserves rule is off, so the price is the list price, which follows CPI at 5% a year from
    April 2027: × 1.05³ in 2029/30, docs/model.md §5.13). LAs are made willing to pay up to
    about £100,000, so every price has paying members."""
    text = (f'name = "flat"\nbase = "{BASE}"\nset = ["time.horizon_months=48", '
            '"finance.subscription_bands=[]", "finance.subscriptions_from_month=6", '
            '"finance.cpi_rates=[0.05]", '
            '"hosting.reserves_rule=none", "market.wtp_median_gbp_per_year=100000"]\n'
            'design = "random"\nsamples = 5\nreplicates = 2\nseed = 5\n'
            'metrics = ["income_subscriptions_gbp"]\nkpis = ["min_reserves_gbp", "members_y10"]\n'
            '[[parameters]]\npath = "finance.subscription_gbp_per_year"\nlow = 0.0\n'
            'high = 20000.0\n')
    sweep = load_sweep(write_sweep(tmp_path, text))
    scenario = sweep.scenario({})
    fiscal = fiscal_year_columns(scenario.time.start, scenario.time.horizon_months)
    contexts = [SweepContext(sweep=sweep, las=las, replicates=2, seed=5,
                             common_random_numbers=True, fiscal_years=tuple(fiscal),
                             stack_points=stack) for stack in (True, False)]
    chunk = Chunk(index=0, points=tuple(range(5)),
                  values=tuple((v,) for v in (0.0, 2500.0, 7500.0, 12000.0, 20000.0)))
    a, b = (run_chunk(c, chunk) for c in contexts)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    income = a[f"income_subscriptions_gbp_{fiscal[-1][0]}"]  # £ in the March, rows point-major
    price = np.repeat([v for (v,) in chunk.values], 2)
    assert (income[price == 0] == 0).all() and (income[price > 0] > 0).all()
    assert fiscal[-1][0] == "fy2029_30"
    members = income[price > 0] * 12 / (price[price > 0] * 1.05 ** 3)
    np.testing.assert_allclose(members, np.round(members), atol=1e-3)  # to the penny


def test_only_declared_parameters_may_differ_within_a_batch(las: LAPopulation) -> None:
    """A parameter the model reads as one value per batch is refused by name, with the
    allowed list; one value for the whole batch is accepted and used."""
    scenario = load_scenario(BASE)
    assert is_per_replicate("finance.grants[3].amount_gbp_per_year")
    assert not is_per_replicate("finance.grants[0].start_month")
    with pytest.raises(ValueError, match="finance.grants\\[0\\].start_month cannot differ"):
        compile_parameters(scenario, las, 2, {"finance.grants[0].start_month": np.array([0., 6.])})
    params = compile_parameters(scenario, las, 2, {"finance.grants[0].start_month": 6.0,
                                                   "uptake.q_per_year": np.array([0.1, 0.2])})
    assert params.finance.grants[0].start_month == 6
    np.testing.assert_array_equal(params.uptake.q_per_year, [0.1, 0.2])
    with pytest.raises(ValueError, match="not a model parameter"):
        compile_parameters(scenario, las, 2, {"uptake.no_such_rate": 1.0})
