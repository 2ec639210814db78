"""`python -m checks.trace`: show, render, replay and shrink trace files.

Exit status: 0 success (for replay: reproduced), 1 replay not reproduced, 2 bad usage or a
file that cannot be used (a one-line error on stderr, never a stack trace).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from checks.cli_io import OneLineParser, UsageError, emit, print_error
from checks.trace.chart import message_sequence_chart
from checks.trace.document import Trace, TraceError, write_trace
from checks.trace.graphviz_output import (
    INSTALL_HINT,
    DotFailed,
    DotUnavailable,
    dot_available,
    write_dot,
    write_picture,
)
from checks.trace.html import write_html
from checks.trace.replay import Follower, build_target, initial_state_of, load_trace, replay
from checks.trace.shrink import shrink
from checks.trace.state_graph import DEFAULT_MAX_STATES, explore_graph, state_graph_dot
from checks.trace.text import show_text
from checks.trace.view import build_view

PROG = "python -m checks.trace"
FORMATS = ("dot", "svg", "png", "html")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Read, draw, replay and shrink traces (ITF files, *.itf.json; a "
        "checks.explore counterexample .json is read too).",
        epilog="exit status: 0 success (replay: reproduced), 1 replay not reproduced, "
        "2 bad usage or unusable file",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    show = commands.add_parser("show", help="print the trace as readable text")
    show.add_argument("file", type=Path)

    render = commands.add_parser(
        "render", help="write the message-sequence chart (dot, svg, png) or the HTML viewer"
    )
    render.add_argument("file", type=Path)
    render.add_argument("--format", choices=FORMATS, default="svg", help="(default: svg)")
    render.add_argument(
        "--out", type=Path, metavar="DIR", help="directory to write into (default: the file's)"
    )
    render.add_argument(
        "--state-graph",
        action="store_true",
        help="also draw the state graph explored breadth-first from the initial state, "
        "with this trace's path in red (dot, svg, png)",
    )
    render.add_argument(
        "--max-states",
        type=_positive,
        default=DEFAULT_MAX_STATES,
        metavar="N",
        help=f"states in the state graph before it is cut (default {DEFAULT_MAX_STATES})",
    )

    replay_cmd = commands.add_parser(
        "replay", help="re-execute the trace on its target: does the property fail again?"
    )
    replay_cmd.add_argument("file", type=Path)

    shrink_cmd = commands.add_parser(
        "shrink", help="delta-debug the trace to a locally minimal one failing the same way"
    )
    shrink_cmd.add_argument("file", type=Path)
    shrink_cmd.add_argument(
        "--out", type=Path, metavar="PATH", help="(default: FILE with .shrunk.itf.json)"
    )
    examples = commands.add_parser(
        "examples", help="regenerate the example traces (runs the explorations in traces/README)"
    )
    examples.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="(default: traces/examples)"
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def stem_of(path: Path) -> str:
    name = path.name
    for suffix in (".itf.json", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def cmd_show(file: Path) -> int:
    emit(show_text(load_trace(file)))
    return 0


def cmd_render(file: Path, fmt: str, out: Path | None, states: bool, max_states: int) -> int:
    trace = load_trace(file)
    directory = out if out is not None else file.parent
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out: {str(directory)!r} is not a directory")
    stem = stem_of(file)
    written: list[Path] = []
    if fmt == "html":
        written.append(write_html(trace, directory / f"{stem}.html"))
    else:
        chart = message_sequence_chart(trace, build_view(trace))
        written.append(_write_graph(chart, directory / f"{stem}.msc", fmt))
    if states:
        graph = state_graph_of(trace, max_states)
        written.append(_write_graph(graph, directory / f"{stem}.states", fmt))
    for path in written:
        emit(str(path))
    return 0


def _write_graph(graph: object, base: Path, fmt: str) -> Path:
    import graphviz  # noqa: PLC0415

    assert isinstance(graph, graphviz.Digraph)
    if fmt in ("dot", "html"):
        return write_dot(graph, base.with_name(base.name + ".dot"))
    try:
        return write_picture(graph, base.with_name(f"{base.name}.{fmt}"), fmt)
    except DotUnavailable:
        dot = write_dot(graph, base.with_name(base.name + ".dot"))
        print(f"{PROG}: {INSTALL_HINT} (wrote {dot} instead)", file=sys.stderr)
        return dot


def state_graph_of(trace: Trace, max_states: int) -> object:
    target = build_target(trace.meta)
    follower = Follower(target, initial_state_of(target, trace))
    path = follower.follow([step.action for step in trace.steps[1:]])
    graph = explore_graph(target, max_states, path=[] if isinstance(path, int) else path)
    return state_graph_dot(graph, target, [] if isinstance(path, int) else path)


def cmd_replay(file: Path) -> int:
    result = replay(load_trace(file))
    emit(result.message)
    return 0 if result.reproduced else 1


def cmd_shrink(file: Path, out: Path | None) -> int:
    trace = load_trace(file)
    shrunk, tests = shrink(trace)
    target = out if out is not None else file.with_name(f"{stem_of(file)}.shrunk.itf.json")
    write_trace(target, shrunk)
    emit(
        f"{len(trace.steps) - 1} steps -> {len(shrunk.steps) - 1} steps ({tests} replays): {target}"
    )
    return 0


def cmd_examples(out: Path | None) -> int:
    from checks.trace.examples import DEFAULT_OUT, write_examples  # noqa: PLC0415

    directory = out if out is not None else DEFAULT_OUT
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out: {str(directory)!r} is not a directory")
    write_examples(directory)
    if not dot_available():
        print(f"{PROG}: {INSTALL_HINT}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
        if args.command == "show":
            return cmd_show(args.file)
        if args.command == "render":
            return cmd_render(args.file, args.format, args.out, args.state_graph, args.max_states)
        if args.command == "replay":
            return cmd_replay(args.file)
        if args.command == "shrink":
            return cmd_shrink(args.file, args.out)
        return cmd_examples(args.out)
    except (UsageError, TraceError, DotFailed) as error:
        print_error(PROG, error)
        return 2
    except OSError as error:
        print_error(PROG, f"{error.strerror or error}: {error.filename}")
        return 2
    except SystemExit as stop:  # --help
        return stop.code if isinstance(stop.code, int) else 0
    except BrokenPipeError:  # output piped into `head`
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
