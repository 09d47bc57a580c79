"""Write a run folder: resolved scenarios, manifest, tables and charts.

Reads only the result tables built by :mod:`sim.outputs.tables`; every file is written
atomically and the folder appears under its final name only when complete.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import __version__
from sim.outputs.charts import funding_cliff_chart, trajectories_chart
from sim.outputs.io import RunFolder, atomic_write, folder_name, write_json, write_text
from sim.outputs.tables import events_table, kpi_table, summary_dict, timeseries_table

if TYPE_CHECKING:
    from sim.experiments import EnsembleResult

__all__ = ["write_run", "manifest", "git_commit"]

KEY_LIBRARIES = ("numpy", "scipy", "simpy", "pydantic", "pandas", "pyarrow", "matplotlib", "click")


def git_commit(where: Path) -> str | None:
    """The commit of the checkout holding ``where``, if it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                             timeout=5, check=False)
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


def write_run(out_dir: Path, command: str, results: Sequence[EnsembleResult], resolved: Sequence[str],
              manifest_data: dict[str, Any]) -> Path:
    """Write every output of a run or comparison into one new folder under ``out_dir``.

    Parameters
    ----------
    resolved : the resolved TOML text of each scenario, in the order of ``results``.
    """
    names = [r.name for r in results]
    with RunFolder(Path(out_dir), folder_name(command, names)) as folder:
        if len(results) == 1:
            write_text(folder.path("scenario.resolved.toml"), resolved[0])
        else:
            for name, text in zip(names, resolved):
                write_text(folder.path(f"scenario.resolved.{name}.toml"), text)
        ts = timeseries_table(results)
        atomic_write(folder.path("timeseries.csv"), lambda tmp: ts.to_csv(tmp, index=False))
        summary = summary_dict(results)
        write_json(folder.path("summary.json"), summary)
        kpis = kpi_table(results)
        atomic_write(folder.path("kpis.parquet"), lambda tmp: kpis.to_parquet(tmp, index=False))
        events = events_table(results)
        atomic_write(folder.path("events.csv"), lambda tmp: events.to_csv(tmp, index=False))
        replicates, seed = results[0].replicates, results[0].seed
        funding_cliff_chart(folder.path("funding_cliff.png"), ts, events, summary, replicates, seed)
        trajectories_chart(folder.path("trajectories.png"), ts, summary, replicates, seed)
        manifest_data = {**manifest_data, "finished_utc": datetime.now(UTC).isoformat(timespec="seconds")}
        write_json(folder.path("manifest.json"), manifest_data)
    return folder.final
