"""Chart titles that state a finding, computed from the run's tables (never fixed sentences).

Each function returns one or two lines (joined by ``\\n``): the first is the finding, the second
the numbers behind it. Percentages of runs are means of 0/1 KPIs from ``summary.json``; money and
counts are medians (``p50``) unless a sentence says "mean"; paired differences are means of
per-replicate differences from ``kpis.parquet``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.outputs.paired import survival_kpi
from sim.outputs.rundata import RunData
from sim.outputs.style import gbp, pct, points

__all__ = ["CLIFF_WINDOW_MONTHS", "survival_share", "survival_ranking", "closes_after_cliff",
           "cliff_box", "cliff_title", "trajectories_title", "survival_title", "growth_title",
           "paired_title", "runway_text", "half_closed_month"]

CLIFF_WINDOW_MONTHS = 24
"""'Closes within two years of the cliff' counts closures in this many months from the cliff."""


def _nan(x: float) -> bool:
    return x != x


def survival_share(data: RunData, scenario: str, years: int = 10) -> float:
    """Share of runs still operating at the end of year ``years`` (5 or 10).

    The mean of ``survival_prob_y<years>`` from ``summary.json``; when the run is shorter than
    that, the mean of ``operating`` in its last month (NaN if neither exists).
    """
    value = data.kpi(scenario, f"survival_prob_y{years}", "mean")
    if _nan(value) and years == 10:
        last = data.wide(scenario).get("operating")
        value = float(last.iloc[-1]) if last is not None else math.nan
    return value


def survival_ranking(data: RunData) -> str:
    """``la_hosted 100%, independent_company 90%, government_hosted 0%`` (most likely first)."""
    shares = [(s, survival_share(data, s)) for s in data.scenarios]
    ranked = sorted(shares, key=lambda kv: -(kv[1] if not _nan(kv[1]) else -1.0))
    return ", ".join(f"{s} {pct(v)}" for s, v in ranked)


def closes_after_cliff(data: RunData, scenario: str) -> tuple[float, int]:
    """Share of runs operating at the cliff that close within two years of it, and the window.

    Computed per replicate from ``kpis.parquet``, among replicates with a cliff that are still
    operating in their cliff month: the share with ``cliff_month`` ≤ ``closure_month`` <
    ``cliff_month`` + window. The window is 24 months, or fewer if the run ends sooner after the
    median cliff. Returns (NaN, 0) when the scenario has no cliff.
    """
    frame = data.kpis[data.kpis["scenario"] == scenario]
    if "cliff_month" not in frame or "closure_month" not in frame:
        return math.nan, 0
    cliff = frame["cliff_month"].to_numpy(dtype=float)
    closure = frame["closure_month"].to_numpy(dtype=float)
    if np.isnan(cliff).all():
        return math.nan, 0
    window = int(min(CLIFF_WINDOW_MONTHS, data.horizon_months - float(np.nanmedian(cliff))))
    at_cliff = ~np.isnan(cliff) & (np.isnan(closure) | (closure >= cliff))
    if not at_cliff.any():
        return math.nan, window
    closes = at_cliff & (closure >= cliff) & (closure < cliff + window)
    return float(closes.sum() / at_cliff.sum()), window


def _window_words(window: int) -> str:
    return "two years" if window == 24 else f"{window} months"


def runway_text(data: RunData, scenario: str) -> str:
    """The median runway at the cliff in words."""
    runway = data.kpi(scenario, "runway_months_at_cliff", "p50")
    if _nan(runway):
        return "n/a (closed before the cliff)"
    if runway >= 120:
        return "not run down (120+ months)"
    return f"{runway:.0f} months"


def cliff_box(data: RunData, scenario: str) -> str:
    """The per-scenario annotation of the funding-cliff chart, one fact per line."""
    cliff = data.kpi(scenario, "cliff_month", "p50")
    y5, y10 = survival_share(data, scenario, 5), survival_share(data, scenario, 10)
    still = (f"Still running: {pct(y5)} of runs after 5 years, {pct(y10)} after "
             f"{data.end_label()}")
    if _nan(cliff):
        return f"No funding cliff within the run\n{still}"
    drop = data.kpi(scenario, "cliff_drop_gbp_per_month", "p50")
    share = data.kpi(scenario, "cliff_drop_share", "p50")
    closes, window = closes_after_cliff(data, scenario)
    defined = data.kpi(scenario, "cliff_month", "defined_share")
    when = data.month_label(cliff) + (f"; in {pct(defined)} of runs" if defined < 0.995 else "")
    return "\n".join([
        f"At the cliff ({when}) income falls {gbp(drop)}/month ({pct(share)})",
        f"Reserves then last: {runway_text(data, scenario)} (median run)",
        f"Closes within {_window_words(window)} of the cliff: {pct(closes)} of runs",
        still,
    ])


def cliff_title(data: RunData) -> str:
    """Title of the funding-cliff chart."""
    names = data.scenarios
    with_cliff = [s for s in names if not _nan(data.kpi(s, "cliff_month", "p50"))]
    ranking = f"Still running after {data.end_label()}: {survival_ranking(data)}"
    if not with_cliff:
        return f"No funding cliff within the run\n{ranking}"
    if len(names) == 1:
        s = names[0]
        drop = data.kpi(s, "cliff_drop_gbp_per_month", "p50")
        share = data.kpi(s, "cliff_drop_share", "p50")
        closes, window = closes_after_cliff(data, s)
        return (f"Income falls {gbp(drop)}/month ({pct(share)}) in "
                f"{data.month_label(data.kpi(s, 'cliff_month', 'p50'))}; reserves then last "
                f"{runway_text(data, s)} in the median run\n"
                f"{pct(closes)} of runs close within {_window_words(window)} of the cliff; "
                f"{pct(survival_share(data, s))} are still running after {data.end_label()}")
    shares = sorted(round(100 * v) for s in with_cliff
                    if not _nan(v := data.kpi(s, "cliff_drop_share", "p50")))
    fall = ("by an unknown share" if not shares else f"{shares[0]}%" if shares[0] == shares[-1]
            else f"{shares[0]}–{shares[-1]}%")
    closing = {s: closes_after_cliff(data, s) for s in with_cliff}
    words = _window_words(min(w for _, w in closing.values()))
    most, least = _extremes({s: round(100 * v) for s, (v, _) in closing.items() if not _nan(v)})
    if not most:
        closing_text = "every run had closed before the cliff"
    elif most == least:
        closing_text = f"{pct(closing[most[0]][0])} of runs close within {words} in " + (
            "every scenario" if len(with_cliff) > 1 else most[0])
    else:
        closing_text = (f"{_names(most)} {'closes' if len(most) == 1 else 'close'} within "
                        f"{words} in {pct(closing[most[0]][0])} of runs, {_names(least)} in "
                        f"{pct(closing[least[0]][0])}")
    return f"At the funding cliff income falls {fall}; {closing_text}\n{ranking}"


def _names(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _extremes(values: dict[str, float]) -> tuple[list[str], list[str]]:
    """Names with the highest and the lowest value (ties kept, NaN ignored)."""
    clean = {k: v for k, v in values.items() if not _nan(v)}
    if not clean:
        return [], []
    hi, lo = max(clean.values()), min(clean.values())
    return [k for k, v in clean.items() if v == hi], [k for k, v in clean.items() if v == lo]


def trajectories_title(data: RunData) -> str:
    """Title of the trajectory small multiples: who keeps the most members, and value delivered."""
    end = data.end_label()
    members = {s: data.kpi(s, "members_y10", "p50") for s in data.scenarios}
    top, bottom = _extremes(members)
    if len(data.scenarios) == 1 or top == bottom:
        first = (f"Member LAs after {end}: median " + ", ".join(
            f"{s} {_count(members[s])}" for s in data.scenarios))
    else:
        first = (f"{_names(top)} {'keeps' if len(top) == 1 else 'keep'} the most member "
                 f"LAs after {end} (median {members[top[0]]:.0f}); {_names(bottom)} the "
                 f"fewest ({members[bottom[0]]:.0f})")
    value = ", ".join(f"{s} {gbp(data.kpi(s, 'value_delivered_total_gbp', 'p50'))}"
                      for s in data.scenarios)
    return f"{first}\nValue delivered to member LAs over {end} (median): {value}"


def half_closed_month(data: RunData, scenario: str) -> float:
    """First month in which fewer than half of the runs still operate (NaN if never)."""
    operating = data.wide(scenario).get("operating")
    if operating is None:
        return math.nan
    below = operating[operating < 0.5]
    return float(below.index[0]) if len(below) else math.nan


def survival_title(data: RunData) -> str:
    """Title of the survival curves: which scenario is most likely to close, and when."""
    end = data.end_label()
    shares = {s: survival_share(data, s) for s in data.scenarios}
    y5 = ", ".join(f"{s} {pct(survival_share(data, s, 5))}" for s in data.scenarios)
    second = f"Still running after 5 years: {y5}"
    top, bottom = _extremes(shares)
    if not bottom:
        return f"Survival is not measured in this run\n{second}"
    worst = bottom[0]
    half = half_closed_month(data, worst)
    when = "" if _nan(half) else f"; half its runs have closed by {data.month_label(half)}"
    if len(data.scenarios) == 1:
        first = f"{pct(shares[worst])} of runs are still running after {end}{when}"
    elif shares[worst] >= 0.995:
        first = (f"Every scenario is still running after {end} in at least "
                 f"{pct(shares[worst])} of runs")
    else:
        first = (f"{worst} is the most likely to close: {pct(shares[worst])} of runs still "
                 f"running after {end} (vs {pct(shares[top[0]])} for {top[0]}){when}")
    return f"{first}\n{second}"


def _peak(data: RunData, scenario: str) -> tuple[float, float]:
    """The median run's most live services and the first month it reaches them."""
    frame = data.wide(scenario, "p50").get("live_services")
    if frame is None or frame.isna().all():
        return math.nan, math.nan
    peak = float(frame.max())
    return peak, float(frame[frame >= peak].index[0])


def growth_title(data: RunData) -> str:
    """Title of the growth-path chart: live services at the end, and when the peak is reached."""
    end = data.end_label()
    live = {s: data.kpi(s, "live_services_y10", "p50") for s in data.scenarios}
    peaks = {s: _peak(data, s) for s in data.scenarios}
    timed = {s: p for s, p in peaks.items() if not _nan(p[0])}
    top, bottom = _extremes(live)
    if not top:
        first = f"Services running after {end} are not recorded in this run"
    elif len(data.scenarios) == 1:
        s = data.scenarios[0]
        first = f"{s} runs {_count(live[s])} services after {end} (median)"
    elif top == bottom and top:
        fastest = min(timed, key=lambda s: timed[s][1]) if timed else None
        first = f"Every scenario runs {live[top[0]]:.0f} services after {end} (median)" + (
            f"; {fastest} reaches its peak first, in {data.month_label(timed[fastest][1])}"
            if fastest and len({p[1] for p in timed.values()}) > 1 else "")
    else:
        first = (f"{_names(top)} {'runs' if len(top) == 1 else 'run'} the most services "
                 f"after {end} (median {live[top[0]]:.0f}); {_names(bottom)} the fewest "
                 f"({live[bottom[0]]:.0f})")
    reached = ", ".join(f"{s} {p:.0f} services by {data.month_label(m)}"
                        for s, (p, m) in timed.items())
    return f"{first}\nPeak of the median run: {reached}"


def paired_title(data: RunData, diffs: pd.DataFrame) -> str:
    """Title of the paired-differences chart: survival and members against the baseline."""
    base = data.scenarios[0]
    others = data.scenarios[1:]
    survival = survival_kpi(data)
    years = "10 years" if survival == "survival_prob_y10" else "5 years"

    def mean(s: str, kpi: str) -> float:
        row = diffs[(diffs["scenario"] == s) & (diffs["kpi"] == kpi)]
        return float(row["mean"].iloc[0]) if len(row) else math.nan

    first = f"Against {base} in the same simulated futures"
    if survival is not None:
        first += f", the chance of still running after {years} changes by " + ", ".join(
            f"{points(mean(s, survival))} points for {s}" for s in others)
    members = [f"{s} {_signed(mean(s, 'members_y10'))}" for s in others
               if not _nan(mean(s, "members_y10"))]
    second = (f"Member LAs after {data.end_label()}, difference per run (mean): "
              + ", ".join(members)) if members else "Paired mean differences"
    return f"{first}\n{second}"


def _count(value: float) -> str:
    return "n/a" if _nan(value) else f"{value:.0f}"


def _signed(value: float) -> str:
    v = round(value)
    return f"+{v:,}" if v > 0 else ("0" if v == 0 else f"−{-v:,}")
