"""The board page of a comparison of ten or more delivery models: charts wrap into a grid, the
ranked table follows the lead KPI in kpis.parquet, titles come from meta, and a bad driver path
is refused."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.outputs import load_run, scorecard_rows
from sim.outputs.boardpack import A4_LANDSCAPE, _pieces, front_pages
from sim.outputs.chart_cliff import funding_cliff_chart
from sim.outputs.chart_trends import growth_chart, survival_chart
from sim.outputs.ranking import RANK_KPIS, ranked_rows, ranking
from sim.outputs.style import grid_shape, panel_grid
from sim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.fixture(scope="module")
def board_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`compare scenarios/*.toml --report`: the ten shipped models, 20 replicates, 5 years (so
    viable_prob_y5 is defined and ranks them)."""
    assert len(SHIPPED) >= 10
    out = tmp_path_factory.mktemp("board")
    result = CliRunner().invoke(main, ["compare", *map(str, SHIPPED), "-n", "20", "--seed", "5",
                                       "--set", "time.horizon_months=60", "--report",
                                       "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def test_grid_shape_wraps_at_four_columns() -> None:
    """n panels fill at most four columns and as few rows as that allows."""
    for n in range(1, 25):
        rows, cols = grid_shape(n)
        assert cols <= 4 and rows * cols >= n and (rows - 1) * cols < n
    assert grid_shape(3) == (1, 3) and grid_shape(10) == (3, 4) and grid_shape(20) == (5, 4)


def test_cliff_chart_of_ten_models_wraps_into_rows(board_folder: Path) -> None:
    """The funding-cliff blocks of ten models sit in at least two rows of at most four."""
    data = load_run(board_folder)
    for build in (funding_cliff_chart, survival_chart, growth_chart):
        chart = build(data)
        rows, cols = panel_grid(chart.figure)
        plt.close(chart.figure)
        assert (rows, cols) == grid_shape(len(data.scenarios)), chart.name
        assert rows >= 2 and cols <= 4, chart.name
        assert len(chart.cuts) == rows - 1 and list(chart.cuts) == sorted(chart.cuts)
        assert all(0 < c < 1 for c in chart.cuts), chart.name


def test_panel_grid_reads_axes_positions() -> None:
    """panel_grid counts the distinct rows and columns of tagged axes, ignoring others."""
    fig, axes = plt.subplots(2, 3)
    for k, ax in enumerate(axes.flat[:5]):
        ax.set_gid(f"panel:s{k}")
    fig.add_axes((0.9, 0.9, 0.05, 0.05))  # an untagged inset
    assert panel_grid(fig) == (2, 3)
    plt.close(fig)


def test_tall_chart_is_cut_at_its_row_breaks() -> None:
    """A chart too tall for one page is cut where it says rows break, each piece fitting the
    page at full width; a page-sized chart is left whole; no blank sliver is kept."""
    width = 2000
    most = int(width * (0.80 * A4_LANDSCAPE[1]) / (0.96 * A4_LANDSCAPE[0]))
    tall = np.ones((3 * most, width, 3))
    tall[::7, ::5] = 0.0  # ink everywhere: no blank rows to fall back on
    breaks = (0.30, 0.62)
    pieces = _pieces(tall, breaks)
    assert [p.shape[0] for p in pieces[:2]] == [round(0.30 * 3 * most),
                                                round(0.62 * 3 * most) - round(0.30 * 3 * most)]
    assert sum(p.shape[0] for p in pieces) == 3 * most
    assert len(_pieces(np.ones((most // 2, width, 3)) * 0.5)) == 1


def test_ranked_table_follows_the_lead_kpi(board_folder: Path) -> None:
    """The ranking is kpis.parquet's mean of viable_prob_y10, then viable_prob_y5, ... highest
    first: computed here from the per-run table, not from the summary the code used."""
    data = load_run(board_folder)
    runs = pd.read_parquet(board_folder / "kpis.parquet")
    means = runs.groupby("scenario")[list(RANK_KPIS)].mean().fillna(-1.0)
    keys = {s: tuple(means.loc[s]) for s in data.scenarios}
    order = ranking(data)
    assert sorted(order) == sorted(data.scenarios)
    for better, worse in zip(order, order[1:], strict=False):
        assert keys[better] >= keys[worse], (better, worse)
    assert means["viable_prob_y5"].nunique() > 1, "the test needs models that differ"
    rows = ranked_rows(data, scorecard_rows(data))
    assert [r.scenario for r in rows] == order
    assert [r.rank for r in rows][0] == 1
    for a, b in zip(rows, rows[1:], strict=False):
        assert (a.rank == b.rank) == (keys[a.scenario] == keys[b.scenario])


def test_titles_come_from_meta(board_folder: Path) -> None:
    """Every model's meta.title reaches the manifest, the report, the ranked table and the
    cliff chart; snake_case names stay only in code-style labels and file names."""
    manifest = json.loads((board_folder / "manifest.json").read_text())
    meta = manifest["scenario_meta"]["scenarios"]
    html = (board_folder / "report.html").read_text(encoding="utf-8")
    data = load_run(board_folder)
    chart = funding_cliff_chart(data)
    panel_titles = {ax.get_gid().removeprefix("panel:"): ax.get_title()
                    for ax in chart.figure.axes if (ax.get_gid() or "").startswith("panel:")}
    plt.close(chart.figure)
    for path in SHIPPED:
        scenario = load_scenario(path)
        name, title = scenario.meta.name, scenario.meta.title
        assert title and title != name
        assert meta[name]["title"] == title == data.title(name)
        assert title.replace("&", "&amp;") in html
        assert panel_titles[name] == title
        assert (board_folder / f"scenario.resolved.{name}.toml").is_file()
    ranked = ranked_rows(data, scorecard_rows(data))
    assert {r.title for r in ranked} == {load_scenario(p).meta.title for p in SHIPPED}


def test_drivers_reach_the_board_page(board_folder: Path) -> None:
    """Each model's declared drivers are in the manifest with its value and base.toml's; the
    report shows them; the board pack has ranked and drivers pages before the scorecard."""
    manifest = json.loads((board_folder / "manifest.json").read_text())
    meta = manifest["scenario_meta"]
    assert meta["reference"] == "scenarios/base.toml"
    no_cliff = meta["scenarios"]["no_cliff"]["drivers"]
    assert [d["path"] for d in no_cliff] == ["finance.grants[0].end_month"]
    assert no_cliff[0]["value"] == "month 600" and no_cliff[0]["reference_value"] == "month 36"
    for path in SHIPPED:
        scenario = load_scenario(path)
        declared = meta["scenarios"][scenario.meta.name]["drivers"]
        assert 1 <= len(declared) <= 3
        assert [d["path"] for d in declared] == list(scenario.meta.drivers)
    html = (board_folder / "report.html").read_text(encoding="utf-8")
    assert 'id="ranking"' in html and 'id="drivers"' in html
    assert html.index('id="ranking"') < html.index('id="drivers"') < html.index('id="scorecard"')
    data = load_run(board_folder)
    pages = front_pages(data, scorecard_rows(data))
    for page in pages:
        plt.close(page)
    assert len(pages) >= 1 + 1 + 2  # ranked table, drivers, two scorecard pages (5 a page)


def _child(tmp_path: Path, meta: str) -> Path:
    path = tmp_path / "child.toml"
    path.write_text(f'extends = "builtin:la_hosted"\n[meta]\nname = "child"\n{meta}\n',
                    encoding="utf-8")
    return path


def test_a_bad_driver_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A driver that names no parameter stops validate, run and compare with one line and exit
    code 2, naming the file, the key and the bad path."""
    path = _child(tmp_path, 'drivers = ["hosting.failur_rule"]')
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert error.value.path == "meta.drivers"
    for command in (["validate", str(path)], ["run", str(path), "-n", "2"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in result.output
        assert str(path) in lines[0] and "meta.drivers" in lines[0]
        assert "hosting.failur_rule" in lines[0] and "failure_rule" in lines[0]


@pytest.mark.parametrize("drivers", ['["a", "b", "c", "d"]', '["uptake.q_per_year", '
                                     '"uptake.q_per_year"]', '["hosting.model[0]"]',
                                     '["finance.grants[0].amount"]'])
def test_drivers_are_at_most_three_real_distinct_parameters(tmp_path: Path, drivers: str) -> None:
    """More than three, a repeat, an index on a value and an unknown field are refused."""
    with pytest.raises(ScenarioError) as error:
        load_scenario(_child(tmp_path, f"drivers = {drivers}"))
    assert error.value.path == "meta.drivers"


def test_title_and_drivers_are_not_inherited(tmp_path: Path) -> None:
    """A child that gives no title or drivers does not show its parent's: its title is its
    name in words and it declares no drivers; a child that gives them keeps them."""
    bare = load_scenario(_child(tmp_path, ""))
    assert load_scenario(ROOT / "scenarios" / "la_hosted.toml").meta.title
    assert bare.meta.title is None and bare.meta.plain_title == "Child"
    assert bare.meta.drivers == ()
    own = load_scenario(_child(tmp_path, 'title = "Mine"\ndrivers = ["finance.grants[0].end_month"'
                                         ', "host_changes[].month", "hosting"]'))
    assert own.meta.title == "Mine"
    assert own.meta.drivers == ("finance.grants[0].end_month", "host_changes[].month", "hosting")
