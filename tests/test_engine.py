"""The exploration engine on toy targets with known answers."""

from __future__ import annotations

import gc
import json
from itertools import pairwise
from math import comb
from pathlib import Path
from typing import Any

import pytest

from checks.engine import bfs as bfs_module
from checks.engine.bfs import balance_moves
from checks.engine.counterexample import counterexample_json
from checks.engine.expansion import Expander
from checks.engine.heap import SEARCH_THRESHOLDS
from checks.engine.outcome import SearchOptions
from checks.engine.search import UnsupportedOptions, explore
from checks.engine.summary import RunInfo, format_summary
from checks.engine.target import BaseTarget, Expectation, Property
from checks.engine.visited import skipping_exact_repeats
from checks.trace.write import write_counterexample
from tests.test_engine_toys import ClockTarget, CounterTarget, TokensTarget, reachable


def run(target, **options):
    return explore(target, SearchOptions(**options))


# --- BFS ------------------------------------------------------------------------------


def test_bfs_finds_the_shortest_counterexample():
    outcome = run(CounterTarget(3), max_depth=20)
    assert [v.property_name for v in outcome.violations] == ["not_both_full"]
    violation = outcome.violations[0]
    assert violation.expectation is Expectation.ALWAYS
    assert violation.depth == 6
    assert violation.path[0] == (None, (0, 0))
    assert violation.path[-1][1] == (3, 3)
    # A real path: each step is one of the target's transitions.
    target = CounterTarget(3)
    for (_, before), (action, after) in pairwise(violation.path):
        assert (action, after) in list(target.successors(before))
    assert not outcome.complete
    assert outcome.invariants == {"x_within_limit": "holds", "not_both_full": "violated"}


def test_bfs_explores_exactly_the_states_within_the_depth_bound():
    for depth in range(8):
        outcome = run(CounterTarget(3, bad=False), max_depth=depth)
        assert outcome.distinct_states == len(reachable(CounterTarget(3), depth))
        assert outcome.depth_reached == min(depth, 6)
        assert outcome.complete
        assert outcome.exhausted == (depth > 6)
        assert not outcome.violations


def test_bfs_counts_coverage_per_action_kind():
    outcome = run(CounterTarget(3, bad=False), max_depth=20)
    # IncX is enabled in the 12 states with x < 3 (likewise IncY); each of the 15
    # states besides the initial one is new exactly once.
    assert outcome.coverage["IncX"].transitions == 12
    assert outcome.coverage["IncY"].transitions == 12
    assert outcome.transitions == 24
    assert sum(c.new_states for c in outcome.coverage.values()) == 15
    # Each level lists states with larger x first, so (x, y) with y > 0 is first found
    # from (x, y - 1) by IncY; only (1, 0), (2, 0), (3, 0) are new by IncX.
    assert outcome.coverage["IncX"].new_states == 3
    assert outcome.coverage["IncY"].new_states == 12


def test_bfs_records_the_depth_goals_are_first_reached():
    outcome = run(CounterTarget(3, bad=False), max_depth=20)
    assert outcome.goals == {"x_is_two": 2, "never_reached": None}
    shallow = run(CounterTarget(3, bad=False), max_depth=1)
    assert shallow.goals["x_is_two"] is None


def test_bfs_checks_step_invariants_on_every_transition():
    outcome = run(ClockTarget(top=5, glitch_at=3), max_depth=10)
    violation = outcome.violations[0]
    assert violation.property_name == "never_goes_back"
    assert violation.expectation is Expectation.ALWAYS_STEP
    assert violation.depth == 4
    assert [a for a, _ in violation.path] == [None, "Tick", "Tick", "Tick", "Glitch"]


def test_step_invariant_is_checked_even_into_visited_states():
    # Glitch leads back to state 1, already visited at depth 1.
    outcome = run(ClockTarget(top=5, glitch_at=3), max_depth=10, strategy="dfs")
    assert outcome.violations[0].path[-1] == ("Glitch", 1)


def test_keep_going_reports_each_property_once_and_finishes():
    target = CounterTarget(2)
    outcome = run(target, max_depth=20, keep_going=True)
    assert [v.property_name for v in outcome.violations] == ["not_both_full"]
    assert outcome.complete
    assert outcome.distinct_states == 9


# --- symmetry -------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_symmetry_reduces_to_the_count_of_multisets(strategy):
    with_symmetry = run(TokensTarget(4, 2), max_depth=20, strategy=strategy)
    without = run(TokensTarget(4, 2), max_depth=20, strategy=strategy, symmetry=False)
    assert without.distinct_states == 3**4
    assert with_symmetry.distinct_states == comb(4 + 2, 4)
    assert with_symmetry.goals["all_top"] == without.goals["all_top"] == 8


# --- DFS and random walks -------------------------------------------------------------


def test_dfs_visits_the_same_states_as_bfs_within_the_bound():
    for depth in (0, 2, 4, 9):
        bfs = run(TokensTarget(3, 3), max_depth=depth, symmetry=False)
        dfs = run(TokensTarget(3, 3), max_depth=depth, symmetry=False, strategy="dfs")
        assert dfs.distinct_states == bfs.distinct_states
        assert dfs.depth_reached == bfs.depth_reached
        assert dfs.exhausted == bfs.exhausted


def test_dfs_finds_the_counterexample_as_a_real_path():
    outcome = run(CounterTarget(3), max_depth=20, strategy="dfs")
    violation = outcome.violations[0]
    assert violation.property_name == "not_both_full"
    assert violation.path[-1][1] == (3, 3)
    target = CounterTarget(3)
    for (_, before), (action, after) in pairwise(violation.path):
        assert (action, after) in list(target.successors(before))


def test_random_walks_find_the_counterexample():
    outcome = run(CounterTarget(2), max_depth=4, strategy="random", walks=5, seed=7)
    violation = outcome.violations[0]
    assert violation.property_name == "not_both_full"
    assert violation.depth == 4
    assert not outcome.complete


def test_random_walks_find_a_step_violation():
    outcome = run(ClockTarget(), max_depth=6, strategy="random", walks=50, seed=1)
    assert outcome.violations[0].property_name == "never_goes_back"
    assert outcome.violations[0].path[-1][0] == "Glitch"


def test_random_walks_are_a_function_of_the_seed():
    first = run(TokensTarget(5, 4), max_depth=10, strategy="random", walks=20, seed=3)
    again = run(TokensTarget(5, 4), max_depth=10, strategy="random", walks=20, seed=3)
    other = run(TokensTarget(5, 4), max_depth=10, strategy="random", walks=20, seed=4)
    assert format_summary(first).splitlines()[1:5] == format_summary(again).splitlines()[1:5]
    assert first.coverage == again.coverage
    assert first.distinct_states != other.distinct_states or first.goals != other.goals


# --- workers --------------------------------------------------------------------------


def test_two_workers_find_the_same_states_as_one():
    one = run(TokensTarget(4, 3), max_depth=9, symmetry=False)
    two = run(TokensTarget(4, 3), max_depth=9, symmetry=False, workers=2)
    assert two.distinct_states == one.distinct_states
    assert two.transitions == one.transitions
    assert two.depth_reached == one.depth_reached
    assert two.goals == one.goals
    assert {k: c.transitions for k, c in two.coverage.items()} == {
        k: c.transitions for k, c in one.coverage.items()
    }
    assert two.workers == 2
    assert two.bytes_per_state > 0


def test_two_workers_find_a_shortest_counterexample():
    outcome = run(CounterTarget(3), max_depth=20, workers=2)
    violation = outcome.violations[0]
    assert violation.depth == 6
    assert violation.path[-1][1] == (3, 3)
    step = run(ClockTarget(), max_depth=10, workers=2)
    assert [a for a, _ in step.violations[0].path] == [None, "Tick", "Tick", "Tick", "Glitch"]


def test_random_walks_in_workers_give_the_same_first_violation():
    one = run(CounterTarget(3), max_depth=8, strategy="random", walks=40, seed=2)
    two = run(CounterTarget(3), max_depth=8, strategy="random", walks=40, seed=2, workers=2)
    assert two.violations[0].path == one.violations[0].path


def test_dfs_refuses_workers():
    with pytest.raises(UnsupportedOptions):
        run(CounterTarget(), strategy="dfs", workers=2)


# --- counterexample files -------------------------------------------------------------


def test_counterexample_file_lists_every_step(tmp_path: Path):
    target = ClockTarget()
    outcome = run(target, max_depth=10)
    info = RunInfo(target="clock", bounds={"top": 5}, seed=0, command="explore clock")
    path = write_counterexample(tmp_path / "traces", target, info, outcome.violations[0])
    document = json.loads(path.read_text())
    assert document == counterexample_json(target, info, outcome.violations[0])
    assert document["property"] == "never_goes_back"
    assert document["kind"] == "always_step"
    assert document["command"] == "explore clock"
    assert document["bounds"] == {"top": 5}
    assert document["steps"][0] == {"action": None, "kind": None, "state": {"clock": 0}}
    assert document["steps"][-1] == {"action": "Glitch", "kind": "Glitch", "state": {"clock": 1}}
    assert len(document["steps"]) == 5


class FailingTarget(CounterTarget):
    """A counter whose successors raise at (2, 0): a bug in a target, not a finding."""

    def successors(self, state):
        if state == (2, 0):
            raise RuntimeError("broken target")
        return super().successors(state)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"workers": 2},
        {"strategy": "dfs"},
        {"strategy": "random", "walks": 50},
        {"strategy": "random", "walks": 50, "workers": 2},
    ],
    ids=["bfs", "bfs-2-workers", "dfs", "random", "random-2-workers"],
)
def test_an_exception_in_the_target_is_an_internal_error_with_its_path(options):
    target = FailingTarget(3, bad=False)
    outcome = run(target, max_depth=10, **options)
    [error] = outcome.violations
    assert error.expectation is Expectation.NO_ERROR
    assert error.property_name == "internal error"
    assert error.error is not None and error.error.startswith("RuntimeError: broken target")
    assert "computing the successors" in error.error
    assert error.path[0] == (None, (0, 0)) and error.path[-1][1] == (2, 0)
    for (_, before), (action, after) in pairwise(error.path):
        assert (action, after) in list(CounterTarget(3).successors(before))
    assert not outcome.complete


class RaisingCheckTarget(CounterTarget):
    """A counter whose invariant raises on (1, 2): reached at depth 3."""

    def properties(self):
        def check(state):
            if state == (1, 2):
                raise ValueError("invariant code failed")
            return True

        return [*super().properties(), Property("fragile", Expectation.ALWAYS, check)]


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_an_exception_in_a_property_names_the_transition_into_the_state(strategy):
    outcome = run(RaisingCheckTarget(3, bad=False), max_depth=10, strategy=strategy)
    [error] = outcome.violations
    assert error.expectation is Expectation.NO_ERROR
    assert error.error is not None and error.error.startswith("ValueError: invariant code failed")
    assert error.path[-1][1] == (1, 2)
    assert error.depth == 3 if strategy == "bfs" else error.depth >= 3


def test_an_internal_error_is_written_like_a_counterexample(tmp_path: Path):
    outcome = run(FailingTarget(3, bad=False), max_depth=10)
    info = RunInfo(target="counter", nodes=None, command="explore")
    document = counterexample_json(FailingTarget(3, bad=False), info, outcome.violations[0])
    assert document["kind"] == "internal_error"
    assert document["error"].startswith("RuntimeError: broken target")
    assert [step["state"] for step in document["steps"]][-1] == {"x": 2, "y": 0}
    assert "INTERNAL ERROR in the target: RuntimeError: broken target" in format_summary(outcome)


def test_two_workers_keep_going_and_apply_symmetry():
    outcome = run(TokensTarget(4, 2), max_depth=20, workers=2, keep_going=True)
    assert outcome.distinct_states == comb(4 + 2, 4)
    assert outcome.exhausted
    both = run(CounterTarget(2), max_depth=20, workers=2, keep_going=True)
    assert [v.property_name for v in both.violations] == ["not_both_full"]
    assert both.distinct_states == 9
    assert both.complete


def test_exact_repeats_skip_the_symmetric_fingerprint():
    computed = []

    def symmetric(state):
        computed.append(state)
        return hash(tuple(sorted(state)))

    seen: set[int] = set()
    key = skipping_exact_repeats(hash, symmetric, seen)
    assert key((1, 0)) == key((0, 1)) == hash((0, 1))
    assert key((1, 0)) is None  # met before: its class is known
    assert computed == [(1, 0), (0, 1)]
    assert seen == {hash((1, 0)), hash((0, 1))}


def test_balance_moves_give_the_excess_to_those_short():
    assert balance_moves([200, 0]) == [(0, 1, 100)]
    assert balance_moves([0, 300, 0]) == [(1, 0, 100), (1, 2, 100)]
    assert balance_moves([100, 90]) == []  # within the slack: not worth pickling
    assert balance_moves([0, 0]) == []


def test_states_moved_between_workers_keep_their_paths(monkeypatch):
    # Without slack every level is rebalanced, so states and parents cross processes.
    monkeypatch.setattr(bfs_module, "BALANCE_SLACK", 0)
    one = run(TokensTarget(4, 3), max_depth=12, symmetry=False)
    two = run(TokensTarget(4, 3), max_depth=12, symmetry=False, workers=2)
    assert two.distinct_states == one.distinct_states == 4**4
    assert two.goals == one.goals == {"all_top": 12}
    assert sum(c.new_states for c in two.coverage.values()) == 4**4 - 1
    found = run(CounterTarget(3), max_depth=20, workers=2)
    assert found.violations[0].depth == 6
    target = CounterTarget(3)
    path = found.violations[0].path
    for (_, before), (action, after) in pairwise(path):
        assert (action, after) in list(target.successors(before))
    step = run(ClockTarget(), max_depth=10, workers=2)
    assert [a for a, _ in step.violations[0].path] == [None, "Tick", "Tick", "Tick", "Glitch"]


@pytest.mark.parametrize("symmetry", [True, False])
def test_random_walk_coverage_is_exact_with_two_workers(symmetry):
    from checks.targets.model_target import ModelTarget

    target = ModelTarget(nodes=3)
    options = {"strategy": "random", "walks": 60, "max_depth": 12, "symmetry": symmetry}
    one = run(target, **options)
    two = run(target, workers=2, **options)
    initial = len({target.fingerprint(s) for s in target.initial_states()})
    for outcome in (one, two):
        # Each distinct state is new once: the initial ones by no action, the rest by one.
        assert sum(c.new_states for c in outcome.coverage.values()) == (
            outcome.distinct_states - initial
        )
    assert two.distinct_states == one.distinct_states
    assert two.transitions == one.transitions
    assert two.coverage == one.coverage
    assert two.goals == one.goals


def test_the_fingerprint_table_is_a_set_of_at_most_16_bytes_a_key():
    import random

    from checks.engine.visited import FingerprintTable, table_key

    rng = random.Random(5)
    keys = [table_key(rng.getrandbits(64)) for _ in range(30_000)] + [table_key(0)]
    table = FingerprintTable()
    reference: set[int] = set()
    for key in keys + keys[:500]:
        assert table.add(key) == (key not in reference)
        reference.add(key)
    assert len(table) == len(reference)
    assert all(key in table for key in reference)
    assert table_key(rng.getrandbits(64)) not in table
    assert table.nbytes / len(table) <= 16
    assert sorted(table.keys()) == sorted(reference)


def test_the_parent_log_finds_a_chain_across_blocks_and_flushes(monkeypatch, tmp_path: Path):
    from array import array

    from checks.engine import visited

    monkeypatch.setattr(visited, "SCAN_PAIRS", 3)
    monkeypatch.setattr(visited, "BUFFER_PAIRS", 2)
    log = visited.ParentLog(tmp_path / "parents.bin")
    # 1 is initial; 2..40 each the child of the one before; 1000 + i are noise whose
    # parents equal chain keys (a parent must never be taken for a key).
    for key in range(1, 41):
        log.extend(array("Q", [key, max(1, key - 1), 1000 + key, key]))
    assert log.chain(40) == list(range(1, 41))
    assert log.chain(1003) == [1, 2, 3, 1003]
    log.truncate(4)
    assert len(log) == 4
    with pytest.raises(KeyError):
        log.chain(40)


def test_the_depth_table_keeps_the_least_depth_through_growth():
    from checks.engine.visited import NEARER_NOW, NEW, SEEN_NEARER, DepthTable, table_key

    table = DepthTable()
    keys = [table_key(k * 0x9E37_79B9_7F4A_7C15) for k in range(1, 20_001)]
    assert all(table.visit(key, 9) == NEW for key in keys)
    assert table.visit(keys[0], 9) == SEEN_NEARER
    assert table.visit(keys[0], 3) == NEARER_NOW
    assert table.visit(keys[0], 5) == SEEN_NEARER
    assert table.deepest() == 9 and len(table) == len(keys)
    assert table.nbytes / len(table) <= 20


class _Countdown(BaseTarget[int, str]):
    """The smallest target: the required core only."""

    def initial_states(self) -> list[int]:
        return [3]

    def successors(self, state: int) -> list[tuple[str, int]]:
        return [("tick", state - 1)] if state > 0 else []

    def properties(self) -> list[Property[int, str]]:
        return [Property("Reaches0", Expectation.SOMETIMES, lambda s: s == 0)]


def test_a_target_of_the_required_core_alone_runs_on_every_strategy() -> None:
    for strategy in ("bfs", "dfs", "random"):
        outcome = explore(_Countdown(), SearchOptions(strategy=strategy, max_depth=5, workers=1))
        assert outcome.distinct_states == 4 and outcome.goals["Reaches0"] == 3, strategy


class ThresholdsSeen(CounterTarget):
    """A counter that records the collector's thresholds while it is explored."""

    def __init__(self) -> None:
        super().__init__(limit=3, bad=False)
        self.seen: set[tuple[int, int, int]] = set()

    def successors(self, state: tuple[int, int]) -> Any:
        self.seen.add(gc.get_threshold())
        return super().successors(state)


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "random"])
def test_a_search_collects_less_often_and_restores_the_thresholds(strategy: str) -> None:
    before = gc.get_threshold()
    target = ThresholdsSeen()
    explore(target, SearchOptions(strategy=strategy, max_depth=6, walks=2, seed=1))
    assert target.seen == {SEARCH_THRESHOLDS}
    assert gc.get_threshold() == before != SEARCH_THRESHOLDS


@pytest.mark.parametrize(
    ("strategy", "workers"), [("bfs", 1), ("bfs", 2), ("dfs", 1), ("random", 1)]
)
def test_a_finished_search_leaves_no_reference_cycles(strategy: str, workers: int) -> None:
    """Everything a search made is freed when it returns, without waiting for a full
    collection (which a search puts off, and which then walks every state left)."""
    gc.collect()
    gc.disable()
    try:
        explore(
            TokensTarget(n=3, top=3),
            SearchOptions(strategy=strategy, max_depth=6, workers=workers, walks=5),
        )
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []


@pytest.mark.parametrize("disk", [False, True])
def test_each_answer_counts_the_states_it_added_to_the_frontier(tmp_path: Path, disk: bool):
    """The search sums the answers of `accept` and `receive` into the frontier's size: a
    state given away counts once, at its receiver."""
    options = SearchOptions(disk=str(tmp_path) if disk else None)
    giver, taker = Expander(TokensTarget(3, 2), options), Expander(TokensTarget(3, 2), options)
    giver.propose_initial()
    taker.propose_initial()
    given = giver.accept([], [[0]], depth=0)
    kept = taker.accept([0], [], depth=0)
    received = taker.receive(given.shipped, depth=0)
    assert (given.frontier, kept.frontier, received.frontier) == (0, 1, 1)
    assert len(taker.frontier) == 2 and len(giver.frontier) == 0
