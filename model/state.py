"""The model's state: servers, logs, configurations and the network, all immutable.

Everything is a tuple of ints (NamedTuples, IntEnums), so a state hashes the same way in
every process and copying one is free. Server ids are 1..N; a set of servers is a bit
mask (bit `id - 1`).

Indexes follow raft-rs's `MemStorage::new_with_conf_state`: every log starts with the
snapshot entry at index 1, term 1, so `log[k - 1]` is the entry at index `k`, the first
election reaches term 2 and the first leader's empty entry is index 2.

A log keeps its length when compacted or replaced by a snapshot: each index the server
no longer holds is `COMPACTED`, and the index of a restored snapshot holds the snapshot's
label (a `Kind.SNAPSHOT` entry with the snapshot's term). So `log[k - 1]` stays the
entry at `k`, and `term_at` is 0 wherever raft-rs cannot tell a term.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

# Roles, entry kinds and message types are plain ints (class attributes, not enums): a
# state is nested tuples of ints, which hash alike in every process, and attribute
# lookups on a plain class are fast on the explorer's hot path.


class Role:
    FOLLOWER: Final = 0
    PRE_CANDIDATE: Final = 1
    CANDIDATE: Final = 2
    LEADER: Final = 3
    NAMES: Final = ("Follower", "PreCandidate", "Candidate", "Leader")


class Kind:
    """What an entry carries; only the protocol-relevant part of its data."""

    # No entry, only a snapshot's index: the initial snapshot at index 1 (term 1), a
    # restored snapshot's label (its term), or an index compacted away (term 0).
    SNAPSHOT: Final = 0
    EMPTY: Final = 1  # a normal entry without data: a new leader's entry, a refused conf change
    DATA: Final = 2  # a normal entry proposed by a client
    BEGIN: Final = 3  # conf change BeginMembershipChange, carrying the target configuration
    FINALIZE: Final = 4  # conf change FinalizeMembershipChange
    NAMES: Final = ("Snapshot", "Empty", "Data", "Begin", "Finalize")


class Entry(NamedTuple):
    term: int
    kind: int  # a Kind
    voters: int = 0  # BEGIN only: the target configuration
    learners: int = 0


SNAPSHOT_ENTRY = Entry(1, Kind.SNAPSHOT)
COMPACTED = Entry(0, Kind.SNAPSHOT)

Log = tuple[Entry, ...]


class Config(NamedTuple):
    """An applied configuration; `next_voters != 0` while joint (the target of a BEGIN)."""

    voters: int
    learners: int
    next_voters: int = 0
    next_learners: int = 0
    start: int = 0  # index of the BEGIN entry that started the joint phase

    @property
    def joint(self) -> bool:
        return self.next_voters != 0

    def all_voters(self) -> int:
        return self.voters | self.next_voters

    def members(self) -> int:
        """Everyone a leader tracks progress for (raft-rs `ProgressSet`)."""
        return self.voters | self.learners | self.next_voters | self.next_learners


# What a message that carries no configuration (all but a snapshot) holds for one; a
# constant, not None, whose hash is the same in every process.
NO_CONFIG = Config(0, 0)


class Server(NamedTuple):
    term: int
    vote: int  # 0: none
    role: int  # a Role
    leader: int  # the leader known at this term (raft-rs `leader_id`), 0: none
    log: Log
    commit: int
    applied: int
    config: Config
    granted: int  # (pre-)votes received: mask of servers that granted ...
    rejected: int  # ... and of those that refused
    # What a leader knows of each server (raft-rs `Progress`), all 0 when not leader:
    match: tuple[int, ...]  # highest index known replicated there
    next: tuple[int, ...]  # index of the next entry to send there
    replicate: int  # mask: servers in Replicate state (sending optimistically); else Probe
    paused: int = 0  # mask: Probe servers sent an append and not yet answered (raft-rs `paused`)
    pending_conf: int = 0  # raft-rs `pending_conf_index`: no conf change proposed until applied
    transferee: int = 0  # raft-rs `lead_transferee`: the server a leader hands over to, 0: none
    # A leader's ReadIndex requests waiting for a quorum (raft-rs `ReadOnly`), oldest
    # first: (request, commit index when received, acks mask, index committed anywhere
    # when it was made, the server that asked).
    reads: tuple[tuple[int, int, int, int, int], ...] = ()
    # The reads this server answered (raft-rs `read_states`, kept by the application):
    # (request, index served, index committed anywhere when it was made).
    served: tuple[tuple[int, int, int], ...] = ()
    # A leader's peers heard from since it was elected or last checked its quorum
    # (raft-rs `recent_active`; kept only when leaders may send snapshots, the one case
    # it decides anything the model sees: snapshots go only to active peers).
    active: int = 0
    # A leader's peers in Snapshot state: the index of the snapshot sent to each (raft-rs
    # `pending_snapshot`), () when none is.
    snapshot: tuple[int, ...] = ()
    # raft-rs `is_learner`: set when the node starts from storage listing it as a
    # learner, cleared by a snapshot listing it as a voter.
    is_learner: bool = False
    # A follower's own request for a snapshot (raft-rs `pending_request_snapshot`, the
    # index asked for), 0: none.
    requested: int = 0
    # A leader's record of each peer's request (Progress `pending_request_snapshot`),
    # () when none is.
    snap_requests: tuple[int, ...] = ()


class MsgType:
    VOTE: Final = 0  # MsgRequestVote
    VOTE_RESP: Final = 1
    PRE_VOTE: Final = 2  # MsgRequestPreVote
    PRE_VOTE_RESP: Final = 3
    APPEND: Final = 4  # MsgAppend
    APPEND_RESP: Final = 5
    HEARTBEAT: Final = 6
    HEARTBEAT_RESP: Final = 7
    TIMEOUT_NOW: Final = 8  # MsgTimeoutNow: a leader tells its transferee to campaign at once
    # MsgReadIndex: a follower passes a client's read to its leader (without a term);
    # MsgReadIndexResp: the leader's answer (`idx` the read index). `context` is the
    # request's number and `commit` the index it must reach.
    READ_INDEX: Final = 9
    READ_INDEX_RESP: Final = 10
    # MsgSnapshot: `idx` and `log_term` are the snapshot's index and term (its label),
    # `config` the configuration it carries.
    SNAPSHOT: Final = 11
    # An implementation message the model has no counterpart for (the abstraction of a
    # cluster maps such a message here, so that no model step can produce it).
    UNKNOWN: Final = 12
    NAMES: Final = (
        "RequestVote",
        "RequestVoteResponse",
        "RequestPreVote",
        "RequestPreVoteResponse",
        "AppendEntries",
        "AppendEntriesResponse",
        "Heartbeat",
        "HeartbeatResponse",
        "TimeoutNow",
        "ReadIndex",
        "ReadIndexResponse",
        "Snapshot",
        "Unknown",
    )


class Msg(NamedTuple):
    """One message; fields a type does not use are 0 (or empty)."""

    type: int  # a MsgType
    src: int
    dst: int
    term: int
    idx: int = 0  # raft-rs `index`: vote: last index; append: prev index; append resp: index
    log_term: int = 0  # vote: last term; append: prev term
    entries: Log = ()
    commit: int = 0
    reject: int = 0
    hint: int = 0  # append rejection: the receiver's last index
    # Vote request: 1 when a leader transfer asked for the election. Heartbeat and its
    # response: the ReadIndex request it confirms (its number), 0 for none. Append
    # response: the index a follower asks a snapshot for (raft-rs `request_snapshot`).
    context: int = 0
    config: Config = NO_CONFIG  # snapshot: the configuration it carries


# The network: a bag of messages as a sorted tuple of (message, copies).
Bag = tuple[tuple[Msg, int], ...]


class Budget(NamedTuple):
    """How much of each bounded event is used so far."""

    crashes: int = 0
    client_requests: int = 0
    membership_changes: int = 0
    drops: int = 0
    duplicates: int = 0
    transfers: int = 0
    reads: int = 0
    compactions: int = 0
    snapshot_requests: int = 0


class State(NamedTuple):
    servers: tuple[Server, ...]  # servers[id - 1]
    network: Bag
    budget: Budget


VOTE_RESPONSE = {MsgType.VOTE: MsgType.VOTE_RESP, MsgType.PRE_VOTE: MsgType.PRE_VOTE_RESP}


def bit(server_id: int) -> int:
    return 1 << (server_id - 1)


def ids(mask: int) -> list[int]:
    """The server ids in `mask`, ascending."""
    out = []
    server_id = 1
    while mask:
        if mask & 1:
            out.append(server_id)
        mask >>= 1
        server_id += 1
    return out


def mask_of(server_ids: list[int] | tuple[int, ...] | range) -> int:
    mask = 0
    for server_id in server_ids:
        mask |= bit(server_id)
    return mask


# --- logs -----------------------------------------------------------------------------


def last_index(log: Log) -> int:
    return len(log)


def last_term(log: Log) -> int:
    return log[-1].term


def term_at(log: Log, index: int) -> int:
    """The term of the entry at `index`, 0 when there is none or it is compacted away
    (raft-rs `RaftLog::term`, with a compacted index's error read as 0)."""
    return log[index - 1].term if 1 <= index <= len(log) else 0


def is_plain(log: Log) -> bool:
    """Whether `log` holds every entry after the initial snapshot (nothing compacted,
    no snapshot restored)."""
    return not log or log[0] == SNAPSHOT_ENTRY


def agree(a: Log, b: Log, upto: int) -> bool:
    """Whether both logs reach index `upto` and hold the same entries at 1..`upto`
    wherever both hold one (an index compacted away or under a snapshot is not
    compared)."""
    if len(a) < upto or len(b) < upto:
        return False
    head_a, head_b = a[:upto], b[:upto]
    if head_a == head_b:
        return True
    if is_plain(a) and is_plain(b):
        return False
    for x, y in zip(head_a, head_b, strict=True):
        if x != y and Kind.SNAPSHOT not in (x.kind, y.kind):
            return False
    return True


def is_up_to_date(log: Log, index: int, term: int) -> bool:
    """A candidate's log (last `index`, `term`) is at least as up to date as `log`."""
    mine = log[-1].term
    return term > mine or (term == mine and index >= len(log))


# --- the network ----------------------------------------------------------------------


def bag_size(bag: Bag) -> int:
    return sum(count for _, count in bag)


def bag_add(bag: Bag, msgs: list[Msg]) -> Bag:
    if not msgs:
        return bag
    items = list(bag)
    for m in msgs:
        for k, (old, count) in enumerate(items):
            if old == m:
                items[k] = (old, count + 1)
                break
        else:
            items.append((m, 1))
    items.sort()
    return tuple(items)


def bag_remove(bag: Bag, m: Msg) -> Bag:
    out = []
    for item in bag:
        if item[0] == m:
            if item[1] > 1:
                out.append((m, item[1] - 1))
        else:
            out.append(item)
    return tuple(out)


# --- the initial state -----------------------------------------------------------------


def initial_state(nodes: int, spares: int) -> State:
    """`nodes` voters that know each other, plus `spares` servers outside the configuration
    that a membership change may add; all followers at term 1 (raft-rs
    `MemStorage::new_with_conf_state` with the voters' ConfState)."""
    total = nodes + spares
    config = Config(voters=mask_of(range(1, nodes + 1)), learners=0)
    server = Server(
        term=1,
        vote=0,
        role=Role.FOLLOWER,
        leader=0,
        log=(SNAPSHOT_ENTRY,),
        commit=1,
        applied=1,
        config=config,
        granted=0,
        rejected=0,
        match=(0,) * total,
        next=(0,) * total,
        replicate=0,
    )
    return State(servers=(server,) * total, network=(), budget=Budget())


# --- a faster `_replace` ---------------------------------------------------------------


def _fast_replace(cls: type[Any]) -> None:
    """Gives NamedTuple `cls` a `_replace` that copies the tuple once and sets only the
    changed fields. `collections.namedtuple`'s own pops every field name from the dict
    of changes, which made it the largest single cost of a search: `Server` has 23
    fields and most steps change two or three. Type checkers still see the standard
    signature, so every call's field names and types stay checked."""
    index = {name: k for k, name in enumerate(cls._fields)}
    new = tuple.__new__

    def _replace(self: Any, **changes: Any) -> Any:
        values = list(self)
        for name, value in changes.items():
            values[index[name]] = value
        return new(cls, values)

    cls._replace = _replace


for _cls in (Entry, Config, Server, Msg, Budget, State):
    _fast_replace(_cls)
