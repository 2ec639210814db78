"""What a leader knows about one peer's log, and how it sends to that peer.

A peer's progress is in one of three states. Probe: the leader does not know where
the peer's log ends, sends one append per heartbeat interval and waits for the
answer. Replicate: appends are streamed optimistically, bounded by the inflight
window. Snapshot: a snapshot is on its way and nothing else is sent.
"""

from __future__ import annotations

from enum import IntEnum

from raft_ref.contracts import ensure, require, snapshot
from raft_ref.errors import RaftPanic
from raft_ref.progress.inflights import Inflights

__all__ = ["Progress", "ProgressState"]

# raft-rs's INVALID_INDEX (defined in raft.rs): "no index", e.g. no snapshot requested.
_INVALID_INDEX = 0


class ProgressState(IntEnum):
    Probe = 0
    Replicate = 1
    Snapshot = 2

    @classmethod
    def default(cls) -> ProgressState:
        return cls.Probe


class Progress:
    """The leader's view of one peer: what matches, what to send next, and how."""

    __slots__ = (
        "ins",
        "matched",
        "next_idx",
        "paused",
        "pending_request_snapshot",
        "pending_snapshot",
        "recent_active",
        "state",
    )

    def __init__(self, next_idx: int, ins_size: int) -> None:
        # Highest index known to be in the peer's log and equal to the leader's.
        self.matched = 0
        # Index of the next entry to send.
        self.next_idx = next_idx
        self.state = ProgressState.Probe
        # In Probe: an append was sent and its answer is awaited.
        self.paused = False
        # In Snapshot: the index of the snapshot being sent (0 when it failed).
        self.pending_snapshot = 0
        # The index at which the peer asked for a snapshot (0 for none).
        self.pending_request_snapshot = 0
        # Set by any message from the peer; cleared by the leader's quorum check.
        self.recent_active = False
        # The last indexes of appends not yet acknowledged.
        self.ins = Inflights(ins_size)

    @classmethod
    def new(cls, next_idx: int, ins_size: int) -> Progress:
        return cls(next_idx, ins_size)

    def clone(self) -> Progress:
        """An independent copy, inflight window included."""
        copy = Progress.__new__(Progress)
        copy.matched = self.matched
        copy.next_idx = self.next_idx
        copy.state = self.state
        copy.paused = self.paused
        copy.pending_snapshot = self.pending_snapshot
        copy.pending_request_snapshot = self.pending_request_snapshot
        copy.recent_active = self.recent_active
        copy.ins = self.ins.clone()
        return copy

    def rust_clone(self) -> Progress:
        """A copy as raft-rs's `Clone` makes it (see `Inflights.rust_clone`)."""
        copy = self.clone()
        copy.ins = self.ins.rust_clone()
        return copy

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Progress):
            return NotImplemented
        return (
            self.matched == other.matched
            and self.next_idx == other.next_idx
            and self.state == other.state
            and self.paused == other.paused
            and self.pending_snapshot == other.pending_snapshot
            and self.pending_request_snapshot == other.pending_request_snapshot
            and self.recent_active == other.recent_active
            and self.ins == other.ins
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Progress(matched={self.matched}, next_idx={self.next_idx}, "
            f"state={self.state.name}, paused={self.paused}, "
            f"pending_snapshot={self.pending_snapshot}, "
            f"pending_request_snapshot={self.pending_request_snapshot}, "
            f"recent_active={self.recent_active}, ins={self.ins!r})"
        )

    def reset_state(self, state: ProgressState) -> None:
        """Enters `state` afresh: unpaused, no pending snapshot, empty window."""
        self.paused = False
        self.pending_snapshot = 0
        self.state = state
        self.ins.reset()

    @require(lambda self: self.ins.cap() != 0, "a leader's progress has an inflight window")
    def reset(self, next_idx: int) -> None:
        """Forgets everything about the peer; a new leader starts here for each peer."""
        self.matched = 0
        self.next_idx = next_idx
        self.state = ProgressState.Probe
        self.paused = False
        self.pending_snapshot = 0
        self.pending_request_snapshot = _INVALID_INDEX
        self.recent_active = False
        self.ins.reset()

    @ensure(
        lambda self: self.state is ProgressState.Probe and not self.paused,
        "a probe starts unpaused",
    )
    @ensure(
        lambda self: self.next_idx > self.matched,
        "a probe starts after the last matched index",
    )
    def become_probe(self) -> None:
        """Probes from just after the match, or after a snapshot that just arrived."""
        if self.state is ProgressState.Snapshot:
            # The snapshot reached the peer, so its log goes at least that far.
            pending_snapshot = self.pending_snapshot
            self.reset_state(ProgressState.Probe)
            self.next_idx = max(self.matched + 1, pending_snapshot + 1)
        else:
            self.reset_state(ProgressState.Probe)
            self.next_idx = self.matched + 1

    @ensure(
        lambda self: self.state is ProgressState.Replicate and self.next_idx == self.matched + 1,
        "replication streams from just after the last matched index",
    )
    def become_replicate(self) -> None:
        self.reset_state(ProgressState.Replicate)
        self.next_idx = self.matched + 1

    @ensure(
        lambda self, snapshot_idx: (
            self.state is ProgressState.Snapshot and self.pending_snapshot == snapshot_idx
        ),
        "a progress sending a snapshot remembers its index",
    )
    def become_snapshot(self, snapshot_idx: int) -> None:
        self.reset_state(ProgressState.Snapshot)
        self.pending_snapshot = snapshot_idx

    def snapshot_failure(self) -> None:
        """The snapshot was not delivered: forget its index."""
        self.pending_snapshot = 0

    def maybe_snapshot_abort(self) -> bool:
        """True when a peer being sent a snapshot has caught up past it anyway."""
        return self.state is ProgressState.Snapshot and self.matched >= self.pending_snapshot

    @snapshot(lambda self: self.matched, name="matched")
    @ensure(
        lambda self, n, result, OLD: result == (OLD.matched < n),
        "an acknowledgement is news only if it goes beyond the match",
    )
    @ensure(
        lambda self, n, OLD: self.matched == max(OLD.matched, n),
        "the matched index never decreases and covers every acknowledgement",
    )
    @ensure(lambda self, n: self.next_idx > n, "nothing acknowledged is sent again")
    def maybe_update(self, n: int) -> bool:
        """Takes in an acknowledgement of index `n`; False if it tells nothing new."""
        need_update = self.matched < n
        if need_update:
            self.matched = n
            self.resume()
        self.next_idx = max(self.next_idx, n + 1)
        return need_update

    def optimistic_update(self, n: int) -> None:
        """Assumes the append ending at `n` will arrive, and moves on past it."""
        self.next_idx = n + 1

    @snapshot(lambda self: (self.matched, self.next_idx), name="before")
    @ensure(
        lambda self, OLD: self.matched == OLD.before[0],
        "a rejection never changes the matched index",
    )
    @ensure(
        lambda self, OLD: OLD.before[0] >= OLD.before[1] or self.next_idx <= OLD.before[1],
        "a rejection never moves the next index forward",
    )
    @ensure(
        lambda self, request_snapshot, result: (
            not result or request_snapshot != _INVALID_INDEX or self.next_idx >= 1
        ),
        "after a rejection the next index is at least 1",
    )
    def maybe_decr_to(self, rejected: int, last: int, request_snapshot: int) -> bool:
        """Takes in a rejected append at index `rejected` from a peer whose log ends
        at `last`; False if the rejection is stale.

        A non-zero `request_snapshot` is the peer asking for a snapshot instead.
        """
        if self.state is ProgressState.Replicate:
            # Stale: the peer already matched beyond what it rejects (or exactly
            # there, unless it asks for a snapshot).
            if rejected < self.matched or (
                rejected == self.matched and request_snapshot == _INVALID_INDEX
            ):
                return False
            if request_snapshot == _INVALID_INDEX:
                self.next_idx = self.matched + 1
            else:
                self.pending_request_snapshot = request_snapshot
            return True

        # In Probe only an answer to the last append sent counts, unless the peer
        # requests a snapshot.
        if (
            self.next_idx == 0 or self.next_idx - 1 != rejected
        ) and request_snapshot == _INVALID_INDEX:
            return False

        if request_snapshot == _INVALID_INDEX:
            # Retry at the rejected index, or right after the peer's last entry.
            self.next_idx = max(1, min(rejected, last + 1))
        elif self.pending_request_snapshot == _INVALID_INDEX:
            # A snapshot request keeps the next index; it may come in any state.
            self.pending_request_snapshot = request_snapshot
        self.resume()
        return True

    def is_paused(self) -> bool:
        """True when the leader must not send appends to this peer now."""
        state = self.state
        if state is ProgressState.Probe:
            return self.paused
        if state is ProgressState.Replicate:
            return self.ins.full()
        return True

    def resume(self) -> None:
        self.paused = False

    def pause(self) -> None:
        self.paused = True

    def update_state(self, last: int) -> None:
        """Accounts for an append ending at index `last` just sent to the peer."""
        if self.state is ProgressState.Replicate:
            self.optimistic_update(last)
            self.ins.add(last)
        elif self.state is ProgressState.Probe:
            self.pause()
        else:
            raise RaftPanic(f"updating progress state in unhandled state {self.state.name}")
