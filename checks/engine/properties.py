"""The target's properties, split by how they are judged, and their verdicts so far.

Strategies bind the lists below to locals in their hot loops; they shrink as goals are
reached (no need to check them again) and, with keep-going, as properties fail (each is
reported once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from checks.engine.target import Expectation, Property

Check = Callable[..., bool]


class PropertyChecks:
    """Which properties remain to be checked, and what is known about each."""

    def __init__(self, properties: Sequence[Property[Any, Any]]) -> None:
        names = [p.name for p in properties]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"property names must be unique: {', '.join(duplicates)}")
        self.expectation = {p.name: p.expectation for p in properties}
        # (name, check) pairs still to check, in the target's order.
        self.invariants: list[tuple[str, Check]] = [
            (p.name, p.check) for p in properties if p.expectation is Expectation.ALWAYS
        ]
        self.step_invariants: list[tuple[str, Check]] = [
            (p.name, p.check) for p in properties if p.expectation is Expectation.ALWAYS_STEP
        ]
        self.goals: list[tuple[str, Check]] = [
            (p.name, p.check) for p in properties if p.expectation is Expectation.SOMETIMES
        ]
        self.violated: set[str] = set()
        self.goal_depth: dict[str, int | None] = {name: None for name, _ in self.goals}

    def mark_violated(self, name: str) -> None:
        """Stop checking `name`: its first violation is all a report needs."""
        self.violated.add(name)
        self.invariants[:] = [(n, c) for n, c in self.invariants if n != name]
        self.step_invariants[:] = [(n, c) for n, c in self.step_invariants if n != name]

    def mark_reached(self, name: str, depth: int) -> None:
        """Record the depth where goal `name` first held (keeping the smallest)."""
        known = self.goal_depth.get(name)
        if known is None or depth < known:
            self.goal_depth[name] = depth

    def drop_reached_goals(self) -> None:
        """Stop checking goals already reached (BFS meets them at their least depth)."""
        self.goals[:] = [(n, c) for n, c in self.goals if self.goal_depth[n] is None]

    def verdicts(self) -> dict[str, str]:
        """Invariant and step-invariant name -> "holds" or "violated"."""
        return {
            name: ("violated" if name in self.violated else "holds")
            for name, expectation in self.expectation.items()
            if expectation is not Expectation.SOMETIMES
        }
