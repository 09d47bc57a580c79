"""Centre of Excellence sustainability simulator.

The public Python API, for notebooks (docs/api.md)::

    import sim

    scenario = sim.load_scenario("scenarios/la_hosted.toml", {"finance.grants[0].end_month": 48})
    results = sim.compare([scenario, "scenarios/independent_company.toml"], replicates=500)
    results.kpis, results.plot_funding_cliff(), results.save("outputs", report=True)

Data flows one way: scenario file → validated parameters (:mod:`sim.scenario`) → compiled
parameters and the model on the engine (:mod:`sim.model`, :mod:`sim.engine`) → ensemble
results (:mod:`sim.experiments`) → tables and charts (:mod:`sim.outputs`); :mod:`sim.api` puts
them together and :mod:`sim.cli` is a thin shell over it. The API's names are loaded on first
use, so importing a part of the package (as worker processes do) stays light.
"""

from __future__ import annotations

from typing import Any

from sim.version import __version__

__all__ = ["Results", "SweepResults", "__version__", "compare", "load_scenario", "run", "sweep"]

_API = {"Results", "SweepResults", "compare", "load_scenario", "run", "sweep"}


def __getattr__(name: str) -> Any:
    if name in _API:
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
