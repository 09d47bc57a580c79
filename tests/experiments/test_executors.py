"""The parallel layer: one executor interface (in-process, local pool, Dask), the shared result
arrays workers fill in place, and the per-process state."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sim.experiments import default_workers
from sim.experiments.executors import (
    EXECUTOR_KINDS,
    START_METHODS,
    Executor,
    LocalExecutor,
    SerialExecutor,
    make_executor,
    start_method,
)
from sim.experiments.process import state
from sim.experiments.shared import SharedArrays


def _square_plus(offset: int, task: int) -> int:
    return offset + task * task


def _attach_and_write(context: tuple[SharedArrays[str], SharedArrays[str]], task: int) -> bool:
    """In a worker: write ``task + 1`` at row ``task`` of the shared file's array; say whether
    the parent's private arrays (a copy of which a forked worker holds) are out of reach."""
    private, shared = context
    arrays = shared.attach()
    assert arrays is not None
    arrays["kpi"][task] = task + 1.0
    return private.attach() is None


def _pid_after_barrier(context: tuple[str, Any], task: int) -> int:
    """Wait until both workers hold a task (so each call uses every worker); return the pid."""
    context[1].wait(timeout=60)
    return os.getpid()


@pytest.fixture(scope="module")
def barrier() -> Iterator[Any]:
    with multiprocessing.get_context("spawn").Manager() as manager:
        yield manager.Barrier(2)


def test_make_executor_gives_one_backend_per_kind() -> None:
    """serial and one local worker run in this process; more local workers are a pool."""
    assert EXECUTOR_KINDS == ("serial", "local", "dask")
    assert isinstance(make_executor("serial"), SerialExecutor)
    assert isinstance(make_executor("local", 1), SerialExecutor)
    pool = make_executor("local", 2)
    assert isinstance(pool, LocalExecutor) and pool.workers == 2
    assert make_executor("local").workers == default_workers()
    with pytest.raises(ValueError, match="must be one of"):
        make_executor("threads")
    with pytest.raises(ValueError, match="only used by the 'dask' executor"):
        make_executor("local", 2, "tcp://127.0.0.1:8786")


def test_auto_forks_on_linux_only_while_no_other_thread_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of a process whose other threads may hold locks is not safe: ``auto`` forks on
    Linux with this thread alone, and spawns with another thread running or on macOS; a named
    method is taken as it is, an unknown one refused."""
    assert START_METHODS == ("auto", "fork", "spawn")
    assert start_method("spawn") == "spawn" and start_method("fork") == "fork"
    with pytest.raises(ValueError, match="start method must be one of"):
        start_method("threads")
    with pytest.raises(ValueError, match="start method must be one of"):
        LocalExecutor(2, start_method="threads")
    monkeypatch.setattr(sys, "platform", "linux")
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert start_method() == "spawn"
    finally:
        release.set()
        other.join()
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert start_method() == ("fork" if "fork" in multiprocessing.get_all_start_methods()
                              else "spawn")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert start_method() == "spawn"


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_started_either_way_write_into_the_parents_arrays(method: str) -> None:
    """Forked or spawned, a worker writes its rows into the shared file the parent reads, and
    never into the private arrays of the parent (a forked worker holds a copy of them, where
    its rows would be lost)."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    private: SharedArrays[str] = SharedArrays(4, {"kpi": ()}, share_file=False)
    with SharedArrays(4, {"kpi": ()}) as shared, \
            LocalExecutor(2, start_method=method) as executor:
        assert executor.started_with is None
        assert executor.map(_attach_and_write, (private, shared), range(4)) == [True] * 4
        assert executor.started_with == method
        assert shared.arrays["kpi"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert executor.started_with is None  # closed
    assert private.attach() is private.arrays  # in the process that made them


@pytest.mark.parametrize("kind", ["serial", "local"])
def test_map_returns_results_in_task_order(kind: str) -> None:
    """Executor.map gives fn(context, task) for every task, in task order, on any backend."""
    with make_executor(kind, 2) as executor:
        assert executor.map(_square_plus, 100, range(12)) == [100 + i * i for i in range(12)]
        assert sorted(executor.map_unordered(_square_plus, 1, [3, 1, 2])) == [
            (1, 2), (2, 5), (3, 10)]


def test_a_pool_keeps_its_workers_while_the_context_is_the_same(barrier: Any) -> None:
    """Calls with the same context object reuse the workers (a calibration's rounds start no
    new processes); another context starts new ones."""
    context = ("first", barrier)
    with LocalExecutor(2) as executor:
        first = set(executor.map(_pid_after_barrier, context, [0, 1]))
        again = set(executor.map(_pid_after_barrier, context, [0, 1]))
        other = set(executor.map(_pid_after_barrier, ("second", barrier), [0, 1]))
    assert len(first) == 2 and os.getpid() not in first
    assert again == first
    assert not other & first


def test_serial_executor_passes_the_context_itself() -> None:
    """In this process tasks get the caller's own context object (no copy)."""
    context: list[int] = []
    SerialExecutor().map(lambda ctx, task: ctx.append(task), context, [1, 2])
    assert context == [1, 2]
    assert SerialExecutor.in_process and not LocalExecutor.in_process


# --------------------------------------------------------------------------- shared arrays


def test_a_worker_on_this_machine_writes_into_the_parents_arrays() -> None:
    """A pickled copy (what a worker gets) maps the same file: its writes are the parent's."""
    with SharedArrays(5, {"metric": (3,), "kpi": ()}) as shared:
        assert shared.path is not None and os.path.exists(shared.path)
        worker = pickle.loads(pickle.dumps(shared))
        arrays = worker.attach()
        assert arrays is not None
        arrays["metric"][:, 1:3] = [[1, 2], [3, 4], [5, 6]]
        arrays["kpi"][4] = 7.5
        del arrays
        assert shared.arrays["metric"].tolist() == [[0, 1, 2, 0, 0], [0, 3, 4, 0, 0],
                                                    [0, 5, 6, 0, 0]]
        assert shared.arrays["kpi"].tolist() == [0, 0, 0, 0, 7.5]
        path = shared.path
    assert not os.path.exists(path)  # removed on close; the parent's arrays stay valid
    assert shared.arrays["kpi"][4] == 7.5


def test_workers_out_of_reach_send_their_rows_back() -> None:
    """On another machine, or with no file, attach() is None and receive() copies rows in."""
    with SharedArrays(4, {"kpi": ()}) as shared:
        elsewhere = pickle.loads(pickle.dumps(shared))
        elsewhere.host = "another-machine"
        assert elsewhere.attach() is None
        shared.receive("kpi", slice(2, 4), np.array([1.0, 2.0]))
        shared.receive("new", slice(0, 2), np.array([[3.0, 4.0]]))
        assert shared.arrays["kpi"].tolist() == [0, 0, 1, 2]
        assert shared.arrays["new"].tolist() == [[3, 4, 0, 0]]
    in_memory = SharedArrays(4, {"kpi": ()}, share_file=False)
    assert in_memory.path is None
    assert in_memory.attach() is in_memory.arrays  # in this process: the arrays themselves
    assert pickle.loads(pickle.dumps(in_memory)).attach() is None


# --------------------------------------------------------------------------- process state


def test_metric_scratch_is_reused_zeroed_and_never_shared_between_threads() -> None:
    """Scratch storage comes back zeroed in the same memory; another thread gets its own."""
    first = state().metric_scratch(["a", "b"], 4, 3, minimum_rows=10)
    first["a"][:] = 1.0
    second = state().metric_scratch(["a", "b"], 4, 5, minimum_rows=10)
    assert second["a"].shape == (4, 5) and not second["a"].any()
    assert np.shares_memory(first["a"], second["a"])
    other: dict[str, np.ndarray] = {}
    thread = threading.Thread(target=lambda: other.update(
        state().metric_scratch(["a", "b"], 4, 5, minimum_rows=10)))
    thread.start()
    thread.join()
    assert not np.shares_memory(other["a"], second["a"])


def test_the_executor_interface_is_abstract() -> None:
    """A backend must say how it maps tasks."""
    with pytest.raises(TypeError):
        Executor()  # type: ignore[abstract]
