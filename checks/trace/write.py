"""Writing every format of one counterexample: ITF, DOT, SVG (when `dot` exists), HTML."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.engine.counterexample import counterexample_json, explain_violation, explanation_lines
from checks.engine.outcome import Violation
from checks.engine.summary import RunInfo
from checks.engine.target import Target
from checks.trace.chart import message_sequence_chart
from checks.trace.document import PropertyInfo, Trace, TraceMeta, write_trace
from checks.trace.encoding import trace_from_path
from checks.trace.graphviz_output import (
    INSTALL_HINT,
    DotFailed,
    dot_available,
    write_dot,
    write_picture,
)
from checks.trace.html import write_html
from checks.trace.view import build_view


@dataclass
class Written:
    """The files written for one trace, and a note when pictures were skipped."""

    itf: Path
    files: list[Path] = field(default_factory=list)
    note: str | None = None


def trace_of_violation(
    target: Target[Any, Any], run: RunInfo, violation: Violation, strategy: str | None = None
) -> Trace:
    """The trace of an explorer's violation, with everything replay needs in `#meta`."""
    described = {p.name: p.description for p in target.properties()}
    if strategy is None:  # RunInfo says how many walks only for random walks
        strategy = getattr(run, "strategy", None) or ("random" if run.walks else None)
    meta = TraceMeta(
        target=run.target,
        variant=run.variant,
        nodes=run.nodes,
        pre_vote=run.pre_vote,
        check_quorum=bool(getattr(run, "check_quorum", False))
        or "--check-quorum" in run.command.split(),
        bounds=dict(run.bounds),
        seed=run.seed,
        strategy=strategy,
        command=run.command,
        property=PropertyInfo(
            violation.property_name,
            violation.expectation.value,
            _description(target, violation, described.get(violation.property_name, "")),
        ),
        violation_step=violation.depth,
    )
    return trace_from_path(target, violation.path, meta)


def _description(target: Target[Any, Any], violation: Violation, rule: str) -> str:
    """The property's rule, followed for a divergence by what the model allowed and
    where the implementation differs (shown by the viewer under the property)."""
    explanation = explain_violation(target, violation)
    if explanation is None:
        return rule
    return "\n".join([rule, *(line.strip() for line in explanation_lines(explanation))])


def trace_stem(trace: Trace) -> str:
    """`<target>[-<variant>]-<property>`, as the explorer names its counterexamples."""
    meta = trace.meta
    parts = [meta.target, *([meta.variant] if meta.variant else [])]
    if meta.property is not None:
        parts.append(meta.property.name)
    return "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part) for part in parts)


def write_trace_files(trace: Trace, directory: Path, stem: str | None = None) -> Written:
    """Writes `<stem>.itf.json`, `.msc.dot`, `.msc.svg` (when `dot` exists) and `.html`."""
    stem = stem or trace_stem(trace)
    view = build_view(trace)
    written = Written(write_trace(directory / f"{stem}.itf.json", trace))
    written.files.append(written.itf)
    chart = message_sequence_chart(trace, view)
    written.files.append(write_dot(chart, directory / f"{stem}.msc.dot"))
    if dot_available():
        try:
            written.files.append(write_picture(chart, directory / f"{stem}.msc.svg", "svg"))
        except DotFailed as error:
            written.note = str(error)
    else:
        written.note = INSTALL_HINT
    written.files.append(write_html(trace, directory / f"{stem}.html", view))
    return written


def write_all(
    directory: Path,
    target: Target[Any, Any],
    run: RunInfo,
    violation: Violation,
    strategy: str | None = None,
) -> Written:
    """Every format of the counterexample of `violation`, under `directory`."""
    return write_trace_files(trace_of_violation(target, run, violation, strategy), directory)


def counterexample_path(directory: Path, run: RunInfo, violation: Violation) -> Path:
    """`<dir>/<target>[-<variant>]-<property>.json`: one file per finding, rewritten by
    a rerun of the same command."""
    parts = [run.target, *([run.variant] if run.variant else []), violation.property_name]
    name = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part) for part in parts)
    return directory / f"{name}.json"


def write_counterexample(
    directory: Path, target: Target[Any, Any], run: RunInfo, violation: Violation
) -> Path:
    """Writes the counterexample of `violation` under `directory`, with its ITF trace,
    message-sequence chart (DOT, and SVG when Graphviz is installed) and HTML viewer
    (`write_all`); returns the JSON file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = counterexample_path(directory, run, violation)
    document = counterexample_json(target, run, violation)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    try:
        written = write_all(directory, target, run, violation)
    except Exception as error:  # the JSON above is written: report, and go on
        print(f"traces: could not write the ITF trace and pictures: {error}", file=sys.stderr)
    else:
        if written.note is not None:
            print(f"traces: {written.note}", file=sys.stderr)
    return path
