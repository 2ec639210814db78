"""The correct model passes the searches that catch the broken variants (each variant's
own searches are generated from the table: tests/test_broken_variants.py), the Raft
paper's Figure 8 as a script, and the default exploration reaches every goal."""

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


def bfs(target: ModelTarget, depth: int):
    return explore(target, SearchOptions(strategy="bfs", max_depth=depth, symmetry=True))


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
def test_default_exploration_holds_and_reaches_every_goal():
    outcome = bfs(ModelTarget(), 12)
    assert outcome.violations == []
    assert outcome.complete
    assert all(depth is not None and depth <= 12 for depth in outcome.goals.values())
