"""Commands on scenarios: ``run``, ``compare``, ``report``, ``validate`` and ``params``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sim.cli._common import BAD_INPUT, FAILED, check_out, echo_error, fail, options, out_option
from sim.scenario import ScenarioError, load_scenario, parameter_rows

__all__ = ["compare", "params", "report", "run", "validate"]

DEFAULT_REPLICATES = 1000
"""The same as :data:`sim.api.DEFAULT_REPLICATES` (kept here so --help imports no numpy)."""
DEFAULT_SEED = 20260401
"""The same as :data:`sim.api.DEFAULT_SEED`."""
DEFAULT_BLOCK_SIZE = 1000
"""The same as :data:`sim.engine.DEFAULT_BLOCK_SIZE`."""

_ensemble_options = options(
    click.option("--workers", type=click.IntRange(min=1), default=None,
                 help="Processes to simulate each scenario on (default: every core from 3,000 "
                      "replicates, else 1). Never changes the numbers."),
    click.option("--replicates", "-n", type=click.IntRange(min=1), default=DEFAULT_REPLICATES,
                 show_default=True, help="Monte Carlo replicates per scenario."),
    click.option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True,
                 help="Seed of the run; the same seed gives the same numbers."),
    click.option("--block-size", "block_size", type=int, default=DEFAULT_BLOCK_SIZE,
                 show_default=True, metavar="N",
                 help="Replicates per random-stream block (at least 1). Changing it changes "
                      "the numbers; the same seed and block size give the same numbers with "
                      "any --workers, and smaller blocks let more workers share a small run "
                      "(docs/experiments.md §8)."),
    click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
                 help="Override a scenario value, e.g. --set finance.grants[0].end_month=48 "
                      "(VALUE is read as TOML, else as text). Repeatable; applied to every "
                      "scenario."),
    out_option("a new results folder"),
    click.option("--report", "report", is_flag=True, default=False,
                 help="Also write report.html, board_pack.pdf and workbook.xlsx into the results "
                      "folder (as the report command does)."),
    click.option("--real-terms", "real_terms", is_flag=True, default=False,
                 help="Write every money output in 2026/27 prices (nominal £ ÷ the CPI index) "
                      "instead of nominal £; recorded in manifest.json (docs/outputs.md)."),
    click.option("--parameter-uncertainty", "parameter_uncertainty", multiple=True,
                 type=click.Path(path_type=Path), metavar="FIT",
                 help="Draw calibrated parameters from a calibration's fit.json (or its folder), "
                      "one draw per group of 25 replicates, so the bands include parameter "
                      "uncertainty; a market ceiling is drawn as the median willingness to pay. "
                      "Repeatable, one file per fit (docs/calibration.md §7)."),
)
"""Options shared by ``run`` and ``compare``."""


def _execute(command: str, files: Sequence[str], *, workers: int | None, replicates: int,
             seed: int, block_size: int, overrides: Sequence[str], out_dir: Path, report: bool,
             parameter_uncertainty: Sequence[Path], real_terms: bool) -> None:
    if block_size < 1:
        fail(f"--block-size: replicates per random-stream block must be at least 1, "
             f"got {block_size}", BAD_INPUT)
    # Heavy imports here, so `validate` and `--help` stay quick.
    from sim import api
    from sim.outputs import ArtefactError
    from sim.outputs.console import headline_lines

    try:
        scenarios = [api.load_scenario(f, overrides) for f in files]
    except ScenarioError as exc:
        fail(str(exc), BAD_INPUT)
    check_out(out_dir)

    horizon = {s.meta.name: s.time.horizon_months for s in scenarios}

    def progress(name: str, seconds: float | None) -> None:
        if seconds is None:
            click.echo(f"Running {name}: {replicates:,} replicates × {horizon[name]} months ...",
                       nl=False)
        else:
            click.echo(f" {seconds:.1f} s")

    try:
        results = api.compare(scenarios, replicates, seed, workers,
                              parameter_uncertainty=parameter_uncertainty, progress=progress,
                              sources=list(files), overrides=list(overrides),
                              block_size=block_size)
    except ScenarioError as exc:
        fail(str(exc), BAD_INPUT)
    if real_terms:
        results = results.in_real_terms()
    failed = None
    try:
        folder = results.save(out_dir, report=report)
    except ArtefactError as exc:  # the data files are written; some charts or reports are not
        folder, failed = exc.folder, exc
    except OSError as exc:
        fail(f"cannot write results under {out_dir}: {exc}", FAILED)
    click.echo("")
    for line in headline_lines({e.name: e.kpi_summary() for e in results.ensembles}):
        click.echo(line)
    click.echo(f"Money in £, {results.prices}.")
    rules = any(e.scenario.policies for e in results.ensembles)  # issue #14 (docs/outputs.md)
    click.echo(f"\nResults written to {folder}/")
    click.echo(("  report.html, board_pack.pdf, workbook.xlsx,\n" if report else "")
               + "  funding_cliff, trajectories, survival, growth_path"
               + (", paired_differences" if len(scenarios) > 1 else "")
               + (", policy_rules" if rules else "")
               + " (.png, .svg),\n  timeseries.csv, summary.json, kpis.parquet, events.csv, "
               "manifest.json, scenario.resolved*.toml"
               + (", policy_rules.csv" if rules else "")
               + (", parameter_draws.csv" if results.draws else ""))
    if failed is not None:
        fail(str(failed), FAILED)


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@_ensemble_options
def run(scenario: str, workers: int | None, replicates: int, seed: int, block_size: int,
        overrides: tuple[str, ...], out_dir: Path, report: bool,
        parameter_uncertainty: tuple[Path, ...], real_terms: bool) -> None:
    """Run one SCENARIO file and write its results folder (tables and charts)."""
    _execute("run", [scenario], workers=workers, replicates=replicates, seed=seed,
             block_size=block_size, overrides=overrides, out_dir=out_dir, report=report,
             parameter_uncertainty=parameter_uncertainty, real_terms=real_terms)


@click.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_ensemble_options
def compare(scenarios: tuple[str, ...], workers: int | None, replicates: int, seed: int,
            block_size: int, overrides: tuple[str, ...], out_dir: Path, report: bool,
            parameter_uncertainty: tuple[Path, ...], real_terms: bool) -> None:
    """Run several SCENARIOS with common random numbers and write one results folder
    comparing them."""
    _execute("compare", scenarios, workers=workers, replicates=replicates, seed=seed,
             block_size=block_size, overrides=overrides, out_dir=out_dir, report=report,
             parameter_uncertainty=parameter_uncertainty, real_terms=real_terms)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--real-terms", "real_terms", is_flag=True, default=False,
              help="Money in 2026/27 prices: needs a folder written by run or compare with "
                   "--real-terms (its per-run KPIs were deflated month by month), whose report "
                   "is in 2026/27 prices anyway; a nominal folder is refused (exit 2).")
def report(run_dir: Path, real_terms: bool) -> None:
    """Write report.html, board_pack.pdf and workbook.xlsx (and redraw the charts) in RUN_DIR,
    a folder written by run or compare, from its files alone, in the folder's prices
    (manifest.json's ``prices``)."""
    from sim.outputs import ArtefactError, RunFolderError, report_folder

    try:
        written = report_folder(run_dir, real_terms=real_terms)
    except RunFolderError as exc:
        fail(str(exc), BAD_INPUT)
    except ArtefactError as exc:
        fail(str(exc), FAILED)
    except OSError as exc:
        fail(f"cannot write the report in {run_dir}: {exc}", FAILED)
    click.echo(f"Report written to {run_dir}/")
    click.echo("  " + ", ".join(p.name for p in written))


@click.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a value before validating (as for run).")
def validate(scenarios: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Check SCENARIOS files against the schema without running them (exit 2 if any fails)."""
    failed = 0
    for path in scenarios:
        try:
            scenario = load_scenario(path, overrides)
        except ScenarioError as exc:
            echo_error(str(exc))  # every file is checked, so no early exit
            failed += 1
        else:
            click.echo(f"ok: {path} ({scenario.meta.name})")
    if failed:
        sys.exit(BAD_INPUT)


@click.command()
def params() -> None:
    """Print every scenario parameter with unit, default, range and source (Markdown table)."""
    click.echo("| parameter | unit | default | range | source | meaning |")
    click.echo("|---|---|---|---|---|---|")
    for row in parameter_rows():
        cells = [row[k].replace("|", "\\|") for k in ("path", "unit", "default", "range", "source",
                                                     "description")]
        click.echo("| `" + cells[0] + "` | " + " | ".join(cells[1:]) + " |")
