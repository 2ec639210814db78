"""Worker processes on this machine: starting them, their failures, and ending them all.

Workers are forked, so they share the parent's process group (a terminal's Ctrl-C
reaches them too: they ignore it and leave stopping to the parent). Each closes the
pipe ends it inherited from its siblings, so a worker sees end-of-file as soon as the
parent goes away, and asks the kernel to kill it when the parent dies (guard.py). The
parent kills them all when a search ends for any reason: no worker outlives it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from checks.engine.guard import Guard, become_worker

JOIN_SECONDS = 1.0  # how long a worker gets to exit by itself before it is killed


@dataclass(frozen=True)
class WorkerFailure:
    """Sent instead of an answer when a worker failed outside the target's code."""

    worker: int
    error: str


class WorkerError(RuntimeError):
    """A worker process failed; the message names the worker and its exception."""


# A worker's work: it talks to the parent over the connection it is given.
WorkerBody = Callable[[Connection], None]


def _worker_main(
    body: WorkerBody, me: int, connection: Connection, inherited: Sequence[Connection], parent: int
) -> None:
    become_worker(parent)
    for other in inherited:
        other.close()
    try:
        body(connection)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the parent went away or stopped us: nothing left to answer
    except BaseException as error:
        with contextlib.suppress(OSError):
            connection.send(WorkerFailure(me, f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


class WorkerProcesses:
    """One forked process per body, with a pipe to each; `stop` ends them all."""

    def __init__(self, guard: Guard, bodies: Sequence[WorkerBody]) -> None:
        self.guard = guard
        context = multiprocessing.get_context("fork")
        self.connections: list[Connection] = []
        self.processes: list[Any] = []
        parent = os.getpid()
        try:
            for me, body in enumerate(bodies):
                mine, theirs = context.Pipe()
                process = context.Process(
                    target=_worker_main,
                    args=(body, me, theirs, list(self.connections), parent),
                    daemon=True,
                )
                process.start()
                theirs.close()
                self.connections.append(mine)
                self.processes.append(process)
        except BaseException:
            self.stop()
            raise
        guard.watch(process.pid for process in self.processes)

    def running(self) -> bool:
        return bool(self.processes)

    def stop(self, wait: bool = False) -> None:
        """Ends every worker: those still running are killed (after `JOIN_SECONDS` if
        `wait`, at once otherwise); their pipes are closed."""
        if not self.processes:
            return
        self.guard.watch(())
        for connection in self.connections:
            connection.close()
        for process in self.processes:
            if wait:
                process.join(timeout=JOIN_SECONDS)
            if process.is_alive():
                process.kill()
        for process in self.processes:
            process.join()
        self.processes = []
