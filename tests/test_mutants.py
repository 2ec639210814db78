"""Every implementation mutant (checks/mutants.py) is found by the explorer, by the
check the table in the README names, within the stated bounds and depth."""

from __future__ import annotations

from typing import Any

import pytest

from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.mutants import MUTANTS, mutated
from checks.targets.impl_target import build_impl_target

# Bounds that keep each search small: no client entries or membership changes where the
# bug does not need them; a third term where it needs a second election.
TWO_ELECTIONS: dict[str, Any] = {
    "max_term": 3,
    "max_membership_changes": 0,
    "max_client_requests": 0,
}
MEMBERSHIP: dict[str, Any] = {
    "max_term": 2,
    "changes": ("shrink_to_one",),
    "max_client_requests": 0,
}

# mutant -> (bounds, BFS depth, the check that fires, the depth it fires at)
FOUND_BY: dict[str, tuple[dict[str, Any], int, str, int]] = {
    "vote_not_persisted": ({"max_term": 2, "max_crashes": 1}, 4, "RefinesModel", 2),
    "heartbeat_commit_beyond_match": (
        {"max_term": 2, "max_msgs": 5, "max_membership_changes": 0, "max_client_requests": 0},
        6,
        "RefinesModel",
        4,
    ),
    "vote_without_up_to_date_check": (TWO_ELECTIONS, 8, "RefinesModel", 6),
    "reject_hint_too_high": (TWO_ELECTIONS, 9, "RefinesModel", 9),
    "follower_accepts_mismatched_append": (TWO_ELECTIONS, 9, "NoImplementationError", 9),
    "joint_quorum_new_only": (MEMBERSHIP, 9, "RefinesModel", 9),
    "removed_leader_keeps_leading": (MEMBERSHIP, 11, "RefinesModel", 11),
    "commit_earlier_term_by_counting": (
        {**TWO_ELECTIONS, "max_msgs": 4},
        11,
        "NoImplementationError",  # raft_ref's commit-rule contract on Raft.maybe_commit
        11,
    ),
}


def test_every_mutant_has_a_test() -> None:
    assert set(FOUND_BY) == set(MUTANTS)


def _first_violation(name: str) -> tuple[str, int]:
    bounds, depth, _, _ = FOUND_BY[name]
    target = build_impl_target(mutant=name, **bounds)
    try:
        outcome = explore(target, SearchOptions(max_depth=depth, symmetry=False, workers=1))
    finally:
        assert target.undo_mutant is not None
        target.undo_mutant()
    assert outcome.violations, f"mutant {name} not found within depth {depth}"
    violation = outcome.violations[0]
    return violation.property_name, violation.depth


@pytest.mark.parametrize("name", list(FOUND_BY))
def test_mutant_is_found_by_random_walks(name: str) -> None:
    # 2,000 seeded walks of up to 40 steps within the mutant's bounds.
    bounds, _, check, _ = FOUND_BY[name]
    target = build_impl_target(mutant=name, **bounds)
    options = SearchOptions(strategy="random", max_depth=40, walks=2000, seed=0, workers=1)
    try:
        outcome = explore(target, options)
    finally:
        assert target.undo_mutant is not None
        target.undo_mutant()
    assert outcome.violations, f"mutant {name} not found by random walks"
    assert outcome.violations[0].property_name == check


@pytest.mark.parametrize("name", list(FOUND_BY))
def test_mutant_is_found(name: str) -> None:
    _, _, check, depth = FOUND_BY[name]
    assert _first_violation(name) == (check, depth)


def test_removed_leader_keeps_leading_diverges_when_it_applies_finalize() -> None:
    target = build_impl_target(mutant="removed_leader_keeps_leading", **MEMBERSHIP)
    try:
        outcome = explore(target, SearchOptions(max_depth=11, symmetry=False, workers=1))
    finally:
        assert target.undo_mutant is not None
        target.undo_mutant()
    violation = outcome.violations[0]
    assert violation.property_name == "RefinesModel"
    last = violation.path[-1][1]
    # A leader outside its own (final) configuration: the model would have stepped down.
    assert any(
        slot.node.raft.state.name == "Leader"
        and slot.node.raft.id not in slot.node.raft.prs().configuration.voters
        for slot in last.slots
    )


def test_mutants_undo_restores_raft_ref() -> None:
    from raft_ref.raft_log import RaftLog

    original = RaftLog.__dict__["is_up_to_date"]
    with mutated("vote_without_up_to_date_check"):
        assert RaftLog.__dict__["is_up_to_date"] is not original
    assert RaftLog.__dict__["is_up_to_date"] is original


def test_unknown_mutant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mutant"):
        build_impl_target(mutant="no_such_bug")
