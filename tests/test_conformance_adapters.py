"""The real adapters: raft-rs (strict) and etcd (protocol) on the corpus.

They run when the adapter binary is built and skip otherwise; building them is
slow (cargo: minutes) and marked so. CI builds them with the commands in
checks/conformance/README.md.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from checks.conformance.random_scenarios import random_scenario
from checks.conformance.runner import ETCD_BINARY, RAFT_RS_BINARY, run_scenarios
from checks.conformance.scenario import load_scenario
from checks.conformance.sessions import SubprocessSession

CORPUS = sorted(
    (Path(__file__).resolve().parents[1] / "checks/conformance/scenarios").glob("*.scn")
)


def _failures(binary: Path, mode: str, random_count: int) -> list[tuple[str, str, str]]:
    scenarios = [load_scenario(p) for p in CORPUS]
    scenarios += [random_scenario(11, n) for n in range(random_count)]
    summary = run_scenarios(scenarios, SubprocessSession([str(binary)], timeout=30), mode)
    assert summary.counts()["run"] == len(scenarios)
    return [(r.name, r.status, r.detail) for r in summary.results if r.status != "pass"]


@pytest.mark.skipif(not RAFT_RS_BINARY.exists(), reason="raft-rs adapter not built")
def test_raft_rs_matches_raft_ref_strictly_on_the_corpus() -> None:
    assert _failures(RAFT_RS_BINARY, "strict", random_count=20) == []


@pytest.mark.skipif(not ETCD_BINARY.exists(), reason="etcd adapter not built")
def test_etcd_keeps_raft_safety_on_the_corpus() -> None:
    assert _failures(ETCD_BINARY, "protocol", random_count=20) == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not installed")
def test_raft_rs_adapter_builds() -> None:
    project = RAFT_RS_BINARY.parents[2]
    subprocess.run(["cargo", "build", "--release", "--locked"], cwd=project, check=True)
    assert RAFT_RS_BINARY.exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("go") is None, reason="go not installed")
def test_etcd_adapter_builds() -> None:
    project = ETCD_BINARY.parent
    command = ["go", "build", "-mod=readonly", "-o", ETCD_BINARY.name, "."]
    subprocess.run(command, cwd=project, check=True)
    assert ETCD_BINARY.exists()
