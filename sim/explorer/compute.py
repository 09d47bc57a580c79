"""What the explorer computes for a screen: the pinned baseline and the scenario on screen, run
with the same seed (common random numbers), and the tables the charts read.

Ensembles run on a pool of worker processes kept for the life of the app
(:class:`sim.experiments.pool.EnsemblePool`), in random-stream blocks of 500
(:data:`~sim.experiments.pool.EXPLORER_BLOCK_SIZE`), so the two blocks of 1,000 replicates run
on both cores at once. A number on screen is the number ``python run.py run FILE --seed S
--replicates N --block-size 500`` prints for the saved file (tests/explorer checks it). The
workers send back only what the screen reads — the charts' metrics and every KPI — and the
board pack runs its ensembles again with every metric. Results are kept by the text of the
scenario file that made them (and the replicates and seed), the baseline's pinned, so the same
screen is never run twice and two browser tabs share finished work but never each other's
state: a tab's state is its own inputs, sent with every request (docs/explorer.md).
"""

from __future__ import annotations

import fnmatch
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
from sim.experiments.pool import EXPLORER_BLOCK_SIZE, EnsemblePool
from sim.explorer.controls import explored_scenario
from sim.outputs import calendar_columns, events_table, kpi_table, summary_dict
from sim.outputs.rundata import RunData, run_data_from_tables
from sim.scenario import Scenario, load_scenario

__all__ = ["CHART_METRICS", "EXPLORER_BLOCK_SIZE", "Explorer", "Screen"]

CHART_METRICS = ("income_total_gbp", "costs_total_gbp", "reserves_gbp", "months_of_cover",
                 "viable", "operating", "members", "market_las", "staff_fte", "funded_posts",
                 "live_services")
"""The metrics the explorer's charts read (with every ``income_<source>_gbp``)."""
CHART_PATTERNS = (*CHART_METRICS, "income_*_gbp")
"""What the workers send back of each run, besides the KPIs (``fnmatch`` patterns)."""
CLOSE_WAIT_SECONDS = 5.0
"""How long stopping the app waits for an ensemble that is running to finish."""
CACHE_SIZE = 12
"""Finished ensembles kept besides the pinned baseline: the charts' 20 metrics of every run,
about 20 MB each at 1,000 ten-year replicates (enough to step back through recent screens)."""


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
    notice: str = ""
    """Said on the status line: e.g. that a worker died and the pool was restarted."""


class Explorer:
    """The explorer's state on the server: the scenario files it offers, a pool of
    ``workers`` processes that runs its ensembles in random-stream blocks of ``block_size``
    (1 worker: in this process) and a cache of finished ensembles (by scenario text,
    replicates and seed). Safe to call from several threads: one
    ensemble runs at a time. :meth:`start` starts the workers; :meth:`close` stops them."""

    def __init__(self, files: list[Path], replicates: int = 500,
                 seed: int = api.DEFAULT_SEED, workers: int = 1,
                 block_size: int = EXPLORER_BLOCK_SIZE) -> None:
        self.files = [Path(f) for f in files]
        self.replicates = replicates
        self.seed = seed
        self.block_size = block_size
        self._scenarios: dict[str, Scenario] = {}
        self._cache: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
        self._pinned: tuple[str, int, int] | None = None
        self._lock = threading.Lock()
        self.pool = EnsemblePool(workers, self.block_size)

    @property
    def workers(self) -> int:
        return self.pool.workers

    def start(self) -> float:
        """Start the worker processes and load the model in each (numba compiles its kernels
        the first time). Returns the seconds taken."""
        with self._lock:
            return self.pool.start(self.scenario(self.files[0]))

    def close(self) -> None:
        """Stop the worker processes (idempotent): after the ensemble running now, if any,
        unless it takes more than a few seconds (then it is ended and fails)."""
        locked = self._lock.acquire(timeout=CLOSE_WAIT_SECONDS)
        try:
            self.pool.close()
        finally:
            if locked:
                self._lock.release()

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

    def _ensemble(self, scenario: Scenario, text: str, replicates: int,
                  pin: bool = False) -> Any:
        """The cached (ensemble, chart table) of a scenario, run on the pool if missing; the
        caller holds the lock. ``pin`` keeps it whatever else is run (the baseline)."""
        key = (text, replicates, self.seed)
        if pin:
            self._pinned = key
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        ensemble = self.pool.run(scenario, replicates, self.seed, CHART_PATTERNS)
        self._cache[key] = found = (ensemble, _light_timeseries(ensemble))
        unpinned = [k for k in self._cache if k != self._pinned]
        while len(unpinned) > CACHE_SIZE:
            del self._cache[unpinned.pop(0)]
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
        with self._lock:
            restarts = self.pool.restarts
            t0 = time.perf_counter()
            runs = [self._ensemble(base_scenario, base_text, replicates, pin=True),
                    self._ensemble(scenario, text, replicates)]
            simulate = time.perf_counter() - t0
            notice = ("" if self.pool.restarts == restarts else
                      "a worker process died: the explorer restarted its workers and ran the "
                      "change again")
        ensembles = [ensemble for ensemble, _ in runs]
        results = self._results(ensembles, baseline[0], name, replicates)
        data = screen_data(ensembles, pd.concat([ts for _, ts in runs], ignore_index=True),
                           self.seed, replicates)
        return Screen(data, results, ensembles[0].name, ensembles[1].name, text,
                      time.perf_counter() - started, simulate, notice)

    def full_results(self, name: str, values: Mapping[str, Any],
                     baseline: tuple[str, Mapping[str, Any] | None]) -> api.Results:
        """The baseline and the explored scenario with every metric of every run (for the
        board pack): run again on the pool, not kept."""
        base_scenario, _ = self.prepare(baseline[0], baseline[1], role="baseline")
        scenario, _ = self.prepare(name, values)
        with self._lock:
            ensembles = [self.pool.run(s, self.replicates, self.seed)
                         for s in (base_scenario, scenario)]
        return self._results(ensembles, baseline[0], name, self.replicates)

    def _results(self, ensembles: list[Any], baseline: str, name: str,
                 replicates: int) -> api.Results:
        return api.Results(ensembles=ensembles, seed=self.seed, replicates=replicates,
                           sources=[baseline, f"{name} (explored)"], block_size=self.block_size)


def _light_timeseries(ensemble: Any) -> pd.DataFrame:
    """The long timeseries table (as ``timeseries.csv``) of the charts' metrics only: the full
    table summarises ~140 metrics, which costs more than the explorer's latency allows."""
    scenario = ensemble.scenario
    cal = calendar_columns(scenario.time.start, scenario.time.horizon_months)
    names = [m for m in ensemble.metrics
             if any(fnmatch.fnmatchcase(m, pattern) for pattern in CHART_PATTERNS)]
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
