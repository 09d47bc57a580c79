"""Starting the explorer: warm the model up (numba compiles its kernels on the first start and
caches them on disk, ``cache=True`` in sim/model/_kernels.py), pick the port, serve on
127.0.0.1 only."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

from dash import Dash

from sim.explorer.compute import Explorer
from sim.explorer.controls import base_values

__all__ = ["free_port", "kernels_cached", "port_free", "serve", "warm_up"]

HOST = "127.0.0.1"
"""The only address the explorer listens on."""


def kernels_cached() -> bool:
    """Whether numba's disk cache of the model's kernels exists (``__pycache__`` beside
    sim/model/_kernels.py, or under ``NUMBA_CACHE_DIR``): if not, the first ensemble compiles
    them."""
    model = Path(__file__).resolve().parents[1] / "model"
    folders = [model / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        folders.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    return any(any(folder.rglob("_kernels.*.nbi")) for folder in folders if folder.is_dir())


def warm_up(explorer: Explorer) -> tuple[float, float]:
    """Start the explorer's worker processes and load the model in each (compiling its
    kernels the first time), then run the first screen so the first page shows at once.
    Returns (seconds to start the workers and load the model, seconds for the first screen)."""
    first = str(explorer.files[0])
    t0 = time.perf_counter()
    explorer.start()
    t1 = time.perf_counter()
    explorer.screen(first, base_values(explorer.scenario(explorer.files[0])), (first, None))
    return t1 - t0, time.perf_counter() - t1


def free_port() -> int:
    """A port no one listens on now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be listened on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def serve(app: Dash, port: int) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` until interrupted (one request log line per error
    only)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host=HOST, port=port, debug=False, dev_tools_ui=False,
            dev_tools_disable_version_check=True)  # no call to plotly's version server
