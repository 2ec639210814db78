"""The canonical, hashable value of a raft_ref node's state, for fingerprints.

Two nodes with equal keys behave identically from now on (given the same inputs), so
the explorer treats them as one state. The key is built from `Raft`'s declared fields
by name: each field is a plain value, or is read by its own key (`STRUCTURED`), or is
left out on purpose (`LEFT_OUT`); a field added to `Raft` joins the plain values, and a
mutable one shows at once (it does not hash).

Every key function also builds the key of the state with node ids renamed (`Renaming`),
for symmetry reduction: each id is mapped, and each collection of ids is listed in
ascending order, the order raft_ref itself keeps them in (so that the identity renaming
gives the plain key). A plain field that holds an id is named in `ID_FIELDS`.
"""

from __future__ import annotations

import marshal
import operator
from collections.abc import Iterable
from hashlib import blake2b
from typing import Any

from raft_ref.eraftpb import (
    ConfChange,
    ConfState,
    Entry,
    EntryType,
    Message,
    Snapshot,
    decode_conf_change,
    encode_conf_change,
)
from raft_ref.progress import ProgressSet
from raft_ref.raft import Raft, StateRole
from raft_ref.raft_log import RaftLog
from raft_ref.raw_node import RawNode
from raft_ref.read_only import ReadOnly, ReadOnlyOption
from raft_ref.storage import MemStorage

__all__ = [
    "ID_FIELDS",
    "LEFT_OUT",
    "STRUCTURED",
    "Renaming",
    "message_hash",
    "message_key",
    "node_state_key",
    "stable_hash",
]

# The new id of each old id (index 0, "no node", stays 0).
Renaming = tuple[int, ...]

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


def stable_hash(key: Any) -> int:
    """A 64-bit hash of a key (nested tuples of ints, bools, bytes, str and None) that is
    the same in every process. Python's own hash of bytes and str, and in 3.11 of None,
    changes from one process to the next, while fingerprints must hold across processes
    (Ray workers, `--resume`)."""
    return int.from_bytes(blake2b(marshal.dumps(key, 2), digest_size=8).digest(), "little")


_message_hashes: dict[tuple[object, ...], int] = {}


def message_hash(key: tuple[object, ...]) -> int:
    """`stable_hash` of a message key (remembered: messages are fingerprinted often)."""
    known = _message_hashes.get(key)
    if known is None:
        if len(_message_hashes) >= 200_000:
            _message_hashes.clear()
        known = _message_hashes[key] = stable_hash(key)
    return known


def node_state_key(node: RawNode[MemStorage], ids: Renaming | None = None) -> tuple[object, ...]:
    """The node's whole state but the fields `LEFT_OUT`, as nested tuples; with `ids`,
    the key of that state with every node id renamed."""
    raft = node.raft
    pending = raft.pending_membership_change
    hs = node.prev_hs
    ss = node.prev_ss
    return (
        _plain_values(raft) if ids is None else _renamed_plain_values(raft, ids),
        # The fields of STRUCTURED, each by its own key.
        _ROLE_CODE[raft.state],
        _log_key(raft.raft_log, ids),
        _progress_set_key(raft.prs(), ids),
        tuple(sorted(raft.votes.items()))
        if ids is None
        else tuple(sorted((ids[voter], granted) for voter, granted in raft.votes.items())),
        None
        if pending is None
        else (pending.start_index, _conf_state_key(pending.configuration, ids)),
        _read_only_key(raft.read_only, ids),
        tuple((rs.index, rs.request_ctx) for rs in raft.read_states),
        tuple(message_key(m, ids) for m in raft.msgs),
        (hs.term, _renamed(hs.vote, ids), hs.commit),
        (_renamed(ss.leader_id, ids), ss.raft_state.value),
    )


def _renamed(node_id: int, ids: Renaming | None) -> int:
    return node_id if ids is None else ids[node_id]


def _renamed_plain_values(raft: Raft[MemStorage], ids: Renaming) -> tuple[object, ...]:
    plain = list(_plain_values(raft))
    for position in _ID_POSITIONS:
        held = plain[position]
        if held is not None:  # lead_transferee is optional
            plain[position] = ids[held]
    return tuple(plain)


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
_PLAIN = tuple(name for name in Raft.__slots__ if name not in STRUCTURED and name not in LEFT_OUT)
_plain_values = operator.attrgetter(*_PLAIN)
# The plain fields that hold a node id (0 or None for none).
ID_FIELDS = frozenset({"id", "vote", "leader_id", "lead_transferee"})
_ID_POSITIONS = tuple(k for k, name in enumerate(_PLAIN) if name in ID_FIELDS)
# Plain ints in keys: enum members hash by name, which varies between processes.
_ROLE_CODE = {role: role.value for role in StateRole}


def _ids_key(members: Iterable[int], ids: Renaming) -> tuple[int, ...]:
    """A collection of ids renamed, ascending."""
    return tuple(sorted([ids[i] for i in members]))


def _conf_state_key(cs: ConfState | None, ids: Renaming | None = None) -> object:
    if cs is None:
        return None
    if ids is None:
        return cs.key()
    return (_ids_key(cs.nodes, ids), _ids_key(cs.learners, ids))


def _snapshot_key(s: Snapshot | None, ids: Renaming | None = None) -> object:
    if s is None:
        return None
    meta = s.metadata
    return (
        s.data,
        meta.index,
        meta.term,
        _conf_state_key(meta.conf_state, ids),
        _conf_state_key(meta.pending_membership_change, ids),
        meta.pending_membership_change_index,
    )


def message_key(m: Message, ids: Renaming | None = None) -> tuple[object, ...]:
    """A canonical hashable value of a message (with `ids`: of the message renamed)."""
    return (
        int(m.msg_type),
        _renamed(m.to, ids),
        _renamed(m.from_, ids),
        m.term,
        m.log_term,
        m.index,
        _entries_key(m.entries, ids),
        m.commit,
        _snapshot_key(m.snapshot, ids),
        m.request_snapshot,
        m.reject,
        m.reject_hint,
        m.context,
    )


_entry_key = Entry.key
# Plain ints in keys: enum members hash by name, which varies between processes.
_READ_ONLY_CODE = {option: option.value for option in ReadOnlyOption}


def _entries_key(ents: list[Entry], ids: Renaming | None = None) -> tuple[object, ...]:
    if ids is None:
        return tuple(map(_entry_key, ents))
    return tuple(_renamed_entry_key(e, ids) for e in ents)


def _renamed_entry_key(e: Entry, ids: Renaming) -> tuple[object, ...]:
    """The key of an entry renamed: a configuration change's payload names nodes."""
    if e.entry_type is not EntryType.EntryConfChange or not e.data:
        return e.key()
    return (
        int(e.entry_type),
        e.term,
        e.index,
        _renamed_conf_change(e.data, ids),
        e.context,
        e.sync_log,
    )


_renamed_payloads: dict[tuple[bytes, Renaming], bytes] = {}


def _renamed_conf_change(data: bytes, ids: Renaming) -> bytes:
    """The encoded ConfChange `data` with its node ids renamed (configuration lists
    ascending, as raft_ref writes them)."""
    known = _renamed_payloads.get((data, ids))
    if known is not None:
        return known
    cc = decode_conf_change(data)
    conf = cc.configuration
    renamed = ConfChange(
        id=cc.id,
        change_type=cc.change_type,
        node_id=ids[cc.node_id],
        context=cc.context,
        configuration=None
        if conf is None
        else ConfState(list(_ids_key(conf.nodes, ids)), list(_ids_key(conf.learners, ids))),
        start_index=cc.start_index,
    )
    out = encode_conf_change(renamed)
    if len(_renamed_payloads) > 10_000:
        _renamed_payloads.clear()
    _renamed_payloads[(data, ids)] = out
    return out


def _log_key(log: RaftLog[MemStorage], ids: Renaming | None = None) -> tuple[object, ...]:
    """The log's state: indexes, unstable part and (for MemStorage) the stored part."""
    unstable = log.unstable
    store = log.store
    core = getattr(store, "core", None)
    if core is not None:
        rs = core.raft_state
        hs = rs.hard_state
        meta = core.snapshot_metadata
        stored: object = (
            _entries_key(core.entries, ids),
            (meta.index, meta.term, _conf_state_key(meta.conf_state, ids)),
            (meta.pending_membership_change_index,),
            (hs.term, _renamed(hs.vote, ids), hs.commit),
            _conf_state_key(rs.conf_state, ids),
            _conf_state_key(rs.pending_conf_state, ids),
            rs.pending_conf_state_start_index,
            core.snap_unavailable_once,
        )
    else:
        first = store.first_index()
        last = store.last_index()
        stored = (
            first,
            store.term(first - 1),
            _entries_key(store.entries(first, last + 1), ids) if last >= first else (),
        )
    return (
        log.committed,
        log.applied,
        unstable.offset,
        _entries_key(unstable.entries, ids),
        _snapshot_key(unstable.snapshot, ids),
        stored,
    )


def _progress_set_key(prs: ProgressSet, ids: Renaming | None = None) -> tuple[object, ...]:
    conf = prs.configuration
    nxt = prs.next_configuration
    peers = []
    for id_, pr in prs.iter():
        ins = pr.ins
        peers.append(
            (
                _renamed(id_, ids),
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
    if ids is None:
        return (
            tuple(conf.voters),
            tuple(conf.learners),
            None if nxt is None else (tuple(nxt.voters), tuple(nxt.learners)),
            tuple(peers),
        )
    peers.sort()
    return (
        _ids_key(conf.voters, ids),
        _ids_key(conf.learners, ids),
        None if nxt is None else (_ids_key(nxt.voters, ids), _ids_key(nxt.learners, ids)),
        tuple(peers),
    )


def _read_only_key(ro: ReadOnly, ids: Renaming | None = None) -> tuple[object, ...]:
    pending = ro.pending_read_index
    return (
        _READ_ONLY_CODE[ro.option],
        tuple(
            (
                ctx,
                pending[ctx].index,
                tuple(sorted(pending[ctx].acks))
                if ids is None
                else _ids_key(pending[ctx].acks, ids),
                message_key(pending[ctx].req, ids),
            )
            for ctx in ro.read_index_queue
        ),
    )
