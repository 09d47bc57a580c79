"""When each adaptive policy acted (issue #14 item 5, docs/model.md §12): ``policy_rules.csv``
and the chart "when each rule fired", from the runs' ``policy_rules_acting`` metric (rule ``k``
adds ``2**k`` in a month it acts, so each rule is read back exactly from its bit).

For each scenario with rules, rule and month: ``share_fired``, the share of runs in which the
rule has acted at or before the month (the distribution of the month it first acted: its
median is where ``share_fired`` crosses half its final value), and
``share_acting_this_month``, the share of runs in which it acted in the month
(docs/outputs.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from sim.outputs.rundata import RunData
from sim.outputs.style import RC, Chart, add_footer, add_title, category_colours, fy_axis
from sim.outputs.tables import calendar_columns

if TYPE_CHECKING:
    from sim.experiments.ensemble import EnsembleResult

__all__ = ["POLICY_RULES_COLUMNS", "POLICY_RULES_GUIDE", "policy_rules_chart",
           "policy_rules_table", "rule_acting"]

POLICY_RULES_COLUMNS = ["scenario", "rule_index", "rule", "month", "date", "fiscal_year",
                        "share_fired", "share_acting_this_month"]
POLICY_RULES_GUIDE = ("Each line is one adaptive rule of the scenario file: the share of runs in "
                      "which it has acted by each month.\nA line that stays at 0 never fired; "
                      "a line's rise shows when, across the runs, the rule's condition came "
                      "true.")


def rule_acting(acting: np.ndarray, rules: int) -> np.ndarray:
    """bool[P, R, T]: whether rule ``k`` acted in each run and month, from the metric
    ``policy_rules_acting`` (float[R, T], the sum of ``2**k`` over the rules that acted)."""
    mask = np.rint(np.asarray(acting)).astype(np.int64)
    return np.stack([(mask >> k) & 1 for k in range(rules)]).astype(bool)


def policy_rules_table(results: Sequence[EnsembleResult]) -> pd.DataFrame | None:
    """The long table of ``policy_rules.csv`` (:data:`POLICY_RULES_COLUMNS`); None when no
    scenario has rules."""
    frames = []
    for result in results:
        rules = result.scenario.policies
        if not rules:
            continue
        acted = rule_acting(result.metrics["policy_rules_acting"], len(rules))
        cal = calendar_columns(result.scenario.time.start, result.scenario.time.horizon_months)
        for k, rule in enumerate(rules):
            frame = cal.copy()
            frame.insert(0, "rule", rule.name)
            frame.insert(0, "rule_index", k)
            frame.insert(0, "scenario", result.name)
            frame["share_fired"] = np.maximum.accumulate(acted[k], axis=1).mean(axis=0)
            frame["share_acting_this_month"] = acted[k].mean(axis=0)
            frames.append(frame)
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True)[POLICY_RULES_COLUMNS]


def _first_month_text(frame: pd.DataFrame) -> str:
    """'fired in 62% of runs, half of them by 2029-04' for one rule's rows."""
    final = float(frame["share_fired"].iloc[-1])
    if final <= 0:
        return "never fired"
    half = frame[frame["share_fired"] >= final / 2]
    return f"fired in {100 * final:.0f}% of runs, half of them by {half['date'].iloc[0]}"


def policy_rules_chart(data: RunData) -> Chart | None:
    """One panel per scenario with rules, one line per rule: the share of runs in which the
    rule has acted by each month (plain rule names; the legend gives how often and how soon).
    None when no scenario has rules."""
    table = data.policy_rules
    if table is None or table.empty:
        return None
    names = [n for n in data.scenarios if (table["scenario"] == n).any()]
    most = int(table.groupby("scenario")["rule_index"].nunique().max())
    panel_in = 2.6 + 0.75 + 0.2 * most  # the plot, the date axis and the legend under it
    with plt.rc_context(RC):
        fig, axes = plt.subplots(len(names), 1, figsize=(11.0, panel_in * len(names) + 1.9),
                                 squeeze=False)
        lines = []
        for ax, name in zip(axes[:, 0], names, strict=True):
            rows = table[table["scenario"] == name]
            indices = list(dict.fromkeys(rows["rule_index"]))
            colours = category_colours([f"rule {k}" for k in indices])
            for k in indices:
                frame = rows[rows["rule_index"] == k].sort_values("month")
                rule = str(frame["rule"].iloc[0])
                text = _first_month_text(frame)
                lines.append(f"'{rule}' {text}")
                ax.step(frame["month"], frame["share_fired"], where="post", lw=2.0,
                        color=colours[f"rule {k}"], label=f"{rule} — {text}")
            fy_axis(ax, data.calendar(name))
            ax.set_ylim(-0.03, 1.05)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:.0f}%"))
            ax.set_ylabel("Share of runs fired")
            ax.set_title(data.title(name), loc="left", fontsize=11, fontweight="bold", pad=22)
            ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.75 / 2.6), fontsize=8,
                      frameon=False)
        title = "When each rule fired\n" + "; ".join(lines[:3]) + (
            f"; and {len(lines) - 3} more" if len(lines) > 3 else "")
        below = add_title(fig, title)
        add_footer(fig, data.footer(), "Share of runs in which the rule has acted by each month")
        height = fig.get_figheight()
        fig.subplots_adjust(left=0.08, right=0.98,
                            bottom=(0.5 + 0.75 + 0.2 * most) / height,
                            hspace=(0.75 + 0.2 * most + 0.6) / 2.6,
                            top=below - 0.7 / height)
    return Chart("policy_rules", fig, title, POLICY_RULES_GUIDE)
