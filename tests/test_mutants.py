"""Implementation mutants (checks/mutants.py) beyond what the table of broken variants
asserts for each (tests/test_broken_variants.py): where a divergence shows, and that
mutants undo cleanly."""

from __future__ import annotations

import pytest

from checks.broken import of_target
from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.mutants import mutated
from checks.targets.impl_target import build_impl_target


def test_removed_leader_keeps_leading_diverges_when_it_applies_finalize() -> None:
    broken = of_target("impl")["removed_leader_keeps_leading"]
    target = build_impl_target(mutant=broken.name, **broken.bounds)
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
