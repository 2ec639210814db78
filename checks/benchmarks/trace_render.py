"""What rendering a 50-step trace of the model costs: writing and reading its ITF file,
ITF -> DOT (the message-sequence chart's source), DOT -> SVG (Graphviz `dot`, when
installed) and the HTML viewer."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from checks.benchmarks import Report
from checks.targets.model_target import ModelTarget
from checks.trace.chart import message_sequence_chart
from checks.trace.document import Trace, TraceMeta, dumps, from_itf, to_itf
from checks.trace.encoding import trace_from_path
from checks.trace.graphviz_output import dot_available, render_picture
from checks.trace.html import render_html
from checks.trace.view import build_view

STEPS = 50
REPEATS = 3


def walk_trace(steps: int = STEPS, seed: int = 0) -> Trace:
    """The first seeded random walk on the model that lasts `steps` actions (bounds larger
    than the explorer's defaults, so that long walks exist)."""
    target = ModelTarget(
        max_term=10, max_log=10, max_msgs=6, max_client_requests=6, max_crashes=2,
        max_drops=2, max_duplicates=2,
    )  # fmt: skip
    for attempt in range(seed, seed + 100):
        choose = random.Random(f"walk {attempt}")
        state = target.initial_states()[0]
        path: list[tuple[Any, Any]] = [(None, state)]
        while len(path) <= steps:
            choices = list(target.successors(state))
            if not choices:
                break
            action, state = choose.choice(choices)
            path.append((action, state))
        if len(path) > steps:
            meta = TraceMeta(target="model", nodes=3, bounds=dict(target.bounds))
            return trace_from_path(target, path, meta)
    raise RuntimeError(f"no walk of {steps} steps found")


def _best_ms(body: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - started)
    return best * 1e3


def run(report: Report) -> None:
    trace = walk_trace()
    report("trace: steps rendered", len(trace.steps) - 1, "steps")
    text = dumps(trace)
    report("trace: ITF file size", len(text) / 1024, "KiB")
    report("trace: write ITF", _best_ms(lambda: dumps(trace)), "ms")
    report("trace: read ITF", _best_ms(lambda: from_itf(json.loads(text))), "ms")

    def to_dot() -> str:
        source: str = message_sequence_chart(trace, build_view(trace)).source
        return source

    report("trace: ITF -> DOT", _best_ms(to_dot), "ms")
    report("trace: HTML viewer", _best_ms(lambda: render_html(trace)), "ms")
    if dot_available():
        source = to_dot()
        report("trace: DOT -> SVG (dot)", _best_ms(lambda: render_picture(source, "svg")), "ms")
    assert to_itf(trace)["vars"]  # the document is well formed
