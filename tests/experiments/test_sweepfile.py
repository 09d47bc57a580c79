"""Sweep files: a good one loads; each bad one gets one clear error naming file, key and rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sweep_helpers import BASE, SMALL, write_sweep

from sim.cli import main
from sim.experiments.sweepfile import get_path, load_sweep, set_path, split_path
from sim.scenario import ScenarioError

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios" / "sweeps"


@pytest.mark.parametrize("name", sorted(p.name for p in SHIPPED.glob("*.toml")))
def test_shipped_sweep_files_load(name: str) -> None:
    """The example sweeps under scenarios/sweeps/ are valid."""
    sweep = load_sweep(SHIPPED / name)
    assert sweep.parameters
    assert sweep.kpis


def test_small_sweep_loads_with_types_and_defaults(tmp_path: Path) -> None:
    """Integer key paths are detected; the base's overrides apply; KPIs are as listed."""
    sweep = load_sweep(write_sweep(tmp_path))
    assert sweep.name == "small"
    assert sweep.integer == (True, False, False)
    assert sweep.base is not None and sweep.base.time.horizon_months == 36
    assert sweep.kpis == ("survival_prob_y5", "min_reserves_gbp", "members_y10", "breakeven_month")
    assert len(sweep.metrics) == 2 and sweep.metrics[0] == "reserves_gbp"
    assert sweep.scenario({"finance.grants[0].end_month": 20}).finance.grants[0].end_month == 20


def test_digest_changes_with_the_file_text(tmp_path: Path) -> None:
    """The hash used by --resume changes when the sweep file does."""
    a = load_sweep(write_sweep(tmp_path)).digest()
    b = load_sweep(write_sweep(tmp_path, SMALL.replace("seed = 99", "seed = 98"))).digest()
    assert a != b


def test_key_path_helpers() -> None:
    """split/get/set understand dots and list indices."""
    assert split_path("finance.grants[0].end_month") == ["finance", "grants", 0, "end_month"]
    data = {"finance": {"grants": [{"end_month": 36}]}}
    assert get_path(data, "finance.grants[0].end_month") == 36
    set_path(data, "finance.grants[0].end_month", 48)
    assert data["finance"]["grants"][0]["end_month"] == 48
    with pytest.raises(ValueError, match="is not a key path"):
        split_path("finance..x")


BAD = [
    # (replace this, with this, expected key path, expected words)
    ('design = "lhs"', 'desing = "lhs"', "desing", "did you mean 'design'"),
    ('design = "lhs"', 'design = "halton"', "design", "'grid', 'random', 'lhs' or 'sobol'"),
    ("samples = 7", "", "samples", "is required for a lhs design"),
    ('design = "lhs"', 'design = "sobol"', "samples", "power of 2"),
    ('design = "lhs"', 'design = "grid"', "samples", "grid design takes no samples"),
    ("replicates = 3", "replicates = 0", "replicates", "greater than or equal to 1"),
    ("low = 12\nhigh = 30", "low = 30\nhigh = 12", "parameters[0].high", "greater than low"),
    ("low = 12\nhigh = 30", "low = 12", "parameters[0].high",
     "a uniform distribution needs high, low"),
    ("mode = 7500", "mode = 20000", "parameters[1].mode", "must lie between low"),
    ('path = "finance.grants[0].end_month"', 'path = "finance.grants[0].end_mont"',
     "parameters[0].path", "did you mean 'finance.grants[0].end_month'"),
    ('path = "finance.grants[0].end_month"', 'path = "finance.grants[3].end_month"',
     "parameters[0].path", "names no parameter of the base scenario"),
    ('path = "finance.grants[0].end_month"', 'path = "finance.grants"',
     "parameters[0].path", "names a table"),
    ('path = "finance.grants[0].end_month"', 'path = "finance grants"',
     "parameters[0].path", "is not a key path"),
    ('label = "grant end month"', 'lable = "grant end month"', "parameters[0].lable",
     "did you mean 'label'"),
    ("low = 12\nhigh = 30", "low = 12\nhigh = 30\nmean = 3", "parameters[0].mean",
     "is not used by a uniform distribution"),
    ("low = 12\nhigh = 30", "low = 0\nhigh = 30", "parameters[0]",
     "(finance.grants[0].end_month): the range reaches 0, which is rejected by the base "
     "scenario: finance.grants[0].end_month must be greater than or equal to 1, got 0"),
    ('values = ["gall", "big_bang"]', 'values = ["gall", "big-bang"]', "parameters[2]",
     "(portfolio.policy): the value 'big-bang' is rejected by the base scenario: "
     "portfolio.policy must be 'gall', "),
    ('kpis = ["survival_prob_y5"', 'kpis = ["survival_prob_y6"', "kpis[0]",
     "did you mean 'survival_prob_y5'"),
    ("seed = 99", 'seed = 99\nmetrics = ["reserves"]', "metrics[0]", "is not a known metric"),
    (f'base = "{BASE}"', 'base = "nowhere.toml"', "base", "names no scenario file"),
    (f'base = "{BASE}"', f'base = "{BASE}"\ntest_function = "ishigami"', "base",
     "exactly one of base"),
    ('"gall", "big_bang"]', '"gall", "gall"]', "parameters[2].values", "must not repeat"),
    ('values = ["gall", "big_bang"]',
     'values = ["gall", "big_bang"]\n[[parameters]]\npath = "uptake.q_per_year"\nlow = 0.1\n'
     'high = 9', "parameters[3]", "less than or equal to 5"),
    # issue #17: a bound of inf ran and returned NaN; bounds are finite and inside the schema's
    ("low = 12\nhigh = 30", "low = 12\nhigh = inf", "parameters[0].high",
     "must be a finite number"),
    ("low = 2000", "low = nan", "parameters[1].low", "must be a finite number"),
    ("low = 12\nhigh = 30", "low = 12\nhigh = 9223372036854775807", "parameters[0]",
     "less than or equal to 1200"),
]


@pytest.mark.parametrize(("old", "new", "where", "words"), BAD)
def test_bad_sweep_file_gets_one_clear_error(tmp_path: Path, old: str, new: str, where: str,
                                             words: str) -> None:
    """Each mistake is reported with the file, the key path and the rule."""
    assert old in SMALL
    path = write_sweep(tmp_path, SMALL.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {where} "), message
    assert words in message, message


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    """Unreadable files are named, with the reason."""
    with pytest.raises(ScenarioError, match="file not found"):
        load_sweep(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_sweep(write_sweep(tmp_path, "name = [\n"))


def test_cli_reports_a_bad_sweep_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    """`sweep`, `sensitivity`: one line on stderr, exit code 2, no traceback."""
    path = write_sweep(tmp_path, SMALL.replace("samples = 7", "samples = -1"))
    for command in ("sweep", "sensitivity"):
        result = CliRunner().invoke(main, [command, str(path), "--out", str(tmp_path)])
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines == [f"error: {path}: samples must be greater than or equal to 1, got -1"]
        assert "Traceback" not in result.output
