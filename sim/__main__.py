"""``python -m sim COMMAND ...``: the same program as ``python run.py`` and ``coe-sim``."""

from __future__ import annotations

from sim.cli import main

if __name__ == "__main__":
    main(prog_name="python -m sim")
