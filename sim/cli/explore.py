"""The ``explore`` command: start the live what-if explorer on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import click

from sim.cli._common import BAD_INPUT, fail
from sim.scenario import ScenarioError, load_scenario

__all__ = ["explore"]

DEFAULT_REPLICATES = 1000
DEFAULT_SEED = 20260401
"""The same as :data:`sim.api.DEFAULT_SEED`."""
DEFAULT_WORKERS = 2
"""Worker processes: one per core of the 2-core machine the latency target is set on."""


@click.command()
@click.argument("scenarios", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8050, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--replicates", "-n", type=click.IntRange(min=1, max=100_000),
              default=DEFAULT_REPLICATES, show_default=True,
              help="Monte Carlo replicates per scenario on every change.")
@click.option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True,
              help="Seed of every ensemble (the same for every change: common random numbers).")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=DEFAULT_WORKERS,
              show_default=True,
              help="Worker processes kept for the life of the app; each change's ensemble is "
                   "split over them in blocks of 500 replicates (1: in the app's process). "
                   "Never changes the numbers.")
def explore(scenarios: tuple[str, ...], port: int, replicates: int, seed: int,
            workers: int) -> None:
    """Start the live explorer, a local web page on 127.0.0.1 (docs/explorer.md), on SCENARIOS
    and every shipped scenario (scenarios/*.toml, scenarios/policies/*.toml; la_hosted first
    when none is given); the first is the baseline. Ctrl-C stops it."""
    from sim.explorer import Explorer, create_app, free_port, serve, warm_up
    from sim.explorer.controls import SHIPPED, shipped_scenarios
    from sim.explorer.server import kernels_cached, port_free

    for path in scenarios:
        try:
            load_scenario(path)
        except ScenarioError as exc:
            fail(str(exc), BAD_INPUT)
    if port and not port_free(port):
        fail(f"--port: 127.0.0.1:{port} is in use or not allowed; choose another port, or "
             "--port 0 for any free one", BAD_INPUT)
    given = [Path(p) for p in scenarios]
    shipped = [p for p in shipped_scenarios()
               if p.resolve() not in {g.resolve() for g in given}]
    if not given:
        first = SHIPPED / "la_hosted.toml"
        shipped = [first] + [p for p in shipped if p != first]
    explorer = Explorer(given + shipped, replicates, seed, workers)
    pool = (f"Starting {workers} worker processes, each loading the model"
            if workers > 1 else "Loading the model")
    if kernels_cached():
        click.echo(f"{pool} (its compiled kernels from numba's disk cache) ...", nl=False)
    else:
        click.echo(f"{pool} — compiling its kernels: the first start after an install or a "
                   "code change takes about a minute; they are cached on disk for later "
                   "starts ...", nl=False)
    try:
        load_seconds, first_seconds = warm_up(explorer)
        click.echo(f" {load_seconds:.1f} s; first screen ({replicates:,} replicates × 2) in "
                   f"{first_seconds:.1f} s.")
        port = port or free_port()
        click.echo(f"Explorer at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        serve(create_app(explorer), port)
    finally:  # Ctrl-C or an error: no worker outlives the app
        explorer.close()
