"""Seeded random walks: deep runs through state spaces too large to exhaust.

Walk i starts from an initial state and takes up to `max_depth` uniformly chosen
transitions, all drawn from its own generator seeded by (seed, i): a walk is a pure
function of the seed and its index, whatever the number of worker processes. Each new
state is checked against the invariants and goals; each taken transition against the
step invariants. The first violation reported is the one of the lowest walk index, and
a state's "new" is credited to its first find in walk order (walk, then step), so the
outcome, coverage included, does not depend on how walks are shared among workers.

Workers run walks first, first + n, ...; between two walks they publish their progress
and look at a shared stop flag, which the parent raises when asked to stop: each then
sends what its finished walks found, and the parent reports that.
"""

from __future__ import annotations

import multiprocessing
import pickle
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection, wait
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
from checks.engine.visited import skipping_exact_repeats, store_bytes
from checks.engine.workers import WorkerError, WorkerFailure, WorkerProcesses

PROGRESS_EVERY = 16  # walks between two calls of the progress reporter
POLL = 0.05  # seconds between two looks at the workers while waiting
STOP_GRACE = 1.0  # seconds workers get to send their results once asked to stop


def walk_generator(seed: int, walk: int) -> random.Random:
    """The generator of walk number `walk` under `seed` (string seeds hash with SHA-512,
    the same on every run and platform)."""
    return random.Random(f"walk {seed}/{walk}")


@dataclass
class WalkResults:
    """What a set of walks found; results of several workers merge into one."""

    # fingerprint -> (walk order of its first find, kind of the action that found it).
    first_found: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    transitions: int = 0
    walks: int = 0
    depth_reached: int = 0
    transitions_by_kind: dict[str, int] = field(default_factory=dict)
    goal_depth: dict[str, int | None] = field(default_factory=dict)
    # property name -> (walk index, violation), the lowest walk index seen.
    violations: dict[str, tuple[int, Violation]] = field(default_factory=dict)
    exact_store_bytes: int = 0  # the walkers' sets of exact fingerprints (with symmetry)

    def merge(self, other: WalkResults) -> None:
        mine = self.first_found
        for fp, found in other.first_found.items():
            known = mine.get(fp)
            if known is None or found[0] < known[0]:
                mine[fp] = found
        self.transitions += other.transitions
        self.walks += other.walks
        self.exact_store_bytes += other.exact_store_bytes
        self.depth_reached = max(self.depth_reached, other.depth_reached)
        for kind, count in other.transitions_by_kind.items():
            self.transitions_by_kind[kind] = self.transitions_by_kind.get(kind, 0) + count
        for name, depth in other.goal_depth.items():
            known_depth = self.goal_depth.get(name)
            if depth is not None and (known_depth is None or depth < known_depth):
                self.goal_depth[name] = depth
        for name, (walk, violation) in other.violations.items():
            if name not in self.violations or walk < self.violations[name][0]:
                self.violations[name] = (walk, violation)

    def new_by_kind(self) -> Counter[str]:
        return Counter(kind for _, kind in self.first_found.values() if kind is not None)


class Walker:
    """Runs walks `first, first + stride, ...` below `count` (one worker's share)."""

    def __init__(self, target: Target[Any, Any], options: SearchOptions) -> None:
        self.target = target
        self.options = options
        self.plain_fingerprint = (
            target.symmetric_fingerprint if options.symmetry else target.fingerprint
        )
        # With symmetry, exact repeats are recognised before the costly canonical form.
        self.exact_seen: set[int] = set()
        self.fingerprint: Callable[[Any], int | None] = (
            skipping_exact_repeats(target.fingerprint, self.plain_fingerprint, self.exact_seen)
            if options.symmetry
            else self.plain_fingerprint
        )
        self.checks = PropertyChecks(target.properties())
        self.results = WalkResults(goal_depth=dict(self.checks.goal_depth))
        self.crashed = False

    def run(
        self, first: int, stride: int, after_walk: Callable[[WalkResults], bool]
    ) -> WalkResults:
        """Runs this share of the walks; `after_walk` is told the results so far after
        each one and answers whether to stop."""
        try:
            initial_states = list(self.target.initial_states())
        except Exception as error:
            raise InitialStatesError(describe_error(error)) from error
        results = self.results
        order_step = self.options.max_depth + 1
        for walk in range(first, self.options.walks, stride):
            if self._should_stop():
                break
            self._walk(walk, walk * order_step, initial_states)
            results.walks += 1
            results.goal_depth = dict(self.checks.goal_depth)
            if after_walk(results):
                break
        results.goal_depth = dict(self.checks.goal_depth)
        results.exact_store_bytes = store_bytes(self.exact_seen)
        return results

    def _should_stop(self) -> bool:
        return self.crashed or (bool(self.results.violations) and not self.options.keep_going)

    def _walk(self, walk: int, order: int, initial_states: list[Any]) -> None:
        path: list[Step] = []
        try:
            self._steps(walk, order, initial_states, path)
        except Exception as error:
            key = self.plain_fingerprint
            violation = internal_error(self.target, key, path, describe_error(error))
            self.results.violations[violation.property_name] = (walk, violation)
            self.crashed = True

    def _steps(self, walk: int, order: int, initial_states: list[Any], path: list[Step]) -> None:
        generator = walk_generator(self.options.seed, walk)
        successors = self.target.successors
        fingerprint = self.fingerprint
        action_kind = self.target.action_kind
        results = self.results
        first_found = results.first_found
        transitions_by_kind = results.transitions_by_kind
        step_invariants = self.checks.step_invariants
        state = generator.choice(initial_states)
        path.append((None, state))
        fp = fingerprint(state)
        if fp is not None and fp not in first_found:
            first_found[fp] = (order, None)
            self._check_new_state(walk, path, 0)
        # A target that can draw one successor without computing all of them says so
        # (`sample_successor`); each walk step then costs one transition.
        sample = getattr(self.target, "sample_successor", None)
        for depth in range(1, self.options.max_depth + 1):
            if self._should_stop():
                break
            if sample is not None:
                chosen = sample(state, generator)
                if chosen is None:
                    break
                action, after = chosen
            else:
                choices = list(successors(state))
                if not choices:
                    break
                action, after = generator.choice(choices)
            results.transitions += 1
            kind = action_kind(action)
            transitions_by_kind[kind] = transitions_by_kind.get(kind, 0) + 1
            for name, check in list(step_invariants):
                if not check(state, action, after):
                    violated = [*path, (action, after)]
                    self._record(walk, Violation(name, Expectation.ALWAYS_STEP, violated))
            path.append((action, after))
            fp = fingerprint(after)
            if fp is not None and fp not in first_found:
                first_found[fp] = (order + depth, kind)
                self._check_new_state(walk, path, depth)
            results.depth_reached = max(results.depth_reached, depth)
            state = after

    def _check_new_state(self, walk: int, path: list[Step], depth: int) -> None:
        state = path[-1][1]
        checks = self.checks
        for name, check in list(checks.invariants):
            if not check(state):
                self._record(walk, Violation(name, Expectation.ALWAYS, list(path)))
        for name, check in checks.goals:
            if check(state):
                checks.mark_reached(name, depth)

    def _record(self, walk: int, violation: Violation) -> None:
        if self._should_stop():
            return
        self.results.violations[violation.property_name] = (walk, violation)
        self.checks.mark_violated(violation.property_name)


def random_walks(
    target: Target[Any, Any], options: SearchOptions, progress: SearchProgress, guard: Guard
) -> SearchOutcome:
    """Runs `options.walks` walks, in `options.workers` processes."""
    started = time.perf_counter()
    if options.workers == 1:
        walker = Walker(target, options)

        def after_walk(results: WalkResults) -> bool:
            if not results.walks % PROGRESS_EVERY:
                progress.update(options.max_depth, len(results.first_found), 0, results.transitions)
            return guard.should_stop()

        results = walker.run(0, 1, after_walk)
    else:
        results = _walks_in_workers(target, options, progress, guard)
    outcome = SearchOutcome(
        strategy="random",
        workers=options.workers,
        symmetry=options.symmetry,
        max_depth=options.max_depth,
        distinct_states=len(results.first_found),
        transitions=results.transitions,
        depth_reached=results.depth_reached,
        seconds=time.perf_counter() - started,
        visited_bytes=store_bytes(results.first_found) + results.exact_store_bytes,
        stopped=guard.reason,
    )
    ordered = sorted(results.violations.values(), key=lambda found: found[0])
    if not options.keep_going:
        ordered = ordered[:1]
    outcome.violations = [violation for _, violation in ordered]
    checks = PropertyChecks(target.properties())
    for violation in outcome.violations:
        if violation.expectation is not Expectation.NO_ERROR:
            checks.mark_violated(violation.property_name)
    outcome.invariants = checks.verdicts()
    outcome.goals = {**checks.goal_depth, **results.goal_depth}
    new_by_kind = results.new_by_kind()
    for kind, count in sorted(results.transitions_by_kind.items()):
        outcome.coverage[kind] = KindCoverage(count, new_by_kind.get(kind, 0))
    return outcome


def _walk_worker(
    target: Target[Any, Any], options: SearchOptions, worker: int, shared: Any, conn: Connection
) -> None:
    slot = 3 * worker

    def after_walk(results: WalkResults) -> bool:
        shared[slot] = results.walks
        shared[slot + 1] = len(results.first_found)
        shared[slot + 2] = results.transitions
        return bool(shared[-1])  # the stop flag

    answer: WalkResults | WorkerFailure
    try:
        answer = Walker(target, options).run(worker, options.workers, after_walk)
    except InitialStatesError as error:
        answer = WorkerFailure(worker, f"the target's initial states: {error}")
    conn.send_bytes(pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))


def _walks_in_workers(
    target: Target[Any, Any], options: SearchOptions, progress: SearchProgress, guard: Guard
) -> WalkResults:
    context = multiprocessing.get_context("fork")
    # Per worker: walks done, states found, transitions; then the stop flag.
    shared = context.RawArray("q", 3 * options.workers + 1)
    workers = WorkerProcesses(
        guard,
        [partial(_walk_worker, target, options, me, shared) for me in range(options.workers)],
    )
    merged = WalkResults()
    waiting = {connection: index for index, connection in enumerate(workers.connections)}
    deadline: float | None = None
    try:
        while waiting:
            for connection in wait(list(waiting), timeout=POLL):
                assert isinstance(connection, Connection)
                index = waiting.pop(connection)
                try:
                    answer = pickle.loads(connection.recv_bytes())
                except EOFError:
                    raise WorkerError(f"worker {index} exited without answering") from None
                if isinstance(answer, WorkerFailure):
                    raise WorkerError(f"worker {answer.worker} failed: {answer.error}")
                merged.merge(answer)
            progress.update(
                options.max_depth,
                len(merged.first_found) + sum(shared[3 * w + 1] for w in waiting.values()),
                0,
                merged.transitions + sum(shared[3 * w + 2] for w in waiting.values()),
            )
            if deadline is None and guard.should_stop():
                shared[-1] = 1
                deadline = time.monotonic() + STOP_GRACE
            if deadline is not None and time.monotonic() > deadline:
                break  # the rest are killed below: what they found is lost
    finally:
        workers.stop(wait=True)
    return merged
