"""The shared application loop's named policies (checks/cluster/app.py)."""

from __future__ import annotations

import pytest

from checks.cluster.app import process_ready
from raft_ref.config import Config
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
)
from raft_ref.raw_node import RawNode
from raft_ref.storage import MemStorage


def _caught_up_by_a_snapshot_after_a_finished_change() -> RawNode[MemStorage]:
    """Node 1 applied a Begin, missed the Finalize, and now receives a snapshot taken
    after it (no change pending); its Ready holds the snapshot."""
    store = MemStorage.new_with_conf_state(([1, 2, 3], []))
    node = RawNode(Config(id=1), store)
    begin = ConfChange(
        change_type=ConfChangeType.BeginMembershipChange,
        configuration=ConfState([1, 2, 3, 4], []),
        start_index=2,
    )
    node.raft.begin_membership_change(begin)
    store.wl().set_conf_state(ConfState([1, 2, 3], []), (ConfState([1, 2, 3, 4], []), 2))
    meta = SnapshotMetadata(conf_state=ConfState([1, 2, 3, 4], []), index=10, term=2)
    snapshot = Message(
        msg_type=MessageType.MsgSnapshot, to=1, from_=2, term=2, snapshot=Snapshot(metadata=meta)
    )
    node.step(snapshot)
    assert node.has_ready()
    return node


@pytest.mark.parametrize("forget", [False, True])
def test_a_snapshot_without_a_pending_change_clears_one_when_finished_changes_are_forgotten(
    forget: bool,
) -> None:
    node = _caught_up_by_a_snapshot_after_a_finished_change()
    process_ready(node, node.ready(), advance_every_ready=True, forget_finished_change=forget)
    assert node.raft.raft_log.committed == 10
    stored = node.raft.raft_log.store.initial_state()
    if forget:
        assert node.raft.pending_membership_change is None
        assert stored.pending_conf_state is None
    else:
        # raft-rs's own behaviour: the finished change stays pending (QUIRKS.md §5).
        assert node.raft.pending_membership_change is not None
        assert stored.pending_conf_state == ConfState([1, 2, 3, 4], [])
