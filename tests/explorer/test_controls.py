"""The explorer's controls: values on screen → scenario → results, and the saved file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim import api
from sim.cli import main
from sim.explorer import (
    CONTROLS,
    Explorer,
    base_values,
    create_app,
    explored_scenario,
    explored_toml,
    render,
)
from sim.explorer.controls import explored_patch, hover_text
from sim.outputs.paired import paired_differences
from sim.scenario import load_scenario
from tests.explorer.conftest import ADAPTIVE, BLOCK_SIZE, LA_HOSTED, NO_BANDS, REPLICATES, SEED


def _without_meta(scenario: object) -> dict:
    dumped = scenario.model_dump(mode="json")  # type: ignore[attr-defined]
    dumped.pop("meta")
    dumped.pop("extends", None)
    return dumped


def test_unchanged_controls_change_nothing() -> None:
    """The base file's own values make an empty patch and the same scenario (but its name)."""
    base = load_scenario(LA_HOSTED)
    values = base_values(base)
    assert explored_patch(base, values) == {}
    explored, _ = explored_scenario(LA_HOSTED, base, values)
    assert explored.meta.name == "la_hosted_explored"
    assert _without_meta(explored) == _without_meta(base)


def test_each_control_sets_its_scenario_key() -> None:
    """Every slider and picker lands on the schema key it names, and on nothing else."""
    base = load_scenario(ADAPTIVE)
    values = base_values(base)
    start = base.finance.grants[0].start_month
    changed = {**values, "grant_amount": 400_000, "grant_length": 60, "price_1": 9_000,
               "wtp_median": 6_500, "turnover": 0.25, "growth": "big_bang", "policies": [1, 3]}
    explored, _ = explored_scenario(ADAPTIVE, base, changed)
    assert explored.finance.grants[0].amount_gbp_per_year == 400_000
    assert explored.finance.grants[0].end_month == start + 60
    assert explored.finance.grants[1:] == base.finance.grants[1:]
    prices = [b.price_gbp_per_year for b in explored.finance.subscription_bands]
    assert prices == [base.finance.subscription_bands[0].price_gbp_per_year, 9_000,
                      base.finance.subscription_bands[2].price_gbp_per_year]
    assert explored.market.wtp_median_gbp_per_year == 6_500
    assert explored.workforce.resignation_rate_per_year == 0.25
    assert explored.portfolio.policy == "big_bang"
    assert explored.policies == (base.policies[1], base.policies[3])
    none, _ = explored_scenario(ADAPTIVE, base, {**values, "policies": []})
    assert none.policies == ()
    assert _without_meta(none) | {"policies": []} == _without_meta(base) | {"policies": []}


def test_price_without_bands_sets_the_single_subscription() -> None:
    """A scenario without subscription bands: the first price slider is the one price."""
    base = load_scenario(NO_BANDS)
    values = base_values(base)
    assert values["price_1"] is None and values["price_2"] is None
    explored, _ = explored_scenario(NO_BANDS, base, {**values, "price_0": 1_234})
    assert explored.finance.subscription_gbp_per_year == 1_234
    assert explored.finance.subscription_bands == ()


def test_every_control_explains_unit_range_and_source() -> None:
    """Each control's hover text carries the schema's unit, range, source and meaning."""
    for control in CONTROLS:
        text = hover_text(control)
        assert "unit:" in text and "schema range:" in text and "source:" in text, control.id


def test_saved_file_validates_and_reproduces_the_screen(explorer: Explorer,
                                                        tmp_path: Path) -> None:
    """The saved TOML names its base by extends, holds only the changed keys, passes
    `validate`, and `run` of it with the same seed and block size gives the screen's KPIs to
    the bit (and the default block size other numbers)."""
    base = explorer.scenario(LA_HOSTED)
    values = {**base_values(base), "wtp_median": 7_000, "turnover": 0.2}
    text = explored_toml(LA_HOSTED, base, values)
    assert 'extends = "builtin:la_hosted"' in text
    assert "wtp_median_gbp_per_year = 7000.0" in text and "[finance" not in text
    saved = tmp_path / "la_hosted_explored.toml"
    saved.write_text(text, encoding="utf-8")
    runner = CliRunner()
    checked = runner.invoke(main, ["validate", str(saved)])
    assert checked.exit_code == 0 and checked.output.startswith("ok:"), checked.output

    screen = explorer.screen(str(LA_HOSTED), values, (str(LA_HOSTED), None))
    shown = screen.results.ensembles[1].kpis
    again = api.run(load_scenario(saved), REPLICATES, SEED,
                    block_size=BLOCK_SIZE).ensembles[0].kpis
    assert list(shown) == list(again)
    for kpi, column in shown.items():
        assert np.array_equal(column, again[kpi], equal_nan=True), kpi
    one_block = api.run(load_scenario(saved), REPLICATES, SEED).ensembles[0].kpis
    assert not np.array_equal(shown["min_reserves_gbp"], one_block["min_reserves_gbp"])

    out = tmp_path / "out"
    ran = runner.invoke(main, ["run", str(saved), "-n", str(REPLICATES), "--seed", str(SEED),
                               "--block-size", str(BLOCK_SIZE), "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    summary = json.loads(next(out.glob("*/summary.json")).read_text())["la_hosted_explored"]
    for kpi in ("survival_prob_y10", "members_y10", "min_reserves_gbp"):
        for stat in ("mean", "p50"):
            cli, ours = summary[kpi][stat], screen.data.summary["la_hosted_explored"][kpi][stat]
            assert (cli is None and ours != ours) or cli == ours, (kpi, stat)


def test_unchanged_screen_differs_by_nothing_run_by_run(explorer: Explorer) -> None:
    """Common random numbers: the base file and its unchanged explored copy agree in every
    run, so every paired difference is exactly zero."""
    values = base_values(explorer.scenario(LA_HOSTED))
    screen = explorer.screen(str(LA_HOSTED), values, (str(LA_HOSTED), None))
    paired = paired_differences(screen.data, screen.baseline)
    assert len(paired) and (paired["mean"] == 0).all()
    assert (paired["share_higher"] == 0).all() and (paired["share_lower"] == 0).all()


def test_a_lower_grant_never_raises_the_lowest_reserves(explorer: Explorer) -> None:
    """Extreme condition: with no grant at all, the lowest reserves of the median run are
    no higher than with the grant (same runs, common random numbers)."""
    values = base_values(explorer.scenario(LA_HOSTED))
    screen = explorer.screen(str(LA_HOSTED), {**values, "grant_amount": 0},
                             (str(LA_HOSTED), None))
    base, new = screen.baseline, screen.explored
    assert screen.data.kpi(new, "min_reserves_gbp") <= screen.data.kpi(base, "min_reserves_gbp")


def test_callback_shows_the_summary_numbers(explorer: Explorer) -> None:
    """The update callback returns the headline, four figures, the scorecard and the paired
    table; the numbers shown are the ensemble's summary values."""
    values = {**base_values(explorer.scenario(ADAPTIVE)), "policies": []}
    out = render(explorer, str(ADAPTIVE), values, {"file": str(ADAPTIVE), "values": None})
    assert len(out) == 9
    headline = str(out[0])
    screen = explorer.screen(str(ADAPTIVE), values, (str(ADAPTIVE), None))
    value = screen.data.summary[screen.explored]["min_reserves_gbp"]["p50"]
    assert repr(value) in headline
    for figure in out[1:5]:
        assert len(figure["data"]) > 0 and figure["layout"]["title"]["text"]


def test_pinned_baseline_keeps_its_own_settings(explorer: Explorer) -> None:
    """A pinned baseline runs with its settings, under a name of its own."""
    values = base_values(explorer.scenario(LA_HOSTED))
    pinned = {**values, "turnover": 0.3}
    screen = explorer.screen(str(LA_HOSTED), values, (str(LA_HOSTED), pinned))
    assert screen.baseline == "la_hosted_baseline"
    baseline = screen.results.ensembles[0].scenario
    assert baseline.workforce.resignation_rate_per_year == 0.3


def test_explore_refuses_a_bad_scenario_in_one_line(tmp_path: Path) -> None:
    """A bad scenario file stops explore before it starts: one line, exit code 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "builtin:la_hosted"\n[market]\nwtp_median_gbp_per_year = -1\n')
    result = CliRunner().invoke(main, ["explore", str(bad)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "wtp_median_gbp_per_year" in result.output


def test_a_bad_value_is_reported_not_run(explorer: Explorer) -> None:
    """A value the schema refuses (a negative price typed into a slider's box) leaves the
    charts as they were and says which key and rule in the status line."""
    values = {**base_values(explorer.scenario(LA_HOSTED)), "price_0": -5}
    out = render(explorer, str(LA_HOSTED), values, {"file": str(LA_HOSTED), "values": None})
    assert out[7].startswith("Not run: ") and "price_gbp_per_year" in out[7]
    assert "must be greater than or equal to 0, got -5" in out[7]


def test_structure_diagram_is_served_only_when_present(explorer: Explorer, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """/structure.svg serves docs/structure.svg when it exists, else answers 404."""
    from sim.explorer import app as page

    client = create_app(explorer).server.test_client()
    monkeypatch.setattr(page, "STRUCTURE_SVG", tmp_path / "absent.svg")
    assert client.get("/structure.svg").status_code == 404
    drawn = tmp_path / "structure.svg"
    drawn.write_text('<svg xmlns="http://www.w3.org/2000/svg"></svg>', encoding="utf-8")
    monkeypatch.setattr(page, "STRUCTURE_SVG", drawn)
    answer = client.get("/structure.svg")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    assert answer.data == drawn.read_bytes()


def test_explore_refuses_a_port_in_use_in_one_line() -> None:
    """A port something already listens on stops explore before the model loads: exit 2."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["explore", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and f"127.0.0.1:{port} is in use" in result.output
