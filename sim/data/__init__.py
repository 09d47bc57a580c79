"""The LA population: fixed attributes of the 153 local authorities and their loader.

Package data (CSV files with their sources in ``SOURCES.md``) lives beside this module. Below
both :mod:`sim.scenario` and :mod:`sim.model`: it imports neither.
"""

from __future__ import annotations

from sim.data.population import (
    OFSTED_GRADES,
    REGION_NAMES,
    LAPopulation,
    load_la_population,
    region_slug,
)

__all__ = ["LAPopulation", "OFSTED_GRADES", "REGION_NAMES", "load_la_population", "region_slug"]
