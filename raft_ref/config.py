"""The parameters a Raft node starts with, and their validation."""

from __future__ import annotations

from dataclasses import dataclass

from raft_ref.errors import ConfigInvalid
from raft_ref.read_only import ReadOnlyOption

__all__ = ["Config"]

# Node id 0 means "no node" throughout raft-rs (raft.INVALID_ID).
_INVALID_ID = 0

_HEARTBEAT_TICK = 2

# raft-rs's fields are unsigned Rust integers (u64, usize) and bools: a Python value
# outside them is a configuration raft-rs could not even express.
_UNSIGNED_FIELDS = (
    "id",
    "election_tick",
    "heartbeat_tick",
    "applied",
    "max_size_per_msg",
    "max_inflight_msgs",
    "min_election_tick",
    "max_election_tick",
    "seed",
)
_FLAG_FIELDS = ("check_quorum", "pre_vote", "skip_bcast_commit", "batch_append")
_U64_LIMIT = 1 << 64


@dataclass(slots=True)
class Config:
    """Configuration of one Raft node; the defaults are raft-rs's `Config::default()`."""

    # This node's id: unique in the group, never 0.
    id: int = 0
    # Ticks without hearing from a leader before a follower starts an election; must
    # exceed `heartbeat_tick` (ten times it is a sensible choice).
    election_tick: int = _HEARTBEAT_TICK * 10
    # Ticks between the heartbeats a leader sends.
    heartbeat_tick: int = _HEARTBEAT_TICK
    # The last applied index, set only when restarting a node; entries up to it are not
    # handed to the application again.
    applied: int = 0
    # Byte limit of the entries in one append message (0: one entry per message;
    # `util.NO_LIMIT`: unlimited).
    max_size_per_msg: int = 0
    # Most append messages in flight to one follower while replicating optimistically.
    max_inflight_msgs: int = 256
    # The leader steps down when a quorum has not been heard from for an election timeout.
    check_quorum: bool = False
    # Run a pre-vote round before an election (Raft thesis 9.6), so that a node
    # rejoining after a partition does not disrupt the group.
    pre_vote: bool = False
    # The randomized election timeout lies in [min_election_tick, max_election_tick);
    # 0 means election_tick, respectively 2 * election_tick.
    min_election_tick: int = 0
    max_election_tick: int = 0
    # How ReadIndex requests are served; LeaseBased needs check_quorum.
    read_only_option: ReadOnlyOption = ReadOnlyOption.Safe
    # Do not broadcast an append only to tell followers about a new commit index.
    skip_bcast_commit: bool = False
    # Send one append per peer and step, adding entries to an append already queued.
    batch_append: bool = False
    # A label for log messages.
    tag: str = ""
    # Seed of the node's own generator for randomized election timeouts (raft_ref only:
    # raft-rs draws from the thread's random generator).
    seed: int = 0

    @classmethod
    def new(cls, id: int) -> Config:
        """The default configuration for node `id`, tagged with the id."""
        return cls(id=id, tag=str(id))

    def clone(self) -> Config:
        return Config(
            self.id,
            self.election_tick,
            self.heartbeat_tick,
            self.applied,
            self.max_size_per_msg,
            self.max_inflight_msgs,
            self.check_quorum,
            self.pre_vote,
            self.min_election_tick,
            self.max_election_tick,
            self.read_only_option,
            self.skip_bcast_commit,
            self.batch_append,
            self.tag,
            self.seed,
        )

    # raft-rs names these two methods like the fields they read (`min_election_tick()`);
    # a Python attribute cannot be both, so the fields keep the names and these say
    # what they compute.
    def effective_min_election_tick(self) -> int:
        """The least randomized election timeout: `min_election_tick`, or election_tick."""
        return self.min_election_tick if self.min_election_tick != 0 else self.election_tick

    def effective_max_election_tick(self) -> int:
        """The bound above the randomized election timeout: `max_election_tick`, or twice
        election_tick."""
        return self.max_election_tick if self.max_election_tick != 0 else 2 * self.election_tick

    def validate(self) -> None:
        """Raises ConfigInvalid, naming the field, for a configuration raft-rs rejects
        (or could not represent: a negative tick, a flag that is not a bool)."""
        self._validate_types()
        if self.id == _INVALID_ID:
            raise ConfigInvalid("invalid node id: id must not be 0")
        if self.heartbeat_tick == 0:
            raise ConfigInvalid("heartbeat_tick must be greater than 0")
        if self.election_tick <= self.heartbeat_tick:
            raise ConfigInvalid(
                f"election_tick {self.election_tick} must be greater than "
                f"heartbeat_tick {self.heartbeat_tick}"
            )
        min_timeout = self.effective_min_election_tick()
        max_timeout = self.effective_max_election_tick()
        if min_timeout < self.election_tick:
            raise ConfigInvalid(
                f"min_election_tick {min_timeout} must not be less than "
                f"election_tick {self.election_tick}"
            )
        if min_timeout >= max_timeout:
            raise ConfigInvalid(
                f"min_election_tick {min_timeout} must be less than max_election_tick {max_timeout}"
            )
        if self.max_inflight_msgs == 0:
            raise ConfigInvalid("max_inflight_msgs must be greater than 0")
        if self.read_only_option is ReadOnlyOption.LeaseBased and not self.check_quorum:
            raise ConfigInvalid("read_only_option LeaseBased requires check_quorum to be true")

    def _validate_types(self) -> None:
        for name in _UNSIGNED_FIELDS:
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value < _U64_LIMIT:
                raise ConfigInvalid(
                    f"{name} must be an unsigned 64-bit integer (as in raft-rs), got {value!r}"
                )
        for name in _FLAG_FIELDS:
            value = getattr(self, name)
            if type(value) is not bool:
                raise ConfigInvalid(f"{name} must be a bool, got {value!r}")
        if not isinstance(self.read_only_option, ReadOnlyOption):
            raise ConfigInvalid(
                f"read_only_option must be a ReadOnlyOption, got {self.read_only_option!r}"
            )
        if not isinstance(self.tag, str):
            raise ConfigInvalid(f"tag must be a str, got {self.tag!r}")
