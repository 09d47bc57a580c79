"""Decision questions: ``threshold`` (break-even and threshold values).

``python run.py threshold SCENARIO --vary KEY --range LOW HIGH --target 'KPI>=VALUE'`` finds
the value of one input at which a target on a KPI starts (or stops) to hold, by a root search
on common random numbers, with a bootstrap interval and a check on a fresh seed
(:mod:`sim.experiments.threshold`, docs/experiments.md §10). Bad input is one line with exit
code 2; the answer (found or not) exits 0.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from sim.cli._common import BAD_INPUT, FAILED, fail, out_option

__all__ = ["threshold"]

DEFAULT_SEED = 20260401
"""The same as :data:`sim.api.DEFAULT_SEED`."""


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--vary", "key", required=True, metavar="KEY.PATH",
              help="The input to search, e.g. finance.subscription_gbp_per_year.")
@click.option("--range", "bounds", nargs=2, type=float, required=True, metavar="LOW HIGH",
              help="Values of the input to search between (both must be valid for it).")
@click.option("--target", "target_text", required=True, metavar="'[STAT(]KPI[)] OP VALUE'",
              help="E.g. 'viable_prob_y10>=0.9' (the mean: a probability for a 0/1 KPI) or "
                   "'p10(min_reserves_gbp)>=0'; STAT one of mean, p10, p50, p90, share.")
@click.option("--replicates", "-n", type=click.IntRange(min=10), default=1000,
              show_default=True, help="Replicates at every value searched.")
@click.option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True,
              help="Seed of every evaluation (common random numbers); the check runs on "
                   "seed + 1.")
@click.option("--grid", type=click.IntRange(min=2, max=200), default=6, show_default=True,
              help="Evenly spaced values scanned first, to bracket every crossing.")
@click.option("--tol", type=float, default=None,
              help="Precision of the answer (default: range ÷ 1000; 1 for whole numbers).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Run the answer again on a fresh seed and report whether the target holds.")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override another scenario value (as for run). Repeatable.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes for each evaluation (default: every core from 3,000 replicates). "
                   "Never changes the numbers.")
@out_option("the threshold folder")
def threshold(scenario: str, key: str, bounds: tuple[float, float], target_text: str,
              replicates: int, seed: int, grid: int, tol: float | None, check: bool,
              overrides: tuple[str, ...], workers: int | None, out_dir: Path) -> None:
    """Find the value of one input of SCENARIO at which a KPI target starts to hold."""
    from sim.experiments.threshold import (
        ThresholdError,
        check_range,
        find_threshold,
        input_is_integer,
        model_evaluator,
        override,
        parse_target,
    )
    from sim.files import RunFolder, results_folder_name
    from sim.model import KPIS
    from sim.outputs.threshold import answer_lines, write_threshold
    from sim.scenario import ScenarioError, load_scenario

    low, high = bounds
    try:
        base = load_scenario(scenario, list(overrides))
        target = parse_target(target_text, list(KPIS))
        integer = input_is_integer(base, key)
        check_range(key, low, high, integer)
        if key in {o.partition("=")[0].strip() for o in overrides}:
            raise ThresholdError(f"--vary {key}: is also given with --set; give it once")
        for end in (low, high):  # both ends must be valid values of the input
            load_scenario(scenario, [*overrides, override(key, end, integer)])
    except (ScenarioError, ThresholdError) as exc:
        fail(str(exc), BAD_INPUT)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise PermissionError(f"{out_dir} is not writable")
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write results there ({exc})", BAD_INPUT)

    evaluate = model_evaluator(scenario, overrides, key, target.kpi, replicates, seed, workers,
                               integer)
    fresh = seed + 1
    check_with = (model_evaluator(scenario, overrides, key, target.kpi, replicates, fresh,
                                  workers, integer) if check else None)
    click.echo(f"Searching {key} in [{low:g}, {high:g}] for {target}: {replicates:,} replicates "
               f"per value, seed {seed}, {grid} values scanned first ...")
    try:
        result = find_threshold(evaluate, key, target, low, high, integer=integer, grid=grid,
                                tol=tol, replicates=replicates, seed=seed, check=check_with,
                                check_seed=fresh if check else None)
    except (ScenarioError, ThresholdError) as exc:
        fail(str(exc), BAD_INPUT)
    click.echo("")
    for line in answer_lines(result):
        click.echo(line)
    settings = {"scenario": scenario, "overrides": list(overrides), "grid": grid, "tol": tol}
    title = (f"{base.meta.name}: {key} where {target}"
             if result.found else f"{base.meta.name}: no threshold of {key} for {target}")
    footer = (f"{base.meta.name}; {replicates:,} replicates per value; seed {seed}"
              + (f"; overrides: {', '.join(overrides)}" if overrides else ""))
    try:
        with RunFolder(out_dir, results_folder_name("threshold", [base.meta.name])) as folder:
            write_threshold(result, folder.tmp, settings, title, footer)
    except OSError as exc:
        fail(f"cannot write results under {out_dir}: {exc}", FAILED)
    click.echo(f"\nResults written to {folder.final}/\n  threshold.json, "
               "threshold_evaluations.csv, threshold (.png, .svg)")
