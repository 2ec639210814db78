"""The harness itself behaves like raft-rs's: black holes, drops, ignores, recover."""

from __future__ import annotations

import pytest

from raft_ref.eraftpb import Message, MessageType
from raft_ref.raft import StateRole
from tests.harness import Interface, Network
from tests.test_util import NOP_STEPPER, new_message, new_storage, new_test_raft


def heartbeats(n: int) -> list[Message]:
    return [new_message(1, 2, MessageType.MsgHeartbeat, 0) for _ in range(n)]


def test_new_network_elects_a_leader_through_send() -> None:
    nt = Network.new([None, None, None])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].state == StateRole.Leader
    assert nt.peers[2].state == StateRole.Follower
    assert sorted(nt.storage) == [1, 2, 3]


def test_black_hole_peer_swallows_messages() -> None:
    nt = Network.new([None, NOP_STEPPER, NOP_STEPPER])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    # No votes come back from black holes: node 1 stays a candidate.
    assert nt.peers[1].state == StateRole.Candidate
    assert nt.peers[2].read_messages() == []
    assert 2 not in nt.storage


def test_peer_in_wrong_position_is_refused() -> None:
    r = new_test_raft(2, [1, 2], 10, 1, new_storage())
    with pytest.raises(AssertionError, match="wrong position"):
        Network.new([r, None])


def test_filter_ignore_drop_and_recover() -> None:
    nt = Network.new([None, None])
    nt.ignore(MessageType.MsgHeartbeat)
    assert nt.filter(heartbeats(3)) == []
    nt.recover()
    assert len(nt.filter(heartbeats(3))) == 3
    nt.drop(1, 2, 1.0)
    assert nt.filter(heartbeats(3)) == []
    # Only the direction given is dropped.
    back = [new_message(2, 1, MessageType.MsgHeartbeat, 0)]
    assert nt.filter(back) == back


def test_partial_drop_is_seeded() -> None:
    def kept(seed: int) -> list[int]:
        nt = Network.new([None, None], seed=seed)
        nt.drop(1, 2, 0.5)
        msgs = heartbeats(200)
        for i, m in enumerate(msgs):
            m.index = i
        return [m.index for m in nt.filter(msgs)]

    assert kept(3) == kept(3)
    assert 50 < len(kept(3)) < 150


def test_cut_and_isolate_drop_both_directions() -> None:
    nt = Network.new([None, None, None])
    nt.cut(1, 2)
    assert nt.dropm == {(1, 2): 1.0, (2, 1): 1.0}
    nt.recover()
    nt.isolate(3)
    assert nt.dropm == {(3, 1): 1.0, (1, 3): 1.0, (3, 2): 1.0, (2, 3): 1.0}


def test_hup_on_the_network_is_a_test_bug() -> None:
    nt = Network.new([None, None])
    with pytest.raises(AssertionError, match="msgHup"):
        nt.filter([new_message(1, 2, MessageType.MsgHup, 0)])


def test_interface_forwards_attributes() -> None:
    r = new_test_raft(1, [1, 2], 10, 1, new_storage())
    r.term = 5
    assert r.raft is not None and r.raft.term == 5
    blackhole = Interface(None)
    blackhole.step(new_message(1, 2, MessageType.MsgHeartbeat, 0))
    with pytest.raises(AttributeError):
        _ = blackhole.term
