"""sim.files: crash-safe writing of files and results folders, strict JSON, one folder naming."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from sim.files import (
    RunFolder,
    atomic_write,
    check_writable,
    folder_prefix,
    new_folder,
    read_json,
    results_folder_name,
    stamped_folder_pattern,
    write_json,
    write_text,
)


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


@pytest.mark.usefixtures("umask_022")
def test_atomic_write_gives_the_mode_of_any_new_file(tmp_path: Path) -> None:
    """The temporary file is private, but the file renamed into place is 0644 under umask 022,
    as if it had been opened for writing directly."""
    direct = tmp_path / "direct.txt"
    direct.write_text("x")
    written = write_text(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(written.stat().st_mode) == 0o644 == stat.S_IMODE(direct.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_charts_saved_through_the_one_writer_keep_the_mode(tmp_path: Path) -> None:
    """The sensitivity charts (PNG and SVG) are saved by the same writer, with the same mode."""
    import pandas as pd

    from sim.outputs.sensitivity_charts import write_sensitivity_charts

    indices = pd.DataFrame({"output": ["y", "y"], "fiscal_year": ["", ""],
                            "parameter": ["x1", "x1"], "parameter_2": ["", ""],
                            "index": ["ST", "S1"], "estimate": [0.6, 0.4], "conf": [0.05, 0.05],
                            "ci_low": [0.55, 0.35], "ci_high": [0.65, 0.45],
                            "confidence": [0.95, 0.95]})
    files = write_sensitivity_charts(indices, pd.DataFrame(columns=["kpi"]),
                                     {"method": "sobol", "kpis": ["y"]}, tmp_path)
    assert {p.name for p in files} == {"sensitivity_indices.png", "sensitivity_indices.svg"}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in files)


def test_run_folder_appears_only_when_complete(tmp_path: Path) -> None:
    """A run folder is renamed into place on success and removed entirely on failure."""
    with pytest.raises(ValueError):
        with RunFolder(tmp_path, "run-x") as folder:
            write_text(folder.path("a.txt"), "a")
            assert re.fullmatch(r"\.run-x\.\w+\.partial", folder.tmp.name)
            assert not (tmp_path / "run-x").exists()
            raise ValueError("model failed")
    assert list(tmp_path.iterdir()) == []
    with RunFolder(tmp_path, "run-x") as folder:
        write_text(folder.path("a.txt"), "a")
    assert (tmp_path / "run-x" / "a.txt").read_text() == "a"
    with RunFolder(tmp_path, "run-x") as again:
        pass
    with RunFolder(tmp_path, "run-x") as third:
        pass
    assert again.final.name == "run-x-2", "an existing folder is never overwritten"
    assert third.final.name == "run-x-3"


@pytest.mark.usefixtures("umask_022")
def test_run_folder_has_the_mode_of_any_new_folder(tmp_path: Path) -> None:
    """The partial folder is made private (mkdtemp) but the finished one is 0755 under umask
    022, like a folder made with mkdir, and its files 0644."""
    with RunFolder(tmp_path, "run-x") as folder:
        write_text(folder.path("a.txt"), "a")
    (tmp_path / "direct").mkdir()
    assert stat.S_IMODE(folder.final.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "direct").stat().st_mode) == 0o755
    assert stat.S_IMODE((folder.final / "a.txt").stat().st_mode) == 0o644


def test_run_folders_started_together_never_collide(tmp_path: Path) -> None:
    """Eight folders of the same name built at once, in threads: each partial folder is its
    own, all eight complete, each under its own name with its own file."""
    import threading

    barrier = threading.Barrier(8)
    finals: list[Path] = []
    errors: list[BaseException] = []

    def build(i: int) -> None:
        try:
            with RunFolder(tmp_path, "run-x-20260401T120000Z") as folder:
                barrier.wait(timeout=30)  # every partial folder exists before any finishes
                write_text(folder.path("who.txt"), str(i))
                barrier.wait(timeout=30)
            finals.append(folder.final)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(set(finals)) == 8
    assert sorted(p.read_text() for p in tmp_path.glob("*/who.txt")) == [str(i) for i in range(8)]
    assert not list(tmp_path.glob(".*")), "no partial folder may remain"


def test_run_folders_named_in_the_same_instant_never_collide(tmp_path: Path) -> None:
    """Four folders of one name, all named before any is made (as four processes starting
    in the same instant): each is built apart and kept, as <name>, -2, -3 and -4."""
    folders = [RunFolder(tmp_path, "run-x") for _ in range(4)]
    for i, folder in enumerate(folders):
        folder.__enter__()
        write_text(folder.path("who.txt"), str(i))
    assert len({f.tmp for f in folders}) == 4
    for folder in reversed(folders):
        folder.__exit__(None, None, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-x", "run-x-2", "run-x-3",
                                                        "run-x-4"]
    assert {f.final.name: (f.final / "who.txt").read_text() for f in folders} == {
        "run-x": "3", "run-x-2": "2", "run-x-3": "1", "run-x-4": "0"}


def test_check_writable_reports_a_folder_that_cannot_take_files(tmp_path: Path) -> None:
    """A folder under a file cannot be made; a new folder is made and left empty."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        check_writable(blocker / "out")
    assert check_writable(tmp_path / "new" / "out").is_dir()
    assert list((tmp_path / "new" / "out").iterdir()) == []


def test_new_folder_claims_the_next_free_name(tmp_path: Path) -> None:
    """new_folder makes <name>, then <name>-2, <name>-3: the suffixes RunFolder uses too."""
    made = [new_folder(tmp_path / "out", "sweep-a-20260401T120000Z") for _ in range(3)]
    assert [p.name for p in made] == ["sweep-a-20260401T120000Z", "sweep-a-20260401T120000Z-2",
                                      "sweep-a-20260401T120000Z-3"]
    assert all(p.is_dir() and not any(p.iterdir()) for p in made)


def test_json_is_strict_with_nan_as_null_and_numpy_as_python(tmp_path: Path) -> None:
    """NaN (an undefined KPI) is null; numpy scalars, arrays and tuples become plain JSON."""
    data = {"a": float("nan"), "b": [1.5], "c": np.float64(2.5), "d": np.int64(3),
            "e": (1, 2), "f": np.array([0.5, np.nan]), 7: "key made text"}
    path = write_json(tmp_path / "s.json", data)
    assert json.loads(path.read_text()) == {"a": None, "b": [1.5], "c": 2.5, "d": 3,
                                            "e": [1, 2], "f": [0.5, None], "7": "key made text"}
    assert read_json(path)["d"] == 3
    with pytest.raises(ValueError):
        write_json(tmp_path / "inf.json", {"x": float("inf")})
    assert not (tmp_path / "inf.json").exists()


def test_results_folder_name_is_command_names_and_utc_time() -> None:
    """<command>-<names joined by +>-<YYYYmmddTHHMMSSZ>, the time converted to UTC."""
    summer = datetime(2026, 7, 1, 13, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    name = results_folder_name("compare", ["la_hosted", "government_hosted"], summer)
    assert name == "compare-la_hosted+government_hosted-20260701T123005Z"
    now = results_folder_name("run", ["x"])
    assert re.fullmatch(r"run-x-\d{8}T\d{6}Z", now)
    stamp = datetime.strptime(now[-16:], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_folder_names_keep_safe_characters_only() -> None:
    """Letters, digits, dot, dash and underscore; everything else becomes '_'."""
    name = results_folder_name("compare", ["la hosted", "a/b", "ü:*?"],
                               datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert name == "compare-la_hosted+a_b+_-20260102T030405Z"
    assert re.fullmatch(r"[A-Za-z0-9_.+-]+", name)
    assert len(folder_prefix("run", ["x" * 300])) < 100


def test_stamped_pattern_finds_every_folder_of_a_prefix_and_no_other() -> None:
    """The pattern used to find a sweep to resume matches its names (with suffixes) only."""
    pattern = stamped_folder_pattern(folder_prefix("sweep", ["base"]))
    assert pattern.fullmatch(results_folder_name("sweep", ["base"]))
    assert pattern.fullmatch("sweep-base-20260401T120000Z-2")
    assert not pattern.fullmatch("sweep-base2-20260401T120000Z")
    assert not pattern.fullmatch("sweep-base-20260401-120000")
    assert not pattern.fullmatch("sensitivity-sobol-base-20260401T120000Z")
