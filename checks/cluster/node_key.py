"""The canonical, hashable value of a raft_ref node's state, for fingerprints.

Two nodes with equal keys behave identically from now on (given the same inputs), so
the explorer treats them as one state. The key is built from `Raft`'s declared fields
by name: each field is a plain value, or is read by its own key (`STRUCTURED`), or is
left out on purpose (`LEFT_OUT`); a field added to `Raft` joins the plain values, and a
mutable one shows at once (it does not hash).
"""

from __future__ import annotations

import operator

from raft_ref.eraftpb import Entry, Message, Snapshot
from raft_ref.progress import ProgressSet
from raft_ref.raft import Raft, StateRole
from raft_ref.raft_log import RaftLog
from raft_ref.raw_node import RawNode
from raft_ref.read_only import ReadOnly, ReadOnlyOption
from raft_ref.storage import MemStorage

__all__ = ["LEFT_OUT", "STRUCTURED", "node_state_key"]

# Fields that do not enter the key: the configuration, fixed for a node's life, and
# the election timeout generator's state. The clusters the explorer runs draw the
# timeout from a range of one value (see ClusterSettings), so the generator state
# cannot influence behaviour.
LEFT_OUT = frozenset(
    {
        "_rng_state",
        "election_timeout",
        "heartbeat_timeout",
        "max_election_timeout",
        "max_inflight",
        "max_msg_size",
        "min_election_timeout",
        "tag",
    }
)


def node_state_key(node: RawNode[MemStorage]) -> tuple[object, ...]:
    """The node's whole state but the fields `LEFT_OUT`, as nested tuples."""
    raft = node.raft
    pending = raft.pending_membership_change
    pending_conf = pending.configuration if pending is not None else None
    hs = node.prev_hs
    ss = node.prev_ss
    return (
        _plain_values(raft),
        # The fields of STRUCTURED, each by its own key.
        _ROLE_CODE[raft.state],
        _log_key(raft.raft_log),
        _progress_set_key(raft.prs()),
        tuple(sorted(raft.votes.items())),
        None
        if pending is None
        else (pending.start_index, pending_conf.key() if pending_conf is not None else None),
        _read_only_key(raft.read_only),
        tuple((rs.index, rs.request_ctx) for rs in raft.read_states),
        tuple(message_key(m) for m in raft.msgs),
        (hs.term, hs.vote, hs.commit),
        (ss.leader_id, ss.raft_state.value),
    )


# The fields `node_state_key` reads one by one; every other field not LEFT_OUT is a
# plain (hashable) value and is read with the others at once.
STRUCTURED = frozenset(
    {
        "state",
        "raft_log",
        "_prs",
        "votes",
        "pending_membership_change",
        "read_only",
        "read_states",
        "msgs",
    }
)
_plain_values = operator.attrgetter(
    *(name for name in Raft.__slots__ if name not in STRUCTURED and name not in LEFT_OUT)
)
# Plain ints in keys: enum members hash by name, which varies between processes.
_ROLE_CODE = {role: role.value for role in StateRole}


def _snapshot_key(s: Snapshot | None) -> object:
    if s is None:
        return None
    meta = s.metadata
    pending = meta.pending_membership_change
    return (
        s.data,
        meta.index,
        meta.term,
        meta.conf_state.key(),
        pending.key() if pending is not None else None,
        meta.pending_membership_change_index,
    )


def message_key(m: Message) -> tuple[object, ...]:
    """A canonical hashable value of a message."""
    return (
        int(m.msg_type),
        m.to,
        m.from_,
        m.term,
        m.log_term,
        m.index,
        tuple(e.key() for e in m.entries),
        m.commit,
        _snapshot_key(m.snapshot),
        m.request_snapshot,
        m.reject,
        m.reject_hint,
        m.context,
    )


_entry_key = Entry.key
# Plain ints in keys: enum members hash by name, which varies between processes.
_READ_ONLY_CODE = {option: option.value for option in ReadOnlyOption}


def _entries_key(ents: list[Entry]) -> tuple[object, ...]:
    return tuple(map(_entry_key, ents))


def _log_key(log: RaftLog[MemStorage]) -> tuple[object, ...]:
    """The log's state: indexes, unstable part and (for MemStorage) the stored part."""
    unstable = log.unstable
    store = log.store
    core = getattr(store, "core", None)
    if core is not None:
        rs = core.raft_state
        hs = rs.hard_state
        pending = rs.pending_conf_state
        meta = core.snapshot_metadata
        stored: object = (
            _entries_key(core.entries),
            (meta.index, meta.term, meta.conf_state.key()),
            (meta.pending_membership_change_index,),
            (hs.term, hs.vote, hs.commit),
            rs.conf_state.key(),
            pending.key() if pending is not None else None,
            rs.pending_conf_state_start_index,
            core.snap_unavailable_once,
        )
    else:
        first = store.first_index()
        last = store.last_index()
        stored = (
            first,
            store.term(first - 1),
            _entries_key(store.entries(first, last + 1)) if last >= first else (),
        )
    return (
        log.committed,
        log.applied,
        unstable.offset,
        _entries_key(unstable.entries),
        _snapshot_key(unstable.snapshot),
        stored,
    )


def _progress_set_key(prs: ProgressSet) -> tuple[object, ...]:
    conf = prs.configuration
    nxt = prs.next_configuration
    peers = []
    for id_, pr in prs.iter():
        ins = pr.ins
        peers.append(
            (
                id_,
                pr.matched,
                pr.next_idx,
                int(pr.state),
                pr.paused,
                pr.pending_snapshot,
                pr.pending_request_snapshot,
                pr.recent_active,
                ins.start,
                ins.count,
                tuple(ins.buffer),
                ins.cap(),
            )
        )
    return (
        tuple(conf.voters),
        tuple(conf.learners),
        None if nxt is None else (tuple(nxt.voters), tuple(nxt.learners)),
        tuple(peers),
    )


def _read_only_key(ro: ReadOnly) -> tuple[object, ...]:
    pending = ro.pending_read_index
    return (
        _READ_ONLY_CODE[ro.option],
        tuple(
            (
                ctx,
                pending[ctx].index,
                tuple(sorted(pending[ctx].acks)),
                message_key(pending[ctx].req),
            )
            for ctx in ro.read_index_queue
        ),
    )
