"""Stopping the explorer early: SIGINT, SIGTERM, a killed parent, and --max-memory.

Each test starts `python -m checks.explore` in its own session (so its process group is
its own), waits for a progress line on stderr (the search is running, with its workers
started), sends the signal, and checks what a user gets: the exit status, the partial
summary, the JSON marked interrupted, no traceback, and no process of the run left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Deep enough that no run ends by itself while the test waits.
LONG_RUN = ["--target", "model", "--depth", "40", "--progress-every", "0.2"]
GONE_WITHIN = 5.0  # seconds the kernel may take to reap processes after their parent
WATCHDOG_SECONDS = 120.0  # a run still alive then is killed: the test fails, not hangs


def start(tmp_path: Path, *argv: str) -> subprocess.Popen[str]:
    """The explorer in a session of its own, killed with its group if a test hangs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "checks.explore", *LONG_RUN, *argv, "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    watchdog = threading.Timer(WATCHDOG_SECONDS, _kill_group, (process.pid,))
    watchdog.daemon = True
    watchdog.start()
    return process


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def wait_for_progress(process: subprocess.Popen[str]) -> list[str]:
    """Stderr lines up to the first progress line (the search has started)."""
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if "states/s" in line:
            return lines
    raise AssertionError(f"no progress line; stderr: {''.join(lines)}")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until_gone(pgid: int) -> bool:
    deadline = time.monotonic() + GONE_WITHIN
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


CASES = [
    ("bfs-1", ["--workers", "1"], 1),
    ("bfs-2", ["--workers", "2"], 2),
    ("dfs", ["--strategy", "dfs"], 1),
    ("random-1", ["--strategy", "random", "--walks", "1000000", "--workers", "1"], 1),
    ("random-2", ["--strategy", "random", "--walks", "1000000", "--workers", "2"], 2),
]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(("name", "argv", "processes"), CASES, ids=[c[0] for c in CASES])
def test_a_signal_stops_the_run_with_a_partial_summary_and_no_process_left(
    tmp_path: Path, signum: int, name: str, argv: list[str], processes: int
):
    summary = tmp_path / "summary.json"
    process = start(tmp_path, *argv, "--json", str(summary))
    try:
        before = wait_for_progress(process)
        workers = children(process.pid)
        assert len(workers) == (processes if processes > 1 else 0)
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 128 + signum
    assert "Traceback" not in "".join(before) + err
    assert f"interrupted by {signal.Signals(signum).name}: partial summary follows" in err
    assert "INTERRUPTED: partial figures" in out
    assert "distinct states" in out and "goals (depth first reached)" in out
    document = json.loads(summary.read_text())
    assert document["interrupted"] is True and document["complete"] is False
    assert document["distinct_states"] > 0
    assert set(document["invariants"].values()) == {"holds"}
    assert wait_until_gone(process.pid), "a process of the run outlived it"
    for worker in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(worker, 0)


@pytest.mark.parametrize("argv", [CASES[1][1], CASES[4][1]], ids=["bfs-2", "random-2"])
def test_ctrl_c_at_a_terminal_reaches_every_worker_and_prints_no_traceback(
    tmp_path: Path, argv: list[str]
):
    # A terminal sends Ctrl-C's SIGINT to the whole foreground process group.
    summary = tmp_path / "summary.json"
    process = start(tmp_path, *argv, "--json", str(summary))
    try:
        wait_for_progress(process)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert "INTERRUPTED: partial figures" in out
    assert json.loads(summary.read_text())["interrupted"] is True
    assert wait_until_gone(process.pid)


def test_workers_die_with_a_killed_parent(tmp_path: Path):
    process = start(tmp_path, "--workers", "2")
    try:
        wait_for_progress(process)
        workers = children(process.pid)
        assert len(workers) == 2
        process.send_signal(signal.SIGKILL)  # no handler runs: the kernel ends the workers
        process.communicate(timeout=30)
        assert wait_until_gone(process.pid), "a worker outlived its killed parent"
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)


def explore_json(tmp_path: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    summary = tmp_path / "summary.json"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "checks.explore", *argv),
            *("--json", str(summary), "--out", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, json.loads(summary.read_text())


# Above what the run needs to start (measured by a run of depth 0), a margin a deep
# model search fills in a few seconds; workers' memory counts too.
MARGIN_MIB = 12


@pytest.mark.parametrize("workers", ["1", "2"])
def test_max_memory_stops_before_the_limit_with_a_partial_summary(tmp_path: Path, workers: str):
    _, start_up = explore_json(tmp_path, "--target", "model", "--depth", "0", "--workers", workers)
    mib = start_up["peak_rss_bytes"] // 2**20 + MARGIN_MIB
    limit = mib * 2**20
    result, document = explore_json(
        tmp_path, *LONG_RUN, "--workers", workers, "--max-memory", f"{mib}M"
    )
    assert result.returncode == 3, result.stderr
    assert f"stopped before the memory limit ({mib} MiB)" in result.stderr
    assert "MEMORY LIMIT: partial figures" in result.stdout
    assert "Traceback" not in result.stderr
    assert document["stopped"] == "memory limit" and document["interrupted"] is False
    assert document["distinct_states"] > start_up["distinct_states"]
    assert start_up["peak_rss_bytes"] < document["peak_rss_bytes"] < limit
    assert document["peak_rss_per_state"] > 0


def test_a_second_signal_stops_at_once(tmp_path: Path):
    process = start(tmp_path, "--workers", "2")
    try:
        wait_for_progress(process)
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert wait_until_gone(process.pid)
