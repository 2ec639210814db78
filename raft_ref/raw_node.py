"""`RawNode`: the application's handle on a Raft node, and `Ready`, its unit of work.

The application drives a node in a loop: `tick()` and `step()` feed it time and
messages; `ready()` hands back what to persist (entries, hard state, snapshot), what
to send (messages) and what to apply (committed entries); `advance(ready)` says that
it was done.
"""

from __future__ import annotations

import contextlib
from enum import Enum
from typing import Generic, TypeVar

from raft_ref import contracts
from raft_ref.config import Config
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    encode_conf_change,
)
from raft_ref.errors import (
    ConfigInvalid,
    Error,
    RaftPanic,
    StepLocalMsg,
    StepPeerNotFound,
    ViolatesContract,
)
from raft_ref.raft import INVALID_ID, Raft, SoftState
from raft_ref.read_only import ReadState
from raft_ref.status import Status, StatusRef
from raft_ref.storage import Storage

S = TypeVar("S", bound=Storage)

__all__ = [
    "Peer",
    "RawNode",
    "Ready",
    "SnapshotStatus",
    "is_empty_snap",
    "is_local_msg",
    "is_response_msg",
]

_MT = MessageType


class Peer:
    """A peer of the cluster, with optional application context (connection info, ...)."""

    __slots__ = ("context", "id")

    def __init__(self, id: int = 0, context: bytes | None = None) -> None:
        self.id = id
        self.context = context


class SnapshotStatus(Enum):
    """How sending a snapshot ended, as reported by `RawNode.report_snapshot`."""

    Finish = 0
    Failure = 1


_LOCAL_MSGS = frozenset(
    {_MT.MsgHup, _MT.MsgBeat, _MT.MsgUnreachable, _MT.MsgSnapStatus, _MT.MsgCheckQuorum}
)
_RESPONSE_MSGS = frozenset(
    {
        _MT.MsgAppendResponse,
        _MT.MsgRequestVoteResponse,
        _MT.MsgHeartbeatResponse,
        _MT.MsgUnreachable,
        _MT.MsgRequestPreVoteResponse,
    }
)


def is_local_msg(t: MessageType) -> bool:
    """Whether `t` is a message a node only ever sends to itself."""
    return t in _LOCAL_MSGS


def is_response_msg(t: MessageType) -> bool:
    return t in _RESPONSE_MSGS


def is_empty_snap(s: Snapshot) -> bool:
    return s.metadata.index == 0


READY_ENTRIES_CONTIGUOUS = "a Ready's entries have contiguous indexes"


def _entries_contiguous(result: Ready) -> bool:
    # O(1): the first and last index span exactly the number of entries.
    ents = result.entries
    return not ents or ents[-1].index - ents[0].index == len(ents) - 1


class Ready:
    """What a node has ready: state to persist, messages to send, entries to apply.

    `entries`, `hs` and `snapshot` must be persisted before `messages` are sent;
    `committed_entries` are to be applied. `ss` and `hs` are None when unchanged.
    """

    __slots__ = (
        "committed_entries",
        "entries",
        "hs",
        "messages",
        "must_sync",
        "read_states",
        "snapshot",
        "ss",
    )

    def __init__(self) -> None:
        self.ss: SoftState | None = None
        self.hs: HardState | None = None
        self.read_states: list[ReadState] = []
        self.entries: list[Entry] = []
        self.snapshot: Snapshot = Snapshot()
        self.committed_entries: list[Entry] | None = None
        self.messages: list[Message] = []
        # Whether hs and entries must be written synchronously. Quirk (raft-rs #128):
        # only a term or vote change sets it, not new entries.
        self.must_sync = False

    @classmethod
    def new(
        cls, raft: Raft[S], prev_ss: SoftState, prev_hs: HardState, since_idx: int | None
    ) -> Ready:
        """Collects what `raft` has ready relative to the last state handed out."""
        rd = cls()
        log = raft.raft_log
        unstable = log.unstable_entries()
        if unstable:
            rd.entries = list(unstable)
        if raft.msgs:
            rd.messages = raft.msgs
            raft.msgs = []
        committed = log.next_entries() if since_idx is None else log.next_entries_since(since_idx)
        rd.committed_entries = committed if committed is not None else []
        ss = raft.soft_state()
        if ss != prev_ss:
            rd.ss = ss
        hs = raft.hard_state()
        if hs != prev_hs:
            if hs.vote != prev_hs.vote or hs.term != prev_hs.term:
                rd.must_sync = True
            rd.hs = hs
        snap = log.unstable.snapshot
        if snap is not None:
            rd.snapshot = snap
        if raft.read_states:
            rd.read_states = list(raft.read_states)
        return rd

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Ready)
            and self.ss == other.ss
            and self.hs == other.hs
            and self.read_states == other.read_states
            and self.entries == other.entries
            and self.snapshot == other.snapshot
            and self.committed_entries == other.committed_entries
            and self.messages == other.messages
            and self.must_sync == other.must_sync
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Ready(ss={self.ss!r}, hs={self.hs!r}, read_states={self.read_states!r}, "
            f"entries={self.entries!r}, snapshot={self.snapshot!r}, "
            f"committed_entries={self.committed_entries!r}, messages={self.messages!r}, "
            f"must_sync={self.must_sync})"
        )


_STORAGE_METHODS = ("initial_state", "entries", "term", "first_index", "last_index", "snapshot")


def _check_storage(store: object) -> None:
    missing = [name for name in _STORAGE_METHODS if not callable(getattr(store, name, None))]
    if missing:
        raise ViolatesContract(
            f"store must implement raft_ref.Storage ({', '.join(missing)} missing), got {store!r}"
        )


class RawNode(Generic[S]):
    """A Raft node driven by the application through `Ready` (not thread-safe)."""

    __slots__ = ("prev_hs", "prev_ss", "raft")

    raft: Raft[S]
    prev_ss: SoftState
    prev_hs: HardState

    def __init__(self, config: Config, store: S) -> None:
        if not isinstance(config, Config):
            raise ConfigInvalid(f"config must be a raft_ref.Config, got {config!r}")
        _check_storage(store)
        if config.id == 0:
            raise RaftPanic("config.id must not be zero")
        self.raft = Raft(config, store)
        self.prev_hs = self.raft.hard_state()
        self.prev_ss = self.raft.soft_state()

    @classmethod
    def new(cls, config: Config, store: S) -> RawNode[S]:
        """raft-rs's `RawNode::new`: the same as calling the class."""
        return cls(config, store)

    def clone(self) -> RawNode[S]:
        """An independent copy of the node, its storage included."""
        rn: RawNode[S] = RawNode.__new__(RawNode)
        rn.raft = self.raft.clone()
        # Hard and soft states handed out are replaced, never mutated.
        rn.prev_hs = self.prev_hs
        rn.prev_ss = self.prev_ss
        return rn

    def _commit_ready(self, rd: Ready) -> None:
        if rd.ss is not None:
            self.prev_ss = rd.ss
        hs = rd.hs
        if hs is not None and hs != HardState():
            # A private copy: the application may hand rd.hs to a storage that
            # updates it in place (MemStorage does on snapshots and commits).
            self.prev_hs = HardState(hs.term, hs.vote, hs.commit)
        log = self.raft.raft_log
        if rd.entries:
            last = rd.entries[-1]
            log.stable_to(last.index, last.term)
        if rd.snapshot != Snapshot():
            log.stable_snap_to(rd.snapshot.metadata.index)
        if rd.read_states:
            self.raft.read_states = []

    def tick(self) -> bool:
        """Advances logical time by one tick; true when there is probably work to do."""
        return self.raft.tick()

    def campaign(self) -> None:
        """Starts an election (or pre-election) now."""
        self.raft.step(Message(msg_type=_MT.MsgHup))

    def propose(self, context: bytes, data: bytes) -> None:
        """Proposes `data` for the log; raises ProposalDropped when it cannot be taken."""
        entry = Entry(data=data, context=context)
        self.raft.step(Message(msg_type=_MT.MsgPropose, from_=self.raft.id, entries=[entry]))

    def ping(self) -> None:
        """Broadcasts heartbeats, if leader."""
        self.raft.ping()

    def propose_conf_change(self, context: bytes, cc: ConfChange) -> None:
        """Proposes a configuration change entry."""
        if type(cc) is not ConfChange:
            raise ViolatesContract(f"propose_conf_change: cc must be a ConfChange, got {cc!r}")
        entry = Entry(
            entry_type=EntryType.EntryConfChange, data=encode_conf_change(cc), context=context
        )
        self.raft.step(Message(msg_type=_MT.MsgPropose, entries=[entry]))

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Applies a committed conf change and returns the resulting configuration.

        Quirk kept from raft-rs: a change with node id 0 that is not a Begin is not
        applied at all (so a Finalize must go to `raft.finalize_membership_change`);
        the current configuration is returned as if it had been.
        """
        prs = self.raft.prs()
        if cc.node_id == INVALID_ID and cc.change_type != ConfChangeType.BeginMembershipChange:
            return ConfState(sorted(prs.voter_ids()), sorted(prs.learner_ids()))
        nid = cc.node_id
        t = cc.change_type
        if t == ConfChangeType.AddNode:
            self.raft.add_node(nid)
        elif t == ConfChangeType.AddLearnerNode:
            self.raft.add_learner(nid)
        elif t == ConfChangeType.RemoveNode:
            self.raft.remove_node(nid)
        elif t == ConfChangeType.BeginMembershipChange:
            self.raft.begin_membership_change(cc)
        else:
            self.raft.mut_prs().finalize_membership_change()
        conf = self.raft.prs().configuration
        return ConfState(sorted(conf.voters), sorted(conf.learners))

    def step(self, m: Message) -> None:
        """Feeds a message from the network to the node."""
        # Two type checks: what raft-rs's types guarantee, cheap enough for every step.
        if type(m) is not Message:
            raise ViolatesContract(f"step: m must be an eraftpb Message, got {m!r}")
        if type(m.msg_type) is not MessageType:
            raise ViolatesContract(f"step: m.msg_type {m.msg_type!r} is not a MessageType")
        # Local messages never come over the network.
        if is_local_msg(m.msg_type):
            raise StepLocalMsg()
        # Responses from nodes we have no progress for are dropped.
        if self.raft.prs().get(m.from_) is not None or not is_response_msg(m.msg_type):
            self.raft.step(m)
            return
        raise StepPeerNotFound()

    @contracts.ensure(_entries_contiguous, READY_ENTRIES_CONTIGUOUS)
    def ready_since(self, applied_idx: int) -> Ready:
        """A Ready whose committed entries start after `applied_idx`."""
        return Ready.new(self.raft, self.prev_ss, self.prev_hs, applied_idx)

    @contracts.ensure(_entries_contiguous, READY_ENTRIES_CONTIGUOUS)
    def ready(self) -> Ready:
        """What the node has ready now; hand it back with `advance` once done."""
        return Ready.new(self.raft, self.prev_ss, self.prev_hs, None)

    def has_ready_since(self, applied_idx: int | None) -> bool:
        """Whether `ready_since(applied_idx)` would have anything to do."""
        raft = self.raft
        log = raft.raft_log
        if raft.msgs or log.unstable_entries() is not None:
            return True
        if raft.read_states:
            return True
        snap = self.get_snap()
        if snap is not None and not is_empty_snap(snap):
            return True
        if applied_idx is None:
            has_unapplied = log.has_next_entries()
        else:
            has_unapplied = log.has_next_entries_since(applied_idx)
        if has_unapplied:
            return True
        if raft.soft_state() != self.prev_ss:
            return True
        hs = raft.hard_state()
        return hs != HardState() and hs != self.prev_hs

    def has_ready(self) -> bool:
        """Whether `ready()` would have anything to do."""
        return self.has_ready_since(None)

    def get_snap(self) -> Snapshot | None:
        return self.raft.get_snap()

    def advance(self, rd: Ready) -> None:
        """Tells the node that `rd` was persisted, sent and applied."""
        self.advance_append(rd)
        commit_idx = self.prev_hs.commit
        if commit_idx != 0:
            # Everything committed counts as applied, including entries committed
            # before a restart that this Ready did not carry.
            self.advance_apply(commit_idx)

    def advance_append(self, rd: Ready) -> None:
        """Tells the node that `rd`'s entries, hard state and snapshot were persisted."""
        self._commit_ready(rd)

    def advance_apply(self, applied: int) -> None:
        """Tells the node that entries up to `applied` were applied."""
        self.raft.commit_apply(applied)

    def status(self) -> Status:
        return Status.new(self.raft)

    def status_ref(self) -> StatusRef:
        return StatusRef.new(self.raft)

    def report_unreachable(self, id: int) -> None:
        """Tells the leader that the last message to `id` could not be delivered."""
        self._step_ignoring_errors(Message(msg_type=_MT.MsgUnreachable, from_=id))

    def report_snapshot(self, id: int, status: SnapshotStatus) -> None:
        """Tells the leader how sending a snapshot to `id` ended."""
        rej = status is SnapshotStatus.Failure
        self._step_ignoring_errors(Message(msg_type=_MT.MsgSnapStatus, from_=id, reject=rej))

    def request_snapshot(self, request_index: int) -> None:
        """Asks the leader for a snapshot at or after `request_index`."""
        self.raft.request_snapshot(request_index)

    def transfer_leader(self, transferee: int) -> None:
        """Asks the leader to hand leadership to `transferee`."""
        self._step_ignoring_errors(Message(msg_type=_MT.MsgTransferLeader, from_=transferee))

    def read_index(self, rctx: bytes) -> None:
        """Requests a read index; the answer comes in a later Ready's read_states."""
        m = Message(msg_type=_MT.MsgReadIndex, entries=[Entry(data=rctx)])
        self._step_ignoring_errors(m)

    def _step_ignoring_errors(self, m: Message) -> None:
        with contextlib.suppress(Error):
            self.raft.step(m)

    def get_store(self) -> S:
        return self.raft.get_store()

    def mut_store(self) -> S:
        return self.raft.mut_store()

    def skip_bcast_commit(self, skip: bool) -> None:
        """Whether to skip appends whose only news is a higher commit index."""
        self.raft.skip_bcast_commit = skip

    def set_batch_append(self, batch_append: bool) -> None:
        self.raft.set_batch_append(batch_append)
