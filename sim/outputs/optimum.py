"""What ``python run.py optimise`` writes: the chosen policy, the evaluations, front and chart.

Files (docs/outputs.md §7): ``optimum.json`` (the chosen lever values, each objective and
constraint with its standard error and 90 % interval on the search replicates and on fresh
seeds, whether the constraints hold), ``optimum.md`` (the same in plain words),
``evaluations.parquet`` (every candidate evaluated), ``pareto.csv`` (the candidates on the
front) and ``pareto.png`` / ``.svg`` (the front, dominated points grey, the chosen point
marked). Data files first, then the chart. Nothing here depends on how long the run took or on
which worker ran what, so a resumed run writes the same files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from sim.files import atomic_write, write_json, write_text
from sim.outputs.style import PALETTE, SCREEN_DPI, finish_plot, save_figure

if TYPE_CHECKING:
    from sim.experiments.optimise_run import OptimiseResult

__all__ = ["OPTIMISE_FILES", "optimum_lines", "optimum_record", "plot_pareto", "write_optimum"]

OPTIMISE_FILES = ("optimum.json", "optimum.md", "evaluations.parquet", "pareto.csv",
                  "pareto.png", "pareto.svg")


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def optimum_record(result: OptimiseResult, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Everything about the answer as JSON-ready values (optimum.json)."""
    problem = result.problem
    row = result.table.iloc[result.chosen]
    objectives = []
    for c in problem.objectives:
        entry: dict[str, Any] = {"objective": c.text, "label": c.label, "sense": c.sense,
                                 "search": result.search[c.label]}
        if c.kpi is not None:
            entry["fresh"] = result.fresh[c.label]
        objectives.append(entry)
    constraints = []
    for t in problem.constraints:
        search = dict(result.search[str(t)])
        search["confidence_bound"] = float(row[f"bound:{t}"])
        search["holds"] = bool(row[f"holds:{t}"])
        fresh = dict(result.fresh[str(t)])
        constraints.append({"constraint": str(t), "search": search,
                            "fresh": {**{k: v for k, v in fresh.items()
                                         if k not in ("holds", "interval_clears")},
                                      "holds": bool(fresh["holds"]),
                                      "interval_clears": bool(fresh["interval_clears"])}})
    return {
        "sweep": problem.sweep.name, "found": result.found, "message": result.message,
        "chosen": result.chosen_values, "chosen_evaluation": int(row["evaluation"]),
        "objectives": objectives, "constraints": constraints,
        "constraints_hold_on_fresh_seeds": result.fresh_holds if problem.constraints else None,
        "evaluations_requested": result.requested, "candidates": len(result.table),
        "pareto_points": len(result.front), "notes": list(result.notes),
        "settings": dict(settings)}


def optimum_lines(result: OptimiseResult) -> list[str]:
    """The answer in plain words, as the command prints it and optimum.md holds it."""
    problem = result.problem
    lines = [result.message, ""]
    lines += [f"- {p.name}: **{_number(v)}**" for p, v in
              zip(problem.levers, result.chosen_values.values(), strict=True)]
    lines.append("")
    for c in problem.objectives:
        s = result.search[c.label]
        if c.lever is not None:
            lines.append(f"Objective: {c.sense} {c.label} = {_number(s['value'])}.")
            continue
        f = result.fresh[c.label]
        lines.append(f"Objective: {c.sense} {c.label} = {_number(s['value'])} (standard error "
                     f"{_number(s['se'])}) on {problem.replicates:,} replicates × "
                     f"{len(problem.futures)} futures; {_number(f['value'])} (90% interval "
                     f"{_number(f['low90'])} to {_number(f['high90'])}) on fresh seed "
                     f"{problem.fresh_seed}.")
    for t in problem.constraints:
        s, f = result.search[str(t)], result.fresh[str(t)]
        verdict = ("holds" if f["holds"] else "does NOT hold")
        clear = (" and its whole 90% interval meets the target" if f["interval_clears"] else
                 " but its 90% interval reaches past the target" if f["holds"] else "")
        lines.append(f"Constraint {t}: {_number(s['value'])} (standard error {_number(s['se'])}, "
                     f"90% interval {_number(s['low90'])} to {_number(s['high90'])}) on the "
                     f"search replicates; on fresh seed {problem.fresh_seed} "
                     f"({problem.fresh_replicates:,} replicates × {len(problem.futures)} "
                     f"futures) {_number(f['value'])} (90% interval {_number(f['low90'])} to "
                     f"{_number(f['high90'])}): it {verdict}{clear}.")
    lines.append("")
    lines.append(f"{len(result.table):,} distinct candidates evaluated ({result.requested:,} "
                 f"asked for by {problem.method}); {len(result.front)} on the Pareto front "
                 "(pareto.csv).")
    lines += [f"Note: {n}." for n in result.notes]
    return lines


def _axes(result: OptimiseResult) -> tuple[str, str, str, str]:
    """Columns of the chart's x and y axes and their labels."""
    problem = result.problem
    first = f"objective:{problem.objectives[0].label}"
    xl = f"{problem.objectives[0].sense} {problem.objectives[0].label}"
    if len(problem.objectives) > 1:
        second = problem.objectives[1]
        return first, f"objective:{second.label}", xl, f"{second.sense} {second.label}"
    if problem.constraints:
        t = problem.constraints[0]
        return first, f"constraint:{t}", xl, f"{t.statistic}({t.kpi}) (constraint: {t})"
    return problem.levers[0].path, first, problem.levers[0].name, xl


def plot_pareto(result: OptimiseResult, title: str, footer: str) -> Figure:
    """Every evaluated candidate on the first two criteria: dominated ones grey, the front in
    colour and joined, candidates that miss a constraint as grey crosses, the chosen one
    starred."""
    table = result.table
    x, y, xl, yl = _axes(result)
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    infeasible = ~table["feasible"].to_numpy()
    front = table["pareto"].to_numpy()
    rest = ~front & ~infeasible
    ax.scatter(table[x][rest], table[y][rest], s=14, color="#BBBBBB", zorder=2,
               label=f"dominated ({int(rest.sum())})")
    ax.scatter(table[x][infeasible & ~front], table[y][infeasible & ~front], s=14, marker="x",
               color="#999999", lw=0.8, zorder=2,
               label=f"misses a constraint ({int((infeasible & ~front).sum())})")
    order = table[front].sort_values(x)
    ax.plot(order[x], order[y], color=PALETTE[0], lw=1, zorder=3, drawstyle="steps-post")
    ax.scatter(order[x], order[y], s=26, color=PALETTE[0], zorder=4,
               label=f"Pareto front ({len(order)})")
    chosen = table.iloc[result.chosen]
    ax.scatter([chosen[x]], [chosen[y]], s=180, marker="*", color=PALETTE[5],
               edgecolor="black", lw=0.6, zorder=5, label="chosen")
    problem = result.problem
    if len(problem.objectives) == 1 and problem.constraints:
        ax.axhline(problem.constraints[0].value, color=PALETTE[5], ls="--", lw=1,
                   label=f"target: {problem.constraints[0]}")
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    return finish_plot(fig, ax, title, footer,
                       "common futures and random numbers for every candidate")


def write_optimum(result: OptimiseResult, folder: Path, settings: Mapping[str, Any],
                  title: str, footer: str) -> Sequence[Path]:
    """Write optimum.json, optimum.md, evaluations.parquet, pareto.csv (data first), then the
    chart pareto.png / .svg."""
    folder = Path(folder)
    written = [write_json(folder / "optimum.json", optimum_record(result, settings))]
    written.append(write_text(folder / "optimum.md",
                              f"# {title}\n\n" + "\n".join(optimum_lines(result)) + "\n"))
    table = result.table
    written.append(atomic_write(folder / "evaluations.parquet",
                                lambda tmp: table.to_parquet(tmp, index=False)))
    front = table[table["pareto"]].drop(columns=["pareto"])
    written.append(atomic_write(folder / "pareto.csv",
                                lambda tmp: front.to_csv(tmp, index=False, float_format="%.10g")))
    fig = plot_pareto(result, title, footer)
    written += save_figure(fig, lambda name: folder / name, "pareto", title=title,
                           dpi=SCREEN_DPI)
    return written
