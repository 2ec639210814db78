"""Broken adapters are reported per scenario, and the run goes on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from checks.conformance.runner import run_scenarios
from checks.conformance.scenario import parse_scenario
from checks.conformance.sessions import SubprocessSession

FAKES = Path(__file__).parent / "conformance_fakes"
ELECTION = "cluster voters=1,2,3\ncampaign 1\nstabilize\n"
QUIET = "cluster voters=1,2,3\ntick 1 3\n"


def _run(fake: str, timeout: float = 5.0) -> list[tuple[str, str, str]]:
    scenarios = [
        parse_scenario("first", ELECTION),
        parse_scenario("second", QUIET),
        parse_scenario("third", ELECTION),
    ]
    session = SubprocessSession([sys.executable, str(FAKES / fake)], timeout=timeout)
    summary = run_scenarios(scenarios, session, "strict")
    return [(r.name, r.status, r.detail) for r in summary.results]


@pytest.mark.parametrize(
    ("fake", "kind"),
    [
        ("crash_adapter.py", "adapter crashed: adapter exited (status 3) during 'campaign'"),
        ("malformed_adapter.py", "adapter malformed: not JSON"),
    ],
)
def test_a_broken_adapter_fails_only_the_scenarios_it_breaks(fake: str, kind: str) -> None:
    results = _run(fake)
    assert [(name, status) for name, status, _ in results] == [
        ("first", "error"),
        ("second", "pass"),
        ("third", "error"),
    ]
    assert kind in results[0][2]


def test_a_crash_report_carries_the_adapters_last_stderr_line() -> None:
    assert "simulated crash" in _run("crash_adapter.py")[0][2]


def test_a_hanging_adapter_times_out_and_is_replaced() -> None:
    results = _run("hang_adapter.py", timeout=0.5)
    assert [status for _, status, _ in results] == ["error", "pass", "error"]
    assert "adapter timeout: no answer to 'campaign' within 0.5 s" in results[0][2]


def test_an_adapter_of_another_protocol_version_is_refused() -> None:
    results = _run("old_version_adapter.py")
    assert [status for _, status, _ in results] == ["error"] * 3
    assert "speaks protocol version 0, the runner 1" in results[0][2]


def test_a_lying_adapter_diverges_with_a_side_by_side_diff() -> None:
    scenario = parse_scenario("lie", ELECTION)
    session = SubprocessSession([sys.executable, str(FAKES / "lying_adapter.py")])
    (result,) = run_scenarios([scenario], session, "strict").results
    assert result.status == "diverged"
    assert "line 3: 'stabilize' diverged" in result.detail
    assert '"term": 2' in result.diff and '"term": 3' in result.diff
    assert " | " in result.diff


def test_an_adapter_that_cannot_start_is_an_error() -> None:
    session = SubprocessSession([str(FAKES / "no_such_adapter")])
    (result,) = run_scenarios([parse_scenario("x", QUIET)], session, "strict").results
    assert result.status == "error" and "cannot start" in result.detail


def test_protocol_mode_reports_an_unsafe_implementation() -> None:
    scenario = parse_scenario("unsafe", ELECTION)
    session = SubprocessSession([sys.executable, str(FAKES / "every_node_leads_adapter.py")])
    (result,) = run_scenarios([scenario], session, "protocol").results
    assert result.status == "failed"
    assert "election safety: nodes 1 and 2 lead term 1" in result.detail
