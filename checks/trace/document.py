"""A trace as raft-ref writes it: an ITF document with a known shape.

Variables of every state:
    action             the action taken, as the target formats it ("init" first); replay
                       matches it against the target's `format_action`
    mbt::actionTaken   the action's kind ("init" first), as Quint's model-based testing
                       names it
    mbt::nondetPicks   the action's parameters, a record (Quint's name too)
    ...                the state's own variables (for the model: `servers`, a map from
                       server id to a record; `network`, a map from message record to
                       its number of copies in flight; `budget`)

`#meta` holds the standard `format`, `format-description`, `source` and `description`,
and raft-ref's own fields: `version` (TRACE_VERSION), `target`, `variant`, `nodes`,
`pre_vote`, `check_quorum`, `bounds`, `seed`, `strategy`, `command`, `property` (name,
kind, description) and `violation_step` (index of the state where the property fails;
absent for a plain scenario trace). A trace of a conformance scenario (`source`
"checks.conformance") also has `conformance`: the scenario's text and what ran it
(`impl` or `adapter`, `mode`), which is what its replay re-runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.trace.itf import ADR_URL, ItfError, Value, decode, encode, validate

TRACE_VERSION = "raft-ref-trace/1"
ACTION = "action"
ACTION_TAKEN = "mbt::actionTaken"
NONDET_PICKS = "mbt::nondetPicks"
INIT = "init"
# Reading a trace takes about 14 times its size in memory; 16 MiB is some thousands of
# steps, far above what the explorer writes (a 50-step trace is 0.3 MiB).
MAX_TRACE_BYTES = 16 << 20


class TraceError(Exception):
    """A trace file that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class PropertyInfo:
    name: str
    kind: str  # "always" (invariant) or "always_step" (step invariant)
    description: str = ""


@dataclass(frozen=True)
class TraceMeta:
    """What produced the trace and how to produce it again."""

    target: str
    source: str = "checks.explore"
    variant: str | None = None
    nodes: int | None = None
    pre_vote: bool = False
    check_quorum: bool = False
    bounds: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    strategy: str | None = None
    command: str = ""
    property: PropertyInfo | None = None
    violation_step: int | None = None
    conformance: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # Bounds as JSON has them (tuples become lists), so a trace read back is equal.
        object.__setattr__(self, "bounds", json.loads(json.dumps(dict(self.bounds))))


@dataclass(frozen=True)
class TraceStep:
    """One state of the trace and the action that led to it."""

    action: str  # INIT for the first state
    kind: str
    params: dict[str, Value]
    state: dict[str, Value]  # the state's variables


@dataclass(frozen=True)
class Trace:
    meta: TraceMeta
    steps: list[TraceStep]

    @property
    def variables(self) -> list[str]:
        return list(self.steps[0].state) if self.steps else []


# --- writing --------------------------------------------------------------------------


def to_itf(trace: Trace) -> dict[str, Any]:
    """The ITF document of `trace`."""
    names = trace.variables
    states = []
    for index, step in enumerate(trace.steps):
        if list(step.state) != names:
            raise ItfError(f"step {index} has variables {list(step.state)}, expected {names}")
        state: dict[str, Any] = {"#meta": {"index": index}}
        state[ACTION] = step.action
        state[ACTION_TAKEN] = step.kind
        state[NONDET_PICKS] = encode(step.params)
        for name, value in step.state.items():
            state[name] = encode(value)
        states.append(state)
    return {
        "#meta": _meta_json(trace.meta),
        "vars": [ACTION, ACTION_TAKEN, NONDET_PICKS, *names],
        "states": states,
    }


def _meta_json(meta: TraceMeta) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format": "ITF",
        "format-description": ADR_URL,
        "source": f"raft-ref {meta.source}",
        "description": _description(meta),
        "version": TRACE_VERSION,
        "target": meta.target,
        "variant": meta.variant,
        "nodes": meta.nodes,
        "pre_vote": meta.pre_vote,
        "check_quorum": meta.check_quorum,
        "bounds": meta.bounds,
        "seed": meta.seed,
        "strategy": meta.strategy,
        "command": meta.command,
    }
    if meta.property is not None:
        out["property"] = {
            "name": meta.property.name,
            "kind": meta.property.kind,
            "description": meta.property.description,
        }
    if meta.violation_step is not None:
        out["violation_step"] = meta.violation_step
    if meta.conformance is not None:
        out["conformance"] = meta.conformance
    return out


def _description(meta: TraceMeta) -> str:
    what = meta.target + (f" (variant {meta.variant})" if meta.variant else "")
    if meta.property is None or meta.violation_step is None:
        return f"a trace of {what}"
    return f"{meta.property.name} violated at step {meta.violation_step} of {what}"


def dumps(trace: Trace) -> str:
    """The file text: stable key order and layout, so equal traces give equal bytes."""
    return _layout(to_itf(trace), 0)[1] + "\n"


LINE_WIDTH = 100


def _layout(value: Any, depth: int, lead: int = 0) -> tuple[str, str]:
    """(compact, laid out) JSON of `value`: a value that fits on its line (after `lead`
    characters of key) stays there, a larger object or array gets one member per line,
    indented by one space a level."""
    room = LINE_WIDTH - depth - lead
    if isinstance(value, dict) and value:
        keys = [json.dumps(k, ensure_ascii=False) for k in value]
        members = [
            (k, _layout(v, depth + 1, len(k) + 2))
            for k, v in zip(keys, value.values(), strict=True)
        ]
        compact = "{" + ", ".join(f"{k}: {c}" for k, (c, _) in members) + "}"
        if len(compact) <= room:
            return compact, compact
        pad = " " * (depth + 1)
        body = ",\n".join(f"{pad}{k}: {p}" for k, (_, p) in members)
        return compact, "{\n" + body + "\n" + " " * depth + "}"
    if isinstance(value, list) and value:
        items = [_layout(v, depth + 1) for v in value]
        compact = "[" + ", ".join(c for c, _ in items) + "]"
        if len(compact) <= room:
            return compact, compact
        pad = " " * (depth + 1)
        body = ",\n".join(f"{pad}{p}" for _, p in items)
        return compact, "[\n" + body + "\n" + " " * depth + "]"
    text = json.dumps(value, ensure_ascii=False)
    return text, text


def write_trace(path: Path, trace: Trace) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(trace), encoding="utf-8")
    return path


# --- reading --------------------------------------------------------------------------


def from_itf(document: Any) -> Trace:
    """The trace in an ITF document; raises TraceError (one line) when the document
    breaks ADR-015 or is not a raft-ref trace of a known version."""
    try:
        validate(document)
    except ItfError as error:
        raise TraceError(f"not a valid ITF trace: {error}") from None
    meta = document.get("#meta", {})
    version = meta.get("version")
    if version is None:
        raise TraceError("an ITF trace, but not one raft-ref wrote (no #meta.version)")
    if version != TRACE_VERSION:
        raise TraceError(f"unknown trace version {version!r} (this tool reads {TRACE_VERSION})")
    names = document["vars"]
    for required in (ACTION, ACTION_TAKEN, NONDET_PICKS):
        if required not in names:
            raise TraceError(f"a raft-ref trace needs the variable {required!r}")
    if not document["states"]:
        raise TraceError("the trace has no states")
    try:
        return Trace(_read_meta(meta, len(document["states"])), _read_steps(document, names))
    except (ItfError, TypeError, ValueError, KeyError) as error:
        raise TraceError(f"malformed raft-ref trace: {error}") from None


def _read_meta(meta: dict[str, Any], length: int) -> TraceMeta:
    prop = meta.get("property")
    info = None
    if prop is not None:
        info = PropertyInfo(str(prop["name"]), str(prop["kind"]), str(prop.get("description", "")))
    step = meta.get("violation_step")
    if step is not None and not (isinstance(step, int) and 0 <= step < length):
        raise ValueError(f"violation_step {step!r} is not an index of the {length} states")
    target = meta.get("target")
    if not isinstance(target, str):
        raise ValueError("#meta.target must name the target")
    bounds = meta.get("bounds") or {}
    if not isinstance(bounds, dict):
        raise ValueError("#meta.bounds must be an object")
    conformance = meta.get("conformance")
    if conformance is not None and not isinstance(conformance, dict):
        raise ValueError("#meta.conformance must be an object")
    return TraceMeta(
        target=target,
        source=str(meta.get("source", "")).removeprefix("raft-ref "),
        variant=meta.get("variant"),
        nodes=meta.get("nodes"),
        pre_vote=bool(meta.get("pre_vote", False)),
        check_quorum=bool(meta.get("check_quorum", False)),
        bounds=bounds,
        seed=int(meta.get("seed", 0)),
        strategy=meta.get("strategy"),
        command=str(meta.get("command", "")),
        property=info,
        violation_step=step,
        conformance=conformance,
    )


def _read_steps(document: dict[str, Any], names: list[str]) -> list[TraceStep]:
    own = [n for n in names if n not in (ACTION, ACTION_TAKEN, NONDET_PICKS)]
    steps = []
    for index, raw in enumerate(document["states"]):
        action, kind = raw[ACTION], raw[ACTION_TAKEN]
        params = decode(raw[NONDET_PICKS], f"state {index}.{NONDET_PICKS}")
        if not isinstance(action, str) or not isinstance(kind, str):
            raise ValueError(f"state {index}: {ACTION} and {ACTION_TAKEN} must be strings")
        if not isinstance(params, dict):
            raise ValueError(f"state {index}: {NONDET_PICKS} must be a record")
        state = {name: decode(raw[name], f"state {index}.{name}") for name in own}
        steps.append(TraceStep(action, kind, params, state))
    return steps


def read_json(path: Path) -> Any:
    """The JSON in `path`; TraceError (one line) when it cannot be read or parsed, or is
    larger than MAX_TRACE_BYTES."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # reading says why below
    if size > MAX_TRACE_BYTES:
        raise TraceError(
            f"{path}: {size / 2**20:.1f} MiB is above the limit of "
            f"{MAX_TRACE_BYTES >> 20} MiB for a trace file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TraceError(f"{path}: is a directory, not a trace file") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not a text file") from None
    except OSError as error:
        raise TraceError(f"{path}: {error.strerror or error}") from None
    if not text.strip():
        raise TraceError(f"{path}: empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        what = "truncated" if error.pos >= len(text.rstrip()) else "malformed"
        raise TraceError(
            f"{path}: {what} JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except RecursionError:
        raise TraceError(f"{path}: JSON nested too deeply") from None


def read_trace(path: Path) -> Trace:
    """Reads and checks an ITF trace file; TraceError (one line) on any problem."""
    document = read_json(path)
    try:
        return from_itf(document)
    except TraceError as error:
        raise TraceError(f"{path}: {error}") from None
    except RecursionError:
        raise TraceError(f"{path}: values nested too deeply") from None
