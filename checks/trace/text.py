"""A trace as readable text (`python -m checks.trace show`): the first state in full,
then for each step its action, what changed on each server, and the messages in flight."""

from __future__ import annotations

from checks.trace.document import Trace
from checks.trace.view import TraceView, build_view

KIND_NAMES = {"always": "invariant", "always_step": "step invariant"}


def show_text(trace: Trace, view: TraceView | None = None) -> str:
    view = view if view is not None else build_view(trace)
    meta = trace.meta
    lines = []
    what = meta.target + (f" (variant {meta.variant})" if meta.variant else "")
    if meta.property is not None and meta.violation_step is not None:
        lines.append(f"{what}: {meta.property.name} violated at step {meta.violation_step}")
        kind = KIND_NAMES.get(meta.property.kind, meta.property.kind)
        described = f": {meta.property.description}" if meta.property.description else ""
        lines.append(f"  property  {meta.property.name} ({kind}){described}")
    else:
        lines.append(f"trace of {what}, {len(view.steps) - 1} steps")
    if meta.command:
        lines.append(f"  command   {meta.command}")
    bounds = ", ".join(f"{k} {v}" for k, v in meta.bounds.items())
    lines.append(f"  nodes     {meta.nodes}, seed {meta.seed}" + (f", {bounds}" if bounds else ""))
    for step in view.steps:
        lines.append("")
        marker = ""
        if step.index == meta.violation_step and meta.property is not None:
            marker = f"   <-- {meta.property.name} VIOLATED"
        lines.append(f"step {step.index}: {step.action}{marker}")
        previous = view.steps[step.index - 1] if step.index else None
        for server in view.server_ids:
            cells = step.servers.get(server, {})
            if previous is None:
                shown = ", ".join(f"{c} {v}" for c, v in cells.items() if v)
                lines.append(f"  server {server}: {shown}")
                continue
            changes = step.changed.get(server, [])
            if changes:
                before = previous.servers.get(server, {})
                shown = "; ".join(f"{c} {before.get(c, '')} -> {cells.get(c, '')}" for c in changes)
                lines.append(f"  server {server}: {shown}")
        for name, value in step.others.items():
            if previous is None or previous.others.get(name) != value:
                lines.append(f"  {name}: {value}")
        if step.messages:
            lines.append(f"  in flight ({len(step.messages)}):")
            lines.extend(f"    {m}" for m in step.messages)
        else:
            lines.append("  in flight: none")
    return "\n".join(lines)
