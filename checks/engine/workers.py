"""What worker processes share: how a failure travels back to the parent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerFailure:
    """Sent instead of an answer when a worker raised an exception."""

    worker: int
    error: str


class WorkerError(RuntimeError):
    """A worker process failed; the message names the worker and its exception."""
