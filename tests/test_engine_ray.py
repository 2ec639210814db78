"""The Ray engine on a local Ray cluster gives the results of a local run."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest

from checks.engine.outcome import SearchOptions, SearchOutcome
from checks.engine.search import explore
from checks.targets.impl_target import build_impl_target
from checks.targets.model_target import ModelTarget
from tests.test_engine_toys import CounterTarget, TokensTarget

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'raft-ref[cluster]'")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def same_figures(local: SearchOutcome, on_ray: SearchOutcome) -> None:
    assert on_ray.engine == "ray"
    assert on_ray.distinct_states == local.distinct_states
    assert on_ray.transitions == local.transitions
    assert on_ray.depth_reached == local.depth_reached
    assert on_ray.invariants == local.invariants
    assert on_ray.goals == local.goals
    assert [v.depth for v in on_ray.violations] == [v.depth for v in local.violations]


@pytest.mark.usefixtures("cluster")
@pytest.mark.parametrize("symmetry", [True, False])
def test_the_ray_engine_explores_the_model_as_a_local_run_does(symmetry: bool):
    target = ModelTarget(nodes=3)
    local = explore(target, SearchOptions(max_depth=7, workers=2, symmetry=symmetry))
    on_ray = explore(target, SearchOptions(max_depth=7, workers=2, symmetry=symmetry, engine="ray"))
    same_figures(local, on_ray)
    assert on_ray.visited_bytes > 0


@pytest.mark.usefixtures("cluster")
def test_the_ray_engine_explores_the_implementation_as_a_local_run_does():
    """Ray's workers are other processes: the clusters' fingerprints must be theirs too."""
    target = build_impl_target()
    local = explore(target, SearchOptions(max_depth=8, workers=2))
    on_ray = explore(target, SearchOptions(max_depth=8, workers=2, engine="ray"))
    same_figures(local, on_ray)


@pytest.mark.usefixtures("cluster")
def test_the_ray_engine_finds_a_shortest_counterexample_with_a_real_path():
    local = explore(CounterTarget(3), SearchOptions(max_depth=20))
    on_ray = explore(CounterTarget(3), SearchOptions(max_depth=20, workers=2, engine="ray"))
    same_figures(local, on_ray)
    path = on_ray.violations[0].path
    for (_, before), (action, after) in pairwise(path):
        assert (action, after) in list(CounterTarget(3).successors(before))
    tokens = explore(TokensTarget(4, 2), SearchOptions(max_depth=20, workers=2, engine="ray"))
    assert tokens.exhausted and tokens.distinct_states == 15
