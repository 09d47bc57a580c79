"""The tables of one run folder, loaded once and shared by charts, board pack and workbook.

A :class:`RunData` is built either from the tables a run has just computed
(:func:`run_data_from_tables`, used by ``write_run``) or from a run folder's files
(:func:`load_run`, used by ``report RUN_DIR``); everything downstream reads only this object, so
both paths draw the same pictures. Income sources, cost types, staff roles and service strands
are the lists the model declared (the manifest's ``dimensions``), never recovered from metric
names; events are read by their ``kind``, never by their wording.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["RunData", "RunFolderError", "REQUIRED_FILES", "load_run", "run_data_from_tables"]

REQUIRED_FILES = ("timeseries.csv", "summary.json", "kpis.parquet", "events.csv", "manifest.json")
POLICY_RULES_FILE = "policy_rules.csv"
"""Written only by a run whose scenarios have adaptive policies (docs/outputs.md)."""
"""The files ``report RUN_DIR`` reads; everything else in a run folder is rebuilt from them."""

TIMESERIES_COLUMNS = {"scenario", "month", "date", "fiscal_year", "metric", "mean", "p10", "p50",
                      "p90"}
EVENT_COLUMNS = {"scenario", "month", "date", "fiscal_year", "kind", "subject", "detail", "event"}
DIMENSIONS = ("income_sources", "cost_types", "roles", "strands")
"""The declared lists a report needs from the manifest's ``dimensions``."""
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class RunFolderError(Exception):
    """A folder is not a readable run folder; the message says which file and why."""


def _nan(value: Any) -> float:
    """``None`` (JSON null) and NaN both become NaN; numbers become float."""
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class RunData:
    """Everything a report needs from one run folder.

    Attributes
    ----------
    timeseries : long table (scenario, month, date, fiscal_year, metric, mean, p10, p50, p90).
    summary : ``{scenario: {kpi: {mean, p10, p50, p90, defined_share}}}``, NaN where undefined;
        its key order is the scenarios' command-line order.
    kpis : one row per scenario and replicate (``scenario``, ``replicate``, one column per KPI).
    events : calendar events (scenario, month, date, fiscal_year, event).
    manifest : the run's manifest (seed, replicates, command, ...).
    """

    timeseries: pd.DataFrame
    summary: dict[str, dict[str, dict[str, float]]]
    kpis: pd.DataFrame
    events: pd.DataFrame
    manifest: dict[str, Any]
    _wide: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)
    policy_rules: pd.DataFrame | None = None
    """``policy_rules.csv``: when each adaptive rule acted (None: no scenario has rules)."""

    # ------------------------------------------------------------------ run-level facts
    @property
    def scenarios(self) -> list[str]:
        """Scenario names in command-line order."""
        return list(self.summary)

    @property
    def replicates(self) -> int:
        """Replicates per scenario."""
        return int(self.manifest["replicates"])

    @property
    def seed(self) -> int:
        """The run's seed."""
        return int(self.manifest["seed"])

    @property
    def prices(self) -> str:
        """The basis of every £ in the run: ``nominal``, or ``2026/27 prices`` for a run made
        with ``--real-terms`` (the manifest's ``prices``; folders written before it: nominal)."""
        return str(self.manifest.get("prices", "nominal"))

    @property
    def money_label(self) -> str:
        """How charts and tables say it: ``£, nominal`` or ``£, 2026/27 prices``."""
        return f"£, {self.prices}"

    @property
    def horizon_months(self) -> int:
        """Months simulated (the longest horizon among the scenarios)."""
        return int(self.timeseries["month"].max()) + 1

    @property
    def metrics(self) -> list[str]:
        """Metric names in table order."""
        return list(dict.fromkeys(self.timeseries["metric"]))

    @property
    def kpi_names(self) -> list[str]:
        """KPI names in summary order."""
        first = next(iter(self.summary.values()), {})
        return list(first)

    def _declared(self, name: str) -> list[str]:
        return [str(x) for x in self.manifest["dimensions"][name]]

    def income_sources(self) -> list[str]:
        """Income sources, as declared by the model (metrics ``income_<source>_gbp``)."""
        return self._declared("income_sources")

    def cost_types(self) -> list[str]:
        """Cost types, as declared by the model (metrics ``costs_<type>_gbp``)."""
        return self._declared("cost_types")

    def staff_roles(self) -> list[str]:
        """Staff roles, as declared by the model (metrics ``staff_<role>_fte``)."""
        return self._declared("roles")

    def members_metric(self) -> str:
        """The metric counting member LAs: ``members`` (every LA in a member state: member,
        contributor, champion) when the table has it, else ``las_member``."""
        return "members" if "members" in self.metrics else "las_member"

    def strands(self) -> list[str]:
        """Service strands, as declared by the model (metrics ``live_services_<strand>``)."""
        return self._declared("strands")

    # ------------------------------------------------------------------ what each scenario is
    def _meta(self, scenario: str) -> dict[str, Any]:
        block = self.manifest.get("scenario_meta")
        found = block.get("scenarios", {}).get(scenario) if isinstance(block, dict) else None
        return found if isinstance(found, dict) else {}

    def title(self, scenario: str) -> str:
        """The scenario's plain title (``meta.title``; folders written before it, or a
        scenario without one: its name in words)."""
        title = self._meta(scenario).get("title")
        if isinstance(title, str) and title:
            return title
        words = re.sub(r"[_\s]+", " ", scenario).strip()
        return words[:1].upper() + words[1:]

    def titles(self) -> list[str]:
        """Plain titles of the scenarios, in command-line order."""
        return [self.title(s) for s in self.scenarios]

    def description(self, scenario: str) -> str:
        """The scenario's one-line description (``meta.description``; empty if unknown)."""
        return str(self._meta(scenario).get("description") or "")

    def drivers(self, scenario: str) -> list[dict[str, Any]]:
        """The scenario's declared drivers (``meta.drivers``), each ``{path, meaning, unit,
        value, reference_value}`` with values in words; empty if none were declared."""
        rows = self._meta(scenario).get("drivers")
        return [dict(r) for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    @property
    def reference(self) -> str | None:
        """The file the drivers' reference values come from (``scenarios/base.toml``)."""
        block = self.manifest.get("scenario_meta")
        ref = block.get("reference") if isinstance(block, dict) else None
        return str(ref) if ref else None

    # ------------------------------------------------------------------ lookups
    def kpi(self, scenario: str, name: str, stat: str = "p50") -> float:
        """One statistic of one KPI of one scenario (NaN if the KPI or the value is missing)."""
        return _nan(self.summary.get(scenario, {}).get(name, {}).get(stat))

    def wide(self, scenario: str, stat: str = "mean") -> pd.DataFrame:
        """``stat`` of every metric of ``scenario`` as a month × metric table."""
        key = f"{scenario}\0{stat}"
        if key not in self._wide:
            frame = self.timeseries[self.timeseries["scenario"] == scenario]
            self._wide[key] = frame.pivot(index="month", columns="metric", values=stat)
        return self._wide[key]

    def series(self, scenario: str, metric: str) -> pd.DataFrame:
        """Rows of one metric of one scenario, by month."""
        ts = self.timeseries
        return ts[(ts["scenario"] == scenario) & (ts["metric"] == metric)].sort_values("month")

    def calendar(self, scenario: str | None = None) -> pd.DataFrame:
        """``month``, ``date`` and ``fiscal_year`` of every month of a scenario (default: first)."""
        name = scenario or self.scenarios[0]
        key = f"{name}\0calendar"  # kept: month_label asks for it once per label
        if key not in self._wide:
            frame = self.timeseries[self.timeseries["scenario"] == name]
            self._wide[key] = frame.drop_duplicates("month").sort_values("month")[
                ["month", "date", "fiscal_year"]]
        return self._wide[key]

    def month_date(self, month: int) -> tuple[int, int] | None:
        """(year, calendar month 1–12) of month index ``month``, or None outside the run."""
        cal = self.calendar()
        row = cal[cal["month"] == month]
        if row.empty:
            return None
        year, mon = row["date"].iloc[0].split("-")
        return int(year), int(mon)

    def month_label(self, month: float) -> str:
        """A month index as ``Apr 2029`` (``month 150`` if outside the run)."""
        if month != month:
            return "n/a"
        date = self.month_date(int(month))
        if date is None:
            return f"month {int(month)}"
        return f"{MONTH_NAMES[date[1] - 1]} {date[0]}"

    def end_label(self) -> str:
        """How the end of the run is said in words: ``10 years``, ``5 years`` or ``66 months``.

        The ``*_y10`` KPIs are measured at the end of year 10 or of the horizon if shorter.
        """
        months = min(self.horizon_months, 120)
        return f"{months // 12} years" if months % 12 == 0 else f"{months} months"

    def grant_ends(self, scenario: str | None = None) -> pd.DataFrame:
        """Grant-end events (kind ``grant_end``) of a scenario, or of every scenario."""
        ev = self.events
        ends = ev[ev["kind"] == "grant_end"]
        return ends if scenario is None else ends[ends["scenario"] == scenario]

    def footer(self) -> str:
        """Provenance line for every chart: scenarios, replicates, seed, the money's basis,
        version and commit."""
        commit = self.manifest.get("git_commit")
        version = self.manifest.get("version", "")
        made = f"coe-sim {version}" + (f" @ {commit[:7]}" if commit else "")
        return (f"Scenarios: {', '.join(self.scenarios)} · {self.replicates:,} replicates each · "
                f"seed {self.seed} · money in {self.money_label} · {made}")


def run_data_from_tables(timeseries: pd.DataFrame, summary: Mapping[str, Any], kpis: pd.DataFrame,
                         events: pd.DataFrame, manifest: Mapping[str, Any],
                         policy_rules: pd.DataFrame | None = None) -> RunData:
    """A :class:`RunData` from in-memory tables (NaN or None for undefined values)."""
    clean = {s: {k: {stat: _nan(v) for stat, v in stats.items()} for k, stats in kpis_.items()}
             for s, kpis_ in summary.items()}
    ts = timeseries.copy()
    for col in ("scenario", "date", "fiscal_year", "metric"):
        ts[col] = ts[col].astype(str)
    ev = events.copy()
    for col in ("scenario", "date", "fiscal_year", "kind", "subject", "detail", "event"):
        ev[col] = ev[col].astype(object).where(ev[col].notna(), "").astype(str)
    rules = None
    if policy_rules is not None:
        rules = policy_rules.copy()
        for col in ("scenario", "rule", "date", "fiscal_year"):
            rules[col] = rules[col].astype(str)
    return RunData(ts, clean, kpis.copy(), ev, dict(manifest), policy_rules=rules)


def _read(folder: Path, name: str, reader: Any) -> Any:
    try:
        return reader(folder / name)
    except Exception as exc:  # any parse failure is reported as one line naming the file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunFolderError(f"{folder / name} cannot be read: {reason}") from None


def load_run(folder: Path) -> RunData:
    """Read a run folder written by ``run`` or ``compare``.

    Raises
    ------
    RunFolderError
        If the folder is missing, is not a run folder, or a file is missing or unreadable; the
        message names the folder or file and the problem in one line.
    """
    folder = Path(folder)
    if not folder.exists():
        raise RunFolderError(f"{folder} does not exist")
    if not folder.is_dir():
        raise RunFolderError(f"{folder} is not a folder (give the run folder written by run or "
                             "compare)")
    missing = [n for n in REQUIRED_FILES if not (folder / n).is_file()]
    if len(missing) == len(REQUIRED_FILES):
        raise RunFolderError(f"{folder} is not a run folder: none of {', '.join(REQUIRED_FILES)} "
                             "is in it")
    if missing:
        raise RunFolderError(f"{folder} is missing {', '.join(missing)}")
    ts = _read(folder, "timeseries.csv", pd.read_csv)
    summary = _read(folder, "summary.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
    kpis = _read(folder, "kpis.parquet", pd.read_parquet)
    events = _read(folder, "events.csv", pd.read_csv)
    manifest = _read(folder, "manifest.json", lambda p: json.loads(p.read_text(encoding="utf-8")))
    _check(folder, ts, summary, kpis, events, manifest)
    rules = (_read(folder, POLICY_RULES_FILE, pd.read_csv)
             if (folder / POLICY_RULES_FILE).is_file() else None)
    return run_data_from_tables(ts, summary, kpis, events, manifest, rules)


def _check(folder: Path, ts: pd.DataFrame, summary: Any, kpis: pd.DataFrame, events: pd.DataFrame,
           manifest: Any) -> None:
    """Raise :class:`RunFolderError` unless the files fit the outputs contract."""
    def fail(name: str, why: str) -> None:
        raise RunFolderError(f"{folder / name}: {why}")

    if missing := TIMESERIES_COLUMNS - set(ts.columns):
        fail("timeseries.csv", f"missing columns {', '.join(sorted(missing))}")
    if ts.empty:
        fail("timeseries.csv", "has no rows")
    if not isinstance(summary, dict) or not summary or not all(
            isinstance(v, dict) and all(isinstance(s, dict) for s in v.values())
            for v in summary.values()):
        fail("summary.json", "is not {scenario: {kpi: {statistic: value}}}")
    if missing := {"scenario", "replicate"} - set(kpis.columns):
        fail("kpis.parquet", f"missing columns {', '.join(sorted(missing))}")
    if missing := EVENT_COLUMNS - set(events.columns):
        fail("events.csv", f"missing columns {', '.join(sorted(missing))}")
    if not isinstance(manifest, dict):
        fail("manifest.json", "is not a JSON object")
    for key in ("seed", "replicates"):
        if not isinstance(manifest.get(key), int):
            fail("manifest.json", f"has no integer '{key}'")
    declared = manifest.get("dimensions")
    if not isinstance(declared, dict) or not all(
            isinstance(declared.get(k), list) for k in DIMENSIONS):
        fail("manifest.json", f"has no 'dimensions' with lists {', '.join(DIMENSIONS)} (a run "
                              "folder from an older version: run it again)")
    names = set(summary)
    for file, found in (("timeseries.csv", set(ts["scenario"].astype(str))),
                        ("kpis.parquet", set(kpis["scenario"].astype(str)))):
        if found != names:
            fail(file, f"holds scenarios {sorted(found)} but summary.json holds {sorted(names)}")
