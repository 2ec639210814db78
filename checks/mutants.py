"""Deliberately broken versions of `raft_ref` (implementation mutants), each a bug real
Raft implementations shipped, applied from outside the core by replacing one method of
a `raft_ref` class. The explorer must find every one (an invariant violation, a
divergence from the model, or a broken contract).

`apply_mutant(name)` patches the classes for the whole process and returns a function
that undoes it; `mutated(name)` does the same as a context manager. Only this module's
names are imported eagerly: `raft_ref` is imported when a mutant is applied, so that
`RAFT_REF_CONTRACTS` can still be set before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from checks.broken import of_target

# name -> what it breaks (for --help and reports), from the table of broken variants.
MUTANTS: dict[str, str] = {name: b.breaks for name, b in of_target("impl").items()}

Undo = Callable[[], None]


def _replace(owner: Any, name: str, new: Callable[..., Any]) -> Undo:
    """Puts `new` in place of `owner.name` (a class's method or a module's function)."""
    old = vars(owner)[name]
    setattr(owner, name, new)

    def undo() -> None:
        setattr(owner, name, old)

    return undo


def _commit_earlier_term_by_counting() -> Undo:
    from raft_ref.raft_log import RaftLog  # noqa: PLC0415

    def maybe_commit(self: RaftLog[Any], max_index: int, term: int) -> bool:
        # Bug: no check that the entry at max_index is of the leader's term.
        if max_index <= self.committed:
            return False
        self.commit_to(max_index)
        return True

    return _replace(RaftLog, "maybe_commit", maybe_commit)


def _vote_without_up_to_date_check() -> Undo:
    from raft_ref.raft_log import RaftLog  # noqa: PLC0415

    def is_up_to_date(self: RaftLog[Any], last_index: int, term: int) -> bool:
        return True  # Bug: any candidate's log counts as up to date.

    return _replace(RaftLog, "is_up_to_date", is_up_to_date)


def _vote_not_persisted() -> Undo:
    from raft_ref.eraftpb import HardState  # noqa: PLC0415
    from raft_ref.raft import Raft  # noqa: PLC0415

    def hard_state(self: Raft[Any]) -> HardState:
        # Bug: the vote is left out of what the application persists.
        return HardState(self.term, 0, self.raft_log.committed)

    return _replace(Raft, "hard_state", hard_state)


def _reject_hint_too_high() -> Undo:
    from raft_ref.eraftpb import MessageType  # noqa: PLC0415
    from raft_ref.raft import Raft  # noqa: PLC0415

    original = Raft.__dict__["handle_append_entries"]

    def handle_append_entries(self: Raft[Any], m: Any) -> None:
        before = len(self.msgs)
        original(self, m)
        for sent in self.msgs[before:]:
            if sent.msg_type == MessageType.MsgAppendResponse and sent.reject:
                sent.reject_hint += 1  # Bug: one past the follower's last index.

    return _replace(Raft, "handle_append_entries", handle_append_entries)


def _heartbeat_commit_beyond_match() -> Undo:
    from raft_ref.raft import Raft  # noqa: PLC0415

    original = Raft.__dict__["_send_heartbeat"]

    def send_heartbeat(self: Raft[Any], to: int, pr: Any, ctx: bytes | None) -> None:
        original(self, to, pr, ctx)
        self.msgs[-1].commit = self.raft_log.committed  # Bug: not capped at the match.

    return _replace(Raft, "_send_heartbeat", send_heartbeat)


def _joint_quorum_new_only() -> Undo:
    from raft_ref.progress import progress_set  # noqa: PLC0415

    def new_only(joint: Callable[..., Any]) -> Callable[..., Any]:
        def broken(current: Any, nxt: Any, *rest: Any) -> Any:
            # Bug: while joint, only the new configuration's majority counts.
            return joint(current if nxt is None else nxt, None, *rest)

        return broken

    undo = [
        _replace(progress_set, name, new_only(getattr(progress_set, name)))
        for name in ("joint_committed_index", "joint_vote_result", "joint_has_quorum")
    ]

    def undo_all() -> None:
        for u in undo:
            u()

    return undo_all


def _removed_leader_keeps_leading() -> Undo:
    from raft_ref.raft import Raft, StateRole  # noqa: PLC0415

    original = Raft.__dict__["finalize_membership_change"]

    def finalize_membership_change(self: Raft[Any], conf_change: Any) -> None:
        nxt = self.prs().next_configuration
        if self.state is StateRole.Leader and nxt is not None and not nxt.contains(self.id):
            # Bug: the leader pretends to be a member and keeps leading.
            saved = self.leader_id
            self.leader_id = next(iter(nxt.voters))
            try:
                original(self, conf_change)
            finally:
                self.leader_id = saved
            return
        original(self, conf_change)

    return _replace(Raft, "finalize_membership_change", finalize_membership_change)


def _follower_accepts_mismatched_append() -> Undo:
    from raft_ref.raft_log import RaftLog  # noqa: PLC0415

    def maybe_append(
        self: RaftLog[Any], idx: int, term: int, committed: int, ents: list[Any]
    ) -> int | None:
        # Bug: no check that the log has the entry (idx, term) before the new ones.
        last_new_index = idx + len(ents)
        conflict_idx = self.find_conflict(ents)
        if conflict_idx != 0:
            self.append(ents[conflict_idx - (idx + 1) :])
        self.commit_to(min(committed, last_new_index))
        return last_new_index

    return _replace(RaftLog, "maybe_append", maybe_append)


_APPLY: dict[str, Callable[[], Undo]] = {
    "commit_earlier_term_by_counting": _commit_earlier_term_by_counting,
    "vote_without_up_to_date_check": _vote_without_up_to_date_check,
    "vote_not_persisted": _vote_not_persisted,
    "reject_hint_too_high": _reject_hint_too_high,
    "heartbeat_commit_beyond_match": _heartbeat_commit_beyond_match,
    "joint_quorum_new_only": _joint_quorum_new_only,
    "removed_leader_keeps_leading": _removed_leader_keeps_leading,
    "follower_accepts_mismatched_append": _follower_accepts_mismatched_append,
}
assert set(_APPLY) == set(MUTANTS)


def apply_mutant(name: str) -> Undo:
    """Breaks `raft_ref` as mutant `name` says, for the whole process; returns the undo."""
    if name not in _APPLY:
        raise ValueError(f"unknown mutant {name!r}; known: {', '.join(MUTANTS)}")
    return _APPLY[name]()


@contextmanager
def mutated(name: str) -> Iterator[None]:
    """`raft_ref` broken as mutant `name` says, inside the `with` block."""
    undo = apply_mutant(name)
    try:
        yield
    finally:
        undo()
