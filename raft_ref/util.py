"""Small helpers shared by the log and the message path."""

from __future__ import annotations

from raft_ref.eraftpb import Entry, Message

__all__ = ["NO_LIMIT", "is_continuous_ents", "limit_size"]

# The largest unsigned 64-bit value: a size limit that never cuts anything.
NO_LIMIT: int = 2**64 - 1


def limit_size(entries: list[Entry], max_size: int | None) -> None:
    """Cuts `entries`, in place, to the longest prefix whose encoded size fits `max_size`.

    The first entry always stays, whatever its size, so that a batch can make progress.
    Sizes are protobuf-encoded sizes. As in raft-rs, entries are treated as "the first"
    while the running total is still zero, so zero-sized entries at the front never count
    against the limit.
    """
    if len(entries) <= 1 or max_size is None or max_size == NO_LIMIT:
        return
    total = 0
    kept = 0
    for entry in entries:
        if total == 0:
            total += entry.compute_size()
        else:
            total += entry.compute_size()
            if total > max_size:
                break
        kept += 1
    del entries[kept:]


def is_continuous_ents(msg: Message, ents: list[Entry]) -> bool:
    """Whether `ents` start right after the last entry already in `msg`."""
    if msg.entries and ents:
        return msg.entries[-1].index + 1 == ents[0].index
    return True
