"""Scenarios that reproduce a known safety bug: `expect-violation` headers, the
snapshot-label scenario (raft-rs #408) and raft_ref's option that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.conformance.raft_ref_host import RaftRefHost
from checks.conformance.runner import RAFT_RS_BINARY, ScenarioResult, judge, run_scenarios
from checks.conformance.scenario import (
    ExpectedViolation,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from checks.conformance.sessions import InProcessSession, Session, SubprocessSession

CORPUS = Path(__file__).resolve().parents[1] / "checks" / "conformance" / "scenarios"
SNAPSHOT_LABEL = CORPUS / "snapshot_label_term.scn"
STALE_FINALIZE = CORPUS / "joint_consensus_stale_finalize.scn"


def _result(scenario: Scenario, session: Session, mode: str) -> ScenarioResult:
    (result,) = run_scenarios([scenario], session, mode).results
    return result


@pytest.mark.parametrize("mode", ["strict", "protocol"])
def test_snapshot_label_scenario_loses_a_committed_entry_on_raft_ref(mode: str) -> None:
    result = _result(load_scenario(SNAPSHOT_LABEL), InProcessSession(), mode)
    assert (result.status, result.known_violation, result.failure) == (
        "pass",
        True,
        "state-machine-safety",
    )
    assert "index 4 committed with term 4, node 3 committed term 7" in result.detail


@pytest.mark.skipif(not RAFT_RS_BINARY.exists(), reason="raft-rs adapter not built")
@pytest.mark.parametrize("mode", ["strict", "protocol"])
def test_snapshot_label_scenario_loses_a_committed_entry_on_the_raft_crate(mode: str) -> None:
    session = SubprocessSession([str(RAFT_RS_BINARY)], timeout=30)
    result = _result(load_scenario(SNAPSHOT_LABEL), session, mode)
    assert (result.status, result.known_violation, result.failure) == (
        "pass",
        True,
        "state-machine-safety",
    )


def test_snapshot_label_scenario_keeps_safety_with_snapshots_labelled_by_their_entry() -> None:
    session = InProcessSession(RaftRefHost(snapshot_term_of_entry=True))
    result = _result(load_scenario(SNAPSHOT_LABEL), session, "protocol")
    assert session.name == "raft_ref+snapshot-term-of-entry"
    assert (result.status, result.known_violation, result.detail) == ("pass", False, "")


@pytest.mark.parametrize("mode", ["strict", "protocol"])
@pytest.mark.parametrize("fixed", [False, True], ids=["as-is", "snapshot-term-of-entry"])
def test_a_stale_finalize_loses_a_committed_entry_on_raft_ref(mode: str, fixed: bool) -> None:
    # QUIRKS.md 5; the fix of #408 does not help.
    session = InProcessSession(RaftRefHost(snapshot_term_of_entry=fixed))
    result = _result(load_scenario(STALE_FINALIZE), session, mode)
    assert (result.status, result.known_violation, result.failure) == (
        "pass",
        True,
        "state-machine-safety",
    )
    assert "index 13 committed with term 3, node 1 committed term 5" in result.detail


@pytest.mark.skipif(not RAFT_RS_BINARY.exists(), reason="raft-rs adapter not built")
def test_a_stale_finalize_loses_a_committed_entry_on_the_raft_crate() -> None:
    session = SubprocessSession([str(RAFT_RS_BINARY)], timeout=30)
    result = _result(load_scenario(STALE_FINALIZE), session, "strict")
    assert (result.status, result.known_violation) == ("pass", True)


def test_the_header_is_ignored_on_implementations_it_does_not_name() -> None:
    text = SNAPSHOT_LABEL.read_text().replace('on="raft_ref,', 'on="someone-else,')
    result = _result(parse_scenario("other", text), InProcessSession(), "protocol")
    assert (result.status, result.failure) == ("failed", "state-machine-safety")


def test_an_expected_violation_that_does_not_happen_fails_the_scenario() -> None:
    text = "expect-violation log-matching on=raft_ref\ncluster\ncampaign 1\nstabilize\n"
    result = _result(parse_scenario("quiet", text), InProcessSession(), "protocol")
    assert result.status == "failed"
    assert result.detail == "expected a log-matching violation, but every property held"


def test_only_the_named_property_counts_as_the_known_violation() -> None:
    expected = ExpectedViolation("log-matching", ("raft_ref",))
    other = ScenarioResult("s", "failed", "state machine safety", failure="state-machine-safety")
    judged = judge(other, expected)
    assert (judged.status, judged.known_violation) == ("failed", False)
    assert judged.detail.startswith("expected a log-matching violation: state machine safety")
    diverged = ScenarioResult("s", "diverged", "line 3 diverged", failure="strict-agreement")
    assert judge(diverged, expected).status == "diverged"


def test_the_header_round_trips_through_the_scenario_text() -> None:
    scenario = load_scenario(SNAPSHOT_LABEL)
    assert scenario.expected_violation == ExpectedViolation(
        "state-machine-safety", ("raft_ref", "raft-rs 0.6.0-alpha")
    )
    assert parse_scenario("again", scenario.text()) == parse_scenario("again", scenario.text())
    assert parse_scenario("again", scenario.text()).expected_violation == (
        scenario.expected_violation
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("expect-violation liveness on=raft_ref\ncluster\n", "unknown property 'liveness'"),
        ("expect-violation log-matching\ncluster\n", "PROPERTY on=IMPLEMENTATION"),
        ("expect-violation log-matching on=\ncluster\n", "at least one implementation"),
        ("cluster\nexpect-violation log-matching on=x\n", "before 'cluster'"),
    ],
)
def test_a_malformed_header_names_its_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario("bad", text)
