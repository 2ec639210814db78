"""`python -m checks.quorum`: prove the quorum and commit rules, tie them to raft_ref.

Exit status: 0 when every property that should hold is proved and every property
that should fail is refuted, 1 otherwise (also when a worker process died), 2 on bad
usage or a result file that cannot be written, 130/143 when interrupted by
SIGINT/SIGTERM (the properties decided so far are printed, and written to --json
marked "interrupted").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from checks.cli_io import (
    Interrupted,
    OneLineParser,
    OutputError,
    UsageError,
    emit,
    interruptible,
    print_error,
    probe_writable,
    probe_writable_dir,
    write_result,
)
from checks.quorum import pictures, report
from checks.quorum.properties import Obligation, Result
from checks.quorum.runner import DEFAULT_MAX_IDS, WorkerDied, all_properties, run
from checks.quorum.spec import Variant

PROG = "python -m checks.quorum"
MAX_IDS_RANGE = range(3, 13)
DEFAULT_OUT = Path("traces/quorum")


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Z3 proofs that Raft's quorums are safe, with negative controls, "
        "and a check that raft_ref's quorum code computes what the proofs are about.",
    )
    parser.add_argument(
        "--max-ids",
        type=int,
        default=DEFAULT_MAX_IDS,
        metavar="N",
        help=f"bounded proofs cover every set of the ids 1..N "
        f"({MAX_IDS_RANGE.start}-{MAX_IDS_RANGE.stop - 1}, default {DEFAULT_MAX_IDS}); "
        "the commit rule and the exhaustive code tie use at most 5",
    )
    parser.add_argument(
        "--variant",
        default=Variant.RAFT.value,
        choices=[v.value for v in Variant],
        help="check Raft's rules (default) or a deliberately broken negative control: "
        + "; ".join(f"{v.value}: {v.description}" for v in Variant if v is not Variant.RAFT),
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"where counterexample pictures go (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="worker processes (default: 2, or 1 on a one-core machine)",
    )
    return parser


def _validate(args: argparse.Namespace) -> None:
    if args.max_ids not in MAX_IDS_RANGE:
        raise UsageError(
            f"--max-ids must be between {MAX_IDS_RANGE.start} and {MAX_IDS_RANGE.stop - 1}, "
            f"not {args.max_ids}"
        )
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs}")
    try:
        if args.json is not None:
            probe_writable(args.json, "--json")
        probe_writable_dir(args.out, "--out")
    except OutputError as error:
        raise UsageError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    with interruptible():
        try:
            return _main(argv)
        except Interrupted as stop:  # before or after the run: nothing to summarize
            print(f"{PROG}: interrupted by {stop}", file=sys.stderr)
            return stop.exit_status


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
        _validate(args)
    except UsageError as error:
        print_error(PROG, f"{error} (see --help)")
        return 2
    variant = Variant(args.variant)

    props = all_properties(variant, args.max_ids)
    decided: list[Result] = []
    interrupted: Interrupted | None = None
    start = time.perf_counter()
    died: WorkerDied | None = None
    try:
        emit(f"Checking {variant.description}; bounded proofs over ids 1..{args.max_ids}.")
        run(props, jobs=args.jobs, decided=decided)
    except Interrupted as stop:
        interrupted = stop
        print(f"{PROG}: interrupted by {stop}", file=sys.stderr)
    except WorkerDied as error:
        died = error
    seconds = time.perf_counter() - start
    results = _in_order(props, decided)
    try:
        _report(args, variant, results, seconds, interrupted is not None)
    except OutputError as error:
        print_error(PROG, error)
        return 2
    if interrupted is not None:
        emit(f"interrupted: {len(results)} of {len(props)} properties decided")
        return interrupted.exit_status
    if died is not None:
        print_error(PROG, f"{died} ({len(results)} of {len(props)} decided)")
        return 1
    return 0 if report.all_as_expected(results) else 1


def _in_order(props: Sequence[Obligation], decided: Sequence[Result]) -> list[Result]:
    by_key = {(r.prop.family, r.prop.name): r for r in decided}
    return [by_key[key] for p in props if (key := (p.family, p.name)) in by_key]


def _report(
    args: argparse.Namespace,
    variant: Variant,
    results: list[Result],
    seconds: float,
    interrupted: bool,
) -> None:
    """The table and summary, then pictures and JSON (OutputError naming a failed path)."""
    prefix = "" if variant is Variant.RAFT else f"{variant.value}."
    try:
        drawn = {r.key: pictures.draw(r, args.out, prefix) for r in results}
    except OSError as error:
        emit(report.table(results))
        emit(report.summary_line(results, seconds))
        where = error.filename or args.out
        raise OutputError(f"cannot write pictures to {str(where)!r}: {error.strerror}") from None
    emit(report.table(results, drawn))
    emit(report.summary_line(results, seconds) + (" (interrupted)" if interrupted else ""))
    if any(drawn.values()) and not pictures.dot_available():
        emit(pictures.DOT_MISSING_HINT)
    if args.json is not None:
        document = report.to_json(
            results, variant=variant, max_ids=args.max_ids, seconds=seconds, pictures=drawn
        )
        document["interrupted"] = interrupted
        write_result(args.json, json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
