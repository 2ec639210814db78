"""What a search is asked to do and what it reports back.

Every strategy (bfs, dfs, random walks, parallel bfs) takes `SearchOptions` and fills a
`SearchOutcome`; reporting (`summary.py`, `counterexample.py`) reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.engine.target import Expectation

# A step of a path: the action taken (None for the initial state) and the state reached.
Step = tuple[Any, Any]
# A state to expand: its key in the visited store, the state, and its sleep set (the
# actions partial-order reduction need not take from it, each with its footprint).
FrontierItem = tuple[int, Any, tuple[tuple[Any, Any], ...]]


@dataclass(frozen=True)
class SearchOptions:
    """How to search; the target's own bounds are set when the target is built."""

    strategy: str = "bfs"  # "bfs", "dfs" or "random"
    max_depth: int = 12  # actions from an initial state; states at this depth are not expanded
    symmetry: bool = True  # dedupe by `symmetric_fingerprint` instead of `fingerprint`
    # bfs: partial-order reduction (sleep sets), for a target that offers it
    # (`reduced_successors`, see target.py); every state is still visited.
    por: bool = True
    keep_going: bool = False  # record the first violation of each property and go on
    workers: int = 1
    walks: int = 1000  # random strategy: number of walks, each up to max_depth steps
    seed: int = 0  # random strategy: walk i is a pure function of (seed, i)
    engine: str = "local"  # bfs: "local" (this machine's processes) or "ray"
    address: str | None = None  # ray: the cluster to join ("auto", "HOST:PORT"); None: start one
    checkpoint: str | None = None  # bfs: save every finished level in this directory
    resume: str | None = None  # bfs: go on from the checkpoint in this directory (and keep saving)
    checkpoint_every: float = 60.0  # seconds between two checkpoints (each at a level's end)
    # bfs: keep each level's states in files in this directory, not in memory (spill.py)
    disk: str | None = None
    # What a checkpoint must match to be resumed: the target and its bounds, as the
    # caller names them (symmetry is compared apart).
    identity: str = ""


@dataclass
class Violation:
    """A property that failed, with the path from an initial state that shows it."""

    property_name: str
    expectation: Expectation
    path: list[Step]  # path[0] = (None, initial state); then (action, state) per step
    error: str | None = None  # for an internal error: the exception, and where

    @property
    def depth(self) -> int:
        return len(self.path) - 1


@dataclass
class KindCoverage:
    """Coverage of one action kind: transitions taken, and new states they found."""

    transitions: int = 0
    new_states: int = 0


@dataclass
class SearchOutcome:
    """Figures and findings of one search."""

    strategy: str
    workers: int
    symmetry: bool
    max_depth: int
    por: bool = False  # partial-order reduction was in use
    distinct_states: int = 0
    transitions: int = 0
    depth_reached: int = 0
    # Every state within the depth bound was explored (no early stop). Never true for walks.
    complete: bool = False
    # The search ran out of new states before the depth bound: the whole state space
    # reachable within the target's bounds was explored.
    exhausted: bool = False
    seconds: float = 0.0
    visited_bytes: int = 0  # memory of the visited-state store at the end
    violations: list[Violation] = field(default_factory=list)
    invariants: dict[str, str] = field(default_factory=dict)  # name -> "holds" / "violated"
    goals: dict[str, int | None] = field(default_factory=dict)  # name -> first depth reached
    coverage: dict[str, KindCoverage] = field(default_factory=dict)
    worker_cpu_seconds: list[float] = field(default_factory=list)  # parallel bfs: per worker
    engine: str = "local"
    # Why the search ended early: None, "interrupted" (a signal) or "memory limit".
    stopped: str | None = None
    peak_rss: int = 0  # bytes: highest resident memory of the search's processes
    # Fingerprint-collision odds (TLC's optimistic estimate, birthday bound); bfs only.
    collision: tuple[float, float] | None = None
    resumed_at: int | None = None  # the depth a resumed search went on from

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_per_state(self) -> float:
        return self.visited_bytes / self.distinct_states if self.distinct_states else 0.0


class InitialStatesError(RuntimeError):
    """The target raised an exception while giving its initial states."""
