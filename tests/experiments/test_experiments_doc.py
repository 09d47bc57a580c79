"""docs/experiments.md documents every key of a sweep file and every result column kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.experiments.sweepfile import Parameter, Sensitivity, SweepFile

DOC = (Path(__file__).resolve().parents[2] / "docs" / "experiments.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("model", [SweepFile, Parameter, Sensitivity])
def test_every_sweep_file_key_is_documented(model: type) -> None:
    """Each key the schema accepts has a row `| \\`key\\` |` in docs/experiments.md."""
    missing = [k for k in model.model_fields if f"| `{k}`" not in DOC and f", `{k}`" not in DOC]
    assert not missing, f"undocumented sweep-file keys: {missing}"


def test_commands_and_files_are_documented() -> None:
    """The three commands, their options and the files they write are in the document."""
    for word in ("run.py sweep", "run.py sensitivity", "run.py discover", "--resume",
                 "--scheduler", "--chunk-size", "results.parquet", "design.parquet",
                 "indices.csv", "tornado.csv", "manifest.json", "dask-jobqueue", "Kubernetes"):
        assert word in DOC, word
