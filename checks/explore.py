"""`python -m checks.explore`: explore a target within bounds and check its properties.

Exit status: 0 when no property is violated, 1 when one is or the target raised an
exception (a counterexample is written under --out and its path printed), 2 on bad
usage (a one-line error on stderr) or when a result file cannot be written (after the
summary, naming the path), 3 when --max-memory stopped the search first, and 130 / 143
when SIGINT / SIGTERM did (after the partial summary and JSON are written). A closed
stdout (`| head`) changes neither the exit status nor the files written.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.cli_io import (
    OneLineParser,
    OutputError,
    UsageError,
    emit,
    print_error,
    probe_writable,
    write_result,
)
from checks.engine.checkpoint import CheckpointError
from checks.engine.counterexample import (
    explain_violation,
    explanation_lines,
)
from checks.engine.expansion import uses_reduction
from checks.engine.guard import INTERRUPTED, MEMORY, ForcedStop, Guard, exit_status, parse_size
from checks.engine.outcome import InitialStatesError, SearchOptions, SearchOutcome
from checks.engine.paths import ReplayError
from checks.engine.progress import SearchProgress
from checks.engine.search import ENGINES, STRATEGIES, UnsupportedOptions, explore
from checks.engine.summary import RunInfo, format_header, format_summary, summary_json
from checks.engine.target import Target, close_target
from checks.engine.workers import WorkerError
from checks.fast_tree import compiled_tree
from checks.targets import TARGETS, TargetChoice, TargetRequest
from checks.trace.write import write_counterexample
from model.params import BOUND_NAMES, CHANGE_RULES, QUIRKS

PROG = "python -m checks.explore"
DEFAULT_WALKS = 1000
DEFAULT_WORKERS = 2  # the machine this is made for has two cores
EXIT_MEMORY = 3  # --max-memory stopped the search before its end
EXIT_OUTPUT = 2  # a result file could not be written (`report`)


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _names(
    known: Sequence[str] | Mapping[str, str], empty: bool = False
) -> Callable[[str], tuple[str, ...]]:
    """An argparse type: comma-separated names out of `known` ("none" for none)."""

    def parse(text: str) -> tuple[str, ...]:
        if text.strip() in ("", "none"):
            if empty:
                return ()
            raise argparse.ArgumentTypeError("expected at least one name")
        names = tuple(part.strip() for part in text.split(","))
        unknown = [name for name in names if name not in known]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown)} (known: {', '.join(known)})"
            )
        return names

    return parse


def _seconds(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    value = _number_of_seconds(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _seconds_or_zero(text: str) -> float:
    """An argparse type: a number of seconds, zero allowed."""
    value = _number_of_seconds(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _number_of_seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None


def _size(text: str) -> int:
    """An argparse type: a memory size such as 500M or 2G."""
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# Flags that switch a bounded kind of event on with a small budget: (flag, bound,
# budget, what the events are).
_SHORTHANDS = (
    ("--compaction", "max_compactions", 2, "log compaction and snapshots"),
    ("--read-index", "max_reads", 2, "ReadIndex requests"),
    ("--transfer-leader", "max_transfers", 1, "leader transfer requests"),
    ("--request-snapshot", "max_snapshot_requests", 1, "followers asking for a snapshot"),
)


def _apply_shorthands(args: argparse.Namespace) -> None:
    for flag, bound, count, _ in _SHORTHANDS:
        if getattr(args, flag[2:].replace("-", "_")) and getattr(args, bound) is None:
            setattr(args, bound, count)


def build_parser(targets: Mapping[str, TargetChoice]) -> OneLineParser:
    variant_lines = []
    for name, choice in targets.items():
        for variant, breaks in choice.variants().items():
            variant_lines.append(f"  {variant:<28} ({name}) {breaks}")
    epilog = "broken variants (--variant):\n" + (
        "\n".join(variant_lines) if variant_lines else "  (none available)"
    )
    epilog += (
        "\n\nexit status: 0 no violation, 1 violation or internal error (counterexample "
        "written), 2 bad usage, 3 stopped by --max-memory, 130/143 stopped by SIGINT/SIGTERM"
        " (partial summary and --json written)"
    )
    parser = OneLineParser(
        prog=PROG,
        description="Explore a target's states within bounds: its invariants are checked on\n"
        "every new state, its step invariants on every transition, its goals recorded.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to explore")
    what.add_argument(
        "--target",
        choices=list(targets),
        default=next(iter(targets)),
        help="; ".join(f"{name}: {choice.description}" for name, choice in targets.items())
        + " (default: %(default)s)",
    )
    what.add_argument(
        "--nodes",
        type=_count(1),
        default=3,
        metavar="N",
        help="voters in the initial cluster (default 3)",
    )
    what.add_argument("--pre-vote", action="store_true", help="enable the pre-vote phase")
    what.add_argument(
        "--variant",
        "--mutant",
        dest="variant",
        metavar="NAME",
        help="a deliberately broken variant of the model, or mutant of raft_ref (below)",
    )
    what.add_argument("--check-quorum", action="store_true", help="enable raft-rs's check quorum")
    what.add_argument(
        "--skip-bcast-commit",
        action="store_const",
        const=True,
        help="raft-rs skip_bcast_commit: leaders do not broadcast commit advances",
    )
    what.add_argument(
        "--read-lease-based",
        action="store_const",
        const=True,
        help="ReadIndex in raft-rs's LeaseBased mode (needs --check-quorum); default Safe",
    )
    what.add_argument(
        "--entries-per-append",
        type=_count(0),
        metavar="N",
        help="entries one append carries at most, 0: all (default 1, raft-rs's "
        "max_size_per_msg 0; the impl target takes 1 or 0)",
    )
    what.add_argument(
        "--leave-out-quirk",
        dest="left_out",
        type=_names(QUIRKS),
        metavar="NAMES",
        help="raft-rs 0.6 quirks that break a safety rule whose trigger is left out of the "
        "run (comma-separated): " + "; ".join(f"{k}: {v}" for k, v in QUIRKS.items()),
    )
    for flag, bound, count, what_it_is in _SHORTHANDS:
        what.add_argument(
            flag,
            action="store_true",
            help=f"{what_it_is}: --{bound.replace('_', '-')} {count} unless given",
        )
    what.add_argument(
        "--no-contracts",
        action="store_true",
        help="impl: run raft_ref without its contracts (RAFT_REF_CONTRACTS=0; faster)",
    )

    limits = parser.add_argument_group("bounds (default: the target's own, printed at start)")
    limits.add_argument(
        "--depth",
        type=_count(0),
        default=12,
        metavar="N",
        help="steps from an initial state (default 12)",
    )
    limits.add_argument("--max-term", type=_count(1), metavar="N", help="highest term")
    limits.add_argument("--max-log", type=_count(0), metavar="N", help="longest log (entries)")
    limits.add_argument("--max-msgs", type=_count(0), metavar="N", help="messages in flight")
    limits.add_argument("--max-crashes", type=_count(0), metavar="N", help="restarts in all")
    limits.add_argument(
        "--spares", type=_count(0), metavar="N", help="servers outside the configuration"
    )
    limits.add_argument(
        "--max-client-requests", type=_count(0), metavar="N", help="client proposals in all"
    )
    limits.add_argument(
        "--max-membership-changes", type=_count(0), metavar="N", help="membership proposals"
    )
    limits.add_argument("--max-drops", type=_count(0), metavar="N", help="messages lost")
    limits.add_argument("--max-duplicates", type=_count(0), metavar="N", help="messages duplicated")
    limits.add_argument(
        "--max-transfers", type=_count(0), metavar="N", help="leader transfer requests (default 0)"
    )
    limits.add_argument(
        "--max-reads", type=_count(0), metavar="N", help="ReadIndex requests (default 0)"
    )
    limits.add_argument(
        "--max-compactions",
        type=_count(0),
        metavar="N",
        help="log compactions up to the applied index, after which leaders send "
        "snapshots (default 0)",
    )
    limits.add_argument(
        "--max-snapshot-requests",
        type=_count(0),
        metavar="N",
        help="followers asking their leader for a snapshot (raft-rs request_snapshot; default 0)",
    )
    limits.add_argument(
        "--changes",
        type=_names(CHANGE_RULES, empty=True),
        metavar="RULES",
        help="membership change rules, comma-separated (none: empty): " + ", ".join(CHANGE_RULES),
    )
    limits.add_argument(
        "--heartbeats",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="leaders' heartbeat timeouts (default on)",
    )

    how = parser.add_argument_group("how to search")
    how.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="bfs",
        help="bfs: shortest counterexamples; dfs: least memory; random: seeded random "
        "walks of up to --depth steps (default: bfs)",
    )
    how.add_argument(
        "--walks",
        type=_count(1),
        metavar="N",
        help=f"random: number of walks (default {DEFAULT_WALKS})",
    )
    how.add_argument(
        "--seed",
        type=_count(0),
        default=0,
        metavar="S",
        help="random: seed of the walks (default 0)",
    )
    how.add_argument(
        "--workers",
        type=_count(1),
        metavar="N",
        help=f"processes for bfs and random (default {DEFAULT_WORKERS}; dfs runs in one); "
        "results are the same for any number, counterexample paths may differ",
    )
    how.add_argument(
        "--symmetry",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="identify states equal up to renaming servers (default: on where the "
        "target says it is sound)",
    )
    how.add_argument(
        "--por",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bfs: partial-order reduction by sleep sets, where the target offers it: "
        "actions that commute with one already taken are not taken again; every state "
        "is still visited (default: on)",
    )
    how.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="bfs: local (this machine's processes, --workers) or ray (a Ray cluster: "
        "pip install 'raft-ref[cluster]'; --workers expanders) (default: local)",
    )
    how.add_argument(
        "--address",
        metavar="ADDR",
        help="ray: the cluster to join, auto or HOST:PORT (default: start one on this machine)",
    )
    how.add_argument(
        "--max-memory",
        type=_size,
        metavar="SIZE",
        help="stop cleanly, with a partial summary, before the search's processes use SIZE "
        "of memory (e.g. 500M, 2G)",
    )
    how.add_argument(
        "--checkpoint",
        type=Path,
        metavar="DIR",
        help="bfs: save every finished level in DIR, to go on later with --resume DIR",
    )
    how.add_argument(
        "--checkpoint-every",
        type=_seconds_or_zero,
        default=60.0,
        metavar="SECONDS",
        help="bfs: save at the first level end past SECONDS since the last save, and at the"
        " last level (default 60; 0: every level)",
    )
    how.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="bfs: go on from the checkpoint in DIR (any --depth and --workers; keeps saving)",
    )
    how.add_argument(
        "--disk",
        type=Path,
        metavar="DIR",
        help="bfs: keep each level's states in files in DIR rather than in memory, for runs"
        " larger than memory (slower; the files are gone when the run ends)",
    )
    how.add_argument(
        "--keep-going",
        action="store_true",
        help="after a violation, go on and report the first violation of every property",
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--out",
        type=Path,
        default=Path("traces"),
        metavar="DIR",
        help="where counterexamples are written (default: traces/)",
    )
    out.add_argument("--json", type=Path, metavar="PATH", help="write a JSON summary here")
    out.add_argument(
        "--no-progress", action="store_true", help="no progress lines on stderr while running"
    )
    out.add_argument(
        "--progress-every",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="seconds between two progress lines (default 2)",
    )
    return parser


@dataclass(frozen=True)
class Run:
    """A parsed and checked command line."""

    target: Target[Any, Any]
    info: RunInfo
    options: SearchOptions
    out: Path
    json_path: Path | None
    progress: bool
    max_memory: int | None = None
    progress_every: float = 2.0


def _switch_contracts_off() -> None:
    """RAFT_REF_CONTRACTS is read when raft_ref is first imported: set it before."""
    os.environ["RAFT_REF_CONTRACTS"] = "0"
    contracts = sys.modules.get("raft_ref.contracts")
    if contracts is not None and getattr(contracts, "ENABLED", False):
        print(f"{PROG}: warning: raft_ref already loaded; contracts stay on", file=sys.stderr)


def parse_run(argv: Sequence[str], targets: Mapping[str, TargetChoice]) -> Run:
    """Parses and validates `argv`, builds the target; raises UsageError on a mistake."""
    args = build_parser(targets).parse_args(list(argv))
    choice = targets[args.target]
    if choice.build is None:
        raise UsageError(f"--target {args.target} is not available yet")
    variants = choice.variants()
    if args.variant is not None and args.variant not in variants:
        known = ", ".join(variants) or "none"
        raise UsageError(
            f"unknown --variant {args.variant!r} for --target {args.target} (known: {known})"
        )
    if args.walks is not None and args.strategy != "random":
        raise UsageError("--walks applies only to --strategy random")
    if args.workers is not None and args.workers > 1 and args.strategy == "dfs":
        raise UsageError("--strategy dfs runs in one process: drop --workers")
    if args.workers is None:
        args.workers = 1 if args.strategy == "dfs" else DEFAULT_WORKERS
    if args.json is not None and not args.json.parent.is_dir():
        raise UsageError(f"--json: directory {str(args.json.parent)!r} does not exist")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out: {str(args.out)!r} is not a directory")
    if args.engine != "local" and args.strategy != "bfs":
        raise UsageError("--engine ray runs --strategy bfs only")
    if args.engine == "ray" and compiled_tree() is not None:
        # Ray puts the driver's working directory, the sources, first on its workers'
        # path: they would run the sources against the compiled tree's objects.
        raise UsageError(
            "--engine ray runs from the sources, not from a compiled tree: "
            "run python -m checks.explore without PYTHONPATH=build/fast"
        )
    if args.address is not None and args.engine != "ray":
        raise UsageError("--address applies only to --engine ray")
    if (args.checkpoint or args.resume) and args.strategy != "bfs":
        raise UsageError("--checkpoint and --resume apply only to --strategy bfs")
    if args.checkpoint and args.resume:
        raise UsageError("--resume DIR goes on saving in DIR: drop --checkpoint")
    if args.resume is not None and not args.resume.is_dir():
        raise UsageError(f"--resume: no checkpoint directory {str(args.resume)!r}")
    if args.disk is not None and args.strategy != "bfs":
        raise UsageError("--disk applies only to --strategy bfs")
    if args.disk is not None and args.engine != "local":
        raise UsageError("--disk applies only to --engine local")
    if args.disk is not None and not args.disk.is_dir():
        raise UsageError(f"--disk: no directory {str(args.disk)!r}")
    if args.checkpoint is not None and args.checkpoint.exists() and not args.checkpoint.is_dir():
        raise UsageError(f"--checkpoint: {str(args.checkpoint)!r} is not a directory")
    if args.no_contracts:
        _switch_contracts_off()
    _apply_shorthands(args)
    requested = {name: getattr(args, name) for name in BOUND_NAMES}
    request = TargetRequest(
        args.nodes, args.pre_vote, args.variant, requested, check_quorum=args.check_quorum
    )
    try:
        target = choice.build(request)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        return _run_of(args, argv, requested, target)
    except BaseException:
        close_target(target)  # a mutant it applied must not outlive the run
        raise


def _run_of(
    args: argparse.Namespace, argv: Sequence[str], requested: dict[str, Any], target: Any
) -> Run:
    """The run `args` ask for on the built `target`."""
    sound = bool(getattr(target, "symmetry_sound", True))
    probe = getattr(target, "asymmetry", None)
    asymmetry = probe() if sound and callable(probe) and args.symmetry is not False else None
    if asymmetry is not None:
        sound = False
        if args.symmetry is None:
            print(
                f"{PROG}: warning: symmetry off: "
                f"the code does not treat node ids alike ({asymmetry})",
                file=sys.stderr,
            )
    symmetry = sound if args.symmetry is None else args.symmetry
    in_use: Mapping[str, object] = getattr(target, "bounds", requested)
    info = RunInfo(
        target=args.target,
        nodes=args.nodes,
        variant=args.variant,
        pre_vote=args.pre_vote,
        bounds=dict(in_use),
        seed=args.seed,
        walks=(args.walks or DEFAULT_WALKS) if args.strategy == "random" else None,
        command=" ".join([PROG, *map(shlex.quote, argv)]),
    )
    options = SearchOptions(
        strategy=args.strategy,
        max_depth=args.depth,
        symmetry=symmetry,
        por=args.por,
        keep_going=args.keep_going,
        workers=args.workers,
        walks=args.walks or DEFAULT_WALKS,
        seed=args.seed,
        engine=args.engine,
        address=args.address,
        checkpoint=None if args.checkpoint is None else str(args.checkpoint),
        resume=None if args.resume is None else str(args.resume),
        checkpoint_every=args.checkpoint_every,
        disk=None if args.disk is None else str(args.disk),
        identity=_identity(info),
    )
    if symmetry and not sound:
        reason = "" if asymmetry is None else f" ({asymmetry})"
        print(f"{PROG}: warning: the target says symmetry is unsound here{reason}", file=sys.stderr)
    return Run(
        target,
        info,
        options,
        args.out,
        args.json,
        not args.no_progress,
        args.max_memory,
        args.progress_every,
    )


def _identity(info: RunInfo) -> str:
    """What a checkpoint must match to be resumed: the target and its bounds."""
    parts = [info.target, f"{info.nodes} nodes", f"variant {info.variant}"]
    parts.append(f"pre-vote {'on' if info.pre_vote else 'off'}")
    parts += [f"{name} {value}" for name, value in info.bounds.items()]
    return ", ".join(parts)


def exit_code(outcome: SearchOutcome, guard: Guard) -> int:
    """The exit status of a finished or stopped search (see the module's docstring)."""
    if outcome.stopped == INTERRUPTED and guard.signal is not None:
        return exit_status(guard.signal)
    if outcome.violations:
        return 1
    return EXIT_MEMORY if outcome.stopped == MEMORY else 0


def report(run: Run, outcome: SearchOutcome) -> int:
    """Prints the summary, then writes counterexamples and the JSON summary; the exit
    status. The summary comes first so that a failed write loses no verdict."""
    emit(format_summary(outcome))
    traces, failure = _write_counterexamples(run, outcome)
    if run.json_path is not None:
        document = summary_json(run.info, outcome, traces)
        try:
            write_result(run.json_path, json.dumps(document, indent=1) + "\n")
        except OutputError as error:
            failure = failure or str(error)
    if failure is not None:
        print_error(PROG, failure)
        return EXIT_OUTPUT
    return 1 if outcome.violations else 0


def _write_counterexamples(run: Run, outcome: SearchOutcome) -> tuple[list[str], str | None]:
    """Writes and prints each violation's counterexample: the paths written ("" where
    none could be), and the first failure, naming its path."""
    traces: list[str] = []
    failure: str | None = None
    for violation in outcome.violations:
        path = ""
        if failure is None:
            try:
                path = str(write_counterexample(run.out, run.target, run.info, violation))
            except OSError as error:
                where = error.filename or run.out
                failure = f"cannot write the counterexample to {str(where)!r}: {error.strerror}"
        traces.append(path)
        emit(
            f"counterexample: {violation.property_name} violated at depth {violation.depth}"
            + (f" -> {path}" if path else " (not written)")
        )
        explanation = explain_violation(run.target, violation)
        if explanation is not None:
            emit("\n".join(explanation_lines(explanation)))
    return traces, failure


def check_outputs(run: Run) -> None:
    """Refuses, before the run, a --json file that could not be written after it."""
    if run.json_path is not None:
        try:
            probe_writable(run.json_path, "--json")
        except OutputError as error:
            raise UsageError(str(error)) from None


def main(
    argv: Sequence[str] | None = None, targets: Mapping[str, TargetChoice] | None = None
) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    run: Run | None = None
    try:
        run = parse_run(arguments, TARGETS if targets is None else targets)
        check_outputs(run)
        options = run.options
        reduced = options.strategy == "bfs" and uses_reduction(run.target, options)
        emit(
            format_header(
                run.info,
                options.strategy,
                options.workers,
                options.symmetry,
                options.max_depth,
                por=reduced,
            )
        )
        guard = Guard(run.max_memory)
        with guard.signals():
            progress = SearchProgress(interval=run.progress_every, enabled=run.progress)
            outcome = explore(run.target, options, progress, guard)
            if outcome.stopped is not None:
                print(f"{PROG}: {_stop_message(outcome, guard)}", file=sys.stderr, flush=True)
            status = report(run, outcome)
        return status if status == EXIT_OUTPUT else exit_code(outcome, guard)
    except (UsageError, UnsupportedOptions, CheckpointError) as error:
        print_error(PROG, error)
        return 2
    except (InitialStatesError, WorkerError, ReplayError) as error:
        print(f"{PROG}: internal error: {error}", file=sys.stderr)
        return 1
    except ForcedStop as stop:
        print(f"{PROG}: stopped at once by a second signal: no summary", file=sys.stderr)
        return exit_status(stop.signum)
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (stays open until exit)
        return 1
    except OSError as error:
        print_error(PROG, f"{error.strerror or error}: {error.filename}")
        return 2
    except SystemExit as stop:  # --help
        return stop.code if isinstance(stop.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        if run is not None:
            close_target(run.target)


def _stop_message(outcome: SearchOutcome, guard: Guard) -> str:
    if outcome.stopped == MEMORY:
        limit = f"{(guard.max_memory or 0) / 2**20:,.0f} MiB"
        return f"stopped before the memory limit ({limit}): partial summary follows"
    name = signal.Signals(guard.signal).name if guard.signal else "a signal"
    return f"interrupted by {name}: partial summary follows"


if __name__ == "__main__":
    sys.exit(main())
