"""Every chart takes its colours, resolution and saving from sim.outputs.style."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.colors import to_hex
from PIL import Image

from sim.outputs.calibration_charts import fit_chart
from sim.outputs.sensitivity_charts import index_bars_chart
from sim.outputs.style import PALETTE, SCREEN_DPI


def test_sensitivity_bars_use_the_shared_palette() -> None:
    """The first two bar series are the first two colours of the one palette."""
    indices = pd.DataFrame({"output": ["y"] * 2, "fiscal_year": [""] * 2, "parameter": ["x1"] * 2,
                            "index": ["ST", "S1"], "estimate": [0.6, 0.4], "conf": [0.1, 0.1],
                            "confidence": [0.95] * 2})
    fig = index_bars_chart(indices, {"method": "sobol", "kpis": ["y"]})
    colours = [to_hex(p.get_facecolor()).upper() for p in fig.axes[0].patches]
    assert colours == [PALETTE[0], PALETTE[1]]


def test_calibration_fit_chart_uses_the_shared_palette_and_resolution(tmp_path: Path) -> None:
    """The fit chart is saved through the shared writer at the analysis charts' resolution,
    with its title stored in the PNG, and no temporary file left."""
    observed = pd.DataFrame({"month": ["2020-01", "2021-01"], "value": [1.0, 2.0],
                             "used": [True, True]})
    simulated = pd.DataFrame({"month": ["2020-01", "2021-01"], "median": [1.1, 1.9]})
    path = fit_chart(observed, simulated, {"title": "fit: q = 0.3"}, tmp_path / "fit.png")
    assert [p.name for p in tmp_path.iterdir()] == ["fit.png"]
    with Image.open(path) as image:
        assert round(image.info["dpi"][0]) == SCREEN_DPI
        assert image.text["Title"] == "fit: q = 0.3"
