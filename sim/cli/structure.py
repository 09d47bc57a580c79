"""Commands on the model's structure: ``structure`` (the diagram) and ``export-xmile`` (the
mean-field core as XMILE), docs/structure.md."""

from __future__ import annotations

from pathlib import Path

import click

from sim.cli._common import BAD_INPUT, FAILED, fail
from sim.scenario import ScenarioError

__all__ = ["export_xmile", "structure"]


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("docs"), show_default=True,
              help="Folder into which structure.svg and structure.png are written.")
def structure(out_dir: Path) -> None:
    """Draw the model's stocks, flows and feedback loops (from sim/model/structure.py) with
    graphviz into OUT/structure.svg and .png."""
    from sim import api

    try:
        written = api.draw_structure(out_dir)
    except OSError as exc:  # graphviz's dot missing, or the folder not writable
        fail(f"cannot draw the structure into {out_dir}: {exc}", FAILED)
    for path in written:
        click.echo(f"wrote {path}")


@click.command("export-xmile")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("model.xmile"), show_default=True, help="The XMILE file to write.")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a scenario value, as for run. Repeatable.")
@click.option("--trajectories", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the mean-field trajectories (one row a month) to this CSV.")
def export_xmile(scenario: str, out_file: Path, overrides: tuple[str, ...],
                 trajectories: Path | None) -> None:
    """Write SCENARIO's aggregate core (LAs by ladder state, staff, reserves, their flows and
    the main loops, the scenario's values as constants) as an XMILE 1.0 model that Stella,
    Vensim or PySD can open; it runs the deterministic mean-field of docs/structure.md."""
    from sim import api

    try:
        loaded = api.load_scenario(scenario, overrides)
    except ScenarioError as exc:
        fail(str(exc), BAD_INPUT)
    text = api.xmile(loaded)
    from sim.files import write_text

    try:
        write_text(out_file, text)
        if trajectories is not None:
            api.mean_field(loaded).to_csv(trajectories, index_label="month")
    except OSError as exc:
        fail(f"cannot write {exc.filename}: {exc.strerror or exc}", FAILED)
    click.echo(f"wrote {out_file}" + (f" and {trajectories}" if trajectories else ""))
