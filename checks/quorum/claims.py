"""The quorum-intersection claims, shared by the unbounded and the bounded encodings.

Two elections in one term cannot both win when their quorums share a server,
because a server grants one vote per term. Each claim below names two kinds of
quorum that must (or, for the last one, need not) share a server.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.quorum.spec import Variant

__all__ = ["CLAIMS", "QuorumClaim"]


@dataclass(frozen=True)
class QuorumClaim:
    name: str
    statement: str
    fails_under: frozenset[Variant] = frozenset()
    always_fails: bool = False


CLAIMS: tuple[QuorumClaim, ...] = (
    QuorumClaim(
        "majorities_intersect",
        "two majorities of one voter set share a voter",
        frozenset({Variant.WRONG_MAJORITY}),
    ),
    QuorumClaim(
        "joint_quorum_meets_old_majority",
        "a joint quorum (majority of old and of new) shares a server with every old majority",
        frozenset({Variant.WRONG_MAJORITY, Variant.JOINT_NEW_ONLY}),
    ),
    QuorumClaim(
        "joint_quorum_meets_new_majority",
        "a joint quorum shares a server with every majority of the new configuration",
        frozenset({Variant.WRONG_MAJORITY}),
    ),
    QuorumClaim(
        "joint_quorums_intersect",
        "two joint quorums of one joint configuration share a server",
        frozenset({Variant.WRONG_MAJORITY}),
    ),
    QuorumClaim(
        "one_voter_change_keeps_intersection",
        "after adding or removing exactly one voter, old and new majorities share a server",
        frozenset({Variant.WRONG_MAJORITY}),
    ),
    QuorumClaim(
        "two_voter_change_keeps_intersection",
        "after changing two voters at once without joint consensus, old and new majorities "
        "share a server",
        always_fails=True,
    ),
)
