"""Stopping the explorer early: SIGINT, SIGTERM, a killed parent, and --max-memory.

Each test starts `python -m checks.explore` in its own session (so its process group is
its own), waits for a progress line on stderr (the search is running, with its workers
started), sends the signal, and checks what a user gets: the exit status, the partial
summary, the JSON marked interrupted, no traceback, and no process of the run left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Deep enough that no run ends by itself while the test waits.
LONG_RUN = ["--target", "model", "--depth", "40", "--progress-every", "0.2"]
GONE_WITHIN = 5.0  # seconds the kernel may take to reap processes after their parent


def start(tmp_path: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "checks.explore", *LONG_RUN, *argv, "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


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


# Limits a deep model search reaches in a few seconds (workers' memory counts too).
@pytest.mark.parametrize(("workers", "mib"), [("1", 56), ("2", 100)])
def test_max_memory_stops_before_the_limit_with_a_partial_summary(
    tmp_path: Path, workers: str, mib: int
):
    summary = tmp_path / "summary.json"
    limit = mib * 2**20
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "checks.explore",
            *LONG_RUN,
            "--workers",
            workers,
            "--max-memory",
            f"{mib}M",
            "--json",
            str(summary),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert f"stopped before the memory limit ({mib} MiB)" in result.stderr
    assert "MEMORY LIMIT: partial figures" in result.stdout
    assert "Traceback" not in result.stderr
    document = json.loads(summary.read_text())
    assert document["stopped"] == "memory limit" and document["interrupted"] is False
    assert 0 < document["peak_rss_bytes"] < limit
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
