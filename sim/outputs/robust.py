"""What ``python run.py robust`` writes: robustness table, cells, failures, chart, board page.

Files (docs/outputs.md §6, "the robust folder"), data first, then the chart and the pages:

* ``robustness.csv`` — one row per candidate, ranked (:func:`sim.experiments.robust.
  robustness_table`);
* ``cells.csv`` — one row per candidate × future: the uncertainties, the statistic, whether it
  meets the target, the regret;
* ``failures.csv`` and ``failures.md`` — for each candidate, the PRIM rule for the futures
  where it misses the target and the one where it meets it;
* ``robustness.png``/``.svg`` — candidates ranked by satisficing share (bars with a 90 % Wilson
  interval), their maximum and 90th-percentile regret beside;
* ``what_must_be_true.md`` and ``.html`` — for each candidate: its robustness, the conditions
  under which it stays on target, where it fails, and break-even values from ``threshold``
  folders given with ``--break-even``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.files import atomic_write, write_text
from sim.outputs.kpi_text import KPI_TEXT
from sim.outputs.rules import describe_box, describe_restriction
from sim.outputs.style import FOOTER_GREY, PALETTE, SCREEN_DPI, add_footer, pct, save_figure
from sim.outputs.threshold import answer_lines

if TYPE_CHECKING:
    from sim.experiments.candidates import RobustStudy
    from sim.experiments.discover import Box
    from sim.experiments.robust import Explanation
    from sim.experiments.threshold import Target, ThresholdResult

__all__ = ["plot_robustness", "robust_title", "target_words", "write_robust"]

_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
_CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 24px; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin: 1.6em 0 0.2em; }
p.guide { background: #f4f4f4; border-left: 4px solid #999; padding: 8px 12px; color: #444; }
img { width: 100%; height: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; font-size: 0.93em; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #222; } code { color: #666; font-size: 0.85em; }
"""


def target_words(target: Target) -> str:
    """The target in words: ``P(is working at year 10) ≥ 80%`` for the mean of a 0/1 KPI, else
    ``mean(min_reserves_gbp) ≥ 0``."""
    known = KPI_TEXT.get(target.kpi)
    op = _OPS.get(target.op, target.op)
    if (known is not None and known.event and target.statistic == "mean"
            and 0 <= target.value <= 1):
        return f"P({known.event}) {op} {100 * target.value:.0f}%"
    return f"{target.statistic}({target.kpi}) {op} {target.value:g}"


def _conditions(box: Box | None) -> str:
    if box is None or not box.restrictions:
        return ""
    parts = []
    for r in box.restrictions:
        if r.categories is not None:
            parts.append(f"{r.column} in {list(r.categories)!r}")
        else:
            if r.low is not None:
                parts.append(f"{r.column} >= {r.low:.10g}")
            if r.high is not None:
                parts.append(f"{r.column} <= {r.high:.10g}")
    return " and ".join(parts)


def _rule(box: Box | None, outcome: str, labels: Mapping[str, str], never: str) -> str:
    return never if box is None else describe_box(box, outcome, "futures", labels)


def _explanation_rows(explanations: Sequence[Explanation], target: Target,
                      labels: Mapping[str, str]) -> list[dict[str, Any]]:
    words = target_words(target)
    rows = []
    for e in explanations:
        for outcome, box, count in (("misses", e.fails, e.failures),
                                    ("meets", e.holds, e.futures - e.failures)):
            every = "every" if count == e.futures else "no"
            rows.append({
                "candidate": e.candidate, "outcome": outcome, "futures": e.futures,
                "futures_with_outcome": count,
                "rule": _rule(box, f"{outcome} {words}", labels,
                              f"{outcome} {words} in {every} future"),
                "conditions": _conditions(box),
                "density": box.density if box else math.nan,
                "coverage": box.coverage if box else math.nan,
                "support": box.support if box else math.nan})
    return rows


def robust_title(table: pd.DataFrame, target: Target) -> str:
    """The finding: the most robust candidate, its share of futures and the lowest regret."""
    best = table.iloc[0]
    low_regret = table.sort_values("max_regret", kind="stable").iloc[0]
    first = (f"{best['candidate']} meets {target_words(target)} in "
             f"{pct(best['satisficing_share'])} of futures "
             f"(90% interval {pct(best['satisficing_low'])}–{pct(best['satisficing_high'])})")
    return (f"{first}\nLowest maximum regret: {low_regret['candidate']} "
            f"({low_regret['max_regret']:.3g} of {target.statistic}({target.kpi}))")


def plot_robustness(table: pd.DataFrame, target: Target, title: str, footer: str) -> Figure:
    """Candidates ranked by satisficing share (bars, 90 % Wilson interval), regret beside."""
    n = len(table)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 1.6 + 0.45 * max(n, 3)),
                                      sharey=True, gridspec_kw={"width_ratios": [1.3, 1]})
    y = np.arange(n)[::-1]
    share = table["satisficing_share"].to_numpy(dtype=float)
    err = np.vstack([share - table["satisficing_low"].to_numpy(dtype=float),
                     table["satisficing_high"].to_numpy(dtype=float) - share])
    left.barh(y, share, color=PALETTE[0], height=0.6)
    left.errorbar(share, y, xerr=np.clip(err, 0, None), fmt="none", ecolor="black", capsize=3,
                  lw=1)
    for yi, s in zip(y, share, strict=True):
        left.text(min(s + 0.02, 0.9), yi + 0.3, pct(s), fontsize=8, va="center")
    left.set_yticks(y, table["candidate"].astype(str).tolist())
    left.set_xlim(0, 1)
    left.set_xlabel(f"share of futures meeting\n{target_words(target)}")
    left.grid(axis="x", alpha=0.3)
    height = 0.35
    right.barh(y + height / 2, table["max_regret"].to_numpy(dtype=float), height=height,
               color=PALETTE[5], label="maximum")
    right.barh(y - height / 2, table["p90_regret"].to_numpy(dtype=float), height=height,
               color=PALETTE[1], label="90th percentile")
    right.set_xlabel(f"regret in {target.statistic}({target.kpi})\n"
                     + ("(best in that future minus its own)" if target.op in (">=", ">") else
                        "(its own minus the lowest in that future)"))
    right.grid(axis="x", alpha=0.3)
    right.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8,
                 frameon=False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10.5)
    longest = max(len(str(name)) for name in table["candidate"])
    height_in = fig.get_figheight()
    fig.subplots_adjust(left=min(0.45, (0.3 + 0.085 * longest) / fig.get_figwidth()),
                        right=0.98, bottom=0.2 + 0.5 / height_in, top=1 - 0.75 / height_in,
                        wspace=0.12)
    add_footer(fig, footer, "common random numbers; interval: Wilson 90% over futures")
    left.xaxis.label.set_color(FOOTER_GREY)
    right.xaxis.label.set_color(FOOTER_GREY)
    return fig


def _break_even_lines(answers: Sequence[tuple[ThresholdResult, Mapping[str, Any]]]
                      ) -> list[str]:
    """Each threshold answer in words (:func:`sim.outputs.threshold.answer_lines`), headed by
    the scenario it was found for (``settings``: its threshold.json)."""
    lines = []
    for result, settings in answers:
        where = f"{settings.get('scenario', '?')}"
        if settings.get("overrides"):
            where += f" with {', '.join(settings['overrides'])}"
        lines.append(f"{where}:")
        lines += [line.strip() for line in answer_lines(result)]
    return lines


def _pages(study: RobustStudy, table: pd.DataFrame, explanations: Sequence[Explanation],
           break_even: Sequence[tuple[ThresholdResult, Mapping[str, Any]]]
           ) -> tuple[str, list[tuple[str, list[str]]]]:
    """The page's blocks: an introduction, then (heading, lines) per candidate."""
    target, words = study.target, target_words(study.target)
    labels = {p.path: p.name for p in study.uncertainties}
    by_name = {e.candidate: e for e in explanations}
    described = {c.name: c.label for c in study.candidates}
    ranges = "; ".join(f"{p.name} ({describe_range(p)})" for p in study.uncertainties)
    intro = (f"Target: {words} ({target}). Each candidate was run in the same futures, which "
             f"vary what the board does not control: {ranges}. A candidate satisfices in a "
             "future when it meets the target there; its regret in a future is how far it falls "
             "short of the best candidate in that future.")
    blocks = []
    for row in table.itertuples(index=False):
        e = by_name[str(row.candidate)]
        lines = [f"Robustness: meets the target in {row.futures_meeting_target} of "
                 f"{row.futures} futures ({pct(row.satisficing_share)}, 90% interval "
                 f"{pct(row.satisficing_low)}–{pct(row.satisficing_high)}); "
                 f"{target.statistic}({target.kpi}) averaged over the futures "
                 f"{row.mean_statistic:.3g}; regret: maximum "
                 f"{row.max_regret:.3g}, 90th percentile {row.p90_regret:.3g}; best in "
                 f"{row.best_in_futures} futures."]
        if e.holds is not None:
            lines.append("Stays on target: " + describe_box(e.holds, f"meets {words}",
                                                            "futures", labels))
            lines.append("What must be true: " + " and ".join(
                describe_restriction(r, labels) for r in e.holds.restrictions)
                if e.holds.restrictions else "What must be true: no condition on the "
                "uncertainties stands out.")
        elif e.failures == 0:
            lines.append(f"Stays on target in every future: nothing about {ranges} needs to "
                         "be true within these ranges.")
        else:
            lines.append("Misses the target in every future: no condition within these "
                         "ranges keeps it on target.")
        if e.fails is not None:
            lines.append("Fails: " + describe_box(e.fails, f"misses {words}", "futures",
                                                  labels))
        blocks.append((f"{row.rank}. {row.candidate} — {described.get(str(row.candidate), '')}",
                       lines))
    if break_even:
        blocks.append(("Break-even values (run.py threshold)", _break_even_lines(break_even)))
    return intro, blocks


def describe_range(p: Any) -> str:
    """A parameter's range in words: ``2,500 to 10,000`` or ``one of 24, 36``."""
    if p.kind == "choice":
        return "one of " + ", ".join(str(v) for v in (p.values or ()))
    low, high = p.extremes()
    return f"{low:,.6g} to {high:,.6g}"


def _markdown(title: str, intro: str, table: pd.DataFrame, blocks: list[tuple[str, list[str]]],
              footer: str) -> str:
    first, _, rest = title.partition("\n")
    head = ("| rank | candidate | meets target | 90% interval | max regret | p90 regret |\n"
            "| ---: | --- | ---: | --- | ---: | ---: |\n")
    rows = "".join(f"| {r.rank} | {r.candidate} | {pct(r.satisficing_share)} | "
                   f"{pct(r.satisficing_low)}–{pct(r.satisficing_high)} | {r.max_regret:.3g} | "
                   f"{r.p90_regret:.3g} |\n" for r in table.itertuples(index=False))
    body = "".join(f"\n## {heading}\n\n" + "".join(f"- {line}\n" for line in lines)
                   for heading, lines in blocks)
    return (f"# What must be true: {first}\n\n{rest}\n\n{intro}\n\n{head}{rows}\n"
            f"![robustness chart](robustness.png)\n{body}\n---\n{footer}\n")


def _html(title: str, intro: str, table: pd.DataFrame, blocks: list[tuple[str, list[str]]],
          footer: str, png: Path) -> str:
    first, _, rest = title.partition("\n")
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    rows = "".join(f"<tr><td>{r.rank}</td><td>{escape(str(r.candidate))}</td>"
                   f"<td>{pct(r.satisficing_share)}</td><td>{pct(r.satisficing_low)}–"
                   f"{pct(r.satisficing_high)}</td><td>{r.max_regret:.3g}</td>"
                   f"<td>{r.p90_regret:.3g}</td></tr>" for r in table.itertuples(index=False))
    sections = "".join(f"<section><h2>{escape(heading)}</h2><ul>"
                       + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul></section>"
                       for heading, lines in blocks)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>What must be '
            f"true: {escape(first)}</title><style>{_CSS}</style></head><body>"
            f"<h1>What must be true</h1><p><b>{escape(first)}</b><br>{escape(rest)}</p>"
            f'<p class="guide">{escape(intro)}</p><table><thead><tr><th>Rank</th>'
            "<th>Candidate</th><th>Meets target</th><th>90% interval</th><th>Max regret</th>"
            f"<th>p90 regret</th></tr></thead><tbody>{rows}</tbody></table>"
            f'<img src="data:image/png;base64,{image}" alt="{escape(first)}">{sections}'
            f'<p class="guide">{escape(footer)}</p></body></html>\n')


def write_robust(folder: Path, study: RobustStudy, cells: pd.DataFrame, table: pd.DataFrame,
                 explanations: Sequence[Explanation], footer: str,
                 break_even: Sequence[tuple[ThresholdResult, Mapping[str, Any]]] = ()
                 ) -> list[Path]:
    """Write the robust folder's tables, chart and pages (data first); ``break_even``: the
    answers of ``run.py threshold`` folders, each with its threshold.json, to quote."""
    folder = Path(folder)
    labels = {p.path: p.name for p in study.uncertainties}

    def csv(name: str, frame: pd.DataFrame) -> Path:
        return atomic_write(folder / name, lambda tmp: frame.to_csv(tmp, index=False,
                                                                    float_format="%.10g"))

    failures = pd.DataFrame(_explanation_rows(explanations, study.target, labels))
    written = [csv("robustness.csv", table), csv("cells.csv", cells.drop(columns="point")),
               csv("failures.csv", failures)]
    words = target_words(study.target)
    md = [f"# Where each candidate misses {words}\n\nPRIM boxes over the futures (Friedman & "
          "Fisher 1999; docs/experiments.md §6), one for the futures where the candidate misses "
          "the target and one for those where it meets it.\n"]
    for name, part in failures.groupby("candidate", sort=False):
        md.append(f"\n## {name}\n\n" + "".join(f"- {rule}\n" for rule in part["rule"]))
    written.append(write_text(folder / "failures.md", "".join(md)))
    title = robust_title(table, study.target)
    fig = plot_robustness(table, study.target, title, footer)
    written += save_figure(fig, lambda name: folder / name, "robustness", title=title,
                           dpi=SCREEN_DPI)
    intro, blocks = _pages(study, table, explanations, break_even)
    written.append(write_text(folder / "what_must_be_true.md",
                              _markdown(title, intro, table, blocks, footer)))
    written.append(write_text(folder / "what_must_be_true.html",
                              _html(title, intro, table, blocks, footer,
                                    folder / "robustness.png")))
    return written
