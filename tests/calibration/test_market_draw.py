"""The calibrated market ceiling drawn by --parameter-uncertainty (issue #16, item 6): a drawn
plateau m sets the median willingness to pay at which a share m of LAs would pay the reference
scenario's prices (docs/model.md §2.10).

Checked against the lognormal's closed form (written out here with the standard library), the
extreme plateaus 0 and 1, and whole runs in which every LA that would pay is a member at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.data import LAPopulation
from sim.experiments.uncertainty import (
    load_parameter_distribution,
    market_median,
    reference_prices,
    run_with_parameter_uncertainty,
)
from sim.model.uptake import paying_share, wtp_median_for_share
from sim.scenario import Scenario, scenario_from_dict
from sim.scenario.drivers import REFERENCE_FILE
from tests.conftest import INSTANT_UPTAKE

SHIPPED_BANDS = {5000.0: 49, 7500.0: 89, 11000.0: 15}  # scenarios/base.toml, docs/evidence.md §11.1


def closed_share(prices: np.ndarray, median: float, sigma: float) -> float:
    """mean_i (1 − Φ(ln(p_i ÷ M) ÷ σ)), with the standard library's normal distribution."""
    return float(np.mean([1 - NormalDist().cdf(np.log(p / median) / sigma) for p in prices]))


def test_reference_prices_are_the_shipped_bands(las: LAPopulation) -> None:
    prices = reference_prices(las)
    values, counts = np.unique(prices, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == SHIPPED_BANDS
    assert REFERENCE_FILE.name == "base.toml"


def test_the_documented_28_percent_and_the_plateaus(las: LAPopulation) -> None:
    """The default median gives 28.4% at the shipped bands (docs/evidence.md §11.1), and the
    medians the docs quote for 26%, 36% and 37.5% give those shares."""
    prices = reference_prices(las)
    assert paying_share(prices, 5000.0, 0.49) == pytest.approx(closed_share(prices, 5000, 0.49))
    assert paying_share(prices, 5000.0, 0.49) == pytest.approx(0.284, abs=0.0005)
    for share, median in ((0.26, 4805), (0.36, 5617), (0.375, 5740)):
        assert market_median(share, 0.49, prices) == pytest.approx(median, abs=1.0)


@pytest.mark.parametrize("share", [0.001, 0.1, 0.26, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("sigma", [0.2, 0.49, 1.5])
def test_one_price_has_the_closed_form_and_bands_invert(share: float, sigma: float,
                                                         las: LAPopulation) -> None:
    """With one price P for every LA, median = P · exp(σ · Φ⁻¹(m)); with the bands the median
    found gives back the share (checked with the closed form, not the code's CDF)."""
    flat = np.full(153, 6000.0)
    expected = 6000.0 * np.exp(sigma * NormalDist().inv_cdf(share))
    assert wtp_median_for_share(share, flat, sigma) == pytest.approx(expected, rel=1e-8)
    prices = reference_prices(las)
    median = market_median(share, sigma, prices)
    assert closed_share(prices, median, sigma) == pytest.approx(share, abs=1e-8)


def test_extreme_plateaus(las: LAPopulation) -> None:
    """m = 0: a median of 0 (no LA pays any price); m → 0: a median far below every price;
    m = 1: the schema's top, £10m, far above every price (every LA pays); free LAs always pay;
    σ = 0: a step, the lowest price that reaches the share."""
    prices = reference_prices(las)
    assert market_median(0.0, 0.49, prices) == 0.0
    assert market_median(1e-9, 0.49, prices) < 0.1 * prices.min()
    assert market_median(1.0, 0.49, prices) == 1e7
    assert paying_share(prices, 1e7, 0.49) == pytest.approx(1.0, abs=1e-12)
    half_free = np.r_[np.zeros(50), np.full(50, 6000.0)]
    assert wtp_median_for_share(0.5, half_free, 0.49) == 0.0
    assert wtp_median_for_share(0.75, half_free, 0.49) == pytest.approx(6000.0)
    assert market_median(0.3, 0.0, prices) == 5000.0    # 49 of 153 pay at £5,000 (32%)
    assert market_median(0.33, 0.0, prices) == 7500.0
    with pytest.raises(ValueError, match="between 0 and 1"):
        market_median(1.5, 0.49, prices)


def everyone_joins_at_once(prices_from: int = 0) -> Scenario:
    """Every LA aware, approval instant and certain, no churn: paying members = the LAs whose
    willingness to pay reaches their price (docs/model.md §2.10, tests/model/test_market.py)."""
    return scenario_from_dict({
        "time": {"horizon_months": 12},
        "uptake": dict(INSTANT_UPTAKE),
        "finance": {"subscriptions_from_month": prices_from, "opening_reserves_gbp": 1e9,
                    "subscription_bands": [
                        {"name": n, "min_child_population": c, "price_gbp_per_year": p}
                        for n, c, p in (("small", 0, 5000.0), ("medium", 50_000, 7500.0),
                                        ("large", 150_000, 11_000.0))]}}, "<market test>")


def market_fit(folder: Path, shares: list[float]) -> Path:
    path = folder / "fit.json"
    path.write_text(json.dumps({"name": "market", "distribution": {
        "kind": "test", "parameters": ["uptake.q_per_year", "calibration.market_share"],
        "samples": [[0.4, m] for m in shares]}}), encoding="utf-8")
    return path


@pytest.mark.parametrize("share", [0.0, 0.002, 0.31, 1.0])
def test_a_drawn_plateau_is_the_runs_paying_share(share: float, tmp_path: Path,
                                                  las: LAPopulation) -> None:
    """In a run drawing m, the LAs that would pay (market_las) average N · m over 50
    replicates (binomial tolerance), and the record shows m and the median it set."""
    dist = load_parameter_distribution(market_fit(tmp_path, [share]))
    result, rows = run_with_parameter_uncertainty(everyone_joins_at_once(), las, 50, 4, [dist])
    market = result.metrics["market_las"][:, 0]
    np.testing.assert_array_equal(result.metrics["members"][:, 0], market)
    n = las.count
    assert abs(market.mean() - n * share) <= 4 * np.sqrt(n * share * (1 - share) / 50) + 1e-9
    if share == 0.0:
        assert market.max() == 0
    if share == 1.0:
        assert market.min() == n
    for row in rows:
        assert row["calibration.market_share"] == share
        assert row["market.wtp_median_gbp_per_year"] == pytest.approx(
            market_median(share, 0.49, reference_prices(las)))


def test_the_contextual_safeguarding_fit_draws_the_market(tmp_path: Path) -> None:
    """run --parameter-uncertainty on the shipped network fit: each group's median is the one
    its drawn m implies, inside the £4,800–£5,750 the docs give for m 0.26–0.375."""
    scenario = tmp_path / "short.toml"
    scenario.write_text('extends = "' + REFERENCE_FILE.as_posix() + '"\n[meta]\nname = "short"\n'
                        '[time]\nhorizon_months = 12\n', encoding="utf-8")
    fit = Path(__file__).resolve().parents[2] / "calibration/fitted/uptake_contextual_safeguarding"
    result = CliRunner().invoke(main, ["run", str(scenario), "-n", "100", "--out",
                                       str(tmp_path / "out"), "--parameter-uncertainty", str(fit)])
    assert result.exit_code == 0, result.output
    draws = pd.read_csv(next((tmp_path / "out").iterdir()) / "parameter_draws.csv")
    assert len(draws) == 4
    m, median = draws["calibration.market_share"], draws["market.wtp_median_gbp_per_year"]
    assert ((m > 0.2) & (m < 0.45)).all()
    assert ((median > 4300) & (median < 6500)).all()
    assert (np.diff(median[np.argsort(m)]) >= 0).all()  # a larger plateau, a higher median
