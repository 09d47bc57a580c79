#!/usr/bin/env python3
"""Entry point: ``python run.py COMMAND ...`` (the same as the ``coe-sim`` console script)."""

from sim.cli import main

if __name__ == "__main__":
    main()
