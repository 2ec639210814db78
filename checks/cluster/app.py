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

One loop serves every driver of `raft_ref` nodes: the explorer's cluster runs
`handle_ready` after each event; the conformance host and the stateful test take one
Ready at a time through `process_ready`, each naming its policy in the call.
"""

from __future__ import annotations

from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    Message,
    decode_conf_change,
)
from raft_ref.errors import Error, NoPendingMembershipChange
from raft_ref.raw_node import RawNode, Ready
from raft_ref.read_only import ReadState
from raft_ref.storage import MemStorage, MemStorageCore

Node = RawNode[MemStorage]

# Readys handled per event at most. The loop ends when the node has nothing ready: the
# first Ready carries the event's effects, later ones what `advance` itself produced (a
# joint leader's Finalize and its broadcast, which a leader alone in its quorum commits
# at once). A node still busy after this many is reported as an error.
READY_ROUNDS = 8


class UnsettledNode(Exception):
    """The application loop kept getting Readys: the node does not settle."""


def handle_ready(node: Node, reads: list[ReadState] | None = None) -> list[Message]:
    """Runs the application loop on `node` until it has nothing ready; returns the
    messages to put on the network, and adds the reads answered to `reads`. A
    configuration change that raft-rs refuses (other than a repeated Finalize) is
    raised."""
    sent: list[Message] = []
    for _ in range(READY_ROUNDS):
        if not node.has_ready():
            return sent
        rd = node.ready()
        sent.extend(rd.messages)
        if reads is not None:
            reads.extend(rd.read_states)
        for _index, error in process_ready(node, rd):
            if not isinstance(error, NoPendingMembershipChange):
                raise error
    if node.has_ready():
        raise UnsettledNode(f"node {node.raft.id} still has a Ready after {READY_ROUNDS} rounds")
    return sent


def process_ready(
    node: Node,
    rd: Ready,
    *,
    forget_finished_change: bool = True,
    advance_every_ready: bool = False,
) -> list[tuple[int, Error]]:
    """One Ready: persist it, apply its committed entries, advance. Returns the
    configuration changes raft-rs refused, by entry index.

    The #349 policy: raft-rs's `commit_apply` appends another Finalize on every call
    while a joint leader waits for its Finalize. `advance_every_ready` reports the
    applied index after every Ready (`RawNode::advance`), which a loop "until nothing is
    ready" would never end; otherwise it is reported only when the Ready applied
    entries (`advance_append`, then `advance_apply`), which still appends a Finalize on
    each such advance while joint. `forget_finished_change`: see
    `record_configuration` and `forget_change_after_snapshot`."""
    persist(node.raft.raft_log.store.wl(), rd)
    if forget_finished_change and not rd.snapshot.is_empty():
        forget_change_after_snapshot(node, rd.snapshot.metadata.pending_membership_change_index)
    committed = rd.committed_entries or []
    refused = []
    for entry in committed:
        error = apply_entry(node, entry, forget_finished_change)
        if error is not None:
            refused.append((entry.index, error))
    if advance_every_ready:
        node.advance(rd)
    else:
        node.advance_append(rd)
        if committed:
            node.advance_apply(committed[-1].index)
        elif not rd.snapshot.is_empty():
            # Installing a snapshot applies everything up to its index.
            node.advance_apply(rd.snapshot.metadata.index)
    return refused


def persist(core: MemStorageCore, rd: Ready) -> None:
    """Stores what a Ready asks to: its snapshot, new entries and hard state."""
    if not rd.snapshot.is_empty():
        core.apply_snapshot(rd.snapshot)
    if rd.entries:
        core.append(rd.entries)
    if rd.hs is not None:
        core.set_hardstate(rd.hs)


def apply_entry(node: Node, entry: Entry, forget_finished_change: bool = True) -> Error | None:
    """Applies one committed entry (only configuration changes matter to Raft); returns
    the error raft-rs refused a change with."""
    if entry.entry_type != EntryType.EntryConfChange or not entry.data:
        return None
    return apply_conf_change(node, decode_conf_change(entry.data), forget_finished_change)


def apply_conf_change(
    node: Node, cc: ConfChange, forget_finished_change: bool = True
) -> Error | None:
    """Applies a committed configuration change (Begin and Finalize through the `Raft`
    object, since `RawNode::apply_conf_change` skips a Finalize) and records the
    membership in storage; returns the error raft-rs refused the change with."""
    raft = node.raft
    refused: Error | None = None
    try:
        if cc.change_type == ConfChangeType.BeginMembershipChange:
            raft.begin_membership_change(cc)
        elif cc.change_type == ConfChangeType.FinalizeMembershipChange:
            raft.finalize_membership_change(cc)
        else:
            node.apply_conf_change(cc)
    except Error as error:
        refused = error
    record_configuration(node, forget_finished_change)
    return refused


def record_configuration(node: Node, forget_finished_change: bool = True) -> None:
    """Records the node's configuration, and the joint change in progress, in storage.

    raft-rs's `MemStorage::set_conf_state` records a pending change but never clears
    one (QUIRKS.md §5): with `forget_finished_change` the application's storage forgets
    a finished change, as an application's own storage would; without, the storage
    behaves as raft-rs's does (the conformance host, held message for message to the
    raft crate's adapter)."""
    raft = node.raft
    core = raft.raft_log.store.wl()
    conf = raft.prs().configuration
    change = raft.pending_membership_change
    pending: tuple[ConfState, int] | None = None
    if change is not None and change.configuration is not None:
        target = change.configuration
        pending = (sorted_conf_state(target.nodes, target.learners), change.start_index)
    core.set_conf_state(sorted_conf_state(conf.voters, conf.learners), pending)
    if pending is None and forget_finished_change:
        core.raft_state.pending_conf_state = None
        core.raft_state.pending_conf_state_start_index = None


def forget_change_after_snapshot(node: Node, pending_index: int) -> None:
    """After installing a snapshot without a pending membership change, forgets the one
    the node and its storage may still hold: raft-rs's `restore` and
    `MemStorageCore::apply_snapshot` set a pending change from a snapshot that has one
    but never clear it (QUIRKS.md §5), and a stale one can later overtake a new change
    and split the cluster."""
    if pending_index:
        return
    raft = node.raft
    raft.pending_membership_change = None
    state = raft.raft_log.store.wl().raft_state
    state.pending_conf_state = None
    state.pending_conf_state_start_index = None


def sorted_conf_state(voters: object, learners: object) -> ConfState:
    """A ConfState with ids in ascending order."""
    return ConfState(sorted(voters), sorted(learners))  # type: ignore[call-overload]
