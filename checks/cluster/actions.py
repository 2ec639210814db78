"""What may happen to a cluster next, and doing it.

Actions are as coarse as the implementation's own steps, so that a depth bound counts
meaningful events: an election timeout ticks a node until it campaigns; a heartbeat
timeout ticks a leader until it broadcasts; delivering a message lets the receiver step
it *and* run its application loop (persist, send, apply, advance) in the same action.

Every action changes at most one node. A step that would exceed a bound (term, log
length, messages in flight) is not explored. A node that raises (a `RaftPanic`, a
broken contract, any exception) leaves the cluster in an error state that the target
reports as a violation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from checks.cluster.app import handle_ready
from checks.cluster.cluster import Cluster, ClusterSettings, MessageKey
from model.params import CHANGE_RULES  # the same rules as the model, by name
from raft_ref.eraftpb import ConfState, Message, MessageType
from raft_ref.errors import ProposalDropped, StepPeerNotFound
from raft_ref.raft import Raft, StateRole
from raft_ref.raw_node import RawNode
from raft_ref.storage import MemStorage

_MT = MessageType


@dataclass(frozen=True)
class Bounds:
    """Bounds of an exploration. `max_log` counts entries after the initial snapshot."""

    max_term: int = 3  # two elections: the first leader and one successor
    max_log: int = 4
    max_msgs: int = 3
    max_crashes: int = 0
    max_client_requests: int = 1
    max_membership_changes: int = 1
    max_drops: int = 0
    max_duplicates: int = 0
    changes: tuple[str, ...] = ("add_voter", "shrink_to_one")
    heartbeats: bool = True  # leader heartbeat timeouts
    read_index: bool = False  # ReadIndex requests at the leader
    transfer_leader: bool = False  # leader transfer requests

    def validate(self) -> None:
        unknown = set(self.changes) - set(CHANGE_RULES)
        if unknown:
            raise ValueError(f"unknown membership change rules: {', '.join(sorted(unknown))}")
        if self.max_term < 1:
            raise ValueError("max_term must be at least 1")


class ImplAction(NamedTuple):
    """An action on the cluster: a name and its parameters (node ids, a message key, a
    target configuration)."""

    name: str
    args: tuple[object, ...]


# --- which actions are enabled -----------------------------------------------------------


def enabled_actions(settings: ClusterSettings, bounds: Bounds, c: Cluster) -> list[ImplAction]:
    """The actions worth trying in `c` (some may still turn out to change nothing)."""
    if c.error is not None:
        return []
    out: list[ImplAction] = []
    used = c.used
    for node_id in range(1, settings.servers + 1):
        raft = c.node(node_id).raft
        # Actions sure to break the term or log bound are not tried.
        log_full = raft.raft_log.last_index() > bounds.max_log
        if raft.state is StateRole.Leader:
            if bounds.heartbeats:
                out.append(ImplAction("Heartbeat", (node_id,)))
            if used.client_requests < bounds.max_client_requests and not log_full:
                out.append(ImplAction("ClientRequest", (node_id,)))
            if used.membership_changes < bounds.max_membership_changes and not log_full:
                for voters, learners in membership_targets(settings, bounds, c, node_id):
                    out.append(ImplAction("ProposeMembershipChange", (node_id, voters, learners)))
            if bounds.read_index:
                out.append(ImplAction("ReadIndex", (node_id,)))
            if bounds.transfer_leader:
                for other in sorted(raft.prs().voter_ids()):
                    if other != node_id:
                        out.append(ImplAction("TransferLeader", (node_id, other)))
        elif raft.promotable() and (settings.pre_vote or raft.term < bounds.max_term):
            out.append(ImplAction("Timeout", (node_id,)))
        if used.crashes < bounds.max_crashes:
            out.append(ImplAction("Restart", (node_id,)))
    for key in sorted(c.net, key=_network_order):
        out.append(ImplAction("Deliver", (key,)))
        if used.drops < bounds.max_drops:
            out.append(ImplAction("Drop", (key,)))
        if used.duplicates < bounds.max_duplicates:
            out.append(ImplAction("Duplicate", (key,)))
    return out


def _network_order(key: MessageKey) -> tuple[object, ...]:
    # Keys hold bytes and None: order by the plain-int fields first, then by repr.
    return (key[1], key[2], key[0], key[3], key[5], repr(key))


def membership_targets(
    settings: ClusterSettings, bounds: Bounds, c: Cluster, leader: int
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The configurations (voters, learners) the allowed change rules lead to from the
    leader's, when it has no change pending (a proposal while one is pending becomes an
    empty entry in raft-rs: nothing a second proposal could add to the exploration)."""
    raft = c.node(leader).raft
    if raft.has_pending_conf():
        return []
    conf = raft.prs().configuration
    voters, learners = set(conf.voters), set(conf.learners)
    outside = set(range(1, settings.servers + 1)) - voters - learners
    targets: set[tuple[frozenset[int], frozenset[int]]] = set()
    for rule in bounds.changes:
        if rule == "add_voter":
            targets |= {(frozenset(voters | {j}), frozenset(learners)) for j in outside}
        elif rule == "add_learner":
            targets |= {(frozenset(voters), frozenset(learners | {j})) for j in outside}
        elif rule == "promote":
            targets |= {(frozenset(voters | {j}), frozenset(learners - {j})) for j in learners}
        elif rule == "remove_voter" and len(voters) > 1:
            targets |= {(frozenset(voters - {j}), frozenset(learners)) for j in voters}
        elif rule == "remove_learner":
            targets |= {(frozenset(voters), frozenset(learners - {j})) for j in learners}
        elif rule == "shrink_to_one" and len(voters) >= 3:
            targets |= {(frozenset({j}), frozenset(learners)) for j in voters}
    return sorted((tuple(sorted(v)), tuple(sorted(ls))) for v, ls in targets)


# --- performing an action ------------------------------------------------------------------


def perform(
    settings: ClusterSettings, bounds: Bounds, c: Cluster, action: ImplAction
) -> Cluster | None:
    """The cluster after `action`, or None when it changes nothing or breaks a bound."""
    name, args = action
    after = c.derive()
    try:
        if name == "Deliver":
            (key,) = args
            changed = _deliver(settings, after, key)  # type: ignore[arg-type]
        elif name == "Drop":
            (key,) = args
            after.remove_one(key)  # type: ignore[arg-type]
            after.used = after.used._replace(drops=after.used.drops + 1)
            changed = 0
        elif name == "Duplicate":
            (key,) = args
            m, count = after.net[key]  # type: ignore[index]
            after.net[key] = (m, count + 1)  # type: ignore[index]
            after.used = after.used._replace(duplicates=after.used.duplicates + 1)
            changed = 0
        else:
            node_id = args[0]
            assert isinstance(node_id, int)
            event = _NODE_EVENTS[name]
            changed_node = event(settings, after, after.node_to_change(node_id), args)
            if changed_node is None:
                return None
            after.send(handle_ready(changed_node))
            after.replace_node(node_id, changed_node)
            changed = node_id
    except Exception as error:
        failed = c.derive()
        failed.error = f"{type(error).__name__}: {error}"
        return failed
    return _within_bounds(settings, bounds, after, changed)


def _deliver(settings: ClusterSettings, c: Cluster, key: MessageKey) -> int:
    m = c.remove_one(key)
    node = c.node_to_change(m.to)
    try:
        node.step(m)
    except StepPeerNotFound:
        return 0  # a response from a node it keeps no progress for: dropped by RawNode
    c.send(handle_ready(node))
    c.replace_node(m.to, node)
    return m.to


NodeEvent = Callable[
    [ClusterSettings, Cluster, RawNode[MemStorage], tuple[object, ...]],
    RawNode[MemStorage] | None,
]


def _timeout(
    settings: ClusterSettings, c: Cluster, node: RawNode[MemStorage], args: tuple[object, ...]
) -> RawNode[MemStorage] | None:
    """Tick until the election timer fires and the node campaigns (None if it does not:
    e.g. committed configuration changes are not applied yet)."""
    raft = node.raft
    term, role = raft.term, raft.state
    for _ in range(settings.election_tick + 2):
        node.tick()
        if raft.term != term or raft.state is not role:
            return node
    return None


def _heartbeat(
    settings: ClusterSettings, c: Cluster, node: RawNode[MemStorage], args: tuple[object, ...]
) -> RawNode[MemStorage] | None:
    """Tick the leader until its heartbeat timer fires (it broadcasts heartbeats, and
    with check quorum may step down on the way)."""
    raft = node.raft
    for _ in range(settings.heartbeat_tick):
        node.tick()
        if raft.state is not StateRole.Leader:
            return node
        if any(m.msg_type == _MT.MsgHeartbeat for m in raft.msgs):
            return node
    return node


def _client_request(
    settings: ClusterSettings, c: Cluster, node: RawNode[MemStorage], args: tuple[object, ...]
) -> RawNode[MemStorage] | None:
    try:
        node.propose(b"", b"client %d" % (c.used.client_requests + 1))
    except ProposalDropped:
        return None
    c.used = c.used._replace(client_requests=c.used.client_requests + 1)
    return node


def _propose_membership_change(
    settings: ClusterSettings, c: Cluster, node: RawNode[MemStorage], args: tuple[object, ...]
) -> RawNode[MemStorage] | None:
    _, voters, learners = args
    assert isinstance(voters, tuple) and isinstance(learners, tuple)
    try:
        node.raft.propose_membership_change(ConfState(list(voters), list(learners)))
    except ProposalDropped:
        return None
    c.used = c.used._replace(membership_changes=c.used.membership_changes + 1)
    return node


def _restart(
    settings: ClusterSettings, c: Cluster, node: RawNode[MemStorage], args: tuple[object, ...]
) -> RawNode[MemStorage] | None:
    """Crash and recover from storage: the application restarts the node with the
    applied index it had reached (its state machine is durable)."""
    raft = node.raft
    config = settings.node_config(raft.id, applied=raft.raft_log.applied)
    c.used = c.used._replace(crashes=c.used.crashes + 1)
    return RawNode(config, raft.raft_log.store.clone())


def _read_index(
    settings: ClusterSettings, c: Cluster, node: RawNode[MemStorage], args: tuple[object, ...]
) -> RawNode[MemStorage] | None:
    node.read_index(b"read")
    return node


def _transfer_leader(
    settings: ClusterSettings, c: Cluster, node: RawNode[MemStorage], args: tuple[object, ...]
) -> RawNode[MemStorage] | None:
    transferee = args[1]
    assert isinstance(transferee, int)
    node.transfer_leader(transferee)
    return node


_NODE_EVENTS: dict[str, NodeEvent] = {
    "Timeout": _timeout,
    "Heartbeat": _heartbeat,
    "ClientRequest": _client_request,
    "ProposeMembershipChange": _propose_membership_change,
    "Restart": _restart,
    "ReadIndex": _read_index,
    "TransferLeader": _transfer_leader,
}


# --- bounds and the network reduction ------------------------------------------------------


def _within_bounds(
    settings: ClusterSettings, bounds: Bounds, c: Cluster, changed: int
) -> Cluster | None:
    if changed:
        raft = c.node(changed).raft
        if raft.term > bounds.max_term or raft.raft_log.last_index() > bounds.max_log + 1:
            return None
    _forget_ignored_messages(settings, c)
    if c.messages_in_flight() > bounds.max_msgs:
        return None
    return c


def _forget_ignored_messages(settings: ClusterSettings, c: Cluster) -> None:
    """Removes messages whose receiver ignores them now and in every later state (its
    term only grows; it is candidate or leader at most once per term). Delivering one
    would change nothing: a reduction of the state space, not of behaviours."""
    answers_stale = settings.pre_vote or settings.check_quorum
    ignored = [
        key
        for key, (m, _) in c.net.items()
        if _ignored_forever(c.node(m.to).raft, m, answers_stale)
    ]
    for key in ignored:
        del c.net[key]


def _ignored_forever(raft: Raft[MemStorage], m: Message, answers_stale: bool) -> bool:
    term = raft.term
    t = m.msg_type
    if m.term < term:
        if t == _MT.MsgRequestPreVote:
            return False  # answered with a rejection
        return not (answers_stale and t in (_MT.MsgAppend, _MT.MsgHeartbeat))
    if m.term > term:
        return False
    state = raft.state
    if t == _MT.MsgRequestVoteResponse:
        return state is not StateRole.Candidate
    if t in (_MT.MsgAppendResponse, _MT.MsgHeartbeatResponse):
        return state is not StateRole.Leader
    return False
