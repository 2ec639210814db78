"""No result is lost at a command's edges: unwritable outputs, a closed stdout, and
SIGINT/SIGTERM end with one line, the right exit status and what was found so far."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNWRITABLE = "/proc/raft-ref-no-such-file"  # /proc takes no new files, even from root
VIOLATION = ["--target", "model", "--variant", "small_majority", "--no-progress"]
NO_VIOLATION = ["--target", "model", "--depth", "3", "--no-progress"]

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux's /proc")


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", module, *args]
    return subprocess.run(
        command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def _one_error_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for word in words:
        assert word in lines[0]


def _blocked_dir(tmp_path: Path) -> Path:
    """A directory path that cannot be created: its parent is a file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "dir"


# --- unwritable outputs --------------------------------------------------------------


def test_explore_reports_the_violation_before_failing_to_write_it(tmp_path: Path) -> None:
    out = _blocked_dir(tmp_path)
    done = _run("checks.explore", *VIOLATION, "--out", str(out))
    assert done.returncode == 2
    assert "VIOLATED: ElectionSafety" in done.stdout
    _one_error_line(done, "cannot write the counterexample", str(out))


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("checks.explore", [*NO_VIOLATION, "--json", UNWRITABLE]),
        ("checks.conformance", ["--impl", "raft_ref", "--json", UNWRITABLE]),
        ("checks.quorum", ["--json", UNWRITABLE]),
    ],
)
def test_an_unwritable_json_path_is_refused_before_the_run(module: str, args: list[str]) -> None:
    done = _run(module, *args)
    assert done.returncode == 2
    assert done.stdout == ""  # nothing ran
    _one_error_line(done, "--json", UNWRITABLE)


@pytest.mark.parametrize(
    ("module", "flag", "args"),
    [
        ("checks.conformance", "--traces", ["--impl", "raft_ref"]),
        ("checks.quorum", "--out", []),
    ],
)
def test_an_unusable_output_directory_is_refused_before_the_run(
    tmp_path: Path, module: str, flag: str, args: list[str]
) -> None:
    out = _blocked_dir(tmp_path)
    done = _run(module, *args, flag, str(out))
    assert done.returncode == 2
    assert done.stdout == ""
    _one_error_line(done, flag, str(out))


# --- a closed stdout -------------------------------------------------------------


def _with_stdout_closed(module: str, *args: str) -> tuple[int, subprocess.Popen[str]]:
    """Runs the command as `... | head -0` would: its reader is gone before it writes
    (the pipe buffer would otherwise hide the closing from short outputs)."""
    command = [sys.executable, "-m", module, *args]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.close()
    return process.wait(timeout=300), process


@pytest.mark.parametrize(
    ("module", "args", "status"),
    [
        ("checks.explore", VIOLATION, 1),
        ("checks.explore", NO_VIOLATION, 0),
        ("checks.conformance", ["--impl", "raft_ref", "--scenario", "election_basic"], 0),
    ],
)
def test_a_closed_stdout_changes_neither_the_verdict_nor_the_json(
    tmp_path: Path, module: str, args: list[str], status: int
) -> None:
    summary = tmp_path / "summary.json"
    flag = "--out" if module == "checks.explore" else "--traces"
    extra = [flag, str(tmp_path)]
    code, process = _with_stdout_closed(module, *args, *extra, "--json", str(summary))
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()
    assert code == status
    assert json.loads(summary.read_text())


def test_trace_show_into_a_closed_stdout_ends_quietly() -> None:
    walk = "traces/examples/model-vote_without_log_check-LeaderCompleteness.walk.itf.json"
    code, process = _with_stdout_closed("checks.trace", "show", walk)
    assert process.stderr is not None
    assert process.stderr.read() == ""
    assert code == 0


# --- SIGINT and SIGTERM ----------------------------------------------------------


def _interrupted(signum: int, lines: int, module: str, *args: str) -> tuple[int, str, str]:
    """Sends `signum` once the command has printed `lines` lines (it is running)."""
    command = [sys.executable, "-m", module, *args]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stderr is not None
    first = "".join(process.stdout.readline() for _ in range(lines))
    process.send_signal(signum)
    out, err = process.communicate(timeout=300)
    return process.returncode, first + out, err


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_conformance_interrupted_summarizes_the_scenarios_run(
    tmp_path: Path, signum: int, status: int
) -> None:
    summary = tmp_path / "summary.json"
    args = ["--impl", "raft_ref", "--no-corpus", "--random", "100000", "--json", str(summary)]
    args += ["--traces", str(tmp_path)]
    code, out, err = _interrupted(signum, 2, "checks.conformance", *args)
    assert code == status
    assert "Traceback" not in err
    assert (
        err.strip() == f"python -m checks.conformance: interrupted by {signal.Signals(signum).name}"
    )
    assert out.strip().splitlines()[-1].endswith("(interrupted)")
    document = json.loads(summary.read_text())
    assert document["interrupted"] is True
    assert 2 <= document["counts"]["run"] < 100000


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_quorum_interrupted_summarizes_the_properties_decided(
    tmp_path: Path, signum: int, status: int
) -> None:
    summary = tmp_path / "summary.json"
    args = ["--json", str(summary), "--out", str(tmp_path)]
    code, out, err = _interrupted(signum, 1, "checks.quorum", *args)
    assert code == status
    assert "Traceback" not in err
    assert err.strip() == f"python -m checks.quorum: interrupted by {signal.Signals(signum).name}"
    assert "properties decided" in out.strip().splitlines()[-1]
    assert json.loads(summary.read_text())["interrupted"] is True


def _workers_of(pid: int) -> list[int]:
    """The multiprocessing workers among `pid`'s children (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = []
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(child)
    return workers


def test_quorum_reports_a_worker_that_died_in_one_line(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "checks.quorum", "--out", str(tmp_path)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.readline()
    workers: list[int] = []
    while not workers and process.poll() is None:
        time.sleep(0.01)
        workers = _workers_of(process.pid)
    os.kill(workers[0], signal.SIGKILL)  # as the kernel's out-of-memory killer would
    out, err = process.communicate(timeout=300)
    assert process.returncode == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "a worker process died" in lines[0]
    assert "properties" in out.strip().splitlines()[-1]
