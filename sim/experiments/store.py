"""Sweep folders on disk: manifest, design, one Parquet file per chunk, the combined table.

Layout of a sweep folder (``outputs/<kind>-<name>-<YYYYmmddTHHMMSSZ>/``, named by
:func:`sim.files.results_folder_name`)::

    manifest.json          what was run, how, the sweep file's hash, progress times
    sweep.toml             the sweep file as it was when the sweep started
    base.resolved.toml     the base scenario after inheritance and overrides (model sweeps)
    design.parquet         one row per design point: point, one column per parameter
    chunks/part-00000.parquet …   one file per finished chunk (rows: point × replicate)
    results.parquet        every chunk in order, written when the last chunk is done

Every file is written under a temporary name and renamed into place, so a chunk file either
exists complete or not at all: ``--resume`` runs exactly the chunks whose file is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim.files import (
    atomic_write,
    folder_prefix,
    new_folder,
    read_json,
    results_folder_name,
    stamped_folder_pattern,
)

__all__ = [
    "CHUNK_DIR",
    "MANIFEST",
    "chunk_path",
    "combine_chunks",
    "done_chunks",
    "find_resumable",
    "new_sweep_folder",
    "read_manifest",
    "read_results",
    "write_chunk",
]

MANIFEST = "manifest.json"
CHUNK_DIR = "chunks"
RESULTS = "results.parquet"
DESIGN = "design.parquet"


def read_manifest(folder: Path) -> dict[str, Any]:
    """The ``manifest.json`` of a sweep folder."""
    return dict(read_json(Path(folder) / MANIFEST))


def new_sweep_folder(out_dir: Path, kind: str, name: str, started: datetime) -> Path:
    """A new, empty folder ``<out_dir>/<kind>-<name>-<UTC time>`` (``-2``, ``-3`` … if taken)."""
    return new_folder(out_dir, results_folder_name(kind, [name], started))


def find_resumable(out_dir: Path, kind: str, name: str) -> Path | None:
    """The newest folder of this sweep (``<out_dir>/<kind>-<name>-<UTC time>``) that has a
    manifest, or None."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return None
    pattern = stamped_folder_pattern(folder_prefix(kind, [name]))
    candidates = [p for p in out_dir.iterdir()
                  if p.is_dir() and pattern.fullmatch(p.name) and (p / MANIFEST).is_file()]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (read_manifest(p).get("started", ""), p.name))


def chunk_path(folder: Path, index: int) -> Path:
    return Path(folder) / CHUNK_DIR / f"part-{index:05d}.parquet"


def done_chunks(folder: Path) -> set[int]:
    """Indices of the chunks whose file is complete (temporary files are not)."""
    found = set()
    directory = Path(folder) / CHUNK_DIR
    if directory.is_dir():
        for p in directory.glob("part-*.parquet"):
            match = re.fullmatch(r"part-(\d+)\.parquet", p.name)
            if match:
                found.add(int(match.group(1)))
    return found


def write_chunk(folder: Path, index: int, table: pa.Table) -> Path:
    return atomic_write(chunk_path(folder, index), lambda tmp: pq.write_table(table, tmp))


def combine_chunks(folder: Path, chunks: Iterable[int]) -> Path:
    """Concatenate chunk files, in chunk order, into ``results.parquet`` one chunk at a time
    (memory holds one chunk, however large the sweep)."""
    folder = Path(folder)

    def write(tmp: Path) -> None:
        writer = None
        try:
            for index in sorted(chunks):
                table = pq.read_table(chunk_path(folder, index))
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()

    return atomic_write(folder / RESULTS, write)


def read_results(path: Path, columns: list[str] | None = None) -> pa.Table:
    """The result table of a sweep folder (``results.parquet``, else its chunks so far), or of
    a Parquet file given directly."""
    path = Path(path)
    if path.is_dir():
        if (path / RESULTS).is_file():
            return pq.read_table(path / RESULTS, columns=columns)
        parts = sorted(done_chunks(path))
        if not parts:
            raise FileNotFoundError(f"{path} holds no {RESULTS} and no finished chunks")
        tables = [pq.read_table(chunk_path(path, i), columns=columns) for i in parts]
        return pa.concat_tables(tables)
    return pq.read_table(path, columns=columns)
