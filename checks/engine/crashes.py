"""An exception raised by the target during a search, reported as a finding with its path.

Strategies catch the exception, stop, and hand over the path to the state where it
happened. `internal_error` replays that state's checks and expansion to name the exact
transition (targets are deterministic), so the counterexample ends where the target
failed; if the replay does not raise, the path ends at the state, with the first error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checks.engine.expansion import describe_error
from checks.engine.outcome import Step, Violation
from checks.engine.target import Expectation, Target

INTERNAL_ERROR = "internal error"


def internal_error(
    target: Target[Any, Any], key: Callable[[Any], int], path: list[Step], error: str
) -> Violation:
    """The violation for an exception met at the last state of `path` (or after it)."""
    replayed = _replay(target, key, path[-1][1])
    if replayed is not None:
        step, error = replayed
        if step is not None:
            path = [*path, step]
    return Violation(INTERNAL_ERROR, Expectation.NO_ERROR, path, error=error)


def _replay(target: Target[Any, Any], key: Callable[[Any], int], state: Any) -> Any:
    """(None, error) if checking `state` raises; ((action, after), error) if a transition
    from it does; None if nothing raises again."""
    properties = target.properties()
    state_checks = [p.check for p in properties if p.expectation is not Expectation.ALWAYS_STEP]
    step_checks = [p.check for p in properties if p.expectation is Expectation.ALWAYS_STEP]
    try:
        for check in state_checks:
            check(state)
    except Exception as error:
        return None, describe_error(error)
    try:
        transitions = iter(target.successors(state))
    except Exception as error:
        return None, f"{describe_error(error)}, computing the successors"
    while True:
        try:
            transition = next(transitions, None)
        except Exception as error:
            return None, f"{describe_error(error)}, computing the successors"
        if transition is None:
            return None
        action, after = transition
        try:
            target.action_kind(action)
            for check in step_checks:
                check(state, action, after)
            key(after)
            for check in state_checks:
                check(after)
        except Exception as error:
            return (action, after), describe_error(error)
