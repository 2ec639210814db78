"""The application loop a correct raft-rs user writes around a `RawNode`.

After every event (a tick, a message, a proposal) the application takes the node's
`Ready`: it installs a snapshot, persists new entries and the hard state, sends the
messages, applies committed entries (configuration changes included, as raft-rs's
own tests do: Begin and Finalize through the `Raft` object, since
`RawNode::apply_conf_change` skips a Finalize), records the new membership in its
storage, and calls `advance`.

`advance_apply` is called only when entries were applied. raft-rs 0.6.0-alpha's
`commit_apply` appends another Finalize on *every* call while a joint leader waits for
its Finalize (upstream #349); an application that reports "applied up to N" only when
it applied something does not grow the log without bound, yet still appends a Finalize
on each advance that applied entries while joint — which the model does too
(`model.server.apply_committed`).
"""

from __future__ import annotations

from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    Entry,
    EntryType,
    Message,
    decode_conf_change,
)
from raft_ref.errors import NoPendingMembershipChange
from raft_ref.raw_node import RawNode
from raft_ref.storage import MemStorage

# Readys handled per event at most. The loop ends when the node has nothing ready: the
# first Ready carries the event's effects, later ones what `advance` itself produced (a
# joint leader's Finalize and its broadcast, which a leader alone in its quorum commits
# at once). A node still busy after this many is reported as an error.
READY_ROUNDS = 8


class UnsettledNode(Exception):
    """The application loop kept getting Readys: the node does not settle."""


def handle_ready(node: RawNode[MemStorage]) -> list[Message]:
    """Runs the application loop on `node` until it has nothing ready; returns the
    messages to put on the network."""
    sent: list[Message] = []
    for _ in range(READY_ROUNDS):
        if not node.has_ready():
            return sent
        rd = node.ready()
        store = node.raft.raft_log.store
        core = store.wl()
        if not rd.snapshot.is_empty():
            core.apply_snapshot(rd.snapshot)
        if rd.entries:
            core.append(rd.entries)
        if rd.hs is not None:
            core.set_hardstate(rd.hs)
        sent.extend(rd.messages)
        committed = rd.committed_entries or []
        for entry in committed:
            apply_entry(node, entry)
        node.advance_append(rd)
        if committed:
            node.advance_apply(committed[-1].index)
    if node.has_ready():
        raise UnsettledNode(f"node {node.raft.id} still has a Ready after {READY_ROUNDS} rounds")
    return sent


def apply_entry(node: RawNode[MemStorage], entry: Entry) -> None:
    """Applies one committed entry; only configuration changes matter to Raft."""
    if entry.entry_type != EntryType.EntryConfChange:
        return
    apply_conf_change(node, decode_conf_change(entry.data))


def apply_conf_change(node: RawNode[MemStorage], cc: ConfChange) -> None:
    """Applies a committed configuration change and records the membership in storage."""
    raft = node.raft
    core = raft.raft_log.store.wl()
    kind = cc.change_type
    if kind == ConfChangeType.BeginMembershipChange:
        raft.begin_membership_change(cc)
        nxt = raft.prs().next_configuration
        assert nxt is not None
        core.set_conf_state(
            raft.prs().configuration.to_conf_state(), (nxt.to_conf_state(), cc.start_index)
        )
    elif kind == ConfChangeType.FinalizeMembershipChange:
        try:
            raft.finalize_membership_change(cc)
        except NoPendingMembershipChange:
            return  # a repeated Finalize (upstream #349): nothing left to finalize
        core.set_conf_state(raft.prs().configuration.to_conf_state())
        # MemStorage's set_conf_state records a pending change but never clears one;
        # the application's own storage forgets the finished change here.
        core.raft_state.pending_conf_state = None
        core.raft_state.pending_conf_state_start_index = None
    else:
        core.set_conf_state(node.apply_conf_change(cc))
