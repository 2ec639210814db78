"""The real adapters: raft-rs 0.6 (strict, and protocol with the model check), raft-rs
0.7 and etcd (protocol) on the corpus.

They run when the adapter binary is built and skip otherwise; building them is
slow (cargo: minutes) and marked so. CI builds them with the commands in
checks/conformance/README.md.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from checks.conformance.itf_trace import RunSpec
from checks.conformance.protocol import PROTOCOL_VERSION, message_route, message_type
from checks.conformance.random_scenarios import random_scenario
from checks.conformance.runner import (
    ETCD_BINARY,
    RAFT_RS_07_BINARY,
    RAFT_RS_BINARY,
    run_scenarios,
)
from checks.conformance.scenario import load_scenario
from checks.conformance.sessions import SubprocessSession
from raft_ref.eraftpb import MessageType

CORPUS = sorted(
    (Path(__file__).resolve().parents[1] / "checks/conformance/scenarios").glob("*.scn")
)


ETCD_DERIVED = sorted(CORPUS[0].parent.joinpath("etcd").glob("*.scn"))


def _failures(binary: Path, mode: str, random_count: int) -> list[tuple[str, str, str]]:
    scenarios = [load_scenario(p) for p in CORPUS + ETCD_DERIVED]
    scenarios += [random_scenario(11, n) for n in range(random_count)]
    summary = run_scenarios(scenarios, SubprocessSession([str(binary)], timeout=30), mode)
    assert summary.counts()["run"] == len(scenarios)
    return [(r.name, r.status, r.detail) for r in summary.results if r.status != "pass"]


@pytest.mark.skipif(not RAFT_RS_BINARY.exists(), reason="raft-rs adapter not built")
def test_raft_rs_matches_raft_ref_strictly_on_the_corpus() -> None:
    assert _failures(RAFT_RS_BINARY, "strict", random_count=20) == []


@pytest.mark.skipif(not RAFT_RS_BINARY.exists(), reason="raft-rs adapter not built")
def test_raft_rs_deliveries_refine_the_model_on_the_corpus() -> None:
    scenarios = [load_scenario(p) for p in CORPUS + ETCD_DERIVED]
    scenarios += [random_scenario(11, n) for n in range(20)]
    spec = RunSpec(None, str(RAFT_RS_BINARY), "protocol", model_check=True)
    session = SubprocessSession([str(RAFT_RS_BINARY)], timeout=30)
    summary = run_scenarios(scenarios, session, "protocol", spec=spec)
    assert [(r.name, r.detail) for r in summary.results if r.status != "pass"] == []
    deliveries = summary.deliveries()
    assert deliveries is not None and deliveries.checked > 1000


@pytest.mark.skipif(not RAFT_RS_07_BINARY.exists(), reason="raft-rs 0.7 adapter not built")
def test_raft_rs_07_hints_rejections_by_conflicting_term_unlike_the_model() -> None:
    # raft 0.7 (as etcd) answers a rejected append with the last index up to the
    # append's previous one whose term is at most the previous term (fast backtracking);
    # raft 0.6 and the model with the follower's last index.
    scenario = load_scenario(ETCD_DERIVED[0].parent / "probe_and_replicate.scn")
    spec = RunSpec(None, str(RAFT_RS_07_BINARY), "protocol", model_check=True)
    session = SubprocessSession([str(RAFT_RS_07_BINARY)], timeout=30)
    (result,) = run_scenarios([scenario], session, "protocol", spec=spec).results
    assert (result.status, result.failure) == ("failed", "refines-model")
    assert "sending [AppendEntriesResponse 5->1 term 9 reject 11 hint 9]" in result.detail
    assert result.detail.endswith("sending [AppendEntriesResponse 5->1 term 9 reject 11 hint 13]")


@pytest.mark.skipif(not ETCD_BINARY.exists(), reason="etcd adapter not built")
def test_etcd_keeps_raft_safety_on_the_corpus() -> None:
    assert _failures(ETCD_BINARY, "protocol", random_count=20) == []


@pytest.mark.skipif(not RAFT_RS_07_BINARY.exists(), reason="raft-rs 0.7 adapter not built")
def test_raft_rs_07_keeps_raft_safety_on_the_corpus() -> None:
    assert _failures(RAFT_RS_07_BINARY, "protocol", random_count=20) == []


@pytest.mark.skipif(not ETCD_BINARY.exists(), reason="etcd adapter not built")
def test_etcd_meets_the_expectations_of_its_own_interaction_tests() -> None:
    scenarios = [load_scenario(p) for p in ETCD_DERIVED]
    session = SubprocessSession([str(ETCD_BINARY)], timeout=30)
    summary = run_scenarios(scenarios, session, "protocol", check_expectations=True)
    assert [(r.name, r.detail) for r in summary.results if r.status != "pass"] == []


REAL_ADAPTERS = [
    pytest.param(
        binary, id=binary.name, marks=pytest.mark.skipif(not binary.exists(), reason="not built")
    )
    for binary in (RAFT_RS_BINARY, RAFT_RS_07_BINARY, ETCD_BINARY)
]


@pytest.mark.parametrize("binary", REAL_ADAPTERS)
@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({"election_tick": -1}, "BadRequest"),
        ({"heartbeat_tick": 1.5}, "BadRequest"),
        ({"max_inflight_msgs": 1e30}, "BadRequest"),
        ({"read_only": "Lease"}, "BadRequest"),
        ({"pre_vote": "yes"}, "BadRequest"),
        ({"heartbeat_tick": 0}, "ConfigInvalid"),
        ({"election_tick": 2, "heartbeat_tick": 3}, "ConfigInvalid"),
    ],
)
def test_adapters_report_configuration_errors(
    binary: Path, config: dict[str, object], kind: str
) -> None:
    session = SubprocessSession([str(binary)], timeout=30)
    session.start()
    try:
        answer = session.request({"cmd": "create", "node": 1, "voters": [1], "config": config})
        assert (answer["ok"], answer["error"]) == (False, kind)
        # The adapter lives on, and no half-made node is left behind.
        created = session.request({"cmd": "create", "node": 1, "voters": [1], "config": {}})
        assert created["ok"] is True
        assert session.request({"cmd": "hello", "version": PROTOCOL_VERSION})["ok"] is True
    finally:
        session.close()


@pytest.mark.parametrize("binary", REAL_ADAPTERS)
def test_adapters_answer_the_commands_etcds_tests_need(binary: Path) -> None:
    session = SubprocessSession([str(binary)], timeout=30)
    session.start()
    try:
        config = {"election_tick": 10, "election_timeout": 12}
        create = {"cmd": "create", "voters": [1], "config": config, "index": 5}
        assert session.request({**create, "node": 1})["ok"] is True
        assert session.request({"cmd": "campaign", "node": 1})["ok"] is True
        while True:
            answer = session.request({"cmd": "ready", "node": 1})
            assert answer["ok"] is True, answer
            if answer["ready"] is None:
                break
        state = session.request({"cmd": "state", "node": 1})["state"]
        assert (state["role"], state["first_index"], state["last_index"]) == ("Leader", 6, 6)
        assert state["progress"]["1"]["match"] == 6
        answer = session.request({"cmd": "snapshot_message", "node": 1, "to": 2})
        assert message_type(answer["message"]) == MessageType.MsgSnapshot
        assert message_route(answer["message"]) == (1, 2)
        timeout = session.request({"cmd": "set_election_timeout", "node": 1, "timeout": 20})
        assert timeout["ok"] is True or timeout["error"] == "Unsupported"
    finally:
        session.close()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not installed")
def test_raft_rs_07_adapter_builds() -> None:
    project = RAFT_RS_07_BINARY.parents[2]
    subprocess.run(["cargo", "build", "--release", "--locked"], cwd=project, check=True)
    assert RAFT_RS_07_BINARY.exists()


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
