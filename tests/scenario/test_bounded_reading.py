"""Input files are read within bounds: whatever the file, the answer is one ScenarioError
naming it and the rule — never a hang, a traceback, or another file's contents (issue #17)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.load import MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_NESTING

ROOT = Path(__file__).resolve().parents[2]
LA = (ROOT / "scenarios" / "la_hosted.toml").as_posix()


def child(folder: Path, parent: str, name: str = "child.toml", extra: str = "") -> Path:
    path = folder / name
    path.write_text(f'extends = "{parent}"\n{extra}', encoding="utf-8")
    return path


def refused(path: Path, match: str) -> ScenarioError:
    with pytest.raises(ScenarioError, match=match) as caught:
        load_scenario(path)
    return caught.value


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.toml")
    refused(child(tmp_path, "pipe.toml"), "is not a regular file")


def test_a_device_or_a_proc_file_is_refused(tmp_path: Path) -> None:
    refused(child(tmp_path, "/dev/zero"), r"is not a \.toml file")
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    refused(child(tmp_path, "zero.toml"), r"is not a \.toml file")  # resolved to /dev/zero
    refused(child(tmp_path, "/proc/self/environ"), r"is not a \.toml file")
    refused(tmp_path, r"is not a \.toml file")  # a folder


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# x\n" * (MAX_FILE_BYTES // 4 + 1), encoding="utf-8")
    refused(big, "bytes; a scenario file may be at most")


def test_a_dotted_key_of_many_segments_is_refused_before_parsing(tmp_path: Path) -> None:
    """The 200 KB file of one 100,000-segment key took 111 s and 3.8 GB; now its line is too
    long to be parsed at all."""
    path = tmp_path / "keys.toml"
    path.write_text(".".join(["a"] * 100_000) + " = 1\n", encoding="utf-8")
    error = refused(path, f"lines may be at most {MAX_LINE_CHARS:,}")
    assert len(str(error)) < 400


def test_deep_nesting_is_an_error_not_a_recursion_error(tmp_path: Path) -> None:
    for text in ("a = " + "[" * 500 + "]" * 500 + "\n",
                 "a = " + "{b = " * 300 + "1" + "}" * 300 + "\n",
                 ".".join(["k"] * (MAX_NESTING + 1)) + " = 1\n"):
        path = tmp_path / "deep.toml"
        path.write_text(text, encoding="utf-8")
        refused(path, "nested")


def test_extends_loops_are_named(tmp_path: Path) -> None:
    child(tmp_path, "b.toml", "a.toml")
    b = child(tmp_path, "a.toml", "b.toml")
    refused(b, r"makes a loop \(b\.toml → a\.toml → b\.toml\)")


def test_a_symlink_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.toml").symlink_to(tmp_path / "y.toml")
    (tmp_path / "y.toml").symlink_to(tmp_path / "x.toml")
    refused(child(tmp_path, "x.toml"), "[Ss]ymlink loop|cannot be read")


def test_a_shipped_scenario_is_extended_by_name_from_anywhere(tmp_path: Path) -> None:
    mine = load_scenario(child(tmp_path, "builtin:la_hosted", extra="[meta]\nname = \"mine\"\n"))
    shipped = load_scenario(LA)
    assert mine.meta.name == "mine"
    assert mine.model_dump(exclude={"meta", "extends"}) == shipped.model_dump(
        exclude={"meta", "extends"})
    refused(child(tmp_path, "builtin:../../etc/passwd"), "names a shipped scenario")
    refused(child(tmp_path, "builtin:no_such_model"), "file not found")


def test_an_error_repeats_only_a_short_value(tmp_path: Path) -> None:
    """A long value in a parent file is cut: the error names key and rule, not the file."""
    parent = tmp_path / "parent.toml"
    parent.write_text(f'extends = "{LA}"\n[finance]\nopening_reserves_gbp = "{"s" * 3000}"\n',
                      encoding="utf-8")
    error = refused(child(tmp_path, "parent.toml"), "characters")
    assert error.path == "finance.opening_reserves_gbp" and len(str(error)) < 400


@pytest.mark.parametrize("setting, rule", [
    ("finance.opening_reserves_gbp=false", "must be a number, not true or false"),
    ("workforce.delivery.initial_fte=true", "must be a number, not true or false"),
    ("extends=base.toml", "extends cannot be overridden"),
])
def test_bad_settings_get_one_line_and_exit_code_2(setting: str, rule: str) -> None:
    result = CliRunner().invoke(main, ["validate", LA, "--set", setting])
    assert result.exit_code == 2
    assert rule in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_booleans_stay_booleans() -> None:
    """A true boolean field still takes true/false."""
    scenario = load_scenario(LA, ["hosting.vat_recoverable=false"])
    assert scenario.hosting.vat_recoverable is False
