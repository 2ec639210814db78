"""Command line: `python -m checks.conformance --impl raft-rs --random 100 --seed 1`.

Exit status: 0 every scenario passed, 1 some did not, 2 bad usage (also: an adapter
that is not built, unless --skip-missing, and a result file that cannot be written),
130/143 interrupted by SIGINT/SIGTERM (the scenarios run so far are summarized).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import sys
from collections.abc import Iterator, Sequence
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
from checks.conformance.adapter_check import check_adapter, format_report, passed
from checks.conformance.itf_trace import RunSpec
from checks.conformance.model_check import Tally, model_checked_by_default
from checks.conformance.random_scenarios import random_scenario
from checks.conformance.runner import (
    AdapterUnavailable,
    RunSummary,
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
MAX_TIMEOUT = 86400.0  # a day: beyond it select() cannot wait


PROG = "python -m checks.conformance"


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
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
    p.add_argument(
        "--model-check",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="protocol mode: check every message delivered to a follower against the "
        "model (default: on for raft_ref and raft-rs, whose rules the model follows)",
    )
    p.add_argument(
        "--skip-missing",
        action="store_true",
        help="an adapter that is not built is skipped (exit 0) instead of an error (exit 2)",
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


def _random_scenarios(args: argparse.Namespace) -> Iterator[Scenario]:
    # Made one at a time as the run goes: 10,000 take minutes to generate.
    for number in range(args.random):
        yield random_scenario(args.seed, number, args.steps)


def _print_result(result: ScenarioResult, quiet: bool) -> None:
    if result.status == "pass":
        if not quiet:
            notes = ["known violation reproduced"] if result.known_violation else []
            if result.panicked:
                nodes = ", ".join(str(n) for n in result.panicked)
                notes.append(f"node{'s' if len(result.panicked) > 1 else ''} {nodes} panicked")
            emit(f"pass      {result.name}" + (f" ({'; '.join(notes)})" if notes else ""))
        return
    emit(f"{result.status:<9} {result.name}: {result.detail}")
    if result.diff:
        emit(result.diff)
    if result.trace:
        emit(f"          trace: {result.trace}")


def _adapter_words(flag: str, command: str) -> list[str]:
    """The words of an adapter command; UsageError for an empty or unsplittable one."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if not words:
        raise UsageError(f"{flag} needs the adapter's command")
    return words


def _check_outputs(args: argparse.Namespace) -> None:
    try:
        if args.json:
            probe_writable(Path(args.json), "--json")
        probe_writable_dir(Path(args.traces), "--traces")
    except OutputError as exc:
        raise UsageError(str(exc)) from None


def _report(summary: RunSummary, mode: str, json_path: str | None, interrupted: bool) -> None:
    """The summary line, then the JSON summary (OutputError if it cannot be written)."""
    counts = summary.counts()
    emit(
        f"{summary.implementation} ({mode}): {counts['run']} scenarios, {counts['pass']} passed, "
        f"{counts['diverged']} diverged, {counts['failed']} failed, {counts['error']} errors; "
        f"{counts['panicked']} with a node that panicked"
        + (" (interrupted)" if interrupted else "")
    )
    deliveries = summary.deliveries()
    if deliveries is not None:
        emit(_deliveries_line(deliveries))
    if json_path:
        document = {**summary.to_json(), "interrupted": interrupted}
        write_result(Path(json_path), json.dumps(document, indent=1) + "\n")


def _deliveries_line(tally: Tally) -> str:
    """What the model check covered: deliveries checked, and skipped by reason."""
    line = f"model check: {tally.checked} deliveries checked, {tally.skipped_total} skipped"
    reasons = "; ".join(f"{n} {why}" for why, n in tally.skipped.most_common())
    return line + (f" ({reasons})" if reasons else "")


def _check_adapter(command: str, timeout: float) -> int:
    """The adapter self-test: exit 0 when every command is supported or unsupported."""
    words = _adapter_words("--check-adapter", command)
    results = check_adapter(SubprocessSession(words, timeout))
    emit(format_report(results))
    return 0 if passed(results) else 1


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
        if not 0 < args.timeout <= MAX_TIMEOUT:  # also refuses nan
            raise UsageError(f"--timeout must be > 0 and at most {MAX_TIMEOUT:g} seconds")
        if args.check_adapter is not None:
            return _check_adapter(args.check_adapter, args.timeout)
        if args.impl is None and args.adapter is None:
            raise UsageError("give --impl, --adapter or --check-adapter")
        if args.random < 0 or args.steps < 1:
            raise UsageError("--random must be >= 0, --steps >= 1")
        if args.adapter is not None:
            _adapter_words("--adapter", args.adapter)
        if args.snapshot_term_of_entry and args.impl not in ("raft_ref", "raft_ref-subprocess"):
            raise UsageError("--snapshot-term-of-entry applies to --impl raft_ref only")
        mode = args.mode or DEFAULT_MODES.get(args.impl, "strict")
        if args.model_check is not None and mode != "protocol":
            raise UsageError("--model-check and --no-model-check apply to protocol mode only")
        model_check = mode == "protocol" and (
            model_checked_by_default(args.impl) if args.model_check is None else args.model_check
        )
        corpus = _corpus_scenarios(args.scenario, not args.no_corpus)
        if not corpus and args.random == 0:
            raise UsageError("no scenarios to run")
        scenarios = itertools.chain(corpus, _random_scenarios(args))
        _check_outputs(args)
    except UsageError as exc:
        print_error(PROG, exc)
        return 2
    try:
        session = implementation_session(
            args.impl, args.adapter, args.timeout, args.snapshot_term_of_entry
        )
    except AdapterUnavailable as exc:
        if args.skip_missing:
            emit(f"skipping {exc}")
            return 0
        print_error(PROG, f"{exc} (--skip-missing skips it)")
        return 2
    summary = RunSummary(session.name, mode)
    interrupted: Interrupted | None = None
    try:
        run_scenarios(
            scenarios,
            session,
            mode,
            Path(args.traces),
            lambda result: _print_result(result, args.quiet),
            spec=RunSpec(args.impl, args.adapter, mode, args.snapshot_term_of_entry, model_check),
            check_expectations=True if args.expect else None,
            summary=summary,
        )
    except Interrupted as stop:
        interrupted = stop
        print(f"{PROG}: interrupted by {stop}", file=sys.stderr)
    try:
        _report(summary, mode, args.json, interrupted is not None)
    except OutputError as exc:
        print_error(PROG, exc)
        return 2
    if interrupted is not None:
        return interrupted.exit_status
    return 0 if summary.all_passed() else 1


if __name__ == "__main__":
    sys.exit(main())
