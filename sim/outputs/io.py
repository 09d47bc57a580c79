"""Crash-safe writing: every file goes to a temporary name and is renamed into place, and a
run folder is assembled under a hidden temporary name and renamed when complete."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "write_text", "write_json", "RunFolder", "folder_name"]


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    A crash leaves either the old file or the new one, never half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (NaN becomes null)."""
    return write_text(path, json.dumps(_clean(data), indent=2, allow_nan=False) + "\n")


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def folder_name(command: str, names: list[str], when: datetime | None = None) -> str:
    """``<command>-<names joined by +>-<UTC timestamp>``, safe for any file system."""
    when = when or datetime.now(UTC)
    joined = "+".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", n) for n in names)[:80]
    return f"{command}-{joined}-{when:%Y%m%d-%H%M%S}"


class RunFolder:
    """A run's output folder, built under a hidden name and renamed into place on success.

    Use as a context manager; inside, write files with :meth:`path`. If the block raises, the
    partial folder is removed and nothing appears under the final name.
    """

    def __init__(self, out_dir: Path, name: str):
        self.out_dir = Path(out_dir)
        final = self.out_dir / name
        suffix = 1
        while final.exists():
            suffix += 1
            final = self.out_dir / f"{name}-{suffix}"
        self.final = final
        self.tmp = self.out_dir / f".{final.name}.partial"

    def __enter__(self) -> RunFolder:
        self.tmp.mkdir(parents=True, exist_ok=False)
        return self

    def path(self, filename: str) -> Path:
        """Where to write ``filename`` while the folder is being built."""
        return self.tmp / filename

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.final)
            return
        for child in sorted(self.tmp.rglob("*"), reverse=True):
            child.unlink() if child.is_file() else child.rmdir()
        self.tmp.rmdir()
