"""The Raft log as one node sees it: stored entries, unstable entries, commit and apply indexes.

The log is `store` (persisted entries, from the last compaction on) followed by
`unstable` (entries and possibly a snapshot not yet persisted). Indexes up to
`committed` are known to be on a quorum; up to `applied` the application has applied.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from raft_ref.contracts import ensure, require
from raft_ref.contracts import snapshot as capture_old
from raft_ref.eraftpb import Entry, Snapshot
from raft_ref.errors import Compacted, Error, RaftPanic, StorageError, Unavailable
from raft_ref.log_unstable import Unstable
from raft_ref.storage import Storage
from raft_ref.util import NO_LIMIT, limit_size

__all__ = ["NO_LIMIT", "RaftLog"]

S = TypeVar("S", bound=Storage)

# Rules checked after every method that moves the commit index or changes the log.
_COMMIT_WITHIN_LOG = "the commit index never passes the last log index"
_COMMIT_MONOTONIC = "the commit index never decreases"


def _consecutive(ents: list[Entry]) -> bool:
    # O(1): the batch spans exactly as many indexes as it has entries.
    return not ents or ents[-1].index - ents[0].index == len(ents) - 1


class RaftLog(Generic[S]):
    """The log of one node over a `Storage` (`RaftLog::new` is the constructor)."""

    __slots__ = ("applied", "committed", "store", "tag", "unstable")

    def __init__(self, store: S, tag: str = "") -> None:
        first_index = store.first_index()
        last_index = store.last_index()
        # The stored entries, from the last compaction on.
        self.store = store
        # Entries and a snapshot not yet written to `store`.
        self.unstable = Unstable.new(last_index + 1, tag)
        # Highest index known to be stored on a quorum; starts at the last compaction.
        self.committed = first_index - 1
        # Highest index the application was told to apply; applied <= committed.
        self.applied = first_index - 1
        self.tag = tag

    @classmethod
    def new(cls, store: S, tag: str = "") -> RaftLog[S]:
        return cls(store, tag)

    def clone(self) -> RaftLog[S]:
        """An independent copy: the store is cloned, entries are shared."""
        log: RaftLog[S] = RaftLog.__new__(RaftLog)
        log.store = self.store.clone()
        log.unstable = self.unstable.clone()
        log.committed = self.committed
        log.applied = self.applied
        log.tag = self.tag
        return log

    def __str__(self) -> str:
        return (
            f"committed={self.committed}, applied={self.applied}, "
            f"unstable.offset={self.unstable.offset}, "
            f"unstable.entries.len()={len(self.unstable.entries)}"
        )

    # --- reading the log ------------------------------------------------------------

    def get_store(self) -> S:
        return self.store

    def mut_store(self) -> S:
        return self.store

    def first_index(self) -> int:
        """The first index available through `entries` (after any snapshot)."""
        snap = self.unstable.snapshot
        if snap is not None:
            return snap.metadata.index + 1
        return self.store.first_index()

    def last_index(self) -> int:
        """The index of the last entry (or of the snapshot when there are no entries)."""
        unstable = self.unstable
        n = len(unstable.entries)
        if n:
            return unstable.offset + n - 1
        snap = unstable.snapshot
        if snap is not None:
            return snap.metadata.index
        return self.store.last_index()

    def last_term(self) -> int:
        """The term of the last entry; RaftPanic if the storage cannot tell it."""
        try:
            return self.term(self.last_index())
        except StorageError as err:
            raise RaftPanic(f"{self.tag} unexpected error getting the last term: {err!r}") from err

    def term(self, idx: int) -> int:
        """The term of the entry at `idx`; 0 outside [first_index - 1, last_index].

        Raises Compacted or Unavailable as the storage does; any other storage error is
        a RaftPanic.
        """
        if idx < self.first_index() - 1 or idx > self.last_index():
            return 0
        term = self.unstable.maybe_term(idx)
        if term is not None:
            return term
        try:
            return self.store.term(idx)
        except (Compacted, Unavailable):
            raise
        except Error as err:
            raise RaftPanic(f"{self.tag} unexpected error: {err!r}") from err

    def match_term(self, idx: int, term: int) -> bool:
        """Whether the entry at `idx` has term `term` (False when unknown)."""
        try:
            return self.term(idx) == term
        except (Compacted, Unavailable):
            return False

    def find_conflict(self, ents: list[Entry]) -> int:
        """The index of the first entry of `ents` not in the log (different term or missing).

        0 when the log already holds all of `ents`. `ents` must be consecutive.
        """
        for e in ents:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def is_up_to_date(self, last_index: int, term: int) -> bool:
        """Whether a log ending at (last_index, term) is at least as up to date as this one.

        A later last term wins; with equal last terms the longer log wins.
        """
        last_term = self.last_term()
        return term > last_term or (term == last_term and last_index >= self.last_index())

    def unstable_entries(self) -> list[Entry] | None:
        """A copy of the entries not yet persisted, or None if there are none."""
        ents = self.unstable.entries
        return ents[:] if ents else None

    def entries(self, idx: int, max_size: int | None = None) -> list[Entry]:
        """Entries from `idx` to the end, cut to `max_size` bytes (never empty if any)."""
        last = self.last_index()
        if idx > last:
            return []
        return self.slice(idx, last + 1, max_size)

    def all_entries(self) -> list[Entry]:
        """Every entry available through `entries`."""
        while True:
            try:
                return self.entries(self.first_index())
            except Compacted:
                # A compaction raced with the read: read again from the new start.
                continue
            except Error as err:
                raise RaftPanic(f"{self.tag} unexpected error: {err!r}") from err

    def must_check_outofbounds(self, low: int, high: int) -> Error | None:
        """Compacted if `low` is before the first index; RaftPanic if past the end."""
        if low > high:
            raise RaftPanic(f"{self.tag} invalid slice {low} > {high}")
        first_index = self.first_index()
        if low < first_index:
            return Compacted()
        last_index = self.last_index()
        if high > last_index + 1:
            raise RaftPanic(
                f"{self.tag} slice[{low},{high}] out of bound[{first_index},{last_index}]"
            )
        return None

    @ensure(
        lambda low, high, result: (
            len(result) <= high - low and (not result or result[0].index == low)
        ),
        "a slice holds entries from its lower bound and no more than asked",
    )
    def slice(self, low: int, high: int, max_size: int | None = None) -> list[Entry]:
        """Entries in [low, high), cut to `max_size` encoded bytes but never empty.

        Raises Compacted if `low` was compacted away, RaftPanic if out of range.
        """
        err = self.must_check_outofbounds(low, high)
        if err is not None:
            raise err
        if low == high:
            return []
        ents: list[Entry] = []
        offset = self.unstable.offset
        if low < offset:
            stored_high = min(high, offset)
            try:
                ents = self.store.entries(low, stored_high, max_size)
            except Compacted:
                raise
            except Unavailable as exc:
                raise RaftPanic(
                    f"{self.tag} entries[{low}:{stored_high}] is unavailable from storage"
                ) from exc
            except Error as exc:
                raise RaftPanic(f"{self.tag} unexpected error: {exc!r}") from exc
            # The storage already cut the batch short: nothing unstable can follow.
            if len(ents) < stored_high - low:
                return ents
        if high > offset:
            ents.extend(self.unstable.slice(max(low, offset), high))
        limit_size(ents, max_size)
        return ents

    def next_entries_since(self, since_idx: int) -> list[Entry] | None:
        """Committed entries after `since_idx` (and after any snapshot), or None."""
        offset = max(since_idx + 1, self.first_index())
        committed = self.committed
        if committed + 1 > offset:
            try:
                return self.slice(offset, committed + 1)
            except Error as err:
                raise RaftPanic(f"{self.tag} {err}") from err
        return None

    def next_entries(self) -> list[Entry] | None:
        """Committed entries the application has not applied yet, or None."""
        return self.next_entries_since(self.applied)

    def has_next_entries_since(self, since_idx: int) -> bool:
        return self.committed + 1 > max(since_idx + 1, self.first_index())

    def has_next_entries(self) -> bool:
        return self.has_next_entries_since(self.applied)

    def snapshot(self, request_index: int) -> Snapshot:
        """The unstable snapshot if it reaches `request_index`, else the storage's."""
        snap = self.unstable.snapshot
        if snap is not None and snap.metadata.index >= request_index:
            return snap
        return self.store.snapshot(request_index)

    # --- changing the log -----------------------------------------------------------

    @require(_consecutive, "appended entries have consecutive indexes")
    @ensure(
        lambda self, ents: not ents or self.last_index() == ents[-1].index,
        "appended entries become the tail of the log",
    )
    @ensure(lambda self: self.committed <= self.last_index(), _COMMIT_WITHIN_LOG)
    def append(self, ents: list[Entry]) -> int:
        """Appends `ents` as unstable entries, replacing any from `ents[0].index` on.

        Raises RaftPanic if that would rewrite a committed entry. Returns the last index.
        """
        if not ents:
            return self.last_index()
        after = ents[0].index - 1
        if after < self.committed:
            raise RaftPanic(
                f"{self.tag} after {after} is out of range [committed {self.committed}]"
            )
        self.unstable.truncate_and_append(ents)
        return self.last_index()

    # The commit index moves only through `append` and `commit_to`, whose own contracts
    # check that it never decreases nor passes the last index.
    @ensure(
        lambda idx, ents, result: result is None or result == idx + len(ents),
        "an accepted append reports the index of its last new entry",
    )
    def maybe_append(self, idx: int, term: int, committed: int, ents: list[Entry]) -> int | None:
        """A follower's append: accepted only if the log has (idx, term).

        Then entries from the first conflict on replace the log's tail, the commit index
        advances to min(committed, idx + len(ents)), and that last new index is returned.
        Raises RaftPanic if a conflicting entry is already committed.
        """
        if not self.match_term(idx, term):
            return None
        last_new_index = idx + len(ents)
        conflict_idx = self.find_conflict(ents)
        if conflict_idx != 0:
            if conflict_idx <= self.committed:
                raise RaftPanic(
                    f"{self.tag} entry {conflict_idx} conflict with committed entry "
                    f"{self.committed}"
                )
            self.append(ents[conflict_idx - (idx + 1) :])
        self.commit_to(min(committed, last_new_index))
        return last_new_index

    @require(
        lambda self, to_commit: to_commit <= self.committed or to_commit <= self.last_index(),
        "a node commits only entries it has in its log",
    )
    @capture_old(lambda self: self.committed, name="committed")
    @ensure(lambda self, OLD: self.committed >= OLD.committed, _COMMIT_MONOTONIC)
    def commit_to(self, to_commit: int) -> None:
        """Raises the commit index to `to_commit` (never lowers it).

        Raises RaftPanic past the last index (with contracts on, the precondition
        reports it first).
        """
        if self.committed >= to_commit:
            return
        if self.last_index() < to_commit:
            raise RaftPanic(
                f"{self.tag} to_commit {to_commit} is out of range [last_index {self.last_index()}]"
            )
        self.committed = to_commit

    @capture_old(lambda self: self.committed, name="committed")
    @ensure(
        lambda self, max_index, result, OLD: (
            result == (self.committed != OLD.committed)
            and (not result or self.committed == max_index)
        ),
        "a commit happens exactly when the entry at the index has the given term",
    )
    @ensure(lambda self: self.committed <= self.last_index(), _COMMIT_WITHIN_LOG)
    def maybe_commit(self, max_index: int, term: int) -> bool:
        """Commits up to `max_index` if that is new and its entry has `term`."""
        if max_index <= self.committed:
            return False
        try:
            found = self.term(max_index)
        except (Compacted, Unavailable):
            found = 0
        if found != term:
            return False
        self.commit_to(max_index)
        return True

    @ensure(
        lambda self: self.applied <= self.committed,
        "the application applies only committed entries",
    )
    def applied_to(self, idx: int) -> None:
        """Records that the application applied up to `idx` (0 means nothing to record).

        Raises RaftPanic if `idx` is below the applied index or above the commit index.
        raft-rs marks this deprecated in favour of `Raft::commit_apply`.
        """
        if idx == 0:
            return
        if self.committed < idx or idx < self.applied:
            raise RaftPanic(
                f"{self.tag} applied({idx}) is out of range "
                f"[prev_applied({self.applied}), committed({self.committed})]"
            )
        self.applied = idx

    def stable_to(self, idx: int, term: int) -> None:
        """Storage now holds the entries up to `idx`, written while it had `term`."""
        self.unstable.stable_to(idx, term)

    def stable_snap_to(self, idx: int) -> None:
        """Storage now holds the snapshot at `idx`."""
        self.unstable.stable_snap_to(idx)

    @ensure(
        lambda self, snapshot: (
            self.committed == snapshot.metadata.index
            and self.first_index() == snapshot.metadata.index + 1
            and self.last_index() == snapshot.metadata.index
        ),
        "after restoring a snapshot the log is exactly the snapshot, committed",
    )
    def restore(self, snapshot: Snapshot) -> None:
        """Replaces the log by `snapshot`, which becomes the commit point."""
        self.committed = snapshot.metadata.index
        self.unstable.restore(snapshot)
