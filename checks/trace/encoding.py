"""From a target's path (actions and states) to a `Trace`.

How a target's states become ITF values, in order of preference:
1. the target's own optional methods `trace_state(state) -> dict[str, Value]` and
   `trace_params(action) -> dict[str, Value]` (structured, see checks/trace/itf.py);
2. for the protocol model, checks/trace/model_encoding.py;
3. otherwise its `describe_state` JSON, turned into ITF values as it is (objects whose
   keys are all integers become maps from server id).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from checks.engine.target import Target
from checks.targets.model_target import ModelTarget
from checks.trace import model_encoding
from checks.trace.document import INIT, Trace, TraceMeta, TraceStep
from checks.trace.itf import ItfMap, Unserializable, Value

StateEncoder = Callable[[Any], dict[str, Value]]
ParamsEncoder = Callable[[Any], dict[str, Value]]


def encoders_for(target: Target[Any, Any]) -> tuple[StateEncoder, ParamsEncoder]:
    """How to write `target`'s states and action parameters (see the module docstring)."""
    own_state = getattr(target, "trace_state", None)
    own_params = getattr(target, "trace_params", None)
    if callable(own_state) and callable(own_params):
        return own_state, own_params
    if isinstance(target, ModelTarget):
        return model_encoding.state_variables, model_encoding.action_params

    def described(state: Any) -> dict[str, Value]:
        return from_json(target.describe_state(state))

    return described, _no_params


def _no_params(action: Any) -> dict[str, Value]:
    return {}


def from_json(data: Any) -> dict[str, Value]:
    """A `describe_state` object as ITF variables (one per top-level field)."""
    if not isinstance(data, dict):
        return {"state": json_value(data)}
    return {str(name): json_value(value) for name, value in data.items()}


def json_value(data: Any) -> Value:
    """Plain JSON as an ITF value: objects keyed by integers become maps."""
    if data is None:
        return Unserializable("null")
    if isinstance(data, bool | int | str):
        return data
    if isinstance(data, float):
        return Unserializable(repr(data))
    if isinstance(data, list | tuple):
        return [json_value(v) for v in data]
    if isinstance(data, dict):
        keys = [str(k) for k in data]
        if keys and all(k.lstrip("-").isdigit() for k in keys):
            return ItfMap.of(
                (int(k), json_value(v)) for k, v in zip(keys, data.values(), strict=True)
            )
        return {str(k): json_value(v) for k, v in data.items() if not str(k).startswith("#")}
    return Unserializable(str(data))


def trace_from_path(
    target: Target[Any, Any], path: Sequence[tuple[Any, Any]], meta: TraceMeta
) -> Trace:
    """The trace of `path` (`path[0]` is `(None, initial state)`, then `(action, state)`)."""
    encode_state, encode_params = encoders_for(target)
    steps = []
    for action, state in path:
        if action is None:
            steps.append(TraceStep(INIT, INIT, {}, encode_state(state)))
        else:
            steps.append(
                TraceStep(
                    target.format_action(action),
                    target.action_kind(action),
                    encode_params(action),
                    encode_state(state),
                )
            )
    return Trace(meta, _same_variables(steps))


ABSENT = Unserializable("absent")


def _same_variables(steps: list[TraceStep]) -> list[TraceStep]:
    """ITF needs every variable in every state: a variable some states lack (a target's
    describe_state may add a field only when it applies) gets the value `ABSENT` there."""
    names: dict[str, None] = {}
    for step in steps:
        names.update(dict.fromkeys(step.state))
    if all(list(step.state) == list(names) for step in steps):
        return steps
    return [
        TraceStep(
            step.action, step.kind, step.params, {n: step.state.get(n, ABSENT) for n in names}
        )
        for step in steps
    ]
