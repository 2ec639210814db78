"""Collects the properties of every family and decides them, on one or more processes."""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from checks.quorum import bounded, code_tie, commit_rule, model_tie, unbounded
from checks.quorum.properties import Obligation, Result, check
from checks.quorum.spec import Variant

__all__ = ["DEFAULT_MAX_IDS", "FAMILIES", "WorkerDied", "all_properties", "run"]

DEFAULT_MAX_IDS = 9
FAMILIES = (
    unbounded.FAMILY,
    bounded.FAMILY,
    commit_rule.FAMILY,
    code_tie.FAMILY,
    model_tie.FAMILY,
)


def all_properties(
    variant: Variant = Variant.RAFT, max_ids: int = DEFAULT_MAX_IDS
) -> list[Obligation]:
    return [
        *unbounded.properties(variant),
        *bounded.properties(variant, max_ids),
        *commit_rule.properties(variant, max_ids),
        *code_tie.properties(variant, max_ids),
        *model_tie.properties(variant, max_ids),
    ]


def _check_all(props: Sequence[Obligation]) -> list[Result]:
    return [check(p) for p in props]


def run(
    props: Sequence[Obligation], jobs: int = 1, decided: list[Result] | None = None
) -> list[Result]:
    """Decides every property; results come back in the order of `props`.

    With several jobs, each group of properties (see `Obligation.group`) goes to a
    worker process as a unit; the slowest groups are submitted first. Results are
    appended to `decided` as they come, so a caller interrupted midway keeps them;
    an interruption stops the worker processes.
    """
    sink: list[Result] = [] if decided is None else decided
    if jobs <= 1:
        for prop in props:
            sink.append(check(prop))
    else:
        _run_in_workers(props, jobs, sink)
    by_key = {(r.prop.family, r.prop.name): r for r in sink}
    return [by_key[p.family, p.name] for p in props]


_DIED = "a worker process died before deciding its properties"


class WorkerDied(Exception):
    """A worker process ended without deciding its batch (killed, out of memory)."""


def _run_in_workers(props: Sequence[Obligation], jobs: int, sink: list[Result]) -> None:
    groups: dict[str, list[Obligation]] = {}
    for prop in props:
        groups.setdefault(prop.group or f"{prop.family}.{prop.name}", []).append(prop)
    batches = sorted(groups.values(), key=lambda batch: -_expected_cost(batch))
    # "spawn" and one batch per process: every batch starts in a fresh interpreter, so
    # Z3's answers (and the counterexamples drawn) do not depend on which batches a
    # worker happened to decide before.
    context = multiprocessing.get_context("spawn")
    workers = min(jobs, len(batches))  # no idle processes, whatever --jobs says
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_ignore_sigint,
        max_tasks_per_child=1,
    )
    # `submit` starts worker processes. It runs in a thread of its own, since a signal
    # is handled in the main thread only: one handled while a process is being started
    # (Ctrl-C raising Interrupted there) would leave that process half-started, and it
    # would print a traceback of its own.
    submitted = _Submitter(pool, batches)
    submitted.start()
    finished = False
    try:
        submitted.join()
        if submitted.error is not None:
            raise submitted.error
        for future in submitted.futures:
            sink.extend(future.result())
        finished = True
    except BrokenProcessPool:
        raise WorkerDied(_DIED) from None
    except (OSError, RuntimeError):
        # A worker that dies during `submit` breaks the pool under it: `submit` then
        # finds the pool shut, or hands a new process the queue the pool has closed.
        if not getattr(pool, "_broken", False):
            raise
        raise WorkerDied(_DIED) from None
    finally:
        if finished:
            pool.shutdown(wait=True)  # every worker has decided its batch and ends
        else:
            _stop(pool, submitted)


class _Submitter(threading.Thread):
    """Submits every batch to the pool, keeping the futures, or the error that stopped it."""

    def __init__(self, pool: ProcessPoolExecutor, batches: list[list[Obligation]]) -> None:
        super().__init__(name="quorum-submit", daemon=True)
        self.pool = pool
        self.batches = batches
        self.futures: list[Future[list[Result]]] = []
        self.error: Exception | None = None

        self.stopping = False

    def run(self) -> None:
        try:
            for batch in self.batches:
                if self.stopping:
                    return
                self.futures.append(self.pool.submit(_check_all, batch))
        except Exception as error:  # the pool broke: the main thread reports it
            self.error = error


def _stop(pool: ProcessPoolExecutor, submitted: _Submitter) -> None:
    """Ends the pool at once: workers still deciding are terminated, not waited for.
    No process is left half-started: the submitting thread, and the pool's own thread
    (which starts a fresh process for each batch), finish starting theirs first. The
    pool is shut only once its thread has ended: shut earlier, a worker ending its
    batch makes that thread fail (CPython 3.11, with `max_tasks_per_child`)."""
    submitted.stopping = True
    submitted.join()
    for future in submitted.futures:
        future.cancel()
    processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
    manager: threading.Thread | None = getattr(pool, "_executor_manager_thread", None)
    _terminate(processes)  # the pool's thread sees them end, and ends too
    if manager is not None:
        manager.join(timeout=5)
    _terminate(processes)  # any process that thread started meanwhile
    pool.shutdown(wait=False, cancel_futures=True)


def _terminate(processes: dict[int, Any]) -> None:
    running = list(processes.values())
    for process in running:
        process.terminate()
    for process in running:
        process.join(timeout=5)


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _expected_cost(batch: Sequence[Obligation]) -> int:
    # The exhaustive code-tie checks take longest, the unbounded proofs least.
    weights = {code_tie.FAMILY: 3, model_tie.FAMILY: 2, commit_rule.FAMILY: 2, bounded.FAMILY: 1}
    return sum(weights.get(p.family, 0) for p in batch)
