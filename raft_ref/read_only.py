"""Linearizable read-only queries (ReadIndex), as raft-rs 0.6.0-alpha serves them.

A leader answers a read at its commit index once it knows it is still the leader:
in `Safe` mode it waits until a quorum has acknowledged a heartbeat carrying the
read's context; in `LeaseBased` mode it trusts its lease and answers at once.
`ReadOnly` is the leader's queue of reads waiting for those acknowledgements.

The request message kept in a pending status is shared, not copied, by `clone()`:
messages are never mutated once sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from raft_ref.contracts import ensure
from raft_ref.eraftpb import Message
from raft_ref.errors import RaftPanic

__all__ = ["ReadIndexStatus", "ReadOnly", "ReadOnlyOption", "ReadState"]


class ReadOnlyOption(Enum):
    """How a leader makes sure a read-only query is linearizable."""

    # Confirm leadership with a quorum of heartbeat acknowledgements (the default).
    Safe = 0
    # Rely on the leader lease; unsafe if clocks drift without bound.
    LeaseBased = 1

    @classmethod
    def default(cls) -> ReadOnlyOption:
        return cls.Safe


@dataclass(frozen=True, slots=True)
class ReadState:
    """A read the application may serve once it has applied up to `index`.

    `request_ctx` is the context the application attached to its ReadIndex request,
    so it can match answers to requests. Immutable, so copies share it.
    """

    index: int = 0
    request_ctx: bytes = b""


class ReadIndexStatus:
    """A read waiting for heartbeat acknowledgements: the request, the commit index
    when it arrived, and the peers that have acknowledged so far."""

    __slots__ = ("acks", "index", "req")

    def __init__(self, req: Message, index: int, acks: set[int] | None = None) -> None:
        self.req = req
        self.index = index
        self.acks: set[int] = set() if acks is None else acks

    def __repr__(self) -> str:
        return f"ReadIndexStatus(index={self.index}, acks={sorted(self.acks)}, req={self.req!r})"

    def clone(self) -> ReadIndexStatus:
        return ReadIndexStatus(self.req, self.index, set(self.acks))


class ReadOnly:
    """The leader's pending ReadIndex requests, oldest first."""

    __slots__ = ("option", "pending_read_index", "read_index_queue")

    def __init__(self, option: ReadOnlyOption = ReadOnlyOption.Safe) -> None:
        self.option = option
        # Pending reads by request context; the context is the first entry's data.
        self.pending_read_index: dict[bytes, ReadIndexStatus] = {}
        # The same contexts in arrival order.
        self.read_index_queue: list[bytes] = []

    @classmethod
    def new(cls, option: ReadOnlyOption) -> ReadOnly:
        return cls(option)

    def clone(self) -> ReadOnly:
        copy = ReadOnly.__new__(ReadOnly)
        copy.option = self.option
        copy.pending_read_index = {
            ctx: status.clone() for ctx, status in self.pending_read_index.items()
        }
        copy.read_index_queue = self.read_index_queue.copy()
        return copy

    @ensure(
        lambda self, m: m.entries[0].data in self.pending_read_index,
        "a read request is pending once added",
    )
    @ensure(
        lambda self: self._queue_matches_pending(),
        "every queued read has exactly one pending status",
    )
    def add_request(self, index: int, m: Message) -> None:
        """Queues the read request `m`, received when the commit index was `index`.

        A request whose context is already pending is ignored: the first one wins.
        """
        if not m.entries:
            raise RaftPanic("read index request carries no entry (index out of bounds)")
        ctx = m.entries[0].data
        if ctx in self.pending_read_index:
            return
        self.pending_read_index[ctx] = ReadIndexStatus(m, index)
        self.read_index_queue.append(ctx)

    @ensure(
        lambda self, m, result: (
            m.context not in self.pending_read_index or ({m.from_, m.to} <= result)
        ),
        "an acknowledgement counts its sender and the leader itself",
    )
    def recv_ack(self, m: Message) -> set[int]:
        """Records that `m.from_` acknowledged the heartbeat carrying `m.context`.

        Returns the peers that have acknowledged that read, the leader (`m.to`)
        included; an empty set when no read with that context is pending.
        """
        status = self.pending_read_index.get(m.context)
        if status is None:
            return set()
        status.acks.add(m.from_)
        acked = set(status.acks)
        acked.add(m.to)
        return acked

    @ensure(
        lambda self: self._queue_matches_pending(),
        "every queued read has exactly one pending status",
    )
    @ensure(
        lambda self, m, result: not result or result[-1].req.entries[0].data == m.context,
        "reads are released in order, up to and including the acknowledged one",
    )
    def advance(self, m: Message) -> list[ReadIndexStatus]:
        """Releases every read queued up to and including the one with `m.context`.

        Earlier reads are released too: the quorum that confirmed the later read
        also confirms the leadership they wait for. Nothing is released when no
        queued read has that context.
        """
        position = None
        for i, ctx in enumerate(self.read_index_queue):
            if ctx not in self.pending_read_index:
                raise RaftPanic("cannot find correspond read state from pending map")
            if ctx == m.context:
                position = i
                break
        if position is None:
            return []
        released = self.read_index_queue[: position + 1]
        del self.read_index_queue[: position + 1]
        return [self.pending_read_index.pop(ctx) for ctx in released]

    def last_pending_request_ctx(self) -> bytes | None:
        """The context of the newest pending read, which heartbeats carry."""
        return self.read_index_queue[-1] if self.read_index_queue else None

    def pending_read_count(self) -> int:
        return len(self.read_index_queue)

    def _queue_matches_pending(self) -> bool:
        queue = self.read_index_queue
        return len(queue) == len(self.pending_read_index) and all(
            ctx in self.pending_read_index for ctx in queue
        )
