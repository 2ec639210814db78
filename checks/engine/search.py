"""Choosing a strategy: `explore(target, options)` runs the search the options ask for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checks.engine.bfs import BreadthFirstSearch, LocalPool, Pool, PoolFactory
from checks.engine.dfs import DepthFirstSearch
from checks.engine.expansion import Tick
from checks.engine.guard import Guard, never_stops
from checks.engine.heap import searching
from checks.engine.outcome import SearchOptions, SearchOutcome
from checks.engine.parallel_bfs import ProcessPool
from checks.engine.progress import SearchProgress, quiet
from checks.engine.random_walk import random_walks
from checks.engine.target import Target

STRATEGIES = ("bfs", "dfs", "random")
ENGINES = ("local", "ray")
MAX_DFS_DEPTH = 0xFFFF  # DFS keeps each state's least depth in two bytes (visited.DepthTable)


class UnsupportedOptions(ValueError):
    """The options ask for a combination no strategy offers."""


def explore(
    target: Target[Any, Any],
    options: SearchOptions,
    progress: SearchProgress | None = None,
    guard: Guard | None = None,
) -> SearchOutcome:
    """Explores `target` as `options` say; the outcome holds figures and violations.

    `guard` decides when to stop early (signals, memory); the outcome then says why."""
    progress = progress if progress is not None else quiet()
    guard = guard if guard is not None else never_stops()
    progress.restart()
    _check(options)
    with searching():
        outcome = _run(target, options, progress, guard)
    outcome.peak_rss = guard.final_peak_rss()
    return outcome


def _run(
    target: Target[Any, Any], options: SearchOptions, progress: SearchProgress, guard: Guard
) -> SearchOutcome:
    if options.strategy == "bfs":
        return BreadthFirstSearch(target, options, progress, guard, _pools(options, guard)).run()
    if options.strategy == "dfs":
        return DepthFirstSearch(target, options, progress, guard).run()
    return random_walks(target, options, progress, guard)


def _check(options: SearchOptions) -> None:
    if options.strategy not in STRATEGIES:
        raise UnsupportedOptions(f"unknown strategy {options.strategy!r}")
    if options.engine not in ENGINES:
        raise UnsupportedOptions(f"unknown engine {options.engine!r}")
    if options.strategy == "dfs" and options.workers > 1:
        raise UnsupportedOptions("dfs runs in one process: use --workers 1, or bfs/random")
    if options.strategy == "dfs" and options.max_depth > MAX_DFS_DEPTH:
        raise UnsupportedOptions(f"dfs stores depths up to {MAX_DFS_DEPTH}: use a smaller --depth")
    if options.strategy != "bfs" and options.engine != "local":
        raise UnsupportedOptions("--engine ray runs bfs only")
    if options.strategy != "bfs" and (options.checkpoint or options.resume):
        raise UnsupportedOptions("checkpoints are for bfs only")
    if options.engine == "ray" and (options.checkpoint or options.resume):
        raise UnsupportedOptions("checkpoints are kept by --engine local only")
    if options.disk is not None and options.strategy != "bfs":
        raise UnsupportedOptions("--disk keeps the levels of bfs only")
    if options.disk is not None and options.engine != "local":
        raise UnsupportedOptions("--disk applies to --engine local only")
    if options.disk is not None and not Path(options.disk).is_dir():
        raise UnsupportedOptions(f"--disk: no directory {options.disk!r}")


def _pools(options: SearchOptions, guard: Guard) -> PoolFactory:
    """How BFS gets its expanders: here, in worker processes, or on Ray."""
    if options.engine == "ray":
        from checks.engine.ray_engine import RayPool  # noqa: PLC0415 (ray is optional)

        def ray_pool(target: Target[Any, Any], opts: SearchOptions, tick: Tick) -> Pool:
            pool: Pool = RayPool(target, opts, tick, guard)
            return pool

        return ray_pool
    if options.workers > 1:

        def processes(target: Target[Any, Any], opts: SearchOptions, tick: Tick) -> Pool:
            return ProcessPool(target, opts, tick, guard)

        return processes
    return LocalPool
