"""Runs scenarios through adapters and collects per-scenario outcomes.

strict mode: the implementation under test and raft_ref (in-process) answer every
request; any difference is a divergence. protocol mode: only the implementation runs,
and after every step its nodes' observable states are checked against Raft's safety
properties (`safety.SafetyChecker`).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.conformance.driver import (
    Divergence,
    ExpectationFailed,
    PropertyViolation,
    ScenarioDriver,
    StateObserver,
)
from checks.conformance.render import describe_answer, side_by_side
from checks.conformance.safety import SafetyChecker
from checks.conformance.scenario import Scenario
from checks.conformance.sessions import (
    AdapterFailure,
    InProcessSession,
    Session,
    SubprocessSession,
)
from checks.conformance.trace_writer import write_trace

__all__ = [
    "ADAPTERS_DIR",
    "AdapterUnavailable",
    "RunSummary",
    "ScenarioResult",
    "implementation_session",
    "run_scenarios",
]

ADAPTERS_DIR = Path(__file__).parent / "adapters"
RAFT_RS_BINARY = ADAPTERS_DIR / "raft-rs" / "target" / "release" / "raft-rs-conformance-adapter"
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
        return counts

    def all_passed(self) -> bool:
        return all(r.status == "pass" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "implementation": self.implementation,
            "mode": self.mode,
            "counts": self.counts(),
            "scenarios": [
                {"name": r.name, "status": r.status, "detail": r.detail, "trace": r.trace}
                for r in self.results
            ],
        }


def implementation_session(impl: str | None, adapter: str | None, timeout: float) -> Session:
    """The session for `--impl` or `--adapter`; AdapterUnavailable if it cannot run."""
    if adapter is not None:
        return SubprocessSession(shlex.split(adapter), timeout)
    if impl == "raft_ref":
        return InProcessSession()
    if impl == "raft_ref-subprocess":
        command = [sys.executable, "-m", "checks.conformance.adapters.raft_ref_adapter"]
        return SubprocessSession(command, timeout, cwd=str(Path(__file__).parents[2]))
    if impl == "raft-rs":
        return _built_adapter(RAFT_RS_BINARY, "cargo", "raft-rs", timeout)
    if impl == "etcd":
        return _built_adapter(ETCD_BINARY, "go", "etcd", timeout)
    raise ValueError(f"unknown implementation {impl!r}")


def _built_adapter(binary: Path, tool: str, name: str, timeout: float) -> Session:
    if binary.exists():
        return SubprocessSession([str(binary)], timeout)
    where = binary.relative_to(ADAPTERS_DIR.parents[2])
    if shutil.which(tool) is None:
        raise AdapterUnavailable(
            f"skipping {name}: '{tool}' is not installed and {where} is missing"
        )
    raise AdapterUnavailable(
        f"skipping {name}: {where} is not built (see checks/conformance/README.md)"
    )


def _divergence_result(name: str, exc: Divergence) -> ScenarioResult:
    left, right = exc.exchange.answers[0], exc.exchange.answers[1]
    request = {k: v for k, v in exc.exchange.request.items() if k != "message"}
    diff = side_by_side(describe_answer(left), describe_answer(right), (exc.names[0], exc.names[1]))
    detail = f"{exc}: request {request}"
    return ScenarioResult(name, "diverged", detail, diff)


def run_scenarios(
    scenarios: Iterable[Scenario],
    session: Session,
    mode: str,
    trace_dir: Path | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> RunSummary:
    """Plays every scenario; adapter failures end that scenario only."""
    summary = RunSummary(session.name, mode)
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
        observer: StateObserver | None = SafetyChecker() if mode == "protocol" else None
        driver = ScenarioDriver(sessions, observer, check_expectations=mode == "strict")
        try:
            driver.run(scenario)
            result = ScenarioResult(scenario.name, "pass")
        except Divergence as exc:
            result = _divergence_result(scenario.name, exc)
        except (ExpectationFailed, PropertyViolation) as exc:
            result = ScenarioResult(scenario.name, "failed", str(exc))
        except AdapterFailure as exc:
            result = ScenarioResult(scenario.name, "error", str(exc))
            started = False
            session.close()
        if result.status != "pass" and trace_dir is not None:
            outcome = {"status": result.status, "detail": result.detail}
            names = [s.name for s in sessions]
            path = write_trace(
                trace_dir,
                scenario_name=scenario.name,
                scenario_text=scenario.text(),
                implementations=names,
                outcome=outcome,
                transcript=driver.transcript,
            )
            result.trace = str(path)
        summary.results.append(result)
        if on_result is not None:
            on_result(result)
    session.close()
    return summary
