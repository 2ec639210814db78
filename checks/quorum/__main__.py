"""`python -m checks.quorum`: prove the quorum and commit rules, tie them to raft_ref.

Exit status: 0 when every property that should hold is proved and every property
that should fail is refuted, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from checks.quorum import pictures, report
from checks.quorum.runner import DEFAULT_MAX_IDS, all_properties, run
from checks.quorum.spec import Variant

PROG = "python -m checks.quorum"
MAX_IDS_RANGE = range(3, 13)
DEFAULT_OUT = Path("traces/quorum")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> _Parser:
    parser = _Parser(
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


def _validate(parser: _Parser, args: argparse.Namespace) -> None:
    if args.max_ids not in MAX_IDS_RANGE:
        parser.error(
            f"--max-ids must be between {MAX_IDS_RANGE.start} and {MAX_IDS_RANGE.stop - 1}, "
            f"not {args.max_ids}"
        )
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json: directory {args.json.parent} does not exist")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out: {args.out} is not a directory")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _validate(parser, args)
    variant = Variant(args.variant)

    print(f"Checking {variant.description}; bounded proofs over ids 1..{args.max_ids}.")
    start = time.perf_counter()
    results = run(all_properties(variant, args.max_ids), jobs=args.jobs)
    seconds = time.perf_counter() - start

    prefix = "" if variant is Variant.RAFT else f"{variant.value}."
    drawn = {r.key: pictures.draw(r, args.out, prefix) for r in results}
    print(report.table(results, drawn))
    print(report.summary_line(results, seconds))
    if any(drawn.values()) and not pictures.dot_available():
        print(pictures.DOT_MISSING_HINT)
    if args.json is not None:
        document = report.to_json(
            results, variant=variant, max_ids=args.max_ids, seconds=seconds, pictures=drawn
        )
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0 if report.all_as_expected(results) else 1


if __name__ == "__main__":
    sys.exit(main())
