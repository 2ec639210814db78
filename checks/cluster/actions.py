"""Carrying out the model's actions (`model.actions`) on a cluster of real nodes.

The cluster has no actions of its own: the implementation target asks the model which
actions are enabled on the cluster's abstract state and performs each here, the way the
environment would: an election timeout ticks the node until its election timer fires;
a heartbeat timeout ticks a leader until it broadcasts; delivering a message lets the
receiver step it *and* run its application loop (persist, send, apply, advance) in the
same action. What the node then does is its own business: the refinement check
compares the result with what the model allows.

Every action changes at most one node. A node that raises (a `RaftPanic`, a broken
contract, any exception) leaves the cluster in an error state that the target reports
as a violation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from checks.cluster.app import handle_ready
from checks.cluster.cluster import Cluster, ClusterSettings, MessageKey
from model.actions import Action
from model.state import ids
from raft_ref.eraftpb import ConfState
from raft_ref.errors import ProposalDropped, RequestSnapshotDropped, StepPeerNotFound
from raft_ref.raft import StateRole
from raft_ref.raw_node import RawNode, SnapshotStatus
from raft_ref.read_only import ReadState
from raft_ref.storage import MemStorage

Node = RawNode[MemStorage]


def perform(
    settings: ClusterSettings, c: Cluster, action: Action, key: MessageKey | None = None
) -> Cluster:
    """The cluster after the environment takes `action`; `key` names the implementation
    message of a message action."""
    name, args = action
    after = c.derive()
    try:
        if name == "Deliver":
            assert key is not None
            _deliver(after, key)
        elif name == "Drop":
            assert key is not None
            after.net.take(key)
            after.used = after.used._replace(drops=after.used.drops + 1)
        elif name == "Duplicate":
            assert key is not None
            after.net.duplicate(key)
            after.used = after.used._replace(duplicates=after.used.duplicates + 1)
        else:
            node_id = args[0]
            assert isinstance(node_id, int)
            node = _NODE_EVENTS[name](settings, after, after.node_to_change(node_id), args)
            _settle(after, node_id, node)
    except Exception as error:
        failed = c.derive()
        failed.error = f"{type(error).__name__}: {error}"
        return failed
    return after


def _deliver(c: Cluster, key: MessageKey) -> None:
    m = c.net.take(key)
    node = c.node_to_change(m.to)
    try:
        node.step(m)
    except StepPeerNotFound:
        return  # a response from a node it keeps no progress for: dropped by RawNode
    _settle(c, m.to, node)


def _settle(c: Cluster, node_id: int, node: Node) -> None:
    """Runs the node's application loop, sends what it sends, keeps the reads it
    answered (with the index each had to reach) and puts the node back."""
    reads: list[ReadState] = []
    c.net.send(handle_ready(node, reads))
    c.replace_node(node_id, node)
    if reads:
        answered = tuple(
            (number, rs.index, c.read_required[number - 1])
            for rs in reads
            if (number := read_number(rs.request_ctx)) > 0
        )
        served = list(c.served)
        served[node_id - 1] = (*served[node_id - 1], *answered)
        c.served = tuple(served)


def read_number(ctx: bytes) -> int:
    """The number of a ReadIndex request from its context (`read N`), 0 for none."""
    return int(ctx[5:]) if ctx.startswith(b"read ") else 0


NodeEvent = Callable[[ClusterSettings, Cluster, Node, tuple[object, ...]], Node]


def _timeout(settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]) -> Node:
    """Tick until the election timer fires (it restarts from 0 when it does). A node
    whose timer cannot fire (not promotable) is left as the ticks made it."""
    raft = node.raft
    for _ in range(raft.randomized_election_timeout + 1):
        node.tick()
        if raft.election_elapsed == 0:
            break
    return node


def _heartbeat(settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]) -> Node:
    """Tick the leader until its heartbeat timer fires (it broadcasts heartbeats, and
    with check quorum may step down on the way)."""
    raft = node.raft
    for _ in range(settings.heartbeat_tick):
        node.tick()
        if raft.state is not StateRole.Leader or raft.heartbeat_elapsed == 0:
            break
    return node


def _client_request(
    settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]
) -> Node:
    c.used = c.used._replace(client_requests=c.used.client_requests + 1)
    # Whether dropping the proposal was allowed is the refinement check's to judge.
    with contextlib.suppress(ProposalDropped):
        node.propose(b"", b"client %d" % c.used.client_requests)
    return node


def _propose_membership_change(
    settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]
) -> Node:
    """Propose the target (voters, learners); a target of (0, 0) is a proposal made
    while a change is pending, for which the current configuration is proposed."""
    _, voters, learners = args
    assert isinstance(voters, int) and isinstance(learners, int)
    c.used = c.used._replace(membership_changes=c.used.membership_changes + 1)
    if voters:
        target = ConfState(ids(voters), ids(learners))
    else:
        target = node.raft.prs().configuration.to_conf_state()
    with contextlib.suppress(ProposalDropped):
        node.raft.propose_membership_change(target)
    return node


def _restart(settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]) -> Node:
    """Crash and recover from storage: the application restarts the node with the
    applied index it had reached (its state machine is durable)."""
    raft = node.raft
    config = settings.node_config(raft.id, applied=raft.raft_log.applied)
    c.used = c.used._replace(crashes=c.used.crashes + 1)
    return RawNode(config, raft.raft_log.store.clone())


def _read_index(
    settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]
) -> Node:
    """A client asks for a read index; the request remembers the highest index
    committed anywhere now (what its answer must reach)."""
    c.used = c.used._replace(reads=c.used.reads + 1)
    required = max(slot.node.raft.raft_log.committed for slot in c.slots)
    c.read_required = (*c.read_required, required)
    node.read_index(b"read %d" % c.used.reads)
    return node


def _compact(settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]) -> Node:
    """The application discards its log up to the applied index (kept: raft-rs needs
    that entry's term)."""
    c.used = c.used._replace(compactions=c.used.compactions + 1)
    node.raft.raft_log.store.wl().compact(node.raft.raft_log.applied)
    return node


def _request_snapshot(
    settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]
) -> Node:
    """The application asks the leader for a snapshot at least at its commit index."""
    c.used = c.used._replace(snapshot_requests=c.used.snapshot_requests + 1)
    with contextlib.suppress(RequestSnapshotDropped):
        node.request_snapshot(node.raft.raft_log.committed)
    return node


def _report_snapshot(
    settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]
) -> Node:
    """The leader's application reports how sending a snapshot to a peer ended."""
    _, peer, delivered = args
    assert isinstance(peer, int)
    node.report_snapshot(peer, SnapshotStatus.Finish if delivered else SnapshotStatus.Failure)
    return node


def _transfer_leader(
    settings: ClusterSettings, c: Cluster, node: Node, args: tuple[object, ...]
) -> Node:
    transferee = args[1]
    assert isinstance(transferee, int)
    c.used = c.used._replace(transfers=c.used.transfers + 1)
    node.transfer_leader(transferee)
    return node


_NODE_EVENTS: dict[str, NodeEvent] = {
    "Timeout": _timeout,
    "Heartbeat": _heartbeat,
    "ClientRequest": _client_request,
    "ProposeMembershipChange": _propose_membership_change,
    "Restart": _restart,
    "TransferLeader": _transfer_leader,
    "ReadIndex": _read_index,
    "Compact": _compact,
    "RequestSnapshot": _request_snapshot,
    "ReportSnapshot": _report_snapshot,
}
