"""Breadth-first search in worker processes that ship fingerprints, and few states.

Expanding a state (the target's `successors`, `fingerprint` and properties) is nearly
all the cost of a search; deduplication is a dict lookup. So the workers expand and the
coordinator (the parent process) deduplicates:

1. expand: each worker expands its share of the current level. It checks every
   transition's step invariants, drops successors it already proposed in this level,
   keeps the others' states, and sends the coordinator only their fingerprints (with
   the position of each one's parent in its frontier): a list of ints, cheap to pickle.
2. accept: the coordinator, which holds the one visited store (fingerprint -> parent
   fingerprint), takes the proposals of all workers interleaved in chunks and tells
   each worker which of its proposals are new. Each worker keeps its new states as its
   next frontier and checks them against the invariants and goals.
3. balance: a worker that found more than its share of the new states ships the excess
   (pickled) to the workers short of theirs, who keep and check them.

A state stays in the process that generated it unless the shares drift apart, so few
states are pickled (at the start one worker finds everything; from then on each finds
about half); the coordinator's work is a dict operation per proposal while the workers
wait, a small serial part. (Owning fingerprints by hash and shipping every state to its
owner was the first design: pickling model states cost about as much as expanding them.)

Levels are the BFS levels, so distinct states, depths and shortest counterexample
lengths equal the one-process search; which of several same-level parents a state
records may differ, so may counterexample paths and per-kind new-state counts.
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from checks.engine.outcome import KindCoverage, SearchOptions, SearchOutcome, Violation
from checks.engine.paths import rebuild_path
from checks.engine.progress import SearchProgress
from checks.engine.properties import Check, PropertyChecks
from checks.engine.target import Expectation, Target
from checks.engine.visited import skipping_exact_repeats, store_bytes
from checks.engine.workers import WorkerError, WorkerFailure

PROGRESS_EVERY = 128  # states expanded between two updates of the shared counters
INTERLEAVE = 256  # proposals taken from one worker before turning to the next
# A worker ships new states only when it holds more than its share by this much: fewer,
# larger shipments (the imbalance left costs less than pickling it away).
BALANCE_SLACK = 64
ROOT = -1  # parent position of an initial state


@dataclass(frozen=True)
class FoundViolation:
    """A violation as a worker sees it: enough for the coordinator to rebuild the path.

    For an invariant, `fingerprint` is the failing state's; for a step invariant, it is
    the fingerprint of the state the failing transition starts from.
    """

    property_name: str
    expectation: Expectation
    fingerprint: int


@dataclass
class Proposals:
    """A worker's answer to `expand`: new-to-it successors, as fingerprints."""

    fingerprints: list[int]
    parent_positions: list[int]  # index of each one's parent in the worker's frontier
    violations: list[FoundViolation]


@dataclass
class Accepted:
    """A worker's answer to `accept`: what its new states showed."""

    frontier: int
    violations: list[FoundViolation] = field(default_factory=list)
    goals: dict[str, int] = field(default_factory=dict)  # goals reached, with their depth
    shipped: list[bytes] = field(default_factory=list)  # states given away, pickled


@dataclass(frozen=True)
class WorkerTotals:
    """A worker's totals, sent when the search ends."""

    transitions_by_kind: dict[str, int]
    new_by_kind: dict[str, int]
    store_bytes: int  # its set of exact fingerprints (with symmetry)
    cpu_seconds: float


class Worker:
    """The state and loop of one worker process."""

    def __init__(
        self,
        target: Target[Any, Any],
        options: SearchOptions,
        me: int,
        counters: Any,  # shared array: [expanded, transitions] per worker, for progress
    ) -> None:
        self.target = target
        self.options = options
        self.me = me
        self.counters = counters
        self.fingerprint: Callable[[Any], int] = (
            target.symmetric_fingerprint if options.symmetry else target.fingerprint
        )
        # With symmetry, exact repeats are recognised before the costly canonical form.
        self.exact_seen: set[int] = set()
        self.dedup_key: Callable[[Any], int | None] = (
            skipping_exact_repeats(target.fingerprint, self.fingerprint, self.exact_seen)
            if options.symmetry
            else self.fingerprint
        )
        self.checks = PropertyChecks(target.properties())
        self.frontier: list[tuple[int, Any]] = []  # (fingerprint, state) to expand
        # This level's proposals, in the order sent.
        self.proposed: list[int] = []
        self.proposed_kinds: list[str | None] = []
        self.proposed_states: list[Any] = []
        self.taken: Counter[str] = Counter()  # transitions per action kind
        self.found: Counter[str] = Counter()  # new states per action kind
        self.expanded = 0
        self.violations: list[FoundViolation] = []

    def serve(self, connection: Connection) -> None:
        """Answers the coordinator's commands until told to finish."""
        while True:
            command, argument = connection.recv()
            if command == "start":
                connection.send(self._propose_initial())
            elif command == "expand":
                connection.send(self._expand())
            elif command == "accept":
                connection.send(self._accept(*argument))
            elif command == "receive":
                connection.send(self._receive(*argument))
            else:
                connection.send(
                    WorkerTotals(
                        dict(self.taken),
                        dict(self.found),
                        store_bytes(self.exact_seen),
                        time.process_time(),
                    )
                )
                return

    def _propose_initial(self) -> Proposals:
        """Proposes this worker's share of the initial states (every n-th one)."""
        workers = self.options.workers
        for number, state in enumerate(self.target.initial_states()):
            if number % workers == self.me:
                self.proposed.append(self.fingerprint(state))
                self.proposed_kinds.append(None)
                self.proposed_states.append(state)
        return Proposals(self.proposed, [ROOT] * len(self.proposed), [])

    def _expand(self) -> Proposals:
        """Expands the frontier; proposes successors not yet proposed in this level."""
        self.violations = []
        successors = self.target.successors
        fingerprint = self.dedup_key
        action_kind = self.target.action_kind
        step_invariants = self.checks.step_invariants
        this_level: set[int] = set()
        seen = this_level.add
        proposed: list[int] = []
        propose = proposed.append
        positions: list[int] = []
        note_position = positions.append
        kinds_proposed: list[str | None] = []
        note_proposed_kind = kinds_proposed.append
        states: list[Any] = []
        keep = states.append
        kinds: list[str] = []
        note_kind = kinds.append
        taken = self.taken
        counters = self.counters
        slot = 2 * self.me
        stop = not self.options.keep_going
        for position, (_fp, state) in enumerate(self.frontier):
            if not position % PROGRESS_EVERY:
                taken.update(kinds)
                kinds.clear()
                counters[slot] = self.expanded + position
                counters[slot + 1] = taken.total()
            for action, after in successors(state):
                kind = action_kind(action)
                note_kind(kind)
                for _name, step_check in step_invariants:
                    if not step_check(state, action, after):
                        self._steps_failed(position, state, action, after)
                        break
                fp = fingerprint(after)
                if fp is None or fp in this_level:
                    continue
                seen(fp)
                propose(fp)
                note_position(position)
                note_proposed_kind(kind)
                keep(after)
            if stop and self.violations:
                break
        taken.update(kinds)
        self.expanded += len(self.frontier)
        counters[slot] = self.expanded
        counters[slot + 1] = taken.total()
        self.proposed, self.proposed_kinds, self.proposed_states = proposed, kinds_proposed, states
        return Proposals(proposed, positions, self.violations)

    def _accept(self, keep: list[int], gives: list[list[int]], depth: int) -> Accepted:
        """Keeps the accepted proposals `keep` as the next frontier and checks them;
        pickles each list of accepted proposals in `gives` for another worker."""
        proposed = self.proposed
        kinds = self.proposed_kinds
        states = self.proposed_states
        self.frontier = []
        report = self._take(((proposed[i], kinds[i], states[i]) for i in keep), depth)
        for give in gives:
            shipment = [(proposed[i], kinds[i], states[i]) for i in give]
            report.shipped.append(pickle.dumps(shipment, pickle.HIGHEST_PROTOCOL))
        self.proposed, self.proposed_kinds, self.proposed_states = [], [], []
        return report

    def _receive(self, shipments: list[bytes], depth: int) -> Accepted:
        """Adds new states other workers gave away to the next frontier, and checks them."""
        received = (item for shipment in shipments for item in pickle.loads(shipment))
        return self._take(received, depth)

    def _take(self, new_states: Iterable[tuple[int, str | None, Any]], depth: int) -> Accepted:
        """Appends new states to the frontier and checks their invariants and goals."""
        self.violations = []
        report = Accepted(frontier=0)
        invariants = self.checks.invariants
        goals = self.checks.goals
        append = self.frontier.append
        new_kinds: list[str | None] = []
        note_new = new_kinds.append
        for fp, kind, state in new_states:
            append((fp, state))
            note_new(kind)
            for _name, check in invariants:
                if not check(state):
                    self._invariants_failed(fp, state)
                    break
            for _name, check in goals:
                if check(state):
                    self._check_goals(state, depth, report)
                    break
        self.found.update(kind for kind in new_kinds if kind is not None)
        report.frontier = len(new_kinds)
        report.violations = self.violations
        return report

    def _check_goals(self, state: Any, depth: int, report: Accepted) -> None:
        """Goals reached in `state`; they are not checked again."""
        reached = [name for name, check in self.checks.goals if check(state)]
        for name in reached:
            self.checks.mark_reached(name, depth)
            report.goals[name] = depth
        if reached:
            self.checks.drop_reached_goals()

    def _invariants_failed(self, fp: int, state: Any) -> None:
        for name, check in list(self.checks.invariants):
            if not check(state):
                self._found(FoundViolation(name, Expectation.ALWAYS, fp))

    def _steps_failed(self, position: int, before: Any, action: Any, after: Any) -> None:
        parent_fp = self.frontier[position][0]
        for name, check in list(self.checks.step_invariants):
            if not check(before, action, after):
                self._found(FoundViolation(name, Expectation.ALWAYS_STEP, parent_fp))

    def _found(self, violation: FoundViolation) -> None:
        self.violations.append(violation)
        self.checks.mark_violated(violation.property_name)


def balance_moves(counts: list[int]) -> list[tuple[int, int, int]]:
    """Moves (giver, receiver, how many) that bring every worker near its share of new
    states, given how many each found; none for an excess within BALANCE_SLACK."""
    share = -(-sum(counts) // len(counts))
    deficits = [[w, share - n] for w, n in enumerate(counts) if n < share]
    moves = []
    for giver, count in enumerate(counts):
        extra = count - share
        if extra <= BALANCE_SLACK:
            continue
        for deficit in deficits:
            moved = min(extra, deficit[1])
            if moved > 0:
                moves.append((giver, deficit[0], moved))
                deficit[1] -= moved
                extra -= moved
    return moves


def _worker_main(
    target: Target[Any, Any],
    options: SearchOptions,
    me: int,
    counters: Any,
    connection: Connection,
) -> None:
    try:
        Worker(target, options, me, counters).serve(connection)
    except EOFError:
        pass  # the coordinator went away: nothing left to answer
    except BaseException as error:
        connection.send(WorkerFailure(me, f"{type(error).__name__}: {error}"))
        raise
    finally:
        connection.close()


class ParallelBreadthFirstSearch:
    """The coordinator: holds the visited store, steps the workers through the levels."""

    def __init__(
        self, target: Target[Any, Any], options: SearchOptions, progress: SearchProgress
    ) -> None:
        self.target = target
        self.options = options
        self.progress = progress
        self.workers = options.workers
        self.fingerprint: Callable[[Any], int] = (
            target.symmetric_fingerprint if options.symmetry else target.fingerprint
        )
        self.checks = PropertyChecks(target.properties())
        self.parents: dict[int, int] = {}
        # Fingerprints of each worker's frontier, in the worker's order.
        self.frontiers: list[list[int]] = [[] for _ in range(self.workers)]
        self.outcome = SearchOutcome(
            strategy="bfs",
            workers=options.workers,
            symmetry=options.symmetry,
            max_depth=options.max_depth,
        )
        self.connections: list[Connection] = []
        self.depth = 0

    def run(self) -> SearchOutcome:
        started = time.perf_counter()
        context = multiprocessing.get_context("fork")
        self.counters = context.RawArray("q", 2 * self.workers)
        processes = []
        for me in range(self.workers):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_worker_main,
                args=(self.target, self.options, me, self.counters, theirs),
                daemon=True,
            )
            process.start()
            theirs.close()
            self.connections.append(mine)
            processes.append(process)
        try:
            exhausted = self._levels()
            totals: list[WorkerTotals] = self._ask_all("finish", None)
        finally:
            for connection in self.connections:
                connection.close()
            for process in processes:
                process.join(timeout=10)
                if process.is_alive():
                    process.kill()
        self._finish(totals, exhausted, started)
        return self.outcome

    def _levels(self) -> bool:
        """Runs the levels; returns whether the frontier ran out before the bound."""
        proposals: list[Proposals] = self._ask_all("start", None)
        frontier, stop = self._accept_level(proposals)
        while frontier and not stop and self.depth < self.options.max_depth:
            proposals = self._ask_all("expand", None)
            self.depth += 1
            stop = self._take_violations(proposals)
            frontier, stop_after_accept = self._accept_level(proposals)
            stop = stop or stop_after_accept
            if frontier:
                self.outcome.depth_reached = self.depth
        return not frontier and not stop

    def _accept_level(self, proposals: list[Proposals]) -> tuple[int, bool]:
        """Deduplicates the proposals, tells each worker which are new and which to give
        away, moves those; returns the size of the next frontier and whether to stop."""
        accepted, accepted_fps = self._deduplicate(proposals)
        moves = balance_moves([len(indices) for indices in accepted])
        # A giver gives from the end of its new states, one slice per move.
        kept = [len(indices) for indices in accepted]
        gives: list[list[list[int]]] = [[] for _ in accepted]
        moved_fps: list[list[int]] = []
        for giver, _receiver, count in moves:
            kept[giver] -= count
            start = kept[giver]
            gives[giver].append(accepted[giver][start : start + count])
            moved_fps.append(accepted_fps[giver][start : start + count])
        self.frontiers = [fps[:count] for fps, count in zip(accepted_fps, kept, strict=True)]
        for worker, connection in enumerate(self.connections):
            keep = accepted[worker][: kept[worker]]
            connection.send(("accept", (keep, gives[worker], self.depth)))
        reports: list[Accepted] = self._collect(range(self.workers))
        if moves:
            reports += self._deliver(moves, moved_fps, reports)
        stop = self._take_violations(reports)
        for report in reports:
            for name, depth in report.goals.items():
                self.checks.mark_reached(name, depth)
        return sum(report.frontier for report in reports), stop

    def _deliver(
        self,
        moves: list[tuple[int, int, int]],
        moved_fps: list[list[int]],
        reports: list[Accepted],
    ) -> list[Accepted]:
        """Hands each giver's shipments to their receivers; returns the receivers' reports."""
        shipments: dict[int, list[bytes]] = {}
        next_shipment = [0] * self.workers
        for (giver, receiver, _count), fps in zip(moves, moved_fps, strict=True):
            shipments.setdefault(receiver, []).append(reports[giver].shipped[next_shipment[giver]])
            next_shipment[giver] += 1
            self.frontiers[receiver].extend(fps)
        for receiver, batch in shipments.items():
            self.connections[receiver].send(("receive", (batch, self.depth)))
        received: list[Accepted] = self._collect(sorted(shipments))
        return received

    def _deduplicate(self, proposals: list[Proposals]) -> tuple[list[list[int]], list[list[int]]]:
        """Indices and fingerprints of each worker's proposals that are new, taking the
        proposals in chunks from each worker in turn."""
        parents = self.parents
        accepted: list[list[int]] = [[] for _ in proposals]
        next_frontiers: list[list[int]] = [[] for _ in proposals]
        longest = max(len(p.fingerprints) for p in proposals)
        for start in range(0, longest, INTERLEAVE):
            for worker, proposal in enumerate(proposals):
                fingerprints = proposal.fingerprints
                positions = proposal.parent_positions
                frontier = self.frontiers[worker]
                keep = accepted[worker].append
                keep_fp = next_frontiers[worker].append
                for index in range(start, min(start + INTERLEAVE, len(fingerprints))):
                    fp = fingerprints[index]
                    if fp in parents:
                        continue
                    position = positions[index]
                    # The parent's own key object, so the value costs no memory.
                    parents[fp] = fp if position == ROOT else frontier[position]
                    keep(index)
                    keep_fp(fp)
        return accepted, next_frontiers

    def _ask_all(self, command: str, argument: Any) -> list[Any]:
        for connection in self.connections:
            connection.send((command, argument))
        return self._collect(range(self.workers))

    def _collect(self, workers: Iterable[int]) -> list[Any]:
        """One answer from each of `workers`, in their order; reports progress meanwhile."""
        answers: dict[int, Any] = {}
        waiting = {self.connections[index]: index for index in workers}
        while waiting:
            ready = wait(list(waiting), timeout=self.progress.interval)
            for connection in ready:
                assert isinstance(connection, Connection)
                index = waiting.pop(connection)
                try:
                    answer = connection.recv()
                except EOFError:
                    raise WorkerError(f"worker {index} exited without answering") from None
                if isinstance(answer, WorkerFailure):
                    raise WorkerError(f"worker {answer.worker} failed: {answer.error}")
                answers[index] = answer
            counters = self.counters
            expanded = sum(counters[2 * w] for w in range(self.workers))
            self.progress.update(
                self.depth,
                len(self.parents),
                max(0, len(self.parents) - expanded),
                sum(counters[2 * w + 1] for w in range(self.workers)),
            )
        return [answers[index] for index in sorted(answers)]

    def _take_violations(self, reports: list[Proposals] | list[Accepted]) -> bool:
        """Records the first violation of each property; returns whether to stop."""
        checks = self.checks
        for report in reports:
            for found in report.violations:
                if found.property_name in checks.violated:
                    continue
                if checks.violated and not self.options.keep_going:
                    break
                self._record(found)
        return bool(checks.violated) and not self.options.keep_going

    def _chain(self, fp: int) -> list[int]:
        chain = [fp]
        parents = self.parents
        while parents[fp] != fp:
            fp = parents[fp]
            chain.append(fp)
        chain.reverse()
        return chain

    def _record(self, found: FoundViolation) -> None:
        fingerprint = self.fingerprint
        name = found.property_name
        target_fp = found.fingerprint
        if found.expectation is Expectation.ALWAYS:
            check: Check = dict(self.checks.invariants)[name]

            def fails_here(_before: Any, _action: Any, after: Any) -> bool:
                return fingerprint(after) == target_fp and not check(after)

            def reaches_here(_before: Any, _action: Any, after: Any) -> bool:
                return fingerprint(after) == target_fp

            chain = self._chain(target_fp)
            if len(chain) == 1:
                path = rebuild_path(self.target, fingerprint, chain)
            else:
                final = (fails_here, reaches_here)
                path = rebuild_path(self.target, fingerprint, chain[:-1], final)
        else:
            step_check: Check = dict(self.checks.step_invariants)[name]

            def step_fails(before: Any, action: Any, after: Any) -> bool:
                return not step_check(before, action, after)

            path = rebuild_path(self.target, fingerprint, self._chain(target_fp), (step_fails,))
        self.outcome.violations.append(Violation(name, found.expectation, path))
        self.checks.mark_violated(name)

    def _finish(self, totals: list[WorkerTotals], exhausted: bool, started: float) -> None:
        outcome = self.outcome
        outcome.seconds = time.perf_counter() - started
        outcome.distinct_states = len(self.parents)
        stopped = bool(outcome.violations) and not self.options.keep_going
        outcome.complete = not stopped
        outcome.exhausted = exhausted
        outcome.visited_bytes = store_bytes(self.parents) + sum(t.store_bytes for t in totals)
        outcome.invariants = self.checks.verdicts()
        outcome.goals = dict(self.checks.goal_depth)
        taken: Counter[str] = Counter()
        found: Counter[str] = Counter()
        for worker_totals in totals:
            taken.update(worker_totals.transitions_by_kind)
            found.update(worker_totals.new_by_kind)
        outcome.transitions = taken.total()
        outcome.worker_cpu_seconds = [t.cpu_seconds for t in totals]
        for kind in sorted(taken):
            outcome.coverage[kind] = KindCoverage(taken[kind], found[kind])
