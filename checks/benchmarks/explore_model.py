"""The explorer on the model: speed, memory, worker speedup and symmetry reduction.

Figures, each measured in this run:
- distinct states per second (wall clock and CPU) of the default command's search
  (`--target model --nodes 3`, BFS, symmetry on) in one process, cut to a depth a bench
  can afford, and the bytes per stored state;
- the same search with `--workers 2`: wall-clock speedup, the CPU it used over the
  one-process CPU, and from the CPU split (busiest worker + coordinator) the speedup two
  idle cores give, since a busy machine shows up as lost wall-clock speedup;
- distinct states at a smaller depth with and without symmetry, and their ratio;
- distinct states per second without symmetry at depth 12, one worker in its own
  process (the figure to set against other checkers', which count every state), from
  the sources and from the compiled tree (`make fast`), there also with `--no-por`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from checks.benchmarks import Report, compiled_tree, explore_command
from checks.engine.outcome import SearchOptions, SearchOutcome
from checks.engine.search import explore
from checks.engine.target import Target
from checks.targets import TARGETS, TargetRequest

SPEED_DEPTH = 11  # the default command goes to depth 12: over a minute, long for a bench
SYMMETRY_DEPTH = 9  # without symmetry, states grow about 6x faster


def model_target() -> Target[Any, Any]:
    build = TARGETS["model"].build
    assert build is not None
    return build(TargetRequest(nodes=3))


def cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of its finished children."""
    times = os.times()
    return times.user + times.system, times.children_user + times.children_system


def timed(target: Target[Any, Any], options: SearchOptions) -> tuple[SearchOutcome, float, float]:
    """The outcome, wall-clock seconds and CPU seconds (this process and workers)."""
    outcome, seconds, own, workers = timed_apart(target, options)
    return outcome, seconds, own + workers


def timed_apart(
    target: Target[Any, Any], options: SearchOptions
) -> tuple[SearchOutcome, float, float, float]:
    """The outcome, wall-clock seconds, CPU seconds of this process and of the workers."""
    own, children = cpu_seconds()
    started = time.perf_counter()
    outcome = explore(target, options)
    seconds = time.perf_counter() - started
    own_after, children_after = cpu_seconds()
    return outcome, seconds, own_after - own, children_after - children


def run(report: Report) -> None:
    # A fresh target for each search: the model remembers its steps with the target's
    # parameters (`Params.remembered`), which would speed up every search after the first.
    default, seconds, cpu = timed(model_target(), SearchOptions(max_depth=SPEED_DEPTH, workers=1))
    report(f"default run to depth {SPEED_DEPTH}: distinct states", default.distinct_states, "")
    report("default run: seconds (wall clock)", seconds, "s")
    report("default run: distinct states per second", default.states_per_second, "states/s")
    report("default run: distinct states per CPU second", default.distinct_states / cpu, "states/s")
    report("default run: transitions per second", default.transitions / seconds, "/s")
    report("default run: bytes per stored state", default.bytes_per_state, "B")

    two, two_seconds, coordinator_cpu, workers_cpu = timed_apart(
        model_target(), SearchOptions(max_depth=SPEED_DEPTH, workers=2)
    )
    assert two.distinct_states == default.distinct_states
    two_cpu = coordinator_cpu + workers_cpu
    report("--workers 2: seconds", two_seconds, "s")
    report("--workers 2 speedup over --workers 1 (wall clock)", seconds / two_seconds, "x")
    report("--workers 2 CPU over --workers 1 CPU (1.0 = no extra work)", two_cpu / cpu, "x")
    report("--workers 2: coordinator's share of the CPU", coordinator_cpu / two_cpu, "")
    # On two otherwise idle cores the workers run at once and the coordinator's
    # deduplication runs while they wait: the speedup this run's CPU figures allow.
    busiest = max(two.worker_cpu_seconds)
    report("--workers 2: busiest worker's share of the workers' CPU", busiest / workers_cpu, "")
    report(
        "--workers 2 speedup on two idle cores (from CPU times)",
        cpu / (busiest + coordinator_cpu),
        "x",
    )

    reduced = explore(model_target(), SearchOptions(max_depth=SYMMETRY_DEPTH, symmetry=True))
    full = explore(model_target(), SearchOptions(max_depth=SYMMETRY_DEPTH, symmetry=False))
    report(f"depth {SYMMETRY_DEPTH}: distinct states with symmetry", reduced.distinct_states, "")
    report(f"depth {SYMMETRY_DEPTH}: distinct states without symmetry", full.distinct_states, "")
    report(
        "symmetry reduction (without / with)", full.distinct_states / reduced.distinct_states, "x"
    )
    report(
        "symmetry cost per state (with / without, seconds per state)",
        (reduced.seconds / reduced.distinct_states) / (full.seconds / full.distinct_states),
        "x",
    )

    # In its own process: a search after a larger one in this process is slowed by the
    # heap and caches that one leaves (the implementation's bench runs before this).
    argv = ("--target", "model", "--depth", "12", "--no-symmetry")
    sources = explore_command(*argv)
    report(
        "depth 12 without symmetry, distinct states per second (one worker, own process)",
        sources["distinct_states"] / sources["seconds"],
        "states/s",
    )
    tree = compiled_tree()
    if tree is not None:
        compiled = explore_command(*argv, tree=tree)
        assert compiled["distinct_states"] == sources["distinct_states"]
        report(
            "the same, compiled tree",
            compiled["distinct_states"] / compiled["seconds"],
            "states/s",
        )
        every = explore_command(*argv, "--no-por", tree=tree)
        report(
            "the same, compiled tree, --no-por (every transition taken)",
            every["distinct_states"] / every["seconds"],
            "states/s",
        )
