"""Breadth-first search: level by level, so the first violation found has a shortest path.

The visited store maps each fingerprint to its parent's fingerprint (an initial state is
its own parent); a counterexample is rebuilt from that chain (`paths.py`). The frontier
holds (fingerprint, state) pairs of one level at a time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from checks.engine.outcome import KindCoverage, SearchOptions, SearchOutcome, Violation
from checks.engine.paths import rebuild_path
from checks.engine.progress import SearchProgress
from checks.engine.properties import Check, PropertyChecks
from checks.engine.target import Expectation, Target
from checks.engine.visited import skipping_exact_repeats, store_bytes

# How many states to expand between two calls of the progress reporter.
PROGRESS_EVERY = 512


class BreadthFirstSearch:
    """One BFS run over `target` within `options.max_depth`."""

    def __init__(
        self, target: Target[Any, Any], options: SearchOptions, progress: SearchProgress
    ) -> None:
        self.target = target
        self.options = options
        self.progress = progress
        self.fingerprint = target.symmetric_fingerprint if options.symmetry else target.fingerprint
        self.checks = PropertyChecks(target.properties())
        self.parents: dict[int, int] = {}
        # With symmetry, exact repeats are recognised before the costly canonical form.
        self.exact_seen: set[int] = set()
        self.dedup_key: Callable[[Any], int | None] = (
            skipping_exact_repeats(target.fingerprint, self.fingerprint, self.exact_seen)
            if options.symmetry
            else self.fingerprint
        )
        self.outcome = SearchOutcome(
            strategy="bfs", workers=1, symmetry=options.symmetry, max_depth=options.max_depth
        )
        self.stopped = False

    def run(self) -> SearchOutcome:
        started = time.perf_counter()
        frontier = self._initial_frontier()
        depth = 0
        while frontier and depth < self.options.max_depth and not self.stopped:
            frontier = self._expand_level(frontier, depth)
            depth += 1
            if frontier:
                self.outcome.depth_reached = depth
        self._finish(exhausted=not frontier, started=started)
        return self.outcome

    def _initial_frontier(self) -> list[tuple[int, Any]]:
        frontier: list[tuple[int, Any]] = []
        for state in self.target.initial_states():
            fp = self.fingerprint(state)
            if fp in self.parents:
                continue
            self.parents[fp] = fp
            frontier.append((fp, state))
            self._check_new_state(fp, state, 0)
        return frontier

    def _check_new_state(self, fp: int, state: Any, depth: int) -> None:
        """Invariants and goals of a state seen for the first time (slow path)."""
        self._invariants_failed(fp, state)
        self._check_goals(state, depth)

    def _check_goals(self, state: Any, depth: int) -> None:
        """Goals reached in `state`; they are not checked again."""
        checks = self.checks
        reached = [name for name, check in checks.goals if check(state)]
        for name in reached:
            checks.mark_reached(name, depth)
        if reached:
            checks.drop_reached_goals()

    def _expand_level(self, frontier: list[tuple[int, Any]], depth: int) -> list[tuple[int, Any]]:
        """Expands every state of `frontier` (at `depth`); returns the next level."""
        # The hot loop: everything it touches is bound to a local name.
        successors = self.target.successors
        fingerprint = self.dedup_key
        action_kind = self.target.action_kind
        parents = self.parents
        checks = self.checks
        invariants = checks.invariants
        step_invariants = checks.step_invariants
        goals = checks.goals
        # Kinds are noted in lists and counted in batches (Counter counts in C): cheaper
        # than a dict update per transition.
        taken: Counter[str] = Counter()
        found: Counter[str] = Counter()
        kinds: list[str] = []
        note_kind = kinds.append
        new_kinds: list[str] = []
        note_new = new_kinds.append
        next_frontier: list[tuple[int, Any]] = []
        append = next_frontier.append
        next_depth = depth + 1
        update_progress = self.progress.update
        for position, (parent_fp, state) in enumerate(frontier):
            if not position % PROGRESS_EVERY:
                taken.update(kinds)
                kinds.clear()
                update_progress(
                    depth,
                    len(parents),
                    len(frontier) - position + len(next_frontier),
                    self.outcome.transitions + taken.total(),
                )
            for action, after in successors(state):
                kind = action_kind(action)
                note_kind(kind)
                for _name, step_check in step_invariants:
                    if not step_check(state, action, after):
                        self._steps_failed(parent_fp, state, action, after)
                        break
                fp = fingerprint(after)
                if fp is None or fp in parents:
                    continue
                parents[fp] = parent_fp
                append((fp, after))
                note_new(kind)
                # On the first failure (or goal reached) the slow path records all of
                # them and may shrink the list being iterated: hence the break.
                for _name, check in invariants:
                    if not check(after):
                        self._invariants_failed(fp, after)
                        break
                for _name, check in goals:
                    if check(after):
                        self._check_goals(after, next_depth)
                        break
            if self.stopped:
                break
        taken.update(kinds)
        found.update(new_kinds)
        self.outcome.transitions += taken.total()
        self._add_coverage(taken, found)
        return next_frontier

    def _add_coverage(self, taken: Counter[str], found: Counter[str]) -> None:
        coverage = self.outcome.coverage
        for kind, count in taken.items():
            entry = coverage.setdefault(kind, KindCoverage())
            entry.transitions += count
            entry.new_states += found[kind]

    def _chain(self, fp: int) -> list[int]:
        """Fingerprints from an initial state to `fp`."""
        chain = [fp]
        parents = self.parents
        while parents[fp] != fp:
            fp = parents[fp]
            chain.append(fp)
        chain.reverse()
        return chain

    def _invariants_failed(self, fp: int, state: Any) -> None:
        """Records every invariant that `state` breaks."""
        if self.stopped:
            return
        for name, check in list(self.checks.invariants):
            if not check(state):
                self._invariant_violated(name, check, fp, state)

    def _steps_failed(self, parent_fp: int, before: Any, action: Any, after: Any) -> None:
        """Records every step invariant that the transition breaks."""
        if self.stopped:
            return
        for name, check in list(self.checks.step_invariants):
            if not check(before, action, after):
                self._step_violated(name, check, parent_fp)

    def _invariant_violated(self, name: str, check: Check, fp: int, state: Any) -> None:
        chain = self._chain(fp)
        fingerprint = self.fingerprint

        def fails_here(_before: Any, _action: Any, after: Any) -> bool:
            return fingerprint(after) == fp and not check(after)

        def reaches_here(_before: Any, _action: Any, after: Any) -> bool:
            return fingerprint(after) == fp

        if len(chain) == 1:
            path = [(None, state)]
        else:
            path = rebuild_path(self.target, fingerprint, chain[:-1], (fails_here, reaches_here))
        self._record(Violation(name, Expectation.ALWAYS, path))

    def _step_violated(self, name: str, check: Check, parent_fp: int) -> None:
        def fails_here(b: Any, a: Any, s: Any) -> bool:
            return not check(b, a, s)

        path = rebuild_path(self.target, self.fingerprint, self._chain(parent_fp), (fails_here,))
        self._record(Violation(name, Expectation.ALWAYS_STEP, path))

    def _record(self, violation: Violation) -> None:
        if self.stopped:
            return
        self.outcome.violations.append(violation)
        self.checks.mark_violated(violation.property_name)
        if not self.options.keep_going:
            self.stopped = True

    def _finish(self, exhausted: bool, started: float) -> None:
        outcome = self.outcome
        outcome.seconds = time.perf_counter() - started
        outcome.distinct_states = len(self.parents)
        outcome.complete = not self.stopped
        outcome.exhausted = exhausted and not self.stopped
        outcome.visited_bytes = store_bytes(self.parents) + store_bytes(self.exact_seen)
        outcome.invariants = self.checks.verdicts()
        outcome.goals = dict(self.checks.goal_depth)
