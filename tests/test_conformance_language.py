"""The scenario language's steps for etcd-style interaction tests, against raft_ref."""

from __future__ import annotations

import pytest

from checks.conformance.driver import ExpectationFailed, ScenarioDriver
from checks.conformance.protocol import decode_message_b64, message_route, message_type
from checks.conformance.runner import run_scenarios
from checks.conformance.scenario import ScenarioError, parse_scenario
from checks.conformance.sessions import InProcessSession
from raft_ref.eraftpb import MessageType


def _drive(text: str) -> ScenarioDriver:
    session = InProcessSession()
    session.start()
    driver = ScenarioDriver([session])
    driver.run(parse_scenario("t", text))
    return driver


def _pending(driver: ScenarioDriver) -> list[tuple[int, int, MessageType]]:
    return [(src, dst, MessageType(message_type(m))) for src, dst, m in driver.network.pending]


ELECTED = "cluster voters=1,2,3\ncampaign 1\nstabilize\n"


def test_stabilize_on_listed_nodes_leaves_the_others_messages_waiting() -> None:
    driver = _drive(ELECTED + "propose 1 a\nstabilize 1 2\nexpect 1 commit=3\nexpect 3 last=2\n")
    # Node 3 got nothing; the appends addressed to it still wait in the network.
    assert {(src, dst) for src, dst, _ in _pending(driver)} == {(1, 3)}


def _first_deliveries(order: str) -> list[tuple[int, int]]:
    # Two candidates at once: their vote requests are pending in sending order
    # 2->1, 2->3, 3->1, 3->2 when the stabilize step starts.
    text = f"cluster voters=1,2,3\ncampaign 2\ncampaign 3\nprocess\nstabilize {order}\n"
    driver = _drive(text)
    steps = [e.request for e in driver.transcript if e.step.startswith("stabilize")]
    delivered = [r for r in steps if r["cmd"] == "step"][:4]
    routes = [message_route(r["message"]) for r in delivered]
    return routes


def test_stabilize_delivers_in_sending_order_or_grouped_by_recipient() -> None:
    assert _first_deliveries("order=sent") == [(2, 1), (2, 3), (3, 1), (3, 2)]
    assert _first_deliveries("order=recipient") == [(2, 1), (3, 1), (3, 2), (2, 3)]


def test_deliver_and_drop_by_message_type() -> None:
    driver = _drive(ELECTED + "propose 1 a\ntick 1\nprocess 1\ndrop type=MsgHeartbeat\n")
    assert {t for _, _, t in _pending(driver)} == {MessageType.MsgAppend}
    driver = _drive(ELECTED + "propose 1 a\nprocess 1\ndeliver type=MsgAppend to=2\n")
    assert [(dst, t) for _, dst, t in _pending(driver)] == [(3, MessageType.MsgAppend)]


def test_a_later_member_is_created_by_start_and_caught_up() -> None:
    text = (
        "cluster voters=1,2,3 later=3\ncampaign 1\nstabilize\nexpect 1 role=Leader\n"
        "start 3\ntick 1\nstabilize\nexpect 3 voters=1,2,3 commit=2 term=2\n"
    )
    driver = _drive(text)
    assert driver.live_nodes() == [1, 2, 3]


def test_a_later_member_does_not_exist_before_start() -> None:
    driver = _drive("cluster voters=1,2,3 later=3\n")
    assert driver.live_nodes() == [1, 2]


def test_members_can_start_from_a_later_bootstrap_index() -> None:
    text = (
        "cluster voters=1,2,3 index=6 later=3\nstart 3 voters=1,2,3 index=1\n"
        "expect 1 first=7 last=6 commit=6\nexpect 3 first=2 last=1 commit=1\n"
    )
    _drive(text)


def test_send_snapshot_puts_the_applications_snapshot_in_the_network() -> None:
    driver = _drive(ELECTED + "send-snapshot 1 3\n")
    ((src, dst, kind),) = _pending(driver)
    assert (src, dst, kind) == (1, 3, MessageType.MsgSnapshot)
    snapshot = decode_message_b64(driver.network.pending[0][2]).snapshot
    assert snapshot is not None and snapshot.metadata.index == 2


def test_election_timeout_changes_mid_run() -> None:
    # Node 1's timeout is 10 at first; raised to 15 it stays a follower through 14 ticks.
    base = "cluster voters=1,2,3 election_tick=10 timeouts=10,11,12\n"
    _drive(base + "election-timeout 1 15\ntick 1 14\nexpect 1 role=Follower\n")
    _drive(base + "election-timeout 1 15\ntick 1 15\nexpect 1 role=Candidate\n")


def test_an_election_timeout_below_election_tick_is_refused() -> None:
    driver = _drive("cluster voters=1,2,3 election_tick=10\nelection-timeout 1 5\n")
    (exchange,) = [e for e in driver.transcript if e.request["cmd"] == "set_election_timeout"]
    (answer,) = exchange.answers
    assert answer["error"] == "ConfigInvalid"


def test_expect_compares_logs_configurations_and_progress() -> None:
    text = ELECTED + (
        "propose 1 a\nstabilize\n"
        "expect 2 first=2 last=3 log_terms=2,2 voters=1,2,3 learners= next_voters=none\n"
        "expect-progress 1 2 state=Replicate match=3 next=4 paused=false inflight=0\n"
        "expect-progress 1 1 match=3\n"
    )
    _drive(text)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("expect 2 log_terms=2,3", "log_terms is 2,2"),
        ("expect 2 voters=1,2", "voters is 1,2,3"),
        ("expect-progress 1 2 state=Probe", "1's state of 2 is Replicate"),
        ("expect-progress 1 9 match=0", "tracks no peer 9"),
        ("expect-progress 2 1 match=0", "reports no progress"),
    ],
)
def test_a_wrong_expectation_says_what_it_found(step: str, message: str) -> None:
    with pytest.raises(ExpectationFailed, match=message):
        _drive(ELECTED + "propose 1 a\nstabilize\n" + step + "\n")


def test_raft_rs_only_expectations_are_skipped_in_protocol_mode() -> None:
    scenario = parse_scenario("p", ELECTED + "expect 1 term=9 only=raft-rs\n")
    strict = run_scenarios([scenario], InProcessSession(), "strict")
    asked = run_scenarios([scenario], InProcessSession(), "protocol", check_expectations=True)
    assert strict.results[0].status == "failed"
    assert asked.results[0].status == "pass"


def test_protocol_mode_checks_expect_steps_when_asked() -> None:
    scenario = parse_scenario("p", ELECTED + "expect 1 term=9\n")
    quiet = run_scenarios([scenario], InProcessSession(), "protocol")
    asked = run_scenarios([scenario], InProcessSession(), "protocol", check_expectations=True)
    assert quiet.results[0].status == "pass"
    assert asked.results[0].status == "failed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cluster\ndeliver type=MsgApp\n", "unknown message type 'MsgApp'"),
        ("cluster\nstabilize order=random\n", "'order' is 'sent' or 'recipient'"),
        ("cluster\nexpect-progress 1 2 state=Waiting\n", "progress state is one of"),
        ("cluster\nexpect-progress 1 2 paused=yes\n", "'paused' is true or false"),
        ("cluster\nexpect 1 log_terms=a\n", "s:2:"),
        ("cluster\nelection-timeout 1\n", "takes 2 to 2 arguments"),
        ("cluster\nexpect 1 term=2 only=etcd\n", "'only' is 'raft-rs'"),
    ],
)
def test_malformed_new_steps_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario("s", text)
