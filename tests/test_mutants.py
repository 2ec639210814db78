"""Implementation mutants (checks/mutants.py) beyond what the table of broken variants
asserts for each (tests/test_broken_variants.py): where a divergence shows, and that
mutants undo cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.broken import of_target
from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.explore import main
from checks.mutants import mutated
from checks.targets.impl_target import build_impl_target
from raft_ref.raft import Raft


def test_removed_leader_keeps_leading_diverges_when_it_applies_finalize() -> None:
    broken = of_target("impl")["removed_leader_keeps_leading"]
    target = build_impl_target(mutant=broken.name, **broken.bounds)
    try:
        outcome = explore(target, SearchOptions(max_depth=11, symmetry=False, workers=1))
    finally:
        target.close()
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


def test_the_explorer_undoes_its_mutant_when_the_run_is_over(tmp_path: Path) -> None:
    """A mutant patches raft_ref for the whole process: the command undoes it once its
    run is over, whether the run ended in a counterexample or in bad usage."""
    before = {name: vars(Raft)[name] for name in ("hard_state", "handle_append_entries")}
    argv = ["--mutant", "vote_not_persisted", "--max-crashes", "1", "--depth", "3"]
    assert main([*argv, "--workers", "1", "--no-progress", "--out", str(tmp_path)]) == 1
    assert {name: vars(Raft)[name] for name in before} == before
    bad = ["--mutant", "reject_hint_too_high", "--strategy", "dfs", "--workers", "2"]
    assert main([*bad, "--no-progress"]) == 2
    assert {name: vars(Raft)[name] for name in before} == before
