"""Partial-order reduction (sleep sets, checks/engine/expansion.py) over the independence
relation of model/independence.py: two actions it says commute lead to the same states
in either order, each within the bounds after the other; and a search with the reduction
visits exactly the states, verdicts and goal depths of one without, in fewer transitions.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from checks.engine.outcome import SearchOptions, SearchOutcome
from checks.engine.search import explore
from checks.targets.impl_target import ImplTarget, build_impl_target
from checks.targets.model_target import ModelTarget
from model.independence import commute, reduced_successors
from model.params import CHANGE_RULES
from model.state import State, bag_size

# Bounds that switch on every kind of action, with the message bound tight enough to
# matter; each is explored exhaustively below, with and without the reduction.
SHAPES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "faults, pre-vote": {"pre_vote": True, "max_crashes": 1, "max_drops": 1},
    "check quorum, duplicates, reads": {
        "check_quorum": True,
        "max_duplicates": 1,
        "max_reads": 1,
    },
    "compaction, snapshot requests": {
        "max_compactions": 1,
        "max_snapshot_requests": 1,
        "max_client_requests": 2,
        "max_log": 4,
    },
    "every change rule, transfers": {
        "changes": CHANGE_RULES,
        "max_membership_changes": 2,
        "max_transfers": 1,
    },
    "tight message bound": {"max_msgs": 2, "max_drops": 1, "max_duplicates": 1},
}


def _walk_states(p: Any, seed: int, walks: int, steps: int) -> list[State]:
    rng = random.Random(seed)
    met: list[State] = []
    for _ in range(walks):
        state = ModelTarget(nodes=p.nodes).initial_states()[0]
        for _ in range(steps):
            met.append(state)
            groups = reduced_successors(p, state, ())
            if not groups:
                break
            _, afters, _ = rng.choice(groups)
            state = rng.choice(afters)
    return met


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_actions_that_commute_reach_the_same_states_in_either_order(shape: str) -> None:
    """The diamond, checked on every pair the relation accepts in states met along
    seeded walks: each action stays possible after the other, with the same outcomes
    within the bounds, and both orders end in the same states."""
    p = ModelTarget(**SHAPES[shape]).params
    pairs = 0
    for state in _walk_states(p, seed=13, walks=30, steps=20):
        groups = reduced_successors(p, state, ())
        by_action = {action: (afters, foot) for action, afters, foot in groups}
        in_flight = bag_size(state.network)
        for a, (a_afters, a_foot) in by_action.items():
            for b, (b_afters, b_foot) in by_action.items():
                if a == b or not commute(p, in_flight, a_foot, b_foot):
                    continue
                pairs += 1
                a_then_b = set()
                for middle in a_afters:
                    after = {x: afters for x, afters, _ in reduced_successors(p, middle, ())}
                    assert b in after, f"{b} not possible after {a}"
                    assert len(after[b]) == len(b_afters)
                    a_then_b.update(after[b])
                b_then_a = set()
                for middle in b_afters:
                    after = {x: afters for x, afters, _ in reduced_successors(p, middle, ())}
                    assert a in after, f"{a} not possible after {b}"
                    b_then_a.update(after[a])
                assert a_then_b == b_then_a
    assert pairs > 200


def _search(target: Any, **options: Any) -> SearchOutcome:
    return explore(target, SearchOptions(workers=1, **options))


def _figures(outcome: SearchOutcome) -> tuple[Any, ...]:
    violations = [(v.property_name, v.depth) for v in outcome.violations]
    return outcome.distinct_states, outcome.depth_reached, outcome.goals, violations


class Recording(ModelTarget):
    """The model, recording every state whose invariants are checked (each new state)."""

    def __init__(self, **bounds: Any) -> None:
        super().__init__(**bounds)
        self.checked: set[State] = set()
        first = self._properties[0]
        check = first.check

        def recorded(state: State) -> bool:
            self.checked.add(state)
            return bool(check(state))

        self._properties[0] = type(first)(first.name, first.expectation, recorded)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_model_reduced_visits_the_same_states_in_fewer_transitions(shape: str) -> None:
    depth = 10
    plain, reduced = Recording(**SHAPES[shape]), Recording(**SHAPES[shape])
    full = _search(plain, max_depth=depth, symmetry=False, por=False)
    fewer = _search(reduced, max_depth=depth, symmetry=False, por=True)
    assert fewer.por and not full.por
    assert reduced.checked == plain.checked
    assert _figures(fewer) == _figures(full)
    assert fewer.transitions < full.transitions
    # With symmetry the classes are the same too.
    symmetric = _search(ModelTarget(**SHAPES[shape]), max_depth=depth, por=False)
    both = _search(ModelTarget(**SHAPES[shape]), max_depth=depth, por=True)
    assert _figures(both) == _figures(symmetric)
    assert both.transitions < symmetric.transitions


def test_five_nodes_reduced_visit_the_same_states() -> None:
    bounds = {"nodes": 5, "max_msgs": 5}
    for symmetry in (True, False):
        full = _search(ModelTarget(**bounds), max_depth=9, symmetry=symmetry, por=False)
        fewer = _search(ModelTarget(**bounds), max_depth=9, symmetry=symmetry, por=True)
        assert _figures(fewer) == _figures(full)
        assert fewer.transitions < full.transitions


def _impl(shape: str) -> ImplTarget:
    return build_impl_target(**SHAPES[shape])


@pytest.mark.parametrize("shape", ["defaults", "faults, pre-vote", "tight message bound"])
def test_the_implementation_reduced_visits_the_same_states(shape: str) -> None:
    for symmetry in (True, False):
        full = _search(_impl(shape), max_depth=9, symmetry=symmetry, por=False)
        fewer = _search(_impl(shape), max_depth=9, symmetry=symmetry, por=True)
        assert _figures(fewer) == _figures(full), f"symmetry {symmetry}"
        assert fewer.transitions < full.transitions


def test_two_workers_take_the_same_transitions_as_one() -> None:
    """A state reached in one level from two expanders keeps no sleep set, as one
    reached twice in one expander: the split changes nothing."""
    for symmetry in (True, False):
        one = _search(ModelTarget(), max_depth=11, symmetry=symmetry)
        two = explore(ModelTarget(), SearchOptions(max_depth=11, symmetry=symmetry, workers=2))
        assert (*_figures(two), two.transitions) == (*_figures(one), one.transitions)
