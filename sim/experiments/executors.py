"""Executors: one interface, three backends (in-process, a local process pool, Dask).

An executor runs ``fn(context, task)`` for many tasks and yields ``(task, result)`` pairs as
they finish, in any order. ``context`` is the data every task needs (the base scenario, the LA
population, the sweep's settings); it is sent to each worker once, not with every task. At most
``max_in_flight`` tasks are queued at a time, so memory stays flat however many tasks there are.

Backends
--------
:class:`SerialExecutor`
    Runs everything in this process; no start-up cost. Used for one worker.
:class:`LocalExecutor`
    A :class:`concurrent.futures.ProcessPoolExecutor` with the ``spawn`` start method (the same
    on Linux, macOS and Windows; safe with threads). ``fn`` must be a module-level function.
:class:`DaskExecutor`
    ``dask.distributed``: joins the scheduler at ``scheduler`` (``tcp://host:port``) or starts
    a :class:`~dask.distributed.LocalCluster` of ``workers`` single-threaded processes.

Which worker runs which task never changes the numbers: every task carries its own random
streams (design point and replicate block), never a worker's.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "SerialExecutor",
    "default_workers",
    "make_executor",
]

T = TypeVar("T")
TaskFunction = Callable[[Any, Any], Any]

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Each worker is one process doing one task at a time: its BLAS must not start threads too."""


class ExecutorError(RuntimeError):
    """An executor could not be started or lost its workers."""


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Executor(ABC):
    """Context manager that maps a task function over tasks on some workers."""

    name = "executor"
    workers = 1

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook; most executors hold nothing
        """Release workers (idempotent)."""

    @abstractmethod
    def map_unordered(self, fn: TaskFunction, context: Any, tasks: Iterable[T],
                      max_in_flight: int | None = None) -> Iterator[tuple[T, Any]]:
        """Yield ``(task, fn(context, task))`` for every task, as each finishes."""

    def describe(self) -> str:
        return f"{self.name}, {self.workers} worker{'s' if self.workers != 1 else ''}"


class SerialExecutor(Executor):
    """Everything in this process, in task order."""

    name = "in-process"

    def map_unordered(self, fn: TaskFunction, context: Any, tasks: Iterable[T],
                      max_in_flight: int | None = None) -> Iterator[tuple[T, Any]]:
        for task in tasks:
            yield task, fn(context, task)


# --------------------------------------------------------------------------- local process pool

_WORKER_CONTEXT: Any = None


def _init_worker(context: Any) -> None:
    """Pool initializer: keep the context; leave Ctrl-C to the parent, which stops the pool."""
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call_in_worker(fn: TaskFunction, task: Any) -> Any:
    return fn(_WORKER_CONTEXT, task)


class LocalExecutor(Executor):
    """A pool of ``workers`` processes on this machine (``spawn`` start method)."""

    name = "local process pool"

    def __init__(self, workers: int | None = None):
        self.workers = int(workers) if workers else default_workers()
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._pool: ProcessPoolExecutor | None = None

    def _start(self, context: Any) -> ProcessPoolExecutor:
        self.close()
        saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
        os.environ.update({k: "1" for k in _THREAD_VARIABLES})
        try:
            pool = ProcessPoolExecutor(self.workers,
                                       mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init_worker, initargs=(context,))
            # Start every worker now, while the variables above are set (they are inherited).
            for future in [pool.submit(os.getpid) for _ in range(self.workers)]:
                future.result()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self._pool = pool
        return pool

    def map_unordered(self, fn: TaskFunction, context: Any, tasks: Iterable[T],
                      max_in_flight: int | None = None) -> Iterator[tuple[T, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        pool = self._start(context)
        limit = max_in_flight or 2 * self.workers
        pending: dict[Future, T] = {}
        queue = iter(tasks)
        try:
            for task in queue:
                pending[pool.submit(_call_in_worker, fn, task)] = task
                if len(pending) >= limit:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        raise ExecutorError(f"a worker process died ({exc})") from None
                    for nxt in queue:  # keep the queue topped up before yielding
                        pending[pool.submit(_call_in_worker, fn, nxt)] = nxt
                        break
                    yield task, result
        finally:
            for future in pending:
                future.cancel()
            self.close(wait_for_workers=False)  # idle workers exit on their own

    def close(self, wait_for_workers: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait_for_workers, cancel_futures=True)
            self._pool = None


# --------------------------------------------------------------------------- Dask


def _call_with_context(fn: TaskFunction, context: Any, task: Any) -> Any:
    return fn(context, task)


class DaskExecutor(Executor):
    """``dask.distributed``: an existing cluster (``scheduler``) or a new LocalCluster.

    Parameters
    ----------
    workers : processes of the LocalCluster (ignored when joining a scheduler).
    scheduler : address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    retries : times a task is retried if its worker is lost.
    """

    name = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None, retries: int = 3):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask is a dependency
            raise ExecutorError(f"--executor dask needs dask.distributed ({exc}); "
                                "install it with: pip install 'dask[distributed]'") from None
        self.scheduler = scheduler
        self.retries = retries
        self._cluster = None
        try:
            if scheduler:
                self._client = Client(scheduler, timeout="30s")
            else:
                self._cluster = LocalCluster(
                    n_workers=int(workers) if workers else default_workers(),
                    threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            self.close()
            where = f"the Dask scheduler at {scheduler}" if scheduler else "a Dask LocalCluster"
            raise ExecutorError(f"cannot connect to {where}: {exc}") from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def describe(self) -> str:
        where = self.scheduler or "LocalCluster"
        return f"dask ({where}), {self.workers} worker{'s' if self.workers != 1 else ''}"

    def map_unordered(self, fn: TaskFunction, context: Any, tasks: Iterable[T],
                      max_in_flight: int | None = None) -> Iterator[tuple[T, Any]]:
        from dask.distributed import as_completed

        client = self._client
        shared = client.scatter(context, broadcast=True)
        limit = max_in_flight or 2 * max(self.workers, 1)
        pending: dict[Any, T] = {}
        queue = iter(tasks)

        def submit(task: T) -> Any:
            future = client.submit(_call_with_context, fn, shared, task, pure=False,
                                   retries=self.retries)
            pending[future] = task
            return future

        initial = []
        for task in queue:
            initial.append(submit(task))
            if len(initial) >= limit:
                break
        running = as_completed(initial)
        try:
            for future in running:
                task = pending.pop(future)
                result = future.result()
                future.release()
                for nxt in queue:
                    running.add(submit(nxt))
                    break
                yield task, result
        finally:
            for future in pending:
                future.cancel()

    def close(self, wait_for_workers: bool = True) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(kind: str = "local", workers: int | None = None,
                  scheduler: str | None = None) -> Executor:
    """An executor by name: ``local`` (one worker runs in-process) or ``dask``."""
    if kind == "local":
        count = int(workers) if workers else default_workers()
        return SerialExecutor() if count == 1 else LocalExecutor(count)
    if kind == "dask":
        return DaskExecutor(workers, scheduler)
    raise ValueError(f"executor must be 'local' or 'dask', got {kind!r}")
