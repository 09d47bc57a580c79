"""Write a run folder (resolved scenarios, manifest, tables, charts) and its report
(``report.html``, ``board_pack.pdf``, ``workbook.xlsx``).

Reads only the result tables built by :mod:`sim.outputs.tables`; every file is written
atomically and a new folder appears under its final name only when complete. The data files
(tables, manifest) are written first; a chart or report file that then fails is left out, the
folder is still kept with its data, and :class:`ArtefactError` says which files failed. Charts and
report are drawn from a :class:`~sim.outputs.rundata.RunData`, built from the tables in memory
for a new run and from the folder's files for ``report RUN_DIR``, so both give the same output.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.files import RunFolder, atomic_write, results_folder_name, write_json, write_text
from sim.outputs.boardpack import write_board_pack
from sim.outputs.charts import SavedChart, write_charts
from sim.outputs.html_report import write_html_report
from sim.outputs.policy_rules import policy_rules_table
from sim.outputs.rundata import (
    POLICY_RULES_FILE,
    RunData,
    RunFolderError,
    load_run,
    run_data_from_tables,
)
from sim.outputs.scorecard import scorecard_rows
from sim.outputs.tables import events_table, kpi_table, summary_dict, timeseries_table
from sim.outputs.workbook import write_workbook
from sim.version import __version__

if TYPE_CHECKING:
    from sim.experiments import EnsembleResult

__all__ = ["ArtefactError", "write_run", "write_report", "report_folder", "manifest",
           "git_commit", "REPORT_FILES"]

REPORT_FILES = ("report.html", "board_pack.pdf", "workbook.xlsx")
"""Files written by ``--report`` and ``report RUN_DIR`` besides the charts."""

REASON_MAX_CHARS = 160
"""Longest reason quoted for each failed artefact (the first line of its error)."""


class ArtefactError(Exception):
    """Some charts or report files could not be written; the data files were kept.

    Attributes
    ----------
    folder : the folder holding the data files (and every artefact that did not fail).
    failed : (artefact, error) for each artefact that failed, e.g. ``("funding_cliff chart",
        ValueError(...))`` or ``("workbook.xlsx", ...)``.
    """

    def __init__(self, folder: Path, failed: Sequence[tuple[str, Exception]]):
        self.folder = Path(folder)
        self.failed = list(failed)
        parts = [f"{what} ({_reason(exc)})" for what, exc in self.failed]
        super().__init__(f"{self.folder}: could not write {'; '.join(parts)}; the data files "
                         "(tables, summary, manifest) are kept")


def _reason(exc: Exception) -> str:
    """``Type: first line of the message``, shortened."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= REASON_MAX_CHARS else text[:REASON_MAX_CHARS - 1] + "…"


KEY_LIBRARIES = ("numpy", "scipy", "simpy", "pydantic", "pandas", "pyarrow", "matplotlib", "click")


def git_commit(where: Path) -> str | None:
    """The commit of the checkout holding ``where``, if it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _versions() -> dict[str, str]:
    found = {}
    for name in KEY_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def manifest(command: str, argv: Sequence[str], scenario_files: Sequence[str], seed: int,
             replicates: int, started: datetime, finished: datetime, extra: dict[str, Any]) -> dict:
    """Everything needed to say how a run was made."""
    return {
        "project": "coe-sim",
        "version": __version__,
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "command": command,
        "argv": list(argv),
        "scenario_files": list(scenario_files),
        "seed": seed,
        "replicates": replicates,
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": finished.isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": _versions(),
        **extra,
    }


def write_report(data: RunData, path_for: Callable[[str], Path],
                 charts: Sequence[SavedChart] | None = None,
                 failed: list[tuple[str, Exception]] | None = None) -> list[Path]:
    """Write ``report.html``, ``board_pack.pdf`` and ``workbook.xlsx`` (drawing the charts first
    unless ``charts`` are given); ``path_for(filename)`` says where each file goes.

    With ``failed`` (a list), a file that cannot be written is left out and ``(file name,
    error)`` appended, and the other files are still written; without it the error is raised.
    """
    charts = list(charts) if charts is not None else write_charts(data, path_for, failed)
    rows = scorecard_rows(data)
    writers: list[tuple[str, Callable[[Path], Path]]] = [
        ("report.html", lambda path: write_html_report(path, data, rows, charts)),
        ("board_pack.pdf", lambda path: write_board_pack(path, data, rows, charts)),
        ("workbook.xlsx", lambda path: write_workbook(path, data))]
    written = []
    for filename, write in writers:
        try:
            written.append(write(path_for(filename)))
        except Exception as exc:
            if failed is None:
                raise
            failed.append((filename, exc))
    return written


def report_folder(folder: Path, real_terms: bool = False) -> list[Path]:
    """Redraw the charts and write the report of an existing run folder from its files alone,
    in the folder's prices (its manifest's ``prices``).

    Every file is written to a temporary name in the folder and renamed into place.

    Raises
    ------
    RunFolderError
        If ``folder`` is not a complete, readable run folder, or ``real_terms`` is asked of a
        nominal folder: its per-run KPIs (the lowest reserves, the value over the run) cannot
        be deflated from the files, only from the monthly values of every run.
    ArtefactError
        If some charts or report files could not be written (the others are).
    """
    folder = Path(folder)
    data = load_run(folder)
    if real_terms and data.prices == "nominal":
        raise RunFolderError(f"{folder / 'manifest.json'}: the run's money is nominal; its "
                             "per-run KPIs cannot be deflated from the files: run it again "
                             "with --real-terms")
    failed: list[tuple[str, Exception]] = []
    charts = write_charts(data, lambda name: folder / name, failed)
    written = [*(p for c in charts for p in (c.png, c.svg)),
               *write_report(data, lambda name: folder / name, charts, failed)]
    if failed:
        raise ArtefactError(folder, failed)
    return written


def _write_csv(path: Path, table: pd.DataFrame) -> Path:
    return atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


def write_run(out_dir: Path, command: str, results: Sequence[EnsembleResult],
              resolved: Sequence[str], manifest_data: dict[str, Any], report: bool = False,
              extra_tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> Path:
    """Write every output of a run or comparison into one new folder under ``out_dir``.

    The folder is named by :func:`sim.files.results_folder_name` and appears under that name
    only when every file is written. The data files (resolved scenarios, tables, summary,
    manifest) are written first, then the charts and report files; if any of these fails, the
    others are still written, the folder is kept with its data and :class:`ArtefactError`
    (carrying the folder) is raised afterwards.

    Parameters
    ----------
    resolved : the resolved TOML text of each scenario, in the order of ``results``.
    report : also write ``report.html``, ``board_pack.pdf`` and ``workbook.xlsx``.
    extra_tables : more CSV files, file name → rows (e.g. ``parameter_draws.csv``).
    """
    names = [r.name for r in results]
    manifest_data = {**manifest_data,
                     "dimensions": {k: list(v) for k, v in results[0].dimensions.items()}}
    with RunFolder(Path(out_dir), results_folder_name(command, names)) as folder:
        if len(results) == 1:
            write_text(folder.path("scenario.resolved.toml"), resolved[0])
        else:
            for name, text in zip(names, resolved, strict=True):
                write_text(folder.path(f"scenario.resolved.{name}.toml"), text)
        ts = timeseries_table(results, manifest_data.get("prices", "nominal"))
        _write_csv(folder.path("timeseries.csv"), ts)
        summary = summary_dict(results)
        write_json(folder.path("summary.json"), summary)
        kpis = kpi_table(results)
        atomic_write(folder.path("kpis.parquet"), lambda tmp: kpis.to_parquet(tmp, index=False))
        events = events_table(results)
        _write_csv(folder.path("events.csv"), events)
        rules = policy_rules_table(results)  # issue #14: when each adaptive rule acted
        if rules is not None:
            _write_csv(folder.path(POLICY_RULES_FILE), rules)
        for filename, rows in (extra_tables or {}).items():
            _write_csv(folder.path(filename), pd.DataFrame(list(rows)))
        manifest_data = {**manifest_data,
                         "finished_utc": datetime.now(UTC).isoformat(timespec="seconds")}
        write_json(folder.path("manifest.json"), manifest_data)
        # Data first, then the artefacts drawn from it: a failed chart never costs the data.
        data = run_data_from_tables(ts, summary, kpis, events, manifest_data, rules)
        failed: list[tuple[str, Exception]] = []
        charts = write_charts(data, folder.path, failed)
        if report:
            write_report(data, folder.path, charts, failed)
    if failed:
        raise ArtefactError(folder.final, failed)
    return folder.final
