"""The model's parameters: cluster shape, protocol options, exploration bounds, and the
switches that the broken variants (`model.variants`) flip."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Membership changes a leader may propose, each a rule relative to the current
# configuration (so the model stays symmetric in server ids):
#   add_voter      a server outside the configuration becomes a voter
#   add_learner    a server outside the configuration becomes a learner
#   promote        a learner becomes a voter
#   remove_voter   one voter leaves (at least one voter stays)
#   remove_learner one learner leaves
#   shrink_to_one  every voter but one leaves (a change two or more servers away)
CHANGE_RULES = (
    "add_voter",
    "add_learner",
    "promote",
    "remove_voter",
    "remove_learner",
    "shrink_to_one",
)


# Behaviours of raft-rs 0.6.0-alpha that break a safety rule (raft_ref/QUIRKS.md). The
# model keeps the rule, so the explorer reports each as the property it breaks; naming
# a quirk in `Params.left_out` leaves the behaviour that triggers it out of a run.
SNAPSHOT_LABEL_QUIRK = "snapshot_labelled_with_hard_state_term"
SNAPSHOT_REQUEST_QUIRK = "requested_snapshot_refused_by_storage"
QUIRKS = {
    "promoted_learner_loses_progress": (
        "a learner promoted by joint consensus loses its progress at Finalize and the "
        "leader's next commit panics (left out: no `promote` membership changes)"
    ),
    SNAPSHOT_LABEL_QUIRK: (
        "MemStorage labels a snapshot with the hard state's term, not its last entry's "
        "(#408): a server restored from one claims a newer log than it holds, can be "
        "elected without a committed entry and overwrite it (left out: snapshots "
        "labelled with their last entry's term, raft-rs's later fix)"
    ),
    SNAPSHOT_REQUEST_QUIRK: (
        "a follower that asks for a snapshot (request_snapshot at its commit index) while "
        "its leader has committed nothing newer is sent one at that index, which "
        "MemStorage refuses as out of date (SnapshotOutOfDate; raft-rs's examples "
        "panic); a storage that accepts it drops entries the follower acknowledged, "
        "and a committed entry can be lost (left out: no snapshot requests)"
    ),
}


DEFAULT_MAX_MSGS = 3

# The parameters that shape a run besides the cluster size and protocol options: the
# bounds and the exploration's rule choices (one set for the model and the
# implementation target alike). The broken variants' rule switches are not among them.
BOUND_NAMES = (
    "spares",
    "max_term",
    "max_log",
    "max_msgs",
    "max_crashes",
    "max_client_requests",
    "max_membership_changes",
    "max_drops",
    "max_duplicates",
    "max_transfers",
    "max_reads",
    "max_compactions",
    "max_snapshot_requests",
    "changes",
    "heartbeats",
    "entries_per_append",
    "skip_bcast_commit",
    "read_lease_based",
    "left_out",
)


@dataclass(frozen=True, slots=True)
class Params:
    nodes: int = 3  # initial voters, ids 1..nodes
    spares: int = 1  # servers outside the initial configuration, ids nodes+1..
    pre_vote: bool = False
    check_quorum: bool = False
    # How many entries one append carries at most (0: all available). raft-rs's default
    # `max_size_per_msg` of 0 sends one.
    entries_per_append: int = 1
    skip_bcast_commit: bool = False
    # raft-rs ReadOnlyOption: Safe (a quorum confirms the leadership) or LeaseBased
    # (served at once, relying on bounded clock drift: the model has no clocks).
    read_lease_based: bool = False
    # Bounds, sized so that `--nodes 3 --depth 12` is exhaustive within a minute and
    # reaches every goal. max_log counts entries after the initial snapshot entry.
    max_term: int = 3
    max_log: int = 3
    max_msgs: int = DEFAULT_MAX_MSGS  # `for_cluster` raises it to the number of voters
    max_crashes: int = 0
    max_client_requests: int = 1
    max_membership_changes: int = 1
    max_drops: int = 0
    max_duplicates: int = 0
    max_transfers: int = 0  # leader transfer requests
    max_reads: int = 0  # ReadIndex requests
    max_compactions: int = 0  # log compactions (each up to the applied index)
    max_snapshot_requests: int = 0  # followers asking their leader for a snapshot
    # The defaults add the spare as a voter, or shrink to any one voter (which removes
    # the leader when another voter remains): depth 12 then reaches every goal.
    changes: tuple[str, ...] = ("add_voter", "shrink_to_one")
    heartbeats: bool = True  # leaders' heartbeat timeouts
    left_out: tuple[str, ...] = ()  # quirks (QUIRKS) whose trigger is left out of a run
    # Protocol rules that the broken variants replace (True/0 is raft-rs).
    commit_only_current_term: bool = True
    vote_log_check: bool = True
    joint_consensus: bool = True
    persist_vote: bool = True
    majority_offset: int = 0  # added to a majority: -1 makes it one too small
    # Not a parameter: what the model remembers of its steps under these parameters
    # (`model.actions._local`), so that it goes with them. Equal parameters are a
    # fresh start; no comparison, hash or printed form includes it.
    remembered: dict[Any, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def servers(self) -> int:
        return self.nodes + self.spares

    @property
    def compaction(self) -> bool:
        """Whether logs may be compacted (and leaders send snapshots)."""
        return self.max_compactions > 0

    @property
    def sends_snapshots(self) -> bool:
        """Whether leaders may send snapshots: logs are compacted, or followers ask for
        one. Only then does it matter which peers were recently active."""
        asks = self.max_snapshot_requests > 0 and not self.left_out_quirk(SNAPSHOT_REQUEST_QUIRK)
        return self.compaction or asks

    def left_out_quirk(self, name: str) -> bool:
        return name in self.left_out

    def majority(self, voters: int) -> int:
        """How many of `voters` voters form a quorum (raft-rs `majority`)."""
        return max(1, voters // 2 + 1 + self.majority_offset)

    def validate(self) -> None:
        if self.nodes < 1 or self.spares < 0:
            raise ValueError("need at least one initial voter and no negative spares")
        if self.servers > 8:
            raise ValueError(
                f"{self.nodes} voters and {self.spares} spare(s) make {self.servers} servers;"
                " at most 8 (fewer nodes, or --spares 0)"
            )
        unknown = set(self.changes) - set(CHANGE_RULES)
        if unknown:
            raise ValueError(f"unknown membership change rules: {sorted(unknown)}")
        if self.max_log < 0 or self.max_msgs < 0:
            raise ValueError("bounds must be non-negative")
        # Bounds under which no election can happen explore nothing worth a verdict.
        if self.max_term < 2:
            raise ValueError("max_term must be at least 2: the first election reaches term 2")
        if self.max_msgs < self.nodes - 1:
            raise ValueError(
                f"max_msgs {self.max_msgs} is below the {self.nodes - 1} vote requests of one"
                f" election on {self.nodes} voters: nothing could be explored"
            )
        if self.max_log >= 256:
            # Inflight windows (256 slots in raft-rs) are assumed never to fill.
            raise ValueError("max_log must be below 256")
        unknown_quirks = set(self.left_out) - set(QUIRKS)
        if unknown_quirks:
            raise ValueError(f"unknown quirks: {sorted(unknown_quirks)}; known: {sorted(QUIRKS)}")
        if self.read_lease_based and not self.check_quorum:
            raise ValueError("LeaseBased reads need check quorum (raft-rs Config::validate)")
        if self.entries_per_append < 0:
            raise ValueError("entries_per_append must be non-negative")


def for_cluster(nodes: int, **changes: object) -> Params:
    """The parameters of a run on `nodes` initial voters: the defaults with `changes`,
    messages in flight bounded by at least one election's requests when not given."""
    if "max_msgs" not in changes:
        changes["max_msgs"] = max(DEFAULT_MAX_MSGS, nodes)
    params = Params(nodes=nodes, **changes)  # type: ignore[arg-type]
    params.validate()
    return params
