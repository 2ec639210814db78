"""raft_ref behind the driver protocol: a cluster of RawNodes answering commands.

`RaftRefHost.handle(request)` turns one protocol request (a decoded JSON object) into
its answer. The in-process adapter calls it directly; the subprocess adapter
(`adapters/raft_ref_adapter.py`) wraps it in a JSON-lines loop, which proves the
protocol carries everything the comparison needs.

The host plays the application's part exactly as PROTOCOL.md prescribes (persist a
Ready in the order snapshot, entries, hard state; apply committed configuration
changes; advance), so that every adapter does the same thing with a Ready.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checks.cluster.app import process_ready, sorted_conf_state
from checks.conformance.protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    b64,
    decode_message_b64,
    encode_snapshot,
    unb64,
)
from raft_ref.config import Config
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
    encode_entry,
    encode_message,
)
from raft_ref.errors import ConfigInvalid, Error, RaftPanic
from raft_ref.progress.progress import Progress
from raft_ref.raft import Raft, StateRole
from raft_ref.raw_node import RawNode, Ready, SnapshotStatus
from raft_ref.read_only import ReadOnlyOption
from raft_ref.storage import MemStorage

__all__ = ["SNAPSHOT_TERM_OF_ENTRY_FLAG", "RaftRefHost", "error_kind"]

# The command-line flag (runner and subprocess adapter) of `snapshot_term_of_entry`.
SNAPSHOT_TERM_OF_ENTRY_FLAG = "--snapshot-term-of-entry"

Answer = dict[str, Any]
Node = RawNode[MemStorage]

_CONF_CHANGE_TYPES = {
    "AddNode": ConfChangeType.AddNode,
    "RemoveNode": ConfChangeType.RemoveNode,
    "AddLearnerNode": ConfChangeType.AddLearnerNode,
}


def error_kind(exc: BaseException) -> str:
    """The protocol's name for a raft_ref error (class names match raft-rs variants)."""
    if isinstance(exc, RaftPanic):
        return "Panic"
    if isinstance(exc, Error):
        name = type(exc).__name__
        return "Other" if name in ("StorageOther", "IoError", "CodecError") else name
    return "Panic"


def _int(request: dict[str, Any], key: str) -> int:
    value = request.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"field {key!r} must be a non-negative integer")
    return value


def _ids(request: dict[str, Any], key: str) -> list[int]:
    value = request.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, int) and v > 0 for v in value):
        raise ProtocolError(f"field {key!r} must be a list of positive integers")
    return list(value)


def _config(node_id: int, options: dict[str, Any]) -> Config:
    if not isinstance(options, dict):
        raise ProtocolError("field 'config' must be an object")

    def number(key: str, default: int) -> int:
        return _int(options, key) if key in options else default

    def flag(key: str) -> bool:
        value = options.get(key, False)
        if not isinstance(value, bool):
            raise ProtocolError(f"field {key!r} must be true or false")
        return value

    timeout = number("election_timeout", 0)
    read_only = options.get("read_only", "Safe")
    if read_only not in ("Safe", "LeaseBased"):
        raise ProtocolError("config.read_only must be 'Safe' or 'LeaseBased'")
    config = Config(
        id=node_id,
        election_tick=number("election_tick", 10),
        heartbeat_tick=number("heartbeat_tick", 1),
        max_size_per_msg=number("max_size_per_msg", 0),
        max_inflight_msgs=number("max_inflight_msgs", 256),
        check_quorum=flag("check_quorum"),
        pre_vote=flag("pre_vote"),
        read_only_option=ReadOnlyOption[read_only],
        skip_bcast_commit=flag("skip_bcast_commit"),
    )
    if timeout:
        # A one-value range [t, t + 1) makes every later re-randomisation draw t.
        config.min_election_tick = timeout
        config.max_election_tick = timeout + 1
    return config


def _bootstrapped(conf_state: ConfState, index: int, snapshot_term_of_entry: bool) -> MemStorage:
    """A member's storage: a snapshot at `index` (at least 1), term 1, holding `conf_state`."""
    if index < 1:
        raise ProtocolError("field 'index' must be at least 1")
    store = MemStorage.new_with_conf_state(conf_state, snapshot_term_of_entry)
    if index > 1:
        meta = SnapshotMetadata(conf_state=conf_state, index=index, term=1)
        store.wl().apply_snapshot(Snapshot(metadata=meta))
    return store


def ready_to_json(rd: Ready) -> Answer:
    ss = rd.ss
    hs = rd.hs
    snap = rd.snapshot
    return {
        "ss": None if ss is None else {"leader_id": ss.leader_id, "role": ss.raft_state.name},
        "hs": None if hs is None else {"term": hs.term, "vote": hs.vote, "commit": hs.commit},
        "entries": [b64(encode_entry(e)) for e in rd.entries],
        "committed_entries": [b64(encode_entry(e)) for e in rd.committed_entries or []],
        "messages": [b64(encode_message(m)) for m in rd.messages],
        "snapshot": None if snap.is_empty() else b64(encode_snapshot(snap)),
        "read_states": [
            {"index": rs.index, "request_ctx": b64(rs.request_ctx)} for rs in rd.read_states
        ],
        "must_sync": rd.must_sync,
    }


class RaftRefHost:
    """The nodes of one cluster, each a raft_ref RawNode over its own MemStorage.

    With `snapshot_term_of_entry`, every MemStorage labels its snapshots with the term of
    their last entry (upstream's fix of #408, not this version's behaviour); the host
    then names itself differently, so no comparison mistakes it for raft_ref itself.
    """

    def __init__(self, snapshot_term_of_entry: bool = False) -> None:
        self.snapshot_term_of_entry = snapshot_term_of_entry
        self.name = "raft_ref+snapshot-term-of-entry" if snapshot_term_of_entry else "raft_ref"
        self.nodes: dict[int, Node] = {}
        self.dead: set[int] = set()
        # Nodes created with a fixed election timeout, which set_election_timeout may change.
        self.pinned: set[int] = set()
        self._commands: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "hello": self._hello,
            "reset": self._reset,
            "create": self._create,
            "tick": self._tick,
            "campaign": self._campaign,
            "propose": self._propose,
            "propose_conf_change": self._propose_conf_change,
            "propose_membership_change": self._propose_membership_change,
            "step": self._step,
            "ready": self._ready,
            "compact": self._compact,
            "report_unreachable": self._report_unreachable,
            "report_snapshot": self._report_snapshot,
            "transfer_leader": self._transfer_leader,
            "read_index": self._read_index,
            "set_election_timeout": self._set_election_timeout,
            "snapshot_message": self._snapshot_message,
            "state": self._state,
        }

    def fresh(self) -> RaftRefHost:
        """A host with the same options and no nodes."""
        return RaftRefHost(self.snapshot_term_of_entry)

    def handle(self, request: dict[str, Any]) -> Answer:
        """The answer to one request; never raises."""
        command = self._commands.get(str(request.get("cmd")))
        if command is None:
            return {"ok": False, "error": "BadRequest", "detail": f"unknown command {request!r}"}
        node_id = request.get("node")
        if node_id in self.dead and request.get("cmd") != "create":
            return {"ok": False, "error": "NodeDead", "detail": f"node {node_id} panicked"}
        try:
            return command(request)
        except ProtocolError as exc:
            return {"ok": False, "error": "BadRequest", "detail": str(exc)}
        except (Error, RaftPanic, AssertionError) as exc:
            kind = error_kind(exc)
            if kind == "Panic" and isinstance(node_id, int):
                # A panicking Rust node is gone; mirror that so later commands agree.
                self.dead.add(node_id)
            return {"ok": False, "error": kind, "detail": str(exc)}

    def _node(self, request: dict[str, Any]) -> Node:
        node_id = _int(request, "node")
        node = self.nodes.get(node_id)
        if node is None:
            raise ProtocolError(f"no node {node_id}")
        return node

    # --- commands ------------------------------------------------------------------

    def _hello(self, request: dict[str, Any]) -> Answer:
        return {"ok": True, "version": PROTOCOL_VERSION, "name": self.name}

    def _reset(self, request: dict[str, Any]) -> Answer:
        self.nodes.clear()
        self.dead.clear()
        self.pinned.clear()
        return {"ok": True}

    def _create(self, request: dict[str, Any]) -> Answer:
        node_id = _int(request, "node")
        if node_id == 0 or node_id in self.nodes:
            raise ProtocolError(f"node {node_id} is zero or exists")
        voters = _ids(request, "voters")
        learners = _ids(request, "learners")
        config = _config(node_id, request.get("config", {}))
        try:
            config.validate()
        except ConfigInvalid as exc:
            return {"ok": False, "error": "ConfigInvalid", "detail": str(exc)}
        fixed = self.snapshot_term_of_entry
        index = _int(request, "index") if "index" in request else 1
        if voters or learners:
            store = _bootstrapped(sorted_conf_state(voters, learners), index, fixed)
        else:
            store = MemStorage.new(fixed)
        node: Node = RawNode(config, store)
        if config.min_election_tick:
            node.raft.set_randomized_election_timeout(config.min_election_tick)
            self.pinned.add(node_id)
        self.nodes[node_id] = node
        return {"ok": True}

    def _tick(self, request: dict[str, Any]) -> Answer:
        self._node(request).tick()
        return {"ok": True}

    def _campaign(self, request: dict[str, Any]) -> Answer:
        self._node(request).campaign()
        return {"ok": True}

    def _propose(self, request: dict[str, Any]) -> Answer:
        self._node(request).propose(b"", unb64(request.get("data", "")))
        return {"ok": True}

    def _propose_conf_change(self, request: dict[str, Any]) -> Answer:
        node = self._node(request)
        change_type = _CONF_CHANGE_TYPES.get(str(request.get("change_type")))
        if change_type is None:
            raise ProtocolError("change_type must be AddNode, RemoveNode or AddLearnerNode")
        cc = ConfChange(change_type=change_type, node_id=_int(request, "node_id"))
        node.propose_conf_change(b"", cc)
        return {"ok": True}

    def _propose_membership_change(self, request: dict[str, Any]) -> Answer:
        node = self._node(request)
        target = sorted_conf_state(_ids(request, "voters"), _ids(request, "learners"))
        node.raft.propose_membership_change(target)
        return {"ok": True}

    def _step(self, request: dict[str, Any]) -> Answer:
        self._node(request).step(decode_message_b64(request.get("message")))
        return {"ok": True}

    def _ready(self, request: dict[str, Any]) -> Answer:
        node = self._node(request)
        if not node.has_ready():
            return {"ok": True, "ready": None, "apply_errors": []}
        rd = node.ready()
        answer = ready_to_json(rd)
        # As the raft crate's adapter does: raft-rs's own MemStorage and RawNode::advance.
        refused = process_ready(node, rd, forget_finished_change=False, advance_every_ready=True)
        apply_errors = [{"index": index, "error": error_kind(error)} for index, error in refused]
        return {"ok": True, "ready": answer, "apply_errors": apply_errors}

    def _compact(self, request: dict[str, Any]) -> Answer:
        node = self._node(request)
        node.raft.raft_log.store.wl().compact(_int(request, "index"))
        return {"ok": True}

    def _report_unreachable(self, request: dict[str, Any]) -> Answer:
        self._node(request).report_unreachable(_int(request, "peer"))
        return {"ok": True}

    def _report_snapshot(self, request: dict[str, Any]) -> Answer:
        status = request.get("status")
        if status not in ("Finish", "Failure"):
            raise ProtocolError("status must be 'Finish' or 'Failure'")
        self._node(request).report_snapshot(_int(request, "peer"), SnapshotStatus[status])
        return {"ok": True}

    def _transfer_leader(self, request: dict[str, Any]) -> Answer:
        self._node(request).transfer_leader(_int(request, "transferee"))
        return {"ok": True}

    def _read_index(self, request: dict[str, Any]) -> Answer:
        self._node(request).read_index(unb64(request.get("context", "")))
        return {"ok": True}

    def _snapshot_message(self, request: dict[str, Any]) -> Answer:
        raft = self._node(request).raft
        snapshot = raft.raft_log.store.snapshot(0)
        msg = Message(
            msg_type=MessageType.MsgSnapshot,
            to=_int(request, "to"),
            from_=raft.id,
            term=raft.term,
            snapshot=snapshot,
        )
        return {"ok": True, "message": b64(encode_message(msg))}

    def _set_election_timeout(self, request: dict[str, Any]) -> Answer:
        raft = self._node(request).raft
        timeout = _int(request, "timeout")
        if raft.id not in self.pinned:
            raise ConfigInvalid("the node was created without an election_timeout")
        if timeout < raft.election_timeout:
            raise ConfigInvalid(
                f"election timeout {timeout} is below election_tick {raft.election_timeout}"
            )
        # A one-value range, as at creation: every later re-randomisation draws it.
        raft.min_election_timeout = timeout
        raft.max_election_timeout = timeout + 1
        raft.set_randomized_election_timeout(timeout)
        return {"ok": True}

    def _state(self, request: dict[str, Any]) -> Answer:
        raft = self._node(request).raft
        log = raft.raft_log
        first, last = log.first_index(), log.last_index()
        prs = raft.prs()
        following = prs.next_configuration
        return {
            "ok": True,
            "state": {
                "role": raft.state.name,
                "term": raft.term,
                "vote": raft.vote,
                "leader_id": raft.leader_id,
                "commit": log.committed,
                "applied": log.applied,
                "first_index": first,
                "last_index": last,
                "log_terms": [log.term(i) for i in range(first, last + 1)],
                "voters": sorted(prs.configuration.voters),
                "learners": sorted(prs.configuration.learners),
                "next_voters": None if following is None else sorted(following.voters),
                "progress": _progress(raft) if raft.state is StateRole.Leader else None,
            },
        }


def _progress_json(pr: Progress) -> Answer:
    return {
        "state": pr.state.name,
        "match": pr.matched,
        "next": pr.next_idx,
        "paused": pr.is_paused(),
        "inflight": pr.ins.count,
        "pending_snapshot": pr.pending_snapshot,
    }


def _progress(raft: Raft[MemStorage]) -> Answer:
    """The leader's view of each peer, keyed by id (a JSON object's keys are strings)."""
    return {str(peer): _progress_json(pr) for peer, pr in sorted(raft.prs().iter())}
