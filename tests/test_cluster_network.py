"""The in-memory network of raft_ref messages (checks/cluster/network.py)."""

from __future__ import annotations

import pickle

import pytest

from checks.cluster.network import Network, Partition
from checks.cluster.node_key import message_key
from raft_ref.eraftpb import Entry, Message, MessageType


def _append(to: int, index: int) -> Message:
    return Message(
        msg_type=MessageType.MsgAppend,
        to=to,
        from_=1,
        term=2,
        index=index,
        entries=[Entry(term=2, index=index + 1, data=b"x")],
    )


A, B, C = _append(2, 1), _append(3, 1), _append(2, 2)


def test_identical_messages_are_held_once_with_their_copies() -> None:
    net = Network([A, B, _append(2, 1)])
    assert len(net) == 2 and net.in_flight() == 3
    assert net[message_key(A)] == (A, 2)
    assert net[message_key(B)] == (B, 1)


def test_take_removes_one_copy_and_then_the_message() -> None:
    net = Network([A, A])
    key = message_key(A)
    assert net.take(key) is A and net[key] == (A, 1)
    assert net.take(key) is A and key not in net and not net
    with pytest.raises(KeyError):
        net.take(key)


def test_positions_count_copies_in_the_order_first_sent() -> None:
    net = Network([A, B, C])
    net.duplicate(message_key(A))
    # A's two copies stand where A was first sent.
    assert [net.key_at(i) for i in range(4)] == [message_key(m) for m in (A, A, B, C)]
    with pytest.raises(IndexError):
        net.key_at(4)
    net.take(message_key(A))
    net.take(message_key(A))
    net.send([A])
    assert [net.key_at(i) for i in range(3)] == [message_key(m) for m in (B, C, A)]


def test_retire_removes_every_copy() -> None:
    net = Network([A, A, B])
    net.retire([message_key(A)])
    assert list(net) == [message_key(B)] and net.in_flight() == 1


def test_a_copy_changes_apart_from_its_original() -> None:
    net = Network([A])
    twin = net.copy()
    twin.send([B])
    twin.take(message_key(A))
    twin.partition = Partition([[1]])
    assert list(net.items()) == [(message_key(A), (A, 1))] and net.partition is None
    assert list(twin.values()) == [(B, 1)]


def test_the_state_key_ignores_sending_order_but_not_copies_or_partition() -> None:
    assert Network([A, B]).state_key() == Network([B, A]).state_key()
    assert Network([A, B]).state_key() != Network([A, A, B]).state_key()
    assert Network([A], Partition([[1]])).state_key() != Network([A]).state_key()
    assert Network([A], Partition([[2, 1]])).state_key() == (
        Network([A], Partition([[1, 2]])).state_key()
    )


def test_a_partition_separates_groups_and_the_nodes_named_in_none() -> None:
    partition = Partition([[1, 2], [3]])
    assert not partition.separates(1, 2)
    assert partition.separates(2, 3)
    assert partition.separates(1, 4) and not partition.separates(4, 5)


def test_a_partition_blocks_messages_across_it() -> None:
    net = Network([A, B], Partition([[1, 2]]))
    assert not net.blocked(A) and net.blocked(B)
    net.partition = None
    assert not net.blocked(B)


def test_a_network_survives_pickling_for_worker_processes() -> None:
    net = Network([A, A, B], Partition([[1]]))
    again = pickle.loads(pickle.dumps(net))
    assert list(again) == list(net) and again.in_flight() == 3
    assert again.state_key() == net.state_key()
