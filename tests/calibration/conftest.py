"""Fixtures for the calibration tests: small spec files written on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from calibration_helpers import spec_text


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec (text from :func:`spec_text` or given) and a CSV beside it."""

    def write(csv: str | None = None, text: str | None = None, name: str = "spec.toml",
              **pieces: str) -> Path:
        if csv is not None:
            (tmp_path / "observed.csv").write_text(csv, encoding="utf-8")
        path = tmp_path / name
        path.write_text(text if text is not None else spec_text("observed.csv", **pieces),
                        encoding="utf-8")
        return path

    return write
