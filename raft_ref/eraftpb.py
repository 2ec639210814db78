"""The Raft wire types of raft-rs 0.6.0-alpha, as plain Python values.

The core works on these slotted dataclasses rather than on protobuf objects: they
are several times cheaper to build and copy, which matters when the explorer copies
clusters millions of times. `raft_ref/eraftpb.proto` is the wire schema; the
functions at the end of this module convert to and from its generated classes
exactly, and `Entry.compute_size` equals protobuf's `ByteSize()` so that
`limit_size` cuts batches where raft-rs does.

Values that have entered a log or been sent are never mutated afterwards, so logs
and messages in flight can be shared between copies of a cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypeVar

from google.protobuf.message import DecodeError as _PbDecodeError

from raft_ref import eraftpb_pb2 as pb
from raft_ref.errors import ViolatesContract

__all__ = [
    "ConfChange",
    "ConfChangeType",
    "ConfState",
    "DecodeError",
    "Entry",
    "EntryType",
    "HardState",
    "Message",
    "MessageType",
    "Snapshot",
    "SnapshotMetadata",
    "decode_conf_change",
    "decode_entry",
    "decode_message",
    "encode_conf_change",
    "encode_entry",
    "encode_message",
    "varint_size",
]


class EntryType(IntEnum):
    EntryNormal = 0
    EntryConfChange = 1


class MessageType(IntEnum):
    MsgHup = 0
    MsgBeat = 1
    MsgPropose = 2
    MsgAppend = 3
    MsgAppendResponse = 4
    MsgRequestVote = 5
    MsgRequestVoteResponse = 6
    MsgSnapshot = 7
    MsgHeartbeat = 8
    MsgHeartbeatResponse = 9
    MsgUnreachable = 10
    MsgSnapStatus = 11
    MsgCheckQuorum = 12
    MsgTransferLeader = 13
    MsgTimeoutNow = 14
    MsgReadIndex = 15
    MsgReadIndexResp = 16
    MsgRequestPreVote = 17
    MsgRequestPreVoteResponse = 18


class ConfChangeType(IntEnum):
    AddNode = 0
    RemoveNode = 1
    AddLearnerNode = 2
    BeginMembershipChange = 3
    FinalizeMembershipChange = 4


def varint_size(value: int) -> int:
    """Bytes protobuf uses to encode `value` (an unsigned 64-bit integer) as a varint."""
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def _uint_field_size(value: int) -> int:
    # Tag (one byte for field numbers below 16) plus the varint; proto3 omits zeros.
    return 0 if value == 0 else 1 + varint_size(value)


def _bytes_field_size(value: bytes) -> int:
    return 0 if not value else 1 + varint_size(len(value)) + len(value)


@dataclass(slots=True)
class Entry:
    entry_type: EntryType = EntryType.EntryNormal
    term: int = 0
    index: int = 0
    data: bytes = b""
    context: bytes = b""
    sync_log: bool = False

    def __post_init__(self) -> None:
        # protobuf's bytes fields take nothing else; found here, not deep in a size
        # computation later.
        if type(self.data) is not bytes or type(self.context) is not bytes:
            raise ViolatesContract(
                f"Entry data and context must be bytes, got {self.data!r} and {self.context!r}"
            )

    def compute_size(self) -> int:
        """The protobuf-encoded size of this entry, equal to `ByteSize()`."""
        return (
            _uint_field_size(int(self.entry_type))
            + _uint_field_size(self.term)
            + _uint_field_size(self.index)
            + _bytes_field_size(self.data)
            + _bytes_field_size(self.context)
            + (2 if self.sync_log else 0)
        )

    def key(self) -> tuple[int, int, int, bytes, bytes, bool]:
        """A canonical hashable value equal for equal entries."""
        return (
            int(self.entry_type),
            self.term,
            self.index,
            self.data,
            self.context,
            self.sync_log,
        )


@dataclass(slots=True)
class ConfState:
    nodes: list[int] = field(default_factory=list)
    learners: list[int] = field(default_factory=list)

    def key(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (tuple(self.nodes), tuple(self.learners))


@dataclass(slots=True)
class SnapshotMetadata:
    conf_state: ConfState = field(default_factory=ConfState)
    # Set when a joint-consensus change was in progress at the snapshot's index.
    pending_membership_change: ConfState | None = None
    pending_membership_change_index: int = 0
    index: int = 0
    term: int = 0

    def has_pending_membership_change(self) -> bool:
        return self.pending_membership_change is not None


@dataclass(slots=True)
class Snapshot:
    data: bytes = b""
    metadata: SnapshotMetadata = field(default_factory=SnapshotMetadata)

    def is_empty(self) -> bool:
        """raft-rs treats a snapshot at index 0 as no snapshot at all."""
        return self.metadata.index == 0


@dataclass(slots=True)
class Message:
    msg_type: MessageType = MessageType.MsgHup
    to: int = 0
    from_: int = 0
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: list[Entry] = field(default_factory=list)
    commit: int = 0
    # None stands for an absent snapshot field; raft-rs reads it as the default.
    snapshot: Snapshot | None = None
    request_snapshot: int = 0
    reject: bool = False
    reject_hint: int = 0
    context: bytes = b""

    def get_snapshot(self) -> Snapshot:
        return self.snapshot if self.snapshot is not None else Snapshot()


@dataclass(slots=True)
class HardState:
    term: int = 0
    vote: int = 0
    commit: int = 0


@dataclass(slots=True)
class ConfChange:
    id: int = 0
    change_type: ConfChangeType = ConfChangeType.AddNode
    node_id: int = 0
    context: bytes = b""
    configuration: ConfState | None = None
    start_index: int = 0


class DecodeError(ValueError):
    """Bytes that are not a valid encoding of the expected eraftpb message."""


# --- Conversion to and from the generated protobuf classes -------------------


def entry_to_pb(entry: Entry) -> pb.Entry:
    return pb.Entry(
        entry_type=int(entry.entry_type),  # type: ignore[arg-type]
        term=entry.term,
        index=entry.index,
        data=entry.data,
        context=entry.context,
        sync_log=entry.sync_log,
    )


def entry_from_pb(p: pb.Entry) -> Entry:
    return Entry(EntryType(p.entry_type), p.term, p.index, p.data, p.context, p.sync_log)


def conf_state_to_pb(cs: ConfState) -> pb.ConfState:
    return pb.ConfState(nodes=cs.nodes, learners=cs.learners)


def conf_state_from_pb(p: pb.ConfState) -> ConfState:
    return ConfState(list(p.nodes), list(p.learners))


def snapshot_to_pb(snap: Snapshot) -> pb.Snapshot:
    meta = snap.metadata
    p = pb.Snapshot(data=snap.data)
    p.metadata.SetInParent()
    p.metadata.conf_state.CopyFrom(conf_state_to_pb(meta.conf_state))
    if meta.pending_membership_change is not None:
        p.metadata.pending_membership_change.CopyFrom(
            conf_state_to_pb(meta.pending_membership_change)
        )
    p.metadata.pending_membership_change_index = meta.pending_membership_change_index
    p.metadata.index = meta.index
    p.metadata.term = meta.term
    return p


def snapshot_from_pb(p: pb.Snapshot) -> Snapshot:
    m = p.metadata
    pending = (
        conf_state_from_pb(m.pending_membership_change)
        if m.HasField("pending_membership_change")
        else None
    )
    meta = SnapshotMetadata(
        conf_state_from_pb(m.conf_state),
        pending,
        m.pending_membership_change_index,
        m.index,
        m.term,
    )
    return Snapshot(p.data, meta)


def message_to_pb(msg: Message) -> pb.Message:
    p = pb.Message(
        msg_type=int(msg.msg_type),  # type: ignore[arg-type]
        to=msg.to,
        term=msg.term,
        log_term=msg.log_term,
        index=msg.index,
        entries=[entry_to_pb(e) for e in msg.entries],
        commit=msg.commit,
        request_snapshot=msg.request_snapshot,
        reject=msg.reject,
        reject_hint=msg.reject_hint,
        context=msg.context,
    )
    # `from` is a Python keyword, so it cannot be passed to the constructor.
    setattr(p, "from", msg.from_)
    if msg.snapshot is not None:
        p.snapshot.CopyFrom(snapshot_to_pb(msg.snapshot))
    return p


def message_from_pb(p: pb.Message) -> Message:
    return Message(
        msg_type=MessageType(p.msg_type),
        to=p.to,
        from_=getattr(p, "from"),
        term=p.term,
        log_term=p.log_term,
        index=p.index,
        entries=[entry_from_pb(e) for e in p.entries],
        commit=p.commit,
        snapshot=snapshot_from_pb(p.snapshot) if p.HasField("snapshot") else None,
        request_snapshot=p.request_snapshot,
        reject=p.reject,
        reject_hint=p.reject_hint,
        context=p.context,
    )


def hard_state_to_pb(hs: HardState) -> pb.HardState:
    return pb.HardState(term=hs.term, vote=hs.vote, commit=hs.commit)


def hard_state_from_pb(p: pb.HardState) -> HardState:
    return HardState(p.term, p.vote, p.commit)


def conf_change_to_pb(cc: ConfChange) -> pb.ConfChange:
    p = pb.ConfChange(
        id=cc.id,
        change_type=int(cc.change_type),  # type: ignore[arg-type]
        node_id=cc.node_id,
        context=cc.context,
        start_index=cc.start_index,
    )
    if cc.configuration is not None:
        p.configuration.CopyFrom(conf_state_to_pb(cc.configuration))
    return p


def conf_change_from_pb(p: pb.ConfChange) -> ConfChange:
    return ConfChange(
        id=p.id,
        change_type=ConfChangeType(p.change_type),
        node_id=p.node_id,
        context=p.context,
        configuration=(
            conf_state_from_pb(p.configuration) if p.HasField("configuration") else None
        ),
        start_index=p.start_index,
    )


_Pb = TypeVar("_Pb", pb.Entry, pb.Message, pb.ConfChange)
_Value = TypeVar("_Value", Entry, Message, ConfChange)


def _decode(target: _Pb, convert: Callable[[_Pb], _Value], data: bytes) -> _Value:
    """Parses `data` into `target` and converts it; any malformation is a DecodeError."""
    name = target.DESCRIPTOR.name
    try:
        target.ParseFromString(data)
        return convert(target)
    # ValueError: an enum value outside the schema.
    except (_PbDecodeError, ValueError) as exc:
        raise DecodeError(f"malformed eraftpb.{name}: {exc}") from None


def encode_entry(entry: Entry) -> bytes:
    return entry_to_pb(entry).SerializeToString()


def decode_entry(data: bytes) -> Entry:
    return _decode(pb.Entry(), entry_from_pb, data)


def encode_message(msg: Message) -> bytes:
    return message_to_pb(msg).SerializeToString()


def decode_message(data: bytes) -> Message:
    return _decode(pb.Message(), message_from_pb, data)


def encode_conf_change(cc: ConfChange) -> bytes:
    """The bytes raft-rs stores in the data of a configuration-change entry."""
    return conf_change_to_pb(cc).SerializeToString()


def decode_conf_change(data: bytes) -> ConfChange:
    return _decode(pb.ConfChange(), conf_change_from_pb, data)
