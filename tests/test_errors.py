"""Ports of the unit tests in raft-rs src/errors.rs."""

from raft_ref.errors import (
    Compacted,
    ConfigInvalid,
    IoError,
    SnapshotOutOfDate,
    SnapshotTemporarilyUnavailable,
    StepLocalMsg,
    StepPeerNotFound,
    StorageOther,
    Unavailable,
)


def test_error_equal() -> None:
    assert StepPeerNotFound() == StepPeerNotFound()
    assert Compacted() == Compacted()
    # I/O errors compare by kind only, not by message.
    assert IoError("UnexpectedEof", "oh no!") == IoError("UnexpectedEof", "oh yes!")
    assert IoError("NotFound", "error") != IoError("BrokenPipe", "error")
    assert StepLocalMsg() == StepLocalMsg()
    assert ConfigInvalid("config error") == ConfigInvalid("config error")
    assert ConfigInvalid("config error") != ConfigInvalid("other error")
    assert IoError("Other", "oh no!") == IoError("Other", "oh yes!")
    assert StepPeerNotFound() != Compacted()


def test_storage_error_equal() -> None:
    assert Compacted() == Compacted()
    assert Unavailable() == Unavailable()
    assert SnapshotOutOfDate() == SnapshotOutOfDate()
    assert SnapshotTemporarilyUnavailable() == SnapshotTemporarilyUnavailable()
    assert Compacted() != Unavailable()
    assert StorageOther(Unavailable()) != Unavailable()
