"""A violation's path as a counterexample document (the CLI writes it, with the other
trace files, through `checks.trace.write`).

The format (one object): `target`, `variant`, `nodes`, `pre_vote`, `property`, `kind`
(always / always_step, or internal_error for an exception the target raised, then with
`error`: the exception and where), `command` (the command line that reproduces it), `seed`,
`bounds`, `depth` (the number of actions), and `steps`: one entry
per state, the first being the initial state (`action` and `kind` null), each with
`action` (the target's `format_action`), `kind` (its `action_kind`) and `state` (its
`describe_state`). Other trace formats (ITF, pictures) are produced from this one.
"""

from __future__ import annotations

from typing import Any

from checks.engine.outcome import Violation
from checks.engine.summary import RunInfo
from checks.engine.target import Expectation, Target


def explain_violation(target: Target[Any, Any], violation: Violation) -> dict[str, Any] | None:
    """What the target says about the last step of a step-invariant violation (its
    optional `explain_step`), or None."""
    explain = getattr(target, "explain_step", None)
    if explain is None or violation.expectation is not Expectation.ALWAYS_STEP:
        return None
    if len(violation.path) < 2:
        return None
    (_, before), (action, after) = violation.path[-2], violation.path[-1]
    explanation: dict[str, Any] | None = explain(violation.property_name, before, action, after)
    return explanation


def explanation_lines(explanation: dict[str, Any]) -> list[str]:
    """The explanation of a divergence as a few lines of text for the summary."""
    lines = [f"  step: {explanation.get('action')}"]
    outcomes = explanation.get("model_outcomes", [])
    if not outcomes:
        lines.append("  the model allows no outcome for this action")
    for number, outcome in enumerate(outcomes, start=1):
        lines.append(f"  model outcome {number} differs from the implementation in:")
        lines += [f"    {line}" for line in outcome.get("differences", [])]
    return lines


def counterexample_json(
    target: Target[Any, Any], run: RunInfo, violation: Violation
) -> dict[str, Any]:
    steps = [
        {
            "action": None if action is None else target.format_action(action),
            "kind": None if action is None else target.action_kind(action),
            "state": target.describe_state(state),
        }
        for action, state in violation.path
    ]
    return {
        "target": run.target,
        "variant": run.variant,
        "nodes": run.nodes,
        "pre_vote": run.pre_vote,
        "property": violation.property_name,
        "kind": violation.expectation.value,
        "command": run.command,
        "seed": run.seed,
        "bounds": dict(run.bounds),
        "depth": violation.depth,
        **({"error": violation.error} if violation.error is not None else {}),
        "steps": steps,
        **_explanation_field(target, violation),
    }


def _explanation_field(target: Target[Any, Any], violation: Violation) -> dict[str, Any]:
    explanation = explain_violation(target, violation)
    return {} if explanation is None else {"explanation": explanation}
