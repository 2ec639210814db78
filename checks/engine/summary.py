"""Reporting a finished search: the summary table (stdout) and the `--json` summary.

Searching fills a `SearchOutcome`; this module only reads it, with `RunInfo` saying what
was explored (target, nodes, bounds, seed) for the reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.engine.guard import INTERRUPTED
from checks.engine.outcome import SearchOutcome
from checks.engine.target import Expectation


@dataclass(frozen=True)
class RunInfo:
    """What was explored, and how the run was asked for."""

    target: str
    nodes: int | None = None
    variant: str | None = None
    pre_vote: bool = False
    bounds: Mapping[str, object] = field(default_factory=dict)
    seed: int = 0
    walks: int | None = None
    command: str = ""


def format_bound(value: object) -> str:
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple | list):
        return "+".join(map(str, value)) or "none"
    return str(value)


def format_bounds(run: RunInfo, depth: int) -> str:
    parts = [f"depth {depth}"]
    parts += [f"{name} {format_bound(value)}" for name, value in run.bounds.items()]
    return ", ".join(parts)


def format_header(
    run: RunInfo, strategy: str, workers: int, symmetry: bool, depth: int, *, por: bool = False
) -> str:
    """The first lines of a run: what is explored, how, and within which bounds."""
    what = [f"target {run.target}"]
    if run.nodes is not None:
        what.append(f"{run.nodes} nodes")
    if run.variant:
        what.append(f"variant {run.variant}")
    if run.pre_vote:
        what.append("pre-vote")
    how = [strategy, f"{workers} worker{'s' if workers != 1 else ''}"]
    how.append(f"symmetry {'on' if symmetry else 'off'}")
    if strategy == "bfs":
        how.append(f"partial-order reduction {'on' if por else 'off'}")
    if strategy == "random":
        how.append(f"{run.walks} walks, seed {run.seed}")
    return f"explore: {', '.join(what)}; {', '.join(how)}\n  bounds: {format_bounds(run, depth)}"


def _stopped_note(outcome: SearchOutcome) -> str:
    """Why the figures below are partial, if they are."""
    if outcome.stopped is None:
        return ""
    return f"{outcome.stopped.upper()}: partial figures (states, verdicts and goals so far); "


def _result_line(outcome: SearchOutcome) -> str:
    errors = [v for v in outcome.violations if v.expectation is Expectation.NO_ERROR]
    if errors:
        return f"INTERNAL ERROR in the target: {errors[0].error}"
    if outcome.violations:
        names = ", ".join(v.property_name for v in outcome.violations)
        return f"{_stopped_note(outcome)}VIOLATED: {names}"
    if outcome.stopped is not None:
        return f"{_stopped_note(outcome)}no violation found so far"
    if outcome.strategy == "random":
        return "no violation found by the walks"
    if outcome.exhausted:
        return "no violation; every reachable state explored (frontier empty)"
    return "no violation; complete within the depth bound"


def format_summary(outcome: SearchOutcome) -> str:
    """The final summary table."""
    rows = [
        ("result", _result_line(outcome)),
        ("distinct states", f"{outcome.distinct_states:,}"),
        ("transitions", f"{outcome.transitions:,}"),
        ("depth reached", f"{outcome.depth_reached} (bound {outcome.max_depth})"),
        ("complete", "yes" if outcome.complete else "no"),
        ("seconds", f"{outcome.seconds:.2f}"),
        ("states/s", f"{outcome.states_per_second:,.0f}"),
        ("bytes/state", f"{outcome.bytes_per_state:.1f} (visited-state store)"),
    ]
    if outcome.peak_rss:
        rows.append(("peak RSS", _memory_line(outcome)))
    if outcome.collision is not None:
        optimistic, birthday = outcome.collision
        rows.append(
            (
                "fingerprints",
                f"collision odds {optimistic:.1e} (TLC's optimistic m(g-m)/2^64; "
                f"birthday bound m^2/2^65: {birthday:.1e})",
            )
        )
    if outcome.resumed_at is not None:
        rows.append(("resumed", f"from the checkpoint of depth {outcome.resumed_at}"))
    lines = [f"  {label:<17} {value}" for label, value in rows]
    if outcome.invariants:
        lines.append("  invariants")
        width = max(map(len, outcome.invariants))
        lines += [f"    {name:<{width}}  {v}" for name, v in outcome.invariants.items()]
    if outcome.goals:
        lines.append("  goals (depth first reached)")
        width = max(map(len, outcome.goals))
        for name, depth in outcome.goals.items():
            lines.append(f"    {name:<{width}}  {'not reached' if depth is None else depth}")
    if outcome.coverage:
        width = max(len("action kind"), *map(len, outcome.coverage))
        lines.append(
            f"  coverage\n    {'action kind':<{width}}  {'transitions':>12}  {'new states':>11}"
        )
        for kind in sorted(outcome.coverage):
            entry = outcome.coverage[kind]
            lines.append(f"    {kind:<{width}}  {entry.transitions:>12,}  {entry.new_states:>11,}")
    return "\n".join(lines)


def _memory_line(outcome: SearchOutcome) -> str:
    per_state = outcome.peak_rss / outcome.distinct_states if outcome.distinct_states else 0.0
    return f"{outcome.peak_rss / 2**20:,.1f} MiB ({per_state:,.0f} B/state, all processes)"


def summary_json(run: RunInfo, outcome: SearchOutcome, traces: list[str]) -> dict[str, Any]:
    """The machine-readable summary written by `--json`."""
    return {
        "target": run.target,
        "nodes": run.nodes,
        "variant": run.variant,
        "pre_vote": run.pre_vote,
        "depth": outcome.max_depth,
        "bounds": dict(run.bounds),
        "strategy": outcome.strategy,
        "workers": outcome.workers,
        "symmetry": outcome.symmetry,
        "por": outcome.por,
        "seed": run.seed,
        "walks": run.walks,
        "complete": outcome.complete,
        "exhausted": outcome.exhausted,
        "distinct_states": outcome.distinct_states,
        "transitions": outcome.transitions,
        "depth_reached": outcome.depth_reached,
        "seconds": round(outcome.seconds, 3),
        "states_per_second": round(outcome.states_per_second, 1),
        "bytes_per_state": round(outcome.bytes_per_state, 1),
        "peak_rss_bytes": outcome.peak_rss,
        "peak_rss_per_state": (
            round(outcome.peak_rss / outcome.distinct_states, 1) if outcome.distinct_states else 0
        ),
        "collision_probability": (
            None
            if outcome.collision is None
            else {"optimistic": outcome.collision[0], "birthday_bound": outcome.collision[1]}
        ),
        "engine": outcome.engine,
        "interrupted": outcome.stopped == INTERRUPTED,
        "stopped": outcome.stopped,
        "resumed_at": outcome.resumed_at,
        "violations": [
            {
                "property": v.property_name,
                "kind": v.expectation.value,
                "depth": v.depth,
                "trace": trace,
                **({"error": v.error} if v.error is not None else {}),
            }
            for v, trace in zip(outcome.violations, traces, strict=True)
        ],
        "invariants": dict(outcome.invariants),
        "goals": dict(outcome.goals),
        "coverage": {
            kind: {"transitions": entry.transitions, "new_states": entry.new_states}
            for kind, entry in sorted(outcome.coverage.items())
        },
        "command": run.command,
    }
