"""`python -m checks.conformance --check-adapter CMD`: walks an adapter through every
command of PROTOCOL.md with tiny scenarios and says, per command, whether it is
supported, unsupported, or answers in the wrong shape, before any Raft behaviour is
judged.

Each check sets up what its command needs with other commands (a one- or two-node
cluster, an election), sends the command, and checks the answer against the
protocol: fields present with the right types, wire values that decode as eraftpb,
error kinds from the protocol's list. Raft's choices are not judged, except where the
protocol itself fixes the answer (an invalid configuration, an unknown command). A
check whose setup fails is reported as not checked, naming the command that failed;
a crashing or hanging adapter is restarted for the next check.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from checks.conformance.protocol import ERROR_KINDS, PROTOCOL_VERSION, b64
from checks.conformance.sessions import AdapterFailure, Session
from raft_ref import eraftpb_pb2 as pb

__all__ = [
    "COMMANDS",
    "NOT_CHECKED",
    "SUPPORTED",
    "UNSUPPORTED",
    "WRONG",
    "CheckResult",
    "check_adapter",
    "format_report",
    "passed",
]

SUPPORTED = "supported"
UNSUPPORTED = "unsupported"
WRONG = "wrong answer shape"
NOT_CHECKED = "not checked"

Answer = dict[str, Any]
ROLES = frozenset({"Follower", "Candidate", "Leader", "PreCandidate"})
CONFIG = {"election_tick": 10, "heartbeat_tick": 1, "election_timeout": 10}
_DRAIN_READYS = 8


@dataclass(frozen=True)
class CheckResult:
    command: str  # the protocol command, with what is checked in brackets
    verdict: str  # SUPPORTED, UNSUPPORTED, WRONG or NOT_CHECKED
    detail: str = ""


class _Wrong(Exception):
    """The answer under test breaks the protocol; the message says how."""


class _Unsupported(Exception):
    pass


class _SetupFailed(Exception):
    """A command the check needed first did not succeed."""


# --- answer shapes --------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _need(answer: Answer, key: str, test: Callable[[object], bool], what: str) -> Any:
    if key not in answer:
        raise _Wrong(f"no field {key!r}")
    value = answer[key]
    if not test(value):
        raise _Wrong(f"field {key!r} is {value!r}, not {what}")
    return value


def _ints(value: object) -> bool:
    return isinstance(value, list) and all(_is_int(v) for v in value)


def _unb64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _base64(value: object) -> bool:
    return _unb64(value) is not None


def _sorted_ids(value: object) -> bool:
    return isinstance(value, list) and _ints(value) and value == sorted(value)


def _decodes(kind: type[Any]) -> Callable[[object], bool]:
    """Whether a value is base64 of a protobuf `kind` (parsed leniently, so that types
    another implementation adds, such as etcd's EntryConfChangeV2, pass)."""

    def test(value: object) -> bool:
        data = _unb64(value)
        if data is None:
            return False
        try:
            kind().ParseFromString(data)
        except DecodeError:
            return False
        return True

    return test


def _list_of(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, list) and all(test(v) for v in value)


def check_ready_shape(answer: Answer) -> Answer | None:
    """The `ready` answer's Ready (None when the adapter has none); _Wrong otherwise."""
    errors = _need(answer, "apply_errors", lambda v: isinstance(v, list), "a list")
    for error in errors:
        if not (isinstance(error, dict) and _is_int(error.get("index"))):
            raise _Wrong(f"apply_errors entry {error!r} lacks an integer 'index'")
        if error.get("error") not in ERROR_KINDS:
            raise _Wrong(f"apply_errors entry {error!r}: error not a protocol error kind")
    ready = _need(answer, "ready", lambda v: v is None or isinstance(v, dict), "null or object")
    if ready is None:
        return None
    ss = _need(ready, "ss", lambda v: v is None or isinstance(v, dict), "null or object")
    if ss is not None:
        _need(ss, "leader_id", _is_int, "a node id")
        _need(ss, "role", lambda v: v in ROLES, "a role (" + ", ".join(sorted(ROLES)) + ")")
    hs = _need(ready, "hs", lambda v: v is None or isinstance(v, dict), "null or object")
    if hs is not None:
        for key in ("term", "vote", "commit"):
            _need(hs, key, _is_int, "a non-negative integer")
    for key in ("entries", "committed_entries"):
        _need(ready, key, _list_of(_decodes(pb.Entry)), "a list of base64 eraftpb.Entry")
    _need(ready, "messages", _list_of(_decodes(pb.Message)), "a list of base64 eraftpb.Message")
    snapshot_ok = _decodes(pb.Snapshot)
    _need(ready, "snapshot", lambda v: v is None or snapshot_ok(v), "null or eraftpb.Snapshot")
    read_state = _list_of(
        lambda v: isinstance(v, dict) and _is_int(v.get("index")) and _base64(v.get("request_ctx"))
    )
    _need(ready, "read_states", read_state, "a list of {index, request_ctx (base64)}")
    _need(ready, "must_sync", lambda v: isinstance(v, bool), "a boolean")
    return dict(ready)


def check_state_shape(answer: Answer) -> Answer:
    state = _need(answer, "state", lambda v: isinstance(v, dict), "an object")
    _need(state, "role", lambda v: v in ROLES, "a role")
    for key in ("term", "vote", "leader_id", "commit", "applied", "first_index", "last_index"):
        _need(state, key, _is_int, "a non-negative integer")
    terms = _need(state, "log_terms", _ints, "a list of terms")
    if len(terms) != state["last_index"] - state["first_index"] + 1:
        raise _Wrong("log_terms does not hold one term per entry from first_index to last_index")
    for key in ("voters", "learners"):
        _need(state, key, _sorted_ids, "a sorted list of ids")
    _need(state, "next_voters", lambda v: v is None or _ints(v), "null or a list of ids")
    return dict(state)


# --- running checks ------------------------------------------------------------------


class _Checker:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.testing = ""  # the protocol command whose check runs

    def shape(self, command: str, validate: Callable[[Answer], Any], answer: Answer) -> Any:
        """`validate(answer)`; a wrong shape is the fault of the command under test only
        when `command` is that command, else the check could not be set up."""
        try:
            return validate(answer)
        except _Wrong as exc:
            if command == self.testing:
                raise
            raise _SetupFailed(f"{command} answer: {exc}") from None

    def send(self, request: Answer) -> Answer:
        return self.session.request(request)

    def setup(self, request: Answer) -> Answer:
        """A request a check needs to succeed first."""
        answer = self.send(request)
        if answer.get("ok") is not True:
            raise _SetupFailed(f"{request['cmd']} answered {answer.get('error')}")
        return answer

    def under_test(self, request: Answer) -> Answer:
        """The request whose answer is judged: ok, Unsupported, or wrong."""
        answer = self.send(request)
        if answer.get("ok") is True:
            return answer
        error = answer.get("error")
        if error == "Unsupported":
            raise _Unsupported()
        if error not in ERROR_KINDS:
            raise _Wrong(f"error {error!r} is not a protocol error kind")
        raise _Wrong(f"answered {error} ({answer.get('detail', '')})")

    # --- tiny clusters -----------------------------------------------------------

    def cluster(self, voters: list[int]) -> None:
        self.setup({"cmd": "reset"})
        for node in voters:
            request = {"cmd": "create", "node": node, "voters": voters, "learners": []}
            self.setup(dict(request, config=dict(CONFIG, election_timeout=10 + node)))

    def drain(self, node: int) -> list[str]:
        """Takes Readys from `node` until it has none (at most a few: a raft-rs leader
        in a joint change may append a Finalize at every advance, #349); returns the
        messages they sent."""
        messages: list[str] = []
        for _ in range(_DRAIN_READYS):
            answer = self.setup({"cmd": "ready", "node": node})
            ready = self.shape("ready", check_ready_shape, answer)
            if ready is None:
                break
            messages.extend(ready["messages"])
        return messages

    def deliver(self, messages: list[str], nodes: list[int]) -> list[str]:
        """Steps every message into its destination, then drains those nodes."""
        out: list[str] = []
        for encoded in messages:
            to = pb.Message.FromString(base64.b64decode(encoded)).to
            if to in nodes:
                self.setup({"cmd": "step", "node": to, "message": encoded})
        for node in nodes:
            out.extend(self.drain(node))
        return out

    def leader(self, voters: list[int]) -> None:
        """A cluster of `voters` with node 1 elected and its first entry committed."""
        self.cluster(voters)
        self.setup({"cmd": "campaign", "node": 1})
        messages = self.drain(1)
        for _ in range(6):
            if not messages:
                break
            messages = self.deliver(messages, voters)
        state = self.shape("state", check_state_shape, self.setup({"cmd": "state", "node": 1}))
        if state["role"] != "Leader":
            raise _SetupFailed(f"node 1 is {state['role']} after campaigning, not Leader")


def _checks() -> Iterator[tuple[str, Callable[[_Checker], str]]]:
    def hello(c: _Checker) -> str:
        answer = c.under_test({"cmd": "hello", "version": PROTOCOL_VERSION})
        _need(answer, "version", lambda v: v == PROTOCOL_VERSION, f"{PROTOCOL_VERSION}")
        _need(answer, "name", lambda v: isinstance(v, str) and v != "", "a name")
        return f"name {answer['name']!r}"

    def reset(c: _Checker) -> str:
        c.under_test({"cmd": "reset"})
        return ""

    def create(c: _Checker) -> str:
        c.setup({"cmd": "reset"})
        request = {"cmd": "create", "node": 1, "voters": [1], "learners": [], "config": CONFIG}
        c.under_test(request)
        c.under_test({"cmd": "create", "node": 7, "voters": [], "learners": [], "config": CONFIG})
        return "with members and with empty storage"

    def create_invalid(c: _Checker) -> str:
        c.setup({"cmd": "reset"})
        bad = {"election_tick": 1, "heartbeat_tick": 1}
        answer = c.send({"cmd": "create", "node": 1, "voters": [1], "learners": [], "config": bad})
        if answer.get("error") != "ConfigInvalid":
            raise _Wrong(f"election_tick 1, heartbeat_tick 1 answered {answer}, not ConfigInvalid")
        return ""

    def state(c: _Checker) -> str:
        c.cluster([1, 2])
        check_state_shape(c.under_test({"cmd": "state", "node": 1}))
        return ""

    def tick(c: _Checker) -> str:
        c.cluster([1])
        c.under_test({"cmd": "tick", "node": 1})
        return ""

    def campaign(c: _Checker) -> str:
        c.cluster([1, 2])
        c.under_test({"cmd": "campaign", "node": 1})
        return ""

    def ready(c: _Checker) -> str:
        c.cluster([1, 2])
        c.setup({"cmd": "campaign", "node": 1})
        rd = check_ready_shape(c.under_test({"cmd": "ready", "node": 1}))
        if rd is None:
            raise _Wrong("no Ready after a campaign (its vote requests must go out)")
        if not rd["messages"]:
            raise _Wrong("the Ready after a campaign in a two-node cluster has no message")
        c.drain(1)
        return ""

    def step(c: _Checker) -> str:
        c.cluster([1, 2])
        c.setup({"cmd": "campaign", "node": 1})
        (vote, *_) = c.drain(1) or [""]
        if not vote:
            raise _SetupFailed("the campaign sent no message")
        c.under_test({"cmd": "step", "node": 2, "message": vote})
        return ""

    def propose(c: _Checker) -> str:
        c.leader([1])
        c.under_test({"cmd": "propose", "node": 1, "data": b64(b"hello")})
        c.drain(1)
        return ""

    def propose_conf_change(c: _Checker) -> str:
        c.leader([1])
        request = {"cmd": "propose_conf_change", "node": 1, "change_type": "AddLearnerNode"}
        c.under_test(dict(request, node_id=2))
        c.drain(1)
        return ""

    def propose_membership_change(c: _Checker) -> str:
        c.leader([1, 2])
        request = {"cmd": "propose_membership_change", "node": 1, "voters": [1, 2, 3]}
        c.under_test(dict(request, learners=[]))
        c.drain(1)
        return ""

    def compact(c: _Checker) -> str:
        c.leader([1])
        c.setup({"cmd": "propose", "node": 1, "data": b64(b"x")})
        c.drain(1)
        state = c.shape("state", check_state_shape, c.setup({"cmd": "state", "node": 1}))
        applied = state["applied"]
        c.under_test({"cmd": "compact", "node": 1, "index": applied})
        return f"at index {applied}"

    def report_unreachable(c: _Checker) -> str:
        c.leader([1, 2])
        c.under_test({"cmd": "report_unreachable", "node": 1, "peer": 2})
        return ""

    def report_snapshot(c: _Checker) -> str:
        c.leader([1, 2])
        c.under_test({"cmd": "report_snapshot", "node": 1, "peer": 2, "status": "Finish"})
        c.under_test({"cmd": "report_snapshot", "node": 1, "peer": 2, "status": "Failure"})
        return ""

    def transfer_leader(c: _Checker) -> str:
        c.leader([1, 2])
        c.under_test({"cmd": "transfer_leader", "node": 1, "transferee": 2})
        c.drain(1)
        return ""

    def read_index(c: _Checker) -> str:
        c.leader([1])
        c.under_test({"cmd": "read_index", "node": 1, "context": b64(b"ctx")})
        for _ in range(5):
            rd = c.shape("ready", check_ready_shape, c.setup({"cmd": "ready", "node": 1}))
            if rd is None:
                break
            if any(rs["request_ctx"] == b64(b"ctx") for rs in rd["read_states"]):
                return "read state received"
        raise _Wrong("a single-node leader gave no read state for the context")

    def unknown_command(c: _Checker) -> str:
        answer = c.send({"cmd": "no-such-command"})
        if answer.get("ok") is not False or answer.get("error") != "BadRequest":
            raise _Wrong(f"an unknown command answered {answer}, not BadRequest")
        return ""

    def unknown_node(c: _Checker) -> str:
        c.cluster([1])
        answer = c.send({"cmd": "tick", "node": 99})
        if answer.get("ok") is not False or answer.get("error") != "BadRequest":
            raise _Wrong(f"a tick for an unknown node answered {answer}, not BadRequest")
        return ""

    yield "hello", hello
    yield "reset", reset
    yield "create", create
    yield "create (invalid config)", create_invalid
    yield "state", state
    yield "tick", tick
    yield "campaign", campaign
    yield "ready", ready
    yield "step", step
    yield "propose", propose
    yield "propose_conf_change", propose_conf_change
    yield "propose_membership_change", propose_membership_change
    yield "compact", compact
    yield "report_unreachable", report_unreachable
    yield "report_snapshot", report_snapshot
    yield "transfer_leader", transfer_leader
    yield "read_index", read_index
    yield "unknown command", unknown_command
    yield "unknown node", unknown_node


COMMANDS = [name for name, _ in _checks()]


def check_adapter(session: Session) -> list[CheckResult]:
    """Every check against the adapter of `session` (started here, closed at the end)."""
    results: list[CheckResult] = []
    checker = _Checker(session)
    running = False
    for name, check in _checks():
        checker.testing = name.split(" ")[0]
        if not running:
            try:
                session.start()
            except AdapterFailure as exc:
                results.append(CheckResult(name, WRONG, f"cannot start the adapter: {exc}"))
                break
            running = True
        try:
            detail = check(checker)
            results.append(CheckResult(name, SUPPORTED, detail))
        except _Unsupported:
            results.append(CheckResult(name, UNSUPPORTED))
        except _Wrong as exc:
            results.append(CheckResult(name, WRONG, str(exc)))
        except _SetupFailed as exc:
            results.append(CheckResult(name, NOT_CHECKED, f"setup failed: {exc}"))
        except AdapterFailure as exc:
            results.append(CheckResult(name, WRONG, str(exc)))
            session.close()
            running = False
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A setup answer too broken to use (a field missing or of the wrong kind).
            results.append(CheckResult(name, WRONG, f"unusable answer: {exc!r}"))
    session.close()
    checked = {r.command for r in results}
    results += [CheckResult(n, NOT_CHECKED, "the adapter did not start") for n in COMMANDS
                if n not in checked]  # fmt: skip
    return results


def format_report(results: list[CheckResult]) -> str:
    """One line per command, then the counts of each verdict."""
    width = max(len(r.command) for r in results)
    lines = []
    for r in results:
        detail = f"  {r.detail}" if r.detail else ""
        lines.append(f"{r.command:<{width}}  {r.verdict}{detail}")
    counts = {v: sum(r.verdict == v for r in results) for v in (SUPPORTED, UNSUPPORTED, WRONG,
                                                                 NOT_CHECKED)}  # fmt: skip
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items()))
    return "\n".join(lines)


def passed(results: list[CheckResult]) -> bool:
    """No wrong answer and nothing left unchecked (an unsupported command is allowed)."""
    return all(r.verdict in (SUPPORTED, UNSUPPORTED) for r in results)
