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

# name -> what it breaks (for --help and reports).
MUTANTS: dict[str, str] = {
    "commit_earlier_term_by_counting": (
        "a leader commits an entry of an earlier term once a majority holds it (Fig. 8)"
    ),
    "vote_without_up_to_date_check": "votes are granted without the log up-to-date check",
    "vote_not_persisted": "the vote is not in the persisted hard state: lost across restart",
    "reject_hint_too_high": "a follower's append rejection hints one index past its log",
    "heartbeat_commit_beyond_match": (
        "heartbeats carry the leader's commit, not min(commit, the follower's match)"
    ),
    "joint_quorum_new_only": "while joint, quorums count only the new configuration",
    "removed_leader_keeps_leading": "a leader removed by Finalize does not step down",
    "follower_accepts_mismatched_append": (
        "a follower appends without checking the entry before the new ones"
    ),
}

Undo = Callable[[], None]


def _replace(cls: type, name: str, new: Callable[..., Any]) -> Undo:
    old = cls.__dict__[name]
    setattr(cls, name, new)

    def undo() -> None:
        setattr(cls, name, old)

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
    from raft_ref.eraftpb import Message, MessageType  # noqa: PLC0415
    from raft_ref.raft import Raft  # noqa: PLC0415

    def send_heartbeat(self: Raft[Any], to: int, pr: Any, ctx: bytes | None) -> None:
        m = Message(msg_type=MessageType.MsgHeartbeat, to=to)
        m.commit = self.raft_log.committed  # Bug: not capped at the follower's match.
        if ctx is not None:
            m.context = ctx
        self.send(m)

    return _replace(Raft, "_send_heartbeat", send_heartbeat)


def _joint_quorum_new_only() -> Undo:
    from raft_ref.progress import ProgressSet  # noqa: PLC0415
    from raft_ref.progress.quorum import CandidacyStatus, committed_index  # noqa: PLC0415

    def maximal_committed_index(self: ProgressSet) -> int:
        conf = self.next_configuration or self.configuration
        # Bug: while joint, only the new configuration's majority counts.
        return committed_index(conf.voters, self._progress)

    def candidacy_status(self: ProgressSet, votes: Any) -> CandidacyStatus:
        conf = self.next_configuration or self.configuration
        granted = {i for i, v in votes.items() if v}
        rejected = {i for i, v in votes.items() if not v}
        if conf.has_quorum(granted):
            return CandidacyStatus.Elected
        if conf.has_quorum(rejected):
            return CandidacyStatus.Ineligible
        return CandidacyStatus.Eligible

    def has_quorum(self: ProgressSet, potential_quorum: Any) -> bool:
        conf = self.next_configuration or self.configuration
        return bool(conf.has_quorum(potential_quorum))

    undo = [
        _replace(ProgressSet, "maximal_committed_index", maximal_committed_index),
        _replace(ProgressSet, "candidacy_status", candidacy_status),
        _replace(ProgressSet, "has_quorum", has_quorum),
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
