"""Symmetry over server ids: renaming servers maps behaviours to behaviours.

Every rule of the model treats ids alike (membership changes are rules relative to the
current configuration, not fixed target sets), and so does every property, so the
transition relation is symmetric under *all* permutations of the ids, spare servers
included: a spare differs from a voter only by its state (its configuration does not
contain it), which a renaming carries along. The initial state need not be symmetric:
exploring one representative per orbit still visits the orbit of every reachable state.

`canonical` renames servers into an order given by an id-free key; servers with equal
keys are tried in every order and the least result (by hash) is kept. Any deterministic
choice is sound (equal results imply symmetric states); trying the tied orders makes
symmetric states meet more often.
"""

from __future__ import annotations

from functools import cache
from itertools import permutations, product
from typing import Any

from model.state import Bag, Config, Entry, Kind, Log, Msg, Server, State

Perm = tuple[int, ...]  # perm[old_id - 1] = new_id - 1


@cache
def _mask_table(perm: Perm) -> tuple[int, ...]:
    n = len(perm)
    table = []
    for mask in range(1 << n):
        out = 0
        for k in range(n):
            if mask >> k & 1:
                out |= 1 << perm[k]
        table.append(out)
    return tuple(table)


def _rename_log(log: Log, masks: tuple[int, ...]) -> Log:
    if Kind.BEGIN not in [e.kind for e in log]:
        return log
    return tuple(
        Entry(e.term, e.kind, masks[e.voters], masks[e.learners]) if e.kind == Kind.BEGIN else e
        for e in log
    )


def _rename_server(s: Server, perm: Perm, masks: tuple[int, ...]) -> tuple[Any, ...]:
    """`s` renamed, as a plain tuple (it hashes like the Server it stands for)."""
    snapshot, requests = s.snapshot, s.snap_requests
    if s.replicate:  # a leader: its progress is indexed by server
        n = len(perm)
        match, nxt = [0] * n, [0] * n
        for k in range(n):
            match[perm[k]] = s.match[k]
            nxt[perm[k]] = s.next[k]
        progress = (tuple(match), tuple(nxt))
        inverse = id_table(perm)[1]
        snapshot = _reorder(snapshot, inverse)
        requests = _reorder(requests, inverse)
    else:
        progress = (s.match, s.next)  # all zero
    c = s.config
    return (
        s.term,
        perm[s.vote - 1] + 1 if s.vote else 0,
        s.role,
        perm[s.leader - 1] + 1 if s.leader else 0,
        _rename_log(s.log, masks),
        s.commit,
        s.applied,
        (masks[c.voters], masks[c.learners], masks[c.next_voters], masks[c.next_learners], c.start),
        masks[s.granted],
        masks[s.rejected],
        *progress,
        masks[s.replicate],
        masks[s.paused],
        s.pending_conf,
        perm[s.transferee - 1] + 1 if s.transferee else 0,
        tuple((r, i, masks[a], q, perm[o - 1] + 1) for r, i, a, q, o in s.reads)
        if s.reads
        else s.reads,
        s.served,
        masks[s.active],
        snapshot,
        s.is_learner,
        s.requested,
        requests,
    )


def _reorder(per_peer: tuple[int, ...], inverse: tuple[int, ...]) -> tuple[int, ...]:
    """A per-server tuple (() when all zero) renamed: the old index at each new one."""
    return tuple([per_peer[k] for k in inverse]) if per_peer else per_peer


def _rename_config(c: Config, masks: tuple[int, ...]) -> Config:
    if not c.voters:
        return c  # NO_CONFIG
    return Config(
        masks[c.voters], masks[c.learners], masks[c.next_voters], masks[c.next_learners], c.start
    )


def _rename_bag(
    bag: Bag, perm: Perm, masks: tuple[int, ...]
) -> tuple[tuple[tuple[Any, ...], int], ...]:
    out = [
        (
            (
                m.type,
                perm[m.src - 1] + 1,
                perm[m.dst - 1] + 1,
                m.term,
                m.idx,
                m.log_term,
                _rename_log(m.entries, masks) if m.entries else m.entries,
                m.commit,
                m.reject,
                m.hint,
                m.context,
                _rename_config(m.config, masks),
            ),
            count,
        )
        for m, count in bag
    ]
    out.sort()
    return tuple(out)


@cache
def id_table(perm: Perm) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(new id of each old id, 0 -> 0), and the old index at each new index."""
    inverse = [0] * len(perm)
    for old, new in enumerate(perm):
        inverse[new] = old
    return (0, *(new + 1 for new in perm)), tuple(inverse)


def _renamed_hash(state: State, perm: Perm) -> int:
    """hash(rename(state, perm)), computed without building the NamedTuples: the
    explorer's hot path."""
    masks = _mask_table(perm)
    new_id, inverse = id_table(perm)
    logs_have_ids = state.budget.membership_changes > 0  # Begin entries carry masks
    servers = []
    for old in inverse:
        s = state.servers[old]
        snapshot, requests = s.snapshot, s.snap_requests
        if s.replicate:  # a leader: its progress is indexed by server
            match = tuple([s.match[k] for k in inverse])
            nxt = tuple([s.next[k] for k in inverse])
            snapshot = _reorder(snapshot, inverse)
            requests = _reorder(requests, inverse)
        else:
            match, nxt = s.match, s.next  # all zero
        c = s.config
        servers.append(
            (
                s.term,
                new_id[s.vote],
                s.role,
                new_id[s.leader],
                _rename_log(s.log, masks) if logs_have_ids else s.log,
                s.commit,
                s.applied,
                (
                    masks[c.voters],
                    masks[c.learners],
                    masks[c.next_voters],
                    masks[c.next_learners],
                    c.start,
                ),
                masks[s.granted],
                masks[s.rejected],
                match,
                nxt,
                masks[s.replicate],
                masks[s.paused],
                s.pending_conf,
                new_id[s.transferee],
                tuple((r, i, masks[a], q, new_id[o]) for r, i, a, q, o in s.reads)
                if s.reads
                else s.reads,
                s.served,
                masks[s.active],
                snapshot,
                s.is_learner,
                s.requested,
                requests,
            )
        )
    bag = sorted(
        [
            (
                (
                    m.type,
                    new_id[m.src],
                    new_id[m.dst],
                    m.term,
                    m.idx,
                    m.log_term,
                    _rename_log(m.entries, masks) if logs_have_ids else m.entries,
                    m.commit,
                    m.reject,
                    m.hint,
                    m.context,
                    _rename_config(m.config, masks),
                ),
                count,
            )
            for m, count in state.network
        ]
    )
    return hash((tuple(servers), tuple(bag), state.budget))


def rename(state: State, perm: Perm) -> State:
    """`state` with server id `k + 1` renamed to `perm[k] + 1`."""
    masks = _mask_table(perm)
    servers: list[Server] = list(state.servers)
    for k, s in enumerate(state.servers):
        fields = list(_rename_server(s, perm, masks))
        fields[7] = Config._make(fields[7])
        servers[perm[k]] = Server._make(fields)
    bag = tuple((Msg._make(m), n) for m, n in _rename_bag(state.network, perm, masks))
    return State(tuple(servers), bag, state.budget)


def canonical_perms(state: State) -> list[Perm]:
    """The renamings that sort servers by an id-free key, every order of equal keys
    included."""
    n = len(state.servers)
    mail: list[list[tuple[int, ...]]] = [[] for _ in range(n)]
    for m, count in state.network:
        mail[m.dst - 1].append((m.type, m.term, m.idx, m.log_term, m.commit, m.reject, count))
        mail[m.src - 1].append((-1 - m.type, m.term, count))
    keys = []
    for k, s in enumerate(state.servers):
        flag = 1 << k
        c = s.config
        flags = (
            (c.voters & flag and 1)
            | (c.learners & flag and 2)
            | (c.next_voters & flag and 4)
            | (c.next_learners & flag and 8)
            | (s.vote == k + 1 and 16)
            | (s.vote != 0 and 32)
            | (s.leader == k + 1 and 64)
            | (s.leader != 0 and 128)
        )
        box = mail[k]
        if len(box) > 1:
            box.sort()
        keys.append((s.term, s.role, s.commit, s.applied, flags, s.match[k], s.log, box, k))
    keys.sort()
    # Group equal keys (all but the trailing index).
    groups: list[list[int]] = []
    previous: object = None
    for key in keys:
        if groups and key[:-1] == previous:
            groups[-1].append(key[-1])
        else:
            groups.append([key[-1]])
        previous = key[:-1]
    if len(groups) == n:
        perm = [0] * n
        for position, group in enumerate(groups):
            perm[group[0]] = position
        return [tuple(perm)]
    slots = []
    position = 0
    for group in groups:
        slots.append((group, range(position, position + len(group))))
        position += len(group)
    perms = []
    for choice in product(*(permutations(g) for g, _ in slots)):
        perm = [0] * n
        for ordered, (_, positions) in zip(choice, slots, strict=True):
            for old, new in zip(ordered, positions, strict=True):
                perm[old] = new
        perms.append(tuple(perm))
    return perms


def symmetric_hash(state: State) -> int:
    """Equal for states that differ by a renaming of servers (and, with high probability,
    only for those)."""
    perms = canonical_perms(state)
    if len(perms) == 1:
        perm = perms[0]
        if perm == tuple(range(len(perm))):
            return hash(state)
        return _renamed_hash(state, perm)
    return min(_renamed_hash(state, perm) for perm in perms)
