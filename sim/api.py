"""The public Python API: what a modeller's notebook (and the command line) calls.

Load a scenario, run it (or several, with common random numbers), look at the results as tidy
pandas tables, draw the charts, write the results folder or the board pack; run a sweep file::

    import sim

    council = sim.load_scenario("scenarios/la_hosted.toml", {"finance.grants[0].end_month": 48})
    results = sim.compare([council, "scenarios/independent_company.toml"], replicates=500)
    results.kpis                      # one row per scenario and KPI: mean, p10, p50, p90
    results.plot_funding_cliff()      # a matplotlib Figure
    results.save("outputs", report=True)

    sweep = sim.sweep("scenarios/sweeps/base.toml", out="outputs")
    sweep.results                     # one row per run: parameters, KPIs, fiscal-year values

The same seed gives the same numbers as ``python run.py run/compare`` with that seed (the
command line calls these functions). Documented in docs/api.md, with a worked example in
docs/examples/.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.engine.rng import DEFAULT_BLOCK_SIZE
from sim.scenario import Scenario, ScenarioError
from sim.scenario import load_scenario as _load_scenario

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.experiments import EnsembleResult, Executor
    from sim.experiments.sweep import SweepRun
    from sim.experiments.sweepfile import Sweep
    from sim.outputs import RunData

__all__ = ["DEFAULT_BLOCK_SIZE", "DEFAULT_REPLICATES", "DEFAULT_SEED", "Results", "SweepResults",
           "compare", "draw_structure", "load_scenario", "mean_field", "run", "sweep", "xmile"]

DEFAULT_REPLICATES = 1000
"""Monte Carlo replicates per scenario when none are given."""
DEFAULT_SEED = 20260401
"""The seed when none is given (the same as the command line's)."""

ScenarioLike = Scenario | str | Path
Progress = Callable[[str, float | None], None]
"""Called with (scenario name, None) as a scenario starts and (name, seconds) as it ends."""


def load_scenario(path: str | Path,
                  overrides: Mapping[str, Any] | Sequence[str] = ()) -> Scenario:
    """A validated scenario from a TOML file, with overrides applied after inheritance.

    ``overrides`` is a mapping ``{"finance.grants[0].end_month": 48}`` (values as Python
    numbers, strings, booleans or lists) or ``--set``-style strings ``["key.path=48"]``.
    Raises :class:`~sim.scenario.ScenarioError` naming the file, key, value and rule.
    """
    if isinstance(overrides, Mapping):
        overrides = [f"{key}={_toml_value(value)}" for key, value in overrides.items()]
    return _load_scenario(path, list(overrides))


def _toml_value(value: Any) -> str:
    """A Python value as the TOML text ``--set`` reads."""
    import tomli_w

    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def _scenario(item: ScenarioLike) -> tuple[Scenario, str]:
    """The scenario and where it came from (its file, or that it was built in memory)."""
    if isinstance(item, Scenario):
        return item, f"<{item.meta.name}>"
    return load_scenario(item), str(item)


@dataclass
class Results:
    """The results of :func:`run` or :func:`compare`: one ensemble per scenario.

    Tables (pandas, tidy, built on first use):

    * :attr:`timeseries` — scenario, month, date, fiscal_year, metric, mean, p10, p50, p90;
    * :attr:`kpis` — one row per scenario and KPI: mean, p10, p50, p90, defined_share;
    * :attr:`runs` — one row per scenario and replicate, one column per KPI;
    * :attr:`events` — the calendar events (scenario, month, date, kind, subject, detail).

    :meth:`metric` gives every replicate's monthly values of one metric. The ``plot_*``
    methods return matplotlib figures (the charts of the results folder); :meth:`save` writes
    the results folder the command line writes, and :meth:`report` adds the board pack, HTML
    report and workbook. Column meanings: docs/outputs.md.
    """

    ensembles: list[EnsembleResult]
    seed: int
    replicates: int
    sources: list[str]
    overrides: list[str] = field(default_factory=list)
    parameter_uncertainty: list[str] = field(default_factory=list)
    draws: list[dict[str, Any]] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished: datetime = field(default_factory=lambda: datetime.now(UTC))
    prices: str = "nominal"
    """``nominal`` (as the model runs), or ``2026/27 prices`` (:meth:`in_real_terms`)."""
    block_size: int = DEFAULT_BLOCK_SIZE
    """Replicates per random-stream block of the run (part of what fixes its numbers)."""

    def in_real_terms(self) -> Results:
        """The same results with every money metric and KPI in 2026/27 prices (each month's
        nominal £ ÷ its ``cpi_index``; docs/outputs.md, "Prices")."""
        from dataclasses import replace

        from sim.experiments.prices import deflate
        from sim.outputs.prices import REAL

        if self.prices == REAL:
            return self
        return replace(self, ensembles=[deflate(e) for e in self.ensembles], prices=REAL)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names, in the order they were given."""
        return [e.name for e in self.ensembles]

    def __getitem__(self, scenario: str) -> EnsembleResult:
        """The ensemble of one scenario, by name (its arrays: ``metrics``, ``kpis``)."""
        for ensemble in self.ensembles:
            if ensemble.name == scenario:
                return ensemble
        raise KeyError(f"no scenario {scenario!r}; the results hold {self.scenarios}")

    # ------------------------------------------------------------------ tables
    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """Ensemble mean and quantiles of every metric in every month, long format."""
        from sim.outputs import timeseries_table

        return timeseries_table(self.ensembles, self.prices)

    @cached_property
    def kpis(self) -> pd.DataFrame:
        """Mean, p10, p50, p90 and defined share of every KPI, one row per scenario and KPI."""
        import pandas as pd

        return pd.DataFrame([{"scenario": e.name, "kpi": kpi, **stats}
                             for e in self.ensembles for kpi, stats in e.kpi_summary().items()])

    @cached_property
    def runs(self) -> pd.DataFrame:
        """Every replicate's KPIs: scenario, replicate, one column per KPI."""
        from sim.outputs import kpi_table

        return kpi_table(self.ensembles)

    @cached_property
    def events(self) -> pd.DataFrame:
        """The calendar events of each scenario (monthly launch decisions left out)."""
        from sim.outputs import events_table

        return events_table(self.ensembles)

    def metric(self, name: str, scenario: str | None = None) -> pd.DataFrame:
        """Every replicate's value of metric ``name`` in every month, one row per replicate
        (columns: scenario, replicate, then one per month); all scenarios unless one is
        named."""
        import pandas as pd

        frames = []
        for ensemble in self.ensembles if scenario is None else [self[scenario]]:
            if name not in ensemble.metrics:
                raise KeyError(f"no metric {name!r}; see docs/outputs.md for the metrics")
            frame = pd.DataFrame(ensemble.metrics[name])
            frame.insert(0, "replicate", range(len(frame)))
            frame.insert(0, "scenario", ensemble.name)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------------ charts and files
    def _manifest(self) -> dict[str, Any]:
        from sim.experiments.uncertainty import PARAMETER_GROUP_SIZE
        from sim.outputs import manifest

        extra: dict[str, Any] = {"block_size": self.block_size,
                                 "overrides": list(self.overrides), "prices": self.prices,
                                 "real_terms": self.prices != "nominal",
                                 "scenario_meta": self._scenario_meta}
        if self.parameter_uncertainty:
            extra["parameter_uncertainty"] = {
                "files": list(self.parameter_uncertainty), "group_size": PARAMETER_GROUP_SIZE,
                "parameters": sorted({k for row in self.draws for k in row
                                      if k not in ("scenario", "group", "first_replicate",
                                                   "replicates", "seed")}),
                "draws_file": "parameter_draws.csv"}
        command = "run" if len(self.ensembles) == 1 else "compare"
        return manifest(command, sys.argv, self.sources, self.seed, self.replicates,
                        self.started, self.finished, extra)

    @cached_property
    def _scenario_meta(self) -> dict[str, Any]:
        """Each scenario's plain title, description and declared drivers, with the drivers'
        values in ``scenarios/base.toml`` (under the same overrides): the board page's words,
        carried to the outputs by the manifest."""
        from sim.scenario.drivers import REFERENCE_FILE, reference_scenario, scenario_meta

        reference = reference_scenario(self.overrides)
        return {"reference": f"scenarios/{REFERENCE_FILE.name}" if reference else None,
                "scenarios": {e.name: scenario_meta(e.scenario, reference)
                              for e in self.ensembles}}

    @cached_property
    def _data(self) -> RunData:
        from sim.outputs import summary_dict
        from sim.outputs.rundata import run_data_from_tables

        info = {**self._manifest(),
                "dimensions": {k: list(v) for k, v in self.ensembles[0].dimensions.items()}}
        return run_data_from_tables(self.timeseries, summary_dict(self.ensembles),
                                    self.runs, self.events, info)

    def _figure(self, build: Callable[[RunData], Any]) -> Figure:
        chart = build(self._data)
        if chart is None:
            raise ValueError("this chart needs two or more scenarios (use compare)")
        return chart.figure

    def plot_funding_cliff(self) -> Figure:
        """The funding cliff: income by source, costs and reserves by month (first scenario)."""
        from sim.outputs.charts import funding_cliff_chart

        return self._figure(funding_cliff_chart)

    def plot_trajectories(self) -> Figure:
        """Members, staff, live services and reserves over time, one band per scenario."""
        from sim.outputs.charts import trajectories_chart

        return self._figure(trajectories_chart)

    def plot_survival(self) -> Figure:
        """Share of runs still operating by month, one line per scenario."""
        from sim.outputs.charts import survival_chart

        return self._figure(survival_chart)

    def plot_growth_path(self) -> Figure:
        """Live services by strand over time (Gall's law or big bang)."""
        from sim.outputs.charts import growth_chart

        return self._figure(growth_chart)

    def plot_paired_differences(self) -> Figure:
        """Each scenario against the first, replicate by replicate (common random numbers)."""
        from sim.outputs.charts import paired_chart

        return self._figure(paired_chart)

    def save(self, out: str | Path = "outputs", *, report: bool = False) -> Path:
        """Write the results folder the command line writes (tables, charts, resolved
        scenarios, manifest; with ``report`` also report.html, board_pack.pdf and
        workbook.xlsx) under ``out``; returns the new folder.

        Raises :class:`sim.outputs.ArtefactError` (its ``folder`` holds the data files) if a
        chart or report file cannot be written."""
        from sim.outputs import write_run
        from sim.scenario import resolved_toml

        draws = {"parameter_draws.csv": self.draws} if self.draws else None
        return write_run(Path(out), "run" if len(self.ensembles) == 1 else "compare",
                         self.ensembles, [resolved_toml(e.scenario) for e in self.ensembles],
                         self._manifest(), report=report, extra_tables=draws)

    def write_html_report(self, path: str | Path) -> Path:
        """Write ``report.html`` alone (the board pack as one self-contained page: ranking,
        drivers, scorecard and every chart) to ``path``; the charts are drawn in a temporary
        folder and embedded. The explorer's "Board pack" button calls this."""
        import tempfile

        from sim.outputs import scorecard_rows, write_charts, write_html_report

        with tempfile.TemporaryDirectory(prefix="coe-report-") as folder:
            charts = write_charts(self._data, lambda name: Path(folder) / name)
            return write_html_report(Path(path), self._data, scorecard_rows(self._data), charts)

    def report(self, out: str | Path = "outputs") -> Path:
        """:meth:`save` with the board pack, HTML report and finance workbook."""
        return self.save(out, report=True)


def run(scenario: ScenarioLike, replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED,
        workers: int | None = None, *, parameter_uncertainty: Sequence[str | Path] = (),
        executor: Executor | None = None, progress: Progress | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE) -> Results:
    """Run one scenario (a :class:`~sim.scenario.Scenario` or a scenario file).

    Parameters
    ----------
    replicates, seed : the ensemble; the same seed gives the same numbers.
    workers : processes on this machine (default: every core from 3,000 replicates, else 1);
        never changes the numbers.
    parameter_uncertainty : calibrations' ``fit.json`` files (or their folders): each group of
        25 replicates draws its parameters from them (docs/calibration.md).
    executor : an executor from :func:`sim.experiments.make_executor` (e.g. Dask), used
        instead of ``workers`` and left open.
    progress : called as each scenario starts and ends (see :data:`Progress`).
    block_size : replicates per random-stream block (default 1,000). Part of what fixes the
        numbers: the same seed and block size give the same numbers with any ``workers``, but
        another block size gives other numbers (docs/experiments.md §8). Smaller blocks let
        more workers share a small ensemble.
    """
    return compare([scenario], replicates, seed, workers,
                   parameter_uncertainty=parameter_uncertainty, executor=executor,
                   progress=progress, block_size=block_size)


def compare(scenarios: Sequence[ScenarioLike], replicates: int = DEFAULT_REPLICATES,
            seed: int = DEFAULT_SEED, workers: int | None = None, *,
            parameter_uncertainty: Sequence[str | Path] = (),
            executor: Executor | None = None, progress: Progress | None = None,
            sources: Sequence[str] | None = None, overrides: Sequence[str] = (),
            block_size: int = DEFAULT_BLOCK_SIZE) -> Results:
    """Run several scenarios with the same seed, so they share common random numbers, mechanism
    by mechanism (the options as for :func:`run`). Scenario names must differ.

    ``sources`` and ``overrides`` are only recorded in the results' manifest (the files the
    scenarios came from and the overrides applied to them, when they were loaded elsewhere).
    """
    from sim.data import load_la_population
    from sim.experiments import run_ensemble
    from sim.experiments.uncertainty import (
        load_parameter_distribution,
        run_with_parameter_uncertainty,
    )

    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, got {block_size}")
    loaded = [_scenario(item) for item in scenarios]
    names = [s.meta.name for s, _ in loaded]
    if len(set(names)) != len(names):
        raise ScenarioError(", ".join(src for _, src in loaded), "meta.name",
                            f"must differ between scenarios to be compared; got {names}")
    distributions = [load_parameter_distribution(f) for f in parameter_uncertainty]
    las = load_la_population()
    started = datetime.now(UTC)
    ensembles, draws = [], []
    for scenario, _ in loaded:
        t0 = time.perf_counter()
        if progress is not None:
            progress(scenario.meta.name, None)
        if distributions:
            ensemble, rows = run_with_parameter_uncertainty(scenario, las, replicates, seed,
                                                            distributions, block_size=block_size)
            draws += [{"scenario": scenario.meta.name, **row} for row in rows]
        else:
            ensemble = run_ensemble(scenario, las, replicates, seed, block_size,
                                    workers=workers, executor=executor)
        ensembles.append(ensemble)
        if progress is not None:
            progress(scenario.meta.name, time.perf_counter() - t0)
    return Results(ensembles=ensembles, seed=seed, replicates=replicates,
                   sources=list(sources) if sources is not None else [src for _, src in loaded],
                   overrides=list(overrides),
                   parameter_uncertainty=[d.source for d in distributions], draws=draws,
                   started=started, finished=datetime.now(UTC), block_size=block_size)


@dataclass
class SweepResults:
    """A sweep's folder and its tables: :attr:`results` (one row per run: point, replicate,
    parameters, KPIs, fiscal-year values) and :attr:`design` (one row per design point)."""

    run: SweepRun

    @property
    def folder(self) -> Path:
        return self.run.folder

    @cached_property
    def results(self) -> pd.DataFrame:
        import pandas as pd

        return pd.read_parquet(self.run.results)

    @cached_property
    def design(self) -> pd.DataFrame:
        from sim.experiments.sweep import read_design

        return read_design(self.run.folder)


def _write_winners(spec: Sweep, done: SweepResults) -> list[Path]:
    """``winners.csv`` and the winners map of a sweep with a scenario factor."""
    from sim.experiments.store import read_results
    from sim.experiments.sweepfile import SCENARIO_FACTOR
    from sim.outputs.winners import write_winners

    x, y, kpi = spec.map_axes()
    inputs = [p for p in spec.paths if p != SCENARIO_FACTOR]
    manifest = done.run.manifest
    results = read_results(done.folder, columns=[SCENARIO_FACTOR, *inputs, kpi]).to_pandas()
    meta = {"factor": SCENARIO_FACTOR, "inputs": inputs, "x": x, "y": y, "kpi": kpi,
            "titles": dict(spec.titles), "labels": {p.path: p.name for p in spec.parameters},
            "grid": spec.spec.design == "grid",
            "footer": f"Sweep {spec.name} · {manifest.get('points', '?')} points × "
                      f"{manifest.get('replicates', '?')} replicates · seed "
                      f"{manifest.get('seed', '?')} · common random numbers "
                      f"{'on' if manifest.get('common_random_numbers') else 'off'} · coe-sim "
                      f"{manifest.get('version', '')}"}
    return write_winners(results, meta, done.folder)


Announce = Callable[["Sweep", int, "Executor", bool], None]
"""Called once the work is known, before it runs: (the sweep, its design points, the executor,
whether an earlier unfinished folder is being resumed)."""


def sweep(sweep_file: str | Path, out: str | Path = "outputs", *, workers: int | None = None,
          executor: str | Executor = "local", scheduler: str | None = None,
          chunk_size: int | None = None, resume: bool = False,
          parameter_uncertainty: Sequence[str | Path] = (), progress: bool = False,
          announce: Announce | None = None, command: Sequence[str] = ()) -> SweepResults:
    """Run a sweep file (docs/experiments.md): every design point × replicate, in chunks,
    written to a new folder under ``out`` as Parquet, the same to the bit whatever the
    executor, workers or chunk size.

    Parameters
    ----------
    executor : ``"local"`` (``workers`` processes on this machine), ``"dask"`` (a LocalCluster,
        or the cluster at ``scheduler``), ``"serial"``, or an executor object (left open).
    resume : continue the newest unfinished folder of this sweep under ``out`` (running only
        its missing chunks), or start afresh when there is none.
    parameter_uncertainty : calibrations' ``fit.json`` files: every design point draws its
        calibrated parameters per group of 25 replicates.
    progress : show a progress bar on stderr.
    command : the command line to record in the manifest.

    Raises
    ------
    ScenarioError
        A bad sweep file or fit file.
    ValueError
        A design the sweep file cannot make (e.g. a Sobol' sample size that is not a power of 2).
    sim.outputs.ArtefactError
        The results are written but the winners table or chart is not.
    """
    import pandas as pd

    from sim.experiments import make_executor
    from sim.experiments.design import build_design
    from sim.experiments.store import find_resumable, read_manifest
    from sim.experiments.sweep import run_design
    from sim.experiments.sweepfile import load_sweep
    from sim.experiments.uncertainty import load_parameter_distribution

    spec = load_sweep(sweep_file)
    uncertainty = [load_parameter_distribution(f) for f in parameter_uncertainty]
    out = Path(out)
    folder = find_resumable(out, "sweep", spec.name) if resume else None
    design = pd.DataFrame() if folder is not None else build_design(spec)  # resumed: stored
    points = int(read_manifest(folder)["points"]) if folder is not None else len(design)

    def go(pool: Executor) -> SweepResults:
        if announce is not None:
            announce(spec, points, pool, folder is not None)
        done = SweepResults(run_design(spec, design, out, kind="sweep", executor=pool,
                                       chunk_size=chunk_size, resume=resume, progress=progress,
                                       command=command, uncertainty=uncertainty))
        if spec.spec.scenario_factor is not None:
            try:
                _write_winners(spec, done)
            except Exception as exc:  # results.parquet is kept: say which artefact failed
                from sim.outputs import ArtefactError

                raise ArtefactError(done.folder, [("winners.csv/winners.png", exc)]) from exc
        return done

    if not isinstance(executor, str):
        return go(executor)
    if scheduler and executor == "local":
        executor = "dask"
    with make_executor(executor, workers, scheduler) as own:
        return go(own)


# --------------------------------------------------------------------------- structure


def _mean_field_parameters(scenario: ScenarioLike) -> tuple[Any, int, Scenario]:
    from sim.data import load_la_population
    from sim.model import compile_parameters
    from sim.model.meanfield import mean_field_parameters

    loaded, _ = _scenario(scenario)
    params = compile_parameters(loaded, load_la_population(), 1)
    return mean_field_parameters(params), loaded.time.horizon_months, loaded


def mean_field(scenario: ScenarioLike) -> pd.DataFrame:
    """The deterministic mean-field trajectories of a scenario's aggregate core, one row per
    month (docs/structure.md): LAs by ladder state, staff by role, reserves, members, and the
    month's joins, leavers, hires, income and costs. The same numbers as the XMILE export
    (:func:`xmile`) run in PySD."""
    import pandas as pd

    from sim.model.meanfield import simulate_mean_field

    mf, horizon, _ = _mean_field_parameters(scenario)
    table = pd.DataFrame(simulate_mean_field(mf, horizon))
    table.index.name = "month"
    return table


def xmile(scenario: ScenarioLike) -> str:
    """The XMILE 1.0 text of a scenario's aggregate core, its values as constants
    (docs/structure.md): what ``python run.py export-xmile`` writes."""
    from sim.model.xmile import xmile_text
    from sim.version import __version__

    mf, horizon, loaded = _mean_field_parameters(scenario)
    return xmile_text(mf, horizon, name=loaded.meta.name, title=loaded.meta.title or "",
                      version=__version__)


def draw_structure(out: str | Path = "docs") -> list[Path]:
    """Render the diagram of the model's stocks, flows and loops
    (:func:`sim.model.structure.dot_source`) with graphviz into ``out``/structure.svg and
    .png; return their paths. Needs graphviz's ``dot`` program."""
    import graphviz

    from sim.files import atomic_write
    from sim.model.meanfield import STOCKS as CORE
    from sim.model.structure import dot_source

    source = graphviz.Source(dot_source(CORE), engine="dot")
    written = []
    for fmt in ("svg", "png"):
        data: bytes = source.pipe(format=fmt)

        def write(path: Path, data: bytes = data) -> None:
            path.write_bytes(data)

        written.append(atomic_write(Path(out) / f"structure.{fmt}", write))
    return written
