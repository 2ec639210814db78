"""The one expansion loop of breadth-first search, in one process or many, local or on Ray.

An `Expander` holds a share of the current BFS level (its frontier) and does the costly
part of a search: running the target's `successors`, fingerprints and properties. A
level goes through it in two calls, whoever holds the visited store (bfs.py):

1. `expand`: every frontier state is expanded; each transition's step invariants are
   checked; successors already proposed in this level are dropped, the others kept
   here and proposed as fingerprints (with their parent's position in the frontier).
2. `accept`: the store's owner says which proposals are new. They become the next
   frontier and are checked against the invariants and goals. A share may be given
   away to balance the expanders (`gives`, pickled) and taken in by another (`receive`).

With partial-order reduction (`options.por`, for a target with `reduced_successors`,
see target.py) each frontier state carries a sleep set: actions that commute with one
taken earlier on every path the search knows to it, so that their outcomes are reached
another way (sleep sets, Godefroid 1996). They are not taken from it; every state is
still reached, at its least depth. A state reached twice in one level, in one expander
or in two, keeps an empty sleep set (the search then takes every action from it), and
one reached again at a later level was expanded already.

An exception raised by the target is not a crash of the search: it comes back as a
`Crash` naming the state it happened at, so the search can report it with its path.
"""

from __future__ import annotations

import pickle
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from checks.engine.outcome import FrontierItem, InitialStatesError, SearchOptions
from checks.engine.properties import PropertyChecks
from checks.engine.spill import Level, close_level, labelled, new_level, picked
from checks.engine.target import Expectation, Target
from checks.engine.visited import MASK, ZERO_STANDS_FOR, skipping_exact_repeats

PROGRESS_EVERY = 128  # states expanded (or checked) between two calls of `tick`
ROOT = -1  # parent position of an initial state
# Exact fingerprints remembered to skip the symmetric one (visited.skipping_exact_repeats):
# forgotten past this many, so that cache stays small next to the visited store.
EXACT_CACHE = 1 << 20

# Called every PROGRESS_EVERY states with (states done, transitions); True means stop.
Tick = Callable[[int, int], bool]
# The actions not to take from a state, each with its footprint.
SleepSet = tuple[tuple[Any, Any], ...]


def never_stop(_done: int, _transitions: int) -> bool:
    return False


@dataclass(frozen=True)
class FoundViolation:
    """A violation as an expander sees it: enough for the store's owner to rebuild the
    path. For an invariant, `fingerprint` is the failing state's; for a step invariant,
    the state the failing transition starts from."""

    property_name: str
    expectation: Expectation
    fingerprint: int


@dataclass(frozen=True)
class Crash:
    """The target raised an exception while the state `fingerprint` was expanded
    (`expanding`) or checked as a new state (not `expanding`)."""

    fingerprint: int
    expanding: bool
    error: str


@dataclass
class Proposals:
    """The answer to `expand`: new-to-this-expander successors, as fingerprints."""

    fingerprints: list[int]
    parent_positions: list[int]  # index of each one's parent in the expander's frontier
    violations: list[FoundViolation]
    taken: dict[str, int] = field(default_factory=dict)  # transitions per action kind
    crash: Crash | None = None
    stopped: bool = False  # `tick` asked to stop: the level is unfinished


@dataclass
class Accepted:
    """The answer to `accept` and `receive`: what the new states showed."""

    frontier: int
    violations: list[FoundViolation] = field(default_factory=list)
    goals: dict[str, int] = field(default_factory=dict)  # goals reached, with their depth
    found: dict[str, int] = field(default_factory=dict)  # new states per action kind
    shipped: list[bytes] = field(default_factory=list)  # states given away, pickled
    crash: Crash | None = None
    stopped: bool = False


def describe_error(error: BaseException) -> str:
    """`Type: message`, and where in the target's code it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name})"
    return f"{type(error).__name__}: {error}{where if frames else ''}"


def uses_reduction(target: Target[Any, Any], options: SearchOptions) -> bool:
    """Whether a BFS of `target` with `options` uses partial-order reduction."""
    return options.por and callable(getattr(target, "reduced_successors", None))


def key_function(target: Target[Any, Any], symmetry: bool) -> Callable[[Any], int]:
    """The fingerprint a search stores for a state, as a visited-table key."""
    fingerprint = target.symmetric_fingerprint if symmetry else target.fingerprint

    def key(state: Any) -> int:
        return (fingerprint(state) & MASK) or ZERO_STANDS_FOR

    return key


class Expander:
    """Expands one share of each BFS level (see the module's docstring)."""

    def __init__(
        self, target: Target[Any, Any], options: SearchOptions, me: int = 0, of: int = 1
    ) -> None:
        self.target = target
        self.options = options
        self.me = me
        self.of = of
        # Raw fingerprints: the store's owner makes them table keys (visited.table_key).
        self.key = target.symmetric_fingerprint if options.symmetry else target.fingerprint
        self.exact_seen: set[int] = set()
        self.dedup_key: Callable[[Any], int | None] = (
            skipping_exact_repeats(target.fingerprint, self.key, self.exact_seen)
            if options.symmetry
            else self.key
        )
        self.checks = PropertyChecks(target.properties())
        self.reduced = uses_reduction(target, options)
        # The states to expand, each with its key and sleep set: (key, state, sleep).
        self.frontier: Level = new_level(options.disk)
        self.expanding = 0  # the key of the frontier state being expanded
        # This level's proposals, in the order sent; each proposed state with the sleep
        # set it gets if it is new: (state, sleep).
        self.proposed: list[int] = []
        self.proposed_kinds: list[str | None] = []
        self.proposed_items: Level = new_level(options.disk)
        self.woken: set[int] = set()  # proposals reached twice in this level: no sleep set
        self.violations: list[FoundViolation] = []

    def propose_initial(self) -> Proposals:
        """Proposes this expander's share of the initial states (every n-th one)."""
        try:
            for number, state in enumerate(self.target.initial_states()):
                if number % self.of == self.me:
                    self.proposed.append(self.key(state))
                    self.proposed_kinds.append(None)
                    self.proposed_items.append((state, ()))
        except Exception as error:
            raise InitialStatesError(describe_error(error)) from error
        return Proposals(self.proposed, [ROOT] * len(self.proposed), [])

    def expand(self, tick: Tick = never_stop) -> Proposals:
        """Expands the frontier; proposes successors not yet proposed in this level."""
        if self.reduced:
            return self._expand_reduced(tick)
        self._start_level()
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
        items = self.proposed_items
        keep = items.append
        kinds: list[str] = []
        note_kind = kinds.append
        taken: Counter[str] = Counter()
        stop_at_violation = not self.options.keep_going
        report = Proposals(proposed, positions, self.violations)
        try:
            for position, state, _sleep in self._frontier(tick, kinds, taken, report):
                for action, after in successors(state):
                    kind = action_kind(action)
                    note_kind(kind)
                    for _name, step_check in step_invariants:
                        if not step_check(state, action, after):
                            self._steps_failed(state, action, after)
                            break
                    fp = fingerprint(after)
                    if fp is None or fp in this_level:
                        continue
                    seen(fp)
                    propose(fp)
                    note_position(position)
                    note_proposed_kind(kind)
                    keep((after, ()))
                if stop_at_violation and self.violations:
                    break
        except Exception as error:
            report.crash = Crash(self.expanding, True, describe_error(error))
        self._end_level(report, kinds, taken, kinds_proposed)
        return report

    def _start_level(self) -> None:
        self.violations = []
        if len(self.exact_seen) > EXACT_CACHE:
            self.exact_seen.clear()
        self.woken = set()

    def _frontier(
        self, tick: Tick, kinds: list[str], taken: Counter[str], report: Proposals
    ) -> Iterator[tuple[int, Any, SleepSet]]:
        """The frontier's (position, state, sleep set), counting the transitions taken
        (`kinds`) into `taken` and calling `tick` every PROGRESS_EVERY states; stops when
        it says so."""
        for position, (key, state, sleep) in enumerate(self.frontier):
            if not position % PROGRESS_EVERY:
                taken.update(kinds)
                kinds.clear()
                if tick(position, taken.total()):
                    report.stopped = True
                    return
            self.expanding = key
            yield position, state, sleep

    def _end_level(
        self,
        report: Proposals,
        kinds: list[str],
        taken: Counter[str],
        kinds_proposed: list[str | None],
    ) -> None:
        """Counts the last transitions taken and keeps the level's proposals."""
        taken.update(kinds)
        report.taken = dict(taken)
        self.proposed = report.fingerprints
        self.proposed_kinds = kinds_proposed

    def _expand_reduced(self, tick: Tick) -> Proposals:
        """`expand` with sleep sets: the actions in a state's sleep set are not taken.
        A successor's sleep set holds the actions taken before the one that led to it
        from the same state, and those of that state's own, that commute with that one;
        it is made as the successor is proposed, and dropped if the successor turns out
        to be reached twice in the level."""
        self._start_level()
        target = self.target
        reduced_successors = target.reduced_successors  # type: ignore[attr-defined]
        sleep_filter = target.sleep_filter  # type: ignore[attr-defined]
        exact_key = target.fingerprint
        symmetric_key = self.key if self.options.symmetry else None
        exact_seen = self.exact_seen
        woken = self.woken
        action_kind = target.action_kind
        step_invariants = self.checks.step_invariants
        # This level's proposals by key, and by exact fingerprint (with symmetry).
        this_level: dict[int, int] = {}
        exact_level: dict[int, int] = {}
        proposed: list[int] = []
        positions: list[int] = []
        kinds_proposed: list[str | None] = []
        items = self.proposed_items
        kinds: list[str] = []
        taken: Counter[str] = Counter()
        stop_at_violation = not self.options.keep_going
        report = Proposals(proposed, positions, self.violations)
        try:
            for position, state, sleeping in self._frontier(tick, kinds, taken, report):
                done: list[tuple[Any, Any]] = []
                still_asleep = None
                asleep = {action for action, _ in sleeping} if sleeping else ()
                for action, afters, footprint in reduced_successors(state, asleep):
                    # Made when the first of its outcomes is proposed (most are not).
                    commutes = footprint is not None and bool(done or sleeping)
                    sleep: SleepSet | None = None if commutes else ()
                    kind = action_kind(action)
                    for after in afters:
                        kinds.append(kind)
                        for _name, step_check in step_invariants:
                            if not step_check(state, action, after):
                                self._steps_failed(state, action, after)
                                break
                        exact = exact_key(after)
                        if symmetric_key is None:
                            key = exact
                        else:
                            earlier = exact_level.get(exact)
                            if earlier is not None:
                                woken.add(earlier)  # reached twice in this level
                                continue
                            if exact in exact_seen:
                                continue  # reached at an earlier level
                            exact_seen.add(exact)
                            key = symmetric_key(after)
                        earlier = this_level.get(key)
                        if earlier is not None:
                            woken.add(earlier)
                            exact_level[exact] = earlier
                            continue
                        if sleep is None:
                            if still_asleep is None:
                                still_asleep = sleep_filter(state)
                            sleep = tuple(still_asleep(footprint, [*done, *sleeping]))
                        this_level[key] = exact_level[exact] = len(proposed)
                        proposed.append(key)
                        positions.append(position)
                        kinds_proposed.append(kind)
                        items.append((after, sleep))
                    done.append((action, footprint))
                if stop_at_violation and self.violations:
                    break
        except Exception as error:
            report.crash = Crash(self.expanding, True, describe_error(error))
        self._end_level(report, kinds, taken, kinds_proposed)
        return report

    def accept(
        self,
        keep: list[int],
        gives: list[list[int]],
        depth: int,
        tick: Tick = never_stop,
        woken: Iterable[int] = (),
    ) -> Accepted:
        """Keeps the accepted proposals `keep` as the next frontier and checks them;
        pickles each list of accepted proposals in `gives` for another expander (both
        increasing, every given one after every kept one). The proposals `woken`
        (another expander proposed them too) lose their sleep sets."""
        proposed = self.proposed
        kinds = self.proposed_kinds
        awake = self.woken.union(woken)
        chosen = [*keep, *(index for give in gives for index in give)]
        items = picked(self.proposed_items, chosen)
        close_level(self.frontier)
        self.frontier = new_level(self.options.disk)
        # One pass over the proposals: the kept ones are checked as they are read (a
        # function, not a generator expression, which the compiled tree read whole).
        report = self._take(labelled(proposed, kinds, keep, items, awake), depth=depth, tick=tick)
        for give in gives:
            shipment = list(labelled(proposed, kinds, give, items, awake))
            report.shipped.append(pickle.dumps(shipment, pickle.HIGHEST_PROTOCOL))
        close_level(self.proposed_items)
        self.proposed, self.proposed_kinds = [], []
        self.proposed_items = new_level(self.options.disk)
        self.woken = set()
        return report

    def receive(self, shipments: list[bytes], depth: int, tick: Tick = never_stop) -> Accepted:
        """Adds new states other expanders gave away to the frontier, and checks them."""
        received = (item for shipment in shipments for item in pickle.loads(shipment))
        return self._take(received, depth=depth, tick=tick)

    def frontier_items(self) -> list[FrontierItem]:
        """The frontier as (key, state, sleep set), for a checkpoint."""
        return list(self.frontier)

    def set_frontier(self, items: list[FrontierItem]) -> None:
        """Starts from a checkpoint's frontier; `violated` and goals come separately."""
        close_level(self.frontier)
        self.frontier = new_level(self.options.disk)
        self.frontier.extend(items)

    def forget(self, violated: Iterable[str], goals_reached: Iterable[str]) -> None:
        """Stops checking properties already decided (when resuming from a checkpoint)."""
        for name in violated:
            self.checks.mark_violated(name)
        for name in goals_reached:
            self.checks.mark_reached(name, 0)
        self.checks.drop_reached_goals()

    def _take(
        self,
        taken: Iterable[tuple[int, str | None, Any, SleepSet]],
        *,
        depth: int,
        tick: Tick,
    ) -> Accepted:
        """Appends new states, given as (key, kind, state, sleep set), to the frontier and
        checks their invariants and goals. Every one is appended, also after `tick` has
        stopped the checks or the target has raised."""
        self.violations = []
        report = Accepted(frontier=0)
        frontier = self.frontier
        before = len(frontier)
        found: Counter[str] = Counter()
        checking = True
        for index, (fp, kind, state, sleep) in enumerate(taken):
            frontier.append((fp, state, sleep))
            if kind is not None:
                found[kind] += 1
            if not checking:
                continue
            if not index % PROGRESS_EVERY and index and tick(index, 0):
                report.stopped = True
                checking = False
                continue
            try:
                self._check_new(fp, state, depth, report)
            except Exception as error:
                report.crash = Crash(fp, False, describe_error(error))
                checking = False
        report.frontier = len(frontier) - before
        report.found = dict(found)
        report.violations = self.violations
        return report

    def _check_new(self, fp: int, state: Any, depth: int, report: Accepted) -> None:
        for _name, check in self.checks.invariants:
            if not check(state):
                self._invariants_failed(fp, state)
                break
        for _name, check in self.checks.goals:
            if check(state):
                self._check_goals(state, depth, report)
                break

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

    def _steps_failed(self, before: Any, action: Any, after: Any) -> None:
        parent_fp = self.expanding
        for name, check in list(self.checks.step_invariants):
            if not check(before, action, after):
                self._found(FoundViolation(name, Expectation.ALWAYS_STEP, parent_fp))

    def _found(self, violation: FoundViolation) -> None:
        self.violations.append(violation)
        self.checks.mark_violated(violation.property_name)
