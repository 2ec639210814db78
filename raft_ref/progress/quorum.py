"""Quorums: what one majority configuration decides, and a joint configuration as two.

A majority configuration is a set of voters. It decides three things: whether a set of
nodes is a quorum, the largest index a quorum has matched (the committed index), and
where an election stands given the votes so far. A joint configuration is two majority
configurations and needs both: it has a quorum when both have, its committed index is
the smaller of theirs, and its vote result is the combination of theirs.

Outside a membership change the second configuration is absent (`None`). An absent
configuration constrains nothing: every set is a quorum of it, its committed index is
unbounded and every election is won in it. So the joint rules serve both cases, and
nothing else needs to know whether a change is in progress.

An *empty* configuration is not the absent one in raft-rs 0.6.0-alpha: `majority(0)` is
1, so no set is a quorum of it and no election is won in it, and it has no committed
index (raft-rs reads the median of an empty list and panics).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Protocol

from raft_ref.errors import RaftPanic

__all__ = [
    "NO_LIMIT",
    "CandidacyStatus",
    "Matched",
    "committed_index",
    "has_quorum",
    "joint_committed_index",
    "joint_has_quorum",
    "joint_vote_result",
    "majority",
    "vote_result",
]

# The committed index of an absent configuration: larger than any index (u64::MAX).
NO_LIMIT = (1 << 64) - 1


class CandidacyStatus(Enum):
    """Where an election stands for a candidate, given the votes so far."""

    Elected = 0
    Eligible = 1
    Ineligible = 2


class Matched(Protocol):
    """What the committed index reads of a voter: the highest index it has matched."""

    @property
    def matched(self) -> int: ...


def majority(total: int) -> int:
    """The fewest voters of a group of `total` that make a quorum."""
    return total // 2 + 1


# --- One majority configuration ----------------------------------------------------


def has_quorum(voters: frozenset[int] | None, nodes: Iterable[int]) -> bool:
    """`nodes` include a majority of `voters`."""
    if voters is None:
        return True
    return len(voters.intersection(nodes)) >= majority(len(voters))


def committed_index(voters: frozenset[int] | None, progress: Mapping[int, Matched]) -> int:
    """The largest index matched by a majority of `voters`: sorted from the highest,
    the index of the voter at the majority's position."""
    if voters is None:
        return NO_LIMIT
    try:
        matched = sorted([progress[id].matched for id in voters], reverse=True)
    except KeyError as missing:
        raise RaftPanic(f"no progress for voter {missing.args[0]}") from None
    if not matched:
        raise RaftPanic("index out of bounds: the len is 0 but the index is 0")
    return matched[majority(len(matched)) - 1]


def vote_result(voters: frozenset[int] | None, votes: Mapping[int, bool]) -> CandidacyStatus:
    """Elected once a majority of `voters` granted; Ineligible once a majority refused.

    raft-rs's rule, quirk included: at exactly half refusing (an even-sized
    configuration), the election cannot be won any more yet stays Eligible.
    """
    if voters is None:
        return CandidacyStatus.Elected
    granted = rejected = 0
    for id, accepted in votes.items():
        if id in voters:
            if accepted:
                granted += 1
            else:
                rejected += 1
    needed = majority(len(voters))
    if granted >= needed:
        return CandidacyStatus.Elected
    if rejected >= needed:
        return CandidacyStatus.Ineligible
    return CandidacyStatus.Eligible


# --- A joint configuration: two majority configurations ------------------------------


def joint_has_quorum(
    current: frozenset[int], next: frozenset[int] | None, nodes: Iterable[int]
) -> bool:
    """`nodes` are a quorum of both configurations."""
    return has_quorum(current, nodes) and has_quorum(next, nodes)


def joint_committed_index(
    current: frozenset[int], next: frozenset[int] | None, progress: Mapping[int, Matched]
) -> int:
    """The largest index committed in both configurations: the smaller of the two."""
    return min(committed_index(current, progress), committed_index(next, progress))


def joint_vote_result(
    current: frozenset[int], next: frozenset[int] | None, votes: Mapping[int, bool]
) -> CandidacyStatus:
    """Elected when both configurations elect, Ineligible when either refuses, else open."""
    first = vote_result(current, votes)
    second = vote_result(next, votes)
    if first is second:
        return first
    if CandidacyStatus.Ineligible in (first, second):
        return CandidacyStatus.Ineligible
    return CandidacyStatus.Eligible
