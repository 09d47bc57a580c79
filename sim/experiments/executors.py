"""Executors: one interface, three backends (in-process, a local process pool, Dask).

Ensembles, sweeps and calibration all run their work through this one interface. An executor
runs ``fn(context, task)`` for many tasks and yields ``(task, result)`` pairs as they finish, in
any order (:meth:`Executor.map_unordered`; :meth:`Executor.map` gives the results in task
order). ``context`` is the data every task needs (the scenarios and LA population of an
ensemble, a sweep and its settings, a calibration problem); it is sent to each worker once, not
with every task, and kept there while the next call passes the same object, so a calibration's
many rounds reuse one set of workers. At most ``max_in_flight`` tasks are queued at a time, so
memory stays flat however many tasks there are. Results that tasks write in place go through
:class:`sim.experiments.shared.SharedArrays`; what a worker keeps between tasks is in
:mod:`sim.experiments.process`.

Backends (made by :func:`make_executor`)
----------------------------------------
:class:`SerialExecutor`
    Runs everything in this process; no start-up cost. Used for one worker (``serial``, or
    ``local`` with one worker).
:class:`LocalExecutor`
    A :class:`concurrent.futures.ProcessPoolExecutor` (``local``). Its workers are forked from
    this process on Linux when no other Python thread runs here (a copy of this process: the
    model already imported, its compiled kernels loaded, nothing to send), else spawned (a new
    interpreter that imports the model; the same on Linux, macOS and Windows, and safe with
    threads): :func:`start_method`. ``fn`` must be a module-level function.
:class:`DaskExecutor`
    ``dask.distributed``: joins the scheduler at ``scheduler`` (``tcp://host:port``) or starts
    a :class:`~dask.distributed.LocalCluster` of ``workers`` single-threaded processes
    (``dask``).

Which worker runs which task never changes the numbers: every task carries its own random
streams (design point and replicate block), never a worker's.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from sim.experiments.process import state

__all__ = [
    "EXECUTOR_KINDS",
    "START_METHODS",
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "SerialExecutor",
    "default_workers",
    "make_executor",
    "start_method",
]

T = TypeVar("T")
TaskFunction = Callable[[Any, Any], Any]

EXECUTOR_KINDS = ("serial", "local", "dask")
"""The kinds :func:`make_executor` knows, one backend each."""

START_METHODS = ("auto", "fork", "spawn")
"""How a local pool starts its workers (:func:`start_method`)."""

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


def start_method(requested: str = "auto") -> str:
    """The multiprocessing start method a local pool uses: ``requested`` unless ``auto``.

    ``auto`` forks on Linux when this thread is the only Python thread of the process, and
    spawns otherwise. A forked worker is a copy of this process at the fork: the model is
    imported, its compiled kernels loaded and the task context in memory already, so it starts
    in milliseconds where a spawned one spends about a second importing and loading them — on
    two cores that second was a fifth of a 10,000-replicate ensemble. A fork copies only the
    thread that calls it, so a lock another Python thread holds at that moment (a web server's,
    Dask's) would stay held in the copy for ever: with such threads running, or where fork is
    not the platform's safe default (macOS, Windows), workers are spawned. The threads numpy's
    BLAS (OpenBLAS) starts are stopped and restarted around a fork by the library itself
    (``pthread_atfork``), and the model runs BLAS on one thread in any case.
    """
    if requested not in START_METHODS:
        raise ValueError(f"start method must be one of {', '.join(map(repr, START_METHODS))}, "
                         f"got {requested!r}")
    if requested != "auto":
        return requested
    if (sys.platform.startswith("linux") and threading.active_count() == 1
            and "fork" in multiprocessing.get_all_start_methods()):
        return "fork"
    return "spawn"


class Executor(ABC):
    """Context manager that maps a task function over tasks on some workers.

    ``in_process`` says whether tasks run in this process (then they may write into the
    caller's arrays directly).
    """

    name = "executor"
    workers = 1
    in_process = False

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

    def map(self, fn: TaskFunction, context: Any, tasks: Iterable[Any]) -> list[Any]:
        """``[fn(context, task) for task in tasks]``, in task order, run on the workers."""
        numbered = list(enumerate(tasks))
        results: list[Any] = [None] * len(numbered)
        for (index, _), result in self.map_unordered(functools.partial(_call_numbered, fn),
                                                     context, numbered):
            results[index] = result
        return results

    def describe(self) -> str:
        return f"{self.name}, {self.workers} worker{'s' if self.workers != 1 else ''}"


def _call_numbered(fn: TaskFunction, context: Any, numbered: tuple[int, Any]) -> Any:
    return fn(context, numbered[1])


class SerialExecutor(Executor):
    """Everything in this process, in task order."""

    name = "in-process"
    in_process = True

    def map_unordered(self, fn: TaskFunction, context: Any, tasks: Iterable[T],
                      max_in_flight: int | None = None) -> Iterator[tuple[T, Any]]:
        for task in tasks:
            yield task, fn(context, task)


# --------------------------------------------------------------------------- local process pool


PARENT_CHECK_SECONDS = 0.5
"""How often a pool worker checks that the process that started it is still alive."""


def _init_worker(context: Any) -> None:
    """Pool initializer: keep the context in this process's state; leave Ctrl-C to the parent,
    which stops the pool, and let SIGTERM end the worker (a forked worker would otherwise
    keep a handler its parent set); exit when the parent dies (:func:`_exit_with_parent`)."""
    state().context = context
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _exit_with_parent()


def _exit_with_parent() -> None:
    """Start a daemon thread that ends this worker as soon as its parent process is gone.

    A parent killed with SIGKILL (or the OOM killer) cannot stop its pool, and an orphaned
    worker would go on holding memory and a core, and finish tasks no one will read. The thread
    waits on ``multiprocessing.parent_process().sentinel`` — a pipe (a handle on Windows) that
    becomes ready when the parent exits, with either start method and on every platform —
    and, on POSIX, also notices ``os.getppid()`` changing (the worker was re-parented). Then it
    ends the process at once with ``os._exit``: nothing of a task in progress is worth saving.
    """
    from multiprocessing.connection import wait as wait_ready

    parent = multiprocessing.parent_process()
    sentinel = parent.sentinel if parent is not None else None
    first_parent = os.getppid()

    def watch() -> None:
        while True:
            if sentinel is not None and wait_ready([sentinel], timeout=PARENT_CHECK_SECONDS):
                break
            if sentinel is None:
                threading.Event().wait(PARENT_CHECK_SECONDS)
            if os.name == "posix" and os.getppid() != first_parent:
                break
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """SIGINT ignored in this process while the block runs (a process started meanwhile
    inherits the ignored signal across exec); a no-op outside the main thread, where the
    handler cannot be changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _call_in_worker(fn: TaskFunction, task: Any) -> Any:
    return fn(state().context, task)


class LocalExecutor(Executor):
    """A pool of ``workers`` processes on this machine, forked or spawned
    (:func:`start_method` of ``start_method``).

    The workers start on the first :meth:`map_unordered` call, holding its context, and stay
    for later calls with the same context object; a call with another context starts new
    workers. :meth:`close` stops them.
    """

    name = "local process pool"

    def __init__(self, workers: int | None = None, start_method: str = "auto"):
        self.workers = int(workers) if workers else default_workers()
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if start_method not in START_METHODS:
            raise ValueError(f"start method must be one of "
                             f"{', '.join(map(repr, START_METHODS))}, got {start_method!r}")
        self.start_method = start_method
        self.started_with: str | None = None
        """The start method of the running workers (None before they start)."""
        self._pool: ProcessPoolExecutor | None = None
        self._context: Any = None

    def _pool_for(self, context: Any) -> ProcessPoolExecutor:
        """The running pool if its workers hold ``context``, else a new pool whose do."""
        if self._pool is not None and self._context is context:
            return self._pool
        self.close()
        method = start_method(self.start_method)
        saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
        os.environ.update({k: "1" for k in _THREAD_VARIABLES})
        try:
            pool = ProcessPoolExecutor(self.workers,
                                       mp_context=multiprocessing.get_context(method),
                                       initializer=_init_worker, initargs=(context,))
            # Start every worker now, while the variables above are set (they are inherited),
            # and with Ctrl-C ignored, so that a worker ignores it from its first instruction:
            # a Ctrl-C while workers are still importing would otherwise print a traceback
            # from each (a Ctrl-C in the milliseconds of the spawn itself is therefore not seen;
            # blocking it instead would not hold it: numpy's BLAS threads would take and drop
            # it). The parent stops the pool itself (map_unordered).
            with _ctrl_c_ignored(), warnings.catch_warnings():
                # Python 3.12+ warns of any fork in a process with threads, counting BLAS's,
                # which stop and restart themselves around it (start_method).
                warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to "
                                        r"deadlocks", category=DeprecationWarning)
                started = [pool.submit(os.getpid) for _ in range(self.workers)]
            try:
                for future in started:
                    future.result()
            except BaseException:  # e.g. Ctrl-C while the workers start: end them now
                _terminate(pool)
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self._pool, self._context, self.started_with = pool, context, method
        return pool

    def map_unordered(self, fn: TaskFunction, context: Any, tasks: Iterable[T],
                      max_in_flight: int | None = None) -> Iterator[tuple[T, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        pool = self._pool_for(context)
        limit = max_in_flight or 2 * self.workers
        pending: dict[Future, T] = {}
        queue = iter(tasks)
        finished = False
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
            finished = True
        finally:
            if not finished:  # an error, Ctrl-C or a caller that stopped early
                for future in pending:
                    future.cancel()
                # No one will read the tasks still running: end them rather than wait for
                # them, so that Ctrl-C stops a long calibration or sweep at once.
                self.close(terminate=True)

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers (none before the first call or after
        :meth:`close`)."""
        if self._pool is None:
            return []
        return [p.pid for p in _processes(self._pool) if p.pid is not None]

    def close(self, wait_for_workers: bool = True, terminate: bool = False) -> None:
        """Stop the workers (idempotent). By default idle workers are told to exit and waited
        for, which takes milliseconds: a pool left to wind down on its own can still be
        closing its pipes when the interpreter exits, and Python then reports a "Bad file
        descriptor" from its own exit handler. ``terminate`` ends workers busy with a task at
        once (SIGTERM) instead of letting them finish it, and does not wait."""
        if self._pool is not None:
            if terminate:
                _terminate(self._pool)
            self._pool.shutdown(wait=wait_for_workers and not terminate, cancel_futures=True)
            self._pool, self._context, self.started_with = None, None, None


def _terminate(pool: ProcessPoolExecutor) -> None:
    """End every worker of ``pool`` at once (SIGTERM), busy or not; ProcessPoolExecutor has no
    public way to do this."""
    for process in _processes(pool):
        if process.is_alive():
            process.terminate()


def _processes(pool: ProcessPoolExecutor) -> list[Any]:
    """The worker processes of ``pool``: ProcessPoolExecutor keeps them in a private field."""
    return list((getattr(pool, "_processes", None) or {}).values())


# --------------------------------------------------------------------------- Dask


def _call_with_context(fn: TaskFunction, context: Any, task: Any) -> Any:
    return fn(context, task)


class DaskExecutor(Executor):
    """``dask.distributed``: an existing cluster (``scheduler``) or a new LocalCluster.

    The context is scattered to every worker once and kept there for later calls with the same
    context object.

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
        self._cluster: Any = None
        self._client: Any = None
        self._context: Any = None
        self._scattered: Any = None
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

    def _scatter(self, context: Any) -> Any:
        """The context on every worker: scattered on first use, then kept while it is the same."""
        if self._scattered is None or self._context is not context:
            self._scattered = self._client.scatter(context, broadcast=True)
            self._context = context  # the previous context is released with its future
        return self._scattered

    def map_unordered(self, fn: TaskFunction, context: Any, tasks: Iterable[T],
                      max_in_flight: int | None = None) -> Iterator[tuple[T, Any]]:
        from dask.distributed import as_completed

        client = self._client
        shared = self._scatter(context)
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
        self._scattered, self._context = None, None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(kind: str = "local", workers: int | None = None,
                  scheduler: str | None = None, *, start_method: str = "auto") -> Executor:
    """An executor by kind (one of :data:`EXECUTOR_KINDS`).

    ``serial``: this process. ``local``: a process pool of ``workers`` processes (default
    every core; one worker runs in this process, with no pool), forked or spawned as
    ``start_method`` says (:func:`start_method`). ``dask``: the Dask cluster at
    ``scheduler``, or a new LocalCluster of ``workers`` processes.
    """
    if scheduler and kind != "dask":
        raise ValueError(f"a scheduler ({scheduler}) is only used by the 'dask' executor, "
                         f"not {kind!r}")
    if kind == "serial":
        return SerialExecutor()
    if kind == "local":
        count = int(workers) if workers else default_workers()
        if count < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        return SerialExecutor() if count == 1 else LocalExecutor(count, start_method)
    if kind == "dask":
        return DaskExecutor(workers, scheduler)
    raise ValueError(f"executor must be one of {', '.join(map(repr, EXECUTOR_KINDS))}, "
                     f"got {kind!r}")
