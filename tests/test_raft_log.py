"""Ports of the unit tests in raft-rs src/raft_log.rs."""

import pytest

from raft_ref import contracts
from raft_ref.eraftpb import Entry, Snapshot, SnapshotMetadata
from raft_ref.errors import Compacted, RaftPanic
from raft_ref.raft_log import NO_LIMIT, RaftLog
from raft_ref.storage import MemStorage


def new_raft_log(store: MemStorage) -> RaftLog[MemStorage]:
    return RaftLog(store, "")


def new_entry(index: int, term: int) -> Entry:
    return Entry(term=term, index=index)


def new_snapshot(meta_index: int, meta_term: int) -> Snapshot:
    return Snapshot(metadata=SnapshotMetadata(index=meta_index, term=meta_term))


def ents(*pairs: tuple[int, int]) -> list[Entry]:
    return [new_entry(i, t) for i, t in pairs]


@pytest.mark.parametrize(
    ("entries", "wconflict"),
    [
        # no conflict, empty entries
        ([], 0),
        ([], 0),
        # no conflict
        (ents((1, 1), (2, 2), (3, 3)), 0),
        (ents((2, 2), (3, 3)), 0),
        (ents((3, 3)), 0),
        # no conflict, but new entries
        (ents((1, 1), (2, 2), (3, 3), (4, 4), (5, 4)), 4),
        (ents((2, 2), (3, 3), (4, 4), (5, 4)), 4),
        (ents((3, 3), (4, 4), (5, 4)), 4),
        (ents((4, 4), (5, 4)), 4),
        # conflicts with existing entries
        (ents((1, 4), (2, 4)), 1),
        (ents((2, 1), (3, 4), (4, 4)), 2),
        (ents((3, 1), (4, 2), (5, 4), (6, 4)), 3),
    ],
)
def test_find_conflict(entries: list[Entry], wconflict: int) -> None:
    raft_log = new_raft_log(MemStorage())
    raft_log.append(ents((1, 1), (2, 2), (3, 3)))
    assert raft_log.find_conflict(entries) == wconflict


def test_is_up_to_date() -> None:
    raft_log = new_raft_log(MemStorage())
    raft_log.append(ents((1, 1), (2, 2), (3, 3)))
    last = raft_log.last_index()
    tests = [
        # a greater term wins whatever the last index
        (last - 1, 4, True),
        (last, 4, True),
        (last + 1, 4, True),
        # a smaller term loses whatever the last index
        (last - 1, 2, False),
        (last, 2, False),
        (last + 1, 2, False),
        # equal terms: the longer log wins
        (last - 1, 3, False),
        (last, 3, True),
        (last + 1, 3, True),
    ]
    for i, (last_index, term, up_to_date) in enumerate(tests):
        assert raft_log.is_up_to_date(last_index, term) == up_to_date, f"#{i}"


@pytest.mark.parametrize(
    ("entries", "windex", "wents", "wunstable"),
    [
        ([], 2, ents((1, 1), (2, 2)), 3),
        (ents((3, 2)), 3, ents((1, 1), (2, 2), (3, 2)), 3),
        # conflicts with index 1
        (ents((1, 2)), 1, ents((1, 2)), 1),
        # conflicts with index 2
        (ents((2, 3), (3, 3)), 3, ents((1, 1), (2, 3), (3, 3)), 2),
    ],
)
def test_append(entries: list[Entry], windex: int, wents: list[Entry], wunstable: int) -> None:
    store = MemStorage()
    store.wl().append(ents((1, 1), (2, 2)))
    raft_log = new_raft_log(store)
    assert raft_log.append(entries) == windex
    assert raft_log.entries(1) == wents
    assert raft_log.unstable.offset == wunstable


def test_compaction_side_effects() -> None:
    last_index = 1000
    unstable_index = 750
    last_term = last_index
    storage = MemStorage()
    for i in range(1, unstable_index + 1):
        storage.wl().append([new_entry(i, i)])
    raft_log = new_raft_log(storage)
    for i in range(unstable_index, last_index):
        raft_log.append([new_entry(i + 1, i + 1)])

    assert raft_log.maybe_commit(last_index, last_term)
    raft_log.applied_to(raft_log.committed)
    offset = 500
    raft_log.store.wl().compact(offset)

    assert raft_log.last_index() == last_index
    for j in range(offset, raft_log.last_index() + 1):
        assert raft_log.term(j) == j
        assert raft_log.match_term(j, j), f"match_term({j}) = False, want True"

    unstable_ents = raft_log.unstable_entries()
    assert unstable_ents is not None
    assert len(unstable_ents) == 250
    assert unstable_ents[0].index == 751

    prev = raft_log.last_index()
    raft_log.append([new_entry(prev + 1, prev + 1)])
    assert raft_log.last_index() == prev + 1

    prev = raft_log.last_index()
    assert len(raft_log.entries(prev)) == 1


def test_term_with_unstable_snapshot() -> None:
    storagesnapi = 10064
    unstablesnapi = storagesnapi + 5
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(storagesnapi, 1))
    raft_log = new_raft_log(store)
    raft_log.restore(new_snapshot(unstablesnapi, 1))

    tests = [
        # the storage's snapshot is before the unstable snapshot: no term
        (storagesnapi, 0),
        # nor in the gap between the two snapshots
        (storagesnapi + 1, 0),
        (unstablesnapi - 1, 0),
        # the unstable snapshot's own index
        (unstablesnapi, 1),
    ]
    for i, (index, w) in enumerate(tests):
        assert raft_log.term(index) == w, f"#{i}"


def test_term() -> None:
    offset = 100
    num = 100
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(offset, 1))
    raft_log = new_raft_log(store)
    for i in range(1, num):
        raft_log.append([new_entry(offset + i, i)])

    tests = [
        (offset - 1, 0),
        (offset, 1),
        (offset + num // 2, num // 2),
        (offset + num - 1, num - 1),
        (offset + num, 0),
    ]
    for i, (index, w) in enumerate(tests):
        assert raft_log.term(index) == w, f"#{i}"


def test_log_restore() -> None:
    index, term = 1000, 1000
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(index, term))
    raft_log = new_raft_log(store)

    assert raft_log.all_entries() == []
    assert raft_log.first_index() == index + 1
    assert raft_log.committed == index
    assert raft_log.unstable.offset == index + 1
    assert raft_log.term(index) == term


SNAP_INDEX, SNAP_TERM = 5, 2


@pytest.mark.parametrize(
    ("stablei", "stablet", "new_ents", "wunstable"),
    [
        (SNAP_INDEX + 1, SNAP_TERM, [], SNAP_INDEX + 1),
        (SNAP_INDEX, SNAP_TERM, [], SNAP_INDEX + 1),
        (SNAP_INDEX - 1, SNAP_TERM, [], SNAP_INDEX + 1),
        (SNAP_INDEX + 1, SNAP_TERM + 1, [], SNAP_INDEX + 1),
        (SNAP_INDEX, SNAP_TERM + 1, [], SNAP_INDEX + 1),
        (SNAP_INDEX - 1, SNAP_TERM + 1, [], SNAP_INDEX + 1),
        (SNAP_INDEX + 1, SNAP_TERM, ents((SNAP_INDEX + 1, SNAP_TERM)), SNAP_INDEX + 2),
        (SNAP_INDEX, SNAP_TERM, ents((SNAP_INDEX + 1, SNAP_TERM)), SNAP_INDEX + 1),
        (SNAP_INDEX - 1, SNAP_TERM, ents((SNAP_INDEX + 1, SNAP_TERM)), SNAP_INDEX + 1),
        (SNAP_INDEX + 1, SNAP_TERM + 1, ents((SNAP_INDEX + 1, SNAP_TERM)), SNAP_INDEX + 1),
        (SNAP_INDEX, SNAP_TERM + 1, ents((SNAP_INDEX + 1, SNAP_TERM)), SNAP_INDEX + 1),
        (SNAP_INDEX - 1, SNAP_TERM + 1, ents((SNAP_INDEX + 1, SNAP_TERM)), SNAP_INDEX + 1),
    ],
)
def test_stable_to_with_snap(
    stablei: int, stablet: int, new_ents: list[Entry], wunstable: int
) -> None:
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(SNAP_INDEX, SNAP_TERM))
    raft_log = new_raft_log(store)
    raft_log.append(new_ents)
    raft_log.stable_to(stablei, stablet)
    assert raft_log.unstable.offset == wunstable


@pytest.mark.parametrize(
    ("stablei", "stablet", "wunstable"), [(1, 1, 2), (2, 2, 3), (2, 1, 1), (3, 1, 1)]
)
def test_stable_to(stablei: int, stablet: int, wunstable: int) -> None:
    raft_log = new_raft_log(MemStorage())
    raft_log.append(ents((1, 1), (2, 2)))
    raft_log.stable_to(stablei, stablet)
    assert raft_log.unstable.offset == wunstable


def test_unstable_ents() -> None:
    # unstable_entries returns exactly the part of the log not yet persisted.
    previous_ents = ents((1, 1), (2, 2))
    tests = [(3, []), (1, previous_ents)]
    for i, (unstable, wents) in enumerate(tests):
        # persist the entries before `unstable`
        store = MemStorage()
        store.wl().append(previous_ents[: unstable - 1])
        # the rest go to the unstable log
        raft_log = new_raft_log(store)
        raft_log.append(previous_ents[unstable - 1 :])

        got = raft_log.unstable_entries() or []
        n = len(got)
        if n > 0:
            # upstream indexes the term with `l - i`, which is the last entry in this table
            raft_log.stable_to(got[n - 1].index, got[n - i].term)
        assert got == wents, f"#{i}"
        assert raft_log.unstable.offset == previous_ents[-1].index + 1, f"#{i}"


NEXT_ENTS = ents((4, 1), (5, 1), (6, 1))


@pytest.mark.parametrize(
    ("applied", "expect_entries"),
    [(0, NEXT_ENTS[:2]), (3, NEXT_ENTS[:2]), (4, NEXT_ENTS[1:2]), (5, None)],
)
def test_next_ents(applied: int, expect_entries: list[Entry] | None) -> None:
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(3, 1))
    raft_log = new_raft_log(store)
    raft_log.append(NEXT_ENTS)
    raft_log.maybe_commit(5, 1)
    raft_log.applied_to(applied)
    assert raft_log.next_entries() == expect_entries


@pytest.mark.parametrize(("applied", "has_next"), [(0, True), (3, True), (4, True), (5, False)])
def test_has_next_ents(applied: int, has_next: bool) -> None:
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(3, 1))
    raft_log = new_raft_log(store)
    raft_log.append(NEXT_ENTS)
    raft_log.maybe_commit(5, 1)
    raft_log.applied_to(applied)
    assert raft_log.has_next_entries() == has_next


def test_slice() -> None:
    offset, num = 100, 100
    last, half = offset + num, offset + num // 2
    halfe_size = new_entry(half, half).compute_size()

    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(offset, 0))
    for i in range(1, num // 2):
        store.wl().append([new_entry(offset + i, offset + i)])
    raft_log = new_raft_log(store)
    for i in range(num // 2, num):
        raft_log.append([new_entry(offset + i, offset + i)])

    def e(i: int) -> Entry:
        return new_entry(i, i)

    tests = [
        # no limit
        (offset - 1, offset + 1, NO_LIMIT, [], False),
        (offset, offset + 1, NO_LIMIT, [], False),
        (half - 1, half + 1, NO_LIMIT, [e(half - 1), e(half)], False),
        (half, half + 1, NO_LIMIT, [e(half)], False),
        (last - 1, last, NO_LIMIT, [e(last - 1)], False),
        (last, last + 1, NO_LIMIT, [], True),
        # with a limit
        (half - 1, half + 1, 0, [e(half - 1)], False),
        (half - 1, half + 1, halfe_size + 1, [e(half - 1)], False),
        (half - 2, half + 1, halfe_size + 1, [e(half - 2)], False),
        (half - 1, half + 1, halfe_size * 2, [e(half - 1), e(half)], False),
        (half - 1, half + 2, halfe_size * 3, [e(half - 1), e(half), e(half + 1)], False),
        (half, half + 2, halfe_size, [e(half)], False),
        (half, half + 2, halfe_size * 2, [e(half), e(half + 1)], False),
    ]
    for i, (lo, hi, limit, w, wpanic) in enumerate(tests):
        if wpanic:
            with pytest.raises(RaftPanic):
                raft_log.slice(lo, hi, limit)
            continue
        if lo <= offset:
            with pytest.raises(Compacted):
                raft_log.slice(lo, hi, limit)
            continue
        assert raft_log.slice(lo, hi, limit) == w, f"#{i}"


LAST_INDEX, LAST_TERM, COMMIT = 3, 3, 1


@pytest.mark.parametrize(
    ("log_term", "index", "committed", "entries", "wlasti", "wcommit", "wpanic"),
    [
        # no match: the term differs
        (LAST_TERM - 1, LAST_INDEX, LAST_INDEX, ents((LAST_INDEX + 1, 4)), None, COMMIT, False),
        # no match: the index is past the end
        (LAST_TERM, LAST_INDEX + 1, LAST_INDEX, ents((LAST_INDEX + 2, 4)), None, COMMIT, False),
        # match with the last existing entry
        (LAST_TERM, LAST_INDEX, LAST_INDEX, [], LAST_INDEX, LAST_INDEX, False),
        # commit no higher than the last new index
        (LAST_TERM, LAST_INDEX, LAST_INDEX + 1, [], LAST_INDEX, LAST_INDEX, False),
        # commit up to the commit in the message
        (LAST_TERM, LAST_INDEX, LAST_INDEX - 1, [], LAST_INDEX, LAST_INDEX - 1, False),
        # commit never decreases
        (LAST_TERM, LAST_INDEX, 0, [], LAST_INDEX, COMMIT, False),
        (0, 0, LAST_INDEX, [], 0, COMMIT, False),
        (
            LAST_TERM,
            LAST_INDEX,
            LAST_INDEX,
            ents((LAST_INDEX + 1, 4)),
            LAST_INDEX + 1,
            LAST_INDEX,
            False,
        ),
        (
            LAST_TERM,
            LAST_INDEX,
            LAST_INDEX + 1,
            ents((LAST_INDEX + 1, 4)),
            LAST_INDEX + 1,
            LAST_INDEX + 1,
            False,
        ),
        # commit no higher than the last new index
        (
            LAST_TERM,
            LAST_INDEX,
            LAST_INDEX + 2,
            ents((LAST_INDEX + 1, 4)),
            LAST_INDEX + 1,
            LAST_INDEX + 1,
            False,
        ),
        (
            LAST_TERM,
            LAST_INDEX,
            LAST_INDEX + 2,
            ents((LAST_INDEX + 1, 4), (LAST_INDEX + 2, 4)),
            LAST_INDEX + 2,
            LAST_INDEX + 2,
            False,
        ),
        # match with an entry in the middle
        (
            LAST_TERM - 1,
            LAST_INDEX - 1,
            LAST_INDEX,
            ents((LAST_INDEX, 4)),
            LAST_INDEX,
            LAST_INDEX,
            False,
        ),
        (
            LAST_TERM - 2,
            LAST_INDEX - 2,
            LAST_INDEX,
            ents((LAST_INDEX - 1, 4)),
            LAST_INDEX - 1,
            LAST_INDEX - 1,
            False,
        ),
        # conflicts with a committed entry
        (
            LAST_TERM - 3,
            LAST_INDEX - 3,
            LAST_INDEX,
            ents((LAST_INDEX - 2, 4)),
            LAST_INDEX - 2,
            LAST_INDEX - 2,
            True,
        ),
        (
            LAST_TERM - 2,
            LAST_INDEX - 2,
            LAST_INDEX,
            ents((LAST_INDEX - 1, 4), (LAST_INDEX, 4)),
            LAST_INDEX,
            LAST_INDEX,
            False,
        ),
    ],
)
def test_log_maybe_append(
    *,
    log_term: int,
    index: int,
    committed: int,
    entries: list[Entry],
    wlasti: int | None,
    wcommit: int,
    wpanic: bool,
) -> None:
    """If (index, log_term) matches the log, a conflicting entry and all after it are
    replaced and new entries appended; otherwise nothing happens and None comes back."""
    raft_log = new_raft_log(MemStorage())
    raft_log.append(ents((1, 1), (2, 2), (3, 3)))
    raft_log.committed = COMMIT
    if wpanic:
        with pytest.raises(RaftPanic, match="conflict with committed entry"):
            raft_log.maybe_append(index, log_term, committed, entries)
        return
    glasti = raft_log.maybe_append(index, log_term, committed, entries)
    assert glasti == wlasti
    assert raft_log.committed == wcommit
    if glasti is not None and entries:
        start = raft_log.last_index() - len(entries) + 1
        assert raft_log.slice(start, raft_log.last_index() + 1) == entries


@pytest.mark.parametrize(
    ("commit", "wcommit", "wpanic"), [(3, 3, False), (1, 2, False), (4, 0, True)]
)
def test_commit_to(commit: int, wcommit: int, wpanic: bool) -> None:
    raft_log = new_raft_log(MemStorage())
    raft_log.append(ents((1, 1), (2, 2), (3, 3)))
    raft_log.committed = 2
    if wpanic:
        # Past the last index raft-rs panics; with contracts on, the precondition
        # "a node commits only entries it has in its log" reports it first.
        expected = contracts.ViolationError if contracts.ENABLED else RaftPanic
        with pytest.raises(expected):
            raft_log.commit_to(commit)
        return
    raft_log.commit_to(commit)
    assert raft_log.committed == wcommit


@pytest.mark.parametrize(
    ("index", "compact", "wleft", "should_panic"),
    [
        # beyond the upper bound
        (1000, [1001], [0], True),
        (1000, [300, 500, 800, 900], [700, 500, 200, 100], False),
        # below the lower bound
        (1000, [300, 299], [700, 700], False),
    ],
)
def test_compaction(index: int, compact: list[int], wleft: list[int], should_panic: bool) -> None:
    """The number of entries left is right after compactions."""
    store = MemStorage()
    for i in range(1, index):
        store.wl().append([new_entry(i, 0)])
    raft_log = new_raft_log(store)
    raft_log.maybe_commit(index - 1, 0)
    raft_log.applied_to(raft_log.committed)
    for j, idx in enumerate(compact):
        if should_panic:
            with pytest.raises(RaftPanic):
                raft_log.store.wl().compact(idx)
            continue
        raft_log.store.wl().compact(idx)
        assert len(raft_log.all_entries()) == wleft[j], f"{j}"


def test_is_outofbounds() -> None:
    offset, num = 100, 100
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(offset, 0))
    raft_log = new_raft_log(store)
    for i in range(1, num + 1):
        raft_log.append([new_entry(i + offset, 0)])
    first = offset + 1
    tests = [
        (first - 2, first + 1, False, True),
        (first - 1, first + 1, False, True),
        (first, first, False, False),
        (first + num // 2, first + num // 2, False, False),
        (first + num - 1, first + num - 1, False, False),
        (first + num, first + num, False, False),
        (first + num, first + num + 1, True, False),
        (first + num + 1, first + num + 1, True, False),
    ]
    for i, (lo, hi, wpanic, w_err_compacted) in enumerate(tests):
        if wpanic:
            with pytest.raises(RaftPanic):
                raft_log.must_check_outofbounds(lo, hi)
            continue
        err = raft_log.must_check_outofbounds(lo, hi)
        if w_err_compacted:
            assert err == Compacted(), f"#{i}"
        else:
            assert err is None, f"#{i}"


# --- beyond the upstream unit tests ------------------------------------------------------


def test_clone_is_independent() -> None:
    store = MemStorage.new_with_conf_state(([1], []))
    raft_log = new_raft_log(store)
    raft_log.append(ents((2, 1), (3, 1)))
    copy = raft_log.clone()
    copy.store.wl().append(ents((2, 1)))
    copy.stable_to(2, 1)
    copy.commit_to(3)
    copy.append(ents((4, 2)))
    assert raft_log.store.last_index() == 1
    assert raft_log.unstable.offset == 2
    assert (raft_log.committed, raft_log.last_index()) == (1, 3)
    assert (copy.committed, copy.last_index()) == (3, 4)


def test_append_before_commit_panics() -> None:
    raft_log = new_raft_log(MemStorage())
    raft_log.append(ents((1, 1), (2, 1)))
    raft_log.commit_to(2)
    with pytest.raises(RaftPanic, match="out of range"):
        raft_log.append(ents((2, 2)))


def test_applied_to_out_of_range_panics() -> None:
    raft_log = new_raft_log(MemStorage())
    raft_log.append(ents((1, 1), (2, 1)))
    raft_log.commit_to(1)
    with pytest.raises(RaftPanic):
        raft_log.applied_to(2)
    raft_log.applied_to(1)
    raft_log.applied_to(0)  # 0 records nothing
    assert raft_log.applied == 1


def test_snapshot_prefers_unstable() -> None:
    store = MemStorage.new_with_conf_state(([1], []))
    raft_log = new_raft_log(store)
    raft_log.restore(new_snapshot(5, 2))
    assert raft_log.snapshot(5).metadata.index == 5
    # A request beyond the unstable snapshot goes to the storage.
    assert raft_log.snapshot(7).metadata.index == 7
