"""Chart titles that state a finding, computed from the run's tables (never fixed sentences).

Each function returns one or two lines (joined by ``\\n``): the first is the finding, the second
the numbers behind it. Percentages of runs are means of 0/1 KPIs from ``summary.json``; money and
counts are medians (``p50``) unless a sentence says "mean"; paired differences are means of
per-replicate differences from ``kpis.parquet``.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.outputs.paired import survival_kpi
from sim.outputs.rundata import RunData
from sim.outputs.style import gbp, pct, points

__all__ = ["AFTER_CLIFF_MONTHS", "survival_share", "survival_ranking", "viable_share",
           "running_after_cliff", "cliff_box", "cliff_title", "trajectories_title",
           "survival_title", "growth_title", "paired_title", "reserves_out_text",
           "half_closed_month"]

AFTER_CLIFF_MONTHS = 24
"""The cliff box reports the share of runs still running this many months after the median
cliff date (the date the chart names)."""


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


def viable_share(data: RunData, scenario: str, years: int = 10) -> float:
    """Share of runs working (viable) at the end of year ``years``: the mean of
    ``viable_prob_y<years>``, or of ``viable`` in the last month of a shorter run."""
    value = data.kpi(scenario, f"viable_prob_y{years}", "mean")
    if _nan(value) and years == 10:
        last = data.wide(scenario).get("viable")
        value = float(last.iloc[-1]) if last is not None else math.nan
    return value


def survival_ranking(data: RunData) -> str:
    """``la_hosted 100%, independent_company 90%, government_hosted 0%`` (most likely first)."""
    shares = [(s, survival_share(data, s)) for s in data.scenarios]
    ranked = sorted(shares, key=lambda kv: -(kv[1] if not _nan(kv[1]) else -1.0))
    return _listing([f"{data.title(s)} {pct(v)}" for s, v in ranked])


def running_after_cliff(data: RunData, scenario: str) -> tuple[float, float]:
    """Share of runs still operating :data:`AFTER_CLIFF_MONTHS` after the median cliff month
    (the date the funding-cliff chart names), and that month; (NaN, NaN) when there is no
    cliff, the month of the run's end when it comes sooner."""
    cliff = data.kpi(scenario, "cliff_month", "p50")
    if _nan(cliff):
        return math.nan, math.nan
    month = min(int(cliff) + AFTER_CLIFF_MONTHS, data.horizon_months - 1)
    operating = data.wide(scenario).get("operating")
    if operating is None or month not in operating.index:
        return math.nan, float(month)
    return float(operating.loc[month]), float(month)


def reserves_out_text(data: RunData, scenario: str) -> str:
    """How often, and when, reserves run out (fall below £0) in words."""
    share = data.kpi(scenario, "reserves_exhausted_month", "defined_share")
    if _nan(share) or share < 0.005:
        return f"Reserves never run out within {data.end_label()}"
    when = data.month_label(data.kpi(scenario, "reserves_exhausted_month", "p50"))
    return (f"Reserves run out in {pct(share)} of runs within {data.end_label()} "
            f"(median {when})")


def cliff_box(data: RunData, scenario: str) -> str:
    """The per-scenario annotation of the funding-cliff chart, one fact per line."""
    cliff = data.kpi(scenario, "cliff_month", "p50")
    y5, y10 = viable_share(data, scenario, 5), viable_share(data, scenario, 10)
    still = (f"Working: {pct(y5)} of runs after 5 years, {pct(y10)} after "
             f"{data.end_label()}")
    if _nan(cliff):
        return f"No funding cliff within the run\n{reserves_out_text(data, scenario)}\n{still}"
    drop = data.kpi(scenario, "cliff_drop_gbp_per_month", "p50")
    share = data.kpi(scenario, "cliff_drop_share", "p50")
    running, month = running_after_cliff(data, scenario)
    defined = data.kpi(scenario, "cliff_month", "defined_share")
    when = data.month_label(cliff) + (f"; in {pct(defined)} of runs" if defined < 0.995 else "")
    return "\n".join([
        f"At the cliff ({when}) income falls {gbp(drop)}/month ({pct(share)})",
        reserves_out_text(data, scenario),
        f"Still running in {data.month_label(month)}: {pct(running)} of runs",
        still,
    ])


def cliff_title(data: RunData) -> str:
    """Title of the funding-cliff chart."""
    names = data.scenarios
    with_cliff = [s for s in names if not _nan(data.kpi(s, "cliff_month", "p50"))]
    working = sorted(names, key=lambda s: -_or_low(viable_share(data, s)))
    ranking = f"Working after {data.end_label()}: " + _listing(
        [f"{data.title(s)} {pct(viable_share(data, s))}" for s in working])
    if not with_cliff:
        return f"No funding cliff within the run\n{ranking}"
    if len(names) == 1:
        s = names[0]
        drop = data.kpi(s, "cliff_drop_gbp_per_month", "p50")
        share = data.kpi(s, "cliff_drop_share", "p50")
        runs_out = data.kpi(s, "reserves_exhausted_month", "defined_share")
        return (f"Income falls {gbp(drop)}/month ({pct(share)}) in "
                f"{data.month_label(data.kpi(s, 'cliff_month', 'p50'))}; reserves run out in "
                f"{pct(0.0 if _nan(runs_out) else runs_out)} of runs\n"
                f"{pct(viable_share(data, s))} of runs are working after {data.end_label()}, "
                f"{pct(survival_share(data, s))} still open")
    shares = sorted(round(100 * v) for s in with_cliff
                    if not _nan(v := data.kpi(s, "cliff_drop_share", "p50")))
    fall = ("by an unknown share" if not shares else f"{shares[0]}%" if shares[0] == shares[-1]
            else f"{shares[0]}–{shares[-1]}%")
    out: dict[str, float] = {}
    for s in names:
        chance = data.kpi(s, "reserves_exhausted_month", "defined_share")
        out[s] = 0.0 if _nan(chance) else chance
    most, least = _extremes({s: round(100 * v) for s, v in out.items()})
    if most == least:
        out_text = f"reserves run out in {pct(out[most[0]])} of runs in every scenario"
    else:
        out_text = (f"reserves run out in {pct(out[most[0]])} of runs for "
                    f"{_names(data, most)}, {pct(out[least[0]])} for {_names(data, least)}")
    return f"At the funding cliff income falls {fall}; {out_text}\n{ranking}"


LISTED = 6
"""Most scenarios a title names in a list; the rest are counted (``… and 4 more``)."""


def _or_low(value: float) -> float:
    return -1.0 if _nan(value) else value


def _listing(items: list[str], keep: int = LISTED) -> str:
    """``a, b, c`` — or, past ``keep`` items, the first ``keep`` and ``… and 4 more``."""
    if len(items) <= keep + 1:
        return ", ".join(items)
    return ", ".join(items[:keep]) + f"… and {len(items) - keep} more"


def _names(data: RunData, names: list[str]) -> str:
    """Plain titles: ``A``, ``A and B``, ``A, B and C`` (past :data:`LISTED`, counted)."""
    titles = [data.title(n) for n in names]
    if len(titles) > LISTED:
        return f"{', '.join(titles[:LISTED - 1])} and {len(titles) - LISTED + 1} more"
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


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
        first = (f"Member LAs after {end}: median " + _listing(
            [f"{data.title(s)} {_count(members[s])}" for s in data.scenarios]))
    else:
        first = (f"{_names(data, top)} {'keeps' if len(top) == 1 else 'keep'} the most "
                 f"member LAs after {end} (median {members[top[0]]:.0f}); "
                 f"{_names(data, bottom)} the fewest ({members[bottom[0]]:.0f})")
    values = {s: data.kpi(s, "value_delivered_total_gbp", "p50") for s in data.scenarios}
    value = _listing([f"{data.title(s)} {gbp(values[s])}"
                      for s in sorted(values, key=lambda s: -_or_low(values[s]))])
    return f"{first}\nValue delivered to member LAs over {end} (median): {value}"


def half_closed_month(data: RunData, scenario: str) -> float:
    """First month in which fewer than half of the runs still operate (NaN if never)."""
    operating = data.wide(scenario).get("operating")
    if operating is None:
        return math.nan
    below = operating[operating < 0.5]
    return float(below.index[0]) if len(below) else math.nan


def survival_title(data: RunData) -> str:
    """Title of the viability and survival curves: which scenario is least likely to be
    working, and how that differs from merely still being open."""
    end = data.end_label()
    working = {s: viable_share(data, s) for s in data.scenarios}
    open_ = {s: survival_share(data, s) for s in data.scenarios}
    second = "Still open after " + end + ": " + _listing(
        [f"{data.title(s)} {pct(v)}"
         for s, v in sorted(open_.items(), key=lambda kv: -_or_low(kv[1]))])
    top, bottom = _extremes(working)
    if not bottom:
        return f"Viability is not measured in this run\n{second}"
    worst = bottom[0]
    gap = open_[worst] - working[worst]
    open_note = (f"; {pct(open_[worst])} are still open, so {pct(gap)} are open but not "
                 f"working" if gap >= 0.005 else "")
    if len(data.scenarios) == 1:
        first = f"{pct(working[worst])} of runs are working after {end}{open_note}"
    elif working[worst] >= 0.995:
        first = f"Every scenario is working after {end} in at least {pct(working[worst])} of runs"
    else:
        first = (f"{data.title(worst)} is the least likely to be working after {end}: "
                 f"{pct(working[worst])} of runs against {pct(working[top[0]])} for "
                 f"{data.title(top[0])}{open_note}")
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
        first = f"{data.title(s)} runs {_count(live[s])} services after {end} (median)"
    elif top == bottom and top:
        fastest = min(timed, key=lambda s: timed[s][1]) if timed else None
        first = f"Every scenario runs {live[top[0]]:.0f} services after {end} (median)" + (
            f"; {data.title(fastest)} reaches its peak first, in "
            f"{data.month_label(timed[fastest][1])}"
            if fastest and len({p[1] for p in timed.values()}) > 1 else "")
    else:
        first = (f"{_names(data, top)} {'runs' if len(top) == 1 else 'run'} the most "
                 f"services after {end} (median {live[top[0]]:.0f}); {_names(data, bottom)} "
                 f"the fewest ({live[bottom[0]]:.0f})")
    reached = _listing([f"{data.title(s)} {p:.0f} services by {data.month_label(m)}"
                        for s, (p, m) in sorted(timed.items(), key=lambda kv: -kv[1][0])])
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

    first = f"Against {data.title(base)} in the same simulated futures"
    if survival is not None:
        ordered = sorted(others, key=lambda s: -_or_low(mean(s, survival)))
        first += f", the chance of still running after {years} changes by " + _listing(
            [f"{points(mean(s, survival))} points for {data.title(s)}" for s in ordered])
    members = [f"{data.title(s)} {_signed(mean(s, 'members_y10'))}" for s in others
               if not _nan(mean(s, "members_y10"))]
    second = (f"Member LAs after {data.end_label()}, difference per run (mean): "
              + _listing(members)) if members else "Paired mean differences"
    return f"{first}\n{second}"


def _count(value: float) -> str:
    return "n/a" if _nan(value) else f"{value:.0f}"


def _signed(value: float) -> str:
    v = round(value)
    return f"+{v:,}" if v > 0 else ("0" if v == 0 else f"−{-v:,}")
