"""The step memo (checks/cluster/actions.py): a node state stepped once per event gives
the same exploration as stepping it every time."""

from __future__ import annotations

import pickle

from checks.cluster.actions import StepMemo
from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.targets.impl_target import build_impl_target

BOUNDS = {"max_term": 3, "max_reads": 1, "max_compactions": 1, "max_msgs": 4}


def _run(memo: bool) -> tuple[int, int, list[str], dict[str, int | None]]:
    target = build_impl_target(**BOUNDS)
    if not memo:
        target.memo = None
    outcome = explore(target, SearchOptions(max_depth=9, workers=1))
    violated = [v.property_name for v in outcome.violations]
    return outcome.distinct_states, outcome.transitions, violated, dict(outcome.goals)


def test_the_memo_changes_nothing_explored() -> None:
    assert _run(memo=True) == _run(memo=False)


def test_the_memo_remembers_steps_and_travels_empty() -> None:
    target = build_impl_target(**BOUNDS)
    explore(target, SearchOptions(max_depth=6, workers=1))
    assert target.memo is not None and target.memo.hits > 0 and target.memo.misses > 0
    copy = pickle.loads(pickle.dumps(target.memo))
    assert isinstance(copy, StepMemo) and (copy.hits, copy.misses) == (0, 0)


def test_a_full_memo_starts_again() -> None:
    target = build_impl_target(**BOUNDS)
    target.memo = StepMemo(limit=10)
    explore(target, SearchOptions(max_depth=5, workers=1))
    assert target.memo is not None and len(target.memo._steps) <= 10
