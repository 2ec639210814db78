"""Seeded random walks: deep runs through state spaces too large to exhaust.

Walk i starts from an initial state and takes up to `max_depth` uniformly chosen
transitions, all drawn from its own generator seeded by (seed, i): a walk is a pure
function of the seed and its index, whatever the number of worker processes. Each new
state is checked against the invariants and goals; each taken transition against the
step invariants. The first violation reported is the one of the lowest walk index, so
the outcome does not depend on how walks are shared among workers.
"""

from __future__ import annotations

import multiprocessing
import pickle
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from checks.engine.outcome import KindCoverage, SearchOptions, SearchOutcome, Step, Violation
from checks.engine.progress import SearchProgress
from checks.engine.properties import PropertyChecks
from checks.engine.target import Expectation, Target
from checks.engine.visited import skipping_exact_repeats, store_bytes
from checks.engine.workers import WorkerError, WorkerFailure

PROGRESS_EVERY = 16  # walks between two calls of the progress reporter


def walk_generator(seed: int, walk: int) -> random.Random:
    """The generator of walk number `walk` under `seed` (string seeds hash with SHA-512,
    the same on every run and platform)."""
    return random.Random(f"walk {seed}/{walk}")


@dataclass
class WalkResults:
    """What a set of walks found; results of several workers merge into one."""

    visited: set[int] = field(default_factory=set)
    transitions: int = 0
    depth_reached: int = 0
    transitions_by_kind: dict[str, int] = field(default_factory=dict)
    new_by_kind: dict[str, int] = field(default_factory=dict)
    goal_depth: dict[str, int | None] = field(default_factory=dict)
    # property name -> (walk index, violation), the lowest walk index seen.
    violations: dict[str, tuple[int, Violation]] = field(default_factory=dict)
    exact_store_bytes: int = 0  # the walkers' sets of exact fingerprints (with symmetry)

    def merge(self, other: WalkResults) -> None:
        self.visited |= other.visited
        self.transitions += other.transitions
        self.exact_store_bytes += other.exact_store_bytes
        self.depth_reached = max(self.depth_reached, other.depth_reached)
        for kind, count in other.transitions_by_kind.items():
            self.transitions_by_kind[kind] = self.transitions_by_kind.get(kind, 0) + count
        for kind, count in other.new_by_kind.items():
            self.new_by_kind[kind] = self.new_by_kind.get(kind, 0) + count
        for name, depth in other.goal_depth.items():
            known = self.goal_depth.get(name)
            if depth is not None and (known is None or depth < known):
                self.goal_depth[name] = depth
        for name, (walk, violation) in other.violations.items():
            if name not in self.violations or walk < self.violations[name][0]:
                self.violations[name] = (walk, violation)


class Walker:
    """Runs walks `first, first + stride, ...` below `count` (one worker's share)."""

    def __init__(self, target: Target[Any, Any], options: SearchOptions) -> None:
        self.target = target
        self.options = options
        fingerprint = target.symmetric_fingerprint if options.symmetry else target.fingerprint
        # With symmetry, exact repeats are recognised before the costly canonical form.
        self.exact_seen: set[int] = set()
        self.fingerprint: Callable[[Any], int | None] = (
            skipping_exact_repeats(target.fingerprint, fingerprint, self.exact_seen)
            if options.symmetry
            else fingerprint
        )
        self.checks = PropertyChecks(target.properties())
        self.results = WalkResults(goal_depth=dict(self.checks.goal_depth))

    def run(self, first: int, stride: int, progress: SearchProgress) -> WalkResults:
        initial_states = list(self.target.initial_states())
        results = self.results
        for number, walk in enumerate(range(first, self.options.walks, stride)):
            if self._should_stop():
                break
            self._walk(walk, initial_states)
            if not number % PROGRESS_EVERY:
                progress.update(
                    self.options.max_depth, len(results.visited), 0, results.transitions
                )
        results.goal_depth = dict(self.checks.goal_depth)
        results.exact_store_bytes = store_bytes(self.exact_seen)
        return results

    def _should_stop(self) -> bool:
        return bool(self.results.violations) and not self.options.keep_going

    def _walk(self, walk: int, initial_states: list[Any]) -> None:
        generator = walk_generator(self.options.seed, walk)
        successors = self.target.successors
        fingerprint = self.fingerprint
        action_kind = self.target.action_kind
        results = self.results
        visited = results.visited
        transitions_by_kind = results.transitions_by_kind
        new_by_kind = results.new_by_kind
        step_invariants = self.checks.step_invariants
        state = generator.choice(initial_states)
        path: list[Step] = [(None, state)]
        fp = fingerprint(state)
        if fp is not None and fp not in visited:
            visited.add(fp)
            self._check_new_state(walk, path, 0)
        for depth in range(1, self.options.max_depth + 1):
            choices = list(successors(state))
            if not choices or self._should_stop():
                break
            action, after = generator.choice(choices)
            path.append((action, after))
            results.transitions += 1
            kind = action_kind(action)
            transitions_by_kind[kind] = transitions_by_kind.get(kind, 0) + 1
            for name, check in list(step_invariants):
                if not check(state, action, after):
                    self._record(walk, Violation(name, Expectation.ALWAYS_STEP, list(path)))
            fp = fingerprint(after)
            if fp is not None and fp not in visited:
                visited.add(fp)
                new_by_kind[kind] = new_by_kind.get(kind, 0) + 1
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
    target: Target[Any, Any], options: SearchOptions, progress: SearchProgress
) -> SearchOutcome:
    """Runs `options.walks` walks, in `options.workers` processes."""
    started = time.perf_counter()
    if options.workers == 1:
        results = Walker(target, options).run(0, 1, progress)
    else:
        results = _walks_in_workers(target, options, progress)
    outcome = SearchOutcome(
        strategy="random",
        workers=options.workers,
        symmetry=options.symmetry,
        max_depth=options.max_depth,
        distinct_states=len(results.visited),
        transitions=results.transitions,
        depth_reached=results.depth_reached,
        seconds=time.perf_counter() - started,
        visited_bytes=store_bytes(results.visited) + results.exact_store_bytes,
    )
    ordered = sorted(results.violations.values(), key=lambda found: found[0])
    if not options.keep_going:
        ordered = ordered[:1]
    outcome.violations = [violation for _, violation in ordered]
    violated = {v.property_name for v in outcome.violations}
    checks = PropertyChecks(target.properties())
    for name in violated:
        checks.mark_violated(name)
    outcome.invariants = checks.verdicts()
    outcome.goals = results.goal_depth
    for kind, count in sorted(results.transitions_by_kind.items()):
        outcome.coverage[kind] = KindCoverage(count, results.new_by_kind.get(kind, 0))
    return outcome


def _walks_in_workers(
    target: Target[Any, Any], options: SearchOptions, progress: SearchProgress
) -> WalkResults:
    context = multiprocessing.get_context("fork")
    connections: list[Connection] = []
    processes = []
    for worker in range(options.workers):
        mine, theirs = context.Pipe()
        process = context.Process(
            target=_walk_worker, args=(target, options, worker, theirs), daemon=True
        )
        process.start()
        theirs.close()
        connections.append(mine)
        processes.append(process)
    merged = WalkResults()
    try:
        for worker, connection in enumerate(connections):
            try:
                answer = pickle.loads(connection.recv_bytes())
            except EOFError:
                raise WorkerError(f"worker {worker} exited without answering") from None
            if isinstance(answer, WorkerFailure):
                raise WorkerError(f"worker {answer.worker} failed: {answer.error}")
            merged.merge(answer)
    except WorkerError:
        for process in processes:
            process.kill()  # after a failure the other walks are not wanted
        raise
    finally:
        for process in processes:
            process.join()
    progress.update(options.max_depth, len(merged.visited), 0, merged.transitions)
    return merged


def _walk_worker(
    target: Target[Any, Any], options: SearchOptions, worker: int, connection: Connection
) -> None:
    answer: WalkResults | WorkerFailure
    try:
        answer = Walker(target, options).run(worker, options.workers, SearchProgress(enabled=False))
    except Exception as error:
        answer = WorkerFailure(worker, f"{type(error).__name__}: {error}")
    connection.send_bytes(pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
    connection.close()
