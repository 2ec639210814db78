"""The example traces committed under traces/examples/, produced by the tools themselves.

`python -m checks.trace examples [--out DIR]` runs each exploration below in one process
and writes every format of its counterexample. The outputs hold no time, host or
absolute path, so running it again gives byte-identical files (given the same Graphviz).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.engine.outcome import Violation
from checks.engine.progress import quiet
from checks.engine.search import explore
from checks.engine.target import Target
from checks.explore import parse_run
from checks.targets import TARGETS
from checks.trace.document import TraceError
from checks.trace.graphviz_output import DotFailed, dot_available, write_dot, write_picture
from checks.trace.replay import Follower, first_failure, initial_state_of
from checks.trace.shrink import shrink
from checks.trace.state_graph import explore_graph, state_graph_dot
from checks.trace.write import trace_of_violation, trace_stem, write_trace_files

DEFAULT_OUT = Path("traces/examples")
STATE_GRAPH_CAP = 30


@dataclass(frozen=True)
class Example:
    argv: tuple[str, ...]  # arguments of `python -m checks.explore`
    suffix: str = ""  # appended to the file stem
    shrink: bool = False  # also write the shrunk trace
    state_graph: bool = False  # also draw the state graph around the trace
    # A path too deep for a search at these bounds: the actions (as the target formats
    # them) taken from the initial state, and the property that fails at its end.
    path: tuple[str, ...] = ()
    violated: str = ""


# One worker: a parallel breadth-first search may return another shortest counterexample
# from run to run; one process always returns the same.
SEARCH = ("--workers", "1")
WALK_ARGV = (
    *("--target", "model", "--variant", "vote_without_log_check"),
    *("--strategy", "random", "--seed", "3", "--depth", "40", "--walks", "2000", *SEARCH),
)
# raft-rs 0.6's snapshot label (#408) loses a committed entry on the unmodified code:
# the shortest path, found by BFS on the model (`--target model --depth 23 --max-term 5
# --max-log 4 --max-compactions 1 --max-client-requests 1 --max-membership-changes 0
# --spares 0 --no-heartbeats --max-msgs 6`), followed here on the implementation.
SNAPSHOT_LABEL_ARGV = (
    *("--target", "impl", "--max-term", "5", "--max-log", "4", "--max-msgs", "10"),
    *("--max-compactions", "1", "--max-membership-changes", "0", "--spares", "0"),
)
SNAPSHOT_LABEL_PATH = (
    "Timeout(1)",
    "Deliver(RequestVote 1->2 term 2 last (1, term 1))",
    "Deliver(RequestVoteResponse 2->1 term 2)",
    "Deliver(AppendEntries 1->2 term 2 prev (1, term 1) [2:Empty] commit 1)",
    "Timeout(2)",
    "Deliver(RequestVote 2->3 term 3 last (2, term 2))",
    "Deliver(RequestVoteResponse 3->2 term 3)",
    "ClientRequest(2)",
    "Deliver(AppendEntries 2->1 term 3 prev (2, term 2) [3:Empty] commit 1)",
    "Deliver(AppendEntriesResponse 1->2 term 3 index 3)",
    "Deliver(AppendEntries 2->1 term 3 prev (3, term 3) [3:Data] commit 3)",
    "Timeout(1)",
    "Compact(1)",
    "Deliver(RequestVote 1->3 term 4 last (4, term 3))",
    "Deliver(RequestVoteResponse 3->1 term 4)",
    "Deliver(AppendEntries 1->3 term 4 prev (4, term 3) [4:Empty] commit 3)",
    "Deliver(AppendEntriesResponse 1->2 term 3 index 4)",
    "Deliver(AppendEntriesResponse 3->1 term 4 reject 4 hint 1)",
    "Deliver(Snapshot 1->3 term 4 at (3, term 4) voters=[1, 2, 3], learners=[])",
    "Timeout(3)",
    "Deliver(RequestVote 3->2 term 5 last (3, term 4))",
    "Deliver(RequestVoteResponse 2->3 term 5)",
)
EXAMPLES = (
    # Two leaders in one term, when one vote is taken for a majority: two steps.
    Example(("--target", "model", "--variant", "small_majority", *SEARCH), state_graph=True),
    # Votes granted without the log check elect a leader missing a committed entry.
    Example(("--target", "model", "--variant", "vote_without_log_check", *SEARCH)),
    # Begin switching straight to the target configuration: two disjoint quorums.
    Example(("--target", "model", "--variant", "direct_membership_change", *SEARCH)),
    # A deep random walk, then shrunk to a locally minimal trace.
    Example(WALK_ARGV, suffix=".walk", shrink=True),
    # The unmodified code loses a committed entry through raft-rs 0.6's snapshot label.
    Example(SNAPSHOT_LABEL_ARGV, path=SNAPSHOT_LABEL_PATH, violated="LeaderCompleteness"),
)


def _violation_on_path(target: Target[Any, Any], example: Example) -> Violation:
    """The example's property failing at the end of its path (and not before)."""
    follower = Follower(target, target.initial_states()[0])
    path = follower.follow(list(example.path))
    if isinstance(path, int):
        raise TraceError(f"example path: step {path} is not enabled")
    prop = next(p for p in target.properties() if p.name == example.violated)
    if first_failure(prop, path) != len(path) - 1:
        raise TraceError(f"example path: {example.violated} does not fail at its last step")
    return Violation(prop.name, prop.expectation, path)


def write_examples(out: Path, say: Callable[[str], None] = print) -> list[Path]:
    """Runs every example; returns the files written."""
    written: list[Path] = []
    for example in EXAMPLES:
        run = parse_run(list(example.argv), TARGETS)
        if example.path:
            violation = _violation_on_path(run.target, example)
        else:
            outcome = explore(run.target, run.options, quiet())
            if not outcome.violations:
                raise TraceError(f"example {' '.join(example.argv)} found no violation")
            violation = outcome.violations[0]
        trace = trace_of_violation(run.target, run.info, violation, run.options.strategy)
        stem = trace_stem(trace) + example.suffix
        files = write_trace_files(trace, out, stem)
        written += files.files
        if example.shrink:
            shrunk, _ = shrink(trace)
            written += write_trace_files(shrunk, out, stem + ".shrunk").files
        if example.state_graph:
            follower = Follower(run.target, initial_state_of(run.target, trace))
            path = follower.follow([step.action for step in trace.steps[1:]])
            assert not isinstance(path, int)
            graph = explore_graph(run.target, STATE_GRAPH_CAP, path=path)
            dot = state_graph_dot(graph, run.target, path)
            written.append(write_dot(dot, out / f"{stem}.states.dot"))
            if dot_available():
                try:
                    written.append(write_picture(dot, out / f"{stem}.states.svg", "svg"))
                except DotFailed as error:
                    say(f"state graph: {error}")
        say(f"{stem}: {violation.property_name} at step {violation.depth}")
    return written
