"""Scenarios: readable text files of driver steps, parsed and checked up front.

One step per line; `#` starts a comment. A step is a verb, positional arguments and
`key=value` options, e.g. `cluster voters=1,2,3 pre_vote`, `campaign 1`, `stabilize`,
`propose 1 hello`, `partition 1,2 3`, `expect 1 role=Leader term=2`. The verbs and
their meaning are listed in PROTOCOL.md ("Scenario language").

A scenario that reproduces a known safety bug of some implementations says so in a
header line before `cluster`:

    expect-violation state-machine-safety on="raft_ref,raft-rs 0.6.0-alpha"

naming the property (see properties.py) and the implementations (as their adapters
name themselves in `hello`) on which the run must break exactly that property. On
every other implementation the scenario is an ordinary one and must pass.

Beyond its syntax, a scenario must be able to test something: the cluster has a voter,
its ticks are a configuration raft-rs accepts (heartbeat_tick > 0, election_tick >
heartbeat_tick), and every step acts on a node that the cluster or a `start` created.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from checks.conformance.properties import SAFETY_PROPERTIES
from raft_ref.eraftpb import MessageType

__all__ = [
    "MESSAGE_TYPES",
    "ExpectedViolation",
    "Scenario",
    "ScenarioError",
    "Step",
    "load_scenario",
    "parse_ids",
    "parse_scenario",
    "parse_terms",
]


class ScenarioError(ValueError):
    """A scenario file that does not parse; the message names the file and line."""


@dataclass(frozen=True)
class Step:
    verb: str
    args: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0

    def text(self) -> str:
        opts = [k if v == "" else f"{k}={v}" for k, v in self.options.items()]
        return " ".join([self.verb, *self.args, *opts])

    def int_arg(self, i: int) -> int:
        return int(self.args[i])


EXPECT_VIOLATION = "expect-violation"


@dataclass(frozen=True)
class ExpectedViolation:
    """The scenario must break `property` on each of `implementations` (hello names)."""

    property: str
    implementations: tuple[str, ...]

    def applies_to(self, implementation: str) -> bool:
        return implementation in self.implementations

    def text(self) -> str:
        names = shlex.quote(",".join(self.implementations))
        return f"{EXPECT_VIOLATION} {self.property} on={names}"


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    expected_violation: ExpectedViolation | None = None

    def text(self) -> str:
        header = [self.expected_violation.text()] if self.expected_violation else []
        return "\n".join([*header, *(step.text() for step in self.steps)]) + "\n"


# verb: (positional kinds, allowed options). Kinds: n = node id / integer, s = word,
# l = comma-separated ids (may be empty), a trailing ? makes the rest optional.
_CLUSTER_OPTIONS = frozenset(
    {
        "voters",
        "learners",
        "pre_vote",
        "check_quorum",
        "read_only",
        "election_tick",
        "heartbeat_tick",
        "timeouts",
        "max_size_per_msg",
        "max_inflight",
        "skip_bcast_commit",
        "later",
        "index",
    }
)
_EXPECT_OPTIONS = frozenset(
    {
        "role",
        "term",
        "vote",
        "leader",
        "commit",
        "applied",
        "first",
        "last",
        "log_terms",
        "voters",
        "learners",
        "next_voters",
        "only",
    }
)
_PROGRESS_OPTIONS = frozenset(
    {"state", "match", "next", "paused", "inflight", "pending_snapshot", "only"}
)
# Message types as raft-rs names them (eraftpb.MessageType); etcd's wire numbers are equal.
MESSAGE_TYPES = frozenset(t.name for t in MessageType)
PROGRESS_STATES = ("Probe", "Replicate", "Snapshot")
VERBS: dict[str, tuple[str, frozenset[str]]] = {
    "cluster": ("", _CLUSTER_OPTIONS),
    "start": ("n", frozenset({"voters", "learners", "timeout", "index"})),
    "tick": ("n?n", frozenset()),
    "tick-all": ("?n", frozenset()),
    "campaign": ("n", frozenset()),
    "propose": ("n?s", frozenset()),
    "add-voter": ("nn", frozenset()),
    "add-learner": ("nn", frozenset()),
    "remove-node": ("nn", frozenset()),
    "membership": ("n", frozenset({"voters", "learners"})),
    "process": ("?nnnnnnn", frozenset()),
    "deliver": ("", frozenset({"from", "to", "count", "type"})),
    "deliver-one": ("n", frozenset()),
    "drop": ("", frozenset({"from", "to", "type"})),
    "drop-one": ("n", frozenset()),
    "stabilize": ("?nnnnnnn", frozenset({"order"})),
    "election-timeout": ("nn", frozenset()),
    "send-snapshot": ("nn", frozenset()),
    "partition": ("ll?llll", frozenset()),
    "isolate": ("n", frozenset()),
    "heal": ("", frozenset()),
    "compact": ("ns", frozenset()),
    "report-unreachable": ("nn", frozenset()),
    "report-snapshot": ("nns", frozenset()),
    "transfer-leader": ("nn", frozenset()),
    "read-index": ("n?s", frozenset()),
    "expect": ("n", _EXPECT_OPTIONS),
    "expect-progress": ("nn", _PROGRESS_OPTIONS),
    "expect-dead": ("n", frozenset({"only"})),
    "expect-read": ("n", frozenset({"index", "ctx"})),
}


def parse_ids(text: str) -> list[int]:
    """'1,2,3' -> [1, 2, 3]; '' -> []."""
    if not text:
        return []
    ids = [int(part) for part in text.split(",")]
    if any(i <= 0 for i in ids):
        raise ValueError(f"node ids must be positive: {text!r}")
    return ids


def parse_terms(text: str) -> list[int]:
    """'2,2,3' -> [2, 2, 3]; '' -> [] (an empty log)."""
    return [int(part) for part in text.split(",")] if text else []


def _check_args(verb: str, args: list[str]) -> None:
    kinds, _ = VERBS[verb]
    required, _, optional = kinds.partition("?")
    most = len(required) + len(optional)
    if not len(required) <= len(args) <= most:
        raise ValueError(f"{verb!r} takes {len(required)} to {most} arguments, got {len(args)}")
    for kind, arg in zip(required + optional, args, strict=False):
        if kind == "n":
            int(arg)
        elif kind == "s" and verb == "report-snapshot" and arg not in ("finish", "failure"):
            raise ValueError("report-snapshot ends with 'finish' or 'failure'")
        elif kind == "l":
            parse_ids(arg)


def _check_option(verb: str, key: str, value: str) -> None:
    if key not in VERBS[verb][1]:
        raise ValueError(f"{verb!r} has no option {key!r}")
    if key == "next_voters" and value == "none":
        pass
    elif key in ("voters", "learners", "timeouts", "later", "next_voters"):
        parse_ids(value)
    elif key == "log_terms":
        parse_terms(value)
    elif key == "type" and value not in MESSAGE_TYPES:
        raise ValueError(f"unknown message type {value!r} (raft-rs names: MsgAppend, ...)")
    elif key == "order" and value not in ("sent", "recipient"):
        raise ValueError("option 'order' is 'sent' or 'recipient'")
    elif key == "state" and value not in PROGRESS_STATES:
        raise ValueError(f"progress state is one of {', '.join(PROGRESS_STATES)}")
    elif key == "paused" and value not in ("true", "false"):
        raise ValueError("option 'paused' is true or false")
    elif key == "only" and value != "raft-rs":
        raise ValueError("option 'only' is 'raft-rs'")
    elif key in ("type", "order", "state", "paused", "only"):
        pass
    elif key in ("pre_vote", "check_quorum", "skip_bcast_commit"):
        if value not in ("", "true", "false"):
            raise ValueError(f"option {key!r} is a flag (true/false)")
    elif key in ("read_only", "role", "ctx") or (key in ("from", "to") and value == "*"):
        pass
    else:
        int(value)


def parse_step(text: str, line: int = 0) -> Step | None:
    """One step, or None for a blank or comment line; ValueError when malformed."""
    words = shlex.split(text, comments=True)
    if not words:
        return None
    verb, rest = words[0], words[1:]
    if verb not in VERBS:
        raise ValueError(f"unknown step {verb!r}")
    args = [w for w in rest if "=" not in w and not _is_flag(verb, w)]
    options: dict[str, str] = {}
    for word in rest:
        if "=" in word:
            key, _, value = word.partition("=")
            options[key] = value
        elif _is_flag(verb, word):
            options[word] = ""
    _check_args(verb, args)
    for key, value in options.items():
        _check_option(verb, key, value)
    return Step(verb, tuple(args), options, line)


# Verbs whose first argument is the node that acts (`process`: every argument).
_ACTING_NODE_VERBS = frozenset(
    {
        "tick",
        "campaign",
        "propose",
        "add-voter",
        "add-learner",
        "remove-node",
        "membership",
        "isolate",
        "compact",
        "report-unreachable",
        "report-snapshot",
        "transfer-leader",
        "read-index",
        "expect",
        "expect-read",
    }
)


def _check_cluster(step: Step) -> set[int]:
    """The members of the cluster step; ValueError for a cluster that tests nothing."""
    o = step.options
    if "voters" in o and not parse_ids(o["voters"]):
        raise ValueError("'cluster' needs at least one voter (voters= is empty)")
    heartbeat = int(o.get("heartbeat_tick", "1"))
    election = int(o.get("election_tick", "10"))
    # raft-rs's Config::validate: no node could be created otherwise.
    if heartbeat <= 0:
        raise ValueError(f"heartbeat_tick must be greater than 0, got {heartbeat}")
    if election <= heartbeat:
        raise ValueError(
            f"election_tick {election} must be greater than heartbeat_tick {heartbeat}"
        )
    return set(parse_ids(o.get("voters", "1,2,3"))) | set(parse_ids(o.get("learners", "")))


def _acting_nodes(step: Step) -> list[int]:
    if step.verb == "process":
        return [int(a) for a in step.args]
    if step.verb in _ACTING_NODE_VERBS:
        return [step.int_arg(0)]
    return []


def _check_meaningful(name: str, steps: Sequence[Step]) -> None:
    """The cluster can be created and every step acts on a node created before it."""
    try:
        nodes = _check_cluster(steps[0])
    except ValueError as exc:
        raise ScenarioError(f"{name}:{steps[0].line}: {exc}") from None
    for step in steps[1:]:
        if step.verb == "start":
            nodes.add(step.int_arg(0))
        for node in _acting_nodes(step):
            if node not in nodes:
                known = ",".join(map(str, sorted(nodes)))
                raise ScenarioError(
                    f"{name}:{step.line}: '{step.text()}' acts on node {node}, "
                    f"which the scenario never creates (nodes: {known})"
                )


def _is_flag(verb: str, word: str) -> bool:
    return verb == "cluster" and word in ("pre_vote", "check_quorum", "skip_bcast_commit")


def parse_expected_violation(text: str) -> ExpectedViolation:
    """`expect-violation PROPERTY on=IMPL,IMPL`; ValueError when malformed."""
    words = shlex.split(text, comments=True)
    rest = words[1:]
    if len(rest) != 2 or not rest[1].startswith("on="):
        raise ValueError(f"expected '{EXPECT_VIOLATION} PROPERTY on=IMPLEMENTATION,...'")
    name = rest[0]
    if name not in SAFETY_PROPERTIES:
        raise ValueError(f"unknown property {name!r} (known: {', '.join(SAFETY_PROPERTIES)})")
    implementations = tuple(i.strip() for i in rest[1].removeprefix("on=").split(",") if i.strip())
    if not implementations:
        raise ValueError(f"{EXPECT_VIOLATION} needs at least one implementation in on=")
    return ExpectedViolation(name, implementations)


def _is_header(line: str) -> bool:
    return line.split("#", 1)[0].split()[:1] == [EXPECT_VIOLATION]


def parse_scenario(name: str, text: str) -> Scenario:
    steps: list[Step] = []
    expected: ExpectedViolation | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            if _is_header(line):
                if steps or expected is not None:
                    raise ValueError(f"one '{EXPECT_VIOLATION}' line, before 'cluster'")
                expected = parse_expected_violation(line)
                continue
            step = parse_step(line, number)
        except ValueError as exc:
            raise ScenarioError(f"{name}:{number}: {exc}") from None
        if step is not None:
            steps.append(step)
    if not steps or steps[0].verb != "cluster":
        raise ScenarioError(f"{name}: a scenario starts with a 'cluster' step")
    if any(step.verb == "cluster" for step in steps[1:]):
        raise ScenarioError(f"{name}: only the first step may be 'cluster'")
    _check_meaningful(name, steps)
    return Scenario(name, tuple(steps), expected)


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    return parse_scenario(path.stem, text)
