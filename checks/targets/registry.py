"""The targets `python -m checks.explore --target` can build, by name: how to build each
from a command line's request, and which broken versions it offers. The CLI, trace
replay and the benchmarks look targets up here; each target module is imported only
when it is built (so that `--no-contracts` takes effect before raft_ref is loaded)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.broken import of_target
from checks.engine.target import Target


@dataclass(frozen=True)
class TargetRequest:
    """What the command line asks of a target. None bounds mean the target's defaults."""

    nodes: int
    pre_vote: bool = False
    variant: str | None = None
    bounds: Mapping[str, object] = field(default_factory=dict)
    check_quorum: bool = False


@dataclass(frozen=True)
class TargetChoice:
    """One value of --target: how to build it and which broken variants it offers."""

    description: str
    build: Callable[[TargetRequest], Target[Any, Any]] | None  # None: not available yet
    variants: Callable[[], Mapping[str, str]] = dict  # name -> what it breaks


def _model_variants() -> Mapping[str, str]:
    return {name: b.breaks for name, b in of_target("model").items()}


def _impl_variants() -> Mapping[str, str]:
    return {name: b.breaks for name, b in of_target("impl").items()}


def _request_arguments(request: TargetRequest) -> dict[str, Any]:
    """What every target builder takes from a request (the bounds given)."""
    bounds = {name: value for name, value in request.bounds.items() if value is not None}
    return {
        "nodes": request.nodes,
        "pre_vote": request.pre_vote,
        "check_quorum": request.check_quorum,
        **bounds,
    }


def _build_model(request: TargetRequest) -> Target[Any, Any]:
    from checks.targets.model_target import ModelTarget  # noqa: PLC0415

    return ModelTarget(variant=request.variant, **_request_arguments(request))


def _build_impl(request: TargetRequest) -> Target[Any, Any]:
    # Imported when built: raft_ref loads then, after --no-contracts took effect.
    from checks.targets.impl_target import ImplTarget  # noqa: PLC0415

    return ImplTarget(mutant=request.variant, **_request_arguments(request))


TARGETS: dict[str, TargetChoice] = {
    "impl": TargetChoice(
        "clusters of raft_ref nodes, every step checked against the model",
        _build_impl,
        _impl_variants,
    ),
    "model": TargetChoice("the protocol model alone (model/)", _build_model, _model_variants),
}
