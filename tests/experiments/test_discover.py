"""Scenario discovery: PRIM finds a known box (sim.experiments) and the outputs layer says it in
plain words (sim.outputs.rules)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.experiments.discover import Restriction, discover, prim
from sim.files import write_json
from sim.outputs.rules import describe_restriction, discovery_outcome, discovery_rules


def _synthetic(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Cases where a > 0.6 and b < 0.3 (with 3% label noise); c and d are irrelevant."""
    rng = np.random.Generator(np.random.PCG64(seed))
    frame = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "c": rng.random(n),
                          "d": rng.choice(["x", "y"], n)})
    y = (frame["a"] > 0.6) & (frame["b"] < 0.3)
    flip = rng.random(n) < 0.03
    return frame, np.where(flip, ~y, y)


def test_prim_recovers_a_known_box() -> None:
    """The box a ≥ ~0.6, b ≤ ~0.3 comes back, with no condition on the irrelevant columns."""
    frame, y = _synthetic()
    box = prim(frame, y, ["a", "b", "c", "d"])
    by_column = {r.column: r for r in box.restrictions}
    assert set(by_column) == {"a", "b"}
    assert by_column["a"].low == pytest.approx(0.6, abs=0.05) and by_column["a"].high is None
    assert by_column["b"].high == pytest.approx(0.3, abs=0.05) and by_column["b"].low is None
    assert box.density > 0.85 and box.coverage >= 0.5
    assert box.rows == pytest.approx(0.4 * 0.3 * len(frame), rel=0.2)
    assert len(box.trajectory) > 5


def test_prim_peels_categories() -> None:
    """A categorical column is restricted to the category where cases are."""
    rng = np.random.Generator(np.random.PCG64(1))
    frame = pd.DataFrame({"policy": rng.choice(["gall", "big_bang", "fixed"], 3000),
                          "x": rng.random(3000)})
    y = (frame["policy"] == "gall").to_numpy() & (rng.random(3000) < 0.9)
    box = prim(frame, y, ["policy", "x"])
    assert box.restrictions == [Restriction("policy", categories=("gall",))]
    assert describe_restriction(box.restrictions[0], {"policy": "growth policy"}) == \
        "growth policy is gall"


def test_fiscal_year_columns_are_named_in_words() -> None:
    """A metric at a fiscal year end reads 'member LAs at the end of 2028/29'; a parameter keeps
    its label."""
    assert describe_restriction(Restriction("members_fy2028_29", low=70.0), {}) == \
        "member LAs at the end of 2028/29 ≥ 70"
    price = Restriction("x.y_gbp", low=1.0, high=2500.0)
    assert describe_restriction(price, {"x.y_gbp": "price"}) == "price is between £1 and £2,500"


def _folder(tmp_path: Path) -> Path:
    frame, y = _synthetic(2000)
    table = pd.DataFrame({"point": np.arange(2000) // 4, "replicate": np.arange(2000) % 4,
                          "finance.grants[0].end_month": np.round(frame["a"] * 48 + 24),
                          "finance.subscription_gbp_per_year": frame["b"] * 10000,
                          "survival_prob_y10": y.astype(float),
                          "members_fy2028_29": frame["c"] * 150})
    table.to_parquet(tmp_path / "results.parquet", index=False)
    write_json(tmp_path / "manifest.json", {"parameters": [
        {"path": "finance.grants[0].end_month", "label": "grant end month"},
        {"path": "finance.subscription_gbp_per_year", "label": "subscription £/year"}]})
    return tmp_path


def test_discover_speaks_plain_language(tmp_path: Path) -> None:
    """Rules read 'survives to year 10 in N% of runs when …' with coverage and density."""
    table = pd.read_parquet(_folder(tmp_path) / "results.parquet")
    manifest = {"parameters": [{"path": "finance.grants[0].end_month", "label": "grant end month"},
                               {"path": "finance.subscription_gbp_per_year",
                                "label": "subscription £/year"}]}
    found = discover(table, manifest, "survival_prob_y10", 0.8)
    assert found.binary and found.unit == "runs"
    assert discovery_outcome(found) == "survives to year 10"
    rule = discovery_rules(found)[0]
    assert rule.startswith("survives to year 10 in ")
    assert "of runs when " in rule
    assert "grant end month ≥ 5" in rule and "subscription £/year ≤ £" in rule
    assert "coverage" in rule and "density" in rule
    by_point = discover(table, manifest, "survival_prob_y10", 0.5, by="point",
                        extra_columns=["members_fy2028_29"])
    assert discovery_outcome(by_point) == "P(survives to year 10) ≥ 50%"
    assert "of design points when" in discovery_rules(by_point)[0]
    other = discover(table, manifest, "members_fy2028_29", 100.0)
    assert discovery_outcome(other) == "members_fy2028_29 ≥ 100"
    with pytest.raises(ValueError, match="did you mean 'survival_prob_y10'"):
        discover(table, manifest, "survival_prob_y01", 0.8)
    with pytest.raises(ValueError, match="nothing to discover"):
        discover(table, manifest, "survival_prob_y10", 2.0)


def test_discover_command(tmp_path: Path) -> None:
    """`discover FOLDER --kpi K --threshold T` prints numbered rules; bad input exits 2."""
    folder = _folder(tmp_path)
    result = CliRunner().invoke(main, ["discover", str(folder), "--kpi", "survival_prob_y10",
                                       "--threshold", "0.8", "--boxes", "2"])
    assert result.exit_code == 0, result.output
    assert "1. survives to year 10 in" in result.output
    bad = CliRunner().invoke(main, ["discover", str(folder), "--kpi", "nope", "--threshold", "1"])
    assert bad.exit_code == 2 and bad.output.startswith("error: ")
    missing = CliRunner().invoke(main, ["discover", str(tmp_path / "x"), "--kpi", "a",
                                        "--threshold", "1"])
    assert missing.exit_code == 2
