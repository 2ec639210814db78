"""The conformance driver protocol: its version, value encodings and canonical forms.

An adapter hosts the nodes of one cluster and answers JSON-lines commands (see
PROTOCOL.md next to this module). This module holds what both ends share: the
protocol version, the base64/protobuf encodings of wire values, the error
vocabulary, and the canonical form in which two adapters' answers are compared.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from raft_ref import eraftpb
from raft_ref import eraftpb_pb2 as pb

__all__ = [
    "ERROR_KINDS",
    "PROTOCOL_VERSION",
    "ProtocolError",
    "b64",
    "canonical_ready",
    "decode_entry_b64",
    "decode_message_b64",
    "decode_snapshot_b64",
    "encode_snapshot",
    "message_route",
    "message_type",
    "unb64",
]

# Bumped whenever a command, a field or a meaning changes incompatibly.
PROTOCOL_VERSION = 1

# Every `error` value an adapter may answer with (see PROTOCOL.md, "Errors").
ERROR_KINDS = frozenset(
    {
        "ProposalDropped",
        "StepLocalMsg",
        "StepPeerNotFound",
        "Exists",
        "NotExists",
        "InvalidState",
        "NoPendingMembershipChange",
        "ConfigInvalid",
        "ViolatesContract",
        "RequestSnapshotDropped",
        "Compacted",
        "Unavailable",
        "SnapshotOutOfDate",
        "SnapshotTemporarilyUnavailable",
        "Other",
        "Panic",
        "NodeDead",
        "BadRequest",
        "Unsupported",
    }
)


class ProtocolError(ValueError):
    """A request or answer that does not follow the protocol."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ProtocolError(f"expected a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ProtocolError(f"bad base64: {exc}") from None


def encode_snapshot(snap: eraftpb.Snapshot) -> bytes:
    return eraftpb.snapshot_to_pb(snap).SerializeToString()


def decode_snapshot(data: bytes) -> eraftpb.Snapshot:
    p = pb.Snapshot()
    try:
        p.ParseFromString(data)
    except Exception as exc:  # protobuf raises its own DecodeError
        raise ProtocolError(f"malformed eraftpb.Snapshot: {exc}") from None
    return eraftpb.snapshot_from_pb(p)


def decode_message_b64(text: object) -> eraftpb.Message:
    try:
        return eraftpb.decode_message(unb64(text))
    except eraftpb.DecodeError as exc:
        raise ProtocolError(str(exc)) from None


def decode_entry_b64(text: object) -> eraftpb.Entry:
    try:
        return eraftpb.decode_entry(unb64(text))
    except eraftpb.DecodeError as exc:
        raise ProtocolError(str(exc)) from None


def decode_snapshot_b64(text: object) -> eraftpb.Snapshot:
    return decode_snapshot(unb64(text))


def _parse_message(encoded: object) -> pb.Message:
    p = pb.Message()
    try:
        p.ParseFromString(unb64(encoded))
    except Exception as exc:  # protobuf raises its own DecodeError
        raise ProtocolError(f"malformed eraftpb.Message: {exc}") from None
    return p


def message_route(encoded: object) -> tuple[int, int]:
    """(from, to) of an encoded message, read without checking its enum values.

    Routing must work for any implementation's messages: etcd's entries may carry
    types raft-rs does not have (EntryConfChangeV2).
    """
    p = _parse_message(encoded)
    return getattr(p, "from"), p.to


def message_type(encoded: object) -> int:
    """The wire number of an encoded message's type (equal in raft-rs and etcd)."""
    return int(_parse_message(encoded).msg_type)


def _message_destination(encoded: object) -> int:
    return message_route(encoded)[1]


def canonical_ready(ready: dict[str, Any]) -> dict[str, Any]:
    """The Ready with its messages in canonical order, for comparison and delivery.

    raft-rs visits peers in hash order, raft_ref in ascending id order; the order in
    which one Ready addresses different peers carries no meaning, the order of the
    messages to one peer does. So messages are stably sorted by destination: the
    relative order of the messages to each peer is kept as the adapter gave it.
    """
    out = dict(ready)
    messages = ready.get("messages", [])
    if not isinstance(messages, list):
        raise ProtocolError("ready.messages must be a list")
    out["messages"] = sorted(messages, key=_message_destination)
    return out


def _sorted_conf_state(cs: eraftpb.ConfState) -> eraftpb.ConfState:
    return eraftpb.ConfState(sorted(cs.nodes), sorted(cs.learners))


def _entry_with_sorted_ids(entry: eraftpb.Entry) -> eraftpb.Entry:
    if entry.entry_type != eraftpb.EntryType.EntryConfChange or not entry.data:
        return entry
    try:
        cc = eraftpb.decode_conf_change(entry.data)
    except eraftpb.DecodeError:
        return entry
    if cc.configuration is None:
        return entry
    cc.configuration = _sorted_conf_state(cc.configuration)
    data = eraftpb.encode_conf_change(cc)
    return eraftpb.Entry(
        entry.entry_type, entry.term, entry.index, data, entry.context, entry.sync_log
    )


def _entry_b64_with_sorted_ids(text: object) -> str:
    return b64(eraftpb.encode_entry(_entry_with_sorted_ids(decode_entry_b64(text))))


def _message_b64_with_sorted_ids(text: object) -> str:
    msg = decode_message_b64(text)
    msg.entries = [_entry_with_sorted_ids(e) for e in msg.entries]
    if msg.snapshot is not None:
        meta = msg.snapshot.metadata
        meta.conf_state = _sorted_conf_state(meta.conf_state)
        if meta.pending_membership_change is not None:
            meta.pending_membership_change = _sorted_conf_state(meta.pending_membership_change)
    return b64(eraftpb.encode_message(msg))


def ready_with_sorted_ids(ready: dict[str, Any]) -> dict[str, Any]:
    """The Ready with the node ids of every configuration it carries in ascending order.

    raft-rs builds the ConfState of a membership change from a hash set, so the ids
    in a Begin entry come in hash order; raft_ref writes them ascending. The encoded
    sizes are equal, so only the bytes differ: compare with the ids sorted.
    """
    out = dict(ready)
    for key in ("entries", "committed_entries"):
        out[key] = [_entry_b64_with_sorted_ids(e) for e in ready.get(key, [])]
    out["messages"] = [_message_b64_with_sorted_ids(m) for m in ready.get("messages", [])]
    snap = ready.get("snapshot")
    if snap is not None:
        s = decode_snapshot_b64(snap)
        s.metadata.conf_state = _sorted_conf_state(s.metadata.conf_state)
        out["snapshot"] = b64(encode_snapshot(s))
    return out
