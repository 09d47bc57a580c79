"""When each adaptive rule fired (sim/outputs/policy_rules.py, docs/outputs.md §2.12a): the
table reads back each rule exactly, a run with rules writes the table and the chart (also into
the report), and a run without rules writes neither."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from sim.cli import main
from sim.data import LAPopulation
from sim.experiments import run_ensemble
from sim.outputs.policy_rules import policy_rules_table, rule_acting
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
RULES = ('[{name="freeze when short", when="reserves_gbp < 150000", hold_months=2, '
         'action="freeze_hiring"}, {name="tick", when="month >= 2", action="resume_hiring", '
         'once=false, cooldown_months=5}, {name="never", when="members > 999", '
         'action="cut_team", amount=0.5}]')


def test_the_table_reads_each_rule_back_exactly(las: LAPopulation) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "independent_company.toml",
                             ["time.horizon_months=48", f"policies={RULES}"])
    result = run_ensemble(scenario, las, 30, seed=4)
    table = policy_rules_table([result])
    assert table is not None
    acted = rule_acting(result.metrics["policy_rules_acting"], 3)
    # the per-rule record adds up to the month's count of actions
    np.testing.assert_array_equal(acted.sum(axis=0), result.metrics["policy_actions"])
    # "tick" acts at month 2, 7, 12, … in every run still open (a closed Centre's rules stop)
    tick = table[table["rule_index"] == 1].set_index("month")
    open_runs = result.metrics["operating"] > 0
    for month in (2, 7, 12):
        assert tick.loc[month, "share_acting_this_month"] == open_runs[:, month - 1].mean()
        assert tick.loc[month + 1, "share_acting_this_month"] == 0.0
    # "freeze" acts once: its share fired is the share of runs whose first action came by then
    freeze = table[table["rule_index"] == 0].sort_values("month")
    first = np.where(acted[0].any(axis=1), acted[0].argmax(axis=1), np.inf)
    np.testing.assert_array_equal(freeze["share_fired"],
                                  [(first <= m).mean() for m in range(48)])
    assert np.all(np.diff(freeze["share_fired"]) >= 0)
    never = table[table["rule_index"] == 2]
    assert (never["share_fired"] == 0).all() and (never["rule"] == "never").all()


def test_a_run_with_rules_writes_the_table_and_the_chart(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "run", str(ROOT / "scenarios" / "independent_company.toml"), "-n", "20", "--seed", "3",
        "--set", "time.horizon_months=36", "--set", f"policies={RULES}", "--report",
        "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    table = pd.read_csv(folder / "policy_rules.csv")
    assert list(table.columns) == ["scenario", "rule_index", "rule", "month", "date",
                                   "fiscal_year", "share_fired", "share_acting_this_month"]
    assert len(table) == 3 * 36
    assert (folder / "policy_rules.png").is_file() and (folder / "policy_rules.svg").is_file()
    assert "policy_rules" in (folder / "report.html").read_text(encoding="utf-8")
    assert "policy_rules.csv" in result.output
    # the report command redraws it from the folder alone
    (folder / "policy_rules.png").unlink()
    again = CliRunner().invoke(main, ["report", str(folder)], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert (folder / "policy_rules.png").is_file()


def test_a_run_without_rules_writes_neither(run_folder: Path) -> None:
    assert not (run_folder / "policy_rules.csv").exists()
    assert not (run_folder / "policy_rules.png").exists()
