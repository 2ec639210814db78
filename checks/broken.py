"""Every deliberately broken version raft-ref knows, in one table: what is broken, on
which target, the check expected to catch it, and the bounds and search that do.

Three kinds, one mechanism each where the target lives:
- `impl`: a mutant of `raft_ref` (`checks/mutants.py`: one method replaced, as small a
  change to the original as Python allows), caught by the explorer on clusters;
- `model`: a broken rule of the model (`model/variants.py`: a `Params` switch, with the
  bounds its bug needs in `VARIANT_BOUNDS`), caught by the explorer on the model;
- `quorum`: a broken quorum or commit rule in the Z3 specification
  (`checks/quorum/spec.py`), caught by the proofs it must refute.

`tests/test_broken_variants.py` is generated from this table: a BFS within the bounds
finds the first check at exactly `depth`, seeded random walks find it too, and a quorum
variant refutes every proof named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from model.variants import VARIANT_BOUNDS

# Bounds (changes from the defaults) shared by several mutants: no client entries or
# membership changes where the bug does not need them; a second term where it needs
# only one election.
_NO_PROPOSALS: Mapping[str, Any] = MappingProxyType(
    {"max_membership_changes": 0, "max_client_requests": 0}
)
_MEMBERSHIP: Mapping[str, Any] = MappingProxyType(
    {"max_term": 2, "changes": ("shrink_to_one",), "max_client_requests": 0}
)


@dataclass(frozen=True)
class BrokenVariant:
    name: str
    target: str  # "impl", "model" or "quorum"
    breaks: str  # what is broken
    caught_by: tuple[str, ...]  # explorer: the check that fires first; quorum: proofs refuted
    bounds: Mapping[str, Any] = field(default_factory=dict)  # changes from the defaults
    depth: int | None = None  # explorer: BFS depth of the first violation
    walks: int | None = None  # explorer: seed-0 walks of up to 40 steps that find it
    slow: bool = False  # its searches belong to the slow test suite


BROKEN: tuple[BrokenVariant, ...] = (
    # --- raft_ref mutants: bugs real Raft implementations shipped -----------------------
    BrokenVariant(
        "vote_not_persisted",
        "impl",
        "the vote is not in the persisted hard state: lost across restart",
        ("RefinesModel",),
        {"max_term": 2, "max_crashes": 1},
        depth=2,
        walks=2000,
    ),
    BrokenVariant(
        "heartbeat_commit_beyond_match",
        "impl",
        "heartbeats carry the leader's commit, not min(commit, the follower's match)",
        ("RefinesModel",),
        {"max_term": 2, "max_msgs": 5, **_NO_PROPOSALS},
        depth=4,
        walks=2000,
    ),
    BrokenVariant(
        "vote_without_up_to_date_check",
        "impl",
        "votes are granted without the log up-to-date check",
        ("RefinesModel",),
        _NO_PROPOSALS,
        depth=6,
        walks=2000,
    ),
    BrokenVariant(
        "reject_hint_too_high",
        "impl",
        "a follower's append rejection hints one index past its log",
        ("RefinesModel",),
        _NO_PROPOSALS,
        depth=9,
        walks=2000,
    ),
    BrokenVariant(
        "follower_accepts_mismatched_append",
        "impl",
        "a follower appends without checking the entry before the new ones",
        ("NoImplementationError",),  # a raft_ref panic
        _NO_PROPOSALS,
        depth=9,
        walks=2000,
    ),
    BrokenVariant(
        "joint_quorum_new_only",
        "impl",
        "while joint, quorums count only the new configuration",
        ("RefinesModel",),
        _MEMBERSHIP,
        depth=9,
        walks=2000,
    ),
    BrokenVariant(
        "removed_leader_keeps_leading",
        "impl",
        "a leader removed by Finalize does not step down",
        ("RefinesModel",),
        _MEMBERSHIP,
        depth=11,
        walks=2000,
    ),
    BrokenVariant(
        "commit_earlier_term_by_counting",
        "impl",
        "a leader commits an entry of an earlier term once a majority holds it (Fig. 8)",
        ("NoImplementationError",),  # the commit-rule contract on Raft.maybe_commit
        {"max_msgs": 4, **_NO_PROPOSALS},
        depth=11,
        walks=2000,
    ),
    # --- broken rules of the model --------------------------------------------------------
    BrokenVariant(
        "small_majority",
        "model",
        "a majority is one vote too small",
        ("ElectionSafety",),
        VARIANT_BOUNDS.get("small_majority", {}),
        depth=2,
        walks=3000,
    ),
    BrokenVariant(
        "vote_without_log_check",
        "model",
        "votes are granted without the up-to-date log check",
        ("LeaderCompleteness",),
        VARIANT_BOUNDS.get("vote_without_log_check", {}),
        depth=9,
        walks=3000,
    ),
    BrokenVariant(
        "direct_membership_change",
        "model",
        "Begin switches straight to the target config (no joint phase)",
        ("ConfigurationSafety",),
        VARIANT_BOUNDS.get("direct_membership_change", {}),
        depth=8,
        walks=3000,
    ),
    BrokenVariant(
        "forget_vote_on_restart",
        "model",
        "a restarted server forgets its vote",
        ("ElectionSafety",),
        VARIANT_BOUNDS["forget_vote_on_restart"],
        depth=9,
        walks=3000,
    ),
    BrokenVariant(
        "commit_previous_term",
        "model",
        "a leader commits an earlier term's entry by counting replicas (Figure 8)",
        ("LeaderCompleteness",),
        VARIANT_BOUNDS["commit_previous_term"],
        depth=19,
        walks=30000,
        slow=True,
    ),
    # --- broken rules of the Z3 specification ---------------------------------------------
    BrokenVariant(
        "wrong_majority",
        "quorum",
        "majority(n) = n // 2 instead of n // 2 + 1",
        (
            "unbounded.majorities_intersect",
            "bounded.majorities_intersect",
            "bounded.joint_quorums_intersect",
            "commit_rule.leader_completeness_step",
            "code_tie.majority_matches_spec",
            "code_tie.maximal_committed_index_matches_spec",
            "model_tie.majority_matches_spec",
            "model_tie.joint_committed_index_matches_spec",
        ),
    ),
    BrokenVariant(
        "joint_new_only",
        "quorum",
        "a joint quorum counts only the new configuration",
        (
            "unbounded.joint_quorum_meets_old_majority",
            "bounded.joint_quorum_meets_old_majority",
            "code_tie.has_quorum_matches_spec",
            "code_tie.candidacy_status_matches_spec",
            "model_tie.joint_has_quorum_matches_spec",
            "model_tie.joint_vote_result_matches_spec",
        ),
    ),
    BrokenVariant(
        "commit_any_term",
        "quorum",
        "a leader commits by counting replicas of entries of any term",
        ("commit_rule.leader_completeness_step",),
    ),
)


def of_target(target: str) -> dict[str, BrokenVariant]:
    """The broken variants of one target, by name."""
    return {b.name: b for b in BROKEN if b.target == target}
