"""The state graph of a small exploration: distinct states as nodes, actions as edges,
found breadth-first from the target's initial states up to a cap on the number of
states; a note says when the graph was cut. A trace's path can be drawn in red."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import graphviz

from checks.engine.target import Target
from checks.trace.encoding import encoders_for
from checks.trace.itf import ItfMap, display

DEFAULT_MAX_STATES = 40
PATH_COLOR = "#c62828"


@dataclass
class StateGraph:
    labels: dict[int, str] = field(default_factory=dict)  # fingerprint -> node label
    depth: dict[int, int] = field(default_factory=dict)
    edges: list[tuple[int, int, str]] = field(default_factory=list)  # (from, to, action)
    cut: bool = False  # states were left out
    max_states: int = DEFAULT_MAX_STATES


def explore_graph(
    target: Target[Any, Any],
    max_states: int = DEFAULT_MAX_STATES,
    max_depth: int | None = None,
    path: Sequence[tuple[Any, Any]] = (),
) -> StateGraph:
    """Breadth-first from the initial states; the states of `path` (a trace's) are
    always included, so its route shows even past the cap."""
    encode_state, _ = encoders_for(target)
    graph = StateGraph(max_states=max_states)

    def add(state: Any, depth: int) -> int:
        key = target.fingerprint(state)
        if key not in graph.labels:
            graph.labels[key] = state_label(encode_state(state))
            graph.depth[key] = depth
        return key

    queue: deque[tuple[Any, int]] = deque()
    for state in target.initial_states():
        add(state, 0)
        queue.append((state, 0))
    seen_edges: set[tuple[int, int, str]] = set()
    while queue:
        state, depth = queue.popleft()
        if max_depth is not None and depth >= max_depth:
            graph.cut = graph.cut or bool(list(target.successors(state)))
            continue
        source = target.fingerprint(state)
        for action, after in target.successors(state):
            key = target.fingerprint(after)
            if key not in graph.labels:
                if len(graph.labels) >= max_states:
                    graph.cut = True
                    continue
                add(after, depth + 1)
                queue.append((after, depth + 1))
            edge = (source, key, target.format_action(action))
            if edge not in seen_edges:
                seen_edges.add(edge)
                graph.edges.append(edge)
    for k in range(1, len(path)):
        before = add(path[k - 1][1], k - 1)
        after = add(path[k][1], k)
        edge = (before, after, target.format_action(path[k][0]))
        if edge not in seen_edges:
            seen_edges.add(edge)
            graph.edges.append(edge)
    return graph


def state_label(variables: dict[str, Any]) -> str:
    """One line per server: `1 Leader t2 c2 log 3`; then the messages in flight."""
    servers = variables.get("servers")
    lines = []
    if isinstance(servers, ItfMap):
        for server_id, record in servers.pairs:
            if isinstance(record, dict):
                role = display(record.get("role", "?"))
                log = record.get("log")
                size = f" log {len(log)}" if isinstance(log, list) else ""
                lines.append(
                    f"{display(server_id)} {role} t{display(record.get('term', '?'))}"
                    f" c{display(record.get('commit', '?'))}{size}"
                )
    network = variables.get("network")
    if isinstance(network, ItfMap):
        lines.append(f"{sum(n for _, n in network.pairs if isinstance(n, int))} in flight")
    return "\n".join(lines) if lines else display(variables)[:60]


def state_graph_dot(
    graph: StateGraph, target: Target[Any, Any], path: Sequence[tuple[Any, Any]] = ()
) -> graphviz.Digraph:
    on_path = {target.fingerprint(state) for _, state in path}
    path_edges = {
        (target.fingerprint(path[k - 1][1]), target.fingerprint(path[k][1]))
        for k in range(1, len(path))
    }
    dot = graphviz.Digraph("state_graph")
    title = f"{target.name}: {len(graph.labels)} states, {len(graph.edges)} transitions"
    if graph.cut:
        title += f"\n(cut at {graph.max_states} states: the exploration goes on beyond)"
    dot.attr("graph", label=title, labelloc="t", rankdir="LR")
    dot.attr("node", shape="box", style="rounded", fontname="Helvetica", fontsize="9")
    dot.attr("edge", fontname="Helvetica", fontsize="8")
    names = {key: f"n{k}" for k, key in enumerate(graph.labels)}
    for key, label in graph.labels.items():
        attrs = {"color": PATH_COLOR, "penwidth": "2"} if key in on_path else {}
        if graph.depth.get(key) == 0:
            attrs["peripheries"] = "2"
        dot.node(names[key], label, **attrs)
    for source, after, action in graph.edges:
        attrs = {"color": PATH_COLOR, "fontcolor": PATH_COLOR, "penwidth": "2"}
        dot.edge(
            names[source], names[after], action,
            **(attrs if (source, after) in path_edges else {}),
        )  # fmt: skip
    if graph.cut:
        dot.node("cut_note", f"... more states\n(cap {graph.max_states})", shape="note")
    return dot
