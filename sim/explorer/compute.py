"""What the explorer computes for a screen: the pinned baseline and the scenario on screen, run
with the same seed (common random numbers), and the tables the charts read.

Every ensemble goes through :func:`sim.api.compare`, as ``python run.py run`` does, so a number
on screen is the number the command line prints for the same file and seed. Results are kept
by the text of the scenario file that made them (and the replicates and seed), so the same
screen is never run twice and two browser tabs share finished work but never each other's
state: a tab's state is its own inputs, sent with every request (docs/explorer.md).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import api
from sim.engine.stats import summarise
from sim.explorer.controls import explored_scenario
from sim.outputs import calendar_columns, events_table, kpi_table, summary_dict
from sim.outputs.rundata import RunData, run_data_from_tables
from sim.scenario import Scenario, load_scenario

__all__ = ["CHART_METRICS", "Explorer", "Screen"]

CHART_METRICS = ("income_total_gbp", "costs_total_gbp", "reserves_gbp", "months_of_cover",
                 "viable", "operating", "members", "market_las", "staff_fte", "funded_posts",
                 "live_services")
"""The metrics the explorer's charts read (with every ``income_<source>_gbp``)."""
CACHE_SIZE = 6
"""Finished ensembles kept: every metric of every run, about 125 MB each at 1,000 ten-year
replicates, so a handful (the baseline and the last few screens, enough to step back)."""


@dataclass(frozen=True)
class Screen:
    """What one screen shows: the baseline and the explored scenario's results as a
    :class:`~sim.outputs.rundata.RunData` (baseline first), the full results (for the board
    pack), the explored scenario's file text and how long the run took."""

    data: RunData
    results: api.Results
    baseline: str
    explored: str
    toml: str
    seconds: float
    simulate_seconds: float


class Explorer:
    """The explorer's state on the server: the scenario files it offers and a cache of
    finished ensembles (by scenario text, replicates and seed). Safe to call from several
    threads: one ensemble runs at a time."""

    def __init__(self, files: list[Path], replicates: int = 500,
                 seed: int = api.DEFAULT_SEED) -> None:
        self.files = [Path(f) for f in files]
        self.replicates = replicates
        self.seed = seed
        self._scenarios: dict[str, Scenario] = {}
        self._cache: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def scenario(self, file: str | Path) -> Scenario:
        """The base scenario of a file (loaded once)."""
        key = str(file)
        if key not in self._scenarios:
            self._scenarios[key] = load_scenario(Path(file))
        return self._scenarios[key]

    def file(self, name: str) -> Path:
        """One of the offered files, by its path as shown (refuses any other path)."""
        for file in self.files:
            if str(file) == name:
                return file
        raise KeyError(f"not a scenario this explorer offers: {name!r}")

    def _ensemble(self, scenario: Scenario, text: str, replicates: int) -> Any:
        key = (text, replicates, self.seed)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            ensemble = api.run(scenario, replicates, self.seed).ensembles[0]
            self._cache[key] = found = (ensemble, _light_timeseries(ensemble))
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return found

    def prepare(self, name: str, values: Mapping[str, Any] | None,
                role: str = "explored") -> tuple[Scenario, str]:
        """The scenario of a file with control values applied, and its file text (the base file
        itself, unchanged, when ``values`` is None)."""
        file = self.file(name)
        base = self.scenario(file)
        if values is None:
            return base, file.read_text(encoding="utf-8")
        return explored_scenario(file, base, values, role=role)

    def screen(self, name: str, values: Mapping[str, Any],
               baseline: tuple[str, Mapping[str, Any] | None],
               replicates: int | None = None) -> Screen:
        """Run (or recall) the baseline and the explored scenario and build their tables."""
        started = time.perf_counter()
        replicates = replicates or self.replicates
        base_scenario, base_text = self.prepare(baseline[0], baseline[1], role="baseline")
        scenario, text = self.prepare(name, values)
        t0 = time.perf_counter()
        runs = [self._ensemble(base_scenario, base_text, replicates),
                self._ensemble(scenario, text, replicates)]
        simulate = time.perf_counter() - t0
        ensembles = [ensemble for ensemble, _ in runs]
        results = api.Results(ensembles=ensembles, seed=self.seed, replicates=replicates,
                              sources=[baseline[0], f"{name} (explored)"])
        data = screen_data(ensembles, pd.concat([ts for _, ts in runs], ignore_index=True),
                           self.seed, replicates)
        return Screen(data, results, ensembles[0].name, ensembles[1].name, text,
                      time.perf_counter() - started, simulate)


def _light_timeseries(ensemble: Any) -> pd.DataFrame:
    """The long timeseries table (as ``timeseries.csv``) of the charts' metrics only: the full
    table summarises ~140 metrics, which costs more than the explorer's latency allows."""
    scenario = ensemble.scenario
    cal = calendar_columns(scenario.time.start, scenario.time.horizon_months)
    names = [m for m in ensemble.metrics
             if m in CHART_METRICS or (m.startswith("income_") and m.endswith("_gbp"))]
    frames = []
    for metric in names:
        stats = summarise(np.asarray(ensemble.metrics[metric]))
        frames.append(pd.DataFrame({**{c: cal[c] for c in cal}, "metric": metric,
                                    **{c: stats[c] for c in ("mean", "p10", "p50", "p90")}}))
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "scenario", ensemble.name)
    return frame


def screen_data(ensembles: list[Any], timeseries: pd.DataFrame, seed: int,
                replicates: int) -> RunData:
    """A :class:`RunData` of the screen: the charts' metrics, every KPI per run and summary,
    and the events, as a results folder would hold them."""
    meta = {e.name: {"title": e.scenario.meta.plain_title,
                     "description": e.scenario.meta.description} for e in ensembles}
    manifest = {"seed": seed, "replicates": replicates, "prices": "nominal",
                "dimensions": {k: list(v) for k, v in ensembles[0].dimensions.items()},
                "scenario_meta": {"reference": None, "scenarios": meta},
                "command": "explore"}
    return run_data_from_tables(timeseries, summary_dict(ensembles),
                                kpi_table(ensembles), events_table(ensembles), manifest)
