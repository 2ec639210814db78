"""Command line: `python -m checks.conformance --impl raft-rs --random 100 --seed 1`."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from checks.conformance.adapter_check import check_adapter, format_report, passed
from checks.conformance.itf_trace import RunSpec
from checks.conformance.random_scenarios import random_scenario
from checks.conformance.runner import (
    AdapterUnavailable,
    ScenarioResult,
    implementation_session,
    run_scenarios,
)
from checks.conformance.scenario import Scenario, ScenarioError, load_scenario
from checks.conformance.sessions import SubprocessSession

CORPUS = Path(__file__).parent / "scenarios"
IMPLEMENTATIONS = ("raft_ref", "raft_ref-subprocess", "raft-rs", "raft-rs-0.7", "etcd")
# Implementations whose choices differ from raft-rs 0.6.0-alpha's: safety checks only.
DEFAULT_MODES = {"etcd": "protocol", "raft-rs-0.7": "protocol"}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m checks.conformance",
        description="Play Raft scenarios through an adapter and compare with raft_ref.",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument("--impl", choices=IMPLEMENTATIONS, help="implementation to drive")
    target.add_argument("--adapter", metavar="CMD", help="command of any protocol adapter")
    target.add_argument(
        "--check-adapter",
        metavar="CMD",
        help="self-test an adapter: every command of PROTOCOL.md, reported as supported, "
        "unsupported or wrong answer shape (see ADAPTERS.md)",
    )
    p.add_argument(
        "--mode",
        choices=("strict", "protocol"),
        help="default: strict (etcd, raft-rs-0.7: protocol)",
    )
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="PATH/NAME",
        help="a scenario file, corpus name or folder such as 'etcd' (repeatable); "
        "default: the corpus",
    )
    p.add_argument(
        "--expect",
        action="store_true",
        help="protocol mode: check the scenarios' expect steps too",
    )
    p.add_argument("--random", type=int, default=0, metavar="N", help="N random scenarios")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of random scenarios")
    p.add_argument("--steps", type=int, default=60, help="steps per random scenario")
    p.add_argument("--no-corpus", action="store_true", help="with --random: random only")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per adapter command")
    p.add_argument("--json", metavar="PATH", help="write a machine-readable summary")
    p.add_argument(
        "--traces",
        metavar="DIR",
        default="traces/conformance",
        help="where traces of failing scenarios go",
    )
    p.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    p.add_argument(
        "--snapshot-term-of-entry",
        action="store_true",
        help="raft_ref only: label snapshots with their last entry's term (upstream's fix "
        "of raft-rs #408) instead of the hard state's term",
    )
    return p  # fmt: skip


def _corpus_scenarios(names: Sequence[str], include_corpus: bool) -> list[Scenario]:
    paths: list[Path] = []
    for name in names:
        path = Path(name)
        if not path.exists():
            path = CORPUS / name
        if path.is_dir():
            # A folder of scenarios, such as the etcd-derived ones in scenarios/etcd.
            paths.extend(sorted(path.glob("*.scn")))
            continue
        if not path.exists():
            path = CORPUS / (name if name.endswith(".scn") else name + ".scn")
        if not path.exists():
            raise UsageError(f"no scenario {name!r} (neither a file nor in {CORPUS})")
        paths.append(path)
    if not names and include_corpus:
        paths = sorted(CORPUS.glob("*.scn"))
    try:
        return [load_scenario(p) for p in paths]
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None


def _scenarios(args: argparse.Namespace) -> Iterator[Scenario]:
    yield from _corpus_scenarios(args.scenario, not args.no_corpus)
    for number in range(args.random):
        yield random_scenario(args.seed, number, args.steps)


def _print_result(result: ScenarioResult, quiet: bool) -> None:
    if result.status == "pass":
        if not quiet:
            notes = ["known violation reproduced"] if result.known_violation else []
            if result.panicked:
                nodes = ", ".join(str(n) for n in result.panicked)
                notes.append(f"node{'s' if len(result.panicked) > 1 else ''} {nodes} panicked")
            print(f"pass      {result.name}" + (f" ({'; '.join(notes)})" if notes else ""))
        return
    print(f"{result.status:<9} {result.name}: {result.detail}")
    if result.diff:
        print(result.diff)
    if result.trace:
        print(f"          trace: {result.trace}")


def _check_adapter(command: str, timeout: float) -> int:
    """The adapter self-test: exit 0 when every command is supported or unsupported."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--check-adapter: {exc}") from None
    if not words:
        raise UsageError("--check-adapter needs the adapter's command")
    results = check_adapter(SubprocessSession(words, timeout))
    print(format_report(results))
    return 0 if passed(results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head`
        return 0


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.check_adapter is not None:
            return _check_adapter(args.check_adapter, args.timeout)
        if args.impl is None and args.adapter is None:
            raise UsageError("give --impl, --adapter or --check-adapter")
        if args.random < 0 or args.steps < 1 or args.timeout <= 0:
            raise UsageError("--random must be >= 0, --steps >= 1, --timeout > 0")
        if args.snapshot_term_of_entry and args.impl not in ("raft_ref", "raft_ref-subprocess"):
            raise UsageError("--snapshot-term-of-entry applies to --impl raft_ref only")
        mode = args.mode or DEFAULT_MODES.get(args.impl, "strict")
        scenarios = list(_scenarios(args))
        if not scenarios:
            raise UsageError("no scenarios to run")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        session = implementation_session(
            args.impl, args.adapter, args.timeout, args.snapshot_term_of_entry
        )
    except AdapterUnavailable as exc:
        print(exc)
        return 0
    summary = run_scenarios(
        scenarios,
        session,
        mode,
        Path(args.traces),
        lambda result: _print_result(result, args.quiet),
        spec=RunSpec(args.impl, args.adapter, mode, args.snapshot_term_of_entry),
        check_expectations=True if args.expect else None,
    )
    counts = summary.counts()
    print(
        f"{summary.implementation} ({mode}): {counts['run']} scenarios, {counts['pass']} passed, "
        f"{counts['diverged']} diverged, {counts['failed']} failed, {counts['error']} errors; "
        f"{counts['panicked']} with a node that panicked"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(summary.to_json(), indent=1) + "\n", encoding="utf-8")
    return 0 if summary.all_passed() else 1


if __name__ == "__main__":
    sys.exit(main())
