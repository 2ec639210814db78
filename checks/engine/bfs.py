"""Breadth-first search: level by level, so the first violation found has a shortest path.

The search (this module) owns the visited store and steps a pool of expanders
(expansion.py) through the levels: one in this process (`LocalPool`), several worker
processes (parallel_bfs.py), or actors on a Ray cluster (ray_engine.py). All of them
run the same expansion loop, so distinct states, transitions, verdicts and goal depths
are the same on every engine; which of several same-level parents a state records may
differ, so may counterexample paths and per-kind new-state counts.

Each level: the pool expands its frontier and proposes successors as fingerprints; the
search keeps the new ones (`FingerprintTable`), logs their parents (`ParentLog`, on
disk), tells each expander which of its proposals are new, and moves new states
between expanders whose shares drifted apart. A counterexample's path is rebuilt from
the parent log (`paths.py`). With a checkpoint directory, every finished level is
saved there (checkpoint.py), and a resumed search goes on from the last one.
"""

from __future__ import annotations

import time
from array import array
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from checks.engine import checkpoint
from checks.engine.crashes import internal_error
from checks.engine.expansion import (
    ROOT,
    Accepted,
    Crash,
    Expander,
    FoundViolation,
    Proposals,
    Tick,
    key_function,
    uses_reduction,
)
from checks.engine.guard import Guard
from checks.engine.outcome import (
    FrontierItem,
    KindCoverage,
    SearchOptions,
    SearchOutcome,
    Violation,
)
from checks.engine.paths import rebuild_path
from checks.engine.progress import SearchProgress
from checks.engine.properties import Check, PropertyChecks
from checks.engine.target import Expectation, Target
from checks.engine.visited import (
    MASK,
    ZERO_STANDS_FOR,
    FingerprintTable,
    ParentLog,
    collision_probability,
    table_key,
)

INTERLEAVE = 256  # proposals taken from one expander before turning to the next
# An expander ships new states only when it holds more than its share by this much:
# fewer, larger shipments (the imbalance left costs less than pickling it away).
BALANCE_SLACK = 64


class Pool(Protocol):
    """Expanders the search steps through the levels. A call answers None when the
    search was asked to stop (its `tick` said so) before every expander answered.

    A pool that holds the visited set itself (ray_engine.py) also has
    `deduplicate(keys per expander) -> new indices per expander | None` and
    `store_figures() -> (states, bytes)`; the search then keeps no table of its own."""

    size: int

    def propose_initial(self) -> list[Proposals] | None: ...

    def expand(self) -> list[Proposals] | None: ...

    def accept(
        self,
        keeps: list[list[int]],
        gives: list[list[list[int]]],
        depth: int,
        woken: list[list[int]],
    ) -> list[Accepted] | None: ...

    def receive(self, shipments: dict[int, list[bytes]], depth: int) -> list[Accepted] | None: ...

    def frontiers(self) -> list[list[FrontierItem]]: ...

    def load(
        self, frontiers: list[list[FrontierItem]], violated: set[str], reached: set[str]
    ) -> None: ...

    def cpu_seconds(self) -> list[float]: ...

    def close(self) -> None: ...


# Builds a pool: (target, options, tick) -> pool; `tick(done, transitions)` reports
# progress within a level and answers whether to stop.
PoolFactory = Callable[[Target[Any, Any], SearchOptions, Tick], Pool]


class LocalPool:
    """One expander in this process."""

    size = 1

    def __init__(self, target: Target[Any, Any], options: SearchOptions, tick: Tick) -> None:
        self.expander = Expander(target, options)
        self.tick = tick

    def propose_initial(self) -> list[Proposals] | None:
        return [self.expander.propose_initial()]

    def expand(self) -> list[Proposals] | None:
        proposals = self.expander.expand(self.tick)
        return None if proposals.stopped else [proposals]

    def accept(
        self,
        keeps: list[list[int]],
        gives: list[list[list[int]]],
        depth: int,
        woken: list[list[int]],
    ) -> list[Accepted] | None:
        report = self.expander.accept(keeps[0], gives[0], depth, self.tick, woken[0])
        return None if report.stopped else [report]

    def receive(self, shipments: dict[int, list[bytes]], depth: int) -> list[Accepted] | None:
        return []  # one expander: nothing is ever moved

    def frontiers(self) -> list[list[FrontierItem]]:
        return [self.expander.frontier_items()]

    def load(
        self, frontiers: list[list[FrontierItem]], violated: set[str], reached: set[str]
    ) -> None:
        self.expander.set_frontier([item for share in frontiers for item in share])
        self.expander.forget(violated, reached)

    def cpu_seconds(self) -> list[float]:
        return []

    def close(self) -> None:
        pass


def balance_moves(counts: list[int]) -> list[tuple[int, int, int]]:
    """Moves (giver, receiver, how many) that bring every expander near its share of new
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


class BreadthFirstSearch:
    """One BFS run over `target` within `options.max_depth`, on the pool `make_pool` builds."""

    def __init__(
        self,
        target: Target[Any, Any],
        options: SearchOptions,
        progress: SearchProgress,
        guard: Guard,
        make_pool: PoolFactory = LocalPool,
    ) -> None:
        self.target = target
        self.options = options
        self.progress = progress
        self.guard = guard
        self.make_pool = make_pool
        self.key = key_function(target, options.symmetry)
        self.checks = PropertyChecks(target.properties())
        self.table = FingerprintTable()
        directory = options.resume or options.checkpoint
        self.directory = Path(directory) if directory else None
        self.log = ParentLog(checkpoint.parents_path(self.directory) if self.directory else None)
        # Keys of each expander's frontier, in the expander's order.
        self.frontiers: list[list[int]] = []
        self.frontier_size = 0
        self.distinct = 0  # states stored
        self.depth = 0
        self.reduced = uses_reduction(target, options)
        self.outcome = SearchOutcome(
            strategy="bfs",
            workers=options.workers,
            symmetry=options.symmetry,
            max_depth=options.max_depth,
            por=self.reduced,
            engine=options.engine,
        )
        self.stopping = False  # a violation (without keep-going) or a crash ends the search
        self.store_bytes = 0  # a visited set held by the pool (sharded over Ray actors)
        self.saved_at = time.monotonic()  # when the last checkpoint was written
        self.saved_depth = -1

    def run(self) -> SearchOutcome:
        pool = self.make_pool(self.target, self.options, self._tick)
        started = time.perf_counter()  # after the pool's start-up (Ray's takes seconds)
        self.pool = pool
        table = self.table  # not `self`: the guard outlives the search
        try:
            self.guard.reserve(lambda: table.growth_bytes)
            self.guard.sample_memory()
            if self.options.resume:
                self._resume()
            else:
                self._start()
            while self.frontier_size and not self._ended() and self.depth < self.options.max_depth:
                self._next_level()
                if self._checkpoint_due():
                    self._save()
            if self.directory is not None and not self._ended() and self.saved_depth < self.depth:
                self._save()  # the last level, so a deeper search can go on from it
            self.outcome.worker_cpu_seconds = pool.cpu_seconds()
            figures = getattr(pool, "store_figures", None)
            if figures is not None and self.outcome.stopped is None:
                self.store_bytes = figures()[1]
        finally:
            pool.close()
            # The pool calls back into this search (`_tick`): without this reference
            # cycle, the last level's states are freed as soon as the search returns,
            # not at some later full collection.
            del self.pool
        self._finish(started)
        self.log.close()
        return self.outcome

    def _ended(self) -> bool:
        return self.stopping or self.outcome.stopped is not None

    def _tick(self, done: int, transitions: int) -> bool:
        """Progress within a level; True when the search should stop."""
        self.progress.update(
            self.depth,
            self.distinct,
            max(0, self.frontier_size - done),
            self.outcome.transitions + transitions,
        )
        return self.guard.should_stop()

    def _stopped_by_guard(self) -> None:
        self.outcome.stopped = self.guard.reason

    def _start(self) -> None:
        proposals = self.pool.propose_initial()
        if proposals is None:
            self._stopped_by_guard()
            return
        self._accept_level(proposals)
        if self.directory is not None and not self._ended():
            self._save()

    def _checkpoint_due(self) -> bool:
        if self.directory is None or self._ended():
            return False
        return time.monotonic() - self.saved_at >= self.options.checkpoint_every

    def _next_level(self) -> None:
        proposals = self.pool.expand()
        if proposals is None:
            self._stopped_by_guard()
            return
        for report in proposals:
            if report.crash is not None:
                self._crashed(report.crash)
                return
        self._take_violations(proposals)
        taken: Counter[str] = Counter()
        for report in proposals:
            taken.update(report.taken)
        self.outcome.transitions += taken.total()
        coverage = self.outcome.coverage
        for kind, count in taken.items():
            coverage.setdefault(kind, KindCoverage()).transitions += count
        if self.stopping:
            return
        self.depth += 1
        self._accept_level(proposals)
        if self.frontier_size and not self.outcome.stopped:
            self.outcome.depth_reached = self.depth

    def _accept_level(self, proposals: list[Proposals]) -> None:
        """Keeps the new proposals, tells each expander which are new and which to give
        away, and moves those; notes what the new states showed."""
        accepted, accepted_keys = self._deduplicate(proposals)
        moves = balance_moves([len(indices) for indices in accepted])
        # A giver gives from the end of its new states, one slice per move.
        kept = [len(indices) for indices in accepted]
        gives: list[list[list[int]]] = [[] for _ in accepted]
        moved_keys: list[list[int]] = []
        for giver, _receiver, count in moves:
            kept[giver] -= count
            start = kept[giver]
            gives[giver].append(accepted[giver][start : start + count])
            moved_keys.append(accepted_keys[giver][start : start + count])
        self.frontiers = [keys[:count] for keys, count in zip(accepted_keys, kept, strict=True)]
        keeps = [indices[:count] for indices, count in zip(accepted, kept, strict=True)]
        reports = self.pool.accept(keeps, gives, self.depth, self._woken(proposals, accepted))
        if reports is not None and moves:
            received = self._deliver(moves, moved_keys, reports)
            reports = None if received is None else reports + received
        if reports is None:
            self._stopped_by_guard()
            return
        self.frontier_size = sum(report.frontier for report in reports)
        coverage = self.outcome.coverage
        for report in reports:
            for kind, count in report.found.items():
                coverage.setdefault(kind, KindCoverage()).new_states += count
            for name, depth in report.goals.items():
                self.checks.mark_reached(name, depth)
        for report in reports:
            if report.crash is not None:
                self._crashed(report.crash)
                return
        self._take_violations(reports)

    def _woken(self, proposals: list[Proposals], accepted: list[list[int]]) -> list[list[int]]:
        """The accepted proposals another expander made too, for each expander: a state
        reached twice in a level keeps no sleep set (see expansion.py)."""
        if not self.reduced or len(proposals) < 2:
            return [[] for _ in proposals]
        keys = _table_keys(proposals)
        seen: set[int] = set()
        twice: set[int] = set()
        for mine in keys:
            twice.update(seen.intersection(mine))
            seen.update(mine)
        if not twice:
            return [[] for _ in proposals]
        return [
            [index for index in indices if mine[index] in twice]
            for mine, indices in zip(keys, accepted, strict=True)
        ]

    def _deliver(
        self,
        moves: list[tuple[int, int, int]],
        moved_keys: list[list[int]],
        reports: list[Accepted],
    ) -> list[Accepted] | None:
        """Hands each giver's shipments to their receivers; returns the receivers' reports."""
        shipments: dict[int, list[bytes]] = {}
        next_shipment = [0] * self.pool.size
        for (giver, receiver, _count), keys in zip(moves, moved_keys, strict=True):
            shipments.setdefault(receiver, []).append(reports[giver].shipped[next_shipment[giver]])
            next_shipment[giver] += 1
            self.frontiers[receiver].extend(keys)
        return self.pool.receive(shipments, self.depth)

    def _deduplicate(self, proposals: list[Proposals]) -> tuple[list[list[int]], list[list[int]]]:
        """Indices and keys of each expander's proposals that are new, taking them in
        chunks from each expander in turn; their parents go to the log."""
        sharded = getattr(self.pool, "deduplicate", None)
        if sharded is not None:
            return self._deduplicate_sharded(sharded, proposals)
        add = self.table.add
        pairs: array[int] = array("Q")
        pair = pairs.append
        accepted: list[list[int]] = [[] for _ in proposals]
        next_frontiers: list[list[int]] = [[] for _ in proposals]
        longest = max((len(p.fingerprints) for p in proposals), default=0)
        for start in range(0, longest, INTERLEAVE):
            for worker, proposal in enumerate(proposals):
                keys = proposal.fingerprints
                positions = proposal.parent_positions
                frontier = self.frontiers[worker] if self.frontiers else []
                keep = accepted[worker].append
                keep_key = next_frontiers[worker].append
                for index in range(start, min(start + INTERLEAVE, len(keys))):
                    key = (keys[index] & MASK) or ZERO_STANDS_FOR
                    if not add(key):
                        continue
                    position = positions[index]
                    pair(key)
                    pair(key if position == ROOT else frontier[position])
                    keep(index)
                    keep_key(key)
        self.log.extend(pairs)
        self.distinct += len(pairs) // 2
        return accepted, next_frontiers

    def _deduplicate_sharded(
        self,
        sharded: Callable[[list[list[int]]], list[list[int]] | None],
        proposals: list[Proposals],
    ) -> tuple[list[list[int]], list[list[int]]]:
        """`_deduplicate` with the visited set held by the pool (sharded over actors)."""
        keys = _table_keys(proposals)
        accepted = sharded(keys)
        if accepted is None:
            accepted = [[] for _ in proposals]
            self.outcome.stopped = self.guard.reason
        pairs: array[int] = array("Q")
        next_frontiers: list[list[int]] = []
        for worker, (mine, indices) in enumerate(zip(keys, accepted, strict=True)):
            frontier = self.frontiers[worker] if self.frontiers else []
            positions = proposals[worker].parent_positions
            for index in indices:
                position = positions[index]
                pairs.append(mine[index])
                pairs.append(mine[index] if position == ROOT else frontier[position])
            next_frontiers.append([mine[index] for index in indices])
        self.log.extend(pairs)
        self.distinct += len(pairs) // 2
        return accepted, next_frontiers

    def _take_violations(self, reports: list[Proposals] | list[Accepted]) -> None:
        """Records the first violation of each property; stops unless keep-going."""
        checks = self.checks
        for report in reports:
            for found in report.violations:
                if found.property_name in checks.violated:
                    continue
                if self.stopping:
                    return
                self._record(found)

    def _record(self, found: FoundViolation) -> None:
        key = self.key
        name = found.property_name
        wanted = table_key(found.fingerprint)
        chain = self.log.chain(wanted)
        if found.expectation is Expectation.ALWAYS:
            check: Check = dict(self.checks.invariants)[name]

            def fails_here(_before: Any, _action: Any, after: Any) -> bool:
                return key(after) == wanted and not check(after)

            def reaches_here(_before: Any, _action: Any, after: Any) -> bool:
                return key(after) == wanted

            if len(chain) == 1:
                path = rebuild_path(self.target, key, chain)
            else:
                path = rebuild_path(self.target, key, chain[:-1], (fails_here, reaches_here))
        else:
            step_check: Check = dict(self.checks.step_invariants)[name]

            def step_fails(before: Any, action: Any, after: Any) -> bool:
                return not step_check(before, action, after)

            path = rebuild_path(self.target, key, chain, (step_fails,))
        self._add(Violation(name, found.expectation, path))

    def _crashed(self, crash: Crash) -> None:
        path = rebuild_path(self.target, self.key, self.log.chain(table_key(crash.fingerprint)))
        self._add(internal_error(self.target, self.key, path, crash.error))
        self.stopping = True  # after an exception the target's state is not to be trusted

    def _add(self, violation: Violation) -> None:
        self.outcome.violations.append(violation)
        self.checks.mark_violated(violation.property_name)
        if not self.options.keep_going:
            self.stopping = True

    def _save(self) -> None:
        self.saved_at = time.monotonic()
        self.saved_depth = self.depth
        self.log.flush()
        assert self.directory is not None
        checkpoint.save(
            self.directory,
            checkpoint.Checkpoint(
                identity=self.options.identity,
                symmetry=self.options.symmetry,
                por=self.reduced,
                depth=self.depth,
                log_entries=len(self.log),
                table_count=len(self.table),
                outcome=self.outcome,
                goal_depth=dict(self.checks.goal_depth),
                violated=set(self.checks.violated),
                frontiers=self.pool.frontiers(),
            ),
            self.table,
        )

    def _resume(self) -> None:
        assert self.directory is not None
        saved, self.table = checkpoint.load(self.directory, self.options)
        self.distinct = len(self.table)
        if len(self.log) < saved.log_entries:
            raise checkpoint.CheckpointError(f"{self.directory}: damaged checkpoint (parent log)")
        if saved.por != self.reduced:
            saved_with = "on" if saved.por else "off"
            raise checkpoint.CheckpointError(
                f"{self.directory}: saved with partial-order reduction {saved_with}"
            )
        self.log.truncate(saved.log_entries)
        self.depth = saved.depth
        kept = self.outcome
        self.outcome = saved.outcome
        self.outcome.max_depth = kept.max_depth
        self.outcome.workers = kept.workers
        self.outcome.engine = kept.engine
        self.outcome.resumed_at = saved.depth
        self.saved_depth = saved.depth
        for name, depth in saved.goal_depth.items():
            if depth is not None:
                self.checks.mark_reached(name, depth)
        for name in saved.violated:
            self.checks.mark_violated(name)
        shares = _deal(saved.frontiers, self.pool.size)
        self.frontiers = [[table_key(key) for key, _, _ in share] for share in shares]
        self.frontier_size = sum(map(len, shares))
        reached = {name for name, depth in saved.goal_depth.items() if depth is not None}
        self.pool.load(shares, set(saved.violated), reached)

    def _finish(self, started: float) -> None:
        outcome = self.outcome
        outcome.seconds = time.perf_counter() - started
        outcome.distinct_states = self.distinct
        outcome.complete = not self.stopping and outcome.stopped is None
        outcome.exhausted = outcome.complete and not self.frontier_size
        outcome.visited_bytes = self.store_bytes or self.table.nbytes
        outcome.invariants = self.checks.verdicts()
        outcome.goals = dict(self.checks.goal_depth)
        outcome.collision = collision_probability(self.distinct, outcome.transitions)
        outcome.coverage = dict(sorted(outcome.coverage.items()))


def _table_keys(proposals: list[Proposals]) -> list[list[int]]:
    """Each expander's proposals as visited-table keys."""
    return [[(fp & MASK) or ZERO_STANDS_FOR for fp in p.fingerprints] for p in proposals]


def _deal(frontiers: list[list[FrontierItem]], size: int) -> list[list[FrontierItem]]:
    """A saved frontier dealt to `size` expanders in turn (any split is a valid one), or
    as saved for as many expanders: then the search goes on exactly as it would have
    (with partial-order reduction and symmetry, which state of a class is kept, and so
    how many transitions are taken, depends on the split)."""
    if len(frontiers) == size:
        return [list(share) for share in frontiers]
    items = [item for share in frontiers for item in share]
    return [items[me::size] for me in range(size)]
