"""docs/outputs.md describes every chart and report file, with small example images."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.outputs.chart_cliff import CLIFF_GUIDE
from sim.outputs.chart_paired import PAIRED_GUIDE
from sim.outputs.chart_trends import GROWTH_GUIDE, SURVIVAL_GUIDE, TRAJECTORIES_GUIDE
from sim.outputs.scorecard import SCORECARD_GUIDE

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHARTS = ("funding_cliff", "trajectories", "survival", "growth_path", "paired_differences")


@pytest.mark.parametrize("name", [*CHARTS, "report.html", "board_pack.pdf", "workbook.xlsx"])
def test_every_output_has_a_section(name: str) -> None:
    """Each chart and report file has its own section heading in docs/outputs.md."""
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    file = name if "." in name else f"{name}.png"
    assert re.search(rf"^### 2\.\d+ `{re.escape(file)}`", text, flags=re.M), name


def test_example_images_exist_and_are_small() -> None:
    """Every image docs/outputs.md shows is committed under docs/img and under 200 kB."""
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", text)
    assert {f"img/{c}.png" for c in CHARTS} | {"img/scorecard.png"} <= set(images)
    for image in images:
        path = DOCS / image
        assert path.exists(), image
        assert 5_000 < path.stat().st_size < 200_000, image


@pytest.mark.parametrize("guide", [CLIFF_GUIDE, TRAJECTORIES_GUIDE, SURVIVAL_GUIDE, GROWTH_GUIDE,
                                   PAIRED_GUIDE, SCORECARD_GUIDE])
def test_reading_guides_are_two_lines(guide: str) -> None:
    """Each reading guide is exactly two lines, short enough for one line of an A4 page each."""
    lines = guide.split("\n")
    assert len(lines) == 2 and all(20 < len(line) <= 175 for line in lines)
