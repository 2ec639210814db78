"""Every command ends a user's mistake with one line on stderr naming it, exit status 2,
and no traceback. Each call fails before doing any work, so the table stays fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNWRITABLE = "/proc/raft-ref-no-such-file"
A_FILE = "README.md"  # exists, and is not a directory

BAD_ARGUMENTS = [
    # (command, arguments, a word the error line must contain)
    ("checks.explore", ["--bogus"], "--bogus"),
    ("checks.explore", ["--nodes", "0"], "--nodes"),
    ("checks.explore", ["--nodes", "three"], "--nodes"),
    ("checks.explore", ["--depth", "-1"], "--depth"),
    ("checks.explore", ["--target", "paxos"], "--target"),
    ("checks.explore", ["--strategy", "astar"], "--strategy"),
    ("checks.explore", ["--walks", "5"], "--walks"),
    ("checks.explore", ["--workers", "0"], "--workers"),
    ("checks.explore", ["--strategy", "dfs", "--workers", "2"], "--workers"),
    ("checks.explore", ["--variant", "no_such_variant"], "--variant"),
    ("checks.explore", ["--max-term", "0"], "--max-term"),
    # Bounds under which nothing can happen are refused, not explored to a pass.
    ("checks.explore", ["--max-term", "1"], "max_term"),
    ("checks.explore", ["--max-msgs", "0"], "max_msgs"),
    ("checks.explore", ["--nodes", "5", "--max-msgs", "3"], "vote requests"),
    ("checks.explore", ["--nodes", "8"], "at most 8"),
    ("checks.explore", ["--changes", "teleport"], "--changes"),
    ("checks.explore", ["--leave-out-quirk", "none_such"], "--leave-out-quirk"),
    ("checks.explore", ["--out", A_FILE], "--out"),
    ("checks.explore", ["--json", UNWRITABLE], "--json"),
    ("checks.trace", [], "COMMAND"),
    ("checks.trace", ["draw"], "draw"),
    ("checks.trace", ["show"], "file"),
    ("checks.trace", ["show", "no/such/trace.itf.json"], "no such file"),
    ("checks.trace", ["replay", "traces"], "is a directory"),
    ("checks.trace", ["show", A_FILE], "malformed JSON"),
    ("checks.trace", ["render", "x.itf.json", "--format", "gif"], "--format"),
    ("checks.trace", ["render", "x.itf.json", "--max-states", "0"], "--max-states"),
    ("checks.conformance", [], "--impl"),
    ("checks.conformance", ["--impl", "paxos"], "--impl"),
    ("checks.conformance", ["--impl", "raft_ref", "--adapter", "x"], "--adapter"),
    ("checks.conformance", ["--adapter", ""], "--adapter"),
    ("checks.conformance", ["--impl", "raft_ref", "--random", "-1"], "--random"),
    ("checks.conformance", ["--impl", "raft_ref", "--timeout", "0"], "--timeout"),
    ("checks.conformance", ["--impl", "raft_ref", "--timeout", "nan"], "--timeout"),
    ("checks.conformance", ["--impl", "raft_ref", "--timeout", "inf"], "--timeout"),
    ("checks.conformance", ["--impl", "raft_ref", "--scenario", "no_such"], "no_such"),
    ("checks.conformance", ["--impl", "raft_ref", "--mode", "lax"], "--mode"),
    ("checks.conformance", ["--impl", "raft_ref", "--json", UNWRITABLE], "--json"),
    ("checks.conformance", ["--impl", "raft_ref", "--traces", A_FILE], "--traces"),
    ("checks.quorum", ["--bogus"], "--bogus"),
    ("checks.quorum", ["--max-ids", "2"], "--max-ids"),
    ("checks.quorum", ["--max-ids", "many"], "--max-ids"),
    ("checks.quorum", ["--jobs", "0"], "--jobs"),
    ("checks.quorum", ["--variant", "no_such_variant"], "--variant"),
    ("checks.quorum", ["--json", UNWRITABLE], "--json"),
    ("checks.quorum", ["--out", A_FILE], "--out"),
    ("checks.bench", ["no_such_benchmark"], "no_such_benchmark"),
]


@pytest.mark.parametrize(
    ("module", "args", "word"),
    BAD_ARGUMENTS,
    ids=[f"{m.split('.')[1]} {' '.join(a)}" for m, a, _ in BAD_ARGUMENTS],
)
def test_a_bad_argument_is_one_line_on_stderr_and_exit_status_2(
    module: str, args: list[str], word: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert word in lines[0]
    assert done.returncode == 2
