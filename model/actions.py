"""The model's actions: what the environment of a Raft cluster can do, and what each
may lead to.

The actions are the environment's events: a server's election timer fires
(`Timeout`), a leader's heartbeat timer fires (`Heartbeat`), a client proposes
(`ClientRequest`), an operator proposes a membership change
(`ProposeMembershipChange`), a client asks a leader to hand over to another server
(`TransferLeader`) or for a read index (`ReadIndex`), a server's application
compacts its log (`Compact`), asks its leader for a snapshot (`RequestSnapshot`) or
reports how sending one ended (`ReportSnapshot`), a server crashes and restarts
(`Restart`), and the network
delivers, loses or duplicates a message (`Deliver`, `Drop`, `Duplicate`). Everything
the protocol does in answer — a new leader's entry and broadcast, commit advancing, the
application loop applying entries and appending Finalize — happens inside that one
action, as raft-rs does it inside one step; where raft-rs's choice depends on what the
model does not keep, the action has several outcomes.

`outcomes` is the whole truth of one action, bounds aside: the implementation target
checks every implementation step against it. `successors` is what an exploration of
the model takes: the enabled actions' outcomes within the bounds.

A message that its receiver ignores now and in every later state
(`model.server.ignored_forever`: a stale term, or an answer to a candidacy or leadership
the receiver does not hold and never will) is retired from the network as part of the
step that makes it so. The implementation target retires such a message only after
showing that the implementation ignores it too (its delivery changes nothing and sends
nothing); where it does not, the message stays and the step diverges. Every other
message stays in flight until it is delivered, dropped or duplicated. Because ignoring
for ever only grows along any run, which messages are in flight does not depend on the
order in which steps at different servers are taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from model import server as srv
from model.params import SNAPSHOT_REQUEST_QUIRK, Params
from model.server import Outcome
from model.state import (
    Budget,
    Entry,
    Kind,
    Msg,
    MsgType,
    Role,
    Server,
    State,
    bag_add,
    bag_remove,
    bag_size,
    bit,
    ids,
)


class Action(NamedTuple):
    name: str
    args: tuple[Any, ...]


# The actions that concern a message in flight (their one argument is the message).
MESSAGE_ACTIONS = ("Deliver", "Drop", "Duplicate")


def action_kind(action: Action) -> str:
    """A short name of the kind of `action`, for coverage: deliveries by message type."""
    if action.name == "Deliver":
        return "Deliver" + MsgType.NAMES[action.args[0].type]
    return action.name


def _put(
    p: Params,
    state: State,
    i: int,
    s: Server,
    sent: list[Msg],
    *,
    budget: Budget | None = None,
    consumed: Msg | None = None,
) -> State:
    """`state` with server `i` replaced, `consumed` taken off the network and `sent` put
    on it."""
    servers = (*state.servers[: i - 1], s, *state.servers[i:])
    bag = state.network if consumed is None else bag_remove(state.network, consumed)
    # A message can become ignored for ever only when it is sent or its receiver changes.
    if bag and s != state.servers[i - 1]:
        kept = [(m, n) for m, n in bag if m.dst != i or not srv.ignored_forever(p, s, m)]
        if len(kept) != len(bag):
            bag = tuple(kept)
    if sent:
        sent = [m for m in sent if not srv.ignored_forever(p, servers[m.dst - 1], m)]
        bag = bag_add(bag, sent)
    return State(servers, bag, state.budget if budget is None else budget)


def within_bounds(p: Params, state: State) -> bool:
    """Whether `state` is inside the exploration's bounds on terms, log length and
    messages in flight (the budgets are checked when an action is enabled)."""
    return servers_within_bounds(p, state.servers, bag_size(state.network))


def servers_within_bounds(p: Params, servers: tuple[Server, ...], in_flight: int) -> bool:
    """`within_bounds` of the state with these servers and `in_flight` messages."""
    if in_flight > p.max_msgs:
        return False
    longest = p.max_log + 1
    return all(s.term <= p.max_term and len(s.log) <= longest for s in servers)


# --- which actions are enabled ------------------------------------------------------------


def membership_targets(p: Params, s: Server) -> list[tuple[int, int]]:
    """The configurations (voters, learners) the allowed change rules lead to from `s`'s."""
    voters, learners = s.config.voters, s.config.learners
    outside = ((1 << len(s.match)) - 1) & ~(voters | learners)
    promote = "promoted_learner_loses_progress" not in p.left_out
    targets: list[tuple[int, int]] = []
    for rule in p.changes:
        if rule == "add_voter":
            targets += [(voters | bit(j), learners) for j in ids(outside)]
        elif rule == "add_learner":
            targets += [(voters, learners | bit(j)) for j in ids(outside)]
        elif rule == "promote" and promote:
            targets += [(voters | bit(j), learners & ~bit(j)) for j in ids(learners)]
        elif rule == "remove_voter" and voters & (voters - 1):
            targets += [(voters & ~bit(j), learners) for j in ids(voters)]
        elif rule == "remove_learner":
            targets += [(voters, learners & ~bit(j)) for j in ids(learners)]
        elif rule == "shrink_to_one" and len(ids(voters)) >= 3:
            targets += [(bit(j), learners) for j in ids(voters)]
    return sorted(set(targets))


def enabled(p: Params, state: State) -> list[Action]:
    """Every action the environment can take in `state` (within the budgets)."""
    out: list[Action] = []
    add = out.append
    budget = state.budget
    crashes = budget.crashes < p.max_crashes
    for i, s in enumerate(state.servers, start=1):
        if s.role == Role.LEADER:
            if p.heartbeats:
                add(Action("Heartbeat", (i,)))
            for j in ids(_snapshotting(s)):
                add(Action("ReportSnapshot", (i, j, True)))
                add(Action("ReportSnapshot", (i, j, False)))
            if srv.is_proposer(i, s):
                if budget.client_requests < p.max_client_requests:
                    add(Action("ClientRequest", (i,)))
                if budget.transfers < p.max_transfers:
                    for j in ids(s.config.members()):
                        add(Action("TransferLeader", (i, j)))
                if budget.membership_changes < p.max_membership_changes:
                    if srv.has_pending_conf(s):
                        # Refused by raft-rs: the proposal becomes an empty entry.
                        add(Action("ProposeMembershipChange", (i, 0, 0)))
                    else:
                        for voters, learners in membership_targets(p, s):
                            add(Action("ProposeMembershipChange", (i, voters, learners)))
        elif srv.promotable(i, s) and not srv.unapplied_conf_committed(s):
            add(Action("Timeout", (i,)))
        if budget.reads < p.max_reads:
            add(Action("ReadIndex", (i,)))
        if budget.compactions < p.max_compactions and srv.can_compact(s):
            add(Action("Compact", (i,)))
        if (
            budget.snapshot_requests < p.max_snapshot_requests
            and not p.left_out_quirk(SNAPSHOT_REQUEST_QUIRK)
            and s.role == Role.FOLLOWER
            and s.leader
            and not s.requested
        ):
            add(Action("RequestSnapshot", (i,)))
        if crashes:
            add(Action("Restart", (i,)))
    drops = budget.drops < p.max_drops
    duplicates = budget.duplicates < p.max_duplicates
    for m, _count in state.network:
        add(Action("Deliver", (m,)))
        if drops:
            add(Action("Drop", (m,)))
        if duplicates:
            add(Action("Duplicate", (m,)))
    return out


# --- what an action leads to -----------------------------------------------------------------


def outcomes(p: Params, state: State, action: Action) -> list[State]:
    """Every state `action` may lead to from `state`, bounds aside (an action that is not
    enabled leads nowhere)."""
    name, args = action
    step = _STEPS.get(name)
    return [] if step is None else step(p, state, *args)


# --- what an action does to its server ---------------------------------------------------
#
# Every action but a read and the network's own (drop, duplicate) changes one server by
# what that server holds alone. A search meets the same server in many states (the
# default search asks a server's election timeout 78 times per distinct server), so
# these outcomes are computed once per (step, server, arguments) and remembered.


def _campaigned(p: Params, s: Server, i: int) -> list[Outcome]:
    return [srv.apply_committed(p, i, *srv.campaign(p, i, s, p.pre_vote))]


def _heartbeats(p: Params, s: Server, i: int) -> list[Outcome]:
    return srv.heartbeat_timeout(p, i, s)


def _proposed(p: Params, s: Server, i: int, entry: Entry) -> list[Outcome]:
    if s.transferee:
        return [(s, [])]  # dropped while handing over
    return [srv.apply_committed(p, i, *srv.propose(p, i, s, entry))]


def _transferred(p: Params, s: Server, i: int, j: int) -> list[Outcome]:
    return [srv.apply_committed(p, i, *srv.transfer_leader(p, i, s, j))]


def _compacted(p: Params, s: Server, i: int) -> list[Outcome]:
    return [(srv.compact(s), [])]


def _snapshot_requested(p: Params, s: Server, i: int) -> list[Outcome]:
    return [srv.request_snapshot(i, s)]


def _snapshot_reported(p: Params, s: Server, i: int, j: int, delivered: bool) -> list[Outcome]:
    return [(srv.report_snapshot(s, j, delivered), [])]


def _restarted(p: Params, s: Server, i: int) -> list[Outcome]:
    return [srv.apply_committed(p, i, srv.restart(p, i, s), [])]


def _received(p: Params, s: Server, i: int, m: Msg) -> list[Outcome]:
    return [srv.apply_committed(p, i, *outcome) for outcome in srv.receive(p, s, m)]


LocalStep = Callable[..., list[Outcome]]
LOCAL_MEMO_LIMIT = 1 << 18  # remembered outcomes; forgotten all at once past this many


def _local(p: Params, step: LocalStep, s: Server, *args: Any) -> list[Outcome]:
    """`step(p, s, *args)`, remembered with the parameters (`Params.remembered`). Its
    callers copy, never change, what it returns."""
    memo = p.remembered
    key = (step, s, args)
    found: list[Outcome] | None = memo.get(key)
    if found is None:
        if len(memo) >= LOCAL_MEMO_LIMIT:
            memo.clear()
        found = memo[key] = step(p, s, *args)
    return found


# --- each action, on the whole state ------------------------------------------------------


def _at(
    p: Params,
    state: State,
    i: int,
    step: LocalStep,
    *args: Any,
    budget: Budget | None = None,
    consumed: Msg | None = None,
) -> list[State]:
    """The states `step` leads server `i` to, each put into `state`."""
    return [
        _put(p, state, i, s, sent, budget=budget, consumed=consumed)
        for s, sent in _local(p, step, state.servers[i - 1], i, *args)
    ]


def _timeout(p: Params, state: State, i: int) -> list[State]:
    return _at(p, state, i, _campaigned)


def _heartbeat(p: Params, state: State, i: int) -> list[State]:
    return _at(p, state, i, _heartbeats)


def _client_request(p: Params, state: State, i: int) -> list[State]:
    budget = state.budget._replace(client_requests=state.budget.client_requests + 1)
    entry = Entry(state.servers[i - 1].term, Kind.DATA)
    return _at(p, state, i, _proposed, entry, budget=budget)


def _propose_membership_change(
    p: Params, state: State, i: int, voters: int, learners: int
) -> list[State]:
    budget = state.budget._replace(membership_changes=state.budget.membership_changes + 1)
    entry = Entry(state.servers[i - 1].term, Kind.BEGIN, voters, learners)
    return _at(p, state, i, _proposed, entry, budget=budget)


def _read_index(p: Params, state: State, i: int) -> list[State]:
    """A client asks server `i` for a read index; the request is numbered, and carries
    the highest index committed anywhere now, which its answer must not be below."""
    budget = state.budget._replace(reads=state.budget.reads + 1)
    required = max(s.commit for s in state.servers)
    s, sent = srv.read_index(p, i, state.servers[i - 1], budget.reads, required, i)
    return [_put(p, state, i, *srv.apply_committed(p, i, s, sent), budget=budget)]


def _transfer_leader(p: Params, state: State, i: int, j: int) -> list[State]:
    budget = state.budget._replace(transfers=state.budget.transfers + 1)
    return _at(p, state, i, _transferred, j, budget=budget)


def _compact(p: Params, state: State, i: int) -> list[State]:
    budget = state.budget._replace(compactions=state.budget.compactions + 1)
    return _at(p, state, i, _compacted, budget=budget)


def _snapshotting(s: Server) -> int:
    """The peers a leader holds in Snapshot state, as a mask."""
    mask = 0
    for k, index in enumerate(s.snapshot):
        if index:
            mask |= 1 << k
    return mask


def _request_snapshot(p: Params, state: State, i: int) -> list[State]:
    budget = state.budget._replace(snapshot_requests=state.budget.snapshot_requests + 1)
    return _at(p, state, i, _snapshot_requested, budget=budget)


def _report_snapshot(p: Params, state: State, i: int, j: int, delivered: bool) -> list[State]:
    return _at(p, state, i, _snapshot_reported, j, delivered)


def _restart(p: Params, state: State, i: int) -> list[State]:
    budget = state.budget._replace(crashes=state.budget.crashes + 1)
    return _at(p, state, i, _restarted, budget=budget)


def _deliver(p: Params, state: State, m: Msg) -> list[State]:
    return _at(p, state, m.dst, _received, m, consumed=m)


def _drop(p: Params, state: State, m: Msg) -> list[State]:
    budget = state.budget._replace(drops=state.budget.drops + 1)
    return [State(state.servers, bag_remove(state.network, m), budget)]


def _duplicate(p: Params, state: State, m: Msg) -> list[State]:
    budget = state.budget._replace(duplicates=state.budget.duplicates + 1)
    return [State(state.servers, bag_add(state.network, [m]), budget)]


_STEPS: dict[str, Any] = {
    "Timeout": _timeout,
    "Heartbeat": _heartbeat,
    "ClientRequest": _client_request,
    "ProposeMembershipChange": _propose_membership_change,
    "Restart": _restart,
    "TransferLeader": _transfer_leader,
    "ReadIndex": _read_index,
    "Compact": _compact,
    "RequestSnapshot": _request_snapshot,
    "ReportSnapshot": _report_snapshot,
    "Deliver": _deliver,
    "Drop": _drop,
    "Duplicate": _duplicate,
}


# --- exploring the model -------------------------------------------------------------------


def successors(p: Params, state: State) -> list[tuple[Action, State]]:
    """Every enabled action with each state it leads to within the bounds (an outcome
    equal to `state` is a stutter and left out)."""
    out: list[tuple[Action, State]] = []
    for action in enabled(p, state):
        seen: list[State] = []
        for after in outcomes(p, state, action):
            if after != state and after not in seen and within_bounds(p, after):
                seen.append(after)
                out.append((action, after))
    return out
