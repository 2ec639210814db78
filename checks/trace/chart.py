"""A trace as a message-sequence chart (Graphviz DOT).

One column (lane) per server, one row per step, the step's action written on the left.
A message is an arrow from its sender's lane at the step it was sent to its receiver's
lane at the step it was delivered; a dropped copy ends in a cross, a copy the network
duplicated is drawn doubled, a copy the receiver could only ignore (a stale term) is
dotted and grey, one still in flight at the end ends at the bottom. Where a server's
term, role, commit index or configuration changes, the lane shows the new values. The
step that violates the property is red.
"""

from __future__ import annotations

from typing import Any

import graphviz

from checks.trace.document import Trace
from checks.trace.view import MessageLife, TraceView, build_view

VIOLATION = "#c62828"
DELIVERED = "#1f5fa8"
DUPLICATED = "#7b3fa8"
DROPPED = "#c62828"
IGNORED = "#9e9e9e"
LANE = "#9e9e9e"
LABEL_LIMIT = 60  # characters of a message label on an arrow


def message_sequence_chart(trace: Trace, view: TraceView | None = None) -> graphviz.Digraph:
    view = view if view is not None else build_view(trace)
    violation = trace.meta.violation_step
    chart = graphviz.Digraph("message_sequence_chart")
    chart.attr("graph", rankdir="TB", nodesep="0.6", ranksep="0.35", newrank="true")
    chart.attr("graph", label=_title(trace), labelloc="t", fontsize="14")
    chart.attr("node", fontname="Helvetica", fontsize="10")
    chart.attr("edge", fontname="Helvetica", fontsize="9")
    last = len(view.steps) - 1

    with chart.subgraph(name="heads") as heads:
        heads.attr(rank="same")
        heads.node("head_steps", "step / action", shape="plaintext", fontsize="11")
        for server in view.server_ids:
            heads.node(f"head_{server}", f"server {server}", shape="box", style="rounded,bold")

    for step in view.steps:
        bad = step.index == violation
        color = VIOLATION if bad else "black"
        with chart.subgraph(name=f"step_{step.index}") as row:
            row.attr(rank="same")
            text = f"{step.index}: {step.action}"
            if bad and trace.meta.property is not None:
                text = f"VIOLATES {trace.meta.property.name}\n{text}"
            row.node(
                f"row_{step.index}", _wrap(text), shape="plaintext", fontcolor=color,
                fontname="Helvetica-Bold" if bad else "Helvetica",
            )  # fmt: skip
            for server in view.server_ids:
                note = step.annotations.get(server)
                name = _point(server, step.index)
                if note:
                    row.node(name, _wrap(note, 28), shape="box", fontsize="9", color=color,
                             fontcolor=color, style="rounded")  # fmt: skip
                else:
                    row.node(name, "", shape="point", width="0.06", color=color)

    # Lanes, and the step column, kept in order by heavy invisible or grey edges.
    chart.edge("head_steps", "row_0", style="invis", weight="100")
    for step in view.steps[1:]:
        chart.edge(f"row_{step.index - 1}", f"row_{step.index}", style="invis", weight="100")
    for server in view.server_ids:
        chart.edge(f"head_{server}", _point(server, 0), arrowhead="none", color=LANE, weight="100")
        for step in view.steps[1:]:
            chart.edge(
                _point(server, step.index - 1), _point(server, step.index),
                arrowhead="none", color=LANE, weight="100",
            )  # fmt: skip

    for number, life in enumerate(view.messages):
        _arrow(chart, life, number, last, set(view.server_ids))
    return chart


def _arrow(
    chart: graphviz.Digraph, life: MessageLife, number: int, last: int, lanes: set[str]
) -> None:
    if life.sender not in lanes:
        return
    start = _point(life.sender, life.sent_step)
    label = _shorten(life.label)
    common: dict[str, Any] = {"constraint": "false", "fontsize": "8"}
    style = {"color": DELIVERED, "fontcolor": DELIVERED}
    if life.duplicate:
        style = {"color": f"{DUPLICATED}:white:{DUPLICATED}", "fontcolor": DUPLICATED}
        label = "copy: " + label
    if life.fate == "delivered" and life.end_step is not None and life.receiver in lanes:
        chart.edge(start, _point(life.receiver, life.end_step), label=label, **style, **common)
    elif life.fate == "dropped" and life.end_step is not None:
        lost = f"lost_{number}"
        with chart.subgraph(name=f"step_{life.end_step}") as row:
            row.node(lost, "X", shape="plaintext", fontcolor=DROPPED, fontsize="14")
        chart.edge(start, lost, label=f"dropped: {label}", color=DROPPED, fontcolor=DROPPED,
                   style="dashed", **common)  # fmt: skip
    elif life.fate == "discarded" and life.end_step is not None and life.receiver in lanes:
        chart.edge(start, _point(life.receiver, life.end_step), label=f"ignored (stale): {label}",
                   color=IGNORED, fontcolor=IGNORED, style="dotted", **common)  # fmt: skip
    elif life.fate == "in flight":
        pending = f"pending_{number}"
        with chart.subgraph(name=f"step_{last}") as row:
            row.node(pending, "in flight", shape="plaintext", fontcolor=IGNORED, fontsize="8")
        chart.edge(start, pending, label=label, color=IGNORED, fontcolor=IGNORED,
                   style="dashed", **common)  # fmt: skip


def _point(server: str, step: int) -> str:
    return f"s{server}_{step}"


def _title(trace: Trace) -> str:
    meta = trace.meta
    what = meta.target + (f" (variant {meta.variant})" if meta.variant else "")
    if meta.property is not None and meta.violation_step is not None:
        return f"{what}: {meta.property.name} violated at step {meta.violation_step}"
    return what


def _shorten(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 3] + "..."


def _wrap(text: str, width: int = 44) -> str:
    """Breaks long lines at spaces (Graphviz does not wrap labels)."""
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "\n".join(lines)
