"""Centre of Excellence sustainability simulator.

Data flows one way: scenario file → validated parameters (:mod:`sim.scenario`) → model on the
engine (:mod:`sim.model`, :mod:`sim.engine`) → ensemble results (:mod:`sim.experiments`) →
tables and charts (:mod:`sim.outputs`). :mod:`sim.cli` is a thin shell over those.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
