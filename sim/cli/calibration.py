"""The ``calibrate`` command: fit a calibration spec and write its folder."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from sim.cli._common import BAD_INPUT, FAILED, INTERRUPTED, check_out, fail, out_option
from sim.scenario import ScenarioError

__all__ = ["calibrate"]


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@out_option("a new calibration folder")
@click.option("--observed", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fit this CSV instead of the spec's data (with --date-column and "
                   "--value-column); the spec still gives the model, parameters, loss and method.")
@click.option("--date-column", default=None, help="Column of --observed holding dates "
              "(YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--value-column", default=None, help="Column of --observed holding the values.")
@click.option("--population", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --observed: LAs each count is out of [default: the spec's, else 153].")
@click.option("--initial-adopters", type=click.Choice(["none", "first_observation", "estimated"]),
              default=None, help="With --observed: none (the series starts at launch), "
              "first_observation (the first point seeds the model and is not scored) or "
              "estimated (fitted with the others; the first point is data) [default: the spec's].")
@click.option("--loss", type=click.Choice(["poisson", "binomial", "wls"]), default=None,
              help="With --observed: the likelihood's variance [default: the spec's].")
@click.option("--model-variance/--no-model-variance", default=None,
              help="With --observed: add the replicates' covariance (synthetic likelihood, for "
                   "one stochastic trajectory) [default: the spec's].")
@click.option("--budget", type=click.Choice(["small", "full"]), default="full", show_default=True,
              help="small: the reduced budget CI runs (well under a minute); full: the "
                   "documented fits.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes for model runs [default: every CPU available].")
def calibrate(spec: str, out_dir: Path, observed: Path | None, date_column: str | None,
              value_column: str | None, population: float | None, initial_adopters: str | None,
              loss: str | None, model_variance: bool | None, budget: str,
              workers: int | None) -> None:
    """Fit a calibration SPEC (calibration/*.toml) and write fit.json, fit.png and
    calibrated.toml (an overlay a scenario can extend) into a new folder under --out."""
    from sim.experiments.calibration import CalibrationInterrupted, load_spec, with_observed
    from sim.experiments.calibration import calibrate as fit_spec
    from sim.outputs import ArtefactError, manifest
    from sim.outputs.calibration_charts import CALIBRATION_FILES, write_calibration
    from sim.outputs.console import calibration_lines

    given = {"--observed": observed, "--date-column": date_column, "--value-column": value_column}
    missing = [k for k, v in given.items() if v is None]
    if len(missing) not in (0, 3):
        fail(f"--observed, --date-column and --value-column go together; missing: "
             f"{', '.join(missing)}", BAD_INPUT)
    options = {"--population": population, "--initial-adopters": initial_adopters,
               "--loss": loss, "--model-variance": model_variance}
    stray = [k for k, v in options.items() if v is not None]
    if stray and observed is None:
        fail(f"{', '.join(stray)} need --observed (a spec's own file is described by the spec)",
             BAD_INPUT)
    started = datetime.now(UTC)
    try:
        loaded = load_spec(spec)
        names = [loaded.spec.meta.name]
        if observed is not None:
            loaded = with_observed(loaded, observed, str(date_column), str(value_column),
                                   population=population, initial_adopters=initial_adopters,
                                   loss=loss, model_variance=model_variance)
            names.append(observed.stem)
        check_out(out_dir)
        result = fit_spec(loaded, budget, workers, progress=click.echo)
    except ScenarioError as exc:
        fail(str(exc), BAD_INPUT)
    except (CalibrationInterrupted, KeyboardInterrupt) as exc:
        fail(str(exc) or "calibration stopped by Ctrl-C; nothing written", INTERRUPTED)
    fit = result.fit
    model = fit.get("model") or {}
    info = manifest("calibrate", sys.argv, [spec], int(model.get("seed", 0)),
                    int(model.get("replicates", 0)), started, datetime.now(UTC),
                    {"budget": budget, "observed": str(loaded.observed_path)})
    failed = None
    try:
        folder = write_calibration(out_dir, names, fit, result.overlay, result.observed,
                                   result.simulated, result.chart, result.spec_text, info)
    except ArtefactError as exc:  # fit.json and the tables are written; the chart is not
        folder, failed = exc.folder, exc
    except (OSError, ValueError) as exc:
        fail(f"cannot write results under {out_dir}: {exc}", FAILED)
    click.echo("")
    for line in calibration_lines(fit):
        click.echo(line)
    click.echo(f"\nResults written to {folder}/")
    click.echo("  " + ", ".join(CALIBRATION_FILES))
    if failed is not None:
        fail(str(failed), FAILED)
