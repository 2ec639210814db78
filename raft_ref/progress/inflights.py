"""The window of append messages a leader has in flight to one follower.

A leader in Replicate state records the last index of every append it sends and
stops sending when `cap()` of them are unacknowledged; an acknowledgement frees
every recorded index up to it. Like raft-rs, the window is a ring buffer over a
list that grows up to the capacity, and the exact positions (`start`, `count`,
`buffer`) are part of the observable state that the upstream tests check.
"""

from __future__ import annotations

from raft_ref.contracts import ensure, require
from raft_ref.errors import RaftPanic

__all__ = ["Inflights"]

# Rust gives a vector that grows from empty room for at least this many 64-bit values.
_RUST_MIN_NON_ZERO_CAP = 4


def _last_in_window(ins: Inflights) -> int:
    return ins.buffer[(ins.start + ins.count - 1) % ins.cap()]


class Inflights:
    """A ring buffer of the last entry indexes of unacknowledged appends."""

    __slots__ = ("_cap", "buffer", "count", "start")

    def __init__(self, cap: int) -> None:
        # Position in `buffer` of the oldest inflight.
        self.start = 0
        # Number of inflights in the window.
        self.count = 0
        # Grows by appending until it holds `cap` slots, then is reused in place.
        self.buffer: list[int] = []
        self._cap = cap

    @classmethod
    def new(cls, cap: int) -> Inflights:
        return cls(cap)

    def clone(self) -> Inflights:
        """An independent copy with the same window and capacity."""
        copy = Inflights.__new__(Inflights)
        copy.start = self.start
        copy.count = self.count
        copy.buffer = self.buffer.copy()
        copy._cap = self._cap
        return copy

    def rust_clone(self) -> Inflights:
        """A copy as raft-rs's `Clone` makes it, capacity included.

        raft-rs re-reserves the copied buffer's missing room with Rust's amortized
        growth, which may give more room than the original had: at least twice the
        buffer's length and at least 4, unless the buffer is already at capacity
        (so a fresh window of capacity 1 to 3 is copied with capacity 4). raft-rs
        copies a template progress this way when it restores a snapshot or begins
        a membership change; the explorer's `clone()` keeps the capacity instead.
        """
        copy = self.clone()
        length = len(self.buffer)
        if self._cap > length:
            copy._cap = max(_RUST_MIN_NON_ZERO_CAP, 2 * length, self._cap)
        return copy

    def __eq__(self, other: object) -> bool:
        # Like raft-rs: the capacity is not compared, only the buffer's contents.
        if not isinstance(other, Inflights):
            return NotImplemented
        return (
            self.start == other.start and self.count == other.count and self.buffer == other.buffer
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Inflights(start={self.start}, count={self.count}, buffer={self.buffer}, "
            f"cap={self._cap})"
        )

    def cap(self) -> int:
        """How many inflights the window holds at most."""
        return self._cap

    def full(self) -> bool:
        """True when no further append may be sent until one is acknowledged."""
        return self.count == self._cap

    @require(
        lambda self, inflight: self.count == 0 or inflight > _last_in_window(self),
        "inflight indexes are added in increasing order",
    )
    @ensure(lambda self: self.count <= self._cap, "no more inflights than the capacity")
    def add(self, inflight: int) -> None:
        """Records an append whose last entry has index `inflight`."""
        if self.count == self._cap:
            raise RaftPanic("cannot add into a full inflights")
        slot = self.start + self.count
        if slot >= self._cap:
            slot -= self._cap
        if slot > len(self.buffer):
            raise RaftPanic(f"inflight slot {slot} beyond buffer of {len(self.buffer)}")
        if slot == len(self.buffer):
            self.buffer.append(inflight)
        else:
            self.buffer[slot] = inflight
        self.count += 1

    @ensure(lambda self: self.count <= self._cap, "no more inflights than the capacity")
    @ensure(
        lambda self, to: self.count == 0 or self.buffer[self.start] > to,
        "an acknowledgement frees every inflight up to its index",
    )
    def free_to(self, to: int) -> None:
        """Frees the inflights up to and including index `to`."""
        if self.count == 0 or to < self.buffer[self.start]:
            # `to` is left of the window: a stale acknowledgement.
            return
        freed = 0
        slot = self.start
        while freed < self.count and self.buffer[slot] <= to:
            slot += 1
            if slot >= self._cap:
                slot -= self._cap
            freed += 1
        self.count -= freed
        self.start = slot

    def free_first_one(self) -> None:
        """Frees the oldest inflight (a heartbeat response unblocks a full window)."""
        if self.start >= len(self.buffer):
            raise RaftPanic(
                f"index out of bounds: the len is {len(self.buffer)} but the index is {self.start}"
            )
        self.free_to(self.buffer[self.start])

    @ensure(lambda self: self.count == 0 and self.start == 0, "a reset window is empty")
    def reset(self) -> None:
        """Forgets every inflight; the buffer keeps its stale contents, as upstream."""
        self.count = 0
        self.start = 0
