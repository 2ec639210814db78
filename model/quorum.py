"""The quorum rules on bit masks of server ids: one majority configuration, and a joint
configuration as two of them.

A majority configuration is a voter mask. It decides whether a set of servers is a
quorum, the largest index a quorum has matched, and where an election stands. A joint
configuration (`Config` while joint) is two voter masks and needs both: a quorum of
both, the smaller committed index, the combination of the vote results. Outside a
membership change the second mask is 0: the empty mask constrains nothing (every set is
a quorum of it, its committed index is unbounded, every election is won in it), so the
joint rules need no case for "not joint". The model's configurations always have a
voter, so an empty mask is only ever the absent second configuration.

Every function takes the majority rule (`Params.majority`), so that a broken variant
can change it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from model.state import Config, ids

# How many of a configuration's voters form a quorum, given how many voters it has.
Majority = Callable[[int], int]

# The vote results of raft-rs `candidacy_status`.
WON, PENDING, LOST = 1, 0, -1

# The committed index of the empty mask: larger than any index.
NO_LIMIT = 1 << 64


def count(mask: int) -> int:
    """How many servers `mask` holds."""
    return _BITS[mask] if mask < 256 else bin(mask).count("1")


_BITS = tuple(bin(mask).count("1") for mask in range(256))


def majority(voters: int) -> int:
    """raft-rs `majority`: the fewest of `voters` voters that form a quorum."""
    return voters // 2 + 1


# --- One majority configuration ----------------------------------------------------


def has_quorum(voters: int, servers: int, quorum: Majority = majority) -> bool:
    """`servers` hold a majority of the voter mask `voters`."""
    return not voters or count(servers & voters) >= quorum(count(voters))


def committed_index(voters: int, match: Sequence[int], quorum: Majority = majority) -> int:
    """The largest index matched by a majority of `voters` (`match[id - 1]` is what the
    leader knows server `id` has replicated)."""
    if not voters:
        return NO_LIMIT
    matched = sorted((match[j - 1] for j in ids(voters)), reverse=True)
    return matched[quorum(len(matched)) - 1]


def vote_result(voters: int, granted: int, rejected: int, quorum: Majority = majority) -> int:
    """WON once a majority of `voters` granted, LOST once a majority refused (raft-rs:
    exactly half refusing stays PENDING), else PENDING."""
    if not voters:
        return WON
    needed = quorum(count(voters))
    if count(granted & voters) >= needed:
        return WON
    if count(rejected & voters) >= needed:
        return LOST
    return PENDING


# --- A joint configuration: two majority configurations ------------------------------


def joint_has_quorum(config: Config, servers: int, quorum: Majority = majority) -> bool:
    """`servers` are a quorum of both configurations."""
    return has_quorum(config.voters, servers, quorum) and has_quorum(
        config.next_voters, servers, quorum
    )


def joint_committed_index(config: Config, match: Sequence[int], quorum: Majority = majority) -> int:
    """The largest index committed in both configurations: the smaller of the two."""
    return min(
        committed_index(config.voters, match, quorum),
        committed_index(config.next_voters, match, quorum),
    )


def joint_vote_result(
    config: Config, granted: int, rejected: int, quorum: Majority = majority
) -> int:
    """WON when both configurations elect, LOST when either refuses, else PENDING."""
    first = vote_result(config.voters, granted, rejected, quorum)
    second = vote_result(config.next_voters, granted, rejected, quorum)
    if first == second:
        return first
    if LOST in (first, second):
        return LOST
    return PENDING
