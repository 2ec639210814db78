"""Plays a scenario's steps through one or more adapter sessions in lockstep.

Each step becomes protocol requests (create, tick, step, ready, ...). Every request
goes to every session; their answers must be equal (after putting each Ready's
messages in canonical order) or the scenario has diverged at that request. The first
session's answers drive the simulated network: the messages a `ready` hands back wait
in it, in order, until a `deliver` step hands them to their destinations (or a
partition or `drop` discards them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from checks.cluster.network import Partition
from checks.conformance.protocol import (
    ProtocolError,
    b64,
    canonical_ready,
    message_route,
    message_type,
    ready_with_sorted_ids,
)
from checks.conformance.scenario import Scenario, Step, parse_ids, parse_terms
from checks.conformance.sessions import AdapterFailure, Session
from raft_ref.eraftpb import MessageType

__all__ = [
    "AnswersDiffer",
    "ExpectationFailed",
    "Exchange",
    "PropertyViolation",
    "RecordedStep",
    "RequestWatcher",
    "ScenarioDriver",
    "StateObserver",
]

Answer = dict[str, Any]
# Called after each step with every live node's `state` answer (protocol mode).
StateObserver = Callable[[Step, dict[int, dict[str, Any]]], None]


class RequestWatcher(Protocol):
    """Sees every request of a run before it is sent, and the answer of the
    implementation under test after (protocol mode's model check); may raise
    PropertyViolation."""

    def before(self, step: Step, request: dict[str, Any]) -> None: ...

    def after(self, step: Step, request: dict[str, Any], answer: Answer) -> None: ...


# A quiet state is not guaranteed: with a joint change stuck (raft-rs #349) a leader
# appends a Finalize on every advance. `stabilize` stops after this many rounds.
_STABILIZE_ROUNDS = 50


@dataclass
class Exchange:
    """One request and what each session answered to it."""

    step: str
    request: dict[str, Any]
    answers: list[Answer]


@dataclass(frozen=True)
class RecordedStep:
    """What a recording driver saw after one scenario step (or where it failed): every
    live node's `state` answer of the implementation under test, and the messages in
    flight as (from, to, base64 eraftpb.Message)."""

    step: Step
    states: dict[int, dict[str, Any]]
    in_flight: tuple[tuple[int, int, str], ...]


class AnswersDiffer(Exception):
    """Two sessions answered one request differently."""

    def __init__(self, step: Step, exchange: Exchange, names: Sequence[str]) -> None:
        super().__init__(f"line {step.line}: '{step.text()}' diverged")
        self.step = step
        self.exchange = exchange
        self.names = list(names)


class ExpectationFailed(Exception):
    """An `expect` step of the scenario does not hold."""


class PropertyViolation(Exception):
    """Protocol mode: an observed state breaks the Raft safety property `name`
    (one of `properties.SAFETY_PROPERTIES`)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def comparable(answer: Answer, sort_ids: bool = False) -> Answer:
    """The part of an answer that must agree across implementations.

    With `sort_ids`, configurations inside the Ready are compared as sets of ids
    (`protocol.ready_with_sorted_ids`); that costs decoding every message, so it is
    only done when the plain comparison found a difference.
    """
    out = {k: v for k, v in answer.items() if k not in ("detail", "name")}
    ready = out.get("ready")
    if isinstance(ready, dict):
        if sort_ids:
            ready = ready_with_sorted_ids(ready)
        out["ready"] = canonical_ready(ready)
    return out


def answers_agree(first: Answer, other: Answer) -> bool:
    if comparable(first) == comparable(other):
        return True
    return comparable(first, sort_ids=True) == comparable(other, sort_ids=True)


@dataclass
class _Network:
    """The messages in flight between adapters, encoded, in sending order, and the
    partition (`checks.cluster.network.Partition`, shared with the in-process network
    of raft_ref messages), if any."""

    # Messages in flight, in sending order: (from, to, base64 eraftpb.Message).
    pending: list[tuple[int, int, str]] = field(default_factory=list)
    partition: Partition | None = None

    def blocked(self, src: int, dst: int) -> bool:
        return self.partition is not None and self.partition.separates(src, dst)

    def take(
        self,
        src: int | None,
        dst: int | None,
        count: int | None = None,
        msg_type: int | None = None,
    ) -> list[tuple[int, int, str]]:
        """Removes and returns the matching messages, in sending order."""
        taken: list[tuple[int, int, str]] = []
        kept: list[tuple[int, int, str]] = []
        for item in self.pending:
            matches = (src is None or item[0] == src) and (dst is None or item[1] == dst)
            if matches and msg_type is not None:
                matches = message_type(item[2]) == msg_type
            if matches and (count is None or len(taken) < count):
                taken.append(item)
            else:
                kept.append(item)
        self.pending = kept
        return taken


class ScenarioDriver:
    """Runs one scenario against fresh clusters in the given sessions."""

    def __init__(
        self,
        sessions: Sequence[Session],
        observer: StateObserver | None = None,
        check_expectations: bool = True,
        record: bool = False,
        raft_rs_expectations: bool = True,
    ) -> None:
        self.sessions = list(sessions)
        self.observer = observer
        # `expect` steps state raft-rs's exact outcomes; protocol mode skips them.
        self.check_expectations = check_expectations
        # With `record`, `recorded` gets the states after every step (for traces).
        self.record = record
        self.recorded: list[RecordedStep] = []
        # Those marked `only=raft-rs` record raft-rs's choice where others differ.
        self.raft_rs_expectations = raft_rs_expectations
        self.transcript: list[Exchange] = []
        self.config: dict[str, Any] = {}
        self.timeouts: dict[int, int] = {}
        self.nodes: set[int] = set()
        self.dead: set[int] = set()
        self.network = _Network()
        self.read_states: dict[int, list[dict[str, Any]]] = {}
        self._step = Step("")
        self.watcher: RequestWatcher | None = None

    # --- requests ------------------------------------------------------------------

    def call(self, request: dict[str, Any]) -> Answer:
        """Sends `request` to every session; returns the first answer if all agree."""
        if self.watcher is not None:
            self.watcher.before(self._step, request)
        answers: list[Answer] = []
        for session in self.sessions:
            answers.append(session.request(request))
        exchange = Exchange(self._step.text(), request, answers)
        self.transcript.append(exchange)
        try:
            agree = all(answers_agree(answers[0], a) for a in answers[1:])
        except ProtocolError as exc:
            raise AdapterFailure("malformed", f"answer to {request.get('cmd')!r}: {exc}") from None
        if not agree:
            raise AnswersDiffer(self._step, exchange, [s.name for s in self.sessions])
        node = request.get("node")
        if answers[0].get("error") == "Panic" and isinstance(node, int):
            self.dead.add(node)
        if self.watcher is not None:
            self.watcher.after(self._step, request, answers[-1])
        return answers[0]

    def live_nodes(self) -> list[int]:
        return sorted(self.nodes - self.dead)

    # --- running -------------------------------------------------------------------

    def run(self, scenario: Scenario) -> None:
        for session in self.sessions:
            answer = session.request({"cmd": "reset"})
            if answer.get("ok") is not True:
                raise AdapterFailure("malformed", f"reset refused: {answer}")
        for step in scenario.steps:
            self._step = step
            if step.verb.startswith("expect") and not self._applies(step):
                continue
            handler = getattr(self, "_do_" + step.verb.replace("-", "_"))
            states: dict[int, dict[str, Any]] | None = None
            try:
                handler(step)
                if self.observer is not None:
                    states = self.states()
            except (KeyError, TypeError) as exc:
                # An answer lacking a field the protocol promises.
                raise AdapterFailure("malformed", f"answer lacks {exc}") from None
            finally:
                if self.record:
                    self._record(step, states)
            if self.observer is not None and states is not None:
                self.observer(step, states)
        self._step = Step("final-state")
        self.states()

    def _record(self, step: Step, states: dict[int, dict[str, Any]] | None) -> None:
        """Keeps what the implementation under test shows after `step`; asks it directly
        (outside the transcript and the comparison) when the step did not observe."""
        if states is None:
            states = {}
            for node in self.live_nodes():
                try:
                    answer = self.sessions[-1].request({"cmd": "state", "node": node})
                except AdapterFailure:
                    break
                if answer.get("ok") is True and isinstance(answer.get("state"), dict):
                    states[node] = answer["state"]
        self.recorded.append(RecordedStep(step, states, tuple(self.network.pending)))

    def _applies(self, step: Step) -> bool:
        if not self.check_expectations:
            return False
        return self.raft_rs_expectations or step.options.get("only") != "raft-rs"

    def states(self) -> dict[int, dict[str, Any]]:
        states: dict[int, dict[str, Any]] = {}
        for node in self.live_nodes():
            state = self.node_state(node)
            if state is not None:
                states[node] = state
        return states

    def node_state(self, node: int) -> dict[str, Any] | None:
        """The node's `state` answer; None when it has none (dead, or refused)."""
        if node in self.dead:
            return None
        answer = self.call({"cmd": "state", "node": node})
        state = answer.get("state")
        return state if answer.get("ok") is True and isinstance(state, dict) else None

    # --- steps -----------------------------------------------------------------------

    def _create(
        self, node: int, voters: list[int], learners: list[int], timeout: int, index: int = 1
    ) -> None:
        self.nodes.add(node)
        config = dict(self.config, election_timeout=timeout)
        request: dict[str, Any] = {
            "cmd": "create",
            "node": node,
            "voters": voters,
            "learners": learners,
            "config": config,
        }
        if index != 1:
            # Members start from a snapshot at this index instead of 1.
            request["index"] = index
        self.call(request)

    def _do_cluster(self, step: Step) -> None:
        o = step.options
        # Members named in `later` are in the configuration but not created until `start`.
        later = set(parse_ids(o.get("later", "")))
        self.config = {
            "election_tick": int(o.get("election_tick", "10")),
            "heartbeat_tick": int(o.get("heartbeat_tick", "1")),
            "pre_vote": o.get("pre_vote", "false") != "false",
            "check_quorum": o.get("check_quorum", "false") != "false",
            "read_only": "LeaseBased" if o.get("read_only") == "lease" else "Safe",
            "max_size_per_msg": int(o.get("max_size_per_msg", "0")),
            "max_inflight_msgs": int(o.get("max_inflight", "256")),
            "skip_bcast_commit": o.get("skip_bcast_commit", "false") != "false",
        }
        voters = parse_ids(o.get("voters", "1,2,3"))
        learners = parse_ids(o.get("learners", ""))
        members = sorted(set(voters) | set(learners))
        timeouts = parse_ids(o.get("timeouts", ""))
        election_tick = self.config["election_tick"]
        for i, node in enumerate(members):
            # Distinct default timeouts, so that the first to time out is well defined.
            timeout = timeouts[i] if i < len(timeouts) else election_tick + i
            self.timeouts[node] = timeout
            if node not in later:
                self._create(node, voters, learners, timeout, int(o.get("index", "1")))

    def _do_start(self, step: Step) -> None:
        node = step.int_arg(0)
        default = self.timeouts.get(node, self.config.get("election_tick", 10) + len(self.timeouts))
        timeout = int(step.options.get("timeout", str(default)))
        self.timeouts[node] = timeout
        voters = parse_ids(step.options.get("voters", ""))
        learners = parse_ids(step.options.get("learners", ""))
        self._create(node, voters, learners, timeout, int(step.options.get("index", "1")))

    def _do_tick(self, step: Step) -> None:
        count = step.int_arg(1) if len(step.args) > 1 else 1
        for _ in range(count):
            self.call({"cmd": "tick", "node": step.int_arg(0)})

    def _do_tick_all(self, step: Step) -> None:
        count = step.int_arg(0) if step.args else 1
        for _ in range(count):
            for node in self.live_nodes():
                self.call({"cmd": "tick", "node": node})

    def _do_campaign(self, step: Step) -> None:
        self.call({"cmd": "campaign", "node": step.int_arg(0)})

    def _do_propose(self, step: Step) -> None:
        data = step.args[1] if len(step.args) > 1 else "x"
        self.call({"cmd": "propose", "node": step.int_arg(0), "data": b64(data.encode())})

    def _conf_change(self, step: Step, change_type: str) -> None:
        request = {
            "cmd": "propose_conf_change",
            "node": step.int_arg(0),
            "change_type": change_type,
            "node_id": step.int_arg(1),
        }
        self.call(request)

    def _do_add_voter(self, step: Step) -> None:
        self._conf_change(step, "AddNode")

    def _do_add_learner(self, step: Step) -> None:
        self._conf_change(step, "AddLearnerNode")

    def _do_remove_node(self, step: Step) -> None:
        self._conf_change(step, "RemoveNode")

    def _do_membership(self, step: Step) -> None:
        request = {
            "cmd": "propose_membership_change",
            "node": step.int_arg(0),
            "voters": parse_ids(step.options.get("voters", "")),
            "learners": parse_ids(step.options.get("learners", "")),
        }
        self.call(request)

    def _process(self, nodes: Sequence[int]) -> bool:
        """Takes and handles a Ready on each node; true when any had one."""
        try:
            return self._process_nodes(nodes)
        except (ProtocolError, KeyError, TypeError, ValueError) as exc:
            raise AdapterFailure("malformed", f"unusable Ready: {exc}") from None

    def _process_nodes(self, nodes: Sequence[int]) -> bool:
        any_ready = False
        for node in nodes:
            if node in self.dead:
                continue
            answer = self.call({"cmd": "ready", "node": node})
            ready = answer.get("ready")
            if not isinstance(ready, dict):
                continue
            any_ready = True
            for encoded in canonical_ready(ready)["messages"]:
                src, dst = message_route(encoded)
                self.network.pending.append((src, dst, encoded))
            self.read_states.setdefault(node, []).extend(ready.get("read_states", []))
        return any_ready

    def _do_process(self, step: Step) -> None:
        nodes = [int(a) for a in step.args] if step.args else self.live_nodes()
        self._process(nodes)

    def _deliver(self, items: list[tuple[int, int, str]]) -> None:
        for src, dst, encoded in items:
            if self.network.blocked(src, dst) or dst not in self.nodes or dst in self.dead:
                continue
            self.call({"cmd": "step", "node": dst, "message": encoded})

    @staticmethod
    def _endpoint(step: Step, key: str) -> int | None:
        value = step.options.get(key, "*")
        return None if value == "*" else int(value)

    @staticmethod
    def _msg_type(step: Step) -> int | None:
        name = step.options.get("type")
        return None if name is None else int(MessageType[name])

    def _do_deliver(self, step: Step) -> None:
        count = int(step.options["count"]) if "count" in step.options else None
        src, dst = self._endpoint(step, "from"), self._endpoint(step, "to")
        self._deliver(self.network.take(src, dst, count, self._msg_type(step)))

    def _do_deliver_one(self, step: Step) -> None:
        pending = self.network.pending
        if pending:
            item = pending.pop(step.int_arg(0) % len(pending))
            self._deliver([item])

    def _do_drop(self, step: Step) -> None:
        src, dst = self._endpoint(step, "from"), self._endpoint(step, "to")
        self.network.take(src, dst, None, self._msg_type(step))

    def _do_drop_one(self, step: Step) -> None:
        pending = self.network.pending
        if pending:
            pending.pop(step.int_arg(0) % len(pending))

    def _do_stabilize(self, step: Step) -> None:
        """Ready on the nodes (default all), then deliver what is addressed to them.

        Limited to listed nodes, messages to others stay in the network. Delivery is in
        sending order, or with `order=recipient` grouped by recipient in ascending id
        (as etcd's rafttest does).
        """
        listed = [int(a) for a in step.args]
        by_recipient = step.options.get("order") == "recipient"
        for _ in range(_STABILIZE_ROUNDS):
            nodes = [n for n in listed if n not in self.dead] if listed else self.live_nodes()
            had_ready = self._process(nodes)
            items = self._stabilize_deliveries(listed, by_recipient)
            if not had_ready and not items:
                return
            self._deliver(items)

    def _stabilize_deliveries(
        self, listed: list[int], by_recipient: bool
    ) -> list[tuple[int, int, str]]:
        if not listed and not by_recipient:
            items, self.network.pending = self.network.pending, []
            return items
        recipients = sorted(set(listed) if listed else self.nodes)
        if by_recipient:
            return [item for node in recipients for item in self.network.take(None, node)]
        wanted = set(recipients)
        items = [item for item in self.network.pending if item[1] in wanted]
        self.network.pending = [item for item in self.network.pending if item[1] not in wanted]
        return items

    def _do_send_snapshot(self, step: Step) -> None:
        """The application of node N sends peer P a snapshot of N's storage by itself."""
        node, peer = step.int_arg(0), step.int_arg(1)
        answer = self.call({"cmd": "snapshot_message", "node": node, "to": peer})
        message = answer.get("message")
        if answer.get("ok") is True and isinstance(message, str):
            self.network.pending.append((node, peer, message))

    def _do_election_timeout(self, step: Step) -> None:
        node, timeout = step.int_arg(0), step.int_arg(1)
        answer = self.call({"cmd": "set_election_timeout", "node": node, "timeout": timeout})
        if answer.get("ok") is True:
            self.timeouts[node] = timeout

    def _do_partition(self, step: Step) -> None:
        self.network.partition = Partition(parse_ids(a) for a in step.args)

    def _do_isolate(self, step: Step) -> None:
        self.network.partition = Partition([[step.int_arg(0)]])

    def _do_heal(self, step: Step) -> None:
        self.network.partition = None

    def _do_compact(self, step: Step) -> None:
        node = step.int_arg(0)
        where = step.args[1]
        if where == "applied":
            state = self.call({"cmd": "state", "node": node}).get("state")
            if not isinstance(state, dict):
                return
            index = int(state["applied"])
        else:
            index = int(where)
        self.call({"cmd": "compact", "node": node, "index": index})

    def _do_report_unreachable(self, step: Step) -> None:
        self.call({"cmd": "report_unreachable", "node": step.int_arg(0), "peer": step.int_arg(1)})

    def _do_report_snapshot(self, step: Step) -> None:
        status = "Failure" if step.args[2] == "failure" else "Finish"
        request = {
            "cmd": "report_snapshot",
            "node": step.int_arg(0),
            "peer": step.int_arg(1),
            "status": status,
        }
        self.call(request)

    def _do_transfer_leader(self, step: Step) -> None:
        request = {"cmd": "transfer_leader", "node": step.int_arg(0), "transferee": step.int_arg(1)}
        self.call(request)

    def _do_read_index(self, step: Step) -> None:
        ctx = step.args[1] if len(step.args) > 1 else "r"
        self.call({"cmd": "read_index", "node": step.int_arg(0), "context": b64(ctx.encode())})

    _EXPECT_FIELDS: ClassVar[dict[str, str]] = {
        "role": "role",
        "term": "term",
        "vote": "vote",
        "leader": "leader_id",
        "commit": "commit",
        "applied": "applied",
        "first": "first_index",
        "last": "last_index",
        "log_terms": "log_terms",
        "voters": "voters",
        "learners": "learners",
        "next_voters": "next_voters",
    }

    def _state_of(self, step: Step, node: int) -> dict[str, Any]:
        answer = self.call({"cmd": "state", "node": node})
        state = answer.get("state")
        if not isinstance(state, dict):
            raise ExpectationFailed(f"line {step.line}: node {node} has no state: {answer}")
        return state

    @staticmethod
    def _wanted(key: str, text: str) -> object:
        """An `expect` option's value in the form the `state` answer carries it."""
        if key == "log_terms":
            return parse_terms(text)
        if key in ("voters", "learners", "next_voters"):
            return None if text == "none" else parse_ids(text)
        if key == "paused":
            return text == "true"
        if key in ("role", "state"):
            return text
        return int(text)

    def _do_expect(self, step: Step) -> None:
        node = step.int_arg(0)
        state = self._state_of(step, node)
        for key, text in _compared(step):
            actual = state[self._EXPECT_FIELDS[key]]
            if actual != self._wanted(key, text):
                raise ExpectationFailed(
                    f"line {step.line}: '{step.text()}': node {node} {key} is {_show(actual)}"
                )

    def _do_expect_progress(self, step: Step) -> None:
        node, peer = step.int_arg(0), step.int_arg(1)
        progress = self._state_of(step, node).get("progress")
        if not isinstance(progress, dict):
            raise ExpectationFailed(f"line {step.line}: node {node} reports no progress (leader?)")
        view = progress.get(str(peer))
        if not isinstance(view, dict):
            raise ExpectationFailed(f"line {step.line}: node {node} tracks no peer {peer}")
        for key, text in _compared(step):
            if view[key] != self._wanted(key, text):
                raise ExpectationFailed(
                    f"line {step.line}: '{step.text()}': {node}'s {key} of {peer} is "
                    f"{_show(view[key])}"
                )

    def _do_expect_dead(self, step: Step) -> None:
        node = step.int_arg(0)
        if node not in self.dead:
            raise ExpectationFailed(f"line {step.line}: node {node} has not panicked")

    def _do_expect_read(self, step: Step) -> None:
        node = step.int_arg(0)
        ctx = b64(step.options.get("ctx", "r").encode())
        seen = [rs for rs in self.read_states.get(node, []) if rs.get("request_ctx") == ctx]
        if not seen:
            raise ExpectationFailed(f"line {step.line}: node {node} got no read state {ctx}")
        if "index" in step.options and str(seen[-1]["index"]) != step.options["index"]:
            raise ExpectationFailed(
                f"line {step.line}: node {node} read index is {seen[-1]['index']}"
            )


def _compared(step: Step) -> list[tuple[str, str]]:
    """An expectation's (field, value) pairs, without the `only` marker."""
    return [(key, text) for key, text in step.options.items() if key != "only"]


def _show(value: object) -> str:
    """A state value as the scenario language writes it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(empty)"
    return "none" if value is None else str(value)
