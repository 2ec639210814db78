"""Depth-first search: memory for the visited store and one path, not a whole level.

A depth bound makes plain DFS incomplete: a state first met deep in the tree has less
depth budget left than when it is later met by a shorter path. The store therefore
keeps the least depth at which each fingerprint was seen, and a state met again at a
smaller depth is explored again. So DFS visits exactly the states BFS visits within the
same bound (with more transitions); its counterexamples are real paths, not shortest.
"""

from __future__ import annotations

import time
from typing import Any

from checks.engine.crashes import internal_error
from checks.engine.expansion import describe_error
from checks.engine.guard import Guard
from checks.engine.outcome import (
    InitialStatesError,
    KindCoverage,
    SearchOptions,
    SearchOutcome,
    Step,
    Violation,
)
from checks.engine.progress import SearchProgress
from checks.engine.properties import PropertyChecks
from checks.engine.target import Expectation, Target
from checks.engine.visited import (
    MASK,
    NEW,
    SEEN_NEARER,
    ZERO_STANDS_FOR,
    DepthTable,
    table_key,
)

PROGRESS_EVERY = 1024


class DepthFirstSearch:
    """One DFS run over `target` within `options.max_depth`."""

    def __init__(
        self,
        target: Target[Any, Any],
        options: SearchOptions,
        progress: SearchProgress,
        guard: Guard,
    ) -> None:
        self.target = target
        self.options = options
        self.progress = progress
        self.guard = guard
        self.fingerprint = target.symmetric_fingerprint if options.symmetry else target.fingerprint
        self.checks = PropertyChecks(target.properties())
        self.least_depth = least_depth = DepthTable()
        guard.reserve(lambda: least_depth.growth_bytes)  # not `self`: the guard outlives it
        self.outcome = SearchOutcome(
            strategy="dfs", workers=1, symmetry=options.symmetry, max_depth=options.max_depth
        )
        self.stopped = False
        self.transitions_by_kind: dict[str, int] = {}
        self.new_by_kind: dict[str, int] = {}
        # The current path: states, the actions that led to them, and successor iterators.
        self.states: list[Any] = []
        self.actions: list[Any] = []

    def run(self) -> SearchOutcome:
        started = time.perf_counter()
        try:
            initial_states = list(self.target.initial_states())
        except Exception as error:
            raise InitialStatesError(describe_error(error)) from error
        for state in initial_states:
            if self.stopped:
                break
            fp = table_key(self.fingerprint(state))
            if fp in self.least_depth:
                continue
            self.least_depth.record(fp, 0)
            self.states, self.actions = [state], [None]
            try:
                self._check_new_state(None, state, 0)
                if not self.stopped and self.options.max_depth > 0:
                    self._search_from(state)
            except Exception as error:
                self._crashed(describe_error(error))
        self._finish(started)
        return self.outcome

    def _search_from(self, initial: Any) -> None:
        successors = self.target.successors
        fingerprint = self.fingerprint
        action_kind = self.target.action_kind
        visit = self.least_depth.visit
        store = self.least_depth
        step_invariants = self.checks.step_invariants
        transitions_by_kind = self.transitions_by_kind
        new_by_kind = self.new_by_kind
        max_depth = self.options.max_depth
        states = self.states
        actions = self.actions
        iterators = [iter(successors(initial))]
        update_progress = self.progress.update
        transitions = self.outcome.transitions
        expanded = 0
        while iterators and not self.stopped:
            step = next(iterators[-1], None)
            if step is None:
                iterators.pop()
                states.pop()
                actions.pop()
                continue
            action, after = step
            transitions += 1
            kind = action_kind(action)
            transitions_by_kind[kind] = transitions_by_kind.get(kind, 0) + 1
            before = states[-1]
            for _name, step_check in step_invariants:
                if not step_check(before, action, after):
                    self._steps_failed(before, action, after)
                    break
            depth = len(iterators)
            found = visit((fingerprint(after) & MASK) or ZERO_STANDS_FOR, depth)
            if found == SEEN_NEARER:
                continue
            if found == NEW:
                new_by_kind[kind] = new_by_kind.get(kind, 0) + 1
                self._check_new_state(action, after, depth)
            if depth < max_depth:
                states.append(after)
                actions.append(action)
                iterators.append(iter(successors(after)))
                expanded += 1
                if not expanded % PROGRESS_EVERY:
                    self.outcome.transitions = transitions
                    update_progress(depth, len(store), len(iterators), transitions)
                    if self.guard.should_stop():
                        self.outcome.stopped = self.guard.reason
                        self.stopped = True
        self.outcome.transitions = transitions

    def _crashed(self, error: str) -> None:
        """The target raised while the current path's last state was checked or expanded."""
        path: list[Step] = list(zip(self.actions, self.states, strict=True))
        self._record(internal_error(self.target, self.fingerprint, path, error))
        self.stopped = True

    def _path_to(self, action: Any, state: Any) -> list[Step]:
        """The current path extended by one transition (or just the initial state)."""
        path: list[Step] = list(zip(self.actions, self.states, strict=True))
        if action is not None or not path:
            path.append((action, state))
        return path

    def _check_new_state(self, action: Any, state: Any, depth: int) -> None:
        """Invariants and goals of a state seen for the first time."""
        checks = self.checks
        for name, check in list(checks.invariants):
            if not check(state):
                self._record(Violation(name, Expectation.ALWAYS, self._path_to(action, state)))
        reached = [name for name, check in checks.goals if check(state)]
        for name in reached:
            checks.mark_reached(name, depth)
        if reached:
            checks.drop_reached_goals()

    def _steps_failed(self, before: Any, action: Any, after: Any) -> None:
        for name, check in list(self.checks.step_invariants):
            if not check(before, action, after):
                path = self._path_to(action, after)
                self._record(Violation(name, Expectation.ALWAYS_STEP, path))

    def _record(self, violation: Violation) -> None:
        if self.stopped:
            return
        self.outcome.violations.append(violation)
        self.checks.mark_violated(violation.property_name)
        if not self.options.keep_going:
            self.stopped = True

    def _finish(self, started: float) -> None:
        outcome = self.outcome
        outcome.seconds = time.perf_counter() - started
        outcome.distinct_states = len(self.least_depth)
        outcome.depth_reached = self.least_depth.deepest()
        outcome.complete = not self.stopped
        outcome.exhausted = outcome.complete and outcome.depth_reached < outcome.max_depth
        outcome.visited_bytes = self.least_depth.nbytes
        outcome.invariants = self.checks.verdicts()
        outcome.goals = dict(self.checks.goal_depth)
        for kind, count in self.transitions_by_kind.items():
            outcome.coverage[kind] = KindCoverage(count, self.new_by_kind.get(kind, 0))
