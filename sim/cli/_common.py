"""What every command shares: the one way to stop with an error, exit codes, common options.

A bad input is one line on stderr, ``error: <file>: <key path> <rule>, got <value>``, and exit
code 2; a failure while running is exit code 1; Ctrl-C during a sweep is 130. No traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

__all__ = ["BAD_INPUT", "FAILED", "INTERRUPTED", "check_out", "echo_error", "fail", "options",
           "out_option"]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

FAILED = 1
"""Exit code of a command that failed while running (a worker died, a file cannot be written)."""
BAD_INPUT = 2
"""Exit code of bad input: a scenario, sweep file, spec, observed file or option."""
INTERRUPTED = 130
"""Exit code after Ctrl-C (finished sweep chunks are kept; ``--resume`` continues)."""


def echo_error(message: str) -> None:
    """Print ``error: <message>`` on stderr."""
    click.echo(f"error: {message}", err=True)


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit with ``code``."""
    echo_error(message)
    sys.exit(code)


def check_out(out_dir: Path) -> None:
    """Stop with exit code 2 unless ``out_dir`` can take results (made if missing): checked
    before any simulation, so a read-only ``--out`` costs no work."""
    from sim.files import check_writable

    try:
        check_writable(out_dir)
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write results there ({exc.strerror or exc})", BAD_INPUT)


def options(*decorators: Decorator) -> Decorator:
    """Several click options as one decorator, applied in the order given (top to bottom)."""
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def out_option(what: str) -> Decorator:
    """``--out DIR`` (default ``outputs``): the folder under which ``what`` is written."""
    return click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=Path("outputs"), show_default=True,
                        help=f"Folder under which {what} is written.")
