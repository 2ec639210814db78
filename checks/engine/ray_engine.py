"""Breadth-first search on a Ray cluster (`--engine ray`): expanders and the visited set
as Ray actors, on every node of the cluster.

The search (bfs.py) steps `options.workers` expander actors through the levels, as it
steps worker processes on one machine; each holds an `Expander` (expansion.py), the one
expansion loop. The visited set is sharded by fingerprint over as many store actors,
each a `FingerprintTable`, the way distributed TLC shards its fingerprint set: a level's
proposals go to their shards (fingerprints only, taken from each expander in turn in the
same order as on one machine), which answer which are new. So distinct states,
transitions, verdicts and goal depths equal those of a local run. The parent log stays
with the search, in the driver.

`options.address` names the cluster to join ("auto": the one `ray start` made on this
machine; "HOST:PORT": a head node); without it, a cluster is started for this run on
this machine and shut down after. Ray is optional: `pip install 'raft-ref[cluster]'`.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import time
from typing import Any

from checks.engine.expansion import Accepted, Expander, Proposals, Tick
from checks.engine.guard import Guard
from checks.engine.heap import collect_less_often
from checks.engine.outcome import FrontierItem, SearchOptions
from checks.engine.search import UnsupportedOptions
from checks.engine.target import Target
from checks.engine.visited import FingerprintTable

# Optional (the `cluster` extra): the type checker sees `Any` whether it is installed.
ray: Any
try:
    ray = importlib.import_module("ray")
except ImportError:  # pragma: no cover - depends on the installed extras
    ray = None

POLL = 0.05  # seconds between two looks at the actors while waiting
INTERLEAVE = 256  # the same order of proposals as bfs.py's local deduplication
SHARD_FIRST_SIZE = 1 << 12  # slots a shard starts with (it grows as needed)


class RayUnavailable(UnsupportedOptions):
    """Ray is not installed, or the cluster cannot be reached."""


class ExpanderHost:
    """An expander living in a Ray actor."""

    def __init__(self, target: Target[Any, Any], options: SearchOptions, me: int) -> None:
        collect_less_often()
        self.expander = Expander(target, options, me, options.workers)

    def propose_initial(self) -> Proposals:
        return self.expander.propose_initial()

    def expand(self) -> Proposals:
        return self.expander.expand()

    def accept(
        self, keep: list[int], gives: list[list[int]], depth: int, woken: list[int]
    ) -> Accepted:
        return self.expander.accept(keep, gives, depth, woken=woken)

    def receive(self, shipments: list[bytes], depth: int) -> Accepted:
        return self.expander.receive(shipments, depth)

    def frontier_items(self) -> list[FrontierItem]:
        return self.expander.frontier_items()

    def load(self, items: list[FrontierItem], violated: set[str], reached: set[str]) -> None:
        self.expander.set_frontier(items)
        self.expander.forget(violated, reached)

    def cpu_seconds(self) -> float:
        return time.process_time()

    def pid(self) -> int:
        return os.getpid()


class StoreShard:
    """One shard of the visited set: the fingerprints equal to its index mod shards."""

    def __init__(self) -> None:
        self.table = FingerprintTable(SHARD_FIRST_SIZE)

    def add(self, keys: list[int]) -> list[bool]:
        add = self.table.add
        return [add(key) for key in keys]

    def figures(self) -> tuple[int, int]:
        return len(self.table), self.table.nbytes

    def pid(self) -> int:
        return os.getpid()


class RayPool:
    """Expander and store actors on a Ray cluster, for `BreadthFirstSearch`."""

    def __init__(
        self, target: Target[Any, Any], options: SearchOptions, tick: Tick, guard: Guard
    ) -> None:
        if ray is None:
            raise RayUnavailable("--engine ray needs Ray: pip install 'raft-ref[cluster]'")
        self.size = options.workers
        self.tick = tick
        self.started_here = not ray.is_initialized()
        if self.started_here:
            # ray.init installs handlers of its own: the search's must stay in force.
            handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
                if options.address is None:
                    ray.init(num_cpus=self.size, include_dashboard=False, **quiet)
                else:
                    ray.init(address=options.address, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise RayUnavailable(f"cannot reach the Ray cluster: {error}") from None
            finally:
                for sig, handler in handlers.items():
                    signal.signal(sig, handler)
        # Actor handles: Ray's own types do not follow the remote methods.
        host: Any = ray.remote(num_cpus=1)(ExpanderHost)
        shard: Any = ray.remote(num_cpus=0)(StoreShard)
        self.expanders: list[Any] = [host.remote(target, options, me) for me in range(self.size)]
        self.shards: list[Any] = [shard.remote() for _ in range(self.size)]
        # Started before the search's clock runs: its seconds are the search's alone.
        pids = ray.get([actor.pid.remote() for actor in [*self.expanders, *self.shards]])
        self.guard = guard
        if self.started_here and options.address is None:
            guard.watch(pids)  # on this machine: their memory counts (--max-memory, peak)

    def propose_initial(self) -> list[Proposals] | None:
        return self._gather([e.propose_initial.remote() for e in self.expanders])

    def expand(self) -> list[Proposals] | None:
        return self._gather([e.expand.remote() for e in self.expanders])

    def accept(
        self,
        keeps: list[list[int]],
        gives: list[list[list[int]]],
        depth: int,
        woken: list[list[int]],
    ) -> list[Accepted] | None:
        return self._gather(
            [
                expander.accept.remote(keeps[me], gives[me], depth, woken[me])
                for me, expander in enumerate(self.expanders)
            ]
        )

    def receive(self, shipments: dict[int, list[bytes]], depth: int) -> list[Accepted] | None:
        return self._gather(
            [self.expanders[me].receive.remote(batch, depth) for me, batch in shipments.items()]
        )

    def deduplicate(self, keys: list[list[int]]) -> list[list[int]] | None:
        """Indices of each expander's keys that are new, asking each key's shard; keys are
        sent in the order a local search takes them, so the same proposer wins."""
        shards = len(self.shards)
        requests: list[list[int]] = [[] for _ in range(shards)]
        origins: list[list[tuple[int, int]]] = [[] for _ in range(shards)]
        longest = max((len(k) for k in keys), default=0)
        for start in range(0, longest, INTERLEAVE):
            for worker, mine in enumerate(keys):
                for index in range(start, min(start + INTERLEAVE, len(mine))):
                    key = mine[index]
                    requests[key % shards].append(key)
                    origins[key % shards].append((worker, index))
        answers = self._gather(
            [shard.add.remote(batch) for shard, batch in zip(self.shards, requests, strict=True)]
        )
        if answers is None:
            return None
        new: list[list[int]] = [[] for _ in keys]
        for flags, where in zip(answers, origins, strict=True):
            for is_new, (worker, index) in zip(flags, where, strict=True):
                if is_new:
                    new[worker].append(index)
        for indices in new:
            indices.sort()  # each expander keeps its new states in its own order
        return new

    def store_figures(self) -> tuple[int, int]:
        """States stored and bytes held, over all shards."""
        figures = ray.get([shard.figures.remote() for shard in self.shards])
        return sum(count for count, _ in figures), sum(size for _, size in figures)

    def frontiers(self) -> list[list[FrontierItem]]:
        raise RayUnavailable("checkpoints are not kept by --engine ray")

    def load(
        self, frontiers: list[list[FrontierItem]], violated: set[str], reached: set[str]
    ) -> None:
        raise RayUnavailable("checkpoints are not kept by --engine ray")

    def cpu_seconds(self) -> list[float]:
        answers = self._gather([e.cpu_seconds.remote() for e in self.expanders])
        return list(answers) if answers is not None else []

    def close(self) -> None:
        self.guard.watch(())
        for actor in [*self.expanders, *self.shards]:
            ray.kill(actor)
        self.expanders, self.shards = [], []
        if self.started_here:
            ray.shutdown()

    def _gather(self, futures: list[Any]) -> list[Any] | None:
        """The answers of `futures`, in order; None if the search is to stop first."""
        pending = list(futures)
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL)
            if pending and self.tick(0, 0):
                return None
        return list(ray.get(futures))
