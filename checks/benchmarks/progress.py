"""What the explorer pays for the leader's peer bookkeeping: copying a ProgressSet,
and the commit rule `maximal_committed_index`, for 3 and 5 voters (plus a joint
configuration). `clone()` is set against `copy.deepcopy` of the same object in the
same run. Contract-bearing methods are measured with contracts as the environment
sets them (`RAFT_REF_CONTRACTS`); `clone()` carries none.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from functools import partial

from checks.benchmarks import Report
from raft_ref.contracts import ENABLED
from raft_ref.progress import Configuration, Progress, ProgressSet
from raft_ref.read_only import ReadOnly

CALLS = 20_000
REPEATS = 5


def _best_us_per_call(body: Callable[[], object], calls: int = CALLS) -> float:
    """The fastest of several runs, in microseconds per call."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for _ in range(calls):
            body()
        best = min(best, time.perf_counter() - started)
    return best * 1e6 / calls


def _leader_view(voters: int) -> ProgressSet:
    """A leader's progress set in steady replication: peers streaming, windows in use."""
    prs = ProgressSet()
    for id in range(1, voters + 1):
        prs.insert_voter(id, Progress(1, 256))
    for id, pr in prs.iter():
        pr.maybe_update(10 - id)
        pr.become_replicate()
        for index in range(11, 14):
            pr.update_state(index)
    return prs


def run(report: Report) -> None:
    state = "on" if ENABLED else "off"
    for voters in (3, 5):
        prs = _leader_view(voters)
        clone_us = _best_us_per_call(prs.clone)
        deepcopy_us = _best_us_per_call(partial(copy.deepcopy, prs), calls=CALLS // 10)
        report(f"ProgressSet.clone, {voters} voters", clone_us, "µs/op")
        report(f"copy.deepcopy / clone, {voters} voters", deepcopy_us / clone_us, "ratio")
        report(
            f"maximal_committed_index, {voters} voters, contracts {state}",
            _best_us_per_call(prs.maximal_committed_index),
            "µs/op",
        )

    joint = _leader_view(3)
    joint.begin_membership_change(Configuration([2, 3, 4, 5]), Progress(1, 256))
    report("ProgressSet.clone, joint 3 -> 4 voters", _best_us_per_call(joint.clone), "µs/op")
    report(
        f"maximal_committed_index, joint 3 -> 4 voters, contracts {state}",
        _best_us_per_call(joint.maximal_committed_index),
        "µs/op",
    )

    progress = _leader_view(3).get(2)
    assert progress is not None
    report("Progress.clone (3 inflights)", _best_us_per_call(progress.clone), "µs/op")
    report("ReadOnly.clone (empty)", _best_us_per_call(ReadOnly().clone), "µs/op")


if __name__ == "__main__":
    import sys

    from checks.bench import main

    sys.exit(main(["progress"]))
