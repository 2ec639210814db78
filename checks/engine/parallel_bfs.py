"""Breadth-first search in worker processes on this machine (`--workers N`).

Each worker process holds an `Expander` (expansion.py) and answers the search's
commands over a pipe; the search (bfs.py) holds the visited store in the parent
process. Only fingerprints travel at each level (a list of ints, cheap to pickle), and
states only when shares drift apart (the balancing moves of bfs.py). Expanding is
nearly all the cost, deduplicating a table operation per proposal while the workers
wait: a small serial part. (Owning fingerprints by hash and shipping every state to its
owner was the first design: pickling model states cost about as much as expanding them.)

While waiting, the parent reads each worker's progress from shared counters and asks
the search whether to stop; when it stops (a signal, the memory limit), the workers are
killed at once: an unfinished level is not needed.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import Any

from checks.engine.expansion import Accepted, Expander, Proposals, Tick
from checks.engine.guard import Guard
from checks.engine.outcome import FrontierItem, SearchOptions
from checks.engine.target import Target
from checks.engine.workers import WorkerError, WorkerFailure, WorkerProcesses

POLL = 0.05  # seconds between two looks at the workers' progress while waiting


def _serve(
    target: Target[Any, Any],
    options: SearchOptions,
    me: int,
    counters: Any,
    connection: Connection,
) -> None:
    """A worker's loop: answers the search's commands until the pipe closes."""
    expander = Expander(target, options, me, options.workers)
    slot = 2 * me

    def tick(done: int, transitions: int) -> bool:
        counters[slot] = done
        counters[slot + 1] = transitions
        return False  # the parent decides when to stop, and kills us

    while True:
        command, argument = connection.recv()
        answer: Any
        if command == "start":
            answer = expander.propose_initial()
        elif command == "expand":
            answer = expander.expand(tick)
            tick(len(expander.frontier), sum(answer.taken.values()))
        elif command == "accept":
            keep, gives, depth, woken = argument
            answer = expander.accept(keep, gives, depth, woken=woken)
        elif command == "receive":
            answer = expander.receive(*argument)
        elif command == "frontier":
            answer = expander.frontier_items()
        elif command == "load":
            expander.set_frontier(argument[0])
            expander.forget(argument[1], argument[2])
            answer = None
        else:
            answer = time.process_time()
        connection.send(answer)


class ProcessPool:
    """`options.workers` expanders in forked worker processes."""

    def __init__(
        self, target: Target[Any, Any], options: SearchOptions, tick: Tick, guard: Guard
    ) -> None:
        self.size = options.workers
        self.tick = tick
        context = multiprocessing.get_context("fork")
        self.counters = context.RawArray("q", 2 * self.size)
        self.processes = WorkerProcesses(
            guard,
            [partial(_serve, target, options, me, self.counters) for me in range(self.size)],
        )
        self.connections = self.processes.connections

    def propose_initial(self) -> list[Proposals] | None:
        return self._ask_all("start", None)

    def expand(self) -> list[Proposals] | None:
        for index in range(len(self.counters)):
            self.counters[index] = 0
        return self._ask_all("expand", None)

    def accept(
        self,
        keeps: list[list[int]],
        gives: list[list[list[int]]],
        depth: int,
        woken: list[list[int]],
    ) -> list[Accepted] | None:
        for worker, connection in enumerate(self.connections):
            connection.send(("accept", (keeps[worker], gives[worker], depth, woken[worker])))
        return self._collect(range(self.size))

    def receive(self, shipments: dict[int, list[bytes]], depth: int) -> list[Accepted] | None:
        for receiver, batch in shipments.items():
            self.connections[receiver].send(("receive", (batch, depth)))
        return self._collect(sorted(shipments))

    def frontiers(self) -> list[list[FrontierItem]]:
        # A checkpoint is written whole: a stop asked meanwhile waits for it.
        for connection in self.connections:
            connection.send(("frontier", None))
        answers = self._collect(range(self.size), stoppable=False)
        assert answers is not None
        return answers

    def load(
        self, frontiers: list[list[FrontierItem]], violated: set[str], reached: set[str]
    ) -> None:
        for worker, connection in enumerate(self.connections):
            connection.send(("load", (frontiers[worker], violated, reached)))
        self._collect(range(self.size), stoppable=False)

    def cpu_seconds(self) -> list[float]:
        if not self.processes.running():
            return []
        answers = self._ask_all("finish", None)
        return list(answers) if answers is not None else []

    def close(self) -> None:
        self.processes.stop()

    def _ask_all(self, command: str, argument: Any) -> list[Any] | None:
        for connection in self.connections:
            connection.send((command, argument))
        return self._collect(range(self.size))

    def _collect(self, workers: Iterable[int], stoppable: bool = True) -> list[Any] | None:
        """One answer from each of `workers`, in their order; None if the search is to
        stop first (then the workers are killed), unless not `stoppable`."""
        answers: dict[int, Any] = {}
        waiting = {self.connections[index]: index for index in workers}
        counters = self.counters
        while waiting:
            for connection in wait(list(waiting), timeout=POLL):
                assert isinstance(connection, Connection)
                index = waiting.pop(connection)
                try:
                    answer = connection.recv()
                except EOFError:
                    raise WorkerError(f"worker {index} exited without answering") from None
                if isinstance(answer, WorkerFailure):
                    raise WorkerError(f"worker {answer.worker} failed: {answer.error}")
                answers[index] = answer
            done = sum(counters[2 * w] for w in range(self.size))
            transitions = sum(counters[2 * w + 1] for w in range(self.size))
            if self.tick(done, transitions) and stoppable:
                self.processes.stop()
                return None
        return [answers[index] for index in sorted(answers)]
