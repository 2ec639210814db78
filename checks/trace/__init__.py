"""Traces: counterexamples and scenarios as ITF files (Apalache ADR-015), drawn as
message-sequence charts and state graphs (Graphviz), shown in a self-contained HTML
viewer, replayed on their target and shrunk.

Modules: `itf` (the format: values and its rules), `document` (raft-ref's trace shape),
`encoding` (a target's path as a trace), `view` (what every rendering shows), `text`,
`chart`, `state_graph`, `html` (the renderings), `replay`, `shrink`, `write` (all files
of one counterexample), `examples` (the committed examples in traces/), `cli`.
"""

from checks.trace.document import Trace, TraceError, TraceMeta, TraceStep, read_trace
from checks.trace.write import write_all, write_trace_files

__all__ = [
    "Trace",
    "TraceError",
    "TraceMeta",
    "TraceStep",
    "read_trace",
    "write_all",
    "write_trace_files",
]
