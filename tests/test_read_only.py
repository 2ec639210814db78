"""ReadOnly: queueing ReadIndex requests, counting heartbeat acks, releasing in order."""

import pytest

from raft_ref.eraftpb import Entry, Message, MessageType
from raft_ref.errors import RaftPanic
from raft_ref.read_only import ReadIndexStatus, ReadOnly, ReadOnlyOption, ReadState


def read_request(ctx: bytes, from_: int = 1) -> Message:
    return Message(msg_type=MessageType.MsgReadIndex, from_=from_, to=1, entries=[Entry(data=ctx)])


def heartbeat_ack(ctx: bytes, from_: int, to: int = 1) -> Message:
    return Message(msg_type=MessageType.MsgHeartbeatResponse, from_=from_, to=to, context=ctx)


def test_defaults():
    assert ReadOnlyOption.default() is ReadOnlyOption.Safe
    assert ReadOnly().option is ReadOnlyOption.Safe
    assert ReadOnly.new(ReadOnlyOption.LeaseBased).option is ReadOnlyOption.LeaseBased
    assert ReadState() == ReadState(0, b"")
    assert ReadState(3, b"x") == ReadState(index=3, request_ctx=b"x")
    assert ReadState(3, b"x") != ReadState(3, b"y")


def test_add_request_queues_in_arrival_order():
    ro = ReadOnly()
    assert ro.last_pending_request_ctx() is None
    ro.add_request(5, read_request(b"a"))
    ro.add_request(6, read_request(b"b"))
    assert ro.read_index_queue == [b"a", b"b"]
    assert ro.pending_read_count() == 2
    assert ro.last_pending_request_ctx() == b"b"
    assert ro.pending_read_index[b"a"].index == 5


def test_add_request_ignores_duplicate_context():
    ro = ReadOnly()
    first = read_request(b"a", from_=2)
    ro.add_request(5, first)
    ro.add_request(9, read_request(b"a", from_=3))
    assert ro.pending_read_count() == 1
    status = ro.pending_read_index[b"a"]
    assert status.index == 5 and status.req is first


def test_add_request_without_entry_panics():
    with pytest.raises(RaftPanic):
        ReadOnly().add_request(1, Message(msg_type=MessageType.MsgReadIndex))


def test_recv_ack_counts_sender_and_leader():
    ro = ReadOnly()
    ro.add_request(5, read_request(b"a"))
    assert ro.recv_ack(heartbeat_ack(b"a", from_=2)) == {1, 2}
    assert ro.recv_ack(heartbeat_ack(b"a", from_=3)) == {1, 2, 3}
    assert ro.recv_ack(heartbeat_ack(b"a", from_=3)) == {1, 2, 3}
    # The leader is counted in the answer, not recorded among the acks.
    assert ro.pending_read_index[b"a"].acks == {2, 3}


def test_recv_ack_for_unknown_context_is_empty():
    ro = ReadOnly()
    ro.add_request(5, read_request(b"a"))
    assert ro.recv_ack(heartbeat_ack(b"zz", from_=2)) == set()
    assert ro.pending_read_index[b"a"].acks == set()


def test_advance_releases_up_to_acknowledged_request():
    ro = ReadOnly()
    for i, ctx in enumerate((b"a", b"b", b"c")):
        ro.add_request(10 + i, read_request(ctx))
    released = ro.advance(heartbeat_ack(b"b", from_=2))
    assert [(s.index, s.req.entries[0].data) for s in released] == [(10, b"a"), (11, b"b")]
    assert ro.read_index_queue == [b"c"]
    assert list(ro.pending_read_index) == [b"c"]
    assert ro.last_pending_request_ctx() == b"c"


def test_advance_with_unknown_context_releases_nothing():
    ro = ReadOnly()
    ro.add_request(10, read_request(b"a"))
    assert ro.advance(heartbeat_ack(b"x", from_=2)) == []
    assert ro.pending_read_count() == 1


def test_advance_panics_on_queue_without_status():
    ro = ReadOnly()
    ro.add_request(10, read_request(b"a"))
    del ro.pending_read_index[b"a"]
    with pytest.raises(RaftPanic, match="cannot find"):
        ro.advance(heartbeat_ack(b"a", from_=2))


def test_clone_is_independent():
    ro = ReadOnly()
    ro.add_request(10, read_request(b"a"))
    ro.recv_ack(heartbeat_ack(b"a", from_=2))
    copy = ro.clone()
    copy.recv_ack(heartbeat_ack(b"a", from_=3))
    copy.add_request(11, read_request(b"b"))
    assert ro.pending_read_index[b"a"].acks == {2}
    assert ro.read_index_queue == [b"a"]
    copy.advance(heartbeat_ack(b"b", from_=2))
    assert ro.pending_read_count() == 1 and copy.pending_read_count() == 0


def test_read_index_status_clone():
    status = ReadIndexStatus(read_request(b"a"), 4, {2})
    copy = status.clone()
    copy.acks.add(3)
    assert status.acks == {2} and copy.req is status.req and copy.index == 4
