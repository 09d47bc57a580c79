"""What a process keeps from one task to the next, in one object: :func:`state`.

Every process that runs tasks (this one, a local pool worker, a Dask worker) has one
:class:`ProcessState`. It holds

- ``context``: the data every task of a local pool needs, installed once when the worker
  starts (:class:`sim.experiments.executors.LocalExecutor`); for calibration this is the
  :class:`~sim.experiments.calibration.objective.Problem`;
- the BLAS thread limiter (:meth:`ProcessState.one_blas_thread`);
- scratch metric storage that sweep batches reuse (:meth:`ProcessState.metric_scratch`).

Nothing here changes a number: it only decides where arrays live and how many threads BLAS
may start. Shared result files (:mod:`sim.experiments.shared`) are mapped for one task at a
time and never kept here, so a long-lived worker holds no memory of a finished run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["ProcessState", "state"]


class ProcessState:
    """The per-process state of the parallel layer (one instance per process: :func:`state`)."""

    def __init__(self) -> None:
        self.context: Any = None
        self._blas: Any = None
        # Per thread: a Dask worker may run tasks on several threads at once, and two batches
        # must never share scratch arrays.
        self._local = threading.local()

    def one_blas_thread(self) -> contextlib.AbstractContextManager[Any]:
        """Limit BLAS to one thread while simulating.

        The model's matrix products are small ([R, 153] by [153, 9]), so BLAS threads only add
        hand-over and spin-waiting, and on a busy machine they compete with the worker
        processes for the same cores; the numbers are the same to the bit with any number of
        BLAS threads.
        """
        try:
            if self._blas is None:
                from threadpoolctl import ThreadpoolController

                self._blas = ThreadpoolController()
            return self._blas.limit(limits=1, user_api="blas")  # type: ignore[no-any-return]
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            return contextlib.nullcontext()

    def metric_scratch(self, names: Iterable[str], months: int, rows: int,
                       minimum_rows: int = 0) -> dict[str, np.ndarray]:
        """Zeroed month-major storage float64[months, rows] per name, reused from call to call.

        For work that keeps only a few values of each batch's metrics (sweeps): fresh arrays
        for every batch would leave a worker holding freed-but-kept heap of many batches. The
        buffers hold at least ``minimum_rows`` rows, so batches of varying size share them;
        the arrays returned are valid until the next call on the same thread.
        """
        names = tuple(names)
        size = max(rows, minimum_rows)
        key = (names, months, size)
        buffers: dict[str, np.ndarray] | None = getattr(self._local, "buffers", None)
        if buffers is None or getattr(self._local, "key", None) != key:
            self._local.buffers = buffers = {name: np.zeros((months, size)) for name in names}
            self._local.key = key
            return {name: values[:, :rows] for name, values in buffers.items()}
        storage = {name: values[:, :rows] for name, values in buffers.items()}
        for values in storage.values():
            values.fill(0.0)
        return storage


_STATE = ProcessState()


def state() -> ProcessState:
    """This process's :class:`ProcessState`."""
    return _STATE
