"""Protocol mode's model check: every message a follower receives is a step of the model.

The safety checks (`safety.py`) look at the states a run reaches; this check looks at
the steps between them, as the explorer does (checks/refinement.py), for the steps it
can see whole: the deliveries of messages to a follower. For each node it keeps a
*chain*: the node's observed state right after its last `ready` (or any later `state`
answer, nothing having happened to it since), then the messages delivered to it. The
chain closes at the node's next `ready`, and is checked then:

- the observed state becomes a model `Server` (term, vote, role, leader, log, commit,
  applied, configuration) and every delivered message a model `Msg`; the model's own
  rule (`model.server.receive` for each message in turn, then `apply_committed`, the
  application's part of the `ready`) gives the outcomes it allows;
- the node's state after the `ready` must match one outcome's role, term, vote,
  commit and log (its last index and the terms of the entries it shows), and the
  messages the `ready` hands out must be that outcome's, as a multiset (the model's
  network is a bag), compared on every field the model keeps.

A mismatch is the property `refines-model`. What the observations cannot tell is left
out, never guessed:
- entry kinds (a `state` answer lists terms only): every entry is abstracted with the
  same neutral kind, on the node's log and in the messages, and the configuration a
  committed conf-change entry installs is not compared; a `MsgTimeoutNow` reaching a
  node with committed entries not yet applied is not checked (raft-rs refuses to
  campaign when one of them is a conf change);
- a leader's and a (pre-)candidate's bookkeeping (progress, votes received): a chain
  starts only at a follower, and one that ends at a leader is not checked;
- leader ids after the step; raft-rs's `is_learner` (a snapshot naming the receiver a
  learner is not checked); the learners of an incoming configuration (a response from
  a node outside the observed joint configuration is not checked);
- the term of the snapshot a log starts after (raft-rs's MemStorage knows the term at
  its snapshot's index, at no other compacted one): known from the node's creation
  (the snapshot at `index`, term 1) and from each snapshot a chain is seen to install
  (the log then starts right after it); not known otherwise, and then a node whose log
  starts after a snapshot is not checked.

A chain is not checked (its deliveries count as skipped, with the reason) when another
event reaches the node before its next `ready` (a tick, a proposal: its messages would
mix with the answers), when the node had events not yet handed out by a `ready` when
the first message arrived, when the node panics, or when the run ends first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from checks.conformance.driver import PropertyViolation
from checks.conformance.properties import REFINES_MODEL
from checks.conformance.protocol import ProtocolError, unb64
from checks.conformance.scenario import Step
from checks.refinement import abstract_message
from checks.targets.model_target import format_msg
from model.params import SNAPSHOT_LABEL_QUIRK, Params
from model.server import Outcome, apply_committed, receive
from model.state import (
    COMPACTED,
    Config,
    Entry,
    Kind,
    Log,
    Msg,
    MsgType,
    Role,
    Server,
    bit,
    mask_of,
)
from raft_ref import eraftpb
from raft_ref import eraftpb_pb2 as pb

__all__ = ["DeliveryChecker", "Tally", "model_checked_by_default", "params_of"]

Answer = dict[str, Any]
# Asks the implementation for one node's `state` (None when it has none to give).
Observe = Callable[[int], "Answer | None"]

# The implementations whose rules are raft-rs 0.6.0-alpha's, the model's. Others are
# model-checked on request only: raft-rs 0.7 and etcd hint rejected appends by
# conflicting term, 0.7 commits on a ReadIndex response, etcd forwards a ReadIndex
# under the requester's id.
_MODEL_CHECKED = frozenset({"raft_ref", "raft_ref-subprocess", "raft-rs"})


def model_checked_by_default(impl: str | None) -> bool:
    """Whether protocol mode runs the model check on `--impl impl` unless told."""
    return impl in _MODEL_CHECKED


# The kind every entry gets: the observations carry entry terms, not kinds.
NEUTRAL = Kind.DATA

_ROLES = {
    "Follower": Role.FOLLOWER,
    "PreCandidate": Role.PRE_CANDIDATE,
    "Candidate": Role.CANDIDATE,
    "Leader": Role.LEADER,
}
# Commands that are no event the node's next ready could answer: an observation, the
# ready itself, the node's creation.
_NOT_EVENTS = frozenset({"state", "ready", "create"})
_RESPONSES = frozenset(
    {MsgType.VOTE_RESP, MsgType.PRE_VOTE_RESP, MsgType.APPEND_RESP, MsgType.HEARTBEAT_RESP}
)
# The model's server ids are bits of a mask over at most this many servers.
_MAX_ID = 8

# Why deliveries were not checked (the summary counts them by reason).
OTHER_EVENTS_BEFORE = "the node had events not yet handed out by a ready"
OTHER_EVENT_AFTER = "another event reached the node before its next ready"
NO_READY = "no ready followed"
NOT_FOLLOWER = "the node was a leader or (pre-)candidate"
ENDS_LEADING = "the node led after it"
PANICKED = "the node panicked or its ready failed"
UNKNOWN_NODE = "the node was not created by the scenario"
EMPTY_LOG = "the node's log was empty"
UNKNOWN_LABEL = "the term of the snapshot the node's log starts after is not known"
STATE_LACKS = "the state answer lacks a field the check needs (or it is malformed)"
FOREIGN_MESSAGE = "a message the model has no counterpart for"
BIG_IDS = "node ids outside 1..8"
UNAPPLIED = "MsgTimeoutNow with committed entries not yet applied (their kinds are unknown)"
LEARNER_SNAPSHOT = "a snapshot naming the receiver a learner (raft-rs is_learner is unknown)"
JOINT_STRANGER = "a response from a node outside the observed joint configuration"

# The `state` fields compared after a step, and those also read before it.
_COMPARED = ("term", "vote", "commit", "first_index", "last_index")
_READ = ("leader_id",)
_ID_LISTS = ("voters", "learners")


@dataclass
class Tally:
    """How many deliveries were checked against the model, and why others were not."""

    checked: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def add(self, other: Tally) -> None:
        self.checked += other.checked
        self.skipped.update(other.skipped)


def params_of(config: Mapping[str, Any], snapshot_term_of_entry: bool) -> Params:
    """The model's parameters for a node created with `config` (the `create` command's):
    its protocol options, and the snapshot-label quirk left out where the implementation
    labels snapshots with their last entry's term."""
    max_size = int(config.get("max_size_per_msg", 0))
    return Params(
        pre_vote=bool(config.get("pre_vote", False)),
        check_quorum=bool(config.get("check_quorum", False)),
        entries_per_append=1 if max_size == 0 else 0,
        skip_bcast_commit=bool(config.get("skip_bcast_commit", False)),
        read_lease_based=config.get("read_only") == "LeaseBased",
        left_out=(SNAPSHOT_LABEL_QUIRK,) if snapshot_term_of_entry else (),
    )


@dataclass
class _Chain:
    """A follower's observed state and the messages delivered to it since."""

    before: Answer
    outcomes: list[Outcome]
    delivered: list[Msg] = field(default_factory=list)
    # Set when the chain can no longer be checked: why.
    skip: str = ""


@dataclass
class _Node:
    params: Params
    # (index, term) of the snapshot its storage holds; None when not known.
    snapshot: tuple[int, int] | None
    # Whether its next ready hands out only what later deliveries cause.
    clean: bool = False
    # Its latest `state` answer, while nothing has happened to it since.
    latest: Answer | None = None
    chain: _Chain | None = None


class DeliveryChecker:
    """Watches a scenario's requests and answers (the driver's `RequestWatcher`) and
    checks every delivery to a follower against the model; raises PropertyViolation
    (`refines-model`) at the first one the model does not allow."""

    def __init__(self, observe: Observe, *, snapshot_term_of_entry: bool = False) -> None:
        self.observe = observe
        self.snapshot_term_of_entry = snapshot_term_of_entry
        self.nodes: dict[int, _Node] = {}
        self._tally = Tally()
        # Read contexts (heartbeat and ReadIndex) as the model's request numbers.
        self._contexts: dict[bytes, int] = {}

    # --- the watcher ----------------------------------------------------------------

    def before(self, step: Step, request: Answer) -> None:
        node, cmd = request.get("node"), request.get("cmd")
        if not isinstance(node, int) or cmd in _NOT_EVENTS:
            return
        if cmd == "step":
            self._deliver(node, request.get("message"))
            return
        view = self.nodes.get(node)
        if view is not None:
            self._event(view)

    def after(self, step: Step, request: Answer, answer: Answer) -> None:
        node, cmd = request.get("node"), request.get("cmd")
        if not isinstance(node, int):
            return
        if cmd == "create":
            self._created(node, request, answer)
            return
        view = self.nodes.get(node)
        if view is None:
            return
        if cmd == "state":
            state = answer.get("state")
            view.latest = state if answer.get("ok") is True and isinstance(state, dict) else None
            return
        view.latest = None
        if cmd == "step" and answer.get("error") == "Panic":
            self._give_up(view, PANICKED)
            view.clean = False
        elif cmd == "ready":
            self._readied(step, node, view, answer)

    def tally(self) -> Tally:
        """The deliveries checked so far, and those skipped (a chain still open counts as
        skipped: no ready followed it)."""
        out = Tally(self._tally.checked, Counter(self._tally.skipped))
        for view in self.nodes.values():
            if view.chain is not None:
                out.skipped[view.chain.skip or NO_READY] += len(view.chain.delivered)
        return out

    # --- events -----------------------------------------------------------------------

    def _created(self, node: int, request: Answer, answer: Answer) -> None:
        if answer.get("ok") is not True:
            self.nodes.pop(node, None)
            return
        config = request.get("config")
        params = params_of(config if isinstance(config, dict) else {}, self.snapshot_term_of_entry)
        members = bool(request.get("voters")) or bool(request.get("learners"))
        index = request.get("index", 1)
        # With members the storage starts from a snapshot at `index`, term 1; without,
        # empty (raft-rs's MemStorage then answers term 0 at index 0).
        snapshot = (index, 1) if members and isinstance(index, int) else (0, 0)
        self.nodes[node] = _Node(params, snapshot)

    def _event(self, view: _Node) -> None:
        """Anything but a delivery, a ready or an observation reached the node."""
        self._give_up(view, OTHER_EVENT_AFTER)
        view.clean = False
        view.latest = None

    def _give_up(self, view: _Node, reason: str) -> None:
        chain = view.chain
        if chain is None:
            return
        self._tally.skipped[chain.skip or reason] += len(chain.delivered)
        if any(m.type == MsgType.SNAPSHOT for m in chain.delivered):
            view.snapshot = None  # it may have installed one: its label is not known
        view.chain = None

    def _deliver(self, node: int, encoded: object) -> None:
        view = self.nodes.get(node)
        if view is None:
            self._tally.skipped[UNKNOWN_NODE] += 1
            return
        msg = self._message(encoded)
        if view.chain is None:
            view.chain = self._start(node, view)
        chain = view.chain
        view.latest = None
        if msg is None:
            chain.skip = chain.skip or FOREIGN_MESSAGE
            chain.delivered.append(Msg(MsgType.UNKNOWN, 0, node, 0))
            return
        chain.delivered.append(msg)
        if not chain.skip:
            chain.skip = self._extend(view.params, chain, msg)

    def _start(self, node: int, view: _Node) -> _Chain:
        """A chain from the node's state now; marked skipped when it cannot be checked
        (observed all the same: a snapshot it installs is learnt from the states)."""
        state = view.latest if view.latest is not None else self.observe(node)
        if state is None:
            return _Chain({}, [], skip=PANICKED)
        if not view.clean:
            return _Chain(state, [], skip=OTHER_EVENTS_BEFORE)
        server = _server(node, state, view.snapshot)
        if isinstance(server, str):
            return _Chain(state, [], skip=server)
        return _Chain(state, [(server, [])])

    def _extend(self, p: Params, chain: _Chain, m: Msg) -> str:
        """Steps every outcome so far by `m`; returns why the chain cannot be checked, or
        ''."""
        if not m.src:
            return FOREIGN_MESSAGE
        if not 1 <= m.dst <= _MAX_ID or m.src > _MAX_ID:
            return BIG_IDS
        if m.type == MsgType.SNAPSHOT and m.config.learners & bit(m.dst):
            return LEARNER_SNAPSHOT
        outcomes: list[Outcome] = []
        for s, sent in chain.outcomes:
            if s.role == Role.LEADER:
                return ENDS_LEADING
            if m.type == MsgType.TIMEOUT_NOW and s.applied < s.commit:
                return UNAPPLIED
            stranger = not s.config.members() & bit(m.src)
            if m.type in _RESPONSES and s.config.joint and stranger:
                return JOINT_STRANGER
            outcomes += [(after, [*sent, *more]) for after, more in receive(p, s, m)]
        chain.outcomes = outcomes
        return ""

    def _readied(self, step: Step, node: int, view: _Node, answer: Answer) -> None:
        ready = answer.get("ready")
        if answer.get("ok") is not True or not (ready is None or isinstance(ready, dict)):
            self._give_up(view, PANICKED)
            view.clean = False
            return
        view.clean = True
        chain = view.chain
        if chain is None:
            return
        view.chain = None
        after = self.observe(node) if chain.before else None
        if after is None:
            self._tally.skipped[chain.skip or PANICKED] += len(chain.delivered)
            view.snapshot = None
            return
        self._learn_snapshot(view, chain, after)
        if not chain.skip and (not _comparable(after) or after["role"] == "Leader"):
            chain.skip = ENDS_LEADING if _comparable(after) else STATE_LACKS
        messages = ready.get("messages", []) if isinstance(ready, dict) else []
        sent = None if chain.skip or not isinstance(messages, list) else self._messages(messages)
        if sent is None:
            self._tally.skipped[chain.skip or FOREIGN_MESSAGE] += len(chain.delivered)
            return
        allowed = [apply_committed(view.params, node, s, list(more)) for s, more in chain.outcomes]
        if not any(_matches(after, s) and Counter(sent) == Counter(out) for s, out in allowed):
            raise PropertyViolation(
                REFINES_MODEL, _mismatch(step, node, chain, (after, sent), allowed)
            )
        self._tally.checked += len(chain.delivered)

    @staticmethod
    def _learn_snapshot(view: _Node, chain: _Chain, after: Answer) -> None:
        """A log that starts elsewhere after nothing but deliveries has installed a
        snapshot: the last one delivered whose index it now starts after."""
        first = after.get("first_index")
        if first == chain.before.get("first_index"):
            return
        index = first - 1 if isinstance(first, int) else -1
        labels = [
            m.log_term for m in chain.delivered if m.type == MsgType.SNAPSHOT and m.idx == index
        ]
        view.snapshot = (index, labels[-1]) if labels else None

    # --- messages -------------------------------------------------------------------

    def _message(self, encoded: object) -> Msg | None:
        """A wire message as the model sees it, None when the model has no counterpart.

        Entry kinds become `NEUTRAL` (types other implementations have, such as etcd's
        EntryConfChangeV2, are read as normal entries first); read contexts become
        numbers, the same number for the same bytes."""
        try:
            p = pb.Message()
            p.ParseFromString(unb64(encoded))
            for entry in p.entries:
                entry.entry_type = pb.EntryNormal
            m = eraftpb.message_from_pb(p)
        except (ProtocolError, DecodeError, ValueError):  # ValueError: an unknown enum value
            return None
        if m.msg_type == eraftpb.MessageType.MsgAppend:
            msg = abstract_message(_without_entries(m))
            return msg._replace(entries=tuple(Entry(e.term, NEUTRAL) for e in m.entries))
        msg = abstract_message(m)
        if msg.type == MsgType.UNKNOWN:
            return None
        if msg.type in (MsgType.HEARTBEAT, MsgType.HEARTBEAT_RESP):
            return msg._replace(context=self._context(m.context))
        if msg.type in (MsgType.READ_INDEX, MsgType.READ_INDEX_RESP):
            return msg._replace(context=self._context(m.entries[0].data))
        return msg

    def _messages(self, encoded: Iterable[object]) -> list[Msg] | None:
        out = []
        for item in encoded:
            msg = self._message(item)
            if msg is None:
                return None
            out.append(msg)
        return out

    def _context(self, ctx: bytes) -> int:
        if not ctx:
            return 0
        return self._contexts.setdefault(ctx, len(self._contexts) + 1)


def _without_entries(m: eraftpb.Message) -> eraftpb.Message:
    return eraftpb.Message(
        msg_type=m.msg_type,
        to=m.to,
        from_=m.from_,
        term=m.term,
        log_term=m.log_term,
        index=m.index,
        commit=m.commit,
    )


# --- the observed state as a model server ----------------------------------------------------


def _ints(values: object) -> bool:
    return isinstance(values, list) and all(_is_int(v) for v in values)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _comparable(state: Mapping[str, Any]) -> bool:
    """Whether `state` carries, well formed, every field compared after a step."""
    return (
        isinstance(state.get("role"), str)
        and all(_is_int(state.get(key)) for key in _COMPARED)
        and _ints(state.get("log_terms"))
    )


def _readable(state: Mapping[str, Any]) -> bool:
    """Whether `state` also carries, well formed, what a model server is built from."""
    incoming = state.get("next_voters")
    return (
        _comparable(state)
        and all(_is_int(state.get(key)) for key in _READ)
        and all(_ints(state.get(key)) for key in _ID_LISTS)
        and "next_voters" in state
        and (incoming is None or _ints(incoming))
        and ("applied" not in state or _is_int(state["applied"]))
    )


def _server(node: int, state: Mapping[str, Any], snapshot: tuple[int, int] | None) -> Server | str:
    """The follower `state` describes as a model server, or why it cannot be one."""
    if not _readable(state):
        return STATE_LACKS
    if state["role"] != "Follower":
        return NOT_FOLLOWER
    first, last = int(state["first_index"]), int(state["last_index"])
    terms = [int(t) for t in state["log_terms"]]
    commit = int(state["commit"])
    if last < 1 or len(terms) != last - first + 1 or commit > last:
        return EMPTY_LOG if last < 1 else STATE_LACKS
    voters, learners = state["voters"], state["learners"]
    incoming = state["next_voters"] or []
    members = [node, *voters, *learners, *incoming]
    if min(members) < 1 or max(members) > _MAX_ID:
        return BIG_IDS
    log = _log(first, terms, snapshot)
    if log is None:
        return UNKNOWN_LABEL
    # Without `applied` none counts as applied, and a MsgTimeoutNow is not checked.
    applied = min(int(state.get("applied", 0)), commit)
    config = Config(mask_of(voters), mask_of(learners), mask_of(incoming))
    none = (0,) * _MAX_ID
    return Server(
        term=int(state["term"]),
        vote=int(state["vote"]),
        role=Role.FOLLOWER,
        leader=int(state["leader_id"]),
        log=log,
        commit=commit,
        applied=applied,
        config=config,
        granted=0,
        rejected=0,
        match=none,
        next=none,
        replicate=0,
        is_learner=node in learners,
    )


def _log(first: int, terms: list[int], snapshot: tuple[int, int] | None) -> Log | None:
    """The log from the terms shown from `first` on: before them every index is
    compacted, except the snapshot's, which holds its label (raft-rs's MemStorage knows
    the term at its snapshot's index and no other compacted one)."""
    head: list[Entry] = [COMPACTED] * (first - 1)
    if first > 1:
        if snapshot is None:
            return None
        index, term = snapshot
        if index == first - 1:
            head[-1] = Entry(term, Kind.SNAPSHOT)
    return (*head, *(Entry(t, NEUTRAL) for t in terms))


# --- comparing --------------------------------------------------------------------------------


def _matches(state: Mapping[str, Any], s: Server) -> bool:
    """Whether the observed state is the model server on every field both have: role,
    term, vote, commit, the last index and the terms shown."""
    first, last = int(state["first_index"]), int(state["last_index"])
    return (
        _ROLES.get(str(state["role"])) == s.role
        and int(state["term"]) == s.term
        and int(state["vote"]) == s.vote
        and int(state["commit"]) == s.commit
        and len(s.log) == last
        and [int(t) for t in state["log_terms"]] == [e.term for e in s.log[first - 1 :]]
    )


def _describe_state(state: Mapping[str, Any]) -> str:
    terms = ",".join(str(t) for t in state["log_terms"])
    return (
        f"{state['role']} term {state['term']} vote {state['vote']} commit {state['commit']} "
        f"log {state['first_index']}..{state['last_index']} terms [{terms}]"
    )


def _describe_server(s: Server, first: int) -> str:
    terms = ",".join(str(e.term) for e in s.log[first - 1 :])
    return (
        f"{Role.NAMES[s.role]} term {s.term} vote {s.vote} commit {s.commit} "
        f"log {first}..{len(s.log)} terms [{terms}]"
    )


def _describe_sent(sent: Iterable[Msg]) -> str:
    return "[" + _listing(sorted(sent)) + "]"


def _listing(msgs: Iterable[Msg]) -> str:
    """The messages in order, a run of equal ones written once with its count."""
    runs: list[list[Any]] = []
    for m in msgs:
        if runs and runs[-1][0] == m:
            runs[-1][1] += 1
        else:
            runs.append([m, 1])
    return "; ".join(format_msg(m) + (f" (x{n})" if n > 1 else "") for m, n in runs)


def _mismatch(
    step: Step,
    node: int,
    chain: _Chain,
    observed: tuple[Answer, list[Msg]],
    allowed: list[Outcome],
) -> str:
    after, sent = observed
    first = int(after["first_index"])
    received = _listing(chain.delivered)
    options = " or ".join(
        f"{_describe_server(s, first)} sending {_describe_sent(out)}" for s, out in allowed
    )
    return (
        f"line {step.line} '{step.text()}': node {node} in state "
        f"{_describe_state(chain.before)} received {received}: it reached "
        f"{_describe_state(after)} sending {_describe_sent(sent)}; the model allows "
        f"{options or 'nothing'}"
    )
