"""raft-rs `harness/tests/integration_cases/test_raft_flow_control.rs`, ported: the
leader's window of in-flight appends to a follower in Replicate state."""

from __future__ import annotations

from raft_ref.eraftpb import MessageType
from tests.harness import Interface
from tests.test_util import new_message, new_storage, new_test_raft


def progress_become_replicate(r: Interface, pr: int, i: int) -> None:
    """Force peer `pr`'s progress into Replicate, matched at `i - 1`."""
    r.mut_prs().get(pr).maybe_update(i - 1)
    r.mut_prs().get(pr).become_replicate()


def test_msg_app_flow_control_full() -> None:
    """Appends fill the window; once it is full, no more appends are sent."""
    r = new_test_raft(1, [1, 2], 5, 1, new_storage())
    r.become_candidate()
    r.become_leader()

    # The configuration is at index 1 and the leader's empty entry at 2.
    assert r.raft_log.last_index() == 2

    progress_become_replicate(r, 2, 2)
    # fill the window
    for i in range(r.max_inflight):
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        ms = r.read_messages()
        assert len(ms) == 1, f"#{i}: ms count = {len(ms)}, want 1"

    # the window is full...
    assert r.prs().get(2).ins.full()

    # ...so nothing more is sent
    for i in range(10):
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        ms = r.read_messages()
        assert ms == [], f"#{i}: ms count = {len(ms)}, want 0"


def test_msg_app_flow_control_move_forward() -> None:
    """A valid append response frees every slot up to its index; a stale one frees
    nothing."""
    r = new_test_raft(1, [1, 2], 5, 1, new_storage())
    r.become_candidate()
    r.become_leader()

    # The configuration is at index 1 and the leader's empty entry at 2.
    assert r.raft_log.last_index() == 2

    progress_become_replicate(r, 2, 2)
    # fill the window
    for _ in range(r.max_inflight):
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        r.read_messages()

    # Index 2 is the empty entry, 3 the first proposal: start at 3.
    for tt in range(3, r.max_inflight):
        # move the window forward
        m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
        m.index = tt
        r.step(m)
        r.read_messages()

        # and fill it again
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        ms = r.read_messages()
        assert len(ms) == 1, f"#{tt}: ms count = {len(ms)}, want 1"

        # full again
        assert r.prs().get(2).ins.full()

        # stale responses free nothing
        for i in range(tt):
            m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
            m.index = i
            r.step(m)
            assert r.prs().get(2).ins.full(), f"#{tt}: inflights.full = False, want True"


def test_msg_app_flow_control_recv_heartbeat() -> None:
    """A heartbeat response frees one slot of a full window."""
    r = new_test_raft(1, [1, 2], 5, 1, new_storage())
    r.become_candidate()
    r.become_leader()

    progress_become_replicate(r, 2, 2)
    # fill the window
    for _ in range(r.max_inflight):
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        r.read_messages()

    for tt in range(1, 5):
        assert r.prs().get(2).ins.full(), f"#{tt}: inflights.full = False, want True"

        # each of tt heartbeat responses leaves one free slot
        for i in range(tt):
            r.step(new_message(2, 1, MessageType.MsgHeartbeatResponse, 0))
            r.read_messages()
            assert not r.prs().get(2).ins.full(), f"#{tt}.{i}: inflights.full = True"

        # one slot...
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        ms = r.read_messages()
        assert len(ms) == 1, f"#{tt}: free slot = 0, want 1"

        # ...and only one
        for i in range(10):
            r.step(new_message(1, 1, MessageType.MsgPropose, 1))
            ms1 = r.read_messages()
            assert ms1 == [], f"#{tt}.{i}: ms1 should be empty"

        # clear the pending messages
        r.step(new_message(2, 1, MessageType.MsgHeartbeatResponse, 0))
        r.read_messages()
