"""The calibration fit chart and the folder a calibration writes.

Reads plain tables (observed points, simulated median and bands by month) and a dictionary of
labels, never calibration or model objects. The chart states the fit in its title: the fitted
values and the fit quality. Colours, resolution and saving are those of every chart
(:mod:`sim.outputs.style`).
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

from sim.files import RunFolder, atomic_write, results_folder_name, write_json, write_text
from sim.outputs.report import ArtefactError
from sim.outputs.style import FOOTER_GREY, PALETTE, SCREEN_DPI, save_figure

__all__ = ["CALIBRATION_FILES", "fit_chart", "write_calibration"]

SIMULATED, SPREAD = PALETTE[0], PALETTE[1]
"""Colours of the simulated median and bands, and of the observed spread across LAs."""
CALIBRATION_FILES = ("fit.json", "fit.png", "calibrated.toml", "observed.csv", "simulated.csv",
                     "spec.toml", "manifest.json")
"""The files of a calibration folder (docs/calibration.md describes each)."""


def _dates(months: pd.Series) -> pd.Series:
    return pd.to_datetime(months.astype(str) + "-15", format="%Y-%m-%d")


def _wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


def fit_chart(observed: pd.DataFrame, simulated: pd.DataFrame, chart: Mapping[str, Any],
              path: Path) -> Path:
    """Observed points against the simulated median and bands; returns ``path``.

    Parameters
    ----------
    observed : columns ``month`` (YYYY-MM), ``value``, ``used`` and optionally ``spread_lower``
        and ``spread_upper`` (drawn as a bar at each point: the spread across LAs) and
        ``lower`` and ``upper`` (a thin line at each point: the posterior predictive interval,
        parameters plus observation noise, against which the point is checked).
    simulated : columns ``month`` and ``median`` and optionally ``mean`` (dashed),
        ``lower``/``upper`` (inner band) and ``outer_lower``/``outer_upper`` (outer band).
    chart : ``title``, ``subtitle``, ``ylabel``, ``percent`` and labels (see
        :class:`sim.experiments.calibration.CalibrationResult`).
    """
    fig, ax = plt.subplots(figsize=(8.0, 4.6))
    if not simulated.empty:
        x = _dates(simulated["month"])
        if {"outer_lower", "outer_upper"} <= set(simulated.columns):
            ax.fill_between(x, simulated["outer_lower"], simulated["outer_upper"], color=SIMULATED,
                            alpha=0.15, linewidth=0, label=chart.get("outer_label", "outer band"))
        if {"lower", "upper"} <= set(simulated.columns):
            ax.fill_between(x, simulated["lower"], simulated["upper"], color=SIMULATED, alpha=0.3,
                            linewidth=0, label=chart.get("inner_label", "inner band"))
        ax.plot(x, simulated["median"], color=SIMULATED, linewidth=2,
                label=chart.get("median_label", "simulated median"))
        if "mean" in simulated.columns:
            ax.plot(x, simulated["mean"], color=SIMULATED, linewidth=1, linestyle="--",
                    label=chart.get("mean_label", "simulated mean"))
    used = observed[observed["used"].astype(bool)]
    unused = observed[~observed["used"].astype(bool)]
    if {"spread_lower", "spread_upper"} <= set(observed.columns):
        xs = _dates(used["month"])
        ax.vlines(xs, used["spread_lower"], used["spread_upper"], color=SPREAD, linewidth=3,
                  alpha=0.6, label=chart.get("spread_label", "spread across LAs"))
    if {"lower", "upper"} <= set(observed.columns):  # the posterior predictive check
        band = used.dropna(subset=["lower", "upper"])
        ax.vlines(_dates(band["month"]), band["lower"], band["upper"], color="black",
                  linewidth=1, alpha=0.45, zorder=4,
                  label=chart.get("predictive_label", "predictive interval at each point"))
    ax.scatter(_dates(used["month"]), used["value"], color="black", zorder=5, s=28,
               label="observed")
    if not unused.empty:
        ax.scatter(_dates(unused["month"]), unused["value"], facecolors="none",
                   edgecolors=FOOTER_GREY, zorder=5, s=32,
                   label="observed, left out (see fit.json)")
    if chart.get("percent"):
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:.0f}%"))
    ax.set_ylabel(chart.get("ylabel", ""))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    ax.set_title(_wrap(str(chart.get("title", "")), 80), fontsize=10, loc="left")
    if chart.get("subtitle"):
        fig.text(0.01, 0.045, _wrap(str(chart["subtitle"]), 130), fontsize=7, color=FOOTER_GREY)
    fig.text(0.01, 0.01, _wrap(str(chart.get("footer", "")), 150), fontsize=6.5, color=FOOTER_GREY)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure(fig, path.with_name, path.stem, title=str(chart.get("title", "")),
                dpi=SCREEN_DPI, formats=("png",))
    return path


def write_calibration(out_dir: Path, names: Sequence[str], fit: Mapping[str, Any], overlay: str,
                      observed: pd.DataFrame, simulated: pd.DataFrame, chart: Mapping[str, Any],
                      spec_text: str, manifest: Mapping[str, Any] | None = None) -> Path:
    """Write a calibration folder ``calibrate-<names joined by +>-<UTC time>`` under ``out_dir``
    (named by :func:`sim.files.results_folder_name`).

    The folder appears under its final name only when every file is written
    (:data:`CALIBRATION_FILES`). Returns the folder.

    Raises
    ------
    ArtefactError
        If the chart ``fit.png`` cannot be drawn: every data file (``fit.json`` first) is
        written and the folder kept all the same.
    """
    failed: list[tuple[str, Exception]] = []
    with RunFolder(Path(out_dir), results_folder_name("calibrate", list(names))) as folder:
        write_json(folder.path("fit.json"), dict(fit))
        write_text(folder.path("calibrated.toml"), overlay)
        write_text(folder.path("spec.toml"), spec_text)
        atomic_write(folder.path("observed.csv"), lambda tmp: observed.to_csv(tmp, index=False))
        atomic_write(folder.path("simulated.csv"), lambda tmp: simulated.to_csv(tmp, index=False))
        write_json(folder.path("manifest.json"), dict(manifest or {"argv": sys.argv}))
        open_before = set(plt.get_fignums())
        try:  # the chart last: a chart that fails never costs the fit
            fit_chart(observed, simulated, chart, folder.path("fit.png"))
        except Exception as exc:
            for number in set(plt.get_fignums()) - open_before:
                plt.close(number)
            failed.append(("fit.png", exc))
    if failed:
        raise ArtefactError(folder.final, failed)
    return folder.final
