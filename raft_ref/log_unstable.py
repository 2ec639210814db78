"""The tail of the Raft log that is not yet persisted: new entries and an incoming snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

from raft_ref.contracts import ensure, require
from raft_ref.contracts import snapshot as capture_old
from raft_ref.eraftpb import Entry, Snapshot
from raft_ref.errors import RaftPanic

__all__ = ["Unstable"]


def _contiguous_from_offset(self: Unstable) -> bool:
    # Checks both ends only: every append keeps the middle contiguous by construction.
    ents = self.entries
    return not ents or (
        ents[0].index == self.offset and ents[-1].index == self.offset + len(ents) - 1
    )


@dataclass(slots=True)
class Unstable:
    """Entries not yet written to storage, `entries[i]` being at log index `offset + i`.

    `offset` may be below the last index held by storage: the next write to storage then
    overwrites (truncates) the stored tail.
    """

    # A snapshot received from the leader and not yet written to storage.
    snapshot: Snapshot | None = None
    entries: list[Entry] = field(default_factory=list)
    offset: int = 0
    tag: str = ""

    @classmethod
    def new(cls, offset: int, tag: str) -> Unstable:
        return cls(None, [], offset, tag)

    def clone(self) -> Unstable:
        return Unstable(self.snapshot, self.entries[:], self.offset, self.tag)

    def maybe_first_index(self) -> int | None:
        """The first index after the unstable snapshot, if there is one."""
        snap = self.snapshot
        return None if snap is None else snap.metadata.index + 1

    def maybe_last_index(self) -> int | None:
        """The last unstable index: the last entry's, else the snapshot's, else None."""
        n = len(self.entries)
        if n:
            return self.offset + n - 1
        snap = self.snapshot
        return None if snap is None else snap.metadata.index

    def maybe_term(self, idx: int) -> int | None:
        """The term at `idx` if the unstable part knows it."""
        offset = self.offset
        if idx < offset:
            snap = self.snapshot
            if snap is not None and snap.metadata.index == idx:
                return snap.metadata.term
            return None
        last = self.maybe_last_index()
        if last is None or idx > last:
            return None
        return self.entries[idx - offset].term

    @capture_old(lambda self: self.offset, name="offset")
    @ensure(
        lambda self, OLD: self.offset >= OLD.offset,
        "persisting entries only moves the unstable offset forward",
    )
    def stable_to(self, idx: int, term: int) -> None:
        """Drops the entries up to `idx` once storage holds them, if `idx` still has `term`.

        A term mismatch means the entry was overwritten after the write was issued.
        """
        if self.maybe_term(idx) == term and idx >= self.offset:
            del self.entries[: idx + 1 - self.offset]
            self.offset = idx + 1

    def stable_snap_to(self, idx: int) -> None:
        """Forgets the unstable snapshot once storage has applied the snapshot at `idx`."""
        snap = self.snapshot
        if snap is not None and snap.metadata.index == idx:
            self.snapshot = None

    @ensure(
        lambda self, snap: self.offset == snap.metadata.index + 1 and not self.entries,
        "after restoring a snapshot the unstable log starts right after it",
    )
    def restore(self, snap: Snapshot) -> None:
        """Replaces everything unstable with `snap` (its contents are not unpacked)."""
        self.entries.clear()
        self.offset = snap.metadata.index + 1
        self.snapshot = snap

    @require(
        lambda ents: not ents or ents[-1].index - ents[0].index == len(ents) - 1,
        "appended entries have consecutive indexes",
    )
    @ensure(_contiguous_from_offset, "unstable entries are contiguous from the offset")
    def truncate_and_append(self, ents: list[Entry]) -> None:
        """Appends `ents`, first dropping any unstable entries at or after their start."""
        if not ents:
            raise RaftPanic(f"{self.tag} truncate_and_append needs at least one entry")
        after = ents[0].index
        offset = self.offset
        if after == offset + len(self.entries):
            # Directly follows the last unstable entry.
            self.entries.extend(ents)
        elif after <= offset:
            # Rewrites from before the unstable part: it is replaced entirely.
            self.offset = after
            self.entries = list(ents)
        else:
            # Rewrites from the middle of the unstable part.
            self.must_check_outofbounds(offset, after)
            del self.entries[after - offset :]
            self.entries.extend(ents)

    def slice(self, lo: int, hi: int) -> list[Entry]:
        """The unstable entries with indexes in [lo, hi); raises RaftPanic when out of range."""
        self.must_check_outofbounds(lo, hi)
        offset = self.offset
        return self.entries[lo - offset : hi - offset]

    def must_check_outofbounds(self, lo: int, hi: int) -> None:
        """Raises RaftPanic unless offset <= lo <= hi <= offset + len(entries)."""
        if lo > hi:
            raise RaftPanic(f"{self.tag} invalid unstable.slice {lo} > {hi}")
        upper = self.offset + len(self.entries)
        if lo < self.offset or hi > upper:
            raise RaftPanic(
                f"{self.tag} unstable.slice[{lo}, {hi}] out of bound[{self.offset}, {upper}]"
            )
