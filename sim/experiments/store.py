"""Sweep folders on disk: manifest, design, one Parquet file per chunk, the combined table.

Layout of a sweep folder (``outputs/<kind>-<name>-<UTC time>/``)::

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

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.outputs.io import atomic_write  # one atomic writer for every file the tool writes

__all__ = [
    "CHUNK_DIR",
    "MANIFEST",
    "atomic_write",
    "chunk_path",
    "combine_chunks",
    "done_chunks",
    "find_resumable",
    "new_folder",
    "read_manifest",
    "read_results",
    "write_chunk",
    "write_json",
]

MANIFEST = "manifest.json"
CHUNK_DIR = "chunks"
RESULTS = "results.parquet"
DESIGN = "design.parquet"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and value != value:
        return None
    return value


def write_json(path: Path, data: Any) -> Path:
    text = json.dumps(_plain(data), indent=2, allow_nan=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def new_folder(out_dir: Path, prefix: str, started: datetime) -> Path:
    """A new, empty folder ``<out_dir>/<prefix>-<UTC time>`` (suffixed if taken)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = f"{re.sub(r'[^A-Za-z0-9_.+-]', '_', prefix)}-{_stamp(started)}"
    for n in range(1000):
        folder = out_dir / (base if n == 0 else f"{base}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise OSError(f"cannot make a new folder for {base} under {out_dir}")


def find_resumable(out_dir: Path, prefix: str) -> Path | None:
    """The newest folder ``<out_dir>/<prefix>-*`` with a manifest, or None."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return None
    pattern = re.compile(re.escape(prefix) + r"-\d{8}T\d{6}Z(-\d+)?$")
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
