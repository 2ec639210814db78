"""Ports of the unit tests in raft-rs src/storage.rs, plus MemStorage behaviour checks."""

import pytest

from raft_ref.eraftpb import (
    ConfChange,
    ConfState,
    Entry,
    HardState,
    Snapshot,
    SnapshotMetadata,
)
from raft_ref.errors import (
    Compacted,
    RaftPanic,
    SnapshotOutOfDate,
    SnapshotTemporarilyUnavailable,
    StorageError,
    Unavailable,
)
from raft_ref.storage import MemStorage, RaftState
from raft_ref.util import NO_LIMIT


def new_entry(index: int, term: int) -> Entry:
    return Entry(term=term, index=index)


def size_of(e: Entry) -> int:
    return e.compute_size()


def new_snapshot(index: int, term: int, nodes: list[int]) -> Snapshot:
    return Snapshot(
        metadata=SnapshotMetadata(conf_state=ConfState(nodes=nodes), index=index, term=term)
    )


def storage_with(ents: list[Entry]) -> MemStorage:
    storage = MemStorage()
    storage.wl().entries = list(ents)
    return storage


@pytest.mark.parametrize(
    ("idx", "wterm"),
    [(2, Compacted()), (3, 3), (4, 4), (5, 5), (6, Unavailable())],
)
def test_storage_term(idx: int, wterm: int | StorageError) -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)])
    if isinstance(wterm, StorageError):
        with pytest.raises(StorageError) as err:
            storage.term(idx)
        assert err.value == wterm
    else:
        assert storage.term(idx) == wterm


ENTS_3_TO_6 = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]
_S1, _S2, _S3 = (size_of(e) for e in ENTS_3_TO_6[1:])


@pytest.mark.parametrize(
    ("lo", "hi", "maxsize", "wentries"),
    [
        (2, 6, NO_LIMIT, Compacted()),
        (3, 4, NO_LIMIT, [new_entry(3, 3)]),
        (4, 5, NO_LIMIT, [new_entry(4, 4)]),
        (4, 6, NO_LIMIT, [new_entry(4, 4), new_entry(5, 5)]),
        (4, 7, NO_LIMIT, [new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]),
        # even with a zero limit the first entry comes back
        (4, 7, 0, [new_entry(4, 4)]),
        # room for two
        (4, 7, _S1 + _S2, [new_entry(4, 4), new_entry(5, 5)]),
        (4, 7, _S1 + _S2 + _S3 // 2, [new_entry(4, 4), new_entry(5, 5)]),
        (4, 7, _S1 + _S2 + _S3 - 1, [new_entry(4, 4), new_entry(5, 5)]),
        # room for all
        (4, 7, _S1 + _S2 + _S3, [new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]),
    ],
)
def test_storage_entries(
    lo: int, hi: int, maxsize: int, wentries: list[Entry] | StorageError
) -> None:
    storage = storage_with(ENTS_3_TO_6)
    if isinstance(wentries, StorageError):
        with pytest.raises(StorageError) as err:
            storage.entries(lo, hi, maxsize)
        assert err.value == wentries
    else:
        assert storage.entries(lo, hi, maxsize) == wentries


def test_storage_last_index() -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)])
    assert storage.last_index() == 5
    storage.wl().append([new_entry(6, 5)])
    assert storage.last_index() == 6


def test_storage_first_index() -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)])
    assert storage.first_index() == 3
    storage.wl().compact(4)
    assert storage.first_index() == 4


@pytest.mark.parametrize(
    ("idx", "windex", "wterm", "wlen"), [(2, 3, 3, 3), (3, 3, 3, 3), (4, 4, 4, 2), (5, 5, 5, 1)]
)
def test_storage_compact(idx: int, windex: int, wterm: int, wlen: int) -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)])
    storage.wl().compact(idx)
    index = storage.first_index()
    assert index == windex
    try:
        got = storage.entries(index, index + 1, 1)
        term = got[0].term if got else 0
    except StorageError:
        term = 0
    assert term == wterm
    last = storage.last_index()
    assert len(storage.entries(index, last + 1, 100)) == wlen


@pytest.mark.parametrize(
    ("idx", "wresult", "windex"),
    [
        (4, new_snapshot(4, 4, [1, 2, 3]), 0),
        (5, new_snapshot(5, 5, [1, 2, 3]), 5),
        (5, new_snapshot(6, 5, [1, 2, 3]), 6),
        (5, SnapshotTemporarilyUnavailable(), 6),
    ],
)
def test_storage_create_snapshot(idx: int, wresult: Snapshot | StorageError, windex: int) -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)])
    storage.wl().raft_state.hard_state.commit = idx
    storage.wl().raft_state.hard_state.term = idx
    storage.wl().raft_state.conf_state = ConfState(nodes=[1, 2, 3])
    if isinstance(wresult, StorageError):
        storage.wl().trigger_snap_unavailable()
        with pytest.raises(StorageError) as err:
            storage.snapshot(windex)
        assert err.value == wresult
    else:
        assert storage.snapshot(windex) == wresult


@pytest.mark.parametrize(
    ("entries", "wentries"),
    [
        (
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)],
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)],
        ),
        (
            [new_entry(3, 3), new_entry(4, 6), new_entry(5, 6)],
            [new_entry(3, 3), new_entry(4, 6), new_entry(5, 6)],
        ),
        (
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 5)],
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 5)],
        ),
        # overwriting compacted entries is refused
        ([new_entry(2, 3), new_entry(3, 3), new_entry(4, 5)], None),
        # truncate the stored tail, then append
        ([new_entry(4, 5)], [new_entry(3, 3), new_entry(4, 5)]),
        # plain append
        (
            [new_entry(6, 6)],
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)],
        ),
    ],
)
def test_storage_append(entries: list[Entry], wentries: list[Entry] | None) -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)])
    if wentries is None:
        with pytest.raises(RaftPanic):
            storage.wl().append(entries)
    else:
        storage.wl().append(entries)
        assert storage.wl().entries == wentries


def test_storage_apply_snapshot() -> None:
    storage = MemStorage()
    storage.wl().apply_snapshot(new_snapshot(4, 4, [1, 2, 3]))
    # An older snapshot than the log's start is out of date.
    with pytest.raises(SnapshotOutOfDate):
        storage.wl().apply_snapshot(new_snapshot(3, 3, [1, 2, 3]))


# --- MemStorage behaviour beyond the upstream unit tests -------------------------------


def test_append_with_gap_panics() -> None:
    storage = storage_with([new_entry(3, 3)])
    with pytest.raises(RaftPanic, match="continuous"):
        storage.wl().append([new_entry(5, 3)])


def test_new_with_conf_state_starts_at_index_one_term_one() -> None:
    storage = MemStorage.new_with_conf_state(([1, 2, 3], [4]))
    state = storage.initial_state()
    assert state.initialized()
    assert state.hard_state == HardState(term=1, vote=0, commit=1)
    assert state.conf_state == ConfState(nodes=[1, 2, 3], learners=[4])
    assert (storage.first_index(), storage.last_index()) == (2, 1)
    assert storage.term(1) == 1
    with pytest.raises(RaftPanic):
        storage.initialize_with_conf_state(ConfState(nodes=[1]))


def test_uninitialized_storage() -> None:
    storage = MemStorage.new()
    assert not storage.initial_state().initialized()
    assert (storage.first_index(), storage.last_index(), storage.term(0)) == (1, 0, 0)


def test_snapshot_term_comes_from_hard_state() -> None:
    # raft-rs issue #408: the snapshot's term is the hard state's, not the entry's.
    storage = storage_with([new_entry(3, 3), new_entry(4, 4)])
    storage.wl().set_hardstate(HardState(term=9, vote=0, commit=3))
    snap = storage.snapshot(0)
    assert (snap.metadata.index, snap.metadata.term) == (3, 9)


def test_snapshot_term_of_entry_labels_snapshots_as_upstreams_fix() -> None:
    # The option follows tikv/raft-rs#409: the term of the entry at the snapshot's index.
    storage = MemStorage(snapshot_term_of_entry=True)
    storage.wl().apply_snapshot(Snapshot(metadata=SnapshotMetadata(index=2, term=2)))
    storage.wl().append([new_entry(3, 3), new_entry(4, 4)])
    storage.wl().set_hardstate(HardState(term=9, vote=0, commit=3))
    assert (storage.snapshot(0).metadata.index, storage.snapshot(0).metadata.term) == (3, 3)
    storage.wl().set_hardstate(HardState(term=9, vote=0, commit=2))
    assert storage.snapshot(0).metadata.term == 2  # the last snapshot's own label
    assert storage.clone().snapshot(0).metadata.term == 2  # a copy keeps the option
    # Applying a snapshot labelled with an older entry's term keeps the stored term.
    storage.wl().apply_snapshot(Snapshot(metadata=SnapshotMetadata(index=4, term=4)))
    assert storage.wl().hard_state == HardState(term=9, vote=0, commit=4)


def test_snap_unavailable_is_one_shot() -> None:
    storage = storage_with([new_entry(3, 3)])
    storage.wl().trigger_snap_unavailable()
    with pytest.raises(SnapshotTemporarilyUnavailable):
        storage.snapshot(0)
    assert storage.snapshot(0).metadata.index == 0


def test_commit_to_takes_term_of_entry() -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4)])
    storage.wl().commit_to(4)
    assert storage.wl().hard_state == HardState(term=4, vote=0, commit=4)
    with pytest.raises(RaftPanic):
        storage.wl().commit_to(5)


def test_pending_membership_change_round_trips_through_snapshot() -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4)])
    target = ConfState(nodes=[1, 2, 3, 4])
    storage.wl().set_conf_state(ConfState(nodes=[1, 2, 3]), (target, 4))
    storage.wl().commit_to(4)
    snap = storage.snapshot(0)
    assert snap.metadata.pending_membership_change == target
    assert snap.metadata.pending_membership_change_index == 4

    other = MemStorage()
    other.wl().apply_snapshot(snap)
    state = other.initial_state()
    assert state.pending_conf_state == target
    assert state.pending_conf_state_start_index == 4
    assert state.conf_state == ConfState(nodes=[1, 2, 3])
    assert (other.first_index(), other.last_index(), other.term(4)) == (5, 4, 4)


def test_commit_to_and_set_conf_states() -> None:
    storage = storage_with([new_entry(3, 3), new_entry(4, 4)])
    change = ConfChange(configuration=ConfState(nodes=[1, 2]), start_index=3)
    storage.wl().commit_to_and_set_conf_states(3, ConfState(nodes=[1]), change)
    assert storage.initial_state() == RaftState(
        HardState(term=3, commit=3), ConfState(nodes=[1]), ConfState(nodes=[1, 2]), 3
    )


def test_clone_is_independent() -> None:
    storage = MemStorage.new_with_conf_state(([1], []))
    storage.wl().append([new_entry(2, 1)])
    copy = storage.clone()
    copy.wl().append([new_entry(3, 2)])
    copy.wl().mut_hard_state().vote = 1
    copy.wl().compact(2)
    assert storage.last_index() == 2
    assert storage.initial_state().hard_state.vote == 0
    assert copy.last_index() == 3
    assert copy.wl().entries[0] is storage.wl().entries[0]  # entries are shared


def test_initial_state_is_a_copy() -> None:
    storage = MemStorage.new_with_conf_state(([1, 2], []))
    state = storage.initial_state()
    state.conf_state.nodes.append(3)
    state.hard_state.commit = 9
    assert storage.initial_state().conf_state == ConfState(nodes=[1, 2])
    assert storage.initial_state().hard_state.commit == 1


def test_entries_past_last_index_panics() -> None:
    storage = storage_with([new_entry(3, 3)])
    with pytest.raises(RaftPanic):
        storage.entries(3, 5)
