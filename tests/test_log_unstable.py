"""Ports of the unit tests in raft-rs src/log_unstable.rs."""

import pytest

from raft_ref.eraftpb import Entry, Snapshot, SnapshotMetadata
from raft_ref.errors import RaftPanic
from raft_ref.log_unstable import Unstable


def new_entry(index: int, term: int) -> Entry:
    return Entry(term=term, index=index)


def new_snapshot(index: int, term: int) -> Snapshot:
    return Snapshot(metadata=SnapshotMetadata(index=index, term=term))


def unstable(entry: Entry | None, offset: int, snap: Snapshot | None) -> Unstable:
    return Unstable(snapshot=snap, entries=[] if entry is None else [entry], offset=offset)


# entry, offset, snapshot, wok, windex
@pytest.mark.parametrize(
    ("entry", "offset", "snap", "wok", "windex"),
    [
        # no snapshot
        (new_entry(5, 1), 5, None, False, 0),
        (None, 0, None, False, 0),
        # has snapshot
        (new_entry(5, 1), 5, new_snapshot(4, 1), True, 5),
        (None, 5, new_snapshot(4, 1), True, 5),
    ],
)
def test_maybe_first_index(
    entry: Entry | None, offset: int, snap: Snapshot | None, wok: bool, windex: int
) -> None:
    index = unstable(entry, offset, snap).maybe_first_index()
    assert (index is not None) == wok
    if index is not None:
        assert index == windex


@pytest.mark.parametrize(
    ("entry", "offset", "snap", "wok", "windex"),
    [
        (new_entry(5, 1), 5, None, True, 5),
        (new_entry(5, 1), 5, new_snapshot(4, 1), True, 5),
        # last in snapshot
        (None, 5, new_snapshot(4, 1), True, 4),
        # empty unstable
        (None, 0, None, False, 0),
    ],
)
def test_maybe_last_index(
    entry: Entry | None, offset: int, snap: Snapshot | None, wok: bool, windex: int
) -> None:
    index = unstable(entry, offset, snap).maybe_last_index()
    assert (index is not None) == wok
    if index is not None:
        assert index == windex


@pytest.mark.parametrize(
    ("entry", "offset", "snap", "index", "wok", "wterm"),
    [
        # term from entries
        (new_entry(5, 1), 5, None, 5, True, 1),
        (new_entry(5, 1), 5, None, 6, False, 0),
        (new_entry(5, 1), 5, None, 4, False, 0),
        (new_entry(5, 1), 5, new_snapshot(4, 1), 5, True, 1),
        (new_entry(5, 1), 5, new_snapshot(4, 1), 6, False, 0),
        # term from snapshot
        (new_entry(5, 1), 5, new_snapshot(4, 1), 4, True, 1),
        (new_entry(5, 1), 5, new_snapshot(4, 1), 3, False, 0),
        (None, 5, new_snapshot(4, 1), 5, False, 0),
        (None, 5, new_snapshot(4, 1), 4, True, 1),
        (None, 0, None, 5, False, 0),
    ],
)
def test_maybe_term(
    *, entry: Entry | None, offset: int, snap: Snapshot | None, index: int, wok: bool, wterm: int
) -> None:
    term = unstable(entry, offset, snap).maybe_term(index)
    assert (term is not None) == wok
    if term is not None:
        assert term == wterm


def test_restore() -> None:
    u = Unstable(entries=[new_entry(5, 1)], offset=5, snapshot=new_snapshot(4, 1))
    s = new_snapshot(6, 2)
    u.restore(s)
    assert u.offset == s.metadata.index + 1
    assert not u.entries
    assert u.snapshot == s


@pytest.mark.parametrize(
    ("entries", "offset", "snap", "index", "term", "woffset", "wlen"),
    [
        ([], 0, None, 5, 1, 0, 0),
        # stable to the first entry
        ([new_entry(5, 1)], 5, None, 5, 1, 6, 0),
        ([new_entry(5, 1), new_entry(6, 0)], 5, None, 5, 1, 6, 1),
        # stable to the first entry and term mismatch
        ([new_entry(6, 2)], 5, None, 6, 1, 5, 1),
        # stable to old entry
        ([new_entry(5, 1)], 5, None, 4, 1, 5, 1),
        ([new_entry(5, 1)], 5, None, 4, 2, 5, 1),
        # with snapshot: stable to the first entry
        ([new_entry(5, 1)], 5, new_snapshot(4, 1), 5, 1, 6, 0),
        ([new_entry(5, 1), new_entry(6, 1)], 5, new_snapshot(4, 1), 5, 1, 6, 1),
        # stable to the first entry and term mismatch
        ([new_entry(6, 2)], 5, new_snapshot(5, 1), 6, 1, 5, 1),
        # stable to snapshot
        ([new_entry(5, 1)], 5, new_snapshot(4, 1), 4, 1, 5, 1),
        # stable to old entry
        ([new_entry(5, 2)], 5, new_snapshot(4, 2), 4, 1, 5, 1),
    ],
)
def test_stable_to(
    *,
    entries: list[Entry],
    offset: int,
    snap: Snapshot | None,
    index: int,
    term: int,
    woffset: int,
    wlen: int,
) -> None:
    u = Unstable(entries=list(entries), offset=offset, snapshot=snap)
    u.stable_to(index, term)
    assert u.offset == woffset
    assert len(u.entries) == wlen


@pytest.mark.parametrize(
    ("entries", "offset", "snap", "to_append", "woffset", "wentries"),
    [
        # append to the end
        (
            [new_entry(5, 1)],
            5,
            None,
            [new_entry(6, 1), new_entry(7, 1)],
            5,
            [new_entry(5, 1), new_entry(6, 1), new_entry(7, 1)],
        ),
        # replace the unstable entries
        (
            [new_entry(5, 1)],
            5,
            None,
            [new_entry(5, 2), new_entry(6, 2)],
            5,
            [new_entry(5, 2), new_entry(6, 2)],
        ),
        (
            [new_entry(5, 1)],
            5,
            None,
            [new_entry(4, 2), new_entry(5, 2), new_entry(6, 2)],
            4,
            [new_entry(4, 2), new_entry(5, 2), new_entry(6, 2)],
        ),
        # truncate the existing entries and append
        (
            [new_entry(5, 1), new_entry(6, 1), new_entry(7, 1)],
            5,
            None,
            [new_entry(6, 2)],
            5,
            [new_entry(5, 1), new_entry(6, 2)],
        ),
        (
            [new_entry(5, 1), new_entry(6, 1), new_entry(7, 1)],
            5,
            None,
            [new_entry(7, 2), new_entry(8, 2)],
            5,
            [new_entry(5, 1), new_entry(6, 1), new_entry(7, 2), new_entry(8, 2)],
        ),
    ],
)
def test_truncate_and_append(
    *,
    entries: list[Entry],
    offset: int,
    snap: Snapshot | None,
    to_append: list[Entry],
    woffset: int,
    wentries: list[Entry],
) -> None:
    u = Unstable(entries=list(entries), offset=offset, snapshot=snap)
    u.truncate_and_append(to_append)
    assert u.offset == woffset
    assert u.entries == wentries


# --- beyond the upstream unit tests ------------------------------------------------------


def test_slice_out_of_bounds_panics() -> None:
    u = Unstable(entries=[new_entry(5, 1), new_entry(6, 1)], offset=5)
    assert u.slice(5, 7) == [new_entry(5, 1), new_entry(6, 1)]
    assert u.slice(6, 6) == []
    for lo, hi in [(4, 6), (5, 8), (7, 6)]:
        with pytest.raises(RaftPanic):
            u.slice(lo, hi)


def test_stable_snap_to_only_drops_matching_snapshot() -> None:
    u = Unstable(snapshot=new_snapshot(4, 1), offset=5)
    u.stable_snap_to(3)
    assert u.snapshot is not None
    u.stable_snap_to(4)
    assert u.snapshot is None


def test_clone_is_independent() -> None:
    u = Unstable(entries=[new_entry(5, 1)], offset=5)
    copy = u.clone()
    copy.truncate_and_append([new_entry(6, 1)])
    copy.stable_to(5, 1)
    assert u == Unstable(entries=[new_entry(5, 1)], offset=5)
    assert copy.offset == 6
