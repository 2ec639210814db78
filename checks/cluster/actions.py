"""Carrying out the model's actions (`model.actions`) on a cluster of real nodes.

The cluster has no actions of its own: the implementation target asks the model which
actions are enabled on the cluster's abstract state and performs each here, the way the
environment would: an election timeout ticks the node until its election timer fires;
a heartbeat timeout ticks a leader until it broadcasts; delivering a message lets the
receiver step it *and* run its application loop (persist, send, apply, advance) in the
same action. What the node then does is its own business: the refinement check
compares the result with what the model allows.

Every action changes at most one node, and what that node does depends only on its own
state and the event: a `StepMemo` remembers each (node state, event) it has seen, so
that a node state reached in many clusters is stepped once per event. A node that
raises (a `RaftPanic`, a broken contract, any exception) leaves the cluster in an error
state that the target reports as a violation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from checks.cluster.app import handle_ready
from checks.cluster.cluster import Cluster, ClusterSettings, MessageKey, NodeSlot, node_key_hash
from checks.cluster.node_key import message_key
from model.actions import Action
from model.state import ids
from raft_ref.eraftpb import ConfState, Message
from raft_ref.errors import ProposalDropped, RequestSnapshotDropped, StepPeerNotFound
from raft_ref.raft import StateRole
from raft_ref.raw_node import RawNode, SnapshotStatus
from raft_ref.read_only import ReadState
from raft_ref.storage import MemStorage

Node = RawNode[MemStorage]


@dataclass(frozen=True, slots=True)
class NodeStep:
    """What one node did on one event: the node after it (None: it dropped the event
    unchanged), what it sent and the reads it answered; or the error it raised."""

    node: Node | None
    key_hash: int
    sent: tuple[tuple[MessageKey, Message], ...]  # with the network's key of each
    reads: tuple[ReadState, ...]
    error: str | None = None


class StepMemo:
    """The steps of nodes already taken, by (node state, event). Nodes in a cluster are
    never mutated, so a remembered node is shared by every cluster that reaches it.
    A node state is known by its 64-bit hash (`NodeSlot.key_hash`), as the visited set
    knows states by fingerprints. Bounded: cleared when full. One memo belongs to one
    target (one configuration, one version of the code)."""

    __slots__ = ("_steps", "hits", "limit", "misses")

    def __init__(self, limit: int = 200_000) -> None:
        self._steps: dict[tuple[object, ...], NodeStep] = {}
        self.limit = limit
        self.hits = 0
        self.misses = 0

    # A memo travels to worker processes empty: each fills its own.
    def __reduce__(self) -> tuple[object, ...]:
        return (StepMemo, (self.limit,))

    def step(
        self, slot: NodeSlot, event: tuple[object, ...], run: Callable[[], NodeStep]
    ) -> NodeStep:
        key = (slot.key_hash, event)
        known = self._steps.get(key)
        if known is not None:
            self.hits += 1
            return known
        self.misses += 1
        done = run()
        if len(self._steps) >= self.limit:
            self._steps.clear()
        self._steps[key] = done
        return done


def perform(
    settings: ClusterSettings,
    c: Cluster,
    action: Action,
    key: MessageKey | None = None,
    memo: StepMemo | None = None,
) -> Cluster:
    """The cluster after the environment takes `action`; `key` names the implementation
    message of a message action."""
    name, args = action
    after = c.derive()
    if name == "Drop":
        assert key is not None
        after.net.take(key)
        after.used = after.used._replace(drops=after.used.drops + 1)
        return after
    if name == "Duplicate":
        assert key is not None
        after.net.duplicate(key)
        after.used = after.used._replace(duplicates=after.used.duplicates + 1)
        return after
    if name == "Deliver":
        assert key is not None
        message = after.net.take(key)
        node_id = message.to
        event: tuple[object, ...] = (name, key)

        def run() -> NodeStep:
            return _deliver(c.slots[node_id - 1].node, message)

    else:
        node_id = args[0]
        assert isinstance(node_id, int)
        book, act = _NODE_EVENTS[name]
        payload = book(after)
        event = (name, args, payload)

        def run() -> NodeStep:
            try:
                node = act(settings, c.slots[node_id - 1].node.clone(), args, payload)
            except Exception as error:
                return _failed(error)
            return _settled(node)

    slot = c.slots[node_id - 1]
    done = run() if memo is None else memo.step(slot, event, run)
    if done.error is not None:
        failed = c.derive()
        failed.error = done.error
        return failed
    _put_back(after, node_id, done)
    return after


def _deliver(node: Node, m: Message) -> NodeStep:
    changed = node.clone()
    try:
        changed.step(m)
    except StepPeerNotFound:
        # A response from a node it keeps no progress for: dropped by RawNode.
        return NodeStep(None, 0, (), ())
    except Exception as error:
        return _failed(error)
    return _settled(changed)


def _settled(node: Node) -> NodeStep:
    """The node after its application loop has run (persist, send, apply, advance)."""
    reads: list[ReadState] = []
    try:
        sent = handle_ready(node, reads)
    except Exception as error:
        return _failed(error)
    keyed = tuple((message_key(m), m) for m in sent)
    return NodeStep(node, node_key_hash(node), keyed, tuple(reads))


def _failed(error: BaseException) -> NodeStep:
    return NodeStep(None, 0, (), (), f"{type(error).__name__}: {error}")


def _put_back(c: Cluster, node_id: int, done: NodeStep) -> None:
    """Puts the stepped node back, sends what it sent and keeps the reads it answered
    (with the index each had to reach)."""
    if done.node is None:
        return
    c.net.send_keyed(done.sent)
    c.put_node(node_id, done.node, done.key_hash)
    if done.reads:
        answered = tuple(
            (number, rs.index, c.read_required[number - 1])
            for rs in done.reads
            if (number := read_number(rs.request_ctx)) > 0
        )
        served = list(c.served)
        served[node_id - 1] = (*served[node_id - 1], *answered)
        c.served = tuple(served)


def read_number(ctx: bytes) -> int:
    """The number of a ReadIndex request from its context (`read N`), 0 for none."""
    return int(ctx[5:]) if ctx.startswith(b"read ") else 0


# A node event is two parts: what the cluster books for it (its budget, the context a
# request carries), returning what the node is told besides the action's arguments;
# and what the node does, which depends only on the node, the arguments and that.
Book = Callable[[Cluster], object]
NodeEvent = Callable[[ClusterSettings, Node, tuple[object, ...], object], Node]


def _counted(field: str) -> Book:
    def book(c: Cluster) -> object:
        c.used = c.used._replace(**{field: getattr(c.used, field) + 1})
        return None

    return book


def _nothing(c: Cluster) -> object:
    return None


def _book_client_request(c: Cluster) -> object:
    c.used = c.used._replace(client_requests=c.used.client_requests + 1)
    return b"client %d" % c.used.client_requests


def _book_read(c: Cluster) -> object:
    """A read request is numbered, and remembers the highest index committed anywhere
    now (what its answer must reach)."""
    c.used = c.used._replace(reads=c.used.reads + 1)
    required = max(slot.node.raft.raft_log.committed for slot in c.slots)
    c.read_required = (*c.read_required, required)
    return b"read %d" % c.used.reads


def _timeout(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    """Tick until the election timer fires (it restarts from 0 when it does). A node
    whose timer cannot fire (not promotable) is left as the ticks made it."""
    raft = node.raft
    for _ in range(raft.randomized_election_timeout + 1):
        node.tick()
        if raft.election_elapsed == 0:
            break
    return node


def _heartbeat(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    """Tick the leader until its heartbeat timer fires (it broadcasts heartbeats, and
    with check quorum may step down on the way)."""
    raft = node.raft
    for _ in range(settings.heartbeat_tick):
        node.tick()
        if raft.state is not StateRole.Leader or raft.heartbeat_elapsed == 0:
            break
    return node


def _client_request(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    # Whether dropping the proposal was allowed is the refinement check's to judge.
    assert isinstance(payload, bytes)
    with contextlib.suppress(ProposalDropped):
        node.propose(b"", payload)
    return node


def _propose_membership_change(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    """Propose the target (voters, learners); a target of (0, 0) is a proposal made
    while a change is pending, for which the current configuration is proposed."""
    _, voters, learners = args
    assert isinstance(voters, int) and isinstance(learners, int)
    if voters:
        target = ConfState(ids(voters), ids(learners))
    else:
        target = node.raft.prs().configuration.to_conf_state()
    with contextlib.suppress(ProposalDropped):
        node.raft.propose_membership_change(target)
    return node


def _restart(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    """Crash and recover from storage: the application restarts the node with the
    applied index it had reached (its state machine is durable)."""
    raft = node.raft
    config = settings.node_config(raft.id, applied=raft.raft_log.applied)
    return RawNode(config, raft.raft_log.store.clone())


def _read_index(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    """A client asks for a read index (numbered by `_book_read`)."""
    assert isinstance(payload, bytes)
    node.read_index(payload)
    return node


def _compact(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    """The application discards its log up to the applied index (kept: raft-rs needs
    that entry's term)."""
    node.raft.raft_log.store.wl().compact(node.raft.raft_log.applied)
    return node


def _request_snapshot(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    """The application asks the leader for a snapshot at least at its commit index."""
    with contextlib.suppress(RequestSnapshotDropped):
        node.request_snapshot(node.raft.raft_log.committed)
    return node


def _report_snapshot(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    """The leader's application reports how sending a snapshot to a peer ended."""
    _, peer, delivered = args
    assert isinstance(peer, int)
    node.report_snapshot(peer, SnapshotStatus.Finish if delivered else SnapshotStatus.Failure)
    return node


def _transfer_leader(
    settings: ClusterSettings, node: Node, args: tuple[object, ...], payload: object
) -> Node:
    transferee = args[1]
    assert isinstance(transferee, int)
    node.transfer_leader(transferee)
    return node


_NODE_EVENTS: dict[str, tuple[Book, NodeEvent]] = {
    "Timeout": (_nothing, _timeout),
    "Heartbeat": (_nothing, _heartbeat),
    "ClientRequest": (_book_client_request, _client_request),
    "ProposeMembershipChange": (_counted("membership_changes"), _propose_membership_change),
    "Restart": (_counted("crashes"), _restart),
    "TransferLeader": (_counted("transfers"), _transfer_leader),
    "ReadIndex": (_book_read, _read_index),
    "Compact": (_counted("compactions"), _compact),
    "RequestSnapshot": (_counted("snapshot_requests"), _request_snapshot),
    "ReportSnapshot": (_nothing, _report_snapshot),
}
