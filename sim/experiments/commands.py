"""Click commands ``sweep``, ``sensitivity`` and ``discover`` (registered on ``sim.cli.main``).

Like the rest of the command line they only parse, call the library, and report: a bad sweep
file is one line naming the file, the key path, the value and the rule, with exit code 2.
Exit codes: 0 done, 1 failed while running (e.g. a worker died), 2 bad input, 130 interrupted
(Ctrl-C; finished chunks are kept and ``--resume`` continues).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

__all__ = ["discover_command", "sensitivity_command", "sweep_command"]


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _executor_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
                     show_default=True,
                     help="local: a process pool on this machine; dask: dask.distributed "
                          "(a new LocalCluster, or the cluster at --scheduler)."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Worker processes (default: every core; 1 runs in this process). "
                          "Never changes the numbers."),
        click.option("--scheduler", metavar="ADDRESS", default=None,
                     help="Dask scheduler to join, e.g. tcp://10.0.0.5:8786 (implies "
                          "--executor dask)."),
        click.option("--chunk-size", type=click.IntRange(min=1), default=None,
                     help="Design points per chunk (default: about two seconds of work). "
                          "Never changes the numbers."),
        click.option("--resume", is_flag=True, default=False,
                     help="Continue the newest unfinished folder of this sweep under --out, "
                          "running only its missing chunks (starts afresh if there is none)."),
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                     default=Path("outputs"), show_default=True,
                     help="Folder under which the sweep folder is written."),
        click.option("--progress/--no-progress", default=None,
                     help="Show a progress bar (default: when the terminal is interactive)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load(sweep_file: str) -> Any:
    from sim.experiments.sweepfile import load_sweep
    from sim.scenario import ScenarioError

    try:
        return load_sweep(sweep_file)
    except ScenarioError as exc:
        _fail(str(exc), 2)


def _executor(kind: str, workers: int | None, scheduler: str | None) -> Any:
    from sim.experiments.executors import ExecutorError, make_executor

    if scheduler and kind == "local":
        kind = "dask"
    try:
        return make_executor(kind, workers, scheduler)
    except ExecutorError as exc:
        _fail(str(exc), 1)


def _resume_hint(command: str) -> str:
    args = [a for a in sys.argv[1:] if a != "--resume"]
    return "python run.py " + " ".join(shlex.quote(a) for a in args) + " --resume" \
        if args and args[0] == command else f"python run.py {command} ... --resume"


def _run(call: Callable[[], Any], command: str) -> Any:
    """Run a sweep call, turning its failures into one-line errors and exit codes."""
    from sim.experiments.executors import ExecutorError
    from sim.experiments.sweep import SweepError, SweepInterrupted

    try:
        return call()
    except SweepInterrupted as exc:
        click.echo(f"\n{exc}", err=True)
        click.echo(f"resume with: {_resume_hint(command)}", err=True)
        sys.exit(130)
    except SweepError as exc:
        _fail(str(exc), 2)
    except ExecutorError as exc:
        _fail(f"{exc}; the chunks already written are kept: resume with "
              f"{_resume_hint(command)}", 1)
    except OSError as exc:
        _fail(f"cannot write the sweep: {exc}", 1)


def _header(sweep: Any, points: int, executor: Any, what: str) -> None:
    runs = points * sweep.spec.replicates
    click.echo(f"{what} {sweep.name}: {points:,} points × {sweep.spec.replicates:,} replicates = "
               f"{runs:,} runs, seed {sweep.spec.seed}, on {executor.describe()}")


def _kpi_table(folder: Path, kpis: list[str]) -> None:
    import numpy as np

    from sim.experiments.store import read_results

    table = read_results(folder, columns=kpis).to_pandas()
    click.echo(f"\n{'KPI over all runs':<28}{'mean':>12}{'p10':>12}{'p50':>12}{'p90':>12}"
               f"{'defined':>9}")
    for kpi in kpis:
        values = table[kpi].to_numpy(dtype=float)
        ok = values[~np.isnan(values)]
        cells = [f"{x:>12,.3g}" if abs(x) < 1000 else f"{x:>12,.0f}"
                 for x in ((ok.mean(), *np.percentile(ok, [10, 50, 90])) if ok.size else ())]
        cells = cells or [f"{'—':>12}"] * 4
        click.echo(f"{kpi:<28}" + "".join(cells) + f"{100 * ok.size / max(values.size, 1):>8.0f}%")


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@_executor_options
@click.option("--parameter-uncertainty", "parameter_uncertainty", multiple=True,
              type=click.Path(path_type=Path), metavar="FIT",
              help="Also draw calibrated parameters from a calibration's fit.json (or its folder) "
                   "at every design point, one draw per group of 25 replicates "
                   "(docs/calibration.md). Repeatable; must not name a swept parameter.")
def sweep_command(sweep_file: str, executor: str, workers: int | None, scheduler: str | None,
                  chunk_size: int | None, resume: bool, out_dir: Path,
                  progress: bool | None, parameter_uncertainty: tuple[Path, ...] = ()) -> None:
    """Run every design point × replicate of SWEEP_FILE; write one Parquet row per run.

    Chunks are written as they finish (chunks/part-*.parquet) and combined into
    results.parquet; an interrupted sweep continues with --resume. The numbers never depend on
    --executor, --workers or --chunk-size.
    """
    import pandas as pd

    from sim.experiments.design import build_design
    from sim.experiments.store import find_resumable
    from sim.experiments.sweep import run_design

    sweep = _load(sweep_file)
    from sim.experiments.uncertainty import load_parameter_distribution
    from sim.scenario import ScenarioError

    try:
        uncertainty = [load_parameter_distribution(f) for f in parameter_uncertainty]
    except ScenarioError as exc:
        _fail(str(exc), 2)
    resuming = resume and find_resumable(out_dir, f"sweep-{sweep.name}") is not None
    if resume and not resuming:
        click.echo(f"No earlier sweep {sweep.name} under {out_dir}/: starting a new one.")
    try:
        design = None if resuming else build_design(sweep)
    except ValueError as exc:
        _fail(f"{sweep.source}: {exc}", 2)
    with _executor(executor, workers, scheduler) as pool:
        points = len(design) if design is not None else _stored_points(out_dir, sweep)
        _header(sweep, points, pool, "Resuming sweep" if resuming else "Sweep")
        stored = pd.DataFrame()  # a resumed sweep reads its own design.parquet
        run = _run(lambda: run_design(
            sweep, design if design is not None else stored, out_dir,
            kind="sweep", executor=pool, chunk_size=chunk_size, resume=resume,
            progress=sys.stderr.isatty() if progress is None else progress,
            command=sys.argv, uncertainty=uncertainty), "sweep")
    rate = (run.chunks_run / run.chunks) * run.runs / run.seconds if run.seconds else 0.0
    click.echo(f"{run.chunks_run} of {run.chunks} chunks run in {run.seconds:.1f} s"
               + (f" ({rate:,.0f} runs/s)" if run.chunks_run else " (all were already done)"))
    _kpi_table(run.folder, list(sweep.kpis))
    n_params = len(sweep.parameters)
    n_series = len(sweep.metrics) * len(run.manifest.get("fiscal_years", []))
    click.echo(f"\nResults written to {run.folder}/")
    click.echo(f"  results.parquet ({run.runs:,} rows: point, replicate, {n_params} parameters, "
               f"{len(sweep.kpis)} KPIs, {n_series} fiscal-year columns), design.parquet, "
               "chunks/, manifest.json, sweep.toml" + (", base.resolved.toml"
                                                      if sweep.base is not None else ""))
    if "survival_prob_y10" in sweep.kpis:
        click.echo(f"Next: python run.py discover {run.folder} --kpi survival_prob_y10 "
                   "--threshold 0.8")


def _stored_points(out_dir: Path, sweep: Any, prefix: str = "sweep") -> int:
    from sim.experiments.store import find_resumable, read_manifest

    folder = find_resumable(out_dir, f"{prefix}-{sweep.name}")
    return int(read_manifest(folder)["points"]) if folder is not None else 0


@click.command("sensitivity")
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(["sobol", "morris"]), default="sobol",
              show_default=True, help="Sobol' indices (S1, ST, S2) or Morris screening.")
@click.option("--samples", "-N", type=click.IntRange(min=2), default=None,
              help="Base sample size N (default: the sweep file's sensitivity.samples; Sobol' "
                   "needs a power of 2).")
@click.option("--charts/--no-charts", default=True, show_default=True,
              help="Draw the index, over-time and tornado charts (PNG and SVG).")
@_executor_options
def sensitivity_command(sweep_file: str, method: str, samples: int | None, charts: bool,
                        executor: str, workers: int | None, scheduler: str | None,
                        chunk_size: int | None, resume: bool, out_dir: Path,
                        progress: bool | None) -> None:
    """Global sensitivity of every KPI (and of reserves and members at each fiscal year end)
    to the parameters of SWEEP_FILE, with SALib; plus a one-at-a-time tornado table."""
    from sim.experiments.sensitivity import run_sensitivity, sensitivity_design

    sweep = _load(sweep_file)
    try:
        design, _ = sensitivity_design(sweep, method, samples)
    except ValueError as exc:
        _fail(f"{sweep.source}: sensitivity.samples {exc}", 2)
    with _executor(executor, workers, scheduler) as pool:
        _header(sweep, len(design), pool, f"Sensitivity ({method})")
        result = _run(lambda: run_sensitivity(
            sweep, method, out_dir, samples=samples, charts=charts, executor=pool,
            chunk_size=chunk_size, resume=resume,
            progress=sys.stderr.isatty() if progress is None else progress,
            command=sys.argv), "sensitivity")
    run = result.run
    click.echo(f"{run.chunks_run} of {run.chunks} chunks run in {run.seconds:.1f} s")
    _print_top(result, sweep)
    for output, reason in result.skipped.items():
        click.echo(f"  skipped {output}: {reason}")
    click.echo(f"\nResults written to {run.folder}/")
    click.echo("  " + ", ".join(sorted({p.name for p in result.files}))
               + ", results.parquet, design.parquet, manifest.json")


def _print_top(result: Any, sweep: Any) -> None:
    indices = result.indices
    labels = {p.path: p.name for p in sweep.parameters}
    main = "ST" if result.method == "sobol" else "mu_star"
    name = "total-effect Sobol index ST" if main == "ST" else "Morris mu*"
    level = int(round(100 * sweep.spec.sensitivity.confidence))
    click.echo(f"\nMost influential parameters ({name}, {level}% interval):")
    kpis = indices[(indices["fiscal_year"] == "") & (indices["index"] == main)]
    for kpi in sweep.kpis:
        rows = kpis[kpis["output"] == kpi].sort_values("estimate", ascending=False).head(3)
        if rows.empty:
            continue
        cells = [f"{labels.get(r.parameter, r.parameter)} {r.estimate:.2f} ± {r.conf:.2f}"
                 if r.conf == r.conf else f"{labels.get(r.parameter, r.parameter)} {r.estimate:.3g}"
                 for r in rows.itertuples()]
        click.echo(f"  {kpi:<26} " + "; ".join(cells))


@click.command("discover")
@click.argument("results", type=click.Path(exists=False, path_type=Path))
@click.option("--kpi", required=True, help="KPI (or any numeric column) defining the outcome.")
@click.option("--threshold", type=float, required=True,
              help="The outcome holds when the KPI is at or above this value.")
@click.option("--below", is_flag=True, default=False,
              help="The outcome holds at or below the threshold instead.")
@click.option("--by", type=click.Choice(["run", "point"]), default="run", show_default=True,
              help="run: each run is a case; point: each design point's replicate mean.")
@click.option("--with", "extra", multiple=True, metavar="COLUMN",
              help="Also allow conditions on this result column, e.g. "
                   "members_fy2028_29 (repeatable).")
@click.option("--boxes", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Rules to find (each next one among the runs the earlier ones left).")
@click.option("--min-coverage", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Least share of all cases a rule must cover.")
@click.option("--peel", type=click.FloatRange(0.01, 0.5), default=0.05, show_default=True,
              help="Share of the box peeled at each PRIM step.")
@click.option("--min-support", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Smallest box, as a share of all rows.")
def discover_command(results: Path, kpi: str, threshold: float, below: bool, by: str,
                     extra: tuple[str, ...], boxes: int, min_coverage: float, peel: float,
                     min_support: float) -> None:
    """Find the conditions under which an outcome holds in a sweep's RESULTS (a sweep folder
    or its results.parquet), with PRIM; print them as plain-language rules."""
    from sim.experiments.discover import discover, load_discovery_table

    if not results.exists():
        _fail(f"{results}: no such sweep folder or results file", 2)
    try:
        table, manifest = load_discovery_table(results)
    except (OSError, ValueError) as exc:
        _fail(f"{results}: cannot read the results ({exc})", 2)
    try:
        found = discover(table, manifest, kpi, threshold, below=below, by=by,
                         extra_columns=extra, boxes=boxes, alpha=peel, min_support=min_support,
                         min_coverage=min_coverage)
    except ValueError as exc:
        _fail(f"{results}: {exc}", 2)
    unit = "design points" if by == "point" else "runs"
    click.echo(f"{found.outcome}: {found.cases:,} of {found.rows:,} {unit} "
               f"({100 * found.cases / found.rows:.0f}%). PRIM (Friedman & Fisher 1999), "
               f"peel {peel:g}, coverage ≥ {min_coverage:g}:")
    for i, rule in enumerate(found.rules, 1):
        click.echo(f"  {i}. {rule}")
