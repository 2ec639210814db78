"""Adapters that misbehave at the level of pipes and processes end their scenario with a
named error, within the per-command deadline, and leave no process behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checks.conformance.runner import run_scenarios
from checks.conformance.scenario import parse_scenario
from checks.conformance.sessions import SubprocessSession

ROOT = Path(__file__).resolve().parents[1]

# Answers hello and reset like a real adapter, then does FAULT instead of answering.
FAKE = """\
import json, os, sys, time
for line in sys.stdin:
    request = json.loads(line)
    if request["cmd"] == "hello":
        answer = {"ok": True, "version": 1, "name": "fake"}
    elif request["cmd"] == "reset":
        answer = {"ok": True}
    else:
        FAULT
    sys.stdout.write(json.dumps(answer) + "\\n")
    sys.stdout.flush()
"""
FAULTS = {
    "closes_stdout_and_stays": "os.close(1); time.sleep(600)",
    "trickles_forever": 'while True: os.write(1, b" "); time.sleep(0.05)',
    "floods_without_newline": 'while True: os.write(1, b"x" * 65536)',
    "floods_stderr": 'while True: os.write(2, b"log line\\n" * 8192)',
    "hangs": "time.sleep(600)",
}
ONE_NODE = "cluster voters=1\n"


def _fake(tmp_path: Path, fault: str) -> Path:
    path = tmp_path / f"{fault}.py"
    path.write_text(FAKE.replace("FAULT", FAULTS[fault]))
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "checks.conformance", *args]
    # The timeout only keeps a regression from hanging the suite.
    return subprocess.run(
        command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            "closes_stdout_and_stays",
            "adapter crashed: adapter closed its output but kept running (killed) during 'create'",
        ),
        ("trickles_forever", "adapter timeout: no answer to 'create' within 1 s"),
    ],
)
def test_a_silent_or_trickling_adapter_ends_within_the_command_deadline(
    tmp_path: Path, fault: str, message: str
) -> None:
    scenario = tmp_path / "one.scn"
    scenario.write_text(ONE_NODE)
    adapter = f"{sys.executable} {_fake(tmp_path, fault)}"
    traces = str(tmp_path / "traces")
    done = _cli(
        "--adapter", adapter, "--scenario", str(scenario), "--timeout", "1", "--traces", traces
    )
    assert done.returncode == 1
    assert f"error     one: {message}" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            "floods_without_newline",
            "adapter oversized: answer to 'create' is longer than the cap of 1 MiB "
            "on one answer line",
        ),
        (
            "floods_stderr",
            "adapter oversized: wrote more than the cap of 1 MiB on stderr while "
            "answering 'create'",
        ),
    ],
)
def test_answers_and_stderr_above_their_caps_are_refused(
    tmp_path: Path, fault: str, message: str
) -> None:
    session = SubprocessSession(
        [sys.executable, str(_fake(tmp_path, fault))],
        timeout=60,
        max_answer_bytes=1 << 20,
        max_stderr_bytes=1 << 20,
    )
    (result,) = run_scenarios([parse_scenario("one", ONE_NODE)], session, "strict").results
    assert (result.status, result.detail) == ("error", message)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_an_adapter_behind_a_shell_script_is_killed_as_a_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "adapter.pid"
    fake = _fake(tmp_path, "hangs")
    fake.write_text(
        f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        + FAKE.replace("FAULT", FAULTS["hangs"])
    )
    script = tmp_path / "adapter.sh"
    # Not `exec`: the adapter is the shell's child, as in a wrapper script.
    script.write_text(f"#!/bin/sh\n{sys.executable} {fake}\n")
    script.chmod(0o755)
    session = SubprocessSession([str(script)], timeout=0.5)
    (result,) = run_scenarios([parse_scenario("one", ONE_NODE)], session, "strict").results
    assert result.detail == "adapter timeout: no answer to 'create' within 0.5 s"
    pid = int(pid_file.read_text())
    # SIGKILL has been sent to the group; give the kernel a moment to deliver it.
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.05)
    still_alive = _alive(pid)
    if still_alive:
        os.kill(pid, 9)
    assert not still_alive


@pytest.mark.parametrize("command", ["", "   ", "'unbalanced"])
def test_an_empty_or_unsplittable_adapter_command_is_a_usage_error(command: str) -> None:
    done = _cli("--adapter", command, "--scenario", "election_basic")
    assert done.returncode == 2
    assert done.stderr.startswith("python -m checks.conformance: error: --adapter")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
