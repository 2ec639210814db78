"""Port of the unit test inside raft-rs's src/raw_node.rs."""

from __future__ import annotations

import pytest

from raft_ref.eraftpb import MessageType
from raft_ref.raw_node import is_local_msg

_MT = MessageType


@pytest.mark.parametrize(
    ("msg_type", "local"),
    [
        (_MT.MsgHup, True),
        (_MT.MsgBeat, True),
        (_MT.MsgUnreachable, True),
        (_MT.MsgSnapStatus, True),
        (_MT.MsgCheckQuorum, True),
        (_MT.MsgPropose, False),
        (_MT.MsgAppend, False),
        (_MT.MsgAppendResponse, False),
        (_MT.MsgRequestVote, False),
        (_MT.MsgRequestVoteResponse, False),
        (_MT.MsgSnapshot, False),
        (_MT.MsgHeartbeat, False),
        (_MT.MsgHeartbeatResponse, False),
        (_MT.MsgTransferLeader, False),
        (_MT.MsgTimeoutNow, False),
        (_MT.MsgReadIndex, False),
        (_MT.MsgReadIndexResp, False),
        (_MT.MsgRequestPreVote, False),
        (_MT.MsgRequestPreVoteResponse, False),
    ],
)
def test_is_local_msg(msg_type: MessageType, local: bool) -> None:
    assert is_local_msg(msg_type) is local


def test_every_message_type_is_classified() -> None:
    # The table above covers the whole enum, so a new type cannot slip through.
    assert len(MessageType) == 19
