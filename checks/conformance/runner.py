"""Runs scenarios through adapters and collects per-scenario outcomes.

strict mode: the implementation under test and raft_ref (in-process) answer every
request; any difference is a divergence. protocol mode: only the implementation runs,
and after every step its nodes' observable states are checked against Raft's safety
properties (`safety.SafetyChecker`); with the model check, every delivery to a
follower is checked against the model's rule for it (`model_check.DeliveryChecker`).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from checks.conformance.driver import (
    AnswersDiffer,
    ExpectationFailed,
    PropertyViolation,
    ScenarioDriver,
    StateObserver,
)
from checks.conformance.itf_trace import (
    ADAPTER_PROTOCOL,
    EXPECTATION,
    STRICT_AGREEMENT,
    RunSpec,
    conformance_trace,
    trace_stem,
)
from checks.conformance.model_check import DeliveryChecker, Tally
from checks.conformance.raft_ref_host import SNAPSHOT_TERM_OF_ENTRY_FLAG, RaftRefHost
from checks.conformance.render import describe_answer, side_by_side
from checks.conformance.safety import SafetyChecker
from checks.conformance.scenario import ExpectedViolation, Scenario
from checks.conformance.sessions import (
    AdapterFailure,
    InProcessSession,
    Session,
    SubprocessSession,
)
from checks.conformance.trace_writer import write_trace
from checks.trace.write import write_trace_files

__all__ = [
    "ADAPTERS_DIR",
    "AdapterUnavailable",
    "RunSummary",
    "ScenarioResult",
    "implementation_session",
    "judge",
    "play",
    "run_scenarios",
]

ADAPTERS_DIR = Path(__file__).parent / "adapters"
RAFT_RS_BINARY = ADAPTERS_DIR / "raft-rs" / "target" / "release" / "raft-rs-conformance-adapter"
RAFT_RS_07_BINARY = (
    ADAPTERS_DIR / "raft-rs-0.7" / "target" / "release" / "raft-rs-07-conformance-adapter"
)
ETCD_BINARY = ADAPTERS_DIR / "etcd" / "etcd-conformance-adapter"

STATUSES = ("pass", "diverged", "failed", "error")


class AdapterUnavailable(Exception):
    """The adapter cannot run here (toolchain or build missing); the message says why."""


@dataclass
class ScenarioResult:
    name: str
    status: str
    detail: str = ""
    diff: str = ""
    trace: str = ""
    # What failed: a safety property's name, or one of itf_trace.FAILURES.
    failure: str = ""
    # Passed by breaking the property its `expect-violation` header names.
    known_violation: bool = False
    # Nodes that panicked (answered Panic): a run whose leader died early may keep
    # every property without testing much.
    panicked: tuple[int, ...] = ()
    # With the model check: the deliveries checked, and those skipped by reason.
    deliveries: Tally | None = None


@dataclass
class RunSummary:
    implementation: str
    mode: str
    results: list[ScenarioResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for r in self.results:
            counts[r.status] += 1
        counts["run"] = len(self.results)
        counts["panicked"] = sum(1 for r in self.results if r.panicked)
        deliveries = self.deliveries()
        if deliveries is not None:
            counts["deliveries_checked"] = deliveries.checked
            counts["deliveries_skipped"] = deliveries.skipped_total
        return counts

    def deliveries(self) -> Tally | None:
        """The model check's deliveries over every scenario; None when it did not run."""
        tallies = [r.deliveries for r in self.results if r.deliveries is not None]
        if not tallies:
            return None
        total = Tally()
        for tally in tallies:
            total.add(tally)
        return total

    def all_passed(self) -> bool:
        return all(r.status == "pass" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        deliveries = self.deliveries()
        return {
            "implementation": self.implementation,
            "mode": self.mode,
            "counts": self.counts(),
            "deliveries_skipped": None if deliveries is None else dict(deliveries.skipped),
            "scenarios": [
                {
                    "name": r.name,
                    "status": r.status,
                    "detail": r.detail,
                    "trace": r.trace,
                    "failure": r.failure,
                    "known_violation": r.known_violation,
                    "panicked": list(r.panicked),
                    **_deliveries_json(r.deliveries),
                }
                for r in self.results
            ],
        }


def _deliveries_json(tally: Tally | None) -> dict[str, int]:
    if tally is None:
        return {}
    return {"deliveries_checked": tally.checked, "deliveries_skipped": tally.skipped_total}


def implementation_session(
    impl: str | None, adapter: str | None, timeout: float, snapshot_term_of_entry: bool = False
) -> Session:
    """The session for `--impl` or `--adapter`; AdapterUnavailable if it cannot run.
    `snapshot_term_of_entry` switches raft_ref's MemStorage to upstream's fix of #408
    (raft_ref only)."""
    if adapter is not None:
        return SubprocessSession(shlex.split(adapter), timeout)
    if impl == "raft_ref":
        return InProcessSession(RaftRefHost(snapshot_term_of_entry=snapshot_term_of_entry))
    if impl == "raft_ref-subprocess":
        command = [sys.executable, "-m", "checks.conformance.adapters.raft_ref_adapter"]
        if snapshot_term_of_entry:
            command.append(SNAPSHOT_TERM_OF_ENTRY_FLAG)
        return SubprocessSession(command, timeout, cwd=str(Path(__file__).parents[2]))
    if impl == "raft-rs":
        return _built_adapter(RAFT_RS_BINARY, "cargo", "raft-rs", timeout)
    if impl == "raft-rs-0.7":
        return _built_adapter(RAFT_RS_07_BINARY, "cargo", "raft-rs-0.7", timeout)
    if impl == "etcd":
        return _built_adapter(ETCD_BINARY, "go", "etcd", timeout)
    raise ValueError(f"unknown implementation {impl!r}")


def _built_adapter(binary: Path, tool: str, name: str, timeout: float) -> Session:
    if binary.exists():
        return SubprocessSession([str(binary)], timeout)
    where = binary.relative_to(ADAPTERS_DIR.parents[2])
    if shutil.which(tool) is None:
        raise AdapterUnavailable(f"{name}: '{tool}' is not installed and {where} is missing")
    raise AdapterUnavailable(
        f"{name}: {where} is not built (make conformance-adapters; "
        "see checks/conformance/README.md)"
    )


def _divergence_result(name: str, exc: AnswersDiffer) -> ScenarioResult:
    left, right = exc.exchange.answers[0], exc.exchange.answers[1]
    request = {k: v for k, v in exc.exchange.request.items() if k != "message"}
    diff = side_by_side(describe_answer(left), describe_answer(right), (exc.names[0], exc.names[1]))
    detail = f"{exc}: request {request}"
    return ScenarioResult(name, "diverged", detail, diff, failure=STRICT_AGREEMENT)


def play(
    scenario: Scenario,
    sessions: Sequence[Session],
    mode: str,
    check_safety: bool,
    *,
    record: bool = False,
    check_expectations: bool | None = None,
    model_check: bool = False,
    snapshot_term_of_entry: bool = False,
) -> tuple[ScenarioResult, ScenarioDriver]:
    """Runs `scenario` once on started sessions (the implementation under test last);
    AdapterFailure ends it with status `error`. `expect` steps are checked in strict
    mode unless `check_expectations` says otherwise. With `model_check` (protocol mode)
    each delivery to a follower is checked against the model; `snapshot_term_of_entry`
    says the implementation labels snapshots with their last entry's term."""
    observer: StateObserver | None = SafetyChecker() if check_safety else None
    if check_expectations is None:
        check_expectations = mode == "strict"
    driver = ScenarioDriver(
        sessions,
        observer,
        check_expectations=check_expectations,
        record=record,
        raft_rs_expectations=mode == "strict",
    )
    checker: DeliveryChecker | None = None
    if model_check and mode == "protocol":
        checker = DeliveryChecker(driver.node_state, snapshot_term_of_entry=snapshot_term_of_entry)
        driver.watcher = checker
    try:
        driver.run(scenario)
        result = ScenarioResult(scenario.name, "pass")
    except AnswersDiffer as exc:
        result = _divergence_result(scenario.name, exc)
    except PropertyViolation as exc:
        result = ScenarioResult(scenario.name, "failed", str(exc), failure=exc.name)
    except ExpectationFailed as exc:
        result = ScenarioResult(scenario.name, "failed", str(exc), failure=EXPECTATION)
    except AdapterFailure as exc:
        result = ScenarioResult(scenario.name, "error", str(exc), failure=ADAPTER_PROTOCOL)
    if checker is not None:
        result.deliveries = checker.tally()
    return result, driver


def judge(result: ScenarioResult, expected: ExpectedViolation | None) -> ScenarioResult:
    """The result against the scenario's `expect-violation` header, when it applies:
    breaking exactly that property is a pass (a known violation reproduced); passing,
    or failing otherwise, is a failure."""
    if expected is None or result.status == "error":
        return result
    if result.status == "failed" and result.failure == expected.property:
        detail = f"known violation reproduced: {result.detail}"
        return replace(result, status="pass", detail=detail, known_violation=True)
    if result.status == "pass":
        detail = f"expected a {expected.property} violation, but every property held"
        return replace(result, status="failed", detail=detail)
    return replace(result, detail=f"expected a {expected.property} violation: {result.detail}")


def run_scenarios(
    scenarios: Iterable[Scenario],
    session: Session,
    mode: str,
    trace_dir: Path | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
    *,
    spec: RunSpec | None = None,
    check_expectations: bool | None = None,
    summary: RunSummary | None = None,
) -> RunSummary:
    """Plays every scenario; adapter failures end that scenario only. `spec` says what
    ran them, for the traces' replay information. `expect` steps are checked in strict
    mode, and in protocol mode when `check_expectations` says so, except those marked
    `only=raft-rs`. Results go into `summary` as they come (so a caller interrupted
    midway keeps those so far)."""
    if check_expectations is None:
        check_expectations = mode == "strict"
    if summary is None:
        summary = RunSummary(session.name, mode)
    spec = spec if spec is not None else _spec_of(session, mode)
    try:
        _run_all(
            scenarios,
            session,
            mode,
            trace_dir,
            on_result,
            spec=spec,
            check_expectations=check_expectations,
            summary=summary,
        )
    finally:
        # The adapter (its whole process group) goes, however the run ends.
        session.close()
    return summary


def _run_all(
    scenarios: Iterable[Scenario],
    session: Session,
    mode: str,
    trace_dir: Path | None,
    on_result: Callable[[ScenarioResult], None] | None,
    *,
    spec: RunSpec,
    check_expectations: bool,
    summary: RunSummary,
) -> None:
    reference: Session | None = InProcessSession() if mode == "strict" else None
    started = False
    for scenario in scenarios:
        if not started:
            try:
                session.start()
                if reference is not None:
                    reference.start()
                started = True
                summary.implementation = session.name
            except AdapterFailure as exc:
                result = ScenarioResult(scenario.name, "error", str(exc))
                summary.results.append(result)
                if on_result is not None:
                    on_result(result)
                continue
        sessions = [reference, session] if reference is not None else [session]
        expected = scenario.expected_violation
        if expected is not None and not expected.applies_to(session.name):
            expected = None
        check_safety = mode == "protocol" or expected is not None
        # Protocol mode observes every step anyway: recording costs nothing there.
        raw, driver = play(
            scenario,
            sessions,
            mode,
            check_safety,
            record=mode == "protocol",
            check_expectations=check_expectations,
            model_check=spec.model_check,
            snapshot_term_of_entry=spec.snapshot_term_of_entry,
        )
        if raw.status == "error":
            started = False
            session.close()
        result = replace(judge(raw, expected), panicked=tuple(sorted(driver.dead)))
        if result.status != "pass" and trace_dir is not None:
            result.trace = str(
                _write_traces(
                    trace_dir,
                    scenario,
                    (sessions, driver, result),
                    spec=spec,
                    check_safety=check_safety,
                )
            )
        summary.results.append(result)
        if on_result is not None:
            on_result(result)


def _spec_of(session: Session, mode: str) -> RunSpec:
    if isinstance(session, SubprocessSession):
        return RunSpec(None, shlex.join(session.command), mode)
    return RunSpec("raft_ref", None, mode, model_check=mode == "protocol")


def _write_traces(
    directory: Path,
    scenario: Scenario,
    played: tuple[list[Session], ScenarioDriver, ScenarioResult],
    *,
    spec: RunSpec,
    check_safety: bool,
) -> Path:
    """The transcript (JSON) and the ITF trace with its pictures; returns the ITF path
    (the transcript's when no states could be recorded)."""
    sessions, driver, result = played
    outcome = {"status": result.status, "detail": result.detail}
    transcript = write_trace(
        directory,
        scenario_name=scenario.name,
        scenario_text=scenario.text(),
        implementations=[s.name for s in sessions],
        outcome=outcome,
        transcript=driver.transcript,
    )
    recorded = driver.recorded
    if not driver.record and result.status != "error":
        # Strict mode does not record as it goes; the run is deterministic, so again.
        again, rerun = play(
            scenario,
            sessions,
            spec.mode,
            check_safety,
            record=True,
            model_check=spec.model_check,
            snapshot_term_of_entry=spec.snapshot_term_of_entry,
        )
        if again.failure == result.failure:
            recorded = rerun.recorded
    if not recorded:
        return transcript
    failure = result.failure or None
    trace = conformance_trace(scenario, recorded, sessions[-1].name, spec, failure)
    return write_trace_files(trace, directory, trace_stem(scenario.name)).itf
