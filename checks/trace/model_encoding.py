"""The protocol model's states and actions as structured ITF values.

A server is a record (role, term, vote, leader, log, commit, applied, the configuration
as sets, candidacy votes, and a leader's progress as maps); the network is a map from
message record to the number of copies in flight; an action's parameters name the
servers or the message it acts on. Every record has the same fields in every state, so
a typed ITF reader sees one type per variable.
"""

from __future__ import annotations

from typing import Any

from checks.trace.itf import ItfMap, ItfSet, Value
from model.actions import Action
from model.state import Config, Entry, Kind, Msg, MsgType, Role, Server, State, ids


def server_set(mask: int) -> ItfSet:
    return ItfSet(tuple(ids(mask)))


def entry_record(e: Entry) -> dict[str, Value]:
    return {
        "term": e.term,
        "kind": Kind.NAMES[e.kind],
        "voters": server_set(e.voters),
        "learners": server_set(e.learners),
    }


# Message fields under the names readers of a trace expect.
_MESSAGE_FIELDS = {"src": "from", "dst": "to", "idx": "index"}


def message_record(m: Msg) -> dict[str, Value]:
    """Every field of the message, named for readers: `type`, `from`, `to`, `term`, ..."""
    record: dict[str, Value] = {}
    fields: dict[str, Any] = m._asdict()
    for name, value in fields.items():
        shown: Value
        if name == "type":
            shown = MsgType.NAMES[value]
        elif name == "entries":
            shown = [entry_record(e) for e in value]
        elif name == "reject":
            shown = bool(value)
        elif name == "config":
            shown = _config_record(value)
        else:
            shown = value
        record[_MESSAGE_FIELDS.get(name, name)] = shown
    return record


def _config_record(c: Config) -> dict[str, Value]:
    return {
        "voters": server_set(c.voters),
        "learners": server_set(c.learners),
        "next_voters": server_set(c.next_voters),
        "next_learners": server_set(c.next_learners),
        "start": c.start,
    }


def server_record(s: Server) -> dict[str, Value]:
    c = s.config
    leading = s.role == Role.LEADER
    members = ids(c.members()) if leading else []
    return {
        "role": Role.NAMES[s.role],
        "term": s.term,
        "vote": s.vote,
        "leader": s.leader,
        "log": [entry_record(e) for e in s.log],
        "commit": s.commit,
        "applied": s.applied,
        "voters": server_set(c.voters),
        "learners": server_set(c.learners),
        "next_voters": server_set(c.next_voters),
        "next_learners": server_set(c.next_learners),
        "granted": server_set(s.granted),
        "rejected": server_set(s.rejected),
        "match": ItfMap(tuple((j, s.match[j - 1]) for j in members)),
        "next": ItfMap(tuple((j, s.next[j - 1]) for j in members)),
        "replicate": server_set(s.replicate if leading else 0),
        # Peers in Snapshot state: the index of the snapshot sent to each.
        "snapshot": ItfMap(tuple((j, s.snapshot[j - 1]) for j in members if s.snapshot[j - 1]))
        if s.snapshot
        else ItfMap(()),
    }


def state_variables(state: State) -> dict[str, Value]:
    servers = ItfMap(tuple((i, server_record(s)) for i, s in enumerate(state.servers, start=1)))
    network = ItfMap.of((message_record(m), n) for m, n in state.network)
    budget: dict[str, Value] = dict(state.budget._asdict())
    return {"servers": servers, "network": network, "budget": budget}


def action_params(action: Action) -> dict[str, Value]:
    name, args = action.name, action.args
    if args and isinstance(args[0], Msg):
        return {"message": message_record(args[0])}
    if name == "AppendEntries":
        params: dict[str, Value] = {"leader": args[0], "peer": args[1]}
        if len(args) > 2:
            params["entries"] = args[2]  # how many entries the message carries
        return params
    if name == "ProposeMembershipChange":
        leader, voters, learners = args
        return {
            "leader": leader,
            "voters": server_set(voters),
            "learners": server_set(learners),
            "refused": voters == 0,
        }
    if len(args) == 1 and isinstance(args[0], int):
        return {"server": args[0]}
    return {f"arg{k}": _plain_arg(a) for k, a in enumerate(args)}


def _plain_arg(arg: Any) -> Value:
    if isinstance(arg, bool | int | str):
        return arg
    return str(arg)
