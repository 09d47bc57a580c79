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


def _ensemble_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``run`` and ``compare``."""
    options = [
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
             overrides: Sequence[str], out_dir: Path) -> None:
    # Heavy imports here, so `validate` and `--help` stay quick.
    from sim.experiments import run_ensemble
    from sim.outputs import manifest, write_run
    from sim.scenario import load_la_population

    scenarios = _load_all(files, overrides)
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
        results.append(run_ensemble(scenario, las, replicates, seed))
        click.echo(f" {time.perf_counter() - t0:.1f} s")
    info = manifest(command, sys.argv, list(files), seed, replicates, started, datetime.now(UTC),
                    {"overrides": list(overrides)})
    try:
        folder = write_run(out_dir, command, results, [resolved_toml(s) for s in scenarios], info)
    except OSError as exc:
        _fail(f"cannot write results under {out_dir}: {exc}", 1)
    _print_summary(results)
    click.echo(f"\nResults written to {folder}/")
    click.echo("  funding_cliff.png, trajectories.png, timeseries.csv, summary.json, kpis.parquet, "
               "events.csv, manifest.json, scenario.resolved*.toml")


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
def run(scenario: str, replicates: int, seed: int, overrides: tuple[str, ...], out_dir: Path) -> None:
    """Run one SCENARIO file and write its results folder (tables and charts)."""
    _execute("run", [scenario], replicates, seed, overrides, out_dir)


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_ensemble_options
def compare(scenarios: tuple[str, ...], replicates: int, seed: int, overrides: tuple[str, ...],
            out_dir: Path) -> None:
    """Run several SCENARIOS with common random numbers and write one results folder
    comparing them."""
    _execute("compare", scenarios, replicates, seed, overrides, out_dir)


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
