"""The documentation describes the code as it is: generated tables are current."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sim.cli import main
from sim.model.kpis import KPIS
from sim.model.simulation import METRICS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_parameter_table_in_model_md_is_current() -> None:
    """docs/model.md holds the output of `run.py params` verbatim (regenerate it if this fails)."""
    result = CliRunner().invoke(main, ["params"])
    assert result.exit_code == 0
    assert result.output.strip() in (DOCS / "model.md").read_text(encoding="utf-8")


def test_every_metric_and_kpi_is_documented_in_outputs_md() -> None:
    """Each metric and KPI the model writes has a row in docs/outputs.md."""
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    missing = [name for name in [*METRICS, *KPIS] if f"| `{name}` |" not in text]
    assert not missing, f"undocumented in docs/outputs.md: {missing}"
