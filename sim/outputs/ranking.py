"""The board's ranked table: every delivery model ordered by the lead KPI — the chance the
Centre is working after 10 years, then after 5 — with its plain title and the key KPIs as the
scorecard shows them (median or share of runs, with the range), and each model's declared
drivers against the reference scenario.

Ranks come from ``summary.json`` alone (means of the 0/1 KPIs), so the table can be checked
against ``kpis.parquet``: the mean of ``viable_prob_y10`` per scenario, ties broken by
``viable_prob_y5``, then by survival at 10 and 5 years, then by the share working in the run's
last month (runs shorter than five years), then by command-line order.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.outputs.findings import viable_share
from sim.outputs.kpi_text import kpi_text
from sim.outputs.rundata import RunData
from sim.outputs.scorecard import ScoreCell, ScoreRow

__all__ = ["RANK_KPIS", "TABLE_KPIS", "RankedRow", "rank_key", "ranking", "ranked_rows",
           "ranked_columns", "column_heading", "rank_text", "RANKING_GUIDE"]

RANK_KPIS = ("viable_prob_y10", "viable_prob_y5", "survival_prob_y10", "survival_prob_y5")
"""The ranking's keys, most important first (the board pack's lead KPI is the first)."""

TABLE_KPIS = ("viable_prob_y10", "viable_prob_y5", "survival_prob_y10", "members_y10",
              "live_services_y10", "min_reserves_gbp", "value_delivered_total_gbp")
"""The KPIs the ranked table shows, when the run has them."""

RANKING_GUIDE = (
    "Models ordered by the chance the Centre is working after 10 years (open, with its minimum "
    "team, a reliable service and enough members), ties by the chance after 5 years, then by "
    "survival.\nChances: share of runs (range: 90% interval of the estimate); other cells: "
    "median run (range: 8 runs in 10). '=' marks a tie on every ranking measure.")


@dataclass(frozen=True)
class RankedRow:
    """One model in the ranked table.

    Attributes
    ----------
    rank : competition rank (1, 2, 2, 4): models equal on every ranking key share a rank.
    tied : whether another model shares the rank.
    scenario : the scenario's name (``meta.name``).
    title : its plain title (``meta.title``).
    index : its position on the command line (its colour in the charts).
    cells : one per :func:`ranked_columns` KPI, as in the scorecard.
    """

    rank: int
    tied: bool
    scenario: str
    title: str
    index: int
    cells: list[ScoreCell]


def _or_low(value: float) -> float:
    return -1.0 if value != value else value


def rank_key(data: RunData, scenario: str) -> tuple[float, ...]:
    """The ranking keys of one scenario (higher is better; an undefined key counts as −1)."""
    keys = [_or_low(data.kpi(scenario, kpi, "mean")) for kpi in RANK_KPIS]
    end = viable_share(data, scenario, 10)  # the last month's share when the run is shorter
    return (*keys, _or_low(end))


def ranking(data: RunData) -> list[str]:
    """Scenario names, best first (ties in command-line order)."""
    return sorted(data.scenarios, key=lambda s: tuple(-k for k in rank_key(data, s)))


def ranked_columns(data: RunData, rows: list[ScoreRow]) -> list[ScoreRow]:
    """The scorecard rows of :data:`TABLE_KPIS` present in the run, in that order, leaving out
    KPIs undefined in every scenario (e.g. year-10 values of a five-year run)."""
    by_kpi = {r.kpi: r for r in rows}
    return [by_kpi[k] for k in TABLE_KPIS if k in by_kpi
            and not all(c.value != c.value for c in by_kpi[k].cells)]


def ranked_rows(data: RunData, rows: list[ScoreRow]) -> list[RankedRow]:
    """The ranked table: one row per scenario, best first, with the cells of
    :func:`ranked_columns`."""
    columns = ranked_columns(data, rows)
    order = ranking(data)
    keys = {s: rank_key(data, s) for s in order}
    out = []
    for name in order:
        first = next(i for i, s in enumerate(order) if keys[s] == keys[name])
        tied = sum(keys[s] == keys[name] for s in order) > 1
        index = data.scenarios.index(name)
        out.append(RankedRow(first + 1, tied, name, data.title(name), index,
                             [row.cells[index] for row in columns]))
    return out


def column_heading(row: ScoreRow, end: str) -> str:
    """A short heading for a ranked-table column (``working at year 10``)."""
    text = kpi_text(row.kpi, end)
    return text.short or row.words


def rank_text(row: RankedRow) -> str:
    """``1``, or ``=2`` for a shared rank."""
    return f"={row.rank}" if row.tied else str(row.rank)
