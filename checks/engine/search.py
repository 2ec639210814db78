"""Choosing a strategy: `explore(target, options)` runs the search the options ask for."""

from __future__ import annotations

from typing import Any

from checks.engine.bfs import BreadthFirstSearch
from checks.engine.dfs import DepthFirstSearch
from checks.engine.outcome import SearchOptions, SearchOutcome
from checks.engine.parallel_bfs import ParallelBreadthFirstSearch
from checks.engine.progress import SearchProgress, quiet
from checks.engine.random_walk import random_walks
from checks.engine.target import Target

STRATEGIES = ("bfs", "dfs", "random")


class UnsupportedOptions(ValueError):
    """The options ask for a combination no strategy offers."""


def explore(
    target: Target[Any, Any], options: SearchOptions, progress: SearchProgress | None = None
) -> SearchOutcome:
    """Explores `target` as `options` say; the outcome holds figures and violations."""
    progress = progress if progress is not None else quiet()
    progress.restart()
    if options.strategy == "bfs":
        if options.workers > 1:
            return ParallelBreadthFirstSearch(target, options, progress).run()
        return BreadthFirstSearch(target, options, progress).run()
    if options.strategy == "dfs":
        if options.workers > 1:
            raise UnsupportedOptions("dfs runs in one process: use --workers 1, or bfs/random")
        return DepthFirstSearch(target, options, progress).run()
    if options.strategy == "random":
        return random_walks(target, options, progress)
    raise UnsupportedOptions(f"unknown strategy {options.strategy!r}")
