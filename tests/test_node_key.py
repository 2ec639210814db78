"""The explorer's node key (checks/cluster/node_key.py): built from Raft's declared
fields by name, every field but those left out on purpose enters it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from checks.cluster.node_key import LEFT_OUT, STRUCTURED, node_state_key
from raft_ref.config import Config
from raft_ref.eraftpb import ConfChange, Entry, Message, MessageType
from raft_ref.raft import Raft, StateRole
from raft_ref.raw_node import RawNode
from raft_ref.read_only import ReadState
from raft_ref.storage import MemStorage


def _leader() -> RawNode[MemStorage]:
    node = RawNode(Config(id=1), MemStorage.new_with_conf_state(([1], [])))
    node.campaign()
    return node


def _read_request(raft: Raft[Any]) -> None:
    request = Message(msg_type=MessageType.MsgReadIndex, entries=[Entry(data=b"ctx")])
    raft.read_only.add_request(raft.raft_log.committed, request)


# How to change each structured field of a leader.
_CHANGE: dict[str, Callable[[Raft[Any]], None]] = {
    "state": lambda r: setattr(r, "state", StateRole.Follower),
    "raft_log": lambda r: setattr(r.raft_log, "applied", r.raft_log.applied + 1),
    "_prs": lambda r: setattr(r.prs().get(1), "paused", True),
    "votes": lambda r: r.votes.update({7: False}),
    "pending_membership_change": lambda r: setattr(
        r, "pending_membership_change", ConfChange(start_index=9)
    ),
    "read_only": _read_request,
    "read_states": lambda r: r.read_states.append(ReadState(1, b"ctx")),
    "msgs": lambda r: r.msgs.append(Message(msg_type=MessageType.MsgHeartbeat, to=2)),
}


def _change_plain(raft: Raft[Any], name: str) -> None:
    value = getattr(raft, name)
    if isinstance(value, bool):
        setattr(raft, name, not value)
    elif value is None or isinstance(value, int):
        setattr(raft, name, (value or 0) + 1)
    else:
        raise AssertionError(f"no way to change Raft.{name} = {value!r}: add one to the test")


@pytest.mark.parametrize("name", sorted(set(Raft.__slots__) - LEFT_OUT))
def test_every_field_not_left_out_enters_the_node_key(name: str) -> None:
    node = _leader()
    copy = node.clone()
    if name in STRUCTURED:
        _CHANGE[name](copy.raft)
    else:
        _change_plain(copy.raft, name)
    assert node_state_key(copy) != node_state_key(node)


@pytest.mark.parametrize("name", sorted(LEFT_OUT))
def test_fields_left_out_do_not_enter_the_node_key(name: str) -> None:
    node = _leader()
    copy = node.clone()
    value = getattr(copy.raft, name)
    setattr(copy.raft, name, value + "x" if isinstance(value, str) else value + 1)
    assert node_state_key(copy) == node_state_key(node)


def test_node_key_is_hashable_and_tracks_the_node() -> None:
    node = _leader()
    copy = node.clone()
    assert hash(node_state_key(copy)) == hash(node_state_key(node))
    copy.propose(b"", b"only in the copy")
    assert node_state_key(copy) != node_state_key(node)
