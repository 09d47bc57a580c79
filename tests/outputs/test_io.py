"""Crash-safe writing of files and run folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.outputs.io import RunFolder, atomic_write, folder_name, write_json, write_text


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    """If writing raises part-way, the previous file is intact and no temporary file remains."""
    target = tmp_path / "table.csv"
    write_text(target, "old contents\n")

    def half_then_crash(tmp: Path) -> None:
        tmp.write_text("half a fi")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_crash)
    assert target.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_run_folder_appears_only_when_complete(tmp_path: Path) -> None:
    """A run folder is renamed into place on success and removed entirely on failure."""
    with pytest.raises(ValueError):
        with RunFolder(tmp_path, "run-x") as folder:
            write_text(folder.path("a.txt"), "a")
            raise ValueError("model failed")
    assert list(tmp_path.iterdir()) == []
    with RunFolder(tmp_path, "run-x") as folder:
        write_text(folder.path("a.txt"), "a")
    assert (tmp_path / "run-x" / "a.txt").read_text() == "a"
    with RunFolder(tmp_path, "run-x") as again:
        pass
    assert again.final.name == "run-x-2", "an existing folder is never overwritten"


def test_json_writes_nan_as_null(tmp_path: Path) -> None:
    """NaN (an undefined KPI) is written as JSON null, so the file is valid JSON."""
    import json

    write_json(tmp_path / "s.json", {"a": float("nan"), "b": [1.5]})
    assert json.loads((tmp_path / "s.json").read_text()) == {"a": None, "b": [1.5]}


def test_folder_name_is_safe() -> None:
    """Folder names keep letters, digits, dot, dash and underscore only."""
    name = folder_name("compare", ["la hosted", "a/b"])
    assert "/" not in name and " " not in name and name.startswith("compare-la_hosted+a_b-")
