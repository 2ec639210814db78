"""raft-rs `harness/tests/integration_cases/test_raft_snap.rs`, ported: how a leader
sends snapshots and tracks a follower that needs one."""

from __future__ import annotations

import copy

import pytest

from raft_ref.eraftpb import MessageType, Snapshot
from raft_ref.errors import RequestSnapshotDropped
from raft_ref.progress import ProgressState
from raft_ref.raft import INVALID_INDEX
from tests.harness import Network
from tests.test_util import (
    new_message,
    new_snapshot,
    new_storage,
    new_test_raft,
    new_test_raft_with_prevote,
)


def testing_snap() -> Snapshot:
    return new_snapshot(11, 11, [1, 2])


testing_snap.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def test_sending_snapshot_set_pending_snapshot() -> None:
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.restore(testing_snap())

    sm.become_candidate()
    sm.become_leader()

    # Move node 2's next index back to the first index, so that it needs a snapshot.
    sm.mut_prs().get(2).next_idx = sm.raft_log.first_index()

    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = sm.prs().get(2).next_idx - 1
    m.reject = True
    sm.step(m)
    assert sm.prs().get(2).pending_snapshot == 11


def test_pending_snapshot_pause_replication() -> None:
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.restore(testing_snap())

    sm.become_candidate()
    sm.become_leader()
    sm.mut_prs().get(2).become_snapshot(11)

    sm.step(new_message(1, 1, MessageType.MsgPropose, 1))
    msgs = sm.read_messages()
    assert msgs == []


def test_snapshot_failure() -> None:
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.restore(testing_snap())

    sm.become_candidate()
    sm.become_leader()

    sm.mut_prs().get(2).next_idx = 1
    sm.mut_prs().get(2).become_snapshot(11)

    m = new_message(2, 1, MessageType.MsgSnapStatus, 0)
    m.reject = True
    sm.step(m)
    voter_2 = sm.prs().get(2)
    assert voter_2.pending_snapshot == 0
    assert voter_2.next_idx == 1
    assert voter_2.paused


def test_snapshot_succeed() -> None:
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.restore(testing_snap())

    sm.become_candidate()
    sm.become_leader()

    sm.mut_prs().get(2).next_idx = 1
    sm.mut_prs().get(2).become_snapshot(11)

    m = new_message(2, 1, MessageType.MsgSnapStatus, 0)
    m.reject = False
    sm.step(m)
    voter_2 = sm.prs().get(2)
    assert voter_2.pending_snapshot == 0
    assert voter_2.next_idx == 12
    assert voter_2.paused


def test_snapshot_abort() -> None:
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.restore(testing_snap())

    sm.become_candidate()
    sm.become_leader()

    sm.mut_prs().get(2).next_idx = 1
    sm.mut_prs().get(2).become_snapshot(11)

    # A successful append response at or past the pending snapshot's index makes the
    # snapshot unnecessary.
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = 11
    sm.step(m)
    assert sm.prs().get(2).pending_snapshot == 0
    assert sm.prs().get(2).next_idx == 12


def test_snapshot_with_min_term() -> None:
    """Works only because an initialized storage starts at term 1, not 0."""

    def do_test(pre_vote: bool) -> None:
        n1 = new_test_raft_with_prevote(1, [1, 2], 10, 1, new_storage(), pre_vote)
        n2 = new_test_raft_with_prevote(2, [], 10, 1, new_storage(), pre_vote)
        nt = Network.new([n1, n2])
        nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
        # Node 1 wins, then sends node 2 a snapshot and its empty entry.
        assert nt.peers[2].raft_log.first_index() == 2
        assert nt.peers[2].raft_log.last_index() == 2

    do_test(True)
    do_test(False)


def test_request_snapshot() -> None:
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.restore(testing_snap())

    # With no leader there is nobody to ask for a snapshot.
    with pytest.raises(RequestSnapshotDropped):
        sm.raft.request_snapshot(INVALID_INDEX + 1)

    sm.become_candidate()
    sm.become_leader()

    # A leader does not ask itself for a snapshot.
    with pytest.raises(RequestSnapshotDropped):
        sm.raft.request_snapshot(INVALID_INDEX + 1)

    # Advance node 2's matched index.
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = 11
    sm.step(m)
    assert sm.prs().get(2).state == ProgressState.Replicate

    request_snapshot_idx = sm.raft_log.committed
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = 11
    m.reject = True
    m.reject_hint = INVALID_INDEX
    m.request_snapshot = request_snapshot_idx

    # A request that arrives out of order is ignored.
    out_of_order = copy.deepcopy(m)
    out_of_order.index = 9
    sm.step(out_of_order)
    assert sm.prs().get(2).state == ProgressState.Replicate

    # The request itself.
    sm.step(copy.deepcopy(m))
    assert sm.prs().get(2).state == ProgressState.Snapshot
    assert sm.prs().get(2).pending_snapshot == 11
    assert sm.prs().get(2).next_idx == 12
    assert sm.prs().get(2).is_paused()
    snap = sm.msgs.pop()
    assert snap.msg_type == MessageType.MsgSnapshot, snap
    assert snap.get_snapshot().metadata.index == request_snapshot_idx, snap

    # Appends and heartbeats do not move a progress out of Snapshot into Probe...
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = 11
    sm.step(m)
    assert sm.prs().get(2).state == ProgressState.Snapshot
    assert sm.prs().get(2).pending_snapshot == 11
    assert sm.prs().get(2).next_idx == 12
    assert sm.prs().get(2).is_paused()

    # ...but a snapshot status report does.
    m = new_message(2, 1, MessageType.MsgSnapStatus, 0)
    sm.step(m)
    assert sm.prs().get(2).state == ProgressState.Probe
    assert sm.prs().get(2).pending_snapshot == 0
    assert sm.prs().get(2).next_idx == 12
    assert sm.prs().get(2).is_paused()
