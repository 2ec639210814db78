"""The runner: raft_ref in-process and as a subprocess agree; failures are reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from checks.conformance.driver import PropertyViolation
from checks.conformance.random_scenarios import random_scenario
from checks.conformance.runner import run_scenarios
from checks.conformance.safety import SafetyChecker, observation_from_state
from checks.conformance.scenario import Step, load_scenario, parse_scenario
from checks.conformance.sessions import InProcessSession, SubprocessSession
from model.invariants import INVARIANTS

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted((ROOT / "checks" / "conformance" / "scenarios").glob("*.scn"))
SUBPROCESS = [sys.executable, "-m", "checks.conformance.adapters.raft_ref_adapter"]


def test_corpus_covers_the_promised_topics() -> None:
    names = " ".join(p.stem for p in CORPUS)
    for topic in ("election", "prevote", "check_quorum", "replication_rejection",
                  "flow_control", "snapshot", "read_index_safe", "read_index_lease",
                  "leader_transfer", "learners", "joint_consensus"):  # fmt: skip
        assert topic in names


def test_corpus_passes_in_process_with_its_expectations() -> None:
    summary = run_scenarios([load_scenario(p) for p in CORPUS], InProcessSession(), "strict")
    assert [(r.name, r.status, r.detail) for r in summary.results if r.status != "pass"] == []
    assert summary.counts()["run"] == len(CORPUS)


ETCD_DERIVED = sorted((ROOT / "checks" / "conformance" / "scenarios" / "etcd").glob("*.scn"))


def test_etcd_derived_scenarios_pass_in_process_with_their_expectations() -> None:
    summary = run_scenarios([load_scenario(p) for p in ETCD_DERIVED], InProcessSession(), "strict")
    assert [(r.name, r.status, r.detail) for r in summary.results if r.status != "pass"] == []
    assert summary.counts()["run"] == len(ETCD_DERIVED) >= 17


def test_each_etcd_derived_scenario_names_its_etcd_file() -> None:
    for path in ETCD_DERIVED:
        first_line = path.read_text(encoding="utf-8").splitlines()[0]
        assert first_line.startswith(f"# etcd-io/raft testdata/{path.stem}.txt:"), path.name


def test_subprocess_adapter_matches_in_process_on_corpus_and_random() -> None:
    scenarios = [load_scenario(p) for p in CORPUS]
    scenarios += [random_scenario(7, n, steps=40) for n in range(4)]
    session = SubprocessSession(SUBPROCESS, timeout=30, cwd=str(ROOT))
    summary = run_scenarios(scenarios, session, "strict")
    assert summary.implementation == "raft_ref"
    assert [(r.name, r.status, r.detail) for r in summary.results if r.status != "pass"] == []


def test_a_failed_expectation_is_reported_with_its_line() -> None:
    scenario = parse_scenario("wrong", "cluster\ncampaign 1\nstabilize\nexpect 1 term=9\n")
    summary = run_scenarios([scenario], InProcessSession(), "strict")
    (result,) = summary.results
    assert result.status == "failed"
    assert "line 4" in result.detail and "term is 2" in result.detail


def test_protocol_mode_skips_expectations_and_checks_safety() -> None:
    scenario = parse_scenario("p", "cluster\ncampaign 1\nstabilize\nexpect 1 term=9\n")
    summary = run_scenarios([scenario], InProcessSession(), "protocol")
    assert summary.results[0].status == "pass"


def test_a_pass_says_which_nodes_panicked() -> None:
    # QUIRKS.md 6: the leader that finalizes a learner's promotion panics.
    text = (
        "cluster voters=1,2,3 learners=4\ncampaign 1\nstabilize\n"
        "membership 1 voters=1,2,3,4\nstabilize\n"
    )
    summary = run_scenarios([parse_scenario("promote", text)], InProcessSession(), "protocol")
    (result,) = summary.results
    assert (result.status, result.panicked) == ("pass", (1,))
    assert summary.counts()["panicked"] == 1


def test_random_scenarios_are_reproducible() -> None:
    assert random_scenario(3, 5).text() == random_scenario(3, 5).text()
    assert random_scenario(3, 5).text() != random_scenario(3, 6).text()


def _state(role: str, term: int, commit: int, terms: list[int], vote: int = 0) -> dict[str, object]:
    return {
        "role": role,
        "term": term,
        "vote": vote,
        "commit": commit,
        "first_index": 2,
        "log_terms": terms,
    }


STEP = Step("tick", ("1",), {}, 1)


def test_safety_checker_accepts_a_consistent_history() -> None:
    check = SafetyChecker()
    check(STEP, {1: _state("Leader", 2, 3, [2, 2]), 2: _state("Follower", 2, 2, [2])})
    check(STEP, {1: _state("Leader", 2, 3, [2, 2]), 2: _state("Follower", 2, 3, [2, 2])})


def test_a_restarted_node_goes_on_from_what_it_persisted() -> None:
    """A crash loses what a node had not persisted (never sent to anyone): its commit
    may go back to the persisted one, and no further."""
    check = SafetyChecker()
    check(STEP, {1: _state("Leader", 2, 3, [2, 2])})
    check.restarted(1, observation_from_state(_state("Follower", 2, 2, [2, 2])))
    check(STEP, {1: _state("Follower", 2, 2, [2, 2])})
    check.restarted(1, observation_from_state(_state("Follower", 2, 2, [2, 2])))
    with pytest.raises(PropertyViolation, match="commit"):
        check(STEP, {1: _state("Follower", 2, 1, [2, 2])})


@pytest.mark.parametrize(
    ("before", "after", "rule"),
    [
        ({}, {1: _state("Leader", 2, 2, [2]), 2: _state("Leader", 2, 2, [2])}, "election safety"),
        ({1: _state("Follower", 3, 2, [2])}, {1: _state("Follower", 2, 2, [2])}, "term went"),
        ({1: _state("Follower", 2, 3, [2, 2])}, {1: _state("Follower", 2, 2, [2, 2])}, "commit"),
        (
            {1: _state("Follower", 2, 2, [2], vote=1)},
            {1: _state("Follower", 2, 2, [2], vote=2)},
            "voted",
        ),
        (
            {},
            {1: _state("Follower", 3, 2, [2, 3]), 2: _state("Follower", 3, 2, [1, 3])},
            "log matching",
        ),
        (
            {1: _state("Follower", 3, 3, [2, 2])},
            {2: _state("Follower", 3, 3, [2, 3])},
            "state machine safety",
        ),
    ],
)
def test_safety_checker_catches_each_violation(
    before: dict[int, dict[str, object]], after: dict[int, dict[str, object]], rule: str
) -> None:
    check = SafetyChecker()
    check(STEP, before)
    with pytest.raises(PropertyViolation, match=rule):
        check(STEP, after)


@pytest.mark.parametrize(
    ("after", "rule"),
    [
        ({1: _state("Leader", 2, 2, [2]), 2: _state("Leader", 2, 2, [2])}, "ElectionSafety"),
        ({1: _state("Follower", 3, 2, [2, 3]), 2: _state("Follower", 3, 2, [1, 3])}, "LogMatching"),
        (
            {1: _state("Follower", 3, 3, [2, 2]), 2: _state("Follower", 3, 3, [2, 3])},
            "StateMachineSafety",
        ),
    ],
)
def test_safety_checker_failures_name_the_models_invariant(
    after: dict[int, dict[str, object]], rule: str
) -> None:
    assert rule in INVARIANTS
    with pytest.raises(PropertyViolation, match=rf"{rule}, "):
        SafetyChecker()(STEP, after)


def test_safety_checker_remembers_compacted_committed_entries() -> None:
    # Node 1 commits term 2 at index 3, then compacts it away; node 2 later commits a
    # term-3 entry there.
    check = SafetyChecker()
    check(STEP, {1: _state("Leader", 2, 3, [2, 2])})
    compacted = {**_state("Leader", 2, 3, []), "first_index": 4}
    with pytest.raises(PropertyViolation, match="StateMachineSafety"):
        check(STEP, {1: compacted, 2: _state("Follower", 3, 3, [2, 3])})
