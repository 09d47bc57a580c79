"""The live what-if explorer (``python run.py explore``): a local Dash web app that runs an
ensemble on every change of its controls and shows the baseline beside the explored scenario
with paired differences (docs/explorer.md). It reads results through :mod:`sim.api` and draws
from result tables, never from model internals."""

from __future__ import annotations

from sim.explorer.app import create_app, render
from sim.explorer.compute import Explorer, Screen
from sim.explorer.controls import CONTROLS, base_values, explored_scenario, explored_toml
from sim.explorer.server import free_port, serve, warm_up

__all__ = ["CONTROLS", "Explorer", "Screen", "base_values", "create_app", "explored_scenario",
           "explored_toml", "free_port", "render", "serve", "warm_up"]
