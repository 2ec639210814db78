"""A conformance run as a raft-ref trace (ITF), so that a failing scenario gets the same
files as an explorer counterexample (`.itf.json`, `.msc.dot`/`.svg`, `.html`) and
`python -m checks.trace show|render|replay` work on it.

The trace has one state per scenario step: `init` (no nodes yet), then the state after
each step the driver played, ending at the step where the scenario failed. Variables:
    nodes     a map from node id to the node's `state` answer (its log as the terms of
              its entries from `first_index`; its configuration as sets)
    network   the messages in flight, in delivery order, decoded from eraftpb
`#meta.conformance` keeps the scenario text and what ran it; replaying re-runs it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from checks.conformance.driver import RecordedStep
from checks.conformance.model_check import model_checked_by_default
from checks.conformance.properties import REFINES_MODEL, REFINES_MODEL_RULE, SAFETY_PROPERTIES
from checks.conformance.protocol import ProtocolError, decode_message_b64
from checks.conformance.scenario import Scenario
from checks.trace.document import INIT, PropertyInfo, Trace, TraceMeta, TraceStep
from checks.trace.itf import ItfMap, ItfSet, Value
from checks.trace.replay import CONFORMANCE_SOURCE
from raft_ref.eraftpb import Entry, EntryType, Message

__all__ = [
    "ADAPTER_PROTOCOL",
    "EXPECTATION",
    "FAILURES",
    "SOURCE",
    "STRICT_AGREEMENT",
    "TARGET",
    "RunSpec",
    "conformance_trace",
    "trace_stem",
]

SOURCE = CONFORMANCE_SOURCE
TARGET = "conformance"

# What else than a safety property can make a scenario fail.
STRICT_AGREEMENT = "strict-agreement"
EXPECTATION = "expectation"
ADAPTER_PROTOCOL = "adapter-protocol"
FAILURES: dict[str, str] = {
    **SAFETY_PROPERTIES,
    REFINES_MODEL: REFINES_MODEL_RULE,
    STRICT_AGREEMENT: "the implementation answers every request as raft_ref does (strict mode)",
    EXPECTATION: "every `expect` step of the scenario holds (strict mode)",
    ADAPTER_PROTOCOL: "the adapter answers every command as PROTOCOL.md says",
}


@dataclass(frozen=True)
class RunSpec:
    """What ran a scenario: `--impl` or `--adapter`, and the mode."""

    impl: str | None
    adapter: str | None
    mode: str
    snapshot_term_of_entry: bool = False
    # Protocol mode: deliveries to followers checked against the model.
    model_check: bool = False

    def command(self, scenario: str) -> str:
        if self.impl is not None:
            target = f"--impl {self.impl}"
        else:
            target = f"--adapter {shlex.quote(self.adapter or '')}"
        if self.snapshot_term_of_entry:
            target += " --snapshot-term-of-entry"
        if self.mode == "protocol" and self.model_check != model_checked_by_default(self.impl):
            target += " --model-check" if self.model_check else " --no-model-check"
        return f"python -m checks.conformance {target} --mode {self.mode} --scenario {scenario}"

    def to_json(self, scenario: Scenario) -> dict[str, Any]:
        return {
            "scenario": scenario.name,
            "text": scenario.text(),
            "impl": self.impl,
            "adapter": self.adapter,
            "mode": self.mode,
            "snapshot_term_of_entry": self.snapshot_term_of_entry,
            "model_check": self.model_check,
        }


def trace_stem(scenario_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", scenario_name)


def conformance_trace(
    scenario: Scenario,
    recorded: list[RecordedStep],
    implementation: str,
    spec: RunSpec,
    failure: str | None,
) -> Trace:
    """The trace of a recorded run; `failure` names what failed at its last step."""
    steps = [TraceStep(INIT, INIT, {}, {"nodes": ItfMap(()), "network": []})]
    steps += [_trace_step(r) for r in recorded]
    nodes = {node for r in recorded for node in r.states}
    meta = TraceMeta(
        target=TARGET,
        source=SOURCE,
        variant=implementation,
        nodes=len(nodes),
        strategy=spec.mode,
        command=spec.command(scenario.name),
        property=None if failure is None else PropertyInfo(failure, "always", FAILURES[failure]),
        violation_step=None if failure is None else len(recorded),
        conformance=spec.to_json(scenario),
    )
    return Trace(meta, steps)


def _trace_step(recorded: RecordedStep) -> TraceStep:
    step = recorded.step
    params: dict[str, Value] = {"line": step.line, "args": list(step.args)}
    params.update({f"option_{key}": value for key, value in step.options.items()})
    state: dict[str, Value] = {
        "nodes": ItfMap.of((node, _node(s)) for node, s in recorded.states.items()),
        "network": [_message(encoded) for _, _, encoded in recorded.in_flight],
    }
    return TraceStep(step.text(), step.verb, params, state)


def _node(state: dict[str, Any]) -> dict[str, Value]:
    next_voters = state.get("next_voters")
    return {
        "role": str(state.get("role", "")),
        "term": int(state.get("term", 0)),
        "vote": int(state.get("vote", 0)),
        "leader": int(state.get("leader_id", 0)),
        "commit": int(state.get("commit", 0)),
        "applied": int(state.get("applied", 0)),
        "first_index": int(state.get("first_index", 0)),
        "log": [int(t) for t in state.get("log_terms", [])],
        "voters": ItfSet.of(int(v) for v in state.get("voters", [])),
        "learners": ItfSet.of(int(v) for v in state.get("learners", [])),
        "next_voters": ItfSet.of(int(v) for v in next_voters or []),
    }


def _message(encoded: str) -> Value:
    try:
        m = decode_message_b64(encoded)
    except ProtocolError:
        return f"<undecodable message {encoded[:24]}...>"
    return _message_record(m)


def _message_record(m: Message) -> dict[str, Value]:
    record: dict[str, Value] = {
        "type": m.msg_type.name,
        "from": m.from_,
        "to": m.to,
        "term": m.term,
        "log_term": m.log_term,
        "index": m.index,
        "commit": m.commit,
        "reject": m.reject,
        "reject_hint": m.reject_hint,
        "entries": [_entry(e) for e in m.entries],
    }
    if m.snapshot is not None and m.snapshot.metadata.index:
        meta = m.snapshot.metadata
        record["snapshot"] = {"index": meta.index, "term": meta.term}
    if m.context:
        record["context"] = m.context.decode("utf-8", "replace")
    return record


def _entry(e: Entry) -> dict[str, Value]:
    kind = "ConfChange" if e.entry_type == EntryType.EntryConfChange else "Data"
    return {"term": e.term, "kind": kind if e.data else "Empty", "index": e.index}
