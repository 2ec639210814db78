"""Counterexamples as Graphviz pictures.

Two kinds are drawn: "quorums" (configurations, their servers and two quorums
that share no server) and "logs" (every server's log at an election, with the
entry that was counted as committed, who stored it and who voted: Figure 8 of the
Raft paper when the commit rule drops "of the current term"). DOT files are always
written; SVG and PNG too when the Graphviz `dot` program is installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import graphviz

from checks.quorum.properties import Counterexample, Result

__all__ = ["DOT_MISSING_HINT", "dot_available", "draw", "picture"]

DOT_MISSING_HINT = (
    "hint: only DOT files were written; for SVG/PNG install Graphviz (apt-get install graphviz)"
)

_QUORUM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
_TERM_COLOURS = ("#ffffff", "#cfe2f3", "#d9ead3", "#fff2cc", "#f4cccc", "#d9d2e9", "#fce5cd")


def dot_available() -> bool:
    return shutil.which("dot") is not None


def picture(title: str, counterexample: Counterexample) -> graphviz.Digraph | None:
    """The picture of a counterexample, or None when its kind has no picture."""
    if counterexample.kind == "quorums":
        return _quorums(title, counterexample.data)
    if counterexample.kind == "logs":
        return _logs(title, counterexample.data)
    return None


def draw(result: Result, out_dir: Path, prefix: str = "") -> list[Path]:
    """Writes the picture of a result's counterexample; returns the files written."""
    counterexample = result.verdict.counterexample
    if counterexample is None:
        return []
    title = f"{result.prop.family} / {result.prop.name}\n{counterexample.summary}"
    graph = picture(title, counterexample)
    if graph is None:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{prefix}{result.prop.family}.{result.prop.name}"
    written = [out_dir / f"{stem}.dot"]
    written[0].write_text(graph.source, encoding="utf-8")
    if dot_available():
        for fmt in ("svg", "png"):
            path = out_dir / f"{stem}.{fmt}"
            path.write_bytes(graph.pipe(format=fmt))
            written.append(path)
    return written


def _quorums(title: str, data: dict[str, Any]) -> graphviz.Digraph:
    graph = graphviz.Digraph(
        name="quorums",
        graph_attr={"rankdir": "LR", "label": title, "labelloc": "t", "fontsize": "12"},
    )
    configurations: dict[str, list[int]] = data["configurations"]
    quorums: dict[str, list[int]] = data["quorums"]
    servers = sorted({s for ids in (*configurations.values(), *quorums.values()) for s in ids})
    with graph.subgraph(name="cluster_configurations") as side:
        side.attr(label="configurations", style="dashed")
        for name, ids in configurations.items():
            side.node(f"config_{name}", f"{name}\n{_set(ids)}", shape="folder")
    with graph.subgraph(name="cluster_servers") as middle:
        middle.attr(label="servers", style="dashed")
        for server in servers:
            middle.node(f"server_{server}", str(server), shape="circle")
    coloured = list(zip(quorums.items(), _QUORUM_COLOURS, strict=False))
    with graph.subgraph(name="cluster_quorums") as side:
        side.attr(label="quorums (no server in common)", style="dashed")
        for (name, ids), colour in coloured:
            side.node(
                _quorum_node(name),
                f"{name}\n{_set(ids)}",
                shape="box",
                color=colour,
                fontcolor=colour,
            )
    for (name, ids), colour in coloured:
        for server in ids:
            graph.edge(f"server_{server}", _quorum_node(name), color=colour)
    for name, ids in configurations.items():
        for server in ids:
            graph.edge(f"config_{name}", f"server_{server}", style="dotted", arrowhead="none")
    return graph


def _logs(title: str, data: dict[str, Any]) -> graphviz.Digraph:
    logs: dict[str, list[int]] = data["logs"]
    committed, election = data["committed"], data["election"]
    width = max((len(log) for log in logs.values()), default=0)
    width = max(width, committed["index"])
    header = "".join(f"<td><b>{i}</b></td>" for i in range(1, width + 1))
    rows = [f'<tr><td><b>server</b></td>{header}<td align="left"><b>role</b></td></tr>']
    for server, log in logs.items():
        cells = []
        for index in range(1, width + 1):
            if index > len(log):
                cells.append("<td> </td>")
                continue
            term = log[index - 1]
            colour = _TERM_COLOURS[term % len(_TERM_COLOURS)]
            is_entry = index == committed["index"] and term == committed["entry_term"]
            border = ' border="3" color="#d62728"' if is_entry else ""
            cells.append(f'<td bgcolor="{colour}"{border}>{term}</td>')
        rows.append(
            f"<tr><td>S{server}</td>{''.join(cells)}"
            f'<td align="left">{_role(int(server), committed, election)}</td></tr>'
        )
    table = (
        '<<table border="0" cellborder="1" cellspacing="0" cellpadding="6">'
        + "".join(rows)
        + "</table>>"
    )
    caption = (
        f"cells: the term of each entry; red border: the entry (index {committed['index']}, "
        f"term {committed['entry_term']}) counted as committed in term {committed['commit_term']}"
    )
    graph = graphviz.Digraph(
        name="logs", graph_attr={"label": f"{title}\n{caption}", "labelloc": "t", "fontsize": "12"}
    )
    graph.node("logs", table, shape="plaintext")
    return graph


def _role(server: int, committed: dict[str, Any], election: dict[str, Any]) -> str:
    roles = []
    if server in committed["stored_by"]:
        roles.append(f"stored the entry (counted in term {committed['commit_term']})")
    if server == election["winner"]:
        roles.append(f"<b>wins term {election['term']}</b>")
    elif server in election["votes_from"]:
        roles.append(f"votes for S{election['winner']}")
    return "; ".join(roles) or " "


def _quorum_node(name: str) -> str:
    return "quorum_" + name.replace(" ", "_")


def _set(ids: list[int]) -> str:
    return "{" + ", ".join(str(i) for i in ids) + "}"
