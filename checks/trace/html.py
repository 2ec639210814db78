"""A trace as one self-contained HTML page (inline CSS and script, no network access):
step forward and back with the buttons or the arrow keys, each server's state in a
table with the cells that changed highlighted, the messages in flight, the failed
property explained and its step marked."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from checks.trace.document import Trace
from checks.trace.view import TraceView, build_view

EXPLANATIONS = {
    "always": "an invariant: it must hold in every reachable state. It does not hold in "
    "the state reached by step {step}.",
    "always_step": "a step invariant: it must hold for every transition. It does not hold "
    "for step {step}, the transition from state {before} to state {step}.",
}


def view_json(trace: Trace, view: TraceView) -> dict[str, Any]:
    """What the page's script shows, precomputed: the page needs no ITF decoder."""
    meta = trace.meta
    prop = None
    if meta.property is not None:
        step = meta.violation_step if meta.violation_step is not None else len(view.steps) - 1
        rule = EXPLANATIONS.get(meta.property.kind, "a property of kind {kind}.")
        prop = {
            "name": meta.property.name,
            "kind": meta.property.kind,
            "description": meta.property.description,
            "explanation": rule.format(step=step, before=step - 1, kind=meta.property.kind),
        }
    return {
        "title": _title(trace),
        "target": meta.target,
        "variant": meta.variant,
        "command": meta.command,
        "seed": meta.seed,
        "bounds": meta.bounds,
        "property": prop,
        "violation_step": meta.violation_step,
        "columns": view.columns,
        "server_ids": view.server_ids,
        "steps": [
            {
                "index": s.index,
                "action": s.action,
                "kind": s.kind,
                "servers": s.servers,
                "changed": s.changed,
                "messages": s.messages,
                "others": s.others,
            }
            for s in view.steps
        ],
    }


def _title(trace: Trace) -> str:
    meta = trace.meta
    what = meta.target + (f" (variant {meta.variant})" if meta.variant else "")
    if meta.property is not None and meta.violation_step is not None:
        return f"{meta.property.name} violated at step {meta.violation_step}: {what}"
    return f"Trace of {what}"


def render_html(trace: Trace, view: TraceView | None = None) -> str:
    view = view if view is not None else build_view(trace)
    data = view_json(trace, view)
    # Inside <script>, "</" could end the element early: escape it.
    payload = json.dumps(data, indent=None, sort_keys=True, ensure_ascii=False)
    payload = payload.replace("</", "<\\/")
    return PAGE.format(title=html.escape(data["title"]), style=STYLE, data=payload, script=SCRIPT)


def write_html(trace: Trace, path: Path, view: TraceView | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(trace, view), encoding="utf-8")
    return path


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header>
<h1 id="title">{title}</h1>
<section id="property" class="property"></section>
<p id="meta" class="meta"></p>
</header>
<nav class="controls">
<button id="first" title="first step (Home)">&laquo; first</button>
<button id="prev" title="previous step (Left arrow)">&#x25C0; back</button>
<span id="position"></span>
<button id="next" title="next step (Right arrow)">forward &#x25B6;</button>
<button id="last" title="last step (End)">last &raquo;</button>
<button id="goto-violation" title="the step that violates the property (v)">violation</button>
</nav>
<main>
<section class="step">
<h2>Step <span id="step-index"></span>: <code id="action"></code></h2>
<p id="violation-marker" class="violation-marker" hidden></p>
<table id="servers"></table>
<p class="legend"><span class="changed">highlighted</span>: changed by this step</p>
<h3>Messages in flight (<span id="message-count"></span>)</h3>
<ul id="messages"></ul>
<div id="others"></div>
</section>
<aside>
<h3>Steps</h3>
<ol id="timeline" start="0"></ol>
</aside>
</main>
<script type="application/json" id="trace-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; margin-bottom: .3em; }
.property { border-left: 4px solid #c62828; background: #fdecea; padding: .4em .8em; }
.property p { white-space: pre-wrap; }
.meta { color: #555; font-size: .85em; }
.controls { margin: .8em 0; display: flex; gap: .4em; align-items: center; }
.controls button { font-size: .95em; padding: .25em .7em; }
#position { min-width: 7em; text-align: center; font-variant-numeric: tabular-nums; }
main { display: flex; gap: 2em; align-items: flex-start; }
.step { flex: 1 1 auto; min-width: 0; overflow-x: auto; }
aside { flex: 0 0 24em; max-height: 85vh; overflow: auto; font-size: .85em; }
table { border-collapse: collapse; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top;
  white-space: nowrap; }
th { background: #f2f2f2; }
td.changed, span.changed, li.changed { background: #fff3b0; }
.violation-marker { color: #c62828; font-weight: bold; }
#timeline li { cursor: pointer; padding: .1em .3em; overflow-wrap: anywhere; }
#timeline li.current { background: #dbe9ff; }
#timeline li.violation { color: #c62828; font-weight: bold; }
#messages { font-family: ui-monospace, monospace; font-size: .8em; }
"""

SCRIPT = """
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const steps = data.steps;
  const last = steps.length - 1;
  const violation = data.violation_step;
  let current = 0;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function showProperty() {
    const box = document.getElementById("property");
    if (!data.property) { box.hidden = true; return; }
    box.appendChild(el("strong", data.property.name));
    box.appendChild(document.createTextNode(" is " + data.property.explanation));
    if (data.property.description) box.appendChild(el("p", data.property.description));
    const bounds = Object.keys(data.bounds).map(k => k + "=" + JSON.stringify(data.bounds[k]));
    document.getElementById("meta").textContent =
      "target " + data.target + (data.variant ? ", variant " + data.variant : "") +
      ", seed " + data.seed + (bounds.length ? "; bounds " + bounds.join(" ") : "") +
      (data.command ? "; command: " + data.command : "");
  }

  function showTimeline() {
    const list = document.getElementById("timeline");
    steps.forEach(function (step, i) {
      const item = el("li", step.action);
      if (i === violation) {
        item.classList.add("violation");
        item.textContent = step.action + "  \\u2717 " + (data.property ? data.property.name : "");
      }
      item.addEventListener("click", function () { go(i); });
      list.appendChild(item);
    });
  }

  function showServers(step) {
    const table = document.getElementById("servers");
    table.textContent = "";
    const head = el("tr");
    head.appendChild(el("th", "server"));
    data.columns.forEach(c => head.appendChild(el("th", c)));
    table.appendChild(head);
    data.server_ids.forEach(function (id) {
      const row = el("tr");
      row.dataset.server = id;
      row.appendChild(el("th", id));
      const cells = step.servers[id] || {};
      const changed = step.changed[id] || [];
      data.columns.forEach(function (c) {
        const cell = el("td", cells[c] === undefined ? "" : cells[c]);
        cell.dataset.column = c;
        if (changed.indexOf(c) >= 0) cell.classList.add("changed");
        row.appendChild(cell);
      });
      table.appendChild(row);
    });
  }

  function go(i) {
    current = Math.max(0, Math.min(last, i));
    const step = steps[current];
    document.getElementById("step-index").textContent = String(current);
    document.getElementById("action").textContent = step.action;
    document.getElementById("position").textContent = current + " / " + last;
    const marker = document.getElementById("violation-marker");
    marker.hidden = current !== violation;
    marker.textContent = current === violation && data.property ?
      "\\u2717 " + data.property.name + " is violated at this step" : "";
    showServers(step);
    const messages = document.getElementById("messages");
    messages.textContent = "";
    const before = current > 0 ? steps[current - 1].messages : step.messages;
    step.messages.forEach(function (m) {
      messages.appendChild(el("li", m, before.indexOf(m) < 0 ? "changed" : ""));
    });
    document.getElementById("message-count").textContent = String(step.messages.length);
    const others = document.getElementById("others");
    others.textContent = "";
    Object.keys(step.others).forEach(k => others.appendChild(el("p", k + ": " + step.others[k])));
    document.querySelectorAll("#timeline li").forEach(function (item, k) {
      item.classList.toggle("current", k === current);
    });
    document.getElementById("prev").disabled = current === 0;
    document.getElementById("first").disabled = current === 0;
    document.getElementById("next").disabled = current === last;
    document.getElementById("last").disabled = current === last;
  }

  document.getElementById("first").addEventListener("click", () => go(0));
  document.getElementById("prev").addEventListener("click", () => go(current - 1));
  document.getElementById("next").addEventListener("click", () => go(current + 1));
  document.getElementById("last").addEventListener("click", () => go(last));
  const jump = document.getElementById("goto-violation");
  if (violation === null || violation === undefined) jump.hidden = true;
  jump.addEventListener("click", () => go(violation));
  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight") go(current + 1);
    else if (event.key === "ArrowLeft") go(current - 1);
    else if (event.key === "Home") go(0);
    else if (event.key === "End") go(last);
    else if (event.key === "v" && violation !== null && violation !== undefined) go(violation);
    else return;
    event.preventDefault();
  });
  showProperty();
  showTimeline();
  go(0);
})();
"""
