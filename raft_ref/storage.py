"""The storage interface Raft reads its persisted state from, and an in-memory version.

`MemStorage` is what raft-rs's tests and examples use. In raft-rs it is a shared handle
around a locked core; here `wl()` and `rl()` both return the one `MemStorageCore`, and
`clone()` makes an independent copy (see the API conventions).

The ConfState and SnapshotMetadata values a storage holds are replaced, never mutated in
place, so they can be shared with snapshots handed out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, Self

from raft_ref.contracts import ensure, invariant, require
from raft_ref.eraftpb import ConfChange, ConfState, Entry, HardState, Snapshot, SnapshotMetadata
from raft_ref.errors import (
    Compacted,
    RaftPanic,
    SnapshotOutOfDate,
    SnapshotTemporarilyUnavailable,
    Unavailable,
)
from raft_ref.util import limit_size

__all__ = ["MemStorage", "MemStorageCore", "RaftState", "Storage"]


def _copy_conf_state(cs: ConfState) -> ConfState:
    return ConfState(list(cs.nodes), list(cs.learners))


class RaftState:
    """What a node persists besides its log: hard state and membership."""

    __slots__ = (
        "conf_state",
        "hard_state",
        "pending_conf_state",
        "pending_conf_state_start_index",
    )

    def __init__(
        self,
        hard_state: HardState | None = None,
        conf_state: ConfState | None = None,
        pending_conf_state: ConfState | None = None,
        pending_conf_state_start_index: int | None = None,
    ) -> None:
        # Term, vote and commit index.
        self.hard_state = hard_state if hard_state is not None else HardState()
        # The voters and learners.
        self.conf_state = conf_state if conf_state is not None else ConfState()
        # While a joint-consensus change is in progress: the target configuration...
        self.pending_conf_state = pending_conf_state
        # ...and the index of its BeginMembershipChange entry.
        self.pending_conf_state_start_index = pending_conf_state_start_index

    @classmethod
    def new(cls, hard_state: HardState, conf_state: ConfState) -> RaftState:
        return cls(hard_state, conf_state)

    def initialized(self) -> bool:
        """A storage is initialized once it has a configuration."""
        return self.conf_state != ConfState()

    def clone(self) -> RaftState:
        """A copy with its own hard state; the ConfStates, never mutated, are shared."""
        rs = RaftState.__new__(RaftState)
        hs = self.hard_state
        rs.hard_state = HardState(hs.term, hs.vote, hs.commit)
        rs.conf_state = self.conf_state
        rs.pending_conf_state = self.pending_conf_state
        rs.pending_conf_state_start_index = self.pending_conf_state_start_index
        return rs

    def deep_copy(self) -> RaftState:
        """A copy sharing nothing, for handing out to callers."""
        pending = self.pending_conf_state
        return RaftState(
            HardState(self.hard_state.term, self.hard_state.vote, self.hard_state.commit),
            _copy_conf_state(self.conf_state),
            None if pending is None else _copy_conf_state(pending),
            self.pending_conf_state_start_index,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RaftState):
            return NotImplemented
        return (
            self.hard_state == other.hard_state
            and self.conf_state == other.conf_state
            and self.pending_conf_state == other.pending_conf_state
            and self.pending_conf_state_start_index == other.pending_conf_state_start_index
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"RaftState(hard_state={self.hard_state!r}, conf_state={self.conf_state!r}, "
            f"pending_conf_state={self.pending_conf_state!r}, "
            f"pending_conf_state_start_index={self.pending_conf_state_start_index!r})"
        )


class Storage(Protocol):
    """Read access to a node's persisted log and state, as raft-rs's `Storage` trait.

    Failures are raised as `StorageError`s (`Compacted`, `Unavailable`,
    `SnapshotTemporarilyUnavailable`, ...).
    """

    def initial_state(self) -> RaftState:
        """Hard state and membership to start from."""
        ...

    def entries(self, low: int, high: int, max_size: int | None = None) -> list[Entry]:
        """Entries in [low, high), cut to `max_size` encoded bytes but never empty."""
        ...

    def term(self, idx: int) -> int:
        """The term at `idx`, which lies in [first_index() - 1, last_index()]."""
        ...

    def first_index(self) -> int:
        """The first index available through `entries` (compacted index + 1)."""
        ...

    def last_index(self) -> int:
        """The index of the last stored entry."""
        ...

    def snapshot(self, request_index: int) -> Snapshot:
        """The latest snapshot; its index is at least `request_index`."""
        ...

    def clone(self) -> Self:
        """An independent copy (the explorer copies whole nodes)."""
        ...


@invariant(
    lambda self: (
        not self.entries or self.entries[-1].index - self.entries[0].index == len(self.entries) - 1
    ),
    "stored entries are contiguous",
)
@invariant(
    lambda self: not self.entries or self.entries[0].index > self.snapshot_metadata.index,
    "the stored log starts after the last applied snapshot's index",
)
class MemStorageCore:
    """The state behind a `MemStorage`: `entries[i]` is the entry at index `first_index() + i`."""

    __slots__ = (
        "entries",
        "raft_state",
        "snap_unavailable_once",
        "snapshot_metadata",
        "snapshot_term_of_entry",
    )

    def __init__(self, snapshot_term_of_entry: bool = False) -> None:
        self.raft_state = RaftState()
        self.entries: list[Entry] = []
        # Metadata of the last snapshot applied; the log continues after its index.
        self.snapshot_metadata = SnapshotMetadata()
        # Set by `trigger_snap_unavailable`: the next snapshot request fails once.
        self.snap_unavailable_once = False
        # Off: snapshots carry the hard state's term (raft-rs 0.6.0-alpha, #408). On:
        # the term of the entry at the snapshot's index (upstream's fix, #409), and
        # applying a snapshot never lowers the stored term.
        self.snapshot_term_of_entry = snapshot_term_of_entry

    def clone(self) -> MemStorageCore:
        return self._copy()

    def _copy(self) -> MemStorageCore:
        # Private, so that the class invariants' wrapper stays off this hot path.
        core = MemStorageCore.__new__(MemStorageCore)
        core.raft_state = self.raft_state.clone()
        core.entries = self.entries[:]
        core.snapshot_metadata = self.snapshot_metadata
        core.snap_unavailable_once = self.snap_unavailable_once
        core.snapshot_term_of_entry = self.snapshot_term_of_entry
        return core

    # --- hard state and membership --------------------------------------------------

    def set_hardstate(self, hs: HardState) -> None:
        self.raft_state.hard_state = hs

    @property
    def hard_state(self) -> HardState:
        return self.raft_state.hard_state

    def mut_hard_state(self) -> HardState:
        """The stored hard state itself, for changing it in place."""
        return self.raft_state.hard_state

    def commit_to(self, index: int) -> None:
        """Records `index` as committed, with the term of the entry there."""
        if not self.has_entry_at(index):
            raise RaftPanic(f"commit_to {index} but the entry does not exist")
        self.raft_state.hard_state.commit = index
        self.raft_state.hard_state.term = self.entries[index - self.entries[0].index].term

    def set_conf_state(
        self,
        cs: ConfState,
        pending_membership_change: tuple[ConfState, int] | None = None,
    ) -> None:
        """Sets the membership; a pending change (target, start index) is recorded too."""
        self.raft_state.conf_state = cs
        if pending_membership_change is not None:
            target, start_index = pending_membership_change
            self.raft_state.pending_conf_state = target
            self.raft_state.pending_conf_state_start_index = start_index

    def commit_to_and_set_conf_states(
        self,
        idx: int,
        cs: ConfState | None = None,
        pending_membership_change: ConfChange | None = None,
    ) -> None:
        """Commits to `idx` and replaces the membership; used by tests."""
        self.commit_to(idx)
        if cs is not None:
            self.raft_state.conf_state = cs
        if pending_membership_change is not None:
            target = pending_membership_change.configuration
            self.raft_state.pending_conf_state = target if target is not None else ConfState()
            self.raft_state.pending_conf_state_start_index = pending_membership_change.start_index

    # --- log indexes ----------------------------------------------------------------

    def has_entry_at(self, index: int) -> bool:
        return bool(self.entries) and self.first_index() <= index <= self.last_index()

    def first_index(self) -> int:
        ents = self.entries
        return ents[0].index if ents else self.snapshot_metadata.index + 1

    def last_index(self) -> int:
        ents = self.entries
        return ents[-1].index if ents else self.snapshot_metadata.index

    def term_of_entry(self, index: int) -> int:
        """The term of the entry at `index`: the last snapshot's or a stored entry's."""
        if index == self.snapshot_metadata.index:
            return self.snapshot_metadata.term
        if not self.has_entry_at(index):
            raise RaftPanic(f"no entry at {index} (first {self.first_index()})")
        return self.entries[index - self.entries[0].index].term

    # --- snapshots, compaction, appends ---------------------------------------------

    @ensure(
        lambda self, snapshot: self.first_index() == snapshot.metadata.index + 1,
        "after applying a snapshot the log starts right after the snapshot's index",
    )
    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Replaces the whole log with `snapshot`; raises SnapshotOutOfDate if it is older."""
        meta = snapshot.metadata
        if self.first_index() > meta.index:
            raise SnapshotOutOfDate()
        self.snapshot_metadata = meta
        hs = self.raft_state.hard_state
        # A label from the entry's term may be older than the stored term: keep the newer
        # (upstream does both since its fix; this version overwrites, QUIRKS.md 8).
        hs.term = max(hs.term, meta.term) if self.snapshot_term_of_entry else meta.term
        hs.commit = meta.index
        self.entries = []
        self.raft_state.conf_state = meta.conf_state
        if meta.pending_membership_change_index > 0:
            pending = meta.pending_membership_change
            self.raft_state.pending_conf_state = pending if pending is not None else ConfState()
            self.raft_state.pending_conf_state_start_index = meta.pending_membership_change_index

    def snapshot(self) -> Snapshot:
        """A snapshot at the commit index of the hard state.

        Its term is the hard state's term, not the term of the entry at the commit index
        (raft-rs issue #408; kept for behaviour parity, QUIRKS.md 4), unless
        `snapshot_term_of_entry` is set (upstream's fix, #409). It carries no data.
        """
        rs = self.raft_state
        index = rs.hard_state.commit
        meta = SnapshotMetadata(
            conf_state=_copy_conf_state(rs.conf_state),
            index=index,
            term=self.term_of_entry(index) if self.snapshot_term_of_entry else rs.hard_state.term,
        )
        if rs.pending_conf_state is not None:
            if rs.pending_conf_state_start_index is None:
                raise RaftPanic("a pending conf state without its start index")
            meta.pending_membership_change = _copy_conf_state(rs.pending_conf_state)
            meta.pending_membership_change_index = rs.pending_conf_state_start_index
        return Snapshot(metadata=meta)

    @ensure(
        lambda self, compact_index: self.first_index() >= compact_index or not self.entries,
        "compaction discards every entry before the compact index",
    )
    def compact(self, compact_index: int) -> None:
        """Discards the entries before `compact_index` (a no-op if already gone).

        Raises RaftPanic past `last_index() + 1`. Keeping `compact_index` at or below the
        applied index is the application's job.
        """
        if compact_index <= self.first_index():
            return
        if compact_index > self.last_index() + 1:
            raise RaftPanic(
                f"compact not received raft logs: {compact_index}, last index: {self.last_index()}"
            )
        if self.entries:
            del self.entries[: compact_index - self.entries[0].index]

    @require(
        lambda ents: not ents or ents[-1].index - ents[0].index == len(ents) - 1,
        "appended entries have consecutive indexes",
    )
    @ensure(
        lambda self, ents: not ents or self.last_index() == ents[-1].index,
        "appended entries become the tail of the stored log",
    )
    def append(self, ents: list[Entry]) -> None:
        """Writes `ents`, replacing any stored entries from `ents[0].index` on.

        Raises RaftPanic if `ents` would overwrite compacted entries or leave a gap.
        """
        if not ents:
            return
        first = self.first_index()
        start = ents[0].index
        if first > start:
            raise RaftPanic(
                f"overwrite compacted raft logs, compacted: {first - 1}, append: {start}"
            )
        last = self.last_index()
        if last + 1 < start:
            raise RaftPanic(
                f"raft logs should be continuous, last index: {last}, new appended: {start}"
            )
        del self.entries[start - first :]
        self.entries.extend(ents)

    def trigger_snap_unavailable(self) -> None:
        """Makes the next snapshot request fail with SnapshotTemporarilyUnavailable."""
        self.snap_unavailable_once = True


class MemStorage:
    """An in-memory `Storage`, mainly for tests and exploration."""

    __slots__ = ("core",)

    def __init__(self, snapshot_term_of_entry: bool = False) -> None:
        """`snapshot_term_of_entry` labels snapshots with the term of their last entry
        (upstream's fix of #408) instead of the hard state's term (this version)."""
        self.core = MemStorageCore(snapshot_term_of_entry)

    @classmethod
    def new(cls, snapshot_term_of_entry: bool = False) -> MemStorage:
        return cls(snapshot_term_of_entry)

    @classmethod
    def new_with_conf_state(
        cls,
        conf_state: ConfState | tuple[Iterable[int], Iterable[int]],
        snapshot_term_of_entry: bool = False,
    ) -> MemStorage:
        """A storage initialized with `conf_state` (a ConfState or (voters, learners))."""
        store = cls(snapshot_term_of_entry)
        store.initialize_with_conf_state(conf_state)
        return store

    def initialize_with_conf_state(
        self, conf_state: ConfState | tuple[Iterable[int], Iterable[int]]
    ) -> None:
        """Starts the log at a snapshot of index 1, term 1, holding `conf_state`.

        Index 1 (not 0) leaves a gap before a new node's log, so nodes that join later
        catch up the initial membership by snapshot; term 1 because term 0 has no leader.
        """
        if self.initial_state().initialized():
            raise RaftPanic("the storage is already initialized")
        if not isinstance(conf_state, ConfState):
            voters, learners = conf_state
            conf_state = ConfState(list(voters), list(learners))
        core = self.core
        meta = core.snapshot_metadata
        core.snapshot_metadata = SnapshotMetadata(
            conf_state=meta.conf_state,
            pending_membership_change=meta.pending_membership_change,
            pending_membership_change_index=meta.pending_membership_change_index,
            index=1,
            term=1,
        )
        core.raft_state.hard_state.commit = 1
        core.raft_state.hard_state.term = 1
        core.raft_state.conf_state = conf_state

    def rl(self) -> MemStorageCore:
        """The core, for reading (raft-rs takes a read lock here)."""
        return self.core

    def wl(self) -> MemStorageCore:
        """The core, for writing (raft-rs takes a write lock here)."""
        return self.core

    def clone(self) -> MemStorage:
        """An independent copy with its own core (raft-rs's clone would share the core)."""
        store = MemStorage.__new__(MemStorage)
        store.core = self.core._copy()
        return store

    # --- the Storage protocol -------------------------------------------------------

    def initial_state(self) -> RaftState:
        return self.core.raft_state.deep_copy()

    def entries(self, low: int, high: int, max_size: int | None = None) -> list[Entry]:
        core = self.core
        ents = core.entries
        snap_index = core.snapshot_metadata.index
        first = ents[0].index if ents else snap_index + 1
        if low < first:
            raise Compacted()
        last = ents[-1].index if ents else snap_index
        if high > last + 1:
            raise RaftPanic(f"index out of bound (last: {last + 1}, high: {high})")
        if not ents or low > high:
            raise RaftPanic(f"no stored entries in [{low}, {high})")
        offset = first
        result = ents[low - offset : high - offset]
        limit_size(result, max_size)
        return result

    def term(self, idx: int) -> int:
        core = self.core
        meta = core.snapshot_metadata
        if idx == meta.index:
            return meta.term
        ents = core.entries
        if not ents:
            if idx < meta.index + 1:
                raise Compacted()
            raise RaftPanic(f"term({idx}) asked of a storage without entries")
        offset = ents[0].index
        if idx < offset:
            raise Compacted()
        if idx - offset >= len(ents):
            raise Unavailable()
        return ents[idx - offset].term

    def first_index(self) -> int:
        core = self.core
        ents = core.entries
        return ents[0].index if ents else core.snapshot_metadata.index + 1

    def last_index(self) -> int:
        core = self.core
        ents = core.entries
        return ents[-1].index if ents else core.snapshot_metadata.index

    def snapshot(self, request_index: int) -> Snapshot:
        core = self.core
        if core.snap_unavailable_once:
            core.snap_unavailable_once = False
            raise SnapshotTemporarilyUnavailable()
        snap = core.snapshot()
        # The snapshot claims at least the requested index.
        snap.metadata.index = max(snap.metadata.index, request_index)
        return snap
