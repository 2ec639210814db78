"""Refinement: every step of a cluster of `raft_ref` nodes is a step of the model.

`abstract(cluster)` maps a cluster to a model state (`model.state.State`): each node's
term, vote, role, leader, log (entry terms and kinds), commit and applied indexes,
configuration, votes received and, for a leader, each peer's match and next index and
whether it is in Replicate state; the messages in flight that the model represents;
the budget used.

`Refinement.holds(before, after)` checks one implementation step: the abstract state
after it must equal the abstract state before it (a stutter) or be reached from it by
a short sequence of model actions. One implementation step may be several model steps,
because the application loop runs inside it: delivering an append response is
`HandleAppendEntriesResponse`, then one `AppendEntries` per message the leader sends,
then `ApplyEntries` (once per configuration entry applied), then `AppendFinalize`. The
sequence is searched breadth-first, at most MAX_MODEL_STEPS long, among the actions of
the node the step changed (or of the network, for drops and duplicates), and pruned to
states on the way from before to after: other servers as after, messages in flight only
ones present before or after, the changed server's term, commit and applied indexes not
beyond after's. Results are cached per pair of abstract states.

Abstract states are compared on servers and network only: the budget counts the
exploration's bounded events, which the model search ignores (it runs with unlimited
budgets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from checks.cluster.cluster import Cluster, ClusterSettings, NodeSlot, message_key
from model import actions as model_actions
from model.actions import Action
from model.params import CHANGE_RULES, Params
from model.state import (
    Bag,
    Budget,
    Config,
    Entry,
    Kind,
    Msg,
    MsgType,
    Role,
    Server,
    State,
    bit,
    ids,
)
from raft_ref.eraftpb import (
    ConfChangeType,
    EntryType,
    Message,
    MessageType,
    decode_conf_change,
)
from raft_ref.eraftpb import Entry as ImplEntry
from raft_ref.progress import ProgressState
from raft_ref.raft import Raft, StateRole
from raft_ref.storage import MemStorage

# Model actions one implementation step may stand for, at most.
MAX_MODEL_STEPS = 8
# A bound no exploration reaches: the model's own bounds must never refuse a step.
_UNBOUNDED = 1_000

_MT = MessageType
_ROLE = {
    StateRole.Follower: Role.FOLLOWER,
    StateRole.PreCandidate: Role.PRE_CANDIDATE,
    StateRole.Candidate: Role.CANDIDATE,
    StateRole.Leader: Role.LEADER,
}
_SNAPSHOT_ENTRY = Entry(1, Kind.SNAPSHOT)


def refinement_params(settings: ClusterSettings) -> Params:
    """The model the cluster is checked against: same shape and protocol options, every
    membership change rule, and bounds that never bind."""
    return Params(
        nodes=settings.nodes,
        spares=settings.spares,
        pre_vote=settings.pre_vote,
        max_term=_UNBOUNDED,
        max_log=_UNBOUNDED,
        max_msgs=_UNBOUNDED,
        max_crashes=_UNBOUNDED,
        max_client_requests=_UNBOUNDED,
        max_membership_changes=_UNBOUNDED,
        max_drops=_UNBOUNDED,
        max_duplicates=_UNBOUNDED,
        changes=CHANGE_RULES,
        heartbeats=True,
        partial_appends=True,
    )


# --- the abstraction function ---------------------------------------------------------------


def _mask(ids: object) -> int:
    mask = 0
    for i in ids:  # type: ignore[attr-defined]
        mask |= 1 << (i - 1)
    return mask


_entry_memo: dict[tuple[int, int, bytes], Entry] = {}


def abstract_entry(e: ImplEntry) -> Entry:
    """An entry as the model sees it: its term and what kind of thing it carries."""
    memo_key = (int(e.entry_type), e.term, e.data)
    found = _entry_memo.get(memo_key)
    if found is not None:
        return found
    if e.entry_type == EntryType.EntryNormal:
        entry = Entry(e.term, Kind.DATA if e.data else Kind.EMPTY)
    else:
        cc = decode_conf_change(e.data)
        if cc.change_type == ConfChangeType.BeginMembershipChange:
            conf = cc.configuration
            assert conf is not None
            entry = Entry(e.term, Kind.BEGIN, _mask(conf.nodes), _mask(conf.learners))
        elif cc.change_type == ConfChangeType.FinalizeMembershipChange:
            entry = Entry(e.term, Kind.FINALIZE)
        else:
            raise ValueError(f"single-step conf change {cc.change_type.name} has no model")
    _entry_memo[memo_key] = entry
    return entry


def abstract_server(raft: Raft[MemStorage], servers: int) -> Server:
    log = raft.raft_log
    if log.first_index() != 2:
        raise ValueError("the model has no compacted logs")
    entries = (_SNAPSHOT_ENTRY, *map(abstract_entry, log.all_entries()))
    prs = raft.prs()
    conf = prs.configuration
    nxt = prs.next_configuration
    change = raft.pending_membership_change
    if nxt is not None:
        assert change is not None
        config = Config(
            _mask(conf.voters),
            _mask(conf.learners),
            _mask(nxt.voters),
            _mask(nxt.learners),
            change.start_index,
        )
    else:
        config = Config(_mask(conf.voters), _mask(conf.learners))
    role = _ROLE[raft.state]
    granted = rejected = 0
    if role in (Role.CANDIDATE, Role.PRE_CANDIDATE):
        for voter, vote in raft.votes.items():
            if vote:
                granted |= bit(voter)
            else:
                rejected |= bit(voter)
    match = [0] * servers
    next_ = [0] * servers
    replicate = 0
    if role == Role.LEADER:
        for node_id, pr in prs.iter():
            match[node_id - 1] = pr.matched
            next_[node_id - 1] = pr.next_idx
            if pr.state == ProgressState.Replicate:
                replicate |= bit(node_id)
    return Server(
        term=raft.term,
        vote=raft.vote,
        role=role,
        leader=raft.leader_id,
        log=entries,
        commit=log.committed,
        applied=log.applied,
        config=config,
        granted=granted,
        rejected=rejected,
        match=tuple(match),
        next=tuple(next_),
        replicate=replicate,
    )


_msg_memo: dict[tuple[object, ...], Msg | None] = {}


def abstract_message(m: Message) -> Msg | None:
    """A message as the model sees it; None for kinds the model does not have
    (ReadIndex, TimeoutNow, snapshots, ...)."""
    key = message_key(m)
    if key in _msg_memo:
        return _msg_memo[key]
    t = m.msg_type
    out: Msg | None
    if t in (_MT.MsgRequestVote, _MT.MsgRequestPreVote):
        kind = MsgType.VOTE if t == _MT.MsgRequestVote else MsgType.PRE_VOTE
        out = Msg(kind, m.from_, m.to, m.term, m.index, m.log_term)
    elif t in (_MT.MsgRequestVoteResponse, _MT.MsgRequestPreVoteResponse):
        kind = MsgType.VOTE_RESP if t == _MT.MsgRequestVoteResponse else MsgType.PRE_VOTE_RESP
        out = Msg(kind, m.from_, m.to, m.term, reject=int(m.reject))
    elif t == _MT.MsgAppend:
        entries = tuple(map(abstract_entry, m.entries))
        out = Msg(MsgType.APPEND, m.from_, m.to, m.term, m.index, m.log_term, entries, m.commit)
    elif t == _MT.MsgAppendResponse:
        hint = m.reject_hint if m.reject else 0
        out = Msg(
            MsgType.APPEND_RESP, m.from_, m.to, m.term, m.index, reject=int(m.reject), hint=hint
        )
    elif t == _MT.MsgHeartbeat:
        out = Msg(MsgType.HEARTBEAT, m.from_, m.to, m.term, commit=m.commit)
    elif t == _MT.MsgHeartbeatResponse:
        out = Msg(MsgType.HEARTBEAT_RESP, m.from_, m.to, m.term)
    else:
        out = None
    if len(_msg_memo) > 200_000:
        _msg_memo.clear()
    _msg_memo[key] = out
    return out


def _slot_server(slot: NodeSlot, servers: int) -> Server:
    server = slot.abstract
    if server is None:
        server = abstract_server(slot.node.raft, servers)
        slot.abstract = server
    assert isinstance(server, Server)
    return server


def abstract(p: Params, c: Cluster) -> State:
    """The model state `c` stands for (cached on `c`)."""
    known = c._abstract
    if known is not None:
        assert isinstance(known, State)
        return known
    servers = tuple(_slot_server(slot, p.servers) for slot in c.slots)
    counts: dict[Msg, int] = {}
    ignored = model_actions._ignored_forever
    for m, n in c.net.values():
        msg = abstract_message(m)
        if msg is None or ignored(p, servers[msg.dst - 1], msg):
            continue
        counts[msg] = counts.get(msg, 0) + n
    bag: Bag = tuple(sorted(counts.items()))
    state = State(servers, bag, Budget(*c.used))
    c._abstract = state
    return state


# --- the refinement check -------------------------------------------------------------------

View = tuple[tuple[Server, ...], Bag]  # what refinement compares: servers and network


@dataclass
class Divergence:
    """Why a step does not refine the model: the abstract states and what the model
    could do from the one before."""

    before: State
    after: State
    possible: list[Action]


class Event(NamedTuple):
    """An implementation step in model terms: its kind (`deliver`, `drop`, `duplicate`,
    `timeout`, `heartbeat`, `client`, `propose`, `restart` or `other`), the node it
    happened at (0: the network alone), the model message it concerns (None when the
    model does not represent it) and, for `propose`, the target (voters, learners)."""

    kind: str
    node: int
    msg: Msg | None = None
    target: tuple[int, int] = (0, 0)


class Refinement:
    """Checks implementation steps against the model with parameters `p`."""

    def __init__(self, p: Params) -> None:
        self.p = p
        self._verdicts: dict[tuple[View, View, Event], bool] = {}

    def holds(self, before: Cluster, event: Event, after: Cluster) -> bool:
        """Whether the step `event` from `before` to `after` refines the model."""
        if after.error is not None:
            return True  # reported by the implementation-error invariant
        a = abstract(self.p, before)
        b = abstract(self.p, after)
        va, vb = (a.servers, a.network), (b.servers, b.network)
        if va == vb:
            return True
        key = (va, vb, event)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._search(a, event, b)
            if len(self._verdicts) > 500_000:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def explain(self, before: Cluster, after: Cluster) -> Divergence:
        a = abstract(self.p, before)
        b = abstract(self.p, after)
        possible = [action for action, _ in model_actions.successors(self.p, a)]
        return Divergence(a, b, possible)

    def _search(self, a: State, event: Event, b: State) -> bool:
        """Whether `b` is reached from `a` by the model action `event` stands for,
        followed by at most MAX_MODEL_STEPS - 1 actions of the application loop."""
        node = event.node
        for k, (was, now) in enumerate(zip(a.servers, b.servers, strict=True)):
            if k + 1 != node and was != now:
                return False  # an implementation step changes only the acting node
        goal = (b.servers, b.network)
        allowed = dict(a.network)
        for m, n in b.network:
            allowed[m] = max(n, allowed.get(m, 0))
        target = b.servers[node - 1] if node else None
        frontier = []
        seen: set[View] = set()
        for y in self._first_steps(a, event):
            view = (y.servers, y.network)
            if view == goal:
                return True
            if view not in seen and _on_the_way(y, node, target, b, allowed):
                seen.add(view)
                frontier.append(y)
        if not node:
            return False
        for _ in range(MAX_MODEL_STEPS - 1):
            following: list[State] = []
            for x in frontier:
                for y in self._follow_ups(x, node, b):
                    view = (y.servers, y.network)
                    if view == goal:
                        return True
                    if view in seen or not _on_the_way(y, node, target, b, allowed):
                        continue
                    seen.add(view)
                    following.append(y)
            if not following:
                return False
            frontier = following
        return False

    def _first_steps(self, x: State, event: Event) -> list[State]:
        """The model states the event itself may lead to."""
        p, acts, i, m = self.p, model_actions, event.node, event.msg
        kind = event.kind
        held = m is not None and any(m == k for k, _ in x.network)
        out: list[State | None] = []
        if kind == "deliver":
            if held:
                assert m is not None
                # A receiver may also ignore a message the model would handle (check
                # quorum's leader lease): that is the model dropping it.
                out += [acts.deliver(p, x, m), acts.drop_message(p, x, m)]
            else:
                # A message the model does not have (or forgets) changes nothing, except
                # TimeoutNow, which makes the receiver campaign.
                out += [x, acts.timeout(p, x, i)]
        elif kind in ("drop", "duplicate"):
            if held:
                assert m is not None
                step = acts.drop_message if kind == "drop" else acts.duplicate_message
                out.append(step(p, x, m))
            else:
                out.append(x)
        elif kind == "timeout":
            out.append(acts.timeout(p, x, i))
        elif kind == "heartbeat":
            # With check quorum a leader that heard from no quorum steps down on a tick:
            # it loses exactly what a restart loses.
            # Heartbeats already in flight are sent again: the model duplicates them
            # (a follow-up), as its Heartbeat refuses to repeat all of them.
            out += [acts.heartbeat(p, x, i), acts.restart(p, x, i), x]
        elif kind == "client":
            out.append(acts.client_request(p, x, i))
        elif kind == "propose":
            voters, learners = event.target
            out += [
                acts.propose_membership_change(p, x, i, voters, learners),
                acts.propose_membership_change(p, x, i, 0, 0),
            ]
        elif kind == "restart":
            out.append(acts.restart(p, x, i))
        else:
            out.append(x)
        return [y for y in out if y is not None]

    def _follow_ups(self, x: State, i: int, b: State) -> Iterator[State]:
        """Model successors of `x` that node `i`'s application loop may take after the
        event: sending appends and heartbeats, applying entries, appending Finalize."""
        p = self.p
        acts = model_actions
        s = x.servers[i - 1]
        steps: list[Callable[[], State | None]] = [lambda: acts.apply_entries(p, x, i)]
        if s.role == Role.LEADER:
            steps += [
                lambda: acts.append_finalize(p, x, i),
                lambda: acts.heartbeat(p, x, i),
            ]
            # Appends: what the messages in flight after the step show, and one entry
            # or all available to each peer (a message its receiver ignores forever
            # leaves the network at once, yet moves the peer's next index).
            sends = {
                (m.dst, len(m.entries))
                for m, _ in b.network
                if m.src == i and m.type == MsgType.APPEND
            }
            for j in ids(s.config.members() & ~bit(i)):
                available = len(s.log) + 1 - s.next[j - 1]
                sends |= {(j, min(1, available)), (j, available)}
            for j, count in sorted(sends):
                steps.append(lambda j=j, n=count: acts.append_entries(p, x, i, j, n))  # type: ignore[misc]
        for m, _ in x.network:
            if m.src == i:
                steps.append(lambda m=m: acts.duplicate_message(p, x, m))  # type: ignore[misc]
        for step in steps:
            y = step()
            if y is not None:
                yield y


def _on_the_way(
    y: State, node: int, target: Server | None, b: State, allowed: dict[Msg, int]
) -> bool:
    """Whether `y` may lie on a path of model steps from the state before to `b`."""
    for k, (s, t) in enumerate(zip(y.servers, b.servers, strict=True)):
        if k + 1 != node and s != t:
            return False
    for m, n in y.network:
        if n > allowed.get(m, 0):
            return False
    if target is not None:
        s = y.servers[node - 1]
        if s.term > target.term or s.commit > target.commit or s.applied > target.applied:
            return False
    return True
