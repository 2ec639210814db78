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
- the compiled tree (`make fast`): the explorer's cost per transition there over the
  raw step (measured here, from the sources: raft_ref is never compiled), and the
  default command's seconds from the sources and compiled;
- symmetry over node ids (on by default): distinct states and seconds of the default
  command with and without it, on 3 nodes and on 5 (depth 10, `--max-msgs 5`), and the
  cost per state with it (the canonical form, and fewer repeats for the step memo).

The per-transition figures are measured without symmetry and without partial-order
reduction, so that they compare the explorer's work on one transition with the raw
step; symmetry then divides the number of states and transitions, and partial-order
reduction the transitions (benchmarks/partial_order.py).
"""

from __future__ import annotations

import time

from checks.benchmarks import Report, compiled_tree, explore_command
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


def _cli_run(depth: int, *extra: str) -> tuple[float, int]:
    """Seconds of search and distinct states of the command, one worker, own process."""
    document = explore_command("--depth", str(depth), *extra)
    return float(document["seconds"]), int(document["distinct_states"])


def _cli_seconds(depth: int, *extra: str) -> float:
    return _cli_run(depth, *extra)[0]


def run(report: Report) -> None:
    target = build_impl_target()
    states = _sample_states(target, SAMPLE_DEPTH)
    raw, full, count = _time_deliveries(target, states)
    report("raw cluster step (deliver + application loop)", raw / count * 1e6, "us")
    report("copy + step + fingerprint", full / count * 1e6, "us")
    report("copy + step + fingerprint / raw step", full / raw, "x")

    target = build_impl_target()
    one = explore(target, SearchOptions(max_depth=12, symmetry=False, por=False, workers=1))
    per_transition = one.seconds / one.transitions
    report("explorer per transition (all checks), depth 12", per_transition * 1e6, "us")
    report("explorer per transition / raw step", per_transition / (raw / count), "x")
    memo = target.memo
    assert memo is not None
    asked = memo.hits + memo.misses
    report("node steps taken / asked (the step memo)", memo.misses / asked, "")
    # Every action is carried out on the nodes, also when its result leaves the bounds
    # (to report an implementation that diverges into them); one node step each.
    report("steps carried out per transition kept", asked / one.transitions, "")
    report("explorer per step carried out / raw step", one.seconds / asked / (raw / count), "x")
    unmemoized = build_impl_target()
    unmemoized.memo = None
    plain = explore(unmemoized, SearchOptions(max_depth=12, symmetry=False, por=False, workers=1))
    assert plain.distinct_states == one.distinct_states and plain.transitions == one.transitions
    report(
        "explorer per transition without the memo / raw step",
        plain.seconds / plain.transitions / (raw / count),
        "x",
    )
    report("step memo speedup (same search)", plain.seconds / one.seconds, "x")
    report("distinct states, default run (depth 12)", one.distinct_states, "states")
    report("distinct states/s, 1 worker", one.states_per_second, "states/s")
    two = explore(
        build_impl_target(), SearchOptions(max_depth=12, symmetry=False, por=False, workers=2)
    )
    report("distinct states/s, 2 workers", two.states_per_second, "states/s")
    report("--workers 2 speedup (wall clock)", one.seconds / two.seconds, "x")

    # Each in a fresh process: a search run after a larger one in the same process is
    # slowed by the heap and caches that one leaves.
    for shape, depth, extra in (
        ("3 nodes", 12, ()),
        ("5 nodes", 10, ("--nodes", "5", "--max-msgs", "5")),
    ):
        plain_s, plain_n = _cli_run(depth, "--no-symmetry", *extra)
        sym_s, sym_n = _cli_run(depth, *extra)
        report(f"{shape} depth {depth}: distinct states without symmetry", plain_n, "states")
        report(
            f"{shape} depth {depth}: distinct states with symmetry (the default)", sym_n, "states"
        )
        report(f"{shape} depth {depth}: symmetry reduction", plain_n / sym_n, "x")
        report(f"{shape} depth {depth}: seconds without / with symmetry", plain_s / sym_s, "x")
        report(
            f"{shape} depth {depth}: cost per state with symmetry over without",
            (sym_s / sym_n) / (plain_s / plain_n),
            "x",
        )

    tree = compiled_tree()
    if tree is not None:
        argv = ("--depth", "12", "--no-symmetry", "--no-por")
        sources = explore_command(*argv)
        compiled = explore_command(*argv, tree=tree)
        assert compiled["distinct_states"] == sources["distinct_states"]
        assert compiled["transitions"] == sources["transitions"]
        per_transition = compiled["seconds"] / compiled["transitions"]
        report("compiled tree: explorer per transition kept, depth 12", per_transition * 1e6, "us")
        report(
            "compiled tree: explorer per transition kept / raw step",
            per_transition / (raw / count),
            "x",
        )
        report(
            "compiled tree: search seconds, sources / compiled",
            sources["seconds"] / compiled["seconds"],
            "x",
        )
        default_sources = explore_command("--depth", "12")
        default_compiled = explore_command("--depth", "12", tree=tree)
        report(
            "default command, 1 worker, seconds from the sources", default_sources["seconds"], "s"
        )
        report("default command, 1 worker, seconds compiled", default_compiled["seconds"], "s")

    with_contracts = _cli_seconds(CONTRACTS_DEPTH)
    without = _cli_seconds(CONTRACTS_DEPTH, "--no-contracts")
    report(f"depth {CONTRACTS_DEPTH} search, contracts on", with_contracts, "s")
    report(f"depth {CONTRACTS_DEPTH} search, --no-contracts", without, "s")
    report("contracts on / off", with_contracts / without, "x")
