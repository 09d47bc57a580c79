"""Ctrl-C stops a long calibration at once and says so (issue #17, item 6)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from calibration_helpers import ROOT


def _ctrl_c_default() -> None:
    """In the child: Ctrl-C's default action, even when this test runs with SIGINT ignored
    (as a background job of a shell does), which the child would otherwise inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _workers(pid: int) -> list[int]:
    """The pool workers whose parent is ``pid``: its child processes but multiprocessing's
    resource tracker (from /proc: Linux, as CI; a forked worker has its parent's command
    line, a spawned one ``--multiprocessing-fork``)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:  # the process ended while being read
            continue
        if int(fields[1]) == pid and b"resource_tracker" not in command:
            found.append(int(stat.parent.name))
    return found


def _wait_for_workers(process: subprocess.Popen[str], count: int) -> None:
    """Until ``count`` pool workers have been spawned. While it spawns them, the command ignores
    Ctrl-C for a few milliseconds (so that the workers inherit the ignored signal and never print
    a traceback while importing; sim/experiments/executors.py): a Ctrl-C in that window is not
    seen, as a second press would be. Under a loaded machine the test once hit the window."""
    deadline = time.monotonic() + 120
    while len(_workers(process.pid)) < count:
        assert process.poll() is None and time.monotonic() < deadline, "no workers started"
        time.sleep(0.01)
    time.sleep(0.2)  # the parent restores its Ctrl-C handler just after the last spawn


def test_ctrl_c_stops_a_calibration_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """SIGINT to the command's process group (as Ctrl-C in a terminal) during the first round
    of an ABC fit on two workers: exit 130, one line saying how many evaluations were done and
    that nothing was written, no traceback from the command or its workers, no folder."""
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "calibrate",
         str(ROOT / "calibration" / "uptake_fdac.toml"), "--budget", "small",
         "--workers", "2", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=_ctrl_c_default,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    for line in process.stdout:
        if line.lstrip().startswith("round 1/"):
            break
    else:
        raise AssertionError(process.communicate())
    _wait_for_workers(process, 2)
    os.killpg(process.pid, signal.SIGINT)
    stopped = time.monotonic()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert time.monotonic() - stopped < 30, "the workers' tasks were waited for"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert re.fullmatch(r"error: calibration uptake_fdac stopped by Ctrl-C after \d+ "
                        r"model evaluations \(\d+ s\); nothing written", lines[0]), lines[0]
    assert not out.exists() or list(out.iterdir()) == []
