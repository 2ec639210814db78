"""What the contracts cost: the same log (and quorum) operations with contracts on and off.

Contracts are decided when `raft_ref` is imported, so each setting runs in its own
subprocess (`python -m checks.benchmarks.contracts_overhead --child`), which prints the
microseconds per call of every operation as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from checks.benchmarks import Report
from raft_ref.eraftpb import Entry
from raft_ref.raft_log import RaftLog
from raft_ref.storage import MemStorage

ROUNDS = 20_000


def _timed(calls: int, body: Callable[[], None]) -> float:
    started = time.perf_counter()
    body()
    return (time.perf_counter() - started) * 1e6 / calls


def _measure_log() -> dict[str, float]:
    store = MemStorage.new_with_conf_state(([1], []))
    log = RaftLog(store, "bench")
    first = log.last_index() + 1
    new = [Entry(index=first + i, term=2, data=b"x") for i in range(2 * ROUNDS)]
    figures: dict[str, float] = {}

    def append() -> None:
        for i in range(ROUNDS):
            log.append(new[i : i + 1])

    def maybe_append() -> None:
        # A follower receiving the next entry after the one it has.
        for i in range(ROUNDS, 2 * ROUNDS):
            log.maybe_append(first + i - 1, 2, first + i - 1, new[i : i + 1])

    def term() -> None:
        last = log.last_index()
        for i in range(ROUNDS):
            log.term(last - (i & 63))

    def slice_() -> None:
        last = log.last_index()
        for i in range(ROUNDS):
            lo = last - 8 - (i & 63)
            log.slice(lo, lo + 8)

    def commit_to() -> None:
        # Rewind the commit index (a plain field) so that every call advances it.
        base = log.last_index() - ROUNDS - 1
        log.committed = base
        for i in range(1, ROUNDS + 1):
            log.commit_to(base + i)

    # A fresh, short log for the Ready cycle, so that dropping persisted entries from the
    # front of the unstable list costs what it does in a running node.
    ready_store = MemStorage.new_with_conf_state(([1], []))
    ready_log = RaftLog(ready_store, "bench")

    def ready_cycle() -> None:
        # Append one entry, persist it, tell the log it is stable.
        wl = ready_store.wl()
        for e in new[:ROUNDS]:
            ready_log.append([e])
            wl.append([e])
            ready_log.stable_to(e.index, e.term)

    for name, body in [
        ("RaftLog.append", append),
        ("RaftLog.maybe_append", maybe_append),
        ("RaftLog.term", term),
        ("RaftLog.slice", slice_),
        ("RaftLog.commit_to", commit_to),
        ("Ready cycle: append, persist, stable_to", ready_cycle),
    ]:
        figures[name] = _timed(ROUNDS, body)
    return figures


def _measure_progress() -> dict[str, float]:
    # The quorum part joins in once raft_ref.progress exists.
    try:
        progress_module: Any = importlib.import_module("raft_ref.progress")
    except ImportError:
        return {}
    prs = progress_module.ProgressSet()
    for node in range(1, 6):
        prs.insert_voter(node, progress_module.Progress(1, 256))
    progress = [prs.get(node) for node in range(1, 6)]
    votes = {1: True, 2: False, 3: True}
    figures: dict[str, float] = {}

    def maybe_update() -> None:
        for i in range(ROUNDS):
            pr = progress[i % 5]
            assert pr is not None
            pr.maybe_update(i // 5 + 1)

    def maximal_committed_index() -> None:
        for _ in range(ROUNDS):
            prs.maximal_committed_index()

    def candidacy_status() -> None:
        for _ in range(ROUNDS):
            prs.candidacy_status(votes)

    for name, body in [
        ("Progress.maybe_update", maybe_update),
        ("ProgressSet.maximal_committed_index", maximal_committed_index),
        ("ProgressSet.candidacy_status", candidacy_status),
    ]:
        figures[name] = _timed(ROUNDS, body)
    return figures


def _child() -> None:
    figures = _measure_log()
    figures.update(_measure_progress())
    print(json.dumps(figures))


def _run_child(contracts_on: bool) -> dict[str, float]:
    env = dict(os.environ, RAFT_REF_CONTRACTS="1" if contracts_on else "0")
    out = subprocess.run(
        [sys.executable, "-m", "checks.benchmarks.contracts_overhead", "--child"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(out.stdout)
    return figures


def run(report: Report) -> None:
    on = _run_child(contracts_on=True)
    off = _run_child(contracts_on=False)
    for name in on:
        report(f"{name}, contracts on", on[name], "µs/op")
        report(f"{name}, contracts off", off[name], "µs/op")
        report(f"{name}, on/off", on[name] / off[name], "ratio")
    total_on, total_off = sum(on.values()), sum(off.values())
    report("all operations (unweighted mean), on/off", total_on / total_off, "ratio")


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        _child()
    else:
        from checks.bench import main

        sys.exit(main(["contracts_overhead"]))
