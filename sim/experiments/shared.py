"""Result arrays that tasks fill in place, wherever the tasks run.

:class:`SharedArrays` is a set of named float64 arrays, each with the replicate axis last
(``[R]`` or ``[T, R]``), that the parent allocates once and tasks fill a range of replicates
at a time. Where they live depends on where the tasks run:

- tasks in this process (:class:`~sim.experiments.executors.SerialExecutor`) write straight
  into the parent's arrays;
- worker processes on this machine map one shared file (in ``/dev/shm`` where it has room,
  else the temporary folder) and write into it; the parent has the same file mapped, so
  nothing is copied or sent back;
- workers that cannot reach the file (on other machines, e.g. a Dask cluster, or when no
  folder had room for it) return their rows with the task's result, and the parent copies
  them in (:meth:`SharedArrays.receive`).

A task asks :meth:`SharedArrays.attach` which case it is in; it gets the arrays, or None
and sends its rows back. Either way the parent ends with the same arrays, to the bit.
"""

from __future__ import annotations

import math
import mmap
import os
import socket
import tempfile
from collections.abc import Hashable, Mapping
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = ["SharedArrays"]

K = TypeVar("K", bound=Hashable)

FILE_PREFIX = "coe-sim-results-"
_FOLDERS = ("/dev/shm", tempfile.gettempdir())
_HEADROOM_BYTES = 64 << 20
"""Room left free in the folder beyond 1.2 times the file (other users of /dev/shm)."""


class SharedArrays(Generic[K]):
    """Named float64 arrays over the same ``replicates`` (replicate axis last) that tasks fill
    in place.

    Parameters
    ----------
    replicates : R, the length of every array's last axis.
    shapes : key → leading shape of each array (``()`` for float64[R], ``(T,)`` for
        float64[T, R]); keys are any hashable, picklable values.
    share_file : put the arrays in a file that worker processes on this machine can map
        (False when every task runs in this process: plain arrays are enough).

    Picklable: a copy sent to a worker carries the file's name and layout, never the arrays.
    """

    def __init__(self, replicates: int, shapes: Mapping[K, tuple[int, ...]],
                 share_file: bool = True):
        self.replicates = int(replicates)
        self.shapes = {key: (*(int(n) for n in shape), self.replicates)
                       for key, shape in shapes.items()}
        self.host = socket.gethostname()
        self._offsets: dict[K, int] = {}
        offset = 0
        for key, shape in self.shapes.items():
            self._offsets[key] = offset
            offset += 8 * math.prod(shape)
        self.size = max(offset, 1)
        self.owner = os.getpid()
        """The process that made the arrays: a worker forked from it holds a copy of this
        object, private arrays included, which it must not write into."""
        self.path = _new_file(self.size) if share_file else None
        self._arrays: dict[K, np.ndarray] | None = (
            self._map() if self.path is not None
            else {key: np.zeros(shape) for key, shape in self.shapes.items()})

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_arrays": None}

    def _map(self) -> dict[K, np.ndarray]:
        """Every array as a view of the file, mapped afresh: the map closes with the views."""
        assert self.path is not None
        with open(self.path, "r+b") as handle:
            shared = mmap.mmap(handle.fileno(), self.size)
        return {key: np.frombuffer(shared, dtype=np.float64, count=math.prod(shape),
                                   offset=self._offsets[key]).reshape(shape)
                for key, shape in self.shapes.items()}

    # ------------------------------------------------------------------ task side

    def attach(self) -> dict[K, np.ndarray] | None:
        """The arrays to write into from this process, or None when rows must be sent back.

        In the process that made them: its own arrays. In a worker on the same machine: views
        of the shared file, mapped for as long as the caller keeps them (so a worker keeps no
        memory of a finished run), also when the worker was forked with a copy of the parent's
        arrays. Elsewhere, or when there is no file: None.
        """
        if self._arrays is not None and os.getpid() == self.owner:
            return self._arrays
        if self.path is None or socket.gethostname() != self.host:
            return None
        try:
            if os.stat(self.path).st_size != self.size:
                return None
            return self._map()
        except OSError:  # not on this machine after all, or the run is over
            return None

    # ------------------------------------------------------------------ parent side

    @property
    def arrays(self) -> dict[K, np.ndarray]:
        """Every array, key → float64[..., R] (in the process that made them)."""
        if self._arrays is None or os.getpid() != self.owner:
            raise RuntimeError("SharedArrays.arrays is only there in the process that made them")
        return self._arrays

    def receive(self, key: K, rows: slice, values: np.ndarray) -> None:
        """Copy replicates ``rows`` that a task sent back into ``key`` (``values``:
        float64[..., rows]); a key that is not in ``shapes`` gets a new array."""
        arrays = self.arrays
        if key not in arrays:
            arrays[key] = np.zeros((*np.shape(values)[:-1], self.replicates))
        arrays[key][..., rows] = values

    def close(self) -> None:
        """Remove the shared file (idempotent); the arrays stay valid while they are used."""
        if self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def __enter__(self) -> SharedArrays[K]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _new_file(size: int) -> str | None:
    """A new file of ``size`` bytes (sparse: its pages are made when written) in the first
    folder with room, or None when none has."""
    for folder in _FOLDERS:
        try:
            stats = os.statvfs(folder)
            if stats.f_bavail * stats.f_frsize < 1.2 * size + _HEADROOM_BYTES:
                continue
            fd, path = tempfile.mkstemp(prefix=FILE_PREFIX, dir=folder)
        except (OSError, AttributeError):  # no such folder, or no statvfs (Windows)
            continue
        try:
            os.ftruncate(fd, size)
            return path
        except OSError:
            os.unlink(path)
            continue
        finally:
            os.close(fd)
    return None
