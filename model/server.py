"""What one server does: pure functions from a server (and a message) to the server and
the messages it sends, each named after the raft-rs 0.6.0-alpha step it models.

The model follows raft-rs's own decisions wherever they depend only on state the model
keeps (which peer gets which entries, when a probe pauses, when commit is broadcast),
so that one environment event (a tick, a message, a proposal) leads to the state raft-rs
reaches. Where raft-rs decides by state the model does not keep (how many ticks passed
since a leader was heard from, which peers were recently active) a step has several
outcomes, one for each decision (see `receive` and `heartbeat_timeout`).

Two choices of the cluster configuration are model parameters: how many entries an
append carries (`Params.entries_per_append`, raft-rs `max_size_per_msg`) and whether a
leader broadcasts commit advances (`skip_bcast_commit`). Inflight windows never fill:
they hold at most one slot per entry, fewer than raft-rs's default 256 at any log bound
the model allows.
"""

from __future__ import annotations

from model.params import SNAPSHOT_LABEL_QUIRK, Params
from model.quorum import joint_committed_index, joint_has_quorum, joint_vote_result
from model.state import (
    COMPACTED,
    VOTE_RESPONSE,
    Config,
    Entry,
    Kind,
    Msg,
    MsgType,
    Role,
    Server,
    bit,
    ids,
    is_up_to_date,
    term_at,
)

Outcome = tuple[Server, list[Msg]]

# All-zero progress tuples, shared.
_NONE = {n: (0,) * n for n in range(9)}


# --- roles ----------------------------------------------------------------------------


def reset(s: Server, term: int) -> Server:
    """raft-rs `reset(term)`: forget the vote only when the term changes, the leader, the
    votes, the pending conf index and every peer's progress (kept by leaders only)."""
    vote = s.vote if term == s.term else 0
    return _reset(s, term, vote, s.role, leader=0, granted=0, requested=0)


def _reset(  # noqa: PLR0917 (what a reset sets)
    s: Server, term: int, vote: int, role: int, leader: int, granted: int, requested: int
) -> Server:
    """`reset(term)` with the vote, role, leader, votes granted and snapshot request set
    in the same copy (the search's most frequent step, so one copy, not two)."""
    none = _NONE[len(s.match)]
    # Positional: a NamedTuple built from keywords costs three times as much.
    return Server(
        term,
        vote,
        role,
        leader,
        s.log,
        s.commit,
        s.applied,
        s.config,
        granted,
        0,  # rejected
        none,  # match
        none,  # next
        0,  # replicate
        0,  # paused
        0,  # pending_conf
        0,  # transferee
        (),  # reads
        s.served,
        0,  # active
        (),  # snapshot
        s.is_learner,
        requested,
        (),  # snap_requests
    )


def become_follower(s: Server, term: int, leader: int) -> Server:
    """raft-rs `become_follower`: a reset that keeps a pending snapshot request."""
    vote = s.vote if term == s.term else 0
    return _reset(s, term, vote, Role.FOLLOWER, leader=leader, granted=0, requested=s.requested)


def candidacy(p: Params, config: Config, granted: int, rejected: int) -> int:
    """raft-rs `candidacy_status`: 1 elected (a majority of every voter set granted),
    -1 ineligible (a majority of some voter set refused), 0 still open."""
    return joint_vote_result(config, granted, rejected, p.majority)


def promotable(i: int, s: Server) -> bool:
    """raft-rs `promotable`: a voter of either configuration may campaign."""
    return bool(s.config.all_voters() & bit(i))


def campaign(p: Params, i: int, s: Server, pre_vote: bool, transfer: bool = False) -> Outcome:
    """raft-rs `campaign`: become (pre-)candidate, vote for yourself, win at once if that is
    a quorum, else ask every voter (of both configurations while joint). An election a
    leader transfer asked for skips pre-vote and says so in its requests."""
    if pre_vote:
        # A pre-candidate keeps its term and vote; it asks for the next term.
        s = s._replace(role=Role.PRE_CANDIDATE, leader=0, granted=bit(i), rejected=0)
        kind, term = MsgType.PRE_VOTE, s.term + 1
    else:
        s = _reset(s, s.term + 1, i, Role.CANDIDATE, leader=0, granted=bit(i), requested=0)
        kind, term = MsgType.VOTE, s.term
    if candidacy(p, s.config, s.granted, 0) == 1:
        if pre_vote:
            return campaign(p, i, s, pre_vote=False)
        # A single voter: leader at once, without the broadcast of a won election.
        return become_leader(p, i, s)
    li, lt = len(s.log), s.log[-1].term
    flag = int(transfer)
    requests = [
        Msg(kind, i, j, term, li, lt, context=flag) for j in ids(s.config.all_voters() & ~bit(i))
    ]
    return s, requests


def become_leader(p: Params, i: int, s: Server) -> Outcome:
    """raft-rs `become_leader`: fresh progress for every member (probing from the end of
    the log), an empty entry of the new term, and a Finalize again when the joint
    phase's Begin is already committed (it may have been lost with the old leader)."""
    last = len(s.log)
    members = s.config.members()
    n = len(s.match)
    match = tuple(last if k == i - 1 else 0 for k in range(n))
    nxt = tuple(last + 1 if members & (1 << k) else 0 for k in range(n))
    s = reset(s, s.term)._replace(
        role=Role.LEADER, leader=i, match=match, next=nxt, replicate=bit(i), pending_conf=last
    )
    s = append_entry(p, i, s, Entry(s.term, Kind.EMPTY))
    if s.config.joint and s.config.start <= s.commit:
        s = append_entry(p, i, s, Entry(s.term, Kind.FINALIZE))
        return bcast_append(p, i, s)
    return s, []


# --- the leader's log and sending ------------------------------------------------------


def append_entry(p: Params, i: int, s: Server, entry: Entry) -> Server:
    """raft-rs `append_entry`: the leader appends, counts itself, and tries to commit."""
    log = (*s.log, entry)
    k = i - 1
    match = (*s.match[:k], len(log), *s.match[k + 1 :])
    nxt = (*s.next[:k], len(log) + 1, *s.next[k + 1 :])
    return maybe_commit(p, s._replace(log=log, match=match, next=nxt))


def maybe_commit(p: Params, s: Server) -> Server:
    """The commit rule: the highest index a majority of every voter set has replicated,
    committed only if it is an entry of the leader's current term."""
    candidate = min(len(s.log), joint_committed_index(s.config, s.match, p.majority))
    if candidate <= s.commit:
        return s
    if p.commit_only_current_term and term_at(s.log, candidate) != s.term:
        return s
    return s._replace(commit=candidate)


def send_append(p: Params, i: int, s: Server, j: int) -> Outcome:
    """raft-rs `send_append`: unless the peer is paused, send the entries from its next
    index on (at most `entries_per_append`; none when it is up to date) with the commit
    index. A probed peer is then paused; a replicated one moves on optimistically. When
    the entries (or the term before them) are compacted away, a snapshot goes instead.
    A next index past the log (a peer answered for entries its leader no longer holds,
    which only a committed entry already lost makes possible) sends no entries and the
    term 0, as raft-rs's `RaftLog::term` answers there."""
    flag = bit(j)
    if s.paused & flag or (s.snapshot and s.snapshot[j - 1]):
        return s, []
    k = j - 1
    prev = s.next[k] - 1
    compacted = prev <= len(s.log) and s.log[prev - 1] == COMPACTED
    if prev < 1 or compacted or (s.snap_requests and s.snap_requests[k]):
        return send_snapshot(p, i, s, j)
    limit = p.entries_per_append
    entries = s.log[prev : prev + limit] if limit else s.log[prev:]
    m = Msg(MsgType.APPEND, i, j, s.term, prev, term_at(s.log, prev), entries, s.commit)
    if entries:
        if s.replicate & flag:
            last = prev + len(entries)
            s = s._replace(next=(*s.next[:k], last + 1, *s.next[k + 1 :]))
        else:
            s = s._replace(paused=s.paused | flag)
    return s, [m]


def send_snapshot(p: Params, i: int, s: Server, j: int) -> Outcome:
    """raft-rs `prepare_send_snapshot`: only to a peer heard from recently; the peer
    enters Snapshot state. `MemStorage::snapshot` cuts it at the commit index the
    storage holds (the applied one: the application persists and applies every Ready
    before the next event) with the configuration applied there, and labels it with
    the hard state's term: raft-rs #408, unless that quirk is left out, when it is
    labelled with the term of the entry there (raft-rs's later fix). A peer that asked
    for a snapshot at a higher index is told that index, whatever the label says."""
    if not s.active & bit(j):
        return s, []
    label = term_at(s.log, s.applied) if p.left_out_quirk(SNAPSHOT_LABEL_QUIRK) else s.term
    index = max(s.applied, s.snap_requests[j - 1] if s.snap_requests else 0)
    s = s._replace(
        snapshot=_with_peer(s.snapshot, len(s.match), j - 1, index),
        replicate=s.replicate & ~bit(j),
        paused=s.paused & ~bit(j),
    )
    return s, [Msg(MsgType.SNAPSHOT, i, j, s.term, index, label, config=s.config)]


def _with_peer(per_peer: tuple[int, ...], n: int, k: int, value: int) -> tuple[int, ...]:
    """A per-server tuple of `n` (() when all zero) with entry `k` set to `value`."""
    full = per_peer or _NONE[n]
    changed = (*full[:k], value, *full[k + 1 :])
    return changed if any(changed) else ()


def _record_request(s: Server, k: int, request: int) -> Server:
    return s._replace(snap_requests=_with_peer(s.snap_requests, len(s.match), k, request))


def report_snapshot(s: Server, j: int, delivered: bool) -> Server:
    """raft-rs `report_snapshot`: the application tells the leader whether the snapshot
    reached peer `j` (a peer in Snapshot state). The peer goes back to Probe, paused
    until the next heartbeat answer, its snapshot request forgotten; after a failure
    it is probed from just after its match."""
    s = _leave_snapshot_state(s, j, delivered)
    s = s._replace(paused=s.paused | bit(j))
    return _record_request(s, j - 1, 0) if s.snap_requests else s


def _leave_snapshot_state(s: Server, j: int, delivered: bool = True) -> Server:
    """raft-rs `become_probe` from Snapshot state: probe from past the snapshot (or
    the match, if further); from just after the match when the snapshot failed."""
    k = j - 1
    pending = s.snapshot[k] if delivered else 0
    nxt = max(s.match[k] + 1, pending + 1)
    return s._replace(
        snapshot=_with_peer(s.snapshot, len(s.match), k, 0),
        next=(*s.next[:k], nxt, *s.next[k + 1 :]),
        paused=s.paused & ~bit(j),
    )


def bcast_append(p: Params, i: int, s: Server, sent: list[Msg] | None = None) -> Outcome:
    """raft-rs `bcast_append`: `send_append` to every member but ourselves."""
    out = [] if sent is None else sent
    for j in ids(s.config.members() & ~bit(i)):
        s, m = send_append(p, i, s, j)
        out += m
    return s, out


def bcast_heartbeat(i: int, s: Server, context: int | None = None) -> list[Msg]:
    """raft-rs `bcast_heartbeat`: each peer is told min(its match, our commit), and the
    newest pending ReadIndex request (or `context`)."""
    if context is None:
        context = s.reads[-1][0] if s.reads else 0
    return [
        Msg(MsgType.HEARTBEAT, i, j, s.term, commit=min(s.match[j - 1], s.commit), context=context)
        for j in ids(s.config.members() & ~bit(i))
    ]


def read_index(  # noqa: PLR0917 (a read request's fields)
    p: Params, i: int, s: Server, request: int, required: int, origin: int
) -> Outcome:
    """raft-rs `MsgReadIndex` from server `origin` (itself, or a follower passing a
    client's read on). A leader drops it until an entry of its term is committed,
    answers at once with the commit index when LeaseBased or when it alone is a quorum,
    and else queues it while heartbeats ask a quorum to confirm. A follower passes it to
    the leader it knows, if any; a candidate drops it."""
    if s.role == Role.FOLLOWER:
        if not s.leader:
            return s, []
        return s, [Msg(MsgType.READ_INDEX, i, s.leader, 0, commit=required, context=request)]
    if s.role != Role.LEADER or term_at(s.log, s.commit) != s.term:
        return s, []
    if p.read_lease_based or joint_has_quorum(s.config, bit(i), p.majority):
        return _answer_reads(i, s, ((request, s.commit, 0, required, origin),))
    s = s._replace(reads=(*s.reads, (request, s.commit, 0, required, origin)))
    return s, bcast_heartbeat(i, s, request)


def _answer_reads(i: int, s: Server, reads: tuple[tuple[int, int, int, int, int], ...]) -> Outcome:
    """The leader's answers: its own clients' reads become its read states, a
    follower's go back to it (`MsgReadIndexResp`)."""
    served = tuple((r, index, q) for r, index, _, q, origin in reads if origin == i)
    sent = [
        Msg(MsgType.READ_INDEX_RESP, i, origin, s.term, index, commit=q, context=r)
        for r, index, _, q, origin in reads
        if origin != i
    ]
    return (s._replace(served=(*s.served, *served)) if served else s), sent


def _confirm_read(p: Params, s: Server, m: Msg) -> Outcome:
    """A heartbeat response confirming read `m.context`: once a quorum (the leader
    included) has, it and every read queued before it are answered."""
    position = next((k for k, r in enumerate(s.reads) if r[0] == m.context), None)
    if p.read_lease_based or position is None:
        return s, []
    request, index, acks, required, origin = s.reads[position]
    acks |= bit(m.src)
    read = (request, index, acks, required, origin)
    reads = (*s.reads[:position], read, *s.reads[position + 1 :])
    if not joint_has_quorum(s.config, acks | bit(m.dst), p.majority):
        return s._replace(reads=reads), []
    return _answer_reads(m.dst, s._replace(reads=reads[position + 1 :]), reads[: position + 1])


def heartbeat_timeout(p: Params, i: int, s: Server) -> list[Outcome]:
    """A leader's heartbeat timer fires (raft-rs `tick_heartbeat`): it broadcasts
    heartbeats. With check quorum the same tick may end an election timeout, and a
    leader that heard from no quorum since the last one steps down instead, and a leader
    transfer still under way is abandoned; ticks and which peers were heard from are not
    modelled, so every outcome is possible."""
    outcomes = [(s, bcast_heartbeat(i, s))]
    if s.transferee:
        # The same tick may end the election timeout a transfer must finish within.
        aborted = s._replace(transferee=0)
        outcomes.append((aborted, bcast_heartbeat(i, aborted)))
    if p.check_quorum:
        outcomes.append((become_follower(s, s.term, 0), []))
        if s.active and joint_has_quorum(s.config, s.active | bit(i), p.majority):
            # The check passed: every peer must be heard from again (`recent_active`).
            checked = s._replace(active=0, transferee=0)
            outcomes.append((checked, bcast_heartbeat(i, checked)))
    return outcomes


def has_pending_conf(s: Server) -> bool:
    """raft-rs `has_pending_conf`: a conf change not yet applied, or a joint phase."""
    return s.pending_conf > s.applied or s.config.joint


def is_proposer(i: int, s: Server) -> bool:
    """A leader accepts proposals only while it is a voter (raft-rs drops them otherwise)."""
    return s.role == Role.LEADER and bool(s.config.all_voters() & bit(i))


def propose(p: Params, i: int, s: Server, entry: Entry) -> Outcome:
    """raft-rs `MsgPropose` at the leader: a conf change while one is pending becomes an
    empty entry; the entry is appended and broadcast."""
    if entry.kind == Kind.BEGIN:
        if has_pending_conf(s):
            entry = Entry(entry.term, Kind.EMPTY)
        else:
            s = s._replace(pending_conf=len(s.log) + 1)
    return bcast_append(p, i, append_entry(p, i, s, entry))


def transfer_leader(p: Params, i: int, s: Server, j: int) -> Outcome:
    """raft-rs `handle_transfer_leader`: leader `i` is asked to hand over to member `j`.
    A learner (of either configuration) cannot lead, and a repeated request changes
    nothing; otherwise `j` becomes
    the transferee (replacing an earlier one) and is told to campaign at once when it
    holds the whole log, or sent what it lacks first."""
    c = s.config
    if (c.learners | c.next_learners) & bit(j) or s.transferee == j:
        return s, []
    s = s._replace(transferee=0)  # an earlier transfer is abandoned first
    if j == i:
        return s, []
    s = s._replace(transferee=j)
    if s.match[j - 1] == len(s.log):
        return s, [Msg(MsgType.TIMEOUT_NOW, i, j, s.term)]
    return send_append(p, i, s, j)


# --- the application loop --------------------------------------------------------------


def apply_committed(p: Params, i: int, s: Server, sent: list[Msg]) -> Outcome:
    """The application loop after every event: apply every committed entry (a Begin
    enters the joint configuration, a Finalize leaves it), then `advance`, which makes a
    joint leader that has applied Begin append (and broadcast) a Finalize — again on
    every advance that applied something (raft-rs #349). Repeats while that commits
    more (a leader that alone is a quorum). A commit index beyond the log (raft-rs's
    `commit_to` panics there) applies nothing: `CommitWithinLog` reports the state."""
    if s.commit > len(s.log):
        return s, sent
    while s.applied < s.commit:
        for index in range(s.applied + 1, s.commit + 1):
            entry = s.log[index - 1]
            if entry.kind == Kind.BEGIN:
                s = begin_membership_change(p, s, entry, index)
            elif entry.kind == Kind.FINALIZE:
                s = finalize_membership_change(p, s)
        s = s._replace(applied=s.commit)
        if s.role == Role.LEADER and s.config.joint and s.applied >= s.config.start:
            s = append_entry(p, i, s, Entry(s.term, Kind.FINALIZE))
            s, sent = bcast_append(p, i, s, sent)
    return s, sent


def begin_membership_change(p: Params, s: Server, entry: Entry, index: int) -> Server:
    """Applying Begin enters the joint configuration (old and target)."""
    c = s.config
    if not p.joint_consensus:
        config = Config(entry.voters, entry.learners)
    else:
        config = Config(c.voters, c.learners, entry.voters, entry.learners, index)
    if s.role == Role.LEADER:
        # New members get fresh, unpaused progress (raft-rs `Progress::new(last + 1)`).
        added = config.members() & ~c.members()
        nxt = tuple(len(s.log) + 1 if added & (1 << k) else n for k, n in enumerate(s.next))
        match = tuple(0 if added & (1 << k) else m for k, m in enumerate(s.match))
        # They also count as recently active (raft-rs marks them so).
        active = s.active | added if p.sends_snapshots else 0
        s = s._replace(
            match=match,
            next=nxt,
            replicate=s.replicate & ~added,
            paused=s.paused & ~added,
            active=active,
        )
    # A Begin also counts as the pending conf change of the one-at-a-time rule.
    return s._replace(config=config, pending_conf=max(s.pending_conf, index))


def finalize_membership_change(p: Params, s: Server) -> Server:
    """Applying Finalize leaves the joint configuration for the target alone. A leader
    outside the target steps down (at its last entry's term); a follower forgets a
    leader outside it. Without a joint phase raft-rs refuses
    (`NoPendingMembershipChange`) and nothing changes."""
    c = s.config
    if not c.joint:
        return s
    new = Config(c.next_voters, c.next_learners)
    if not s.leader or not (bit(s.leader) & new.members()):
        leading = s.role == Role.LEADER
        s = become_follower(s, s.log[-1].term, 0) if leading else s._replace(leader=0)
    if s.role == Role.LEADER:
        # Progress of servers that left is dropped; every member of the target keeps
        # its progress (raft-rs also drops a promoted learner's: QUIRKS.md).
        kept = new.members()
        s = s._replace(
            match=tuple(m if kept & (1 << k) else 0 for k, m in enumerate(s.match)),
            next=tuple(n if kept & (1 << k) else 0 for k, n in enumerate(s.next)),
            replicate=s.replicate & kept,
            paused=s.paused & kept,
            active=s.active & kept,
            snapshot=_kept(s.snapshot, kept),
            snap_requests=_kept(s.snap_requests, kept),
        )
    return s._replace(config=new)


def _kept(per_peer: tuple[int, ...], kept: int) -> tuple[int, ...]:
    """A per-peer tuple (() when all zero) restricted to the servers in `kept`."""
    if not per_peer:
        return per_peer
    left = tuple(index if kept & (1 << k) else 0 for k, index in enumerate(per_peer))
    return left if any(left) else ()


def compact(s: Server) -> Server:
    """The application compacts its log up to the applied index (raft-rs
    `MemStorage::compact(applied)`): every entry before it is gone."""
    kept = s.applied - 1
    return s._replace(log=(COMPACTED,) * kept + s.log[kept:])


def can_compact(s: Server) -> bool:
    """Whether compacting at the applied index discards an entry (raft-rs does nothing
    when no entry before the applied one is still held)."""
    return any(e.kind != Kind.SNAPSHOT for e in s.log[: s.applied - 1])


def unapplied_conf_committed(s: Server) -> bool:
    """raft-rs `hup` refuses to campaign while committed conf changes are unapplied."""
    committed = min(s.commit, len(s.log))  # beyond the log: raft-rs has panicked
    return any(s.log[k].kind >= Kind.BEGIN for k in range(s.applied, committed))


# --- receiving a message --------------------------------------------------------------

_FROM_LEADER = (MsgType.APPEND, MsgType.HEARTBEAT, MsgType.SNAPSHOT)

_RESPONSES = frozenset(
    {MsgType.VOTE_RESP, MsgType.PRE_VOTE_RESP, MsgType.APPEND_RESP, MsgType.HEARTBEAT_RESP}
)


def ignored_forever(p: Params, d: Server, m: Msg) -> bool:
    """Whether server `d` ignores `m` now and in every later state: `m` is of an older
    term (terms only grow) and no answer to stale leaders is due, or it answers a
    candidacy or a leadership of `d`'s term that `d` does not hold and never will (a
    server is candidate at most once per term and never becomes one at its current
    term; it becomes leader only from candidate, at the candidacy's term). So an append
    or heartbeat response of `d`'s term is ignored for ever at a follower or
    pre-candidate, never at a candidate: one reaches a candidate when a server answers
    an append of an older term with its own term (under pre-vote or check quorum), and
    the candidate may win that term and handle it as leader."""
    if m.type == MsgType.READ_INDEX:
        return False  # it carries no term
    if m.term < d.term:
        if m.type == MsgType.PRE_VOTE:
            return False  # answered with a refusal
        return not (
            (p.pre_vote or p.check_quorum) and m.type in (MsgType.APPEND, MsgType.HEARTBEAT)
        )
    if m.term > d.term:
        return False
    if m.type == MsgType.VOTE_RESP:
        return d.role != Role.CANDIDATE
    if m.type in (MsgType.APPEND_RESP, MsgType.HEARTBEAT_RESP):
        return d.role in (Role.FOLLOWER, Role.PRE_CANDIDATE)
    return False


def receive(p: Params, s: Server, m: Msg) -> list[Outcome]:
    """raft-rs `RawNode::step` then `Raft::step`: the outcomes of `s` receiving `m`.

    One outcome, except for a vote request of a higher term under check quorum at a
    server that knows a leader: raft-rs ignores it within the leader's lease (an
    election timeout since the leader was last heard from) and handles it after, and
    ticks are not modelled, so both are possible. An election a leader transfer asked
    for is not held back by the lease."""
    if m.type in _RESPONSES and not (s.config.members() & bit(m.src)):
        return [(s, [])]  # RawNode drops responses from servers it keeps no progress for
    if (
        p.check_quorum
        and m.term > s.term
        and m.type in (MsgType.VOTE, MsgType.PRE_VOTE)
        and s.leader != 0
        and not (m.type == MsgType.VOTE and m.context)
    ):
        return [(s, []), step(p, s, m)]
    return [step(p, s, m)]


def step(p: Params, s: Server, m: Msg) -> Outcome:
    """raft-rs `Raft::step` outside the leader lease: term checks first, then the handler
    for the message type and the receiver's role."""
    i = m.dst
    if m.type == MsgType.READ_INDEX:  # travels without a term: no term checks
        return read_index(p, i, s, m.context, m.commit, m.src)
    if m.term > s.term:
        # A pre-vote request, or a granted pre-vote response, never changes the term.
        keeps_term = m.type == MsgType.PRE_VOTE or (
            m.type == MsgType.PRE_VOTE_RESP and not m.reject
        )
        if not keeps_term:
            leader = m.src if m.type in _FROM_LEADER else 0
            s = become_follower(s, m.term, leader)
    elif m.term < s.term:
        if (p.check_quorum or p.pre_vote) and m.type in (MsgType.APPEND, MsgType.HEARTBEAT):
            # Tell a stale leader about the newer term (it cannot learn it from votes).
            return s, [Msg(MsgType.APPEND_RESP, i, m.src, s.term)]
        if m.type == MsgType.PRE_VOTE:
            return s, [Msg(MsgType.PRE_VOTE_RESP, i, m.src, s.term, reject=1)]
        return s, []  # other stale messages are ignored
    if m.type in (MsgType.VOTE, MsgType.PRE_VOTE):
        return handle_request_vote(p, s, m)
    if s.role == Role.LEADER:
        if m.type == MsgType.APPEND_RESP:
            return handle_append_response(p, s, m)
        if m.type == MsgType.HEARTBEAT_RESP:
            return handle_heartbeat_response(p, s, m)
        return s, []
    if s.role != Role.FOLLOWER:
        if m.type in (MsgType.VOTE_RESP, MsgType.PRE_VOTE_RESP):
            return handle_vote_response(p, s, m)
        if m.type not in _FROM_LEADER:
            return s, []
        s = become_follower(s, m.term, m.src)  # a leader exists at this term
    if m.type == MsgType.APPEND:
        return handle_append_entries(s._replace(leader=m.src), m)
    if m.type == MsgType.HEARTBEAT:
        return handle_heartbeat(s._replace(leader=m.src), m)
    if m.type == MsgType.SNAPSHOT:
        return handle_snapshot(s._replace(leader=m.src), m)
    if m.type == MsgType.READ_INDEX_RESP:
        return s._replace(served=(*s.served, (m.context, m.idx, m.commit))), []
    if m.type == MsgType.TIMEOUT_NOW and promotable(i, s) and not unapplied_conf_committed(s):
        # The leader hands over: campaign at once, without pre-vote.
        return campaign(p, i, s, pre_vote=False, transfer=True)
    return s, []


def handle_request_vote(p: Params, s: Server, m: Msg) -> Outcome:
    """Grant if (already voted for the candidate, or no vote and no known leader, or a
    pre-vote for a later term) and the candidate's log is at least as up to date."""
    can_vote = (
        s.vote == m.src
        or (s.vote == 0 and s.leader == 0)
        or (m.type == MsgType.PRE_VOTE and m.term > s.term)
    )
    up_to_date = not p.vote_log_check or is_up_to_date(s.log, m.idx, m.log_term)
    reply = VOTE_RESPONSE[m.type]
    if can_vote and up_to_date:
        if m.type == MsgType.VOTE:
            s = s._replace(vote=m.src)
        # A grant carries the request's term, so a pre-candidate does not ignore it.
        return s, [Msg(reply, m.dst, m.src, m.term)]
    return s, [Msg(reply, m.dst, m.src, s.term, reject=1)]


def handle_vote_response(p: Params, s: Server, m: Msg) -> Outcome:
    """Count the first answer of each voter; a quorum of grants moves a pre-candidate to a
    real election and makes a candidate leader (which broadcasts its new entries); a
    quorum of refusals ends the candidacy."""
    wanted = MsgType.PRE_VOTE_RESP if s.role == Role.PRE_CANDIDATE else MsgType.VOTE_RESP
    if m.type != wanted:
        return s, []  # e.g. a late pre-vote answer reaching the real candidate
    if not ((s.granted | s.rejected) & bit(m.src)):
        if m.reject:
            s = s._replace(rejected=s.rejected | bit(m.src))
        else:
            s = s._replace(granted=s.granted | bit(m.src))
    status = candidacy(p, s.config, s.granted, s.rejected)
    if status == 1:
        if s.role == Role.PRE_CANDIDATE:
            return campaign(p, m.dst, s, pre_vote=False)
        s, sent = become_leader(p, m.dst, s)
        return bcast_append(p, m.dst, s, sent)
    if status == -1:
        return become_follower(s, s.term, 0), []
    return s, []


def handle_append_entries(s: Server, m: Msg) -> Outcome:
    """raft-rs `handle_append_entries` and `RaftLog::maybe_append`; a follower waiting
    for the snapshot it asked for asks again instead."""
    i, reply = m.dst, MsgType.APPEND_RESP
    if s.requested:
        return s, [snapshot_request(s, i)]
    if m.idx < s.commit:
        # Behind our commit: report the commit index instead.
        return s, [Msg(reply, i, m.src, s.term, s.commit)]
    if m.idx > len(s.log) or term_at(s.log, m.idx) != m.log_term:
        return s, [Msg(reply, i, m.src, s.term, m.idx, reject=1, hint=len(s.log))]
    log = s.log
    for offset, entry in enumerate(m.entries):
        index = m.idx + 1 + offset
        if term_at(log, index) != entry.term:
            # First conflict (or first new entry): truncate there and take the rest.
            log = log[: index - 1] + m.entries[offset:]
            break
    last_new = m.idx + len(m.entries)
    commit = max(s.commit, min(m.commit, last_new))
    return s._replace(log=log, commit=commit), [Msg(reply, i, m.src, s.term, last_new)]


def handle_heartbeat(s: Server, m: Msg) -> Outcome:
    """A heartbeat carries min(the peer's match, the leader's commit): commit up to it.
    A follower waiting for the snapshot it asked for answers with its request."""
    if m.commit > s.commit:
        s = s._replace(commit=m.commit)
    if s.requested:
        return s, [snapshot_request(s, m.dst)]
    return s, [Msg(MsgType.HEARTBEAT_RESP, m.dst, m.src, s.term, context=m.context)]


def request_snapshot(i: int, s: Server) -> Outcome:
    """raft-rs `request_snapshot(commit)`: a follower that knows its leader and has no
    request pending asks it for a snapshot at least at its commit index (raft-rs
    refuses the call otherwise)."""
    if s.role != Role.FOLLOWER or not s.leader or s.requested:
        return s, []
    s = s._replace(requested=s.commit)
    return s, [snapshot_request(s, i)]


def snapshot_request(s: Server, i: int) -> Msg:
    """raft-rs `send_request_snapshot`: a rejection carrying the request."""
    return Msg(
        MsgType.APPEND_RESP,
        i,
        s.leader,
        s.term,
        s.commit,
        reject=1,
        hint=len(s.log),
        context=s.requested,
    )


def handle_snapshot(s: Server, m: Msg) -> Outcome:
    """raft-rs `handle_snapshot` and `restore`: a snapshot behind the commit index, or
    one whose index and term the log already has (commit moves up to it), or one that
    would make a voter a learner is not installed, and the answer is the commit index.
    Installed, it replaces the whole log and the configuration, and the answer is its
    index."""
    i, index, label = m.dst, m.idx, m.log_term
    config = m.config
    if index < s.commit:
        return s, [Msg(MsgType.APPEND_RESP, i, m.src, s.term, s.commit)]
    if not s.requested and term_at(s.log, index) == label:
        s = s._replace(commit=index)
        return s, [Msg(MsgType.APPEND_RESP, i, m.src, s.term, index)]
    if not s.is_learner and config.learners & bit(i):
        return s, [Msg(MsgType.APPEND_RESP, i, m.src, s.term, s.commit)]
    log = (COMPACTED,) * (index - 1) + (Entry(label, Kind.SNAPSHOT),)
    is_learner = s.is_learner and not config.voters & bit(i)
    s = s._replace(log=log, commit=index, config=config, is_learner=is_learner, requested=0)
    return s, [Msg(MsgType.APPEND_RESP, i, m.src, s.term, index)]


def handle_append_response(p: Params, s: Server, m: Msg) -> Outcome:
    """raft-rs `handle_append_response` and the tail of `step_leader`: a rejection moves
    the peer's next index back (`maybe_decr_to`) and probes again; a success raises its
    match (`maybe_update`), moves a probed peer to Replicate, and may advance commit,
    which is broadcast; a paused peer that commits nothing new is sent to again."""
    i, j = m.dst, m.src
    k, flag = j - 1, bit(j)
    matched, nxt = s.match[k], s.next[k]
    if p.sends_snapshots:
        s = s._replace(active=s.active | flag)
    if m.reject:
        request = m.context  # a snapshot request, 0: a plain rejection
        if s.replicate & flag:
            if m.idx < matched or (m.idx == matched and not request):
                return s, []  # stale
            # Back to Probe from just after the match.
            s = _progress(s, k, matched, matched + 1, s.replicate & ~flag, s.paused & ~flag)
            if request:
                s = _record_request(s, k, request)
        elif request:
            # A request is never stale and keeps the next index; the first one counts.
            s = s._replace(paused=s.paused & ~flag)
            if not (s.snap_requests and s.snap_requests[k]):
                s = _record_request(s, k, request)
        else:
            if nxt - 1 != m.idx:
                return s, []  # stale
            nxt = max(1, min(m.idx, m.hint + 1))
            s = _progress(s, k, matched, nxt, s.replicate, s.paused & ~flag)
        return send_append(p, i, s, j)
    old_paused = bool(s.paused & flag)
    nxt = max(nxt, m.idx + 1)
    if m.idx <= matched:
        return _progress(s, k, matched, nxt, s.replicate, s.paused), []
    # News: the peer is resumed and, when probed, replicated from just after the match.
    matched = m.idx
    sent = []
    if s.transferee == j and matched == len(s.log):
        sent.append(Msg(MsgType.TIMEOUT_NOW, i, j, s.term))  # the transferee caught up
    if s.snapshot and s.snapshot[k]:
        # Snapshot state: probing resumes only once the peer is past the snapshot.
        old_paused = True
        s = _progress(s, k, matched, nxt, s.replicate, s.paused & ~flag)
        if matched < s.snapshot[k]:
            return s, sent
        s = _leave_snapshot_state(s, j)
    else:
        if not s.replicate & flag:
            nxt = matched + 1
        s = _progress(s, k, matched, nxt, s.replicate | flag, s.paused & ~flag)
    before = s.commit
    s = maybe_commit(p, s)
    if s.commit > before:
        if not p.skip_bcast_commit or has_pending_conf(s):
            return bcast_append(p, i, s, sent)
        return s, sent
    if old_paused:
        s, more = send_append(p, i, s, j)
        return s, sent + more
    return s, sent


def handle_heartbeat_response(p: Params, s: Server, m: Msg) -> Outcome:
    """raft-rs `handle_heartbeat_response`: the peer is resumed, and sent to when it does
    not hold the whole log yet."""
    j = m.src
    s = s._replace(paused=s.paused & ~bit(j), active=s.active | bit(j) if p.sends_snapshots else 0)
    answers: list[Msg] = []
    if m.context:
        s, answers = _confirm_read(p, s, m)
    if s.match[j - 1] < len(s.log) or (s.snap_requests and s.snap_requests[j - 1]):
        s, sent = send_append(p, m.dst, s, j)
        return s, sent + answers
    return s, answers


def _progress(  # noqa: PLR0917 (one peer's whole progress)
    s: Server, k: int, matched: int, nxt: int, replicate: int, paused: int
) -> Server:
    return s._replace(
        match=(*s.match[:k], matched, *s.match[k + 1 :]),
        next=(*s.next[:k], nxt, *s.next[k + 1 :]),
        replicate=replicate,
        paused=paused,
    )


def restart(p: Params, i: int, s: Server) -> Server:
    """A crash and restart keeps raft-rs's HardState (term, vote, commit), the log, and
    what the application persisted (applied index and configuration); raft-rs marks
    the node a learner when that configuration lists it as one. A snapshot request is
    not persisted: the restarted node has none pending."""
    vote = s.vote if p.persist_vote else 0
    is_learner = bool(s.config.learners & bit(i))
    s = become_follower(s._replace(vote=vote, is_learner=is_learner, requested=0), s.term, 0)
    # A joint phase in progress is resumed from storage, its Begin pending again.
    return s._replace(pending_conf=s.config.start) if s.config.joint else s
