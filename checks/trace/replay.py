"""Re-executing a trace on its target: rebuild the target from `#meta`, follow the
recorded actions (each matched by the target's `format_action` among the successors of
the current state), and check where the recorded property fails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from checks.engine.target import Expectation, Property, Target
from checks.trace.document import (
    PropertyInfo,
    Trace,
    TraceError,
    TraceMeta,
    from_itf,
    read_json,
)
from checks.trace.encoding import ABSENT, encoders_for, trace_from_path
from checks.trace.itf import Value

CONFORMANCE_SOURCE = "checks.conformance"


class ReplayError(TraceError):
    """The trace cannot be followed on its target (one line)."""


def build_target(meta: TraceMeta) -> Target[Any, Any]:
    """The target `meta` names, with the recorded node count, variant and bounds."""
    from checks.targets import TARGETS, TargetRequest  # noqa: PLC0415 (a cycle otherwise)

    if meta.source == CONFORMANCE_SOURCE:
        raise ReplayError(
            "a conformance trace has no explorer target: state graphs and shrinking need "
            "an explorer trace (replay re-runs the scenario)"
        )
    choice = TARGETS.get(meta.target)
    if choice is None:
        raise ReplayError(f"unknown target {meta.target!r} (known: {', '.join(TARGETS)})")
    if choice.build is None:
        raise ReplayError(f"target {meta.target!r} is not available in this version")
    if not isinstance(meta.nodes, int) or meta.nodes < 1:
        raise ReplayError("#meta.nodes must give the number of nodes")
    bounds: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in meta.bounds.items()
    }
    try:
        request = TargetRequest(meta.nodes, meta.pre_vote, meta.variant, bounds)
        if meta.check_quorum:
            request = replace(request, check_quorum=True)
        return choice.build(request)
    except (ValueError, TypeError) as error:
        raise ReplayError(f"cannot build target {meta.target!r} from #meta: {error}") from None


def find_property(target: Target[Any, Any], name: str) -> Property[Any, Any]:
    for prop in target.properties():
        if prop.name == name:
            if prop.expectation is Expectation.SOMETIMES:
                raise ReplayError(f"{name} is a reachability goal, not a property that fails")
            return prop
    raise ReplayError(f"target has no property {name!r}")


class Follower:
    """Follows action sequences on a target from its initial state, remembering the
    states of the prefixes already followed (shrinking tries many similar sequences)."""

    def __init__(self, target: Target[Any, Any], initial: Any) -> None:
        self.target = target
        self.initial = initial
        self._states: dict[tuple[str, ...], tuple[Any, Any]] = {(): (None, initial)}

    def follow(self, actions: Sequence[str]) -> list[tuple[Any, Any]] | int:
        """The path of `actions` (`(None, initial)` first), or the index (1-based step)
        of the first action not enabled where it is taken."""
        path: list[tuple[Any, Any]] = [(None, self.initial)]
        for k in range(len(actions)):
            prefix = tuple(actions[: k + 1])
            known = self._states.get(prefix)
            if known is None:
                state = path[-1][1]
                known = self._step(state, actions[k])
                if known is None:
                    return k + 1
                self._states[prefix] = known
            path.append(known)
        return path

    def _step(self, state: Any, text: str) -> tuple[Any, Any] | None:
        for action, after in self.target.successors(state):
            if self.target.format_action(action) == text:
                return action, after
        return None


def first_failure(prop: Property[Any, Any], path: Sequence[tuple[Any, Any]]) -> int | None:
    """The first step where `prop` fails along `path`, or None."""
    if prop.expectation is Expectation.ALWAYS:
        for k, (_, state) in enumerate(path):
            if not prop.check(state):
                return k
        return None
    for k in range(1, len(path)):
        action, after = path[k]
        if not prop.check(path[k - 1][1], action, after):
            return k
    return None


def same_state(encoded: dict[str, Value], recorded: dict[str, Value]) -> bool:
    """Whether a replayed state's variables are the recorded ones (a variable the state
    does not have is recorded as ABSENT)."""
    if not set(encoded) <= set(recorded):
        return False
    return all(encoded.get(name, ABSENT) == value for name, value in recorded.items())


def initial_state_of(target: Target[Any, Any], trace: Trace) -> Any:
    """The target's initial state that the trace starts from."""
    encode_state, _ = encoders_for(target)
    candidates = list(target.initial_states())
    for state in candidates:
        if same_state(encode_state(state), trace.steps[0].state):
            return state
    raise ReplayError("the trace's first state is not an initial state of its target")


@dataclass(frozen=True)
class ReplayResult:
    reproduced: bool
    message: str  # one line
    failed_at: int | None = None


def replay(trace: Trace) -> ReplayResult:
    """Whether the trace's property fails at the recorded step when re-executed."""
    meta = trace.meta
    if meta.source == CONFORMANCE_SOURCE:
        # A conformance scenario: replayed by running it again on its implementation.
        from checks.conformance.trace_replay import replay_conformance  # noqa: PLC0415

        return replay_conformance(trace)
    if meta.property is None or meta.violation_step is None:
        raise ReplayError("the trace records no violated property (#meta.property)")
    target = build_target(meta)
    prop = find_property(target, meta.property.name)
    encode_state, _ = encoders_for(target)
    follower = Follower(target, initial_state_of(target, trace))
    path = follower.follow([step.action for step in trace.steps[1:]])
    if isinstance(path, int):
        return ReplayResult(
            False, f"step {path}: {trace.steps[path].action!r} is not enabled on replay"
        )
    for k, (_, state) in enumerate(path):
        if not same_state(encode_state(state), trace.steps[k].state):
            return ReplayResult(False, f"state {k} differs from the recorded one on replay")
    failed = first_failure(prop, path)
    expected = meta.violation_step
    name = meta.property.name
    if failed == expected:
        return ReplayResult(True, f"reproduced: {name} fails at step {failed}", failed)
    if failed is None:
        return ReplayResult(False, f"not reproduced: {name} holds on every replayed step")
    return ReplayResult(
        False, f"not reproduced: {name} fails at step {failed}, recorded at {expected}", failed
    )


def trace_from_counterexample(document: dict[str, Any]) -> Trace:
    """The trace of a counterexample in `checks.engine.counterexample`'s JSON format,
    rebuilt by re-executing its actions on its target (so states get their structured
    ITF form)."""
    try:
        steps = document["steps"]
        command = str(document.get("command", ""))
        actions = [str(step["action"]) for step in steps[1:]]
        nodes = document.get("nodes")
        if nodes is None:  # older files: the voters of the first server at the start
            first = next(iter(steps[0]["state"]["servers"].values()))
            nodes = len(first["voters"])
        meta = TraceMeta(
            target=str(document["target"]),
            variant=document.get("variant"),
            nodes=int(nodes),
            pre_vote=bool(document.get("pre_vote", "--pre-vote" in command.split())),
            check_quorum=bool(document.get("check_quorum", "--check-quorum" in command.split())),
            bounds=dict(document.get("bounds") or {}),
            seed=int(document.get("seed", 0)),
            command=command,
            property=PropertyInfo(str(document["property"]), str(document["kind"])),
            violation_step=int(document["depth"]),
        )
    except (KeyError, TypeError, ValueError, StopIteration, AttributeError, IndexError):
        raise TraceError("malformed checks.explore counterexample") from None
    target = build_target(meta)
    prop = find_property(target, meta.property.name)  # type: ignore[union-attr]
    meta = replace(meta, property=PropertyInfo(prop.name, prop.expectation.value, prop.description))
    follower = Follower(target, target.initial_states()[0])
    path = follower.follow(actions)
    if isinstance(path, int):
        raise ReplayError(f"step {path}: {actions[path - 1]!r} is not enabled on replay")
    return trace_from_path(target, path, meta)


def load_trace(path: Path) -> Trace:
    """An ITF trace file, or a `checks.explore` counterexample JSON converted to one."""
    document = read_json(path)
    if isinstance(document, dict) and "states" in document and "vars" in document:
        try:
            return from_itf(document)
        except TraceError as error:
            raise TraceError(f"{path}: {error}") from None
        except RecursionError:
            raise TraceError(f"{path}: values nested too deeply") from None
    if isinstance(document, dict) and {"steps", "property", "target"} <= set(document):
        try:
            return trace_from_counterexample(document)
        except TraceError as error:
            raise TraceError(f"{path}: {error}") from None
    raise TraceError(
        f"{path}: foreign JSON: neither an ITF trace (vars, states) nor a checks.explore "
        "counterexample"
    )
