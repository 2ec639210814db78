"""Shrinking a counterexample: delta debugging (Zeller's ddmin) over its actions, then
single-action removals until none can go, gives a locally minimal trace: removing any
one more action makes it either impossible to replay or no longer failing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from checks.engine.target import Property
from checks.trace.document import Trace
from checks.trace.encoding import trace_from_path
from checks.trace.replay import (
    Follower,
    ReplayError,
    build_target,
    find_property,
    first_failure,
    initial_state_of,
    replay,
)


class _Judge:
    """Decides whether a sequence of actions still fails the property."""

    def __init__(self, follower: Follower, prop: Property[Any, Any]) -> None:
        self.follower = follower
        self.prop = prop
        self.tests = 0

    def failing_prefix(self, actions: Sequence[str]) -> list[str] | None:
        """`actions` cut after the step where the property first fails, or None when
        they cannot be followed or never fail."""
        self.tests += 1
        path = self.follower.follow(actions)
        if isinstance(path, int):
            return None
        failed = first_failure(self.prop, path)
        return None if failed is None else list(actions[:failed])


def ddmin(actions: list[str], judge: _Judge) -> list[str]:
    current = actions
    chunks = 2
    while len(current) >= 2:
        size = -(-len(current) // chunks)  # ceil
        parts = [current[k : k + size] for k in range(0, len(current), size)]
        for k in range(len(parts)):
            complement = [a for j, part in enumerate(parts) if j != k for a in part]
            smaller = judge.failing_prefix(complement)
            if smaller is not None:
                current = smaller
                chunks = max(chunks - 1, 2)
                break
        else:
            if chunks >= len(current):
                break
            chunks = min(len(current), chunks * 2)
    return current


def one_minimal(actions: list[str], judge: _Judge) -> list[str]:
    current = actions
    k = 0
    while k < len(current):
        smaller = judge.failing_prefix(current[:k] + current[k + 1 :])
        if smaller is not None:
            current = smaller
            k = 0
        else:
            k += 1
    return current


def shrink(trace: Trace) -> tuple[Trace, int]:
    """A locally minimal trace failing the same property; and the number of replays."""
    meta = trace.meta
    if meta.property is None:
        raise ReplayError("the trace records no violated property (#meta.property)")
    target = build_target(meta)
    # A trace that does not reproduce (edited, or from another version) is refused: a
    # shrunk trace must stand for the same failure as its input.
    checked = replay(trace)
    if not checked.reproduced:
        raise ReplayError(f"refusing to shrink a trace that does not replay: {checked.message}")
    prop = find_property(target, meta.property.name)
    follower = Follower(target, initial_state_of(target, trace))
    judge = _Judge(follower, prop)
    start = judge.failing_prefix([step.action for step in trace.steps[1:]])
    if start is None:
        raise ReplayError(f"the trace does not fail {meta.property.name} on replay")
    actions = one_minimal(ddmin(start, judge), judge)
    path = follower.follow(actions)
    assert not isinstance(path, int)  # judged followable above
    shrunk_meta = replace(meta, source="checks.trace shrink", violation_step=len(actions))
    return trace_from_path(target, path, shrunk_meta), judge.tests
