"""Replaying a conformance trace: run its scenario again, on the implementation and in
the mode that produced it (`#meta.conformance`), and see whether the same property
fails at the same step. `python -m checks.trace replay FILE` calls this for traces
whose source is checks.conformance.

raft_ref and raft-rs are deterministic, so a trace of them reproduces exactly; etcd
draws election timeouts at random, so its traces may not.
"""

from __future__ import annotations

from typing import Any

from checks.conformance.itf_trace import RunSpec
from checks.conformance.runner import (
    AdapterUnavailable,
    implementation_session,
    play,
)
from checks.conformance.scenario import ScenarioError, parse_scenario
from checks.conformance.sessions import AdapterFailure, InProcessSession, Session
from checks.trace.document import Trace
from checks.trace.replay import ReplayError, ReplayResult

__all__ = ["replay_conformance"]

_TIMEOUT = 30.0


def _spec(conformance: dict[str, Any]) -> RunSpec:
    mode = conformance.get("mode")
    impl, adapter = conformance.get("impl"), conformance.get("adapter")
    if mode not in ("strict", "protocol"):
        raise ReplayError("#meta.conformance.mode must be 'strict' or 'protocol'")
    if not isinstance(impl, str) and not isinstance(adapter, str):
        raise ReplayError("#meta.conformance names neither an implementation nor an adapter")
    return RunSpec(
        impl if isinstance(impl, str) else None,
        adapter if isinstance(adapter, str) and not isinstance(impl, str) else None,
        mode,
        bool(conformance.get("snapshot_term_of_entry", False)),
        bool(conformance.get("model_check", False)),
    )


def replay_conformance(trace: Trace) -> ReplayResult:
    meta = trace.meta
    if meta.property is None or meta.violation_step is None or meta.conformance is None:
        raise ReplayError("the trace records no failed property (#meta.property)")
    spec = _spec(meta.conformance)
    try:
        scenario = parse_scenario(
            str(meta.conformance.get("scenario", "trace")), str(meta.conformance.get("text", ""))
        )
    except ScenarioError as error:
        raise ReplayError(f"#meta.conformance.text: {error}") from None
    try:
        session = implementation_session(
            spec.impl, spec.adapter, _TIMEOUT, spec.snapshot_term_of_entry
        )
    except (AdapterUnavailable, ValueError) as error:
        raise ReplayError(str(error)) from None
    sessions: list[Session] = [session]
    if spec.mode == "strict":
        sessions.insert(0, InProcessSession())
    try:
        for each in sessions:
            each.start()
        expected = scenario.expected_violation
        applies = expected is not None and expected.applies_to(session.name)
        result, driver = play(
            scenario,
            sessions,
            spec.mode,
            spec.mode == "protocol" or applies,
            record=True,
            model_check=spec.model_check,
            snapshot_term_of_entry=spec.snapshot_term_of_entry,
        )
    except AdapterFailure as error:
        raise ReplayError(str(error)) from None
    finally:
        for each in sessions:
            each.close()
    name, wanted = meta.property.name, meta.violation_step
    if result.status == "pass":
        return ReplayResult(False, f"not reproduced: {name} holds on every replayed step")
    failed_at = len(driver.recorded)
    if result.failure == name and failed_at == wanted:
        return ReplayResult(True, f"reproduced: {name} fails at step {failed_at}", failed_at)
    return ReplayResult(
        False,
        f"not reproduced: {result.failure or result.status} at step {failed_at}, "
        f"recorded {name} at step {wanted}",
        failed_at,
    )
