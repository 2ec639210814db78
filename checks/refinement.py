"""Refinement: every step of a cluster of `raft_ref` nodes is a step of the model.

`abstract(p, cluster)` maps a cluster to a model state (`model.state.State`): each
node's term, vote, role, leader, log (entry terms and kinds), commit and applied
indexes, configuration, votes received, pending conf index and, for a leader, each
peer's match and next index, whether it is in Replicate state and whether it is paused;
every message in flight (a kind the model lacks becomes `MsgType.UNKNOWN`, which no
model step produces); the budget used.

The implementation target takes the model's own actions (`model.actions.enabled` on the
abstract state) and carries each out on the real nodes. The step refines the model when
the abstract state after it is one of the model's outcomes for that same action
(`model.actions.outcomes`): a check, not a search. A step that does not is a
`Divergence`, reported with the action, the abstract states, every model outcome and the
fields where the implementation's state differs from each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from checks.cluster.actions import read_number
from checks.cluster.app import handle_ready
from checks.cluster.cluster import Cluster, MessageKey, NodeSlot, node_key_hash
from checks.cluster.node_key import message_key
from model.actions import Action, outcomes
from model.params import Params
from model.server import ignored_forever
from model.state import (
    COMPACTED,
    SNAPSHOT_ENTRY,
    Bag,
    Config,
    Entry,
    Kind,
    Msg,
    MsgType,
    Role,
    Server,
    State,
    bit,
)
from raft_ref.eraftpb import (
    ConfChangeType,
    ConfState,
    EntryType,
    Message,
    MessageType,
    decode_conf_change,
)
from raft_ref.eraftpb import Entry as ImplEntry
from raft_ref.errors import Compacted, StepPeerNotFound
from raft_ref.progress import ProgressState
from raft_ref.raft import CAMPAIGN_TRANSFER, Raft, StateRole
from raft_ref.raft_log import RaftLog
from raft_ref.storage import MemStorage

_MT = MessageType
_ROLE = {
    StateRole.Follower: Role.FOLLOWER,
    StateRole.PreCandidate: Role.PRE_CANDIDATE,
    StateRole.Candidate: Role.CANDIDATE,
    StateRole.Leader: Role.LEADER,
}


class NotAbstractable(Exception):
    """The cluster holds something the model cannot express (e.g. a compacted log)."""


# --- the abstraction function ---------------------------------------------------------------


def _mask(ids: Iterable[int]) -> int:
    mask = 0
    for i in ids:
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
            raise NotAbstractable(f"single-step conf change {cc.change_type.name} has no model")
    if len(_entry_memo) > 100_000:
        _entry_memo.clear()
    _entry_memo[memo_key] = entry
    return entry


def _pending_reads(raft: Raft[MemStorage], required: tuple[int, ...]) -> tuple[Any, ...]:
    """A leader's queued ReadIndex requests as the model keeps them."""
    read_only = raft.read_only
    out = []
    for ctx in read_only.read_index_queue:
        number = read_number(ctx)
        status = read_only.pending_read_index[ctx]
        need = _required(required, number)
        origin = status.req.from_ or raft.id  # a read of the leader's own client has none
        out.append((number, status.index, _mask(status.acks), need, origin))
    return tuple(out)


def abstract_log(log: RaftLog[MemStorage]) -> tuple[Entry, ...]:
    """A node's log as the model keeps it: every index up to the last, those compacted
    away as `COMPACTED`, the one of the snapshot the log starts after (when its term is
    still known) as that snapshot's label."""
    first = log.first_index()
    entries = tuple(map(abstract_entry, log.all_entries()))
    if first == 2 and log.term(1) == 1:
        return (SNAPSHOT_ENTRY, *entries)
    try:
        label: Entry = Entry(log.term(first - 1), Kind.SNAPSHOT)
    except Compacted:
        label = COMPACTED
    return (*(COMPACTED,) * (first - 2), label, *entries)


def abstract_config(conf: Any, nxt: Any, start: int) -> Config:
    """A configuration (raft-rs `Configuration`s, the next one while joint) as the model
    keeps it."""
    if nxt is None:
        return Config(_mask(conf.voters), _mask(conf.learners))
    return Config(
        _mask(conf.voters), _mask(conf.learners), _mask(nxt.voters), _mask(nxt.learners), start
    )


def abstract_server(
    raft: Raft[MemStorage],
    servers: int,
    required: tuple[int, ...] = (),
    served: Any = (),
    sends_snapshots: bool = False,
) -> Server:
    """A node as the model sees it; `recent_active` only when leaders may send snapshots
    (otherwise it decides nothing the model keeps)."""
    log = raft.raft_log
    entries = abstract_log(log)
    prs = raft.prs()
    change = raft.pending_membership_change
    start = change.start_index if change is not None else 0
    config = abstract_config(prs.configuration, prs.next_configuration, start)
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
    snapshot = [0] * servers
    requests = [0] * servers
    replicate = paused = active = 0
    if role == Role.LEADER:
        for node_id, pr in prs.iter():
            match[node_id - 1] = pr.matched
            next_[node_id - 1] = pr.next_idx
            if pr.state == ProgressState.Replicate:
                replicate |= bit(node_id)
            elif pr.state == ProgressState.Snapshot:
                snapshot[node_id - 1] = pr.pending_snapshot
            elif pr.is_paused():
                paused |= bit(node_id)
            if sends_snapshots and pr.recent_active and node_id != raft.id:
                active |= bit(node_id)
            requests[node_id - 1] = pr.pending_request_snapshot
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
        paused=paused,
        pending_conf=raft.pending_conf_index,
        transferee=raft.lead_transferee or 0,
        reads=_pending_reads(raft, required) if raft.read_only.read_index_queue else (),
        served=served,
        active=active,
        snapshot=tuple(snapshot) if any(snapshot) else (),
        is_learner=raft.is_learner,
        requested=raft.pending_request_snapshot,
        snap_requests=tuple(requests) if any(requests) else (),
    )


_msg_memo: dict[MessageKey, Msg] = {}


def abstract_message(m: Message, key: MessageKey | None = None) -> Msg:
    """A message as the model sees it (`MsgType.UNKNOWN` for kinds the model lacks)."""
    key = message_key(m) if key is None else key
    found = _msg_memo.get(key)
    if found is not None:
        return found
    t = m.msg_type
    out: Msg
    if t in (_MT.MsgRequestVote, _MT.MsgRequestPreVote):
        kind = MsgType.VOTE if t == _MT.MsgRequestVote else MsgType.PRE_VOTE
        transfer = int(m.context == CAMPAIGN_TRANSFER)
        out = Msg(kind, m.from_, m.to, m.term, m.index, m.log_term, context=transfer)
    elif t in (_MT.MsgRequestVoteResponse, _MT.MsgRequestPreVoteResponse):
        kind = MsgType.VOTE_RESP if t == _MT.MsgRequestVoteResponse else MsgType.PRE_VOTE_RESP
        out = Msg(kind, m.from_, m.to, m.term, reject=int(m.reject))
    elif t == _MT.MsgAppend:
        entries = tuple(map(abstract_entry, m.entries))
        out = Msg(MsgType.APPEND, m.from_, m.to, m.term, m.index, m.log_term, entries, m.commit)
    elif t == _MT.MsgAppendResponse:
        hint = m.reject_hint if m.reject else 0
        out = Msg(
            MsgType.APPEND_RESP,
            m.from_,
            m.to,
            m.term,
            m.index,
            reject=int(m.reject),
            hint=hint,
            context=m.request_snapshot,
        )
    elif t == _MT.MsgHeartbeat:
        read = read_number(m.context)
        out = Msg(MsgType.HEARTBEAT, m.from_, m.to, m.term, commit=m.commit, context=read)
    elif t == _MT.MsgHeartbeatResponse:
        out = Msg(MsgType.HEARTBEAT_RESP, m.from_, m.to, m.term, context=read_number(m.context))
    elif t == _MT.MsgTimeoutNow:
        out = Msg(MsgType.TIMEOUT_NOW, m.from_, m.to, m.term)
    elif t == _MT.MsgSnapshot and m.snapshot is not None:
        out = _abstract_snapshot(m)
    elif t in (_MT.MsgReadIndex, _MT.MsgReadIndexResp) and len(m.entries) == 1:
        # The index a read must reach is the cluster's record, filled in by `abstract`.
        kind = MsgType.READ_INDEX if t == _MT.MsgReadIndex else MsgType.READ_INDEX_RESP
        read = read_number(m.entries[0].data)
        out = Msg(kind, m.from_, m.to, m.term, m.index, context=read)
    else:
        # Keep the implementation's type visible in reports: it travels in `idx`.
        out = Msg(MsgType.UNKNOWN, m.from_, m.to, m.term, int(t))
    if len(_msg_memo) > 200_000:
        _msg_memo.clear()
    _msg_memo[key] = out
    return out


def _abstract_snapshot(m: Message) -> Msg:
    assert m.snapshot is not None
    meta = m.snapshot.metadata
    cs = meta.conf_state
    config = Config(_mask(cs.nodes), _mask(cs.learners))
    if meta.pending_membership_change_index:
        pending = meta.pending_membership_change or ConfState()
        config = config._replace(
            next_voters=_mask(pending.nodes),
            next_learners=_mask(pending.learners),
            start=meta.pending_membership_change_index,
        )
    return Msg(MsgType.SNAPSHOT, m.from_, m.to, m.term, meta.index, meta.term, config=config)


def _required(required: tuple[int, ...], number: int) -> int:
    return required[number - 1] if 0 < number <= len(required) else -1


_server_memo: dict[tuple[object, ...], Server] = {}


def forget_cached_abstractions() -> None:
    """Clears the caches keyed by node state (for a new target: other code, such as a
    mutant, may step the same states differently)."""
    _server_memo.clear()
    _ignores.clear()


def _slot_server(
    slot: NodeSlot, servers: int, required: tuple[int, ...], served: Any, sends_snapshots: bool
) -> Server:
    # Cached on the slot: a slot is one node state, and the reads it made and answered
    # are the same in every cluster that shares it. A node state shared by several
    # clusters (one step taken once for all) is abstracted once per reads it answered
    # and, while it has reads pending, per indexes those had to reach.
    server = slot.abstract
    if server is None:
        raft = slot.node.raft
        pending = required if raft.read_only.read_index_queue else ()
        memo_key = (slot.key_hash, served, pending, servers, sends_snapshots)
        server = _server_memo.get(memo_key)
        if server is None:
            server = abstract_server(raft, servers, required, served, sends_snapshots)
            if len(_server_memo) > 200_000:
                _server_memo.clear()
            _server_memo[memo_key] = server
        slot.abstract = server
    assert isinstance(server, Server)
    return server


def abstract(p: Params, c: Cluster) -> State:
    """The model state `c` stands for (cached on `c`)."""
    known = c.abstract_state
    if known is not None:
        return known
    servers = abstract_servers(p, c)
    counts: dict[Msg, int] = {}
    keys: dict[Msg, MessageKey] = {}
    for key, (m, n) in c.net.items():
        msg = abstract_message(m, key)
        if msg.type in (MsgType.READ_INDEX, MsgType.READ_INDEX_RESP):
            msg = msg._replace(commit=_required(c.read_required, msg.context))
        counts[msg] = counts.get(msg, 0) + n
        # One concrete message stands for each abstract one (the least key), so that a
        # model action on a message names one implementation message.
        held = keys.get(msg)
        if held is None or repr(key) < repr(held):
            keys[msg] = key
    bag: Bag = tuple(sorted(counts.items()))
    state = State(servers, bag, c.used)
    c.abstract_state = state
    c.message_keys = keys
    return state


def abstract_servers(p: Params, c: Cluster) -> tuple[Server, ...]:
    """The model servers of `c`'s nodes (each cached on its slot), without its network."""
    servers = c.abstract_servers
    if servers is None:
        servers = tuple(
            _slot_server(slot, p.servers, c.read_required, served, p.sends_snapshots)
            for slot, served in zip(c.slots, c.served, strict=True)
        )
        c.abstract_servers = servers
    return servers


def concrete_key(p: Params, c: Cluster, m: Msg) -> MessageKey:
    """The implementation message that model message `m` stands for in `c`."""
    abstract(p, c)
    keys = c.message_keys
    assert keys is not None
    return keys[m]


# --- retiring messages that are ignored for ever ------------------------------------------

_ignores: dict[tuple[int, MessageKey], bool] = {}


def retire_ignored(p: Params, c: Cluster, parent: Cluster | None = None, changed: int = 0) -> None:
    """Retires the messages the model retires (`model.server.ignored_forever`) from a
    freshly made cluster `c`, each only once the implementation is shown to ignore it;
    one it does not ignore stays, and the step that made it diverges.

    Given the `parent` it was made from (itself retired so) and the node the step
    `changed` (0: none), only the messages that can have become ignored are looked at:
    those to that node, and those the parent did not hold (the verdict on any other
    depends on its receiver alone, which did not change)."""
    servers = abstract_servers(p, c)
    held = None if parent is None else parent.net
    doomed = [
        key
        for key, (m, _) in c.net.items()
        if (held is None or m.to == changed or key not in held)
        and ignored_forever(p, servers[m.to - 1], abstract_message(m, key))
    ]
    retired = [key for key in doomed if implementation_ignores(c, key)]
    if retired:
        c.retire(retired)


def implementation_ignores(c: Cluster, key: MessageKey) -> bool:
    """Whether delivering the message changes nothing at its receiver and sends nothing
    (cached per receiver state and message)."""
    m, _ = c.net[key]
    slot = c.slots[m.to - 1]
    memo_key = (slot.key_hash, key)
    known = _ignores.get(memo_key)
    if known is not None:
        return known
    node = slot.node.clone()
    try:
        node.step(m)
        verdict = not handle_ready(node) and node_key_hash(node) == slot.key_hash
    except StepPeerNotFound:
        verdict = True  # RawNode drops a response from a node it keeps no progress for
    except Exception:
        verdict = False
    if len(_ignores) > 500_000:
        _ignores.clear()
    _ignores[memo_key] = verdict
    return verdict


# --- the refinement check -------------------------------------------------------------------


@dataclass
class Divergence:
    """Why a step does not refine the model: the action, the abstract states before and
    after it, what the model allows, and where the implementation differs from each."""

    action: Action
    before: State
    after: State
    allowed: list[State]
    differences: list[list[str]]


def refines(
    p: Params, before: State, action: Action, after: State, allowed: list[State] | None = None
) -> bool:
    """Whether `after` is an outcome the model allows for `action` from `before`
    (`allowed`: those outcomes, when the caller has them already)."""
    return after in (outcomes(p, before, action) if allowed is None else allowed)


def divergence(p: Params, before: State, action: Action, after: State) -> Divergence:
    allowed = outcomes(p, before, action)
    return Divergence(action, before, after, allowed, [differences(after, m) for m in allowed])


def differences(impl: State, model: State) -> list[str]:
    """The fields where the implementation's abstract state differs from a model state,
    one line each."""
    out: list[str] = []
    for i, (a, b) in enumerate(zip(impl.servers, model.servers, strict=True), start=1):
        for field in Server._fields:
            x, y = getattr(a, field), getattr(b, field)
            if x != y:
                out.append(f"server {i} {field}: implementation {x!r}, model {y!r}")
    from checks.targets.model_target import format_msg  # noqa: PLC0415 (targets use this module)

    ours, theirs = dict(impl.network), dict(model.network)
    for m in sorted(set(ours) | set(theirs)):
        x, y = ours.get(m, 0), theirs.get(m, 0)
        if x != y:
            out.append(f"network {format_msg(m)}: implementation {x} copies, model {y}")
    if impl.budget != model.budget:
        out.append(f"budget: implementation {impl.budget!r}, model {model.budget!r}")
    return out
