"""The error families of raft-rs 0.6.0-alpha as exception classes.

raft-rs returns `Result<T, Error>`; the port raises. `StorageError` is a subclass of
`Error`, standing for raft-rs's `Error::Store(StorageError)` wrapping, so code that
catches `Error` also sees storage failures. Where raft-rs panics (a broken internal
rule, or a caller breaking an unchecked precondition) the port raises `RaftPanic`,
which is deliberately not an `Error`: nothing should catch it and carry on.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "CodecError",
    "Compacted",
    "ConfigInvalid",
    "Error",
    "Exists",
    "InvalidState",
    "IoError",
    "NoPendingMembershipChange",
    "NotExists",
    "ProposalDropped",
    "RaftPanic",
    "RequestSnapshotDropped",
    "SnapshotOutOfDate",
    "SnapshotTemporarilyUnavailable",
    "StepLocalMsg",
    "StepPeerNotFound",
    "StorageError",
    "StorageOther",
    "Unavailable",
    "ViolatesContract",
]


class Error(Exception):
    """The base of every error raft-rs reports to its caller."""

    def __eq__(self, other: object) -> bool:
        # Mirrors raft-rs's PartialEq: same variant and same payload are equal.
        return type(self) is type(other) and self.args == other.args

    def __hash__(self) -> int:
        return hash((type(self), self.args))


class IoError(Error):
    """An I/O failure; equal to another when their `kind` matches (not the message)."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(kind, message)
        self.kind = kind

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IoError) and self.kind == other.kind

    def __hash__(self) -> int:
        return hash((IoError, self.kind))


class StepLocalMsg(Error):
    def __init__(self) -> None:
        super().__init__("raft: cannot step raft local message")


class StepPeerNotFound(Error):
    def __init__(self) -> None:
        super().__init__("raft: cannot step as peer not found")


class ProposalDropped(Error):
    def __init__(self) -> None:
        super().__init__("raft: proposal dropped")


class ConfigInvalid(Error, ValueError):
    """A configuration raft-rs rejects; the description names the field."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class CodecError(Error):
    def __init__(self, description: str) -> None:
        super().__init__(f"protobuf codec error {description}")


class _NeverEqual(Error):
    # raft-rs's PartialEq has no arm for these variants: they differ even from themselves.
    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return id(self)


class Exists(_NeverEqual):
    def __init__(self, id: int, set_name: str) -> None:
        super().__init__(f"The node {id} already exists in the {set_name} set.")
        self.id = id
        self.set_name = set_name


class NotExists(_NeverEqual):
    def __init__(self, id: int, set_name: str) -> None:
        super().__init__(f"The node {id} is not in the {set_name} set.")
        self.id = id
        self.set_name = set_name


class InvalidState(_NeverEqual):
    def __init__(self, role: Enum) -> None:
        super().__init__(f"Cannot complete that action while in {role.name} role.")
        self.role = role


class NoPendingMembershipChange(_NeverEqual):
    def __init__(self) -> None:
        super().__init__(
            "No pending membership change. Create a pending transition with "
            "`Raft::propose_membership_change` on the leader."
        )


class ViolatesContract(_NeverEqual, ValueError, TypeError):
    """An argument a caller must not pass (raft-rs's types or checks rule it out); the
    contract names the argument. Caught as ValueError or TypeError alike."""

    def __init__(self, contract: str) -> None:
        super().__init__(f"An argument violate a calling contract: {contract}")
        self.contract = contract


class RequestSnapshotDropped(Error):
    def __init__(self) -> None:
        super().__init__("raft: request snapshot dropped")


class StorageError(Error):
    """raft-rs's `Error::Store(StorageError)`: the storage could not answer."""


class Compacted(StorageError):
    def __init__(self) -> None:
        super().__init__("log compacted")


class Unavailable(StorageError):
    def __init__(self) -> None:
        super().__init__("log unavailable")


class SnapshotOutOfDate(StorageError):
    def __init__(self) -> None:
        super().__init__("snapshot out of date")


class SnapshotTemporarilyUnavailable(StorageError):
    def __init__(self) -> None:
        super().__init__("snapshot is temporarily unavailable")


class StorageOther(_NeverEqual, StorageError):
    """Any other storage failure; raft-rs compares it unequal to everything."""

    def __init__(self, cause: object) -> None:
        super().__init__(f"unknown error {cause!r}")
        self.cause = cause


class RaftPanic(Exception):
    """Where raft-rs panics: an internal rule is broken or a caller misused the API."""
