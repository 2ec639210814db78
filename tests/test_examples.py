"""The examples run to completion and report their proposals as committed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_example(module: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_single_mem_node_commits_its_proposals() -> None:
    out = run_example("examples.single_mem_node")
    assert "node 1 is leader" in out
    for request_id in (1, 2, 3):
        assert f"request {request_id} committed and applied, callback called" in out
    assert "all 3 proposals committed" in out


def test_five_mem_node_grows_the_cluster_and_commits_proposals() -> None:
    out = run_example("examples.five_mem_node")
    for node_id in (2, 3, 4, 5):
        assert f"applied AddNode {node_id}" in out
        assert f"node {node_id} starts" in out
    assert "a 5-node Raft cluster [1, 2, 3, 4, 5]" in out
    assert "100 of 100 proposals committed" in out
    # Every node, including those that joined late, applies up to the leader's log.
    applied = [line for line in out.splitlines() if "applied up to index" in line]
    assert len(applied) == 5
    assert len({line.split("index ")[1].split(",")[0] for line in applied}) == 1
    assert "Propose 100 proposals success!" in out
