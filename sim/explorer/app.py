"""The explorer's web page (Dash): controls on the left, the baseline beside the explored
scenario on the right, a new ensemble on every change (docs/explorer.md).

Callbacks are stateless: everything a tab shows follows from the inputs it sends (its control
values and its pinned baseline, kept in the tab's own ``dcc.Store``), so two tabs never see each
other's state. Dash serves its JavaScript from the installed package (``serve_locally``): the
page loads nothing from outside 127.0.0.1.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from concurrent.futures.process import BrokenProcessPool
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from sim.experiments.executors import ExecutorError
from sim.explorer.compute import Explorer, Screen
from sim.explorer.controls import (
    CONTROLS,
    Control,
    base_values,
    explored_toml,
    hover_text,
    price_labels,
)
from sim.explorer.figures import cliff_figure, fan_figure, trends_figure, viability_figure
from sim.outputs.kpi_text import format_kpi, kpi_text
from sim.outputs.paired import PAIRED_KPIS, paired_differences
from sim.outputs.scorecard import scorecard_rows
from sim.scenario import ScenarioError

__all__ = ["HEADLINE_KPIS", "create_app", "values_of"]

HEADLINE_KPIS = (("viable_prob_y10", "mean"), ("survival_prob_y10", "mean"),
                 ("members_y10", "p50"), ("min_reserves_gbp", "p50"))
"""The numbers shown above the charts: (KPI, statistic), as in ``summary.json``."""
STRUCTURE_SVG = Path(__file__).resolve().parents[2] / "docs" / "structure.svg"
"""The model's structure diagram (made by ``sim/outputs/structure.py``), shown when present."""
SLIDERS = [c for c in CONTROLS if c.id not in ("growth", "policies")]
INPUT_IDS = [c.id for c in CONTROLS]


def values_of(args: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    """Control values by id, from callback arguments in :data:`CONTROLS` order."""
    return dict(zip(INPUT_IDS, args, strict=True))


def _label(control: Control, text: str | None = None) -> html.Label:
    return html.Label([text or control.label, html.Span("?", className="info")],
                      id=f"label-{control.id}", title=hover_text(control),
                      htmlFor=control.id, style={"fontWeight": "bold"})


def _slider(control: Control) -> html.Div:
    return html.Div([
        _label(control),
        dcc.Slider(id=control.id, min=control.low, max=control.high, step=control.step,
                   marks=None, updatemode="mouseup"),
    ], style={"marginBottom": "18px"})


def _controls(explorer: Explorer) -> html.Div:
    growth = next(c for c in CONTROLS if c.id == "growth")
    policies = next(c for c in CONTROLS if c.id == "policies")
    files = [str(f) for f in explorer.files]
    return html.Div([
        html.Label(["Delivery model (scenario file)", html.Span("?", className="info")],
                   title="The shipped scenarios (scenarios/*.toml) and any given on the command "
                         "line; each is one delivery model (docs/delivery_models.md).",
                   style={"fontWeight": "bold"}),
        dcc.Dropdown(id="scenario", options=[{"label": f"{explorer.scenario(f).meta.plain_title}"
                                              f" — {Path(f).name}", "value": f} for f in files],
                     value=files[0], clearable=False),
        html.Hr(),
        *[_slider(c) for c in SLIDERS],
        _label(growth),
        dcc.RadioItems(id="growth", options=[{"label": " Gall's law: one service at a time",
                                              "value": "gall"},
                                             {"label": " Big bang: every service at once",
                                              "value": "big_bang"}],
                       inline=False, style={"marginBottom": "18px"}),
        _label(policies),
        dcc.Checklist(id="policies", options=[], value=[], style={"marginBottom": "18px"}),
        html.Div(id="no-policies", style={"color": "#555", "fontSize": "0.9em"}),
        html.Hr(),
        html.Button("Pin as baseline", id="pin", n_clicks=0),
        html.Button("Reset to the file", id="reset", n_clicks=0, style={"marginLeft": "6px"}),
        html.Div(id="baseline-label", style={"margin": "6px 0", "fontSize": "0.9em"}),
        html.Button("Save this scenario", id="save", n_clicks=0),
        html.Button("Board pack", id="boardpack", n_clicks=0, style={"marginLeft": "6px"}),
        dcc.Download(id="download-toml"),
        dcc.Download(id="download-pack"),
        dcc.Loading(html.Div(id="pack-status", style={"fontSize": "0.9em"})),
    ], style={"width": "340px", "padding": "12px", "flex": "none", "overflowY": "auto"})


def _headline(screen: Screen, paired: pd.DataFrame) -> html.Div:
    data, (base, new) = screen.data, (screen.baseline, screen.explored)
    paired = paired.set_index("kpi")
    cells = []
    for kpi, stat in HEADLINE_KPIS:
        if kpi not in data.summary.get(new, {}):
            continue
        text = kpi_text(kpi, data.end_label())
        before, after = data.kpi(base, kpi, stat), data.kpi(new, kpi, stat)
        diff = paired["mean"].get(kpi, float("nan")) if kpi in paired.index else float("nan")
        attributes: dict[str, Any] = {"data-value": repr(after), "data-stat": stat}
        cells.append(html.Div([
            html.Div(text.words, style={"fontSize": "0.85em", "color": "#333"}),
            html.Div([html.Span(format_kpi(after, text.kind), id=f"kpi-{kpi}", **attributes),
                      html.Span(f"  baseline {format_kpi(before, text.kind)}",
                                style={"fontSize": "0.6em", "color": "#555"})],
                     style={"fontSize": "1.6em", "fontWeight": "bold"}),
            html.Div(f"paired difference (mean): {_signed(diff, text.kind)}",
                     id=f"diff-{kpi}", style={"fontSize": "0.8em", "color": "#555"}),
        ], style={"flex": "1", "padding": "8px", "border": "1px solid #ddd", "margin": "4px"}))
    return html.Div(cells, style={"display": "flex", "flexWrap": "wrap"})


def _signed(value: float, kind: str) -> str:
    if value != value:
        return "—"
    if kind in ("chance", "share"):
        return f"{100 * value:+.1f} points"
    text = format_kpi(abs(value), kind)
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


def _scorecard(screen: Screen) -> html.Table:
    data = screen.data
    head = html.Tr([html.Th("Measure")] + [html.Th(data.title(s)) for s in data.scenarios])
    body = []
    for row in scorecard_rows(data):
        cells = [html.Td(row.words)]
        for cell in row.cells:
            text = cell.text + (f" ({cell.interval})" if cell.interval else "")
            cells.append(html.Td(("★ " if cell.best else "") + text + (
                f" {cell.note}" if cell.note else ""),
                style={"background": "#d7efe4" if cell.best else None}))
        body.append(html.Tr(cells))
    return html.Table([html.Thead(head), html.Tbody(body)], className="scorecard")


def _paired_table(screen: Screen, paired: pd.DataFrame) -> html.Table:
    table = paired[paired["kpi"].isin(PAIRED_KPIS)]
    rows = [html.Tr([html.Th(h) for h in ("Measure", "Mean difference", "95% interval",
                                          "Higher in", "Lower in")])]
    for _, row in table.iterrows():
        text = kpi_text(str(row["kpi"]), screen.data.end_label())
        rows.append(html.Tr([html.Td(text.words), html.Td(_signed(row["mean"], text.kind)),
                             html.Td(f"{_signed(row['ci_low'], text.kind)} to "
                                     f"{_signed(row['ci_high'], text.kind)}"),
                             html.Td(f"{100 * row['share_higher']:.0f}% of runs"),
                             html.Td(f"{100 * row['share_lower']:.0f}% of runs")]))
    return html.Table(rows, className="scorecard")


def _structure() -> html.Div | html.P:
    if STRUCTURE_SVG.exists():
        return html.Div([html.Img(src="/structure.svg", style={"maxWidth": "100%"}),
                         html.P("Made by sim/outputs/structure.py from the model's declared "
                                "stocks, flows and loops (docs/model.md §9).")])
    return html.P("The structure diagram (docs/structure.svg, made by sim/outputs/structure.py) "
                  "is not in this checkout yet.")


CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 0; color: #1a1a1a; }
table.scorecard { border-collapse: collapse; width: 100%; font-size: 0.9em; }
table.scorecard td, table.scorecard th { border-bottom: 1px solid #ddd; padding: 4px 6px;
  text-align: left; vertical-align: top; }
span.info { color: #0072B2; cursor: help; border: 1px solid #0072B2; border-radius: 50%;
  font-size: 0.75em; padding: 0 4px; margin-left: 4px; }
button { padding: 6px 10px; margin-top: 4px; }
"""


def create_app(explorer: Explorer) -> Dash:
    """The Dash app of an :class:`Explorer` (not started; ``app.run(host="127.0.0.1")``)."""
    app = Dash(__name__, serve_locally=True, title="coe-sim explorer", update_title="",
               compress=False)
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + CSS + "</style>")
    first = str(explorer.files[0])

    @app.server.route("/structure.svg")
    def structure_svg() -> Any:
        from flask import Response, abort

        if not STRUCTURE_SVG.exists():
            abort(404)
        return Response(STRUCTURE_SVG.read_bytes(), mimetype="image/svg+xml")

    app.layout = html.Div([
        dcc.Store(id="baseline", data={"file": first, "values": None}),
        html.Div([
            html.H2("Will the Centre survive? — live explorer", style={"margin": "4px 0"}),
            html.Div(id="status", style={"color": "#444", "fontSize": "0.9em"}),
        ], style={"padding": "8px 16px", "borderBottom": "2px solid #222"}),
        html.Div([
            _controls(explorer),
            html.Div([
                dcc.Loading(html.Div(id="headline"), type="dot"),
                dcc.Tabs([
                    dcc.Tab(label="Charts", children=[
                        dcc.Graph(id="cliff"), dcc.Graph(id="viability"),
                        dcc.Graph(id="fan"), dcc.Graph(id="trends")]),
                    dcc.Tab(label="Scorecard and paired differences", children=[
                        html.H4("KPI scorecard"), html.Div(id="scorecard"),
                        html.H4("Paired differences (explored − baseline, run by run, "
                                "common random numbers)"), html.Div(id="paired")]),
                    dcc.Tab(label="Model structure", children=[_structure()]),
                ]),
            ], style={"flex": "1", "padding": "8px", "minWidth": "0"}),
        ], style={"display": "flex"}),
    ])

    controls = [Input(c.id, "value") for c in CONTROLS]

    @app.callback([Output(c.id, "value") for c in CONTROLS]
                  + [Output(f"label-{c.id}", "children") for c in SLIDERS
                     if c.id.startswith("price")]
                  + [Output(c.id, "disabled") for c in SLIDERS]
                  + [Output("policies", "options"), Output("no-policies", "children")],
                  Input("scenario", "value"), Input("reset", "n_clicks"))
    def load_base(name: str, _reset: int) -> list[Any]:
        scenario = explorer.scenario(explorer.file(name))
        values = base_values(scenario)
        labels = [[text or "(no such band here)", html.Span("?", className="info")]
                  for text in price_labels(scenario)]
        disabled = [values[c.id] is None for c in SLIDERS]
        options = [{"label": f" {p.name}", "value": i} for i, p in enumerate(scenario.policies)]
        note = "" if options else "This scenario has no adaptive policies ([[policies]])."
        return [values[c] for c in INPUT_IDS] + labels + disabled + [options, note]

    @app.callback(Output("headline", "children"), Output("cliff", "figure"),
                  Output("viability", "figure"), Output("fan", "figure"),
                  Output("trends", "figure"), Output("scorecard", "children"),
                  Output("paired", "children"), Output("status", "children"),
                  Output("baseline-label", "children"),
                  *controls, Input("baseline", "data"), Input("scenario", "value"))
    def update(*args: Any) -> list[Any]:
        values, baseline, name = values_of(args[:-2]), args[-2], args[-1]
        return render(explorer, name, values, baseline)

    @app.callback(Output("baseline", "data"), Input("pin", "n_clicks"),
                  *[State(c.id, "value") for c in CONTROLS], State("scenario", "value"),
                  prevent_initial_call=True)
    def pin(_clicks: int, *args: Any) -> dict[str, Any]:
        values, name = values_of(args[:-1]), args[-1]
        base = base_values(explorer.scenario(explorer.file(name)))
        return {"file": name, "values": None if values == base else values}

    @app.callback(Output("download-toml", "data"), Input("save", "n_clicks"),
                  *[State(c.id, "value") for c in CONTROLS], State("scenario", "value"),
                  prevent_initial_call=True)
    def save(_clicks: int, *args: Any) -> dict[str, Any]:
        values, name = values_of(args[:-1]), args[-1]
        file = explorer.file(name)
        scenario = explorer.scenario(file)
        return {"content": explored_toml(file, scenario, values),
                "filename": f"{scenario.meta.name}_explored.toml", "type": "application/toml"}

    @app.callback(Output("download-pack", "data"), Output("pack-status", "children"),
                  Input("boardpack", "n_clicks"), *[State(c.id, "value") for c in CONTROLS],
                  State("baseline", "data"), State("scenario", "value"),
                  prevent_initial_call=True)
    def board_pack(_clicks: int, *args: Any) -> tuple[Any, str]:
        values, baseline, name = values_of(args[:-2]), args[-2], args[-1]
        results = explorer.full_results(name, values, (baseline["file"], baseline["values"]))
        with tempfile.TemporaryDirectory(prefix="coe-explore-pack-") as folder:
            path = results.write_html_report(Path(folder) / "report.html")
            content = path.read_text(encoding="utf-8")
        return ({"content": content, "filename": f"board_pack_{results.scenarios[1]}.html",
                 "type": "text/html"}, "Board pack (HTML) built.")

    return app


def render(explorer: Explorer, name: str, values: Mapping[str, Any],
           baseline: Mapping[str, Any]) -> list[Any]:
    """Everything the update callback returns for one set of inputs (headline, four figures,
    scorecard, paired table, status line, baseline label): the callback end to end, without
    the browser (benchmarks/bench_explorer.py times this)."""
    if any(values[c.id] is None and not explorer_disabled(explorer, name, c) for c in SLIDERS):
        return [no_update] * 9
    try:
        screen = explorer.screen(name, values, (baseline["file"], baseline["values"]))
    except ScenarioError as exc:  # e.g. a negative price typed into a slider's box
        where = f"{exc.path} " if exc.path else ""
        return [no_update] * 7 + [f"Not run: the screen's settings ({name} with the changes): "
                                  f"{where}{exc.message}", no_update]
    except (ExecutorError, BrokenProcessPool) as exc:  # workers died again after a restart
        return [no_update] * 7 + [f"Not run: the worker processes failed ({exc}); restart the "
                                  "explorer", no_update]
    policy = {e.name: e.scenario.finance.reserves_policy_months for e in screen.results.ensembles}
    data = screen.data
    status = (f"{data.replicates:,} runs of each scenario · seed {data.seed} (the same for every "
              f"change: common random numbers) · simulated in {screen.simulate_seconds:.2f} s, "
              f"shown in {screen.seconds:.2f} s"
              + (f" · {screen.notice}" if screen.notice else ""))
    pinned = ("Baseline: " + escape(data.title(screen.baseline))
              + ("" if baseline["values"] is None else " (pinned settings)"))
    paired = paired_differences(data, screen.baseline,
                                tuple(dict.fromkeys([*PAIRED_KPIS,
                                                     *(k for k, _ in HEADLINE_KPIS)])))
    return [_headline(screen, paired), cliff_figure(data), viability_figure(data),
            fan_figure(data, policy), trends_figure(data), _scorecard(screen),
            _paired_table(screen, paired), status, pinned]


def explorer_disabled(explorer: Explorer, name: str, control: Control) -> bool:
    """Whether a slider has nothing to set in this scenario (no grant, no such band)."""
    return base_values(explorer.scenario(explorer.file(name)))[control.id] is None
