"""The model's actions: every enabled, named, parameterised transition of the system.

Granularity follows raft-rs's own steps. Receiving a message is one step that includes
everything raft-rs does with it: the winning vote response makes the leader, which
appends its empty entry and sends it to every peer; an append response may advance the
commit index. Where raft-rs decides by state the model does not keep (which entries to
send a peer, when to heartbeat), the model lets the leader send at any time
(`AppendEntries`, `Heartbeat`). A step whose messages would exceed `max_msgs` in flight
is not explored.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from model import server as srv
from model.params import Params
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
    term_at,
)


class Action(NamedTuple):
    name: str
    args: tuple[Any, ...]


HANDLER_NAMES = {
    MsgType.VOTE: "HandleRequestVoteRequest",
    MsgType.VOTE_RESP: "HandleRequestVoteResponse",
    MsgType.PRE_VOTE: "HandlePreVoteRequest",
    MsgType.PRE_VOTE_RESP: "HandlePreVoteResponse",
    MsgType.APPEND: "HandleAppendEntriesRequest",
    MsgType.APPEND_RESP: "HandleAppendEntriesResponse",
    MsgType.HEARTBEAT: "HandleHeartbeat",
    MsgType.HEARTBEAT_RESP: "HandleHeartbeatResponse",
}


def _with_server(
    p: Params,
    state: State,
    i: int,
    s: Server,
    sent: list[Msg],
    *,
    budget: Budget | None = None,
    consumed: Msg | None = None,
) -> State | None:
    """`state` with server `i` replaced, `consumed` taken off the network and `sent` put
    on it; None when that would exceed a bound (log length, term, messages in flight).

    The network forgets messages whose receiver will ignore them whenever they arrive
    (terms never decrease; a server is candidate or leader at most once per term): a
    reduction of the state space that changes no server's behaviour. Such a message can
    appear only when it is sent or when its receiver changes, so only those are looked at.
    """
    if len(s.log) > p.max_log + 1 or s.term > p.max_term:
        return None
    servers = (*state.servers[: i - 1], s, *state.servers[i:])
    bag = state.network if consumed is None else bag_remove(state.network, consumed)
    if bag and s is not state.servers[i - 1]:
        kept = [(m, n) for m, n in bag if m.dst != i or not _ignored_forever(p, s, m)]
        if len(kept) != len(bag):
            bag = tuple(kept)
    if sent:
        sent = [m for m in sent if not _ignored_forever(p, servers[m.dst - 1], m)]
        if bag_size(bag) + len(sent) > p.max_msgs:
            return None
        bag = bag_add(bag, sent)
    return State(servers, bag, state.budget if budget is None else budget)


def _ignored_forever(p: Params, d: Server, m: Msg) -> bool:
    """Whether server `d` ignores `m` now and in every later state."""
    if m.term < d.term:
        if m.type == MsgType.PRE_VOTE:
            return False  # answered with a refusal
        return not (p.pre_vote and m.type in (MsgType.APPEND, MsgType.HEARTBEAT))
    if m.term > d.term:
        return False
    if m.type == MsgType.VOTE_RESP:
        return d.role != Role.CANDIDATE
    if m.type == MsgType.APPEND_RESP:
        return d.role != Role.LEADER
    return m.type == MsgType.HEARTBEAT_RESP


# --- elections ------------------------------------------------------------------------


def timeout(p: Params, state: State, i: int) -> State | None:
    """Timeout(i): a voter's election timer fires (raft-rs `tick_election` -> `hup`); it
    starts a pre-vote or an election, unless committed conf changes are unapplied."""
    s = state.servers[i - 1]
    if s.role == Role.LEADER or not (s.config.all_voters() & bit(i)):
        return None
    if s.term + 1 > p.max_term or srv.unapplied_conf_committed(s):
        return None
    s, sent = srv.campaign(p, i, s, p.pre_vote)
    return _with_server(p, state, i, s, sent)


def restart(p: Params, state: State, i: int) -> State | None:
    """Restart(i): crash and recover with persistent state only."""
    if state.budget.crashes >= p.max_crashes:
        return None
    s = state.servers[i - 1]
    after = srv.restart(p, s)
    if after == s:
        return None  # nothing volatile to lose: the same state, one crash fewer
    budget = state.budget._replace(crashes=state.budget.crashes + 1)
    return _with_server(p, state, i, after, [], budget=budget)


# --- the leader -----------------------------------------------------------------------


def client_request(p: Params, state: State, i: int) -> State | None:
    """ClientRequest(i): the leader appends a client's entry (raft-rs `MsgPropose`)."""
    s = state.servers[i - 1]
    if not srv.is_proposer(i, s) or state.budget.client_requests >= p.max_client_requests:
        return None
    if len(s.log) >= p.max_log + 1:
        return None
    s = srv.append_entry(p, i, s, Entry(s.term, Kind.DATA))
    budget = state.budget._replace(client_requests=state.budget.client_requests + 1)
    return _with_server(p, state, i, s, [], budget=budget)


def membership_targets(p: Params, s: Server) -> list[tuple[int, int]]:
    """The configurations (voters, learners) the allowed change rules lead to from `s`'s."""
    voters, learners = s.config.voters, s.config.learners
    outside = ((1 << len(s.match)) - 1) & ~(voters | learners)
    targets: list[tuple[int, int]] = []
    for rule in p.changes:
        if rule == "add_voter":
            targets += [(voters | bit(j), learners) for j in ids(outside)]
        elif rule == "add_learner":
            targets += [(voters, learners | bit(j)) for j in ids(outside)]
        elif rule == "promote":
            targets += [(voters | bit(j), learners & ~bit(j)) for j in ids(learners)]
        elif rule == "remove_voter" and voters & (voters - 1):
            targets += [(voters & ~bit(j), learners) for j in ids(voters)]
        elif rule == "remove_learner":
            targets += [(voters, learners & ~bit(j)) for j in ids(learners)]
        elif rule == "shrink_to_one" and len(ids(voters)) >= 3:
            targets += [(bit(j), learners) for j in ids(voters)]
    return sorted(set(targets))


def propose_membership_change(
    p: Params, state: State, i: int, voters: int, learners: int
) -> State | None:
    """ProposeMembershipChange(i, voters, learners): the leader appends a Begin entry
    carrying the target configuration. While a change is pending raft-rs turns the
    proposal into an empty entry (`voters == 0` stands for such a refused proposal)."""
    s = state.servers[i - 1]
    if not srv.is_proposer(i, s) or len(s.log) >= p.max_log + 1:
        return None
    if state.budget.membership_changes >= p.max_membership_changes:
        return None
    if srv.has_pending_conf(s):
        if voters:
            return None
        entry = Entry(s.term, Kind.EMPTY)
    else:
        if (voters, learners) not in membership_targets(p, s):
            return None
        entry = Entry(s.term, Kind.BEGIN, voters, learners)
    return _append_proposal(p, state, i, entry)


def _append_proposal(p: Params, state: State, i: int, entry: Entry) -> State | None:
    s = srv.append_entry(p, i, state.servers[i - 1], entry)
    budget = state.budget._replace(membership_changes=state.budget.membership_changes + 1)
    return _with_server(p, state, i, s, [], budget=budget)


def append_entries(p: Params, state: State, i: int, j: int, count: int) -> State | None:
    """AppendEntries(i, j, count): the leader sends j `count` entries from j's next index
    on, with its commit index (raft-rs `send_append`). raft-rs decides when (after
    appending, after a response, on a heartbeat response) and how many (at least one if
    any, as many as `max_size_per_msg` allows); the model allows any time and any count.
    In Replicate state the next index moves past the entries sent. A copy of a message
    already in flight is left to DuplicateMessage."""
    s = state.servers[i - 1]
    if s.role != Role.LEADER or j == i or not (s.config.members() & bit(j)):
        return None
    prev = s.next[j - 1] - 1
    available = len(s.log) - prev
    if not (count == available == 0 or 1 <= count <= available):
        return None
    if count < available and not p.partial_appends:
        return None
    entries = s.log[prev : prev + count]
    m = Msg(MsgType.APPEND, i, j, s.term, prev, term_at(s.log, prev), entries, s.commit)
    if any(sent == m for sent, _ in state.network):
        return None
    if entries and s.replicate & bit(j):
        nxt = list(s.next)
        nxt[j - 1] = prev + count + 1
        s = s._replace(next=tuple(nxt))
    return _with_server(p, state, i, s, [m])


def heartbeat(p: Params, state: State, i: int) -> State | None:
    """Heartbeat(i): the leader's heartbeat timer fires (raft-rs `bcast_heartbeat`); each
    peer gets min(its match index, the leader's commit)."""
    s = state.servers[i - 1]
    peers = ids(s.config.members() & ~bit(i))
    if s.role != Role.LEADER or not p.heartbeats or not peers:
        return None
    sent = [
        Msg(MsgType.HEARTBEAT, i, j, s.term, commit=min(s.match[j - 1], s.commit)) for j in peers
    ]
    if all(any(m == old for old, _ in state.network) for m in sent):
        return None  # all already in flight
    return _with_server(p, state, i, s, sent)


def apply_entries(p: Params, state: State, i: int) -> State | None:
    """ApplyEntries(i): the application applies committed entries up to the next
    configuration entry, which takes effect (Begin: joint; Finalize: the target alone);
    a leader that has applied Begin appends Finalize."""
    s = state.servers[i - 1]
    if s.applied >= s.commit:
        return None
    after = srv.apply_entries(p, i, s)
    if len(after.log) > p.max_log + 1:
        return None
    return _with_server(p, state, i, after, [])


def append_finalize(p: Params, state: State, i: int) -> State | None:
    """AppendFinalize(i): every later `advance` of a joint leader that has applied Begin
    appends Finalize again (raft-rs issue #349)."""
    s = state.servers[i - 1]
    if len(s.log) >= p.max_log + 1:
        return None
    after = srv.append_finalize_if_due(p, i, s)
    if after is s:
        return None
    return _with_server(p, state, i, after, [])


# --- the network ----------------------------------------------------------------------


def deliver(p: Params, state: State, m: Msg) -> State | None:
    """Handle*(m): the receiver processes `m` (whatever it sends goes on the network)."""
    s, sent = srv.receive(p, state.servers[m.dst - 1], m)
    return _with_server(p, state, m.dst, s, sent, consumed=m)


def drop_message(p: Params, state: State, m: Msg) -> State | None:
    """DropMessage(m): the network loses one copy of `m`."""
    if state.budget.drops >= p.max_drops:
        return None
    budget = state.budget._replace(drops=state.budget.drops + 1)
    return State(state.servers, bag_remove(state.network, m), budget)


def duplicate_message(p: Params, state: State, m: Msg) -> State | None:
    """DuplicateMessage(m): the network delivers `m` once more later."""
    if state.budget.duplicates >= p.max_duplicates or bag_size(state.network) >= p.max_msgs:
        return None
    budget = state.budget._replace(duplicates=state.budget.duplicates + 1)
    return State(state.servers, bag_add(state.network, [m]), budget)


# --- all actions ----------------------------------------------------------------------


def successors(p: Params, state: State) -> list[tuple[Action, State]]:
    """Every enabled action with the state it leads to."""
    out: list[tuple[Action, State]] = []
    add = out.append
    for i, s in enumerate(state.servers, start=1):
        if (after := timeout(p, state, i)) is not None:
            add((Action("Timeout", (i,)), after))
        if (after := restart(p, state, i)) is not None:
            add((Action("Restart", (i,)), after))
        if s.applied < s.commit and (after := apply_entries(p, state, i)) is not None:
            add((Action("ApplyEntries", (i,)), after))
        if s.role != Role.LEADER:
            continue
        if (after := client_request(p, state, i)) is not None:
            add((Action("ClientRequest", (i,)), after))
        if (after := heartbeat(p, state, i)) is not None:
            add((Action("Heartbeat", (i,)), after))
        if s.config.next_voters and (after := append_finalize(p, state, i)) is not None:
            add((Action("AppendFinalize", (i,)), after))
        if (
            srv.is_proposer(i, s)
            and len(s.log) <= p.max_log
            and state.budget.membership_changes < p.max_membership_changes
        ):
            if srv.has_pending_conf(s):
                targets = [(0, 0, Entry(s.term, Kind.EMPTY))]
            else:
                targets = [
                    (v, lr, Entry(s.term, Kind.BEGIN, v, lr)) for v, lr in membership_targets(p, s)
                ]
            for voters, learners, entry in targets:
                if (after := _append_proposal(p, state, i, entry)) is not None:
                    add((Action("ProposeMembershipChange", (i, voters, learners)), after))
        for j in ids(s.config.members() & ~bit(i)):
            available = len(s.log) + 1 - s.next[j - 1]
            low = available if not p.partial_appends else min(1, available)
            for count in range(low, available + 1):
                if (after := append_entries(p, state, i, j, count)) is not None:
                    add((Action("AppendEntries", (i, j, count)), after))
    for m, _count in state.network:
        if (after := deliver(p, state, m)) is not None:
            add((Action(HANDLER_NAMES[m.type], (m,)), after))
        if (after := drop_message(p, state, m)) is not None:
            add((Action("DropMessage", (m,)), after))
        if (after := duplicate_message(p, state, m)) is not None:
            add((Action("DuplicateMessage", (m,)), after))
    return out


def apply_action(p: Params, state: State, action: Action) -> State | None:
    """The state `action` leads to from `state`, or None when it is not enabled."""
    return dict(successors(p, state)).get(action)
