"""What the exploration engine explores: any system described by a `Target`.

The model of the protocol (`model/`) and a cluster of real `raft_ref` nodes are
two targets; the engine knows nothing else about either. This is the contract
between them, in the spirit of Stateright's `Model` trait.

`BaseTarget` gives every member a default but the required core (`initial_states`,
`successors`, `properties`); the model and the implementation target build on it.
Optional members the engine and `python -m checks.explore` use when a target has them
(read with `getattr`, so a target without them still conforms):
- `symmetry_sound: bool` (default True): False when renaming server ids may change the
  outcome (then `--symmetry` is off by default and the command warns when it is forced).
- `asymmetry() -> str | None`: a probe of the code in use, run before a search with
  symmetry: what it saw treat ids differently, or None (then symmetry stays on).
- `bounds: Mapping[str, int]`: the bounds in use (`max_term`, `max_log`, ...), printed at
  the start of every run and written to the summary and counterexamples.
- `explain_step(property_name, before, action, after) -> dict | None`: for a violated
  step invariant, what the target can say about that step (written to the counterexample
  and its viewer, printed under the summary).
- `sample_successor(state, rng) -> (action, state) | None`: one successor drawn with
  `rng`, without computing the others (random walks use it when present).
- `reduced_successors(state, asleep) -> [(action, [state, ...], footprint)]` and
  `sleep_filter(state) -> (footprint, entries) -> entries`: partial-order reduction
  (expansion.py). The first gives `successors` grouped by action, without the actions in
  `asleep`, each with its footprint (None: it commutes with nothing); the second a
  function that keeps, of (action, footprint) entries possible in `state`, those that
  commute there with an action of that footprint. The model and the implementation
  target give both, over `model/independence.py`.
- `close()`: undoes what building the target changed in the process (a mutant patched
  into `raft_ref`); `python -m checks.explore` calls it once the run is over
  (`close_target`), and so must any other code that builds such a target.
Targets must be usable from forked worker processes, and their states picklable
(`--workers` ships states between processes).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

State = TypeVar("State")
Action = TypeVar("Action", bound=Hashable)


class Expectation(Enum):
    """How a property is judged over an exploration."""

    ALWAYS = "always"  # must hold in every reachable state: an invariant
    ALWAYS_STEP = "always_step"  # must hold for every transition (before, action, after)
    SOMETIMES = "sometimes"  # must hold in some reachable state: a reachability goal
    # Implied for every target, never declared: its code raises no exception. A search
    # reports an exception as a violation of this kind, with the path that led to it.
    NO_ERROR = "internal_error"


@dataclass(frozen=True)
class Property(Generic[State, Action]):
    """A named safety invariant, step invariant or reachability goal.

    `check` takes one state for ALWAYS and SOMETIMES, and `(before, action, after)`
    for ALWAYS_STEP. It returns True when the property holds there.
    """

    name: str
    expectation: Expectation
    check: Callable[..., bool]
    description: str = ""


class Target(Protocol[State, Action]):
    """A transition system the engine can explore."""

    name: str

    def initial_states(self) -> Sequence[State]:
        """The states exploration starts from."""
        ...

    def successors(self, state: State) -> Iterable[tuple[Action, State]]:
        """Each enabled action (within the target's bounds) with the state it leads to."""
        ...

    def fingerprint(self, state: State) -> int:
        """A 64-bit value equal for equal states (and, with high probability, only those)."""
        ...

    def symmetric_fingerprint(self, state: State) -> int:
        """Like `fingerprint`, but equal for states that differ only by a renaming of
        server ids. Targets without symmetry return `fingerprint(state)`."""
        ...

    def properties(self) -> Sequence[Property[State, Action]]:
        """Invariants, step invariants and goals checked during exploration."""
        ...

    def action_kind(self, action: Action) -> str:
        """A short name for the kind of `action` (e.g. "Timeout"), for coverage."""
        ...

    def format_action(self, action: Action) -> str:
        """A one-line human description of `action` with its parameters."""
        ...

    def describe_state(self, state: State) -> dict[str, Any]:
        """A JSON-ready description of `state`, for counterexample traces."""
        ...


_MASK64 = (1 << 64) - 1


class BaseTarget(Generic[State, Action]):
    """A `Target` from its required core — `initial_states`, `successors` and
    `properties` — with defaults for everything else: states fingerprinted by their
    hash, no symmetry, actions named by their `name` attribute (or type) and shown by
    `str`, states described as `{"state": repr(state)}`, no bounds, no explanation of a
    step, random walks drawing from all successors."""

    name = "target"
    symmetry_sound = False
    bounds: Mapping[str, object] = {}

    def initial_states(self) -> Sequence[State]:
        raise NotImplementedError

    def successors(self, state: State) -> Iterable[tuple[Action, State]]:
        raise NotImplementedError

    def properties(self) -> Sequence[Property[State, Action]]:
        raise NotImplementedError

    def fingerprint(self, state: State) -> int:
        return hash(state) & _MASK64

    def symmetric_fingerprint(self, state: State) -> int:
        return self.fingerprint(state)

    def action_kind(self, action: Action) -> str:
        return str(getattr(action, "name", type(action).__name__))

    def format_action(self, action: Action) -> str:
        return str(action)

    def describe_state(self, state: State) -> dict[str, Any]:
        return {"state": repr(state)}

    def explain_step(
        self, property_name: str, before: State, action: Action, after: State
    ) -> dict[str, Any] | None:
        return None

    def sample_successor(self, state: State, rng: random.Random) -> tuple[Action, State] | None:
        choices = list(self.successors(state))
        return rng.choice(choices) if choices else None


def close_target(target: object) -> None:
    """Calls the target's `close` when it has one (see the module's docstring)."""
    close = getattr(target, "close", None)
    if callable(close):
        close()
