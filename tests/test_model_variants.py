"""Negative controls: the explorer finds each broken variant of the model; the correct
model passes the same searches; the default exploration reaches every goal."""

from dataclasses import replace

import pytest

from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.targets.model_target import ModelTarget
from model import invariants as inv
from model.actions import Action, enabled, outcomes
from model.params import Params
from model.state import MsgType, State, initial_state
from model.variants import VARIANT_BOUNDS, with_variant

# variant -> (BFS depth at which the first violation appears, property that fires).
# Bounds: the defaults, with the variant's own (model.variants.VARIANT_BOUNDS).
CAUGHT_FAST = {
    "small_majority": (2, "ElectionSafety"),
    "vote_without_log_check": (9, "LeaderCompleteness"),
    "direct_membership_change": (8, "ConfigurationSafety"),
    "forget_vote_on_restart": (9, "ElectionSafety"),
}


def bfs(target: ModelTarget, depth: int):
    return explore(target, SearchOptions(strategy="bfs", max_depth=depth, symmetry=True))


@pytest.mark.parametrize("variant", sorted(CAUGHT_FAST))
def test_variant_is_caught_by_bfs(variant):
    depth, prop = CAUGHT_FAST[variant]
    outcome = bfs(ModelTarget(variant=variant), depth)
    assert [(v.property_name, v.depth) for v in outcome.violations] == [(prop, depth)]
    # BFS gives a shortest counterexample: one step less finds nothing.
    assert bfs(ModelTarget(variant=variant), depth - 1).violations == []


def caught_by_walks(variant: str, walks: int) -> bool:
    """Whether seeded walks of up to 40 steps within the variant's bounds find it."""
    options = SearchOptions(strategy="random", max_depth=40, walks=walks, seed=0, workers=1)
    return bool(explore(ModelTarget(variant=variant), options).violations)


@pytest.mark.parametrize("variant", sorted(CAUGHT_FAST))
def test_variant_is_caught_by_random_walks(variant):
    assert caught_by_walks(variant, 3000)


@pytest.mark.slow
def test_commit_previous_term_is_caught_by_random_walks():
    # Its path is 19 steps through five terms: about 30,000 walks.
    assert caught_by_walks("commit_previous_term", 30000)


def test_correct_model_passes_the_searches_that_catch_the_variants():
    outcome = bfs(ModelTarget(), 8)
    assert outcome.violations == []
    assert outcome.goals["LeaderElected"] == 3
    assert outcome.goals["ClientEntryCommitted"] == 8


def figure_8(p: Params) -> tuple[State, State]:
    """The Raft paper's Figure 8 with three servers: (state after leader 1 of term 4
    commits, state after server 3 without that entry wins term 5)."""
    state = initial_state(p.nodes, p.spares)

    def act(name: str, *args: object) -> None:
        nonlocal state
        action = Action(name, args)
        assert action in enabled(p, state), f"{name}{args} is not enabled"
        state = outcomes(p, state, action)[0]

    def deliver(mtype: int, src: int, dst: int, term: int) -> None:
        (m,) = [
            m for m, _ in state.network if (m.type, m.src, m.dst, m.term) == (mtype, src, dst, term)
        ]
        act("Deliver", m)

    vote, granted = MsgType.VOTE, MsgType.VOTE_RESP
    append, answer = MsgType.APPEND, MsgType.APPEND_RESP
    act("Timeout", 1)
    deliver(vote, 1, 2, 2)
    deliver(granted, 2, 1, 2)  # 1 leads term 2 with entry A = (index 2, term 2), unsent
    deliver(vote, 1, 3, 2)  # (moves 3 to term 2)
    act("Timeout", 3)
    deliver(vote, 3, 2, 3)
    deliver(granted, 2, 3, 3)  # 3 leads term 3 with B = (index 2, term 3), unsent
    deliver(vote, 3, 1, 3)
    act("Timeout", 1)
    deliver(vote, 1, 2, 4)
    deliver(granted, 2, 1, 4)  # 1 leads term 4: [A, (3, term 4)]
    deliver(append, 1, 2, 4)
    deliver(answer, 2, 1, 4)  # 2 lacks index 2: 1 probes lower, sending A alone
    deliver(append, 1, 2, 4)
    deliver(answer, 2, 1, 4)  # 2 acknowledges index 2
    committed = state
    deliver(vote, 1, 3, 4)
    act("Timeout", 3)
    deliver(vote, 3, 2, 5)  # B's term 3 beats A's term 2
    deliver(granted, 2, 3, 5)  # 3 leads term 5 without A
    return committed, state


def test_figure_8_commits_an_old_entry_only_with_the_broken_rule():
    bounds = replace(Params(), **VARIANT_BOUNDS["commit_previous_term"])
    committed, elected = figure_8(with_variant(bounds, "commit_previous_term"))
    assert committed.servers[0].commit == 2  # entry A, of term 2, by counting replicas
    assert not inv.leader_completeness(bounds, elected)
    committed, elected = figure_8(bounds)
    assert committed.servers[0].commit == 1  # A is of an earlier term: not committed
    assert inv.leader_completeness(bounds, elected)


@pytest.mark.slow
def test_commit_previous_term_is_caught_by_bfs():
    # Under the variant's bounds (five terms): about 112,000 states.
    outcome = bfs(ModelTarget(variant="commit_previous_term"), 19)
    assert [(v.property_name, v.depth) for v in outcome.violations] == [("LeaderCompleteness", 19)]


@pytest.mark.slow
def test_default_exploration_holds_and_reaches_every_goal():
    outcome = bfs(ModelTarget(), 12)
    assert outcome.violations == []
    assert outcome.complete
    assert all(depth is not None and depth <= 12 for depth in outcome.goals.values())
