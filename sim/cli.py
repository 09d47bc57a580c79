"""Command line: ``python run.py COMMAND ...`` (also installed as ``coe-sim``).

Only parses, calls and reports. A bad scenario is reported as one line naming the file, the key,
the value and the rule, with exit code 2 and no traceback.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from sim.scenario import ScenarioError, load_scenario, parameter_rows, resolved_toml

__all__ = ["main"]

DEFAULT_REPLICATES = 1000
DEFAULT_SEED = 20260401

HEADLINE_KPIS = [
    ("survival_prob_y5", "survive to year 5", "pct"),
    ("survival_prob_y10", "survive to year 10", "pct"),
    ("runway_months_at_cliff", "runway at cliff (months, median)", "p50"),
    ("breakeven_month", "break-even month (median)", "p50"),
    ("members_y10", "member LAs, year 10 (median)", "p50"),
    ("min_reserves_gbp", "lowest reserves £ (median)", "p50"),
]


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _remember_workers(ctx: click.Context, _param: click.Parameter, value: int | None) -> None:
    ctx.meta["coe_sim.workers"] = value


def _ensemble_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``run`` and ``compare``."""
    options = [
        click.option("--workers", type=click.IntRange(min=1), default=None, expose_value=False,
                      callback=_remember_workers,
                      help="Processes to simulate each scenario on (default: every core from "
                           "3,000 replicates, else 1). Never changes the numbers."),
        click.option("--replicates", "-n", type=click.IntRange(min=1), default=DEFAULT_REPLICATES,
                     show_default=True, help="Monte Carlo replicates per scenario."),
        click.option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True,
                     help="Seed of the run; the same seed gives the same numbers."),
        click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
                     help="Override a scenario value, e.g. --set finance.grants[0].end_month=48 "
                          "(VALUE is read as TOML, else as text). Repeatable; applied to every "
                          "scenario."),
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                     default=Path("outputs"), show_default=True,
                     help="Folder under which a new results folder is written."),
        click.option("--report", "report", is_flag=True, default=False,
                     help="Also write report.html, board_pack.pdf and workbook.xlsx into the "
                          "results folder (as the report command does)."),
        click.option("--parameter-uncertainty", "parameter_uncertainty", multiple=True,
                     type=click.Path(path_type=Path), metavar="FIT",
                     help="Draw calibrated parameters from a calibration's fit.json (or its "
                          "folder), one draw per group of 25 replicates, so the bands include "
                          "parameter uncertainty. Repeatable, one file per fit "
                          "(docs/calibration.md)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load_all(files: Sequence[str], overrides: Sequence[str]) -> list[Any]:
    try:
        return [load_scenario(f, overrides) for f in files]
    except ScenarioError as exc:
        _fail(str(exc), 2)
    raise AssertionError("unreachable")


def _execute(command: str, files: Sequence[str], replicates: int, seed: int,
             overrides: Sequence[str], out_dir: Path, report: bool = False,
             parameter_uncertainty: Sequence[Path] = ()) -> None:
    # Heavy imports here, so `validate` and `--help` stay quick.
    import pandas as pd

    from sim.data import load_la_population
    from sim.experiments import run_ensemble
    from sim.experiments.uncertainty import (
        PARAMETER_GROUP_SIZE,
        load_parameter_distribution,
        run_with_parameter_uncertainty,
    )
    from sim.outputs import manifest, write_run
    from sim.outputs.io import atomic_write

    scenarios = _load_all(files, overrides)
    try:
        distributions = [load_parameter_distribution(f) for f in parameter_uncertainty]
    except ScenarioError as exc:
        _fail(str(exc), 2)
    draws: list[dict[str, Any]] = []
    names = [s.meta.name for s in scenarios]
    if len(set(names)) != len(names):
        _fail("scenarios must have different meta.name values to be compared; got "
              + ", ".join(names), 2)
    las = load_la_population()
    started = datetime.now(UTC)
    results = []
    for scenario in scenarios:
        t0 = time.perf_counter()
        click.echo(f"Running {scenario.meta.name}: {replicates:,} replicates × "
                   f"{scenario.time.horizon_months} months ...", nl=False)
        if distributions:
            try:
                result, rows = run_with_parameter_uncertainty(scenario, las, replicates, seed,
                                                              distributions)
            except ScenarioError as exc:
                _fail(str(exc), 2)
            results.append(result)
            draws += [{"scenario": scenario.meta.name, **row} for row in rows]
        else:
            results.append(run_ensemble(scenario, las, replicates, seed,
                                        workers=click.get_current_context().meta.get(
                                            "coe_sim.workers")))
        click.echo(f" {time.perf_counter() - t0:.1f} s")
    extra: dict[str, Any] = {"overrides": list(overrides)}
    if distributions:
        extra["parameter_uncertainty"] = {
            "files": [d.source for d in distributions], "group_size": PARAMETER_GROUP_SIZE,
            "parameters": [p for d in distributions for p in d.paths],
            "draws_file": "parameter_draws.csv"}
    info = manifest(command, sys.argv, list(files), seed, replicates, started, datetime.now(UTC),
                    extra)
    try:
        folder = write_run(out_dir, command, results, [resolved_toml(s) for s in scenarios], info,
                           report=report)
        if draws:
            atomic_write(folder / "parameter_draws.csv",
                         lambda tmp: pd.DataFrame(draws).to_csv(tmp, index=False))
    except OSError as exc:
        _fail(f"cannot write results under {out_dir}: {exc}", 1)
    _print_summary(results)
    click.echo(f"\nResults written to {folder}/")
    click.echo(("  report.html, board_pack.pdf, workbook.xlsx,\n" if report else "")
               + "  funding_cliff, trajectories, survival, growth_path"
               + (", paired_differences" if len(results) > 1 else "")
               + " (.png, .svg),\n  timeseries.csv, summary.json, kpis.parquet, events.csv, "
               "manifest.json, scenario.resolved*.toml")


def _print_summary(results: Sequence[Any]) -> None:
    width = max(len(r.name) for r in results) + 2
    header = "".join(f"{r.name:>{width}}" for r in results)
    click.echo(f"\n{'':<36}{header}")
    summaries = [r.kpi_summary() for r in results]
    for key, label, how in HEADLINE_KPIS:
        cells = []
        for s in summaries:
            stat = s[key]["mean"] if how == "pct" else s[key]["p50"]
            if stat != stat:
                cells.append(f"{'—':>{width}}")
            elif how == "pct":
                cells.append(f"{100 * stat:>{width - 1}.0f}%")
            else:
                cells.append(f"{stat:>{width},.0f}")
        click.echo(f"{label:<36}" + "".join(cells))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="coe-sim")
def main() -> None:
    """Sustainability simulator for a national Centre of Excellence for children's-services
    data work in England: uptake by the 153 LAs, the funding cliff, staff churn, Gall's law,
    and hosting models, as Monte Carlo ensembles driven by TOML scenario files."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@_ensemble_options
def run(scenario: str, replicates: int, seed: int, overrides: tuple[str, ...], out_dir: Path,
        report: bool, parameter_uncertainty: tuple[Path, ...]) -> None:
    """Run one SCENARIO file and write its results folder (tables and charts)."""
    _execute("run", [scenario], replicates, seed, overrides, out_dir, report,
             parameter_uncertainty)


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_ensemble_options
def compare(scenarios: tuple[str, ...], replicates: int, seed: int, overrides: tuple[str, ...],
            out_dir: Path, report: bool, parameter_uncertainty: tuple[Path, ...]) -> None:
    """Run several SCENARIOS with common random numbers and write one results folder
    comparing them."""
    _execute("compare", scenarios, replicates, seed, overrides, out_dir, report,
             parameter_uncertainty)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def report(run_dir: Path) -> None:
    """Write report.html, board_pack.pdf and workbook.xlsx (and redraw the charts) in RUN_DIR,
    a folder written by run or compare, from its files alone."""
    from sim.outputs import RunFolderError, report_folder

    try:
        written = report_folder(run_dir)
    except RunFolderError as exc:
        _fail(str(exc), 2)
    except OSError as exc:
        _fail(f"cannot write the report in {run_dir}: {exc}", 1)
    click.echo(f"Report written to {run_dir}/")
    click.echo("  " + ", ".join(p.name for p in written))


@main.command()
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
            click.echo(f"error: {exc}", err=True)
            failed += 1
        else:
            click.echo(f"ok: {path} ({scenario.meta.name})")
    if failed:
        sys.exit(2)


@main.command()
def params() -> None:
    """Print every scenario parameter with unit, default, range and source (Markdown table)."""
    click.echo("| parameter | unit | default | range | source | meaning |")
    click.echo("|---|---|---|---|---|---|")
    for row in parameter_rows():
        cells = [row[k].replace("|", "\\|") for k in ("path", "unit", "default", "range", "source",
                                                     "description")]
        click.echo("| `" + cells[0] + "` | " + " | ".join(cells[1:]) + " |")


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("outputs"), show_default=True,
              help="Folder under which a new calibration folder is written.")
@click.option("--observed", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fit this CSV instead of the spec's data (with --date-column and "
                   "--value-column); the spec still gives the model, parameters, loss and method.")
@click.option("--date-column", default=None, help="Column of --observed holding dates "
              "(YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--value-column", default=None, help="Column of --observed holding the values.")
@click.option("--budget", type=click.Choice(["small", "full"]), default="full", show_default=True,
              help="small: the reduced budget CI runs (well under a minute); full: the "
                   "documented fits.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes for model runs [default: every CPU available].")
def calibrate(spec: str, out_dir: Path, observed: Path | None, date_column: str | None,
              value_column: str | None, budget: str, workers: int | None) -> None:
    """Fit a calibration SPEC (calibration/*.toml) and write fit.json, fit.png and
    calibrated.toml (an overlay a scenario can extend) into a new folder under --out."""
    from sim.experiments.calibration import calibrate as fit_spec
    from sim.experiments.calibration import load_spec, with_observed
    from sim.outputs import manifest
    from sim.outputs.calibration_charts import CALIBRATION_FILES, write_calibration

    given = {"--observed": observed, "--date-column": date_column, "--value-column": value_column}
    missing = [k for k, v in given.items() if v is None]
    if len(missing) not in (0, 3):
        _fail(f"--observed, --date-column and --value-column go together; missing: "
              f"{', '.join(missing)}", 2)
    started = datetime.now(UTC)
    try:
        loaded = load_spec(spec)
        names = [loaded.spec.meta.name]
        if observed is not None:
            loaded = with_observed(loaded, observed, str(date_column), str(value_column))
            names.append(observed.stem)
        result = fit_spec(loaded, budget, workers, progress=click.echo)
    except ScenarioError as exc:
        _fail(str(exc), 2)
    fit = result.fit
    model = fit.get("model") or {}
    info = manifest("calibrate", sys.argv, [spec], int(model.get("seed", 0)),
                    int(model.get("replicates", 0)), started, datetime.now(UTC),
                    {"budget": budget, "observed": str(loaded.observed_path)})
    try:
        folder = write_calibration(out_dir, names, fit, result.overlay, result.observed,
                                   result.simulated, result.chart, result.spec_text, info)
    except OSError as exc:
        _fail(f"cannot write results under {out_dir}: {exc}", 1)
    level = round(100 * fit["method"]["interval"])
    click.echo(f"\n{'parameter':<36}{'best':>11}{'median':>11}   {level}% interval")
    for p in fit["parameters"]:
        flag = "" if p["identified"] else f"   ({p['identification']})"
        click.echo(f"{p['path']:<36}{p['best']:>11.4g}{p['median']:>11.4g}   "
                   f"{p['lower']:.4g} – {p['upper']:.4g}{flag}")
    gof, quality = fit["goodness_of_fit"], fit["quality"]
    click.echo(f"fit: rmse {gof['rmse']:.4g}, r² {gof['r2']:.3f} on {gof['points']} points; "
               f"documented quality {'met' if quality['passed'] else 'NOT met'}")
    for warning in fit["warnings"]:
        click.echo(f"warning: {warning}")
    click.echo(f"\nResults written to {folder}/")
    click.echo("  " + ", ".join(CALIBRATION_FILES))


# Experiments at scale — sweep, sensitivity, discover — are defined in sim/experiments/commands.py.
from sim.experiments.commands import (  # noqa: E402
    discover_command,
    sensitivity_command,
    sweep_command,
)

main.add_command(sweep_command)
main.add_command(sensitivity_command)
main.add_command(discover_command)
