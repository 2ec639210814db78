"""Rebuilding a counterexample path from stored fingerprints.

Searches keep only fingerprints (and, for BFS, each state's parent fingerprint). A path
is recovered the way Stateright does it: start from the initial state with the first
fingerprint and, at each step, re-run `successors` to find the state with the next one.
Re-running the target costs depth x branching calls, nothing next to the search.

With symmetry on, a fingerprint names a class of states equal up to renaming of server
ids; the replayed states are then real states of one consistent execution, possibly with
the servers named differently from the states the search first met.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from checks.engine.outcome import Step
from checks.engine.target import Target

Fingerprint = Callable[[Any], int]
# Chooses the last transition of a path: (state before, action, state after) -> chosen.
FinalStep = Callable[[Any, Any, Any], bool]


class ReplayError(RuntimeError):
    """The target did not reproduce a stored path: it is not deterministic."""


def rebuild_path(
    target: Target[Any, Any],
    fingerprint: Fingerprint,
    chain: Sequence[int],
    final: Sequence[FinalStep] = (),
) -> list[Step]:
    """The path through states with fingerprints `chain` (initial state first).

    When `final` is given, one more transition is appended: the first successor of the
    last state accepted by `final[0]`, else by `final[1]`, and so on.
    """
    state = _initial_with(target, fingerprint, chain[0])
    path: list[Step] = [(None, state)]
    for wanted in chain[1:]:
        for action, after in target.successors(state):
            if fingerprint(after) == wanted:
                path.append((action, after))
                state = after
                break
        else:
            raise ReplayError(f"no successor of step {len(path) - 1} has the stored fingerprint")
    if final:
        path.append(_choose_final(target, state, final))
    return path


def _initial_with(target: Target[Any, Any], fingerprint: Fingerprint, wanted: int) -> Any:
    for state in target.initial_states():
        if fingerprint(state) == wanted:
            return state
    raise ReplayError("no initial state has the stored fingerprint")


def _choose_final(target: Target[Any, Any], state: Any, final: Sequence[FinalStep]) -> Step:
    transitions = list(target.successors(state))
    for accept in final:
        for action, after in transitions:
            if accept(state, action, after):
                return (action, after)
    raise ReplayError("no successor of the last state matches the violation")
