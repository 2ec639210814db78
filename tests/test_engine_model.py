"""The engine on the real model (small depths, so the default run stays fast)."""

from __future__ import annotations

from itertools import pairwise

from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.targets.model_target import ModelTarget

DEPTH = 5


def test_bfs_dfs_and_two_workers_agree_on_the_model():
    target = ModelTarget(nodes=3)
    bfs = explore(target, SearchOptions(max_depth=DEPTH))
    dfs = explore(target, SearchOptions(max_depth=DEPTH, strategy="dfs"))
    two = explore(target, SearchOptions(max_depth=DEPTH, workers=2))
    assert bfs.distinct_states == dfs.distinct_states == two.distinct_states
    assert bfs.transitions == two.transitions
    assert bfs.goals == two.goals
    assert not bfs.violations and not dfs.violations and not two.violations
    assert bfs.goals["LeaderElected"] is not None


def test_symmetry_reduces_the_model_states():
    target = ModelTarget(nodes=3)
    reduced = explore(target, SearchOptions(max_depth=DEPTH, symmetry=True))
    full = explore(target, SearchOptions(max_depth=DEPTH, symmetry=False))
    assert reduced.distinct_states < full.distinct_states
    assert reduced.goals == full.goals


def test_a_broken_variant_is_found_with_a_replayable_path():
    target = ModelTarget(nodes=3, variant="small_majority")
    outcome = explore(target, SearchOptions(max_depth=DEPTH))
    [violation] = outcome.violations
    assert violation.property_name == "ElectionSafety"
    assert violation.depth == 2
    for (_, before), (action, after) in pairwise(violation.path):
        assert (action, after) in list(target.successors(before))
    failing = {p.name: p.check for p in target.properties()}["ElectionSafety"]
    assert not failing(violation.path[-1][1])
