"""The conformance protocol's encodings, canonical forms, scenario parsing and host."""

from __future__ import annotations

import pytest

from checks.conformance.driver import answers_agree
from checks.conformance.protocol import (
    PROTOCOL_VERSION,
    b64,
    canonical_ready,
    decode_message_b64,
    ready_with_sorted_ids,
)
from checks.conformance.raft_ref_host import RaftRefHost
from checks.conformance.scenario import ScenarioError, parse_scenario
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    Message,
    MessageType,
    encode_conf_change,
    encode_entry,
    encode_message,
)


def _msg(to: int, index: int) -> str:
    return b64(encode_message(Message(msg_type=MessageType.MsgAppend, to=to, from_=1, index=index)))


def test_message_round_trips_through_base64() -> None:
    m = Message(msg_type=MessageType.MsgHeartbeat, to=3, from_=1, term=7, commit=4, context=b"c")
    assert decode_message_b64(b64(encode_message(m))) == m


def test_canonical_ready_orders_by_destination_and_keeps_per_peer_order() -> None:
    ready = {"messages": [_msg(3, 1), _msg(2, 5), _msg(3, 2), _msg(2, 6)]}
    ordered = [decode_message_b64(m) for m in canonical_ready(ready)["messages"]]
    assert [(m.to, m.index) for m in ordered] == [(2, 5), (2, 6), (3, 1), (3, 2)]


def test_conf_state_ids_are_encoded_unpacked_like_raft_rs() -> None:
    # Bytes written by raft-proto 0.6.0-alpha for this ConfChange: one tag per id.
    cc = ConfChange(
        change_type=ConfChangeType.BeginMembershipChange,
        configuration=ConfState([1, 2, 3]),
        start_index=5,
    )
    assert encode_conf_change(cc) == bytes.fromhex("10032a06080108020803" + "3005")


def _begin_entry(nodes: list[int]) -> str:
    cc = ConfChange(
        change_type=ConfChangeType.BeginMembershipChange,
        configuration=ConfState(nodes),
        start_index=3,
    )
    entry = Entry(EntryType.EntryConfChange, 2, 3, encode_conf_change(cc))
    return b64(encode_entry(entry))


def test_configurations_compare_as_sets_of_ids() -> None:
    left = {"ok": True, "ready": {"entries": [_begin_entry([3, 4])], "messages": []}}
    right = {"ok": True, "ready": {"entries": [_begin_entry([4, 3])], "messages": []}}
    assert left != right
    assert ready_with_sorted_ids(left["ready"]) == ready_with_sorted_ids(right["ready"])
    assert answers_agree(left, right)
    other = {"ok": True, "ready": {"entries": [_begin_entry([4, 5])], "messages": []}}
    assert not answers_agree(left, other)


def test_answers_agree_ignores_details_but_not_error_kinds() -> None:
    assert answers_agree(
        {"ok": False, "error": "ProposalDropped", "detail": "a"},
        {"ok": False, "error": "ProposalDropped", "detail": "b"},
    )
    assert not answers_agree(
        {"ok": False, "error": "ProposalDropped"}, {"ok": False, "error": "NotExists"}
    )


def test_scenario_parses_steps_options_and_comments() -> None:
    sc = parse_scenario("s", "# c\ncluster voters=1,2,3 pre_vote\ncampaign 1 # go\ndeliver to=2\n")
    assert [s.verb for s in sc.steps] == ["cluster", "campaign", "deliver"]
    assert sc.steps[0].options == {"voters": "1,2,3", "pre_vote": ""}
    assert sc.steps[2].options == {"to": "2"}
    assert sc.steps[1].line == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("campaign 1\n", "starts with a 'cluster'"),
        ("cluster\nfly 1\n", "s:2: unknown step 'fly'"),
        ("cluster\ncampaign\n", "s:2: 'campaign' takes 1"),
        ("cluster\ntick x\n", "s:2:"),
        ("cluster\ndeliver color=red\n", "has no option 'color'"),
        ("cluster\ncluster\n", "only the first step"),
    ],
)
def test_malformed_scenarios_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        parse_scenario("s", text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cluster\ntick 9\n", "s:2: 'tick 9' acts on node 9, which the scenario never creates"),
        ("cluster voters=1\nprocess 1 2\n", "s:2: 'process 1 2' acts on node 2"),
        ("cluster voters=\ncampaign 1\n", "s:1: 'cluster' needs at least one voter"),
        ("cluster election_tick=0\n", "s:1: election_tick 0 must be greater than heartbeat_tick 1"),
        ("cluster heartbeat_tick=0\n", "s:1: heartbeat_tick must be greater than 0"),
    ],
)
def test_scenarios_that_would_test_nothing_are_scenario_errors(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario("s", text)


def test_a_started_node_can_be_acted_on() -> None:
    scenario = parse_scenario("s", "cluster voters=1\nstart 4 voters=1\ntick 4\n")
    assert [step.verb for step in scenario.steps] == ["cluster", "start", "tick"]


def test_host_says_hello_with_the_protocol_version() -> None:
    answer = RaftRefHost().handle({"cmd": "hello", "version": PROTOCOL_VERSION})
    assert answer == {"ok": True, "version": PROTOCOL_VERSION, "name": "raft_ref"}


def test_host_rejects_unknown_commands_and_nodes() -> None:
    host = RaftRefHost()
    assert host.handle({"cmd": "dance"})["error"] == "BadRequest"
    assert host.handle({"cmd": "tick", "node": 9})["error"] == "BadRequest"


def test_host_reports_a_panic_and_then_the_node_is_dead() -> None:
    host = RaftRefHost()
    assert host.handle({"cmd": "create", "node": 1, "voters": [1], "config": {}})["ok"]
    # Compacting past the last index + 1 is a panic in raft-rs's MemStorage.
    assert host.handle({"cmd": "compact", "node": 1, "index": 99})["error"] == "Panic"
    assert host.handle({"cmd": "tick", "node": 1})["error"] == "NodeDead"


def test_host_fixes_the_election_timeout_it_is_given() -> None:
    host = RaftRefHost()
    config = {"election_tick": 10, "election_timeout": 13}
    host.handle({"cmd": "create", "node": 1, "voters": [1, 2], "config": config})
    for _ in range(12):
        host.handle({"cmd": "tick", "node": 1})
    assert host.handle({"cmd": "state", "node": 1})["state"]["role"] == "Follower"
    host.handle({"cmd": "tick", "node": 1})
    assert host.handle({"cmd": "state", "node": 1})["state"]["role"] == "Candidate"


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({"election_tick": -1}, "BadRequest"),
        ({"heartbeat_tick": 1.5}, "BadRequest"),
        ({"read_only": "Lease"}, "BadRequest"),
        ({"pre_vote": "yes"}, "BadRequest"),
        ({"heartbeat_tick": 0}, "ConfigInvalid"),
        ({"election_tick": 2, "heartbeat_tick": 3}, "ConfigInvalid"),
    ],
)
def test_host_reports_configuration_errors(config: dict[str, object], kind: str) -> None:
    host = RaftRefHost()
    answer = host.handle({"cmd": "create", "node": 1, "voters": [1], "config": config})
    assert (answer["ok"], answer["error"]) == (False, kind)
    assert host.handle({"cmd": "create", "node": 1, "voters": [1], "config": {}})["ok"]


def test_host_ready_reports_and_persists() -> None:
    host = RaftRefHost()
    host.handle({"cmd": "create", "node": 1, "voters": [1], "config": {}})
    host.handle({"cmd": "campaign", "node": 1})
    ready = host.handle({"cmd": "ready", "node": 1})["ready"]
    assert ready["ss"] == {"leader_id": 1, "role": "Leader"}
    assert ready["hs"] == {"term": 2, "vote": 1, "commit": 2}
    assert ready["must_sync"] is True
    assert len(ready["entries"]) == 1 and len(ready["committed_entries"]) == 1
    assert host.handle({"cmd": "ready", "node": 1})["ready"] is None
    state = host.handle({"cmd": "state", "node": 1})["state"]
    assert (state["commit"], state["applied"], state["log_terms"]) == (2, 2, [2])
