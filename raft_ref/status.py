"""A snapshot of a node's status for the application: ids, states and (on a leader) progress."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from raft_ref.eraftpb import HardState
from raft_ref.raft import SoftState, StateRole

if TYPE_CHECKING:
    from raft_ref.progress import ProgressSet
    from raft_ref.raft import Raft

__all__ = ["Status", "StatusRef"]


class Status:
    """The status of one node, taken at the moment of the call.

    `progress` is the leader's live progress set (raft-rs lends a reference to it);
    it is None on other roles.
    """

    __slots__ = ("applied", "hs", "id", "progress", "ss")

    def __init__(
        self,
        id: int = 0,
        hs: HardState | None = None,
        ss: SoftState | None = None,
        applied: int = 0,
        progress: ProgressSet | None = None,
    ) -> None:
        self.id = id
        self.hs = hs if hs is not None else HardState()
        self.ss = ss if ss is not None else SoftState()
        self.applied = applied
        self.progress = progress

    @classmethod
    def new(cls, raft: Raft[Any]) -> Status:
        ss = raft.soft_state()
        progress = raft.prs() if ss.raft_state is StateRole.Leader else None
        return cls(raft.id, raft.hard_state(), ss, raft.raft_log.applied, progress)

    def __repr__(self) -> str:
        return (
            f"Status(id={self.id}, hs={self.hs!r}, ss={self.ss!r}, "
            f"applied={self.applied}, progress={'set' if self.progress else None})"
        )


# raft-rs has a second type that borrows instead of copying; in Python both borrow.
StatusRef = Status
