"""The explorer's charts, as Plotly figures drawn from a screen's result tables (a
:class:`~sim.outputs.rundata.RunData`, never the model): the funding cliff, viability over
time, the reserves fan with the reserves-policy line, members, staff and services. They show
what the results folder's matplotlib charts show (docs/outputs.md §2), baseline beside the
explored scenario, in the same colours (:mod:`sim.outputs.style`).

Figures are plain dicts (``{"data": [...], "layout": {...}}``), which ``dcc.Graph`` takes as
they are: building validated ``plotly.graph_objects`` figures costs more than the explorer's
latency allows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.outputs.rundata import RunData
from sim.outputs.style import category_colours, humanise, scenario_colour

__all__ = ["cliff_figure", "fan_figure", "trends_figure", "viability_figure"]

Figure = dict[str, Any]
GRANT_END = "#D55E00"
FONT = {"size": 12}


def _layout(title: str, height: int, **axes: Any) -> dict[str, Any]:
    return {"title": {"text": title, "x": 0.01}, "height": height, "template": "plotly_white",
            "margin": {"l": 70, "r": 20, "t": 60, "b": 40}, "font": FONT,
            "legend": {"orientation": "h", "y": -0.12}, "hovermode": "x unified", **axes}


def _dates(data: RunData, scenario: str) -> list[str]:
    """Each month as ``YYYY-MM`` (Plotly reads it as a date)."""
    return list(data.calendar(scenario)["date"])


def _array(values: Any) -> list[float | None]:
    """Numbers for JSON: NaN becomes null (a gap)."""
    array = np.asarray(values, dtype=float)
    return [None if v != v else float(v) for v in array]


def _alpha(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _band(data: RunData, scenario: str, metric: str, colour: str, name: str, axes: str = "",
          show: bool = True) -> list[dict[str, Any]]:
    """Median line with the p10–p90 band (8 runs in 10), on axes ``x{axes}``/``y{axes}``."""
    x = _dates(data, scenario)
    rows = {stat: data.wide(scenario, stat)[metric] for stat in ("p10", "p50", "p90")}
    where = {"xaxis": f"x{axes}", "yaxis": f"y{axes}"}
    return [
        {"type": "scatter", "x": x, "y": _array(rows["p90"]), "line": {"width": 0},
         "hoverinfo": "skip", "showlegend": False, "legendgroup": name, **where},
        {"type": "scatter", "x": x, "y": _array(rows["p10"]), "line": {"width": 0},
         "fill": "tonexty", "fillcolor": _alpha(colour, 0.2), "hoverinfo": "skip",
         "showlegend": False, "legendgroup": name, **where},
        {"type": "scatter", "x": x, "y": _array(rows["p50"]), "name": name, "legendgroup": name,
         "line": {"color": colour, "width": 2}, "showlegend": show, **where},
    ]


def _grid(columns: int, rows: int = 1, gap: float = 0.05,
          heights: tuple[float, ...] = ()) -> dict[str, Any]:
    """Axes ``x``, ``x2``, … laid out ``rows`` × ``columns`` (numbered along rows); columns
    share their x axis with the top row's, rows share their y scale."""
    heights = heights or tuple([1.0 / rows] * rows)
    width = (1 - gap * (columns - 1)) / columns
    axes: dict[str, Any] = {}
    top = 1.0
    for r in range(rows):
        bottom = top - heights[r] + (0.06 if r < rows - 1 else 0)
        for c in range(columns):
            n = r * columns + c + 1
            suffix = "" if n == 1 else str(n)
            x_domain = [c * (width + gap), c * (width + gap) + width]
            axes[f"xaxis{suffix}"] = {"domain": x_domain, "anchor": f"y{suffix}",
                                      "type": "date"}
            if r < rows - 1:
                axes[f"xaxis{suffix}"]["showticklabels"] = False
            if r > 0:
                axes[f"xaxis{suffix}"]["matches"] = f"x{c + 1 if c else ''}"
            axes[f"yaxis{suffix}"] = {"domain": [max(bottom, 0.0), top],
                                      "anchor": f"x{suffix}"}
            first = r * columns + 1
            if c > 0:
                axes[f"yaxis{suffix}"]["matches"] = f"y{first if first > 1 else ''}"
        top = bottom - 0.02
    return axes


def _titles(titles: list[str], columns: int, gap: float = 0.05) -> list[dict[str, Any]]:
    width = (1 - gap * (columns - 1)) / columns
    return [{"text": t, "xref": "paper", "yref": "paper", "x": c * (width + gap) + width / 2,
             "y": 1.0, "yanchor": "bottom", "showarrow": False, "font": {"size": 13}}
            for c, t in enumerate(titles)]


def cliff_figure(data: RunData) -> Figure:
    """The funding cliff of each scenario, side by side on the same scales: mean income by
    source (stacked) against mean costs, and reserves (median, 8 runs in 10), with the grant
    ends (dashed)."""
    scenarios = data.scenarios
    columns = len(scenarios)
    wides = {s: data.wide(s) for s in scenarios}
    sources = [s for s in data.income_sources()
               if any(f"income_{s}_gbp" in w and float(w[f"income_{s}_gbp"].abs().sum()) > 0
                      for w in wides.values())]
    colours = category_colours(sources)
    traces: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    for j, scenario in enumerate(scenarios):
        top, bottom = str(j + 1) if j else "", str(columns + j + 1)
        x, wide = _dates(data, scenario), wides[scenario]
        for source in sources:
            traces.append({"type": "scatter", "x": x, "y": _array(wide[f"income_{source}_gbp"]),
                           "stackgroup": f"s{j}", "name": humanise(source),
                           "legendgroup": source, "showlegend": j == 0,
                           "line": {"width": 0.5, "color": colours[source]},
                           "xaxis": f"x{top}", "yaxis": f"y{top}"})
        traces.append({"type": "scatter", "x": x, "y": _array(wide["costs_total_gbp"]),
                       "name": "costs", "legendgroup": "costs", "showlegend": j == 0,
                       "line": {"color": "black", "width": 2},
                       "xaxis": f"x{top}", "yaxis": f"y{top}"})
        traces += _band(data, scenario, "reserves_gbp", scenario_colour(j),
                        f"reserves: {data.title(scenario)}", bottom)
        for month in sorted(set(data.grant_ends(scenario)["month"])):
            date = x[min(int(month), len(x) - 1)]
            for axes in (top, bottom):
                shapes.append({"type": "line", "xref": f"x{axes}", "yref": f"y{axes} domain",
                               "x0": date, "x1": date, "y0": 0, "y1": 1,
                               "line": {"color": GRANT_END, "dash": "dash", "width": 1}})
    grid = _grid(columns, 2, heights=(0.55, 0.45))
    for key, axis in grid.items():
        if key.startswith("yaxis"):
            axis["tickprefix"] = "£"
    grid["yaxis"]["title"] = {"text": "income, costs (£/month)"}
    grid[f"yaxis{columns + 1}"]["title"] = {"text": "reserves (£)"}
    return {"data": traces, "layout": {
        **_layout("Funding cliff: income by source against costs, and reserves (dashed: grant "
                  "ends)", 560, **grid), "shapes": shapes,
        "annotations": _titles([data.title(s) for s in scenarios], columns)}}


def viability_figure(data: RunData) -> Figure:
    """Share of runs in which the Centre is working (solid) and open (dotted), by month."""
    traces = []
    for j, scenario in enumerate(data.scenarios):
        x, wide = _dates(data, scenario), data.wide(scenario)
        traces.append({"type": "scatter", "x": x, "y": _array(wide["viable"]),
                       "name": f"working: {data.title(scenario)}",
                       "line": {"color": scenario_colour(j), "width": 2.5}})
        traces.append({"type": "scatter", "x": x, "y": _array(wide["operating"]),
                       "name": f"open: {data.title(scenario)}",
                       "line": {"color": scenario_colour(j), "width": 1.2, "dash": "dot"}})
    return {"data": traces, "layout": _layout(
        "Viability over time: the share of runs in which the Centre is working", 360,
        xaxis={"type": "date"},
        yaxis={"tickformat": ".0%", "range": [0, 1.02], "title": {"text": "share of runs"}})}


def fan_figure(data: RunData, policy_months: dict[str, float]) -> Figure:
    """Reserves of each scenario (median, 8 runs in 10) with its reserves policy: ``months``
    of running costs (``finance.reserves_policy_months``; the mean over the last 12 months;
    no line where it is 0)."""
    traces: list[dict[str, Any]] = []
    for j, scenario in enumerate(data.scenarios):
        colour = scenario_colour(j)
        traces += _band(data, scenario, "reserves_gbp", colour, data.title(scenario))
        months = policy_months.get(scenario, 0.0)
        if months > 0:
            costs = data.wide(scenario)["costs_total_gbp"].rolling(12, min_periods=1).mean()
            traces.append({"type": "scatter", "x": _dates(data, scenario),
                           "y": _array(months * costs),
                           "name": f"reserves policy ({months:g} months of costs): "
                                   f"{data.title(scenario)}",
                           "line": {"color": colour, "dash": "dash", "width": 1.2}})
    return {"data": traces, "layout": {**_layout(
        "Reserves fan: median run and 8 runs in 10, against the reserves policy (dashed)", 400,
        xaxis={"type": "date"}, yaxis={"tickprefix": "£", "title": {"text": "reserves (£)"}}),
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                    "line": {"color": "grey", "width": 1}}]}}


def trends_figure(data: RunData) -> Figure:
    """Member LAs, staff in post and live services (median, 8 runs in 10)."""
    panels = [(data.members_metric(), "member LAs"), ("staff_fte", "staff (FTE)"),
              ("live_services", "live services")]
    traces: list[dict[str, Any]] = []
    for col, (metric, _) in enumerate(panels):
        for j, scenario in enumerate(data.scenarios):
            traces += _band(data, scenario, metric, scenario_colour(j), data.title(scenario),
                            str(col + 1) if col else "", show=col == 0)
    axes = _grid(3, 1, gap=0.06)
    for key in [k for k in axes if k.startswith("yaxis")]:
        axes[key].pop("matches", None)  # each panel its own scale
    return {"data": traces, "layout": {
        **_layout("Members, staff and services (median run and 8 runs in 10)", 340, **axes),
        "annotations": _titles([p[1] for p in panels], 3, gap=0.06)}}
