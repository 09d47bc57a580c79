"""Files on disk, written the one way every command writes them.

* :func:`atomic_write` writes a file under a temporary name beside it and renames it into place,
  so a crash leaves the old file or the new one, never half a file; the new file gets the mode
  the user's umask gives any new file (a temporary file is created private).
* :func:`write_text` and :func:`write_json` build on it; JSON is strict (NaN becomes ``null``,
  numpy scalars become Python numbers).
* :func:`results_folder_name` names every results folder,
  ``<command>-<names joined by +>-<YYYYmmddTHHMMSSZ>``; :func:`new_folder` claims one (``-2``,
  ``-3`` … when the name is taken), and :class:`RunFolder` builds one under a hidden name of
  its own (``.<name>.<random>.partial``, unique even when several runs start in the same
  second) and renames it into place only when complete.
* :func:`check_writable` says, before any work, whether a folder can take results.

A layer of its own, above :mod:`sim.engine` and below :mod:`sim.data` and everything else
(``tests/test_layers.py``): it imports the standard library and numpy only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

__all__ = [
    "RunFolder",
    "atomic_write",
    "check_writable",
    "folder_prefix",
    "new_folder",
    "read_json",
    "results_folder_name",
    "stamped_folder_pattern",
    "write_json",
    "write_text",
]

NAMES_MAX_CHARS = 80
"""Longest joined names part of a folder name (file systems allow 255 bytes)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_STAMP = r"\d{8}T\d{6}Z"


# --------------------------------------------------------------------------- files


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    A crash leaves either the old file or the new one, never half a file. The temporary file is
    created readable by its owner only; before the rename it is given the mode any new file
    gets under the current umask, so results stay readable by whoever could read the folder.
    ``write``'s return value is ignored (``Path.write_text`` returns a count, for example).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, _new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _new_file_mode() -> int:
    """The mode the current umask gives a new file (``0o644`` under umask ``022``)."""
    return 0o666 & ~_umask()


def _new_folder_mode() -> int:
    """The mode the current umask gives a new folder (``0o755`` under umask ``022``)."""
    return 0o777 & ~_umask()


def check_writable(out_dir: Path) -> Path:
    """Make ``out_dir`` (and its parents) if needed and check a file can be created in it, by
    creating and removing one; returns ``out_dir``.

    Called before any simulation, so that a folder that cannot take the results (read-only, on
    a full or read-only disk, under a file) is reported at once rather than after the work.

    Raises
    ------
    OSError
        If the folder cannot be made or written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=out_dir)
    os.close(fd)
    os.unlink(probe)
    return out_dir


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data: mappings with text keys, lists (from tuples and numpy
    arrays), Python numbers (from numpy scalars), and None for NaN (an undefined KPI)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and value != value:
        return None
    return value


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (NaN becomes null; ±inf is an error)."""
    return write_text(path, json.dumps(_plain(data), indent=2, allow_nan=False) + "\n")


def read_json(path: Path) -> Any:
    """The JSON data of a file written by :func:`write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- results folders


def folder_prefix(command: str, names: list[str]) -> str:
    """``<command>-<names joined by +>``, every part reduced to letters, digits, ``_``, ``.``
    and ``-`` (anything else becomes ``_``)."""
    joined = "+".join(_UNSAFE.sub("_", n) for n in names)[:NAMES_MAX_CHARS]
    return f"{_UNSAFE.sub('_', command)}-{joined}"


def results_folder_name(command: str, names: list[str], when: datetime | None = None) -> str:
    """The name of every results folder: ``<command>-<names joined by +>-<YYYYmmddTHHMMSSZ>``.

    ``when`` (default: now) is written in UTC, marked by the ``T`` and the ``Z``; e.g.
    ``compare-la_hosted+government_hosted-20261124T182053Z``.
    """
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return f"{folder_prefix(command, names)}-{moment:%Y%m%dT%H%M%SZ}"


def stamped_folder_pattern(prefix: str) -> re.Pattern[str]:
    """Matches the names :func:`results_folder_name` gives folders of ``prefix`` (with any
    ``-2``, ``-3`` … suffix)."""
    return re.compile(re.escape(prefix) + rf"-{_STAMP}(-\d+)?")


def _candidates(out_dir: Path, name: str) -> Iterator[Path]:
    """``name``, then ``name-2``, ``name-3`` … under ``out_dir``."""
    yield out_dir / name
    suffix = 2
    while True:
        yield out_dir / f"{name}-{suffix}"
        suffix += 1


def new_folder(out_dir: Path, name: str) -> Path:
    """Make and return the new, empty folder ``<out_dir>/<name>``, or ``<name>-2``, ``-3`` …
    when taken (claimed with ``mkdir``, so two processes never get the same folder)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for folder in _candidates(out_dir, name):
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise AssertionError("unreachable")  # pragma: no cover


class RunFolder:
    """A results folder built under a hidden name and renamed into place on success.

    Use as a context manager; inside, write files with :meth:`path`. The folder is built as
    ``<out_dir>/.<name>.<random>.partial`` (made by :func:`tempfile.mkdtemp`, so runs started
    together into one ``out_dir`` never share it) and given the mode any new folder gets under
    the umask. If the block raises, the partial folder is removed and nothing appears under
    the final name. On success the final name is claimed with :func:`new_folder` —
    ``<out_dir>/<name>``, or ``<name>-2``, ``-3`` … when taken (an existing folder is never
    overwritten) — and the partial folder renamed onto it; :attr:`final` is then that folder.
    """

    def __init__(self, out_dir: Path, name: str):
        self.out_dir = Path(out_dir)
        self.name = name
        self.final = self.out_dir / name
        self.tmp = self.out_dir / f".{name}.partial"

    def __enter__(self) -> RunFolder:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.name}.", suffix=".partial",
                                         dir=self.out_dir))
        os.chmod(self.tmp, _new_folder_mode())  # mkdtemp makes it private
        return self

    def path(self, filename: str) -> Path:
        """Where to write ``filename`` while the folder is being built."""
        return self.tmp / filename

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        claimed = new_folder(self.out_dir, self.name)
        try:
            os.replace(self.tmp, claimed)  # POSIX: a folder may replace an empty folder
        except OSError:  # Windows: free the claimed name first
            claimed.rmdir()
            os.rename(self.tmp, claimed)
        self.final = claimed
