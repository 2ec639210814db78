"""Entry points for symbolic execution of raft_ref's quorum code with CrossHair.

raft_ref's contracts use its own checker (raft_ref/contracts.py), which CrossHair
does not read, so these functions restate the quorum rules as PEP 316 docstring
contracts around calls into the real code. Run:

    crosshair check --analysis_kind=PEP316 --report_all checks/quorum/crosshair_targets.py

Findings are in CROSSHAIR.md next to this file. Nothing else imports this module.
"""

from __future__ import annotations

from raft_ref.progress import CandidacyStatus, Configuration, Progress, ProgressSet, majority

__all__ = [
    "candidacy_of_votes",
    "committed_index_of_matches",
    "has_quorum_of_members",
    "majority_of",
]


def _cluster(voters: int, next_voters: int) -> ProgressSet:
    """Voters 1..voters; while next_voters > 0, joint with voters 1..next_voters."""
    prs = ProgressSet()
    for id in range(1, voters + 1):
        prs.insert_voter(id, Progress(1, 16))
    if next_voters > 0:
        prs.begin_membership_change(Configuration(range(1, next_voters + 1), ()), Progress(1, 16))
    return prs


def majority_of(total: int) -> int:
    """
    The least quorum size: two quorums always share a voter, one fewer need not.

    pre: 0 <= total
    post: 2 * __return__ > total
    post: 2 * (__return__ - 1) <= total
    """
    return majority(total)


def has_quorum_of_members(voters: int, next_voters: int, members: set[int]) -> bool:
    """
    has_quorum counts, in each active configuration, the voters among `members`.

    pre: 1 <= voters <= 5
    pre: 0 <= next_voters <= 5
    post: __return__ == (2 * len([i for i in members if 1 <= i <= voters]) > voters and (next_voters == 0 or 2 * len([i for i in members if 1 <= i <= next_voters]) > next_voters))
    """  # noqa: E501
    return _cluster(voters, next_voters).has_quorum(members)


def committed_index_of_matches(matched: list[int], next_voters: int) -> int:
    """
    The committed index is matched by a majority of each configuration, and no
    larger index is.

    pre: 1 <= len(matched) <= 5
    pre: all(0 <= m <= 4 for m in matched)
    pre: 0 <= next_voters <= len(matched)
    post: 2 * len([m for m in matched if m >= __return__]) > len(matched)
    post: next_voters == 0 or 2 * len([m for m in matched[:next_voters] if m >= __return__]) > next_voters
    post: not (2 * len([m for m in matched if m > __return__]) > len(matched) and (next_voters == 0 or 2 * len([m for m in matched[:next_voters] if m > __return__]) > next_voters))
    """  # noqa: E501
    prs = _cluster(len(matched), next_voters)
    for id, value in enumerate(matched, start=1):
        pr = prs.get(id)
        assert pr is not None
        pr.matched = value
    return prs.maximal_committed_index()


def candidacy_of_votes(voters: int, votes: dict[int, bool]) -> CandidacyStatus:
    """
    Elected with a majority granting, Ineligible with a majority rejecting.

    pre: 1 <= voters <= 5
    pre: all(1 <= i <= voters for i in votes)
    post: (__return__ is CandidacyStatus.Elected) == (2 * sum(1 for a in votes.values() if a) > voters)
    post: (__return__ is CandidacyStatus.Ineligible) == (2 * sum(1 for a in votes.values() if not a) > voters and not 2 * sum(1 for a in votes.values() if a) > voters)
    """  # noqa: E501
    return _cluster(voters, 0).candidacy_status(votes)
