"""Results are never lost (issue #17, item 4): an unwritable --out is refused before any
simulation; runs started together into one --out all finish; a chart, workbook or report that
fails leaves the data and says which file failed; pool workers die with their parent; every
output gets the mode of a new file under the umask."""

from __future__ import annotations

import json
import os
import pickle
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = str(ROOT / "scenarios" / "la_hosted.toml")
TINY = ("-n", "4", "--set", "time.horizon_months=24")
"""A run of a few seconds: 4 replicates over two years."""
DATA_FILES = ("scenario.resolved.toml", "timeseries.csv", "summary.json", "kpis.parquet",
              "events.csv", "manifest.json")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def _folders(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


# --------------------------------------------------------------------------- --out checked first


def test_an_out_under_a_file_is_refused_before_simulating(tmp_path: Path) -> None:
    """--out below a file cannot be made: one line naming --out, exit 2, and no simulation
    started (the progress line "Running ..." is never printed)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _cli("run", SCENARIO, *TINY, "--out", str(blocker / "sub"))
    assert proc.returncode == 2, proc.stderr
    assert "Running" not in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --out {blocker / 'sub'}: cannot write")
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_a_read_only_out_is_refused_before_simulating(tmp_path: Path) -> None:
    """A folder without write permission: exit 2 at once, nothing simulated or written."""
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        proc = _cli("run", SCENARIO, *TINY, "--out", str(out))
    finally:
        out.chmod(0o755)
    assert proc.returncode == 2 and "Running" not in proc.stdout, proc.stderr
    assert "cannot write" in proc.stderr and list(out.iterdir()) == []


@pytest.mark.parametrize("command", [
    ["sweep", str(ROOT / "scenarios" / "sweeps" / "base.toml")],
    ["calibrate", str(ROOT / "calibration" / "uptake_funded_raa.toml"), "--budget", "small"]])
def test_sweep_and_calibrate_check_out_before_working(command: list[str], tmp_path: Path) -> None:
    """The same check, exit 2 and one line, before a sweep or a fit starts."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _cli(*command, "--out", str(blocker / "sub"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        line for line in proc.stderr.strip().splitlines() if line.startswith("error: --out")]
    assert "Fitting" not in proc.stdout and "points ×" not in proc.stdout


# --------------------------------------------------------------------------- concurrent runs

_SAVE_AT_THE_SAME_SECOND = """
import pathlib, pickle, sys, time
import sim.outputs.report as report
report.results_folder_name = lambda command, names: f"{command}-{names[0]}-20260401T120000Z"
results = pickle.loads(open(sys.argv[1], "rb").read())
pathlib.Path(sys.argv[1] + ".ready").touch()
while not pathlib.Path(sys.argv[3]).exists():
    time.sleep(0.01)
print(results.save(sys.argv[2], report=False))
"""
"""Saves a run's results (what ``run`` does once it has simulated), once every process is ready
(the file ``argv[3]`` appears), with the folder stamped with one fixed second: the worst case
of runs started together, which today's clock only makes likely."""


def test_four_runs_started_together_into_one_out_all_succeed(tmp_path: Path) -> None:
    """Four processes save runs of the same name into one --out at the same second: all
    succeed, each keeps a complete folder of its own (<name>, -2, -3, -4), no partial folder
    is left."""
    from sim import api

    scenario = api.load_scenario(SCENARIO, ["time.horizon_months=24"])
    data = pickle.dumps(api.compare([scenario], 4, 11, 1))
    pickles = []
    for i in range(4):
        path = tmp_path / f"results-{i}.pickle"
        path.write_bytes(data)
        pickles.append(path)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _SAVE_AT_THE_SAME_SECOND, str(path),
                               str(out), str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
             for path in pickles]
    deadline = time.monotonic() + 300
    while not all(Path(f"{path}.ready").exists() for path in pickles):
        assert all(p.poll() is None for p in procs) and time.monotonic() < deadline
        time.sleep(0.05)
    go.touch()  # all four save at once
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
    names = [p.name for p in _folders(out)]
    stem = "run-la_hosted-20260401T120000Z"
    assert names == sorted([stem, f"{stem}-2", f"{stem}-3", f"{stem}-4"])
    assert sorted(Path(printed.strip()).name for printed, _ in results) == names
    assert all(json.loads((out / n / "manifest.json").read_text())["seed"] == 11 for n in names)
    for name in names:
        assert all((out / name / f).stat().st_size > 0 for f in DATA_FILES)
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no partial folder left"


# --------------------------------------------------------------------------- data before charts


def _broken(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("drawing failed\nsecond line never shown")


def test_a_failing_chart_keeps_the_data_and_names_the_chart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trajectories chart fails: the folder is kept with every data file and the other
    charts, one error line names the chart and its error, exit 1."""
    import sim.outputs.charts as charts

    def trajectories_chart(_data: object) -> None:
        raise RuntimeError("drawing failed\nsecond line never shown")

    builders = list(charts.CHART_BUILDERS)
    assert builders[1] is charts.trajectories_chart
    monkeypatch.setattr(charts, "CHART_BUILDERS", [builders[0], trajectories_chart,
                                                   *builders[2:]])
    result = CliRunner().invoke(main, ["run", SCENARIO, *TINY, "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    [folder] = _folders(tmp_path)
    for name in DATA_FILES:
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "funding_cliff.png").exists() and (folder / "survival.png").exists()
    assert not (folder / "trajectories.png").exists()
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: {folder}: could not write trajectories chart "
                                "(RuntimeError: drawing failed)")
    assert "data files" in errors[0] and "kept" in errors[0]
    assert pd.read_csv(folder / "timeseries.csv")["month"].max() == 23


def test_a_failing_workbook_keeps_the_report_and_the_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --report, the workbook fails: report.html, board_pack.pdf, the charts and the data
    are kept; the error names workbook.xlsx; exit 1."""
    import sim.outputs.report as report

    monkeypatch.setattr(report, "write_workbook", _broken)
    result = CliRunner().invoke(main, ["run", SCENARIO, *TINY, "--report", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 1, result.output
    [folder] = _folders(tmp_path)
    for name in (*DATA_FILES, "report.html", "board_pack.pdf", "funding_cliff.png"):
        assert (folder / name).stat().st_size > 0, name
    assert not (folder / "workbook.xlsx").exists()
    assert "workbook.xlsx (RuntimeError: drawing failed)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_calibration_keeps_fit_json_when_its_chart_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """write_calibration writes fit.json and every table before the chart; a failing chart
    raises ArtefactError naming fit.png, with the folder complete apart from it."""
    import sim.outputs.calibration_charts as calibration_charts
    from sim.outputs import ArtefactError

    monkeypatch.setattr(calibration_charts, "fit_chart", _broken)
    fit = {"parameters": [{"path": "uptake.q_per_year", "best": 0.4}]}
    observed = pd.DataFrame({"month": ["2024-04"], "value": [3.0], "used": [True]})
    simulated = pd.DataFrame({"month": ["2024-04"], "median": [2.5]})
    with pytest.raises(ArtefactError) as caught:
        calibration_charts.write_calibration(tmp_path, ["spec"], fit, "# overlay\n", observed,
                                             simulated, {"title": "t"}, "spec text\n",
                                             {"argv": []})
    folder = caught.value.folder
    assert [what for what, _ in caught.value.failed] == ["fit.png"]
    assert json.loads((folder / "fit.json").read_text()) == fit
    assert {p.name for p in folder.iterdir()} == set(calibration_charts.CALIBRATION_FILES) - {
        "fit.png"}


# --------------------------------------------------------------------------- file modes


@pytest.mark.usefixtures("umask_022")
def test_every_output_has_the_mode_of_a_new_file(tmp_path: Path) -> None:
    """Under umask 022 the run folder is 0755 and every file in it 0644, as if made by mkdir
    and open (the temporary files they are written through are private)."""
    result = CliRunner().invoke(main, ["run", SCENARIO, *TINY, "--report", "--out",
                                       str(tmp_path)])
    assert result.exit_code == 0, result.output
    [folder] = _folders(tmp_path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert len(modes) >= 15 and set(modes.values()) == {0o644}, modes


# --------------------------------------------------------------------------- orphaned workers


def _ctrl_c_default() -> None:
    """In the child: Ctrl-C's default action, whatever this test run inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc: Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_pool_workers_exit_when_the_sweep_is_killed(tmp_path: Path) -> None:
    """kill -9 of a sweep running on two pool workers: its workers are gone within a few
    seconds, not left running orphaned."""
    sys.path.insert(0, str(ROOT / "tests" / "experiments"))
    from sweep_helpers import SMALL, write_sweep

    text = (SMALL.replace('name = "small"', 'name = "orphans"')
            .replace("samples = 7", "samples = 200")
            .replace('set = ["time.horizon_months=36"]', 'set = ["time.horizon_months=120"]'))
    sweep_file = write_sweep(tmp_path, text, "orphans.toml")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "sweep", str(sweep_file), "--out",
         str(tmp_path / "out"), "--no-progress", "--workers", "2", "--chunk-size", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_ctrl_c_default)
    try:
        deadline = time.monotonic() + 180
        while not list((tmp_path / "out").glob("sweep-orphans-*/chunks/part-*.parquet")):
            assert process.poll() is None and time.monotonic() < deadline, "no chunk written"
            time.sleep(0.1)
        workers = _descendants(process.pid)
        assert len(workers) >= 2, workers
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} worker(s) outlived their parent by 10 s"
