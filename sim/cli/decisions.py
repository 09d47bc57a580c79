"""Decision questions: ``threshold`` (break-even and threshold values), ``robust``
(candidate policies across futures) and ``optimise`` (the best policy under uncertainty).

``python run.py threshold SCENARIO --vary KEY --range LOW HIGH --target 'KPI>=VALUE'`` finds
the value of one input at which a target on a KPI starts (or stops) to hold, by a root search
on common random numbers, with a bootstrap interval and a check on a fresh seed
(:mod:`sim.experiments.threshold`, docs/experiments.md §10). ``python run.py robust SWEEP_FILE``
runs every candidate policy in every sampled future and reports satisficing, regret and where
each fails (:mod:`sim.experiments.robust`, docs/experiments.md §11). Bad input is one line with
exit code 2; the answer (found or not) exits 0.

``python run.py optimise SWEEPFILE`` searches a sweep file's levers for the policy its
``[optimise]`` table asks for, under its sampled uncertainties
(:mod:`sim.experiments.optimise`, docs/experiments.md §12); ``--resume DIR`` continues a run
folder from its cached evaluations and ends as an uninterrupted run would.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click

from sim.cli._common import BAD_INPUT, FAILED, INTERRUPTED, check_out, fail, out_option
from sim.cli.experiments import _executor, _executor_options, _progress, _run

__all__ = ["optimise", "robust", "threshold"]

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


@click.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option("--threshold", "threshold_text", default=None, metavar="'[STAT(]KPI[)] OP VALUE'",
              help="What a candidate must reach in a future, e.g. 'viable_prob_y10>=0.8' "
                   "(default: the sweep file's threshold, else viable_prob_y10>=0.8).")
@click.option("--break-even", "break_even", multiple=True, type=click.Path(path_type=Path),
              metavar="THRESHOLD_FOLDER",
              help="A run.py threshold folder (or its threshold.json) whose answer the "
                   "what-must-be-true page quotes. Repeatable.")
@_executor_options
def robust(sweep_file: str, threshold_text: str | None, break_even: tuple[Path, ...],
           executor: str, workers: int | None, scheduler: str | None, chunk_size: int | None,
           resume: bool, out_dir: Path, progress: bool | None) -> None:
    """Run every candidate policy of SWEEP_FILE in every sampled future (common random
    numbers); rank them by satisficing share and regret; explain where each fails."""
    from sim.experiments.candidates import load_robust
    from sim.experiments.robust import (
        cell_table,
        explain_futures,
        futures_design,
        robustness_table,
        run_robust,
    )
    from sim.experiments.threshold import result_from_record
    from sim.outputs.robust import robust_title, write_robust
    from sim.scenario import ScenarioError

    try:
        study = load_robust(sweep_file, threshold_text)
    except ScenarioError as exc:
        fail(str(exc), BAD_INPUT)
    records = []
    for given in break_even:
        found = given / "threshold.json" if given.is_dir() else given
        try:
            record = json.loads(found.read_text(encoding="utf-8"))
            records.append((result_from_record(record), record))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            fail(f"--break-even {given}: not a threshold folder or threshold.json ({exc!r})",
                 BAD_INPUT)
    check_out(out_dir)
    spec = study.sweep.spec
    with _executor(executor, workers, scheduler) as pool:
        cells = len(study.candidates) * len(futures_design(study))
        click.echo(f"Robust {study.name}: {len(study.candidates)} candidates × "
                   f"{cells // len(study.candidates):,} futures × {spec.replicates:,} replicates "
                   f"= {cells * spec.replicates:,} runs, seed {spec.seed}, target "
                   f"{study.target}, on {pool.describe()}")
        run = _run(lambda: run_robust(study, out_dir, executor=pool, chunk_size=chunk_size,
                                      resume=resume, progress=_progress(progress),
                                      command=sys.argv), "robust")
    cells = cell_table(run.folder, study)
    table = robustness_table(cells, [c.name for c in study.candidates])
    explanations = explain_futures(cells, study)
    futures = int(cells["future"].nunique())
    footer = (f"{study.name}; {len(study.candidates)} candidates × {futures} futures × "
              f"{spec.replicates:,} replicates; seed {spec.seed}")
    try:
        write_robust(run.folder, study, cells, table, explanations, footer, records)
    except OSError as exc:
        fail(f"cannot write results under {run.folder}: {exc}", FAILED)
    click.echo(f"{run.chunks_run} of {run.chunks} chunks run in {run.seconds:.1f} s\n")
    for line in robust_title(table, study.target).split("\n"):
        click.echo(line)
    for row in table.itertuples(index=False):
        click.echo(f"  {row.rank}. {row.candidate}: meets the target in "
                   f"{row.futures_meeting_target}/{row.futures} futures "
                   f"({100 * row.satisficing_share:.0f}%), max regret {row.max_regret:.3g}, "
                   f"p90 regret {row.p90_regret:.3g}")
    click.echo(f"\nResults written to {run.folder}/\n  robustness.csv, cells.csv, failures.csv, "
               "failures.md, robustness (.png, .svg), what_must_be_true (.md, .html), "
               "results.parquet, design.parquet, manifest.json")


@click.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@out_option("the optimise folder")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: every core; 1 runs in this process). Never "
                   "changes the numbers.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
              show_default=True,
              help="local: a process pool on this machine; dask: dask.distributed (a new "
                   "LocalCluster, or the cluster at --scheduler).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Dask scheduler to join (implies --executor dask).")
@click.option("--resume", "resume", type=click.Path(file_okay=False, path_type=Path),
              default=None, metavar="DIR",
              help="Continue this optimise folder: cached evaluations are reused, the search "
                   "ends as an uninterrupted one would.")
def optimise(sweep_file: str, out_dir: Path, workers: int | None, executor: str,
             scheduler: str | None, resume: Path | None) -> None:
    """Search the levers of SWEEP_FILE for the best policy under its uncertainties."""
    from sim.experiments.executors import ExecutorError
    from sim.experiments.optimise import optimise_problem
    from sim.experiments.optimise_run import (
        OptimiseError,
        OptimiseInterrupted,
        check_resumable,
        run_optimise,
        settings_record,
    )
    from sim.experiments.sweep import SweepError
    from sim.experiments.sweepfile import load_sweep
    from sim.outputs.optimum import optimum_lines, write_optimum
    from sim.scenario import ScenarioError

    try:
        sweep = load_sweep(sweep_file)
        problem = optimise_problem(sweep)
    except ScenarioError as exc:
        fail(str(exc), BAD_INPUT)
    if resume is None:
        check_out(out_dir)
    elif not resume.is_dir():
        fail(f"--resume {resume}: no such folder", BAD_INPUT)
    else:
        try:
            check_resumable(problem, resume)
        except OptimiseError as exc:
            fail(str(exc), BAD_INPUT)
    pool = _executor(executor, workers, scheduler)
    click.echo(f"Optimising {sweep.name} by {problem.method}: {len(problem.levers)} lever(s), "
               f"{len(problem.futures)} future(s) × {problem.replicates:,} replicates per "
               f"candidate, budget {problem.settings.budget:,} candidates, seed {problem.seed}, "
               f"on {pool.describe()}")
    try:
        with pool:
            folder, result = run_optimise(problem, out_dir, executor=pool, resume=resume,
                                          command=sys.argv[1:], say=click.echo)
    except OptimiseInterrupted as exc:
        click.echo(f"\n{exc}", err=True)
        args = _without_resume(sys.argv[1:])
        click.echo("resume with: python run.py " + " ".join(shlex.quote(a) for a in args)
                   + f" --resume {shlex.quote(str(exc.folder))}", err=True)
        sys.exit(INTERRUPTED)
    except (OptimiseError, SweepError) as exc:
        fail(str(exc), BAD_INPUT)
    except ExecutorError as exc:
        fail(f"{exc}; the evaluations already cached are kept: resume with --resume", FAILED)
    click.echo("")
    for line in optimum_lines(result):
        click.echo(line.replace("**", ""))
    title = f"{sweep.name}: {result.message.split(':')[0]}"
    footer = (f"{sweep.name}; {len(problem.futures)} futures × {problem.replicates:,} "
              f"replicates per candidate; seed {problem.seed}; fresh seed {problem.fresh_seed}")
    try:
        write_optimum(result, folder, settings_record(problem), title, footer)
    except OSError as exc:
        fail(f"cannot write results under {folder}: {exc}", FAILED)
    click.echo(f"\nResults written to {folder}/\n  optimum.json, optimum.md, "
               "evaluations.parquet, pareto.csv, pareto (.png, .svg)")


def _without_resume(args: list[str]) -> list[str]:
    """The command line without its ``--resume DIR`` (or ``--resume=DIR``), so the hint to
    resume names the folder once."""
    kept: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a == "--resume":
            skip = True
        elif not a.startswith("--resume="):
            kept.append(a)
    return kept
