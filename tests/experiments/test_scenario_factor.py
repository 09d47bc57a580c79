"""A sweep whose factor is a list of scenario files: validation, the crossed design, numbers
equal to running each scenario alone, and the winners table checked against known means."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_helpers import ROOT, write_sweep

from sim import api
from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.experiments.design import build_design
from sim.experiments.sweepfile import SCENARIO_FACTOR, load_sweep
from sim.outputs.winners import TIE, winners_table
from sim.scenario import ScenarioError, load_scenario

SCENARIOS = ROOT / "scenarios"
LA = (SCENARIOS / "la_hosted.toml").as_posix()
GOV = (SCENARIOS / "government_hosted.toml").as_posix()

FACTOR = f"""
name = "models"
set = ["time.horizon_months=24"]
design = "grid"
replicates = 6
seed = 4242
kpis = ["survival_prob_y5", "min_reserves_gbp", "viable_months"]

[[parameters]]
path = "scenario"
label = "delivery model"
values = ["{LA}", "{GOV}"]

[[parameters]]
path = "market.wtp_median_gbp_per_year"
values = [2500.0, 10000.0]

[[parameters]]
path = "finance.grants[0].amount_gbp_per_year"
values = [400000.0, 900000.0]

[map]
kpi = "viable_months"
"""


def test_each_design_point_starts_from_its_own_scenario(tmp_path: Path) -> None:
    """The factor's values are whole scenarios: a point takes its file's values, then the
    other parameters and the sweep's ``set`` on top; names come from ``meta.name``."""
    sweep = load_sweep(write_sweep(tmp_path, FACTOR))
    assert dict(sweep.titles) == {LA: "la_hosted", GOV: "government_hosted"}
    gov = sweep.scenario({SCENARIO_FACTOR: GOV, "market.wtp_median_gbp_per_year": 2500.0})
    assert gov.hosting.model == "government_hosted" and gov.finance.core_budget_gbp_per_year > 0
    assert gov.market.wtp_median_gbp_per_year == 2500.0 and gov.time.horizon_months == 24
    la = sweep.scenario({SCENARIO_FACTOR: LA})
    assert la.hosting.model == "la_hosted" and la.finance.core_budget_gbp_per_year == 0
    assert sweep.map_axes() == ("market.wtp_median_gbp_per_year",
                                "finance.grants[0].amount_gbp_per_year", "viable_months")


def test_a_sampled_design_runs_every_scenario_at_every_sample(tmp_path: Path) -> None:
    """With a Latin hypercube, each sampled point of the other parameters is run under every
    scenario: points = samples × scenarios, and a sample's values are the same for each."""
    text = (FACTOR.replace('design = "grid"', 'design = "lhs"\nsamples = 5')
            .replace("values = [2500.0, 10000.0]", "low = 2500.0\nhigh = 10000.0")
            .replace("values = [400000.0, 900000.0]", "low = 400000.0\nhigh = 900000.0"))
    design = build_design(load_sweep(write_sweep(tmp_path, text)))
    assert len(design) == 10
    assert design[SCENARIO_FACTOR].tolist() == [LA, GOV] * 5
    pairs = design.drop(columns=["point", SCENARIO_FACTOR]).to_numpy()
    np.testing.assert_array_equal(pairs[0::2], pairs[1::2])
    assert len(np.unique(pairs[0::2], axis=0)) == 5


def test_the_sweep_gives_each_scenario_its_own_numbers(tmp_path: Path, las: LAPopulation) -> None:
    """Under common random numbers every row equals running that scenario alone with the same
    seed and overrides, to the bit; and winners.csv holds the mean of exactly those rows."""
    done = api.sweep(write_sweep(tmp_path, FACTOR), tmp_path / "out", executor="serial")
    results = done.results
    assert len(results) == 8 * 6
    for value in (LA, GOV):
        alone = run_ensemble(load_scenario(value, ["time.horizon_months=24",
                                                   "market.wtp_median_gbp_per_year=10000.0",
                                                   "finance.grants[0].amount_gbp_per_year=400000.0"]),
                             las, 6, 4242)
        rows = results[(results[SCENARIO_FACTOR] == value)
                       & (results["market.wtp_median_gbp_per_year"] == 10000.0)
                       & (results["finance.grants[0].amount_gbp_per_year"] == 400000.0)]
        for kpi in ("min_reserves_gbp", "viable_months"):
            np.testing.assert_array_equal(rows.sort_values("replicate")[kpi].to_numpy(),
                                          alone.kpis[kpi])
    table = pd.read_csv(done.folder / "winners.csv")
    assert len(table) == 4
    for row in table.itertuples(index=False):
        values = dict(zip(table.columns, row, strict=True))
        for value, title in ((LA, "la_hosted"), (GOV, "government_hosted")):
            mask = ((results[SCENARIO_FACTOR] == value)
                    & (results["market.wtp_median_gbp_per_year"]
                       == values["market.wtp_median_gbp_per_year"])
                    & (results["finance.grants[0].amount_gbp_per_year"]
                       == values["finance.grants[0].amount_gbp_per_year"]))
            assert values[f"mean {title}"] == pytest.approx(
                results[mask]["viable_months"].mean(), rel=1e-5)  # written to 6 figures
    assert (done.folder / "winners.png").is_file() and (done.folder / "winners.svg").is_file()
    assert (done.folder / "base.resolved.government_hosted.toml").is_file()


def test_the_winner_is_the_highest_mean_and_a_shared_top_is_a_tie() -> None:
    """Known means: at x = 1, b (0.8) beats a (0.2) by 0.6; at x = 2 both average 0.5."""
    results = pd.DataFrame({
        "scenario": ["fa", "fa", "fb", "fb"] * 2,
        "x": [1, 1, 1, 1, 2, 2, 2, 2],
        "k": [0.0, 0.4, 0.6, 1.0, 0.5, 0.5, 0.0, 1.0],
    })
    table = winners_table(results, "scenario", ["x"], "k", {"fa": "a", "fb": "b"})
    assert table["winner"].tolist() == ["b", TIE]
    assert table["best"].tolist() == pytest.approx([0.8, 0.5])
    assert table["margin"].tolist() == pytest.approx([0.6, 0.0])
    assert table["mean a"].tolist() == pytest.approx([0.2, 0.5])


@pytest.mark.parametrize("old, new, where", [
    ('name = "models"', f'name = "models"\nbase = "{LA}"', "base"),
    (f'values = ["{LA}", "{GOV}"]', "values = [1, 2]", "parameters[0].values"),
    (f'"{GOV}"', '"nowhere.toml"', "parameters[0].values[1]"),
    ('kpi = "viable_months"', 'x = "hosting.cut_share"', "map.x"),
    ('kpi = "viable_months"', 'kpi = "members_y10"', "map.kpi"),
])
def test_a_bad_scenario_factor_gets_one_clear_error(tmp_path: Path, old: str, new: str,
                                                     where: str) -> None:
    """Both a base and a factor; a factor that is not files; a missing file; a map axis that
    is not a parameter; a map KPI the sweep does not collect."""
    with pytest.raises(ScenarioError) as caught:
        load_sweep(write_sweep(tmp_path, FACTOR.replace(old, new)))
    assert f": {where} " in str(caught.value), str(caught.value)


def test_two_scenarios_with_one_name_are_refused(tmp_path: Path) -> None:
    """Their columns and files would collide: the second is named in the error."""
    same = tmp_path / "same.toml"
    same.write_text(f'extends = "{GOV}"\n[meta]\nname = "la_hosted"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="need different names") as caught:
        load_sweep(write_sweep(tmp_path, FACTOR.replace(f'"{GOV}"', f'"{same.as_posix()}"')))
    assert caught.value.path == "parameters[0].values[1]"


def test_scenarios_of_one_sweep_share_a_calendar(tmp_path: Path) -> None:
    """A scenario with another horizon is refused, naming its entry and both calendars."""
    short = tmp_path / "short.toml"
    short.write_text(f'extends = "{GOV}"\n[meta]\nname = "short"\n[time]\nhorizon_months = 60\n',
                     encoding="utf-8")
    text = (FACTOR.replace('set = ["time.horizon_months=24"]', "set = []")
            .replace(f'"{GOV}"', f'"{short.as_posix()}"'))
    with pytest.raises(ScenarioError, match="share one calendar") as caught:
        load_sweep(write_sweep(tmp_path, text))
    assert caught.value.path == "parameters[0].values[1]"


def test_discovery_names_each_model_by_its_scenario_name() -> None:
    """PRIM's rules on a scenario factor name the models (``meta.name``), not their files."""
    from sim.experiments.discover import discover

    rng = np.random.default_rng(3)
    files = ["../x/council.toml", "../x/unit.toml"]
    table = pd.DataFrame({"point": np.repeat(np.arange(40), 5),
                          "scenario": np.repeat([files[i % 2] for i in range(40)], 5),
                          "p": np.repeat(rng.random(40), 5)})
    table["k"] = (table["scenario"] == files[1]).astype(float)
    manifest = {"parameters": [{"path": "scenario", "label": "delivery model"},
                               {"path": "p", "label": "p"}],
                "scenarios": {files[0]: "council", files[1]: "unit"}}
    found = discover(table, manifest, "k", 0.5)
    shown = repr(found.boxes[0].restrictions)
    assert "unit" in shown and ".toml" not in shown
