"""Unstable, RaftLog and limit_size against plain models of the log."""

from itertools import accumulate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raft_ref.eraftpb import Entry, Snapshot, SnapshotMetadata
from raft_ref.errors import Compacted, RaftPanic
from raft_ref.log_unstable import Unstable
from raft_ref.raft_log import RaftLog
from raft_ref.storage import MemStorage
from raft_ref.util import NO_LIMIT, limit_size

terms = st.integers(min_value=1, max_value=4)


def batch(start: int, batch_terms: list[int]) -> list[Entry]:
    return [Entry(term=t, index=start + i) for i, t in enumerate(batch_terms)]


# --- Unstable --------------------------------------------------------------------------


@given(st.data())
def test_unstable_matches_list_model(data: st.DataObject) -> None:
    offset = data.draw(st.integers(min_value=1, max_value=5), label="offset")
    u = Unstable.new(offset, "")
    # The model: the unstable entries as (index, term) pairs, and the offset.
    model: list[tuple[int, int]] = []
    model_offset = offset
    for _ in range(data.draw(st.integers(min_value=1, max_value=25), label="steps")):
        if data.draw(st.booleans(), label="append?"):
            start = data.draw(
                st.integers(min_value=1, max_value=model_offset + len(model)), label="start"
            )
            new_terms = data.draw(st.lists(terms, min_size=1, max_size=4), label="terms")
            u.truncate_and_append(batch(start, new_terms))
            model = [p for p in model if p[0] < start] if start > model_offset else []
            model += [(start + i, t) for i, t in enumerate(new_terms)]
            model_offset = min(model_offset, start)
        else:
            idx = data.draw(st.integers(min_value=0, max_value=model_offset + len(model)))
            term = data.draw(terms)
            if any(p == (idx, term) for p in model):
                model = [p for p in model if p[0] > idx]
                model_offset = idx + 1
            u.stable_to(idx, term)

        assert u.offset == model_offset
        assert [(e.index, e.term) for e in u.entries] == model
        last = model[-1][0] if model else None
        assert u.maybe_last_index() == last
        for idx in range(model_offset - 1, model_offset + len(model) + 2):
            want = next((t for i, t in model if i == idx), None)
            assert u.maybe_term(idx) == want
        if model:
            lo = data.draw(st.integers(min_value=model_offset, max_value=model_offset + len(model)))
            hi = data.draw(st.integers(min_value=lo, max_value=model_offset + len(model)))
            assert [(e.index, e.term) for e in u.slice(lo, hi)] == [
                p for p in model if lo <= p[0] < hi
            ]


# --- RaftLog ---------------------------------------------------------------------------


class LogModel:
    """The log as a plain list of terms: terms[i] is the term of index first + i."""

    def __init__(self, first: int, prev_term: int) -> None:
        self.first = first
        self.prev_term = prev_term  # term of index first - 1
        self.terms: list[int] = []
        self.committed = first - 1  # a new log, or one just restored, starts committed

    @property
    def last(self) -> int:
        return self.first + len(self.terms) - 1

    def term(self, idx: int) -> int | None:
        if idx == self.first - 1:
            return self.prev_term
        if self.first <= idx <= self.last:
            return self.terms[idx - self.first]
        return None

    def write(self, start: int, new_terms: list[int]) -> None:
        del self.terms[start - self.first :]
        self.terms.extend(new_terms)


def check_log(log: RaftLog[MemStorage], model: LogModel, data: st.DataObject) -> None:
    assert log.first_index() == model.first
    assert log.last_index() == model.last
    assert log.committed == model.committed
    assert log.committed <= log.last_index()
    for idx in range(model.last + 3):
        want = model.term(idx)
        assert log.term(idx) == (0 if want is None else want), idx
        if want is not None:
            assert log.match_term(idx, want)
    lo = data.draw(st.integers(min_value=model.first, max_value=model.last + 1), label="lo")
    hi = data.draw(st.integers(min_value=lo, max_value=model.last + 1), label="hi")
    got = log.slice(lo, hi)
    assert [(e.index, e.term) for e in got] == [(i, model.term(i)) for i in range(lo, hi)]


@given(st.data())
def test_raft_log_matches_list_model(data: st.DataObject) -> None:
    store = MemStorage.new_with_conf_state(([1], []))
    log = RaftLog(store, "")
    model = LogModel(first=2, prev_term=1)
    for _ in range(data.draw(st.integers(min_value=1, max_value=20), label="steps")):
        op = data.draw(st.sampled_from(["append", "maybe_append", "persist", "commit", "restore"]))
        if op == "append":
            start = data.draw(st.integers(min_value=model.committed + 1, max_value=model.last + 1))
            new_terms = data.draw(st.lists(terms, min_size=0, max_size=4))
            assert log.append(batch(start, new_terms)) == (
                model.last if not new_terms else start + len(new_terms) - 1
            )
            if new_terms:
                model.write(start, new_terms)
        elif op == "maybe_append":
            idx = data.draw(st.integers(min_value=0, max_value=model.last + 1))
            prev_term = data.draw(terms)
            new_terms = data.draw(st.lists(terms, max_size=4))
            commit = data.draw(st.integers(min_value=0, max_value=idx + len(new_terms)))
            ents = batch(idx + 1, new_terms)
            if model.term(idx) != prev_term:
                assert log.maybe_append(idx, prev_term, commit, ents) is None
            else:
                conflict = next((e.index for e in ents if model.term(e.index) != e.term), 0)
                if conflict and conflict <= model.committed:
                    with pytest.raises(RaftPanic):
                        log.maybe_append(idx, prev_term, commit, ents)
                    return
                assert log.maybe_append(idx, prev_term, commit, ents) == idx + len(ents)
                if conflict:
                    model.write(conflict, new_terms[conflict - idx - 1 :])
                model.committed = max(model.committed, min(commit, idx + len(ents)))
        elif op == "restore":
            # A snapshot from the leader, past the commit index (Raft.restore's rule).
            idx = data.draw(st.integers(min_value=model.committed + 1, max_value=model.last + 2))
            term = data.draw(terms)
            log.restore(Snapshot(metadata=SnapshotMetadata(index=idx, term=term)))
            model = LogModel(first=idx + 1, prev_term=term)
        elif op == "persist":
            # What an application does with a Ready: apply the snapshot, store a prefix
            # of the unstable entries, then tell the log they are stable.
            snap = log.unstable.snapshot
            if snap is not None:
                store.wl().apply_snapshot(snap)
                log.stable_snap_to(snap.metadata.index)
            unstable = log.unstable_entries() or []
            k = data.draw(st.integers(min_value=0, max_value=len(unstable)))
            if k:
                store.wl().append(unstable[:k])
                log.stable_to(unstable[k - 1].index, unstable[k - 1].term)
        else:
            to = data.draw(st.integers(min_value=0, max_value=model.last))
            log.commit_to(to)
            model.committed = max(model.committed, to)
        check_log(log, model, data)


@given(st.data())
def test_raft_log_slice_below_first_index_is_compacted(data: st.DataObject) -> None:
    store = MemStorage()
    store.wl().append(batch(1, data.draw(st.lists(terms, min_size=2, max_size=8))))
    compact_to = data.draw(st.integers(min_value=2, max_value=store.last_index()))
    store.wl().compact(compact_to)
    log = RaftLog(store, "")
    lo = data.draw(st.integers(min_value=0, max_value=compact_to - 1))
    with pytest.raises(Compacted):
        log.slice(lo, store.last_index() + 1)


# --- limit_size ------------------------------------------------------------------------

sized_entries = st.lists(
    st.builds(
        Entry,
        term=st.integers(min_value=0, max_value=300),
        index=st.integers(min_value=0, max_value=300),
        data=st.binary(max_size=20),
    ),
    max_size=8,
)


def expected_kept(sizes: list[int], max_size: int | None) -> int:
    """How many entries raft-rs keeps, from the prefix sums of their sizes."""
    if len(sizes) <= 1 or max_size is None or max_size == NO_LIMIT:
        return len(sizes)
    sums = [0, *accumulate(sizes)]
    kept = 1
    # Entry j (0-based) stays if the total with it fits, or if nothing was counted before.
    while kept < len(sizes) and (sums[kept + 1] <= max_size or sums[kept] == 0):
        kept += 1
    return kept


@given(sized_entries, st.none() | st.just(NO_LIMIT) | st.integers(min_value=0, max_value=120))
def test_limit_size_matches_prefix_sums(entries: list[Entry], max_size: int | None) -> None:
    cut = list(entries)
    limit_size(cut, max_size)
    assert cut == entries[: expected_kept([e.compute_size() for e in entries], max_size)]
    if entries:
        assert cut and cut[0] is entries[0]


def test_limit_size_keeps_zero_sized_leading_entries() -> None:
    # raft-rs counts an entry as "first" while the running total is still zero.
    entries = [Entry(), Entry(), Entry(data=b"x" * 10), Entry(data=b"y" * 10)]
    limit_size(entries, 0)
    assert len(entries) == 3
