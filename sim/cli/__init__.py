"""Command line: ``python run.py COMMAND ...`` (also installed as ``coe-sim``).

Only parses, calls the library and reports; the tables it prints come from
:mod:`sim.outputs.console`. Commands are grouped by what they act on:

* :mod:`sim.cli.runs` — ``run``, ``compare``, ``report``, ``validate``, ``params``;
* :mod:`sim.cli.experiments` — ``sweep``, ``sensitivity``, ``discover``;
* :mod:`sim.cli.calibration` — ``calibrate``;
* :mod:`sim.cli.decisions` — ``threshold``, ``robust``, ``optimise``;
* :mod:`sim.cli.structure` — ``structure``, ``export-xmile``;
* :mod:`sim.cli.explore` — ``explore`` (the live explorer, :mod:`sim.explorer`);

and share :mod:`sim.cli._common` (the one ``fail``, exit codes, common options). A bad input
file is reported as one line naming the file, the key, the value and the rule, with exit code 2
and no traceback. Heavy libraries are imported inside the commands, so ``validate`` and
``--help`` stay quick.
"""

from __future__ import annotations

import click

from sim.cli.calibration import calibrate
from sim.cli.decisions import optimise, robust, threshold
from sim.cli.experiments import discover, sensitivity, sweep
from sim.cli.explore import explore
from sim.cli.runs import compare, params, report, run, validate
from sim.cli.structure import export_xmile, structure

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="coe-sim")
def main() -> None:
    """Sustainability simulator for a national Centre of Excellence for children's-services
    data work in England: uptake by the 153 LAs, the funding cliff, staff churn, Gall's law,
    and hosting models, as Monte Carlo ensembles driven by TOML scenario files."""


for _command in (run, compare, report, validate, params, sweep, sensitivity, discover, calibrate,
                 threshold, robust, optimise, structure, export_xmile, explore):
    main.add_command(_command)
