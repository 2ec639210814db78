"""What one server does: pure functions from a server (and a message) to the server and
the messages it sends. Each is named after the raft-rs step it models."""

from __future__ import annotations

from model.params import Params
from model.state import (
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


# --- roles ----------------------------------------------------------------------------


def become_follower(s: Server, term: int, leader: int) -> Server:
    """raft-rs `become_follower`: `reset(term)` forgets the vote only when the term
    changes, and a follower keeps no votes or progress."""
    vote = s.vote if term == s.term else 0
    return s._replace(
        term=term,
        vote=vote,
        role=Role.FOLLOWER,
        leader=leader,
        granted=0,
        rejected=0,
        match=_NONE[len(s.match)],
        next=_NONE[len(s.match)],
        replicate=0,
    )


# All-zero progress tuples, shared.
_NONE = {n: (0,) * n for n in range(9)}


def candidacy(p: Params, config: Config, granted: int, rejected: int) -> int:
    """raft-rs `candidacy_status`: 1 elected (a majority of every voter set granted),
    -1 ineligible (a majority of some voter set refused), 0 still open."""
    masks = config.voter_masks()
    if all(_count(granted & v) >= p.majority(_count(v)) for v in masks):
        return 1
    if any(_count(rejected & v) >= p.majority(_count(v)) for v in masks):
        return -1
    return 0


def _count(mask: int) -> int:
    return _BITS[mask] if mask < 256 else bin(mask).count("1")


_BITS = tuple(bin(mask).count("1") for mask in range(256))


def campaign(p: Params, i: int, s: Server, pre_vote: bool) -> Outcome:
    """raft-rs `campaign`: become (pre-)candidate, vote for yourself, win at once if that is
    a quorum, else ask every voter (of both configurations while joint)."""
    if pre_vote:
        # A pre-candidate keeps its term and vote; it asks for the next term.
        s = s._replace(role=Role.PRE_CANDIDATE, leader=0, granted=bit(i), rejected=0)
        kind, term = MsgType.PRE_VOTE, s.term + 1
    else:
        # become_candidate: reset to the next term, voting for yourself.
        none = _NONE[len(s.match)]
        s = Server(
            s.term + 1, i, Role.CANDIDATE, 0, s.log, s.commit, s.applied, s.config, bit(i), 0,
            none, none, 0,
        )  # fmt: skip
        kind, term = MsgType.VOTE, s.term
    if candidacy(p, s.config, s.granted, 0) == 1:
        if pre_vote:
            return campaign(p, i, s, pre_vote=False)
        # A single voter: leader at once; raft-rs broadcasts only if it re-appended Finalize.
        return become_leader(p, i, s, broadcast=False)
    li, lt = len(s.log), s.log[-1].term
    requests = [Msg(kind, i, j, term, li, lt) for j in ids(s.config.all_voters() & ~bit(i))]
    return s, requests


def become_leader(p: Params, i: int, s: Server, broadcast: bool) -> Outcome:
    """raft-rs `become_leader` (+ the `bcast_append` of a won election): reset progress,
    append an empty entry, re-append Finalize while joint, and send every peer the new
    entries (all peers' progress was just reset, so the first message is determined)."""
    before = len(s.log)
    members = s.config.members()
    match = [0] * len(s.match)
    match[i - 1] = before
    nxt = [before + 1 if members & (1 << k) else 0 for k in range(len(s.match))]
    s = s._replace(
        role=Role.LEADER,
        leader=i,
        granted=0,
        rejected=0,
        match=tuple(match),
        next=tuple(nxt),
        replicate=bit(i),
    )
    s = append_entry(p, i, s, Entry(s.term, Kind.EMPTY))
    # Joint at a leader means Begin is applied, hence committed: finalize it again, in case
    # the Finalize of an earlier leader was lost.
    if s.config.joint and s.config.start <= s.commit:
        s = append_entry(p, i, s, Entry(s.term, Kind.FINALIZE))
        broadcast = True
    if not broadcast:
        return s, []
    prev_term = term_at(s.log, before)
    new = s.log[before:]
    # Every peer is in Probe state: one message each, then raft-rs pauses it.
    sends = [
        Msg(MsgType.APPEND, i, j, s.term, before, prev_term, new, s.commit)
        for j in ids(s.config.members() & ~bit(i))
    ]
    return s, sends


# --- the leader's log -----------------------------------------------------------------


def append_entry(p: Params, i: int, s: Server, entry: Entry) -> Server:
    """raft-rs `append_entry`: the leader appends, counts itself, and tries to commit."""
    log = (*s.log, entry)
    match, nxt = list(s.match), list(s.next)
    match[i - 1] = len(log)
    nxt[i - 1] = len(log) + 1
    return maybe_commit(p, s._replace(log=log, match=tuple(match), next=tuple(nxt)))


def maybe_commit(p: Params, s: Server) -> Server:
    """The commit rule: the highest index a majority of every voter set has replicated,
    committed only if it is an entry of the leader's current term."""
    candidate = len(s.log)
    for voters in s.config.voter_masks():
        matched = sorted((s.match[j - 1] for j in ids(voters)), reverse=True)
        candidate = min(candidate, matched[p.majority(len(matched)) - 1])
    if candidate <= s.commit:
        return s
    if p.commit_only_current_term and term_at(s.log, candidate) != s.term:
        return s
    return apply_normal_entries(s._replace(commit=candidate))


def pending_conf_index(s: Server) -> int:
    """raft-rs `pending_conf_index` of a leader: its last index when elected, or the index
    of the conf change it proposed since. Entries of the leader's term are its own."""
    first_own = next(k for k, e in enumerate(s.log, start=1) if e.term == s.term)
    pending = first_own - 1
    for k in range(first_own, len(s.log) + 1):
        if s.log[k - 1].kind == Kind.BEGIN:
            pending = k
    return pending


def has_pending_conf(s: Server) -> bool:
    """raft-rs `has_pending_conf`: a conf change not yet applied, or a joint phase."""
    return pending_conf_index(s) > s.applied or s.config.joint


def is_proposer(i: int, s: Server) -> bool:
    """A leader accepts proposals only while it is a voter (raft-rs drops them otherwise)."""
    return s.role == Role.LEADER and bool(s.config.all_voters() & bit(i))


# --- applying committed entries -------------------------------------------------------


def apply_normal_entries(s: Server) -> Server:
    """Normal entries are applied as soon as they are committed: applying them changes
    nothing the protocol sees (it only lifts raft-rs's guard on proposing a conf change
    sooner, which makes the model more permissive). Stops before a conf change."""
    applied, log = s.applied, s.log
    while applied < s.commit and log[applied].kind < Kind.BEGIN:
        applied += 1
    return s if applied == s.applied else s._replace(applied=applied)


def apply_entries(p: Params, i: int, s: Server) -> Server:
    """The application applies the next committed configuration entry (it takes effect
    now) and the normal entries after it, then calls `advance`: a joint leader that has
    applied Begin appends Finalize (raft-rs `commit_apply`)."""
    applied = s.applied
    while applied < s.commit:
        applied += 1
        entry = s.log[applied - 1]
        if entry.kind == Kind.BEGIN:
            s = begin_membership_change(p, s, entry, applied)
            break
        if entry.kind == Kind.FINALIZE:
            s = finalize_membership_change(p, s)
            break
    s = apply_normal_entries(s._replace(applied=applied))
    return append_finalize_if_due(p, i, s)


def append_finalize_if_due(p: Params, i: int, s: Server) -> Server:
    if s.role == Role.LEADER and s.config.joint and s.applied >= s.config.start:
        return append_entry(p, i, s, Entry(s.term, Kind.FINALIZE))
    return s


def begin_membership_change(p: Params, s: Server, entry: Entry, index: int) -> Server:
    """Applying Begin enters the joint configuration (old and target)."""
    c = s.config
    if not p.joint_consensus:
        config = Config(entry.voters, entry.learners)
    else:
        config = Config(c.voters, c.learners, entry.voters, entry.learners, index)
    if s.role == Role.LEADER:
        # New servers get fresh progress (raft-rs `Progress::new(last_index + 1)`).
        added = config.members() & ~c.members()
        nxt = tuple(len(s.log) + 1 if added & (1 << k) else n for k, n in enumerate(s.next))
        s = s._replace(next=nxt)
    return s._replace(config=config)


def finalize_membership_change(p: Params, s: Server) -> Server:
    """Applying Finalize leaves the joint configuration for the target alone. A leader
    outside the target steps down; a follower forgets a leader outside it. Without a
    joint phase raft-rs refuses (`NoPendingMembershipChange`) and nothing changes."""
    c = s.config
    if not c.joint:
        return s
    if not (bit(s.leader) & (c.next_voters | c.next_learners)):
        stepped_down = s.role == Role.LEADER
        s = become_follower(s, s.log[-1].term, 0) if stepped_down else s._replace(leader=0)
    new = Config(c.next_voters, c.next_learners)
    if s.role == Role.LEADER:
        # Progress of servers that left is dropped.
        kept = new.members()
        s = s._replace(
            match=tuple(m if kept & (1 << k) else 0 for k, m in enumerate(s.match)),
            next=tuple(n if kept & (1 << k) else 0 for k, n in enumerate(s.next)),
            replicate=s.replicate & kept,
        )
    return s._replace(config=new)


def unapplied_conf_committed(s: Server) -> bool:
    """raft-rs `hup` refuses to campaign while committed conf changes are unapplied."""
    return any(s.log[k].kind >= Kind.BEGIN for k in range(s.applied, s.commit))


# --- receiving a message --------------------------------------------------------------


def receive(p: Params, s: Server, m: Msg) -> Outcome:
    """raft-rs `RawNode::step` then `Raft::step`: term checks first, then the handler for
    the message type and the receiver's role."""
    i = m.dst
    # RawNode drops responses from servers it keeps no progress for.
    if m.type in _RESPONSES and not (s.config.members() & bit(m.src)):
        return s, []
    if m.term > s.term:
        # A pre-vote request, or a granted pre-vote response, never changes the term.
        keeps_term = m.type == MsgType.PRE_VOTE or (
            m.type == MsgType.PRE_VOTE_RESP and not m.reject
        )
        if not keeps_term:
            leader = m.src if m.type in (MsgType.APPEND, MsgType.HEARTBEAT) else 0
            s = become_follower(s, m.term, leader)
    elif m.term < s.term:
        if p.pre_vote and m.type in (MsgType.APPEND, MsgType.HEARTBEAT):
            # Tell a stale leader about the newer term (it cannot learn it from votes).
            return s, [Msg(MsgType.APPEND_RESP, i, m.src, s.term)]
        if m.type == MsgType.PRE_VOTE:
            return s, [Msg(MsgType.PRE_VOTE_RESP, i, m.src, s.term, reject=1)]
        return s, []  # other stale messages are ignored
    if m.type in (MsgType.VOTE, MsgType.PRE_VOTE):
        return handle_request_vote(p, s, m)
    if s.role == Role.LEADER:
        if m.type == MsgType.APPEND_RESP:
            return handle_append_entries_response(p, s, m), []
        return s, []  # heartbeat responses only steer raft-rs's sending: no state here
    if s.role != Role.FOLLOWER:
        if m.type in (MsgType.VOTE_RESP, MsgType.PRE_VOTE_RESP):
            return handle_vote_response(p, s, m)
        if m.type in (MsgType.APPEND, MsgType.HEARTBEAT):
            s = become_follower(s, m.term, m.src)  # a leader exists at this term
    if m.type == MsgType.APPEND:
        return handle_append_entries_request(s._replace(leader=m.src), m)
    if m.type == MsgType.HEARTBEAT:
        return handle_heartbeat(s._replace(leader=m.src), m)
    return s, []


_RESPONSES = frozenset(
    {MsgType.VOTE_RESP, MsgType.PRE_VOTE_RESP, MsgType.APPEND_RESP, MsgType.HEARTBEAT_RESP}
)


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
    real election and makes a candidate leader; a quorum of refusals ends the candidacy."""
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
        return become_leader(p, m.dst, s, broadcast=True)
    if status == -1:
        return become_follower(s, s.term, 0), []
    return s, []


def handle_append_entries_request(s: Server, m: Msg) -> Outcome:
    """raft-rs `handle_append_entries` and `RaftLog::maybe_append`."""
    i, reply = m.dst, MsgType.APPEND_RESP
    if m.idx < s.commit:
        # Behind our commit: report the commit index instead.
        return s, [Msg(reply, i, m.src, s.term, s.commit)]
    if term_at(s.log, m.idx) != m.log_term or m.idx > len(s.log):
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
    s = apply_normal_entries(s._replace(log=log, commit=commit))
    return s, [Msg(reply, i, m.src, s.term, last_new)]


def handle_heartbeat(s: Server, m: Msg) -> Outcome:
    """A heartbeat carries min(the peer's match, the leader's commit): commit up to it."""
    if m.commit > s.commit:
        s = apply_normal_entries(s._replace(commit=m.commit))
    return s, [Msg(MsgType.HEARTBEAT_RESP, m.dst, m.src, s.term)]


def handle_append_entries_response(p: Params, s: Server, m: Msg) -> Server:
    """raft-rs `handle_append_response`: a rejection moves the peer's next index back
    (`maybe_decr_to`); a success raises its match index (`maybe_update`), moves a probed
    peer to Replicate, and may advance commit in the same step."""
    j = m.src
    k, flag = j - 1, bit(j)
    matched, nxt = s.match[k], s.next[k]
    if m.reject:
        if s.replicate & flag:
            if m.idx <= matched:
                return s  # stale
            return _progress(s, k, matched, matched + 1, s.replicate & ~flag)
        if nxt - 1 != m.idx:
            return s  # stale
        return _progress(s, k, matched, max(1, min(m.idx, m.hint + 1)), s.replicate)
    nxt = max(nxt, m.idx + 1)
    if m.idx <= matched:
        return _progress(s, k, matched, nxt, s.replicate)
    matched = m.idx
    if not s.replicate & flag:
        nxt = matched + 1  # Probe -> Replicate
    return maybe_commit(p, _progress(s, k, matched, nxt, s.replicate | flag))


def _progress(s: Server, k: int, matched: int, nxt: int, replicate: int) -> Server:
    match, next_ = list(s.match), list(s.next)
    match[k], next_[k] = matched, nxt
    return s._replace(match=tuple(match), next=tuple(next_), replicate=replicate)


def restart(p: Params, s: Server) -> Server:
    """A crash and restart keeps raft-rs's HardState (term, vote, commit), the log, and
    what the application persisted (applied index and configuration)."""
    vote = s.vote if p.persist_vote else 0
    none = _NONE[len(s.match)]
    return Server(
        s.term, vote, Role.FOLLOWER, 0, s.log, s.commit, s.applied, s.config, 0, 0,
        none, none, 0,
    )  # fmt: skip
