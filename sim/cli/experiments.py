"""Experiments at scale: ``sweep``, ``sensitivity`` and ``discover``.

They parse, call the library and report: a bad sweep file is one line naming the file, the key
path, the value and the rule, with exit code 2. Exit codes: 0 done, 1 failed while running
(e.g. a worker died), 2 bad input, 130 interrupted (Ctrl-C; finished chunks are kept and
``--resume`` continues).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from sim.cli._common import (
    BAD_INPUT,
    FAILED,
    INTERRUPTED,
    check_out,
    fail,
    options,
    out_option,
)

if TYPE_CHECKING:
    from sim.experiments.executors import Executor
    from sim.experiments.sweepfile import Sweep

__all__ = ["discover", "sensitivity", "sweep"]

T = TypeVar("T")

_executor_options = options(
    click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
                 show_default=True,
                 help="local: a process pool on this machine; dask: dask.distributed (a new "
                      "LocalCluster, or the cluster at --scheduler)."),
    click.option("--workers", type=click.IntRange(min=1), default=None,
                 help="Worker processes (default: every core; 1 runs in this process). Never "
                      "changes the numbers."),
    click.option("--scheduler", metavar="ADDRESS", default=None,
                 help="Dask scheduler to join, e.g. tcp://10.0.0.5:8786 (implies --executor "
                      "dask)."),
    click.option("--chunk-size", type=click.IntRange(min=1), default=None,
                 help="Design points per chunk (default: about two seconds of work). Never "
                      "changes the numbers."),
    click.option("--resume", is_flag=True, default=False,
                 help="Continue the newest unfinished folder of this sweep under --out, running "
                      "only its missing chunks (starts afresh if there is none)."),
    out_option("the sweep folder"),
    click.option("--progress/--no-progress", default=None,
                 help="Show a progress bar (default: when the terminal is interactive)."),
)
"""Options of every command that runs a sweep's design points."""


def _load(sweep_file: str) -> Sweep:
    from sim.experiments.sweepfile import load_sweep
    from sim.scenario import ScenarioError

    try:
        return load_sweep(sweep_file)
    except ScenarioError as exc:
        fail(str(exc), BAD_INPUT)


def _executor(kind: str, workers: int | None, scheduler: str | None) -> Executor:
    from sim.experiments.executors import ExecutorError, make_executor

    if scheduler and kind == "local":
        kind = "dask"
    try:
        return make_executor(kind, workers, scheduler)
    except ExecutorError as exc:
        fail(str(exc), FAILED)


def _resume_hint(command: str) -> str:
    args = [a for a in sys.argv[1:] if a != "--resume"]
    if args and args[0] == command:
        return "python run.py " + " ".join(shlex.quote(a) for a in args) + " --resume"
    return f"python run.py {command} ... --resume"


def _run(call: Callable[[], T], command: str) -> T:
    """Run a sweep call, turning its failures into one-line errors and exit codes."""
    from sim.experiments.executors import ExecutorError
    from sim.experiments.sweep import SweepError, SweepInterrupted

    try:
        return call()
    except SweepInterrupted as exc:
        click.echo(f"\n{exc}", err=True)
        click.echo(f"resume with: {_resume_hint(command)}", err=True)
        sys.exit(INTERRUPTED)
    except SweepError as exc:
        fail(str(exc), BAD_INPUT)
    except ExecutorError as exc:
        fail(f"{exc}; the chunks already written are kept: resume with "
             f"{_resume_hint(command)}", FAILED)
    except OSError as exc:
        fail(f"cannot write the sweep: {exc}", FAILED)


def _header(sweep: Sweep, points: int, executor: Executor, what: str) -> None:
    runs = points * sweep.spec.replicates
    click.echo(f"{what} {sweep.name}: {points:,} points × {sweep.spec.replicates:,} replicates = "
               f"{runs:,} runs, seed {sweep.spec.seed}, on {executor.describe()}")


def _progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def _stored_points(out_dir: Path, sweep: Sweep) -> int:
    from sim.experiments.store import find_resumable, read_manifest

    folder = find_resumable(out_dir, "sweep", sweep.name)
    return int(read_manifest(folder)["points"]) if folder is not None else 0


@click.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@_executor_options
@click.option("--parameter-uncertainty", "parameter_uncertainty", multiple=True,
              type=click.Path(path_type=Path), metavar="FIT",
              help="Also draw calibrated parameters from a calibration's fit.json (or its folder) "
                   "at every design point, one draw per group of 25 replicates "
                   "(docs/calibration.md). Repeatable; must not name a swept parameter.")
def sweep(sweep_file: str, executor: str, workers: int | None, scheduler: str | None,
          chunk_size: int | None, resume: bool, out_dir: Path, progress: bool | None,
          parameter_uncertainty: tuple[Path, ...] = ()) -> None:
    """Run every design point × replicate of SWEEP_FILE; write one Parquet row per run.

    Chunks are written as they finish (chunks/part-*.parquet) and combined into
    results.parquet; an interrupted sweep continues with --resume. The numbers never depend on
    --executor, --workers or --chunk-size.
    """
    from sim import api
    from sim.experiments.store import read_results
    from sim.outputs import ArtefactError
    from sim.outputs.console import sweep_kpi_lines
    from sim.scenario import ScenarioError

    def announce(spec: Sweep, points: int, pool: Executor, resuming: bool) -> None:
        if resume and not resuming:
            click.echo(f"No earlier sweep {spec.name} under {out_dir}/: starting a new one.")
        _header(spec, points, pool, "Resuming sweep" if resuming else "Sweep")

    spec = _load(sweep_file)
    check_out(out_dir)
    with _executor(executor, workers, scheduler) as pool:
        try:
            done = _run(lambda: api.sweep(
                sweep_file, out_dir, executor=pool, chunk_size=chunk_size, resume=resume,
                parameter_uncertainty=parameter_uncertainty, progress=_progress(progress),
                announce=announce, command=sys.argv), "sweep")
        except ScenarioError as exc:
            fail(str(exc), BAD_INPUT)
        except ArtefactError as exc:  # results.parquet is written; the winners chart is not
            fail(str(exc), FAILED)
        except ValueError as exc:
            fail(f"{spec.source}: {exc}", BAD_INPUT)
    run = done.run
    rate = (run.chunks_run / run.chunks) * run.runs / run.seconds if run.seconds else 0.0
    click.echo(f"{run.chunks_run} of {run.chunks} chunks run in {run.seconds:.1f} s"
               + (f" ({rate:,.0f} runs/s)" if run.chunks_run else " (all were already done)"))
    click.echo("")
    kpis = list(spec.kpis)
    for line in sweep_kpi_lines(read_results(run.folder, columns=kpis).to_pandas(), kpis):
        click.echo(line)
    n_series = len(spec.metrics) * len(run.manifest.get("fiscal_years", []))
    click.echo(f"\nResults written to {run.folder}/")
    click.echo(f"  results.parquet ({run.runs:,} rows: point, replicate, {len(spec.parameters)} "
               f"parameters, {len(kpis)} KPIs, {n_series} fiscal-year columns), design.parquet, "
               "chunks/, manifest.json, sweep.toml"
               + (", base.resolved.<scenario>.toml for each scenario" if spec.bases
                  else ", base.resolved.toml" if spec.base is not None else ""))
    if spec.bases:
        x, y, kpi = spec.map_axes()
        click.echo(f"  winners.csv (each scenario's mean {kpi} and the winner for every "
                   f"combination of the other parameters), winners.png/.svg (the winner by "
                   f"{x}" + (f" and {y})" if y else ")"))
    if "survival_prob_y10" in kpis:
        click.echo(f"Next: python run.py discover {run.folder} --kpi survival_prob_y10 "
                   "--threshold 0.8")


@click.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(["sobol", "morris"]), default="sobol",
              show_default=True, help="Sobol' indices (S1, ST, S2) or Morris screening.")
@click.option("--samples", "-N", type=click.IntRange(min=2), default=None,
              help="Base sample size N (default: the sweep file's sensitivity.samples; Sobol' "
                   "needs a power of 2).")
@click.option("--charts/--no-charts", default=True, show_default=True,
              help="Draw the index, over-time and tornado charts (PNG and SVG).")
@_executor_options
def sensitivity(sweep_file: str, method: str, samples: int | None, charts: bool, executor: str,
                workers: int | None, scheduler: str | None, chunk_size: int | None,
                resume: bool, out_dir: Path, progress: bool | None) -> None:
    """Global sensitivity of every KPI (and of reserves and members at each fiscal year end)
    to the parameters of SWEEP_FILE, with SALib; plus a one-at-a-time tornado table."""
    from sim.experiments.sensitivity import run_sensitivity, sensitivity_design
    from sim.outputs import ArtefactError
    from sim.outputs.console import sensitivity_top_lines
    from sim.outputs.sensitivity_charts import write_sensitivity_charts

    spec = _load(sweep_file)
    check_out(out_dir)
    try:
        design, _ = sensitivity_design(spec, method, samples)
    except ValueError as exc:
        fail(f"{spec.source}: sensitivity.samples {exc}", BAD_INPUT)
    with _executor(executor, workers, scheduler) as pool:
        _header(spec, len(design), pool, f"Sensitivity ({method})")
        result = _run(lambda: run_sensitivity(
            spec, method, out_dir, samples=samples, executor=pool, chunk_size=chunk_size,
            resume=resume, progress=_progress(progress), command=sys.argv), "sensitivity")
    run = result.run
    files = list(result.files)
    if charts:
        try:
            files += write_sensitivity_charts(result.indices, result.tornado, result.chart_meta,
                                              run.folder)
        except Exception as exc:  # the indices and tables are written: say so
            fail(f"{ArtefactError(run.folder, [('the sensitivity charts', exc)])}", FAILED)
    click.echo(f"{run.chunks_run} of {run.chunks} chunks run in {run.seconds:.1f} s")
    click.echo("")
    labels = {p.path: p.name for p in spec.parameters}
    for line in sensitivity_top_lines(result.indices, spec.kpis, labels, method,
                                      spec.spec.sensitivity.confidence):
        click.echo(line)
    for output, reason in result.skipped.items():
        click.echo(f"  skipped {output}: {reason}")
    click.echo(f"\nResults written to {run.folder}/")
    click.echo("  " + ", ".join(sorted({p.name for p in files}))
               + ", results.parquet, design.parquet, manifest.json")


@click.command()
@click.argument("results", type=click.Path(exists=False, path_type=Path))
@click.option("--kpi", required=True, help="KPI (or any numeric column) defining the outcome.")
@click.option("--threshold", type=float, required=True,
              help="The outcome holds when the KPI is at or above this value.")
@click.option("--below", is_flag=True, default=False,
              help="The outcome holds at or below the threshold instead.")
@click.option("--by", type=click.Choice(["run", "point"]), default="run", show_default=True,
              help="run: each run is a case; point: each design point's replicate mean.")
@click.option("--with", "extra", multiple=True, metavar="COLUMN",
              help="Also allow conditions on this result column, e.g. members_fy2028_29 "
                   "(repeatable).")
@click.option("--boxes", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Rules to find (each next one among the runs the earlier ones left).")
@click.option("--min-coverage", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Least share of all cases a rule must cover.")
@click.option("--peel", type=click.FloatRange(0.01, 0.5), default=0.05, show_default=True,
              help="Share of the box peeled at each PRIM step.")
@click.option("--min-support", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Smallest box, as a share of all rows.")
def discover(results: Path, kpi: str, threshold: float, below: bool, by: str,
             extra: tuple[str, ...], boxes: int, min_coverage: float, peel: float,
             min_support: float) -> None:
    """Find the conditions under which an outcome holds in a sweep's RESULTS (a sweep folder
    or its results.parquet), with PRIM; print them as plain-language rules."""
    from sim.experiments.discover import discover as find_boxes
    from sim.experiments.discover import load_discovery_table
    from sim.outputs.rules import discovery_outcome, discovery_rules

    if not results.exists():
        fail(f"{results}: no such sweep folder or results file", BAD_INPUT)
    try:
        table, manifest = load_discovery_table(results)
    except (OSError, ValueError) as exc:
        fail(f"{results}: cannot read the results ({exc})", BAD_INPUT)
    try:
        found = find_boxes(table, manifest, kpi, threshold, below=below, by=by,
                           extra_columns=extra, boxes=boxes, alpha=peel,
                           min_support=min_support, min_coverage=min_coverage)
    except ValueError as exc:
        fail(f"{results}: {exc}", BAD_INPUT)
    click.echo(f"{discovery_outcome(found)}: {found.cases:,} of {found.rows:,} {found.unit} "
               f"({100 * found.cases / found.rows:.0f}%). PRIM (Friedman & Fisher 1999), "
               f"peel {peel:g}, coverage ≥ {min_coverage:g}:")
    for i, rule in enumerate(discovery_rules(found), 1):
        click.echo(f"  {i}. {rule}")
