"""The plain wire types against the protobuf schema: round trips, sizes, bad input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raft_ref import eraftpb_pb2 as pb
from raft_ref.eraftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    DecodeError,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
    conf_state_from_pb,
    conf_state_to_pb,
    decode_conf_change,
    decode_entry,
    decode_message,
    encode_conf_change,
    encode_entry,
    encode_message,
    entry_to_pb,
    hard_state_from_pb,
    hard_state_to_pb,
)

u64 = st.integers(min_value=0, max_value=2**64 - 1)
small_bytes = st.binary(max_size=40)
ids = st.lists(u64, max_size=5)

entries = st.builds(
    Entry,
    entry_type=st.sampled_from(EntryType),
    term=u64,
    index=u64,
    data=small_bytes,
    context=small_bytes,
    sync_log=st.booleans(),
)
conf_states = st.builds(ConfState, nodes=ids, learners=ids)
snapshots = st.builds(
    Snapshot,
    data=small_bytes,
    metadata=st.builds(
        SnapshotMetadata,
        conf_state=conf_states,
        pending_membership_change=st.none() | conf_states,
        pending_membership_change_index=u64,
        index=u64,
        term=u64,
    ),
)
messages = st.builds(
    Message,
    msg_type=st.sampled_from(MessageType),
    to=u64,
    from_=u64,
    term=u64,
    log_term=u64,
    index=u64,
    entries=st.lists(entries, max_size=4),
    commit=u64,
    snapshot=st.none() | snapshots,
    request_snapshot=u64,
    reject=st.booleans(),
    reject_hint=u64,
    context=small_bytes,
)
hard_states = st.builds(HardState, term=u64, vote=u64, commit=u64)
conf_changes = st.builds(
    ConfChange,
    id=u64,
    change_type=st.sampled_from(ConfChangeType),
    node_id=u64,
    context=small_bytes,
    configuration=st.none() | conf_states,
    start_index=u64,
)


@given(entries)
def test_entry_round_trip(entry: Entry) -> None:
    assert decode_entry(encode_entry(entry)) == entry


@given(entries)
def test_entry_compute_size_is_protobuf_byte_size(entry: Entry) -> None:
    assert entry.compute_size() == entry_to_pb(entry).ByteSize()
    assert entry.compute_size() == len(encode_entry(entry))


@given(messages)
def test_message_round_trip(msg: Message) -> None:
    assert decode_message(encode_message(msg)) == msg


@given(snapshots)
def test_message_snapshot_presence_survives(snap: Snapshot) -> None:
    # A message with a snapshot keeps it, with or without a pending membership change.
    msg = Message(msg_type=MessageType.MsgSnapshot, snapshot=snap)
    decoded = decode_message(encode_message(msg))
    assert decoded.snapshot == snap
    assert decoded.get_snapshot().metadata.has_pending_membership_change() == (
        snap.metadata.pending_membership_change is not None
    )


@given(hard_states)
def test_hard_state_round_trip(hs: HardState) -> None:
    data = hard_state_to_pb(hs).SerializeToString()
    assert hard_state_from_pb(pb.HardState.FromString(data)) == hs


@given(conf_states)
def test_conf_state_round_trip(cs: ConfState) -> None:
    data = conf_state_to_pb(cs).SerializeToString()
    assert conf_state_from_pb(pb.ConfState.FromString(data)) == cs


@given(conf_changes)
def test_conf_change_round_trip(cc: ConfChange) -> None:
    assert decode_conf_change(encode_conf_change(cc)) == cc


def test_message_without_snapshot_decodes_none() -> None:
    decoded = decode_message(encode_message(Message(msg_type=MessageType.MsgAppend)))
    assert decoded.snapshot is None
    assert decoded.get_snapshot() == Snapshot()


# A truncated varint, a length beyond the end, and a field of wire type 7 (invalid).
MALFORMED = [b"\x08", b"\x22\x05ab", b"\x0f\x01", b"\xff\xff\xff"]


@pytest.mark.parametrize("data", MALFORMED)
@pytest.mark.parametrize("decode", [decode_entry, decode_message, decode_conf_change])
def test_malformed_bytes_raise_decode_error(data: bytes, decode: object) -> None:
    assert callable(decode)
    with pytest.raises(DecodeError):
        decode(data)


def test_enum_value_outside_schema_raises_decode_error() -> None:
    # Field 1 (the type) set to 7, beyond every enum of the schema's entry types.
    with pytest.raises(DecodeError):
        decode_entry(b"\x08\x07")
    with pytest.raises(DecodeError):
        decode_message(b"\x08\x63")  # message type 99
    with pytest.raises(DecodeError):
        decode_conf_change(b"\x10\x09")  # change type 9
