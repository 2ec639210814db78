"""Small transition systems with known answers, for testing the exploration engine.

Each toy is a `Target` whose state count, shortest counterexample and coverage can be
worked out by hand; the tests at the bottom check the toys themselves by brute force.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import comb
from typing import Any

from checks.engine.target import Expectation, Property


class CounterTarget:
    """Two counters x, y in 0..limit; actions IncX and IncY.

    (limit + 1)^2 states; within depth d, the states with x + y <= d. With `bad` the
    invariant "not_both_full" fails at (limit, limit), first reachable at depth 2 * limit.
    Goal "x_is_two" is first reached at depth 2.
    """

    name = "counter"

    def __init__(self, limit: int = 3, bad: bool = True) -> None:
        self.limit = limit
        self.bad = bad
        self.bounds = {"limit": limit}

    def initial_states(self) -> list[tuple[int, int]]:
        return [(0, 0)]

    def successors(self, state: tuple[int, int]) -> Iterator[tuple[tuple[str], tuple[int, int]]]:
        x, y = state
        if x < self.limit:
            yield ("IncX",), (x + 1, y)
        if y < self.limit:
            yield ("IncY",), (x, y + 1)

    def fingerprint(self, state: tuple[int, int]) -> int:
        return hash(state) & 0xFFFF_FFFF_FFFF_FFFF

    def symmetric_fingerprint(self, state: tuple[int, int]) -> int:
        return self.fingerprint(state)

    def properties(self) -> list[Property[Any, Any]]:
        props: list[Property[Any, Any]] = [
            Property("x_within_limit", Expectation.ALWAYS, lambda s: s[0] <= self.limit),
            Property("x_is_two", Expectation.SOMETIMES, lambda s: s[0] == 2),
            Property("never_reached", Expectation.SOMETIMES, lambda s: s[0] > self.limit),
        ]
        if self.bad:
            full = (self.limit, self.limit)
            props.append(Property("not_both_full", Expectation.ALWAYS, lambda s: s != full))
        return props

    def action_kind(self, action: tuple[str]) -> str:
        return action[0]

    def format_action(self, action: tuple[str]) -> str:
        return action[0]

    def describe_state(self, state: tuple[int, int]) -> dict[str, Any]:
        return {"x": state[0], "y": state[1]}


class TokensTarget:
    """`n` interchangeable tokens, each with a level 0..top; action Raise(i).

    (top + 1)^n states; up to renaming of tokens, the multisets of levels:
    C(n + top, n). Symmetry is sound: properties only look at the multiset.
    """

    name = "tokens"
    symmetry_sound = True

    def __init__(self, n: int = 3, top: int = 2) -> None:
        self.n = n
        self.top = top
        self.bounds = {"tokens": n, "top": top}

    def initial_states(self) -> list[tuple[int, ...]]:
        return [(0,) * self.n]

    def successors(self, state: tuple[int, ...]) -> Iterator[tuple[tuple[str, int], Any]]:
        for i, level in enumerate(state):
            if level < self.top:
                yield ("Raise", i), (*state[:i], level + 1, *state[i + 1 :])

    def fingerprint(self, state: tuple[int, ...]) -> int:
        return hash(state) & 0xFFFF_FFFF_FFFF_FFFF

    def symmetric_fingerprint(self, state: tuple[int, ...]) -> int:
        return hash(tuple(sorted(state))) & 0xFFFF_FFFF_FFFF_FFFF

    def properties(self) -> list[Property[Any, Any]]:
        return [
            Property("total_within", Expectation.ALWAYS, lambda s: sum(s) <= self.n * self.top),
            Property("all_top", Expectation.SOMETIMES, lambda s: min(s) == self.top),
        ]

    def action_kind(self, action: tuple[str, int]) -> str:
        return action[0]

    def format_action(self, action: tuple[str, int]) -> str:
        return f"Raise({action[1]})"

    def describe_state(self, state: tuple[int, ...]) -> dict[str, Any]:
        return {"levels": list(state)}


class ClockTarget:
    """A clock 0..top that ticks up; at `glitch_at` a Glitch action sets it back to 1.

    The step invariant "never_goes_back" fails on the Glitch transition, first at depth
    glitch_at + 1 (glitch_at ticks, then the glitch).
    """

    name = "clock"

    def __init__(self, top: int = 5, glitch_at: int = 3) -> None:
        self.top = top
        self.glitch_at = glitch_at
        self.bounds = {"top": top}

    def initial_states(self) -> list[int]:
        return [0]

    def successors(self, state: int) -> Iterator[tuple[str, int]]:
        if state < self.top:
            yield "Tick", state + 1
        if state == self.glitch_at:
            yield "Glitch", 1

    def fingerprint(self, state: int) -> int:
        return state * 0x9E37_79B9_7F4A_7C15 & 0xFFFF_FFFF_FFFF_FFFF

    def symmetric_fingerprint(self, state: int) -> int:
        return self.fingerprint(state)

    def properties(self) -> list[Property[Any, Any]]:
        return [
            Property(
                "never_goes_back",
                Expectation.ALWAYS_STEP,
                lambda before, _a, after: after >= before,
            ),
            Property("reaches_top", Expectation.SOMETIMES, lambda s: s == self.top),
        ]

    def action_kind(self, action: str) -> str:
        return action

    def format_action(self, action: str) -> str:
        return action

    def describe_state(self, state: int) -> dict[str, Any]:
        return {"clock": state}


def reachable(target: Any, depth: int, symmetric: bool = False) -> set[int]:
    """Fingerprints of the states within `depth` steps, by brute force."""
    fingerprint = target.symmetric_fingerprint if symmetric else target.fingerprint
    level = list(target.initial_states())
    seen = {fingerprint(s) for s in level}
    for _ in range(depth):
        level = [after for state in level for _, after in target.successors(state)]
        seen |= {fingerprint(s) for s in level}
    return seen


def test_counter_toy_has_the_stated_state_count():
    assert len(reachable(CounterTarget(3), 20)) == 16
    assert len(reachable(CounterTarget(3), 2)) == 6


def test_tokens_toy_has_the_stated_state_counts():
    target = TokensTarget(3, 2)
    assert len(reachable(target, 20)) == 3**3
    assert len(reachable(target, 20, symmetric=True)) == comb(3 + 2, 3)


def test_clock_toy_glitch_goes_back():
    target = ClockTarget()
    assert ("Glitch", 1) in list(target.successors(3))
