"""The explorer on clusters of raft_ref nodes (the default target): cost and speed.

Figures, each measured in this run:
- the raw cost of one cluster step (a delivered message: the receiver steps it and runs
  its application loop, on a node copied beforehand), the cost of copy + step +
  fingerprint as the explorer does it, and the explorer's whole cost per transition
  (with every property, the refinement check included) over the raw step: the overhead
  figure to drive toward 1;
- distinct states per second of the default command (`--nodes 3 --depth 12`) with one
  worker and with two, and the speedup;
- the step memo: the share of node steps actually taken, and the same search without
  it;
- the contracts' cost: the same search at a smaller depth in a fresh process with
  contracts on and with `--no-contracts`;
- symmetry: none for this target (node ids are part of raft_ref's own state), reported
  as a reduction of 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checks.benchmarks import Report
from checks.cluster.actions import perform
from checks.cluster.app import handle_ready
from checks.cluster.cluster import Cluster
from checks.engine.outcome import SearchOptions
from checks.engine.search import explore
from checks.refinement import abstract, concrete_key
from checks.targets.impl_target import ImplTarget, build_impl_target
from model.actions import enabled

SAMPLE_DEPTH = 8  # states whose deliveries are timed
CONTRACTS_DEPTH = 10


def _sample_states(target: ImplTarget, depth: int) -> list[Cluster]:
    frontier = list(target.initial_states())
    states = list(frontier)
    for _ in range(depth):
        frontier = [after for c in frontier for _, after in target.successors(c)]
        states += frontier[:200]
        frontier = frontier[:200]
    return states


def _time_deliveries(target: ImplTarget, states: list[Cluster]) -> tuple[float, float, int]:
    """Seconds for raw steps and for copy + step + fingerprint, over the same deliveries."""
    settings, p = target.settings, target.params
    raw = full = 0.0
    count = 0
    for c in states:
        for action in enabled(p, abstract(p, c)):
            if action.name != "Deliver":
                continue
            key = concrete_key(p, c, action.args[0])
            m, _ = c.net[key]
            node = c.node(m.to).clone()
            started = time.perf_counter()
            try:
                node.step(m)
                handle_ready(node)
            except Exception:
                pass
            raw += time.perf_counter() - started
            started = time.perf_counter()
            perform(settings, c, action, key).fingerprint()
            full += time.perf_counter() - started
            count += 1
    return raw, full, count


def _cli_seconds(depth: int, *extra: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        argv = [sys.executable, "-m", "checks.explore", "--depth", str(depth), "--workers", "1"]
        argv += ["--no-progress", "--json", str(summary), *extra]
        subprocess.run(argv, check=True, capture_output=True)
        seconds: float = json.loads(summary.read_text())["seconds"]
        return seconds


def run(report: Report) -> None:
    target = build_impl_target()
    states = _sample_states(target, SAMPLE_DEPTH)
    raw, full, count = _time_deliveries(target, states)
    report("raw cluster step (deliver + application loop)", raw / count * 1e6, "us")
    report("copy + step + fingerprint", full / count * 1e6, "us")
    report("copy + step + fingerprint / raw step", full / raw, "x")

    target = build_impl_target()
    one = explore(target, SearchOptions(max_depth=12, symmetry=False, workers=1))
    per_transition = one.seconds / one.transitions
    report("explorer per transition (all checks), depth 12", per_transition * 1e6, "us")
    report("explorer per transition / raw step", per_transition / (raw / count), "x")
    memo = target.memo
    assert memo is not None
    report("node steps taken / asked (the step memo)", memo.misses / (memo.hits + memo.misses), "")
    unmemoized = build_impl_target()
    unmemoized.memo = None
    plain = explore(unmemoized, SearchOptions(max_depth=12, symmetry=False, workers=1))
    assert plain.distinct_states == one.distinct_states and plain.transitions == one.transitions
    report(
        "explorer per transition without the memo / raw step",
        plain.seconds / plain.transitions / (raw / count),
        "x",
    )
    report("step memo speedup (same search)", plain.seconds / one.seconds, "x")
    report("distinct states, default run (depth 12)", one.distinct_states, "states")
    report("distinct states/s, 1 worker", one.states_per_second, "states/s")
    two = explore(build_impl_target(), SearchOptions(max_depth=12, symmetry=False, workers=2))
    report("distinct states/s, 2 workers", two.states_per_second, "states/s")
    report("--workers 2 speedup (wall clock)", one.seconds / two.seconds, "x")
    report("symmetry reduction (none for impl: ids are in raft_ref state)", 1.0, "x")

    with_contracts = _cli_seconds(CONTRACTS_DEPTH)
    without = _cli_seconds(CONTRACTS_DEPTH, "--no-contracts")
    report(f"depth {CONTRACTS_DEPTH} search, contracts on", with_contracts, "s")
    report(f"depth {CONTRACTS_DEPTH} search, --no-contracts", without, "s")
    report("contracts on / off", with_contracts / without, "x")
