"""A test façade over one Raft node, or over a black hole standing in for one.

raft-rs's harness wraps `Option<Raft>`: with a node inside, calls reach the node;
with `None` inside, the peer swallows every message and sends nothing, which is how
tests model a crashed or unreachable machine. Attribute reads and writes pass
through to the node, like Rust's `Deref`/`DerefMut`, so a test can write `r.term`
or `r.term = 5` on an `Interface`.
"""

from __future__ import annotations

from typing import Any

from raft_ref.eraftpb import Message
from raft_ref.raft import Raft


class Interface:
    """A Raft node under test, or `None` for a peer that drops everything."""

    __slots__ = ("raft",)

    def __init__(self, raft: Raft | None) -> None:
        object.__setattr__(self, "raft", raft)

    def step(self, m: Message) -> None:
        """Step the node with `m`; a black hole ignores it. Raft errors propagate."""
        if self.raft is not None:
            self.raft.step(m)

    def read_messages(self) -> list[Message]:
        """Take the node's outgoing messages, leaving its outbox empty."""
        if self.raft is None:
            return []
        out = list(self.raft.msgs)
        self.raft.msgs.clear()
        return out

    def __getattr__(self, name: str) -> Any:
        # Only reached for names Interface itself lacks: forward to the node.
        raft = object.__getattribute__(self, "raft")
        if raft is None:
            raise AttributeError(f"black-hole peer has no node, so no attribute {name!r}")
        return getattr(raft, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "raft":
            object.__setattr__(self, name, value)
            return
        raft = object.__getattribute__(self, "raft")
        if raft is None:
            raise AttributeError(f"black-hole peer has no node to set {name!r} on")
        setattr(raft, name, value)

    def __repr__(self) -> str:
        if self.raft is None:
            return "Interface(black hole)"
        return f"Interface(raft id={self.raft.id})"
