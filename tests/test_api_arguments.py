"""raft_ref's public entry points refuse arguments raft-rs's types rule out with a named
raft_ref error at the call, not an AttributeError or TypeError deep inside."""

from __future__ import annotations

from typing import Any

import pytest

from raft_ref import Config, RawNode
from raft_ref.eraftpb import ConfState, Entry, Message, MessageType
from raft_ref.errors import ConfigInvalid, Error, ViolatesContract
from raft_ref.storage import MemStorage


def _node() -> RawNode[MemStorage]:
    return RawNode(Config.new(1), MemStorage.new_with_conf_state(ConfState([1], [])))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("heartbeat_tick", -1),
        ("election_tick", -5),
        ("election_tick", "10"),
        ("id", 1.0),
        ("applied", 1 << 64),
        ("max_inflight_msgs", True),
        ("pre_vote", 1),
        ("check_quorum", None),
        ("read_only_option", "Safe"),
        ("tag", None),
    ],
)
def test_config_validate_names_a_field_raft_rs_could_not_hold(field: str, value: Any) -> None:
    config = Config.new(1)
    setattr(config, field, value)
    with pytest.raises(ConfigInvalid, match=f"^{field} must be") as raised:
        config.validate()
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, Error)


def test_a_raw_node_needs_a_config_and_a_storage() -> None:
    store = MemStorage.new_with_conf_state(ConfState([1], []))
    with pytest.raises(ConfigInvalid, match=r"config must be a raft_ref\.Config, got None"):
        RawNode(None, store)  # type: ignore[arg-type]
    with pytest.raises(ViolatesContract, match=r"store must implement raft_ref\.Storage"):
        RawNode(Config.new(1), None)  # type: ignore[type-var]
    with pytest.raises(ConfigInvalid, match="heartbeat_tick"):
        RawNode(Config(id=1, heartbeat_tick=-1), store)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (None, "step: m must be an eraftpb Message, got None"),
        (Message(msg_type=99, to=1, from_=2), "step: m.msg_type 99 is not a MessageType"),  # type: ignore[arg-type]
    ],
)
def test_step_refuses_what_is_not_a_message(message: Any, expected: str) -> None:
    with pytest.raises(ViolatesContract, match=expected):
        _node().step(message)


def test_entries_and_proposals_need_bytes() -> None:
    with pytest.raises(ViolatesContract, match="Entry data and context must be bytes"):
        Entry(data=None)  # type: ignore[arg-type]
    with pytest.raises(ViolatesContract, match="Entry data and context must be bytes"):
        _node().propose(b"", "text")  # type: ignore[arg-type]
    with pytest.raises(ViolatesContract, match="cc must be a ConfChange"):
        _node().propose_conf_change(b"", None)  # type: ignore[arg-type]


def test_a_named_error_is_also_the_builtin_kind_callers_catch() -> None:
    with pytest.raises(TypeError):
        Entry(context=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="msg_type"):
        _node().step(Message(msg_type=99))  # type: ignore[arg-type]


def test_valid_arguments_still_work() -> None:
    node = _node()
    node.campaign()
    node.step(Message(msg_type=MessageType.MsgHeartbeat, to=1, from_=2, term=5))
    assert node.raft.term == 5
